// Kernels that produce, forward or rearrange arrays without arithmetic:
// Const, Placeholder, Identity, Reshape, Cast and Split.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/shape_util.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

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
}

}  // namespace

void RegisterArrayKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterForType<T>(registry); });
  RegisterForType<bool>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
