//! The bounds of every load value, in one table that the load-file parser, the command line and
//! the README all use. A value outside its bound is invalid input (exit 2), named with where it
//! came from: a bound keeps a typo (`rate: 1e12`) from turning into a run that never ends or a
//! process that aborts allocating a billion workers.
//!
//! Nothing here grows with the planned number of arrivals: the schedule computes each arrival's
//! time when a worker asks for it, so a long run at a high rate costs no more memory than a short
//! one.

use std::fmt;
use std::time::Duration;

/// What a bound measures, for its message and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Arrivals (chats or requests) per second.
    PerSecond,
    /// A whole number of things.
    Count,
    /// A duration, bounds in seconds.
    Duration,
    /// Bytes.
    Bytes,
    /// A fraction between 0 and 1.
    Fraction,
}

/// The allowed range of one load value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The key in the load file (`load.rate`).
    pub key: &'static str,
    /// The command-line flag that sets the same value, if any.
    pub flag: Option<&'static str>,
    pub min: f64,
    pub max: f64,
    pub unit: Unit,
    /// Why the bound is where it is.
    pub why: &'static str,
}

const DAY: f64 = 86_400.0;
const MINUTES_10: f64 = 600.0;
const MS: f64 = 0.001;

pub const RATE: Bound = Bound {
    key: "load.rate",
    flag: Some("--chats-per-sec"),
    min: MS,
    max: 100_000.0,
    unit: Unit::PerSecond,
    why: "a constant rate above zero; beyond one machine's reach, spread the load with --shard",
};
pub const STAGE_RATE: Bound = Bound {
    key: "load.stages[].target, load.start_rate (open)",
    flag: None,
    min: 0.0,
    max: RATE.max,
    unit: Unit::PerSecond,
    why: "a ramp may start or end at zero; the stages together must plan at least one arrival",
};
pub const CONCURRENCY: Bound = Bound {
    key: "load.concurrency",
    flag: Some("--concurrency"),
    min: 1.0,
    max: 20_000.0,
    unit: Unit::Count,
    why: "one worker (and one held chat) each; 10,000 chats take about 270 MiB",
};
pub const STAGE_USERS: Bound = Bound {
    key: "load.stages[].target (closed)",
    flag: None,
    min: 0.0,
    max: CONCURRENCY.max,
    unit: Unit::Count,
    why: "as `concurrency`",
};
pub const MAX_ACTIVE: Bound = Bound {
    key: "load.max_active",
    flag: None,
    min: 1.0,
    max: 20_000.0,
    unit: Unit::Count,
    why: "workers of the open model, each able to hold one chat",
};
pub const CONNECTIONS: Bound = Bound {
    key: "load.connections",
    flag: None,
    min: 1.0,
    max: 4_096.0,
    unit: Unit::Count,
    why: "keep-alive connections of the request journey, one file descriptor each",
};
pub const STAGES: Bound = Bound {
    key: "load.stages (how many)",
    flag: None,
    min: 1.0,
    max: 1_000.0,
    unit: Unit::Count,
    why: "a profile, not a trace",
};
pub const DURATION: Bound = Bound {
    key: "load.duration, each stage's duration, the whole profile",
    flag: Some("--duration"),
    min: MS,
    max: DAY,
    unit: Unit::Duration,
    why: "a stage may last 0 s (a step); the whole profile lasts at least 1 ms",
};
pub const DRAIN: Bound = Bound {
    key: "drain",
    flag: None,
    min: 0.0,
    max: MINUTES_10,
    unit: Unit::Duration,
    why: "work in flight after the last arrival, and after an interrupt",
};
pub const MAX_LAG: Bound = Bound {
    key: "load.max_lag",
    flag: None,
    min: MS,
    max: MINUTES_10,
    unit: Unit::Duration,
    why: "an arrival later than this after its intended time is dropped",
};
pub const MESSAGES: Bound = Bound {
    key: "chat.messages",
    flag: None,
    min: 0.0,
    max: 1_000.0,
    unit: Unit::Count,
    why: "customer messages per chat",
};
pub const THINK: Bound = Bound {
    key: "chat.customer_think, chat.agent_think, chat.accept_after",
    flag: None,
    min: 0.0,
    max: MINUTES_10,
    unit: Unit::Duration,
    why: "each end of a range",
};
pub const POLL_INTERVAL: Bound = Bound {
    key: "chat.poll_interval",
    flag: None,
    min: MS,
    max: 60.0,
    unit: Unit::Duration,
    why: "a waiting customer reads its transcript this often",
};
pub const TIMEOUT: Bound = Bound {
    key: "chat.timeout",
    flag: None,
    min: MS,
    max: MINUTES_10,
    unit: Unit::Duration,
    why: "every awaited notification or delivery",
};
pub const UPLOAD_SHARE: Bound = Bound {
    key: "chat.uploads.share",
    flag: None,
    min: 0.0,
    max: 1.0,
    unit: Unit::Fraction,
    why: "the share of chats that upload a file",
};
pub const UPLOAD_SIZE: Bound = Bound {
    key: "chat.uploads.size",
    flag: None,
    min: 1.0,
    max: 100.0 * 1024.0 * 1024.0,
    unit: Unit::Bytes,
    why: "each end of a range; every upload is generated and held in memory",
};
pub const REQUEST_TIMEOUT: Bound = Bound {
    key: "(command line only)",
    flag: Some("--request-timeout"),
    min: MS,
    max: MINUTES_10,
    unit: Unit::Duration,
    why: "the deadline of every HTTP request",
};
pub const SHARDS: Bound = Bound {
    key: "(command line only)",
    flag: Some("--shard I/N (N)"),
    min: 1.0,
    max: 10_000.0,
    unit: Unit::Count,
    why: "copies sharing one schedule",
};

