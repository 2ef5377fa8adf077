//! One chat as the simulator keeps it: the customer, the agents it was offered to, the
//! transcript, and the JSON views of it that the agent and the customer are shown.

use ::time::OffsetDateTime;
use serde_json::{Map, Value, json};

use super::time;
use crate::api::{self, ChatState, CustomerChatState, Visibility};

/// Someone in a chat: the customer, or an agent who accepted it.
#[derive(Debug, Clone)]
pub(crate) struct Participant {
    pub id: String,
    pub nickname: String,
    /// The agent's user id; `None` for the customer.
    pub user_id: Option<String>,
}

impl Participant {
    fn kind(&self) -> &'static str {
        if self.user_id.is_some() { "Agent" } else { "Customer" }
    }

    /// As listed in a chat resource's `participants`.
    pub fn resource(&self, host: &str) -> Value {
        let mut p = json!({
            "id": self.id,
            "participantId": self.id,
            "nickname": self.nickname,
            "type": self.kind(),
            "visibility": Visibility::All.as_str(),
        });
        if let (Some(user), Some(map)) = (&self.user_id, p.as_object_mut()) {
            map.insert("uri".into(), Value::String(format!("http://{host}/api/v2/users/{user}")));
            map.insert("path".into(), Value::String(format!("/users/{user}")));
        }
        p
    }

    /// As a message's `from`.
    fn sender(&self) -> Value {
        json!({
            "id": self.id,
            "participantId": self.id,
            "nickname": self.nickname,
            "type": self.kind(),
            "visibility": Visibility::All.as_str(),
        })
    }

    /// As the customer side lists participants.
    fn customer_view(&self) -> Value {
        json!({"nickname": self.nickname, "participantId": self.id, "type": self.kind()})
    }
}

/// Transcript message types the simulator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageType {
    ParticipantJoined,
    ParticipantLeft,
    Text,
    TypingStarted,
    TypingStopped,
}

impl MessageType {
    fn as_str(self) -> &'static str {
        match self {
            MessageType::ParticipantJoined => "ParticipantJoined",
            MessageType::ParticipantLeft => "ParticipantLeft",
            MessageType::Text => "Text",
            MessageType::TypingStarted => "TypingStarted",
            MessageType::TypingStopped => "TypingStopped",
        }
    }
}

/// One transcript entry; every one is visible to all.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub index: u64,
    pub kind: MessageType,
    pub from: Participant,
    pub text: Option<String>,
    pub at: OffsetDateTime,
}

impl Message {
    pub fn to_json(&self) -> Value {
        let mut m = json!({
            "index": self.index,
            "type": self.kind.as_str(),
            "from": self.from.sender(),
            "visibility": Visibility::All.as_str(),
            "timestamp": time::message_timestamp(self.at),
            "timestampSeconds": time::epoch_millis(self.at),
        });
        if let (Some(text), Some(map)) = (&self.text, m.as_object_mut()) {
            map.insert("text".into(), Value::String(text.clone()));
        }
        m
    }
}

/// The chat as one agent has it.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    /// Agent number (1-based).
    pub agent: usize,
    pub state: ChatState,
    /// Set once the agent accepted.
    pub participant: Option<Participant>,
}

impl Assignment {
    /// Counts against the agent's capacity.
    pub fn is_active(&self) -> bool {
        matches!(self.state, ChatState::Invited | ChatState::Chatting)
    }

    /// Still listed among the agent's chats.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, ChatState::Completed | ChatState::Revoked)
    }
}

/// A chat from RequestChat to its end.
#[derive(Debug)]
pub(crate) struct Chat {
    /// Agent-side (interaction) id.
    pub id: String,
    /// Customer-side id.
    pub customer_id: String,
    pub customer: Participant,
    pub customer_present: bool,
    pub customer_state: CustomerChatState,
    /// Every agent the chat was offered to, in order; at most one entry per agent.
    pub assignments: Vec<Assignment>,
    pub transcript: Vec<Message>,
    pub user_data: Map<String, Value>,
    pub queue: String,
    pub received: OffsetDateTime,
}

impl Chat {
    pub fn assignment(&self, agent: usize) -> Option<&Assignment> {
        self.assignments.iter().find(|a| a.agent == agent)
    }

    pub fn assignment_mut(&mut self, agent: usize) -> Option<&mut Assignment> {
        self.assignments.iter_mut().find(|a| a.agent == agent)
    }

    /// Whether `agent` has refused or been offered it before (never offered twice).
    pub fn was_offered_to(&self, agent: usize) -> bool {
        self.assignment(agent).is_some()
    }

    /// Agents currently in the conversation (accepted, not left).
    pub fn chatting_agents(&self) -> impl Iterator<Item = &Assignment> {
        self.assignments.iter().filter(|a| a.state == ChatState::Chatting)
    }

    /// Who is in the conversation now.
    fn present(&self) -> Vec<&Participant> {
        let customer = self.customer_present.then_some(&self.customer);
        customer.into_iter().chain(self.chatting_agents().filter_map(|a| a.participant.as_ref())).collect()
    }

    /// Append a message and return it.
    pub fn append(&mut self, kind: MessageType, from: Participant, text: Option<String>) -> &Message {
        let index = self.transcript.len() as u64 + 1;
        self.transcript.push(Message { index, kind, from, text, at: time::now() });
        // Pushed just above, so there is a last element.
        &self.transcript[self.transcript.len() - 1]
    }

    pub fn path(&self) -> String {
        format!("/chats/{}", self.id)
    }

    pub fn uri(&self, host: &str) -> String {
        format!("http://{host}/api/v2/chats/{}", self.id)
    }

    /// The chat resource as `agent` sees it.
    pub fn agent_view(&self, agent: usize, host: &str) -> Value {
        let state = self.assignment(agent).map_or(ChatState::Revoked, |a| a.state);
        let participants: Vec<Value> = if matches!(state, ChatState::Completed | ChatState::Revoked) {
            Vec::new()
        } else {
            self.present().into_iter().map(|p| p.resource(host)).collect()
        };
        json!({
            "id": self.id,
            "uri": self.uri(host),
            "path": self.path(),
            "state": state.as_str(),
            "capabilities": api::capabilities_in(state),
            "participants": participants,
            "userData": self.user_data,
            "chatType": "Inbound",
            "interactionQueue": self.queue,
            "receivedDate": time::received_date(self.received),
        })
    }

    /// The chat resource as the customer sees it.
    pub fn customer_view(&self) -> Value {
        let capabilities: &[&str] =
            if self.customer_state == CustomerChatState::Idle { &[] } else { api::CUSTOMER_OPERATIONS };
        json!({
            "id": self.customer_id,
            "state": self.customer_state.as_str(),
            "capabilities": capabilities,
            "participants": self.present().into_iter().map(Participant::customer_view).collect::<Vec<_>>(),
        })
    }

    /// Messages with index >= `from`, at most `count` of them.
    pub fn messages(&self, from: u64, count: Option<usize>) -> Vec<Value> {
        let start = usize::try_from(from.max(1) - 1).unwrap_or(usize::MAX);
        let rest = self.transcript.get(start..).unwrap_or(&[]);
        rest.iter().take(count.unwrap_or(usize::MAX)).map(Message::to_json).collect()
    }
}
