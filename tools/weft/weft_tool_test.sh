#!/usr/bin/env bash
# End-to-end test of the `weft` tool: `weft demo` with --trace and --dot,
# `weft --help`, and a bad command. Run by `bazel test //tools/weft:weft_tool_test`.
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

# --help describes the tool's own flags (absl exits 1 after help).
"$weft" --help >"${TEST_TMPDIR}/help.out" 2>&1
expect_in "${TEST_TMPDIR}/help.out" "Usage: weft <command> [flags]"
expect_in "${TEST_TMPDIR}/help.out" "--trace (demo: write the run's Chrome trace-event JSON"
expect_in "${TEST_TMPDIR}/help.out" "--dot (demo: write the partitioned plan as Graphviz DOT"

# An unknown command prints the usage and exits 2.
"$weft" bogus >"${TEST_TMPDIR}/bogus.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "weft bogus exited ${rc}, want 2"
expect_in "${TEST_TMPDIR}/bogus.out" "Usage: weft <command> [flags]"

finish
