//! `chatprobe load`: read a load file, apply the command line's overrides, run it against the
//! target (the embedded simulator unless `--target`), write the JSON, HTML and Markdown reports,
//! and map the verdict to an exit code (0 pass, 1 contract violations with no threshold on them,
//! 2 invalid input, 3 could not run or the harness saturated, 4 a threshold or the baseline
//! breached, 130 interrupted).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{credentials, invalid, output};
use crate::client::ClientConfig;
use crate::contract::schema::SchemaRegistry;
use crate::load::{self, BaselineSpec, LoadConfig, LoadError, ProgressMode, Stall, Target, bounds, thresholds};
use crate::report;
use crate::runner::{CancellationToken, Outcome};
use crate::scenario::parse::parse_duration;

/// The baseline gate's flags, the same for `load` and `merge`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// An earlier JSON load report (merged or not) to compare with; a regression fails the run
    /// (exit 4).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Largest allowed regression against the baseline (p99 growth, throughput drop).
    #[arg(long, default_value = "10%")]
    pub max_regression: String,
    /// Latency growth below this is never a regression (e.g. 1ms), against noise on tiny values.
    #[arg(long, default_value = "0ms")]
    pub regression_floor: String,
}

impl BaselineArgs {
    /// The baseline asked for, read and checked, if any.
    pub fn spec(&self) -> Result<Option<BaselineSpec>, Outcome> {
        let Some(path) = &self.baseline else { return Ok(None) };
        BaselineSpec::read(path, &self.max_regression, &self.regression_floor).map(Some).map_err(invalid)
    }
}

/// Where the JSON, HTML and Markdown load reports go, for `load` and `merge` alike.
#[derive(Debug, Args)]
pub struct LoadReportArgs {
    /// Directory for the reports.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// JSON report path (default: REPORT_DIR/load-report.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// HTML report path (default: REPORT_DIR/load-report.html).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Markdown summary path (default: REPORT_DIR/load-report.md).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

impl LoadReportArgs {
    /// The JSON, HTML and Markdown paths.
    fn paths(&self) -> [PathBuf; 3] {
        let or = |given: &Option<PathBuf>, name: &str| given.clone().unwrap_or_else(|| self.report_dir.join(name));
        [or(&self.json, "load-report.json"), or(&self.html, "load-report.html"), or(&self.markdown, "load-report.md")]
    }

    /// For an outcome that writes no report: earlier reports are removed, so none is left
    /// looking current.
    pub fn nothing_written(&self, outcome: Outcome) -> Outcome {
        for path in &self.paths() {
            output::remove_stale(path);
        }
        outcome
    }

    /// Write the three reports, print the summary, `heading` and the paths, and the verdict.
    pub fn write(&self, result: &load::LoadResult, heading: &str) -> Outcome {
        type Writer = fn(&load::LoadResult, &mut dyn std::io::Write) -> std::io::Result<()>;
        let [json, html, markdown] = self.paths();
        let writers: [(&PathBuf, Writer); 3] = [
            (&json, report::load::json::write),
            (&html, report::load::html::write),
            (&markdown, report::load::markdown::write),
        ];
        for (path, writer) in writers {
            if let Err(e) = super::write_file(path, |out| writer(result, out)) {
                eprintln!("error: cannot write report {}: {e}", path.display());
                return Outcome::CouldNotRun;
            }
        }
        let mut summary = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = report::load::markdown::write(result, &mut summary);
        output::print(&String::from_utf8_lossy(&summary));
        output::print(&format!("{heading} {} {} {}\n", json.display(), html.display(), markdown.display()));
        let outcome = result.outcome();
        output::print(&format!("result: {} (exit {})\n", result.verdict(), outcome.code()));
        outcome
    }
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The load file (see scenarios/load/).
    pub file: PathBuf,
    /// Base URL of the server under test. Without it, an embedded simulator is started on a
    /// loopback port with enough agents for the load.
    #[arg(long, env = "CHATPROBE_TARGET")]
    pub target: Option<String>,
    /// Agent credentials USER:PASSWORD, repeated or comma-separated; `agent{1..50}:secret`
    /// stands for fifty of them.
    #[arg(long = "agent", env = "CHATPROBE_AGENTS", value_delimiter = ',')]
    pub agents: Vec<String>,
    /// ContactCenterId header of customer requests (default: a random UUID).
    #[arg(long, env = "CHATPROBE_CONTACT_CENTER_ID")]
    pub contact_center_id: Option<String>,
    /// Replace the load with a constant open-model rate (chats, or requests, per second).
    #[arg(long, alias = "rate")]
    pub chats_per_sec: Option<f64>,
    /// Replace the load with a constant closed-model concurrency.
    #[arg(long)]
    pub concurrency: Option<f64>,
    /// Duration of a constant load (e.g. 30s, 2m).
    #[arg(long)]
    pub duration: Option<String>,
    /// Another threshold, e.g. "p99(Accept) < 200ms" (repeatable).
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    #[command(flatten)]
    pub out: LoadReportArgs,
    /// Load schemas from this directory instead of the built-in ones.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
    /// Deadline of every HTTP request.
    #[arg(long, default_value = "10s")]
    pub request_timeout: String,
    /// Live progress: auto (a live line on a terminal, plain lines otherwise), plain, off.
    #[arg(long, default_value = "auto")]
    pub progress: String,
    /// Take share I of N of the arrivals (I/N, e.g. 0/4), for runs spread over machines.
    #[arg(long, default_value = "0/1")]
    pub shard: String,
    /// Start the schedule at this RFC 3339 time (e.g. 2026-12-07T15:00:00Z), the same for every
    /// shard: the agents log in first, then the run waits (at most 24 h ahead).
    #[arg(long, env = "CHATPROBE_START_AT")]
    pub start_at: Option<String>,
    /// Benchmark hook: pause the embedded simulator this long after the load starts...
    #[arg(long)]
    pub stall_at: Option<String>,
    /// ...for this long (default 1s).
    #[arg(long)]
    pub stall_for: Option<String>,
    /// Report the harness's own saturation (it could not keep its schedule) without exiting 3.
    #[arg(long)]
    pub allow_saturation: bool,
    /// Check every value and print the plan (arrivals, workers, duration, deadline, gates,
    /// bounds) without running anything.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub tls: super::TlsArgs,
}

fn shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard `{s}`: expected I/N with I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    bounds::SHARDS.check("--shard N", n as f64).map_err(|e| e.to_string())?;
    Ok((i, n))
}

