#!/usr/bin/env bash
# End-to-end test of the `weft` commands on ONNX models: check (a model that
# imports, one with symbolic dims, one with an unsupported op, a truncated
# file), import (to .pbtxt and .pb, then run the saved graph), run with the
# model's ONNX names in --feed and --fetch (npy, JSON and ONNX TensorProto
# feeds; the fed shape pinning symbolic dims), --input_shape, dot,
# partition, bench, and the errors and usage errors of each. Uses
# testdata/detlike.onnx and Debian's libonnx-testdata. Run by
# `bazel test //tools/weft:weft_onnx_cli_test`.
set -uo pipefail

weft="$1"
detlike="$2"
tmp="${TEST_TMPDIR}"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/weft/cli_test_lib.sh"

data=/usr/share/libonnx-testdata/data
conv="$data/pytorch-converted/test_Conv2d"
relu="$data/node/test_relu"
bernoulli="$data/node/test_bernoulli/model.onnx"
for f in "$conv/model.onnx" "$conv/test_data_set_0/input_0.pb" \
  "$relu/model.onnx" "$bernoulli"; do
  if [ ! -f "$f" ]; then
    echo "FAIL: $f is missing: install Debian's libonnx-testdata" \
      "(apt-get install libonnx-testdata; tools/bootstrap.sh does)"
    exit 1
  fi
done

# npy FILE SHAPE VALUES...: a little-endian float32 .npy file (format 1.0).
npy() {
  python3 - "$@" <<'PY'
import struct, sys
path, shape, values = sys.argv[1], sys.argv[2], [float(v) for v in sys.argv[3:]]
dims = [int(d) for d in shape.split(",")] if shape else []
text = ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "")
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % text
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) +
            header.encode("latin-1") + struct.pack("<%df" % len(values), *values))
PY
}

# ------------------------------------------------------------- check ----

# A model with symbolic dims: shown by name. It does not import as it is
# (its Shape subgraph needs known dims), and says how to pin them.
run 1 "$tmp/check_det.out" check "$detlike"
expect_in "$tmp/check_det.out" "ONNX model ${detlike}: opset 13, IR version 7, producer 'weft-test' 1.0"
expect_in "$tmp/check_det.out" "graph 'detlike': 8 nodes, 5 initializers"
expect_in "$tmp/check_det.out" "ONNX ops:"
expect_in "$tmp/check_det.out" "  Conv         1"
expect_in "$tmp/check_det.out" "  ReduceMax    1"
expect_in "$tmp/check_det.out" "inputs:
  images: float32[N,3,H,W]
outputs:
  scores: float32[N,K]
  best: float32[N]"
expect_in "$tmp/check_det.out" "imports: no (the error follows)"
expect_in "$tmp/check_det.out" "weft check: UNIMPLEMENTED: ONNX model ${detlike}: 1 unsupported node"
expect_in "$tmp/check_det.out" "node #2 (Shape 'shape'): Shape of a tensor whose shape [?,3,?,?] is not known at import"
expect_in "$tmp/check_det.out" "--input_shape NAME=D,D,... pins an input's shape"
# The summary comes before the error.
[ "$(grep -n 'imports: no' "$tmp/check_det.out" | cut -d: -f1)" -lt \
  "$(grep -n 'weft check: UNIMPLEMENTED' "$tmp/check_det.out" | cut -d: -f1)" ] ||
  fail "check printed the error before the summary"
run 0 "$tmp/check_pin.out" check "$detlike" --input_shape images=1,3,2,2
expect_match "$tmp/check_pin.out" "^imports: [0-9]+ weft nodes$"
expect_in "$tmp/check_pin.out" "  input 'images' -> images:0 float32[1,3,2,2]"
expect_match "$tmp/check_pin.out" "^  output 'scores' -> [^ ]+ float32\[1,8\]$"
expect_match "$tmp/check_pin.out" "^  output 'best' -> [^ ]+ float32\[1\]$"

