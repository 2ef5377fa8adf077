//! The Tegsoft webchat file API ("Webchat File Attachment for API"): the UploadFile and
//! SendMessage web services, which post a text, a file given by its URL, or both into a chat.
//!
//! The vendor documents the request bodies only; the simulator serves whatever
//! [`TegsoftProfile`] it is given for the rest: the services' paths, the sample files' paths, the
//! answers' keys, values and statuses, each refusal's code and status, and whether `fileName` is
//! required (docs/tegsoft.md). Here a `CHATID` is a customer chat id from RequestChat and what is
//! sent speaks as that chat's customer: a text becomes a Text message, a file a `file-uploaded`
//! SystemCommand message with an attachment the customer and the agents download like any GWS
//! upload. Files are fetched by the simulator itself, only from its own sample files and the URL
//! prefixes on `TegsoftConfig::fetch_allow`. The profile's sample paths serve one file of each `fileType` to
//! point `fileUrl` at.

mod fetch;
mod post;
mod reply;
mod request;
mod samples;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post as post_route};

use self::reply::{Accepted, Failure};
use super::Sim;
use super::agent::host;
pub use crate::api::tegsoft::TegsoftProfile;
use crate::api::tegsoft::{FileType, Service};

pub use self::samples::{Sample, sample};

/// The Tegsoft settings: the profile served, and what bounds the simulator's downloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TegsoftConfig {
    /// Paths, answers, codes, statuses, sample files: everything the page leaves open.
    pub profile: TegsoftProfile,
    /// URL prefixes a `fileUrl` may name besides the simulator's own sample files (`--fetch-allow`),
    /// such as `http://127.0.0.1:9000/files/`. Checked on the URL before any lookup or connection.
    pub fetch_allow: Vec<String>,
    /// The simulator's own origin (`http://IP:PORT`), set when it binds: its sample files may be
    /// fetched.
    pub own_origin: Option<String>,
    /// Deadline of one whole download, connection included.
    pub fetch_timeout: Duration,
}

impl Default for TegsoftConfig {
    fn default() -> Self {
        TegsoftConfig {
            profile: TegsoftProfile::default(),
            fetch_allow: Vec::new(),
            own_origin: None,
            fetch_timeout: Duration::from_secs(10),
        }
    }
}

/// What the Tegsoft routes share: the simulator, the download client, the allow-list, the
/// messageId counter.
struct Tegsoft {
    sim: Arc<Sim>,
    /// The simulator's own sample URLs, then the configured prefixes.
    allow: Vec<String>,
    /// Built once; the reason it could not be, otherwise (then every download fails).
    http: Result<reqwest::Client, String>,
    messages: AtomicU64,
}

/// The routes of the profile, merged into the simulator's router. The profile was checked when
/// it was read: its paths are distinct, plain, and outside `/api/v2`, so none clashes with
/// another route.
pub(crate) fn router<S>(sim: Arc<Sim>) -> Router<S> {
    let http = fetch::http_client(sim.config.tegsoft.fetch_timeout);
    let profile = sim.config.tegsoft.profile.clone();
    let mut allow = Vec::new();
    if let Some(origin) = &sim.config.tegsoft.own_origin {
        allow.extend(FileType::ALL.into_iter().map(|t| format!("{origin}{}", profile.samples.get(t).path)));
    }
    allow.extend(sim.config.tegsoft.fetch_allow.iter().cloned());
    let state = Arc::new(Tegsoft { sim, allow, http, messages: AtomicU64::new(0) });
    let mut router = Router::new()
        .route(profile.path(Service::UploadFile), post_route(upload_file))
        .route(profile.path(Service::SendMessage), post_route(send_message));
    for file_type in FileType::ALL {
        router = router.route(&profile.samples.get(file_type).path, get(move || samples::public_file(file_type)));
    }
    router.with_state(state)
}

async fn upload_file(State(t): State<Arc<Tegsoft>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = t.serve(Service::UploadFile, &headers, &body).await;
    reply::respond(&t.sim.config.tegsoft.profile, &result)
}

async fn send_message(State(t): State<Arc<Tegsoft>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = t.serve(Service::SendMessage, &headers, &body).await;
    reply::respond(&t.sim.config.tegsoft.profile, &result)
}

impl Tegsoft {
    /// Check the body, find the chat, download the file if there is one, then post the text and
    /// the file together. Nothing reaches the chat unless everything succeeded.
    async fn serve(&self, service: Service, headers: &HeaderMap, body: &[u8]) -> Result<Accepted, Failure> {
        let request = request::parse(service, body, self.sim.config.tegsoft.profile.requests.file_name_required)?;
        self.sim.with(|st| st.engine.tegsoft_check_chat(&request.chat_id))?;
        let file = match &request.file {
            Some(spec) => Some(self.download(spec).await?),
            None => None,
        };
        let host = host(headers);
        let posted = self.sim.with(|st| st.engine.tegsoft_post(&request, file.as_ref(), &host));
        if posted.is_err()
            && let Some(file) = &file
        {
            file.discard().await;
        }
        let file_id = posted?;
        let n = self.messages.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Accepted { message_id: format!("TM{n:014}"), file_id })
    }

    /// Fetch the file into the simulator's upload directory.
    async fn download(&self, spec: &request::FileSpec) -> Result<post::Received, Failure> {
        let http = self.http.as_ref().map_err(|e| Failure::FetchFailed(format!("cannot download: {e}")))?;
        let config = &self.sim.config;
        let limits =
            fetch::Limits { allow: &self.allow, timeout: config.tegsoft.fetch_timeout, max_bytes: config.max_upload };
        post::receive(&self.sim, http, spec, &limits).await
    }
}
