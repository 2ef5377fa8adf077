//! Shard reports (`load --shard I/N`) read back and merged into one result, which the JSON, HTML
//! and Markdown writers then write as they write one run's:
//!
//! - histograms exactly: each is decoded from its V2 form and added, bucket by bucket;
//! - counts, violations by rule and workers summed; the peaks summed (a bound: the shards' peaks
//!   need not coincide);
//! - timelines aligned by wall-clock: each shard's second 0 is placed at its own time, to the
//!   nearest second, and a second is saturated when any shard's was;
//! - reports of other plans, other starts, missing or duplicated shards are refused, naming them.
//!
//! The thresholds and the baseline are judged by the caller, on the merged result.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::json::decode;
use crate::load::LoadResult;
use crate::load::metrics::{Counts, Metrics, Series, Tick};
use crate::load::saturation::{self, Saturation};
use crate::load::shard::Sharding;
use crate::load::thresholds::{self, Threshold, ThresholdResult};

/// One shard report, read back.
#[derive(Debug, Clone)]
pub struct ShardReport {
    /// Where it was read from, to name it.
    pub path: String,
    pub result: LoadResult,
}

impl ShardReport {
    fn shard(&self) -> (u64, u64) {
        self.result.sharding.shard
    }
}

fn field<'a>(r: &'a Value, key: &str, path: &str) -> Result<&'a Value, String> {
    r.get(key).ok_or_else(|| format!("{path}: no `{key}` (not a chatprobe load report, or an older one)"))
}

fn text(r: &Value, key: &str, path: &str) -> Result<String, String> {
    field(r, key, path)?.as_str().map(str::to_owned).ok_or_else(|| format!("{path}: `{key}` is not a string"))
}

fn number(r: &Value, key: &str, path: &str) -> Result<f64, String> {
    field(r, key, path)?.as_f64().ok_or_else(|| format!("{path}: `{key}` is not a number"))
}

fn parsed<T: serde::de::DeserializeOwned>(r: &Value, key: &str, path: &str) -> Result<T, String> {
    serde_json::from_value(field(r, key, path)?.clone()).map_err(|e| format!("{path}: `{key}`: {e}"))
}

fn histogram(figure: &Value, what: &str, path: &str) -> Result<hdrhistogram::Histogram<u64>, String> {
    let hdr = figure.get("hdr").and_then(Value::as_str).ok_or_else(|| format!("{path}: {what} has no `hdr`"))?;
    decode(hdr).ok_or_else(|| format!("{path}: {what}: `hdr` is not a base64 V2 HdrHistogram"))
}

fn time_of(s: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(SystemTime::from)
}

