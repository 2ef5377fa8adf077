//! The reference simulator over real loopback sockets: authentication and CSRF, the agent chat
//! flow and its notifications, routing and capacity, the customer side, the CometD server, and
//! the injected faults.

use std::time::{Duration, Instant};

use chatprobe::sim::{Faults, RunningSim, SimConfig, SimHandle, SimStats};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::start;

/// Longest any single wait in these tests may take.
const DEADLINE: Duration = Duration::from_secs(10);

fn small() -> SimConfig {
    SimConfig { agents: 4, cometd_timeout: Duration::from_secs(2), ..SimConfig::default() }
}

fn http() -> Client {
    crate::support::http(DEADLINE)
}

/// Poll the simulator's counts until `ready` holds, within the deadline.
async fn wait_for(handle: &SimHandle, what: &str, ready: impl Fn(&SimStats) -> bool) {
    let start = Instant::now();
    loop {
        let stats = handle.stats();
        if ready(&stats) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}: {stats:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// One POST to the CometD endpoint.
async fn bayeux(http: &Client, base: &str, csrf: &str, messages: Value) -> Vec<Value> {
    let response = http
        .post(format!("{base}/api/v2/notifications"))
        .header("X-CSRF-TOKEN", csrf)
        .json(&messages)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    match response.json::<Value>().await.unwrap() {
        Value::Array(replies) => replies,
        other => panic!("not an array: {other}"),
    }
}

/// A held (or immediate) connect; returns everything the answer carried.
async fn connect(http: Client, base: String, csrf: String, client_id: String, advice: Option<Value>) -> Vec<Value> {
    let mut message =
        json!({"id": "c", "channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"});
    if let Some(advice) = advice {
        message["advice"] = advice;
    }
    bayeux(&http, &base, &csrf, json!([message])).await
}

fn meta<'a>(replies: &'a [Value], channel: &str) -> &'a Value {
    replies
        .iter()
        .find(|r| r["channel"] == channel && r.get("successful").is_some())
        .unwrap_or_else(|| panic!("no {channel} reply in {replies:?}"))
}

/// The `data` of every event in a Bayeux answer.
fn events(replies: &[Value]) -> Vec<Value> {
    replies.iter().filter(|r| r.get("data").is_some()).map(|r| r["data"].clone()).collect()
}

struct Agent {
    http: Client,
    base: String,
    csrf: String,
    client_id: String,
}

