#!/usr/bin/env bash
# The test behind weft_partition_test (tools/weft/defs.bzl): runs
# `weft partition GRAPH --fetch FETCHES --devices DEVICES` and diffs the
# output against GOLDEN. With --update (under `bazel run`), rewrites GOLDEN
# in the source tree instead.
# Usage: partition_test.sh WEFT GRAPH GOLDEN FETCHES DEVICES LABEL [--update]
set -uo pipefail

weft="$1" graph="$2" golden="$3" fetches="$4" devices="$5" label="$6"
shift 6
update=0
for arg in "$@"; do
  [ "$arg" = "--update" ] && update=1
done

tmp="${TEST_TMPDIR:-$(mktemp -d)}"
actual="${tmp}/partition.actual"
if ! "$weft" partition "$graph" --fetch="$fetches" --devices="$devices" \
    >"$actual" 2>"${tmp}/partition.err"; then
  echo "FAIL: weft partition ${graph} --fetch=${fetches} --devices=${devices} failed:"
  cat "${tmp}/partition.err"
  exit 1
fi

if [ "$update" -eq 1 ]; then
  if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
    echo "--update rewrites the golden file in the source tree; run it with"
    echo "  bazel run ${label} -- --update"
    exit 1
  fi
  cp "$actual" "${BUILD_WORKSPACE_DIRECTORY}/${golden}"
  echo "updated ${golden}"
  exit 0
fi

if ! diff -u --label "golden: ${golden}" --label "actual: weft partition" \
    "$golden" "$actual"; then
  echo
  echo "FAIL: the partition of ${graph} differs from ${golden} (diff above)."
  echo "If the change is intended, regenerate the golden file with"
  echo "  bazel run ${label} -- --update"
  exit 1
fi
echo "PASS: the partition of ${graph} matches ${golden}"
