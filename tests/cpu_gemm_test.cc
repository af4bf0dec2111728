// Tests of kernels/cpu/gemm.h: hand-computed products, naive-loop
// comparisons over odd sizes, transposes and padded leading dimensions, the
// parallel split, one-row and one-column products (gemv), both float32
// backends (oneDNN, OpenBLAS) and what oneDNN may not do to the process,
// integer wrap-around, BatchMatMul, concurrent callers and the error
// messages.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <limits>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/gemm.h"

namespace weft {
namespace cpu {
namespace {

using ::testing::HasSubstr;

// A matrix stored row-major with a row stride >= its columns.
template <typename T>
struct Stored {
  int64_t rows, cols, ld;
  std::vector<T> data;
  T at(int64_t r, int64_t c) const { return data[r * ld + c]; }
};

template <typename T>
Stored<T> Random(int64_t rows, int64_t cols, int64_t pad, std::mt19937& rng) {
  Stored<T> s{rows, cols, cols + pad, {}};
  s.data.resize(static_cast<size_t>(std::max<int64_t>(1, rows * s.ld)));
  std::uniform_int_distribution<int> dist(-8, 8);
  for (T& v : s.data) v = static_cast<T>(dist(rng));
  return s;
}

// op(A)(i, q) with A stored as given.
template <typename T>
T OpAt(const Stored<T>& s, bool transpose, int64_t r, int64_t c) {
  return transpose ? s.at(c, r) : s.at(r, c);
}

// C's padding starts as 77 and must stay so; C itself starts as 77 or, with
// `nan_c` (floating point), as NaN, like an uninitialized output buffer.
template <typename T>
void CheckAgainstNaive(int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                       int64_t pad, uint32_t seed, bool nan_c = false,
                       GemmBackend backend = GemmBackend::kAuto) {
  SCOPED_TRACE(::testing::Message()
               << "m=" << m << " n=" << n << " k=" << k << " ta=" << ta
               << " tb=" << tb << " pad=" << pad << " nan_c=" << nan_c
               << " backend=" << static_cast<int>(backend));
  std::mt19937 rng(seed);
  const Stored<T> a =
      ta ? Random<T>(k, m, pad, rng) : Random<T>(m, k, pad, rng);
  const Stored<T> b =
      tb ? Random<T>(n, k, pad, rng) : Random<T>(k, n, pad, rng);
  const int64_t ldc = n + pad;
  std::vector<T> c(static_cast<size_t>(std::max<int64_t>(1, m * ldc)), T{77});
  if constexpr (std::numeric_limits<T>::has_quiet_NaN) {
    for (int64_t i = 0; nan_c && i < m; ++i) {
      std::fill_n(c.begin() + i * ldc, n, std::numeric_limits<T>::quiet_NaN());
    }
  }
  if constexpr (std::is_same_v<T, float>) {
    ASSERT_TRUE(Gemm(ta, tb, m, n, k, a.data.data(), a.ld, b.data.data(), b.ld,
                     c.data(), ldc, GemmParallelism::kAuto, backend)
                    .ok());
  } else {
    ASSERT_TRUE(Gemm(ta, tb, m, n, k, a.data.data(), a.ld, b.data.data(), b.ld,
                     c.data(), ldc)
                    .ok());
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t q = 0; q < k; ++q) {
        want += static_cast<double>(OpAt(a, ta, i, q)) *
                static_cast<double>(OpAt(b, tb, q, j));
      }
      // Small integers: every product and partial sum is exact.
      ASSERT_EQ(static_cast<double>(c[i * ldc + j]), want)
          << "at (" << i << ", " << j << ")";
    }
    for (int64_t j = n; j < ldc; ++j) {
      ASSERT_EQ(c[i * ldc + j], T{77}) << "padding of C was written";
    }
  }
}

TEST(Gemm, HandComputedFloat) {
  // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154].
  const float a[] = {1, 2, 3, 4, 5, 6};
  const float b[] = {7, 8, 9, 10, 11, 12};
  float c[4] = {};
  ASSERT_TRUE(Gemm(false, false, 2, 2, 3, a, 3, b, 2, c, 2).ok());
  EXPECT_THAT(c, ::testing::ElementsAre(58, 64, 139, 154));
  // A^T with A stored 3 x 2: A^T = [1 3 5; 2 4 6]; times B = [89 98; 116 128].
  const float at[] = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(Gemm(true, false, 2, 2, 3, at, 2, b, 2, c, 2).ok());
  EXPECT_THAT(c, ::testing::ElementsAre(89, 98, 116, 128));
}

TEST(Gemm, HandComputedDoubleTransposedB) {
  // [1 2; 3 4] * [5 6; 7 8]^T = [17 23; 39 53].
  const double a[] = {1, 2, 3, 4};
  const double b[] = {5, 6, 7, 8};
  double c[4] = {};
  ASSERT_TRUE(Gemm(false, true, 2, 2, 2, a, 2, b, 2, c, 2).ok());
  EXPECT_THAT(c, ::testing::ElementsAre(17, 23, 39, 53));
}

TEST(Gemm, MatchesNaiveLoopOnOddSizesAndTransposes) {
  const int64_t sizes[][3] = {{1, 1, 1},    {1, 7, 3},   {7, 1, 5},
                              {5, 3, 1},    {17, 33, 9}, {33, 65, 129},
                              {64, 64, 64}, {3, 257, 31}};
  uint32_t seed = 1;
  for (const auto& s : sizes) {
    for (int t = 0; t < 4; ++t) {
      CheckAgainstNaive<float>(s[0], s[1], s[2], t & 1, t & 2, t, ++seed);
      CheckAgainstNaive<double>(s[0], s[1], s[2], t & 1, t & 2, 1, ++seed);
      CheckAgainstNaive<int32_t>(s[0], s[1], s[2], t & 1, t & 2, 2, ++seed);
      CheckAgainstNaive<int64_t>(s[0], s[1], s[2], t & 1, t & 2, 0, ++seed);
    }
  }
}

TEST(Gemm, ParallelSplitMatchesNaiveLoop) {
  // Above kGemmInlineFlops: split over rows, columns, or both.
  const int64_t sizes[][3] = {
      {257, 131, 97}, {129, 300, 70}, {70, 513, 80}, {400, 64, 100}};
  uint32_t seed = 100;
  for (const auto& s : sizes) {
    ASSERT_GE(s[0] * s[1] * s[2], kGemmInlineFlops);
    for (int t = 0; t < 4; ++t) {
      CheckAgainstNaive<float>(s[0], s[1], s[2], t & 1, t & 2, 3, ++seed);
      CheckAgainstNaive<double>(s[0], s[1], s[2], t & 1, t & 2, 0, ++seed);
      CheckAgainstNaive<int32_t>(s[0], s[1], s[2], t & 1, t & 2, 1, ++seed);
    }
  }
}

// One-row and one-column products go to BLAS gemv (serial, and per block
// when split): every transpose and stride, C overwritten even where it held
// NaN (a BLAS may compute beta * C with beta = 0).
TEST(Gemm, MatrixVectorProductsMatchNaiveLoopAndOverwriteC) {
  const int64_t sizes[][3] = {{1, 1, 1},     {1, 300, 7}, {1, 7, 300},
                              {300, 1, 7},   {7, 1, 300}, {1, 4096, 600},
                              {4096, 1, 600}};
  uint32_t seed = 300;
  for (const auto& s : sizes) {
    const bool large = s[0] * s[1] * s[2] >= kGemmInlineFlops;
    for (int t = 0; t < 4; ++t) {
      for (int64_t pad : {0, 3}) {
        if (large && pad > 0) continue;  // Keeps the test short under ASan.
        CheckAgainstNaive<float>(s[0], s[1], s[2], t & 1, t & 2, pad, ++seed,
                                 /*nan_c=*/true);
        CheckAgainstNaive<double>(s[0], s[1], s[2], t & 1, t & 2, pad, ++seed,
                                  /*nan_c=*/true);
      }
    }
  }
  // The last two are above kGemmInlineFlops: split into per-block gemvs.
  ASSERT_GE(int64_t{4096} * 600, kGemmInlineFlops);
}

// Each float32 backend forced on every block: small and large blocks, every
// transpose, padded strides, C starting as NaN (oneDNN and OpenBLAS must
// not compute beta * C with beta = 0). kAuto picks per block, so without
// this a backend's transposed or small cases might never run.
TEST(Gemm, EachFloatBackendMatchesNaiveLoop) {
  const int64_t sizes[][3] = {{2, 3, 4}, {17, 33, 9}, {130, 140, 150}};
  uint32_t seed = 500;
  for (GemmBackend backend : {GemmBackend::kOneDNN, GemmBackend::kOpenBLAS}) {
    for (const auto& s : sizes) {
      for (int t = 0; t < 4; ++t) {
        CheckAgainstNaive<float>(s[0], s[1], s[2], t & 1, t & 2, t, ++seed,
                                 /*nan_c=*/true, backend);
      }
    }
  }
}

int ThreadsInProcess() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<int>(std::distance(begin(tasks), end(tasks)));
}

