#!/usr/bin/env bash
# Stability of the baseline gate (`load --baseline --max-regression`) on this machine.
#
# Records a baseline of the smoke load (scenarios/load/smoke.yaml, longer and faster than the
# file's 8 s at 4 chats/s: 100 chats/s for 20 s, so p50, p90 and most p99s have enough samples)
# against a simulator that takes WORK (2 ms) over every request before handling it, as a server
# does its own work (`chatprobe serve --work`), and keeps uploaded files in SIM_TMPDIR (/dev/shm:
# memory, so that the disk's own pace, which drifted by a third over the 21 runs, stays out of
# the Upload latency), then:
#   - RUNS identical re-runs against it: every one must pass the gate;
#   - RUNS runs against a simulator whose Accept answers later by 20 % of the baseline's median
#     Accept latency, from its send to its answer (`chatprobe serve --slow Accept=...`): every one
#     must be flagged.
# Each run gets a fresh simulator (`chatprobe serve`) on its own core, the harness on the other.
# Prints "identical: N/RUNS passed" and "slowed 20%: N/RUNS caught" (caught: a latency of Accept
# is among the regressions).
#
# WORK=0 runs against the bare simulator, whose answers take a few hundred microseconds on
# loopback: there the machine's own scheduling noise is a large share of every latency, and
# identical runs here moved single latencies by up to +25 % (p50, p90) and +150 % (p99) beyond
# the change they all shared, more than a 20 % slowdown of a 250 us operation (+50 us) moves it.
#
# Not part of the test suite: timings belong here. Only loopback; every load is bounded.
# Usage: scripts/bench/baseline-stability.sh   (RUNS, RATE, DURATION, SLOWDOWN_PCT, MAX_REGRESSION,
#        WORK and SIM_TMPDIR may be set)
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN=target/release/chatprobe
RUNS="${RUNS:-10}"
RATE="${RATE:-100}"
DURATION="${DURATION:-20s}"
SLOWDOWN_PCT="${SLOWDOWN_PCT:-20}"
MAX_REGRESSION="${MAX_REGRESSION:-10%}"
WORK="${WORK:-2ms}"
SIM_TMPDIR="${SIM_TMPDIR:-/dev/shm}"
[ -d "$SIM_TMPDIR" ] && [ -w "$SIM_TMPDIR" ] || SIM_TMPDIR="${TMPDIR:-/tmp}"
OUT="$(mktemp -d /tmp/chatprobe-stability.XXXXXX)"
SIM_PID=""
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true; }
trap cleanup EXIT

cargo build --release --quiet
CORES=$(nproc)
CLIENT_CORE=0
SIM_CORE=$(( CORES > 1 ? 1 : 0 ))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sets PORT and SIM_PID.
start_sim() {
  PORT=$(free_port)
  TMPDIR="$SIM_TMPDIR" taskset -c "$SIM_CORE" "$BIN" serve --bind 127.0.0.1 --port "$PORT" --agents 40 --capacity 10 --work "$WORK" "$@" >"$OUT/sim.log" 2>&1 &
  SIM_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/api/v2/diagnostics/version" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "simulator did not start: $(cat "$OUT/sim.log")" >&2; exit 3
}

stop_sim() { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""; }

# run NAME [serve flags...] -- [load flags...]: one smoke load against a fresh simulator.
run() {
  local name=$1; shift
  local serve=()
  while [ "$1" != "--" ]; do serve+=("$1"); shift; done; shift
  start_sim "${serve[@]}"
  taskset -c "$CLIENT_CORE" "$BIN" load scenarios/load/smoke.yaml --target "http://127.0.0.1:$PORT" \
    --agent 'agent{1..40}:password' --chats-per-sec "$RATE" --duration "$DURATION" --progress off \
    --report-dir "$OUT/$name" "$@" >"$OUT/$name.log" 2>&1 || true
  stop_sim
  [ -f "$OUT/$name/load-report.json" ] || { echo "run $name wrote no report:" >&2; cat "$OUT/$name.log" >&2; exit 3; }
}

