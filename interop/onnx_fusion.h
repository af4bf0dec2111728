// onnx_fusion.h — internal to //interop: the fusions the importer applies
// to a Conv and what follows it, as ONNX Runtime's ConvBNFusion,
// ConvMulFusion, ConvAddFusion and ConvActivationFusion do. A converter
// whose input is a Conv's output, used by nothing else, asks for the fused
// form instead of adding its own op:
//  - a per-channel or scalar scale and shift (BatchNormalization, Mul,
//    Add, Sub, Div by a constant) is folded into the Conv's constant
//    weights and bias;
//  - an activation (Relu, LeakyRelu, HardSigmoid, HardSwish, Clip) makes
//    it a FusedConv (a ConvTranspose a FusedConvTranspose; graph/ops.h),
//    and a scalar scale and shift after that activation become its
//    post_scale and post_shift.
// The fused op is a new node named after the ONNX node that completed it;
// the node it replaces stays in the graph unused and is pruned from every
// plan. Not part of weft's public API.
#ifndef WEFT_INTEROP_ONNX_FUSION_H_
#define WEFT_INTEROP_ONNX_FUSION_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/tensor.h"
#include "interop/onnx_context.h"

namespace weft {
namespace onnx_internal {

// y = x * scale + shift, per output channel (one value each, or one per
// channel of x's dim 1), folded into the Conv, ConvTranspose or their Fused
// form producing x:
// nullopt when x is not such a node's only output with `uses` ONNX uses
// (NodeContext::OnnxUses), when a Conv's weights or bias are not
// constants, or when the producer is a Fused op and the scale or shift is
// not a single value.
[[nodiscard]] absl::StatusOr<std::optional<Tensor>> FoldAffineIntoConv(
    NodeContext& c, const Tensor& x, const std::vector<double>& scale,
    const std::vector<double>& shift, int uses = 1);

// Binary op `op` (Mul, Add, Sub or Div) of x and a constant `k` (k first
// when `k_first`) folded as above when k is a scalar or a per-channel
// array ([M, 1, ...] aligned on x's dim 1) that leaves x's shape
// unchanged; else nullopt.
[[nodiscard]] absl::StatusOr<std::optional<Tensor>> FoldBinaryIntoConv(
    NodeContext& c, std::string_view op, const Tensor& x, const NDArray& k,
    bool k_first);

// The activation of `epilogue` (its post_scale and post_shift left at 1
// and 0) applied to x in the Conv or ConvTranspose producing it: a
// FusedConv or FusedConvTranspose, or nullopt when x is not such a node's
// output with exactly `uses` ONNX uses (those of the
// pattern being fused: 2 for x * HardSigmoid(x) written out).
[[nodiscard]] absl::StatusOr<std::optional<Tensor>> FuseActivationIntoConv(
    NodeContext& c, const Tensor& x, const ConvEpilogue& epilogue,
    int uses = 1);

}  // namespace onnx_internal
}  // namespace weft

#endif  // WEFT_INTEROP_ONNX_FUSION_H_
