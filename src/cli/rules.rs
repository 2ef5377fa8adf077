//! `chatprobe rules`: every rule with its severity, its source and what it requires.

use super::RulesArgs;
use crate::contract::rules::{self, Severity};
use crate::runner::Outcome;

pub fn rules(args: RulesArgs) -> Outcome {
    if args.json {
        match serde_json::to_string_pretty(rules::ALL) {
            Ok(text) => println!("{text}"),
            Err(e) => return super::invalid(e),
        }
        return Outcome::Pass;
    }
    let mut out = String::new();
    write(&mut out);
    print!("{out}");
    Outcome::Pass
}

/// The listing: one block per rule, violations first.
pub fn write(out: &mut String) {
    use std::fmt::Write;
    let width = rules::ALL.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for severity in [Severity::Violation, Severity::Observation] {
        let heading = match severity {
            Severity::Violation => "Documented: a failed check is a violation and fails the run (exit 1)",
            Severity::Observation => {
                "Profile: where the documentation is silent; a failed check is an observation, reported, failing the run only with --strict"
            }
        };
        let _ = writeln!(out, "{heading}\n");
        for r in rules::ALL.iter().filter(|r| r.severity == severity) {
            let _ = writeln!(out, "  {:width$}  {}", r.id, r.description);
            let _ = writeln!(out, "  {:width$}  source: {}", "", r.source);
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "Assertions (assert.*) take the severity of their expectation's source: a page, or `profile: why`."
    );
}
