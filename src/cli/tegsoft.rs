//! `--tegsoft-profile`: the Tegsoft profile a run checks against and a simulator serves — a
//! built-in one by name (`builtin:default`, `builtin:upper`) or a YAML or JSON file.

use std::path::Path;

use crate::api::tegsoft::{BUILTIN_PREFIX, TegsoftProfile};

/// The flag's default.
pub const DEFAULT_SPEC: &str = "builtin:default";

/// Largest profile file read.
const MAX_FILE: u64 = 1 << 20;

/// Read the profile `spec` names; the message names the flag, the file and the field.
pub fn load(spec: &str) -> Result<TegsoftProfile, String> {
    let failed = |e: &dyn std::fmt::Display| format!("--tegsoft-profile {spec}: {e}");
    if let Some(name) = spec.strip_prefix(BUILTIN_PREFIX) {
        return TegsoftProfile::builtin(name).map_err(|e| failed(&e));
    }
    let path = Path::new(spec);
    let meta = std::fs::metadata(path).map_err(|e| failed(&e))?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return Err(failed(&format!("not a regular file of at most {MAX_FILE} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| failed(&e))?;
    TegsoftProfile::parse(&text).map_err(|e| failed(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_files_and_errors() {
        assert_eq!(load(DEFAULT_SPEC).unwrap(), TegsoftProfile::default());
        assert_eq!(load("builtin:upper").unwrap().name, "upper");
        let err = load("builtin:lower").unwrap_err();
        assert!(err.contains("--tegsoft-profile builtin:lower") && err.contains("default, upper"), "{err}");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/tegsoft/profiles/upper.yaml");
        assert_eq!(load(shipped.to_str().unwrap()).unwrap().name, "upper");
        let err = load("/nonexistent/profile.yaml").unwrap_err();
        assert!(err.contains("/nonexistent/profile.yaml"), "{err}");
        let err = load(env!("CARGO_MANIFEST_DIR")).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
    }
}
