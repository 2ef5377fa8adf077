//! The Tegsoft profile: every value the Tegsoft page leaves open, as one document. A profile is
//! read from YAML (JSON is YAML too) and checked before use, so a bad file is refused with the
//! field it got wrong, never half-applied. Two profiles are built in: `default` (the simulator's
//! own reading, `schemas/tegsoft/profiles/default.yaml`) and `upper` (other paths, keys, codes,
//! statuses and sample files, `upper.yaml`), which proves the suite is written against the
//! profile and not against one server.

use serde::Deserialize;
use thiserror::Error;

use super::{FileType, Refusal, Service};

/// How a built-in profile is named on the command line (`builtin:upper`).
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The built-in profiles, the default first.
pub const BUILTIN_NAMES: [&str; 2] = ["default", "upper"];

const BUILTIN_TEXTS: [(&str, &str); 2] = [
    ("default", include_str!("../../../schemas/tegsoft/profiles/default.yaml")),
    ("upper", include_str!("../../../schemas/tegsoft/profiles/upper.yaml")),
];

/// The GWS API's own space: a Tegsoft path there would shadow a documented endpoint.
const GWS_SPACE: &str = "/api/v2";

/// Longest path, name, key or code a profile may give.
const MAX_TEXT: usize = 200;

/// A profile that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProfileError {
    #[error("invalid Tegsoft profile: {0}")]
    Syntax(String),
    #[error("invalid Tegsoft profile: `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    #[error("no built-in Tegsoft profile `{0}` (built in: {names})", names = BUILTIN_NAMES.join(", "))]
    UnknownBuiltin(String),
}

/// Everything the Tegsoft page leaves open.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TegsoftProfile {
    /// Names the profile in reports and variables (`tegsoft.profile`).
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub services: Services,
    pub samples: Samples,
    pub requests: Requests,
    pub responses: Responses,
}

/// Where the two services are served, as paths under the target's base URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Services {
    pub upload_file: String,
    pub send_message: String,
}

/// A downloadable file of each documented `fileType`, for `fileUrl` ("the file you want to send
/// is at a downloadable URL"), served by the target itself as the page's
/// `https://{SERVER_IP}/public_files/…` sample is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Samples {
    pub image: Sample,
    pub audio: Sample,
    pub video: Sample,
    pub document: Sample,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Where the target serves it, under its base URL.
    pub path: String,
    /// The `fileName` requests give it.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    /// A `fileDetails` without `fileName` is refused (`missing_parameter`); otherwise the server
    /// names the file after the last segment of its URL.
    pub file_name_required: bool,
}

/// What the answers look like.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responses {
    pub keys: Keys,
    pub success: SuccessValues,
    pub failure: FailureValues,
    pub errors: Errors,
}

/// The names of the answers' fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// Success or failure, in both answers.
    pub result: String,
    /// An accepted request's id.
    pub message_id: String,
    /// An accepted file's id inside the chat (present when a file was sent).
    pub file_id: String,
    /// A refusal's code.
    pub error_code: String,
    /// A refusal's text.
    pub message: String,
}

/// An accepted request: its HTTP status (2xx) and the value of the result key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessValues {
    pub status: u16,
    pub result: String,
}

/// A refused request: the value of the result key (the status depends on the refusal).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureValues {
    pub result: String,
}

/// The code and HTTP status of each refusal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Errors {
    pub invalid_request: ErrorSpec,
    pub missing_chat_id: ErrorSpec,
    pub missing_parameter: ErrorSpec,
    pub empty_message: ErrorSpec,
    pub invalid_file_type: ErrorSpec,
    pub invalid_file_url: ErrorSpec,
    pub unknown_chat_id: ErrorSpec,
    pub chat_closed: ErrorSpec,
    pub fetch_not_allowed: ErrorSpec,
    pub fetch_failed: ErrorSpec,
    pub file_too_large: ErrorSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    pub code: String,
    /// 4xx or 5xx: a failure is told apart from a success by its status.
    pub status: u16,
}

impl Samples {
    pub fn get(&self, file_type: FileType) -> &Sample {
        match file_type {
            FileType::Image => &self.image,
            FileType::Audio => &self.audio,
            FileType::Video => &self.video,
            FileType::Document => &self.document,
        }
    }
}

