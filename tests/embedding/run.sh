#!/usr/bin/env bash
# Checks docs/embedding.md against reality (run by .ci/run, counted as one
# test; also fine by hand: bash tests/embedding/run.sh):
#  1. the doc shows this directory's WORKSPACE, .bazelrc, BUILD and
#     service.cc verbatim;
#  2. those files, copied to a fresh directory outside this checkout with
#     the WORKSPACE's "/path/to/weft" replaced by this checkout, build and
#     run with `bazel run //:service` (its own --output_base under the temp
#     directory, so nothing is shared with this checkout's Bazel), and the
#     service prints the expected sums;
#  3. a copy of this checkout without third_party/deps (a fresh clone that
#     skipped tools/bootstrap.sh) fails `bazel build //graph` with the hint
#     "run tools/bootstrap.sh in this checkout".
# Needs what tools/bootstrap.sh installs. Cold, step 2 compiles Abseil,
# oneTBB and weft again (several minutes on 2 cores).
# Optional: WEFT_EMBEDDING_DISK_CACHE=<dir> passes --disk_cache to step 2.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
doc="${root}/docs/embedding.md"
files=(WORKSPACE .bazelrc BUILD service.cc)
expected="service: 100 runs on 4 threads, sum of y = [250, 200]"
hint="run tools/bootstrap.sh in this checkout"
common=(--color=no --curses=no --noshow_progress)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/weft-embedding.XXXXXX")"
servers=()
cleanup() {
  local ob
  for ob in "${servers[@]}"; do
    # Only the servers this script started (their own output bases).
    (cd "${ob%/output_base}/ws" 2>/dev/null && bazel --output_base="$ob" shutdown >/dev/null 2>&1)
  done
  chmod -R u+w "$tmp" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
pass() { echo "embedding: PASS $*"; }
fail() { echo "embedding: FAIL $*"; failures=$((failures + 1)); }

# 1. The doc shows the files as they are.
doc_text="$(cat "$doc")"
for f in "${files[@]}"; do
  text="$(cat "${here}/${f}")"
  if [[ "$doc_text" == *"$text"* ]]; then
    pass "docs/embedding.md shows tests/embedding/${f} verbatim"
  else
    fail "docs/embedding.md does not show tests/embedding/${f} verbatim (update one or the other)"
  fi
done

# 2. Build and run the service from a scratch workspace outside the checkout.
case "$tmp/" in
  "$root"/*) fail "temp directory ${tmp} is inside the checkout ${root}" ;;
esac
svc="${tmp}/service"
mkdir -p "${svc}/ws"
for f in "${files[@]}"; do cp "${here}/${f}" "${svc}/ws/${f}"; done
sed -i "s|\"/path/to/weft\"|\"${root}\"|" "${svc}/ws/WORKSPACE"
servers+=("${svc}/output_base")
extra=()
[ -n "${WEFT_EMBEDDING_DISK_CACHE:-}" ] && extra+=(--disk_cache="${WEFT_EMBEDDING_DISK_CACHE}")
echo "embedding: bazel run //:service in ${svc}/ws (weft at ${root})"
start=$SECONDS
(cd "${svc}/ws" && bazel --output_base="${svc}/output_base" run "${common[@]}" \
  "${extra[@]}" //:service >"${svc}/stdout" 2>"${svc}/stderr")
rc=$?
echo "embedding: bazel run exit ${rc} after $((SECONDS - start)) s; the service printed:"
sed 's/^/  | /' "${svc}/stdout"
if [ "$rc" -eq 0 ] && grep -qxF "$expected" "${svc}/stdout"; then
  pass "outside workspace builds and runs //:service"
else
  tail -n 30 "${svc}/stderr" | sed 's/^/  ! /'
  fail "outside workspace: expected \"${expected}\""
fi

# 3. A checkout without third_party/deps names the fix.
bare="${tmp}/bare"
mkdir -p "${bare}/ws"
(cd "$root" && tar --exclude=./.git --exclude='./bazel-*' \
  --exclude=./third_party/deps -cf - .) |
  tar -xf - -C "${bare}/ws"
servers+=("${bare}/output_base")
(cd "${bare}/ws" && bazel --output_base="${bare}/output_base" build "${common[@]}" \
  --nobuild //graph >"${bare}/log" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -qF "$hint" "${bare}/log"; then
  pass "without third_party/deps: $(grep -oE 'weft: third_party/deps/[a-z]+ is missing.*' "${bare}/log" | head -n1)"
else
  tail -n 20 "${bare}/log" | sed 's/^/  ! /'
  fail "without third_party/deps: bazel build //graph (exit ${rc}) did not say \"${hint}\""
fi

if [ "$failures" -eq 0 ]; then
  echo "embedding: all checks passed"
  exit 0
fi
echo "embedding: ${failures} check(s) failed"
exit 1
