//! A Bayeux 1.0 long-polling client (CometD) on `{base}/api/v2/notifications`, written for a
//! contract harness: every HTTP answer and every message (meta replies and data alike) goes to
//! the caller as a [`BayeuxEvent`], in arrival order, so each can be checked against a schema.
//!
//! `start` handshakes and subscribes, then a task runs the connect loop: one outstanding connect,
//! sticky advice, re-handshake on `reconnect:"handshake"`, bounded back-off on transport errors.
//! Nothing here waits without a deadline, and `disconnect` ends the loop even when the server
//! never answers.
//!
//! The client rides on an agent's HTTP session: its cookie jar (JSESSIONID) and its CSRF token,
//! read again before every POST, since GWS wants the token on every POST (CSRFProtection page)
//! and a server may rotate it. An HTTP 403 is reported as the CSRF refusal it most likely is.
//!
//! The client does not advertise the `ack` extension: the GWS documentation never mentions it,
//! and a CometD server that has it switches to another delivery path once a client asks (events
//! only on connect replies, resent until acknowledged), so the harness would no longer see what
//! the GWS clients see. A lost connect answer is reported instead.

mod session;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::agent::SharedCsrf;
use super::exchange::{Exchange, TransportError};
use super::{AgentSession, ClientConfig};
use crate::api;
use wire::Advice;
pub(crate) use wire::read_answer;

/// How long `disconnect` waits for the loop once told to abandon its connect.
const ABORT_GRACE: Duration = Duration::from_secs(1);

/// What the client subscribes to and how hard it tries to stay connected.
#[derive(Clone, Debug)]
pub struct BayeuxOptions {
    pub subscriptions: Vec<String>,
    /// Handshakes after the first that the client makes when the server forgets it; past
    /// that the loop ends with a fatal problem.
    pub max_reconnects: u32,
    pub client: ClientConfig,
}

impl Default for BayeuxOptions {
    fn default() -> Self {
        BayeuxOptions {
            subscriptions: vec![api::CHANNEL_CHATS.to_owned()],
            max_reconnects: 5,
            client: ClientConfig::default(),
        }
    }
}

/// What the client saw, in arrival order.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "each event is moved once through a channel; the agreed API is unboxed")]
pub enum BayeuxEvent {
    /// Every Bayeux message received, meta replies and data alike, in arrival order.
    Message { received_at: Instant, message: Value },
    /// The HTTP side of each Bayeux POST (status, content type, unparsable bodies...).
    Exchange(Exchange),
    /// A transport failure or protocol problem. `fatal` when the client could not recover from
    /// it: the loop ended on it, or the server left a connect unanswered (notifications it held
    /// are lost). Otherwise the client recovered (a retry, a re-handshake the server asked for);
    /// the description says how.
    Problem { fatal: bool, description: String },
    /// The loop ended (after disconnect, a fatal problem, or `reconnect: none`). Sent once.
    Closed,
}

/// Why `start` or `disconnect` failed.
#[derive(Debug, thiserror::Error)]
pub enum BayeuxError {
    #[error("CometD {step}: {source}")]
    Transport {
        step: String,
        #[source]
        source: TransportError,
    },
    /// The server answered `successful:false`.
    #[error("CometD {step} refused: {error}")]
    Refused { step: String, error: String, reconnect: String },
    /// The answer is not a usable Bayeux reply.
    #[error("CometD {step}: {problem}")]
    Protocol { step: String, problem: String },
    /// HTTP 403: the server refused the POST itself, as GWS refuses a write without a valid CSRF
    /// token. The description says which token the POST carried.
    #[error("CometD {step}: {description}")]
    Forbidden { step: String, description: String },
}

