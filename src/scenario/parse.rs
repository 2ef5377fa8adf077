//! Parsing scenario files: YAML (serde-saphyr, with line and column) into the checked model.
//! Every problem comes back as a [`Diagnostic`] naming the file, line and column; all problems
//! of a file are reported at once.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::raw::{Matchers, RawExpect, RawHttp, RawScenario, RawStep, RawTranscript, RawUpload, RawWait};
use super::source::PROFILE;
pub use super::units::{mime_for, parse_duration, parse_size};
use super::vars::{references, references_in};
use super::{
    Action, Capture, DEFAULT_SOURCE, DEFAULT_SUBSCRIPTIONS, DEFAULT_WITHIN, Diagnostic, Expectation, FileSource, Guard,
    HttpSpec, NotificationExpect, NotificationMatcher, ResponseExpect, Scenario, Span, Step, TranscriptUntil,
    UploadStep, Via, matcher,
};
use crate::api;

/// Variables every scenario has without defining them (besides the Tegsoft profile's
/// `tegsoft.*`, [`crate::api::tegsoft::variable_names`]).
pub const BUILTIN_VARS: &[&str] = &["run_id", "scenario", "base_url"];
/// Variables every agent role has: `a1.username` from the start, `a1.user_id` and `a1.uri` (the
/// `id` and `uri` of GET /api/v2/me's user) once it logged in.
pub const AGENT_VARS: &[&str] = &["username", "user_id", "uri"];

/// Read and parse a scenario file.
pub fn parse_file(path: &Path) -> Result<Scenario, Vec<Diagnostic>> {
    parse_file_with(path, &[])
}

/// Read and parse a scenario file; `external` names variables given from outside the file
/// (`--var`, `--vars-file`, `CHATPROBE_VAR_*`), which the scenario may use without defining.
pub fn parse_file_with(path: &Path, external: &[String]) -> Result<Scenario, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::new(format!("cannot read scenario: {e}"), Span::new(&file, 0, 0), None)])?;
    parse_str_with(&file, &text, external)
}

/// Parse scenario text; `file` names it in diagnostics.
pub fn parse_str(file: &str, text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    parse_str_with(file, text, &[])
}

/// Parse scenario text knowing the names of the variables given from outside.
pub fn parse_str_with(file: &str, text: &str, external: &[String]) -> Result<Scenario, Vec<Diagnostic>> {
    let raw: RawScenario = serde_saphyr::from_str(text).map_err(|e| vec![yaml_error(file, text, &e)])?;
    let mut cx = Cx { file, text, diags: Vec::new(), default_source: DEFAULT_SOURCE.to_owned() };
    let scenario = cx.scenario(raw, external);
    if cx.diags.is_empty() { Ok(scenario) } else { Err(cx.diags) }
}

fn yaml_error(file: &str, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let (line, col) = e.location().map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
    let message = e.without_snippet().to_string();
    // The parser prefixes its own position; the diagnostic shows ours.
    let title = message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map_or(message.as_str(), |(_, tail)| tail)
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .to_owned();
    Diagnostic::new(format!("invalid scenario: {title}"), Span::new(file, line, col), Some(text))
}

struct Cx<'a> {
    file: &'a str,
    text: &'a str,
    diags: Vec<Diagnostic>,
    /// The scenario's `source`, else [`DEFAULT_SOURCE`].
    default_source: String,
}

/// Settings a step passes down to its expectation blocks.
struct StepDefaults {
    source: String,
}

