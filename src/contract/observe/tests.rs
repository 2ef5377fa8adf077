//! Hand-made streams that break each stateful rule, and the same streams unbroken.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

const DEADLINE: Duration = Duration::from_secs(5);

fn origin() -> Origin {
    Origin { step: "step".into(), span: None }
}

fn chat(state: &str, caps: &[&str]) -> Value {
    json!({"id": "X", "state": state, "capabilities": caps, "userData": {"ProbeTag": "t"}})
}

fn status(state: &str, caps: &[&str], reference: Option<i64>) -> Value {
    let mut v =
        json!({"messageType": "ChatStateChangeMessage", "notificationType": "StatusChange", "chat": chat(state, caps)});
    if let Some(r) = reference {
        v["referenceId"] = json!(r);
    }
    v
}

fn note(kind: &str, reference: i64) -> Value {
    json!({"messageType": "ChatStateChangeMessage", "notificationType": kind, "chat": chat("Chatting", &["SendMessage"]), "referenceId": reference})
}

fn messages(reference: Option<i64>, msgs: Value) -> Value {
    let mut v = json!({"messageType": "MessageLogUpdated", "notificationType": "NewMessages", "chatPath": "/chats/X", "messages": msgs});
    if let Some(r) = reference {
        v["referenceId"] = json!(r);
    }
    v
}

fn msg(index: i64, kind: &str, from: &str, text: &str) -> Value {
    json!({"index": index, "type": kind, "from": {"type": from}, "text": text, "visibility": "All"})
}

fn accept(o: &mut Observer, t: Instant, reference: i64) {
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "Accept",
        params: &json!({}),
        status: 200,
        response: Some(&json!({"statusCode": 0, "referenceId": reference})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
}

fn rules_of(o: &mut Observer) -> Vec<&'static str> {
    o.take().iter().map(|v| v.rule.id).collect()
}

#[test]
fn correlated_notifications_satisfy_an_operation_even_when_they_overtake_its_response() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Chatting", &["SendMessage"], Some(7)), t);
    accept(&mut o, t, 7);
    o.notification("a1", &note("ParticipantsUpdated", 7), t);
    o.notification("a1", &messages(Some(7), json!([msg(1, "ParticipantJoined", "Customer", "")])), t);
    assert!(!o.waiting());
    o.finish(t);
    assert!(rules_of(&mut o).is_empty());
}

#[test]
fn notifications_without_the_reference_id_break_correlation() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    accept(&mut o, t, 7);
    o.notification("a1", &status("Chatting", &["SendMessage"], None), t);
    o.poll(t + Duration::from_secs(1));
    assert!(o.waiting(), "nothing expired yet");
    o.poll(t + DEADLINE);
    let v = o.take();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].rule.id, "correlation.reference-id");
    assert!(v[0].expected.contains("referenceId 7"), "{v:?}");
    assert_eq!(v[0].origin, Some(origin()));
}

#[test]
fn a_wrong_state_after_accept_breaks_state_after_operation() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    accept(&mut o, t, 3);
    o.notification("a1", &status("Invited", &["Accept", "Reject"], Some(3)), t);
    let v = o.take();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule.id, "state.after-operation");
    assert_eq!(v[0].actual, "state Invited");
}

#[test]
fn capabilities_must_follow_the_state() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Chatting", &["SendMessage", "Complete", "InFocus"], None), t);
    o.notification("a1", &status("Invited", &["Accept", "Reject"], None), t);
    o.notification("a1", &status("LeftChat", &["Complete", "Leave", "Transfer"], None), t);
    assert!(rules_of(&mut o).is_empty());
    // Documented: a Chatting chat offers SendMessage.
    o.notification("a1", &status("Chatting", &["Complete"], None), t);
    assert_eq!(rules_of(&mut o), vec!["state.capabilities"]);
    // Inferred, so observed only: no sample shows Invited or Completed capabilities.
    o.notification("a1", &status("Completed", &["Complete"], None), t);
    o.notification("a1", &status("Chatting", &["SendMessage", "Accept"], None), t);
    o.notification("a1", &status("Invited", &["Accept"], None), t);
    o.notification("a1", &status("Chatting", &["SendMessage", "SendFile"], None), t);
    assert_eq!(rules_of(&mut o), vec!["state.inferred-capabilities"; 4]);
}

#[test]
fn invited_may_offer_the_user_data_operations_and_chatting_need_not_offer_attachments() {
    // No Invited sample exists (digest §11) and the AddAttachment sample's Chatting list has no
    // attachment operation: either way is no violation.
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Invited", &["Accept", "Reject", "AttachUserData", "UpdateUserData"], None), t);
    o.notification("a1", &status("Chatting", &["SendMessage", "Transfer", "Leave", "Complete"], None), t);
    o.notification("a1", &status("Chatting", &["SendMessage", "UploadFile", "AddAttachment"], None), t);
    let v = o.take();
    assert!(v.iter().all(|v| v.rule.severity == crate::contract::rules::Severity::Observation), "{v:?}");
}

