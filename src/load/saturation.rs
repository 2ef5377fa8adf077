//! Whether the harness kept up with its own schedule. A load tool that cannot tell its own
//! saturation from the server's reports its queueing as the server's latency; so the harness
//! watches itself:
//!
//! - a timer probe wakes every [`PROBE_EVERY`] and records how late it woke: when the runtime
//!   is starved of CPU, every task — the probe included — runs late;
//! - the open model counts arrivals it dropped because no worker could start them within
//!   `max_lag` of their intended time: the schedule was not kept.
//!
//! A second is saturated when more than half of its probes woke more than [`LATE_PROBE`] late, or
//! its late wake-ups were late by more than half a second together (a lasting lag, not one
//! hiccup of a shared machine); when the process used at least [`BUSY_PERCENT`] of every core
//! it may run on and two wake-ups were late (no CPU left to catch up with); or when it dropped an
//! arrival. A
//! saturated run exits 3 unless `--allow-saturation`: its latencies include the harness's own
//! queueing. With the embedded simulator, the simulator shares the harness's process and
//! runtime, so its CPU counts as the harness's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ctx;
use super::metrics::Tick;

/// How often the probe wakes.
pub const PROBE_EVERY: Duration = Duration::from_millis(10);
/// A wake-up later than this is late.
pub const LATE_PROBE: Duration = Duration::from_millis(50);
/// Percent of every core the process may use, from which a second with a late wake-up is busy.
pub const BUSY_PERCENT: f64 = 95.0;

/// Why and since when the harness could not keep up.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Saturation {
    /// The first saturated second of the run.
    pub from_second: usize,
    /// Every saturated second.
    pub seconds: Vec<usize>,
    /// Arrivals dropped over the run.
    pub dropped: u64,
    /// Seconds in which most of the probe's wake-ups were late.
    pub lagging_seconds: usize,
    /// The probe's worst lag, in milliseconds.
    pub max_lag_ms: f64,
    /// The saturation in one sentence.
    pub reason: String,
}

/// Whether one second of the timeline is saturated.
pub fn saturated(t: &Tick) -> bool {
    t.dropped > 0 || lagging(t) || busy(t, cores())
}

fn lagging(t: &Tick) -> bool {
    t.probes > 0 && (u64::from(t.late_probes) * 2 > u64::from(t.probes) || t.late_us * 2 > 1_000_000)
}

/// Every core the process may run on was busy, and timers ran late more than once.
fn busy(t: &Tick, cores: usize) -> bool {
    t.cpu_percent >= BUSY_PERCENT * cores as f64 && t.late_probes >= 2
}

/// The cores this process may run on (its CPU affinity and quota).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// The saturation a timeline shows, if any.
pub fn assess(timeline: &[Tick]) -> Option<Saturation> {
    let seconds: Vec<usize> = timeline.iter().enumerate().filter(|(_, t)| saturated(t)).map(|(i, _)| i).collect();
    let from_second = *seconds.first()?;
    let dropped: u64 = timeline.iter().map(|t| t.dropped).sum();
    let lagging_seconds = timeline.iter().filter(|t| lagging(t)).count();
    let busy_seconds = timeline.iter().filter(|t| busy(t, cores())).count();
    let max_lag_ms = timeline.iter().map(|t| t.max_lag_us).max().unwrap_or(0) as f64 / 1e3;
    let mut why = Vec::new();
    if dropped > 0 {
        why.push(format!("{dropped} arrivals dropped (no worker could start them in time)"));
    }
    if lagging_seconds > 0 {
        why.push(format!(
            "the harness's timers ran more than {} ms late in {lagging_seconds} s (worst {max_lag_ms:.0} ms)",
            LATE_PROBE.as_millis()
        ));
    }
    if busy_seconds > 0 {
        why.push(format!("the harness used all of its {} core(s) with timers late in {busy_seconds} s", cores()));
    }
    let reason =
        format!("harness saturated from t={from_second}s: latencies include client queueing; {}", why.join("; "));
    Some(Saturation { from_second, seconds, dropped, lagging_seconds, max_lag_ms, reason })
}

/// CPU time this process has used (user and system), from `/proc/self/stat`.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it are plain numbers.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let (user, system): (u64, u64) = (fields.next()?.parse().ok()?, fields.next()?.parse().ok()?);
    // Linux reports these in USER_HZ, 100 per second on every architecture it exposes them.
    Some(Duration::from_millis((user + system) * 10))
}

/// Run the probe until the task is aborted; it also records the process's CPU every second.
pub fn start(ctx: Arc<Ctx>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut planned = Instant::now() + PROBE_EVERY;
        let mut cpu_from = process_cpu().map(|c| (Instant::now(), c));
        loop {
            tokio::time::sleep_until(planned.into()).await;
            let now = Instant::now();
            let lag = now.saturating_duration_since(planned);
            let mut m = ctx.lock();
            m.probe(planned, lag, lag > LATE_PROBE);
            m.active(planned, ctx.active());
            if let Some((since, used)) = cpu_from
                && now.duration_since(since) >= Duration::from_secs(1)
                && let Some(cpu) = process_cpu()
            {
                let percent = cpu.saturating_sub(used).as_secs_f64() / now.duration_since(since).as_secs_f64() * 100.0;
                m.cpu(now, percent);
                cpu_from = Some((now, cpu));
            }
            drop(m);
            // After a long lag, the next wake-up is planned from now: one stall is one late probe.
            planned = now + PROBE_EVERY;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(probes: u32, late_probes: u32, dropped: u64) -> Tick {
        Tick { probes, late_probes, dropped, max_lag_us: u64::from(late_probes) * 60_000, ..Tick::default() }
    }

    #[test]
    fn a_busy_core_with_late_timers_is_saturation() {
        // What 3,000 chats/s on one core looked like: a few wake-ups 400 ms late, the core full.
        let full = Tick { probes: 60, late_probes: 2, max_lag_us: 466_000, cpu_percent: 99.2, ..Tick::default() };
        assert!(!lagging(&full), "most wake-ups were on time");
        assert!(busy(&full, 1));
        assert!(!busy(&full, 2), "half of two cores is not all of them");
        assert!(!busy(&Tick { cpu_percent: 70.0, ..full }, 1), "CPU to spare");
        assert!(!busy(&Tick { late_probes: 0, max_lag_us: 20_000, ..full }, 1), "a full core keeping its timers");
        assert!(!busy(&Tick { late_probes: 1, ..full }, 1), "one hiccup");
        // Two wake-ups 300 ms late: behind for more than half the second.
        let behind = Tick { probes: 40, late_probes: 2, max_lag_us: 300_000, late_us: 600_000, ..Tick::default() };
        assert!(lagging(&behind));
        assert!(!lagging(&Tick { late_us: 300_000, ..behind }));
    }

    #[test]
    fn a_hiccup_is_not_saturation_but_a_lasting_lag_or_a_drop_is() {
        assert_eq!(assess(&[tick(100, 0, 0), tick(99, 3, 0), tick(100, 0, 0)]), None);
        let s = assess(&[tick(100, 0, 0), tick(40, 30, 0), tick(100, 0, 2)]).unwrap();
        assert_eq!((s.from_second, s.seconds.clone(), s.dropped, s.lagging_seconds), (1, vec![1, 2], 2, 1));
        assert!(s.reason.starts_with("harness saturated from t=1s: latencies include client queueing"), "{}", s.reason);
        assert!(s.reason.contains("2 arrivals dropped"), "{}", s.reason);
        assert_eq!(assess(&[]), None);
    }
}
