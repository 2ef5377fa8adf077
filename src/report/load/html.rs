//! The HTML load report: one self-contained page (inline CSS and SVG, nothing fetched) with the
//! verdict, thresholds, the baseline comparison, a latency-percentile plot (log scale towards the
//! tail, as HdrHistogram plots are read; corrected solid, uncorrected dashed, series past the
//! palette folded into one "other" curve that says how many it holds), latency (p50, p99), throughput
//! and in-flight work over time with saturated seconds shaded, and the latency table.

use std::fmt::Write as _;
use std::io::Write;

use hdrhistogram::Histogram;

use super::svg::{COLOURS, Line, OTHER, Plot, Span, XAxis};
use super::{is_latency, ms, ordered, summary};
use crate::load::LoadResult;
use crate::load::baseline::Status;
use crate::load::metrics::Series;

/// Quantiles the percentile plot samples.
const QUANTILES: [f64; 12] = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0];

fn esc(s: &str) -> String {
    crate::report::html::escape(s)
}

/// x of a quantile: log10(1 / (1 - q)), capped at 5 (the max).
fn qx(q: f64) -> f64 {
    if q >= 1.0 { 5.0 } else { (1.0 / (1.0 - q)).log10().min(5.0) }
}

/// The percentile curve of one histogram, in milliseconds.
fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    QUANTILES.iter().map(|&q| (qx(q), if q >= 1.0 { h.max() } else { h.value_at_quantile(q) } as f64 / 1e3)).collect()
}

fn percentile_plot(run: &LoadResult) -> String {
    // The end-to-end figures first, then operations; past the palette, the rest share one curve.
    const FIRST: [&str; 6] =
        ["notification", "invite", "delivery:customer-to-agent", "delivery:agent-to-customer", "Accept", "Upload"];
    let mut series: Vec<(String, Series)> = ordered(run)
        .into_iter()
        .filter(|(n, s)| is_latency(n) && *n != "chat" && !s.uncorrected.is_empty())
        .map(|(n, s)| (n.to_owned(), s.clone()))
        .collect();
    series.sort_by_key(|(n, _)| FIRST.iter().position(|f| f == n).unwrap_or(FIRST.len()));
    let mut notes = Vec::new();
    if series.len() > COLOURS.len() {
        let rest = series.split_off(COLOURS.len() - 1);
        let mut other = rest[0].1.clone();
        for (_, s) in &rest[1..] {
            let _ = other.uncorrected.add(&s.uncorrected);
            match (&mut other.corrected, &s.corrected) {
                (Some(mine), Some(theirs)) => {
                    let _ = mine.add(theirs);
                }
                (None, Some(theirs)) => other.corrected = Some(theirs.clone()),
                _ => {}
            }
        }
        notes.push((format!("other: {} series folded", rest.len()), OTHER));
        series.push((format!("other ({} series)", rest.len()), other));
    }
    let corrected = series.iter().any(|(_, s)| s.corrected.is_some());
    let mut lines = Vec::new();
    for (i, (name, s)) in series.iter().enumerate() {
        let colour = if name.starts_with("other (") { OTHER } else { COLOURS[i % COLOURS.len()] };
        lines.push(Line { label: name.clone(), colour, dashed: false, points: curve(s.trusted()) });
        if s.corrected.is_some() {
            lines.push(Line { label: String::new(), colour, dashed: true, points: curve(&s.uncorrected) });
        }
    }
    if corrected {
        notes.insert(0, ("solid: corrected; dashed: uncorrected".to_owned(), "#333"));
    }
    let ticks = [("0%", 0.0), ("90%", 0.9), ("99%", 0.99), ("99.9%", 0.999), ("99.99%", 0.9999), ("max", 1.0)]
        .into_iter()
        .map(|(l, q)| (qx(q), l.to_owned()))
        .collect();
    Plot {
        aria: "latency by percentile".into(),
        x: XAxis::Fixed { min: 0.0, max: 5.0, ticks },
        x_label: "percentile".into(),
        y_label: "latency (ms)".into(),
        lines,
        shaded: Vec::new(),
        notes,
    }
    .render()
}

