// The linalg family's kernels (ops defined in graph/linalg_ops.cc): MatMul
// ([m,k] x [k,n] -> [m,n], transpose attrs) and BatchMatMul
// (broadcast batch dims) with Eigen, for the four numeric dtypes; and the
// batch plan both BatchMatMul kernels share.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "graph/shape_util.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {

absl::Status ReadTransposeAttrs(const OpKernelConstruction& c, bool* ta,
                                bool* tb) {
  for (auto [name, out] : {std::pair{"transpose_a", ta}, {"transpose_b", tb}}) {
    *out = false;
    if (c.node().attrs().find(name) == c.node().attrs().end()) continue;
    if (absl::Status s = c.GetAttr(name, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

// Per output batch of `p`, the stored matrix of a and of b it reads (a
// broadcast dim of size 1 has stride 0): fills p.a_index and p.b_index.
void IndexBroadcastBatches(const Shape& a_batch, const Shape& b_batch,
                           const Shape& batch, BatchMatMulPlan& p) {
  const int r = batch.rank();
  auto strides = [r](const Shape& s) {
    std::vector<int64_t> st(r, 0);
    int64_t run = 1;
    for (int i = s.rank() - 1, j = r - 1; i >= 0; --i, --j) {
      st[j] = s.dim(i) == 1 ? 0 : run;
      run *= s.dim(i);
    }
    return st;
  };
  const std::vector<int64_t> sa = strides(a_batch), sb = strides(b_batch);
  p.a_index.resize(p.batch);
  p.b_index.resize(p.batch);
  std::vector<int64_t> idx(r, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < p.batch; ++i) {
    p.a_index[i] = oa;
    p.b_index[i] = ob;
    for (int j = r - 1; j >= 0; --j) {
      oa += sa[j];
      ob += sb[j];
      if (++idx[j] < batch.dim(j)) break;
      oa -= sa[j] * idx[j];
      ob -= sb[j] * idx[j];
      idx[j] = 0;
    }
  }
}

}  // namespace

absl::StatusOr<BatchMatMulPlan> PlanBatchMatMul(const Shape& a, const Shape& b,
                                                bool ta, bool tb) {
  const int ra = a.rank(), rb = b.rank();
  if (ra < 2 || rb < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("BatchMatMul takes batches of matrices (rank >= 2), got ",
                     a.DebugString(), " and ", b.DebugString()));
  }
  BatchMatMulPlan p;
  p.m = a.dim(ta ? ra - 1 : ra - 2);
  p.k = a.dim(ta ? ra - 2 : ra - 1);
  const int64_t kb = b.dim(tb ? rb - 1 : rb - 2);
  p.n = b.dim(tb ? rb - 2 : rb - 1);
  if (kb != p.k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BatchMatMul inner dimensions differ at run time: ", a.DebugString(),
        ta ? " (transposed)" : "", " x ", b.DebugString(),
        tb ? " (transposed)" : "", " (", p.k, " vs ", kb, ")"));
  }
  const Shape a_batch(
      std::vector<int64_t>(a.dims().begin(), a.dims().end() - 2));
  const Shape b_batch(
      std::vector<int64_t>(b.dims().begin(), b.dims().end() - 2));
  absl::StatusOr<Shape> batch = BroadcastShapes(a_batch, b_batch);
  if (!batch.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BatchMatMul batch dimensions do not broadcast at run time: ",
        batch.status().message()));
  }
  std::vector<int64_t> dims = batch->dims();
  p.batch = 1;
  for (int64_t d : dims) p.batch *= d;
  dims.push_back(p.m);
  dims.push_back(p.n);
  p.out_shape = Shape(std::move(dims));
  p.dense = a_batch == b_batch;
  if (p.dense || p.batch == 0) return p;
  IndexBroadcastBatches(a_batch, b_batch, *batch, p);
  return p;
}

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

