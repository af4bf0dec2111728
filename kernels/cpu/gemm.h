// gemm.h — dense matrix products on the CPU: Gemm (C = op(A) * op(B)) for
// float, double, int32 and int64, and BatchMatMul over equal batch
// dimensions.
//
// Floating point is one serial BLAS call per block of C; the blocks run on
// oneTBB, in the caller's task arena, so the process keeps one scheduler.
// float32 blocks go to oneDNN's sgemm (its JIT kernels are picked for the CPU
// at run time; called with one OpenMP thread, so it starts no threads) when
// they are large and B is not transposed, and otherwise to Debian's serial
// OpenBLAS (runtime CPU dispatch, no thread pool of its own), which also
// computes float64 and every one-row or one-column product (gemv). Small
// products (under kGemmInlineFlops) run as one call on the calling thread.
// The first oneDNN call in a process generates its kernels (~30 ms). Integers
// use a blocked loop computed in the unsigned type, so overflow wraps around
// (two's complement) without undefined behaviour.
//
// All matrices are row-major with leading dimensions (row strides) in
// elements. op(A) is m x k, op(B) is k x n, C is m x n and is overwritten.
//
//   std::vector<float> a(m * k), b(k * n), c(m * n);
//   absl::Status s = weft::cpu::Gemm(/*transpose_a=*/false,
//                                    /*transpose_b=*/false, m, n, k,
//                                    a.data(), k, b.data(), n, c.data(), n);
//
// Thread safety: every function is reentrant; concurrent calls may share the
// inputs but not the output.
#ifndef WEFT_KERNELS_CPU_GEMM_H_
#define WEFT_KERNELS_CPU_GEMM_H_

#include <cstdint>

#include "absl/status/status.h"

namespace weft {
namespace cpu {

// Products with fewer multiply-adds than this (m * n * k) run on the calling
// thread as a single call; larger ones are split into blocks over oneTBB.
inline constexpr int64_t kGemmInlineFlops = int64_t{1} << 21;  // 128^3

// Whether a product may be split over oneTBB workers.
enum class GemmParallelism { kAuto, kSerial };

// Which library computes a float32 block of C (float64 is always OpenBLAS;
// one-row and one-column blocks are always OpenBLAS's gemv).
enum class GemmBackend {
  // oneDNN for blocks of at least kGemmInlineFlops multiply-adds with B not
  // transposed, OpenBLAS for the rest: the faster library for each shape on
  // this hardware class (docs/kernels.md has the measurements).
  kAuto,
  kOpenBLAS,  // Every block: weft's kernel before oneDNN (benchmarks, tests).
  kOneDNN,    // Every block; falls back to OpenBLAS if oneDNN fails.
};

// C[m, n] = op(A) * op(B), where op(A) = A (m x k, row stride lda) or, with
// transpose_a, A^T for A stored as k x m (row stride lda); likewise op(B) =
// B (k x n, ldb) or B^T for B stored as n x k. C has row stride ldc.
// Returns InvalidArgument for negative sizes, too-small leading dimensions,
// null pointers with a non-empty product, or (float/double) sizes above the
// BLAS's 32-bit index range.
[[nodiscard]] absl::Status Gemm(
    bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
    const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
    int64_t ldc, GemmParallelism parallelism = GemmParallelism::kAuto,
    GemmBackend backend = GemmBackend::kAuto);
[[nodiscard]] absl::Status Gemm(
    bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
    const double* a, int64_t lda, const double* b, int64_t ldb, double* c,
    int64_t ldc, GemmParallelism parallelism = GemmParallelism::kAuto);
[[nodiscard]] absl::Status Gemm(
    bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
    const int32_t* a, int64_t lda, const int32_t* b, int64_t ldb, int32_t* c,
    int64_t ldc, GemmParallelism parallelism = GemmParallelism::kAuto);
[[nodiscard]] absl::Status Gemm(
    bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
    const int64_t* a, int64_t lda, const int64_t* b, int64_t ldb, int64_t* c,
    int64_t ldc, GemmParallelism parallelism = GemmParallelism::kAuto);

// For each of `batch` problems i: C_i = op(A_i) * op(B_i), with the batches
// stored densely one after another: A_i at a + i * m * k (stored m x k, or
// k x m with transpose_a), B_i at b + i * k * n (k x n, or n x k with
// transpose_b), C_i at c + i * m * n. Many small products run in parallel
// over the batch (each on one thread); large ones one after another, each
// split over oneTBB.
template <typename T>
[[nodiscard]] absl::Status BatchMatMul(bool transpose_a, bool transpose_b,
                                       int64_t batch, int64_t m, int64_t n,
                                       int64_t k, const T* a, const T* b, T* c);

extern template absl::Status BatchMatMul<float>(bool, bool, int64_t, int64_t,
                                                int64_t, int64_t, const float*,
                                                const float*, float*);
extern template absl::Status BatchMatMul<double>(bool, bool, int64_t, int64_t,
                                                 int64_t, int64_t,
                                                 const double*, const double*,
                                                 double*);
extern template absl::Status BatchMatMul<int32_t>(bool, bool, int64_t, int64_t,
                                                  int64_t, int64_t,
                                                  const int32_t*,
                                                  const int32_t*, int32_t*);
extern template absl::Status BatchMatMul<int64_t>(bool, bool, int64_t, int64_t,
                                                  int64_t, int64_t,
                                                  const int64_t*,
                                                  const int64_t*, int64_t*);

}  // namespace cpu
}  // namespace weft

#endif  // WEFT_KERNELS_CPU_GEMM_H_
