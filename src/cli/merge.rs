//! `chatprobe merge`: the shard reports of one load (`load --shard I/N`) combined into one JSON,
//! HTML and Markdown report, its thresholds and baseline judged once, on the merge, with the exit
//! codes of `load` (0 pass, 1 contract violations with no threshold on them, 2 invalid input or
//! reports that are not the shards of one load, 3 a shard's harness saturated, 4 a threshold or
//! the baseline breached, 130 a shard was interrupted).

use std::path::PathBuf;

use clap::Args;

use super::invalid;
use super::load::{BaselineArgs, LoadReportArgs};
use crate::load::{self, thresholds};
use crate::report::load::merge;
use crate::runner::Outcome;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard reports (each `load-report.json` of `load --shard I/N`), every shard once.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The load file: its thresholds are judged on the merge (default: the thresholds the
    /// shards recorded).
    #[arg(long)]
    pub load: Option<PathBuf>,
    /// Another threshold, e.g. "p99(Accept) < 200ms" (repeatable).
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    /// Report a shard harness's saturation without exiting 3.
    #[arg(long)]
    pub allow_saturation: bool,
    #[command(flatten)]
    pub out: LoadReportArgs,
}

/// The merged result with its thresholds and baseline judged.
fn merged(args: &MergeArgs) -> Result<load::LoadResult, Outcome> {
    let mut reports = Vec::new();
    let mut unreadable = 0;
    for path in &args.reports {
        match merge::read(path) {
            Ok(r) => reports.push(r),
            Err(e) => {
                unreadable += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if unreadable > 0 {
        return Err(invalid(format!("{unreadable} report(s) cannot be merged; nothing was written")));
    }
    let (mut list, violations_gate) = match &args.load {
        Some(file) => {
            let spec = match load::spec::parse_file(file) {
                Ok(s) => s,
                Err(diags) => {
                    for d in diags {
                        eprint!("{d}");
                    }
                    return Err(invalid("the load file is invalid; nothing was merged"));
                }
            };
            if let Some(r) = reports.iter().find(|r| r.result.name != spec.name) {
                return Err(invalid(format!(
                    "--load {} is load `{}`, but {} is a report of load `{}`",
                    file.display(),
                    spec.name,
                    r.path,
                    r.result.name
                )));
            }
            let gate = !spec.thresholds.iter().any(|t| matches!(t.metric, thresholds::Metric::Violations(_)));
            (spec.thresholds, gate)
        }
        None => match reports.first() {
            Some(first) => (merge::recorded_thresholds(first).map_err(invalid)?, first.result.violations_gate),
            None => return Err(invalid("no report to merge")),
        },
    };
    for t in &args.thresholds {
        list.push(thresholds::parse(t).map_err(|e| invalid(format!("--threshold `{t}`: {e}")))?);
    }
    let violations_gate =
        violations_gate && !list.iter().any(|t| matches!(t.metric, thresholds::Metric::Violations(_)));
    let baseline = args.baseline.spec()?;
    let mut result = merge::merge(reports).map_err(invalid)?;
    result.allow_saturation = args.allow_saturation;
    result.violations_gate = violations_gate;
    result.thresholds = thresholds::evaluate(&thresholds::with_default_gates(&list), &result);
    result.baseline = baseline.as_ref().map(|b| load::baseline::compare(&result, b));
    Ok(result)
}

pub fn merge(args: MergeArgs) -> Outcome {
    match merged(&args) {
        Ok(result) => args.out.write(&result, &format!("merged {} shard(s):", result.sharding.merged.len())),
        // No merged report is left looking current.
        Err(outcome) => args.out.nothing_written(outcome),
    }
}
