//! Executes scenarios step by step against a target and produces the result tree. A failed
//! documented assertion is recorded and the scenario's remaining steps are skipped, unless the
//! step or scenario says `continue_on_failure`; a step that needs a value an earlier step could
//! not provide is skipped alone; a step whose guard is not met skips the rest, which is then not
//! failed but reported as an observation. Violations of the rules the harness applies by itself (shapes,
//! protocol) and every observation are recorded without stopping anything.

mod action;
mod actors;
pub mod expect;
pub mod inbox;
pub mod result;
mod step;
pub mod trace;
pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
pub use tokio_util::sync::CancellationToken;

pub use action::transcript::Transcript;
pub use result::{Abort, Check, Counts, Outcome, RunResult, ScenarioResult, StepResult, Verdict};

use crate::client::ClientConfig;
use crate::contract::schema::SchemaRegistry;
use crate::scenario::Scenario;
use crate::scenario::vars::{Vars, interpolate};

/// Credentials of one agent of the target.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Where scenarios run.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, e.g. `http://127.0.0.1:8090` or `https://gws.example/gws`.
    pub base_url: String,
    /// Scenario agent roles take these in order.
    pub agents: Vec<Credentials>,
    /// Sent as `ContactCenterId` on customer requests.
    pub contact_center_id: String,
    pub embedded: bool,
}

#[derive(Clone)]
pub struct RunConfig {
    pub target: Target,
    pub client: ClientConfig,
    /// The schemas, and the Tegsoft profile the run checks against (its answers' schemas are
    /// generated from it; its values become the scenarios' `tegsoft.*` variables).
    pub schemas: Arc<SchemaRegistry>,
    /// Variables given from outside (`--var`, `--vars-file`, `CHATPROBE_VAR_*`): they replace a
    /// scenario's `vars` of the same name.
    pub vars: Vec<(String, Value)>,
    /// Observations fail the run too.
    pub strict: bool,
    /// Cancelled when the run must stop (a signal): the current step is abandoned, the
    /// scenario torn down, the rest not run.
    pub stop: CancellationToken,
    /// Records the exchanges of this job's clients (`--trace`); its tap must be in `client`.
    pub trace: Option<Arc<trace::Recorder>>,
}

impl RunConfig {
    pub fn new(target: Target, client: ClientConfig, schemas: Arc<SchemaRegistry>) -> RunConfig {
        RunConfig {
            target,
            client,
            schemas,
            vars: Vec::new(),
            strict: false,
            stop: CancellationToken::new(),
            trace: None,
        }
    }

    /// Record this job's exchanges into `recorder`.
    pub fn traced(mut self, recorder: Arc<trace::Recorder>) -> RunConfig {
        self.client.tap = Some(recorder.tap());
        self.trace = Some(recorder);
        self
    }
}

/// Why a step or scenario did not run: the run was interrupted.
pub const INTERRUPTED: &str = "the run was interrupted";

/// Run scenarios one after the other.
pub async fn run_scenarios(scenarios: &[Scenario], cfg: &RunConfig) -> RunResult {
    run_jobs(scenarios, std::slice::from_ref(cfg), &|_, _| {}).await
}