// c = op(a) * op(b) for row-major maps of the stored shapes.
template <typename M>
void EigenProduct(bool ta, bool tb, const M* a, int64_t a_rows, int64_t a_cols,
                  const M* b, int64_t b_rows, int64_t b_cols, MatrixMap<M>& c) {
  ConstMatrixMap<M> am(a, a_rows, a_cols);
  ConstMatrixMap<M> bm(b, b_rows, b_cols);
  if (!ta && !tb) {
    c.noalias() = am * bm;
  } else if (ta && !tb) {
    c.noalias() = am.transpose() * bm;
  } else if (!ta) {
    c.noalias() = am * bm.transpose();
  } else {
    c.noalias() = am.transpose() * bm.transpose();
  }
}

// MatMul with Eigen; the transpose attrs are read once, at plan compile.
template <typename T>
class MatMulKernel : public OpKernel {
 public:
  explicit MatMulKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(ReadTransposeAttrs(c, &ta_, &tb_));
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    constexpr DType kDType = DTypeOf<T>::value;
    if (a.dtype() != kDType || b.dtype() != kDType) {
      return absl::InvalidArgumentError(absl::StrCat(
          "MatMul expected two ", DTypeName(kDType), " inputs, got ",
          DTypeName(a.dtype()), " and ", DTypeName(b.dtype())));
    }
    if (a.shape().rank() != 2 || b.shape().rank() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "MatMul takes two matrices, got ", a.shape().DebugString(), " and ",
          b.shape().DebugString()));
    }
    const int64_t m = a.shape().dim(ta_ ? 1 : 0);
    const int64_t k = a.shape().dim(ta_ ? 0 : 1);
    const int64_t kb = b.shape().dim(tb_ ? 1 : 0);
    const int64_t n = b.shape().dim(tb_ ? 0 : 1);
    if (kb != k) {
      return absl::InvalidArgumentError(
          absl::StrCat("MatMul inner dimensions differ at run time: ",
                       a.shape().DebugString(), ta_ ? " (transposed)" : "",
                       " x ", b.shape().DebugString(),
                       tb_ ? " (transposed)" : "", " (", k, " vs ", kb, ")"));
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{m, n});
    if (!out.ok()) return out.status();
    using M = MathType<T>;
    MatrixMap<M> c(reinterpret_cast<M*>(out->mutable_data<T>()), m, n);
    if (k == 0) {
      c.setZero();  // An empty sum.
    } else if (m > 0 && n > 0) {
      EigenProduct<M>(ta_, tb_, static_cast<const M*>(a.raw_data()),
                      a.shape().dim(0), a.shape().dim(1),
                      static_cast<const M*>(b.raw_data()), b.shape().dim(0),
                      b.shape().dim(1), c);
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  bool ta_ = false;
  bool tb_ = false;
};

// BatchMatMul with Eigen, one product per output batch (in parallel over
// batches when the work is large).
template <typename T>
class BatchMatMulKernel : public OpKernel {
 public:
  explicit BatchMatMulKernel(OpKernelConstruction& c) : OpKernel(c) {
    c.SetStatus(ReadTransposeAttrs(c, &ta_, &tb_));
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& a = ctx.input(0);
    const NDArray& b = ctx.input(1);
    absl::StatusOr<BatchMatMulPlan> plan =
        PlanBatchMatMul(a.shape(), b.shape(), ta_, tb_);
    if (!plan.ok()) return plan.status();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, plan->out_shape);
    if (!out.ok()) return out.status();
    using M = MathType<T>;
    M* pc = reinterpret_cast<M*>(out->mutable_data<T>());
    const M* pa = static_cast<const M*>(a.raw_data());
    const M* pb = static_cast<const M*>(b.raw_data());
    const int64_t m = plan->m, n = plan->n, k = plan->k;
    if (m > 0 && n > 0) {
      auto body = [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i) {
          MatrixMap<M> c(pc + i * m * n, m, n);
          if (k == 0) {
            c.setZero();
            continue;
          }
          EigenProduct<M>(ta_, tb_, pa + plan->a_batch(i) * m * k, ta_ ? k : m,
                          ta_ ? m : k, pb + plan->b_batch(i) * k * n,
                          tb_ ? n : k, tb_ ? k : n, c);
        }
      };
      if (plan->batch * m * n * std::max<int64_t>(k, 1) <=
          kParallelThreshold * 8) {
        body(0, plan->batch);
      } else {
        cpu::InComputeArena([&] {
          tbb::parallel_for(tbb::blocked_range<int64_t>(0, plan->batch),
                            [&](const tbb::blocked_range<int64_t>& r) {
                              body(r.begin(), r.end());
                            });
        });
      }
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  bool ta_ = false;
  bool tb_ = false;
};

