//! The JSON load report (`schemas/chatprobe/load-report.schema.json`): counts, verdicts, a
//! summary of every latency and the histogram itself in the standard compressed V2
//! HdrHistogram form, base64-encoded (as the HdrHistogram tools of other languages read it), so
//! several reports can be merged without losing precision.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::Serialize;
use serde_json::Value;

use super::{LOAD_REPORT_VERSION, Summary, summary, verdict};
use crate::load::LoadResult;
use crate::load::metrics::{Counts, Tick};
use crate::load::saturation::Saturation;
use crate::load::{baseline::BaselineReport, thresholds::ThresholdResult};

#[derive(Serialize)]
struct Figure {
    #[serde(flatten)]
    summary: Summary,
    /// V2 serialization, base64.
    hdr: String,
}

#[derive(Serialize)]
struct Metric {
    unit: &'static str,
    uncorrected: Figure,
    corrected: Option<Figure>,
}

#[derive(Serialize)]
struct Second {
    second: usize,
    ops: u64,
    errors: u64,
    dropped: u64,
    /// The harness's worst timer lag this second, in milliseconds.
    max_lag_ms: f64,
    /// The harness could not keep up this second.
    saturated: bool,
    /// The harness process's CPU, in percent of one core.
    cpu_percent: f64,
    /// The most chats (or requests) in flight the timer probe saw.
    active: u64,
    /// p50 and p99 of the latencies completed this second.
    latency_ms: Option<SecondFigures>,
}

#[derive(Serialize)]
struct SecondFigures {
    p50: Option<f64>,
    p99: Option<f64>,
    p50_uncorrected: f64,
    p99_uncorrected: f64,
}

fn second_figures(s: &crate::load::metrics::SecondLatency) -> Option<SecondFigures> {
    if s.uncorrected.is_empty() {
        return None;
    }
    let at = |h: &Histogram<u32>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    Some(SecondFigures {
        p50: s.corrected.as_ref().map(|c| at(c, 0.5)),
        p99: s.corrected.as_ref().map(|c| at(c, 0.99)),
        p50_uncorrected: at(&s.uncorrected, 0.5),
        p99_uncorrected: at(&s.uncorrected, 0.99),
    })
}

#[derive(Serialize)]
struct Report<'a> {
    report_version: u32,
    kind: &'static str,
    tool: &'static str,
    version: &'static str,
    name: &'a str,
    file: &'a str,
    target: &'a str,
    embedded_simulator: bool,
    started_at: &'a str,
    duration_ms: f64,
    planned_ms: f64,
    model: &'static str,
    journey: &'static str,
    workers: usize,
    outcome: &'static str,
    exit_code: i32,
    /// Stopped by SIGINT or SIGTERM: the figures cover the run until then.
    interrupted: bool,
    /// Why the harness could not keep up, if it could not.
    saturation: Option<&'a Saturation>,
    /// Whether contract violations fail the run (no threshold names them).
    violations_gate: bool,
    counts: &'a Counts,
    peak_active: u64,
    peak_chatting: u64,
    error_rate: f64,
    ops_per_sec: f64,
    upload_mbps: Option<f64>,
    violations_by_rule: &'a BTreeMap<String, u64>,
    violation_samples: &'a [String],
    error_samples: &'a [String],
    metrics: BTreeMap<&'a str, Metric>,
    timeline: Vec<Second>,
    thresholds: &'a [ThresholdResult],
    baseline: Option<&'a BaselineReport>,
    harness: Harness,
    /// This report's shard, or null when the load was not sharded.
    shard: Option<Shard>,
    /// The hash of the load plan, equal for every shard of one load.
    plan_hash: &'a str,
    /// The `--start-at` every shard started its schedule at, if one was given.
    start_at: Option<&'a str>,
    /// The wall-clock time of the timeline's second 0.
    timeline_start: Option<&'a str>,
    /// The shards merged into this report (`chatprobe merge`), or null.
    merged_shards: Option<&'a [u64]>,
}

#[derive(Serialize)]
struct Shard {
    index: u64,
    count: u64,
}