/// Run scenarios on `jobs.len()` workers at once, each with its own configuration (its own
/// simulator, or its own share of the agent credentials, so no two running scenarios share an
/// agent), taking the next scenario in file order as it frees up. `done` hears of each scenario
/// as it finishes (index in `scenarios`, result); the run's results stay in file order.
pub async fn run_jobs(
    scenarios: &[Scenario],
    jobs: &[RunConfig],
    done: &(dyn Fn(usize, &ScenarioResult) + Sync),
) -> RunResult {
    let Some(first) = jobs.first() else { return RunResult::not_started(Outcome::InvalidInput, "no job to run", "") };
    let started = Instant::now();
    let started_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    // Each job is a task of its own, so that jobs spread over the runtime's threads: the
    // validation of every response is CPU work. Results come back in the order they finish,
    // are streamed to `done`, and are put back in file order.
    let shared: Arc<Vec<Scenario>> = Arc::new(scenarios.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, ScenarioResult)>();
    let mut tasks = tokio::task::JoinSet::new();
    for cfg in jobs {
        let (scenarios, next, tx, cfg) = (Arc::clone(&shared), Arc::clone(&next), tx.clone(), cfg.clone());
        tasks.spawn(async move { worker(&scenarios, &cfg, &next, &tx).await });
    }
    drop(tx);
    let mut slots: Vec<Option<ScenarioResult>> = scenarios.iter().map(|_| None).collect();
    while let Some((ix, result)) = rx.recv().await {
        done(ix, &result);
        slots[ix] = Some(result);
    }
    // A job that panicked is a bug in chatprobe: say so as loudly as before, not with a
    // scenario quietly missing from the reports.
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let results: Vec<ScenarioResult> = slots.into_iter().flatten().collect();
    let mut run = RunResult {
        tool: "chatprobe",
        version: env!("CARGO_PKG_VERSION"),
        target: first.target.base_url.clone(),
        embedded_simulator: first.target.embedded,
        started_at,
        duration: started.elapsed(),
        scenarios: results,
        counts: Counts::default(),
        strict: first.strict,
        interrupted: first.stop.is_cancelled(),
        error: None,
        failed_start: None,
        violations_by_rule: BTreeMap::new(),
        observations_by_rule: BTreeMap::new(),
        checks_suppressed: 0,
        coverage: crate::scenario::coverage::coverage(scenarios, crate::scenario::coverage::documented_errors),
        trace_dropped: 0,
    };
    run.finish();
    run
}

/// One job's loop: take the next scenario not yet taken, run it, send its result.
async fn worker(
    scenarios: &[Scenario],
    cfg: &RunConfig,
    next: &std::sync::atomic::AtomicUsize,
    results: &tokio::sync::mpsc::UnboundedSender<(usize, ScenarioResult)>,
) {
    loop {
        if cfg.stop.is_cancelled() {
            return;
        }
        let ix = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(sc) = scenarios.get(ix) else { return };
        let result = run_scenario(sc, cfg).await;
        if results.send((ix, result)).is_err() {
            return;
        }
    }
}

/// Split `agents` into `jobs` disjoint shares of `per_job` credentials each, in order. Err says
/// how many are needed when there are too few.
pub fn partition_agents(agents: &[Credentials], jobs: usize, per_job: usize) -> Result<Vec<Vec<Credentials>>, String> {
    let needed = jobs * per_job;
    if agents.len() < needed {
        return Err(format!(
            "{jobs} job(s) of scenarios needing up to {per_job} agent(s) each need {needed} agent credentials; {} were given",
            agents.len()
        ));
    }
    Ok(agents.chunks(per_job.max(1)).take(jobs).map(<[Credentials]>::to_vec).collect())
}

