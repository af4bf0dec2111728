// nn_ops.h — internal to graph/: registers the op definitions (build-time
// inference) of the model ops in graph/nn_ops.cc — Softmax, LogSoftmax,
// ReduceMax, ArgMax, Transpose, Concat, Slice, Gather, BatchMatMul — and
// reads the optional attrs those inference functions share. The builders
// themselves are declared in graph/ops.h. Not part of weft's public API.
//
//   internal::RegisterNnOps(registry);  // once, from OpRegistry::Global()
#ifndef WEFT_GRAPH_NN_OPS_H_
#define WEFT_GRAPH_NN_OPS_H_

#include <string>

#include "absl/status/statusor.h"
#include "graph/op_registry.h"

namespace weft {
namespace internal {

// Registers the ops listed above into `registry`.
void RegisterNnOps(OpRegistry& registry);

// The bool attr `name` of the node being inferred: false when absent, an
// AttrError when present with another type.
[[nodiscard]] absl::StatusOr<bool> OptionalBoolAttr(InferenceContext& c,
                                                    const std::string& name);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_NN_OPS_H_