# A model that imports as it is.
run 0 "$tmp/check_conv.out" check "$conv/model.onnx"
expect_in "$tmp/check_conv.out" "ONNX model $conv/model.onnx: opset 6, IR version 3, producer 'pytorch' 0.3"
expect_in "$tmp/check_conv.out" "  Conv         1"
expect_in "$tmp/check_conv.out" "  0: float32[2,3,7,5]"
expect_in "$tmp/check_conv.out" "  3: float32[2,4,5,4]"
expect_match "$tmp/check_conv.out" "^imports: [0-9]+ weft nodes$"

# An unsupported op: every unsupported node listed, exit 1.
run 1 "$tmp/check_bernoulli.out" check "$bernoulli"
expect_in "$tmp/check_bernoulli.out" "  Bernoulli    1"
expect_in "$tmp/check_bernoulli.out" "  x: float64[10]"
expect_in "$tmp/check_bernoulli.out" "weft check: UNIMPLEMENTED: ONNX model $bernoulli: 1 unsupported node"
expect_in "$tmp/check_bernoulli.out" "  node #0 (Bernoulli): op Bernoulli"
expect_not_in "$tmp/check_bernoulli.out" "imports: 1"

# A truncated file, a missing one, a directory: the error names the file.
head -c 100 "$conv/model.onnx" >"$tmp/bad.onnx"
run 1 "$tmp/check_bad.out" check "$tmp/bad.onnx"
expect_in "$tmp/check_bad.out" "weft check: INVALID_ARGUMENT: ONNX model $tmp/bad.onnx is not a valid ModelProto (100 bytes: truncated, corrupt or not an ONNX file)"
for cmd in run import; do
  case "$cmd" in
    run) run 1 "$tmp/${cmd}_bad.out" run "$tmp/bad.onnx" --fetch 3 ;;
    import) run 1 "$tmp/${cmd}_bad.out" import "$tmp/bad.onnx" -o "$tmp/bad.pbtxt" ;;
  esac
  expect_in "$tmp/${cmd}_bad.out" "weft $cmd: INVALID_ARGUMENT: ONNX model $tmp/bad.onnx is not a valid ModelProto"
done
[ -e "$tmp/bad.pbtxt" ] && fail "import of a truncated model wrote $tmp/bad.pbtxt"
: >"$tmp/empty.onnx"
run 1 "$tmp/check_empty.out" check "$tmp/empty.onnx"
expect_in "$tmp/check_empty.out" "ONNX model $tmp/empty.onnx"
run 1 "$tmp/check_missing.out" check "$tmp/missing.onnx"
expect_in "$tmp/check_missing.out" "weft check: NOT_FOUND: cannot read ONNX model '$tmp/missing.onnx': No such file or directory"
mkdir -p "$tmp/dir.onnx"
run 1 "$tmp/check_dir.out" check "$tmp/dir.onnx"
expect_in "$tmp/check_dir.out" "cannot read ONNX model '$tmp/dir.onnx': Is a directory"
# A graph file of another extension mentions .onnx.
run 1 "$tmp/check_ext.out" check "$tmp/model.json"
expect_in "$tmp/check_ext.out" "has an unknown extension: use '.pb' (binary), '.pbtxt' (text) or '.onnx' (an ONNX model)"

# ------------------------------------------------------- import, run ----

# node/test_relu: x float32[3,4,5] -> y. An npy of 60 values, alternating
# sign; y is x with the negatives zeroed.
values=()
for i in $(seq 0 59); do
  if [ $((i % 2)) -eq 0 ]; then v="$i"; else v="-$i"; fi
  values+=("$v")
done
npy "$tmp/x.npy" 3,4,5 "${values[@]}"
expected="$(python3 - <<'PY'
v = [i if i % 2 == 0 else -i for i in range(60)]
y = [max(0, x) for x in v]
rows = lambda a: "[" + ", ".join("%g" % x for x in a) + "]"
mats = ["[" + ", ".join(rows(y[m * 20 + r * 5:m * 20 + r * 5 + 5]) for r in range(4)) + "]"
        for m in range(3)]
print("y: float32[3,4,5] = [" + ", ".join(mats) + "]")
PY
)"

# Directly on the .onnx, by the model's ONNX names.
run 0 "$tmp/run_relu.out" run "$relu/model.onnx" --feed "x=@$tmp/x.npy" --fetch y
expect_in "$tmp/run_relu.out" "$expected"

