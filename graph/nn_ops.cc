// The nn family: Softmax and LogSoftmax (any axis). Definitions, inference
// and builders; kernels in kernels/nn_kernels.cc (Highway overrides in
// kernels/backend_kernels.cc). Convolution, pooling and normalization ops
// join this family.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/inference_util.h"
#include "graph/op_families.h"
#include "graph/ops.h"
#include "graph/shape_util.h"

namespace weft {
namespace internal {
namespace {

// Softmax / LogSoftmax: floating, rank >= 1, the axis attr; same shape out.
absl::Status InferSoftmax(InferenceContext& c, std::string_view op) {
  if (absl::Status s = RequireFloating(c, 0, op); !s.ok()) return s;
  absl::StatusOr<int> axis =
      AxisAttr(c, c.input_shapes[0].rank(), absl::StrCat(op, " axis"));
  if (!axis.ok()) return axis.status();
  return InferSameAsInput(c);
}

}  // namespace

void RegisterNnOps(OpRegistry& r) {
  RegisterBuiltin(r, {"Softmax", 1, {"axis"}, [](InferenceContext& c) {
                        return InferSoftmax(c, "Softmax");
                      }});
  RegisterBuiltin(r, {"LogSoftmax", 1, {"axis"}, [](InferenceContext& c) {
                        return InferSoftmax(c, "LogSoftmax");
                      }});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

Tensor Softmax(const Tensor& x, const OpOptions& options,
               std::source_location where) {
  return Softmax(x, -1, options, where);
}

Tensor Softmax(const Tensor& x, int axis, const OpOptions& options,
               std::source_location where) {
  return BuildOp("Softmax", {x}, {{"axis", int64_t{axis}}}, options, where);
}

Tensor LogSoftmax(const Tensor& x, const OpOptions& options,
                  std::source_location where) {
  return LogSoftmax(x, -1, options, where);
}

Tensor LogSoftmax(const Tensor& x, int axis, const OpOptions& options,
                  std::source_location where) {
  return BuildOp("LogSoftmax", {x}, {{"axis", int64_t{axis}}}, options, where);
}

}  // namespace ops
}  // namespace weft
