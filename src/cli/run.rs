//! `chatprobe run` and `chatprobe validate`: find and parse scenarios, choose the target (the
//! embedded simulator unless `--target`), run, write the reports, map the result to an exit code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::io::Write as _;

use super::{CoverageArgs, RunArgs, ValidateArgs, credentials, invalid, output, run_progress};
use crate::client::ClientConfig;
use crate::contract::schema::SchemaRegistry;
use crate::report;
use crate::runner::trace::{self, TraceMode};
use crate::runner::{self, Credentials, Outcome, RunConfig, Target};
use crate::scenario::{self, Scenario, parse::parse_duration};
use crate::sim;

/// Every *.yaml / *.yml under the given paths, sorted, files given explicitly kept as given.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|e| format!("{}: {e}", p.display()))?;
            found.sort();
            if found.is_empty() {
                return Err(format!("{}: no scenario files (*.yaml, *.yml) in this directory", p.display()));
            }
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else if p.exists() {
            return Err(format!("{}: not a regular file (a scenario is read from a file or a directory)", p.display()));
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

/// The scenario files under `dir`, each directory entered once however many links lead to it
/// (a symlink cycle ends there); a `.yaml` entry that is not a regular file (a FIFO, a socket,
/// a device) is refused by name, as reading it could block forever.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut seen = std::collections::HashSet::new();
    walk_once(dir, &mut seen, out)
}

fn walk_once(dir: &Path, seen: &mut std::collections::HashSet<PathBuf>, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !seen.insert(std::fs::canonicalize(dir)?) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk_once(&path, seen, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            if !path.is_file() {
                return Err(std::io::Error::other(format!("{}: not a regular file", path.display())));
            }
            out.push(path);
        }
    }
    Ok(())
}

