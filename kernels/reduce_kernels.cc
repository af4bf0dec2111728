// The reduction family's kernels (ops defined in graph/reduce_ops.cc):
// ReduceSum, ReduceMean, ReduceMax, ReduceMin and ReduceProd over the node's
// "axes" attr (empty = every axis; optional "keep_dims"), ArgMax and ArgMin
// over its "axis" (optional "keep_dims", "select_last_index"), and CumSum
// along its "axis" (optional "exclusive", "reverse"), for the four numeric
// dtypes.
//
// NaN: ReduceMax/ReduceMin propagate it; ArgMax/ArgMin count a NaN as the
// extreme (the first NaN, or the last with select_last_index). Zero
// elements: ReduceSum gives 0, ReduceProd 1, ReduceMax/ReduceMin/ArgMax/
// ArgMin are run-time errors. ReduceProd and CumSum accumulate like the sums
// below (double for floats, wrapping 64 bits for integers).
//
// Floating inputs accumulate in double (contiguous runs through
// cpu::SumToDouble: vectorized, in a fixed order); integer inputs accumulate in
// 64 bits with wrap-around, then convert to the input type (ReduceSum of int32
// wraps like a two's complement sum; ReduceMean truncates toward zero). The
// mean over zero elements is NaN for floats and an error for integers. Parallel
// sums use a fixed block split, so results do not depend on scheduling.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/shape_util.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"

namespace weft {
namespace kernels_internal {
namespace {

enum class Reduction { kSum, kMean };

// The accumulator of T: double for floats, wrapping uint64_t for integers.
template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

template <typename T>
T Finish(Acc<T> acc, Reduction kind, int64_t count) {
  if constexpr (std::is_floating_point_v<T>) {
    if (kind == Reduction::kMean) acc /= static_cast<double>(count);
    return static_cast<T>(acc);
  } else {
    int64_t sum = static_cast<int64_t>(acc);     // Modular since C++20.
    if (kind == Reduction::kMean) sum /= count;  // count > 0 checked earlier.
    return static_cast<T>(sum);
  }
}

// Floats: cpu::SumToDouble (vectorized, the same bits on every SIMD
// target) from kMinVectorRun elements on, a plain loop below that (a
// dispatched call per short row would cost more than the row); integers: a
// wrapping 64-bit loop.
constexpr int64_t kMinVectorRun = 32;

template <typename T>
Acc<T> SumRange(const T* in, int64_t begin, int64_t end) {
  if constexpr (std::is_floating_point_v<T>) {
    if (end - begin >= kMinVectorRun) {
      return cpu::SumToDouble(in + begin, end - begin);
    }
    double acc = 0;
    for (int64_t i = begin; i < end; ++i) acc += static_cast<double>(in[i]);
    return acc;
  } else {
    Acc<T> acc = 0;
    for (int64_t i = begin; i < end; ++i) acc += static_cast<Acc<T>>(in[i]);
    return acc;
  }
}

// A run of adjacent input dims that are all reduced or all kept.
struct Group {
  int64_t size;
  bool reduced;
};

// How one input shape is reduced: the output dims, the groups of adjacent
// dims (size-1 dims dropped), and how many input elements each output sums.
struct ReducePlan {
  std::vector<int64_t> out_dims;
  absl::InlinedVector<Group, 6> groups;
  int64_t reduced_count = 1;
};

ReducePlan PlanReduction(const Shape& in, const std::vector<int>& axes) {
  ReducePlan plan;
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t d = in.dim(i);
    const bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (reduced) {
      plan.reduced_count *= d;  // At most the input's element count.
    } else {
      plan.out_dims.push_back(d);
    }
    if (d == 1) continue;  // Size-1 dims do not affect the memory walk.
    if (!plan.groups.empty() && plan.groups.back().reduced == reduced) {
      plan.groups.back().size *= d;
    } else {
      plan.groups.push_back({d, reduced});
    }
  }
  return plan;
}

// The stages below each fill `po` (out_count elements) from `pi`
// (in_count elements) for one shape of plan.groups.

// Everything reduced into one value. Fixed blocks keep the float result
// deterministic.
template <typename T>
void ReduceAll(const T* pi, int64_t in_count, T* po, Reduction kind,
               int64_t reduced_count) {
  const int64_t blocks = (in_count + kParallelGrain - 1) / kParallelGrain;
  Acc<T> total = 0;
  if (blocks <= 2) {
    total = SumRange(pi, 0, in_count);
  } else {
    std::vector<Acc<T>> partial(blocks);
    ParallelItems(blocks, kParallelGrain, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        partial[b] = SumRange(pi, b * kParallelGrain,
                              std::min(in_count, (b + 1) * kParallelGrain));
      }
    });
    for (const Acc<T>& p : partial) total += p;
  }
  po[0] = Finish<T>(total, kind, reduced_count);
}