/// Saturated seconds, shaded in every plot over time.
fn saturated_spans(run: &LoadResult) -> (Vec<Span>, Vec<(String, &'static str)>) {
    let spans: Vec<Span> = run
        .metrics
        .timeline
        .iter()
        .enumerate()
        .filter(|(_, t)| crate::load::saturation::saturated(t))
        .map(|(i, t)| Span {
            from: i as f64,
            to: i as f64 + 1.0,
            title: format!(
                "{i}s: harness saturated (dropped {}, timer lag up to {:.0} ms)",
                t.dropped,
                t.max_lag_us as f64 / 1e3
            ),
        })
        .collect();
    let notes = if spans.is_empty() {
        Vec::new()
    } else {
        vec![(format!("harness saturated ({} s shaded)", spans.len()), "#ff7f0e")]
    };
    (spans, notes)
}

fn over_time(
    run: &LoadResult,
    aria: &str,
    y_label: &str,
    lines: Vec<Line>,
    mut notes: Vec<(String, &'static str)>,
) -> String {
    let (shaded, saturated) = saturated_spans(run);
    notes.extend(saturated);
    let secs = run.metrics.timeline.len().max(run.metrics.seconds.len()).max(1) as f64;
    Plot {
        aria: aria.into(),
        x: XAxis::Linear { min: 0.0, max: secs, unit: "s" },
        x_label: "time since the load started".into(),
        y_label: y_label.into(),
        lines,
        shaded,
        notes,
    }
    .render()
}

fn per_second(values: impl Iterator<Item = Option<f64>>) -> Vec<(f64, f64)> {
    values.enumerate().filter_map(|(i, v)| v.map(|v| (i as f64 + 0.5, v))).collect()
}

fn latency_plot(run: &LoadResult) -> String {
    let s = &run.metrics.seconds;
    let at = |h: &Histogram<u32>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    let figure = |q: f64, corrected: bool| {
        per_second(s.iter().map(|l| {
            let h = if corrected { l.corrected.as_ref()? } else { &l.uncorrected };
            (!h.is_empty()).then(|| at(h, q))
        }))
    };
    let open = s.iter().any(|l| l.corrected.is_some());
    let mut lines = Vec::new();
    for (q, label, colour) in [(0.99, "p99", COLOURS[1]), (0.5, "p50", COLOURS[0])] {
        if open {
            lines.push(Line { label: format!("{label} corrected"), colour, dashed: false, points: figure(q, true) });
        }
        lines.push(Line { label: format!("{label} uncorrected"), colour, dashed: open, points: figure(q, false) });
    }
    let notes = vec![("every latency but whole chats".to_owned(), "#555")];
    over_time(run, "latency over time", "latency (ms)", lines, notes)
}

fn active_plot(run: &LoadResult) -> String {
    let what = if run.journey == "chat" { "chats in flight" } else { "requests in flight" };
    let points = per_second(run.metrics.timeline.iter().map(|t| Some(t.active as f64)));
    let lines = vec![Line { label: what.into(), colour: COLOURS[2], dashed: false, points }];
    let notes = vec![(format!("peak {}", run.peak_active), "#555")];
    over_time(run, "active over time", what, lines, notes)
}

fn throughput_plot(run: &LoadResult) -> String {
    let t = &run.metrics.timeline;
    let mut lines = vec![
        Line {
            label: "ops/s".into(),
            colour: COLOURS[0],
            dashed: false,
            points: per_second(t.iter().map(|s| Some(s.ops as f64))),
        },
        Line {
            label: "errors/s".into(),
            colour: COLOURS[1],
            dashed: false,
            points: per_second(t.iter().map(|s| Some(s.errors as f64))),
        },
    ];
    if t.iter().any(|s| s.dropped > 0) {
        lines.push(Line {
            label: "dropped/s".into(),
            colour: COLOURS[3],
            dashed: true,
            points: per_second(t.iter().map(|s| Some(s.dropped as f64))),
        });
    }
    over_time(run, "throughput over time", "per second", lines, Vec::new())
}

pub fn write(run: &LoadResult, out: &mut dyn Write) -> std::io::Result<()> {
    let c = &run.metrics.counts;
    let mark = super::mark(run);
    let colour = match mark {
        "PASS" => "#2ca02c",
        "INTERRUPTED" | "SATURATED" => "#ff7f0e",
        _ => "#d62728",
    };
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chatprobe load: {name}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:60em}}svg{{display:block;max-width:100%;height:auto}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}th:first-child,td:first-child{{text-align:left}}\
         .verdict{{color:#fff;background:{colour};padding:.1em .5em;border-radius:.3em}}</style></head><body>\
         <h1>chatprobe load: {name} <span class=\"verdict\">{mark}</span></h1>\
         <p>Target {target}{emb} · {model} model · {journey} journey · {workers} workers · {secs:.1} s</p>\
         <table><tr><th>ops</th><th>ops/s</th><th>errors</th><th>error rate</th><th>violations</th><th>dropped</th><th>late</th><th>peak active</th></tr>\
         <tr><td>{ops}</td><td>{rate:.1}</td><td>{errors}</td><td>{erate:.3}%</td><td>{viol}</td><td>{dropped}</td><td>{late}</td><td>{peak}</td></tr></table>",
        name = esc(&run.name),
        target = esc(&run.target),
        emb = if run.embedded_simulator { " (embedded simulator)" } else { "" },
        model = run.model,
        journey = run.journey,
        workers = run.workers,
        secs = run.elapsed.as_secs_f64(),
        ops = c.ops,
        rate = run.ops_per_sec(),
        errors = c.errors,
        erate = run.error_rate() * 100.0,
        viol = c.violations,
        dropped = c.dropped,
        late = c.late,
        peak = run.peak_active,
    );
    let sharding = &run.sharding;
    let start = sharding.start_at.as_deref().map(|s| format!(", started at {}", esc(s))).unwrap_or_default();
    if !sharding.merged.is_empty() {
        let _ = write!(
            page,
            "<p>Merged from {} shards of plan <code>{}</code>{start}; peaks are sums of the shards' peaks.</p>",
            sharding.merged.len(),
            esc(&sharding.plan_hash)
        );
    } else if sharding.shard.1 > 1 {
        let _ = write!(
            page,
            "<p>Shard {} of {} (plan <code>{}</code>{start}): one share of a load; <code>chatprobe merge</code> judges the whole.</p>",
            sharding.shard.0,
            sharding.shard.1,
            esc(&sharding.plan_hash)
        );
    }
    if let Some(sat) = &run.saturation {
        let allowed = if run.allow_saturation { " (allowed by --allow-saturation)" } else { "" };
        let seconds: Vec<String> = sat.seconds.iter().take(60).map(|s| format!("{s}s")).collect();
        let more = if sat.seconds.len() > 60 { format!(" and {} more", sat.seconds.len() - 60) } else { String::new() };
        let _ = write!(
            page,
            "<p><b>{}</b>{allowed}</p><p>Saturated seconds: {}{more}</p>",
            esc(&sat.reason),
            seconds.join(", ")
        );
    }
    if run.interrupted {
        page.push_str("<p><b>Interrupted by a signal: the figures cover the run until then.</b></p>");
    }
    if !run.thresholds.is_empty() {
        page.push_str("<h2>Thresholds</h2><table><tr><th>threshold</th><th>observed</th><th>result</th></tr>");
        for t in &run.thresholds {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&t.rule),
                esc(&t.observed),
                if t.passed { "pass" } else { "<b>FAIL</b>" }
            );
        }
        page.push_str("</table>");
    }
    let note = if run.model == "open" { " (corrected for coordinated omission, uncorrected dashed)" } else { "" };
    let _ = write!(page, "<h2>Latency by percentile{note}</h2>{}", percentile_plot(run));
    let _ = write!(page, "<h2>Latency over time (p50 and p99 per second)</h2>{}", latency_plot(run));
    let _ = write!(page, "<h2>Throughput over time</h2>{}", throughput_plot(run));
    let _ = write!(page, "<h2>Active over time</h2>{}", active_plot(run));
    if let Some(b) = &run.baseline {
        let _ = write!(page, "<h2>Baseline {} (max regression {:.1}%)</h2>", esc(&b.file), b.max_regression_pct);
        let insufficient = b.insufficient();
        if insufficient > 0 {
            let _ =
                write!(page, "<p>{insufficient} figure(s) had too few samples to compare (never a regression).</p>");
        }
        page.push_str("<table><tr><th>metric</th><th>baseline</th><th>current</th><th>change</th><th>common change</th><th>beyond it, 99% lower bound</th><th>samples</th><th>result</th></tr>");
        for cmp in &b.comparisons {
            let c = super::baseline_cells(cmp);
            let result = match cmp.status {
                Status::Pass => "pass",
                Status::Regression => "<b>REGRESSION</b>",
                Status::InsufficientSamples => "insufficient samples",
            };
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{result}</td></tr>",
                esc(&cmp.metric),
                c.baseline,
                c.current,
                c.change,
                c.common,
                c.low,
                c.samples
            );
        }
        page.push_str("</table>");
    }
    page.push_str("<h2>Latencies (ms)</h2><table><tr><th>metric</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>p99 uncorrected</th></tr>");
    for (name, s) in ordered(run).into_iter().filter(|(n, _)| is_latency(n)) {
        let t = summary(s.trusted());
        let u = summary(&s.uncorrected);
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            t.count,
            ms(t.p50 as f64),
            ms(t.p90 as f64),
            ms(t.p99 as f64),
            ms(t.p999 as f64),
            ms(t.max as f64),
            ms(u.p99 as f64)
        );
    }
    page.push_str("</table>");
    if !run.metrics.violations.is_empty() {
        page.push_str("<h2>Violations by rule</h2><table><tr><th>rule</th><th>count</th></tr>");
        for (rule, n) in &run.metrics.violations {
            let _ = write!(page, "<tr><td><code>{}</code></td><td>{n}</td></tr>", esc(rule));
        }
        page.push_str("</table><ul>");
        for s in &run.metrics.violation_samples {
            let _ = write!(page, "<li>{}</li>", esc(s));
        }
        page.push_str("</ul>");
    }
    if !run.metrics.error_samples.is_empty() {
        page.push_str("<h2>First errors</h2><ul>");
        for s in &run.metrics.error_samples {
            let _ = write!(page, "<li>{}</li>", esc(s));
        }
        page.push_str("</ul>");
    }
    page.push_str("</body></html>\n");
    out.write_all(page.as_bytes())
}
