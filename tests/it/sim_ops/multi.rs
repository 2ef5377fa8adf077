//! Several agents in one chat: Transfer to an agent and to a queue, Invite (a conference the
//! customer sees), Consult (a consultant the customer never sees), CancelConsult before and
//! after the consultant accepted, and RemoveParticipantFromConference.

use serde_json::{Value, json};

use super::{Agent, accepted, chatting, config, kinds, messages, refused, start, strings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_an_agent_hands_the_chat_over() {
    let sim = start(config()).await;
    let (first, customer, chat) = chatting(&sim, 1).await;
    let second = Agent::login(&sim, 2).await;
    let body = json!({"operationName": "Transfer", "targetUri": second.uri, "text": "Passing you on"});
    let reference = accepted(&first.op(&chat, body).await);
    let notes = first.drain().await;
    assert_eq!(kinds(&notes), ["NewMessages", "StatusChange"], "{notes:#?}");
    assert!(notes.iter().all(|n| n["referenceId"] == reference));
    assert_eq!((&notes[1]["chat"]["state"], &notes[1]["chat"]["capabilities"]), (&json!("Completed"), &json!([])));
    let offer = second.drain().await;
    assert_eq!((kinds(&offer), &offer[0]["chat"]["state"]), (vec!["StatusChange"], &json!("Invited")));
    assert!(offer[0].get("referenceId").is_none(), "the reference belongs to the sender's session");
    assert_eq!(customer.chat().await["state"], "WaitingForAgent");

    let notes = second.accept(&chat).await;
    let transcript: Vec<Value> = messages(&notes).iter().map(|m| m["type"].clone()).collect();
    let expected = ["ParticipantJoined", "ParticipantJoined", "Text", "ParticipantLeft", "ParticipantJoined"];
    assert_eq!(transcript, expected.map(|t| json!(t)));
    assert_eq!(customer.agents_seen().await, ["agent2"]);
    assert_eq!(customer.chat().await["state"], "Chatting");
    assert!(first.drain().await.is_empty(), "the first agent is done with it");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_a_queue_routes_to_a_ready_agent_and_a_rejection_reroutes() {
    let sim = start(config()).await;
    let (first, customer, chat) = chatting(&sim, 1).await;
    first.set_ready(false).await;
    let queue = first.chat(&chat).await["interactionQueue"].as_str().unwrap().to_owned();
    let second = Agent::ready(&sim, 2).await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "Transfer", "queueName": queue})).await);
    assert_eq!(first.drain().await[0]["referenceId"], reference);
    assert_eq!(second.invited().await, chat);
    let third = Agent::ready(&sim, 3).await;
    accepted(&second.op(&chat, json!({"operationName": "Reject"})).await);
    assert_eq!(third.invited().await, chat, "a rejected transfer goes on to another agent");
    third.accept(&chat).await;
    assert_eq!(customer.agents_seen().await, ["agent3"]);
    sim.shutdown().await;
}

