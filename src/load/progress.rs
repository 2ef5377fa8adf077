//! Live progress of a load run: on a terminal an indicatif line redrawn twice a second (active
//! work, ops/s, p99 so far, errors, violations, dropped); otherwise a plain line every few
//! seconds, fit for CI logs.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Ctx;

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live line on a terminal, plain lines otherwise.
    Auto,
    Plain,
    Off,
}

/// A running progress display; `finish` stops it.
pub struct Progress {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

pub fn start(ctx: Arc<Ctx>, mode: ProgressMode) -> Option<Progress> {
    let live = match mode {
        ProgressMode::Off => return None,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
        ProgressMode::Plain => false,
    };
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let bar = live.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let every = if live { Duration::from_millis(500) } else { Duration::from_secs(5) };
        let (mut last_ops, mut last_at) = (0u64, Instant::now());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopped.changed() => break,
            }
            let now = Instant::now();
            let (line, ops) = snapshot(&ctx, last_ops, now.duration_since(last_at));
            (last_ops, last_at) = (ops, now);
            match &bar {
                Some(b) => b.set_message(line),
                None => eprintln!("chatprobe load: {line}"),
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    });
    Some(Progress { stop, task })
}

impl Progress {
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// One progress line and the operation count it was computed from.
fn snapshot(ctx: &Ctx, last_ops: u64, over: Duration) -> (String, u64) {
    let active = ctx.active();
    let elapsed = ctx.elapsed().as_secs();
    let m = ctx.lock();
    let ops = m.counts.ops;
    let rate = (ops - last_ops.min(ops)) as f64 / over.as_secs_f64().max(1e-3);
    let p99 = m.quantile(ctx.primary(), 0.99).map_or_else(|| "-".to_owned(), |us| format!("{:.1}ms", us as f64 / 1e3));
    let line = format!(
        "{elapsed}s active {active} | {rate:.0} ops/s | p99({}) {p99} | errors {} | violations {} | dropped {}",
        ctx.primary(),
        m.counts.errors,
        m.counts.violations,
        m.counts.dropped
    );
    // The last whole second: saturation shows as it happens, not only in the report.
    let last = m.timeline.len().checked_sub(2).and_then(|i| m.timeline.get(i));
    let line = if last.is_some_and(super::saturation::saturated) {
        format!("{line} | HARNESS SATURATED (latencies include client queueing)")
    } else {
        line
    };
    (line, ops)
}
