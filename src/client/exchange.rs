//! One HTTP request and its answer as data ([`Exchange`]), the errors of the transport
//! ([`TransportError`]), and the one function every client sends through: whole-request deadline,
//! body read in chunks against the size cap, JSON parsed without trusting the content type.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

/// How much of a body an [`Exchange`] keeps as text, for reports; `json` holds the whole of it.
pub const BODY_TEXT_LIMIT: usize = 64 * 1024;

/// One HTTP request and what came back, as data.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// Unique within the process: what a trace entry and a check about this exchange share.
    #[serde(skip)]
    pub id: u64,
    pub method: String,
    pub url: String,
    /// The URL's path, without the query.
    pub path: String,
    pub request_body: Option<Value>,
    pub status: u16,
    pub content_type: Option<String>,
    /// Response headers in arrival order, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as lossy UTF-8, cut to [`BODY_TEXT_LIMIT`] bytes.
    pub body_text: String,
    /// Size of the whole body, in bytes.
    pub body_bytes: usize,
    /// The parsed body, when it is JSON (whatever the content type said).
    pub json: Option<Value>,
    /// Why the body is not JSON; `None` when `json` is set or the body is empty.
    pub json_error: Option<String>,
    /// The body holds more JSON values than chatprobe parses (`json::MAX_VALUES`): it was not
    /// parsed, which says nothing about whether it is JSON.
    pub json_over_limit: bool,
    /// From sending the request to the last byte of the body.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl Exchange {
    /// The first response header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A copy without the parsed bodies (the text is kept): what a trace holds.
    pub fn for_trace(&self) -> Exchange {
        Exchange {
            id: self.id,
            method: self.method.clone(),
            url: self.url.clone(),
            path: self.path.clone(),
            request_body: None,
            status: self.status,
            content_type: self.content_type.clone(),
            headers: self.headers.clone(),
            body_text: self.body_text.clone(),
            body_bytes: self.body_bytes,
            json: None,
            json_error: self.json_error.clone(),
            json_over_limit: self.json_over_limit,
            elapsed: self.elapsed,
        }
    }

    /// Build the record of a completed request from its parts.
    pub(crate) fn new(
        method: &str,
        url: &reqwest::Url,
        request_body: Option<Value>,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        elapsed: Duration,
    ) -> Exchange {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let content_type = headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.clone());
        let (json, json_error, json_over_limit) = parse_json(body);
        Exchange {
            id: next_id(),
            method: method.to_owned(),
            url: url.to_string(),
            path: url.path().to_owned(),
            request_body,
            status,
            content_type,
            headers,
            body_text: text_prefix(body),
            body_bytes: body.len(),
            json,
            json_error,
            json_over_limit,
            elapsed,
        }
    }
}

/// A fresh exchange id.
pub(crate) fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The body parsed as JSON (within the value budget), or why it is not; an empty (or blank)
/// body is neither.
fn parse_json(body: &[u8]) -> (Option<Value>, Option<String>, bool) {
    if body.iter().all(u8::is_ascii_whitespace) {
        return (None, None, false);
    }
    match super::json::parse(body, super::json::MAX_VALUES) {
        Ok(v) => (Some(v), None, false),
        Err(e @ super::json::JsonError::OverLimit { .. }) => (None, Some(e.to_string()), true),
        Err(e) => (None, Some(e.to_string()), false),
    }
}

