//! The simulator's settings: how many agents it knows, their password, per-agent chat capacity,
//! the queues it routes through, the CometD timings, documented server options, the largest
//! document it accepts, the faults it can be asked to inject, and whether it runs as the variant.

use std::time::Duration;

use super::faults::Faults;

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
    /// The variant: a server that stays inside the documentation but differs from the default
    /// wherever the documentation allows (id formats, timestamp forms, extra fields, batching,
    /// referenceId in responses, an External participant, routing order). See `variant`.
    pub variant: bool,
    /// The one `ContactCenterId` customer requests must name; any value is taken when None.
    pub contact_center_id: Option<String>,
    /// Longest wait for a request's header, and for the next request on an idle connection.
    pub header_read_timeout: Duration,
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
            variant: false,
            contact_center_id: None,
            header_read_timeout: super::server::HEADER_READ_TIMEOUT,
        }
    }
}

/// The capacity the variant preset gives each agent: another number than the default's (the
/// leave-and-complete scenario needs three chats at once).
pub const VARIANT_CAPACITY: usize = 4;

impl SimConfig {
    /// The variant preset: variant behaviour and another per-agent capacity.
    pub fn variant() -> SimConfig {
        SimConfig { variant: true, capacity: VARIANT_CAPACITY, ..SimConfig::default() }
    }
}

/// What the engine takes from the configuration besides agents and capacity.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub include_message_type: bool,
    pub faults: Faults,
    pub variant: bool,
}
