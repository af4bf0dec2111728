#!/usr/bin/env python3
"""Extracts every C++ example of the docs into one C++ test source.

Usage: extract_examples.py OUT.cc DOC.md...

Every ```cpp (or ```c++) block must follow a marker on the line just
before its fence, which says how the block is tested:

  <!-- example: compile -->       statements, compiled inside a function
  <!-- example: run -->           statements, compiled and run by the test
                                  (a non-OK status or a crash fails it)
  <!-- example: declarations -->  namespace-scope code (classes, functions,
                                  declarations restating an API), compiled
  <!-- example: program -->       a complete program with main(), compiled
                                  and run (a non-zero exit fails the test)

A marker may hold setup code the block assumes (the variables it uses),
between the marker's first line and its closing `-->`; it is compiled just
before the block and is not shown by a markdown renderer:

  <!-- example: compile
  weft::Graph g = weft::Graph::Create("g");
  -->

`#include` lines of the block and its setup are moved to the top of the
generated file. A block without a marker fails the extraction, so no new
example goes untested. Compile errors point at the markdown file and line.
"""

import re
import sys

KINDS = ("compile", "run", "declarations", "program")
FENCE = re.compile(r"^\s*```(cpp|c\+\+)\s*$")
MARKER = re.compile(r"^<!-- example: (\S+)(.*)$")


class Example:
    def __init__(self, path, kind, setup, setup_line, body, body_line):
        self.path = path
        self.kind = kind
        self.setup = setup
        self.setup_line = setup_line
        self.body = body
        self.body_line = body_line


def fail(path, line, message):
    sys.stderr.write("%s:%d: %s\n" % (path, line, message))
    sys.exit(1)


def parse(path, text):
    """The examples of one markdown file."""
    lines = text.split("\n")
    examples = []
    i = 0
    while i < len(lines):
        if not FENCE.match(lines[i]):
            if lines[i].lstrip().startswith("```"):
                # Skip other fenced blocks whole (their text is not parsed).
                j = i + 1
                while j < len(lines) and not lines[j].lstrip().startswith("```"):
                    j += 1
                i = j + 1
                continue
            i += 1
            continue
        fence = i
        j = fence + 1
        while j < len(lines) and not lines[j].lstrip().startswith("```"):
            j += 1
        if j == len(lines):
            fail(path, fence + 1, "unclosed ```cpp block")
        body = lines[fence + 1 : j]
        # The marker: the line before the fence is `-->` (a marker with
        # setup) or the whole one-line marker.
        k = fence - 1
        setup = []
        if k >= 0 and lines[k].strip() == "-->":
            end = k
            while k >= 0 and not MARKER.match(lines[k]):
                k -= 1
            if k < 0:
                fail(path, fence + 1, "`-->` without an <!-- example: ... marker")
            setup = lines[k + 1 : end]
        m = MARKER.match(lines[k]) if k >= 0 else None
        if m is None:
            fail(path, fence + 1,
                 "a ```cpp block without a marker; put one of "
                 + ", ".join("<!-- example: %s -->" % kind for kind in KINDS)
                 + " on the line before it (tests/docs/extract_examples.py)")
        kind = m.group(1)
        rest = m.group(2).strip()
        if kind not in KINDS:
            fail(path, k + 1, "unknown example kind '%s' (one of %s)" %
                 (kind, ", ".join(KINDS)))
        if setup and rest:
            fail(path, k + 1, "a marker with setup ends its first line after "
                 "the kind")
        if not setup and rest != "-->":
            fail(path, k + 1, "a one-line marker reads <!-- example: KIND -->")
        # Remove the fence's indentation (blocks inside list items).
        indent = len(lines[fence]) - len(lines[fence].lstrip())
        body = [line[indent:] if line[:indent].isspace() else line
                for line in body]
        examples.append(Example(path, kind, setup, k + 2, body, fence + 2))
        i = j + 1
    return examples


def split_includes(lines):
    includes, rest = [], []
    for line in lines:
        (includes if line.lstrip().startswith("#include") else rest).append(
            line if not line.lstrip().startswith("#include") else
            line.split("//")[0].strip())
    return includes, rest


def located(path, first_line, lines):
    """`lines` with #line directives so errors name the markdown line."""
    out = []
    for offset, line in enumerate(lines):
        if line.lstrip().startswith("#include"):
            out.append("")  # Hoisted; keep the numbering.
            continue
        out.append(line)
    return ['#line %d "%s"' % (first_line, path)] + out


def main():
    out_path, docs = sys.argv[1], sys.argv[2:]
    examples = []
    for path in docs:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # Name files as in the repository ("README.md", "docs/api.md").
        name = re.sub(r"^.*?((docs/)?[^/]+\.md)$", r"\1", path)
        examples.extend(parse(name, text))

    includes = {"#include \"weft.h\"", "#include <iostream>"}
    for ex in examples:
        includes.update(split_includes(ex.setup)[0])
        includes.update(split_includes(ex.body)[0])

    out = [
        "// Generated by tests/docs/extract_examples.py from the C++ examples",
        "// of README.md and docs/*.md; do not edit.",
    ]
    out += sorted(includes)
    out += [
        "",
        "// Fragments declare values only to show them.",
        "#pragma GCC diagnostic ignored \"-Wunused-variable\"",
        "#pragma GCC diagnostic ignored \"-Wunused-but-set-variable\"",
        "#pragma GCC diagnostic ignored \"-Wunused-function\"",
        "#pragma GCC diagnostic ignored \"-Wunused-parameter\"",
        "",
    ]
    runs = []
    for n, ex in enumerate(examples):
        ns = "example_%d" % n
        where = "%s:%d" % (ex.path, ex.body_line)
        out.append("// %s (%s)" % (where, ex.kind))
        out.append("namespace %s {" % ns)
        if ex.kind == "declarations":
            if ex.setup:
                out += located(ex.path, ex.setup_line, ex.setup)
            out += located(ex.path, ex.body_line, ex.body)
        elif ex.kind == "program":
            if ex.setup:
                out += located(ex.path, ex.setup_line, ex.setup)
            body = [re.sub(r"\bint main\(", "int Main(", line) for line in ex.body]
            out += located(ex.path, ex.body_line, body)
            runs.append((where, "%s::Main() == 0" % ns))
        else:
            out.append("[[maybe_unused]] absl::Status Example() {")
            if ex.setup:
                out += located(ex.path, ex.setup_line, ex.setup)
            out += located(ex.path, ex.body_line, ex.body)
            out.append("  return absl::OkStatus();")
            out.append("}")
            if ex.kind == "run":
                runs.append((where, "%s::Example().ok()" % ns))
        out.append("}  // namespace %s" % ns)
        out.append("")

    out += [
        "int main() {",
        "  int failed = 0;",
    ]
    for where, check in runs:
        out += [
            "  std::cout << \"running the example at %s\" << std::endl;" % where,
            "  if (!(%s)) {" % check,
            "    std::cerr << \"the example at %s failed\\n\";" % where,
            "    ++failed;",
            "  }",
        ]
    out += [
        "  std::cout << \"%d examples compiled, %d run, \" << failed"
        " << \" failed\\n\";" % (len(examples), len(runs)),
        "  return failed == 0 ? 0 : 1;",
        "}",
        "",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
