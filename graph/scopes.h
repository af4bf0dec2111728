// scopes.h — defines the per-thread build scopes: weft::GraphScope (the
// default-graph stack), weft::NameScope, weft::DeviceScope, and
// weft::GraphContext / weft::ContextScope, which carry all three stacks into
// another thread.
#ifndef WEFT_GRAPH_SCOPES_H_
#define WEFT_GRAPH_SCOPES_H_

#include <memory>
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
struct ThreadStacks;  // graph/thread_stacks.h, private to //graph
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
// installed on another thread with ContextScope. Copies share the snapshot.
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
  // Null in a default-constructed context (empty stacks: the root graph).
  std::shared_ptr<const internal::ThreadStacks> stacks_;
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
  std::unique_ptr<internal::ThreadStacks> saved_;  // The thread's own.
  size_t installed_graphs_, installed_names_, installed_devices_;
  std::source_location where_;
};

}  // namespace weft

#endif  // WEFT_GRAPH_SCOPES_H_
