//! The customer's side of the engine: RequestChat, the chat and transcript as the customer sees
//! them, and the customer's operations (`api::CUSTOMER_OPERATIONS`).

use serde_json::{Map, Value};

use super::chat::{Chat, Numbering};
use super::config::DEFAULT_QUEUE;
use super::engine::{ChatRequest, Engine};
use super::latitude::{CustomerMessagesGet, ExternalBot};
use super::message::{Draft, MessageType, Participant};
use super::reply::{SimError, operation_name, opt_str, req_str};
use super::variant;
use crate::api::{self, ChatState, CustomerChatState, Visibility};

impl Engine {
    /// RequestChat: the chat starts waiting and is routed at once when an agent is free.
    pub fn request_chat(&mut self, req: ChatRequest, host: &str) -> String {
        let id = self.ids.chat_id();
        let customer_id = self.ids.customer_chat_id();
        let customer = Participant {
            id: self.ids.participant_id(),
            nickname: req.nickname,
            user_id: None,
            visibility: Visibility::All,
            external: false,
        };
        let mut user_data = req.user_data;
        if let Some(subject) = req.subject {
            user_data.insert("Subject".into(), Value::String(subject));
        }
        let queue = req.endpoint.unwrap_or_else(|| DEFAULT_QUEUE.to_owned());
        // A queue a customer can reach exists for transfers too.
        self.queues.insert(queue.clone());
        let faults = self.opts.faults;
        let numbering = Numbering { gap: faults.index_gap, repeat: faults.index_repeat };
        let mut chat = Chat::new(id.clone(), customer_id.clone(), customer.clone(), user_data, queue, numbering);
        chat.append(Draft::new(MessageType::ParticipantJoined, &customer));
        if self.opts.lat.external_bot == ExternalBot::JoinsAfterCustomer {
            let bot = variant::bot(self.ids.participant_id());
            chat.append(Draft::new(MessageType::ParticipantJoined, &bot));
            chat.append(Draft::new(MessageType::Notice, &bot).text(variant::BOT_NOTICE));
            chat.bot = Some(bot.id);
        }
        self.chats.insert(id.clone(), chat);
        self.by_customer.insert(customer_id.clone(), id.clone());
        self.chats_created += 1;
        self.waiting.push_back(id);
        self.route(host);
        customer_id
    }

    fn customer_chat_ref(&self, customer_id: &str) -> Result<&Chat, SimError> {
        self.by_customer
            .get(customer_id)
            .and_then(|id| self.chats.get(id))
            .ok_or_else(|| SimError::NotFound(format!("Chat {customer_id} not found")))
    }

    pub fn customer_chat(&self, customer_id: &str) -> Result<Value, SimError> {
        Ok(self.customer_chat_ref(customer_id)?.customer_view())
    }

    /// The customer's messages from index `from`; without one, from the first (`whole`) or from
    /// the first not yet returned (`customer-messages-get=incremental`).
    pub fn customer_messages(&mut self, customer_id: &str, from: Option<u64>) -> Result<Vec<Value>, SimError> {
        let opts = self.opts;
        let id = self.customer_chat_ref(customer_id)?.id.clone();
        let Some(chat) = self.chats.get_mut(&id) else { return Ok(Vec::new()) };
        let from = match (from, opts.lat.customer_messages_get) {
            (Some(from), _) => from,
            (None, CustomerMessagesGet::Whole) => 1,
            (None, CustomerMessagesGet::Incremental) => chat.customer_read + 1,
        };
        let messages = chat.customer_messages(from, &opts);
        if let Some(last) = messages.last().and_then(|m| m["index"].as_u64()) {
            chat.customer_read = chat.customer_read.max(last);
        }
        Ok(messages)
    }

