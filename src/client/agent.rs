//! An agent's HTTP session as GWS expects it: Basic credentials on every request, the session
//! cookie (JSESSIONID) kept in a jar, and the CSRF token read from the latest GET and sent on
//! every write (CSRFProtection page: `X-CSRF-HEADER` names the header, the header it names
//! carries the token).

use std::sync::{Arc, Mutex, PoisonError};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::exchange::{Exchange, TransportError, execute};
use super::{ClientConfig, http_client, join, normalise_base};
use crate::api;

/// A request as a scenario's raw HTTP step describes it.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    /// Path (and query) relative to the base URL.
    pub path: String,
    pub body: Option<Value>,
    /// Extra headers; one named like a header the client would add replaces it.
    pub headers: Vec<(String, String)>,
    /// Send the session's Basic credentials.
    pub with_auth: bool,
    /// Send the session's CSRF token (on writes, once a GET has yielded one).
    pub with_csrf: bool,
}

impl RawRequest {
    fn new(method: Method, path: &str, body: Option<Value>) -> RawRequest {
        RawRequest {
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            body,
            headers: Vec::new(),
            with_auth: true,
            with_csrf: true,
        }
    }
}

/// The CSRF header name and token the server handed out last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrfToken {
    pub header: String,
    pub token: String,
}

/// The session's current CSRF token, shared with the Bayeux client so that every CometD POST
/// carries the token the latest GET handed out (a server may rotate it, at login for one).
pub(crate) type SharedCsrf = Arc<Mutex<Option<CsrfToken>>>;

/// An agent's HTTP session.
pub struct AgentSession {
    base_url: String,
    username: String,
    password: String,
    http: reqwest::Client,
    cfg: ClientConfig,
    csrf: SharedCsrf,
}

