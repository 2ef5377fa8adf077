//! Validation the harness applies by itself to every HTTP response and every Bayeux message,
//! whether or not the scenario asserts anything: JSON well-formedness, content type, the
//! documented schema of the endpoint or channel, and for the Tegsoft services the shape the
//! profile gives their answers.

use serde_json::Value;

use super::result::{Check, Counts};
use crate::api;
use crate::client::Exchange;
use crate::contract::classify::{bayeux_schema, response_rule, response_schema};
use crate::contract::schema::SchemaRegistry;
use crate::contract::{known, rules, tegsoft};

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
    if ex.json_over_limit {
        out.push(Check::fail(&rules::TRANSPORT, &subject, "the body is too large to check").expected_actual(
            format!("at most {} JSON values", crate::client::json::MAX_VALUES),
            format!("{} bytes holding more", ex.body_bytes),
        ));
        return;
    }
    if reg.tegsoft_profile().service(&ex.method, &ex.path).is_some() {
        tegsoft_answer(reg, ex, &subject, counts, out);
        return;
    }
    let Some(body) = &ex.json else {
        // A file download is not JSON; only an answer that says it is JSON, or one from an
        // endpoint documented to answer JSON, must parse.
        let claims_json = ex.content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
        let documented_json = response_schema(&ex.method, &ex.path, &Value::Null).is_some();
        if let Some(err) =
            ex.json_error.as_ref().filter(|_| claims_json || documented_json || ex.content_type.is_none())
        {
            out.push(
                Check::fail(&rules::PROTOCOL_JSON, &subject, format!("the body is not valid JSON: {err}"))
                    .expected_actual("a JSON body", snippet(&ex.body_text)),
            );
        }
        return;
    };
    if ex.path.contains(api::NOTIFICATIONS_PATH) {
        bayeux_exchange_checks(ex.request_body.as_ref(), body, &subject, out);
    }
    let json_type = ex.content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if !json_type {
        out.push(
            Check::fail(&rules::PROTOCOL_CONTENT_TYPE, &subject, "a JSON body without a JSON content type")
                .expected_actual("application/json", ex.content_type.clone().unwrap_or_else(|| "none".into())),
        );
    }
    if let Some(schema) = response_schema(&ex.method, &ex.path, body) {
        counts.responses_validated += 1;
        schema_checks(reg, schema, body, response_rule(&ex.method, &ex.path, schema), &subject, out);
        if let Some(messages) = body.get("messages").and_then(Value::as_array) {
            message_types(messages, &subject, out);
        }
    }
}

/// A Tegsoft answer: JSON, of the profile's success shape for a 2xx status and of its failure
/// shape otherwise, whatever the body says. All of it is the profile's: observations.
fn tegsoft_answer(reg: &SchemaRegistry, ex: &Exchange, subject: &str, counts: &mut Counts, out: &mut Vec<Check>) {
    let rule = &rules::SHAPE_TEGSOFT_RESPONSE;
    let Some(body) = &ex.json else {
        let profile = &reg.tegsoft_profile().name;
        out.push(
            Check::fail(rule, subject, format!("the answer is not JSON, as the Tegsoft profile `{profile}` answers"))
                .expected_actual("a JSON body", snippet(&ex.body_text)),
        );
        return;
    };
    if !ex.content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().contains("json")) {
        out.push(
            Check::fail(&rules::PROTOCOL_CONTENT_TYPE, subject, "a JSON body without a JSON content type")
                .expected_actual("application/json", ex.content_type.clone().unwrap_or_else(|| "none".into())),
        );
    }
    counts.responses_validated += 1;
    schema_checks(reg, tegsoft::schema_for_status(ex.status), body, rule, subject, out);
}

/// `shape.message-type`: message types the documentation does not show.
fn message_types(messages: &[Value], subject: &str, out: &mut Vec<Check>) {
    for t in known::unknown_message_types(messages) {
        out.push(
            Check::fail(
                &rules::SHAPE_MESSAGE_TYPE,
                subject,
                format!("message type `{}` is not documented", snippet(t)),
            )
            .expected_actual(crate::api::MESSAGE_TYPES.join(", "), snippet(t)),
        );
    }
}

