// Tests of partitions on other tasks, with the tasks' Servers in this
// process (distributed/server.h): results equal to the in-process run,
// chained tasks, errors that name the task, registration after a restart,
// large tensors, concurrency and Shutdown. Failures of separate processes
// (SIGKILL, SIGSTOP) are in process_failure_test.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "distributed/server.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

constexpr char kTask0[] = "/job:worker/task:0/cpu:0";
constexpr char kTask1[] = "/job:worker/task:1/cpu:0";

std::unique_ptr<Server> StartServer(ServerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Server>> s = Server::Create(options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

SessionOptions ClusterOptions(const std::vector<std::string>& addresses) {
  SessionOptions o;
  o.cluster = *ClusterSpec::Create({{"worker", addresses}});
  return o;
}

// x (fed) -> h = relu(x @ w1) on task 0 -> y = h @ w2 on task 1 -> fetched.
struct Mlp {
  Graph g = Graph::Create("mlp");
  Tensor x, y;
  Mlp(const std::string& d0, const std::string& d1) {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{2, 3}, {.name = "x"});
    Tensor w1 = ops::Const(*NDArray::Create<float>({1, -2, 3, 4, 5, -6},
                                                   Shape{3, 2}),
                           {.name = "w1", .device = d0});
    Tensor h = ops::Relu(ops::MatMul(x, w1, {.name = "mm1", .device = d0}),
                         {.name = "h", .device = d0});
    Tensor w2 = ops::Const(*NDArray::Create<float>({0.5f, -1}, Shape{2, 1}),
                           {.name = "w2", .device = d1});
    y = ops::MatMul(h, w2, {.name = "y", .device = d1});
  }
};

NDArray Input(float offset) {
  return *NDArray::Create<float>(
      {1 + offset, 2, 3, -1, 0.5f * offset, 2}, Shape{2, 3});
}

TEST(Cluster, TwoTasksEqualTheInProcessRunBitForBit) {
  auto s0 = StartServer(), s1 = StartServer();
  ASSERT_NE(s0, nullptr);
  ASSERT_NE(s1, nullptr);
  Mlp remote(kTask0, kTask1);
  auto session = Session::Create(
      remote.g, ClusterOptions({s0->address(), s1->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  Mlp local("cpu:0", "cpu:0");
  auto reference = Session::Create(local.g);
  ASSERT_TRUE(reference.ok());
  for (int i = 0; i < 5; ++i) {
    auto got = (*session)->Run({{remote.x, Input(i)}}, {remote.y});
    ASSERT_TRUE(got.ok()) << got.status();
    auto want = (*reference)->Run({{local.x, Input(i)}}, {local.y});
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_TRUE((*got)[0].Equals((*want)[0]))
        << (*got)[0].DebugString() << " vs " << (*want)[0].DebugString();
  }
}

TEST(Cluster, FetchesAValueComputedOnATask) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Mlp m(kTask0, kTask0);
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  Tensor h = *m.g.GetTensor("h");
  auto got = (*session)->Run({{m.x, Input(0)}}, {h, m.y});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ((*got)[1].shape(), (Shape{2, 1}));
}

TEST(Cluster, ARemoteKernelErrorNamesTheNodeItsSiteAndTheTask) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Graph g = Graph::Create("g");
  Tensor x, bad;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kInt32, Shape{-1}, {.name = "x"});
    Tensor idx = ops::Const(NDArray::Vector<int32_t>({7}), {.name = "idx"});
    bad = ops::Gather(x, idx, 0, {.name = "bad", .device = kTask0});
  }
  auto session = Session::Create(g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  auto r = (*session)->Run({{x, NDArray::Vector<int32_t>({1, 2})}}, {bad});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("task /job:worker/task:0 at " +
                                              s0->address()));
  EXPECT_THAT(r.status().message(), HasSubstr("node 'bad' (Gather)"));
  EXPECT_THAT(r.status().message(), HasSubstr("cluster_test.cc"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->node_name, "bad");
}

}  // namespace
}  // namespace weft
