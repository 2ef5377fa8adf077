#!/usr/bin/env bash
# chatprobe load benchmark: prints five figures measured in one run on this machine.
#
#  1. Validated request rate vs wrk on the same simulator endpoint, one client core each
#     (taskset), the simulator on the other core. Target: ratio >= 0.75.
#  2. Concurrent chats held (accepted, not yet ended) and the harness's peak RSS.
#     Target: 10,000 chats under 1 GB.
#  3. Stall: the simulator pauses 1 s during a 10 s constant-rate run; corrected and
#     uncorrected p99 against the true value (S - 0.01*D for a pause S in a run of D).
#     Target: corrected within 10 % of the true value while the uncorrected one hides it.
#  4. Chat journey: the smoke journey (scenarios/load/smoke.yaml: two messages each way, uploads
#     in a quarter of the chats, every response and notification validated) at rising open-model
#     rates, the harness on one core, the simulator on the other. Prints, per rate, the chats
#     completed per second, the seconds the harness flagged as saturated and its CPU per
#     validated message; then the highest rate held without saturation, and that CPU as a ratio
#     to the fast path's CPU per validated request. Target: 2,000 chats/s, <= 25 us/message.
#  5. Upload and download: the 20 MB round trip (scenarios/conformance/gws/roundtrip: upload as
#     Add New Document, download by the message's uri) against curl uploading and downloading the
#     20 MB to the same simulator in the same run, each client on its own core.
#     Target: ratio >= 0.8, harness RSS under 64 MB.
#
# Not part of the test suite: timings belong here. Only loopback; every load is bounded.
# Usage: scripts/bench/run.sh [all|rate|hold|stall|journey|files]
#   (JOURNEY_RATES, JOURNEY_DURATION and CHATPROBE_BIN may be set)
set -euo pipefail

cd "$(dirname "$0")/../.."
WHAT="${1:-all}"
# CHATPROBE_BIN: measure another build (for example before and after a change) instead.
BIN="${CHATPROBE_BIN:-target/release/chatprobe}"
OUT="$(mktemp -d /tmp/chatprobe-bench.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ -n "${CHATPROBE_BIN:-}" ] || cargo build --release --quiet
if ! command -v wrk >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
CORES=$(nproc)
CLIENT_CORE=0
SIM_CORE=$(( CORES > 1 ? 1 : 0 ))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Start the simulator on its own core; waits until it answers.
start_sim() {
  local port=$1; shift
  taskset -c "$SIM_CORE" "$BIN" serve --bind 127.0.0.1 --port "$port" "$@" >"$OUT/sim-$port.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/api/v2/diagnostics/version" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "simulator on $port did not start" >&2; exit 3
}

# Stop the simulator started last (the trap stops the others at exit).
stop_last_sim() { kill "${PIDS[-1]}" 2>/dev/null || true; wait "${PIDS[-1]}" 2>/dev/null || true; }

json() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval('d'+sys.argv[1]))" "$2"; }

rate() {
  local port; port=$(free_port)
  start_sim "$port" --agents 10
  local url="http://127.0.0.1:$port/api/v2/diagnostics/version"
  # Warm both paths once, then measure wrk and chatprobe back to back.
  taskset -c "$CLIENT_CORE" wrk -t1 -c32 -d2s "$url" >/dev/null
  taskset -c "$CLIENT_CORE" /usr/bin/time -f "%U %S" -o "$OUT/wrk.time" \
    wrk -t1 -c32 -d8s "$url" >"$OUT/wrk.log"
  taskset -c "$CLIENT_CORE" /usr/bin/time -f "%U %S" -o "$OUT/chatprobe.time" \
    "$BIN" load scenarios/load/endpoint.yaml --target "http://127.0.0.1:$port" \
    --progress off --report-dir "$OUT/rate" >"$OUT/rate.log" 2>&1 || true
  python3 - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
wrk_log = open(f"{out}/wrk.log").read()
wrk = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk_log).group(1))
wrk_n = int(re.search(r"(\d+) requests in", wrk_log).group(1))
cpu = lambda f: sum(map(float, open(f).read().split()[-2:]))
d = json.load(open(f"{out}/rate/load-report.json"))
t = [s["ops"] for s in d["timeline"]]
steady = t[1:-1] if len(t) > 2 else t
cp = sum(steady) / len(steady)
c = d["counts"]
print(f"1. request rate: wrk {wrk:,.0f}/s, chatprobe {cp:,.0f}/s validated "
      f"({c['responses_validated']:,} responses validated, {c['violations']} violations, {c['errors']} errors; "
      f"whole-run average {d['ops_per_sec']:,.0f}/s)")
