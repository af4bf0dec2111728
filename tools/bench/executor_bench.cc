// Executor benchmarks: per-node overhead of a Session run against the same
// DAG as raw tbb::flow::graph continue_nodes and as a plain sequential loop,
// the fixed cost of one Run, MatMul against Eigen called directly, and
// throughput with concurrent client threads. Run with -c opt; see
// docs/perf.md for the command and the figures.
#include <chrono>
#include <memory>
#include <vector>

#include "Eigen/Core"
#include "absl/synchronization/notification.h"
#include "benchmark/benchmark.h"
#include "oneapi/tbb/flow_graph.h"
#include "weft.h"

namespace weft {
namespace {

// A DAG as predecessor lists, in topological order. Node 0 is the only
// source; the last node is the only sink. The first predecessor is the data
// input (Identity's argument); the rest are control dependencies.
struct Dag {
  std::vector<std::vector<int>> preds;
  int size() const { return static_cast<int>(preds.size()); }
};

Dag LinearChain(int n) {
  Dag d;
  d.preds.resize(n);
  for (int i = 1; i < n; ++i) d.preds[i] = {i - 1};
  return d;
}

// Source -> (n - 2) independent middles -> sink (data from the source,
// control from every middle).
Dag FanOutFanIn(int n) {
  Dag d;
  d.preds.resize(n);
  for (int i = 1; i < n - 1; ++i) d.preds[i] = {0};
  d.preds[n - 1].push_back(0);
  for (int i = 1; i < n - 1; ++i) d.preds[n - 1].push_back(i);
  return d;
}

// A complete binary out-tree of `depth` levels, plus a sink depending on
// every leaf.
Dag BinaryTree(int depth) {
  const int tree = (1 << depth) - 1;
  Dag d;
  d.preds.resize(tree + 1);
  for (int i = 1; i < tree; ++i) d.preds[i] = {(i - 1) / 2};
  d.preds[tree].push_back(0);
  for (int i = tree / 2; i < tree; ++i) d.preds[tree].push_back(i);
  return d;
}

// rows x cols grid: (i, j) depends on (i-1, j) and (i, j-1).
Dag Wavefront(int rows, int cols) {
  Dag d;
  d.preds.resize(rows * cols);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      auto& p = d.preds[i * cols + j];
      if (i > 0) p.push_back((i - 1) * cols + j);
      if (j > 0) p.push_back(i * cols + j - 1);
    }
  }
  return d;
}

void SetNsPerNode(benchmark::State& state, std::chrono::nanoseconds total,
                  int nodes) {
  state.counters["ns_per_node"] =
      static_cast<double>(total.count()) /
      (static_cast<double>(state.iterations()) * nodes);
}

// --- weft: a Session run of the DAG (Identity on a scalar per node).
void RunWeft(benchmark::State& state, const Dag& dag) {
  Graph g = Graph::Create("bench");
  std::vector<Tensor> t(dag.size());
  {
    GraphScope scope(g);
    t[0] = ops::Const(NDArray::Scalar<float>(1.0f));
    for (int i = 1; i < dag.size(); ++i) {
      OpOptions o;
      for (size_t k = 1; k < dag.preds[i].size(); ++k) {
        o.control_inputs.push_back(t[dag.preds[i][k]]);
      }
      t[i] = ops::Identity(t[dag.preds[i][0]], o);
    }
  }
  auto session = *Session::Create(g);
  const std::vector<Tensor> fetch = {t.back()};
  if (!session->Run({}, fetch).ok()) state.SkipWithError("run failed");
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = session->Run({}, fetch);
    benchmark::DoNotOptimize(out);
  }
  SetNsPerNode(state, std::chrono::steady_clock::now() - start, dag.size());
}