impl Cx<'_> {
    fn span(&self, loc: &Location) -> Span {
        Span::new(self.file, loc.line() as u32, loc.column() as u32)
    }

    fn sp<T>(&self, s: &Spanned<T>) -> Span {
        self.span(&s.referenced)
    }

    fn error(&mut self, span: Span, title: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(title, span, Some(self.text)));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// A `source` as written: not empty; `profile` alone or `profile: why`.
    fn source(&mut self, s: &Spanned<String>) -> String {
        let text = s.value.trim();
        if text.is_empty() {
            self.error(self.sp(s), "`source` is empty")
                .notes
                .push("name a documentation page (e.g. `HL/ChatAccept (digest §3)`) or write `profile: why`".into());
        }
        text.to_owned()
    }

    fn scenario(&mut self, raw: RawScenario, external: &[String]) -> Scenario {
        let span = self.sp(&raw.name);
        if let Some(s) = &raw.source {
            self.default_source = self.source(s);
        }
        let continue_all = raw.continue_on_failure;
        let mut tags = Vec::new();
        for t in &raw.tags {
            let ok = !t.value.is_empty()
                && t.value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
            if !ok {
                self.error(self.sp(t), format!("invalid tag `{}`", t.value))
                    .notes
                    .push("a tag is letters, digits, `-`, `_`, `.` or `/`".into());
            }
            tags.push(t.value.clone());
        }
        let mut agents: Vec<String> = raw.agents.iter().map(|a| a.value.clone()).collect();
        let mut customers: Vec<String> = raw.customers.iter().map(|c| c.value.clone()).collect();
        let declared_agents = !agents.is_empty();
        let declared_customers = !customers.is_empty();

        let mut defined: HashSet<String> = BUILTIN_VARS.iter().map(|s| (*s).to_owned()).collect();
        defined.extend(api::tegsoft::variable_names());
        defined.extend(external.iter().cloned());
        let mut vars = Vec::new();
        for (name, value) in &raw.vars {
            self.check_refs(&value.value, &defined, self.sp(value));
            defined.insert(name.clone());
            vars.push((name.clone(), value.value.clone()));
        }
        if raw.steps.is_empty() {
            self.error(span.clone(), "a scenario needs at least one step");
        }

        let mut steps = Vec::new();
        for (i, raw_step) in raw.steps.into_iter().enumerate() {
            let step_span = self.sp(&raw_step);
            let step = raw_step.value;
            for (role, list, declared, what) in [
                (
                    step.agent.as_ref().or(step.login.as_ref()).or(step.logout.as_ref()),
                    &mut agents,
                    declared_agents,
                    "agent",
                ),
                (step.customer.as_ref(), &mut customers, declared_customers, "customer"),
            ] {
                if let Some(role) = role
                    && !list.contains(&role.value)
                {
                    if declared {
                        let known = list.join(", ");
                        self.error(self.sp(role), format!("unknown {what} `{}`", role.value))
                            .notes
                            .push(format!("declared {what}s: {known}"));
                    } else {
                        list.push(role.value.clone());
                    }
                }
            }
            for role in &agents {
                for field in AGENT_VARS {
                    defined.insert(format!("{role}.{field}"));
                }
            }
            if let Some(mut step) = self.step(i, step, step_span, &defined) {
                step.continue_on_failure |= continue_all;
                for c in &step.captures {
                    defined.insert(c.var.clone());
                }
                steps.push(step);
            }
        }

        Scenario {
            name: raw.name.value,
            description: raw.description,
            file: self.file.to_owned(),
            span,
            vars,
            agents,
            customers,
            tags,
            steps,
        }
    }

    fn step(&mut self, index: usize, raw: RawStep, span: Span, defined: &HashSet<String>) -> Option<Step> {
        let name = raw.name.as_ref().map_or_else(|| format!("step {}", index + 1), |n| n.value.clone());
        let actions: Vec<(&str, Span)> = [
            ("login", raw.login.as_ref().map(|s| self.sp(s))),
            ("logout", raw.logout.as_ref().map(|s| self.sp(s))),
            ("operation", raw.operation.as_ref().map(|s| self.sp(s))),
            ("request_chat", raw.request_chat.as_ref().map(|s| self.sp(s))),
            ("customer_operation", raw.customer_operation.as_ref().map(|s| self.sp(s))),
            ("http", raw.http.as_ref().map(|s| self.sp(s))),
            ("wait_for", raw.wait_for.as_ref().map(|s| self.sp(s))),
            ("upload", raw.upload.as_ref().map(|s| self.sp(s))),
            ("download", raw.download.as_ref().map(|s| self.sp(s))),
            ("read_transcript", raw.read_transcript.as_ref().map(|s| self.sp(s))),
        ]
        .into_iter()
        .filter_map(|(k, s)| s.map(|s| (k, s)))
        .collect();
        match actions.len() {
            0 => {
                self.error(span, format!("step `{name}` has no action")).notes.push(
                    "expected one of: login, logout, operation, request_chat, customer_operation, http, wait_for, upload, download, read_transcript"
                        .into(),
                );
                return None;
            }
            1 => {}
            _ => {
                let names: Vec<&str> = actions.iter().map(|(k, _)| *k).collect();
                self.error(actions[1].1.clone(), format!("step `{name}` has more than one action"))
                    .notes
                    .push(format!("found: {}; split it into several steps", names.join(", ")));
                return None;
            }
        }

        let defaults = StepDefaults {
            source: match &raw.source {
                Some(s) => self.source(s),
                None => self.default_source.clone(),
            },
        };
        let agent = raw.agent.as_ref().map(|a| a.value.clone());
        let customer = raw.customer.as_ref().map(|c| c.value.clone());
        let chat = raw.chat.as_ref().map(|c| (c.value.clone(), self.sp(c)));
        let params = match &raw.params {
            Some(p) if !p.value.is_object() => {
                self.error(self.sp(p), "`params` must be a mapping");
                Value::Object(Default::default())
            }
            Some(p) => {
                self.check_refs(&p.value, defined, self.sp(p));
                p.value.clone()
            }
            None => Value::Object(Default::default()),
        };
        if let Some((c, s)) = &chat {
            self.check_refs(&Value::String(c.clone()), defined, s.clone());
        }
        let action_span = actions[0].1.clone();

        let action = if let Some(login) = &raw.login {
            let subscriptions = raw
                .subscribe
                .as_ref()
                .map_or_else(|| DEFAULT_SUBSCRIPTIONS.iter().map(|s| (*s).to_owned()).collect(), |s| s.value.clone());
            Action::Login {
                agent: login.value.clone(),
                ready: raw.ready.as_ref().is_none_or(|r| r.value),
                subscriptions,
            }
        } else if let Some(logout) = &raw.logout {
            Action::Logout { agent: logout.value.clone() }
        } else if let Some(op) = &raw.operation {
            if api::operation(&op.value).is_none() {
                let known: Vec<&str> = api::CATALOGUE.iter().map(|o| o.name).collect();
                self.error(self.sp(op), format!("unknown chat operation `{}`", op.value))
                    .notes
                    .push(format!("known: {}; use an `http` step for anything else", known.join(", ")));
            }
            let agent = self.require(agent.clone(), "agent", &action_span, "operation")?;
            let (chat, _) = self.require(chat.clone(), "chat", &action_span, "operation")?;
            Action::Operation { agent, chat, name: op.value.clone(), params: params.clone() }
        } else if let Some(body) = &raw.request_chat {
            let customer = self.require(customer.clone(), "customer", &action_span, "request_chat")?;
            if !body.value.is_object() {
                self.error(self.sp(body), "`request_chat` must be a mapping (nickname, subject, userData, ...)");
            }
            self.check_refs(&body.value, defined, self.sp(body));
            Action::RequestChat { customer, body: body.value.clone() }
        } else if let Some(op) = &raw.customer_operation {
            if !api::CUSTOMER_OPERATIONS.contains(&op.value.as_str()) {
                self.error(self.sp(op), format!("unknown customer operation `{}`", op.value))
                    .notes
                    .push(format!("known: {}", api::CUSTOMER_OPERATIONS.join(", ")));
            }
            let customer = self.require(customer.clone(), "customer", &action_span, "customer_operation")?;
            let (chat, _) = self.require(chat.clone(), "chat", &action_span, "customer_operation")?;
            Action::CustomerOperation { customer, chat, name: op.value.clone(), params: params.clone() }
        } else if let Some(http) = raw.http {
            let via = match (&agent, &customer) {
                (Some(a), None) => Via::Agent(a.clone()),
                (None, Some(c)) => Via::Customer(c.clone()),
                (None, None) => Via::Anonymous,
                (Some(_), Some(_)) => {
                    self.error(action_span.clone(), "an `http` step goes through an agent or a customer, not both");
                    Via::Anonymous
                }
            };
            let request = self.http(http, defined);
            Action::Http { via, request }
        } else if let Some(wait) = raw.wait_for {
            let agent = self.require(agent.clone(), "agent", &action_span, "wait_for")?;
            let wait = self.wait(wait, defined, &defaults)?;
            Action::WaitFor { agent, wait }
        } else if let Some(up) = raw.upload {
            let agent = self.require(agent.clone(), "agent", &action_span, "upload")?;
            let chat = chat.as_ref().map(|(c, _)| c.clone());
            if chat.is_none() && up.value.path.is_none() {
                self.error(action_span.clone(), "`upload` needs `chat` (or an explicit `path`)");
            }
            let upload = self.upload(up, defined)?;
            Action::Upload { agent, chat, upload }
        } else if let Some(path) = raw.download {
            let via = match (&agent, &customer) {
                (Some(a), None) => Via::Agent(a.clone()),
                (None, Some(c)) => Via::Customer(c.clone()),
                _ => {
                    self.error(action_span.clone(), "a `download` goes through one `agent` or one `customer`");
                    return None;
                }
            };
            self.check_refs(&Value::String(path.value.clone()), defined, self.sp(&path));
            Action::Download { via, path: path.value }
        } else if let Some(t) = raw.read_transcript {
            let customer = self.require(customer.clone(), "customer", &action_span, "read_transcript")?;
            self.transcript(customer, t, defined, &defaults)?
        } else {
            return None;
        };

        let mut response_blocks = [None, None];
        for (ix, (key, block)) in [("expect", raw.expect), ("profile", raw.profile)].into_iter().enumerate() {
            let Some(e) = block else { continue };
            if matches!(action, Action::Login { .. } | Action::Logout { .. } | Action::WaitFor { .. }) {
                self.error(self.sp(&e), format!("`{key}` does not apply to a `{}` step", action.kind())).notes.push(
                    format!("`{key}` checks an HTTP response; use `notifications` or `wait_for` for notifications"),
                );
            }
            response_blocks[ix] = self.expect(e, defined, &defaults, key == "profile");
        }
        let [expect, profile] = response_blocks;
        if let Some((_, span)) = profile.as_ref().and_then(|p| p.refused.as_ref()) {
            self.error(span.clone(), "`refused` belongs in `expect`: a refusal is documented or not asked for");
        }
        let notifications = match raw.notifications {
            Some(n) => {
                let needs_agent = !matches!(action, Action::Operation { .. });
                if needs_agent && agent.is_none() {
                    self.error(self.sp(&n), "`notifications` needs an `agent` to watch");
                }
                if matches!(action, Action::WaitFor { .. }) {
                    self.error(self.sp(&n), "a `wait_for` step already waits; put the matchers in it");
                }
                self.wait(n, defined, &defaults)
            }
            None => None,
        };
        let continue_on_failure = raw.continue_on_failure.as_ref().is_some_and(|c| c.value);
        let guard = raw.guard.map(|g| {
            let span = self.sp(&g);
            if g.value.is_empty() {
                self.error(span.clone(), "an empty `guard`")
                    .notes
                    .push("give what the rest of the scenario rests on, e.g. `status: {$gte: 200, $lt: 300}`".into());
            }
            Guard { span, fields: self.matchers(g.value, defined) }
        });
        let captures = raw
            .capture
            .iter()
            .map(|(var, path)| {
                if let Err(e) = matcher::check_path(&path.value) {
                    self.error(self.sp(path), e);
                }
                self.check_refs(&Value::String(path.value.clone()), defined, self.sp(path));
                Capture {
                    var: var.clone(),
                    path: path.value.clone(),
                    span: self.sp(path),
                    source: defaults.source.clone(),
                }
            })
            .collect();

        Some(Step {
            name,
            span,
            action,
            expect,
            profile,
            notifications,
            continue_on_failure,
            guard,
            watch_agent: agent,
            captures,
        })
    }

    fn require<T>(&mut self, v: Option<T>, field: &str, span: &Span, action: &str) -> Option<T> {
        if v.is_none() {
            self.error(span.clone(), format!("`{action}` needs `{field}`"));
        }
        v
    }

    fn http(&mut self, raw: Spanned<RawHttp>, defined: &HashSet<String>) -> HttpSpec {
        let raw = raw.value;
        let method = raw.method.as_ref().map_or_else(
            || if raw.body.is_some() { "POST".to_owned() } else { "GET".to_owned() },
            |m| m.value.to_ascii_uppercase(),
        );
        if let Some(m) = &raw.method
            && !["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].contains(&method.as_str())
        {
            self.error(self.sp(m), format!("unknown HTTP method `{}`", m.value));
        }
        if !raw.path.value.starts_with('/') && !raw.path.value.starts_with("${") {
            self.error(self.sp(&raw.path), format!("path must start with `/`, found `{}`", raw.path.value));
        }
        self.check_refs(&Value::String(raw.path.value.clone()), defined, self.sp(&raw.path));
        if let Some(b) = &raw.body {
            self.check_refs(b, defined, self.sp(&raw.path));
        }
        if let Some(schema) = &raw.schema {
            if raw.body.is_none() {
                self.error(self.sp(schema), "`schema` checks the body this step sends, and it sends none");
            }
            if schema.value.trim().is_empty() {
                self.error(self.sp(schema), "`schema` names no schema");
            }
        }
        HttpSpec {
            method,
            path: raw.path.value,
            body: raw.body,
            headers: raw.headers.into_iter().collect(),
            auth: raw.auth.unwrap_or(true),
            csrf: raw.csrf.unwrap_or(true),
            schema: raw.schema.map(|s| s.value),
        }
    }

    /// An `expect` block (documented unless its source says `profile`) or a `profile` block
    /// (always observations; `why` says why the docs do not settle it).
    fn expect(
        &mut self,
        raw: Spanned<RawExpect>,
        defined: &HashSet<String>,
        defaults: &StepDefaults,
        profile: bool,
    ) -> Option<ResponseExpect> {
        let span = self.sp(&raw);
        let raw = raw.value;
        let source = if profile {
            if let Some(s) = &raw.source {
                self.error(self.sp(s), "a `profile` block takes `why`, not `source`");
            }
            match &raw.why {
                Some(why) if !why.value.trim().is_empty() => format!("{PROFILE}: {}", why.value.trim()),
                _ => PROFILE.to_owned(),
            }
        } else {
            if let Some(w) = &raw.why {
                self.error(self.sp(w), "`why` belongs in a `profile` block")
                    .notes
                    .push("an `expect` block names its evidence with `source` (a page, or `profile: why`)".into());
            }
            match &raw.source {
                Some(s) => self.source(s),
                None => defaults.source.clone(),
            }
        };
        let refused = raw.refused.as_ref().map(|r| (r.value.clone(), self.sp(r)));
        if let Some((codes, rspan)) = &refused {
            if codes.is_empty() || codes.iter().any(|c| *c <= 0) {
                self.error(rspan.clone(), "`refused` lists the statusCodes (above 0) a refusal may carry");
            }
            if raw.status.is_some() {
                self.error(rspan.clone(), "`refused` and `status` together: a refusal's HTTP status is not documented")
                    .notes
                    .push("GWS documents the statusCode, not the HTTP status of a refused request (digest §5)".into());
            }
        }
        let status = raw.status.as_ref().map(|s| {
            let span = self.sp(s);
            self.status(&s.value, defined, span.clone());
            (s.value.clone(), span)
        });
        let block = ResponseExpect {
            source,
            status,
            refused,
            body: raw.body.map(|m| self.matchers(m, defined)).unwrap_or_default(),
            headers: raw.headers.map(|m| self.matchers(m, defined)).unwrap_or_default(),
            file: raw.file.map(|m| self.matchers(m, defined)).unwrap_or_default(),
        };
        let empty = block.status.is_none()
            && block.refused.is_none()
            && block.body.is_empty()
            && block.headers.is_empty()
            && block.file.is_empty();
        if empty {
            self.error(span, "an empty expectation block")
                .notes
                .push("give status, refused, body, headers or file".into());
        }
        Some(block)
    }

    /// `read_transcript: {chat, until, within}` through a customer.
    fn transcript(
        &mut self,
        customer: String,
        raw: Spanned<RawTranscript>,
        defined: &HashSet<String>,
        defaults: &StepDefaults,
    ) -> Option<Action> {
        let raw = raw.value;
        self.check_refs(&Value::String(raw.chat.value.clone()), defined, self.sp(&raw.chat));
        let within = match &raw.within {
            Some(w) => match parse_duration(&w.value) {
                Ok(d) => d,
                Err(e) => {
                    self.error(self.sp(w), e);
                    DEFAULT_WITHIN
                }
            },
            None => DEFAULT_WITHIN,
        };
        let until = raw.until.map(|u| {
            let span = self.sp(&u);
            if let Err(e) = matcher::check_expected(&u.value) {
                self.error(span.clone(), e);
            }
            self.check_refs(&u.value, defined, span.clone());
            TranscriptUntil { value: u.value, span, source: defaults.source.clone() }
        });
        Some(Action::ReadTranscript { customer, chat: raw.chat.value, until, within })
    }

    fn upload(&mut self, raw: Spanned<RawUpload>, defined: &HashSet<String>) -> Option<UploadStep> {
        let span = self.sp(&raw);
        let raw = raw.value;
        let (source, default_name) = match (raw.file, raw.generate) {
            (Some(file), None) => {
                let dir = Path::new(self.file).parent().unwrap_or(Path::new("."));
                let path = dir.join(&file.value);
                if !path.is_file() {
                    self.error(self.sp(&file), format!("no such file: {}", path.display()))
                        .notes
                        .push("`file` is relative to the scenario file".into());
                }
                let name =
                    path.file_name().map_or_else(|| "upload.bin".to_owned(), |n| n.to_string_lossy().into_owned());
                (FileSource::Disk(path), name)
            }
            (None, Some(generate)) => {
                let size = match parse_size(&generate.value.size.value) {
                    Ok(n) => n,
                    Err(e) => {
                        self.error(self.sp(&generate.value.size), e);
                        0
                    }
                };
                (FileSource::Generate { size, seed: generate.value.seed.unwrap_or(1) }, "generated.bin".to_owned())
            }
            _ => {
                self.error(span, "an upload takes either `file` or `generate`");
                return None;
            }
        };
        if let Some(p) = &raw.path {
            self.check_refs(&Value::String(p.value.clone()), defined, self.sp(p));
        }
        let name = raw.name.unwrap_or(default_name);
        let mime = raw.mime.unwrap_or_else(|| mime_for(&name).to_owned());
        Some(UploadStep {
            path: raw.path.map(|p| p.value),
            field: raw.field.unwrap_or_else(|| "attachment".into()),
            name,
            mime,
            source,
        })
    }

    /// `status`: an HTTP status, or one `${variable}` that will hold one (`tegsoft.success.status`).
    fn status(&mut self, value: &Value, defined: &HashSet<String>, span: Span) {
        match value {
            Value::Number(n) if n.as_u64().is_some_and(|n| (100..=599).contains(&n)) => {}
            Value::String(text) if text.trim().starts_with("${") && references(text).len() == 1 => {
                self.check_refs(value, defined, span);
            }
            other => {
                self.error(
                    span,
                    format!("`status` is an HTTP status (100 to 599) or a `${{variable}}`, found {other}"),
                );
            }
        }
    }

    fn matchers(&mut self, m: Matchers, defined: &HashSet<String>) -> Vec<Expectation> {
        m.into_iter()
            .map(|(path, value)| {
                let span = self.sp(&value);
                if let Err(e) = matcher::check_path(&path).and_then(|()| matcher::check_expected(&value.value)) {
                    self.error(span.clone(), e);
                }
                self.check_refs(&Value::String(path.clone()), defined, span.clone());
                self.check_refs(&value.value, defined, span.clone());
                Expectation { path, value: value.value, span }
            })
            .collect()
    }

    fn wait(
        &mut self,
        raw: Spanned<RawWait>,
        defined: &HashSet<String>,
        defaults: &StepDefaults,
    ) -> Option<NotificationExpect> {
        let span = self.sp(&raw);
        let raw = raw.value;
        let source = match &raw.source {
            Some(s) => self.source(s),
            None => defaults.source.clone(),
        };
        let within = match &raw.within {
            Some(w) => match parse_duration(&w.value) {
                Ok(d) => d,
                Err(e) => {
                    self.error(self.sp(w), e);
                    DEFAULT_WITHIN
                }
            },
            None => DEFAULT_WITHIN,
        };
        let ordered = match &raw.order {
            None => true,
            Some(o) if o.value == "strict" => true,
            Some(o) if o.value == "any" => false,
            Some(o) => {
                self.error(self.sp(o), format!("`order` is `strict` or `any`, found `{}`", o.value));
                true
            }
        };
        let mut items = Vec::new();
        match (raw.single, raw.expect) {
            (Some(one), None) => items.push(one),
            (None, Some(list)) => items.extend(list),
            (Some(one), Some(_)) => {
                self.error(self.sp(&one), "give either `match` (one notification) or `expect` (a list), not both");
                return None;
            }
            (None, None) => {
                self.error(span, "a notification wait needs `match` or `expect`");
                return None;
            }
        }
        let items = items
            .into_iter()
            .map(|m| NotificationMatcher { span: self.sp(&m), fields: self.matchers(m.value, defined) })
            .collect();
        Some(NotificationExpect {
            source,
            within,
            ordered,
            channel: raw.channel.map_or_else(|| api::CHANNEL_CHATS.to_owned(), |c| c.value),
            items,
            span,
        })
    }

    fn check_refs(&mut self, v: &Value, defined: &HashSet<String>, span: Span) {
        let mut refs = Vec::new();
        references_in(v, &mut refs);
        for r in refs {
            if !defined.contains(&r) {
                self.error(span.clone(), format!("undefined variable `{r}`"))
                    .notes
                    .push("define it under `vars`, capture it in an earlier step, or use a built-in (run_id, scenario, base_url, <agent>.username, <agent>.user_id, <agent>.uri, tegsoft.*)".into());
            }
        }
    }
}

