//! "Add New Document": `POST /api/v2/me/chats/{id}/attachments` with a `multipart/form-data`
//! body whose `attachment` part is the document. The part is streamed to a file in the
//! simulator's own upload directory, never held whole in memory, and counted as it arrives: past
//! `max_upload` bytes the file is deleted and the answer is HTTP 413. Only a complete upload
//! reaches the engine, which stores the document and links it to the chat.

use std::io;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::Sim;
use super::agent::host;
use super::auth::csrf_refusal;
use super::chat::Origin;
use super::documents::{Content, DEFAULT_MIME, Document, sanitize_file_name};
use super::reply::{SimError, success};
use crate::api::catalogue::ADD_NEW_DOCUMENT;

/// Where one simulator keeps uploaded documents: a directory of its own under the system's
/// temporary directory, made at the first upload and removed when the simulator stops.
#[derive(Debug)]
pub(crate) struct UploadDir {
    path: PathBuf,
}

impl UploadDir {
    pub fn new() -> UploadDir {
        let name = format!("chatprobe-sim-{}-{}", std::process::id(), Uuid::new_v4().simple());
        UploadDir { path: std::env::temp_dir().join(name) }
    }

    pub fn path(&self) -> &FsPath {
        &self.path
    }

    /// Delete the directory and every file in it; nothing to do if no upload ever made it.
    pub fn remove(&self) {
        // NotFound (never made, or removed already) is the expected case; other errors leave
        // a directory in the temporary directory and nothing more can be done about them.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A document received whole.
struct Received {
    name: String,
    mime: String,
    size: u64,
}

/// Why receiving stopped early.
enum Failure {
    TooLarge,
    Malformed(String),
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// `POST /api/v2/me/chats/{id}/attachments`: answered with the referenceId its AttachmentAdded
/// carries and the new document's id.
pub(crate) async fn add_new_document(
    State(sim): State<Arc<Sim>>,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let host = host(&headers);
    // The session, its CSRF token and the chat are checked before a byte of the body is read.
    let admitted = sim.with(|st| {
        let caller = st.sessions.authorize_write(&headers)?;
        Some(st.engine.check_upload(caller.agent, &chat_id).map(|()| (caller, st.engine.new_document_id())))
    });
    let (caller, document_id) = match admitted {
        None => return csrf_refusal(),
        Some(Err(e)) => return e.into_response(),
        Some(Ok(admitted)) => admitted,
    };
    let Ok(mut multipart) = multipart else { return missing_part().into_response() };
    let file = sim.uploads.path().join(&document_id);
    let received = match receive(&mut multipart, &file, sim.config.max_upload).await {
        Ok(received) => received,
        Err(failure) => {
            discard(&file).await;
            return match failure {
                Failure::TooLarge => SimError::TooLarge(sim.config.max_upload),
                Failure::Malformed(why) => SimError::Validation(format!("Malformed multipart body: {why}")),
                Failure::Io(e) => SimError::Internal(format!("The document could not be stored: {e}")),
            }
            .into_response();
        }
    };
    let Some(received) = received else { return missing_part().into_response() };
    let document = Document {
        id: document_id.clone(),
        name: received.name,
        mime: received.mime,
        size: received.size,
        content: Content::File(file.clone()),
        chat: Some(chat_id.clone()),
    };
    // The chat may have moved on while the body arrived: it is checked again under the lock.
    let linked = sim.with(|st| {
        let last = st.sessions.get(&caller.session_id).map_or(0, |s| s.last_reference);
        let origin = Origin { agent: caller.agent, reference: last + 1 };
        st.engine.add_new_document(origin, &chat_id, document, &host)?;
        if let Some(session) = st.sessions.get_mut(&caller.session_id) {
            session.last_reference = origin.reference;
        }
        Ok::<_, SimError>(origin.reference)
    });
    match linked {
        Ok(reference) => success(json!({"referenceId": reference, "documentId": document_id})),
        Err(e) => {
            discard(&file).await;
            e.into_response()
        }
    }
}

fn missing_part() -> SimError {
    SimError::MissingParameter(format!(
        "Missing required parameter: {} (a part of a multipart/form-data body)",
        ADD_NEW_DOCUMENT.field
    ))
}

/// Remove a partial or refused upload. It may not exist (nothing was written yet).
async fn discard(file: &FsPath) {
    let _ = tokio::fs::remove_file(file).await;
}

/// Read every part: the first `attachment` part goes to `file`, the others are read and dropped.
/// All parts together may not exceed `max` bytes. None when there was no `attachment` part.
async fn receive(multipart: &mut Multipart, file: &FsPath, max: u64) -> Result<Option<Received>, Failure> {
    let mut received = None;
    let mut total = 0u64;
    // Draining an oversized body reads at most `max` more bytes.
    let mut drain_left = max;
    let mut too_large = false;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| Failure::Malformed(e.body_text()))? {
        let outcome = if received.is_none() && field.name() == Some(ADD_NEW_DOCUMENT.field) {
            store(&mut field, file, &mut total, max).await.map(Some)
        } else {
            skip(&mut field, &mut total, max).await.map(|()| None)
        };
        match outcome {
            Ok(Some(r)) => received = Some(r),
            Ok(None) => {}
            Err(Failure::TooLarge) => {
                drain(&mut field, &mut drain_left).await;
                too_large = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if too_large {
        while drain_left > 0
            && let Ok(Some(mut field)) = multipart.next_field().await
        {
            drain(&mut field, &mut drain_left).await;
        }
        return Err(Failure::TooLarge);
    }
    Ok(received)
}

/// Read a part that is not the document, counting its bytes.
async fn skip(field: &mut Field<'_>, total: &mut u64, max: u64) -> Result<(), Failure> {
    while let Some(chunk) = next_chunk(field).await? {
        *total += chunk.len() as u64;
        if *total > max {
            return Err(Failure::TooLarge);
        }
    }
    Ok(())
}

/// Stream one part to `file`.
async fn store(field: &mut Field<'_>, file: &FsPath, total: &mut u64, max: u64) -> Result<Received, Failure> {
    let name = sanitize_file_name(field.file_name().unwrap_or_default());
    let mime = field.content_type().filter(|m| !m.trim().is_empty()).unwrap_or(DEFAULT_MIME).to_owned();
    if let Some(dir) = file.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut out = tokio::fs::File::create(file).await?;
    let mut size = 0u64;
    while let Some(chunk) = next_chunk(field).await? {
        *total += chunk.len() as u64;
        if *total > max {
            return Err(Failure::TooLarge);
        }
        out.write_all(&chunk).await?;
        size += chunk.len() as u64;
    }
    out.flush().await?;
    Ok(Received { name, mime, size })
}

async fn next_chunk(field: &mut Field<'_>) -> Result<Option<axum::body::Bytes>, Failure> {
    field.chunk().await.map_err(|e| Failure::Malformed(e.body_text()))
}

/// Read and drop what is left of a part of an oversized body, within the `left` budget, so the
/// client, still sending, reads the 413 rather than a reset connection. A client sending more
/// than the budget gets its connection closed.
async fn drain(field: &mut Field<'_>, left: &mut u64) {
    while *left > 0
        && let Ok(Some(chunk)) = field.chunk().await
    {
        *left = left.saturating_sub(chunk.len() as u64);
    }
}
