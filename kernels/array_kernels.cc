// The array family's kernels (ops defined in graph/array_ops.cc): those that
// produce, forward or rearrange arrays without arithmetic — Const,
// Placeholder, Identity, Reshape, Cast, Split, Transpose, Concat, Slice,
// Gather, Tile, BroadcastTo, Pad, GatherElements, ScatterElements, Trilu,
// GatherND, ScatterND — for the numeric dtypes and bool, and the storage
// dtypes uint8, int8 and float16 (no reductions on those); NonZero for
// the numeric dtypes and bool; TopK, Range and Unique for the numeric dtypes;
// Resize for float32/float64.
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
#include <numeric>
#include <string>
#include <string_view>
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

// Calls `run(I{})` with I the element type of `indices`, int32_t or
// int64_t (the index dtypes of Gather, GatherElements, ScatterElements and
// GatherND); any other dtype is kInvalidArgument naming `op`.
template <typename Run>
absl::Status WithIndexType(const NDArray& indices, std::string_view op,
                           Run&& run) {
  if (indices.dtype() == DType::kInt32) return run(int32_t{});
  if (indices.dtype() == DType::kInt64) return run(int64_t{});
  return absl::InvalidArgumentError(
      absl::StrCat(op, " indices are ", DTypeName(indices.dtype()),
                   "; they must be int32 or int64"));
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
    c.SetStatus(c.GetAttr("num_splits", &num_splits_));
    axis_ = ReadAxis(c, "Split axis");
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
    case DType::kUInt8:
      CastTo<uint8_t, From>(in, out);
      break;
    case DType::kInt8:
      CastTo<int8_t, From>(in, out);
      break;
    case DType::kFloat16:
      CastTo<Float16, From>(in, out);
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
    return WithIndexType(indices, "Gather", [&](auto index) {
      return this->template Run<decltype(index)>(ctx);
    });
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
    // Negative indices count from the end (ONNX); any negative one makes
    // a wrapped copy of the indices.
    std::vector<I> wrapped;
    for (int64_t j = 0; j < count; ++j) {
      const int64_t v = static_cast<int64_t>(idx[j]);
      if (v < -len || v >= len) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Gather index ", v, " (element ", j, " of indices ",
            DTypeName(indices.dtype()), indices.shape().DebugString(),
            ") is out of range for axis ", axis_, " of params ",
            DTypeName(params.dtype()), p.DebugString(), " (valid: ", -len,
            " to ", len - 1, ")"));
      }
      if (v < 0 && wrapped.empty()) wrapped.assign(idx, idx + count);
      if (v < 0) wrapped[j] = static_cast<I>(v + len);
    }
    if (!wrapped.empty()) idx = wrapped.data();
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

// ---------------------------------------------------- per-axis gathers --
//
// Tile, BroadcastTo, Pad and nearest Resize all map each output coordinate
// to one input coordinate per axis: out[o0,...,on] = in[t0[o0],...,tn[on]]
// (or `fill` where some t_i[o_i] is -1). AxisGather runs that map row by
// row (rows of the last axis): a row whose source is the previous row's is
// copied from the output, and the last axis runs as copied, repeated or
// filled segments (an integer upsampling by s as s copies of each value).

std::vector<int64_t> RowMajorStrides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> stride(dims.size());
  int64_t run = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    stride[i] = run;
    run *= dims[i];
  }
  return stride;
}

struct AxisRun {
  enum Kind { kFill, kCopy, kRepeat } kind;
  int64_t begin, len, src;
};

template <typename T>
void AxisGather(const T* src, const std::vector<int64_t>& in_dims,
                const std::vector<std::vector<int64_t>>& tables, T fill,
                T* dst) {
  const int rank = static_cast<int>(tables.size());
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const std::vector<int64_t> stride = RowMajorStrides(in_dims);
  const std::vector<int64_t>& last = tables.back();
  const int64_t len = static_cast<int64_t>(last.size());
  int64_t rows = 1;
  for (int i = 0; i + 1 < rank; ++i) {
    rows *= static_cast<int64_t>(tables[i].size());
  }
  if (rows == 0 || len == 0) return;
  // An integer upsampling of the last axis: last[j] == j / s.
  const int64_t in_last = in_dims.back();
  int64_t upsample = 0;
  if (in_last > 0 && len % in_last == 0 && len / in_last >= 2) {
    upsample = len / in_last;
    for (int64_t j = 0; j < len && upsample != 0; ++j) {
      if (last[j] != j / upsample) upsample = 0;
    }
  }
  std::vector<AxisRun> runs;
  for (int64_t j = 0; j < len;) {
    int64_t e = j + 1;
    if (last[j] < 0) {
      while (e < len && last[e] < 0) ++e;
      runs.push_back({AxisRun::kFill, j, e - j, 0});
    } else if (e < len && last[e] == last[j] + 1) {
      while (e < len && last[e] == last[e - 1] + 1) ++e;
      runs.push_back({AxisRun::kCopy, j, e - j, last[j]});
    } else {
      while (e < len && last[e] == last[j]) ++e;
      runs.push_back({AxisRun::kRepeat, j, e - j, last[j]});
    }
    j = e;
  }
  ParallelItems(rows, len, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> idx(rank - 1, 0);
    int64_t rest = r0;
    for (int i = rank - 2; i >= 0; --i) {
      const int64_t n = static_cast<int64_t>(tables[i].size());
      idx[i] = rest % n;
      rest /= n;
    }
    int64_t prev = -2;
    for (int64_t r = r0; r < r1; ++r) {
      int64_t from = 0;
      for (int i = 0; i + 1 < rank && from >= 0; ++i) {
        const int64_t t = tables[i][idx[i]];
        from = t < 0 ? -1 : from + t * stride[i];
      }
      T* out = dst + r * len;
      if (from < 0) {
        std::fill(out, out + len, fill);
      } else if (r > r0 && from == prev) {
        std::copy(out - len, out, out);
      } else if (upsample != 0) {
        const T* in = src + from;
        if (upsample == 2) {
          for (int64_t i = 0; i < in_last; ++i) {
            out[2 * i] = in[i];
            out[2 * i + 1] = in[i];
          }
        } else {
          for (int64_t i = 0; i < in_last; ++i) {
            std::fill(out + i * upsample, out + (i + 1) * upsample, in[i]);
          }
        }
      } else {
        const T* in = src + from;
        for (const AxisRun& run : runs) {
          switch (run.kind) {
            case AxisRun::kFill:
              std::fill(out + run.begin, out + run.begin + run.len, fill);
              break;
            case AxisRun::kCopy:
              std::copy(in + run.src, in + run.src + run.len, out + run.begin);
              break;
            case AxisRun::kRepeat:
              std::fill(out + run.begin, out + run.begin + run.len,
                        in[run.src]);
              break;
          }
        }
      }
      prev = from;
      for (int i = rank - 2; i >= 0; --i) {
        if (++idx[i] < static_cast<int64_t>(tables[i].size())) break;
        idx[i] = 0;
      }
    }
  });
}

