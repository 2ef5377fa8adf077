//! The profile as scenario variables: the runner gives every scenario `tegsoft.*` variables made
//! from the profile it runs with, so one scenario set works against any profile. A scenario says
//! `path: "${tegsoft.upload_file_path}"` and `"${tegsoft.key.file_id}": {$type: string}`, never a
//! path or key of its own. External variables (`--var tegsoft.key.result=RESULT`) still win.

use serde_json::Value;

use super::{FileType, Refusal, TegsoftProfile};

/// Every variable made from a profile starts with this.
pub const VAR_PREFIX: &str = "tegsoft.";

impl TegsoftProfile {
    /// The variables of this profile for a target at `base_url`:
    /// - `tegsoft.profile`: the profile's name;
    /// - `tegsoft.upload_file_path`, `tegsoft.send_message_path`;
    /// - `tegsoft.sample.<type>.path`, `.name` and `.url` (`base_url` + path) for `image`,
    ///   `audio`, `video`, `document`;
    /// - `tegsoft.file_name_required` (a boolean);
    /// - `tegsoft.key.result`, `.message_id`, `.file_id`, `.error_code`, `.message`;
    /// - `tegsoft.success.status` (a number), `tegsoft.success.result`, `tegsoft.failure.result`;
    /// - `tegsoft.error.<refusal>.code` and `.status` for every refusal (`missing_chat_id`, ...);
    /// - `tegsoft.no_file_name.status` and `.result`: the answer to a `fileDetails` without
    ///   `fileName` — a `missing_parameter` refusal where `fileName` is required, else a success.
    pub fn variables(&self, base_url: &str) -> Vec<(String, Value)> {
        let v = |name: &str, value: Value| (format!("{VAR_PREFIX}{name}"), value);
        let s = |text: &str| Value::String(text.to_owned());
        let r = &self.responses;
        let mut out = vec![
            v("profile", s(&self.name)),
            v("upload_file_path", s(&self.services.upload_file)),
            v("send_message_path", s(&self.services.send_message)),
            v("file_name_required", Value::Bool(self.requests.file_name_required)),
            v("key.result", s(&r.keys.result)),
            v("key.message_id", s(&r.keys.message_id)),
            v("key.file_id", s(&r.keys.file_id)),
            v("key.error_code", s(&r.keys.error_code)),
            v("key.message", s(&r.keys.message)),
            v("success.status", Value::from(r.success.status)),
            v("success.result", s(&r.success.result)),
            v("failure.result", s(&r.failure.result)),
        ];
        let base = base_url.trim_end_matches('/');
        for t in FileType::ALL {
            let sample = self.samples.get(t);
            out.push(v(&format!("sample.{}.path", t.key()), s(&sample.path)));
            out.push(v(&format!("sample.{}.name", t.key()), s(&sample.name)));
            out.push(v(&format!("sample.{}.url", t.key()), Value::String(format!("{base}{}", sample.path))));
        }
        for refusal in Refusal::ALL {
            let spec = r.errors.get(refusal);
            out.push(v(&format!("error.{}.code", refusal.key()), s(&spec.code)));
            out.push(v(&format!("error.{}.status", refusal.key()), Value::from(spec.status)));
        }
        let (status, result) = if self.requests.file_name_required {
            (r.errors.missing_parameter.status, &r.failure.result)
        } else {
            (r.success.status, &r.success.result)
        };
        out.push(v("no_file_name.status", Value::from(status)));
        out.push(v("no_file_name.result", s(result)));
        out
    }
}

/// The names of the profile variables; the same for every profile, so a scenario can be
/// checked before the profile is known.
pub fn variable_names() -> Vec<String> {
    TegsoftProfile::default().variables("").into_iter().map(|(name, _)| name).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn get(vars: &[(String, Value)], name: &str) -> Value {
        vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn every_profile_gives_the_same_names() {
        let names = variable_names();
        for name in crate::api::tegsoft::BUILTIN_NAMES {
            let vars = TegsoftProfile::builtin(name).unwrap().variables("http://h");
            let these: Vec<String> = vars.into_iter().map(|(n, _)| n).collect();
            assert_eq!(these, names, "{name}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "a name is given twice");
        assert!(names.iter().all(|n| n.starts_with(VAR_PREFIX)));
    }

    #[test]
    fn values_come_from_the_profile() {
        let upper = TegsoftProfile::builtin("upper").unwrap();
        let vars = upper.variables("http://127.0.0.1:9/base/");
        assert_eq!(get(&vars, "tegsoft.key.result"), json!(upper.responses.keys.result));
        assert_eq!(get(&vars, "tegsoft.success.status"), json!(upper.responses.success.status));
        let url = format!("http://127.0.0.1:9/base{}", upper.samples.image.path);
        assert_eq!(get(&vars, "tegsoft.sample.image.url"), json!(url));
        assert_eq!(
            get(&vars, "tegsoft.error.unknown_chat_id.code"),
            json!(upper.responses.errors.unknown_chat_id.code)
        );
        // `upper` does not require fileName: a file without one is accepted.
        assert!(!upper.requests.file_name_required);
        assert_eq!(get(&vars, "tegsoft.no_file_name.status"), json!(upper.responses.success.status));
        let default = TegsoftProfile::default().variables("");
        assert_eq!(get(&default, "tegsoft.no_file_name.result"), json!("FAILURE"));
        assert_eq!(get(&default, "tegsoft.no_file_name.status"), json!(400));
    }
}