echo "baseline gate stability on $CORES cores ($(date -u +%FT%TZ)): smoke journey at $RATE chats/s for $DURATION," \
  "simulator work $WORK per request, uploads kept in $SIM_TMPDIR, --max-regression $MAX_REGRESSION; work files in $OUT"
run baseline --
BASE="$OUT/baseline/load-report.json"
# 20 % of the operation's own latency (from its send to its answer) in the baseline: its median.
DELAY_US=$(python3 - "$BASE" "$SLOWDOWN_PCT" <<'PY'
import json, sys
print(round(json.load(open(sys.argv[1]))["metrics"]["Accept"]["uncorrected"]["p50"] * float(sys.argv[2]) / 100))
PY
)
echo "baseline: $(python3 -c "import json; d=json.load(open('$BASE')); f=d['metrics']['Accept']['uncorrected']; print(f\"{d['counts']['chats_completed']} chats, Accept p50 {f['p50']} us from {f['count']} samples\")");" \
  "slowdown: Accept +${DELAY_US}us"

for i in $(seq 1 "$RUNS"); do
  run "same-$i" -- --baseline "$BASE" --max-regression "$MAX_REGRESSION"
  run "slow-$i" --slow "Accept=${DELAY_US}us" -- --baseline "$BASE" --max-regression "$MAX_REGRESSION"
done

python3 - "$OUT" "$RUNS" "$SLOWDOWN_PCT" <<'PY'
import json, sys
out, runs, pct = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def verdict(name):
    d = json.load(open(f"{out}/{name}/load-report.json"))
    b = d["baseline"]
    flagged = [c for c in b["comparisons"] if c["status"] == "regression"]
    short = sum(c["status"] == "insufficient-samples" for c in b["comparisons"])
    return d, b["passed"], flagged, short

def accept(metric):
    return metric.endswith("(Accept)") or metric.endswith(":Accept)")

passed = caught = 0
for kind in ("same", "slow"):
    for i in range(1, runs + 1):
        d, ok, flagged, short = verdict(f"{kind}-{i}")
        passed += kind == "same" and ok
        # Caught only when an Accept latency is what regressed, not something else by chance.
        caught += kind == "slow" and any(accept(c["metric"]) for c in flagged)
        acc = next(c for c in d["baseline"]["comparisons"] if c["metric"] == "p50(Accept)")
        what = ", ".join(f"{c['metric']} {c['change_pct']:+.1f}%" for c in flagged) or "none"
        print(f"  {kind}-{i}: {'pass' if ok else 'REGRESSION'}; p50(Accept) {acc['change_pct']:+.1f}%, common"
              f" {acc.get('common_pct', 0):+.1f}% (spread {acc.get('spread_pct', 0):.1f}%), beyond it >= {acc.get('change_low_pct', float('nan')):+.1f}%;"
              f" flagged: {what};"
              f" {short} figures with too few samples; exit {d['exit_code']}")
# How far each figure moved between identical runs, beyond the change all latencies shared: the
# machine's noise per latency, which the gate must stay above.
moves = {}
for i in range(1, runs + 1):
    d, _, _, _ = verdict(f"same-{i}")
    for c in d["baseline"]["comparisons"]:
        if c["status"] != "insufficient-samples" and "common_pct" in c and "(all latencies)" not in c["metric"]:
            beyond = ((1 + c["change_pct"] / 100) / (1 + c["common_pct"] / 100) - 1) * 100
            moves.setdefault(c["metric"], []).append(beyond)
print("identical runs, each figure's change beyond the common one (min .. max over the runs):")
for metric, m in sorted(moves.items(), key=lambda kv: -max(abs(x) for x in kv[1])):
    print(f"  {metric}: {min(m):+.1f}% .. {max(m):+.1f}%")
print(f"identical: {passed}/{runs} passed")
print(f"slowed {pct}%: {caught}/{runs} caught")
PY
