//! The kill matrix as a person reads it: one row per fault, one column per rule that fired
//! anywhere (or was expected), each cell the number of violations of that rule the fault caused;
//! the expected rule's cell is bracketed, `[ ]` when it did not fire. The variant's row comes
//! last and must be empty. A legend names the columns, a summary gives the verdict.

use std::io::Write;

use super::Report;
use crate::contract::rules;

/// Width of the fault-name column.
fn name_width(report: &Report) -> usize {
    report.faults.iter().map(|f| f.fault.name().len()).chain(["variant (no fault)".len()]).max().unwrap_or(0)
}

/// Write the matrix, its legend and the verdict.
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let variant_rules = report.variant.iter().flat_map(|v| v.raised.keys());
    let fault_rules = report.faults.iter().flat_map(|f| f.raised.keys().copied().chain([f.expected.id]));
    let used: Vec<&'static str> = fault_rules.chain(variant_rules.copied()).collect();
    // Columns in catalogue order, which groups rules by family.
    let columns: Vec<&'static str> = rules::ALL.iter().map(|r| r.id).filter(|id| used.contains(id)).collect();
    let width = name_width(report);
    let cell = 6;

    let scenarios = report.faults.first().map(|f| f.scenarios).or(report.variant.as_ref().map(|v| v.scenarios));
    writeln!(
        out,
        "Kill matrix: {} fault(s) × {} rule(s), the suite ({} scenarios) against each fault alone; \
         cells count failed checks (violations and observations), [n] is the expected rule.",
        report.faults.len(),
        columns.len(),
        scenarios.unwrap_or(0),
    )?;
    writeln!(out)?;
    write!(out, "{:width$}", "fault")?;
    for i in 1..=columns.len() {
        write!(out, "{:>cell$}", format!("R{i}"))?;
    }
    writeln!(out, "  verdict")?;
    for run in &report.faults {
        write!(out, "{:width$}", run.fault.name())?;
        for id in &columns {
            let n = run.raised.get(id).copied();
            let text = match (n, *id == run.expected.id) {
                (Some(n), true) => format!("[{n}]"),
                (None, true) => "[ ]".to_owned(),
                (Some(n), false) => n.to_string(),
                (None, false) => ".".to_owned(),
            };
            write!(out, "{text:>cell$}")?;
        }
        writeln!(out, "  {}", if run.caught() { "caught" } else { "NOT CAUGHT" })?;
    }
    if let Some(v) = &report.variant {
        write!(out, "{:width$}", "variant (no fault)")?;
        for id in &columns {
            let text = v.raised.get(id).map_or_else(|| ".".to_owned(), u64::to_string);
            write!(out, "{text:>cell$}")?;
        }
        writeln!(out, "  {}", if v.passed() { "pass" } else { "FAIL" })?;
    }
    writeln!(out)?;
    for (i, id) in columns.iter().enumerate() {
        writeln!(out, "{:>5}  {id}", format!("R{}", i + 1))?;
    }
    writeln!(out)?;
    for run in report.uncaught() {
        writeln!(out, "uncaught: {} (expected {}): {}", run.fault.name(), run.expected.id, run.fault.description())?;
    }
    if let Some(v) = report.variant.as_ref().filter(|v| !v.passed()) {
        for name in &v.failed {
            writeln!(out, "variant failed: {name}")?;
        }
    }
    let caught = report.faults.len() - report.uncaught().count();
    let variant = match &report.variant {
        Some(v) if v.passed() => format!("variant passed ({} scenarios, 0 violations)", v.scenarios),
        Some(v) => format!(
            "variant FAILED ({} of {} scenarios, {} violations)",
            v.failed.len(),
            v.scenarios,
            v.raised.values().sum::<u64>()
        ),
        None => "variant not run".to_owned(),
    };
    writeln!(
        out,
        "{caught} of {} faults caught; {variant} — selftest {} in {:.1} s",
        report.faults.len(),
        if report.passed() { "passed" } else { "FAILED" },
        report.duration.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::selftest::{FaultRun, expected_rule};
    use crate::sim::Fault;

    fn run(fault: Fault, raised: &[(&'static str, u64)]) -> FaultRun {
        FaultRun {
            fault,
            expected: expected_rule(fault),
            raised: raised.iter().copied().collect::<BTreeMap<_, _>>(),
            scenarios: 3,
            scenarios_failed: 1,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn cells_mark_the_expected_rule_and_rows_say_the_verdict() {
        let report = Report {
            faults: vec![
                run(Fault::IndexRepeat, &[("transcript.index", 4), ("assert.body", 1)]),
                run(Fault::TruncatedJson, &[("assert.body", 2)]),
            ],
            variant: None,
            duration: Duration::ZERO,
        };
        let mut out = Vec::new();
        write(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let row = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap().to_owned();
        // Columns in catalogue order: protocol.json, assert.body, transcript.index.
        assert!(row("index-repeat").split_whitespace().eq(["index-repeat", ".", "1", "[4]", "caught"]), "{text}");
        assert!(row("truncated-json").contains("[ ]") && row("truncated-json").ends_with("NOT CAUGHT"), "{text}");
        assert!(text.contains("R1  protocol.json") && text.contains("R3  transcript.index"), "{text}");
        assert!(text.contains("uncaught: truncated-json (expected protocol.json)"), "{text}");
        assert!(text.contains("1 of 2 faults caught; variant not run — selftest FAILED"), "{text}");
    }
}
