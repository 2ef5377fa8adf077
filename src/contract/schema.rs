//! The schema registry: every JSON Schema (2020-12) chatprobe checks bodies and Bayeux messages
//! against, compiled once at load and looked up by name ("chat", "notification-chats", ...).
//!
//! The schemas ship inside the binary (`embedded`) and can be replaced by a directory of files
//! (`load_dir`, the `--schemas` override). The Tegsoft answers' two schemas are not files: they
//! are generated from the Tegsoft profile the registry is given (`with_tegsoft_profile`, the
//! built-in default until then), and the registry keeps that profile so the classifier knows
//! which paths they apply to. Files refer to each other with relative `$ref`s
//! (`"$ref": "chat.schema.json"`); all of them are registered in memory under their `$id`, and
//! nothing is ever fetched. Validation sits on the hot path of a load test: a valid instance
//! costs one `is_valid` walk and an empty `Vec`; errors are collected only for invalid ones.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

use crate::api::tegsoft::TegsoftProfile;

/// Suffix that marks a schema file; the name is what comes before it.
pub const SCHEMA_SUFFIX: &str = ".schema.json";

/// The only dialect chatprobe's schemas are written in.
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Base URI of files that carry no `$id`: relative `$ref`s between siblings still resolve.
const LOCAL_BASE: &str = "https://chatprobe.invalid/local/";

/// The schemas compiled into the binary, listed once. A unit test checks this table against the
/// files in `schemas/gws/`, so a new file cannot be forgotten here.
const EMBEDDED: &[(&str, &str)] = &[
    ("attachment", include_str!("../../schemas/gws/attachment.schema.json")),
    ("bayeux-connect", include_str!("../../schemas/gws/bayeux-connect.schema.json")),
    ("bayeux-disconnect", include_str!("../../schemas/gws/bayeux-disconnect.schema.json")),
    ("bayeux-event", include_str!("../../schemas/gws/bayeux-event.schema.json")),
    ("bayeux-handshake", include_str!("../../schemas/gws/bayeux-handshake.schema.json")),
    ("bayeux-subscribe", include_str!("../../schemas/gws/bayeux-subscribe.schema.json")),
    ("chat", include_str!("../../schemas/gws/chat.schema.json")),
    ("chat-messages-response", include_str!("../../schemas/gws/chat-messages-response.schema.json")),
    ("common", include_str!("../../schemas/gws/common.schema.json")),
    ("customer-chat-response", include_str!("../../schemas/gws/customer-chat-response.schema.json")),
    ("customer-request-chat-response", include_str!("../../schemas/gws/customer-request-chat-response.schema.json")),
    ("error-response", include_str!("../../schemas/gws/error-response.schema.json")),
    ("me-chats-response", include_str!("../../schemas/gws/me-chats-response.schema.json")),
    ("me-response", include_str!("../../schemas/gws/me-response.schema.json")),
    ("message", include_str!("../../schemas/gws/message.schema.json")),
    ("notification-channels", include_str!("../../schemas/gws/notification-channels.schema.json")),
    ("notification-chats", include_str!("../../schemas/gws/notification-chats.schema.json")),
    ("operation-response", include_str!("../../schemas/gws/operation-response.schema.json")),
    ("participant", include_str!("../../schemas/gws/participant.schema.json")),
    ("user", include_str!("../../schemas/gws/user.schema.json")),
    ("version-response", include_str!("../../schemas/gws/version-response.schema.json")),
];

/// Where the embedded files live in the source tree, for error messages.
const EMBEDDED_DIR: &str = "schemas/gws";

/// The Tegsoft page's documented request shapes, compiled in next to the GWS ones (same rules;
/// their names start with `tegsoft-` so they cannot clash with a GWS name).
const EMBEDDED_TEGSOFT: &[(&str, &str)] = &[
    ("tegsoft-file-details", include_str!("../../schemas/tegsoft/tegsoft-file-details.schema.json")),
    ("tegsoft-send-message-request", include_str!("../../schemas/tegsoft/tegsoft-send-message-request.schema.json")),
    ("tegsoft-upload-file-request", include_str!("../../schemas/tegsoft/tegsoft-upload-file-request.schema.json")),
];

/// Where the Tegsoft files live in the source tree.
const EMBEDDED_TEGSOFT_DIR: &str = "schemas/tegsoft";

/// Every embedded table with its directory.
const EMBEDDED_SETS: &[(&str, &[(&str, &str)])] = &[(EMBEDDED_DIR, EMBEDDED), (EMBEDDED_TEGSOFT_DIR, EMBEDDED_TEGSOFT)];

