//! Baseline comparison: the run against an earlier JSON load report, made to hold on a noisy
//! machine.
//!
//! Each latency is compared at p50, p90 and p99, from the HdrHistograms both reports carry. The
//! uncorrected figure is compared (from the actual send to the answer): the corrected one adds
//! the harness's own wait for its schedule, which is its noise, not the server's, and a harness
//! that fell behind its schedule fails the run on its own (exit 3).
//!
//! - **Enough samples.** A percentile needs at least `MIN_SAMPLES` on both sides, and
//!   `TAIL_SAMPLES` beyond it (p90 needs 100, p99 needs 1,000). With fewer it is reported as
//!   "insufficient samples", never as a regression.
//! - **The machine's share.** A busier machine slows every latency together. The change common to
//!   all of them (the median of their changes, whole chats aside, once at least
//!   `MIN_SERIES_FOR_COMMON` latencies have enough samples) is taken out before each one is
//!   judged, and is reported on its own line, failing the run only beyond `COMMON_ALLOWANCE`
//!   times the allowed share. A percentile too few latencies reach takes the share measured at
//!   the percentile below it. It works both ways: against a baseline taken on a busier machine,
//!   a latency that kept its pace while the others sped up has regressed against them. How far
//!   the latencies' changes stray from it (their median absolute deviation, as a standard
//!   deviation) is the run-to-run noise of one latency on this machine: a regression must also
//!   stand more than `OUTLIER_SPREADS` of these beyond the common change.
//!   Whole chats are not compared: they last as long as the load file's think times say. Nor is
//!   the delivery to a polling customer: it waits for the customer's next poll, so the load
//!   file's poll interval sets it and it does not follow the machine (the server's part of it
//!   is `CustomerGetMessages`).
//! - **Sampling noise.** A percentile regresses only when, beyond the common change, it grew by
//!   more than `--max-regression`, by more than `--regression-floor`, and by more than sampling
//!   noise explains: the one-sided lower confidence bound of the ratio, bootstrapped from both
//!   histograms, is above 1. A run compares many percentiles at once, and at 99 % each, one of
//!   twenty would fail an identical re-run one time in five; so the 1 % is shared among the
//!   percentiles compared (Bonferroni): with 21 of them, each bound is at 99.95 %.
//!
//! The bootstrap draws the percentile of a resample directly: the k-th smallest of n values drawn
//! with replacement from a histogram is the histogram's value at a quantile distributed as
//! Beta(k, n + 1 - k). It is seeded, so the same two reports always give the same verdict.
//! Throughput (operations per second) regresses when it fell by more than the allowed share.

use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::metrics::names;
use super::result::LoadResult;

/// Fewest samples a compared percentile needs on each side.
pub const MIN_SAMPLES: u64 = 20;
/// Fewest samples each side needs beyond a compared percentile (above p99: 1 %).
pub const TAIL_SAMPLES: f64 = 10.0;
/// The percentiles compared.
pub const QUANTILES: [(f64, &str); 3] = [(0.50, "p50"), (0.90, "p90"), (0.99, "p99")];
/// Fewest bootstrap resamples per comparison; more when the bound is further out, so that at
/// least `TAIL_RESAMPLES` fall below it.
const RESAMPLES: usize = 2000;
const TAIL_RESAMPLES: f64 = 10.0;
/// One-sided confidence of the lower bounds, shared among the percentiles compared.
const CONFIDENCE: f64 = 0.99;
/// Fewest latencies with enough samples for their median change to stand for the machine.
pub const MIN_SERIES_FOR_COMMON: usize = 3;
/// The change common to every latency fails the run beyond this many times the allowed share (at
/// the default 10 %: every latency twice as slow). Identical re-runs on a shared two-core machine
/// moved every latency together by up to +53 % (scripts/bench/baseline-stability.sh): below
/// that, one run cannot tell a server slower across the board from a busier machine.
pub const COMMON_ALLOWANCE: f64 = 10.0;
/// A latency regresses only when its change beyond the common one is this many spreads out.
pub const OUTLIER_SPREADS: f64 = 1.0;

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

