//! The chat journey: a customer requests a chat, the agent it is offered to accepts, they
//! exchange messages (each side's message awaited on the other side), the agent may upload a
//! file, and completes the chat. Every response is validated; every latency is recorded from
//! the intended time of the step and from its actual send.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::agents::{Agent, Event, Notice, TAG_KEY};
use super::check;
use super::metrics::names;
use super::spec::ChatJourney;
use super::{Ctx, upload};
use crate::client::{Exchange, TransportError};

/// Why a chat ended early; recorded as one error.
struct Failed(String);

/// A journey's notifications, with those that arrived before anyone waited for them.
struct Mailbox {
    rx: mpsc::UnboundedReceiver<Notice>,
    early: VecDeque<Notice>,
}

impl Mailbox {
    /// The first notification (kept or new) that `pred` accepts, before `deadline`.
    async fn wait(&mut self, deadline: Instant, pred: impl Fn(&Event) -> bool) -> Option<Notice> {
        if let Some(i) = self.early.iter().position(|n| pred(&n.event)) {
            return self.early.remove(i);
        }
        loop {
            let next = tokio::time::timeout_at(deadline.into(), self.rx.recv()).await.ok()??;
            if pred(&next.event) {
                return Some(next);
            }
            if self.early.len() == 64 {
                self.early.pop_front();
            }
            self.early.push_back(next);
        }
    }
}

fn state_is(event: &Event, state: &str) -> bool {
    matches!(event, Event::State(s) if s == state)
}

fn has_text(event: &Event, text: &str) -> bool {
    matches!(event, Event::Texts(texts) if texts.iter().any(|t| t == text))
}

/// The chat's state after a failure, for cleaning up.
struct Held {
    agent: Option<Arc<Agent>>,
    chat: Option<String>,
    /// Accepted and not yet ended: counted as a chat held.
    chatting: bool,
}

/// Run one chat that was meant to start at `intended`.
pub async fn run(ctx: &Ctx, journey: &ChatJourney, intended: Instant) {
    let n = ctx.serial.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = format!("{}-{n}", ctx.run_id);
    let (tx, rx) = mpsc::unbounded_channel();
    let mut mail = Mailbox { rx, early: VecDeque::new() };
    let routes = match &ctx.pool {
        Some(p) => Arc::clone(&p.routes),
        None => return,
    };
    routes.expect(&tag, tx);
    ctx.chat_started();
    let mut held = Held { agent: None, chat: None, chatting: false };
    let outcome = chat(ctx, journey, intended, &tag, &mut mail, &mut held).await;
    let now = Instant::now();
    match outcome {
        Ok(()) => {
            let mut m = ctx.lock();
            m.counts.chats_completed += 1;
            m.record(names::CHAT, intended, intended, now);
        }
        Err(Failed(why)) => {
            ctx.lock().error(now, || format!("chat {tag}: {why}"));
            // Leave the server as the journey found it: the agent's chat completed.
            if let (Some(agent), Some(chat)) = (&held.agent, &held.chat) {
                let _ = agent.session.post(&chat_path(chat), &json!({"operationName": "Complete"})).await;
            }
        }
    }
    routes.forget(&tag, held.chat.as_deref());
    ctx.chat_ended(held.chatting);
}

fn chat_path(chat: &str) -> String {
    format!("/api/v2/me/chats/{chat}")
}

async fn chat(
    ctx: &Ctx,
    j: &ChatJourney,
    intended: Instant,
    tag: &str,
    mail: &mut Mailbox,
    held: &mut Held,
) -> Result<(), Failed> {
    let customer = ctx.customer.as_ref().ok_or_else(|| Failed("no customer client".into()))?;
    let body = json!({
        "operationName": "RequestChat",
        "nickname": format!("Load {tag}"),
        "subject": "chatprobe load",
        "userData": { TAG_KEY: tag },
    });
    let sent = Instant::now();
    let ex = operation(ctx, "RequestChat", intended, sent, customer.request_chat(&body).await)?;
    let customer_chat = ex.json.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str).map(str::to_owned);
    let customer_chat = customer_chat.ok_or_else(|| Failed("RequestChat answered without an id".into()))?;

    let deadline = |from: Instant| (from + j.timeout).min(ctx.hard_stop());
    let offer = mail
        .wait(deadline(sent), |d| state_is(d, "Invited"))
        .await
        .ok_or_else(|| Failed(format!("no Invited offer within {:?}", j.timeout)))?;
    ctx.lock().record(names::INVITE, intended, sent, offer.at);
    let agent = ctx.agent(offer.agent).ok_or_else(|| Failed("offer to an unknown agent".into()))?;
    let chat = offer.chat.clone();
    held.agent = Some(Arc::clone(&agent));
    held.chat = Some(chat.clone());

    let mut next = offer.at + j.accept_after.sample();
    let accept = json!({"operationName": "Accept", "nickname": format!("Agent {}", agent.index + 1)});
    let (done, _) = agent_op(ctx, &agent, &chat, "Accept", &accept, next, mail, j, |d| state_is(d, "Chatting")).await?;
    ctx.chatting_started();
    held.chatting = true;

    let mut seen_index = 0u64;
    let mut after = done;
    for k in 0..j.messages {
        if ctx.interrupted() {
            // Interrupted: no more conversation, straight to completing the chat.
            break;
        }
        next = after + j.customer_think.sample();
        pause_until(ctx, next).await;
        let text = format!("customer {k} {tag}");
        let sent = Instant::now();
        let msg = json!({"operationName": "SendMessage", "text": text});
        operation(ctx, "CustomerSendMessage", next, sent, customer.operation(&customer_chat, &msg).await)?;
        let got = mail
            .wait(deadline(sent), |d| has_text(d, &text))
            .await
            .ok_or_else(|| Failed(format!("the agent did not get the customer's message {k}")))?;
        ctx.lock().record(names::DELIVERY_CUSTOMER_TO_AGENT, next, sent, got.at);

        next = got.at + j.agent_think.sample();
        let text = format!("agent {k} {tag}");
        let msg = json!({"operationName": "SendMessage", "text": text});
        let sent_at = agent_op(ctx, &agent, &chat, "SendMessage", &msg, next, mail, j, |d| has_text(d, &text)).await?;
        after = poll_customer(ctx, j, &customer_chat, &text, next, sent_at.1, &mut seen_index).await?;
    }

    if let Some(u) = &j.uploads
        && !ctx.interrupted()
        && rand::random::<f64>() < u.share
    {
        let size = if u.size.1 > u.size.0 { rand::random_range(u.size.0..=u.size.1) } else { u.size.0 };
        let intended = after + j.agent_think.sample();
        pause_until(ctx, intended).await;
        upload::one(ctx, &agent, &chat, size, intended).await.map_err(Failed)?;
    }

    next = Instant::now() + j.agent_think.sample();
    let complete = json!({"operationName": "Complete"});
    agent_op(ctx, &agent, &chat, "Complete", &complete, next, mail, j, |d| state_is(d, "Completed")).await?;
    held.agent = None;
    Ok(())
}

