//! Each latitude alternative changes what the simulator serves, in the way docs/latitude.md says:
//! one flow (login, offer, Accept, messages both ways, refused operations, attachments) against
//! the default simulator and against a simulator with one latitude pinned, raw HTTP over loopback.

use std::time::Duration;

use chatprobe::sim::{LATITUDES_PATH, Latitudes, STANDARD_RESPONSES, SimConfig};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::start;

const DEADLINE: Duration = Duration::from_secs(10);

/// What one flow saw.
#[derive(Debug, Default)]
struct Seen {
    /// The session cookie and token before and after the login.
    rotated_session: bool,
    rotated_token: bool,
    /// HTTP status of a handshake sent without the token.
    tokenless_handshake: u16,
    /// The first connect answer after the offer, as it came.
    offer_answer: Vec<Value>,
    offer: Value,
    customer_id: String,
    /// Events per connect answer after Accept, until none are left.
    batch_sizes: Vec<usize>,
    accept_response: Value,
    chatting_capabilities: Vec<String>,
    agent_transcript: Vec<Value>,
    /// The customer's GET messages without index, twice.
    customer_first: Vec<Value>,
    customer_second: Vec<Value>,
    customer_view: Value,
    /// SendMessage with a number as text: HTTP status, statusCode.
    wrong_type: (u16, i64),
    /// Transfer to a queue that does not exist: the response, and the notifications after it.
    unknown_queue: Value,
    unknown_queue_events: Vec<Value>,
    /// A second Consult while one is pending.
    second_consult: i64,
    /// RemoveAttachment's notification type.
    removal_type: String,
    /// Which agent, 1 or 2, a chat waiting for two idle agents went to.
    routed_to: usize,
    latitudes: Value,
}

struct Agent {
    http: Client,
    base: String,
    csrf: String,
    client_id: String,
}

