//! The agents and customers of a running scenario: their HTTP sessions, CometD clients and
//! notification inboxes, created on first use and torn down at the end of the scenario.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::inbox::{Inbox, StepCursor};
use super::result::{Abort, Check, Counts, StepResult};
use super::validate::check_exchange;
use super::{Credentials, RunConfig};
use crate::api;
use crate::client::{AgentSession, BayeuxClient, BayeuxOptions, CustomerClient, Exchange, TransportError};
use crate::contract::observe::Observer;
use crate::contract::rules;
use crate::scenario::{Scenario, Span};

pub struct Agent {
    pub session: AgentSession,
    pub inbox: Arc<Inbox>,
    pub bayeux: Option<BayeuxClient>,
    pump: Option<tokio::task::JoinHandle<()>>,
    pub logged_in: bool,
}

pub struct Customer {
    pub client: CustomerClient,
    /// Chats this customer requested (customer-side ids), completed at teardown.
    pub chats: Vec<String>,
    /// What the customer has read of each chat, merged page after page.
    transcripts: HashMap<String, super::Transcript>,
}

impl Customer {
    /// What this customer has read of `chat` so far.
    pub fn transcript(&mut self, chat: &str) -> &mut super::Transcript {
        self.transcripts.entry(chat.to_owned()).or_default()
    }
}

pub struct Actors {
    /// Where the scenario's name is: the teardown's place in reports.
    span: Span,
    /// The step running now, for what the agents' inboxes find between steps.
    pub cursor: Arc<StepCursor>,
    /// The stateful contract rules, fed by the steps and the agents' notification pumps.
    pub observer: Arc<std::sync::Mutex<Observer>>,
    creds: HashMap<String, Credentials>,
    pub agents: HashMap<String, Agent>,
    pub customers: HashMap<String, Customer>,
    /// Roles in order of first use, so teardown is deterministic.
    order: Vec<String>,
}

/// What an action produced: checks, counts, and the last exchange.
#[derive(Default)]
pub struct Sink {
    pub checks: Vec<Check>,
    pub counts: Counts,
    /// Failed checks an inbox counted but did not keep.
    pub suppressed: std::collections::BTreeMap<&'static str, super::result::Suppressed>,
}

impl Sink {
    /// Record an exchange: validate it by the automatic rules.
    pub fn record(&mut self, reg: &crate::contract::schema::SchemaRegistry, ex: &Exchange) {
        check_exchange(reg, ex, &mut self.counts, &mut self.checks);
    }
}

impl Actors {
    pub fn new(sc: &Scenario, cfg: &RunConfig) -> Actors {
        let creds = sc.agents.iter().cloned().zip(cfg.target.agents.iter().cloned()).collect();
        Actors {
            span: sc.span.clone(),
            cursor: Arc::default(),
            observer: Arc::new(std::sync::Mutex::new(Observer::new(crate::scenario::DEFAULT_WITHIN))),
            creds,
            agents: HashMap::new(),
            customers: HashMap::new(),
            order: Vec::new(),
        }
    }

    pub fn agent(&mut self, role: &str, cfg: &RunConfig) -> Result<&mut Agent, TransportError> {
        if !self.agents.contains_key(role) {
            let cred = self
                .creds
                .get(role)
                .cloned()
                .unwrap_or(Credentials { username: String::new(), password: String::new() });
            let session = AgentSession::new(&cfg.target.base_url, &cred.username, &cred.password, &cfg.client)?;
            self.agents.insert(
                role.to_owned(),
                Agent {
                    session,
                    inbox: Arc::new(Inbox::new(Arc::clone(&self.cursor))),
                    bayeux: None,
                    pump: None,
                    logged_in: false,
                },
            );
            self.order.push(role.to_owned());
        }
        Ok(self.agents.get_mut(role).expect("inserted just above"))
    }

    pub fn customer(&mut self, role: &str, cfg: &RunConfig) -> Result<&mut Customer, TransportError> {
        if !self.customers.contains_key(role) {
            let client = CustomerClient::new(&cfg.target.base_url, &cfg.target.contact_center_id, &cfg.client)?;
            self.customers.insert(role.to_owned(), Customer { client, chats: Vec::new(), transcripts: HashMap::new() });
            self.order.push(role.to_owned());
        }
        Ok(self.customers.get_mut(role).expect("inserted just above"))
    }