// oneDNN is built on OpenMP: weft runs it with a team of one, so libgomp
// starts no thread (oneTBB stays the only scheduler), and the calling
// thread's own OpenMP setting is what it was.
TEST(Gemm, OneDnnStartsNoThreadAndKeepsTheCallersOpenMPSetting) {
  const int64_t n = 256;
  std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n);
  omp_set_num_threads(3);
  const int before = ThreadsInProcess();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Gemm(false, false, n, n, n, a.data(), n, b.data(), n, c.data(),
                     n, GemmParallelism::kSerial, GemmBackend::kOneDNN)
                    .ok());
  }
  EXPECT_EQ(ThreadsInProcess(), before);
  EXPECT_EQ(omp_get_max_threads(), 3);
  EXPECT_THAT(c, ::testing::Each(128.0f));
}

TEST(Gemm, SerialAndParallelAgreeBitwise) {
  std::mt19937 rng(7);
  const int64_t m = 300, n = 200, k = 150;
  std::vector<float> a(m * k), b(k * n), c1(m * n), c2(m * n);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  ASSERT_TRUE(Gemm(false, false, m, n, k, a.data(), k, b.data(), n, c1.data(),
                   n, GemmParallelism::kSerial)
                  .ok());
  ASSERT_TRUE(
      Gemm(false, false, m, n, k, a.data(), k, b.data(), n, c2.data(), n).ok());
  // Each element is one dot product over the same k in both: OpenBLAS's
  // kernels may still block k differently, so allow rounding.
  for (int64_t i = 0; i < m * n; ++i) {
    ASSERT_NEAR(c1[i], c2[i], 1e-4f) << i;
  }
}

