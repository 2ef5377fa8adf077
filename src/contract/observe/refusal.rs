//! `state.capability-refused`: capabilities are the operations valid for the chat now
//! (ChatResources), and statusCode 2 says a parameter is not valid in the current state
//! (ReturnValues) — `operationName` being one of the parameters every operation page lists. So
//! an operation the chat advertises, sent with no parameter whose validity could depend on the
//! state (only content: a text, a nickname...), must not be refused with 2 — as long as the
//! capabilities are current: nothing this agent did since could have changed them, and no
//! notification withdrawing the operation follows the refusal within a short grace (one may
//! have been on its way when the operation was sent).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{AgentOperation, Origin, Violation, chat_id_of};
use crate::api;
use crate::contract::rules;

/// How long after a refusal a notification withdrawing the operation still excuses it.
pub const GRACE: Duration = Duration::from_secs(1);

/// The capabilities last advertised to an agent for a chat.
struct Advertised {
    capabilities: Vec<String>,
    at: Instant,
}

/// A refusal of an advertised operation, waiting out the grace.
struct Suspect {
    agent: String,
    chat: String,
    operation: String,
    advertised: Vec<String>,
    deadline: Instant,
    origin: Origin,
}

#[derive(Default)]
pub struct Refusals {
    advertised: HashMap<(String, String), Advertised>,
    /// When each agent last had an operation accepted that may change a chat's capabilities.
    changed_at: HashMap<(String, String), Instant>,
    suspects: Vec<Suspect>,
}

/// Parameters that carry content only: valid whatever the chat's state, so a statusCode 2 on a
/// request carrying nothing else is about the operation itself.
const CONTENT_PARAMETERS: &[&str] =
    &["operationName", "text", "messageType", "treatAs", "nickname", "noticeText", "url", "saveLAR"];

/// Older pages say `InFocus` for `SetInFocus`.
fn canonical(cap: &str) -> &str {
    if cap == "InFocus" { "SetInFocus" } else { cap }
}

/// Whether an accepted operation may change the chat's capabilities: it changes the state, or
/// the conference or consult situation they depend on.
fn may_change_capabilities(operation: &str) -> bool {
    api::operation(operation).is_none_or(|op| {
        op.result_state.is_some()
            || op.deferred
            || matches!(op.name, "CancelConsult" | "RemoveParticipantFromConference")
    })
}

impl Refusals {
    pub fn notification(&mut self, agent: &str, data: &Value, at: Instant) {
        let Some(caps) = data.get("chat").and_then(|c| c.get("capabilities")).and_then(Value::as_array) else {
            return;
        };
        let Some(chat) = chat_id_of(data) else { return };
        let capabilities: Vec<String> =
            caps.iter().filter_map(Value::as_str).map(|c| canonical(c).to_owned()).collect();
        self.suspects.retain(|s| !(s.agent == agent && s.chat == chat && !capabilities.contains(&s.operation)));
        self.advertised.insert((agent.to_owned(), chat.to_owned()), Advertised { capabilities, at });
    }

    pub fn operation(&mut self, op: &AgentOperation<'_>, now: Instant) {
        let key = (op.agent.to_owned(), op.chat.to_owned());
        let code = op.response.and_then(|b| b.get("statusCode")).and_then(Value::as_i64);
        let accepted = (200..300).contains(&op.status) && code.is_none_or(|c| c == 0);
        if accepted {
            if may_change_capabilities(op.operation) {
                self.changed_at.insert(key, op.sent_at);
            }
            return;
        }
        let content_only =
            op.params.as_object().is_some_and(|p| p.keys().all(|k| CONTENT_PARAMETERS.contains(&k.as_str())));
        if code != Some(crate::api::status::INVALID_STATE) || !content_only {
            return;
        }
        let Some(adv) = self.advertised.get(&key) else { return };
        let current = self.changed_at.get(&key).is_none_or(|changed| adv.at > *changed);
        if current && adv.capabilities.iter().any(|c| c == op.operation) {
            self.suspects.push(Suspect {
                agent: op.agent.to_owned(),
                chat: op.chat.to_owned(),
                operation: op.operation.to_owned(),
                advertised: adv.capabilities.clone(),
                deadline: now + GRACE,
                origin: op.origin.clone(),
            });
        }
    }

    pub fn expire(&mut self, now: Instant, all: bool, out: &mut Vec<Violation>) {
        let (due, keep): (Vec<Suspect>, Vec<Suspect>) =
            std::mem::take(&mut self.suspects).into_iter().partition(|s| all || now >= s.deadline);
        self.suspects = keep;
        for s in due {
            out.push(Violation {
                rule: &rules::STATE_CAPABILITY_REFUSED,
                subject: format!("{}: {} on chat {}", s.agent, s.operation, s.chat),
                message: format!(
                    "{} was refused with statusCode 2 (not valid in the current state) although the chat advertises it",
                    s.operation
                ),
                expected: format!("{} accepted, or withdrawn from the capabilities first", s.operation),
                actual: format!("statusCode 2; capabilities [{}]", s.advertised.join(", ")),
                origin: Some(s.origin),
            });
        }
    }

    pub fn waiting(&self) -> bool {
        !self.suspects.is_empty()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.suspects.iter().map(|s| s.deadline).min()
    }
}
