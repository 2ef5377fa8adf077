//! The harness against a hostile server: bodies that are not JSON (malformed, truncated, invalid
//! UTF-8, nested past any parser's depth), endless bodies, silence, resets, slow drips, truncated
//! bodies, redirect loops, and a CometD endpoint that answers garbage or never answers. Each case
//! must end as a violation or a transport error in the report, never a panic or a hang, and the
//! run must go on to the next case and still write its reports.
//!
//! One loopback listener serves every case. Each connection's request head is read first: the
//! cases below HTTP are answered on the raw socket, every other connection is handed to an axum
//! router with the head replayed in front of the stream.
//!
//! The second half runs the `chatprobe` binary against the same server (and on hostile input
//! files): a 16 MB CometD answer of `[0,0,…]`, CometD answers that are not arrays, of the wrong
//! types or of 90,000 messages, a held connect never answered, a gzip bomb, a body longer than
//! its Content-Length, scenario directories with a symlink cycle or a FIFO, a 20 MB single-line
//! YAML. Each asserts the exit code, a clear message, reports and console output under
//! [`MAX_REPORT`], and where memory is at stake a peak RSS under [`MAX_RSS_KB`]; each wait has
//! a deadline ([`RUN_BOUND`]) and no duration is asserted (scripts/bench/hostile-16mb.sh times
//! the 16 MB case).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use chatprobe::client::{AgentSession, BayeuxClient, BayeuxEvent, BayeuxOptions, ClientConfig};
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::report;
use chatprobe::runner::{self, Credentials, Outcome, RunConfig, RunResult, ScenarioResult, Target};
use chatprobe::scenario::{self, Scenario};

/// Bound on the whole run: a hang check, far above what the cases need.
const RUN_BOUND: Duration = Duration::from_secs(120);
/// The harness's deadline of one request in these tests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// The harness's body cap in these tests.
const MAX_BODY: usize = 1024 * 1024;
/// What the endless-body cases offer to send.
const HUGE: u64 = 100 * 1024 * 1024;
/// Depth of the nested-JSON case.
const NESTING: usize = 100_000;
/// Events in one connect answer of the `many` agent: past the client's message cap
/// (`MAX_MESSAGES`), within the JSON value budget.
const MANY_EVENTS: usize = 90_000;
/// Decompressed size of the gzip bomb.
const BOMB: u64 = 100 * 1024 * 1024;
/// Size of the `[0,0,…]` answer to every connect of the `flood` agent: 16 MB, just under the
/// binary's default body cap (16 MiB), so the whole of it is read.
const FLOOD: usize = 16_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn client_config() -> ClientConfig {
    ClientConfig { request_timeout: REQUEST_TIMEOUT, max_body: MAX_BODY, ..ClientConfig::default() }
}

// ---------------------------------------------------------------------------------------------
// The hostile server

struct Hostile {
    base_url: String,
    /// Body bytes the endless-body cases managed to write before the client hung up.
    huge_sent: Arc<AtomicU64>,
}

impl Hostile {
    async fn start() -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let huge_sent = Arc::new(AtomicU64::new(0));
        let (to_axum, handed) = mpsc::unbounded_channel();
        tokio::spawn(async move { axum::serve(Handoff { handed, addr }, app()).await.unwrap() });
        let sent = Arc::clone(&huge_sent);
        tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else { continue };
                tokio::spawn(dispatch(stream, peer, to_axum.clone(), Arc::clone(&sent)));
            }
        });
        Hostile { base_url: format!("http://{addr}"), huge_sent }
    }
}

