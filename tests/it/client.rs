//! The harness's clients over real loopback sockets: the agent session's CSRF handling and the
//! Bayeux client's notifications and re-handshake against the simulator; hand-made servers for
//! what a conforming simulator never does (events on either side of a reply, bodies that are not
//! JSON, servers that never answer, bodies over the size cap, refusals).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc::UnboundedReceiver, watch};

use chatprobe::api;
use chatprobe::client::{
    AgentSession, BayeuxClient, BayeuxError, BayeuxEvent, BayeuxOptions, ClientConfig, CustomerClient, RawRequest,
    TransportError,
};
use chatprobe::sim::{self, SimConfig};

/// Deadline of any one wait for an event in these tests (a hang fails, it does not block).
const EVENT_DEADLINE: Duration = Duration::from_secs(20);

fn cfg() -> ClientConfig {
    ClientConfig { request_timeout: Duration::from_secs(5), ..ClientConfig::default() }
}

async fn start_sim(agents: usize) -> sim::RunningSim {
    let config = SimConfig { agents, cometd_timeout: Duration::from_secs(1), ..SimConfig::default() };
    sim::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// Serve `router` on a loopback port; the base URL.
async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Events

/// Every event the client sent, as the test saw them.
#[derive(Default)]
struct Seen(Vec<BayeuxEvent>);

impl Seen {
    /// Receive until an event satisfies `pred` (it is kept too); panic past the deadline.
    async fn until(
        &mut self,
        rx: &mut UnboundedReceiver<BayeuxEvent>,
        what: &str,
        pred: impl Fn(&BayeuxEvent) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(ev)) => {
                    let hit = pred(&ev);
                    self.0.push(ev);
                    if hit {
                        return;
                    }
                }
                Ok(None) => panic!("event stream ended before {what}: {:#?}", self.0),
                Err(_) => panic!("no {what} within {EVENT_DEADLINE:?}: {:#?}", self.0),
            }
        }
    }

    async fn until_closed(&mut self, rx: &mut UnboundedReceiver<BayeuxEvent>) {
        self.until(rx, "Closed", |e| matches!(e, BayeuxEvent::Closed)).await;
    }

    fn messages(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().filter_map(|e| match e {
            BayeuxEvent::Message { message, .. } => Some(message),
            _ => None,
        })
    }

    fn data(&self) -> Vec<&Value> {
        self.messages().filter(|m| !m["channel"].as_str().unwrap_or("/meta/").starts_with("/meta/")).collect()
    }

    fn problems(&self) -> Vec<(bool, &str)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                BayeuxEvent::Problem { fatal, description } => Some((*fatal, description.as_str())),
                _ => None,
            })
            .collect()
    }

    fn closed(&self) -> usize {
        self.0.iter().filter(|e| matches!(e, BayeuxEvent::Closed)).count()
    }
}

fn is_invited(e: &BayeuxEvent) -> bool {
    matches!(e, BayeuxEvent::Message { message, .. } if message["data"]["chat"]["state"] == "Invited")
}

// ---------------------------------------------------------------------------------------------
// Against the simulator

/// An agent logged in as the documented order has it: GET /me, CometD, session, Ready.
async fn ready_agent(base: &str, user: &str) -> (AgentSession, BayeuxClient, UnboundedReceiver<BayeuxEvent>) {
    let session = AgentSession::new(base, user, "password", &cfg()).unwrap();
    let me = session.get("/api/v2/me").await.unwrap();
    assert_eq!(me.status, 200, "{}", me.body_text);
    let opts =
        BayeuxOptions { subscriptions: vec![api::CHANNEL_CHATS.into()], client: cfg(), ..BayeuxOptions::default() };
    let (bayeux, rx) = BayeuxClient::start(&session, opts).await.unwrap();
    let body = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
    let start = session.post("/api/v2/me", &body).await.unwrap();
    assert_eq!(start.json.as_ref().map(|b| b["statusCode"].clone()), Some(json!(0)), "{}", start.body_text);
    let ready = session.post("/api/v2/me/channels/chat", &json!({"operationName": "Ready"})).await.unwrap();
    assert_eq!(ready.json.as_ref().map(|b| b["statusCode"].clone()), Some(json!(0)), "{}", ready.body_text);
    (session, bayeux, rx)
}

