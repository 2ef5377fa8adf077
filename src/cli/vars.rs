//! Variables given to a run from outside the scenario files, as Hurl's `--variable` and
//! `--variables-file` do: `--var NAME=VALUE` (repeatable), `--vars-file FILE` (`NAME=VALUE`
//! lines, `#` comments) and `CHATPROBE_VAR_NAME=VALUE` in the environment. Later sources win:
//! environment, then the files in order, then `--var`. A value that reads as a JSON number,
//! `true`, `false` or `null` (written exactly as JSON would write it) takes that type; anything
//! else is a string.

use std::path::Path;

use serde_json::Value;

/// Prefix of the environment variables that define scenario variables.
pub const ENV_PREFIX: &str = "CHATPROBE_VAR_";

/// Every external variable, last definition winning, in first-definition order.
pub fn collect(
    env: impl IntoIterator<Item = (String, String)>,
    files: &[std::path::PathBuf],
    flags: &[String],
) -> Result<Vec<(String, Value)>, String> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let set = |name: String, value: &str, out: &mut Vec<(String, Value)>| {
        let value = typed(value);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name, value)),
        }
    };
    let mut from_env: Vec<(String, String)> =
        env.into_iter().filter_map(|(k, v)| k.strip_prefix(ENV_PREFIX).map(|n| (n.to_owned(), v))).collect();
    from_env.sort();
    for (name, value) in from_env {
        check_name(&name).map_err(|e| format!("{ENV_PREFIX}{name}: {e}"))?;
        set(name, &value, &mut out);
    }
    for file in files {
        for (name, value) in read_file(file)? {
            set(name, &value, &mut out);
        }
    }
    for flag in flags {
        let (name, value) = split(flag).map_err(|e| format!("--var `{}`: {e}", shown(flag)))?;
        set(name, &value, &mut out);
    }
    Ok(out)
}

/// `NAME=VALUE` lines of a file; blank lines and `#` comments are skipped.
fn read_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("--vars-file {}: {e}", path.display()))?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return Err(format!("--vars-file {}: not a regular file of at most 1 MiB", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("--vars-file {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = split(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        out.push((name, value.trim().to_owned()));
    }
    Ok(out)
}

fn split(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or("expected NAME=VALUE")?;
    let name = name.trim();
    check_name(name)?;
    Ok((name.to_owned(), value.to_owned()))
}

/// The name only, for messages: a value may be a secret.
fn shown(flag: &str) -> String {
    flag.split_once('=').map_or_else(|| flag.chars().take(40).collect(), |(n, _)| format!("{n}=…"))
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok { Ok(()) } else { Err(format!("invalid variable name `{}`", name.chars().take(40).collect::<String>())) }
}

/// A number, boolean or null written as JSON writes it keeps that type; else a string.
fn typed(value: &str) -> Value {
    match serde_json::from_str::<Value>(value) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) if v.to_string().as_str() == value => v,
        _ => Value::String(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn later_sources_win_and_values_are_typed() {
        let dir = std::env::temp_dir().join(format!("chatprobe-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("target.vars");
        std::fs::write(&file, "# deployment\nqueue=Sales\n\ndocument = 0001\nsize=20053630\n").unwrap();
        let env = vec![
            ("CHATPROBE_VAR_queue".to_owned(), "FromEnv".to_owned()),
            ("CHATPROBE_VAR_flag".to_owned(), "true".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let vars = collect(env, std::slice::from_ref(&file), &["queue=Flag{x}".into(), "empty=".into()]).unwrap();
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("queue"), Some(json!("Flag{x}")));
        assert_eq!(get("flag"), Some(json!(true)));
        assert_eq!(get("document"), Some(json!("0001")), "leading zeros stay text");
        assert_eq!(get("size"), Some(json!(20053630)));
        assert_eq!(get("empty"), Some(json!("")));
        assert_eq!(get("PATH"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_names_where_and_hides_values() {
        let e = collect(Vec::new(), &[], &["no-equals".into()]).unwrap_err();
        assert!(e.contains("NAME=VALUE"), "{e}");
        let e = collect(Vec::new(), &[], &["1bad=secret-value".into()]).unwrap_err();
        assert!(e.contains("invalid variable name") && !e.contains("secret-value"), "{e}");
        let e = collect(Vec::new(), &[Path::new("/nonexistent/vars").to_owned()], &[]).unwrap_err();
        assert!(e.contains("/nonexistent/vars"), "{e}");
    }
}
