// onnx_context.h — internal to //interop: weft::onnx_internal::NodeContext,
// what a converter sees of one ONNX node while the importer maps it onto
// weft ops, and the converter table (onnx_converters.cc and the per-family
// converter files register into it). Not part of weft's public API.
#ifndef WEFT_INTEROP_ONNX_CONTEXT_H_
#define WEFT_INTEROP_ONNX_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"
#include "interop/onnx_import.h"
#include "interop/onnx_tensor.h"
#include "onnx/onnx_pb.h"

namespace weft {
namespace onnx_internal {

// One ONNX value (a name in the model's graph) as the importer knows it:
// a tensor of the graph being built, a constant known at import, or both
// (a constant gets its Const node only once something needs it as a
// tensor).
struct Value {
  Tensor tensor = {};  // !ok() until materialized.
  std::optional<NDArray> constant = {};
  // Set for an ONNX sequence: its tensors, known at import (sequence ops
  // are resolved while importing; weft graphs hold only tensors).
  std::shared_ptr<const std::vector<Tensor>> sequence = {};
};

class NodeContext;

// How many ONNX uses the values bound to a weft tensor have: (producing
// node, output slot) -> the node inputs, subgraph reads and graph outputs
// of the value's ONNX graph that name it (summed when several ONNX values
// are bound to one tensor). What the fusions (onnx_fusion.h) check before
// they rewrite a tensor's producer for one consumer.
using TensorUses = absl::flat_hash_map<std::pair<const Node*, int>, int>;

using Converter = absl::Status (*)(NodeContext& ctx);

// A subgraph attribute of a node (If's branches, Loop's body), ready to be
// imported into the body of a traced weft Function: the values of the
// enclosing graphs it reads by name (ONNX's implicit outer-scope captures,
// its nested subgraphs' included). Those known at import are copied into
// the body as constants; the others are `captures`, tensors of the node's
// graph, which the Function must list in FunctionOptions::captures.
struct Subgraph {
  const onnx::GraphProto* graph = nullptr;
  std::string attr;  // The attribute's name ("then_branch", "body").
  std::vector<std::string> captured_names;  // ONNX names, one per capture.
  std::vector<Tensor> captures;
  std::vector<std::pair<std::string, NDArray>> constants;
};

// What NodeContext asks the importer for subgraphs (implemented in
// onnx_import.cc, bound to the scope the node is converted in).
class SubgraphImporter {
 public:
  virtual ~SubgraphImporter() = default;
  // Lists what `attr`'s graph reads from the enclosing scopes. An error
  // when it reads a value an unsupported node was to produce (that node is
  // already listed) or one nothing produces.
  virtual absl::StatusOr<Subgraph> Prepare(
      const onnx::AttributeProto& attr) = 0;
  // Imports `sub` into `target` with `inputs` bound to its graph inputs in
  // order; its outputs. `traced`: `target` is the body of the Function
  // being traced with sub.captures (captures are read through it, and
  // every output is a tensor of `target`); else `target` is the node's own
  // graph (the subgraph is inlined: outputs may stay import-time constants
  // or sequences).
  virtual absl::StatusOr<std::vector<Value>> Import(
      const Subgraph& sub, const std::vector<Value>& inputs,
      const Graph& target, bool traced) = 0;
  // A function name not used before in this import: `base`, else base_N.
  virtual std::string UniqueFunctionName(std::string_view base) = 0;
};

// The converters by ONNX op type (default domain).
const absl::flat_hash_map<std::string, Converter>& Converters();

// Registration hooks, one per converter file, called once by Converters().
void RegisterCoreConverters(absl::flat_hash_map<std::string, Converter>& t);
void RegisterNnConverters(absl::flat_hash_map<std::string, Converter>& t);
void RegisterCompositeConverters(
    absl::flat_hash_map<std::string, Converter>& t);
void RegisterRnnConverters(absl::flat_hash_map<std::string, Converter>& t);
void RegisterControlFlowConverters(
    absl::flat_hash_map<std::string, Converter>& t);
void RegisterVisionConverters(absl::flat_hash_map<std::string, Converter>& t);

// What a converter sees of one ONNX node: its inputs (as tensors of the
// target graph, or as constants when known at import), its attributes
// (every attribute a converter does not read makes the node unsupported),
// and the means to add weft ops (named after the node, with the node as
// provenance) and to bind the node's outputs.
//
// Thread safety: used by one importing thread only.
class NodeContext {
 public:
  NodeContext(const onnx::NodeProto& node, int64_t opset, Graph graph,
              OpOptions base_options, std::vector<Value*> inputs,
              SubgraphImporter* subgraphs = nullptr,
              const TensorUses* uses = nullptr,
              int64_t max_nodes = OnnxImportOptions().max_nodes)
      : node_(node),
        opset_(opset),
        graph_(std::move(graph)),
        base_(std::move(base_options)),
        inputs_(std::move(inputs)),
        subgraphs_(subgraphs),
        uses_(uses),
        max_nodes_(max_nodes) {}

