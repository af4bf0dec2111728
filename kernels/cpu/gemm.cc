// gemm.cc — Gemm and BatchMatMul: one serial BLAS call per block of C over
// oneTBB (oneDNN's sgemm for large float32 blocks, OpenBLAS otherwise, gemv
// for one-row and one-column blocks), a blocked unsigned loop for
// int32/int64.
#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/cpu/parallel.h"
#include "oneapi/dnnl/dnnl.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"
#include "oneapi/tbb/partitioner.h"
#include "oneapi/tbb/task_arena.h"

namespace weft {
namespace cpu {
namespace {

// Blocks of C are at least this many rows and columns: below that, the
// packing each BLAS call does costs more than the parallelism gains.
constexpr int64_t kMinBlockDim = 64;

// One product, checked: pointers and leading dimensions as given.
template <typename T>
struct Problem {
  bool transpose_a;
  bool transpose_b;
  int64_t m, n, k;
  const T* a;
  int64_t lda;
  const T* b;
  int64_t ldb;
  T* c;
  int64_t ldc;
};

const char* TypeName(float) { return "float32"; }
const char* TypeName(double) { return "float64"; }
const char* TypeName(int32_t) { return "int32"; }
const char* TypeName(int64_t) { return "int64"; }

bool MulOverflows(int64_t x, int64_t y) {
  int64_t r;
  return __builtin_mul_overflow(x, y, &r) || r > (int64_t{1} << 62);
}

// Long (~60 lines): a flat list of argument checks, each with its own error.
template <typename T>
absl::Status Validate(const char* routine, const Problem<T>& p,
                      bool check_pointers = true) {
  // Built only for an error: Validate runs on every product.
  const auto where = [routine] {
    return absl::StrCat("weft::cpu::", routine, "<", TypeName(T{}), ">");
  };
  if (p.m < 0 || p.n < 0 || p.k < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where(), ": negative size (m=", p.m, ", n=", p.n, ", k=", p.k,
        "); pass the row and column counts of op(A) (m x k) and op(B) "
        "(k x n)"));
  }
  if (MulOverflows(p.m, p.k) || MulOverflows(p.k, p.n) ||
      MulOverflows(p.m, p.n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where(), ": sizes m=", p.m, ", n=", p.n, ", k=", p.k,
                     " overflow a 64-bit element count; split the product"));
  }
  if (std::is_floating_point_v<T> &&
      std::max({p.m, p.n, p.k, p.lda, p.ldb, p.ldc}) > INT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        where(),
        ": a size or leading dimension exceeds the BLAS's 32-bit "
        "index (m=",
        p.m, ", n=", p.n, ", k=", p.k, ", lda=", p.lda, ", ldb=", p.ldb,
        ", ldc=", p.ldc, "); split the product into smaller blocks"));
  }
  const int64_t a_cols = p.transpose_a ? p.m : p.k;
  const int64_t b_cols = p.transpose_b ? p.k : p.n;
  const struct {
    const char* name;
    int64_t ld, cols;
    const char* what;
  } lds[] = {
      {"lda", p.lda, a_cols,
       p.transpose_a ? "m, A is stored k x m with transpose_a"
                     : "k, A is stored m x k"},
      {"ldb", p.ldb, b_cols,
       p.transpose_b ? "k, B is stored n x k with transpose_b"
                     : "n, B is stored k x n"},
      {"ldc", p.ldc, p.n, "n, C is m x n"},
  };
  for (const auto& ld : lds) {
    if (ld.ld < std::max<int64_t>(1, ld.cols)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), ": ", ld.name, "=", ld.ld, " is smaller than the ", ld.cols,
          " columns of its matrix (", ld.what,
          "); pass the row stride in elements, at least ",
          std::max<int64_t>(1, ld.cols)));
    }
  }
  const bool empty_c = p.m == 0 || p.n == 0;
  if (check_pointers && !empty_c &&
      (p.c == nullptr || (p.k > 0 && (p.a == nullptr || p.b == nullptr)))) {
    return absl::InvalidArgumentError(
        absl::StrCat(where(), ": null ", p.c == nullptr ? "C" : "A or B",
                     " for a non-empty ", p.m, "x", p.n, "x", p.k,
                     " product; pass the buffers"));
  }
  return absl::OkStatus();
}

// The sub-problem computing C[r0:r1, c0:c1].
template <typename T>
Problem<T> Block(const Problem<T>& p, int64_t r0, int64_t r1, int64_t c0,
                 int64_t c1) {
  Problem<T> q = p;
  q.m = r1 - r0;
  q.n = c1 - c0;
  q.a = p.transpose_a ? p.a + r0 : p.a + r0 * p.lda;
  q.b = p.transpose_b ? p.b + c0 * p.ldb : p.b + c0;
  q.c = p.c + r0 * p.ldc + c0;
  return q;
}

