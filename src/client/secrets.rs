//! Secrets a run handles, so that no report shows them: what identifies a session on the wire
//! (cookie values, CSRF tokens) is noted as the clients receive it, and the credentials the run
//! was given are added when the reports are written. [`Redactor`] then replaces every occurrence
//! in any text a report carries.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;

use super::exchange::Exchange;
use crate::api;

/// What replaces a secret in reports.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not treated as secrets: redacting them would garble ordinary text.
const MIN_SECRET: usize = 4;

/// Secrets seen on the wire during a run, shared by every client of the run.
#[derive(Clone, Debug, Default)]
pub struct SecretLog(Arc<Mutex<BTreeSet<String>>>);

impl SecretLog {
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() >= MIN_SECRET {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(secret.to_owned());
        }
    }

    /// Note the cookie values and CSRF tokens an answer hands out.
    pub fn record(&self, ex: &Exchange) {
        let token_header = ex.header(api::CSRF_HEADER_NAME).unwrap_or(api::CSRF_TOKEN_HEADER).to_ascii_lowercase();
        for (name, value) in &ex.headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or("");
                if let Some((_, v)) = pair.split_once('=') {
                    self.add(v);
                }
            } else if *name == token_header || name == &api::CSRF_TOKEN_HEADER.to_ascii_lowercase() {
                self.add(value);
            }
        }
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }
}

/// Replaces known secrets in text.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// From the wire's secrets and the agent credentials: each password, each `user:password`
    /// and its Basic encoding.
    pub fn new<'a>(log: &SecretLog, credentials: impl IntoIterator<Item = (&'a str, &'a str)>) -> Redactor {
        let mut all: BTreeSet<String> = log.snapshot().into_iter().collect();
        for (user, password) in credentials {
            let pair = format!("{user}:{password}");
            all.insert(base64::engine::general_purpose::STANDARD.encode(&pair));
            all.insert(pair);
            all.insert(password.to_owned());
        }
        let mut secrets: Vec<String> = all.into_iter().filter(|s| s.len() >= MIN_SECRET).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        Redactor { secrets }
    }

    /// Add one more secret (a password in a URL's userinfo, say).
    pub fn also(mut self, secret: &str) -> Redactor {
        if secret.len() >= MIN_SECRET && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            self.secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }
        self
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// Redact in place.
    pub fn scrub(&self, text: &mut String) {
        if self.secrets.iter().any(|s| text.contains(s.as_str())) {
            *text = self.redact(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_their_basic_form_and_logged_values_are_replaced() {
        let log = SecretLog::default();
        log.add("9f2c-token-77");
        log.add("ab"); // too short to be told from ordinary text
        let r = Redactor::new(&log, [("agent1", "s3cr3t")]);
        let basic = base64::engine::general_purpose::STANDARD.encode("agent1:s3cr3t");
        let text = format!("Authorization: Basic {basic}; pw=s3cr3t; token 9f2c-token-77; ab");
        assert_eq!(r.redact(&text), "Authorization: Basic [redacted]; pw=[redacted]; token [redacted]; ab");
        assert_eq!(r.also("hunter22").redact("user:hunter22@h"), "user:[redacted]@h");
    }
}
