#!/usr/bin/env bash
# End-to-end test of the `weft` tool: `weft demo` with --trace and --dot,
# help (`weft --help`, `weft run --help`, `weft help`), and usage errors
# (exit 2, with "did you mean"). Run by
# `bazel test //tools/weft:weft_tool_test`.
set -uo pipefail

weft="$1"
out="${TEST_TMPDIR}/demo.out"
trace="${TEST_TMPDIR}/trace.json"
dot="${TEST_TMPDIR}/plan.dot"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/weft/cli_test_lib.sh"

if ! "$weft" demo --trace="$trace" --dot="$dot" >"$out" 2>&1; then
  fail "weft demo exited non-zero"
  cat "$out"
fi
# The run, its partitions and transfers, and per-partition times.
expect_in "$out" "partition 0 on cpu:0"
expect_in "$out" "partition 1 on cpu:1"
expect_in "$out" "recv layer1/Relu:0@cpu:0->cpu:1"
expect_in "$out" "partitions: 2, transfers: 1"
expect_in "$out" "partition 1 (cpu:1): "
# The classic mistake, with both sites and the reason, then the fix.
expect_in "$out" "cross-graph edge rejected: op 'head' (Add) is being built in graph 'serving'"
expect_in "$out" "belongs to graph 'training'"
expect_in "$out" "thread 'worker-1'"
expect_in "$out" "is the default graph because of the GraphScope pushed at tools/weft/demo.cc:"
expect_in "$out" "== 5. The fix"
# The Chrome trace: one named track per partition (device).
expect_in "$trace" '"traceEvents":['
expect_in "$trace" '"name":"partition 0 (cpu:0)"'
expect_in "$trace" '"name":"partition 1 (cpu:1)"'
expect_in "$trace" '"ph":"X"'
# The DOT picture: a cluster per partition, the transfer dashed.
expect_in "$dot" "subgraph cluster_0"
expect_in "$dot" "subgraph cluster_1"
expect_in "$dot" "style=dashed"

# Help goes to stdout and exits 0: --help, -h and `weft help` give the
# tool's text (every command and flag); after a command, that command's own
# usage, flags and example.
tmp="${TEST_TMPDIR}"
for args in "--help" "-h" "help" "-help"; do
  run 0 "$tmp/help.out" $args
  expect_in "$tmp/help.out" "Usage: weft <command> [flags]"
  expect_in "$tmp/help.out" "  demo [--trace FILE] [--dot FILE]"
  expect_in "$tmp/help.out" "  --trace FILE"
  expect_in "$tmp/help.out" "demo, run: write the run's Chrome trace-event JSON"
  expect_in "$tmp/help.out" "  --dot FILE"
  expect_in "$tmp/help.out" "  -h, --help"
done
# Into a file, not `| grep -q`: grep stops reading at the first match and,
# with pipefail, the help's later writes would fail the pipeline (SIGPIPE).
"$weft" --help 2>/dev/null >"$tmp/stdout_only.out"
grep -q "Usage: weft <command>" "$tmp/stdout_only.out" ||
  fail "weft --help does not print to stdout"
for args in "run --help" "run -h" "help run" "--help run"; do
  run 0 "$tmp/runhelp.out" $args
  expect_in "$tmp/runhelp.out" "Usage: weft run GRAPH --feed NAME=VALUE ... --fetch NAME ..."
  expect_in "$tmp/runhelp.out" "  --out_dir DIR"
  expect_in "$tmp/runhelp.out" "DIR must exist."
  expect_in "$tmp/runhelp.out" "Example:"
  expect_not_in "$tmp/runhelp.out" "Usage: weft <command>"
  expect_not_in "$tmp/runhelp.out" "--runs"
done
run 0 "$tmp/demohelp.out" demo --help
expect_in "$tmp/demohelp.out" "Usage: weft demo [--trace FILE] [--dot FILE]"
expect_not_in "$tmp/demohelp.out" "--feed"
run 0 "$tmp/checkhelp.out" check -h
expect_in "$tmp/checkhelp.out" "Usage: weft check GRAPH"

# Usage errors exit 2. No command: the usage.
run 2 "$tmp/none.out"
expect_in "$tmp/none.out" "Usage: weft <command> [flags]"
# An unknown command says so and lists the commands; a near miss is named.
run 2 "$tmp/bogus.out" bogus
expect_in "$tmp/bogus.out" "weft: unknown command 'bogus'"
expect_not_in "$tmp/bogus.out" "did you mean"
expect_in "$tmp/bogus.out" "Commands:"
expect_in "$tmp/bogus.out" "  partition  the deterministic partition dump"
expect_in "$tmp/bogus.out" "  demo       the built-in demo"
run 2 "$tmp/rnu.out" rnu
expect_in "$tmp/rnu.out" "weft: unknown command 'rnu'; did you mean 'run'?"
run 2 "$tmp/part.out" part x.pbtxt
expect_in "$tmp/part.out" "unknown command 'part'; did you mean 'partition'?"
run 2 "$tmp/helprnu.out" help rnu
expect_in "$tmp/helprnu.out" "unknown command 'rnu'; did you mean 'run'?"
run 2 "$tmp/rnuhelp.out" rnu --help
expect_in "$tmp/rnuhelp.out" "unknown command 'rnu'; did you mean 'run'?"
# Flags: unknown (with the nearest), out of place, without a value.
run 2 "$tmp/flag.out" demo --trac=/dev/null
expect_in "$tmp/flag.out" "weft demo: unknown flag --trac; did you mean --trace?"
expect_in "$tmp/flag.out" "Usage: weft demo [--trace FILE] [--dot FILE]"
expect_in "$tmp/flag.out" "Run 'weft demo --help' for its flags and an example."
run 2 "$tmp/hlep.out" --hlep
expect_in "$tmp/hlep.out" "weft: unknown flag --hlep; did you mean --help?"
run 2 "$tmp/wrongflag.out" demo --runs 3
expect_in "$tmp/wrongflag.out" "weft demo: --runs does not apply to demo; its flags are --trace, --dot"
run 2 "$tmp/novalue.out" demo --trace
expect_in "$tmp/novalue.out" "weft demo: flag --trace needs a value (--trace FILE)"
run 2 "$tmp/extra.out" demo extra
expect_in "$tmp/extra.out" "weft demo: unexpected argument 'extra'"
for f in "$tmp"/*.out; do
  expect_not_in "$f" "ERROR: Unknown command line flag"  # absl's own message
done

finish
