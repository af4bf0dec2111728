#!/usr/bin/env bash
# End-to-end test of examples/ocr: the example draws its page, runs
# PaddleOCR's detector and recognizer through weft, and prints the lines it
# drew and the boxes and text it found. Checks, from that output alone:
# as many boxes as lines, each box overlapping a line of its own with
# IoU > 0.5 (computed here), each line read with at most one error in four
# characters (spaces ignored: the model drops some), the page written as a
# 640x640 PGM; then --no_rec (boxes, no text) and a usage error (exit 2).
# Run by `bazel test //examples/ocr:ocr_test`.
set -uo pipefail

ocr="$1"
tmp="${TEST_TMPDIR}"

fail() {
  echo "FAIL: $*"
  exit 1
}

"$ocr" --page="$tmp/page.pgm" >"$tmp/out.txt" 2>"$tmp/err.txt" ||
  fail "ocr exited with $? (stderr: $(cat "$tmp/err.txt"))"
cat "$tmp/out.txt"

python3 - "$tmp/out.txt" <<'PY' || exit 1
import re, sys

out = open(sys.argv[1]).read()
box = r"x +(\d+)\.\. *(\d+) y +(\d+)\.\. *(\d+)"
lines = [(tuple(map(int, m[:4])), m[4]) for m in
         re.findall(r"^  line \d+: " + box + r'  "(.*)"$', out, re.M)]
boxes = [tuple(map(int, m)) for m in re.findall(r"^  box \d+: " + box, out, re.M)]
texts = re.findall(r'^  box \d+: "(.*)"  confidence', out, re.M)

def iou(a, b):
  ix = max(0, min(a[1], b[1]) - max(a[0], b[0]))
  iy = max(0, min(a[3], b[3]) - max(a[2], b[2]))
  inter = ix * iy
  area = lambda r: (r[1] - r[0]) * (r[3] - r[2])
  return inter / (area(a) + area(b) - inter)

def distance(a, b):  # Levenshtein
  row = list(range(len(b) + 1))
  for i, ca in enumerate(a, 1):
    prev, row[0] = row[0], i
    for j, cb in enumerate(b, 1):
      prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                 prev + (ca != cb))
  return row[-1]

errors = []
if len(lines) != 5:
  errors.append(f"{len(lines)} lines drawn, expected 5")
if len(boxes) != len(lines):
  errors.append(f"{len(boxes)} boxes detected for {len(lines)} lines drawn")
if len(texts) != len(boxes):
  errors.append(f"{len(texts)} texts read for {len(boxes)} boxes")
matched = set()
for i, b in enumerate(boxes):
  scores = [iou(b, l) for l, _ in lines]
  best = max(range(len(lines)), key=lambda j: scores[j]) if lines else None
  if best is None or scores[best] <= 0.5:
    errors.append(f"box {i} {b} overlaps no line with IoU > 0.5")
    continue
  if best in matched:
    errors.append(f"box {i} is the second box on line {best}")
  matched.add(best)
  if i < len(texts):
    want = lines[best][1].replace(" ", "")
    got = texts[i].replace(" ", "")
    if distance(got, want) * 4 > len(want):
      errors.append(f"box {i} read {texts[i]!r}, line {best} is "
                    f"{lines[best][1]!r}: more than one error in four")
for e in errors:
  print("FAIL:", e)
sys.exit(1 if errors else 0)
PY

printf 'P5\n640 640\n255\n' | cmp -s -n 15 - "$tmp/page.pgm" ||
  fail "the page is not a 640x640 PGM: $(head -c 15 "$tmp/page.pgm" | od -c)"
[ "$(stat -c %s "$tmp/page.pgm")" = $((15 + 640 * 640)) ] ||
  fail "the page has $(stat -c %s "$tmp/page.pgm") bytes"

"$ocr" --no_rec >"$tmp/det.txt" 2>&1 || fail "--no_rec exited with $?"
[ "$(grep -c '^  box [0-9]*: x' "$tmp/det.txt")" = 5 ] ||
  fail "--no_rec: not 5 boxes: $(cat "$tmp/det.txt")"
if grep -q recognizer "$tmp/det.txt"; then
  fail "--no_rec ran the recognizer"
fi

"$ocr" --bogus >"$tmp/usage.txt" 2>&1
status=$?
[ "$status" = 2 ] || fail "an unknown flag exited with $status, not 2"
grep -q "unknown argument --bogus" "$tmp/usage.txt" ||
  fail "no usage error: $(cat "$tmp/usage.txt")"

echo PASS