/// Every bound, in the README's order.
pub const ALL: &[Bound] = &[
    RATE,
    STAGE_RATE,
    CONCURRENCY,
    STAGE_USERS,
    MAX_ACTIVE,
    CONNECTIONS,
    STAGES,
    DURATION,
    DRAIN,
    MAX_LAG,
    MESSAGES,
    THINK,
    POLL_INTERVAL,
    TIMEOUT,
    UPLOAD_SHARE,
    UPLOAD_SIZE,
    REQUEST_TIMEOUT,
    SHARDS,
];

/// Grace after the drain: setup and teardown (logins, logouts, goose winding down). A load run
/// never lasts longer than its profile, its drain and this.
pub const GRACE: Duration = Duration::from_secs(30);

/// A value outside its bound.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfBounds {
    pub name: String,
    pub value: String,
    pub bound: Bound,
}

impl fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} is out of bounds: {}", self.name, self.value, self.bound.range())
    }
}

impl Bound {
    /// `at least 0.001 and at most 100000 per second`, `a whole number from 1 to 20000`.
    pub fn range(&self) -> String {
        let (lo, hi) = (self.show(self.min), self.show(self.max));
        match self.unit {
            Unit::PerSecond => format!("expected from {lo} to {hi} per second"),
            Unit::Count => format!("expected a whole number from {lo} to {hi}"),
            Unit::Duration => format!("expected from {lo} to {hi}"),
            Unit::Bytes => format!("expected from {lo} to {hi}"),
            Unit::Fraction => format!("expected a fraction from {lo} to {hi}"),
        }
    }

    /// A value in the bound's unit, for people.
    pub fn show(&self, v: f64) -> String {
        match self.unit {
            Unit::Duration if (0.0..1e12).contains(&v) => {
                if v == 0.0 {
                    "0s".into()
                } else {
                    humantime::format_duration(Duration::from_secs_f64(v)).to_string()
                }
            }
            Unit::Bytes if v >= 1024.0 * 1024.0 => format!("{} MiB", v / (1024.0 * 1024.0)),
            Unit::Bytes => format!("{v} B"),
            _ => format!("{v}"),
        }
    }

    fn holds(&self, v: f64) -> bool {
        v >= self.min && v <= self.max && (self.unit != Unit::Count || v.fract() == 0.0)
    }

    /// Check a number; `name` says where it came from (`rate`, `--chats-per-sec`).
    pub fn check(&self, name: &str, v: f64) -> Result<f64, OutOfBounds> {
        if self.holds(v) {
            Ok(v)
        } else {
            Err(OutOfBounds { name: name.to_owned(), value: format!("{v}"), bound: *self })
        }
    }

    /// Check a whole number and return it as a `usize`.
    pub fn count(&self, name: &str, v: f64) -> Result<usize, OutOfBounds> {
        // Within the bound, the value is a whole number of at most 20,000: it fits a usize.
        self.check(name, v).map(|v| v as usize)
    }

    /// Check a duration.
    pub fn duration(&self, name: &str, d: Duration) -> Result<Duration, OutOfBounds> {
        if self.holds(d.as_secs_f64()) {
            Ok(d)
        } else {
            Err(OutOfBounds { name: name.to_owned(), value: self.show(d.as_secs_f64()), bound: *self })
        }
    }

    /// The README table's row.
    pub fn row(&self) -> String {
        let flag = self.flag.map_or("—".to_owned(), |f| format!("`{f}`"));
        let key = if self.key.starts_with('(') { self.key.to_owned() } else { format!("`{}`", self.key) };
        let range = match self.unit {
            Unit::PerSecond => format!("{} – {} /s", self.show(self.min), self.show(self.max)),
            _ => format!("{} – {}", self.show(self.min), self.show(self.max)),
        };
        format!("| {key} | {flag} | {range} | {} |", self.why)
    }
}

/// The README's table of bounds.
pub fn table() -> String {
    let mut out = String::from("| value | flag | bounds | note |\n|---|---|---|---|\n");
    for b in ALL {
        out.push_str(&b.row());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_values_are_refused_with_the_value_and_the_bound() {
        for v in [1e12, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = RATE.check("rate", v).unwrap_err();
            assert!(e.to_string().starts_with(&format!("rate {v} is out of bounds: expected from 0.001 to 100000")));
        }
        assert_eq!(RATE.check("rate", 4.0), Ok(4.0));
        assert!(CONCURRENCY.count("concurrency", 1e9).is_err());
        assert!(CONCURRENCY.count("concurrency", 2.5).is_err());
        assert_eq!(CONCURRENCY.count("concurrency", 20.0), Ok(20));
        let e = DURATION.duration("--duration", Duration::from_secs(200_000)).unwrap_err();
        assert_eq!(e.to_string(), "--duration 2days 7h 33m 20s is out of bounds: expected from 1ms to 1day");
    }

    #[test]
    fn the_readme_holds_the_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        assert!(readme.contains(&table()), "README's Load section must hold this table:\n{}", table());
    }
}
