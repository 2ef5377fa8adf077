//! The agents of a load run: each logged in once (GET /me, CometD handshake and subscribe,
//! StartContactCenterSession, Ready), with a pump task that validates every Bayeux message and
//! routes chat notifications to the journey that owns the chat — first by the tag the customer
//! put in the chat's userData (the Invited offer), then by the agent-side chat id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::check;
use super::metrics::Metrics;
use crate::api;
use crate::client::{AgentSession, BayeuxClient, BayeuxEvent, BayeuxOptions, ClientConfig};
use crate::contract::observe::chat_id_of;
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;
use crate::runner::Credentials;

/// The userData key a load chat carries its tag in.
pub const TAG_KEY: &str = "ChatprobeLoad";

/// What a journey needs to know of a chat notification. The notification itself is dropped
/// once validated: holding thousands of chats must not mean holding their JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A StatusChange to this state.
    State(String),
    /// NewMessages carrying these texts.
    Texts(Vec<String>),
    Other,
}

/// A chat notification delivered to an agent.
#[derive(Debug, Clone)]
pub struct Notice {
    pub at: Instant,
    pub agent: usize,
    /// The agent-side chat id.
    pub chat: String,
    pub event: Event,
}

impl Notice {
    fn of(at: Instant, agent: usize, chat: String, data: &Value) -> Notice {
        let kind = data.get("notificationType").and_then(Value::as_str);
        let event = match kind {
            Some("StatusChange") => match data.pointer("/chat/state").and_then(Value::as_str) {
                Some(state) => Event::State(state.to_owned()),
                None => Event::Other,
            },
            _ => {
                let texts: Vec<String> = data
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.get("text").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                if texts.is_empty() { Event::Other } else { Event::Texts(texts) }
            }
        };
        Notice { at, agent, chat, event }
    }
}

type Mailbox = mpsc::UnboundedSender<Notice>;

/// Where chat notifications go.
#[derive(Default)]
pub struct Routes {
    by_tag: Mutex<HashMap<String, Mailbox>>,
    by_chat: Mutex<HashMap<String, Mailbox>>,
    /// This run's tag prefix. An offer tagged by another run (another shard on the same target)
    /// is sent here, to be rejected: the server then offers it to another agent.
    own: String,
    foreign: Option<mpsc::UnboundedSender<(usize, String)>>,
}

impl Routes {
    /// Send the offer of the chat tagged `tag`, and everything after it, to `mailbox`.
    pub fn expect(&self, tag: &str, mailbox: Mailbox) {
        self.by_tag.lock().unwrap_or_else(PoisonError::into_inner).insert(tag.to_owned(), mailbox);
    }

    /// Stop routing anything for this chat.
    pub fn forget(&self, tag: &str, chat: Option<&str>) {
        self.by_tag.lock().unwrap_or_else(PoisonError::into_inner).remove(tag);
        if let Some(chat) = chat {
            self.by_chat.lock().unwrap_or_else(PoisonError::into_inner).remove(chat);
        }
    }

    fn route(&self, at: Instant, agent: usize, data: &Value) {
        let Some(chat) = chat_id_of(data) else { return };
        let known = self.by_chat.lock().unwrap_or_else(PoisonError::into_inner).get(chat).cloned();
        if let Some(mailbox) = known {
            let notice = Notice::of(at, agent, chat.to_owned(), data);
            if notice.event != Event::Other {
                // A journey that gave up has dropped its receiver; nothing to do then.
                let _ = mailbox.send(notice);
            }
            return;
        }
        let tag = data.pointer("/chat/userData").and_then(|u| u.get(TAG_KEY)).and_then(Value::as_str);
        let Some(tag) = tag else { return };
        let mailbox = self.by_tag.lock().unwrap_or_else(PoisonError::into_inner).remove(tag);
        if let Some(mailbox) = mailbox {
            self.by_chat.lock().unwrap_or_else(PoisonError::into_inner).insert(chat.to_owned(), mailbox.clone());
            let _ = mailbox.send(Notice::of(at, agent, chat.to_owned(), data));
        } else if let Some(foreign) = &self.foreign
            && !self.own.is_empty()
            && !tag.strip_prefix(self.own.as_str()).is_some_and(|rest| rest.starts_with('-'))
            && Notice::of(at, agent, String::new(), data).event == Event::State("Invited".into())
        {
            let _ = foreign.send((agent, chat.to_owned()));
        }
    }
}