/// Compiled schemas by name. Validators are immutable, so the registry is `Send + Sync` and is
/// shared behind an `Arc` by every task of a run.
pub struct SchemaRegistry {
    schemas: BTreeMap<String, Validator>,
    /// The profile the Tegsoft answers' schemas were generated from.
    tegsoft: TegsoftProfile,
}

impl fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("names", &self.schemas.keys().collect::<Vec<_>>())
            .field("tegsoft_profile", &self.tegsoft.name)
            .finish()
    }
}

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchemaViolation {
    /// Name of the schema validated against.
    pub schema: String,
    /// JSON Pointer into the instance ("" = the whole instance).
    pub instance_path: String,
    /// JSON Pointer to the keyword that failed, through `$ref`s as evaluated.
    pub schema_path: String,
    pub message: String,
}

/// Why schemas could not be loaded, or a name is unknown. Load errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON at line {line} column {column}: {message}", file.display())]
    Json { file: PathBuf, line: usize, column: usize, message: String },
    #[error("{}: not a valid 2020-12 schema: {reason}", file.display())]
    Invalid { file: PathBuf, reason: String },
    #[error("{}: `$ref` \"{reference}\" points to {target}, which is not among the loaded schemas", file.display())]
    UnresolvedRef { file: PathBuf, reference: String, target: String },
    #[error("{}: {what} is also used by {}", file.display(), other.display())]
    Duplicate { file: PathBuf, other: PathBuf, what: String },
    #[error("{}: no *{SCHEMA_SUFFIX} file found", dir.display())]
    Empty { dir: PathBuf },
    #[error("{}: cannot register the schemas: {reason}", origin.display())]
    Registry { origin: PathBuf, reason: String },
    #[error("no schema named `{0}`")]
    UnknownSchema(String),
}

/// A schema file read but not yet compiled.
struct Source {
    name: String,
    file: PathBuf,
    text: String,
    /// Path relative to the loaded directory, with `/` separators; names the default URI.
    relative: String,
}

/// A parsed schema document with the URI it is registered under.
struct Document {
    name: String,
    file: PathBuf,
    uri: String,
    value: Value,
}

impl SchemaRegistry {
    /// The schemas shipped in the binary: every file of `schemas/gws/` and `schemas/tegsoft/`.
    pub fn embedded() -> Result<SchemaRegistry, SchemaError> {
        let sources = EMBEDDED_SETS
            .iter()
            .flat_map(|(dir, table)| table.iter().map(move |entry| (*dir, entry)))
            .map(|(dir, (name, text))| Source {
                name: (*name).to_owned(),
                file: Path::new(dir).join(format!("{name}{SCHEMA_SUFFIX}")),
                text: (*text).to_owned(),
                relative: format!("{}/{name}{SCHEMA_SUFFIX}", dir.trim_start_matches("schemas/")),
            })
            .collect();
        build(sources, Path::new("schemas"))
    }