// Allocates output 0 of `dims`, fills it with AxisGather and publishes it.
template <typename T>
absl::Status GatherToOutput(OpKernelContext& ctx, const NDArray& x,
                            std::vector<int64_t> dims,
                            const std::vector<std::vector<int64_t>>& tables,
                            std::vector<int64_t> in_dims, T fill) {
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(std::move(dims)));
  if (!out.ok()) return out.status();
  if (out->num_elements() > 0) {
    AxisGather<T>(x.values<T>().data(), in_dims, tables, fill,
                  out->mutable_data<T>());
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

// The product a * b of two dims >= 0, or -1 on overflow.
int64_t CheckedDimProduct(int64_t a, int64_t b) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return -1;
  return a * b;
}

// ----------------------------------------------------------------- Tile --

template <typename T>
class TileKernel : public OpKernel {
 public:
  explicit TileKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("multiples", &multiples_));
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    const int rank = in.rank();
    bool ok = static_cast<int>(multiples_.size()) == rank;
    std::vector<int64_t> dims(rank);
    for (int i = 0; ok && i < rank; ++i) {
      dims[i] =
          multiples_[i] < 0 ? -1 : CheckedDimProduct(in.dim(i), multiples_[i]);
      ok = dims[i] >= 0;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Tile multiples ", ListString(multiples_), " do not fit the fed ",
          DTypeName(x.dtype()), in.DebugString()));
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    if (out->num_elements() > 0) {
      std::vector<std::vector<int64_t>> tables(rank);
      for (int i = 0; i < rank; ++i) {
        tables[i].resize(dims[i]);
        for (int64_t o = 0; o < dims[i]; ++o) tables[i][o] = o % in.dim(i);
      }
      AxisGather<T>(x.values<T>().data(), in.dims(), tables, T{},
                    out->mutable_data<T>());
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> multiples_;
};

// ---------------------------------------------------------- BroadcastTo --

template <typename T>
class BroadcastToKernel : public OpKernel {
 public:
  explicit BroadcastToKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("shape", &shape_));
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    absl::StatusOr<Shape> target = BroadcastShapes(x.shape(), Shape(shape_));
    if (!target.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BroadcastTo cannot broadcast the fed ", DTypeName(x.dtype()),
          x.shape().DebugString(), " to shape ", ListString(shape_), ": ",
          target.status().message()));
    }
    const int rank = target->rank();
    std::vector<int64_t> in_dims(rank - x.shape().rank(), 1);
    for (int64_t d : x.shape().dims()) in_dims.push_back(d);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, *target);
    if (!out.ok()) return out.status();
    if (x.num_elements() == 1) {
      // One value everywhere: no per-axis tables (for a rank-1 target they
      // would be as long as the output).
      const T v = x.values<T>()[0];
      T* o = out->mutable_data<T>();
      ParallelItems(out->num_elements(), 1,
                    [&](int64_t b, int64_t e) { std::fill(o + b, o + e, v); });
    } else if (out->num_elements() > 0) {
      std::vector<std::vector<int64_t>> tables(rank);
      for (int i = 0; i < rank; ++i) {
        tables[i].resize(target->dim(i));
        for (int64_t o = 0; o < target->dim(i); ++o) {
          tables[i][o] = in_dims[i] == 1 ? 0 : o;
        }
      }
      AxisGather<T>(x.values<T>().data(), in_dims, tables, T{},
                    out->mutable_data<T>());
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> shape_;
};

// ------------------------------------------------------------------ Pad --

