// The converters of ONNX's array ops: casts, reshapes, slicing, gathering,
// padding, resizing, and the shape ops whose results are known at import
// (Shape, Size, ConstantOfShape, EyeLike, Range of constants).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"
#include "interop/onnx_tensor.h"

namespace weft {
namespace onnx_internal {

absl::StatusOr<int64_t> NormalizeAxis(int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return axis < 0 ? axis + rank : axis;
}

absl::StatusOr<Shape> Flatten2D(const NodeContext& c, const Shape& shape,
                                int64_t axis) {
  (void)c;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    int64_t& side = i < axis ? outer : inner;
    if (shape.dim(i) < 0 || side < 0) {
      side = -1;
    } else {
      side *= shape.dim(i);
    }
  }
  if (outer < 0 && inner < 0) {
    return absl::UnimplementedError(absl::StrCat(
        "flattening shape ", shape.DebugString(),
        " needs its dims known on at least one side of axis ", axis));
  }
  return Shape{outer, inner};
}

absl::StatusOr<Tensor> ReshapeLike(NodeContext& c, const Tensor& x,
                                   const Shape& shape) {
  int unknown = 0;
  for (int64_t d : shape.dims()) unknown += d < 0;
  if (unknown > 1) {
    return c.Unsupported(absl::StrCat(
        "reshaping to ", shape.DebugString(),
        " needs all but one dim known at import (pin the model's input "
        "shapes with OnnxImportOptions::input_shapes)"));
  }
  return c.Op("Reshape", {x}, {{"shape", shape}});
}

namespace {

// The largest constant the importer itself fills (ConstantOfShape,
// Dropout's mask): 4 GiB. A larger one is refused before any allocation,
// so a hostile model cannot make import exhaust memory. (Values folded by
// weft's kernels are bounded by the session's max_allocation_bytes.)
constexpr int64_t kMaxImportConstantBytes = int64_t{1} << 32;

absl::StatusOr<NDArray> Int64Vector(const std::vector<int64_t>& v) {
  return NDArray::Vector<int64_t>(v);
}

absl::Status Cast(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  absl::StatusOr<DType> to =
      DTypeFromOnnx(static_cast<int32_t>(c.Int("to", 0)));
  if (!to.ok())
    return c.Unsupported(absl::StrCat("cast to ", to.status().message()));
  if (c.has_attr("saturate")) c.Ignore("saturate");
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Cast", {x}, {{"dtype", *to}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status CastLike(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Cast", {x}, {{"dtype", c.dtype(1)}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Reshape(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  std::vector<int64_t> dims;
  if (c.opset() < 5) {
    dims = c.Ints("shape");
  } else {
    ASSIGN_OR_RETURN_ONNX(dims, c.ConstInts(1, "shape"));
  }
  const bool allow_zero = c.Int("allowzero", 0) != 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] != 0 || allow_zero) continue;
    if (static_cast<int>(i) >= x.shape().rank()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape[", i, "] = 0 copies a dim the input (rank ",
                       x.shape().rank(), ") lacks"));
    }
    dims[i] = x.shape().dim(i);  // -1 when unknown.
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, ReshapeLike(c, x, Shape(dims)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Flatten(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const int rank = x.shape().rank();
  int64_t axis = c.Int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "axis ", c.Int("axis", 1), " is out of range for rank ", rank));
  }
  ASSIGN_OR_RETURN_ONNX(Shape s, Flatten2D(c, x.shape(), axis));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Reshape", {x}, {{"shape", s}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Squeeze/Unsqueeze axes: an attribute before opset 13, input 1 from 13.
absl::StatusOr<std::vector<int64_t>> AxesArg(NodeContext& c) {
  if (c.opset() < 13) return c.Ints("axes");
  if (!c.has_input(1)) return std::vector<int64_t>{};
  return c.ConstInts(1, "axes");
}

absl::Status Squeeze(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> axes, AxesArg(c));
  const Shape& in = x.shape();
  std::vector<bool> drop(in.rank(), false);
  if (axes.empty()) {
    for (int i = 0; i < in.rank(); ++i) {
      if (in.dim(i) < 0) {
        return c.Unsupported(
            "Squeeze without axes of an input whose dims are not all known");
      }
      drop[i] = in.dim(i) == 1;
    }
  }
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN_ONNX(int64_t n, NormalizeAxis(a, in.rank()));
    if (in.dim(n) > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot squeeze axis ", a, " of shape ", in.DebugString()));
    }
    drop[n] = true;
  }
  std::vector<int64_t> dims;
  for (int i = 0; i < in.rank(); ++i) {
    if (!drop[i]) dims.push_back(in.dim(i));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, ReshapeLike(c, x, Shape(dims)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Unsqueeze(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> axes, AxesArg(c));
  const int out_rank = x.shape().rank() + static_cast<int>(axes.size());
  std::vector<bool> added(out_rank, false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN_ONNX(int64_t n, NormalizeAxis(a, out_rank));
    if (added[n]) {
      return absl::InvalidArgumentError(
          absl::StrCat("axis ", a, " is given twice"));
    }
    added[n] = true;
  }
  std::vector<int64_t> dims;
  int next = 0;
  for (int i = 0; i < out_rank; ++i) {
    dims.push_back(added[i] ? 1 : x.shape().dim(next++));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, ReshapeLike(c, x, Shape(dims)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Transpose(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  std::vector<int64_t> perm(x.shape().rank());
  std::iota(perm.rbegin(), perm.rend(), 0);
  perm = c.Ints("perm", perm);
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Transpose", {x}, {{"perm", perm}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Concat(NodeContext& c) {
  std::vector<Tensor> in;
  for (int i = 0; i < c.num_inputs(); ++i) {
    ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(i));
    in.push_back(x);
  }
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", 0), c.shape(0).rank()));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Concat", in, {{"axis", axis}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Slice of [begin, begin + size) along every axis; size -1 = to the end.
absl::StatusOr<Tensor> SliceOp(NodeContext& c, const Tensor& x,
                               std::vector<int64_t> begin,
                               std::vector<int64_t> size) {
  return c.Op("Slice", {x},
              {{"begin", std::move(begin)}, {"size", std::move(size)}});
}

absl::Status Split(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const Shape& in = x.shape();
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", 0), in.rank()));
  std::vector<int64_t> split;
  if (c.opset() < 13) {
    split = c.Ints("split");
  } else if (c.has_input(1)) {
    ASSIGN_OR_RETURN_ONNX(split, c.ConstInts(1, "split"));
  }
  if (c.has_attr("num_outputs")) c.Ignore("num_outputs");
  const int n = c.num_outputs();
  if (split.empty()) {
    if (in.dim(axis) >= 0 && in.dim(axis) % n != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("axis ", axis, " of length ", in.dim(axis),
                       " does not split into ", n, " equal parts"));
    }
    ASSIGN_OR_RETURN_ONNX(
        std::vector<Tensor> parts,
        c.OpN("Split", {x}, {{"num_splits", int64_t{n}}, {"axis", axis}}));
    for (int i = 0; i < n; ++i) c.SetOutput(i, parts[i]);
    return absl::OkStatus();
  }
  if (static_cast<int>(split.size()) != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "split lists ", split.size(), " sizes for ", n, " outputs"));
  }
  int64_t offset = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> begin(in.rank(), 0), size(in.rank(), -1);
    begin[axis] = offset;
    size[axis] = split[i];
    offset += split[i];
    ASSIGN_OR_RETURN_ONNX(Tensor part, SliceOp(c, x, begin, size));
    c.SetOutput(i, part);
  }
  return absl::OkStatus();
}

// Slice's starts, ends, axes and steps, one value per sliced axis.
struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Slice's arguments: attributes before opset 10, inputs from 10; axes
// default to 0, 1, ... and steps to 1.
absl::StatusOr<SliceArgs> ReadSliceArgs(NodeContext& c) {
  SliceArgs a;
  if (c.opset() < 10) {
    a.starts = c.Ints("starts");
    a.ends = c.Ints("ends");
    a.axes = c.Ints("axes");
  } else {
    ASSIGN_OR_RETURN_ONNX(a.starts, c.ConstInts(1, "starts"));
    ASSIGN_OR_RETURN_ONNX(a.ends, c.ConstInts(2, "ends"));
    if (c.has_input(3)) {
      ASSIGN_OR_RETURN_ONNX(a.axes, c.ConstInts(3, "axes"));
    }
    if (c.has_input(4)) {
      ASSIGN_OR_RETURN_ONNX(a.steps, c.ConstInts(4, "steps"));
    }
  }
  if (a.axes.empty()) {
    a.axes.resize(a.starts.size());
    std::iota(a.axes.begin(), a.axes.end(), 0);
  }
  if (a.steps.empty()) a.steps.assign(a.starts.size(), 1);
  if (a.starts.size() != a.ends.size() || a.axes.size() != a.starts.size() ||
      a.steps.size() != a.starts.size()) {
    return absl::InvalidArgumentError(
        "starts, ends, axes and steps differ in length");
  }
  return a;
}

// The first index and the (exclusive) end of a slice from `start` to `end`
// by `step` of an axis of length `dim`: negative values count from the
// end, and both are clamped to the indices the step's direction can reach.
std::pair<int64_t, int64_t> ClampSliceBounds(int64_t start, int64_t end,
                                             int64_t step, int64_t dim) {
  auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
    if (v < 0) v += dim;
    return std::clamp(v, lo, hi);
  };
  int64_t s, e;
  if (step > 0) {
    s = clamp(start, 0, dim);
    e = clamp(end, 0, dim);
  } else {
    s = clamp(start, -1, dim - 1);
    e = clamp(end, -1, dim - 1);
    // ends below -dim mean "through index 0" for a negative step.
    if (end < -dim) e = -1;
  }
  return {s, e};
}

