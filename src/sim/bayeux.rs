//! The Bayeux server's client table: each client's owner, subscriptions, queue of undelivered
//! events and the connect it holds, plus expiry after `maxInterval` without a connect. Nothing
//! here walks every client on a request's path: expiry is a queue of deadlines looked at from
//! the earliest, and notifications reach an agent's clients through an index by agent. The
//! protocol exchange itself is in `cometd`. The `event-ids` latitude gives each event an `id`,
//! `bayeux-batching` answers a connect with at most one or two events, leaving the rest for the
//! next one.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::engine::Push;
use super::latitude::{BayeuxBatching, EventIds, Latitudes};

/// Why a held connect is answered before its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Events were queued for the client.
    Events,
    /// A newer connect of the same client took its place.
    Superseded,
    /// The client disconnected.
    Disconnected,
    /// The server forgot the client (restart, expiry).
    Forgotten,
    /// The server is shutting down.
    Shutdown,
}

#[derive(Debug)]
struct Held {
    seq: u64,
    wake: oneshot::Sender<Wake>,
}

#[derive(Debug)]
pub(crate) struct Client {
    /// The agent whose notifications the client receives.
    pub agent: usize,
    subscriptions: Vec<String>,
    queue: Vec<Value>,
    held: Option<Held>,
    /// Whether the client has sent a connect yet: its first is answered at once.
    connected: bool,
    /// When the client last had a connect answered (or handshook): the start of its
    /// `maxInterval` countdown while it holds no connect.
    last_answer: Instant,
}

impl Client {
    pub fn subscribe(&mut self, channel: &str) {
        if !self.subscriptions.iter().any(|s| s == channel) {
            self.subscriptions.push(channel.to_owned());
        }
    }

    pub fn unsubscribe(&mut self, channel: &str) {
        self.subscriptions.retain(|s| s != channel);
    }

    fn wants(&self, channel: &str) -> bool {
        self.subscriptions.iter().any(|pattern| channel_matches(pattern, channel))
    }

    fn wake(&mut self, why: Wake) {
        if let Some(held) = self.held.take() {
            // The receiver is gone only if that connect's request was dropped: nothing to tell.
            let _ = held.wake.send(why);
        }
    }
}

/// What became of a connect that may wait.
#[derive(Debug)]
pub(crate) enum Hold {
    Unknown,
    Now(Vec<Value>),
    Held(Ticket),
}

/// A connect waiting for events: the client it belongs to, its place, and its wake-up call.
#[derive(Debug)]
pub(crate) struct Ticket {
    pub client_id: String,
    seq: u64,
    pub wake: oneshot::Receiver<Wake>,
}

#[derive(Debug)]
pub(crate) struct Bayeux {
    clients: HashMap<String, Client>,
    /// Client ids by agent.
    by_agent: HashMap<usize, Vec<String>>,
    /// When to look at a client again, earliest first. An entry may be stale (the client
    /// answered since, or is gone): it is then dropped or pushed back when it comes up.
    expiry: BinaryHeap<Reverse<(Instant, String)>>,
    /// Clients the sweeps have looked at, in all: what a request costs, for the tests.
    looked_at: u64,
    max_interval: Duration,
    next_seq: u64,
    /// Most events one connect answer carries (`bayeux-batching`); None for all.
    batch: Option<usize>,
    /// Whether events carry an `id` (`event-ids`).
    event_ids: bool,
    /// Events delivered so far: the event ids.
    events: u64,
}

impl Bayeux {
    pub fn new(max_interval: Duration, latitudes: Latitudes) -> Bayeux {
        let batch = match latitudes.bayeux_batching {
            BayeuxBatching::AllInOne => None,
            BayeuxBatching::TwoPerReply => Some(2),
            BayeuxBatching::OnePerReply => Some(1),
        };
        let event_ids = latitudes.event_ids == EventIds::Present;
        Bayeux {
            clients: HashMap::new(),
            by_agent: HashMap::new(),
            expiry: BinaryHeap::new(),
            looked_at: 0,
            max_interval,
            next_seq: 0,
            batch,
            event_ids,
            events: 0,
        }
    }

