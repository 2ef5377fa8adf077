//! Real Bayeux clients against the simulator: the official CometD JavaScript client (npm `cometd`
//! over `cometd-nodejs-client`) and the Faye client (npm `faye`). Each logs in (session cookie and
//! CSRF token from the login's answer, both sent on every CometD request), handshakes, subscribes,
//! receives the Invited offer of a customer's chat, accepts it and receives the NewMessages that
//! carries the customer's text (tests/interop/gws-agent.mjs). Every message the peer received is
//! then validated against the documented schemas.

use std::time::Duration;

use serde_json::Value;

use chatprobe::contract::classify::bayeux_schema;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::sim::{self, SimConfig};

use super::require;

/// Bound on a peer's whole run (the scripts give up on their own after 20 s).
const PEER_DEADLINE: Duration = Duration::from_secs(40);

/// Run `script` against a fresh simulator; every message it printed as `MSG <json>`.
async fn run_peer(script: &str, packages: &[&str]) -> Option<Vec<Value>> {
    let dir = require(script, packages)?;
    let cfg = SimConfig { agents: 2, cometd_timeout: Duration::from_secs(2), ..SimConfig::default() };
    let password = cfg.password.clone();
    let running = sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let child = tokio::process::Command::new("node")
        .arg(script)
        .arg(running.base_url())
        .arg("agent1")
        .arg(&password)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PEER_DEADLINE, child).await.unwrap_or_else(|_| panic!("{script} hung")).unwrap();
    running.shutdown().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{script}: {}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let messages = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("MSG "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{script} printed {l}: {e}")))
        .collect();
    Some(messages)
}

/// Every message validates; the handshake succeeded; one Invited offer and the NewMessages with
/// the customer's text arrived.
fn check_peer_saw_the_chat(script: &str, messages: &[Value]) {
    let reg = SchemaRegistry::embedded().unwrap();
    for m in messages {
        let violations = reg.validate(bayeux_schema(m), m).unwrap();
        assert!(violations.is_empty(), "{script}: {violations:#?}\n{m}");
    }
    let on = |channel: &'static str| messages.iter().filter(move |m| m["channel"] == channel);
    assert!(on("/meta/handshake").any(|m| m["successful"] == true), "{script}: {messages:#?}");
    assert!(on("/meta/subscribe").any(|m| m["successful"] == true), "{script}: {messages:#?}");
    let data: Vec<&Value> = on("/v2/me/chats").map(|m| &m["data"]).collect();
    let invited = data.iter().filter(|d| d["notificationType"] == "StatusChange" && d["chat"]["state"] == "Invited");
    assert_eq!(invited.count(), 1, "{script}: {data:#?}");
    let said = data.iter().filter(|d| {
        d["notificationType"] == "NewMessages"
            && d["messages"]
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["text"] == "hello from the interop customer"))
    });
    assert_eq!(said.count(), 1, "{script}: {data:#?}");
    assert!(on("/meta/disconnect").any(|m| m["successful"] == true), "{script}: {messages:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_cometd_js_client_receives_an_offer_and_new_messages() {
    const SCRIPT: &str = "cometd-js-client.mjs";
    if let Some(messages) = run_peer(SCRIPT, &["cometd", "cometd-nodejs-client"]).await {
        check_peer_saw_the_chat(SCRIPT, &messages);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faye_client_receives_an_offer_and_new_messages() {
    const SCRIPT: &str = "faye-client.mjs";
    if let Some(messages) = run_peer(SCRIPT, &["faye"]).await {
        check_peer_saw_the_chat(SCRIPT, &messages);
    }
}
