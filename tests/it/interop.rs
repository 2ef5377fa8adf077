//! Real Bayeux peers against the simulator: the official CometD JavaScript client (npm `cometd`
//! over `cometd-nodejs-client`) handshakes with the simulator's session cookie, subscribes, and
//! receives the Invited notification of a customer's chat; every message it printed is then
//! validated against the documented schemas.
//!
//! The peer is installed by `.ci/run` (`npm ci` in tests/interop). Without it the test says so
//! and passes, unless CHATPROBE_REQUIRE_INTEROP=1 (as in CI), where a missing peer fails.

use std::path::PathBuf;
use std::time::Duration;

use chatprobe::contract::classify::bayeux_schema;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::sim::{self, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_cometd_js_client_receives_an_invited_notification() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    if !dir.join("node_modules/cometd").is_dir() {
        assert!(
            std::env::var("CHATPROBE_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "the CometD JS client is not installed: run `npm ci` in tests/interop"
        );
        eprintln!("skipped: the CometD JS client is not installed (npm ci in tests/interop)");
        return;
    }
    let cfg = SimConfig { agents: 2, cometd_timeout: Duration::from_secs(2), ..SimConfig::default() };
    let password = cfg.password.clone();
    let running = sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let child = tokio::process::Command::new("node")
        .arg("cometd-js-client.mjs")
        .arg(running.base_url())
        .arg("agent1")
        .arg(&password)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), child).await.expect("the JS client hung").unwrap();
    running.shutdown().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    let reg = SchemaRegistry::embedded().unwrap();
    let events: Vec<serde_json::Value> =
        stdout.lines().filter_map(|l| l.strip_prefix("EVENT ")).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!events.is_empty(), "{stdout}");
    for ev in &events {
        let violations = reg.validate(bayeux_schema(ev), ev).unwrap();
        assert!(violations.is_empty(), "{violations:#?}\n{ev}");
    }
    let invited = events.iter().filter(|e| e["data"]["chat"]["state"] == "Invited").count();
    assert_eq!(invited, 1, "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("HANDSHAKE ")), "{stdout}");
}