print(f"   ratio chatprobe/wrk = {cp / wrk:.2f}  (target >= 0.75)")
print(f"   client CPU per request: wrk {cpu(out + '/wrk.time') / wrk_n * 1e6:.1f} us, "
      f"chatprobe {cpu(out + '/chatprobe.time') / max(c['ops'], 1) * 1e6:.1f} us (parse, validate, record included)")
PY
}

hold() {
  local port; port=$(free_port)
  start_sim "$port" --agents 201 --capacity 50
  taskset -c "$CLIENT_CORE" "$BIN" load scripts/bench/hold.yaml --target "http://127.0.0.1:$port" \
    --agent 'agent{1..201}:password' --progress plain --report-dir "$OUT/hold" >"$OUT/hold.log" 2>&1 || true
  python3 - "$OUT/hold/load-report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); c = d["counts"]
rss = d["harness"]["peak_rss_bytes"] or 0
print(f"2. chats held at once: {d['peak_chatting']:,} (in flight {d['peak_active']:,}; "
      f"{c['chats_started']:,} started, {c['chats_completed']:,} completed, {c['errors']} errors, {c['violations']} violations)")
print(f"   harness peak RSS: {rss / 2**20:,.0f} MiB  (target: 10,000 chats under 1 GB)")
PY
}

stall() {
  "$BIN" load scripts/bench/stall.yaml --stall-at 4s --stall-for 1s --progress off \
    --report-dir "$OUT/stall" >"$OUT/stall.log" 2>&1 || true
  python3 - "$OUT/stall/load-report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); m = d["metrics"]["version"]
S, D = 1.0, 10.0
true_p99 = (S - 0.01 * D) * 1000
cor = m["corrected"]["p99"] / 1000; unc = m["uncorrected"]["p99"] / 1000
err = abs(cor - true_p99) / true_p99 * 100
print(f"3. stall 1 s in 10 s at 1000/s: true p99 {true_p99:.0f} ms; corrected p99 {cor:.1f} ms ({err:.1f}% off); "
      f"uncorrected p99 {unc:.1f} ms")
print(f"   corrected within 10%: {'yes' if err <= 10 else 'no'}; uncorrected hides the stall: {'yes' if unc < true_p99 / 2 else 'no'}"
      f"  (dropped {d['counts']['dropped']}, late {d['counts']['late']})")
PY
}

# The fast path's client CPU per validated request, for figure 4's ratio: figure 1's own run when
# it ran in this invocation, otherwise its load for 4 s.
fast_path_cpu() {
  local report="$OUT/rate/load-report.json" time="$OUT/chatprobe.time"
  if [ ! -f "$report" ]; then
    local port; port=$(free_port)
    start_sim "$port" --agents 10
    report="$OUT/fast/load-report.json" time="$OUT/fast.time"
    taskset -c "$CLIENT_CORE" /usr/bin/time -f "%U %S" -o "$time" \
      "$BIN" load scenarios/load/endpoint.yaml --target "http://127.0.0.1:$port" --duration 4s \
      --progress off --report-dir "$OUT/fast" >"$OUT/fast.log" 2>&1 || true
    # Called in a subshell: its simulator is stopped here, not by the trap.
    stop_last_sim
  fi
  python3 - "$report" "$time" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
cpu = sum(map(float, open(sys.argv[2]).read().split()[-2:]))
print(f"{cpu / max(c['responses_validated'], 1) * 1e6:.2f}")
PY
}

