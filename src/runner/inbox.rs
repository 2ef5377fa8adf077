//! An agent's notification inbox: a task drains the Bayeux client's events, validates every
//! message, and keeps data messages in arrival order so steps can wait for them. Each delivered
//! notification satisfies at most one expectation.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use std::collections::BTreeMap;

use super::result::{CappedChecks, Check, Counts, Suppressed};
use super::validate::{check_bayeux, check_exchange};
use crate::client::BayeuxEvent;
use crate::contract::observe::Observer;
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;
use crate::scenario::matcher::{self, Failure};
use crate::scenario::{Expectation, NotificationExpect, Span};

/// Most notifications an inbox keeps for steps to match; older ones are let go (up to
/// [`DELIVERED_SLACK`] more are kept until a batch of them goes).
const MAX_DELIVERED: usize = 10_000;
const DELIVERED_SLACK: usize = 1_000;
/// Most events the pump takes in before it wakes the waiters.
const ANNOUNCE_EVERY: usize = 500;
/// Most of the CometD session's latest non-fatal problems (failed connects being retried) an
/// inbox keeps to explain a wait that found nothing.
const MAX_PROBLEMS: usize = 3;
/// Most characters of one kept problem.
const PROBLEM_LIMIT: usize = 500;

/// A data message delivered to the agent.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub seq: usize,
    pub at: Instant,
    pub channel: String,
    pub data: Value,
    pub consumed: bool,
}

#[derive(Default)]
struct State {
    delivered: Vec<Delivered>,
    /// Checks produced since the runner last drained them, capped per rule.
    checks: CappedChecks,
    counts: Counts,
    seq: usize,
    closed: bool,
    /// The latest Bayeux POST heard: the client reports each one before the messages its answer
    /// carried, so it is the one a message arrived in.
    carrier: Option<u64>,
    /// The latest non-fatal problems, each with its number (counted from the first).
    problems: std::collections::VecDeque<(usize, String)>,
    problems_seen: usize,
}

/// Shared between the pump task and the runner.
#[derive(Default)]
pub struct Inbox {
    state: Mutex<State>,
    notify: Notify,
    /// The step running when a message arrives is the one it is placed at.
    cursor: Arc<StepCursor>,
}

/// The step a scenario is running now (or ran last), shared by its inboxes: a failure found in
/// what arrives between two steps names the step before, whose exchange caused it.
#[derive(Debug, Default)]
pub struct StepCursor(Mutex<Option<(String, Span)>>);

impl StepCursor {
    pub fn set(&self, step: &str, span: &Span) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((step.to_owned(), span.clone()));
    }

    /// Place a failed check without a place at the current step.
    pub fn place(&self, c: &mut Check) {
        if let Some((step, span)) = &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            c.place(step, span);
        }
    }
}

/// A notification expectation resolved against the inbox.
pub struct WaitOutcome {
    pub matched: Vec<Value>,
    /// Index of the first expectation item no notification matched.
    pub unmatched: Option<usize>,
    /// For the unmatched item: the closest candidate's differences.
    pub closest: Option<(usize, Vec<Failure>)>,
    pub candidates: usize,
    /// The CometD session's latest non-fatal problems during the wait (at most [`MAX_PROBLEMS`]),
    /// and how many there were in all.
    pub problems: (Vec<String>, usize),
}