impl Agent {
    async fn login(base: &str, n: usize, seen: Option<&mut Seen>) -> Agent {
        let http = crate::support::http(DEADLINE);
        let anonymous = http.get(format!("{base}/api/v2/me")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let before_cookie = set_cookie(&anonymous);
        let before_token = anonymous.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
        let login = http
            .get(format!("{base}/api/v2/me"))
            .basic_auth(format!("agent{n}"), Some("password"))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::OK);
        let csrf = login.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
        let after_cookie = set_cookie(&login);
        let mut agent = Agent { http, base: base.to_owned(), csrf, client_id: String::new() };
        let hs =
            json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]);
        let tokenless = agent.http.post(format!("{base}/api/v2/notifications")).json(&hs).send().await.unwrap();
        if let Some(seen) = seen {
            seen.rotated_session = after_cookie.is_some() && after_cookie != before_cookie;
            seen.rotated_token = agent.csrf != before_token;
            seen.tokenless_handshake = tokenless.status().as_u16();
        }
        agent.client_id = agent.bayeux(hs).await[0]["clientId"].as_str().unwrap().to_owned();
        let sub = json!([{"channel": "/meta/subscribe", "clientId": agent.client_id, "subscription": "/v2/me/chats"}]);
        assert_eq!(agent.bayeux(sub).await[0]["successful"], true);
        agent.connect().await;
        let start = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
        assert_eq!(agent.post("/api/v2/me", start).await.1["statusCode"], 0);
        agent
    }

    async fn ready(&self) {
        assert_eq!(self.post("/api/v2/me/channels/chat", json!({"operationName": "Ready"})).await.1["statusCode"], 0);
    }

    async fn bayeux(&self, messages: Value) -> Vec<Value> {
        let request = self.http.post(format!("{}/api/v2/notifications", self.base)).header("X-CSRF-TOKEN", &self.csrf);
        request.json(&messages).send().await.unwrap().json::<Vec<Value>>().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).header("X-CSRF-TOKEN", &self.csrf).json(&body);
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn op(&self, chat: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/api/v2/me/chats/{chat}"), body).await
    }

    /// One connect answered at once.
    async fn connect(&self) -> Vec<Value> {
        let connect = json!([{"channel": "/meta/connect", "clientId": self.client_id,
            "connectionType": "long-polling", "advice": {"timeout": 0}}]);
        self.bayeux(connect).await
    }

    /// Connect until an answer carries no event; the events of each answer.
    async fn drain(&self) -> Vec<Vec<Value>> {
        let mut answers = Vec::new();
        loop {
            let events = events(&self.connect().await);
            if events.is_empty() {
                return answers;
            }
            answers.push(events);
            assert!(answers.len() < 100, "the events never end");
        }
    }

    /// Connect until an event arrives; the first answer that carries one.
    async fn first_event(&self) -> Vec<Value> {
        let start = std::time::Instant::now();
        loop {
            let answer = self.connect().await;
            if !events(&answer).is_empty() {
                return answer;
            }
            assert!(start.elapsed() < DEADLINE, "no event came");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn set_cookie(response: &reqwest::Response) -> Option<String> {
    response.headers().get("set-cookie").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
}

fn events(answer: &[Value]) -> Vec<Value> {
    answer.iter().filter(|m| m["channel"] == "/v2/me/chats").map(|m| m["data"].clone()).collect()
}

async fn customer_get(base: &str, path: &str) -> Value {
    let request = Client::new().get(format!("{base}{path}")).header("ContactCenterId", "latitudes");
    request.send().await.unwrap().json().await.unwrap()
}

async fn request_chat(base: &str, nickname: &str) -> String {
    let body = json!({"operationName": "RequestChat", "nickname": nickname});
    let request = Client::new().post(format!("{base}/api/v2/chats")).header("ContactCenterId", "latitudes");
    let answer: Value = request.json(&body).send().await.unwrap().json().await.unwrap();
    answer["id"].as_str().unwrap().to_owned()
}

async fn observe(latitudes: Latitudes) -> Seen {
    let config = SimConfig { agents: 3, cometd_timeout: Duration::from_secs(1), latitudes, ..SimConfig::default() };
    let sim = start(config).await;
    let base = sim.base_url();
    let mut seen = Seen {
        latitudes: Client::new().get(format!("{base}{LATITUDES_PATH}")).send().await.unwrap().json().await.unwrap(),
        ..Seen::default()
    };
    let agent = Agent::login(&base, 1, Some(&mut seen)).await;
    agent.ready().await;

    seen.customer_id = request_chat(&base, "Pat").await;
    seen.offer_answer = agent.first_event().await;
    seen.offer = events(&seen.offer_answer)[0].clone();
    let chat = seen.offer["chat"]["id"].as_str().unwrap().to_owned();
    agent.drain().await;
    seen.accept_response = agent.op(&chat, json!({"operationName": "Accept", "nickname": "A1"})).await.1;
    let answers = agent.drain().await;
    seen.batch_sizes = answers.iter().map(Vec::len).collect();
    let state = answers.iter().flatten().find(|e| e["notificationType"] == "StatusChange").unwrap();
    seen.chatting_capabilities =
        state["chat"]["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();

    let say = json!({"operationName": "SendMessage", "text": "hello"});
    assert_eq!(agent.op(&chat, say).await.1["statusCode"], 0);
    let customer_messages = format!("/api/v2/chats/{}/messages", seen.customer_id);
    seen.customer_first = customer_get(&base, &customer_messages).await["messages"].as_array().unwrap().clone();
    seen.customer_second = customer_get(&base, &customer_messages).await["messages"].as_array().unwrap().clone();
    seen.customer_view = customer_get(&base, &format!("/api/v2/chats/{}", seen.customer_id)).await;
    let transcript = agent.http.get(format!("{base}/api/v2/me/chats/{chat}/messages")).send().await.unwrap();
    seen.agent_transcript = transcript.json::<Value>().await.unwrap()["messages"].as_array().unwrap().clone();
    agent.drain().await;

    let (status, body) = agent.op(&chat, json!({"operationName": "SendMessage", "text": 42})).await;
    seen.wrong_type = (status, body["statusCode"].as_i64().unwrap());
    seen.unknown_queue = agent.op(&chat, json!({"operationName": "Transfer", "queueName": "NoSuchQueue"})).await.1;
    seen.unknown_queue_events = agent.drain().await.into_iter().flatten().collect();

    let queue = format!("{base}/api/v2/queues/ConsultQueue");
    assert_eq!(agent.op(&chat, json!({"operationName": "Consult", "targetUri": queue})).await.1["statusCode"], 0);
    let again = agent.op(&chat, json!({"operationName": "Consult", "targetUri": queue})).await.1;
    seen.second_consult = again["statusCode"].as_i64().unwrap();
    // Withdrawn, so that no agent takes the consultation below.
    assert_eq!(agent.op(&chat, json!({"operationName": "CancelConsult"})).await.1["statusCode"], 0);
    agent.drain().await;

    let document = STANDARD_RESPONSES[0].id;
    assert_eq!(
        agent.op(&chat, json!({"operationName": "AddAttachment", "documentId": document})).await.1["statusCode"],
        0
    );
    agent.drain().await;
    assert_eq!(
        agent.op(&chat, json!({"operationName": "RemoveAttachment", "documentId": document})).await.1["statusCode"],
        0
    );
    let removal = agent.drain().await.into_iter().flatten().next().unwrap();
    seen.removal_type = removal["notificationType"].as_str().unwrap().to_owned();

    // Routing: agents 2 and 3, both idle, and one chat.
    let two = Agent::login(&base, 2, None).await;
    let three = Agent::login(&base, 3, None).await;
    two.ready().await;
    three.ready().await;
    agent.post("/api/v2/me/channels/chat", json!({"operationName": "NotReady"})).await;
    request_chat(&base, "Quinn").await;
    let start = std::time::Instant::now();
    while seen.routed_to == 0 {
        for (n, a) in [(2, &two), (3, &three)] {
            if events(&a.connect().await).iter().any(|e| e["chat"]["state"] == "Invited") {
                seen.routed_to = n;
            }
        }
        assert!(start.elapsed() < DEADLINE, "the chat was offered to nobody");
    }
    sim.shutdown().await;
    seen
}

fn pinned(spec: &str) -> Latitudes {
    let mut lat = Latitudes::default();
    lat.pin_spec(spec).unwrap();
    lat
}

fn participants(chat: &Value) -> Vec<&str> {
    chat["participants"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_simulator_takes_the_first_alternative_everywhere() {
    let d = observe(Latitudes::default()).await;
    assert_eq!(d.latitudes, Latitudes::default().to_json());
    assert!(d.rotated_session && d.rotated_token);
    assert_eq!(d.tokenless_handshake, 403);
    let offer_caps = d.offer["chat"]["capabilities"].as_array().unwrap();
    assert!(!offer_caps.iter().any(|c| c == "AttachUserData"), "{offer_caps:?}");
    assert!(d.chatting_capabilities.iter().any(|c| c == "UploadFile"));
    assert_eq!(participants(&d.offer["chat"]), ["Customer"]);
    assert!(d.agent_transcript.iter().all(|m| m["type"] != "Notice"));
    assert_eq!(d.customer_first, d.customer_second, "without index, the whole transcript each time");
    assert!(d.customer_first.iter().all(|m| m.get("visibility").is_some() && m.get("timestamp").is_some()));
    assert_eq!(d.unknown_queue["statusCode"], 6);
    assert_eq!(d.second_consult, 2);
    assert_eq!(d.wrong_type, (400, 10));
    assert_eq!(d.removal_type, "PropertiesUpdated");
    let timestamp = d.agent_transcript[0]["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.as_bytes()[10], b'T', "{timestamp}");
    assert_eq!(d.batch_sizes.len(), 1, "all in one answer: {:?}", d.batch_sizes);
    assert_eq!(d.offer_answer.last().unwrap()["channel"], "/meta/connect", "events before the reply");
    assert!(d.offer_answer.iter().filter(|m| m["channel"] == "/v2/me/chats").all(|m| m.get("id").is_none()));
    assert!(d.accept_response["referenceId"].is_u64());
    assert!(d.offer["chat"]["id"].as_str().unwrap().starts_with("0001"));
    assert!(d.offer["chat"].get("mediaType").is_none());
    assert_eq!(d.routed_to, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_other_alternative_changes_what_is_served() {
    let s = observe(pinned("login-rotation=keep")).await;
    assert!(!s.rotated_session && !s.rotated_token);
    assert_eq!(observe(pinned("csrf-cometd=not-enforced")).await.tokenless_handshake, 200);

    let s = observe(pinned("invited-userdata-capabilities=with")).await;
    let caps = s.offer["chat"]["capabilities"].as_array().unwrap();
    assert!(caps.iter().any(|c| c == "Accept") && caps.iter().any(|c| c == "AttachUserData"), "{caps:?}");

    let s = observe(pinned("attachment-capabilities=absent")).await;
    assert!(!s.chatting_capabilities.iter().any(|c| c.contains("Attachment") || c.contains("File")));
    assert_eq!(s.removal_type, "PropertiesUpdated", "the operations still work");

    let s = observe(pinned("external-bot=joins-after-customer")).await;
    assert_eq!(participants(&s.offer["chat"]), ["Customer", "External"]);
    assert!(s.agent_transcript.iter().any(|m| m["type"] == "Notice" && m["from"]["type"] == "External"));
    assert!(s.customer_first.iter().any(|m| m["type"] == "Notice" && m["visibility"] == "All"));
    assert!(participants(&s.customer_view["chat"]).contains(&"External"));

    let s = observe(pinned("customer-messages-get=incremental")).await;
    assert!(!s.customer_first.is_empty() && s.customer_second.is_empty(), "{:?}", s.customer_second);

    let s = observe(pinned("async-failure=accepted-then-error-notification")).await;
    assert_eq!(s.unknown_queue["statusCode"], 0);
    let reference = &s.unknown_queue["referenceId"];
    assert!(
        s.unknown_queue_events.iter().any(|e| e["notificationType"] == "Error" && &e["referenceId"] == reference),
        "{:?}",
        s.unknown_queue_events
    );

    assert_eq!(observe(pinned("second-consult-code=19")).await.second_consult, 19);
    assert_eq!(observe(pinned("wrong-type-code=1")).await.wrong_type, (400, 1));
    assert_eq!(observe(pinned("error-http-status=200")).await.wrong_type, (200, 10));
    assert_eq!(observe(pinned("removal-notification-type=attachment-removed")).await.removal_type, "AttachmentRemoved");

    let s = observe(pinned("customer-visibility=without")).await;
    assert!(s.customer_first.iter().all(|m| m.get("visibility").is_none()));
    assert!(s.agent_transcript.iter().all(|m| m.get("visibility").is_some()));
    let s = observe(pinned("customer-time-field=utc-time")).await;
    assert!(s.customer_first.iter().all(|m| m["utcTime"].is_i64() && m.get("timestamp").is_none()));

    let s = observe(pinned("timestamp-form=message-space")).await;
    assert_eq!(s.agent_transcript[0]["timestamp"].as_str().unwrap().as_bytes()[10], b' ');
    assert!(s.offer["chat"]["receivedDate"].as_str().unwrap().contains('T'));

    let s = observe(pinned("bayeux-batching=one-per-reply")).await;
    assert!(s.batch_sizes.len() >= 3 && s.batch_sizes.iter().all(|n| *n == 1), "{:?}", s.batch_sizes);
    let s = observe(pinned("bayeux-batching=two-per-reply")).await;
    assert!(s.batch_sizes.iter().all(|n| *n <= 2) && s.batch_sizes.contains(&2), "{:?}", s.batch_sizes);
    let s = observe(pinned("event-order=after-reply")).await;
    assert_eq!(s.offer_answer[0]["channel"], "/meta/connect");
    let s = observe(pinned("event-ids=present")).await;
    assert!(s.offer_answer.iter().filter(|m| m["channel"] == "/v2/me/chats").all(|m| m["id"].is_string()));

    let s = observe(pinned("reference-id-in-response=documented-pages-only")).await;
    assert!(s.accept_response.get("referenceId").is_none(), "{}", s.accept_response);

    let s = observe(pinned("id-format=long")).await;
    let chat_id = s.offer["chat"]["id"].as_str().unwrap();
    assert!(chat_id.starts_with("00") && !chat_id.starts_with("0001") && chat_id != s.customer_id, "{chat_id}");
    assert!(s.customer_id.len() == 32 && !s.customer_id.contains('-'));

    let s = observe(pinned("extra-fields=everywhere")).await;
    assert_eq!(s.offer["chat"]["mediaType"], "chat");
    assert!(s.accept_response.get("serverVersion").is_some());
    assert!(s.offer.get("serverTime").is_some());

    assert_eq!(observe(pinned("routing=highest-numbered")).await.routed_to, 3);
}

#[test]
fn capacity_one_more_adds_a_chat_per_agent() {
    let config = SimConfig { latitudes: pinned("capacity=one-more"), ..SimConfig::default() };
    assert_eq!(config.effective_capacity(), config.capacity + 1);
    assert_eq!(SimConfig::default().effective_capacity(), SimConfig::default().capacity);
}
