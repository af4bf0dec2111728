// The elementwise family: arithmetic applied element by element — the
// binary ops Add, Sub, Mul, Div, Maximum, Minimum, Pow, Mod (numpy
// broadcasting) and the unary ops Neg, Relu, Abs, Square, Sign, Sigmoid,
// Tanh, Exp, Log, Sqrt, Rsqrt, Erf, Softplus, Floor, Ceil, Round, Sin, Cos,
// Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Reciprocal, and
// the fused activations HardSigmoid (float attrs alpha, beta) and HardSwish,
// which the ONNX importer emits in one pass where it would otherwise chain
// four or five ops. Definitions, inference and builders; kernels in
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

// Mod: as the binary ops, plus the optional bool attr "fmod".
absl::Status InferMod(InferenceContext& c) {
  absl::StatusOr<bool> fmod = OptionalBoolAttr(c, "fmod");
  if (!fmod.ok()) return fmod.status();
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

// HardSigmoid: max(0, min(1, alpha * x + beta)), with the double attrs
// alpha and beta.
absl::Status InferHardSigmoid(InferenceContext& c) {
  for (const char* name : {"alpha", "beta"}) {
    absl::StatusOr<const double*> v = c.Attr<double>(name);
    if (!v.ok()) return v.status();
  }
  return InferUnaryFloating(c);
}

}  // namespace

void RegisterElementwiseOps(OpRegistry& r) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Maximum", "Minimum"}) {
    RegisterBuiltin(r, {op, 2, {}, InferBinary});
  }
  RegisterBuiltin(r, {"Pow", 2, {}, InferPow});
  RegisterBuiltin(r, {"Mod", 2, {}, InferMod});
  for (const char* op : {"Neg", "Relu", "Abs", "Square", "Sign"}) {
    RegisterBuiltin(r, {op, 1, {}, InferUnaryNumeric});
  }
  for (const char* op :
       {"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Rsqrt", "Erf", "Softplus"}) {
    RegisterBuiltin(r, {op, 1, {}, InferUnaryFloating});
  }
  for (const char* op :
       {"Floor", "Ceil", "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
        "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Reciprocal"}) {
    RegisterBuiltin(r, {op, 1, {}, InferUnaryFloating});
  }
  RegisterBuiltin(r, {"HardSigmoid", 1, {"alpha", "beta"}, InferHardSigmoid});
  // x * HardSigmoid(x) with alpha 1/6, beta 0.5.
  RegisterBuiltin(r, {"HardSwish", 1, {}, InferUnaryFloating});
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
WEFT_UNARY_BUILDER(Sign)
WEFT_UNARY_BUILDER(Floor)
WEFT_UNARY_BUILDER(Ceil)
WEFT_UNARY_BUILDER(Round)
WEFT_UNARY_BUILDER(Sin)
WEFT_UNARY_BUILDER(Cos)
WEFT_UNARY_BUILDER(Tan)
WEFT_UNARY_BUILDER(Asin)
WEFT_UNARY_BUILDER(Acos)
WEFT_UNARY_BUILDER(Atan)
WEFT_UNARY_BUILDER(Sinh)
WEFT_UNARY_BUILDER(Cosh)
WEFT_UNARY_BUILDER(Asinh)
WEFT_UNARY_BUILDER(Acosh)
WEFT_UNARY_BUILDER(Atanh)
WEFT_UNARY_BUILDER(Reciprocal)

Tensor Mod(const Tensor& x, const Tensor& y, const OpOptions& options,
           std::source_location where) {
  return BuildOp("Mod", {x, y}, {}, options, where);
}

Tensor Mod(const Tensor& x, const Tensor& y, bool fmod,
           const OpOptions& options, std::source_location where) {
  return BuildOp("Mod", {x, y}, {{"fmod", fmod}}, options, where);
}

}  // namespace ops
}  // namespace weft
