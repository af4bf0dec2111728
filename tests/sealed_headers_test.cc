// The contract "`*_impl.h` and `internal::` types are not reachable from
// weft.h": follows every #include "..." from weft.h through weft's own
// headers (read from the runfiles, the packages' `headers` filegroups) and
// fails when a reachable header
//   - is named *_impl.h,
//   - says in its opening comment that it is internal to (or private to) a
//     package or to weft, or
//   - has a `namespace internal` (or `namespace *_internal`) block holding
//     anything but forward declarations of classes and structs (a type's
//     definition, a function, a variable, a using-declaration).
// The rules are also run on the known private headers and on small samples,
// so a rule that stopped catching anything fails here too.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::IsEmpty;
using ::testing::Not;

// The file at `path` (relative to the runfiles root), or nullopt-like false.
bool ReadText(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *text = ss.str();
  return true;
}

// `text` without comments and string or character literals (their contents
// replaced by nothing), so braces and keywords inside them do not count.
std::string StripCommentsAndLiterals(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '/' && next == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      out.push_back('\n');
    } else if (c == '/' && next == '*') {
      i += 2;
      while (i + 1 < text.size() && !(text[i] == '*' && text[i + 1] == '/')) {
        ++i;
      }
      ++i;
      out.push_back(' ');
    } else if (c == '"' || c == '\'') {
      out.push_back(c);
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      out.push_back(c);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The quoted includes of `text` ("graph/graph.h"), in order.
std::vector<std::string> QuotedIncludes(const std::string& text) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s+"([^"]+)")re",
                                   std::regex::multiline);
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), kInclude), end;
       it != end; ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// The leading run of // comment lines of `text` (its opening comment).
std::string OpeningComment(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line) && line.rfind("//", 0) == 0) {
    out += line.substr(2) + "\n";
  }
  return out;
}

// What makes the header `name` with contents `text` a header that weft.h
// must not reach; empty when it may.
std::vector<std::string> Violations(const std::string& name,
                                    const std::string& text) {
  std::vector<std::string> out;
  if (name.size() >= 7 && name.compare(name.size() - 7, 7, "_impl.h") == 0) {
    out.push_back(name + " is an *_impl.h header");
  }
  static const std::regex kPrivateMarker("\\b(internal|private) to\\b",
                                         std::regex::icase);
  if (std::regex_search(OpeningComment(text), kPrivateMarker)) {
    out.push_back(name +
                  "'s opening comment says it is internal to (or private "
                  "to) a package");
  }
  // Every `namespace internal {` / `namespace foo_internal {` /
  // `namespace weft::internal {` block: only `class X;` / `struct X;`.
  const std::string code = StripCommentsAndLiterals(text);
  static const std::regex kOpen(
      R"(namespace\s+(?:\w+::)*(internal|\w+_internal)\s*\{)");
  static const std::regex kForwardDeclaration(R"(^(class|struct)\s+\w+$)");
  for (std::sregex_iterator it(code.begin(), code.end(), kOpen), end; it != end;
       ++it) {
    const size_t begin = it->position(0) + it->length(0);
    int depth = 1;
    size_t i = begin;
    bool nested_braces = false;
    for (; i < code.size() && depth > 0; ++i) {
      if (code[i] == '{') {
        ++depth;
        nested_braces = true;
      } else if (code[i] == '}') {
        --depth;
      }
    }
    const std::string body = code.substr(begin, i - 1 - begin);
    if (nested_braces) {
      out.push_back(name + ": namespace " + (*it)[1].str() +
                    " defines something (a brace in its block)");
      continue;
    }
    std::istringstream statements(body);
    std::string statement;
    while (std::getline(statements, statement, ';')) {
      // Collapse whitespace.
      std::string s = std::regex_replace(statement, std::regex(R"(\s+)"), " ");
      if (!s.empty() && s.front() == ' ') s.erase(0, 1);
      if (!s.empty() && s.back() == ' ') s.pop_back();
      if (s.empty()) continue;
      if (!std::regex_match(s, kForwardDeclaration)) {
        out.push_back(name + ": namespace " + (*it)[1].str() +
                      " declares more than a forward-declared type: '" + s +
                      ";'");
      }
    }
  }
  return out;
}

