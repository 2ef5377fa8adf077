//! Running one step: perform its action, then check its expectations and apply its captures.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::RunConfig;
use super::actors::{Actors, Sink};
use super::expect::{apply_captures, exchange_context, file_checks, notification_checks, response_checks};
use super::result::{Abort, Check, StepResult};
use crate::client::files::{self, Downloader, UploadSource, UploadSpec};
use crate::client::{Exchange, RawRequest};
use crate::contract::observe::{AgentOperation, Observer, Origin};
use crate::contract::rules;
use crate::scenario::vars::{Vars, interpolate, interpolate_to_string};
use crate::scenario::{Action, FileSource, Step, Via};

/// A step that did not run because an earlier one failed.
pub fn skipped(st: &Step) -> StepResult {
    StepResult {
        name: st.name.clone(),
        kind: st.action.kind(),
        span: st.span.clone(),
        duration: Default::default(),
        counts: Default::default(),
        checks: Vec::new(),
        error: None,
        skipped: true,
    }
}

/// A stateful rule's violation as a failed check, placed at the step that caused it.
pub fn violation_check(v: crate::contract::observe::Violation) -> Check {
    let (span, message) = match &v.origin {
        Some(o) => (o.span.clone(), format!("{} (from step `{}`)", v.message, o.step)),
        None => (None, v.message),
    };
    Check::fail(v.rule, v.subject, message).at(span).expected_actual(v.expected, v.actual)
}

/// What the action left for expectations and captures.
struct Output {
    exchange: Option<Exchange>,
    context: Value,
    subject: String,
}

pub async fn run(st: &Step, actors: &mut Actors, vars: &mut Vars, cfg: &RunConfig) -> (StepResult, Option<Abort>) {
    let started = Instant::now();
    let mut sink = Sink::default();
    let mut error = None;
    let mut abort = None;

    // The agent whose notifications this step watches, and where "after the action" starts.
    let watcher = match &st.action {
        Action::Operation { agent, .. } | Action::WaitFor { agent, .. } => Some(agent.clone()),
        Action::Http { via: Via::Agent(a), .. } | Action::Download { via: Via::Agent(a), .. } => Some(a.clone()),
        Action::Upload { agent, .. } => Some(agent.clone()),
        _ => st.watch_agent.clone(),
    };
    let floor = watcher.as_ref().and_then(|a| actors.agents.get(a)).map_or(0, |a| a.inbox.mark());

    match act(st, actors, vars, cfg, &mut sink).await {
        Ok(Some(mut out)) => {
            if let (Some(expect), Some(ex)) = (&st.expect, &out.exchange) {
                response_checks(expect, ex, &out.subject, vars, &mut sink.checks);
                file_checks(expect, out.context.get("file"), &out.subject, vars, &mut sink.checks);
            }
            let wait = match &st.action {
                Action::WaitFor { wait, .. } => Some(wait),
                _ => st.notifications.as_ref(),
            };
            if let (Some(wait), Some(role)) = (wait, &watcher) {
                if let Some(agent) = actors.agents.get(role) {
                    let floor = if matches!(st.action, Action::WaitFor { .. }) { 0 } else { floor };
                    let matched = notification_checks(&agent.inbox, wait, floor, role, vars, &mut sink.checks).await;
                    if let Value::Object(cx) = &mut out.context {
                        cx.insert("notification".into(), matched.first().cloned().unwrap_or(Value::Null));
                        cx.insert("notifications".into(), Value::Array(matched));
                    }
                } else {
                    error = Some(format!("agent `{role}` has not logged in: it receives no notifications"));
                }
            }
            if error.is_none() {
                apply_captures(&st.captures, &out.context, &out.subject, vars, &mut sink.checks);
            }
        }
        Ok(None) => {}
        Err(StepError::Failed(message)) => error = Some(message),
        Err(StepError::Abort(a)) => {
            error = Some(a.message.clone());
            abort = Some(a);
        }
    }

    // Stateful rules: what broke during the step, or whose deadline passed by now.
    let violations = {
        let mut o = actors.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        o.poll(std::time::Instant::now());
        o.take()
    };
    sink.checks.extend(violations.into_iter().map(violation_check));

    // Whatever the agents' CometD clients saw during the step is this step's.
    for agent in actors.agents.values() {
        let (checks, counts) = agent.inbox.drain();
        sink.checks.extend(checks);
        sink.counts.add(&counts);
    }
    for c in sink.checks.iter_mut() {
        if c.span.is_none() && !c.passed {
            c.span = Some(st.span.clone());
        }
    }
    sink.counts.checks_passed = sink.checks.iter().filter(|c| c.passed).count() as u64;
    sink.counts.checks_failed = sink.checks.iter().filter(|c| !c.passed).count() as u64 + u64::from(error.is_some());
    let result = StepResult {
        name: st.name.clone(),
        kind: st.action.kind(),
        span: st.span.clone(),
        duration: started.elapsed(),
        counts: sink.counts,
        checks: sink.checks,
        error,
        skipped: false,
    };
    (result, abort)
}

