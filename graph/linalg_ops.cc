// The linalg family: MatMul ([m,k] x [k,n], transpose attrs),
// BatchMatMul (batch dims broadcast) and Det. Definitions, inference and
// builders; kernels in kernels/linalg_kernels.cc (GEMM overrides in
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

// MatMul: [m,k] x [k,n] -> [m,n]; the optional bool attrs transpose_a /
// transpose_b read a as [k,m] / b as [n,k].
absl::Status InferMatMul(InferenceContext& c) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  absl::StatusOr<bool> ta = internal::OptionalBoolAttr(c, "transpose_a");
  if (!ta.ok()) return ta.status();
  absl::StatusOr<bool> tb = internal::OptionalBoolAttr(c, "transpose_b");
  if (!tb.ok()) return tb.status();
  const Shape& a = c.input_shapes[0];
  const Shape& b = c.input_shapes[1];
  if (a.rank() != 2 || b.rank() != 2) {
    return c.ShapeError(absl::StrCat(
        "MatMul takes two matrices, got ", a.DebugString(), " and ",
        b.DebugString(), "; for batches of matrices use BatchMatMul"));
  }
  const int64_t m = a.dim(*ta ? 1 : 0), ka = a.dim(*ta ? 0 : 1);
  const int64_t kb = b.dim(*tb ? 1 : 0), n = b.dim(*tb ? 0 : 1);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return c.ShapeError(absl::StrCat(
        "MatMul inner dimensions differ: ", a.DebugString(),
        *ta ? " (transposed)" : "", " x ", b.DebugString(),
        *tb ? " (transposed)" : "", " (", ka, " vs ", kb,
        "); check the operand order or the transpose_a/transpose_b flags"));
  }
  c.SetOutput(c.input_dtypes[0], Shape{m, n});
  return absl::OkStatus();
}

// BatchMatMul: rank >= 2 each; the last two dims multiply as MatMul (with
// the transpose attrs); the leading (batch) dims broadcast numpy-style.
absl::Status InferBatchMatMul(InferenceContext& c) {
  if (c.input_dtypes[0] != c.input_dtypes[1]) {
    return c.DTypeError(absl::StrCat("dtype mismatch: ", InputDesc(c, 0),
                                     " but ", InputDesc(c, 1),
                                     "; BatchMatMul's inputs share a dtype"));
  }
  if (absl::Status s = RequireNumeric(c, 0, "BatchMatMul"); !s.ok()) return s;
  absl::StatusOr<bool> ta = OptionalBoolAttr(c, "transpose_a");
  if (!ta.ok()) return ta.status();
  absl::StatusOr<bool> tb = OptionalBoolAttr(c, "transpose_b");
  if (!tb.ok()) return tb.status();
  const Shape& a = c.input_shapes[0];
  const Shape& b = c.input_shapes[1];
  if (a.rank() < 2 || b.rank() < 2) {
    return c.ShapeError(
        absl::StrCat("BatchMatMul takes batches of matrices (rank >= 2), got ",
                     a.DebugString(), " and ", b.DebugString(),
                     "; Reshape a vector to [1,n] or [n,1]"));
  }
  const int ra = a.rank(), rb = b.rank();
  const int64_t m = a.dim(*ta ? ra - 1 : ra - 2);
  const int64_t ka = a.dim(*ta ? ra - 2 : ra - 1);
  const int64_t kb = b.dim(*tb ? rb - 1 : rb - 2);
  const int64_t n = b.dim(*tb ? rb - 2 : rb - 1);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return c.ShapeError(absl::StrCat(
        "BatchMatMul inner dimensions differ: ", a.DebugString(),
        *ta ? " (transposed)" : "", " x ", b.DebugString(),
        *tb ? " (transposed)" : "", " (", ka, " vs ", kb,
        "); check the operand order or the transpose_a/transpose_b flags"));
  }
  absl::StatusOr<Shape> batch = BroadcastShapes(
      Shape(std::vector<int64_t>(a.dims().begin(), a.dims().end() - 2)),
      Shape(std::vector<int64_t>(b.dims().begin(), b.dims().end() - 2)));
  if (!batch.ok()) {
    return c.ShapeError(absl::StrCat(
        "BatchMatMul batch dimensions of ", a.DebugString(), " and ",
        b.DebugString(), " do not broadcast: ", batch.status().message()));
  }
  std::vector<int64_t> dims = batch->dims();
  dims.push_back(m);
  dims.push_back(n);
  c.SetOutput(c.input_dtypes[0], Shape(std::move(dims)));
  return absl::OkStatus();
}

// Det: float32/float64 [..., n, n] -> [...].
absl::Status InferDet(InferenceContext& c) {
  if (absl::Status s = RequireFloating(c, 0, "Det"); !s.ok()) return s;
  const Shape& x = c.input_shapes[0];
  const int r = x.rank();
  if (r < 2 || (x.dim(r - 1) >= 0 && x.dim(r - 2) >= 0 &&
                x.dim(r - 1) != x.dim(r - 2))) {
    return c.ShapeError(absl::StrCat(
        InputDesc(c, 0), "; Det takes square matrices [..., n, n]"));
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::vector<int64_t>(
                                     x.dims().begin(), x.dims().end() - 2)));
  return absl::OkStatus();
}

}  // namespace

void RegisterLinalgOps(OpRegistry& r) {
  RegisterBuiltin(r, {"MatMul", 2, {}, InferMatMul});
  RegisterBuiltin(r, {"BatchMatMul", 2, {}, InferBatchMatMul});
  RegisterBuiltin(r, {"Det", 1, {}, InferDet});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

Tensor MatMul(const Tensor& x, const Tensor& y, const OpOptions& options,
              std::source_location where) {
  return BuildOp("MatMul", {x, y}, {}, options, where);
}

Tensor MatMul(const Tensor& a, const Tensor& b, bool transpose_a,
              bool transpose_b, const OpOptions& options,
              std::source_location where) {
  return BuildOp("MatMul", {a, b},
                 {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}},
                 options, where);
}

Tensor BatchMatMul(const Tensor& a, const Tensor& b, const OpOptions& options,
                   std::source_location where) {
  return BuildOp("BatchMatMul", {a, b}, {}, options, where);
}

Tensor BatchMatMul(const Tensor& a, const Tensor& b, bool transpose_a,
                   bool transpose_b, const OpOptions& options,
                   std::source_location where) {
  return BuildOp("BatchMatMul", {a, b},
                 {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}},
                 options, where);
}

Tensor Det(const Tensor& x, const OpOptions& options,
           std::source_location where) {
  return BuildOp("Det", {x}, {}, options, where);
}

}  // namespace ops
}  // namespace weft
