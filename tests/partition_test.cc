// Tests of the partitioner: structure (checked against the text dump) and
// equivalence of partitioned and single-device runs on random DAGs.
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/partitioner.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

TEST(PartitionGraph, PrunesToTheFetchesAndStopsAtFeeds) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor p = ops::Placeholder(DType::kFloat32, Shape{}, {.name = "p"});
  Tensor a = ops::Neg(p, {.name = "a"});
  Tensor b = ops::Relu(a, {.name = "b"});
  Tensor unused = ops::Tanh(b, {.name = "unused"});
  (void)unused;
  std::vector<std::string> devices = {"cpu:0"};
  auto pg = PartitionGraph(g, {b}, {a}, devices);
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(pg->DebugString(),
            "partition 0 on cpu:0: 2 nodes, 0 sends, 0 recvs\n"
            "  a = feed\n"
            "  b = Relu(a:0)\n"
            "transfers: 0\n");
}

TEST(PartitionGraph, AClusterPlanKeepsFeedsAndFetchesInTheFirstDevice) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  const std::string task = "/job:worker/task:0/cpu:0";
  // A placeholder placed on the task is fed, so its value is the client's;
  // the fetched value computed on the task comes back to the client.
  Tensor x =
      ops::Placeholder(DType::kFloat32, Shape{}, {.name = "x", .device = task});
  Tensor y = ops::Neg(x, {.name = "y", .device = task});
  std::vector<std::string> devices = {"cpu:0", task};
  auto pg = PartitionGraph(g, {y}, {x}, devices);
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(pg->io_partition, 0);
  EXPECT_EQ(pg->DebugString(),
            "partition 0 on cpu:0: 1 nodes, 1 sends, 1 recvs\n"
            "  recv y:0@/job:worker/task:0/cpu:0->cpu:0 from partition 1\n"
            "  x = feed\n"
            "  send x:0@cpu:0->/job:worker/task:0/cpu:0 to partition 1\n"
            "partition 1 on /job:worker/task:0/cpu:0: 1 nodes, 1 sends, 1 "
            "recvs\n"
            "  recv x:0@cpu:0->/job:worker/task:0/cpu:0 from partition 0\n"
            "  y = Neg(x:0 (recv))\n"
            "  send y:0@/job:worker/task:0/cpu:0->cpu:0 to partition 0\n"
            "transfers: 2\n");
  // The first device must be this process's.
  std::vector<std::string> task_first = {task, "cpu:0"};
  auto bad = PartitionGraph(g, {y}, {x}, task_first);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("must be this process's"));
}

TEST(PartitionGraph, OneTransferPerTensorAndDestination) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x =
      ops::Const(NDArray::Scalar<float>(1), {.name = "x", .device = "cpu:0"});
  // Three consumers of x on cpu:1 share one transfer; one on cpu:2.
  Tensor a = ops::Neg(x, {.name = "a", .device = "cpu:1"});
  Tensor b = ops::Relu(x, {.name = "b", .device = "cpu:1"});
  Tensor c = ops::Add(x, a, {.name = "c", .device = "cpu:1"});
  Tensor d = ops::Tanh(x, {.name = "d", .device = "cpu:2"});
  Tensor out = ops::Add(ops::Add(b, c, {.name = "bc", .device = "cpu:1"}), d,
                        {.name = "out", .device = "cpu:0"});
  std::vector<std::string> devices = {"cpu:0", "cpu:1", "cpu:2"};
  auto pg = PartitionGraph(g, {out}, {}, devices);
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(pg->DebugString(),
            "partition 0 on cpu:0: 2 nodes, 2 sends, 2 recvs\n"
            "  recv bc:0@cpu:1->cpu:0 from partition 1\n"
            "  recv d:0@cpu:2->cpu:0 from partition 2\n"
            "  x = Const()\n"
            "  send x:0@cpu:0->cpu:1 to partition 1\n"
            "  send x:0@cpu:0->cpu:2 to partition 2\n"
            "  out = Add(bc:0 (recv), d:0 (recv))\n"
            "partition 1 on cpu:1: 4 nodes, 1 sends, 1 recvs\n"
            "  recv x:0@cpu:0->cpu:1 from partition 0\n"
            "  a = Neg(x:0 (recv))\n"
            "  b = Relu(x:0 (recv))\n"
            "  c = Add(x:0 (recv), a:0)\n"
            "  bc = Add(b:0, c:0)\n"
            "  send bc:0@cpu:1->cpu:0 to partition 0\n"
            "partition 2 on cpu:2: 1 nodes, 1 sends, 1 recvs\n"
            "  recv x:0@cpu:0->cpu:2 from partition 0\n"
            "  d = Tanh(x:0 (recv))\n"
            "  send d:0@cpu:2->cpu:0 to partition 0\n"
            "transfers: 4\n");
  EXPECT_EQ(pg->transfers.size(), 4u);
  EXPECT_EQ(pg->num_nodes(), 7);
}