/// One logged-in agent.
pub struct Agent {
    pub index: usize,
    pub session: AgentSession,
    pub credentials: Credentials,
    bayeux: Mutex<Option<BayeuxClient>>,
    pump: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Every agent of the run and the routes of their notifications.
pub struct AgentPool {
    pub agents: Vec<Arc<Agent>>,
    pub routes: Arc<Routes>,
    /// Offers of other runs' chats, to reject.
    foreign: Mutex<Option<mpsc::UnboundedReceiver<(usize, String)>>>,
}

/// Log every agent in, sixteen at a time. Fails on the first agent the target refuses. `own`
/// is the prefix of this run's chat tags.
pub async fn login_all(
    base_url: &str,
    creds: &[Credentials],
    cfg: &ClientConfig,
    reg: &Arc<SchemaRegistry>,
    metrics: &Arc<Mutex<Metrics>>,
    own: &str,
) -> Result<AgentPool, String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let routes = Arc::new(Routes { own: own.to_owned(), foreign: Some(tx), ..Routes::default() });
    let mut set = tokio::task::JoinSet::new();
    let mut agents = Vec::with_capacity(creds.len());
    let mut failure = None;
    for (i, c) in creds.iter().enumerate() {
        let job = login(
            i,
            base_url.to_owned(),
            c.clone(),
            cfg.clone(),
            Arc::clone(reg),
            Arc::clone(metrics),
            Arc::clone(&routes),
        );
        set.spawn(job);
        while set.len() >= 16 || (i + 1 == creds.len() && !set.is_empty()) {
            match set.join_next().await {
                Some(Ok(Ok(agent))) => agents.push(Arc::new(agent)),
                Some(Ok(Err(e))) => failure = failure.or(Some(e)),
                Some(Err(e)) => failure = failure.or(Some(format!("agent login task failed: {e}"))),
                None => break,
            }
        }
    }
    agents.sort_by_key(|a| a.index);
    let pool = AgentPool { agents, routes, foreign: Mutex::new(Some(rx)) };
    match failure {
        Some(e) => Err(e),
        None => Ok(pool),
    }
}

async fn login(
    index: usize,
    base_url: String,
    credentials: Credentials,
    cfg: ClientConfig,
    reg: Arc<SchemaRegistry>,
    metrics: Arc<Mutex<Metrics>>,
    routes: Arc<Routes>,
) -> Result<Agent, String> {
    let who = credentials.username.clone();
    let session = AgentSession::new(&base_url, &credentials.username, &credentials.password, &cfg)
        .map_err(|e| format!("agent {who}: {e}"))?;
    let me = session.get("/api/v2/me").await.map_err(|e| format!("agent {who}: {e}"))?;
    check::exchange(&reg, &me).record(&mut lock(&metrics));
    if me.status != 200 {
        return Err(format!("agent {who} was refused: HTTP {} {}", me.status, me.body_text));
    }
    let opts =
        BayeuxOptions { subscriptions: vec![api::CHANNEL_CHATS.to_owned()], client: cfg.clone(), ..Default::default() };
    let (bayeux, rx) = BayeuxClient::start(&session, opts)
        .await
        .map_err(|e| format!("agent {who}: CometD handshake/subscribe failed: {e}"))?;
    let pump = tokio::spawn(pump(index, rx, reg.clone(), metrics.clone(), routes));
    for (path, body) in [
        ("/api/v2/me", json!({"operationName": "StartContactCenterSession", "channels": ["chat"]})),
        ("/api/v2/me/channels/chat", json!({"operationName": "Ready"})),
    ] {
        let ex = session.post(path, &body).await.map_err(|e| format!("agent {who}: {e}"))?;
        check::exchange(&reg, &ex).record(&mut lock(&metrics));
        if ex.json.as_ref().and_then(|b| b.get("statusCode")).and_then(Value::as_i64) != Some(0) {
            return Err(format!("agent {who}: {} refused: HTTP {} {}", body["operationName"], ex.status, ex.body_text));
        }
    }
    Ok(Agent { index, session, credentials, bayeux: Mutex::new(Some(bayeux)), pump: Mutex::new(Some(pump)) })
}

