// Math kernels against the best baselines available on the machine.
//
//   BM_Gemm_{Weft,WeftOpenBLAS,OpenBLAS,Eigen}/N: float32 N x N x N
//     products. Weft = weft::cpu::Gemm (one serial oneDNN sgemm per block of
//     C over oneTBB); WeftOpenBLAS = the same split with serial OpenBLAS per
//     block (GemmBackend::kOpenBLAS, weft's kernel before oneDNN);
//     OpenBLAS = one cblas_sgemm call on the serial library (one thread);
//     Eigen = Eigen's product on row-major maps (this build's ISA flags).
//   BM_Gemm_{OpenBLASThreaded,OneDNN}/N: the baselines that use their own
//     thread pool on all cores, looked up with dlopen (RTLD_LOCAL |
//     RTLD_DEEPBIND, so their symbols never meet the serial OpenBLAS linked
//     into weft): OpenBLASThreaded = Debian's pthread OpenBLAS
//     (libopenblas0-pthread, /usr/lib/x86_64-linux-gnu/openblas-pthread/
//     libopenblas.so.0); OneDNN = dnnl_sgemm of libdnnl.so.2 (the library
//     weft links too) with its default OpenMP team, called from this
//     thread. Either reports an error (not a figure) when it is missing.
//     Counter GFLOPs = 2 N^3 / time.
//   BM_Add_{Weft,Loop}/n: float32 z = x + y over n elements. Weft = the
//     Highway Add into a buffer taken from the caching allocator on every
//     iteration (as a kernel allocates its output); Loop = a plain loop split
//     into two halves on oneTBB, into a reused buffer. Counter GBps = 3 n 4
//     bytes / time.
//   BM_Softmax_{Weft,Loop}: row-wise softmax of 1024 x 1024 float32.
//     BM_Softmax_Session: the same as one ops::Softmax node run by a
//     Session (feed, kernel, fetch).
//   BM_TransformerBlock: one encoder layer built from weft ops (d_model 256,
//     4 heads, sequence 128, batch 8, FFN 1024 with an Erf GELU, post-norm
//     layer norms from ReduceMean/Rsqrt), float32; the time is the latency
//     of one Session::Run. Counter GFLOPs counts the matrix products only.
//
// Run: bazel run -c opt //tools/bench:kernels_bench --
//        --benchmark_filter='Gemm.*/1024|Add' --benchmark_repetitions=5
//        --benchmark_enable_random_interleaving=true
// (interleave: speed on shared VMs drifts by 20-30% within minutes, and
// without it the first benchmark of each round gets its own moment;
// docs/perf.md compares ratios from interleaved runs only).
#include <cblas.h>
#include <dlfcn.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "kernels/cpu/caching_allocator.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"
#include "oneapi/tbb/partitioner.h"
#include "runtime/session.h"

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

void GemmWeft(benchmark::State& state, weft::cpu::GemmBackend backend) {
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n * n, 1),
                           b = RandomFloats(n * n, 2);
  std::vector<float> c(n * n);
  for (auto _ : state) {
    if (!weft::cpu::Gemm(false, false, n, n, n, a.data(), n, b.data(), n,
                         c.data(), n, weft::cpu::GemmParallelism::kAuto,
                         backend)
             .ok()) {
      state.SkipWithError("Gemm failed");
      break;
    }
    benchmark::DoNotOptimize(c.data());
  }
  SetGflops(state, n);
}

void BM_Gemm_Weft(benchmark::State& state) {
  GemmWeft(state, weft::cpu::GemmBackend::kAuto);
}

void BM_Gemm_WeftOpenBLAS(benchmark::State& state) {
  GemmWeft(state, weft::cpu::GemmBackend::kOpenBLAS);
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

// One row times a square matrix, [1,n]·[n,n] (a one-example MatMul
// layer): reads the n x n matrix once, so the counter is GB/s of it.
void SetMatrixGbps(benchmark::State& state, int64_t n) {
  state.counters["GBps"] = benchmark::Counter(
      4.0 * n * n / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RowTimesMatrix_Weft(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n, 1), b = RandomFloats(n * n, 2);
  std::vector<float> c(n);
  for (auto _ : state) {
    if (!weft::cpu::Gemm(false, false, 1, n, n, a.data(), n, b.data(), n,
                         c.data(), n)
             .ok()) {
      state.SkipWithError("Gemm failed");
      break;
    }
    benchmark::DoNotOptimize(c.data());
  }
  SetMatrixGbps(state, n);
}

// The same product as one sgemm call with m = 1 (weft's path before it
// used gemv): OpenBLAS packs the whole matrix first.
void BM_RowTimesMatrix_OpenBLASGemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n, 1), b = RandomFloats(n * n, 2);
  std::vector<float> c(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, n, n, 1.0f,
                a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  SetMatrixGbps(state, n);
}

void BM_RowTimesMatrix_OpenBLASGemv(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n, 1), b = RandomFloats(n * n, 2);
  std::vector<float> c(n);
  for (auto _ : state) {
    cblas_sgemv(CblasRowMajor, CblasTrans, n, n, 1.0f, b.data(), n, a.data(), 1,
                0.0f, c.data(), 1);
    benchmark::DoNotOptimize(c.data());
  }
  SetMatrixGbps(state, n);
}

