//! Validation under load: every response and every Bayeux message is checked as the runner
//! checks it (JSON well-formed, JSON content type, the documented schema chosen by
//! `contract::classify`), but a violation is counted per rule id instead of becoming a result
//! node, and nothing is allocated for a valid message.

use serde_json::Value;

use super::metrics::Metrics;
use crate::api;
use crate::client::Exchange;
use crate::contract::classify::{bayeux_schema, response_schema};
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;

/// Validate an exchange made through the harness clients.
pub fn exchange(reg: &SchemaRegistry, ex: &Exchange, m: &mut Metrics) {
    if ex.status == 403 && ex.body_text.trim() == api::CSRF_REFUSAL_BODY {
        m.counts.responses_validated += 1;
        return;
    }
    match (&ex.json, &ex.json_error) {
        (Some(body), _) => {
            let json_type = ex.content_type.as_deref().is_some_and(is_json_type);
            parsed(reg, &ex.method, &ex.path, json_type, body, m);
        }
        (None, Some(err)) => {
            m.counts.responses_validated += 1;
            m.violation(rules::PROTOCOL_JSON.id, || format!("{} {}: body is not JSON: {err}", ex.method, ex.path));
        }
        (None, None) => m.counts.responses_validated += 1,
    }
}

/// Validate a raw response body (the request journey's own client).
pub fn raw(reg: &SchemaRegistry, method: &str, path: &str, content_type: Option<&[u8]>, body: &[u8], m: &mut Metrics) {
    if body.iter().all(u8::is_ascii_whitespace) {
        m.counts.responses_validated += 1;
        return;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let json_type = content_type.and_then(|c| std::str::from_utf8(c).ok()).is_some_and(is_json_type);
            parsed(reg, method, path, json_type, &v, m);
        }
        Err(e) => {
            m.counts.responses_validated += 1;
            m.violation(rules::PROTOCOL_JSON.id, || format!("{method} {path}: body is not JSON: {e}"));
        }
    }
}

fn is_json_type(ct: &str) -> bool {
    ct.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"json"))
}

fn parsed(reg: &SchemaRegistry, method: &str, path: &str, json_type: bool, body: &Value, m: &mut Metrics) {
    m.counts.responses_validated += 1;
    if !json_type {
        m.violation(rules::PROTOCOL_CONTENT_TYPE.id, || {
            format!("{method} {path}: JSON body without a JSON content type")
        });
    }
    if let Some(schema) = response_schema(method, path, body) {
        schema_check(reg, schema, body, rules::SHAPE_RESPONSE.id, || format!("{method} {path}"), m);
    }
}

/// Validate one Bayeux message received from the server.
pub fn bayeux(reg: &SchemaRegistry, message: &Value, m: &mut Metrics) {
    m.counts.notifications_validated += 1;
    let schema = bayeux_schema(message);
    let subject = || {
        let channel = message.get("channel").and_then(Value::as_str).unwrap_or("?");
        format!("Bayeux message on {channel}")
    };
    schema_check(reg, schema, message, rules::SHAPE_NOTIFICATION.id, subject, m);
}

fn schema_check(
    reg: &SchemaRegistry,
    schema: &str,
    body: &Value,
    rule: &str,
    subject: impl Fn() -> String,
    m: &mut Metrics,
) {
    match reg.validate(schema, body) {
        Ok(violations) => {
            for v in violations {
                m.violation(rule, || format!("{}: breaks `{schema}` at {}: {}", subject(), v.instance_path, v.message));
            }
        }
        Err(e) => m.violation(rule, || format!("{}: cannot validate against `{schema}`: {e}", subject())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn valid_bodies_count_without_violations_and_bad_ones_by_rule() {
        let reg = SchemaRegistry::embedded().unwrap();
        let mut m = Metrics::new(Instant::now(), false);
        let ok = br#"{"statusCode":0,"version":"8.5.200.50"}"#;
        raw(&reg, "GET", "/api/v2/diagnostics/version", Some(b"application/json"), ok, &mut m);
        assert_eq!((m.counts.responses_validated, m.counts.violations), (1, 0));
        raw(&reg, "GET", "/api/v2/diagnostics/version", Some(b"text/plain"), br#"{"statusCode":"0"}"#, &mut m);
        assert_eq!(m.violations.get("protocol.content-type"), Some(&1));
        assert!(m.violations.get("shape.response").is_some_and(|n| *n >= 1));
        raw(&reg, "GET", "/api/v2/me", None, b"{not json", &mut m);
        assert_eq!(m.violations.get("protocol.json"), Some(&1));
    }
}
