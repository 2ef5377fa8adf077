//! The catalogue of agent chat operations on `POST /api/v2/me/chats/{id}`: parameters, the
//! states an operation is valid in, the state it leads to and the notifications it yields.
//! Capabilities advertised in a chat resource are derived from this table.

use super::ChatState::{self, *};

/// A parameter of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
}

const fn req(name: &'static str) -> Param {
    Param { name, required: true }
}

const fn opt(name: &'static str) -> Param {
    Param { name, required: false }
}

/// One documented chat operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub params: &'static [Param],
    /// States in which the operation is among the chat's capabilities.
    pub allowed_states: &'static [ChatState],
    /// State the agent's chat is in once the operation took effect, when it changes.
    pub result_state: Option<ChatState>,
    /// `notificationType` values the operation yields on `/v2/me/chats`, in order.
    pub notifications: &'static [&'static str],
}

/// The optional text / messageType / treatAs trio several operations accept.
const TEXT_TRIO: [Param; 3] = [opt("text"), opt("messageType"), opt("treatAs")];

pub static CATALOGUE: &[Operation] = &[
    Operation {
        name: "Accept",
        params: &[opt("nickname"), opt("saveLAR")],
        allowed_states: &[Invited],
        result_state: Some(Chatting),
        notifications: &["StatusChange", "ParticipantsUpdated", "NewMessages"],
    },
    Operation {
        name: "Reject",
        params: &[],
        allowed_states: &[Invited],
        result_state: Some(Completed),
        notifications: &["StatusChange"],
    },
    Operation {
        name: "Complete",
        params: &[opt("queueName"), opt("saveLAR"), TEXT_TRIO[0], TEXT_TRIO[1], TEXT_TRIO[2]],
        allowed_states: &[Chatting, LeftChat],
        result_state: Some(Completed),
        notifications: &["StatusChange"],
    },
    Operation {
        name: "Leave",
        params: &TEXT_TRIO,
        allowed_states: &[Chatting],
        result_state: Some(LeftChat),
        notifications: &["StatusChange"],
    },
    Operation {
        name: "SendMessage",
        params: &[req("text"), opt("messageType"), opt("treatAs")],
        allowed_states: &[Chatting],
        result_state: None,
        notifications: &["NewMessages"],
    },
    Operation {
        name: "SendStartTypingNotification",
        params: &[],
        allowed_states: &[Chatting],
        result_state: None,
        notifications: &["NewMessages"],
    },
    Operation {
        name: "SendStopTypingNotification",
        params: &[],
        allowed_states: &[Chatting],
        result_state: None,
        notifications: &["NewMessages"],
    },
];

/// The operation of that name, if documented.
pub fn operation(name: &str) -> Option<&'static Operation> {
    CATALOGUE.iter().find(|op| op.name == name)
}

/// The capabilities a chat in `state` advertises, in catalogue order.
pub fn capabilities_in(state: ChatState) -> Vec<&'static str> {
    CATALOGUE.iter().filter(|op| op.allowed_states.contains(&state)).map(|op| op.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invited_offers_accept_and_reject_only() {
        assert_eq!(capabilities_in(Invited), vec!["Accept", "Reject"]);
    }

    #[test]
    fn completed_has_no_capabilities() {
        assert!(capabilities_in(Completed).is_empty());
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
        }
    }
}