fn lock(m: &Mutex<Metrics>) -> std::sync::MutexGuard<'_, Metrics> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Validate and route an agent's Bayeux events until the client closes.
async fn pump(
    agent: usize,
    mut rx: mpsc::UnboundedReceiver<BayeuxEvent>,
    reg: Arc<SchemaRegistry>,
    metrics: Arc<Mutex<Metrics>>,
    routes: Arc<Routes>,
) {
    while let Some(ev) = rx.recv().await {
        match ev {
            BayeuxEvent::Message { received_at, message } => {
                check::bayeux(&reg, &message).record(&mut lock(&metrics));
                if message.get("channel").and_then(Value::as_str) == Some(api::CHANNEL_CHATS)
                    && let Some(data) = message.get("data")
                {
                    routes.route(received_at, agent, data);
                }
            }
            BayeuxEvent::Exchange(ex) => {
                let mut m = lock(&metrics);
                if !(200..300).contains(&ex.status) {
                    m.violation(rules::PROTOCOL_BAYEUX.id, || {
                        format!("CometD POST {} answered HTTP {}", ex.path, ex.status)
                    });
                }
                if ex.json.is_none()
                    && let Some(err) = &ex.json_error
                {
                    m.violation(rules::PROTOCOL_JSON.id, || format!("CometD POST {}: {err}", ex.path));
                }
            }
            BayeuxEvent::Problem { fatal: true, description } => {
                lock(&metrics).violation(rules::PROTOCOL_BAYEUX.id, || description);
            }
            BayeuxEvent::Problem { .. } => {}
            BayeuxEvent::Closed => break,
        }
    }
}

impl AgentPool {
    /// Reject, until aborted, the offers of chats another run (another shard on the same
    /// target) requested: each goes back to the server, which offers it to another agent.
    pub fn hand_back_foreign(
        &self,
        reg: &Arc<SchemaRegistry>,
        metrics: &Arc<Mutex<Metrics>>,
    ) -> tokio::task::JoinHandle<()> {
        let rx = self.foreign.lock().unwrap_or_else(PoisonError::into_inner).take();
        let (agents, reg, metrics) = (self.agents.clone(), Arc::clone(reg), Arc::clone(metrics));
        tokio::spawn(async move {
            let Some(mut rx) = rx else { return };
            // Each agent rejects a chat once: a server that offered it back to the same agent
            // would otherwise be answered by a reject loop. Bounded, as chats come and go.
            let mut rejected: std::collections::HashSet<(usize, String)> = std::collections::HashSet::new();
            while let Some((index, chat)) = rx.recv().await {
                if rejected.len() >= 100_000 {
                    rejected.clear();
                }
                if !rejected.insert((index, chat.clone())) {
                    continue;
                }
                let Some(agent) = agents.iter().find(|a| a.index == index) else { continue };
                let body = json!({"operationName": "Reject"});
                if let Ok(ex) = agent.session.post(&format!("/api/v2/me/chats/{chat}"), &body).await {
                    check::exchange(&reg, &ex).record(&mut lock(&metrics));
                }
            }
        })
    }

