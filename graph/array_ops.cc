// The array family: ops that produce, forward or rearrange arrays without
// arithmetic — Const, Placeholder, Identity, Reshape, Cast, Split,
// Transpose, Concat, Slice, Gather, Tile, BroadcastTo, Pad, Resize,
// GatherElements, ScatterElements, Trilu, TopK, GatherND, ScatterND,
// NonZero, Unique, Range. Their
// definitions and build-time inference (RegisterArrayOps) and their builders
// (declared in graph/ops.h); kernels in kernels/array_kernels.cc.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
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

absl::Status RequireIndexDType(InferenceContext& c, int i, std::string_view op,
                               std::string_view what) {
  if (c.input_dtypes[i] == DType::kInt32 ||
      c.input_dtypes[i] == DType::kInt64) {
    return absl::OkStatus();
  }
  return c.DTypeError(absl::StrCat(InputDesc(c, i), "; ", op, "'s ", what,
                                   " (input ", i,
                                   ") are int32 or int64 (Cast them)"));
}

absl::Status CheckShapeValid(InferenceContext& c, const Shape& s,
                             std::string_view op) {
  if (absl::Status v = s.Validate(); !v.ok()) {
    return c.ShapeError(absl::StrCat(op, " output ", s.DebugString(),
                                     " is invalid: ", v.message()));
  }
  return absl::OkStatus();
}

// Tile: multiples, one per axis, each >= 0; out dim i = dim i * multiples[i].
absl::Status InferTile(InferenceContext& c) {
  absl::StatusOr<const std::vector<int64_t>*> m =
      c.Attr<std::vector<int64_t>>("multiples");
  if (!m.ok()) return m.status();
  const std::vector<int64_t>& mult = **m;
  const Shape& in = c.input_shapes[0];
  bool valid = static_cast<int64_t>(mult.size()) == in.rank();
  for (size_t i = 0; valid && i < mult.size(); ++i) valid = mult[i] >= 0;
  if (!valid) {
    return c.AttrError(absl::StrCat("Tile multiples ", ListString(mult),
                                    " must have one entry >= 0 per "
                                    "axis of ",
                                    InputDesc(c, 0), " (", in.rank(),
                                    " entries)"));
  }
  std::vector<int64_t> dims(in.rank());
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t d = in.dim(i);
    if (mult[i] == 0) {
      dims[i] = 0;
    } else if (d < 0) {
      dims[i] = -1;
    } else if (d > std::numeric_limits<int64_t>::max() / mult[i]) {
      return c.ShapeError(absl::StrCat("Tile multiples ", ListString(mult),
                                       " overflow the size of ",
                                       InputDesc(c, 0)));
    } else {
      dims[i] = d * mult[i];
    }
  }
  Shape out(std::move(dims));
  if (absl::Status s = CheckShapeValid(c, out, "Tile"); !s.ok()) return s;
  c.SetOutput(c.input_dtypes[0], std::move(out));
  return absl::OkStatus();
}

// BroadcastTo (ONNX Expand): the numpy broadcast of the input's shape and
// `shape`.
absl::Status InferBroadcastTo(InferenceContext& c) {
  absl::StatusOr<const std::vector<int64_t>*> t =
      c.Attr<std::vector<int64_t>>("shape");
  if (!t.ok()) return t.status();
  const std::vector<int64_t>& target = **t;
  for (int64_t d : target) {
    if (d < 0) {
      return c.AttrError(absl::StrCat("BroadcastTo shape ", ListString(target),
                                      " has a negative dimension"));
    }
  }
  absl::StatusOr<Shape> out = BroadcastShapes(c.input_shapes[0], Shape(target));
  if (!out.ok()) {
    return c.ShapeError(absl::StrCat(
        "BroadcastTo cannot broadcast ", InputDesc(c, 0), " to shape ",
        ListString(target), ": ", out.status().message()));
  }
  if (absl::Status s = CheckShapeValid(c, *out, "BroadcastTo"); !s.ok()) {
    return s;
  }
  c.SetOutput(c.input_dtypes[0], *std::move(out));
  return absl::OkStatus();
}