/// Agent 1 chatting with a customer and agent 2 (logged in, not Ready) joined by Invite.
async fn conference(sim: &chatprobe::sim::RunningSim) -> (Agent, Agent, super::Customer, String, u64) {
    let (first, customer, chat) = chatting(sim, 1).await;
    let second = Agent::login(sim, 2).await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "Invite", "targetUri": second.uri})).await);
    assert!(first.drain().await.is_empty(), "nothing until the invitee answers");
    second.invited().await;
    second.accept(&chat).await;
    (first, second, customer, chat, reference)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_makes_a_conference_the_customer_sees() {
    let sim = start(config()).await;
    let (first, second, customer, chat, reference) = conference(&sim).await;
    let notes = first.drain().await;
    assert_eq!(kinds(&notes), ["ParticipantsUpdated", "NewMessages"], "{notes:#?}");
    assert!(notes.iter().all(|n| n["referenceId"] == reference), "the Invite's referenceId");
    let joined = &messages(&notes)[0];
    assert_eq!(
        (&joined["type"], &joined["from"]["nickname"], &joined["visibility"]),
        (&json!("ParticipantJoined"), &json!("agent2"), &json!("All"))
    );
    let caps = strings(&notes[0]["chat"]["capabilities"]);
    assert!(caps.contains(&"SendToAgents") && caps.contains(&"RemoveParticipantFromConference"), "{caps:?}");
    assert_eq!(customer.agents_seen().await, ["agent1", "agent2"]);

    // Agents-only traffic never reaches the customer; ordinary messages reach everyone.
    let reference = accepted(&first.op(&chat, json!({"operationName": "SendToAgents", "text": "psst"})).await);
    let mine = first.drain().await;
    assert_eq!((&mine[0]["referenceId"], &messages(&mine)[0]["visibility"]), (&json!(reference), &json!("Agents")));
    let theirs = second.drain().await;
    assert!(theirs[0].get("referenceId").is_none());
    assert_eq!(messages(&theirs)[0]["text"], "psst");
    for op in ["SendStartTypingToAgentsNotification", "SendStopTypingToAgentsNotification"] {
        accepted(&second.op(&chat, json!({"operationName": op})).await);
        assert_eq!(messages(&first.drain().await)[0]["visibility"], "Agents");
    }
    accepted(&second.op(&chat, json!({"operationName": "SendCustomNoticeToAgents", "noticeText": "N"})).await);
    assert_eq!(messages(&first.drain().await)[0]["type"], "CustomNotice");
    accepted(&second.op(&chat, json!({"operationName": "SendMessage", "text": "hello all"})).await);
    assert_eq!(messages(&first.drain().await)[0]["visibility"], "All");
    second.drain().await;
    let seen = customer.messages().await;
    assert!(seen.iter().all(|m| m["visibility"] == "All"), "{seen:#?}");
    assert_eq!(seen.last().unwrap()["text"], "hello all");

    // Leaving a conference completes the leaver's part; the other carries on.
    let reference = accepted(&second.op(&chat, json!({"operationName": "Leave"})).await);
    let notes = second.drain().await;
    assert_eq!((&notes[0]["chat"]["state"], &notes[0]["referenceId"]), (&json!("Completed"), &json!(reference)));
    let notes = first.drain().await;
    assert_eq!(kinds(&notes), ["ParticipantsUpdated", "NewMessages"]);
    assert_eq!(messages(&notes)[0]["type"], "ParticipantLeft");
    assert!(!strings(&notes[0]["chat"]["capabilities"]).contains(&"SendToAgents"), "alone again");
    assert_eq!(customer.agents_seen().await, ["agent1"]);
    assert_eq!(customer.chat().await["state"], "Chatting");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_invitation_is_reported_to_the_inviter() {
    let sim = start(config()).await;
    let (first, _customer, chat) = chatting(&sim, 1).await;
    let second = Agent::login(&sim, 2).await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "Invite", "targetUri": second.uri})).await);
    second.invited().await;
    accepted(&second.op(&chat, json!({"operationName": "Reject"})).await);
    assert_eq!(second.drain().await[0]["chat"]["state"], "Completed");
    let notes = first.drain().await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(
        (&notes[0]["notificationType"], &notes[0]["errorMessage"], &notes[0]["referenceId"]),
        (&json!("Error"), &json!("Invitation rejected"), &json!(reference))
    );
    assert_eq!(first.chat(&chat).await["state"], "Chatting");
    sim.shutdown().await;
}

