// Math kernels against the best baselines available on the machine.
//
//   BM_Gemm_{Weft,OpenBLAS,Eigen}/N: float32 N x N x N products.
//     Weft = weft::cpu::Gemm (serial OpenBLAS per block of C over oneTBB);
//     OpenBLAS = one cblas_sgemm call on the serial library (one thread);
//     Eigen = Eigen's product on row-major maps (this build's ISA flags).
//     Counter GFLOPs = 2 N^3 / time.
//   BM_Add_{Weft,Loop}/n: float32 z = x + y over n elements. Weft = the
//     Highway Add into a buffer taken from the caching allocator on every
//     iteration (as a kernel allocates its output); Loop = a plain loop split
//     into two halves on oneTBB, into a reused buffer. Counter GBps = 3 n 4
//     bytes / time.
//   BM_Softmax_{Weft,Loop}: row-wise softmax of 1024 x 1024 float32.
//
// Run: bazel run -c opt //tools/bench:kernels_bench --
//        --benchmark_filter='Gemm.*/1024|Add' --benchmark_repetitions=3
#include <cblas.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/cpu/caching_allocator.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"
#include "oneapi/tbb/partitioner.h"

namespace {

std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void SetGflops(benchmark::State& state, int64_t n) {
  state.counters["GFLOPs"] = benchmark::Counter(
      2.0 * n * n * n / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gemm_Weft(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n * n, 1),
                           b = RandomFloats(n * n, 2);
  std::vector<float> c(n * n);
  for (auto _ : state) {
    if (!weft::cpu::Gemm(false, false, n, n, n, a.data(), n, b.data(), n,
                         c.data(), n)
             .ok()) {
      state.SkipWithError("Gemm failed");
      break;
    }
    benchmark::DoNotOptimize(c.data());
  }
  SetGflops(state, n);
}

void BM_Gemm_OpenBLAS(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n * n, 1),
                           b = RandomFloats(n * n, 2);
  std::vector<float> c(n * n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  SetGflops(state, n);
}

void BM_Gemm_Eigen(benchmark::State& state) {
  using Matrix =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n * n, 1),
                           b = RandomFloats(n * n, 2);
  std::vector<float> c(n * n);
  Eigen::Map<const Matrix> ma(a.data(), n, n), mb(b.data(), n, n);
  Eigen::Map<Matrix> mc(c.data(), n, n);
  for (auto _ : state) {
    mc.noalias() = ma * mb;
    benchmark::DoNotOptimize(c.data());
  }
  SetGflops(state, n);
}

void SetGbps(benchmark::State& state, int64_t n) {
  state.counters["GBps"] =
      benchmark::Counter(3.0 * n * sizeof(float) / 1e9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Add_Weft(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = RandomFloats(n, 1), y = RandomFloats(n, 2);
  weft::cpu::CachingAllocator& alloc = weft::cpu::CachingAllocator::Default();
  for (auto _ : state) {
    absl::StatusOr<std::shared_ptr<void>> out =
        alloc.Allocate(n * sizeof(float));
    if (!out.ok() ||
        !weft::cpu::Binary(weft::cpu::BinaryOp::kAdd, x.data(), y.data(),
                           static_cast<float*>(out->get()), n)
             .ok()) {
      state.SkipWithError("Add failed");
      break;
    }
    benchmark::DoNotOptimize(out->get());
  }
  SetGbps(state, n);
}

void BM_Add_Loop(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = RandomFloats(n, 1), y = RandomFloats(n, 2);
  std::vector<float> out(n);
  for (auto _ : state) {
    tbb::parallel_for(
        tbb::blocked_range<int64_t>(0, n, n / 2 + 1),
        [&](const tbb::blocked_range<int64_t>& r) {
          for (int64_t i = r.begin(); i != r.end(); ++i) {
            out[i] = x[i] + y[i];
          }
        },
        tbb::static_partitioner());
    benchmark::DoNotOptimize(out.data());
  }
  SetGbps(state, n);
}

constexpr int64_t kSoftmaxRows = 1024, kSoftmaxCols = 1024;

void BM_Softmax_Weft(benchmark::State& state) {
  const std::vector<float> x = RandomFloats(kSoftmaxRows * kSoftmaxCols, 3);
  std::vector<float> out(x.size());
  for (auto _ : state) {
    if (!weft::cpu::Softmax(x.data(), out.data(), kSoftmaxRows, kSoftmaxCols)
             .ok()) {
      state.SkipWithError("Softmax failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * x.size());
}

void BM_Softmax_Loop(benchmark::State& state) {
  const std::vector<float> x = RandomFloats(kSoftmaxRows * kSoftmaxCols, 3);
  std::vector<float> out(x.size());
  for (auto _ : state) {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, kSoftmaxRows),
                      [&](const tbb::blocked_range<int64_t>& r) {
                        for (int64_t row = r.begin(); row != r.end(); ++row) {
                          const float* xr = x.data() + row * kSoftmaxCols;
                          float* yr = out.data() + row * kSoftmaxCols;
                          const float max =
                              *std::max_element(xr, xr + kSoftmaxCols);
                          float sum = 0;
                          for (int64_t j = 0; j < kSoftmaxCols; ++j) {
                            yr[j] = std::exp(xr[j] - max);
                            sum += yr[j];
                          }
                          const float inv = 1 / sum;
                          for (int64_t j = 0; j < kSoftmaxCols; ++j) {
                            yr[j] *= inv;
                          }
                        }
                      });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * x.size());
}

BENCHMARK(BM_Gemm_Weft)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm_OpenBLAS)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm_Eigen)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Add_Weft)
    ->Arg(1 << 20)
    ->Arg(1 << 24)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Add_Loop)
    ->Arg(1 << 20)
    ->Arg(1 << 24)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Softmax_Weft)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Softmax_Loop)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
