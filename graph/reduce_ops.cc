// The reduction family: ReduceSum, ReduceMean, ReduceMax, ReduceMin,
// ReduceProd (over the "axes" attr; empty = every axis; optional
// "keep_dims"), ArgMax and ArgMin (over "axis"; optional "keep_dims" and
// "select_last_index") and CumSum (along "axis"; optional "exclusive" and
// "reverse"). Definitions, inference and builders; kernels in
// kernels/reduce_kernels.cc.
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

// The reductions over the "axes" attr (empty = every axis; negative axes
// count from the end): numeric; with the optional bool attr keep_dims each
// reduced axis stays with size 1, else it is removed. `op` names the op in
// the dtype error (empty: the family's generic wording).
absl::Status InferReduceAxes(InferenceContext& c, std::string_view op) {
  if (absl::Status s =
          op.empty() ? RequireNumeric(c, 0) : RequireNumeric(c, 0, op);
      !s.ok()) {
    return s;
  }
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

// ArgMax / ArgMin: numeric, rank >= 1; int64 out. The axis is removed, or
// kept with size 1 under the optional bool attr keep_dims; the optional
// bool attr select_last_index picks the last extreme instead of the first.
absl::Status InferArg(InferenceContext& c, std::string_view op) {
  if (absl::Status s = RequireNumeric(c, 0, op); !s.ok()) return s;
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<int> axis = AxisAttr(c, in.rank(), absl::StrCat(op, " axis"));
  if (!axis.ok()) return axis.status();
  absl::StatusOr<bool> keep = OptionalBoolAttr(c, "keep_dims");
  if (!keep.ok()) return keep.status();
  absl::StatusOr<bool> last = OptionalBoolAttr(c, "select_last_index");
  if (!last.ok()) return last.status();
  std::vector<int64_t> dims = in.dims();
  if (*keep) {
    dims[*axis] = 1;
  } else {
    dims.erase(dims.begin() + *axis);
  }
  c.SetOutput(DType::kInt64, Shape(std::move(dims)));
  return absl::OkStatus();
}

// CumSum: numeric, rank >= 1, the int64 attr axis and the optional bool
// attrs exclusive and reverse; the input's dtype and shape out.
absl::Status InferCumSum(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0, "CumSum"); !s.ok()) return s;
  absl::StatusOr<int> axis =
      AxisAttr(c, c.input_shapes[0].rank(), "CumSum axis");
  if (!axis.ok()) return axis.status();
  for (const char* name : {"exclusive", "reverse"}) {
    absl::StatusOr<bool> v = OptionalBoolAttr(c, name);
    if (!v.ok()) return v.status();
  }
  return InferSameAsInput(c);
}

}  // namespace

void RegisterReduceOps(OpRegistry& r) {
  for (const char* op : {"ReduceSum", "ReduceMean"}) {
    RegisterBuiltin(r, {op, 1, {"axes"}, [](InferenceContext& c) {
                          return InferReduceAxes(c, "");
                        }});
  }
  for (const char* op : {"ReduceMax", "ReduceMin", "ReduceProd"}) {
    RegisterBuiltin(r, {op, 1, {"axes"}, [op](InferenceContext& c) {
                          return InferReduceAxes(c, op);
                        }});
  }
  for (const char* op : {"ArgMax", "ArgMin"}) {
    RegisterBuiltin(r, {op, 1, {"axis"}, [op](InferenceContext& c) {
                          return InferArg(c, op);
                        }});
  }
  RegisterBuiltin(r, {"CumSum", 1, {"axis"}, InferCumSum});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

namespace {

Tensor Reduce(std::string_view op, const Tensor& x, std::vector<int64_t> axes,
              const OpOptions& options, std::source_location where) {
  return BuildOp(op, {x}, {{"axes", std::move(axes)}}, options, where);
}

Tensor Reduce(std::string_view op, const Tensor& x, std::vector<int64_t> axes,
              bool keep_dims, const OpOptions& options,
              std::source_location where) {
  return BuildOp(op, {x}, {{"axes", std::move(axes)}, {"keep_dims", keep_dims}},
                 options, where);
}

}  // namespace

#define WEFT_REDUCE_BUILDERS(Name)                                        \
  Tensor Name(const Tensor& x, std::vector<int64_t> axes,                 \
              const OpOptions& options, std::source_location where) {     \
    return Reduce(#Name, x, std::move(axes), options, where);             \
  }                                                                       \
  Tensor Name(const Tensor& x, std::vector<int64_t> axes, bool keep_dims, \
              const OpOptions& options, std::source_location where) {     \
    return Reduce(#Name, x, std::move(axes), keep_dims, options, where);  \
  }

WEFT_REDUCE_BUILDERS(ReduceSum)
WEFT_REDUCE_BUILDERS(ReduceMean)
WEFT_REDUCE_BUILDERS(ReduceMax)
WEFT_REDUCE_BUILDERS(ReduceMin)
WEFT_REDUCE_BUILDERS(ReduceProd)

#undef WEFT_REDUCE_BUILDERS

Tensor ArgMax(const Tensor& x, int axis, const OpOptions& options,
              std::source_location where) {
  return BuildOp("ArgMax", {x}, {{"axis", int64_t{axis}}}, options, where);
}

Tensor ArgMax(const Tensor& x, int axis, bool keep_dims, bool select_last_index,
              const OpOptions& options, std::source_location where) {
  return BuildOp("ArgMax", {x},
                 {{"axis", int64_t{axis}},
                  {"keep_dims", keep_dims},
                  {"select_last_index", select_last_index}},
                 options, where);
}

Tensor ArgMin(const Tensor& x, int axis, const OpOptions& options,
              std::source_location where) {
  return BuildOp("ArgMin", {x}, {{"axis", int64_t{axis}}}, options, where);
}

Tensor ArgMin(const Tensor& x, int axis, bool keep_dims, bool select_last_index,
              const OpOptions& options, std::source_location where) {
  return BuildOp("ArgMin", {x},
                 {{"axis", int64_t{axis}},
                  {"keep_dims", keep_dims},
                  {"select_last_index", select_last_index}},
                 options, where);
}

Tensor CumSum(const Tensor& x, int axis, const OpOptions& options,
              std::source_location where) {
  return BuildOp("CumSum", {x}, {{"axis", int64_t{axis}}}, options, where);
}

Tensor CumSum(const Tensor& x, int axis, bool exclusive, bool reverse,
              const OpOptions& options, std::source_location where) {
  return BuildOp(
      "CumSum", {x},
      {{"axis", int64_t{axis}}, {"exclusive", exclusive}, {"reverse", reverse}},
      options, where);
}

}  // namespace ops
}  // namespace weft
