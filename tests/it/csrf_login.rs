//! The harness's agent session against a server that enforces CSRF on every POST, CometD's
//! included (CSRFProtection page: "send that header on every PUT/POST/DELETE"), and that rotates
//! the session id and the token at login, as Spring Security does. Every Bayeux POST must carry
//! the session's current token, the one handed out after the Basic login; an HTTP 403 on a Bayeux
//! POST must be reported as the CSRF refusal it is.
//!
//! The server is built here, on a loopback port: a few GWS resources, a minimal Bayeux endpoint
//! (connects held briefly), and a log of every POST with the cookie and token it carried.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{Notify, watch};

use chatprobe::api;
use chatprobe::client::{
    AgentSession, BayeuxClient, BayeuxError, BayeuxEvent, BayeuxOptions, ClientConfig, RawRequest,
};
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::runner::{self, Credentials, RunConfig, Target};
use chatprobe::scenario;

const USER: &str = "agent1";
const PASSWORD: &str = "secret";
/// How long the server holds a connect: short, so the loop turns often.
const HOLD: Duration = Duration::from_millis(200);
/// Deadline of any one wait in these tests (a hang fails, it does not block).
const DEADLINE: Duration = Duration::from_secs(20);

fn cfg() -> ClientConfig {
    ClientConfig { request_timeout: Duration::from_secs(5), ..ClientConfig::default() }
}

// ---------------------------------------------------------------------------------------------
// The server

/// One HTTP session: its owner once logged in, and its CSRF token.
struct Session {
    user: Option<String>,
    token: String,
}

/// One POST as the server saw it.
#[derive(Clone, Debug)]
struct Post {
    path: String,
    session: Option<String>,
    token: Option<String>,
    accepted: bool,
}

#[derive(Default)]
struct Gws {
    /// The header the server names in X-CSRF-HEADER and expects the token in.
    header: String,
    sessions: HashMap<String, Session>,
    serial: u64,
    posts: Vec<Post>,
    /// When set, a held connect waits for this instead of [`HOLD`].
    gate: Option<Arc<Notify>>,
    /// Connects held so far (accepted, then waiting).
    held: watch::Sender<u64>,
}

impl Gws {
    fn fresh(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{}", self.serial)
    }

    fn open(&mut self, user: Option<String>) -> String {
        let id = self.fresh("S");
        let token = self.fresh("T");
        self.sessions.insert(id.clone(), Session { user, token });
        id
    }

    /// The only logged-in session and its token.
    fn logged_in(&self) -> (String, String) {
        let mut it = self.sessions.iter().filter(|(_, s)| s.user.is_some());
        let (id, s) = it.next().expect("a logged-in session");
        assert!(it.next().is_none(), "one logged-in session");
        (id.clone(), s.token.clone())
    }

    fn bayeux_posts(&self) -> Vec<Post> {
        self.posts.iter().filter(|p| p.path.starts_with(api::NOTIFICATIONS_PATH)).cloned().collect()
    }

    fn refused(&self) -> Vec<Post> {
        self.posts.iter().filter(|p| !p.accepted).cloned().collect()
    }
}

#[derive(Clone)]
struct Server {
    base: String,
    gws: Arc<Mutex<Gws>>,
}

impl Server {
    async fn start(csrf_header: &str) -> Server {
        let gws = Arc::new(Mutex::new(Gws { header: csrf_header.to_owned(), ..Gws::default() }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new().fallback(handle).with_state(Arc::clone(&gws));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Server { base, gws }
    }

    fn gws(&self) -> MutexGuard<'_, Gws> {
        self.gws.lock().unwrap()
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| c.trim().strip_prefix("JSESSIONID=")).map(str::to_owned)
}

fn basic_ok(headers: &HeaderMap) -> bool {
    let encoded = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    let decoded = encoded.and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok()).unwrap_or_default();
    decoded == format!("{USER}:{PASSWORD}").as_bytes()
}

