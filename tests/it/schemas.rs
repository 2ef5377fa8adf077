//! The shipped JSON Schemas: every documented sample in tests/fixtures/seeds validates against
//! its schema, every schema file compiles, the embedded set is the set on disk, and the schemas
//! fail, at the offending field, where the documentation is explicit.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chatprobe::contract::classify::*;
use chatprobe::contract::schema::*;
use chatprobe::contract::tegsoft::GENERATED;
use serde_json::{Value, json};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn seeds_dir() -> PathBuf {
    repo().join("tests/fixtures/seeds")
}

fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| SchemaRegistry::embedded().unwrap_or_else(|e| panic!("embedded schemas: {e}")))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One manifest entry: a fixture, its schema, and how to turn the sample into an instance.
struct Fixture {
    file: String,
    schema: String,
    instance: Value,
}

fn manifest() -> Vec<Fixture> {
    let manifest = read_json(&seeds_dir().join("manifest.json"));
    let entries = manifest["fixtures"].as_array().expect("manifest.json: fixtures[]");
    entries
        .iter()
        .map(|entry| {
            let file = entry["fixture"].as_str().expect("fixture").to_owned();
            let schema = entry["schema"].as_str().expect("schema").to_owned();
            assert!(entry["seed"].is_string(), "{file}: every fixture names its seed");
            let mut instance = read_json(&seeds_dir().join(&file));
            if let Some(channel) = entry.get("wrap_as_data_on") {
                instance = json!({ "channel": channel, "data": instance });
            }
            if let Some(Value::Object(add)) = entry.get("add") {
                let object = instance.as_object_mut().expect("`add` needs an object sample");
                for (key, value) in add {
                    assert!(!object.contains_key(key), "{file}: `add` would overwrite {key}");
                    object.insert(key.clone(), value.clone());
                }
            }
            Fixture { file, schema, instance }
        })
        .collect()
}

fn violations(schema: &str, instance: &Value) -> Vec<SchemaViolation> {
    registry().validate(schema, instance).unwrap_or_else(|e| panic!("{schema}: {e}"))
}

/// The instance breaks `schema`, every violation is at `path`, and one mentions `mention` — in
/// its message, or in the value found at its place (messages do not quote the instance; reports
/// show the value beside them).
fn assert_fails_only_at(schema: &str, instance: &Value, path: &str, mention: &str) {
    let found = violations(schema, instance);
    let at = |p: &str| instance.pointer(p).map(Value::to_string).unwrap_or_default();
    let explained = found.iter().any(|v| v.message.contains(mention) || at(&v.instance_path).contains(mention));
    let elsewhere = found.iter().any(|v| v.schema != schema || v.instance_path != path);
    assert!(
        !found.is_empty() && explained && !elsewhere,
        "expected violations at `{path}` only, one mentioning `{mention}`; got: {found:#?}"
    );
}

fn fixture(file: &str) -> Value {
    manifest().into_iter().find(|f| f.file == file).unwrap_or_else(|| panic!("{file} not in manifest")).instance
}

#[test]
fn every_documented_sample_validates() {
    let mut failures = Vec::new();
    let fixtures = manifest();
    assert!(fixtures.len() >= 20, "only {} fixtures", fixtures.len());
    for f in &fixtures {
        for v in violations(&f.schema, &f.instance) {
            failures
                .push(format!("{} ({}): {} at `{}` [{}]", f.file, f.schema, v.message, v.instance_path, v.schema_path));
        }
    }
    assert!(failures.is_empty(), "{} violation(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn manifest_lists_every_fixture_once() {
    let listed: Vec<String> = manifest().into_iter().map(|f| f.file).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(seeds_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && n != "manifest.json")
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "a fixture is listed twice");
    assert_eq!(sorted, on_disk);
}

#[test]
fn bayeux_samples_are_classified_as_their_schema() {
    for f in manifest().into_iter().filter(|f| f.schema.starts_with("bayeux-") || f.schema.starts_with("notification-"))
    {
        assert_eq!(bayeux_schema(&f.instance), f.schema, "{}", f.file);
    }
}

#[test]
fn every_schema_file_compiles_and_embedded_matches_the_directory() {
    // The binary embeds the API schemas: every file of schemas/gws and schemas/tegsoft, no more.
    let mut dir_names: Vec<String> = Vec::new();
    for dir in ["schemas/gws", "schemas/tegsoft"] {
        let from_dir = SchemaRegistry::load_dir(&repo().join(dir)).unwrap_or_else(|e| panic!("{e}"));
        // The Tegsoft answers' schemas are generated from the profile, not files.
        let names: Vec<String> = from_dir.names().filter(|n| !GENERATED.contains(n)).map(str::to_owned).collect();
        let files = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(SCHEMA_SUFFIX))
            .count();
        assert_eq!(names.len(), files, "{dir}");
        dir_names.extend(names);
    }
    dir_names.sort();
    let embedded_names: Vec<String> =
        registry().names().filter(|n| !GENERATED.contains(n)).map(str::to_owned).collect();
    assert_eq!(embedded_names, dir_names);
    for name in [
        "participant",
        "message",
        "chat",
        "user",
        "attachment",
        ERROR_RESPONSE,
        OPERATION_RESPONSE,
        VERSION_RESPONSE,
        ME_RESPONSE,
        ME_CHATS_RESPONSE,
        CHAT_MESSAGES_RESPONSE,
        CUSTOMER_REQUEST_CHAT_RESPONSE,
        CUSTOMER_CHAT_RESPONSE,
        BAYEUX_HANDSHAKE,
        BAYEUX_CONNECT,
        BAYEUX_SUBSCRIBE,
        BAYEUX_DISCONNECT,
        BAYEUX_EVENT,
        NOTIFICATION_CHATS,
        NOTIFICATION_CHANNELS,
    ] {
        assert!(dir_names.iter().any(|n| n == name), "no schema named {name}");
    }
}

