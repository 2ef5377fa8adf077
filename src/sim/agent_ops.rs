//! The agent's chat operations on `POST /api/v2/me/chats/{id}`: validation against the
//! catalogue in `crate::api`, then the change and the notifications it causes, each carrying the
//! operation's referenceId.

use serde_json::{Map, Value};

use super::chat::{MessageType, Participant};
use super::engine::Engine;
use super::reply::{SimError, operation_name, opt_str};
use crate::api::{self, ChatState, CustomerChatState};

impl Engine {
    /// Validate and perform one operation. On error nothing has changed.
    pub fn chat_operation(
        &mut self,
        agent: usize,
        chat_id: &str,
        body: &Map<String, Value>,
        reference: u64,
        host: &str,
    ) -> Result<(), SimError> {
        let name = operation_name(body)?;
        let op =
            api::operation(name).ok_or_else(|| SimError::MissingParameter(format!("Unknown operationName: {name}")))?;
        let chat = self.agent_chat(agent, chat_id)?;
        for param in op.params {
            let value = opt_str(body, param.name);
            // Only `text` and `nickname` are used; other parameters are accepted as sent.
            if matches!(param.name, "text" | "nickname") {
                value?;
            }
            if param.required && body.get(param.name).is_none_or(Value::is_null) {
                return Err(SimError::MissingParameter(format!("Missing required parameter: {}", param.name)));
            }
        }
        let state = chat.assignment(agent).map_or(ChatState::Revoked, |a| a.state);
        if !op.allowed_states.contains(&state) {
            return Err(SimError::InvalidState(format!("Operation {name} is not allowed in state {}", state.as_str())));
        }
        let text = opt_str(body, "text")?.map(str::to_owned);
        let nickname = opt_str(body, "nickname")?.map(str::to_owned);
        let actor = Some((agent, reference));
        match op.name {
            "Accept" => self.accept(agent, chat_id, nickname, reference, host),
            "Reject" => self.reject(agent, chat_id, reference, host),
            "Leave" => self.leave(agent, chat_id, reference, host),
            "Complete" => self.complete(agent, chat_id, state, reference, host),
            "SendMessage" => self.agent_says(agent, chat_id, MessageType::Text, text, actor, host),
            "SendStartTypingNotification" => {
                self.agent_says(agent, chat_id, MessageType::TypingStarted, None, actor, host)
            }
            "SendStopTypingNotification" => {
                self.agent_says(agent, chat_id, MessageType::TypingStopped, None, actor, host)
            }
            other => {
                return Err(SimError::InvalidState(format!("Operation {other} is not supported by the simulator")));
            }
        }
        Ok(())
    }

    fn participant_of(&self, agent: usize, chat_id: &str) -> Option<Participant> {
        self.chats.get(chat_id)?.assignment(agent)?.participant.clone()
    }

    fn agent_says(
        &mut self,
        agent: usize,
        chat_id: &str,
        kind: MessageType,
        text: Option<String>,
        actor: Option<(usize, u64)>,
        host: &str,
    ) {
        if let Some(me) = self.participant_of(agent, chat_id) {
            self.say(chat_id, kind, me, text, actor, host);
        }
    }

    /// StatusChange Chatting, ParticipantsUpdated, then the whole transcript so far.
    fn accept(&mut self, agent: usize, chat_id: &str, nickname: Option<String>, reference: u64, host: &str) {
        let nickname = nickname.unwrap_or_else(|| self.agent(agent).user_name.clone());
        let me =
            Participant { id: self.ids.participant_id(), nickname, user_id: Some(self.agent(agent).user_id.clone()) };
        self.set_assignment(agent, chat_id, ChatState::Chatting);
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        if let Some(a) = chat.assignment_mut(agent) {
            a.participant = Some(me.clone());
        }
        chat.customer_state = CustomerChatState::Chatting;
        chat.append(MessageType::ParticipantJoined, me, None);
        let transcript = chat.messages(1, None);
        self.push_state(agent, chat_id, "StatusChange", Some(reference), host);
        self.push_state(agent, chat_id, "ParticipantsUpdated", Some(reference), host);
        self.push_messages(agent, chat_id, transcript, Some(reference), host);
    }

    /// The offer ends for this agent and goes to another one (or waits).
    fn reject(&mut self, agent: usize, chat_id: &str, reference: u64, host: &str) {
        self.set_assignment(agent, chat_id, ChatState::Completed);
        self.push_state(agent, chat_id, "StatusChange", Some(reference), host);
        self.requeue(chat_id, host);
    }

    /// The agent leaves the conversation but keeps the chat (LeftChat) until it completes it.
    fn leave(&mut self, agent: usize, chat_id: &str, reference: u64, host: &str) {
        self.leave_conversation(agent, chat_id, ChatState::LeftChat, host);
        self.push_state(agent, chat_id, "StatusChange", Some(reference), host);
        self.route(host);
    }

    fn complete(&mut self, agent: usize, chat_id: &str, from: ChatState, reference: u64, host: &str) {
        if from == ChatState::Chatting {
            self.leave_conversation(agent, chat_id, ChatState::Completed, host);
        } else {
            self.set_assignment(agent, chat_id, ChatState::Completed);
        }
        self.push_state(agent, chat_id, "StatusChange", Some(reference), host);
        self.route(host);
    }

    /// ParticipantLeft for the agent, then `state`; with no agent left the customer's chat is over.
    fn leave_conversation(&mut self, agent: usize, chat_id: &str, state: ChatState, host: &str) {
        let me = self.participant_of(agent, chat_id);
        self.set_assignment(agent, chat_id, state);
        if let Some(me) = me {
            // After the state change, so the leaver is not among those told.
            self.say(chat_id, MessageType::ParticipantLeft, me, None, None, host);
        }
        if let Some(chat) = self.chats.get_mut(chat_id)
            && chat.chatting_agents().next().is_none()
        {
            chat.customer_state = CustomerChatState::Idle;
        }
    }
}
