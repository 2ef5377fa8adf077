//! Changes made to whole responses after a handler answered, in one layer over the router: the
//! variant's extra fields in successful JSON bodies, and the faults that break a response's
//! framing rather than its content (`truncated-json`, `wrong-content-type`). Nothing is buffered
//! unless one of them applies to the request.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::latitude::{ErrorHttpStatus, ExtraFields};
use super::reply::SimError;
use super::{Sim, SimConfig, variant};
use crate::api;

/// Largest response body the layer reads to change it; JSON answers are far smaller.
const MAX_REWRITTEN: usize = 16 * 1024 * 1024;

/// What to do to one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rewrite {
    /// Cut the body in half (`truncated-json`).
    truncate: bool,
    /// Say `text/plain` for a JSON body (`wrong-content-type`).
    text_plain: bool,
    /// Add undocumented fields to a successful body (`extra-fields=everywhere`).
    extras: bool,
    /// Answer a refusal (a non-zero statusCode other than 20) with HTTP 200
    /// (`error-http-status=200`).
    ok_status: bool,
}

impl Rewrite {
    fn of(config: &SimConfig, method: &Method, path: &str) -> Rewrite {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let faults = config.faults;
        let download = *method == Method::GET && segments.contains(&"attachments");
        let api_json = path.starts_with("/api/v2/") && !path.starts_with(api::NOTIFICATIONS_PATH) && !download;
        Rewrite {
            truncate: faults.truncated_json && *method == Method::GET && segments == ["api", "v2", "me", "chats"],
            text_plain: faults.wrong_content_type
                && *method == Method::POST
                && matches!(segments.as_slice(), ["api", "v2", "me", "chats", _]),
            extras: config.latitudes.extra_fields == ExtraFields::Everywhere && api_json,
            ok_status: config.latitudes.error_http_status == ErrorHttpStatus::Ok200 && api_json,
        }
    }

    fn any(self) -> bool {
        self != Rewrite::default()
    }
}

/// Whether any response of a simulator so configured is ever changed: without that the layer is
/// left out.
pub(crate) fn needed(config: &SimConfig) -> bool {
    config.latitudes.extra_fields == ExtraFields::Everywhere
        || config.latitudes.error_http_status == ErrorHttpStatus::Ok200
        || config.faults.truncated_json
        || config.faults.wrong_content_type
}

/// The layer: look at the request line, let the handler answer, change the answer if needed.
pub(crate) async fn layer(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let rewrite = Rewrite::of(&sim.config, request.method(), request.uri().path());
    let response = next.run(request).await;
    if !rewrite.any() || !is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_REWRITTEN).await {
        Ok(bytes) => bytes,
        Err(e) => return SimError::Internal(format!("The response could not be read: {e}")).into_response(),
    };
    if rewrite.ok_status && is_refusal(&bytes) {
        parts.status = axum::http::StatusCode::OK;
    }
    let mut bytes = if rewrite.extras { with_extras(bytes) } else { bytes };
    if rewrite.truncate {
        bytes.truncate(bytes.len() / 2);
    }
    if rewrite.text_plain {
        parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    }
    // The length changed: the server computes it again from the new body.
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"))
}

/// Whether the body is a refusal whose HTTP status a server may choose: a non-zero statusCode,
/// 20 (not authenticated, answered 401 so that clients send credentials) aside.
fn is_refusal(bytes: &Bytes) -> bool {
    let code = serde_json::from_slice::<Value>(bytes).ok().and_then(|b| b.get("statusCode").and_then(Value::as_i64));
    code.is_some_and(|c| c != api::status::SUCCESS && c != api::status::NOT_AUTHENTICATED)
}

/// The body with the undocumented extra fields, when it is a successful answer (`statusCode` 0):
/// a refusal has only `statusCode` and `statusMessage`, as documented.
fn with_extras(bytes: Bytes) -> Bytes {
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&bytes) else { return bytes };
    if body.get("statusCode").and_then(Value::as_i64) != Some(api::status::SUCCESS) {
        return bytes;
    }
    variant::extra_response_fields(&mut body);
    serde_json::to_vec(&Value::Object(body)).map_or(bytes, Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Faults;

    fn config(faults: Faults, variant: bool) -> SimConfig {
        let latitudes = if variant { crate::sim::Latitudes::variant() } else { crate::sim::Latitudes::default() };
        SimConfig { faults, latitudes, ..SimConfig::default() }
    }

    #[test]
    fn each_rewrite_applies_to_its_requests_only() {
        let truncated = config(Faults { truncated_json: true, ..Faults::default() }, false);
        assert!(Rewrite::of(&truncated, &Method::GET, "/api/v2/me/chats").truncate);
        assert!(!Rewrite::of(&truncated, &Method::GET, "/api/v2/me/chats/x/messages").any());
        let plain = config(Faults { wrong_content_type: true, ..Faults::default() }, false);
        assert!(Rewrite::of(&plain, &Method::POST, "/api/v2/me/chats/0001x").text_plain);
        assert!(!Rewrite::of(&plain, &Method::POST, "/api/v2/me/chats/0001x/attachments").any());
        let variant = config(Faults::default(), true);
        assert!(Rewrite::of(&variant, &Method::GET, "/api/v2/me").extras);
        assert!(!Rewrite::of(&variant, &Method::GET, "/api/v2/attachments/0000x").any());
        assert!(!Rewrite::of(&variant, &Method::POST, "/api/v2/notifications/connect").any());
        assert!(!Rewrite::of(&config(Faults::default(), false), &Method::GET, "/api/v2/me/chats").any());
    }

    #[test]
    fn extras_go_into_successes_only() {
        let ok = with_extras(Bytes::from_static(br#"{"statusCode":0}"#));
        let ok: Value = serde_json::from_slice(&ok).unwrap();
        assert_eq!(ok["statusCode"], 0);
        assert!(ok.as_object().unwrap().len() > 1);
        let refusal = Bytes::from_static(br#"{"statusCode":6,"statusMessage":"Chat x not found"}"#);
        assert_eq!(with_extras(refusal.clone()), refusal);
    }
}