impl Errors {
    pub fn get(&self, refusal: Refusal) -> &ErrorSpec {
        match refusal {
            Refusal::InvalidRequest => &self.invalid_request,
            Refusal::MissingChatId => &self.missing_chat_id,
            Refusal::MissingParameter => &self.missing_parameter,
            Refusal::EmptyMessage => &self.empty_message,
            Refusal::InvalidFileType => &self.invalid_file_type,
            Refusal::InvalidFileUrl => &self.invalid_file_url,
            Refusal::UnknownChatId => &self.unknown_chat_id,
            Refusal::ChatClosed => &self.chat_closed,
            Refusal::FetchNotAllowed => &self.fetch_not_allowed,
            Refusal::FetchFailed => &self.fetch_failed,
            Refusal::FileTooLarge => &self.file_too_large,
        }
    }
}

impl Default for TegsoftProfile {
    /// The built-in `default` profile.
    fn default() -> Self {
        // Cannot fail: the unit test `builtins_parse_and_differ` parses every built-in text.
        TegsoftProfile::builtin("default").expect("the built-in default Tegsoft profile parses")
    }
}

impl TegsoftProfile {
    /// Parse and check a profile written in YAML or JSON.
    pub fn parse(text: &str) -> Result<TegsoftProfile, ProfileError> {
        let profile: TegsoftProfile = serde_saphyr::from_str(text).map_err(|e| {
            let at = e.location().map(|l| format!("line {} column {}: ", l.line(), l.column())).unwrap_or_default();
            let message = e.without_snippet().to_string();
            ProfileError::Syntax(format!("{at}{}", message.lines().next().unwrap_or("not YAML")))
        })?;
        profile.check()?;
        Ok(profile)
    }

    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<TegsoftProfile, ProfileError> {
        let (_, text) = BUILTIN_TEXTS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ProfileError::UnknownBuiltin(name.to_owned()))?;
        TegsoftProfile::parse(text)
    }

    /// The text of a built-in profile, as shipped.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN_TEXTS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// The path a service is served at.
    pub fn path(&self, service: Service) -> &str {
        match service {
            Service::UploadFile => &self.services.upload_file,
            Service::SendMessage => &self.services.send_message,
        }
    }

    /// The service a request line names: a POST whose path (without query) ends with one of the
    /// profile's service paths, so a target's base path in front of it is allowed.
    pub fn service(&self, method: &str, path: &str) -> Option<Service> {
        if !method.eq_ignore_ascii_case("POST") {
            return None;
        }
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        [Service::UploadFile, Service::SendMessage].into_iter().find(|s| path.ends_with(self.path(*s)))
    }

    /// Every refusal code the profile gives, each once, in the order of [`Refusal::ALL`].
    pub fn error_codes(&self) -> Vec<&str> {
        let mut codes: Vec<&str> = Vec::new();
        for r in Refusal::ALL {
            let code = self.responses.errors.get(r).code.as_str();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }

    /// Everything a profile must hold beyond its shape.
    fn check(&self) -> Result<(), ProfileError> {
        let invalid = |field: &str, reason: String| ProfileError::Invalid { field: field.to_owned(), reason };
        let ok_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !ok_name(&self.name) {
            return Err(invalid("name", format!("`{}` is not 1 to 64 letters, digits, `-`, `_` or `.`", self.name)));
        }
        let mut paths: Vec<(String, &str)> = vec![
            ("services.upload_file".into(), &self.services.upload_file),
            ("services.send_message".into(), &self.services.send_message),
        ];
        for t in FileType::ALL {
            let sample = self.samples.get(t);
            paths.push((format!("samples.{}.path", t.key()), &sample.path));
            let field = format!("samples.{}.name", t.key());
            text(&sample.name).map_err(|r| invalid(&field, r))?;
            if sample.name.contains('/') {
                return Err(invalid(&field, format!("`{}` is a file name, not a path", sample.name)));
            }
        }
        for (i, (field, path)) in paths.iter().enumerate() {
            check_path(path).map_err(|r| invalid(field, r))?;
            if let Some((other, _)) = paths[..i].iter().find(|(_, p)| p == path) {
                return Err(invalid(field, format!("`{path}` is also {other}")));
            }
        }
        let keys = &self.responses.keys;
        let named = [
            ("responses.keys.result", &keys.result),
            ("responses.keys.message_id", &keys.message_id),
            ("responses.keys.file_id", &keys.file_id),
            ("responses.keys.error_code", &keys.error_code),
            ("responses.keys.message", &keys.message),
        ];
        for (i, (field, key)) in named.iter().enumerate() {
            text(key).map_err(|r| invalid(field, r))?;
            if key.contains(['.', '[', ']', '$', '{', '}', '=', '?']) {
                return Err(invalid(field, format!("`{key}` holds a character scenario paths give a meaning to")));
            }
            if let Some((other, _)) = named[..i].iter().find(|(_, k)| k == key) {
                return Err(invalid(field, format!("`{key}` is also {other}")));
            }
        }
        let success = &self.responses.success;
        if !(200..300).contains(&success.status) {
            return Err(invalid("responses.success.status", format!("{} is not a 2xx status", success.status)));
        }
        text(&success.result).map_err(|r| invalid("responses.success.result", r))?;
        let failure = &self.responses.failure.result;
        text(failure).map_err(|r| invalid("responses.failure.result", r))?;
        if *failure == success.result {
            return Err(invalid("responses.failure.result", format!("`{failure}` is also the success result")));
        }
        for r in Refusal::ALL {
            let spec = self.responses.errors.get(r);
            let field = format!("responses.errors.{}", r.key());
            text(&spec.code).map_err(|e| invalid(&format!("{field}.code"), e))?;
            if !(400..600).contains(&spec.status) {
                return Err(invalid(&format!("{field}.status"), format!("{} is not a 4xx or 5xx status", spec.status)));
            }
        }
        Ok(())
    }
}