// [kept, reduced]: one contiguous row per output element.
template <typename T>
void ReduceRows(const T* pi, int64_t rows, int64_t len, T* po, Reduction kind,
                int64_t reduced_count) {
  ParallelItems(rows, len, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      po[r] =
          Finish<T>(SumRange(pi, r * len, (r + 1) * len), kind, reduced_count);
    }
  });
}

// [reduced, kept]: column sums. Rows are read contiguously (a narrow column
// slice per task would stride through memory row by row and defeat the
// prefetcher), so wide inputs split into column blocks and tall ones into
// fixed row blocks whose partial sums are added in order.
template <typename T>
void ReduceColumns(const T* pi, int64_t rows, int64_t cols, T* po,
                   Reduction kind, int64_t reduced_count) {
  auto add_rows = [pi, cols](int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                             Acc<T>* acc) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = pi + r * cols;
      for (int64_t c = c0; c < c1; ++c) {
        acc[c - c0] += static_cast<Acc<T>>(row[c]);
      }
    }
  };
  constexpr int64_t kColumnBlock = 1024;
  if (rows * cols <= kParallelThreshold || cols >= 2 * kColumnBlock) {
    const int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
    ParallelItems(blocks, rows * std::min(cols, kColumnBlock),
                  [&](int64_t b0, int64_t b1) {
                    std::vector<Acc<T>> acc(kColumnBlock);
                    for (int64_t b = b0; b < b1; ++b) {
                      const int64_t c0 = b * kColumnBlock;
                      const int64_t c1 = std::min(cols, c0 + kColumnBlock);
                      std::fill(acc.begin(), acc.end(), Acc<T>{0});
                      add_rows(0, rows, c0, c1, acc.data());
                      for (int64_t c = c0; c < c1; ++c) {
                        po[c] = Finish<T>(acc[c - c0], kind, reduced_count);
                      }
                    }
                  });
    return;
  }
  const int64_t block_rows = std::max<int64_t>(kParallelGrain / cols, 1);
  const int64_t blocks = (rows + block_rows - 1) / block_rows;
  std::vector<Acc<T>> partial(blocks * cols, Acc<T>{0});
  ParallelItems(blocks, block_rows * cols, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      add_rows(b * block_rows, std::min(rows, (b + 1) * block_rows), 0, cols,
               partial.data() + b * cols);
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    Acc<T> total = 0;
    for (int64_t b = 0; b < blocks; ++b) total += partial[b * cols + c];
    po[c] = Finish<T>(total, kind, reduced_count);
  }
}

// Any other pattern: walk the input one innermost group (a "row") at a
// time, with an odometer over the outer groups giving the output offset.
// Single-threaded.
template <typename T>
void ReduceGeneral(const T* pi, int64_t in_count, const ReducePlan& plan, T* po,
                   int64_t out_count, Reduction kind) {
  const auto& groups = plan.groups;
  const int m = static_cast<int>(groups.size());
  absl::InlinedVector<int64_t, 6> out_strides(m, 0);
  int64_t run = 1;
  for (int g = m - 1; g >= 0; --g) {
    if (!groups[g].reduced) {
      out_strides[g] = run;
      run *= groups[g].size;
    }
  }
  std::vector<Acc<T>> acc(out_count, Acc<T>{0});
  const Group& last = groups[m - 1];
  const int64_t len = last.size;
  const int64_t rows = in_count / len;
  absl::InlinedVector<int64_t, 6> index(m, 0);
  int64_t out_off = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = pi + r * len;
    if (last.reduced) {
      acc[out_off] += SumRange(row, 0, len);
    } else {
      Acc<T>* dst = acc.data() + out_off;
      for (int64_t j = 0; j < len; ++j) dst[j] += static_cast<Acc<T>>(row[j]);
    }
    for (int g = m - 2; g >= 0; --g) {
      out_off += out_strides[g];
      if (++index[g] < groups[g].size) break;
      out_off -= groups[g].size * out_strides[g];
      index[g] = 0;
    }
  }
  for (int64_t i = 0; i < out_count; ++i) {
    po[i] = Finish<T>(acc[i], kind, plan.reduced_count);
  }
}