    /// The events a connect answer carries now; past the batch size, the rest wait for the next.
    fn take_batch(queue: &mut Vec<Value>, batch: Option<usize>) -> Vec<Value> {
        if let Some(batch) = batch.filter(|b| queue.len() > *b) {
            let rest = queue.split_off(batch);
            std::mem::replace(queue, rest)
        } else {
            std::mem::take(queue)
        }
    }

    /// Drop clients that have held no connect for `maxInterval` since their last answer, looking
    /// only at the deadlines that have come.
    fn sweep(&mut self) {
        let now = Instant::now();
        let max = self.max_interval;
        while let Some(Reverse((due, _))) = self.expiry.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((_, id))) = self.expiry.pop() else { break };
            self.looked_at += 1;
            let Some(c) = self.clients.get_mut(&id) else { continue };
            // A held connect whose request was abandoned by the peer holds nothing: the
            // countdown starts now, as if it had been answered.
            if c.held.as_ref().is_some_and(|h| h.wake.is_closed()) {
                c.held = None;
                c.last_answer = now;
            }
            if c.held.is_some() || now.duration_since(c.last_answer) <= max {
                let next = if c.held.is_some() { now + max } else { c.last_answer + max };
                self.expiry.push(Reverse((next.max(now + Duration::from_millis(1)), id)));
            } else {
                self.forget(&id);
            }
        }
    }

    /// Take the client out of the table and the index.
    fn forget(&mut self, id: &str) -> Option<Client> {
        let client = self.clients.remove(id)?;
        if let Some(ids) = self.by_agent.get_mut(&client.agent) {
            ids.retain(|other| other != id);
            if ids.is_empty() {
                self.by_agent.remove(&client.agent);
            }
        }
        Some(client)
    }

    /// Look at the client again when its `maxInterval` from now has passed.
    fn schedule(&mut self, id: &str) {
        self.expiry.push(Reverse((Instant::now() + self.max_interval, id.to_owned())));
    }

    pub fn add(&mut self, id: String, agent: usize) {
        self.sweep();
        let client = Client {
            agent,
            subscriptions: Vec::new(),
            queue: Vec::new(),
            held: None,
            connected: false,
            last_answer: Instant::now(),
        };
        self.schedule(&id);
        self.by_agent.entry(agent).or_default().push(id.clone());
        if let Some(mut earlier) = self.clients.insert(id, client) {
            earlier.wake(Wake::Forgotten);
        }
    }

    /// A live client.
    pub fn client_mut(&mut self, id: &str) -> Option<&mut Client> {
        self.sweep();
        self.clients.get_mut(id)
    }

    /// Whether this is the client's first connect, noting that it had one. CometD and Faye
    /// servers answer a session's first connect at once, whatever advice the client sent.
    pub fn first_connect(&mut self, id: &str) -> bool {
        self.clients.get_mut(id).is_some_and(|c| !std::mem::replace(&mut c.connected, true))
    }

    /// Queue each notification for the subscribed clients of its agent, waking held connects.
    pub fn deliver(&mut self, pushes: Vec<Push>) {
        self.sweep();
        for push in pushes {
            let mut event = json!({"channel": push.channel, "data": push.data});
            if self.event_ids {
                self.events += 1;
                event["id"] = json!(self.events.to_string());
            }
            for id in self.by_agent.get(&push.agent).into_iter().flatten() {
                if let Some(client) = self.clients.get_mut(id).filter(|c| c.wants(push.channel)) {
                    client.queue.push(event.clone());
                    client.wake(Wake::Events);
                }
            }
        }
    }

    /// Answer a connect now: the client's queued events, in order. A connect it held before
    /// is answered at once, empty.
    pub fn take_events(&mut self, id: &str) -> Option<Vec<Value>> {
        let batch = self.batch;
        let client = self.client_mut(id)?;
        client.wake(Wake::Superseded);
        client.last_answer = Instant::now();
        let events = Bayeux::take_batch(&mut client.queue, batch);
        self.schedule(id);
        Some(events)
    }

    /// A connect that may wait: answered now if events are queued, else held (the connect the
    /// client held before is answered at once).
    pub fn hold(&mut self, id: &str) -> Hold {
        self.next_seq += 1;
        let seq = self.next_seq;
        let batch = self.batch;
        let Some(client) = self.client_mut(id) else { return Hold::Unknown };
        client.wake(Wake::Superseded);
        if !client.queue.is_empty() {
            client.last_answer = Instant::now();
            let events = Bayeux::take_batch(&mut client.queue, batch);
            self.schedule(id);
            return Hold::Now(events);
        }
        let (tx, rx) = oneshot::channel();
        client.held = Some(Held { seq, wake: tx });
        // Looked at again in case the request holding it is abandoned.
        self.schedule(id);
        Hold::Held(Ticket { client_id: id.to_owned(), seq, wake: rx })
    }

    /// End a held connect (woken or timed out): the events to answer it with, or None if the
    /// client is gone.
    pub fn release(&mut self, ticket: &Ticket) -> Option<Vec<Value>> {
        let client = self.clients.get_mut(&ticket.client_id)?;
        if client.held.as_ref().is_some_and(|h| h.seq == ticket.seq) {
            client.held = None;
        }
        client.last_answer = Instant::now();
        let events = Bayeux::take_batch(&mut client.queue, self.batch);
        self.schedule(&ticket.client_id);
        Some(events)
    }

    pub fn remove(&mut self, id: &str, why: Wake) -> bool {
        match self.forget(id) {
            Some(mut client) => {
                client.wake(why);
                true
            }
            None => false,
        }
    }

    /// Forget every client, waking their held connects.
    pub fn forget_all(&mut self) {
        for (_, mut client) in self.clients.drain() {
            client.wake(Wake::Forgotten);
        }
        self.by_agent.clear();
        self.expiry.clear();
    }

    /// Answer every held connect at once; clients stay.
    pub fn wake_all(&mut self, why: Wake) {
        for client in self.clients.values_mut() {
            client.wake(why);
        }
    }

    pub fn count(&mut self) -> usize {
        self.sweep();
        self.clients.len()
    }

    pub fn held_count(&mut self) -> usize {
        self.sweep();
        self.clients.values().filter(|c| c.held.is_some()).count()
    }
}

