//! What a person reads on the terminal: a line per scenario, each failure as a diagnostic that
//! points at the scenario line (file:line:col, the line, a caret, expected and actual) — an
//! `error` for a violation, an `observation` for a profile check — and a summary counting both.

use std::collections::HashMap;
use std::io::Write;

use crate::runner::{Check, Outcome, RunResult, ScenarioResult, Verdict};
use crate::scenario::Diagnostic;

/// `sources` maps scenario file names to their text, to quote the failing lines.
pub fn write(run: &RunResult, sources: &HashMap<String, String>, out: &mut dyn Write) -> std::io::Result<()> {
    write_body(run, sources, out)?;
    write_verdict(run.outcome(), out)
}

/// Everything but the verdict line, which is printed once the reports are written.
pub fn write_body(run: &RunResult, sources: &HashMap<String, String>, out: &mut dyn Write) -> std::io::Result<()> {
    for sc in &run.scenarios {
        scenario(sc, run.strict, sources, out)?;
    }
    summary(run, out)
}

/// One scenario: its verdict line, then a diagnostic per failure.
pub fn scenario(
    sc: &ScenarioResult,
    strict: bool,
    sources: &HashMap<String, String>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let observations = sc.observations();
    let status = match sc.judge(strict) {
        Verdict::Pass => "PASS",
        Verdict::PassWithObservations => "PASS",
        Verdict::Fail => "FAIL",
    };
    let steps = sc.steps.iter().filter(|s| s.kind != "teardown").count();
    let skipped = sc.steps.iter().filter(|s| s.skipped).count();
    let mut extra = String::new();
    if skipped > 0 {
        extra.push_str(&format!(", {skipped} skipped"));
    }
    if observations > 0 {
        extra.push_str(&format!(", {observations} observation(s)"));
    }
    writeln!(
        out,
        "{status} {} ({}) — {steps} steps{extra}, {:.0} ms",
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
    Ok(())
}

/// The closing lines: counts of scenarios, exchanges, violations and observations, the verdict.
pub fn summary(run: &RunResult, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &run.counts;
    let verdicts: Vec<Verdict> = run.scenarios.iter().map(|s| s.judge(run.strict)).collect();
    let passed = verdicts.iter().filter(|v| **v != Verdict::Fail).count();
    let noted = verdicts.iter().filter(|v| **v == Verdict::PassWithObservations).count();
    let with = if noted > 0 { format!(" ({noted} with observations)") } else { String::new() };
    writeln!(
        out,
        "\n{passed} passed{with}, {} failed — {} requests, {} responses and {} Bayeux messages validated, {} violations, {} observations",
        run.scenarios.len() - passed,
        c.requests,
        c.responses_validated,
        c.notifications_validated,
        run.violations_by_rule.values().sum::<u64>(),
        run.observations_by_rule.values().sum::<u64>(),
    )?;
    for (rule, n) in &run.violations_by_rule {
        writeln!(out, "  violation   {rule}: {n}")?;
    }
    for (rule, n) in &run.observations_by_rule {
        writeln!(out, "  observation {rule}: {n}")?;
    }
    if run.checks_suppressed > 0 {
        writeln!(
            out,
            "  ({} failed checks are counted above but not shown: past {} per rule per step, or {} per run)",
            run.checks_suppressed,
            crate::runner::result::KEEP_PER_RULE,
            crate::runner::result::KEEP_PER_RUN
        )?;
    }
    if run.strict && !run.observations_by_rule.is_empty() {
        writeln!(out, "  (--strict: observations fail the run)")?;
    }
    if run.interrupted {
        writeln!(out, "  (interrupted: the scenarios and steps that did not run are not judged)")?;
    }
    Ok(())
}

/// The last line: the verdict and the exit code it gives. Printed once the outcome is final
/// (reports written), so it never disagrees with the process's exit code.
pub fn write_verdict(outcome: Outcome, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "result: {} (exit {})", outcome.verdict(), outcome.code())
}

fn diagnostic(c: &Check, step: &str, sources: &HashMap<String, String>) -> Diagnostic {
    let span = c.span.clone().unwrap_or_else(|| crate::scenario::Span::new("?", 0, 0));
    let mut d = Diagnostic::new(
        format!("[{}] {}", c.rule, c.message),
        span.clone(),
        sources.get(&span.file).map(String::as_str),
    )
    .note(match c.step.as_deref() {
        Some(origin) if origin != step => format!("step: {origin} (found during `{step}`)"),
        _ => format!("step: {step}"),
    })
    .note(format!("subject: {}", c.subject))
    .note(format!("source: {}", c.source));
    if c.is_observation() {
        d.level = "observation";
    }
    if let (Some(e), Some(a)) = (&c.expected, &c.actual) {
        d = d.note(format!("expected: {e}")).note(format!("actual:   {a}"));
    }
    d
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
