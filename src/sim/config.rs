//! The simulator's settings: how many agents it knows, their password, per-agent chat capacity,
//! the queues it routes through, the CometD timings, documented server options, the largest
//! document it accepts, the faults it can be asked to inject, and the alternative it takes at each
//! latitude the documentation leaves open.

use std::time::Duration;

use super::faults::Faults;
use super::latitude::{Capacity, Latitudes};

/// Everything that shapes one simulator instance.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Agents `agent1`..`agentN`.
    pub agents: usize,
    /// The one password every agent logs in with.
    pub password: String,
    /// Most chats an agent holds at once (Invited + Chatting).
    pub capacity: usize,
    /// Queues a chat can be transferred, completed or consulted to (by `queueName` or queue
    /// URI); a queue a customer's RequestChat named as `endpoint` exists too.
    pub queues: Vec<String>,
    /// The GWS option `includeMessageType`: echo SendMessage's `messageType` in the message.
    pub include_message_type: bool,
    /// How long a `/meta/connect` is held when nothing is queued.
    pub cometd_timeout: Duration,
    /// A Bayeux client with no connect for this long after its last connect answer is dropped.
    pub cometd_max_interval: Duration,
    /// Largest document "Add New Document" accepts, in bytes; a larger one is refused with HTTP
    /// 413 and statusCode 10.
    pub max_upload: u64,
    /// The Tegsoft webchat file API: the profile served, which hosts a `fileUrl` may name, the
    /// download deadline.
    pub tegsoft: super::tegsoft::TegsoftConfig,
    /// Deliberate departures from the documented contract, for testing the harness.
    pub faults: Faults,
    /// The alternative taken at each point the documentation leaves open (see `latitude`).
    pub latitudes: Latitudes,
    /// The one `ContactCenterId` customer requests must name; any value is taken when None.
    pub contact_center_id: Option<String>,
    /// Longest wait for a request's header, and for the next request on an idle connection.
    pub header_read_timeout: Duration,
    /// Clients reach the simulator through TLS (a terminating proxy in front of it): the URIs
    /// it hands out say `https`, as if every request carried `X-Forwarded-Proto: https`.
    pub behind_tls: bool,
    /// Extra latency of some agent operations (benchmarks of the baseline gate).
    pub slow: super::slow::Slow,
    /// Time every API request but the CometD transport's takes before it is handled, as a
    /// server's own work (benchmarks against answers that are not all sub-millisecond).
    pub work: Duration,
}

/// The queue a chat requested without an `endpoint` waits in.
pub const DEFAULT_QUEUE: &str = "default";

/// The default `max_upload`: 50 MiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 50 * 1024 * 1024;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            agents: 100,
            password: "password".to_owned(),
            capacity: 3,
            queues: [DEFAULT_QUEUE, "ChatQueue", "ConsultQueue", "TransferQueue"].map(str::to_owned).to_vec(),
            include_message_type: false,
            cometd_timeout: Duration::from_secs(30),
            cometd_max_interval: Duration::from_secs(10),
            max_upload: DEFAULT_MAX_UPLOAD,
            tegsoft: super::tegsoft::TegsoftConfig::default(),
            faults: Faults::default(),
            latitudes: Latitudes::default(),
            contact_center_id: None,
            header_read_timeout: super::server::HEADER_READ_TIMEOUT,
            behind_tls: false,
            slow: super::slow::Slow::default(),
            work: Duration::ZERO,
        }
    }
}

impl SimConfig {
    /// The variant preset: the last alternative of every latitude.
    pub fn variant() -> SimConfig {
        SimConfig { latitudes: Latitudes::variant(), ..SimConfig::default() }
    }

    /// The simulator of variant seed `seed` (see `Latitudes::from_seed`).
    pub fn seeded(seed: u64) -> SimConfig {
        SimConfig { latitudes: Latitudes::from_seed(seed), ..SimConfig::default() }
    }

    /// Per-agent capacity once the `capacity` latitude is applied.
    pub fn effective_capacity(&self) -> usize {
        match self.latitudes.capacity {
            Capacity::AsConfigured => self.capacity,
            Capacity::OneMore => self.capacity + 1,
        }
    }
}

/// What the engine takes from the configuration besides agents and capacity.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub include_message_type: bool,
    pub faults: Faults,
    pub lat: Latitudes,
}
