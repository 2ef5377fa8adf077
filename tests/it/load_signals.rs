//! SIGINT and SIGTERM on `chatprobe load`, sent to the binary: the first stops arrivals, drains,
//! logs every agent out, writes the reports marked `interrupted` and exits 130 (goose must not
//! swallow it); a second exits at once and leaves no half-written report.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use chatprobe::sim::{self, SimConfig};

/// A hang guard, far above what an interrupted load needs.
const BOUND: Duration = Duration::from_secs(60);

/// Chats a minute of this load would start: an interrupted run started fewer.
const PLANNED_CHATS: u64 = 5 * 60;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workdir(name: &str) -> PathBuf {
    crate::support::fresh_dir("load-signals", name)
}

/// A minute of chats whose agents think for seconds: when the signal comes, chats are in
/// flight, and the drain must complete them rather than wait out their conversations.
fn load_file(dir: &Path, load: &str) -> PathBuf {
    let path = dir.join("minute.yaml");
    let text = format!(
        "name: minute\nchat: {{ messages: 3, customer_think: 5ms..20ms, agent_think: 2s..3s, \
         poll_interval: 5ms, timeout: 5s }}\nload: {load}\ndrain: 30s\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(file: &Path, target: &str, reports: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .arg("load")
        .arg(file)
        .args(["--target", target, "--agent", "agent{1..10}:password", "--progress", "off", "--report-dir"])
        .arg(reports)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill(child: &Child, signal: &str) {
    assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn exit_code(child: &mut Child, what: &str) -> Option<i32> {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "the load did not end after {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_signal_drains_reports_interrupted_and_logs_every_agent_out() {
    // The open model's workers take arrivals from the schedule; the closed model's are goose's
    // users, which goose itself must stop.
    for (signal, load) in [("-INT", "{ rate: 5, duration: 60s }"), ("-TERM", "{ concurrency: 5, duration: 60s }")] {
        let running = sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let dir = workdir(&signal[1..]);
        let reports = dir.join("reports");
        let file = load_file(&dir, load);
        let mut child = spawn(&file, &running.base_url(), &reports);
        wait_until("an agent holds a chat", || running.handle.stats().agents_holding_chats > 0).await;
        kill(&child, signal);
        let sent = Instant::now();
        let code = exit_code(&mut child, signal).await;
        eprintln!("{signal}: exit {code:?} {:?} after the signal", sent.elapsed());
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code, Some(130), "{signal}: {stderr}\n{stdout}");
        assert!(stdout.contains("result: interrupted (exit 130)"), "{stdout}");
        // goose prints "N users launched." whatever it is told; chatprobe's stdout is its own.
        assert!(!stdout.contains("users launched"), "{stdout}");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(reports.join("load-report.json")).unwrap()).unwrap();
        assert_eq!((json["outcome"].as_str(), json["exit_code"].as_i64()), (Some("interrupted"), Some(130)));
        assert_eq!(json["interrupted"], true);
        let started = json["counts"]["chats_started"].as_u64().unwrap();
        assert!(started > 0 && started < PLANNED_CHATS, "{started} chats started");
        // Every chat in flight was completed, none abandoned.
        assert_eq!(json["counts"]["chats_completed"], json["counts"]["chats_started"], "{}", json["error_samples"]);
        assert_eq!(json["counts"]["errors"], 0, "{}", json["error_samples"]);
        let md = std::fs::read_to_string(reports.join("load-report.md")).unwrap();
        assert!(md.contains("INTERRUPTED"), "{md}");
        assert_eq!(files_in(&reports), ["load-report.html", "load-report.json", "load-report.md"]);
        let stats = running.handle.stats();
        assert_eq!(stats.agents_in_session, 0, "{signal}: agents left logged in");
        assert_eq!(stats.bayeux_clients, 0, "{signal}: CometD sessions left open");
        running.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_and_leaves_no_half_written_report() {
    // A server that answers the reachability probe and nothing after: after the first signal
    // the workers wait out a long drain, and the second signal arrives while they do.
    let (target, seen) = super::load::fake_server(r#"{"statusCode":0,"version":"1"}"#, Duration::ZERO, 1).await;
    let dir = workdir("twice");
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let file = dir.join("silent.yaml");
    std::fs::write(
        &file,
        "name: silent\njourney: request\nrequest: { path: /api/v2/diagnostics/version }\n\
         load: { concurrency: 2, duration: 60s }\ndrain: 10m\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatprobe"))
        .arg("load")
        .arg(&file)
        .args(["--target", &target, "--request-timeout", "10m", "--progress", "off", "--report-dir"])
        .arg(&reports)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stderr.take().unwrap());
    // The load runs once both workers have sent a request (after the probe).
    wait_until("both workers wait for an answer", || seen.load(std::sync::atomic::Ordering::Relaxed) >= 3).await;
    kill(&child, "-INT");
    let heard = read_until(&lines, "interrupted;");
    if !heard {
        let _ = child.kill();
    }
    assert!(heard, "the first signal was not heard");
    kill(&child, "-INT");
    assert_eq!(exit_code(&mut child, "the second signal").await, Some(130));
    assert!(read_until(&lines, "interrupted again; exiting"));
    // Still draining: no report was due yet, and no temporary file is left.
    let left = files_in(&reports);
    assert!(left.is_empty(), "{left:?}");
}

/// The lines of a child's standard error, read on a thread of their own.
fn lines_of(stderr: std::process::ChildStderr) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Whether a line holding `what` comes within the bound.
fn read_until(lines: &std::sync::mpsc::Receiver<String>, what: &str) -> bool {
    let deadline = Instant::now() + BOUND;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(what) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}
