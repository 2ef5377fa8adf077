//! Injected latency, for benchmarks of the harness's baseline gate: `--slow Accept=150us` answers
//! every agent operation of that name that much later (it takes effect, and is answered and
//! notified, after the delay), so a run against a slowed simulator is a known regression of one
//! operation. `--work 2ms` has every request take that long before it is handled, as a server's
//! own work: on a loopback socket the simulator answers in a fraction of a millisecond, where the
//! machine's scheduling noise is a large share of every latency.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::api;

/// Longest delay one operation can be given.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The last stretch of a delay, spun rather than slept.
const SPIN: Duration = Duration::from_micros(150);

/// A delay as given, up to `MAX_DELAY`.
pub fn bounded(text: &str, parse: impl Fn(&str) -> Result<Duration, String>) -> Result<Duration, String> {
    let delay = parse(text.trim())?;
    if delay > MAX_DELAY {
        return Err(format!("at most {}s", MAX_DELAY.as_secs()));
    }
    Ok(delay)
}

/// Extra latency per agent operation name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slow {
    delays: Vec<(&'static str, Duration)>,
}

impl Slow {
    /// `OPERATION=DURATION` entries, e.g. `Accept=20ms`; `parse` reads the durations.
    pub fn from_specs<'a>(
        specs: impl IntoIterator<Item = &'a str>,
        parse: impl Fn(&str) -> Result<Duration, String>,
    ) -> Result<Slow, String> {
        let mut slow = Slow::default();
        for spec in specs {
            let (name, delay) = spec
                .split_once('=')
                .ok_or_else(|| format!("`{spec}`: expected OPERATION=DURATION, e.g. Accept=20ms"))?;
            let op = api::operation(name.trim())
                .ok_or_else(|| format!("`{spec}`: `{}` is not an agent chat operation", name.trim()))?;
            let delay = bounded(delay, &parse).map_err(|e| format!("`{spec}`: {e}"))?;
            slow.delays.retain(|(n, _)| *n != op.name);
            slow.delays.push((op.name, delay));
        }
        Ok(slow)
    }

    pub fn is_empty(&self) -> bool {
        self.delays.is_empty()
    }

    /// The delay of the operation a request body names, if it is slowed.
    pub fn delay_of(&self, body: &[u8]) -> Option<Duration> {
        if self.delays.is_empty() {
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let name = value.get("operationName")?.as_str()?;
        self.delays.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
    }

    /// The entries, for the startup banner.
    pub fn describe(&self) -> String {
        self.delays.iter().map(|(n, d)| format!("{n} +{d:?}")).collect::<Vec<_>>().join(", ")
    }
}

/// The `--work` layer: every request but the CometD transport's (whose connects are held for
/// notifications, not worked on) waits the configured time before it is handled. A blocking
/// thread sleeps it, overshooting by tens of microseconds: the runtime's timer ticks by the
/// millisecond from the process's start, which would round each run's waits its own way.
pub(crate) async fn work(State(work): State<Duration>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(api::NOTIFICATIONS_PATH) {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(work)).await;
    }
    next.run(request).await
}

/// Wait `delay` precisely, without holding a runtime thread: a blocking thread sleeps, then spins
/// the last stretch (the runtime's timer ticks by the millisecond, a thread's sleep overshoots by
/// tens of microseconds).
pub async fn wait(delay: Duration) {
    let deadline = Instant::now() + delay;
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(coarse) = delay.checked_sub(SPIN) {
            std::thread::sleep(coarse);
        }
        while Instant::now() < deadline {
            std::hint::spin_loop();
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Duration, String> {
        humantime::parse_duration(s).map_err(|e| e.to_string())
    }

    #[test]
    fn specs_name_an_operation_and_a_delay() {
        let slow = Slow::from_specs(["Accept=20ms", "Complete=150us"], parse).unwrap();
        assert_eq!(slow.delay_of(br#"{"operationName":"Accept"}"#), Some(Duration::from_millis(20)));
        assert_eq!(slow.delay_of(br#"{"operationName":"Complete"}"#), Some(Duration::from_micros(150)));
        assert_eq!(slow.delay_of(br#"{"operationName":"SendMessage"}"#), None);
        assert_eq!(slow.delay_of(b"not json"), None);
        assert!(Slow::from_specs(["Accept"], parse).unwrap_err().contains("OPERATION=DURATION"));
        assert!(Slow::from_specs(["Acept=1ms"], parse).unwrap_err().contains("`Acept`"));
        assert!(Slow::from_specs(["Accept=soon"], parse).is_err());
        assert!(Slow::from_specs(["Accept=2m"], parse).unwrap_err().contains("at most"));
    }

    #[tokio::test]
    async fn waits_at_least_the_delay() {
        let start = Instant::now();
        wait(Duration::from_micros(300)).await;
        assert!(start.elapsed() >= Duration::from_micros(300));
    }
}
