//! Agent authentication: HTTP Basic opens an HTTP session (the `JSESSIONID` cookie), the cookie
//! alone authenticates after that, and every write must carry the session's CSRF token, CometD's
//! POSTs included (CSRFProtection page: "send that header on every PUT/POST/DELETE").
//!
//! As Spring Security does, a request that fails authentication still gets a session, an
//! anonymous one, with its cookie and its CSRF token; the Basic login then rotates both: the
//! logged-in session has a new id and a new token, and the anonymous one is dropped, so the token
//! handed out before the login is refused afterwards. Under the `login-rotation=keep` latitude the
//! login keeps the anonymous session's id and token instead.
//!
//! Sessions are reaped: a logged-in session unused for [`SESSION_IDLE`], an anonymous one unused
//! for [`ANONYMOUS_IDLE`], and past [`MAX_ANONYMOUS`] anonymous sessions the oldest goes first, so
//! requests without credentials cannot grow the table without bound. Reaping looks only at the
//! sessions whose deadline has come.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

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

/// A logged-in session unused this long is forgotten.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// An anonymous session (handed out with a 401) unused this long is forgotten.
pub const ANONYMOUS_IDLE: Duration = Duration::from_secs(60);
/// Most anonymous sessions kept at once; the oldest is forgotten for a new one.
pub const MAX_ANONYMOUS: usize = 10_000;

/// One HTTP session of one agent.
#[derive(Debug)]
pub(crate) struct Session {
    /// None for an anonymous session (handed out with a 401).
    pub agent: Option<usize>,
    pub csrf_token: String,
    /// The last referenceId handed out in this session.
    pub last_reference: u64,
    /// When a request last named the session.
    last_seen: Cell<Instant>,
}

/// Every HTTP session, by cookie value.
#[derive(Debug)]
pub(crate) struct Sessions {
    by_id: HashMap<String, Session>,
    policy: Policy,
    /// When to look at a session again, earliest first; an entry may be stale.
    expiry: BinaryHeap<Reverse<(Instant, String)>>,
    /// Anonymous sessions in the order they were opened (some may be gone or logged in since).
    anonymous: VecDeque<String>,
    /// How long a logged-in and an anonymous session may go unused.
    idle: (Duration, Duration),
}

/// How strict the sessions are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Off only under the `csrf-not-enforced` fault: the cookie alone then authorizes a write.
    pub csrf_writes: bool,
    /// Whether CometD POSTs need the token too (off under the fault or `csrf-cometd=not-enforced`).
    pub csrf_cometd: bool,
    /// Whether the login gives a new session id and token (`login-rotation=rotate`).
    pub rotate_at_login: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { csrf_writes: true, csrf_cometd: true, rotate_at_login: true }
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(Policy::default())
    }
}

/// A request that failed authentication: the 401, with the anonymous session's cookie and token.
#[derive(Debug)]
pub(crate) struct Unauthenticated {
    pub anonymous: Caller,
}

impl Unauthenticated {
    pub fn into_response(self) -> Response {
        self.anonymous.decorate(SimError::NotAuthenticated.into_response())
    }
}

/// What the CSRF check of a CometD POST found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CometdAccess {
    /// The token is missing or wrong: HTTP 403.
    Refused,
    /// The token is right (or not needed); the agent of the session, if it is logged in.
    Allowed(Option<usize>),
}