/// Read one load report written by `chatprobe load`.
pub fn read(path: &Path) -> Result<ShardReport, String> {
    let p = path.display().to_string();
    let body = std::fs::read_to_string(path).map_err(|e| format!("{p}: {e}"))?;
    let r: Value = serde_json::from_str(&body).map_err(|e| format!("{p}: not JSON: {e}"))?;
    if r.get("kind").and_then(Value::as_str) != Some("load") {
        return Err(format!("{p}: not a chatprobe load report (no \"kind\": \"load\")"));
    }
    let statics = |key: &str, allowed: &[&'static str]| -> Result<&'static str, String> {
        let v = text(&r, key, &p)?;
        allowed.iter().find(|a| **a == v).copied().ok_or_else(|| format!("{p}: unknown {key} `{v}`"))
    };
    let model = statics("model", &["open", "closed"])?;
    let journey = statics("journey", &["chat", "request"])?;
    let mut metrics = Metrics::new(Instant::now(), model == "open");
    metrics.counts = parsed::<Counts>(&r, "counts", &p)?;
    metrics.violations = parsed::<BTreeMap<String, u64>>(&r, "violations_by_rule", &p)?;
    metrics.violation_samples = parsed(&r, "violation_samples", &p)?;
    metrics.error_samples = parsed(&r, "error_samples", &p)?;
    let series = field(&r, "metrics", &p)?.as_object().ok_or_else(|| format!("{p}: `metrics` is not an object"))?;
    for (name, m) in series {
        let uncorrected = histogram(m.get("uncorrected").unwrap_or(&Value::Null), &format!("metric `{name}`"), &p)?;
        let corrected = match m.get("corrected") {
            Some(c) if !c.is_null() => Some(histogram(c, &format!("metric `{name}` (corrected)"), &p)?),
            _ => None,
        };
        metrics.series.insert(name.clone(), Series { corrected, uncorrected });
    }
    let seconds = field(&r, "timeline", &p)?.as_array().ok_or_else(|| format!("{p}: `timeline` is not a list"))?;
    for s in seconds {
        // What the report holds of a second; the timer probe's own counts are not in it.
        let mut tick: Tick = serde_json::from_value(s.clone()).map_err(|e| format!("{p}: `timeline`: {e}"))?;
        // A saturated second without drops comes back as one late wake-up, so that it stays
        // saturated in the merge.
        let lagging = s.get("saturated").and_then(Value::as_bool).unwrap_or(false) && tick.dropped == 0;
        tick.probes = u32::from(lagging);
        tick.late_probes = u32::from(lagging);
        tick.max_lag_us = (s.get("max_lag_ms").and_then(Value::as_f64).unwrap_or(0.0) * 1e3) as u64;
        metrics.timeline.push(tick);
    }
    let shard = match r.get("shard") {
        Some(Value::Object(s)) => {
            let get = |k: &str| s.get(k).and_then(Value::as_u64).ok_or_else(|| format!("{p}: `shard.{k}` missing"));
            (get("index")?, get("count")?)
        }
        _ => (0, 1),
    };
    let opt = |key: &str| r.get(key).and_then(Value::as_str).map(str::to_owned);
    if r.get("merged_shards").is_some_and(|m| !m.is_null()) {
        return Err(format!("{p}: already a merged report; merge the shard reports themselves"));
    }
    let ms =
        |key: &str| -> Result<Duration, String> { Ok(Duration::from_secs_f64(number(&r, key, &p)?.max(0.0) / 1e3)) };
    let result = LoadResult {
        name: text(&r, "name", &p)?,
        file: text(&r, "file", &p)?,
        target: text(&r, "target", &p)?,
        embedded_simulator: r.get("embedded_simulator").and_then(Value::as_bool).unwrap_or(false),
        started_at: text(&r, "started_at", &p)?,
        elapsed: ms("duration_ms")?,
        planned: ms("planned_ms")?,
        model,
        journey,
        workers: number(&r, "workers", &p)? as usize,
        metrics,
        peak_active: number(&r, "peak_active", &p)? as u64,
        peak_chatting: number(&r, "peak_chatting", &p)? as u64,
        peak_rss_bytes: r.pointer("/harness/peak_rss_bytes").and_then(Value::as_u64),
        thresholds: parsed::<Vec<ThresholdResult>>(&r, "thresholds", &p)?,
        baseline: None,
        interrupted: r.get("interrupted").and_then(Value::as_bool).unwrap_or(false),
        saturation: parsed::<Option<Saturation>>(&r, "saturation", &p)?,
        allow_saturation: false,
        violations_gate: r.get("violations_gate").and_then(Value::as_bool).unwrap_or(true),
        sharding: Sharding {
            shard,
            plan_hash: text(&r, "plan_hash", &p)?,
            start_at: opt("start_at"),
            timeline_start: opt("timeline_start"),
            merged: Vec::new(),
        },
    };
    Ok(ShardReport { path: p, result })
}

/// The thresholds the shards were given, as recorded in their reports (the default gates are
/// left out: the caller adds them again).
pub fn recorded_thresholds(report: &ShardReport) -> Result<Vec<Threshold>, String> {
    report
        .result
        .thresholds
        .iter()
        .filter(|t| !t.rule.ends_with("(default)"))
        .map(|t| thresholds::parse(&t.rule).map_err(|e| format!("{}: threshold `{}`: {e}", report.path, t.rule)))
        .collect()
}

/// Files named by a value, for messages: `a.json, b.json`.
fn names<'a>(reports: impl IntoIterator<Item = &'a ShardReport>) -> String {
    reports.into_iter().map(|r| r.path.as_str()).collect::<Vec<_>>().join(", ")
}

