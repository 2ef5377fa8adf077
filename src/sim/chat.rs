//! One chat as the simulator keeps it: the customer, the agents it was offered to and how, the
//! transcript, the documents linked to it and the files uploaded into it, and the JSON views of
//! it that the agents and the customer are shown.

use ::time::OffsetDateTime;
use serde_json::{Map, Value, json};

use super::config::Options;
use super::latitude::{AttachmentCapabilities, ExtraFields, InvitedUserdataCapabilities, TimestampForm};
use super::message::{Audience, Draft, Message, MessageType, Participant};
use super::{time, variant};
use crate::api::{self, ChatContext, ChatState, CustomerChatState, Visibility};

/// The agent whose request caused something, and that request's referenceId: notifications it
/// causes for that agent carry the referenceId.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub agent: usize,
    pub reference: u64,
}

/// The userData operations, which `invited-userdata-capabilities=with` adds to an Invited
/// chat's capabilities (and allows on it).
pub(crate) const USERDATA_OPERATIONS: &[&str] = &["AttachUserData", "UpdateUserData", "DeleteUserData"];

/// The attachment operations, which `attachment-capabilities=absent` leaves out of the list.
const ATTACHMENT_OPERATIONS: &[&str] = &["AddAttachment", "RemoveAttachment", "UploadFile", "DeleteFile"];

/// How a chat came to be offered to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Routed from a queue to a Ready agent.
    Routed,
    /// Transferred to this agent by name.
    Transfer,
    /// Invited to a conference.
    Invite(Origin),
    /// Asked to consult: joins with visibility Agents.
    Consult(Origin),
}

impl Offer {
    pub fn inviter(self) -> Option<Origin> {
        match self {
            Offer::Invite(by) | Offer::Consult(by) => Some(by),
            Offer::Routed | Offer::Transfer => None,
        }
    }

    /// The visibility the agent has once it accepts.
    pub fn joins_as(self) -> Visibility {
        if matches!(self, Offer::Consult(_)) { Visibility::Agents } else { Visibility::All }
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
    pub offer: Offer,
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

    fn is_consultant(&self) -> bool {
        self.state == ChatState::Chatting && matches!(self.offer, Offer::Consult(_))
    }
}

/// A document linked to the chat (AddAttachment, Add New Document), as its `attachments` list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Linked {
    pub document: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
}

impl Linked {
    fn resource(&self, chat_id: &str, host: &str) -> Value {
        json!({
            "id": self.document,
            "mime": self.mime,
            "name": self.name,
            "path": api::catalogue::attachment_path(&self.document),
            "size": self.size,
            "uri": format!("{}{}", super::agent::origin(host), api::catalogue::chat_attachment_download(chat_id, &self.document)),
        })
    }
}

/// A file uploaded into the conversation (UploadFile), until DeleteFile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uploaded {
    pub file_id: String,
    pub document: String,
    /// Its message is visible to the customer, who may then download it.
    pub for_customer: bool,
}

/// How message indices are numbered: one after the other unless a fault says otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Numbering {
    /// Skip one number every third message.
    pub gap: bool,
    /// The second Text message reuses the previous index.
    pub repeat: bool,
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
    /// A Consult sent to a queue, waiting there for an agent.
    pub queued_consult: Option<Origin>,
    /// Documents linked to the chat, in the order they were linked.
    pub attachments: Vec<Linked>,
    /// Files uploaded into the conversation and not deleted.
    pub files: Vec<Uploaded>,
    /// The External participant (`external-bot=joins-after-customer`), by participant id.
    pub bot: Option<String>,
    /// The highest message index returned to the customer so far.
    pub customer_read: u64,
    numbering: Numbering,
    /// Text messages so far.
    texts: usize,
}

