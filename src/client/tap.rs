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
    /// The request body as lossy UTF-8, cut to [`REQUEST_TEXT_LIMIT`] bytes.
    pub request_text: Option<String>,
    pub request_bytes: usize,
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

impl std::fmt::Debug for ExchangeTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeTap")
    }
}
