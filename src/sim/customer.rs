//! The customer's HTTP endpoints (the GWS Customer Chat API): RequestChat, the chat as the
//! customer sees it, its transcript, and the customer's operations. No credentials; every
//! request names its contact centre in the `ContactCenterId` header.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Sim;
use super::agent::{host, number};
use super::engine::ChatRequest;
use super::reply::{SimError, operation_name, opt_str, parse_object, req_str, success};
use crate::api;

/// The request's ContactCenterId: missing is the documented refusal, and one other than the
/// simulator's required value (`--contact-center-id`) is refused as forbidden.
fn contact_center<'h>(sim: &Sim, headers: &'h HeaderMap) -> Result<&'h str, SimError> {
    let name = api::CONTACT_CENTER_ID_HEADER;
    let value = headers
        .get(name)
        .ok_or_else(|| SimError::MissingParameter(format!("{name} header is missing")))?
        .to_str()
        .map_err(|_| SimError::Validation(format!("{name} header is not visible ASCII")))?;
    match &sim.config.contact_center_id {
        Some(required) if required != value => Err(SimError::Forbidden(format!("{name} is not this contact center"))),
        _ => Ok(value),
    }
}

/// A customer's request on its chat: it must name the contact centre the chat was requested
/// in. Another contact centre's chat is as unknown as one that does not exist.
pub(crate) fn own_chat(sim: &Sim, headers: &HeaderMap, customer_id: &str) -> Result<(), SimError> {
    let centre = contact_center(sim, headers)?;
    let same = sim.with(|st| st.contact_centres.get(customer_id).is_some_and(|c| c == centre));
    if same { Ok(()) } else { Err(SimError::NotFound(format!("Chat {customer_id} not found"))) }
}

fn respond(result: Result<Value, SimError>) -> Response {
    match result {
        Ok(fields) => success(fields),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v2/chats`: RequestChat.
pub(crate) async fn request_chat(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let host = host(&headers);
    respond((|| {
        let centre = contact_center(&sim, &headers)?.to_owned();
        let body = parse_object(&body)?;
        match operation_name(&body)? {
            "RequestChat" => {}
            other => return Err(SimError::MissingParameter(format!("Unknown operationName: {other}"))),
        }
        let user_data = match body.get("userData") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(SimError::Validation("userData must be an object".into())),
        };
        let request = ChatRequest {
            nickname: req_str(&body, "nickname")?.to_owned(),
            subject: opt_str(&body, "subject")?.map(str::to_owned),
            endpoint: opt_str(&body, "endpoint")?.map(str::to_owned),
            user_data,
        };
        let id = sim.with(|st| {
            for gone in st.engine.reap(&host) {
                st.contact_centres.remove(&gone);
            }
            let id = st.engine.request_chat(request, &host);
            st.contact_centres.insert(id.clone(), centre);
            id
        });
        Ok(json!({"id": id, "path": format!("/api/v2/chats/{id}")}))
    })())
}

/// `GET /api/v2/chats/{id}`.
pub(crate) async fn chat(State(sim): State<Arc<Sim>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    respond(
        own_chat(&sim, &headers, &id)
            .and_then(|()| sim.with(|st| st.engine.customer_chat(&id)).map(|chat| json!({"chat": chat}))),
    )
}

/// `GET /api/v2/chats/{id}/messages?index=N`: messages from index N on.
pub(crate) async fn messages(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        own_chat(&sim, &headers, &id)?;
        let from = number(&query, "index")?;
        let messages = sim.with(|st| st.engine.customer_messages(&id, from))?;
        Ok(json!({"messages": messages}))
    })())
}

/// `POST /api/v2/chats/{id}`: SendMessage, typing notifications, Complete.
pub(crate) async fn operation(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = host(&headers);
    respond((|| {
        own_chat(&sim, &headers, &id)?;
        let body = parse_object(&body)?;
        sim.with(|st| st.engine.customer_operation(&id, &body, &host))?;
        Ok(json!({}))
    })())
}