impl Inbox {
    /// An inbox whose failures are placed at the step `cursor` names.
    pub fn new(cursor: Arc<StepCursor>) -> Inbox {
        Inbox { cursor, ..Inbox::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drain the Bayeux client's events until it closes.
    pub fn spawn_pump(
        self: &Arc<Self>,
        reg: Arc<SchemaRegistry>,
        mut rx: mpsc::UnboundedReceiver<BayeuxEvent>,
        observer: Option<(Arc<Mutex<Observer>>, String)>,
    ) -> tokio::task::JoinHandle<()> {
        let inbox = Arc::clone(self);
        tokio::spawn(async move {
            let mut unannounced = 0usize;
            while let Some(ev) = rx.recv().await {
                let closed = matches!(ev, BayeuxEvent::Closed);
                inbox.accept(&reg, ev, observer.as_ref());
                if closed {
                    break;
                }
                // Waiters look again once the events at hand are in (or every so many of a
                // stream that never pauses), not after each: a waiter scans the inbox, and one
                // answer may carry thousands of messages.
                unannounced += 1;
                if rx.is_empty() || unannounced >= ANNOUNCE_EVERY {
                    unannounced = 0;
                    inbox.notify.notify_waiters();
                }
            }
            inbox.lock().closed = true;
            inbox.notify.notify_waiters();
        })
    }

    /// Validate an event, then record it. The validation runs outside the inbox's lock, so a
    /// step waiting on the inbox is never held up by a large answer being checked.
    fn accept(&self, reg: &SchemaRegistry, ev: BayeuxEvent, observer: Option<&(Arc<Mutex<Observer>>, String)>) {
        let mut checks = Vec::new();
        let mut counts = Counts::default();
        match ev {
            BayeuxEvent::Message { received_at, message } => {
                let (seq, carrier) = {
                    let mut st = self.lock();
                    st.seq += 1;
                    (st.seq, st.carrier)
                };
                check_bayeux(reg, &message, seq, &mut counts, &mut checks);
                let channel = message.get("channel").and_then(Value::as_str).unwrap_or_default().to_owned();
                let data = message.get("data").cloned().unwrap_or(Value::Null);
                if let Some((obs, agent)) = observer.filter(|_| channel == crate::api::CHANNEL_CHATS) {
                    // What the notification breaks is found now: placed now, it names the step
                    // that caused it rather than whichever step collects it.
                    let mut o = obs.lock().unwrap_or_else(PoisonError::into_inner);
                    o.notification(agent, &data, received_at);
                    checks.extend(o.take().into_iter().map(super::step::violation_check));
                }
                for c in checks.iter_mut().filter(|c| !c.passed) {
                    // What the message itself shows is in the answer that carried it; what an
                    // earlier step's operation led to rests on that step's exchange.
                    if c.step.is_none() {
                        c.exchange = carrier;
                    }
                    self.cursor.place(c);
                }
                let mut st = self.lock();
                st.counts.add(&counts);
                for c in checks {
                    st.checks.push(c);
                }
                if !channel.starts_with("/meta/") {
                    st.delivered.push(Delivered { seq, at: received_at, channel, data, consumed: false });
                    // Only unconsumed notifications can still match; a flood of them is bounded. The
                    // oldest go in batches, so a flood costs a shift per batch, not per message.
                    if st.delivered.len() >= MAX_DELIVERED + DELIVERED_SLACK {
                        let excess = st.delivered.len() - MAX_DELIVERED;
                        st.delivered.drain(..excess);
                    }
                }
            }
            BayeuxEvent::Exchange(ex) => {
                check_exchange(reg, &ex, &mut counts, &mut checks);
                for c in checks.iter_mut().filter(|c| !c.passed) {
                    c.exchange = Some(ex.id);
                    self.cursor.place(c);
                }
                let mut st = self.lock();
                st.carrier = Some(ex.id);
                st.counts.add(&counts);
                for c in checks {
                    st.checks.push(c);
                }
            }
            BayeuxEvent::Problem { fatal, description } => {
                if fatal {
                    let mut c = Check::fail(&rules::PROTOCOL_BAYEUX, "CometD session", description);
                    self.cursor.place(&mut c);
                    self.lock().checks.push(c);
                } else {
                    // Not a violation (a server may make a client retry), but what a wait that
                    // finds nothing must be able to say.
                    let mut st = self.lock();
                    st.problems_seen += 1;
                    let n = st.problems_seen;
                    let text = match description.char_indices().nth(PROBLEM_LIMIT) {
                        Some((end, _)) => format!("{}…", &description[..end]),
                        None => description,
                    };
                    st.problems.push_back((n, text));
                    if st.problems.len() > MAX_PROBLEMS {
                        st.problems.pop_front();
                    }
                }
            }
            BayeuxEvent::Closed => self.lock().closed = true,
        }
    }

    /// Checks (capped per rule, the rest counted) and counts produced since the last call.
    pub fn drain(&self) -> (Vec<Check>, BTreeMap<&'static str, Suppressed>, Counts) {
        let mut st = self.lock();
        let (checks, suppressed) = st.checks.take();
        (checks, suppressed, std::mem::take(&mut st.counts))
    }

    /// Sequence number of the latest message (a floor for "after this point").
    pub fn mark(&self) -> usize {
        self.lock().seq
    }

    /// Wait until notifications after `floor` satisfy `expect`, or its deadline passes.
    /// `resolve` turns an expectation into the value to compare (variables applied).
    pub async fn wait(
        &self,
        expect: &NotificationExpect,
        floor: usize,
        resolved: &[Vec<(String, Value)>],
    ) -> WaitOutcome {
        let deadline = tokio::time::Instant::now() + expect.within;
        let problems_before = self.lock().problems_seen;
        let with_problems = |st: &State, mut outcome: WaitOutcome| {
            let since: Vec<String> =
                st.problems.iter().filter(|(n, _)| *n > problems_before).map(|(_, p)| p.clone()).collect();
            outcome.problems = (since, st.problems_seen - problems_before);
            outcome
        };
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                let outcome = try_match(&mut st, expect, floor, resolved);
                if outcome.unmatched.is_none() || st.closed || tokio::time::Instant::now() >= deadline {
                    return with_problems(&st, outcome);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let mut st = self.lock();
                let outcome = try_match(&mut st, expect, floor, resolved);
                return with_problems(&st, outcome);
            }
        }
    }
}

/// Match expectation items to unconsumed notifications; consume them only when all match.
fn try_match(
    st: &mut State,
    expect: &NotificationExpect,
    floor: usize,
    resolved: &[Vec<(String, Value)>],
) -> WaitOutcome {
    let candidates: Vec<usize> = st
        .delivered
        .iter()
        .enumerate()
        .filter(|(_, d)| d.seq > floor && !d.consumed && d.channel == expect.channel)
        .map(|(i, _)| i)
        .collect();
    let mut taken: Vec<usize> = Vec::new();
    let mut after = 0usize; // position in `candidates` for ordered matching
    for (item_ix, fields) in resolved.iter().enumerate() {
        let start = if expect.ordered { after } else { 0 };
        let found = candidates[start.min(candidates.len())..]
            .iter()
            .position(|&ci| !taken.contains(&ci) && failures(&st.delivered[ci].data, fields).is_empty());
        match found {
            Some(rel) => {
                taken.push(candidates[start + rel]);
                after = start + rel + 1;
            }
            None => {
                let closest = candidates
                    .iter()
                    .filter(|ci| !taken.contains(ci))
                    .map(|&ci| (st.delivered[ci].seq, failures(&st.delivered[ci].data, fields)))
                    .min_by_key(|(_, f)| f.len());
                return WaitOutcome {
                    matched: Vec::new(),
                    unmatched: Some(item_ix),
                    closest,
                    candidates: candidates.len(),
                    problems: (Vec::new(), 0),
                };
            }
        }
    }
    let matched = taken
        .iter()
        .map(|&ci| {
            st.delivered[ci].consumed = true;
            st.delivered[ci].data.clone()
        })
        .collect();
    WaitOutcome { matched, unmatched: None, closest: None, candidates: candidates.len(), problems: (Vec::new(), 0) }
}

fn failures(data: &Value, fields: &[(String, Value)]) -> Vec<Failure> {
    let mut out = Vec::new();
    for (path, expected) in fields {
        matcher::match_value(expected, matcher::lookup(data, path), path, &mut out);
    }
    out
}

/// Expectations of one item as (path, value) pairs, before variables are applied.
pub fn raw_fields(fields: &[Expectation]) -> Vec<(String, Value)> {
    fields.iter().map(|e| (e.path.clone(), e.value.clone())).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::scenario::NotificationMatcher;

    fn expect(items: Vec<Vec<(&str, Value)>>, ordered: bool) -> (NotificationExpect, Vec<Vec<(String, Value)>>) {
        let resolved: Vec<Vec<(String, Value)>> =
            items.into_iter().map(|f| f.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).collect();
        let matchers = resolved
            .iter()
            .enumerate()
            .map(|(i, _)| NotificationMatcher { span: Span::new("t.yaml", i as u32 + 1, 1), fields: Vec::new() })
            .collect();
        let ne = NotificationExpect {
            source: "scenario".into(),
            within: Duration::from_millis(200),
            ordered,
            channel: "/v2/me/chats".into(),
            items: matchers,
            span: Span::new("t.yaml", 1, 1),
        };
        (ne, resolved)
    }

    fn event(data: Value) -> BayeuxEvent {
        BayeuxEvent::Message { received_at: Instant::now(), message: json!({"channel": "/v2/me/chats", "data": data}) }
    }

    async fn inbox_with(events: Vec<BayeuxEvent>) -> Arc<Inbox> {
        let reg = Arc::new(SchemaRegistry::embedded().unwrap());
        let inbox = Arc::new(Inbox::default());
        let (tx, rx) = mpsc::unbounded_channel();
        for e in events {
            tx.send(e).unwrap();
        }
        tx.send(BayeuxEvent::Closed).unwrap();
        inbox.spawn_pump(reg, rx, None).await.unwrap();
        inbox
    }

    #[tokio::test]
    async fn ordered_matching_respects_arrival_order_and_consumes_once() {
        let inbox = inbox_with(vec![event(json!({"n": 1})), event(json!({"n": 2}))]).await;
        let (ne, res) = expect(vec![vec![("n", json!(2))], vec![("n", json!(1))]], true);
        let out = inbox.wait(&ne, 0, &res).await;
        assert_eq!(out.unmatched, Some(1), "1 arrived before 2");
        let (ne, res) = expect(vec![vec![("n", json!(2))], vec![("n", json!(1))]], false);
        let out = inbox.wait(&ne, 0, &res).await;
        assert_eq!(out.unmatched, None);
        assert_eq!(out.matched.len(), 2);
        // Both are consumed now: the same expectation cannot match them again.
        let out = inbox.wait(&ne, 0, &res).await;
        assert_eq!(out.unmatched, Some(0));
    }

    #[tokio::test]
    async fn a_miss_reports_the_closest_candidate_and_the_floor_hides_older_ones() {
        let inbox = inbox_with(vec![
            event(json!({"state": "Invited", "id": "a"})),
            event(json!({"state": "Chatting", "id": "b"})),
        ])
        .await;
        let (ne, res) = expect(vec![vec![("state", json!("Completed")), ("id", json!("b"))]], true);
        let out = inbox.wait(&ne, 0, &res).await;
        let (seq, failures) = out.closest.unwrap();
        assert_eq!(seq, 2);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].path, "state");
        let (ne, res) = expect(vec![vec![("id", json!("a"))]], true);
        assert_eq!(inbox.wait(&ne, 1, &res).await.unmatched, Some(0), "message 1 is below the floor");
    }

    #[tokio::test]
    async fn every_message_is_validated_and_violations_are_drained_once() {
        let bad = BayeuxEvent::Message {
            received_at: Instant::now(),
            message: json!({"channel": "/v2/me/chats", "data": {"messageType": "ChatStateChangeMessage", "notificationType": "StatusChange", "chat": {"id": 5}}}),
        };
        let inbox = inbox_with(vec![event(json!({"n": 1})), bad]).await;
        let (checks, _, counts) = inbox.drain();
        assert_eq!(counts.notifications_validated, 2);
        assert!(checks.iter().any(|c| c.rule == "shape.notification" && !c.passed), "{checks:#?}");
        assert!(inbox.drain().0.is_empty());
    }
}
