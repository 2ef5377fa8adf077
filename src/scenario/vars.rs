//! Variables: `${name}` in any string of a scenario is replaced by the variable's value before a
//! step runs. A string that is exactly `${name}` takes the variable's JSON value (a captured
//! number stays a number); inside a longer string the value is spliced as text. `$${` is a
//! literal `${`.

use std::collections::HashMap;

use serde_json::Value;

/// Variables of a running scenario.
pub type Vars = HashMap<String, Value>;

/// Every variable name referenced in `s`.
pub fn references(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        if pos > 0 && rest.as_bytes()[pos - 1] == b'$' {
            rest = &rest[pos + 2..];
            continue;
        }
        let after = &rest[pos + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].trim().to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Every variable referenced anywhere inside `v` (keys included).
pub fn references_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(references(s)),
        Value::Array(items) => items.iter().for_each(|i| references_in(i, out)),
        Value::Object(map) => {
            for (k, val) in map {
                out.extend(references(k));
                references_in(val, out);
            }
        }
        _ => {}
    }
}

/// Replace references in a string. Err names the first undefined variable.
pub fn interpolate_str(s: &str, vars: &Vars) -> Result<Value, String> {
    let trimmed = s.trim();
    if let Some(name) = trimmed.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !name.contains("${")
        && !name.contains('}')
        && s == trimmed
    {
        return vars.get(name.trim()).cloned().ok_or_else(|| name.trim().to_owned());
    }
    if !s.contains("${") {
        return Ok(Value::String(s.to_owned()));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        if pos > 0 && rest.as_bytes()[pos - 1] == b'$' {
            out.push_str(&rest[..pos - 1]);
            out.push_str("${");
            rest = &rest[pos + 2..];
            continue;
        }
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[pos..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        match vars.get(name) {
            Some(Value::String(v)) => out.push_str(v),
            Some(other) => out.push_str(&other.to_string()),
            None => return Err(name.to_owned()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// Replace references everywhere inside a JSON value.
pub fn interpolate(v: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => interpolate_str(s, vars)?,
        Value::Array(items) => Value::Array(items.iter().map(|i| interpolate(i, vars)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, val) in map {
                let key = match interpolate_str(k, vars)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, interpolate(val, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Interpolate and require a string result.
pub fn interpolate_to_string(s: &str, vars: &Vars) -> Result<String, String> {
    Ok(match interpolate_str(s, vars)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        HashMap::from([("n".to_owned(), json!(7)), ("id".to_owned(), json!("abc"))])
    }

    #[test]
    fn whole_reference_keeps_type() {
        assert_eq!(interpolate_str("${n}", &vars()).unwrap(), json!(7));
        assert_eq!(interpolate_str("chat-${id}-${n}", &vars()).unwrap(), json!("chat-abc-7"));
    }

    #[test]
    fn escape_and_missing() {
        assert_eq!(interpolate_str("$${id}", &vars()).unwrap(), json!("${id}"));
        assert_eq!(interpolate_str("${nope}", &vars()).unwrap_err(), "nope");
        assert_eq!(references("a ${x} b $${y} ${ z }"), vec!["x", "z"]);
    }

    #[test]
    fn nested_values() {
        let v = interpolate(&json!({"k": ["${id}", {"${id}": "${n}"}]}), &vars()).unwrap();
        assert_eq!(v, json!({"k": ["abc", {"abc": 7}]}));
    }
}
