// variable_bench: host-side cost of weft::Variable (state/variable.h).
//
//   bazel run -c opt //tools/bench:variable_bench --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// BM_AddArrays is the arithmetic alone (a fresh array of a + b), the floor
// under AssignAdd. BM_AssignAdd runs Variable::AssignAdd on one shared
// variable from 1 thread (uncontended) and 2 threads (contended: every
// update serializes on the variable's update lock); items/s is the total
// update throughput. BM_Value is Variable::value(), a snapshot read (a
// brief lock to copy a shared_ptr, then an NDArray copy). The argument is
// the number of float32 elements.

#include <vector>

#include "benchmark/benchmark.h"
#include "graph/ndarray.h"
#include "state/variable.h"
#include "state/variable_impl.h"  // AddArrays, the arithmetic alone.
#include "weft.h"

namespace weft {
namespace {

NDArray Ones(int64_t n) {
  return *NDArray::Create<float>(std::vector<float>(n, 1.0f), Shape{n});
}

// One variable per element count, shared by every thread of a benchmark.
Variable SharedVariable(int64_t n) {
  static Variable scalar = *Variable::Create("bench/scalar", Ones(1));
  static Variable wide = *Variable::Create("bench/wide", Ones(1024));
  return n == 1 ? scalar : wide;
}

void BM_AddArrays(benchmark::State& state) {
  const NDArray a = Ones(state.range(0));
  const NDArray b = Ones(state.range(0));
  for (auto _ : state) {
    absl::StatusOr<NDArray> c = AddArrays(a, b);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AddArrays)->Arg(1)->Arg(1024);

void BM_AssignAdd(benchmark::State& state) {
  Variable v = SharedVariable(state.range(0));
  const NDArray delta = Ones(state.range(0));
  for (auto _ : state) {
    absl::StatusOr<NDArray> r = v.AssignAdd(delta);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AssignAdd)
    ->Arg(1)
    ->Arg(1024)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_Value(benchmark::State& state) {
  Variable v = SharedVariable(state.range(0));
  for (auto _ : state) {
    NDArray a = v.value();
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Value)->Arg(1)->Arg(1024)->Threads(1)->Threads(2)->UseRealTime();

// value() while another thread keeps updating: thread 0 writes, the others
// read; items/s counts reads only.
void BM_ValueWhileUpdating(benchmark::State& state) {
  Variable v = SharedVariable(state.range(0));
  const NDArray delta = Ones(state.range(0));
  const bool writer = state.thread_index() == 0;
  for (auto _ : state) {
    if (writer) {
      absl::StatusOr<NDArray> r = v.AssignAdd(delta);
      benchmark::DoNotOptimize(r);
    } else {
      NDArray a = v.value();
      benchmark::DoNotOptimize(a);
    }
  }
  if (!writer) state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValueWhileUpdating)->Arg(1)->Arg(1024)->Threads(2)->UseRealTime();

// Graph ops: ns per op inside a 1,000-node chain, against the same chain
// of Identity. ReadVariable: each node reads the variable and adds it to
// the chain (Add(prev, Read)); the baseline adds an Identity of a Const.
// AssignAdd: each node adds the previous value into the variable
// (AssignAdd(v, prev)); the baseline is Identity(prev).
constexpr int kChain = 1000;

void RunChain(benchmark::State& state, const Graph& g, const Tensor& last) {
  auto session = *Session::Create(g);
  if (!session->Run({}, {last}).ok()) state.SkipWithError("run failed");
  for (auto _ : state) {
    auto out = session->Run({}, {last});
    benchmark::DoNotOptimize(out);
  }
  state.counters["ns_per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kChain,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ReadVariable(benchmark::State& state) {
  Variable v = *Variable::Create("bench/read", NDArray::Scalar<float>(1));
  Graph g = Graph::Create("read");
  GraphScope scope(g);
  Tensor t = ops::Const(NDArray::Scalar<float>(0));
  for (int i = 0; i < kChain; ++i) t = ops::Add(t, ops::ReadVariable(v));
  RunChain(state, g, t);
}
BENCHMARK(BM_ReadVariable)->UseRealTime();

void BM_ReadVariable_IdentityBaseline(benchmark::State& state) {
  Graph g = Graph::Create("read_base");
  GraphScope scope(g);
  Tensor one = ops::Const(NDArray::Scalar<float>(1));
  Tensor t = ops::Const(NDArray::Scalar<float>(0));
  for (int i = 0; i < kChain; ++i) t = ops::Add(t, ops::Identity(one));
  RunChain(state, g, t);
}
BENCHMARK(BM_ReadVariable_IdentityBaseline)->UseRealTime();

void BM_AssignAddChain(benchmark::State& state) {
  Variable v = *Variable::Create("bench/acc", NDArray::Scalar<float>(0));
  Graph g = Graph::Create("assign");
  GraphScope scope(g);
  Tensor t = ops::Const(NDArray::Scalar<float>(1e-9f));
  for (int i = 0; i < kChain; ++i) t = ops::AssignAdd(v, t);
  RunChain(state, g, t);
}
BENCHMARK(BM_AssignAddChain)->UseRealTime();

void BM_AssignAddChain_IdentityBaseline(benchmark::State& state) {
  Graph g = Graph::Create("assign_base");
  GraphScope scope(g);
  Tensor t = ops::Const(NDArray::Scalar<float>(1e-9f));
  for (int i = 0; i < kChain; ++i) t = ops::Identity(t);
  RunChain(state, g, t);
}
BENCHMARK(BM_AssignAddChain_IdentityBaseline)->UseRealTime();

}  // namespace
}  // namespace weft
