//! The self-test: evidence that the harness's verdicts can be trusted. The conformance suite is
//! run against the embedded simulator once per fault (each fault alone, on top of a variant seed,
//! the seeds taken in turn; each scenario on a simulator of its own on a loopback port) and must
//! fail with the rule that fault breaks; it is run once more per variant seed, a simulator that
//! takes, at every point the documentation leaves open, one of the documented alternatives
//! (`sim::Latitudes`), and must pass with no violation at all. The outcome is the kill matrix
//! (`matrix`): which rules each fault raised, the expected one marked, and the latitude coverage
//! of the seeds.

mod matrix;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use matrix::{write as write_matrix, write_coverage};

use crate::client::ClientConfig;
use crate::contract::Rule;
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;
use crate::runner::{self, Credentials, Outcome, RunConfig, RunResult, Target};
use crate::scenario::Scenario;
use crate::sim::{self, Fault, Faults, Latitudes, SimConfig};

/// The rule a fault must raise to count as caught: the rule it breaks, or for the faults no
/// automatic rule can see (refusals a scenario asserts), the assertion that sees it.
pub fn expected_rule(fault: Fault) -> &'static Rule {
    match fault {
        Fault::StatusCodeAsString => &rules::SHAPE_RESPONSE,
        Fault::OmitReferenceId
        | Fault::DropNotification
        | Fault::DropOneInN
        | Fault::DelayNotifications
        | Fault::UploadWithoutMessage => &rules::CORRELATION_REFERENCE_ID,
        Fault::WrongStateAfterAccept => &rules::STATE_AFTER_OPERATION,
        Fault::CapabilityMissing => &rules::STATE_CAPABILITIES,
        // Gaps happen on real servers (digest §10.9): a profile rule observes them.
        Fault::IndexGap => &rules::TRANSCRIPT_INDEX_GAP,
        Fault::IndexRepeat => &rules::TRANSCRIPT_INDEX,
        Fault::LeakAgentsVisibility => &rules::VISIBILITY_AGENTS_ONLY,
        Fault::AlterCustomerText => &rules::TRANSCRIPT_EQUALITY,
        // A write without the token the server handed out must get 403: the rule checks the
        // login scenario's write sent without it.
        Fault::CsrfNotEnforced => &rules::SECURITY_CSRF,
        // An operation on another agent's chat must be refused (3, 5 or 6): the scenario on
        // targets expects the refusal.
        Fault::ForeignChatReadable => &rules::ASSERT_REFUSED,
        Fault::TruncatedJson => &rules::PROTOCOL_JSON,
        Fault::WrongContentType => &rules::PROTOCOL_CONTENT_TYPE,
        Fault::GarbageTimestamp | Fault::ParticipantTypeCase | Fault::AttachmentWithoutDocument => {
            &rules::SHAPE_NOTIFICATION
        }
        Fault::ConnectWithoutAdvice => &rules::PROTOCOL_BAYEUX_ADVICE,
        Fault::DuplicateNotification => &rules::PROTOCOL_BAYEUX_DUPLICATE,
    }
}

/// What to run.
#[derive(Clone)]
pub struct Options {
    pub scenarios: Vec<Scenario>,
    /// The faults to inject, one run each.
    pub faults: Vec<Fault>,
    /// The variant seeds: the whole suite runs against each, and the faults are injected on top
    /// of them in turn (none: the faults on the default simulator).
    pub seeds: Vec<u64>,
    /// Runs at the same time, each against its own simulator: a run is one scenario against one
    /// fault, or the whole suite against one seed.
    pub jobs: usize,
    pub schemas: Arc<SchemaRegistry>,
    pub client: ClientConfig,
}

/// The suite against one fault.
#[derive(Debug, Clone)]
pub struct FaultRun {
    pub fault: Fault,
    /// The variant seed the fault was injected on top of (None: the default simulator).
    pub seed: Option<u64>,
    pub expected: &'static Rule,
    /// Failed checks per rule id.
    pub raised: BTreeMap<&'static str, u64>,
    pub scenarios: usize,
    /// Scenarios that failed or raised observations.
    pub scenarios_failed: usize,
    /// Time the fault's scenarios took, added up (they overlap in a self-test).
    pub duration: Duration,
}

impl FaultRun {
    /// The expected rule fired.
    pub fn caught(&self) -> bool {
        self.raised.contains_key(self.expected.id)
    }
}