template <typename T>
class PadKernel : public OpKernel {
 public:
  explicit PadKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("pads", &pads_));
    const AttrMap& attrs = c.node().attrs();
    if (const std::string* m = FindAttr<std::string>(attrs, "mode")) {
      mode_ = *m;
    }
    if (const double* v = FindAttr<double>(attrs, "value")) {
      fill_ = ConvertValue<T>(*v);
    }
    if (mode_ != "constant" && mode_ != "reflect" && mode_ != "edge") {
      c.SetStatus(absl::InvalidArgumentError(
          absl::StrCat("Pad mode '", mode_, "' is not supported")));
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& in = x.shape();
    const int rank = in.rank();
    auto error = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("Pad pads ", ListString(pads_), " (mode ", mode_,
                       ") do not fit the fed ", DTypeName(x.dtype()),
                       in.DebugString(), ": ", why));
    };
    if (static_cast<int64_t>(pads_.size()) != 2 * int64_t{rank}) {
      return error("need 2 * rank entries");
    }
    std::vector<int64_t> dims(rank);
    std::vector<std::vector<int64_t>> tables(rank);
    for (int i = 0; i < rank; ++i) {
      const int64_t b = pads_[i], e = pads_[i + rank];
      const int64_t cb = std::max<int64_t>(-b, 0),
                    ce = std::max<int64_t>(-e, 0);
      const int64_t pb = std::max<int64_t>(b, 0), pe = std::max<int64_t>(e, 0);
      const int64_t kept = in.dim(i) - cb - ce;
      if (kept < 0) return error(absl::StrCat("axis ", i, " is cropped away"));
      if (mode_ == "reflect" && (pb > 0 || pe > 0) &&
          (pb >= kept || pe >= kept)) {
        return error(absl::StrCat("reflect pads at axis ", i,
                                  " must be smaller than its cropped size ",
                                  kept));
      }
      if (mode_ == "edge" && (pb > 0 || pe > 0) && kept == 0) {
        return error(absl::StrCat("axis ", i, " has no edge to repeat"));
      }
      dims[i] = kept + pb + pe;
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    if (out->num_elements() > 0) {
      for (int i = 0; i < rank; ++i) {
        const int64_t cb = std::max<int64_t>(-pads_[i], 0);
        const int64_t pb = std::max<int64_t>(pads_[i], 0);
        const int64_t kept =
            dims[i] - pb - std::max<int64_t>(pads_[i + rank], 0);
        tables[i].resize(dims[i]);
        for (int64_t o = 0; o < dims[i]; ++o) {
          int64_t p = o - pb;
          if (p < 0 || p >= kept) {
            if (mode_ == "constant") {
              tables[i][o] = -1;
              continue;
            }
            if (mode_ == "edge") {
              p = p < 0 ? 0 : kept - 1;
            } else {
              p = p < 0 ? -p : 2 * (kept - 1) - p;
            }
          }
          tables[i][o] = cb + p;
        }
      }
      AxisGather<T>(x.values<T>().data(), in.dims(), tables, fill_,
                    out->mutable_data<T>());
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  std::vector<int64_t> pads_;
  std::string mode_ = "constant";
  T fill_{};
};

// --------------------------------------------------------------- Resize --
//
// Follows ONNX's reference (onnx/backend/test/case/node/resize.py): each
// output coordinate x maps to x_ori in the input; with base = ceil(x_ori) - 1
// and ratio = x_ori - base in (0, 1], nearest picks base or base + 1 by
// nearest_mode, linear weighs base and base + 1 by (1 - ratio, ratio), cubic
// weighs base - 1 .. base + 2 by Keys' kernel with coefficient A. Indices
// outside the input are clamped to its edge (the reference's edge padding);
// with exclude_outside their weights are zeroed and the rest renormalized.
// The interpolation is separable, so it runs one axis at a time (in double).

struct ResizeTaps {
  int taps = 1;
  std::vector<int64_t> index;  // out_size * taps, clamped.
  std::vector<double> weight;  // out_size * taps.
  bool identity = false;
};

class ResizeKernelBase : public OpKernel {
 public:
  explicit ResizeKernelBase(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("sizes", &sizes_));
    const AttrMap& attrs = c.node().attrs();
    if (const NDArray* s = FindAttr<NDArray>(attrs, "scales")) {
      if (!s->valid() || s->dtype() != DType::kFloat64 ||
          s->shape().rank() != 1) {
        c.SetStatus(absl::InvalidArgumentError(
            "Resize scales must be a float64 1-D NDArray"));
        return;
      }
      absl::Span<const double> v = s->values<double>();
      scales_.assign(v.begin(), v.end());
    }
    if (const std::string* m = FindAttr<std::string>(attrs, "mode")) mode_ = *m;
    if (const std::string* m =
            FindAttr<std::string>(attrs, "coordinate_transformation_mode")) {
      ctm_ = *m;
    }
    if (const std::string* m = FindAttr<std::string>(attrs, "nearest_mode")) {
      nearest_mode_ = *m;
    }
    if (const double* a = FindAttr<double>(attrs, "cubic_coeff_a")) a_ = *a;
    if (const bool* e = FindAttr<bool>(attrs, "exclude_outside")) {
      exclude_outside_ = *e;
    }
  }

 protected:
  // The input coordinate of output coordinate x (ONNX's x_ori).
  double Original(int64_t x, int64_t in, double out_width, double scale) const {
    const double xd = static_cast<double>(x);
    if (ctm_ == "align_corners") {
      return out_width == 1
                 ? 0.0
                 : xd * static_cast<double>(in - 1) / (out_width - 1);
    }
    if (ctm_ == "asymmetric") return xd / scale;
    if (ctm_ == "pytorch_half_pixel") {
      return out_width == 1 ? -0.5 : (xd + 0.5) / scale - 0.5;
    }
    if (ctm_ == "tf_half_pixel_for_nn") return (xd + 0.5) / scale;
    return (xd + 0.5) / scale - 0.5;  // half_pixel
  }

  // The taps of one axis resized from `in` to `out` elements.
  ResizeTaps AxisTaps(int axis, int64_t in, int64_t out) const {
    ResizeTaps t;
    const bool has_scale = !scales_.empty();
    const double scale =
        has_scale ? scales_[axis]
                  : static_cast<double>(out) / static_cast<double>(in);
    const double out_width =
        has_scale ? scale * static_cast<double>(in) : static_cast<double>(out);
    t.taps = mode_ == "nearest" ? 1 : mode_ == "linear" ? 2 : 4;
    t.index.resize(out * t.taps);
    t.weight.resize(out * t.taps);
    t.identity = in == out;
    auto clamp = [in](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
    for (int64_t x = 0; x < out; ++x) {
      const double ori = Original(x, in, out_width, scale);
      // Far outside the input every tap clamps to the edge anyway; keep the
      // integer conversion in range.
      const double bounded = std::clamp(ori, -4.0, static_cast<double>(in) + 4);
      const int64_t base = static_cast<int64_t>(std::ceil(bounded)) - 1;
      const double ratio = bounded - static_cast<double>(base);
      int64_t* idx = &t.index[x * t.taps];
      double* w = &t.weight[x * t.taps];
      if (mode_ == "nearest") {
        bool up;
        if (ratio == 1.0) {
          up = true;
        } else if (nearest_mode_ == "round_prefer_ceil") {
          up = ratio >= 0.5;
        } else if (nearest_mode_ == "floor") {
          up = false;
        } else if (nearest_mode_ == "ceil") {
          up = true;
        } else {  // round_prefer_floor
          up = ratio > 0.5;
        }
        idx[0] = clamp(base + (up ? 1 : 0));
        w[0] = 1;
        t.identity = t.identity && idx[0] == x;
        continue;
      }
      double coeff[4];
      int64_t raw[4];
      if (mode_ == "linear") {
        coeff[0] = 1 - ratio;
        coeff[1] = ratio;
        raw[0] = base;
        raw[1] = base + 1;
      } else {
        const double a = a_, r1 = ratio + 1, r = ratio, s = 1 - ratio,
                     s1 = 2 - ratio;
        coeff[0] = ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a;
        coeff[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
        coeff[2] = ((a + 2) * s - (a + 3)) * s * s + 1;
        coeff[3] = ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a;
        for (int k = 0; k < 4; ++k) raw[k] = base - 1 + k;
      }
      if (exclude_outside_) {
        double sum = 0;
        for (int k = 0; k < t.taps; ++k) {
          if (raw[k] < 0 || raw[k] >= in) coeff[k] = 0;
          sum += coeff[k];
        }
        if (sum != 0) {
          for (int k = 0; k < t.taps; ++k) coeff[k] /= sum;
        }
      }
      double on_x = 0;
      for (int k = 0; k < t.taps; ++k) {
        idx[k] = clamp(raw[k]);
        w[k] = coeff[k];
        if (idx[k] == x) {
          on_x += w[k];
        } else if (w[k] != 0) {
          t.identity = false;
        }
      }
      if (on_x != 1.0) t.identity = false;
    }
    return t;
  }

  absl::Status CheckInput(const NDArray& x) const {
    const Shape& in = x.shape();
    bool ok =
        static_cast<int>(sizes_.size()) == in.rank() &&
        (scales_.empty() || static_cast<int>(scales_.size()) == in.rank());
    for (int i = 0; ok && i < in.rank(); ++i) {
      ok = sizes_[i] >= 0 && (in.dim(i) > 0 || sizes_[i] == 0) &&
           (scales_.empty() || (std::isfinite(scales_[i]) && scales_[i] > 0));
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Resize sizes ", ListString(sizes_), " do not fit the fed ",
          DTypeName(x.dtype()), in.DebugString()));
    }
    return absl::OkStatus();
  }

  std::vector<int64_t> sizes_;
  std::vector<double> scales_;
  std::string mode_ = "nearest";
  std::string ctm_ = "half_pixel";
  std::string nearest_mode_ = "round_prefer_floor";
  double a_ = -0.75;
  bool exclude_outside_ = false;
};

