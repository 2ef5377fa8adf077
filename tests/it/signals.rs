//! SIGINT and SIGTERM on `chatprobe run`: the first stops gracefully — the current step is
//! abandoned, the scenario torn down (chats closed, agents logged out), the reports written and
//! marked `interrupted`, exit 130; reports of an earlier run never survive a run that could not
//! start; a closed stdout pipe does not stop a run from tearing down and writing its reports.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use chatprobe::sim::{self, SimConfig};

/// Fewer GWS scenarios than the suite holds: an interrupted run ran fewer.
const SUITE_SIZE_AT_LEAST: usize = 20;

/// A hang guard, far above what an interrupted run needs.
const BOUND: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tempdir(name: &str) -> PathBuf {
    crate::support::fresh_dir("signals", name)
}

fn report(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("chatprobe-report.json")).unwrap()).unwrap()
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_run_tears_down_and_reports_interrupted_with_130() {
    for signal in ["-INT", "-TERM"] {
        let running = sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let reports = tempdir(&signal[1..]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatprobe"))
            .args(["run", "scenarios/conformance/gws", "--target", &running.base_url()])
            .args(["--agent", "agent{1..6}:password", "--report-dir", reports.to_str().unwrap()])
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Once an agent holds a chat, the run is in the middle of a scenario.
        wait_until("an agent holds a chat", || running.handle.stats().agents_holding_chats > 0).await;
        let sent = Instant::now();
        let kill = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(sent.elapsed() < BOUND, "the run did not end after {signal}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let took = sent.elapsed();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let mut stdout = String::new();
        child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        assert_eq!(status.code(), Some(130), "{signal}: {stderr}\n{stdout}");
        assert!(stdout.contains("result: interrupted (exit 130)"), "{stdout}");
        let json = report(&reports);
        assert_eq!((json["outcome"].as_str(), json["exit_code"].as_i64()), (Some("interrupted"), Some(130)));
        assert_eq!(json["interrupted"], true);
        // The run stopped early: a step abandoned, or scenarios never started.
        let ran = json["scenarios"].as_array().unwrap();
        let abandoned = ran
            .iter()
            .flat_map(|s| s["steps"].as_array().unwrap())
            .any(|st| st["skip_reason"] == "the run was interrupted");
        assert!(abandoned || ran.len() < SUITE_SIZE_AT_LEAST, "{} scenarios ran", ran.len());
        // No temporary file is left beside the reports.
        let names: Vec<String> =
            std::fs::read_dir(&reports).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // The teardown closed what the run opened.
        let stats = running.handle.stats();
        assert_eq!(stats.agents_in_session, 0, "{signal}: agents left logged in");
        assert_eq!(stats.agents_holding_chats, 0, "{signal}: chats left open");
        assert_eq!(stats.bayeux_clients, 0, "{signal}: CometD sessions left open");
        eprintln!("{signal}: exit 130 {took:?} after the signal");
        running.shutdown().await;
    }
}

#[test]
fn a_run_that_cannot_start_replaces_the_reports_of_an_earlier_one() {
    let reports = tempdir("stale");
    std::fs::write(reports.join("chatprobe-report.json"), r#"{"outcome": "pass"}"#).unwrap();
    std::fs::write(reports.join("junit.xml"), "<testsuites/>").unwrap();
    let cases: [(&[&str], i32, &str); 3] = [
        (&["--target", "ftp://agent:s3cr3t@127.0.0.1/"], 2, "invalid-input"),
        // Port 9 (discard) on loopback: nothing listens there.
        (&["--target", "http://127.0.0.1:9", "--agent", "a:b"], 3, "could-not-run"),
        (&["--target", "http://127.0.0.1:9"], 2, "invalid-input"),
    ];
    for (args, code, outcome) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_chatprobe"))
            .args(["run", "scenarios/conformance/gws/01-login-and-session.yaml", "--report-dir"])
            .arg(&reports)
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stdout.contains(&format!("(exit {code})")), "the printed verdict is the exit code: {stdout}");
        let json = report(&reports);
        assert_eq!(json["outcome"], outcome, "{args:?}");
        assert!(json["error"].as_str().is_some_and(|e| !e.is_empty()), "{json}");
        let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
        assert!(junit.contains("<error"), "{junit}");
        for text in [stdout.as_ref(), stderr.as_ref(), &json.to_string(), &junit] {
            assert!(!text.contains("s3cr3t"), "a password in an output: {text}");
        }
    }
}

#[test]
fn a_closed_stdout_does_not_stop_the_run_from_writing_its_reports() {
    let reports = tempdir("pipe");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .args(["run", "scenarios/conformance/gws/01-login-and-session.yaml", "--report-dir"])
        .arg(&reports)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end at once: every write to stdout now fails with a broken pipe.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(report(&reports)["outcome"], "pass");
}
