// Tests of partitions on other tasks, with the tasks' Servers in this
// process (distributed/server.h): results equal to the in-process run,
// chained tasks, errors that name the task, registration after a restart,
// large tensors, concurrency and Shutdown. Failures of separate processes
// (SIGKILL, SIGSTOP) are in process_failure_test.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "async/queue.h"
#include "async/queue_ops.h"
#include "distributed/server.h"
#include "distributed/transport.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph_io.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/distributed/test_models.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::weft::distributed_testing::ClusterOptions;
using ::weft::distributed_testing::kTask0;
using ::weft::distributed_testing::kTask1;
using ::weft::distributed_testing::Mlp;
using ::weft::distributed_testing::MlpInput;
using ::weft::distributed_testing::SplitMlp;

// Under ThreadSanitizer every copy out of a gRPC buffer is a report that
// its suppressions then drop (the buffers are written by the uninstrumented
// library), which costs seconds per MiB; there the volume tests move
// 256 KiB instead of 96 MiB and run a fifth of the steps (their point under
// TSan is the races, not the volume).
#if defined(__SANITIZE_THREAD__)
constexpr int kVolumeDivisor = 384;
constexpr int kRunsPerThread = 10;
#else
constexpr int kVolumeDivisor = 1;
constexpr int kRunsPerThread = 50;
#endif

std::unique_ptr<Server> StartServer(ServerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Server>> s = Server::Create(options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

TEST(Cluster, TwoTasksEqualTheInProcessRunBitForBit) {
  auto s0 = StartServer(), s1 = StartServer();
  ASSERT_NE(s0, nullptr);
  ASSERT_NE(s1, nullptr);
  SplitMlp mlp({s0->address(), s1->address()}, kTask0, kTask1);
  ASSERT_TRUE(mlp.status.ok()) << mlp.status;
  for (int i = 0; i < 5; ++i) {
    const SplitMlp::Result r = mlp.Run(i);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.equal) << r.got << " vs " << r.want;
  }
}

TEST(Cluster, ValuesGoBackAndForthBetweenTheClientAndATask) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Graph g = Graph::Create("g");
  Tensor x, c;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{3}, {.name = "x"});
    // x (fed, sent with the step) -> task -> client -> task (a push) -> c.
    Tensor a = ops::Neg(x, {.name = "a", .device = kTask0});
    Tensor b = ops::Relu(a, {.name = "b", .device = "cpu:0"});
    c = ops::Add(b, a, {.name = "c", .device = kTask0});
  }
  auto session = Session::Create(g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  for (int i = 0; i < 3; ++i) {
    auto r = (*session)->Run({{x, NDArray::Vector<float>({1, -2, 3})}}, {c});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_THAT((*r)[0].values<float>(), ::testing::ElementsAre(-1, 4, -3));
  }
}

TEST(Cluster, RunMetadataCountsEveryPartitionOfASuccessfulRun) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Mlp m(kTask0, kTask0);
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  RunMetadata metadata;
  auto r = (*session)->Run({{m.x, MlpInput(0)}}, {m.y}, {}, &metadata);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(metadata.num_partitions, 2);  // The client's and the task's.
  EXPECT_EQ(metadata.num_transfers, 2);   // x there, y back.
}

TEST(Cluster, FetchesAValueComputedOnATask) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Mlp m(kTask0, kTask0);
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  Tensor h = *m.g.GetTensor("h");
  auto got = (*session)->Run({{m.x, MlpInput(0)}}, {h, m.y});
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
  EXPECT_THAT(r.status().message(),
              HasSubstr("task /job:worker/task:0 at " + s0->address()));
  EXPECT_THAT(r.status().message(), HasSubstr("node 'bad' (Gather)"));
  EXPECT_THAT(r.status().message(), HasSubstr("cluster_test.cc"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->node_name, "bad");
}

TEST(Cluster, ARestartedTaskIsRegisteredAgainByTheNextRun) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  const std::string address = s0->address();
  const uint64_t first = s0->incarnation();
  Mlp m(kTask0, kTask0);
  auto session = Session::Create(m.g, ClusterOptions({address}));
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({{m.x, MlpInput(1)}}, {m.y}).ok());
  s0->Shutdown(absl::ZeroDuration());
  s0.reset();
  s0 = StartServer({.listen = address});
  ASSERT_NE(s0, nullptr);
  EXPECT_NE(s0->incarnation(), first);
  auto r = (*session)->Run({{m.x, MlpInput(1)}}, {m.y});
  EXPECT_TRUE(r.ok()) << r.status();
}

