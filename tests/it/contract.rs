//! Each stateful contract rule broken by a simulator fault, and seen with its rule id; the same
//! scenarios raise none of them when nothing is broken.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::runner::{self, Credentials, RunConfig, RunResult, Target};
use chatprobe::scenario::{self, Scenario};
use chatprobe::sim::{self, Faults, SimConfig};

const STATEFUL: &[&str] = &[
    "correlation.reference-id",
    "correlation.inferred-notification",
    "state.after-operation",
    "state.inferred-after-operation",
    "state.capabilities",
    "state.inferred-capabilities",
    "state.capability-refused",
    "transcript.index",
    "transcript.index-gap",
    "transcript.equality",
    "visibility.agents-only",
];

fn scenarios() -> Vec<Scenario> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios/conformance/gws"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.push(root.join("tests/fixtures/scenarios/agents-only.yaml"));
    files.iter().map(|f| scenario::parse_file(f).unwrap_or_else(|d| panic!("{d:?}"))).collect()
}

async fn run(faults: Faults) -> RunResult {
    let cfg = SimConfig { agents: 6, cometd_timeout: Duration::from_secs(2), faults, ..SimConfig::default() };
    let agents = (1..=cfg.agents)
        .map(|i| Credentials { username: format!("agent{i}"), password: cfg.password.clone() })
        .collect();
    let running = sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let run_cfg = RunConfig::new(
        Target { base_url: running.base_url(), agents, contact_center_id: "contract".into(), embedded: true },
        ClientConfig::default(),
        Arc::new(SchemaRegistry::embedded().unwrap()),
    );
    let result = runner::run_scenarios(&scenarios(), &run_cfg).await;
    running.shutdown().await;
    result
}

fn stateful_failures(result: &RunResult) -> Vec<&'static str> {
    let mut rules: Vec<&'static str> = result
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|s| s.failures())
        .map(|c| c.rule)
        .filter(|r| STATEFUL.contains(r))
        .collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stateful_rule_fires_when_nothing_is_broken() {
    let result = run(Faults::default()).await;
    assert_eq!(stateful_failures(&result), Vec::<&str>::new());
    assert!(result.violations_by_rule.is_empty(), "{:?}", result.violations_by_rule);
    assert!(result.observations_by_rule.is_empty(), "{:?}", result.observations_by_rule);
}

macro_rules! fault_test {
    ($name:ident, $field:ident, $rule:literal) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let result = run(Faults { $field: true, ..Faults::default() }).await;
            let rules = stateful_failures(&result);
            assert!(rules.contains(&$rule), "fault {} raised {rules:?}", stringify!($field));
            let check = result
                .scenarios
                .iter()
                .flat_map(|s| &s.steps)
                .flat_map(|s| s.failures())
                .find(|c| c.rule == $rule)
                .unwrap();
            // A violation names what was expected and what happened.
            assert!(check.expected.is_some() && check.actual.is_some(), "{check:?}");
        }
    };
}

fault_test!(notifications_without_reference_id_break_correlation, omit_reference_id, "correlation.reference-id");
fault_test!(a_dropped_notification_breaks_correlation, drop_notification, "correlation.reference-id");
fault_test!(a_wrong_state_after_accept_is_caught, wrong_state_after_accept, "state.after-operation");
fault_test!(a_missing_capability_is_caught, capability_missing, "state.capabilities");
fault_test!(an_index_gap_is_observed, index_gap, "transcript.index-gap");
fault_test!(a_repeated_index_is_caught, index_repeat, "transcript.index");
fault_test!(an_altered_customer_message_is_caught, alter_customer_text, "transcript.equality");
fault_test!(an_agents_only_leak_is_caught, leak_agents_visibility, "visibility.agents-only");