template <typename T>
class ResizeKernel : public ResizeKernelBase {
 public:
  using ResizeKernelBase::ResizeKernelBase;

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    if (absl::Status s = CheckInput(x); !s.ok()) return s;
    const Shape& in = x.shape();
    const int rank = in.rank();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(sizes_));
    if (!out.ok()) return out.status();
    if (out->num_elements() == 0) {
      ctx.set_output(0, *std::move(out));
      return absl::OkStatus();
    }
    std::vector<ResizeTaps> taps(rank);
    for (int i = 0; i < rank; ++i) taps[i] = AxisTaps(i, in.dim(i), sizes_[i]);
    const T* src = x.values<T>().data();
    T* dst = out->mutable_data<T>();
    if (mode_ == "nearest") {
      std::vector<std::vector<int64_t>> tables(rank);
      for (int i = 0; i < rank; ++i) tables[i] = std::move(taps[i].index);
      AxisGather<T>(src, in.dims(), tables, T{}, dst);
      ctx.set_output(0, *std::move(out));
      return absl::OkStatus();
    }
    // Separable passes in double, the most shrinking axis first.
    std::vector<int> axes;
    for (int i = 0; i < rank; ++i) {
      if (!taps[i].identity) axes.push_back(i);
    }
    std::stable_sort(axes.begin(), axes.end(), [&](int a, int b) {
      return sizes_[a] * in.dim(b) < sizes_[b] * in.dim(a);
    });
    std::vector<int64_t> dims = in.dims();
    std::vector<double> cur(src, src + x.num_elements());
    std::vector<double> next;
    for (int axis : axes) {
      const ResizeTaps& t = taps[axis];
      const int64_t outer = DimProduct(Shape(dims), 0, axis);
      const int64_t inner = DimProduct(Shape(dims), axis + 1, rank);
      const int64_t in_a = dims[axis], out_a = sizes_[axis];
      next.assign(outer * out_a * inner, 0.0);
      const double* from = cur.data();
      double* to = next.data();
      ParallelItems(outer * out_a, inner * t.taps, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t o = q / out_a, xo = q % out_a;
          double* row = to + q * inner;
          for (int k = 0; k < t.taps; ++k) {
            const double w = t.weight[xo * t.taps + k];
            if (w == 0) continue;
            const double* in_row =
                from + (o * in_a + t.index[xo * t.taps + k]) * inner;
            for (int64_t i = 0; i < inner; ++i) row[i] += w * in_row[i];
          }
        }
      });
      cur.swap(next);
      dims[axis] = out_a;
    }
    for (int64_t i = 0; i < out->num_elements(); ++i) {
      dst[i] = static_cast<T>(cur[i]);
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }
};

// ------------------------------------ GatherElements / ScatterElements --

// The element `j` of `indices` wrapped into [0, len), or an error naming it.
template <typename I>
absl::Status CheckIndex(I raw, int64_t j, int64_t len, std::string_view op,
                        const NDArray& indices, int axis, const NDArray& data,
                        int64_t* wrapped) {
  const int64_t v = static_cast<int64_t>(raw);
  if (v < -len || v >= len) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, " index ", v, " (element ", j, " of indices ",
                     DTypeName(indices.dtype()), indices.shape().DebugString(),
                     ") is out of range for axis ", axis, " of data ",
                     DTypeName(data.dtype()), data.shape().DebugString(),
                     " (valid: ", -len, " to ", len - 1, ")"));
  }
  *wrapped = v < 0 ? v + len : v;
  return absl::OkStatus();
}

// For each element of `indices` (shape S, data's rank), the flat offset into
// `data` it addresses along `axis` (negative indices wrap).
template <typename I>
absl::StatusOr<std::vector<int64_t>> ElementOffsets(const NDArray& data,
                                                    const NDArray& indices,
                                                    int axis,
                                                    std::string_view op) {
  const Shape& d = data.shape();
  const Shape& s = indices.shape();
  bool ok = s.rank() == d.rank() && axis < d.rank();
  for (int i = 0; ok && i < d.rank(); ++i) {
    ok = i == axis || s.dim(i) <= d.dim(i);
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, " indices ", DTypeName(indices.dtype()), s.DebugString(),
        " do not fit data ", DTypeName(data.dtype()), d.DebugString(),
        " at axis ", axis,
        "; indices need data's rank and, along every other axis, at most "
        "data's size"));
  }
  const int rank = d.rank();
  const std::vector<int64_t> stride = RowMajorStrides(d.dims());
  const int64_t n = indices.num_elements();
  const I* idx = indices.values<I>().data();
  std::vector<int64_t> offsets(n);
  std::vector<int64_t> pos(rank, 0);
  for (int64_t j = 0; j < n; ++j) {
    int64_t wrapped = 0;
    if (absl::Status st = CheckIndex(idx[j], j, d.dim(axis), op, indices, axis,
                                     data, &wrapped);
        !st.ok()) {
      return st;
    }
    int64_t off = 0;
    for (int i = 0; i < rank; ++i) {
      off += (i == axis ? wrapped : pos[i]) * stride[i];
    }
    offsets[j] = off;
    for (int i = rank - 1; i >= 0; --i) {
      if (++pos[i] < s.dim(i)) break;
      pos[i] = 0;
    }
  }
  return offsets;
}

