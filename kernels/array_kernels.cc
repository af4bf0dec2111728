// The array family's kernels (ops defined in graph/array_ops.cc): those that
// produce, forward or rearrange arrays without arithmetic — Const,
// Placeholder, Identity, Reshape, Cast, Split, Transpose, Concat, Slice and
// Gather — for the numeric dtypes and bool.
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

// The value is read from the attr once, when the plan is compiled.
class ConstKernel : public OpKernel {
 public:
  explicit ConstKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("value", &value_));
    if (c.status().ok() && !value_.valid()) {
      c.SetStatus(absl::InvalidArgumentError("Const of an empty NDArray"));
    }
  }
  absl::Status Compute(OpKernelContext& ctx) const override {
    ctx.set_output(0, value_);  // Shares the buffer: NDArrays are immutable.
    return absl::OkStatus();
  }

 private:
  NDArray value_;
};

absl::Status PlaceholderKernel(OpKernelContext&) {
  return absl::InvalidArgumentError("placeholder was not fed");
}

absl::Status IdentityKernel(OpKernelContext& ctx) {
  ctx.forward_input(0, 0);
  return absl::OkStatus();
}

// The target shape is read once; its -1 is resolved per run against the
// actual input by ResolveReshape, the same function inference uses.
class ReshapeKernel : public OpKernel {
 public:
  explicit ReshapeKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("shape", &target_));
  }
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& in = ctx.input(0);
    absl::StatusOr<Shape> shape = ResolveReshape(in.shape(), target_);
    if (!shape.ok()) return shape.status();
    absl::StatusOr<NDArray> out = in.Reshaped(*std::move(shape));
    if (!out.ok()) return out.status();
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  Shape target_;
};

// Split: num_splits equal parts along the axis, one per output. Parsed once.
template <typename T>
class SplitKernel : public OpKernel {
 public:
  explicit SplitKernel(OpKernelConstruction& c) : OpKernel(c) {
    int64_t axis = 0;
    c.SetStatus(c.GetAttr("num_splits", &num_splits_));
    c.SetStatus(c.GetAttr("axis", &axis));
    if (!c.status().ok()) return;
    absl::StatusOr<int> a =
        NormalizeAxis(axis, c.input_shape(0).rank(), "Split axis");
    if (!a.ok()) {
      c.SetStatus(a.status());
      return;
    }
    axis_ = *a;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& in = ctx.input(0);
    const Shape& shape = in.shape();
    if (shape.rank() <= axis_ || shape.dim(axis_) % num_splits_ != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Split cannot divide ", shape.DebugString(), " into ",
                       num_splits_, " equal parts along axis ", axis_));
    }
    std::vector<int64_t> dims = shape.dims();
    const int64_t part = dims[axis_] / num_splits_;
    dims[axis_] = part;
    // Row-major: `outer` blocks, each `part * inner` elements per output.
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis_; ++i) outer *= shape.dim(i);
    for (int i = axis_ + 1; i < shape.rank(); ++i) inner *= shape.dim(i);
    const int64_t chunk = part * inner;
    const T* src = in.values<T>().data();
    for (int k = 0; k < num_splits_; ++k) {
      absl::StatusOr<NDArray> out = ctx.allocate_output(k, Shape(dims));
      if (!out.ok()) return out.status();
      T* dst = out->mutable_data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        const T* from = src + (o * num_splits_ + k) * chunk;
        std::copy(from, from + chunk, dst + o * chunk);
      }
      ctx.set_output(k, *std::move(out));
    }
    return absl::OkStatus();
  }

 private:
  int64_t num_splits_ = 1;
  int axis_ = 0;
};

// Converts one value. To bool is x != 0. Floating to integer truncates toward
// zero, saturates at the integer type's range, and maps NaN to 0 (a plain
// static_cast would be undefined behavior out of range).
template <typename To, typename From>
To ConvertValue(From x) {
  if constexpr (std::is_same_v<To, bool>) {
    return x != From{0};
  } else if constexpr (std::is_floating_point_v<From> &&
                       std::is_integral_v<To>) {
    if (std::isnan(x)) return To{0};
    // Both bounds are powers of two, so they are exact in From.
    constexpr From kLow = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From kHighExclusive = -kLow;
    if (x <= kLow) return std::numeric_limits<To>::min();
    if (x >= kHighExclusive) return std::numeric_limits<To>::max();
    return static_cast<To>(x);
  } else {
    return static_cast<To>(x);
  }
}

template <typename To, typename From>
void CastTo(const NDArray& in, NDArray& out_array) {
  const From* src = in.values<From>().data();
  To* dst = out_array.mutable_data<To>();
  ForRange(in.num_elements(), [src, dst](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = ConvertValue<To>(src[i]);
    return 0;
  });
}

// Cast: the target dtype is read once, when the plan is compiled.
template <typename From>
class CastKernel : public OpKernel {
 public:
  explicit CastKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("dtype", &to_));
  }
  absl::Status Compute(OpKernelContext& ctx) const override;

 private:
  DType to_ = DType::kFloat32;
};

template <typename From>
absl::Status CastKernel<From>::Compute(OpKernelContext& ctx) const {
  const NDArray& in = ctx.input(0);
  if (to_ == in.dtype()) {  // Nothing to convert: forward the buffer.
    ctx.set_output(0, ctx.release_input(0));
    return absl::OkStatus();
  }
  absl::StatusOr<NDArray> allocated = ctx.allocate_output(0, in.shape());
  if (!allocated.ok()) return allocated.status();
  NDArray& out = *allocated;
  switch (to_) {
    case DType::kFloat32:
      CastTo<float, From>(in, out);
      break;
    case DType::kFloat64:
      CastTo<double, From>(in, out);
      break;
    case DType::kInt32:
      CastTo<int32_t, From>(in, out);
      break;
    case DType::kInt64:
      CastTo<int64_t, From>(in, out);
      break;
    case DType::kBool:
      CastTo<bool, From>(in, out);
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "Cast to an invalid dtype (", static_cast<int>(to_), ")"));
  }
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

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
  MustRegister(r, {.op = "Const",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ConstKernel>()});
  MustRegister(r, {.op = "Placeholder",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(PlaceholderKernel)});
  MustRegister(r, {.op = "Identity",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(IdentityKernel)});
  MustRegister(r, {.op = "Reshape",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ReshapeKernel>()});
  MustRegister(r, {.op = "Cast",
                   .dtype = dt,
                   .factory = MakeKernelFactory<CastKernel<T>>()});
  MustRegister(r, {.op = "Split",
                   .dtype = dt,
                   .factory = MakeKernelFactory<SplitKernel<T>>()});
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

void RegisterArrayKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterForType<T>(registry); });
  RegisterForType<bool>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
