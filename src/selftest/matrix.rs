//! The kill matrix as a person reads it: one row per fault (with the variant seed it was injected
//! on top of), one column per rule that fired anywhere (or was expected), each cell the number of
//! violations of that rule the fault caused; the expected rule's cell is bracketed, `[ ]` when it
//! did not fire. One row per variant seed comes last, each of which must be empty. A legend names
//! the columns, a summary gives the verdict. `write_coverage` prints which seeds took each
//! alternative of each latitude.

use std::io::Write;

use super::{FaultRun, Report, VariantRun};
use crate::contract::rules;
use crate::sim::{Latitudes, coverage};

fn fault_label(run: &FaultRun) -> String {
    match run.seed {
        Some(seed) => format!("{} @ seed {seed}", run.fault.name()),
        None => run.fault.name().to_owned(),
    }
}

fn seed_label(run: &VariantRun) -> String {
    format!("seed {} (no fault)", run.seed)
}

/// Write the matrix, its legend and the verdict.
pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let variant_rules = report.variants.iter().flat_map(|v| v.raised.keys().copied());
    let fault_rules = report.faults.iter().flat_map(|f| f.raised.keys().copied().chain([f.expected.id]));
    let used: Vec<&'static str> = fault_rules.chain(variant_rules).collect();
    // Columns in catalogue order, which groups rules by family.
    let columns: Vec<&'static str> = rules::ALL.iter().map(|r| r.id).filter(|id| used.contains(id)).collect();
    let width = report
        .faults
        .iter()
        .map(|f| fault_label(f).len())
        .chain(report.variants.iter().map(|v| seed_label(v).len()))
        .chain(["fault".len()])
        .max()
        .unwrap_or(0)
        + 2;
    let cell = 6;

    let scenarios = report.faults.first().map(|f| f.scenarios).or(report.variants.first().map(|v| v.scenarios));
    writeln!(
        out,
        "Kill matrix: {} fault(s) × {} rule(s), the suite ({} scenarios) against each fault alone on top of a \
         variant seed, then against each of {} seed(s); cells count failed checks (violations and observations), \
         [n] is the expected rule.",
        report.faults.len(),
        columns.len(),
        scenarios.unwrap_or(0),
        report.variants.len(),
    )?;
    writeln!(out)?;
    write!(out, "{:width$}", "fault")?;
    for i in 1..=columns.len() {
        write!(out, "{:>cell$}", format!("R{i}"))?;
    }
    writeln!(out, "  verdict")?;
    for run in &report.faults {
        write!(out, "{:width$}", fault_label(run))?;
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
    for v in &report.variants {
        write!(out, "{:width$}", seed_label(v))?;
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
        writeln!(out, "uncaught: {} (expected {}): {}", fault_label(run), run.expected.id, run.fault.description())?;
    }
    for v in report.variants.iter().filter(|v| !v.passed()) {
        writeln!(out, "seed {} failed; its latitudes: {}", v.seed, v.latitudes)?;
        for name in &v.failed {
            writeln!(out, "seed {} failed: {name}", v.seed)?;
        }
    }
    let caught = report.faults.len() - report.uncaught().count();
    let passed = report.variants.iter().filter(|v| v.passed()).count();
    let violations: u64 = report.variants.iter().flat_map(|v| v.raised.values()).sum();
    let seeds = if report.variants.is_empty() {
        "no variant seed run".to_owned()
    } else {
        format!(
            "{passed} of {} seeds passed ({} scenarios each, {violations} violations)",
            report.variants.len(),
            report.variants[0].scenarios
        )
    };
    writeln!(
        out,
        "{caught} of {} faults caught; {seeds} — selftest {} in {:.1} s",
        report.faults.len(),
        if report.passed() { "passed" } else { "FAILED" },
        report.duration.as_secs_f64()
    )
}

/// The latitude coverage of `seeds`: per latitude, each alternative and the seeds that take it
/// (`-` for none). Returns how many alternatives no seed takes.
pub fn write_coverage(seeds: &[u64], out: &mut dyn Write) -> std::io::Result<usize> {
    let table = coverage(seeds);
    let width = Latitudes::ALL.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let list = seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    writeln!(out, "Latitude coverage of seeds {list}: each alternative, and the seeds that take it.")?;
    let mut missing = 0;
    for (info, per_alt) in Latitudes::ALL.iter().zip(&table) {
        let cells: Vec<String> = info
            .alternatives
            .iter()
            .zip(per_alt)
            .map(|(alt, taken)| {
                if taken.is_empty() {
                    missing += 1;
                    format!("{alt} [-]")
                } else {
                    let by = taken.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                    format!("{alt} [{by}]")
                }
            })
            .collect();
        writeln!(out, "  {:width$}  {}", info.name, cells.join("  "))?;
    }
    let total: usize = Latitudes::ALL.iter().map(|l| l.alternatives.len()).sum();
    writeln!(
        out,
        "{} latitudes, {} of {total} alternatives taken{}",
        Latitudes::ALL.len(),
        total - missing,
        if missing == 0 { String::new() } else { format!(" — {missing} NOT TAKEN") }
    )?;
    Ok(missing)
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
            seed: None,
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
            variants: Vec::new(),
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
        assert!(text.contains("1 of 2 faults caught; no variant seed run — selftest FAILED"), "{text}");
    }

    #[test]
    fn coverage_lists_each_alternative_with_its_seeds_and_counts_the_missing() {
        let mut out = Vec::new();
        let missing = write_coverage(&[], &mut out).unwrap();
        let total: usize = Latitudes::ALL.iter().map(|l| l.alternatives.len()).sum();
        assert_eq!(missing, total);
        let mut out = Vec::new();
        assert_eq!(write_coverage(crate::sim::DEFAULT_SEEDS, &mut out).unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        let csrf = text.lines().find(|l| l.trim_start().starts_with("csrf-cometd")).unwrap();
        assert!(csrf.contains("enforced [") && csrf.contains("not-enforced ["), "{text}");
        assert!(text.contains(&format!("{total} of {total} alternatives taken")), "{text}");
    }
}
