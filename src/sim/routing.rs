//! Routing: offering waiting chats (and Consults sent to a queue) to Ready agents with free
//! capacity, withdrawing offers when a session ends, naming targets by URI or queue, and the
//! Transfer operation, which hands a chat to an agent or a queue.

use super::agent_ops::Call;
use super::chat::{Assignment, Offer};
use super::engine::{AgentRecord, Engine};
use super::latitude::Routing;
use super::reply::SimError;
use crate::api::{ChatState, CustomerChatState, UriTarget, uri_target};

/// What a target URI or queue name designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target<'a> {
    Agent(usize),
    Queue(&'a str),
}

impl Engine {
    /// Offer waiting chats, oldest first, to Ready agents with free capacity: least loaded
    /// first, ties by agent number (the variant takes the highest). A chat is never routed to an agent it was offered to before;
    /// a queued Consult goes to an agent who does not hold the chat now.
    pub(super) fn route(&mut self, host: &str) {
        self.route_line(false, host);
        self.route_line(true, host);
    }

    fn route_line(&mut self, consults: bool, host: &str) {
        let mut i = 0;
        loop {
            let line = if consults { &self.waiting_consults } else { &self.waiting };
            let Some(chat_id) = line.get(i).cloned() else { return };
            let capacity = self.capacity;
            let free = |a: &&AgentRecord| a.session_started && a.ready && a.active < capacity;
            if !self.agents.iter().any(|a| free(&a)) {
                return;
            }
            let chat = self.chats.get(&chat_id);
            let eligible = |a: &&AgentRecord| {
                chat.is_some_and(|c| if consults { !c.holds(a.number) } else { !c.was_offered_to(a.number) })
            };
            // Least loaded first; ties go to the lowest agent number, or the highest in the variant.
            let highest = self.opts.lat.routing == Routing::HighestNumbered;
            let order = |a: &&AgentRecord| (a.active, if highest { usize::MAX - a.number } else { a.number });
            let best = self.agents.iter().filter(free).filter(eligible).min_by_key(order);
            let Some(agent) = best.map(|a| a.number) else {
                i += 1;
                continue;
            };
            if consults {
                self.waiting_consults.remove(i);
                let origin = self.chats.get_mut(&chat_id).and_then(|c| c.queued_consult.take());
                if let Some(origin) = origin {
                    self.offer(&chat_id, agent, Offer::Consult(origin), host);
                }
            } else {
                self.waiting.remove(i);
                self.offer(&chat_id, agent, Offer::Routed, host);
            }
        }
    }

    /// Offer the chat to `agent` (StatusChange to Invited), reusing the agent's earlier entry.
    pub(super) fn offer(&mut self, chat_id: &str, agent: usize, offer: Offer, host: &str) {
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        match chat.assignment_mut(agent) {
            Some(earlier) => {
                earlier.offer = offer;
                earlier.participant = None;
            }
            // Entered as Revoked (neither active nor open) so set_assignment counts the offer.
            None => chat.assignments.push(Assignment { agent, state: ChatState::Revoked, participant: None, offer }),
        }
        self.set_assignment(agent, chat_id, ChatState::Invited);
        self.push_state(agent, chat_id, "StatusChange", None, host);
    }

    /// Put a chat no agent holds back in line, ahead of newer ones, and route.
    pub(super) fn requeue(&mut self, chat_id: &str, host: &str) {
        if !self.waiting.iter().any(|id| id == chat_id) {
            self.waiting.push_front(chat_id.to_owned());
        }
        self.route(host);
    }

    /// Place the chat in `queue` behind the chats already waiting, as a new one; the customer
    /// waits for an agent again.
    pub(super) fn enqueue(&mut self, chat_id: &str, queue: &str, host: &str) {
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        queue.clone_into(&mut chat.queue);
        if chat.customer_present {
            chat.customer_state = CustomerChatState::WaitingForAgent;
        }
        if !self.waiting.iter().any(|id| id == chat_id) {
            self.waiting.push_back(chat_id.to_owned());
        }
        self.route(host);
    }

