//! The load file: what a chat (or a single request) does, the load profile that paces it, and
//! the thresholds that gate the run. Parsed from YAML with serde-saphyr spans so that every
//! problem is reported as `file:line:col` like scenario files are. Every number and duration is
//! checked against its bound in [`super::bounds`], the same table the command line uses.
//!
//! ```yaml
//! name: smoke
//! journey: chat                  # chat (default) | request
//! chat:                          # the customer journey and the agent's behaviour
//!   messages: 2                  # customer messages per chat, each answered by the agent
//!   customer_think: 20ms..60ms   # a duration or a uniform range
//!   agent_think: 20ms..60ms
//!   accept_after: 5ms..20ms      # Invited → Accept
//!   poll_interval: 20ms          # the customer reads its transcript this often when waiting
//!   timeout: 5s                  # for each awaited notification or delivery
//!   uploads: { share: 0.25, size: 64KiB..1MiB }
//! request:                       # journey: request — one endpoint, validated
//!   { name: version, method: GET, path: /api/v2/diagnostics/version, headers: {}, body: ... }
//! load:
//!   model: open                  # open (default): arrivals per second; closed: concurrency
//!   rate: 4                      # open constant rate ...  (closed: `concurrency: 20`)
//!   duration: 8s                 # ... for this long, or:
//!   stages: [{ target: 20, duration: 20s }, { target: 20, duration: 1m }]  # linear ramps
//!   start_rate: 0                # open: where the first stage ramps from (default: its target)
//!   max_active: 500              # open: workers, i.e. most chats in flight
//!   max_lag: 5s                  # open: later than this after its intended time → dropped
//!   connections: 16              # request journey: keep-alive connections (open model)
//! drain: 10s                     # time for work in flight after the last arrival
//! thresholds: ["p99(Accept) < 200ms", "error_rate < 0.1%", "violations == 0"]
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::bounds::{self, Bound};
use super::thresholds::{self, Threshold};
use crate::scenario::parse::parse_duration;
use crate::scenario::{Diagnostic, Span};

/// A parsed, checked load file.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub name: String,
    pub file: String,
    pub journey: Journey,
    pub profile: Profile,
    /// How long in-flight work may take to finish after the last arrival.
    pub drain: Duration,
    pub thresholds: Vec<Threshold>,
}

/// What one unit of work is.
#[derive(Debug, Clone)]
pub enum Journey {
    /// A customer requests a chat, an agent accepts, they exchange messages, maybe upload a
    /// file, and the agent completes the chat.
    Chat(ChatJourney),
    /// One request, validated: the raw request rate of one endpoint.
    Request(RequestJourney),
}

#[derive(Debug, Clone)]
pub struct ChatJourney {
    /// Messages the customer sends; the agent answers each.
    pub messages: u32,
    pub customer_think: Between,
    pub agent_think: Between,
    /// Time between the Invited notification and Accept.
    pub accept_after: Between,
    /// How often a customer waiting for an agent's message reads its transcript.
    pub poll_interval: Duration,
    /// How long the journey waits for a notification or a delivery before counting an error.
    pub timeout: Duration,
    pub uploads: Option<Uploads>,
}

#[derive(Debug, Clone)]
pub struct Uploads {
    /// Share of chats (0..=1) in which the agent uploads one file.
    pub share: f64,
    pub size: (u64, u64),
}

#[derive(Debug, Clone)]
pub struct RequestJourney {
    /// The metric name the latencies are recorded under.
    pub name: String,
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

/// A duration drawn uniformly between two bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Between {
    pub min: Duration,
    pub max: Duration,
}

impl Between {
    pub fn fixed(d: Duration) -> Between {
        Between { min: d, max: d }
    }

    pub fn sample(&self) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let span = (self.max - self.min).as_micros() as u64;
        self.min + Duration::from_micros(rand::random_range(0..=span))
    }
}

/// How work arrives.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// Arrivals per second follow the stages whatever the server does; `max_active` bounds the
    /// work in flight, `max_lag` how late work may start before it is dropped.
    Open { start_rate: f64, max_active: usize, max_lag: Duration },
    /// A fixed number of concurrent workers, each starting its next unit when one ends.
    Closed,
}