void Gemv(CBLAS_TRANSPOSE t, int64_t rows, int64_t cols, const float* a,
          int64_t lda, const float* x, int64_t incx, float* y, int64_t incy) {
  cblas_sgemv(CblasRowMajor, t, static_cast<int>(rows), static_cast<int>(cols),
              1.0f, a, static_cast<int>(lda), x, static_cast<int>(incx), 0.0f,
              y, static_cast<int>(incy));
}

void Gemv(CBLAS_TRANSPOSE t, int64_t rows, int64_t cols, const double* a,
          int64_t lda, const double* x, int64_t incx, double* y, int64_t incy) {
  cblas_dgemv(CblasRowMajor, t, static_cast<int>(rows), static_cast<int>(cols),
              1.0, a, static_cast<int>(lda), x, static_cast<int>(incx), 0.0, y,
              static_cast<int>(incy));
}

// A one-row or one-column product (k > 0) as a matrix-vector product: BLAS's
// gemv streams the matrix once, where gemm first packs all of it (OpenBLAS
// 0.3.21 does not forward m = 1 or n = 1 to gemv; packing the 256 x 256
// weights was 22% of a one-example Session::Run). C is zeroed first: with
// beta = 0 a BLAS may scale C by zero, and a fresh output buffer can hold
// NaN bit patterns. False if the product has neither shape.
template <typename T>
bool SerialGemv(const Problem<T>& p) {
  if (p.m == 1) {
    // c (n) = op(B)^T * a, a = row 0 of op(A): A's first row, or with
    // transpose_a its first column (stride lda).
    std::fill_n(p.c, p.n, T{0});
    if (p.transpose_b) {  // B stored n x k: c = B * a.
      Gemv(CblasNoTrans, p.n, p.k, p.b, p.ldb, p.a, p.transpose_a ? p.lda : 1,
           p.c, 1);
    } else {  // B stored k x n: c = B^T * a.
      Gemv(CblasTrans, p.k, p.n, p.b, p.ldb, p.a, p.transpose_a ? p.lda : 1,
           p.c, 1);
    }
    return true;
  }
  if (p.n == 1) {
    // c (m, stride ldc) = op(A) * b, b = column 0 of op(B): B's first
    // column (stride ldb), or with transpose_b its first row.
    for (int64_t i = 0; i < p.m; ++i) p.c[i * p.ldc] = T{0};
    if (p.transpose_a) {  // A stored k x m: c = A^T * b.
      Gemv(CblasTrans, p.k, p.m, p.a, p.lda, p.b, p.transpose_b ? 1 : p.ldb,
           p.c, p.ldc);
    } else {  // A stored m x k: c = A * b.
      Gemv(CblasNoTrans, p.m, p.k, p.a, p.lda, p.b, p.transpose_b ? 1 : p.ldb,
           p.c, p.ldc);
    }
    return true;
  }
  return false;
}

// oneDNN's sgemm, computed on the calling thread. Debian builds oneDNN on
// OpenMP: the calling thread's OpenMP team size is set to 1 for the call
// (and restored, as a user's OpenMP code on this thread may rely on it), so
// oneDNN runs its serial path and libgomp starts no thread; the process
// keeps one scheduler, oneTBB. False if oneDNN failed (it reports an error
// only when it cannot allocate its packing buffers).
bool OneDnnGemm(const Problem<float>& p) {
  const int outer = omp_get_max_threads();
  if (outer != 1) omp_set_num_threads(1);
  const dnnl_status_t status =
      dnnl_sgemm(p.transpose_a ? 'T' : 'N', p.transpose_b ? 'T' : 'N', p.m, p.n,
                 p.k, 1.0f, p.a, p.lda, p.b, p.ldb, 0.0f, p.c, p.ldc);
  if (outer != 1) omp_set_num_threads(outer);
  return status == dnnl_success;
}

// kAuto's choice for one block, from one-thread measurements of both
// libraries over shapes and transposes (docs/kernels.md): oneDNN's kernel
// is ~10% faster once a block has kGemmInlineFlops multiply-adds and B is
// not transposed; below that its call overhead, and with transpose_b its
// packing, make OpenBLAS faster.
bool UseOneDnn(const Problem<float>& p, GemmBackend backend) {
  switch (backend) {
    case GemmBackend::kOneDNN:
      return true;
    case GemmBackend::kOpenBLAS:
      return false;
    case GemmBackend::kAuto:
      break;
  }
  return !p.transpose_b && p.m * p.n * p.k >= kGemmInlineFlops;
}

