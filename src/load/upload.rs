//! The agent's file upload under load: `POST /api/v2/me/chats/{id}/attachments` as
//! multipart/form-data with the file in the `attachment` field (the "Add New Document" page),
//! through the agent's own session (cookie, Basic credentials, CSRF token). Latency and bytes are
//! recorded; throughput is bytes over the time of the request.

use std::sync::OnceLock;
use std::time::Instant;

use super::Ctx;
use super::agents::Agent;
use super::check;
use super::metrics::names;
use crate::client::files::FilePart;

/// A block of file content made once; uploads repeat it rather than generate bytes each time.
fn block() -> &'static [u8] {
    static BLOCK: OnceLock<Vec<u8>> = OnceLock::new();
    BLOCK.get_or_init(|| b"chatprobe load file\n".iter().copied().cycle().take(64 * 1024).collect())
}

/// Upload one file of `size` bytes to `chat`; an error text when it failed.
pub async fn one(ctx: &Ctx, agent: &Agent, chat: &str, size: u64, intended: Instant) -> Result<(), String> {
    let part = FilePart::new("attachment", &format!("load-{size}.txt"), "text/plain");
    let mut body = Vec::with_capacity(usize::try_from(part.body_len(size)).unwrap_or(0));
    body.extend_from_slice(part.head.as_bytes());
    let mut left = size as usize;
    while left > 0 {
        let n = left.min(block().len());
        body.extend_from_slice(&block()[..n]);
        left -= n;
    }
    body.extend_from_slice(part.tail.as_bytes());

    let url = format!("{}/api/v2/me/chats/{chat}/attachments", agent.session.base_url());
    let mut req = agent
        .session
        .http()
        .post(&url)
        .basic_auth(&agent.credentials.username, Some(&agent.credentials.password))
        .header("Content-Type", part.content_type())
        .body(body);
    if let Some(token) = agent.session.csrf_token() {
        req = req.header(token.header.as_str(), token.token.as_str());
    }
    let sent = Instant::now();
    let resp = req.send().await.map_err(|e| format!("upload of {size} bytes: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").map(|v| v.as_bytes().to_vec());
    let bytes = resp.bytes().await.map_err(|e| format!("upload of {size} bytes: {e}"))?;
    let done = Instant::now();
    let path = format!("/api/v2/me/chats/{chat}/attachments");
    let mut code = None;
    check::raw(&ctx.reg, "POST", &path, content_type.as_deref(), &bytes, |t, body| {
        code = body.and_then(|b| b.get("statusCode")?.as_i64());
        t.record(&mut ctx.lock());
    });
    let mut m = ctx.lock();
    if !(200..300).contains(&status) || code.is_some_and(|c| c != 0) {
        return Err(format!("upload refused: HTTP {status} {}", String::from_utf8_lossy(&bytes)));
    }
    m.record(names::UPLOAD, intended, sent, done);
    let micros = done.duration_since(sent).as_micros().max(1) as u64;
    m.counts.upload_bytes += size;
    m.counts.upload_micros += micros;
    // kB/s = bytes / ms.
    m.record_value("upload-throughput-kBps", size * 1000 / micros);
    Ok(())
}
