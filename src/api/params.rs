//! Parameters of chat operations: their documented kinds, the check of a request body against an
//! operation's parameters (a missing required one is statusCode 1, a wrong-typed one is 10), and
//! the reading of target URIs. The simulator and the harness both validate with this, so the
//! rules exist once.

use serde_json::{Map, Value};
use thiserror::Error;

use super::status;

/// What a parameter's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Bool,
    /// A JSON object whose values are strings or numbers (userData).
    Object,
    /// A JSON array of strings (DeleteUserData's `keys`).
    StringArray,
    /// A user URI `.../api/v2/users/{userId}` or a queue URI `.../api/v2/queues/{name}`: a string
    /// whose last path segment names the target.
    Uri,
    /// A string among the listed values (`treatAs`).
    Choice(&'static [&'static str]),
}

impl ParamKind {
    /// Whether `value` is of this kind.
    pub fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (ParamKind::String, Value::String(_)) | (ParamKind::Bool, Value::Bool(_)) => true,
            (ParamKind::Object, Value::Object(map)) => map.values().all(|v| v.is_string() || v.is_number()),
            (ParamKind::StringArray, Value::Array(items)) => items.iter().all(Value::is_string),
            (ParamKind::Uri, Value::String(s)) => uri_target(s).is_some(),
            (ParamKind::Choice(values), Value::String(s)) => values.contains(&s.as_str()),
            _ => false,
        }
    }

    /// What the value must be, for error messages.
    pub fn describe(self) -> String {
        match self {
            ParamKind::String => "a string".into(),
            ParamKind::Bool => "a boolean".into(),
            ParamKind::Object => "an object of string or number values".into(),
            ParamKind::StringArray => "an array of strings".into(),
            ParamKind::Uri => "a user or queue URI".into(),
            ParamKind::Choice(values) => format!("one of {}", values.join(", ")),
        }
    }
}

/// A parameter of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    pub kind: ParamKind,
}

pub(crate) const fn req(name: &'static str, kind: ParamKind) -> Param {
    Param { name, required: true, kind }
}

pub(crate) const fn opt(name: &'static str, kind: ParamKind) -> Param {
    Param { name, required: false, kind }
}

/// Why a request body does not fit an operation's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamError {
    #[error("Missing required parameter: {0}")]
    Missing(String),
    #[error("Parameter {name} must be {expected}")]
    Invalid { name: &'static str, expected: String },
}

impl ParamError {
    /// The documented statusCode: 1 for a missing parameter, 10 for a wrong one.
    pub fn status_code(&self) -> i64 {
        match self {
            ParamError::Missing(_) => status::MISSING_PARAMETER,
            ParamError::Invalid { .. } => status::VALIDATION_ERROR,
        }
    }
}

/// Check `body` against `params` and the `one_of` group (at least one of those names present).
/// A `null` value counts as absent; parameters not listed are ignored.
pub fn check(params: &[Param], one_of: &[&str], body: &Map<String, Value>) -> Result<(), ParamError> {
    let given = |name: &str| body.get(name).is_some_and(|v| !v.is_null());
    if let Some(missing) = params.iter().find(|p| p.required && !given(p.name)) {
        return Err(ParamError::Missing(missing.name.to_owned()));
    }
    if !one_of.is_empty() && !one_of.iter().any(|name| given(name)) {
        return Err(ParamError::Missing(one_of.join(" or ")));
    }
    for param in params {
        if let Some(value) = body.get(param.name).filter(|v| !v.is_null())
            && !param.kind.accepts(value)
        {
            return Err(ParamError::Invalid { name: param.name, expected: param.kind.describe() });
        }
    }
    Ok(())
}

/// What a target URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriTarget<'a> {
    /// An agent, by user id.
    User(&'a str),
    /// A queue, by name.
    Queue(&'a str),
}

/// The target a URI names: only its last path segment matters, and a `queues` segment before
/// it makes it a queue. None when there is no last segment.
pub fn uri_target(uri: &str) -> Option<UriTarget<'_>> {
    let path = uri.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    let (head, last) = path.rsplit_once('/').unwrap_or(("", path));
    if last.is_empty() {
        return None;
    }
    let is_queue = head.rsplit('/').next() == Some("queues");
    Some(if is_queue { UriTarget::Queue(last) } else { UriTarget::User(last) })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn kinds_accept_what_the_docs_describe() {
        assert!(ParamKind::Object.accepts(&json!({"a": "x", "b": 2})));
        assert!(!ParamKind::Object.accepts(&json!({"a": {"nested": 1}})));
        assert!(!ParamKind::Object.accepts(&json!("a=b")));
        assert!(ParamKind::StringArray.accepts(&json!(["a", "b"])));
        assert!(!ParamKind::StringArray.accepts(&json!(["a", 1])));
        assert!(ParamKind::Choice(&["Normal", "System"]).accepts(&json!("System")));
        assert!(!ParamKind::Choice(&["Normal", "System"]).accepts(&json!("Loud")));
        assert!(!ParamKind::Bool.accepts(&json!("true")));
        assert!(!ParamKind::Uri.accepts(&json!(7)));
    }

    #[test]
    fn missing_comes_before_wrong_and_null_is_absent() {
        let params = [req("text", ParamKind::String), opt("treatAs", ParamKind::Choice(&["Normal"]))];
        let err = check(&params, &[], &body(json!({"treatAs": 3}))).unwrap_err();
        assert_eq!((err.status_code(), err.to_string()), (1, "Missing required parameter: text".into()));
        let err = check(&params, &[], &body(json!({"text": "hi", "treatAs": 3}))).unwrap_err();
        assert_eq!(err.status_code(), 10);
        assert!(check(&params, &[], &body(json!({"text": "hi", "treatAs": null, "other": 1}))).is_ok());
        assert_eq!(check(&params, &[], &body(json!({"text": null}))).unwrap_err().status_code(), 1);
    }

    #[test]
    fn one_of_needs_one() {
        let params = [opt("targetUri", ParamKind::Uri), opt("queueName", ParamKind::String)];
        let err = check(&params, &["targetUri", "queueName"], &body(json!({}))).unwrap_err();
        assert_eq!(err.to_string(), "Missing required parameter: targetUri or queueName");
        assert!(check(&params, &["targetUri", "queueName"], &body(json!({"queueName": "q"}))).is_ok());
    }

    #[test]
    fn uris_name_users_or_queues_by_their_last_segment() {
        assert_eq!(uri_target("http://h/api/v2/users/abc"), Some(UriTarget::User("abc")));
        assert_eq!(uri_target("https://h/api/v2/users/abc/"), Some(UriTarget::User("abc")));
        assert_eq!(uri_target("http://h/api/v2/queues/Sales"), Some(UriTarget::Queue("Sales")));
        assert_eq!(uri_target("abc"), Some(UriTarget::User("abc")));
        assert_eq!(uri_target("http://h/api/v2/users/abc?x=1"), Some(UriTarget::User("abc")));
        assert_eq!(uri_target(""), None);
        assert_eq!(uri_target("/"), None);
    }
}
