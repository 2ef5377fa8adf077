//! The Tegsoft scenarios (`scenarios/conformance/tegsoft`) as a vendor runs them. Against the
//! simulator serving either built-in profile, checked against the same profile, they pass with no
//! violation and no observation. Checked against the other profile, everything the page leaves
//! open is off — paths, sample files, keys, codes, statuses — and they give observations, never a
//! violation: exit 0, or 1 under `--strict`. A server that breaks what the page does document —
//! accepting a request and posting nothing, or altering a file on its way — fails them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use chatprobe::api::tegsoft::{BUILTIN_NAMES, TegsoftProfile};
use chatprobe::client::ClientConfig;
use chatprobe::contract::schema::SchemaRegistry;
use chatprobe::report;
use chatprobe::runner::{self, Credentials, Outcome, RunConfig, RunResult, Target};
use chatprobe::scenario::{self, Scenario};
use chatprobe::sim::{self, SimConfig};
use serde_json::json;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tegsoft_scenarios() -> Vec<Scenario> {
    let dir = root().join("scenarios/conformance/tegsoft");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|f| f.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    files.iter().map(|f| scenario::parse_file(f).unwrap_or_else(|d| panic!("{d:?}"))).collect()
}

fn profile(name: &str) -> TegsoftProfile {
    TegsoftProfile::builtin(name).unwrap()
}

fn sim_config(served: &TegsoftProfile) -> SimConfig {
    let mut cfg = SimConfig { agents: 2, ..SimConfig::default() };
    cfg.tegsoft.profile = served.clone();
    cfg
}

/// Run `scenarios` against `base_url`, checking against `checked`.
async fn run_at(base_url: String, scenarios: &[Scenario], checked: &TegsoftProfile, strict: bool) -> RunResult {
    let agents = (1..=2).map(|i| Credentials { username: format!("agent{i}"), password: "password".into() }).collect();
    let schemas = SchemaRegistry::embedded().unwrap().with_tegsoft_profile(checked.clone()).unwrap();
    let target = Target { base_url, agents, contact_center_id: "it-tegsoft".into(), embedded: true };
    let cfg = RunConfig { strict, ..RunConfig::new(target, ClientConfig::default(), Arc::new(schemas)) };
    runner::run_scenarios(scenarios, &cfg).await
}

