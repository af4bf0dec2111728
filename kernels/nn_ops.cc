// Portable kernels of the model ops: Softmax and LogSoftmax (any axis;
// float32/float64), ReduceMax and ArgMax (numeric), and the rearranging ops
// Transpose, Concat, Slice and Gather (numeric and bool). fast_kernels.cc
// overrides Softmax/LogSoftmax over the last axis with Highway.
//
// Every shape fact inference checked at build time is checked again here
// against the actual arrays (fed shapes may have been unknown), so a bad
// input is a clean error, never an out-of-bounds access.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/shape_util.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

std::string ListString(const std::vector<int64_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ","), "]");
}

// The product of dims [begin, end) of `s`.
int64_t DimProduct(const Shape& s, int begin, int end) {
  int64_t p = 1;
  for (int i = begin; i < end; ++i) p *= s.dim(i);
  return p;
}

// Reads the int64 attr "axis" and normalizes it against input 0's rank.
int ReadAxis(OpKernelConstruction& c, std::string_view what) {
  int64_t axis = 0;
  if (absl::Status s = c.GetAttr("axis", &axis); !s.ok()) {
    c.SetStatus(s);
    return 0;
  }
  absl::StatusOr<int> a = NormalizeAxis(axis, c.input_shape(0).rank(), what);
  if (!a.ok()) {
    c.SetStatus(a.status());
    return 0;
  }
  return *a;
}

// Checks that the input's rank is the one the plan was compiled for.
absl::Status CheckRank(const NDArray& x, int axis, std::string_view op) {
  if (x.shape().rank() <= axis) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, " axis ", axis, " is out of range for the fed ",
                     DTypeName(x.dtype()), x.shape().DebugString()));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------- Softmax --

// out = softmax (or log-softmax) of x along an axis of length `len`, for
// every (outer, inner) position; computed from x - max in double.
template <typename T, bool kLog>
void SoftmaxStrided(const T* x, T* out, int64_t outer, int64_t len,
                    int64_t inner) {
  ParallelItems(outer * inner, len * 3, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t o = p / inner, i = p % inner;
      const T* xs = x + o * len * inner + i;
      T* os = out + o * len * inner + i;
      T max = xs[0];
      for (int64_t j = 1; j < len; ++j) {
        const T v = xs[j * inner];
        if (v > max || v != v) max = v;
        if (max != max) break;
      }
      double sum = 0;
      for (int64_t j = 0; j < len; ++j) {
        sum += std::exp(static_cast<double>(xs[j * inner]) - max);
      }
      if constexpr (kLog) {
        const double log_sum = std::log(sum);
        for (int64_t j = 0; j < len; ++j) {
          os[j * inner] = static_cast<T>(static_cast<double>(xs[j * inner]) -
                                         max - log_sum);
        }
      } else {
        const double inv = 1.0 / sum;
        for (int64_t j = 0; j < len; ++j) {
          os[j * inner] = static_cast<T>(
              std::exp(static_cast<double>(xs[j * inner]) - max) * inv);
        }
      }
    }
  });
}