/// Fold the arguments into a validated configuration (exit 2 on any problem).
fn config(args: &LoadArgs) -> Result<LoadConfig, Outcome> {
    let mut spec = match load::spec::parse_file(&args.file) {
        Ok(s) => s,
        Err(diags) => {
            for d in diags {
                eprint!("{d}");
            }
            eprintln!("error: the load file is invalid; nothing was run");
            return Err(Outcome::InvalidInput);
        }
    };
    let dur = |name: &str, v: &Option<String>| -> Result<Option<std::time::Duration>, Outcome> {
        v.as_deref().map(parse_duration).transpose().map_err(|e| invalid(format!("--{name}: {e}")))
    };
    let duration = dur("duration", &args.duration)?;
    spec.override_load(args.chats_per_sec, args.concurrency, duration).map_err(invalid)?;
    for t in &args.thresholds {
        spec.thresholds.push(thresholds::parse(t).map_err(|e| invalid(format!("--threshold `{t}`: {e}")))?);
    }
    let request_timeout = match parse_duration(&args.request_timeout) {
        Ok(d) => bounds::REQUEST_TIMEOUT.duration("--request-timeout", d).map_err(invalid)?,
        Err(e) => return Err(invalid(format!("--request-timeout: {e}"))),
    };
    let progress = match args.progress.as_str() {
        "auto" => ProgressMode::Auto,
        "plain" => ProgressMode::Plain,
        "off" => ProgressMode::Off,
        other => return Err(invalid(format!("--progress `{other}`: expected auto, plain or off"))),
    };
    let agents = credentials(&args.agents).map_err(invalid)?;
    let shard = shard(&args.shard).map_err(invalid)?;
    load::shard::check_closed_share(&spec, shard).map_err(invalid)?;
    let start_at = args
        .start_at
        .as_deref()
        .map(|s| load::shard::parse_start_at(s, std::time::SystemTime::now()))
        .transpose()
        .map_err(invalid)?;
    let target = match &args.target {
        Some(url) => {
            let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("--target `{url}`: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(invalid(format!("--target `{url}`: not an http(s) URL")));
            }
            // No two shards log in the same agent.
            let needed = usize::from(matches!(spec.journey, load::Journey::Chat(_)));
            let agents =
                if shard.1 > 1 { load::shard::agents_of(agents, shard, needed).map_err(invalid)? } else { agents };
            Some(Target { base_url: url.clone(), agents })
        }
        None => None,
    };
    let stall = match (dur("stall-at", &args.stall_at)?, dur("stall-for", &args.stall_for)?) {
        (Some(at), d) => Some(Stall { at, duration: d.unwrap_or(std::time::Duration::from_secs(1)) }),
        (None, Some(_)) => return Err(invalid("--stall-for needs --stall-at")),
        (None, None) => None,
    };
    let baseline = args.baseline.spec()?;
    let schemas = match &args.schemas {
        Some(d) => SchemaRegistry::load_dir(d),
        None => SchemaRegistry::embedded(),
    }
    .map_err(invalid)?;
    let tls = args.tls.options().map_err(invalid)?;
    Ok(LoadConfig {
        spec,
        target,
        client: ClientConfig { request_timeout, tls, ..ClientConfig::default() },
        schemas: Arc::new(schemas),
        contact_center_id: args.contact_center_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        progress,
        shard,
        start_at,
        stall,
        baseline,
        stop: CancellationToken::new(),
        allow_saturation: args.allow_saturation,
    })
}

