//! Reports of a load run: JSON (with every histogram serialized, so reports from several
//! machines merge exactly), self-contained HTML with latency-percentile and throughput plots,
//! and a Markdown summary for a CI job. Each is a pure function from a `LoadResult` to a writer.

pub mod html;
pub mod json;
pub mod markdown;
pub mod merge;
pub mod svg;

use hdrhistogram::Histogram;

use crate::load::LoadResult;
use crate::load::baseline::Comparison;
use crate::load::metrics::Series;

/// Version of the JSON load report's shape (`schemas/chatprobe/load-report.schema.json`).
pub const LOAD_REPORT_VERSION: u32 = 1;

/// The usual figures of one histogram, in its unit (microseconds for latencies).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Summary {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

pub fn summary(h: &Histogram<u64>) -> Summary {
    Summary {
        count: h.len(),
        min: h.min(),
        mean: h.mean(),
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    }
}

/// Series in reading order: operations first (alphabetically), then the derived latencies.
pub fn ordered(run: &LoadResult) -> Vec<(&str, &Series)> {
    let mut all: Vec<(&str, &Series)> = run.metrics.series.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let rank = |name: &str| match name {
        n if n.starts_with("notification") => 2,
        n if n.starts_with("delivery") || n == "invite" => 1,
        "chat" => 3,
        n if n.contains("throughput") => 4,
        _ => 0,
    };
    all.sort_by(|a, b| (rank(a.0), a.0).cmp(&(rank(b.0), b.0)));
    all
}

/// Whether a series holds latencies (microseconds) rather than another quantity.
pub fn is_latency(name: &str) -> bool {
    !name.contains("throughput")
}

/// Microseconds as milliseconds for people.
pub fn ms(us: f64) -> String {
    if us >= 100_000.0 { format!("{:.0}", us / 1e3) } else { format!("{:.2}", us / 1e3) }
}

/// The cells of one baseline comparison, as people read them.
pub struct BaselineCells {
    pub baseline: String,
    pub current: String,
    pub change: String,
    pub common: String,
    pub low: String,
    pub samples: String,
}

pub fn baseline_cells(cmp: &Comparison) -> BaselineCells {
    let value = |v: f64| {
        if cmp.samples.is_some() {
            format!("{} ms", ms(v))
        } else if cmp.metric.ends_with("(all latencies)") {
            format!("x{v:.2}")
        } else {
            format!("{v:.1}")
        }
    };
    BaselineCells {
        baseline: value(cmp.baseline),
        current: value(cmp.current),
        change: format!("{:+.1}%", cmp.change_pct),
        common: cmp.common_pct.map_or_else(|| "-".to_owned(), |c| format!("{c:+.1}%")),
        low: cmp.change_low_pct.map_or_else(|| "-".to_owned(), |l| format!("{l:+.1}%")),
        samples: cmp.samples.map_or_else(|| "-".to_owned(), |[b, c]| format!("{b} / {c}")),
    }
}

/// The outcome's name: "pass", "threshold-breached", "regression", "interrupted"...
pub fn verdict(run: &LoadResult) -> &'static str {
    run.verdict()
}

/// The verdict as a banner word.
pub fn mark(run: &LoadResult) -> &'static str {
    match run.verdict() {
        "pass" => "PASS",
        "interrupted" => "INTERRUPTED",
        "saturated" => "SATURATED",
        _ => "FAIL",
    }
}