template <typename T, bool kLog>
class SoftmaxKernel : public OpKernel {
 public:
  explicit SoftmaxKernel(OpKernelConstruction& c)
      : OpKernel(c),
        axis_(ReadAxis(c, kLog ? "LogSoftmax axis" : "Softmax axis")) {}

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    if (absl::Status s = CheckRank(x, axis_, kLog ? "LogSoftmax" : "Softmax");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, x.shape());
    if (!out.ok()) return out.status();
    const Shape& s = x.shape();
    const int64_t len = s.dim(axis_);
    if (x.num_elements() > 0) {
      SoftmaxStrided<T, kLog>(x.values<T>().data(), out->mutable_data<T>(),
                              DimProduct(s, 0, axis_), len,
                              DimProduct(s, axis_ + 1, s.rank()));
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  const int axis_;
};

// ------------------------------------------------------------ ReduceMax --

// The larger of acc and x; NaN sticks.
template <typename T>
T MaxOf(T acc, T x) {
  return (x > acc || x != x) && acc == acc ? x : acc;
}

// Rows shorter than this are reduced in a plain loop.
constexpr int64_t kMinVectorRow = 64;

template <typename T>
class ReduceMaxKernel : public OpKernel {
 public:
  explicit ReduceMaxKernel(OpKernelConstruction& c) : OpKernel(c) {
    absl::StatusOr<std::vector<int>> axes = ReadAxes(c);
    if (!axes.ok()) {
      c.SetStatus(axes.status());
      return;
    }
    axes_ = *std::move(axes);
    if (c.node().attrs().contains("keep_dims")) {
      c.SetStatus(c.GetAttr("keep_dims", &keep_dims_));
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    if (!axes_.empty() && in.rank() <= axes_.back()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ReduceMax axes do not fit the fed ", in.DebugString()));
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
      return absl::InvalidArgumentError(
          absl::StrCat("ReduceMax over zero elements: ", DTypeName(x.dtype()),
                       in.DebugString(),
                       " has an empty reduced axis, so there is no maximum"));
    }
    T* po = out->mutable_data<T>();
    const T* pi = x.values<T>().data();
    constexpr T kLowest = std::numeric_limits<T>::has_infinity
                              ? -std::numeric_limits<T>::infinity()
                              : std::numeric_limits<T>::lowest();
    // Trailing axes reduced: contiguous rows, in parallel; rows of at least
    // kMinVectorRow elements through Highway's runtime-dispatched cpu::Max
    // (NaN sticks there too), shorter ones in a loop (a checked, dispatched
    // call per short row would cost more than the row).
    int first_reduced = in.rank();
    while (first_reduced > 0 && reduced[first_reduced - 1]) --first_reduced;
    bool trailing = true;
    for (int i = 0; i < first_reduced; ++i) trailing = trailing && !reduced[i];
    if (trailing) {
      const int64_t len = reduced_count;
      std::atomic<bool> failed{false};
      ParallelItems(out_count, len, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          if (len < kMinVectorRow) {
            T acc = kLowest;
            for (int64_t j = 0; j < len; ++j) acc = MaxOf(acc, pi[r * len + j]);
            po[r] = acc;
            continue;
          }
          absl::StatusOr<T> m = cpu::Max(pi + r * len, len);
          if (!m.ok()) failed.store(true, std::memory_order_relaxed);
          po[r] = m.ok() ? *m : kLowest;
        }
      });
      if (failed.load(std::memory_order_relaxed)) {
        return absl::InternalError("weft::cpu::Max failed on a ReduceMax row");
      }
    } else {
      // General: walk the input in order; each element lands on the output
      // offset of its kept coordinates.
      std::fill(po, po + out_count, kLowest);
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
      const int64_t n = x.num_elements();
      for (int64_t e = 0; e < n; ++e) {
        po[off] = MaxOf(po[off], pi[e]);
        for (int i = rank - 1; i >= 0; --i) {
          off += out_stride[i];
          if (++idx[i] < in.dim(i)) break;
          off -= out_stride[i] * idx[i];
          idx[i] = 0;
        }
      }
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int> axes_;
  bool keep_dims_ = false;
};

// --------------------------------------------------------------- ArgMax --

template <typename T>
class ArgMaxKernel : public OpKernel {
 public:
  explicit ArgMaxKernel(OpKernelConstruction& c)
      : OpKernel(c), axis_(ReadAxis(c, "ArgMax axis")) {}

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    if (absl::Status s = CheckRank(x, axis_, "ArgMax"); !s.ok()) return s;
    const Shape& s = x.shape();
    std::vector<int64_t> dims = s.dims();
    dims.erase(dims.begin() + axis_);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    const int64_t len = s.dim(axis_);
    const int64_t outer = DimProduct(s, 0, axis_);
    const int64_t inner = DimProduct(s, axis_ + 1, s.rank());
    if (len == 0 && outer * inner > 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ArgMax along axis ", axis_, " of ", DTypeName(x.dtype()),
          s.DebugString(), ", which is empty: there is no maximum"));
    }
    const T* pi = x.values<T>().data();
    int64_t* po = out->mutable_data<int64_t>();
    ParallelItems(outer * inner, len, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t o = p / inner, i = p % inner;
        const T* xs = pi + o * len * inner + i;
        T best = xs[0];
        int64_t at = 0;
        for (int64_t j = 1; j < len && best == best; ++j) {
          const T v = xs[j * inner];
          if (v > best || v != v) {
            best = v;
            at = j;
          }
        }
        po[p] = at;
      }
    });
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  const int axis_;
};

// ------------------------------------------------------------ Transpose --

