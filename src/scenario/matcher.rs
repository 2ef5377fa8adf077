//! Matching JSON values against expectations written in scenario files.
//!
//! A path such as `chat.participants[0].type` (or `chat.participants.0.type`) selects a value.
//! A filter selects the first element of an array that has something, wherever it stands:
//! `messages[?attachment]` (the first message with an attachment) or `messages[?type=Text]` (the
//! first whose `type` is `Text`; a number or boolean compares by its JSON text), so a scenario
//! need not assume a transcript position.
//! An expected value matches by equality, objects match as a subset (keys may be paths), arrays
//! element by element, and an object whose keys all start with `$` is a set of operators:
//! `$exists`, `$absent`, `$type`, `$contains`, `$len`, `$gt`, `$gte`, `$lt`, `$lte`, `$one_of`,
//! `$not`, `$starts_with`.

use serde_json::Value;

/// One way a value failed to match, with the path it was found at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub path: String,
    pub expected: String,
    pub actual: String,
}

/// Operators an expectation object may use.
pub const OPERATORS: &[&str] = &[
    "$exists",
    "$absent",
    "$type",
    "$contains",
    "$len",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$one_of",
    "$not",
    "$starts_with",
];

/// Select the value at `path` (empty path = the root).
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = root;
    for seg in segments(path) {
        cur = match (cur, seg) {
            (Value::Object(map), Segment::Key(k)) => map.get(k)?,
            (Value::Array(items), Segment::Index(i)) => items.get(i)?,
            (Value::Array(items), Segment::Key(k)) => items.get(k.parse::<usize>().ok()?)?,
            (Value::Object(map), Segment::Index(i)) => map.get(&i.to_string())?,
            (Value::Array(items), Segment::Find { path, value }) => {
                items.iter().find(|item| found(item, path, value))?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// Whether `item` has a non-null value at `path`, equal to `value` when one is given.
fn found(item: &Value, path: &str, value: Option<&str>) -> bool {
    match (lookup(item, path), value) {
        (None | Some(Value::Null), _) => false,
        (Some(_), None) => true,
        (Some(Value::String(s)), Some(v)) => s == v,
        (Some(other @ (Value::Number(_) | Value::Bool(_))), Some(v)) => {
            serde_json::from_str::<Value>(v).ok().as_ref() == Some(other)
        }
        (Some(_), Some(_)) => false,
    }
}

/// Select the value at a JSON Pointer (`/chat/participants/0`), as schema errors report them.
pub fn lookup_pointer<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() { Some(root) } else { root.pointer(pointer) }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
    /// `[?path]` or `[?path=value]`: the first element that has it.
    Find {
        path: &'a str,
        value: Option<&'a str>,
    },
}

/// The dot-separated parts of a path; a dot inside brackets belongs to the bracket.
fn parts(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in parts(path).into_iter().filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Segment::Key(&rest[..open]));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    out.push(Segment::Key(rest));
                    break;
                };
                let inner = &stripped[..close];
                if let Some(filter) = inner.strip_prefix('?') {
                    let (path, value) = filter.split_once('=').map_or((filter, None), |(p, v)| (p, Some(v)));
                    out.push(Segment::Find { path, value });
                } else {
                    match inner.parse::<usize>() {
                        Ok(i) => out.push(Segment::Index(i)),
                        Err(_) => out.push(Segment::Key(inner)),
                    }
                }
                rest = &stripped[close + 1..];
            }
        } else {
            out.push(Segment::Key(rest));
        }
    }
    out
}