    /// A customer operation (`api::CUSTOMER_OPERATIONS`).
    pub fn customer_operation(
        &mut self,
        customer_id: &str,
        body: &Map<String, Value>,
        host: &str,
    ) -> Result<(), SimError> {
        let name = operation_name(body)?;
        if !api::CUSTOMER_OPERATIONS.contains(&name) {
            return Err(SimError::MissingParameter(format!("Unknown operationName: {name}")));
        }
        let chat = self.customer_chat_ref(customer_id)?;
        let text = if name == "SendMessage" {
            Some(req_str(body, "text")?.to_owned())
        } else {
            opt_str(body, "text")?.map(str::to_owned)
        };
        if chat.customer_state == CustomerChatState::Idle {
            return Err(SimError::InvalidState(format!("Operation {name} is not allowed: the chat is over")));
        }
        let (chat_id, customer) = (chat.id.clone(), chat.customer.clone());
        let says = |kind| Draft::new(kind, &customer);
        match name {
            "SendMessage" => {
                let draft = says(MessageType::Text).text(text.unwrap_or_default());
                self.say(&chat_id, draft, None, host);
            }
            "SendStartTypingNotification" => self.say(&chat_id, says(MessageType::TypingStarted), None, host),
            "SendStopTypingNotification" => self.say(&chat_id, says(MessageType::TypingStopped), None, host),
            _ => self.customer_complete(&chat_id, customer, host),
        }
        Ok(())
    }

    /// A chat that waited too long for an agent: given up as if its customer had left.
    pub(super) fn give_up(&mut self, chat_id: &str, host: &str) {
        let Some(customer) = self.chats.get(chat_id).map(|c| c.customer.clone()) else { return };
        self.customer_complete(chat_id, customer, host);
    }

