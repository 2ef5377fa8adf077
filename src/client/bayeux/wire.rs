//! Bayeux on the wire: the messages the client sends, one POST (with the session's CSRF token)
//! and how its answer is reported and read (replies routed by `channel` and `id`, never by
//! position; an HTTP 403 read as a CSRF refusal), sticky advice, and the handshake, subscribe
//! and disconnect exchanges.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};

use super::{BayeuxError, BayeuxEvent, Shared};
use crate::api;
use crate::client::CsrfToken;
use crate::client::exchange::{Exchange, TransportError, error_chain, execute};

pub(super) const META_HANDSHAKE: &str = "/meta/handshake";
pub(super) const META_CONNECT: &str = "/meta/connect";
pub(super) const META_SUBSCRIBE: &str = "/meta/subscribe";
pub(super) const META_DISCONNECT: &str = "/meta/disconnect";
pub(super) const LONG_POLLING: &str = "long-polling";
const BAYEUX_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Hold time assumed until the server advises one (CometD's default `timeout`).
const DEFAULT_HOLD: Duration = Duration::from_secs(30);
/// Bounds on advised times, so a hostile advice cannot park the loop for days.
const MAX_HOLD: Duration = Duration::from_secs(600);
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// The server's advice as it stands: sticky (absent fields keep their value) and partial.
#[derive(Clone, Debug)]
pub(crate) struct Advice {
    pub reconnect: String,
    /// How long the server holds a connect.
    pub timeout: Duration,
    /// Milliseconds to wait between connects; negative means "do not connect again".
    pub interval_ms: i64,
}

impl Default for Advice {
    fn default() -> Self {
        Advice { reconnect: "retry".into(), timeout: DEFAULT_HOLD, interval_ms: 0 }
    }
}

impl Advice {
    fn update(&mut self, advice: &Map<String, Value>) {
        if let Some(r) = advice.get("reconnect").and_then(Value::as_str) {
            r.clone_into(&mut self.reconnect);
        }
        if let Some(t) = advice.get("timeout").and_then(as_millis) {
            self.timeout = Duration::from_millis(t.max(0) as u64).min(MAX_HOLD);
        }
        if let Some(i) = advice.get("interval").and_then(as_millis) {
            self.interval_ms = i;
        }
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.max(0) as u64).min(MAX_INTERVAL)
    }

    /// Whether the server told the client not to connect again.
    pub fn says_stop(&self) -> bool {
        self.reconnect == "none" || self.interval_ms < 0
    }
}

/// A number of milliseconds, integer or not (JavaScript servers may send `1e4`).
fn as_millis(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64))
}

/// What one POST brought back: its messages, and why it is unusable when it is.
pub(crate) struct Reply {
    pub messages: Vec<Value>,
    pub unusable: Option<String>,
    /// Set when the server refused the POST with HTTP 403: what it carried and what came back.
    pub forbidden: Option<String>,
    /// The answer carried more than [`MAX_MESSAGES`] messages (the rest were dropped).
    pub flooded: bool,
}

impl Reply {
    /// The reply on `channel`, preferring the one that copies our `id`.
    pub fn meta(&self, channel: &str, id: &str) -> Option<&Value> {
        let on_channel = || self.messages.iter().filter(|m| m.get("channel").and_then(Value::as_str) == Some(channel));
        on_channel().find(|m| m.get("id").and_then(Value::as_str) == Some(id)).or_else(|| on_channel().next())
    }

    /// Why no reply on `channel` can be read from this answer.
    pub fn missing(&self, channel: &str) -> String {
        match &self.unusable {
            Some(why) => why.clone(),
            None => format!("no {channel} reply among the {} message(s) received", self.messages.len()),
        }
    }
}

/// `successful` is mandatory in every meta reply; anything but `true` is a failure.
pub(crate) fn successful(reply: &Value) -> bool {
    reply.get("successful").and_then(Value::as_bool) == Some(true)
}

/// The reply's `error`, or what stands in for it.
pub(crate) fn error_of(reply: &Value) -> String {
    match reply.get("error") {
        Some(Value::String(e)) => brief_text(e),
        Some(other) => brief(other),
        None => format!("successful is {}, no error given", brief(reply.get("successful").unwrap_or(&Value::Null))),
    }
}

