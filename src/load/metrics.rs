//! What a load run measures: one pair of HdrHistograms (3 significant digits, microseconds) per
//! named latency — corrected (from the intended send time) and uncorrected (from the actual
//! send) — plus counters, contract violations by rule id and a per-second timeline.
//!
//! A `Metrics` is plain data and merges exactly into another, so hot loops record into their own
//! copy and fold it into the shared one now and then, and reports from several machines can be
//! merged the same way.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Significant digits of every histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// Examples of errors and violations kept for the report; the counts are always complete.
const MAX_SAMPLES: usize = 20;

/// Names of the latencies the chat journey records (besides one per operation).
pub mod names {
    /// Every operation's end-to-end notification latency, whatever the operation.
    pub const NOTIFICATION: &str = "notification";
    /// RequestChat sent → the agent's Invited notification delivered.
    pub const INVITE: &str = "invite";
    pub const DELIVERY_CUSTOMER_TO_AGENT: &str = "delivery:customer-to-agent";
    pub const DELIVERY_AGENT_TO_CUSTOMER: &str = "delivery:agent-to-customer";
    /// The multipart upload request of one file.
    pub const UPLOAD: &str = "Upload";
    /// A whole chat, from its intended start to its end.
    pub const CHAT: &str = "chat";

    /// The notification latency of one operation.
    pub fn notification_of(op: &str) -> String {
        format!("{NOTIFICATION}:{op}")
    }

    /// The requests the chat journey times, each under its name.
    pub const CHAT_REQUESTS: &[&str] =
        &["RequestChat", "Accept", "CustomerSendMessage", "SendMessage", "Complete", "CustomerGetMessages"];
    /// The agent operations whose notification the chat journey waits for.
    pub const CHAT_NOTIFIED: &[&str] = &["Accept", "SendMessage", "Complete"];

    /// Every latency the chat journey can record (with uploads or without): what a threshold
    /// may name.
    pub fn chat_journey(uploads: bool) -> Vec<String> {
        let mut all: Vec<String> = CHAT_REQUESTS.iter().map(|s| (*s).to_owned()).collect();
        all.extend(CHAT_NOTIFIED.iter().map(|op| notification_of(op)));
        all.extend(
            [NOTIFICATION, INVITE, DELIVERY_CUSTOMER_TO_AGENT, DELIVERY_AGENT_TO_CUSTOMER, CHAT].map(str::to_owned),
        );
        if uploads {
            all.push(UPLOAD.to_owned());
        }
        all
    }
}

/// A new histogram that grows as values arrive (memory follows the range actually seen).
pub fn histogram() -> Histogram<u64> {
    // Only fails for significant digits outside 0..=5.
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid precision")
}

/// One named latency.
#[derive(Clone, Debug)]
pub struct Series {
    /// From the time the driver meant to send (open model only).
    pub corrected: Option<Histogram<u64>>,
    /// From the time it actually sent.
    pub uncorrected: Histogram<u64>,
}

impl Series {
    fn new(corrected: bool) -> Series {
        Series { corrected: corrected.then(histogram), uncorrected: histogram() }
    }

    fn merge(&mut self, other: &Series) {
        // Both histograms auto-resize, so adding cannot fail for lack of range.
        let _ = self.uncorrected.add(&other.uncorrected);
        match (&mut self.corrected, &other.corrected) {
            (Some(mine), Some(theirs)) => {
                let _ = mine.add(theirs);
            }
            (None, Some(theirs)) => self.corrected = Some(theirs.clone()),
            _ => {}
        }
    }

    /// The figure thresholds and summaries use: corrected when measured.
    pub fn trusted(&self) -> &Histogram<u64> {
        self.corrected.as_ref().unwrap_or(&self.uncorrected)
    }
}

/// Counters of a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Requests answered (any status) plus notifications awaited and delivered.
    pub ops: u64,
    /// Failed operations: transport errors, refusals, missing notifications or deliveries.
    pub errors: u64,
    /// Arrivals the driver could not start within `max_lag` of their intended time.
    pub dropped: u64,
    /// Arrivals started late but within `max_lag` (measured from their intended time).
    pub late: u64,
    pub chats_started: u64,
    pub chats_completed: u64,
    pub violations: u64,
    pub upload_bytes: u64,
    /// Time spent in upload requests, summed over uploads (microseconds).
    pub upload_micros: u64,
    pub responses_validated: u64,
    pub notifications_validated: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.ops += o.ops;
        self.errors += o.errors;
        self.dropped += o.dropped;
        self.late += o.late;
        self.chats_started += o.chats_started;
        self.chats_completed += o.chats_completed;
        self.violations += o.violations;
        self.upload_bytes += o.upload_bytes;
        self.upload_micros += o.upload_micros;
        self.responses_validated += o.responses_validated;
        self.notifications_validated += o.notifications_validated;
    }
}

