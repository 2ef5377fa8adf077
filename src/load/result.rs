//! The finished run as data: what was measured, the verdicts of thresholds and baseline, and the
//! figures derived from them. Report writers are pure functions of this.

use std::time::Duration;

use super::baseline::BaselineReport;
use super::metrics::Metrics;
use super::saturation::Saturation;
use super::thresholds::ThresholdResult;
use crate::runner::Outcome;

/// A finished load run.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub name: String,
    pub file: String,
    pub target: String,
    pub embedded_simulator: bool,
    /// RFC 3339 time the load started.
    pub started_at: String,
    /// How long the load ran, drain included.
    pub elapsed: Duration,
    /// How long the profile asked for.
    pub planned: Duration,
    /// "open" or "closed".
    pub model: &'static str,
    /// "chat" or "request".
    pub journey: &'static str,
    /// Concurrent workers (goose users) the driver ran.
    pub workers: usize,
    pub metrics: Metrics,
    /// Most chats (or requests) in flight at once.
    pub peak_active: u64,
    /// Most chats accepted by an agent and not yet ended, at once.
    pub peak_chatting: u64,
    /// The harness process's peak resident set, where the OS tells it.
    pub peak_rss_bytes: Option<u64>,
    pub thresholds: Vec<ThresholdResult>,
    pub baseline: Option<BaselineReport>,
    /// Stopped by SIGINT or SIGTERM before the profile's end.
    pub interrupted: bool,
    /// The harness could not keep up with its schedule: latencies include its own queueing.
    pub saturation: Option<Saturation>,
    /// `--allow-saturation`: saturation is reported, not failed on.
    pub allow_saturation: bool,
    /// No threshold names violations: any contract violation fails the run (exit 1).
    pub violations_gate: bool,
    /// The shard, plan and start this result belongs to (or the shards merged into it).
    pub sharding: super::shard::Sharding,
}

impl LoadResult {
    /// Failed operations over all operations (0 when nothing ran).
    pub fn error_rate(&self) -> f64 {
        let c = &self.metrics.counts;
        let all = c.ops + c.errors;
        if all == 0 { 0.0 } else { c.errors as f64 / all as f64 }
    }

    /// Operations completed per second of the run.
    pub fn ops_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 { self.metrics.counts.ops as f64 / secs } else { 0.0 }
    }

    /// Mean upload throughput while uploading, in megabits per second (10^6 bits, as the name
    /// says); none without uploads.
    pub fn upload_mbps(&self) -> Option<f64> {
        let c = &self.metrics.counts;
        (c.upload_micros > 0).then(|| c.upload_bytes as f64 * 8.0 / c.upload_micros as f64)
    }

    /// Whether every threshold held and the baseline (if any) shows no regression.
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed) && self.baseline.as_ref().is_none_or(|b| b.passed)
    }

    /// The outcome's name in reports: a run that breached no threshold but regressed against
    /// its baseline is a `regression`.
    pub fn verdict(&self) -> &'static str {
        match self.outcome() {
            Outcome::Pass => "pass",
            Outcome::Interrupted => "interrupted",
            // Exit 4 either way; named for what failed when no threshold did.
            Outcome::ThresholdBreached if self.thresholds.iter().all(|t| t.passed) => "regression",
            Outcome::ThresholdBreached => "threshold-breached",
            Outcome::Violations => "violations",
            Outcome::CouldNotRun => "saturated",
            Outcome::InvalidInput => "invalid-input",
        }
    }

    /// The exit code's outcome: interrupted, then the harness's saturation (its figures cannot
    /// be trusted), then thresholds and baseline, then contract violations.
    pub fn outcome(&self) -> Outcome {
        if self.interrupted {
            Outcome::Interrupted
        } else if self.saturation.is_some() && !self.allow_saturation {
            Outcome::CouldNotRun
        } else if !self.passed() {
            Outcome::ThresholdBreached
        } else if self.violations_gate && self.metrics.counts.violations > 0 {
            Outcome::Violations
        } else {
            Outcome::Pass
        }
    }
}

/// The peak resident set size of this process (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
