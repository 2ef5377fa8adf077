//! Each injected fault visibly breaks the contract rule it is named after, and nothing is broken
//! with the faults off (the other modules run with them off).

use chatprobe::sim::{Faults, RunningSim, SimConfig};
use serde_json::{Value, json};

use super::{Agent, Customer, accepted, chatting, config, messages, start, strings};

async fn faulty(faults: Faults) -> RunningSim {
    start(SimConfig { faults, ..config() }).await
}

fn indices(messages: &[Value]) -> Vec<u64> {
    messages.iter().map(|m| m["index"].as_u64().unwrap()).collect()
}

/// The agent says `texts` one after the other; the transcript's indices.
async fn say_all(agent: &Agent, chat: &str, texts: &[&str]) -> Vec<u64> {
    for text in texts {
        accepted(&agent.op(chat, json!({"operationName": "SendMessage", "text": text})).await);
    }
    indices(&agent.transcript(chat).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omit_reference_id_strips_it_from_notifications_only() {
    let sim = faulty(Faults { omit_reference_id: true, ..Faults::default() }).await;
    let agent = Agent::ready(&sim, 1).await;
    let _customer = Customer::request(&sim, "Pat").await;
    let chat = agent.invited().await;
    let notes = agent.accept(&chat).await;
    assert!(notes.iter().all(|n| n.get("referenceId").is_none()), "{notes:#?}");
    let reference = accepted(&agent.op(&chat, json!({"operationName": "SendMessage", "text": "x"})).await);
    assert!(reference > 1, "the response still has one");
    assert!(agent.drain().await[0].get("referenceId").is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_state_after_accept_says_invited() {
    let sim = faulty(Faults { wrong_state_after_accept: true, ..Faults::default() }).await;
    let (agent, _customer, chat) = chatting(&sim, 1).await;
    // `chatting` took Accept's notifications; the chat itself is Chatting.
    assert_eq!(agent.chat(&chat).await["state"], "Chatting");
    let _other = Customer::request(&sim, "Sam").await;
    let second = agent.invited().await;
    let notes = agent.accept(&second).await;
    assert_eq!(notes[0]["chat"]["state"], "Invited", "the StatusChange lies");
    assert_eq!(notes[1]["chat"]["state"], "Chatting", "ParticipantsUpdated does not");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capability_missing_hides_send_message_but_it_still_works() {
    let sim = faulty(Faults { capability_missing: true, ..Faults::default() }).await;
    let (agent, _customer, chat) = chatting(&sim, 1).await;
    let caps = agent.chat(&chat).await["capabilities"].clone();
    assert!(!strings(&caps).contains(&"SendMessage") && strings(&caps).contains(&"SendUrl"), "{caps}");
    accepted(&agent.op(&chat, json!({"operationName": "SendMessage", "text": "x"})).await);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_gap_skips_a_number_every_third_message() {
    let sim = faulty(Faults { index_gap: true, ..Faults::default() }).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    let seen = say_all(&agent, &chat, &["a", "b", "c", "d"]).await;
    assert_eq!(seen, [1, 2, 4, 5, 6, 8]);
    assert_eq!(indices(&customer.messages().await), seen, "the customer sees the same gaps");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_repeat_reuses_an_index_for_the_second_text() {
    let sim = faulty(Faults { index_repeat: true, ..Faults::default() }).await;
    let (agent, _customer, chat) = chatting(&sim, 1).await;
    assert_eq!(say_all(&agent, &chat, &["a", "b", "c"]).await, [1, 2, 3, 3, 4]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leak_agents_visibility_shows_agents_only_messages_to_the_customer() {
    let sim = faulty(Faults { leak_agents_visibility: true, ..Faults::default() }).await;
    let (first, customer, chat) = chatting(&sim, 1).await;
    let second = Agent::login(&sim, 2).await;
    accepted(&first.op(&chat, json!({"operationName": "Invite", "targetUri": second.uri})).await);
    second.invited().await;
    second.accept(&chat).await;
    accepted(&first.op(&chat, json!({"operationName": "SendToAgents", "text": "secret"})).await);
    let seen = customer.messages().await;
    assert!(seen.iter().any(|m| m["text"] == "secret" && m["visibility"] == "Agents"), "{seen:#?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_customer_text_edits_what_agents_receive() {
    let sim = faulty(Faults { alter_customer_text: true, ..Faults::default() }).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    customer.say("hello").await;
    assert_eq!(messages(&agent.drain().await)[0]["text"], "hello (edited)");
    assert_eq!(agent.transcript(&chat).await.last().unwrap()["text"], "hello (edited)");
    assert_eq!(customer.messages().await.last().unwrap()["text"], "hello");
    // The agent's own text is untouched.
    accepted(&agent.op(&chat, json!({"operationName": "SendMessage", "text": "hi"})).await);
    assert_eq!(messages(&agent.drain().await)[0]["text"], "hi");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_notification_swallows_send_message_notifications_only() {
    let sim = faulty(Faults { drop_notification: true, ..Faults::default() }).await;
    let (agent, customer, chat) = chatting(&sim, 1).await;
    accepted(&agent.op(&chat, json!({"operationName": "SendMessage", "text": "lost"})).await);
    assert!(agent.drain().await.is_empty());
    assert_eq!(customer.messages().await.last().unwrap()["text"], "lost", "the message itself was sent");
    accepted(&agent.op(&chat, json!({"operationName": "SendStartTypingNotification"})).await);
    assert_eq!(agent.drain().await.len(), 1);
    sim.shutdown().await;
}
