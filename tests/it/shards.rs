//! One load in 4 shard processes against one served simulator (scripts/shard-local.sh), merged:
//! the merged counts are the shards' sums, every merged histogram is exactly the union of the
//! shards' (its p99 the union's p99), the thresholds are judged once, on the merge, and `merge`
//! refuses other plans, missing and duplicated shards (exit 2, naming them). A histogram of the
//! reports decodes with the Python `hdrhistogram` package to the same figures. Counts and exit
//! codes only; no timings.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_chatprobe");
const SHARDS: u64 = 4;

/// 8 chats a second for 2 s: 16 chats, 4 per shard.
const LOAD: &str = "name: sharded
journey: chat
chat:
  messages: 1
  customer_think: 1ms..5ms
  agent_think: 1ms..5ms
  poll_interval: 5ms
  timeout: 5s
load: { rate: 8, duration: 2s }
drain: 10s
thresholds:
  - \"p99(chat) < 60s\"
  - \"error_rate == 0\"
";

fn workdir(name: &str) -> PathBuf {
    crate::support::fresh_dir("shards", name)
}

/// Run a command to its end, killing it past `deadline`.
fn run(cmd: &mut Command, deadline: Duration) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let until = Instant::now() + deadline;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            panic!("{cmd:?} did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn decode(hdr: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(hdr).unwrap();
    Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap()
}