/// One second of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tick {
    pub ops: u64,
    pub errors: u64,
    /// Arrivals of this second dropped (open model).
    #[serde(default)]
    pub dropped: u64,
    /// The harness's timer probe: wake-ups, how many were late, the latest (microseconds).
    #[serde(default)]
    pub probes: u32,
    #[serde(default)]
    pub late_probes: u32,
    #[serde(default)]
    pub max_lag_us: u64,
    /// How long the late wake-ups were late, together (microseconds): the share of the second
    /// the harness spent behind its timers.
    #[serde(default)]
    pub late_us: u64,
    /// The harness process's CPU this second, in percent of one core (where the OS tells it).
    #[serde(default)]
    pub cpu_percent: f64,
    /// The most chats (or requests) in flight the timer probe saw this second.
    #[serde(default)]
    pub active: u64,
}

/// Significant digits of the per-second histograms: enough for a plot, about 1 kB a second.
const SECOND_DIGITS: u8 = 1;

/// The latencies completed in one second (every series but whole chats), for plots over time.
#[derive(Clone, Debug)]
pub struct SecondLatency {
    pub corrected: Option<Histogram<u32>>,
    pub uncorrected: Histogram<u32>,
}

impl SecondLatency {
    fn new(corrected: bool) -> SecondLatency {
        // Only fails for significant digits outside 0..=5.
        let h = || Histogram::new(SECOND_DIGITS).expect("1 significant digit is a valid precision");
        SecondLatency { corrected: corrected.then(h), uncorrected: h() }
    }

    fn merge(&mut self, other: &SecondLatency) {
        // Both auto-resize; a second's count cannot overflow u32.
        let _ = self.uncorrected.add(&other.uncorrected);
        if let (Some(mine), Some(theirs)) = (&mut self.corrected, &other.corrected) {
            let _ = mine.add(theirs);
        }
    }
}

/// Everything measured, mergeable.
#[derive(Clone, Debug)]
pub struct Metrics {
    start: Instant,
    corrected: bool,
    pub series: HashMap<String, Series>,
    pub counts: Counts,
    pub violations: BTreeMap<String, u64>,
    pub violation_samples: Vec<String>,
    pub error_samples: Vec<String>,
    pub timeline: Vec<Tick>,
    /// Per second of the run (by completion), the latencies completed in it.
    pub seconds: Vec<SecondLatency>,
}

impl Metrics {
    /// `corrected`: whether latencies also have a corrected figure (open model).
    pub fn new(start: Instant, corrected: bool) -> Metrics {
        Metrics {
            start,
            corrected,
            series: HashMap::new(),
            counts: Counts::default(),
            violations: BTreeMap::new(),
            violation_samples: Vec::new(),
            error_samples: Vec::new(),
            timeline: Vec::new(),
            seconds: Vec::new(),
        }
    }

    /// The instant of the timeline's second 0.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// An empty copy with the same clock, for a hot loop to record into.
    pub fn local(&self) -> Metrics {
        Metrics::new(self.start, self.corrected)
    }

    fn tick(&mut self, at: Instant) -> &mut Tick {
        let second = at.saturating_duration_since(self.start).as_secs() as usize;
        if self.timeline.len() <= second {
            self.timeline.resize(second + 1, Tick::default());
        }
        &mut self.timeline[second]
    }

    /// An operation meant to start at `intended`, sent at `sent`, done at `done`.
    pub fn record(&mut self, name: &str, intended: Instant, sent: Instant, done: Instant) {
        let corrected = self.corrected;
        let series = match self.series.get_mut(name) {
            Some(s) => s,
            None => self.series.entry(name.to_owned()).or_insert_with(|| Series::new(corrected)),
        };
        let micros = |d: Duration| (d.as_micros() as u64).max(1);
        let _ = series.uncorrected.record(micros(done.saturating_duration_since(sent)));
        if let Some(c) = &mut series.corrected {
            let _ = c.record(micros(done.saturating_duration_since(intended)));
        }
        self.counts.ops += 1;
        self.tick(done).ops += 1;
        if name != names::CHAT {
            let second = done.saturating_duration_since(self.start).as_secs() as usize;
            if self.seconds.len() <= second {
                self.seconds.resize_with(second + 1, || SecondLatency::new(corrected));
            }
            let s = &mut self.seconds[second];
            let _ = s.uncorrected.record(micros(done.saturating_duration_since(sent)));
            if let Some(c) = &mut s.corrected {
                let _ = c.record(micros(done.saturating_duration_since(intended)));
            }
        }
    }

    /// A value that is not a latency (e.g. throughput in kB/s), recorded uncorrected only.
    pub fn record_value(&mut self, name: &str, value: u64) {
        let series = self.series.entry(name.to_owned()).or_insert_with(|| Series::new(false));
        let _ = series.uncorrected.record(value.max(1));
    }

    /// An arrival meant for `intended` that could not start within `max_lag`.
    pub fn dropped(&mut self, intended: Instant) {
        self.counts.dropped += 1;
        self.tick(intended).dropped += 1;
    }