TEST(Gemm, IntegerOverflowWrapsAround) {
  const int32_t big = std::numeric_limits<int32_t>::max();
  // [max max] * [2; 3] = 5 * max, modulo 2^32.
  const int32_t a[] = {big, big};
  const int32_t b[] = {2, 3};
  int32_t c = 0;
  ASSERT_TRUE(Gemm(false, false, 1, 1, 2, a, 2, b, 1, &c, 1).ok());
  const uint32_t want = 5u * static_cast<uint32_t>(big);
  EXPECT_EQ(c, static_cast<int32_t>(want));

  const int64_t big64 = std::numeric_limits<int64_t>::min();
  const int64_t a64[] = {big64, -1};
  const int64_t b64[] = {-1, big64};
  int64_t c64 = 0;
  ASSERT_TRUE(Gemm(false, false, 1, 1, 2, a64, 2, b64, 1, &c64, 1).ok());
  // min * -1 wraps to min; plus -1 * min = min: 2 * min wraps to 0.
  EXPECT_EQ(c64, 0);
}

TEST(Gemm, EmptyInnerDimensionZeroesC) {
  float c[6] = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(Gemm(false, false, 2, 3, 0, static_cast<const float*>(nullptr), 1,
                   static_cast<const float*>(nullptr), 3, c, 3)
                  .ok());
  EXPECT_THAT(c, ::testing::Each(0.0f));
  // An empty C touches nothing.
  EXPECT_TRUE(Gemm(false, false, 0, 3, 4, static_cast<const float*>(nullptr), 4,
                   static_cast<const float*>(nullptr), 3,
                   static_cast<float*>(nullptr), 3)
                  .ok());
}

