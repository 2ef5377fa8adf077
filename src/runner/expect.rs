//! Turning a step's expectations into checks: response status, body and headers, refusals,
//! notification waits and captures. Each check carries the span of the line that asked for it
//! and the source of its block, which sets its severity.

use serde_json::{Map, Value, json};

use super::inbox::{Inbox, WaitOutcome};
use super::result::Check;
use crate::client::{Exchange, RawRequest};
use crate::contract::rules::{self, Severity};
use crate::scenario::matcher::{self, Failure};
use crate::scenario::vars::{Vars, interpolate};
use crate::scenario::{
    Capture, DEFAULT_WITHIN, Expectation, NotificationExpect, NotificationMatcher, ResponseExpect, Span,
};

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

/// `body` is what body expectations look into: the response's JSON, or what the action made of
/// it (a merged transcript).
pub fn response_checks(
    expect: &ResponseExpect,
    ex: &Exchange,
    body: Option<&Value>,
    subject: &str,
    vars: &Vars,
    out: &mut Vec<Check>,
) {
    let source = expect.source.as_str();
    if let Some((status, span)) = &expect.status {
        let check = if *status == ex.status {
            Check::pass(&rules::ASSERT_STATUS, subject, format!("status {status}"))
        } else {
            Check::fail(&rules::ASSERT_STATUS, subject, format!("expected HTTP status {status}, got {}", ex.status))
        };
        out.push(
            check.sourced(source).at(Some(span.clone())).expected_actual(status.to_string(), ex.status.to_string()),
        );
    }
    let body = body.filter(|b| !b.is_null());
    for e in &expect.body {
        let actual = body.and_then(|b| matcher::lookup(b, &e.path));
        expectation(&rules::ASSERT_BODY, e, actual, &format!("body.{}", e.path), subject, source, vars, out);
    }
    for e in &expect.headers {
        let actual =
            ex.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(&e.path)).map(|(_, v)| Value::String(v.clone()));
        expectation(
            &rules::ASSERT_HEADER,
            e,
            actual.as_ref(),
            &format!("header {}", e.path),
            subject,
            source,
            vars,
            out,
        );
    }
}

/// Checks on the file a step uploaded or downloaded (`sha256`, `size`, `content_type`).
pub fn file_checks(expect: &ResponseExpect, file: Option<&Value>, subject: &str, vars: &Vars, out: &mut Vec<Check>) {
    for e in &expect.file {
        let actual = file.and_then(|f| matcher::lookup(f, &e.path));
        expectation(&rules::ASSERT_FILE, e, actual, &format!("file {}", e.path), subject, &expect.source, vars, out);
    }
}

/// One `path: expected` against what was found there.
#[expect(clippy::too_many_arguments, reason = "one expectation and where it is reported")]
fn expectation(
    rule: &crate::contract::Rule,
    e: &Expectation,
    actual: Option<&Value>,
    what: &str,
    subject: &str,
    source: &str,
    vars: &Vars,
    out: &mut Vec<Check>,
) {
    let expected = match interpolate(&e.value, vars) {
        Ok(v) => v,
        Err(name) => {
            out.push(not_checked(rule, subject, &name, source, e.span.clone()));
            return;
        }
    };
    let mut failures = Vec::new();
    matcher::match_value(&expected, actual, "", &mut failures);
    if failures.is_empty() {
        out.push(Check::pass(rule, subject, format!("{what} matches")).sourced(source).at(Some(e.span.clone())));
        return;
    }
    for f in failures {
        let at = if f.path.is_empty() { what.to_owned() } else { format!("{what}.{}", f.path) };
        out.push(
            Check::fail(rule, subject, format!("{at}: expected {}, actual {}", f.expected, f.actual))
                .sourced(source)
                .at(Some(e.span.clone()))
                .expected_actual(f.expected, f.actual),
        );
    }
}

/// An expectation that could not be evaluated because a value it compares with was never
/// captured. The failure that lost the value is reported where it happened; this one only says
/// what went unchecked, as an observation.
fn not_checked(rule: &crate::contract::Rule, subject: &str, name: &str, source: &str, span: Span) -> Check {
    let mut c =
        Check::fail(rule, subject, format!("not checked: `{name}` was never captured (an earlier step failed)"))
            .sourced(source)
            .at(Some(span));
    c.severity = Severity::Observation;
    c
}

