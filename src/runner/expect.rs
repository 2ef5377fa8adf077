//! Turning a step's expectations into checks: response status, body and headers, refusals,
//! notification waits, captures and guards. Each check carries the span of the line that asked for
//! it and the source of its block, which sets its severity. Variables apply to paths as well as
//! to values (`body: {"${tegsoft.key.result}": ...}`), and a status may be a variable.

use serde_json::{Map, Value, json};

use super::inbox::{Inbox, WaitOutcome};
use super::result::Check;
use crate::client::{Exchange, RawRequest};
use crate::contract::rules::{self, Severity};
use crate::scenario::matcher::{self, Failure};
use crate::scenario::vars::{Vars, interpolate, interpolate_to_string};
use crate::scenario::{
    Capture, DEFAULT_WITHIN, Expectation, Guard, NotificationExpect, NotificationMatcher, ResponseExpect, Span,
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
        status_check(status, span, ex.status, subject, source, vars, out);
    }
    let body = body.filter(|b| !b.is_null());
    for e in &expect.body {
        let Some(path) = resolve_path(&rules::ASSERT_BODY, e, subject, source, vars, out) else { continue };
        let actual = body.and_then(|b| matcher::lookup(b, &path));
        expectation(&rules::ASSERT_BODY, e, actual, &format!("body.{path}"), subject, source, vars, out);
    }
    for e in &expect.headers {
        let Some(name) = resolve_path(&rules::ASSERT_HEADER, e, subject, source, vars, out) else { continue };
        let actual =
            ex.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(&name)).map(|(_, v)| Value::String(v.clone()));
        expectation(&rules::ASSERT_HEADER, e, actual.as_ref(), &format!("header {name}"), subject, source, vars, out);
    }
}

/// `status`: a number, or a variable holding one.
fn status_check(
    status: &Value,
    span: &Span,
    actual: u16,
    subject: &str,
    source: &str,
    vars: &Vars,
    out: &mut Vec<Check>,
) {
    let expected = match interpolate(status, vars) {
        Ok(v) => v,
        Err(name) => {
            out.push(not_checked(&rules::ASSERT_STATUS, subject, &name, source, span.clone()));
            return;
        }
    };
    let check = match expected.as_u64() {
        Some(want) if want == u64::from(actual) => {
            Check::pass(&rules::ASSERT_STATUS, subject, format!("status {want}"))
        }
        Some(want) => Check::fail(&rules::ASSERT_STATUS, subject, format!("expected HTTP status {want}, got {actual}")),
        None => Check::fail(
            &rules::ASSERT_STATUS,
            subject,
            format!("`status` {status} is {expected}, not an HTTP status: fix the scenario or the variable"),
        ),
    };
    out.push(check.sourced(source).at(Some(span.clone())).expected_actual(expected.to_string(), actual.to_string()));
}

/// An expectation's path with its variables applied; `None` (and a not-checked observation) when
/// one was never captured.
fn resolve_path(
    rule: &crate::contract::Rule,
    e: &Expectation,
    subject: &str,
    source: &str,
    vars: &Vars,
    out: &mut Vec<Check>,
) -> Option<String> {
    match interpolate_to_string(&e.path, vars) {
        Ok(path) => Some(path),
        Err(name) => {
            out.push(not_checked(rule, subject, &name, source, e.span.clone()));
            None
        }
    }
}

/// Checks on the file a step uploaded or downloaded (`sha256`, `size`, `content_type`).
pub fn file_checks(expect: &ResponseExpect, file: Option<&Value>, subject: &str, vars: &Vars, out: &mut Vec<Check>) {
    let source = expect.source.as_str();
    for e in &expect.file {
        let Some(path) = resolve_path(&rules::ASSERT_FILE, e, subject, source, vars, out) else { continue };
        let actual = file.and_then(|f| matcher::lookup(f, &path));
        expectation(&rules::ASSERT_FILE, e, actual, &format!("file {path}"), subject, source, vars, out);
    }
}

/// Whether a step's guard holds on what the step produced; the unmet matchers otherwise. An
/// unmet guard is an observation (`assert.guard`): the steps after it are skipped, not failed.
pub fn guard_check(guard: &Guard, context: &Value, subject: &str, vars: &Vars, out: &mut Vec<Check>) -> bool {
    let mut unmet = Vec::new();
    for e in &guard.fields {
        let (path, expected) = match (interpolate_to_string(&e.path, vars), interpolate(&e.value, vars)) {
            (Ok(path), Ok(expected)) => (path, expected),
            (Err(name), _) | (_, Err(name)) => {
                unmet.push(format!("`{name}` was never captured"));
                continue;
            }
        };
        let mut failures = Vec::new();
        matcher::match_value(&expected, matcher::lookup(context, &path), &path, &mut failures);
        unmet.extend(failures.into_iter().map(|f| format!("{} = {} (expected {})", f.path, f.actual, f.expected)));
    }
    let check = if unmet.is_empty() {
        Check::pass(&rules::ASSERT_GUARD, subject, "the guard holds")
    } else {
        Check::fail(
            &rules::ASSERT_GUARD,
            subject,
            format!("the guard is not met, so the steps after this one are skipped: {}", unmet.join("; ")),
        )
        .expected_actual(
            guard.fields.iter().map(|e| format!("{}: {}", e.path, e.value)).collect::<Vec<_>>().join(", "),
            unmet.join("; "),
        )
    };
    let held = check.passed;
    out.push(check.at(Some(guard.span.clone())));
    held
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
            match interpolate_to_string(&f.path, vars).and_then(|path| Ok((path, interpolate(&f.value, vars)?))) {
                Ok(field) => fields.push(field),
                Err(name) => {
                    out.push(not_checked(&rules::ASSERT_NOTIFICATION, agent, &name, &expect.source, f.span.clone()));
                    return Vec::new();
                }
            }
        }
        resolved.push(fields);
    }
    let subject = format!("notifications to {agent} on {}", expect.channel);
    let WaitOutcome { matched, unmatched, closest, candidates, problems } = inbox.wait(expect, floor, &resolved).await;
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
            // Why nothing came, when the CometD session knows: its failed connects being retried.
            let trouble = match problems {
                (latest, 0) if latest.is_empty() => String::new(),
                (latest, all) if all > latest.len() => {
                    format!("; meanwhile the CometD session had {all} problems, the latest: {}", latest.join(" | "))
                }
                (latest, _) => format!("; meanwhile the CometD session: {}", latest.join(" | ")),
            };
            out.push(
                Check::fail(
                    &rules::ASSERT_NOTIFICATION,
                    &subject,
                    format!(
                        "expectation {} of {}: no notification matched within {:?}{order}{detail}{trouble}",
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
        let path = match interpolate_to_string(&c.path, vars) {
            Ok(path) => path,
            Err(name) => {
                out.push(not_checked(&rules::ASSERT_CAPTURE, subject, &name, &c.source, c.span.clone()));
                continue;
            }
        };
        match matcher::lookup(context, &path) {
            Some(v) => {
                vars.insert(c.var.clone(), v.clone());
            }
            None => out.push(
                Check::fail(
                    &rules::ASSERT_CAPTURE,
                    subject,
                    format!("cannot capture `{}`: nothing at `{path}`", c.var),
                )
                .sourced(&c.source)
                .at(Some(c.span.clone()))
                .expected_actual(format!("a value at {path}"), "absent"),
            ),
        }
    }
}
