//! The conformance report as one self-contained HTML page (`run --html`).

use std::collections::HashMap;
use std::io::Write;

use crate::runner::RunResult;

pub fn write(run: &RunResult, sources: &HashMap<String, String>, out: &mut dyn Write) -> std::io::Result<()> {
    let _ = (run, sources);
    writeln!(out, "<!doctype html>")
}
