//! The JSON report: the whole result tree, with a version and the rule catalogue, validated by
//! `schemas/chatprobe/report.schema.json`.

use std::io::Write;

use serde::Serialize;

use super::REPORT_VERSION;
use crate::contract::rules::{self, Rule};
use crate::runner::RunResult;

#[derive(Serialize)]
struct Report<'a> {
    report_version: u32,
    outcome: &'static str,
    exit_code: i32,
    #[serde(flatten)]
    run: &'a RunResult,
    rules: &'static [Rule],
}

pub fn write(run: &RunResult, out: &mut dyn Write) -> std::io::Result<()> {
    let outcome = run.outcome();
    let report = Report {
        report_version: REPORT_VERSION,
        outcome: outcome.name(),
        exit_code: outcome.code(),
        run,
        rules: rules::ALL,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

/// The report as a JSON value (for tests and the schema check).
pub fn to_value(run: &RunResult) -> serde_json::Value {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail, and the tree holds only serializable data.
    write(run, &mut buf).expect("serializing into memory");
    serde_json::from_slice(&buf).expect("own output is JSON")
}