/// Why an HTTP 403 answered a Bayeux POST, as far as the client can tell: GWS answers a write
/// without a valid CSRF token so (CSRFProtection page), and the token is the one thing the client
/// adds that the server can refuse.
fn csrf_refusal(kind: &str, sent: Option<&CsrfToken>, ex: &Exchange) -> String {
    let carried = match sent {
        Some(token) => format!(
            "it carried the CSRF token in {} as handed out by the session's latest GET (a token from before \
             the login, or one the server rotated since, is refused)",
            token.header
        ),
        None => format!(
            "it carried no CSRF token: no GET of the agent's session handed one out ({} / {} headers)",
            api::CSRF_HEADER_NAME,
            api::CSRF_TOKEN_HEADER
        ),
    };
    let said =
        if ex.body_text.trim().is_empty() { "an empty body".to_owned() } else { brief_text(ex.body_text.trim()) };
    format!(
        "HTTP 403 to the {kind} POST, the answer GWS gives a POST without a valid CSRF token; {carried}; the server \
         said: {said}"
    )
}

/// Longest server-sent text a description quotes; a hostile server's megabyte-long `error`
/// would otherwise be copied into every report line that names it.
const QUOTE_LIMIT: usize = 200;

/// A JSON value as text, cut to [`QUOTE_LIMIT`] characters.
fn brief(v: &Value) -> String {
    brief_text(&v.to_string())
}

/// Server-sent text as a description quotes it: cut to [`QUOTE_LIMIT`] characters, control
/// characters escaped (a report format such as XML cannot carry them).
fn brief_text(s: &str) -> String {
    let (text, rest) = match s.char_indices().nth(QUOTE_LIMIT) {
        Some((end, _)) => (&s[..end], s.len() - end),
        None => (s, 0),
    };
    let mut out: String =
        text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] }).collect();
    if rest > 0 {
        out.push_str(&format!("… [{rest} more bytes]"));
    }
    out
}

/// Most messages taken from one Bayeux response: a CometD server batches what it queued for one
/// client, never thousands.
pub const MAX_MESSAGES: usize = 10_000;

/// A Bayeux response's body read as messages: at most [`MAX_MESSAGES`] of them, why none can be
/// read when none can, and what is wrong with it short of that.
pub(crate) struct ReadReply {
    pub messages: Vec<Value>,
    pub unusable: Option<String>,
    pub problems: Vec<String>,
    pub flooded: bool,
}

/// Read the messages of the answer `ex` to a `kind` POST.
pub(crate) fn read_reply(kind: &str, ex: &Exchange) -> ReadReply {
    let mut problems = Vec::new();
    let (messages, unusable) = match &ex.json {
        Some(Value::Array(items)) if items.len() > MAX_MESSAGES => {
            problems.push(format!(
                "{kind} response carries {} messages; the first {MAX_MESSAGES} are taken, the rest are not checked",
                items.len()
            ));
            (items[..MAX_MESSAGES].to_vec(), None)
        }
        Some(Value::Array(items)) => (items.clone(), None),
        Some(obj @ Value::Object(_)) => {
            problems.push(format!("{kind} response is a bare object, not an array of messages"));
            (vec![obj.clone()], None)
        }
        Some(other) => {
            (Vec::new(), Some(format!("{kind} response is JSON but not an array of messages: {}", brief(other))))
        }
        None => {
            let why = match &ex.json_error {
                Some(e) => format!("{kind} response is not JSON: {e}"),
                None => format!("{kind} response has an empty body"),
            };
            (Vec::new(), Some(why))
        }
    };
    let unusable = match unusable {
        Some(why) if !(200..300).contains(&ex.status) => Some(format!("HTTP {}; {why}", ex.status)),
        other => other,
    };
    let flooded = matches!(&ex.json, Some(Value::Array(items)) if items.len() > MAX_MESSAGES);
    ReadReply { messages, unusable, problems, flooded }
}

/// Fold the advice of every meta message into `advice`, in order.
pub(crate) fn fold_advice(advice: &mut Advice, messages: &[Value]) {
    for m in messages {
        let meta = m.get("channel").and_then(Value::as_str).is_some_and(|c| c.starts_with("/meta/"));
        if let Some(a) = m.get("advice").and_then(Value::as_object).filter(|_| meta) {
            advice.update(a);
        }
    }
}

/// All the client reads from one answer to a `kind` POST, as it reads it, without a session:
/// the messages, the advice they carry, the meta reply to `id` and why it failed or is missing.
/// Returns the messages and every description made of them (the fuzz targets' entry point).
pub(crate) fn read_answer(kind: &str, ex: &Exchange, id: &str) -> (Vec<Value>, Vec<String>) {
    let read = read_reply(kind, ex);
    let mut advice = Advice::default();
    fold_advice(&mut advice, &read.messages);
    let mut said = read.problems;
    said.push(format!("{:?} {:?} {}", advice.interval(), advice.timeout, advice.says_stop()));
    let channel = format!("/meta/{kind}");
    let reply = Reply { messages: read.messages, unusable: read.unusable, forbidden: None, flooded: read.flooded };
    match reply.meta(&channel, id) {
        Some(m) if successful(m) => said.push(format!("{channel} successful")),
        Some(m) => said.push(error_of(m)),
        None => said.push(reply.missing(&channel)),
    }
    (reply.messages, said)
}

