//! The Markdown summary of a load run, fit for a CI job summary: verdict, counts, thresholds,
//! baseline deltas, latencies and violations, in that order.

use std::io::Write;

use super::{is_latency, ms, ordered, summary, verdict};
use crate::load::LoadResult;
use crate::load::baseline::Status;

pub fn write(run: &LoadResult, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &run.metrics.counts;
    let mark = super::mark(run);
    writeln!(out, "## chatprobe load: {} — {mark} ({})\n", run.name, verdict(run))?;
    if let Some(s) = &run.saturation {
        let allowed = if run.allow_saturation { " (allowed by --allow-saturation)" } else { "" };
        writeln!(out, "> **{}**{allowed}\n", s.reason)?;
    }
    if run.violations_gate && c.violations > 0 {
        writeln!(
            out,
            "> **{} contract violations**: with no threshold on `violations`, any fails the run.\n",
            c.violations
        )?;
    }
    let target =
        if run.embedded_simulator { format!("embedded simulator ({})", run.target) } else { run.target.clone() };
    writeln!(
        out,
        "Target {target} · {} model, {} journey, {} workers · {:.1} s (planned {:.1} s)\n",
        run.model,
        run.journey,
        run.workers,
        run.elapsed.as_secs_f64(),
        run.planned.as_secs_f64()
    )?;
    let sharding = &run.sharding;
    let start = sharding.start_at.as_deref().map(|s| format!(", started at {s}")).unwrap_or_default();
    if !sharding.merged.is_empty() {
        let n = sharding.merged.len();
        writeln!(
            out,
            "Merged from {n} shard(s) of plan {}{start}; peaks are sums of the shards' peaks\n",
            sharding.plan_hash
        )?;
    } else if sharding.shard.1 > 1 {
        let (i, n) = sharding.shard;
        writeln!(
            out,
            "Shard {i} of {n} (plan {}{start}): merge the {n} shard reports with `chatprobe merge`\n",
            sharding.plan_hash
        )?;
    }
    writeln!(out, "| ops | ops/s | errors | error rate | violations | dropped | late | peak active |")?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {:.1} | {} | {:.3}% | {} | {} | {} | {} |\n",
        c.ops,
        run.ops_per_sec(),
        c.errors,
        run.error_rate() * 100.0,
        c.violations,
        c.dropped,
        c.late,
        run.peak_active
    )?;
    if run.journey == "chat" {
        write!(
            out,
            "Chats: {} started, {} completed, at most {} held at once",
            c.chats_started, c.chats_completed, run.peak_chatting
        )?;
        match run.upload_mbps() {
            Some(v) => writeln!(out, "; uploads {:.1} MB at {v:.1} Mbit/s\n", c.upload_bytes as f64 / 1e6)?,
            None => writeln!(out, "\n")?,
        }
    }
    if !run.thresholds.is_empty() {
        writeln!(out, "### Thresholds\n\n| threshold | observed | result |\n|---|---:|---|")?;
        for t in &run.thresholds {
            writeln!(out, "| `{}` | {} | {} |", t.rule, t.observed, if t.passed { "pass" } else { "**FAIL**" })?;
        }
        writeln!(out)?;
    }
    if let Some(b) = &run.baseline {
        writeln!(out, "### Baseline `{}` (max regression {:.1}%)\n", b.file, b.max_regression_pct)?;
        let insufficient = b.insufficient();
        if insufficient > 0 {
            writeln!(out, "{insufficient} figure(s) had too few samples to compare (never a regression).\n")?;
        }
        writeln!(
            out,
            "| metric | baseline | current | change | common change | beyond it, 99% lower bound | samples | result |\n|---|---:|---:|---:|---:|---:|---:|---|"
        )?;
        for cmp in &b.comparisons {
            let c = super::baseline_cells(cmp);
            let result = match cmp.status {
                Status::Pass => "pass",
                Status::Regression => "**REGRESSION**",
                Status::InsufficientSamples => "insufficient samples",
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {result} |",
                cmp.metric, c.baseline, c.current, c.change, c.common, c.low, c.samples
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "### Latencies (ms)\n")?;
    let corrected = run.model == "open";
    if corrected {
        writeln!(
            out,
            "Corrected for coordinated omission (from the intended send time); uncorrected p99 beside it.\n"
        )?;
        writeln!(
            out,
            "| metric | count | p50 | p90 | p99 | p99.9 | max | p99 uncorrected |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        )?;
    } else {
        writeln!(out, "| metric | count | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|")?;
    }
    for (name, s) in ordered(run).into_iter().filter(|(n, _)| is_latency(n)) {
        let t = summary(s.trusted());
        write!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            t.count,
            ms(t.p50 as f64),
            ms(t.p90 as f64),
            ms(t.p99 as f64),
            ms(t.p999 as f64),
            ms(t.max as f64)
        )?;
        if corrected {
            write!(out, " {} |", ms(summary(&s.uncorrected).p99 as f64))?;
        }
        writeln!(out)?;
    }
    writeln!(out)?;
    if !run.metrics.violations.is_empty() {
        writeln!(out, "### Violations by rule\n\n| rule | count |\n|---|---:|")?;
        for (rule, n) in &run.metrics.violations {
            writeln!(out, "| `{rule}` | {n} |")?;
        }
        writeln!(out)?;
        for s in &run.metrics.violation_samples {
            writeln!(out, "- {}", s.replace('\n', " "))?;
        }
        writeln!(out)?;
    }
    if !run.metrics.error_samples.is_empty() {
        writeln!(out, "### First errors\n")?;
        for s in &run.metrics.error_samples {
            writeln!(out, "- {}", s.replace('\n', " "))?;
        }
        writeln!(out)?;
    }
    Ok(())
}
