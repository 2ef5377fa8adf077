//! The chat engine: agents and their contact-centre state, chats, routing with capacity, and
//! the customer's side of each chat. It knows nothing of HTTP: each change it makes queues the
//! notifications it causes in `outbox`, which the caller hands to the Bayeux server while still
//! holding the lock, so notifications leave in the order the changes happened.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::{Map, Value, json};

use super::chat::{Assignment, Chat, MessageType, Participant};
use super::ids::IdGen;
use super::reply::SimError;
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
    capacity: usize,
    pub(super) agents: Vec<AgentRecord>,
    pub(super) chats: HashMap<String, Chat>,
    pub(super) by_customer: HashMap<String, String>,
    /// Chats no agent holds, oldest first.
    pub(super) waiting: VecDeque<String>,
    pub(super) ids: IdGen,
    /// Notifications caused by the changes made since it was last drained.
    pub outbox: Vec<Push>,
    pub(super) chats_created: usize,
}

/// The `/v2/me/channels` user-state ids, fixed per state as a real agent-state code is.
const READY_STATE_ID: &str = "9430250E-0A1B-4B46-9E55-9AE5C4E6F0A0";
const NOT_READY_STATE_ID: &str = "9430250E-0A1B-4B46-9E55-9AE5C4E6F0A1";

impl Engine {
    pub fn new(agents: usize, capacity: usize) -> Engine {
        let agents = (1..=agents)
            .map(|n| AgentRecord {
                number: n,
                user_id: format!("{:032x}", 0x5e_u128 << 120 | n as u128),
                user_name: format!("agent{n}"),
                session_started: false,
                ready: false,
                open_chats: BTreeSet::new(),
                active: 0,
            })
            .collect();
        Engine {
            capacity,
            agents,
            chats: HashMap::new(),
            by_customer: HashMap::new(),
            waiting: VecDeque::new(),
            ids: IdGen::default(),
            outbox: Vec::new(),
            chats_created: 0,
        }
    }

    pub fn chats_created(&self) -> usize {
        self.chats_created
    }

    pub fn chats_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The agent number of a user name `agentN`.
    pub fn agent_by_name(&self, name: &str) -> Option<usize> {
        let n: usize = name.strip_prefix("agent")?.parse().ok()?;
        (format!("agent{n}") == name && (1..=self.agents.len()).contains(&n)).then_some(n)
    }

    pub(super) fn agent(&self, agent: usize) -> &AgentRecord {
        // Agent numbers only come from agent_by_name, which checks the range.
        &self.agents[agent - 1]
    }

