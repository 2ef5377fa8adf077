//! Every error code every operation can answer (1, 2, 3, 6, 10), driven by the catalogue, each
//! with the documented body and HTTP status — and proof that the refused request changed
//! nothing: no notification, the same chats, the same transcripts.

use chatprobe::api::{self, ChatContext, ChatState, Operation, ParamKind};
use chatprobe::sim::RunningSim;
use serde_json::{Map, Value, json};

use super::{Agent, Customer, accepted, chatting, config, refused, start};

/// Agent 1 chatting on `chat` and offered `offered`; agent 2 logged in (a valid target).
struct World {
    sim: RunningSim,
    first: Agent,
    second: Agent,
    customer: Customer,
    chat: String,
    offered: String,
}

impl World {
    async fn new() -> World {
        let sim = start(config()).await;
        let (first, customer, chat) = chatting(&sim, 1).await;
        let second = Agent::login(&sim, 2).await;
        let _other = Customer::request(&sim, "Sam").await;
        let offered = first.invited().await;
        World { sim, first, second, customer, chat, offered }
    }

    /// A value of `kind` the operation accepts.
    async fn valid(&self, name: &str, kind: ParamKind) -> Value {
        match kind {
            ParamKind::String if name == "queueName" => self.first.chat(&self.chat).await["interactionQueue"].clone(),
            ParamKind::String => json!("x"),
            ParamKind::Bool => json!(true),
            ParamKind::Object => json!({"k": "v"}),
            ParamKind::StringArray => json!(["k"]),
            ParamKind::Uri => json!(self.second.uri),
            ParamKind::Choice(values) => json!(values[0]),
        }
    }

    /// A body with every required parameter (and the first of a `one_of` group) valid.
    async fn body(&self, op: &Operation) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("operationName".into(), json!(op.name));
        for p in op.params.iter().filter(|p| p.required || op.one_of.first() == Some(&p.name)) {
            body.insert(p.name.into(), self.valid(p.name, p.kind).await);
        }
        body
    }

    /// What the agents can observe of the simulator's state.
    async fn snapshot(&self) -> Value {
        let (_, chats) = self.first.get("/api/v2/me/chats").await;
        json!([
            chats,
            self.first.transcript(&self.chat).await,
            self.customer.chat().await,
            self.second.get("/api/v2/me/chats").await.1
        ])
    }

    /// `body` on `chat` is refused with `code`, and nothing changes.
    async fn refuses(&self, agent: &Agent, chat: &str, body: Map<String, Value>, code: i64) {
        let before = self.snapshot().await;
        let reply = agent.op(chat, Value::Object(body.clone())).await;
        assert_eq!(reply.1["statusCode"], code, "{body:?} -> {}", reply.1);
        refused(&reply, code);
        assert_eq!(self.snapshot().await, before, "{body:?} changed something");
        assert!(self.first.drain().await.is_empty() && self.second.drain().await.is_empty(), "{body:?} notified");
    }
}

