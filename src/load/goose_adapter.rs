//! The one module that names goose: it turns a load profile into goose users and a goose test
//! plan, started with `GooseAttack::initialize_with_config` so chatprobe owns the command line.
//! goose schedules users (launch, ramp, stop); the work each user does, and every measurement,
//! is chatprobe's own (goose's request machinery and metrics are off: they would be the slow
//! path the request journey exists to avoid).

use std::sync::{Arc, Mutex, PoisonError};

use goose::client::GooseClientBuilder;
use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::prelude::{GooseAttack, GooseUser, Scenario, Transaction, TransactionFunction};

use super::Ctx;
use super::request::Worker;

/// How goose should run the users.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// `users` users started at once, each running one long unit of work (the open model:
    /// workers take arrivals from the schedule until it is exhausted).
    Workers { users: usize },
    /// A goose test plan, "users,seconds;...": each user repeats a unit of work (closed model).
    Steps(String),
}

/// The goose test plan of closed-model stages: each stage moves the number of users linearly
/// to its target over its duration; the plan ends by stopping every user.
pub fn steps(stages: &[super::spec::Stage]) -> String {
    let mut out: Vec<String> = Vec::new();
    for s in stages {
        out.push(format!("{},{}", s.target.round() as usize, s.duration.as_secs_f64().round() as u64));
    }
    out.push("0,0".into());
    out.join(";")
}

/// A user's own state between transactions (goose keeps it; it must be `Clone`).
#[derive(Clone, Default)]
struct Slot(Arc<Mutex<Option<Worker>>>);

/// Run the users; returns when goose has stopped them all.
pub async fn drive(ctx: Arc<Ctx>, plan: Plan) -> Result<(), String> {
    let mut config = GooseConfiguration::default();
    config.host = Some(ctx.base_url.clone());
    config.quiet = 1;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_metrics = true;
    config.no_telnet = true;
    let mut attack = GooseAttack::initialize_with_config(config)
        // Users never send through goose; one shared client instead of one per user, which would
        // load the platform's root certificates ten thousand times.
        .and_then(|a| a.set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies()))
        .map_err(|e| e.to_string())?;
    match &plan {
        Plan::Workers { users } => {
            let users = (*users).max(1);
            attack = *attack.set_default(GooseDefault::Users, users).map_err(|e| e.to_string())?;
            attack = *attack
                .set_default(GooseDefault::IncreaseRate, users.to_string().as_str())
                .map_err(|e| e.to_string())?;
            attack = *attack.set_default(GooseDefault::Iterations, 1usize).map_err(|e| e.to_string())?;
        }
        Plan::Steps(steps) => {
            attack = *attack.set_default(GooseDefault::TestPlan, steps.as_str()).map_err(|e| e.to_string())?;
        }
    }
    let unit: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let ctx = Arc::clone(&ctx);
        Box::pin(async move {
            if user.get_session_data::<Slot>().is_none() {
                user.set_session_data(Slot::default());
            }
            let slot = user.get_session_data::<Slot>().cloned().unwrap_or_default();
            let mut worker = slot.0.lock().unwrap_or_else(PoisonError::into_inner).take();
            super::work(&ctx, &mut worker).await;
            *slot.0.lock().unwrap_or_else(PoisonError::into_inner) = worker;
            Ok(())
        })
    });
    let scenario = Scenario::new("chatprobe").register_transaction(Transaction::new(unit).set_name("unit"));
    let _hush = StdoutHush::new();
    attack.register_scenario(scenario).execute().await.map(|_| ()).map_err(|e| e.to_string())
}

/// Stop goose's users (the graceful stop goose's own Ctrl-C handler would make): closed-model
/// users finish their unit of work and are not started again.
pub fn stop_users() {
    goose::trigger_killswitch("chatprobe was interrupted");
}

/// goose 0.19 installs a Ctrl-C handler (through the `ctrlc` crate) whenever a load starts, and
/// offers no option against it: that handler replaces the process's SIGINT action, so the
/// command line's own handler never hears the signal, and a second Ctrl-C exits 1 with no
/// report. `ctrlc` allows one handler per process: installing ours (which does nothing) first
/// makes goose's attempt fail harmlessly. Call it before the command line registers its own
/// SIGINT handler, which then chains to this one.
pub fn keep_signals_from_goose() {
    // An error means a handler is already set, which is just as good.
    let _ = ctrlc::set_handler(|| {});
}

/// Standard output sent to /dev/null while it lives, restored when dropped. goose prints "N users
/// launched." with `println!` whatever its configuration, and chatprobe's stdout carries only its
/// summary, written after the run; the live progress goes to stderr.
struct StdoutHush {
    saved: Option<std::os::fd::OwnedFd>,
}

impl StdoutHush {
    #[cfg(unix)]
    fn new() -> StdoutHush {
        use std::io::Write as _;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let _ = std::io::stdout().flush();
        let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
            return StdoutHush { saved: None };
        };
        // SAFETY: dup and dup2 on the process's own descriptor 1 and a file we opened; the
        // duplicate is owned by `saved` and closed when it is dropped.
        let saved = unsafe {
            let copy = libc::dup(1);
            if copy < 0 || libc::dup2(null.as_raw_fd(), 1) < 0 {
                if copy >= 0 {
                    libc::close(copy);
                }
                return StdoutHush { saved: None };
            }
            OwnedFd::from_raw_fd(copy)
        };
        StdoutHush { saved: Some(saved) }
    }

    #[cfg(not(unix))]
    fn new() -> StdoutHush {
        StdoutHush { saved: None }
    }
}

impl Drop for StdoutHush {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved.take() {
            use std::io::Write as _;
            use std::os::fd::AsRawFd;
            let _ = std::io::stdout().flush();
            // SAFETY: puts the saved descriptor back as 1; `saved` is closed after.
            unsafe {
                libc::dup2(saved.as_raw_fd(), 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::spec::Stage;
    use std::time::Duration;

    #[test]
    fn stages_become_a_goose_plan() {
        let stages = [
            Stage { target: 10.0, duration: Duration::from_secs(0) },
            Stage { target: 10.0, duration: Duration::from_secs(20) },
            Stage { target: 2.0, duration: Duration::from_millis(4400) },
        ];
        assert_eq!(steps(&stages), "10,0;10,20;2,4;0,0");
    }
}