/// Sleep until `at`, but never past the end of the drain, and not at all once interrupted: the
/// chat then goes straight on to its end.
async fn pause_until(ctx: &Ctx, at: Instant) {
    if ctx.interrupted() {
        return;
    }
    tokio::select! {
        () = tokio::time::sleep_until(at.min(ctx.hard_stop()).into()) => {}
        () = ctx.stop.cancelled() => {}
    }
}

/// Record an answered operation; a transport error or a refusal fails the chat.
fn operation(
    ctx: &Ctx,
    name: &str,
    intended: Instant,
    sent: Instant,
    result: Result<Exchange, TransportError>,
) -> Result<Exchange, Failed> {
    let done = Instant::now();
    match result {
        Ok(ex) => {
            let checked = check::exchange(&ctx.reg, &ex);
            let mut m = ctx.lock();
            checked.record(&mut m);
            let accepted = (200..300).contains(&ex.status)
                && ex.json.as_ref().and_then(|b| b.get("statusCode")).and_then(Value::as_i64) == Some(0);
            if accepted {
                m.record(name, intended, sent, done);
                Ok(ex)
            } else {
                Err(Failed(format!("{name} refused: HTTP {} {}", ex.status, ex.body_text)))
            }
        }
        Err(e) => Err(Failed(format!("{name}: {e}"))),
    }
}

/// An agent operation at `intended` and the notification that shows it took effect; returns
/// when the notification arrived and when the request was sent.
#[allow(clippy::too_many_arguments, reason = "one call site per operation, each spelled out")]
async fn agent_op(
    ctx: &Ctx,
    agent: &Agent,
    chat: &str,
    name: &str,
    body: &Value,
    intended: Instant,
    mail: &mut Mailbox,
    j: &ChatJourney,
    done_when: impl Fn(&Event) -> bool,
) -> Result<(Instant, Instant), Failed> {
    pause_until(ctx, intended).await;
    let sent = Instant::now();
    operation(ctx, name, intended, sent, agent.session.post(&chat_path(chat), body).await)?;
    let deadline = (sent + j.timeout).min(ctx.hard_stop());
    let seen = mail.wait(deadline, done_when).await.ok_or_else(|| Failed(format!("no notification for {name}")))?;
    let mut m = ctx.lock();
    m.record(names::NOTIFICATION, intended, sent, seen.at);
    m.record(&names::notification_of(name), intended, sent, seen.at);
    Ok((seen.at, sent))
}

/// The customer reads its transcript until the agent's `text` is there; returns when it was.
async fn poll_customer(
    ctx: &Ctx,
    j: &ChatJourney,
    chat: &str,
    text: &str,
    intended: Instant,
    sent: Instant,
    seen_index: &mut u64,
) -> Result<Instant, Failed> {
    let customer = ctx.customer.as_ref().ok_or_else(|| Failed("no customer client".into()))?;
    let deadline = (sent + j.timeout).min(ctx.hard_stop());
    loop {
        let asked = Instant::now();
        let ex =
            operation(ctx, "CustomerGetMessages", asked, asked, customer.messages(chat, Some(*seen_index + 1)).await)?;
        let messages = ex.json.as_ref().and_then(|b| b.get("messages")).and_then(Value::as_array);
        let mut found = false;
        for m in messages.into_iter().flatten() {
            if let Some(i) = m.get("index").and_then(Value::as_u64) {
                *seen_index = (*seen_index).max(i);
            }
            found |= m.get("text").and_then(Value::as_str) == Some(text);
        }
        let now = Instant::now();
        if found {
            ctx.lock().record(names::DELIVERY_AGENT_TO_CUSTOMER, intended, sent, now);
            return Ok(now);
        }
        if now >= deadline {
            return Err(Failed("the customer did not get the agent's message".into()));
        }
        tokio::time::sleep_until((now + j.poll_interval).min(deadline).into()).await;
    }
}
