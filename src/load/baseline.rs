//! Baseline comparison: the run against an earlier JSON load report. A latency whose p99 grew by
//! more than the allowed share, or a throughput that fell by more than it, is a regression and
//! fails the run like a breached threshold.

use serde_json::Value;

use super::result::LoadResult;

/// What `--baseline` and `--max-regression` ask for.
#[derive(Debug, Clone)]
pub struct BaselineSpec {
    pub file: String,
    pub report: Value,
    /// Allowed growth, as a fraction (0.10 = 10 %).
    pub max_regression: f64,
    /// Latency growth smaller than this (microseconds) is never a regression.
    pub floor_us: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    pub metric: String,
    pub baseline: f64,
    pub current: f64,
    /// (current - baseline) / baseline, in percent; positive is worse for latencies.
    pub change_pct: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaselineReport {
    pub file: String,
    pub max_regression_pct: f64,
    pub comparisons: Vec<Comparison>,
    pub passed: bool,
}

/// Compare `run` with the baseline report.
pub fn compare(run: &LoadResult, spec: &BaselineSpec) -> BaselineReport {
    let mut comparisons = Vec::new();
    let metrics = spec.report.get("metrics").and_then(Value::as_object);
    let mut names: Vec<&String> = run.metrics.series.keys().collect();
    names.sort();
    for name in names {
        let series = &run.metrics.series[name];
        if series.uncorrected.is_empty() {
            continue;
        }
        let Some(base) = metrics.and_then(|m| m.get(name.as_str())) else { continue };
        // Compare like with like: corrected when both runs measured it.
        let (figure, current) = match (&series.corrected, base.get("corrected").filter(|c| !c.is_null())) {
            (Some(c), Some(b)) => (b, c.value_at_quantile(0.99) as f64),
            _ => (base.get("uncorrected").unwrap_or(&Value::Null), series.uncorrected.value_at_quantile(0.99) as f64),
        };
        let Some(baseline) = figure.get("p99").and_then(Value::as_f64) else { continue };
        let change = relative(current, baseline);
        let passed = current <= baseline * (1.0 + spec.max_regression) || current - baseline <= spec.floor_us;
        comparisons.push(Comparison { metric: format!("p99({name})"), baseline, current, change_pct: change, passed });
    }
    if let Some(baseline) = spec.report.get("ops_per_sec").and_then(Value::as_f64).filter(|b| *b > 0.0) {
        let current = run.ops_per_sec();
        let passed = current >= baseline * (1.0 - spec.max_regression);
        comparisons.push(Comparison {
            metric: "ops_per_sec".into(),
            baseline,
            current,
            change_pct: relative(current, baseline),
            passed,
        });
    }
    let passed = comparisons.iter().all(|c| c.passed);
    BaselineReport { file: spec.file.clone(), max_regression_pct: spec.max_regression * 100.0, comparisons, passed }
}

fn relative(current: f64, baseline: f64) -> f64 {
    if baseline == 0.0 { 0.0 } else { (current - baseline) / baseline * 100.0 }
}

/// `10%`, `0.1` or `10` (percent when above 1) as a fraction.
pub fn parse_regression(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a share such as 10%"))?;
    let f = if pct || n > 1.0 { n / 100.0 } else { n };
    if !(0.0..=100.0).contains(&f) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_shares() {
        assert_eq!(parse_regression("10%").unwrap(), 0.1);
        assert_eq!(parse_regression("0.25").unwrap(), 0.25);
        assert_eq!(parse_regression("5").unwrap(), 0.05);
        assert!(parse_regression("lots").is_err());
    }
}