// weft.h and every weft header it reaches through quoted includes, each
// with its text; `missing` gets the includes not found in the runfiles.
std::map<std::string, std::string> ReachableFromWeftH(
    std::vector<std::string>* missing) {
  std::map<std::string, std::string> seen;
  std::vector<std::string> stack = {"weft.h"};
  while (!stack.empty()) {
    const std::string name = stack.back();
    stack.pop_back();
    if (seen.count(name) > 0) continue;
    std::string text;
    if (!ReadText(name, &text)) {
      missing->push_back(name);
      continue;
    }
    for (const std::string& inc : QuotedIncludes(text)) stack.push_back(inc);
    seen.emplace(name, std::move(text));
  }
  return seen;
}

bool IsWeftHeader(const std::string& path) {
  static const std::set<std::string> kPackages = {
      "async/", "graph/", "kernels/", "runtime/", "state/", "weft.h"};
  for (const std::string& p : kPackages) {
    if (path.rfind(p, 0) == 0) return true;
  }
  return false;
}

TEST(SealedHeaders, NothingInternalIsReachableFromWeftH) {
  std::vector<std::string> missing;
  const std::map<std::string, std::string> headers =
      ReachableFromWeftH(&missing);
  for (const std::string& m : missing) {
    // Quoted includes outside weft (absl/..., oneapi/...) are not in the
    // runfiles; a weft header that is not is one this test cannot check.
    EXPECT_FALSE(IsWeftHeader(m))
        << m << " is reachable from weft.h but not in the runfiles: add it "
        << "to its package's `headers` filegroup";
  }
  ASSERT_GT(headers.size(), 20u) << "weft.h was not found or reaches little";
  EXPECT_TRUE(headers.count("graph/graph.h") > 0);
  EXPECT_TRUE(headers.count("runtime/session.h") > 0);
  for (const auto& [name, text] : headers) {
    EXPECT_THAT(Violations(name, text), IsEmpty())
        << name << " is reachable from weft.h";
  }
}

// The rules themselves: each private header (which a regression could make
// reachable) breaks at least one of them.
TEST(SealedHeaders, EveryPrivateHeaderBreaksARule) {
  for (const std::string name :
       {"graph/build_op.h", "graph/error_util.h", "graph/function_body.h",
        "graph/graph_impl.h", "graph/inference_util.h", "graph/op_families.h",
        "graph/resource_attrs.h", "graph/thread_stacks.h", "kernels/step_env.h",
        "kernels/kernel_util.h", "runtime/executor.h",
        "runtime/function_runtime.h", "runtime/plan.h",
        "runtime/prepared_run.h", "runtime/timer.h", "state/variable_impl.h",
        "async/queue_impl.h"}) {
    std::string text;
    ASSERT_TRUE(ReadText(name, &text)) << name << " is not in the runfiles";
    EXPECT_THAT(Violations(name, text), Not(IsEmpty())) << name;
  }
}

TEST(SealedHeaders, RulesOnSamples) {
  EXPECT_THAT(Violations("a.h",
                         "namespace internal {\nclass A;  // x.h\n"
                         "struct B;\n}  // namespace internal\n"),
              IsEmpty());
  EXPECT_THAT(Violations("a.h",
                         "namespace internal {\nstruct B {\n  int x;\n"
                         "};\n}  // namespace internal\n"),
              Not(IsEmpty()));
  EXPECT_THAT(Violations("a.h", "namespace internal {\nvoid F(int x);\n}\n"),
              Not(IsEmpty()));
  EXPECT_THAT(
      Violations("a.h", "namespace weft::internal {\nusing X = int;\n}"),
      Not(IsEmpty()));
  EXPECT_THAT(Violations("a.h",
                         "namespace kernels_internal {\ninline int F() {\n"
                         "  return 1;\n}\n}\n"),
              Not(IsEmpty()));
  EXPECT_THAT(Violations("a_impl.h", "// a_impl.h\n"), Not(IsEmpty()));
  EXPECT_THAT(Violations("a.h", "// a.h — internal to graph/: helpers.\n"),
              Not(IsEmpty()));
  // Braces and the keyword in comments and strings do not count.
  EXPECT_THAT(Violations("a.h",
                         "// namespace internal { struct A {}; }\n"
                         "const char* s = \"namespace internal {\";\n"),
              IsEmpty());
}

}  // namespace
}  // namespace weft
