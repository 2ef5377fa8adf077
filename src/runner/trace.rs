//! Recording the exchanges of a run for `--trace`: every request the clients send is heard
//! through the client's tap, given to the step during which it happened, linked to the failed
//! checks it explains, and (unless every exchange is wanted) let go once its scenario ends
//! without needing it. Bounded by construction: a run keeps at most [`MAX_ENTRIES`] exchanges
//! (bodies already cut to 64 KiB each) and counts the rest.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::client::secrets::{REDACTED, Redactor};
use crate::client::tap::{ExchangeTap, Traced};

use super::result::{NO_EXCHANGE, ScenarioResult, StepResult};

/// Most exchanges a run keeps.
pub const MAX_ENTRIES: usize = 10_000;

/// Which exchanges a trace keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceMode {
    /// Those of steps with a failed check or an error, and those a failed check points at.
    Failing,
    /// Every one.
    All,
}

/// What the jobs of a run share: how many exchanges are kept, how many were not.
#[derive(Debug)]
pub struct Budget {
    cap: usize,
    kept: AtomicUsize,
    dropped: AtomicU64,
}

impl Budget {
    pub fn new(cap: usize) -> Arc<Budget> {
        Arc::new(Budget { cap, kept: AtomicUsize::new(0), dropped: AtomicU64::new(0) })
    }

    /// Exchanges not kept, past the cap.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn admit(&self) -> bool {
        let admitted =
            self.kept.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| (k < self.cap).then_some(k + 1)).is_ok();
        if !admitted {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    fn release(&self, n: usize) {
        let _ = self.kept.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| Some(k.saturating_sub(n)));
    }
}

/// One job's recorder: what its clients exchanged since the runner last took it.
#[derive(Debug)]
pub struct Recorder {
    pub mode: TraceMode,
    budget: Arc<Budget>,
    heard: Mutex<Vec<Traced>>,
}

impl Recorder {
    pub fn new(mode: TraceMode, budget: Arc<Budget>) -> Arc<Recorder> {
        Arc::new(Recorder { mode, budget, heard: Mutex::new(Vec::new()) })
    }

    /// The hook to put in the job's client configuration.
    pub fn tap(self: &Arc<Self>) -> ExchangeTap {
        let me = Arc::clone(self);
        ExchangeTap::new(move |t| {
            if me.budget.admit() {
                me.heard.lock().unwrap_or_else(PoisonError::into_inner).push(t);
            }
        })
    }

    /// What was heard since the last call, in the order the requests were sent.
    pub fn take(&self) -> Vec<Traced> {
        let mut heard = std::mem::take(&mut *self.heard.lock().unwrap_or_else(PoisonError::into_inner));
        heard.sort_by_key(|t| t.started);
        heard
    }

    /// Forget what was heard since the last call (another scenario's stragglers).
    pub fn discard(&self) {
        let n = self.take().len();
        self.budget.release(n);
    }
}

/// Link every failed check of a finished scenario to an exchange: the one it was found in, or
/// else the main exchange of the step it names (the last one of that step when it has none),
/// unless it is about no single exchange;
/// then, unless every exchange is kept, let go of those no failing step or check needs.
pub fn settle(sc: &mut ScenarioResult, rec: &Recorder) {
    let steps = &mut sc.steps;
    let recorded = |st: &StepResult, id: u64| st.exchanges.iter().any(|t| t.id == id);
    let mut links: Vec<(usize, usize, Option<u64>)> = Vec::new();
    for (si, st) in steps.iter().enumerate() {
        for (ci, c) in st.checks.iter().enumerate().filter(|(_, c)| !c.passed) {
            if c.exchange == Some(NO_EXCHANGE) {
                continue;
            }
            let known = c.exchange.filter(|id| steps.iter().any(|s| recorded(s, *id)));
            let named = || {
                let name = c.step.as_deref().unwrap_or(&st.name);
                // The named step is this one or the latest before it of that name.
                let owner = steps[..=si].iter().rev().find(|s| s.name == name).unwrap_or(st);
                owner.exchange.filter(|id| recorded(owner, *id)).or_else(|| owner.exchanges.last().map(|t| t.id))
            };
            links.push((si, ci, known.or_else(named)));
        }
    }
    for (si, ci, id) in links {
        steps[si].checks[ci].exchange = id;
    }
    if rec.mode == TraceMode::All {
        return;
    }
    let needed: HashSet<u64> = steps.iter().flat_map(|s| s.failures().filter_map(|c| c.exchange)).collect();
    let mut released = 0;
    for st in steps.iter_mut() {
        let failing = st.error.is_some() || st.failures().next().is_some();
        if !failing {
            let before = st.exchanges.len();
            st.exchanges.retain(|t| needed.contains(&t.id));
            released += before - st.exchanges.len();
        }
    }
    rec.budget.release(released);
}

