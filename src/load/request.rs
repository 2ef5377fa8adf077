//! The request journey: one prepared request sent over a worker's own keep-alive connection as
//! fast as the profile allows, every answer validated. Workers record into their own metrics and
//! fold them into the shared ones every few hundred milliseconds, so the hot loop takes no lock.

use std::time::{Duration, Instant};

use super::Ctx;
use super::check;
use super::http::{Conn, Prepared};
use super::metrics::Metrics;

/// How often a worker folds its own metrics into the shared ones.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// What one worker keeps between requests.
pub struct Worker {
    conn: Option<Conn>,
    local: Metrics,
    flushed: Instant,
}

impl Worker {
    pub fn new(ctx: &Ctx) -> Worker {
        Worker { conn: None, local: ctx.lock().local(), flushed: Instant::now() }
    }

    pub fn flush(&mut self, ctx: &Ctx) {
        ctx.lock().absorb(&mut self.local);
        self.flushed = Instant::now();
    }

    /// Send the request once, meant at `intended`.
    pub async fn once(&mut self, ctx: &Ctx, req: &Prepared, intended: Instant) {
        let sent = Instant::now();
        // Every request has a deadline: its own timeout, and never past the end of the drain.
        let deadline = (sent + ctx.request_timeout).min(ctx.hard_stop());
        let result = match tokio::time::timeout_at(deadline.into(), self.send(ctx, req)).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {:?}", deadline.saturating_duration_since(sent)),
            )),
        };
        let done = Instant::now();
        match result {
            Ok(()) => self.local.record(&ctx.request_name, intended, sent, done),
            Err(e) => {
                self.conn = None;
                self.local.error(done, || format!("{} {}: {e}", req.method, req.path));
            }
        }
        if done.duration_since(self.flushed) >= FLUSH_EVERY {
            self.flush(ctx);
        }
    }

    async fn send(&mut self, ctx: &Ctx, req: &Prepared) -> std::io::Result<()> {
        if let (Some(raw), Some(client)) = (&ctx.general, &ctx.customer) {
            let ex = client.request(raw.clone()).await.map_err(|e| std::io::Error::other(e.to_string()))?;
            check::exchange(&ctx.reg, &ex).record(&mut self.local);
            let status = ex.status;
            return if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(std::io::Error::other(format!("HTTP {status}")))
            };
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let addr =
                    ctx.addr.ok_or_else(|| std::io::Error::other("the request journey needs an http:// target"))?;
                self.conn.insert(Conn::connect(addr).await?)
            }
        };
        let resp = conn.send(req).await?;
        let ct = resp.content_type.as_ref().map(|r| conn.bytes(r));
        let local = &mut self.local;
        check::raw(&ctx.reg, &req.method, &req.path, ct, conn.bytes(&resp.body), |t, _| t.record(local));
        let status = resp.status;
        if conn.closing() {
            self.conn = None;
        }
        if (200..300).contains(&status) { Ok(()) } else { Err(std::io::Error::other(format!("HTTP {status}"))) }
    }
}