// --- raw oneTBB flow graph: continue_nodes doing the same work (copy the
// predecessor's NDArray into this node's slot), built outside the loop.
void RunTbbFlow(benchmark::State& state, const Dag& dag) {
  using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;
  tbb::flow::graph g;
  std::vector<NDArray> values(dag.size());
  const NDArray one = NDArray::Scalar<float>(1.0f);
  std::vector<std::unique_ptr<Node>> nodes;
  nodes.reserve(dag.size());
  for (int i = 0; i < dag.size(); ++i) {
    nodes.push_back(std::make_unique<Node>(
        g, [&values, &dag, &one, i](const tbb::flow::continue_msg&) {
          values[i] = i == 0 ? one : values[dag.preds[i][0]];
        }));
  }
  for (int i = 0; i < dag.size(); ++i) {
    for (int p : dag.preds[i]) tbb::flow::make_edge(*nodes[p], *nodes[i]);
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    nodes[0]->try_put(tbb::flow::continue_msg());
    g.wait_for_all();
    benchmark::DoNotOptimize(values.back());
  }
  SetNsPerNode(state, std::chrono::steady_clock::now() - start, dag.size());
}

// --- a plain loop in topological order doing the same work.
void RunSequential(benchmark::State& state, const Dag& dag) {
  std::vector<NDArray> values(dag.size());
  const NDArray one = NDArray::Scalar<float>(1.0f);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    values[0] = one;
    for (int i = 1; i < dag.size(); ++i) values[i] = values[dag.preds[i][0]];
    benchmark::DoNotOptimize(values.back());
  }
  SetNsPerNode(state, std::chrono::steady_clock::now() - start, dag.size());
}