/// Bayeux 1.0 long-polling client (CometD) on `{base}/api/v2/notifications`.
pub struct BayeuxClient {
    shared: Arc<Shared>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl BayeuxClient {
    /// Handshake and subscribe on the agent's session (returns once both are answered, or an
    /// error), then run the connect loop in a tokio task. Events go to the returned receiver.
    /// Every POST carries the session's cookies and its CSRF token as it stands at that moment.
    pub async fn start(
        session: &AgentSession,
        opts: BayeuxOptions,
    ) -> Result<(BayeuxClient, mpsc::UnboundedReceiver<BayeuxEvent>), BayeuxError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(Stop::Run);
        let shared = Arc::new(Shared {
            http: session.http(),
            csrf: session.shared_csrf(),
            url: format!("{}{}", session.base_url(), api::NOTIFICATIONS_PATH),
            subscriptions: opts.subscriptions,
            max_reconnects: opts.max_reconnects,
            cfg: opts.client,
            next_id: Mutex::new(0),
            state: Mutex::new(State::default()),
            events: Emitter { tx: Mutex::new(Some(tx)) },
            stop,
        });
        shared.establish().await?;
        let task = tokio::spawn(session::run(Arc::clone(&shared), stop_rx));
        Ok((BayeuxClient { shared, task: Some(task) }, rx))
    }

    /// The current session's clientId (none while the client is between sessions).
    pub fn client_id(&self) -> Option<String> {
        self.shared.state().client_id.clone()
    }

    /// Successful handshakes so far, the first and every re-handshake.
    pub fn handshakes(&self) -> u32 {
        self.shared.state().handshakes
    }

    /// Send /meta/disconnect, stop the loop, wait (bounded) for it to end.
    pub async fn disconnect(mut self) -> Result<(), BayeuxError> {
        // Drain: the connect in flight may finish (the server wakes it on disconnect, and what
        // it carries is still reported), but no new one starts.
        self.shared.stop.send_replace(Stop::Drain);
        let client_id = self.shared.state().client_id.clone();
        let result = match client_id {
            Some(id) => self.shared.disconnect(&id).await,
            None => Ok(()),
        };
        if let Some(mut task) = self.task.take() {
            let grace = self.shared.cfg.request_timeout;
            let ended = result.is_ok() && tokio::time::timeout(grace, &mut task).await.is_ok();
            if !ended {
                self.shared.stop.send_replace(Stop::Abort);
                if tokio::time::timeout(ABORT_GRACE, &mut task).await.is_err() {
                    task.abort();
                }
                if result.is_ok() {
                    // The server must wake the held connect when it disconnects the client.
                    self.shared.problem(
                        true,
                        format!("the held connect was not answered within {grace:?} of the disconnect reply"),
                    );
                }
            }
        }
        self.shared.state().client_id = None;
        self.shared.events.close();
        result
    }
}

impl Drop for BayeuxClient {
    /// A client dropped without `disconnect` must not keep polling.
    fn drop(&mut self) {
        self.shared.stop.send_replace(Stop::Abort);
    }
}

/// How far the loop has been told to stop; ordered by urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    Run,
    /// Finish the request in flight, start no other.
    Drain,
    /// Abandon the request in flight.
    Abort,
}

/// What the caller's handle and the loop task share.
struct Shared {
    http: reqwest::Client,
    /// The agent session's CSRF token, sent on every POST.
    csrf: SharedCsrf,
    /// `{base}/api/v2/notifications`; each message type is posted to a sub-path of it.
    url: String,
    subscriptions: Vec<String>,
    max_reconnects: u32,
    cfg: ClientConfig,
    /// Last message id used; ids count "1", "2", ... across all messages, like CometD clients.
    next_id: Mutex<u64>,
    state: Mutex<State>,
    events: Emitter,
    stop: watch::Sender<Stop>,
}

#[derive(Default)]
struct State {
    client_id: Option<String>,
    handshakes: u32,
    advice: Advice,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_id(&self) -> String {
        let mut id = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
        *id += 1;
        id.to_string()
    }

    fn problem(&self, fatal: bool, description: String) {
        self.events.send(BayeuxEvent::Problem { fatal, description });
    }
}

/// The sending side of the event channel; `close` sends `Closed` once and drops the sender.
struct Emitter {
    tx: Mutex<Option<mpsc::UnboundedSender<BayeuxEvent>>>,
}

impl Emitter {
    fn send(&self, ev: BayeuxEvent) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            // The caller dropping its receiver is its way of not listening; nothing to report.
            let _ = tx.send(ev);
        }
    }

    fn close(&self) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = tx.send(BayeuxEvent::Closed);
        }
    }
}
