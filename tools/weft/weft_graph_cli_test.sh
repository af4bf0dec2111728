#!/usr/bin/env bash
# End-to-end test of the `weft` graph commands on examples/mlp.pbtxt: check,
# run (inline JSON, @file.npy, --out_dir, --trace), dot, partition, bench,
# --help, and errors (exit 1, the status message with the saved provenance,
# no stack dump). Run by `bazel test //tools/weft:weft_graph_cli_test`.
set -uo pipefail

weft="$1"
graph="$2"
golden="$3"
tmp="${TEST_TMPDIR}"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/weft/cli_test_lib.sh"

# check: the summary.
run 0 "$tmp/check.out" check "$graph"
expect_in "$tmp/check.out" "graph 'mlp' from ${graph}: 11 nodes"
expect_in "$tmp/check.out" "  MatMul       2"
expect_in "$tmp/check.out" "  x: float32[?,4]"
expect_in "$tmp/check.out" "  cpu:1: 5 nodes"

# run: inline JSON, two fetches (repeated --fetch).
run 0 "$tmp/run.out" run "$graph" --feed 'x=[[1,2,3,4],[0,0,0,1]]' \
  --fetch layer2/probs --fetch=layer1/Relu:0 --trace="$tmp/trace.json"
expect_in "$tmp/run.out" "layer2/probs: float32[2,3] = [[0.288233, 0.477308, 0.685926], [0.307957, 0.515566, 0.613884]]"
expect_in "$tmp/run.out" "layer1/Relu:0: float32[2,8] = [[0, 0, 0, 1.14706,"
expect_in "$tmp/trace.json" '"traceEvents":['

# run --out_dir writes .npy files; feeding one back (@file.npy) gives the
# same result.
mkdir -p "$tmp/out"
run 0 "$tmp/out.out" run "$graph" --feed 'x=[[1,2,3,4],[0,0,0,1]]' \
  --fetch x,layer2/probs --out_dir "$tmp/out"
expect_in "$tmp/out.out" "x: float32[2,4] -> $tmp/out/x.npy"
[ -f "$tmp/out/layer2_probs.npy" ] || fail "no layer2_probs.npy"
run 0 "$tmp/npy.out" run "$graph" --feed "x=@$tmp/out/x.npy" --fetch layer2/probs
expect_in "$tmp/npy.out" "layer2/probs: float32[2,3] = [[0.288233, 0.477308, 0.685926]"

# run errors: a wrong shape names the C++ line that built x; bad JSON; an
# unknown tensor; a missing .npy file.
run 1 "$tmp/shape.out" run "$graph" --feed 'x=[[1,2,3]]' --fetch layer2/probs
expect_in "$tmp/shape.out" "weft run: INVALID_ARGUMENT: feed 0 for 'x:0' (Placeholder defined at examples/mlp.cc:"
expect_in "$tmp/shape.out" "fed float32[1,3] but 'x:0' is float32[?,4]"
run 1 "$tmp/json.out" run "$graph" --feed 'x=[[1,2,' --fetch layer2/probs
expect_in "$tmp/json.out" "--feed 'x': not valid JSON"
run 1 "$tmp/ragged.out" run "$graph" --feed 'x=[[1,2],[3]]' --fetch layer2/probs
expect_in "$tmp/ragged.out" "ragged array"
run 1 "$tmp/nofetch.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch nosuch
expect_in "$tmp/nofetch.out" "--fetch 'nosuch': graph 'mlp'"
run 1 "$tmp/nonpy.out" run "$graph" --feed "x=@$tmp/absent.npy" --fetch layer2/probs
expect_in "$tmp/nonpy.out" "cannot open npy file"

# dot and partition.
run 0 "$tmp/dot.out" dot "$graph"
expect_in "$tmp/dot.out" "subgraph cluster_1"
expect_in "$tmp/dot.out" "style=dashed"
run 0 "$tmp/partition.out" partition "$graph" --fetch layer2/probs --devices cpu:0,cpu:1
diff -u "$golden" "$tmp/partition.out" || fail "partition differs from ${golden}"
run 1 "$tmp/nodev.out" partition "$graph" --fetch layer2/probs --devices cpu:0
expect_in "$tmp/nodev.out" "is placed on device 'cpu:1', which this session does not have"

# bench.
run 0 "$tmp/bench.out" bench "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs --runs 20 --clients 2
expect_in "$tmp/bench.out" "20 runs, 2 client thread(s), devices cpu:0,cpu:1"
expect_in "$tmp/bench.out" "latency us: p50 "
expect_in "$tmp/bench.out" "runs/s"

# A corrupt file, a missing file, a wrong extension: exit 1, no stack dump.
head -c 300 "$graph" >"$tmp/cut.pbtxt"
run 1 "$tmp/cut.out" check "$tmp/cut.pbtxt"
expect_in "$tmp/cut.out" "weft check: INVALID_ARGUMENT: graph file '$tmp/cut.pbtxt' is not a valid text weft.GraphDef: line"
printf '\x0a\xff\xff' >"$tmp/bad.pb"
run 1 "$tmp/bad.out" check "$tmp/bad.pb"
expect_in "$tmp/bad.out" "is not a valid binary weft.GraphDef"
expect_not_in "$tmp/bad.out" "libprotobuf"
run 1 "$tmp/missing.out" check "$tmp/missing.pb"
expect_in "$tmp/missing.out" "weft check: NOT_FOUND: cannot open graph file"
run 1 "$tmp/ext.out" check "$graph.json"
expect_in "$tmp/ext.out" "unknown extension"
for f in "$tmp"/*.out; do
  expect_not_in "$f" "Aborted"
  expect_not_in "$f" "terminate called"
done
run 2 "$tmp/usage.out" check
expect_in "$tmp/usage.out" "expected exactly one graph file"

# --help lists every command.
"$weft" --help >"$tmp/help.out" 2>&1
for cmd in "  demo " "  check GRAPH" "  run GRAPH" "  dot GRAPH" "  partition GRAPH" "  bench GRAPH"; do
  expect_in "$tmp/help.out" "$cmd"
done
expect_in "$tmp/help.out" "--feed (run, bench: NAME=VALUE, repeatable"

finish
