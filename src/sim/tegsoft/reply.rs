//! How the Tegsoft profile answers. The vendor documents no response at all, so these bodies and
//! statuses are the profile's decision (docs/tegsoft.md, schemas/tegsoft/): success
//! `{"result":"SUCCESS","messageId":...,"fileId"?:...}` with HTTP 200, failure
//! `{"result":"FAILURE","errorCode":...,"message":...}` with 400, 404 (unknown CHATID) or 502
//! (the file could not be downloaded).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use thiserror::Error;

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
    #[error("fileUrl host `{host}` is not on the download allow-list [{}]; the file was not fetched", allow.join(", "))]
    FetchNotAllowed { host: String, allow: Vec<String> },
    /// The download failed: no connection, an error status, a redirect, a timeout.
    #[error("{0}")]
    FetchFailed(String),
    #[error("The file at fileUrl is larger than {limit} bytes")]
    FileTooLarge { limit: u64 },
}

impl Failure {
    /// The `errorCode` of the body.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::InvalidRequest(_) => "INVALID_REQUEST",
            Failure::MissingChatId => "MISSING_CHATID",
            Failure::MissingParameter(_) => "MISSING_PARAMETER",
            Failure::EmptyMessage => "EMPTY_MESSAGE",
            Failure::InvalidFileType(_) => "INVALID_FILE_TYPE",
            Failure::InvalidFileUrl(_) => "INVALID_FILE_URL",
            Failure::UnknownChatId(_) => "UNKNOWN_CHATID",
            Failure::ChatClosed(_) => "CHAT_CLOSED",
            Failure::FetchNotAllowed { .. } => "FETCH_NOT_ALLOWED",
            Failure::FetchFailed(_) => "FETCH_FAILED",
            Failure::FileTooLarge { .. } => "FILE_TOO_LARGE",
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            Failure::UnknownChatId(_) => StatusCode::NOT_FOUND,
            Failure::FetchFailed(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn body(&self) -> Value {
        json!({"result": "FAILURE", "errorCode": self.code(), "message": self.to_string()})
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.http_status(), Json(self.body())).into_response()
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
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("result".into(), Value::String("SUCCESS".into()));
        body.insert("messageId".into(), Value::String(self.message_id.clone()));
        if let Some(file_id) = &self.file_id {
            body.insert("fileId".into(), Value::String(file_id.clone()));
        }
        Value::Object(body)
    }
}

impl IntoResponse for Accepted {
    fn into_response(self) -> Response {
        Json(self.body()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_upper_case_identifiers_and_statuses_follow_the_profile() {
        let all = [
            Failure::InvalidRequest("x".into()),
            Failure::MissingChatId,
            Failure::MissingParameter("fileDetails.fileUrl".into()),
            Failure::EmptyMessage,
            Failure::InvalidFileType("GIF".into()),
            Failure::InvalidFileUrl("x".into()),
            Failure::UnknownChatId("c".into()),
            Failure::ChatClosed("c".into()),
            Failure::FetchNotAllowed { host: "h".into(), allow: vec!["127.0.0.1".into()] },
            Failure::FetchFailed("x".into()),
            Failure::FileTooLarge { limit: 1 },
        ];
        for failure in &all {
            assert!(failure.code().chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{failure:?}");
            assert_eq!(failure.body()["result"], "FAILURE");
            assert!(!failure.to_string().is_empty());
        }
        assert_eq!(all[6].http_status(), StatusCode::NOT_FOUND);
        assert_eq!(all[9].http_status(), StatusCode::BAD_GATEWAY);
        assert_eq!(all[8].http_status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_refusal_of_a_host_names_it_and_the_allow_list() {
        let failure = Failure::FetchNotAllowed {
            host: "files.example.invalid".into(),
            allow: vec!["127.0.0.1".into(), "localhost".into()],
        };
        assert_eq!(
            failure.to_string(),
            "fileUrl host `files.example.invalid` is not on the download allow-list [127.0.0.1, localhost]; the file was not fetched"
        );
    }

    #[test]
    fn success_carries_file_id_only_for_files() {
        let text = Accepted { message_id: "m1".into(), file_id: None };
        assert_eq!(text.body(), json!({"result": "SUCCESS", "messageId": "m1"}));
        let file = Accepted { message_id: "m2".into(), file_id: Some("f1".into()) };
        assert_eq!(file.body(), json!({"result": "SUCCESS", "messageId": "m2", "fileId": "f1"}));
    }
}
