// node.h — defines weft::Node, one immutable operation in a Graph, and
// weft::NodeInput, a reference to one output of another node.
#ifndef WEFT_GRAPH_NODE_H_
#define WEFT_GRAPH_NODE_H_

#include <string>
#include <vector>

#include "graph/attr.h"
#include "graph/dtype.h"
#include "graph/provenance.h"
#include "graph/shape.h"

namespace weft {

struct OpDef;  // graph/op_registry.h

// Output `slot` of the node with dense id `node` in the same graph.
struct NodeInput {
  int node = -1;
  int slot = 0;
  friend bool operator==(const NodeInput&, const NodeInput&) = default;
};

// A node of a graph: op type, unique name, attrs, data and control inputs,
// requested device, the inferred dtype and shape of each of its outputs (one
// or more), and provenance. Nodes are created
// only by Graph::AddOp and never change afterwards.
//
// Thread safety: immutable once added; safe to read from any thread while the
// graph (any Graph handle or Tensor of it) is alive.
class Node {
 public:
  int id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& op() const { return op_; }
  // The registered definition of op() (valid for the life of the process).
  const OpDef& op_def() const { return *op_def_; }
  const AttrMap& attrs() const { return attrs_; }
  const std::vector<NodeInput>& inputs() const { return inputs_; }
  const std::vector<int>& control_inputs() const { return control_inputs_; }
  // The device requested at build time; "" means the session's first device.
  const std::string& device() const { return device_; }
  int num_outputs() const { return static_cast<int>(output_dtypes_.size()); }
  const std::vector<DType>& output_dtypes() const { return output_dtypes_; }
  const std::vector<Shape>& output_shapes() const { return output_shapes_; }
  const Provenance& provenance() const { return provenance_; }

 private:
  friend class GraphImpl;
  Node() = default;

  int id_ = -1;
  std::string name_;
  std::string op_;
  const OpDef* op_def_ = nullptr;
  AttrMap attrs_;
  std::vector<NodeInput> inputs_;
  std::vector<int> control_inputs_;
  std::string device_;
  std::vector<DType> output_dtypes_;
  std::vector<Shape> output_shapes_;
  Provenance provenance_;
};

}  // namespace weft

#endif  // WEFT_GRAPH_NODE_H_