TEST(Gemm, ConcurrentCallersGetCorrectProducts) {
  // Debian's serial OpenBLAS races in its buffer allocator when two threads
  // call it at once; openblas_guard.cc serializes that allocator. oneDNN
  // must be safe to call concurrently as it is.
  for (GemmBackend backend : {GemmBackend::kOpenBLAS, GemmBackend::kOneDNN}) {
    SCOPED_TRACE(static_cast<int>(backend));
    const int64_t n = 48;
    std::vector<float> a(n * n), b(n * n), want(n * n);
    for (int64_t i = 0; i < n * n; ++i) {
      a[i] = static_cast<float>(i % 7 - 3);
      b[i] = static_cast<float>(i % 5 - 2);
    }
    ASSERT_TRUE(
        Gemm(false, false, n, n, n, a.data(), n, b.data(), n, want.data(), n)
            .ok());
    std::vector<int> wrong(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::vector<float> c(n * n);
        for (int it = 0; it < 3000; ++it) {
          if (!Gemm(false, false, n, n, n, a.data(), n, b.data(), n, c.data(),
                    n, GemmParallelism::kAuto, backend)
                   .ok() ||
              c != want) {
            ++wrong[t];
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_THAT(wrong, ::testing::Each(0));
  }
}

TEST(Gemm, RejectsSmallLeadingDimension) {
  float a[6] = {}, b[6] = {}, c[4] = {};
  absl::Status s = Gemm(false, false, 2, 2, 3, a, 2, b, 2, c, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("weft::cpu::Gemm<float32>: lda=2 is smaller than the "
                        "3 columns of its matrix (k, A is stored m x k); pass "
                        "the row stride in elements, at least 3"));
  s = Gemm(true, false, 2, 2, 3, a, 1, b, 2, c, 2);
  EXPECT_THAT(s.message(), HasSubstr("A is stored k x m with transpose_a"));
  s = Gemm(false, false, 2, 2, 3, a, 3, b, 2, c, 1);
  EXPECT_THAT(s.message(), HasSubstr("ldc=1 is smaller than the 2 columns"));
}

TEST(Gemm, RejectsNegativeSizesAndNullBuffers) {
  double c[1] = {};
  absl::Status s = Gemm(false, false, -1, 1, 1, c, 1, c, 1, c, 1);
  EXPECT_THAT(s.message(),
              HasSubstr("weft::cpu::Gemm<float64>: negative size (m=-1"));
  s = Gemm(false, false, 1, 1, 1, static_cast<const double*>(nullptr), 1, c, 1,
           c, 1);
  EXPECT_THAT(s.message(), HasSubstr("null A or B for a non-empty 1x1x1"));
  const int64_t huge = int64_t{1} << 32;
  s = Gemm(false, false, 1, 1, huge, c, huge, c, 1, c, 1);
  EXPECT_THAT(s.message(), HasSubstr("exceeds the BLAS's 32-bit index"));
}

template <typename T>
void CheckBatch(int64_t batch, int64_t m, int64_t n, int64_t k, bool ta,
                bool tb) {
  SCOPED_TRACE(::testing::Message()
               << "batch=" << batch << " m=" << m << " n=" << n << " k=" << k);
  std::mt19937 rng(static_cast<uint32_t>(batch * 31 + m));
  std::uniform_int_distribution<int> dist(-4, 4);
  std::vector<T> a(batch * m * k), b(batch * k * n), c(batch * m * n);
  for (T& v : a) v = static_cast<T>(dist(rng));
  for (T& v : b) v = static_cast<T>(dist(rng));
  ASSERT_TRUE(
      BatchMatMul(ta, tb, batch, m, n, k, a.data(), b.data(), c.data()).ok());
  for (int64_t p = 0; p < batch; ++p) {
    const T* ap = a.data() + p * m * k;
    const T* bp = b.data() + p * k * n;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        T want = 0;
        for (int64_t q = 0; q < k; ++q) {
          want += (ta ? ap[q * m + i] : ap[i * k + q]) *
                  (tb ? bp[j * k + q] : bp[q * n + j]);
        }
        ASSERT_EQ(c[p * m * n + i * n + j], want)
            << "batch " << p << " (" << i << ", " << j << ")";
      }
    }
  }
}

TEST(BatchMatMul, MatchesPerItemProducts) {
  for (int t = 0; t < 4; ++t) {
    // Many small products: parallel over the batch.
    CheckBatch<float>(64, 16, 24, 40, t & 1, t & 2);
    CheckBatch<int32_t>(64, 9, 5, 7, t & 1, t & 2);
    // Few large products: each split internally.
    CheckBatch<double>(2, 150, 140, 130, t & 1, t & 2);
    CheckBatch<int64_t>(3, 3, 2, 1, t & 1, t & 2);
  }
}

TEST(BatchMatMul, RejectsNegativeBatch) {
  float x[1] = {};
  absl::Status s = BatchMatMul<float>(false, false, -2, 1, 1, 1, x, x, x);
  EXPECT_THAT(s.message(),
              HasSubstr("weft::cpu::BatchMatMul<float32>: negative batch -2"));
  EXPECT_TRUE(
      BatchMatMul<float>(false, false, 0, 1, 1, 1, nullptr, nullptr, nullptr)
          .ok());
}

}  // namespace
}  // namespace cpu
}  // namespace weft
