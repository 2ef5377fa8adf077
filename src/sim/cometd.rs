//! The CometD (Bayeux 1.0, long-polling) endpoint at `/api/v2/notifications`: handshake,
//! connect (held until events or timeout), subscribe, unsubscribe and disconnect, for clients
//! owned by an authenticated HTTP session. Every POST must carry the CSRF token of the session its
//! cookie names (HTTP 403 otherwise), unless CSRF is relaxed. A client's first connect is answered at once, with
//! advice. The client table lives in `bayeux`. Under the
//! `connect-without-advice` fault connect replies carry no advice.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::{CometdAccess, csrf_refusal};
use super::bayeux::{Hold, Ticket, Wake};
use super::latitude::EventOrder;
use super::{Sim, SimState};

const HANDSHAKE: &str = "/meta/handshake";
const CONNECT: &str = "/meta/connect";
const SUBSCRIBE: &str = "/meta/subscribe";
const UNSUBSCRIBE: &str = "/meta/unsubscribe";
const DISCONNECT: &str = "/meta/disconnect";
const LONG_POLLING: &str = "long-polling";
/// Channels an agent may subscribe to: its own, `/v2/me/...`, wildcards included.
const OWN_CHANNELS: &str = "/v2/me/";

/// A connect left waiting once the rest of the request is answered.
struct Pending {
    ticket: Ticket,
    timeout: Duration,
    id: Option<Value>,
}

/// `POST /api/v2/notifications[/...]`: a JSON array of Bayeux messages (or one bare message).
pub(crate) async fn notifications(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    let messages = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(messages)) => messages,
        Ok(message @ Value::Object(_)) => vec![message],
        _ => return (StatusCode::BAD_REQUEST, Json(json!([]))).into_response(),
    };
    // Only a connect travelling alone may wait: a batched one would delay the other replies.
    let alone = messages.len() == 1;
    let exchanged = sim.with(|st| {
        let CometdAccess::Allowed(agent) = st.sessions.authorize_cometd(&headers) else {
            return None;
        };
        let mut exchange = Exchange { st, sim: &sim, agent, alone, replies: Vec::new(), pending: None };
        for message in &messages {
            exchange.handle(message);
        }
        Some((exchange.replies, exchange.pending))
    });
    let Some((mut replies, pending)) = exchanged else {
        return csrf_refusal();
    };
    if let Some(pending) = pending {
        replies.extend(wait(&sim, pending).await);
    }
    Json(Value::Array(replies)).into_response()
}

/// Wait for the held connect's wake-up or timeout, then answer it.
async fn wait(sim: &Sim, mut pending: Pending) -> Vec<Value> {
    let why = match tokio::time::timeout(pending.timeout, &mut pending.ticket.wake).await {
        Ok(Ok(why)) => Some(why),
        // The sender is only dropped with its client.
        Ok(Err(_)) => Some(Wake::Forgotten),
        Err(_) => None,
    };
    let id = &pending.id;
    let client_id = &pending.ticket.client_id;
    sim.with(|st| match why {
        Some(Wake::Superseded) => vec![connect_reply(id, client_id, sim)],
        Some(Wake::Disconnected) => {
            let mut reply = connect_reply(id, client_id, sim);
            if !sim.config.faults.connect_without_advice {
                reply["advice"] = json!({"reconnect": "none", "interval": 0});
            }
            vec![reply]
        }
        Some(Wake::Forgotten) => vec![unknown_client(CONNECT, id)],
        Some(Wake::Events | Wake::Shutdown) | None => match st.bayeux.release(&pending.ticket) {
            Some(events) => with_events(connect_reply(id, client_id, sim), events, sim),
            None => vec![unknown_client(CONNECT, id)],
        },
    })
}

/// One request's messages being answered, under the simulator's lock.
struct Exchange<'a> {
    st: &'a mut SimState,
    sim: &'a Sim,
    /// The agent of the request's HTTP session, if it has one.
    agent: Option<usize>,
    alone: bool,
    replies: Vec<Value>,
    pending: Option<Pending>,
}

