//! The simulator's settings: how many agents it knows, their password, per-agent chat capacity,
//! the CometD timings, and the faults it can be asked to inject.

use std::time::Duration;

/// Everything that shapes one simulator instance.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Agents `agent1`..`agentN`.
    pub agents: usize,
    /// The one password every agent logs in with.
    pub password: String,
    /// Most chats an agent holds at once (Invited + Chatting).
    pub capacity: usize,
    /// How long a `/meta/connect` is held when nothing is queued.
    pub cometd_timeout: Duration,
    /// A Bayeux client with no connect for this long after its last connect answer is dropped.
    pub cometd_max_interval: Duration,
    /// Deliberate departures from the documented contract, for testing the harness.
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            agents: 100,
            password: "password".to_owned(),
            capacity: 3,
            cometd_timeout: Duration::from_secs(30),
            cometd_max_interval: Duration::from_secs(10),
            faults: Faults::default(),
        }
    }
}

/// Contract breaches the simulator commits on purpose, so the harness can be seen catching them.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// `statusCode` sent as a JSON string ("0") in responses to chat operations (POST /api/v2/me/chats/{id}).
    pub status_code_as_string: bool,
}