# import to .pbtxt: one line; then run the saved graph by the weft names it
# printed.
run 0 "$tmp/import_relu.out" import "$relu/model.onnx" -o "$tmp/relu.pbtxt"
expect_match "$tmp/import_relu.out" "^wrote $tmp/relu.pbtxt: [0-9]+ weft nodes \(0 unused left out\) from ONNX model $relu/model.onnx \(opset [0-9]+\); 1 input: 'x' -> x:0 float32\[3,4,5\]; 1 output: 'y' -> [^ ]+ float32\[3,4,5\]$"
[ "$(wc -l <"$tmp/import_relu.out")" -eq 1 ] || fail "import printed more than one line"
expect_in "$tmp/relu.pbtxt" "# weft.GraphDef"
y_name="$(sed -n "s/.*'y' -> \([^ ]*\) .*/\1/p" "$tmp/import_relu.out")"
run 0 "$tmp/check_relu_pbtxt.out" check "$tmp/relu.pbtxt"
expect_in "$tmp/check_relu_pbtxt.out" "  x: float32[3,4,5]"
run 0 "$tmp/run_relu_pbtxt.out" run "$tmp/relu.pbtxt" --feed "x=@$tmp/x.npy" --fetch "$y_name"
expect_in "$tmp/run_relu_pbtxt.out" "${expected#y}"
expect_in "$tmp/run_relu_pbtxt.out" "$y_name: float32[3,4,5] = "
# --out (the long form) and .pb.
run 0 "$tmp/import_relu_pb.out" import "$relu/model.onnx" --out="$tmp/relu.pb"
expect_in "$tmp/import_relu_pb.out" "wrote $tmp/relu.pb: "
run 0 "$tmp/run_relu_pb.out" run "$tmp/relu.pb" --feed "x=@$tmp/x.npy" --fetch "$y_name"
expect_in "$tmp/run_relu_pb.out" "${expected#y}"

# pytorch-converted/test_Conv2d: input '0', output '3' (names that are also
# digits); fed its ONNX test data (a TensorProto .pb) and, through
# --out_dir, an npy of it.
run 0 "$tmp/run_conv.out" run "$conv/model.onnx" \
  --feed "0=@$conv/test_data_set_0/input_0.pb" --fetch 3
expect_in "$tmp/run_conv.out" "3: float32[2,4,5,4] = [[[["
mkdir -p "$tmp/conv_out"
run 0 "$tmp/run_conv_npy.out" run "$conv/model.onnx" \
  --feed "0=@$conv/test_data_set_0/input_0.pb" --fetch 0,3 --out_dir "$tmp/conv_out"
expect_in "$tmp/run_conv_npy.out" "0: float32[2,3,7,5] -> $tmp/conv_out/0.npy"
run 0 "$tmp/run_conv2.out" run "$conv/model.onnx" --feed "0=@$tmp/conv_out/0.npy" --fetch 3
diff "$tmp/run_conv.out" "$tmp/run_conv2.out" || fail "the npy feed gave another result"

# detlike: the fed value's shape pins the symbolic dims (npy or JSON);
# --input_shape pins them for import.
npy "$tmp/images.npy" 1,3,2,2 1 -2 3 0.25 9 9 9 9 0 1 -1 0.5
run 0 "$tmp/run_det.out" run "$detlike" --feed "images=@$tmp/images.npy" --fetch scores,best
expect_in "$tmp/run_det.out" "scores: float32[1,8] = [[1, 0, 3, 0.25, 0.5, 0, 1.5, 0]]"
expect_in "$tmp/run_det.out" "best: float32[1] = [3]"
run 0 "$tmp/run_det_json.out" run "$detlike" \
  --feed 'images=[[[[1,-2],[3,0.25]],[[9,9],[9,9]],[[0,1],[-1,0.5]]]]' --fetch best
