//! The catalogue of rules a run checks, each with a stable id that reports, thresholds and the
//! kill matrix refer to, the evidence it rests on, and the severity that evidence earns it. An id
//! never changes meaning; new rules get new ids.
//!
//! A rule may fail a server only on what the documentation says: a rule whose source is a
//! documented page is a `violation` when broken (the run fails, exit 1). Where the documentation
//! is silent or only suggests, the rule is this project's `profile` choice: broken, it is an
//! `observation`, reported everywhere and never changing the exit code unless `--strict`.

use serde::Serialize;

pub use crate::scenario::source::{PROFILE, is_profile};

/// What breaking a check means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The documentation promises it: breaking it fails the run.
    Violation,
    /// A profile choice where the documentation is silent: reported, never failing (unless
    /// `--strict`).
    Observation,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Violation => "violation",
            Severity::Observation => "observation",
        }
    }

    /// The severity a source earns: `profile` (or `profile: why`) is an observation, anything
    /// else names documentation.
    pub fn of_source(source: &str) -> Severity {
        if is_profile(source) { Severity::Observation } else { Severity::Violation }
    }
}

/// A rule: stable id, the family it belongs to, one line saying what it requires, the
/// evidence it rests on, and the severity that evidence earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub family: Family,
    pub severity: Severity,
    /// A documentation page (digest section in brackets), or `profile: why`.
    pub source: &'static str,
    pub description: &'static str,
}

/// What kind of promise a rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Documented shapes (JSON Schema).
    Shape,
    /// HTTP and Bayeux protocol rules.
    Protocol,
    /// What the scenario asserts.
    Assertion,
    /// The harness could not talk to the server.
    Transport,
    /// Operations and the notifications they cause.
    Correlation,
    /// States and capabilities.
    State,
    /// Message indices and contents across both sides.
    Transcript,
    /// Who may see or do what.
    Security,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $family:ident, $source:literal, $desc:literal;)*) => {
        $(pub const $konst: Rule = Rule {
            id: $id,
            family: Family::$family,
            severity: if const_is_profile($source) { Severity::Observation } else { Severity::Violation },
            source: $source,
            description: $desc,
        };)*
        /// Every rule, for listings and reports.
        pub const ALL: &[Rule] = &[$($konst),*];
    };
}

/// `is_profile` for sources written in this file (all start with the word in lower case).
const fn const_is_profile(source: &str) -> bool {
    let (s, p) = (source.as_bytes(), PROFILE.as_bytes());
    if s.len() < p.len() {
        return false;
    }
    let mut i = 0;
    while i < p.len() {
        if s[i] != p[i] {
            return false;
        }
        i += 1;
    }
    s.len() == p.len() || s[p.len()] == b':'
}

