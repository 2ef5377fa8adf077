#!/usr/bin/env bash
# One load as N shard processes on this machine, against one target, all starting their schedules
# at one --start-at; then `chatprobe merge` judges the thresholds once, on the merged report.
#
#   scripts/shard-local.sh N FILE [extra load args]
#
# Without --target among the extra arguments, one `chatprobe serve` is started on a free loopback
# port with 4 agents per shard (stopped at the end). With --target, give the agents as usual
# (--agent or CHATPROBE_AGENTS): shard I logs in agents I, I+N, I+2N... of the list.
#
# Environment:
#   CHATPROBE     the chatprobe binary (default: target/release, then target/debug, then PATH)
#   REPORT_DIR    where the reports go (default: reports/shards): shard-I/ for each shard's,
#                 merged/ for the merged ones, shard-I.log for each shard's output
#   START_DELAY   seconds from now to the shared start (default: 5), time for the agents to log in
#
# Exit code: the merge's (0 pass, 1 violations, 2 invalid or shards missing, 3 saturated,
# 4 a threshold or the baseline breached, 130 interrupted).
set -euo pipefail

usage() {
  echo "usage: $0 N FILE [extra load args]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
shards=$1
file=$2
shift 2
case $shards in '' | *[!0-9]*) echo "error: N \`$shards\` is not a whole number" >&2; exit 2 ;; esac
if [ "$shards" -lt 1 ] || [ "$shards" -gt 64 ]; then
  echo "error: N $shards is out of bounds: from 1 to 64 shards on one machine" >&2
  exit 2
fi
[ -f "$file" ] || { echo "error: load file $file does not exist" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CHATPROBE:-}
if [ -z "$bin" ]; then
  for candidate in "$root/target/release/chatprobe" "$root/target/debug/chatprobe"; do
    if [ -x "$candidate" ]; then bin=$candidate; break; fi
  done
fi
bin=${bin:-$(command -v chatprobe || true)}
[ -n "$bin" ] && [ -x "$bin" ] || { echo "error: no chatprobe binary (cargo build, or set CHATPROBE)" >&2; exit 2; }

dir=${REPORT_DIR:-reports/shards}
delay=${START_DELAY:-5}
case $delay in '' | *[!0-9]*) echo "error: START_DELAY \`$delay\` is not a whole number of seconds" >&2; exit 2 ;; esac

has_target=false
for arg in "$@"; do
  case $arg in
    --target | --target=*) has_target=true ;;
    --shard | --shard=* | --start-at | --start-at=* | --report-dir | --report-dir=* | --json* | --html* | --markdown*)
      echo "error: $arg is the script's to set (the shards, the start and REPORT_DIR); leave it out" >&2
      exit 2
      ;;
  esac
done
[ -n "${CHATPROBE_TARGET:-}" ] && has_target=true

mkdir -p "$dir"
rm -rf "$dir"/shard-* "$dir/merged"

server=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

extra=()
if ! $has_target; then
  agents=$((shards * 4))
  password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
  CHATPROBE_SIM_PASSWORD=$password "$bin" serve --port 0 --agents "$agents" --capacity 50 >"$dir/serve.log" 2>&1 &
  server=$!
  url=""
  for _ in $(seq 1 200); do
    url=$(sed -n 's/^chatprobe simulator listening on \(http:[^ ]*\).*/\1/p' "$dir/serve.log" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "error: the simulator did not start within 20 s; its output:" >&2
    cat "$dir/serve.log" >&2
    exit 3
  fi
  echo "simulator: $url ($agents agents, 4 per shard)"
  extra=(--target "$url")
  export CHATPROBE_AGENTS="agent{1..$agents}:$password"
fi

# GNU date, else BSD date.
start_at=$(date -u -d "+$delay seconds" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v+"$delay"S +%Y-%m-%dT%H:%M:%SZ)
echo "starting $shards shard(s) of $file at $start_at; reports in $dir"
for ((i = 0; i < shards; i++)); do
  "$bin" load "$file" "${extra[@]}" --shard "$i/$shards" --start-at "$start_at" --progress plain \
    --report-dir "$dir/shard-$i" "$@" >"$dir/shard-$i.log" 2>&1 &
  pids+=("$!")
done
for ((i = 0; i < shards; i++)); do
  code=0
  wait "${pids[$i]}" || code=$?
  echo "shard $i/$shards: exit $code (its own verdict; the merge judges the load), log $dir/shard-$i.log"
done
pids=()

set +e
"$bin" merge "$dir"/shard-*/load-report.json --report-dir "$dir/merged"
code=$?
set -e
exit "$code"