impl Chat {
    pub fn new(
        id: String,
        customer_id: String,
        customer: Participant,
        user_data: Map<String, Value>,
        queue: String,
        numbering: Numbering,
    ) -> Chat {
        Chat {
            id,
            customer_id,
            customer,
            customer_present: true,
            customer_state: CustomerChatState::WaitingForAgent,
            assignments: Vec::new(),
            transcript: Vec::new(),
            user_data,
            queue,
            received: time::now(),
            queued_consult: None,
            attachments: Vec::new(),
            files: Vec::new(),
            bot: None,
            customer_read: 0,
            numbering,
            texts: 0,
        }
    }

    pub fn assignment(&self, agent: usize) -> Option<&Assignment> {
        self.assignments.iter().find(|a| a.agent == agent)
    }

    pub fn assignment_mut(&mut self, agent: usize) -> Option<&mut Assignment> {
        self.assignments.iter_mut().find(|a| a.agent == agent)
    }

    /// Whether `agent` has held or been offered it before (a routed chat is never offered twice).
    pub fn was_offered_to(&self, agent: usize) -> bool {
        self.assignment(agent).is_some()
    }

    /// Whether `agent` holds it now: offered, in the conversation, or left but not completed.
    pub fn holds(&self, agent: usize) -> bool {
        self.assignment(agent).is_some_and(Assignment::is_open)
    }

    /// The agent's state on it; Revoked for an agent it was never offered to.
    pub fn state_of(&self, agent: usize) -> ChatState {
        self.assignment(agent).map_or(ChatState::Revoked, |a| a.state)
    }

    /// Agents currently in the conversation (accepted, not left).
    pub fn chatting_agents(&self) -> impl Iterator<Item = &Assignment> {
        self.assignments.iter().filter(|a| a.state == ChatState::Chatting)
    }

    /// Agents in the conversation other than `agent`.
    pub fn others(&self, agent: usize) -> Vec<usize> {
        self.chatting_agents().map(|a| a.agent).filter(|a| *a != agent).collect()
    }

    /// What the capabilities of `agent` depend on beyond its state.
    pub fn context(&self, agent: usize) -> ChatContext {
        let visible = self.chatting_agents().filter(|a| a.offer.joins_as() == Visibility::All).count();
        let offered_consult =
            self.assignments.iter().any(|a| a.state == ChatState::Invited && matches!(a.offer, Offer::Consult(_)));
        ChatContext {
            conference: visible > 1,
            consult_pending: offered_consult || self.queued_consult.is_some(),
            consultant_joined: self.assignments.iter().any(Assignment::is_consultant),
            consultant: self.assignment(agent).is_some_and(Assignment::is_consultant),
        }
    }

