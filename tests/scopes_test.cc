// Tests for the per-thread scopes: GraphScope, NameScope, DeviceScope,
// RootGraph/DefaultGraph, and GraphContext + ContextScope carrying them into
// std::threads and oneTBB tasks.

#include "graph/scopes.h"

#include <atomic>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "gtest/gtest.h"
#include "oneapi/tbb/parallel_for.h"
#include "oneapi/tbb/task_group.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

Tensor One(const OpOptions& options = {}) {
  return ops::Const(NDArray::Scalar(1.0f), options);
}

// What a worker saw of its thread's scopes.
struct Seen {
  Graph graph;
  std::string node_name;
  std::string device;
  GraphSource source = GraphSource::kExplicitHandle;
  std::string reason;
};

Seen Observe() {
  Seen s;
  s.graph = DefaultGraph();
  Tensor t = One();
  EXPECT_TRUE(t.ok()) << t.status();
  s.node_name = t.node_name();
  s.device = t.ok() ? t.node()->device() : "";
  s.source = t.provenance().graph_source;
  s.reason = t.provenance().GraphReason("'g'");
  return s;
}

TEST(GraphScope, RootGraphWhenEmpty) {
  EXPECT_TRUE(DefaultGraph() == RootGraph());
  EXPECT_EQ(RootGraph().name(), "root");
  EXPECT_TRUE(RootGraph() == RootGraph());
  const int before = RootGraph().num_nodes();
  Tensor t = One();
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t.graph() == RootGraph());
  EXPECT_EQ(t.provenance().graph_source, GraphSource::kRootGraph);
  EXPECT_EQ(RootGraph().num_nodes(), before + 1);
}

TEST(GraphScope, NestingAndDefaultGraph) {
  Graph a = Graph::Create("a");
  Graph b = Graph::Create("b");
  {
    // clang-format off
    const int a_line = __LINE__; GraphScope sa(a);
    // clang-format on
    EXPECT_TRUE(DefaultGraph() == a);
    {
      GraphScope sb(b);
      EXPECT_TRUE(DefaultGraph() == b);
      EXPECT_TRUE(One().graph() == b);
      {
        GraphScope again(a);
        EXPECT_TRUE(DefaultGraph() == a);
      }
      EXPECT_TRUE(DefaultGraph() == b);
    }
    EXPECT_TRUE(DefaultGraph() == a);
    Tensor t = One();
    EXPECT_TRUE(t.graph() == a);
    const Provenance& p = t.provenance();
    EXPECT_EQ(p.graph_source, GraphSource::kGraphScope);
    EXPECT_EQ(static_cast<int>(p.scope.site.line()), a_line);
    EXPECT_EQ(p.scope.thread, "main");
    EXPECT_FALSE(p.scope.carried_by.has_value());
    EXPECT_THAT(p.GraphReason("'a'"),
                HasSubstr(absl::StrCat("'a' is the default graph because of "
                                       "the GraphScope pushed at ",
                                       __FILE__, ":", a_line)));
  }
  EXPECT_TRUE(DefaultGraph() == RootGraph());
  EXPECT_EQ(a.num_nodes(), 1);
  EXPECT_EQ(b.num_nodes(), 1);
}

TEST(GraphScope, ExplicitGraphOverridesScope) {
  Graph a = Graph::Create("a");
  Graph b = Graph::Create("b");
  GraphScope sa(a);
  Tensor t = One({.graph = b});
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t.graph() == b);
  EXPECT_EQ(t.provenance().graph_source, GraphSource::kExplicitHandle);
}

TEST(GraphScope, PerThreadIsolation) {
  Graph mine = Graph::Create("mine");
  Graph theirs = Graph::Create("theirs");
  GraphScope scope(mine);
  NameScope ns("outer");
  DeviceScope ds("cpu:3");

  Seen plain;
  std::thread([&] { plain = Observe(); }).join();
  EXPECT_TRUE(plain.graph == RootGraph());
  EXPECT_EQ(plain.source, GraphSource::kRootGraph);
  EXPECT_EQ(plain.device, "");
  EXPECT_THAT(plain.node_name, MatchesRegex("Const(_[0-9]+)?"));

  // A scope on another thread doesn't leak into this one.
  std::atomic<bool> pushed{false}, checked{false};
  std::thread other([&] {
    GraphScope s(theirs);
    NameScope n("elsewhere");
    pushed = true;
    while (!checked) std::this_thread::yield();
  });
  while (!pushed) std::this_thread::yield();
  EXPECT_TRUE(DefaultGraph() == mine);
  Tensor t = One();
  EXPECT_EQ(t.node_name(), "outer/Const");
  EXPECT_EQ(t.node()->device(), "cpu:3");
  checked = true;
  other.join();
  EXPECT_EQ(theirs.num_nodes(), 0);
}