    fn agent_mut(&mut self, agent: usize) -> &mut AgentRecord {
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
            "uri": format!("http://{host}/api/v2/users/{}", a.user_id),
            "path": format!("/users/{}", a.user_id),
        })
    }

    /// The agent's chat channel as listed on `/v2/me/channels` and `GET /api/v2/me/channels`.
    pub fn chat_channel(&self, agent: usize) -> Value {
        let (id, state) =
            if self.agent(agent).ready { (READY_STATE_ID, "Ready") } else { (NOT_READY_STATE_ID, "NotReady") };
        json!({"channel": "chat", "userState": {"id": id, "displayName": state, "state": state}})
    }

    fn push_channel_state(&mut self, agent: usize) {
        let data = json!({"channels": [self.chat_channel(agent)]});
        self.outbox.push(Push { agent, channel: api::CHANNEL_CHANNELS, data });
    }

    pub fn start_session(&mut self, agent: usize) {
        self.agent_mut(agent).session_started = true;
    }

    /// Ends the contact-centre session: the chat channel goes NotReady and offers not yet
    /// answered are withdrawn (Revoked) and routed to other agents. Accepted chats stay.
    pub fn end_session(&mut self, agent: usize, host: &str) {
        let a = self.agent_mut(agent);
        a.session_started = false;
        if std::mem::take(&mut a.ready) {
            self.push_channel_state(agent);
        }
        let offered: Vec<String> = self
            .agent(agent)
            .open_chats
            .iter()
            .filter(|id| {
                self.chats.get(*id).and_then(|c| c.assignment(agent)).is_some_and(|a| a.state == ChatState::Invited)
            })
            .cloned()
            .collect();
        // Oldest first in line again, as they were.
        for chat_id in offered.iter().rev() {
            self.set_assignment(agent, chat_id, ChatState::Revoked);
            self.push_state(agent, chat_id, "StatusChange", None, host);
            self.waiting.push_front(chat_id.clone());
        }
        self.route(host);
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
            .map(|chat| chat.agent_view(agent, host))
            .collect()
    }

    /// A chat the agent was offered or joined, or statusCode 6.
    pub(super) fn agent_chat(&self, agent: usize, chat_id: &str) -> Result<&Chat, SimError> {
        self.chats
            .get(chat_id)
            .filter(|chat| chat.was_offered_to(agent))
            .ok_or_else(|| SimError::NotFound(format!("Chat {chat_id} not found")))
    }

    pub fn agent_messages(
        &self,
        agent: usize,
        chat_id: &str,
        start: u64,
        count: Option<usize>,
    ) -> Result<Vec<Value>, SimError> {
        Ok(self.agent_chat(agent, chat_id)?.messages(start, count))
    }

    /// `notificationType` StatusChange or ParticipantsUpdated of `chat` to `agent`.
    pub(super) fn push_state(&mut self, agent: usize, chat_id: &str, kind: &str, reference: Option<u64>, host: &str) {
        let Some(chat) = self.chats.get(chat_id) else { return };
        let mut data = json!({
            "messageType": "ChatStateChangeMessage",
            "notificationType": kind,
            "chat": chat.agent_view(agent, host),
        });
        with_reference(&mut data, reference);
        self.outbox.push(Push { agent, channel: api::CHANNEL_CHATS, data });
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
        let mut data = json!({
            "messageType": "MessageLogUpdated",
            "notificationType": "NewMessages",
            "messages": messages,
            "chatUri": chat.uri(host),
            "chatPath": chat.path(),
        });
        with_reference(&mut data, reference);
        self.outbox.push(Push { agent, channel: api::CHANNEL_CHATS, data });
    }

    /// Append a message and tell every agent in the conversation; `reference` goes to `actor` only.
    pub(super) fn say(
        &mut self,
        chat_id: &str,
        kind: MessageType,
        from: Participant,
        text: Option<String>,
        actor: Option<(usize, u64)>,
        host: &str,
    ) {
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        let message = chat.append(kind, from, text).to_json();
        let listeners: Vec<usize> = chat.chatting_agents().map(|a| a.agent).collect();
        for agent in listeners {
            let reference = actor.filter(|(who, _)| *who == agent).map(|(_, r)| r);
            self.push_messages(agent, chat_id, vec![message.clone()], reference, host);
        }
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
            }
            (false, true) => {
                rec.open_chats.insert(chat_id.to_owned());
            }
            _ => {}
        }
    }

    /// Offer waiting chats, oldest first, to Ready agents with free capacity: least loaded
    /// first, ties by agent number; never to an agent the chat was offered to before.
    pub(super) fn route(&mut self, host: &str) {
        let mut i = 0;
        while i < self.waiting.len() {
            let capacity = self.capacity;
            let free = |a: &&AgentRecord| a.session_started && a.ready && a.active < capacity;
            if !self.agents.iter().any(|a| free(&a)) {
                return;
            }
            let chat = self.chats.get(&self.waiting[i]);
            let best = self
                .agents
                .iter()
                .filter(free)
                .filter(|a| chat.is_some_and(|c| !c.was_offered_to(a.number)))
                .min_by_key(|a| (a.active, a.number))
                .map(|a| a.number);
            match best {
                Some(agent) => {
                    let Some(chat_id) = self.waiting.remove(i) else { return };
                    self.offer(&chat_id, agent, host);
                }
                None => i += 1,
            }
        }
    }

    fn offer(&mut self, chat_id: &str, agent: usize, host: &str) {
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        // Entered as Revoked (neither active nor open) so set_assignment counts the offer.
        chat.assignments.push(Assignment { agent, state: ChatState::Revoked, participant: None });
        self.set_assignment(agent, chat_id, ChatState::Invited);
        self.push_state(agent, chat_id, "StatusChange", None, host);
    }

    /// Put a chat no agent holds back in line, ahead of newer ones, and route.
    pub(super) fn requeue(&mut self, chat_id: &str, host: &str) {
        self.waiting.push_front(chat_id.to_owned());
        self.route(host);
    }
}

fn with_reference(data: &mut Value, reference: Option<u64>) {
    if let (Some(r), Some(map)) = (reference, data.as_object_mut()) {
        map.insert("referenceId".into(), json!(r));
    }
}
