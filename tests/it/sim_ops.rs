//! Every documented chat operation against the simulator, over real loopback sockets: success
//! paths with their notifications and referenceIds, every error code, the multi-agent operations,
//! capabilities in every situation, and each injected fault.
//!
//! Notifications are queued under the simulator's lock before an operation's HTTP answer leaves,
//! so a connect with `timeout: 0` made after the answer returns everything the operation caused:
//! tests drain that way and assert exact lists, never timings.

mod basics;
mod capabilities;
mod errors;
mod faults;
mod multi;

use std::time::{Duration, Instant};

use chatprobe::sim::{RunningSim, SimConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::{answer, start};

/// Longest any single wait in these tests may take.
const DEADLINE: Duration = Duration::from_secs(10);

fn config() -> SimConfig {
    SimConfig { agents: 5, cometd_timeout: Duration::from_secs(2), ..SimConfig::default() }
}

fn http() -> Client {
    crate::support::http(DEADLINE)
}

/// A successful operation's answer: HTTP 200, statusCode 0 and its referenceId.
#[track_caller]
fn accepted((status, body): &(StatusCode, Value)) -> u64 {
    assert_eq!((*status, &body["statusCode"]), (StatusCode::OK, &json!(0)), "{body}");
    body["referenceId"].as_u64().unwrap_or_else(|| panic!("no referenceId in {body}"))
}

/// A refusal: the documented body (statusCode and statusMessage only) and the HTTP status that
/// goes with the code.
#[track_caller]
fn refused((status, body): &(StatusCode, Value), code: i64) {
    let http = match code {
        3 => StatusCode::FORBIDDEN,
        6 => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    assert_eq!((*status, body["statusCode"].as_i64()), (http, Some(code)), "{body}");
    assert!(body["statusMessage"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "nothing but statusCode and statusMessage: {body}");
}

/// `notificationType` of each notification.
fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["notificationType"].as_str().unwrap_or("?")).collect()
}

/// Every message carried by NewMessages notifications, in order.
fn messages(events: &[Value]) -> Vec<Value> {
    events.iter().filter_map(|e| e["messages"].as_array()).flatten().cloned().collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// A logged-in agent with a Bayeux client subscribed to `/v2/me/chats`.
struct Agent {
    http: Client,
    base: String,
    csrf: String,
    client_id: String,
    /// The user URI, as Transfer/Invite/Consult take it.
    uri: String,
    user_id: String,
}

impl Agent {
    /// Log in, handshake, subscribe and start the contact-centre session (not Ready).
    async fn login(sim: &RunningSim, n: usize) -> Agent {
        let http = http();
        let base = sim.base_url();
        let me = http.get(format!("{base}/api/v2/me")).basic_auth(format!("agent{n}"), Some("password"));
        let response = me.send().await.unwrap();
        let csrf = response.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
        let (_, me) = answer(response).await;
        let uri = me["user"]["uri"].as_str().unwrap().to_owned();
        let user_id = me["user"]["id"].as_str().unwrap().to_owned();
        let mut agent = Agent { http, base, csrf, client_id: String::new(), uri, user_id };
        let hs =
            json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]);
        agent.client_id = agent.bayeux(hs).await[0]["clientId"].as_str().unwrap().to_owned();
        let sub = json!([{"channel": "/meta/subscribe", "clientId": agent.client_id, "subscription": "/v2/me/chats"}]);
        assert_eq!(agent.bayeux(sub).await[0]["successful"], true);
        let start = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
        assert_eq!(agent.post("/api/v2/me", start).await.1["statusCode"], 0);
        agent
    }

    async fn ready(sim: &RunningSim, n: usize) -> Agent {
        let agent = Agent::login(sim, n).await;
        agent.set_ready(true).await;
        agent
    }

    async fn set_ready(&self, ready: bool) {
        let op = if ready { "Ready" } else { "NotReady" };
        assert_eq!(self.post("/api/v2/me/channels/chat", json!({"operationName": op})).await.1["statusCode"], 0);
    }

    async fn bayeux(&self, messages: Value) -> Vec<Value> {
        let response = self
            .http
            .post(format!("{}/api/v2/notifications", self.base))
            .header("X-CSRF-TOKEN", &self.csrf)
            .json(&messages);
        let response = response.send().await;
        match response.unwrap().json::<Value>().await.unwrap() {
            Value::Array(replies) => replies,
            other => panic!("not an array: {other}"),
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).header("X-CSRF-TOKEN", &self.csrf).json(&body);
        answer(request.send().await.unwrap()).await
    }

    /// An operation on a chat.
    async fn op(&self, chat: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v2/me/chats/{chat}"), body).await
    }

    /// One connect: held until events arrive unless `hold` is false.
    async fn connect(&self, hold: bool) -> Vec<Value> {
        let mut connect =
            json!({"channel": "/meta/connect", "clientId": self.client_id, "connectionType": "long-polling"});
        if !hold {
            connect["advice"] = json!({"timeout": 0});
        }
        let replies = self.bayeux(json!([connect])).await;
        let reply = replies.iter().find(|r| r["channel"] == "/meta/connect").unwrap();
        assert_eq!(reply["successful"], true, "{replies:?}");
        replies.iter().filter(|r| r["channel"] == "/v2/me/chats").map(|r| r["data"].clone()).collect()
    }

    /// Every notification queued for the agent now.
    async fn drain(&self) -> Vec<Value> {
        self.connect(false).await
    }

    /// Connect until at least `n` notifications arrived.
    async fn events(&self, n: usize) -> Vec<Value> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < n {
            assert!(start.elapsed() < DEADLINE, "only {} of {n} events: {got:#?}", got.len());
            got.extend(self.connect(true).await);
        }
        got
    }

    /// The next offer: its agent-side chat id.
    async fn invited(&self) -> String {
        let offer = self.events(1).await.remove(0);
        assert_eq!((&offer["notificationType"], &offer["chat"]["state"]), (&json!("StatusChange"), &json!("Invited")));
        offer["chat"]["id"].as_str().unwrap().to_owned()
    }

    /// Accept the offered `chat` and take the three notifications that follow.
    async fn accept(&self, chat: &str) -> Vec<Value> {
        accepted(&self.op(chat, json!({"operationName": "Accept"})).await);
        let notes = self.drain().await;
        assert_eq!(kinds(&notes), ["StatusChange", "ParticipantsUpdated", "NewMessages"], "{notes:#?}");
        notes
    }

    /// The chat as `GET /api/v2/me/chats` lists it (Null when not listed).
    async fn chat(&self, id: &str) -> Value {
        let (_, listed) = self.get("/api/v2/me/chats").await;
        listed["chats"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap_or(Value::Null)
    }

    async fn transcript(&self, id: &str) -> Vec<Value> {
        let (_, page) = self.get(&format!("/api/v2/me/chats/{id}/messages")).await;
        page["messages"].as_array().cloned().unwrap_or_default()
    }
}

