// The array family: ops that produce, forward or rearrange arrays without
// arithmetic — Const, Placeholder, Identity, Reshape, Cast, Split,
// Transpose, Concat, Slice, Gather. Their definitions and build-time
// inference (RegisterArrayOps) and their builders (declared in graph/ops.h);
// kernels in kernels/array_kernels.cc.
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

// More outputs than any sane Split needs; keeps a typo from allocating
// millions of output slots.
constexpr int64_t kMaxSplits = 1 << 16;

absl::Status InferReshape(InferenceContext& c) {
  absl::StatusOr<const Shape*> target = c.Attr<Shape>("shape");
  if (!target.ok()) return target.status();
  absl::StatusOr<Shape> out = ResolveReshape(c.input_shapes[0], **target);
  if (!out.ok()) return c.ShapeError(std::string(out.status().message()));
  c.SetOutput(c.input_dtypes[0], *std::move(out));
  return absl::OkStatus();
}

absl::Status InferSplit(InferenceContext& c) {
  absl::StatusOr<const int64_t*> num = c.Attr<int64_t>("num_splits");
  if (!num.ok()) return num.status();
  absl::StatusOr<const int64_t*> axis_attr = c.Attr<int64_t>("axis");
  if (!axis_attr.ok()) return axis_attr.status();
  const int64_t n = **num;
  if (n < 1 || n > kMaxSplits) {
    return c.AttrError(absl::StrCat("Split num_splits is ", n,
                                    "; it must be from 1 to ", kMaxSplits));
  }
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<int> axis =
      NormalizeAxis(**axis_attr, in.rank(), "Split axis");
  if (!axis.ok()) return c.AttrError(std::string(axis.status().message()));
  std::vector<int64_t> dims = in.dims();
  if (dims[*axis] >= 0) {
    if (dims[*axis] % n != 0) {
      return c.ShapeError(absl::StrCat(
          "Split cannot divide dimension ", *axis, " of ", in.DebugString(),
          " (size ", dims[*axis], ") into ", n, " equal parts"));
    }
    dims[*axis] /= n;
  }
  c.SetOutputs(std::vector<DType>(n, c.input_dtypes[0]),
               std::vector<Shape>(n, Shape(dims)));
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
        rank, " axes of ", InputDesc(c, 0), "; list each axis from 0 to ",
        rank - 1, " exactly once (", ListString(reversed), " reverses them)"));
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
      return c.DTypeError(absl::StrCat(
          "dtype mismatch: ", InputDesc(c, i), " but ", InputDesc(c, 0),
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
          absl::StrCat("Concat ", InputDesc(c, i), " but ", InputDesc(c, 0),
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
    return c.AttrError(
        absl::StrCat("Slice begin ", ListString(begin), " and size ",
                     ListString(size), " must have one entry per axis of ",
                     InputDesc(c, 0), " (", in.rank(), " each)"));
  }
  std::vector<int64_t> dims(in.rank());
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t d = in.dim(i);
    const bool bad = begin[i] < 0 || size[i] < -1 || (d >= 0 && begin[i] > d) ||
                     (d >= 0 && size[i] >= 0 && size[i] > d - begin[i]);
    if (bad) {
      return c.ShapeError(absl::StrCat(
          "Slice begin ", ListString(begin), " size ", ListString(size),
          " is out of bounds for ", InputDesc(c, 0), " at axis ", i,
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
        absl::StrCat(InputDesc(c, 1),
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

}  // namespace

void RegisterArrayOps(OpRegistry& r) {
  auto reg = [&r](OpDef def) {
    absl::Status s = r.Register(std::move(def));
    (void)s;  // Built-in names are distinct; Register cannot fail here.
  };
  reg({"Const", 0, {"value"}, [](InferenceContext& c) -> absl::Status {
         absl::StatusOr<const NDArray*> v = c.Attr<NDArray>("value");
         if (!v.ok()) return v.status();
         if (!(*v)->valid()) return c.AttrError("Const of an empty NDArray");
         c.SetOutput((*v)->dtype(), (*v)->shape());
         return absl::OkStatus();
       }});
  reg({"Placeholder",
       0,
       {"dtype", "shape"},
       [](InferenceContext& c) -> absl::Status {
         absl::StatusOr<const DType*> d = c.Attr<DType>("dtype");
         if (!d.ok()) return d.status();
         absl::StatusOr<const Shape*> s = c.Attr<Shape>("shape");
         if (!s.ok()) return s.status();
         if (!IsValidDType(**d)) return c.DTypeError("invalid dtype");
         if (absl::Status v = (*s)->Validate(); !v.ok()) {
           return c.ShapeError(std::string(v.message()));
         }
         c.SetOutput(**d, **s);
         return absl::OkStatus();
       }});
  reg({"Identity", 1, {}, InferSameAsInput});
  reg({"Reshape", 1, {"shape"}, InferReshape});
  reg({"Cast", 1, {"dtype"}, [](InferenceContext& c) -> absl::Status {
         absl::StatusOr<const DType*> d = c.Attr<DType>("dtype");
         if (!d.ok()) return d.status();
         if (!IsValidDType(**d))
           return c.DTypeError("Cast to an invalid dtype");
         c.SetOutput(**d, c.input_shapes[0]);
         return absl::OkStatus();
       }});
  reg({.type = "Split",
       .num_inputs = 1,
       .attrs = {"num_splits", "axis"},
       .infer = InferSplit,
       .num_outputs = OpDef::kOutputsFromInference});
  reg({"Transpose", 1, {"perm"}, InferTranspose});
  reg({"Concat", OpDef::kVariadicInputs, {"axis"}, InferConcat});
  reg({"Slice", 1, {"begin", "size"}, InferSlice});
  reg({"Gather", 2, {"axis"}, InferGather});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

Tensor Const(const NDArray& value, const OpOptions& options,
             std::source_location where) {
  return BuildOp("Const", {}, {{"value", value}}, options, where);
}

Tensor Placeholder(DType dtype, Shape shape, const OpOptions& options,
                   std::source_location where) {
  return BuildOp("Placeholder", {},
                 {{"dtype", dtype}, {"shape", std::move(shape)}}, options,
                 where);
}

WEFT_UNARY_BUILDER(Identity)

Tensor Reshape(const Tensor& x, Shape shape, const OpOptions& options,
               std::source_location where) {
  return BuildOp("Reshape", {x}, {{"shape", std::move(shape)}}, options, where);
}

Tensor Cast(const Tensor& x, DType dtype, const OpOptions& options,
            std::source_location where) {
  return BuildOp("Cast", {x}, {{"dtype", dtype}}, options, where);
}

std::vector<Tensor> Split(const Tensor& x, int num_splits, int axis,
                          const OpOptions& options,
                          std::source_location where) {
  return internal::BuildOpN(
      "Split", {x},
      {{"num_splits", int64_t{num_splits}}, {"axis", int64_t{axis}}}, options,
      where, num_splits);
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

}  // namespace ops
}  // namespace weft
