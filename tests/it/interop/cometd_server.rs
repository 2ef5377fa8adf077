//! chatprobe's Bayeux client against a real CometD server: cometd-nodejs-server (with its ack
//! extension installed) behind a thin GWS-shaped front in the same Node process
//! (tests/interop/gws-cometd-front.cjs): Basic login that replaces the session id and the CSRF
//! token, CSRF enforced on every CometD POST, and test hooks to publish events and force server
//! behaviours. Only the protocol layer is under test: handshake, subscribe, held connects, events
//! on any reply, advice `interval`, `reconnect: handshake` after a mid-session 402, `reconnect:
//! none`, and the ack extension left off. Every meta message received must also pass chatprobe's
//! own Bayeux schemas.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc::UnboundedReceiver;

use chatprobe::api;
use chatprobe::client::{AgentSession, BayeuxClient, BayeuxEvent, BayeuxOptions, ClientConfig, RawRequest};
use chatprobe::contract::classify::bayeux_schema;
use chatprobe::contract::schema::SchemaRegistry;

use super::require;

/// Bound on any one wait (a hang fails the test, it does not block it).
const DEADLINE: Duration = Duration::from_secs(20);
const PASSWORD: &str = "front-password";

// ---------------------------------------------------------------------------------------------
// The front

struct Front {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Front {
    /// Start the front with `options` (CometD's `timeout`, `interval`...), or `None` when the
    /// peer is not installed.
    async fn start(test: &str, options: Value) -> Option<Front> {
        let dir = require(test, &["cometd-nodejs-server"])?;
        Some(Front::spawn(&dir, options).await)
    }

    async fn spawn(dir: &Path, mut options: Value) -> Front {
        options["password"] = json!(PASSWORD);
        let mut child = Command::new("node")
            .arg("gws-cometd-front.cjs")
            .arg(options.to_string())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped");
        let line = tokio::time::timeout(DEADLINE, BufReader::new(stdout).lines().next_line())
            .await
            .expect("the front says where it listens")
            .unwrap()
            .expect("the front printed a line");
        let port: u16 = line.strip_prefix("LISTENING ").and_then(|p| p.parse().ok()).expect(&line);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(DEADLINE).build().unwrap();
        Front { child, base: format!("http://127.0.0.1:{port}"), http }
    }

    async fn state(&self) -> Value {
        self.http.get(format!("{}/test/state", self.base)).send().await.unwrap().json().await.unwrap()
    }

    async fn hook(&self, name: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}/test/{name}", self.base)).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "hook {name}: {}", response.status());
        response.json().await.unwrap()
    }