/// One stage: the rate (open) or concurrency (closed) moves linearly to `target` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub target: f64,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub model: Model,
    pub stages: Vec<Stage>,
    /// Keep-alive connections (request journey): one per worker.
    pub connections: usize,
}

impl Profile {
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The highest rate or concurrency any stage reaches.
    pub fn peak(&self) -> f64 {
        let start = match self.model {
            Model::Open { start_rate, .. } => start_rate,
            Model::Closed => 0.0,
        };
        self.stages.iter().map(|s| s.target).fold(start, f64::max)
    }
}

impl LoadSpec {
    /// Command-line overrides: a constant open rate, a constant closed concurrency, a duration.
    pub fn override_load(
        &mut self,
        rate: Option<f64>,
        concurrency: Option<f64>,
        duration: Option<Duration>,
    ) -> Result<(), String> {
        let constant = match self.profile.stages.as_slice() {
            [one] => Some(one.duration),
            [step, hold] if step.duration.is_zero() && step.target == hold.target => Some(hold.duration),
            _ => None,
        };
        let duration = match (duration, constant) {
            (Some(d), _) => Some(bounds::DURATION.duration("--duration", d).map_err(|e| e.to_string())?),
            (None, c) => c,
        };
        let need = || duration.ok_or("the load file has stages: give --duration with a constant rate or concurrency");
        match (rate, concurrency) {
            (Some(_), Some(_)) => return Err("give --chats-per-sec or --concurrency, not both".into()),
            (Some(r), None) => {
                let r = bounds::RATE.check("--chats-per-sec", r).map_err(|e| e.to_string())?;
                let d = need()?;
                let (max_active, max_lag) = match self.profile.model {
                    Model::Open { max_active, max_lag, .. } => (max_active.max(default_max_active(r)), max_lag),
                    Model::Closed => (default_max_active(r), Duration::from_secs(5)),
                };
                self.profile.model = Model::Open { start_rate: r, max_active, max_lag };
                self.profile.stages = vec![Stage { target: r, duration: d }];
            }
            (None, Some(c)) => {
                let c = bounds::CONCURRENCY.count("--concurrency", c).map_err(|e| e.to_string())? as f64;
                let d = need()?;
                self.profile.model = Model::Closed;
                self.profile.stages =
                    vec![Stage { target: c, duration: Duration::ZERO }, Stage { target: c, duration: d }];
            }
            (None, None) => {
                if let Some(d) = duration.filter(|_| constant.is_some()) {
                    if let Some(last) = self.profile.stages.last_mut() {
                        last.duration = d;
                    }
                } else if duration.is_some() {
                    return Err("--duration applies to a constant load; this file has stages".into());
                }
            }
        }
        Ok(())
    }
}

/// Workers of the open chat journey when the file does not say: 30 s of the peak rate's chats,
/// within the bound of `max_active`.
pub fn default_max_active(peak: f64) -> usize {
    let wanted = (peak * 30.0).clamp(16.0, bounds::MAX_ACTIVE.max);
    // Clamped to 16..=20,000 above, so the cast is exact enough and cannot overflow.
    wanted as usize
}

// ---- the file as written ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the file")]
    description: Option<String>,
    journey: Option<Spanned<String>>,
    chat: Option<Spanned<RawChat>>,
    request: Option<Spanned<RawRequest>>,
    load: Spanned<RawLoad>,
    drain: Option<Spanned<String>>,
    #[serde(default)]
    thresholds: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChat {
    messages: Option<Spanned<f64>>,
    customer_think: Option<Spanned<String>>,
    agent_think: Option<Spanned<String>>,
    accept_after: Option<Spanned<String>>,
    poll_interval: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    uploads: Option<Spanned<RawUploads>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUploads {
    share: Spanned<f64>,
    size: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Option<String>,
    method: Option<String>,
    path: Spanned<String>,
    body: Option<Value>,
    #[serde(default)]
    headers: indexmap::IndexMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
    model: Option<Spanned<String>>,
    rate: Option<Spanned<f64>>,
    concurrency: Option<Spanned<f64>>,
    duration: Option<Spanned<String>>,
    start_rate: Option<Spanned<f64>>,
    #[serde(default)]
    stages: Vec<Spanned<RawStage>>,
    max_active: Option<Spanned<f64>>,
    max_lag: Option<Spanned<String>>,
    connections: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    target: Spanned<f64>,
    duration: Spanned<String>,
}

/// Read and parse a load file.
pub fn parse_file(path: &Path) -> Result<LoadSpec, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::new(format!("cannot read load file: {e}"), Span::new(&file, 0, 0), None)])?;
    parse_str(&file, &text)
}