impl BaselineSpec {
    /// `--baseline PATH` with `--max-regression` and `--regression-floor` as given, for `load`
    /// and `merge` alike; the error names the flag and what is wrong.
    pub fn read(path: &std::path::Path, max_regression: &str, floor: &str) -> Result<BaselineSpec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--baseline {}: {e}", path.display()))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| format!("--baseline {}: {e}", path.display()))?;
        if report.get("kind").and_then(Value::as_str) != Some("load") {
            return Err(format!("--baseline {}: not a chatprobe load report", path.display()));
        }
        let max_regression = parse_regression(max_regression).map_err(|e| format!("--max-regression: {e}"))?;
        let floor = crate::scenario::parse::parse_duration(floor).map_err(|e| format!("--regression-floor: {e}"))?;
        Ok(BaselineSpec {
            file: path.display().to_string(),
            report,
            max_regression,
            floor_us: floor.as_secs_f64() * 1e6,
        })
    }
}

/// The verdict on one compared figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Regression,
    /// Too few samples on one side for this percentile: not compared.
    InsufficientSamples,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    pub metric: String,
    pub baseline: f64,
    pub current: f64,
    /// (current - baseline) / baseline, in percent; positive is worse for latencies.
    pub change_pct: f64,
    /// False only for a regression.
    pub passed: bool,
    pub status: Status,
    /// Samples behind the baseline's and the current figure (latencies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<[u64; 2]>,
    /// The one-sided lower confidence bound of the change beyond the common one, in percent
    /// (latencies compared), at 99 % shared among the percentiles compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_low_pct: Option<f64>,
    /// The change every latency shared at this percentile (their median), which this one was
    /// judged against, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_pct: Option<f64>,
    /// How far the latencies' changes stray from the common one (a robust standard deviation of
    /// their log ratios), in percent: a regression must stand `OUTLIER_SPREADS` of these beyond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_pct: Option<f64>,
}