/// Parse every file; all diagnostics are printed before giving up. `external` names the
/// variables the run is given from outside.
fn load(paths: &[PathBuf], external: &[String]) -> Result<(Vec<Scenario>, HashMap<String, String>), Outcome> {
    let files = discover(paths).map_err(invalid)?;
    let mut scenarios = Vec::new();
    let mut sources = HashMap::new();
    let mut bad = 0;
    for f in files {
        match scenario::parse::parse_file_with(&f, external) {
            Ok(sc) => {
                if let Ok(text) = std::fs::read_to_string(&f) {
                    sources.insert(sc.file.clone(), text);
                }
                scenarios.push(sc);
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
        eprintln!("error: {bad} scenario file(s) are invalid; nothing was run");
        return Err(Outcome::InvalidInput);
    }
    Ok((scenarios, sources))
}

fn schemas(dir: Option<&Path>) -> Result<Arc<SchemaRegistry>, Outcome> {
    let reg = match dir {
        Some(d) => SchemaRegistry::load_dir(d),
        None => SchemaRegistry::embedded(),
    };
    reg.map(Arc::new).map_err(invalid)
}

/// The external variables: environment, `--vars-file`s, `--var`s.
fn external_vars(flags: &[String], files: &[PathBuf]) -> Result<Vec<(String, serde_json::Value)>, Outcome> {
    super::vars::collect(std::env::vars(), files, flags).map_err(invalid)
}

/// A report format, writing the run's result.
type Writer<'a> = dyn Fn(&runner::RunResult, &mut dyn std::io::Write) -> std::io::Result<()> + 'a;

/// Where the run's reports go.
struct ReportPaths {
    json: PathBuf,
    junit: PathBuf,
    /// `--trace`.
    har: Option<PathBuf>,
    /// `--html`.
    html: Option<PathBuf>,
}

impl ReportPaths {
    fn of(args: &RunArgs) -> ReportPaths {
        ReportPaths {
            json: args.json.clone().unwrap_or_else(|| args.report_dir.join("chatprobe-report.json")),
            junit: args.junit.clone().unwrap_or_else(|| args.report_dir.join("junit.xml")),
            har: args.trace.clone(),
            html: args.html.clone(),
        }
    }

    /// Write every report; the outcome becomes "could not run" when one cannot be written.
    /// `sources` are the scenario files' texts, which the HTML report quotes.
    fn write(&self, result: &runner::RunResult, sources: &HashMap<String, String>) -> Outcome {
        let html = |r: &runner::RunResult, out: &mut dyn std::io::Write| report::html::write(r, sources, out);
        let mut writers: Vec<(&PathBuf, Box<Writer<'_>>)> =
            vec![(&self.json, Box::new(report::json::write)), (&self.junit, Box::new(report::junit::write))];
        if let Some(har) = &self.har {
            writers.push((har, Box::new(report::har::write)));
        }
        if let Some(path) = &self.html {
            writers.push((path, Box::new(html)));
        }
        for (path, writer) in writers {
            if let Err(e) = super::write_file(path, |out| writer(result, out)) {
                eprintln!("error: cannot write report {}: {e}", path.display());
                return Outcome::CouldNotRun;
            }
        }
        result.outcome()
    }

    /// Every path written, for the closing line.
    fn shown(&self) -> String {
        let mut all = vec![self.json.display().to_string(), self.junit.display().to_string()];
        all.extend(self.har.iter().chain(&self.html).map(|p| p.display().to_string()));
        all.join(" ")
    }
}

/// A run that cannot start still writes its reports, saying why: reports an earlier run left
/// must never pass for this one's.
fn not_started(paths: &ReportPaths, outcome: Outcome, error: String, target: &str) -> Outcome {
    eprintln!("error: {error}");
    let result = runner::RunResult::not_started(outcome, error, target);
    let written = paths.write(&result, &HashMap::new());
    let mut line = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = report::console::write_verdict(written, &mut line);
    output::print(&String::from_utf8_lossy(&line));
    written
}

pub use crate::client::display_url;

/// Keep the scenarios `--tag`, `--skip-tag` and `--name` select, in file order.
fn select(scenarios: Vec<Scenario>, args: &RunArgs) -> Result<Vec<Scenario>, String> {
    let mut globs = globset::GlobSetBuilder::new();
    for n in &args.names {
        globs.add(globset::Glob::new(n).map_err(|e| format!("--name `{n}`: {e}"))?);
    }
    let globs = globs.build().map_err(|e| format!("--name: {e}"))?;
    let total = scenarios.len();
    let kept: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|sc| args.tags.is_empty() || sc.tags.iter().any(|t| args.tags.contains(t)))
        .filter(|sc| !sc.tags.iter().any(|t| args.skip_tags.contains(t)))
        .filter(|sc| args.names.is_empty() || globs.is_match(&sc.name))
        .collect();
    if kept.is_empty() {
        return Err(format!("no scenario (of {total}) matches the --tag, --skip-tag and --name given"));
    }
    Ok(kept)
}

/// Every agent the jobs will use logs in once (GET /api/v2/me with its credentials) before the
/// first scenario: a refused one ends the run with one clear error instead of a run full of
/// 401s.
async fn check_credentials(jobs: &[RunConfig]) -> Result<(), String> {
    for cfg in jobs {
        for c in &cfg.target.agents {
            let session = crate::client::AgentSession::new(&cfg.target.base_url, &c.username, &c.password, &cfg.client)
                .map_err(|e| e.to_string())?;
            let me = session.get("/api/v2/me").await.map_err(|e| format!("agent {}: {e}", c.username))?;
            let code = me.json.as_ref().and_then(|b| b.get("statusCode")).and_then(serde_json::Value::as_i64);
            if me.status != 200 || code != Some(0) {
                return Err(format!(
                    "agent {} was refused at login (GET /api/v2/me answered HTTP {}{}): check the --agent credentials",
                    c.username,
                    me.status,
                    code.map_or_else(String::new, |c| format!(", statusCode {c}"))
                ));
            }
        }
    }
    Ok(())
}

pub async fn run(args: RunArgs) -> Outcome {
    let paths = ReportPaths::of(&args);
    let shown_target = args.target.as_deref().map_or_else(|| "embedded simulator".to_owned(), display_url);
    let vars = match external_vars(&args.vars, &args.vars_files) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let names: Vec<String> = vars.iter().map(|(n, _)| n.clone()).collect();
    let (scenarios, sources) = match load(&args.paths, &names) {
        Ok(x) => x,
        Err(o) => {
            let result =
                runner::RunResult::not_started(o, "invalid scenario files (see the diagnostics)", &shown_target);
            return paths.write(&result, &HashMap::new()).max_by_code(o);
        }
    };
    let scenarios = match select(scenarios, &args) {
        Ok(s) => s,
        Err(e) => return not_started(&paths, Outcome::InvalidInput, e, &shown_target),
    };
    // Against a target the Tegsoft profile is the user's to give: without one, its scenarios
    // cannot be meant for this server.
    let scenarios = if args.target.is_some() && args.tegsoft_profile.is_none() {
        let (kept, skipped): (Vec<Scenario>, Vec<Scenario>) =
            scenarios.into_iter().partition(|sc| !sc.tags.iter().any(|t| t == "tegsoft"));
        if !skipped.is_empty() {
            eprintln!(
                "chatprobe: skipping {} Tegsoft scenario(s): give --tegsoft-profile FILE to run them against {shown_target}",
                skipped.len()
            );
        }
        if kept.is_empty() {
            return not_started(
                &paths,
                Outcome::InvalidInput,
                "every scenario selected is a Tegsoft one, and no --tegsoft-profile was given".into(),
                &shown_target,
            );
        }
        kept
    } else {
        scenarios
    };
    let latitudes = match args.latitudes.latitudes() {
        Ok(l) => l,
        Err(e) => return not_started(&paths, Outcome::InvalidInput, format!("--latitude: {e}"), &shown_target),
    };
    if args.target.is_some() && args.latitudes.any() {
        let e = "--variant, --seed and --latitude shape the embedded simulator; they do not apply to a --target";
        return not_started(&paths, Outcome::InvalidInput, e.into(), &shown_target);
    }
    if args.target.is_none() && !latitudes.is_default() {
        eprintln!("chatprobe: embedded simulator latitudes: {}", latitudes.to_json());
    }
    let spec = args.tegsoft_profile.as_deref().unwrap_or(super::tegsoft::DEFAULT_SPEC);
    let tegsoft = match super::tegsoft::load(spec) {
        Ok(p) => p,
        Err(e) => return not_started(&paths, Outcome::InvalidInput, e, &shown_target),
    };
    let registry = args.schemas.as_deref().map_or_else(SchemaRegistry::embedded, SchemaRegistry::load_dir);
    let registry = match registry.and_then(|r| r.with_tegsoft_profile(tegsoft.clone())) {
        Ok(r) => Arc::new(r),
        Err(e) => return invalid(e),
    };
    let request_timeout = match parse_duration(&args.request_timeout) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => return invalid("--request-timeout must be more than zero"),
        Err(e) => return invalid(format!("--request-timeout: {e}")),
    };
    let tls = match args.tls.options() {
        Ok(t) => t,
        Err(e) => return not_started(&paths, Outcome::InvalidInput, e, &shown_target),
    };
    let client = ClientConfig { request_timeout, tls, ..ClientConfig::default() };
    // A certificate or key that does not parse is bad input, found before anything is sent.
    if let Err(e) = crate::client::AgentSession::new("http://127.0.0.1", "", "", &client) {
        return not_started(&paths, Outcome::InvalidInput, e.to_string(), &shown_target);
    }
    let contact_center_id = args.contact_center_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let jobs = usize::from(args.jobs).min(scenarios.len()).max(1);
    let needed = scenarios.iter().map(|s| s.agents.len()).max().unwrap_or(0);
    let stop = runner::CancellationToken::new();
    // The HTML report shows the exchanges of failures too: it records them as a trace does.
    let tracing = args.trace.is_some() || args.html.is_some();
    let trace_mode = if args.trace_all { TraceMode::All } else { TraceMode::Failing };
    let budget = trace::Budget::new(trace::MAX_ENTRIES);
    let job_cfg = |target: Target| {
        let cfg = RunConfig {
            vars: vars.clone(),
            strict: args.strict,
            stop: stop.clone(),
            ..RunConfig::new(target, client.clone(), Arc::clone(&registry))
        };
        if tracing { cfg.traced(trace::Recorder::new(trace_mode, Arc::clone(&budget))) } else { cfg }
    };

    let mut embedded = Vec::new();
    let configs: Vec<RunConfig> = match &args.target {
        Some(url) => {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => {
                    let e = format!(
                        "--target `{}`: the scheme must be http or https, not {}",
                        display_url(url),
                        u.scheme()
                    );
                    return not_started(&paths, Outcome::InvalidInput, e, &shown_target);
                }
                Err(e) => {
                    let e = format!("--target `{}`: {e}", display_url(url));
                    return not_started(&paths, Outcome::InvalidInput, e, &shown_target);
                }
            }
            let agents = match credentials(&args.agents) {
                Ok(a) if !a.is_empty() => a,
                Ok(_) => {
                    let e = "--target needs agent credentials: --agent USER:PASSWORD (or CHATPROBE_AGENTS)".to_owned();
                    return not_started(&paths, Outcome::InvalidInput, e, &shown_target);
                }
                Err(e) => return not_started(&paths, Outcome::InvalidInput, e, &shown_target),
            };
            let shares = match runner::partition_agents(&agents, jobs, needed) {
                Ok(s) => s,
                Err(e) => {
                    let e = format!("{e} (--agent 'user{{1..N}}:password' gives N)");
                    return not_started(&paths, Outcome::InvalidInput, e, &shown_target);
                }
            };
            let base_url = url.trim_end_matches('/').to_owned();
            shares
                .into_iter()
                .map(|agents| {
                    job_cfg(Target {
                        base_url: base_url.clone(),
                        agents,
                        contact_center_id: contact_center_id.clone(),
                        embedded: false,
                    })
                })
                .collect()
        }
        None => {
            let mut configs = Vec::with_capacity(jobs);
            for _ in 0..jobs {
                let mut cfg = sim::SimConfig { latitudes, ..sim::SimConfig::default() };
                cfg.tegsoft.profile = tegsoft.clone();
                let agents = (1..=cfg.agents)
                    .map(|i| Credentials { username: format!("agent{i}"), password: cfg.password.clone() })
                    .collect();
                let running = match sim::start(cfg, ([127, 0, 0, 1], 0).into()).await {
                    Ok(r) => r,
                    Err(e) => {
                        let e = format!("cannot start the embedded simulator: {e}");
                        return not_started(&paths, Outcome::CouldNotRun, e, &shown_target);
                    }
                };
                configs.push(job_cfg(Target {
                    base_url: running.base_url(),
                    agents,
                    contact_center_id: contact_center_id.clone(),
                    embedded: true,
                }));
                embedded.push(running);
            }
            configs
        }
    };
    let first = &configs[0];
    let shown_target =
        if first.target.embedded { first.target.base_url.clone() } else { display_url(&first.target.base_url) };
    if needed > first.target.agents.len() {
        let e = format!("the scenarios need {needed} agents; {} credentials were given", first.target.agents.len());
        return not_started(&paths, Outcome::InvalidInput, e, &shown_target);
    }
    if !args.quiet {
        let what = if first.target.embedded { "embedded simulator at " } else { "" };
        let on = if jobs > 1 { format!(", {jobs} at a time") } else { String::new() };
        eprintln!(
            "chatprobe: {} scenario(s) against {what}{shown_target}{on} (Tegsoft profile `{}`)",
            scenarios.len(),
            tegsoft.name
        );
    }

    output::on_signals(stop.clone(), "finishing the current step, tearing down, writing the reports");
    if let Err(e) = runner::reachable(first).await {
        let e = format!("the target {shown_target} cannot be reached: {e}");
        return not_started(&paths, Outcome::CouldNotRun, e, &shown_target);
    }
    if !first.target.embedded
        && let Err(e) = check_credentials(&configs).await
    {
        let mut r = runner::redactor(first);
        for cfg in &configs[1..] {
            for c in &cfg.target.agents {
                r = r.also(&c.password);
            }
        }
        return not_started(&paths, Outcome::CouldNotRun, r.redact(&e), &shown_target);
    }
    let stream = run_progress::Stream::new(
        run_progress::Mode::parse(&args.progress),
        scenarios.len(),
        args.strict,
        args.quiet,
        &sources,
        || runner::redactor(first),
    );
    let mut result = runner::run_jobs(&scenarios, &configs, &|_, r| stream.finished(r)).await;
    stream.finish();
    result.target = shown_target;
    result.trace_dropped = budget.dropped();
    result.redact(&runner::redactor(first));
    if args.trace.is_some() {
        report::har::link(&mut result);
    }
    for sim in embedded {
        sim.shutdown().await;
    }

    let mut console = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = report::console::summary(&result, &mut console);
    output::print(String::from_utf8_lossy(&console).trim_start_matches('\n'));
    let outcome = paths.write(&result, &sources);
    let mut tail = Vec::new();
    if !args.quiet && outcome != Outcome::CouldNotRun {
        let _ = writeln!(tail, "reports: {}", paths.shown());
        if args.trace.is_some() {
            let dropped = if result.trace_dropped > 0 {
                format!(" ({} more not kept, past {} per run)", result.trace_dropped, trace::MAX_ENTRIES)
            } else {
                String::new()
            };
            let _ = writeln!(tail, "trace: {} exchange(s){dropped}", report::har::len(&result));
        }
    }
    let _ = report::console::write_verdict(outcome, &mut tail);
    output::print(&String::from_utf8_lossy(&tail));
    outcome
}

