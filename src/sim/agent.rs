//! The agent's HTTP endpoints: version, `/api/v2/me` and its contact-centre session, the chat
//! channel's Ready state, the chat list, transcripts and chat operations. Reads authenticate
//! (cookie or Basic) and carry the CSRF headers; writes need the cookie and the CSRF token
//! (unless the `csrf-not-enforced` fault is on).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::HOST;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::{Caller, csrf_refusal};
use super::latitude::ReferenceIdInResponse;
use super::reply::{SimError, operation_name, parse_object, success, success_body};
use super::{Sim, SimState, variant};

/// The version a GWS 8.5.2 server reports.
const VERSION: &str = "8.5.200.50";

/// The request's `Host`, for the `uri` fields of resources.
/// Where the request was sent: its Host, as `https://HOST` when it came through TLS
/// (`X-Forwarded-Proto: https`, as a TLS-terminating proxy says). URIs the simulator hands out
/// are built on it with [`origin`], so they point back the way the client came.
pub(crate) fn host(headers: &HeaderMap) -> String {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    if tls { format!("https://{host}") } else { host.to_owned() }
}

/// `http://HOST`, or the `https://HOST` [`host`] gave for a request that came through TLS.
pub(crate) fn origin(host: &str) -> String {
    if host.contains("://") { host.to_owned() } else { format!("http://{host}") }
}

pub(crate) async fn version() -> Response {
    success(json!({"version": VERSION}))
}

pub(crate) async fn not_found() -> Response {
    SimError::NotFound("Resource not found".into()).into_response()
}

/// An authenticated read: `f` gives the fields next to `statusCode: 0`.
fn read(sim: &Sim, headers: &HeaderMap, f: impl FnOnce(&mut SimState, &Caller) -> Result<Value, SimError>) -> Response {
    sim.with(|st| {
        let caller = match st.sessions.authenticate(headers, &st.engine, &sim.config.password) {
            Ok(caller) => caller,
            Err(refused) => return refused.into_response(),
        };
        let response = match f(st, &caller) {
            Ok(fields) => success(fields),
            Err(e) => e.into_response(),
        };
        caller.decorate(response)
    })
}

/// Why a write was refused.
enum Refusal {
    Csrf,
    Error(SimError),
}

impl From<SimError> for Refusal {
    fn from(e: SimError) -> Self {
        Refusal::Error(e)
    }
}

/// A write: session cookie and CSRF token first (nothing else is looked at without them), then
/// the JSON body, then `f`.
fn write(
    sim: &Sim,
    headers: &HeaderMap,
    body: &[u8],
    f: impl FnOnce(&mut SimState, &Caller, Map<String, Value>) -> Result<Value, SimError>,
) -> Result<Value, Refusal> {
    sim.with(|st| {
        let caller = st.sessions.authorize_write(headers).ok_or(Refusal::Csrf)?;
        let body = parse_object(body)?;
        Ok(f(st, &caller, body)?)
    })
}

fn render(result: Result<Value, Refusal>) -> Response {
    match result {
        Ok(fields) => success(fields),
        Err(Refusal::Csrf) => csrf_refusal(),
        Err(Refusal::Error(e)) => e.into_response(),
    }
}

pub(crate) async fn me(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let host = host(&headers);
    read(&sim, &headers, |st, caller| Ok(json!({"user": st.engine.user_resource(caller.agent, &host)})))
}

/// StartContactCenterSession / EndContactCenterSession.
pub(crate) async fn me_operation(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let host = host(&headers);
    render(write(&sim, &headers, &body, |st, caller, body| {
        match operation_name(&body)? {
            "StartContactCenterSession" => {
                if !body.get("channels").is_some_and(Value::is_array) {
                    return Err(SimError::MissingParameter("Missing required parameter: channels".into()));
                }
                st.engine.start_session(caller.agent);
            }
            "EndContactCenterSession" => st.engine.end_session(caller.agent, &host),
            other => return Err(SimError::MissingParameter(format!("Unknown operationName: {other}"))),
        }
        Ok(json!({}))
    }))
}

pub(crate) async fn channels(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    read(&sim, &headers, |st, caller| Ok(json!({"channels": [st.engine.chat_channel(caller.agent)]})))
}

/// Ready / NotReady on the chat channel.
pub(crate) async fn channel_operation(
    State(sim): State<Arc<Sim>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = host(&headers);
    render(write(&sim, &headers, &body, |st, caller, body| {
        if channel != "chat" {
            return Err(SimError::NotFound(format!("Channel {channel} not found")));
        }
        let ready = match operation_name(&body)? {
            "Ready" => true,
            "NotReady" => false,
            other => return Err(SimError::MissingParameter(format!("Unknown operationName: {other}"))),
        };
        st.engine.set_ready(caller.agent, ready, &host)?;
        Ok(json!({}))
    }))
}

pub(crate) async fn chats(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let host = host(&headers);
    read(&sim, &headers, |st, caller| Ok(json!({"chats": st.engine.agent_chats(caller.agent, &host)})))
}

pub(crate) async fn messages(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    read(&sim, &headers, |st, caller| {
        let start = number(&query, "startIndex")?.unwrap_or(1);
        let count = number(&query, "count")?.map(|c| usize::try_from(c).unwrap_or(usize::MAX));
        Ok(json!({"messages": st.engine.agent_messages(caller.agent, &id, start, count)?}))
    })
}

/// An optional non-negative integer query parameter.
pub(crate) fn number(query: &HashMap<String, String>, name: &str) -> Result<Option<u64>, SimError> {
    query
        .get(name)
        .map(|v| v.parse::<u64>().map_err(|_| SimError::Validation(format!("{name} must be a non-negative integer"))))
        .transpose()
}

/// `POST /api/v2/me/chats/{id}`: an operation from the catalogue, answered with its referenceId.
pub(crate) async fn chat_operation(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = host(&headers);
    let documented_only = sim.config.latitudes.reference_id_in_response == ReferenceIdInResponse::DocumentedPagesOnly;
    if let Some(delay) = sim.config.slow.delay_of(&body) {
        super::slow::wait(delay).await;
    }
    let result = write(&sim, &headers, &body, |st, caller, body| {
        let last = st.sessions.get(&caller.session_id).map_or(0, |s| s.last_reference);
        let reference = last + 1;
        st.engine.chat_operation(caller.agent, &id, &body, reference, &host)?;
        if let Some(session) = st.sessions.get_mut(&caller.session_id) {
            session.last_reference = reference;
        }
        // Under `reference-id-in-response=documented-pages-only` only the operations whose page
        // shows a referenceId answer with one; the notifications carry it either way.
        let name = body.get("operationName").and_then(Value::as_str).unwrap_or_default();
        if documented_only && !variant::REFERENCE_IN_RESPONSE.contains(&name) {
            return Ok(json!({}));
        }
        Ok(json!({"referenceId": reference}))
    });
    if !sim.config.faults.status_code_as_string {
        return render(result);
    }
    let (status, mut body) = match result {
        Ok(fields) => (axum::http::StatusCode::OK, success_body(fields)),
        Err(Refusal::Csrf) => return csrf_refusal(),
        Err(Refusal::Error(e)) => (e.http_status(), e.body()),
    };
    if let Some(code) = body.get("statusCode").and_then(Value::as_i64) {
        body["statusCode"] = Value::String(code.to_string());
    }
    (status, Json(body)).into_response()
}
