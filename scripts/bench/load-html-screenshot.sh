#!/usr/bin/env bash
# Renders the HTML load report in headless Chromium, so it is seen to render: runs a short chat
# load (the smoke load with a 2 s simulator stall, so the plots have something to show), then
# screenshots REPORT_DIR/load-report.html into target/load-report.png.
#
# Not part of the test suite. Only loopback; the load is bounded.
# Usage: scripts/bench/load-html-screenshot.sh [REPORT.html]   (an existing report: no load is run)
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN=target/release/chatprobe
PNG=target/load-report.png
if ! command -v chromium >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
fi

if [ $# -ge 1 ]; then
  HTML=$(realpath "$1")
else
  cargo build --release --quiet
  OUT="$(mktemp -d /tmp/chatprobe-html.XXXXXX)"
  "$BIN" load scenarios/load/smoke.yaml --chats-per-sec 10 --duration 15s --stall-at 6s --stall-for 2s \
    --progress off --report-dir "$OUT" >"$OUT/load.log" 2>&1 || true
  HTML="$OUT/load-report.html"
  [ -f "$HTML" ] || { echo "the load wrote no report:" >&2; cat "$OUT/load.log" >&2; exit 3; }
fi

timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --screenshot="$PWD/$PNG" --window-size=1280,2400 "file://$HTML" >/dev/null 2>&1
echo "rendered $HTML into $PNG ($(stat -c %s "$PNG") bytes)"
