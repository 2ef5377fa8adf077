//! `http`: any request, through an agent's session, a customer's client, or anonymously.
//! Transcript pages it reads feed the transcript rules, and a customer's pages the merged
//! transcript `read_transcript` continues. A step that names the documented shape of its request
//! (`schema`) has its body checked against it before anything is sent.

use serde_json::Value;

use super::{Output, StepError, exchange_output, observe, origin, resolve, resolve_str, transport, who};
use crate::client::{Exchange, RawRequest};
use crate::contract::observe::Origin;
use crate::contract::rules;
use crate::runner::RunConfig;
use crate::runner::actors::{Actors, Sink};
use crate::runner::result::Check;
use crate::scenario::vars::Vars;
use crate::scenario::{HttpSpec, Step, Via};

pub async fn run(
    st: &Step,
    via: &Via,
    request: &HttpSpec,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
    let path = resolve_str(&request.path, vars)?;
    let body = request.body.as_ref().map(|b| resolve(b, vars)).transpose()?;
    let mut headers = Vec::with_capacity(request.headers.len());
    for (k, v) in &request.headers {
        headers.push((k.clone(), resolve_str(v, vars)?));
    }
    let subject = format!("{}: {} {path}", who(via), request.method);
    if let (Some(schema), Some(body)) = (&request.schema, &body) {
        request_shape(cfg, schema, body, &subject, sink)?;
    }
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
            let csrf_held = a.session.csrf_token().is_some();
            let ex = a.session.request(raw.clone()).await.map_err(|e| transport(e, sink, &subject))?;
            if csrf_held && !raw.with_csrf {
                sink.checks.extend(crate::runner::expect::csrf_check(&raw, &ex, &subject));
            }
            ex
        }
        Via::Customer(c) => {
            let c = actors.customer(c, cfg).map_err(|e| transport(e, sink, &subject))?;
            c.client.request(raw).await.map_err(|e| transport(e, sink, &subject))?
        }
        Via::Anonymous => {
            let anon = crate::client::AgentSession::new(&cfg.target.base_url, "", "", &cfg.client)
                .map_err(|e| transport(e, sink, &subject))?;
            anon.request(RawRequest { with_auth: false, with_csrf: false, ..raw })
                .await
                .map_err(|e| transport(e, sink, &subject))?
        }
    };
    sink.record(&cfg.schemas, &ex);
    observe_page(actors, via, &ex, asked_at, origin(st));
    Ok(exchange_output(ex, subject))
}

/// `shape.request`: the body has the documented shape the step names. One that does not would
/// make what the step proves rest on nothing the page says, so it is not sent.
fn request_shape(cfg: &RunConfig, schema: &str, body: &Value, subject: &str, sink: &mut Sink) -> Result<(), StepError> {
    let rule = &rules::SHAPE_REQUEST;
    let subject = format!("{subject} (the request chatprobe sends)");
    let broken = match cfg.schemas.validate(schema, body) {
        Ok(violations) if violations.is_empty() => {
            sink.checks.push(Check::pass(rule, &subject, format!("the body has the documented shape `{schema}`")));
            return Ok(());
        }
        Ok(violations) => violations
            .iter()
            .map(|v| format!("at {}: {}", if v.instance_path.is_empty() { "/" } else { &v.instance_path }, v.message))
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => e.to_string(),
    };
    let message = format!("the body this step sends is not the documented shape `{schema}`: {broken}");
    sink.checks.push(
        Check::fail(rule, &subject, message.clone())
            .expected_actual(schema.to_owned(), crate::runner::validate::snippet(&body.to_string())),
    );
    Err(StepError::Failed(format!("{message}; the request was not sent (fix the scenario)")))
}

/// Transcript pages read by an agent or a customer feed the transcript rules; a customer's page
/// is merged into what that customer has read of the chat.
fn observe_page(actors: &mut Actors, via: &Via, ex: &Exchange, asked_at: std::time::Instant, origin: Origin) {
    if ex.method != "GET" {
        return;
    }
    let Some(messages) = ex.json.as_ref().and_then(|b| b.get("messages")).and_then(Value::as_array) else { return };
    let Some(rest) = ex.path.find("/api/v2/").map(|i| &ex.path[i + "/api/v2/".len()..]) else { return };
    let rest = rest.split_once('?').map_or(rest, |(p, _)| p);
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (via, parts.as_slice()) {
        (Via::Agent(agent), ["me", "chats", chat, "messages"]) => {
            observe(actors, |o| o.agent_page(agent, chat, messages, origin))
        }
        (Via::Customer(customer), ["chats", chat, "messages"]) => {
            if let Some(c) = actors.customers.get_mut(customer) {
                c.transcript(chat).merge(messages);
            }
            observe(actors, |o| o.customer_page(customer, chat, messages, asked_at, origin))
        }
        _ => {}
    }
}
