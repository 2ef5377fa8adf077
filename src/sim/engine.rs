//! The chat engine: agents and their contact-centre state, chats, and the notifications changes
//! cause. It knows nothing of HTTP: each change it makes queues the notifications it causes in
//! `outbox`, which the caller hands to the Bayeux server while still holding the lock, so
//! notifications leave in the order the changes happened. Routing, the operations and the
//! customer's side are in their own modules.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::{Map, Value, json};

use super::chat::{Chat, Origin};
use super::config::{Options, SimConfig};
use super::documents::DocumentStore;
use super::faults::DROP_ONE_IN;
use super::ids::IdGen;
use super::latitude::{ExtraFields, IdFormat};
use super::message::{Audience, Draft};
use super::reply::SimError;
use super::{time, variant};
use crate::api::{self, ChatState};

/// A notification for every Bayeux client of one agent subscribed to `channel`.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub agent: usize,
    pub channel: &'static str,
    pub data: Value,
}

/// One agent: who it is, whether it takes chats, and what it holds.
#[derive(Debug)]
pub(crate) struct AgentRecord {
    pub number: usize,
    pub user_id: String,
    pub user_name: String,
    pub session_started: bool,
    pub ready: bool,
    /// Chats listed for the agent (not Completed/Revoked).
    pub open_chats: BTreeSet<String>,
    /// Invited + Chatting: what capacity counts.
    pub active: usize,
    /// Notifications on `/v2/me/chats` due to the agent so far (the `drop-one-in-n` fault
    /// counts them).
    pub notified: u64,
}

/// A customer's RequestChat.
#[derive(Debug, Default)]
pub(crate) struct ChatRequest {
    pub nickname: String,
    pub subject: Option<String>,
    pub endpoint: Option<String>,
    pub user_data: Map<String, Value>,
}

#[derive(Debug)]
pub(crate) struct Engine {
    pub(super) capacity: usize,
    pub(super) opts: Options,
    pub(super) agents: Vec<AgentRecord>,
    pub(super) chats: HashMap<String, Chat>,
    pub(super) by_customer: HashMap<String, String>,
    /// Chats no agent holds, oldest first.
    pub(super) waiting: VecDeque<String>,
    /// Chats whose Consult to a queue waits for an agent, oldest first.
    pub(super) waiting_consults: VecDeque<String>,
    /// Queues that exist: the configured ones and those customers named.
    pub(super) queues: BTreeSet<String>,
    pub(super) ids: IdGen,
    /// What UCS holds: standard responses and uploaded documents.
    pub(super) documents: DocumentStore,
    /// Notifications caused by the changes made since it was last drained.
    pub outbox: Vec<Push>,
    /// Notifications held back by the `delay-notifications` fault, delivered later.
    pub delayed: Vec<Push>,
    pub(super) chats_created: usize,
    /// Chats over (customer gone, no agent holds them) and when they became so, oldest first.
    finished: VecDeque<(std::time::Instant, String)>,
    /// How long a chat waits for an agent before it is given up, and how long a chat that is
    /// over stays readable.
    pub(super) keep: (std::time::Duration, std::time::Duration),
}

/// A chat that has waited this long for an agent is given up, as if its customer had left.
pub const WAITING_LIMIT: std::time::Duration = std::time::Duration::from_secs(60 * 60);
/// A chat that is over (its customer gone and no agent holding it) is forgotten this long after.
pub const FINISHED_RETENTION: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The `/v2/me/channels` user-state ids, fixed per state as a real agent-state code is.
const READY_STATE_ID: &str = "9430250E-0A1B-4B46-9E55-9AE5C4E6F0A0";
const NOT_READY_STATE_ID: &str = "9430250E-0A1B-4B46-9E55-9AE5C4E6F0A1";

