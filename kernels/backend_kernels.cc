// Backend kernels registered above the portable defaults (priority
// kBackendPriority): MatMul and BatchMatMul of float32/float64 through
// OpenBLAS blocks on oneTBB (kernels/cpu/gemm.h), and the elementwise ops
// and last-axis Softmax/LogSoftmax of float32/float64 on contiguous arrays
// through Highway's runtime-dispatched SIMD (kernels/cpu/elementwise.h). Each
// keeps the default kernel of its key as a fallback for what it does not cover
// (broadcasts other than a repeated row or column), built when the plan is
// compiled, so both paths see the same node.
#include <algorithm>
#include <atomic>
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
  explicit GemmMatMulKernel(OpKernelConstruction& c) : WithFallback(c) {
    c.SetStatus(ReadTransposeAttrs(c, &ta_, &tb_));
  }
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    if (a.shape().rank() != 2 || b.shape().rank() != 2 ||
        a.shape().dim(ta_ ? 0 : 1) != b.shape().dim(tb_ ? 1 : 0) ||
        a.num_elements() == 0 || b.num_elements() == 0) {
      return fallback_->Compute(ctx);  // Errors and empty products.
    }
    const int64_t m = a.shape().dim(ta_ ? 1 : 0),
                  k = a.shape().dim(ta_ ? 0 : 1),
                  n = b.shape().dim(tb_ ? 0 : 1);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{m, n});
    if (!out.ok()) return out.status();
    // The leading dimension is the stored row length.
    absl::Status s = cpu::Gemm(ta_, tb_, m, n, k, a.values<T>().data(),
                               a.shape().dim(1), b.values<T>().data(),
                               b.shape().dim(1), out->mutable_data<T>(), n);
    if (!s.ok()) return s;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  bool ta_ = false;
  bool tb_ = false;
};

// BatchMatMul through OpenBLAS: equal batch dims as one cpu::BatchMatMul
// (parallel over the batch or within each product), broadcast batch dims as
// one cpu::Gemm per output batch. Empty products and errors fall back.
template <typename T>
class GemmBatchMatMulKernel : public WithFallback {
 public:
  explicit GemmBatchMatMulKernel(OpKernelConstruction& c) : WithFallback(c) {
    c.SetStatus(ReadTransposeAttrs(c, &ta_, &tb_));
  }
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    absl::StatusOr<BatchMatMulPlan> plan =
        PlanBatchMatMul(a.shape(), b.shape(), ta_, tb_);
    if (!plan.ok() || plan->batch == 0 || plan->m == 0 || plan->n == 0 ||
        plan->k == 0) {
      return fallback_->Compute(ctx);
    }
    const int64_t m = plan->m, n = plan->n, k = plan->k;
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, plan->out_shape);
    if (!out.ok()) return out.status();
    const T* pa = a.values<T>().data();
    const T* pb = b.values<T>().data();
    T* pc = out->mutable_data<T>();
    absl::Status s;
    if (plan->dense) {
      s = cpu::BatchMatMul<T>(ta_, tb_, plan->batch, m, n, k, pa, pb, pc);
    } else {
      for (int64_t i = 0; i < plan->batch && s.ok(); ++i) {
        s = cpu::Gemm(ta_, tb_, m, n, k, pa + plan->a_batch(i) * m * k,
                      ta_ ? m : k, pb + plan->b_batch(i) * k * n, tb_ ? k : n,
                      pc + i * m * n, n);
      }
    }
    if (!s.ok()) return s;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  bool ta_ = false;
  bool tb_ = false;
};

// Softmax / LogSoftmax over the last axis with Highway's row routine; other
// axes (strided rows) and empty arrays fall back to the portable kernel.
template <typename T, bool kLog>
class SimdSoftmaxKernel : public WithFallback {
 public:
  explicit SimdSoftmaxKernel(OpKernelConstruction& c) : WithFallback(c) {
    int64_t axis = 0;
    c.SetStatus(c.GetAttr("axis", &axis));
    const int rank = c.input_shape(0).rank();
    last_axis_ = axis == -1 || axis == rank - 1;
  }
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& s = x.shape();
    if (!last_axis_ || s.rank() == 0 || x.num_elements() == 0) {
      return fallback_->Compute(ctx);
    }
    const int64_t cols = s.dim(s.rank() - 1);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, s);
    if (!out.ok()) return out.status();
    const T* px = x.values<T>().data();
    T* po = out->mutable_data<T>();
    const int64_t rows = x.num_elements() / cols;
    absl::Status st = kLog ? cpu::LogSoftmax(px, po, rows, cols)
                           : cpu::Softmax(px, po, rows, cols);
    if (!st.ok()) return st;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  bool last_axis_ = false;
};

