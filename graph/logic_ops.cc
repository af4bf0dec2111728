// The logic family: comparisons (Less, LessEqual, Greater, GreaterEqual,
// Equal, NotEqual; broadcasting, bool output), LogicalAnd, LogicalOr,
// LogicalXor, LogicalNot, the float tests IsNaN and IsInf, and Select.
// Definitions, inference and builders; kernels in kernels/logic_kernels.cc.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
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

// The bool attr `name`: `absent` when the node does not have it, an
// AttrError when it has another type.
absl::StatusOr<bool> BoolAttrOr(InferenceContext& c, const std::string& name,
                                bool absent) {
  if (!c.attrs->contains(name)) return absent;
  return OptionalBoolAttr(c, name);
}

// IsNaN, IsInf: a float32/float64 input, a bool output of its shape.
absl::Status InferFloatTest(InferenceContext& c, std::string_view op) {
  if (absl::Status s = RequireFloating(c, 0, op); !s.ok()) return s;
  c.SetOutput(DType::kBool, c.input_shapes[0]);
  return absl::OkStatus();
}

// IsInf: as IsNaN, with the optional bool attrs detect_positive and
// detect_negative (both true when absent).
absl::Status InferIsInf(InferenceContext& c) {
  if (absl::Status s = InferFloatTest(c, "IsInf"); !s.ok()) return s;
  for (const char* name : {"detect_positive", "detect_negative"}) {
    absl::StatusOr<bool> v = BoolAttrOr(c, name, true);
    if (!v.ok()) return v.status();
  }
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
  for (const char* op : {"Less", "LessEqual", "Greater", "GreaterEqual"}) {
    RegisterBuiltin(r, {op, 2, {}, [](InferenceContext& c) {
                          return InferCompare(c, false);
                        }});
  }
  for (const char* op : {"Equal", "NotEqual"}) {
    RegisterBuiltin(r, {op, 2, {}, [](InferenceContext& c) {
                          return InferCompare(c, true);
                        }});
  }
  for (const char* op : {"LogicalAnd", "LogicalOr", "LogicalXor"}) {
    RegisterBuiltin(r, {op, 2, {}, InferLogicalBinary});
  }
  RegisterBuiltin(
      r, {"LogicalNot", 1, {}, [](InferenceContext& c) -> absl::Status {
            if (absl::Status s = RequireBool(c, 0, "LogicalNot"); !s.ok()) {
              return s;
            }
            c.SetOutput(DType::kBool, c.input_shapes[0]);
            return absl::OkStatus();
          }});
  RegisterBuiltin(r, {"Select", 3, {}, InferSelect});
  RegisterBuiltin(r, {"IsNaN", 1, {}, [](InferenceContext& c) {
                        return InferFloatTest(c, "IsNaN");
                      }});
  RegisterBuiltin(r, {"IsInf", 1, {}, InferIsInf});
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
WEFT_BINARY_BUILDER(LogicalXor)
WEFT_UNARY_BUILDER(LogicalNot)
WEFT_UNARY_BUILDER(IsNaN)

Tensor IsInf(const Tensor& x, const OpOptions& options,
             std::source_location where) {
  return BuildOp("IsInf", {x}, {}, options, where);
}

Tensor IsInf(const Tensor& x, bool detect_positive, bool detect_negative,
             const OpOptions& options, std::source_location where) {
  return BuildOp("IsInf", {x},
                 {{"detect_positive", detect_positive},
                  {"detect_negative", detect_negative}},
                 options, where);
}

Tensor Select(const Tensor& cond, const Tensor& a, const Tensor& b,
              const OpOptions& options, std::source_location where) {
  return BuildOp("Select", {cond, a, b}, {}, options, where);
}

}  // namespace ops
}  // namespace weft
