#!/usr/bin/env bash
# End-to-end test of the `weft` graph commands on a file with a function
# library (examples/fib.pbtxt): check lists the functions, run executes
# While/Call/Cond, dot and partition name the called functions, --function
# dumps a body (an unknown name gets "did you mean"), a broken library is a
# clean error naming the cycle, and examples/fib.cc writes the file it is
# given. Run by `bazel test //tools/weft:weft_function_cli_test`.
set -uo pipefail

weft="$1"
graph="$2"
fib="$3"
tmp="${TEST_TMPDIR}"
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/weft/cli_test_lib.sh"

# check: the functions, callees first, with their trace sites.
run 0 "$tmp/check.out" check "$graph"
expect_in "$tmp/check.out" "  While        1"
expect_in "$tmp/check.out" "functions:"
expect_in "$tmp/check.out" "  fib_cond(int64[], int64[], int64[]) -> (bool[]): 5 body nodes, 1 captures; traced at examples/fib.cc:"
expect_in "$tmp/check.out" "  square(int64[]) -> (int64[]): 2 body nodes, 0 captures; traced at examples/fib.cc:"

# run: the loop, the call and both branches of the Cond.
run 0 "$tmp/run.out" run "$graph" --feed n=10 --fetch fib,squared,sign
expect_in "$tmp/run.out" "fib: int64[] = 55"
expect_in "$tmp/run.out" "squared: int64[] = 3025"
expect_in "$tmp/run.out" "sign: int64[] = 1"
run 0 "$tmp/neg.out" run "$graph" --feed n=-4 --fetch sign
expect_in "$tmp/neg.out" "sign: int64[] = -1"

# dot and partition name the called functions.
run 0 "$tmp/dot.out" dot "$graph"
expect_in "$tmp/dot.out" 'label="loop\nWhile[cond=fib_cond, body=fib_body]"'
expect_in "$tmp/dot.out" 'label="sign\nCond[then=minus_one, else=plus_one]"'
run 0 "$tmp/part.out" partition "$graph" --fetch squared --devices cpu:0
expect_in "$tmp/part.out" "  square = Call[square](fib:0)"

# --function: a body, its arguments fed, its outputs fetched.
run 0 "$tmp/body.out" dot "$graph" --function fib_body
expect_in "$tmp/body.out" 'label="i\nPlaceholder (fed)"'
expect_in "$tmp/body.out" 'label="Add\nAdd"'
run 0 "$tmp/bodyp.out" partition "$graph" --function fib_cond --devices cpu:0
expect_in "$tmp/bodyp.out" "  capture0 = feed"
expect_in "$tmp/bodyp.out" "  Less = Less(i:0, capture0:0)"
run 1 "$tmp/nofn.out" dot "$graph" --function nosuch
expect_in "$tmp/nofn.out" "weft dot: NOT_FOUND: --function 'nosuch': graph 'fib' calls no function of that name; it calls 'fib_cond', 'step', 'fib_body', 'square', 'minus_one', 'plus_one'"
expect_not_in "$tmp/nofn.out" "did you mean"
run 1 "$tmp/typofn.out" partition "$graph" --function fib_bdy --devices cpu:0
expect_in "$tmp/typofn.out" "'minus_one', 'plus_one'; did you mean 'fib_body'?"
run 2 "$tmp/fnflag.out" run "$graph" --feed n=10 --fetch fib --function fib_body
expect_in "$tmp/fnflag.out" "weft run: --function does not apply to run"
run 1 "$tmp/typo.out" run "$graph" --feed n=10 --fetch fbi
expect_in "$tmp/typo.out" "has no tensor 'fbi'; did you mean 'fib'?"

# A library made recursive (fib_body calling itself instead of step) is
# refused, naming the file and the cycle.
awk '/^library \{/ { lib = 1 }
     lib && /name: "step"/ && prev ~ /kind: "Function"/ { sub(/"step"/, "\"fib_body\"") }
     { prev = $0; print }' "$graph" >"$tmp/rec.pbtxt"
run 1 "$tmp/rec.out" check "$tmp/rec.pbtxt"
expect_in "$tmp/rec.out" "weft check: INVALID_ARGUMENT: graph file '$tmp/rec.pbtxt': recursion rejected: its function library has the cycle 'fib_body' -> 'fib_body'"
expect_in "$tmp/rec.out" "function 'fib_body' calls 'fib_body' in node 'step' (traced at examples/fib.cc:"

# examples/fib.cc writes the file it is given (the checked-in one, up to the
# format version stamp), and with no argument only prints its usage.
before="$(cksum <"$graph")"
"$fib" >"$tmp/fib_none.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "fib with no argument exited ${rc}, want 2"
expect_in "$tmp/fib_none.out" "usage: fib OUTPUT"
[ "$(cksum <"$graph")" = "$before" ] || fail "fib with no argument changed ${graph}"
"$fib" "$tmp/fib.pbtxt" >"$tmp/fib_write.out" 2>&1 || fail "fib $tmp/fib.pbtxt failed"
expect_in "$tmp/fib_write.out" "(9 nodes) to $tmp/fib.pbtxt"
diff -u <(grep -Ev '^(version_minor|producer):' "$graph") \
  <(grep -Ev '^(version_minor|producer):' "$tmp/fib.pbtxt") ||
  fail "examples/fib.cc no longer writes ${graph} (regenerate it)"
run 0 "$tmp/fib_run.out" run "$tmp/fib.pbtxt" --feed n=10 --fetch fib
expect_in "$tmp/fib_run.out" "fib: int64[] = 55"

finish