template <typename T>
class GatherElementsKernel : public OpKernel {
 public:
  explicit GatherElementsKernel(OpKernelConstruction& c)
      : OpKernel(c), axis_(ReadAxis(c, "GatherElements axis", 0)) {}

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& indices = ctx.input(1);
    return WithIndexType(indices, "GatherElements", [&](auto index) {
      return this->template Run<decltype(index)>(ctx);
    });
  }

 private:
  template <typename I>
  absl::Status Run(OpKernelContext& ctx) const {
    const NDArray& data = ctx.input(0);
    const NDArray& indices = ctx.input(1);
    absl::StatusOr<std::vector<int64_t>> offsets =
        ElementOffsets<I>(data, indices, axis_, "GatherElements");
    if (!offsets.ok()) return offsets.status();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, indices.shape());
    if (!out.ok()) return out.status();
    const T* src = data.values<T>().data();
    T* dst = out->mutable_data<T>();
    const std::vector<int64_t>& off = *offsets;
    ForRange(static_cast<int64_t>(off.size()), [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) dst[j] = src[off[j]];
      return 0;
    });
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

  int axis_ = 0;
};

// ScatterElements' and ScatterND's "reduction": "none" (replace) for
// every dtype, "add" and "mul" for the numeric ones.
enum class ScatterReduction { kNone, kAdd, kMul };

template <typename T>
ScatterReduction ReadScatterReduction(OpKernelConstruction& c,
                                      std::string_view op) {
  std::string r = "none";
  if (const std::string* v =
          FindAttr<std::string>(c.node().attrs(), "reduction")) {
    r = *v;
  }
  constexpr bool kNumeric = IsNumeric(DTypeOf<T>::value);
  if (r == "none") return ScatterReduction::kNone;
  if (kNumeric && r == "add") return ScatterReduction::kAdd;
  if (kNumeric && r == "mul") return ScatterReduction::kMul;
  c.SetStatus(absl::InvalidArgumentError(
      absl::StrCat(op, " reduction '", r, "' on ", DTypeName(DTypeOf<T>::value),
                   " is not supported")));
  return ScatterReduction::kNone;
}

// to = from, to + from or to * from; integers wrap (like Add / Mul) instead
// of overflowing.
template <typename T>
void ScatterInto(ScatterReduction r, T& to, T from) {
  if constexpr (!IsNumeric(DTypeOf<T>::value)) {
    to = from;  // ReadScatterReduction allows only kNone here.
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    const U a = static_cast<U>(to), b = static_cast<U>(from);
    to = r == ScatterReduction::kNone  ? from
         : r == ScatterReduction::kAdd ? static_cast<T>(static_cast<U>(a + b))
                                       : static_cast<T>(static_cast<U>(a * b));
  } else {
    to = r == ScatterReduction::kNone  ? from
         : r == ScatterReduction::kAdd ? to + from
                                       : to * from;
  }
}

template <typename T>
class ScatterElementsKernel : public OpKernel {
 public:
  explicit ScatterElementsKernel(OpKernelConstruction& c)
      : OpKernel(c), reduction_(ReadScatterReduction<T>(c, "ScatterElements")) {
    axis_ = ReadAxis(c, "ScatterElements axis", 0);
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& indices = ctx.input(1);
    return WithIndexType(indices, "ScatterElements", [&](auto index) {
      return this->template Run<decltype(index)>(ctx);
    });
  }

 private:
  template <typename I>
  absl::Status Run(OpKernelContext& ctx) const {
    const NDArray& data = ctx.input(0);
    const NDArray& indices = ctx.input(1);
    const NDArray& updates = ctx.input(2);
    if (updates.shape() != indices.shape() || updates.dtype() != data.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ScatterElements updates ", DTypeName(updates.dtype()),
          updates.shape().DebugString(), " must match indices' shape ",
          indices.shape().DebugString(), " and data's dtype ",
          DTypeName(data.dtype())));
    }
    absl::StatusOr<std::vector<int64_t>> offsets =
        ElementOffsets<I>(data, indices, axis_, "ScatterElements");
    if (!offsets.ok()) return offsets.status();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, data.shape());
    if (!out.ok()) return out.status();
    const T* src = data.values<T>().data();
    T* dst = out->mutable_data<T>();
    std::copy(src, src + data.num_elements(), dst);
    const T* upd = updates.values<T>().data();
    const std::vector<int64_t>& off = *offsets;
    const int64_t n = static_cast<int64_t>(off.size());
    for (int64_t j = 0; j < n; ++j)
      ScatterInto(reduction_, dst[off[j]], upd[j]);
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

  ScatterReduction reduction_;
  int axis_ = 0;
};

// ---------------------------------------------------------------- Trilu --

template <typename T>
class TriluKernel : public OpKernel {
 public:
  explicit TriluKernel(OpKernelConstruction& c) : OpKernel(c) {
    const AttrMap& attrs = c.node().attrs();
    if (const bool* u = FindAttr<bool>(attrs, "upper")) upper_ = *u;
    if (const int64_t* k = FindAttr<int64_t>(attrs, "k")) k_ = *k;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& s = x.shape();
    if (s.rank() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("Trilu takes a tensor of rank >= 2, got the fed ",
                       DTypeName(x.dtype()), s.DebugString()));
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, s);
    if (!out.ok()) return out.status();
    const int64_t rows = s.dim(s.rank() - 2), cols = s.dim(s.rank() - 1);
    const int64_t total_rows =
        rows == 0 ? 0 : x.num_elements() / std::max<int64_t>(cols, 1);
    const T* src = x.values<T>().data();
    T* dst = out->mutable_data<T>();
    if (cols > 0) {
      ParallelItems(total_rows, cols, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t i = r % rows;
          // Kept columns: j >= i + k (upper) or j <= i + k (lower).
          const int64_t k = std::clamp<int64_t>(k_, -rows - cols, rows + cols);
          const int64_t edge =
              std::clamp<int64_t>(upper_ ? i + k : i + k + 1, 0, cols);
          const T* in = src + r * cols;
          T* o = dst + r * cols;
          if (upper_) {
            std::fill(o, o + edge, T{});
            std::copy(in + edge, in + cols, o + edge);
          } else {
            std::copy(in, in + edge, o);
            std::fill(o + edge, o + cols, T{});
          }
        }
      });
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  bool upper_ = true;
  int64_t k_ = 0;
};

