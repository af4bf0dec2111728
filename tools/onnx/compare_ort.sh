#!/usr/bin/env bash
# weft against ONNX Runtime on the PaddleOCR models (det 1x3x640x640, rec
# 1x3x48x320, cls 1x3x48x192, det at batch 8), 2 threads each, in
# alternating rounds; also det's import + plan compile time. Prints one line
# per measurement and a table of per-round medians with the weft/ORT range
# (docs/perf.md, "ONNX models vs ONNX Runtime").
#
#   tools/onnx/compare_ort.sh [--rounds 4] [--runs 5] [--threads 2] \
#       [--only det,rec,cls,det_b8]
#
# Run from the repository root. Builds //tools/weft and
# //tools/bench:onnx_bench with -c opt first; needs node and the
# onnxruntime-node package tools/bootstrap.sh installs in
# third_party/deps/npm/ort.
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build -c opt //tools/weft //tools/bench:onnx_bench
# Not bazel-bin: other builds (-c fastbuild) may have repointed it.
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
exec node tools/onnx/compare_ort.js \
  --weft "$BIN/tools/weft/weft" \
  --onnx_bench "$BIN/tools/bench/onnx_bench" \
  --ort third_party/deps/npm/ort \
  --models third_party/deps/npm/ocr-models/assets \
  "$@"
