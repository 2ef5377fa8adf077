//! Thresholds that gate a load run: `p99(Accept) < 200ms`, `p99(notification) < 100ms`,
//! `error_rate < 0.1%`, `violations == 0`, `upload_mbps > 100`, ... Parsed from the load file
//! or `--threshold`, evaluated on the finished run. A threshold on a latency nothing measured
//! fails: a gate that passes on missing data hides a broken run.

use std::fmt;

use super::result::LoadResult;

/// The grammar, for diagnostics.
pub const SYNTAX: &str = "expected METRIC OP VALUE: METRIC is pNN(name), mean(name), max(name), error_rate, \
     violations, violations(rule.id), dropped, upload_mbps or ops_per_sec; OP is <, <=, >, >=, == or !=; \
     VALUE is a number with an optional unit (us, ms, s, %)";

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A quantile (0..=1) of a latency, in microseconds.
    Quantile(f64, String),
    Mean(String),
    Max(String),
    ErrorRate,
    Violations(Option<String>),
    Dropped,
    UploadMbps,
    OpsPerSec,
}

impl Metric {
    /// The latency a metric reads, if it reads one.
    pub fn latency(&self) -> Option<&str> {
        match self {
            Metric::Quantile(_, name) | Metric::Mean(name) | Metric::Max(name) => Some(name),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

/// A parsed threshold. `value` is in the metric's base unit: microseconds for latencies, a
/// fraction for rates, a count otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    pub metric: Metric,
    pub cmp: Cmp,
    pub value: f64,
}

/// A threshold's verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThresholdResult {
    pub rule: String,
    /// The observed value in the rule's unit, or why there is none.
    pub observed: String,
    pub passed: bool,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The error rate above which a run fails when no threshold names `error_rate`.
pub const DEFAULT_ERROR_RATE: &str = "error_rate <= 1%";

/// The thresholds with the default gates added: `error_rate <= 1%` unless one names the error
/// rate. (Contract violations are gated in the outcome, exit 1, unless one names violations.)
pub fn with_default_gates(list: &[Threshold]) -> Vec<Threshold> {
    let mut all = list.to_vec();
    if !list.iter().any(|t| t.metric == Metric::ErrorRate)
        && let Ok(mut t) = parse(DEFAULT_ERROR_RATE)
    {
        t.text = format!("{DEFAULT_ERROR_RATE} (default)");
        all.push(t);
    }
    all
}

pub fn parse(text: &str) -> Result<Threshold, String> {
    let t = text.trim();
    let ops = [("<=", Cmp::Le), (">=", Cmp::Ge), ("==", Cmp::Eq), ("!=", Cmp::Ne), ("<", Cmp::Lt), (">", Cmp::Gt)];
    let (at, op, cmp) = ops
        .iter()
        .filter_map(|(s, c)| t.find(s).map(|i| (i, *s, *c)))
        .min_by_key(|(i, s, _)| (*i, usize::MAX - s.len()))
        .ok_or("no comparison operator")?;
    let (lhs, rhs) = (t[..at].trim(), t[at + op.len()..].trim());
    if rhs.starts_with(['<', '>', '=']) {
        return Err(format!("`{op}{}` is not an operator", &rhs[..1]));
    }
    let metric = metric(lhs)?;
    let latency = matches!(metric, Metric::Quantile(..) | Metric::Mean(_) | Metric::Max(_));
    let rate = matches!(metric, Metric::ErrorRate);
    let value = value(rhs, latency, rate)?;
    Ok(Threshold { text: t.to_owned(), metric, cmp, value })
}

fn metric(s: &str) -> Result<Metric, String> {
    let call = |s: &str| -> Option<(String, String)> {
        let (f, rest) = s.split_once('(')?;
        let arg = rest.strip_suffix(')')?.trim();
        (!arg.is_empty()).then(|| (f.trim().to_owned(), arg.to_owned()))
    };
    match s {
        "error_rate" => return Ok(Metric::ErrorRate),
        "violations" => return Ok(Metric::Violations(None)),
        "dropped" => return Ok(Metric::Dropped),
        "upload_mbps" => return Ok(Metric::UploadMbps),
        "ops_per_sec" | "rps" => return Ok(Metric::OpsPerSec),
        _ => {}
    }
    let Some((f, arg)) = call(s) else { return Err(format!("unknown metric `{s}`")) };
    match f.as_str() {
        "mean" => Ok(Metric::Mean(arg)),
        "max" => Ok(Metric::Max(arg)),
        "violations" => Ok(Metric::Violations(Some(arg))),
        p if p.starts_with('p') => {
            let n: f64 = p[1..].parse().map_err(|_| format!("`{p}` is not a percentile such as p99 or p99.9"))?;
            if !(0.0..=100.0).contains(&n) {
                return Err(format!("percentile {n} is outside 0..100"));
            }
            Ok(Metric::Quantile(n / 100.0, arg))
        }
        other => Err(format!("unknown function `{other}`")),
    }
}

fn value(s: &str, latency: bool, rate: bool) -> Result<f64, String> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(s.len());
    let n: f64 = s[..split].parse().map_err(|_| format!("`{s}` is not a number"))?;
    let unit = s[split..].trim();
    let scaled = match (unit, latency) {
        ("us" | "µs", true) => n,
        ("ms" | "", true) => n * 1e3,
        ("s", true) => n * 1e6,
        ("%", false) if rate => n / 100.0,
        ("", false) => n,
        (u, _) => return Err(format!("unit `{u}` does not fit this metric")),
    };
    Ok(scaled)
}

/// Evaluate every threshold on a finished run.
pub fn evaluate(list: &[Threshold], run: &LoadResult) -> Vec<ThresholdResult> {
    list.iter()
        .map(|t| {
            let (observed, shown) = observe(&t.metric, run);
            let passed = observed.is_some_and(|v| t.cmp.holds(v, t.value));
            ThresholdResult { rule: t.text.clone(), observed: shown, passed }
        })
        .collect()
}

/// The observed value in the threshold's base unit, and how to show it.
fn observe(metric: &Metric, run: &LoadResult) -> (Option<f64>, String) {
    let m = &run.metrics;
    let latency = |name: &str, f: &dyn Fn(&hdrhistogram::Histogram<u64>) -> f64| match m.series.get(name) {
        Some(s) if !s.uncorrected.is_empty() => {
            let v = f(s.trusted());
            (Some(v), format!("{:.3}ms", v / 1e3))
        }
        _ => (None, format!("no samples of `{name}`")),
    };
    match metric {
        Metric::Quantile(q, name) => latency(name, &|h| h.value_at_quantile(*q) as f64),
        Metric::Mean(name) => latency(name, &|h| h.mean()),
        Metric::Max(name) => latency(name, &|h| h.max() as f64),
        Metric::ErrorRate => {
            let r = run.error_rate();
            (Some(r), format!("{:.4}%", r * 100.0))
        }
        Metric::Violations(None) => (Some(m.counts.violations as f64), m.counts.violations.to_string()),
        Metric::Violations(Some(rule)) => {
            let n = m.violations.get(rule).copied().unwrap_or(0);
            (Some(n as f64), n.to_string())
        }
        Metric::Dropped => (Some(m.counts.dropped as f64), m.counts.dropped.to_string()),
        Metric::UploadMbps => match run.upload_mbps() {
            Some(v) => (Some(v), format!("{v:.1} Mbit/s")),
            None => (None, "no uploads".into()),
        },
        Metric::OpsPerSec => {
            let v = run.ops_per_sec();
            (Some(v), format!("{v:.1}/s"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples_parse() {
        let t = parse("p99(Accept) < 200ms").unwrap();
        assert_eq!(t.metric, Metric::Quantile(0.99, "Accept".into()));
        assert_eq!((t.cmp, t.value), (Cmp::Lt, 200_000.0));
        assert_eq!(parse("p99(notification) < 100ms").unwrap().value, 100_000.0);
        let e = parse("error_rate < 0.1%").unwrap();
        assert_eq!(e.metric, Metric::ErrorRate);
        assert!((e.value - 0.001).abs() < 1e-12);
        assert_eq!(parse("violations == 0").unwrap().cmp, Cmp::Eq);
        assert_eq!(parse("upload_mbps > 100").unwrap().value, 100.0);
        let Metric::Quantile(q, name) = parse("p99.9(x) <= 1s").unwrap().metric else { panic!("a quantile") };
        assert!((q - 0.999).abs() < 1e-12 && name == "x");
        assert_eq!(
            parse("violations(shape.response) == 0").unwrap().metric,
            Metric::Violations(Some("shape.response".into()))
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in ["p99(Accept)", "p99(Accept) <> 3", "p101(x) < 1ms", "latency < 3", "error_rate < 3ms", "p99() < 1"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
