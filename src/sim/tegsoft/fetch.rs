//! Downloading a `fileUrl`, as the Tegsoft services do ("the file you want to send is at a
//! downloadable URL") — but only from URLs on the allow-list: the simulator's own sample files,
//! and the URL prefixes it was given (`--fetch-allow`). The URL is checked on its text before any
//! lookup or connection, so a caller cannot make the simulator reach another service, even on
//! this machine, and read its answer back as a download. Redirects are never followed (one could lead to another host), the whole
//! download has a deadline, and the body is streamed against the size limit.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::reply::Failure;

/// Connecting alone never gets more than this, whatever the whole download's deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What bounds one download.
#[derive(Debug, Clone)]
pub(crate) struct Limits<'a> {
    pub allow: &'a [String],
    pub timeout: Duration,
    pub max_bytes: u64,
}

/// A finished download, its bytes written to the caller's sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    pub size: u64,
    /// The media type the server sent, without parameters.
    pub content_type: Option<String>,
}

/// The HTTP client downloads go through: no redirects, no proxy (a proxy would be a host of
/// its own, and would see loopback URLs meant for this machine), bounded connect time.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    // reqwest is built without a default TLS provider; an error only means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout.min(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| error_chain(&e))
}

/// Whether `url` falls under the allow-list entry `prefix`, an absolute http(s) URL: the same
/// scheme, host and port (an IP literal compared as an address, so `127.1` is `127.0.0.1`; a name
/// by its spelling, case aside), no user info, and a path that is the prefix's path or goes on
/// below it (`/public_files` covers `/public_files/a.png`, not `/public_files_x`).
fn under(url: &Url, prefix: &str) -> bool {
    let Ok(prefix) = Url::parse(prefix.trim()) else { return false };
    let as_ip = |text: &str| text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let same_host = match (url.host_str(), prefix.host_str()) {
        (Some(a), Some(b)) => match (as_ip(a), as_ip(b)) {
            (Some(a), Some(b)) => a == b,
            (None, None) => a.eq_ignore_ascii_case(b),
            _ => false,
        },
        _ => false,
    };
    let (path, base) = (url.path(), prefix.path());
    let below = path == base
        || base.ends_with('/') && path.starts_with(base)
        || path.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'));
    url.scheme() == prefix.scheme()
        && same_host
        && url.port_or_known_default() == prefix.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && below
}

/// Refuse a URL under none of the `allow` prefixes. Looks only at the URL's text.
pub(crate) fn check_allowed(url: &Url, allow: &[String]) -> Result<(), Failure> {
    if allow.iter().any(|prefix| under(url, prefix)) {
        return Ok(());
    }
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    Err(Failure::FetchNotAllowed { url: shown.to_string(), allow: allow.to_vec() })
}

/// Download `url` into `out`: allow-list first, then one GET that must answer 2xx within the
/// deadline with at most `max_bytes` of body.
pub(crate) async fn fetch<W: AsyncWrite + Unpin>(
    http: &reqwest::Client,
    url: &Url,
    limits: &Limits<'_>,
    out: &mut W,
) -> Result<Fetched, Failure> {
    check_allowed(url, limits.allow)?;
    match tokio::time::timeout(limits.timeout, download(http, url, limits.max_bytes, out)).await {
        Ok(result) => result,
        Err(_) => Err(Failure::FetchFailed(format!("fileUrl {url}: no complete answer within {:?}", limits.timeout))),
    }
}

async fn download<W: AsyncWrite + Unpin>(
    http: &reqwest::Client,
    url: &Url,
    max_bytes: u64,
    out: &mut W,
) -> Result<Fetched, Failure> {
    let failed = |why: String| Failure::FetchFailed(format!("fileUrl {url}: {why}"));
    let mut resp = http.get(url.clone()).send().await.map_err(|e| failed(error_chain(&e.without_url())))?;
    let status = resp.status();
    if status.is_redirection() {
        let to = resp.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("nowhere");
        return Err(failed(format!("answered HTTP {status} to {to}; redirects are not followed")));
    }
    if !status.is_success() {
        return Err(failed(format!("answered HTTP {status}")));
    }
    if resp.content_length().is_some_and(|len| len > max_bytes) {
        return Err(Failure::FileTooLarge { limit: max_bytes });
    }
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty());
    let mut size: u64 = 0;
    while let Some(chunk) = resp.chunk().await.map_err(|e| failed(error_chain(&e.without_url())))? {
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(Failure::FileTooLarge { limit: max_bytes });
        }
        out.write_all(&chunk).await.map_err(|e| failed(format!("cannot store the file: {e}")))?;
    }
    out.flush().await.map_err(|e| failed(format!("cannot store the file: {e}")))?;
    Ok(Fetched { size, content_type })
}

