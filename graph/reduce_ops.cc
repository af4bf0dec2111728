// The reduction family: ReduceSum, ReduceMean, ReduceMax (over the "axes"
// attr; empty = every axis) and ArgMax (over "axis"). Definitions,
// inference and builders; kernels in kernels/reduce_kernels.cc.
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

absl::Status InferReduce(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  absl::StatusOr<const std::vector<int64_t>*> axes =
      c.Attr<std::vector<int64_t>>("axes");
  if (!axes.ok()) return axes.status();
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<std::vector<int>> norm = NormalizeAxes(**axes, in.rank());
  if (!norm.ok()) return c.AttrError(std::string(norm.status().message()));
  std::vector<int64_t> out;
  for (int i = 0; i < in.rank(); ++i) {
    if (!std::binary_search(norm->begin(), norm->end(), i)) {
      out.push_back(in.dim(i));
    }
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(out)));
  return absl::OkStatus();
}

// ReduceMax: numeric; axes as ReduceSum; optional keep_dims keeps each
// reduced axis with size 1.
absl::Status InferReduceMax(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0, "ReduceMax"); !s.ok()) return s;
  absl::StatusOr<const std::vector<int64_t>*> axes =
      c.Attr<std::vector<int64_t>>("axes");
  if (!axes.ok()) return axes.status();
  absl::StatusOr<bool> keep = OptionalBoolAttr(c, "keep_dims");
  if (!keep.ok()) return keep.status();
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<std::vector<int>> norm = NormalizeAxes(**axes, in.rank());
  if (!norm.ok()) return c.AttrError(std::string(norm.status().message()));
  std::vector<int64_t> out;
  for (int i = 0; i < in.rank(); ++i) {
    const bool reduced = std::binary_search(norm->begin(), norm->end(), i);
    if (!reduced) {
      out.push_back(in.dim(i));
    } else if (*keep) {
      out.push_back(1);
    }
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(out)));
  return absl::OkStatus();
}

// ArgMax: numeric, rank >= 1; the axis is removed; int64 out.
absl::Status InferArgMax(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0, "ArgMax"); !s.ok()) return s;
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<int> axis = AxisAttr(c, in.rank(), "ArgMax axis");
  if (!axis.ok()) return axis.status();
  std::vector<int64_t> dims = in.dims();
  dims.erase(dims.begin() + *axis);
  c.SetOutput(DType::kInt64, Shape(std::move(dims)));
  return absl::OkStatus();
}

}  // namespace

void RegisterReduceOps(OpRegistry& r) {
  auto reg = [&r](OpDef def) {
    absl::Status s = r.Register(std::move(def));
    (void)s;  // Built-in names are distinct; Register cannot fail here.
  };
  reg({"ReduceSum", 1, {"axes"}, InferReduce});
  reg({"ReduceMean", 1, {"axes"}, InferReduce});
  reg({"ReduceMax", 1, {"axes"}, InferReduceMax});
  reg({"ArgMax", 1, {"axis"}, InferArgMax});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

Tensor ReduceSum(const Tensor& x, std::vector<int64_t> axes,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("ReduceSum", {x}, {{"axes", std::move(axes)}}, options, where);
}

Tensor ReduceMean(const Tensor& x, std::vector<int64_t> axes,
                  const OpOptions& options, std::source_location where) {
  return BuildOp("ReduceMean", {x}, {{"axes", std::move(axes)}}, options,
                 where);
}

Tensor ReduceMax(const Tensor& x, std::vector<int64_t> axes,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("ReduceMax", {x}, {{"axes", std::move(axes)}}, options, where);
}

Tensor ReduceMax(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("ReduceMax", {x},
                 {{"axes", std::move(axes)}, {"keep_dims", keep_dims}}, options,
                 where);
}

Tensor ArgMax(const Tensor& x, int axis, const OpOptions& options,
              std::source_location where) {
  return BuildOp("ArgMax", {x}, {{"axis", int64_t{axis}}}, options, where);
}

}  // namespace ops
}  // namespace weft
