//! Verdicts a vendor can trust, on the harness's side: independent probes each get their own
//! verdict; a profile expectation that fails is an observation, not a failure, unless
//! `--strict`; a value given from outside replaces the scenario's; a step that needs a value an
//! earlier step could not provide is skipped alone; one bad value counts once.

use std::sync::Arc;

use serde_json::{Value, json};

use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::runner::{self, Credentials, Outcome, RunConfig, RunResult, Target};
use chatprobe::scenario;
use chatprobe::sim::{self, SimConfig};

async fn run(text: &str, tweak: impl FnOnce(&mut RunConfig)) -> RunResult {
    let external: Vec<String> = vec!["queue".into()];
    let sc = scenario::parse::parse_str_with("verdicts.yaml", text, &external).unwrap_or_else(|d| panic!("{d:?}"));
    let running =
        sim::start(SimConfig { agents: 4, ..SimConfig::default() }, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let target = Target {
        base_url: running.base_url(),
        agents: (1..=4).map(|i| Credentials { username: format!("agent{i}"), password: "password".into() }).collect(),
        contact_center_id: "verdicts".into(),
        embedded: true,
    };
    let mut cfg = RunConfig::new(target, ClientConfig::default(), Arc::new(SchemaRegistry::embedded().unwrap()));
    tweak(&mut cfg);
    let result = runner::run_scenarios(&[sc], &cfg).await;
    running.shutdown().await;
    result
}

const PROBES: &str = r#"
name: independent probes
source: ReturnValues (digest §5)
agents: [a1]
steps:
  - { name: login, login: a1 }
  - name: an unknown chat, asserted wrongly
    agent: a1
    operation: SendMessage
    chat: no-such-chat
    params: { text: hi }
    continue_on_failure: true
    expect: { refused: [1] }
  - name: a second probe, also asserted wrongly
    agent: a1
    operation: Complete
    chat: no-such-chat-either
    continue_on_failure: true
    expect: { refused: [1] }
  - name: a third probe, right
    agent: a1
    operation: Complete
    chat: no-such-chat-at-all
    expect: { refused: [3, 5, 6] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_probes_each_get_a_verdict() {
    let result = run(PROBES, |_| {}).await;
    let steps = &result.scenarios[0].steps;
    let verdicts: Vec<(bool, bool)> = steps.iter().take(4).map(|s| (s.skipped, s.passed())).collect();
    assert_eq!(verdicts, [(false, true), (false, false), (false, false), (false, true)], "{steps:#?}");
    assert_eq!(result.violations_by_rule.get("assert.refused"), Some(&2));
    assert_eq!(result.outcome(), Outcome::Violations);
    // Without continue_on_failure, the first failure skips the rest.
    let result = run(&PROBES.replace("    continue_on_failure: true\n", ""), |_| {}).await;
    let skipped: Vec<bool> = result.scenarios[0].steps.iter().take(4).map(|s| s.skipped).collect();
    assert_eq!(skipped, [false, false, true, true]);
    assert!(result.scenarios[0].steps[2].skip_reason.as_deref().is_some_and(|r| r.contains("failed before it")));
}

const PROFILED: &str = r#"
name: a profile expectation
agents: [a1]
vars:
  queue: from-the-scenario
steps:
  - { name: login, login: a1 }
  - name: the agent's chats
    agent: a1
    http: { path: "/api/v2/me/chats?fields=*" }
    expect:
      source: ReturnValues (digest §5)
      body: { statusCode: 0 }
    profile:
      why: the envelope of GET /me/chats is inferred (digest §2)
      body: { listing: { $exists: true } }
    continue_on_failure: true
    capture: { q: body.nothing }
  - name: uses what could not be captured
    agent: a1
    http: { path: "/api/v2/me/chats/${q}/messages" }
  - name: the queue given from outside
    agent: a1
    http: { path: "/api/v2/diagnostics/version" }
    expect:
      source: "profile: echoes the variable"
      headers: { x-queue: "${queue}" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_profile_expectation_is_an_observation_unless_strict() {
    let result = run(PROFILED, |cfg| cfg.vars = vec![("queue".into(), json!("from-outside"))]).await;
    let json = chatprobe::report::json::to_value(&result);
    let checks: Vec<&Value> = json["scenarios"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .filter(|c| c["passed"] == false)
        .collect();
    // The profile body check and the profile header check failed: observations, with sources.
    let observed: Vec<(&str, &str)> = checks
        .iter()
        .filter(|c| c["severity"] == "observation")
        .map(|c| (c["rule"].as_str().unwrap(), c["source"].as_str().unwrap()))
        .collect();
    assert!(
        observed.contains(&("assert.body", "profile: the envelope of GET /me/chats is inferred (digest §2)")),
        "{observed:?}"
    );
    // The header check compared with the value given from outside, not the scenario's.
    let header = checks.iter().find(|c| c["rule"] == "assert.header").unwrap();
    assert_eq!(header["expected"], "\"from-outside\"", "{header}");
    // The failed capture, and the step that needed it skipped alone.
    assert!(checks.iter().any(|c| c["rule"] == "assert.capture"), "{checks:#?}");
    let skipped = &json["scenarios"][0]["steps"][2];
    assert_eq!(skipped["skipped"], true);
    assert!(skipped["skip_reason"].as_str().unwrap().contains("`q`"), "{skipped}");
    assert_eq!(json["scenarios"][0]["steps"][3]["skipped"], false, "the step after it ran");

    // The capture's failure is a violation (no source: the scenario's own), so the run fails;
    // without it, observations alone pass, and fail only under --strict.
    assert_eq!(result.outcome(), Outcome::Violations);
    let lenient = PROFILED.replace("    capture: { q: body.nothing }\n", "").replace("${q}", "x");
    let result = run(&lenient, |_| {}).await;
    assert!(result.observations_by_rule.contains_key("assert.body"), "{:?}", result.observations_by_rule);
    assert!(result.violations_by_rule.is_empty(), "{:?}", result.violations_by_rule);
    assert_eq!(result.outcome(), Outcome::Pass);
    let result = run(&lenient, |cfg| cfg.strict = true).await;
    assert_eq!(result.outcome(), Outcome::Violations);
}

#[test]
fn one_bad_value_counts_once_and_an_undocumented_type_is_only_observed() {
    let reg = SchemaRegistry::embedded().unwrap();
    // A bad state fails the chat's enum once, however many branches of the schema see it.
    let bad = json!({"channel": "/v2/me/chats", "data": {
        "messageType": "ChatStateChangeMessage", "notificationType": "StatusChange",
        "chat": {"id": "c1", "state": "Bogus"}}});
    let v = reg.validate("notification-chats", &bad).unwrap();
    assert_eq!(v.len(), 1, "{v:#?}");
    // An undocumented notificationType is no shape violation.
    let other = json!({"channel": "/v2/me/chats", "data": {
        "messageType": "ChatStateChangeMessage", "notificationType": "AttachmentRemoved",
        "chat": {"id": "c1", "state": "Chatting"}}});
    assert!(reg.validate("notification-chats", &other).unwrap().is_empty());
    let mut counts = Default::default();
    let mut checks = Vec::new();
    runner::validate::check_bayeux(&reg, &other, 1, &mut counts, &mut checks);
    let failed: Vec<(&str, bool)> = checks.iter().filter(|c| !c.passed).map(|c| (c.rule, c.is_observation())).collect();
    assert_eq!(failed, [("shape.notification-type", true)]);
}