impl Comparison {
    /// A figure judged on its own (no samples or bounds): passed or a regression.
    fn figure(metric: String, baseline: f64, current: f64, passed: bool) -> Comparison {
        Comparison {
            metric,
            baseline,
            current,
            change_pct: relative(current, baseline),
            passed,
            status: if passed { Status::Pass } else { Status::Regression },
            samples: None,
            change_low_pct: None,
            common_pct: None,
            spread_pct: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BaselineReport {
    pub file: String,
    pub max_regression_pct: f64,
    pub comparisons: Vec<Comparison>,
    pub passed: bool,
}

impl BaselineReport {
    /// How many figures were left out for too few samples.
    pub fn insufficient(&self) -> usize {
        self.comparisons.iter().filter(|c| c.status == Status::InsufficientSamples).count()
    }
}

/// The histogram of a report's `hdr` field (V2 serialization, base64).
pub fn decode(text: &str) -> Option<Histogram<u64>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    hdrhistogram::serialization::Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}

/// Compare `run` with the baseline report.
pub fn compare(run: &LoadResult, spec: &BaselineSpec) -> BaselineReport {
    let metrics = spec.report.get("metrics").and_then(Value::as_object);
    let mut names: Vec<&String> = run.metrics.series.keys().filter(|n| compared(n)).collect();
    names.sort();
    let mut pairs = Vec::new();
    for name in names {
        let now = &run.metrics.series[name].uncorrected;
        let before = metrics
            .and_then(|m| m.get(name.as_str()))
            .and_then(|b| b.get("uncorrected"))
            .and_then(|u| u.get("hdr"))
            .and_then(Value::as_str)
            .and_then(decode);
        // A report without histograms cannot be compared.
        if let Some(before) = before {
            pairs.push((name.as_str(), before, now));
        }
    }
    let mut comparisons = latencies(&pairs, spec);
    if let Some(baseline) = spec.report.get("ops_per_sec").and_then(Value::as_f64).filter(|b| *b > 0.0) {
        let current = run.ops_per_sec();
        let passed = current >= baseline * (1.0 - spec.max_regression);
        comparisons.push(Comparison::figure("ops_per_sec".into(), baseline, current, passed));
    }
    let passed = comparisons.iter().all(|c| c.passed);
    BaselineReport { file: spec.file.clone(), max_regression_pct: spec.max_regression * 100.0, comparisons, passed }
}

/// Whether the gate compares this series. Not throughput, not a whole chat (it lasts as long as
/// the load file's think times say), and not the delivery to a polling customer (the load file's
/// poll interval sets it, not the server).
pub fn compared(name: &str) -> bool {
    !name.contains("throughput") && name != names::CHAT && name != names::DELIVERY_AGENT_TO_CUSTOMER
}

/// Every latency at every compared percentile, each judged against the change common to all of
/// them; then the common change itself.
pub fn latencies(pairs: &[(&str, Histogram<u64>, &Histogram<u64>)], spec: &BaselineSpec) -> Vec<Comparison> {
    let mut out = Vec::new();
    let mut commons = Vec::new();
    // How many percentiles are compared: the share of the confidence each bound gets.
    let compared = QUANTILES.iter().map(|&(q, _)| reaching(pairs, q).count()).sum::<usize>().max(1);
    // The machine's share and spread last measured, for a percentile too few latencies reach.
    let mut below = (0.0, 0.0);
    for (q, label) in QUANTILES {
        let changes: Vec<f64> = reaching(pairs, q)
            .map(|(_, b, c)| (c.value_at_quantile(q).max(1) as f64 / b.value_at_quantile(q).max(1) as f64).ln())
            .collect();
        let measured = (changes.len() >= MIN_SERIES_FOR_COMMON).then(|| {
            let common = median(changes.clone());
            // The median absolute deviation, scaled to a standard deviation.
            (common, 1.4826 * median(changes.iter().map(|e| (e - common).abs()).collect()))
        });
        // Too few latencies reach this percentile (p99 wants 1,000 samples each): the machine's
        // share measured at the percentile below stands for it, as a busier machine stretches a
        // tail at least as much as the middle.
        let (common, spread) = measured.unwrap_or(below);
        below = (common, spread);
        let shared = Shared { factor: common.exp(), spread, compared };
        for (name, before, now) in pairs {
            out.push(quantile(&format!("{label}({name})"), before, now, q, shared, spec));
        }
        if measured.is_some() {
            commons.push((label, common.exp()));
        }
    }
    for (label, factor) in commons {
        let limit = 1.0 + COMMON_ALLOWANCE * spec.max_regression;
        out.push(Comparison::figure(format!("{label}(all latencies)"), 1.0, factor, factor <= limit));
    }
    out
}

/// The pairs with enough samples on both sides for quantile `q`.
fn reaching<'p, 'h>(
    pairs: &'p [(&str, Histogram<u64>, &'h Histogram<u64>)],
    q: f64,
) -> impl Iterator<Item = &'p (&'p str, Histogram<u64>, &'h Histogram<u64>)> {
    let needed = samples_needed(q);
    pairs.iter().filter(move |(_, b, c)| b.len() >= needed && c.len() >= needed)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Fewest samples a side needs for quantile `q`.
pub fn samples_needed(q: f64) -> u64 {
    // Less a hair, so that 10 / (1 - 0.9) = 100.00000000000001 needs 100.
    ((TAIL_SAMPLES / (1.0 - q) - 1e-6).ceil() as u64).max(MIN_SAMPLES)
}

/// What every latency's change shares at one percentile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shared {
    /// Their median current / baseline ratio.
    pub factor: f64,
    /// How far a latency's log ratio strays from the median's, as a robust standard deviation.
    pub spread: f64,
    /// How many percentiles the run compares, each bound at 1 - (1 - CONFIDENCE) / compared.
    pub compared: usize,
}

impl Shared {
    /// Nothing shared: a latency is judged on its own.
    pub const NONE: Shared = Shared { factor: 1.0, spread: 0.0, compared: 1 };
}

