//! The load driver: runs a load file's journey (chats, or one request) against a target under an
//! open or closed load profile, validating every response and notification, and measuring every
//! latency in HdrHistograms — corrected for coordinated omission in the open model.
//!
//! goose schedules the workers from behind [`goose_adapter`]; the journeys and the measurements
//! are chatprobe's. Without a target, the reference simulator is started in-process on a
//! loopback port with enough agents for the profile.
//!
//! Every value was checked against [`bounds`]; the whole run — logins, load, drain, logouts —
//! ends by one deadline (profile + drain + [`bounds::GRACE`]). An interrupt (the `stop` token)
//! stops arrivals, completes the chats in flight within the drain and logs the agents out. The
//! harness watches its own lag ([`saturation`]) so that its queueing is never reported as the
//! server's latency.

mod agents;
pub mod baseline;
pub mod bounds;
mod chat;
mod check;
mod goose_adapter;
mod http;
pub mod metrics;
pub mod plan;
pub mod progress;
mod request;
pub mod result;
pub mod saturation;
pub mod schedule;
pub mod shard;
pub mod spec;
pub mod stall;
pub mod thresholds;
mod upload;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

pub use baseline::BaselineSpec;
pub use goose_adapter::keep_signals_from_goose;
pub use metrics::Metrics;
pub use progress::ProgressMode;
pub use result::LoadResult;
pub use spec::{Journey, LoadSpec, Model};
pub use stall::Stall;

use crate::client::{ClientConfig, CustomerClient};
use crate::contract::schema::SchemaRegistry;
use crate::runner::{CancellationToken, Credentials};
use agents::AgentPool;
use schedule::Schedule;

/// Chats one simulated agent holds at once in the embedded simulator.
const EMBEDDED_CAPACITY: usize = 50;
/// A start later than this after its intended time counts as late.
const LATE_AFTER: Duration = Duration::from_millis(10);

/// Everything a load run needs.
pub struct LoadConfig {
    pub spec: LoadSpec,
    /// The server under test; `None` starts the embedded simulator.
    pub target: Option<Target>,
    pub client: ClientConfig,
    pub schemas: Arc<SchemaRegistry>,
    pub contact_center_id: String,
    pub progress: ProgressMode,
    /// This copy's share of the arrivals: (index, count).
    pub shard: (u64, u64),
    /// When the schedule starts (`--start-at`): the same instant for every shard.
    pub start_at: Option<shard::StartAt>,
    /// Pause the embedded simulator during the run (benchmark hook).
    pub stall: Option<Stall>,
    pub baseline: Option<BaselineSpec>,
    /// Cancelled on the first SIGINT or SIGTERM: arrivals stop, work in flight drains.
    pub stop: CancellationToken,
    /// Report the harness's saturation without failing the run on it.
    pub allow_saturation: bool,
}

/// How long goose may take to stop its users after an interrupt's drain, and how long logging
/// agents out may take: both within [`bounds::GRACE`].
const WIND_DOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Target {
    pub base_url: String,
    pub agents: Vec<Credentials>,
}

/// Why a load could not run (exit code 3, or 2 for `Invalid`).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot start the embedded simulator: {0}")]
    Simulator(std::io::Error),
    #[error("the target {url} cannot be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("agents could not log in: {0}")]
    Login(String),
    #[error("the load driver failed: {0}")]
    Driver(String),
}

/// What the journeys share.
pub struct Ctx {
    pub spec: LoadSpec,
    pub reg: Arc<SchemaRegistry>,
    pub base_url: String,
    /// Socket address of an `http://` target, for the request journey's own client.
    pub addr: Option<SocketAddr>,
    metrics: Arc<Mutex<Metrics>>,
    /// When the load starts: the first worker's first step.
    t0: OnceLock<Instant>,
    schedule: OnceLock<Schedule>,
    shard: (u64, u64),
    pool: Option<AgentPool>,
    customer: Option<CustomerClient>,
    prepared: Option<http::Prepared>,
    /// The request journey's request for the general client, used when the target is not plain
    /// `http://` (TLS): slower than the fast path, and said so at the start.
    general: Option<crate::client::RawRequest>,
    request_name: String,
    run_id: String,
    serial: AtomicU64,
    active: AtomicU64,
    peak: AtomicU64,
    /// Chats accepted and not yet ended, and the most at once.
    chatting: AtomicU64,
    peak_chatting: AtomicU64,
    stop: CancellationToken,
    /// When the run was interrupted: the drain is counted from here.
    stopped_at: OnceLock<Instant>,
    /// The deadline of each request of the request journey.
    request_timeout: Duration,
}

