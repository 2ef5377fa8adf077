//! `correlation.reference-id` and `state.after-operation`: an accepted operation yields its
//! documented notifications to the agent who sent it, carrying the response's `referenceId`,
//! within the deadline; a StatusChange among them shows the documented resulting state.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{AgentOperation, Delivered, Origin, Violation, chat_id_of, kind_of};
use crate::api::{self, ChatState};
use crate::contract::rules;

struct Pending {
    agent: String,
    chat: String,
    operation: String,
    reference: Option<i64>,
    expected: Vec<&'static str>,
    seen: Vec<bool>,
    /// States the operation may lead to (checked on its StatusChange).
    states: Vec<&'static str>,
    sent_at: Instant,
    deadline: Instant,
    origin: Origin,
    received: Vec<String>,
}

#[derive(Default)]
pub struct Correlation {
    pending: Vec<Pending>,
}

/// The states an operation may leave the sender's chat in.
fn result_states(op: &api::Operation) -> Vec<&'static str> {
    let mut states: Vec<&'static str> = op.result_state.map(ChatState::as_str).into_iter().collect();
    // In a conference or consult, Leave ends the agent's part: Completed (ChatLeave page).
    if op.name == "Leave" {
        states.push(ChatState::Completed.as_str());
    }
    states
}

impl Correlation {
    pub fn register(
        &mut self,
        op: &AgentOperation<'_>,
        deadline: Duration,
        earlier: &[Delivered],
        out: &mut Vec<Violation>,
    ) {
        let Some(def) = api::operation(op.operation) else { return };
        // Invite and Consult notify the sender when the invitee accepts, not within a deadline.
        if def.deferred || def.notifications.is_empty() {
            return;
        }
        let reference = op.response.and_then(|b| b.get("referenceId")).and_then(Value::as_i64);
        let mut p = Pending {
            agent: op.agent.to_owned(),
            chat: op.chat.to_owned(),
            operation: op.operation.to_owned(),
            reference,
            expected: def.notifications.to_vec(),
            seen: vec![false; def.notifications.len()],
            states: result_states(def),
            sent_at: op.sent_at,
            deadline: op.sent_at + deadline,
            origin: op.origin.clone(),
            received: Vec::new(),
        };
        for d in earlier.iter().filter(|d| d.at >= op.sent_at) {
            p.offer(&d.data, out);
        }
        if !p.done() {
            self.pending.push(p);
        }
    }

    pub fn notification(&mut self, agent: &str, data: &Value, _at: Instant, out: &mut Vec<Violation>) {
        for p in self.pending.iter_mut().filter(|p| p.agent == agent) {
            p.offer(data, out);
        }
        self.pending.retain(|p| !p.done());
    }

    pub fn expire(&mut self, now: Instant, all: bool, out: &mut Vec<Violation>) {
        let (late, keep): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut self.pending).into_iter().partition(|p| all || now >= p.deadline);
        self.pending = keep;
        for p in late {
            out.push(p.violation());
        }
    }

    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }
}

impl Pending {
    fn done(&self) -> bool {
        self.seen.iter().all(|s| *s)
    }

    /// Take `data` as one of the expected notifications if it belongs to this operation.
    fn offer(&mut self, data: &Value, out: &mut Vec<Violation>) {
        let kind = kind_of(data);
        let ours = match self.reference {
            Some(r) => data.get("referenceId").and_then(Value::as_i64) == Some(r),
            // Without a referenceId in the response (the docs allow it for some operations),
            // the chat and the kind are all there is to go by.
            None => chat_id_of(data) == Some(self.chat.as_str()),
        };
        if !ours {
            return;
        }
        self.received.push(kind.to_owned());
        let Some(slot) = self.expected.iter().zip(&self.seen).position(|(e, s)| *e == kind && !*s) else { return };
        self.seen[slot] = true;
        if kind == "StatusChange" && !self.states.is_empty() {
            let state = data.get("chat").and_then(|c| c.get("state")).and_then(Value::as_str).unwrap_or("");
            if !self.states.contains(&state) {
                out.push(Violation {
                    rule: &rules::STATE_AFTER_OPERATION,
                    subject: format!("{}: {} on chat {}", self.agent, self.operation, self.chat),
                    message: format!("after {} the chat is `{state}`", self.operation),
                    expected: format!("state {}", self.states.join(" or ")),
                    actual: format!("state {state}"),
                    origin: Some(self.origin.clone()),
                });
            }
        }
    }

    fn violation(self) -> Violation {
        let missing: Vec<&str> = self.expected.iter().zip(&self.seen).filter(|(_, s)| !**s).map(|(e, _)| *e).collect();
        let reference =
            self.reference.map_or_else(|| "for the same chat".to_owned(), |r| format!("with referenceId {r}"));
        let waited = self.deadline.saturating_duration_since(self.sent_at);
        Violation {
            rule: &rules::CORRELATION_REFERENCE_ID,
            subject: format!("{}: {} on chat {}", self.agent, self.operation, self.chat),
            message: format!(
                "{} was accepted but its {} notification(s) {reference} did not arrive within {waited:?}",
                self.operation,
                missing.join(", ")
            ),
            expected: format!("{} {reference}", self.expected.join(", ")),
            actual: if self.received.is_empty() {
                "no notification for this operation".to_owned()
            } else {
                format!("received {}", self.received.join(", "))
            },
            origin: Some(self.origin),
        }
    }
}