#[test]
fn load_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("chatprobe-schemas-{}", std::process::id()));
    // A leftover of an interrupted run must not change the outcome.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let broken = dir.join("sub/broken.schema.json");
    std::fs::write(&broken, "{\n  \"type\": \"object\",\n}\n").unwrap();
    let err = SchemaRegistry::load_dir(&dir).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: invalid JSON at line 3 column 1", broken.display())), "{err}");
    std::fs::write(&broken, r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "minimum": "zero"}"#)
        .unwrap();
    let err = SchemaRegistry::load_dir(&dir).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: not a valid 2020-12 schema", broken.display())), "{err}");
    std::fs::remove_file(&broken).unwrap();
    let err = SchemaRegistry::load_dir(&dir).unwrap_err();
    assert!(matches!(err, SchemaError::Empty { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_schema_name_is_an_error() {
    assert!(matches!(registry().validate("chats", &json!({})), Err(SchemaError::UnknownSchema(n)) if n == "chats"));
}

// Negative cases: each mutates a documented sample in one place and expects the violation to
// point at that place, proving the schemas are strict where the documentation is explicit.

#[test]
fn status_code_as_a_string_fails() {
    assert_fails_only_at(OPERATION_RESPONSE, &json!({"statusCode": "0"}), "/statusCode", "integer");
    assert_fails_only_at(
        ERROR_RESPONSE,
        &json!({"statusCode": "6", "statusMessage": "Not found"}),
        "/statusCode",
        "integer",
    );
}

#[test]
fn error_response_with_an_extra_field_fails() {
    let mut body = fixture("error-not-authenticated.json");
    assert!(violations(ERROR_RESPONSE, &body).is_empty());
    body["referenceId"] = json!(3);
    assert_fails_only_at(ERROR_RESPONSE, &body, "", "referenceId");
}

#[test]
fn reject_status_typo_fails() {
    assert_fails_only_at(OPERATION_RESPONSE, &json!({"status": 0}), "", "statusCode");
}

#[test]
fn message_without_index_fails() {
    let mut event = fixture("accept-chat-history.json");
    event["data"]["messages"][4].as_object_mut().unwrap().remove("index");
    assert_fails_only_at(NOTIFICATION_CHATS, &event, "/data/messages/4", "index");
}

#[test]
fn status_change_to_an_unknown_state_fails() {
    let mut event = fixture("accept-status-changed.json");
    event["data"]["chat"]["state"] = json!("Talking");
    assert_fails_only_at(NOTIFICATION_CHATS, &event, "/data/chat/state", "Talking");
}

#[test]
fn participant_type_in_the_wrong_case_fails() {
    let mut event = fixture("accept-participants-updated.json");
    event["data"]["chat"]["participants"][0]["type"] = json!("agent");
    assert_fails_only_at(NOTIFICATION_CHATS, &event, "/data/chat/participants/0/type", "agent");
}

#[test]
fn handshake_reply_without_successful_fails() {
    let mut reply = fixture("bayeux-handshake-reply.json");
    reply.as_object_mut().unwrap().remove("successful");
    assert_fails_only_at(BAYEUX_HANDSHAKE, &reply, "", "successful");
}

#[test]
fn new_messages_whose_messages_is_not_an_array_fails() {
    let mut event = fixture("upload-file-notification.json");
    event["data"]["messages"] = event["data"]["messages"][0].clone();
    assert_fails_only_at(NOTIFICATION_CHATS, &event, "/data/messages", "array");
}

#[test]
fn conditional_requirements_point_at_the_message_kind() {
    // An Error notification needs errorMessage; a state change needs its chat.
    assert_fails_only_at(
        NOTIFICATION_CHATS,
        &json!({"channel": "/v2/me/chats", "data": {"notificationType": "Error"}}),
        "/data",
        "errorMessage",
    );
    let mut event = fixture("reject-status-changed.json");
    event["data"].as_object_mut().unwrap().remove("chat");
    assert_fails_only_at(NOTIFICATION_CHATS, &event, "/data", "chat");
    // A failed meta reply must say why.
    assert_fails_only_at(BAYEUX_CONNECT, &json!({"channel": "/meta/connect", "successful": false}), "", "error");
    // A successful handshake must hand out a clientId.
    let mut reply = fixture("bayeux-handshake-reply.json");
    reply.as_object_mut().unwrap().remove("clientId");
    assert_fails_only_at(BAYEUX_HANDSHAKE, &reply, "", "clientId");
}

#[test]
fn documented_timestamp_forms_are_accepted_and_others_are_not() {
    let mut event = fixture("accept-chat-history.json");
    for ok in [
        "2014-01-09 11:58:12.035+0200",
        "2013-12-27T13:16:41.000-0800",
        "2014-05-0511:08:45.000-0700",
        "2014-01-09 11:58:12.035 +02:00",
        "2016-07-21T16:25:06Z",
    ] {
        event["data"]["messages"][0]["timestamp"] = json!(ok);
        assert!(violations(NOTIFICATION_CHATS, &event).is_empty(), "{ok} rejected");
    }
    event["data"]["messages"][0]["timestamp"] = json!("yesterday");
    assert_fails_only_at(NOTIFICATION_CHATS, &event, "/data/messages/0/timestamp", "yesterday");
}
