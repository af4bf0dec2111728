// The nn family's kernels (ops defined in graph/nn_ops.cc): Softmax and
// LogSoftmax over any axis, for float32/float64. backend_kernels.cc
// overrides the last-axis case with Highway.
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

template <typename T>
void RegisterForType(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  constexpr KernelCost kCost = KernelCost::kExpensive;
  MustRegister(r, {.op = "Softmax",
                   .dtype = dt,
                   .factory = MakeKernelFactory<SoftmaxKernel<T, false>>(),
                   .cost = kCost});
  MustRegister(r, {.op = "LogSoftmax",
                   .dtype = dt,
                   .factory = MakeKernelFactory<SoftmaxKernel<T, true>>(),
                   .cost = kCost});
}

}  // namespace

void RegisterNnKernels(KernelRegistry& registry) {
  RegisterForType<float>(registry);
  RegisterForType<double>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