    /// NotReady, EndContactCenterSession, CometD disconnect, for every agent.
    pub async fn logout_all(&self, reg: &Arc<SchemaRegistry>, metrics: &Arc<Mutex<Metrics>>) {
        for chunk in self.agents.chunks(16) {
            let mut set = tokio::task::JoinSet::new();
            for a in chunk {
                let (a, reg, metrics) = (Arc::clone(a), Arc::clone(reg), Arc::clone(metrics));
                set.spawn(async move { a.logout(&reg, &metrics).await });
            }
            while set.join_next().await.is_some() {}
        }
    }
}

impl Agent {
    async fn logout(&self, reg: &SchemaRegistry, metrics: &Mutex<Metrics>) {
        for (path, op) in [("/api/v2/me/channels/chat", "NotReady"), ("/api/v2/me", "EndContactCenterSession")] {
            if let Ok(ex) = self.session.post(path, &json!({"operationName": op})).await {
                check::exchange(reg, &ex).record(&mut lock(metrics));
            }
        }
        let bayeux = self.bayeux.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(b) = bayeux {
            let _ = b.disconnect().await;
        }
        let pump = self.pump.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(p) = pump {
            // The client closed its channel on disconnect; the pump ends with it.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), p).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_route_by_tag_then_by_chat_and_keep_only_what_journeys_wait_for() {
        let routes = Routes::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        routes.expect("t-1", tx);
        let at = Instant::now();
        let offer = json!({"notificationType": "StatusChange", "chat": {"id": "c1", "state": "Invited", "userData": {TAG_KEY: "t-1"}}});
        let other = json!({"notificationType": "StatusChange", "chat": {"id": "c2", "state": "Invited", "userData": {TAG_KEY: "t-2"}}});
        routes.route(at, 3, &other);
        routes.route(at, 3, &offer);
        routes.route(at, 3, &json!({"notificationType": "ParticipantsUpdated", "chat": {"id": "c1"}}));
        routes.route(
            at,
            3,
            &json!({"notificationType": "NewMessages", "chatPath": "/chats/c1", "messages": [{"text": "hi"}]}),
        );
        let first = rx.try_recv().unwrap();
        assert_eq!((first.agent, first.chat.as_str(), &first.event), (3, "c1", &Event::State("Invited".into())));
        assert_eq!(rx.try_recv().unwrap().event, Event::Texts(vec!["hi".into()]));
        assert!(rx.try_recv().is_err(), "neither the other chat nor a ParticipantsUpdated reaches this journey");
        routes.forget("t-1", Some("c1"));
        routes.route(
            at,
            3,
            &json!({"notificationType": "NewMessages", "chatPath": "/chats/c1", "messages": [{"text": "late"}]}),
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn offers_of_another_runs_chats_are_handed_back_and_no_others() {
        let (tx, mut foreign) = mpsc::unbounded_channel();
        let routes = Routes { own: "s1-abc".into(), foreign: Some(tx), ..Routes::default() };
        let at = Instant::now();
        let offer = |chat: &str, tag: &str, state: &str| json!({"notificationType": "StatusChange", "chat": {"id": chat, "state": state, "userData": {TAG_KEY: tag}}});
        routes.route(at, 2, &offer("c1", "s2-abc-0", "Invited"));
        routes.route(at, 2, &offer("c2", "s1-abc-7", "Invited"));
        routes.route(at, 2, &offer("c3", "s1-abcd-1", "Invited"));
        routes.route(at, 2, &offer("c4", "s3-xyz-1", "Completed"));
        routes.route(at, 2, &json!({"notificationType": "StatusChange", "chat": {"id": "c5", "state": "Invited"}}));
        assert_eq!(foreign.try_recv().unwrap(), (2, "c1".to_owned()));
        assert_eq!(foreign.try_recv().unwrap(), (2, "c3".to_owned()), "s1-abcd is another run than s1-abc");
        assert!(foreign.try_recv().is_err(), "our own chats, other states and untagged chats are kept");
    }
}