/// A customer with one chat.
struct Customer {
    http: Client,
    base: String,
    id: String,
}

impl Customer {
    async fn request(sim: &RunningSim, nickname: &str) -> Customer {
        let http = http();
        let base = sim.base_url();
        let body = json!({"operationName": "RequestChat", "nickname": nickname});
        let request = http.post(format!("{base}/api/v2/chats")).header("ContactCenterId", "it").json(&body);
        let (_, reply) = answer(request.send().await.unwrap()).await;
        let id = reply["id"].as_str().unwrap().to_owned();
        Customer { http, base, id }
    }

    async fn get(&self, suffix: &str) -> Value {
        let url = format!("{}/api/v2/chats/{}{suffix}", self.base, self.id);
        answer(self.http.get(url).header("ContactCenterId", "it").send().await.unwrap()).await.1
    }

    /// The chat as the customer sees it.
    async fn chat(&self) -> Value {
        self.get("").await["chat"].clone()
    }

    async fn messages(&self) -> Vec<Value> {
        self.get("/messages").await["messages"].as_array().cloned().unwrap_or_default()
    }

    async fn say(&self, text: &str) {
        let body = json!({"operationName": "SendMessage", "text": text});
        let url = format!("{}/api/v2/chats/{}", self.base, self.id);
        let (_, reply) =
            answer(self.http.post(url).header("ContactCenterId", "it").json(&body).send().await.unwrap()).await;
        assert_eq!(reply["statusCode"], 0, "{reply}");
    }

    /// Nicknames of the agents the customer sees.
    async fn agents_seen(&self) -> Vec<String> {
        let chat = self.chat().await;
        let participants = chat["participants"].as_array().cloned().unwrap_or_default();
        participants
            .iter()
            .filter(|p| p["type"] == "Agent")
            .map(|p| p["nickname"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Agent `n`, Ready, chatting with a new customer (the offer and Accept's notifications taken).
async fn chatting(sim: &RunningSim, n: usize) -> (Agent, Customer, String) {
    let agent = Agent::ready(sim, n).await;
    let customer = Customer::request(sim, "Pat").await;
    let chat = agent.invited().await;
    agent.accept(&chat).await;
    (agent, customer, chat)
}
