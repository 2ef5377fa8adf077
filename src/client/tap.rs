//! A hook that hears every HTTP exchange the clients make, Bayeux POSTs included, with what was
//! sent (headers, body) as well as what came back: the raw material of `run --trace`. Nothing is
//! kept here; the listener decides what to keep and for how long.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::exchange::Exchange;

/// Most bytes of a request body a [`Traced`] keeps as text.
pub const REQUEST_TEXT_LIMIT: usize = super::exchange::BODY_TEXT_LIMIT;

/// One request as it was sent, and what came of it.
#[derive(Clone, Debug)]
pub struct Traced {
    /// The id of the exchange ([`Exchange::id`]), or a fresh one when there was no answer.
    pub id: u64,
    pub started: SystemTime,
    pub method: String,
    pub url: String,
    /// Request headers as the client set them, names in lower case. Cookies the jar adds on
    /// the way out are not among them.
    pub request_headers: Vec<(String, String)>,
    /// The request body as lossy UTF-8, cut to [`REQUEST_TEXT_LIMIT`] bytes (a streamed body,
    /// a file upload, is described rather than copied).
    pub request_text: Option<String>,
    /// Size of the request body; `None` when it was streamed without a declared length.
    pub request_bytes: Option<u64>,
    /// `HTTP/1.1`, `HTTP/2`…, as answered.
    pub http_version: String,
    /// The answer, or why there was none.
    pub response: Result<Exchange, String>,
    pub elapsed: Duration,
}

/// Called with every exchange; cheap to clone.
#[derive(Clone)]
pub struct ExchangeTap(Arc<dyn Fn(Traced) + Send + Sync>);

impl ExchangeTap {
    pub fn new(f: impl Fn(Traced) + Send + Sync + 'static) -> ExchangeTap {
        ExchangeTap(Arc::new(f))
    }

    pub(crate) fn hear(&self, t: Traced) {
        (self.0)(t)
    }
}

/// What a request carried, taken before it is sent (only when a tap listens).
pub(crate) struct Sent {
    at: SystemTime,
    headers: Vec<(String, String)>,
    text: Option<String>,
    bytes: Option<u64>,
    started: std::time::Instant,
}

impl Sent {
    /// Note `req`; a streamed body is described by `stream_note`, its size by Content-Length.
    pub(crate) fn of(tap: Option<&ExchangeTap>, req: &reqwest::Request, stream_note: Option<String>) -> Option<Sent> {
        tap?;
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let declared = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.trim().parse().ok());
        let (text, bytes) = match req.body() {
            None => (None, Some(0)),
            Some(body) => match body.as_bytes() {
                Some(b) => (Some(super::exchange::text_prefix(b)), Some(b.len() as u64)),
                None => (stream_note, declared),
            },
        };
        Some(Sent { at: SystemTime::now(), headers, text, bytes, started: std::time::Instant::now() })
    }

    /// Tell `tap` what came of the request.
    pub(crate) fn heard(
        self,
        tap: Option<&ExchangeTap>,
        method: &str,
        url: &str,
        http_version: String,
        result: Result<&Exchange, &super::TransportError>,
    ) {
        let Some(tap) = tap else { return };
        tap.hear(Traced {
            id: result.map_or_else(|_| super::exchange::next_id(), |ex| ex.id),
            started: self.at,
            method: method.to_owned(),
            url: url.to_owned(),
            request_headers: self.headers,
            request_text: self.text,
            request_bytes: self.bytes,
            http_version,
            response: result.map(Exchange::for_trace).map_err(ToString::to_string),
            elapsed: self.started.elapsed(),
        });
    }
}

impl std::fmt::Debug for ExchangeTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeTap")
    }
}
