#!/usr/bin/env bash
# End-to-end test of the `weft` graph commands on examples/mlp.pbtxt: check,
# run (inline JSON, @file.npy, --out_dir, --trace), dot, partition, bench,
# --help, errors (exit 1, the status message with the saved provenance and
# "did you mean", no stack dump), usage errors (exit 2), and examples/mlp.cc
# writing the file. Run by `bazel test //tools/weft:weft_graph_cli_test`.
set -uo pipefail

weft="$1"
graph="$2"
golden="$3"
mlp="$4"
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
expect_in "$tmp/nofetch.out" "has no tensor 'nosuch'; its outputs no node consumes: 'layer2/probs'"
# An unknown tensor name: the nearest names by edit distance.
run 1 "$tmp/typo.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/prob
expect_in "$tmp/typo.out" "weft run: NOT_FOUND: --fetch 'layer2/prob': graph 'mlp' (id "
expect_in "$tmp/typo.out" "has no tensor 'layer2/prob'; did you mean 'layer2/probs'?"
run 1 "$tmp/swap.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch lyaer2/probs
expect_in "$tmp/swap.out" "did you mean 'layer2/probs'?"
run 1 "$tmp/base.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch probs
expect_in "$tmp/base.out" "did you mean 'layer2/probs'?"
run 1 "$tmp/two.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch w
expect_in "$tmp/two.out" "did you mean 'layer1/w' or 'layer2/w'?"
run 1 "$tmp/slot.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/prob:0
expect_in "$tmp/slot.out" "did you mean 'layer2/probs:0'?"
run 1 "$tmp/feedname.out" run "$graph" --feed 'X=[[1,2,3,4]]' --fetch layer2/probs
expect_in "$tmp/feedname.out" "--feed 'X': graph 'mlp'"
expect_in "$tmp/feedname.out" "has no tensor 'X'; did you mean 'x'?"
run 1 "$tmp/feednone.out" run "$graph" --feed 'input=[[1,2,3,4]]' --fetch layer2/probs
expect_in "$tmp/feednone.out" "has no tensor 'input'; its placeholders: 'x'"
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

# Write errors name the path and the system's reason (errno).
run 1 "$tmp/outdir.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs \
  --out_dir "$tmp/nodir"
expect_in "$tmp/outdir.out" "weft run: NOT_FOUND: --out_dir '$tmp/nodir': No such file or directory (create the directory first)"
[ -e "$tmp/nodir" ] && fail "--out_dir created $tmp/nodir"
: >"$tmp/plainfile"
run 1 "$tmp/outfile.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs \
  --out_dir "$tmp/plainfile"
expect_in "$tmp/outfile.out" "weft run: FAILED_PRECONDITION: --out_dir '$tmp/plainfile': not a directory"
run 1 "$tmp/tracedir.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs \
  --trace "$tmp/nodir/t.json"
expect_in "$tmp/tracedir.out" "weft run: NOT_FOUND: cannot write '$tmp/nodir/t.json': No such file or directory"