impl Ctx {
    pub fn lock(&self) -> MutexGuard<'_, Metrics> {
        self.metrics.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn t0(&self) -> Instant {
        *self.t0.get_or_init(Instant::now)
    }

    /// Time since the load started (zero before).
    pub fn elapsed(&self) -> Duration {
        self.t0.get().map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// End of the profile: no new work starts after it.
    fn end(&self) -> Instant {
        self.t0() + self.spec.profile.duration()
    }

    /// End of the drain: work still running stops waiting. An interrupt brings it forward.
    fn hard_stop(&self) -> Instant {
        let planned = self.end() + self.spec.drain;
        self.stopped_at.get().map_or(planned, |at| planned.min(*at + self.spec.drain))
    }

    /// Whether the run was interrupted (no new work starts).
    pub fn interrupted(&self) -> bool {
        self.stopped_at.get().is_some() || self.stop.is_cancelled()
    }

    /// The latency the progress line shows.
    pub fn primary(&self) -> &str {
        match self.spec.journey {
            Journey::Chat(_) => metrics::names::NOTIFICATION,
            Journey::Request(_) => &self.request_name,
        }
    }

    pub fn active(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }

    fn chat_started(&self) {
        let now = self.active.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.lock().counts.chats_started += 1;
    }

    fn chat_ended(&self, was_chatting: bool) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        if was_chatting {
            self.chatting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// An agent accepted a chat: it is held until it ends.
    fn chatting_started(&self) {
        let now = self.chatting.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_chatting.fetch_max(now, Ordering::Relaxed);
    }

    fn agent(&self, index: usize) -> Option<Arc<agents::Agent>> {
        self.pool.as_ref()?.agents.get(index).cloned()
    }

    fn schedule(&self) -> &Schedule {
        self.schedule.get_or_init(|| {
            let start_rate = match self.spec.profile.model {
                Model::Open { start_rate, .. } => start_rate,
                Model::Closed => 0.0,
            };
            Schedule::new(self.t0(), start_rate, &self.spec.profile.stages, self.shard)
        })
    }
}

/// One unit of a worker's work, as goose calls it: in the open model the whole life of the
/// worker (arrivals until the schedule is exhausted), in the closed model one chat or one
/// batch of requests.
async fn work(ctx: &Ctx, worker: &mut Option<request::Worker>) {
    let max_lag = match ctx.spec.profile.model {
        Model::Open { max_lag, .. } => max_lag,
        Model::Closed => {
            closed_unit(ctx, worker).await;
            return;
        }
    };
    while !ctx.interrupted() {
        let Some(ticket) = ctx.schedule().take() else { break };
        if ticket.intended > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(ticket.intended.into()) => {}
                () = ctx.stop.cancelled() => break,
            }
        }
        // Measured after the wait: a worker whose timer fired late (a saturated runtime) starts
        // late too, and says so.
        let lateness = Instant::now().saturating_duration_since(ticket.intended);
        if lateness > max_lag {
            ctx.lock().dropped(ticket.intended);
            continue;
        } else if lateness > LATE_AFTER {
            ctx.lock().counts.late += 1;
        }
        match &ctx.spec.journey {
            Journey::Chat(j) => chat::run(ctx, j, ticket.intended).await,
            Journey::Request(_) => {
                let (Some(req), w) = (&ctx.prepared, worker.get_or_insert_with(|| request::Worker::new(ctx))) else {
                    return;
                };
                ctx.active.fetch_add(1, Ordering::Relaxed);
                w.once(ctx, req, ticket.intended).await;
                ctx.active.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
    if let Some(w) = worker {
        w.flush(ctx);
    }
}

/// One closed-model unit: a chat, or requests for a quarter of a second.
async fn closed_unit(ctx: &Ctx, worker: &mut Option<request::Worker>) {
    let now = Instant::now();
    if now >= ctx.end() || ctx.interrupted() {
        // goose is about to stop this user; do not spin meanwhile.
        if let Some(w) = worker {
            w.flush(ctx);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        return;
    }
    match &ctx.spec.journey {
        Journey::Chat(j) => chat::run(ctx, j, now).await,
        Journey::Request(_) => {
            let Some(req) = &ctx.prepared else { return };
            let w = worker.get_or_insert_with(|| request::Worker::new(ctx));
            let until = (now + Duration::from_millis(250)).min(ctx.end());
            let n = ctx.active.fetch_add(1, Ordering::Relaxed) + 1;
            ctx.peak.fetch_max(n, Ordering::Relaxed);
            while Instant::now() < until {
                let at = Instant::now();
                w.once(ctx, req, at).await;
            }
            ctx.active.fetch_sub(1, Ordering::Relaxed);
            w.flush(ctx);
        }
    }
}

/// Run the load described by `cfg` to its end.
pub async fn run(cfg: LoadConfig) -> Result<LoadResult, LoadError> {
    let LoadConfig {
        spec,
        target,
        client,
        schemas,
        contact_center_id,
        progress,
        shard,
        start_at,
        stall,
        baseline,
        stop,
        allow_saturation,
    } = cfg;
    // Nothing of the run outlives its start, its profile, its drain and a fixed grace.
    let begin = start_at.as_ref().map(shard::StartAt::instant);
    let deadline =
        begin.unwrap_or_else(Instant::now).max(Instant::now()) + spec.profile.duration() + spec.drain + bounds::GRACE;
    let started_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let open = matches!(spec.profile.model, Model::Open { .. });
    // The profile's workers are the whole load's: a shard runs its share of them.
    let workers = shard::share(
        match (&spec.profile.model, &spec.journey) {
            (Model::Open { max_active, .. }, Journey::Chat(_)) => *max_active,
            (Model::Open { .. }, Journey::Request(_)) => spec.profile.connections,
            (Model::Closed, _) => spec.profile.peak().round() as usize,
        },
        shard,
    )
    .max(1);
    if stall.is_some() && target.is_some() {
        return Err(LoadError::Invalid("a stall can only be injected into the embedded simulator".into()));
    }

    let mut embedded = None;
    let (base_url, creds) = match target {
        Some(t) => (t.base_url.trim_end_matches('/').to_owned(), t.agents),
        None => {
            let chats = if matches!(spec.journey, Journey::Chat(_)) { workers } else { 0 };
            let agents = (chats.div_ceil(EMBEDDED_CAPACITY) + 1).max(2);
            let config =
                crate::sim::SimConfig { agents, capacity: EMBEDDED_CAPACITY, ..crate::sim::SimConfig::default() };
            let creds = (1..=agents)
                .map(|i| Credentials { username: format!("agent{i}"), password: config.password.clone() })
                .collect();
            let sim = stall::start(config).await.map_err(LoadError::Simulator)?;
            let url = sim.base_url();
            embedded = Some(sim);
            (url, creds)
        }
    };
    let embedded_simulator = embedded.is_some();
    let pauser = embedded.as_ref().map(stall::Embedded::pauser);
    let setup = Setup {
        base_url: base_url.clone(),
        creds,
        client,
        schemas,
        contact_center_id,
        shard,
        begin,
        workers,
        stop,
        deadline,
    };
    let driven = drive(&spec, setup, progress, stall.zip(pauser)).await;
    if let Some(sim) = embedded.take() {
        let until = deadline.max(Instant::now() + Duration::from_secs(1));
        let _ = tokio::time::timeout_at(until.into(), sim.shutdown()).await;
    }
    let (ctx, elapsed) = driven?;
    let metrics = std::mem::replace(&mut *ctx.lock(), Metrics::new(Instant::now(), open));
    let sharding = shard::Sharding {
        shard,
        plan_hash: shard::plan_hash(&spec),
        start_at: start_at.map(|s| s.text),
        timeline_start: Some(shard::rfc3339(shard::wall_clock(metrics.start()))),
        merged: Vec::new(),
    };
    let mut result = LoadResult {
        name: spec.name.clone(),
        file: spec.file.clone(),
        target: base_url,
        embedded_simulator,
        started_at,
        elapsed,
        planned: spec.profile.duration(),
        model: if open { "open" } else { "closed" },
        journey: match spec.journey {
            Journey::Chat(_) => "chat",
            Journey::Request(_) => "request",
        },
        workers,
        metrics,
        peak_active: ctx.peak.load(Ordering::Relaxed),
        peak_chatting: ctx.peak_chatting.load(Ordering::Relaxed),
        peak_rss_bytes: result::peak_rss_bytes(),
        thresholds: Vec::new(),
        baseline: None,
        interrupted: ctx.interrupted(),
        saturation: None,
        allow_saturation,
        violations_gate: !spec.thresholds.iter().any(|t| matches!(t.metric, thresholds::Metric::Violations(_))),
        sharding,
    };
    result.saturation = saturation::assess(&result.metrics.timeline);
    result.thresholds = thresholds::evaluate(&thresholds::with_default_gates(&spec.thresholds), &result);
    result.baseline = baseline.as_ref().map(|b| baseline::compare(&result, b));
    Ok(result)
}

/// Where and with what the journeys run.
struct Setup {
    base_url: String,
    creds: Vec<Credentials>,
    client: ClientConfig,
    schemas: Arc<SchemaRegistry>,
    contact_center_id: String,
    shard: (u64, u64),
    /// When the schedule starts, if not as soon as the agents are ready.
    begin: Option<Instant>,
    workers: usize,
    stop: CancellationToken,
    /// When everything, logouts included, must be over.
    deadline: Instant,
}

/// Log in, run the workers under goose, log out. Returns the context and how long the load ran.
async fn drive(
    spec: &LoadSpec,
    setup: Setup,
    progress_mode: ProgressMode,
    stall: Option<(Stall, stall::Pauser)>,
) -> Result<(Arc<Ctx>, Duration), LoadError> {
    let Setup { base_url, creds, client, schemas, contact_center_id, shard, begin, workers, stop, deadline } = setup;
    let open = matches!(spec.profile.model, Model::Open { .. });
    let metrics = Arc::new(Mutex::new(Metrics::new(Instant::now(), open)));
    let unreachable = |reason: String| LoadError::Unreachable { url: base_url.clone(), reason };
    let customer =
        CustomerClient::new(&base_url, &contact_center_id, &client).map_err(|e| LoadError::Invalid(e.to_string()))?;
    let probe = crate::client::RawRequest {
        method: "GET".into(),
        path: "/api/v2/diagnostics/version".into(),
        body: None,
        headers: Vec::new(),
        with_auth: false,
        with_csrf: false,
    };
    customer.request(probe).await.map_err(|e| unreachable(e.to_string()))?;

    let url = reqwest::Url::parse(&base_url).map_err(|e| LoadError::Invalid(format!("target `{base_url}`: {e}")))?;
    let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = match url.scheme() {
        "http" => tokio::net::lookup_host((host.as_str(), port)).await.ok().and_then(|mut a| a.next()),
        _ => None,
    };
    let host_header = if url.port().is_some() { format!("{host}:{port}") } else { host.clone() };

    // Customers of different shards never share a nickname or a tag.
    let run_id = match shard {
        (_, 1) => uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        (i, _) => format!("s{i}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
    };
    let mut general = None;
    let (pool, prepared, request_name) = match &spec.journey {
        Journey::Chat(_) => {
            if creds.is_empty() {
                return Err(LoadError::Invalid(
                    "the chat journey needs agent credentials (--agent USER:PASSWORD)".into(),
                ));
            }
            let login = agents::login_all(&base_url, &creds, &client, &schemas, &metrics, &run_id);
            let pool = tokio::time::timeout_at(deadline.into(), login)
                .await
                .map_err(|_| LoadError::Login("the agents' logins did not finish before the run's deadline".into()))?
                .map_err(LoadError::Login)?;
            (Some(pool), None, String::new())
        }
        Journey::Request(r) => {
            let body = r.body.as_ref().map(|b| b.to_string().into_bytes());
            let base_path = url.path().trim_end_matches('/');
            let path = format!("{base_path}{}", r.path);
            let prepared = http::Prepared::new(&host_header, &r.method, &path, &r.headers, body.as_deref());
            if addr.is_none() {
                eprintln!(
                    "chatprobe load: {} is not plain http://: the request journey goes through the general \
                     HTTP client (TLS, proxies), slower than its plain-http fast path",
                    crate::client::display_url(&base_url)
                );
                general = Some(crate::client::RawRequest {
                    method: r.method.clone(),
                    path: r.path.clone(),
                    body: r.body.clone(),
                    headers: r.headers.clone(),
                    with_auth: false,
                    with_csrf: false,
                });
            }
            (None, Some(prepared), r.name.clone())
        }
    };
    let ctx = Arc::new(Ctx {
        spec: spec.clone(),
        reg: Arc::clone(&schemas),
        base_url: base_url.clone(),
        addr,
        metrics: Arc::clone(&metrics),
        t0: OnceLock::new(),
        schedule: OnceLock::new(),
        shard,
        pool,
        customer: Some(customer),
        prepared,
        general,
        request_name,
        run_id,
        serial: AtomicU64::new(0),
        active: AtomicU64::new(0),
        peak: AtomicU64::new(0),
        chatting: AtomicU64::new(0),
        peak_chatting: AtomicU64::new(0),
        stop,
        stopped_at: OnceLock::new(),
        request_timeout: client.request_timeout,
    });

    let hand_back = ctx.pool.as_ref().map(|p| p.hand_back_foreign(&schemas, &metrics));
    if let Some(at) = begin {
        if progress_mode != ProgressMode::Off && at > Instant::now() + Duration::from_secs(1) {
            let secs = at.saturating_duration_since(Instant::now()).as_secs_f64();
            eprintln!("chatprobe load: agents ready; the schedule starts at --start-at, in {secs:.0} s");
        }
        wait_for_start(&ctx, at, deadline).await;
    }
    let shown = progress::start(Arc::clone(&ctx), progress_mode);
    let probe = saturation::start(Arc::clone(&ctx));
    let stall_task = stall.map(|(st, pauser)| {
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            // The load starts with the first worker's first step.
            while ctx.t0.get().is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep_until((ctx.t0() + st.at).into()).await;
            pauser.pause(st.duration);
        })
    });
    let plan = if open {
        goose_adapter::Plan::Workers { users: workers }
    } else {
        goose_adapter::Plan::Steps(goose_adapter::steps(&shard::stages_share(&spec.profile.stages, shard)))
    };
    // goose gets until the run's deadline less the time to log the agents out; after an
    // interrupt, the drain and a little more.
    let goose_deadline = deadline.checked_sub(WIND_DOWN).unwrap_or(deadline);
    let goose = goose_adapter::drive(Arc::clone(&ctx), plan);
    tokio::pin!(goose);
    let mut until = goose_deadline;
    let outcome = loop {
        tokio::select! {
            r = &mut goose => break Some(r),
            () = tokio::time::sleep_until(until.into()) => break None,
            () = ctx.stop.cancelled(), if ctx.stopped_at.get().is_none() => {
                let now = Instant::now();
                let _ = ctx.stopped_at.set(now);
                goose_adapter::stop_users();
                until = until.min(now + spec.drain + WIND_DOWN);
            }
        }
    };
    let elapsed = ctx.elapsed();
    probe.abort();
    if let Some(task) = hand_back {
        task.abort();
    }
    if let Some(task) = stall_task {
        task.abort();
    }
    if let Some(p) = shown {
        p.finish().await;
    }
    if let Some(pool) = &ctx.pool {
        let logout_deadline = deadline.max(Instant::now() + WIND_DOWN);
        if tokio::time::timeout_at(logout_deadline.into(), pool.logout_all(&schemas, &metrics)).await.is_err() {
            ctx.lock().error(Instant::now(), || "the agents' logouts did not finish before the run's deadline".into());
        }
    }
    match outcome {
        // An interrupted run reports what it measured, whether or not every worker stopped.
        _ if ctx.interrupted() => Ok((ctx, elapsed)),
        Some(Ok(())) => Ok((ctx, elapsed)),
        Some(Err(e)) => Err(LoadError::Driver(e)),
        None => Err(LoadError::Driver("the workers did not stop before the run's deadline".into())),
    }
}

/// Wait (until the deadline at most, or an interrupt) for the shared start, and start the
/// schedule there: every shard's arrival k is due at the same instant.
async fn wait_for_start(ctx: &Ctx, at: Instant, deadline: Instant) {
    let now = Instant::now();
    if at < now {
        let late = now - at;
        if late > LATE_AFTER {
            eprintln!(
                "warning: ready {:.1} s after --start-at; arrivals due meanwhile start late (or are dropped past max_lag)",
                late.as_secs_f64()
            );
        }
    } else {
        tokio::select! {
            () = tokio::time::sleep_until(at.min(deadline).into()) => {}
            () = ctx.stop.cancelled() => {}
        }
    }
    let _ = ctx.t0.set(at);
}