// Pad: pads = all begins then all ends (ONNX order); negative values crop
// first, then the positive ones pad the cropped region.
absl::Status InferPad(InferenceContext& c) {
  absl::StatusOr<const std::vector<int64_t>*> p =
      c.Attr<std::vector<int64_t>>("pads");
  if (!p.ok()) return p.status();
  const std::vector<int64_t>& pads = **p;
  absl::StatusOr<std::string> mode =
      ChoiceAttr(c, "mode", "constant", {"constant", "reflect", "edge"}, "Pad");
  if (!mode.ok()) return mode.status();
  absl::StatusOr<double> value = DoubleAttrOr(c, "value", 0);
  if (!value.ok()) return value.status();
  const Shape& in = c.input_shapes[0];
  const int rank = in.rank();
  if (static_cast<int64_t>(pads.size()) != 2 * int64_t{rank}) {
    return c.AttrError(absl::StrCat(
        "Pad pads ", ListString(pads), " must have 2 * rank = ", 2 * rank,
        " entries for ", InputDesc(c, 0), " (all begins, then all ends)"));
  }
  constexpr int64_t kMaxPad = int64_t{1} << 40;
  std::vector<int64_t> dims(rank);
  for (int i = 0; i < rank; ++i) {
    const int64_t b = pads[i], e = pads[i + rank], d = in.dim(i);
    if (std::abs(b) > kMaxPad || std::abs(e) > kMaxPad) {
      return c.AttrError(absl::StrCat("Pad pads ", ListString(pads),
                                      " are too large (limit 2^40)"));
    }
    if (d < 0) {
      dims[i] = -1;
      continue;
    }
    const int64_t kept =
        d - std::max<int64_t>(-b, 0) - std::max<int64_t>(-e, 0);
    if (kept < 0) {
      return c.ShapeError(absl::StrCat("Pad pads ", ListString(pads),
                                       " crop more than dimension ", i, " of ",
                                       InputDesc(c, 0), " holds"));
    }
    const int64_t grow = std::max<int64_t>(b, 0) + std::max<int64_t>(e, 0);
    if (*mode == "reflect" && grow > 0 &&
        (std::max<int64_t>(b, 0) >= kept || std::max<int64_t>(e, 0) >= kept)) {
      return c.ShapeError(
          absl::StrCat("Pad reflect pads ", ListString(pads), " at axis ", i,
                       " of ", InputDesc(c, 0),
                       " must be smaller than the (cropped) dimension ", kept));
    }
    if (*mode == "edge" && grow > 0 && kept == 0) {
      return c.ShapeError(absl::StrCat("Pad edge mode cannot pad axis ", i,
                                       " of ", InputDesc(c, 0),
                                       ": it has no elements to repeat"));
    }
    dims[i] = kept + grow;
  }
  Shape out(std::move(dims));
  if (absl::Status s = CheckShapeValid(c, out, "Pad"); !s.ok()) return s;
  c.SetOutput(c.input_dtypes[0], std::move(out));
  return absl::OkStatus();
}

// Resize's `sizes` must have one entry >= 0 per axis of the input (`in`).
absl::Status CheckResizeSizes(InferenceContext& c,
                              const std::vector<int64_t>& sizes,
                              const Shape& in) {
  bool valid = static_cast<int64_t>(sizes.size()) == in.rank();
  for (size_t i = 0; valid && i < sizes.size(); ++i) valid = sizes[i] >= 0;
  if (!valid) {
    return c.AttrError(absl::StrCat("Resize sizes ", ListString(sizes),
                                    " must have one entry >= 0 per "
                                    "axis of ",
                                    InputDesc(c, 0), " (", in.rank(),
                                    " entries)"));
  }
  return absl::OkStatus();
}