impl Engine {
    pub fn new(config: &SimConfig) -> Engine {
        let agents = (1..=config.agents)
            .map(|n| AgentRecord {
                number: n,
                user_id: format!("{:032x}", 0x5e_u128 << 120 | n as u128),
                user_name: format!("agent{n}"),
                session_started: false,
                ready: false,
                open_chats: BTreeSet::new(),
                active: 0,
                notified: 0,
            })
            .collect();
        Engine {
            capacity: config.effective_capacity(),
            opts: Options {
                include_message_type: config.include_message_type,
                faults: config.faults,
                lat: config.latitudes,
            },
            agents,
            chats: HashMap::new(),
            by_customer: HashMap::new(),
            waiting: VecDeque::new(),
            waiting_consults: VecDeque::new(),
            queues: config.queues.iter().cloned().collect(),
            ids: IdGen::new(config.latitudes.id_format == IdFormat::Long),
            documents: DocumentStore::seeded(),
            outbox: Vec::new(),
            delayed: Vec::new(),
            chats_created: 0,
            finished: VecDeque::new(),
            keep: (WAITING_LIMIT, FINISHED_RETENTION),
        }
    }

    pub fn chats_created(&self) -> usize {
        self.chats_created
    }

    pub fn chats_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Agents with a contact-centre session started and not ended.
    pub fn agents_in_session(&self) -> usize {
        self.agents.iter().filter(|a| a.session_started).count()
    }

    /// Agents holding a chat not yet Completed or Revoked.
    pub fn agents_holding_chats(&self) -> usize {
        self.agents.iter().filter(|a| !a.open_chats.is_empty()).count()
    }

    pub fn documents(&self) -> usize {
        self.documents.len()
    }

    /// The agent number of a user name `agentN`.
    pub fn agent_by_name(&self, name: &str) -> Option<usize> {
        let n: usize = name.strip_prefix("agent")?.parse().ok()?;
        (format!("agent{n}") == name && (1..=self.agents.len()).contains(&n)).then_some(n)
    }

    /// The agent number of a user id (the last segment of a user URI).
    pub fn agent_by_user_id(&self, user_id: &str) -> Option<usize> {
        self.agents.iter().find(|a| a.user_id == user_id).map(|a| a.number)
    }

    pub(super) fn agent(&self, agent: usize) -> &AgentRecord {
        // Agent numbers only come from agent_by_name / agent_by_user_id, which check the range.
        &self.agents[agent - 1]
    }

    pub(super) fn agent_mut(&mut self, agent: usize) -> &mut AgentRecord {
        &mut self.agents[agent - 1]
    }

    /// The user resource of `GET /api/v2/me`.
    pub fn user_resource(&self, agent: usize, host: &str) -> Value {
        let a = self.agent(agent);
        json!({
            "id": a.user_id,
            "userName": a.user_name,
            "firstName": "Agent",
            "lastName": a.number.to_string(),
            "roles": ["ROLE_AGENT"],
            "enabled": true,
            "changePasswordOnFirstLogin": false,
            "uri": format!("{}/api/v2/users/{}", super::agent::origin(host), a.user_id),
            "path": format!("/users/{}", a.user_id),
        })
    }

    /// The agent's chat channel as listed on `/v2/me/channels` and `GET /api/v2/me/channels`.
    pub fn chat_channel(&self, agent: usize) -> Value {
        let (id, state) =
            if self.agent(agent).ready { (READY_STATE_ID, "Ready") } else { (NOT_READY_STATE_ID, "NotReady") };
        json!({"channel": "chat", "userState": {"id": id, "displayName": state, "state": state}})
    }

    pub(super) fn push_channel_state(&mut self, agent: usize) {
        let data = json!({"channels": [self.chat_channel(agent)]});
        self.outbox.push(Push { agent, channel: api::CHANNEL_CHANNELS, data });
    }

    pub fn start_session(&mut self, agent: usize) {
        self.agent_mut(agent).session_started = true;
    }

    /// Ready / NotReady on the chat channel. Going Ready routes waiting chats.
    pub fn set_ready(&mut self, agent: usize, ready: bool, host: &str) -> Result<(), SimError> {
        let a = self.agent_mut(agent);
        if !a.session_started {
            return Err(SimError::InvalidState("No contact center session: StartContactCenterSession first".into()));
        }
        a.ready = ready;
        self.push_channel_state(agent);
        if ready {
            self.route(host);
        }
        Ok(())
    }

    /// The agent's chats not yet Completed or Revoked.
    pub fn agent_chats(&self, agent: usize, host: &str) -> Vec<Value> {
        self.agent(agent)
            .open_chats
            .iter()
            .filter_map(|id| self.chats.get(id))
            .map(|chat| chat.agent_view(agent, host, &self.opts))
            .collect()
    }

