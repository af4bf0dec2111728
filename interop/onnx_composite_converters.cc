// The converters of ONNX ops weft composes from several of its own: the
// losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), Hardmax,
// OneHot and Einsum.
//
//   NegativeLogLikelihoodLoss  GatherElements of the target class along
//                              axis 1, negated; weights by Gather; targets
//                              equal to ignore_index are Selected to class
//                              0 before any indexing and weigh 0; "mean"
//                              divides by the sum of the picked weights.
//   SoftmaxCrossEntropyLoss    LogSoftmax along axis 1 (output 1), then the
//                              NLL loss above.
//   Hardmax                    ArgMax (first maximum) compared with an iota
//                              along the axis, cast to the input's dtype.
//   OneHot                     indices (negative ones + depth) compared with
//                              an iota of depth along the new axis, then
//                              Select(on, off).
//   Einsum                     diagonals by a Gather of the merged dims,
//                              letters used by one operand only summed
//                              first, two operands as one (Batch)MatMul,
//                              more (or broadcasting ones) as a broadcast
//                              product and ReduceSum; Transposes to the
//                              output's order.
#include <algorithm>
#include <cmath>
#include <cstdint>
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
namespace {

// --------------------------------------------------------------- helpers --

// [0, 1, ..., n-1] as int64, shaped [1, ..., n, ..., 1] (rank `rank`, n at
// `axis`) so that it broadcasts along that axis.
absl::StatusOr<Tensor> IotaAlong(NodeContext& c, int64_t n, int rank,
                                 int64_t axis) {
  std::vector<int64_t> dims(rank, 1);
  dims[axis] = n;
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  ASSIGN_OR_RETURN_ONNX(NDArray a, NDArray::Create<int64_t>(v, Shape(dims)));
  return c.Const(a);
}

// `s` with a dim of 1 inserted at `axis`.
Shape InsertOne(const Shape& s, int64_t axis) {
  std::vector<int64_t> dims = s.dims();
  dims.insert(dims.begin() + axis, 1);
  return Shape(dims);
}

std::vector<int64_t> AllAxes(int rank) {
  std::vector<int64_t> axes(rank);
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

// ---------------------------------------------------------------- losses --

// The reduction attribute of a loss: "none", "sum" or "mean" (the default).
absl::StatusOr<std::string> LossReduction(NodeContext& c) {
  std::string reduction = c.String("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    return absl::InvalidArgumentError(absl::StrCat(
        "reduction '", reduction, "' is none of 'none', 'sum' and 'mean'"));
  }
  return reduction;
}

// Checks that the input (of shape `xs`) and `target` are [N, C, d1..dk]
// and integer [N, d1..dk].
absl::Status CheckNllOperands(const Shape& xs, const Tensor& target) {
  const Shape ts = target.shape();
  if (xs.rank() < 2 || ts.rank() != xs.rank() - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", xs.DebugString(), " and target ", ts.DebugString(),
        " are not [N, C, d1..dk] and [N, d1..dk]"));
  }
  if (target.dtype() != DType::kInt32 && target.dtype() != DType::kInt64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target is ", DTypeName(target.dtype()), ", not int32 or int64"));
  }
  return absl::OkStatus();
}

// Sets `mask` to where `target` == `ignore_index` and points those targets
// at class 0: ignored targets may lie outside [0, C), so they index class
// 0 instead and their loss and weight are zeroed later.
absl::Status MaskIgnoredTargets(NodeContext& c, int64_t ignore_index,
                                Tensor& target, Tensor& mask) {
  ASSIGN_OR_RETURN_ONNX(Tensor ii_t, c.Scalar(target.dtype(), ignore_index));
  ASSIGN_OR_RETURN_ONNX(mask, c.Op("Equal", {target, ii_t}));
  ASSIGN_OR_RETURN_ONNX(Tensor zero_t, c.Scalar(target.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(target, c.Op("Select", {mask, zero_t, target}));
  return absl::OkStatus();
}

// -x[n, t[n, d1..dk], d1..dk]: the log-probability of each target class,
// negated, shaped as the targets (`ts`).
absl::StatusOr<Tensor> NegatedPickedLogProb(NodeContext& c, const Tensor& x,
                                            const Tensor& t, const Shape& ts) {
  ASSIGN_OR_RETURN_ONNX(Tensor t1, ReshapeLike(c, t, InsertOne(ts, 1)));
  ASSIGN_OR_RETURN_ONNX(
      Tensor picked, c.Op("GatherElements", {x, t1}, {{"axis", int64_t{1}}}));
  ASSIGN_OR_RETURN_ONNX(picked, ReshapeLike(c, picked, ts));
  return c.Op("Neg", {picked});
}

// Zeroes `loss` where `mask` (the ignored targets) holds, and `w` there
// too; without weights (`w` not ok), `w` becomes 1 elsewhere.
absl::Status ZeroIgnoredLossAndWeight(NodeContext& c, const Tensor& mask,
                                      DType dt, Tensor& loss, Tensor& w) {
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(dt, 0));
  ASSIGN_OR_RETURN_ONNX(loss, c.Op("Select", {mask, zero, loss}));
  if (w.ok()) {
    ASSIGN_OR_RETURN_ONNX(w, c.Op("Select", {mask, zero, w}));
  } else {
    ASSIGN_OR_RETURN_ONNX(Tensor one, c.Scalar(dt, 1));
    ASSIGN_OR_RETURN_ONNX(w, c.Op("Select", {mask, zero, one}));
  }
  return absl::OkStatus();
}

// `loss` (of rank `rank`) reduced as `reduction` says; "mean" divides by
// the sum of the weights `w` when there are any (`w` ok).
absl::StatusOr<Tensor> ReduceLoss(NodeContext& c, const Tensor& loss,
                                  const Tensor& w, std::string_view reduction,
                                  int rank) {
  if (reduction == "none") return loss;
  const AttrMap all = {{"axes", AllAxes(rank)}, {"keep_dims", false}};
  ASSIGN_OR_RETURN_ONNX(Tensor sum, c.Op("ReduceSum", {loss}, all));
  if (reduction == "sum") return sum;
  if (!w.ok()) return c.Op("ReduceMean", {loss}, all);
  ASSIGN_OR_RETURN_ONNX(Tensor wsum, c.Op("ReduceSum", {w}, all));
  return c.Op("Div", {sum, wsum});
}

// The NegativeLogLikelihoodLoss of `x` ([N, C, d1..dk], log-probabilities)
// against input 1 (targets [N, d1..dk]) with the optional weights of input
// 2 ([C]) and the node's reduction / ignore_index attributes.
absl::StatusOr<Tensor> NllLoss(NodeContext& c, const Tensor& x) {
  ASSIGN_OR_RETURN_ONNX(Tensor target, c.input(1));
  ASSIGN_OR_RETURN_ONNX(const std::string reduction, LossReduction(c));
  const bool has_ii = c.has_attr("ignore_index");
  const int64_t ii = c.Int("ignore_index", 0);
  if (absl::Status s = CheckNllOperands(x.shape(), target); !s.ok()) return s;
  const Shape ts = target.shape();
  Tensor t = target, mask;
  if (has_ii) {
    if (absl::Status s = MaskIgnoredTargets(c, ii, t, mask); !s.ok()) return s;
  }
  ASSIGN_OR_RETURN_ONNX(Tensor loss, NegatedPickedLogProb(c, x, t, ts));
  Tensor w;  // The picked weights, when the mean needs them.
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(Tensor weight, c.input(2));
    ASSIGN_OR_RETURN_ONNX(w,
                          c.Op("Gather", {weight, t}, {{"axis", int64_t{0}}}));
  }
  if (has_ii) {
    if (absl::Status s = ZeroIgnoredLossAndWeight(c, mask, x.dtype(), loss, w);
        !s.ok()) {
      return s;
    }
  }
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(loss, c.Op("Mul", {loss, w}));
  }
  return ReduceLoss(c, loss, w, reduction, ts.rank());
}