rules! {
    SHAPE_RESPONSE = "shape.response", Shape,
        "the documented samples of each endpoint; every file in schemas/gws names its pages (digest §1–§5, §12)",
        "Every HTTP response body of a documented endpoint matches the documented shape.";
    SHAPE_NOTIFICATION = "shape.notification", Shape,
        "ChatMessageType and the operation pages' notification samples; schemas/gws names them (digest §4, §6)",
        "Every Bayeux message (meta reply or notification) matches its documented shape.";
    SHAPE_INFERRED_RESPONSE = "shape.inferred-response", Shape,
        "profile: the envelope of GET /api/v2/me/chats and the answer to Add New Document are not documented (digest §2, §11)",
        "Responses of endpoints whose shape the documentation only suggests match the shape chatprobe infers.";
    SHAPE_NOTIFICATION_TYPE = "shape.notification-type", Shape,
        "profile: ChatMessageType lists StatusChange, ParticipantsUpdated, PropertiesUpdated, Error and NewMessages, yet the AddAttachment sample uses AttachmentAdded, so the list is open (digest §6)",
        "A notificationType is one the documentation shows.";
    SHAPE_MESSAGE_TYPE = "shape.message-type", Shape,
        "profile: the message-type table of ChatResources is cut off after TranscriptSaveDone (digest §4, §11)",
        "A message type is one the documentation shows.";
    SHAPE_TEGSOFT_RESPONSE = "shape.tegsoft-response", Shape,
        "profile: the Tegsoft page documents requests only; the answers' keys, values, codes and statuses are the Tegsoft profile's (--tegsoft-profile, docs/tegsoft.md)",
        "A Tegsoft webchat answer is JSON of the shape the profile gives it: the success shape for a 2xx status, the failure shape otherwise.";
    SHAPE_REQUEST = "shape.request", Shape,
        "the request shapes the documentation prints; each file of schemas/tegsoft names its page (Tegsoft: Webchat File Attachment for API, digest §9)",
        "A request a step declares documented (`http.schema`) has that documented shape; checked before it is sent, so what the step proves rests on the page.";
    PROTOCOL_JSON = "protocol.json", Protocol,
        "MakingaRequest, ReturnValues: every answer is a JSON body (digest §1, §5)",
        "API responses and Bayeux replies are well-formed JSON.";
    PROTOCOL_CONTENT_TYPE = "protocol.content-type", Protocol,
        "profile: no page names the content type of an answer (digest §11)",
        "A JSON body is sent with an application/json content type.";
    PROTOCOL_BAYEUX = "protocol.bayeux", Protocol,
        "Bayeux 1.0 as CometD implements it; GWS runs CometD 3 (digest §6, bayeux.md §1)",
        "The CometD endpoint follows Bayeux 1.0: replies for every meta message, advice honoured, sessions kept.";
    PROTOCOL_BAYEUX_ADVICE = "protocol.bayeux-advice", Protocol,
        "profile: Bayeux 1.0 makes advice optional; CometD and Faye servers send it on a session's first connect and on refusals (bayeux.md §4)",
        "The reply to a session's first /meta/connect (advice timeout 0), and every unsuccessful connect reply, carries advice.";
    PROTOCOL_BAYEUX_DUPLICATE = "protocol.bayeux-duplicate", Protocol,
        "profile: Bayeux 1.0 does not forbid it; no CometD server sends an event twice in one answer (bayeux.md §4)",
        "A Bayeux response never carries the same event (channel and data) twice.";
    ASSERT_STATUS = "assert.status", Assertion,
        "the scenario: each expectation names its own source",
        "The HTTP status is the one the scenario expects.";
    ASSERT_BODY = "assert.body", Assertion,
        "the scenario: each expectation names its own source",
        "The response body has the values the scenario expects.";
    ASSERT_HEADER = "assert.header", Assertion,
        "the scenario: each expectation names its own source",
        "The response headers have the values the scenario expects.";
    ASSERT_NOTIFICATION = "assert.notification", Assertion,
        "the scenario: each expectation names its own source",
        "The notifications the scenario expects arrive within their deadline.";
    ASSERT_REFUSED = "assert.refused", Assertion,
        "the scenario: each expectation names its own source; an accepted request may fail later with an Error notification (digest §1, §6)",
        "A request the scenario expects refused is refused with one of the expected statusCodes, or accepted and then failed by an Error notification.";
    ASSERT_TRANSCRIPT = "assert.transcript", Assertion,
        "the scenario: each expectation names its own source",
        "The customer's transcript, read page after page, comes to hold what the scenario expects within its deadline.";
    ASSERT_FILE = "assert.file", Assertion,
        "the scenario: each expectation names its own source",
        "An uploaded or downloaded file has the expected SHA-256, size and content type.";
    ASSERT_CAPTURE = "assert.capture", Assertion,
        "the scenario: each expectation names its own source",
        "A value the scenario captures is present.";
    ASSERT_GUARD = "assert.guard", Assertion,
        "profile: a guard marks what the rest of a scenario rests on where the documentation promises what follows an accepted request but not that it is accepted (the Tegsoft services, digest §9)",
        "A step's guard holds; unmet, the steps after it are skipped, not failed.";
    ASSERT_SESSION = "assert.session", Assertion,
        "StartContactCenterSession, SettingAgentStateChannel (digest §7)",
        "Login, contact-centre session and Ready are accepted for each agent.";
    TRANSPORT = "transport", Transport,
        "every request is answered (HTTP/1.1); the deadline is --request-timeout",
        "The server answers every request within its deadline.";
    CORRELATION_REFERENCE_ID = "correlation.reference-id", Correlation,
        "ChatMessageType: referenceId links a notification to the request; each operation page names its notifications (digest §3, §6)",
        "An accepted operation yields its documented notifications to the sender, carrying the response's referenceId, within the deadline; an Error notification with that referenceId is an outcome too.";
    CORRELATION_INFERRED = "correlation.inferred-notification", Correlation,
        "profile: where an operation's page names no notification, or only describes it, the kind is inferred (digest §3)",
        "An accepted operation yields the notifications chatprobe infers for it (Accept's history, Transfer's StatusChange, RemoveAttachment's update...).";
    STATE_AFTER_OPERATION = "state.after-operation", State,
        "ChatAccept, ChatReject, ChatComplete, ChatLeave (digest §3, §4)",
        "After Accept, Reject, Complete or Leave, the StatusChange it causes shows the documented resulting state.";
    STATE_INFERRED_AFTER_OPERATION = "state.inferred-after-operation", State,
        "profile: the pages of Transfer and LeaveAndComplete show no resulting state (digest §3, §11)",
        "After Transfer or LeaveAndComplete, the StatusChange shows the state chatprobe infers (Completed).";
    STATE_CAPABILITIES = "state.capabilities", State,
        "ChatAccept, ChatAddAttachment: a Chatting chat offers SendMessage (digest §4)",
        "A Chatting chat offers SendMessage among its capabilities.";
    STATE_INFERRED_CAPABILITIES = "state.inferred-capabilities", State,
        "profile: no Invited or Completed sample exists, and the samples list only some situations (digest §4, §11)",
        "Capabilities agree with the catalogue: Invited offers Accept and Reject, Completed and Revoked nothing, no operation outside its states, no unknown name.";
    STATE_CAPABILITY_REFUSED = "state.capability-refused", State,
        "ChatResources: capabilities are the operations valid now; ReturnValues: 2 means a parameter (operationName among them) is not valid in the current state (digest §4, §5)",
        "An operation the chat advertises, sent with content parameters only and no capability-changing operation accepted since, is not refused with statusCode 2.";
    TRANSCRIPT_INDEX = "transcript.index", Transcript,
        "ChatResources: a message's index increases along the transcript (digest §4)",
        "Message indices of a chat strictly increase and are never reused for another message, across notifications and GET pages.";
    TRANSCRIPT_INDEX_GAP = "transcript.index-gap", Transcript,
        "profile: indices may arrive non-contiguous, as a public client notes (digest §4, §10.9)",
        "A chat's indices, as one agent sees them, have no holes.";
    TRANSCRIPT_EQUALITY = "transcript.equality", Transcript,
        "ChatSend, CustomerChat pages: a message reaches the other side with its text (digest §3, §12)",
        "What one side sent is what the other side got; a customer's transcript holding a later message holds the earlier ones.";
    VISIBILITY_AGENTS_ONLY = "visibility.agents-only", Security,
        "ChatSendToAgents, ChatConsult: messages for agents are visible to agents only (digest §3)",
        "Messages meant for agents only never reach the customer.";
    SECURITY_CSRF = "security.csrf", Security,
        "CSRFProtection: with a token handed out, every write needs it, else HTTP 403 (digest §5, §7.3)",
        "Once the server has handed out a CSRF token, a write sent without it is refused with HTTP 403.";
}

