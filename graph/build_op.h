// build_op.h — internal to weft (the //graph:internal target, visible to
// weft's own packages only, not reachable from weft.h): what every op
// builder of weft::ops (graph/ops.h and the other builder headers) calls to
// add its node, internal::BuildOp and internal::BuildOpN.
#ifndef WEFT_GRAPH_BUILD_OP_H_
#define WEFT_GRAPH_BUILD_OP_H_

#include <source_location>
#include <string_view>
#include <vector>

#include "graph/attr.h"
#include "graph/graph.h"
#include "graph/tensor.h"

namespace weft {

namespace internal {
// Builds `op` where an op builder would put it (options.graph, else the
// thread's default graph) and returns its output 0 or the error Tensor.
Tensor BuildOp(std::string_view op, std::vector<Tensor> inputs, AttrMap attrs,
               const OpOptions& options, std::source_location where);
// Like BuildOp, for any number of outputs: every output, or on failure
// max(1, expected_outputs) Tensors carrying the error (never empty).
std::vector<Tensor> BuildOpN(std::string_view op, std::vector<Tensor> inputs,
                             AttrMap attrs, const OpOptions& options,
                             std::source_location where, int expected_outputs);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_GRAPH_BUILD_OP_H_