/// Whether `path` is well formed (for checking scenario files before running them).
pub fn check_path(path: &str) -> Result<(), String> {
    let mut depth = 0i32;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(format!("unbalanced brackets in path `{path}`"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced brackets in path `{path}`"));
    }
    if !path.is_empty() && parts(path).iter().any(|p| p.is_empty()) {
        return Err(format!("empty segment in path `{path}`"));
    }
    for segment in segments(path) {
        if let Segment::Find { path: inner, .. } = segment {
            if inner.is_empty() {
                return Err(format!("a filter names no field in path `{path}` (write `[?field]` or `[?field=value]`)"));
            }
            check_path(inner)?;
        }
    }
    Ok(())
}

/// Check an operator object for unknown operators (before running).
pub fn check_expected(expected: &Value) -> Result<(), String> {
    match expected {
        Value::Object(map) if is_operator_object(map) => {
            for (k, v) in map {
                if !OPERATORS.contains(&k.as_str()) {
                    return Err(format!("unknown operator `{k}` (known: {})", OPERATORS.join(", ")));
                }
                if k == "$not" {
                    check_expected(v)?;
                }
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map {
                check_path(k)?;
                check_expected(v)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_expected),
        _ => Ok(()),
    }
}

fn is_operator_object(map: &serde_json::Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| k.starts_with('$'))
}

/// Match `actual` (None = absent) against `expected`, appending failures under `path`.
pub fn match_value(expected: &Value, actual: Option<&Value>, path: &str, out: &mut Vec<Failure>) {
    match expected {
        Value::Object(ops) if is_operator_object(ops) => {
            for (op, arg) in ops {
                apply_operator(op, arg, actual, path, out);
            }
        }
        Value::Object(fields) => match actual {
            Some(act @ Value::Object(_)) => {
                for (key, exp) in fields {
                    let sub = join(path, key);
                    match_value(exp, lookup(act, key), &sub, out);
                }
            }
            other => out.push(fail(path, "an object".to_owned(), other)),
        },
        Value::Array(items) => match actual {
            Some(Value::Array(acts)) if acts.len() == items.len() => {
                for (i, (exp, act)) in items.iter().zip(acts).enumerate() {
                    match_value(exp, Some(act), &format!("{path}[{i}]"), out);
                }
            }
            other => out.push(fail(path, expected.to_string(), other)),
        },
        scalar => {
            if !actual.is_some_and(|a| scalar_eq(scalar, a)) {
                out.push(fail(path, scalar.to_string(), actual));
            }
        }
    }
}

fn apply_operator(op: &str, arg: &Value, actual: Option<&Value>, path: &str, out: &mut Vec<Failure>) {
    let ok = match op {
        "$exists" => actual.is_some() == arg.as_bool().unwrap_or(true),
        "$absent" => actual.is_none() == arg.as_bool().unwrap_or(true),
        "$type" => actual.is_some_and(|a| arg.as_str().is_some_and(|t| type_is(a, t))),
        "$contains" => actual.is_some_and(|a| contains(a, arg)),
        "$starts_with" => {
            actual.and_then(Value::as_str).is_some_and(|s| arg.as_str().is_some_and(|p| s.starts_with(p)))
        }
        "$len" => actual.and_then(length).is_some_and(|n| {
            // `$len: 2` or `$len: {$gte: 2}`
            let mut inner = Vec::new();
            match_value(arg, Some(&Value::from(n)), path, &mut inner);
            inner.is_empty()
        }),
        "$gt" | "$gte" | "$lt" | "$lte" => match (actual.and_then(Value::as_f64), arg.as_f64()) {
            (Some(a), Some(b)) => match op {
                "$gt" => a > b,
                "$gte" => a >= b,
                "$lt" => a < b,
                _ => a <= b,
            },
            _ => false,
        },
        "$one_of" => {
            actual.is_some_and(|a| arg.as_array().is_some_and(|choices| choices.iter().any(|c| scalar_eq(c, a))))
        }
        "$not" => {
            let mut inner = Vec::new();
            match_value(arg, actual, path, &mut inner);
            !inner.is_empty()
        }
        _ => false,
    };
    if !ok {
        let expected = if op == "$exists" || op == "$absent" {
            let present = (op == "$exists") == arg.as_bool().unwrap_or(true);
            if present { "present".to_owned() } else { "absent".to_owned() }
        } else {
            format!("{op} {arg}")
        };
        out.push(fail(path, expected, actual));
    }
}

fn type_is(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

fn contains(actual: &Value, needle: &Value) -> bool {
    match actual {
        Value::String(s) => needle.as_str().is_some_and(|n| s.contains(n)),
        Value::Array(items) => items.iter().any(|item| {
            let mut f = Vec::new();
            match_value(needle, Some(item), "", &mut f);
            f.is_empty()
        }),
        Value::Object(map) => needle.as_str().is_some_and(|k| map.contains_key(k)),
        _ => false,
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

/// Equality that treats 0 and 0.0 alike.
fn scalar_eq(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        _ => expected == actual,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn fail(path: &str, expected: String, actual: Option<&Value>) -> Failure {
    Failure { path: path.to_owned(), expected, actual: describe(actual) }
}

/// A short rendering of a value for messages (long values are cut).
pub fn describe(v: Option<&Value>) -> String {
    match v {
        None => "absent".to_owned(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 200 {
                let cut: String = s.chars().take(200).collect();
                format!("{cut}…")
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(expected: Value, actual: Value) -> Vec<Failure> {
        let mut out = Vec::new();
        match_value(&expected, Some(&actual), "", &mut out);
        out
    }

    #[test]
    fn lookup_by_dots_and_brackets() {
        let v = json!({"chat": {"participants": [{"type": "Agent"}, {"type": "Customer"}]}});
        assert_eq!(lookup(&v, "chat.participants[1].type"), Some(&json!("Customer")));
        assert_eq!(lookup(&v, "chat.participants.0.type"), Some(&json!("Agent")));
        assert_eq!(lookup(&v, "chat.nope"), None);
        assert_eq!(lookup(&v, ""), Some(&v));
    }

    #[test]
    fn filters_find_the_first_element_that_has_it() {
        let v = json!({"messages": [
            {"index": 1, "type": "ParticipantJoined"},
            {"index": 2, "type": "Notice", "text": "bot.v2 says hi"},
            {"index": 3, "type": "SystemCommand", "attachment": {"id": "d1", "name": "a.png"}},
            {"index": 4, "type": "SystemCommand", "attachment": {"id": "d2", "name": "b.pdf"}},
            {"index": 5, "type": "Text", "text": null},
        ]});
        assert_eq!(lookup(&v, "messages[?attachment].attachment.id"), Some(&json!("d1")));
        assert_eq!(lookup(&v, "messages[?attachment.name=b.pdf].index"), Some(&json!(4)));
        assert_eq!(lookup(&v, "messages[?index=2].text"), Some(&json!("bot.v2 says hi")));
        assert_eq!(lookup(&v, "messages[?text=bot.v2 says hi].index"), Some(&json!(2)));
        assert_eq!(lookup(&v, "messages[?type=Text].index"), Some(&json!(5)));
        // A null is nothing to find.
        assert_eq!(lookup(&v, "messages[?text].index"), Some(&json!(2)));
        assert_eq!(lookup(&v, "messages[?attachment.name=c.txt]"), None);
        assert_eq!(lookup(&v, "messages[?url]"), None);
        // Not an array: nothing.
        assert_eq!(lookup(&v, "messages[0][?id]"), None);
        assert!(check_path("messages[?attachment.name=b.pdf].index").is_ok());
        assert!(check_path("messages[?].index").unwrap_err().contains("names no field"));
        assert!(check_path("messages[?a..b]").unwrap_err().contains("empty segment"));
        assert!(check_path("a..b").is_err());
    }

    #[test]
    fn subset_objects_and_paths_as_keys() {
        let actual = json!({"statusCode": 0, "chat": {"state": "Chatting", "id": "x"}});
        assert!(check(json!({"chat.state": "Chatting"}), actual.clone()).is_empty());
        let f = check(json!({"chat": {"state": "Invited"}}), actual);
        assert_eq!(
            f,
            vec![Failure { path: "chat.state".into(), expected: "\"Invited\"".into(), actual: "\"Chatting\"".into() }]
        );
    }

    #[test]
    fn operators() {
        let actual = json!({"caps": ["Accept", "Reject"], "n": 3, "s": "hello"});
        assert!(check(json!({"caps": {"$contains": "Accept", "$len": 2}}), actual.clone()).is_empty());
        assert!(check(json!({"caps": {"$len": {"$gte": 2, "$lt": 3}}}), actual.clone()).is_empty());
        assert_eq!(check(json!({"caps": {"$len": {"$gt": 2}}}), actual.clone()).len(), 1);
        assert!(check(json!({"n": {"$gt": 2, "$lte": 3, "$type": "integer"}}), actual.clone()).is_empty());
        assert!(check(json!({"s": {"$starts_with": "he"}, "x": {"$absent": true}}), actual.clone()).is_empty());
        assert!(check(json!({"s": {"$not": "bye"}, "n": {"$one_of": [1, 3]}}), actual.clone()).is_empty());
        assert_eq!(check(json!({"caps": {"$contains": "Leave"}}), actual.clone()).len(), 1);
        let f = check(json!({"x": {"$exists": true}}), actual);
        assert_eq!(f[0].expected, "present");
        assert_eq!(f[0].actual, "absent");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(check(json!(0), json!(0.0)).is_empty());
        assert_eq!(check(json!(0), json!("0")).len(), 1);
    }

    #[test]
    fn unknown_operator_is_reported() {
        assert!(check_expected(&json!({"$exist": true})).unwrap_err().contains("unknown operator"));
        assert!(check_expected(&json!({"a[0": 1})).is_err());
    }
}