#[derive(Serialize)]
struct Harness {
    peak_rss_bytes: Option<u64>,
}

/// A histogram in the compressed V2 serialization, base64-encoded.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    // Serializing into memory only fails for histograms it cannot represent, which ours are not.
    if V2DeflateSerializer::new().serialize(h, &mut buf).is_err() {
        return String::new();
    }
    STANDARD.encode(buf)
}

/// The histogram of an `hdr` field (compressed or not), for merging reports.
pub fn decode(text: &str) -> Option<Histogram<u64>> {
    let bytes = STANDARD.decode(text).ok()?;
    let mut h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).ok()?;
    // As recorded: it grows when another histogram with larger values is added to it.
    h.auto(true);
    Some(h)
}

fn figure(h: &Histogram<u64>) -> Figure {
    Figure { summary: summary(h), hdr: encode(h) }
}

pub fn write(run: &LoadResult, out: &mut dyn Write) -> std::io::Result<()> {
    let metrics = run
        .metrics
        .series
        .iter()
        .map(|(name, s)| {
            let unit = if super::is_latency(name) { "us" } else { "kB/s" };
            (
                name.as_str(),
                Metric { unit, uncorrected: figure(&s.uncorrected), corrected: s.corrected.as_ref().map(figure) },
            )
        })
        .collect();
    let timeline = run
        .metrics
        .timeline
        .iter()
        .enumerate()
        .map(|(second, t): (usize, &Tick)| Second {
            second,
            ops: t.ops,
            errors: t.errors,
            dropped: t.dropped,
            max_lag_ms: t.max_lag_us as f64 / 1e3,
            saturated: crate::load::saturation::saturated(t),
            cpu_percent: t.cpu_percent,
            active: t.active,
            latency_ms: run.metrics.seconds.get(second).and_then(second_figures),
        })
        .collect();
    let report = Report {
        report_version: LOAD_REPORT_VERSION,
        kind: "load",
        tool: "chatprobe",
        version: env!("CARGO_PKG_VERSION"),
        name: &run.name,
        file: &run.file,
        target: &run.target,
        embedded_simulator: run.embedded_simulator,
        started_at: &run.started_at,
        duration_ms: run.elapsed.as_secs_f64() * 1e3,
        planned_ms: run.planned.as_secs_f64() * 1e3,
        model: run.model,
        journey: run.journey,
        workers: run.workers,
        outcome: verdict(run),
        exit_code: run.outcome().code(),
        interrupted: run.interrupted,
        saturation: run.saturation.as_ref(),
        violations_gate: run.violations_gate,
        counts: &run.metrics.counts,
        peak_active: run.peak_active,
        peak_chatting: run.peak_chatting,
        error_rate: run.error_rate(),
        ops_per_sec: run.ops_per_sec(),
        upload_mbps: run.upload_mbps(),
        violations_by_rule: &run.metrics.violations,
        violation_samples: &run.metrics.violation_samples,
        error_samples: &run.metrics.error_samples,
        metrics,
        timeline,
        thresholds: &run.thresholds,
        baseline: run.baseline.as_ref(),
        harness: Harness { peak_rss_bytes: run.peak_rss_bytes },
        shard: (run.sharding.shard.1 > 1 && run.sharding.merged.is_empty())
            .then_some(Shard { index: run.sharding.shard.0, count: run.sharding.shard.1 }),
        plan_hash: &run.sharding.plan_hash,
        start_at: run.sharding.start_at.as_deref(),
        timeline_start: run.sharding.timeline_start.as_deref(),
        merged_shards: (!run.sharding.merged.is_empty()).then_some(run.sharding.merged.as_slice()),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

/// The report as a JSON value (tests, schema checks, baselines).
pub fn to_value(run: &LoadResult) -> Value {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail and the report holds only serializable data.
    let _ = write(run, &mut buf);
    serde_json::from_slice(&buf).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_round_trip_exactly() {
        let mut h = crate::load::metrics::histogram();
        for v in [1u64, 10, 100, 1000, 123_456, 9_999_999] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert!(decode("not base64!").is_none());
    }
}