/// Read the request head, then answer below HTTP or hand the connection to axum.
async fn dispatch(
    mut stream: TcpStream,
    peer: SocketAddr,
    to_axum: mpsc::UnboundedSender<(Replay, SocketAddr)>,
    huge_sent: Arc<AtomicU64>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\r').unwrap_or(0)]).into_owned();
    let path = line.split(' ').nth(1).unwrap_or("");
    match path {
        "/hostile/silent" => {
            // Accepted, request read, never a byte back: the socket stays open while the task lives.
            let _open = stream;
            std::future::pending::<()>().await;
        }
        "/hostile/reset" => {
            // SO_LINGER 0: closing sends RST instead of FIN.
            stream.set_zero_linger().unwrap();
            drop(stream);
        }
        "/hostile/drip" => drip(stream).await,
        "/hostile/truncated-body" => {
            let body = br#"{"statusCode":0,"chats":["#;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body).await;
            let _ = stream.shutdown().await;
        }
        "/hostile/gzip-bomb" => {
            let bomb = gzip_bomb();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                bomb.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(bomb).await;
        }
        "/hostile/overlong-body" => {
            // Declares 10 bytes, sends more: the client must take 10 and no more.
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(br#"{"statusCode":0,"chats":[]}"#).await;
            let _ = stream.shutdown().await;
        }
        "/hostile/huge-chunked" => endless(stream, true, &huge_sent).await,
        "/hostile/huge-declared" => endless(stream, false, &huge_sent).await,
        _ => {
            let _ = to_axum.send((Replay { head, at: 0, inner: stream }, peer));
        }
    }
}

/// [`BOMB`] zero bytes, gzipped (about 100 KB), made once with the system's `gzip`.
fn gzip_bomb() -> &'static [u8] {
    static BOMB_GZ: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB_GZ.get_or_init(|| {
        let script = format!("head -c {BOMB} /dev/zero | gzip -c");
        let out = std::process::Command::new("sh").args(["-c", &script]).output().expect("sh and gzip run");
        assert!(out.status.success() && out.stdout.len() < 1024 * 1024, "gzip failed: {:?}", out.status);
        out.stdout
    })
}

/// Headers at once, then one body byte every 200 ms for as long as the client listens.
async fn drip(mut stream: TcpStream) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        if stream.write_all(b" ").await.is_err() {
            return;
        }
    }
}

/// A [`HUGE`]-byte JSON array generated block by block (never held whole), chunked or with
/// its length declared up front; stops when the client hangs up.
async fn endless(mut stream: TcpStream, chunked: bool, sent: &AtomicU64) {
    let framing = if chunked { "transfer-encoding: chunked".to_owned() } else { format!("content-length: {HUGE}") };
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{framing}\r\n\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut block = b"0,".repeat(32 * 1024);
    block[0] = b'[';
    let mut left = HUGE;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        let written = if chunked {
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(&block[..n]);
            framed.extend_from_slice(b"\r\n");
            stream.write_all(&framed).await
        } else {
            stream.write_all(&block[..n]).await
        };
        if written.is_err() {
            return;
        }
        sent.fetch_add(n as u64, Ordering::Relaxed);
        left -= n as u64;
        block[0] = b'0';
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n").await;
    }
}

/// Connections for axum, handed over by [`dispatch`].
struct Handoff {
    handed: mpsc::UnboundedReceiver<(Replay, SocketAddr)>,
    addr: SocketAddr,
}

