// Backend kernels registered above the portable defaults (priority
// kBackendPriority): MatMul of float32/float64 through OpenBLAS blocks on
// oneTBB (kernels/cpu/gemm.h), and the elementwise ops of float32/float64
// on contiguous arrays through Highway's runtime-dispatched SIMD
// (kernels/cpu/elementwise.h). Each keeps the default kernel of its key as
// a fallback for what it does not cover (general broadcasting), built when
// the plan is compiled, so both paths see the same node.
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/device_kind.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

// Above the defaults (0); users may still override with a higher one.
constexpr int kBackendPriority = 10;

// Builds the next kernel below `priority` for the same key as `c`.
absl::StatusOr<std::unique_ptr<OpKernel>> BuildFallback(OpKernelConstruction& c,
                                                        int priority) {
  std::vector<DType> in;
  for (int i = 0; i < c.num_inputs(); ++i) in.push_back(c.input_dtype(i));
  const DType key = KernelKeyDType(c.node(), in);
  for (const KernelDef* def : KernelRegistry::Global().FindAll(
           c.node().op(), DeviceKindOf(c.device()), key)) {
    if (def->priority < priority) return def->factory(c);
  }
  return absl::NotFoundError(
      absl::StrCat("no fallback kernel for ", c.node().op()));
}

class WithFallback : public OpKernel {
 public:
  explicit WithFallback(OpKernelConstruction& c) : OpKernel(c) {
    absl::StatusOr<std::unique_ptr<OpKernel>> f =
        BuildFallback(c, kBackendPriority);
    if (!f.ok()) {
      c.SetStatus(f.status());
      return;
    }
    fallback_ = *std::move(f);
  }

 protected:
  std::unique_ptr<OpKernel> fallback_;
};

template <typename T>
class GemmMatMulKernel : public WithFallback {
 public:
  using WithFallback::WithFallback;
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    if (a.shape().rank() != 2 || b.shape().rank() != 2 ||
        a.shape().dim(1) != b.shape().dim(0) || a.num_elements() == 0 ||
        b.num_elements() == 0) {
      return fallback_->Compute(ctx);  // Errors and empty products.
    }
    const int64_t m = a.shape().dim(0), k = a.shape().dim(1),
                  n = b.shape().dim(1);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{m, n});
    if (!out.ok()) return out.status();
    absl::Status s =
        cpu::Gemm(false, false, m, n, k, a.values<T>().data(), k,
                  b.values<T>().data(), n, out->mutable_data<T>(), n);
    if (!s.ok()) return s;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }
};

template <typename T>
class SimdBinaryKernel : public WithFallback {
 public:
  SimdBinaryKernel(OpKernelConstruction& c, cpu::BinaryOp op)
      : WithFallback(c), op_(op) {}
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    const int64_t na = a.num_elements(), nb = b.num_elements();
    const bool same = a.shape() == b.shape();
    const bool a_scalar = na == 1 && a.shape().rank() <= b.shape().rank();
    const bool b_scalar = nb == 1 && b.shape().rank() <= a.shape().rank();
    // Small arrays stay on the default loop (no dispatch overhead).
    if (!(same || a_scalar || b_scalar) || std::max(na, nb) < kSimdMin) {
      return fallback_->Compute(ctx);
    }
    const Shape& shape = same || b_scalar ? a.shape() : b.shape();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, shape);
    if (!out.ok()) return out.status();
    const T* x = a.values<T>().data();
    const T* y = b.values<T>().data();
    T* o = out->mutable_data<T>();
    const int64_t n = out->num_elements();
    absl::Status s = same       ? cpu::Binary(op_, x, y, o, n)
                     : a_scalar ? cpu::BinaryScalarLeft(op_, x[0], y, o, n)
                                : cpu::BinaryScalarRight(op_, x, y[0], o, n);
    if (!s.ok()) return s;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  static constexpr int64_t kSimdMin = 64;
  const cpu::BinaryOp op_;
};

template <typename T>
class SimdUnaryKernel : public WithFallback {
 public:
  SimdUnaryKernel(OpKernelConstruction& c, cpu::UnaryOp op)
      : WithFallback(c), op_(op) {}
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    if (x.num_elements() < kSimdMin) return fallback_->Compute(ctx);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, x.shape());
    if (!out.ok()) return out.status();
    absl::Status s = cpu::Unary(op_, x.values<T>().data(),
                                out->mutable_data<T>(), x.num_elements());
    if (!s.ok()) return s;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  static constexpr int64_t kSimdMin = 64;
  const cpu::UnaryOp op_;
};

template <typename T>
void RegisterFor(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  MustRegister(r, {.op = "MatMul",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GemmMatMulKernel<T>>(),
                   .cost = KernelCost::kExpensive,
                   .priority = kBackendPriority,
                   .label = "openblas"});
  const std::pair<const char*, cpu::BinaryOp> binary[] = {
      {"Add", cpu::BinaryOp::kAdd},
      {"Sub", cpu::BinaryOp::kSub},
      {"Mul", cpu::BinaryOp::kMul},
      {"Div", cpu::BinaryOp::kDiv},
      {"Maximum", cpu::BinaryOp::kMaximum}};
  for (const auto& [name, op] : binary) {
    MustRegister(r, {.op = name,
                     .dtype = dt,
                     .factory = [op = op](OpKernelConstruction& c)
                         -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                       auto k = std::make_unique<SimdBinaryKernel<T>>(c, op);
                       if (!c.status().ok()) return c.status();
                       return std::unique_ptr<OpKernel>(std::move(k));
                     },
                     .priority = kBackendPriority,
                     .label = "highway"});
  }
  const std::pair<const char*, cpu::UnaryOp> unary[] = {
      {"Neg", cpu::UnaryOp::kNeg},
      {"Relu", cpu::UnaryOp::kRelu},
      {"Sigmoid", cpu::UnaryOp::kSigmoid},
      {"Tanh", cpu::UnaryOp::kTanh}};
  for (const auto& [name, op] : unary) {
    MustRegister(r, {.op = name,
                     .dtype = dt,
                     .factory = [op = op](OpKernelConstruction& c)
                         -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                       auto k = std::make_unique<SimdUnaryKernel<T>>(c, op);
                       if (!c.status().ok()) return c.status();
                       return std::unique_ptr<OpKernel>(std::move(k));
                     },
                     .priority = kBackendPriority,
                     .label = "highway"});
  }
}

}  // namespace

void RegisterBackendKernels(KernelRegistry& registry) {
  RegisterFor<float>(registry);
  RegisterFor<double>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
