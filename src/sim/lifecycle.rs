//! An agent's way into and out of a chat: Accept, Reject, Leave, LeaveAndComplete and Complete,
//! and what a departure means for the others in the chat and for the customer.

use super::agent_ops::Call;
use super::chat::Offer;
use super::engine::Engine;
use super::message::{Audience, Draft, MessageType, Participant};
use super::reply::SimError;
use crate::api::{ChatState, CustomerChatState, Visibility};

impl Engine {
    /// StatusChange Chatting, ParticipantsUpdated, then the whole transcript; the agents already
    /// in the conversation see the newcomer join (the inviter with its request's referenceId).
    pub(super) fn accept(&mut self, call: &Call) -> Result<(), SimError> {
        let (agent, chat_id, host) = (call.agent, call.chat, call.host);
        let Some(offer) = self.chats.get(chat_id).and_then(|c| c.assignment(agent)).map(|a| a.offer) else {
            return Ok(());
        };
        let me = Participant {
            id: self.ids.participant_id(),
            nickname: call.str("nickname").map_or_else(|| self.agent(agent).user_name.clone(), str::to_owned),
            user_id: Some(self.agent(agent).user_id.clone()),
            visibility: offer.joins_as(),
            external: false,
        };
        self.set_assignment(agent, chat_id, ChatState::Chatting);
        let opts = self.opts;
        let Some(chat) = self.chats.get_mut(chat_id) else { return Ok(()) };
        if let Some(a) = chat.assignment_mut(agent) {
            a.participant = Some(me.clone());
        }
        if chat.customer_present && me.visibility == Visibility::All {
            chat.customer_state = CustomerChatState::Chatting;
        }
        let joined = chat.append(Draft::new(MessageType::ParticipantJoined, &me)).to_json(Audience::Agent, &opts);
        let transcript = chat.agent_messages(0, None, &opts);
        let others = chat.others(agent);

        if let Some(mut data) = self.state_notification(agent, chat_id, "StatusChange", host) {
            if opts.faults.wrong_state_after_accept {
                data["chat"]["state"] = ChatState::Invited.as_str().into();
            }
            self.push(agent, data, Some(call.reference));
        }
        self.push_state(agent, chat_id, "ParticipantsUpdated", Some(call.reference), host);
        self.push_messages(agent, chat_id, transcript, Some(call.reference), host);
        let inviter = offer.inviter();
        for other in others {
            let reference = inviter.filter(|i| i.agent == other).map(|i| i.reference);
            self.push_state(other, chat_id, "ParticipantsUpdated", reference, host);
            self.push_messages(other, chat_id, vec![joined.clone()], reference, host);
        }
        Ok(())
    }

    /// The offer ends for this agent. A routed or transferred chat goes to another agent (or
    /// waits); the sender of an Invite or Consult is told with an Error notification.
    pub(super) fn reject(&mut self, call: &Call) -> Result<(), SimError> {
        let offer = self.chats.get(call.chat).and_then(|c| c.assignment(call.agent)).map(|a| a.offer);
        self.set_assignment(call.agent, call.chat, ChatState::Completed);
        self.push_state(call.agent, call.chat, "StatusChange", Some(call.reference), call.host);
        match offer.and_then(Offer::inviter) {
            Some(inviter) => self.push_error(inviter, "Invitation rejected"),
            None => {
                let orphaned = self.chats.get(call.chat).is_some_and(|c| c.chatting_agents().next().is_none());
                if orphaned {
                    self.requeue(call.chat, call.host);
                }
            }
        }
        self.route(call.host);
        Ok(())
    }

    /// Alone with the customer: LeftChat, the customer's chat is over, the agent may still
    /// complete, transfer or edit userData. With other agents: Completed, they carry on.
    pub(super) fn leave(&mut self, call: &Call) -> Result<(), SimError> {
        let alone = self.chats.get(call.chat).is_none_or(|c| c.others(call.agent).is_empty());
        let state = if alone { ChatState::LeftChat } else { ChatState::Completed };
        self.say_text_first(call);
        self.depart(call.agent, call.chat, state, call.host);
        self.push_state(call.agent, call.chat, "StatusChange", Some(call.reference), call.host);
        self.route(call.host);
        Ok(())
    }

    /// Leave and Complete in one step.
    pub(super) fn leave_and_complete(&mut self, call: &Call) -> Result<(), SimError> {
        self.say_text_first(call);
        self.depart(call.agent, call.chat, ChatState::Completed, call.host);
        self.push_state(call.agent, call.chat, "StatusChange", Some(call.reference), call.host);
        self.route(call.host);
        Ok(())
    }

    /// Completed. With `queueName`, a chat no other agent is in goes to that queue and is
    /// offered again.
    pub(super) fn complete(&mut self, call: &Call) -> Result<(), SimError> {
        let queue = call.str("queueName");
        if let Some(queue) = queue {
            self.resolve_queue(queue)?;
        }
        self.say_text_first(call);
        self.depart(call.agent, call.chat, ChatState::Completed, call.host);
        self.push_state(call.agent, call.chat, "StatusChange", Some(call.reference), call.host);
        let orphaned =
            self.chats.get(call.chat).is_some_and(|c| c.customer_present && c.chatting_agents().next().is_none());
        if let Some(queue) = queue.filter(|_| orphaned) {
            self.enqueue(call.chat, queue, call.host);
        }
        self.route(call.host);
        Ok(())
    }

    /// The agent leaves the conversation for `state`. If it was in it, the others get
    /// ParticipantsUpdated and see it leave (ParticipantLeft, as visible as the agent was).
    pub(super) fn depart(&mut self, agent: usize, chat_id: &str, state: ChatState, host: &str) {
        let was_chatting = self.chats.get(chat_id).is_some_and(|c| c.state_of(agent) == ChatState::Chatting);
        let me = self.participant_of(agent, chat_id);
        self.set_assignment(agent, chat_id, state);
        if let (true, Some(me)) = (was_chatting, me) {
            let others = self.chats.get(chat_id).map(|c| c.others(agent)).unwrap_or_default();
            for other in others {
                self.push_state(other, chat_id, "ParticipantsUpdated", None, host);
            }
            self.say(chat_id, Draft::new(MessageType::ParticipantLeft, &me), None, host);
        }
        self.after_departure(chat_id, host);
    }

    /// With no agent left in the conversation the customer's chat is over, and invitations to
    /// join it (Invite, Consult) lapse.
    pub(super) fn after_departure(&mut self, chat_id: &str, host: &str) {
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        if chat.chatting_agents().next().is_some() {
            return;
        }
        chat.customer_state = CustomerChatState::Idle;
        chat.queued_consult = None;
        let lapsed: Vec<usize> = chat
            .assignments
            .iter()
            .filter(|a| a.state == ChatState::Invited && a.offer.inviter().is_some())
            .map(|a| a.agent)
            .collect();
        self.waiting_consults.retain(|id| id != chat_id);
        for agent in lapsed {
            self.set_assignment(agent, chat_id, ChatState::Revoked);
            self.push_state(agent, chat_id, "StatusChange", None, host);
        }
    }
}
