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

fn har_of(result: &RunResult) -> serde_json::Value {
    let mut out = Vec::new();
    report::har::write(result, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn har_errors(har: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/fixtures/har-1.2.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    validator.iter_errors(har).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_run_traces_valid_har_without_secrets_and_every_failure_points_into_it() {
    let scenarios = scenarios();
    let (mut result, mut secrets) = run_faulty(&scenarios, faults(), Some(TraceMode::Failing)).await;
    report::har::link(&mut result);
    let har = har_of(&result);
    assert_eq!(har_errors(&har), Vec::<String>::new());
    // The schema is not a formality: a HAR missing a required field fails it.
    let mut broken = har.clone();
    broken["log"]["entries"][0]["request"].as_object_mut().unwrap().remove("headers");
    assert!(!har_errors(&broken).is_empty());

    let entries = har["log"]["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    // Only failing steps' exchanges, and those a failed check points at.
    let linked: Vec<usize> =
        result.scenarios.iter().flat_map(|s| &s.steps).flat_map(|s| s.failures()).filter_map(|c| c.har_entry).collect();
    for (i, e) in entries.iter().enumerate() {
        assert!(e["_step_failed"] == true || linked.contains(&i), "entry {i} is a passing step's: {e:#}");
    }
    let failed: Vec<_> = result.scenarios.iter().flat_map(|s| &s.steps).flat_map(|s| s.failures()).collect();
    assert!(!failed.is_empty());
    for c in &failed {
        // A transcript judged whole when the scenario ends rests on no one exchange.
        if c.step.as_deref() == Some("teardown") && c.rule == "transcript.index-gap" {
            assert_eq!(c.har_entry, None, "{c:#?}");
            continue;
        }
        let i = c.har_entry.unwrap_or_else(|| panic!("no HAR entry: {c:#?}"));
        // The step's own exchange, or the Bayeux answer that carried the notification at fault.
        let url = entries[i]["request"]["url"].as_str().unwrap();
        assert!(
            entries[i]["_step"] == c.step.as_deref().unwrap() || url.contains("/api/v2/notifications/"),
            "{c:#?} links to {:#}",
            entries[i]
        );
    }
    // The JSON report carries the links and still validates against its schema.
    let report_json = report::json::to_value(&result);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/chatprobe/report.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&report_json).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(report_json.to_string().contains("\"har_entry\""));

    // No secret seen on the wire, no password, no Basic form in the trace.
    assert!(secrets.len() >= 3, "a session id and a CSRF token were seen on the wire: {secrets:?}");
    for i in 1..=4 {
        secrets
            .push(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("agent{i}:{PASSWORD}")));
    }
    let text = har.to_string();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "the trace shows the secret {s:?}");
    }
    assert!(text.contains("[redacted]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_all_keeps_every_exchange_with_session_headers_redacted() {
    let scenarios = scenarios();
    let (failing, _) = run_faulty(&scenarios, faults(), Some(TraceMode::Failing)).await;
    let (all, secrets) = run_faulty(&scenarios, faults(), Some(TraceMode::All)).await;
    let (failing, har) = (har_of(&failing), har_of(&all));
    assert_eq!(har_errors(&har), Vec::<String>::new());
    let n = |h: &serde_json::Value| h["log"]["entries"].as_array().unwrap().len();
    assert!(n(&har) > n(&failing), "{} exchanges in all, {} of failing steps", n(&har), n(&failing));
    let entries = har["log"]["entries"].as_array().unwrap();
    // Passing steps are there, Bayeux POSTs too, and every request each agent sent with
    // credentials shows the scheme only.
    assert!(entries.iter().any(|e| e["_step_failed"] == false));
    assert!(entries.iter().any(|e| e["request"]["url"].as_str().unwrap().contains("/notifications/handshake")));
    let auth: Vec<&str> = entries
        .iter()
        .flat_map(|e| e["request"]["headers"].as_array().unwrap())
        .filter(|h| h["name"] == "authorization")
        .map(|h| h["value"].as_str().unwrap())
        .collect();
    assert!(!auth.is_empty());
    assert!(auth.iter().all(|v| *v == "Basic [redacted]"), "{auth:?}");
    let set_cookies: Vec<&str> = entries
        .iter()
        .flat_map(|e| e["response"]["cookies"].as_array().unwrap())
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert!(!set_cookies.is_empty());
    assert!(set_cookies.iter().all(|v| *v == "[redacted]"), "{set_cookies:?}");
    let text = har.to_string();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "the trace shows the secret {s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_shows_the_failed_check_its_source_line_and_its_exchange_and_loads_nothing() {
    let scenarios = scenarios();
    let (mut result, secrets) = run_faulty(&scenarios, faults(), Some(TraceMode::Failing)).await;
    let sources: std::collections::HashMap<String, String> =
        scenarios.iter().map(|s| (s.file.clone(), std::fs::read_to_string(&s.file).unwrap())).collect();
    // A hostile server's text in a check must come out as text.
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let check = result
        .scenarios
        .iter_mut()
        .flat_map(|s| s.steps.iter_mut())
        .flat_map(|s| s.checks.iter_mut())
        .find(|c| c.is_violation() && c.actual.is_some())
        .expect("a violation with an actual value");
    check.actual = Some(format!("{} {hostile}", check.actual.as_deref().unwrap()));
    let (message, span) = (check.message.clone(), check.span.clone().unwrap());

    let mut out = Vec::new();
    report::html::write(&result, &sources, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    let esc = report::html::escape;
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(&esc(&message)), "the failed check's message");
    let line = sources[&span.file].lines().nth(span.line as usize - 1).unwrap();
    assert!(
        html.contains(&format!("<span class=\"at\">{} | {}</span>", span.line, esc(line))),
        "the source line {}:{} `{line}`",
        span.file,
        span.line
    );
    assert!(html.contains(&esc(hostile)) && !html.contains(hostile), "server text is escaped");
    // The exchange the failure is about, redacted like the trace.
    assert!(html.contains("<details class=\"exchange\""));
    for s in &secrets {
        assert!(!html.contains(s.as_str()), "the page shows the secret {s:?}");
    }
    // Filters, and nothing loaded from anywhere.
    for f in ["failed", "observations", "all"] {
        assert!(html.contains(&format!("data-filter=\"{f}\"")), "{f} filter");
    }
    let lower = html.to_ascii_lowercase();
    for external in ["<script src", "<link", " src=\"http", " href=\"http", "url(http", "@import"] {
        assert!(!lower.contains(external), "the page loads something: {external}");
    }
    assert_eq!(lower.matches("<script").count(), 1, "one inline script");
}

#[test]
fn the_binary_writes_the_trace_and_the_page_and_links_the_json_report_to_the_trace() {
    let dir = std::env::temp_dir().join(format!("chatprobe-it-trace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (har, html) = (dir.join("run.har"), dir.join("run.html"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .args(["run", "tests/fixtures/scenarios/wrong-value.yaml", "--quiet", "--progress", "off", "--report-dir"])
        .arg(&dir)
        .arg("--trace")
        .arg(&har)
        .arg("--html")
        .arg(&html)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let har: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    assert_eq!(har_errors(&har), Vec::<String>::new());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chatprobe-report.json")).unwrap()).unwrap();
    let failed: Vec<&serde_json::Value> = report["scenarios"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .filter(|c| c["passed"] == false)
        .collect();
    assert!(!failed.is_empty());
    for c in failed {
        let i = c["har_entry"].as_u64().unwrap_or_else(|| panic!("no har_entry: {c:#}")) as usize;
        let entry = &har["log"]["entries"][i];
        assert_eq!(entry["_step"], c["step"], "{c:#}");
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("class=\"check violation\""), "the failed check is on the page");
    let _ = std::fs::remove_dir_all(&dir);
}
