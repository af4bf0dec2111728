// scopes.h — defines the per-thread build scopes: weft::GraphScope (the
// default-graph stack), weft::NameScope, weft::DeviceScope, and
// weft::GraphContext / weft::ContextScope, which carry all three stacks into
// another thread.
#ifndef WEFT_GRAPH_SCOPES_H_
#define WEFT_GRAPH_SCOPES_H_

#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.h"
#include "graph/provenance.h"
#include "graph/tensor.h"

namespace weft {

namespace internal {
struct GraphStackEntry {
  Graph graph;
  ScopeOrigin origin;
  const void* owner = nullptr;  // The scope object; null once carried.
};
struct StringStackEntry {
  std::string value;  // For names: the full prefix ("a/b").
  std::source_location site;
  const void* owner = nullptr;
};
struct ThreadStacks {
  std::vector<GraphStackEntry> graphs;
  std::vector<StringStackEntry> names;
  std::vector<StringStackEntry> devices;
};
// This thread's stacks.
ThreadStacks& CurrentStacks();

// A function being traced on this thread (graph/function.h). While its body
// runs, an op built into `body` from one of `captures` (a tensor of another
// graph) reads the matching hidden placeholder instead, and any other
// tensor of another graph is the cross-graph error with a note naming the
// function.
struct TracingFrame {
  Graph body = {};
  std::string function_name = {};
  std::source_location traced_at = {};
  std::vector<Tensor> captures = {};              // Of the enclosing graphs.
  std::vector<Tensor> capture_placeholders = {};  // Of `body`, one each.
};
// This thread's functions being traced, outermost first (a function traced
// inside another's body is nested).
std::vector<TracingFrame>& TracingStack();
}  // namespace internal

// Pushes `graph` as this thread's default graph for the scope's lifetime
// (like Python's `with g.as_default():`). Records where it was pushed.
// Scopes must be destroyed in reverse order of construction on the thread
// that made them; anything else aborts with a message naming both scopes'
// sites. A null Graph is pushed as-is: ops built under it fail cleanly.
//
// Thread safety: affects only the calling thread.
class GraphScope {
 public:
  explicit GraphScope(Graph graph, std::source_location where =
                                       std::source_location::current());
  ~GraphScope();
  GraphScope(const GraphScope&) = delete;
  GraphScope& operator=(const GraphScope&) = delete;

 private:
  std::source_location where_;
};

// Prefixes the names of nodes built inside it on this thread: inside
// NameScope("layer1") an Add is named "layer1/Add"; scopes nest
// ("a/b/Add"). An empty name adds no prefix. Characters that are not valid in
// node names make the ops built inside fail with kInvalidArgument.
//
// Thread safety: affects only the calling thread.
class NameScope {
 public:
  explicit NameScope(
      std::string_view name,
      std::source_location where = std::source_location::current());
  ~NameScope();
  NameScope(const NameScope&) = delete;
  NameScope& operator=(const NameScope&) = delete;

 private:
  std::source_location where_;
};

// Places ops built inside it on this thread on `device` ("cpu:1") unless
// their OpOptions.device says otherwise. "" means no placement. The session
// checks that the device exists.
//
// Thread safety: affects only the calling thread.
class DeviceScope {
 public:
  explicit DeviceScope(
      std::string_view device,
      std::source_location where = std::source_location::current());
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  std::source_location where_;
};

// A snapshot of the calling thread's graph, name and device stacks, to be
// installed on another thread with ContextScope.
//
// Thread safety: immutable after Capture(); share it with any thread.
class GraphContext {
 public:
  static GraphContext Capture(
      std::source_location where = std::source_location::current());

  // The default graph this context makes current.
  Graph graph() const;
  const std::source_location& captured_at() const { return where_; }
  const std::string& captured_on_thread() const { return thread_; }

 private:
  friend class ContextScope;
  internal::ThreadStacks stacks_;
  std::source_location where_;
  std::string thread_;
};

// Installs a captured GraphContext on this thread for the scope's lifetime,
// replacing the thread's own stacks and restoring them on destruction. Scopes
// pushed inside must be gone before it is destroyed (else abort, naming both
// sites).
//
// Thread safety: affects only the calling thread.
class ContextScope {
 public:
  explicit ContextScope(
      const GraphContext& context,
      std::source_location where = std::source_location::current());
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  internal::ThreadStacks saved_;
  size_t installed_graphs_, installed_names_, installed_devices_;
  std::source_location where_;
};

}  // namespace weft

#endif  // WEFT_GRAPH_SCOPES_H_