async fn request_chat(base: &str, nickname: &str) -> String {
    let customer = CustomerClient::new(base, "cc-test", &cfg()).unwrap();
    let ex = customer.request_chat(&json!({"operationName": "RequestChat", "nickname": nickname})).await.unwrap();
    assert_eq!(ex.status, 200, "{}", ex.body_text);
    ex.json.as_ref().and_then(|b| b["id"].as_str()).expect("RequestChat answers an id").to_owned()
}

#[tokio::test]
async fn csrf_token_from_a_get_is_sent_on_post() {
    let sim = start_sim(1).await;
    let session = AgentSession::new(&sim.base_url(), "agent1", "password", &cfg()).unwrap();
    assert!(session.csrf_token().is_none());
    let me = session.get("/api/v2/me").await.unwrap();
    assert_eq!(me.status, 200, "{}", me.body_text);
    let token = session.csrf_token().expect("GET /api/v2/me hands out a CSRF token");
    assert_eq!(me.header(&token.header), Some(token.token.as_str()));

    let body = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
    let ex = session.post("/api/v2/me", &body).await.unwrap();
    assert_eq!(ex.status, 200, "{}", ex.body_text);
    assert_eq!(ex.json.as_ref().unwrap()["statusCode"], 0);
    assert_eq!(ex.request_body.as_ref(), Some(&body));

    // The same session, the token left out on purpose: refused.
    let raw = RawRequest {
        method: "POST".into(),
        path: "/api/v2/me/channels/chat".into(),
        body: Some(json!({"operationName": "Ready"})),
        headers: Vec::new(),
        with_auth: true,
        with_csrf: false,
    };
    let ex = session.request(raw).await.unwrap();
    assert_eq!(ex.status, 403, "{}", ex.body_text);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_session_that_never_did_a_get_is_refused() {
    let sim = start_sim(1).await;
    let session = AgentSession::new(&sim.base_url(), "agent1", "password", &cfg()).unwrap();
    let body = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
    let ex = session.post("/api/v2/me", &body).await.unwrap();
    assert_eq!(ex.status, 403, "{}", ex.body_text);
    assert_eq!(ex.body_text.trim(), api::CSRF_REFUSAL_BODY);
    assert!(ex.json.is_none());
    assert!(ex.json_error.is_some(), "a text body is reported as not JSON");
    sim.shutdown().await;
}

#[tokio::test]
async fn customer_requests_and_reads_a_chat() {
    let sim = start_sim(1).await;
    let base = sim.base_url();
    let id = request_chat(&base, "Ann").await;
    let customer = CustomerClient::new(&base, "cc-test", &cfg()).unwrap();
    let chat = customer.get_chat(&id).await.unwrap();
    assert_eq!(chat.status, 200, "{}", chat.body_text);
    assert_eq!(chat.path, format!("/api/v2/chats/{id}"));
    assert!(chat.json.as_ref().unwrap()["chat"]["state"].is_string(), "{}", chat.body_text);
    let messages = customer.messages(&id, Some(0)).await.unwrap();
    assert_eq!(messages.path, format!("/api/v2/chats/{id}/messages"));
    assert!(messages.url.ends_with("?index=0"));
    sim.shutdown().await;
}

#[tokio::test]
async fn bayeux_client_receives_an_invited_notification() {
    let sim = start_sim(1).await;
    let base = sim.base_url();
    let (_session, bayeux, mut rx) = ready_agent(&base, "agent1").await;
    let mut seen = Seen::default();
    // The first connect (advice timeout 0) is answered at once; once it is, the next one is held.
    seen.until(
        &mut rx,
        "the first connect's answer",
        |e| matches!(e, BayeuxEvent::Exchange(ex) if ex.path.ends_with("/connect")),
    )
    .await;
    request_chat(&base, "Ann").await;
    seen.until(&mut rx, "the Invited notification", is_invited).await;
    assert_eq!(bayeux.handshakes(), 1);
    assert!(bayeux.client_id().is_some());
    bayeux.disconnect().await.unwrap();
    seen.until_closed(&mut rx).await;

    assert_eq!(seen.0.iter().filter(|e| is_invited(e)).count(), 1);
    assert_eq!(seen.closed(), 1);
    assert!(seen.problems().is_empty(), "{:?}", seen.problems());
    let mut ids: Vec<u64> = seen
        .0
        .iter()
        .filter_map(|e| match e {
            BayeuxEvent::Exchange(ex) => ex.request_body.as_ref()?[0]["id"].as_str()?.parse().ok(),
            _ => None,
        })
        .collect();
    // Answers arrive out of order (the disconnect's before the connect it wakes): compare as sets.
    ids.sort_unstable();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>(), "message ids count 1, 2, ... across all messages");
    sim.shutdown().await;
}