#define WEFT_DAG_BENCH(Shape, Build)                                          \
  void BM_##Shape##_Weft(benchmark::State& s) { RunWeft(s, Build); }          \
  void BM_##Shape##_TbbFlow(benchmark::State& s) { RunTbbFlow(s, Build); }    \
  void BM_##Shape##_Sequential(benchmark::State& s) {                         \
    RunSequential(s, Build);                                                  \
  }                                                                           \
  BENCHMARK(BM_##Shape##_Weft)->Unit(benchmark::kMicrosecond)->UseRealTime(); \
  BENCHMARK(BM_##Shape##_TbbFlow)                                             \
      ->Unit(benchmark::kMicrosecond)                                         \
      ->UseRealTime();                                                        \
  BENCHMARK(BM_##Shape##_Sequential)                                          \
      ->Unit(benchmark::kMicrosecond)                                         \
      ->UseRealTime();

WEFT_DAG_BENCH(LinearChain, LinearChain(10000))
WEFT_DAG_BENCH(FanOutFanIn, FanOutFanIn(10000))
WEFT_DAG_BENCH(BinaryTree, BinaryTree(14))
WEFT_DAG_BENCH(Wavefront, Wavefront(100, 100))

// The LinearChain with every node's kernel asynchronous: an AsyncOpKernel
// forwarding its input and calling `done` before ComputeAsync returns (the
// cheapest async completion: the executor continues inline).
class AsyncIdentityKernel : public AsyncOpKernel {
 public:
  using AsyncOpKernel::AsyncOpKernel;
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    ctx.set_output(0, ctx.release_input(0));
    std::move(done)(absl::OkStatus());
  }
};

void RegisterAsyncIdentity() {
  static bool once = [] {
    absl::Status s =
        OpRegistry::Global().Register({.type = "BenchAsyncIdentity",
                                       .num_inputs = 1,
                                       .infer = InferSameAsInput});
    s.Update(KernelRegistry::Global().Register(
        {.op = "BenchAsyncIdentity",
         .dtype = DType::kFloat32,
         .factory = MakeKernelFactory<AsyncIdentityKernel>()}));
    return s.ok();
  }();
  (void)once;
}

void BM_LinearChain_Weft_Async(benchmark::State& state) {
  RegisterAsyncIdentity();
  constexpr int kNodes = 10000;
  Graph g = Graph::Create("bench_async");
  Tensor t = ops::Const(NDArray::Scalar<float>(1.0f), {.graph = g});
  for (int i = 1; i < kNodes; ++i) t = *g.AddOp("BenchAsyncIdentity", {t});
  auto session = *Session::Create(g);
  const std::vector<Tensor> fetch = {t};
  if (!session->Run({}, fetch).ok()) state.SkipWithError("run failed");
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto out = session->Run({}, fetch);
    benchmark::DoNotOptimize(out);
  }
  SetNsPerNode(state, std::chrono::steady_clock::now() - start, kNodes);
}
BENCHMARK(BM_LinearChain_Weft_Async)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Fixed cost of one Run: Identity of a scalar Const.
void BM_SessionRun_SingleNode(benchmark::State& state) {
  Graph g = Graph::Create("single");
  Tensor y = ops::Identity(
      ops::Const(NDArray::Scalar<float>(1.0f), {.graph = g}), {.graph = g});
  auto session = *Session::Create(g);
  const std::vector<Tensor> fetch = {y};
  for (auto _ : state) {
    auto out = session->Run({}, fetch);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_SessionRun_SingleNode)->UseRealTime();

// The same node through RunAsync: the caller starts the run and waits for
// `done` (which runs on a device thread).
void BM_RunAsync_SingleNode(benchmark::State& state) {
  Graph g = Graph::Create("single_async");
  Tensor y = ops::Identity(
      ops::Const(NDArray::Scalar<float>(1.0f), {.graph = g}), {.graph = g});
  auto session = *Session::Create(g);
  const std::vector<Tensor> fetch = {y};
  for (auto _ : state) {
    absl::Notification done;
    session->RunAsync({}, fetch, {},
                      [&](absl::StatusOr<std::vector<NDArray>> out) {
                        benchmark::DoNotOptimize(out);
                        done.Notify();
                      });
    done.WaitForNotification();
  }
}
BENCHMARK(BM_RunAsync_SingleNode)->UseRealTime();

NDArray Ones(int n) {
  return *NDArray::Create<float>(std::vector<float>(n * n, 1.0f), Shape{n, n});
}

void BM_MatMul_Weft(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Graph g = Graph::Create("matmul");
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{n, n}, {.graph = g});
  Tensor b = ops::Placeholder(DType::kFloat32, Shape{n, n}, {.graph = g});
  Tensor c = ops::MatMul(a, b, {.graph = g});
  auto session = *Session::Create(g);
  const Feeds feeds = {{a, Ones(n)}, {b, Ones(n)}};
  const std::vector<Tensor> fetch = {c};
  for (auto _ : state) {
    auto out = session->Run(feeds, fetch);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MatMul_Weft)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_MatMul_Eigen(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  using Matrix =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  NDArray a = Ones(n), b = Ones(n);
  for (auto _ : state) {
    // Like the kernel: a fresh aligned output per product.
    NDArray out = NDArray::Uninitialized(DType::kFloat32, Shape{n, n});
    Eigen::Map<Matrix> c(out.mutable_data<float>(), n, n);
    c.noalias() = Eigen::Map<const Matrix>(a.values<float>().data(), n, n) *
                  Eigen::Map<const Matrix>(b.values<float>().data(), n, n);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MatMul_Eigen)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Throughput with N client threads sharing one Session (a 100-node chain
// fed per run, on two devices).
Session* SharedSession(Tensor* x, Tensor* y) {
  static Tensor sx, sy;
  static Session* s = [] {
    Graph g = Graph::Create("shared");
    GraphScope scope(g);
    sx = ops::Placeholder(DType::kFloat32, Shape{16});
    Tensor t = sx;
    for (int i = 0; i < 100; ++i) {
      t = ops::Relu(t, {.device = i < 50 ? "cpu:0" : "cpu:1"});
    }
    sy = t;
    return Session::Create(g, {0, {"cpu:0", "cpu:1"}})->release();
  }();
  *x = sx;
  *y = sy;
  return s;
}

void BM_ConcurrentRuns(benchmark::State& state) {
  Tensor x, y;
  Session* session = SharedSession(&x, &y);
  const Feeds feeds = {
      {x, *NDArray::Create<float>(std::vector<float>(16, 1.0f), Shape{16})}};
  const std::vector<Tensor> fetch = {y};
  for (auto _ : state) {
    auto out = session->Run(feeds, fetch);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConcurrentRuns)->ThreadRange(1, 8)->UseRealTime();

}  // namespace
}  // namespace weft