TEST(DeviceScope, Precedence) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  DeviceScope outer("cpu:1");
  EXPECT_EQ(One().node()->device(), "cpu:1");
  {
    DeviceScope inner("cpu:2");
    EXPECT_EQ(One().node()->device(), "cpu:2");
    EXPECT_EQ(One({.device = "cpu:0"}).node()->device(), "cpu:0");
  }
  EXPECT_EQ(One().node()->device(), "cpu:1");
  EXPECT_EQ(One({.device = "cpu:7"}).node()->device(), "cpu:7");
}

TEST(NameScope, NestsPerThread) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  NameScope a("a");
  NameScope b("b");
  EXPECT_EQ(One().node_name(), "a/b/Const");
  std::string other;
  std::thread([&] { other = One({.graph = g}).node_name(); }).join();
  EXPECT_EQ(other, "Const");
}

// ------------------------------------------------ GraphContext/ContextScope --

TEST(ContextScope, CarriesStacksIntoStdThread) {
  Graph g = Graph::Create("model");
  // clang-format off
  const int scope_line = __LINE__; GraphScope scope(g);
  // clang-format on
  NameScope ns("layer1");
  DeviceScope ds("cpu:1");
  const GraphContext ctx = GraphContext::Capture();
  EXPECT_TRUE(ctx.graph() == g);
  EXPECT_EQ(ctx.captured_on_thread(), "main");

  Seen seen;
  Graph after;
  int cs_line = 0;
  std::thread worker([&] {
    SetCurrentThreadName("worker-1");
    {
      // clang-format off
      cs_line = __LINE__; ContextScope cs(ctx);
      // clang-format on
      seen = Observe();
    }
    after = DefaultGraph();
  });
  worker.join();
  EXPECT_TRUE(seen.graph == g);
  EXPECT_EQ(seen.node_name, "layer1/Const");
  EXPECT_EQ(seen.device, "cpu:1");
  EXPECT_EQ(seen.source, GraphSource::kGraphScope);
  EXPECT_THAT(seen.reason, HasSubstr(absl::StrCat("GraphScope pushed at ",
                                                  __FILE__, ":", scope_line)));
  EXPECT_THAT(seen.reason,
              HasSubstr(absl::StrCat("on thread 'main', carried into thread "
                                     "'worker-1' by the ContextScope at ",
                                     __FILE__, ":", cs_line)));
  EXPECT_TRUE(after == RootGraph());
  EXPECT_EQ(g.num_nodes(), 1);
}

TEST(ContextScope, CarriesStacksIntoTbbTaskGroup) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  NameScope ns("tbb");
  DeviceScope ds("cpu:2");
  const GraphContext ctx = GraphContext::Capture();

  constexpr int kTasks = 16;
  std::vector<Seen> seen(kTasks);
  tbb::task_group tg;
  for (int i = 0; i < kTasks; ++i) {
    tg.run([&, i] {
      ContextScope cs(ctx);
      seen[i] = Observe();
    });
  }
  tg.wait();
  for (const Seen& s : seen) {
    EXPECT_TRUE(s.graph == g);
    EXPECT_THAT(s.node_name, MatchesRegex("tbb/Const(_[0-9]+)?"));
    EXPECT_EQ(s.device, "cpu:2");
    EXPECT_EQ(s.source, GraphSource::kGraphScope);
  }
  EXPECT_EQ(g.num_nodes(), kTasks);
}

