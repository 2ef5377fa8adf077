//! A client for the Tegsoft webchat file API ("Webchat File Attachment for API"): the UploadFile
//! and SendMessage web services, which post a file by its URL, a text, or both into a webchat.
//! The vendor documents the bodies only, so the base URL and the two paths come from the
//! profile ([`Services`]).

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::agent::{RawRequest, build};
use super::exchange::{Exchange, TransportError, execute};
use super::{ClientConfig, http_client, normalise_base};
pub use crate::api::tegsoft::{FileType, Services};

/// The documented `fileDetails` object. `file_type` is a string so a test can send a value the
/// documentation does not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDetails {
    pub file_url: String,
    pub file_name: String,
    pub file_type: String,
}

impl FileDetails {
    pub fn new(file_url: &str, file_name: &str, file_type: FileType) -> FileDetails {
        FileDetails {
            file_url: file_url.to_owned(),
            file_name: file_name.to_owned(),
            file_type: file_type.as_str().to_owned(),
        }
    }

    /// As the wire spells it.
    pub fn to_json(&self) -> Value {
        json!({"fileUrl": self.file_url, "fileName": self.file_name, "fileType": self.file_type})
    }
}

/// A caller of the Tegsoft webchat services (no credentials: the documentation names none).
pub struct TegsoftClient {
    base_url: String,
    paths: Services,
    http: reqwest::Client,
    cfg: ClientConfig,
}

impl TegsoftClient {
    pub fn new(base_url: &str, paths: Services, cfg: &ClientConfig) -> Result<TegsoftClient, TransportError> {
        Ok(TegsoftClient { base_url: normalise_base(base_url)?, paths, http: http_client(cfg)?, cfg: cfg.clone() })
    }

    pub fn paths(&self) -> &Services {
        &self.paths
    }

    /// UploadFile: `{"CHATID": chat_id, "fileDetails": {...}}`.
    pub async fn upload_file(&self, chat_id: &str, file: &FileDetails) -> Result<Exchange, TransportError> {
        let body = json!({"CHATID": chat_id, "fileDetails": file.to_json()});
        self.post(&self.paths.upload_file, body).await
    }

    /// SendMessage: `{"CHATID": chat_id, "message": {"text"?, "fileDetails"?}}`. With neither text
    /// nor file the message is sent empty, as a test of the refusal needs it.
    pub async fn send_message(
        &self,
        chat_id: &str,
        text: Option<&str>,
        file: Option<&FileDetails>,
    ) -> Result<Exchange, TransportError> {
        let mut message = Map::new();
        if let Some(text) = text {
            message.insert("text".into(), Value::String(text.to_owned()));
        }
        if let Some(file) = file {
            message.insert("fileDetails".into(), file.to_json());
        }
        let body = json!({"CHATID": chat_id, "message": message});
        self.post(&self.paths.send_message, body).await
    }

    /// POST any JSON body to UploadFile, for bodies the typed calls cannot express.
    pub async fn upload_file_raw(&self, body: &Value) -> Result<Exchange, TransportError> {
        self.post(&self.paths.upload_file, body.clone()).await
    }

    /// POST any JSON body to SendMessage, for bodies the typed calls cannot express.
    pub async fn send_message_raw(&self, body: &Value) -> Result<Exchange, TransportError> {
        self.post(&self.paths.send_message, body.clone()).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Exchange, TransportError> {
        let req = RawRequest {
            method: Method::POST.as_str().to_owned(),
            path: path.to_owned(),
            body: Some(body),
            headers: Vec::new(),
            with_auth: false,
            with_csrf: false,
        };
        let (_, (request, body)) = build(&self.http, &self.base_url, req, &[], None, None)?;
        execute(&self.http, request, body, self.cfg.request_timeout, &self.cfg).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_details_use_the_documented_keys() {
        let file = FileDetails::new("http://h/public_files/a.wav", "a.wav", FileType::Audio);
        assert_eq!(
            file.to_json(),
            json!({"fileUrl": "http://h/public_files/a.wav", "fileName": "a.wav", "fileType": "AUDIO"})
        );
    }
}
