// MatMul: [m,k] x [k,n] -> [m,n] with Eigen, for the four numeric dtypes.
#include <cstdint>
#include <type_traits>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

template <typename T>
using ConstMatrixMap = Eigen::Map<
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename T>
using MatrixMap = Eigen::Map<
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Integer products wrap around (two's complement, like integer Add and Mul):
// Eigen multiplies in the unsigned type of the same width, where overflow is
// defined, and the bits are reinterpreted.
template <typename T>
struct MathTypeOf {
  using type = T;
};
template <typename T>
requires std::is_integral_v<T>
struct MathTypeOf<T> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
using MathType = typename MathTypeOf<T>::type;

template <typename T>
absl::Status MatMulKernel(OpKernelContext& ctx) {
  const NDArray& a = ctx.input(0);
  const NDArray& b = ctx.input(1);
  constexpr DType kDType = DTypeOf<T>::value;
  if (a.dtype() != kDType || b.dtype() != kDType) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMul expected two ", DTypeName(kDType), " inputs, got ",
                     DTypeName(a.dtype()), " and ", DTypeName(b.dtype())));
  }
  if (a.shape().rank() != 2 || b.shape().rank() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("MatMul takes two matrices, got ", a.shape().DebugString(),
                     " and ", b.shape().DebugString()));
  }
  const int64_t m = a.shape().dim(0);
  const int64_t k = a.shape().dim(1);
  const int64_t n = b.shape().dim(1);
  if (b.shape().dim(0) != k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MatMul inner dimensions differ at run time: ", a.shape().DebugString(),
        " x ", b.shape().DebugString(), " (", k, " vs ", b.shape().dim(0),
        ")"));
  }
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{m, n});
  if (!out.ok()) return out.status();
  using M = MathType<T>;
  MatrixMap<M> c(reinterpret_cast<M*>(out->mutable_data<T>()), m, n);
  if (k == 0) {
    c.setZero();  // An empty sum.
  } else if (m > 0 && n > 0) {
    ConstMatrixMap<M> am(static_cast<const M*>(a.raw_data()), m, k);
    ConstMatrixMap<M> bm(static_cast<const M*>(b.raw_data()), k, n);
    c.noalias() = am * bm;
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

}  // namespace

void RegisterMatMulKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() {
    MustRegister(registry, {.op = "MatMul",
                            .dtype = DTypeOf<T>::value,
                            .factory = FunctionKernelFactory(MatMulKernel<T>),
                            .cost = KernelCost::kExpensive,
                            .label = "eigen"});
  });
}

}  // namespace kernels_internal
}  // namespace weft