// Resize's optional `scales`: a float64 vector of one finite value > 0 per
// axis of the input (`in`).
absl::Status CheckResizeScales(InferenceContext& c, const Shape& in) {
  auto it = c.attrs->find("scales");
  if (it == c.attrs->end()) return absl::OkStatus();
  const NDArray* scales = std::get_if<NDArray>(&it->second);
  bool ok = scales != nullptr && scales->valid() &&
            scales->dtype() == DType::kFloat64 && scales->shape().rank() == 1 &&
            scales->num_elements() == in.rank();
  if (ok) {
    for (double s : scales->values<double>()) {
      ok = ok && std::isfinite(s) && s > 0;
    }
  }
  if (!ok) {
    return c.AttrError(absl::StrCat(
        "Resize scales must be a float64 1-D NDArray of ", in.rank(),
        " finite values > 0 (one per axis of ", InputDesc(c, 0), ")"));
  }
  return absl::OkStatus();
}

// Resize's interpolation attributes: mode, coordinate_transformation_mode
// and nearest_mode (each one of its choices), cubic_coeff_a and
// exclude_outside.
absl::Status CheckResizeInterpolation(InferenceContext& c) {
  absl::StatusOr<std::string> mode = ChoiceAttr(
      c, "mode", "nearest", {"nearest", "linear", "cubic"}, "Resize");
  if (!mode.ok()) return mode.status();
  absl::StatusOr<std::string> ctm =
      ChoiceAttr(c, "coordinate_transformation_mode", "half_pixel",
                 {"half_pixel", "asymmetric", "align_corners",
                  "pytorch_half_pixel", "tf_half_pixel_for_nn"},
                 "Resize");
  if (!ctm.ok()) return ctm.status();
  absl::StatusOr<std::string> nearest = ChoiceAttr(
      c, "nearest_mode", "round_prefer_floor",
      {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}, "Resize");
  if (!nearest.ok()) return nearest.status();
  absl::StatusOr<double> a = DoubleAttrOr(c, "cubic_coeff_a", -0.75);
  if (!a.ok()) return a.status();
  absl::StatusOr<bool> exclude = BoolAttrOr(c, "exclude_outside", false);
  if (!exclude.ok()) return exclude.status();
  return absl::OkStatus();
}

// Resize: float32/float64; the output shape is `sizes`.
absl::Status InferResize(InferenceContext& c) {
  if (absl::Status s = RequireFloating(c, 0, "Resize"); !s.ok()) return s;
  absl::StatusOr<const std::vector<int64_t>*> sz =
      c.Attr<std::vector<int64_t>>("sizes");
  if (!sz.ok()) return sz.status();
  const std::vector<int64_t>& sizes = **sz;
  const Shape& in = c.input_shapes[0];
  if (absl::Status s = CheckResizeSizes(c, sizes, in); !s.ok()) return s;
  if (absl::Status s = CheckResizeScales(c, in); !s.ok()) return s;
  if (absl::Status s = CheckResizeInterpolation(c); !s.ok()) return s;
  for (int i = 0; i < in.rank(); ++i) {
    if (in.dim(i) == 0 && sizes[i] > 0) {
      return c.ShapeError(absl::StrCat("Resize cannot resize axis ", i, " of ",
                                       InputDesc(c, 0), " from 0 to ", sizes[i],
                                       " elements"));
    }
  }
  Shape out(sizes);
  if (absl::Status s = CheckShapeValid(c, out, "Resize"); !s.ok()) return s;
  c.SetOutput(c.input_dtypes[0], std::move(out));
  return absl::OkStatus();
}

// GatherElements / ScatterElements: indices of data's rank; along every
// axis but `axis`, indices' dims are at most data's.
absl::Status CheckElementsIndices(InferenceContext& c, std::string_view op,
                                  int* axis_out) {
  if (absl::Status s = RequireIndexDType(c, 1, op, "indices"); !s.ok()) {
    return s;
  }
  const Shape& data = c.input_shapes[0];
  const Shape& idx = c.input_shapes[1];
  absl::StatusOr<int64_t> axis_attr = IntAttrOr(c, "axis", 0);
  if (!axis_attr.ok()) return axis_attr.status();
  absl::StatusOr<int> axis =
      NormalizeAxis(*axis_attr, data.rank(), absl::StrCat(op, " axis"));
  if (!axis.ok()) return c.AttrError(std::string(axis.status().message()));
  bool ok = idx.rank() == data.rank();
  for (int d = 0; ok && d < data.rank(); ++d) {
    ok = d == *axis || idx.dim(d) < 0 || data.dim(d) < 0 ||
         idx.dim(d) <= data.dim(d);
  }
  if (!ok) {
    return c.ShapeError(
        absl::StrCat(op, " ", InputDesc(c, 1), " but ", InputDesc(c, 0),
                     "; indices need data's rank and, along every axis but ",
                     *axis, ", at most data's size"));
  }
  *axis_out = *axis;
  return absl::OkStatus();
}

