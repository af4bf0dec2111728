// build_bench: the cost of building one node, in the default provenance mode
// (std::source_location only) and with full stack traces.
//
//   bazel run -c opt //tools/bench:build_bench --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// One iteration adds one ops::Add node under a GraphScope. Every
// kNodesPerGraph nodes the graph is replaced by a fresh one, outside the
// timed region, so memory stays bounded however many iterations run.

#include <optional>

#include "benchmark/benchmark.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "graph/scopes.h"
#include "graph/tensor.h"

namespace weft {
namespace {

constexpr int kNodesPerGraph = 100'000;

// A graph made current by a GraphScope, with the two inputs of every Add.
class BenchGraph {
 public:
  BenchGraph() { Reset(); }

  // Drops the current graph (freeing its nodes) and starts a fresh one.
  void Reset() {
    scope_.reset();
    x_ = Tensor();
    y_ = Tensor();
    graph_ = Graph::Create("bench");
    scope_.emplace(graph_);
    x_ = ops::Const(NDArray::Scalar(1.0f));
    y_ = ops::Const(NDArray::Scalar(2.0f));
  }

  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }

 private:
  Graph graph_;
  Tensor x_, y_;
  std::optional<GraphScope> scope_;
};

void BuildAddNodes(benchmark::State& state) {
  BenchGraph g;
  Tensor first = ops::Add(g.x(), g.y());
  if (!first.ok()) {
    state.SkipWithError(first.status().ToString().c_str());
    return;
  }
  int built = 1;
  for (auto _ : state) {
    if (built == kNodesPerGraph) {
      state.PauseTiming();
      g.Reset();
      built = 0;
      state.ResumeTiming();
    }
    Tensor t = ops::Add(g.x(), g.y());
    benchmark::DoNotOptimize(t);
    ++built;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BuildNode(benchmark::State& state) {
  SetProvenanceMode(ProvenanceMode::kSourceLocation);
  BuildAddNodes(state);
}
BENCHMARK(BM_BuildNode);

void BM_BuildNode_StackTraces(benchmark::State& state) {
  const ProvenanceMode saved = GetProvenanceMode();
  SetProvenanceMode(ProvenanceMode::kStackTraces);
  BuildAddNodes(state);
  SetProvenanceMode(saved);
}
BENCHMARK(BM_BuildNode_StackTraces);

}  // namespace
}  // namespace weft