/// The simulator serving `served`, the harness checking against `checked`.
async fn run(served: &TegsoftProfile, checked: &TegsoftProfile, strict: bool) -> RunResult {
    let running = sim::start(sim_config(served), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let result = run_at(running.base_url(), &tegsoft_scenarios(), checked, strict).await;
    running.shutdown().await;
    result
}

fn console(result: &RunResult) -> String {
    let mut out = Vec::new();
    report::console::write(result, &Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// How many checks of each rule passed.
fn passed_by_rule(result: &RunResult) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for check in result.scenarios.iter().flat_map(|s| &s.steps).flat_map(|s| &s.checks).filter(|c| c.passed) {
        *out.entry(check.rule).or_default() += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tegsoft_scenarios_pass_clean_under_each_builtin_profile() {
    let scenarios = tegsoft_scenarios();
    assert_eq!(scenarios.len(), 5);
    assert!(scenarios.iter().all(|s| s.tags.iter().any(|t| t == "tegsoft")), "every Tegsoft scenario is tagged");
    for name in BUILTIN_NAMES {
        let p = profile(name);
        let result = run(&p, &p, true).await;
        assert_eq!(result.outcome(), Outcome::Pass, "{name}:\n{}", console(&result));
        assert_eq!((result.counts.violations, result.counts.observations), (0, 0), "{name}:\n{}", console(&result));
        let skipped = result.scenarios.iter().flat_map(|s| &s.steps).filter(|s| s.skipped).count();
        assert_eq!(skipped, 0, "{name}: every step ran");
        // The documented checks ran, and held: each documented request's shape, each file reaching
        // a transcript and downloading unchanged, the text and the file reaching the agent.
        let passed = passed_by_rule(&result);
        assert_eq!(passed.get("shape.request"), Some(&9), "{name}: {passed:?}");
        assert_eq!(passed.get("assert.file"), Some(&7), "{name}: {passed:?}");
        assert!(passed.get("assert.transcript").is_some_and(|n| *n >= 7), "{name}: {passed:?}");
        assert!(passed.get("assert.notification").is_some_and(|n| *n >= 2), "{name}: {passed:?}");
        assert!(result.counts.responses_validated >= 40, "{name}: {:?}", result.counts);
    }
}

/// The simulator on one built-in profile, the harness on the other: nothing the page documents
/// is broken, so no violation; what the profile decides is off, so observations; the steps that
/// rest on an accepted request are skipped, not failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_mismatch_gives_observations_not_violations() {
    for (served, checked) in [("upper", "default"), ("default", "upper")] {
        let result = run(&profile(served), &profile(checked), false).await;
        let text = console(&result);
        assert_eq!(result.outcome(), Outcome::Pass, "served {served}, checked {checked}:\n{text}");
        assert_eq!(result.counts.violations, 0, "{text}");
        assert!(result.violations_by_rule.is_empty(), "{text}");
        assert!(result.counts.observations >= 20, "{:?}", result.counts);
        for rule in ["shape.tegsoft-response", "assert.guard", "assert.status", "assert.body"] {
            assert!(
                result.observations_by_rule.contains_key(rule),
                "{rule} observed: {:?}",
                result.observations_by_rule
            );
        }
        let verdicts: Vec<&str> = result.scenarios.iter().map(|s| s.verdict).collect();
        assert!(verdicts.iter().all(|v| *v == "pass-with-observations"), "{verdicts:?}");
        assert!(
            result.scenarios.iter().flat_map(|s| &s.steps).any(|s| s.skipped),
            "what rests on acceptance is skipped"
        );
    }
    // Under --strict the same observations fail the run.
    let strict = run(&profile("upper"), &profile("default"), true).await;
    assert_eq!(strict.outcome(), Outcome::Violations, "{}", console(&strict));
    assert_eq!(strict.counts.violations, 0);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// The Tegsoft services answer as the profile says, and post nothing.
    SilentAccept,
    /// Attachment downloads come back with their last byte changed.
    AlteredFile,
}

/// A server in front of the simulator that breaks one documented promise, and forwards the rest.
struct Front {
    sim: String,
    profile: TegsoftProfile,
    defect: Defect,
    http: reqwest::Client,
}

async fn front(State(f): State<Arc<Front>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    if f.defect == Defect::SilentAccept && f.profile.service(parts.method.as_str(), &path).is_some() {
        let r = &f.profile.responses;
        let answer = json!({r.keys.result.as_str(): r.success.result, r.keys.message_id.as_str(): "m-1", r.keys.file_id.as_str(): "f-1"});
        let status = axum::http::StatusCode::from_u16(r.success.status).unwrap();
        return (status, axum::Json(answer)).into_response();
    }
    let mut forwarded = f.http.request(parts.method.clone(), format!("{}{path}", f.sim)).body(body.to_vec());
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n != axum::http::header::HOST) {
        forwarded = forwarded.header(name, value);
    }
    let answer = forwarded.send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.unwrap().to_vec();
    let attachment = path.starts_with("/api/v2/chats/") && path.contains("/attachments/");
    if f.defect == Defect::AlteredFile
        && attachment
        && let Some(last) = bytes.last_mut()
    {
        *last ^= 0xff;
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in headers.iter().filter(|(n, _)| *n != axum::http::header::TRANSFER_ENCODING) {
        response.headers_mut().insert(name, value.clone());
    }
    response
}

/// Run the scenarios named through a front with `defect` before a default simulator.
async fn run_through(defect: Defect, files: &[&str]) -> RunResult {
    let p = TegsoftProfile::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    // The scenarios name the sample files at the front's address: the simulator may fetch them.
    let mut config = sim_config(&p);
    config.tegsoft.fetch_allow = vec![format!("{base_url}/")];
    let running = sim::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let state = Arc::new(Front { sim: running.base_url(), profile: p.clone(), defect, http: reqwest::Client::new() });
    let server =
        tokio::spawn(async move { axum::serve(listener, Router::new().fallback(front).with_state(state)).await });
    let scenarios: Vec<Scenario> =
        tegsoft_scenarios().into_iter().filter(|s| files.iter().any(|f| s.file.ends_with(f))).collect();
    assert_eq!(scenarios.len(), files.len());
    let result = run_at(base_url, &scenarios, &p, false).await;
    server.abort();
    running.shutdown().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_accepted_and_never_posted_is_a_violation() {
    let result = run_through(Defect::SilentAccept, &["01-send-text.yaml"]).await;
    assert_eq!(result.outcome(), Outcome::Violations, "{}", console(&result));
    assert_eq!(result.violations_by_rule.get("assert.transcript"), Some(&1), "{}", console(&result));
    // The answer itself was the profile's: no observation about it.
    assert!(!result.observations_by_rule.contains_key("shape.tegsoft-response"), "{}", console(&result));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_altered_on_its_way_is_a_violation() {
    let result = run_through(Defect::AlteredFile, &["02-upload-file.yaml"]).await;
    assert_eq!(result.outcome(), Outcome::Violations, "{}", console(&result));
    assert_eq!(result.violations_by_rule.get("assert.file"), Some(&4), "one per fileType:\n{}", console(&result));
    assert_eq!(result.counts.violations, 4, "{}", console(&result));
}

fn chatprobe(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chatprobe")).args(args).current_dir(dir).output().unwrap()
}

fn report_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatprobe-tegsoft-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_binary_takes_a_profile_by_name_or_file() {
    let suite = "scenarios/conformance/tegsoft";
    let reports = report_dir("flag");
    let reports = reports.to_str().unwrap();
    for spec in ["builtin:upper", "schemas/tegsoft/profiles/default.yaml"] {
        let out = chatprobe(&["run", suite, "--quiet", "--report-dir", reports, "--tegsoft-profile", spec], &root());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{spec}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("0 violations, 0 observations"), "{spec}: {stdout}");
    }
    // A bad profile is invalid input: exit 2, naming the file and the field.
    let bad = report_dir("bad-profile");
    std::fs::create_dir_all(&bad).unwrap();
    let file = bad.join("profile.yaml");
    let text = TegsoftProfile::builtin_text("default").unwrap().replace("status: 200", "status: 302");
    std::fs::write(&file, text).unwrap();
    let out = chatprobe(&["run", suite, "--report-dir", reports, "--tegsoft-profile", file.to_str().unwrap()], &root());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("profile.yaml") && stderr.contains("responses.success.status"), "{stderr}");
    let out = chatprobe(&["serve", "--port", "0", "--tegsoft-profile", "builtin:nope"], &root());
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&bad).unwrap();
    let _ = std::fs::remove_dir_all(reports);
}
