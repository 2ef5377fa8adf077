//! Documents in a chat: AddAttachment and Add New Document link a document to the chat
//! (AttachmentAdded), RemoveAttachment unlinks it (PropertiesUpdated), UploadFile puts a linked
//! document into the conversation and DeleteFile takes it out again (SystemCommand messages
//! everyone sees). What the customer may download follows from the uploads.

use serde_json::{Value, json};

use super::agent_ops::Call;
use super::chat::{Linked, Origin, Uploaded};
use super::documents::{Content, Document};
use super::engine::Engine;
use super::latitude::RemovalNotificationType;
use super::message::{Draft, MessageType};
use super::reply::SimError;
use crate::api::Visibility;
use crate::api::catalogue::{ADD_NEW_DOCUMENT, FILE_DELETED, FILE_UPLOADED, attachment_download, attachment_path};

/// A document ready to be served: what the response headers say and where the bytes are.
#[derive(Debug, Clone)]
pub(crate) struct Download {
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub content: Content,
}

impl From<&Document> for Download {
    fn from(d: &Document) -> Download {
        Download { name: d.name.clone(), mime: d.mime.clone(), size: d.size, content: d.content.clone() }
    }
}

fn not_found(document: &str) -> SimError {
    SimError::NotFound(format!("Document {document} not found"))
}

impl Engine {
    /// Whether the agent may upload a document to the chat now: statusCode 6 or 2 if not.
    pub fn check_upload(&self, agent: usize, chat_id: &str) -> Result<(), SimError> {
        let state = self.agent_chat(agent, chat_id)?.state_of(agent);
        if ADD_NEW_DOCUMENT.valid_in(state) {
            Ok(())
        } else {
            Err(SimError::InvalidState(format!("No document can be added to a chat in state {}", state.as_str())))
        }
    }

    /// Add New Document, once its bytes are stored: the document enters the store and the chat's
    /// attachments. On error the store is unchanged and the caller removes the file.
    pub fn add_new_document(
        &mut self,
        origin: Origin,
        chat_id: &str,
        document: Document,
        host: &str,
    ) -> Result<(), SimError> {
        self.check_upload(origin.agent, chat_id)?;
        let linked = Linked {
            document: document.id.clone(),
            name: document.name.clone(),
            mime: document.mime.clone(),
            size: document.size,
        };
        self.documents.insert(document);
        self.link(origin, chat_id, linked, host);
        Ok(())
    }

    /// A new id for a document about to be uploaded.
    pub fn new_document_id(&mut self) -> String {
        self.ids.document_id()
    }

    /// AddAttachment: a document UCS holds joins the chat's attachments; `name`, `mime` and
    /// `size` describe it there when given.
    pub(super) fn add_attachment(&mut self, call: &Call) -> Result<(), SimError> {
        let id = call.str("documentId").unwrap_or_default();
        let size = match call.body.get("size") {
            None | Some(Value::Null) => None,
            Some(size) => Some(
                size.as_u64()
                    .ok_or_else(|| SimError::Validation("Parameter size must be a non-negative integer".into()))?,
            ),
        };
        let document = self.readable(call.origin().agent, id).ok_or_else(|| not_found(id))?;
        let linked = Linked {
            document: document.id.clone(),
            name: call.str("name").map_or_else(|| document.name.clone(), str::to_owned),
            mime: call.str("mime").map_or_else(|| document.mime.clone(), str::to_owned),
            size: size.unwrap_or(document.size),
        };
        self.link(call.origin(), call.chat, linked, call.host);
        Ok(())
    }

    /// Link (or link again, replacing its description) and tell the agents in the conversation.
    fn link(&mut self, origin: Origin, chat_id: &str, linked: Linked, host: &str) {
        let Some(chat) = self.chats.get_mut(chat_id) else { return };
        match chat.attachments.iter_mut().find(|a| a.document == linked.document) {
            Some(earlier) => *earlier = linked,
            None => chat.attachments.push(linked),
        }
        self.push_chat_update(origin, chat_id, "AttachmentAdded", host);
    }

    /// RemoveAttachment: the document leaves the chat's attachments (not UCS, and files already
    /// uploaded from it stay in the conversation).
    pub(super) fn remove_attachment(&mut self, call: &Call) -> Result<(), SimError> {
        let id = call.str("documentId").unwrap_or_default();
        let chat = self.chats.get_mut(call.chat).ok_or_else(|| not_found(id))?;
        let before = chat.attachments.len();
        chat.attachments.retain(|a| a.document != id);
        if chat.attachments.len() == before {
            return Err(SimError::NotFound(format!("Document {id} is not attached to chat {}", call.chat)));
        }
        let kind = match self.opts.lat.removal_notification_type {
            RemovalNotificationType::Documented => "PropertiesUpdated",
            RemovalNotificationType::AttachmentRemoved => "AttachmentRemoved",
        };
        self.push_chat_update(call.origin(), call.chat, kind, call.host);
        Ok(())
    }