impl AgentSession {
    pub fn new(
        base_url: &str,
        username: &str,
        password: &str,
        cfg: &ClientConfig,
    ) -> Result<AgentSession, TransportError> {
        Ok(AgentSession {
            base_url: normalise_base(base_url)?,
            username: username.to_owned(),
            password: password.to_owned(),
            http: http_client(cfg)?,
            cfg: cfg.clone(),
            csrf: SharedCsrf::default(),
        })
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The reqwest client (same cookie jar), so the Bayeux client shares the HTTP session.
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// The CSRF header and token the next write will carry, if a GET has yielded one.
    pub fn csrf_token(&self) -> Option<CsrfToken> {
        self.csrf.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The cell holding the token, read again by the Bayeux client before each of its POSTs.
    pub(crate) fn shared_csrf(&self) -> SharedCsrf {
        Arc::clone(&self.csrf)
    }

    pub async fn get(&self, path_and_query: &str) -> Result<Exchange, TransportError> {
        self.request(RawRequest::new(Method::GET, path_and_query, None)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Exchange, TransportError> {
        self.request(RawRequest::new(Method::POST, path, Some(body.clone()))).await
    }

    /// Send an arbitrary request through this session (raw HTTP steps).
    pub async fn request(&self, req: RawRequest) -> Result<Exchange, TransportError> {
        let auth = req.with_auth.then_some((self.username.as_str(), self.password.as_str()));
        let csrf = if req.with_csrf { self.csrf_token() } else { None };
        let (method, (request, body)) = build(&self.http, &self.base_url, req, &[], auth, csrf.as_ref())?;
        let ex = execute(&self.http, request, body, self.cfg.request_timeout, &self.cfg).await?;
        self.cfg.secrets.record(&ex);
        if method == Method::GET
            && let Some(token) = csrf_from(&ex)
        {
            *self.csrf.lock().unwrap_or_else(PoisonError::into_inner) = Some(token);
        }
        Ok(ex)
    }
}

/// The token a response hands out, if any. Without `X-CSRF-HEADER` the documented default
/// header name is assumed; a name that is not a valid header name is ignored.
fn csrf_from(ex: &Exchange) -> Option<CsrfToken> {
    let header = ex.header(api::CSRF_HEADER_NAME).unwrap_or(api::CSRF_TOKEN_HEADER).trim().to_owned();
    HeaderName::from_bytes(header.as_bytes()).ok()?;
    let token = ex.header(&header)?.trim();
    if token.is_empty() || HeaderValue::from_str(token).is_err() {
        return None;
    }
    Some(CsrfToken { header, token: token.to_owned() })
}

/// Whether a method changes state, so GWS wants the CSRF token on it.
fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// A built request and the JSON body it carries (kept for the [`Exchange`]).
pub(crate) type Built = (reqwest::Request, Option<Value>);

/// Build `req` against `base`: JSON body and content type, `defaults` headers, Basic `auth`,
/// the `csrf` token on writes; the caller's own headers replace any of these of the same name.
pub(crate) fn build(
    http: &reqwest::Client,
    base: &str,
    req: RawRequest,
    defaults: &[(&str, &str)],
    auth: Option<(&str, &str)>,
    csrf: Option<&CsrfToken>,
) -> Result<(Method, Built), TransportError> {
    let url_text = join(base, &req.path);
    let invalid =
        |reason: String| TransportError::InvalidRequest { method: req.method.clone(), url: url_text.clone(), reason };
    let method =
        Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let url = reqwest::Url::parse(&url_text).map_err(|e| invalid(e.to_string()))?;

    let mut headers = HeaderMap::new();
    let mut put = |name: &str, value: &str| -> Result<(), TransportError> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(format!("header `{name}`: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid(format!("header `{name}`: {e}")))?;
        headers.insert(name, value);
        Ok(())
    };
    if req.body.is_some() {
        put(CONTENT_TYPE.as_str(), "application/json")?;
    }
    for (name, value) in defaults {
        put(name, value)?;
    }
    if let Some(token) = csrf.filter(|_| is_write(&method)) {
        put(&token.header, &token.token)?;
    }
    // Caller's headers last: they replace defaults, and repeat when the caller repeats them.
    let mut own = HeaderMap::new();
    for (name, value) in &req.headers {
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| invalid(format!("header `{name}`: {e}")))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid(format!("header `{name}`: {e}")))?;
        own.append(name, value);
    }
    for name in own.keys() {
        headers.remove(name);
    }
    headers.extend(own);

    let mut builder = http.request(method.clone(), url);
    if let Some((user, password)) = auth.filter(|_| !headers.contains_key(AUTHORIZATION)) {
        builder = builder.basic_auth(user, Some(password));
    }
    builder = builder.headers(headers);
    if let Some(body) = &req.body {
        builder = builder.body(body.to_string());
    }
    let request = builder.build().map_err(|e| invalid(super::exchange::error_chain(&e)))?;
    Ok((method, (request, req.body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange_with(headers: &[(&str, &str)]) -> Exchange {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.insert(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        let url = reqwest::Url::parse("http://h/api/v2/me").unwrap();
        Exchange::new("GET", &url, None, 200, &map, b"", std::time::Duration::ZERO)
    }

    #[test]
    fn token_is_read_from_the_named_header() {
        let ex = exchange_with(&[("X-CSRF-HEADER", "X-My-Token"), ("X-My-Token", "abc"), ("X-CSRF-TOKEN", "other")]);
        assert_eq!(csrf_from(&ex), Some(CsrfToken { header: "X-My-Token".into(), token: "abc".into() }));
    }

    #[test]
    fn token_header_defaults_to_the_documented_name() {
        let ex = exchange_with(&[("X-CSRF-TOKEN", "abc")]);
        assert_eq!(csrf_from(&ex), Some(CsrfToken { header: "X-CSRF-TOKEN".into(), token: "abc".into() }));
        assert_eq!(csrf_from(&exchange_with(&[])), None);
    }

    fn built(raw: RawRequest, csrf: Option<&CsrfToken>) -> reqwest::Request {
        let http = http_client(&ClientConfig::default()).unwrap();
        build(&http, "http://h", raw, &[("ContactCenterId", "cc")], Some(("agent1", "pw")), csrf).unwrap().1.0
    }

    #[test]
    fn writes_carry_the_token_reads_do_not() {
        let token = CsrfToken { header: "X-CSRF-TOKEN".into(), token: "t1".into() };
        let post = built(RawRequest::new(Method::POST, "/api/v2/me", Some(serde_json::json!({}))), Some(&token));
        assert_eq!(post.headers()["x-csrf-token"], "t1");
        assert_eq!(post.headers()["content-type"], "application/json");
        assert!(post.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
        let get = built(RawRequest::new(Method::GET, "/api/v2/me", None), Some(&token));
        assert!(get.headers().get("x-csrf-token").is_none());
    }

    #[test]
    fn callers_headers_replace_the_clients() {
        let mut raw = RawRequest::new(Method::POST, "/x", Some(serde_json::json!({})));
        raw.headers = vec![("content-type".into(), "text/plain".into()), ("Authorization".into(), "Bearer z".into())];
        let req = built(raw, None);
        assert_eq!(req.headers().get_all("content-type").iter().count(), 1);
        assert_eq!(req.headers()["content-type"], "text/plain");
        assert_eq!(req.headers()["authorization"], "Bearer z");
        assert_eq!(req.headers()["contactcenterid"], "cc");
    }

    #[test]
    fn bad_method_is_an_error_naming_it() {
        let raw = RawRequest { method: "GE T".into(), ..RawRequest::new(Method::GET, "/x", None) };
        let err = build(&http_client(&ClientConfig::default()).unwrap(), "http://h", raw, &[], None, None).unwrap_err();
        assert!(err.to_string().starts_with("GE T http://h/x: invalid request"), "{err}");
    }
}