fn origin(st: &Step) -> Origin {
    Origin { step: st.name.clone(), span: Some(st.span.clone()) }
}

fn observe(actors: &Actors, f: impl FnOnce(&mut Observer)) {
    f(&mut actors.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
}

/// Transcript pages read by an agent or a customer feed the transcript rules.
fn observe_page(actors: &Actors, via: &Via, ex: &Exchange, asked_at: std::time::Instant, origin: Origin) {
    if ex.method != "GET" {
        return;
    }
    let Some(messages) = ex.json.as_ref().and_then(|b| b.get("messages")).and_then(Value::as_array) else { return };
    let Some(rest) = ex.path.find("/api/v2/").map(|i| &ex.path[i + "/api/v2/".len()..]) else { return };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (via, parts.as_slice()) {
        (Via::Agent(agent), ["me", "chats", chat, "messages"]) => {
            observe(actors, |o| o.agent_page(agent, chat, messages, origin))
        }
        (Via::Customer(customer), ["chats", chat, "messages"]) => {
            observe(actors, |o| o.customer_page(customer, chat, messages, asked_at, origin))
        }
        _ => {}
    }
}

enum StepError {
    Failed(String),
    Abort(Abort),
}

fn resolve(v: &Value, vars: &Vars) -> Result<Value, StepError> {
    interpolate(v, vars).map_err(|name| {
        StepError::Failed(format!("variable `{name}` is not defined (the step that captures it failed?)"))
    })
}

fn resolve_str(s: &str, vars: &Vars) -> Result<String, StepError> {
    interpolate_to_string(s, vars).map_err(|name| {
        StepError::Failed(format!("variable `{name}` is not defined (the step that captures it failed?)"))
    })
}

fn transport(e: impl std::fmt::Display, sink: &mut Sink, subject: &str) -> StepError {
    sink.checks.push(Check::fail(&rules::TRANSPORT, subject, e.to_string()));
    StepError::Failed(format!("{subject}: {e}"))
}

fn with_operation(name: &str, params: &Value) -> Value {
    let mut body = Map::new();
    body.insert("operationName".into(), Value::String(name.to_owned()));
    if let Value::Object(p) = params {
        body.extend(p.clone());
    }
    Value::Object(body)
}

fn output(ex: Exchange, subject: String) -> Option<Output> {
    Some(exchange_output(ex, subject))
}

fn exchange_output(ex: Exchange, subject: String) -> Output {
    Output { context: exchange_context(&ex), exchange: Some(ex), subject }
}

async fn act(
    st: &Step,
    actors: &mut Actors,
    vars: &mut Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Option<Output>, StepError> {
    match &st.action {
        Action::Login { agent, ready, subscriptions } => {
            let me = actors.login(agent, *ready, subscriptions, cfg, sink).await.map_err(StepError::Abort)?;
            let user = me.as_ref().and_then(|ex| ex.json.as_ref()).and_then(|b| b.get("user"));
            for (var, field) in [("user_id", "id"), ("uri", "uri")] {
                if let Some(v) = user.and_then(|u| u.get(field)) {
                    vars.insert(format!("{agent}.{var}"), v.clone());
                }
            }
            Ok(me.and_then(|ex| output(ex, format!("login of {agent}"))))
        }
        Action::Logout { agent } => {
            actors.logout(agent, cfg, sink).await;
            Ok(None)
        }
        Action::Operation { agent, chat, name, params } => {
            let chat = resolve_str(chat, vars)?;
            let body = with_operation(name, &resolve(params, vars)?);
            let subject = format!("{agent}: POST /api/v2/me/chats/{chat} {name}");
            let a = actors.agent(agent, cfg).map_err(|e| transport(e, sink, &subject))?;
            let sent_at = std::time::Instant::now();
            let ex = a
                .session
                .post(&format!("/api/v2/me/chats/{chat}"), &body)
                .await
                .map_err(|e| transport(e, sink, &subject))?;
            sink.record(&cfg.schemas, &ex);
            observe(actors, |o| {
                o.agent_operation(AgentOperation {
                    agent,
                    chat: &chat,
                    operation: name,
                    params: &body,
                    status: ex.status,
                    response: ex.json.as_ref(),
                    sent_at,
                    origin: origin(st),
                })
            });
            Ok(output(ex, subject))
        }
        Action::RequestChat { customer, body } => {
            let mut body = resolve(body, vars)?;
            if let Value::Object(map) = &mut body {
                map.entry("operationName").or_insert_with(|| json!("RequestChat"));
            }
            let subject = format!("{customer}: POST /api/v2/chats RequestChat");
            let c = actors.customer(customer, cfg).map_err(|e| transport(e, sink, &subject))?;
            let ex = c.client.request_chat(&body).await.map_err(|e| transport(e, sink, &subject))?;
            sink.record(&cfg.schemas, &ex);
            if let Some(id) = ex.json.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str) {
                c.chats.push(id.to_owned());
                let id = id.to_owned();
                observe(actors, |o| o.customer_request(customer, &id, &body));
            }
            Ok(output(ex, subject))
        }
        Action::CustomerOperation { customer, chat, name, params } => {
            let chat = resolve_str(chat, vars)?;
            let body = with_operation(name, &resolve(params, vars)?);
            let subject = format!("{customer}: POST /api/v2/chats/{chat} {name}");
            let c = actors.customer(customer, cfg).map_err(|e| transport(e, sink, &subject))?;
            let sent_at = std::time::Instant::now();
            let ex = c.client.operation(&chat, &body).await.map_err(|e| transport(e, sink, &subject))?;
            sink.record(&cfg.schemas, &ex);
            if super::actors::status_code(&ex) == Some(0) {
                observe(actors, |o| o.customer_operation(customer, &chat, name, &body, sent_at, origin(st)));
            }
            Ok(output(ex, subject))
        }
        Action::Http { via, request } => {
            let path = resolve_str(&request.path, vars)?;
            let body = request.body.as_ref().map(|b| resolve(b, vars)).transpose()?;
            let mut headers = Vec::with_capacity(request.headers.len());
            for (k, v) in &request.headers {
                headers.push((k.clone(), resolve_str(v, vars)?));
            }
            let who = match via {
                Via::Agent(a) | Via::Customer(a) => a.as_str(),
                Via::Anonymous => "anonymous",
            };
            let subject = format!("{who}: {} {path}", request.method);
            let raw = RawRequest {
                method: request.method.clone(),
                path,
                body,
                headers,
                with_auth: request.auth,
                with_csrf: request.csrf,
            };
            let asked_at = std::time::Instant::now();
            let ex = match via {
                Via::Agent(a) => {
                    let a = actors.agent(a, cfg).map_err(|e| transport(e, sink, &subject))?;
                    a.session.request(raw).await
                }
                Via::Customer(c) => {
                    let c = actors.customer(c, cfg).map_err(|e| transport(e, sink, &subject))?;
                    c.client.request(raw).await
                }
                Via::Anonymous => {
                    let anon = crate::client::AgentSession::new(&cfg.target.base_url, "", "", &cfg.client)
                        .map_err(|e| transport(e, sink, &subject))?;
                    anon.request(RawRequest { with_auth: false, with_csrf: false, ..raw }).await
                }
            }
            .map_err(|e| transport(e, sink, &subject))?;
            sink.record(&cfg.schemas, &ex);
            observe_page(actors, via, &ex, asked_at, origin(st));
            Ok(output(ex, subject))
        }
        Action::Upload { agent, chat, upload } => {
            let path = match (&upload.path, chat) {
                (Some(p), _) => resolve_str(p, vars)?,
                (None, Some(c)) => format!("/api/v2/me/chats/{}/attachments", resolve_str(c, vars)?),
                (None, None) => return Err(StepError::Failed("an upload needs a chat or a path".into())),
            };
            let source = match &upload.source {
                FileSource::Disk(p) => UploadSource::Disk(p.clone()),
                FileSource::Generate { size, seed } => UploadSource::Generated { size: *size, seed: *seed },
            };
            let spec = UploadSpec {
                path: path.clone(),
                field: upload.field.clone(),
                file_name: upload.name.clone(),
                mime: upload.mime.clone(),
                source,
            };
            let subject = format!("{agent}: POST {path} (upload {})", upload.name);
            let a = actors.agent(agent, cfg).map_err(|e| transport(e, sink, &subject))?;
            let (ex, digest) =
                files::upload(&a.session, &spec, &cfg.client).await.map_err(|e| transport(e, sink, &subject))?;
            sink.record(&cfg.schemas, &ex);
            let mut out = exchange_output(ex, subject);
            if let Value::Object(cx) = &mut out.context {
                cx.insert(
                    "upload".into(),
                    json!({"sha256": digest.sha256, "size": digest.size, "name": upload.name, "mime": upload.mime}),
                );
                cx.insert(
                    "file".into(),
                    json!({"sha256": digest.sha256, "size": digest.size, "content_type": upload.mime}),
                );
            }
            Ok(Some(out))
        }
        Action::Download { via, path } => {
            let path = resolve_str(path, vars)?;
            let who = match via {
                Via::Agent(a) | Via::Customer(a) => a.as_str(),
                Via::Anonymous => "anonymous",
            };
            let subject = format!("{who}: GET {path} (download)");
            let result = match via {
                Via::Agent(a) => {
                    let a = actors.agent(a, cfg).map_err(|e| transport(e, sink, &subject))?;
                    files::download(Downloader::Agent(&a.session), &cfg.target.base_url, &path, &cfg.client).await
                }
                Via::Customer(c) => {
                    let c = actors.customer(c, cfg).map_err(|e| transport(e, sink, &subject))?;
                    files::download(Downloader::Customer(&c.client), &cfg.target.base_url, &path, &cfg.client).await
                }
                Via::Anonymous => {
                    return Err(StepError::Failed("a download goes through an agent or a customer".into()));
                }
            };
            let (ex, digest) = result.map_err(|e| transport(e, sink, &subject))?;
            if ex.json.is_some() {
                sink.record(&cfg.schemas, &ex);
            } else {
                sink.counts.requests += 1;
            }
            let content_type = ex.content_type.clone();
            let mut out = exchange_output(ex, subject);
            if let Value::Object(cx) = &mut out.context {
                cx.insert(
                    "file".into(),
                    json!({"sha256": digest.sha256, "size": digest.size, "content_type": content_type}),
                );
            }
            Ok(Some(out))
        }
        Action::WaitFor { agent, .. } => {
            if !actors.agents.contains_key(agent) {
                return Err(StepError::Failed(format!(
                    "agent `{agent}` has not logged in: it receives no notifications"
                )));
            }
            Ok(Some(Output { exchange: None, context: json!({}), subject: format!("notifications to {agent}") }))
        }
    }
}