  const onnx::NodeProto& node() const { return node_; }
  const std::string& op_type() const { return node_.op_type(); }
  int64_t opset() const { return opset_; }
  const Graph& graph() const { return graph_; }

  // ---- inputs
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  // Whether input `i` is given (ONNX marks an omitted optional input "").
  bool has_input(int i) const {
    return i < num_inputs() && inputs_[i] != nullptr;
  }
  // Input `i` as a tensor of the target graph (a constant gets its Const
  // node on first use). kInvalidArgument if absent.
  [[nodiscard]] absl::StatusOr<Tensor> input(int i);
  // Input `i`'s value if it is known at import, else nullptr.
  const NDArray* constant(int i) const;
  // The ONNX uses of the values bound to `t` (TensorUses); -1 when `t` is
  // bound to no ONNX value (a weft tensor a converter made on the way) or
  // the importer counts none.
  int OnnxUses(const Tensor& t) const;
  // Dtype and shape of input `i` (from its constant or its tensor).
  DType dtype(int i) const;
  Shape shape(int i) const;
  // Input `i`'s value when it is known at import; else the "unsupported"
  // error saying that `what` (naming the ONNX value) must be known at
  // import.
  [[nodiscard]] absl::StatusOr<const NDArray*> ConstInput(
      int i, std::string_view what) const;
  // A constant integer input as int64 values (shapes, axes, pads...);
  // kUnimplemented if it is not known at import.
  [[nodiscard]] absl::StatusOr<std::vector<int64_t>> ConstInts(
      int i, std::string_view what);

  // ---- attributes
  bool has_attr(std::string_view name) const;
  int64_t Int(std::string_view name, int64_t dflt);
  float Float(std::string_view name, float dflt);
  std::string String(std::string_view name, std::string_view dflt);
  std::vector<int64_t> Ints(std::string_view name,
                            std::vector<int64_t> dflt = {});
  std::vector<float> Floats(std::string_view name,
                            std::vector<float> dflt = {});
  [[nodiscard]] absl::StatusOr<NDArray> TensorAttr(std::string_view name);
  // The graph attribute `name` (If's branches, Loop's body), prepared for
  // import: kInvalidArgument if it is missing or not a graph.
  [[nodiscard]] absl::StatusOr<Subgraph> GraphAttr(std::string_view name);
  // Marks an attribute as understood without reading it (one whose every
  // value weft handles the same way, e.g. a training-only flag checked
  // elsewhere).
  void Ignore(std::string_view name) { read_.insert(std::string(name)); }
  // The attributes present and never read.
  std::vector<std::string> UnreadAttrs() const;

