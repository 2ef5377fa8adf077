//! The harness's side of the wire: an agent's HTTP session (Basic auth, JSESSIONID cookie, CSRF
//! token), the customer-side client, and a Bayeux/CometD long-polling client.
//!
//! These clients serve a contract test harness, so they never hide what the server did: every
//! HTTP request comes back as an [`Exchange`] (status, headers, raw body, parsed JSON or the
//! reason it is not JSON) and every Bayeux message as a [`BayeuxEvent`]. Every request has a
//! deadline and every body a size cap, so a broken or hostile server yields an error value, never
//! a hang, a panic or an unbounded allocation.

mod agent;
mod bayeux;
mod customer;
mod exchange;
pub mod files;
pub mod json;
pub mod secrets;
pub mod tap;
pub mod tegsoft;

use std::time::Duration;

pub use agent::{AgentSession, CsrfToken, RawRequest};
pub(crate) use bayeux::read_answer as read_bayeux_answer;
pub use bayeux::{BayeuxClient, BayeuxError, BayeuxEvent, BayeuxOptions};
pub use customer::CustomerClient;
pub use exchange::{Exchange, TransportError};

/// Deadlines and limits shared by the clients.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Deadline of one whole request: connect, send, and read the complete body. A Bayeux
    /// connect gets the server's advised hold time on top of it.
    pub request_timeout: Duration,
    /// Deadline of the TCP (and TLS) connection alone.
    pub connect_timeout: Duration,
    /// Largest response body accepted, in bytes; a larger one is an error, not an allocation.
    pub max_body: usize,
    /// Where agent sessions note the cookie values and CSRF tokens they receive, so reports can
    /// redact them.
    pub secrets: secrets::SecretLog,
    /// TLS trust, client identity and proxy.
    pub tls: TlsOptions,
    /// Hears every exchange (`run --trace`).
    pub tap: Option<tap::ExchangeTap>,
}

/// How the clients reach an HTTPS target: extra roots of trust (a private CA), whether to trust
/// anything (`--insecure`), a client certificate, and a proxy. The system's proxy settings
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) apply unless `proxy` says otherwise.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM certificates trusted besides the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any certificate (testing only).
    pub insecure: bool,
    /// A client certificate and its private key, PEM, concatenated.
    pub identity_pem: Option<Vec<u8>>,
    /// Every request through this proxy (`http://host:port`, `socks5://…` is not supported).
    pub proxy: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_body: 16 * 1024 * 1024,
            secrets: secrets::SecretLog::default(),
            tls: TlsOptions::default(),
            tap: None,
        }
    }
}

/// A reqwest client with its own cookie jar, as the harness needs it: no redirects followed (the
/// harness must see the 3xx the server sent), bounded connect time.
fn http_client(cfg: &ClientConfig) -> Result<reqwest::Client, TransportError> {
    // reqwest is built without a default TLS provider and panics when none is installed; an
    // error here only means another part of the process installed one first, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let setup = |what: &str, e: reqwest::Error| TransportError::Setup {
        reason: format!("{what}: {}", exchange::error_chain(&e)),
    };
    let mut builder = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(cfg.connect_timeout);
    if let Some(pem) = &cfg.tls.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| setup("--cacert", e))?;
        builder = builder.tls_certs_merge(certs);
    }
    if cfg.tls.insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if let Some(pem) = &cfg.tls.identity_pem {
        builder = builder.identity(reqwest::Identity::from_pem(pem).map_err(|e| setup("--cert/--key", e))?);
    }
    if let Some(proxy) = &cfg.tls.proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy.as_str()).map_err(|e| setup("--proxy", e))?);
    }
    builder.build().map_err(|e| TransportError::Setup { reason: exchange::error_chain(&e) })
}

/// The base URL without a trailing slash, checked to be an absolute http(s) URL.
fn normalise_base(base_url: &str) -> Result<String, TransportError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let invalid = |reason: String| TransportError::InvalidUrl { url: base_url.to_owned(), reason };
    let url = reqwest::Url::parse(trimmed).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("scheme `{}` is not http or https", url.scheme())));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL takes no query or fragment".into()));
    }
    Ok(trimmed.to_owned())
}

/// `base` + `path_and_query`, with exactly one slash between them.
fn join(base: &str, path_and_query: &str) -> String {
    if path_and_query.starts_with('/') { format!("{base}{path_and_query}") } else { format!("{base}/{path_and_query}") }
}

/// Percent-encode one path segment (an id taken from a server's answer must not be able to
/// change the path it is put into).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` without its userinfo (`http://user:pass@host/` → `http://host/`), for anything shown.
pub fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_owned()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_and_checked() {
        assert_eq!(normalise_base("http://127.0.0.1:8090/").unwrap(), "http://127.0.0.1:8090");
        assert_eq!(normalise_base("https://gws.example/gws//").unwrap(), "https://gws.example/gws");
        assert!(matches!(normalise_base("ftp://x"), Err(TransportError::InvalidUrl { .. })));
        assert!(matches!(normalise_base("not a url"), Err(TransportError::InvalidUrl { .. })));
        assert!(matches!(normalise_base("http://x/?a=1"), Err(TransportError::InvalidUrl { .. })));
    }

    #[test]
    fn join_puts_one_slash() {
        assert_eq!(join("http://h", "/api/v2/me"), "http://h/api/v2/me");
        assert_eq!(join("http://h", "api/v2/me?x=1"), "http://h/api/v2/me?x=1");
    }

    #[test]
    fn segments_cannot_escape() {
        assert_eq!(segment("3f2a-9c"), "3f2a-9c");
        assert_eq!(segment("../x y/?"), "..%2Fx%20y%2F%3F");
    }
}
