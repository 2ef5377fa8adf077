//! The scenario runner end to end: the conformance suite against the simulator over loopback,
//! the reports it writes, and the exit-code contract of the `chatprobe` binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::report;
use chatprobe::runner::{self, Credentials, Outcome, RunConfig, RunResult, Target};
use chatprobe::scenario::{self, Scenario};
use chatprobe::sim::{self, Faults, SimConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn conformance() -> Vec<Scenario> {
    let mut files = Vec::new();
    yaml_files(&root().join("scenarios/conformance"), &mut files);
    files.sort();
    files.iter().map(|f| scenario::parse_file(f).unwrap_or_else(|d| panic!("{d:?}"))).collect()
}

async fn run_against_sim(scenarios: &[Scenario], sim_cfg: SimConfig) -> RunResult {
    let agents = (1..=sim_cfg.agents)
        .map(|i| Credentials { username: format!("agent{i}"), password: sim_cfg.password.clone() })
        .collect();
    let running = sim::start(sim_cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let cfg = RunConfig::new(
        Target { base_url: running.base_url(), agents, contact_center_id: "it".into(), embedded: true },
        ClientConfig::default(),
        Arc::new(SchemaRegistry::embedded().unwrap()),
    );
    let result = runner::run_scenarios(scenarios, &cfg).await;
    running.shutdown().await;
    result
}

fn failures(result: &RunResult) -> String {
    let mut out = Vec::new();
    report::console::write(result, &Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn small_sim() -> SimConfig {
    SimConfig { agents: 4, cometd_timeout: std::time::Duration::from_secs(2), ..SimConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_against_the_simulator() {
    let scenarios = conformance();
    assert!(scenarios.len() >= 25);
    let result = run_against_sim(&scenarios, small_sim()).await;
    assert_eq!(result.outcome(), Outcome::Pass, "{}", failures(&result));
    assert!(result.violations_by_rule.is_empty());
    // Every response and Bayeux message was validated, not only the asserted ones.
    assert!(result.counts.responses_validated >= result.counts.requests / 2, "{:?}", result.counts);
    assert!(result.counts.notifications_validated > 20, "{:?}", result.counts);
    assert!(result.counts.checks_failed == 0);

    // The JSON report validates against its own schema.
    let report_json = report::json::to_value(&result);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/chatprobe/report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&report_json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // JUnit: a suite per scenario, a case per step, no failures.
    let mut xml = Vec::new();
    report::junit::write(&result, &mut xml).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), scenarios.len());
    let steps: usize = result.scenarios.iter().map(|s| s.steps.len()).sum();
    assert_eq!(xml.matches("<testcase ").count(), steps);
    assert!(!xml.contains("<failure"), "{xml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_breaks_its_schema_is_reported() {
    let sc = scenario::parse_file(&root().join("tests/fixtures/scenarios/operations.yaml")).unwrap();
    let cfg = SimConfig { faults: Faults { status_code_as_string: true, ..Faults::default() }, ..small_sim() };
    let result = run_against_sim(std::slice::from_ref(&sc), cfg).await;
    assert_eq!(result.outcome(), Outcome::Violations);
    let shape: Vec<_> = result
        .scenarios
        .iter()
        .flat_map(|s| &s.steps)
        .flat_map(|s| s.failures())
        .filter(|c| c.rule == "shape.response")
        .collect();
    assert!(!shape.is_empty(), "{}", failures(&result));
    assert!(shape.iter().any(|c| c.message.contains("/statusCode") && c.subject.contains("Accept")), "{shape:#?}");
    // The run went on: the violation was recorded, the scenario's later steps still ran.
    let accept = result.scenarios[0].steps.iter().find(|s| s.name == "accept").unwrap();
    assert!(!accept.skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_assertion_skips_the_rest_of_the_scenario() {
    let sc = scenario::parse_file(&root().join("tests/fixtures/scenarios/wrong-value.yaml")).unwrap();
    let result = run_against_sim(std::slice::from_ref(&sc), small_sim()).await;
    assert_eq!(result.outcome(), Outcome::Violations);
    let steps = &result.scenarios[0].steps;
    let failed: Vec<_> = steps[0].failures().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].rule, "assert.body");
    assert_eq!(failed[0].span.as_ref().unwrap().line, 9);
    assert_eq!(failed[0].expected.as_deref(), Some("7"));
    assert_eq!(failed[0].actual.as_deref(), Some("0"));
    assert!(steps[1].skipped);
}

fn chatprobe(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chatprobe")).args(args).current_dir(dir).output().unwrap()
}

#[test]
fn the_binary_exits_1_on_a_wrong_value_with_file_line_expected_actual() {
    let reports = tempdir("wrong");
    let out = chatprobe(
        &["run", "tests/fixtures/scenarios/wrong-value.yaml", "--report-dir", reports.to_str().unwrap()],
        &root(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("tests/fixtures/scenarios/wrong-value.yaml:9:"), "{stdout}");
    assert!(stdout.contains("expected: 7"), "{stdout}");
    assert!(stdout.contains("actual:   0"), "{stdout}");
    assert!(reports.join("chatprobe-report.json").is_file());
    assert!(reports.join("junit.xml").is_file());
}

#[test]
fn the_binary_exits_2_on_a_malformed_scenario_with_file_line_col() {
    let out = chatprobe(&["run", "tests/fixtures/scenarios/malformed.yaml"], &root());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("tests/fixtures/scenarios/malformed.yaml:4:11"), "{stderr}");
}

#[test]
fn the_binary_exits_3_when_the_target_is_unreachable() {
    // Port 9 on loopback: nothing listens there in CI; the connection is refused at once.
    let reports = tempdir("unreachable");
    let out = chatprobe(
        &[
            "run",
            "scenarios/conformance/gws/01-login-and-session.yaml",
            "--target",
            "http://127.0.0.1:9",
            "--agent",
            "agent1:password",
            "--request-timeout",
            "2s",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn the_binary_exits_2_on_bad_flags() {
    let out = chatprobe(&["run", "--target", "not a url", "--agent", "a:b"], &root());
    assert_eq!(out.status.code(), Some(2));
    let out = chatprobe(&["run", "no/such/dir"], &root());
    assert_eq!(out.status.code(), Some(2));
}

fn tempdir(name: &str) -> PathBuf {
    crate::support::fresh_dir("it", name)
}

#[test]
fn the_conformance_suite_covers_every_operation_and_documented_error() {
    use chatprobe::scenario::coverage::{coverage, documented_errors};
    let cov = coverage(&conformance(), documented_errors);
    assert_eq!(cov.operations.len(), chatprobe::api::CATALOGUE.len());
    let gaps: Vec<String> = cov
        .operations
        .iter()
        .filter(|o| o.positive.is_empty() || o.negative.is_empty() || !o.missing_errors().is_empty())
        .map(|o| format!("{}: positive {}, missing codes {:?}", o.operation, o.positive.len(), o.missing_errors()))
        .collect();
    assert!(gaps.is_empty(), "{gaps:#?}");
    assert_eq!((cov.positive_percent, cov.negative_percent), (100.0, 100.0));
    assert!(cov.unknown.is_empty());
    // The binary agrees, and --require-full fails on a suite that lacks negatives.
    let out = chatprobe(&["coverage", "--require-full"], &root());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out =
        chatprobe(&["coverage", "--require-full", "scenarios/conformance/gws/02-invite-and-accept.yaml"], &root());
    assert_eq!(out.status.code(), Some(1));
}

/// Each scenario's verdict, in the order of the JSON report.
fn verdicts(report: &std::path::Path) -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["file"].as_str().unwrap().to_owned(), s["verdict"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn jobs_give_the_same_verdicts_in_file_order() {
    let dirs = [tempdir("jobs1"), tempdir("jobs3")];
    for (dir, jobs) in dirs.iter().zip(["1", "3"]) {
        let out = chatprobe(
            &[
                "run",
                "scenarios/conformance/gws/ops",
                "--jobs",
                jobs,
                "--progress",
                "plain",
                "--report-dir",
                dir.to_str().unwrap(),
            ],
            &root(),
        );
        assert_eq!(out.status.code(), Some(0), "--jobs {jobs}: {}", String::from_utf8_lossy(&out.stdout));
        // Plain progress: one verdict line per scenario as it finishes.
        let lines = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("PASS ")).count();
        assert_eq!(lines, verdicts(&dir.join("chatprobe-report.json")).len());
    }
    let (one, three) =
        (verdicts(&dirs[0].join("chatprobe-report.json")), verdicts(&dirs[1].join("chatprobe-report.json")));
    assert!(one.len() >= 10, "{one:?}");
    assert_eq!(one, three);
    let mut sorted = one.clone();
    sorted.sort();
    assert_eq!(one, sorted, "file order");
}

#[test]
fn tags_and_names_select_scenarios() {
    let dir = tempdir("select");
    let out = chatprobe(
        &["run", "--tag", "tegsoft", "--name", "*UploadFile*", "--report-dir", dir.to_str().unwrap(), "-q"],
        &root(),
    );
    let picked = verdicts(&dir.join("chatprobe-report.json"));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!picked.is_empty() && picked.iter().all(|(f, _)| f.contains("tegsoft")), "{picked:?}");
    let out = chatprobe(&["run", "--name", "no such scenario*", "--report-dir", dir.to_str().unwrap()], &root());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no scenario (of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
