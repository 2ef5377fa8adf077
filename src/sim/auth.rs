//! Agent authentication: HTTP Basic opens an HTTP session (the `JSESSIONID` cookie), the cookie
//! alone authenticates after that, and every write must carry the session's CSRF token.

use std::collections::HashMap;

use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use super::engine::Engine;
use super::reply::SimError;
use crate::api;

const SESSION_COOKIE: &str = "JSESSIONID";

/// One HTTP session of one agent.
#[derive(Debug)]
pub(crate) struct Session {
    pub agent: usize,
    pub csrf_token: String,
    /// The last referenceId handed out in this session.
    pub last_reference: u64,
}

/// Every HTTP session, by cookie value.
#[derive(Debug)]
pub(crate) struct Sessions {
    by_id: HashMap<String, Session>,
    /// Off only under the `csrf-not-enforced` fault: the cookie alone then authorizes a write.
    enforce_csrf: bool,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(true)
    }
}

/// Who a request is from, and what the answer must carry for it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub session_id: String,
    pub agent: usize,
    csrf_token: String,
    /// Set when this request opened the session: the cookie must be sent.
    created: bool,
}

impl Caller {
    /// Add the CSRF headers (and the cookie of a new session) to a GET's answer.
    pub fn decorate(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert(api::CSRF_HEADER_NAME, HeaderValue::from_static(api::CSRF_TOKEN_HEADER));
        if let Ok(token) = HeaderValue::from_str(&self.csrf_token) {
            headers.insert(api::CSRF_TOKEN_HEADER, token);
        }
        self.with_cookie(response)
    }

    /// Add the cookie of a new session.
    pub fn with_cookie(&self, mut response: Response) -> Response {
        if self.created
            && let Ok(cookie) =
                HeaderValue::from_str(&format!("{SESSION_COOKIE}={}; Path=/; HttpOnly", self.session_id))
        {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }
}

/// The answer to a write without a valid CSRF token.
pub(crate) fn csrf_refusal() -> Response {
    (StatusCode::FORBIDDEN, [("content-type", "text/plain")], api::CSRF_REFUSAL_BODY).into_response()
}

impl Sessions {
    pub fn new(enforce_csrf: bool) -> Sessions {
        Sessions { by_id: HashMap::new(), enforce_csrf }
    }

    pub fn get(&self, id: &str) -> Option<&Session> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.by_id.get_mut(id)
    }

    /// The session named by the request's cookie, if it exists.
    pub fn by_cookie(&self, headers: &HeaderMap) -> Option<(&str, &Session)> {
        session_cookies(headers).find_map(|id| self.by_id.get_key_value(id.as_str())).map(|(k, s)| (k.as_str(), s))
    }

    fn caller(&self, id: &str, created: bool) -> Option<Caller> {
        let s = self.by_id.get(id)?;
        Some(Caller { session_id: id.to_owned(), agent: s.agent, csrf_token: s.csrf_token.clone(), created })
    }

    /// A read: the session cookie, else Basic credentials (opening a session), else 401.
    pub fn authenticate(&mut self, headers: &HeaderMap, engine: &Engine, password: &str) -> Result<Caller, SimError> {
        if let Some((id, _)) = self.by_cookie(headers) {
            let id = id.to_owned();
            return self.caller(&id, false).ok_or(SimError::NotAuthenticated);
        }
        let agent = basic_agent(headers, engine, password).ok_or(SimError::NotAuthenticated)?;
        let id = Uuid::new_v4().simple().to_string().to_uppercase();
        let session = Session { agent, csrf_token: Uuid::new_v4().to_string(), last_reference: 0 };
        self.by_id.insert(id.clone(), session);
        self.caller(&id, true).ok_or(SimError::NotAuthenticated)
    }

    /// A write: the session cookie and its CSRF token, or None (HTTP 403).
    pub fn authorize_write(&self, headers: &HeaderMap) -> Option<Caller> {
        let (id, session) = self.by_cookie(headers)?;
        if !self.enforce_csrf {
            return self.caller(id, false);
        }
        let sent = headers.get(api::CSRF_TOKEN_HEADER)?.to_str().ok()?;
        (sent == session.csrf_token).then(|| self.caller(id, false)).flatten()
    }

    pub fn count(&self) -> usize {
        self.by_id.len()
    }
}

/// Every `JSESSIONID` value the request carries, across all its Cookie headers.
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// The agent named by valid HTTP Basic credentials.
fn basic_agent(headers: &HeaderMap, engine: &Engine, password: &str) -> Option<usize> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    let agent = engine.agent_by_name(user)?;
    (pass == password).then_some(agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn basic_opens_a_session_that_the_cookie_then_names() {
        let engine = Engine::new(&SimConfig { agents: 2, capacity: 3, ..SimConfig::default() });
        let mut sessions = Sessions::default();
        let basic = format!("Basic {}", STANDARD.encode("agent2:pw"));
        let caller = sessions.authenticate(&headers(&[("authorization", &basic)]), &engine, "pw").unwrap();
        assert_eq!(caller.agent, 2);
        assert!(caller.created);
        let cookie = format!("other=1; JSESSIONID={}", caller.session_id);
        let again = sessions.authenticate(&headers(&[("cookie", &cookie)]), &engine, "pw").unwrap();
        assert_eq!(again.session_id, caller.session_id);
        assert!(!again.created);
    }

    #[test]
    fn wrong_password_or_unknown_agent_is_refused() {
        let engine = Engine::new(&SimConfig { agents: 2, capacity: 3, ..SimConfig::default() });
        let mut sessions = Sessions::default();
        for creds in ["agent2:bad", "agent3:pw", "agent02:pw", "nobody"] {
            let basic = format!("Basic {}", STANDARD.encode(creds));
            assert!(sessions.authenticate(&headers(&[("authorization", &basic)]), &engine, "pw").is_err(), "{creds}");
        }
        assert_eq!(sessions.count(), 0);
    }

    #[test]
    fn writes_need_the_matching_token() {
        let engine = Engine::new(&SimConfig { agents: 1, capacity: 3, ..SimConfig::default() });
        let mut sessions = Sessions::default();
        let basic = format!("Basic {}", STANDARD.encode("agent1:pw"));
        let caller = sessions.authenticate(&headers(&[("authorization", &basic)]), &engine, "pw").unwrap();
        let cookie = format!("JSESSIONID={}", caller.session_id);
        assert!(sessions.authorize_write(&headers(&[("cookie", &cookie)])).is_none());
        assert!(sessions.authorize_write(&headers(&[("cookie", &cookie), ("x-csrf-token", "nope")])).is_none());
        let token = caller.csrf_token.clone();
        assert!(sessions.authorize_write(&headers(&[("x-csrf-token", &token)])).is_none());
        assert!(sessions.authorize_write(&headers(&[("cookie", &cookie), ("x-csrf-token", &token)])).is_some());
    }
}
