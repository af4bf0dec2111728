// MatMul: [m,k] x [k,n] -> [m,n] with Eigen, for the four numeric dtypes.
#include <cstdint>

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

template <typename T>
absl::Status MatMulKernel(KernelContext& ctx) {
  const NDArray& a = ctx.inputs[0];
  const NDArray& b = ctx.inputs[1];
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
  NDArray out = NDArray::Uninitialized(kDType, Shape{m, n});
  MatrixMap<T> c(out.mutable_data<T>(), m, n);
  if (k == 0) {
    c.setZero();  // An empty sum.
  } else if (m > 0 && n > 0) {
    ConstMatrixMap<T> am(static_cast<const T*>(a.raw_data()), m, k);
    ConstMatrixMap<T> bm(static_cast<const T*>(b.raw_data()), k, n);
    c.noalias() = am * bm;
  }
  ctx.outputs[0] = std::move(out);
  return absl::OkStatus();
}

}  // namespace

void RegisterMatMulKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() {
    MustRegister(registry, {"MatMul", DTypeOf<T>::value, MatMulKernel<T>,
                            KernelCost::kExpensive});
  });
}

}  // namespace kernels_internal
}  // namespace weft
