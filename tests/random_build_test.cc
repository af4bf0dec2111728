// A randomized stress test: many threads build random DAGs into several
// graphs at once, randomly attempting cross-graph edges. Every attempt must
// be rejected with the cross-graph payload, every legal op must land, and the
// node counts must add up. Meant to run under --config=tsan too.

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

constexpr int kGraphs = 4;
constexpr int kThreads = 8;
constexpr int kStepsPerThread = 1500;

// The tensors built so far in one graph, shared by all builder threads.
class Pool {
 public:
  void Add(const Tensor& t) {
    absl::MutexLock lock(&mu_);
    tensors_.push_back(t);
  }
  // A random tensor of the pool, or nullopt if it is empty.
  std::optional<Tensor> Pick(std::mt19937& rng) const {
    absl::MutexLock lock(&mu_);
    if (tensors_.empty()) return std::nullopt;
    return tensors_[std::uniform_int_distribution<size_t>(
        0, tensors_.size() - 1)(rng)];
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Tensor> tensors_ ABSL_GUARDED_BY(mu_);
};

// What one builder thread did.
struct Tally {
  int successes[kGraphs] = {};
  int cross_attempts = 0;
  int cross_rejected = 0;
  int propagated = 0;
  std::vector<std::string> failures;  // Anything unexpected, described.
};

// Every tensor is float32 of shape [] or [4], so any two broadcast together
// and every op below is legal unless an input comes from another graph.
Tensor BuildRandom(std::mt19937& rng, const std::vector<Tensor>& in,
                   const std::vector<Tensor>& control, const OpOptions& base) {
  OpOptions options = base;
  options.control_inputs = control;
  if (in.empty()) {
    if (rng() % 2 == 0) {
      return ops::Const(NDArray::Vector<float>({1, 2, 3, 4}), options);
    }
    return ops::Placeholder(DType::kFloat32, rng() % 2 ? Shape{4} : Shape{},
                            options);
  }
  if (in.size() == 1) {
    switch (rng() % 6) {
      case 0:
        return ops::Neg(in[0], options);
      case 1:
        return ops::Relu(in[0], options);
      case 2:
        return ops::Tanh(in[0], options);
      case 3:
        return ops::Sigmoid(in[0], options);
      case 4:
        return ops::Identity(in[0], options);
      default:
        return ops::ReduceSum(in[0], {}, options);
    }
  }
  switch (rng() % 4) {
    case 0:
      return ops::Add(in[0], in[1], options);
    case 1:
      return ops::Sub(in[0], in[1], options);
    case 2:
      return ops::Mul(in[0], in[1], options);
    default:
      return ops::Maximum(in[0], in[1], options);
  }
}

void Builder(int thread_index, const std::vector<Graph>& graphs,
             std::vector<Pool>& pools, Tally& tally) {
  SetCurrentThreadName(absl::StrCat("builder-", thread_index));
  std::mt19937 rng(1000 + thread_index);
  auto fail = [&](std::string what) { tally.failures.push_back(what); };

  for (int step = 0; step < kStepsPerThread; ++step) {
    const int target = static_cast<int>(rng() % kGraphs);
    const Graph& g = graphs[target];

    // Inputs from the target graph (none for a source op).
    const int arity = static_cast<int>(rng() % 3);
    std::vector<Tensor> inputs;
    for (int i = 0; i < arity; ++i) {
      std::optional<Tensor> t = pools[target].Pick(rng);
      if (!t.has_value()) break;
      inputs.push_back(*t);
    }
    std::vector<Tensor> control;
    if (rng() % 8 == 0) {
      if (std::optional<Tensor> t = pools[target].Pick(rng)) {
        control.push_back(*t);
      }
    }

    // Sometimes swap one input or control input for a tensor of another
    // graph.
    std::optional<int> source;
    bool cross_control = false;
    int cross_index = -1;
    if (rng() % 5 == 0) {
      const int other =
          (target + 1 + static_cast<int>(rng() % (kGraphs - 1))) % kGraphs;
      std::optional<Tensor> foreign = pools[other].Pick(rng);
      if (foreign.has_value()) {
        if (!inputs.empty() && rng() % 4 != 0) {
          cross_index = static_cast<int>(rng() % inputs.size());
          inputs[cross_index] = *foreign;
        } else {
          cross_control = true;
          cross_index = static_cast<int>(control.size());
          control.push_back(*foreign);
        }
        source = other;
      }
    }

    // Target the graph through a GraphScope or an explicit handle.
    Tensor out;
    if (rng() % 2 == 0) {
      GraphScope scope(g);
      out = BuildRandom(rng, inputs, control, {});
    } else {
      out = BuildRandom(rng, inputs, control, {.graph = g});
    }

    if (source.has_value()) {
      ++tally.cross_attempts;
      if (out.ok()) {
        fail(absl::StrCat("cross-graph op landed: ", out.name()));
        continue;
      }
      std::optional<CrossGraphEdge> e = GetCrossGraphEdge(out.status());
      if (out.status().code() != absl::StatusCode::kInvalidArgument ||
          !e.has_value()) {
        fail(absl::StrCat("cross-graph attempt without payload: ",
                          out.status().ToString()));
        continue;
      }
      if (e->graph_id != g.id() || e->input_graph_id != graphs[*source].id() ||
          e->control_input != cross_control || e->input_index != cross_index ||
          e->op_thread != absl::StrCat("builder-", thread_index)) {
        fail(absl::StrCat("wrong payload: ", out.status().ToString()));
        continue;
      }
      ++tally.cross_rejected;
      // First error wins: an op built from the rejected tensor returns the
      // same error, in any graph.
      if (rng() % 4 == 0) {
        Tensor downstream = ops::Neg(out, {.graph = graphs[*source]});
        if (downstream.status() != out.status()) {
          fail("error did not propagate unchanged");
        } else {
          ++tally.propagated;
        }
      }
      continue;
    }

    if (!out.ok()) {
      fail(absl::StrCat("legal op failed: ", out.status().ToString()));
      continue;
    }
    if (!(out.graph() == g)) fail("op landed in the wrong graph");
    const Node* n = out.node();
    if (n->inputs().size() != inputs.size()) {
      fail("wrong input count");
    } else {
      for (size_t i = 0; i < inputs.size(); ++i) {
        if (n->inputs()[i].node != inputs[i].node()->id()) {
          fail("input wired to the wrong node");
        }
      }
    }
    if (n->control_inputs().size() != control.size()) {
      fail("wrong control input count");
    }
    ++tally.successes[target];
    pools[target].Add(out);
  }
}

TEST(Graph, RandomConcurrentBuildsRejectCrossGraphAttemptsAndCountsAddUp) {
  std::vector<Graph> graphs;
  for (int i = 0; i < kGraphs; ++i) {
    // Two graphs share a name: names need not be unique.
    graphs.push_back(Graph::Create(i < 2 ? "twin" : absl::StrCat("g", i)));
  }
  std::vector<Pool> pools(kGraphs);
  std::vector<Tally> tallies(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(Builder, t, std::cref(graphs), std::ref(pools),
                         std::ref(tallies[t]));
  }
  for (std::thread& th : threads) th.join();

  int expected[kGraphs] = {};
  int attempts = 0, rejected = 0, propagated = 0;
  for (const Tally& tally : tallies) {
    for (const std::string& f : tally.failures) ADD_FAILURE() << f;
    for (int g = 0; g < kGraphs; ++g) expected[g] += tally.successes[g];
    attempts += tally.cross_attempts;
    rejected += tally.cross_rejected;
    propagated += tally.propagated;
  }
  EXPECT_GT(attempts, kThreads * kStepsPerThread / 10);
  EXPECT_EQ(rejected, attempts);
  EXPECT_GT(propagated, 0);

  int total = 0;
  for (int g = 0; g < kGraphs; ++g) {
    SCOPED_TRACE(graphs[g].DisplayName());
    EXPECT_EQ(graphs[g].num_nodes(), expected[g]);
    total += expected[g];
    // Dense ids, unique names, and every edge points backwards into the
    // same graph.
    std::vector<const Node*> nodes = graphs[g].nodes();
    ASSERT_EQ(static_cast<int>(nodes.size()), expected[g]);
    std::set<std::string> names;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node* n = nodes[i];
      EXPECT_EQ(n->id(), static_cast<int>(i));
      EXPECT_TRUE(names.insert(n->name()).second) << n->name();
      for (const NodeInput& in : n->inputs()) EXPECT_LT(in.node, n->id());
      for (int c : n->control_inputs()) EXPECT_LT(c, n->id());
    }
  }
  EXPECT_EQ(total + rejected,
            kThreads * kStepsPerThread);  // Every step did one or the other.
}

}  // namespace
}  // namespace weft
