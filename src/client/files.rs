//! Files over the wire without holding them: multipart uploads streamed from disk or from a
//! generator, downloads streamed into a SHA-256 digest. Memory stays bounded by the chunk size
//! whatever the file size, so a 20 MB round trip costs the harness a few hundred kilobytes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use sha2::{Digest, Sha256};

use super::agent::AgentSession;
use super::customer::CustomerClient;
use super::exchange::{Exchange, TransportError};
use super::tap::Sent;
use super::{ClientConfig, http_client};
use crate::api;

/// Bytes per chunk read from disk or generated.
const CHUNK: usize = 64 * 1024;
/// Error bodies of downloads are kept up to this size for the report.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// Where an upload's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadSource {
    Disk(PathBuf),
    /// `size` pseudo-random bytes from `seed` (the same seed gives the same bytes).
    Generated {
        size: u64,
        seed: u64,
    },
}

/// An upload: where to POST it and how to name the part.
#[derive(Debug, Clone)]
pub struct UploadSpec {
    /// Path under the target, e.g. `/api/v2/me/chats/{id}/attachments`.
    pub path: String,
    /// Multipart field name (`attachment` for GWS).
    pub field: String,
    pub file_name: String,
    pub mime: String,
    pub source: UploadSource,
}

/// What went through: its SHA-256 (lower-case hex) and size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileDigest {
    pub sha256: String,
    pub size: u64,
}

/// A deadline that grows with the size: the request timeout plus one second per megabyte.
fn deadline_for(cfg: &ClientConfig, size: u64) -> Duration {
    cfg.request_timeout + Duration::from_secs(size / 1_000_000)
}

/// `size` deterministic pseudo-random bytes (xorshift64*), in chunks.
pub fn generated(size: u64, seed: u64) -> impl Stream<Item = Vec<u8>> + Send + 'static {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    if state == 0 {
        state = 1;
    }
    let mut left = size;
    futures_util::stream::iter(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(CHUNK as u64) as usize;
        let mut chunk = Vec::with_capacity(n);
        while chunk.len() < n {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            let take = (n - chunk.len()).min(8);
            chunk.extend_from_slice(&word[..take]);
        }
        left -= n as u64;
        Some(chunk)
    }))
}

/// The digest of a generated file, without sending it anywhere.
pub async fn digest_of_generated(size: u64, seed: u64) -> FileDigest {
    let mut hasher = Sha256::new();
    let mut stream = std::pin::pin!(generated(size, seed));
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk);
    }
    FileDigest { sha256: hex(&hasher.finalize()), size }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Quote a multipart parameter value (RFC 7578: backslash-escape quotes and backslashes, no
/// line breaks).
/// The framing of a `multipart/form-data` body with one file part: what goes before the file's
/// bytes, what goes after, and the Content-Type naming the boundary. The one encoder of the
/// project: conformance uploads stream through it, load uploads build their body with it.
#[derive(Debug, Clone)]
pub struct FilePart {
    boundary: String,
    pub head: String,
    pub tail: String,
}

impl FilePart {
    pub fn new(field: &str, file_name: &str, mime: &str) -> FilePart {
        let boundary = format!("chatprobe-{}", uuid::Uuid::new_v4().simple());
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quoted(field),
            quoted(file_name),
            mime.replace(['\r', '\n'], "")
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        FilePart { boundary, head, tail }
    }

    /// `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The whole body's length for a file of `size` bytes.
    pub fn body_len(&self, size: u64) -> u64 {
        self.head.len() as u64 + size + self.tail.len() as u64
    }
}

fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .flat_map(|c| if c == '"' || c == '\\' { vec!['\\', c] } else { vec![c] })
        .collect()
}

