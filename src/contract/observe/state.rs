//! The capabilities a chat advertises, against its state.
//!
//! - `state.capabilities` (documented): a Chatting chat offers SendMessage — every Chatting
//!   sample shows it (ChatAccept, ChatAddAttachment).
//! - `state.inferred-capabilities` (profile): Invited offers Accept and Reject, Completed and
//!   Revoked offer nothing, no capability is an operation the catalogue does not allow in that
//!   state, and every name is a documented operation. No page shows an Invited or a Completed
//!   chat's capabilities, so none of this can fail a server.

use serde_json::Value;

use super::{Violation, chat_id_of, kind_of};
use crate::api::{self, ChatState};
use crate::contract::rules;

/// Capabilities the documentation shows a state always offering.
fn documented_required(state: ChatState) -> &'static [&'static str] {
    match state {
        ChatState::Chatting => &["SendMessage"],
        _ => &[],
    }
}

/// Capabilities the catalogue infers a state must offer.
fn inferred_required(state: ChatState) -> &'static [&'static str] {
    match state {
        ChatState::Invited => &["Accept", "Reject"],
        _ => &[],
    }
}

/// Documented samples list these although the catalogue does not allow them in that state:
/// the ChatLeave page shows Leave among a LeftChat chat's capabilities.
const DOCUMENTED_EXTRA: &[(ChatState, &str)] = &[(ChatState::LeftChat, "Leave")];

/// Names that appear among documented capabilities without an operation page of their own, or
/// for the supervisor and customer sides.
const OTHER_KNOWN: &[&str] = &["InFocus", "SwitchToMonitor", "SwitchToCoach", "SwitchBargeIn"];

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
    let actual = format!("[{}]", caps.join(", "));

    let missing: Vec<&str> = documented_required(state).iter().copied().filter(|r| !caps.contains(r)).collect();
    if !missing.is_empty() {
        out.push(Violation {
            rule: &rules::STATE_CAPABILITIES,
            subject: subject.clone(),
            message: format!("a {} chat does not offer {}", state.as_str(), missing.join(", ")),
            expected: format!("{} among the capabilities", documented_required(state).join(", ")),
            actual: actual.clone(),
            origin: None,
        });
    }

    let missing: Vec<&str> = inferred_required(state).iter().copied().filter(|r| !caps.contains(r)).collect();
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
    let unknown: Vec<&str> =
        caps.iter().copied().filter(|c| api::operation(c).is_none() && !OTHER_KNOWN.contains(c)).collect();
    if missing.is_empty() && unexpected.is_empty() && unknown.is_empty() {
        return;
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        problems.push(format!("not valid in {}: {}", state.as_str(), unexpected.join(", ")));
    }
    if !unknown.is_empty() {
        problems.push(format!("no documented operation: {}", unknown.join(", ")));
    }
    let expected = if terminal {
        "no capabilities".to_owned()
    } else {
        let required = inferred_required(state);
        let head = if required.is_empty() {
            String::new()
        } else {
            format!("{} among the capabilities, and ", required.join(", "))
        };
        format!("{head}only documented operations valid in {}", state.as_str())
    };
    out.push(Violation {
        rule: &rules::STATE_INFERRED_CAPABILITIES,
        subject,
        message: format!(
            "capabilities differ from the catalogue's for state {}: {}",
            state.as_str(),
            problems.join("; ")
        ),
        expected,
        actual,
        origin: None,
    });
}