    /// Every `*.schema.json` under `dir` (recursively), e.g. a user's `--schemas` override.
    pub fn load_dir(dir: &Path) -> Result<SchemaRegistry, SchemaError> {
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files)?;
        if files.is_empty() {
            return Err(SchemaError::Empty { dir: dir.to_owned() });
        }
        let mut sources = Vec::with_capacity(files.len());
        for (file, relative) in files {
            let text =
                std::fs::read_to_string(&file).map_err(|source| SchemaError::Io { file: file.clone(), source })?;
            let name = schema_name(&file).unwrap_or_default().to_owned();
            sources.push(Source { name, file, text, relative });
        }
        build(sources, dir)
    }

    /// The same schemas with the Tegsoft answers' two generated from `profile` instead (they
    /// replace any schema of the same name).
    pub fn with_tegsoft_profile(mut self, profile: TegsoftProfile) -> Result<SchemaRegistry, SchemaError> {
        for (name, schema) in crate::contract::tegsoft::response_schemas(&profile) {
            let validator =
                jsonschema::options().with_draft(Draft::Draft202012).offline().build(&schema).map_err(|e| {
                    SchemaError::Invalid {
                        file: PathBuf::from(format!("<{name} of the Tegsoft profile `{}`>", profile.name)),
                        reason: e.to_string(),
                    }
                })?;
            self.schemas.insert(name.to_owned(), validator);
        }
        self.tegsoft = profile;
        Ok(self)
    }

    /// The Tegsoft profile the registry checks answers against.
    pub fn tegsoft_profile(&self) -> &TegsoftProfile {
        &self.tegsoft
    }

    /// Names of the loaded schemas, in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    /// Whether a schema of that name is loaded.
    pub fn contains(&self, name: &str) -> bool {
        self.schemas.contains_key(name)
    }

    /// Validate `instance` against the schema `name`. Returns the violations (empty = valid):
    /// one per place in the instance, however many branches of the schema reject it there, and
    /// at most [`MAX_VIOLATIONS`]; each message at most [`MESSAGE_LIMIT`] characters and without
    /// the instance.
    pub fn validate(&self, name: &str, instance: &Value) -> Result<Vec<SchemaViolation>, SchemaError> {
        let validator = self.schemas.get(name).ok_or_else(|| SchemaError::UnknownSchema(name.to_owned()))?;
        if validator.is_valid(instance) {
            return Ok(Vec::new());
        }
        let mut out: Vec<SchemaViolation> = Vec::new();
        let mut places = std::collections::HashSet::new();
        for e in validator.iter_errors(instance) {
            let instance_path = e.instance_path().as_str().to_owned();
            if !places.insert(instance_path.clone()) {
                continue;
            }
            out.push(SchemaViolation {
                schema: name.to_owned(),
                instance_path: cut(instance_path, MESSAGE_LIMIT),
                schema_path: cut(e.evaluation_path().as_str().to_owned(), MESSAGE_LIMIT),
                // Masked: the validator would quote the instance, which a server controls and
                // may make megabytes long; the caller shows the value, cut, beside it.
                message: cut(e.masked_with("the value").to_string(), MESSAGE_LIMIT),
            });
            if out.len() == MAX_VIOLATIONS {
                break;
            }
        }
        Ok(out)
    }
}

/// Most violations one validation reports: a hostile instance must not yield millions.
pub const MAX_VIOLATIONS: usize = 20;

/// Most characters of a violation's message and paths.
pub const MESSAGE_LIMIT: usize = 300;

/// `s` cut to `limit` characters, marked with `…` when cut.
fn cut(s: String, limit: usize) -> String {
    match s.char_indices().nth(limit) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s,
    }
}

/// The name of a schema file: its file name without `.schema.json`.
fn schema_name(file: &Path) -> Option<&str> {
    file.file_name()?.to_str()?.strip_suffix(SCHEMA_SUFFIX).filter(|n| !n.is_empty())
}

/// Gather `(path, relative path)` of every schema file under `dir`, sorted for a stable order.
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<(), SchemaError> {
    let io = |source| SchemaError::Io { file: dir.to_owned(), source };
    let mut entries = std::fs::read_dir(dir).map_err(io)?.collect::<Result<Vec<_>, _>>().map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(io)?;
        // Symlinked directories are not followed: a link cycle would never end.
        if file_type.is_dir() {
            collect_files(root, &path, out)?;
        } else if schema_name(&path).is_some() && path.is_file() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            out.push((path, relative));
        }
    }
    Ok(())
}

/// Parse, register and compile a set of schema files.
fn build(sources: Vec<Source>, origin: &Path) -> Result<SchemaRegistry, SchemaError> {
    let mut documents: Vec<Document> = Vec::with_capacity(sources.len());
    for source in sources {
        let document = parse(source)?;
        if let Some(other) = documents.iter().find(|d| d.name == document.name) {
            return Err(duplicate(&document, other, format!("the schema name `{}`", document.name)));
        }
        if let Some(other) = documents.iter().find(|d| d.uri == document.uri) {
            return Err(duplicate(&document, other, format!("the URI `{}`", document.uri)));
        }
        documents.push(document);
    }
    let known: BTreeSet<&str> = documents.iter().map(|d| d.uri.as_str()).collect();
    for document in &documents {
        check_refs(document, &known)?;
    }
    let registry = Registry::new()
        .draft(Draft::Draft202012)
        .extend(documents.iter().map(|d| (d.uri.as_str(), &d.value)))
        .and_then(|builder| builder.prepare())
        .map_err(|e| SchemaError::Registry { origin: origin.to_owned(), reason: e.to_string() })?;
    let mut schemas = BTreeMap::new();
    for document in &documents {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .offline()
            .with_registry(&registry)
            .with_base_uri(document.uri.clone())
            .build(&document.value)
            .map_err(|e| {
                let at = e.instance_path().as_str();
                let at = if at.is_empty() { String::new() } else { format!(" (at {at})") };
                SchemaError::Invalid { file: document.file.clone(), reason: format!("{e}{at}") }
            })?;
        schemas.insert(document.name.clone(), validator);
    }
    SchemaRegistry { schemas, tegsoft: TegsoftProfile::default() }.with_tegsoft_profile(TegsoftProfile::default())
}

