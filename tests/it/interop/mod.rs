//! Real Bayeux peers, from npm (tests/interop/package.json, installed by `.ci/run` with `npm ci`):
//! - `peers`: the official CometD JavaScript client and the Faye client against the simulator;
//! - `cometd_server`: chatprobe's own Bayeux client against cometd-nodejs-server behind a thin
//!   GWS-shaped front (tests/interop/gws-cometd-front.cjs).
//!
//! Without Node or a package a test says what is missing on stderr and passes, unless
//! CHATPROBE_REQUIRE_INTEROP=1 (as in CI), where a missing peer fails it.

mod cometd_server;
mod peers;

use std::path::PathBuf;
use std::process::Command;

/// Where the Node peers and their `node_modules` live.
fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// The interop directory when Node and every package named are installed. Otherwise `None`
/// after saying what is missing and how to install it, or a failure under
/// CHATPROBE_REQUIRE_INTEROP=1.
fn require(test: &str, packages: &[&str]) -> Option<PathBuf> {
    let dir = interop_dir();
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut missing: Vec<String> = Vec::new();
    if !node {
        missing.push("node (Node.js 20 or newer)".into());
    }
    missing.extend(
        packages.iter().filter(|p| !dir.join("node_modules").join(p).is_dir()).map(|p| format!("npm package `{p}`")),
    );
    if missing.is_empty() {
        return Some(dir);
    }
    let message =
        format!("{test}: missing {}; install with `npm ci` in tests/interop (as .ci/run does)", missing.join(", "));
    assert!(std::env::var("CHATPROBE_REQUIRE_INTEROP").as_deref() != Ok("1"), "{message}");
    eprintln!("skipped: {message}");
    None
}
