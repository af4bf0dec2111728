// The logic family: comparisons (Less, LessEqual, Greater, GreaterEqual,
// Equal, NotEqual; broadcasting, bool output), LogicalAnd, LogicalOr,
// LogicalNot, and Select. Definitions, inference and builders; kernels in
// kernels/logic_kernels.cc.
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

// Less, ..., NotEqual: one numeric dtype (Equal/NotEqual also bool),
// broadcasting, bool output.
absl::Status InferCompare(InferenceContext& c, bool allow_bool) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (!(allow_bool && c.input_dtypes[0] == DType::kBool)) {
    if (!IsNumeric(c.input_dtypes[0])) {
      return c.DTypeError(absl::StrCat(
          InputDesc(c, 0), "; this comparison takes float32, float64, int32 ",
          allow_bool ? "int64 or bool" : "or int64"));
    }
  }
  absl::StatusOr<Shape> shape =
      BroadcastShapes(c.input_shapes[0], c.input_shapes[1]);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(DType::kBool, *std::move(shape));
  return absl::OkStatus();
}

absl::Status InferLogicalBinary(InferenceContext& c) {
  if (absl::Status s = RequireBool(c, 0, "this logical op"); !s.ok()) return s;
  if (absl::Status s = RequireBool(c, 1, "this logical op"); !s.ok()) return s;
  absl::StatusOr<Shape> shape =
      BroadcastShapes(c.input_shapes[0], c.input_shapes[1]);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(DType::kBool, *std::move(shape));
  return absl::OkStatus();
}

// Select(cond, a, b): cond bool, a and b of one dtype; the three shapes
// broadcast together.
absl::Status InferSelect(InferenceContext& c) {
  if (absl::Status s = RequireBool(c, 0, "Select's condition (input 0)");
      !s.ok()) {
    return s;
  }
  if (c.input_dtypes[1] != c.input_dtypes[2]) {
    return c.DTypeError(absl::StrCat("dtype mismatch: ", InputDesc(c, 1),
                                     " but ", InputDesc(c, 2),
                                     "; Select's two values share a dtype"));
  }
  absl::StatusOr<Shape> ab =
      BroadcastShapes(c.input_shapes[1], c.input_shapes[2]);
  if (!ab.ok()) return c.ShapeError(std::string(ab.status().message()));
  absl::StatusOr<Shape> shape = BroadcastShapes(c.input_shapes[0], *ab);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(c.input_dtypes[1], *std::move(shape));
  return absl::OkStatus();
}

}  // namespace

void RegisterLogicOps(OpRegistry& r) {
  auto reg = [&r](OpDef def) {
    absl::Status s = r.Register(std::move(def));
    (void)s;  // Built-in names are distinct; Register cannot fail here.
  };
  for (const char* op : {"Less", "LessEqual", "Greater", "GreaterEqual"}) {
    reg({op, 2, {}, [](InferenceContext& c) {
           return InferCompare(c, false);
         }});
  }
  for (const char* op : {"Equal", "NotEqual"}) {
    reg({op, 2, {}, [](InferenceContext& c) { return InferCompare(c, true); }});
  }
  for (const char* op : {"LogicalAnd", "LogicalOr"}) {
    reg({op, 2, {}, InferLogicalBinary});
  }
  reg({"LogicalNot", 1, {}, [](InferenceContext& c) -> absl::Status {
         if (absl::Status s = RequireBool(c, 0, "LogicalNot"); !s.ok()) {
           return s;
         }
         c.SetOutput(DType::kBool, c.input_shapes[0]);
         return absl::OkStatus();
       }});
  reg({"Select", 3, {}, InferSelect});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

WEFT_BINARY_BUILDER(Less)
WEFT_BINARY_BUILDER(LessEqual)
WEFT_BINARY_BUILDER(Greater)
WEFT_BINARY_BUILDER(GreaterEqual)
WEFT_BINARY_BUILDER(Equal)
WEFT_BINARY_BUILDER(NotEqual)
WEFT_BINARY_BUILDER(LogicalAnd)
WEFT_BINARY_BUILDER(LogicalOr)
WEFT_UNARY_BUILDER(LogicalNot)

Tensor Select(const Tensor& cond, const Tensor& a, const Tensor& b,
              const OpOptions& options, std::source_location where) {
  return BuildOp("Select", {cond, a, b}, {}, options, where);
}

}  // namespace ops
}  // namespace weft