/// Parse load-file text; `file` names it in diagnostics.
pub fn parse_str(file: &str, text: &str) -> Result<LoadSpec, Vec<Diagnostic>> {
    let raw: RawSpec = serde_saphyr::from_str(text).map_err(|e| {
        let (line, col) = e.location().map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
        let message = e.without_snippet().to_string();
        let title = message.lines().next().unwrap_or("invalid YAML").to_owned();
        vec![Diagnostic::new(format!("invalid load file: {title}"), Span::new(file, line, col), Some(text))]
    })?;
    let mut cx = Cx { file, text, diags: Vec::new() };
    let spec = cx.spec(raw);
    match spec {
        Some(spec) if cx.diags.is_empty() => Ok(spec),
        _ => Err(cx.diags),
    }
}

struct Cx<'a> {
    file: &'a str,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Cx<'_> {
    fn span<T>(&self, s: &Spanned<T>) -> Span {
        Span::new(self.file, s.referenced.line() as u32, s.referenced.column() as u32)
    }

    fn error<T>(&mut self, at: &Spanned<T>, title: impl Into<String>, note: Option<String>) {
        let mut d = Diagnostic::new(title, self.span(at), Some(self.text));
        if let Some(n) = note {
            d = d.note(n);
        }
        self.diags.push(d);
    }

    fn duration(&mut self, s: &Spanned<String>) -> Option<Duration> {
        match parse_duration(&s.value) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(s, e, Some("expected a duration such as 250ms, 5s or 2m".into()));
                None
            }
        }
    }

    /// A number within its bound; `name` is its key as written.
    fn bounded(&mut self, s: &Spanned<f64>, name: &str, b: &Bound) -> Option<f64> {
        match b.check(&format!("`{name}`"), s.value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(s, e.to_string(), Some(b.why.into()));
                None
            }
        }
    }

    /// A duration within its bound.
    fn bounded_duration(&mut self, s: &Spanned<String>, name: &str, b: &Bound) -> Option<Duration> {
        let d = self.duration(s)?;
        match b.duration(&format!("`{name}`"), d) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(s, e.to_string(), Some(b.why.into()));
                None
            }
        }
    }

    fn between(&mut self, s: Option<&Spanned<String>>, name: &str, default: Between) -> Between {
        let Some(s) = s else { return default };
        let parts: Vec<&str> = s.value.split("..").collect();
        let parsed: Vec<Result<Duration, String>> = parts.iter().map(|p| parse_duration(p)).collect();
        let out = |d: &Duration| bounds::THINK.duration(&format!("`{name}`"), *d).is_err();
        match parsed.as_slice() {
            [Ok(d)] | [Ok(_), Ok(d)] if out(d) => {
                let e = bounds::THINK.duration(&format!("`{name}`"), *d).err().map(|e| e.to_string());
                self.error(s, e.unwrap_or_default(), Some(bounds::THINK.why.into()));
                default
            }
            [Ok(d)] => Between::fixed(*d),
            [Ok(a), Ok(b)] if a <= b => Between { min: *a, max: *b },
            _ => {
                self.error(
                    s,
                    format!("invalid duration range `{}`", s.value),
                    Some("expected e.g. 50ms..200ms or 1s".into()),
                );
                default
            }
        }
    }

    fn spec(&mut self, raw: RawSpec) -> Option<LoadSpec> {
        let journey = self.journey(&raw);
        let profile = self.profile(&raw.load, matches!(journey, Some(Journey::Request(_))));
        let drain = raw
            .drain
            .as_ref()
            .and_then(|d| self.bounded_duration(d, "drain", &bounds::DRAIN))
            .unwrap_or(Duration::from_secs(10));
        let mut list = Vec::new();
        for t in &raw.thresholds {
            match thresholds::parse(&t.value) {
                Ok(th) => list.push(th),
                Err(e) => {
                    self.error(t, format!("invalid threshold `{}`: {e}", t.value), Some(thresholds::SYNTAX.into()))
                }
            }
        }
        let journey = journey?;
        let measured = match &journey {
            Journey::Chat(chat) => super::metrics::names::chat_journey(chat.uploads.is_some()),
            Journey::Request(request) => vec![request.name.clone()],
        };
        for (t, th) in raw.thresholds.iter().zip(&list) {
            if let Some(name) = th.metric.latency().filter(|n| !measured.iter().any(|m| m == n)) {
                let close =
                    measured.iter().min_by_key(|m| edit_distance(m, name)).filter(|m| edit_distance(m, name) <= 2);
                let hint = match close {
                    Some(m) => format!("did you mean `{m}`? The journey measures: {}", measured.join(", ")),
                    None => format!("the journey measures: {}", measured.join(", ")),
                };
                self.error(
                    t,
                    format!("threshold `{}` reads latency `{name}`, which this load never measures", t.value),
                    Some(hint),
                );
            }
        }
        Some(LoadSpec {
            name: raw.name.value,
            file: self.file.to_owned(),
            journey,
            profile: profile?,
            drain,
            thresholds: list,
        })
    }

    fn journey(&mut self, raw: &RawSpec) -> Option<Journey> {
        let kind = raw.journey.as_ref().map_or("chat", |j| j.value.as_str());
        match kind {
            "chat" => Some(Journey::Chat(self.chat(raw.chat.as_ref().map(|c| &c.value)))),
            "request" => {
                let Some(req) = &raw.request else {
                    let at = raw.journey.as_ref().unwrap_or(&raw.name);
                    self.error(at, "journey `request` needs a `request:` section", None);
                    return None;
                };
                let r = &req.value;
                if !r.path.value.starts_with('/') {
                    self.error(&r.path, "a request path starts with `/`", None);
                }
                Some(Journey::Request(RequestJourney {
                    name: r.name.clone().unwrap_or_else(|| "request".into()),
                    method: r.method.clone().unwrap_or_else(|| "GET".into()).to_ascii_uppercase(),
                    path: r.path.value.clone(),
                    body: r.body.clone(),
                    headers: r.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                }))
            }
            other => {
                let note = Some("expected `chat` or `request`".to_owned());
                if let Some(j) = &raw.journey {
                    self.error(j, format!("unknown journey `{other}`"), note);
                }
                None
            }
        }
    }

    fn chat(&mut self, raw: Option<&RawChat>) -> ChatJourney {
        let empty = RawChat::default();
        let raw = raw.unwrap_or(&empty);
        let ms = Duration::from_millis;
        let uploads = raw.uploads.as_ref().and_then(|u| {
            let share = self.bounded(&u.value.share, "share", &bounds::UPLOAD_SHARE)?;
            let size = self.size_range(&u.value.size)?;
            for end in [size.0, size.1] {
                if let Err(e) = bounds::UPLOAD_SIZE.check("`size`", end as f64) {
                    self.error(&u.value.size, e.to_string(), Some(bounds::UPLOAD_SIZE.why.into()));
                    return None;
                }
            }
            Some(Uploads { share, size })
        });
        let poll = raw
            .poll_interval
            .as_ref()
            .and_then(|p| self.bounded_duration(p, "poll_interval", &bounds::POLL_INTERVAL))
            .unwrap_or(ms(50));
        let messages = raw.messages.as_ref().and_then(|m| self.bounded(m, "messages", &bounds::MESSAGES));
        ChatJourney {
            messages: messages.map_or(2, |m| m as u32),
            customer_think: self.between(
                raw.customer_think.as_ref(),
                "customer_think",
                Between { min: ms(50), max: ms(200) },
            ),
            agent_think: self.between(raw.agent_think.as_ref(), "agent_think", Between { min: ms(50), max: ms(200) }),
            accept_after: self.between(raw.accept_after.as_ref(), "accept_after", Between::fixed(ms(0))),
            poll_interval: poll,
            timeout: raw
                .timeout
                .as_ref()
                .and_then(|t| self.bounded_duration(t, "timeout", &bounds::TIMEOUT))
                .unwrap_or(Duration::from_secs(10)),
            uploads,
        }
    }

    fn size_range(&mut self, s: &Spanned<String>) -> Option<(u64, u64)> {
        let parts: Vec<Option<u64>> = s.value.split("..").map(parse_size).collect();
        match parts.as_slice() {
            [Some(a)] => Some((*a, *a)),
            [Some(a), Some(b)] if a <= b => Some((*a, *b)),
            _ => {
                self.error(s, format!("invalid size `{}`", s.value), Some("expected e.g. 64KiB..1MiB or 500KB".into()));
                None
            }
        }
    }

    fn profile(&mut self, raw: &Spanned<RawLoad>, request: bool) -> Option<Profile> {
        let l = &raw.value;
        let model_name =
            l.model.as_ref().map_or(if l.concurrency.is_some() { "closed" } else { "open" }, |m| m.value.as_str());
        let closed = match model_name {
            "open" => false,
            "closed" => true,
            other => {
                let fallback = raw.referenced_as();
                let at = l.model.as_ref().unwrap_or(&fallback);
                self.error(at, format!("unknown load model `{other}`"), Some("expected `open` or `closed`".into()));
                return None;
            }
        };
        let (shorthand, name, bound, stage_bound) = if closed {
            (l.concurrency.as_ref(), "concurrency", &bounds::CONCURRENCY, &bounds::STAGE_USERS)
        } else {
            (l.rate.as_ref(), "rate", &bounds::RATE, &bounds::STAGE_RATE)
        };
        if let (true, Some(r)) = (closed, l.rate.as_ref()) {
            self.error(r, "`rate` belongs to the open model; the closed model takes `concurrency`", None);
        }
        if let (false, Some(c)) = (closed, l.concurrency.as_ref()) {
            self.error(c, "`concurrency` belongs to the closed model; the open model takes `rate`", None);
        }
        let mut stages = Vec::new();
        match (shorthand, l.stages.is_empty()) {
            (Some(s), true) => {
                let Some(d) = l.duration.as_ref() else {
                    self.error(s, "a constant load needs a `duration`", None);
                    return None;
                };
                let target = self.bounded(s, name, bound);
                let duration = self.bounded_duration(d, "duration", &bounds::DURATION)?;
                let target = target?;
                if closed {
                    // Constant concurrency: all workers at once, then held.
                    stages.push(Stage { target, duration: Duration::ZERO });
                }
                stages.push(Stage { target, duration });
            }
            (None, false) => {
                if let Err(e) = bounds::STAGES.check("`stages`", l.stages.len() as f64) {
                    let at = l.stages.first().map(ReferencedAs::referenced_as).unwrap_or_else(|| raw.referenced_as());
                    self.error(&at, format!("{} stages: {e}", l.stages.len()), None);
                    return None;
                }
                for st in &l.stages {
                    let target = self.bounded(&st.value.target, "target", stage_bound);
                    let duration = self.duration(&st.value.duration).and_then(|d| {
                        // A stage may last no time (a step); the whole profile is checked below.
                        if d.as_secs_f64() > bounds::DURATION.max {
                            self.bounded_duration(&st.value.duration, "duration", &bounds::DURATION)
                        } else {
                            Some(d)
                        }
                    });
                    if let (Some(target), Some(duration)) = (target, duration) {
                        stages.push(Stage { target, duration });
                    }
                }
                if stages.len() != l.stages.len() {
                    return None;
                }
            }
            (Some(s), false) => {
                self.error(s, "give either a constant load or `stages`, not both", None);
                return None;
            }
            (None, true) => {
                let what = if closed { "`concurrency` and `duration`" } else { "`rate` and `duration`" };
                self.error(raw, format!("the load needs {what}, or `stages`"), None);
                return None;
            }
        }
        let total: Duration = stages.iter().map(|s| s.duration).sum();
        if let Err(e) = bounds::DURATION.duration("the whole profile", total) {
            self.error(raw, e.to_string(), Some(bounds::DURATION.why.into()));
            return None;
        }
        let connections = match &l.connections {
            Some(c) => self.bounded(c, "connections", &bounds::CONNECTIONS)? as usize,
            None => 16,
        };
        let model = if closed {
            if stages.iter().all(|s| s.target < 1.0) {
                self.error(raw, "the load runs no worker: every stage's concurrency is zero", None);
                return None;
            }
            Model::Closed
        } else {
            let start_rate = match &l.start_rate {
                Some(s) => self.bounded(s, "start_rate", &bounds::STAGE_RATE)?,
                None => stages[0].target,
            };
            let peak = stages.iter().map(|s| s.target).fold(start_rate, f64::max);
            let max_active = match &l.max_active {
                Some(m) => self.bounded(m, "max_active", &bounds::MAX_ACTIVE)? as usize,
                None if request => connections,
                None => default_max_active(peak),
            };
            let max_lag = match &l.max_lag {
                Some(m) => self.bounded_duration(m, "max_lag", &bounds::MAX_LAG)?,
                None => Duration::from_secs(5),
            };
            let schedule = super::schedule::Schedule::new(std::time::Instant::now(), start_rate, &stages, (0, 1));
            if schedule.total() == 0 {
                self.error(raw, "the load plans no arrival: every rate is zero, or too low for its duration", None);
                return None;
            }
            Model::Open { start_rate, max_active, max_lag }
        };
        Some(Profile { model, stages, connections })
    }
}

