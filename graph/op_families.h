// op_families.h — internal to graph/: one registration function per op
// family, each defined in graph/<family>_ops.cc together with the family's
// inference functions and builders. OpRegistry::Global() calls them, in
// this order, from one list (op_registry.cc); the family's kernels are in
// kernels/<family>_kernels.cc. Not part of weft's public API.
//
// Adding an op to a family touches three files: its builder's declaration
// in graph/ops.h, its definition + inference + builder in
// graph/<family>_ops.cc, and its kernel in kernels/<family>_kernels.cc
// (docs/adding_an_op.md).
#ifndef WEFT_GRAPH_OP_FAMILIES_H_
#define WEFT_GRAPH_OP_FAMILIES_H_

#include "graph/build_op.h"
#include "graph/op_registry.h"
#include "graph/ops.h"

// Defines the builder of a one-input (`Name(x)`) or two-input (`Name(x, y)`)
// op without attributes, declared in graph/ops.h, inside namespace
// weft::ops of a family file.
#define WEFT_UNARY_BUILDER(Name)                                      \
  Tensor Name(const Tensor& x, const OpOptions& options,              \
              std::source_location where) {                           \
    return ::weft::internal::BuildOp(#Name, {x}, {}, options, where); \
  }
#define WEFT_BINARY_BUILDER(Name)                                         \
  Tensor Name(const Tensor& x, const Tensor& y, const OpOptions& options, \
              std::source_location where) {                               \
    return ::weft::internal::BuildOp(#Name, {x, y}, {}, options, where);  \
  }

namespace weft {
namespace internal {

// Registers a built-in op of a family. Built-in types are distinct and
// their defs well formed, so Register cannot fail here (every one is listed
// by //tests:ops_reference_test).
void RegisterBuiltin(OpRegistry& registry, OpDef def);

void RegisterArrayOps(OpRegistry& registry);        // array_ops.cc
void RegisterElementwiseOps(OpRegistry& registry);  // elementwise_ops.cc
void RegisterLogicOps(OpRegistry& registry);        // logic_ops.cc
void RegisterReduceOps(OpRegistry& registry);       // reduce_ops.cc
void RegisterLinalgOps(OpRegistry& registry);       // linalg_ops.cc
void RegisterNnOps(OpRegistry& registry);           // nn_ops.cc
void RegisterConvOps(OpRegistry& registry);         // conv_ops.cc
void RegisterControlFlowOps(OpRegistry& registry);  // control_flow_ops.cc
void RegisterStateOps(OpRegistry& registry);        // state_ops.cc
void RegisterQueueOps(OpRegistry& registry);        // queue_ops.cc
void RegisterVisionOps(OpRegistry& registry);       // vision_ops.cc
void RegisterTextOps(OpRegistry& registry);         // text_ops.cc

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_OP_FAMILIES_H_