fn duplicate(document: &Document, other: &Document, what: String) -> SchemaError {
    SchemaError::Duplicate { file: document.file.clone(), other: other.file.clone(), what }
}

/// Parse one file and work out the URI it is registered under.
fn parse(source: Source) -> Result<Document, SchemaError> {
    let Source { name, file, text, relative } = source;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        let full = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&position).unwrap_or(&full).to_owned();
        SchemaError::Json { file: file.clone(), line: e.line(), column: e.column(), message }
    })?;
    let invalid = |reason: String| SchemaError::Invalid { file: file.clone(), reason };
    let Some(object) = value.as_object() else {
        return Err(invalid("the top level must be an object".into()));
    };
    match object.get("$schema") {
        None => {}
        Some(Value::String(s)) if s.trim_end_matches('#') == DIALECT => {}
        Some(other) => return Err(invalid(format!("`$schema` is {other}; chatprobe schemas declare \"{DIALECT}\""))),
    }
    let uri = match object.get("$id") {
        None => format!("{LOCAL_BASE}{relative}"),
        Some(Value::String(id)) => {
            let parsed = jsonschema::uri::from_str(id)
                .map_err(|e| invalid(format!("`$id` \"{id}\" is not an absolute URI: {e}")))?;
            parsed.as_str().trim_end_matches('#').to_owned()
        }
        Some(other) => return Err(invalid(format!("`$id` must be a string, not {other}"))),
    };
    Ok(Document { name, file, uri, value })
}

/// Every `$ref` to another document must name a loaded file: checked here so the error names
/// the file holding the reference, which the registry's own error would not.
fn check_refs(document: &Document, known: &BTreeSet<&str>) -> Result<(), SchemaError> {
    let base = jsonschema::uri::from_str(&document.uri)
        .map_err(|e| SchemaError::Invalid { file: document.file.clone(), reason: e.to_string() })?;
    let mut refs = Vec::new();
    collect_refs(&document.value, true, &mut refs);
    for reference in refs {
        if reference.starts_with('#') {
            continue;
        }
        let target = jsonschema::uri::resolve_against(&base.borrow(), reference).map_err(|e| SchemaError::Invalid {
            file: document.file.clone(),
            reason: format!("`$ref` \"{reference}\" is not a valid URI reference: {e}"),
        })?;
        let target = target.as_str();
        let target = target.split_once('#').map_or(target, |(doc, _)| doc);
        if !known.contains(target) {
            return Err(SchemaError::UnresolvedRef {
                file: document.file.clone(),
                reference: reference.to_owned(),
                target: target.to_owned(),
            });
        }
    }
    Ok(())
}

