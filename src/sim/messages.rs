//! What agents say: SendMessage, SendUrl, the typing notifications, custom notices and their
//! agents-only forms. The catalogue says which message each operation adds and how visible it is.

use super::agent_ops::Call;
use super::engine::Engine;
use super::message::{Draft, MessageType};
use super::reply::SimError;
use crate::api::{Operation, Visibility};

impl MessageType {
    /// The transcript message type of a documented `type` name.
    fn parse(name: &str) -> Option<MessageType> {
        Some(match name {
            "Text" => MessageType::Text,
            "PushUrl" => MessageType::PushUrl,
            "TypingStarted" => MessageType::TypingStarted,
            "TypingStopped" => MessageType::TypingStopped,
            "CustomNotice" => MessageType::CustomNotice,
            "Notice" => MessageType::Notice,
            "ParticipantJoined" => MessageType::ParticipantJoined,
            "ParticipantLeft" => MessageType::ParticipantLeft,
            _ => return None,
        })
    }
}

impl Engine {
    /// The message `op` adds, after the +T text if any, to every agent in the conversation.
    pub(super) fn send(&mut self, call: &Call, op: &Operation) -> Result<(), SimError> {
        let kind = op.message.and_then(|m| MessageType::parse(m.message_type).map(|k| (k, m.visibility)));
        let (Some((kind, visibility)), Some(me)) = (kind, self.participant_of(call.agent, call.chat)) else {
            return Err(SimError::InvalidState(format!("Operation {} is not supported by the simulator", op.name)));
        };
        if op.takes_text() {
            self.say_text_first(call);
        }
        let mut draft = Draft::new(kind, &me);
        if visibility == Visibility::Agents {
            draft = draft.agents_only();
        }
        draft = match kind {
            MessageType::Text => draft
                .text(call.str("text").unwrap_or_default())
                .message_type(call.str("messageType").map(str::to_owned)),
            MessageType::PushUrl => draft.url(call.str("url").unwrap_or_default()),
            MessageType::CustomNotice => draft.notice_text(call.str("noticeText").unwrap_or_default()),
            _ => draft,
        };
        if self.opts.faults.drop_notification && op.name == "SendMessage" {
            if let Some(chat) = self.chats.get_mut(call.chat) {
                chat.append(draft);
            }
        } else {
            self.say(call.chat, draft, Some(call.origin()), call.host);
        }
        Ok(())
    }
}
