//! `chatprobe load` end to end over loopback: the embedded simulator, the three reports, and
//! the exit-code contract (0 pass, 2 invalid load file, 3 unreachable target, 4 threshold or
//! baseline breached). Tests check counts and exit codes, never timings.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;

use chatprobe::cli::{self, Cli};

/// goose keeps process-wide state (its Ctrl-C kill switch): one load at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SHORT_CHATS: &str = "name: short
journey: chat
chat:
  messages: 1
  customer_think: 1ms..5ms
  agent_think: 1ms..5ms
  poll_interval: 5ms
  timeout: 5s
load: { rate: 5, duration: 2s }
drain: 10s
thresholds:
  - \"error_rate == 0\"
  - \"violations == 0\"
";

fn workdir(name: &str) -> PathBuf {
    crate::support::fresh_dir("load", name)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn load(args: &[&str]) -> i32 {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut argv = vec!["chatprobe", "load", "--progress", "off"];
    argv.extend_from_slice(args);
    cli::main(Cli::parse_from(argv)).await
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("load-report.json")).unwrap()).unwrap()
}

fn check_against_schema(report: &Value) {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/chatprobe/load-report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(report).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "the load report breaks its schema: {errors:#?}");
}

/// In a process of its own (the test binary's CPU is every test's): a comfortable rate keeps its
/// timers and leaves CPU to spare, so no second is saturated.
#[test]
fn a_comfortable_rate_is_not_saturation() {
    let dir = workdir("comfortable");
    let file = write(&dir, "short.yaml", SHORT_CHATS);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .args(["load", "--progress", "off", file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let r = report(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(r["saturation"].is_null(), "a comfortable rate is not saturation: {}", r["saturation"]);
    assert!(r["timeline"].as_array().unwrap().iter().all(|s| s["saturated"] == false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_against_the_embedded_simulator_pass_and_write_three_reports() {
    let dir = workdir("pass");
    let file = write(&dir, "short.yaml", SHORT_CHATS);
    let code = load(&[file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap()]).await;
    let r = report(&dir);
    assert_eq!(code, 0, "errors: {} violations: {}", r["error_samples"], r["violation_samples"]);
    check_against_schema(&r);
    let counts = &r["counts"];
    assert_eq!(counts["chats_started"], 10, "rate 5/s for 2 s is 10 chats");
    assert_eq!(counts["chats_completed"], 10);
    assert_eq!(counts["errors"], 0);
    assert_eq!(counts["violations"], 0);
    assert!(
        counts["responses_validated"].as_u64().unwrap() > 0 && counts["notifications_validated"].as_u64().unwrap() > 0
    );
    for metric in
        ["RequestChat", "Accept", "invite", "notification", "delivery:customer-to-agent", "delivery:agent-to-customer"]
    {
        assert!(r["metrics"][metric]["corrected"]["count"].as_u64().unwrap() >= 10, "{metric}");
        let hdr = r["metrics"][metric]["uncorrected"]["hdr"].as_str().unwrap();
        let h = chatprobe::report::load::json::decode(hdr).expect("a V2 histogram");
        assert_eq!(h.len(), r["metrics"][metric]["uncorrected"]["count"].as_u64().unwrap());
    }
    let html = std::fs::read_to_string(dir.join("load-report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("http://cdn") && !html.contains("<script src"));
    let md = std::fs::read_to_string(dir.join("load-report.md")).unwrap();
    assert!(md.contains("| `violations == 0` | 0 | pass |"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breached_threshold_exits_4() {
    let dir = workdir("breach");
    let file = write(&dir, "short.yaml", SHORT_CHATS);
    let args =
        [file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap(), "--threshold", "p99(notification) < 1us"];
    assert_eq!(load(&args).await, 4);
    let r = report(&dir);
    assert_eq!(r["outcome"], "threshold-breached");
    let failed: Vec<&Value> = r["thresholds"].as_array().unwrap().iter().filter(|t| t["passed"] == false).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["rule"], "p99(notification) < 1us");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_regression_exits_4_and_a_slower_baseline_passes() {
    let dir = workdir("baseline");
    let file = write(
        &dir,
        "endpoint.yaml",
        "name: e\njourney: request\nrequest: { path: /api/v2/diagnostics/version }\nload: { concurrency: 2, duration: 1s }\ndrain: 1s\n",
    );
    let dir_s = dir.to_str().unwrap();
    assert_eq!(load(&[file.to_str().unwrap(), "--report-dir", dir_s]).await, 0);
    let mut base = report(&dir);
    check_against_schema(&base);
    assert!(base["counts"]["ops"].as_u64().unwrap() > 0);
    assert_eq!(base["counts"]["violations"], 0);

    // A baseline far faster than anything real: every latency regressed.
    set_histograms(&mut base, 10_000, 1);
    let fast = write(&dir, "fast.json", &base.to_string());
    let out = dir.join("second");
    let args = [
        file.to_str().unwrap(),
        "--report-dir",
        out.to_str().unwrap(),
        "--baseline",
        fast.to_str().unwrap(),
        "--max-regression",
        "10%",
    ];
    assert_eq!(load(&args).await, 4);
    let r = report(&out);
    check_against_schema(&r);
    // No threshold failed: the verdict names the baseline.
    assert_eq!(r["outcome"], "regression");
    assert_eq!(r["baseline"]["passed"], false);
    assert!(r["baseline"]["comparisons"].as_array().unwrap().iter().any(|c| c["passed"] == false));

    // A baseline far slower: no regression.
    set_histograms(&mut base, 10_000, 1_000_000_000);
    base["ops_per_sec"] = 0.001.into();
    let slow = write(&dir, "slow.json", &base.to_string());
    let args = [file.to_str().unwrap(), "--report-dir", out.to_str().unwrap(), "--baseline", slow.to_str().unwrap()];
    assert_eq!(load(&args).await, 0);
    assert_eq!(report(&out)["baseline"]["passed"], true);

    // A far faster baseline of a handful of samples: insufficient, never a regression.
    set_histograms(&mut base, 5, 1);
    base["ops_per_sec"] = 0.001.into();
    let few = write(&dir, "few.json", &base.to_string());
    let args = [file.to_str().unwrap(), "--report-dir", out.to_str().unwrap(), "--baseline", few.to_str().unwrap()];
    assert_eq!(load(&args).await, 0);
    let r = report(&out);
    check_against_schema(&r);
    let latencies: Vec<&Value> =
        r["baseline"]["comparisons"].as_array().unwrap().iter().filter(|c| c["metric"] != "ops_per_sec").collect();
    assert!(!latencies.is_empty());
    assert!(latencies.iter().all(|c| c["status"] == "insufficient-samples" && c["passed"] == true), "{latencies:?}");
}

/// Replace every histogram of a report with `n` samples of `value` microseconds.
fn set_histograms(report: &mut Value, n: u64, value: u64) {
    let mut h = chatprobe::load::metrics::histogram();
    h.record_n(value, n).unwrap();
    let hdr = chatprobe::report::load::json::encode(&h);
    for (_, m) in report["metrics"].as_object_mut().unwrap() {
        for kind in ["uncorrected", "corrected"] {
            if m[kind].is_object() {
                m[kind]["hdr"] = hdr.clone().into();
            }
        }
    }
}

#[tokio::test]
async fn an_invalid_load_file_exits_2_and_points_at_the_line() {
    let dir = workdir("invalid");
    let text = "name: bad\nload:\n  rate: 2\n  duration: forever\n";
    let file = write(&dir, "bad.yaml", text);
    assert_eq!(load(&[file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap()]).await, 2);
    let diags = chatprobe::load::spec::parse_str("bad.yaml", text).unwrap_err();
    assert!(diags[0].to_string().contains("--> bad.yaml:4:"), "{}", diags[0]);
    assert!(!dir.join("load-report.json").exists(), "nothing runs on an invalid file");
}

#[tokio::test]
async fn an_unreachable_target_exits_3() {
    let dir = workdir("unreachable");
    let file = write(&dir, "short.yaml", SHORT_CHATS);
    // Bind then drop a listener: that port now refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = format!("http://127.0.0.1:{port}");
    let args = [
        file.to_str().unwrap(),
        "--report-dir",
        dir.to_str().unwrap(),
        "--target",
        &target,
        "--agent",
        "agent1:password",
        "--request-timeout",
        "2s",
    ];
    std::fs::write(dir.join("load-report.json"), "{\"outcome\": \"pass\"}").unwrap();
    assert_eq!(load(&args).await, 3);
    assert!(!dir.join("load-report.json").exists(), "an earlier report is not left looking current");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_load_files_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            chatprobe::load::spec::parse_file(&path).unwrap_or_else(|d| panic!("{}: {}", path.display(), d[0]));
            n += 1;
        }
    }
    assert!(n >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smoke_load_runs_and_writes_its_reports() {
    let dir = workdir("smoke");
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load/smoke.yaml");
    let code = load(&[smoke.to_str().unwrap(), "--report-dir", dir.to_str().unwrap()]).await;
    let r = report(&dir);
    // Its latency thresholds may trip on a loaded machine (exit 4); the work itself may not fail.
    assert!(code == 0 || code == 4, "exit {code}");
    assert_eq!(r["counts"]["chats_started"], 32, "4 chats/s for 8 s");
    assert_eq!(r["counts"]["chats_completed"], 32);
    assert_eq!(r["counts"]["errors"], 0, "{}", r["error_samples"]);
    assert_eq!(r["counts"]["violations"], 0, "{}", r["violation_samples"]);
    for ext in ["json", "html", "md"] {
        assert!(dir.join(format!("load-report.{ext}")).is_file(), "{ext}");
    }
    // It uploads, as its comment says, and measures nothing a threshold could not name.
    assert!(r["counts"]["upload_bytes"].as_u64().unwrap_or(0) > 0, "{}", r["counts"]);
    let known = chatprobe::load::metrics::names::chat_journey(true);
    for name in r["metrics"].as_object().unwrap().keys().filter(|n| !n.contains("throughput")) {
        assert!(known.contains(name), "`{name}` is recorded but a threshold cannot name it: {known:?}");
    }
}

/// A keep-alive HTTP server on loopback that answers requests with `body` (JSON), after
/// `delay`: a server with a contract bug, or a slow one. Past `answers` requests it reads and
/// never answers again. Returns its URL and the count of requests it has read.
pub(crate) async fn fake_server(
    body: &'static str,
    delay: std::time::Duration,
    answers: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&answered);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answered = Arc::clone(&answered);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // Requests carry no body: each ends at its blank line.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if answered.fetch_add(1, Ordering::Relaxed) >= answers {
                            continue;
                        }
                        tokio::time::sleep(delay).await;
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), seen)
}

const VERSION_REQUESTS: &str = "name: v\njourney: request\nrequest: { path: /api/v2/diagnostics/version }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_with_no_threshold_on_them_exit_1_and_a_threshold_takes_the_gate_over() {
    let dir = workdir("violations");
    // `statusCode` is a number in the documentation: a string breaks the response schema.
    let target = fake_server(r#"{"statusCode":"0","version":"1"}"#, std::time::Duration::ZERO, usize::MAX).await.0;
    let text = format!("{VERSION_REQUESTS}load: {{ concurrency: 1, duration: 1s }}\ndrain: 1s\n");
    let file = write(&dir, "v.yaml", &text);
    let args = [file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap(), "--target", &target];
    assert_eq!(load(&args).await, 1);
    let r = report(&dir);
    check_against_schema(&r);
    assert_eq!((r["outcome"].as_str(), r["violations_gate"].as_bool()), (Some("violations"), Some(true)));
    assert!(r["counts"]["violations"].as_u64().unwrap() > 0);
    assert_eq!(r["counts"]["errors"], 0);
    let md = std::fs::read_to_string(dir.join("load-report.md")).unwrap();
    assert!(md.contains("contract violations**"), "{md}");

    let mut args = args.to_vec();
    args.extend(["--threshold", "violations < 1000000000"]);
    assert_eq!(load(&args).await, 0, "a threshold on violations replaces the default gate");
    assert_eq!(report(&dir)["violations_gate"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harness_that_cannot_keep_its_schedule_exits_3_naming_the_saturation() {
    let dir = workdir("saturated");
    // One worker, a server that takes 200 ms per answer, 20 arrivals a second wanted: most
    // arrivals cannot start within 50 ms of their time and are dropped.
    let target =
        fake_server(r#"{"statusCode":0,"version":"1"}"#, std::time::Duration::from_millis(200), usize::MAX).await.0;
    let text =
        format!("{VERSION_REQUESTS}load: {{ rate: 20, duration: 2s, connections: 1, max_lag: 50ms }}\ndrain: 2s\n");
    let file = write(&dir, "slow.yaml", &text);
    let args = [file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap(), "--target", &target];
    assert_eq!(load(&args).await, 3);
    let r = report(&dir);
    check_against_schema(&r);
    assert_eq!(r["outcome"], "saturated");
    let sat = &r["saturation"];
    assert!(sat["dropped"].as_u64().unwrap() > 0, "{sat}");
    assert_eq!(sat["dropped"], r["counts"]["dropped"]);
    assert!(sat["reason"].as_str().unwrap().starts_with("harness saturated from t="), "{sat}");
    assert!(r["timeline"].as_array().unwrap().iter().any(|s| s["saturated"] == true));
    let md = std::fs::read_to_string(dir.join("load-report.md")).unwrap();
    assert!(md.contains("SATURATED") && md.contains("latencies include client queueing"), "{md}");
    let html = std::fs::read_to_string(dir.join("load-report.html")).unwrap();
    assert!(html.contains("harness saturated (") && html.contains("latencies include client queueing"));

    let mut args = args.to_vec();
    args.push("--allow-saturation");
    assert_eq!(load(&args).await, 0, "saturation allowed: reported, not failed on");
    assert!(report(&dir)["saturation"]["dropped"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn absurd_load_values_exit_2_before_anything_runs() {
    let dir = workdir("absurd");
    let cases: [(&str, &[&str]); 6] = [
        ("load: { rate: 1e12, duration: 8s }", &[]),
        ("load: { rate: 0, duration: 8s }", &[]),
        ("load: { concurrency: 1e9, duration: 8s }", &[]),
        ("load: { rate: 4, duration: 8s, max_active: 1e9 }", &[]),
        ("load: { rate: 4, duration: 8s }", &["--chats-per-sec", "1e12"]),
        ("load: { rate: 4, duration: 8s }", &["--concurrency", "1e9"]),
    ];
    for (load_text, flags) in cases {
        let file = write(&dir, "absurd.yaml", &format!("name: a\n{load_text}\n"));
        std::fs::write(dir.join("load-report.json"), "{\"outcome\": \"pass\"}").unwrap();
        let mut args = vec![file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap()];
        args.extend_from_slice(flags);
        assert_eq!(load(&args).await, 2, "{load_text} {flags:?}");
        assert!(!dir.join("load-report.json").exists(), "an earlier report is not left looking current");
    }
}

#[tokio::test]
async fn a_dry_run_prints_the_plan_and_runs_nothing() {
    let dir = workdir("dry");
    let file = write(&dir, "short.yaml", SHORT_CHATS);
    std::fs::write(dir.join("load-report.json"), "{}").unwrap();
    let args = [file.to_str().unwrap(), "--report-dir", dir.to_str().unwrap(), "--dry-run"];
    assert_eq!(load(&args).await, 0);
    assert_eq!(std::fs::read_to_string(dir.join("load-report.json")).unwrap(), "{}", "nothing ran, nothing written");
    let plan = chatprobe::load::plan::describe(&chatprobe::load::spec::parse_file(&file).unwrap(), (0, 1), None);
    assert!(plan.contains("arrivals:   10,"), "{plan}");
    let bad = write(&dir, "bad.yaml", "name: b\nload: { rate: 1e12, duration: 8s }\n");
    assert_eq!(load(&[bad.to_str().unwrap(), "--dry-run"]).await, 2);
}

#[test]
fn validate_recognises_load_files() {
    let dir = workdir("validate");
    let good = write(&dir, "good.yaml", SHORT_CHATS);
    let bad = write(&dir, "bad.yaml", "name: b\nload: { concurrency: 1e9, duration: 8s }\n");
    let run = |paths: &[&Path]| {
        let mut argv = vec!["chatprobe".to_owned(), "validate".to_owned()];
        argv.extend(paths.iter().map(|p| p.display().to_string()));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(cli::main(Cli::parse_from(argv)))
    };
    assert_eq!(run(&[&good]), 0);
    assert_eq!(run(&[&bad]), 2);
    assert_eq!(run(&[&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load")]), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_cannot_hold_the_run_past_its_drain() {
    let dir = workdir("silent");
    // The first request (the reachability probe) is answered; no other ever is.
    let target = fake_server(r#"{"statusCode":0,"version":"1"}"#, std::time::Duration::ZERO, 1).await.0;
    let text = format!("{VERSION_REQUESTS}load: {{ concurrency: 2, duration: 1s }}\ndrain: 1s\n");
    let file = write(&dir, "silent.yaml", &text);
    let args = [
        file.to_str().unwrap(),
        "--report-dir",
        dir.to_str().unwrap(),
        "--target",
        &target,
        "--request-timeout",
        "10m",
    ];
    // Each request waits at most until the end of the drain, not its ten minutes.
    assert_eq!(load(&args).await, 4, "errors over the default 1% gate");
    let r = report(&dir);
    assert!(r["counts"]["errors"].as_u64().unwrap() >= 2);
    assert_eq!(r["counts"]["ops"], 0);
    assert!(r["error_samples"][0].as_str().unwrap().contains("no answer within"), "{}", r["error_samples"]);
    let failed: Vec<&Value> = r["thresholds"].as_array().unwrap().iter().filter(|t| t["passed"] == false).collect();
    assert_eq!(failed[0]["rule"], "error_rate <= 1% (default)");
}