impl Exchange<'_> {
    fn handle(&mut self, message: &Value) {
        let Some(message) = message.as_object() else {
            self.replies.push(json!({"successful": false, "error": "400::message_invalid"}));
            return;
        };
        let id = message.get("id").cloned();
        match message.get("channel").and_then(Value::as_str) {
            None => self.replies.push(with_id(json!({"successful": false, "error": "400::channel_missing"}), &id)),
            Some(HANDSHAKE) => self.handshake(message, &id),
            Some(CONNECT) => self.connect(message, id),
            Some(SUBSCRIBE) => self.subscription(SUBSCRIBE, message, &id),
            Some(UNSUBSCRIBE) => self.subscription(UNSUBSCRIBE, message, &id),
            Some(DISCONNECT) => self.disconnect(message, &id),
            Some(channel) => {
                let error = if channel.starts_with("/meta/") { "400::channel_unknown" } else { "403::publish_denied" };
                self.replies.push(reply(channel, &id, json!({"successful": false, "error": error})));
            }
        }
    }

    fn handshake(&mut self, message: &Map<String, Value>, id: &Option<Value>) {
        let Some(agent) = self.agent else {
            let fields = json!({"successful": false, "error": "403::Unauthorized", "advice": {"reconnect": "none"}});
            self.replies.push(reply(HANDSHAKE, id, fields));
            return;
        };
        let offers_long_polling = message
            .get("supportedConnectionTypes")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t == LONG_POLLING));
        if !offers_long_polling {
            let fields = json!({
                "successful": false,
                "error": "301::Connection types not supported",
                "version": "1.0",
                "supportedConnectionTypes": [LONG_POLLING],
                "advice": {"reconnect": "none"},
            });
            self.replies.push(reply(HANDSHAKE, id, fields));
            return;
        }
        let client_id = self.st.engine.ids.bayeux_client_id();
        self.st.bayeux.add(client_id.clone(), agent);
        let fields = json!({
            "successful": true,
            "clientId": client_id,
            "version": "1.0",
            "supportedConnectionTypes": [LONG_POLLING],
            "advice": advice(self.sim),
        });
        self.replies.push(reply(HANDSHAKE, id, fields));
    }

    /// The message's client, if it exists and belongs to the request's agent.
    fn client_id(&mut self, message: &Map<String, Value>) -> Option<String> {
        let id = message.get("clientId")?.as_str()?;
        let agent = self.agent?;
        let client = self.st.bayeux.client_mut(id)?;
        (client.agent == agent).then(|| id.to_owned())
    }

    fn connect(&mut self, message: &Map<String, Value>, id: Option<Value>) {
        let Some(client_id) = self.client_id(message) else {
            self.replies.push(unknown_client(CONNECT, &id));
            return;
        };
        let server_timeout = self.sim.config.cometd_timeout;
        let client_timeout =
            message.get("advice").and_then(|a| a.get("timeout")).and_then(Value::as_u64).map(Duration::from_millis);
        let timeout = client_timeout.map_or(server_timeout, |t| t.min(server_timeout));
        // A session's first connect is answered at once, as CometD and Faye servers do, even from
        // a client that sends no advice `timeout: 0`.
        let first = self.st.bayeux.first_connect(&client_id);
        let immediate = first || !self.alone || timeout.is_zero() || self.st.shutting_down;
        let hold = if immediate {
            self.st.bayeux.take_events(&client_id).map_or(Hold::Unknown, Hold::Now)
        } else {
            self.st.bayeux.hold(&client_id)
        };
        match hold {
            Hold::Unknown => self.replies.push(unknown_client(CONNECT, &id)),
            Hold::Now(events) => {
                let answer = with_events(connect_reply(&id, &client_id, self.sim), events, self.sim);
                self.replies.extend(answer);
            }
            Hold::Held(ticket) => self.pending = Some(Pending { ticket, timeout, id }),
        }
    }

    fn subscription(&mut self, channel: &'static str, message: &Map<String, Value>, id: &Option<Value>) {
        let Some(client_id) = self.client_id(message) else {
            let mut refusal = unknown_client(channel, id);
            // Echoed even here: some clients fail on a subscribe reply without it.
            if let Some(subscription) = message.get("subscription") {
                refusal["subscription"] = subscription.clone();
            }
            self.replies.push(refusal);
            return;
        };
        let Some(subscription) = message.get("subscription").filter(|s| !s.is_null()) else {
            self.replies.push(reply(channel, id, json!({"successful": false, "error": "403::subscription_missing"})));
            return;
        };
        let wanted: Option<Vec<&str>> = match subscription {
            Value::String(s) => Some(vec![s.as_str()]),
            Value::Array(items) => items.iter().map(Value::as_str).collect(),
            _ => None,
        };
        let allowed = |s: &&str| s.len() > OWN_CHANNELS.len() && s.starts_with(OWN_CHANNELS);
        let mut fields = json!({"clientId": client_id, "subscription": subscription});
        match wanted.filter(|w| !w.is_empty() && w.iter().all(allowed)) {
            Some(channels) => {
                if let Some(client) = self.st.bayeux.client_mut(&client_id) {
                    for c in channels {
                        if channel == SUBSCRIBE { client.subscribe(c) } else { client.unsubscribe(c) }
                    }
                }
                fields["successful"] = json!(true);
            }
            None => {
                fields["successful"] = json!(false);
                fields["error"] =
                    json!(if channel == SUBSCRIBE { "403::subscribe_denied" } else { "403::unsubscribe_denied" });
            }
        }
        self.replies.push(reply(channel, id, fields));
    }

    fn disconnect(&mut self, message: &Map<String, Value>, id: &Option<Value>) {
        match self.client_id(message) {
            Some(client_id) => {
                self.st.bayeux.remove(&client_id, Wake::Disconnected);
                self.replies.push(reply(DISCONNECT, id, json!({"successful": true, "clientId": client_id})));
            }
            None => self.replies.push(unknown_client(DISCONNECT, id)),
        }
    }
}