/// The rules one Bayeux POST shows by itself, request and answer together:
/// `protocol.bayeux-advice` (the reply to a connect asking for an immediate answer, the first of a
/// session, and every refused connect carry advice, as CometD and Faye servers send it) and
/// `protocol.bayeux-duplicate` (no event twice in one answer).
fn bayeux_exchange_checks(request: Option<&Value>, reply: &Value, subject: &str, out: &mut Vec<Check>) {
    const CONNECT: &str = "/meta/connect";
    let Some(replies) = reply.as_array() else { return };
    let channel = |m: &Value| m.get("channel").and_then(Value::as_str).map(str::to_owned);
    let first_connects = request.and_then(Value::as_array).into_iter().flatten().filter(|m| {
        channel(m).as_deref() == Some(CONNECT)
            && m.get("advice").and_then(|a| a.get("timeout")).and_then(Value::as_i64) == Some(0)
    });
    let ids: Vec<Option<&Value>> = first_connects.map(|m| m.get("id")).collect();
    for r in replies.iter().filter(|r| channel(r).as_deref() == Some(CONNECT)) {
        let refused = r.get("successful").and_then(Value::as_bool) != Some(true);
        let first = ids.iter().any(|id| id.is_none() || *id == r.get("id"));
        if (refused || first) && !r.get("advice").is_some_and(Value::is_object) {
            let why = if refused {
                "an unsuccessful /meta/connect reply"
            } else {
                "the reply to a session's first /meta/connect"
            };
            out.push(
                Check::fail(&rules::PROTOCOL_BAYEUX_ADVICE, subject, format!("{why} carries no advice"))
                    .expected_actual("advice (reconnect, timeout, interval)", snippet(&r.to_string())),
            );
        }
    }
    // Each event's text once in a set: linear in the answer, whatever its size.
    let mut seen = std::collections::HashSet::new();
    for m in replies.iter().filter(|m| channel(m).is_some_and(|c| !c.starts_with("/meta/"))) {
        let event = format!("{} {}", m["channel"], m.get("data").map_or_else(String::new, Value::to_string));
        if !seen.insert(event.clone()) {
            out.push(
                Check::fail(&rules::PROTOCOL_BAYEUX_DUPLICATE, subject, "the same event twice in one Bayeux response")
                    .expected_actual("each event once", snippet(&event)),
            );
        }
    }
}

/// Validate one Bayeux message received from the server.
pub fn check_bayeux(reg: &SchemaRegistry, message: &Value, seq: usize, counts: &mut Counts, out: &mut Vec<Check>) {
    counts.notifications_validated += 1;
    let channel = message.get("channel").and_then(Value::as_str).unwrap_or("?");
    let subject = format!("Bayeux message #{seq} on {}", snippet(channel));
    schema_checks(reg, bayeux_schema(message), message, &rules::SHAPE_NOTIFICATION, &subject, out);
    if channel == crate::api::CHANNEL_CHATS
        && let Some(data) = message.get("data")
    {
        if let Some(t) = known::unknown_notification_type(data) {
            out.push(
                Check::fail(
                    &rules::SHAPE_NOTIFICATION_TYPE,
                    &subject,
                    format!("notificationType `{}` is not documented", snippet(t)),
                )
                .expected_actual(known::NOTIFICATION_TYPES.join(", "), snippet(t)),
            );
        }
        if let Some(messages) = data.get("messages").and_then(Value::as_array) {
            message_types(messages, &subject, out);
        }
    }
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
    use serde_json::json;

    use super::{bayeux_exchange_checks, snippet};

    fn bayeux_rules(request: serde_json::Value, reply: serde_json::Value) -> Vec<&'static str> {
        let mut out = Vec::new();
        bayeux_exchange_checks(Some(&request), &reply, "connect", &mut out);
        out.iter().map(|c| c.rule).collect()
    }

    #[test]
    fn the_first_connect_and_refusals_need_advice() {
        let first = json!([{"id": "3", "channel": "/meta/connect", "advice": {"timeout": 0}}]);
        let later = json!([{"id": "4", "channel": "/meta/connect"}]);
        let bare = json!([{"id": "3", "channel": "/meta/connect", "successful": true}]);
        let advised =
            json!([{"id": "3", "channel": "/meta/connect", "successful": true, "advice": {"timeout": 30000}}]);
        assert_eq!(bayeux_rules(first.clone(), bare.clone()), ["protocol.bayeux-advice"]);
        assert!(bayeux_rules(first, advised).is_empty());
        let bare_later = json!([{"id": "4", "channel": "/meta/connect", "successful": true}]);
        assert!(bayeux_rules(later.clone(), bare_later).is_empty(), "later replies may omit advice");
        let refused =
            json!([{"id": "4", "channel": "/meta/connect", "successful": false, "error": "402::Unknown client"}]);
        assert_eq!(bayeux_rules(later, refused), ["protocol.bayeux-advice"]);
    }

    #[test]
    fn an_event_twice_in_one_response_is_a_duplicate() {
        let request = json!([{"id": "5", "channel": "/meta/connect"}]);
        let event =
            json!({"channel": "/v2/me/chats", "data": {"notificationType": "NewMessages", "messages": [{"index": 3}]}});
        let other =
            json!({"channel": "/v2/me/chats", "data": {"notificationType": "NewMessages", "messages": [{"index": 4}]}});
        let reply = |events: Vec<serde_json::Value>| {
            let mut all = events;
            all.push(json!({"id": "5", "channel": "/meta/connect", "successful": true}));
            serde_json::Value::Array(all)
        };
        assert!(bayeux_rules(request.clone(), reply(vec![event.clone(), other])).is_empty());
        assert_eq!(bayeux_rules(request, reply(vec![event.clone(), event])), ["protocol.bayeux-duplicate"]);
    }

    #[test]
    fn snippets_are_cut_and_escape_control_characters() {
        assert_eq!(snippet("a\u{1}b\u{1b}[31m\r\n\tc"), "a\\u{1}b\\u{1b}[31m\\r\n\tc");
        let long = "é".repeat(301);
        assert_eq!(snippet(&long), format!("{}…", "é".repeat(300)));
        assert_eq!(snippet(&"é".repeat(300)), "é".repeat(300));
    }
}