/// A non-empty single-line text of bounded length.
fn text(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("is empty".into());
    }
    if s.len() > MAX_TEXT || s.chars().any(char::is_control) {
        return Err(format!("must be one line of at most {MAX_TEXT} bytes"));
    }
    Ok(())
}

/// A path under the target: `/` then segments of letters, digits, `-`, `.`, `_` or `~`, outside
/// the GWS API's own space. Routers read nothing else in it as a pattern.
fn check_path(path: &str) -> Result<(), String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("`{path}` must start with `/`"));
    };
    if path.len() > MAX_TEXT {
        return Err(format!("`{path}` is longer than {MAX_TEXT} bytes"));
    }
    if rest.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(format!("`{path}` has an empty, `.` or `..` segment"));
    }
    if let Some(c) = rest.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~'))) {
        return Err(format!("`{path}` holds `{c}`; a path is letters, digits, `-`, `.`, `_`, `~` and `/`"));
    }
    if path == GWS_SPACE || path.starts_with(&format!("{GWS_SPACE}/")) {
        return Err(format!("`{path}` is in the GWS API's space ({GWS_SPACE})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_text() -> &'static str {
        TegsoftProfile::builtin_text("default").unwrap()
    }

    fn with(from: &str, to: &str) -> Result<TegsoftProfile, ProfileError> {
        let text = default_text();
        assert!(text.contains(from), "{from}");
        TegsoftProfile::parse(&text.replacen(from, to, 1))
    }

    fn field_of(result: Result<TegsoftProfile, ProfileError>) -> String {
        match result {
            Err(ProfileError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn builtins_parse_and_differ() {
        let profiles: Vec<TegsoftProfile> =
            BUILTIN_NAMES.iter().map(|n| TegsoftProfile::builtin(n).unwrap_or_else(|e| panic!("{n}: {e}"))).collect();
        for (p, name) in profiles.iter().zip(BUILTIN_NAMES) {
            assert_eq!(p.name, name);
        }
        let (a, b) = (&profiles[0], &profiles[1]);
        assert_ne!(a.services, b.services);
        assert_ne!(a.samples, b.samples);
        assert_ne!(a.requests, b.requests);
        assert_ne!(a.responses.keys.result, b.responses.keys.result);
        assert_ne!(a.responses.success.status, b.responses.success.status);
        for r in Refusal::ALL {
            assert_ne!(a.responses.errors.get(r).code, b.responses.errors.get(r).code, "{r:?}");
        }
        assert_eq!(TegsoftProfile::default(), profiles[0]);
        assert!(matches!(TegsoftProfile::builtin("nope"), Err(ProfileError::UnknownBuiltin(_))));
    }

    #[test]
    fn json_is_read_as_well() {
        let json = r#"{"name": "j", "services": {"upload_file": "/u", "send_message": "/s"},
          "samples": {"image": {"path": "/f/i.png", "name": "i.png"}, "audio": {"path": "/f/a.wav", "name": "a.wav"},
                      "video": {"path": "/f/v.mp4", "name": "v.mp4"}, "document": {"path": "/f/d.pdf", "name": "d.pdf"}},
          "requests": {"file_name_required": false},
          "responses": {"keys": {"result": "r", "message_id": "m", "file_id": "f", "error_code": "e", "message": "t"},
            "success": {"status": 202, "result": "yes"}, "failure": {"result": "no"},
            "errors": {"invalid_request": {"code": "1", "status": 400}, "missing_chat_id": {"code": "2", "status": 400},
              "missing_parameter": {"code": "3", "status": 400}, "empty_message": {"code": "4", "status": 400},
              "invalid_file_type": {"code": "5", "status": 400}, "invalid_file_url": {"code": "6", "status": 400},
              "unknown_chat_id": {"code": "7", "status": 404}, "chat_closed": {"code": "8", "status": 410},
              "fetch_not_allowed": {"code": "9", "status": 403}, "fetch_failed": {"code": "9", "status": 502},
              "file_too_large": {"code": "10", "status": 413}}}}"#;
        let p = TegsoftProfile::parse(json).unwrap();
        assert_eq!((p.name.as_str(), p.responses.success.status), ("j", 202));
        assert_eq!(p.error_codes().len(), 10, "a code given twice is listed once");
    }

    #[test]
    fn bad_values_name_their_field() {
        assert_eq!(field_of(with("/tegsoft/webchat/UploadFile", "tegsoft/x")), "services.upload_file");
        assert_eq!(
            field_of(with("/tegsoft/webchat/UploadFile", "/tegsoft/webchat/SendMessage")),
            "services.send_message"
        );
        assert_eq!(field_of(with("/public_files/sample.png", "/api/v2/me/chats")), "samples.image.path");
        assert_eq!(field_of(with("/public_files/sample.png", "/files/a%20b")), "samples.image.path");
        assert_eq!(field_of(with("/public_files/sample.png", "/a//b")), "samples.image.path");
        assert_eq!(field_of(with("name: sample.wav", "name: a/b.wav")), "samples.audio.name");
        assert_eq!(field_of(with("file_id: fileId", "file_id: messageId")), "responses.keys.file_id");
        assert_eq!(field_of(with("file_id: fileId", "file_id: file.id")), "responses.keys.file_id");
        assert_eq!(field_of(with("status: 200", "status: 302")), "responses.success.status");
        assert_eq!(field_of(with("result: FAILURE", "result: SUCCESS")), "responses.failure.result");
        assert_eq!(field_of(with("status: 404", "status: 204")), "responses.errors.unknown_chat_id.status");
        assert_eq!(field_of(with("name: default", "name: 'two words'")), "name");
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = TegsoftProfile::parse(&default_text().replacen("file_name_required", "file_name_requird", 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("file_name_requird") && err.contains("line "), "{err}");
        let err = TegsoftProfile::parse("name: x\n").unwrap_err().to_string();
        assert!(err.contains("services"), "{err}");
    }

    #[test]
    fn services_are_found_under_a_base_path() {
        let p = TegsoftProfile::default();
        assert_eq!(p.service("POST", "/tegsoft/webchat/UploadFile"), Some(Service::UploadFile));
        assert_eq!(p.service("post", "/base/tegsoft/webchat/SendMessage?x=1"), Some(Service::SendMessage));
        assert_eq!(p.service("GET", "/tegsoft/webchat/UploadFile"), None);
        assert_eq!(p.service("POST", "/tegsoft/webchat/UploadFileX"), None);
        assert_eq!(p.service("POST", "/other/webchat/UploadFile"), None);
    }
}