absl::Status InferGatherElements(InferenceContext& c) {
  int axis = 0;
  if (absl::Status s = CheckElementsIndices(c, "GatherElements", &axis);
      !s.ok()) {
    return s;
  }
  c.SetOutput(c.input_dtypes[0], c.input_shapes[1]);
  return absl::OkStatus();
}

absl::Status InferScatterElements(InferenceContext& c) {
  int axis = 0;
  if (absl::Status s = CheckElementsIndices(c, "ScatterElements", &axis);
      !s.ok()) {
    return s;
  }
  if (c.input_dtypes[2] != c.input_dtypes[0]) {
    return c.DTypeError(absl::StrCat(
        "dtype mismatch: ", InputDesc(c, 2), " but ", InputDesc(c, 0),
        "; ScatterElements' updates share data's dtype (Cast them)"));
  }
  const Shape& idx = c.input_shapes[1];
  const Shape& upd = c.input_shapes[2];
  bool same = idx.rank() == upd.rank();
  for (int d = 0; same && d < idx.rank(); ++d) {
    same = idx.dim(d) < 0 || upd.dim(d) < 0 || idx.dim(d) == upd.dim(d);
  }
  if (!same) {
    return c.ShapeError(absl::StrCat("ScatterElements ", InputDesc(c, 2),
                                     " but ", InputDesc(c, 1),
                                     "; updates and indices share one shape"));
  }
  absl::StatusOr<std::string> reduction = ChoiceAttr(
      c, "reduction", "none", {"none", "add", "mul"}, "ScatterElements");
  if (!reduction.ok()) return reduction.status();
  if (*reduction != "none" && c.input_dtypes[0] == DType::kBool) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, 0), "; ScatterElements reduction '",
                     *reduction, "' takes float32, float64, int32 or int64"));
  }
  c.SetOutput(c.input_dtypes[0], c.input_shapes[0]);
  return absl::OkStatus();
}

// Trilu: rank >= 2; keeps the upper (j - i >= k) or lower (j - i <= k)
// triangle of the last two axes.
absl::Status InferTrilu(InferenceContext& c) {
  if (c.input_shapes[0].rank() < 2) {
    return c.ShapeError(absl::StrCat(
        "Trilu takes a tensor of rank >= 2 (matrices in its last two axes), "
        "got ",
        InputDesc(c, 0)));
  }
  absl::StatusOr<bool> upper = BoolAttrOr(c, "upper", true);
  if (!upper.ok()) return upper.status();
  absl::StatusOr<int64_t> k = IntAttrOr(c, "k", 0);
  if (!k.ok()) return k.status();
  c.SetOutput(c.input_dtypes[0], c.input_shapes[0]);
  return absl::OkStatus();
}

// TopK: numeric; two outputs, the k values and their int64 indices along
// `axis`.
absl::Status InferTopK(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0, "TopK"); !s.ok()) return s;
  absl::StatusOr<const int64_t*> k = c.Attr<int64_t>("k");
  if (!k.ok()) return k.status();
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<int64_t> axis_attr = IntAttrOr(c, "axis", -1);
  if (!axis_attr.ok()) return axis_attr.status();
  absl::StatusOr<int> axis = NormalizeAxis(*axis_attr, in.rank(), "TopK axis");
  if (!axis.ok()) return c.AttrError(std::string(axis.status().message()));
  for (const char* name : {"largest", "sorted"}) {
    absl::StatusOr<bool> b = BoolAttrOr(c, name, true);
    if (!b.ok()) return b.status();
  }
  const int64_t d = in.dim(*axis);
  if (**k < 0 || (d >= 0 && **k > d)) {
    return c.AttrError(absl::StrCat(
        "TopK k ", **k, " is out of range for axis ", *axis, " of ",
        InputDesc(c, 0), "; need 0 <= k <= the axis size"));
  }
  std::vector<int64_t> dims = in.dims();
  dims[*axis] = **k;
  c.SetOutputs({c.input_dtypes[0], DType::kInt64}, {Shape(dims), Shape(dims)});
  return absl::OkStatus();
}

