//! How the simulator answers: the documented `{"statusCode":n,"statusMessage":...}` error body with
//! an HTTP status to match, and the JSON success bodies.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use thiserror::Error;

use crate::api::ParamError;
use crate::api::status;

/// A refused request. Each variant is one documented `statusCode`; the request changed nothing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SimError {
    #[error("{0}")]
    MissingParameter(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Validation(String),
    #[error("Access denied: user not authenticated")]
    NotAuthenticated,
    /// The resource is already in use (19).
    #[error("{0}")]
    InUse(String),
    /// An uploaded document over the simulator's `max_upload` bytes.
    #[error("attachment is larger than {0} bytes")]
    TooLarge(u64),
    /// The simulator itself failed (its upload directory could not be written or read).
    #[error("{0}")]
    Internal(String),
}

impl SimError {
    /// The documented `statusCode` of this refusal.
    pub fn status_code(&self) -> i64 {
        match self {
            SimError::MissingParameter(_) => status::MISSING_PARAMETER,
            SimError::InvalidState(_) => status::INVALID_STATE,
            SimError::Forbidden(_) => status::FORBIDDEN,
            SimError::NotFound(_) => status::NOT_FOUND,
            SimError::Validation(_) => status::VALIDATION_ERROR,
            SimError::NotAuthenticated => status::NOT_AUTHENTICATED,
            SimError::InUse(_) => status::ALREADY_IN_USE,
            SimError::TooLarge(_) => status::VALIDATION_ERROR,
            SimError::Internal(_) => status::INTERNAL_ERROR,
        }
    }

    /// The HTTP status sent with it. GWS documents none but 403 for CSRF; these are the usual ones.
    pub fn http_status(&self) -> StatusCode {
        match self {
            SimError::Forbidden(_) => StatusCode::FORBIDDEN,
            SimError::NotFound(_) => StatusCode::NOT_FOUND,
            SimError::InUse(_) => StatusCode::CONFLICT,
            SimError::NotAuthenticated => StatusCode::UNAUTHORIZED,
            SimError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            SimError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The documented failure body: `statusCode` and `statusMessage`, nothing else.
    pub fn body(&self) -> Value {
        json!({"statusCode": self.status_code(), "statusMessage": self.to_string()})
    }
}

impl From<ParamError> for SimError {
    fn from(e: ParamError) -> Self {
        match e {
            ParamError::Missing(_) => SimError::MissingParameter(e.to_string()),
            ParamError::Invalid { .. } => SimError::Validation(e.to_string()),
        }
    }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        (self.http_status(), Json(self.body())).into_response()
    }
}

/// `{"statusCode":0}` plus the given fields.
pub(crate) fn success_body(fields: Value) -> Value {
    let mut body = json!({"statusCode": status::SUCCESS});
    if let (Some(out), Value::Object(extra)) = (body.as_object_mut(), fields) {
        out.extend(extra);
    }
    body
}

/// The success body, HTTP 200.
pub(crate) fn success(fields: Value) -> Response {
    Json(success_body(fields)).into_response()
}

/// A request body as a JSON object, or statusCode 1 when it is not one.
pub(crate) fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, SimError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SimError::MissingParameter("The request body must be a JSON object".into())),
        Err(e) => Err(SimError::MissingParameter(format!("The request body is not valid JSON: {e}"))),
    }
}

/// The `operationName` of a request body, or statusCode 1.
pub(crate) fn operation_name(body: &serde_json::Map<String, Value>) -> Result<&str, SimError> {
    match body.get("operationName") {
        Some(Value::String(name)) => Ok(name),
        Some(_) => Err(SimError::MissingParameter("operationName must be a string".into())),
        None => Err(SimError::MissingParameter("Missing required parameter: operationName".into())),
    }
}

/// An optional string parameter; present with another type is a validation error.
pub(crate) fn opt_str<'a>(body: &'a serde_json::Map<String, Value>, name: &str) -> Result<Option<&'a str>, SimError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SimError::Validation(format!("Parameter {name} must be a string"))),
    }
}

/// A required string parameter.
pub(crate) fn req_str<'a>(body: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a str, SimError> {
    opt_str(body, name)?.ok_or_else(|| SimError::MissingParameter(format!("Missing required parameter: {name}")))
}