    /// Ends the contact-centre session: the chat channel goes NotReady and offers not yet
    /// answered are withdrawn (Revoked); routed and transferred ones go to other agents.
    /// Accepted chats stay.
    pub fn end_session(&mut self, agent: usize, host: &str) {
        let a = self.agent_mut(agent);
        a.session_started = false;
        if std::mem::take(&mut a.ready) {
            self.push_channel_state(agent);
        }
        let offered: Vec<(String, Offer)> = self
            .agent(agent)
            .open_chats
            .iter()
            .filter_map(|id| {
                let a = self.chats.get(id)?.assignment(agent)?;
                (a.state == ChatState::Invited).then(|| (id.clone(), a.offer))
            })
            .collect();
        // Oldest first in line again, as they were.
        for (chat_id, offer) in offered.iter().rev() {
            self.set_assignment(agent, chat_id, ChatState::Revoked);
            self.push_state(agent, chat_id, "StatusChange", None, host);
            let orphaned = self.chats.get(chat_id).is_some_and(|c| c.chatting_agents().next().is_none());
            if offer.inviter().is_none() && orphaned {
                self.waiting.push_front(chat_id.clone());
            }
        }
        self.route(host);
    }

    pub(super) fn queue_exists(&self, name: &str) -> bool {
        self.queues.contains(name)
    }

    /// The agent or queue a target URI names, or statusCode 6.
    pub(super) fn resolve_uri<'a>(&self, uri: &'a str) -> Result<Target<'a>, SimError> {
        match uri_target(uri) {
            Some(UriTarget::User(id)) => self
                .agent_by_user_id(id)
                .map(Target::Agent)
                .ok_or_else(|| SimError::NotFound(format!("Agent {id} not found"))),
            Some(UriTarget::Queue(name)) => self.resolve_queue(name),
            // The catalogue's check lets no such URI through.
            None => Err(SimError::Validation(format!("{uri} is not a user or queue URI"))),
        }
    }

    pub(super) fn resolve_queue<'a>(&self, name: &'a str) -> Result<Target<'a>, SimError> {
        if self.queue_exists(name) {
            Ok(Target::Queue(name))
        } else {
            Err(SimError::NotFound(format!("Queue {name} not found")))
        }
    }

    /// An agent who may be asked to join the chat: not the caller, not holding it already.
    pub(super) fn check_newcomer(&self, call: &Call, agent: usize) -> Result<(), SimError> {
        let holds = self.chats.get(call.chat).is_some_and(|c| c.holds(agent));
        if agent == call.agent || holds {
            let name = &self.agent(agent).user_name;
            return Err(SimError::Validation(format!("Agent {name} is already in the chat")));
        }
        Ok(())
    }

    /// Transfer: the target agent is offered the chat (or it goes to the queue) and the
    /// transferring agent is done with it at once.
    pub(super) fn transfer(&mut self, call: &Call) -> Result<(), SimError> {
        let target = match (call.str("targetUri"), call.str("queueName")) {
            (Some(uri), _) => self.resolve_uri(uri)?,
            (None, Some(queue)) => self.resolve_queue(queue)?,
            (None, None) => return Err(SimError::MissingParameter("Missing required parameter: targetUri".into())),
        };
        if let Target::Agent(agent) = target {
            self.check_newcomer(call, agent)?;
        }
        self.say_text_first(call);
        self.depart(call.agent, call.chat, ChatState::Completed, call.host);
        self.push_state(call.agent, call.chat, "StatusChange", Some(call.reference), call.host);
        match target {
            Target::Agent(agent) => {
                self.offer(call.chat, agent, Offer::Transfer, call.host);
                if let Some(chat) = self.chats.get_mut(call.chat)
                    && chat.customer_present
                    && chat.chatting_agents().next().is_none()
                {
                    chat.customer_state = CustomerChatState::WaitingForAgent;
                }
            }
            Target::Queue(queue) => {
                let orphaned = self.chats.get(call.chat).is_some_and(|c| c.chatting_agents().next().is_none());
                if orphaned {
                    self.enqueue(call.chat, queue, call.host);
                }
            }
        }
        self.route(call.host);
        Ok(())
    }
}