template <typename T>
class TransposeKernel : public OpKernel {
 public:
  explicit TransposeKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("perm", &perm_));
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    const int rank = in.rank();
    if (static_cast<int>(perm_.size()) != rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("Transpose perm ", ListString(perm_),
                       " does not fit the fed ", in.DebugString()));
    }
    std::vector<int64_t> dims(rank), in_stride(rank);
    int64_t run = 1;
    for (int i = rank - 1; i >= 0; --i) {
      in_stride[i] = run;
      run *= in.dim(i);
    }
    for (int i = 0; i < rank; ++i) dims[i] = in.dim(perm_[i]);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    // Trailing axes left in place move as one contiguous block.
    int outer_rank = rank;
    while (outer_rank > 0 && perm_[outer_rank - 1] == outer_rank - 1) {
      --outer_rank;
    }
    const int64_t block = DimProduct(in, outer_rank, rank);
    const int64_t n = x.num_elements();
    const T* src = x.values<T>().data();
    T* dst = out->mutable_data<T>();
    if (n > 0) {
      ParallelItems(n / block, block, [&](int64_t b0, int64_t b1) {
        std::vector<int64_t> idx(outer_rank, 0);
        int64_t rest = b0, from = 0;
        for (int i = outer_rank - 1; i >= 0; --i) {
          idx[i] = rest % dims[i];
          rest /= dims[i];
          from += idx[i] * in_stride[perm_[i]];
        }
        for (int64_t b = b0; b < b1; ++b) {
          std::copy(src + from, src + from + block, dst + b * block);
          for (int i = outer_rank - 1; i >= 0; --i) {
            from += in_stride[perm_[i]];
            if (++idx[i] < dims[i]) break;
            from -= in_stride[perm_[i]] * idx[i];
            idx[i] = 0;
          }
        }
      });
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> perm_;
};

// --------------------------------------------------------------- Concat --

template <typename T>
class ConcatKernel : public OpKernel {
 public:
  explicit ConcatKernel(OpKernelConstruction& c)
      : OpKernel(c), axis_(ReadAxis(c, "Concat axis")) {}

  absl::Status Compute(OpKernelContext& ctx) const override {
    const Shape& first = ctx.input(0).shape();
    if (absl::Status s = CheckRank(ctx.input(0), axis_, "Concat"); !s.ok()) {
      return s;
    }
    std::vector<int64_t> dims = first.dims();
    dims[axis_] = 0;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const Shape& s = ctx.input(i).shape();
      bool match = s.rank() == first.rank();
      for (int d = 0; match && d < s.rank(); ++d) {
        match = d == axis_ || s.dim(d) == first.dim(d);
      }
      if (!match) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Concat input ", i, " is ", s.DebugString(), " but input 0 is ",
            first.DebugString(), "; every dimension except the concat axis ",
            axis_, " must match"));
      }
      dims[axis_] += s.dim(axis_);
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    const int64_t outer = DimProduct(first, 0, axis_);
    const int64_t inner = DimProduct(first, axis_ + 1, first.rank());
    const int64_t out_row = dims[axis_] * inner;
    T* dst = out->mutable_data<T>();
    int64_t col = 0;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const NDArray& in = ctx.input(i);
      const int64_t chunk = in.shape().dim(axis_) * inner;
      const T* src = in.values<T>().data();
      ParallelItems(outer, chunk, [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
          std::copy(src + o * chunk, src + (o + 1) * chunk,
                    dst + o * out_row + col);
        }
      });
      col += chunk;
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  const int axis_;
};

// ---------------------------------------------------------------- Slice --

template <typename T>
class SliceKernel : public OpKernel {
 public:
  explicit SliceKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("begin", &begin_));
    c.SetStatus(c.GetAttr("size", &size_));
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    const int rank = in.rank();
    std::vector<int64_t> dims(rank);
    bool ok = static_cast<int>(begin_.size()) == rank &&
              static_cast<int>(size_.size()) == rank;
    for (int i = 0; ok && i < rank; ++i) {
      const int64_t d = in.dim(i);
      ok = begin_[i] >= 0 && begin_[i] <= d && size_[i] >= -1 &&
           (size_[i] == -1 || size_[i] <= d - begin_[i]);
      if (ok) dims[i] = size_[i] == -1 ? d - begin_[i] : size_[i];
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("Slice begin ", ListString(begin_), " size ",
                       ListString(size_), " is out of bounds for the fed ",
                       DTypeName(x.dtype()), in.DebugString(),
                       "; need 0 <= begin <= dim and begin + size <= dim"));
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    const int64_t n = out->num_elements();
    const T* src = x.values<T>().data();
    T* dst = out->mutable_data<T>();
    if (rank == 0) {
      dst[0] = src[0];
    } else if (n > 0) {
      std::vector<int64_t> in_stride(rank);
      int64_t run = 1;
      for (int i = rank - 1; i >= 0; --i) {
        in_stride[i] = run;
        run *= in.dim(i);
      }
      // Rows of the innermost axis, walked with an odometer over the rest.
      const int64_t row = dims[rank - 1];
      const int64_t rows = n / row;
      std::vector<int64_t> idx(rank - 1, 0);
      int64_t from = 0;
      for (int i = 0; i < rank; ++i) from += begin_[i] * in_stride[i];
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(src + from, src + from + row, dst + r * row);
        for (int i = rank - 2; i >= 0; --i) {
          from += in_stride[i];
          if (++idx[i] < dims[i]) break;
          from -= in_stride[i] * idx[i];
          idx[i] = 0;
        }
      }
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> begin_;
  std::vector<int64_t> size_;
};