TEST(PartitionGraph, CarriesControlEdgesAcrossPartitions) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor a =
      ops::Const(NDArray::Scalar<int32_t>(1), {.name = "a", .device = "cpu:1"});
  Tensor b =
      ops::Const(NDArray::Scalar<int32_t>(2),
                 {.name = "b", .device = "cpu:0", .control_inputs = {a}});
  std::vector<std::string> devices = {"cpu:0", "cpu:1"};
  auto pg = PartitionGraph(g, {b}, {}, devices);
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(pg->DebugString(),
            "partition 0 on cpu:0: 1 nodes, 0 sends, 1 recvs\n"
            "  recv ^a@cpu:1->cpu:0 from partition 1\n"
            "  b = Const(^a (recv))\n"
            "partition 1 on cpu:1: 1 nodes, 1 sends, 0 recvs\n"
            "  a = Const()\n"
            "  send ^a@cpu:1->cpu:0 to partition 0\n"
            "transfers: 1\n");
  // And it runs.
  auto session = *Session::Create(g, {0, devices});
  RunMetadata md;
  auto r = session->Run({}, {b}, {}, &md);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int32_t>()[0], 2);
  EXPECT_EQ(md.num_transfers, 1);
  EXPECT_EQ(md.node_stats.size(), 4u);
}

TEST(PartitionGraph, UnknownDeviceNamesTheNodeAndDevice) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Const(NDArray::Scalar<int32_t>(1),
                        {.name = "a", .graph = g, .device = "cpu:9"});
  std::vector<std::string> devices = {"cpu:0"};
  auto pg = PartitionGraph(g, {a}, {}, devices);
  EXPECT_EQ(pg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      pg.status().message(),
      HasSubstr("node 'a' (Const) defined at tests/partition_test.cc:"));
  EXPECT_THAT(pg.status().message(), HasSubstr("device 'cpu:9'"));
}

TEST(PartitionGraph, DotHasOneClusterPerPartitionAndDashedTransfers) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor a =
      ops::Const(NDArray::Scalar<float>(1), {.name = "a", .device = "cpu:0"});
  Tensor b = ops::Neg(a, {.name = "b", .device = "cpu:1"});
  std::vector<std::string> devices = {"cpu:0", "cpu:1"};
  auto pg = PartitionGraph(g, {b}, {}, devices);
  ASSERT_TRUE(pg.ok());
  const std::string dot = pg->ToDot();
  EXPECT_THAT(dot, HasSubstr("subgraph cluster_0"));
  EXPECT_THAT(dot, HasSubstr("subgraph cluster_1"));
  EXPECT_THAT(dot, HasSubstr("style=dashed"));
  EXPECT_THAT(dot, HasSubstr("label=\"cpu:1\""));
}

// ---------------------------------------------------------- equivalence --

// Builds a random DAG in `g` with random device placements over `devices`,
// returns the fetches. Integer ops keep results exact; float chains compare
// within tolerance.
struct RandomDag {
  std::vector<Tensor> fetches;
  std::vector<Tensor> feeds;
};