/// An error and its causes on one line ("error sending request" alone says little).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(prefixes: &[&str]) -> Vec<String> {
        prefixes.iter().map(|h| (*h).to_owned()).collect()
    }

    fn check(url: &str, prefixes: &[&str]) -> Result<(), Failure> {
        check_allowed(&Url::parse(url).unwrap(), &allow(prefixes))
    }

    #[test]
    fn urls_under_a_prefix_are_allowed() {
        let own = ["http://127.0.0.1:8090/public_files/", "http://localhost:9000/files"];
        for url in [
            "http://127.0.0.1:8090/public_files/a.png",
            "http://127.1:8090/public_files/a/b.png?x=1",
            "http://LOCALHOST:9000/files/a.pdf",
            "http://localhost:9000/files",
        ] {
            assert_eq!(check(url, &own), Ok(()), "{url}");
        }
        assert_eq!(check("https://[::1]/x", &["https://[0:0:0:0:0:0:0:1]:443/"]), Ok(()));
    }

    #[test]
    fn other_urls_are_refused_by_their_text() {
        let own = ["http://127.0.0.1:8090/public_files/", "http://localhost:9000/files"];
        for url in [
            "http://127.0.0.1:8091/public_files/a.png",
            "http://127.0.0.1:8090/api/v2/attachments/x",
            "http://127.0.0.1:8090/public_files/../secret",
            "https://127.0.0.1:8090/public_files/a.png",
            "http://127.0.0.2:8090/public_files/a.png",
            "http://localhost:9000/files_other/a.pdf",
            "http://user:pw@127.0.0.1:8090/public_files/a.png",
            "http://127.0.0.1:8090@evil.example/public_files/a.png",
            "http://[::ffff:127.0.0.1]:8090/public_files/a.png",
            "http://files.example.invalid/x.png",
        ] {
            // `..` is resolved by the URL parser: what is checked is what would be fetched.
            let refused = check(url, &own);
            assert!(matches!(refused, Err(Failure::FetchNotAllowed { .. })), "{url}: {refused:?}");
        }
        assert!(check("http://127.0.0.1/x", &[]).is_err());
        let Err(Failure::FetchNotAllowed { url, .. }) = check("http://u:p@evil.example/x?token=1", &own) else {
            panic!("allowed")
        };
        assert_eq!(url, "http://evil.example/x", "user info and query are not shown");
    }

    #[tokio::test]
    async fn a_refused_host_is_never_contacted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = Url::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
        let http = http_client(Duration::from_secs(2)).unwrap();
        let only = allow(&["http://localhost/"]);
        let limits = Limits { allow: &only, timeout: Duration::from_secs(2), max_bytes: 10 };
        let err = fetch(&http, &url, &limits, &mut Vec::new()).await.unwrap_err();
        assert_eq!(err.refusal(), crate::api::tegsoft::Refusal::FetchNotAllowed);
        assert!(listener.accept().is_err(), "the listener saw a connection");
    }

    #[tokio::test]
    async fn nothing_listening_is_a_fetch_failure() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let http = http_client(Duration::from_secs(2)).unwrap();
        let local = allow(&[&format!("http://127.0.0.1:{port}/")]);
        let limits = Limits { allow: &local, timeout: Duration::from_secs(5), max_bytes: 10 };
        let err = fetch(&http, &url, &limits, &mut Vec::new()).await.unwrap_err();
        assert_eq!(err.refusal(), crate::api::tegsoft::Refusal::FetchFailed, "{err}");
        assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
    }
}