/// The suite against one variant seed.
#[derive(Debug, Clone)]
pub struct VariantRun {
    pub seed: u64,
    pub latitudes: Latitudes,
    /// Failed checks per rule id: none, for a pass.
    pub raised: BTreeMap<&'static str, u64>,
    pub scenarios: usize,
    /// Names of the scenarios that failed, and why when they were aborted.
    pub failed: Vec<String>,
    pub outcome: Outcome,
    pub duration: Duration,
    /// The whole result, for the console report of what went wrong.
    pub result: RunResult,
}

impl VariantRun {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass && self.raised.is_empty()
    }
}

/// Every run of a self-test.
#[derive(Debug, Clone)]
pub struct Report {
    pub faults: Vec<FaultRun>,
    /// One run per seed, in the order of the seeds.
    pub variants: Vec<VariantRun>,
    pub duration: Duration,
}

impl Report {
    /// Faults whose expected rule did not fire.
    pub fn uncaught(&self) -> impl Iterator<Item = &FaultRun> {
        self.faults.iter().filter(|f| !f.caught())
    }

    /// Every fault caught and every seed passed.
    pub fn passed(&self) -> bool {
        self.uncaught().next().is_none() && self.variants.iter().all(VariantRun::passed)
    }

    /// Pass, or Violations (exit 1) when a fault went uncaught or a seed failed.
    pub fn outcome(&self) -> Outcome {
        if self.passed() { Outcome::Pass } else { Outcome::Violations }
    }
}

/// Why the self-test could not run.
#[derive(Debug, Error)]
pub enum SelftestError {
    #[error("cannot start a simulator on 127.0.0.1: {0}")]
    Start(#[from] std::io::Error),
    #[error("a self-test run ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One run: a scenario against a fault on top of a seed (on a simulator of its own, so the slow
/// deadlines of one fault's scenarios overlap), or the whole suite against one seed (one
/// simulator for all, as `chatprobe run` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Fault(Fault, usize, Option<u64>),
    Variant(u64),
}

/// The seed the `index`th fault is injected on top of: the seeds in turn.
pub fn fault_seed(index: usize, seeds: &[u64]) -> Option<u64> {
    (!seeds.is_empty()).then(|| seeds[index % seeds.len()])
}

/// The simulator of a fault on top of a seed.
fn fault_config(fault: Fault, seed: Option<u64>) -> SimConfig {
    let base = seed.map_or_else(SimConfig::default, SimConfig::seeded);
    SimConfig { faults: Faults::only(fault), ..base }
}

/// What one run produced.
enum Done {
    Fault(Fault, Box<RunResult>),
    Variant(Box<VariantRun>),
}

/// Run every fault and the variant, at most `jobs` runs at a time; results in catalogue order.
pub async fn run(opts: &Options) -> Result<Report, SelftestError> {
    let started = Instant::now();
    let shared = Arc::new(opts.clone());
    let permits = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let mut jobs = Vec::new();
    // The seeds first: their verdicts matter most and their runs are the longest when they fail.
    jobs.extend(opts.seeds.iter().map(|s| Job::Variant(*s)));
    for (k, fault) in opts.faults.iter().enumerate() {
        let seed = fault_seed(k, &opts.seeds);
        jobs.extend((0..opts.scenarios.len()).map(|i| Job::Fault(*fault, i, seed)));
    }
    let mut set = JoinSet::new();
    for job in jobs {
        let (shared, permits) = (Arc::clone(&shared), Arc::clone(&permits));
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _permit = permits.acquire_owned().await;
            run_job(job, &shared).await
        });
    }
    let mut by_fault: BTreeMap<Fault, FaultRun> = opts
        .faults
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let run = FaultRun {
                fault: *f,
                seed: fault_seed(k, &opts.seeds),
                expected: expected_rule(*f),
                raised: BTreeMap::new(),
                scenarios: 0,
                scenarios_failed: 0,
                duration: Duration::ZERO,
            };
            (*f, run)
        })
        .collect();
    let mut variants = Vec::new();
    while let Some(done) = set.join_next().await {
        match done?? {
            Done::Fault(fault, result) => {
                if let Some(run) = by_fault.get_mut(&fault) {
                    run.add(&result);
                }
            }
            Done::Variant(run) => variants.push(*run),
        }
    }
    variants.sort_by_key(|v| opts.seeds.iter().position(|s| *s == v.seed));
    Ok(Report { faults: by_fault.into_values().collect(), variants, duration: started.elapsed() })
}

async fn run_job(job: Job, opts: &Options) -> Result<Done, SelftestError> {
    Ok(match job {
        Job::Fault(fault, scenario, seed) => {
            let scenarios = &opts.scenarios[scenario..=scenario];
            Done::Fault(fault, Box::new(run_against(fault_config(fault, seed), scenarios, opts).await?))
        }
        Job::Variant(seed) => Done::Variant(Box::new(run_variant(seed, opts).await?)),
    })
}

