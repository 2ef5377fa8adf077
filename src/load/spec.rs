//! The load file: what a chat (or a single request) does, the load profile that paces it, and
//! the thresholds that gate the run. Parsed from YAML with serde-saphyr spans so that every
//! problem is reported as `file:line:col` like scenario files are.
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
            (Some(d), _) if d.is_zero() => return Err("--duration must be more than zero".into()),
            (Some(d), _) => Some(d),
            (None, c) => c,
        };
        let need = || duration.ok_or("the load file has stages: give --duration with a constant rate or concurrency");
        match (rate, concurrency) {
            (Some(_), Some(_)) => return Err("give --chats-per-sec or --concurrency, not both".into()),
            (Some(r), None) => {
                if !(r.is_finite() && r > 0.0) {
                    return Err("--chats-per-sec must be more than zero".into());
                }
                let d = need()?;
                let (max_active, max_lag) = match self.profile.model {
                    Model::Open { max_active, max_lag, .. } => (max_active.max((r * 30.0) as usize), max_lag),
                    Model::Closed => (((r * 30.0) as usize).clamp(16, 20_000), Duration::from_secs(5)),
                };
                self.profile.model = Model::Open { start_rate: r, max_active, max_lag };
                self.profile.stages = vec![Stage { target: r, duration: d }];
            }
            (None, Some(c)) => {
                if !(c.is_finite() && c >= 1.0) {
                    return Err("--concurrency must be at least 1".into());
                }
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
    messages: Option<Spanned<u32>>,
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
    max_active: Option<Spanned<usize>>,
    max_lag: Option<Spanned<String>>,
    connections: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    target: f64,
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

    fn between(&mut self, s: Option<&Spanned<String>>, default: Between) -> Between {
        let Some(s) = s else { return default };
        let parts: Vec<&str> = s.value.split("..").collect();
        let parsed: Vec<Result<Duration, String>> = parts.iter().map(|p| parse_duration(p)).collect();
        match parsed.as_slice() {
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
        let drain = raw.drain.as_ref().and_then(|d| self.duration(d)).unwrap_or(Duration::from_secs(10));
        let mut list = Vec::new();
        for t in &raw.thresholds {
            match thresholds::parse(&t.value) {
                Ok(th) => list.push(th),
                Err(e) => {
                    self.error(t, format!("invalid threshold `{}`: {e}", t.value), Some(thresholds::SYNTAX.into()))
                }
            }
        }
        Some(LoadSpec {
            name: raw.name.value,
            file: self.file.to_owned(),
            journey: journey?,
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
            let share = u.value.share.value;
            if !(0.0..=1.0).contains(&share) {
                self.error(&u.value.share, "`share` is a fraction between 0 and 1", None);
                return None;
            }
            let size = self.size_range(&u.value.size)?;
            Some(Uploads { share, size })
        });
        let poll = raw.poll_interval.as_ref().and_then(|p| self.duration(p)).unwrap_or(ms(50));
        if poll.is_zero()
            && let Some(p) = &raw.poll_interval
        {
            self.error(p, "`poll_interval` must be more than zero", None);
        }
        ChatJourney {
            messages: raw.messages.as_ref().map_or(2, |m| m.value),
            customer_think: self.between(raw.customer_think.as_ref(), Between { min: ms(50), max: ms(200) }),
            agent_think: self.between(raw.agent_think.as_ref(), Between { min: ms(50), max: ms(200) }),
            accept_after: self.between(raw.accept_after.as_ref(), Between::fixed(ms(0))),
            poll_interval: poll.max(ms(1)),
            timeout: raw.timeout.as_ref().and_then(|t| self.duration(t)).unwrap_or(Duration::from_secs(10)),
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
        let shorthand = if closed { l.concurrency.as_ref() } else { l.rate.as_ref() };
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
                let duration = self.duration(d)?;
                if closed {
                    // Constant concurrency: all workers at once, then held.
                    stages.push(Stage { target: s.value, duration: Duration::ZERO });
                }
                stages.push(Stage { target: s.value, duration });
            }
            (None, false) => {
                for st in &l.stages {
                    if let Some(duration) = self.duration(&st.value.duration) {
                        stages.push(Stage { target: st.value.target, duration });
                    }
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
        if stages.iter().any(|s| !(s.target.is_finite() && s.target >= 0.0)) {
            self.error(raw, "stage targets must be numbers of at least 0", None);
            return None;
        }
        let total: Duration = stages.iter().map(|s| s.duration).sum();
        if total.is_zero() {
            self.error(raw, "the load lasts no time: give a duration above zero", None);
            return None;
        }
        let connections = l.connections.as_ref().map_or(16, |c| c.value);
        if connections == 0 {
            self.error(l.connections.as_ref()?, "`connections` must be at least 1", None);
        }
        let model = if closed {
            Model::Closed
        } else {
            let start_rate = l.start_rate.as_ref().map_or_else(|| stages[0].target, |s| s.value);
            let peak = stages.iter().map(|s| s.target).fold(start_rate, f64::max);
            let default_active = if request { connections } else { ((peak * 30.0) as usize).clamp(16, 20_000) };
            let max_active = l.max_active.as_ref().map_or(default_active, |m| m.value).max(1);
            let max_lag = l.max_lag.as_ref().and_then(|m| self.duration(m)).unwrap_or(Duration::from_secs(5));
            Model::Open { start_rate, max_active, max_lag }
        };
        Some(Profile { model, stages, connections: connections.max(1) })
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

/// `64KiB`, `1MiB`, `500KB`, `1MB`, `2048` (bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let n: f64 = s[..split].parse().ok()?;
    let unit = match s[split..].trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = n * unit;
    (bytes.is_finite() && (0.0..1e12).contains(&bytes)).then_some(bytes as u64)
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
    fn sizes() {
        assert_eq!(parse_size("64KiB"), Some(65536));
        assert_eq!(parse_size("1MB"), Some(1_000_000));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("1 parsec"), None);
    }
}