  // ---- building
  // Adds a weft op named after this ONNX node; its outputs.
  [[nodiscard]] absl::StatusOr<std::vector<Tensor>> OpN(
      std::string_view op, std::vector<Tensor> inputs, AttrMap attrs = {});
  [[nodiscard]] absl::StatusOr<Tensor> Op(std::string_view op,
                                          std::vector<Tensor> inputs,
                                          AttrMap attrs = {});
  // A Const node holding `value`.
  [[nodiscard]] absl::StatusOr<Tensor> Const(const NDArray& value);
  // A scalar constant of `dtype` holding `v` (cast).
  [[nodiscard]] absl::StatusOr<Tensor> Scalar(DType dtype, double v);
  // The options OpN would give its next op `op` (the node's name for the
  // first op, "<name>/<op>" after; the node as provenance), for ops built
  // with weft's op builders (ops::Cond, ops::While).
  OpOptions NextOpOptions(std::string_view op);
  // The options for ops built inside the body of a Function traced for
  // this node: the body graph (the default graph while tracing), named
  // `name`, with the node as provenance.
  OpOptions BodyOptions(std::string_view name) const;
  // Imports `sub` (from GraphAttr) with `inputs` bound to its graph inputs:
  // into the body of the Function being traced (`traced`, see
  // SubgraphImporter::Import), else inline into this node's graph.
  [[nodiscard]] absl::StatusOr<std::vector<Value>> ImportSubgraph(
      const Subgraph& sub, const std::vector<Value>& inputs, bool traced);
  // A function name unique in this import, from the node's name and `what`.
  std::string FunctionName(std::string_view what);

  // ---- results
  int num_outputs() const { return node_.output_size(); }
  bool has_output(int i) const {
    return i < num_outputs() && !node_.output(i).empty();
  }
  void SetOutput(int i, Tensor t);
  void SetConstantOutput(int i, NDArray value);
  void SetSequenceOutput(int i, std::vector<Tensor> tensors);
  // Input `i` as a sequence; kInvalidArgument if it is not one.
  [[nodiscard]] absl::StatusOr<const std::vector<Tensor>*> SequenceInput(
      int i) const;
  const std::vector<std::optional<Value>>& outputs() const { return outputs_; }

  // An error marking this node unsupported for `why` ("attribute 'mode' =
  // 'cubic'", "dtype uint8"); the importer lists every such node.
  absl::Status Unsupported(std::string_view why) const;

 private:
  const onnx::AttributeProto* FindAttr(std::string_view name);

  const onnx::NodeProto& node_;
  int64_t opset_;
  Graph graph_;
  OpOptions base_;
  std::vector<Value*> inputs_;
  std::vector<std::optional<Value>> outputs_;
  absl::flat_hash_set<std::string> read_;
  int ops_added_ = 0;
  SubgraphImporter* subgraphs_;
  const TensorUses* uses_;
  int64_t max_nodes_;  // OnnxImportOptions::max_nodes.
};

// Limits on what import builds from sizes a model declares, so that a
// hostile model (a few bytes claiming a sequence of 2^40 steps) is refused
// instead of exhausting memory or time at import:
// - a table computed on the host (DFT, STFT and window tables,
//   MelWeightMatrix, a diagonal's indices): 2^24 entries;
inline constexpr int64_t kMaxImportTableEntries = int64_t{1} << 24;
// - the steps of one unrolled recurrence (RNN, GRU, LSTM: the sequence per
//   direction; Scan: the scan length times Scan-8's batch): 2^16.
// (And OnnxImportOptions::max_nodes bounds the nodes of each graph.)
inline constexpr int64_t kMaxUnrolledSteps = int64_t{1} << 16;

// The payload marking an error as "this node is unsupported" (the importer
// collects those and reports them together).
inline constexpr char kUnsupportedPayload[] = "weft.onnx.unsupported";
// Set besides kUnsupportedPayload when the reason is already listed (a node
// inside a subgraph): the node is skipped without being listed again.
inline constexpr char kListedPayload[] = "weft.onnx.listed";

}  // namespace onnx_internal
}  // namespace weft

#endif  // WEFT_INTEROP_ONNX_CONTEXT_H_
