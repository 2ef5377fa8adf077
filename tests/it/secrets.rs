//! No secret in any output: a run whose assertions fail on the very headers that carry the
//! session (the CSRF token, the session cookie) writes console, JSON and JUnit reports in which
//! none of the password, its Basic form, the session ids or the CSRF tokens seen on the wire
//! appears — while the same texts, unredacted, did hold them.

use std::sync::Arc;

use base64::Engine;

use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::report;
use chatprobe::runner::{self, Credentials, RunConfig, RunResult, Target};
use chatprobe::scenario;
use chatprobe::sim::{self, SimConfig};

const PASSWORD: &str = "Zx9-s3cr3t-pw";

const LEAKY: &str = r#"
name: assertions on what carries the session
agents: [a1]
steps:
  - name: the agent's session headers, asserted wrongly
    agent: a1
    http: { path: /api/v2/me }
    expect:
      headers:
        X-CSRF-TOKEN: not-the-token
        Set-Cookie: not-the-cookie
  - name: the agent logs in
    login: a1
  - name: a write's answer, asserted wrongly
    agent: a1
    http: { method: POST, path: /api/v2/me/channels/chat, body: { operationName: Ready } }
    expect:
      headers: { X-CSRF-TOKEN: { $absent: true } }
      body: { statusCode: 7 }
"#;

fn outputs(result: &RunResult) -> Vec<(&'static str, String)> {
    let mut console = Vec::new();
    report::console::write(result, &Default::default(), &mut console).unwrap();
    let mut junit = Vec::new();
    report::junit::write(result, &mut junit).unwrap();
    vec![
        ("console", String::from_utf8(console).unwrap()),
        ("json", report::json::to_value(result).to_string()),
        ("junit", String::from_utf8(junit).unwrap()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_shows_a_password_a_basic_header_a_session_id_or_a_csrf_token() {
    let running =
        sim::start(SimConfig { password: PASSWORD.into(), ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let sc = scenario::parse_str("leaky.yaml", LEAKY).unwrap_or_else(|d| panic!("{d:?}"));
    let target = Target {
        base_url: running.base_url(),
        agents: vec![Credentials { username: "agent1".into(), password: PASSWORD.into() }],
        contact_center_id: "secrets".into(),
        embedded: true,
    };
    let cfg = RunConfig::new(target, ClientConfig::default(), Arc::new(SchemaRegistry::embedded().unwrap()));
    let mut result = runner::run_scenarios(&[sc], &cfg).await;
    running.shutdown().await;

    let mut secrets = cfg.client.secrets.snapshot();
    assert!(secrets.len() >= 2, "a session id and a CSRF token were seen on the wire: {secrets:?}");
    secrets.push(PASSWORD.to_owned());
    secrets.push(base64::engine::general_purpose::STANDARD.encode(format!("agent1:{PASSWORD}")));

    // Unredacted, the failed assertions quote the session's values: the test can fail.
    let raw = outputs(&result);
    assert!(secrets.iter().any(|s| raw.iter().any(|(_, text)| text.contains(s.as_str()))), "nothing to redact");

    result.redact(&runner::redactor(&cfg));
    for (name, text) in outputs(&result) {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{name} shows the secret {s:?}:\n{text}");
        }
        assert!(text.contains("[redacted]"), "{name}");
    }
}
