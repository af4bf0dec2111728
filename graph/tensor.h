// tensor.h — defines weft::Tensor, the symbolic output of a node in a graph
// (or the error that prevented it from being built).
#ifndef WEFT_GRAPH_TENSOR_H_
#define WEFT_GRAPH_TENSOR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "graph/dtype.h"
#include "graph/provenance.h"
#include "graph/shape.h"

namespace weft {

class Graph;
class GraphImpl;
class Node;
namespace internal {
class GraphAccess;  // graph/graph_impl.h, private to graph/
}  // namespace internal

// Output `index()` of a node. A Tensor keeps its graph alive. A Tensor that
// is not ok() carries the error that stopped it being built (a
// default-constructed Tensor says it was never built); building an op from a
// non-ok Tensor returns that same error. Accessors on a non-ok Tensor return
// empty values (name() is "", dtype() float32, shape() scalar) and never
// crash.
//
// Thread safety: immutable; copy and read from any thread.
class Tensor {
 public:
  Tensor();

  // valid(): the one "is this handle usable" name across weft's handles
  // (Graph, Variable, Queue, Function, NDArray, Tensor); for a Tensor it is
  // ok(), the name builders' results are usually checked with.
  bool valid() const { return node_ != nullptr; }
  bool ok() const { return node_ != nullptr; }
  const absl::Status& status() const;

  // The graph this tensor belongs to; a null Graph handle if not ok().
  Graph graph() const;
  // "node:0"; "" if not ok().
  std::string name() const;
  const std::string& node_name() const;
  int index() const { return index_; }
  DType dtype() const;
  const Shape& shape() const;
  const Provenance& provenance() const;

  // The node that produces this tensor (nullptr if not ok()).
  const Node* node() const { return node_; }

  // Whether this tensor belongs to `graph` (a pointer compare; false when
  // not ok()).
  bool belongs_to(const Graph& graph) const;

  // A non-ok Tensor carrying `status` (an op builder's failure).
  static Tensor FromError(absl::Status status);

 private:
  // Output `index` of `node` of `graph`: graph/ makes these (through
  // internal::GraphAccess); everyone else uses Graph::output or a builder.
  friend class internal::GraphAccess;
  Tensor(std::shared_ptr<GraphImpl> graph, const Node* node, int index);
  const std::shared_ptr<GraphImpl>& graph_impl() const { return graph_; }

  std::shared_ptr<GraphImpl> graph_;
  const Node* node_ = nullptr;
  int index_ = 0;
  std::shared_ptr<const absl::Status> error_;
};

}  // namespace weft

#endif  // WEFT_GRAPH_TENSOR_H_