// `v` (an int64 scalar tensor) as ClampSliceBounds treats a bound: a
// negative value counts from the end of an axis of length `dim`, and the
// result is clamped to [lo, hi].
absl::StatusOr<Tensor> ClampBound(NodeContext& c, const Tensor& v, int64_t dim,
                                  int64_t lo, int64_t hi) {
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(DType::kInt64, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor len, c.Scalar(DType::kInt64, dim));
  ASSIGN_OR_RETURN_ONNX(Tensor neg, c.Op("Less", {v, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor wrapped, c.Op("Add", {v, len}));
  ASSIGN_OR_RETURN_ONNX(Tensor r, c.Op("Select", {neg, wrapped, v}));
  ASSIGN_OR_RETURN_ONNX(Tensor low, c.Scalar(DType::kInt64, lo));
  ASSIGN_OR_RETURN_ONNX(Tensor high, c.Scalar(DType::kInt64, hi));
  ASSIGN_OR_RETURN_ONNX(r, c.Op("Maximum", {r, low}));
  return c.Op("Minimum", {r, high});
}

// Slice (opset 10+) whose starts or ends are computed at run time (axes and
// steps known, the sliced axes' lengths known): per axis, a Gather of
// Range(start, end, step) over the bounds clamped at run time as
// ClampSliceBounds does at import.
absl::Status RuntimeSlice(NodeContext& c, const Tensor& x) {
  const Shape& in = x.shape();
  std::vector<int64_t> axes, steps;
  if (c.has_input(3)) {
    ASSIGN_OR_RETURN_ONNX(axes, c.ConstInts(3, "axes"));
  }
  if (c.has_input(4)) {
    ASSIGN_OR_RETURN_ONNX(steps, c.ConstInts(4, "steps"));
  }
  std::vector<Tensor> bounds;
  for (int i : {1, 2}) {
    ASSIGN_OR_RETURN_ONNX(Tensor b, c.input(i));
    if (b.dtype() != DType::kInt64 && b.dtype() != DType::kInt32) {
      return absl::InvalidArgumentError(
          absl::StrCat(i == 1 ? "starts" : "ends", " must be int32 or int64, ",
                       "not ", DTypeName(b.dtype())));
    }
    if (b.shape().rank() != 1 || b.shape().dim(0) < 0) {
      return c.Unsupported(absl::StrCat(
          i == 1 ? "starts" : "ends", " (computed at run time) of shape ",
          b.shape().DebugString(), "; weft needs its length known at import"));
    }
    if (b.dtype() == DType::kInt32) {
      ASSIGN_OR_RETURN_ONNX(b, c.Op("Cast", {b}, {{"dtype", DType::kInt64}}));
    }
    bounds.push_back(b);
  }
  const int64_t n = bounds[0].shape().dim(0);
  if (bounds[1].shape().dim(0) != n) {
    return absl::InvalidArgumentError("starts and ends differ in length");
  }
  if (axes.empty()) {
    axes.resize(n);
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(n, 1);
  if (static_cast<int64_t>(axes.size()) != n ||
      static_cast<int64_t>(steps.size()) != n) {
    return absl::InvalidArgumentError(
        "starts, ends, axes and steps differ in length");
  }
  Tensor y = x;
  for (int64_t k = 0; k < n; ++k) {
    ASSIGN_OR_RETURN_ONNX(int64_t a, NormalizeAxis(axes[k], in.rank()));
    const int64_t dim = in.dim(a), step = steps[k];
    if (step == 0) return absl::InvalidArgumentError("a step is 0");
    if (dim < 0) {
      return c.Unsupported(
          absl::StrCat("Slice of axis ", a, " whose length is not known"));
    }
    std::vector<Tensor> se;
    for (const Tensor& b : bounds) {
      ASSIGN_OR_RETURN_ONNX(Tensor one, SliceOp(c, b, {k}, {1}));
      ASSIGN_OR_RETURN_ONNX(one, c.Op("Reshape", {one}, {{"shape", Shape{}}}));
      ASSIGN_OR_RETURN_ONNX(one, step > 0
                                     ? ClampBound(c, one, dim, 0, dim)
                                     : ClampBound(c, one, dim, -1, dim - 1));
      se.push_back(one);
    }
    ASSIGN_OR_RETURN_ONNX(Tensor st, c.Scalar(DType::kInt64, step));
    ASSIGN_OR_RETURN_ONNX(Tensor idx, c.Op("Range", {se[0], se[1], st}));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Gather", {y, idx}, {{"axis", a}}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Slice: attributes before opset 10, inputs (starts, ends, axes, steps)
// from 10. Unit steps become one weft Slice; other steps a Gather of the
// selected indices per axis; starts or ends computed at run time a Gather
// of a Range per axis (RuntimeSlice).
absl::Status Slice(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  if (c.opset() >= 10 && c.has_input(1) && c.has_input(2) &&
      (c.constant(1) == nullptr || c.constant(2) == nullptr)) {
    return RuntimeSlice(c, x);
  }
  const Shape& in = x.shape();
  ASSIGN_OR_RETURN_ONNX(const SliceArgs args, ReadSliceArgs(c));
  std::vector<int64_t> begin(in.rank(), 0), size(in.rank(), -1);
  std::vector<std::pair<int64_t, std::vector<int64_t>>> strided;
  for (size_t k = 0; k < args.starts.size(); ++k) {
    ASSIGN_OR_RETURN_ONNX(int64_t a, NormalizeAxis(args.axes[k], in.rank()));
    const int64_t dim = in.dim(a), step = args.steps[k];
    if (step == 0) return absl::InvalidArgumentError("a step is 0");
    if (dim < 0) {
      return c.Unsupported(
          absl::StrCat("Slice of axis ", a, " whose length is not known"));
    }
    const auto [s, e] =
        ClampSliceBounds(args.starts[k], args.ends[k], step, dim);
    if (step == 1) {
      begin[a] = s;
      size[a] = std::max<int64_t>(e - s, 0);
      continue;
    }
    std::vector<int64_t> idx;
    for (int64_t i = s; step > 0 ? i < e : i > e; i += step) idx.push_back(i);
    strided.emplace_back(a, std::move(idx));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, SliceOp(c, x, begin, size));
  for (auto& [axis, idx] : strided) {
    ASSIGN_OR_RETURN_ONNX(NDArray ia, Int64Vector(idx));
    ASSIGN_OR_RETURN_ONNX(Tensor it, c.Const(ia));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Gather", {y, it}, {{"axis", axis}}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Gather(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor i, c.input(1));
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", 0), x.shape().rank()));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Gather", {x, i}, {{"axis", axis}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Shape and Size are known at import when the input's dims are.
absl::Status ShapeOp(NodeContext& c) {
  const Shape s = c.shape(0);
  const int rank = s.rank();
  int64_t start = c.Int("start", 0), end = c.Int("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  std::vector<int64_t> dims(s.dims().begin() + start, s.dims().begin() + end);
  for (int64_t d : dims) {
    if (d < 0) {
      return c.Unsupported(absl::StrCat(
          "Shape of a tensor whose shape ", s.DebugString(),
          " is not known at import (pin the model's input shapes with "
          "OnnxImportOptions::input_shapes)"));
    }
  }
  ASSIGN_OR_RETURN_ONNX(NDArray a, Int64Vector(dims));
  c.SetConstantOutput(0, std::move(a));
  return absl::OkStatus();
}

absl::Status Size(NodeContext& c) {
  const Shape s = c.shape(0);
  if (!s.IsFullyDefined()) {
    return c.Unsupported("Size of a tensor whose shape is not known at import");
  }
  c.SetConstantOutput(0, NDArray::Scalar<int64_t>(s.num_elements()));
  return absl::OkStatus();
}

absl::Status Constant(NodeContext& c) {
  if (c.has_attr("value")) {
    ASSIGN_OR_RETURN_ONNX(NDArray v, c.TensorAttr("value"));
    c.SetConstantOutput(0, std::move(v));
  } else if (c.has_attr("value_float")) {
    c.SetConstantOutput(0, NDArray::Scalar<float>(c.Float("value_float", 0)));
  } else if (c.has_attr("value_int")) {
    c.SetConstantOutput(0, NDArray::Scalar<int64_t>(c.Int("value_int", 0)));
  } else if (c.has_attr("value_floats")) {
    c.SetConstantOutput(0, NDArray::Vector<float>(c.Floats("value_floats")));
  } else if (c.has_attr("value_ints")) {
    c.SetConstantOutput(0, NDArray::Vector<int64_t>(c.Ints("value_ints")));
  } else {
    return c.Unsupported(
        "a Constant that is not a tensor, float(s) or int(s) (strings and "
        "sparse tensors are not supported)");
  }
  return absl::OkStatus();
}

// A tensor of `shape` filled with `value` (one element, any dtype);
// kResourceExhausted, not an abort, when a hostile shape cannot be
// allocated.
absl::StatusOr<NDArray> Filled(const Shape& shape, const NDArray& value) {
  ASSIGN_OR_RETURN_ONNX(
      NDArray out,
      NDArray::AllocateChecked(value.dtype(), shape, kMaxImportConstantBytes));
  const size_t esize = DTypeSize(value.dtype());
  const char* src = static_cast<const char*>(value.raw_data());
  char* dst = static_cast<char*>(out.mutable_raw_data());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::copy(src, src + esize, dst + i * esize);
  }
  return out;
}

absl::Status ConstantOfShape(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> dims, c.ConstInts(0, "shape"));
  NDArray value = NDArray::Scalar<float>(0);
  if (c.has_attr("value")) {
    ASSIGN_OR_RETURN_ONNX(value, c.TensorAttr("value"));
    if (value.num_elements() != 1) {
      return absl::InvalidArgumentError("value must hold one element");
    }
  }
  Shape shape(dims);
  if (absl::Status s = shape.ValidateConcrete(); !s.ok()) return s;
  ASSIGN_OR_RETURN_ONNX(NDArray filled, Filled(shape, value));
  c.SetConstantOutput(0, std::move(filled));
  return absl::OkStatus();
}

absl::Status EyeLike(NodeContext& c) {
  const Shape s = c.shape(0);
  if (s.rank() != 2 || !s.IsFullyDefined()) {
    return c.Unsupported("EyeLike of an input whose 2-D shape is not known");
  }
  DType dt = c.dtype(0);
  if (c.has_attr("dtype")) {
    absl::StatusOr<DType> d =
        DTypeFromOnnx(static_cast<int32_t>(c.Int("dtype", 1)));
    if (!d.ok()) return c.Unsupported(d.status().message());
    dt = *d;
  }
  const int64_t k = c.Int("k", 0);
  std::vector<double> v(s.num_elements(), 0.0);
  for (int64_t i = 0; i < s.dim(0); ++i) {
    const int64_t j = i + k;
    if (j >= 0 && j < s.dim(1)) v[i * s.dim(1) + j] = 1.0;
  }
  ASSIGN_OR_RETURN_ONNX(NDArray d, NDArray::Create<double>(v, s));
  ASSIGN_OR_RETURN_ONNX(Tensor dt_const, c.Const(d));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Cast", {dt_const}, {{"dtype", dt}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Expand(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> shape, c.ConstInts(1, "shape"));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("BroadcastTo", {x}, {{"shape", shape}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Tile(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> reps, c.ConstInts(1, "repeats"));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Tile", {x}, {{"multiples", reps}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// An op of the node's first `n` inputs, in order (Range, Where).
absl::Status OpOfInputs(NodeContext& c, std::string_view op, int n) {
  std::vector<Tensor> in;
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN_ONNX(Tensor t, c.input(i));
    in.push_back(t);
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op(op, in));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Pad(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const int rank = x.shape().rank();
  std::vector<int64_t> pads;
  double value = 0;
  if (c.opset() < 11) {
    pads = c.Ints(c.opset() < 2 ? "paddings" : "pads");
    value = c.Float("value", 0);
  } else {
    ASSIGN_OR_RETURN_ONNX(pads, c.ConstInts(1, "pads"));
    if (c.has_input(2)) {
      ASSIGN_OR_RETURN_ONNX(const NDArray* v,
                            c.ConstInput(2, "constant_value"));
      const std::vector<double> values = ToDoubles(*v);
      if (values.size() != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "constant_value must hold one element, not ", values.size()));
      }
      value = values[0];
    }
    if (c.has_input(3)) {
      ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> axes, c.ConstInts(3, "axes"));
      std::vector<int64_t> full(2 * rank, 0);
      for (size_t k = 0; k < axes.size(); ++k) {
        ASSIGN_OR_RETURN_ONNX(int64_t a, NormalizeAxis(axes[k], rank));
        full[a] = pads[k];
        full[a + rank] = pads[k + axes.size()];
      }
      pads = full;
    }
  }
  std::string mode = c.String("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    return c.Unsupported(absl::StrCat("mode '", mode, "'"));
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor y,
      c.Op("Pad", {x}, {{"pads", pads}, {"mode", mode}, {"value", value}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// A Resize's scales (one per axis) or output sizes: exactly one of them is
// given.
struct ResizeTarget {
  std::vector<double> scales;
  std::vector<int64_t> sizes;
};

// The scales and sizes of Resize or Upsample (`upsample`) as the node's
// opset places them: Upsample's attribute before opset 9, else inputs.
absl::StatusOr<ResizeTarget> ReadResizeTarget(NodeContext& c, bool upsample) {
  ResizeTarget t;
  int scales_input = -1, sizes_input = -1;
  if (upsample) {
    if (c.opset() < 9) {
      for (float f : c.Floats("scales")) t.scales.push_back(f);
    } else {
      scales_input = 1;
    }
  } else if (c.opset() < 11) {
    scales_input = 1;
  } else {
    scales_input = 2;
    sizes_input = 3;
    if (c.has_input(1) && c.constant(1) != nullptr &&
        c.constant(1)->num_elements() > 0) {
      const std::string ctm = c.String("coordinate_transformation_mode", "");
      if (ctm == "tf_crop_and_resize") {
        return c.Unsupported(
            "coordinate_transformation_mode "
            "'tf_crop_and_resize'");
      }
    }
  }
  if (scales_input >= 0 && c.has_input(scales_input)) {
    ASSIGN_OR_RETURN_ONNX(const NDArray* s,
                          c.ConstInput(scales_input, "scales"));
    if (s->dtype() != DType::kFloat32 && s->num_elements() > 0) {
      return absl::InvalidArgumentError("scales must be float32");
    }
    for (float f : s->values<float>()) t.scales.push_back(f);
  }
  if (sizes_input >= 0 && c.has_input(sizes_input)) {
    ASSIGN_OR_RETURN_ONNX(t.sizes, c.ConstInts(sizes_input, "sizes"));
  }
  return t;
}

// Checks `t` against the input's shape `in` and fills in the sizes from
// the scales (floor(in * scale)) when only those are given; the scales are
// dropped when the sizes are.
absl::Status ResolveResizeSizes(NodeContext& c, const Shape& in,
                                ResizeTarget& t) {
  if (!t.sizes.empty()) {
    if (static_cast<int>(t.sizes.size()) != in.rank()) {
      return absl::InvalidArgumentError("sizes must list every axis");
    }
    if (c.has_attr("keep_aspect_ratio_policy")) {
      return c.Unsupported("attribute 'keep_aspect_ratio_policy'");
    }
    t.scales.clear();
    return absl::OkStatus();
  }
  if (static_cast<int>(t.scales.size()) != in.rank()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scales lists ", t.scales.size(), " values for rank ", in.rank()));
  }
  for (int i = 0; i < in.rank(); ++i) {
    if (in.dim(i) < 0) {
      return c.Unsupported("Resize of an input whose dims are not known");
    }
    // A hostile scale (huge, negative, inf, NaN) must not reach the
    // conversion to int64 (undefined behaviour out of range).
    const double size =
        std::floor(in.dim(i) * static_cast<double>(t.scales[i]));
    if (!(size >= 0 && size <= static_cast<double>(int64_t{1} << 62))) {
      return absl::InvalidArgumentError(
          absl::StrCat("scales[", i, "] = ", t.scales[i], " on a dim of ",
                       in.dim(i), " gives an output dim out of range"));
    }
    t.sizes.push_back(static_cast<int64_t>(size));
  }
  return absl::OkStatus();
}

// The weft Resize's attributes: the sizes (and scales), the mode, and the
// coordinate mapping (fixed for Upsample and before opset 11).
AttrMap ResizeAttrs(NodeContext& c, bool upsample, const ResizeTarget& t) {
  AttrMap attrs = {{"sizes", t.sizes}};
  if (!t.scales.empty()) attrs["scales"] = NDArray::Vector<double>(t.scales);
  std::string mode = c.String("mode", "nearest");
  if (mode == "bilinear") mode = "linear";
  attrs["mode"] = mode;
  if (upsample || c.opset() < 11) {
    attrs["coordinate_transformation_mode"] = std::string("asymmetric");
    attrs["nearest_mode"] = std::string(
        upsample || c.opset() < 11 ? "floor" : "round_prefer_floor");
  } else {
    attrs["coordinate_transformation_mode"] =
        c.String("coordinate_transformation_mode", "half_pixel");
    attrs["nearest_mode"] = c.String("nearest_mode", "round_prefer_floor");
    attrs["cubic_coeff_a"] =
        static_cast<double>(c.Float("cubic_coeff_a", -0.75f));
    attrs["exclude_outside"] = c.Int("exclude_outside", 0) != 0;
    c.Ignore("extrapolation_value");
  }
  return attrs;
}

// Resize (opset 10+) and Upsample: the output size per axis, from `sizes`
// or floor(in * scale).
absl::Status Resize(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const bool upsample = c.op_type() == "Upsample";
  ASSIGN_OR_RETURN_ONNX(ResizeTarget target, ReadResizeTarget(c, upsample));
  if (c.has_attr("axes")) return c.Unsupported("attribute 'axes'");
  if (c.String("coordinate_transformation_mode", "") == "tf_crop_and_resize") {
    return c.Unsupported("coordinate_transformation_mode 'tf_crop_and_resize'");
  }
  if (absl::Status s = ResolveResizeSizes(c, x.shape(), target); !s.ok()) {
    return s;
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("Resize", {x}, ResizeAttrs(c, upsample, target)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status GatherElements(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor i, c.input(1));
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", 0), x.shape().rank()));
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("GatherElements", {x, i}, {{"axis", axis}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ScatterElements' and ScatterND's "reduction": none, add or mul (the
// newer max and min are unsupported).
absl::StatusOr<std::string> ScatterReduction(NodeContext& c) {
  std::string reduction = c.String("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul") {
    return c.Unsupported(absl::StrCat("reduction '", reduction, "'"));
  }
  return reduction;
}

absl::Status ScatterElements(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor i, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor u, c.input(2));
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", 0), x.shape().rank()));
  ASSIGN_OR_RETURN_ONNX(const std::string reduction, ScatterReduction(c));
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("ScatterElements", {x, i, u},
                             {{"axis", axis}, {"reduction", reduction}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status ScatterND(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor i, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor u, c.input(2));
  ASSIGN_OR_RETURN_ONNX(const std::string reduction, ScatterReduction(c));
  ASSIGN_OR_RETURN_ONNX(
      Tensor y, c.Op("ScatterND", {x, i, u}, {{"reduction", reduction}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Unique(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  AttrMap attrs = {{"sorted", c.Int("sorted", 1) != 0}};
  if (c.has_attr("axis")) {
    ASSIGN_OR_RETURN_ONNX(int64_t axis,
                          NormalizeAxis(c.Int("axis", 0), x.shape().rank()));
    attrs.emplace("axis", axis);
  }
  ASSIGN_OR_RETURN_ONNX(std::vector<Tensor> out,
                        c.OpN("Unique", {x}, std::move(attrs)));
  for (int i = 0; i < 4; ++i) {
    if (c.has_output(i)) c.SetOutput(i, out[i]);
  }
  return absl::OkStatus();
}

absl::Status Trilu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  int64_t k = 0;
  if (c.has_input(1)) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> kv, c.ConstInts(1, "k"));
    if (kv.size() != 1) return absl::InvalidArgumentError("k must be a scalar");
    k = kv[0];
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor y,
      c.Op("Trilu", {x}, {{"upper", c.Int("upper", 1) != 0}, {"k", k}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status TopK(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  int64_t k;
  if (c.opset() < 10) {
    k = c.Int("k", 0);
  } else {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> kv, c.ConstInts(1, "k"));
    if (kv.size() != 1)
      return absl::InvalidArgumentError("k must hold one value");
    k = kv[0];
  }
  ASSIGN_OR_RETURN_ONNX(std::vector<Tensor> out,
                        c.OpN("TopK", {x},
                              {{"k", k},
                               {"axis", c.Int("axis", -1)},
                               {"largest", c.Int("largest", 1) != 0},
                               {"sorted", c.Int("sorted", 1) != 0}}));
  c.SetOutput(0, out[0]);
  if (out.size() > 1) c.SetOutput(1, out[1]);
  return absl::OkStatus();
}

absl::Status GatherND(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor i, c.input(1));
  ASSIGN_OR_RETURN_ONNX(
      Tensor y,
      c.Op("GatherND", {x, i}, {{"batch_dims", c.Int("batch_dims", 0)}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// DepthToSpace / SpaceToDepth: a reshape, a transpose and a reshape.
absl::Status DepthSpace(NodeContext& c, bool to_space) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const Shape& s = x.shape();
  if (s.rank() != 4 || !s.IsFullyDefined()) {
    return c.Unsupported("an input whose 4-D shape is not known at import");
  }
  const int64_t b = c.Int("blocksize", 0);
  const int64_t n = s.dim(0), ch = s.dim(1), h = s.dim(2), w = s.dim(3);
  if (b <= 0) return absl::InvalidArgumentError("blocksize must be positive");
  Shape mid, out;
  std::vector<int64_t> perm;
  if (to_space) {
    if (ch % (b * b) != 0) {
      return absl::InvalidArgumentError(
          "channels not divisible by blocksize^2");
    }
    const std::string mode = c.String("mode", "DCR");
    if (mode == "DCR") {
      mid = Shape{n, b, b, ch / (b * b), h, w};
      perm = {0, 3, 4, 1, 5, 2};
    } else if (mode == "CRD") {
      mid = Shape{n, ch / (b * b), b, b, h, w};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      return c.Unsupported(absl::StrCat("mode '", mode, "'"));
    }
    out = Shape{n, ch / (b * b), h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0) {
      return absl::InvalidArgumentError(
          "spatial dims not divisible by blocksize");
    }
    mid = Shape{n, ch, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    out = Shape{n, ch * b * b, h / b, w / b};
  }
  ASSIGN_OR_RETURN_ONNX(Tensor r, c.Op("Reshape", {x}, {{"shape", mid}}));
  ASSIGN_OR_RETURN_ONNX(Tensor t, c.Op("Transpose", {r}, {{"perm", perm}}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Reshape", {t}, {{"shape", out}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Inference-time Dropout is the identity; its mask (if asked for) all true.
absl::Status Dropout(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  c.Ignore("seed");
  if (c.opset() < 7) c.Ignore("is_test");
  c.Ignore("ratio");
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(const NDArray* training,
                          c.ConstInput(2, "training_mode"));
    // Training with ratio 0 drops nothing: the identity too.
    bool zero_ratio = false;
    if (training->dtype() == DType::kBool && training->num_elements() == 1 &&
        training->values<bool>()[0] && c.has_input(1)) {
      ASSIGN_OR_RETURN_ONNX(const NDArray* ratio, c.ConstInput(1, "ratio"));
      zero_ratio = ratio->dtype() == DType::kFloat32 &&
                   ratio->num_elements() == 1 &&
                   ratio->values<float>()[0] == 0.0f;
    }
    if (training->dtype() != DType::kBool || training->num_elements() != 1 ||
        (training->values<bool>()[0] && !zero_ratio)) {
      return c.Unsupported(
          "training_mode with a nonzero ratio (random; weft imports models "
          "for inference)");
    }
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Identity", {x}));
  c.SetOutput(0, y);
  if (c.has_output(1)) {
    if (!x.shape().IsFullyDefined()) {
      return c.Unsupported("Dropout's mask of a tensor of unknown shape");
    }
    ASSIGN_OR_RETURN_ONNX(NDArray mask,
                          NDArray::AllocateChecked(DType::kBool, x.shape(),
                                                   kMaxImportConstantBytes));
    bool* m = mask.mutable_data<bool>();
    std::fill(m, m + mask.num_elements(), true);
    c.SetConstantOutput(1, std::move(mask));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------- sequences --
// An ONNX sequence is a list of tensors known at import (Value::sequence):
// the sequence ops rearrange the list; SequenceAt and ConcatFromSequence
// hand tensors back to the graph.

// A position in a sequence of `n` (negative counts from the end); `n` is
// allowed only when inserting.
absl::StatusOr<int64_t> SequencePosition(NodeContext& c, int input, int64_t n,
                                         int64_t dflt, bool inserting) {
  if (!c.has_input(input)) return dflt;
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> p, c.ConstInts(input, "position"));
  if (p.size() != 1) {
    return absl::InvalidArgumentError("position must be a scalar");
  }
  const int64_t pos = p[0] < 0 ? p[0] + n : p[0];
  if (pos < 0 || pos > n || (!inserting && pos == n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "position ", p[0], " is out of range for a sequence of ", n));
  }
  return pos;
}

absl::Status SequenceConstruct(NodeContext& c) {
  std::vector<Tensor> seq;
  for (int i = 0; i < c.num_inputs(); ++i) {
    ASSIGN_OR_RETURN_ONNX(Tensor t, c.input(i));
    seq.push_back(t);
  }
  c.SetSequenceOutput(0, std::move(seq));
  return absl::OkStatus();
}

absl::Status SequenceEmpty(NodeContext& c) {
  c.Ignore("dtype");
  c.SetSequenceOutput(0, {});
  return absl::OkStatus();
}

absl::Status SequenceInsert(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(const std::vector<Tensor>* in, c.SequenceInput(0));
  ASSIGN_OR_RETURN_ONNX(Tensor t, c.input(1));
  const int64_t n = static_cast<int64_t>(in->size());
  ASSIGN_OR_RETURN_ONNX(int64_t pos, SequencePosition(c, 2, n, n, true));
  std::vector<Tensor> seq = *in;
  seq.insert(seq.begin() + pos, t);
  c.SetSequenceOutput(0, std::move(seq));
  return absl::OkStatus();
}

absl::Status SequenceErase(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(const std::vector<Tensor>* in, c.SequenceInput(0));
  const int64_t n = static_cast<int64_t>(in->size());
  if (n == 0) {
    return absl::InvalidArgumentError("erasing from an empty sequence");
  }
  ASSIGN_OR_RETURN_ONNX(int64_t pos, SequencePosition(c, 1, n, n - 1, false));
  std::vector<Tensor> seq = *in;
  seq.erase(seq.begin() + pos);
  c.SetSequenceOutput(0, std::move(seq));
  return absl::OkStatus();
}

absl::Status SequenceAt(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(const std::vector<Tensor>* in, c.SequenceInput(0));
  const int64_t n = static_cast<int64_t>(in->size());
  ASSIGN_OR_RETURN_ONNX(int64_t pos, SequencePosition(c, 1, n, 0, false));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Identity", {(*in)[pos]}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status SequenceLength(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(const std::vector<Tensor>* in, c.SequenceInput(0));
  c.SetConstantOutput(
      0, NDArray::Scalar<int64_t>(static_cast<int64_t>(in->size())));
  return absl::OkStatus();
}

absl::Status SplitToSequence(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const Shape& in = x.shape();
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", 0), in.rank()));
  const int64_t len = in.dim(axis);
  if (len < 0) return c.Unsupported("splitting an axis of unknown length");
  std::vector<int64_t> sizes;
  bool squeeze = false;
  if (!c.has_input(1)) {
    sizes.assign(len, 1);
    squeeze = c.Int("keepdims", 1) == 0;
  } else {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> split, c.ConstInts(1, "split"));
    c.Ignore("keepdims");
    if (c.shape(1).rank() == 0) {
      if (split.size() != 1 || split[0] <= 0) {
        return absl::InvalidArgumentError("split must be positive");
      }
      for (int64_t left = len; left > 0; left -= split[0]) {
        sizes.push_back(std::min(left, split[0]));
      }
    } else {
      sizes = split;
    }
  }
  std::vector<Tensor> seq;
  int64_t offset = 0;
  for (int64_t size : sizes) {
    std::vector<int64_t> begin(in.rank(), 0), extent(in.rank(), -1);
    begin[axis] = offset;
    extent[axis] = size;
    offset += size;
    ASSIGN_OR_RETURN_ONNX(Tensor part, SliceOp(c, x, begin, extent));
    if (squeeze) {
      std::vector<int64_t> dims = in.dims();
      dims.erase(dims.begin() + axis);
      ASSIGN_OR_RETURN_ONNX(part, ReshapeLike(c, part, Shape(dims)));
    }
    seq.push_back(part);
  }
  if (offset != len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "split sizes add up to ", offset, ", not the axis length ", len));
  }
  c.SetSequenceOutput(0, std::move(seq));
  return absl::OkStatus();
}

absl::Status ConcatFromSequence(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(const std::vector<Tensor>* in, c.SequenceInput(0));
  if (in->empty()) return absl::InvalidArgumentError("the sequence is empty");
  Tensor y;
  if (c.Int("new_axis", 0) != 0) {
    ASSIGN_OR_RETURN_ONNX(y, StackAlong(c, *in, c.Int("axis", 0)));
  } else {
    ASSIGN_OR_RETURN_ONNX(
        int64_t axis,
        NormalizeAxis(c.Int("axis", 0), in->front().shape().rank()));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Concat", *in, {{"axis", axis}}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// HannWindow, HammingWindow, BlackmanWindow: a window of the (import-time)
// size, computed on the host as a constant.
absl::Status Window(NodeContext& c, double a0, double a1, double a2) {
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> size, c.ConstInts(0, "size"));
  if (size.size() != 1 || size[0] < 0) {
    return absl::InvalidArgumentError("size must be a non-negative scalar");
  }
  if (size[0] > kMaxImportTableEntries) {
    return c.Unsupported(absl::StrCat("a window of ", size[0],
                                      " values (weft builds at most ",
                                      kMaxImportTableEntries, " at import)"));
  }
  absl::StatusOr<DType> dt =
      DTypeFromOnnx(static_cast<int32_t>(c.Int("output_datatype", 1)));
  if (!dt.ok()) return c.Unsupported(dt.status().message());
  const int64_t n = size[0];
  const double denom =
      static_cast<double>(c.Int("periodic", 1) != 0 ? n : n - 1);
  std::vector<double> w(n);
  constexpr double kPi = 3.14159265358979323846;
  for (int64_t i = 0; i < n; ++i) {
    const double t = denom > 0 ? 2 * kPi * static_cast<double>(i) / denom : 0;
    w[i] = a0 - a1 * std::cos(t) + a2 * std::cos(2 * t);
  }
  ASSIGN_OR_RETURN_ONNX(NDArray d, NDArray::Create<double>(w, Shape{n}));
  ASSIGN_OR_RETURN_ONNX(Tensor wt, c.Const(d));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Cast", {wt}, {{"dtype", *dt}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Compress: the slices along `axis` (or of the flattened input) whose
// condition is true, as a Gather of their indices.
absl::Status Compress(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(const NDArray* cond, c.ConstInput(1, "condition"));
  if (cond->dtype() != DType::kBool) {
    return absl::InvalidArgumentError("condition must be bool");
  }
  int64_t axis = 0;
  if (c.has_attr("axis")) {
    ASSIGN_OR_RETURN_ONNX(axis,
                          NormalizeAxis(c.Int("axis", 0), x.shape().rank()));
  } else {
    if (!x.shape().IsFullyDefined()) {
      return c.Unsupported(
          "Compress without axis of an input of unknown shape");
    }
    ASSIGN_OR_RETURN_ONNX(
        x, c.Op("Reshape", {x}, {{"shape", Shape{x.shape().num_elements()}}}));
  }
  const int64_t len = x.shape().dim(axis);
  std::vector<int64_t> idx;
  auto flags = cond->values<bool>();
  for (int64_t i = 0; i < static_cast<int64_t>(flags.size()); ++i) {
    if (!flags[i]) continue;
    if (len >= 0 && i >= len) {
      return absl::InvalidArgumentError(absl::StrCat(
          "condition selects index ", i, " of an axis of length ", len));
    }
    idx.push_back(i);
  }
  ASSIGN_OR_RETURN_ONNX(Tensor it, c.Const(NDArray::Vector<int64_t>(idx)));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Gather", {x, it}, {{"axis", axis}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ReverseSequence: reverses the first sequence_lens[b] steps along the time
// axis of every batch entry b, as a GatherElements of precomputed indices.
absl::Status ReverseSequence(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> lens,
                        c.ConstInts(1, "sequence_lens"));
  const Shape& s = x.shape();
  if (!s.IsFullyDefined() || s.rank() < 2) {
    return c.Unsupported("ReverseSequence of an input of unknown shape");
  }
  const int64_t batch_axis = c.Int("batch_axis", 1),
                time_axis = c.Int("time_axis", 0);
  if (!((batch_axis == 0 && time_axis == 1) ||
        (batch_axis == 1 && time_axis == 0))) {
    return absl::InvalidArgumentError(
        "batch_axis and time_axis must be 0 and 1");
  }
  if (static_cast<int64_t>(lens.size()) != s.dim(batch_axis)) {
    return absl::InvalidArgumentError(
        "sequence_lens must have one entry per batch");
  }
  const int64_t inner = s.num_elements() / (s.dim(0) * s.dim(1));
  std::vector<int64_t> idx(s.num_elements());
  for (int64_t i0 = 0; i0 < s.dim(0); ++i0) {
    for (int64_t i1 = 0; i1 < s.dim(1); ++i1) {
      const int64_t b = batch_axis == 0 ? i0 : i1, t = time_axis == 0 ? i0 : i1;
      const int64_t len = std::clamp<int64_t>(lens[b], 0, s.dim(time_axis));
      const int64_t src = t < len ? len - 1 - t : t;
      for (int64_t k = 0; k < inner; ++k) {
        idx[(i0 * s.dim(1) + i1) * inner + k] = src;
      }
    }
  }
  ASSIGN_OR_RETURN_ONNX(NDArray ia, NDArray::Create<int64_t>(idx, s));
  ASSIGN_OR_RETURN_ONNX(Tensor it, c.Const(ia));
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("GatherElements", {x, it}, {{"axis", time_axis}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ---------------------------------------------------------- quantization --

// `v` (a scale or zero point: a scalar, or one value per index of the
// node's "axis" of `x`) shaped to broadcast against `x`.
absl::StatusOr<Tensor> AlongAxis(NodeContext& c, Tensor v, const Tensor& x) {
  if (v.shape().rank() == 0 ||
      (v.shape().rank() == 1 && v.shape().dim(0) == 1)) {
    return v;
  }
  if (v.shape().rank() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a scale or zero point must be a scalar or 1-D, not ",
                     v.shape().DebugString()));
  }
  const int rank = x.shape().rank();
  ASSIGN_OR_RETURN_ONNX(int64_t axis, NormalizeAxis(c.Int("axis", 1), rank));
  std::vector<int64_t> dims(rank, 1);
  dims[axis] = v.shape().dim(0);
  return c.Op("Reshape", {v}, {{"shape", Shape(dims)}});
}

// (Cast(x, float32) - Cast(zero_point, float32)) * scale.
absl::Status DequantizeLinear(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor scale, c.input(1));
  const DType dt = x.dtype();
  if (dt != DType::kUInt8 && dt != DType::kInt8 && dt != DType::kInt32) {
    return c.Unsupported(absl::StrCat("input dtype ", DTypeName(dt)));
  }
  c.Int("axis", 1);  // Read by AlongAxis where a scale is per axis.
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("Cast", {x}, {{"dtype", scale.dtype()}}));
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(Tensor zp, c.input(2));
    ASSIGN_OR_RETURN_ONNX(zp, c.Op("Cast", {zp}, {{"dtype", scale.dtype()}}));
    ASSIGN_OR_RETURN_ONNX(zp, AlongAxis(c, zp, x));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Sub", {y, zp}));
  }
  ASSIGN_OR_RETURN_ONNX(scale, AlongAxis(c, scale, x));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {y, scale}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// saturate(round(x / scale) + zero_point), of the zero point's dtype
// (uint8 without one).
absl::Status QuantizeLinear(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor scale, c.input(1));
  if (!IsFloating(x.dtype())) {
    return c.Unsupported(absl::StrCat("input dtype ", DTypeName(x.dtype())));
  }
  c.Int("axis", 1);  // Read by AlongAxis where a scale is per axis.
  if (scale.dtype() != x.dtype()) {
    ASSIGN_OR_RETURN_ONNX(scale, c.Op("Cast", {scale}, {{"dtype", x.dtype()}}));
  }
  ASSIGN_OR_RETURN_ONNX(scale, AlongAxis(c, scale, x));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Div", {x, scale}));
  DType dt = DType::kUInt8;
  Tensor zp;
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(zp, c.input(2));
    dt = zp.dtype();
    ASSIGN_OR_RETURN_ONNX(zp, c.Op("Cast", {zp}, {{"dtype", x.dtype()}}));
    ASSIGN_OR_RETURN_ONNX(zp, AlongAxis(c, zp, x));
  }
  if (dt != DType::kUInt8 && dt != DType::kInt8) {
    return c.Unsupported(absl::StrCat("zero point dtype ", DTypeName(dt)));
  }
  ASSIGN_OR_RETURN_ONNX(y,
                        SaturateCast(c, y, c.has_input(2) ? &zp : nullptr, dt));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ONNX's definition: the range [min(x, 0), max(x, 0)] onto [0, 255]; y,
// its scale and its uint8 zero point.
absl::Status DynamicQuantizeLinear(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  if (x.dtype() != DType::kFloat32) {
    return c.Unsupported(absl::StrCat("input dtype ", DTypeName(x.dtype())));
  }
  const AttrMap all = {{"axes", std::vector<int64_t>{}}};
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(DType::kFloat32, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor lo, c.Op("ReduceMin", {x}, all));
  ASSIGN_OR_RETURN_ONNX(lo, c.Op("Minimum", {lo, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor hi, c.Op("ReduceMax", {x}, all));
  ASSIGN_OR_RETURN_ONNX(hi, c.Op("Maximum", {hi, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor range, c.Op("Sub", {hi, lo}));
  ASSIGN_OR_RETURN_ONNX(Tensor qmax, c.Scalar(DType::kFloat32, 255));
  ASSIGN_OR_RETURN_ONNX(Tensor scale, c.Op("Div", {range, qmax}));
  ASSIGN_OR_RETURN_ONNX(Tensor neg_lo, c.Op("Sub", {zero, lo}));
  ASSIGN_OR_RETURN_ONNX(Tensor zp_f, c.Op("Div", {neg_lo, scale}));
  // The zero point, rounded and saturated (still float32 for the sum).
  ASSIGN_OR_RETURN_ONNX(zp_f, c.Op("Round", {zp_f}));
  ASSIGN_OR_RETURN_ONNX(zp_f, c.Op("Maximum", {zp_f, zero}));
  ASSIGN_OR_RETURN_ONNX(zp_f, c.Op("Minimum", {zp_f, qmax}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Div", {x, scale}));
  ASSIGN_OR_RETURN_ONNX(y, SaturateCast(c, y, &zp_f, DType::kUInt8));
  ASSIGN_OR_RETURN_ONNX(Tensor zp,
                        c.Op("Cast", {zp_f}, {{"dtype", DType::kUInt8}}));
  c.SetOutput(0, y);
  if (c.has_output(1)) c.SetOutput(1, scale);
  if (c.has_output(2)) c.SetOutput(2, zp);
  return absl::OkStatus();
}

}  // namespace

// Cast(clamp(round_half_even(x) (+ zero_point), lo, hi), dt): the last
// step of QuantizeLinear and DynamicQuantizeLinear, in x's float dtype.
absl::StatusOr<Tensor> SaturateCast(NodeContext& c, Tensor x, const Tensor* zp,
                                    DType dt) {
  const DType f = x.dtype();
  ASSIGN_OR_RETURN_ONNX(x, c.Op("Round", {x}));
  if (zp != nullptr) {
    ASSIGN_OR_RETURN_ONNX(x, c.Op("Add", {x, *zp}));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor lo, c.Scalar(f, dt == DType::kUInt8 ? 0 : -128));
  ASSIGN_OR_RETURN_ONNX(Tensor hi,
                        c.Scalar(f, dt == DType::kUInt8 ? 255 : 127));
  ASSIGN_OR_RETURN_ONNX(x, c.Op("Maximum", {x, lo}));
  ASSIGN_OR_RETURN_ONNX(x, c.Op("Minimum", {x, hi}));
  return c.Op("Cast", {x}, {{"dtype", dt}});
}

absl::StatusOr<Tensor> Requantize(NodeContext& c, const Tensor& acc,
                                  const Tensor& multiplier, int zp) {
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("Cast", {acc}, {{"dtype", DType::kFloat32}}));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {y, multiplier}));
  ASSIGN_OR_RETURN_ONNX(Tensor yz, c.input(zp));
  const DType out = yz.dtype();
  if (out != DType::kUInt8 && out != DType::kInt8) {
    return c.Unsupported(absl::StrCat("y_zero_point dtype ", DTypeName(out)));
  }
  ASSIGN_OR_RETURN_ONNX(yz, c.Op("Cast", {yz}, {{"dtype", DType::kFloat32}}));
  return SaturateCast(c, y, &yz, out);
}

absl::StatusOr<double> OnlyValue(const NDArray& a, std::string_view what) {
  if (a.num_elements() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must hold exactly one element, got shape ",
                     a.shape().DebugString()));
  }
  return ToDoubles(a)[0];
}

absl::StatusOr<Tensor> StackAlong(NodeContext& c,
                                  const std::vector<Tensor>& parts,
                                  int64_t axis) {
  if (parts.empty()) return absl::InvalidArgumentError("nothing to stack");
  ASSIGN_OR_RETURN_ONNX(int64_t a,
                        NormalizeAxis(axis, parts.front().shape().rank() + 1));
  std::vector<Tensor> grown;
  for (const Tensor& p : parts) {
    std::vector<int64_t> dims = p.shape().dims();
    dims.insert(dims.begin() + a, 1);
    ASSIGN_OR_RETURN_ONNX(Tensor g, ReshapeLike(c, p, Shape(dims)));
    grown.push_back(g);
  }
  if (grown.size() == 1) return grown.front();
  return c.Op("Concat", grown, {{"axis", a}});
}

void RegisterArrayConverters(absl::flat_hash_map<std::string, Converter>& t) {
  t["Cast"] = Cast;
  t["CastLike"] = CastLike;
  t["Reshape"] = Reshape;
  t["Flatten"] = Flatten;
  t["Squeeze"] = Squeeze;
  t["Unsqueeze"] = Unsqueeze;
  t["Transpose"] = Transpose;
  t["Concat"] = Concat;
  t["Split"] = Split;
  t["Slice"] = Slice;
  t["Gather"] = Gather;
  t["Shape"] = ShapeOp;
  t["Size"] = Size;
  t["Constant"] = Constant;
  t["ConstantOfShape"] = ConstantOfShape;
  t["EyeLike"] = EyeLike;
  t["Expand"] = Expand;
  t["Tile"] = Tile;
  t["Range"] = [](NodeContext& c) { return OpOfInputs(c, "Range", 3); };
  t["Where"] = [](NodeContext& c) { return OpOfInputs(c, "Select", 3); };
  t["Pad"] = Pad;
  t["Resize"] = Resize;
  t["Upsample"] = Resize;
  t["GatherElements"] = GatherElements;
  t["ScatterElements"] = ScatterElements;
  t["Scatter"] = ScatterElements;
  t["Trilu"] = Trilu;
  t["TopK"] = TopK;
  t["ScatterND"] = ScatterND;
  t["Unique"] = Unique;
  t["NonZero"] = [](NodeContext& c) { return OpOfInputs(c, "NonZero", 1); };
  t["QuantizeLinear"] = QuantizeLinear;
  t["DequantizeLinear"] = DequantizeLinear;
  t["DynamicQuantizeLinear"] = DynamicQuantizeLinear;
  t["GatherND"] = GatherND;
  t["DepthToSpace"] = [](NodeContext& c) { return DepthSpace(c, true); };
  t["SpaceToDepth"] = [](NodeContext& c) { return DepthSpace(c, false); };
  t["Dropout"] = Dropout;
  t["HannWindow"] = [](NodeContext& c) { return Window(c, 0.5, 0.5, 0); };
  t["HammingWindow"] = [](NodeContext& c) {
    return Window(c, 25.0 / 46.0, 21.0 / 46.0, 0);
  };
  t["BlackmanWindow"] = [](NodeContext& c) {
    return Window(c, 0.42, 0.5, 0.08);
  };
  t["Compress"] = Compress;
  t["ReverseSequence"] = ReverseSequence;
  t["SequenceConstruct"] = SequenceConstruct;
  t["SequenceEmpty"] = SequenceEmpty;
  t["SequenceInsert"] = SequenceInsert;
  t["SequenceErase"] = SequenceErase;
  t["SequenceAt"] = SequenceAt;
  t["SequenceLength"] = SequenceLength;
  t["SplitToSequence"] = SplitToSequence;
  t["ConcatFromSequence"] = ConcatFromSequence;
}

}  // namespace onnx_internal
}  // namespace weft
