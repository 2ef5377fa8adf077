//! The latitude options on the command line: `serve --seed` prints its choices and serves them at
//! the diagnostics path, `--latitude` pins one, an unknown name or alternative exits 2 naming the
//! valid ones, `run` takes the same options for its embedded simulator only.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatprobe::sim::{LATITUDES_PATH, Latitudes};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chatprobe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chatprobe")).args(args).current_dir(root()).output().unwrap()
}

#[test]
fn unknown_latitudes_or_alternatives_exit_2_naming_the_valid_ones() {
    let out = chatprobe(&["serve", "--port", "0", "--latitude", "no-such=thing"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown latitude `no-such`") && stderr.contains("csrf-cometd"), "{stderr}");
    let out = chatprobe(&["serve", "--port", "0", "--latitude", "routing=random"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("lowest-numbered, highest-numbered"), "{stderr}");
    let out = chatprobe(&["run", "--latitude", "event-order", "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = chatprobe(&["run", "--target", "http://127.0.0.1:9", "--seed", "3", "-q", "--agent", "a:b"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let out = chatprobe(&["selftest", "--seeds", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn selftest_list_names_every_latitude_and_its_alternatives() {
    let out = chatprobe(&["selftest", "--list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for info in Latitudes::ALL {
        let line = stdout.lines().find(|l| l.starts_with(info.name)).unwrap_or_else(|| panic!("{}", info.name));
        assert!(line.contains(&info.alternatives.join("|")), "{line}");
    }
}

/// Kills the server when the test ends, passed or not.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_seed_prints_and_serves_its_choices() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_chatprobe"))
            .args(["serve", "--port", "0", "--agents", "2", "--seed", "5", "--latitude", "routing=highest-numbered"])
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let start = Instant::now();
    let (mut url, mut printed) = (None, None);
    while url.is_none() || printed.is_none() {
        let left = Duration::from_secs(20).saturating_sub(start.elapsed());
        let line = rx.recv_timeout(left).expect("serve printed its address and latitudes");
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(json) = line.strip_prefix("latitudes: ") {
            printed = Some(serde_json::from_str::<Value>(json).unwrap());
        }
    }
    let mut expected = Latitudes::from_seed(5);
    expected.pin("routing", "highest-numbered").unwrap();
    assert_eq!(printed.unwrap(), expected.to_json());
    let served: Value = reqwest::get(format!("{}{LATITUDES_PATH}", url.unwrap())).await.unwrap().json().await.unwrap();
    assert_eq!(served, expected.to_json());
}