fn advice(sim: &Sim) -> Value {
    let timeout = u64::try_from(sim.config.cometd_timeout.as_millis()).unwrap_or(u64::MAX);
    json!({"reconnect": "retry", "timeout": timeout, "interval": 0})
}

fn connect_reply(id: &Option<Value>, client_id: &str, sim: &Sim) -> Value {
    let mut fields = json!({"successful": true, "clientId": client_id});
    if !sim.config.faults.connect_without_advice {
        fields["advice"] = advice(sim);
    }
    reply(CONNECT, id, fields)
}

/// A connect reply and the events it carries: the events first, as CometD sends them; the
/// `event-order=after-reply` latitude puts the reply first, as Faye does (Bayeux fixes no order).
fn with_events(connect: Value, mut events: Vec<Value>, sim: &Sim) -> Vec<Value> {
    if sim.config.latitudes.event_order == EventOrder::AfterReply {
        events.insert(0, connect);
    } else {
        events.push(connect);
    }
    events
}

fn unknown_client(channel: &str, id: &Option<Value>) -> Value {
    let fields = json!({
        "successful": false,
        "error": "402::Unknown client",
        "advice": {"reconnect": "handshake", "interval": 0},
    });
    reply(channel, id, fields)
}

/// A reply on `channel`, echoing the request's `id`, with `fields` added.
fn reply(channel: &str, id: &Option<Value>, fields: Value) -> Value {
    let mut out = with_id(json!({"channel": channel}), id);
    if let (Some(out), Value::Object(fields)) = (out.as_object_mut(), fields) {
        out.extend(fields);
    }
    out
}

fn with_id(mut message: Value, id: &Option<Value>) -> Value {
    if let (Some(id), Some(map)) = (id, message.as_object_mut()) {
        map.insert("id".into(), id.clone());
    }
    message
}