fn user_body(host: &str) -> Value {
    json!({"statusCode": 0, "user": {
        "id": "u1", "userName": USER, "firstName": "Agent", "lastName": "One", "roles": ["ROLE_AGENT"],
        "enabled": true, "changePasswordOnFirstLogin": false,
        "uri": format!("http://{host}/api/v2/users/u1"), "path": "/users/u1",
    }})
}

async fn handle(
    State(gws): State<Arc<Mutex<Gws>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if method == Method::GET {
        return read(&gws, &uri, &headers);
    }
    let kind = path.strip_prefix(&format!("{}/", api::NOTIFICATIONS_PATH)).map(str::to_owned);
    {
        let mut g = gws.lock().unwrap();
        let cookie = session_cookie(&headers);
        let token = headers.get(g.header.as_str()).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let session = cookie.as_deref().and_then(|c| g.sessions.get(c));
        let accepted = session.is_some_and(|s| s.user.is_some() && token.as_deref() == Some(s.token.as_str()));
        g.posts.push(Post { path: path.clone(), session: cookie, token, accepted });
        if !accepted {
            return (StatusCode::FORBIDDEN, [(CONTENT_TYPE, "text/plain")], api::CSRF_REFUSAL_BODY).into_response();
        }
    }
    match kind {
        Some(kind) => bayeux(&gws, &kind, &body).await,
        None => axum::Json(json!({"statusCode": 0})).into_response(),
    }
}

/// A GET: the session of the cookie, else a new anonymous one; GET /api/v2/me with valid Basic
/// credentials on a session not yet logged in is the login, which replaces the session id and the
/// token. `?rotate` hands out a new token on the same session.
fn read(gws: &Mutex<Gws>, uri: &Uri, headers: &HeaderMap) -> Response {
    let mut g = gws.lock().unwrap();
    let known = session_cookie(headers).filter(|c| g.sessions.contains_key(c));
    let logged_in = known.as_ref().is_some_and(|c| g.sessions[c].user.is_some());
    let (id, body) = if uri.path() == "/api/v2/me" {
        if !logged_in && !basic_ok(headers) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let id = match known {
            Some(id) if logged_in => id,
            other => {
                if let Some(old) = other {
                    g.sessions.remove(&old);
                }
                g.open(Some(USER.to_owned()))
            }
        };
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
        (id, user_body(&host))
    } else {
        let id = known.unwrap_or_else(|| g.open(None));
        let body = match uri.path() {
            "/api/v2/diagnostics/version" => json!({"statusCode": 0, "version": "8.5.200.50"}),
            "/api/v2/me/chats" => json!({"statusCode": 0, "chats": []}),
            _ => return StatusCode::NOT_FOUND.into_response(),
        };
        (id, body)
    };
    if uri.query() == Some("rotate") {
        let token = g.fresh("T");
        g.sessions.get_mut(&id).unwrap().token = token;
    }
    let header = HeaderName::from_bytes(g.header.as_bytes()).unwrap();
    let token = HeaderValue::from_str(&g.sessions[&id].token).unwrap();
    let mut response = axum::Json(body).into_response();
    let out = response.headers_mut();
    out.insert(api::CSRF_HEADER_NAME, HeaderValue::from_str(&g.header).unwrap());
    out.insert(header, token);
    out.insert(SET_COOKIE, HeaderValue::from_str(&format!("JSESSIONID={id}; Path=/; HttpOnly")).unwrap());
    response
}