journey() {
  local rates=(${JOURNEY_RATES:-250 500 1000 2000}) duration="${JOURNEY_DURATION:-8s}"
  local fast_us; fast_us=$(fast_path_cpu)
  for r in "${rates[@]}"; do
    local port; port=$(free_port)
    # 5,000 chats at once (100 agents, 50 chats each): a chat of the smoke journey lasts about a
    # second, so the agents' capacity is never what limits the rate.
    start_sim "$port" --agents 100 --capacity 50
    taskset -c "$CLIENT_CORE" /usr/bin/time -f "%U %S" -o "$OUT/journey-$r.time" \
      "$BIN" load scenarios/load/smoke.yaml --target "http://127.0.0.1:$port" --agent 'agent{1..100}:password' \
      --chats-per-sec "$r" --duration "$duration" --allow-saturation --progress off \
      --report-dir "$OUT/journey-$r" >"$OUT/journey-$r.log" 2>&1 || true
    stop_last_sim
  done
  python3 - "$OUT" "$fast_us" "${rates[@]}" <<'PY'
import json, sys
out, fast_us, rates = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
held = None
print("4. chat journey (smoke shape, full validation), harness on one core:")
for r in rates:
    try:
        d = json.load(open(f"{out}/journey-{r}/load-report.json"))
    except (OSError, ValueError):
        print(f"   {r:>5} chats/s offered: no report (see {out}/journey-{r}.log)"); continue
    c = d["counts"]
    cpu = sum(map(float, open(f"{out}/journey-{r}.time").read().split()[-2:]))
    msgs = c["responses_validated"] + c["notifications_validated"]
    per_msg = cpu / max(msgs, 1) * 1e6
    secs, elapsed = d["planned_ms"] / 1e3, d["duration_ms"] / 1e3
    sat = d["saturation"]
    flagged = len(sat["seconds"]) if sat else 0
    ok = not sat and c["errors"] == 0
    if ok:
        held = (int(r), c["chats_completed"] / secs, per_msg)
    print(f"   {r:>5} chats/s offered: {c['chats_completed'] / secs:,.0f} completed/s, {msgs:,} messages validated,"
          f" {c['dropped']:,} dropped, {c['errors']:,} errors, {flagged} saturated seconds;"
          f" harness CPU {cpu / elapsed * 100:.0f}% of a core, {per_msg:.1f} us per validated message")
if held:
    r, done, per_msg = held
    print(f"   held without saturation: {r:,} chats/s ({done:,.0f} completed/s) on one harness core (target 2,000);"
          f" {per_msg:.1f} us per validated message = {per_msg / fast_us:.1f} x the fast path's {fast_us:.1f} us (target <= 25 us)")
else:
    print("   no rate was held without saturation")
PY
}

