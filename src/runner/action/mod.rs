//! The actions a step can take, one module per kind, each with one entry function. An action
//! sends what the step asks for, validates every exchange by the automatic rules, feeds the
//! stateful observer, and hands the step its [`Output`] for expectations and captures.

mod files;
mod http;
mod operation;
pub mod transcript;

use serde_json::{Map, Value, json};

use super::RunConfig;
use super::actors::{Actors, Sink};
use super::expect::exchange_context;
use super::result::{Abort, Check};
use crate::client::Exchange;
use crate::contract::observe::{Observer, Origin};
use crate::contract::rules;
use crate::scenario::vars::{Vars, interpolate, interpolate_to_string};
use crate::scenario::{Action, Step};

/// What the action left for expectations and captures.
pub struct Output {
    pub exchange: Option<Exchange>,
    /// `status`, `headers`, `body`, and what the action adds (`upload`, `file`...).
    pub context: Value,
    pub subject: String,
}

pub enum StepError {
    /// The step could not complete (transport failure, bad request...).
    Failed(String),
    /// It could not run at all: a value it needs was never provided by an earlier step.
    Skip(String),
    Abort(Abort),
}

/// Perform the step's action.
pub async fn act(
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
            Ok(me.map(|ex| exchange_output(ex, format!("login of {agent}"))))
        }
        Action::Logout { agent } => {
            actors.logout(agent, cfg, sink).await;
            Ok(None)
        }
        Action::Operation { agent, chat, name, params } => {
            operation::agent(st, agent, chat, name, params, actors, vars, cfg, sink).await.map(Some)
        }
        Action::RequestChat { customer, body } => {
            operation::request_chat(customer, body, actors, vars, cfg, sink).await.map(Some)
        }
        Action::CustomerOperation { customer, chat, name, params } => {
            operation::customer(st, customer, chat, name, params, actors, vars, cfg, sink).await.map(Some)
        }
        Action::Http { via, request } => http::run(st, via, request, actors, vars, cfg, sink).await.map(Some),
        Action::Upload { agent, chat, upload } => {
            files::upload(agent, chat.as_deref(), upload, actors, vars, cfg, sink).await.map(Some)
        }
        Action::Download { via, path } => files::download(via, path, actors, vars, cfg, sink).await.map(Some),
        Action::ReadTranscript { customer, chat, until, within } => {
            transcript::read(st, customer, chat, until.as_ref(), *within, actors, vars, cfg, sink).await.map(Some)
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

pub fn origin(st: &Step) -> Origin {
    Origin { step: st.name.clone(), span: Some(st.span.clone()) }
}

pub fn observe(actors: &Actors, f: impl FnOnce(&mut Observer)) {
    f(&mut actors.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
}

/// A value the step needs, with its variables applied; an undefined variable means an earlier
/// step could not capture it, and this step cannot run.
pub fn resolve(v: &Value, vars: &Vars) -> Result<Value, StepError> {
    interpolate(v, vars).map_err(|name| StepError::Skip(undefined(&name)))
}

pub fn resolve_str(s: &str, vars: &Vars) -> Result<String, StepError> {
    interpolate_to_string(s, vars).map_err(|name| StepError::Skip(undefined(&name)))
}

fn undefined(name: &str) -> String {
    format!("it needs `{name}`, which no earlier step could provide")
}

/// A transport failure: a failed `transport` check and the step's error.
pub fn transport(e: impl std::fmt::Display, sink: &mut Sink, subject: &str) -> StepError {
    sink.checks.push(Check::fail(&rules::TRANSPORT, subject, e.to_string()));
    StepError::Failed(format!("{subject}: {e}"))
}

/// `{"operationName": name, ...params}`.
pub fn with_operation(name: &str, params: &Value) -> Value {
    let mut body = Map::new();
    body.insert("operationName".into(), Value::String(name.to_owned()));
    if let Value::Object(p) = params {
        body.extend(p.clone());
    }
    Value::Object(body)
}

pub fn exchange_output(ex: Exchange, subject: String) -> Output {
    Output { context: exchange_context(&ex), exchange: Some(ex), subject }
}

/// Who a request goes through, for subjects.
pub fn who(via: &crate::scenario::Via) -> &str {
    match via {
        crate::scenario::Via::Agent(a) | crate::scenario::Via::Customer(a) => a.as_str(),
        crate::scenario::Via::Anonymous => "anonymous",
    }
}
