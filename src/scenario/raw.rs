//! The scenario file as written, deserialized with spans. `parse` turns it into the checked
//! model; nothing else sees these types.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

pub type Matchers = IndexMap<String, Spanned<Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub vars: IndexMap<String, Spanned<Value>>,
    #[serde(default)]
    pub agents: Vec<Spanned<String>>,
    #[serde(default)]
    pub customers: Vec<Spanned<String>>,
    /// Default source of every expectation in the file.
    pub source: Option<Spanned<String>>,
    /// No failure skips the steps after it.
    #[serde(default)]
    pub continue_on_failure: bool,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    pub steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: Option<Spanned<String>>,
    pub agent: Option<Spanned<String>>,
    pub customer: Option<Spanned<String>>,
    pub chat: Option<Spanned<String>>,
    pub params: Option<Spanned<Value>>,
    pub ready: Option<Spanned<bool>>,
    pub subscribe: Option<Spanned<Vec<String>>>,

    pub login: Option<Spanned<String>>,
    pub logout: Option<Spanned<String>>,
    pub operation: Option<Spanned<String>>,
    pub request_chat: Option<Spanned<Value>>,
    pub customer_operation: Option<Spanned<String>>,
    pub http: Option<Spanned<RawHttp>>,
    pub wait_for: Option<Spanned<RawWait>>,
    pub upload: Option<Spanned<RawUpload>>,
    pub download: Option<Spanned<String>>,
    pub read_transcript: Option<Spanned<RawTranscript>>,

    /// Default source of the step's expectations.
    pub source: Option<Spanned<String>>,
    pub continue_on_failure: Option<Spanned<bool>>,
    /// What the steps after this one rest on: unmet, they are skipped.
    pub guard: Option<Spanned<Matchers>>,
    pub expect: Option<Spanned<RawExpect>>,
    pub profile: Option<Spanned<RawExpect>>,
    pub notifications: Option<Spanned<RawWait>>,
    #[serde(default)]
    pub capture: IndexMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub method: Option<Spanned<String>>,
    pub path: Spanned<String>,
    pub body: Option<Value>,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    pub auth: Option<bool>,
    pub csrf: Option<bool>,
    /// The documented request shape the body must have (a schema name).
    pub schema: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// In `expect`: the evidence.
    pub source: Option<Spanned<String>>,
    /// In `profile`: why this is a profile choice.
    pub why: Option<Spanned<String>>,
    /// A number, or a string that is one `${variable}` holding one.
    pub status: Option<Spanned<Value>>,
    pub refused: Option<Spanned<Vec<i64>>>,
    pub body: Option<Matchers>,
    pub headers: Option<Matchers>,
    pub file: Option<Matchers>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpload {
    /// Path of a file, relative to the scenario file.
    pub file: Option<Spanned<String>>,
    pub generate: Option<Spanned<RawGenerate>>,
    /// Where to POST (default `/api/v2/me/chats/{chat}/attachments`).
    pub path: Option<Spanned<String>>,
    pub field: Option<String>,
    pub name: Option<String>,
    pub mime: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGenerate {
    /// Bytes: a number, or a string such as `20MB`, `512KiB`.
    pub size: Spanned<Value>,
    pub seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTranscript {
    /// The customer-side chat id.
    pub chat: Spanned<String>,
    pub until: Option<Spanned<Value>>,
    pub within: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWait {
    pub source: Option<Spanned<String>>,
    pub within: Option<Spanned<String>>,
    pub order: Option<Spanned<String>>,
    pub channel: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub single: Option<Spanned<Matchers>>,
    pub expect: Option<Vec<Spanned<Matchers>>>,
}