// How the smaller operand of a broadcasting binary op repeats over the
// larger one, whose shape is the output's.
enum class Repeat {
  kNone,     // Some other pattern: the portable kernel's general loop.
  kRows,     // `small`'s dims, leading 1s dropped, are `big`'s trailing dims
             // (a bias over the last axes): it repeats for every block of
             // small.num_elements() output elements.
  kColumns,  // `small`'s dims are 1s, then dims equal to `big`'s, then 1s
             // (a per-row statistic such as a kept-dims mean, or a
             // per-channel scale [1,C,1,1] over [N,C,H,W]): element
             // r % small.num_elements() of small applies to the r-th block
             // of `block` contiguous output elements.
};

// With kColumns, `*block` is the product of big's dims where small has its
// trailing 1s.
Repeat RepeatOf(const Shape& small, const Shape& big, int64_t* block) {
  const int ns = small.rank(), nb = big.rank();
  if (ns > nb) return Repeat::kNone;
  int first = 0;
  while (first < ns && small.dim(first) == 1) ++first;
  bool trailing = first < ns;
  for (int i = first; trailing && i < ns; ++i) {
    trailing = small.dim(i) == big.dim(nb - ns + i);
  }
  if (trailing) return Repeat::kRows;
  // [1.., equal dims, 1..] with at least one dim in each of the last two.
  int split = ns;
  while (split > first && small.dim(split - 1) == 1) --split;
  if (split == ns || split == first) return Repeat::kNone;
  for (int i = first; i < split; ++i) {
    if (small.dim(i) != big.dim(nb - ns + i)) return Repeat::kNone;
  }
  *block = 1;
  for (int i = nb - ns + split; i < nb; ++i) *block *= big.dim(i);
  return *block > 1 ? Repeat::kColumns : Repeat::kNone;
}

// Elementwise binary ops through Highway: equal shapes, a scalar operand,
// and the two common broadcasts (Repeat::kRows, kColumns) as one vector
// call per row, rows split over oneTBB. Everything else falls back.
template <typename T>
class SimdBinaryKernel : public WithFallback {
 public:
  SimdBinaryKernel(OpKernelConstruction& c, cpu::BinaryOp op)
      : WithFallback(c), op_(op) {}
  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    const int64_t na = a.num_elements(), nb = b.num_elements();
    // Small arrays stay on the default loop (no dispatch overhead).
    if (std::max(na, nb) < kSimdMin) return fallback_->Compute(ctx);
    const bool same = a.shape() == b.shape();
    const bool a_scalar = na == 1 && a.shape().rank() <= b.shape().rank();
    const bool b_scalar = nb == 1 && b.shape().rank() <= a.shape().rank();
    const bool b_small = nb < na;
    Repeat repeat = Repeat::kNone;
    int64_t block = 0;  // kColumns: the output elements per small element.
    if (!(same || a_scalar || b_scalar)) {
      repeat = b_small ? RepeatOf(b.shape(), a.shape(), &block)
                       : RepeatOf(a.shape(), b.shape(), &block);
      const int64_t run = repeat == Repeat::kRows ? std::min(na, nb) : block;
      if (repeat == Repeat::kNone || run < kMinRun) {
        return fallback_->Compute(ctx);
      }
    }
    const Shape& shape =
        same || b_scalar || (repeat != Repeat::kNone && b_small) ? a.shape()
                                                                 : b.shape();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, shape);
    if (!out.ok()) return out.status();
    const T* x = a.values<T>().data();
    const T* y = b.values<T>().data();
    T* o = out->mutable_data<T>();
    const int64_t n = out->num_elements();
    absl::Status s;
    if (repeat == Repeat::kNone) {
      s = same       ? cpu::Binary(op_, x, y, o, n)
          : a_scalar ? cpu::BinaryScalarLeft(op_, x[0], y, o, n)
                     : cpu::BinaryScalarRight(op_, x, y[0], o, n);
    } else {
      s = Repeated(repeat, b_small, x, y, o, n, block, std::min(na, nb));
    }
    if (!s.ok()) return s;
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  // One vector call per output row; `b_small` says which operand repeats.
  absl::Status Repeated(Repeat repeat, bool b_small, const T* x, const T* y,
                        T* o, int64_t n, int64_t block,
                        int64_t small_count) const {
    const int64_t cols = repeat == Repeat::kRows ? small_count : block;
    std::atomic<bool> failed{false};
    ParallelItems(n / cols, cols, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t at = r * cols;
        absl::Status st;
        if (repeat == Repeat::kRows) {
          st = b_small ? cpu::Binary(op_, x + at, y, o + at, cols)
                       : cpu::Binary(op_, x, y + at, o + at, cols);
        } else {
          const int64_t e = r % small_count;
          st = b_small ? cpu::BinaryScalarRight(op_, x + at, y[e], o + at, cols)
                       : cpu::BinaryScalarLeft(op_, x[e], y + at, o + at, cols);
        }
        if (!st.ok()) failed.store(true, std::memory_order_relaxed);
      }
    });
    if (failed.load(std::memory_order_relaxed)) {
      return absl::InternalError(
          "a row of a broadcasting elementwise op failed in weft::cpu");
    }
    return absl::OkStatus();
  }

  static constexpr int64_t kSimdMin = 64;
  // Shorter repeated rows go to the portable loop (a call per row).
  static constexpr int64_t kMinRun = 16;
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