/// `chatprobe merge` over these reports into `dir`: (exit code, stderr).
fn merge(reports: &[&Path], dir: &Path) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("merge").args(reports).arg("--report-dir").arg(dir);
    let out = run(&mut cmd, Duration::from_secs(30));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn four_shards_against_one_simulator_merge_exactly() {
    let dir = workdir("local");
    let file = dir.join("sharded.yaml");
    std::fs::write(&file, LOAD).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/shard-local.sh");
    let out = run(
        Command::new("bash")
            .arg(&script)
            .arg(SHARDS.to_string())
            .arg(&file)
            .env("CHATPROBE", BIN)
            .env("REPORT_DIR", &dir)
            .env("START_DELAY", "2")
            .env_remove("CHATPROBE_TARGET")
            .env_remove("CHATPROBE_AGENTS"),
        Duration::from_secs(120),
    );
    let shown = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "shard-local.sh: {shown}");

    let paths: Vec<PathBuf> = (0..SHARDS).map(|i| dir.join(format!("shard-{i}/load-report.json"))).collect();
    let shards: Vec<Value> = paths.iter().map(|p| report(p)).collect();
    let merged = report(&dir.join("merged/load-report.json"));

    // Each shard says which it is, of which plan, from which start.
    for (i, s) in shards.iter().enumerate() {
        assert_eq!(s["shard"]["index"], i as u64);
        assert_eq!(s["shard"]["count"], SHARDS);
        assert_eq!(s["plan_hash"], shards[0]["plan_hash"]);
        assert_eq!(s["start_at"], shards[0]["start_at"]);
        assert!(s["start_at"].is_string());
        assert_eq!(s["counts"]["chats_started"], 4, "shard {i} takes 4 of the 16 arrivals");
    }
    assert_eq!(merged["merged_shards"], serde_json::json!([0, 1, 2, 3]));
    assert_eq!(merged["plan_hash"], shards[0]["plan_hash"]);

    // Counts: the merge's are the shards' sums.
    let counts = merged["counts"].as_object().unwrap();
    for (key, value) in counts {
        let sum: u64 = shards.iter().map(|s| s["counts"][key].as_u64().unwrap()).sum();
        assert_eq!(value.as_u64().unwrap(), sum, "counts.{key}");
    }
    assert_eq!(merged["counts"]["chats_started"], 16);
    assert_eq!(merged["counts"]["chats_completed"], 16);
    assert_eq!(merged["counts"]["errors"], 0, "errors: {}", merged["error_samples"]);
    let timeline_ops: u64 = merged["timeline"].as_array().unwrap().iter().map(|t| t["ops"].as_u64().unwrap()).sum();
    assert_eq!(timeline_ops, merged["counts"]["ops"].as_u64().unwrap(), "the aligned timeline holds every op");

    // Histograms: exactly the union, figure by figure.
    let metrics = merged["metrics"].as_object().unwrap();
    assert!(metrics.contains_key("chat") && metrics.contains_key("Accept"));
    for (name, m) in metrics {
        for kind in ["corrected", "uncorrected"] {
            if m[kind].is_null() {
                continue;
            }
            let mut union = Histogram::<u64>::new(3).unwrap();
            for s in &shards {
                if let Some(hdr) = s["metrics"][name][kind]["hdr"].as_str() {
                    union.add(decode(hdr)).unwrap();
                }
            }
            let mine = decode(m[kind]["hdr"].as_str().unwrap());
            assert!(mine == union, "{name} {kind}: the merged histogram is not the union of the shards'");
            assert_eq!(m[kind]["p99"].as_u64().unwrap(), union.value_at_quantile(0.99), "{name} {kind} p99");
            assert_eq!(m[kind]["count"].as_u64().unwrap(), union.len(), "{name} {kind} count");
        }
    }

    // Thresholds: judged once, on the merged figures.
    let union_p99 = decode(metrics["chat"]["corrected"]["hdr"].as_str().unwrap()).value_at_quantile(0.99);
    let thresholds = merged["thresholds"].as_array().unwrap();
    let rules: Vec<&str> = thresholds.iter().map(|t| t["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["p99(chat) < 60s", "error_rate == 0"], "each threshold once");
    assert_eq!(thresholds[0]["observed"], format!("{:.3}ms", union_p99 as f64 / 1e3));
    assert_eq!(merged["outcome"], "pass");

    python_reads_the_histograms(&dir.join("merged/load-report.json"));
    python_reads_the_histograms(&paths[1]);

    // The merge gates as `load` does: a breached threshold exits 4, a baseline is compared.
    let [p0, p1, p2, p3] = [&paths[0], &paths[1], &paths[2], &paths[3]].map(PathBuf::as_path);
    let gated = dir.join("gated");
    let out = run(
        Command::new(BIN)
            .arg("merge")
            .args([p0, p1, p2, p3])
            .args(["--threshold", "dropped >= 1", "--report-dir"])
            .arg(&gated),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let breached = report(&gated.join("load-report.json"));
    assert_eq!(breached["outcome"], "threshold-breached");
    assert_eq!(breached["thresholds"].as_array().unwrap().len(), 3, "{}", breached["thresholds"]);
    let baseline = dir.join("merged/load-report.json");
    let out = run(
        Command::new(BIN)
            .arg("merge")
            .args([p0, p1, p2, p3])
            .arg("--baseline")
            .arg(&baseline)
            .arg("--report-dir")
            .arg(&gated),
        Duration::from_secs(30),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the same shards against their own merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let compared = report(&gated.join("load-report.json"));
    assert!(compared["baseline"]["comparisons"].as_array().is_some_and(|c| !c.is_empty()), "{}", compared["baseline"]);

    // Refusals, each naming what is wrong.
    let refused = dir.join("refused");
    let (code, err) = merge(&[p0, p1, p3], &refused);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing shards: 2/4"), "{err}");
    let (code, err) = merge(&[p0, p1, p2, p3, p1], &refused);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("duplicated shards: shard 1/4 in") && err.contains("shard-1/load-report.json"), "{err}");
    let mut other = shards[2].clone();
    other["plan_hash"] = Value::from("sha256:0123456789abcdef0123456789abcdef");
    let other_path = dir.join("other-plan.json");
    std::fs::write(&other_path, serde_json::to_string(&other).unwrap()).unwrap();
    let (code, err) = merge(&[p0, p1, &other_path, p3], &refused);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("different load plans") && err.contains("other-plan.json"), "{err}");
    assert!(!refused.join("load-report.json").exists(), "a refused merge writes no report");
    let (code, err) = merge(&[p3, p2, p1, p0], &refused);
    assert_eq!(code, 0, "the same shards in any order merge: {err}");
}

/// Decode every histogram of a report with the Python `hdrhistogram` package (module `hdrh`) and
/// compare its count, min, max and percentiles with the report's. The two libraries rank a
/// percentile differently (Rust: ceil(q·n), Python: round(q·n)), so Python is asked for the
/// percentile whose rank is Rust's: the same bucket walk, compared exactly. Without Python or
/// the package this says so and passes, unless CHATPROBE_REQUIRE_INTEROP=1.
fn python_reads_the_histograms(report: &Path) {
    const CHECK: &str = r#"
import json, math, sys
from hdrh.histogram import HdrHistogram
report = json.load(open(sys.argv[1]))
problems, checked = [], 0
for name, metric in report["metrics"].items():
    for kind in ("corrected", "uncorrected"):
        figure = metric[kind]
        if not figure:
            continue
        h = HdrHistogram.decode(figure["hdr"])
        n = h.get_total_count()
        got = {"count": n, "min": h.get_min_value(), "max": h.get_max_value()}
        for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)):
            rank = max(1, math.ceil(q * n))
            got[key] = h.get_value_at_percentile(100.0 * rank / n)
        for key, value in got.items():
            checked += 1
            if value != figure[key]:
                problems.append(f"{name} {kind} {key}: hdrh {value}, report {figure[key]}")
