//! What a person reads on the terminal: a line per scenario, each failure as a diagnostic that
//! points at the scenario line (file:line:col, the line, a caret, expected and actual), and a
//! summary.

use std::collections::HashMap;
use std::io::Write;

use crate::runner::{Check, Outcome, RunResult};
use crate::scenario::Diagnostic;

/// `sources` maps scenario file names to their text, to quote the failing lines.
pub fn write(run: &RunResult, sources: &HashMap<String, String>, out: &mut dyn Write) -> std::io::Result<()> {
    for sc in &run.scenarios {
        let status = if sc.passed() { "PASS" } else { "FAIL" };
        let steps = sc.steps.iter().filter(|s| s.kind != "teardown").count();
        writeln!(
            out,
            "{status} {} ({}) — {steps} steps, {:.0} ms",
            sc.name,
            sc.file,
            sc.duration.as_secs_f64() * 1000.0
        )?;
        if let Some(abort) = &sc.aborted {
            writeln!(out, "  aborted: {}", abort.message)?;
        }
        for st in &sc.steps {
            if let Some(err) = &st.error {
                let d = Diagnostic::new(
                    format!("step `{}` could not complete: {err}", st.name),
                    st.span.clone(),
                    sources.get(&st.span.file).map(String::as_str),
                );
                write!(out, "{}", indent(&d.to_string()))?;
            }
            for c in st.failures() {
                write!(out, "{}", indent(&diagnostic(c, &st.name, sources).to_string()))?;
            }
        }
    }
    let c = &run.counts;
    let passed = run.scenarios.iter().filter(|s| s.passed()).count();
    writeln!(
        out,
        "\n{passed} passed, {} failed — {} requests, {} responses and {} Bayeux messages validated, {} violations",
        run.scenarios.len() - passed,
        c.requests,
        c.responses_validated,
        c.notifications_validated,
        run.violations_by_rule.values().sum::<u64>()
    )?;
    for (rule, n) in &run.violations_by_rule {
        writeln!(out, "  {rule}: {n}")?;
    }
    let verdict = match run.outcome() {
        Outcome::Pass => "pass",
        Outcome::Violations => "contract violations found",
        Outcome::CouldNotRun => "could not run",
        Outcome::InvalidInput => "invalid input",
        Outcome::ThresholdBreached => "threshold breached",
    };
    writeln!(out, "result: {verdict} (exit {})", run.outcome().code())
}

fn diagnostic(c: &Check, step: &str, sources: &HashMap<String, String>) -> Diagnostic {
    let span = c.span.clone().unwrap_or_else(|| crate::scenario::Span::new("?", 0, 0));
    let mut d = Diagnostic::new(
        format!("[{}] {}", c.rule, c.message),
        span.clone(),
        sources.get(&span.file).map(String::as_str),
    )
    .note(format!("step: {step}"))
    .note(format!("subject: {}", c.subject));
    if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
        d = d.note(format!("expected: {e}")).note(format!("actual:   {a}"));
    }
    d
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