    /// A chat the agent was offered or joined, or statusCode 6 (any chat under the
    /// `foreign-chat-readable` fault).
    pub(super) fn agent_chat(&self, agent: usize, chat_id: &str) -> Result<&Chat, SimError> {
        let foreign = self.opts.faults.foreign_chat_readable;
        self.chats
            .get(chat_id)
            .filter(|chat| foreign || chat.was_offered_to(agent))
            .ok_or_else(|| SimError::NotFound(format!("Chat {chat_id} not found")))
    }

    pub fn agent_messages(
        &self,
        agent: usize,
        chat_id: &str,
        start: u64,
        count: Option<usize>,
    ) -> Result<Vec<Value>, SimError> {
        Ok(self.agent_chat(agent, chat_id)?.agent_messages(start, count, &self.opts))
    }

    /// The referenceId a notification carries, unless the `omit_reference_id` fault drops it.
    fn reference(&self, reference: Option<u64>) -> Option<u64> {
        reference.filter(|_| !self.opts.faults.omit_reference_id)
    }

    /// Queue `data` for `agent` on `/v2/me/chats`, with the referenceId if there is one. The
    /// faults that lose, delay, repeat or strip notifications act here.
    pub(super) fn push(&mut self, agent: usize, mut data: Value, reference: Option<u64>) {
        let faults = self.opts.faults;
        let kind = data.get("notificationType").and_then(Value::as_str).unwrap_or_default().to_owned();
        if let Some(map) = data.as_object_mut() {
            if let Some(r) = self.reference(reference) {
                map.insert("referenceId".into(), json!(r));
            }
            if self.opts.lat.extra_fields == ExtraFields::Everywhere {
                variant::extra_notification_fields(map, time::epoch_millis(time::now()));
            }
            if faults.attachment_without_document
                && kind == "AttachmentAdded"
                && let Some(chat) = map.get_mut("chat").and_then(Value::as_object_mut)
            {
                chat.remove("attachments");
            }
        }
        if faults.drop_one_in_n {
            let record = self.agent_mut(agent);
            record.notified += 1;
            if record.notified.is_multiple_of(DROP_ONE_IN) {
                return;
            }
        }
        let push = Push { agent, channel: api::CHANNEL_CHATS, data };
        if faults.delay_notifications && kind == "PropertiesUpdated" {
            self.delayed.push(push);
            return;
        }
        if faults.duplicate_notification && kind == "NewMessages" {
            self.outbox.push(push.clone());
        }
        self.outbox.push(push);
    }

    /// A ChatStateChangeMessage of `kind` (StatusChange, ParticipantsUpdated, PropertiesUpdated)
    /// carrying the chat as `agent` sees it now.
    pub(super) fn state_notification(&self, agent: usize, chat_id: &str, kind: &str, host: &str) -> Option<Value> {
        let chat = self.chats.get(chat_id)?;
        Some(json!({
            "messageType": "ChatStateChangeMessage",
            "notificationType": kind,
            "chat": chat.agent_view(agent, host, &self.opts),
        }))
    }

    pub(super) fn push_state(&mut self, agent: usize, chat_id: &str, kind: &str, reference: Option<u64>, host: &str) {
        if let Some(data) = self.state_notification(agent, chat_id, kind, host) {
            self.push(agent, data, reference);
        }
    }

    /// The documented Error notification: an operation accepted earlier failed.
    pub(super) fn push_error(&mut self, origin: Origin, message: &str) {
        let data = json!({
            "messageType": "ChatStateChangeMessage",
            "notificationType": "Error",
            "errorMessage": message,
        });
        self.push(origin.agent, data, Some(origin.reference));
    }

    /// `NewMessages` carrying `messages` of `chat` to `agent`.
    pub(super) fn push_messages(
        &mut self,
        agent: usize,
        chat_id: &str,
        messages: Vec<Value>,
        reference: Option<u64>,
        host: &str,
    ) {
        let Some(chat) = self.chats.get(chat_id) else { return };
        let data = json!({
            "messageType": "MessageLogUpdated",
            "notificationType": "NewMessages",
            "messages": messages,
            "chatUri": chat.uri(host),
            "chatPath": chat.path(),
        });
        self.push(agent, data, reference);
    }