/// A value of the wrong type (or value) for `kind`.
fn wrong(kind: ParamKind) -> Value {
    match kind {
        ParamKind::String | ParamKind::Uri => json!(7),
        ParamKind::Bool => json!("yes"),
        ParamKind::Object => json!({"nested": {"no": 1}}),
        ParamKind::StringArray => json!("k"),
        ParamKind::Choice(_) => json!("Loud"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_parameter_answers_1() {
    let w = World::new().await;
    let mut tried = 0;
    for op in api::CATALOGUE {
        let body = w.body(op).await;
        for p in op.params.iter().filter(|p| p.required) {
            let mut without = body.clone();
            without.remove(p.name);
            w.refuses(&w.first, &w.chat, without, 1).await;
            tried += 1;
        }
        if !op.one_of.is_empty() {
            let mut without = body.clone();
            without.retain(|k, _| !op.one_of.contains(&k.as_str()));
            w.refuses(&w.first, &w.chat, without, 1).await;
            tried += 1;
        }
    }
    assert!(tried >= 13, "{tried}");
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_of_the_wrong_type_or_value_answers_10() {
    let w = World::new().await;
    let mut tried = 0;
    for op in api::CATALOGUE {
        let body = w.body(op).await;
        for p in op.params {
            let mut bad = body.clone();
            bad.insert(p.name.into(), wrong(p.kind));
            w.refuses(&w.first, &w.chat, bad, 10).await;
            tried += 1;
        }
    }
    assert!(tried >= 40, "{tried}");
    // A target that is the agent itself, or already in the chat.
    for name in ["Invite", "Consult", "Transfer"] {
        let body = json!({"operationName": name, "targetUri": w.first.uri});
        w.refuses(&w.first, &w.chat, body.as_object().cloned().unwrap(), 10).await;
    }
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_outside_the_capabilities_answers_2() {
    let w = World::new().await;
    let chatting = api::capabilities(ChatState::Chatting, &ChatContext::ALONE);
    let invited = api::capabilities(ChatState::Invited, &ChatContext::ALONE);
    let mut tried = 0;
    for op in api::CATALOGUE {
        let body = w.body(op).await;
        if !chatting.contains(&op.name) {
            w.refuses(&w.first, &w.chat, body.clone(), 2).await;
            tried += 1;
        }
        if !invited.contains(&op.name) {
            w.refuses(&w.first, &w.offered, body, 2).await;
            tried += 1;
        }
    }
    assert_eq!(tried, api::CATALOGUE.len() * 2 - chatting.len() - invited.len());
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_chat_or_someone_elses_answers_6() {
    let w = World::new().await;
    for op in api::CATALOGUE {
        let body = w.body(op).await;
        w.refuses(&w.first, "0001NoSuchChat00", body.clone(), 6).await;
        w.refuses(&w.second, &w.chat, body, 6).await;
    }
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_target_answers_6() {
    let w = World::new().await;
    let base = w.sim.base_url();
    let nobody = format!("{base}/api/v2/users/0000000000000000000000000000dead");
    let no_queue = format!("{base}/api/v2/queues/NoSuchQueue");
    let cases = [
        json!({"operationName": "Transfer", "targetUri": nobody}),
        json!({"operationName": "Transfer", "targetUri": no_queue}),
        json!({"operationName": "Transfer", "queueName": "NoSuchQueue"}),
        json!({"operationName": "Complete", "queueName": "NoSuchQueue"}),
        json!({"operationName": "Invite", "targetUri": nobody}),
        json!({"operationName": "Consult", "targetUri": nobody}),
        json!({"operationName": "Consult", "targetUri": no_queue}),
    ];
    for body in cases {
        w.refuses(&w.first, &w.chat, body.as_object().cloned().unwrap(), 6).await;
    }
    w.sim.shutdown().await;
}

/// A conference of agents 1 and 2 on `w.chat`, agent 3 logged in but not in it.
async fn conference(w: &World) -> Agent {
    accepted(&w.first.op(&w.chat, json!({"operationName": "Invite", "targetUri": w.second.uri})).await);
    w.second.invited().await;
    w.second.accept(&w.chat).await;
    w.first.drain().await;
    Agent::login(&w.sim, 3).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_someone_not_in_the_conference_answers_6() {
    let w = World::new().await;
    let third = conference(&w).await;
    let nobody = format!("{}/api/v2/users/0000000000000000000000000000dead", w.sim.base_url());
    for target in [third.uri.as_str(), nobody.as_str()] {
        let body = json!({"operationName": "RemoveParticipantFromConference", "targetUri": target});
        w.refuses(&w.first, &w.chat, body.as_object().cloned().unwrap(), 6).await;
    }
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_customer_or_oneself_answers_3() {
    let w = World::new().await;
    conference(&w).await;
    let customer_id = w.customer.chat().await["participants"][0]["participantId"].as_str().unwrap().to_owned();
    let customer_uri = format!("{}/api/v2/users/{customer_id}", w.sim.base_url());
    for target in [customer_uri.as_str(), w.first.uri.as_str()] {
        let body = json!({"operationName": "RemoveParticipantFromConference", "targetUri": target});
        w.refuses(&w.first, &w.chat, body.as_object().cloned().unwrap(), 3).await;
    }
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consultant_removing_anyone_answers_3() {
    let w = World::new().await;
    accepted(&w.first.op(&w.chat, json!({"operationName": "Consult", "targetUri": w.second.uri})).await);
    w.second.invited().await;
    w.second.accept(&w.chat).await;
    w.first.drain().await;
    let body = json!({"operationName": "RemoveParticipantFromConference", "targetUri": w.first.uri});
    w.refuses(&w.second, &w.chat, body.as_object().cloned().unwrap(), 3).await;
    w.sim.shutdown().await;
}
