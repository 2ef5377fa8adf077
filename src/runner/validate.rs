//! Validation the harness applies by itself to every HTTP response and every Bayeux message,
//! whether or not the scenario asserts anything: JSON well-formedness, content type, the
//! documented schema of the endpoint or channel.

use serde_json::Value;

use super::result::{Check, Counts};
use crate::api;
use crate::client::Exchange;
use crate::contract::classify::{bayeux_schema, response_schema};
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;

/// Validate one HTTP exchange; failed checks are appended to `out`.
pub fn check_exchange(reg: &SchemaRegistry, ex: &Exchange, counts: &mut Counts, out: &mut Vec<Check>) {
    counts.requests += 1;
    let operation = ex.request_body.as_ref().and_then(|b| b.get("operationName")).and_then(Value::as_str);
    let subject = match operation {
        Some(op) => format!("{} {} {op} → HTTP {}", ex.method, ex.path, ex.status),
        None => format!("{} {} → HTTP {}", ex.method, ex.path, ex.status),
    };
    if ex.status == 403 && ex.body_text.trim() == api::CSRF_REFUSAL_BODY {
        // The documented CSRF refusal is plain text.
        return;
    }
    let Some(body) = &ex.json else {
        // A file download is not JSON; only an answer that says it is JSON, or one from an
        // endpoint documented to answer JSON, must parse.
        let claims_json = ex.content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
        let documented_json = response_schema(&ex.method, &ex.path, &Value::Null).is_some();
        if let Some(err) = ex.json_error.as_ref().filter(|_| claims_json || documented_json || ex.content_type.is_none()) {
            out.push(
                Check::fail(&rules::PROTOCOL_JSON, &subject, format!("the body is not valid JSON: {err}"))
                    .expected_actual("a JSON body", snippet(&ex.body_text)),
            );
        }
        return;
    };
    let json_type = ex.content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if !json_type {
        out.push(
            Check::fail(&rules::PROTOCOL_CONTENT_TYPE, &subject, "a JSON body without a JSON content type")
                .expected_actual("application/json", ex.content_type.clone().unwrap_or_else(|| "none".into())),
        );
    }
    if let Some(schema) = response_schema(&ex.method, &ex.path, body) {
        counts.responses_validated += 1;
        schema_checks(reg, schema, body, &rules::SHAPE_RESPONSE, &subject, out);
    }
}

/// Validate one Bayeux message received from the server.
pub fn check_bayeux(reg: &SchemaRegistry, message: &Value, seq: usize, counts: &mut Counts, out: &mut Vec<Check>) {
    counts.notifications_validated += 1;
    let channel = message.get("channel").and_then(Value::as_str).unwrap_or("?");
    let subject = format!("Bayeux message #{seq} on {channel}");
    schema_checks(reg, bayeux_schema(message), message, &rules::SHAPE_NOTIFICATION, &subject, out);
}

fn schema_checks(
    reg: &SchemaRegistry,
    schema: &str,
    body: &Value,
    rule: &crate::contract::Rule,
    subject: &str,
    out: &mut Vec<Check>,
) {
    match reg.validate(schema, body) {
        Ok(violations) => {
            for v in violations {
                let at = if v.instance_path.is_empty() { "/".to_owned() } else { v.instance_path.clone() };
                let actual = crate::scenario::matcher::lookup_pointer(body, &v.instance_path)
                    .map_or_else(|| "absent".to_owned(), |val| snippet(&val.to_string()));
                out.push(
                    Check::fail(rule, subject, format!("breaks schema `{schema}` at {at}: {}", v.message))
                        .expected_actual(format!("{schema} ({})", v.schema_path), actual),
                );
            }
        }
        Err(e) => out.push(Check::fail(rule, subject, format!("cannot validate against `{schema}`: {e}"))),
    }
}

/// At most 300 characters of a text, for messages. Control characters other than newline and
/// tab are escaped (`\u{1b}`): a server's body must not be able to corrupt a report (XML 1.0
/// cannot carry them at all) or the terminal that prints it.
pub fn snippet(s: &str) -> String {
    const LIMIT: usize = 300;
    let mut out = String::with_capacity(s.len().min(LIMIT + 8));
    for (i, c) in s.chars().enumerate() {
        if i == LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippets_are_cut_and_escape_control_characters() {
        assert_eq!(snippet("a\u{1}b\u{1b}[31m\r\n\tc"), "a\\u{1}b\\u{1b}[31m\\r\n\tc");
        let long = "é".repeat(301);
        assert_eq!(snippet(&long), format!("{}…", "é".repeat(300)));
        assert_eq!(snippet(&"é".repeat(300)), "é".repeat(300));
    }
}