void SerialGemm(const Problem<float>& p, GemmBackend backend) {
  if (SerialGemv(p)) return;
  // If oneDNN fails, OpenBLAS computes the block: C is fully overwritten.
  if (UseOneDnn(p, backend) && OneDnnGemm(p)) return;
  cblas_sgemm(CblasRowMajor, p.transpose_a ? CblasTrans : CblasNoTrans,
              p.transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(p.m),
              static_cast<int>(p.n), static_cast<int>(p.k), 1.0f, p.a,
              static_cast<int>(p.lda), p.b, static_cast<int>(p.ldb), 0.0f, p.c,
              static_cast<int>(p.ldc));
}

void SerialGemm(const Problem<double>& p, GemmBackend /*float32 only*/) {
  if (SerialGemv(p)) return;
  cblas_dgemm(CblasRowMajor, p.transpose_a ? CblasTrans : CblasNoTrans,
              p.transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(p.m),
              static_cast<int>(p.n), static_cast<int>(p.k), 1.0, p.a,
              static_cast<int>(p.lda), p.b, static_cast<int>(p.ldb), 0.0, p.c,
              static_cast<int>(p.ldc));
}

// Integer product in the unsigned type: wrap-around, no UB. Row i of C is
// accumulated in a contiguous buffer from rows of op(B); op(B) is packed
// once when B is transposed.
template <typename T>
void SerialGemm(const Problem<T>& p, GemmBackend /*float32 only*/) {
  using U = std::make_unsigned_t<T>;
  std::vector<U> packed_b;
  const U* bp = reinterpret_cast<const U*>(p.b);
  int64_t ldb = p.ldb;
  if (p.transpose_b) {
    packed_b.resize(static_cast<size_t>(p.k * p.n));
    for (int64_t j = 0; j < p.n; ++j) {
      for (int64_t q = 0; q < p.k; ++q) {
        packed_b[q * p.n + j] = static_cast<U>(p.b[j * p.ldb + q]);
      }
    }
    bp = packed_b.data();
    ldb = p.n;
  }
  std::vector<U> row(static_cast<size_t>(p.n));
  for (int64_t i = 0; i < p.m; ++i) {
    std::fill(row.begin(), row.end(), U{0});
    for (int64_t q = 0; q < p.k; ++q) {
      const U aiq = static_cast<U>(p.transpose_a ? p.a[q * p.lda + i]
                                                 : p.a[i * p.lda + q]);
      if (aiq == 0) continue;
      const U* brow = bp + q * ldb;
      for (int64_t j = 0; j < p.n; ++j) row[j] += aiq * brow[j];
    }
    T* crow = p.c + i * p.ldc;
    for (int64_t j = 0; j < p.n; ++j) crow[j] = static_cast<T>(row[j]);
  }
}

template <typename T>
void ZeroC(const Problem<T>& p) {
  for (int64_t i = 0; i < p.m; ++i) std::fill_n(p.c + i * p.ldc, p.n, T{0});
}

// Splits C into a grid of one block per thread (at least kMinBlockDim on
// each side), always cutting the dimension whose blocks are longer, and runs
// the blocks on oneTBB. One block per thread packs the least (measured with
// interleaved repetitions on 2 cores: equal at 1024^3, ~8% faster at 256^3
// than two blocks per thread; four per thread lose 10-15%).
template <typename T>
void RunInArena(const Problem<T>& p, GemmParallelism parallelism,
                GemmBackend backend);

template <typename T>
void Run(const Problem<T>& p, GemmParallelism parallelism,
         GemmBackend backend = GemmBackend::kAuto) {
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    ZeroC(p);
    return;
  }
  if (parallelism == GemmParallelism::kSerial ||
      p.m * p.n * p.k < kGemmInlineFlops) {
    SerialGemm(p, backend);
    return;
  }
  InComputeArena([&] { RunInArena(p, parallelism, backend); });
}

// Run's parallel part, in the calling thread's compute arena.
template <typename T>
void RunInArena(const Problem<T>& p, GemmParallelism parallelism,
                GemmBackend backend) {
  const int threads = tbb::this_task_arena::max_concurrency();
  if (parallelism == GemmParallelism::kSerial || threads <= 1 ||
      p.m * p.n * p.k < kGemmInlineFlops) {
    SerialGemm(p, backend);
    return;
  }
  int64_t grid_rows = 1, grid_cols = 1;
  const int64_t target = threads;
  while (grid_rows * grid_cols < target) {
    const bool can_rows = p.m / (grid_rows + 1) >= kMinBlockDim;
    const bool can_cols = p.n / (grid_cols + 1) >= kMinBlockDim;
    if (can_rows && (!can_cols || p.m / grid_rows >= p.n / grid_cols)) {
      ++grid_rows;
    } else if (can_cols) {
      ++grid_cols;
    } else {
      break;
    }
  }
  const int64_t blocks = grid_rows * grid_cols;
  if (blocks == 1) {
    SerialGemm(p, backend);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, blocks, 1),
      [&](const tbb::blocked_range<int64_t>& range) {
        for (int64_t b = range.begin(); b != range.end(); ++b) {
          const int64_t bi = b / grid_cols, bj = b % grid_cols;
          SerialGemm(Block(p, p.m * bi / grid_rows, p.m * (bi + 1) / grid_rows,
                           p.n * bj / grid_cols, p.n * (bj + 1) / grid_cols),
                     backend);
        }
      },
      tbb::simple_partitioner());
}