absl::Status NegativeLogLikelihoodLoss(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, NllLoss(c, x));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status SoftmaxCrossEntropyLoss(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  if (x.shape().rank() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scores ", x.shape().DebugString(), " are not [N, C, d1..dk]"));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor log_prob,
                        c.Op("LogSoftmax", {x}, {{"axis", int64_t{1}}}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, NllLoss(c, log_prob));
  c.SetOutput(0, y);
  if (c.has_output(1)) c.SetOutput(1, log_prob);
  return absl::OkStatus();
}

// --------------------------------------------------------------- Hardmax --

// One-hot of the first maximum of `x` along `axis`, in x's dtype.
absl::StatusOr<Tensor> HardmaxAlong(NodeContext& c, const Tensor& x,
                                    int64_t axis) {
  const int64_t n = x.shape().dim(axis);
  if (n < 0) {
    return c.Unsupported(
        "Hardmax along an axis whose length is not known at import");
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor am, c.Op("ArgMax", {x}, {{"axis", axis}, {"keep_dims", true}}));
  ASSIGN_OR_RETURN_ONNX(Tensor iota, IotaAlong(c, n, x.shape().rank(), axis));
  ASSIGN_OR_RETURN_ONNX(Tensor eq, c.Op("Equal", {am, iota}));
  return c.Op("Cast", {eq}, {{"dtype", x.dtype()}});
}

// Hardmax: from opset 13 along `axis` (default -1); before, over the
// flattened dims from `axis` (default 1), as the old Softmax.
absl::Status Hardmax(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const int rank = x.shape().rank();
  if (rank == 0) return absl::InvalidArgumentError("Hardmax of a scalar");
  const bool v13 = c.opset() >= 13;
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", v13 ? -1 : 1), rank));
  if (v13 || axis == rank - 1) {
    ASSIGN_OR_RETURN_ONNX(Tensor y, HardmaxAlong(c, x, axis));
    c.SetOutput(0, y);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN_ONNX(Shape flat, Flatten2D(c, x.shape(), axis));
  ASSIGN_OR_RETURN_ONNX(Tensor x2, c.Op("Reshape", {x}, {{"shape", flat}}));
  ASSIGN_OR_RETURN_ONNX(Tensor y2, HardmaxAlong(c, x2, 1));
  ASSIGN_OR_RETURN_ONNX(Tensor y, ReshapeLike(c, y2, x.shape()));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- OneHot --

// Checks that OneHot's `values` is [off_value, on_value].
absl::Status CheckOneHotValues(const Tensor& values) {
  if (values.shape().rank() != 1 ||
      (values.shape().dim(0) >= 0 && values.shape().dim(0) != 2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("values ", values.shape().DebugString(),
                     " is not [off_value, on_value]"));
  }
  return absl::OkStatus();
}

// OneHot's depth as an int64 scalar, and the iota [0, depth) along `axis`
// of the output (rank `out_rank`).
struct OneHotDepth {
  Tensor depth;
  Tensor iota;
};

// The depth when it is the constant `d`: the iota is a constant too.
absl::StatusOr<OneHotDepth> ConstantOneHotDepth(NodeContext& c,
                                                const NDArray& d, int out_rank,
                                                int64_t axis) {
  ASSIGN_OR_RETURN_ONNX(double dv, OnlyValue(d, "depth"));
  const int64_t n = static_cast<int64_t>(dv);
  if (n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("depth ", dv, " is not positive"));
  }
  OneHotDepth out;
  ASSIGN_OR_RETURN_ONNX(out.depth, c.Scalar(DType::kInt64, n));
  ASSIGN_OR_RETURN_ONNX(out.iota, IotaAlong(c, n, out_rank, axis));
  return out;
}

// The depth when it is only known at run time (input 1): so is the new
// axis' length, and the iota is a Range.
absl::StatusOr<OneHotDepth> RuntimeOneHotDepth(NodeContext& c, int out_rank,
                                               int64_t axis) {
  ASSIGN_OR_RETURN_ONNX(Tensor dt, c.input(1));
  if (dt.shape().num_elements() != 1 && dt.shape().IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("depth ", dt.shape().DebugString(),
                     " does not hold exactly one element"));
  }
  if (dt.dtype() != DType::kInt64) {
    ASSIGN_OR_RETURN_ONNX(dt, c.Op("Cast", {dt}, {{"dtype", DType::kInt64}}));
  }
  if (dt.shape().rank() != 0) {
    ASSIGN_OR_RETURN_ONNX(dt, c.Op("Reshape", {dt}, {{"shape", Shape{}}}));
  }
  OneHotDepth out;
  out.depth = dt;
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(DType::kInt64, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor one, c.Scalar(DType::kInt64, 1));
  ASSIGN_OR_RETURN_ONNX(Tensor range, c.Op("Range", {zero, out.depth, one}));
  std::vector<int64_t> dims(out_rank, 1);
  dims[axis] = -1;
  ASSIGN_OR_RETURN_ONNX(out.iota,
                        c.Op("Reshape", {range}, {{"shape", Shape(dims)}}));
  return out;
}

// `idx` (int64) with negative indices counted from `depth`, shaped as the
// indices (`is`) with a dim of 1 at `axis`.
absl::StatusOr<Tensor> WrappedIndicesAlong(NodeContext& c, Tensor idx,
                                           const Tensor& depth, const Shape& is,
                                           int64_t axis) {
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(DType::kInt64, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor neg, c.Op("Less", {idx, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor wrapped, c.Op("Add", {idx, depth}));
  ASSIGN_OR_RETURN_ONNX(idx, c.Op("Select", {neg, wrapped, idx}));
  return ReshapeLike(c, idx, InsertOne(is, axis));
}

// values[1] (on) where `hot`, else values[0] (off).
absl::StatusOr<Tensor> SelectOnOrOff(NodeContext& c, const Tensor& hot,
                                     const Tensor& values) {
  ASSIGN_OR_RETURN_ONNX(Tensor i0, c.Scalar(DType::kInt64, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor i1, c.Scalar(DType::kInt64, 1));
  ASSIGN_OR_RETURN_ONNX(Tensor off,
                        c.Op("Gather", {values, i0}, {{"axis", int64_t{0}}}));
  ASSIGN_OR_RETURN_ONNX(Tensor on,
                        c.Op("Gather", {values, i1}, {{"axis", int64_t{0}}}));
  return c.Op("Select", {hot, on, off});
}

// OneHot(indices, depth, values = [off, on]): out[..., i at axis, ...] =
// on where indices (negative ones count from depth) == i, else off.
// Indices outside [-depth, depth) give all off.
absl::Status OneHot(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor indices, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor values, c.input(2));
  const Shape is = indices.shape();
  const int out_rank = is.rank() + 1;
  ASSIGN_OR_RETURN_ONNX(int64_t axis,
                        NormalizeAxis(c.Int("axis", -1), out_rank));
  if (absl::Status s = CheckOneHotValues(values); !s.ok()) return s;
  Tensor idx = indices;
  if (idx.dtype() != DType::kInt64) {
    ASSIGN_OR_RETURN_ONNX(idx, c.Op("Cast", {idx}, {{"dtype", DType::kInt64}}));
  }
  OneHotDepth depth;
  if (const NDArray* d = c.constant(1); d != nullptr) {
    ASSIGN_OR_RETURN_ONNX(depth, ConstantOneHotDepth(c, *d, out_rank, axis));
  } else {
    ASSIGN_OR_RETURN_ONNX(depth, RuntimeOneHotDepth(c, out_rank, axis));
  }
  ASSIGN_OR_RETURN_ONNX(idx,
                        WrappedIndicesAlong(c, idx, depth.depth, is, axis));
  ASSIGN_OR_RETURN_ONNX(Tensor hot, c.Op("Equal", {idx, depth.iota}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, SelectOnOrOff(c, hot, values));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Einsum --

// Einsum labels: a letter is its character; the k-th dim of the
// broadcast ellipsis is kEllipsis + k.
constexpr int kEllipsis = 1000;

struct EinsumOperand {
  Tensor t;
  std::vector<int> labels;  // One per dim of t.
};

// The letters of one term and whether (and where) it has "...".
struct Term {
  std::vector<int> letters;  // The letters in order; kEllipsis marks "...".
  int explicit_letters = 0;
  bool ellipsis = false;
};

absl::StatusOr<Term> ParseTerm(std::string_view s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '.') {
      if (t.ellipsis || s.substr(i, 3) != "...") {
        return absl::InvalidArgumentError(
            absl::StrCat("term '", s, "' has a '.' outside one \"...\""));
      }
      t.ellipsis = true;
      t.letters.push_back(kEllipsis);
      i += 2;
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
      t.letters.push_back(ch);
      ++t.explicit_letters;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("term '", s, "' has the character '", std::string(1, ch),
                       "', which is not a letter"));
    }
  }
  return t;
}

// `term`'s labels for an operand of rank `rank` (its "..." standing for
// rank - letters dims, right-aligned in the broadcast ellipsis of
// `ellipsis_rank` dims).
std::vector<int> ExpandTerm(const Term& term, int rank, int ellipsis_rank) {
  std::vector<int> out;
  const int e = rank - term.explicit_letters;
  for (int l : term.letters) {
    if (l != kEllipsis) {
      out.push_back(l);
      continue;
    }
    for (int k = 0; k < e; ++k)
      out.push_back(kEllipsis + ellipsis_rank - e + k);
  }
  return out;
}

int Count(const std::vector<int>& v, int label) {
  return static_cast<int>(std::count(v.begin(), v.end(), label));
}

int IndexOf(const std::vector<int>& v, int label) {
  auto it = std::find(v.begin(), v.end(), label);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

// Transposes `op` so that its labels follow `order` (a permutation of
// them); no op when they already do.
absl::Status Reorder(NodeContext& c, EinsumOperand& op,
                     const std::vector<int>& order) {
  std::vector<int64_t> perm;
  for (int l : order) perm.push_back(IndexOf(op.labels, l));
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity &= perm[i] == int64_t(i);
  if (identity) return absl::OkStatus();
  ASSIGN_OR_RETURN_ONNX(op.t, c.Op("Transpose", {op.t}, {{"perm", perm}}));
  op.labels = order;
  return absl::OkStatus();
}

// Sums `op` over the dims whose labels are in `labels`.
absl::Status SumOut(NodeContext& c, EinsumOperand& op,
                    const std::vector<int>& labels) {
  std::vector<int64_t> axes;
  std::vector<int> kept;
  for (size_t i = 0; i < op.labels.size(); ++i) {
    if (Count(labels, op.labels[i]) > 0) {
      axes.push_back(static_cast<int64_t>(i));
    } else {
      kept.push_back(op.labels[i]);
    }
  }
  if (axes.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN_ONNX(
      op.t, c.Op("ReduceSum", {op.t}, {{"axes", axes}, {"keep_dims", false}}));
  op.labels = kept;
  return absl::OkStatus();
}

// Takes the diagonal of every label repeated within `op` ("ii->i"): the
// two dims moved last and merged, then a Gather of the n diagonal
// elements (exact for any dtype, and n rather than n * n products).
absl::Status TakeDiagonals(NodeContext& c, EinsumOperand& op) {
  for (;;) {
    int p = -1, q = -1;
    for (size_t i = 0; i < op.labels.size() && q < 0; ++i) {
      for (size_t j = i + 1; j < op.labels.size(); ++j) {
        if (op.labels[i] == op.labels[j]) {
          p = static_cast<int>(i);
          q = static_cast<int>(j);
          break;
        }
      }
    }
    if (q < 0) return absl::OkStatus();
    const Shape s = op.t.shape();
    const int64_t n = s.dim(p);
    if (n < 0 || s.dim(q) != n) {
      return c.Unsupported(absl::StrCat("a repeated Einsum label over dims of ",
                                        s.DebugString(),
                                        " not known at import to be equal"));
    }
    if (n > kMaxImportTableEntries) {
      return c.Unsupported(absl::StrCat(
          "a repeated Einsum label over a dim of ", n,
          " (a diagonal of at most ", kMaxImportTableEntries, ")"));
    }
    std::vector<int64_t> perm, dims;
    std::vector<int> labels;
    for (int i = 0; i < s.rank(); ++i) {
      if (i == p || i == q) continue;
      perm.push_back(i);
      dims.push_back(s.dim(i));
      labels.push_back(op.labels[i]);
    }
    perm.push_back(p);
    perm.push_back(q);
    dims.push_back(n * n);
    const int label = op.labels[p];
    op.labels = labels;
    op.labels.push_back(label);
    op.labels.push_back(label);
    if (p != s.rank() - 2 || q != s.rank() - 1) {
      ASSIGN_OR_RETURN_ONNX(op.t, c.Op("Transpose", {op.t}, {{"perm", perm}}));
    }
    ASSIGN_OR_RETURN_ONNX(Tensor flat, ReshapeLike(c, op.t, Shape(dims)));
    std::vector<int64_t> diag(n);
    for (int64_t i = 0; i < n; ++i) diag[i] = i * (n + 1);
    ASSIGN_OR_RETURN_ONNX(Tensor idx, c.Const(NDArray::Vector<int64_t>(diag)));
    ASSIGN_OR_RETURN_ONNX(
        op.t, c.Op("Gather", {flat, idx},
                   {{"axis", static_cast<int64_t>(dims.size() - 1)}}));
    op.labels.pop_back();
  }
}

// The labels of a two-operand contraction: in the output and both operands
// (batch), in both but not the output (contracted), and in one operand
// only.
struct MatMulLabels {
  std::vector<int> batch, contracted, a_only, b_only;
};

MatMulLabels ClassifyLabels(const EinsumOperand& a, const EinsumOperand& b,
                            const std::vector<int>& out) {
  MatMulLabels m;
  for (int l : out) {
    if (Count(a.labels, l) > 0 && Count(b.labels, l) > 0) m.batch.push_back(l);
  }
  for (int l : a.labels) {
    if (Count(b.labels, l) == 0) {
      m.a_only.push_back(l);
    } else if (Count(out, l) == 0) {
      m.contracted.push_back(l);
    }
  }
  for (int l : b.labels) {
    if (Count(a.labels, l) == 0) m.b_only.push_back(l);
  }
  return m;
}

// The product of the sizes of `o`'s dims labelled `ls`; each size is also
// appended to `dims` when it is not null.
int64_t LabelsSize(const EinsumOperand& o, const std::vector<int>& ls,
                   std::vector<int64_t>* dims) {
  int64_t n = 1;
  for (int l : ls) {
    const int64_t d = o.t.shape().dim(IndexOf(o.labels, l));
    n *= d;
    if (dims != nullptr) dims->push_back(d);
  }
  return n;
}

// The product of a and b contracted over their shared labels missing from
// `out` as one (Batch)MatMul, when every dim is known and the shared
// labels' sizes agree (no broadcasting); labels of the result are set in
// `result`. False (and nothing built) when the shapes do not allow it.
absl::StatusOr<bool> ContractByMatMul(NodeContext& c, EinsumOperand a,
                                      EinsumOperand b,
                                      const std::vector<int>& out,
                                      EinsumOperand& result) {
  const Shape sa = a.t.shape(), sb = b.t.shape();
  if (!sa.IsFullyDefined() || !sb.IsFullyDefined()) return false;
  const MatMulLabels l = ClassifyLabels(a, b, out);
  for (int label : a.labels) {
    const int ib = IndexOf(b.labels, label);
    if (ib >= 0 && sa.dim(IndexOf(a.labels, label)) != sb.dim(ib)) {
      return false;
    }
  }
  std::vector<int64_t> out_dims;
  const int64_t nb = LabelsSize(a, l.batch, &out_dims);
  const int64_t m = LabelsSize(a, l.a_only, &out_dims);
  const int64_t k = LabelsSize(a, l.contracted, nullptr);
  const int64_t n = LabelsSize(b, l.b_only, &out_dims);
  std::vector<int> order_a = l.batch, order_b = l.batch;
  order_a.insert(order_a.end(), l.a_only.begin(), l.a_only.end());
  order_a.insert(order_a.end(), l.contracted.begin(), l.contracted.end());
  order_b.insert(order_b.end(), l.contracted.begin(), l.contracted.end());
  order_b.insert(order_b.end(), l.b_only.begin(), l.b_only.end());
  if (absl::Status s = Reorder(c, a, order_a); !s.ok()) return s;
  if (absl::Status s = Reorder(c, b, order_b); !s.ok()) return s;
  const bool batched = !l.batch.empty();
  const Shape ma = batched ? Shape{nb, m, k} : Shape{m, k};
  const Shape mb = batched ? Shape{nb, k, n} : Shape{k, n};
  if (a.t.shape() != ma) {
    ASSIGN_OR_RETURN_ONNX(a.t, c.Op("Reshape", {a.t}, {{"shape", ma}}));
  }
  if (b.t.shape() != mb) {
    ASSIGN_OR_RETURN_ONNX(b.t, c.Op("Reshape", {b.t}, {{"shape", mb}}));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op(batched ? "BatchMatMul" : "MatMul", {a.t, b.t},
                             {{"transpose_a", false}, {"transpose_b", false}}));
  if (y.shape() != Shape(out_dims)) {
    ASSIGN_OR_RETURN_ONNX(y,
                          c.Op("Reshape", {y}, {{"shape", Shape(out_dims)}}));
  }
  result.t = y;
  result.labels = l.batch;
  result.labels.insert(result.labels.end(), l.a_only.begin(), l.a_only.end());
  result.labels.insert(result.labels.end(), l.b_only.begin(), l.b_only.end());
  return true;
}

// The node's equation with its whitespace removed.
std::string EinsumEquation(NodeContext& c) {
  std::string eq;
  for (char ch : c.String("equation", "")) {
    if (ch != ' ' && ch != '\t' && ch != '\n') eq.push_back(ch);
  }
  return eq;
}

// The operand terms of `eq` (split at the commas before `arrow`, the
// position of "->" or npos), one per input.
absl::StatusOr<std::vector<std::string>> OperandTerms(NodeContext& c,
                                                      const std::string& eq,
                                                      size_t arrow) {
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (static_cast<int>(terms.size()) != c.num_inputs()) {
    return absl::InvalidArgumentError(
        absl::StrCat("equation '", eq, "' has ", terms.size(),
                     " operand terms for ", c.num_inputs(), " inputs"));
  }
  return terms;
}

// The inputs labelled by their terms, and the rank of the broadcast
// ellipsis (the most dims any "..." stands for).
struct LabelledOperands {
  std::vector<EinsumOperand> ops;
  int ellipsis_rank = 0;
};

absl::StatusOr<LabelledOperands> LabelOperands(
    NodeContext& c, const std::vector<std::string>& terms) {
  LabelledOperands out;
  std::vector<Term> parsed;
  for (size_t i = 0; i < terms.size(); ++i) {
    ASSIGN_OR_RETURN_ONNX(Term t, ParseTerm(terms[i]));
    ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(static_cast<int>(i)));
    const int rank = x.shape().rank();
    if (t.ellipsis ? rank < t.explicit_letters : rank != t.explicit_letters) {
      return absl::InvalidArgumentError(
          absl::StrCat("term '", terms[i], "' does not fit input ", i,
                       " of shape ", x.shape().DebugString()));
    }
    if (t.ellipsis) {
      out.ellipsis_rank =
          std::max(out.ellipsis_rank, rank - t.explicit_letters);
    }
    parsed.push_back(t);
    out.ops.push_back({x, {}});
  }
  for (size_t i = 0; i < out.ops.size(); ++i) {
    out.ops[i].labels =
        ExpandTerm(parsed[i], out.ops[i].t.shape().rank(), out.ellipsis_rank);
  }
  return out;
}

// The implicit output's labels: the broadcast ellipsis, then the letters
// used once in `all` (every operand's labels), in alphabetical (ASCII)
// order.
std::vector<int> ImplicitOutputLabels(const std::vector<int>& all,
                                      int ellipsis_rank) {
  std::vector<int> out;
  for (int k = 0; k < ellipsis_rank; ++k) out.push_back(kEllipsis + k);
  std::vector<int> once;
  for (int l : all) {
    if (l < kEllipsis && Count(all, l) == 1) once.push_back(l);
  }
  std::sort(once.begin(), once.end());
  out.insert(out.end(), once.begin(), once.end());
  return out;
}

// The labels of the output term `rhs` (after "->"), each one once and in
// some input term (`all`).
absl::StatusOr<std::vector<int>> ExplicitOutputLabels(
    const std::string& rhs, const std::vector<int>& all, int ellipsis_rank) {
  ASSIGN_OR_RETURN_ONNX(Term t, ParseTerm(rhs));
  std::vector<int> out;
  for (int l : t.letters) {
    if (l == kEllipsis) {
      for (int k = 0; k < ellipsis_rank; ++k) out.push_back(kEllipsis + k);
      continue;
    }
    if (Count(out, l) > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output label '", std::string(1, char(l)), "' is repeated"));
    }
    if (Count(all, l) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output label '", std::string(1, char(l)), "' is in no input term"));
    }
    out.push_back(l);
  }
  return out;
}

// Takes each operand's diagonals, then sums out its labels that neither
// the output (`out`) nor any other operand has.
absl::Status ReduceEachOperand(NodeContext& c, std::vector<EinsumOperand>& ops,
                               const std::vector<int>& out) {
  for (size_t i = 0; i < ops.size(); ++i) {
    if (absl::Status s = TakeDiagonals(c, ops[i]); !s.ok()) return s;
    std::vector<int> own;
    for (int l : ops[i].labels) {
      bool elsewhere = Count(out, l) > 0;
      for (size_t j = 0; j < ops.size() && !elsewhere; ++j) {
        elsewhere = j != i && Count(ops[j].labels, l) > 0;
      }
      if (!elsewhere) own.push_back(l);
    }
    if (absl::Status s = SumOut(c, ops[i], own); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Every operand in one label order (output labels, then contracted ones),
// size-1 dims for the labels it lacks; a broadcast product summed over the
// contracted labels.
absl::StatusOr<EinsumOperand> ContractByBroadcast(
    NodeContext& c, std::vector<EinsumOperand>& ops,
    const std::vector<int>& out) {
  std::vector<int> order = out, contracted;
  for (const EinsumOperand& o : ops) {
    for (int l : o.labels) {
      if (Count(order, l) == 0) {
        order.push_back(l);
        contracted.push_back(l);
      }
    }
  }
  Tensor prod;
  for (EinsumOperand& o : ops) {
    std::vector<int> mine;
    for (int l : order) {
      if (Count(o.labels, l) > 0) mine.push_back(l);
    }
    if (absl::Status s = Reorder(c, o, mine); !s.ok()) return s;
    std::vector<int64_t> dims;
    for (int l : order) {
      const int i = IndexOf(o.labels, l);
      dims.push_back(i < 0 ? 1 : o.t.shape().dim(i));
    }
    Tensor t = o.t;
    if (o.t.shape() != Shape(dims)) {
      ASSIGN_OR_RETURN_ONNX(t, ReshapeLike(c, o.t, Shape(dims)));
    }
    if (!prod.ok()) {
      prod = t;
    } else {
      ASSIGN_OR_RETURN_ONNX(prod, c.Op("Mul", {prod, t}));
    }
  }
  EinsumOperand result{prod, order};
  if (absl::Status s = SumOut(c, result, contracted); !s.ok()) return s;
  return result;
}

// The operands' product contracted over the labels the output (`out`)
// lacks: one operand as it is, two as one (Batch)MatMul when their shapes
// allow it, else a broadcast product.
absl::StatusOr<EinsumOperand> ContractOperands(NodeContext& c,
                                               std::vector<EinsumOperand>& ops,
                                               const std::vector<int>& out) {
  if (ops.size() == 1) return ops[0];
  if (ops.size() == 2) {
    EinsumOperand result;
    ASSIGN_OR_RETURN_ONNX(bool done,
                          ContractByMatMul(c, ops[0], ops[1], out, result));
    if (done) return result;
  }
  return ContractByBroadcast(c, ops, out);
}

absl::Status Einsum(NodeContext& c) {
  const std::string eq = EinsumEquation(c);
  if (eq.empty()) return absl::InvalidArgumentError("equation is missing");
  const size_t arrow = eq.find("->");
  ASSIGN_OR_RETURN_ONNX(std::vector<std::string> terms,
                        OperandTerms(c, eq, arrow));
  ASSIGN_OR_RETURN_ONNX(LabelledOperands operands, LabelOperands(c, terms));
  std::vector<EinsumOperand>& ops = operands.ops;
  std::vector<int> all;  // Every label of every operand, repeats included.
  for (const EinsumOperand& o : ops) {
    all.insert(all.end(), o.labels.begin(), o.labels.end());
  }
  std::vector<int> out;
  if (arrow == std::string::npos) {
    out = ImplicitOutputLabels(all, operands.ellipsis_rank);
  } else {
    ASSIGN_OR_RETURN_ONNX(out, ExplicitOutputLabels(eq.substr(arrow + 2), all,
                                                    operands.ellipsis_rank));
  }
  if (absl::Status s = ReduceEachOperand(c, ops, out); !s.ok()) return s;
  ASSIGN_OR_RETURN_ONNX(EinsumOperand result, ContractOperands(c, ops, out));
  // Labels the output names that every operand lacked cannot happen (they
  // were checked above); what remains is a permutation of the output.
  if (result.labels.size() != out.size()) {
    return absl::InternalError(
        absl::StrCat("Einsum '", eq, "' left ", result.labels.size(),
                     " labels for an output of rank ", out.size()));
  }
  if (absl::Status s = Reorder(c, result, out); !s.ok()) return s;
  Tensor y = result.t;
  ASSIGN_OR_RETURN_ONNX(Tensor x0, c.input(0));
  if (ops.size() == 1 && y.node() == x0.node() && y.index() == x0.index()) {
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Identity", {y}));  // "ij->ij"
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ------------------------------------------------------------ DFT, STFT --

// The discrete Fourier transform of `x` ([..., c], c = 1 real or 2
// complex) along signal axis `axis` (of length `length`, zero-padded or
// truncated to it), as two matrix products with cos/sin tables built at
// import: X_k = sum_j x_j e^(-+2 pi i jk / L), 1/L for the inverse;
// `onesided` keeps the first L/2 + 1 bins. Every dim must be known at
// import. [..., K, ..., 2].
absl::StatusOr<Tensor> Dft(NodeContext& c, Tensor x, int64_t axis,
                           int64_t length, bool inverse, bool onesided) {
  const Shape& s = x.shape();
  const int r = s.rank();
  if (r < 2 || (s.dim(r - 1) != 1 && s.dim(r - 1) != 2) ||
      s.num_elements() < 0) {
    return c.Unsupported(absl::StrCat(
        "an input ", s.DebugString(),
        " whose dims are not all known at import or whose last dim is not "
        "1 (real) or 2 (complex)"));
  }
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "axis ", axis, " is not a signal axis of ", s.DebugString()));
  }
  const int64_t n = s.dim(static_cast<int>(axis));
  if (length <= 0) length = n;
  const bool complex = s.dim(r - 1) == 2;
  const DType dt = x.dtype();
  if (!IsFloating(dt)) {
    return c.Unsupported(absl::StrCat("input dtype ", DTypeName(dt)));
  }
  // The signal axis last: [rest..., n] per part (real, imaginary).
  std::vector<int64_t> perm;
  for (int i = 0; i < r - 1; ++i) {
    if (i != axis) perm.push_back(i);
  }
  perm.push_back(axis);
  auto part = [&](int64_t which) -> absl::StatusOr<Tensor> {
    ASSIGN_OR_RETURN_ONNX(Tensor at, c.Const(NDArray::Scalar<int64_t>(which)));
    ASSIGN_OR_RETURN_ONNX(Tensor p,
                          c.Op("Gather", {x, at}, {{"axis", int64_t{r - 1}}}));
    ASSIGN_OR_RETURN_ONNX(p, c.Op("Transpose", {p}, {{"perm", perm}}));
    std::vector<int64_t> dims = p.shape().dims();
    if (length != n) {  // Zero-pad or truncate to `length`.
      if (length > n) {
        std::vector<int64_t> pads(2 * dims.size(), 0);
        pads.back() = length - n;
        ASSIGN_OR_RETURN_ONNX(p, c.Op("Pad", {p},
                                      {{"pads", pads},
                                       {"mode", std::string("constant")},
                                       {"value", 0.0}}));
      } else {
        std::vector<int64_t> begin(dims.size(), 0), size = dims;
        size.back() = length;
        ASSIGN_OR_RETURN_ONNX(
            p, c.Op("Slice", {p}, {{"begin", begin}, {"size", size}}));
      }
    }
    const int64_t rows = p.shape().num_elements() / length;
    return ReshapeLike(c, p, Shape{rows, length});
  };
  ASSIGN_OR_RETURN_ONNX(Tensor re, part(0));
  Tensor im;
  if (complex) {
    ASSIGN_OR_RETURN_ONNX(im, part(1));
  }
  const int64_t bins = onesided ? length / 2 + 1 : length;
  if (length > kMaxImportTableEntries / bins) {
    return c.Unsupported(absl::StrCat(
        "a DFT of length ", length, " (its ", length, " x ", bins,
        " tables would pass ", kMaxImportTableEntries, " entries)"));
  }
  std::vector<double> cs(length * bins), sn(length * bins);
  for (int64_t j = 0; j < length; ++j) {
    for (int64_t k = 0; k < bins; ++k) {
      // (j * k) mod L keeps the angle small and exact.
      const double a = 2 * M_PI * static_cast<double>((j * k) % length) /
                       static_cast<double>(length);
      cs[j * bins + k] = std::cos(a);
      sn[j * bins + k] = std::sin(a);
    }
  }
  ASSIGN_OR_RETURN_ONNX(Tensor cos_t,
                        c.Const(FromDoubles(cs, dt, Shape{length, bins})));
  ASSIGN_OR_RETURN_ONNX(Tensor sin_t,
                        c.Const(FromDoubles(sn, dt, Shape{length, bins})));
  // Forward: Re = re C + im S, Im = im C - re S; inverse: the signs of
  // the S terms flip.
  ASSIGN_OR_RETURN_ONNX(Tensor out_re, c.Op("MatMul", {re, cos_t}));
  ASSIGN_OR_RETURN_ONNX(Tensor re_s, c.Op("MatMul", {re, sin_t}));
  ASSIGN_OR_RETURN_ONNX(Tensor out_im, c.Op("Neg", {re_s}));
  if (inverse) out_im = re_s;
  if (complex) {
    ASSIGN_OR_RETURN_ONNX(Tensor im_c, c.Op("MatMul", {im, cos_t}));
    ASSIGN_OR_RETURN_ONNX(Tensor im_s, c.Op("MatMul", {im, sin_t}));
    ASSIGN_OR_RETURN_ONNX(out_re,
                          c.Op(inverse ? "Sub" : "Add", {out_re, im_s}));
    ASSIGN_OR_RETURN_ONNX(out_im, c.Op("Add", {out_im, im_c}));
  }
  if (inverse) {
    ASSIGN_OR_RETURN_ONNX(Tensor scale, c.Scalar(dt, 1.0 / length));
    ASSIGN_OR_RETURN_ONNX(out_re, c.Op("Mul", {out_re, scale}));
    ASSIGN_OR_RETURN_ONNX(out_im, c.Op("Mul", {out_im, scale}));
  }
  // Back to [..., bins at axis, ..., 2].
  std::vector<int64_t> moved;
  for (int64_t p : perm) moved.push_back(s.dim(static_cast<int>(p)));
  moved.back() = bins;
  std::vector<int64_t> inverse_perm(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse_perm[perm[i]] = i;
  std::vector<Tensor> parts;
  for (Tensor t : {out_re, out_im}) {
    ASSIGN_OR_RETURN_ONNX(t, ReshapeLike(c, t, Shape(moved)));
    ASSIGN_OR_RETURN_ONNX(t, c.Op("Transpose", {t}, {{"perm", inverse_perm}}));
    parts.push_back(t);
  }
  return StackAlong(c, parts, -1);  // [..., 2]: real, imaginary.
}

absl::Status DftOp(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  int64_t length = -1;
  if (c.has_input(1)) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> l, c.ConstInts(1, "dft_length"));
    if (l.size() != 1 || l[0] < 1) {
      return absl::InvalidArgumentError("dft_length must be one value >= 1");
    }
    length = l[0];
  }
  const bool inverse = c.Int("inverse", 0) != 0;
  const bool onesided = c.Int("onesided", 0) != 0;
  if (inverse && onesided) {
    return c.Unsupported("an inverse one-sided DFT");
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        Dft(c, x, c.Int("axis", 1), length, inverse, onesided));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// STFT: frames of frame_length every frame_step samples (Gather of a
// [frames, frame_length] index table along the signal axis), times the
// window, then a DFT of each frame.
absl::Status Stft(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> step,
                        c.ConstInts(1, "frame_step"));
  int64_t frame = -1;
  Tensor window;
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(window, c.input(2));
    frame = window.shape().rank() == 1 ? window.shape().dim(0) : -1;
  }
  if (c.has_input(3)) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> fl,
                          c.ConstInts(3, "frame_length"));
    if (fl.size() != 1) {
      return absl::InvalidArgumentError("frame_length must be one value");
    }
    frame = fl[0];
  }
  const Shape& s = x.shape();
  if (step.size() != 1 || step[0] < 1 || frame < 1 || s.rank() != 3 ||
      s.dim(1) < frame) {
    return c.Unsupported(absl::StrCat("a signal ", s.DebugString(),
                                      ", frame step or frame length (", frame,
                                      ") not known at import or out of range"));
  }
  const int64_t frames = (s.dim(1) - frame) / step[0] + 1;
  if (frames > kMaxImportTableEntries / frame) {
    return c.Unsupported(absl::StrCat(frames, " frames of ", frame,
                                      " samples (an index table past ",
                                      kMaxImportTableEntries, " entries)"));
  }
  std::vector<int64_t> idx(frames * frame);
  for (int64_t f = 0; f < frames; ++f) {
    for (int64_t j = 0; j < frame; ++j) idx[f * frame + j] = f * step[0] + j;
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor at, c.Const(*NDArray::Create<int64_t>(idx, Shape{frames, frame})));
  ASSIGN_OR_RETURN_ONNX(Tensor framed,
                        c.Op("Gather", {x, at}, {{"axis", int64_t{1}}}));
  if (window.ok()) {
    ASSIGN_OR_RETURN_ONNX(window, ReshapeLike(c, window, Shape{frame, 1}));
    ASSIGN_OR_RETURN_ONNX(framed, c.Op("Mul", {framed, window}));
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor y, Dft(c, framed, 2, frame, false, c.Int("onesided", 1) != 0));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// MelWeightMatrix: a constant, computed at import from its five scalar
// inputs as ONNX's reference computes it (triangular filters between mel
// points spaced evenly above lower_edge_hertz, snapped to DFT bins by
// floor((dft_length + 1) * hz / sample_rate)).
absl::Status MelWeightMatrix(NodeContext& c) {
  std::vector<double> v;
  const char* names[] = {"num_mel_bins", "dft_length", "sample_rate",
                         "lower_edge_hertz", "upper_edge_hertz"};
  // Every input the model computes at run time, named in one error.
  std::vector<std::string> missing;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<const NDArray*> a = c.ConstInput(i, names[i]);
    if (!a.ok()) missing.emplace_back(a.status().message());
  }
  if (!missing.empty()) return c.Unsupported(absl::StrJoin(missing, "; "));
  for (int i = 0; i < 5; ++i) {
    ASSIGN_OR_RETURN_ONNX(double d, OnlyValue(*c.constant(i), names[i]));
    v.push_back(d);
  }
  const double rate = v[2], lo = v[3], hi = v[4];
  // Checked as doubles, before any conversion to an integer.
  if (!(v[0] >= 1 && v[0] <= 4096 && v[1] >= 1 && v[1] <= (1 << 20)) ||
      !(rate > 0) || !(lo >= 0 && lo < hi && hi <= rate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MelWeightMatrix inputs out of range: ", v[0], " mel bins, DFT length ",
        v[1], ", sample rate ", rate, ", edges ", lo, " to ", hi, " Hz"));
  }
  const int64_t mels = static_cast<int64_t>(v[0]);
  const int64_t dft = static_cast<int64_t>(v[1]);
  const int64_t bins = dft / 2 + 1;
  if (bins > kMaxImportTableEntries / mels) {
    return absl::InvalidArgumentError(
        absl::StrCat("MelWeightMatrix of ", bins, " x ", mels, " passes ",
                     kMaxImportTableEntries, " entries"));
  }
  auto to_mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  // ONNX's reference spaces the mel points by (high - low) / (mels + 2),
  // so the last point stays below upper_edge_hertz.
  const double lo_mel = to_mel(lo), step = (to_mel(hi) - lo_mel) / (mels + 2);
  std::vector<int64_t> point(mels + 2);
  for (int64_t i = 0; i < mels + 2; ++i) {
    const double hz = 700 * (std::pow(10, (i * step + lo_mel) / 2595) - 1);
    point[i] = static_cast<int64_t>(std::floor((dft + 1) * hz / rate));
    point[i] = std::clamp<int64_t>(point[i], 0, bins - 1);
  }
  std::vector<double> w(bins * mels, 0.0);
  for (int64_t i = 0; i < mels; ++i) {
    const int64_t left = point[i], center = point[i + 1], right = point[i + 2];
    if (center == left) {
      w[center * mels + i] = 1;
    } else {
      for (int64_t j = left; j <= center; ++j) {
        w[j * mels + i] = static_cast<double>(j - left) / (center - left);
      }
    }
    for (int64_t j = center; j < right; ++j) {
      w[j * mels + i] = static_cast<double>(right - j) / (right - center);
    }
  }
  const int64_t out_type = c.Int("output_datatype", onnx::TensorProto::FLOAT);
  ASSIGN_OR_RETURN_ONNX(DType dt,
                        DTypeFromOnnx(static_cast<int32_t>(out_type)));
  if (!IsFloating(dt)) {
    return c.Unsupported(absl::StrCat("output_datatype ", DTypeName(dt)));
  }
  c.SetConstantOutput(0, FromDoubles(w, dt, Shape{bins, mels}));
  return absl::OkStatus();
}