    /// Append a message and tell every agent in the conversation; the origin's referenceId goes
    /// to the origin's agent only. The customer reads it from the transcript.
    pub(super) fn say(&mut self, chat_id: &str, draft: Draft, origin: Option<Origin>, host: &str) {
        let opts = self.opts;
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        let message = chat.append(draft).to_json(Audience::Agent, &opts);
        let listeners: Vec<usize> = chat.chatting_agents().map(|a| a.agent).collect();
        for agent in listeners {
            let reference = origin.filter(|o| o.agent == agent).map(|o| o.reference);
            self.push_messages(agent, chat_id, vec![message.clone()], reference, host);
        }
    }

    /// Remember when the chat is over: its customer gone and no agent holding it.
    pub(super) fn note_if_over(&mut self, chat_id: &str) {
        let over =
            self.chats.get(chat_id).is_some_and(|c| !c.customer_present && c.assignments.iter().all(|a| !a.is_open()));
        if over {
            self.finished.push_back((std::time::Instant::now(), chat_id.to_owned()));
        }
    }

    /// Give up chats that waited too long for an agent, and forget chats over for longer than
    /// the retention; looks only at the oldest of each. Returns the customer ids forgotten.
    pub fn reap(&mut self, host: &str) -> Vec<String> {
        let now = std::time::Instant::now();
        let (waiting_limit, retention) = self.keep;
        let waited_too_long = |chat: &Chat| {
            let waited = time::now() - chat.received;
            waited.is_positive() && waited.unsigned_abs() > waiting_limit
        };
        while let Some(id) = self.waiting.front().cloned() {
            match self.chats.get(&id) {
                Some(chat) if waited_too_long(chat) => self.give_up(&id, host),
                Some(_) => break,
                None => {
                    self.waiting.pop_front();
                }
            }
        }
        let mut forgotten = Vec::new();
        while let Some((since, _)) = self.finished.front() {
            if now.duration_since(*since) < retention {
                break;
            }
            let Some((_, id)) = self.finished.pop_front() else { break };
            let over =
                self.chats.get(&id).is_some_and(|c| !c.customer_present && c.assignments.iter().all(|a| !a.is_open()));
            if over && let Some(chat) = self.chats.remove(&id) {
                self.by_customer.remove(&chat.customer_id);
                forgotten.push(chat.customer_id);
            }
        }
        forgotten
    }

