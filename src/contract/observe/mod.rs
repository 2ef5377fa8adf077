//! The stateful contract rules, checked over the stream of what a run sees: operations sent and
//! their responses, notifications delivered to each agent, transcript pages read by agents and
//! customers. Pure: no I/O, no clock of its own (callers pass `Instant`s), so hand-made streams
//! can test every rule.
//!
//! Rules (ids in `contract::rules`): `correlation.reference-id` and
//! `correlation.inferred-notification`, `state.after-operation` and
//! `state.inferred-after-operation`, `state.capabilities` and `state.inferred-capabilities`,
//! `state.capability-refused`, `transcript.index` and `transcript.index-gap`,
//! `transcript.equality`, `visibility.agents-only`.

mod correlation;
mod refusal;
mod state;
mod transcript;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::contract::Rule;
use crate::scenario::Span;

/// Where a checked action came from, so a violation can name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub step: String,
    pub span: Option<Span>,
}

/// A broken stateful rule.
#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: &'static Rule,
    pub subject: String,
    pub message: String,
    pub expected: String,
    pub actual: String,
    pub origin: Option<Origin>,
}

/// An agent's operation and what the server answered.
pub struct AgentOperation<'a> {
    pub agent: &'a str,
    pub chat: &'a str,
    pub operation: &'a str,
    pub params: &'a Value,
    /// HTTP status and JSON body of the response.
    pub status: u16,
    pub response: Option<&'a Value>,
    pub sent_at: Instant,
    /// When the response arrived.
    pub answered_at: Instant,
    pub origin: Origin,
}

/// A notification delivered to an agent, kept for matching operations registered later (a
/// notification can overtake the response to the request that caused it).
#[derive(Debug, Clone)]
struct Delivered {
    at: Instant,
    data: Value,
}

/// Watches a whole scenario.
pub struct Observer {
    deadline: Duration,
    delivered: HashMap<String, Vec<Delivered>>,
    correlation: correlation::Correlation,
    refusals: refusal::Refusals,
    transcripts: transcript::Transcripts,
    out: Vec<Violation>,
}

impl Observer {
    /// `deadline`: how long an accepted operation's notifications may take.
    pub fn new(deadline: Duration) -> Observer {
        Observer {
            deadline,
            delivered: HashMap::new(),
            correlation: correlation::Correlation::default(),
            refusals: refusal::Refusals::default(),
            transcripts: transcript::Transcripts::default(),
            out: Vec::new(),
        }
    }

    /// A notification (`data` of a `/v2/me/chats` message) delivered to `agent`.
    pub fn notification(&mut self, agent: &str, data: &Value, at: Instant) {
        state::check_capabilities(agent, data, &mut self.out);
        self.refusals.notification(agent, data, at);
        self.correlation.notification(agent, data, at, &mut self.out);
        self.transcripts.notification(agent, data, at, &mut self.out);
        let kept = self.delivered.entry(agent.to_owned()).or_default();
        kept.push(Delivered { at, data: data.clone() });
        // Only what is younger than a deadline can still match an operation registered late.
        if kept.len() > 256 {
            let horizon = at.checked_sub(self.deadline * 2);
            kept.retain(|d| horizon.is_none_or(|h| d.at >= h));
        }
    }

    /// An agent's operation was answered.
    pub fn agent_operation(&mut self, op: AgentOperation<'_>) {
        self.refusals.operation(&op, op.answered_at);
        let accepted = (200..300).contains(&op.status)
            && op.response.is_none_or(|b| b.get("statusCode").and_then(Value::as_i64).is_none_or(|c| c == 0));
        if !accepted {
            return;
        }
        self.transcripts.agent_sent(&op);
        let earlier: &[Delivered] = self.delivered.get(op.agent).map_or(&[], Vec::as_slice);
        self.correlation.register(&op, self.deadline, earlier, &mut self.out);
    }

    /// A customer's RequestChat was answered with the customer's chat id.
    pub fn customer_request(&mut self, customer: &str, chat: &str, body: &Value) {
        self.transcripts.customer_request(customer, chat, body);
    }

    /// A customer's operation was accepted.
    pub fn customer_operation(
        &mut self,
        customer: &str,
        chat: &str,
        operation: &str,
        params: &Value,
        sent_at: Instant,
        origin: Origin,
    ) {
        self.transcripts.customer_sent(customer, chat, operation, params, sent_at, self.deadline, origin);
    }

    /// A page of the agent-side transcript (GET /api/v2/me/chats/{id}/messages).
    pub fn agent_page(&mut self, agent: &str, chat: &str, messages: &[Value], origin: Origin) {
        self.transcripts.agent_page(agent, chat, messages, origin, &mut self.out);
    }

    /// A page of the customer's transcript (GET /api/v2/chats/{id}/messages), fetched at `asked_at`.
    pub fn customer_page(&mut self, customer: &str, chat: &str, messages: &[Value], asked_at: Instant, origin: Origin) {
        self.transcripts.customer_page(customer, chat, messages, asked_at, origin, &mut self.out);
    }

    /// Expire what is past its deadline at `now`.
    pub fn poll(&mut self, now: Instant) {
        self.correlation.expire(now, false, &mut self.out);
        self.refusals.expire(now, false, &mut self.out);
        self.transcripts.expire(now, false, &mut self.out);
    }

    /// Whether something still waits for a notification.
    pub fn waiting(&self) -> bool {
        self.correlation.waiting() || self.refusals.waiting() || self.transcripts.waiting()
    }

    /// The earliest deadline still running.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.correlation.next_deadline(), self.refusals.next_deadline(), self.transcripts.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// End of the scenario: whatever still waits has failed; transcripts must have no holes.
    pub fn finish(&mut self, now: Instant) {
        self.correlation.expire(now, true, &mut self.out);
        self.refusals.expire(now, true, &mut self.out);
        self.transcripts.expire(now, true, &mut self.out);
        self.transcripts.finish(&mut self.out);
    }

    /// Violations found since the last call.
    pub fn take(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.out)
    }
}

/// The agent-side chat id a notification is about: `chat.id`, else the end of `chatPath` or
/// `chatUri`.
pub fn chat_id_of(data: &Value) -> Option<&str> {
    if let Some(id) = data.get("chat").and_then(|c| c.get("id")).and_then(Value::as_str) {
        return Some(id);
    }
    ["chatPath", "chatUri"]
        .iter()
        .filter_map(|k| data.get(*k).and_then(Value::as_str))
        .find_map(|p| p.trim_end_matches('/').rsplit('/').next())
}

/// `notificationType` of a notification.
fn kind_of(data: &Value) -> &str {
    data.get("notificationType").and_then(Value::as_str).unwrap_or("")
}

fn short(v: &Value) -> String {
    crate::scenario::matcher::describe(Some(v))
}

#[cfg(test)]
mod tests;
