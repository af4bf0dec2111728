# cli_test_lib.sh — the checks the `weft` tool's shell tests share. Source it
# from a sh_test that lists it in `data`:
#   source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/weft/cli_test_lib.sh"
# `run` calls the binary in $weft; `finish` prints the verdict and exits.

failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || { fail "$1 lacks: $2"; echo "--- $1:"; cat "$1"; }
}
expect_not_in() {  # expect_not_in FILE TEXT
  if grep -qF -- "$2" "$1"; then fail "$1 has: $2"; fi
}
run() {  # run WANT_STATUS OUT_FILE ARGS...: runs weft, checks the status
  local want="$1" out="$2"
  shift 2
  "$weft" "$@" >"$out" 2>&1
  local rc=$?
  [ "$rc" -eq "$want" ] || { fail "weft $* exited ${rc}, want ${want}"; cat "$out"; }
}
finish() {  # exits 1 if any check failed
  if [ "$failures" -ne 0 ]; then
    echo "${failures} check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
expect_match() {  # expect_match FILE REGEX (grep -E)
  grep -qE -- "$2" "$1" || { fail "$1 does not match: $2"; echo "--- $1:"; cat "$1"; }
}