/// Lossy UTF-8 of the first [`BODY_TEXT_LIMIT`] bytes, never splitting a character.
pub(crate) fn text_prefix(body: &[u8]) -> String {
    if body.len() <= BODY_TEXT_LIMIT {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut end = BODY_TEXT_LIMIT;
    // A UTF-8 continuation byte is 0b10xx_xxxx: back up to the start of the character it is in.
    while end > BODY_TEXT_LIMIT - 4 && body[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    let mut text = String::from_utf8_lossy(&body[..end]).into_owned();
    text.push_str(&format!("… [{} more bytes]", body.len() - end));
    text
}

/// Why a request produced no [`Exchange`]. Each message names the method and URL.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{method} {url}: cannot connect: {reason}")]
    Connect { method: String, url: String, reason: String },
    #[error("{method} {url}: no complete answer within {after:?}")]
    Timeout { method: String, url: String, after: Duration },
    #[error("{method} {url}: response body larger than the {limit}-byte limit{}", declared_note(*.declared))]
    BodyTooLarge { method: String, url: String, limit: usize, declared: Option<u64> },
    #[error("{method} {url}: {reason}")]
    Http { method: String, url: String, reason: String },
    #[error("{method} {url}: invalid request: {reason}")]
    InvalidRequest { method: String, url: String, reason: String },
    #[error("invalid base URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot set up the HTTP client: {reason}")]
    Setup { reason: String },
}

fn declared_note(declared: Option<u64>) -> String {
    declared.map(|n| format!(" (Content-Length: {n})")).unwrap_or_default()
}

/// An error and its causes on one line; reqwest's own message alone says little
/// ("error sending request"), the cause says what happened ("connection refused").
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Send `req` and read the whole answer within `timeout`, refusing bodies over `cfg.max_body`;
/// `cfg.tap` hears of it either way.
pub(crate) async fn execute(
    http: &reqwest::Client,
    req: reqwest::Request,
    request_body: Option<Value>,
    timeout: Duration,
    cfg: &super::ClientConfig,
) -> Result<Exchange, TransportError> {
    let max_body = cfg.max_body;
    let method = req.method().as_str().to_owned();
    let url = req.url().clone();
    // What was sent, taken before sending only when someone listens.
    let sent = super::tap::Sent::of(cfg.tap.as_ref(), &req, None);
    let mut version = String::from("HTTP/1.1");
    let started = Instant::now();
    let exchange = async {
        let mut resp = http.execute(req).await.map_err(|e| classify(&method, &url, e))?;
        version = format!("{:?}", resp.version());
        let too_large = |declared| TransportError::BodyTooLarge {
            method: method.clone(),
            url: url.to_string(),
            limit: max_body,
            declared,
        };
        // A HEAD answer declares the length of a body it does not send.
        if let Some(len) = resp.content_length().filter(|_| method != "HEAD")
            && len > max_body as u64
        {
            return Err(too_large(Some(len)));
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&method, &url, e))? {
            if body.len() + chunk.len() > max_body {
                return Err(too_large(None));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Exchange::new(&method, &url, request_body, status, &headers, &body, started.elapsed()))
    };
    let result = match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout { method: method.clone(), url: url.to_string(), after: timeout }),
    };
    if let Some(sent) = sent {
        sent.heard(cfg.tap.as_ref(), &method, url.as_str(), version, result.as_ref());
    }
    result
}

fn classify(method: &str, url: &reqwest::Url, e: reqwest::Error) -> TransportError {
    let (method, url) = (method.to_owned(), url.to_string());
    let e = e.without_url();
    let reason = error_chain(&e);
    if e.is_connect() {
        TransportError::Connect { method, url, reason }
    } else if e.is_builder() {
        TransportError::InvalidRequest { method, url, reason }
    } else {
        TransportError::Http { method, url, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_blank_bodies_are_neither_json_nor_errors() {
        assert_eq!(parse_json(b""), (None, None, false));
        assert_eq!(parse_json(b" \r\n"), (None, None, false));
    }

    #[test]
    fn broken_json_says_where() {
        let (json, err, over) = parse_json(br#"{"statusCode":0 "x":1}"#);
        assert!(json.is_none() && !over);
        assert!(err.unwrap().contains("line 1 column"));
    }

    #[test]
    fn a_body_of_too_many_values_is_not_parsed_and_says_why() {
        let body = format!("[{}0]", "0,".repeat(crate::client::json::MAX_VALUES));
        let (json, err, over) = parse_json(body.as_bytes());
        assert!(json.is_none() && over);
        assert!(err.unwrap().contains("more than"));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let mut body = vec![b'a'; BODY_TEXT_LIMIT - 1];
        body.extend_from_slice("é and more".as_bytes());
        let text = text_prefix(&body);
        assert!(text.starts_with(&"a".repeat(BODY_TEXT_LIMIT - 1)));
        assert!(!text.contains('\u{FFFD}'), "a split character shows as a replacement");
        assert!(text.ends_with("more bytes]"));
    }

    #[test]
    fn exchanges_serialize_elapsed_as_milliseconds() {
        let url = reqwest::Url::parse("http://h/api/v2/me?x=1").unwrap();
        let ex = Exchange::new("GET", &url, None, 200, &Default::default(), b"{}", Duration::from_micros(1500));
        let v = serde_json::to_value(&ex).unwrap();
        assert_eq!(v["elapsed_ms"], 1.5);
        assert_eq!(v["path"], "/api/v2/me");
        assert_eq!(v["json"], serde_json::json!({}));
    }

    #[test]
    fn body_too_large_names_size_method_and_url() {
        let e = TransportError::BodyTooLarge {
            method: "GET".into(),
            url: "http://h/x".into(),
            limit: 10,
            declared: Some(99),
        };
        assert_eq!(e.to_string(), "GET http://h/x: response body larger than the 10-byte limit (Content-Length: 99)");
    }
}
