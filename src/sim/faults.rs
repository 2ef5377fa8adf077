//! The faults the simulator can inject: realistic, independent departures from the documented
//! contract, each with a kebab-case name for the command line (`chatprobe serve --fault NAME`)
//! and the self-test's kill matrix. `Faults` holds which are on, one flag per fault, so a test
//! writes `Faults { index_gap: true, ..Faults::default() }`; `Fault` names one of them.

use std::fmt;

use thiserror::Error;

/// Every nth notification on `/v2/me/chats` an agent is due is lost under `DropOneInN`.
pub const DROP_ONE_IN: u64 = 5;

/// How late notifications arrive under `DelayNotifications`: past the 5 s a harness waits for
/// an operation's notifications by default.
pub const NOTIFICATION_DELAY: std::time::Duration = std::time::Duration::from_secs(6);

macro_rules! faults {
    ($($variant:ident, $field:ident, $name:literal, $doc:literal;)*) => {
        /// Contract breaches the simulator commits on purpose, so the harness can be seen catching
        /// them. All off by default.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct Faults {
            $(#[doc = $doc] pub $field: bool,)*
        }

        /// One fault, by name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault {
            $(#[doc = $doc] $variant,)*
        }

        impl Fault {
            /// Every fault, in the order the kill matrix lists them.
            pub const ALL: &'static [Fault] = &[$(Fault::$variant),*];

            /// The kebab-case name the command line takes.
            pub fn name(self) -> &'static str {
                match self { $(Fault::$variant => $name,)* }
            }

            /// One line saying what the simulator does wrong.
            pub fn description(self) -> &'static str {
                match self { $(Fault::$variant => $doc,)* }
            }
        }

        impl Faults {
            /// Turn `fault` on.
            pub fn set(&mut self, fault: Fault) {
                match fault { $(Fault::$variant => self.$field = true,)* }
            }

            /// Whether `fault` is on.
            pub fn has(&self, fault: Fault) -> bool {
                match fault { $(Fault::$variant => self.$field,)* }
            }
        }
    };
}

faults! {
    StatusCodeAsString, status_code_as_string, "status-code-as-string",
        "`statusCode` is sent as a JSON string (\"0\") in responses to chat operations.";
    OmitReferenceId, omit_reference_id, "omit-reference-id",
        "Notifications caused by an operation carry no referenceId (the POST response still has one).";
    WrongStateAfterAccept, wrong_state_after_accept, "wrong-state-after-accept",
        "Accept's StatusChange says `Invited` instead of `Chatting`.";
    CapabilityMissing, capability_missing, "capability-missing",
        "`SendMessage` is missing from the capabilities of a Chatting chat (it still works).";
    IndexGap, index_gap, "index-gap",
        "Message indices skip one number every third message of a chat.";
    IndexRepeat, index_repeat, "index-repeat",
        "The second Text message of each chat reuses the previous message's index.";
    LeakAgentsVisibility, leak_agents_visibility, "leak-agents-visibility",
        "Messages with visibility Agents are also returned to the customer.";
    AlterCustomerText, alter_customer_text, "alter-customer-text",
        "Customer messages reach agents (notifications and transcripts) with \" (edited)\" appended.";
    DropNotification, drop_notification, "drop-notification",
        "No NewMessages notification is sent for an agent's SendMessage.";
    DropOneInN, drop_one_in_n, "drop-one-in-n",
        "Every fifth notification on /v2/me/chats due to an agent is lost.";
    DelayNotifications, delay_notifications, "delay-notifications",
        "PropertiesUpdated notifications (disposition, userData) arrive 6 s after the change, past the deadline.";
    CsrfNotEnforced, csrf_not_enforced, "csrf-not-enforced",
        "Writes are accepted with the session cookie alone, without the CSRF token.";
    ForeignChatReadable, foreign_chat_readable, "foreign-chat-readable",
        "Any agent can read and address any chat, not only the chats it was offered.";
    TruncatedJson, truncated_json, "truncated-json",
        "The body of GET /api/v2/me/chats is cut off halfway: not valid JSON.";
    WrongContentType, wrong_content_type, "wrong-content-type",
        "Responses to chat operations carry their JSON with Content-Type text/plain.";
    GarbageTimestamp, garbage_timestamp, "garbage-timestamp",
        "Message timestamps are written as RFC 2822 dates (\"Sat, 21 Nov 2026 05:55:33 +0000\").";
    ParticipantTypeCase, participant_type_case, "participant-type-case",
        "Participants in agent-side chat resources have their type in lower case (\"agent\", \"customer\").";
    ConnectWithoutAdvice, connect_without_advice, "connect-without-advice",
        "Successful Bayeux /meta/connect replies carry no advice, not even the first of a session.";
    DuplicateNotification, duplicate_notification, "duplicate-notification",
        "Every NewMessages notification is delivered twice.";
    AttachmentWithoutDocument, attachment_without_document, "attachment-without-document",
        "AttachmentAdded notifications carry the chat without its attachments.";
    UploadWithoutMessage, upload_without_message, "upload-without-message",
        "UploadFile is accepted but adds no file-uploaded message, so no NewMessages follows.";
}

impl Fault {
    /// The fault of that name.
    pub fn parse(name: &str) -> Result<Fault, UnknownFault> {
        let wanted = name.trim();
        Fault::ALL.iter().copied().find(|f| f.name() == wanted).ok_or_else(|| UnknownFault(wanted.to_owned()))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Faults {
    /// Exactly `fault` on.
    pub fn only(fault: Fault) -> Faults {
        let mut faults = Faults::default();
        faults.set(fault);
        faults
    }

    /// The faults named in `names` (as `--fault a,b` gives them) on.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Faults, UnknownFault> {
        let mut faults = Faults::default();
        for name in names.into_iter().filter(|n| !n.trim().is_empty()) {
            faults.set(Fault::parse(name)?);
        }
        Ok(faults)
    }

    /// The faults that are on, in catalogue order.
    pub fn enabled(&self) -> Vec<Fault> {
        Fault::ALL.iter().copied().filter(|f| self.has(*f)).collect()
    }
}

/// A fault name the simulator does not know.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("unknown fault `{0}`; known faults: {known}", known = known_names())]
pub struct UnknownFault(pub String);

fn known_names() -> String {
    Fault::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_parse_back() {
        for (i, f) in Fault::ALL.iter().enumerate() {
            assert!(Fault::ALL[i + 1..].iter().all(|o| o.name() != f.name()), "{f} twice");
            assert!(f.name().chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{f}");
            assert_eq!(Fault::parse(f.name()), Ok(*f));
            assert!(!f.description().is_empty());
        }
    }

    #[test]
    fn flags_follow_the_names() {
        let faults = Faults::from_names(["index-gap", " csrf-not-enforced", ""]).unwrap();
        assert_eq!(faults, Faults { index_gap: true, csrf_not_enforced: true, ..Faults::default() });
        assert_eq!(faults.enabled(), vec![Fault::IndexGap, Fault::CsrfNotEnforced]);
        assert_eq!(Faults::only(Fault::TruncatedJson).enabled(), vec![Fault::TruncatedJson]);
        let err = Faults::from_names(["no-such-fault"]).unwrap_err();
        assert!(err.to_string().contains("no-such-fault") && err.to_string().contains("index-gap"), "{err}");
    }
}
