// The model ops: Softmax, LogSoftmax, ReduceMax, ArgMax, Transpose, Concat,
// Slice, Gather and BatchMatMul — their builders (declared in graph/ops.h)
// and their build-time inference. The elementwise additions (Exp, Log, Pow,
// Minimum, ...) and MatMul's transpose attrs are inferred in op_registry.cc
// with the other elementwise ops.
#include "graph/nn_ops.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/ops.h"
#include "graph/shape_util.h"

namespace weft {
namespace internal {

absl::StatusOr<bool> OptionalBoolAttr(InferenceContext& c,
                                      const std::string& name) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return false;
  if (const bool* v = std::get_if<bool>(&it->second)) return *v;
  return c.AttrError(
      absl::StrCat("attr '", name, "' must be a bool (true or false)"));
}

namespace {

std::string Desc(const InferenceContext& c, int i) {
  return absl::StrCat("input ", i, " is ", DTypeName(c.input_dtypes[i]),
                      c.input_shapes[i].DebugString());
}

std::string ListString(const std::vector<int64_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ","), "]");
}

absl::Status RequireFloating(InferenceContext& c, int i, std::string_view op) {
  if (!IsFloating(c.input_dtypes[i])) {
    return c.DTypeError(absl::StrCat(Desc(c, i), "; ", op,
                                     " takes float32 or float64 (Cast the "
                                     "input first)"));
  }
  return absl::OkStatus();
}

absl::Status RequireNumeric(InferenceContext& c, int i, std::string_view op) {
  if (!IsNumeric(c.input_dtypes[i])) {
    return c.DTypeError(
        absl::StrCat(Desc(c, i), "; ", op,
                     " takes float32, float64, int32 or int64 (Cast the "
                     "input first)"));
  }
  return absl::OkStatus();
}

// The int64 attr `name`, normalized as an axis of `rank`.
absl::StatusOr<int> AxisAttr(InferenceContext& c, int rank,
                             std::string_view what) {
  absl::StatusOr<const int64_t*> axis = c.Attr<int64_t>("axis");
  if (!axis.ok()) return axis.status();
  absl::StatusOr<int> a = NormalizeAxis(**axis, rank, what);
  if (!a.ok()) return c.AttrError(std::string(a.status().message()));
  return *a;
}

// Softmax / LogSoftmax: floating, rank >= 1, the axis attr; same shape out.
absl::Status InferSoftmax(InferenceContext& c, std::string_view op) {
  if (absl::Status s = RequireFloating(c, 0, op); !s.ok()) return s;
  absl::StatusOr<int> axis =
      AxisAttr(c, c.input_shapes[0].rank(), absl::StrCat(op, " axis"));
  if (!axis.ok()) return axis.status();
  return InferSameAsInput(c);
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

// Transpose: any dtype; perm must list each axis of the input exactly once.
absl::Status InferTranspose(InferenceContext& c) {
  absl::StatusOr<const std::vector<int64_t>*> perm_attr =
      c.Attr<std::vector<int64_t>>("perm");
  if (!perm_attr.ok()) return perm_attr.status();
  const std::vector<int64_t>& perm = **perm_attr;
  const Shape& in = c.input_shapes[0];
  const int rank = in.rank();
  std::vector<bool> seen(rank, false);
  bool valid = static_cast<int64_t>(perm.size()) == rank;
  for (size_t i = 0; valid && i < perm.size(); ++i) {
    valid = perm[i] >= 0 && perm[i] < rank && !seen[perm[i]];
    if (valid) seen[perm[i]] = true;
  }
  if (!valid) {
    std::vector<int64_t> reversed;
    for (int i = rank - 1; i >= 0; --i) reversed.push_back(i);
    return c.AttrError(absl::StrCat(
        "Transpose perm ", ListString(perm), " is not a permutation of the ",
        rank, " axes of ", Desc(c, 0), "; list each axis from 0 to ", rank - 1,
        " exactly once (", ListString(reversed), " reverses them)"));
  }
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) dims[i] = in.dim(perm[i]);
  c.SetOutput(c.input_dtypes[0], Shape(std::move(dims)));
  return absl::OkStatus();
}

// Concat: one or more inputs of one dtype and rank; every dim except the
// axis agrees (unknown dims match anything); the axis dims add up.
absl::Status InferConcat(InferenceContext& c) {
  const int n = static_cast<int>(c.input_dtypes.size());
  if (n == 0) {
    return c.ShapeError(
        "Concat of no inputs; pass at least one tensor to concatenate");
  }
  const Shape& first = c.input_shapes[0];
  absl::StatusOr<int> axis = AxisAttr(c, first.rank(), "Concat axis");
  if (!axis.ok()) return axis.status();
  std::vector<int64_t> dims = first.dims();
  for (int i = 1; i < n; ++i) {
    if (c.input_dtypes[i] != c.input_dtypes[0]) {
      return c.DTypeError(
          absl::StrCat("dtype mismatch: ", Desc(c, i), " but ", Desc(c, 0),
                       "; Concat's inputs share one dtype (Cast the odd one)"));
    }
    const Shape& s = c.input_shapes[i];
    bool match = s.rank() == first.rank();
    for (int d = 0; match && d < s.rank(); ++d) {
      if (d == *axis) continue;
      if (dims[d] >= 0 && s.dim(d) >= 0 && dims[d] != s.dim(d)) match = false;
      if (dims[d] < 0) dims[d] = s.dim(d);
    }
    if (!match) {
      return c.ShapeError(
          absl::StrCat("Concat ", Desc(c, i), " but ", Desc(c, 0),
                       "; every dimension except the concat axis ", *axis,
                       " must match (Reshape or Slice the inputs to agree)"));
    }
    if (dims[*axis] >= 0) {
      dims[*axis] = s.dim(*axis) >= 0 ? dims[*axis] + s.dim(*axis) : -1;
    }
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(dims)));
  return absl::OkStatus();
}