// Reads the optional bool attr `name` (false when absent) into `value`;
// an error goes to `c`'s status.
void ReadOptionalBool(OpKernelConstruction& c, std::string_view name,
                      bool* value) {
  *value = false;
  if (c.node().attrs().contains(name)) c.SetStatus(c.GetAttr(name, value));
}

// The axes (sorted, normalized) and keep_dims every reduction reads when
// the plan is compiled; on error `c`'s status is set and the axes are empty.
struct ReduceAttrs {
  std::vector<int> axes;
  bool keep_dims = false;
};
ReduceAttrs ReadReduceAttrs(OpKernelConstruction& c) {
  ReduceAttrs out;
  absl::StatusOr<std::vector<int>> axes = ReadAxes(c);
  if (!axes.ok()) {
    c.SetStatus(axes.status());
    return out;
  }
  out.axes = *std::move(axes);
  ReadOptionalBool(c, "keep_dims", &out.keep_dims);
  return out;
}

// The output shape of reducing `in` over the sorted `axes`: reduced axes
// removed, or kept with size 1 under keep_dims.
Shape ReducedShape(const Shape& in, const std::vector<int>& axes,
                   bool keep_dims) {
  std::vector<int64_t> dims;
  for (int i = 0; i < in.rank(); ++i) {
    if (!std::binary_search(axes.begin(), axes.end(), i)) {
      dims.push_back(in.dim(i));
    } else if (keep_dims) {
      dims.push_back(1);
    }
  }
  return Shape(std::move(dims));
}

// ReduceSum / ReduceMean. The axes are parsed and normalized once, when the
// plan is compiled (the input's rank is known then). keep_dims only changes
// the output's shape, not its layout.
template <typename T, Reduction kKind>
class ReduceKernel : public OpKernel {
 public:
  explicit ReduceKernel(OpKernelConstruction& c) : OpKernel(c) {
    ReduceAttrs attrs = ReadReduceAttrs(c);
    axes_ = std::move(attrs.axes);
    keep_dims_ = attrs.keep_dims;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    constexpr DType kDType = DTypeOf<T>::value;
    if (x.dtype() != kDType) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a ", DTypeName(kDType), " input, got ",
                       DTypeName(x.dtype())));
    }
    const ReducePlan plan = PlanReduction(x.shape(), axes_);
    absl::StatusOr<NDArray> out =
        ctx.allocate_output(0, keep_dims_ ? ReducedShape(x.shape(), axes_, true)
                                          : Shape(plan.out_dims));
    if (!out.ok()) return out.status();
    T* po = out->mutable_data<T>();
    const int64_t out_count = out->num_elements();
    const T* pi = static_cast<const T*>(x.raw_data());
    const int64_t in_count = x.num_elements();
    const auto& groups = plan.groups;
    if (in_count == 0) {  // Every output element reduces zero elements.
      if constexpr (kKind == Reduction::kMean && std::is_integral_v<T>) {
        if (out_count > 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "ReduceMean of ", DTypeName(kDType), " over zero elements: ",
              x.shape().DebugString(), " reduced over its axes has no mean"));
        }
      }
      for (int64_t i = 0; i < out_count; ++i) {
        po[i] = Finish<T>(Acc<T>{0}, kKind, plan.reduced_count);
      }
    } else if (groups.empty() || (groups.size() == 1 && !groups[0].reduced)) {
      // Nothing of size > 1 is reduced: each output is one input element.
      for (int64_t i = 0; i < out_count; ++i) {
        po[i] =
            Finish<T>(static_cast<Acc<T>>(pi[i]), kKind, plan.reduced_count);
      }
    } else if (groups.size() == 1) {
      ReduceAll(pi, in_count, po, kKind, plan.reduced_count);
    } else if (groups.size() == 2 && !groups[0].reduced) {
      ReduceRows(pi, groups[0].size, groups[1].size, po, kKind,
                 plan.reduced_count);
    } else if (groups.size() == 2) {
      ReduceColumns(pi, groups[0].size, groups[1].size, po, kKind,
                    plan.reduced_count);
    } else {
      ReduceGeneral(pi, in_count, plan, po, out_count, kKind);
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int> axes_;
  bool keep_dims_ = false;
};