    /// Poll the front's state until `ready` holds, within the deadline.
    async fn wait(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let state = self.state().await;
            if ready(&state) {
                return state;
            }
            assert!(tokio::time::Instant::now() < deadline, "no {what} within {DEADLINE:?}: {state:#}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Wait until the server holds a connect of `client_id`.
    async fn held(&self, client_id: &str) {
        self.wait(&format!("held connect of {client_id}"), |s| s["held"][client_id] == true).await;
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

// ---------------------------------------------------------------------------------------------
// chatprobe's client

/// An agent logged in through the front (an anonymous GET first, so the login has a session to
/// replace) and its Bayeux client, with everything the client reported.
struct Agent {
    bayeux: Option<BayeuxClient>,
    rx: UnboundedReceiver<BayeuxEvent>,
    seen: Vec<BayeuxEvent>,
}

impl Agent {
    async fn start(front: &Front) -> Agent {
        let cfg = ClientConfig { request_timeout: Duration::from_secs(5), ..ClientConfig::default() };
        let session = AgentSession::new(&front.base, "agent1", PASSWORD, &cfg).unwrap();
        let anonymous = RawRequest {
            method: "GET".into(),
            path: "/api/v2/diagnostics/version".into(),
            body: None,
            headers: Vec::new(),
            with_auth: false,
            with_csrf: true,
        };
        assert_eq!(session.request(anonymous).await.unwrap().status, 200);
        let before = session.csrf_token().expect("a pre-login token");
        assert_eq!(session.get("/api/v2/me").await.unwrap().status, 200);
        assert_ne!(session.csrf_token(), Some(before), "the login replaced the token");
        let opts =
            BayeuxOptions { subscriptions: vec![api::CHANNEL_CHATS.into()], client: cfg, ..BayeuxOptions::default() };
        let (bayeux, rx) = BayeuxClient::start(&session, opts).await.unwrap();
        Agent { bayeux: Some(bayeux), rx, seen: Vec::new() }
    }

    fn client_id(&self) -> String {
        self.bayeux.as_ref().and_then(BayeuxClient::client_id).expect("a session")
    }

    /// Receive until an event satisfies `pred` (kept too); fails past the deadline.
    async fn until(&mut self, what: &str, pred: impl Fn(&BayeuxEvent) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    let hit = pred(&ev);
                    self.seen.push(ev);
                    if hit {
                        return;
                    }
                }
                Ok(None) => panic!("the stream ended before {what}: {:#?}", self.seen),
                Err(_) => panic!("no {what} within {DEADLINE:?}: {:#?}", self.seen),
            }
        }
    }

    async fn until_seq(&mut self, seq: Value) {
        self.until(
            &format!("event {seq}"),
            |e| matches!(e, BayeuxEvent::Message { message, .. } if message["data"]["seq"] == seq),
        )
        .await;
    }

    /// Receive until the stream ends (the loop stopped on its own, or after `disconnect`).
    async fn until_closed(&mut self) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while let Some(ev) = tokio::time::timeout_at(deadline, self.rx.recv()).await.expect("the stream ends") {
            self.seen.push(ev);
        }
    }

    async fn disconnect(&mut self) {
        let bayeux = self.bayeux.take().expect("started");
        tokio::time::timeout(DEADLINE, bayeux.disconnect()).await.expect("disconnect returns").unwrap();
        self.until_closed().await;
    }

    fn messages(&self) -> impl Iterator<Item = &Value> {
        self.seen.iter().filter_map(|e| match e {
            BayeuxEvent::Message { message, .. } => Some(message),
            _ => None,
        })
    }

    /// The `seq` of every event on /v2/me/chats, in arrival order.
    fn seqs(&self) -> Vec<Value> {
        self.messages().filter(|m| m["channel"] == api::CHANNEL_CHATS).map(|m| m["data"]["seq"].clone()).collect()
    }

    fn problems(&self) -> Vec<(bool, String)> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                BayeuxEvent::Problem { fatal, description } => Some((*fatal, description.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every meta message a real CometD server sent passes chatprobe's Bayeux schemas.
    fn check_meta_schemas(&self) {
        let reg = SchemaRegistry::embedded().unwrap();
        for m in self.messages().filter(|m| m["channel"].as_str().is_some_and(|c| c.starts_with("/meta/"))) {
            let violations = reg.validate(bayeux_schema(m), m).unwrap();
            assert!(violations.is_empty(), "{violations:#?}\n{m}");
        }
    }
}

/// Every CometD POST was accepted, with the cookie and the token of the login.
fn check_csrf(state: &Value) {
    assert_eq!(state["csrfRefused"], json!([]), "{state:#}");
    let current = &state["current"];
    let posts = state["bayeuxPosts"].as_array().unwrap();
    assert!(!posts.is_empty());
    for p in posts {
        assert_eq!((&p["session"], &p["token"]), (&current["session"], &current["token"]), "{p}");
    }
}

fn posts_on<'a>(state: &'a Value, channel: &str) -> Vec<&'a Value> {
    state["bayeuxPosts"].as_array().unwrap().iter().filter(|p| p["channel"] == channel).collect()
}

// ---------------------------------------------------------------------------------------------
// The tests