pub fn validate(args: ValidateArgs) -> Outcome {
    let names: Vec<String> = match external_vars(&args.vars, &args.vars_files) {
        Ok(v) => v.into_iter().map(|(n, _)| n).collect(),
        Err(o) => return o,
    };
    let (load_files, paths) = super::load::split_load_files(&args.paths);
    if let Err(o) = super::load::validate_files(&load_files) {
        return o;
    }
    if paths.is_empty() {
        return Outcome::Pass;
    }
    let (scenarios, _) = match load(&paths, &names) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let reg = match schemas(args.schemas.as_deref()) {
        Ok(r) => r,
        Err(o) => return o,
    };
    let steps: usize = scenarios.iter().map(|s| s.steps.len()).sum();
    println!("{} scenario(s), {steps} step(s), {} schema(s): all valid", scenarios.len(), reg.names().count());
    Outcome::Pass
}

pub fn coverage(args: CoverageArgs) -> Outcome {
    let (scenarios, _) = match load(&args.paths, &[]) {
        Ok(x) => x,
        Err(o) => return o,
    };
    let cov = scenario::coverage::coverage(&scenarios, scenario::coverage::documented_errors);
    if args.json {
        match serde_json::to_string_pretty(&cov) {
            Ok(text) => println!("{text}"),
            Err(e) => return invalid(e),
        }
    } else {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = report::coverage::write(&cov, &mut out);
        print!("{}", String::from_utf8_lossy(&out));
    }
    let full = cov.positive_percent >= 100.0 && cov.negative_percent >= 100.0;
    if args.require_full && !full { Outcome::Violations } else { Outcome::Pass }
}
