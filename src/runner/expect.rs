//! Turning a step's expectations into checks: response status, body and headers, notification
//! waits and captures. Each check carries the span of the line that asked for it.

use serde_json::{Map, Value};

use super::inbox::{Inbox, WaitOutcome};
use super::result::Check;
use crate::client::Exchange;
use crate::contract::rules;
use crate::scenario::matcher::{self, Failure};
use crate::scenario::vars::{Vars, interpolate};
use crate::scenario::{Capture, NotificationExpect, ResponseExpect};

/// The value captures and body expectations look into: `status`, `headers`, `body`, and for
/// notification steps `notification` (the first matched) and `notifications` (all matched).
pub fn exchange_context(ex: &Exchange) -> Value {
    let headers: Map<String, Value> =
        ex.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone()))).collect();
    let mut cx = Map::new();
    cx.insert("status".into(), Value::from(ex.status));
    cx.insert("headers".into(), Value::Object(headers));
    cx.insert("body".into(), ex.json.clone().unwrap_or(Value::Null));
    Value::Object(cx)
}

pub fn response_checks(expect: &ResponseExpect, ex: &Exchange, subject: &str, vars: &Vars, out: &mut Vec<Check>) {
    if let Some((status, span)) = &expect.status {
        let check = if *status == ex.status {
            Check::pass(&rules::ASSERT_STATUS, subject, format!("status {status}"))
        } else {
            Check::fail(&rules::ASSERT_STATUS, subject, format!("expected HTTP status {status}, got {}", ex.status))
        };
        out.push(check.at(Some(span.clone())).expected_actual(status.to_string(), ex.status.to_string()));
    }
    let body = ex.json.as_ref();
    for e in &expect.body {
        let expected = match interpolate(&e.value, vars) {
            Ok(v) => v,
            Err(name) => {
                out.push(undefined(&rules::ASSERT_BODY, subject, &name, e.span.clone()));
                continue;
            }
        };
        let actual = body.and_then(|b| matcher::lookup(b, &e.path));
        push_match(&rules::ASSERT_BODY, subject, &format!("body.{}", e.path), &expected, actual, e.span.clone(), out);
    }
    for e in &expect.headers {
        let expected = match interpolate(&e.value, vars) {
            Ok(v) => v,
            Err(name) => {
                out.push(undefined(&rules::ASSERT_HEADER, subject, &name, e.span.clone()));
                continue;
            }
        };
        let actual =
            ex.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(&e.path)).map(|(_, v)| Value::String(v.clone()));
        push_match(
            &rules::ASSERT_HEADER,
            subject,
            &format!("header {}", e.path),
            &expected,
            actual.as_ref(),
            e.span.clone(),
            out,
        );
    }
}

/// Checks on the file a step uploaded or downloaded (`sha256`, `size`, `content_type`).
pub fn file_checks(expect: &ResponseExpect, file: Option<&Value>, subject: &str, vars: &Vars, out: &mut Vec<Check>) {
    for e in &expect.file {
        let expected = match interpolate(&e.value, vars) {
            Ok(v) => v,
            Err(name) => {
                out.push(undefined(&rules::ASSERT_FILE, subject, &name, e.span.clone()));
                continue;
            }
        };
        let actual = file.and_then(|f| matcher::lookup(f, &e.path));
        push_match(&rules::ASSERT_FILE, subject, &format!("file {}", e.path), &expected, actual, e.span.clone(), out);
    }
}

fn push_match(
    rule: &crate::contract::Rule,
    subject: &str,
    what: &str,
    expected: &Value,
    actual: Option<&Value>,
    span: crate::scenario::Span,
    out: &mut Vec<Check>,
) {
    let mut failures = Vec::new();
    matcher::match_value(expected, actual, "", &mut failures);
    if failures.is_empty() {
        out.push(Check::pass(rule, subject, format!("{what} matches")).at(Some(span)));
        return;
    }
    for f in failures {
        let at = if f.path.is_empty() { what.to_owned() } else { format!("{what}.{}", f.path) };
        out.push(
            Check::fail(rule, subject, format!("{at}: expected {}, actual {}", f.expected, f.actual))
                .at(Some(span.clone()))
                .expected_actual(f.expected, f.actual),
        );
    }
}

fn undefined(rule: &crate::contract::Rule, subject: &str, name: &str, span: crate::scenario::Span) -> Check {
    Check::fail(rule, subject, format!("variable `{name}` is not defined (the step that captures it failed?)"))
        .at(Some(span))
}

/// Wait for the notifications `expect` asks for; returns the matched `data` values.
pub async fn notification_checks(
    inbox: &Inbox,
    expect: &NotificationExpect,
    floor: usize,
    agent: &str,
    vars: &Vars,
    out: &mut Vec<Check>,
) -> Vec<Value> {
    let mut resolved = Vec::with_capacity(expect.items.len());
    for item in &expect.items {
        let mut fields = Vec::with_capacity(item.fields.len());
        for f in &item.fields {
            match interpolate(&f.value, vars) {
                Ok(v) => fields.push((f.path.clone(), v)),
                Err(name) => {
                    out.push(undefined(&rules::ASSERT_NOTIFICATION, agent, &name, f.span.clone()));
                    return Vec::new();
                }
            }
        }
        resolved.push(fields);
    }
    let subject = format!("notifications to {agent} on {}", expect.channel);
    let WaitOutcome { matched, unmatched, closest, candidates } = inbox.wait(expect, floor, &resolved).await;
    match unmatched {
        None => {
            out.push(
                Check::pass(
                    &rules::ASSERT_NOTIFICATION,
                    &subject,
                    format!("{} notification(s) matched", matched.len()),
                )
                .at(Some(expect.span.clone())),
            );
            matched
        }
        Some(ix) => {
            let item = &expect.items[ix];
            let wanted = resolved[ix].iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ");
            let order = if expect.ordered && ix > 0 { " after the previous ones" } else { "" };
            let (actual, detail) = match closest {
                Some((seq, failures)) => {
                    (describe_closest(seq, &failures), format!("; closest was Bayeux message #{seq}"))
                }
                None => (format!("no candidate among {candidates} new notification(s)"), String::new()),
            };
            out.push(
                Check::fail(
                    &rules::ASSERT_NOTIFICATION,
                    &subject,
                    format!(
                        "expectation {} of {}: no notification matched within {:?}{order}{detail}",
                        ix + 1,
                        expect.items.len(),
                        expect.within
                    ),
                )
                .at(Some(item.span.clone()))
                .expected_actual(format!("{{{wanted}}}"), actual),
            );
            Vec::new()
        }
    }
}

fn describe_closest(seq: usize, failures: &[Failure]) -> String {
    let diffs: Vec<String> =
        failures.iter().map(|f| format!("{} = {} (expected {})", f.path, f.actual, f.expected)).collect();
    format!("#{seq}: {}", diffs.join(", "))
}

/// Apply captures to `context`; failures become checks.
pub fn apply_captures(captures: &[Capture], context: &Value, subject: &str, vars: &mut Vars, out: &mut Vec<Check>) {
    for c in captures {
        match matcher::lookup(context, &c.path) {
            Some(v) => {
                vars.insert(c.var.clone(), v.clone());
            }
            None => out.push(
                Check::fail(
                    &rules::ASSERT_CAPTURE,
                    subject,
                    format!("cannot capture `{}`: nothing at `{}`", c.var, c.path),
                )
                .at(Some(c.span.clone()))
                .expected_actual(format!("a value at {}", c.path), "absent"),
            ),
        }
    }
}
