//! `transcript.index`, `transcript.index-gap`, `transcript.equality` and
//! `visibility.agents-only`: message indices of a chat strictly increase and are never reused
//! across notifications and pages (holes between them are only observed: a public client notes
//! they happen); what the customer sent reaches the agent unchanged; the customer's transcript,
//! merged over every page it read (a server may answer each read with only what is new), holds
//! what the agent sent before any later message it holds; messages meant for agents only never
//! reach the customer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{AgentOperation, Origin, Violation, chat_id_of, kind_of, short};
use crate::contract::rules;

/// What identifies a message across notifications and pages (timestamps may be written
/// differently by the same server, so they are left out).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    kind: String,
    body: String,
    from: String,
}

fn fingerprint(m: &Value) -> Fingerprint {
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let body = ["text", "url", "noticeText"].iter().map(|k| s(k)).collect::<Vec<_>>().join("\u{1f}");
    let from = m.get("from").and_then(|f| f.get("type")).and_then(Value::as_str).unwrap_or("").to_owned();
    Fingerprint { kind: s("type"), body, from }
}

fn text_of(m: &Value) -> Option<&str> {
    m.get("text").or_else(|| m.get("noticeText")).and_then(Value::as_str)
}

fn from_type(m: &Value) -> &str {
    m.get("from").and_then(|f| f.get("type")).and_then(Value::as_str).unwrap_or("")
}

/// A customer message waiting to reach an agent.
struct CustomerText {
    customer: String,
    chat: String,
    text: String,
    sent_at: Instant,
    deadline: Instant,
    origin: Origin,
}

/// An agent's message to the customer, known delivered to the agent's own transcript.
struct AgentText {
    text: String,
    /// Its index in the agent's transcript.
    index: Option<i64>,
}

/// What a customer has read of a chat, over all its pages.
struct CustomerView {
    customer: String,
    messages: Vec<Fingerprint>,
    /// The read that last added to it, for violations found at the end.
    origin: Origin,
}

/// Most messages remembered per customer chat; reads past it are not remembered.
const MAX_CUSTOMER_MESSAGES: usize = 10_000;

#[derive(Default)]
pub struct Transcripts {
    /// (agent, agent-side chat) → index → message.
    seen: HashMap<(String, String), BTreeMap<i64, Fingerprint>>,
    /// Customer chat → the RequestChat userData, to recognise the agent-side chat.
    requests: HashMap<String, serde_json::Map<String, Value>>,
    /// Customer chat ↔ (agent, agent-side chat) once recognised.
    links: HashMap<String, (String, String)>,
    /// Agent-side chats known to be Chatting for that agent.
    chatting: HashSet<(String, String)>,
    /// Texts agents sent for agents only (SendToAgents, ...ToAgents notices).
    agents_only: HashSet<String>,
    /// Texts agents sent to everyone, per (agent, chat), with when their own copy arrived.
    agent_texts: HashMap<(String, String), Vec<AgentText>>,
    /// Texts agents sent, not yet seen in their own transcript.
    agent_sent: Vec<(String, String, String)>,
    pending: Vec<CustomerText>,
    /// Customer texts received by any agent since (text, from Customer, when).
    customer_texts_seen: Vec<(String, Instant)>,
    /// Customer chat → what its customer read.
    customer_views: HashMap<String, CustomerView>,
}

impl Transcripts {
    pub fn customer_request(&mut self, _customer: &str, chat: &str, body: &Value) {
        if let Some(ud) = body.get("userData").and_then(Value::as_object).filter(|m| !m.is_empty()) {
            self.requests.insert(chat.to_owned(), ud.clone());
        }
    }