/// Upload through an agent's session (cookie and CSRF token), streaming the part.
pub async fn upload(
    session: &AgentSession,
    spec: &UploadSpec,
    cfg: &ClientConfig,
) -> Result<(Exchange, FileDigest), TransportError> {
    let url_text = format!("{}{}", session.base_url(), spec.path);
    let invalid =
        |reason: String| TransportError::InvalidRequest { method: "POST".into(), url: url_text.clone(), reason };
    let url = reqwest::Url::parse(&url_text).map_err(|e| invalid(e.to_string()))?;

    let (size, source): (u64, futures_util::stream::BoxStream<'static, Result<Vec<u8>, std::io::Error>>) =
        match &spec.source {
            UploadSource::Disk(path) => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| invalid(format!("cannot open {}: {e}", path.display())))?;
                let size = file.metadata().await.map_err(|e| invalid(format!("{}: {e}", path.display())))?.len();
                let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK).map(|r| r.map(|b| b.to_vec()));
                (size, stream.boxed())
            }
            UploadSource::Generated { size, seed } => (*size, generated(*size, *seed).map(Ok).boxed()),
        };

    let part = FilePart::new(&spec.field, &spec.file_name, &spec.mime);
    let total = part.body_len(size);
    let content_type = part.content_type();
    let FilePart { head, tail, .. } = part;

    let hasher = Arc::new(Mutex::new((Sha256::new(), 0u64)));
    let tap = Arc::clone(&hasher);
    let body = futures_util::stream::once(async move { Ok::<Vec<u8>, std::io::Error>(head.into_bytes()) })
        .chain(source.map(move |chunk| {
            if let Ok(bytes) = &chunk {
                let mut h = tap.lock().unwrap_or_else(PoisonError::into_inner);
                h.0.update(bytes);
                h.1 += bytes.len() as u64;
            }
            chunk
        }))
        .chain(futures_util::stream::once(async move { Ok(tail.into_bytes()) }));

    let mut builder = session
        .http()
        .post(url.clone())
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, total)
        .body(reqwest::Body::wrap_stream(body));
    if let Some(token) = session.csrf_token() {
        builder = builder.header(token.header, token.token);
    }
    let request = builder.build().map_err(|e| invalid(super::exchange::error_chain(&e)))?;
    let note = format!(
        "[multipart/form-data, part `{}`: file `{}` ({}), {size} bytes, not recorded]",
        spec.field, spec.file_name, spec.mime
    );
    let sent = Sent::of(cfg.tap.as_ref(), &request, Some(note));
    let http = session.http();
    let mut version = String::from("HTTP/1.1");
    let started = Instant::now();
    let deadline = deadline_for(cfg, size);
    let send = async {
        let response = http.execute(request).await?;
        version = format!("{:?}", response.version());
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = read_capped(response, cfg.max_body).await?;
        Ok::<_, reqwest::Error>((status, headers, bytes))
    };
    let result = match tokio::time::timeout(deadline, send).await {
        Err(_) => Err(TransportError::Timeout { method: "POST".into(), url: url_text.clone(), after: deadline }),
        Ok(Err(e)) => Err(TransportError::Http {
            method: "POST".into(),
            url: url_text.clone(),
            reason: super::exchange::error_chain(&e),
        }),
        Ok(Ok((status, headers, bytes))) => {
            let (h, sent) = std::mem::take(&mut *hasher.lock().unwrap_or_else(PoisonError::into_inner));
            let digest = FileDigest { sha256: hex(&h.finalize()), size: sent };
            let request_body = serde_json::json!({"multipart": {"field": spec.field, "filename": spec.file_name, "mime": spec.mime, "size": size}});
            Ok((Exchange::new("POST", &url, Some(request_body), status, &headers, &bytes, started.elapsed()), digest))
        }
    };
    if let Some(s) = sent {
        s.heard(cfg.tap.as_ref(), "POST", &url_text, version, result.as_ref().map(|(ex, _)| ex));
    }
    result
}

/// Read a response body up to `cap` bytes (the rest is dropped, not buffered).
async fn read_capped(response: reqwest::Response, cap: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(out)
}