// GatherND (ONNX): indices' last dim m (known at build time) indexes data's
// axes batch_dims .. batch_dims + m - 1; out = indices.shape[:-1] +
// data.shape[batch_dims + m:].
absl::Status InferGatherND(InferenceContext& c) {
  if (absl::Status s = RequireIndexDType(c, 1, "GatherND", "indices");
      !s.ok()) {
    return s;
  }
  const Shape& data = c.input_shapes[0];
  const Shape& idx = c.input_shapes[1];
  absl::StatusOr<int64_t> b = IntAttrOr(c, "batch_dims", 0);
  if (!b.ok()) return b.status();
  const int64_t batch = *b;
  if (batch < 0 || batch >= std::min(data.rank(), idx.rank())) {
    return c.AttrError(absl::StrCat(
        "GatherND batch_dims ", batch, " is out of range for ", InputDesc(c, 0),
        " and ", InputDesc(c, 1),
        "; need 0 <= batch_dims < min(rank(data), rank(indices))"));
  }
  const int64_t m = idx.dim(idx.rank() - 1);
  if (m < 1 || m > data.rank() - batch) {
    return c.ShapeError(absl::StrCat(
        "GatherND ", InputDesc(c, 1), " but ", InputDesc(c, 0),
        "; the last dimension of indices must be known and from 1 to rank(data)"
        " - batch_dims = ",
        data.rank() - batch));
  }
  for (int i = 0; i < batch; ++i) {
    if (data.dim(i) >= 0 && idx.dim(i) >= 0 && data.dim(i) != idx.dim(i)) {
      return c.ShapeError(absl::StrCat(
          "GatherND ", InputDesc(c, 1), " but ", InputDesc(c, 0),
          "; the first batch_dims = ", batch, " dimensions must match"));
    }
  }
  std::vector<int64_t> dims(idx.dims().begin(), idx.dims().end() - 1);
  for (int i = 0; i < batch; ++i) {
    if (dims[i] < 0) dims[i] = data.dim(i);
  }
  for (int64_t i = batch + m; i < data.rank(); ++i) dims.push_back(data.dim(i));
  c.SetOutput(c.input_dtypes[0], Shape(std::move(dims)));
  return absl::OkStatus();
}

// ScatterND (ONNX): data (any dtype), indices int32/int64 whose last dim k
// (known at build time) indexes data's first k axes, updates of data's
// dtype shaped indices.shape[:-1] + data.shape[k:]; data's dtype and shape
// out.
absl::Status InferScatterND(InferenceContext& c) {
  if (absl::Status s = RequireIndexDType(c, 1, "ScatterND", "indices");
      !s.ok()) {
    return s;
  }
  if (c.input_dtypes[2] != c.input_dtypes[0]) {
    return c.DTypeError(absl::StrCat("ScatterND updates (", InputDesc(c, 2),
                                     ") must have data's dtype (",
                                     InputDesc(c, 0), ")"));
  }
  absl::StatusOr<std::string> reduction =
      ChoiceAttr(c, "reduction", "none", {"none", "add", "mul"}, "ScatterND");
  if (!reduction.ok()) return reduction.status();
  const Shape& data = c.input_shapes[0];
  const Shape& idx = c.input_shapes[1];
  const Shape& upd = c.input_shapes[2];
  const int64_t k = idx.rank() == 0 ? -1 : idx.dim(idx.rank() - 1);
  if (k < 1 || k > data.rank()) {
    return c.ShapeError(absl::StrCat(
        "ScatterND ", InputDesc(c, 1), " but ", InputDesc(c, 0),
        "; the last dimension of indices must be known and from 1 to "
        "rank(data) = ",
        data.rank()));
  }
  std::vector<int64_t> want(idx.dims().begin(), idx.dims().end() - 1);
  for (int64_t i = k; i < data.rank(); ++i) want.push_back(data.dim(i));
  bool fits = upd.rank() == static_cast<int>(want.size());
  for (int i = 0; fits && i < upd.rank(); ++i) {
    fits = upd.dim(i) < 0 || want[i] < 0 || upd.dim(i) == want[i];
  }
  if (!fits) {
    return c.ShapeError(absl::StrCat(
        "ScatterND updates (", InputDesc(c, 2), ") do not fit: indices ",
        idx.DebugString(), " into data ", data.DebugString(),
        " need updates of shape ", Shape(want).DebugString(),
        " (indices.shape[:-1] + data.shape[k:])"));
  }
  c.SetOutput(c.input_dtypes[0], data);
  return absl::OkStatus();
}