/// `security.csrf`: a write sent without the CSRF token the session holds must be refused with
/// HTTP 403 (CSRFProtection page).
pub fn csrf_check(req: &RawRequest, ex: &Exchange, subject: &str) -> Option<Check> {
    let write = !matches!(req.method.to_ascii_uppercase().as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE");
    let sent_token = req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(crate::api::CSRF_TOKEN_HEADER));
    if !write || sent_token {
        return None;
    }
    let check = if ex.status == 403 {
        Check::pass(&rules::SECURITY_CSRF, subject, "a write without the CSRF token was refused with 403")
    } else {
        Check::fail(
            &rules::SECURITY_CSRF,
            subject,
            "a write without the CSRF token the server handed out was not refused",
        )
        .expected_actual("HTTP 403", format!("HTTP {} {}", ex.status, super::validate::snippet(&ex.body_text)))
    };
    Some(check)
}

/// `refused`: the request was refused with one of the listed statusCodes, or accepted with
/// statusCode 0 and then failed by an `Error` notification to the step's agent — carrying the
/// response's referenceId when it had one (ChatMessageType, CancelConsult pages).
pub async fn refused_checks(
    expect: &ResponseExpect,
    ex: &Exchange,
    inbox: Option<&Inbox>,
    floor: usize,
    subject: &str,
    out: &mut Vec<Check>,
) {
    let Some((codes, span)) = &expect.refused else { return };
    let listed = codes.iter().map(i64::to_string).collect::<Vec<_>>().join(" or ");
    let expected = format!("statusCode {listed}, or statusCode 0 then an Error notification");
    let body = ex.json.as_ref();
    let code = body.and_then(|b| b.get("statusCode")).and_then(Value::as_i64);
    let done = |check: Check, out: &mut Vec<Check>| out.push(check.sourced(&expect.source).at(Some(span.clone())));
    match code {
        Some(c) if codes.contains(&c) => {
            done(Check::pass(&rules::ASSERT_REFUSED, subject, format!("refused with statusCode {c}")), out);
        }
        Some(0) => {
            let reference = body.and_then(|b| b.get("referenceId")).cloned();
            let Some(inbox) = inbox else {
                let check = Check::fail(
                    &rules::ASSERT_REFUSED,
                    subject,
                    "accepted with statusCode 0, and no agent watches for an Error notification",
                )
                .expected_actual(expected, "statusCode 0");
                done(check, out);
                return;
            };
            let mut fields =
                vec![Expectation { path: "notificationType".into(), value: json!("Error"), span: span.clone() }];
            if let Some(r) = &reference {
                fields.push(Expectation { path: "referenceId".into(), value: r.clone(), span: span.clone() });
            }
            let resolved = vec![fields.iter().map(|f| (f.path.clone(), f.value.clone())).collect::<Vec<_>>()];
            let wait = NotificationExpect {
                source: expect.source.clone(),
                within: DEFAULT_WITHIN,
                ordered: true,
                channel: crate::api::CHANNEL_CHATS.to_owned(),
                items: vec![NotificationMatcher { span: span.clone(), fields }],
                span: span.clone(),
            };
            let outcome = inbox.wait(&wait, floor, &resolved).await;
            let with = reference.map_or_else(String::new, |r| format!(" with referenceId {r}"));
            let check = if outcome.unmatched.is_none() {
                Check::pass(
                    &rules::ASSERT_REFUSED,
                    subject,
                    format!("accepted, then failed by an Error notification{with}"),
                )
            } else {
                Check::fail(
                    &rules::ASSERT_REFUSED,
                    subject,
                    format!(
                        "accepted with statusCode 0, and no Error notification{with} followed within {DEFAULT_WITHIN:?}"
                    ),
                )
                .expected_actual(expected, format!("statusCode 0, no Error notification{with}"))
            };
            done(check, out);
        }
        other => {
            let actual = other.map_or_else(
                || format!("HTTP {} {}", ex.status, super::validate::snippet(&ex.body_text)),
                |c| format!("statusCode {c}"),
            );
            let check =
                Check::fail(&rules::ASSERT_REFUSED, subject, format!("expected a refusal ({listed}), got {actual}"))
                    .expected_actual(expected, actual);
            done(check, out);
        }
    }
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
                    out.push(not_checked(&rules::ASSERT_NOTIFICATION, agent, &name, &expect.source, f.span.clone()));
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
                .sourced(&expect.source)
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
                .sourced(&expect.source)
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
                .sourced(&c.source)
                .at(Some(c.span.clone()))
                .expected_actual(format!("a value at {}", c.path), "absent"),
            ),
        }
    }
}