impl Shared {
    /// POST `messages` to `{url}/{kind}`; report the exchange and every message received (in
    /// arrival order) and fold any advice in. Transport errors are returned, not reported.
    pub(super) async fn post(
        &self,
        kind: &str,
        messages: Vec<Value>,
        timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let body = Value::Array(messages);
        let url = format!("{}/{kind}", self.url);
        // Read at each POST: a GET since the last one may have handed out a new token.
        let csrf = self.csrf.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut builder = self.http.post(&url).header(CONTENT_TYPE, BAYEUX_CONTENT_TYPE);
        if let Some(token) = &csrf {
            builder = builder.header(token.header.as_str(), token.token.as_str());
        }
        let request = builder.body(body.to_string()).build().map_err(|e| TransportError::InvalidRequest {
            method: "POST".into(),
            url,
            reason: error_chain(&e),
        })?;
        let ex = execute(&self.http, request, Some(body), timeout, &self.cfg).await?;
        self.cfg.secrets.record(&ex);
        let received_at = Instant::now();
        let read = read_reply(kind, &ex);
        for description in read.problems {
            self.problem(false, description);
        }
        let (messages, unusable, flooded) = (read.messages, read.unusable, read.flooded);
        let forbidden = (ex.status == 403).then(|| csrf_refusal(kind, csrf.as_ref(), &ex));
        self.events.send(BayeuxEvent::Exchange(ex));
        fold_advice(&mut self.state().advice, &messages);
        for m in &messages {
            self.events.send(BayeuxEvent::Message { received_at, message: m.clone() });
        }
        Ok(Reply { messages, unusable, forbidden, flooded })
    }

    /// Handshake, then subscribe to every channel asked for. Leaves the clientId in the state.
    pub(super) async fn establish(&self) -> Result<(), BayeuxError> {
        let client_id = self.handshake().await?;
        for channel in &self.subscriptions {
            self.subscribe(&client_id, channel).await?;
        }
        Ok(())
    }

    async fn handshake(&self) -> Result<String, BayeuxError> {
        const STEP: &str = "handshake";
        {
            // A new session starts from the server's new advice, not from the old "handshake".
            let mut state = self.state();
            state.client_id = None;
            state.advice.reconnect = "retry".into();
        }
        let id = self.next_id();
        let message = json!({
            "id": id,
            "channel": META_HANDSHAKE,
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": [LONG_POLLING],
        });
        let reply = self
            .post("handshake", vec![message], self.cfg.request_timeout)
            .await
            .map_err(|source| BayeuxError::Transport { step: STEP.into(), source })?;
        if let Some(description) = reply.forbidden {
            return Err(BayeuxError::Forbidden { step: STEP.into(), description });
        }
        let protocol = |problem: String| BayeuxError::Protocol { step: STEP.into(), problem };
        let hs = reply.meta(META_HANDSHAKE, &id).ok_or_else(|| protocol(reply.missing(META_HANDSHAKE)))?;
        if !successful(hs) {
            let reconnect = self.state().advice.reconnect.clone();
            return Err(BayeuxError::Refused { step: STEP.into(), error: error_of(hs), reconnect });
        }
        let client_id = match hs.get("clientId") {
            Some(Value::String(c)) if !c.is_empty() => c.clone(),
            _ => return Err(protocol("successful handshake reply without a clientId".into())),
        };
        if let Some(offered) = hs.get("supportedConnectionTypes")
            && offered.as_array().is_some_and(|types| !types.iter().any(|t| t == LONG_POLLING))
        {
            self.problem(false, format!("handshake reply does not offer {LONG_POLLING}: {}", brief(offered)));
        }
        let mut state = self.state();
        state.client_id = Some(client_id.clone());
        state.handshakes += 1;
        Ok(client_id)
    }

    async fn subscribe(&self, client_id: &str, channel: &str) -> Result<(), BayeuxError> {
        let step = format!("subscribe to {channel}");
        let id = self.next_id();
        let message = json!({"id": id, "channel": META_SUBSCRIBE, "clientId": client_id, "subscription": channel});
        let reply = self
            .post("subscribe", vec![message], self.cfg.request_timeout)
            .await
            .map_err(|source| BayeuxError::Transport { step: step.clone(), source })?;
        if let Some(description) = reply.forbidden {
            return Err(BayeuxError::Forbidden { step, description });
        }
        let Some(sub) = reply.meta(META_SUBSCRIBE, &id) else {
            return Err(BayeuxError::Protocol { problem: reply.missing(META_SUBSCRIBE), step });
        };
        if !successful(sub) {
            let reconnect = self.state().advice.reconnect.clone();
            return Err(BayeuxError::Refused { step, error: error_of(sub), reconnect });
        }
        let echoed = match sub.get("subscription") {
            Some(Value::String(s)) => s == channel,
            Some(Value::Array(items)) => items.iter().any(|s| s == channel),
            _ => false,
        };
        if !echoed {
            let got = sub.get("subscription").map_or_else(|| "nothing".to_owned(), brief);
            self.problem(
                false,
                format!("{META_SUBSCRIBE} reply to {channel} does not echo the subscription (it has {got})"),
            );
        }
        Ok(())
    }