template <typename T>
absl::Status GemmImpl(bool transpose_a, bool transpose_b, int64_t m, int64_t n,
                      int64_t k, const T* a, int64_t lda, const T* b,
                      int64_t ldb, T* c, int64_t ldc,
                      GemmParallelism parallelism,
                      GemmBackend backend = GemmBackend::kAuto) {
  const Problem<T> p{transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc};
  if (absl::Status s = Validate("Gemm", p); !s.ok()) return s;
  Run(p, parallelism, backend);
  return absl::OkStatus();
}

}  // namespace

absl::Status Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n,
                  int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc,
                  GemmParallelism parallelism, GemmBackend backend) {
  return GemmImpl(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc,
                  parallelism, backend);
}

absl::Status Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n,
                  int64_t k, const double* a, int64_t lda, const double* b,
                  int64_t ldb, double* c, int64_t ldc,
                  GemmParallelism parallelism) {
  return GemmImpl(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc,
                  parallelism);
}

absl::Status Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n,
                  int64_t k, const int32_t* a, int64_t lda, const int32_t* b,
                  int64_t ldb, int32_t* c, int64_t ldc,
                  GemmParallelism parallelism) {
  return GemmImpl(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc,
                  parallelism);
}

absl::Status Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n,
                  int64_t k, const int64_t* a, int64_t lda, const int64_t* b,
                  int64_t ldb, int64_t* c, int64_t ldc,
                  GemmParallelism parallelism) {
  return GemmImpl(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc,
                  parallelism);
}

template <typename T>
absl::Status BatchMatMul(bool transpose_a, bool transpose_b, int64_t batch,
                         int64_t m, int64_t n, int64_t k, const T* a,
                         const T* b, T* c) {
  const Problem<T> p{transpose_a,
                     transpose_b,
                     m,
                     n,
                     k,
                     a,
                     std::max<int64_t>(1, transpose_a ? m : k),
                     b,
                     std::max<int64_t>(1, transpose_b ? k : n),
                     c,
                     std::max<int64_t>(1, n)};
  if (batch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::BatchMatMul<", TypeName(T{}), ">: negative batch ", batch,
        "; pass the number of matrices in each operand"));
  }
  if (absl::Status s = Validate("BatchMatMul", p, batch > 0); !s.ok()) {
    return s;
  }
  if (MulOverflows(batch, std::max({m * k, k * n, m * n}))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::BatchMatMul<", TypeName(T{}), ">: batch ", batch, " of ", m,
        "x", n, "x", k, " products overflows a 64-bit element count"));
  }
  if (batch == 0) return absl::OkStatus();
  auto item = [&](int64_t i) {
    Problem<T> q = p;
    q.a = a + i * m * k;
    q.b = b + i * k * n;
    q.c = c + i * m * n;
    return q;
  };
  const bool small = m * n * k < kGemmInlineFlops;
  if (small && batch > 1 && batch * m * n * k >= kGemmInlineFlops) {
    // Many small products: one per task, each on one thread.
    InComputeArena([&] {
      tbb::parallel_for(tbb::blocked_range<int64_t>(0, batch),
                        [&](const tbb::blocked_range<int64_t>& range) {
                          for (int64_t i = range.begin(); i != range.end();
                               ++i) {
                            Run(item(i), GemmParallelism::kSerial);
                          }
                        });
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) Run(item(i), GemmParallelism::kAuto);
  }
  return absl::OkStatus();
}

template absl::Status BatchMatMul<float>(bool, bool, int64_t, int64_t, int64_t,
                                         int64_t, const float*, const float*,
                                         float*);
template absl::Status BatchMatMul<double>(bool, bool, int64_t, int64_t, int64_t,
                                          int64_t, const double*, const double*,
                                          double*);
template absl::Status BatchMatMul<int32_t>(bool, bool, int64_t, int64_t,
                                           int64_t, int64_t, const int32_t*,
                                           const int32_t*, int32_t*);
template absl::Status BatchMatMul<int64_t>(bool, bool, int64_t, int64_t,
                                           int64_t, int64_t, const int64_t*,
                                           const int64_t*, int64_t*);

}  // namespace cpu
}  // namespace weft
