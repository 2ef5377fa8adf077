#!/usr/bin/env bash
# Prints the harness's peak RSS during the 20 MB upload → notification → download round trip
# (scenarios/conformance/gws/roundtrip), with the simulator in a separate process so only the
# harness is measured. Not part of the test suite. Loopback only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet
bin=target/release/chatprobe
log=$(mktemp)
"$bin" serve --port 0 >"$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log")
out=$(mktemp -d)
/usr/bin/time -v "$bin" run scenarios/conformance/gws/roundtrip --target "$url" --agent agent1:password \
  --quiet --report-dir "$out" 2>"$out/time.txt" >/dev/null
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
echo "harness peak RSS during the 20 MB round trip: $((rss_kb / 1024)) MB (limit 64 MB)"
[ "$rss_kb" -lt $((64 * 1024)) ]