    /// The customer ends the chat: pending offers are revoked, agents in the conversation see
    /// the customer leave and must still Complete.
    fn customer_complete(&mut self, chat_id: &str, customer: Participant, host: &str) {
        self.waiting.retain(|id| id != chat_id);
        self.waiting_consults.retain(|id| id != chat_id);
        let invited: Vec<usize> = self
            .chats
            .get(chat_id)
            .into_iter()
            .flat_map(|c| &c.assignments)
            .filter(|a| a.state == ChatState::Invited)
            .map(|a| a.agent)
            .collect();
        for agent in &invited {
            self.set_assignment(*agent, chat_id, ChatState::Revoked);
            self.push_state(*agent, chat_id, "StatusChange", None, host);
        }
        self.say(chat_id, Draft::new(MessageType::ParticipantLeft, &customer), None, host);
        if let Some(chat) = self.chats.get_mut(chat_id) {
            chat.customer_present = false;
            chat.customer_state = CustomerChatState::Idle;
            chat.queued_consult = None;
        }
        self.note_if_over(chat_id);
        if !invited.is_empty() {
            self.route(host);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::SimConfig;

    const HOST: &str = "sim.test";

    #[test]
    fn chats_waiting_too_long_are_given_up_and_chats_over_are_forgotten() {
        let mut engine = Engine::new(&SimConfig { agents: 1, capacity: 1, ..SimConfig::default() });
        engine.keep = (std::time::Duration::ZERO, std::time::Duration::from_millis(30));
        let request =
            || ChatRequest { nickname: "Ann".into(), subject: None, endpoint: None, user_data: Default::default() };
        let customer_id = engine.request_chat(request(), HOST);
        assert_eq!(engine.waiting.len(), 1, "no agent is ready");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(engine.reap(HOST).is_empty(), "a chat just given up is still readable");
        assert!(engine.waiting.is_empty(), "a chat waiting past the limit was not given up");
        let messages = engine.customer_messages(&customer_id, None).unwrap();
        assert!(messages.iter().any(|m| m["type"] == "ParticipantLeft"), "{messages:?}");
        std::thread::sleep(std::time::Duration::from_millis(40));
        assert_eq!(engine.reap(HOST), std::slice::from_ref(&customer_id));
        assert!(engine.customer_chat(&customer_id).is_err());
        assert!(engine.chats.is_empty() && engine.by_customer.is_empty());
    }

    fn ready_engine(agents: usize, capacity: usize) -> Engine {
        let mut engine = Engine::new(&SimConfig { agents, capacity, ..SimConfig::default() });
        for agent in 1..=agents {
            engine.start_session(agent);
            engine.set_ready(agent, true, HOST).unwrap();
        }
        engine.outbox.clear();
        engine
    }

    fn chat(nickname: &str) -> ChatRequest {
        ChatRequest { nickname: nickname.into(), ..ChatRequest::default() }
    }

    /// (agent, chat state) of each StatusChange in the outbox, which is emptied.
    fn status_changes(engine: &mut Engine) -> Vec<(usize, String)> {
        engine
            .outbox
            .drain(..)
            .filter(|p| p.data["notificationType"] == "StatusChange")
            .map(|p| (p.agent, p.data["chat"]["state"].as_str().unwrap_or_default().to_owned()))
            .collect()
    }

    #[test]
    fn customer_complete_revokes_a_pending_offer_and_frees_capacity() {
        let mut engine = ready_engine(1, 1);
        let first = engine.request_chat(chat("A"), HOST);
        engine.request_chat(chat("B"), HOST);
        assert_eq!(status_changes(&mut engine), vec![(1, "Invited".into())]);
        assert_eq!(engine.chats_waiting(), 1);
        let complete = json!({"operationName": "Complete"});
        engine.customer_operation(&first, complete.as_object().unwrap(), HOST).unwrap();
        assert_eq!(status_changes(&mut engine), vec![(1, "Revoked".into()), (1, "Invited".into())]);
        assert_eq!(engine.customer_chat(&first).unwrap()["state"], "Idle");
        let again = engine.customer_operation(&first, complete.as_object().unwrap(), HOST);
        assert_eq!(again.unwrap_err().status_code(), api::status::INVALID_STATE);
    }

    #[test]
    fn ending_the_session_withdraws_offers_and_routes_them_elsewhere() {
        let mut engine = ready_engine(2, 1);
        engine.request_chat(chat("A"), HOST);
        assert_eq!(status_changes(&mut engine), vec![(1, "Invited".into())]);
        engine.end_session(1, HOST);
        assert_eq!(status_changes(&mut engine), vec![(1, "Revoked".into()), (2, "Invited".into())]);
        assert!(engine.agent_chats(1, HOST).is_empty());
        assert_eq!(engine.agent(1).active, 0);
    }

    #[test]
    fn a_chat_every_agent_rejected_waits() {
        let mut engine = ready_engine(2, 3);
        engine.request_chat(chat("A"), HOST);
        assert_eq!(status_changes(&mut engine), vec![(1, "Invited".into())]);
        let reject = json!({"operationName": "Reject"});
        let id = engine.agent_chats(1, HOST)[0]["id"].as_str().unwrap().to_owned();
        engine.chat_operation(1, &id, reject.as_object().unwrap(), 1, HOST).unwrap();
        assert_eq!(status_changes(&mut engine), vec![(1, "Completed".into()), (2, "Invited".into())]);
        engine.chat_operation(2, &id, reject.as_object().unwrap(), 1, HOST).unwrap();
        assert_eq!(status_changes(&mut engine), vec![(2, "Completed".into())]);
        assert_eq!(engine.chats_waiting(), 1);
        assert_eq!((engine.agent(1).active, engine.agent(2).active), (0, 0));
    }

    #[test]
    fn customer_messages_are_numbered_from_one_without_gaps() {
        let mut engine = ready_engine(1, 1);
        let id = engine.request_chat(chat("A"), HOST);
        for text in ["one", "two"] {
            let say = json!({"operationName": "SendMessage", "text": text});
            engine.customer_operation(&id, say.as_object().unwrap(), HOST).unwrap();
        }
        let indices: Vec<u64> =
            engine.customer_messages(&id, Some(1)).unwrap().iter().map(|m| m["index"].as_u64().unwrap()).collect();
        assert_eq!(indices, vec![1, 2, 3]);
        assert_eq!(engine.customer_messages(&id, Some(3)).unwrap()[0]["text"], "two");
        let missing = json!({"operationName": "SendMessage"});
        let err = engine.customer_operation(&id, missing.as_object().unwrap(), HOST).unwrap_err();
        assert_eq!(err.status_code(), api::status::MISSING_PARAMETER);
    }
}
