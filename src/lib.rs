//! chatprobe: a contract test harness and load generator for contact-centre chat APIs.

pub mod api;
pub mod cli;
pub mod client;
pub mod contract;
pub mod load;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod selftest;
pub mod sim;

/// Entry points of the fuzz targets (`fuzz/`) and of the test that replays their corpora. Each
/// takes arbitrary bytes and must return, whatever they are: no panic, no hang, bounded memory.
pub mod fuzzing {
    use std::sync::OnceLock;

    use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
    use serde_json::{Value, json};

    use crate::client::Exchange;
    use crate::contract::schema::SchemaRegistry;
    use crate::runner::{Check, Counts, validate};

    /// Where [`response`] says an answer came from, picked by the input's first byte.
    const ENDPOINTS: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/api/v2/diagnostics/version", None),
        ("GET", "/api/v2/me", None),
        ("POST", "/api/v2/me", Some("StartContactCenterSession")),
        ("POST", "/api/v2/me/channels/chat", Some("Ready")),
        ("GET", "/api/v2/me/chats", None),
        ("GET", "/api/v2/me/chats/0001/messages", None),
        ("POST", "/api/v2/me/chats/0001", Some("Accept")),
        ("POST", "/api/v2/me/chats/0001/attachments", None),
        ("POST", "/api/v2/chats", None),
        ("GET", "/api/v2/chats/0001", None),
        ("GET", "/api/v2/chats/0001/messages", None),
        ("POST", "/api/v2/chats/0001", Some("SendMessage")),
        ("POST", "/tegsoft/webchat/UploadFile", None),
        ("POST", "/tegsoft/webchat/SendMessage", None),
        ("POST", "/api/v2/notifications/handshake", None),
        ("POST", "/api/v2/notifications/connect", None),
    ];

    /// Statuses [`response`] and [`bayeux`] pair a body with, picked by the first byte.
    const STATUSES: &[u16] = &[200, 200, 400, 403, 500, 302, 204, 404];

    fn registry() -> &'static SchemaRegistry {
        static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
        REGISTRY.get_or_init(|| SchemaRegistry::embedded().expect("the embedded schemas load"))
    }

    /// The record of a request answered with `status` and `body`, as the client makes it.
    fn exchange(method: &str, path: &str, request: Option<Value>, status: u16, body: &[u8]) -> Exchange {
        let url = reqwest::Url::parse(&format!("http://127.0.0.1:1{path}")).expect("a valid URL");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Exchange::new(method, &url, request, status, &headers, body, std::time::Duration::ZERO)
    }

    /// Every text a failed check shows, rendered as a report would.
    fn render(checks: &[Check]) -> usize {
        checks.iter().map(|c| format!("{c:?}").len()).sum()
    }

    /// A scenario file: parsed, and every diagnostic rendered.
    pub fn scenario(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else { return };
        if let Err(diags) = crate::scenario::parse_str("fuzz.yaml", text) {
            diags.iter().for_each(|d| drop(d.to_string()));
        }
    }

    /// A load file: parsed, and every diagnostic rendered.
    pub fn load_spec(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else { return };
        if let Err(diags) = crate::load::spec::parse_str("fuzz.yaml", text) {
            diags.iter().for_each(|d| drop(d.to_string()));
        }
    }

    /// A Bayeux answer (the first byte picks the HTTP status and the POST, the rest is the body):
    /// read as the CometD client reads it, then every message validated as the runner does.
    pub fn bayeux(data: &[u8]) {
        let Some((&pick, body)) = data.split_first() else { return };
        let kind = ["connect", "handshake", "subscribe", "disconnect"][usize::from(pick >> 6)];
        let status = STATUSES[usize::from(pick) % STATUSES.len()];
        let request = json!([{"id": "1", "channel": format!("/meta/{kind}"), "clientId": "c1"}]);
        let ex = exchange("POST", &format!("/api/v2/notifications/{kind}"), Some(request), status, body);
        let (messages, said) = crate::client::read_bayeux_answer(kind, &ex, "1");
        drop(said);
        let (mut counts, mut out) = (Counts::default(), Vec::new());
        validate::check_exchange(registry(), &ex, &mut counts, &mut out);
        for (seq, m) in messages.iter().enumerate() {
            validate::check_bayeux(registry(), m, seq + 1, &mut counts, &mut out);
        }
        render(&out);
    }

    /// An HTTP answer (the first byte picks the endpoint and the status, the rest is the body):
    /// validated as the runner validates every answer, the schema of the endpoint included.
    pub fn response(data: &[u8]) {
        let Some((&pick, body)) = data.split_first() else { return };
        let (method, path, operation) = ENDPOINTS[usize::from(pick & 0x0f)];
        let status = STATUSES[usize::from(pick >> 5)];
        let request = operation.map(|op| json!({"operationName": op}));
        let ex = exchange(method, path, request, status, body);
        let (mut counts, mut out) = (Counts::default(), Vec::new());
        validate::check_exchange(registry(), &ex, &mut counts, &mut out);
        render(&out);
    }
}