    /// GET /api/v2/me, CometD handshake and subscribe, StartContactCenterSession, Ready.
    /// Returns the /me exchange, or an abort when the target refuses the agent.
    pub async fn login(
        &mut self,
        role: &str,
        ready: bool,
        subscriptions: &[String],
        cfg: &RunConfig,
        sink: &mut Sink,
    ) -> Result<Option<Exchange>, Abort> {
        let could_not = |message: String| Abort { could_not_run: true, message };
        let observer = Some((Arc::clone(&self.observer), role.to_owned()));
        let agent = self.agent(role, cfg).map_err(|e| could_not(format!("agent {role}: {e}")))?;
        let me = agent
            .session
            .get("/api/v2/me")
            .await
            .map_err(|e| could_not(format!("agent {role} cannot reach the target: {e}")))?;
        sink.record(&cfg.schemas, &me);
        if me.status != 200 || status_code(&me) != Some(api::status::SUCCESS) {
            return Err(could_not(format!(
                "agent {role} ({}) was refused: HTTP {} {}",
                agent.session.username(),
                me.status,
                super::validate::snippet(&me.body_text)
            )));
        }
        let opts = BayeuxOptions {
            subscriptions: subscriptions.to_vec(),
            client: cfg.client.clone(),
            ..BayeuxOptions::default()
        };
        let (bayeux, rx) = BayeuxClient::start(&agent.session, opts)
            .await
            .map_err(|e| could_not(format!("agent {role}: CometD handshake/subscribe failed: {e}")))?;
        agent.pump = Some(agent.inbox.spawn_pump(Arc::clone(&cfg.schemas), rx, observer));
        agent.bayeux = Some(bayeux);
        let start = json!({"operationName": "StartContactCenterSession", "channels": ["chat"]});
        session_op(agent, "/api/v2/me", &start, "StartContactCenterSession", cfg, sink).await;
        if ready {
            session_op(agent, "/api/v2/me/channels/chat", &json!({"operationName": "Ready"}), "Ready", cfg, sink).await;
        }
        agent.logged_in = true;
        Ok(Some(me))
    }

    /// NotReady, EndContactCenterSession, CometD disconnect.
    pub async fn logout(&mut self, role: &str, cfg: &RunConfig, sink: &mut Sink) {
        let Some(agent) = self.agents.get_mut(role) else { return };
        if agent.logged_in {
            session_op(agent, "/api/v2/me/channels/chat", &json!({"operationName": "NotReady"}), "NotReady", cfg, sink)
                .await;
            session_op(
                agent,
                "/api/v2/me",
                &json!({"operationName": "EndContactCenterSession"}),
                "EndContactCenterSession",
                cfg,
                sink,
            )
            .await;
            agent.logged_in = false;
        }
        if let Some(bayeux) = agent.bayeux.take()
            && let Err(e) = bayeux.disconnect().await
        {
            sink.checks.push(Check::fail(
                &rules::PROTOCOL_BAYEUX,
                format!("CometD disconnect of {role}"),
                e.to_string(),
            ));
        }
        if let Some(pump) = agent.pump.take() {
            // The client closed its channel on disconnect; the pump ends with it.
            let _ = tokio::time::timeout(cfg.client.request_timeout, pump).await;
        }
        let (checks, suppressed, counts) = agent.inbox.drain();
        sink.checks.extend(checks);
        sink.counts.add(&counts);
        for (rule, n) in suppressed {
            sink.suppressed.entry(rule).or_default().add(&n);
        }
    }

    /// Bring the target back to where the scenario found it: reject or complete every chat the
    /// agents still hold, complete the customers' chats, log every agent out.
    pub async fn teardown(&mut self, cfg: &RunConfig) -> StepResult {
        let started = Instant::now();
        let mut sink = Sink::default();
        let interrupted = cfg.stop.is_cancelled();
        if !interrupted {
            // What the scenario's operations still wait for gets its deadline, then the
            // transcripts are checked whole; only then is anything closed. An interrupted run
            // judges nothing that did not finish.
            self.settle().await;
            let end = {
                let mut o = self.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                o.finish(Instant::now());
                o.take()
            };
            // Found on the whole of what the scenario saw: no one exchange shows it.
            sink.checks.extend(end.into_iter().map(|v| {
                let mut c = super::step::violation_check(v);
                if c.step.is_none() {
                    c.exchange = Some(super::result::NO_EXCHANGE);
                }
                c
            }));
        }
        // From here on what arrives is the teardown's own doing.
        self.cursor.set(TEARDOWN, &self.span);
        let mut error = None;
        let close = self.close_all(cfg, &mut sink);
        if interrupted {
            // A person waits on it: close what can be closed in a few seconds, say what was not.
            if tokio::time::timeout(TEARDOWN_WHEN_INTERRUPTED, close).await.is_err() {
                error = Some(format!(
                    "teardown cut short after {TEARDOWN_WHEN_INTERRUPTED:?}: the target may still hold this scenario's chats and sessions"
                ));
            }
        } else {
            close.await;
        }
        // Teardown does not assert; only the automatic rules' failures count.
        sink.checks.retain(|c| !c.passed && !c.rule.starts_with("assert."));
        let late = self.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        sink.checks.extend(late.into_iter().map(super::step::violation_check));
        let mut capped = super::result::CappedChecks::default();
        capped.absorb(std::mem::take(&mut sink.checks), std::mem::take(&mut sink.suppressed));
        let (mut checks, suppressed) = capped.take();
        for c in &mut checks {
            c.place(TEARDOWN, &self.span);
        }
        sink.counts.tally(&checks, &suppressed, false);
        sink.checks = checks;
        StepResult {
            name: TEARDOWN.into(),
            kind: TEARDOWN,
            span: self.span.clone(),
            duration: started.elapsed(),
            counts: sink.counts,
            checks: sink.checks,
            error,
            skipped: false,
            skip_reason: None,
            suppressed,
            exchange: None,
            exchanges: cfg.trace.as_ref().map(|t| t.take()).unwrap_or_default(),
        }
    }

