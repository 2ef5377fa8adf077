//! Scenario files: the model of a scenario (named steps, variables, captures, expectations on
//! responses and notifications), its parser with line/column spans, the matchers and variable
//! interpolation. No tokio, no HTTP.

pub mod coverage;
pub mod diag;
pub mod matcher;
pub mod parse;
mod raw;
pub mod vars;

use std::time::Duration;

use serde_json::Value;

pub use diag::{Diagnostic, Span};
pub use parse::{parse_file, parse_str};

/// Deadline for notification expectations that do not give `within`.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(5);

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
    pub steps: Vec<Step>,
}

/// One named step: an action, then checks on what it produced.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub span: Span,
    pub action: Action,
    pub expect: Option<ResponseExpect>,
    pub notifications: Option<NotificationExpect>,
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
}

/// Checks on an HTTP response.
#[derive(Debug, Clone, Default)]
pub struct ResponseExpect {
    pub status: Option<(u16, Span)>,
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
}
