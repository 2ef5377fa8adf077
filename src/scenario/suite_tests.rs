//! The shipped conformance suite keeps the rules that let it fail a server only on what the
//! documentation says: every expectation names its source; what a customer saw is read over
//! every page, and "never saw" only past a message that must have arrived; nothing rests on a
//! position in an array, on a count of capabilities or participants, on a status or error text,
//! or on a closed list of notificationTypes; each refusal gets its own verdict.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::source::is_profile;
use super::{Action, DEFAULT_SOURCE, Expectation, Scenario, Span, Via, parse_file, parse_str};

/// Directories under `scenarios/conformance` held to these rules. `tegsoft` joins the list
/// once its scenarios name their sources.
const SOURCED_DIRS: &[&str] = &["gws", "tegsoft"];

/// Where a scenario leaves an expectation on the default source: `file:line what` for each.
fn unsourced(sc: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |source: &str, span: &Span, what: &str| {
        if source == DEFAULT_SOURCE {
            out.push(format!("{}:{} {what}", span.file, span.line));
        }
    };
    for st in &sc.steps {
        for (block, what) in [(&st.expect, "expect"), (&st.profile, "profile")] {
            if let Some(b) = block {
                check(&b.source, &st.span, what);
            }
        }
        if let Some(n) = &st.notifications {
            check(&n.source, &n.span, "notifications");
        }
        match &st.action {
            Action::WaitFor { wait, .. } => check(&wait.source, &wait.span, "wait_for"),
            Action::ReadTranscript { until: Some(u), .. } => check(&u.source, &u.span, "read_transcript until"),
            _ => {}
        }
        for c in &st.captures {
            check(&c.source, &c.span, &format!("capture {}", c.var));
        }
    }
    out
}

/// A path segment that is a position: `[0]` or `.0`.
fn has_position(path: &str) -> bool {
    let bracketed = path.split('[').skip(1).any(|rest| {
        rest.split_once(']').is_some_and(|(inner, _)| !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()))
    });
    bracketed || path.split('.').any(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// The last key of a path, without a filter or position (`chat.capabilities` → `capabilities`).
fn last_key(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

/// What one expected value breaks, found at `path` (which may be a key path of its own).
fn lint_value(path: &str, value: &Value, documented: bool, out: &mut Vec<String>) {
    if has_position(path) {
        out.push(format!("`{path}` counts on a position"));
    }
    let key = last_key(path);
    match value {
        Value::Object(map) => {
            if documented && matches!(key, "capabilities" | "participants") && map.contains_key("$len") {
                out.push(format!("`{path}` counts {key}"));
            }
            if key == "notificationType" && map.keys().any(|k| k.starts_with('$')) {
                out.push(format!("`{path}` treats notificationType as a closed list"));
            }
            // `$type` names a type, not a value.
            for (k, v) in map.iter().filter(|(k, _)| *k != "$type") {
                // An operator applies to the value at `path`; any other key goes one level down.
                let sub = if k.starts_with('$') { path.to_owned() } else { format!("{path}.{k}") };
                lint_value(&sub, v, documented, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| lint_value(path, v, documented, out)),
        Value::String(_) if matches!(key, "statusMessage" | "errorMessage") => {
            out.push(format!("`{path}` asserts a text"));
        }
        _ => {}
    }
}

fn lint_fields(fields: &[Expectation], documented: bool, out: &mut Vec<String>) {
    for e in fields {
        lint_value(&e.path, &e.value, documented, out);
    }
}

/// Whether an expected value says "not" anywhere.
fn negates(v: &Value) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, v)| k == "$not" || negates(v)),
        Value::Array(items) => items.iter().any(negates),
        _ => false,
    }
}

/// What a scenario does that the suite must not: `file:line what` for each.
fn lint(sc: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    // (customer, chat) read up to a message that must arrive.
    let mut waited: Vec<(String, String)> = Vec::new();
    for st in &sc.steps {
        let mut found = Vec::new();
        for block in [&st.expect, &st.profile].into_iter().flatten() {
            let documented = !is_profile(&block.source);
            for fields in [&block.body, &block.headers, &block.file] {
                lint_fields(fields, documented, &mut found);
            }
        }
        let waits = match &st.action {
            Action::WaitFor { wait, .. } => Some(wait),
            _ => st.notifications.as_ref(),
        };
        for wait in waits.into_iter() {
            for item in &wait.items {
                lint_fields(&item.fields, !is_profile(&wait.source), &mut found);
            }
        }
        for c in &st.captures {
            if has_position(&c.path) {
                found.push(format!("capture `{}` counts on a position", c.path));
            }
        }
        if st.expect.as_ref().is_some_and(|e| e.refused.is_some()) && !st.continue_on_failure {
            found.push("a refusal without continue_on_failure hides the probes after it".into());
        }
        match &st.action {
            Action::Http { via: Via::Customer(_), request }
                if request.path.contains("/messages")
                    && [&st.expect, &st.profile].into_iter().flatten().any(|b| !b.body.is_empty()) =>
            {
                found.push("asserts the customer's transcript on one page: use read_transcript".into());
            }
            Action::ReadTranscript { customer, chat, until, .. } => {
                if let Some(u) = until {
                    lint_value("messages", &u.value, !is_profile(&u.source), &mut found);
                    waited.push((customer.clone(), chat.clone()));
                }
                let says_not = st.expect.iter().chain(&st.profile).any(|b| b.body.iter().any(|e| negates(&e.value)));
                if says_not && !waited.contains(&(customer.clone(), chat.clone())) {
                    found.push("\"never saw\" on a transcript not read up to a message that must arrive".into());
                }
            }
            _ => {}
        }
        out.extend(found.into_iter().map(|f| format!("{}:{} ({}): {f}", st.span.file, st.span.line, st.name)));
    }
    out
}