// ----------------------------------------------------------------- TopK --

// a > b with NaN above every number (ties and NaN vs NaN are not greater).
template <typename T>
bool TopKGreater(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

template <typename T>
class TopKKernel : public OpKernel {
 public:
  explicit TopKKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(c.GetAttr("k", &k_));
    if (const bool* l = FindAttr<bool>(c.node().attrs(), "largest")) {
      largest_ = *l;
    }
    axis_ = ReadAxis(c, "TopK axis", -1);
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& s = x.shape();
    if (absl::Status st = CheckRank(x, axis_, "TopK"); !st.ok()) return st;
    const int64_t n = s.dim(axis_);
    if (k_ < 0 || k_ > n) {
      return absl::InvalidArgumentError(
          absl::StrCat("TopK k ", k_, " is out of range for axis ", axis_,
                       " of the fed ", DTypeName(x.dtype()), s.DebugString(),
                       "; need 0 <= k <= the axis size"));
    }
    std::vector<int64_t> dims = s.dims();
    dims[axis_] = k_;
    absl::StatusOr<NDArray> values = ctx.allocate_output(0, Shape(dims));
    if (!values.ok()) return values.status();
    absl::StatusOr<NDArray> indices = ctx.allocate_output(1, Shape(dims));
    if (!indices.ok()) return indices.status();
    const int64_t outer = DimProduct(s, 0, axis_);
    const int64_t inner = DimProduct(s, axis_ + 1, s.rank());
    const T* src = x.values<T>().data();
    T* out_v = values->mutable_data<T>();
    int64_t* out_i = indices->mutable_data<int64_t>();
    if (k_ > 0 && outer * inner > 0) {
      ParallelItems(outer * inner, n * 4, [&](int64_t l0, int64_t l1) {
        std::vector<int64_t> order(n);
        for (int64_t lane = l0; lane < l1; ++lane) {
          const int64_t o = lane / inner, i = lane % inner;
          const T* in = src + o * n * inner + i;
          for (int64_t j = 0; j < n; ++j) order[j] = j;
          auto before = [&](int64_t a, int64_t b) {
            const T va = in[a * inner], vb = in[b * inner];
            if (largest_) {
              if (TopKGreater(va, vb)) return true;
              if (TopKGreater(vb, va)) return false;
            } else {
              if (TopKGreater(vb, va)) return true;
              if (TopKGreater(va, vb)) return false;
            }
            return a < b;
          };
          std::partial_sort(order.begin(), order.begin() + k_, order.end(),
                            before);
          for (int64_t j = 0; j < k_; ++j) {
            const int64_t at = (o * k_ + j) * inner + i;
            out_v[at] = in[order[j] * inner];
            out_i[at] = order[j];
          }
        }
      });
    }
    ctx.set_output(0, *std::move(values));
    ctx.set_output(1, *std::move(indices));
    return absl::OkStatus();
  }

 private:
  int64_t k_ = 0;
  int axis_ = 0;
  bool largest_ = true;
};

// ------------------------------------------------------ ScatterND, NonZero --

// GatherND's and ScatterND's addressing (the caller checked the shapes):
// the last dim m of `indices` indexes data's axes b .. b + m - 1, after b
// batch dims the two share; the flat offset into `data` of each index
// tuple. Negative indices wrap; one out of range is an error naming `op`.
template <typename I>
absl::StatusOr<std::vector<int64_t>> TupleOffsets(const NDArray& data,
                                                  const NDArray& indices,
                                                  int64_t b, int64_t m,
                                                  std::string_view op) {
  const Shape& d = data.shape();
  const Shape& s = indices.shape();
  const int64_t batch_size = DimProduct(d, static_cast<int>(b), d.rank());
  const int64_t tuples = DimProduct(s, 0, s.rank() - 1);
  const int64_t per_batch = DimProduct(s, static_cast<int>(b), s.rank() - 1);
  const std::vector<int64_t> stride = RowMajorStrides(d.dims());
  const I* idx = indices.values<I>().data();
  std::vector<int64_t> offsets(tuples);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = per_batch == 0 ? 0 : (t / per_batch) * batch_size;
    for (int64_t j = 0; j < m; ++j) {
      const int axis = static_cast<int>(b + j);
      int64_t wrapped = 0;
      if (absl::Status st = CheckIndex(idx[t * m + j], t * m + j, d.dim(axis),
                                       op, indices, axis, data, &wrapped);
          !st.ok()) {
        return st;
      }
      off += wrapped * stride[axis];
    }
    offsets[t] = off;
  }
  return offsets;
}

// ScatterND: a copy of data, then each updates slice written (or added,
// multiplied) in order, so the last duplicate index wins.
template <typename T>
class ScatterNDKernel : public OpKernel {
 public:
  explicit ScatterNDKernel(OpKernelConstruction& c)
      : OpKernel(c), reduction_(ReadScatterReduction<T>(c, "ScatterND")) {}

  absl::Status Compute(OpKernelContext& ctx) const override {
    return WithIndexType(ctx.input(1), "ScatterND", [&](auto index) {
      return this->template Run<decltype(index)>(ctx);
    });
  }

 private:
  template <typename I>
  absl::Status Run(OpKernelContext& ctx) const {
    const NDArray& data = ctx.input(0);
    const NDArray& indices = ctx.input(1);
    const NDArray& updates = ctx.input(2);
    const Shape& d = data.shape();
    const Shape& s = indices.shape();
    const int64_t k = s.rank() == 0 ? 0 : s.dim(s.rank() - 1);
    if (k < 1 || k > d.rank()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ScatterND indices ", DTypeName(indices.dtype()), s.DebugString(),
          " do not fit data ", DTypeName(data.dtype()), d.DebugString()));
    }
    std::vector<int64_t> want(s.dims().begin(), s.dims().end() - 1);
    for (int64_t i = k; i < d.rank(); ++i) want.push_back(d.dim(i));
    if (updates.shape() != Shape(want)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ScatterND updates are ", DTypeName(updates.dtype()),
          updates.shape().DebugString(), " but indices ", s.DebugString(),
          " into data ", d.DebugString(), " need ", Shape(want).DebugString()));
    }
    const int64_t slice = DimProduct(d, static_cast<int>(k), d.rank());
    const int64_t tuples = DimProduct(s, 0, s.rank() - 1);
    absl::StatusOr<std::vector<int64_t>> offsets =
        TupleOffsets<I>(data, indices, 0, k, "ScatterND");
    if (!offsets.ok()) return offsets.status();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, d);
    if (!out.ok()) return out.status();
    T* dst = out->mutable_data<T>();
    const T* src = data.values<T>().data();
    std::copy(src, src + data.num_elements(), dst);
    const T* up = updates.values<T>().data();
    for (int64_t t = 0; t < tuples; ++t) {
      T* to = dst + (*offsets)[t];
      const T* from = up + t * slice;
      for (int64_t i = 0; i < slice; ++i)
        ScatterInto(reduction_, to[i], from[i]);
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

  ScatterReduction reduction_;
};

