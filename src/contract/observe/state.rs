//! `state.capabilities`: the capabilities a chat advertises agree with its state — Invited offers
//! Accept and Reject, Chatting offers SendMessage, Completed and Revoked offer nothing, and no
//! capability is an operation the catalogue does not allow in that state.

use serde_json::Value;

use super::{Violation, chat_id_of, kind_of};
use crate::api::{self, ChatState};
use crate::contract::rules;

/// Capabilities a state must offer.
fn required(state: ChatState) -> &'static [&'static str] {
    match state {
        ChatState::Invited => &["Accept", "Reject"],
        ChatState::Chatting => &["SendMessage"],
        _ => &[],
    }
}

/// Documented samples list these although the catalogue does not allow them in that state:
/// the ChatLeave page shows Leave among a LeftChat chat's capabilities.
const DOCUMENTED_EXTRA: &[(ChatState, &str)] = &[(ChatState::LeftChat, "Leave")];

/// Older pages say `InFocus` for `SetInFocus`.
fn canonical(cap: &str) -> &str {
    if cap == "InFocus" { "SetInFocus" } else { cap }
}

pub fn check_capabilities(agent: &str, data: &Value, out: &mut Vec<Violation>) {
    let Some(chat) = data.get("chat") else { return };
    let (Some(state), Some(caps)) = (
        chat.get("state").and_then(Value::as_str).and_then(ChatState::parse),
        chat.get("capabilities").and_then(Value::as_array),
    ) else {
        return;
    };
    let caps: Vec<&str> = caps.iter().filter_map(Value::as_str).map(canonical).collect();
    let subject = format!("{agent}: {} on chat {}", kind_of(data), chat_id_of(data).unwrap_or("?"));
    let missing: Vec<&str> = required(state).iter().copied().filter(|r| !caps.contains(r)).collect();
    let terminal = matches!(state, ChatState::Completed | ChatState::Revoked);
    let unexpected: Vec<&str> = caps
        .iter()
        .copied()
        .filter(|c| {
            terminal
                || api::operation(c)
                    .is_some_and(|op| !op.allowed_states.contains(&state) && !DOCUMENTED_EXTRA.contains(&(state, *c)))
        })
        .collect();
    if missing.is_empty() && unexpected.is_empty() {
        return;
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        problems.push(format!("not valid in {}: {}", state.as_str(), unexpected.join(", ")));
    }
    let expected = if terminal {
        "no capabilities".to_owned()
    } else {
        format!(
            "{} among the capabilities, and only operations valid in {}",
            required(state).join(", "),
            state.as_str()
        )
    };
    out.push(Violation {
        rule: &rules::STATE_CAPABILITIES,
        subject,
        message: format!("capabilities disagree with state {}: {}", state.as_str(), problems.join("; ")),
        expected,
        actual: format!("[{}]", caps.join(", ")),
        origin: None,
    });
}
