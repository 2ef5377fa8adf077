#!/usr/bin/env bash
# Renders the conformance HTML report of a failing run in headless Chromium and saves
# screenshots (failed checks, everything), so the page is seen to render: the simulator runs in a separate process with a
# fault that alters the customer's text (alter-customer-text), `run --html` reports against it,
# and Chromium draws the page. Not part of the test suite. Loopback only; stops by itself.
#
#   scripts/html-screenshot.sh [OUT_DIR]   (default target/html-screenshot; prints the PNG paths)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/html-screenshot}
mkdir -p "$out"
out=$(cd "$out" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi
cargo build --quiet
bin=target/debug/chatprobe
log="$out/serve.log"
"$bin" serve --port 0 --fault alter-customer-text >"$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -n1)
[ -n "$url" ] || { echo "the simulator did not start: $(cat "$log")" >&2; exit 1; }
set +e
"$bin" run scenarios/conformance/gws/01-login-and-session.yaml scenarios/conformance/gws/03-messages-both-ways.yaml \
  --target "$url" --agent 'agent{1..3}:password' --quiet --progress off --report-dir "$out" \
  --trace "$out/trace.har" --html "$out/report.html" >/dev/null
code=$?
set -e
[ "$code" -eq 1 ] || { echo "expected the run to find violations (exit 1), got exit $code" >&2; exit 1; }
# The page opens on the failed checks; #all shows every step.
for view in failed all; do
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$out/report-$view.png" \
    --window-size=1280,2000 "file://$out/report.html#$view" 2>/dev/null
  [ -s "$out/report-$view.png" ] || { echo "Chromium wrote no screenshot of #$view" >&2; exit 1; }
  echo "$out/report-$view.png"
done