// With `place` false every node stays unplaced (the session's first
// device); the random draws are the same, so the DAG is identical.
RandomDag BuildRandomDag(Graph g, DType dtype, int num_devices, bool place,
                         std::mt19937& rng) {
  GraphScope scope(g);
  RandomDag dag;
  std::vector<Tensor> pool;
  auto device = [&] {
    const int d = std::uniform_int_distribution<int>(0, num_devices - 1)(rng);
    return place ? absl::StrCat("cpu:", d) : std::string();
  };
  auto value = [&](int n) {
    std::vector<int32_t> v(n);
    for (int& x : v) x = std::uniform_int_distribution<int>(-5, 5)(rng);
    NDArray a = *NDArray::Create<int32_t>(v, Shape{n});
    return a;
  };
  const int n = 4;
  for (int i = 0; i < 3; ++i) {
    Tensor c = ops::Cast(ops::Const(value(n), {.device = device()}), dtype,
                         {.device = device()});
    pool.push_back(c);
  }
  Tensor p = ops::Placeholder(dtype, Shape{n}, {.device = device()});
  dag.feeds.push_back(p);
  pool.push_back(p);
  const int num_ops = std::uniform_int_distribution<int>(5, 40)(rng);
  for (int i = 0; i < num_ops; ++i) {
    auto pick = [&] {
      return pool[std::uniform_int_distribution<size_t>(0,
                                                        pool.size() - 1)(rng)];
    };
    OpOptions o{.device = device()};
    if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
      o.control_inputs.push_back(pick());
    }
    Tensor t;
    switch (std::uniform_int_distribution<int>(0, 6)(rng)) {
      case 0:
        t = ops::Add(pick(), pick(), o);
        break;
      case 1:
        t = ops::Sub(pick(), pick(), o);
        break;
      case 2:
        t = ops::Mul(pick(), pick(), o);
        break;
      case 3:
        t = ops::Maximum(pick(), pick(), o);
        break;
      case 4:
        t = ops::Neg(pick(), o);
        break;
      case 5:
        t = ops::Relu(pick(), o);
        break;
      case 6:
        t = ops::Identity(pick(), o);
        break;
    }
    EXPECT_TRUE(t.ok()) << t.status();
    // Clamp to [-1000, 1000] so products stay exact (and never overflow):
    // clamp(t) = max(-max(-t, -1000), -1000).
    Tensor lo =
        ops::Cast(ops::Const(NDArray::Scalar<int32_t>(-1000), o), dtype, o);
    t = ops::Maximum(ops::Neg(ops::Maximum(ops::Neg(t, o), lo, o), o), lo, o);
    pool.push_back(t);
  }
  for (int i = 0; i < 3; ++i) {
    dag.fetches.push_back(pool[pool.size() - 1 - i]);
  }
  dag.fetches.push_back(ops::ReduceSum(pool.back(), {}, {.device = device()}));
  return dag;
}

TEST(PartitionGraph, RandomDagsMatchSingleDeviceRuns) {
  std::mt19937 rng(20261125);
  int compared = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int num_devices = 1 + trial % 4;
    const DType dtype = trial % 2 == 0 ? DType::kInt64 : DType::kFloat32;
    std::mt19937 same_rng = rng;
    Graph g = Graph::Create(absl::StrCat("dag", trial));
    RandomDag dag = BuildRandomDag(g, dtype, num_devices, /*place=*/true, rng);
    Graph ref_g = Graph::Create(absl::StrCat("ref", trial));
    RandomDag ref_dag =
        BuildRandomDag(ref_g, dtype, num_devices, /*place=*/false, same_rng);
    ASSERT_EQ(g.num_nodes(), ref_g.num_nodes());
    NDArray feed = dtype == DType::kInt64
                       ? NDArray::Vector<int64_t>({3, -1, 4, -1})
                       : NDArray::Vector<float>({3, -1, 4, -1});

    std::vector<std::string> devices;
    for (int d = 0; d < num_devices; ++d)
      devices.push_back(absl::StrCat("cpu:", d));
    auto multi = *Session::Create(g, {0, devices});
    RunMetadata md;
    auto partitioned = multi->Run({{dag.feeds[0], feed}}, dag.fetches, {}, &md);
    ASSERT_TRUE(partitioned.ok()) << partitioned.status();

    auto reference = *Session::Create(ref_g);
    RunMetadata ref_md;
    auto single = reference->Run({{ref_dag.feeds[0], feed}}, ref_dag.fetches,
                                 {}, &ref_md);
    ASSERT_TRUE(single.ok()) << single.status();
    EXPECT_EQ(ref_md.num_partitions, 1);
    EXPECT_EQ(ref_md.num_transfers, 0);
    ASSERT_EQ(partitioned->size(), single->size());
    for (size_t i = 0; i < single->size(); ++i) {
      const NDArray& x = (*partitioned)[i];
      const NDArray& y = (*single)[i];
      ASSERT_EQ(x.shape(), y.shape());
      if (dtype == DType::kInt64) {
        EXPECT_TRUE(x.Equals(y))
            << x.DebugString() << " vs " << y.DebugString();
      } else {
        for (int64_t k = 0; k < x.num_elements(); ++k) {
          EXPECT_NEAR(x.values<float>()[k], y.values<float>()[k], 1e-4);
        }
      }
      ++compared;
    }
    EXPECT_LE(md.num_partitions, num_devices);
  }
  EXPECT_GE(compared, 800);
}

}  // namespace
}  // namespace weft
