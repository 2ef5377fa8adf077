//! The result tree of a run: run → scenario → step → check. Results are data: a failed check is
//! recorded here, never returned as an error, and every report is a pure function of this tree.

use std::collections::{BTreeMap, HashMap};
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
    /// The step whose exchange caused the check: the step that records it, or an earlier one
    /// when the failure showed only later (a notification, the end of the scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The recorded exchange (see [`crate::client::Exchange::id`]) the check is about, when the
    /// run records exchanges; [`NO_EXCHANGE`] when it is about no single one.
    #[serde(skip)]
    pub exchange: Option<u64>,
    /// Index of that exchange in the HAR trace (`--trace`), when one is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub har_entry: Option<usize>,
}

/// The exchange of a check about no single exchange (a transcript judged whole at the end of a
/// scenario); real exchange ids start at 1.
pub const NO_EXCHANGE: u64 = 0;

/// Most characters a check keeps in its subject, message, expected and actual: a server's answer
/// must not be able to make one check megabytes long.
pub const TEXT_LIMIT: usize = 1_000;

/// Most failed checks of one rule a step keeps in full; the rest are counted in `suppressed`.
pub const KEEP_PER_RULE: usize = 25;

/// Most failed checks a whole run keeps in full; the rest are counted in `suppressed`.
pub const KEEP_PER_RUN: usize = 2_000;

