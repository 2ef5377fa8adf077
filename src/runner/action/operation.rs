//! `operation` (an agent's chat operation), `request_chat` and `customer_operation`.

use serde_json::{Value, json};

use super::{Output, StepError, exchange_output, observe, origin, resolve, resolve_str, transport, with_operation};
use crate::contract::observe::AgentOperation;
use crate::runner::RunConfig;
use crate::runner::actors::{Actors, Sink, status_code};
use crate::scenario::Step;
use crate::scenario::vars::Vars;

/// POST /api/v2/me/chats/{chat} `{"operationName": name, ...params}`.
#[expect(clippy::too_many_arguments, reason = "the step's fields, passed apart")]
pub async fn agent(
    st: &Step,
    agent: &str,
    chat: &str,
    name: &str,
    params: &Value,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
    let chat = resolve_str(chat, vars)?;
    let body = with_operation(name, &resolve(params, vars)?);
    let subject = format!("{agent}: POST /api/v2/me/chats/{chat} {name}");
    let a = actors.agent(agent, cfg).map_err(|e| transport(e, sink, &subject))?;
    let sent_at = std::time::Instant::now();
    let ex =
        a.session.post(&format!("/api/v2/me/chats/{chat}"), &body).await.map_err(|e| transport(e, sink, &subject))?;
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
            answered_at: std::time::Instant::now(),
            origin: origin(st),
        })
    });
    Ok(exchange_output(ex, subject))
}

/// POST /api/v2/chats RequestChat.
pub async fn request_chat(
    customer: &str,
    body: &Value,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
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
    Ok(exchange_output(ex, subject))
}

/// POST /api/v2/chats/{chat} with a customer operation.
#[expect(clippy::too_many_arguments, reason = "the step's fields, passed apart")]
pub async fn customer(
    st: &Step,
    customer: &str,
    chat: &str,
    name: &str,
    params: &Value,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
    let chat = resolve_str(chat, vars)?;
    let body = with_operation(name, &resolve(params, vars)?);
    let subject = format!("{customer}: POST /api/v2/chats/{chat} {name}");
    let c = actors.customer(customer, cfg).map_err(|e| transport(e, sink, &subject))?;
    let sent_at = std::time::Instant::now();
    let ex = c.client.operation(&chat, &body).await.map_err(|e| transport(e, sink, &subject))?;
    sink.record(&cfg.schemas, &ex);
    if status_code(&ex) == Some(0) {
        observe(actors, |o| o.customer_operation(customer, &chat, name, &body, sent_at, origin(st)));
    }
    Ok(exchange_output(ex, subject))
}
