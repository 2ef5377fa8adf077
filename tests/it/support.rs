//! What the tests share: a simulator on a free loopback port, an HTTP client with a cookie jar
//! and a deadline, answers read as (status, JSON), and fresh working directories.

use std::path::PathBuf;
use std::time::Duration;

use chatprobe::sim::{self, RunningSim, SimConfig};
use reqwest::{Client, StatusCode};
use serde_json::Value;

pub async fn start(cfg: SimConfig) -> RunningSim {
    sim::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// A client with a cookie jar whose every request ends within `deadline`.
pub fn http(deadline: Duration) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().cookie_store(true).timeout(deadline).build().unwrap()
}

/// The status and the JSON body (Null when the body is not JSON).
pub async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

/// An empty directory of its own for test `name` of `module`, in the system's temp directory.
pub fn fresh_dir(module: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chatprobe-{module}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
