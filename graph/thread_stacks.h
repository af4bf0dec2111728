// thread_stacks.h — internal to //graph (a private source of the target):
// the per-thread stacks behind the scopes of graph/scopes.h
// (internal::ThreadStacks: the default-graph, name-scope and device-scope
// stacks) and the stack of functions being traced (internal::TracingFrame).
// Not reachable from weft.h; GraphContext and ContextScope hold a
// ThreadStacks through a pointer so scopes.h needs only its declaration.
#ifndef WEFT_GRAPH_THREAD_STACKS_H_
#define WEFT_GRAPH_THREAD_STACKS_H_

#include <source_location>
#include <string>
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
// One thread's scope stacks, innermost last. Thread safety: each thread
// uses only its own (CurrentStacks()); a copy held by a GraphContext is
// immutable.
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
// function. Thread safety: used only by the thread that traces.
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
}  // namespace weft

#endif  // WEFT_GRAPH_THREAD_STACKS_H_
