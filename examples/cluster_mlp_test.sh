#!/usr/bin/env bash
# The README's cluster walk-through: two `weft serve` workers on ports they
# choose, examples/cluster_mlp against them (results equal to the
# in-process run), then worker 1 killed: the next run fails at once with
# kUnavailable naming the task and its address.
set -uo pipefail
weft="$1"
example="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
trap cleanup EXIT

start_worker() {  # $1: port file
  "$weft" serve --listen 127.0.0.1:0 --port_file "$1" >"$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  echo "FAIL: weft serve did not start: $(cat "$1.log")"
  exit 1
}
start_worker "$tmp/p0"
start_worker "$tmp/p1"
a0="127.0.0.1:$(cat "$tmp/p0")"
a1="127.0.0.1:$(cat "$tmp/p1")"

if ! "$example" "$a0" "$a1" >"$tmp/run.out" 2>&1; then
  echo "FAIL: the example failed against two workers:"; cat "$tmp/run.out"
  exit 1
fi
grep -q "step 4: probs = .*(equal to the in-process run)" "$tmp/run.out" || {
  echo "FAIL: unexpected output:"; cat "$tmp/run.out"; exit 1; }

kill -9 "${pids[1]}"
start=$(date +%s%N)
if "$example" "$a0" "$a1" >"$tmp/dead.out" 2>&1; then
  echo "FAIL: the example succeeded with a dead worker"; exit 1
fi
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "UNAVAILABLE: task /job:worker/task:1 at $a1, step " "$tmp/dead.out" || {
  echo "FAIL: the error does not name the dead task:"; cat "$tmp/dead.out"
  exit 1; }
if [ "$elapsed_ms" -gt 3000 ]; then
  echo "FAIL: the dead worker took ${elapsed_ms} ms to report"; exit 1
fi
echo "PASS (dead worker reported in ${elapsed_ms} ms: $(head -c 200 "$tmp/dead.out"))"
