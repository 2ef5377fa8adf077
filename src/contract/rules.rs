//! The catalogue of rules a run checks, each with a stable id that reports, thresholds and the
//! kill matrix refer to. An id never changes meaning; new rules get new ids.

/// A rule: stable id, the family it belongs to, one line saying what it requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub family: Family,
    pub description: &'static str,
}

/// What kind of promise a rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
    /// Who may see what.
    Security,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $family:ident, $desc:literal;)*) => {
        $(pub const $konst: Rule = Rule { id: $id, family: Family::$family, description: $desc };)*
        /// Every rule, for listings and reports.
        pub const ALL: &[Rule] = &[$($konst),*];
    };
}

rules! {
    SHAPE_RESPONSE = "shape.response", Shape, "Every HTTP response body matches the documented schema of its endpoint.";
    SHAPE_NOTIFICATION = "shape.notification", Shape, "Every Bayeux message (meta reply or notification) matches its documented schema.";
    PROTOCOL_JSON = "protocol.json", Protocol, "API responses and Bayeux replies are well-formed JSON.";
    PROTOCOL_CONTENT_TYPE = "protocol.content-type", Protocol, "A JSON body is sent with an application/json content type.";
    PROTOCOL_STATUS_CODE = "protocol.status-code", Protocol, "A 2xx response carries statusCode 0; an error carries statusCode > 0 and a statusMessage.";
    PROTOCOL_BAYEUX = "protocol.bayeux", Protocol, "The CometD endpoint follows Bayeux 1.0: replies for every meta message, advice honoured, sessions kept.";
    PROTOCOL_BAYEUX_ADVICE = "protocol.bayeux-advice", Protocol, "The reply to a session's first /meta/connect (advice timeout 0), and every unsuccessful connect reply, carries advice.";
    PROTOCOL_BAYEUX_DUPLICATE = "protocol.bayeux-duplicate", Protocol, "A Bayeux response never carries the same event (channel and data) twice.";
    ASSERT_STATUS = "assert.status", Assertion, "The HTTP status is the one the scenario expects.";
    ASSERT_BODY = "assert.body", Assertion, "The response body has the values the scenario expects.";
    ASSERT_HEADER = "assert.header", Assertion, "The response headers have the values the scenario expects.";
    ASSERT_NOTIFICATION = "assert.notification", Assertion, "The notifications the scenario expects arrive within their deadline.";
    ASSERT_FILE = "assert.file", Assertion, "An uploaded or downloaded file has the expected SHA-256, size and content type.";
    ASSERT_CAPTURE = "assert.capture", Assertion, "A value the scenario captures is present.";
    ASSERT_SESSION = "assert.session", Assertion, "Login, contact-centre session and Ready are accepted for each agent.";
    TRANSPORT = "transport", Transport, "The server answers every request within its deadline.";
    CORRELATION_REFERENCE_ID = "correlation.reference-id", Correlation, "An accepted operation yields its documented notifications to the sender, carrying the response's referenceId, within the deadline.";
    STATE_AFTER_OPERATION = "state.after-operation", State, "After an operation, the StatusChange it causes shows the documented resulting state.";
    STATE_CAPABILITIES = "state.capabilities", State, "Capabilities agree with the state: Invited offers Accept and Reject, Chatting offers SendMessage, Completed nothing, and none is invalid in that state.";
    TRANSCRIPT_INDEX = "transcript.index", Transcript, "Message indices of a chat strictly increase without gaps or repeats across notifications and GET pages.";
    TRANSCRIPT_EQUALITY = "transcript.equality", Transcript, "What one side sent is what the other side got.";
    VISIBILITY_AGENTS_ONLY = "visibility.agents-only", Security, "Messages meant for agents only never reach the customer.";
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
    fn bayeux_rules_are_protocol_rules() {
        for r in [&PROTOCOL_BAYEUX_ADVICE, &PROTOCOL_BAYEUX_DUPLICATE] {
            assert_eq!(rule(r.id).map(|r| r.family), Some(Family::Protocol));
            assert!(r.id.starts_with("protocol.bayeux-") && !r.description.is_empty());
        }
    }
}