/// One percentile of one latency, baseline against current, judged after dividing the current
/// figure by what every latency's change shares.
pub fn quantile(
    metric: &str,
    before: &Histogram<u64>,
    now: &Histogram<u64>,
    q: f64,
    shared: Shared,
    spec: &BaselineSpec,
) -> Comparison {
    let common = shared.factor;
    let baseline = before.value_at_quantile(q) as f64;
    let current = now.value_at_quantile(q) as f64;
    let samples = Some([before.len(), now.len()]);
    let mut cmp = Comparison {
        metric: metric.to_owned(),
        baseline,
        current,
        change_pct: relative(current, baseline),
        passed: true,
        status: Status::Pass,
        samples,
        change_low_pct: None,
        common_pct: (shared.factor != 1.0).then_some((shared.factor - 1.0) * 100.0),
        spread_pct: (shared.spread > 0.0).then_some(shared.spread * 100.0),
    };
    let needed = samples_needed(q);
    if before.len() < needed || now.len() < needed {
        cmp.status = Status::InsufficientSamples;
        return cmp;
    }
    let alpha = (1.0 - CONFIDENCE) / shared.compared.max(1) as f64;
    let low = lower_bound(before, now, q, alpha, seed(metric)) / common;
    cmp.change_low_pct = Some((low - 1.0) * 100.0);
    let expected = baseline * common;
    let grew = current > expected * (1.0 + spec.max_regression);
    // An outlier among the latencies' changes, not one of the pack.
    let stands_out = (current.max(1.0) / expected.max(1.0)).ln() > OUTLIER_SPREADS * shared.spread;
    if grew && stands_out && low > 1.0 && current - expected > spec.floor_us {
        cmp.passed = false;
        cmp.status = Status::Regression;
    }
    cmp
}

fn relative(current: f64, baseline: f64) -> f64 {
    if baseline == 0.0 { 0.0 } else { (current - baseline) / baseline * 100.0 }
}