// ------------------------------------------------- ReduceMax, ReduceMin --

// The larger (kMax) or smaller of acc and x; NaN sticks.
template <bool kMax, typename T>
T ExtremeOf(T acc, T x) {
  const bool better = kMax ? x > acc : x < acc;
  return (better || x != x) && acc == acc ? x : acc;
}

// Rows shorter than this are reduced in a plain loop.
constexpr int64_t kMinVectorRow = 64;

template <typename T, bool kMax>
class ReduceExtremeKernel : public OpKernel {
 public:
  explicit ReduceExtremeKernel(OpKernelConstruction& c) : OpKernel(c) {
    ReduceAttrs attrs = ReadReduceAttrs(c);
    axes_ = std::move(attrs.axes);
    keep_dims_ = attrs.keep_dims;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    if (!axes_.empty() && in.rank() <= axes_.back()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kOp, " axes do not fit the fed ", in.DebugString()));
    }
    std::vector<int64_t> out_dims;
    std::vector<bool> reduced(in.rank(), false);
    int64_t reduced_count = 1;
    for (int a : axes_) reduced[a] = true;
    for (int i = 0; i < in.rank(); ++i) {
      if (reduced[i]) {
        reduced_count *= in.dim(i);
        if (keep_dims_) out_dims.push_back(1);
      } else {
        out_dims.push_back(in.dim(i));
      }
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(out_dims));
    if (!out.ok()) return out.status();
    const int64_t out_count = out->num_elements();
    if (reduced_count == 0 && out_count > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          kOp, " over zero elements: ", DTypeName(x.dtype()), in.DebugString(),
          " has an empty reduced axis, so there is no ",
          kMax ? "maximum" : "minimum"));
    }
    T* po = out->mutable_data<T>();
    const T* pi = x.values<T>().data();
    int first_reduced = in.rank();
    while (first_reduced > 0 && reduced[first_reduced - 1]) --first_reduced;
    bool trailing = true;
    for (int i = 0; i < first_reduced; ++i) trailing = trailing && !reduced[i];
    if (trailing) {
      if (absl::Status s = ExtremeOfRows(pi, out_count, reduced_count, po);
          !s.ok()) {
        return s;
      }
    } else {
      ExtremeOfStrided(pi, x.num_elements(), in, reduced, out_count, po);
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  static constexpr const char* kOp = kMax ? "ReduceMax" : "ReduceMin";
  // The identity of the reduction: -inf / +inf, or the integer extremes.
  static constexpr T kStart = kMax ? (std::numeric_limits<T>::has_infinity
                                          ? -std::numeric_limits<T>::infinity()
                                          : std::numeric_limits<T>::lowest())
                                   : (std::numeric_limits<T>::has_infinity
                                          ? std::numeric_limits<T>::infinity()
                                          : std::numeric_limits<T>::max());

  // Trailing axes reduced: `rows` contiguous rows of `len`, in parallel.
  // ReduceMax's rows of at least kMinVectorRow elements go through
  // Highway's runtime-dispatched cpu::Max (NaN sticks there too); shorter
  // ones, and ReduceMin's, in a loop (a checked, dispatched call per short
  // row would cost more than the row).
  static absl::Status ExtremeOfRows(const T* pi, int64_t rows, int64_t len,
                                    T* po) {
    std::atomic<bool> failed{false};
    ParallelItems(rows, len, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        if (!kMax || len < kMinVectorRow) {
          T acc = kStart;
          for (int64_t j = 0; j < len; ++j) {
            acc = ExtremeOf<kMax>(acc, pi[r * len + j]);
          }
          po[r] = acc;
          continue;
        }
        absl::StatusOr<T> m = cpu::Max(pi + r * len, len);
        if (!m.ok()) failed.store(true, std::memory_order_relaxed);
        po[r] = m.ok() ? *m : kStart;
      }
    });
    if (failed.load(std::memory_order_relaxed)) {
      return absl::InternalError("weft::cpu::Max failed on a ReduceMax row");
    }
    return absl::OkStatus();
  }

  // General: walk the `n` input elements (of shape `in`) in order; each
  // lands on the output offset of its kept coordinates.
  static void ExtremeOfStrided(const T* pi, int64_t n, const Shape& in,
                               const std::vector<bool>& reduced,
                               int64_t out_count, T* po) {
    std::fill(po, po + out_count, kStart);
    const int rank = in.rank();
    std::vector<int64_t> out_stride(rank, 0), idx(rank, 0);
    int64_t run = 1;
    for (int i = rank - 1; i >= 0; --i) {
      if (!reduced[i]) {
        out_stride[i] = run;
        run *= in.dim(i);
      }
    }
    int64_t off = 0;
    for (int64_t e = 0; e < n; ++e) {
      po[off] = ExtremeOf<kMax>(po[off], pi[e]);
      for (int i = rank - 1; i >= 0; --i) {
        off += out_stride[i];
        if (++idx[i] < in.dim(i)) break;
        off -= out_stride[i] * idx[i];
        idx[i] = 0;
      }
    }
  }

  std::vector<int> axes_;
  bool keep_dims_ = false;
};