/// Variables referenced by a string (re-exported for the runner's messages).
pub fn referenced(s: &str) -> Vec<String> {
    references(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name: accept
vars:
  tag: "t-${run_id}"
steps:
  - name: login
    login: a1
  - name: ask
    customer: c1
    request_chat: { nickname: P, userData: { probe: "${tag}" } }
    capture: { cust: body.id }
  - name: offered
    agent: a1
    wait_for:
      within: 2s
      match: { notificationType: StatusChange, chat.state: Invited }
    capture: { chat: notification.chat.id }
  - name: accept
    agent: a1
    operation: Accept
    chat: "${chat}"
    expect:
      status: 200
      body: { statusCode: 0 }
    notifications:
      expect:
        - notificationType: StatusChange
        - notificationType: ParticipantsUpdated
"#;

    #[test]
    fn parses_a_full_scenario() {
        let s = parse_str("a.yaml", GOOD).unwrap();
        assert_eq!(s.agents, vec!["a1"]);
        assert_eq!(s.customers, vec!["c1"]);
        assert_eq!(s.steps.len(), 4);
        let Action::Operation { name, chat, .. } = &s.steps[3].action else { panic!("not an op") };
        assert_eq!((name.as_str(), chat.as_str()), ("Accept", "${chat}"));
        let n = s.steps[3].notifications.as_ref().unwrap();
        assert_eq!(n.items.len(), 2);
        assert!(n.ordered);
        assert_eq!(s.steps[2].span.line, 12);
        assert_eq!(s.steps[3].expect.as_ref().unwrap().body[0].span.line, 24);
    }

    #[test]
    fn yaml_error_has_line_and_column() {
        let d = parse_str("bad.yaml", "name: x\nsteps:\n  - name: [oops\n").unwrap_err();
        assert_eq!(d[0].span.file, "bad.yaml");
        assert_eq!(d[0].span.line, 3);
        assert!(d[0].span.column > 0);
    }

    #[test]
    fn unknown_field_is_located() {
        let d = parse_str("u.yaml", "name: x\nsteps:\n  - login: a1\n    bogus: 1\n").unwrap_err();
        assert_eq!((d[0].span.line, d[0].span.column), (4, 5));
        assert!(d[0].title.contains("bogus"), "{}", d[0].title);
    }

    #[test]
    fn semantic_errors_are_all_reported() {
        let text = "name: x\nsteps:\n  - agent: a1\n    operation: Acept\n    chat: \"${nochat}\"\n  - login: a1\n    logout: a1\n";
        let d = parse_str("s.yaml", text).unwrap_err();
        let titles: Vec<&str> = d.iter().map(|d| d.title.as_str()).collect();
        assert!(titles.iter().any(|t| t.contains("undefined variable `nochat`")), "{titles:?}");
        assert!(titles.iter().any(|t| t.contains("unknown chat operation `Acept`")), "{titles:?}");
        assert!(titles.iter().any(|t| t.contains("more than one action")), "{titles:?}");
    }

    #[test]
    fn shipped_scenarios_parse() {
        fn walk(dir: &Path, n: &mut usize) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, n);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    if let Err(diags) = parse_file(&path) {
                        panic!("{}", diags.iter().map(ToString::to_string).collect::<String>());
                    }
                    *n += 1;
                }
            }
        }
        let mut n = 0;
        // scenarios/load holds load files, a format of their own.
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/conformance"), &mut n);
        assert!(n >= 6, "only {n} scenarios");
    }
}