    pub fn agent_sent(&mut self, op: &AgentOperation<'_>) {
        let text = op.params.get("text").or_else(|| op.params.get("noticeText")).and_then(Value::as_str);
        let Some(text) = text else { return };
        match op.operation {
            "SendToAgents" | "SendCustomNoticeToAgents" => {
                self.agents_only.insert(text.to_owned());
            }
            "SendMessage" | "SendCustomNotice" => {
                self.agent_sent.push((op.agent.to_owned(), op.chat.to_owned(), text.to_owned()));
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn customer_sent(
        &mut self,
        customer: &str,
        chat: &str,
        operation: &str,
        params: &Value,
        sent_at: Instant,
        deadline: Duration,
        origin: Origin,
    ) {
        if operation != "SendMessage" {
            return;
        }
        let Some(text) = params.get("text").and_then(Value::as_str) else { return };
        // Only checked once an agent is known to be in the chat: before that, the message
        // reaches an agent with the transcript whenever one accepts.
        let Some(link) = self.links.get(chat).cloned() else { return };
        if !self.chatting.contains(&link) {
            return;
        }
        if self.customer_texts_seen.iter().any(|(t, at)| t == text && *at >= sent_at) {
            return;
        }
        self.pending.push(CustomerText {
            customer: customer.to_owned(),
            chat: chat.to_owned(),
            text: text.to_owned(),
            sent_at,
            deadline: sent_at + deadline,
            origin,
        });
    }

    pub fn notification(&mut self, agent: &str, data: &Value, at: Instant, out: &mut Vec<Violation>) {
        let Some(chat) = chat_id_of(data).map(str::to_owned) else { return };
        let key = (agent.to_owned(), chat.clone());
        if let Some(state) = data.get("chat").and_then(|c| c.get("state")).and_then(Value::as_str) {
            if state == "Chatting" {
                self.chatting.insert(key.clone());
            } else {
                self.chatting.remove(&key);
            }
            if let Some(ud) = data.get("chat").and_then(|c| c.get("userData")).and_then(Value::as_object) {
                for (cchat, wanted) in &self.requests {
                    if wanted.iter().all(|(k, v)| ud.get(k) == Some(v)) {
                        self.links.insert(cchat.clone(), key.clone());
                    }
                }
            }
        }
        if kind_of(data) != "NewMessages" {
            return;
        }
        let Some(messages) = data.get("messages").and_then(Value::as_array) else { return };
        let subject = format!("{agent}: NewMessages on chat {chat}");
        self.merge(&key, messages, &subject, None, out);
        for m in messages {
            let Some(text) = text_of(m) else { continue };
            match from_type(m) {
                "Customer" => {
                    self.customer_texts_seen.push((text.to_owned(), at));
                    self.pending.retain(|p| p.text != text);
                }
                "Agent" => {
                    if let Some(pos) =
                        self.agent_sent.iter().position(|(a, c, t)| a == agent && *c == chat && t == text)
                    {
                        self.agent_sent.remove(pos);
                        if m.get("visibility").and_then(Value::as_str) != Some("Agents") {
                            let index = m.get("index").and_then(Value::as_i64);
                            self.agent_texts
                                .entry(key.clone())
                                .or_default()
                                .push(AgentText { text: text.to_owned(), index });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Merge messages into what `key` has seen; flag disorder and index reuse.
    fn merge(
        &mut self,
        key: &(String, String),
        messages: &[Value],
        subject: &str,
        origin: Option<Origin>,
        out: &mut Vec<Violation>,
    ) {
        let seen = self.seen.entry(key.clone()).or_default();
        let mut last: Option<i64> = None;
        for m in messages {
            let Some(index) = m.get("index").and_then(Value::as_i64) else { continue };
            if index < 0 {
                continue; // TranscriptSaveDone carries -1 by definition.
            }
            if let Some(prev) = last.filter(|p| index <= *p) {
                out.push(index_violation(
                    &rules::TRANSCRIPT_INDEX,
                    subject,
                    &origin,
                    format!("index {index} follows index {prev} in the same list"),
                    format!("an index above {prev}"),
                    index.to_string(),
                ));
            }
            last = Some(index);
            let fp = fingerprint(m);
            match seen.get(&index) {
                Some(old) if *old != fp => out.push(index_violation(
                    &rules::TRANSCRIPT_INDEX,
                    subject,
                    &origin,
                    format!("index {index} is used by two different messages"),
                    format!("index {index} = {} {:?} from {}", old.kind, old.body, old.from),
                    format!("index {index} = {}", short(m)),
                )),
                Some(_) => {}
                None => {
                    seen.insert(index, fp);
                }
            }
        }
    }

    pub fn agent_page(
        &mut self,
        agent: &str,
        chat: &str,
        messages: &[Value],
        origin: Origin,
        out: &mut Vec<Violation>,
    ) {
        let subject = format!("{agent}: GET messages of chat {chat}");
        self.merge(&(agent.to_owned(), chat.to_owned()), messages, &subject, Some(origin), out);
    }

    pub fn customer_page(
        &mut self,
        customer: &str,
        chat: &str,
        messages: &[Value],
        _asked_at: Instant,
        origin: Origin,
        out: &mut Vec<Violation>,
    ) {
        let subject = format!("{customer}: GET messages of customer chat {chat}");
        let mut last: Option<i64> = None;
        for m in messages {
            let leaked = m.get("visibility").and_then(Value::as_str).is_some_and(|v| v != "All")
                || text_of(m).is_some_and(|t| self.agents_only.contains(t));
            if leaked {
                out.push(Violation {
                    rule: &rules::VISIBILITY_AGENTS_ONLY,
                    subject: subject.clone(),
                    message: "a message meant for agents only reached the customer".into(),
                    expected: "no message with visibility Agents in the customer's transcript".into(),
                    actual: short(m),
                    origin: Some(origin.clone()),
                });
            }
            // The customer does not see agents-only messages, so gaps are normal here.
            if let Some(index) = m.get("index").and_then(Value::as_i64).filter(|i| *i >= 0) {
                if let Some(prev) = last.filter(|p| index <= *p) {
                    out.push(index_violation(
                        &rules::TRANSCRIPT_INDEX,
                        &subject,
                        &Some(origin.clone()),
                        format!("index {index} follows index {prev}"),
                        format!("an index above {prev}"),
                        index.to_string(),
                    ));
                }
                last = Some(index);
            }
        }
        // Merged with what the customer read before: whether the agent's messages reached it
        // is judged on the whole, at the end (`finish`).
        if messages.is_empty() {
            return;
        }
        let view = self.customer_views.entry(chat.to_owned()).or_insert_with(|| CustomerView {
            customer: customer.to_owned(),
            messages: Vec::new(),
            origin: origin.clone(),
        });
        view.origin = origin;
        for m in messages {
            let fp = fingerprint(m);
            if !view.messages.contains(&fp) && view.messages.len() < MAX_CUSTOMER_MESSAGES {
                view.messages.push(fp);
            }
        }
    }

    /// `transcript.equality` on the customer's side: a customer whose transcript holds a message
    /// the agent saw after one of its own texts must hold that text too. Judged by position in
    /// the agent's transcript, never by time, so a server slow to show the customer what is new
    /// is not blamed for it.
    fn customer_holes(&self, out: &mut Vec<Violation>) {
        let mut chats: Vec<&String> = self.customer_views.keys().collect();
        chats.sort();
        for chat in chats {
            let view = &self.customer_views[chat];
            let Some(link) = self.links.get(chat) else { continue };
            let Some(agent_side) = self.seen.get(link) else { continue };
            // The earliest agent-side position of each message the customer holds.
            let reached =
                view.messages.iter().filter_map(|fp| agent_side.iter().find(|(_, a)| *a == fp).map(|(i, _)| *i)).max();
            let Some(reached) = reached else { continue };
            // Text and notice bodies the customer read from agents (`text`, `url`, `noticeText`).
            let held: HashSet<&str> =
                view.messages.iter().filter(|fp| fp.from == "Agent").flat_map(|fp| fp.body.split('\u{1f}')).collect();
            for sent in self.agent_texts.get(link).into_iter().flatten() {
                let Some(index) = sent.index.filter(|i| *i < reached) else { continue };
                let present = held.contains(sent.text.as_str());
                if !present {
                    out.push(Violation {
                        rule: &rules::TRANSCRIPT_EQUALITY,
                        subject: format!("{}: transcript of customer chat {chat}", view.customer),
                        message: format!(
                            "the agent's message {:?} (index {index}) is missing from the customer's transcript, which holds a later message",
                            sent.text
                        ),
                        expected: format!("a message from the agent with text {:?}", sent.text),
                        actual: format!("{} message(s) read, reaching the agent's index {reached}", view.messages.len()),
                        origin: Some(view.origin.clone()),
                    });
                }
            }
        }
    }

    pub fn expire(&mut self, now: Instant, all: bool, out: &mut Vec<Violation>) {
        let (late, keep): (Vec<CustomerText>, Vec<CustomerText>) =
            std::mem::take(&mut self.pending).into_iter().partition(|p| all || now >= p.deadline);
        self.pending = keep;
        for p in late {
            let closest = self
                .customer_texts_seen
                .iter()
                .filter(|(_, at)| *at >= p.sent_at)
                .map(|(t, _)| t.as_str())
                .find(|t| t.contains(p.text.as_str()) || p.text.contains(*t));
            out.push(Violation {
                rule: &rules::TRANSCRIPT_EQUALITY,
                subject: format!("{}: SendMessage on customer chat {}", p.customer, p.chat),
                message: format!("the customer's message {:?} did not reach the agent unchanged", p.text),
                expected: format!("a Text from the customer with text {:?}", p.text),
                actual: closest
                    .map_or_else(|| "no such message reached an agent".to_owned(), |t| format!("text {t:?}")),
                origin: Some(p.origin),
            });
        }
    }

    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// Holes between the lowest and highest index each agent saw of each chat, and what the
    /// customers' transcripts miss.
    pub fn finish(&mut self, out: &mut Vec<Violation>) {
        self.customer_holes(out);
        let mut keys: Vec<&(String, String)> = self.seen.keys().collect();
        keys.sort();
        for key in keys {
            let seen = &self.seen[key];
            let (Some(lo), Some(hi)) = (seen.keys().next(), seen.keys().next_back()) else { continue };
            let holes: Vec<i64> = (*lo..=*hi).filter(|i| !seen.contains_key(i)).take(10).collect();
            if !holes.is_empty() {
                out.push(index_violation(
                    &rules::TRANSCRIPT_INDEX_GAP,
                    &format!("{}: transcript of chat {}", key.0, key.1),
                    &None,
                    format!("indices {lo}..{hi} have holes"),
                    format!("every index from {lo} to {hi}"),
                    format!("missing {holes:?}"),
                ));
            }
        }
    }
}

fn index_violation(
    rule: &'static crate::contract::Rule,
    subject: &str,
    origin: &Option<Origin>,
    message: String,
    expected: String,
    actual: String,
) -> Violation {
    Violation { rule, subject: subject.to_owned(), message, expected, actual, origin: origin.clone() }
}