// Unique: numeric; with the optional "axis" attr, slices along that axis.
// Outputs: x's dtype [U] (or x's shape with U at axis), int64 [U], int64
// [n] (the flat size, or the axis' size), int64 [U]; U known at run time.
absl::Status InferUnique(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0, "Unique"); !s.ok()) return s;
  const Shape& x = c.input_shapes[0];
  absl::StatusOr<bool> sorted = BoolAttrOr(c, "sorted", true);
  if (!sorted.ok()) return sorted.status();
  Shape values{-1};
  int64_t n = x.num_elements();
  if (c.attrs->contains("axis")) {
    absl::StatusOr<int> axis = AxisAttr(c, x.rank(), "Unique axis");
    if (!axis.ok()) return axis.status();
    std::vector<int64_t> dims = x.dims();
    n = dims[*axis];
    dims[*axis] = -1;
    values = Shape(std::move(dims));
  }
  c.SetOutputs({c.input_dtypes[0], DType::kInt64, DType::kInt64, DType::kInt64},
               {values, Shape{-1}, Shape{n}, Shape{-1}});
  return absl::OkStatus();
}

// NonZero: numeric or bool, rank >= 1; int64 [rank, count], the count known
// at run time.
absl::Status InferNonZero(InferenceContext& c) {
  const DType d = c.input_dtypes[0];
  if (!IsNumeric(d) && d != DType::kBool) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, 0),
                     "; NonZero takes float32, float64, int32, int64 or "
                     "bool (Cast first)"));
  }
  const int rank = c.input_shapes[0].rank();
  if (rank < 1) {
    return c.ShapeError(
        absl::StrCat(InputDesc(c, 0), "; NonZero takes rank 1 or more"));
  }
  c.SetOutput(DType::kInt64, Shape{rank, -1});
  return absl::OkStatus();
}

// Range(start, limit, delta): three scalars of one numeric dtype; a 1-D
// output whose length is only known at run time.
absl::Status InferRange(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0, "Range"); !s.ok()) return s;
  static constexpr const char* kNames[] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; ++i) {
    if (c.input_dtypes[i] != c.input_dtypes[0]) {
      return c.DTypeError(absl::StrCat(
          "dtype mismatch: ", InputDesc(c, i), " but ", InputDesc(c, 0),
          "; Range's start, limit and delta share one dtype (Cast them)"));
    }
    bool scalar = true;
    for (int64_t d : c.input_shapes[i].dims())
      scalar = scalar && (d == 1 || d < 0);
    if (!scalar) {
      return c.ShapeError(absl::StrCat("Range ", kNames[i], " (",
                                       InputDesc(c, i), ") must be a scalar"));
    }
  }
  c.SetOutput(c.input_dtypes[0], Shape{Shape::kUnknown});
  return absl::OkStatus();
}

}  // namespace