/// Run one scenario, then tear down what it left (chats completed, agents logged out).
pub async fn run_scenario(sc: &Scenario, cfg: &RunConfig) -> ScenarioResult {
    let started = Instant::now();
    if let Some(rec) = &cfg.trace {
        rec.discard();
    }
    let mut result = ScenarioResult {
        name: sc.name.clone(),
        file: sc.file.clone(),
        duration: Default::default(),
        steps: Vec::new(),
        aborted: None,
        counts: Counts::default(),
        verdict: Verdict::Fail.as_str(),
    };
    if sc.agents.len() > cfg.target.agents.len() {
        result.aborted = Some(Abort {
            could_not_run: true,
            message: format!(
                "the scenario needs {} agent(s) ({}), the target has credentials for {}",
                sc.agents.len(),
                sc.agents.join(", "),
                cfg.target.agents.len()
            ),
        });
        return result;
    }
    let mut vars: Vars = HashMap::new();
    vars.insert("run_id".into(), Value::String(run_id()));
    vars.insert("scenario".into(), Value::String(sc.name.clone()));
    vars.insert("base_url".into(), Value::String(cfg.target.base_url.clone()));
    // The Tegsoft profile travels with the schemas generated from it, so checks and variables
    // always agree on it.
    vars.extend(cfg.schemas.tegsoft_profile().variables(&cfg.target.base_url));
    for (role, cred) in sc.agents.iter().zip(&cfg.target.agents) {
        vars.insert(format!("{role}.username"), Value::String(cred.username.clone()));
    }
    for (name, value) in &cfg.vars {
        vars.insert(name.clone(), value.clone());
    }
    for (name, value) in &sc.vars {
        if cfg.vars.iter().any(|(n, _)| n == name) {
            continue;
        }
        match interpolate(value, &vars) {
            Ok(v) => {
                vars.insert(name.clone(), v);
            }
            Err(missing) => {
                result.aborted = Some(Abort {
                    could_not_run: false,
                    message: format!("variable `{name}` uses undefined `{missing}`"),
                });
                return result;
            }
        }
    }

    let mut actors = actors::Actors::new(sc, cfg);
    // Why the rest is skipped, once a step has failed or its guard was not met.
    let mut stopped_by: Option<String> = None;
    for st in &sc.steps {
        if let Some(why) = &stopped_by {
            result.steps.push(step::skipped(st, why.clone()));
            continue;
        }
        if cfg.stop.is_cancelled() {
            result.steps.push(step::skipped(st, INTERRUPTED.to_owned()));
            continue;
        }
        let run = step::run(st, &mut actors, &mut vars, cfg);
        let step::Ran { result: step_result, abort, guard_unmet } = tokio::select! {
            done = run => done,
            () = cfg.stop.cancelled() => {
                step::Ran { result: step::skipped(st, INTERRUPTED.to_owned()), abort: None, guard_unmet: false }
            }
        };
        let blocking = step_result.error.is_some()
            || step_result.violations().any(|c| c.rule.starts_with("assert.") || c.rule == "transport");
        if blocking && !st.continue_on_failure {
            stopped_by = Some(format!("step `{}` failed before it", st.name));
        } else if guard_unmet {
            stopped_by = Some(format!("the guard of step `{}` was not met", st.name));
        }
        result.steps.push(step_result);
        if let Some(abort) = abort {
            result.aborted = Some(abort);
            stopped_by = Some(format!("step `{}` failed before it", st.name));
        }
    }
    result.steps.push(actors.teardown(cfg).await);
    if let Some(rec) = &cfg.trace {
        trace::settle(&mut result, rec);
    }
    result.duration = started.elapsed();
    result
}

/// What the reports of a run under `cfg` must not show: the agents' credentials (and their Basic
/// form), a password in the target URL, every cookie value and CSRF token the run received.
pub fn redactor(cfg: &RunConfig) -> crate::client::secrets::Redactor {
    let mut r = crate::client::secrets::Redactor::new(
        &cfg.client.secrets,
        cfg.target.agents.iter().map(|c| (c.username.as_str(), c.password.as_str())),
    );
    if let Some(password) = reqwest::Url::parse(&cfg.target.base_url).ok().and_then(|u| u.password().map(str::to_owned))
    {
        r = r.also(&password);
    }
    r
}

/// Whether the target answers HTTP at all (any status will do): the run cannot start otherwise.
pub async fn reachable(cfg: &RunConfig) -> Result<(), String> {
    let session =
        crate::client::AgentSession::new(&cfg.target.base_url, "", "", &cfg.client).map_err(|e| e.to_string())?;
    let probe = crate::client::RawRequest {
        method: "GET".into(),
        path: "/api/v2/diagnostics/version".into(),
        body: None,
        headers: Vec::new(),
        with_auth: false,
        with_csrf: false,
    };
    session.request(probe).await.map(|_| ()).map_err(|e| e.to_string())
}

fn run_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..12].to_owned()
}