# Usage errors: exit 2, the message, the command's usage; near misses named.
run 2 "$tmp/usage.out" check
expect_in "$tmp/usage.out" "weft check: expected exactly one graph file (got 0 arguments)"
expect_in "$tmp/usage.out" "Usage: weft check GRAPH"
run 2 "$tmp/two_graphs.out" check "$graph" "$graph"
expect_in "$tmp/two_graphs.out" "expected exactly one graph file (got 2 arguments)"
run 2 "$tmp/fetc.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetc layer2/probs
expect_in "$tmp/fetc.out" "weft run: unknown flag --fetc; did you mean --fetch?"
expect_in "$tmp/fetc.out" "Usage: weft run GRAPH --feed NAME=VALUE ... --fetch NAME ..."
expect_in "$tmp/fetc.out" "Run 'weft run --help' for its flags and an example."
run 2 "$tmp/outdash.out" run "$graph" --fetch layer2/probs --out-dir "$tmp"
expect_in "$tmp/outdash.out" "unknown flag --out-dir; did you mean --out_dir?"
run 2 "$tmp/devices1.out" partition "$graph" --fetch layer2/probs -device=cpu:0
expect_in "$tmp/devices1.out" "weft partition: unknown flag -device; did you mean --devices?"
run 2 "$tmp/noflag.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs --zzz
expect_in "$tmp/noflag.out" "weft run: unknown flag --zzz"
expect_not_in "$tmp/noflag.out" "did you mean"
run 2 "$tmp/notrun.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs --runs 5
expect_in "$tmp/notrun.out" "weft run: --runs does not apply to run; its flags are --feed, --fetch, --devices, --threads, --trace, --out_dir"
run 2 "$tmp/checkflag.out" check "$graph" --fetch layer2/probs
expect_in "$tmp/checkflag.out" "weft check: --fetch does not apply to check; its flags are --input_shape"
run 2 "$tmp/runs.out" bench "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs --runs abc
expect_in "$tmp/runs.out" "weft bench: invalid value 'abc' for --runs: expected N (an integer)"
run 2 "$tmp/runs0.out" bench "$graph" --feed 'x=[[1,2,3,4]]' --fetch layer2/probs --runs=0
expect_in "$tmp/runs0.out" "weft bench: invalid value '0' for --runs: must be >= 1"
run 2 "$tmp/needfetch.out" run "$graph" --feed 'x=[[1,2,3,4]]'
expect_in "$tmp/needfetch.out" "weft run: run needs --fetch NAME[,NAME...]"
run 2 "$tmp/needvalue.out" run "$graph" --feed 'x=[[1,2,3,4]]' --fetch
expect_in "$tmp/needvalue.out" "weft run: flag --fetch needs a value (--fetch NAME[,NAME...])"
run 2 "$tmp/needdev.out" partition "$graph" --fetch layer2/probs
expect_in "$tmp/needdev.out" "weft partition: partition needs --devices D[,D...]"
run 2 "$tmp/rnu.out" rnu "$graph"
expect_in "$tmp/rnu.out" "weft: unknown command 'rnu'; did you mean 'run'?"
expect_in "$tmp/rnu.out" "Commands:"
for f in "$tmp"/*.out; do
  expect_not_in "$f" "ERROR: Unknown command line flag"  # absl's own message
done

# --help lists every command and flag; `run --help` run's own.
run 0 "$tmp/help.out" --help
for cmd in "  demo " "  check GRAPH" "  run GRAPH" "  dot GRAPH" "  partition GRAPH" "  bench GRAPH"; do
  expect_in "$tmp/help.out" "$cmd"
done
expect_in "$tmp/help.out" "  --feed NAME=VALUE"
expect_in "$tmp/help.out" "run, bench: feed tensor NAME"
run 0 "$tmp/runhelp.out" run "$graph" --help
expect_in "$tmp/runhelp.out" "Usage: weft run GRAPH"
expect_in "$tmp/runhelp.out" "  --feed NAME=VALUE"
expect_not_in "$tmp/runhelp.out" "--clients"
run 0 "$tmp/benchhelp.out" bench -h
expect_in "$tmp/benchhelp.out" "Usage: weft bench GRAPH"
expect_in "$tmp/benchhelp.out" "  --clients C"

# examples/mlp.cc writes the graph file it is given, and only that: with no
# argument it prints its usage and exits 2; the file it writes is the
# checked-in one (up to the format version stamp) and partitions as the
# golden file says.
before="$(cksum <"$graph")"
"$mlp" >"$tmp/mlp_none.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "mlp with no argument exited ${rc}, want 2"
expect_in "$tmp/mlp_none.out" "usage: mlp OUTPUT"
[ "$(cksum <"$graph")" = "$before" ] || fail "mlp with no argument changed ${graph}"
"$mlp" --help >"$tmp/mlp_help.out" 2>&1 || fail "mlp --help exited non-zero"
expect_in "$tmp/mlp_help.out" "bazel run //examples:mlp -- examples/mlp.pbtxt"
"$mlp" "$tmp/mlp.pbtxt" >"$tmp/mlp_write.out" 2>&1 || fail "mlp $tmp/mlp.pbtxt failed"
expect_in "$tmp/mlp_write.out" "(11 nodes) to $tmp/mlp.pbtxt"
diff -u <(grep -Ev '^(version_minor|producer):' "$graph") \
  <(grep -Ev '^(version_minor|producer):' "$tmp/mlp.pbtxt") ||
  fail "examples/mlp.cc no longer writes ${graph} (regenerate it)"
run 0 "$tmp/mlp_part.out" partition "$tmp/mlp.pbtxt" --fetch layer2/probs --devices cpu:0,cpu:1
diff -u "$golden" "$tmp/mlp_part.out" || fail "partition of the written file differs from ${golden}"
mkdir -p "$tmp/ws"
# Under `bazel run`, a relative path is from where Bazel was run.
BUILD_WORKING_DIRECTORY="$tmp/ws" "$mlp" rel.pb >"$tmp/mlp_rel.out" 2>&1 ||
  fail "mlp rel.pb under BUILD_WORKING_DIRECTORY failed"
[ -s "$tmp/ws/rel.pb" ] || fail "mlp rel.pb did not write BUILD_WORKING_DIRECTORY/rel.pb"
[ -e rel.pb ] && fail "mlp rel.pb wrote to the current directory"
"$mlp" "$tmp/nodir/m.pbtxt" >"$tmp/mlp_nodir.out" 2>&1 && fail "mlp to a missing directory succeeded"
expect_in "$tmp/mlp_nodir.out" "No such file or directory"

finish