/// Bayeux channel matching: exact, `/a/*` (one more segment) or `/a/**` (one or more).
pub(crate) fn channel_matches(pattern: &str, channel: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix("/**") {
        channel.strip_prefix(prefix).is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
    } else if let Some(prefix) = pattern.strip_suffix("/*") {
        channel
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|segment| !segment.is_empty() && !segment.contains('/'))
    } else {
        pattern == channel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_bayeux_rules() {
        assert!(channel_matches("/v2/me/chats", "/v2/me/chats"));
        assert!(channel_matches("/v2/me/*", "/v2/me/chats"));
        assert!(!channel_matches("/v2/me/*", "/v2/me/chats/x"));
        assert!(channel_matches("/v2/me/**", "/v2/me/chats/x"));
        assert!(!channel_matches("/v2/me/**", "/v2/me"));
        assert!(!channel_matches("/v2/me/*", "/v2/mex/chats"));
        assert!(!channel_matches("/v2/me/chats", "/v2/me/channels"));
    }

    #[tokio::test]
    async fn events_wake_the_held_connect_and_none_are_lost() {
        let mut b = Bayeux::new(Duration::from_secs(10), Latitudes::default());
        b.add("c".into(), 1);
        b.client_mut("c").unwrap().subscribe("/v2/me/*");
        let push = |n: i64| Push { agent: 1, channel: crate::api::CHANNEL_CHATS, data: json!({"n": n}) };
        b.deliver(vec![push(1)]);
        assert!(matches!(b.hold("c"), Hold::Now(events) if events.len() == 1));
        let Hold::Held(ticket) = b.hold("c") else { panic!("nothing is queued") };
        assert_eq!(b.held_count(), 1);
        b.deliver(vec![push(2), push(3), Push { agent: 2, ..push(4) }]);
        assert_eq!(ticket.wake.await.unwrap(), Wake::Events);
        let ticket = Ticket { client_id: "c".into(), seq: 0, wake: oneshot::channel().1 };
        assert_eq!(b.release(&ticket).unwrap().len(), 2);
    }

    #[test]
    fn batching_splits_events_across_connects_and_event_ids_number_them() {
        let answers = |batching: BayeuxBatching, ids: EventIds| {
            let lat = Latitudes { bayeux_batching: batching, event_ids: ids, ..Latitudes::default() };
            let mut b = Bayeux::new(Duration::from_secs(10), lat);
            b.add("c".into(), 1);
            b.client_mut("c").unwrap().subscribe("/v2/me/chats");
            let pushes = (0..5).map(|n| Push { agent: 1, channel: crate::api::CHANNEL_CHATS, data: json!({"n": n}) });
            b.deliver(pushes.collect());
            let mut answers = Vec::new();
            while let Hold::Now(events) = b.hold("c") {
                answers.push(events);
            }
            answers
        };
        let sizes = |a: &[Vec<Value>]| a.iter().map(Vec::len).collect::<Vec<_>>();
        let two = answers(BayeuxBatching::TwoPerReply, EventIds::Present);
        assert_eq!(sizes(&two), [2, 2, 1]);
        let ids: Vec<&str> = two.iter().flatten().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5"]);
        assert_eq!(sizes(&answers(BayeuxBatching::OnePerReply, EventIds::Present)), [1, 1, 1, 1, 1]);
        let all = answers(BayeuxBatching::AllInOne, EventIds::Absent);
        assert_eq!(sizes(&all), [5]);
        assert!(all[0].iter().all(|e| e.get("id").is_none()));
    }

    #[test]
    fn clients_expire_after_max_interval_and_leave_the_index() {
        let mut b = Bayeux::new(Duration::from_millis(30), Latitudes::default());
        for n in 0..1000 {
            b.add(format!("c{n}"), n % 10);
        }
        b.client_mut("c7").unwrap().subscribe("/v2/me/chats");
        assert_eq!(b.count(), 1000);
        std::thread::sleep(Duration::from_millis(60));
        b.add("late".into(), 7);
        assert_eq!(b.clients.len(), 1, "expired clients are dropped by the next request");
        assert_eq!(b.by_agent.values().map(Vec::len).sum::<usize>(), 1);
        assert!(b.client_mut("c7").is_none());
        // Only the deadlines that came were looked at: the live client's is still queued.
        assert!(b.expiry.len() <= 2, "{}", b.expiry.len());
    }

    #[test]
    fn a_request_looks_at_no_client_whose_deadline_has_not_come() {
        let mut b = Bayeux::new(Duration::from_secs(60), Latitudes::default());
        for n in 0..20_000 {
            b.add(format!("c{n}"), n % 100);
        }
        b.client_mut("c1").unwrap().subscribe("/v2/me/chats");
        let push = Push { agent: 1, channel: crate::api::CHANNEL_CHATS, data: json!({}) };
        b.deliver(vec![push]);
        assert!(matches!(b.hold("c1"), Hold::Now(events) if events.len() == 1));
        assert_eq!(b.looked_at, 0, "a handshake, a delivery or a connect walked the client table");
    }

    #[tokio::test]
    async fn a_held_connect_keeps_its_client_and_an_abandoned_one_does_not() {
        let mut b = Bayeux::new(Duration::from_millis(30), Latitudes::default());
        b.add("held".into(), 1);
        b.add("dropped".into(), 1);
        let Hold::Held(_kept) = b.hold("held") else { panic!() };
        let Hold::Held(abandoned) = b.hold("dropped") else { panic!() };
        drop(abandoned);
        std::thread::sleep(Duration::from_millis(40));
        b.sweep();
        assert!(b.clients.contains_key("held") && b.clients.contains_key("dropped"));
        std::thread::sleep(Duration::from_millis(40));
        b.sweep();
        assert!(b.clients.contains_key("held"), "a client holding a connect expired");
        assert!(!b.clients.contains_key("dropped"), "an abandoned connect kept its client alive");
    }

    #[test]
    fn only_the_first_connect_is_the_first() {
        let mut b = Bayeux::new(Duration::from_secs(10), Latitudes::default());
        b.add("c".into(), 1);
        assert!(b.first_connect("c"));
        assert!(!b.first_connect("c"));
        assert!(!b.first_connect("unknown"));
    }

    #[tokio::test]
    async fn a_second_connect_supersedes_the_first() {
        let mut b = Bayeux::new(Duration::from_secs(10), Latitudes::default());
        b.add("c".into(), 1);
        let Hold::Held(first) = b.hold("c") else { panic!() };
        let Hold::Held(_second) = b.hold("c") else { panic!() };
        assert_eq!(first.wake.await.unwrap(), Wake::Superseded);
        assert_eq!(b.held_count(), 1);
    }
}