/// Check that the reports are the shards of one load, every shard once.
pub fn check(reports: &[ShardReport]) -> Result<(), String> {
    let Some(first) = reports.first() else { return Err("no report to merge".into()) };
    let mut by_plan: BTreeMap<&str, Vec<&ShardReport>> = BTreeMap::new();
    for r in reports {
        by_plan.entry(r.result.sharding.plan_hash.as_str()).or_default().push(r);
    }
    if by_plan.len() > 1 {
        let groups: Vec<String> = by_plan
            .iter()
            .map(|(hash, rs)| format!("{hash} (load `{}`): {}", rs[0].result.name, names(rs.iter().copied())))
            .collect();
        return Err(format!("the reports are of different load plans: {}", groups.join("; ")));
    }
    let mut by_start: BTreeMap<Option<&str>, Vec<&ShardReport>> = BTreeMap::new();
    for r in reports {
        by_start.entry(r.result.sharding.start_at.as_deref()).or_default().push(r);
    }
    if by_start.len() > 1 {
        let groups: Vec<String> = by_start
            .iter()
            .map(|(at, rs)| format!("--start-at {}: {}", at.unwrap_or("(none)"), names(rs.iter().copied())))
            .collect();
        return Err(format!("the reports are of different runs: {}", groups.join("; ")));
    }
    let mut by_count: BTreeMap<u64, Vec<&ShardReport>> = BTreeMap::new();
    for r in reports {
        by_count.entry(r.shard().1).or_default().push(r);
    }
    if by_count.len() > 1 {
        let groups: Vec<String> =
            by_count.iter().map(|(n, rs)| format!("of {n} shard(s): {}", names(rs.iter().copied()))).collect();
        return Err(format!("the reports split the load differently: {}", groups.join("; ")));
    }
    let n = first.shard().1;
    let mut by_index: BTreeMap<u64, Vec<&ShardReport>> = BTreeMap::new();
    for r in reports {
        by_index.entry(r.shard().0).or_default().push(r);
    }
    let duplicated: Vec<String> = by_index
        .iter()
        .filter(|(_, rs)| rs.len() > 1)
        .map(|(i, rs)| format!("shard {i}/{n} in {}", names(rs.iter().copied())))
        .collect();
    if !duplicated.is_empty() {
        return Err(format!("duplicated shards: {}", duplicated.join("; ")));
    }
    let missing: Vec<String> = (0..n).filter(|i| !by_index.contains_key(i)).map(|i| format!("{i}/{n}")).collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing shards: {} (given {} of {n}: {})",
            missing.join(", "),
            reports.len(),
            names(reports)
        ));
    }
    Ok(())
}

