//! A load-test hook in front of the embedded simulator: the simulator's router served behind a
//! gate that can hold every new request for a while, as a server pausing (a GC, a failover)
//! would. The stall test of the benchmark uses it to check that corrected latencies see the
//! pause and uncorrected ones hide it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::sim::{self, SimConfig, SimHandle};

/// How long shutdown waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A pause: `duration` long, starting `at` after the load starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub at: Duration,
    pub duration: Duration,
}

/// Pauses the simulator it came from.
#[derive(Clone, Debug)]
pub struct Pauser(watch::Sender<bool>);

impl Pauser {
    /// Hold every new request for `duration` (in a task; returns at once).
    pub fn pause(&self, duration: Duration) {
        let gate = self.0.clone();
        gate.send_replace(true);
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            gate.send_replace(false);
        });
    }
}

/// The embedded simulator, served behind the gate.
pub struct Embedded {
    pub addr: SocketAddr,
    pub handle: SimHandle,
    gate: watch::Sender<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

async fn gate(State(paused): State<watch::Receiver<bool>>, req: Request, next: Next) -> Response {
    let mut paused = paused;
    // A dropped sender means the server is going away: serve what is left.
    let _ = paused.wait_for(|p| !*p).await;
    next.run(req).await
}

/// Serve a simulator on a loopback port (0 picks one).
pub async fn start(config: SimConfig) -> io::Result<Embedded> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let (router, handle) = sim::app(config);
    let (gate_tx, gate_rx) = watch::channel(false);
    let router = router.layer(middleware::from_fn_with_state(gate_rx, gate));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(async move { server.await });
    Ok(Embedded { addr, handle, gate: gate_tx, stop: Some(stop), task: Some(task) })
}

impl Embedded {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A handle that pauses this simulator.
    pub fn pauser(&self) -> Pauser {
        Pauser(self.gate.clone())
    }

    /// Stop serving and wait (bounded) for open requests.
    pub async fn shutdown(mut self) {
        self.gate.send_replace(false);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}