// NonZero: the row-major positions of the nonzero elements, as [rank,
// count] int64.
template <typename T>
absl::Status NonZeroKernel(OpKernelContext& ctx) {
  const NDArray& x = ctx.input(0);
  const Shape& s = x.shape();
  const int rank = s.rank();
  const T* v = x.values<T>().data();
  const int64_t n = x.num_elements();
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < n; ++i) {
    if (v[i] != T{0}) hits.push_back(i);
  }
  const int64_t count = static_cast<int64_t>(hits.size());
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{rank, count});
  if (!out.ok()) return out.status();
  int64_t* dst = out->mutable_data<int64_t>();
  for (int64_t h = 0; h < count; ++h) {
    int64_t rest = hits[h];
    for (int a = rank - 1; a >= 0; --a) {
      dst[a * count + h] = rest % s.dim(a);
      rest /= s.dim(a);
    }
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

// --------------------------------------------------------------- Unique --

// Unique: slices (single elements without an axis) compared element by
// element, NaNs equal to each other and after every number; a stable sort
// keeps each group's first occurrence first.
template <typename T>
class UniqueKernel : public OpKernel {
 public:
  explicit UniqueKernel(OpKernelConstruction& c) : OpKernel(c) {
    const AttrMap& a = c.node().attrs();
    if (const bool* s = FindAttr<bool>(a, "sorted")) sorted_ = *s;
    if (FindAttr<int64_t>(a, "axis") != nullptr) {
      axis_ = ReadAxis(c, "Unique axis");
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& s = x.shape();
    if (axis_ >= 0) {
      if (absl::Status st = CheckRank(x, axis_, "Unique"); !st.ok()) return st;
    }
    // x as [outer, n, inner]: slice i is x[:, i, :].
    const int64_t n = axis_ >= 0 ? s.dim(axis_) : x.num_elements();
    const int64_t outer = axis_ >= 0 ? DimProduct(s, 0, axis_) : 1;
    const int64_t inner = axis_ >= 0 ? DimProduct(s, axis_ + 1, s.rank()) : 1;
    const T* v = x.values<T>().data();
    auto less = [](T a, T b) {  // NaN after every number, NaNs equal.
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) || std::isnan(b)) return !std::isnan(a);
      }
      return a < b;
    };
    auto compare = [&](int64_t i, int64_t j) {  // -1, 0, 1.
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t k = 0; k < inner; ++k) {
          const T a = v[(o * n + i) * inner + k],
                  b = v[(o * n + j) * inner + k];
          if (less(a, b)) return -1;
          if (less(b, a)) return 1;
        }
      }
      return 0;
    };
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t i, int64_t j) { return compare(i, j) < 0; });
    // Groups of equal slices, in sorted order: first occurrence, count.
    std::vector<int64_t> first, count, group_of(n);
    for (int64_t p = 0; p < n; ++p) {
      if (p == 0 || compare(order[p - 1], order[p]) != 0) {
        first.push_back(order[p]);
        count.push_back(0);
      }
      ++count.back();
      group_of[order[p]] = static_cast<int64_t>(first.size()) - 1;
    }
    const int64_t u = static_cast<int64_t>(first.size());
    // The output order of the groups: sorted, or by first occurrence.
    std::vector<int64_t> rank(u);
    std::iota(rank.begin(), rank.end(), int64_t{0});
    if (!sorted_) {
      std::vector<int64_t> by_first(u);
      std::iota(by_first.begin(), by_first.end(), int64_t{0});
      std::sort(by_first.begin(), by_first.end(),
                [&](int64_t a, int64_t b) { return first[a] < first[b]; });
      for (int64_t r = 0; r < u; ++r) rank[by_first[r]] = r;
    }
    std::vector<int64_t> dims = axis_ >= 0 ? s.dims() : std::vector<int64_t>{};
    if (axis_ >= 0) {
      dims[axis_] = u;
    } else {
      dims = {u};
    }
    absl::StatusOr<NDArray> y = ctx.allocate_output(0, Shape(dims));
    if (!y.ok()) return y.status();
    absl::StatusOr<NDArray> idx = ctx.allocate_output(1, Shape{u});
    if (!idx.ok()) return idx.status();
    absl::StatusOr<NDArray> inv = ctx.allocate_output(2, Shape{n});
    if (!inv.ok()) return inv.status();
    absl::StatusOr<NDArray> cnt = ctx.allocate_output(3, Shape{u});
    if (!cnt.ok()) return cnt.status();
    T* yv = y->mutable_data<T>();
    int64_t* iv = idx->mutable_data<int64_t>();
    int64_t* cv = cnt->mutable_data<int64_t>();
    for (int64_t g = 0; g < u; ++g) {
      const int64_t r = rank[g];
      iv[r] = first[g];
      cv[r] = count[g];
      for (int64_t o = 0; o < outer; ++o) {
        std::copy(v + (o * n + first[g]) * inner,
                  v + (o * n + first[g] + 1) * inner, yv + (o * u + r) * inner);
      }
    }
    int64_t* inv_v = inv->mutable_data<int64_t>();
    for (int64_t i = 0; i < n; ++i) inv_v[i] = rank[group_of[i]];
    ctx.set_output(0, *std::move(y));
    ctx.set_output(1, *std::move(idx));
    ctx.set_output(2, *std::move(inv));
    ctx.set_output(3, *std::move(cnt));
    return absl::OkStatus();
  }

 private:
  bool sorted_ = true;
  int axis_ = -1;  // None: the flattened input.
};

// ------------------------------------------------------------- GatherND --