// TfIdfVectorizer over integer token ids (pool_int64s); a string pool or
// string input is a dtype weft lacks.
absl::Status TfIdfVectorizer(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  if (c.has_attr("pool_strings")) {
    c.Ignore("pool_strings");
    return c.Unsupported("pool_strings (weft has no string dtype)");
  }
  AttrMap attrs = {{"mode", c.String("mode", "TF")},
                   {"min_gram_length", c.Int("min_gram_length", 1)},
                   {"max_gram_length", c.Int("max_gram_length", 1)},
                   {"max_skip_count", c.Int("max_skip_count", 0)},
                   {"ngram_counts", c.Ints("ngram_counts")},
                   {"ngram_indexes", c.Ints("ngram_indexes")},
                   {"pool_int64s", c.Ints("pool_int64s")}};
  if (c.has_attr("weights")) {
    const std::vector<float> w = c.Floats("weights");
    attrs.emplace("weights",
                  NDArray::Vector(std::vector<double>(w.begin(), w.end())));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("TfIdfVectorizer", {x}, std::move(attrs)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

}  // namespace

void RegisterCompositeConverters(
    absl::flat_hash_map<std::string, Converter>& t) {
  t["NegativeLogLikelihoodLoss"] = NegativeLogLikelihoodLoss;
  t["SoftmaxCrossEntropyLoss"] = SoftmaxCrossEntropyLoss;
  t["Hardmax"] = Hardmax;
  t["OneHot"] = OneHot;
  t["Einsum"] = Einsum;
  t["DFT"] = DftOp;
  t["STFT"] = Stft;
  t["MelWeightMatrix"] = MelWeightMatrix;
  t["TfIdfVectorizer"] = TfIdfVectorizer;
}

}  // namespace onnx_internal
}  // namespace weft
