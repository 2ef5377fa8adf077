//! The result tree of a run: run → scenario → step → check. Results are data: a failed check is
//! recorded here, never returned as an error, and every report is a pure function of this tree.

use std::time::Duration;

use serde::Serialize;

use crate::contract::Rule;
use crate::contract::rules::Severity;
use crate::scenario::Span;

/// One check that ran: an assertion of the scenario or a rule the harness applies by itself.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub rule: &'static str,
    pub passed: bool,
    /// What breaking it means: the rule's severity, or for a scenario's expectation the one its
    /// source earns.
    pub severity: Severity,
    /// The evidence: the rule's source, or the expectation's.
    pub source: String,
    /// What was checked: "POST /api/v2/me/chats/{id} Accept response", "notification #4 on /v2/me/chats".
    pub subject: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Check {
    pub fn pass(rule: &Rule, subject: impl Into<String>, message: impl Into<String>) -> Check {
        Check {
            rule: rule.id,
            passed: true,
            severity: rule.severity,
            source: rule.source.to_owned(),
            subject: subject.into(),
            message: message.into(),
            span: None,
            expected: None,
            actual: None,
        }
    }

    pub fn fail(rule: &Rule, subject: impl Into<String>, message: impl Into<String>) -> Check {
        Check { passed: false, ..Check::pass(rule, subject, message) }
    }

    /// The check rests on `source` (an expectation's): its severity follows it.
    pub fn sourced(mut self, source: &str) -> Check {
        self.severity = Severity::of_source(source);
        self.source = source.to_owned();
        self
    }

    /// Failed, and the documentation promised it: the run fails.
    pub fn is_violation(&self) -> bool {
        !self.passed && self.severity == Severity::Violation
    }

    /// Failed, but only a profile choice: reported, never failing unless `--strict`.
    pub fn is_observation(&self) -> bool {
        !self.passed && self.severity == Severity::Observation
    }

    pub fn at(mut self, span: Option<Span>) -> Check {
        self.span = span;
        self
    }

    pub fn expected_actual(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Check {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }
}

/// Counters of what a step (or a whole run) validated.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub responses_validated: u64,
    pub notifications_validated: u64,
    pub checks_passed: u64,
    /// Failed checks of either severity.
    pub checks_failed: u64,
    /// Of those, the ones the documentation promised.
    pub violations: u64,
    /// And the profile's.
    pub observations: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.responses_validated += o.responses_validated;
        self.notifications_validated += o.notifications_validated;
        self.checks_passed += o.checks_passed;
        self.checks_failed += o.checks_failed;
        self.violations += o.violations;
        self.observations += o.observations;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub name: String,
    pub kind: &'static str,
    pub span: Span,
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    pub counts: Counts,
    /// Failed checks, and passed assertions of the scenario (rules the harness applies by
    /// itself on every message are only counted when they pass).
    pub checks: Vec<Check>,
    /// The step could not run (a transport failure...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub skipped: bool,
    /// Why the step was skipped: an earlier failure, or a value it needs that an earlier step
    /// could not provide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

impl StepResult {
    /// Ran, completed, and broke nothing the documentation promises.
    pub fn passed(&self) -> bool {
        !self.skipped && self.error.is_none() && !self.checks.iter().any(Check::is_violation)
    }

    /// Failed checks of either severity.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    pub fn violations(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.is_violation())
    }

    pub fn observations(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.is_observation())
    }
}

/// Why a scenario stopped before its end.
#[derive(Debug, Clone, Serialize)]
pub struct Abort {
    /// True when the target could not be used at all (unreachable, credentials refused): exit 3.
    pub could_not_run: bool,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub file: String,
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    pub steps: Vec<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<Abort>,
    pub counts: Counts,
    /// The verdict (`pass`, `pass-with-observations`, `fail`), set when the run finishes.
    pub verdict: &'static str,
}

impl ScenarioResult {
    /// Nothing the documentation promises was broken, and the scenario ran to its end.
    pub fn passed(&self) -> bool {
        self.aborted.is_none() && self.steps.iter().all(|s| s.passed() || s.skipped)
    }

    /// Observations (profile checks that failed) in this scenario.
    pub fn observations(&self) -> usize {
        self.steps.iter().map(|s| s.observations().count()).sum()
    }

    /// The verdict as reports print it; under `strict` an observation fails the scenario.
    pub fn judge(&self, strict: bool) -> Verdict {
        if !self.passed() {
            Verdict::Fail
        } else if self.observations() > 0 {
            if strict { Verdict::Fail } else { Verdict::PassWithObservations }
        } else {
            Verdict::Pass
        }
    }
}

/// A scenario's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Passed; some profile checks failed.
    PassWithObservations,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassWithObservations => "pass-with-observations",
            Verdict::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub tool: &'static str,
    pub version: &'static str,
    pub target: String,
    pub embedded_simulator: bool,
    /// RFC 3339 start time.
    pub started_at: String,
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    pub scenarios: Vec<ScenarioResult>,
    pub counts: Counts,
    /// `--strict`: observations fail the run too.
    pub strict: bool,
    /// Failed checks of severity violation, per rule id.
    pub violations_by_rule: std::collections::BTreeMap<&'static str, u64>,
    /// Failed checks of severity observation, per rule id.
    pub observations_by_rule: std::collections::BTreeMap<&'static str, u64>,
    /// Which catalogue operations the scenarios of this run exercise.
    pub coverage: crate::scenario::coverage::Coverage,
}

/// The documented exit codes (README, house style rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass = 0,
    Violations = 1,
    InvalidInput = 2,
    CouldNotRun = 3,
    ThresholdBreached = 4,
}

impl Outcome {
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl RunResult {
    pub fn outcome(&self) -> Outcome {
        if self.scenarios.iter().any(|s| s.aborted.as_ref().is_some_and(|a| a.could_not_run)) {
            Outcome::CouldNotRun
        } else if self.scenarios.iter().all(|s| s.judge(self.strict) != Verdict::Fail) {
            Outcome::Pass
        } else {
            Outcome::Violations
        }
    }

    pub fn finish(&mut self) {
        let mut counts = Counts::default();
        self.violations_by_rule.clear();
        self.observations_by_rule.clear();
        for s in &mut self.scenarios {
            let mut sc = Counts::default();
            for st in &s.steps {
                sc.add(&st.counts);
                for c in st.violations() {
                    *self.violations_by_rule.entry(c.rule).or_default() += 1;
                }
                for c in st.observations() {
                    *self.observations_by_rule.entry(c.rule).or_default() += 1;
                }
            }
            s.counts = sc;
            s.verdict = s.judge(self.strict).as_str();
            counts.add(&sc);
        }
        self.counts = counts;
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}
