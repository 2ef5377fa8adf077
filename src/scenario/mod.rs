//! Scenario files: the model of a scenario (named steps, variables, captures, expectations on
//! responses and notifications), its parser with line/column spans, the matchers and variable
//! interpolation. No tokio, no HTTP.

pub mod coverage;
pub mod diag;
pub mod matcher;
pub mod parse;
mod raw;
pub mod source;
#[cfg(test)]
mod suite_tests;
pub mod units;
pub mod vars;

use std::time::Duration;

use serde_json::Value;

pub use diag::{Diagnostic, Span};
pub use parse::{parse_file, parse_str};

/// Deadline for notification expectations that do not give `within`.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);

pub use source::DEFAULT_SOURCE;

/// Bayeux channels an agent subscribes to at login unless the step says otherwise.
pub const DEFAULT_SUBSCRIPTIONS: &[&str] = &[crate::api::CHANNEL_CHATS, crate::api::CHANNEL_CHANNELS];

/// A parsed and checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub file: String,
    pub span: Span,
    /// Variables defined up front, in file order (values may reference earlier ones).
    pub vars: Vec<(String, Value)>,
    /// Agent roles in order; the n-th role takes the n-th agent credentials of the target.
    pub agents: Vec<String>,
    pub customers: Vec<String>,
    /// Labels for selecting scenarios (`--tag`, `--skip-tag`).
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
}

/// One named step: an action, then checks on what it produced.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub span: Span,
    pub action: Action,
    /// Documented expectations on the response, each block with its source.
    pub expect: Option<ResponseExpect>,
    /// Profile expectations on the response: observations when broken.
    pub profile: Option<ResponseExpect>,
    pub notifications: Option<NotificationExpect>,
    /// A failure here does not skip the steps after it (scenario- or step-level
    /// `continue_on_failure`).
    pub continue_on_failure: bool,
    /// What the steps after this one rest on (`guard`): unmet, they are skipped, not failed.
    pub guard: Option<Guard>,
    /// The agent whose notifications `notifications` watches, when the action is not an agent's.
    pub watch_agent: Option<String>,
    pub captures: Vec<Capture>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// GET /api/v2/me, CometD handshake + subscribe, StartContactCenterSession, chat Ready.
    Login { agent: String, ready: bool, subscriptions: Vec<String> },
    /// NotReady, EndContactCenterSession, CometD disconnect.
    Logout { agent: String },
    /// An agent chat operation: POST /api/v2/me/chats/{chat} with operationName and params.
    Operation { agent: String, chat: String, name: String, params: Value },
    /// Customer RequestChat: POST /api/v2/chats.
    RequestChat { customer: String, body: Value },
    /// A customer chat operation: POST /api/v2/chats/{chat}.
    CustomerOperation { customer: String, chat: String, name: String, params: Value },
    /// Any HTTP request, through an agent's session, a customer's client, or anonymously.
    Http { via: Via, request: HttpSpec },
    /// Wait for notifications delivered to an agent.
    WaitFor { agent: String, wait: NotificationExpect },
    /// Upload a file through an agent's session (multipart, streamed).
    Upload { agent: String, chat: Option<String>, upload: UploadStep },
    /// Download a file (a path under the target or an attachment `uri`) and digest it.
    Download { via: Via, path: String },
    /// Read a customer's transcript page after page (GET /api/v2/chats/{chat}/messages), merging
    /// what each page adds, until it matches `until` or `within` passes.
    ReadTranscript { customer: String, chat: String, until: Option<TranscriptUntil>, within: Duration },
}

/// A step's guard: matchers over what the step produced (`status`, `headers`, `body`, ...).
#[derive(Debug, Clone)]
pub struct Guard {
    pub span: Span,
    pub fields: Vec<Expectation>,
}

/// What a transcript read waits for: a matcher over the merged `messages` array.
#[derive(Debug, Clone)]
pub struct TranscriptUntil {
    pub value: Value,
    pub span: Span,
    /// The evidence: the step's source.
    pub source: String,
}

/// A file to upload.
#[derive(Debug, Clone)]
pub struct UploadStep {
    /// Explicit path, else `/api/v2/me/chats/{chat}/attachments`.
    pub path: Option<String>,
    pub field: String,
    pub name: String,
    pub mime: String,
    pub source: FileSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// Resolved against the scenario file's directory.
    Disk(std::path::PathBuf),
    Generate {
        size: u64,
        seed: u64,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Login { .. } => "login",
            Action::Logout { .. } => "logout",
            Action::Operation { .. } => "operation",
            Action::RequestChat { .. } => "request_chat",
            Action::CustomerOperation { .. } => "customer_operation",
            Action::Http { .. } => "http",
            Action::WaitFor { .. } => "wait_for",
            Action::Upload { .. } => "upload",
            Action::Download { .. } => "download",
            Action::ReadTranscript { .. } => "read_transcript",
        }
    }
}

/// Whose connection a raw HTTP step uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Anonymous,
    Agent(String),
    Customer(String),
}

#[derive(Debug, Clone)]
pub struct HttpSpec {
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// Send the agent's Basic credentials (agent steps only).
    pub auth: bool,
    /// Send the agent's CSRF token (agent steps only).
    pub csrf: bool,
    /// The documented request shape (a schema name) the body must have before it is sent.
    pub schema: Option<String>,
}

/// Checks on an HTTP response.
#[derive(Debug, Clone, Default)]
pub struct ResponseExpect {
    /// The evidence for these checks (a documentation page, or `profile: why`); its severity
    /// follows.
    pub source: String,
    /// An HTTP status, or a `${variable}` holding one (resolved when the step runs).
    pub status: Option<(Value, Span)>,
    /// The request must be refused with one of these statusCodes, or accepted (statusCode 0)
    /// and failed by an `Error` notification to the step's agent.
    pub refused: Option<(Vec<i64>, Span)>,
    pub body: Vec<Expectation>,
    pub headers: Vec<Expectation>,
    /// On the file uploaded or downloaded: `sha256`, `size`, `content_type`.
    pub file: Vec<Expectation>,
}

/// `path: expected` with the place it was written.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub path: String,
    pub value: Value,
    pub span: Span,
}

/// Notifications an agent must receive within a deadline.
#[derive(Debug, Clone)]
pub struct NotificationExpect {
    /// The evidence for these expectations.
    pub source: String,
    pub within: Duration,
    pub ordered: bool,
    pub channel: String,
    pub items: Vec<NotificationMatcher>,
    pub span: Span,
}

/// Fields one notification's `data` must match.
#[derive(Debug, Clone)]
pub struct NotificationMatcher {
    pub span: Span,
    pub fields: Vec<Expectation>,
}

/// `var: path` — store the value at `path` of the step's outcome in `var`.
#[derive(Debug, Clone)]
pub struct Capture {
    pub var: String,
    pub path: String,
    pub span: Span,
    /// The evidence that the value is there: the step's source.
    pub source: String,
}
