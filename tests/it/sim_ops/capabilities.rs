//! Capabilities follow the state and the situation of the chat: in every state and in conference,
//! consult pending and consult joined, what the simulator advertises (in notifications and in
//! `GET /api/v2/me/chats`) is exactly `api::capabilities(state, context)`.

use serde_json::{Value, json};

use super::{Agent, Customer, accepted, chatting, config, start, strings};
use chatprobe::api::{self, ChatContext, ChatState};

#[track_caller]
fn assert_caps(chat: &Value, state: ChatState, ctx: ChatContext) {
    assert_eq!(chat["state"], state.as_str(), "{chat}");
    assert_eq!(strings(&chat["capabilities"]), api::capabilities(state, &ctx), "{state:?} {ctx:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_in_every_state_match_the_catalogue() {
    let sim = start(config()).await;
    let agent = Agent::ready(&sim, 1).await;
    let _customer = Customer::request(&sim, "Pat").await;
    let offer = agent.events(1).await.remove(0);
    assert_caps(&offer["chat"], ChatState::Invited, ChatContext::ALONE);
    let chat = offer["chat"]["id"].as_str().unwrap().to_owned();
    let notes = agent.accept(&chat).await;
    assert_caps(&notes[0]["chat"], ChatState::Chatting, ChatContext::ALONE);
    assert_caps(&notes[1]["chat"], ChatState::Chatting, ChatContext::ALONE);
    assert_caps(&agent.chat(&chat).await, ChatState::Chatting, ChatContext::ALONE);
    accepted(&agent.op(&chat, json!({"operationName": "Leave"})).await);
    assert_caps(&agent.drain().await[0]["chat"], ChatState::LeftChat, ChatContext::ALONE);
    assert_caps(&agent.chat(&chat).await, ChatState::LeftChat, ChatContext::ALONE);
    accepted(&agent.op(&chat, json!({"operationName": "AttachUserData", "userData": {"k": "v"}})).await);
    assert_caps(&agent.drain().await[0]["chat"], ChatState::LeftChat, ChatContext::ALONE);
    accepted(&agent.op(&chat, json!({"operationName": "Complete"})).await);
    assert_caps(&agent.drain().await[0]["chat"], ChatState::Completed, ChatContext::ALONE);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_in_a_conference_match_the_catalogue() {
    let sim = start(config()).await;
    let (first, _customer, chat) = chatting(&sim, 1).await;
    let second = Agent::login(&sim, 2).await;
    accepted(&first.op(&chat, json!({"operationName": "Invite", "targetUri": second.uri})).await);
    // An Invite pending changes nothing for the inviter.
    assert_caps(&first.chat(&chat).await, ChatState::Chatting, ChatContext::ALONE);
    second.invited().await;
    let notes = second.accept(&chat).await;
    let conference = ChatContext { conference: true, ..ChatContext::ALONE };
    assert_caps(&notes[0]["chat"], ChatState::Chatting, conference);
    assert_caps(&first.drain().await[0]["chat"], ChatState::Chatting, conference);
    assert_caps(&first.chat(&chat).await, ChatState::Chatting, conference);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_during_a_consult_match_the_catalogue() {
    let sim = start(config()).await;
    let (first, _customer, chat) = chatting(&sim, 1).await;
    let second = Agent::login(&sim, 2).await;
    accepted(&first.op(&chat, json!({"operationName": "Consult", "targetUri": second.uri})).await);
    let pending = ChatContext { consult_pending: true, ..ChatContext::ALONE };
    assert_caps(&first.chat(&chat).await, ChatState::Chatting, pending);
    let offer = second.events(1).await.remove(0);
    assert_caps(&offer["chat"], ChatState::Invited, pending);
    let notes = second.accept(&chat).await;
    let joined = ChatContext { consultant_joined: true, ..ChatContext::ALONE };
    assert_caps(&notes[0]["chat"], ChatState::Chatting, ChatContext { consultant: true, ..joined });
    assert_caps(&first.drain().await[0]["chat"], ChatState::Chatting, joined);
    assert_caps(&first.chat(&chat).await, ChatState::Chatting, joined);

    // The consultant leaves: the first agent is alone again and is told so.
    accepted(&second.op(&chat, json!({"operationName": "Leave"})).await);
    assert_caps(&second.drain().await[0]["chat"], ChatState::Completed, ChatContext::ALONE);
    assert_caps(&first.drain().await[0]["chat"], ChatState::Chatting, ChatContext::ALONE);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_offer_has_no_capabilities() {
    let sim = start(config()).await;
    let (first, _customer, chat) = chatting(&sim, 1).await;
    let second = Agent::login(&sim, 2).await;
    accepted(&first.op(&chat, json!({"operationName": "Consult", "targetUri": second.uri})).await);
    second.invited().await;
    accepted(&first.op(&chat, json!({"operationName": "CancelConsult"})).await);
    assert_caps(&second.drain().await[0]["chat"], ChatState::Revoked, ChatContext::ALONE);
    assert!(second.chat(&chat).await.is_null(), "a revoked chat is not listed");
    sim.shutdown().await;
}