/// Collect the `$ref` strings of a document, skipping values that are data rather than schema
/// (`const`, `enum`, `examples`, `default`) and subschemas with their own `$id` (another base).
fn collect_refs<'v>(value: &'v Value, root: bool, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            if !root && map.contains_key("$id") {
                return;
            }
            for (key, child) in map {
                match key.as_str() {
                    "$ref" => {
                        if let Value::String(s) = child {
                            out.push(s);
                        }
                    }
                    "const" | "enum" | "examples" | "default" => {}
                    _ => collect_refs(child, false, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, false, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemas_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(EMBEDDED_DIR)
    }

    #[test]
    fn embedded_table_matches_the_directory() {
        let tegsoft_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(EMBEDDED_TEGSOFT_DIR);
        let tables = [(schemas_dir(), EMBEDDED), (tegsoft_dir, EMBEDDED_TEGSOFT)];
        for (dir, embedded) in tables {
            let mut files = Vec::new();
            collect_files(&dir, &dir, &mut files).unwrap();
            let on_disk: BTreeSet<String> = files.iter().map(|(p, _)| schema_name(p).unwrap().to_owned()).collect();
            let table: BTreeSet<String> = embedded.iter().map(|(n, _)| (*n).to_owned()).collect();
            assert_eq!(table.len(), embedded.len(), "a name is listed twice in the table of {}", dir.display());
            assert_eq!(table, on_disk, "the table must list exactly the files of {}", dir.display());
            for (name, text) in embedded {
                let disk = std::fs::read_to_string(dir.join(format!("{name}{SCHEMA_SUFFIX}"))).unwrap();
                assert_eq!(*text, disk, "{name}: the table points at another file");
            }
        }
    }

    #[test]
    fn registry_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SchemaRegistry>();
    }

    #[test]
    fn every_embedded_schema_has_its_id() {
        for (dir, name, text) in EMBEDDED_SETS.iter().flat_map(|(dir, t)| t.iter().map(move |(n, s)| (dir, n, s))) {
            let value: Value = serde_json::from_str(text).unwrap();
            let expected = format!("https://chatprobe.invalid/{dir}/{name}{SCHEMA_SUFFIX}");
            assert_eq!(value["$id"], Value::String(expected), "{name}");
            assert_eq!(value["$schema"], Value::String(DIALECT.into()), "{name}");
            assert!(value["title"].is_string() && value["description"].is_string(), "{name}");
        }
    }

    #[test]
    fn the_tegsoft_answers_follow_the_profile() {
        use crate::contract::tegsoft::{FAILURE_RESPONSE, SUCCESS_RESPONSE};
        let reg = SchemaRegistry::embedded().unwrap();
        assert_eq!(reg.tegsoft_profile().name, "default");
        let done = serde_json::json!({"result": "SUCCESS", "messageId": "m"});
        let upper_done = serde_json::json!({"RESULT": "OK", "MESSAGEID": "m"});
        assert!(reg.validate(SUCCESS_RESPONSE, &done).unwrap().is_empty());
        assert!(!reg.validate(SUCCESS_RESPONSE, &upper_done).unwrap().is_empty());
        let reg = reg.with_tegsoft_profile(TegsoftProfile::builtin("upper").unwrap()).unwrap();
        assert_eq!(reg.tegsoft_profile().name, "upper");
        assert!(reg.validate(SUCCESS_RESPONSE, &upper_done).unwrap().is_empty());
        assert!(!reg.validate(SUCCESS_RESPONSE, &done).unwrap().is_empty());
        assert!(reg.contains(FAILURE_RESPONSE) && reg.contains("tegsoft-send-message-request"));
    }

    #[test]
    fn unknown_name_is_an_error() {
        let reg = SchemaRegistry::embedded().unwrap();
        let err = reg.validate("nope", &Value::Null).unwrap_err();
        assert!(matches!(err, SchemaError::UnknownSchema(ref n) if n == "nope"), "{err}");
    }

    fn source(name: &str, text: &str) -> Source {
        Source {
            name: name.into(),
            file: PathBuf::from(format!("x/{name}{SCHEMA_SUFFIX}")),
            text: text.into(),
            relative: format!("{name}{SCHEMA_SUFFIX}"),
        }
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let err = build(vec![source("a", "{\n  \"type\": \"object\"\n  \"x\": 1\n}")], Path::new("x")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x/a.schema.json: invalid JSON at line 3 column 3: "), "{text}");
    }

    #[test]
    fn invalid_schema_names_the_file() {
        let err = build(vec![source("a", r#"{"type": "objekt"}"#)], Path::new("x")).unwrap_err();
        assert!(err.to_string().starts_with("x/a.schema.json: not a valid 2020-12 schema: "), "{err}");
        let err = build(vec![source("a", r#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#)], Path::new("x"))
            .unwrap_err();
        assert!(err.to_string().contains("draft-07"), "{err}");
    }

    #[test]
    fn dangling_ref_names_the_referring_file() {
        let sources = vec![
            source("a", r#"{"$ref": "b.schema.json"}"#),
            source("b", "{}"),
            source("c", r#"{"$ref": "missing.schema.json"}"#),
        ];
        let err = build(sources, Path::new("x")).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SchemaError::UnresolvedRef { .. }), "{text}");
        assert!(text.starts_with("x/c.schema.json: `$ref` \"missing.schema.json\" points to "), "{text}");
    }

    #[test]
    fn files_without_id_refer_to_siblings() {
        let sources = vec![
            source("a", r#"{"type": "object", "properties": {"b": {"$ref": "b.schema.json"}}}"#),
            source("b", r#"{"type": "integer"}"#),
        ];
        let reg = build(sources, Path::new("x")).unwrap();
        assert!(reg.validate("a", &serde_json::json!({"b": 1})).unwrap().is_empty());
        let v = reg.validate("a", &serde_json::json!({"b": "one"})).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].instance_path, "/b");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut second = source("a", "{}");
        second.file = PathBuf::from("y/a.schema.json");
        second.relative = "y/a.schema.json".into();
        let err = build(vec![source("a", "{}"), second], Path::new("x")).unwrap_err();
        assert!(matches!(err, SchemaError::Duplicate { .. }), "{err}");
    }
}