/// Replace every secret in a recorded exchange: the values of Authorization, Cookie and
/// Set-Cookie (names and attributes kept), of the CSRF token headers, and whatever `r` knows
/// anywhere else (URL, bodies, other headers, the error).
pub fn redact(t: &mut Traced, r: &Redactor) {
    // The header the server named for its token, and the documented default.
    let named: Option<String> = t.response.as_ref().ok().and_then(|ex| {
        ex.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(crate::api::CSRF_HEADER_NAME)).map(|(_, v)| v.clone())
    });
    let is_token = |name: &str| {
        name.eq_ignore_ascii_case(crate::api::CSRF_TOKEN_HEADER)
            || named.as_deref().is_some_and(|n| name.eq_ignore_ascii_case(n.trim()))
    };
    let scrub_header = |name: &str, value: &mut String| {
        let lower = name.to_ascii_lowercase();
        if lower == "authorization" || lower == "proxy-authorization" {
            *value = match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                None => REDACTED.to_owned(),
            };
        } else if lower == "cookie" {
            *value = value
                .split(';')
                .map(|pair| match pair.split_once('=') {
                    Some((n, _)) => format!("{}={REDACTED}", n.trim()),
                    None => pair.trim().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("; ");
        } else if lower == "set-cookie" {
            let mut parts = value.splitn(2, ';');
            let pair = parts.next().unwrap_or_default();
            let rest = parts.next();
            let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
            *value = match rest {
                Some(attrs) => format!("{name}={REDACTED};{attrs}"),
                None => format!("{name}={REDACTED}"),
            };
        } else if is_token(name) && !value.is_empty() {
            *value = REDACTED.to_owned();
        }
        r.scrub(value);
    };
    r.scrub(&mut t.url);
    for (name, value) in &mut t.request_headers {
        scrub_header(name, value);
    }
    if let Some(text) = &mut t.request_text {
        r.scrub(text);
    }
    match &mut t.response {
        Ok(ex) => {
            r.scrub(&mut ex.url);
            for (name, value) in &mut ex.headers {
                scrub_header(name, value);
            }
            r.scrub(&mut ex.body_text);
            if let Some(e) = &mut ex.json_error {
                r.scrub(e);
            }
        }
        Err(e) => r.scrub(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::secrets::SecretLog;

    fn traced(req: Vec<(&str, &str)>) -> Traced {
        Traced {
            id: 1,
            started: std::time::SystemTime::now(),
            method: "POST".into(),
            url: "http://h/api/v2/me".into(),
            request_headers: req.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect(),
            request_text: Some(r#"{"password":"s3cr3t"}"#.into()),
            request_bytes: Some(21),
            http_version: "HTTP/1.1".into(),
            response: Err("boom".into()),
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn session_headers_lose_their_values_and_keep_their_names() {
        let r = Redactor::new(&SecretLog::default(), [("agent1", "s3cr3t")]);
        let mut t = traced(vec![
            ("authorization", "Basic YWdlbnQxOnMzY3IzdA=="),
            ("cookie", "JSESSIONID=abc123; other=x"),
            ("x-csrf-token", "tok-42"),
            ("content-type", "application/json"),
        ]);
        redact(&mut t, &r);
        let h = |n: &str| t.request_headers.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(h("authorization"), "Basic [redacted]");
        assert_eq!(h("cookie"), "JSESSIONID=[redacted]; other=[redacted]");
        assert_eq!(h("x-csrf-token"), "[redacted]");
        assert_eq!(h("content-type"), "application/json");
        assert_eq!(t.request_text.as_deref(), Some(r#"{"password":"[redacted]"}"#));
    }

    #[test]
    fn the_budget_counts_what_it_refuses_and_takes_back_what_is_released() {
        let b = Budget::new(2);
        assert!(b.admit() && b.admit());
        assert!(!b.admit());
        assert_eq!(b.dropped(), 1);
        b.release(1);
        assert!(b.admit());
    }
}