// Slice: begin and size, one entry per input axis; size -1 means "to the
// end". Known dims are bounds-checked here, the rest by the kernel.
absl::Status InferSlice(InferenceContext& c) {
  absl::StatusOr<const std::vector<int64_t>*> begin_attr =
      c.Attr<std::vector<int64_t>>("begin");
  if (!begin_attr.ok()) return begin_attr.status();
  absl::StatusOr<const std::vector<int64_t>*> size_attr =
      c.Attr<std::vector<int64_t>>("size");
  if (!size_attr.ok()) return size_attr.status();
  const std::vector<int64_t>& begin = **begin_attr;
  const std::vector<int64_t>& size = **size_attr;
  const Shape& in = c.input_shapes[0];
  if (static_cast<int64_t>(begin.size()) != in.rank() ||
      static_cast<int64_t>(size.size()) != in.rank()) {
    return c.AttrError(absl::StrCat("Slice begin ", ListString(begin),
                                    " and size ", ListString(size),
                                    " must have one entry per axis of ",
                                    Desc(c, 0), " (", in.rank(), " each)"));
  }
  std::vector<int64_t> dims(in.rank());
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t d = in.dim(i);
    const bool bad = begin[i] < 0 || size[i] < -1 || (d >= 0 && begin[i] > d) ||
                     (d >= 0 && size[i] >= 0 && size[i] > d - begin[i]);
    if (bad) {
      return c.ShapeError(absl::StrCat(
          "Slice begin ", ListString(begin), " size ", ListString(size),
          " is out of bounds for ", Desc(c, 0), " at axis ", i,
          "; need 0 <= begin <= dim and begin + size <= dim (size -1 "
          "means to the end)"));
    }
    if (size[i] >= 0) {
      dims[i] = size[i];
    } else {
      dims[i] = d >= 0 ? d - begin[i] : -1;
    }
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(dims)));
  return absl::OkStatus();
}

// Gather(params, indices): indices int32/int64; out = params[:axis] +
// indices + params[axis+1:].
absl::Status InferGather(InferenceContext& c) {
  if (c.input_dtypes[1] != DType::kInt32 &&
      c.input_dtypes[1] != DType::kInt64) {
    return c.DTypeError(
        absl::StrCat(Desc(c, 1),
                     "; Gather's indices (input 1) are int32 or int64 (Cast "
                     "them)"));
  }
  const Shape& params = c.input_shapes[0];
  absl::StatusOr<int> axis = AxisAttr(c, params.rank(), "Gather axis");
  if (!axis.ok()) return axis.status();
  std::vector<int64_t> dims(params.dims().begin(),
                            params.dims().begin() + *axis);
  for (int64_t d : c.input_shapes[1].dims()) dims.push_back(d);
  for (int i = *axis + 1; i < params.rank(); ++i) dims.push_back(params.dim(i));
  c.SetOutput(c.input_dtypes[0], Shape(std::move(dims)));
  return absl::OkStatus();
}

// BatchMatMul: rank >= 2 each; the last two dims multiply as MatMul (with
// the transpose attrs); the leading (batch) dims broadcast numpy-style.
absl::Status InferBatchMatMul(InferenceContext& c) {
  if (c.input_dtypes[0] != c.input_dtypes[1]) {
    return c.DTypeError(absl::StrCat("dtype mismatch: ", Desc(c, 0), " but ",
                                     Desc(c, 1),
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

}  // namespace

void RegisterNnOps(OpRegistry& r) {
  auto reg = [&r](OpDef def) {
    absl::Status s = r.Register(std::move(def));
    (void)s;  // Built-in names are distinct; Register cannot fail here.
  };
  reg({"Softmax", 1, {"axis"}, [](InferenceContext& c) {
         return InferSoftmax(c, "Softmax");
       }});
  reg({"LogSoftmax", 1, {"axis"}, [](InferenceContext& c) {
         return InferSoftmax(c, "LogSoftmax");
       }});
  reg({"ReduceMax", 1, {"axes"}, InferReduceMax});
  reg({"ArgMax", 1, {"axis"}, InferArgMax});
  reg({"Transpose", 1, {"perm"}, InferTranspose});
  reg({"Concat", OpDef::kVariadicInputs, {"axis"}, InferConcat});
  reg({"Slice", 1, {"begin", "size"}, InferSlice});
  reg({"Gather", 2, {"axis"}, InferGather});
  reg({"BatchMatMul", 2, {}, InferBatchMatMul});
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

Tensor Transpose(const Tensor& x, std::vector<int64_t> perm,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("Transpose", {x}, {{"perm", std::move(perm)}}, options, where);
}

Tensor Concat(const std::vector<Tensor>& values, int axis,
              const OpOptions& options, std::source_location where) {
  return BuildOp("Concat", values, {{"axis", int64_t{axis}}}, options, where);
}

Tensor Slice(const Tensor& x, std::vector<int64_t> begin,
             std::vector<int64_t> size, const OpOptions& options,
             std::source_location where) {
  return BuildOp("Slice", {x},
                 {{"begin", std::move(begin)}, {"size", std::move(size)}},
                 options, where);
}

Tensor Gather(const Tensor& params, const Tensor& indices, int axis,
              const OpOptions& options, std::source_location where) {
  return BuildOp("Gather", {params, indices}, {{"axis", int64_t{axis}}},
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

}  // namespace ops
}  // namespace weft
