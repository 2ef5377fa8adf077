//! `correlation.reference-id` and `state.after-operation`: an accepted operation yields its
//! documented notifications to the agent who sent it, carrying the response's `referenceId`,
//! within the deadline; a StatusChange among them shows the documented resulting state. Where
//! the operation's page names no notification or state, the catalogue's inference is checked
//! under the profile rules `correlation.inferred-notification` and
//! `state.inferred-after-operation`. An accepted operation may still fail: an `Error`
//! notification carrying its referenceId (ChatMessageType, CancelConsult pages) is its outcome,
//! and nothing more is expected of it.

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
    /// Which of `expected` the operation's page does not name.
    inferred: Vec<bool>,
    seen: Vec<bool>,
    /// States the operation may lead to (checked on its StatusChange).
    states: Vec<&'static str>,
    /// `states` is the catalogue's inference.
    inferred_state: bool,
    /// An Error notification said the operation failed after all.
    failed: bool,
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
            inferred: def.notifications.iter().map(|n| def.inferred_notifications.contains(n)).collect(),
            seen: vec![false; def.notifications.len()],
            states: result_states(def),
            inferred_state: def.inferred_result,
            failed: false,
            sent_at: op.sent_at,
            deadline: op.sent_at + deadline,
            origin: op.origin.clone(),
            received: Vec::new(),
        };
        for d in earlier.iter().filter(|d| d.at >= op.sent_at) {
            if kind_of(&d.data) != "Error" {
                p.offer(&d.data, out);
                continue;
            }
            // An Error that overtook the response: this operation's if it carries its
            // referenceId, or if neither has one and no operation waiting before it does.
            let reference = d.data.get("referenceId").and_then(Value::as_i64);
            let older_waits = self.pending.iter().any(|o| o.agent == op.agent && o.reference.is_none() && !o.failed);
            if (reference.is_some() && reference == p.reference) || (p.reference.is_none() && !older_waits) {
                p.failed = true;
            }
        }
        if !p.done() {
            self.pending.push(p);
        }
    }

    pub fn notification(&mut self, agent: &str, data: &Value, _at: Instant, out: &mut Vec<Violation>) {
        if kind_of(data) == "Error" {
            self.error(agent, data);
        } else {
            for p in self.pending.iter_mut().filter(|p| p.agent == agent) {
                p.offer(data, out);
            }
        }
        self.pending.retain(|p| !p.done());
    }

    /// An `Error` notification: the operation whose referenceId it carries failed. One whose
    /// referenceId matches no operation that had one (or that carries none) is the outcome of
    /// the oldest operation still waiting that was answered without a referenceId: an Error
    /// names no chat, so nothing else can link them.
    fn error(&mut self, agent: &str, data: &Value) {
        let reference = data.get("referenceId").and_then(Value::as_i64);
        let mine = |p: &&mut Pending| p.agent == agent && !p.failed;
        if let Some(r) = reference
            && let Some(p) = self.pending.iter_mut().filter(mine).find(|p| p.reference == Some(r))
        {
            p.failed = true;
            return;
        }
        if let Some(p) = self.pending.iter_mut().filter(mine).find(|p| p.reference.is_none()) {
            p.failed = true;
        }
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
        self.failed || self.seen.iter().all(|s| *s)
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
                let rule = if self.inferred_state {
                    &rules::STATE_INFERRED_AFTER_OPERATION
                } else {
                    &rules::STATE_AFTER_OPERATION
                };
                out.push(Violation {
                    rule,
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
        // Only what the page names can fail the run; the rest is the catalogue's inference.
        let documented_missing = self.expected.iter().zip(&self.seen).zip(&self.inferred).any(|((_, s), i)| !*s && !*i);
        let rule = if documented_missing { &rules::CORRELATION_REFERENCE_ID } else { &rules::CORRELATION_INFERRED };
        let reference =
            self.reference.map_or_else(|| "for the same chat".to_owned(), |r| format!("with referenceId {r}"));
        let waited = self.deadline.saturating_duration_since(self.sent_at);
        Violation {
            rule,
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