/// The scenarios under [`SOURCED_DIRS`]; every conformance scenario must parse.
fn suite() -> Vec<Scenario> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/conformance");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut suite = Vec::new();
    for file in files {
        let sc =
            parse_file(&file).unwrap_or_else(|d| panic!("{}", d.iter().map(ToString::to_string).collect::<String>()));
        let dir = file.strip_prefix(&root).ok().and_then(|p| p.iter().next()).and_then(|d| d.to_str());
        if dir.is_some_and(|d| SOURCED_DIRS.contains(&d)) {
            suite.push(sc);
        }
    }
    suite
}

#[test]
fn an_expectation_without_a_source_is_found() {
    let text = r#"
name: half sourced
steps:
  - { login: a1 }
  - name: sourced by its block
    agent: a1
    http: { path: /api/v2/me }
    expect: { source: "HL/ReturnValues", body: { statusCode: 0 } }
  - name: sourced by nothing
    agent: a1
    wait_for: { match: { chat.state: Invited } }
    capture: { chat: notification.chat.id }
  - name: a profile block is sourced by itself
    agent: a1
    http: { path: /api/v2/me }
    profile: { status: 200 }
"#;
    let found = unsourced(&parse_str("h.yaml", text).unwrap());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("h.yaml:11 wait_for"), "{found:?}");
    assert!(found[1].starts_with("h.yaml:12 capture chat"), "{found:?}");
    let sourced = text.replacen("name: half sourced", "name: half sourced\nsource: \"profile: x\"", 1);
    assert!(unsourced(&parse_str("h.yaml", &sourced).unwrap()).is_empty());
}

#[test]
fn every_shipped_expectation_names_its_source() {
    let suite = suite();
    assert!(suite.len() >= 25, "only {} scenarios under {SOURCED_DIRS:?}", suite.len());
    let missing: Vec<String> = suite.iter().flat_map(unsourced).collect();
    assert!(missing.is_empty(), "expectations naming no source:\n{}", missing.join("\n"));
}

#[test]
fn what_the_suite_must_not_do_is_found() {
    let text = r#"
name: careless
source: "HL/ReturnValues"
steps:
  - { login: a1 }
  - name: one page of the customer's transcript
    customer: c1
    http: { path: "/api/v2/chats/x/messages" }
    expect: { body: { messages: { $contains: { text: hi } } } }
  - name: never saw, on nothing
    customer: c1
    read_transcript: { chat: x }
    expect: { body: { messages: { $not: { $contains: { text: secret } } } } }
  - name: positions, counts and texts
    agent: a1
    operation: Complete
    chat: x
    expect: { body: { statusMessage: "Chat not found" } }
    notifications:
      match: { notificationType: { $one_of: [StatusChange] }, chat.capabilities: { $len: 0 }, "messages[0].index": 1 }
    capture: { i: "notification.messages.0.index" }
  - name: a refusal that stops the rest
    agent: a1
    operation: Complete
    chat: x
    expect: { refused: [2] }
  - name: a count in a profile block is fine
    agent: a1
    http: { path: /api/v2/me/chats }
    profile: { body: { "chats[id=x].participants": { $len: 2 } } }
"#;
    let found = lint(&parse_str("c.yaml", text).unwrap());
    let expect = [
        ("c.yaml:6 ", "use read_transcript"),
        ("c.yaml:10 ", "never saw"),
        ("c.yaml:14 ", "`statusMessage` asserts a text"),
        ("c.yaml:14 ", "closed list"),
        ("c.yaml:14 ", "`chat.capabilities` counts capabilities"),
        ("c.yaml:14 ", "`messages[0].index` counts on a position"),
        ("c.yaml:14 ", "capture `notification.messages.0.index`"),
        ("c.yaml:22 ", "without continue_on_failure"),
    ];
    for (at, what) in expect {
        assert!(found.iter().any(|f| f.starts_with(at) && f.contains(what)), "{at}{what} not in {found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn the_shipped_suite_does_nothing_it_must_not() {
    let found: Vec<String> = suite().iter().flat_map(lint).collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}
