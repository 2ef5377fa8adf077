//! Consistency of the operation catalogue with itself and with the documented behaviour.

use std::collections::BTreeSet;

use serde_json::json;

use super::*;
use crate::api::status;

const IN_CONFERENCE: ChatContext = ChatContext { conference: true, ..ChatContext::ALONE };
const CONSULT_PENDING: ChatContext = ChatContext { consult_pending: true, ..ChatContext::ALONE };
const CONSULTED: ChatContext = ChatContext { consultant_joined: true, ..ChatContext::ALONE };
const CONSULTANT: ChatContext = ChatContext { consultant_joined: true, consultant: true, ..ChatContext::ALONE };

#[test]
fn invited_offers_accept_and_reject_only() {
    assert_eq!(capabilities_in(Invited), vec!["Accept", "Reject"]);
    assert_eq!(capabilities(Invited, &IN_CONFERENCE), vec!["Accept", "Reject"]);
}

#[test]
fn completed_and_revoked_have_no_capabilities() {
    for ctx in [ChatContext::ALONE, IN_CONFERENCE, CONSULTED] {
        assert!(capabilities(Completed, &ctx).is_empty());
        assert!(capabilities(Revoked, &ctx).is_empty());
    }
}

#[test]
fn left_chat_offers_the_documented_list() {
    let expected = vec![
        "Transfer",
        "Complete",
        "SetInFocus",
        "SetDisposition",
        "AttachUserData",
        "UpdateUserData",
        "DeleteUserData",
    ];
    assert_eq!(capabilities_in(LeftChat), expected);
    assert_eq!(capabilities(LeftChat, &IN_CONFERENCE), expected);
}

#[test]
fn agents_only_operations_need_another_agent() {
    let agents_only = [
        "SendToAgents",
        "SendStartTypingToAgentsNotification",
        "SendStopTypingToAgentsNotification",
        "SendCustomNoticeToAgents",
        "RemoveParticipantFromConference",
    ];
    let alone = capabilities(Chatting, &ChatContext::ALONE);
    for name in agents_only {
        assert!(!alone.contains(&name), "{name} alone");
        assert!(capabilities(Chatting, &IN_CONFERENCE).contains(&name), "{name} in conference");
        assert!(capabilities(Chatting, &CONSULTED).contains(&name), "{name} in consult");
        assert!(!capabilities_in(Chatting).contains(&name), "{name} is conditional");
    }
    assert!(alone.contains(&"SendMessage") && alone.contains(&"Consult") && alone.contains(&"Invite"));
}

#[test]
fn consult_and_cancel_consult_exclude_each_other() {
    let has = |ctx: &ChatContext, name: &str| capabilities(Chatting, ctx).contains(&name);
    assert!(has(&ChatContext::ALONE, "Consult") && !has(&ChatContext::ALONE, "CancelConsult"));
    assert!(!has(&CONSULT_PENDING, "Consult") && has(&CONSULT_PENDING, "CancelConsult"));
    assert!(!has(&CONSULTED, "Consult") && has(&CONSULTED, "CancelConsult"));
    assert!(!has(&CONSULTANT, "Consult") && !has(&CONSULTANT, "CancelConsult"));
    assert!(has(&CONSULTANT, "RemoveParticipantFromConference"), "refused with 3, not 2");
}