/// Handshake and subscribe with events riding on both replies (the handshake's forced by the
/// front, the subscribe's as CometD queues it), then an event waking a held connect. The client
/// does not advertise the ack extension, so the server, which has it, stays off it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_every_reply_and_on_a_held_connect() {
    let Some(front) = Front::start("events_on_every_reply", json!({"timeout": 10_000})).await else { return };
    front.hook("on-handshake", json!({"seq": "h"})).await;
    front.hook("on-subscribe", json!({"seq": "s"})).await;
    let mut agent = Agent::start(&front).await;
    front.held(&agent.client_id()).await;
    front.hook("publish", json!({"seq": 1})).await;
    agent.until_seq(json!(1)).await;
    agent.disconnect().await;
    let state = front.state().await;
    front.stop().await;

    let labels: Vec<String> = agent
        .seen
        .iter()
        .take(6)
        .map(|e| match e {
            BayeuxEvent::Exchange(ex) => format!("POST {}", ex.path),
            BayeuxEvent::Message { message, .. } if message["data"]["seq"].is_string() => {
                format!("event {}", message["data"]["seq"].as_str().unwrap())
            }
            BayeuxEvent::Message { message, .. } => message["channel"].as_str().unwrap_or("?").to_owned(),
            other => format!("{other:?}"),
        })
        .collect();
    let expected = [
        "POST /api/v2/notifications/handshake",
        "event h",
        "/meta/handshake",
        "POST /api/v2/notifications/subscribe",
        "event s",
        "/meta/subscribe",
    ];
    assert_eq!(labels, expected);
    assert_eq!(agent.seqs(), [json!("h"), json!("s"), json!(1)]);
    assert!(agent.problems().is_empty(), "{:?}", agent.problems());
    agent.check_meta_schemas();
    check_csrf(&state);
    assert!(state["resumedByEvent"].as_u64() >= Some(1), "the publish woke a held connect: {state:#}");
    let handshakes = posts_on(&state, "/meta/handshake");
    assert!(handshakes.iter().all(|p| p["ext"].is_null()), "no ack advertised: {handshakes:?}");
    assert_eq!(state["handshakeExts"], json!([null]), "the server did not switch ack on");
}

/// With advice `interval` 300 ms, no connect follows the answer to the previous one sooner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advice_interval_is_honoured_between_connects() {
    const INTERVAL_MS: f64 = 300.0;
    let options = json!({"timeout": 200, "interval": INTERVAL_MS});
    let Some(front) = Front::start("advice_interval", options).await else { return };
    let mut agent = Agent::start(&front).await;
    let state = front.wait("three connect gaps", |s| s["connectGaps"].as_array().is_some_and(|g| g.len() >= 3)).await;
    agent.disconnect().await;
    front.stop().await;

    let handshake = agent.messages().find(|m| m["channel"] == "/meta/handshake").unwrap();
    assert_eq!(handshake["advice"]["interval"], json!(300), "{handshake}");
    let gaps: Vec<f64> = state["connectGaps"].as_array().unwrap().iter().map(|g| g.as_f64().unwrap()).collect();
    assert!(gaps.iter().all(|g| *g >= INTERVAL_MS), "ms between a connect answer and the next connect: {gaps:?}");
    assert!(agent.problems().is_empty(), "{:?}", agent.problems());
    check_csrf(&state);
}