impl Agent {
    /// GET /api/v2/me with Basic credentials; keeps the cookie and the CSRF token.
    async fn login(sim: &RunningSim, n: usize) -> Agent {
        let http = http();
        let base = sim.base_url();
        let response = http
            .get(format!("{base}/api/v2/me"))
            .basic_auth(format!("agent{n}"), Some("password"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let csrf = response.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
        Agent { http, base, csrf, client_id: String::new() }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).header("X-CSRF-TOKEN", &self.csrf).json(&body);
        answer(request.send().await.unwrap()).await
    }

    async fn op(&self, chat: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v2/me/chats/{chat}"), body).await
    }

    /// Handshake and subscribe to `/v2/me/chats` and `/v2/me/channels`.
    async fn handshake(&mut self) {
        let hs = json!([{"id": "1", "channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]);
        let replies = bayeux(&self.http, &self.base, &self.csrf, hs).await;
        let reply = meta(&replies, "/meta/handshake");
        assert_eq!(reply["successful"], true, "{reply}");
        assert_eq!(reply["id"], "1");
        assert_eq!(reply["advice"]["reconnect"], "retry");
        self.client_id = reply["clientId"].as_str().unwrap().to_owned();
        let sub = json!([{"id": "2", "channel": "/meta/subscribe", "clientId": self.client_id, "subscription": ["/v2/me/chats", "/v2/me/channels"]}]);
        let replies = bayeux(&self.http, &self.base, &self.csrf, sub).await;
        let reply = meta(&replies, "/meta/subscribe");
        assert_eq!(reply["successful"], true, "{reply}");
        assert_eq!(reply["subscription"], json!(["/v2/me/chats", "/v2/me/channels"]));
    }

    /// Handshake, StartContactCenterSession and Ready.
    async fn ready(sim: &RunningSim, n: usize) -> Agent {
        let mut agent = Agent::login(sim, n).await;
        agent.handshake().await;
        let (status, body) =
            agent.post("/api/v2/me", json!({"operationName": "StartContactCenterSession", "channels": ["chat"]})).await;
        assert_eq!((status, &body["statusCode"]), (StatusCode::OK, &json!(0)), "{body}");
        let (_, body) = agent.post("/api/v2/me/channels/chat", json!({"operationName": "Ready"})).await;
        assert_eq!(body["statusCode"], 0, "{body}");
        agent
    }

    fn connect(&self, advice: Option<Value>) -> impl Future<Output = Vec<Value>> + use<> {
        connect(self.http.clone(), self.base.clone(), self.csrf.clone(), self.client_id.clone(), advice)
    }

    /// Connect until at least `n` events on `/v2/me/chats` arrived; returns their data.
    async fn chat_events(&self, n: usize) -> Vec<Value> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < n {
            assert!(start.elapsed() < DEADLINE, "only {} of {n} events: {got:#?}", got.len());
            let replies = self.connect(None).await;
            assert_eq!(meta(&replies, "/meta/connect")["successful"], true, "{replies:?}");
            got.extend(replies.iter().filter(|r| r["channel"] == "/v2/me/chats").map(|r| r["data"].clone()));
        }
        got
    }

    /// The next offer: the agent-side chat id.
    async fn invited(&self) -> String {
        let offer = self.chat_events(1).await.remove(0);
        assert_eq!(offer["notificationType"], "StatusChange", "{offer}");
        assert_eq!(offer["chat"]["state"], "Invited", "{offer}");
        offer["chat"]["id"].as_str().unwrap().to_owned()
    }
}

struct Customer {
    http: Client,
    base: String,
}

impl Customer {
    fn new(sim: &RunningSim) -> Customer {
        Customer { http: http(), base: sim.base_url() }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base)).header("ContactCenterId", "it").send().await.unwrap())
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        answer(
            self.http
                .post(format!("{}{path}", self.base))
                .header("ContactCenterId", "it")
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// RequestChat; the customer-side id.
    async fn request_chat(&self, nickname: &str) -> String {
        let body = json!({"operationName": "RequestChat", "nickname": nickname, "subject": "Help", "userData": {"Tag": nickname}});
        let (status, body) = self.post("/api/v2/chats", body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["statusCode"], 0);
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(body["path"], format!("/api/v2/chats/{id}"));
        id
    }

    async fn say(&self, chat: &str, text: &str) -> (StatusCode, Value) {
        self.post(&format!("/api/v2/chats/{chat}"), json!({"operationName": "SendMessage", "text": text})).await
    }
}

fn indices(messages: &Value) -> Vec<u64> {
    messages.as_array().unwrap().iter().map(|m| m["index"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn version_needs_no_credentials() {
    let sim = start(small()).await;
    let (status, body) =
        answer(http().get(format!("{}/api/v2/diagnostics/version", sim.base_url())).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"statusCode": 0, "version": "8.5.200.50"}));
    sim.shutdown().await;
}

/// `--work`: every request takes the work time before it is handled, but the CometD transport,
/// whose connects wait for notifications: a handshake sent while a version request is being
/// worked on is answered first.
#[tokio::test]
async fn work_delays_every_request_but_the_cometd_transport() {
    let work = Duration::from_secs(3);
    let sim = start(SimConfig { work, ..small() }).await;
    let base = sim.base_url();
    let started = Instant::now();
    let version = tokio::spawn(http().get(format!("{base}/api/v2/diagnostics/version")).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let handshake =
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}]);
    http().post(format!("{base}/api/v2/notifications")).json(&handshake).send().await.unwrap();
    assert!(!version.is_finished(), "the version request was answered before the handshake");
    let (status, body) = answer(version.await.unwrap().unwrap()).await;
    assert_eq!((status, body["version"].as_str()), (StatusCode::OK, Some("8.5.200.50")));
    assert!(started.elapsed() >= work, "answered after {:?}, before the work time", started.elapsed());
    sim.shutdown().await;
}

#[tokio::test]
async fn unauthenticated_requests_get_401_with_status_code_20() {
    let sim = start(small()).await;
    let me = format!("{}/api/v2/me", sim.base_url());
    for request in [
        http().get(&me),
        http().get(&me).basic_auth("agent1", Some("wrong")),
        http().get(&me).basic_auth("agent9", Some("password")),
    ] {
        let (status, body) = answer(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["statusCode"], 20);
        assert_eq!(body["statusMessage"], "Access denied: user not authenticated");
        assert_eq!(body.as_object().unwrap().len(), 2);
    }
    assert_eq!(sim.handle.stats().http_sessions, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn basic_auth_opens_a_session_with_csrf_headers() {
    let sim = start(small()).await;
    let http = http();
    let response =
        http.get(format!("{}/api/v2/me", sim.base_url())).basic_auth("agent2", Some("password")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("JSESSIONID=") && cookie.contains("Path=/") && cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(response.headers()["X-CSRF-HEADER"], "X-CSRF-TOKEN");
    let token = response.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&token).is_ok(), "{token}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusCode"], 0);
    let user = &body["user"];
    assert_eq!(user["userName"], "agent2");
    assert_eq!(user["roles"], json!(["ROLE_AGENT"]));
    assert_eq!(user["path"], format!("/users/{}", user["id"].as_str().unwrap()));

    // The cookie alone authenticates from now on, with the same token and no new session.
    let again = http.get(format!("{}/api/v2/me", sim.base_url())).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers().get("set-cookie").is_none());
    assert_eq!(again.headers()["X-CSRF-TOKEN"].to_str().unwrap(), token);
    assert_eq!(sim.handle.stats().http_sessions, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn writes_without_the_csrf_token_are_refused_and_change_nothing() {
    let sim = start(small()).await;
    let agent = Agent::login(&sim, 1).await;
    let start_session = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
    let me = format!("{}/api/v2/me", agent.base);
    let refusals = [
        agent.http.post(&me).json(&start_session),
        agent.http.post(&me).header("X-CSRF-TOKEN", "not-the-token").json(&start_session),
        // Valid credentials and token but no session cookie.
        http()
            .post(&me)
            .basic_auth("agent1", Some("password"))
            .header("X-CSRF-TOKEN", &agent.csrf)
            .json(&start_session),
    ];
    for request in refusals {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert_eq!(response.text().await.unwrap(), "Missing or invalid Csrf token");
    }
    // The session was not started: Ready is refused with statusCode 2.
    let (status, body) = agent.post("/api/v2/me/channels/chat", json!({"operationName": "Ready"})).await;
    assert_eq!((status, body["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(2)), "{body}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_agent_flow_with_notifications_on_a_held_connect() {
    let sim = start(small()).await;
    let agent = Agent::ready(&sim, 1).await;
    // The Ready state was pushed on /v2/me/channels.
    let replies = agent.connect(Some(json!({"timeout": 0}))).await;
    let channels = events(&replies);
    assert_eq!(channels.len(), 1, "{replies:?}");
    assert_eq!(channels[0]["channels"][0]["channel"], "chat");
    assert_eq!(channels[0]["channels"][0]["userState"]["state"], "Ready");

    // A connect is held; the customer's chat arrives in that connect's answer.
    let held = tokio::spawn(agent.connect(None));
    wait_for(&sim.handle, "a held connect", |s| s.held_connects == 1).await;
    let customer = Customer::new(&sim);
    let customer_chat = customer.request_chat("PersonP").await;
    let replies = held.await.unwrap();
    assert_eq!(replies.last().unwrap()["channel"], "/meta/connect", "events come before the connect reply");
    assert_eq!(replies.last().unwrap()["successful"], true);
    let offer = &events(&replies)[0];
    assert_eq!(offer["messageType"], "ChatStateChangeMessage");
    assert_eq!(offer["notificationType"], "StatusChange");
    assert!(offer.get("referenceId").is_none());
    let chat = &offer["chat"];
    assert_eq!(chat["state"], "Invited");
    assert_eq!(chat["capabilities"], json!(["Accept", "Reject"]));
    assert_eq!(chat["participants"].as_array().unwrap().len(), 1);
    assert_eq!(chat["participants"][0]["type"], "Customer");
    assert_eq!(chat["userData"], json!({"Tag": "PersonP", "Subject": "Help"}));
    assert_eq!(chat["interactionQueue"], "default");
    assert_eq!(chat["chatType"], "Inbound");
    let chat_id = chat["id"].as_str().unwrap().to_owned();
    assert_eq!(chat_id.len(), 16);
    assert_ne!(chat_id, customer_chat, "the customer's id is not the agent's");
    assert_eq!(chat["path"], format!("/chats/{chat_id}"));
    assert_eq!(chat["uri"], format!("{}/api/v2/chats/{chat_id}", sim.base_url()));

    let (_, waiting) = customer.get(&format!("/api/v2/chats/{customer_chat}")).await;
    assert_eq!(waiting["chat"]["state"], "WaitingForAgent");
    let (_, listed) = agent.get("/api/v2/me/chats?fields=*").await;
    assert_eq!(listed["chats"][0]["id"], chat_id.as_str());
    assert_eq!(listed["chats"][0]["state"], "Invited");

    // Accept: StatusChange, ParticipantsUpdated, then the whole transcript, all with the referenceId.
    let (status, accepted) = agent.op(&chat_id, json!({"operationName": "Accept", "nickname": "Agent One"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(accepted["statusCode"], 0);
    let reference = accepted["referenceId"].as_u64().unwrap();
    let notes = agent.chat_events(3).await;
    assert_eq!(notes.len(), 3, "{notes:#?}");
    assert!(notes.iter().all(|n| n["referenceId"] == reference), "{notes:#?}");
    assert_eq!(notes[0]["notificationType"], "StatusChange");
    assert_eq!(notes[0]["chat"]["state"], "Chatting");
    assert!(notes[0]["chat"]["capabilities"].as_array().unwrap().contains(&json!("SendMessage")));
    assert_eq!(notes[1]["notificationType"], "ParticipantsUpdated");
    let agent_participant =
        notes[1]["chat"]["participants"].as_array().unwrap().iter().find(|p| p["type"] == "Agent").unwrap().clone();
    assert_eq!(agent_participant["nickname"], "Agent One");
    assert!(agent_participant["path"].as_str().unwrap().starts_with("/users/"));
    assert_eq!(notes[2]["messageType"], "MessageLogUpdated");
    assert_eq!(notes[2]["notificationType"], "NewMessages");
    assert_eq!(notes[2]["chatPath"], format!("/chats/{chat_id}"));
    assert_eq!(indices(&notes[2]["messages"]), vec![1, 2]);
    assert_eq!(notes[2]["messages"][0]["type"], "ParticipantJoined");
    assert_eq!(notes[2]["messages"][0]["from"]["type"], "Customer");
    assert_eq!(notes[2]["messages"][1]["from"]["nickname"], "Agent One");
    let stamp = notes[2]["messages"][0]["timestamp"].as_str().unwrap();
    assert_eq!((stamp.len(), &stamp[10..11]), (28, "T"), "{stamp}");
    assert!(notes[2]["messages"][0]["timestampSeconds"].as_i64().unwrap() > 1_600_000_000_000);
    let (_, seen) = customer.get(&format!("/api/v2/chats/{customer_chat}")).await;
    assert_eq!(seen["chat"]["state"], "Chatting");
    assert_eq!(seen["chat"]["participants"].as_array().unwrap().len(), 2);

    // Messages both ways, indices increasing without gaps.
    let (_, sent) = agent.op(&chat_id, json!({"operationName": "SendMessage", "text": "Hello"})).await;
    let sent_ref = sent["referenceId"].as_u64().unwrap();
    assert!(sent_ref > reference);
    let note = agent.chat_events(1).await.remove(0);
    assert_eq!(note["referenceId"], sent_ref);
    assert_eq!(note["messages"][0]["text"], "Hello");
    assert_eq!(note["messages"][0]["index"], 3);
    let (status, body) = customer.say(&customer_chat, "Hi there").await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({"statusCode": 0})));
    let note = agent.chat_events(1).await.remove(0);
    assert!(note.get("referenceId").is_none());
    assert_eq!(
        (note["messages"][0]["index"].as_u64(), &note["messages"][0]["from"]["type"]),
        (Some(4), &json!("Customer"))
    );
    let (_, typing) = agent.op(&chat_id, json!({"operationName": "SendStartTypingNotification"})).await;
    let note = agent.chat_events(1).await.remove(0);
    assert_eq!((&note["messages"][0]["type"], &note["referenceId"]), (&json!("TypingStarted"), &typing["referenceId"]));

    // Paging: agent startIndex/count, customer index.
    let (_, page) = agent.get(&format!("/api/v2/me/chats/{chat_id}/messages?startIndex=2&count=2")).await;
    assert_eq!(indices(&page["messages"]), vec![2, 3]);
    let (_, all) = agent.get(&format!("/api/v2/me/chats/{chat_id}/messages")).await;
    assert_eq!(indices(&all["messages"]), vec![1, 2, 3, 4, 5]);
    let (_, past) = agent.get(&format!("/api/v2/me/chats/{chat_id}/messages?startIndex=99&count=5")).await;
    assert_eq!(past, json!({"statusCode": 0, "messages": []}));
    let (_, theirs) = customer.get(&format!("/api/v2/chats/{customer_chat}/messages?index=3")).await;
    assert_eq!(indices(&theirs["messages"]), vec![3, 4, 5]);
    assert_eq!(theirs["messages"][0], all["messages"][2], "both sides see the same message");

    // Complete: Completed with no capabilities; the customer's chat goes Idle.
    let (_, done) = agent.op(&chat_id, json!({"operationName": "Complete"})).await;
    let note = agent.chat_events(1).await.remove(0);
    assert_eq!(note["referenceId"], done["referenceId"]);
    assert_eq!((&note["chat"]["state"], &note["chat"]["capabilities"]), (&json!("Completed"), &json!([])));
    let (_, idle) = customer.get(&format!("/api/v2/chats/{customer_chat}")).await;
    assert_eq!((&idle["chat"]["state"], &idle["chat"]["capabilities"]), (&json!("Idle"), &json!([])));
    let (_, last) = customer.get(&format!("/api/v2/chats/{customer_chat}/messages?index=6")).await;
    assert_eq!(
        (&last["messages"][0]["type"], &last["messages"][0]["from"]["type"]),
        (&json!("ParticipantLeft"), &json!("Agent"))
    );
    let (status, late) = customer.say(&customer_chat, "still there?").await;
    assert_eq!((status, late["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(2)));
    let (status, refused) = agent.op(&chat_id, json!({"operationName": "SendMessage", "text": "too late"})).await;
    assert_eq!((status, refused["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(2)));
    let (_, listed) = agent.get("/api/v2/me/chats").await;
    assert_eq!(listed["chats"], json!([]));
    assert_eq!(sim.handle.stats().chats_created, 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_then_complete_and_customer_complete() {
    let sim = start(small()).await;
    let agent = Agent::ready(&sim, 1).await;
    let customer = Customer::new(&sim);
    let first = customer.request_chat("A").await;
    let chat = agent.invited().await;
    agent.op(&chat, json!({"operationName": "Accept"})).await;
    agent.chat_events(3).await;
    let (_, left) = agent.op(&chat, json!({"operationName": "Leave"})).await;
    let note = agent.chat_events(1).await.remove(0);
    assert_eq!((&note["chat"]["state"], &note["referenceId"]), (&json!("LeftChat"), &left["referenceId"]));
    assert_eq!(
        note["chat"]["capabilities"],
        json!(chatprobe::api::capabilities_in(chatprobe::api::ChatState::LeftChat))
    );
    assert!(note["chat"]["capabilities"].as_array().unwrap().contains(&json!("Complete")));
    let (_, theirs) = customer.get(&format!("/api/v2/chats/{first}/messages")).await;
    let last = theirs["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["type"], &last["from"]["type"], &last["from"]["nickname"]),
        (&json!("ParticipantLeft"), &json!("Agent"), &json!("agent1"))
    );
    let (_, listed) = agent.get("/api/v2/me/chats").await;
    assert_eq!(listed["chats"][0]["state"], "LeftChat");
    agent.op(&chat, json!({"operationName": "Complete"})).await;
    assert_eq!(agent.chat_events(1).await[0]["chat"]["state"], "Completed");

    // The customer ends a second chat: the agent sees the customer leave and must still Complete.
    let second = customer.request_chat("B").await;
    let chat = agent.invited().await;
    agent.op(&chat, json!({"operationName": "Accept"})).await;
    agent.chat_events(3).await;
    let (status, _) = customer.post(&format!("/api/v2/chats/{second}"), json!({"operationName": "Complete"})).await;
    assert_eq!(status, StatusCode::OK);
    let note = agent.chat_events(1).await.remove(0);
    assert_eq!(
        (&note["messages"][0]["type"], &note["messages"][0]["from"]["type"]),
        (&json!("ParticipantLeft"), &json!("Customer"))
    );
    let (_, listed) = agent.get("/api/v2/me/chats").await;
    assert_eq!(listed["chats"][0]["state"], "Chatting");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_reoffers_the_chat_to_another_agent() {
    let sim = start(small()).await;
    let first = Agent::ready(&sim, 1).await;
    let customer = Customer::new(&sim);
    let customer_chat = customer.request_chat("PersonP").await;
    let chat = first.invited().await;
    let second = Agent::ready(&sim, 2).await;
    let (status, rejected) = first.op(&chat, json!({"operationName": "Reject"})).await;
    assert_eq!((status, &rejected["statusCode"]), (StatusCode::OK, &json!(0)));
    let note = first.chat_events(1).await.remove(0);
    assert_eq!(note["referenceId"], rejected["referenceId"]);
    assert_eq!(note["chat"]["state"], "Completed");
    assert_eq!((&note["chat"]["participants"], &note["chat"]["capabilities"]), (&json!([]), &json!([])));
    assert_eq!(second.invited().await, chat, "the same chat is offered to the second agent");
    let (_, listed) = first.get("/api/v2/me/chats").await;
    assert_eq!(listed["chats"], json!([]));
    // The rejecting agent may not act on it any more; the second may.
    let (status, body) = first.op(&chat, json!({"operationName": "Accept"})).await;
    assert_eq!((status, body["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(2)));
    let (_, body) = second.op(&chat, json!({"operationName": "Accept"})).await;
    assert_eq!(body["statusCode"], 0);
    let (_, seen) = customer.get(&format!("/api/v2/chats/{customer_chat}")).await;
    assert_eq!(seen["chat"]["state"], "Chatting");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_is_respected_and_the_extra_chat_waits() {
    let sim = start(SimConfig { capacity: 2, ..small() }).await;
    let agent = Agent::ready(&sim, 1).await;
    let customer = Customer::new(&sim);
    let mut customer_chats = Vec::new();
    for n in 0..3 {
        customer_chats.push(customer.request_chat(&format!("P{n}")).await);
    }
    let offers = agent.chat_events(2).await;
    assert_eq!(offers.len(), 2, "{offers:#?}");
    assert_eq!(sim.handle.stats().chats_waiting, 1);
    let (_, third) = customer.get(&format!("/api/v2/chats/{}", customer_chats[2])).await;
    assert_eq!(third["chat"]["state"], "WaitingForAgent");
    let (_, listed) = agent.get("/api/v2/me/chats").await;
    assert_eq!(listed["chats"].as_array().unwrap().len(), 2);

    // Completing one frees a place: the waiting chat is offered.
    let chat = offers[0]["chat"]["id"].as_str().unwrap().to_owned();
    agent.op(&chat, json!({"operationName": "Accept"})).await;
    agent.chat_events(3).await;
    agent.op(&chat, json!({"operationName": "Complete"})).await;
    let notes = agent.chat_events(2).await;
    assert_eq!(notes[0]["chat"]["state"], "Completed");
    assert_eq!(notes[1]["chat"]["state"], "Invited");
    assert_eq!(notes[1]["chat"]["userData"]["Tag"], "P2");
    assert_eq!(sim.handle.stats().chats_waiting, 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_go_to_the_least_loaded_agent() {
    let sim = start(small()).await;
    let one = Agent::ready(&sim, 1).await;
    let two = Agent::ready(&sim, 2).await;
    let customer = Customer::new(&sim);
    for n in 0..4 {
        customer.request_chat(&format!("P{n}")).await;
    }
    assert_eq!(one.chat_events(2).await.len(), 2);
    assert_eq!(two.chat_events(2).await.len(), 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_errors_change_nothing() {
    let sim = start(small()).await;
    let agent = Agent::ready(&sim, 1).await;
    let other = Agent::ready(&sim, 2).await;
    let customer = Customer::new(&sim);
    customer.request_chat("P").await;
    let chat = agent.invited().await;
    let cases = [
        (json!({"text": "no name"}), StatusCode::BAD_REQUEST, 1),
        (json!({"operationName": "Dance"}), StatusCode::BAD_REQUEST, 1),
        (json!({"operationName": "SendMessage"}), StatusCode::BAD_REQUEST, 1),
        (json!({"operationName": "SendMessage", "text": "not yet"}), StatusCode::BAD_REQUEST, 2),
        (json!({"operationName": "Leave"}), StatusCode::BAD_REQUEST, 2),
    ];
    for (body, status, code) in cases {
        let (got, reply) = agent.op(&chat, body.clone()).await;
        assert_eq!((got, reply["statusCode"].as_i64()), (status, Some(code)), "{body} -> {reply}");
        assert!(reply["statusMessage"].is_string());
        assert_eq!(reply.as_object().unwrap().len(), 2, "{reply}");
    }
    let (status, reply) = other.op(&chat, json!({"operationName": "Accept"})).await;
    assert_eq!((status, reply["statusCode"].as_i64()), (StatusCode::NOT_FOUND, Some(6)));
    let (status, reply) = other.get(&format!("/api/v2/me/chats/{chat}/messages")).await;
    assert_eq!((status, reply["statusCode"].as_i64()), (StatusCode::NOT_FOUND, Some(6)));
    let (status, reply) = agent.op("0001NoSuchChat00", json!({"operationName": "Accept"})).await;
    assert_eq!((status, reply["statusCode"].as_i64()), (StatusCode::NOT_FOUND, Some(6)));
    let raw = agent
        .http
        .post(format!("{}/api/v2/me/chats/{chat}", agent.base))
        .header("X-CSRF-TOKEN", &agent.csrf)
        .body("{not json");
    let (status, reply) = answer(raw.send().await.unwrap()).await;
    assert_eq!((status, reply["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(1)));

    // Nothing happened: still Invited, no notification beyond the offer.
    let (_, listed) = agent.get("/api/v2/me/chats").await;
    assert_eq!(listed["chats"][0]["state"], "Invited");
    let replies = agent.connect(Some(json!({"timeout": 0}))).await;
    assert!(events(&replies).is_empty(), "{replies:?}");
    // Failed operations took no referenceId.
    let (_, accepted) = agent.op(&chat, json!({"operationName": "Accept"})).await;
    assert_eq!(accepted["referenceId"], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn customer_requests_need_the_contact_center_id() {
    let sim = start(small()).await;
    let body = json!({"operationName": "RequestChat", "nickname": "P"});
    let (status, reply) =
        answer(http().post(format!("{}/api/v2/chats/", sim.base_url())).json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reply, json!({"statusCode": 1, "statusMessage": "ContactCenterId header is missing"}));
    let customer = Customer::new(&sim);
    let (status, reply) = customer.get("/api/v2/chats/5a170000-0000-4000-8000-000000000000").await;
    assert_eq!((status, reply["statusCode"].as_i64()), (StatusCode::NOT_FOUND, Some(6)));
    let (status, reply) = customer.post("/api/v2/chats", json!({"operationName": "RequestChat"})).await;
    assert_eq!((status, reply["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(1)));
    assert_eq!(sim.handle.stats().chats_created, 0);
    let id = customer.request_chat("P").await;
    let (_, chat) = customer.get(&format!("/api/v2/chats/{id}")).await;
    assert_eq!(
        chat["chat"]["capabilities"],
        json!(["SendMessage", "SendStartTypingNotification", "SendStopTypingNotification", "Complete"])
    );
    assert_eq!(
        chat["chat"]["participants"],
        json!([{"nickname": "P", "participantId": chat["chat"]["participants"][0]["participantId"], "type": "Customer"}])
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_forgotten_clients_get_402_with_handshake_advice() {
    let sim = start(small()).await;
    let mut agent = Agent::login(&sim, 1).await;
    agent.handshake().await;
    let check_402 = |replies: &[Value], channel: &str| {
        let reply = meta(replies, channel);
        assert_eq!(reply["successful"], false);
        assert_eq!(reply["error"], "402::Unknown client");
        assert_eq!(reply["advice"], json!({"reconnect": "handshake", "interval": 0}));
    };
    let replies =
        connect(agent.http.clone(), agent.base.clone(), agent.csrf.clone(), "nosuchclient".into(), None).await;
    check_402(&replies, "/meta/connect");
    assert_eq!(meta(&replies, "/meta/connect")["id"], "c");

    // A held connect is answered with 402 when the server forgets its client (the first connect
    // of a session is answered at once; the second is held).
    agent.connect(None).await;
    let held = tokio::spawn(agent.connect(None));
    wait_for(&sim.handle, "a held connect", |s| s.held_connects == 1).await;
    sim.handle.forget_bayeux_clients();
    check_402(&held.await.unwrap(), "/meta/connect");
    assert_eq!(sim.handle.stats().bayeux_clients, 0);
    check_402(&agent.connect(None).await, "/meta/connect");
    let sub =
        json!([{"id": "9", "channel": "/meta/subscribe", "clientId": agent.client_id, "subscription": "/v2/me/chats"}]);
    check_402(&bayeux(&agent.http, &agent.base, &agent.csrf, sub).await, "/meta/subscribe");

    // Handshaking again works.
    agent.handshake().await;
    assert_eq!(sim.handle.stats().bayeux_clients, 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connect_answers_the_first() {
    let sim = start(small()).await;
    let agent = Agent::ready(&sim, 1).await;
    agent.connect(Some(json!({"timeout": 0}))).await;
    let first = tokio::spawn(agent.connect(None));
    wait_for(&sim.handle, "the first connect held", |s| s.held_connects == 1).await;
    let second = tokio::spawn(agent.connect(None));
    let replies = first.await.unwrap();
    assert_eq!(replies.len(), 1, "answered with no events: {replies:?}");
    assert_eq!(replies[0]["successful"], true);
    wait_for(&sim.handle, "the second connect held", |s| s.held_connects == 1).await;
    Customer::new(&sim).request_chat("P").await;
    let replies = second.await.unwrap();
    assert_eq!(events(&replies)[0]["chat"]["state"], "Invited");
    sim.shutdown().await;
}

#[tokio::test]
async fn bayeux_protocol_edges() {
    let sim = start(small()).await;
    let base = sim.base_url();
    // An anonymous session (handed out with the 401) and its token: the handshake passes the
    // CSRF check but is refused for good.
    let anonymous = http();
    let refused = anonymous.get(format!("{base}/api/v2/me")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let anonymous_token = refused.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned();
    let hs =
        json!({"id": 7, "channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]});
    let replies = bayeux(&anonymous, &base, &anonymous_token, hs.clone()).await;
    assert_eq!(replies[0]["id"], 7, "a bare object is accepted and a numeric id echoed");
    assert_eq!((&replies[0]["successful"], &replies[0]["error"]), (&json!(false), &json!("403::Unauthorized")));
    assert_eq!(replies[0]["advice"]["reconnect"], "none");

    let mut agent = Agent::login(&sim, 1).await;
    let pigeon =
        json!([{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["carrier-pigeon"]}]);
    let replies = bayeux(&agent.http, &base, &agent.csrf, pigeon).await;
    assert_eq!(replies[0]["successful"], false);
    assert!(replies[0]["error"].as_str().unwrap().starts_with("301:"));

    // The JS client's sub-paths all lead to the same endpoint.
    let response = agent
        .http
        .post(format!("{base}/api/v2/notifications/handshake"))
        .header("X-CSRF-TOKEN", &agent.csrf)
        .json(&json!([hs]))
        .send()
        .await
        .unwrap();
    let replies: Value = response.json().await.unwrap();
    assert_eq!(replies[0]["successful"], true);
    agent.client_id = replies[0]["clientId"].as_str().unwrap().to_owned();
    assert_eq!(replies[0]["advice"], json!({"reconnect": "retry", "timeout": 2000, "interval": 0}));
    assert_eq!(replies[0]["supportedConnectionTypes"], json!(["long-polling"]));
    let subscribe = |subscription: Value| json!([{"id": "s", "channel": "/meta/subscribe", "clientId": agent.client_id, "subscription": subscription}]);
    let response = agent
        .http
        .post(format!("{base}/api/v2/notifications/"))
        .header("X-CSRF-TOKEN", &agent.csrf)
        .json(&subscribe(json!("/v2/me/*")))
        .send()
        .await
        .unwrap();
    let replies: Value = response.json().await.unwrap();
    assert_eq!((&replies[0]["successful"], &replies[0]["subscription"]), (&json!(true), &json!("/v2/me/*")));
    let missing = json!([{"id": "m", "channel": "/meta/subscribe", "clientId": agent.client_id}]);
    let replies = bayeux(&agent.http, &base, &agent.csrf, missing).await;
    assert_eq!(replies[0]["error"], "403::subscription_missing");
    let replies = bayeux(&agent.http, &base, &agent.csrf, subscribe(json!("/v2/others/chats"))).await;
    assert_eq!(replies[0]["successful"], false);
    assert_eq!(replies[0]["subscription"], "/v2/others/chats");

    // Malformed JSON.
    let response = agent.http.post(format!("{base}/api/v2/notifications")).body("[{\"channel\":").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The wildcard subscription receives /v2/me/channels; a batched connect is answered at once.
    agent.post("/api/v2/me", json!({"operationName": "StartContactCenterSession", "channels": ["chat"]})).await;
    agent.post("/api/v2/me/channels/chat", json!({"operationName": "Ready"})).await;
    let batch = json!([
        {"id": "u", "channel": "/meta/unsubscribe", "clientId": agent.client_id, "subscription": "/v2/me/*"},
        {"id": "k", "channel": "/meta/connect", "clientId": agent.client_id, "connectionType": "long-polling"},
    ]);
    let replies = bayeux(&agent.http, &base, &agent.csrf, batch).await;
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!((&replies[0]["channel"], &replies[0]["successful"]), (&json!("/meta/unsubscribe"), &json!(true)));
    assert_eq!(replies[1]["channel"], "/v2/me/channels");
    assert_eq!((&replies[2]["id"], &replies[2]["successful"]), (&json!("k"), &json!(true)));

    // Disconnect: the client is gone.
    let bye = json!([{"id": "d", "channel": "/meta/disconnect", "clientId": agent.client_id}]);
    let replies = bayeux(&agent.http, &base, &agent.csrf, bye).await;
    assert_eq!((&replies[0]["channel"], &replies[0]["successful"]), (&json!("/meta/disconnect"), &json!(true)));
    assert_eq!(sim.handle.stats().bayeux_clients, 0);
    assert_eq!(meta(&agent.connect(None).await, "/meta/connect")["error"], "402::Unknown client");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_silent_past_max_interval_is_dropped() {
    let cfg = SimConfig { cometd_max_interval: Duration::from_millis(50), ..small() };
    let sim = start(cfg).await;
    let mut agent = Agent::login(&sim, 1).await;
    agent.handshake().await;
    wait_for(&sim.handle, "the client to expire", |s| s.bayeux_clients == 0).await;
    assert_eq!(meta(&agent.connect(None).await, "/meta/connect")["error"], "402::Unknown client");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_held_connects() {
    let sim = start(SimConfig { cometd_timeout: Duration::from_secs(60), ..small() }).await;
    let mut agent = Agent::login(&sim, 1).await;
    agent.handshake().await;
    agent.connect(None).await;
    let held = tokio::spawn(agent.connect(None));
    wait_for(&sim.handle, "a held connect", |s| s.held_connects == 1).await;
    let handle = sim.handle.clone();
    tokio::time::timeout(DEADLINE, sim.shutdown()).await.expect("shutdown is bounded");
    assert_eq!(meta(&held.await.unwrap(), "/meta/connect")["successful"], true);
    assert_eq!(handle.stats().held_connects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_code_as_string_fault_applies_to_chat_operations_only() {
    let sim = start(SimConfig { faults: Faults { status_code_as_string: true, ..Faults::default() }, ..small() }).await;
    let agent = Agent::ready(&sim, 1).await;
    Customer::new(&sim).request_chat("P").await;
    let chat = agent.invited().await;
    let (status, body) = agent.op(&chat, json!({"operationName": "Accept"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["statusCode"], "0");
    assert!(body["referenceId"].is_u64());
    let (status, body) = agent.op(&chat, json!({"operationName": "Accept"})).await;
    assert_eq!((status, &body["statusCode"]), (StatusCode::BAD_REQUEST, &json!("2")));
    let (_, me) = agent.get("/api/v2/me").await;
    assert_eq!(me["statusCode"], 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_connect_is_no_longer_counted_as_held() {
    let sim = start(SimConfig { cometd_timeout: Duration::from_secs(60), ..small() }).await;
    let mut agent = Agent::login(&sim, 1).await;
    agent.handshake().await;
    agent.connect(None).await;
    let message = json!([{"channel": "/meta/connect", "clientId": agent.client_id, "connectionType": "long-polling"}]);
    let request = agent
        .http
        .post(format!("{}/api/v2/notifications", agent.base))
        .header("X-CSRF-TOKEN", &agent.csrf)
        .json(&message);
    let abandoned = tokio::spawn(request.send());
    wait_for(&sim.handle, "a held connect", |s| s.held_connects == 1).await;
    abandoned.abort();
    wait_for(&sim.handle, "the abandoned connect to be let go", |s| s.held_connects == 0).await;
    assert_eq!(sim.handle.stats().bayeux_clients, 1, "the client itself lives on until maxInterval");
    sim.shutdown().await;
}

/// A client that sends no advice `timeout: 0` (aiocometd, for one) still gets its first connect
/// answered at once, with advice, as CometD and Faye servers answer it; its second is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_connect_without_advice_is_answered_at_once() {
    let sim = start(SimConfig { cometd_timeout: Duration::from_secs(60), ..small() }).await;
    let mut agent = Agent::login(&sim, 1).await;
    agent.handshake().await;
    // The guard is far below the 60 s hold: a held first connect fails the test.
    let replies = tokio::time::timeout(DEADLINE, agent.connect(None)).await.expect("the first connect is not held");
    let reply = meta(&replies, "/meta/connect");
    assert_eq!(reply["successful"], true, "{reply}");
    assert_eq!(reply["advice"], json!({"reconnect": "retry", "timeout": 60_000, "interval": 0}));
    let second = tokio::spawn(agent.connect(None));
    wait_for(&sim.handle, "the second connect held", |s| s.held_connects == 1).await;
    sim.shutdown().await;
    assert_eq!(meta(&second.await.unwrap(), "/meta/connect")["successful"], true);
}
