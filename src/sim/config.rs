//! The simulator's settings: how many agents it knows, their password, per-agent chat capacity,
//! the queues it routes through, the CometD timings, documented server options, the largest
//! document it accepts, and the faults it can be asked to inject.

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
    /// The Tegsoft webchat file API profile: which hosts a `fileUrl` may name, download deadline.
    pub tegsoft: super::tegsoft::TegsoftConfig,
    /// Deliberate departures from the documented contract, for testing the harness.
    pub faults: Faults,
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
        }
    }
}

/// Contract breaches the simulator commits on purpose, so the harness can be seen catching them.
/// All off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// `statusCode` sent as a JSON string ("0") in responses to chat operations (POST /api/v2/me/chats/{id}).
    pub status_code_as_string: bool,
    /// Notifications caused by an operation carry no referenceId (the POST response still has one).
    pub omit_reference_id: bool,
    /// Accept's StatusChange says `Invited` instead of `Chatting`.
    pub wrong_state_after_accept: bool,
    /// `SendMessage` is missing from the capabilities of a Chatting chat (it still works).
    pub capability_missing: bool,
    /// Message indices skip one number every third message of a chat.
    pub index_gap: bool,
    /// The second Text message of each chat reuses the previous message's index.
    pub index_repeat: bool,
    /// Messages with visibility Agents are also returned to the customer.
    pub leak_agents_visibility: bool,
    /// Customer messages reach agents (notifications and transcripts) with " (edited)" appended.
    pub alter_customer_text: bool,
    /// No NewMessages notification is sent for an agent's SendMessage.
    pub drop_notification: bool,
}

/// What the engine takes from the configuration besides agents and capacity.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub include_message_type: bool,
    pub faults: Faults,
}