#[test]
fn names_and_params_are_unique() {
    for (i, a) in CATALOGUE.iter().enumerate() {
        assert!(CATALOGUE[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
        let names: BTreeSet<_> = a.params.iter().map(|p| p.name).collect();
        assert_eq!(names.len(), a.params.len(), "{}", a.name);
        for alt in a.one_of {
            assert!(a.params.iter().any(|p| p.name == *alt && !p.required), "{}: {alt}", a.name);
        }
    }
}

#[test]
fn error_codes_follow_from_the_parameters() {
    let documented = [
        status::MISSING_PARAMETER,
        status::INVALID_STATE,
        status::FORBIDDEN,
        status::NOT_FOUND,
        status::VALIDATION_ERROR,
    ];
    for op in CATALOGUE {
        let codes: BTreeSet<i64> = op.error_codes().collect();
        assert!(codes.iter().all(|c| documented.contains(c)), "{}: {codes:?}", op.name);
        assert!(codes.contains(&status::INVALID_STATE) && codes.contains(&status::NOT_FOUND), "{}", op.name);
        let needs_one = op.params.iter().any(|p| p.required) || !op.one_of.is_empty();
        assert_eq!(codes.contains(&status::MISSING_PARAMETER), needs_one, "{}", op.name);
        assert_eq!(codes.contains(&status::VALIDATION_ERROR), !op.params.is_empty(), "{}", op.name);
        assert_eq!(codes.contains(&status::FORBIDDEN), op.name == "RemoveParticipantFromConference");
    }
}

#[test]
fn every_operation_is_reachable_and_described() {
    let everything = [ChatContext::ALONE, IN_CONFERENCE, CONSULT_PENDING, CONSULTED];
    for op in CATALOGUE {
        let reachable = ChatState::ALL.iter().any(|s| everything.iter().any(|c| op.valid_in(*s, c)));
        assert!(reachable, "{} is never a capability", op.name);
        if op.deferred {
            assert!(!op.notifications.is_empty(), "{}", op.name);
        }
        for n in op.notifications {
            assert!(crate::api::STATE_NOTIFICATION_TYPES.contains(n) || *n == "NewMessages", "{}: {n}", op.name);
        }
        if let Some(m) = op.message {
            assert!(crate::api::MESSAGE_TYPES.contains(&m.message_type), "{}", op.name);
        }
    }
}

#[test]
fn the_text_trio_comes_whole() {
    for op in CATALOGUE {
        let names: Vec<&str> = op.params.iter().map(|p| p.name).collect();
        if op.takes_text() {
            assert!(names.contains(&"messageType") && names.contains(&"treatAs"), "{}", op.name);
        }
    }
    assert!(operation("Leave").is_some_and(Operation::takes_text));
    assert!(!operation("SendMessage").is_some_and(Operation::takes_text), "its text is required");
}

#[test]
fn params_are_checked_from_the_table() {
    let check = |name: &str, body: serde_json::Value| {
        operation(name).and_then(|op| op.check_params(body.as_object()?).err()).map(|e| e.status_code())
    };
    assert_eq!(check("SendMessage", json!({})), Some(1));
    assert_eq!(check("SendMessage", json!({"text": 5})), Some(10));
    assert_eq!(check("SendMessage", json!({"text": "x", "treatAs": "Loud"})), Some(10));
    assert_eq!(check("SendMessage", json!({"text": "x", "treatAs": "System"})), None);
    assert_eq!(check("Transfer", json!({})), Some(1));
    assert_eq!(check("Transfer", json!({"queueName": "q"})), None);
    assert_eq!(check("AttachUserData", json!({"userData": ["a"]})), Some(10));
    assert_eq!(check("DeleteUserData", json!({"keys": "a"})), Some(10));
    assert_eq!(check("SendUrl", json!({"url": 1})), Some(10));
    assert_eq!(check("Accept", json!({"saveLAR": "yes"})), Some(10));
    assert_eq!(check("RemoveParticipantFromConference", json!({"userUri": "http://h/api/v2/users/u"})), None);
}

#[test]
fn attachment_operations_are_chatting_only() {
    let attachments = ["AddAttachment", "RemoveAttachment", "UploadFile", "DeleteFile"];
    for name in attachments {
        assert!(capabilities_in(Chatting).contains(&name), "{name}");
        assert!(capabilities(Chatting, &IN_CONFERENCE).contains(&name), "{name} in conference");
        for state in [Invited, LeftChat, Completed, Revoked] {
            assert!(!capabilities_in(state).contains(&name), "{name} in {state:?}");
        }
    }
    assert!(ADD_NEW_DOCUMENT.valid_in(Chatting) && !ADD_NEW_DOCUMENT.valid_in(LeftChat));
}

#[test]
fn attachment_operations_notify_as_documented() {
    let notified = |name: &str| operation(name).map(|op| (op.notifications, op.message.map(|m| m.message_type)));
    assert_eq!(notified("AddAttachment"), Some((&["AttachmentAdded"][..], None)));
    assert_eq!(notified("RemoveAttachment"), Some((&["PropertiesUpdated"][..], None)));
    assert_eq!(notified("UploadFile"), Some((&["NewMessages"][..], Some("SystemCommand"))));
    assert_eq!(notified("DeleteFile"), Some((&["NewMessages"][..], Some("SystemCommand"))));
    assert_eq!(ADD_NEW_DOCUMENT.notifications, &["AttachmentAdded"]);
    assert!(ADD_NEW_DOCUMENT.errors.iter().all(|(code, _)| [1, 2, 6, 10].contains(code)));
}

#[test]
fn attachment_params_are_checked_from_the_table() {
    let check = |name: &str, body: serde_json::Value| {
        operation(name).and_then(|op| op.check_params(body.as_object()?).err()).map(|e| e.status_code())
    };
    assert_eq!(check("AddAttachment", json!({})), Some(1));
    assert_eq!(check("AddAttachment", json!({"documentId": "d", "name": 46})), Some(10));
    assert_eq!(
        check("AddAttachment", json!({"documentId": "d", "size": 46, "name": "a.txt", "mime": "text/plain"})),
        None
    );
    assert_eq!(check("UploadFile", json!({"uploadType": "file-system"})), Some(1));
    assert_eq!(check("UploadFile", json!({"documentId": "d", "uploadType": "ftp"})), Some(10));
    assert_eq!(check("UploadFile", json!({"documentId": "d", "uploadType": "standard-response"})), None);
    assert_eq!(check("RemoveAttachment", json!({"documentId": 7})), Some(10));
    assert_eq!(check("DeleteFile", json!({"documentId": "d"})), Some(1));
}

#[test]
fn download_paths_follow_the_documented_uris() {
    assert_eq!(ADD_NEW_DOCUMENT.path("0001PaBMYY3600R8"), "/api/v2/me/chats/0001PaBMYY3600R8/attachments");
    assert_eq!(
        chat_attachment_download("0001PaBMYY3600R8", "0000YaB6ARKB0019"),
        "/api/v2/chats/0001PaBMYY3600R8/attachments/0000YaB6ARKB0019"
    );
    assert_eq!(attachment_download("0001PaBMYY3600RC"), "/api/v2/attachments/0001PaBMYY3600RC");
    assert_eq!(attachment_path("0001PaBMYY3600RC"), "/attachments/0001PaBMYY3600RC");
}
