//! How the simulator answers a Tegsoft request: as the profile says. The page documents no
//! answer at all, so the keys, the result values, each refusal's errorCode and every HTTP status
//! come from the `TegsoftProfile` the simulator was given (docs/tegsoft.md): an accepted request
//! gets `{result, messageId, fileId?}` with the success status, a refused one
//! `{result, errorCode, message}` with its refusal's status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::api::tegsoft::{Refusal, TegsoftProfile};

/// A refused request; nothing was added to the chat.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The body is not a JSON object, or a field has the wrong JSON type.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Missing required parameter: CHATID")]
    MissingChatId,
    /// A required field other than CHATID is missing or empty; names the field.
    #[error("Missing required parameter: {0}")]
    MissingParameter(String),
    #[error("The message is empty: give message.text, message.fileDetails or both")]
    EmptyMessage,
    #[error("Unknown fileType `{0}`: expected IMAGE, AUDIO, VIDEO or DOCUMENT")]
    InvalidFileType(String),
    /// fileUrl is not an absolute http or https URL.
    #[error("{0}")]
    InvalidFileUrl(String),
    #[error("No chat with CHATID {0}")]
    UnknownChatId(String),
    #[error("The chat {0} is over: nothing more can be sent to it")]
    ChatClosed(String),
    #[error("fileUrl {url} is under none of the download allow-list's prefixes [{}]; the file was not fetched", allow.join(", "))]
    FetchNotAllowed { url: String, allow: Vec<String> },
    /// The download failed: no connection, an error status, a redirect, a timeout.
    #[error("{0}")]
    FetchFailed(String),
    #[error("The file at fileUrl is larger than {limit} bytes")]
    FileTooLarge { limit: u64 },
}

impl Failure {
    /// Which of the profile's refusals this is.
    pub fn refusal(&self) -> Refusal {
        match self {
            Failure::InvalidRequest(_) => Refusal::InvalidRequest,
            Failure::MissingChatId => Refusal::MissingChatId,
            Failure::MissingParameter(_) => Refusal::MissingParameter,
            Failure::EmptyMessage => Refusal::EmptyMessage,
            Failure::InvalidFileType(_) => Refusal::InvalidFileType,
            Failure::InvalidFileUrl(_) => Refusal::InvalidFileUrl,
            Failure::UnknownChatId(_) => Refusal::UnknownChatId,
            Failure::ChatClosed(_) => Refusal::ChatClosed,
            Failure::FetchNotAllowed { .. } => Refusal::FetchNotAllowed,
            Failure::FetchFailed(_) => Refusal::FetchFailed,
            Failure::FileTooLarge { .. } => Refusal::FileTooLarge,
        }
    }

    /// The answer: the refusal's status, and `{result: failure, errorCode, message}` under the
    /// profile's keys.
    pub fn answer(&self, profile: &TegsoftProfile) -> (StatusCode, Value) {
        let r = &profile.responses;
        let spec = r.errors.get(self.refusal());
        let mut body = Map::new();
        body.insert(r.keys.result.clone(), Value::String(r.failure.result.clone()));
        body.insert(r.keys.error_code.clone(), Value::String(spec.code.clone()));
        body.insert(r.keys.message.clone(), Value::String(self.to_string()));
        (status(spec.status), Value::Object(body))
    }
}

/// What an accepted request produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub message_id: String,
    /// The file's id inside the chat, when a file was sent.
    pub file_id: Option<String>,
}

impl Accepted {
    /// The answer: the success status, and `{result: success, messageId, fileId?}` under the
    /// profile's keys.
    pub fn answer(&self, profile: &TegsoftProfile) -> (StatusCode, Value) {
        let r = &profile.responses;
        let mut body = Map::new();
        body.insert(r.keys.result.clone(), Value::String(r.success.result.clone()));
        body.insert(r.keys.message_id.clone(), Value::String(self.message_id.clone()));
        if let Some(file_id) = &self.file_id {
            body.insert(r.keys.file_id.clone(), Value::String(file_id.clone()));
        }
        (status(r.success.status), Value::Object(body))
    }
}

/// The response to a request, accepted or refused, as `profile` shapes it.
pub(crate) fn respond(profile: &TegsoftProfile, result: &Result<Accepted, Failure>) -> Response {
    let (status, body) = match result {
        Ok(accepted) => accepted.answer(profile),
        Err(failure) => failure.answer(profile),
    };
    (status, Json(body)).into_response()
}

/// A profile's status; profiles are checked to hold 2xx, 4xx or 5xx values only.
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn all() -> Vec<Failure> {
        vec![
            Failure::InvalidRequest("x".into()),
            Failure::MissingChatId,
            Failure::MissingParameter("fileDetails.fileUrl".into()),
            Failure::EmptyMessage,
            Failure::InvalidFileType("GIF".into()),
            Failure::InvalidFileUrl("x".into()),
            Failure::UnknownChatId("c".into()),
            Failure::ChatClosed("c".into()),
            Failure::FetchNotAllowed { url: "http://h/".into(), allow: vec!["http://127.0.0.1/".into()] },
            Failure::FetchFailed("x".into()),
            Failure::FileTooLarge { limit: 1 },
        ]
    }

    #[test]
    fn every_refusal_answers_with_its_profile_code_and_status() {
        let failures = all();
        assert_eq!(failures.iter().map(Failure::refusal).collect::<Vec<_>>(), Refusal::ALL);
        for name in crate::api::tegsoft::BUILTIN_NAMES {
            let profile = TegsoftProfile::builtin(name).unwrap();
            let r = &profile.responses;
            for failure in &failures {
                let spec = r.errors.get(failure.refusal());
                let (status, body) = failure.answer(&profile);
                assert_eq!(status.as_u16(), spec.status, "{name} {failure:?}");
                assert_eq!(body[&r.keys.result], json!(r.failure.result));
                assert_eq!(body[&r.keys.error_code], json!(spec.code));
                assert_eq!(body[&r.keys.message], json!(failure.to_string()));
                assert_eq!(body.as_object().unwrap().len(), 3);
            }
        }
    }

    #[test]
    fn the_refusal_of_a_url_names_it_and_the_allow_list() {
        let failure = Failure::FetchNotAllowed {
            url: "http://files.example.invalid/x.png".into(),
            allow: vec!["http://127.0.0.1:8090/public_files/".into(), "http://localhost:9000/".into()],
        };
        assert_eq!(
            failure.to_string(),
            "fileUrl http://files.example.invalid/x.png is under none of the download allow-list's prefixes \
             [http://127.0.0.1:8090/public_files/, http://localhost:9000/]; the file was not fetched"
        );
    }

    #[test]
    fn success_carries_file_id_only_for_files() {
        let default = TegsoftProfile::default();
        let text = Accepted { message_id: "m1".into(), file_id: None };
        assert_eq!(text.answer(&default), (StatusCode::OK, json!({"result": "SUCCESS", "messageId": "m1"})));
        let upper = TegsoftProfile::builtin("upper").unwrap();
        let file = Accepted { message_id: "m2".into(), file_id: Some("f1".into()) };
        assert_eq!(
            file.answer(&upper),
            (StatusCode::CREATED, json!({"RESULT": "OK", "MESSAGEID": "m2", "FILEID": "f1"}))
        );
    }
}