// Long (~60 lines): a flat table, one registration per op (Const,
// Placeholder and Cast with their short inference inline); data rather
// than control flow.
void RegisterArrayOps(OpRegistry& r) {
  RegisterBuiltin(
      r, {"Const", 0, {"value"}, [](InferenceContext& c) -> absl::Status {
            absl::StatusOr<const NDArray*> v = c.Attr<NDArray>("value");
            if (!v.ok()) return v.status();
            if (!(*v)->valid()) return c.AttrError("Const of an empty NDArray");
            c.SetOutput((*v)->dtype(), (*v)->shape());
            return absl::OkStatus();
          }});
  RegisterBuiltin(r, {"Placeholder",
                      0,
                      {"dtype", "shape"},
                      [](InferenceContext& c) -> absl::Status {
                        absl::StatusOr<const DType*> d = c.Attr<DType>("dtype");
                        if (!d.ok()) return d.status();
                        absl::StatusOr<const Shape*> s = c.Attr<Shape>("shape");
                        if (!s.ok()) return s.status();
                        if (!IsValidDType(**d))
                          return c.DTypeError("invalid dtype");
                        if (absl::Status v = (*s)->Validate(); !v.ok()) {
                          return c.ShapeError(std::string(v.message()));
                        }
                        c.SetOutput(**d, **s);
                        return absl::OkStatus();
                      }});
  RegisterBuiltin(r, {"Identity", 1, {}, InferSameAsInput});
  RegisterBuiltin(r, {"Reshape", 1, {"shape"}, InferReshape});
  RegisterBuiltin(
      r, {"Cast", 1, {"dtype"}, [](InferenceContext& c) -> absl::Status {
            absl::StatusOr<const DType*> d = c.Attr<DType>("dtype");
            if (!d.ok()) return d.status();
            if (!IsValidDType(**d))
              return c.DTypeError("Cast to an invalid dtype");
            c.SetOutput(**d, c.input_shapes[0]);
            return absl::OkStatus();
          }});
  RegisterBuiltin(r, {.type = "Split",
                      .num_inputs = 1,
                      .attrs = {"num_splits", "axis"},
                      .infer = InferSplit,
                      .num_outputs = OpDef::kOutputsFromInference});
  RegisterBuiltin(r, {"Transpose", 1, {"perm"}, InferTranspose});
  RegisterBuiltin(r, {"Concat", OpDef::kVariadicInputs, {"axis"}, InferConcat});
  RegisterBuiltin(r, {"Slice", 1, {"begin", "size"}, InferSlice});
  RegisterBuiltin(r, {"Gather", 2, {"axis"}, InferGather});
  RegisterBuiltin(r, {"Tile", 1, {"multiples"}, InferTile});
  RegisterBuiltin(r, {"BroadcastTo", 1, {"shape"}, InferBroadcastTo});
  RegisterBuiltin(r, {"Pad", 1, {"pads"}, InferPad});
  RegisterBuiltin(r, {"Resize", 1, {"sizes"}, InferResize});
  RegisterBuiltin(r, {"GatherElements", 2, {}, InferGatherElements});
  RegisterBuiltin(r, {"ScatterElements", 3, {}, InferScatterElements});
  RegisterBuiltin(r, {"Trilu", 1, {}, InferTrilu});
  RegisterBuiltin(r, {.type = "TopK",
                      .num_inputs = 1,
                      .attrs = {"k"},
                      .infer = InferTopK,
                      .num_outputs = 2});
  RegisterBuiltin(r, {"GatherND", 2, {}, InferGatherND});
  RegisterBuiltin(r, {"ScatterND", 3, {}, InferScatterND});
  RegisterBuiltin(r, {"NonZero", 1, {}, InferNonZero});
  RegisterBuiltin(r, {.type = "Unique",
                      .num_inputs = 1,
                      .infer = InferUnique,
                      .num_outputs = 4});
  RegisterBuiltin(r, {"Range", 3, {}, InferRange});
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

Tensor Tile(const Tensor& x, std::vector<int64_t> multiples,
            const OpOptions& options, std::source_location where) {
  return BuildOp("Tile", {x}, {{"multiples", std::move(multiples)}}, options,
                 where);
}

Tensor BroadcastTo(const Tensor& x, std::vector<int64_t> shape,
                   const OpOptions& options, std::source_location where) {
  return BuildOp("BroadcastTo", {x}, {{"shape", std::move(shape)}}, options,
                 where);
}

Tensor Pad(const Tensor& x, std::vector<int64_t> pads, const OpOptions& options,
           std::source_location where) {
  return BuildOp("Pad", {x}, {{"pads", std::move(pads)}}, options, where);
}

Tensor Pad(const Tensor& x, std::vector<int64_t> pads, std::string mode,
           double value, const OpOptions& options, std::source_location where) {
  return BuildOp(
      "Pad", {x},
      {{"pads", std::move(pads)}, {"mode", std::move(mode)}, {"value", value}},
      options, where);
}

Tensor Resize(const Tensor& x, std::vector<int64_t> sizes,
              const ResizeAttrs& attrs, const OpOptions& options,
              std::source_location where) {
  AttrMap map = {
      {"sizes", std::move(sizes)},
      {"mode", attrs.mode},
      {"coordinate_transformation_mode", attrs.coordinate_transformation_mode},
      {"nearest_mode", attrs.nearest_mode},
      {"cubic_coeff_a", attrs.cubic_coeff_a},
      {"exclude_outside", attrs.exclude_outside}};
  if (!attrs.scales.empty())
    map.emplace("scales", NDArray::Vector(attrs.scales));
  return BuildOp("Resize", {x}, std::move(map), options, where);
}

Tensor GatherElements(const Tensor& data, const Tensor& indices, int axis,
                      const OpOptions& options, std::source_location where) {
  return BuildOp("GatherElements", {data, indices}, {{"axis", int64_t{axis}}},
                 options, where);
}

Tensor ScatterElements(const Tensor& data, const Tensor& indices,
                       const Tensor& updates, int axis, std::string reduction,
                       const OpOptions& options, std::source_location where) {
  return BuildOp("ScatterElements", {data, indices, updates},
                 {{"axis", int64_t{axis}}, {"reduction", std::move(reduction)}},
                 options, where);
}

Tensor Trilu(const Tensor& x, bool upper, int64_t k, const OpOptions& options,
             std::source_location where) {
  return BuildOp("Trilu", {x}, {{"upper", upper}, {"k", k}}, options, where);
}

std::vector<Tensor> TopK(const Tensor& x, int64_t k, int axis, bool largest,
                         bool sorted, const OpOptions& options,
                         std::source_location where) {
  return internal::BuildOpN("TopK", {x},
                            {{"k", k},
                             {"axis", int64_t{axis}},
                             {"largest", largest},
                             {"sorted", sorted}},
                            options, where, 2);
}

Tensor GatherND(const Tensor& data, const Tensor& indices, int batch_dims,
                const OpOptions& options, std::source_location where) {
  return BuildOp("GatherND", {data, indices},
                 {{"batch_dims", int64_t{batch_dims}}}, options, where);
}

Tensor ScatterND(const Tensor& data, const Tensor& indices,
                 const Tensor& updates, std::string reduction,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("ScatterND", {data, indices, updates},
                 {{"reduction", std::move(reduction)}}, options, where);
}

Tensor NonZero(const Tensor& x, const OpOptions& options,
               std::source_location where) {
  return BuildOp("NonZero", {x}, {}, options, where);
}

std::vector<Tensor> Unique(const Tensor& x, std::optional<int> axis,
                           bool sorted, const OpOptions& options,
                           std::source_location where) {
  AttrMap attrs = {{"sorted", sorted}};
  if (axis.has_value()) attrs.emplace("axis", int64_t{*axis});
  return internal::BuildOpN("Unique", {x}, std::move(attrs), options, where, 4);
}

Tensor Range(const Tensor& start, const Tensor& limit, const Tensor& delta,
             const OpOptions& options, std::source_location where) {
  return BuildOp("Range", {start, limit, delta}, {}, options, where);
}

}  // namespace ops
}  // namespace weft