pub async fn load(args: LoadArgs) -> Outcome {
    let nothing_written = |outcome: Outcome| args.out.nothing_written(outcome);
    let cfg = match config(&args) {
        Ok(c) => c,
        Err(o) if args.dry_run => return o,
        Err(o) => return nothing_written(o),
    };
    if args.dry_run {
        let target = cfg.target.as_ref().map(|t| t.base_url.as_str());
        output::print(&load::plan::describe(&cfg.spec, cfg.shard, target));
        output::print("valid: nothing was run (--dry-run)\n");
        return Outcome::Pass;
    }
    // Before our own handler: goose must not take SIGINT from it.
    load::keep_signals_from_goose();
    output::on_signals(cfg.stop.clone(), "stopping arrivals, draining, writing the reports");
    if cfg.progress != ProgressMode::Off {
        let at = cfg.target.as_ref().map_or("the embedded simulator", |t| t.base_url.as_str());
        eprintln!("chatprobe load: {} ({}) against {at}", cfg.spec.name, cfg.spec.file);
    }
    let result = match load::run(cfg).await {
        Ok(r) => r,
        Err(e @ LoadError::Invalid(_)) => return nothing_written(invalid(e)),
        Err(e) => {
            eprintln!("error: {e}");
            return nothing_written(Outcome::CouldNotRun);
        }
    };
    args.out.write(&result, "reports:")
}

/// Whether `path` is a load file rather than a scenario: YAML with a top-level `load:` key.
pub fn is_load_file(path: &std::path::Path) -> bool {
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    // Only the start is read: a load file names its profile near the top, and a huge file is
    // left to the scenario parser's own limits.
    let head = || -> Option<String> {
        use std::io::Read;
        let mut buf = Vec::new();
        std::fs::File::open(path).ok()?.take(64 * 1024).read_to_end(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    };
    yaml && path.is_file() && head().is_some_and(|t| t.lines().any(|l| l.starts_with("load:")))
}

/// The load files among `paths`: files that are load files, and directories whose YAML files
/// all are (such as `scenarios/load`). The rest are left to the scenario parser.
pub fn split_load_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut loads, mut rest) = (Vec::new(), Vec::new());
    for p in paths {
        if p.is_dir() {
            let mut yaml: Vec<PathBuf> =
                std::fs::read_dir(p).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
            yaml.retain(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"));
            yaml.sort();
            if !yaml.is_empty() && yaml.iter().all(|f| is_load_file(f)) {
                loads.extend(yaml);
                continue;
            }
        } else if is_load_file(p) {
            loads.push(p.clone());
            continue;
        }
        rest.push(p.clone());
    }
    (loads, rest)
}

/// Check load files as `load` would (every bound included); print one line each.
pub fn validate_files(files: &[PathBuf]) -> Result<(), Outcome> {
    let mut bad = 0;
    for f in files {
        match load::spec::parse_file(f) {
            Ok(spec) => {
                let arrivals = load::plan::arrivals(&spec, (0, 1))
                    .map_or_else(|| format!("peak concurrency {}", spec.profile.peak()), |n| format!("{n} arrivals"));
                let secs = spec.profile.duration().as_secs_f64();
                output::print(&format!("{}: load `{}`, {arrivals} over {secs} s: valid\n", f.display(), spec.name));
            }
            Err(diags) => {
                bad += 1;
                for d in diags {
                    eprint!("{d}");
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("error: {bad} load file(s) are invalid");
        return Err(Outcome::InvalidInput);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_ranges_expand() {
        let c = credentials(&["agent{1..3}:pw".into(), "boss:x".into()]).unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.username.as_str()).collect();
        assert_eq!(names, ["agent1", "agent2", "agent3", "boss"]);
        assert!(credentials(&["agent{3..1}:pw".into()]).is_err());
        assert!(credentials(&["nopassword".into()]).is_err());
    }

    #[test]
    fn shards() {
        assert_eq!(shard("1/4").unwrap(), (1, 4));
        assert!(shard("4/4").is_err() && shard("x").is_err());
    }
}