TEST(Cluster, ADeadTaskFailsTheRunAtOnceNamingTaskAddressAndStep) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  const std::string address = s0->address();
  Mlp m(kTask0, kTask0);
  auto session = Session::Create(m.g, ClusterOptions({address}));
  ASSERT_TRUE(session.ok()) << session.status();
  auto first = (*session)->Run({{m.x, MlpInput(1)}}, {m.y});
  ASSERT_TRUE(first.ok()) << first.status();
  s0->Shutdown(absl::ZeroDuration());
  const absl::Time start = absl::Now();
  auto r = (*session)->Run({{m.x, MlpInput(1)}}, {m.y});
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(),
              HasSubstr("task /job:worker/task:0 at " + address + ", step "));
}

// The process's peak resident set (VmHWM), in bytes; -1 if unknown.
int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoll(line.substr(6)) * 1024;  // "VmHWM:  123 kB"
    }
  }
  return -1;
}

// Resets the peak to the current resident set; returns it (-1 if the
// kernel does not allow it).
int64_t ResetPeakRssBytes() {
  std::ofstream clear("/proc/self/clear_refs");
  if (!(clear << "5")) return -1;
  clear.close();
  return PeakRssBytes();
}

TEST(Cluster, A96MiBTensorCrossesIntact) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  constexpr int64_t kN = (96 << 18) / kVolumeDivisor;  // 96 MiB of float32.
  Graph g = Graph::Create("g");
  Tensor x, y;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{kN}, {.name = "x"});
    y = ops::Neg(x, {.name = "y", .device = kTask0});
  }
  auto session = Session::Create(g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  NDArray in = NDArray::Uninitialized(DType::kFloat32, Shape{kN});
  float* p = in.mutable_data<float>();
  for (int64_t i = 0; i < kN; ++i) p[i] = static_cast<float>(i % 100003);
  [[maybe_unused]] const int64_t rss_before = ResetPeakRssBytes();
  auto r = (*session)->Run({{x, in}}, {y});
  [[maybe_unused]] const int64_t rss_peak = PeakRssBytes();
  ASSERT_TRUE(r.ok()) << r.status();
  const float* q = (*r)[0].values<float>().data();
  int64_t wrong = 0;
  for (int64_t i = 0; i < kN; ++i) wrong += q[i] != -p[i];
  EXPECT_EQ(wrong, 0);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Beyond the fed array: the task's copy of x, its y, and the client's
  // copy of y (this process is both sides) — three arrays — plus chunks in
  // flight. A whole-tensor protobuf message would add two more per
  // direction. (The sanitizers' allocators keep freed memory: not there.)
  const int64_t bytes = kN * 4;
  if (rss_before > 0 && rss_peak > 0) {
    std::printf("peak RSS grew by %lld MiB\n",
                static_cast<long long>((rss_peak - rss_before) >> 20));
    EXPECT_LT(rss_peak - rss_before, 3 * bytes + (64 << 20))
        << "peak RSS grew by " << ((rss_peak - rss_before) >> 20) << " MiB";
  }
#endif
}

int64_t MinorPageFaults() {
  rusage usage{};
  EXPECT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
  return usage.ru_minflt;
}

// Runs `run` (one step) 10 times, while gRPC's threads settle into their
// malloc arenas, then 10 more, which must map few new pages: under 2,048
// a step, where receiving 48 MiB into fresh memory takes ~12,300. (The
// sanitizers' allocators manage memory their own way: there the steps are
// checked, not the count.)
void ExpectSteadyStepsMapFewPages(const std::function<void()>& run) {
  for (int i = 0; i < 10; ++i) run();
  const int64_t before = MinorPageFaults();
  constexpr int kRuns = 10;
  for (int i = 0; i < kRuns; ++i) run();
  const int64_t faults = MinorPageFaults() - before;
  std::printf("%lld minor page faults in %d steps\n",
              static_cast<long long>(faults), kRuns);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(faults, kRuns * 2048)
      << faults << " minor page faults in " << kRuns << " steps";
#endif
}

