//! Who speaks in a chat and what is said: participants, transcript messages and their JSON as
//! the agents and the customer are shown them.

use ::time::OffsetDateTime;
use serde_json::{Value, json};

use super::config::Options;
use super::latitude::{CustomerTimeField, CustomerVisibility, ExtraFields, TimestampForm};
use super::{time, variant};
use crate::api::Visibility;

/// What an agent-bound copy of a customer's text gets under the `alter_customer_text` fault.
const EDITED_SUFFIX: &str = " (edited)";

/// Someone in a chat: the customer, or an agent who accepted it.
#[derive(Debug, Clone)]
pub(crate) struct Participant {
    pub id: String,
    pub nickname: String,
    /// The agent's user id; `None` for the customer.
    pub user_id: Option<String>,
    /// All, or Agents for a consultant (whom the customer never sees).
    pub visibility: Visibility,
    /// An External participant (a bot), neither customer nor agent.
    pub external: bool,
}

impl Participant {
    pub fn is_customer(&self) -> bool {
        self.user_id.is_none() && !self.external
    }

    fn kind(&self) -> &'static str {
        if self.external {
            "External"
        } else if self.is_customer() {
            "Customer"
        } else {
            "Agent"
        }
    }

    /// As a message's `from`.
    fn sender(&self) -> Value {
        json!({
            "id": self.id,
            "participantId": self.id,
            "nickname": self.nickname,
            "type": self.kind(),
            "visibility": self.visibility.as_str(),
        })
    }

    /// As listed in an agent-side chat resource's `participants`.
    pub fn resource(&self, host: &str) -> Value {
        let mut p = self.sender();
        if let (Some(user), Some(map)) = (&self.user_id, p.as_object_mut()) {
            map.insert("uri".into(), Value::String(format!("{}/api/v2/users/{user}", super::agent::origin(host))));
            map.insert("path".into(), Value::String(format!("/users/{user}")));
        }
        p
    }

    /// As the customer side lists participants.
    pub fn customer_view(&self) -> Value {
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
    PushUrl,
    Notice,
    CustomNotice,
    /// File uploaded or deleted (UploadFile, DeleteFile).
    SystemCommand,
}

impl MessageType {
    fn as_str(self) -> &'static str {
        match self {
            MessageType::ParticipantJoined => "ParticipantJoined",
            MessageType::ParticipantLeft => "ParticipantLeft",
            MessageType::Text => "Text",
            MessageType::TypingStarted => "TypingStarted",
            MessageType::TypingStopped => "TypingStopped",
            MessageType::PushUrl => "PushUrl",
            MessageType::Notice => "Notice",
            MessageType::CustomNotice => "CustomNotice",
            MessageType::SystemCommand => "SystemCommand",
        }
    }
}

/// A message about to be added to a transcript: everything but its index and time.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub kind: MessageType,
    pub from: Participant,
    pub visibility: Visibility,
    pub text: Option<String>,
    pub url: Option<String>,
    pub notice_text: Option<String>,
    /// The `attachment` object of a SystemCommand message, as shown to everyone.
    pub attachment: Option<Value>,
    /// The sender's custom `messageType`, shown only with the `include_message_type` option.
    pub message_type: Option<String>,
}

impl Draft {
    /// A message of `kind` from `from`, as visible as its sender (a consultant speaks to agents
    /// only).
    pub fn new(kind: MessageType, from: &Participant) -> Draft {
        Draft {
            kind,
            from: from.clone(),
            visibility: from.visibility,
            text: None,
            url: None,
            notice_text: None,
            attachment: None,
            message_type: None,
        }
    }

    pub fn text(mut self, text: impl Into<String>) -> Draft {
        self.text = Some(text.into());
        self
    }

    pub fn url(mut self, url: impl Into<String>) -> Draft {
        self.url = Some(url.into());
        self
    }

    pub fn notice_text(mut self, notice: impl Into<String>) -> Draft {
        self.notice_text = Some(notice.into());
        self
    }

    pub fn attachment(mut self, attachment: Value) -> Draft {
        self.attachment = Some(attachment);
        self
    }

    pub fn message_type(mut self, message_type: Option<String>) -> Draft {
        self.message_type = message_type;
        self
    }

    /// Seen by agents only, whoever sends it.
    pub fn agents_only(mut self) -> Draft {
        self.visibility = Visibility::Agents;
        self
    }
}

/// Who a message is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Agent,
    Customer,
}

/// One transcript entry.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub index: u64,
    pub at: OffsetDateTime,
    pub content: Draft,
}

impl Message {
    /// Whether the customer may see it.
    pub fn for_customer(&self, opts: &Options) -> bool {
        self.content.visibility == Visibility::All || opts.faults.leak_agents_visibility
    }

    pub fn to_json(&self, audience: Audience, opts: &Options) -> Value {
        let c = &self.content;
        let timestamp = if opts.faults.garbage_timestamp {
            time::rfc2822(self.at)
        } else {
            time::message_timestamp(self.at, opts.lat.timestamp_form == TimestampForm::MessageSpace)
        };
        let mut m = json!({
            "index": self.index,
            "type": c.kind.as_str(),
            "from": c.from.sender(),
            "visibility": c.visibility.as_str(),
            "timestamp": timestamp,
            "timestampSeconds": time::epoch_millis(self.at),
        });
        let Some(map) = m.as_object_mut() else { return m };
        if opts.lat.extra_fields == ExtraFields::Everywhere {
            variant::extra_message_fields(map, self.index);
        }
        if let Some(text) = &c.text {
            let edited = opts.faults.alter_customer_text && audience == Audience::Agent && c.from.is_customer();
            let shown = if edited { format!("{text}{EDITED_SUFFIX}") } else { text.clone() };
            map.insert("text".into(), Value::String(shown));
        }
        if let Some(url) = &c.url {
            map.insert("url".into(), Value::String(url.clone()));
        }
        if let Some(notice) = &c.notice_text {
            map.insert("noticeText".into(), Value::String(notice.clone()));
        }
        if let Some(attachment) = &c.attachment {
            map.insert("attachment".into(), attachment.clone());
        }
        if let Some(kind) = c.message_type.as_ref().filter(|_| opts.include_message_type) {
            map.insert("messageType".into(), Value::String(kind.clone()));
        }
        if audience == Audience::Customer {
            if opts.lat.customer_visibility == CustomerVisibility::Without {
                map.remove("visibility");
            }
            if opts.lat.customer_time_field == CustomerTimeField::UtcTime {
                map.remove("timestamp");
                map.remove("timestampSeconds");
                map.insert("utcTime".into(), json!(time::epoch_millis(self.at)));
            }
        }
        m
    }
}