expect_in "$tmp/run_det_json.out" "best: float32[1] = [3]"
run 0 "$tmp/import_det.out" import "$detlike" -o "$tmp/det.pb" --input_shape images=1,3,2,2
expect_in "$tmp/import_det.out" "1 input: 'images' -> images:0 float32[1,3,2,2]; 2 outputs: 'scores' -> "
best_name="$(sed -n "s/.*'best' -> \([^ ]*\) .*/\1/p" "$tmp/import_det.out")"
run 0 "$tmp/run_det_pb.out" run "$tmp/det.pb" --feed "images=@$tmp/images.npy" --fetch "$best_name"
expect_in "$tmp/run_det_pb.out" "$best_name: float32[1] = [3]"
# A weft node name works too: the importer names nodes after ONNX's.
run 0 "$tmp/run_det_weft.out" run "$detlike" --feed "images=@$tmp/images.npy" --fetch relu
expect_in "$tmp/run_det_weft.out" "relu: float32[1,2,2,2] = "

# dot, partition and bench take the model too.
run 0 "$tmp/dot_det.out" dot "$detlike" --input_shape images=1,3,4,4
expect_in "$tmp/dot_det.out" "digraph"
run 0 "$tmp/part_det.out" partition "$detlike" --input_shape images=1,3,4,4 \
  --fetch best --devices cpu:0
expect_in "$tmp/part_det.out" "partition 0 on cpu:0: "
expect_in "$tmp/part_det.out" "  images = Placeholder()"
run 0 "$tmp/bench_det.out" bench "$detlike" --feed "images=@$tmp/images.npy" \
  --fetch scores --runs 5
expect_in "$tmp/bench_det.out" "5 runs, 1 client thread(s), devices cpu:0"

# ------------------------------------------------------------ errors ----

run 1 "$tmp/fetch_typo.out" run "$detlike" --feed "images=@$tmp/images.npy" --fetch scroes
expect_in "$tmp/fetch_typo.out" "--fetch 'scroes': graph 'detlike'"
expect_in "$tmp/fetch_typo.out" "did you mean 'scores'?"
run 1 "$tmp/fetch_none.out" run "$detlike" --feed "images=@$tmp/images.npy" --fetch zzzz
expect_in "$tmp/fetch_none.out" "; the ONNX model's outputs: 'scores', 'best'"
# A feed that names no input pins nothing; the import error says so.
run 1 "$tmp/feed_typo.out" run "$detlike" --feed "image=@$tmp/images.npy" --fetch scores
expect_in "$tmp/feed_typo.out" "--feed 'image' names no input of the model, so it pins no shape; did you mean 'images'?"
run 1 "$tmp/feed_typo2.out" run "$relu/model.onnx" --feed "xx=@$tmp/x.npy" --fetch y
expect_in "$tmp/feed_typo2.out" "--feed 'xx': graph "
expect_in "$tmp/feed_typo2.out" "did you mean 'x'?"
run 1 "$tmp/feed_shape.out" run "$relu/model.onnx" --feed "x=@$tmp/images.npy" --fetch y
expect_in "$tmp/feed_shape.out" "(Placeholder defined at model.onnx:0 in ONNX input 'x')"
expect_in "$tmp/feed_shape.out" "fed float32[1,3,2,2] but 'x:0' is float32[3,4,5]"
run 1 "$tmp/feed_pb.out" run "$relu/model.onnx" --feed "x=@$conv/model.onnx.pb" --fetch y
expect_in "$tmp/feed_pb.out" "--feed 'x': cannot read tensor file '$conv/model.onnx.pb': No such file or directory"
cp "$tmp/bad.onnx" "$tmp/bad_tensor.pb"
run 1 "$tmp/feed_badpb.out" run "$relu/model.onnx" --feed "x=@$tmp/bad_tensor.pb" --fetch y
expect_in "$tmp/feed_badpb.out" "--feed 'x': tensor file '$tmp/bad_tensor.pb' is not a valid ONNX TensorProto"
run 1 "$tmp/shape_name.out" check "$detlike" --input_shape imagse=1,3,2,2
expect_in "$tmp/shape_name.out" "weft check: NOT_FOUND: --input_shape 'imagse': ONNX model $detlike has no input 'imagse'; did you mean 'images'?"
run 1 "$tmp/shape_none.out" check "$detlike" --input_shape zzz=1
expect_in "$tmp/shape_none.out" "has no input 'zzz'; its inputs: 'images'"
run 1 "$tmp/shape_fit.out" run "$detlike" --input_shape images=1,4,2,2 \
  --feed "images=@$tmp/images.npy" --fetch best