    /// The connect message: the first of a session asks to be answered at once.
    pub(super) fn connect_message(&self, id: &str, client_id: &str, first: bool) -> Value {
        let mut message =
            json!({"id": id, "channel": META_CONNECT, "clientId": client_id, "connectionType": LONG_POLLING});
        if first {
            message["advice"] = json!({"timeout": 0});
        }
        message
    }

    /// Send /meta/disconnect and read its reply.
    pub(super) async fn disconnect(&self, client_id: &str) -> Result<(), BayeuxError> {
        const STEP: &str = "disconnect";
        let id = self.next_id();
        let message = json!({"id": id, "channel": META_DISCONNECT, "clientId": client_id});
        let reply = self
            .post("disconnect", vec![message], self.cfg.request_timeout)
            .await
            .map_err(|source| BayeuxError::Transport { step: STEP.into(), source })?;
        if let Some(description) = reply.forbidden {
            return Err(BayeuxError::Forbidden { step: STEP.into(), description });
        }
        let Some(r) = reply.meta(META_DISCONNECT, &id) else {
            return Err(BayeuxError::Protocol { step: STEP.into(), problem: reply.missing(META_DISCONNECT) });
        };
        if !successful(r) {
            let reconnect = self.state().advice.reconnect.clone();
            return Err(BayeuxError::Refused { step: STEP.into(), error: error_of(r), reconnect });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_is_sticky_and_partial() {
        let mut a = Advice::default();
        a.update(json!({"reconnect": "retry", "timeout": 2000, "interval": 50}).as_object().unwrap());
        a.update(json!({"reconnect": "handshake"}).as_object().unwrap());
        assert_eq!(a.reconnect, "handshake");
        assert_eq!(a.timeout, Duration::from_millis(2000));
        assert_eq!(a.interval(), Duration::from_millis(50));
        a.update(json!({"interval": -1}).as_object().unwrap());
        assert!(a.says_stop());
        assert_eq!(a.interval(), Duration::ZERO);
    }

    #[test]
    fn hostile_advice_is_bounded() {
        let mut a = Advice::default();
        a.update(json!({"timeout": 1e300, "interval": 9_000_000_000_000u64}).as_object().unwrap());
        assert_eq!(a.timeout, MAX_HOLD);
        assert_eq!(a.interval(), MAX_INTERVAL);
    }

    #[test]
    fn replies_are_found_by_channel_and_id_not_position() {
        let reply = Reply {
            messages: vec![
                json!({"channel": "/v2/me/chats", "data": {}}),
                json!({"channel": META_CONNECT, "id": "7", "successful": false}),
                json!({"channel": META_CONNECT, "id": "9", "successful": true}),
            ],
            unusable: None,
            forbidden: None,
            flooded: false,
        };
        assert_eq!(reply.meta(META_CONNECT, "9").unwrap()["id"], "9");
        assert_eq!(reply.meta(META_CONNECT, "1").unwrap()["id"], "7");
        assert!(reply.meta(META_HANDSHAKE, "9").is_none());
        assert!(reply.missing(META_HANDSHAKE).contains("3 message(s)"));
    }

    #[test]
    fn quoted_server_text_is_bounded() {
        let long = "é".repeat(10_000);
        let quoted = error_of(&json!({"successful": false, "error": long}));
        assert!(quoted.starts_with(&"é".repeat(QUOTE_LIMIT)), "{quoted}");
        assert!(quoted.ends_with(&format!("[{} more bytes]", (10_000 - QUOTE_LIMIT) * 2)), "{quoted}");
        assert_eq!(brief(&json!([1, 2])), "[1,2]");
        assert_eq!(brief_text("402::\u{1b}[2J\n"), "402::\\u{1b}[2J\\n");
    }

    #[test]
    fn error_text_is_never_empty() {
        assert_eq!(error_of(&json!({"successful": false, "error": "402::Unknown client"})), "402::Unknown client");
        assert_eq!(error_of(&json!({"successful": "yes"})), "successful is \"yes\", no error given");
    }
}