impl axum::serve::Listener for Handoff {
    type Io = Replay;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Replay, SocketAddr) {
        match self.handed.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// A stream that yields the already-read request head before the rest of the socket.
struct Replay {
    head: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl AsyncRead for Replay {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.head.len() {
            let n = buf.remaining().min(this.head.len() - this.at);
            buf.put_slice(&this.head[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replay {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

fn app() -> Router {
    Router::new()
        .route(
            "/hostile/malformed-json",
            get(|| async { json_bytes(b"{\"statusCode\":0 \"statusMessage\":\"\x1b[2J\x01\"}") }),
        )
        .route("/hostile/truncated-json", get(|| async { json_bytes(br#"{"statusCode":0,"chats":[{"id":"0001"#) }))
        .route(
            "/hostile/invalid-utf8",
            get(|| async { json_bytes(b"{\"statusCode\":0,\"statusMessage\":\"caf\xe9 \xff\"}") }),
        )
        .route(
            "/hostile/lone-surrogate",
            get(|| async { json_bytes(br#"{"statusCode":0,"statusMessage":"\ud800\u0041"}"#) }),
        )
        .route("/hostile/nested", get(|| async { json_bytes(&b"[".repeat(NESTING)) }))
        .route("/hostile/redirect", get(|| async { (StatusCode::FOUND, [(LOCATION, "/hostile/redirect")]) }))
        .route("/hostile/ok", get(|| async { axum::Json(json!({"statusCode": 0})) }))
        .route("/api/v2/me", get(me).post(ok))
        .route("/api/v2/me/channels/{channel}", post(ok))
        .route("/api/v2/me/chats", get(|| async { axum::Json(json!({"statusCode": 0, "chats": []})) }))
        .route("/api/v2/notifications/{kind}", post(bayeux))
}

fn json_bytes(body: &[u8]) -> Response {
    ([(CONTENT_TYPE, "application/json")], body.to_vec()).into_response()
}

async fn ok() -> axum::Json<Value> {
    axum::Json(json!({"statusCode": 0}))
}

/// The Basic username; the agent's name selects how the server misbehaves.
fn basic_user(headers: &HeaderMap) -> String {
    let encoded = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    let decoded = encoded.and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok()).unwrap_or_default();
    let text = String::from_utf8_lossy(&decoded).into_owned();
    text.split_once(':').map_or(text.clone(), |(user, _)| user.to_owned())
}

/// GET /api/v2/me: a valid user and a session cookie naming it, except for `redirect`.
async fn me(headers: HeaderMap) -> Response {
    let user = basic_user(&headers);
    if user == "redirect" {
        return (StatusCode::FOUND, [(LOCATION, "/api/v2/me")]).into_response();
    }
    let body = json!({"statusCode": 0, "user": {"id": format!("u-{user}"), "userName": user}});
    ([(SET_COOKIE, format!("JSESSIONID={user}; Path=/"))], axum::Json(body)).into_response()
}

/// [`FLOOD`] bytes of `[0,0,…,0]`: valid JSON, millions of values. Built once, shared by every answer.
fn flood_body() -> Bytes {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = Vec::with_capacity(FLOOD);
        body.push(b'[');
        while body.len() + 3 < FLOOD {
            body.extend_from_slice(b"0,");
        }
        body.extend_from_slice(b"0]");
        body.resize(FLOOD, b' ');
        Bytes::from(body)
    })
    .clone()
}

/// The CometD endpoint, by session cookie: `garbage` gets a handshake answer that is not JSON,
/// `mute` no handshake answer, `hold` a normal session whose connects never return, `flood` a
/// normal session whose every connect is answered with [`flood_body`].
async fn bayeux(Path(kind): Path<String>, headers: HeaderMap, body: String) -> Response {
    let cookies = headers.get(COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let user = cookies.split(';').find_map(|c| c.trim().strip_prefix("JSESSIONID=")).unwrap_or("").to_owned();
    let message: Value = serde_json::from_str::<Value>(&body).ok().and_then(|v| v.get(0).cloned()).unwrap_or_default();
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let client_id = format!("client-{user}");
    let reply = match (user.as_str(), kind.as_str()) {
        ("garbage", "handshake") => {
            return json_bytes(b"[{\"channel\":\"/meta/handshake\",\"successful\":tru\x00<html><body>502</body>");
        }
        ("mute", "handshake") | ("hold", "connect") => std::future::pending().await,
        ("flood", "connect") => return ([(CONTENT_TYPE, "application/json")], flood_body()).into_response(),
        ("notarray", "connect") => return json_bytes(br#""connect""#),
        ("wrongtypes", "connect") => {
            let reply = json!([
                {"channel": 7, "id": {}, "successful": "yes", "advice": [1], "clientId": false},
                {"channel": "/v2/me/channels", "data": {"channels": "chat"}},
            ]);
            return axum::Json(reply).into_response();
        }
        ("many", "connect") => {
            let mut events = vec![json!({"channel": "/v2/me/chats"}); MANY_EVENTS];
            events.push(json!({"id": id, "channel": "/meta/connect", "successful": true, "clientId": client_id}));
            return axum::Json(Value::Array(events)).into_response();
        }
        (_, "handshake") => json!({
            "id": id, "channel": "/meta/handshake", "successful": true, "version": "1.0",
            "clientId": client_id, "supportedConnectionTypes": ["long-polling"],
            // CometD's default hold: the first connect asks for none and must not get it.
            "advice": {"reconnect": "retry", "interval": 0, "timeout": 30_000},
        }),
        (_, "subscribe") => json!({
            "id": id, "channel": "/meta/subscribe", "successful": true, "clientId": client_id,
            "subscription": message.get("subscription").cloned().unwrap_or(Value::Null),
        }),
        (_, "disconnect") => json!({"id": id, "channel": "/meta/disconnect", "successful": true}),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    axum::Json(json!([reply])).into_response()
}

// ---------------------------------------------------------------------------------------------
// Running the cases

fn hostile_scenario() -> Scenario {
    let path = root().join("tests/fixtures/scenarios/hostile.yaml");
    scenario::parse_file(&path).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Each step of `sc` as a scenario of its own: the runner skips the rest of a scenario after a
/// transport error, and every case must show that what follows it still runs.
fn one_scenario_per_step(sc: &Scenario) -> Vec<Scenario> {
    sc.steps
        .iter()
        .map(|st| Scenario { name: format!("{}: {}", sc.name, st.name), steps: vec![st.clone()], ..sc.clone() })
        .collect()
}

fn run_config(server: &Hostile, sc: &Scenario) -> RunConfig {
    let agents = sc.agents.iter().map(|a| Credentials { username: a.clone(), password: "password".into() }).collect();
    RunConfig::new(
        Target { base_url: server.base_url.clone(), agents, contact_center_id: "hostile".into(), embedded: false },
        client_config(),
        Arc::new(SchemaRegistry::embedded().unwrap()),
    )
}

/// How a case must end.
enum Ends {
    /// A failed check of this rule whose message contains the text; the step itself ran.
    Violation(&'static str, &'static str),
    /// A failed `transport` check, and the step's error, both containing the text.
    Transport(&'static str),
    /// The scenario was aborted as could-not-run, with the text in its message.
    CouldNotRun(&'static str),
    Passes,
}

const CASES: &[(&str, Ends)] = &[
    ("malformed JSON", Ends::Violation("protocol.json", "not valid JSON: expected `,` or `}` at line 1 column 17")),
    ("truncated JSON", Ends::Violation("protocol.json", "EOF while parsing")),
    ("invalid UTF-8", Ends::Violation("protocol.json", "invalid unicode code point")),
    ("lone surrogate", Ends::Violation("protocol.json", "lone leading surrogate")),
    ("deeply nested JSON", Ends::Violation("protocol.json", "recursion limit exceeded")),
    ("100 MB body, chunked", Ends::Transport("larger than the 1048576-byte limit")),
    ("100 MB body, declared", Ends::Transport("larger than the 1048576-byte limit (Content-Length: 104857600)")),
    ("accepts and never answers", Ends::Transport("no complete answer within 1s")),
    ("connection reset", Ends::Transport("reset")),
    ("slow drip", Ends::Transport("no complete answer within 1s")),
    ("truncated body", Ends::Transport("end of file before message length reached")),
    ("redirect loop", Ends::Violation("assert.status", "expected HTTP status 200, got 302")),
    ("login, /me redirects", Ends::CouldNotRun("was refused: HTTP 302")),
    ("login, handshake answer is garbage", Ends::CouldNotRun("CometD handshake: handshake response is not JSON")),
    ("login, handshake never answered", Ends::CouldNotRun("no complete answer within 1s")),
    ("login, connect never returns", Ends::Violation("protocol.bayeux", "not answered")),
    ("a well-behaved endpoint still answers", Ends::Passes),
];

/// Every failed check of a scenario, teardown included.
fn failed_checks(sc: &ScenarioResult) -> Vec<(&'static str, &str)> {
    sc.steps.iter().flat_map(|s| s.failures()).map(|c| (c.rule, c.message.as_str())).collect()
}

fn assert_case(sc: &ScenarioResult, ends: &Ends) {
    let step = &sc.steps[0];
    let failed = failed_checks(sc);
    let context = format!("{}: failed {failed:#?}, error {:?}, aborted {:?}", sc.name, step.error, sc.aborted);
    assert!(!step.skipped, "{context}");
    match ends {
        Ends::Violation(rule, text) => {
            assert!(sc.aborted.is_none(), "{context}");
            assert!(failed.iter().any(|(r, m)| r == rule && m.contains(text)), "{context}");
            // Only the hostile answer is reported, and as what it is.
            assert!(failed.iter().all(|(r, _)| r == rule), "{context}");
            assert!(step.error.is_none(), "{context}");
        }
        Ends::Transport(text) => {
            assert!(sc.aborted.is_none(), "{context}");
            assert!(failed.iter().any(|(r, m)| *r == "transport" && m.contains(text)), "{context}");
            assert!(step.error.as_deref().is_some_and(|e| e.contains(text)), "{context}");
        }
        Ends::CouldNotRun(text) => {
            let abort = sc.aborted.as_ref().expect(&context);
            assert!(abort.could_not_run && abort.message.contains(text), "{context}");
            assert!(step.error.as_deref().is_some_and(|e| e.contains(text)), "{context}");
        }
        Ends::Passes => assert!(sc.passed(), "{context}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_answer_ends_in_the_report_and_the_run_goes_on() {
    let server = Hostile::start().await;
    let file = hostile_scenario();
    let names: Vec<&str> = file.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, CASES.iter().map(|(n, _)| *n).collect::<Vec<_>>(), "one case per step, in order");
    let cases = one_scenario_per_step(&file);
    let cfg = run_config(&server, &file);

    let result: RunResult =
        tokio::time::timeout(RUN_BOUND, runner::run_scenarios(&cases, &cfg)).await.expect("the run hung");

    // Every case ran, each after the ones before it, and ended as it must.
    assert_eq!(result.scenarios.len(), CASES.len());
    for (sc, (name, ends)) in result.scenarios.iter().zip(CASES) {
        assert_eq!(sc.steps[0].name, *name);
        assert_case(sc, ends);
    }
    // The endless bodies were refused while streaming, not read: the server could not write
    // anywhere near what it offered before the client hung up.
    let sent = server.huge_sent.load(Ordering::Relaxed);
    assert!(sent < HUGE, "the server wrote {sent} bytes of its endless bodies");

    assert_eq!(result.outcome(), Outcome::CouldNotRun);
    let by_rule = &result.violations_by_rule;
    assert_eq!(by_rule.get("protocol.json"), Some(&5), "{by_rule:?}");
    assert_eq!(by_rule.get("transport"), Some(&6), "{by_rule:?}");
    assert_eq!(by_rule.get("assert.status"), Some(&1), "{by_rule:?}");
    assert!(by_rule.get("protocol.bayeux").is_some_and(|n| *n >= 1), "{by_rule:?}");

    // Both reports are written, and the JSON one still validates against its schema.
    let report_json = report::json::to_value(&result);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/chatprobe/report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&report_json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report_json["outcome"], "could-not-run");
    let mut xml = Vec::new();
    report::junit::write(&result, &mut xml).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    let steps: usize = result.scenarios.iter().map(|s| s.steps.len()).sum();
    assert_eq!(xml.matches("<testcase ").count(), steps);
    // XML 1.0 cannot carry control characters, even escaped: a hostile body's must not get in.
    assert!(!xml.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')), "{xml}");
    assert!(xml.matches("<error ").count() >= 9, "six transport errors and three logins that could not run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_that_never_returns_ends_the_cometd_session_with_a_fatal_problem() {
    let server = Hostile::start().await;
    let session = AgentSession::new(&server.base_url, "hold", "password", &client_config()).unwrap();
    let me = session.get("/api/v2/me").await.unwrap();
    assert_eq!(me.status, 200);
    let opts = BayeuxOptions { client: client_config(), ..BayeuxOptions::default() };
    let (bayeux, mut rx) = BayeuxClient::start(&session, opts).await.unwrap();

    // Without a disconnect, the loop gives up on its own and closes the stream.
    let mut problems = Vec::new();
    let closed = tokio::time::timeout(RUN_BOUND, async {
        while let Some(ev) = rx.recv().await {
            match ev {
                BayeuxEvent::Problem { fatal, description } => problems.push((fatal, description)),
                BayeuxEvent::Closed => return true,
                _ => {}
            }
        }
        false
    })
    .await
    .expect("the CometD client hung");
    assert!(closed, "{problems:?}");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let (fatal, description) = &problems[0];
    assert!(*fatal, "{description}");
    assert!(description.contains("/api/v2/notifications/connect: no complete answer within 1s"), "{description}");
    assert!(description.contains("the first connect of a session asks for an answer at once"), "{description}");
    assert_eq!(bayeux.handshakes(), 1, "a connect left unanswered is not retried");
    // The loop is over; disconnect still answers and returns.
    tokio::time::timeout(RUN_BOUND, bayeux.disconnect()).await.expect("disconnect hung").unwrap();
}

// ---------------------------------------------------------------------------------------------
// The binary against the hostile server

/// The CLI's exit code for a run with a failed check.
const EXIT_FAIL: i32 = 1;
/// Largest report (JSON, JUnit) and console output a single hostile answer may cause.
const MAX_REPORT: u64 = 10 * 1024 * 1024;
/// Peak resident memory of the harness, whatever one answer holds.
const MAX_RSS_KB: u64 = 300 * 1024;

/// What one `chatprobe run` of the binary left behind.
struct BinaryRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident set (VmHWM) seen while it ran, in kB.
    peak_rss_kb: u64,
    /// Every file the run wrote (reports, captured console), with its size.
    sizes: Vec<(String, u64)>,
    json: Value,
}

/// The peak resident set of a live process, in kB (0 once it has gone).
fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Run the binary on `scenario` (YAML text) against `server` with `agents`; console output is
/// captured to files so that its size can be measured too. Ends within [`RUN_BOUND`].
async fn run_binary(server: &Hostile, name: &str, scenario: &str, agents: &[&str]) -> BinaryRun {
    run_binary_on(server, name, agents, |dir| {
        let file = dir.join("scenario.yaml");
        std::fs::write(&file, scenario).unwrap();
        file
    })
    .await
}

/// As [`run_binary`], on the scenario path `prepare` makes in the run's scratch directory.
async fn run_binary_on(
    server: &Hostile,
    name: &str,
    agents: &[&str],
    prepare: impl FnOnce(&std::path::Path) -> PathBuf,
) -> BinaryRun {
    let dir = std::env::temp_dir().join(format!("chatprobe-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("reports")).unwrap();
    let file = prepare(&dir);
    // scripts/bench/hostile-16mb.sh may point this at a release build.
    let bin = std::env::var("CHATPROBE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_chatprobe").to_owned());
    let mut cmd = std::process::Command::new(bin);
    cmd.arg("run").arg(&file).args(["--target", &server.base_url, "--progress", "off", "--report-dir"]);
    cmd.arg(dir.join("reports"));
    for a in agents {
        cmd.args(["--agent", &format!("{a}:password")]);
    }
    cmd.stdout(std::fs::File::create(dir.join("stdout")).unwrap());
    cmd.stderr(std::fs::File::create(dir.join("stderr")).unwrap());
    let mut child = cmd.current_dir(root()).spawn().unwrap();
    let started = std::time::Instant::now();
    let mut peak_rss_kb = 0;
    let status = loop {
        peak_rss_kb = peak_rss_kb.max(vm_hwm_kb(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_BOUND {
            let _ = child.kill();
            panic!("{name}: the run did not end within {RUN_BOUND:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let took = started.elapsed();
    let mut sizes = Vec::new();
    for f in ["stdout", "stderr", "reports/chatprobe-report.json", "reports/junit.xml"] {
        sizes.push((f.to_owned(), std::fs::metadata(dir.join(f)).map_or(0, |m| m.len())));
    }
    let listed: Vec<String> = sizes.iter().map(|(f, n)| format!("{f} {n} B")).collect();
    eprintln!(
        "{name}: exit {:?} after {:.1} s, peak RSS {peak_rss_kb} kB, {}",
        status.code(),
        took.as_secs_f64(),
        listed.join(", ")
    );
    let read = |f: &str| String::from_utf8_lossy(&std::fs::read(dir.join(f)).unwrap_or_default()).into_owned();
    let json = serde_json::from_str(&read("reports/chatprobe-report.json")).unwrap_or(Value::Null);
    let run =
        BinaryRun { code: status.code(), stdout: read("stdout"), stderr: read("stderr"), peak_rss_kb, sizes, json };
    let _ = std::fs::remove_dir_all(&dir);
    run
}

impl BinaryRun {
    /// Exit code, bounded outputs, and a message containing `text` somewhere in the console or
    /// the JSON report.
    fn assert_ends(&self, code: i32, text: &str) {
        let context = format!("exit {:?}\nstdout: {}\nstderr: {}", self.code, cut(&self.stdout), cut(&self.stderr));
        assert_eq!(self.code, Some(code), "{context}");
        for (file, size) in &self.sizes {
            assert!(*size < MAX_REPORT, "{file} is {size} bytes: {context}");
        }
        let said = format!("{}\n{}\n{}", self.stdout, self.stderr, self.json);
        let context = format!("{context}\njson: {}", cut(&self.json.to_string()));
        assert!(said.contains(text), "no {text:?} in the output: {context}");
        assert!(!said.contains("panicked"), "{context}");
    }
}

/// The head of a long text, for an assertion's message.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(4000) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

const FLOOD_SCENARIO: &str = r#"
name: A CometD flood
agents: [flood]
steps:
  - name: the agent logs in
    login: flood
  - name: the chat channel's Ready state is pushed
    agent: flood
    wait_for:
      channel: /v2/me/channels
      within: 5s
      match:
        channels: { $contains: { channel: chat } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mb_cometd_answer_of_zeros_fails_the_run_in_bounded_memory_and_reports() {
    let server = Hostile::start().await;
    let run = run_binary(&server, "flood", FLOOD_SCENARIO, &["flood"]).await;
    run.assert_ends(EXIT_FAIL, "the body is too large to check");
    assert!(run.json.to_string().contains("at most 200000 JSON values"), "{}", cut(&run.json.to_string()));
    assert!(run.peak_rss_kb > 0, "the peak RSS was never read");
    assert!(run.peak_rss_kb < MAX_RSS_KB, "peak RSS {} kB", run.peak_rss_kb);
    assert_eq!(run.json["outcome"], "fail", "{}", run.json);
}

/// A scenario whose agent logs in and then waits for a push, which the hostile answers to its
/// connects must not satisfy (nor make the wait pass).
fn cometd_scenario(agent: &str) -> String {
    FLOOD_SCENARIO.replace("flood", agent).replace("A CometD flood", &format!("CometD agent {agent}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_connect_never_answered_fails_the_run_instead_of_passing() {
    let server = Hostile::start().await;
    let run = run_binary(&server, "hold", &cometd_scenario("hold"), &["hold"]).await;
    run.assert_ends(EXIT_FAIL, "not answered");
    assert_eq!(run.json["outcome"], "fail", "{}", cut(&run.json.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_cometd_connect_answers_fail_the_run_with_bounded_reports() {
    let server = Hostile::start().await;
    let cases = [
        ("notarray", "meanwhile the CometD session: connect response is JSON but not an array of messages"),
        ("wrongtypes", "breaks schema `bayeux-event` at /channel"),
        ("many", "carries 90001 messages; the first 10000 are taken"),
    ];
    for (agent, says) in cases {
        let run = run_binary(&server, agent, &cometd_scenario(agent), &[agent]).await;
        run.assert_ends(EXIT_FAIL, says);
        assert!(run.peak_rss_kb < MAX_RSS_KB, "{agent}: peak RSS {} kB", run.peak_rss_kb);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_is_refused_at_the_body_cap_while_inflating() {
    gzip_bomb();
    let server = Hostile::start().await;
    let scenario = "name: A gzip bomb\nsteps:\n  - name: bomb\n    http: { path: /hostile/gzip-bomb }\n";
    let run = run_binary(&server, "gzip-bomb", scenario, &["plain"]).await;
    // 100 MB inflated from 100 KB: refused at the binary's default 16 MiB cap, not held whole.
    run.assert_ends(EXIT_FAIL, "response body larger than the 16777216-byte limit");
    assert!(run.peak_rss_kb < MAX_RSS_KB, "peak RSS {} kB", run.peak_rss_kb);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_longer_than_its_content_length_is_read_to_the_declared_length() {
    let server = Hostile::start().await;
    let scenario = "name: Overlong\nsteps:\n  - name: overlong\n    http: { path: /hostile/overlong-body }\n";
    let run = run_binary(&server, "overlong", scenario, &["plain"]).await;
    // The first 10 bytes, `{"statusCo`, and not one more.
    run.assert_ends(EXIT_FAIL, "EOF while parsing");
}

/// A scenario every well-behaved server passes: one GET of /hostile/ok.
const OK_SCENARIO: &str =
    "name: ok\nsteps:\n  - name: ok\n    http: { path: /hostile/ok }\n    expect: { status: 200 }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_cycle_in_a_scenario_directory_is_walked_once() {
    let server = Hostile::start().await;
    let run = run_binary_on(&server, "symlink-cycle", &["plain"], |dir| {
        let scenarios = dir.join("scenarios");
        std::fs::create_dir_all(scenarios.join("sub")).unwrap();
        std::fs::write(scenarios.join("sub/ok.yaml"), OK_SCENARIO).unwrap();
        std::os::unix::fs::symlink("..", scenarios.join("sub/up")).unwrap();
        std::os::unix::fs::symlink(".", scenarios.join("here")).unwrap();
        scenarios
    })
    .await;
    run.assert_ends(0, "1 passed, 0 failed");
    assert_eq!(run.json["scenarios"].as_array().map(Vec::len), Some(1), "{}", cut(&run.json.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_among_scenarios_is_refused_by_name_not_read() {
    let server = Hostile::start().await;
    let mkfifo = |path: &std::path::Path| {
        let made = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
        assert!(made.success());
    };
    let run = run_binary_on(&server, "fifo-in-dir", &["plain"], |dir| {
        let scenarios = dir.join("scenarios");
        std::fs::create_dir_all(&scenarios).unwrap();
        std::fs::write(scenarios.join("ok.yaml"), OK_SCENARIO).unwrap();
        mkfifo(&scenarios.join("pipe.yaml"));
        scenarios
    })
    .await;
    run.assert_ends(2, "pipe.yaml: not a regular file");
    let run = run_binary_on(&server, "fifo-named", &["plain"], |dir| {
        let fifo = dir.join("pipe.yaml");
        mkfifo(&fifo);
        fifo
    })
    .await;
    run.assert_ends(2, "pipe.yaml: not a regular file");
}

/// Most bytes of console output an invalid input may cause.
const MAX_DIAGNOSTICS: u64 = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_single_line_yaml_gets_a_short_diagnostic_that_points_into_it() {
    let server = Hostile::start().await;
    // 20 MB on one line, the error at its far end.
    let text = format!("name: x\nsteps: []\ndescription: {}: bad: [\n", "y ".repeat(10_000_000));
    let run = run_binary(&server, "huge-line", &text, &["plain"]).await;
    run.assert_ends(2, "mapping values are not allowed");
    let printed: u64 = run.sizes.iter().filter(|(f, _)| f == "stdout" || f == "stderr").map(|(_, n)| n).sum();
    assert!(printed < MAX_DIAGNOSTICS, "{printed} bytes of diagnostics");
    assert!(run.stderr.contains("scenario.yaml:3:20000014"), "{}", cut(&run.stderr));
}
