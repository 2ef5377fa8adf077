//! Where a failure is found and what it rests on: under simulator faults every failed check
//! names a step and a place in its scenario file (teardown's at the scenario's name), the HAR
//! trace of a failing run is valid HAR 1.2 with no secret in it and every failed check points
//! into it, and the HTML report shows the failed check with its source line.

use std::path::PathBuf;
use std::sync::Arc;

use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::report;
use chatprobe::runner::trace::{Budget, Recorder, TraceMode};
use chatprobe::runner::{self, Credentials, RunConfig, RunResult, Target};
use chatprobe::scenario::{self, Scenario};
use chatprobe::sim::{self, Faults, SimConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Scenarios whose messages, transcripts and notifications the faults below break.
const SCENARIOS: &[&str] = &[
    "gws/01-login-and-session.yaml",
    "gws/03-messages-both-ways.yaml",
    "gws/05-transcript-pagination.yaml",
    "gws/ops/userdata.yaml",
];

fn scenarios() -> Vec<Scenario> {
    SCENARIOS
        .iter()
        .map(|f| {
            let path = root().join("scenarios/conformance").join(f);
            scenario::parse_file(&path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()))
        })
        .collect()
}

const PASSWORD: &str = "Tr4ce-pw-secret";

/// Run `scenarios` against a simulator with `faults`, tracing in `mode`; the result is
/// redacted as `run` redacts it, and the secrets seen on the wire are returned with it.
async fn run_faulty(scenarios: &[Scenario], faults: Faults, mode: Option<TraceMode>) -> (RunResult, Vec<String>) {
    let sim_cfg = SimConfig {
        agents: 4,
        password: PASSWORD.into(),
        cometd_timeout: std::time::Duration::from_secs(2),
        faults,
        ..SimConfig::default()
    };
    let agents = (1..=sim_cfg.agents)
        .map(|i| Credentials { username: format!("agent{i}"), password: PASSWORD.into() })
        .collect();
    let running = sim::start(sim_cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut cfg = RunConfig::new(
        Target { base_url: running.base_url(), agents, contact_center_id: "trace".into(), embedded: true },
        ClientConfig::default(),
        Arc::new(SchemaRegistry::embedded().unwrap()),
    );
    let budget = Budget::new(runner::trace::MAX_ENTRIES);
    if let Some(mode) = mode {
        cfg = cfg.traced(Recorder::new(mode, Arc::clone(&budget)));
    }
    let mut result = runner::run_scenarios(scenarios, &cfg).await;
    running.shutdown().await;
    result.trace_dropped = budget.dropped();
    let mut secrets = cfg.client.secrets.snapshot();
    secrets.push(PASSWORD.to_owned());
    result.redact(&runner::redactor(&cfg));
    (result, secrets)
}

fn faults() -> Faults {
    Faults {
        index_gap: true,
        index_repeat: true,
        drop_notification: true,
        alter_customer_text: true,
        connect_without_advice: true,
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_check_names_a_step_and_a_line_of_its_file() {
    let scenarios = scenarios();
    let (result, _) = run_faulty(&scenarios, faults(), None).await;
    let mut failed = 0;
    let mut in_teardown = 0;
    for (sc, parsed) in result.scenarios.iter().zip(&scenarios) {
        for st in &sc.steps {
            assert!(st.span.line > 0, "step `{}` of {} is at line 0", st.name, sc.file);
            for c in st.failures() {
                failed += 1;
                let span = c.span.as_ref().unwrap_or_else(|| panic!("no span: {c:#?}"));
                assert_eq!(span.file, sc.file, "{c:#?}");
                assert!(span.line > 0, "{c:#?}");
                let step = c.step.as_deref().unwrap_or_else(|| panic!("no step: {c:#?}"));
                assert!(
                    step == "teardown" || parsed.steps.iter().any(|s| s.name == step),
                    "`{step}` is no step of {}",
                    sc.file
                );
                if step == "teardown" {
                    in_teardown += 1;
                    assert_eq!(span, &parsed.span, "teardown's failures are at the scenario's name");
                }
            }
        }
    }
    assert!(failed > 0, "the faults broke nothing: the test cannot fail");
    // Teardown has its own (a transcript gap found when the scenario ends), and is not left
    // with the rest: those name the step whose exchange caused them.
    assert!(in_teardown > 0 && in_teardown < failed, "{in_teardown} of {failed} failures are teardown's");

    let mut xml = Vec::new();
    report::junit::write(&result, &mut xml).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    assert!(!xml.contains("line=\"0\""), "{xml}");
    let mut console = Vec::new();
    report::console::write(&result, &Default::default(), &mut console).unwrap();
    let console = String::from_utf8(console).unwrap();
    assert!(!console.contains("?:0:0"), "{console}");
}