// A task receives a pushed tensor into its device's caching allocator, and
// with ConfigureMallocForServing gRPC's receive buffers stay on warm pages:
// steady-state steps that push 48 MiB map few new pages.
TEST(Cluster, SteadyStatePushesMapNoNewPages) {
  ConfigureMallocForServing();
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  // 48 MiB of float32: above the 32 MiB from which glibc maps every block
  // afresh, below the device cache's bound.
  constexpr int64_t kN = int64_t{48} << 18;
  Graph g = Graph::Create("g");
  Tensor x, sum;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{kN}, {.name = "x"});
    sum = ops::ReduceSum(x, {0}, {.name = "sum", .device = kTask0});
  }
  auto session = Session::Create(g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  NDArray in = NDArray::Uninitialized(DType::kFloat32, Shape{kN});
  std::fill_n(in.mutable_data<float>(), kN, 1.0f);
  auto run = [&] {
    auto r = (*session)->Run({{x, in}}, {sum});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)[0].values<float>()[0], static_cast<float>(kN));
  };
  // Measured ~560 per step. Receiving into a fresh block takes ~13,000
  // (48 MiB is 12,288 pages); glibc's default trimming under gRPC's
  // buffers ~9,000.
  ExpectSteadyStepsMapFewPages(run);
}

// The other direction: a value a task sends to the client's partition
// arrives in the client device's caching allocator, so steady-state steps
// that bring 48 MiB back map few new pages either (~37,000 a step before:
// ~12,700 for the client's receive, the rest BroadcastTo's per-axis tables,
// as long as its rank-1 output). And the server, destroyed last, goes at
// once: gRPC 1.51's final grpc_shutdown used to wait ~10 s here for its
// executor thread's poll (grpc_transport.cc, KeepGrpcInitialized).
TEST(Cluster, SteadyStateValuesFromATaskMapNoNewPages) {
  ConfigureMallocForServing();
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  constexpr int64_t kN = int64_t{48} << 18;  // 48 MiB of float32
  Graph g = Graph::Create("g");
  Tensor x, sum;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{1}, {.name = "x"});
    Tensor big = ops::BroadcastTo(x, {kN}, {.name = "big", .device = kTask0});
    sum = ops::ReduceSum(big, {0}, {.name = "sum"});  // on the client
  }
  auto session = Session::Create(g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  NDArray in = NDArray::Uninitialized(DType::kFloat32, Shape{1});
  in.mutable_data<float>()[0] = 1.0f;
  auto run = [&] {
    auto r = (*session)->Run({{x, in}}, {sum});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)[0].values<float>()[0], static_cast<float>(kN));
  };
  ExpectSteadyStepsMapFewPages(run);
  session->reset();
  const absl::Time start = absl::Now();
  s0.reset();
  const absl::Duration took = absl::Now() - start;
  std::printf("the server went in %s\n", absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(3));
}

TEST(Cluster, SixteenThreadsWithDistinctFeedsGetTheirOwnResults) {
  auto s0 = StartServer(), s1 = StartServer();
  ASSERT_NE(s0, nullptr);
  ASSERT_NE(s1, nullptr);
  SplitMlp mlp({s0->address(), s1->address()}, kTask0, kTask1);
  ASSERT_TRUE(mlp.status.ok()) << mlp.status;
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        const SplitMlp::Result r = mlp.Run(t * 100 + i);
        if (!r.status.ok()) {
          ++failures;
        } else if (!r.equal) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

// y = -Dequeue(q) on task 0 of a server in this process, which resolves
// the queue by name when it loads the registered graph: a step that waits
// on the task until the queue gets an element.
struct RemoteDequeue {
  explicit RemoteDequeue(const std::string& queue_name)
      : q(*Queue::Create(queue_name, {{DType::kFloat32, Shape{}, "v"}}, 4)) {
    RegisterResourceResolver(
        "Queue", [q = q](std::string_view n) -> absl::StatusOr<ResourceRef> {
          if (n != q.name()) return absl::NotFoundError(std::string(n));
          return q.resource();
        });
    GraphScope scope(g);
    y = ops::Neg(ops::Dequeue(q, {.device = kTask0})[0],
                 {.name = "y", .device = kTask0});
  }
  Queue q;
  Graph g = Graph::Create("g");
  Tensor y;
};

TEST(Cluster, CancellationWakesARemoteDequeueAndTheQueueLosesNothing) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  RemoteDequeue m("cancel_q");
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  CancellationManager cancel;
  absl::Notification done;
  absl::Status status;
  absl::Time cancelled_at;
  (*session)->RunAsync({}, {m.y}, {.cancellation = &cancel},
                       [&](absl::StatusOr<std::vector<NDArray>> r) {
                         status = r.status();
                         done.Notify();
                       });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(done.HasBeenNotified());
  cancelled_at = absl::Now();
  cancel.Cancel(absl::CancelledError("client went away"));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(2)));
  EXPECT_LT(absl::Now() - cancelled_at, absl::Milliseconds(500));
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  // The remote Dequeue is gone: an element enqueued now stays for the next
  // run.
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(m.q.Enqueue({NDArray::Scalar<float>(5)}).ok());
  auto r = (*session)->Run({}, {m.y}, {.timeout = absl::Seconds(5)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<float>()[0], -5);
}