#[test]
fn a_gap_in_the_indices_is_found_at_the_end() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &messages(None, json!([msg(1, "Text", "Customer", "a"), msg(2, "Text", "Agent", "b")])), t);
    o.notification("a1", &messages(None, json!([msg(4, "Text", "Customer", "c")])), t);
    assert!(rules_of(&mut o).is_empty(), "a gap is only known at the end");
    o.finish(t);
    let v = o.take();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].rule.id, v[0].actual.as_str()), ("transcript.index-gap", "missing [3]"));
    assert_eq!(v[0].rule.severity, crate::contract::rules::Severity::Observation, "gaps happen (digest §10.9)");
}

#[test]
fn a_reused_index_or_disorder_is_found_at_once() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &messages(None, json!([msg(1, "Text", "Customer", "a")])), t);
    // The same message again (the transcript sent on Accept repeats history): fine.
    o.agent_page("a1", "X", &[msg(1, "Text", "Customer", "a")], origin());
    assert!(rules_of(&mut o).is_empty());
    o.notification("a1", &messages(None, json!([msg(1, "Text", "Agent", "other")])), t);
    o.notification("a1", &messages(None, json!([msg(3, "Text", "Agent", "x"), msg(2, "Text", "Agent", "y")])), t);
    assert_eq!(rules_of(&mut o), vec!["transcript.index", "transcript.index"]);
}

fn linked(t: Instant) -> Observer {
    let mut o = Observer::new(DEADLINE);
    o.customer_request("c1", "C", &json!({"nickname": "P", "userData": {"ProbeTag": "t"}}));
    o.notification("a1", &status("Chatting", &["SendMessage"], None), t);
    o
}

#[test]
fn an_altered_customer_message_breaks_transcript_equality() {
    let t = Instant::now();
    let mut o = linked(t);
    o.customer_operation("c1", "C", "SendMessage", &json!({"text": "hello"}), t, origin());
    assert!(o.waiting());
    o.notification("a1", &messages(None, json!([msg(1, "Text", "Customer", "hello (edited)")])), t);
    o.poll(t + DEADLINE);
    let v = o.take();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule.id, "transcript.equality");
    assert_eq!(v[0].actual, "text \"hello (edited)\"");

    let mut o = linked(t);
    o.customer_operation("c1", "C", "SendMessage", &json!({"text": "hello"}), t, origin());
    o.notification("a1", &messages(None, json!([msg(1, "Text", "Customer", "hello")])), t);
    assert!(!o.waiting());
}