/// Who downloads.
pub enum Downloader<'a> {
    Agent(&'a AgentSession),
    Customer(&'a CustomerClient),
}

/// Download `path_or_url` (a path under the target, or an absolute URL of the same origin, as
/// attachment `uri`s are) and digest it as it streams.
pub async fn download(
    who: Downloader<'_>,
    base_url: &str,
    path_or_url: &str,
    cfg: &ClientConfig,
) -> Result<(Exchange, FileDigest), TransportError> {
    let url_text = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
        path_or_url.to_owned()
    } else {
        format!("{}{}", base_url.trim_end_matches('/'), path_or_url)
    };
    let invalid =
        |reason: String| TransportError::InvalidRequest { method: "GET".into(), url: url_text.clone(), reason };
    let url = reqwest::Url::parse(&url_text).map_err(|e| invalid(e.to_string()))?;
    let base = reqwest::Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
    // Only the target is ever contacted, whatever URL a server hands out.
    if url.origin() != base.origin() {
        return Err(invalid(format!(
            "refusing to download from {} (the target is {})",
            url.origin().ascii_serialization(),
            base.origin().ascii_serialization()
        )));
    }
    let (http, builder) = match who {
        Downloader::Agent(session) => {
            let http = session.http();
            let builder = http.get(url.clone());
            (http, builder)
        }
        Downloader::Customer(customer) => {
            let http = http_client(cfg)?;
            let builder = http.get(url.clone()).header(api::CONTACT_CENTER_ID_HEADER, customer.contact_center_id());
            (http, builder)
        }
    };
    let request = builder.build().map_err(|e| invalid(super::exchange::error_chain(&e)))?;
    let sent = Sent::of(cfg.tap.as_ref(), &request, None);
    let mut version = String::from("HTTP/1.1");
    let started = Instant::now();
    let fetch = async {
        let response = http.execute(request).await?;
        version = format!("{:?}", response.version());
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let declared = response.content_length().unwrap_or(0);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut kept = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            let room = ERROR_BODY_CAP.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Ok::<_, reqwest::Error>((status, headers, declared, hasher, size, kept))
    };
    let deadline = deadline_for(cfg, 0) + Duration::from_secs(60);
    let result = match tokio::time::timeout(deadline, fetch).await {
        Err(_) => Err(TransportError::Timeout { method: "GET".into(), url: url_text.clone(), after: deadline }),
        Ok(Err(e)) => Err(TransportError::Http {
            method: "GET".into(),
            url: url_text.clone(),
            reason: super::exchange::error_chain(&e),
        }),
        Ok(Ok((status, headers, _declared, hasher, size, kept))) => {
            let is_json = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("json"));
            // A file's bytes are not a body to parse; an error answer is.
            let body: &[u8] = if is_json { &kept } else { &[] };
            let mut ex = Exchange::new("GET", &url, None, status, &headers, body, started.elapsed());
            ex.body_bytes = size as usize;
            Ok((ex, FileDigest { sha256: hex(&hasher.finalize()), size }))
        }
    };
    if let Some(s) = sent {
        s.heard(cfg.tap.as_ref(), "GET", &url_text, version, result.as_ref().map(|(ex, _)| ex));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn generated_bytes_are_deterministic_and_sized() {
        let a = digest_of_generated(200_000, 7).await;
        let b = digest_of_generated(200_000, 7).await;
        let c = digest_of_generated(200_000, 8).await;
        assert_eq!(a, b);
        assert_ne!(a.sha256, c.sha256);
        assert_eq!(a.size, 200_000);
        let total: usize = generated(CHUNK as u64 * 2 + 3, 1).map(|c| c.len()).collect::<Vec<_>>().await.iter().sum();
        assert_eq!(total, CHUNK * 2 + 3);
    }

    #[test]
    fn multipart_parameters_are_quoted() {
        assert_eq!(quoted("a\"b\\c\r\nd"), "a\\\"b\\\\cd");
    }
}
