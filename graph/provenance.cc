#include "graph/provenance.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "absl/debugging/stacktrace.h"
#include "absl/debugging/symbolize.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/graph_impl.h"

namespace weft {
namespace {

std::atomic<ProvenanceMode> g_mode{ProvenanceMode::kSourceLocation};
std::atomic<int> g_next_thread_number{1};

std::string DefaultThreadName() {
  if (static_cast<pid_t>(syscall(SYS_gettid)) == getpid()) return "main";
  return absl::StrCat("thread-", g_next_thread_number.fetch_add(1));
}

std::string& ThreadNameSlot() {
  thread_local std::string name = DefaultThreadName();
  return name;
}

// The qualified name out of a compiler's function signature, without the
// return type, the parameters and anonymous namespaces:
//   "void ns::{anonymous}::Foo::Bar(int) const"  -> "ns::Foo::Bar"
//   "static T ns::Box<T>::Get(std::pair<int, int>) [with T = int]"
//                                                -> "ns::Box<T>::Get"
//   "ns::Run()::<lambda()>"                      -> "ns::Run"
// Spaces and parentheses inside template arguments do not count.
std::string ShortFunctionName(std::string_view f) {
  size_t begin = 0, end = f.size();
  int depth = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '<') {
      // "operator<", "operator<<" and "operator<=" are names, not brackets.
      if (!f.substr(0, i).ends_with("operator")) ++depth;
    } else if (c == '>') {
      if (depth > 0) --depth;
    } else if (depth == 0 && c == ' ') {
      begin = i + 1;
    } else if (depth == 0 && c == '(') {
      // "operator()" is a name; its parameter list follows.
      if (f.substr(0, i).ends_with("operator") &&
          f.substr(i).starts_with("()(")) {
        i += 1;
        continue;
      }
      end = i;
      break;
    }
  }
  std::string name(f.substr(begin, end > begin ? end - begin : 0));
  if (name.empty()) return std::string(f);
  return absl::StrReplaceAll(name, {{"{anonymous}::", ""}});
}

}  // namespace

void SetProvenanceMode(ProvenanceMode mode) {
  g_mode.store(mode, std::memory_order_relaxed);
}
ProvenanceMode GetProvenanceMode() {
  return g_mode.load(std::memory_order_relaxed);
}

void SetCurrentThreadName(std::string_view name) {
  ThreadNameSlot() = std::string(name);
}
const std::string& CurrentThreadName() { return ThreadNameSlot(); }

SourceSite SourceSite::From(const std::source_location& loc) {
  return SourceSite{loc.file_name(), static_cast<int>(loc.line()),
                    ShortFunctionName(loc.function_name())};
}

std::string SourceSite::FileLine() const {
  return absl::StrCat(file, ":", line);
}

std::string SourceSite::ToString() const {
  if (function.empty()) return FileLine();
  return absl::StrCat(FileLine(), " in ", function);
}

SourceSite Provenance::Site() const {
  return loaded != nullptr ? loaded->where : SourceSite::From(where);
}

std::string Provenance::BuiltAt() const {
  return absl::StrCat(Site().ToString(), ", thread '", thread, "'");
}

namespace {
std::string ScopeSiteText(const Provenance& p) {
  const ScopeOrigin& scope = p.scope;
  std::string out = p.loaded != nullptr
                        ? p.loaded->scope_site.ToString()
                        : SourceSite::From(scope.site).ToString();
  std::optional<SourceSite> carried_by;
  if (p.loaded != nullptr) {
    carried_by = p.loaded->scope_carried_by;
  } else if (scope.carried_by.has_value()) {
    carried_by = SourceSite::From(*scope.carried_by);
  }
  if (carried_by.has_value()) {
    absl::StrAppend(&out, " on thread '", scope.thread,
                    "', carried into thread '", p.thread,
                    "' by the ContextScope at ", carried_by->ToString());
  }
  return out;
}
}  // namespace

std::string Provenance::GraphReason(std::string_view graph_display) const {
  switch (graph_source) {
    case GraphSource::kExplicitHandle:
      return absl::StrCat(graph_display,
                          " was named explicitly by a graph handle "
                          "(OpOptions.graph or Graph::AddOp)");
    case GraphSource::kGraphScope:
      return absl::StrCat(graph_display,
                          " is the default graph because of the GraphScope "
                          "pushed at ",
                          ScopeSiteText(*this));
    case GraphSource::kRootGraph:
      return absl::StrCat(graph_display, " is the root graph because thread '",
                          thread,
                          "' has no GraphScope (nothing pushed one on this "
                          "thread, and no ContextScope carried one in)");
  }
  return "";
}

std::string Provenance::OriginClause() const {
  switch (graph_source) {
    case GraphSource::kExplicitHandle:
      return "through an explicit graph handle";
    case GraphSource::kGraphScope:
      return absl::StrCat("under the GraphScope pushed at ",
                          ScopeSiteText(*this));
    case GraphSource::kRootGraph:
      return "in the root graph (that thread had no GraphScope)";
  }
  return "";
}

std::string Provenance::SymbolizedStack(std::string_view indent) const {
  if (stack == nullptr) return "";
  std::string out;
  char buf[1024];
  for (void* pc : *stack) {
    // The return address points after the call; symbolize the call itself.
    void* lookup = static_cast<char*>(pc) - 1;
    const char* sym =
        absl::Symbolize(lookup, buf, sizeof(buf)) ? buf : "(unknown)";
    absl::StrAppend(&out, indent, absl::Hex(reinterpret_cast<uintptr_t>(pc)),
                    " ", sym, "\n");
  }
  return out;
}

namespace internal {
std::shared_ptr<const std::vector<void*>> CaptureStack(int skip) {
  constexpr int kMaxFrames = 32;
  void* pcs[kMaxFrames];
  int n = absl::GetStackTrace(pcs, kMaxFrames, skip + 1);
  return std::make_shared<const std::vector<void*>>(pcs, pcs + n);
}
}  // namespace internal

}  // namespace weft
