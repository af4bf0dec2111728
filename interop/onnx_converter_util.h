// onnx_converter_util.h — internal to //interop: helpers the converter
// files share (status macros, shape arithmetic for reshapes), and the
// registration hooks of the converter files.
#ifndef WEFT_INTEROP_ONNX_CONVERTER_UTIL_H_
#define WEFT_INTEROP_ONNX_CONVERTER_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "interop/onnx_context.h"

#define WEFT_ONNX_CONCAT_INNER(a, b) a##b
#define WEFT_ONNX_CONCAT(a, b) WEFT_ONNX_CONCAT_INNER(a, b)
// `lhs = *expr` when `expr` (a StatusOr) is ok, else returns its status.
#define ASSIGN_OR_RETURN_ONNX(lhs, expr) \
  ASSIGN_OR_RETURN_ONNX_IMPL(WEFT_ONNX_CONCAT(_status_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_ONNX_IMPL(var, lhs, expr) \
  auto var = (expr);                               \
  if (!var.ok()) return var.status();              \
  lhs = *std::move(var)

namespace weft {
namespace onnx_internal {

void RegisterArrayConverters(absl::flat_hash_map<std::string, Converter>& t);

// The 2-D shape [prod(dims[:axis]), prod(dims[axis:])] of `shape`; one side
// may be unknown (-1), not both.
[[nodiscard]] absl::StatusOr<Shape> Flatten2D(const NodeContext& c,
                                              const Shape& shape, int64_t axis);

// Reshapes `x` to `shape`, which may have unknown dims: they are taken from
// nothing but the element count, so at most one may be unknown.
[[nodiscard]] absl::StatusOr<Tensor> ReshapeLike(NodeContext& c,
                                                 const Tensor& x,
                                                 const Shape& shape);

// Cast(clamp(round_half_even(x) (+ *zp), lo, hi), dt) for dt uint8 ([0,
// 255]) or int8 ([-128, 127]), in x's float dtype: the last step of
// QuantizeLinear, DynamicQuantizeLinear and QLinearMatMul.
[[nodiscard]] absl::StatusOr<Tensor> SaturateCast(NodeContext& c, Tensor x,
                                                  const Tensor* zp, DType dt);

// Input `i` (uint8/int8) cast to `dtype` (int32 or float64: exact for
// the integer matmuls and convolutions), minus zero point input `zp` when
// given: one value, or with `axis` one per index of that axis of the input
// (A's rows: -2; B's columns: -1; a weight's output channels: 0).
[[nodiscard]] absl::StatusOr<Tensor> CenteredInput(NodeContext& c, int i,
                                                   int zp, DType dtype,
                                                   std::optional<int> axis);

// The QLinear ops' last step: SaturateCast(float32(acc) * multiplier,
// zero point input `zp`) in the zero point's dtype (uint8 or int8).
[[nodiscard]] absl::StatusOr<Tensor> Requantize(NodeContext& c,
                                                const Tensor& acc,
                                                const Tensor& multiplier,
                                                int zp);

// `parts` (one shape) stacked along a new axis `axis` (of their rank + 1;
// negative counts from the end): numpy.stack, as Reshapes and a Concat.
[[nodiscard]] absl::StatusOr<Tensor> StackAlong(
    NodeContext& c, const std::vector<Tensor>& parts, int64_t axis);

// The one element of `a` as a double; kInvalidArgument naming `what` when
// `a` holds another number of elements.
[[nodiscard]] absl::StatusOr<double> OnlyValue(const NDArray& a,
                                               std::string_view what);

// Normalizes a possibly negative axis against `rank`.
[[nodiscard]] absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int rank);

}  // namespace onnx_internal
}  // namespace weft

#endif  // WEFT_INTEROP_ONNX_CONVERTER_UTIL_H_
