//! What `run` shows while scenarios run: each scenario's verdict and failures as soon as it
//! finishes, and on a terminal a live line (done/total, failures so far, elapsed) below them.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::output;
use crate::client::secrets::Redactor;
use crate::report;
use crate::runner::{ScenarioResult, Verdict};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A live line on a terminal, plain lines otherwise.
    Auto,
    Plain,
    Off,
}

impl Mode {
    pub fn parse(s: &str) -> Mode {
        match s {
            "plain" => Mode::Plain,
            "off" => Mode::Off,
            _ => Mode::Auto,
        }
    }
}

/// Streams scenario results as they finish.
pub struct Stream<'a> {
    bar: Option<indicatif::ProgressBar>,
    done: AtomicUsize,
    failed: AtomicUsize,
    strict: bool,
    quiet: bool,
    sources: &'a HashMap<String, String>,
    /// Secrets known so far; built afresh at each scenario (the run keeps learning them).
    redactor: Box<dyn Fn() -> Redactor + Sync + 'a>,
}

impl<'a> Stream<'a> {
    pub fn new(
        mode: Mode,
        total: usize,
        strict: bool,
        quiet: bool,
        sources: &'a HashMap<String, String>,
        redactor: impl Fn() -> Redactor + Sync + 'a,
    ) -> Stream<'a> {
        let live = mode == Mode::Auto && std::io::stderr().is_terminal();
        let bar = live.then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} scenarios, {msg}, {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message("0 failed");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Stream {
            bar,
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            strict,
            quiet: quiet || mode == Mode::Off,
            sources,
            redactor: Box::new(redactor),
        }
    }

    /// A scenario finished: print its verdict and failures, move the live line on.
    pub fn finished(&self, result: &ScenarioResult) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let verdict = result.judge(self.strict);
        let failed = self.failed.fetch_add(usize::from(verdict == Verdict::Fail), Ordering::Relaxed)
            + usize::from(verdict == Verdict::Fail);
        if !self.quiet {
            let mut shown = result.clone();
            let redactor = (self.redactor)();
            for st in &mut shown.steps {
                for c in &mut st.checks {
                    redactor.scrub(&mut c.message);
                    redactor.scrub(&mut c.subject);
                    for t in [&mut c.expected, &mut c.actual].into_iter().flatten() {
                        redactor.scrub(t);
                    }
                }
                for t in [&mut st.error, &mut st.skip_reason].into_iter().flatten() {
                    redactor.scrub(t);
                }
            }
            let mut text = Vec::new();
            // Writing into a Vec cannot fail.
            let _ = report::console::scenario(&shown, self.strict, self.sources, &mut text);
            let text = String::from_utf8_lossy(&text);
            match &self.bar {
                Some(bar) => bar.suspend(|| output::print(&text)),
                None => output::print(&text),
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(format!("{failed} failed"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