/// The rule with that id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_found() {
        for (i, r) in ALL.iter().enumerate() {
            assert!(ALL[i + 1..].iter().all(|o| o.id != r.id), "{} twice", r.id);
            assert_eq!(rule(r.id), Some(r));
        }
    }

    #[test]
    fn every_rule_names_its_source_and_profile_sources_say_why() {
        for r in ALL {
            assert!(!r.source.trim().is_empty() && !r.description.is_empty(), "{}", r.id);
            assert_eq!(r.severity, Severity::of_source(r.source), "{}", r.id);
            if r.severity == Severity::Observation {
                assert!(r.source.len() > "profile: ".len() + 10, "{}: a profile rule says why", r.id);
            }
        }
        let observed: Vec<&str> = ALL.iter().filter(|r| r.severity == Severity::Observation).map(|r| r.id).collect();
        for id in ["protocol.content-type", "protocol.bayeux-advice", "transcript.index-gap", "shape.tegsoft-response"]
        {
            assert!(observed.contains(&id), "{id} rests on no documentation");
        }
        for id in ["shape.response", "correlation.reference-id", "transcript.index", "state.capability-refused"] {
            assert!(!observed.contains(&id), "{id} is documented");
        }
    }

    #[test]
    fn sources_say_profile_in_any_case() {
        assert_eq!(Severity::of_source("PROFILE"), Severity::Observation);
        assert_eq!(Severity::of_source("G852/ChatConsult (digest §3)"), Severity::Violation);
    }

    #[test]
    fn bayeux_rules_are_protocol_rules() {
        for r in [&PROTOCOL_BAYEUX_ADVICE, &PROTOCOL_BAYEUX_DUPLICATE] {
            assert_eq!(rule(r.id).map(|r| r.family), Some(Family::Protocol));
            assert!(r.id.starts_with("protocol.bayeux-") && !r.description.is_empty());
        }
    }
}