    /// UploadFile: a linked document is sent into the conversation under a new fileId.
    pub(super) fn upload_file(&mut self, call: &Call) -> Result<(), SimError> {
        let id = call.str("documentId").unwrap_or_default();
        let me = self.participant_of(call.agent, call.chat);
        let linked = self.chats.get(call.chat).and_then(|c| c.linked(id)).cloned();
        let (Some(me), Some(linked)) = (me, linked) else {
            return Err(SimError::InvalidState(format!(
                "Document {id} is not linked to the chat: link the document first (AddAttachment or Add New Document)"
            )));
        };
        let file_id = self.ids.file_id();
        let attachment = json!({
            "fileId": file_id,
            "id": linked.document,
            "name": linked.name,
            "path": attachment_path(&linked.document),
            "size": linked.size,
            "uri": format!("{}{}", super::agent::origin(call.host), attachment_download(&linked.document)),
        });
        let draft = Draft::new(MessageType::SystemCommand, &me).notice_text(FILE_UPLOADED).attachment(attachment);
        let for_customer = draft.visibility == Visibility::All;
        if let Some(chat) = self.chats.get_mut(call.chat) {
            chat.files.push(Uploaded { file_id, document: linked.document, for_customer });
        }
        // The `upload-without-message` fault: the file is in the chat, nobody is told.
        if !self.opts.faults.upload_without_message {
            self.say(call.chat, draft, Some(call.origin()), call.host);
        }
        Ok(())
    }

    /// DeleteFile: the uploaded file leaves the conversation; the customer can no longer fetch it.
    pub(super) fn delete_file(&mut self, call: &Call) -> Result<(), SimError> {
        let file_id = call.str("fileId").unwrap_or_default();
        let me = self.participant_of(call.agent, call.chat);
        let chat = self.chats.get_mut(call.chat);
        let position = chat.as_ref().and_then(|c| c.files.iter().position(|f| f.file_id == file_id));
        let (Some(chat), Some(position), Some(me)) = (chat, position, me) else {
            return Err(SimError::NotFound(format!("File {file_id} not found in chat {}", call.chat)));
        };
        chat.files.remove(position);
        let draft = Draft::new(MessageType::SystemCommand, &me)
            .notice_text(FILE_DELETED)
            .attachment(json!({"fileId": file_id}));
        self.say(call.chat, draft, Some(call.origin()), call.host);
        Ok(())
    }

    /// A ChatStateChangeMessage of `kind` to every agent in the conversation, the one who caused
    /// it with its referenceId.
    fn push_chat_update(&mut self, origin: Origin, chat_id: &str, kind: &str, host: &str) {
        self.push_state(origin.agent, chat_id, kind, Some(origin.reference), host);
        let others = self.chats.get(chat_id).map(|c| c.others(origin.agent)).unwrap_or_default();
        for other in others {
            self.push_state(other, chat_id, kind, None, host);
        }
    }

    /// Any document in the store, for an authenticated agent (`/api/v2/attachments/{id}`).
    /// A document the agent may read: a standard response, or one uploaded into a chat that was
    /// offered to the agent. Another agent's upload is as unknown as a document that does not exist.
    fn readable(&self, agent: usize, document: &str) -> Option<&Document> {
        let found = self.documents.get(document)?;
        match &found.chat {
            None => Some(found),
            Some(chat) => self.agent_chat(agent, chat).is_ok().then_some(found),
        }
    }

    /// `GET /api/v2/attachments/{docId}`: a document the agent may read.
    pub fn agent_download(&self, agent: usize, document: &str) -> Result<Download, SimError> {
        self.readable(agent, document).map(Download::from).ok_or_else(|| not_found(document))
    }

    /// A document linked to or uploaded into a chat the agent was offered or joined.
    pub fn agent_chat_download(&self, agent: usize, chat_id: &str, document: &str) -> Result<Download, SimError> {
        let chat = self.agent_chat(agent, chat_id).map_err(|_| not_found(document))?;
        let in_chat = chat.linked(document).is_some() || chat.files.iter().any(|f| f.document == document);
        if !in_chat {
            return Err(not_found(document));
        }
        self.documents.get(document).map(Download::from).ok_or_else(|| not_found(document))
    }

    /// Whether `id` names a chat on the customer side.
    pub fn is_customer_chat(&self, id: &str) -> bool {
        self.by_customer.contains_key(id)
    }

    /// A document uploaded into the customer's conversation and not deleted since.
    pub fn customer_download(&self, customer_id: &str, document: &str) -> Result<Download, SimError> {
        let chat =
            self.by_customer.get(customer_id).and_then(|id| self.chats.get(id)).ok_or_else(|| not_found(document))?;
        if !chat.files.iter().any(|f| f.document == document && f.for_customer) {
            return Err(not_found(document));
        }
        self.documents.get(document).map(Download::from).ok_or_else(|| not_found(document))
    }
}