/// Agent 1 chatting; agent 2 consulted (and accepted when `accept`).
async fn consult(sim: &chatprobe::sim::RunningSim, accept: bool) -> (Agent, Agent, super::Customer, String, u64) {
    let (first, customer, chat) = chatting(sim, 1).await;
    let second = Agent::login(sim, 2).await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "Consult", "targetUri": second.uri})).await);
    second.invited().await;
    if accept {
        second.accept(&chat).await;
    }
    (first, second, customer, chat, reference)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consultant_is_hidden_from_the_customer() {
    let sim = start(config()).await;
    let (first, second, customer, chat, reference) = consult(&sim, true).await;
    let notes = first.drain().await;
    assert_eq!(kinds(&notes), ["ParticipantsUpdated", "NewMessages"]);
    assert!(notes.iter().all(|n| n["referenceId"] == reference), "the Consult's referenceId");
    let consultant =
        notes[0]["chat"]["participants"].as_array().unwrap().iter().find(|p| p["nickname"] == "agent2").cloned();
    assert_eq!(consultant.unwrap()["visibility"], "Agents");
    assert_eq!(messages(&notes)[0]["visibility"], "Agents", "ParticipantJoined for agents only");

    // Whatever the consultant says is for agents only.
    accepted(&second.op(&chat, json!({"operationName": "SendMessage", "text": "advice"})).await);
    assert_eq!(messages(&second.drain().await)[0]["visibility"], "Agents");
    let heard = messages(&first.drain().await);
    assert_eq!((&heard[0]["text"], &heard[0]["visibility"]), (&json!("advice"), &json!("Agents")));
    assert_eq!(customer.agents_seen().await, ["agent1"]);
    let seen = customer.messages().await;
    assert!(seen.iter().all(|m| m["visibility"] == "All" && m["from"]["nickname"] != "agent2"), "{seen:#?}");
    assert_eq!(seen.len(), 2, "the customer's and agent1's joins only");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_consult_before_acceptance_revokes_the_offer_silently() {
    let sim = start(config()).await;
    let (first, second, _customer, chat, _) = consult(&sim, false).await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "CancelConsult"})).await);
    assert!(reference > 0);
    assert!(first.drain().await.is_empty(), "no notification on success");
    let revoked = second.drain().await;
    assert_eq!((kinds(&revoked), &revoked[0]["chat"]["state"]), (vec!["StatusChange"], &json!("Revoked")));
    assert_eq!(revoked[0]["chat"]["capabilities"], json!([]));
    refused(&second.op(&chat, json!({"operationName": "Accept"})).await, 2);
    refused(&first.op(&chat, json!({"operationName": "CancelConsult"})).await, 2);
    assert!(strings(&first.chat(&chat).await["capabilities"]).contains(&"Consult"), "may consult again");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_consult_after_acceptance_fails_with_an_error_notification() {
    let sim = start(config()).await;
    let (first, second, _customer, chat, _) = consult(&sim, true).await;
    first.drain().await;
    let reference = accepted(&first.op(&chat, json!({"operationName": "CancelConsult"})).await);
    let notes = first.drain().await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(
        (&notes[0]["notificationType"], &notes[0]["errorMessage"], &notes[0]["referenceId"]),
        (&json!("Error"), &json!("Request failed"), &json!(reference))
    );
    assert_eq!(second.chat(&chat).await["state"], "Chatting", "the consult goes on");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consult_through_a_queue_reaches_a_ready_agent() {
    let sim = start(config()).await;
    let (first, customer, chat) = chatting(&sim, 1).await;
    first.set_ready(false).await;
    let queue_uri = format!("{}/api/v2/queues/ConsultQueue", sim.base_url());
    let reference = accepted(&first.op(&chat, json!({"operationName": "Consult", "targetUri": queue_uri})).await);
    let caps = first.chat(&chat).await["capabilities"].clone();
    assert!(strings(&caps).contains(&"CancelConsult") && !strings(&caps).contains(&"Consult"), "{caps}");
    let second = Agent::ready(&sim, 2).await;
    assert_eq!(second.invited().await, chat);
    second.accept(&chat).await;
    assert_eq!(first.drain().await[0]["referenceId"], reference);
    assert_eq!(customer.agents_seen().await, ["agent1"]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_participant_takes_an_agent_out_with_a_notice_for_agents() {
    let sim = start(config()).await;
    let (first, second, customer, chat, _) = conference(&sim).await;
    first.drain().await;
    let reference = accepted(
        &first.op(&chat, json!({"operationName": "RemoveParticipantFromConference", "targetUri": second.uri})).await,
    );
    let removed = second.drain().await;
    assert_eq!((kinds(&removed), &removed[0]["chat"]["state"]), (vec!["StatusChange"], &json!("Completed")));
    let notes = first.drain().await;
    assert_eq!(kinds(&notes), ["ParticipantsUpdated", "NewMessages"]);
    assert!(notes.iter().all(|n| n["referenceId"] == reference));
    let notice = &messages(&notes)[0];
    let text = format!("REMOVE_PARTICIPANT_FROM_CONFERENCE{}", second.user_id);
    assert_eq!(
        (&notice["type"], &notice["text"], &notice["visibility"]),
        (&json!("Notice"), &json!(text), &json!("Agents"))
    );
    assert_eq!(notes[0]["chat"]["participants"].as_array().unwrap().len(), 2, "customer and agent1");
    assert_eq!(customer.agents_seen().await, ["agent1"]);
    assert!(customer.messages().await.iter().all(|m| m["type"] != "Notice"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_participant_accepts_user_uri_and_refuses_a_consultant() {
    let sim = start(config()).await;
    let (first, second, _customer, chat, _) = consult(&sim, true).await;
    first.drain().await;
    let body = json!({"operationName": "RemoveParticipantFromConference", "targetUri": first.uri});
    refused(&second.op(&chat, body).await, 3);
    assert!(first.drain().await.is_empty() && second.drain().await.is_empty());
    let body = json!({"operationName": "RemoveParticipantFromConference", "userUri": second.uri});
    accepted(&first.op(&chat, body).await);
    assert_eq!(second.drain().await[0]["chat"]["state"], "Completed");
    let caps = first.drain().await[0]["chat"]["capabilities"].clone();
    assert!(strings(&caps).contains(&"Consult"), "the consult is over: {caps}");
    sim.shutdown().await;
}