TEST(ContextScope, CarriesStacksIntoTbbParallelFor) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  const GraphContext ctx = GraphContext::Capture();
  std::atomic<int> wrong{0};
  tbb::parallel_for(0, 64, [&](int) {
    ContextScope cs(ctx);
    {
      NameScope inner("task");  // Scopes may nest inside a ContextScope.
      if (!(DefaultGraph() == g)) ++wrong;
      if (One().node_name().rfind("task/Const", 0) != 0) ++wrong;
    }
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(g.num_nodes(), 64);
}

TEST(ContextScope, RestoresThreadsOwnStacks) {
  Graph mine = Graph::Create("mine");
  Graph carried = Graph::Create("carried");
  GraphContext ctx;
  {
    GraphScope s(carried);
    NameScope n("carried_ns");
    DeviceScope d("cpu:9");
    ctx = GraphContext::Capture();
  }
  GraphScope scope(mine);
  NameScope ns("own");
  DeviceScope ds("cpu:4");
  {
    ContextScope cs(ctx);
    EXPECT_TRUE(DefaultGraph() == carried);
    Tensor t = One();
    EXPECT_EQ(t.node_name(), "carried_ns/Const");
    EXPECT_EQ(t.node()->device(), "cpu:9");
    {
      GraphScope nested(mine);  // Balanced inside the ContextScope: fine.
      EXPECT_TRUE(DefaultGraph() == mine);
    }
  }
  EXPECT_TRUE(DefaultGraph() == mine);
  Tensor t = One();
  EXPECT_EQ(t.node_name(), "own/Const");
  EXPECT_EQ(t.node()->device(), "cpu:4");
  EXPECT_FALSE(t.provenance().scope.carried_by.has_value());
}

TEST(ContextScope, EmptyContextMeansRootGraph) {
  const GraphContext ctx = GraphContext::Capture();  // Nothing pushed.
  EXPECT_TRUE(ctx.graph() == RootGraph());
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  {
    ContextScope cs(ctx);
    EXPECT_TRUE(DefaultGraph() == RootGraph());
  }
  EXPECT_TRUE(DefaultGraph() == g);
}

// ------------------------------------------------------------ death tests --
// std::optional::emplace would record a site inside <optional>, so the scopes
// below pass their std::source_location explicitly.

TEST(GraphScopeDeathTest, OutOfOrderDestructionNamesBothSites) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Graph a = Graph::Create("a");
  Graph b = Graph::Create("b");
  std::optional<GraphScope> outer, inner;
  // clang-format off
  const int outer_line = __LINE__; auto push_outer = [&] { outer.emplace(a, std::source_location::current()); };
  const int inner_line = __LINE__; auto push_inner = [&] { inner.emplace(b, std::source_location::current()); };
  // clang-format on
  EXPECT_DEATH(
      {
        push_outer();
        push_inner();
        outer.reset();  // Wrong: `inner` is still the innermost scope.
      },
      absl::StrCat("GraphScope pushed at [^ ]*scopes_test\\.cc:", outer_line,
                   " .*was destroyed out of order on thread '[^']*': the "
                   "innermost GraphScope "
                   "on this thread is the one pushed at "
                   "[^ ]*scopes_test\\.cc:",
                   inner_line, " "));
}

TEST(ContextScopeDeathTest, DestroyedWithScopeStillPushedAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Graph g = Graph::Create("g");
  const GraphContext ctx = GraphContext::Capture();
  std::optional<ContextScope> cs;
  std::optional<GraphScope> inside;
  // clang-format off
  const int cs_line = __LINE__; auto install = [&] { cs.emplace(ctx, std::source_location::current()); };
  const int inside_line = __LINE__; auto push = [&] { inside.emplace(g, std::source_location::current()); };
  // clang-format on
  EXPECT_DEATH(
      {
        install();
        push();
        cs.reset();
      },
      absl::StrCat("ContextScope installed at [^ ]*scopes_test\\.cc:", cs_line,
                   " .*was destroyed while a GraphScope pushed inside it at "
                   "[^ ]*scopes_test\\.cc:",
                   inside_line, " .*is still alive"));
}

TEST(NameScopeDeathTest, OutOfOrderDestructionAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::optional<NameScope> outer;
        std::optional<NameScope> inner;
        outer.emplace("outer", std::source_location::current());
        inner.emplace("inner", std::source_location::current());
        outer.reset();
      },
      "NameScope pushed at [^ ]*scopes_test\\.cc:[0-9]+ .*was destroyed out "
      "of order");
}

}  // namespace
}  // namespace weft