TEST(Cluster, ShutdownWithAStepInFlightEndsTheRunNamingTheTask) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  RemoteDequeue m("shutdown_q");
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  absl::Notification done;
  absl::Status status;
  (*session)->RunAsync({}, {m.y}, {},
                       [&](absl::StatusOr<std::vector<NDArray>> r) {
                         status = r.status();
                         done.Notify();
                       });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  s0->Shutdown(absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(2)));
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("task /job:worker/task:0"));
}

TEST(Cluster, TheDeadlineEndsARunBlockedOnATask) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  RemoteDequeue m("deadline_q");
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  const absl::Time start = absl::Now();
  auto r = (*session)->Run({}, {m.y}, {.timeout = absl::Milliseconds(300)});
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
}

// A client that dies after pushing a value but before its RunStep reaches
// the task (simulated: a push for a step that never runs) leaves nothing
// behind: after ServerOptions::unstarted_step_timeout the task drops the
// values and ends the step, so a late push is refused.
TEST(Cluster, ValuesPushedForAStepThatNeverRunsAreDropped) {
  auto server =
      StartServer({.unstarted_step_timeout = absl::Milliseconds(200)});
  ASSERT_NE(server, nullptr);
  std::unique_ptr<transport::WorkerClient> client;
  ASSERT_TRUE(transport::WorkerClient::Create(
                  server->address(), transport::ChannelConfig(), &client)
                  .ok());
  auto data = std::make_shared<std::vector<float>>(1 << 18, 1.0f);
  auto push = [&](const std::string& key) {
    transport::OutTensor t;
    t.key = key;
    t.meta.dtype = static_cast<int32_t>(DType::kFloat32);
    t.meta.shape = {static_cast<int64_t>(data->size())};
    t.meta.num_bytes = static_cast<int64_t>(data->size() * sizeof(float));
    t.data = reinterpret_cast<const char*>(data->data());
    t.owner = data;
    std::promise<transport::RpcStatus> done;
    client->PushTensor(424242, std::move(t),
                       absl::ToUnixNanos(absl::Now() + absl::Seconds(5)),
                       [&done](transport::RpcStatus s) { done.set_value(s); });
    return done.get_future().get();
  };
  const absl::Time start = absl::Now();
  transport::RpcStatus s = push("a");
  ASSERT_TRUE(s.ok()) << s.message;
  // Refused once the step has been ended (bounded: a few sweeps).
  int pushes = 1;
  while (s.ok() && absl::Now() - start < absl::Seconds(10)) {
    absl::SleepFor(absl::Milliseconds(50));
    s = push(absl::StrCat("v", pushes++));
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code, static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(s.message, HasSubstr("arrived after step 424242 ended"));
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST(Cluster, ANodeOnATaskTheClusterLacksIsAnError) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Mlp m("/job:worker/task:3/cpu:0", kTask0);
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  auto r = (*session)->Run({{m.x, MlpInput(0)}}, {m.y});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("places nodes on task /job:worker/task:3"));
}

TEST(Cluster, ADeviceTheTaskLacksIsAnErrorNamingIt) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  Mlp m("/job:worker/task:0/cpu:5", kTask0);
  auto session = Session::Create(m.g, ClusterOptions({s0->address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  auto r = (*session)->Run({{m.x, MlpInput(0)}}, {m.y});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("has no device 'cpu:5'"));
}

TEST(Server, RefusesAnInsecureNonLoopbackListen) {
  auto s = Server::Create({.listen = "0.0.0.0:0"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("without TLS"));
}

TEST(Server, ShutdownIsIdempotentAndFreesThePort) {
  auto s0 = StartServer();
  ASSERT_NE(s0, nullptr);
  const std::string address = s0->address();
  s0->Shutdown();
  s0->Shutdown();
  s0->Wait();
  auto again = Server::Create({.listen = address});
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(ClusterSpec, ValidatesJobsAndAddresses) {
  EXPECT_FALSE(ClusterSpec::Create({}).ok());
  EXPECT_FALSE(ClusterSpec::Create({{"Worker", {"h:1"}}}).ok());
  EXPECT_FALSE(ClusterSpec::Create({{"worker", {}}}).ok());
  auto bad = ClusterSpec::Create({{"worker", {"h:1", "nohost"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("task 1 of job 'worker'"));
  auto c = ClusterSpec::Create({{"worker", {"h:1", "h:2"}}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->TaskAddress("worker", 1), "h:2");
  EXPECT_EQ(c->TaskAddress("worker", 2).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace weft