/// The server drops the session while a connect is held, with an event queued: the held connect
/// is answered with the event, the next connect gets
/// `402::session_unknown` with `reconnect: handshake`, and the client handshakes and subscribes
/// again. Every event the server queued for the client, before, during and after, arrives once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mid_session_402_loses_nothing_the_server_kept() {
    let Some(front) = Front::start("mid_session_402", json!({"timeout": 10_000})).await else { return };
    let mut agent = Agent::start(&front).await;
    let first = agent.client_id();
    front.held(&first).await;
    front.hook("publish", json!({"seq": 1})).await;
    agent.until_seq(json!(1)).await;
    front.held(&first).await;
    front.hook("on-subscribe", json!({"seq": 3})).await;
    let dropped = front.hook("drop", json!({"seq": 2})).await;
    assert_eq!(dropped, json!({"dropped": 1, "held": 1}));
    agent.until_seq(json!(3)).await;
    let second = agent.client_id();
    assert_ne!(first, second);
    front.held(&second).await;
    front.hook("publish", json!({"seq": 4})).await;
    agent.until_seq(json!(4)).await;
    agent.disconnect().await;
    let state = front.state().await;
    front.stop().await;

    assert_eq!(agent.seqs(), [json!(1), json!(2), json!(3), json!(4)]);
    let kept: Vec<&Value> = state["queued"].as_array().unwrap().iter().map(|d| &d["seq"]).collect();
    assert_eq!(kept, [&json!(1), &json!(2), &json!(3), &json!(4)], "what the server queued for the client");
    let refused = agent.messages().find(|m| m["channel"] == "/meta/connect" && m["successful"] == false).unwrap();
    assert_eq!(refused["error"], "402::session_unknown", "{refused}");
    assert_eq!(refused["advice"]["reconnect"], "handshake", "{refused}");
    let problems = agent.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(!problems[0].0 && problems[0].1.contains("re-handshake after 402::session_unknown"), "{problems:?}");
    assert_eq!(posts_on(&state, "/meta/handshake").len(), 2);
    assert_eq!(posts_on(&state, "/meta/subscribe").len(), 2);
    agent.check_meta_schemas();
    check_csrf(&state);
}

/// After a 402 the re-handshake is refused with `reconnect: none`: the client stops, with a fatal
/// problem naming the refusal, and sends nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_none_on_the_rehandshake_stops_the_client() {
    let Some(front) = Front::start("reconnect_none_rehandshake", json!({"timeout": 10_000})).await else { return };
    let mut agent = Agent::start(&front).await;
    front.held(&agent.client_id()).await;
    front.hook("deny-handshakes", json!(null)).await;
    front.hook("drop", json!(null)).await;
    agent.until_closed().await;
    let state = front.state().await;
    front.stop().await;

    let problems = agent.problems();
    assert_eq!(problems.iter().filter(|(fatal, _)| *fatal).count(), 1, "{problems:?}");
    let (_, fatal) = problems.iter().find(|(fatal, _)| *fatal).unwrap();
    assert!(fatal.contains("CometD handshake refused: 403::handshake_denied"), "{fatal}");
    let denied = agent.messages().filter(|m| m["channel"] == "/meta/handshake").nth(1).unwrap();
    assert_eq!(denied["advice"]["reconnect"], "none", "{denied}");
    let posts = state["bayeuxPosts"].as_array().unwrap();
    assert_eq!(posts.last().unwrap()["channel"], "/meta/handshake", "nothing after the refusal: {posts:#?}");
    assert_eq!(agent.bayeux.as_ref().unwrap().handshakes(), 1);
    agent.check_meta_schemas();
    check_csrf(&state);
}

/// A connect answered with `reconnect: none`: the client reports the event that came with it,
/// stops with a fatal problem, and sends no other connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_none_on_a_connect_reply_stops_the_client() {
    let Some(front) = Front::start("reconnect_none_connect", json!({"timeout": 10_000})).await else { return };
    let mut agent = Agent::start(&front).await;
    front.held(&agent.client_id()).await;
    front.hook("advise", json!({"reconnect": "none"})).await;
    front.hook("publish", json!({"seq": 9})).await;
    agent.until_closed().await;
    let state = front.state().await;
    front.stop().await;

    assert_eq!(agent.seqs(), [json!(9)]);
    let problems = agent.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].0 && problems[0].1.contains("reconnect: none"), "{problems:?}");
    let answered = agent.messages().filter(|m| m["channel"] == "/meta/connect").count();
    assert_eq!(posts_on(&state, "/meta/connect").len(), answered, "no connect after the one told to stop");
    check_csrf(&state);
}
