//! `read_transcript`: a customer reads its chat's messages page after page
//! (`GET /api/v2/chats/{chat}/messages`), merging what each page adds, until the merged
//! transcript matches `until` or the deadline passes. A server may answer each GET with only the
//! messages that customer has not read yet, or with the whole transcript (digest §12 leaves it
//! open); merging by index gives the same transcript either way, so an expectation about what
//! the customer saw never rests on one page.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Output, StepError, observe, origin, resolve, resolve_str, transport};
use crate::contract::rules;
use crate::runner::RunConfig;
use crate::runner::actors::{Actors, Sink};
use crate::runner::expect::exchange_context;
use crate::runner::result::Check;
use crate::scenario::matcher;
use crate::scenario::vars::Vars;
use crate::scenario::{Step, TranscriptUntil};

/// Pause between two reads while `until` is not met.
const POLL: Duration = Duration::from_millis(200);

/// Most messages one customer transcript keeps; what a server sends past it is counted.
pub const MAX_MESSAGES: usize = 10_000;

/// What one customer has read of one chat: every message once, in index order.
#[derive(Debug, Default, Clone)]
pub struct Transcript {
    messages: Vec<Value>,
    /// Messages past [`MAX_MESSAGES`], not kept.
    pub dropped: usize,
}

impl Transcript {
    /// Add what a page holds: a message whose index is already held is the same message again
    /// (a server answering with the whole transcript); one without an index is kept unless an
    /// equal one is held.
    pub fn merge(&mut self, page: &[Value]) {
        for m in page {
            let index = m.get("index").and_then(Value::as_i64);
            let held = match index {
                Some(i) => self.messages.iter().any(|h| h.get("index").and_then(Value::as_i64) == Some(i)),
                None => self.messages.contains(m),
            };
            if held {
                continue;
            }
            if self.messages.len() >= MAX_MESSAGES {
                self.dropped += 1;
                continue;
            }
            self.messages.push(m.clone());
        }
        // Unindexed messages sort first, in arrival order (a stable sort).
        self.messages.sort_by_key(|m| m.get("index").and_then(Value::as_i64).unwrap_or(i64::MIN));
    }

    pub fn messages(&self) -> &[Value] {
        &self.messages
    }
}

#[expect(clippy::too_many_arguments, reason = "the step's fields, passed apart")]
pub async fn read(
    st: &Step,
    customer: &str,
    chat: &str,
    until: Option<&TranscriptUntil>,
    within: Duration,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
    let chat = resolve_str(chat, vars)?;
    let wanted = until.map(|u| resolve(&u.value, vars)).transpose()?;
    let subject = format!("{customer}: transcript of customer chat {chat}");
    let deadline = Instant::now() + within;
    let mut reads = 0u32;
    loop {
        let asked_at = Instant::now();
        let c = actors.customer(customer, cfg).map_err(|e| transport(e, sink, &subject))?;
        let ex = c.client.messages(&chat, None).await.map_err(|e| transport(e, sink, &subject))?;
        reads += 1;
        sink.record(&cfg.schemas, &ex);
        let page: Vec<Value> =
            ex.json.as_ref().and_then(|b| b.get("messages")).and_then(Value::as_array).cloned().unwrap_or_default();
        let merged = {
            let t = c.transcript(&chat);
            t.merge(&page);
            Value::Array(t.messages().to_vec())
        };
        observe(actors, |o| o.customer_page(customer, &chat, &page, asked_at, origin(st)));
        let failures = wanted.as_ref().map(|w| {
            let mut f = Vec::new();
            matcher::match_value(w, Some(&merged), "messages", &mut f);
            f
        });
        let met = failures.as_ref().is_none_or(Vec::is_empty);
        let refused =
            ex.status != 200 || ex.json.as_ref().is_none_or(|b| !b.get("messages").is_some_and(Value::is_array));
        if met || refused || Instant::now() + POLL > deadline {
            if let (Some(u), Some(failures)) = (until, failures) {
                let check = if met {
                    Check::pass(&rules::ASSERT_TRANSCRIPT, &subject, format!("matched after {reads} read(s)"))
                } else {
                    let detail: Vec<String> = failures
                        .iter()
                        .map(|f| format!("{}: expected {}, actual {}", f.path, f.expected, f.actual))
                        .collect();
                    Check::fail(
                        &rules::ASSERT_TRANSCRIPT,
                        &subject,
                        format!(
                            "after {reads} read(s) in {within:?} the transcript does not match: {}",
                            detail.join("; ")
                        ),
                    )
                    .expected_actual(
                        matcher::describe(Some(&u.value)),
                        format!("{} message(s)", merged.as_array().map_or(0, Vec::len)),
                    )
                };
                sink.checks.push(check.sourced(&u.source).at(Some(u.span.clone())));
            }
            let mut context = exchange_context(&ex);
            if let Some(Value::Object(body)) = context.get_mut("body") {
                body.insert("messages".into(), merged);
            } else if let Value::Object(cx) = &mut context {
                let mut body = Map::new();
                body.insert("messages".into(), merged);
                cx.insert("body".into(), Value::Object(body));
            }
            return Ok(Output { exchange: Some(ex), context, subject });
        }
        tokio::time::sleep(POLL).await;
    }
}