impl FaultRun {
    /// Count one more result of the fault's scenarios in.
    fn add(&mut self, result: &RunResult) {
        // A profile fault is caught by an observation: both count.
        for (rule, n) in result.violations_by_rule.iter().chain(&result.observations_by_rule) {
            *self.raised.entry(rule).or_default() += n;
        }
        self.scenarios += result.scenarios.len();
        self.scenarios_failed +=
            result.scenarios.iter().filter(|s| s.judge(false) != crate::runner::Verdict::Pass).count();
        self.duration += result.duration;
    }
}

/// The suite against a simulator with `fault` alone on top of variant seed `seed` (None: the
/// default simulator), scenario after scenario on one simulator.
pub async fn run_fault(fault: Fault, seed: Option<u64>, opts: &Options) -> Result<FaultRun, SelftestError> {
    let result = run_against(fault_config(fault, seed), &opts.scenarios, opts).await?;
    let mut run = FaultRun {
        fault,
        seed,
        expected: expected_rule(fault),
        raised: BTreeMap::new(),
        scenarios: 0,
        scenarios_failed: 0,
        duration: Duration::ZERO,
    };
    run.add(&result);
    Ok(run)
}

/// The suite against variant seed `seed` (`SimConfig::seeded`).
pub async fn run_variant(seed: u64, opts: &Options) -> Result<VariantRun, SelftestError> {
    run_latitudes(seed, Latitudes::from_seed(seed), opts).await
}

/// The suite against a simulator taking `latitudes` (reported under `seed`).
pub async fn run_latitudes(seed: u64, latitudes: Latitudes, opts: &Options) -> Result<VariantRun, SelftestError> {
    let started = Instant::now();
    let config = SimConfig { latitudes, ..SimConfig::default() };
    let result = run_against(config, &opts.scenarios, opts).await?;
    let failed = result
        .scenarios
        .iter()
        .filter(|s| !s.passed())
        .map(|s| match &s.aborted {
            Some(abort) => format!("{} ({}): {}", s.name, s.file, abort.message),
            None => format!("{} ({})", s.name, s.file),
        })
        .collect();
    Ok(VariantRun {
        seed,
        latitudes,
        raised: result.violations_by_rule.clone(),
        scenarios: result.scenarios.len(),
        failed,
        outcome: result.outcome(),
        duration: started.elapsed(),
        result,
    })
}

/// Start a simulator so configured on a free loopback port, run the scenarios, stop it.
async fn run_against(config: SimConfig, scenarios: &[Scenario], opts: &Options) -> Result<RunResult, SelftestError> {
    let agents = (1..=config.agents)
        .map(|i| Credentials { username: format!("agent{i}"), password: config.password.clone() })
        .collect();
    let running = sim::start(config, ([127, 0, 0, 1], 0).into()).await?;
    let target = Target {
        base_url: running.base_url(),
        agents,
        contact_center_id: uuid::Uuid::new_v4().to_string(),
        embedded: true,
    };
    let cfg = RunConfig::new(target, opts.client.clone(), Arc::clone(&opts.schemas));
    let result = runner::run_scenarios(scenarios, &cfg).await;
    running.shutdown().await;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_expects_a_known_rule() {
        for fault in Fault::ALL {
            let rule = expected_rule(*fault);
            assert_eq!(rules::rule(rule.id), Some(rule), "{fault}");
        }
    }

    fn fault_run(fault: Fault, raised: &[(&'static str, u64)]) -> FaultRun {
        FaultRun {
            fault,
            seed: None,
            expected: expected_rule(fault),
            raised: raised.iter().copied().collect(),
            scenarios: 1,
            scenarios_failed: 1,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn a_fault_is_caught_by_its_expected_rule_only() {
        assert!(fault_run(Fault::IndexRepeat, &[("transcript.index", 2), ("assert.body", 1)]).caught());
        assert!(!fault_run(Fault::IndexRepeat, &[("assert.body", 1)]).caught());
        let report = Report {
            faults: vec![fault_run(Fault::IndexRepeat, &[]), fault_run(Fault::TruncatedJson, &[("protocol.json", 1)])],
            variants: Vec::new(),
            duration: Duration::ZERO,
        };
        assert_eq!(report.uncaught().map(|f| f.fault).collect::<Vec<_>>(), vec![Fault::IndexRepeat]);
        assert_eq!(report.outcome(), Outcome::Violations);
    }
}
