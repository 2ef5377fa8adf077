//! The Tegsoft answers on the harness's side. The page documents no answer, so their shapes are
//! made from the profile the run checks against: two JSON Schemas, `tegsoft-success-response` and
//! `tegsoft-failure-response`, generated from its keys, values and codes and registered with the
//! other schemas. Which of them an answer is checked against follows its HTTP status (2xx → the
//! success shape, anything else → the failure shape), never its body. Every check on them is the
//! profile's: rule `shape.tegsoft-response`, an observation.

use serde_json::{Value, json};

use crate::api::tegsoft::TegsoftProfile;

/// Names of the two generated schemas: an accepted request's answer and a refused one's.
pub const SUCCESS_RESPONSE: &str = "tegsoft-success-response";
pub const FAILURE_RESPONSE: &str = "tegsoft-failure-response";

/// Both generated names, for listings that tell generated schemas from files.
pub const GENERATED: [&str; 2] = [SUCCESS_RESPONSE, FAILURE_RESPONSE];

/// The schema an answer with this HTTP status is checked against.
pub fn schema_for_status(status: u16) -> &'static str {
    if (200..300).contains(&status) { SUCCESS_RESPONSE } else { FAILURE_RESPONSE }
}

/// The two answer schemas of `profile`, named.
pub fn response_schemas(profile: &TegsoftProfile) -> [(&'static str, Value); 2] {
    let r = &profile.responses;
    let k = &r.keys;
    let id = |name: &str| format!("https://chatprobe.invalid/schemas/tegsoft/{name}.schema.json");
    let origin = format!(
        "Generated from the Tegsoft profile `{}`; the page (https://docs.tegsoft.com/docs/webchat-file-attachment-api) documents no answer, so every part of this shape is the profile's.",
        profile.name
    );
    let success = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id(SUCCESS_RESPONSE),
        "title": "Tegsoft webchat: accepted UploadFile or SendMessage (2xx)",
        "description": format!(
            "{{\"{}\": \"{}\", \"{}\": \"…\", \"{}\"?: \"…\"}}: the request's message id and, when a file was sent, the file's id inside the chat. {origin}",
            k.result, r.success.result, k.message_id, k.file_id
        ),
        "type": "object",
        "required": [k.result, k.message_id],
        "properties": {
            k.result.as_str(): { "const": r.success.result },
            k.message_id.as_str(): { "type": "string", "minLength": 1 },
            k.file_id.as_str(): { "type": "string", "minLength": 1 },
        },
    });
    let failure = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id(FAILURE_RESPONSE),
        "title": "Tegsoft webchat: refused UploadFile or SendMessage (not 2xx)",
        "description": format!(
            "{{\"{}\": \"{}\", \"{}\": one of the profile's codes, \"{}\": \"…\"}} and nothing else. {origin}",
            k.result, r.failure.result, k.error_code, k.message
        ),
        "type": "object",
        "required": [k.result, k.error_code, k.message],
        "properties": {
            k.result.as_str(): { "const": r.failure.result },
            k.error_code.as_str(): { "enum": profile.error_codes() },
            k.message.as_str(): { "type": "string", "minLength": 1 },
        },
        "additionalProperties": false,
    });
    [(SUCCESS_RESPONSE, success), (FAILURE_RESPONSE, failure)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tegsoft::BUILTIN_NAMES;

    fn validator(schema: &Value) -> jsonschema::Validator {
        jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(schema).unwrap()
    }

    #[test]
    fn the_status_chooses_the_shape() {
        assert_eq!(schema_for_status(200), SUCCESS_RESPONSE);
        assert_eq!(schema_for_status(201), SUCCESS_RESPONSE);
        for status in [199, 300, 400, 404, 502] {
            assert_eq!(schema_for_status(status), FAILURE_RESPONSE, "{status}");
        }
    }

    #[test]
    fn each_profile_accepts_its_own_answers_and_not_the_others() {
        let profiles: Vec<TegsoftProfile> = BUILTIN_NAMES.iter().map(|n| TegsoftProfile::builtin(n).unwrap()).collect();
        let answers = |p: &TegsoftProfile| {
            let r = &p.responses;
            let k = &r.keys;
            let success =
                json!({k.result.as_str(): r.success.result, k.message_id.as_str(): "m1", k.file_id.as_str(): "f1"});
            let failure = json!({
                k.result.as_str(): r.failure.result,
                k.error_code.as_str(): r.errors.unknown_chat_id.code,
                k.message.as_str(): "no such chat",
            });
            (success, failure)
        };
        for p in &profiles {
            let [(_, success), (_, failure)] = response_schemas(p);
            let (success_v, failure_v) = (validator(&success), validator(&failure));
            for q in &profiles {
                let (ok, refused) = answers(q);
                let same = p.name == q.name;
                assert_eq!(success_v.is_valid(&ok), same, "{} success against {}", q.name, p.name);
                assert_eq!(failure_v.is_valid(&refused), same, "{} failure against {}", q.name, p.name);
            }
            let (_, mut refused) = answers(p);
            refused[&p.responses.keys.error_code] = json!("NOT_A_PROFILE_CODE");
            assert!(!failure_v.is_valid(&refused), "{}: a code outside the profile", p.name);
        }
    }
}
