//! Putting a Tegsoft request into its chat: the downloaded file becomes a document in the
//! simulator's store (a file in its upload directory), then the text becomes a Text message and
//! the file a `file-uploaded` SystemCommand message, both from the chat's customer — the same
//! message and attachment object an agent's GWS UploadFile produces, downloadable the same ways.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::fetch::{self, Limits};
use super::reply::Failure;
use super::request::{FileSpec, Request};
use crate::api::CustomerChatState;
use crate::api::catalogue::{FILE_UPLOADED, attachment_download, attachment_path};
use crate::sim::Sim;
use crate::sim::chat::Uploaded;
use crate::sim::documents::{Content, DEFAULT_MIME, Document, sanitize_file_name};
use crate::sim::engine::Engine;
use crate::sim::message::{Draft, MessageType};

/// A file downloaded whole into the upload directory, not yet in the store.
#[derive(Debug)]
pub(crate) struct Received {
    pub document_id: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub path: PathBuf,
}

impl Received {
    /// Remove the file of a download that will not be posted.
    pub async fn discard(&self) {
        discard(&self.path).await;
    }
}

async fn discard(path: &Path) {
    // It may not exist: nothing was written yet.
    let _ = tokio::fs::remove_file(path).await;
}

/// Download `spec` into the simulator's upload directory under a new document id.
pub(crate) async fn receive(
    sim: &Sim,
    http: &reqwest::Client,
    spec: &FileSpec,
    limits: &Limits<'_>,
) -> Result<Received, Failure> {
    // Refused before anything is made on disk, as before anything is sent on the network.
    fetch::check_allowed(&spec.url, limits.allow)?;
    let document_id = sim.with(|st| st.engine.new_document_id());
    let path = sim.uploads.path().join(&document_id);
    let stored = async {
        let store_failed = |e: std::io::Error| Failure::FetchFailed(format!("the file could not be stored: {e}"));
        tokio::fs::create_dir_all(sim.uploads.path()).await.map_err(store_failed)?;
        let mut out = tokio::fs::File::create(&path).await.map_err(store_failed)?;
        fetch::fetch(http, &spec.url, limits, &mut out).await
    };
    let fetched = match stored.await {
        Ok(fetched) => fetched,
        Err(failure) => {
            discard(&path).await;
            return Err(failure);
        }
    };
    let name = sanitize_file_name(&spec.name);
    let mime = fetched
        .content_type
        .filter(|m| m != DEFAULT_MIME)
        .or_else(|| mime_of(&name).map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_MIME.to_owned());
    Ok(Received { document_id, name, mime, size: fetched.size, path })
}

/// The media type a file name's extension implies, for servers that send none.
fn mime_of(name: &str) -> Option<&'static str> {
    let (_, extension) = name.rsplit_once('.')?;
    Some(match extension.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => return None,
    })
}

impl Engine {
    /// The chat a CHATID names must exist and not be over.
    pub(crate) fn tegsoft_check_chat(&self, customer_id: &str) -> Result<(), Failure> {
        let chat = self
            .by_customer
            .get(customer_id)
            .and_then(|id| self.chats.get(id))
            .ok_or_else(|| Failure::UnknownChatId(customer_id.to_owned()))?;
        if chat.customer_state == CustomerChatState::Idle {
            return Err(Failure::ChatClosed(customer_id.to_owned()));
        }
        Ok(())
    }

    /// Post the text (first) and the file of a checked request as the chat's customer; the
    /// file's id inside the chat when there is a file. The chat is checked again: it may have
    /// ended while the file was downloading.
    pub(crate) fn tegsoft_post(
        &mut self,
        request: &Request,
        file: Option<&Received>,
        host: &str,
    ) -> Result<Option<String>, Failure> {
        self.tegsoft_check_chat(&request.chat_id)?;
        let Some(chat_id) = self.by_customer.get(&request.chat_id).cloned() else {
            return Err(Failure::UnknownChatId(request.chat_id.clone()));
        };
        let Some(customer) = self.chats.get(&chat_id).map(|c| c.customer.clone()) else {
            return Err(Failure::UnknownChatId(request.chat_id.clone()));
        };
        if let Some(text) = &request.text {
            self.say(&chat_id, Draft::new(MessageType::Text, &customer).text(text.clone()), None, host);
        }
        let Some(file) = file else { return Ok(None) };
        self.documents.insert(Document {
            id: file.document_id.clone(),
            name: file.name.clone(),
            mime: file.mime.clone(),
            size: file.size,
            content: Content::File(file.path.clone()),
            chat: Some(chat_id.clone()),
        });
        let file_id = self.ids.file_id();
        let attachment = json!({
            "fileId": file_id,
            "id": file.document_id,
            "name": file.name,
            "path": attachment_path(&file.document_id),
            "size": file.size,
            "uri": format!("{}{}", super::super::agent::origin(host), attachment_download(&file.document_id)),
        });
        let draft = Draft::new(MessageType::SystemCommand, &customer).notice_text(FILE_UPLOADED).attachment(attachment);
        if let Some(chat) = self.chats.get_mut(&chat_id) {
            chat.files.push(Uploaded {
                file_id: file_id.clone(),
                document: file.document_id.clone(),
                for_customer: true,
            });
        }
        self.say(&chat_id, draft, None, host);
        Ok(Some(file_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_their_media_types() {
        assert_eq!(mime_of("a.PNG"), Some("image/png"));
        assert_eq!(mime_of("x.tar.pdf"), Some("application/pdf"));
        assert_eq!(mime_of("noextension"), None);
        assert_eq!(mime_of("a.bin"), None);
    }
}
