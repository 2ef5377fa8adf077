//! One agent with one customer: the success path of every operation that needs no other agent,
//! with its notifications and their referenceId, and what the customer sees.

use serde_json::{Value, json};

use super::{Agent, Customer, accepted, chatting, config, kinds, messages, start, strings};
use chatprobe::api::{self, ChatContext, ChatState};
use chatprobe::sim::SimConfig;

/// Operation, notifications it yields (all with its referenceId), and a check of them.
type Case = (Value, &'static [&'static str], fn(&[Value]));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_operation_on_a_chatting_chat_notifies_its_sender_with_the_reference_id() {
    let sim = start(config()).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    let cases: Vec<Case> = vec![
        (json!({"operationName": "SendMessage", "text": "Hello", "messageType": "greeting"}), &["NewMessages"], |n| {
            let m = &messages(n)[0];
            assert_eq!((&m["type"], &m["text"], &m["visibility"]), (&json!("Text"), &json!("Hello"), &json!("All")));
            assert!(m.get("messageType").is_none(), "not echoed unless include_message_type: {m}");
        }),
        (
            json!({"operationName": "SendUrl", "url": "https://example.test/a", "text": "see"}),
            &["NewMessages", "NewMessages"],
            |n| {
                let m = messages(n);
                assert_eq!((&m[0]["type"], &m[0]["text"]), (&json!("Text"), &json!("see")), "the text comes first");
                assert_eq!((&m[1]["type"], &m[1]["url"]), (&json!("PushUrl"), &json!("https://example.test/a")));
            },
        ),
        (json!({"operationName": "SendStartTypingNotification"}), &["NewMessages"], |n| {
            assert_eq!(
                (&messages(n)[0]["type"], &messages(n)[0]["visibility"]),
                (&json!("TypingStarted"), &json!("All"))
            );
        }),
        (json!({"operationName": "SendStopTypingNotification"}), &["NewMessages"], |n| {
            assert_eq!(messages(n)[0]["type"], "TypingStopped");
        }),
        (json!({"operationName": "SendCustomNotice", "noticeText": "N1"}), &["NewMessages"], |n| {
            let m = &messages(n)[0];
            assert_eq!(
                (&m["type"], &m["noticeText"], &m["visibility"]),
                (&json!("CustomNotice"), &json!("N1"), &json!("All"))
            );
        }),
        (json!({"operationName": "SetInFocus"}), &[], |_| {}),
        (json!({"operationName": "SetDisposition", "disposition": "Sold"}), &["PropertiesUpdated"], |n| {
            assert_eq!(n[0]["chat"]["userData"]["DispositionCode"], "Sold");
        }),
        (
            json!({"operationName": "SetDisposition", "disposition": "Lost", "dispositionKey": "Outcome"}),
            &["PropertiesUpdated"],
            |n| {
                assert_eq!(n[0]["chat"]["userData"]["Outcome"], "Lost");
            },
        ),
        (json!({"operationName": "AttachUserData", "userData": {"A": "1", "B": 2}}), &["PropertiesUpdated"], |n| {
            assert_eq!((&n[0]["chat"]["userData"]["A"], &n[0]["chat"]["userData"]["B"]), (&json!("1"), &json!(2)));
        }),
        (json!({"operationName": "UpdateUserData", "userData": {"A": "one", "C": "3"}}), &["PropertiesUpdated"], |n| {
            let data = &n[0]["chat"]["userData"];
            assert_eq!((&data["A"], &data["B"], &data["C"]), (&json!("one"), &json!(2), &json!("3")));
        }),
        (json!({"operationName": "DeleteUserData", "keys": ["A", "Absent"]}), &["PropertiesUpdated"], |n| {
            let data = n[0]["chat"]["userData"].as_object().unwrap();
            assert!(!data.contains_key("A") && data.contains_key("B"), "{data:?}");
        }),
    ];
    for (body, expected, check) in cases {
        let reference = accepted(&agent.op(&chat, body.clone()).await);
        let notes = agent.drain().await;
        assert_eq!(kinds(&notes), expected, "{body}: {notes:#?}");
        assert!(notes.iter().all(|n| n["referenceId"] == reference), "{body}: {notes:#?}");
        assert!(notes.iter().all(|n| n["chat"].is_null() || n["chat"]["state"] == "Chatting"), "{body}");
        check(&notes);
    }
    // The customer saw every message meant for all, in order.
    let seen: Vec<Value> = customer.messages().await.iter().map(|m| m["type"].clone()).collect();
    let expected = [
        "ParticipantJoined",
        "ParticipantJoined",
        "Text",
        "Text",
        "PushUrl",
        "TypingStarted",
        "TypingStopped",
        "CustomNotice",
    ];
    assert_eq!(seen, expected.map(|t| json!(t)));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_type_is_echoed_only_with_the_server_option() {
    let sim = start(SimConfig { include_message_type: true, ..config() }).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    accepted(
        &agent
            .op(
                &chat,
                json!({"operationName": "SendMessage", "text": "Hi", "messageType": "greeting", "treatAs": "System"}),
            )
            .await,
    );
    assert_eq!(messages(&agent.drain().await)[0]["messageType"], "greeting");
    assert_eq!(customer.messages().await.last().unwrap()["messageType"], "greeting");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_alone_keeps_the_chat_for_wrap_up_then_complete_ends_it() {
    let sim = start(config()).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    let reference = accepted(&agent.op(&chat, json!({"operationName": "Leave", "text": "Bye"})).await);
    let notes = agent.drain().await;
    assert_eq!(kinds(&notes), ["NewMessages", "StatusChange"], "{notes:#?}");
    assert!(notes.iter().all(|n| n["referenceId"] == reference));
    assert_eq!(messages(&notes)[0]["text"], "Bye");
    let chat_view = &notes[1]["chat"];
    assert_eq!(chat_view["state"], "LeftChat");
    assert_eq!(
        strings(&chat_view["capabilities"]),
        ["Transfer", "Complete", "SetInFocus", "SetDisposition", "AttachUserData", "UpdateUserData", "DeleteUserData"]
    );
    let seen = customer.messages().await;
    assert_eq!(
        (&seen[seen.len() - 2]["text"], &seen[seen.len() - 1]["type"]),
        (&json!("Bye"), &json!("ParticipantLeft"))
    );
    assert_eq!(customer.chat().await["state"], "Idle");

    // Wrap-up: userData can still change; messages cannot be sent.
    accepted(&agent.op(&chat, json!({"operationName": "SetDisposition", "disposition": "Done"})).await);
    let notes = agent.drain().await;
    assert_eq!((kinds(&notes), &notes[0]["chat"]["state"]), (vec!["PropertiesUpdated"], &json!("LeftChat")));
    let reference = accepted(&agent.op(&chat, json!({"operationName": "Complete"})).await);
    let notes = agent.drain().await;
    assert_eq!((kinds(&notes), &notes[0]["referenceId"]), (vec!["StatusChange"], &json!(reference)));
    assert_eq!((&notes[0]["chat"]["state"], &notes[0]["chat"]["capabilities"]), (&json!("Completed"), &json!([])));
    assert!(agent.chat(&chat).await.is_null(), "no longer listed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_and_complete_ends_the_chat_in_one_step() {
    let sim = start(config()).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    let reference = accepted(&agent.op(&chat, json!({"operationName": "LeaveAndComplete"})).await);
    let notes = agent.drain().await;
    assert_eq!((kinds(&notes), &notes[0]["referenceId"]), (vec!["StatusChange"], &json!(reference)));
    assert_eq!((&notes[0]["chat"]["state"], &notes[0]["chat"]["capabilities"]), (&json!("Completed"), &json!([])));
    assert_eq!(customer.chat().await["state"], "Idle");
    assert_eq!(customer.messages().await.last().unwrap()["type"], "ParticipantLeft");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_with_a_text_says_it_first() {
    let sim = start(config()).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    let body = json!({"operationName": "Complete", "text": "Thanks", "treatAs": "Normal"});
    let reference = accepted(&agent.op(&chat, body).await);
    let notes = agent.drain().await;
    assert_eq!(kinds(&notes), ["NewMessages", "StatusChange"]);
    assert!(notes.iter().all(|n| n["referenceId"] == reference));
    assert_eq!(notes[1]["chat"]["state"], "Completed");
    let texts: Vec<Value> = customer.messages().await.iter().map(|m| m["text"].clone()).collect();
    assert!(texts.contains(&json!("Thanks")));
    assert_eq!(customer.chat().await["state"], "Idle");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_into_a_queue_offers_the_chat_again() {
    let sim = start(config()).await;
    let (first, customer, chat) = chatting(&sim, 1).await;
    let queue = first.chat(&chat).await["interactionQueue"].as_str().unwrap().to_owned();
    let second = Agent::ready(&sim, 2).await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "Complete", "queueName": queue})).await);
    let notes = first.drain().await;
    assert_eq!((&notes[0]["chat"]["state"], &notes[0]["referenceId"]), (&json!("Completed"), &json!(reference)));
    assert_eq!(second.invited().await, chat);
    assert_eq!(customer.chat().await["state"], "WaitingForAgent");
    second.accept(&chat).await;
    assert_eq!(customer.chat().await["state"], "Chatting");
    assert_eq!(customer.agents_seen().await, ["agent2"]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_and_reject_follow_the_catalogue() {
    let sim = start(config()).await;
    let agent = Agent::ready(&sim, 1).await;
    let _customer = Customer::request(&sim, "Pat").await;
    let chat = agent.invited().await;
    let listed = agent.chat(&chat).await;
    assert_eq!(strings(&listed["capabilities"]), api::capabilities(ChatState::Invited, &ChatContext::ALONE));
    let reference =
        accepted(&agent.op(&chat, json!({"operationName": "Accept", "nickname": "Ann", "saveLAR": true})).await);
    let notes = agent.drain().await;
    assert_eq!(kinds(&notes), api::operation("Accept").unwrap().notifications);
    assert!(notes.iter().all(|n| n["referenceId"] == reference));
    assert_eq!(strings(&notes[0]["chat"]["capabilities"]), api::capabilities(ChatState::Chatting, &ChatContext::ALONE));
    assert_eq!(messages(&notes[2..]).last().unwrap()["from"]["nickname"], "Ann");

    let _other = Customer::request(&sim, "Sam").await;
    let second = agent.invited().await;
    let reference = accepted(&agent.op(&second, json!({"operationName": "Reject"})).await);
    let notes = agent.drain().await;
    assert_eq!(kinds(&notes), api::operation("Reject").unwrap().notifications);
    assert_eq!((&notes[0]["referenceId"], &notes[0]["chat"]["participants"]), (&json!(reference), &json!([])));
    sim.shutdown().await;
}