    /// Set the agent's state on a chat and keep its capacity and chat list in step.
    pub(super) fn set_assignment(&mut self, agent: usize, chat_id: &str, state: ChatState) {
        let Some(a) = self.chats.get_mut(chat_id).and_then(|c| c.assignment_mut(agent)) else { return };
        let (was_active, was_open) = (a.is_active(), a.is_open());
        a.state = state;
        let (is_active, is_open) = (a.is_active(), a.is_open());
        let rec = self.agent_mut(agent);
        match (was_active, is_active) {
            (true, false) => rec.active -= 1,
            (false, true) => rec.active += 1,
            _ => {}
        }
        match (was_open, is_open) {
            (true, false) => {
                rec.open_chats.remove(chat_id);
                self.note_if_over(chat_id);
            }
            (false, true) => {
                rec.open_chats.insert(chat_id.to_owned());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::{Fault, Faults};

    const HOST: &str = "sim.test";

    /// Two Ready agents; agent 1 has accepted a chat. The outbox is empty.
    fn chatting(fault: Fault) -> (Engine, String) {
        let mut engine = Engine::new(&SimConfig { agents: 2, faults: Faults::only(fault), ..SimConfig::default() });
        engine.start_session(1);
        engine.set_ready(1, true, HOST).unwrap();
        engine.request_chat(ChatRequest { nickname: "Pat".into(), ..ChatRequest::default() }, HOST);
        let chat = engine.agent_chats(1, HOST)[0]["id"].as_str().unwrap().to_owned();
        engine.chat_operation(1, &chat, json!({"operationName": "Accept"}).as_object().unwrap(), 1, HOST).unwrap();
        engine.outbox.clear();
        (engine, chat)
    }

    fn op(engine: &mut Engine, chat: &str, body: Value) {
        engine.chat_operation(1, chat, body.as_object().unwrap(), 2, HOST).unwrap();
    }

    fn kinds(pushes: &[Push]) -> Vec<&str> {
        pushes.iter().map(|p| p.data["notificationType"].as_str().unwrap_or("?")).collect()
    }

    #[test]
    fn one_notification_in_five_is_lost() {
        let (mut engine, chat) = chatting(Fault::DropOneInN);
        let before = engine.agent(1).notified;
        for _ in 0..10 {
            op(&mut engine, &chat, json!({"operationName": "SendStartTypingNotification"}));
        }
        let lost = (before + 1..=before + 10).filter(|n| n.is_multiple_of(DROP_ONE_IN)).count();
        assert_eq!(engine.outbox.len(), 10 - lost);
        assert_eq!(lost, 2);
    }

    #[test]
    fn new_messages_are_queued_twice() {
        let (mut engine, chat) = chatting(Fault::DuplicateNotification);
        op(&mut engine, &chat, json!({"operationName": "SendMessage", "text": "hi"}));
        assert_eq!(kinds(&engine.outbox), ["NewMessages", "NewMessages"]);
        assert_eq!(engine.outbox[0].data, engine.outbox[1].data);
    }

    #[test]
    fn attachment_added_comes_without_the_attachments() {
        let (mut engine, chat) = chatting(Fault::AttachmentWithoutDocument);
        let document = crate::sim::STANDARD_RESPONSES[0].id;
        op(&mut engine, &chat, json!({"operationName": "AddAttachment", "documentId": document}));
        assert_eq!(kinds(&engine.outbox), ["AttachmentAdded"]);
        assert!(engine.outbox[0].data["chat"].get("attachments").is_none());
        assert!(engine.outbox[0].data["chat"]["id"].is_string(), "the rest of the chat is there");
    }

    #[test]
    fn properties_updated_is_held_back_for_later() {
        let (mut engine, chat) = chatting(Fault::DelayNotifications);
        op(&mut engine, &chat, json!({"operationName": "SetDisposition", "disposition": "Done"}));
        assert!(engine.outbox.is_empty());
        assert_eq!(kinds(&engine.delayed), ["PropertiesUpdated"]);
    }

    #[test]
    fn upload_file_adds_no_message() {
        let (mut engine, chat) = chatting(Fault::UploadWithoutMessage);
        let document = crate::sim::STANDARD_RESPONSES[0].id;
        op(&mut engine, &chat, json!({"operationName": "AddAttachment", "documentId": document}));
        engine.outbox.clear();
        let before = engine.agent_messages(1, &chat, 1, None).unwrap().len();
        op(&mut engine, &chat, json!({"operationName": "UploadFile", "documentId": document}));
        assert!(engine.outbox.is_empty());
        assert_eq!(engine.agent_messages(1, &chat, 1, None).unwrap().len(), before);
    }

    #[test]
    fn another_agents_chat_is_readable() {
        let (engine, chat) = chatting(Fault::ForeignChatReadable);
        assert!(engine.agent_messages(2, &chat, 1, None).is_ok());
        let (engine, chat) = chatting(Fault::IndexGap);
        assert_eq!(engine.agent_messages(2, &chat, 1, None).unwrap_err().status_code(), api::status::NOT_FOUND);
    }

    #[test]
    fn the_variant_adds_a_bot_and_undocumented_fields() {
        let mut engine = Engine::new(&SimConfig { agents: 1, ..SimConfig::variant() });
        engine.start_session(1);
        engine.set_ready(1, true, HOST).unwrap();
        engine.outbox.clear();
        engine.request_chat(ChatRequest { nickname: "Pat".into(), ..ChatRequest::default() }, HOST);
        let offer = &engine.outbox[0].data;
        assert!(offer["serverTime"].is_i64(), "{offer}");
        let participants = offer["chat"]["participants"].as_array().unwrap();
        let types: Vec<&str> = participants.iter().map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["Customer", "External"]);
        assert_eq!(participants[1]["nickname"], variant::BOT_NICKNAME);
        assert_eq!(offer["chat"]["mediaType"], "chat");
    }
}
