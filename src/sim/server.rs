//! The HTTP surface: the router over every simulated endpoint, and `start`, which serves it on a
//! socket until shut down.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Sim, SimConfig, SimHandle, agent, cometd, customer, downloads, rewrite, uploads};
use crate::api;

/// How long shutdown waits for open connections to finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// By default a connection must send a request's whole header within this time, and an idle keep-alive
/// connection is closed after it: a client that opens connections and sends nothing, or a byte
/// at a time, holds a socket no longer than this. (A held CometD connect is a request being
/// answered, not an idle connection.)
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The diagnostics path that serves the simulator's latitude choices as JSON.
pub const LATITUDES_PATH: &str = "/chatprobe/latitudes";

/// `GET /chatprobe/latitudes`: latitude name → alternative taken, so a run can be reproduced.
async fn latitudes(axum::extract::State(sim): axum::extract::State<Arc<Sim>>) -> axum::Json<serde_json::Value> {
    axum::Json(sim.config.latitudes.to_json())
}

/// The simulator as an axum Router, and a handle on its state.
pub fn app(config: SimConfig) -> (Router, SimHandle) {
    let sim = Sim::new(config);
    let notifications = format!("{}/{{*rest}}", api::NOTIFICATIONS_PATH);
    let router = Router::new()
        .route("/api/v2/diagnostics/version", get(agent::version))
        .route("/api/v2/me", get(agent::me).post(agent::me_operation))
        .route("/api/v2/me/channels", get(agent::channels))
        .route("/api/v2/me/channels/{channel}", post(agent::channel_operation))
        .route("/api/v2/me/chats", get(agent::chats))
        .route("/api/v2/me/chats/{id}", post(agent::chat_operation))
        .route("/api/v2/me/chats/{id}/messages", get(agent::messages))
        // Uploads are streamed to disk and limited by `max_upload` as they arrive, not by the
        // body limit meant for JSON requests.
        .route("/api/v2/me/chats/{id}/attachments", post(uploads::add_new_document).layer(DefaultBodyLimit::disable()))
        .route("/api/v2/chats/{id}/attachments/{document}", get(downloads::chat_attachment))
        .route("/api/v2/attachments/{document}", get(downloads::attachment))
        .route("/api/v2/chats", post(customer::request_chat))
        .route("/api/v2/chats/", post(customer::request_chat))
        .route("/api/v2/chats/{id}", get(customer::chat).post(customer::operation))
        .route("/api/v2/chats/{id}/messages", get(customer::messages))
        .route(LATITUDES_PATH, get(latitudes))
        .route(api::NOTIFICATIONS_PATH, post(cometd::notifications))
        .route(&format!("{}/", api::NOTIFICATIONS_PATH), post(cometd::notifications))
        .route(&notifications, post(cometd::notifications))
        .merge(super::tegsoft::router(Arc::clone(&sim)))
        .fallback(agent::not_found)
        .with_state(Arc::clone(&sim));
    let router = if sim.config.behind_tls {
        router.layer(axum::middleware::map_request(|mut request: axum::extract::Request| async move {
            request.headers_mut().insert("x-forwarded-proto", axum::http::HeaderValue::from_static("https"));
            request
        }))
    } else {
        router
    };
    let router = if sim.config.work.is_zero() {
        router
    } else {
        router.layer(axum::middleware::from_fn_with_state(sim.config.work, super::slow::work))
    };
    let router = if rewrite::needed(&sim.config) {
        router.layer(axum::middleware::from_fn_with_state(Arc::clone(&sim), rewrite::layer))
    } else {
        router
    };
    (router, SimHandle { sim })
}

/// A simulator serving on a socket.
#[derive(Debug)]
pub struct RunningSim {
    pub addr: SocketAddr,
    pub handle: SimHandle,
    /// Dropping it (with the RunningSim) also starts the graceful shutdown.
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

/// Bind `addr` (port 0 picks a free one) and serve the simulator there.
pub async fn start(config: SimConfig, addr: SocketAddr) -> io::Result<RunningSim> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let mut config = config;
    config.tegsoft.own_origin = Some(own_origin(addr));
    let header_read_timeout = config.header_read_timeout;
    let (router, handle) = app(config);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, header_read_timeout, stopped));
    Ok(RunningSim { addr, handle, stop: Some(stop), task: Some(task) })
}

/// `http://IP:PORT` as the simulator's own URLs name it; an unspecified bind address is reached
/// through loopback.
fn own_origin(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Accept connections until `stopped` (or its sender is dropped), each served by hyper with the
/// header-read timeout; then wait for the open ones to finish their requests.
async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    mut stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).keep_alive(true);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, or a connection reset before it was accepted: go on
                // after a pause rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = watched.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

impl RunningSim {
    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer held connects, stop accepting, wait (bounded) for open requests to finish, and
    /// delete the uploaded documents.
    pub async fn shutdown(mut self) {
        self.handle.begin_shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
            // An abort takes effect at the task's next poll: let it end before the uploads go.
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        self.handle.remove_uploads();
    }
}

impl Drop for RunningSim {
    /// A simulator dropped without `shutdown` still answers its held connects and stops.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            self.handle.begin_shutdown();
            let _ = stop.send(());
        }
    }
}
