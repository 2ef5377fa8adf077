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
    let dir = std::env::temp_dir().join(format!("chatprobe-load-signals-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn load_file(dir: &Path, agent_think: &str, drain: &str) -> PathBuf {
    let path = dir.join("minute.yaml");
    let text = format!(
        "name: minute\nchat: {{ messages: 2, customer_think: 5ms..20ms, agent_think: {agent_think}, \
         poll_interval: 5ms, timeout: 5s }}\nload: {{ rate: 5, duration: 60s }}\ndrain: {drain}\n"
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
    for signal in ["-INT", "-TERM"] {
        let running = sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let dir = workdir(&signal[1..]);
        let reports = dir.join("reports");
        let file = load_file(&dir, "5ms..20ms", "10s");
        let mut child = spawn(&file, &running.base_url(), &reports);
        wait_until("an agent holds a chat", || running.handle.stats().agents_holding_chats > 0).await;
        kill(&child, signal);
        let code = exit_code(&mut child, signal).await;
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code, Some(130), "{signal}: {stderr}\n{stdout}");
        assert!(stdout.contains("result: interrupted (exit 130)"), "{stdout}");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(reports.join("load-report.json")).unwrap()).unwrap();
        assert_eq!((json["outcome"].as_str(), json["exit_code"].as_i64()), (Some("interrupted"), Some(130)));
        assert_eq!(json["interrupted"], true);
        let started = json["counts"]["chats_started"].as_u64().unwrap();
        assert!(started > 0 && started < PLANNED_CHATS, "{started} chats started");
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
    let running = sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = workdir("twice");
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    // Agents think for seconds and the drain is long: after the first signal, the run is still
    // draining when the second arrives.
    let file = load_file(&dir, "3s..4s", "60s");
    let mut child = spawn(&file, &running.base_url(), &reports);
    wait_until("an agent holds a chat", || running.handle.stats().agents_holding_chats > 0).await;
    kill(&child, "-INT");
    // The first signal is heard when the console says so.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + BOUND;
    while !line.contains("interrupted;") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "stderr closed before the first signal was heard");
        assert!(Instant::now() < deadline);
    }
    kill(&child, "-INT");
    assert_eq!(exit_code(&mut child, "the second signal").await, Some(130));
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert!(rest.contains("interrupted again; exiting"), "{rest}");
    // Still draining: no report was due yet, and no temporary file is left.
    let left = files_in(&reports);
    assert!(left.is_empty(), "{left:?}");
    running.shutdown().await;
}