fn seed(metric: &str) -> u64 {
    // FNV-1a: stable across builds, unlike the standard library's hasher.
    metric.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A histogram as its cumulative distribution: each recorded value with the count up to it.
struct Cdf {
    steps: Vec<(u64, u64)>,
    len: u64,
}

impl Cdf {
    fn of(h: &Histogram<u64>) -> Cdf {
        let mut total = 0;
        let steps = h
            .iter_recorded()
            .map(|v| {
                total += v.count_at_value();
                (h.highest_equivalent(v.value_iterated_to()), total)
            })
            .collect();
        Cdf { steps, len: h.len() }
    }

    /// The value at quantile `u` (0..=1): the smallest with at least ceil(u·n) values up to it.
    fn at(&self, u: f64) -> u64 {
        let rank = ((u * self.len as f64).ceil() as u64).clamp(1, self.len.max(1));
        let i = self.steps.partition_point(|&(_, count)| count < rank);
        self.steps.get(i).or(self.steps.last()).map_or(0, |&(v, _)| v)
    }

    /// The quantile-`q` value of a resample of n values with replacement.
    fn resampled(&self, q: f64, rng: &mut StdRng) -> u64 {
        let n = self.len as f64;
        let k = (q * n).ceil().clamp(1.0, n);
        self.at(beta(k, n + 1.0 - k, rng))
    }
}

/// The one-sided lower confidence bound of now(q) / before(q), bootstrapped: the ratio below
/// which a share `alpha` of the resamples fall.
fn lower_bound(before: &Histogram<u64>, now: &Histogram<u64>, q: f64, alpha: f64, seed: u64) -> f64 {
    let (b, c) = (Cdf::of(before), Cdf::of(now));
    let mut rng = StdRng::seed_from_u64(seed);
    let resamples = RESAMPLES.max((TAIL_RESAMPLES / alpha).ceil() as usize);
    let mut ratios: Vec<f64> = (0..resamples)
        .map(|_| {
            let (x, y) = (b.resampled(q, &mut rng), c.resampled(q, &mut rng));
            y.max(1) as f64 / x.max(1) as f64
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[((alpha * resamples as f64) as usize).min(resamples - 1)]
}

/// A Beta(a, b) draw, as Gamma(a) / (Gamma(a) + Gamma(b)).
fn beta(a: f64, b: f64, rng: &mut StdRng) -> f64 {
    let x = gamma(a, rng);
    let y = gamma(b, rng);
    if x + y > 0.0 { x / (x + y) } else { 0.5 }
}

/// A Gamma(shape, 1) draw for shape >= 1 (Marsaglia and Tsang's method).
fn gamma(shape: f64, rng: &mut StdRng) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = normal(rng);
        let v = (1.0 + c * z).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.random();
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
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

    fn spec() -> BaselineSpec {
        BaselineSpec { file: "base.json".into(), report: Value::Null, max_regression: 0.10, floor_us: 0.0 }
    }

    /// `n` latencies around `median_us` with a long right tail, drawn with `seed`, times `scale`.
    fn sample(n: usize, median_us: f64, scale: f64, seed: u64) -> Histogram<u64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut h = crate::load::metrics::histogram();
        for _ in 0..n {
            // Log-normal with sigma 0.5: IQR about 70 % of the median, p99 about 3.2 x it.
            let v = median_us * (0.5 * normal(&mut rng)).exp() * scale;
            h.record(v.max(1.0) as u64).unwrap();
        }
        h
    }

    fn verdicts(before: &Histogram<u64>, now: &Histogram<u64>) -> Vec<Status> {
        QUANTILES.iter().map(|&(q, label)| quantile(label, before, now, q, Shared::NONE, &spec()).status).collect()
    }

    #[test]
    fn identical_distributions_pass() {
        for seed in 0..20 {
            let before = sample(2000, 500.0, 1.0, seed);
            let now = sample(2000, 500.0, 1.0, seed + 1000);
            assert!(verdicts(&before, &now).iter().all(|s| *s == Status::Pass), "seed {seed}");
        }
    }

    #[test]
    fn a_twenty_percent_slowdown_is_caught() {
        for seed in 0..20 {
            let before = sample(2000, 500.0, 1.0, seed);
            let now = sample(2000, 500.0, 1.2, seed + 1000);
            let v = verdicts(&before, &now);
            assert_eq!(v[0], Status::Regression, "p50, seed {seed}");
        }
    }

    #[test]
    fn a_slowdown_within_the_allowed_share_passes() {
        let before = sample(5000, 500.0, 1.0, 1);
        let now = sample(5000, 500.0, 1.03, 2);
        assert!(verdicts(&before, &now).iter().all(|s| *s == Status::Pass));
    }

    #[test]
    fn too_few_samples_are_insufficient_never_a_regression() {
        let before = sample(50, 500.0, 1.0, 1);
        // Five times slower, but 50 samples say nothing of p90 or p99.
        let now = sample(50, 500.0, 5.0, 2);
        assert_eq!(
            verdicts(&before, &now),
            [Status::Regression, Status::InsufficientSamples, Status::InsufficientSamples]
        );
        let few = sample(MIN_SAMPLES as usize - 1, 500.0, 5.0, 3);
        assert_eq!(verdicts(&before, &few), [Status::InsufficientSamples; 3]);
        let c = quantile("p50(x)", &before, &few, 0.5, Shared::NONE, &spec());
        assert!(c.passed && c.change_low_pct.is_none());
        assert_eq!(c.samples, Some([50, MIN_SAMPLES - 1]));
    }

    #[test]
    fn a_regression_below_the_floor_passes() {
        let before = sample(2000, 500.0, 1.0, 1);
        let now = sample(2000, 500.0, 1.5, 2);
        let floored = BaselineSpec { floor_us: 1000.0, ..spec() };
        assert_eq!(quantile("p50(x)", &before, &now, 0.5, Shared::NONE, &floored).status, Status::Pass);
        assert_eq!(quantile("p50(x)", &before, &now, 0.5, Shared::NONE, &spec()).status, Status::Regression);
    }

    #[test]
    fn a_change_common_to_every_latency_is_the_machine_not_one_operation() {
        let ops = ["Accept", "Complete", "RequestChat", "SendMessage"];
        let before: Vec<Histogram<u64>> = (0..4).map(|i| sample(5000, 500.0, 1.0, i)).collect();
        // A busier machine: everything 20 % slower. No operation regressed; the common change is
        // within `COMMON_ALLOWANCE` times the allowed share.
        let busier: Vec<Histogram<u64>> = (0..4).map(|i| sample(5000, 500.0, 1.2, 100 + i)).collect();
        let pairs: Vec<_> = ops.iter().zip(&before).zip(&busier).map(|((n, b), c)| (*n, b.clone(), c)).collect();
        let all = latencies(&pairs, &spec());
        assert!(all.iter().all(|c| c.passed), "{all:#?}");
        let common = all.iter().find(|c| c.metric == "p50(all latencies)").unwrap();
        assert!((15.0..25.0).contains(&common.change_pct), "{common:?}");
        // On top of that, Accept 20 % slower still: Accept alone regresses.
        let mut slowed = busier.clone();
        slowed[0] = sample(5000, 500.0, 1.2 * 1.2, 200);
        let pairs: Vec<_> = ops.iter().zip(&before).zip(&slowed).map(|((n, b), c)| (*n, b.clone(), c)).collect();
        let failed: Vec<String> =
            latencies(&pairs, &spec()).into_iter().filter(|c| !c.passed).map(|c| c.metric).collect();
        assert_eq!(failed, ["p50(Accept)", "p90(Accept)", "p99(Accept)"]);
        // Everything 2.5 times slower is beyond what a machine explains: the common change fails.
        let slower: Vec<Histogram<u64>> = (0..4).map(|i| sample(5000, 500.0, 2.5, 300 + i)).collect();
        let pairs: Vec<_> = ops.iter().zip(&before).zip(&slower).map(|((n, b), c)| (*n, b.clone(), c)).collect();
        let failed: Vec<String> =
            latencies(&pairs, &spec()).into_iter().filter(|c| !c.passed).map(|c| c.metric).collect();
        assert_eq!(failed, ["p50(all latencies)", "p90(all latencies)", "p99(all latencies)"]);
    }

    #[test]
    fn a_latency_that_kept_its_pace_while_the_others_sped_up_has_regressed() {
        let ops = ["Accept", "Complete", "RequestChat", "SendMessage"];
        let before: Vec<Histogram<u64>> = (0..4).map(|i| sample(5000, 500.0, 1.0, i)).collect();
        // The baseline came from a busier machine: now three latencies are 30 % faster, and
        // Accept, slowed by as much as the machine sped it up, kept its pace.
        let mut now: Vec<Histogram<u64>> = (1..4).map(|i| sample(5000, 500.0, 0.7, 100 + i)).collect();
        now.insert(0, sample(5000, 500.0, 1.0, 100));
        let pairs: Vec<_> = ops.iter().zip(&before).zip(&now).map(|((n, b), c)| (*n, b.clone(), c)).collect();
        let all = latencies(&pairs, &spec());
        let failed: Vec<&str> = all.iter().filter(|c| !c.passed).map(|c| c.metric.as_str()).collect();
        assert_eq!(failed, ["p50(Accept)", "p90(Accept)", "p99(Accept)"], "{all:#?}");
        let common = all.iter().find(|c| c.metric == "p50(all latencies)").unwrap();
        assert!((-35.0..-25.0).contains(&common.change_pct), "{common:?}");
    }

    #[test]
    fn series_the_load_file_shapes_are_not_compared() {
        assert!(compared("Accept") && compared("CustomerGetMessages") && compared("notification:Accept"));
        assert!(!compared(names::CHAT));
        assert!(!compared(names::DELIVERY_AGENT_TO_CUSTOMER), "the customer's poll interval sets it");
        assert!(compared(names::DELIVERY_CUSTOMER_TO_AGENT), "pushed over CometD: the server's");
        assert!(!compared("upload_throughput"));
    }

    #[test]
    fn the_confidence_is_shared_among_the_percentiles_compared() {
        let before = sample(400, 500.0, 1.0, 1);
        let now = sample(400, 500.0, 1.15, 2);
        let alone = quantile("p50(x)", &before, &now, 0.5, Shared::NONE, &spec());
        let among = quantile("p50(x)", &before, &now, 0.5, Shared { compared: 21, ..Shared::NONE }, &spec());
        let (alone_low, among_low) = (alone.change_low_pct.unwrap(), among.change_low_pct.unwrap());
        assert!(among_low < alone_low - 1.0, "99.95 % bound {among_low} against 99 % {alone_low}");
        // 21 figures of identical runs: none regresses, seed after seed.
        let ops = ["Accept", "Complete", "RequestChat", "SendMessage", "Upload", "Invite", "GetMessages"];
        for seed in 0..10u64 {
            let before: Vec<Histogram<u64>> = (0..7).map(|i| sample(2000, 500.0, 1.0, seed * 100 + i)).collect();
            let now: Vec<Histogram<u64>> = (0..7).map(|i| sample(2000, 500.0, 1.0, seed * 100 + 50 + i)).collect();
            let pairs: Vec<_> = ops.iter().zip(&before).zip(&now).map(|((n, b), c)| (*n, b.clone(), c)).collect();
            let failed: Vec<String> =
                latencies(&pairs, &spec()).into_iter().filter(|c| !c.passed).map(|c| c.metric).collect();
            assert!(failed.is_empty(), "seed {seed}: {failed:?}");
        }
    }

    #[test]
    fn a_percentile_few_latencies_reach_takes_the_machines_share_from_the_one_below() {
        // Three latencies with enough samples for p90 only, one with enough for p99; the machine
        // is 25 % slower for all of them, tails included.
        let ops = ["Accept", "Complete", "RequestChat", "notification"];
        let sizes = [400, 400, 400, 2000];
        let before: Vec<Histogram<u64>> = (0..4).map(|i| sample(sizes[i], 500.0, 1.0, i as u64)).collect();
        let now: Vec<Histogram<u64>> = (0..4).map(|i| sample(sizes[i], 500.0, 1.25, 100 + i as u64)).collect();
        let pairs: Vec<_> = ops.iter().zip(&before).zip(&now).map(|((n, b), c)| (*n, b.clone(), c)).collect();
        let all = latencies(&pairs, &spec());
        let p99 = all.iter().find(|c| c.metric == "p99(notification)").unwrap();
        assert_eq!(p99.status, Status::Pass, "{p99:?}");
        assert!(p99.common_pct.is_some_and(|c| c > 10.0), "judged against the p90 share: {p99:?}");
        // Judged on its own, the same p99 is a regression.
        let alone = quantile("p99(notification)", &before[3], &now[3], 0.99, Shared::NONE, &spec());
        assert_eq!(alone.status, Status::Regression, "{alone:?}");
        // Nothing is reported as a p99 share: it was not measured there.
        assert!(!all.iter().any(|c| c.metric == "p99(all latencies)"));
    }

    #[test]
    fn samples_needed_grow_with_the_percentile() {
        assert_eq!(samples_needed(0.5), MIN_SAMPLES);
        assert_eq!(samples_needed(0.9), 100);
        assert_eq!(samples_needed(0.99), 1000);
    }

    #[test]
    fn the_resampled_quantile_follows_the_histogram() {
        let mut h = crate::load::metrics::histogram();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let cdf = Cdf::of(&h);
        assert_eq!(cdf.at(0.5), 500);
        assert_eq!(cdf.at(1.0), 1000);
        assert_eq!(cdf.at(0.0), 1);
        let mut rng = StdRng::seed_from_u64(7);
        let draws: Vec<u64> = (0..500).map(|_| cdf.resampled(0.5, &mut rng)).collect();
        let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
        assert!((480.0..520.0).contains(&mean), "mean of resampled medians {mean}");
        assert!(draws.iter().any(|&d| d != draws[0]), "resampling varies");
    }

    #[test]
    fn regression_shares() {
        assert_eq!(parse_regression("10%").unwrap(), 0.1);
        assert_eq!(parse_regression("0.25").unwrap(), 0.25);
        assert_eq!(parse_regression("5").unwrap(), 0.05);
        assert!(parse_regression("lots").is_err());
    }
}