template <typename T>
class GatherNDKernel : public OpKernel {
 public:
  explicit GatherNDKernel(OpKernelConstruction& c) : OpKernel(c) {
    if (const int64_t* b = FindAttr<int64_t>(c.node().attrs(), "batch_dims")) {
      batch_dims_ = *b;
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& indices = ctx.input(1);
    return WithIndexType(indices, "GatherND", [&](auto index) {
      return this->template Run<decltype(index)>(ctx);
    });
  }

 private:
  template <typename I>
  absl::Status Run(OpKernelContext& ctx) const {
    const NDArray& data = ctx.input(0);
    const NDArray& indices = ctx.input(1);
    const Shape& d = data.shape();
    const Shape& s = indices.shape();
    const int64_t b = batch_dims_;
    bool ok = b >= 0 && b < d.rank() && b < s.rank();
    const int64_t m = ok ? s.dim(s.rank() - 1) : 0;
    ok = ok && m >= 1 && m <= d.rank() - b;
    for (int i = 0; ok && i < b; ++i) ok = d.dim(i) == s.dim(i);
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GatherND indices ", DTypeName(indices.dtype()), s.DebugString(),
          " (batch_dims ", b, ") do not fit data ", DTypeName(data.dtype()),
          d.DebugString()));
    }
    std::vector<int64_t> dims(s.dims().begin(), s.dims().end() - 1);
    for (int64_t i = b + m; i < d.rank(); ++i) dims.push_back(d.dim(i));
    const int64_t slice = DimProduct(d, static_cast<int>(b + m), d.rank());
    const int64_t tuples = DimProduct(s, 0, s.rank() - 1);
    absl::StatusOr<std::vector<int64_t>> found =
        TupleOffsets<I>(data, indices, b, m, "GatherND");
    if (!found.ok()) return found.status();
    const std::vector<int64_t>& offsets = *found;
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape(dims));
    if (!out.ok()) return out.status();
    const T* src = data.values<T>().data();
    T* dst = out->mutable_data<T>();
    if (out->num_elements() > 0) {
      ParallelItems(tuples, slice, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          std::copy(src + offsets[t], src + offsets[t] + slice,
                    dst + t * slice);
        }
      });
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

  int64_t batch_dims_ = 0;
};

// ---------------------------------------------------------------- Range --

template <typename T>
absl::Status RangeKernel(OpKernelContext& ctx) {
  static constexpr const char* kNames[] = {"start", "limit", "delta"};
  T v[3];
  for (int i = 0; i < 3; ++i) {
    const NDArray& a = ctx.input(i);
    if (a.num_elements() != 1 || a.dtype() != DTypeOf<T>::value) {
      return absl::InvalidArgumentError(
          absl::StrCat("Range ", kNames[i], " must be one ",
                       DTypeName(DTypeOf<T>::value), " value, got the fed ",
                       DTypeName(a.dtype()), a.shape().DebugString()));
    }
    v[i] = a.values<T>()[0];
  }
  const T start = v[0], limit = v[1], delta = v[2];
  if (delta == T{0}) {
    return absl::InvalidArgumentError(absl::StrCat("Range delta is 0 (start ",
                                                   start, ", limit ", limit,
                                                   "); it must be non-zero"));
  }
  int64_t n = 0;
  constexpr int64_t kMaxLength = int64_t{1} << 62;
  if constexpr (std::is_floating_point_v<T>) {
    const double len = std::ceil((static_cast<double>(limit) - start) / delta);
    if (std::isnan(len) || len >= static_cast<double>(kMaxLength)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Range from ", start, " to ", limit, " by ", delta,
                       " has no finite length"));
    }
    n = len > 0 ? static_cast<int64_t>(len) : 0;
  } else {
    const __int128 diff = static_cast<__int128>(limit) - start;
    __int128 q = diff / delta;
    if (diff % delta != 0 && ((diff > 0) == (delta > 0))) ++q;
    if (q > kMaxLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Range from ", start, " to ", limit, " by ", delta, " is too long"));
    }
    n = q > 0 ? static_cast<int64_t>(q) : 0;
  }
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{n});
  if (!out.ok()) return out.status();
  T* dst = out->mutable_data<T>();
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      dst[i] = static_cast<T>(static_cast<double>(start) +
                              static_cast<double>(i) * delta);
    } else {
      dst[i] = static_cast<T>(static_cast<__int128>(start) +
                              static_cast<__int128>(i) * delta);
    }
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

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
  MustRegister(r, {.op = "Tile",
                   .dtype = dt,
                   .factory = MakeKernelFactory<TileKernel<T>>()});
  MustRegister(r, {.op = "BroadcastTo",
                   .dtype = dt,
                   .factory = MakeKernelFactory<BroadcastToKernel<T>>()});
  MustRegister(
      r,
      {.op = "Pad", .dtype = dt, .factory = MakeKernelFactory<PadKernel<T>>()});
  MustRegister(r, {.op = "GatherElements",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GatherElementsKernel<T>>()});
  MustRegister(r, {.op = "ScatterElements",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ScatterElementsKernel<T>>()});
  MustRegister(r, {.op = "Trilu",
                   .dtype = dt,
                   .factory = MakeKernelFactory<TriluKernel<T>>()});
  MustRegister(r, {.op = "GatherND",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GatherNDKernel<T>>()});
  MustRegister(r, {.op = "ScatterND",
                   .dtype = dt,
                   .factory = MakeKernelFactory<ScatterNDKernel<T>>()});
  if constexpr (!IsStorageOnly(DTypeOf<T>::value)) {
    MustRegister(r, {.op = "NonZero",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(NonZeroKernel<T>)});
  }
  if constexpr (IsNumeric(DTypeOf<T>::value)) {
    MustRegister(r, {.op = "TopK",
                     .dtype = dt,
                     .factory = MakeKernelFactory<TopKKernel<T>>(),
                     .cost = KernelCost::kExpensive});
    MustRegister(r, {.op = "Range",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(RangeKernel<T>)});
    MustRegister(r, {.op = "Unique",
                     .dtype = dt,
                     .factory = MakeKernelFactory<UniqueKernel<T>>(),
                     .cost = KernelCost::kExpensive});
  }
  if constexpr (std::is_floating_point_v<T>) {
    MustRegister(r, {.op = "Resize",
                     .dtype = dt,
                     .factory = MakeKernelFactory<ResizeKernel<T>>(),
                     .cost = KernelCost::kExpensive});
  }
}

}  // namespace

void RegisterArrayKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterForType<T>(registry); });
  RegisterForType<bool>(registry);
  // The storage dtypes: Cast and the ops that only move data.
  RegisterForType<uint8_t>(registry);
  RegisterForType<int8_t>(registry);
  RegisterForType<Float16>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
