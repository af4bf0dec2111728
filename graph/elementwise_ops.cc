// The elementwise family: arithmetic applied element by element — the
// binary ops Add, Sub, Mul, Div, Maximum, Minimum, Pow (numpy broadcasting)
// and the unary ops Neg, Relu, Abs, Square, Sigmoid, Tanh, Exp, Log, Sqrt,
// Rsqrt, Erf. Definitions, inference and builders; kernels in
// kernels/elementwise_kernels.cc (Highway overrides in
// kernels/backend_kernels.cc).
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

absl::Status InferBinary(InferenceContext& c) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  absl::StatusOr<Shape> shape =
      BroadcastShapes(c.input_shapes[0], c.input_shapes[1]);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(c.input_dtypes[0], *std::move(shape));
  return absl::OkStatus();
}

// Pow: both inputs of one numeric dtype, broadcasting (integers: exact,
// wrapping; a negative exponent fails at run time).
absl::Status InferPow(InferenceContext& c) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  return InferBinary(c);
}

absl::Status InferUnaryNumeric(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  return InferSameAsInput(c);
}

absl::Status InferUnaryFloating(InferenceContext& c) {
  if (absl::Status s = RequireFloating(c, 0); !s.ok()) return s;
  return InferSameAsInput(c);
}

}  // namespace

void RegisterElementwiseOps(OpRegistry& r) {
  auto reg = [&r](OpDef def) {
    absl::Status s = r.Register(std::move(def));
    (void)s;  // Built-in names are distinct; Register cannot fail here.
  };
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Maximum", "Minimum"}) {
    reg({op, 2, {}, InferBinary});
  }
  reg({"Pow", 2, {}, InferPow});
  for (const char* op : {"Neg", "Relu", "Abs", "Square"}) {
    reg({op, 1, {}, InferUnaryNumeric});
  }
  for (const char* op :
       {"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Rsqrt", "Erf", "Softplus"}) {
    reg({op, 1, {}, InferUnaryFloating});
  }
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

WEFT_BINARY_BUILDER(Add)
WEFT_BINARY_BUILDER(Sub)
WEFT_BINARY_BUILDER(Mul)
WEFT_BINARY_BUILDER(Div)
WEFT_BINARY_BUILDER(Maximum)
WEFT_BINARY_BUILDER(Minimum)
WEFT_BINARY_BUILDER(Pow)
WEFT_UNARY_BUILDER(Neg)
WEFT_UNARY_BUILDER(Relu)
WEFT_UNARY_BUILDER(Abs)
WEFT_UNARY_BUILDER(Square)
WEFT_UNARY_BUILDER(Sigmoid)
WEFT_UNARY_BUILDER(Tanh)
WEFT_UNARY_BUILDER(Exp)
WEFT_UNARY_BUILDER(Log)
WEFT_UNARY_BUILDER(Sqrt)
WEFT_UNARY_BUILDER(Rsqrt)
WEFT_UNARY_BUILDER(Erf)
WEFT_UNARY_BUILDER(Softplus)

}  // namespace ops
}  // namespace weft