    /// The capabilities `agent` has on it now.
    pub fn capabilities(&self, agent: usize) -> Vec<&'static str> {
        api::capabilities(self.state_of(agent), &self.context(agent))
    }

    /// Append a message and return it, numbered after the last one.
    pub fn append(&mut self, draft: Draft) -> &Message {
        let last = self.transcript.last().map_or(0, |m| m.index);
        if draft.kind == MessageType::Text {
            self.texts += 1;
        }
        let position = self.transcript.len() + 1;
        let index = if self.numbering.repeat && draft.kind == MessageType::Text && self.texts == 2 && last > 0 {
            last
        } else if self.numbering.gap && position.is_multiple_of(3) {
            last + 2
        } else {
            last + 1
        };
        self.transcript.push(Message { index, at: time::now(), content: draft });
        // Pushed just above, so there is a last element.
        &self.transcript[self.transcript.len() - 1]
    }

    pub fn path(&self) -> String {
        format!("/chats/{}", self.id)
    }

    pub fn uri(&self, host: &str) -> String {
        format!("{}/api/v2/chats/{}", super::agent::origin(host), self.id)
    }

    /// The customer (if still there) and the agents in the conversation: all of them for an
    /// agent, those visible to all for the customer.
    fn present(&self, audience: Audience) -> Vec<&Participant> {
        let customer = self.customer_present.then_some(&self.customer);
        let agents = self
            .chatting_agents()
            .filter_map(|a| a.participant.as_ref())
            .filter(|p| audience == Audience::Agent || p.visibility == Visibility::All);
        customer.into_iter().chain(agents).collect()
    }

    /// The chat resource as `agent` sees it.
    pub fn agent_view(&self, agent: usize, host: &str, opts: &Options) -> Value {
        let state = self.state_of(agent);
        let mut participants: Vec<Value> = if matches!(state, ChatState::Completed | ChatState::Revoked) {
            Vec::new()
        } else {
            let mut people: Vec<Value> = self.present(Audience::Agent).into_iter().map(|p| p.resource(host)).collect();
            // The bot sits after the customer, as in the AddAttachment sample.
            if let Some(bot) = &self.bot {
                people.insert(usize::from(self.customer_present).min(people.len()), variant::bot_participant(bot));
            }
            people
        };
        if opts.faults.participant_type_case {
            for p in &mut participants {
                if let Some(kind) = p.get("type").and_then(Value::as_str) {
                    p["type"] = Value::String(kind.to_lowercase());
                }
            }
        }
        // What some latitudes add to the list or leave out of it (what is listed works).
        let mut capabilities = self.capabilities(agent);
        if opts.faults.capability_missing && state == ChatState::Chatting {
            capabilities.retain(|c| *c != "SendMessage");
        }
        if opts.lat.invited_userdata_capabilities == InvitedUserdataCapabilities::With && state == ChatState::Invited {
            for op in USERDATA_OPERATIONS {
                if !capabilities.contains(op) {
                    capabilities.push(op);
                }
            }
        }
        if opts.lat.attachment_capabilities == AttachmentCapabilities::Absent {
            capabilities.retain(|c| !ATTACHMENT_OPERATIONS.contains(c));
        }
        let mut view = json!({
            "id": self.id,
            "uri": self.uri(host),
            "path": self.path(),
            "state": state.as_str(),
            "capabilities": capabilities,
            "participants": participants,
            "userData": self.user_data,
            "chatType": "Inbound",
            "interactionQueue": self.queue,
            "receivedDate": time::received_date(self.received, opts.lat.timestamp_form == TimestampForm::MessageSpace),
            "attachments": self.attachments.iter().map(|a| a.resource(&self.id, host)).collect::<Vec<_>>(),
        });
        if let (ExtraFields::Everywhere, Some(map)) = (opts.lat.extra_fields, view.as_object_mut()) {
            variant::extra_chat_fields(map, &self.id);
        }
        view
    }

    /// The linked document `document`, if the chat has it among its attachments.
    pub fn linked(&self, document: &str) -> Option<&Linked> {
        self.attachments.iter().find(|a| a.document == document)
    }

    /// The chat resource as the customer sees it: no consultant among the participants.
    pub fn customer_view(&self) -> Value {
        let capabilities: &[&str] =
            if self.customer_state == CustomerChatState::Idle { &[] } else { api::CUSTOMER_OPERATIONS };
        let mut participants: Vec<Value> =
            self.present(Audience::Customer).into_iter().map(Participant::customer_view).collect();
        if let Some(bot) = &self.bot {
            participants
                .insert(usize::from(self.customer_present).min(participants.len()), variant::bot_for_customer(bot));
        }
        json!({
            "id": self.customer_id,
            "state": self.customer_state.as_str(),
            "capabilities": capabilities,
            "participants": participants,
        })
    }

    /// An agent's page of the transcript: messages with index >= `from`, at most `count`.
    pub fn agent_messages(&self, from: u64, count: Option<usize>, opts: &Options) -> Vec<Value> {
        self.transcript
            .iter()
            .filter(|m| m.index >= from)
            .take(count.unwrap_or(usize::MAX))
            .map(|m| m.to_json(Audience::Agent, opts))
            .collect()
    }

    /// The customer's transcript from index `from`: messages for agents only are left out.
    pub fn customer_messages(&self, from: u64, opts: &Options) -> Vec<Value> {
        self.transcript
            .iter()
            .filter(|m| m.index >= from && m.for_customer(opts))
            .map(|m| m.to_json(Audience::Customer, opts))
            .collect()
    }
}