    /// Reject or complete every chat the agents hold, complete the customers' chats, log every
    /// agent out.
    async fn close_all(&mut self, cfg: &RunConfig, sink: &mut Sink) {
        for role in self.order.clone() {
            if let Some(agent) = self.agents.get(&role) {
                if agent.logged_in {
                    close_agent_chats(agent, cfg, sink).await;
                }
            } else if let Some(customer) = self.customers.get(&role) {
                for chat in &customer.chats {
                    if let Ok(ex) = customer.client.operation(chat, &json!({"operationName": "Complete"})).await {
                        sink.record(&cfg.schemas, &ex);
                    }
                }
            }
        }
        for role in self.order.clone() {
            if self.agents.contains_key(&role) {
                self.logout(&role, cfg, sink).await;
            }
        }
    }
}

/// The name of the step every scenario ends with: chats closed, agents logged out. It is placed
/// at the scenario's name.
pub const TEARDOWN: &str = "teardown";

/// How long the teardown of an interrupted scenario may take.
pub const TEARDOWN_WHEN_INTERRUPTED: std::time::Duration = std::time::Duration::from_secs(3);

impl Actors {
    /// Wait until nothing is pending in the observer, or its deadlines pass.
    async fn settle(&self) {
        loop {
            let next = {
                let mut o = self.observer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                o.poll(Instant::now());
                if !o.waiting() {
                    return;
                }
                o.next_deadline()
            };
            // Notifications arrive on other tasks; look again soon, never past the deadline.
            let soon = Instant::now() + std::time::Duration::from_millis(20);
            let until = next.map_or(soon, |d| d.min(soon));
            tokio::time::sleep_until(until.into()).await;
        }
    }
}

async fn close_agent_chats(agent: &Agent, cfg: &RunConfig, sink: &mut Sink) {
    let Ok(list) = agent.session.get("/api/v2/me/chats?fields=*").await else { return };
    sink.record(&cfg.schemas, &list);
    let chats = list.json.as_ref().and_then(|b| b.get("chats")).and_then(Value::as_array).cloned().unwrap_or_default();
    for chat in chats {
        let (Some(id), Some(state)) =
            (chat.get("id").and_then(Value::as_str), chat.get("state").and_then(Value::as_str))
        else {
            continue;
        };
        let op = match state {
            "Invited" => "Reject",
            "Chatting" | "LeftChat" => "Complete",
            _ => continue,
        };
        if let Ok(ex) = agent.session.post(&format!("/api/v2/me/chats/{id}"), &json!({"operationName": op})).await {
            sink.record(&cfg.schemas, &ex);
        }
    }
}

async fn session_op(agent: &Agent, path: &str, body: &Value, what: &str, cfg: &RunConfig, sink: &mut Sink) {
    let subject = format!("POST {path} {what}");
    match agent.session.post(path, body).await {
        Ok(ex) => {
            sink.record(&cfg.schemas, &ex);
            let code = status_code(&ex);
            if code == Some(api::status::SUCCESS) {
                sink.checks.push(Check::pass(&rules::ASSERT_SESSION, &subject, format!("{what} accepted")));
            } else {
                sink.checks.push(
                    Check::fail(&rules::ASSERT_SESSION, &subject, format!("{what} was not accepted")).expected_actual(
                        "statusCode 0",
                        format!("HTTP {} {}", ex.status, super::validate::snippet(&ex.body_text)),
                    ),
                );
            }
        }
        Err(e) => sink.checks.push(Check::fail(&rules::TRANSPORT, &subject, e.to_string())),
    }
}

/// The integer `statusCode` of a JSON body.
pub fn status_code(ex: &Exchange) -> Option<i64> {
    ex.json.as_ref()?.get("statusCode")?.as_i64()
}