/// Who a request is from, and what the answer must carry for it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub session_id: String,
    /// The agent; 0 only in an anonymous session's `Unauthenticated`.
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
    pub fn new(policy: Policy) -> Sessions {
        Sessions {
            by_id: HashMap::new(),
            policy,
            expiry: BinaryHeap::new(),
            anonymous: VecDeque::new(),
            idle: (SESSION_IDLE, ANONYMOUS_IDLE),
        }
    }

    /// Sessions that go idle after other times than the defaults (logged in, anonymous).
    #[cfg(test)]
    fn with_idle(mut self, logged_in: Duration, anonymous: Duration) -> Sessions {
        self.idle = (logged_in, anonymous);
        self
    }

    fn idle_of(&self, session: &Session) -> Duration {
        if session.agent.is_some() { self.idle.0 } else { self.idle.1 }
    }

    /// Forget the sessions unused for their idle time, looking only at the deadlines that came.
    fn reap(&mut self, now: Instant) {
        while let Some(Reverse((due, _))) = self.expiry.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((_, id))) = self.expiry.pop() else { break };
            let Some(session) = self.by_id.get(&id) else { continue };
            let until = session.last_seen.get() + self.idle_of(session);
            if until > now {
                self.expiry.push(Reverse((until, id)));
            } else {
                self.by_id.remove(&id);
            }
        }
        while self.anonymous.len() > MAX_ANONYMOUS {
            if let Some(id) = self.anonymous.pop_front()
                && self.by_id.get(&id).is_some_and(|s| s.agent.is_none())
            {
                self.by_id.remove(&id);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Session> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.by_id.get_mut(id)
    }

    /// The session, logged in or anonymous, named by the request's cookie, if it exists.
    fn any_by_cookie(&self, headers: &HeaderMap) -> Option<(&str, &Session)> {
        session_cookies(headers).find_map(|id| self.by_id.get_key_value(id.as_str())).map(|(k, s)| (k.as_str(), s))
    }

    /// The logged-in session named by the request's cookie, if it exists.
    pub fn by_cookie(&self, headers: &HeaderMap) -> Option<(&str, &Session)> {
        session_cookies(headers)
            .find_map(|id| self.by_id.get_key_value(id.as_str()).filter(|(_, s)| s.agent.is_some()))
            .map(|(k, s)| (k.as_str(), s))
    }

    fn caller(&self, id: &str, created: bool) -> Option<Caller> {
        let s = self.by_id.get(id)?;
        s.last_seen.set(Instant::now());
        Some(Caller {
            session_id: id.to_owned(),
            agent: s.agent.unwrap_or(0),
            csrf_token: s.csrf_token.clone(),
            created,
        })
    }

    fn open(&mut self, agent: Option<usize>) -> String {
        let now = Instant::now();
        self.reap(now);
        let id = Uuid::new_v4().simple().to_string().to_uppercase();
        let session =
            Session { agent, csrf_token: Uuid::new_v4().to_string(), last_reference: 0, last_seen: Cell::new(now) };
        self.expiry.push(Reverse((now + self.idle_of(&session), id.clone())));
        if agent.is_none() {
            self.anonymous.push_back(id.clone());
        }
        self.by_id.insert(id.clone(), session);
        id
    }

    /// A read: the session cookie, else Basic credentials (opening a session, or under
    /// `login-rotation=keep` logging the anonymous one in), else 401 with an anonymous session.
    pub fn authenticate(
        &mut self,
        headers: &HeaderMap,
        engine: &Engine,
        password: &str,
    ) -> Result<Caller, Unauthenticated> {
        if let Some(caller) = self.by_cookie(headers).and_then(|(id, _)| self.caller(id, false)) {
            return Ok(caller);
        }
        let anonymous = self.any_by_cookie(headers).map(|(id, _)| id.to_owned());
        let Some(agent) = basic_agent(headers, engine, password) else {
            let (id, created) = match anonymous {
                Some(id) => (id, false),
                None => (self.open(None), true),
            };
            let anonymous = self.caller(&id, created).expect("the session was just found or opened");
            return Err(Unauthenticated { anonymous });
        };
        let (id, created) = match anonymous {
            Some(id) if !self.policy.rotate_at_login => {
                if let Some(session) = self.by_id.get_mut(&id) {
                    session.agent = Some(agent);
                }
                (id, false)
            }
            previous => {
                if let Some(previous) = previous {
                    self.by_id.remove(&previous);
                }
                (self.open(Some(agent)), true)
            }
        };
        Ok(self.caller(&id, created).expect("the session was just found or opened"))
    }

    /// A write: the session cookie and its CSRF token, or None (HTTP 403).
    pub fn authorize_write(&self, headers: &HeaderMap) -> Option<Caller> {
        let (id, session) = self.by_cookie(headers)?;
        if !self.policy.csrf_writes {
            return self.caller(id, false);
        }
        let sent = headers.get(api::CSRF_TOKEN_HEADER)?.to_str().ok()?;
        (sent == session.csrf_token).then(|| self.caller(id, false)).flatten()
    }

    /// A CometD POST: the token of the session the cookie names, logged in or anonymous, must
    /// come with it; without a session no token can be right.
    pub fn authorize_cometd(&self, headers: &HeaderMap) -> CometdAccess {
        let agent = self.by_cookie(headers).and_then(|(_, s)| {
            // Long-polling alone keeps a session in use.
            s.last_seen.set(Instant::now());
            s.agent
        });
        if !self.policy.csrf_cometd {
            return CometdAccess::Allowed(agent);
        }
        let sent = headers.get(api::CSRF_TOKEN_HEADER).and_then(|v| v.to_str().ok());
        match (self.any_by_cookie(headers), sent) {
            (Some((_, session)), Some(sent)) if sent == session.csrf_token => CometdAccess::Allowed(session.agent),
            _ => CometdAccess::Refused,
        }
    }

    /// Logged-in sessions.
    pub fn count(&self) -> usize {
        self.by_id.values().filter(|s| s.agent.is_some()).count()
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
    fn unused_sessions_are_reaped_and_used_ones_kept() {
        let engine = Engine::new(&SimConfig { agents: 2, capacity: 3, ..SimConfig::default() });
        let idle = Duration::from_millis(40);
        let mut sessions = Sessions::default().with_idle(idle, idle);
        let basic = |n: usize| format!("Basic {}", STANDARD.encode(format!("agent{n}:pw")));
        let kept = sessions.authenticate(&headers(&[("authorization", &basic(1))]), &engine, "pw").unwrap();
        let dropped = sessions.authenticate(&headers(&[("authorization", &basic(2))]), &engine, "pw").unwrap();
        let cookie = format!("JSESSIONID={}", kept.session_id);
        for _ in 0..3 {
            std::thread::sleep(idle / 2);
            assert!(sessions.authenticate(&headers(&[("cookie", &cookie)]), &engine, "pw").is_ok());
        }
        // The next session opened reaps the unused one.
        let _ = sessions.authenticate(&headers(&[]), &engine, "pw");
        assert!(sessions.get(&kept.session_id).is_some(), "a session in use was reaped");
        assert!(sessions.get(&dropped.session_id).is_none(), "an unused session was kept");
    }

    #[test]
    fn requests_without_credentials_cannot_grow_the_table_without_bound() {
        let engine = Engine::new(&SimConfig { agents: 1, capacity: 3, ..SimConfig::default() });
        let mut sessions = Sessions::default();
        for _ in 0..MAX_ANONYMOUS + 500 {
            assert!(sessions.authenticate(&headers(&[]), &engine, "pw").is_err());
        }
        assert!(sessions.by_id.len() <= MAX_ANONYMOUS + 1, "{}", sessions.by_id.len());
        let basic = format!("Basic {}", STANDARD.encode("agent1:pw"));
        assert!(sessions.authenticate(&headers(&[("authorization", &basic)]), &engine, "pw").is_ok());
        assert_eq!(sessions.count(), 1);
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
