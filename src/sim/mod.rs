//! The reference simulator: an in-process GWS v2 server speaking the documented agent Chat API,
//! the customer Chat API and CometD notifications, and a document store standing for UCS with
//! uploads and downloads, so the harness has something conforming to run against on any machine.
//! It depends only on `crate::api`. It can also break the contract on purpose (`faults`) and
//! take, at each point the documentation leaves open, any documented alternative (`latitude`),
//! for the harness's self-test.
//!
//! All state sits behind one lock in `Sim`: an operation's change and the notifications it
//! causes are made together, so every client sees notifications in the order things happened.

mod agent;
mod agent_ops;
mod attachments;
mod auth;
mod bayeux;
mod chat;
mod cometd;
mod conference;
mod config;
mod customer;
mod customer_ops;
mod documents;
mod downloads;
mod engine;
mod faults;
mod ids;
pub mod latitude;
mod lifecycle;
mod message;
mod messages;
mod reply;
mod rewrite;
mod routing;
mod server;
pub mod slow;
pub mod tegsoft;
mod time;
mod uploads;
mod userdata;
mod variant;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, Weak};

pub use config::{DEFAULT_MAX_UPLOAD, DEFAULT_QUEUE, SimConfig};
pub use documents::{LARGE_LOG, STANDARD_RESPONSES, StandardResponse};
pub use faults::{DROP_ONE_IN, Fault, Faults, NOTIFICATION_DELAY, UnknownFault};
pub use latitude::{DEFAULT_SEEDS, LatitudeError, LatitudeInfo, Latitudes, coverage, splitmix64};
pub use reply::SimError;
pub use server::{LATITUDES_PATH, RunningSim, app, start};

use auth::Sessions;
use bayeux::{Bayeux, Wake};
use engine::Engine;
use uploads::UploadDir;

/// What the simulator holds, behind one lock.
#[derive(Debug)]
pub(crate) struct SimState {
    pub engine: Engine,
    pub sessions: Sessions,
    pub bayeux: Bayeux,
    /// The `ContactCenterId` each customer chat was requested with, by customer chat id: the
    /// customer's later requests must name the same one.
    pub contact_centres: std::collections::HashMap<String, String>,
    /// Set by shutdown: connects are no longer held.
    pub shutting_down: bool,
}

/// The shared simulator: its configuration and its state.
#[derive(Debug)]
pub(crate) struct Sim {
    pub config: SimConfig,
    /// Where uploaded documents are written; files there are only read and written outside the
    /// lock.
    pub uploads: UploadDir,
    state: Mutex<SimState>,
    /// The simulator itself, for the tasks that deliver delayed notifications.
    me: Weak<Sim>,
}

impl Sim {
    /// A simulator that knows its own `Arc` (see `me`).
    fn new(config: SimConfig) -> Arc<Sim> {
        Arc::new_cyclic(|me| {
            let state = SimState {
                engine: Engine::new(&config),
                sessions: Sessions::new(auth::Policy {
                    csrf_writes: !config.faults.csrf_not_enforced,
                    csrf_cometd: !config.faults.csrf_not_enforced
                        && config.latitudes.csrf_cometd == latitude::CsrfCometd::Enforced,
                    rotate_at_login: config.latitudes.login_rotation == latitude::LoginRotation::Rotate,
                }),
                bayeux: Bayeux::new(config.cometd_max_interval, config.latitudes),
                contact_centres: std::collections::HashMap::new(),
                shutting_down: false,
            };
            Sim { config, uploads: UploadDir::new(), state: Mutex::new(state), me: me.clone() }
        })
    }

    /// Run `f` on the state, then hand the notifications it caused to the Bayeux clients before
    /// the lock is released. Never held across an await.
    pub fn with<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        // A panic in another request leaves state that is still consistent enough to serve.
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut guard);
        let state = &mut *guard;
        if !state.engine.outbox.is_empty() {
            let pushes = std::mem::take(&mut state.engine.outbox);
            state.bayeux.deliver(pushes);
        }
        if !state.engine.delayed.is_empty() {
            let late = std::mem::take(&mut state.engine.delayed);
            drop(guard);
            self.deliver_late(late);
        }
        result
    }

    /// Deliver `pushes` after `NOTIFICATION_DELAY` (the `delay-notifications` fault), or at once
    /// when no runtime can wait for them.
    fn deliver_late(&self, pushes: Vec<engine::Push>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.with(|st| st.bayeux.deliver(pushes));
            return;
        };
        let me = Weak::clone(&self.me);
        runtime.spawn(async move {
            tokio::time::sleep(NOTIFICATION_DELAY).await;
            // A simulator stopped meanwhile has nobody left to tell.
            if let Some(sim) = me.upgrade() {
                sim.with(|st| st.bayeux.deliver(pushes));
            }
        });
    }
}

/// A handle on a simulator's state for tests and for the embedding program.
#[derive(Clone, Debug)]
pub struct SimHandle {
    sim: Arc<Sim>,
}

/// Counts a test can assert on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Chats customers requested since start.
    pub chats_created: usize,
    /// Chats waiting for an agent now.
    pub chats_waiting: usize,
    /// Bayeux clients alive (handshaken, not disconnected, not expired).
    pub bayeux_clients: usize,
    /// `/meta/connect` requests held open now.
    pub held_connects: usize,
    /// Logged-in HTTP sessions (anonymous ones not counted).
    pub http_sessions: usize,
    /// Documents UCS holds: the standard responses and every complete upload.
    pub documents: usize,
    /// Agents with a contact-centre session started and not ended.
    pub agents_in_session: usize,
    /// Agents holding a chat not yet Completed or Revoked.
    pub agents_holding_chats: usize,
}

impl SimHandle {
    /// Forget every Bayeux client (as a server restart or maxInterval expiry would): their next
    /// connect/subscribe gets `402::Unknown client` with advice reconnect=handshake.
    pub fn forget_bayeux_clients(&self) {
        self.sim.with(|st| st.bayeux.forget_all());
    }

    /// Counts for tests: chats created, Bayeux clients alive, connects currently held.
    pub fn stats(&self) -> SimStats {
        self.sim.with(|st| SimStats {
            chats_created: st.engine.chats_created(),
            chats_waiting: st.engine.chats_waiting(),
            bayeux_clients: st.bayeux.count(),
            held_connects: st.bayeux.held_count(),
            http_sessions: st.sessions.count(),
            documents: st.engine.documents(),
            agents_in_session: st.engine.agents_in_session(),
            agents_holding_chats: st.engine.agents_holding_chats(),
        })
    }

    /// The directory uploaded documents are written to. It exists from the first upload until
    /// the simulator stops.
    pub fn upload_dir(&self) -> &Path {
        self.sim.uploads.path()
    }

    /// Delete the uploaded documents' directory, once no request can be writing to it.
    fn remove_uploads(&self) {
        self.sim.uploads.remove();
    }

    /// Stop holding connects and answer the held ones, as a server going down does.
    fn begin_shutdown(&self) {
        self.sim.with(|st| {
            st.shutting_down = true;
            st.bayeux.wake_all(Wake::Shutdown);
        });
    }
}
