// provenance.h — defines weft::Provenance, the record of where and why a node
// was built (call site, thread, name scope, the reason its graph was the
// target, optionally a stack trace), the per-thread name used in it, and the
// process-wide provenance mode.
#ifndef WEFT_GRAPH_PROVENANCE_H_
#define WEFT_GRAPH_PROVENANCE_H_

#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

// Why the graph an op was built in was the target graph.
enum class GraphSource {
  kExplicitHandle,  // OpOptions.graph, or Graph::AddOp on a handle.
  kGraphScope,      // The innermost GraphScope of the building thread.
  kRootGraph,       // The building thread had no GraphScope.
};

// How much provenance is recorded per node. kSourceLocation (the default)
// is nearly free; kStackTraces also captures the raw program counters of the
// builder's stack, symbolized only when an error is printed.
enum class ProvenanceMode { kSourceLocation, kStackTraces };
void SetProvenanceMode(ProvenanceMode mode);
ProvenanceMode GetProvenanceMode();

// Names the calling thread in provenance ("worker-3"). Without a name a
// thread is 'main' (the process's first thread) or 'thread-<N>' (N a small
// number weft gives each thread on first use).
void SetCurrentThreadName(std::string_view name);
const std::string& CurrentThreadName();

// A source site: file:line and the function.
struct SourceSite {
  std::string file;
  int line = 0;
  std::string function;  // Short name: "BuildHead", "Foo::Bar".

  static SourceSite From(const std::source_location& loc);
  std::string FileLine() const;  // "model.cc:42"
  std::string ToString() const;  // "model.cc:42 in BuildHead"
};

// Where the GraphScope that made a graph current was pushed.
struct ScopeOrigin {
  std::source_location site;
  std::string thread;  // The thread that pushed it.
  // Set when the scope reached this thread through a ContextScope.
  std::optional<std::source_location> carried_by;
};

// The sites of a node loaded from a file (graph/graph_io.h). They stand in
// for Provenance's std::source_location fields, which cannot be made from a
// file: Provenance::Site() and the messages read them when set.
struct LoadedSites {
  SourceSite where;
  SourceSite scope_site;
  std::optional<SourceSite> scope_carried_by;
};

// Everything recorded about how a node came to be.
//
// Thread safety: immutable once stored in a node; safe to read concurrently.
struct Provenance {
  std::source_location where;
  std::string thread;
  std::string name_scope;  // "layer1/dense" or "".
  GraphSource graph_source = GraphSource::kExplicitHandle;
  ScopeOrigin scope;  // Meaningful for kGraphScope.
  std::shared_ptr<const std::vector<void*>> stack;  // kStackTraces only.
  // Set for a node loaded from a file: its saved sites replace `where` and
  // the `scope` source_locations.
  std::shared_ptr<const LoadedSites> loaded;

  // Where the node was built: loaded->where, else SourceSite::From(where).
  SourceSite Site() const;

  // "model.cc:42 in BuildHead, thread 'main'".
  std::string BuiltAt() const;
  // Why `graph_display` ("'serving'") was the target graph, as a sentence.
  std::string GraphReason(std::string_view graph_display) const;
  // Short clause for an input's origin: "under the GraphScope pushed at
  // main.cc:30", "through an explicit graph handle", "in the root graph ...".
  std::string OriginClause() const;
  // Symbolized stack, one frame per line with `indent`; "" without a stack.
  std::string SymbolizedStack(std::string_view indent) const;
};

}  // namespace weft

#endif  // WEFT_GRAPH_PROVENANCE_H_