files() {
  local port; port=$(free_port)
  start_sim "$port" --agents 2 --capacity 3
  local url="http://127.0.0.1:$port"
  # chatprobe: the round trip scenario, its step times from the JSON report.
  taskset -c "$CLIENT_CORE" /usr/bin/time -f "%M" -o "$OUT/files.rss" \
    "$BIN" run scenarios/conformance/gws/roundtrip --target "$url" --agent agent1:password \
    --quiet --report-dir "$OUT/files" >"$OUT/files.log" 2>&1 || true
  # curl: 20 MB (the same size; the rate does not depend on the bytes) to a chat of agent2, then back.
  python3 - "$OUT/payload.bin" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    block = bytes(range(256)) * 4096
    left = 20_000_000
    while left:
        n = min(left, len(block)); f.write(block[:n]); left -= n
PY
  local jar="$OUT/curl.jar" hdr="$OUT/curl.hdr"
  curl -fsS -u agent2:password -c "$jar" -b "$jar" -D "$hdr" "$url/api/v2/me" >/dev/null
  local token; token=$(awk -F': ' 'tolower($1)=="x-csrf-token" {gsub("\r",""); print $2}' "$hdr")
  local c=(curl -fsS -c "$jar" -b "$jar" -H "X-CSRF-TOKEN: $token")
  "${c[@]}" -H 'Content-Type: application/json' -d '{"operationName":"StartContactCenterSession","channels":["chat"]}' "$url/api/v2/me" >/dev/null
  "${c[@]}" -H 'Content-Type: application/json' -d '{"operationName":"Ready"}' "$url/api/v2/me/channels/chat" >/dev/null
  curl -fsS -H 'Content-Type: application/json' -H 'ContactCenterId: bench' -d '{"operationName":"RequestChat","nickname":"Bench"}' "$url/api/v2/chats" >/dev/null
  local chat=""
  for _ in $(seq 1 50); do
    chat=$("${c[@]}" "$url/api/v2/me/chats" | python3 -c 'import json,sys; cs=json.load(sys.stdin).get("chats",[]); print(next((x["id"] for x in cs if x.get("state")=="Invited"), ""))')
    [ -n "$chat" ] && break; sleep 0.1
  done
  [ -n "$chat" ] || { echo "5. no chat reached agent2 for curl" >&2; return 0; }
  "${c[@]}" -H 'Content-Type: application/json' -d '{"operationName":"Accept"}' "$url/api/v2/me/chats/$chat" >/dev/null
  taskset -c "$CLIENT_CORE" "${c[@]}" -o "$OUT/curl-up.json" -w '%{time_total}\n' \
    -F "attachment=@$OUT/payload.bin;type=application/octet-stream" "$url/api/v2/me/chats/$chat/attachments" >"$OUT/curl-up.time"
  local doc; doc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["documentId"])' "$OUT/curl-up.json")
  taskset -c "$CLIENT_CORE" "${c[@]}" -o /dev/null -w '%{time_total} %{size_download}\n' \
    "$url/api/v2/chats/$chat/attachments/$doc" >"$OUT/curl-down.time"
  python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
MB = 20_000_000
rep = json.load(open(f"{out}/files/chatprobe-report.json"))
steps = {s["name"]: s for sc in rep["scenarios"] for s in sc["steps"]}
def secs(step): return steps[step]["duration_ms"] / 1e3
up, down = secs("the agent uploads 20 MB"), secs("the agent downloads it by its uri")
verdict = rep["scenarios"][0].get("status") or rep["scenarios"][0].get("verdict")
cu = float(open(f"{out}/curl-up.time").read().split()[0])
cd, got = open(f"{out}/curl-down.time").read().split()
cd = float(cd)
rss = int(open(f"{out}/files.rss").read().split()[-1]) / 1024
cp_rate, curl_rate = 2 * MB / (up + down) / 1e6, 2 * MB / (cu + cd) / 1e6
print(f"5. 20 MB round trip: chatprobe up {MB / up / 1e6:,.0f} MB/s, down {MB / down / 1e6:,.0f} MB/s "
      f"(hash and size checked), round trip {cp_rate:,.0f} MB/s (scenario {verdict})")
print(f"   curl up {MB / cu / 1e6:,.0f} MB/s, down {MB / cd / 1e6:,.0f} MB/s ({int(float(got)):,} bytes), round trip {curl_rate:,.0f} MB/s")
print(f"   ratio chatprobe/curl = {cp_rate / curl_rate:.2f}  (target >= 0.8); harness peak RSS {rss:,.0f} MiB (target < 64 MB)")
PY
}

echo "chatprobe load benchmark on $(nproc) cores ($(date -u +%FT%TZ)); work files in $OUT"
case "$WHAT" in
  rate) rate ;;
  hold) hold ;;
  stall) stall ;;
  journey) journey ;;
  files) files ;;
  all) rate; hold; stall; journey; files ;;
  *) echo "usage: $0 [all|rate|hold|stall|journey|files]" >&2; exit 2 ;;
esac
