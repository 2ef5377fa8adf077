//! Running one step: perform its action (`action/`), then check its expectations — documented
//! ones at the severity their source earns, profile ones as observations — apply its captures,
//! and judge its guard (whether the steps after it may run).

use std::time::Instant;

use serde_json::Value;

use super::RunConfig;
use super::action::{self, StepError};
use super::actors::{Actors, Sink};
use super::expect::{apply_captures, file_checks, guard_check, notification_checks, refused_checks, response_checks};
use super::result::{Abort, CappedChecks, Check, StepResult};
use crate::scenario::vars::Vars;
use crate::scenario::{Action, Step, Via};

/// A step that did not run, and why.
pub fn skipped(st: &Step, reason: String) -> StepResult {
    StepResult {
        name: st.name.clone(),
        kind: st.action.kind(),
        span: st.span.clone(),
        duration: Default::default(),
        counts: Default::default(),
        checks: Vec::new(),
        error: None,
        skipped: true,
        skip_reason: Some(reason),
        suppressed: Default::default(),
        exchange: None,
        exchanges: Vec::new(),
    }
}

/// A stateful rule's violation as a failed check, placed at the step that caused it.
pub fn violation_check(v: crate::contract::observe::Violation) -> Check {
    let (span, step, message) = match &v.origin {
        Some(o) => (o.span.clone(), Some(o.step.clone()), format!("{} (from step `{}`)", v.message, o.step)),
        None => (None, None, v.message),
    };
    let mut c = Check::fail(v.rule, v.subject, message).at(span).expected_actual(v.expected, v.actual);
    c.step = step;
    c
}

/// A step that ran, and what it means for the steps after it.
pub struct Ran {
    pub result: StepResult,
    /// The target cannot be used any more.
    pub abort: Option<Abort>,
    /// The step has a guard and it was not met (or the step did not get to produce anything to
    /// judge it on): the steps after it rest on it and are skipped.
    pub guard_unmet: bool,
}

pub async fn run(st: &Step, actors: &mut Actors, vars: &mut Vars, cfg: &RunConfig) -> Ran {
    let started = Instant::now();
    let mut sink = Sink::default();
    let mut error = None;
    let mut abort = None;
    let mut skip = None;
    let mut guard_held = false;
    let mut main_exchange = None;

    // The agent whose notifications this step watches, and where "after the action" starts.
    let watcher = match &st.action {
        Action::Operation { agent, .. } | Action::WaitFor { agent, .. } => Some(agent.clone()),
        Action::Http { via: Via::Agent(a), .. } | Action::Download { via: Via::Agent(a), .. } => Some(a.clone()),
        Action::Upload { agent, .. } => Some(agent.clone()),
        _ => st.watch_agent.clone(),
    };
    let floor = watcher.as_ref().and_then(|a| actors.agents.get(a)).map_or(0, |a| a.inbox.mark());
    actors.cursor.set(&st.name, &st.span);

    match action::act(st, actors, vars, cfg, &mut sink).await {
        Ok(Some(mut out)) => {
            if let Some(ex) = &out.exchange {
                main_exchange = Some(ex.id);
                let body = out.context.get("body");
                for block in [&st.expect, &st.profile].into_iter().flatten() {
                    response_checks(block, ex, body, &out.subject, vars, &mut sink.checks);
                    file_checks(block, out.context.get("file"), &out.subject, vars, &mut sink.checks);
                }
                if let Some(expect) = &st.expect
                    && expect.refused.is_some()
                {
                    let inbox = watcher.as_ref().and_then(|a| actors.agents.get(a)).map(|a| a.inbox.as_ref());
                    refused_checks(expect, ex, inbox, floor, &out.subject, &mut sink.checks).await;
                }
            }
            let wait = match &st.action {
                Action::WaitFor { wait, .. } => Some(wait),
                _ => st.notifications.as_ref(),
            };
            if let (Some(wait), Some(role)) = (wait, &watcher) {
                if let Some(agent) = actors.agents.get(role) {
                    let floor = if matches!(st.action, Action::WaitFor { .. }) { 0 } else { floor };
                    let matched = notification_checks(&agent.inbox, wait, floor, role, vars, &mut sink.checks).await;
                    if let Value::Object(cx) = &mut out.context {
                        cx.insert("notification".into(), matched.first().cloned().unwrap_or(Value::Null));
                        cx.insert("notifications".into(), Value::Array(matched));
                    }
                } else {
                    error = Some(format!("agent `{role}` has not logged in: it receives no notifications"));
                }
            }
            if error.is_none() {
                apply_captures(&st.captures, &out.context, &out.subject, vars, &mut sink.checks);
                if let Some(guard) = &st.guard {
                    guard_held = guard_check(guard, &out.context, &out.subject, vars, &mut sink.checks);
                }
            }
        }
        Ok(None) => {}
        Err(StepError::Failed(message)) => error = Some(message),
        Err(StepError::Skip(reason)) => skip = Some(reason),
        Err(StepError::Abort(a)) => {
            error = Some(a.message.clone());
            abort = Some(a);
        }
    }

    // Stateful rules: what broke during the step, or whose deadline passed by now.
    let violations = {
        let mut o = actors.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        o.poll(std::time::Instant::now());
        o.take()
    };
    sink.checks.extend(violations.into_iter().map(violation_check));

    // Whatever the agents' CometD clients saw during the step is this step's; past a few of
    // each rule, failed checks are counted, not kept.
    let mut capped = CappedChecks::default();
    capped.absorb(std::mem::take(&mut sink.checks), std::mem::take(&mut sink.suppressed));
    for agent in actors.agents.values() {
        let (checks, suppressed, counts) = agent.inbox.drain();
        capped.absorb(checks, suppressed);
        sink.counts.add(&counts);
    }
    let (mut checks, suppressed) = capped.take();
    for c in checks.iter_mut() {
        c.place(&st.name, &st.span);
    }
    sink.counts.tally(&checks, &suppressed, error.is_some());
    let result = StepResult {
        name: st.name.clone(),
        kind: st.action.kind(),
        span: st.span.clone(),
        duration: started.elapsed(),
        counts: sink.counts,
        checks,
        error,
        skipped: skip.is_some(),
        skip_reason: skip.map(|r| format!("skipped: {r}")),
        suppressed,
        exchange: main_exchange,
        exchanges: cfg.trace.as_ref().map(|t| t.take()).unwrap_or_default(),
    };
    Ran { result, abort, guard_unmet: st.guard.is_some() && !guard_held }
}
