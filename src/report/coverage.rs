//! The coverage table: catalogue operations × the scenarios that exercise them.

use std::io::Write;

use crate::scenario::coverage::Coverage;

pub fn write(cov: &Coverage, out: &mut dyn Write) -> std::io::Result<()> {
    let width = cov.operations.iter().map(|o| o.operation.len()).max().unwrap_or(9).max(9);
    writeln!(
        out,
        "{:<width$}  {:>8}  {:<16}  documented codes not covered",
        "operation", "positive", "negative codes"
    )?;
    for op in &cov.operations {
        let codes: Vec<String> =
            op.negative.keys().map(|c| if *c == 0 { "any".to_owned() } else { c.to_string() }).collect();
        let missing: Vec<String> = op.missing_errors().iter().map(i64::to_string).collect();
        writeln!(
            out,
            "{:<width$}  {:>8}  {:<16}  {}",
            op.operation,
            op.positive.len(),
            if codes.is_empty() { "-".to_owned() } else { codes.join(",") },
            if missing.is_empty() { "-".to_owned() } else { missing.join(",") },
        )?;
    }
    writeln!(
        out,
        "\npositive {:.1}%  negative {:.1}%  ({} operations)",
        cov.positive_percent,
        cov.negative_percent,
        cov.operations.len()
    )?;
    if !cov.unknown.is_empty() {
        writeln!(out, "operations not in the catalogue: {}", cov.unknown.join(", "))?;
    }
    Ok(())
}
