#!/usr/bin/env bash
# Run the cargo-fuzz targets (fuzz/) for a given time each, one at a time, in one process each.
# Each run starts from the checked-in seed corpus (fuzz/corpus/TARGET) and keeps what it finds
# in a scratch corpus, so the checked-in one stays small. A crash leaves its input in
# fuzz/artifacts/TARGET/; copy it into fuzz/corpus/TARGET/ once fixed (tests/it/fuzz_corpus.rs
# replays it on stable Rust). Prints each target's execution count.
# Needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
# Usage: scripts/fuzz.sh TARGET|all SECONDS [RUNS]
#   RUNS (optional) stops a target after that many executions, if it gets there first.
#   FUZZ_MAX_LEN (environment, default 65536) is the largest input, in bytes.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

TARGETS=(scenario load_spec bayeux response)
WHAT="${1:?usage: scripts/fuzz.sh TARGET|all SECONDS [RUNS]}"
SECONDS_EACH="${2:?usage: scripts/fuzz.sh TARGET|all SECONDS [RUNS]}"
RUNS="${3:--1}"
MAX_LEN="${FUZZ_MAX_LEN:-65536}"
case "$WHAT" in
  all) selected=("${TARGETS[@]}") ;;
  scenario|load_spec|bayeux|response) selected=("$WHAT") ;;
  *) echo "fuzz: unknown target '$WHAT' (one of: ${TARGETS[*]}, all)" >&2; exit 2 ;;
esac
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, not '$SECONDS_EACH'" >&2; exit 2; }
[[ "$RUNS" =~ ^-?[0-9]+$ ]] || { echo "fuzz: RUNS must be a whole number, not '$RUNS'" >&2; exit 2; }
[[ "$MAX_LEN" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_MAX_LEN must be a positive whole number, not '$MAX_LEN'" >&2; exit 2; }
command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing (cargo install cargo-fuzz)" >&2; exit 2; }
rustup run nightly rustc --version >/dev/null 2>&1 || { echo "fuzz: the nightly toolchain is missing (rustup toolchain install nightly)" >&2; exit 2; }

build_log="$(mktemp /tmp/chatprobe-fuzz-build.XXXXXX)"
if ! cargo +nightly fuzz build >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "fuzz: the targets do not build (full log: $build_log)" >&2
  exit 1
fi
rm -f "$build_log"
status=0
for target in "${selected[@]}"; do
  scratch="$(mktemp -d "/tmp/chatprobe-fuzz-$target.XXXXXX")"
  log="$scratch/log"
  # -rss_limit_mb: a parser that holds more than this for one input is a finding too.
  if cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -runs="$RUNS" -max_len="$MAX_LEN" \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    result=clean
  elif grep -q 'libFuzzer: run interrupted' "$log" && [ -z "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    # Stopped by a signal before its time: what it executed ran clean.
    result="interrupted, clean"
  else
    result="FAILED (see fuzz/artifacts/$target/ and $log)"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  echo "fuzz: $target: ${execs:-0} executions in at most ${SECONDS_EACH}s, inputs up to $MAX_LEN bytes, $result"
  [ "$status" -eq 0 ] && rm -rf "$scratch"
done
exit "$status"