trait ReferencedAs {
    fn referenced_as(&self) -> Spanned<String>;
}

impl<T> ReferencedAs for Spanned<T> {
    /// A string spanned where `self` is, to point a diagnostic at a mapping.
    fn referenced_as(&self) -> Spanned<String> {
        Spanned::new(String::new(), self.referenced, self.defined)
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `64KiB`, `1MiB`, `500KB`, `1MB`, `2048` (bytes): the scenarios' reading of a size.
pub fn parse_size(s: &str) -> Option<u64> {
    crate::scenario::units::parse_size_text(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOKE: &str = "name: t\nchat: { messages: 1, customer_think: 10ms..20ms }\nload: { rate: 2, duration: 3s }\nthresholds: [\"p99(Accept) < 200ms\"]\n";

    #[test]
    fn a_constant_open_load_parses() {
        let spec = parse_str("t.yaml", SMOKE).unwrap();
        assert_eq!(spec.profile.stages, vec![Stage { target: 2.0, duration: Duration::from_secs(3) }]);
        assert!(matches!(spec.profile.model, Model::Open { start_rate, .. } if start_rate == 2.0));
        let Journey::Chat(chat) = spec.journey else { panic!("chat journey") };
        assert_eq!(chat.messages, 1);
        assert_eq!(chat.customer_think, Between { min: Duration::from_millis(10), max: Duration::from_millis(20) });
        assert_eq!(spec.thresholds.len(), 1);
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let text = "name: t\nload:\n  rate: 2\n  duration: 3 parsecs\n";
        let diags = parse_str("t.yaml", text).unwrap_err();
        assert_eq!(diags[0].span.line, 4, "{}", diags[0]);
        assert!(diags[0].to_string().contains("t.yaml:4:"), "{}", diags[0]);
        let diags = parse_str("t.yaml", "name: t\nload: { rate: 1, duration: 1s }\nthresholds: [\"p99(x) <> 3\"]\n")
            .unwrap_err();
        assert_eq!(diags[0].span.line, 3);
        let diags = parse_str("t.yaml", "name: t\nlaod: {}\n").unwrap_err();
        assert_eq!(diags[0].span.line, 2, "{}", diags[0]);
    }

    #[test]
    fn closed_model_and_request_journey() {
        let text = "name: r\njourney: request\nrequest: { path: /api/v2/diagnostics/version }\nload: { concurrency: 4, duration: 2s }\n";
        let spec = parse_str("r.yaml", text).unwrap();
        assert_eq!(spec.profile.model, Model::Closed);
        assert!(matches!(spec.journey, Journey::Request(ref r) if r.method == "GET"));
    }

    #[test]
    fn a_threshold_on_a_latency_the_journey_never_measures_is_caught_before_a_run() {
        let chat =
            "name: t\nload: { rate: 1, duration: 1s }\nthresholds: [\"p99(Accept) < 1s\", \"p99(Acept) < 1s\"]\n";
        let diags = parse_str("t.yaml", chat).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        let text = diags[0].to_string();
        assert!(text.contains("reads latency `Acept`") && text.contains("did you mean `Accept`"), "{text}");
        assert_eq!(diags[0].span.line, 3);
        let upload = "name: t\nload: { rate: 1, duration: 1s }\nthresholds: [\"p99(Upload) < 1s\"]\n";
        assert!(parse_str("t.yaml", upload).is_err(), "no uploads, no Upload latency");
        let with_uploads = upload.replace("name: t\n", "name: t\nchat: { uploads: { share: 0.5, size: 1KiB } }\n");
        assert!(parse_str("t.yaml", &with_uploads).is_ok());
        let request = "name: r\njourney: request\nrequest: { name: version, method: GET, path: /x }\nload: { model: closed, concurrency: 2, duration: 1s }\nthresholds: [\"p99(version) < 1s\", \"p99(Accept) < 1s\"]\n";
        let diags = parse_str("r.yaml", request).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].to_string().contains("`Accept`"), "{}", diags[0]);
    }

    #[test]
    fn absurd_values_name_the_value_where_it_is_and_the_bound() {
        let cases = [
            (
                "load: { rate: 1e12, duration: 8s }",
                "`rate` 1000000000000 is out of bounds: expected from 0.001 to 100000",
            ),
            ("load: { rate: 0, duration: 8s }", "`rate` 0 is out of bounds"),
            ("load: { rate: -3, duration: 8s }", "`rate` -3 is out of bounds"),
            ("load: { rate: .nan, duration: 8s }", "`rate` NaN is out of bounds"),
            ("load: { concurrency: 1e9, duration: 8s }", "`concurrency` 1000000000 is out of bounds"),
            ("load: { rate: 5, duration: 8s, max_active: 1e9 }", "`max_active` 1000000000 is out of bounds"),
            ("load: { rate: 5, duration: 8s, connections: 1e9 }", "`connections` 1000000000 is out of bounds"),
            ("load: { rate: 5, duration: 8s, max_active: 2.5 }", "expected a whole number from 1 to 20000"),
            ("load: { rate: 5, duration: 3000h }", "duration `3000h` is longer than a day"),
            (
                "load: { stages: [{ target: 1, duration: 20h }, { target: 1, duration: 20h }] }",
                "the whole profile 1day 16h is out of bounds",
            ),
            ("load: { rate: 5, duration: 0s }", "`duration` 0s is out of bounds"),
            ("load: { stages: [{ target: 0, duration: 5s }] }", "the load plans no arrival"),
            ("load: { stages: [{ target: 1e7, duration: 5s }] }", "`target` 10000000 is out of bounds"),
            ("load: { model: closed, stages: [{ target: 0, duration: 5s }] }", "the load runs no worker"),
            ("load: { rate: 5, duration: 1s }\ndrain: 1h", "`drain` 1h is out of bounds"),
            ("load: { rate: 5, duration: 1s }\nchat: { messages: 1e6 }", "`messages` 1000000 is out of bounds"),
            ("load: { rate: 5, duration: 1s }\nchat: { agent_think: 1s..2h }", "`agent_think` 2h is out of bounds"),
            ("load: { rate: 5, duration: 1s }\nchat: { uploads: { share: 1, size: 1GiB } }", "`size` 1073741824"),
        ];
        for (load, expected) in cases {
            let text = format!("name: t\n{load}\n");
            let diags = parse_str("t.yaml", &text).expect_err(load);
            let shown = diags[0].to_string();
            assert!(shown.contains(expected), "{load}: {shown}");
            assert!(shown.contains("t.yaml:2:") || shown.contains("t.yaml:3:"), "{load}: {shown}");
        }
    }

    #[test]
    fn command_line_values_are_bounded_alike() {
        let mut spec = parse_str("t.yaml", SMOKE).unwrap();
        let e = spec.override_load(Some(1e12), None, None).unwrap_err();
        assert!(e.starts_with("--chats-per-sec 1000000000000 is out of bounds"), "{e}");
        let e = spec.override_load(None, Some(1e9), None).unwrap_err();
        assert!(e.starts_with("--concurrency 1000000000 is out of bounds"), "{e}");
        let e = spec.override_load(None, None, Some(Duration::ZERO)).unwrap_err();
        assert!(e.starts_with("--duration 0s is out of bounds"), "{e}");
        spec.override_load(Some(100_000.0), None, None).unwrap();
        assert!(matches!(spec.profile.model, Model::Open { max_active: 20_000, .. }));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB"), Some(65536));
        assert_eq!(parse_size("1MB"), Some(1_000_000));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("1 parsec"), None);
    }
}
