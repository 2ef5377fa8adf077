//! The simulator's own security over loopback sockets: a customer chat answers only to the
//! contact centre it was requested in (and, with a required ContactCenterId, only to that one),
//! a connection that sends no complete header is closed, and a non-loopback bind is warned about.

use std::time::Duration;

use chatprobe::sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{answer, http, start};

const DEADLINE: Duration = Duration::from_secs(20);

async fn request_chat(base: &str, centre: Option<&str>) -> (StatusCode, Value) {
    let body = json!({"operationName": "RequestChat", "nickname": "Ann"});
    let mut request = http(DEADLINE).post(format!("{base}/api/v2/chats")).json(&body);
    if let Some(centre) = centre {
        request = request.header("ContactCenterId", centre);
    }
    answer(request.send().await.unwrap()).await
}

async fn customer_get(base: &str, path: &str, centre: &str) -> (StatusCode, Value) {
    answer(http(DEADLINE).get(format!("{base}{path}")).header("ContactCenterId", centre).send().await.unwrap()).await
}

#[tokio::test]
async fn a_customer_chat_answers_only_to_its_contact_centre() {
    let sim = start(SimConfig { agents: 1, ..SimConfig::default() }).await;
    let base = sim.base_url();
    let (status, created) = request_chat(&base, Some("centre-a")).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap();
    for path in [format!("/api/v2/chats/{id}"), format!("/api/v2/chats/{id}/messages")] {
        assert_eq!(customer_get(&base, &path, "centre-a").await.0, StatusCode::OK, "{path}");
        let (status, body) = customer_get(&base, &path, "centre-b").await;
        assert_eq!((status, body["statusCode"].as_i64()), (StatusCode::NOT_FOUND, Some(6)), "{path}: {body}");
    }
    let send = json!({"operationName": "SendMessage", "text": "not mine"});
    let post =
        http(DEADLINE).post(format!("{base}/api/v2/chats/{id}")).header("ContactCenterId", "centre-b").json(&send);
    let (status, body) = answer(post.send().await.unwrap()).await;
    assert_eq!((status, body["statusCode"].as_i64()), (StatusCode::NOT_FOUND, Some(6)), "{body}");
    let (_, page) = customer_get(&base, &format!("/api/v2/chats/{id}/messages"), "centre-a").await;
    assert!(!page.to_string().contains("not mine"), "another contact centre posted into the chat: {page}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_required_contact_centre_refuses_every_other() {
    let cfg = SimConfig { agents: 1, contact_center_id: Some("cc-1".into()), ..SimConfig::default() };
    let sim = start(cfg).await;
    let base = sim.base_url();
    let (status, body) = request_chat(&base, Some("cc-2")).await;
    assert_eq!((status, body["statusCode"].as_i64()), (StatusCode::FORBIDDEN, Some(3)), "{body}");
    let (status, body) = request_chat(&base, None).await;
    assert_eq!((status, body["statusCode"].as_i64()), (StatusCode::BAD_REQUEST, Some(1)), "{body}");
    let (status, body) = request_chat(&base, Some("cc-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sim.handle.stats().chats_created, 1, "only the right contact centre's request made a chat");
    sim.shutdown().await;
}

/// Read until the server closes the connection, within the deadline; what was read.
async fn until_closed(stream: &mut tokio::net::TcpStream) -> Result<Vec<u8>, &'static str> {
    let mut got = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut got)).await.map_err(|_| "still open at the deadline")?.ok();
    Ok(got)
}

#[tokio::test]
async fn connections_without_a_complete_header_or_idle_are_closed() {
    let cfg = SimConfig { agents: 1, header_read_timeout: Duration::from_millis(500), ..SimConfig::default() };
    let sim = start(cfg).await;
    // Half a request line, then nothing: closed (hyper answers 408 or just closes).
    let mut slow = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    slow.write_all(b"GET /api/v2/diagnostics/ver").await.unwrap();
    let closed = until_closed(&mut slow).await;
    assert!(closed.is_ok(), "a connection sending half a header was never closed");
    // A kept-alive connection that goes quiet after one request: closed too.
    let mut idle = tokio::net::TcpStream::connect(sim.addr).await.unwrap();
    idle.write_all(b"GET /api/v2/diagnostics/version HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answered = until_closed(&mut idle).await.expect("an idle keep-alive connection was never closed");
    assert!(String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 "), "no answer before the close");
    // The simulator still serves.
    let (status, _) =
        answer(http(DEADLINE).get(format!("{}/api/v2/diagnostics/version", sim.base_url())).send().await.unwrap())
            .await;
    assert_ne!(status.as_u16(), 0);
    sim.shutdown().await;
}

/// `--bind` with an address that is not loopback is warned about before anything is bound. The
/// address is from TEST-NET-1 (RFC 5737), which no interface here holds: binding fails, nothing
/// is sent anywhere.
#[test]
fn a_non_loopback_bind_is_warned_about() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .args(["serve", "--bind", "192.0.2.1", "--port", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: --bind 192.0.2.1 is not a loopback address"), "{stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .args(["serve", "--fetch-allow", "ftp://127.0.0.1/", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fetch-allow `ftp://127.0.0.1/`"));
}

/// `--work` longer than a minute, or not a duration, is refused by name before anything is bound.
#[test]
fn an_absurd_work_time_is_refused() {
    for (work, says) in [("70s", "at most 60s"), ("soon", "--work `soon`")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatprobe"))
            .args(["serve", "--port", "0", "--work", work])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}