// A BLAS-like library opened privately at run time; `fn` is null (and
// `error` says why) when the library or the symbol is missing.
template <typename Fn>
struct DlSymbol {
  Fn* fn = nullptr;
  std::string error;
  DlSymbol(const char* library, const char* symbol) {
    void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle == nullptr) {
      const char* why = dlerror();
      error = std::string("cannot load ") + library + ": " +
              (why != nullptr ? why : "unknown error");
      return;
    }
    fn = reinterpret_cast<Fn*>(dlsym(handle, symbol));  // never closed
    if (fn == nullptr) error = std::string("no ") + symbol + " in " + library;
  }
};

using CblasSgemmFn = void(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE,
                          blasint, blasint, blasint, float, const float*,
                          blasint, const float*, blasint, float, float*,
                          blasint);

// The benchmark body for a GEMM reached through `symbol`: `call(n, a, b, c)`
// computes c = a b for n x n row-major matrices and returns false on
// failure. Reports the missing library as the benchmark's error.
template <typename Fn, typename Call>
void GemmThrough(benchmark::State& state, const DlSymbol<Fn>& symbol,
                 Call call) {
  if (symbol.fn == nullptr) {
    state.SkipWithError(symbol.error.c_str());
    for (auto _ : state) {
    }
    return;
  }
  const int64_t n = state.range(0);
  const std::vector<float> a = RandomFloats(n * n, 1),
                           b = RandomFloats(n * n, 2);
  std::vector<float> c(n * n);
  for (auto _ : state) {
    if (!call(n, a.data(), b.data(), c.data())) {
      state.SkipWithError("the library's sgemm failed");
      break;
    }
    benchmark::DoNotOptimize(c.data());
  }
  SetGflops(state, n);
}

void BM_Gemm_OpenBLASThreaded(benchmark::State& state) {
  static const DlSymbol<CblasSgemmFn> sgemm(
      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
      "cblas_sgemm");
  GemmThrough(state, sgemm,
              [](int64_t n, const float* a, const float* b, float* c) {
                sgemm.fn(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n,
                         1.0f, a, n, b, n, 0.0f, c, n);
                return true;
              });
}

// oneDNN's C API: row-major sgemm; returns dnnl_status_t (0 = success).
using DnnlSgemmFn = int(char, char, int64_t, int64_t, int64_t, float,
                        const float*, int64_t, const float*, int64_t, float,
                        float*, int64_t);

