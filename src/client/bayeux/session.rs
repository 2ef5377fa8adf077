//! The connect loop: one outstanding `/meta/connect` at a time, `interval` between connects,
//! re-handshake (and re-subscribe) when the server forgets the client, bounded back-off on
//! failures, a deadline on every connect, and a stop signal obeyed at every wait.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::wire::{META_CONNECT, error_of, successful};
use super::{BayeuxError, Shared, Stop};
use crate::client::exchange::TransportError;

/// Back-off after a failed attempt: 1 s, doubling, at most 5 s.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Failed attempts in a row (transport errors, unusable answers, refused connects) before the
/// client gives up.
const MAX_FAILURES: u32 = 5;

/// What one turn of the loop came to.
enum Turn {
    /// The connect (or the new session) succeeded. `flooded`: its answer carried more messages
    /// than the client takes, so the next connect waits a while whatever the advice.
    Ok { flooded: bool },
    /// Try again after a back-off; the description says what failed.
    Retry(String),
    /// The server held the connect past its own advised hold time and the request deadline.
    /// Not retried: Bayeux allows one outstanding connect, and the server may still hold this
    /// one, so polling again could only make two.
    Unanswered(String),
    /// The server forgot the client: handshake again. Carries the server's error.
    Handshake(String),
    /// The server said not to come back.
    Stop(String),
}

/// Run the loop until told to stop or until it cannot go on; then report and close.
pub(super) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<Stop>) {
    if let Some(fatal) = connect_loop(&shared, &mut stop).await {
        shared.problem(true, fatal);
    }
    // While draining, `disconnect` has its own reply to report and closes the stream itself.
    if *stop.borrow() != Stop::Drain {
        shared.events.close();
    }
}

/// The loop proper; `Some(description)` when it ended on a fatal problem.
async fn connect_loop(shared: &Shared, stop: &mut watch::Receiver<Stop>) -> Option<String> {
    let mut first = true;
    let mut failures = 0u32;
    let mut rehandshakes = 0u32;
    let mut pause = Duration::ZERO;
    loop {
        if !pause.is_zero() && !sleep_unless_stopped(pause, stop).await {
            return None;
        }
        if *stop.borrow() != Stop::Run {
            return None;
        }
        let client_id = shared.state().client_id.clone();
        let turn = match client_id {
            None => match cancellable(stop, shared.establish()).await? {
                Ok(()) => {
                    first = true;
                    Turn::Ok { flooded: false }
                }
                Err(e) => match &e {
                    // A refused subscribe means the server keeps the session but refuses what it
                    // accepted before: the harness would silently miss notifications, so this
                    // cannot be retried away. Nor can a refusal advising to stop.
                    BayeuxError::Refused { step, .. } if step != "handshake" || shared.state().advice.says_stop() => {
                        Turn::Stop(e.to_string())
                    }
                    // The same POST with the same token would be refused the same way.
                    BayeuxError::Forbidden { .. } => Turn::Stop(e.to_string()),
                    _ => {
                        shared.state().client_id = None;
                        Turn::Retry(e.to_string())
                    }
                },
            },
            Some(client_id) => {
                let turn = connect(shared, stop, &client_id, first).await?;
                first = false;
                turn
            }
        };
        if *stop.borrow() != Stop::Run {
            // Disconnecting: whatever the last answer advised (reconnect none, typically) is moot;
            // a connect the server left unanswered (not even woken by the disconnect) is not.
            return match turn {
                Turn::Unanswered(description) => Some(description),
                _ => None,
            };
        }
        match turn {
            Turn::Ok { flooded } => {
                failures = 0;
                let advice = shared.state().advice.clone();
                if advice.says_stop() {
                    return Some(format!(
                        "server advised to stop connecting (reconnect: {}, interval: {})",
                        advice.reconnect, advice.interval_ms
                    ));
                }
                pause = advice.interval();
                if flooded {
                    // A server answering every connect with a flood would otherwise have the
                    // client fetch floods as fast as it can parse them.
                    pause = pause.max(BACKOFF_START);
                }
            }
            Turn::Retry(description) => {
                failures += 1;
                if failures >= MAX_FAILURES {
                    return Some(format!("gave up after {failures} failed attempts in a row; the last: {description}"));
                }
                pause = backoff(failures);
                shared.problem(false, format!("{description}; retry {failures} of {} in {pause:?}", MAX_FAILURES - 1));
            }
            Turn::Handshake(error) => {
                if rehandshakes >= shared.max_reconnects {
                    return Some(format!(
                        "server asked for a new handshake ({error}) after {rehandshakes} re-handshake(s): giving up"
                    ));
                }
                rehandshakes += 1;
                shared.problem(false, format!("re-handshake after {error}"));
                shared.state().client_id = None;
                pause = shared.state().advice.interval();
            }
            Turn::Unanswered(description) => return Some(format!("{description}; giving up")),
            Turn::Stop(description) => return Some(description),
        }
    }
}

/// One connect and what its answer means. `None` when told to abort while it was held.
async fn connect(shared: &Shared, stop: &mut watch::Receiver<Stop>, client_id: &str, first: bool) -> Option<Turn> {
    let id = shared.next_id();
    let message = shared.connect_message(&id, client_id, first);
    // The server holds a connect for its advised timeout; only past that is it late. The first
    // connect of a session asks to be answered at once, so it gets no hold time.
    let hold = if first { Duration::ZERO } else { shared.state().advice.timeout };
    let deadline = hold + shared.cfg.request_timeout;
    let reply = match cancellable(stop, shared.post("connect", vec![message], deadline)).await? {
        Ok(reply) => reply,
        Err(e @ TransportError::Timeout { .. }) => {
            let asked = if first {
                "the first connect of a session asks for an answer at once".to_owned()
            } else {
                format!("the server advised holding it {hold:?}")
            };
            return Some(Turn::Unanswered(format!("connect not answered: {e} ({asked})")));
        }
        Err(e) => return Some(Turn::Retry(format!("connect failed: {e}"))),
    };
    if let Some(description) = reply.forbidden {
        // Retrying with the same token would be refused the same way.
        return Some(Turn::Stop(format!("connect refused: {description}")));
    }
    let Some(meta) = reply.meta(META_CONNECT, &id) else {
        return Some(Turn::Retry(reply.missing(META_CONNECT)));
    };
    if successful(meta) {
        return Some(Turn::Ok { flooded: reply.flooded });
    }
    let error = error_of(meta);
    let reconnect = shared.state().advice.reconnect.clone();
    Some(match reconnect.as_str() {
        "handshake" => Turn::Handshake(error),
        "none" => Turn::Stop(format!("connect refused ({error}) with advice reconnect: none")),
        _ => Turn::Retry(format!("connect refused: {error}")),
    })
}

fn backoff(failures: u32) -> Duration {
    BACKOFF_START.saturating_mul(1 << failures.saturating_sub(1).min(8)).min(BACKOFF_MAX)
}

/// Run `fut` unless told to abort first (`None` then).
async fn cancellable<T>(stop: &mut watch::Receiver<Stop>, fut: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        out = fut => Some(out),
        // A closed channel means the client is gone: as good as an abort.
        _ = stop.wait_for(|s| *s == Stop::Abort) => None,
    }
}

/// Sleep for `pause`; `false` when told to stop meanwhile.
async fn sleep_unless_stopped(pause: Duration, stop: &mut watch::Receiver<Stop>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => true,
        _ = stop.wait_for(|s| *s != Stop::Run) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_five() {
        let secs: Vec<u64> = (1..=6).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 5, 5, 5]);
    }
}