/// Merge checked shard reports into one result (thresholds and baseline not yet judged).
pub fn merge(mut reports: Vec<ShardReport>) -> Result<LoadResult, String> {
    check(&reports)?;
    reports.sort_by_key(ShardReport::shard);
    // Second 0 of the merged timeline is the earliest shard's.
    let origins: Vec<Option<SystemTime>> =
        reports.iter().map(|r| r.result.sharding.timeline_start.as_deref().and_then(time_of)).collect();
    let origin = origins.iter().flatten().min().copied();
    let first = reports[0].result.clone();
    let mut metrics = Metrics::new(Instant::now(), first.model == "open");
    let mut merged = LoadResult {
        metrics: Metrics::new(Instant::now(), first.model == "open"),
        workers: 0,
        peak_active: 0,
        peak_chatting: 0,
        peak_rss_bytes: None,
        thresholds: Vec::new(),
        baseline: None,
        saturation: None,
        elapsed: Duration::ZERO,
        ..first
    };
    let mut targets: Vec<String> = Vec::new();
    for (r, at) in reports.iter_mut().zip(&origins) {
        let run = &mut r.result;
        let shift = match (origin, at) {
            (Some(o), Some(a)) => a.duration_since(o).unwrap_or_default().as_secs_f64().round() as usize,
            _ => 0,
        };
        let mut timeline = vec![Tick::default(); shift];
        timeline.append(&mut run.metrics.timeline);
        run.metrics.timeline = timeline;
        metrics.absorb(&mut run.metrics);
        merged.workers += run.workers;
        merged.peak_active += run.peak_active;
        merged.peak_chatting += run.peak_chatting;
        merged.peak_rss_bytes = merged.peak_rss_bytes.max(run.peak_rss_bytes);
        merged.elapsed = merged.elapsed.max(run.elapsed);
        merged.planned = merged.planned.max(run.planned);
        merged.interrupted |= run.interrupted;
        merged.embedded_simulator |= run.embedded_simulator;
        merged.started_at = merged.started_at.clone().min(run.started_at.clone());
        if !targets.contains(&run.target) {
            targets.push(run.target.clone());
        }
    }
    merged.target = targets.join(", ");
    merged.metrics = metrics;
    merged.saturation = saturation::assess(&merged.metrics.timeline);
    merged.sharding.shard = (0, reports.len() as u64);
    merged.sharding.timeline_start = origin.map(crate::load::shard::rfc3339);
    merged.sharding.merged = reports.iter().map(|r| r.shard().0).collect();
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::load::json;

    fn shard_report(i: u64, n: u64, plan: &str, values: std::ops::Range<u64>) -> ShardReport {
        let t0 = Instant::now();
        let mut metrics = Metrics::new(t0, true);
        for v in values {
            metrics.record("Accept", t0, t0 + Duration::from_micros(v), t0 + Duration::from_micros(3 * v));
        }
        metrics.error(t0 + Duration::from_secs(1), || "e".into());
        let run = LoadResult {
            name: "m".into(),
            file: "m.yaml".into(),
            target: "http://127.0.0.1:1".into(),
            embedded_simulator: false,
            started_at: "2026-12-07T12:00:00Z".into(),
            elapsed: Duration::from_secs(3),
            planned: Duration::from_secs(2),
            model: "open",
            journey: "chat",
            workers: 4,
            metrics,
            peak_active: 2,
            peak_chatting: 1,
            peak_rss_bytes: Some(100),
            thresholds: Vec::new(),
            baseline: None,
            interrupted: false,
            saturation: None,
            allow_saturation: false,
            violations_gate: true,
            sharding: Sharding {
                shard: (i, n),
                plan_hash: plan.into(),
                start_at: Some("2026-12-07T12:00:01Z".into()),
                timeline_start: Some(format!("2026-12-07T12:00:0{i}Z")),
                merged: Vec::new(),
            },
        };
        let dir = std::env::temp_dir().join(format!("chatprobe-merge-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{plan}-{i}-{n}.json"));
        let mut buf = Vec::new();
        json::write(&run, &mut buf).unwrap();
        std::fs::write(&path, buf).unwrap();
        read(&path).unwrap()
    }

    #[test]
    fn shards_merge_exactly_and_align_by_wall_clock() {
        let parts =
            vec![shard_report(0, 3, "p", 1..1000), shard_report(1, 3, "p", 500..3000), shard_report(2, 3, "p", 7..9)];
        let mut union = crate::load::metrics::histogram();
        for p in &parts {
            union.add(p.result.metrics.series["Accept"].corrected.as_ref().unwrap()).unwrap();
        }
        let merged = merge(parts).unwrap();
        let accept = &merged.metrics.series["Accept"];
        assert!(accept.corrected.as_ref() == Some(&union), "the merged histogram is not the union of the shards'");
        assert_eq!(accept.uncorrected.len(), 999 + 2500 + 2);
        assert_eq!(merged.metrics.counts.errors, 3);
        assert_eq!(merged.metrics.counts.ops, 999 + 2500 + 2);
        assert_eq!(merged.workers, 12);
        assert_eq!(merged.sharding.merged, [0, 1, 2]);
        // Shard i's timeline starts i seconds after shard 0's: its error second is 1 + i.
        let errors: Vec<u64> = merged.metrics.timeline.iter().map(|t| t.errors).collect();
        assert_eq!(&errors[..4], &[0, 1, 1, 1]);
    }

    #[test]
    fn other_plans_missing_and_duplicated_shards_are_named() {
        let e = merge(vec![shard_report(0, 2, "p", 1..5), shard_report(1, 2, "q", 1..5)]).unwrap_err();
        assert!(e.contains("different load plans") && e.contains("q-1-2.json") && e.contains("p-0-2.json"), "{e}");
        let e = merge(vec![shard_report(0, 3, "p", 1..5), shard_report(2, 3, "p", 1..5)]).unwrap_err();
        assert!(e.starts_with("missing shards: 1/3"), "{e}");
        let e =
            merge(vec![shard_report(0, 2, "p", 1..5), shard_report(0, 2, "p", 1..5), shard_report(1, 2, "p", 1..5)])
                .unwrap_err();
        assert!(e.starts_with("duplicated shards: shard 0/2 in"), "{e}");
        let e = merge(vec![shard_report(0, 2, "p", 1..5), shard_report(1, 3, "p", 1..5)]).unwrap_err();
        assert!(e.contains("split the load differently"), "{e}");
    }
}
