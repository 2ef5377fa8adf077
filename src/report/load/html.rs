//! The HTML load report: one self-contained page (inline CSS and SVG, nothing fetched) with the
//! verdict, thresholds, a latency-percentile plot (log scale towards the tail, as HdrHistogram
//! plots are read), throughput and errors over time, and the latency table.

use std::fmt::Write as _;
use std::io::Write;

use super::{is_latency, ms, ordered, summary};
use crate::load::LoadResult;

const COLOURS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
/// Quantiles the percentile plot samples.
const QUANTILES: [f64; 12] = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0];
const W: f64 = 760.0;
const H: f64 = 300.0;
const PAD: f64 = 50.0;

fn esc(s: &str) -> String {
    crate::report::html::escape(s)
}

/// x of a quantile: log10(1 / (1 - q)), capped at 5 (the max).
fn qx(q: f64) -> f64 {
    if q >= 1.0 { 5.0 } else { (1.0 / (1.0 - q)).log10().min(5.0) }
}

fn percentile_plot(run: &LoadResult) -> String {
    // The end-to-end figures first, then operations, as many as the palette has colours.
    const FIRST: [&str; 6] =
        ["notification", "invite", "delivery:customer-to-agent", "delivery:agent-to-customer", "Accept", "Upload"];
    let mut series: Vec<_> =
        ordered(run).into_iter().filter(|(n, s)| is_latency(n) && *n != "chat" && !s.uncorrected.is_empty()).collect();
    series.sort_by_key(|(n, _)| FIRST.iter().position(|f| f == n).unwrap_or(FIRST.len()));
    series.truncate(COLOURS.len());
    let mut svg = String::new();
    let ymax = series.iter().map(|(_, s)| s.trusted().max()).max().unwrap_or(1).max(1) as f64 / 1e3;
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="latency by percentile">"#
    );
    axes(&mut svg, ymax, "latency (ms)");
    for (label, q) in [("0%", 0.0), ("90%", 0.9), ("99%", 0.99), ("99.9%", 0.999), ("99.99%", 0.9999), ("max", 1.0)] {
        let x = PAD + qx(q) / 5.0 * (W - 2.0 * PAD);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{label}</text>"#,
            H - PAD + 16.0
        );
    }
    for (i, (name, s)) in series.iter().enumerate() {
        let h = s.trusted();
        let points: Vec<String> = QUANTILES
            .iter()
            .map(|q| {
                let x = PAD + qx(*q) / 5.0 * (W - 2.0 * PAD);
                let v = if *q >= 1.0 { h.max() } else { h.value_at_quantile(*q) } as f64 / 1e3;
                let y = H - PAD - v / ymax * (H - 2.0 * PAD);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let colour = COLOURS[i % COLOURS.len()];
        let _ =
            write!(svg, r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#, points.join(" "));
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{colour}">{}</text>"#,
            PAD + 8.0,
            PAD + 14.0 * i as f64,
            esc(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn axes(svg: &mut String, ymax: f64, ylabel: &str) {
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b}" stroke="#333"/>"##,
        b = H - PAD,
        r = W - PAD
    );
    for k in 0..=4 {
        let v = ymax * k as f64 / 4.0;
        let y = H - PAD - (k as f64 / 4.0) * (H - 2.0 * PAD);
        let _ = write!(
            svg,
            r##"<line x1="{PAD}" y1="{y:.1}" x2="{r}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{v:.1}</text>"##,
            r = W - PAD,
            tx = PAD - 4.0,
            ty = y + 4.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="12" y="{:.1}" font-size="11" transform="rotate(-90 12 {:.1})">{ylabel}</text>"#,
        H / 2.0,
        H / 2.0
    );
}

fn throughput_plot(run: &LoadResult) -> String {
    let t = &run.metrics.timeline;
    let mut svg = String::new();
    let ymax = t.iter().map(|s| s.ops.max(s.errors)).max().unwrap_or(1).max(1) as f64;
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="throughput over time">"#
    );
    axes(&mut svg, ymax, "per second");
    let n = t.len().max(1) as f64;
    let step = (W - 2.0 * PAD) / n;
    // Seconds in which the harness could not keep up: shaded, their latencies are its own too.
    let mut shaded = 0;
    for (i, tick) in t.iter().enumerate().filter(|(_, tick)| crate::load::saturation::saturated(tick)) {
        let x = PAD + step * i as f64;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{PAD}" width="{step:.1}" height="{:.1}" fill="#ff7f0e" fill-opacity="0.2"><title>{i}s: harness saturated (dropped {}, timer lag up to {:.0} ms)</title></rect>"##,
            H - 2.0 * PAD,
            tick.dropped,
            tick.max_lag_us as f64 / 1e3
        );
        shaded += 1;
    }
    let line = |f: &dyn Fn(usize) -> u64| -> String {
        (0..t.len())
            .map(|i| {
                let x = PAD + step * (i as f64 + 0.5);
                let y = H - PAD - f(i) as f64 / ymax * (H - 2.0 * PAD);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ =
        write!(svg, r##"<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##, line(&|i| t[i].ops));
    let _ = write!(
        svg,
        r##"<polyline fill="none" stroke="#d62728" stroke-width="2" points="{}"/>"##,
        line(&|i| t[i].errors)
    );
    let _ = write!(svg, r##"<text x="{:.1}" y="{PAD}" font-size="11" fill="#1f77b4">ops/s</text>"##, PAD + 8.0);
    let _ = write!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#d62728">errors/s</text>"##,
        PAD + 8.0,
        PAD + 14.0
    );
    if shaded > 0 {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#ff7f0e">harness saturated ({shaded} s shaded)</text>"##,
            PAD + 8.0,
            PAD + 28.0
        );
    }
    for k in (0..t.len()).step_by((t.len() / 10).max(1)) {
        let x = PAD + step * (k as f64 + 0.5);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{k}s</text>"#,
            H - PAD + 16.0
        );
    }
    svg.push_str("</svg>");
    svg
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
         <style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;margin:1em 0}}\
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
    if let Some(b) = &run.baseline {
        let _ = write!(
            page,
            "<h2>Baseline {} (max regression {:.1}%)</h2><table><tr><th>metric</th><th>baseline</th><th>current</th><th>change</th><th>result</th></tr>",
            esc(&b.file),
            b.max_regression_pct
        );
        for cmp in &b.comparisons {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:+.1}%</td><td>{}</td></tr>",
                esc(&cmp.metric),
                cmp.baseline,
                cmp.current,
                cmp.change_pct,
                if cmp.passed { "pass" } else { "<b>REGRESSION</b>" }
            );
        }
        page.push_str("</table>");
    }
    let note = if run.model == "open" { " (corrected for coordinated omission)" } else { "" };
    let _ = write!(page, "<h2>Latency by percentile{note}</h2>{}", percentile_plot(run));
    let _ = write!(page, "<h2>Throughput over time</h2>{}", throughput_plot(run));
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
