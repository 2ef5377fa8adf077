//! Which catalogue operations the scenarios exercise, on the success path (positive) and on an
//! error path (negative: a step that expects a statusCode above 0), and with which codes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::{Action, Scenario, Step};
use crate::api;

/// Where one operation is exercised.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OperationCoverage {
    pub operation: &'static str,
    /// Scenarios with a step running the operation and expecting success (or not saying).
    pub positive: Vec<String>,
    /// Error statusCodes expected by some step (0 = "some error", written `$gt: 0`), with the
    /// scenarios that expect them.
    pub negative: BTreeMap<i64, Vec<String>>,
    /// Error codes the catalogue documents for the operation.
    pub documented_errors: Vec<i64>,
}

impl OperationCoverage {
    /// Documented error codes no scenario expects.
    pub fn missing_errors(&self) -> Vec<i64> {
        self.documented_errors.iter().copied().filter(|c| !self.negative.contains_key(c)).collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Coverage {
    pub operations: Vec<OperationCoverage>,
    pub positive_percent: f64,
    pub negative_percent: f64,
    /// Operations named in scenarios that the catalogue does not know.
    pub unknown: Vec<String>,
}

/// Error statusCodes the catalogue documents for an operation.
pub fn documented_errors(op: &api::Operation) -> Vec<i64> {
    let mut codes: Vec<i64> = op.error_codes().collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The error code a step expects, if it expects one.
fn expected_error(step: &Step) -> Option<i64> {
    let e = step.expect.as_ref()?.body.iter().find(|e| e.path == "statusCode")?;
    match &e.value {
        Value::Number(n) => n.as_i64().filter(|c| *c > 0),
        Value::Object(ops) => {
            let bound = |k: &str| ops.get(k).and_then(Value::as_f64);
            let above_zero = bound("$gt").is_some_and(|v| v >= 0.0) || bound("$gte").is_some_and(|v| v > 0.0);
            above_zero.then_some(0)
        }
        _ => None,
    }
}

pub fn coverage(scenarios: &[Scenario], documented_errors: impl Fn(&api::Operation) -> Vec<i64>) -> Coverage {
    let mut positive: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut negative: BTreeMap<&str, BTreeMap<i64, BTreeSet<String>>> = BTreeMap::new();
    let mut unknown = BTreeSet::new();
    for sc in scenarios {
        for step in &sc.steps {
            let Action::Operation { name, .. } = &step.action else { continue };
            let Some(op) = api::operation(name) else {
                unknown.insert(name.clone());
                continue;
            };
            match expected_error(step) {
                Some(code) => {
                    negative.entry(op.name).or_default().entry(code).or_default().insert(sc.name.clone());
                }
                None => {
                    positive.entry(op.name).or_default().insert(sc.name.clone());
                }
            }
        }
    }
    let operations: Vec<OperationCoverage> = api::CATALOGUE
        .iter()
        .map(|op| OperationCoverage {
            operation: op.name,
            positive: positive.get(op.name).map(|s| s.iter().cloned().collect()).unwrap_or_default(),
            negative: negative
                .get(op.name)
                .map(|m| m.iter().map(|(c, s)| (*c, s.iter().cloned().collect())).collect())
                .unwrap_or_default(),
            documented_errors: documented_errors(op),
        })
        .collect();
    let n = operations.len().max(1) as f64;
    let pos = operations.iter().filter(|o| !o.positive.is_empty()).count() as f64;
    let neg = operations.iter().filter(|o| !o.negative.is_empty()).count() as f64;
    Coverage {
        operations,
        positive_percent: (pos * 1000.0 / n).round() / 10.0,
        negative_percent: (neg * 1000.0 / n).round() / 10.0,
        unknown: unknown.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_str;

    #[test]
    fn positive_and_negative_steps_are_told_apart() {
        let text = r#"
name: cov
steps:
  - { login: a1 }
  - { name: ok, agent: a1, operation: Accept, chat: x }
  - { name: bad, agent: a1, operation: Accept, chat: x, expect: { body: { statusCode: 2 } } }
  - { name: any, agent: a1, operation: Reject, chat: x, expect: { body: { statusCode: { $gt: 0 } } } }
"#;
        let sc = parse_str("c.yaml", text).unwrap();
        let cov = coverage(&[sc], |_| vec![2, 6]);
        let accept = cov.operations.iter().find(|o| o.operation == "Accept").unwrap();
        assert_eq!(accept.positive, vec!["cov"]);
        assert_eq!(accept.negative.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!(accept.missing_errors(), vec![6]);
        let reject = cov.operations.iter().find(|o| o.operation == "Reject").unwrap();
        assert!(reject.positive.is_empty());
        assert_eq!(reject.negative.keys().copied().collect::<Vec<_>>(), vec![0]);
        assert!(cov.positive_percent > 0.0 && cov.positive_percent < 100.0);
    }
}