void BM_Gemm_OneDNN(benchmark::State& state) {
  static const DlSymbol<DnnlSgemmFn> sgemm("libdnnl.so.2", "dnnl_sgemm");
  GemmThrough(
      state, sgemm, [](int64_t n, const float* a, const float* b, float* c) {
        return sgemm.fn('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) == 0;
      });
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

void BM_Softmax_Session(benchmark::State& state) {
  namespace ops = weft::ops;
  const std::vector<float> x = RandomFloats(kSoftmaxRows * kSoftmaxCols, 3);
  weft::Graph g = weft::Graph::Create("softmax");
  weft::Tensor in =
      ops::Placeholder(weft::DType::kFloat32,
                       weft::Shape{kSoftmaxRows, kSoftmaxCols}, {.graph = g});
  weft::Tensor y = ops::Softmax(in, {.graph = g});
  absl::StatusOr<weft::NDArray> value =
      weft::NDArray::Create<float>(x, weft::Shape{kSoftmaxRows, kSoftmaxCols});
  auto session = weft::Session::Create(g);
  if (!y.ok() || !value.ok() || !session.ok()) {
    state.SkipWithError("building the Softmax graph failed");
    return;
  }
  const weft::Feeds feeds = {{in, *value}};
  for (auto _ : state) {
    auto out = (*session)->Run(feeds, {y});
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(out->front().raw_data());
  }
  state.SetItemsProcessed(state.iterations() * x.size());
}

// One post-norm transformer encoder layer, built from weft ops.
struct TransformerBlock {
  static constexpr int64_t kBatch = 8, kSeq = 128, kModel = 256, kHeads = 4,
                           kHeadDim = kModel / kHeads, kFfn = 4 * kModel;
  weft::Graph graph = weft::Graph::Create("transformer");
  weft::Tensor input;   // [batch * seq, model]
  weft::Tensor output;  // [batch * seq, model]

  TransformerBlock() {
    namespace ops = weft::ops;
    using weft::Shape;
    using weft::Tensor;
    const weft::OpOptions in{.graph = graph};
    uint32_t seed = 10;
    auto weight = [&](int64_t rows, int64_t cols) {
      const float scale = 1.0f / std::sqrt(static_cast<float>(rows));
      std::vector<float> v = RandomFloats(rows * cols, seed++);
      for (float& f : v) f *= scale;
      return ops::Const(*weft::NDArray::Create<float>(v, Shape{rows, cols}),
                        in);
    };
    auto vec = [&](int64_t n, float value) {
      return ops::Const(
          *weft::NDArray::Create<float>(std::vector<float>(n, value), Shape{n}),
          in);
    };
    auto scalar = [&](float value) {
      return ops::Const(weft::NDArray::Scalar<float>(value), in);
    };
    auto dense = [&](const Tensor& x, int64_t from, int64_t to) {
      return ops::Add(ops::MatMul(x, weight(from, to), in), vec(to, 0.01f), in);
    };
    const int64_t rows = kBatch * kSeq;
    auto layer_norm = [&](const Tensor& x) {
      Tensor mean = ops::Reshape(ops::ReduceMean(x, {1}, in), {rows, 1}, in);
      Tensor centered = ops::Sub(x, mean, in);
      Tensor var = ops::Reshape(
          ops::ReduceMean(ops::Square(centered, in), {1}, in), {rows, 1}, in);
      Tensor normed = ops::Mul(
          centered, ops::Rsqrt(ops::Add(var, scalar(1e-5f), in), in), in);
      return ops::Add(ops::Mul(normed, vec(kModel, 1.0f), in),
                      vec(kModel, 0.0f), in);
    };
    // [rows, model] -> [batch, heads, seq, head_dim]
    auto split_heads = [&](const Tensor& x) {
      return ops::Transpose(
          ops::Reshape(x, {kBatch, kSeq, kHeads, kHeadDim}, in), {0, 2, 1, 3},
          in);
    };
    input = ops::Placeholder(weft::DType::kFloat32, Shape{rows, kModel}, in);
    Tensor q = split_heads(dense(input, kModel, kModel));
    Tensor k = split_heads(dense(input, kModel, kModel));
    Tensor v = split_heads(dense(input, kModel, kModel));
    Tensor scores = ops::Mul(ops::BatchMatMul(q, k, false, true, in),
                             scalar(1.0f / std::sqrt(float{kHeadDim})), in);
    Tensor context = ops::BatchMatMul(ops::Softmax(scores, in), v, in);
    Tensor merged = ops::Reshape(ops::Transpose(context, {0, 2, 1, 3}, in),
                                 {rows, kModel}, in);
    Tensor h1 = layer_norm(ops::Add(input, dense(merged, kModel, kModel), in));
    // GELU(x) = x / 2 * (1 + erf(x / sqrt(2))).
    Tensor f = dense(h1, kModel, kFfn);
    Tensor gelu = ops::Mul(
        ops::Mul(f, scalar(0.5f), in),
        ops::Add(scalar(1.0f),
                 ops::Erf(ops::Mul(f, scalar(0.70710678f), in), in), in),
        in);
    output = layer_norm(ops::Add(h1, dense(gelu, kFfn, kModel), in));
  }

  // Multiply-adds x 2 of the matrix products.
  static double Flops() {
    const double rows = kBatch * kSeq;
    return 2.0 * (4 * rows * kModel * kModel + 2 * rows * kModel * kFfn +
                  2.0 * kBatch * kHeads * kSeq * kSeq * kHeadDim);
  }
};

void BM_TransformerBlock(benchmark::State& state) {
  TransformerBlock block;
  if (!block.output.ok()) {
    state.SkipWithError(std::string(block.output.status().message()).c_str());
    return;
  }
  const int64_t rows = TransformerBlock::kBatch * TransformerBlock::kSeq;
  absl::StatusOr<weft::NDArray> x = weft::NDArray::Create<float>(
      RandomFloats(rows * TransformerBlock::kModel, 99),
      weft::Shape{rows, TransformerBlock::kModel});
  auto session = weft::Session::Create(block.graph);
  if (!x.ok() || !session.ok()) {
    state.SkipWithError("creating the session failed");
    return;
  }
  const weft::Feeds feeds = {{block.input, *x}};
  // One checked run: the right shape and finite, layer-normed values.
  auto first = (*session)->Run(feeds, {block.output});
  if (!first.ok()) {
    state.SkipWithError(std::string(first.status().message()).c_str());
    return;
  }
  const weft::NDArray& y = first->front();
  double sum = 0, sum_sq = 0;
  for (float v : y.values<float>()) {
    sum += v;
    sum_sq += double{v} * v;
  }
  const double n = static_cast<double>(y.num_elements());
  if (y.shape() != block.output.shape() || !std::isfinite(sum_sq) ||
      std::abs(sum / n) > 1e-3 || std::abs(sum_sq / n - 1) > 1e-2) {
    state.SkipWithError("the transformer block computed a wrong result");
    return;
  }
  for (auto _ : state) {
    auto out = (*session)->Run(feeds, {block.output});
    if (!out.ok()) {
      state.SkipWithError(std::string(out.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(out->front().raw_data());
  }
  state.counters["GFLOPs"] =
      benchmark::Counter(TransformerBlock::Flops() / 1e9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_RowTimesMatrix_Weft)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RowTimesMatrix_OpenBLASGemm)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RowTimesMatrix_OpenBLASGemv)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm_Weft)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm_WeftOpenBLAS)
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
BENCHMARK(BM_Gemm_OpenBLASThreaded)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm_OneDNN)
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
BENCHMARK(BM_Softmax_Session)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TransformerBlock)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