// ----------------------------------------------------------- ReduceProd --

// The product of x over `axes` (1 over zero elements): floats multiply in
// double, integers in wrapping 64 bits, converted to T at the end (int32
// wraps like a two's complement product).
template <typename T>
class ReduceProdKernel : public OpKernel {
 public:
  explicit ReduceProdKernel(OpKernelConstruction& c) : OpKernel(c) {
    ReduceAttrs attrs = ReadReduceAttrs(c);
    axes_ = std::move(attrs.axes);
    keep_dims_ = attrs.keep_dims;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    if (!axes_.empty() && in.rank() <= axes_.back()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ReduceProd axes do not fit the fed ", in.DebugString()));
    }
    absl::StatusOr<NDArray> out =
        ctx.allocate_output(0, ReducedShape(in, axes_, keep_dims_));
    if (!out.ok()) return out.status();
    const ReducePlan plan = PlanReduction(in, axes_);
    T* po = out->mutable_data<T>();
    const int64_t out_count = out->num_elements();
    const T* pi = x.values<T>().data();
    const int64_t in_count = x.num_elements();
    const auto& groups = plan.groups;
    if (in_count == 0) {
      std::fill(po, po + out_count, T{1});
    } else if (groups.empty() || !groups.back().reduced ||
               (groups.size() > 2)) {
      ProdGeneral(pi, in_count, plan, po, out_count);
    } else {
      // [reduced] or [kept, reduced]: one contiguous row per output.
      const int64_t len = groups.back().size;
      ParallelItems(out_count, len, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          Acc<T> acc = 1;
          const T* row = pi + r * len;
          for (int64_t j = 0; j < len; ++j) acc *= static_cast<Acc<T>>(row[j]);
          po[r] = static_cast<T>(acc);
        }
      });
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  // Any pattern (single-threaded): walk the input in order, one innermost
  // group at a time, with an odometer over the outer groups giving the
  // output offset.
  static void ProdGeneral(const T* pi, int64_t in_count, const ReducePlan& plan,
                          T* po, int64_t out_count) {
    std::vector<Acc<T>> acc(out_count, Acc<T>{1});
    const auto& groups = plan.groups;
    if (groups.empty()) {  // Only size-1 dims: one element per output.
      for (int64_t i = 0; i < out_count; ++i) po[i] = pi[i];
      return;
    }
    const int m = static_cast<int>(groups.size());
    absl::InlinedVector<int64_t, 6> out_strides(m, 0);
    int64_t run = 1;
    for (int g = m - 1; g >= 0; --g) {
      if (!groups[g].reduced) {
        out_strides[g] = run;
        run *= groups[g].size;
      }
    }
    const Group& last = groups[m - 1];
    const int64_t len = last.size;
    const int64_t rows = in_count / len;
    absl::InlinedVector<int64_t, 6> index(m, 0);
    int64_t out_off = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = pi + r * len;
      if (last.reduced) {
        for (int64_t j = 0; j < len; ++j) {
          acc[out_off] *= static_cast<Acc<T>>(row[j]);
        }
      } else {
        Acc<T>* dst = acc.data() + out_off;
        for (int64_t j = 0; j < len; ++j) dst[j] *= static_cast<Acc<T>>(row[j]);
      }
      for (int g = m - 2; g >= 0; --g) {
        out_off += out_strides[g];
        if (++index[g] < groups[g].size) break;
        out_off -= groups[g].size * out_strides[g];
        index[g] = 0;
      }
    }
    for (int64_t i = 0; i < out_count; ++i) po[i] = static_cast<T>(acc[i]);
  }

  std::vector<int> axes_;
  bool keep_dims_ = false;
};

