// Kernels that produce or forward arrays without arithmetic: Const,
// Placeholder, Identity, Reshape and Cast.
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
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

absl::Status ConstKernel(KernelContext& ctx) {
  const NDArray* value = NodeAttr<NDArray>(ctx.node, "value");
  if (value == nullptr || !value->valid()) {
    return absl::InternalError("Const node has no valid 'value' attr");
  }
  ctx.outputs[0] = *value;  // Shares the buffer: NDArrays are immutable.
  return absl::OkStatus();
}

absl::Status PlaceholderKernel(KernelContext&) {
  return absl::InvalidArgumentError("placeholder was not fed");
}

absl::Status IdentityKernel(KernelContext& ctx) {
  ctx.outputs[0] = std::move(ctx.inputs[0]);
  return absl::OkStatus();
}

absl::Status ReshapeKernel(KernelContext& ctx) {
  const NDArray& in = ctx.inputs[0];
  const Shape* target = NodeAttr<Shape>(ctx.node, "shape");
  if (target == nullptr) {
    return absl::InternalError("Reshape node has no 'shape' attr");
  }
  const int64_t count = in.num_elements();
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < target->rank(); ++i) {
    const int64_t d = target->dim(i);
    if (d == Shape::kUnknown && unknown < 0) {
      unknown = i;
    } else if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid Reshape target ", target->DebugString()));
    } else if (__builtin_mul_overflow(known, d, &known)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Reshape target ", target->DebugString(), " overflows int64"));
    }
  }
  if (unknown < 0) {
    if (known != count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot reshape ", in.shape().DebugString(), " (", count,
          " elements) to ", target->DebugString(), " (", known, " elements)"));
    }
    absl::StatusOr<NDArray> out = in.Reshaped(*target);
    if (!out.ok()) return out.status();
    ctx.outputs[0] = *std::move(out);
    return absl::OkStatus();
  }
  if (known == 0 || count % known != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot reshape ", in.shape().DebugString(), " (", count,
                     " elements) to ", target->DebugString(), ": ", count,
                     " is not a multiple of ", known));
  }
  std::vector<int64_t> dims = target->dims();
  dims[unknown] = count / known;
  absl::StatusOr<NDArray> out = in.Reshaped(Shape(std::move(dims)));
  if (!out.ok()) return out.status();
  ctx.outputs[0] = *std::move(out);
  return absl::OkStatus();
}

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

template <typename From>
absl::Status CastKernel(KernelContext& ctx) {
  const NDArray& in = ctx.inputs[0];
  const DType* to = NodeAttr<DType>(ctx.node, "dtype");
  if (to == nullptr) {
    return absl::InternalError("Cast node has no 'dtype' attr");
  }
  if (*to == in.dtype()) {  // Nothing to convert: forward the buffer.
    ctx.outputs[0] = std::move(ctx.inputs[0]);
    return absl::OkStatus();
  }
  NDArray out = NDArray::Uninitialized(*to, in.shape());
  switch (*to) {
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
          "Cast to an invalid dtype (", static_cast<int>(*to), ")"));
  }
  ctx.outputs[0] = std::move(out);
  return absl::OkStatus();
}

template <typename T>
void RegisterForType(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  MustRegister(r, {"Const", dt, ConstKernel});
  MustRegister(r, {"Placeholder", dt, PlaceholderKernel});
  MustRegister(r, {"Identity", dt, IdentityKernel});
  MustRegister(r, {"Reshape", dt, ReshapeKernel});
  MustRegister(r, {"Cast", dt, CastKernel<T>});
}

}  // namespace

void RegisterArrayKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterForType<T>(registry); });
  RegisterForType<bool>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
