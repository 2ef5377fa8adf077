//! The open model's arrival schedule: the intended start time of every arrival, from stages
//! whose rate moves linearly (constant, ramp up, ramp down). Workers take arrivals in order from
//! one atomic counter, so the schedule never drifts with the server: work that cannot start on
//! time is late (measured from its intended time) or, past `max_lag`, dropped.
//!
//! `shard` splits one schedule between machines: copy `i` of `n` takes arrivals i, i+n, i+2n...,
//! so N copies together produce the whole rate and their reports merge exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::spec::Stage;

#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Rate at the start and end of the segment, per second.
    from: f64,
    to: f64,
    secs: f64,
    /// Arrivals before the segment starts.
    before: f64,
    /// Seconds since the start of the load when the segment starts.
    offset: f64,
}

/// Intended times of arrivals, handed out in order.
#[derive(Debug)]
pub struct Schedule {
    start: Instant,
    segments: Vec<Segment>,
    total: f64,
    next: AtomicU64,
    shard: (u64, u64),
}

/// What a worker should do with the arrival it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// Global number of the arrival.
    pub number: u64,
    pub intended: Instant,
}

impl Schedule {
    pub fn new(start: Instant, start_rate: f64, stages: &[Stage], shard: (u64, u64)) -> Schedule {
        let mut segments = Vec::with_capacity(stages.len());
        let (mut rate, mut before, mut offset) = (start_rate, 0.0, 0.0);
        for s in stages {
            let secs = s.duration.as_secs_f64();
            if secs <= 0.0 {
                // A step, not a ramp: the rate jumps and no arrival falls inside it.
                rate = s.target;
                continue;
            }
            segments.push(Segment { from: rate, to: s.target, secs, before, offset });
            before += (rate + s.target) / 2.0 * secs;
            offset += secs;
            rate = s.target;
        }
        let shard = (shard.0, shard.1.max(1));
        Schedule { start, segments, total: before, next: AtomicU64::new(0), shard }
    }

    /// Arrivals the whole schedule holds (all shards).
    pub fn total(&self) -> u64 {
        self.total.floor() as u64
    }

    /// Seconds after the start at which arrival `n` (0-based) is due.
    pub fn offset_of(&self, n: u64) -> Option<f64> {
        let n = n as f64;
        if n >= self.total.floor() {
            return None;
        }
        let seg = self.segments.iter().rev().find(|s| s.before <= n)?;
        let k = n - seg.before;
        // N(t) = from·t + (to - from)·t²/(2·secs) = k, solved in the form stable for any slope.
        let a = (seg.to - seg.from) / (2.0 * seg.secs);
        let disc = (seg.from * seg.from + 4.0 * a * k).max(0.0);
        let denom = seg.from + disc.sqrt();
        let t = if denom > 0.0 { 2.0 * k / denom } else { 0.0 };
        Some(seg.offset + t.min(seg.secs))
    }

    /// The next arrival of this shard, or `None` when the schedule is exhausted.
    pub fn take(&self) -> Option<Ticket> {
        let local = self.next.fetch_add(1, Ordering::Relaxed);
        let number = local.checked_mul(self.shard.1)?.checked_add(self.shard.0)?;
        let secs = self.offset_of(number)?;
        Some(Ticket { number, intended: self.start + Duration::from_secs_f64(secs) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(target: f64, secs: u64) -> Stage {
        Stage { target, duration: Duration::from_secs(secs) }
    }

    #[test]
    fn a_constant_rate_is_evenly_spaced() {
        let s = Schedule::new(Instant::now(), 10.0, &[stage(10.0, 2)], (0, 1));
        assert_eq!(s.total(), 20);
        assert!((s.offset_of(5).unwrap() - 0.5).abs() < 1e-9);
        assert!(s.offset_of(20).is_none());
    }

    #[test]
    fn a_ramp_is_sparse_then_dense() {
        let s = Schedule::new(Instant::now(), 0.0, &[stage(10.0, 10)], (0, 1));
        assert_eq!(s.total(), 50);
        // N(t) = t²/2: the 8th arrival at 4 s, the 32nd at 8 s.
        assert!((s.offset_of(8).unwrap() - 4.0).abs() < 1e-9);
        assert!((s.offset_of(32).unwrap() - 8.0).abs() < 1e-9);
        let down = Schedule::new(Instant::now(), 10.0, &[stage(0.0, 10)], (0, 1));
        let times: Vec<f64> = (0..50).map(|n| down.offset_of(n).unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]) && *times.last().unwrap() <= 10.0);
    }

    #[test]
    fn the_largest_schedule_costs_no_more_than_a_small_one() {
        // The bounds' largest: 100,000 arrivals a second for a day, 8.64 billion arrivals. Each
        // arrival's time is computed when asked for; the schedule holds one segment per stage.
        let s = Schedule::new(Instant::now(), 100_000.0, &[stage(100_000.0, 86_400)], (0, 1));
        assert_eq!(s.total(), 8_640_000_000);
        assert_eq!(std::mem::size_of_val(&s) + s.segments.capacity() * std::mem::size_of::<Segment>(), {
            let small = Schedule::new(Instant::now(), 1.0, &[stage(1.0, 1)], (0, 1));
            std::mem::size_of_val(&small) + small.segments.capacity() * std::mem::size_of::<Segment>()
        });
        assert!((s.offset_of(8_639_999_999).unwrap() - 86_399.999_99).abs() < 1e-3);
        assert!(s.offset_of(8_640_000_000).is_none());
    }

    #[test]
    fn shards_split_the_arrivals() {
        let t0 = Instant::now();
        let stages = [stage(4.0, 1)];
        let mut numbers: Vec<u64> = Vec::new();
        for i in 0..2 {
            let s = Schedule::new(t0, 4.0, &stages, (i, 2));
            while let Some(t) = s.take() {
                numbers.push(t.number);
            }
        }
        numbers.sort();
        assert_eq!(numbers, vec![0, 1, 2, 3]);
    }
}
