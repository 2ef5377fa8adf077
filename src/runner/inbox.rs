//! An agent's notification inbox: a task drains the Bayeux client's events, validates every
//! message, and keeps data messages in arrival order so steps can wait for them. Each delivered
//! notification satisfies at most one expectation.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use super::result::{Check, Counts};
use super::validate::{check_bayeux, check_exchange};
use crate::client::BayeuxEvent;
use crate::contract::rules;
use crate::contract::schema::SchemaRegistry;
use crate::scenario::matcher::{self, Failure};
use crate::scenario::{Expectation, NotificationExpect};

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
    /// Checks produced since the runner last drained them.
    checks: Vec<Check>,
    counts: Counts,
    seq: usize,
    closed: bool,
}

/// Shared between the pump task and the runner.
#[derive(Default)]
pub struct Inbox {
    state: Mutex<State>,
    notify: Notify,
}

/// A notification expectation resolved against the inbox.
pub struct WaitOutcome {
    pub matched: Vec<Value>,
    /// Index of the first expectation item no notification matched.
    pub unmatched: Option<usize>,
    /// For the unmatched item: the closest candidate's differences.
    pub closest: Option<(usize, Vec<Failure>)>,
    pub candidates: usize,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drain the Bayeux client's events until it closes.
    pub fn spawn_pump(self: &Arc<Self>, reg: Arc<SchemaRegistry>, mut rx: mpsc::UnboundedReceiver<BayeuxEvent>) -> tokio::task::JoinHandle<()> {
        let inbox = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                let closed = matches!(ev, BayeuxEvent::Closed);
                inbox.accept(&reg, ev);
                if closed {
                    break;
                }
            }
            inbox.lock().closed = true;
            inbox.notify.notify_waiters();
        })
    }

    fn accept(&self, reg: &SchemaRegistry, ev: BayeuxEvent) {
        let mut st = self.lock();
        let st = &mut *st;
        match ev {
            BayeuxEvent::Message { received_at, message } => {
                st.seq += 1;
                let seq = st.seq;
                check_bayeux(reg, &message, seq, &mut st.counts, &mut st.checks);
                let channel = message.get("channel").and_then(Value::as_str).unwrap_or_default().to_owned();
                if !channel.starts_with("/meta/") {
                    let data = message.get("data").cloned().unwrap_or(Value::Null);
                    st.delivered.push(Delivered { seq, at: received_at, channel, data, consumed: false });
                }
            }
            BayeuxEvent::Exchange(ex) => {
                check_exchange(reg, &ex, &mut st.counts, &mut st.checks);
            }
            BayeuxEvent::Problem { fatal, description } => {
                if fatal {
                    st.checks.push(Check::fail(&rules::PROTOCOL_BAYEUX, "CometD session", description));
                }
            }
            BayeuxEvent::Closed => st.closed = true,
        }
        drop(st);
        self.notify.notify_waiters();
    }

    /// Checks and counts produced since the last call.
    pub fn drain(&self) -> (Vec<Check>, Counts) {
        let mut st = self.lock();
        (std::mem::take(&mut st.checks), std::mem::take(&mut st.counts))
    }

    /// Sequence number of the latest message (a floor for "after this point").
    pub fn mark(&self) -> usize {
        self.lock().seq
    }

    /// Wait until notifications after `floor` satisfy `expect`, or its deadline passes.
    /// `resolve` turns an expectation into the value to compare (variables applied).
    pub async fn wait(&self, expect: &NotificationExpect, floor: usize, resolved: &[Vec<(String, Value)>]) -> WaitOutcome {
        let deadline = tokio::time::Instant::now() + expect.within;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                let outcome = try_match(&mut st, expect, floor, resolved);
                if outcome.unmatched.is_none() || st.closed || tokio::time::Instant::now() >= deadline {
                    return outcome;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let mut st = self.lock();
                return try_match(&mut st, expect, floor, resolved);
            }
        }
    }
}

/// Match expectation items to unconsumed notifications; consume them only when all match.
fn try_match(st: &mut State, expect: &NotificationExpect, floor: usize, resolved: &[Vec<(String, Value)>]) -> WaitOutcome {
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
                return WaitOutcome { matched: Vec::new(), unmatched: Some(item_ix), closest, candidates: candidates.len() };
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
    WaitOutcome { matched, unmatched: None, closest: None, candidates: candidates.len() }
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
