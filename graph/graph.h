// graph.h — defines weft::Graph, a cheap copyable handle to a shared,
// thread-safe graph of nodes, and weft::OpOptions, the per-op build options.
#ifndef WEFT_GRAPH_GRAPH_H_
#define WEFT_GRAPH_GRAPH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "graph/node.h"
#include "graph/tensor.h"

namespace weft {

class GraphImpl;
struct OpOptions;
namespace internal {
class GraphAccess;  // graph/graph_impl.h, private to graph/
}  // namespace internal

// A handle to a graph. Copies share the graph; `==` is identity. Graphs are
// append-only: nodes are added (never removed or changed) until Finalize().
// Every Tensor keeps its graph alive, so no handle or tensor can dangle. A
// default-constructed Graph is a null handle: is_null() is true, name() is
// "", and AddOp returns kFailedPrecondition.
//
// Thread safety: all methods are safe to call concurrently from any number of
// threads; concurrent AddOp calls on one graph are serialized internally and
// lose nothing.
class Graph {
 public:
  Graph() = default;
  // A new empty graph. Names need not be unique; id() is.
  static Graph Create(std::string_view name = "");

  // valid(): the one "is this handle usable" name across weft's handles
  // (Graph, Variable, Queue, Function, NDArray, Tensor). is_null() is its
  // negation, kept for existing code.
  bool valid() const { return impl_ != nullptr; }
  bool is_null() const { return impl_ == nullptr; }
  const std::string& name() const;
  int64_t id() const;
  int num_nodes() const;

  // After Finalize(), AddOp fails with kFailedPrecondition naming `where`.
  void Finalize(std::source_location where = std::source_location::current());
  bool finalized() const;

  // Adds a node of registered op `op` with data `inputs` to this graph and
  // returns its output 0. Errors (kInvalidArgument unless noted): a null or
  // finalized graph (kFailedPrecondition), an unknown op, wrong arity, an
  // input or control input from another graph (the cross-graph error), a
  // non-ok input (its own error, unchanged), a bad attr, dtype or shape
  // mismatch, a bad name or device. On error nothing is added.
  [[nodiscard]] absl::StatusOr<Tensor> AddOp(
      std::string_view op, std::vector<Tensor> inputs, AttrMap attrs,
      const OpOptions& options,
      std::source_location where = std::source_location::current());
  [[nodiscard]] absl::StatusOr<Tensor> AddOp(
      std::string_view op, std::vector<Tensor> inputs, AttrMap attrs = {},
      std::source_location where = std::source_location::current());
  // Like AddOp, and returns every output of the node (at least one).
  [[nodiscard]] absl::StatusOr<std::vector<Tensor>> AddOpN(
      std::string_view op, std::vector<Tensor> inputs, AttrMap attrs,
      const OpOptions& options,
      std::source_location where = std::source_location::current());

  // The node with dense id `id`, or nullptr if out of range.
  const Node* node(int id) const;
  // A snapshot of all nodes, in id order.
  std::vector<const Node*> nodes() const;
  // The node named `name`, or nullptr.
  const Node* FindNode(std::string_view name) const;
  // "name:slot" or "name" (slot 0) to a Tensor, for any output slot of the
  // node; kNotFound if the node or the slot is absent.
  [[nodiscard]] absl::StatusOr<Tensor> GetTensor(std::string_view name) const;
  // Output `index` of `node`, a node of this graph (from node(), nodes() or
  // FindNode()): the public way to name any node's output. A non-ok Tensor
  // (kInvalidArgument) if `node` belongs to another graph or the graph is
  // null, kOutOfRange if the node has no output `index`.
  Tensor output(const Node& node, int index = 0) const;

  // "'training' (id 3)".
  std::string DisplayName() const;
  // One line per node: "id name = Op(inputs) : dtype[shape] @device"; a
  // node with several outputs lists "(dtype[shape], dtype[shape])".
  std::string DebugString() const;

  friend bool operator==(const Graph& a, const Graph& b) {
    return a.impl_ == b.impl_;
  }

 private:
  friend class internal::GraphAccess;
  explicit Graph(std::shared_ptr<GraphImpl> impl) : impl_(std::move(impl)) {}
  const std::shared_ptr<GraphImpl>& impl() const { return impl_; }

  std::shared_ptr<GraphImpl> impl_;
};

// Options every op builder takes. The op lands in `graph` if set, else in
// DefaultGraph(). `name` overrides the op type as the node's base name (the
// innermost NameScope still prefixes it; a taken name gets a _N suffix).
// `device` overrides the innermost DeviceScope. `control_inputs` must finish
// before this op runs. Every
// member has a default member initializer so that designated initializers
// (`{.graph = g}`) compile cleanly under -Wextra (GCC's
// -Wmissing-field-initializers).
struct OpOptions {
  std::string name = {};
  std::optional<Graph> graph = {};
  std::string device = {};
  std::vector<Tensor> control_inputs = {};
  // Recorded as the node's build site instead of the builder's call site:
  // for importers, whose nodes come from a model file rather than from C++
  // (interop/onnx_import.h sets {file = the model, line = the model node's
  // index, function = "ONNX Conv 'conv1'"}). Errors and saved graphs show
  // it wherever they would show the C++ site.
  std::optional<SourceSite> site = {};
};

// The process-wide graph used when a thread has no GraphScope. Named "root".
Graph RootGraph();
// The innermost GraphScope's graph of this thread, else RootGraph().
Graph DefaultGraph();

}  // namespace weft

#endif  // WEFT_GRAPH_GRAPH_H_