/// `s` cut to [`TEXT_LIMIT`] characters, marked with `…` when cut.
fn bounded(s: String) -> String {
    match s.char_indices().nth(TEXT_LIMIT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

impl Check {
    pub fn pass(rule: &Rule, subject: impl Into<String>, message: impl Into<String>) -> Check {
        Check {
            rule: rule.id,
            passed: true,
            severity: rule.severity,
            source: rule.source.to_owned(),
            subject: bounded(subject.into()),
            message: bounded(message.into()),
            span: None,
            expected: None,
            actual: None,
            step: None,
            exchange: None,
            har_entry: None,
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

    /// A failed check without a place yet is the named step's, at its span.
    pub fn place(&mut self, step: &str, span: &Span) {
        if self.passed {
            return;
        }
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        if self.step.is_none() {
            self.step = Some(step.to_owned());
        }
    }

    pub fn expected_actual(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Check {
        self.expected = Some(bounded(expected.into()));
        self.actual = Some(bounded(actual.into()));
        self
    }
}

/// Failed checks counted but not kept in full, by severity.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Suppressed {
    pub violations: u64,
    pub observations: u64,
}

impl Suppressed {
    fn count(&mut self, c: &Check) {
        match c.severity {
            Severity::Violation => self.violations += 1,
            Severity::Observation => self.observations += 1,
        }
    }

    pub fn add(&mut self, o: &Suppressed) {
        self.violations += o.violations;
        self.observations += o.observations;
    }
}

/// Failed checks kept in full up to [`KEEP_PER_RULE`] per rule, the rest counted: what a step
/// (or an inbox between two steps) collects, whatever a server sends.
#[derive(Debug, Default)]
pub struct CappedChecks {
    checks: Vec<Check>,
    kept: HashMap<&'static str, usize>,
    suppressed: BTreeMap<&'static str, Suppressed>,
}

impl CappedChecks {
    pub fn push(&mut self, c: Check) {
        if !c.passed {
            let kept = self.kept.entry(c.rule).or_default();
            if *kept >= KEEP_PER_RULE {
                self.suppressed.entry(c.rule).or_default().count(&c);
                return;
            }
            *kept += 1;
        }
        self.checks.push(c);
    }

    pub fn absorb(&mut self, checks: Vec<Check>, suppressed: BTreeMap<&'static str, Suppressed>) {
        for c in checks {
            self.push(c);
        }
        for (rule, n) in suppressed {
            self.suppressed.entry(rule).or_default().add(&n);
        }
    }

    pub fn take(&mut self) -> (Vec<Check>, BTreeMap<&'static str, Suppressed>) {
        self.kept.clear();
        (std::mem::take(&mut self.checks), std::mem::take(&mut self.suppressed))
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
    /// Set the check tallies from a step's checks, those counted but not kept, and whether it
    /// ended in an error.
    pub fn tally(&mut self, checks: &[Check], suppressed: &BTreeMap<&'static str, Suppressed>, error: bool) {
        let dropped = suppressed.values().fold(Suppressed::default(), |mut a, s| {
            a.add(s);
            a
        });
        self.checks_passed = checks.iter().filter(|c| c.passed).count() as u64;
        self.violations = checks.iter().filter(|c| c.is_violation()).count() as u64 + dropped.violations;
        self.observations = checks.iter().filter(|c| c.is_observation()).count() as u64 + dropped.observations;
        self.checks_failed = self.violations + self.observations + u64::from(error);
    }

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
    /// Failed checks counted but not kept in full (past [`KEEP_PER_RULE`] or [`KEEP_PER_RUN`]),
    /// per rule.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub suppressed: BTreeMap<&'static str, Suppressed>,
    /// The exchange the step's action made (its response is what the step checked).
    #[serde(skip)]
    pub exchange: Option<u64>,
    /// The exchanges recorded during the step, when the run is traced (`--trace`).
    #[serde(skip)]
    pub exchanges: Vec<crate::client::tap::Traced>,
}

impl StepResult {
    /// Ran, completed, and broke nothing the documentation promises.
    pub fn passed(&self) -> bool {
        !self.skipped
            && self.error.is_none()
            && !self.checks.iter().any(Check::is_violation)
            && self.suppressed.values().all(|s| s.violations == 0)
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

    /// Observations (profile checks that failed) in this scenario, those not kept included.
    pub fn observations(&self) -> usize {
        self.steps
            .iter()
            .map(|s| s.observations().count() + s.suppressed.values().map(|n| n.observations as usize).sum::<usize>())
            .sum()
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
    /// A signal stopped the run: what ran is reported, the rest did not run.
    pub interrupted: bool,
    /// Why the run could not start, when it could not (no scenario ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The outcome of a run that could not start.
    #[serde(skip)]
    pub failed_start: Option<Outcome>,
    /// Failed checks of severity violation, per rule id.
    pub violations_by_rule: std::collections::BTreeMap<&'static str, u64>,
    /// Failed checks of severity observation, per rule id.
    pub observations_by_rule: std::collections::BTreeMap<&'static str, u64>,
    /// Failed checks counted in the maps above but not kept in full, past the caps.
    pub checks_suppressed: u64,
    /// Which catalogue operations the scenarios of this run exercise.
    pub coverage: crate::scenario::coverage::Coverage,
    /// Exchanges a trace did not keep, past [`super::trace::MAX_ENTRIES`].
    #[serde(skip)]
    pub trace_dropped: u64,
}

/// The documented exit codes (README, house style rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass = 0,
    Violations = 1,
    InvalidInput = 2,
    CouldNotRun = 3,
    ThresholdBreached = 4,
    /// Stopped by SIGINT or SIGTERM: 128 + SIGINT, as shells report it.
    Interrupted = 130,
}

impl Outcome {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The outcome's name in reports (`pass`, `fail`, `could-not-run`...).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Violations => "fail",
            Outcome::InvalidInput => "invalid-input",
            Outcome::CouldNotRun => "could-not-run",
            Outcome::ThresholdBreached => "threshold-breached",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// The graver of two outcomes: could-not-run and invalid input outrank violations.
    pub fn max_by_code(self, other: Outcome) -> Outcome {
        if other.code() > self.code() { other } else { self }
    }

    /// The verdict as a sentence, for the console.
    pub fn verdict(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Violations => "contract violations found",
            Outcome::InvalidInput => "invalid input",
            Outcome::CouldNotRun => "could not run",
            Outcome::ThresholdBreached => "threshold breached",
            Outcome::Interrupted => "interrupted",
        }
    }
}

impl RunResult {
    /// Replace every secret the redactor knows in every text the reports show.
    pub fn redact(&mut self, r: &crate::client::secrets::Redactor) {
        r.scrub(&mut self.target);
        if let Some(e) = &mut self.error {
            r.scrub(e);
        }
        for sc in &mut self.scenarios {
            if let Some(a) = &mut sc.aborted {
                r.scrub(&mut a.message);
            }
            for st in &mut sc.steps {
                for text in [&mut st.error, &mut st.skip_reason].into_iter().flatten() {
                    r.scrub(text);
                }
                for t in &mut st.exchanges {
                    super::trace::redact(t, r);
                }
                for c in &mut st.checks {
                    r.scrub(&mut c.subject);
                    r.scrub(&mut c.message);
                    for text in [&mut c.expected, &mut c.actual].into_iter().flatten() {
                        r.scrub(text);
                    }
                }
            }
        }
    }

    /// The report of a run that could not start: no scenario ran, `error` says why. Written in
    /// place of the reports an earlier run left, so none of those can pass for this run's.
    pub fn not_started(outcome: Outcome, error: impl Into<String>, target: impl Into<String>) -> RunResult {
        RunResult {
            tool: "chatprobe",
            version: env!("CARGO_PKG_VERSION"),
            target: target.into(),
            embedded_simulator: false,
            started_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            duration: Duration::ZERO,
            scenarios: Vec::new(),
            counts: Counts::default(),
            strict: false,
            interrupted: false,
            error: Some(error.into()),
            failed_start: Some(outcome),
            violations_by_rule: BTreeMap::new(),
            observations_by_rule: BTreeMap::new(),
            checks_suppressed: 0,
            coverage: crate::scenario::coverage::Coverage::default(),
            trace_dropped: 0,
        }
    }

    pub fn outcome(&self) -> Outcome {
        if let Some(o) = self.failed_start {
            o
        } else if self.interrupted {
            Outcome::Interrupted
        } else if self.scenarios.iter().any(|s| s.aborted.as_ref().is_some_and(|a| a.could_not_run)) {
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
        self.checks_suppressed = 0;
        let mut kept = 0usize;
        for s in &mut self.scenarios {
            let mut sc = Counts::default();
            for st in &mut s.steps {
                // Past the run's cap, failed checks are only counted.
                if kept >= KEEP_PER_RUN {
                    let (keep, drop): (Vec<Check>, Vec<Check>) =
                        std::mem::take(&mut st.checks).into_iter().partition(|c| c.passed);
                    st.checks = keep;
                    for c in drop {
                        st.suppressed.entry(c.rule).or_default().count(&c);
                    }
                } else {
                    kept += st.failures().count();
                }
                sc.add(&st.counts);
                for c in st.violations() {
                    *self.violations_by_rule.entry(c.rule).or_default() += 1;
                }
                for c in st.observations() {
                    *self.observations_by_rule.entry(c.rule).or_default() += 1;
                }
                for (rule, n) in &st.suppressed {
                    if n.violations > 0 {
                        *self.violations_by_rule.entry(rule).or_default() += n.violations;
                    }
                    if n.observations > 0 {
                        *self.observations_by_rule.entry(rule).or_default() += n.observations;
                    }
                    self.checks_suppressed += n.violations + n.observations;
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