#[test]
fn an_agent_message_missing_for_the_customer_breaks_transcript_equality() {
    let t = Instant::now();
    let mut o = linked(t);
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "SendMessage",
        params: &json!({"text": "hi there"}),
        status: 200,
        response: Some(&json!({"statusCode": 0, "referenceId": 9})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
    o.notification("a1", &messages(Some(9), json!([msg(1, "Text", "Agent", "hi there")])), t);
    o.notification("a1", &messages(None, json!([msg(2, "Text", "Customer", "later")])), t);
    // The customer has read nothing yet, then only what came before the agent's text: no hole.
    o.customer_page("c1", "C", &[], t, origin());
    o.finish(t);
    assert!(rules_of(&mut o).is_empty());
    // It holds the customer's later message but not the agent's earlier text: a hole.
    o.customer_page("c1", "C", &[msg(5, "Text", "Customer", "later")], t, origin());
    o.finish(t);
    assert_eq!(rules_of(&mut o), vec!["transcript.equality"]);
}

#[test]
fn a_customer_reading_only_new_messages_or_the_whole_transcript_breaks_nothing() {
    // GET /api/v2/chats/{id}/messages without `index` may answer only what is new (digest §12):
    // the transcript is judged merged over every page.
    let t = Instant::now();
    for pages in [
        vec![vec![msg(1, "Text", "Agent", "hi there")], vec![msg(2, "Text", "Customer", "later")], vec![]],
        vec![
            vec![msg(1, "Text", "Agent", "hi there")],
            vec![msg(1, "Text", "Agent", "hi there"), msg(2, "Text", "Customer", "later")],
        ],
    ] {
        let mut o = linked(t);
        o.agent_operation(AgentOperation {
            agent: "a1",
            chat: "X",
            operation: "SendMessage",
            params: &json!({"text": "hi there"}),
            status: 200,
            response: Some(&json!({"statusCode": 0})),
            sent_at: t,
            answered_at: t,
            origin: origin(),
        });
        o.notification("a1", &messages(None, json!([msg(1, "Text", "Agent", "hi there")])), t);
        o.notification("a1", &messages(None, json!([msg(2, "Text", "Customer", "later")])), t);
        for page in &pages {
            o.customer_page("c1", "C", page, t, origin());
        }
        o.finish(t);
        assert!(rules_of(&mut o).is_empty(), "{pages:?}");
    }
}

#[test]
fn an_error_notification_is_an_accepted_operations_outcome() {
    // statusCode 0 only means accepted (digest §1); the failure may follow as an Error
    // notification carrying the referenceId (digest §6).
    let t = Instant::now();
    for response in [json!({"statusCode": 0, "referenceId": 12}), json!({"statusCode": 0})] {
        let mut o = Observer::new(DEADLINE);
        o.agent_operation(AgentOperation {
            agent: "a1",
            chat: "X",
            operation: "Transfer",
            params: &json!({"queueName": "nowhere"}),
            status: 200,
            response: Some(&response),
            sent_at: t,
            answered_at: t,
            origin: origin(),
        });
        assert!(o.waiting());
        o.notification(
            "a1",
            &json!({"notificationType": "Error", "errorMessage": "Request failed", "referenceId": 12}),
            t,
        );
        assert!(!o.waiting(), "{response}");
        o.finish(t + DEADLINE);
        assert!(rules_of(&mut o).is_empty(), "{response}");
    }
}

#[test]
fn a_missing_notification_the_page_does_not_name_is_only_observed() {
    // The Transfer page's notification section is empty: its StatusChange is inferred.
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "Transfer",
        params: &json!({"queueName": "q"}),
        status: 200,
        response: Some(&json!({"statusCode": 0, "referenceId": 4})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
    o.poll(t + DEADLINE);
    assert_eq!(rules_of(&mut o), vec!["correlation.inferred-notification"]);
    // Complete's StatusChange is documented.
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "Complete",
        params: &json!({}),
        status: 200,
        response: Some(&json!({"statusCode": 0, "referenceId": 5})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
    o.poll(t + DEADLINE);
    assert_eq!(rules_of(&mut o), vec!["correlation.reference-id"]);
}

fn refused(o: &mut Observer, t: Instant, operation: &str, params: Value) {
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation,
        params: &params,
        status: 200,
        response: Some(&json!({"statusCode": 2, "statusMessage": "Invalid state"})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
}

#[test]
fn an_advertised_capability_refused_with_2_breaks_the_capabilities() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Chatting", &["SendMessage", "Complete"], None), t);
    refused(&mut o, t, "Complete", json!({"operationName": "Complete"}));
    o.poll(t);
    assert!(rules_of(&mut o).is_empty(), "a withdrawing notification may still come");
    o.poll(t + refusal::GRACE);
    assert_eq!(rules_of(&mut o), vec!["state.capability-refused"]);
}

#[test]
fn a_refusal_is_excused_when_the_capabilities_may_have_changed() {
    let t = Instant::now();
    // Withdrawn by a notification within the grace.
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Chatting", &["SendMessage", "Complete"], None), t);
    refused(&mut o, t, "Complete", json!({"operationName": "Complete"}));
    o.notification("a1", &status("Completed", &[], None), t);
    o.poll(t + refusal::GRACE);
    assert!(rules_of(&mut o).is_empty());
    // An accepted Consult since the capabilities were last advertised: they may be stale, so a
    // second Consult refused with 2 is the documented answer (2 or 19), not a contradiction.
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Chatting", &["SendMessage", "Consult"], None), t);
    let later = t + Duration::from_millis(10);
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "Consult",
        params: &json!({"operationName": "Consult", "targetUri": "http://x/api/v2/users/2"}),
        status: 200,
        response: Some(&json!({"statusCode": 0})),
        sent_at: later,
        answered_at: later,
        origin: origin(),
    });
    refused(&mut o, later, "Consult", json!({"operationName": "Consult"}));
    o.poll(later + refusal::GRACE);
    assert!(rules_of(&mut o).is_empty());
    // A parameter may be what is not valid in the state (ReturnValues: 2).
    let mut o = Observer::new(DEADLINE);
    o.notification("a1", &status("Chatting", &["SendMessage", "UploadFile"], None), t);
    refused(&mut o, t, "UploadFile", json!({"operationName": "UploadFile", "documentId": "d1"}));
    o.poll(t + refusal::GRACE);
    assert!(rules_of(&mut o).is_empty());
}

#[test]
fn agents_only_messages_must_not_reach_the_customer() {
    let t = Instant::now();
    let mut o = linked(t);
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "SendToAgents",
        params: &json!({"text": "between us"}),
        status: 200,
        response: Some(&json!({"statusCode": 0})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
    o.customer_page("c1", "C", &[msg(1, "Text", "Customer", "hello")], t, origin());
    assert!(rules_of(&mut o).is_empty());
    // Leaked with its visibility, or with the visibility rewritten: both are caught.
    let mut leaked = msg(2, "Text", "Agent", "between us");
    o.customer_page("c1", "C", std::slice::from_ref(&leaked), t, origin());
    leaked["visibility"] = json!("Agents");
    o.customer_page("c1", "C", &[leaked], t, origin());
    assert_eq!(rules_of(&mut o), vec!["visibility.agents-only", "visibility.agents-only"]);
}

#[test]
fn refused_operations_are_not_expected_to_notify() {
    let t = Instant::now();
    let mut o = Observer::new(DEADLINE);
    o.agent_operation(AgentOperation {
        agent: "a1",
        chat: "X",
        operation: "SendMessage",
        params: &json!({"text": "x"}),
        status: 400,
        response: Some(&json!({"statusCode": 2, "statusMessage": "no"})),
        sent_at: t,
        answered_at: t,
        origin: origin(),
    });
    assert!(!o.waiting());
}