// --------------------------------------------------------------- Gather --

template <typename T>
class GatherKernel : public OpKernel {
 public:
  explicit GatherKernel(OpKernelConstruction& c)
      : OpKernel(c), axis_(ReadAxis(c, "Gather axis")) {}

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& params = ctx.input(0);
    const NDArray& indices = ctx.input(1);
    if (absl::Status s = CheckRank(params, axis_, "Gather"); !s.ok()) return s;
    if (indices.dtype() == DType::kInt32) return Run<int32_t>(ctx);
    if (indices.dtype() == DType::kInt64) return Run<int64_t>(ctx);
    return absl::InvalidArgumentError(
        absl::StrCat("Gather indices are ", DTypeName(indices.dtype()),
                     "; they must be int32 or int64"));
  }

 private:
  template <typename I>
  absl::Status Run(OpKernelContext& ctx) const {
    const NDArray& params = ctx.input(0);
    const NDArray& indices = ctx.input(1);
    const Shape& p = params.shape();
    const int64_t len = p.dim(axis_);
    const I* idx = indices.values<I>().data();
    const int64_t count = indices.num_elements();
    for (int64_t j = 0; j < count; ++j) {
      if (idx[j] < 0 || idx[j] >= len) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Gather index ", idx[j], " (element ", j, " of indices ",
            DTypeName(indices.dtype()), indices.shape().DebugString(),
            ") is out of range for axis ", axis_, " of params ",
            DTypeName(params.dtype()), p.DebugString(), " (valid: 0 to ",
            len - 1, ")"));
      }
    }
    std::vector<int64_t> dims(p.dims().begin(), p.dims().begin() + axis_);
    for (int64_t d : indices.shape().dims()) dims.push_back(d);
    for (int i = axis_ + 1; i < p.rank(); ++i) dims.push_back(p.dim(i));
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    const int64_t outer = DimProduct(p, 0, axis_);
    const int64_t inner = DimProduct(p, axis_ + 1, p.rank());
    const T* src = params.values<T>().data();
    T* dst = out->mutable_data<T>();
    if (out->num_elements() > 0) {
      ParallelItems(outer * count, inner, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t o = q / count, j = q % count;
          const T* from =
              src + (o * len + static_cast<int64_t>(idx[j])) * inner;
          std::copy(from, from + inner, dst + q * inner);
        }
      });
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

  const int axis_;
};

template <typename T>
void RegisterForType(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  constexpr KernelCost kCost = KernelCost::kExpensive;
  if constexpr (!std::is_same_v<T, bool>) {
    if constexpr (std::is_floating_point_v<T>) {
      MustRegister(r, {.op = "Softmax",
                       .dtype = dt,
                       .factory = MakeKernelFactory<SoftmaxKernel<T, false>>(),
                       .cost = kCost});
      MustRegister(r, {.op = "LogSoftmax",
                       .dtype = dt,
                       .factory = MakeKernelFactory<SoftmaxKernel<T, true>>(),
                       .cost = kCost});
    }
    MustRegister(r, {.op = "ReduceMax",
                     .dtype = dt,
                     .factory = MakeKernelFactory<ReduceMaxKernel<T>>(),
                     .cost = kCost});
    MustRegister(r, {.op = "ArgMax",
                     .dtype = dt,
                     .factory = MakeKernelFactory<ArgMaxKernel<T>>(),
                     .cost = kCost});
  }
  MustRegister(r, {.op = "Transpose",
                   .dtype = dt,
                   .factory = MakeKernelFactory<TransposeKernel<T>>()});
  MustRegister(r, {.op = "Concat",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ConcatKernel<T>>()});
  MustRegister(r, {.op = "Slice",
                   .dtype = dt,
                   .factory = MakeKernelFactory<SliceKernel<T>>()});
  MustRegister(r, {.op = "Gather",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GatherKernel<T>>()});
}

}  // namespace

void RegisterNnKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterForType<T>(registry); });
  RegisterForType<bool>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