print(checked)
if problems:
    sys.exit("\n".join(problems))
"#;
    let python = Command::new("python3").args(["-c", "import hdrh"]).output();
    if !python.is_ok_and(|o| o.status.success()) {
        let message = "python_reads_the_histograms: missing python3 or its `hdrhistogram` package (pip install hdrhistogram, as .ci/run does)";
        assert!(std::env::var("CHATPROBE_REQUIRE_INTEROP").as_deref() != Ok("1"), "{message}");
        eprintln!("skipped: {message}");
        return;
    }
    let out = run(Command::new("python3").args(["-c", CHECK]).arg(report), Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hdrhistogram (Python) reads {} differently:\n{stderr}", report.display());
    let checked: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    assert!(checked >= 7 * 2, "too few figures compared in {}: {checked}", report.display());
}

/// Shell words of a manifest's command line: spaces split, double quotes group, `$NAME` replaced.
fn shell_words(line: &str, env: &[(&str, String)]) -> Vec<String> {
    let mut expanded = line.to_owned();
    // Longest names first, so that `$SHARDS` is not taken for `$SHARD` + "S".
    let mut names: Vec<&(&str, String)> = env.iter().collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in names {
        expanded = expanded.replace(&format!("${name}"), value);
    }
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in expanded.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The command line a Job's container runs (`sh -c "exec chatprobe …"`), as words.
fn job_command(file: &str, env: &[(&str, String)]) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s").join(file);
    let job: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let script = job["spec"]["template"]["spec"]["containers"][0]["args"][0].as_str().unwrap();
    let words = shell_words(script, env);
    assert_eq!(words[..2], ["exec", "chatprobe"], "{file}: {script}");
    words[2..].to_vec()
}

#[test]
fn the_kubernetes_jobs_call_the_command_line_as_it_is() {
    let params = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s/params.env")).unwrap();
    let mut env: Vec<(&str, String)> = params
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().to_owned()))
        .filter(|(k, _)| *k != "START_AT")
        .collect();
    let shards: u64 = env.iter().find(|(k, _)| *k == "SHARDS").unwrap().1.parse().unwrap();
    // A start a minute ahead: the manifests' example start is a fixed time.
    let start = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    env.push(("START_AT", start.format(&time::format_description::well_known::Rfc3339).unwrap()));
    env.push(("JOB_COMPLETION_INDEX", (shards - 1).to_string()));

    // The last shard, as its pod runs it, checked and planned without running (--dry-run), with
    // the shipped load file and a pool of one agent a shard.
    let mut shard = job_command("shards-job.yaml", &env);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s/load.yaml");
    assert_eq!(shard[..2], ["load", "/config/load.yaml"]);
    shard[1] = config.display().to_string();
    let out = run(
        Command::new(BIN)
            .args(&shard)
            .arg("--dry-run")
            .env("CHATPROBE_AGENTS", format!("agent{{1..{shards}}}:secret"))
            .env_remove("CHATPROBE_TARGET"),
        Duration::from_secs(30),
    );
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{shard:?}:\n{shown}");
    assert!(shown.contains(&format!("(shard {} of {shards})", shards - 1)), "{shown}");
    // One agent short: the last shard gets none and says so.
    let out = run(
        Command::new(BIN)
            .args(&shard)
            .arg("--dry-run")
            .env("CHATPROBE_AGENTS", format!("agent{{1..{}}}:s", shards - 1)),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("this shard gets 0 of the"));

    // The merge, as its pod runs it (the shell expands the glob; here, one file per shard).
    let merge = job_command("merge-job.yaml", &env);
    assert_eq!(merge[..2], ["merge", "/reports/shard-*/load-report.json"]);
    let mut argv = vec!["chatprobe".to_owned()];
    argv.extend(merge);
    use clap::Parser;
    if let Err(e) = chatprobe::cli::Cli::try_parse_from(&argv) {
        panic!("merge-job.yaml: `{}` does not parse:\n{e}", argv.join(" "));
    }
}