    /// A wake-up of the harness's timer probe, meant for `planned`, `lag` late.
    pub fn probe(&mut self, planned: Instant, lag: Duration, late: bool) {
        let t = self.tick(planned);
        t.probes += 1;
        t.late_probes += u32::from(late);
        t.max_lag_us = t.max_lag_us.max(lag.as_micros() as u64);
        if late {
            t.late_us += lag.as_micros() as u64;
        }
    }

    /// Chats (or requests) in flight at `at`, as the timer probe saw them.
    pub fn active(&mut self, at: Instant, active: u64) {
        let t = self.tick(at);
        t.active = t.active.max(active);
    }

    /// The process's CPU over the second ending at `at`, in percent of one core.
    pub fn cpu(&mut self, at: Instant, percent: f64) {
        let t = self.tick(at);
        t.cpu_percent = t.cpu_percent.max(percent);
    }

    pub fn error(&mut self, at: Instant, what: impl FnOnce() -> String) {
        self.counts.errors += 1;
        self.tick(at).errors += 1;
        if self.error_samples.len() < MAX_SAMPLES {
            self.error_samples.push(what());
        }
    }

    pub fn violation(&mut self, rule: &str, what: impl FnOnce() -> String) {
        self.counts.violations += 1;
        match self.violations.get_mut(rule) {
            Some(n) => *n += 1,
            None => {
                self.violations.insert(rule.to_owned(), 1);
            }
        }
        if self.violation_samples.len() < MAX_SAMPLES {
            self.violation_samples.push(format!("{rule}: {}", what()));
        }
    }

    /// Fold `other` into this one; `other` is left empty (same clock).
    pub fn absorb(&mut self, other: &mut Metrics) {
        for (name, s) in other.series.drain() {
            match self.series.get_mut(&name) {
                Some(mine) => mine.merge(&s),
                None => {
                    self.series.insert(name, s);
                }
            }
        }
        self.counts.add(&std::mem::take(&mut other.counts));
        for (rule, n) in std::mem::take(&mut other.violations) {
            *self.violations.entry(rule).or_default() += n;
        }
        for (mine, theirs) in [
            (&mut self.violation_samples, &mut other.violation_samples),
            (&mut self.error_samples, &mut other.error_samples),
        ] {
            let room = MAX_SAMPLES.saturating_sub(mine.len());
            mine.extend(theirs.drain(..).take(room));
            theirs.clear();
        }
        if self.timeline.len() < other.timeline.len() {
            self.timeline.resize(other.timeline.len(), Tick::default());
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(other.timeline.drain(..)) {
            mine.ops += theirs.ops;
            mine.errors += theirs.errors;
            mine.dropped += theirs.dropped;
            mine.probes += theirs.probes;
            mine.late_probes += theirs.late_probes;
            mine.max_lag_us = mine.max_lag_us.max(theirs.max_lag_us);
            mine.late_us = mine.late_us.max(theirs.late_us);
            mine.cpu_percent = mine.cpu_percent.max(theirs.cpu_percent);
            mine.active = mine.active.max(theirs.active);
        }
        let corrected = self.corrected;
        if self.seconds.len() < other.seconds.len() {
            self.seconds.resize_with(other.seconds.len(), || SecondLatency::new(corrected));
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(other.seconds.drain(..)) {
            mine.merge(&theirs);
        }
    }

    /// The value at quantile `q` (0..=1) of a series, in microseconds: corrected when measured.
    pub fn quantile(&self, name: &str, q: f64) -> Option<u64> {
        self.series.get(name).filter(|s| !s.uncorrected.is_empty()).map(|s| s.trusted().value_at_quantile(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_includes_the_wait_uncorrected_does_not() {
        let t0 = Instant::now();
        let mut m = Metrics::new(t0, true);
        m.record("op", t0, t0 + Duration::from_millis(900), t0 + Duration::from_millis(1000));
        let s = &m.series["op"];
        assert!(s.uncorrected.max() < 101_000);
        assert!(s.corrected.as_ref().unwrap().max() > 990_000);
        assert_eq!(m.counts.ops, 1);
    }

    #[test]
    fn merging_is_exact() {
        let t0 = Instant::now();
        let mut shared = Metrics::new(t0, false);
        let mut a = shared.local();
        let mut b = shared.local();
        for i in 1..=100u64 {
            a.record("x", t0, t0, t0 + Duration::from_micros(i));
            b.record("x", t0, t0, t0 + Duration::from_micros(i + 100));
        }
        a.violation("shape.response", || "bad".into());
        a.error(t0 + Duration::from_secs(2), || "e".into());
        shared.absorb(&mut a);
        shared.absorb(&mut b);
        assert_eq!(shared.series["x"].uncorrected.len(), 200);
        assert_eq!(shared.series["x"].uncorrected.max(), 200);
        assert_eq!(shared.violations["shape.response"], 1);
        assert_eq!(shared.counts.errors, 1);
        assert_eq!(shared.timeline.len(), 3);
        assert_eq!(shared.timeline[0].ops, 200);
        assert!(a.series.is_empty() && a.counts == Counts::default());
    }
}