/// A minimal Bayeux endpoint: one message per POST, connects held for [`HOLD`] (or until the
/// gate opens) except the first.
async fn bayeux(gws: &Mutex<Gws>, kind: &str, body: &[u8]) -> Response {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = &request[0];
    let id = message["id"].clone();
    let reply = match kind {
        "handshake" => json!({
            "id": id, "channel": "/meta/handshake", "successful": true, "clientId": "c1", "version": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "advice": {"reconnect": "retry", "timeout": HOLD.as_millis() as u64, "interval": 0},
        }),
        "subscribe" => json!({
            "id": id, "channel": "/meta/subscribe", "successful": true, "subscription": message["subscription"],
        }),
        "connect" => {
            if message["advice"]["timeout"] != 0 {
                let gate = {
                    let g = gws.lock().unwrap();
                    g.held.send_modify(|n| *n += 1);
                    g.gate.clone()
                };
                match gate {
                    // Bounded all the same: a test that never opens the gate fails, it does not hang.
                    Some(gate) => drop(tokio::time::timeout(DEADLINE, gate.notified()).await),
                    None => tokio::time::sleep(HOLD).await,
                }
            }
            json!({"id": id, "channel": "/meta/connect", "successful": true,
                   "advice": {"reconnect": "retry", "timeout": HOLD.as_millis() as u64, "interval": 0}})
        }
        "disconnect" => json!({"id": id, "channel": "/meta/disconnect", "successful": true}),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    axum::Json(json!([reply])).into_response()
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Receive until `n` more connect replies came (or the stream closed); every event is kept.
async fn connect_replies(rx: &mut UnboundedReceiver<BayeuxEvent>, n: usize, seen: &mut Vec<BayeuxEvent>) {
    let mut left = n;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while left > 0 {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.expect("connect replies within the deadline");
        let Some(ev) = ev else { panic!("the stream closed: {seen:#?}") };
        if matches!(&ev, BayeuxEvent::Message { message, .. } if message["channel"] == "/meta/connect") {
            left -= 1;
        }
        seen.push(ev);
    }
}

/// Receive until the stream closes.
async fn until_closed(rx: &mut UnboundedReceiver<BayeuxEvent>, seen: &mut Vec<BayeuxEvent>) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Some(ev) = tokio::time::timeout_at(deadline, rx.recv()).await.expect("the stream closes") {
        seen.push(ev);
    }
}

fn problems(seen: &[BayeuxEvent]) -> Vec<(bool, String)> {
    seen.iter()
        .filter_map(|e| match e {
            BayeuxEvent::Problem { fatal, description } => Some((*fatal, description.clone())),
            _ => None,
        })
        .collect()
}

fn anonymous_get(path: &str) -> RawRequest {
    RawRequest {
        method: "GET".into(),
        path: path.into(),
        body: None,
        headers: Vec::new(),
        with_auth: false,
        with_csrf: true,
    }
}

fn options() -> BayeuxOptions {
    BayeuxOptions { subscriptions: vec![api::CHANNEL_CHATS.into()], client: cfg(), ..BayeuxOptions::default() }
}

// ---------------------------------------------------------------------------------------------
// The client

/// A session opened before the login (its own cookie and token), then the Basic login, which the
/// server answers with a new session id and a new token: every Bayeux POST carries the new pair.
/// Run with the documented header name and with another one named by X-CSRF-HEADER.
#[tokio::test]
async fn every_bayeux_post_carries_the_token_handed_out_after_the_login() {
    for header in [api::CSRF_TOKEN_HEADER, "X-Gws-Csrf"] {
        let server = Server::start(header).await;
        let session = AgentSession::new(&server.base, USER, PASSWORD, &cfg()).unwrap();
        let anonymous = session.request(anonymous_get("/api/v2/diagnostics/version")).await.unwrap();
        assert_eq!(anonymous.status, 200);
        let before = session.csrf_token().expect("the anonymous GET hands out a token");
        let me = session.get("/api/v2/me").await.unwrap();
        assert_eq!(me.status, 200, "{}", me.body_text);
        let (logged_in, token) = server.gws().logged_in();
        assert_eq!(server.gws().sessions.len(), 1, "the pre-login session is gone");
        let after = session.csrf_token().unwrap();
        assert_eq!((after.header.as_str(), after.token.as_str()), (header, token.as_str()));
        assert_ne!(before.token, after.token, "the login rotated the token");

        let (bayeux, mut rx) = BayeuxClient::start(&session, options()).await.unwrap();
        let mut seen = Vec::new();
        connect_replies(&mut rx, 3, &mut seen).await;
        bayeux.disconnect().await.unwrap();
        until_closed(&mut rx, &mut seen).await;
        assert!(problems(&seen).is_empty(), "{:?}", problems(&seen));

        let g = server.gws();
        assert!(g.refused().is_empty(), "{:?}", g.refused());
        let posts = g.bayeux_posts();
        for kind in ["handshake", "subscribe", "connect", "disconnect"] {
            let path = format!("{}/{kind}", api::NOTIFICATIONS_PATH);
            assert!(posts.iter().any(|p| p.path == path), "no {kind} POST: {posts:#?}");
        }
        for p in &posts {
            assert_eq!(p.session.as_deref(), Some(logged_in.as_str()), "{p:?}");
            assert_eq!(p.token.as_deref(), Some(token.as_str()), "{p:?}");
        }
    }
}

/// A GET that hands out a new token while a connect is held: the connects after it carry the
/// new one.
#[tokio::test]
async fn the_connect_loop_takes_a_token_handed_out_mid_session() {
    let server = Server::start(api::CSRF_TOKEN_HEADER).await;
    let gate = Arc::new(Notify::new());
    let mut held = server.gws().held.subscribe();
    server.gws().gate = Some(Arc::clone(&gate));
    let session = AgentSession::new(&server.base, USER, PASSWORD, &cfg()).unwrap();
    assert_eq!(session.get("/api/v2/me").await.unwrap().status, 200);
    let (_, first) = server.gws().logged_in();
    let (bayeux, mut rx) = BayeuxClient::start(&session, options()).await.unwrap();
    // The first connect is answered at once; the second is held, its token already checked.
    tokio::time::timeout(DEADLINE, held.wait_for(|n| *n == 1)).await.expect("a held connect").unwrap();

    let list = session.get("/api/v2/me/chats?rotate").await.unwrap();
    assert_eq!(list.status, 200);
    let (_, second) = server.gws().logged_in();
    assert_ne!(first, second);
    let sent_before = server.gws().bayeux_posts().len();
    server.gws().gate = None;
    gate.notify_one();
    let mut seen = Vec::new();
    // The first connect, the held one, and one sent after it.
    connect_replies(&mut rx, 3, &mut seen).await;
    bayeux.disconnect().await.unwrap();
    until_closed(&mut rx, &mut seen).await;

    let g = server.gws();
    assert!(g.refused().is_empty(), "{:?}", g.refused());
    let later = &g.bayeux_posts()[sent_before..];
    assert!(later.len() >= 2, "{later:#?}");
    assert!(later.iter().all(|p| p.token.as_deref() == Some(second.as_str())), "{later:#?}");
}

/// A handshake without a token (no GET yet), or with a pre-login one: an error naming CSRF and
/// what the POST carried.
#[tokio::test]
async fn a_handshake_refused_with_403_is_an_error_naming_csrf() {
    let server = Server::start(api::CSRF_TOKEN_HEADER).await;
    let session = AgentSession::new(&server.base, USER, PASSWORD, &cfg()).unwrap();
    let err = BayeuxClient::start(&session, options()).await.err().expect("refused");
    assert!(matches!(err, BayeuxError::Forbidden { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("CometD handshake: HTTP 403"), "{text}");
    assert!(text.contains("CSRF") && text.contains("carried no CSRF token"), "{text}");
    assert!(text.contains(api::CSRF_REFUSAL_BODY), "{text}");

    assert_eq!(session.request(anonymous_get("/api/v2/diagnostics/version")).await.unwrap().status, 200);
    let err = BayeuxClient::start(&session, options()).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("carried the CSRF token in X-CSRF-TOKEN"), "{text}");
    assert_eq!(server.gws().refused().len(), 2, "one handshake each time, no retry");
}

/// The token rotated behind the client's back: the next connect is refused, the loop stops at
/// once with a fatal problem naming CSRF (the same POST would be refused again).
#[tokio::test]
async fn a_connect_refused_with_403_ends_the_loop_with_a_problem_naming_csrf() {
    let server = Server::start(api::CSRF_TOKEN_HEADER).await;
    let session = AgentSession::new(&server.base, USER, PASSWORD, &cfg()).unwrap();
    assert_eq!(session.get("/api/v2/me").await.unwrap().status, 200);
    let (bayeux, mut rx) = BayeuxClient::start(&session, options()).await.unwrap();
    let mut seen = Vec::new();
    connect_replies(&mut rx, 1, &mut seen).await;
    {
        let mut g = server.gws();
        let (id, _) = g.logged_in();
        let token = g.fresh("T");
        g.sessions.get_mut(&id).unwrap().token = token;
    }
    until_closed(&mut rx, &mut seen).await;
    let problems = problems(&seen);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let (fatal, description) = &problems[0];
    assert!(*fatal, "{description}");
    assert!(description.starts_with("connect refused: HTTP 403 to the connect POST"), "{description}");
    assert!(description.contains("CSRF"), "{description}");
    assert_eq!(server.gws().refused().len(), 1, "not retried");
    // The loop is over; disconnect still returns (its own POST is refused too).
    let result = tokio::time::timeout(DEADLINE, bayeux.disconnect()).await.expect("disconnect returns");
    assert!(matches!(result, Err(BayeuxError::Forbidden { .. })), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// The runner's login

/// A scenario's agent reads anonymously, logs in (the server rotates) and logs out: every POST,
/// CometD's and the session operations', is accepted with the post-login cookie and token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_logs_in_and_out_with_the_post_login_token() {
    let server = Server::start(api::CSRF_TOKEN_HEADER).await;
    let text = "\
name: Login on a server that rotates the session at login
agents: [a1]
steps:
  - name: an anonymous read opens a session first
    agent: a1
    http: { path: /api/v2/diagnostics/version, auth: false }
  - name: the agent logs in
    login: a1
  - name: the agent logs out
    logout: a1
";
    let sc = scenario::parse::parse_str("rotating-login.yaml", text).unwrap_or_else(|d| panic!("{d:?}"));
    let cfg = RunConfig::new(
        Target {
            base_url: server.base.clone(),
            agents: vec![Credentials { username: USER.into(), password: PASSWORD.into() }],
            contact_center_id: "csrf".into(),
            embedded: false,
        },
        cfg(),
        Arc::new(SchemaRegistry::embedded().unwrap()),
    );
    let result = tokio::time::timeout(DEADLINE, runner::run_scenario(&sc, &cfg)).await.expect("the run ended");
    let failed: Vec<_> = result.steps.iter().flat_map(|s| s.failures()).map(|c| (c.rule, c.message.clone())).collect();
    assert!(result.aborted.is_none(), "{:?} {failed:#?}", result.aborted);
    assert!(failed.is_empty(), "{failed:#?}");

    let g = server.gws();
    assert!(g.refused().is_empty(), "{:?}", g.refused());
    let (logged_in, token) = g.logged_in();
    let bayeux = g.bayeux_posts();
    assert!(
        bayeux.iter().any(|p| p.path.ends_with("/handshake")) && bayeux.iter().any(|p| p.path.ends_with("/disconnect"))
    );
    for p in &g.posts {
        assert_eq!(
            (p.session.as_deref(), p.token.as_deref()),
            (Some(logged_in.as_str()), Some(token.as_str())),
            "{p:?}"
        );
    }
    let session_ops = g.posts.iter().filter(|p| !p.path.starts_with(api::NOTIFICATIONS_PATH)).count();
    assert_eq!(session_ops, 4, "StartContactCenterSession, Ready, NotReady, EndContactCenterSession");
}
