//! CSRF on the simulator's CometD endpoint, and the session and token rotated at the Basic login
//! (Spring Security's behaviour; CSRFProtection page: "send that header on every
//! PUT/POST/DELETE"). Raw HTTP over loopback.

use std::time::Duration;

use chatprobe::sim::{Faults, SimConfig};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::support::start;

const DEADLINE: Duration = Duration::from_secs(10);

fn config() -> SimConfig {
    SimConfig { agents: 2, cometd_timeout: Duration::from_secs(1), ..SimConfig::default() }
}

fn handshake() -> Value {
    json!([{"id": "1", "channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}])
}

fn token(response: &Response) -> String {
    response.headers()["X-CSRF-TOKEN"].to_str().unwrap().to_owned()
}

fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("JSESSIONID="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

async fn post_bayeux(http: &Client, base: &str, token: Option<&str>, body: Value) -> Response {
    let mut request = http.post(format!("{base}/api/v2/notifications")).json(&body);
    if let Some(token) = token {
        request = request.header("X-CSRF-TOKEN", token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_login_rotates_session_and_token_and_cometd_posts_need_the_new_token() {
    let sim = start(config()).await;
    let base = sim.base_url();
    let http = crate::support::http(DEADLINE);

    // Unauthenticated: 401, but an anonymous session and a token.
    let anonymous = http.get(format!("{base}/api/v2/me")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["X-CSRF-HEADER"], "X-CSRF-TOKEN");
    let pre_token = token(&anonymous);
    let pre_session = session_cookie(&anonymous).expect("an anonymous session cookie");

    // The login, carrying the anonymous session's cookie: a new session id and a new token.
    let login = http.get(format!("{base}/api/v2/me")).basic_auth("agent1", Some("password")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let post_token = token(&login);
    let post_session = session_cookie(&login).expect("the login sets a new session cookie");
    assert_ne!(post_token, pre_token, "the token is rotated at login");
    assert_ne!(post_session, pre_session, "the session id is rotated at login");

    // The token handed out before the login is refused; none at all too.
    for sent in [Some(pre_token.as_str()), None, Some("not-a-token")] {
        let refused = post_bayeux(&http, &base, sent, handshake()).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "token {sent:?}");
        assert_eq!(refused.text().await.unwrap(), "Missing or invalid Csrf token");
    }
    assert_eq!(sim.handle.stats().bayeux_clients, 0, "no refused handshake made a client");

    // The token handed out after the login is accepted, on every kind of CometD POST.
    let accepted = post_bayeux(&http, &base, Some(&post_token), handshake()).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let replies: Value = accepted.json().await.unwrap();
    assert_eq!(replies[0]["successful"], true, "{replies}");
    let client_id = replies[0]["clientId"].as_str().unwrap().to_owned();
    let subscribe = json!([{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/chats"}]);
    let connect = json!([{"channel": "/meta/connect", "clientId": client_id, "connectionType": "long-polling"}]);
    let disconnect = json!([{"channel": "/meta/disconnect", "clientId": client_id}]);
    for body in [subscribe, connect, disconnect] {
        let channel = body[0]["channel"].clone();
        assert_eq!(post_bayeux(&http, &base, None, body.clone()).await.status(), StatusCode::FORBIDDEN, "{channel}");
        let answer = post_bayeux(&http, &base, Some(&post_token), body).await;
        assert_eq!(answer.status(), StatusCode::OK, "{channel}");
        let replies: Value = answer.json().await.unwrap();
        let reply = replies.as_array().unwrap().iter().find(|r| r["channel"] == channel).unwrap();
        assert_eq!(reply["successful"], true, "{reply}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_login_without_a_cookie_opens_a_session_and_drops_no_other() {
    let sim = start(config()).await;
    let base = sim.base_url();
    let first = crate::support::http(DEADLINE);
    let second = crate::support::http(DEADLINE);
    let one = first.get(format!("{base}/api/v2/me")).basic_auth("agent1", Some("password")).send().await.unwrap();
    let two = second.get(format!("{base}/api/v2/me")).basic_auth("agent1", Some("password")).send().await.unwrap();
    assert_ne!(session_cookie(&one), session_cookie(&two));
    assert_ne!(token(&one), token(&two));
    // Each session's token works with its own cookie only.
    let own = post_bayeux(&first, &base, Some(&token(&one)), handshake()).await;
    assert_eq!(own.status(), StatusCode::OK);
    let crossed = post_bayeux(&first, &base, Some(&token(&two)), handshake()).await;
    assert_eq!(crossed.status(), StatusCode::FORBIDDEN);
    assert_eq!(sim.handle.stats().http_sessions, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_csrf_not_enforced_fault_lets_cometd_posts_through_without_a_token() {
    let faults = Faults { csrf_not_enforced: true, ..Faults::default() };
    let sim = start(SimConfig { faults, ..config() }).await;
    let base = sim.base_url();
    let http = crate::support::http(DEADLINE);
    http.get(format!("{base}/api/v2/me")).basic_auth("agent1", Some("password")).send().await.unwrap();
    let answer = post_bayeux(&http, &base, None, handshake()).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let replies: Value = answer.json().await.unwrap();
    assert_eq!(replies[0]["successful"], true, "{replies}");
    sim.shutdown().await;
}