#[tokio::test]
async fn bayeux_client_rehandshakes_when_the_server_forgets_it() {
    let sim = start_sim(1).await;
    let base = sim.base_url();
    let (_session, bayeux, mut rx) = ready_agent(&base, "agent1").await;
    let mut seen = Seen::default();
    seen.until(
        &mut rx,
        "the first connect's answer",
        |e| matches!(e, BayeuxEvent::Exchange(ex) if ex.path.ends_with("/connect")),
    )
    .await;
    let first_id = bayeux.client_id();

    sim.handle.forget_bayeux_clients();
    seen.until(
        &mut rx,
        "the re-handshake problem",
        |e| matches!(e, BayeuxEvent::Problem { fatal: false, description } if description.contains("re-handshake")),
    )
    .await;
    // Notifications reach only subscribed clients: wait for the new subscription to be granted.
    seen.until(&mut rx, "the new subscribe reply", |e| {
        matches!(e, BayeuxEvent::Message { message, .. }
            if message["channel"] == "/meta/subscribe" && message["successful"] == true)
    })
    .await;
    assert_eq!(bayeux.handshakes(), 2);
    assert_ne!(bayeux.client_id(), first_id);

    request_chat(&base, "Bob").await;
    seen.until(&mut rx, "the Invited notification", is_invited).await;
    bayeux.disconnect().await.unwrap();
    seen.until_closed(&mut rx).await;
    assert_eq!(seen.0.iter().filter(|e| is_invited(e)).count(), 1);
    assert!(seen.problems().iter().all(|(fatal, _)| !fatal), "{:?}", seen.problems());
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// A scripted Bayeux server

/// What the stub answers to the n-th connect.
enum Answer {
    Json(Value),
    /// A body sent as it is, labelled JSON.
    Raw(&'static str),
    /// Hold the connect until a disconnect arrives.
    Hold,
}

struct Stub {
    handshake: fn(&str) -> Value,
    connect: fn(usize, &str) -> Answer,
    echo_subscription: bool,
    answer_disconnect: bool,
    handshakes: AtomicUsize,
    connects: AtomicUsize,
    disconnected: watch::Sender<bool>,
}

impl Stub {
    fn new(connect: fn(usize, &str) -> Answer) -> Stub {
        Stub {
            handshake: handshake_ok,
            connect,
            echo_subscription: true,
            answer_disconnect: true,
            handshakes: AtomicUsize::new(0),
            connects: AtomicUsize::new(0),
            disconnected: watch::channel(false).0,
        }
    }

    async fn serve(self) -> (String, Arc<Stub>) {
        let stub = Arc::new(self);
        let router = Router::new()
            .route(&format!("{}/{{kind}}", api::NOTIFICATIONS_PATH), post(stub_bayeux))
            .with_state(Arc::clone(&stub));
        (serve(router).await, stub)
    }
}

fn handshake_ok(id: &str) -> Value {
    json!([{
        "id": id, "channel": "/meta/handshake", "successful": true, "clientId": "stub-client",
        "version": "1.0", "supportedConnectionTypes": ["long-polling"],
        "advice": {"reconnect": "retry", "timeout": 1000, "interval": 0}
    }])
}

fn connect_ok(id: &str) -> Value {
    json!({"id": id, "channel": "/meta/connect", "successful": true})
}

fn event(n: u64) -> Value {
    json!({"channel": api::CHANNEL_CHATS, "data": {"n": n}})
}

async fn stub_bayeux(State(stub): State<Arc<Stub>>, Path(kind): Path<String>, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let message = &request[0];
    let id = message["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        format!("/meta/{kind}"),
        message["channel"].as_str().unwrap_or_default(),
        "posted to the wrong sub-path"
    );
    let answer = match kind.as_str() {
        "handshake" => {
            stub.handshakes.fetch_add(1, Ordering::SeqCst);
            Answer::Json((stub.handshake)(&id))
        }
        "subscribe" => {
            let mut reply = json!({"id": id, "channel": "/meta/subscribe", "successful": true});
            if stub.echo_subscription {
                reply["subscription"] = message["subscription"].clone();
            }
            Answer::Json(json!([reply]))
        }
        "connect" => (stub.connect)(stub.connects.fetch_add(1, Ordering::SeqCst), &id),
        "disconnect" if stub.answer_disconnect => {
            stub.disconnected.send_replace(true);
            Answer::Json(json!([{"id": id, "channel": "/meta/disconnect", "successful": true}]))
        }
        "disconnect" => std::future::pending().await,
        other => panic!("unexpected Bayeux sub-path {other}"),
    };
    match answer {
        Answer::Json(v) => axum::Json(v).into_response(),
        Answer::Raw(body) => ([("content-type", "application/json")], body).into_response(),
        Answer::Hold => {
            let _ = stub.disconnected.subscribe().wait_for(|d| *d).await;
            axum::Json(json!([connect_ok(&id)])).into_response()
        }
    }
}

async fn start_client(base: &str, max_reconnects: u32) -> (BayeuxClient, UnboundedReceiver<BayeuxEvent>) {
    let opts = BayeuxOptions { subscriptions: vec![api::CHANNEL_CHATS.into()], max_reconnects, client: cfg() };
    let session = AgentSession::new(base, "agent1", "password", &cfg()).unwrap();
    BayeuxClient::start(&session, opts).await.unwrap()
}

#[tokio::test]
async fn events_after_and_before_the_connect_reply_are_both_delivered() {
    let (base, stub) = Stub::new(|n, id| match n {
        0 => Answer::Json(json!([connect_ok(id), event(1)])),
        1 => Answer::Json(json!([event(2), connect_ok(id)])),
        _ => Answer::Hold,
    })
    .serve()
    .await;
    let (bayeux, mut rx) = start_client(&base, 5).await;
    let mut seen = Seen::default();
    seen.until(
        &mut rx,
        "the second event",
        |e| matches!(e, BayeuxEvent::Message { message, .. } if message["data"]["n"] == 2),
    )
    .await;
    bayeux.disconnect().await.unwrap();
    seen.until_closed(&mut rx).await;

    let data: Vec<&Value> = seen.data();
    assert_eq!(data, [&event(1), &event(2)]);
    assert!(seen.problems().is_empty(), "{:?}", seen.problems());
    assert_eq!(stub.handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(seen.closed(), 1);
    let connects = seen.messages().filter(|m| m["channel"] == "/meta/connect").count();
    assert_eq!(connects, 3, "two answered connects and the one woken by the disconnect");
}

#[tokio::test]
async fn a_connect_body_that_is_not_json_is_reported() {
    let (base, _stub) = Stub::new(|n, _| {
        if n == 0 { Answer::Raw(r#"[{"channel":"/meta/connect" "successful":true}]"#) } else { Answer::Hold }
    })
    .serve()
    .await;
    let (bayeux, mut rx) = start_client(&base, 5).await;
    let mut seen = Seen::default();
    seen.until(&mut rx, "a problem", |e| matches!(e, BayeuxEvent::Problem { .. })).await;
    bayeux.disconnect().await.unwrap();
    seen.until_closed(&mut rx).await;

    let broken = seen
        .0
        .iter()
        .find_map(|e| match e {
            BayeuxEvent::Exchange(ex) if ex.path.ends_with("/connect") && ex.json.is_none() => Some(ex),
            _ => None,
        })
        .expect("the connect exchange is reported");
    assert!(broken.json_error.as_deref().unwrap().contains("line 1 column"), "{broken:?}");
    assert_eq!(broken.status, 200);
    let problems = seen.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(!problems[0].0 && problems[0].1.contains("not JSON"), "{problems:?}");
}

#[tokio::test]
async fn a_subscribe_reply_without_the_subscription_is_a_problem_not_a_crash() {
    let mut stub = Stub::new(|_, _| Answer::Hold);
    stub.echo_subscription = false;
    let (base, _stub) = stub.serve().await;
    let (bayeux, mut rx) = start_client(&base, 5).await;
    bayeux.disconnect().await.unwrap();
    let mut seen = Seen::default();
    seen.until_closed(&mut rx).await;
    let problems = seen.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(!problems[0].0 && problems[0].1.contains("does not echo"), "{problems:?}");
}

#[tokio::test]
async fn a_refused_handshake_is_an_error_naming_the_server_error() {
    let mut stub = Stub::new(|_, _| Answer::Hold);
    stub.handshake = |id| {
        json!([{"id": id, "channel": "/meta/handshake", "successful": false,
                "error": "403::Unauthorized", "advice": {"reconnect": "none"}}])
    };
    let (base, _stub) = stub.serve().await;
    let session = AgentSession::new(&base, "agent1", "password", &cfg()).unwrap();
    let opts = BayeuxOptions { client: cfg(), ..BayeuxOptions::default() };
    let err = BayeuxClient::start(&session, opts).await.err().expect("the handshake is refused");
    assert!(matches!(&err, BayeuxError::Refused { reconnect, .. } if reconnect == "none"), "{err:?}");
    assert_eq!(err.to_string(), "CometD handshake refused: 403::Unauthorized");
}

#[tokio::test]
async fn re_handshakes_are_bounded_by_max_reconnects() {
    let (base, stub) = Stub::new(|_, id| {
        Answer::Json(json!([{"id": id, "channel": "/meta/connect", "successful": false,
                             "error": "402::Unknown client", "advice": {"reconnect": "handshake", "interval": 0}}]))
    })
    .serve()
    .await;
    let (bayeux, mut rx) = start_client(&base, 2).await;
    let mut seen = Seen::default();
    seen.until_closed(&mut rx).await;
    assert_eq!(bayeux.handshakes(), 3, "the first and two re-handshakes");
    assert_eq!(stub.handshakes.load(Ordering::SeqCst), 3);
    let problems = seen.problems();
    assert_eq!(
        problems.iter().filter(|(fatal, d)| !fatal && d.contains("re-handshake after 402::Unknown client")).count(),
        2
    );
    assert_eq!(problems.iter().filter(|(fatal, _)| *fatal).count(), 1, "{problems:?}");
    assert_eq!(seen.closed(), 1);
    bayeux.disconnect().await.unwrap();
}

#[tokio::test]
async fn reconnect_none_ends_the_loop() {
    let (base, _stub) = Stub::new(|_, id| {
        Answer::Json(json!([{"id": id, "channel": "/meta/connect", "successful": false,
                             "error": "403::Nope", "advice": {"reconnect": "none"}}]))
    })
    .serve()
    .await;
    let (bayeux, mut rx) = start_client(&base, 5).await;
    let mut seen = Seen::default();
    seen.until_closed(&mut rx).await;
    let problems = seen.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].0 && problems[0].1.contains("reconnect: none"), "{problems:?}");
    assert_eq!(bayeux.handshakes(), 1);
}

#[tokio::test]
async fn disconnect_returns_when_the_server_never_answers() {
    let mut stub = Stub::new(|_, _| Answer::Hold);
    stub.answer_disconnect = false;
    let (base, _stub) = stub.serve().await;
    let client = ClientConfig { request_timeout: Duration::from_millis(300), ..cfg() };
    let session = AgentSession::new(&base, "agent1", "password", &client).unwrap();
    let opts = BayeuxOptions { client, ..BayeuxOptions::default() };
    let (bayeux, mut rx) = BayeuxClient::start(&session, opts).await.unwrap();
    let result = tokio::time::timeout(EVENT_DEADLINE, bayeux.disconnect()).await.expect("disconnect returned");
    assert!(
        matches!(&result, Err(BayeuxError::Transport { source: TransportError::Timeout { .. }, .. })),
        "{result:?}"
    );
    let mut seen = Seen::default();
    seen.until_closed(&mut rx).await;
    assert_eq!(seen.closed(), 1);
}

// ---------------------------------------------------------------------------------------------
// Hostile HTTP

#[tokio::test]
async fn a_server_that_never_answers_yields_a_deadline_error() {
    let base = serve(Router::new().route("/api/v2/me", get(std::future::pending::<()>))).await;
    let client = ClientConfig { request_timeout: Duration::from_millis(200), ..cfg() };
    let session = AgentSession::new(&base, "agent1", "password", &client).unwrap();
    let result = tokio::time::timeout(EVENT_DEADLINE, session.get("/api/v2/me")).await.expect("the request returned");
    let err = result.unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("GET {base}/api/v2/me")), "{err}");
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused() {
    let base = serve(Router::new().route("/big", get(|| async { "x".repeat(4096) }))).await;
    let client = ClientConfig { max_body: 1024, ..cfg() };
    let session = AgentSession::new(&base, "agent1", "password", &client).unwrap();
    let err = session.get("/big").await.unwrap_err();
    assert!(matches!(err, TransportError::BodyTooLarge { limit: 1024, declared: Some(4096), .. }), "{err:?}");
    assert!(err.to_string().contains("1024-byte limit"), "{err}");
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_refused_while_reading() {
    let addr = chunked_server(64, 1024).await;
    let client = ClientConfig { max_body: 4096, ..cfg() };
    let customer = CustomerClient::new(&format!("http://{addr}"), "cc", &client).unwrap();
    let err = customer.get_chat("x").await.unwrap_err();
    assert!(matches!(err, TransportError::BodyTooLarge { limit: 4096, declared: None, .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // Bind then drop: the port is known and (almost surely) closed.
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let customer = CustomerClient::new(&format!("http://{addr}"), "cc", &cfg()).unwrap();
    let err = customer.request_chat(&json!({"operationName": "RequestChat"})).await.unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("POST http://{addr}/api/v2/chats")), "{err}");
}

/// A one-shot HTTP server answering with `chunks` chunks of `size` bytes and no Content-Length.
async fn chunked_server(chunks: usize, size: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{size:x}\r\n{}\r\n", "7".repeat(size));
        for _ in 0..chunks {
            // The client hangs up once past its limit: a failed write is the expected end.
            if sock.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = sock.write_all(b"0\r\n\r\n").await;
    });
    addr
}