// ------------------------------------------------------- ArgMax, ArgMin --

// The int64 index of the maximum (kMax) or minimum along the axis: the
// first one on ties, or the last with select_last_index. A NaN counts as
// the extreme: the first NaN wins (the last NaN with select_last_index).
template <typename T, bool kMax>
class ArgExtremeKernel : public OpKernel {
 public:
  explicit ArgExtremeKernel(OpKernelConstruction& c)
      : OpKernel(c), axis_(ReadAxis(c, kMax ? "ArgMax axis" : "ArgMin axis")) {
    ReadOptionalBool(c, "keep_dims", &keep_dims_);
    ReadOptionalBool(c, "select_last_index", &last_);
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    if (absl::Status s = CheckRank(x, axis_, kOp); !s.ok()) return s;
    const Shape& s = x.shape();
    std::vector<int64_t> dims = s.dims();
    if (keep_dims_) {
      dims[axis_] = 1;
    } else {
      dims.erase(dims.begin() + axis_);
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    const int64_t len = s.dim(axis_);
    const int64_t outer = DimProduct(s, 0, axis_);
    const int64_t inner = DimProduct(s, axis_ + 1, s.rank());
    if (len == 0 && outer * inner > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kOp, " along axis ", axis_, " of ", DTypeName(x.dtype()),
                       s.DebugString(), ", which is empty: there is no ",
                       kMax ? "maximum" : "minimum"));
    }
    const T* pi = x.values<T>().data();
    int64_t* po = out->mutable_data<int64_t>();
    const bool last = last_;
    ParallelItems(outer * inner, len, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t o = p / inner, i = p % inner;
        po[p] = last ? Find<true>(pi + o * len * inner + i, len, inner)
                     : Find<false>(pi + o * len * inner + i, len, inner);
      }
    });
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  static constexpr const char* kOp = kMax ? "ArgMax" : "ArgMin";

  // The index of the extreme of xs[0], xs[stride], ... (len > 0 elements).
  template <bool kLast>
  static int64_t Find(const T* xs, int64_t len, int64_t stride) {
    T best = xs[0];
    int64_t at = 0;
    for (int64_t j = 1; j < len; ++j) {
      const T v = xs[j * stride];
      if (best != best) {  // A NaN is the extreme; only a later one moves it.
        if (!kLast) break;
        if (v != v) at = j;
        continue;
      }
      const bool better = kMax ? v > best : v < best;
      if (better || v != v || (kLast && v == best)) {
        best = v;
        at = j;
      }
    }
    return at;
  }

  const int axis_;
  bool keep_dims_ = false;
  bool last_ = false;
};

// --------------------------------------------------------------- CumSum --