// The GEMM (OpenBLAS/oneDNN) and Highway softmax kernels of type T.
template <typename T>
void RegisterGemmAndSoftmaxKernels(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  MustRegister(r, {.op = "MatMul",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GemmMatMulKernel<T>>(),
                   .cost = KernelCost::kExpensive,
                   .priority = kBackendPriority,
                   .label = "openblas"});
  MustRegister(r, {.op = "BatchMatMul",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GemmBatchMatMulKernel<T>>(),
                   .cost = KernelCost::kExpensive,
                   .priority = kBackendPriority,
                   .label = "openblas"});
  MustRegister(r, {.op = "Softmax",
                   .dtype = dt,
                   .factory = MakeKernelFactory<SimdSoftmaxKernel<T, false>>(),
                   .cost = KernelCost::kExpensive,
                   .priority = kBackendPriority,
                   .label = "highway"});
  MustRegister(r, {.op = "LogSoftmax",
                   .dtype = dt,
                   .factory = MakeKernelFactory<SimdSoftmaxKernel<T, true>>(),
                   .cost = KernelCost::kExpensive,
                   .priority = kBackendPriority,
                   .label = "highway"});
}

// The Highway binary elementwise kernels of type T (those cpu:: supports).
template <typename T>
void RegisterSimdBinaryKernels(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  const std::pair<const char*, cpu::BinaryOp> binary[] = {
      {"Add", cpu::BinaryOp::kAdd},
      {"Sub", cpu::BinaryOp::kSub},
      {"Mul", cpu::BinaryOp::kMul},
      {"Div", cpu::BinaryOp::kDiv},
      {"Maximum", cpu::BinaryOp::kMaximum},
      {"Minimum", cpu::BinaryOp::kMinimum},
      {"Pow", cpu::BinaryOp::kPow}};
  for (const auto& [name, op] : binary) {
    if (!cpu::Supports<T>(op)) continue;  // Pow: float32 only.
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
}

// The Highway unary elementwise kernels of type T.
template <typename T>
void RegisterSimdUnaryKernels(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  const std::pair<const char*, cpu::UnaryOp> unary[] = {
      {"Neg", cpu::UnaryOp::kNeg},         {"Relu", cpu::UnaryOp::kRelu},
      {"Sigmoid", cpu::UnaryOp::kSigmoid}, {"Tanh", cpu::UnaryOp::kTanh},
      {"Abs", cpu::UnaryOp::kAbs},         {"Square", cpu::UnaryOp::kSquare},
      {"Exp", cpu::UnaryOp::kExp},         {"Log", cpu::UnaryOp::kLog},
      {"Sqrt", cpu::UnaryOp::kSqrt},       {"Rsqrt", cpu::UnaryOp::kRsqrt},
      {"Erf", cpu::UnaryOp::kErf}};
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

// Every backend kernel of type T, at kBackendPriority.
template <typename T>
void RegisterFor(KernelRegistry& r) {
  RegisterGemmAndSoftmaxKernels<T>(r);
  RegisterSimdBinaryKernels<T>(r);
  RegisterSimdUnaryKernels<T>(r);
}

}  // namespace

void RegisterBackendKernels(KernelRegistry& registry) {
  RegisterFor<float>(registry);
  RegisterFor<double>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