// Det: each [n, n] matrix's determinant by LU with partial pivoting in
// float64 (a zero pivot column gives 0; NaN propagates).
template <typename T>
absl::Status DetKernel(OpKernelContext& ctx) {
  const NDArray& x = ctx.input(0);
  const Shape& s = x.shape();
  const int r = s.rank();
  if (r < 2 || s.dim(r - 1) != s.dim(r - 2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Det takes square matrices [..., n, n]; the fed input is ",
                     DTypeName(x.dtype()), s.DebugString()));
  }
  const int64_t n = s.dim(r - 1);
  absl::StatusOr<NDArray> out = ctx.allocate_output(
      0, Shape(std::vector<int64_t>(s.dims().begin(), s.dims().end() - 2)));
  if (!out.ok()) return out.status();
  const T* src = x.values<T>().data();
  T* dst = out->mutable_data<T>();
  const int64_t count = out->num_elements();
  ParallelItems(count, n * n * n, [&](int64_t b0, int64_t b1) {
    std::vector<double> a(n * n);
    for (int64_t b = b0; b < b1; ++b) {
      std::copy(src + b * n * n, src + (b + 1) * n * n, a.begin());
      double det = 1;
      for (int64_t k = 0; k < n && det != 0; ++k) {
        int64_t p = k;
        for (int64_t i = k + 1; i < n; ++i) {
          if (std::abs(a[i * n + k]) > std::abs(a[p * n + k])) p = i;
        }
        const double pivot = a[p * n + k];
        if (pivot == 0) {
          det = 0;
          break;
        }
        if (p != k) {
          std::swap_ranges(a.begin() + k * n, a.begin() + (k + 1) * n,
                           a.begin() + p * n);
          det = -det;
        }
        det *= pivot;
        for (int64_t i = k + 1; i < n; ++i) {
          const double f = a[i * n + k] / pivot;
          for (int64_t j = k; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
        }
      }
      dst[b] = static_cast<T>(det);
    }
  });
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

}  // namespace

void RegisterLinalgKernels(KernelRegistry& registry) {
  for (auto [dtype, fn] : {std::pair{DType::kFloat32, &DetKernel<float>},
                           std::pair{DType::kFloat64, &DetKernel<double>}}) {
    MustRegister(registry, {.op = "Det",
                            .dtype = dtype,
                            .factory = FunctionKernelFactory(fn),
                            .cost = KernelCost::kExpensive});
  }
  ForEachNumericType([&]<typename T>() {
    MustRegister(registry, {.op = "MatMul",
                            .dtype = DTypeOf<T>::value,
                            .factory = MakeKernelFactory<MatMulKernel<T>>(),
                            .cost = KernelCost::kExpensive,
                            .label = "eigen"});
    MustRegister(registry,
                 {.op = "BatchMatMul",
                  .dtype = DTypeOf<T>::value,
                  .factory = MakeKernelFactory<BatchMatMulKernel<T>>(),
                  .cost = KernelCost::kExpensive,
                  .label = "eigen"});
  });
}

}  // namespace kernels_internal
}  // namespace weft
