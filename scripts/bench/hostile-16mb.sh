#!/usr/bin/env bash
# The 16 MB CometD flood: `chatprobe run` against a server whose every /meta/connect answer is
# 16 MB of `[0,0,…]` (the hostile server of tests/it/hostile.rs). Prints the run's wall time,
# its peak RSS and the size of every report and of the console output.
# Bounds (issue 11): ends within 30 s, peak RSS under 300 MB, every report under 10 MB, exit 1.
# The test asserts the exit code, the memory and the sizes; the time is only measured here.
# Usage: scripts/bench/hostile-16mb.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = "--release" ]; then
  cargo build --release --quiet
  export CHATPROBE_BIN="$PWD/target/release/chatprobe"
fi
cargo test --quiet --test it a_16_mb_cometd_answer -- --nocapture 2>&1 | grep '^flood: ' || {
  echo "hostile-16mb: the test did not run or failed; run it with: cargo test --test it a_16_mb_cometd_answer -- --nocapture" >&2
  exit 1
}
