//! Validation under load: every response and every Bayeux message is checked as the runner
//! checks it (JSON well-formed, JSON content type, the documented schema chosen by
//! `contract::classify`), but a violation is counted per rule id instead of becoming a result
//! node, and nothing is allocated for a valid message. A check fills a [`Tally`] of its own,
//! without the run's metrics lock; the caller folds it in afterwards, so workers validate in
//! parallel and hold the lock only to count.

use serde_json::Value;

use super::metrics::Metrics;
use crate::api;
use crate::client::Exchange;
use crate::contract::classify::{bayeux_schema, response_schema};
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;

/// A violation's text, made only if the metrics keep it.
type Describe<'a> = Box<dyn FnOnce() -> String + Send + 'a>;

/// What checks found: messages validated, and each violation by rule.
#[derive(Default)]
pub struct Tally<'a> {
    responses: u64,
    notifications: u64,
    violations: Vec<(&'static str, Describe<'a>)>,
}

impl<'a> Tally<'a> {
    fn violation(&mut self, rule: &'static str, what: impl FnOnce() -> String + Send + 'a) {
        self.violations.push((rule, Box::new(what)));
    }

    /// Count it all into the run's metrics.
    pub fn record(self, m: &mut Metrics) {
        m.counts.responses_validated += self.responses;
        m.counts.notifications_validated += self.notifications;
        for (rule, what) in self.violations {
            m.violation(rule, what);
        }
    }
}

/// Validate an exchange made through the harness clients.
pub fn exchange<'a>(reg: &SchemaRegistry, ex: &'a Exchange) -> Tally<'a> {
    let mut m = Tally::default();
    if ex.status == 403 && ex.body_text.trim() == api::CSRF_REFUSAL_BODY {
        m.responses += 1;
        return m;
    }
    match (&ex.json, &ex.json_error) {
        (Some(body), _) => {
            let json_type = ex.content_type.as_deref().is_some_and(is_json_type);
            parsed(reg, &ex.method, &ex.path, json_type, body, &mut m);
        }
        (None, Some(err)) => {
            m.responses += 1;
            m.violation(rules::PROTOCOL_JSON.id, move || format!("{} {}: body is not JSON: {err}", ex.method, ex.path));
        }
        (None, None) => m.responses += 1,
    }
    m
}

/// Validate a raw response body (the request journey's own client, uploads); `record` takes the
/// tally, with the body as parsed, while the body is still there to describe a violation.
pub fn raw(
    reg: &SchemaRegistry,
    method: &str,
    path: &str,
    content_type: Option<&[u8]>,
    body: &[u8],
    record: impl FnOnce(Tally<'_>, Option<&Value>),
) {
    let one = Tally { responses: 1, ..Tally::default() };
    if body.iter().all(u8::is_ascii_whitespace) {
        return record(one, None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let json_type = content_type.and_then(|c| std::str::from_utf8(c).ok()).is_some_and(is_json_type);
            let mut m = Tally::default();
            parsed(reg, method, path, json_type, &v, &mut m);
            record(m, Some(&v));
        }
        Err(e) => {
            let mut m = one;
            m.violation(rules::PROTOCOL_JSON.id, move || format!("{method} {path}: body is not JSON: {e}"));
            record(m, None);
        }
    }
}

fn is_json_type(ct: &str) -> bool {
    ct.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"json"))
}

fn parsed<'a>(
    reg: &SchemaRegistry,
    method: &'a str,
    path: &'a str,
    json_type: bool,
    body: &'a Value,
    m: &mut Tally<'a>,
) {
    m.responses += 1;
    if !json_type {
        m.violation(rules::PROTOCOL_CONTENT_TYPE.id, move || {
            format!("{method} {path}: JSON body without a JSON content type")
        });
    }
    if let Some(schema) = response_schema(method, path, body) {
        schema_check(reg, schema, body, rules::SHAPE_RESPONSE.id, move || format!("{method} {path}"), m);
    }
}

/// Validate one Bayeux message received from the server.
pub fn bayeux<'a>(reg: &SchemaRegistry, message: &'a Value) -> Tally<'a> {
    let mut m = Tally { notifications: 1, ..Tally::default() };
    let schema = bayeux_schema(message);
    let subject = move || {
        let channel = message.get("channel").and_then(Value::as_str).unwrap_or("?");
        format!("Bayeux message on {channel}")
    };
    schema_check(reg, schema, message, rules::SHAPE_NOTIFICATION.id, subject, &mut m);
    m
}

fn schema_check<'a>(
    reg: &SchemaRegistry,
    schema: &'static str,
    body: &Value,
    rule: &'static str,
    subject: impl Fn() -> String + Clone + Send + 'a,
    m: &mut Tally<'a>,
) {
    match reg.validate(schema, body) {
        Ok(violations) => {
            for v in violations {
                let subject = subject.clone();
                m.violation(rule, move || {
                    format!("{}: breaks `{schema}` at {}: {}", subject(), v.instance_path, v.message)
                });
            }
        }
        Err(e) => m.violation(rule, move || format!("{}: cannot validate against `{schema}`: {e}", subject())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn valid_bodies_count_without_violations_and_bad_ones_by_rule() {
        let reg = SchemaRegistry::embedded().unwrap();
        let mut m = Metrics::new(Instant::now(), false);
        let ok = br#"{"statusCode":0,"version":"8.5.200.50"}"#;
        raw(&reg, "GET", "/api/v2/diagnostics/version", Some(b"application/json"), ok, |t, _| t.record(&mut m));
        assert_eq!((m.counts.responses_validated, m.counts.violations), (1, 0));
        raw(&reg, "GET", "/api/v2/diagnostics/version", Some(b"text/plain"), br#"{"statusCode":"0"}"#, |t, _| {
            t.record(&mut m)
        });
        assert_eq!(m.violations.get("protocol.content-type"), Some(&1));
        assert!(m.violations.get("shape.response").is_some_and(|n| *n >= 1));
        raw(&reg, "GET", "/api/v2/me", None, b"{not json", |t, _| t.record(&mut m));
        assert_eq!(m.violations.get("protocol.json"), Some(&1));
    }
}
