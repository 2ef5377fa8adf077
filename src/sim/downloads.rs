//! Downloads by the URIs attachments carry: `GET /api/v2/chats/{chatId}/attachments/{docId}`
//! (a chat's attachments; the customer uses the same path with its own chat id and its
//! `ContactCenterId` for files uploaded into its chat) and `GET /api/v2/attachments/{docId}`
//! (upload messages). The bytes are streamed: from a file for uploads, from the generator for the
//! large standard response, with the document's type, length and name in the headers.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio_util::io::ReaderStream;

use super::attachments::Download;
use super::auth::Caller;
use super::customer::own_chat;
use super::documents::{Content, DEFAULT_MIME, generate};
use super::reply::SimError;
use super::{Sim, SimState};
use crate::api;

/// Bytes of a generated document made per chunk sent.
const GENERATED_CHUNK: u64 = 64 * 1024;

/// `GET /api/v2/chats/{chatId}/attachments/{docId}`.
pub(crate) async fn chat_attachment(
    State(sim): State<Arc<Sim>>,
    Path((chat_id, document)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    // The customer names its chat by its own id and shows no credentials, only the contact
    // centre its chat was requested in.
    let customer =
        headers.contains_key(api::CONTACT_CENTER_ID_HEADER) && sim.with(|st| st.engine.is_customer_chat(&chat_id));
    let found = if customer {
        let found = own_chat(&sim, &headers, &chat_id);
        (None, found.and_then(|()| sim.with(|st| st.engine.customer_download(&chat_id, &document))))
    } else {
        sim.with(|st| {
            as_agent(&sim, st, &headers, |st, caller| st.engine.agent_chat_download(caller.agent, &chat_id, &document))
        })
    };
    respond(found).await
}

/// `GET /api/v2/attachments/{docId}`: a standard response, or a document uploaded into a chat
/// the agent was offered.
pub(crate) async fn attachment(
    State(sim): State<Arc<Sim>>,
    Path(document): Path<String>,
    headers: HeaderMap,
) -> Response {
    let found =
        sim.with(|st| as_agent(&sim, st, &headers, |st, caller| st.engine.agent_download(caller.agent, &document)));
    respond(found).await
}

/// An authenticated agent's download (a read: cookie or Basic credentials).
fn as_agent(
    sim: &Sim,
    st: &mut SimState,
    headers: &HeaderMap,
    f: impl FnOnce(&SimState, &Caller) -> Result<Download, SimError>,
) -> (Option<Caller>, Result<Download, SimError>) {
    match st.sessions.authenticate(headers, &st.engine, &sim.config.password) {
        Ok(caller) => {
            let found = f(st, &caller);
            (Some(caller), found)
        }
        Err(refused) => (Some(refused.anonymous), Err(SimError::NotAuthenticated)),
    }
}

/// The document's bytes with its headers, or the refusal; an agent's answer carries the session
/// headers as every read does.
async fn respond((caller, found): (Option<Caller>, Result<Download, SimError>)) -> Response {
    let response = match found {
        Ok(download) => serve(download).await.unwrap_or_else(IntoResponse::into_response),
        Err(e) => e.into_response(),
    };
    match caller {
        Some(caller) => caller.decorate(response),
        None => response,
    }
}

async fn serve(download: Download) -> Result<Response, SimError> {
    let body = match download.content {
        Content::Static(bytes) => Body::from(Bytes::from_static(bytes)),
        Content::Generated(seed) => generated(seed, download.size),
        Content::File(path) => {
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| SimError::Internal(format!("The document could not be read: {e}")))?;
            Body::from_stream(ReaderStream::new(file))
        }
    };
    let mime = HeaderValue::from_str(&download.mime).unwrap_or(HeaderValue::from_static(DEFAULT_MIME));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, mime);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(download.size));
    if let Ok(disposition) = HeaderValue::from_str(&content_disposition(&download.name)) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// The generated document `seed` of `size` bytes, made chunk by chunk as the client reads.
fn generated(seed: u64, size: u64) -> Body {
    let chunks = stream::unfold(0u64, move |offset| async move {
        if offset >= size {
            return None;
        }
        let len = GENERATED_CHUNK.min(size - offset);
        // len is at most GENERATED_CHUNK, which fits any usize.
        let bytes = Bytes::from(generate(seed, offset, len as usize));
        Some((Ok::<_, Infallible>(bytes), offset + len))
    });
    Body::from_stream(chunks)
}

/// `attachment; filename="..."`, with an RFC 6266 `filename*` as well when the name is not plain
/// ASCII (a header value cannot carry it as it is).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
        .map(|c| if c == '"' || c == '\\' { '_' } else { c })
        .collect();
    if ascii == name {
        return format!("attachment; filename=\"{ascii}\"");
    }
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_plain_names_and_encode_others() {
        assert_eq!(content_disposition("cloud-2015-12-01.log"), "attachment; filename=\"cloud-2015-12-01.log\"");
        assert_eq!(
            content_disposition("résumé.txt"),
            "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
        );
        assert_eq!(content_disposition("a\"b.txt"), "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt");
    }
}
