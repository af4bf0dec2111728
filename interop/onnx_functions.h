// onnx_functions.h — internal to //interop: InlineLocalFunctions, which
// replaces every call of a model-local function (ModelProto.functions, IR
// version 8 and up) by the function's body before the importer sees the
// graph. Not part of weft's public API.
#ifndef WEFT_INTEROP_ONNX_FUNCTIONS_H_
#define WEFT_INTEROP_ONNX_FUNCTIONS_H_

#include <string_view>

#include "absl/status/status.h"
#include "onnx/onnx_pb.h"

namespace weft {
namespace onnx_internal {

// Calls nest at most this deep (a deeper or recursive chain is an error),
// and a model expands at most this many calls (a hostile model cannot
// grow the graph without bound).
inline constexpr int kMaxFunctionDepth = 16;
inline constexpr int kMaxFunctionCalls = 100000;

// Rewrites `model` in place: each node whose (domain, op_type) names one of
// model.functions() — in the main graph and in every subgraph attribute —
// becomes the function's nodes, the function's inputs bound to the call's
// inputs (an omitted one to ""), its outputs to the call's outputs, every
// other value renamed "<call>/<name>" so that calls never collide, and
// each attribute that refers to one of the function's attributes
// (ref_attr_name) replaced by the call's attribute of that name (dropped
// when the call has none, so the op's default applies). The body nodes
// are named "<call>/<node>". A function calling another is inlined in
// turn; kInvalidArgument naming `source` for a chain deeper than
// kMaxFunctionDepth (a recursive function) or more than kMaxFunctionCalls
// calls in all.
[[nodiscard]] absl::Status InlineLocalFunctions(onnx::ModelProto& model,
                                                std::string_view source);

}  // namespace onnx_internal
}  // namespace weft

#endif  // WEFT_INTEROP_ONNX_FUNCTIONS_H_