// Running sums along the axis (exclusive: each output leaves out its own
// element; reverse: sums from the end). Floats accumulate in double,
// integers in wrapping 64 bits. The [outer, len, inner] array is split into
// (outer index, block of inner columns) items, each walking the axis in
// order with one accumulator per column, so rows are read contiguously.
template <typename T>
class CumSumKernel : public OpKernel {
 public:
  explicit CumSumKernel(OpKernelConstruction& c)
      : OpKernel(c), axis_(ReadAxis(c, "CumSum axis")) {
    ReadOptionalBool(c, "exclusive", &exclusive_);
    ReadOptionalBool(c, "reverse", &reverse_);
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    if (absl::Status s = CheckRank(x, axis_, "CumSum"); !s.ok()) return s;
    const Shape& s = x.shape();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, s);
    if (!out.ok()) return out.status();
    const int64_t len = s.dim(axis_);
    const int64_t outer = DimProduct(s, 0, axis_);
    const int64_t inner = DimProduct(s, axis_ + 1, s.rank());
    const T* pi = x.values<T>().data();
    T* po = out->mutable_data<T>();
    constexpr int64_t kBlock = 1024;
    const int64_t blocks = (inner + kBlock - 1) / kBlock;
    const bool exclusive = exclusive_, reverse = reverse_;
    ParallelItems(outer * blocks, len * std::min(inner, kBlock),
                  [&](int64_t b0, int64_t b1) {
                    std::vector<Acc<T>> acc(std::min(inner, kBlock));
                    for (int64_t b = b0; b < b1; ++b) {
                      const int64_t o = b / blocks;
                      const int64_t c0 = (b % blocks) * kBlock;
                      const int64_t c1 = std::min(inner, c0 + kBlock);
                      std::fill(acc.begin(), acc.end(), Acc<T>{0});
                      for (int64_t step = 0; step < len; ++step) {
                        const int64_t j = reverse ? len - 1 - step : step;
                        const int64_t row = (o * len + j) * inner;
                        for (int64_t c = c0; c < c1; ++c) {
                          const Acc<T> v = static_cast<Acc<T>>(pi[row + c]);
                          if (exclusive) {
                            po[row + c] = static_cast<T>(acc[c - c0]);
                            acc[c - c0] += v;
                          } else {
                            acc[c - c0] += v;
                            po[row + c] = static_cast<T>(acc[c - c0]);
                          }
                        }
                      }
                    }
                  });
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  const int axis_;
  bool exclusive_ = false;
  bool reverse_ = false;
};

template <typename T>
void RegisterForType(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  constexpr KernelCost kCost = KernelCost::kExpensive;
  MustRegister(
      r, {.op = "ReduceSum",
          .dtype = dt,
          .factory = MakeKernelFactory<ReduceKernel<T, Reduction::kSum>>(),
          .cost = kCost});
  MustRegister(
      r, {.op = "ReduceMean",
          .dtype = dt,
          .factory = MakeKernelFactory<ReduceKernel<T, Reduction::kMean>>(),
          .cost = kCost});
  MustRegister(r, {.op = "ReduceMax",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ReduceExtremeKernel<T, true>>(),
                   .cost = kCost});
  MustRegister(r,
               {.op = "ReduceMin",
                .dtype = dt,
                .factory = MakeKernelFactory<ReduceExtremeKernel<T, false>>(),
                .cost = kCost});
  MustRegister(r, {.op = "ReduceProd",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ReduceProdKernel<T>>(),
                   .cost = kCost});
  MustRegister(r, {.op = "ArgMax",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ArgExtremeKernel<T, true>>(),
                   .cost = kCost});
  MustRegister(r, {.op = "ArgMin",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ArgExtremeKernel<T, false>>(),
                   .cost = kCost});
  MustRegister(r, {.op = "CumSum",
                   .dtype = dt,
                   .factory = MakeKernelFactory<CumSumKernel<T>>(),
                   .cost = kCost});
}

}  // namespace

absl::StatusOr<std::vector<int>> ReadAxes(const OpKernelConstruction& c) {
  std::vector<int64_t> axes;
  if (absl::Status s = c.GetAttr("axes", &axes); !s.ok()) return s;
  return NormalizeAxes(axes, c.input_shape(0).rank());
}

void RegisterReduceKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterForType<T>(registry); });
}

}  // namespace kernels_internal
}  // namespace weft