expect_in "$tmp/shape_fit.out" "weft run: INVALID_ARGUMENT: --input_shape 'images': [1,4,2,2] does not fit the model's input 'images', which is float32[N,3,H,W]"
run 1 "$tmp/import_bernoulli.out" import "$bernoulli" -o "$tmp/bernoulli.pbtxt"
expect_in "$tmp/import_bernoulli.out" "weft import: UNIMPLEMENTED: ONNX model $bernoulli: 1 unsupported node"
[ -e "$tmp/bernoulli.pbtxt" ] && fail "a refused import wrote $tmp/bernoulli.pbtxt"
run 1 "$tmp/import_nodir.out" import "$relu/model.onnx" -o "$tmp/nodir/relu.pbtxt"
expect_in "$tmp/import_nodir.out" "weft import: NOT_FOUND: cannot write graph file '$tmp/nodir/relu.pbtxt': "
expect_in "$tmp/import_nodir.out" "No such file or directory"
for f in "$tmp"/*.out; do
  expect_not_in "$f" "Aborted"
  expect_not_in "$f" "terminate called"
  expect_not_in "$f" "libprotobuf"
done

# Usage errors (exit 2).
run 2 "$tmp/import_noout.out" import "$relu/model.onnx"
expect_in "$tmp/import_noout.out" "weft import: import needs -o FILE (or --out FILE)"
expect_in "$tmp/import_noout.out" "Usage: weft import MODEL.onnx -o GRAPH"
run 2 "$tmp/import_ext.out" import "$relu/model.onnx" -o "$tmp/relu.json"
expect_in "$tmp/import_ext.out" "weft import: invalid value '$tmp/relu.json' for --out: the graph file's extension must be '.pb' (binary) or '.pbtxt' (text)"
run 2 "$tmp/import_args.out" import -o "$tmp/relu.pbtxt"
expect_in "$tmp/import_args.out" "weft import: expected exactly one ONNX model file (got 0 arguments)"
run 2 "$tmp/shape_pbtxt.out" check "$tmp/relu.pbtxt" --input_shape x=3,4,5
expect_in "$tmp/shape_pbtxt.out" "weft check: --input_shape applies to ONNX models (.onnx) only, and '$tmp/relu.pbtxt' is not one"
run 2 "$tmp/shape_syntax.out" check "$detlike" --input_shape images=1,x,2
expect_in "$tmp/shape_syntax.out" "weft check: invalid value 'images=1,x,2' for --input_shape: expected NAME=D[,D...]"
run 2 "$tmp/shape_twice.out" check "$detlike" --input_shape images=1,3,2,2 --input_shape images=1,3,4,4
expect_in "$tmp/shape_twice.out" "--input_shape gives input 'images' twice"
run 2 "$tmp/shape_dash.out" check "$detlike" --input-shape images=1,3,2,2
expect_in "$tmp/shape_dash.out" "weft check: unknown flag --input-shape; did you mean --input_shape?"
run 2 "$tmp/imprt.out" imprt "$detlike"
expect_in "$tmp/imprt.out" "weft: unknown command 'imprt'; did you mean 'import'?"
run 2 "$tmp/import_flag.out" import "$detlike" -o "$tmp/d.pbtxt" --fetch scores
expect_in "$tmp/import_flag.out" "weft import: --fetch does not apply to import; its flags are --out, --input_shape"

# Help.
for args in "import --help" "help import"; do
  run 0 "$tmp/import_help.out" $args
  expect_in "$tmp/import_help.out" "Usage: weft import MODEL.onnx -o GRAPH [--input_shape NAME=D,...]"
  expect_in "$tmp/import_help.out" "  -o, --out FILE"
  expect_in "$tmp/import_help.out" "  --input_shape NAME=D,D,..."
done
run 0 "$tmp/help.out" --help
expect_in "$tmp/help.out" "  import MODEL.onnx -o GRAPH"
expect_in "$tmp/help.out" "check, run, dot, partition, bench, import: ONNX models only"
awk 'length > 78 { print FILENAME ": " $0; bad = 1 } END { exit bad }' \
  "$tmp/help.out" "$tmp/import_help.out" || fail "help lines longer than 78 columns"

finish
