// Concurrency, cancellation (errors, deadlines, RunOptions::cancellation)
// and timeout tests of the executor and Session.
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "kernels/cancellation.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"
#include "oneapi/tbb/partitioner.h"
#include "runtime/device.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

std::atomic<int> g_sleep_started{0};
std::atomic<int> g_sleep_finished{0};

// TestSleep: Identity that sleeps "ms" milliseconds. TestFail: always fails.
void RegisterTestOps() {
  static bool once = [] {
    EXPECT_TRUE(OpRegistry::Global()
                    .Register({"TestSleep", 1, {"ms"}, InferSameAsInput})
                    .ok());
    EXPECT_TRUE(OpRegistry::Global()
                    .Register({"TestFail", 1, {}, InferSameAsInput})
                    .ok());
    for (DType d : {DType::kFloat32, DType::kInt32}) {
      EXPECT_TRUE(
          KernelRegistry::Global()
              .Register(
                  {.op = "TestSleep",
                   .dtype = d,
                   .factory = FunctionKernelFactory([](OpKernelContext& ctx) {
                     g_sleep_started.fetch_add(1);
                     const int64_t ms =
                         *FindAttr<int64_t>(ctx.node().attrs(), "ms");
                     std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                     ctx.set_output(0, ctx.input(0));
                     g_sleep_finished.fetch_add(1);
                     return absl::OkStatus();
                   }),
                   .cost = KernelCost::kExpensive})
              .ok());
      EXPECT_TRUE(
          KernelRegistry::Global()
              .Register({.op = "TestFail",
                         .dtype = d,
                         .factory = FunctionKernelFactory([](OpKernelContext&) {
                           return absl::DataLossError("injected fault");
                         })})
              .ok());
    }
    return true;
  }();
  (void)once;
}

Tensor Sleep(const Tensor& x, int64_t ms, const OpOptions& o = {}) {
  return *x.graph().AddOp("TestSleep", {x}, {{"ms", ms}}, o);
}

// Calls body(t, r) for r = 0 .. runs-1 on each of `threads` threads
// t = 0 .. threads-1, and returns when every thread is done.
void OnThreads(int threads, int runs,
               const std::function<void(int t, int r)>& body) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&body, runs, t] {
      for (int r = 0; r < runs; ++r) body(t, r);
    });
  }
  for (std::thread& th : pool) th.join();
}

TEST(Session, SixteenThreadsTimesFiveHundredRunsOnOneSession) {
  Graph g = Graph::Create("model");
  Tensor x, y;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kInt32, Shape{-1});
    Tensor h = ops::Mul(x, ops::Const(NDArray::Scalar<int32_t>(3)),
                        {.device = "cpu:0"});
    Tensor k = ops::Add(x, ops::Const(NDArray::Scalar<int32_t>(1)),
                        {.device = "cpu:1"});
    y = ops::ReduceSum(ops::Add(h, k, {.device = "cpu:1"}), {});
  }
  g.Finalize();
  auto session = *Session::Create(g, {0, {"cpu:0", "cpu:1"}});
  std::atomic<int> wrong{0}, failed{0};
  OnThreads(16, 500, [&](int t, int r) {
    const int32_t a = t, b = r;
    auto out = session->Run({{x, NDArray::Vector<int32_t>({a, b})}}, {y});
    if (!out.ok()) {
      failed.fetch_add(1);
      return;
    }
    // sum(3v + v + 1) over {a, b}.
    if ((*out)[0].values<int32_t>()[0] != 4 * (a + b) + 2) wrong.fetch_add(1);
  });
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(session->num_cached_plans(), 1);
}

// Threads running more signatures than the plan cache holds: plans are
// dropped and compiled again while other runs use them (each run holds its
// plan), and every result is right.
TEST(Session, PlanCacheEvictsWhileOtherRunsUseThePlans) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt32, Shape{});
  std::vector<Tensor> ys;
  for (int k = 0; k < 5; ++k) {
    ys.push_back(ops::Add(x, ops::Const(NDArray::Scalar<int32_t>(k))));
  }
  SessionOptions o;
  o.max_cached_plans = 2;
  auto session = *Session::Create(g, o);
  std::atomic<int> wrong{0}, failed{0};
  OnThreads(8, 300, [&](int t, int r) {
    const int k = (t + r) % 5;
    auto out = session->Run({{x, NDArray::Scalar<int32_t>(r)}}, {ys[k]});
    if (!out.ok()) {
      failed.fetch_add(1);
    } else if ((*out)[0].values<int32_t>()[0] != r + k) {
      wrong.fetch_add(1);
    }
  });
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(session->num_cached_plans(), 2);
}

TEST(Session, FaultInOnePartitionCancelsTheOthersAndLeavesNothingWaiting) {
  RegisterTestOps();
  Graph g = Graph::Create("faulty");
  Tensor out;
  {
    GraphScope scope(g);
    Tensor c = ops::Const(NDArray::Scalar<float>(1), {.device = "cpu:0"});
    // Partition 1 fails at once; partitions 0 and 2 have long sleep chains
    // that must be cut short.
    Tensor bad = *g.AddOp("TestFail", {c}, {},
                          OpOptions{.name = "injected", .device = "cpu:1"});
    Tensor slow0 = c, slow2 = c;
    for (int i = 0; i < 20; ++i) {
      slow0 = Sleep(slow0, 20, {.device = "cpu:0"});
      slow2 = Sleep(slow2, 20, {.device = "cpu:2"});
    }
    out = ops::Add(ops::Add(slow0, slow2, {.device = "cpu:0"}), bad,
                   {.device = "cpu:0"});
  }
  auto session = *Session::Create(g, {0, {"cpu:0", "cpu:1", "cpu:2"}});
  g_sleep_started = 0;
  const absl::Time start = absl::Now();
  auto r = session->Run({}, {out});
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("node 'injected' (TestFail)"));
  EXPECT_THAT(r.status().message(), HasSubstr("injected fault"));
  EXPECT_EQ(GetOpErrorInfo(r.status())->kind, ErrorKind::kKernel);
  // 40 sleeps of 20 ms would take 400+ ms per chain; cancellation stops them.
  EXPECT_LT(g_sleep_started.load(), 40);
  EXPECT_LT(took, absl::Milliseconds(400));
  // Nothing is left waiting: the session still runs, and destroying it
  // (which waits for in-flight work) returns.
  auto ok = session->Run({}, {*g.GetTensor("Const:0")});
  EXPECT_TRUE(ok.ok()) << ok.status();
  session.reset();
}

TEST(Session, TimeoutReturnsDeadlineExceededAndSessionStaysUsable) {
  RegisterTestOps();
  Graph g = Graph::Create("slow");
  Tensor c, slow;
  {
    GraphScope scope(g);
    c = ops::Const(NDArray::Scalar<int32_t>(7));
    slow = c;
    for (int i = 0; i < 50; ++i) slow = Sleep(slow, 10);
  }
  auto session = *Session::Create(g);
  RunOptions opts;
  opts.timeout = absl::Milliseconds(50);
  g_sleep_started = 0;
  g_sleep_finished = 0;
  const absl::Time start = absl::Now();
  auto r = session->Run({}, {slow}, opts);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_LT(g_sleep_started.load(), 50);
  // Usable afterwards, with and without a deadline.
  auto quick = session->Run({}, {c}, opts);
  ASSERT_TRUE(quick.ok()) << quick.status();
  EXPECT_EQ((*quick)[0].values<int32_t>()[0], 7);
  session.reset();  // Waits for the cancelled run's in-flight step.
  EXPECT_EQ(g_sleep_started.load(), g_sleep_finished.load());
}

TEST(Session, DeadlineCoversPlanCompilation) {
  Graph g = Graph::Create("compile");
  Tensor x = ops::Neg(ops::Const(NDArray::Scalar<int32_t>(3), {.graph = g}),
                      {.graph = g});
  auto session = *Session::Create(g);
  RunOptions zero;
  zero.timeout = absl::ZeroDuration();  // Due before the plan is compiled.
  RunMetadata md;
  auto r = session->Run({}, {x}, zero, &md);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_EQ(md.num_partitions, 1);  // What the plan is, though nothing ran.
  EXPECT_TRUE(md.node_stats.empty());
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("passed its deadline before any step ran"));
  // The compiled plan was kept: the next run reuses it.
  EXPECT_EQ(session->num_cached_plans(), 1);
  auto ok = session->Run({}, {x});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].values<int32_t>()[0], -3);
  EXPECT_EQ(session->num_cached_plans(), 1);
  // With the plan cached, an expired deadline still runs nothing, and a
  // RunMetadata reused from a completed run keeps nothing stale.
  ASSERT_TRUE(session->Run({}, {x}, {}, &md).ok());
  ASSERT_FALSE(md.node_stats.empty());
  auto again = session->Run({}, {x}, zero, &md);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(md.num_partitions, 1);
  EXPECT_TRUE(md.node_stats.empty());
  EXPECT_EQ(md.run_wall_ns, 0);
}

// A Session destroyed as soon as its run reported back: the run's own
// teardown (on a worker, after `done`) must be over before the destructor
// frees what it uses. Under TSan/ASan this caught the run tracker's last
// decrement racing the destructor.
TEST(Session, DestroyedRightAfterItsRunReportsBack) {
  Graph g = Graph::Create("short");
  Tensor x = ops::Neg(ops::Const(NDArray::Scalar<int32_t>(3), {.graph = g}),
                      {.graph = g});
  RunOptions zero;
  zero.timeout = absl::ZeroDuration();
  for (int i = 0; i < 300; ++i) {
    auto session = *Session::Create(g);
    absl::Notification reported;
    session->RunAsync({}, {x}, {}, [&](absl::StatusOr<std::vector<NDArray>> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      reported.Notify();
    });
    reported.WaitForNotification();
    // A run that fails at once (its deadline passed) ends the same way.
    EXPECT_EQ(session->Run({}, {x}, zero).status().code(),
              absl::StatusCode::kDeadlineExceeded);
    session.reset();
  }
}

// RunOptions::cancellation, cancelled from another thread while a chain of
// sleeps runs: the run returns kCancelled naming the option and the reason,
// stops between steps, and the session is usable afterwards.
TEST(Session, CancellationStopsARunBetweenStepsAndTheSessionStaysUsable) {
  RegisterTestOps();
  Graph g = Graph::Create("cancelled");
  Tensor c, slow;
  {
    GraphScope scope(g);
    c = ops::Const(NDArray::Scalar<int32_t>(7));
    slow = c;
    for (int i = 0; i < 50; ++i) slow = Sleep(slow, 10);
  }
  auto session = *Session::Create(g);
  g_sleep_started = 0;
  g_sleep_finished = 0;
  CancellationManager cancel;
  std::thread canceller([&] {
    while (g_sleep_started.load() == 0) std::this_thread::yield();
    absl::Status reason = absl::CancelledError("client went away");
    reason.SetPayload("type.example/request", absl::Cord("r-17"));
    cancel.Cancel(reason);
  });
  auto r = session->Run({}, {slow}, RunOptions{.cancellation = &cancel});
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("RunOptions::cancellation"));
  EXPECT_THAT(r.status().message(), HasSubstr("client went away"));
  EXPECT_EQ(r.status().GetPayload("type.example/request"), absl::Cord("r-17"));
  EXPECT_LT(g_sleep_started.load(), 50);
  auto quick = session->Run({}, {c}, RunOptions{.cancellation = nullptr});
  ASSERT_TRUE(quick.ok()) << quick.status();
  EXPECT_EQ((*quick)[0].values<int32_t>()[0], 7);
  session.reset();  // Waits for the cancelled run's in-flight step.
  EXPECT_EQ(g_sleep_started.load(), g_sleep_finished.load());
}

// A manager cancelled before the run: no step runs, Run and RunAsync both
// report the reason's code; a manager that is never cancelled changes
// nothing.
TEST(Session, RunCancelledBeforeItStartsRunsNoStep) {
  RegisterTestOps();
  Graph g = Graph::Create("early");
  Tensor slow = Sleep(ops::Const(NDArray::Scalar<int32_t>(1), {.graph = g}), 1,
                      {.graph = g});
  auto session = *Session::Create(g);
  CancellationManager cancel;
  cancel.Cancel(absl::AbortedError("server shutting down"));
  g_sleep_started = 0;
  auto r = session->Run({}, {slow}, RunOptions{.cancellation = &cancel});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(r.status().message(),
              HasSubstr("cancelled by the caller through "
                        "RunOptions::cancellation: server shutting down"));
  absl::Notification reported;
  session->RunAsync({}, {slow}, RunOptions{.cancellation = &cancel},
                    [&](absl::StatusOr<std::vector<NDArray>> out) {
                      EXPECT_EQ(out.status().code(),
                                absl::StatusCode::kAborted);
                      reported.Notify();
                    });
  reported.WaitForNotification();
  EXPECT_EQ(g_sleep_started.load(), 0);
  CancellationManager idle;
  auto ok = session->Run({}, {slow}, RunOptions{.cancellation = &idle});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].values<int32_t>()[0], 1);
}

// Cancel racing the runs' completion, one manager shared by the runs of a
// thread: every run reports exactly once, with its value or kCancelled, and
// nothing is left registered or waiting (run under TSan and ASan).
TEST(Session, CancellationRacingCompletionReportsExactlyOnce) {
  Graph g = Graph::Create("race");
  Tensor x = ops::Neg(ops::Const(NDArray::Scalar<int32_t>(3), {.graph = g}),
                      {.graph = g});
  auto session = *Session::Create(g);
  std::atomic<int> values{0}, cancelled{0}, bad{0};
  OnThreads(4, 100, [&](int, int) {
    CancellationManager cancel;
    std::atomic<int> reports{0};
    absl::Notification done_a, done_b;
    auto check = [&](absl::StatusOr<std::vector<NDArray>> r) {
      reports.fetch_add(1);
      if (r.ok() && (*r)[0].values<int32_t>()[0] == -3) {
        values.fetch_add(1);
      } else if (r.status().code() == absl::StatusCode::kCancelled) {
        cancelled.fetch_add(1);
      } else {
        bad.fetch_add(1);
      }
    };
    session->RunAsync({}, {x}, RunOptions{.cancellation = &cancel},
                      [&](absl::StatusOr<std::vector<NDArray>> r) {
                        check(std::move(r));
                        done_a.Notify();
                      });
    std::thread canceller([&] { cancel.Cancel(absl::CancelledError("race")); });
    session->RunAsync({}, {x}, RunOptions{.cancellation = &cancel},
                      [&](absl::StatusOr<std::vector<NDArray>> r) {
                        check(std::move(r));
                        done_b.Notify();
                      });
    canceller.join();
    done_a.WaitForNotification();
    done_b.WaitForNotification();
    if (reports.load() != 2) bad.fetch_add(1);
  });
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(values.load() + cancelled.load(), 800);
}

TEST(Session, ConcurrentRunsWithErrorsAndSuccessesDoNotInterfere) {
  Graph g = Graph::Create("mixed");
  Tensor x, q;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kInt32, Shape{});
    q = ops::Div(ops::Const(NDArray::Scalar<int32_t>(100)), x,
                 {.device = "cpu:1"});
  }
  auto session = *Session::Create(g, {2, {"cpu:0", "cpu:1"}});
  std::atomic<int> bad{0};
  OnThreads(8, 200, [&](int t, int r) {
    const int32_t d = (t + r) % 5;  // 0 divides by zero.
    auto out = session->Run({{x, NDArray::Scalar<int32_t>(d)}}, {q});
    if (d == 0) {
      if (out.ok() || out.status().message().find("division by zero") ==
                          std::string::npos) {
        bad.fetch_add(1);
      }
    } else if (!out.ok() || (*out)[0].values<int32_t>()[0] != 100 / d) {
      bad.fetch_add(1);
    }
  });
  EXPECT_EQ(bad.load(), 0);
}

// A kernel running on one of the device's workers (its step went there;
// the caller waits outside the device's arena) still splits its work over
// the device's num_threads: two chunks that each wait for the other meet.
// Before the compute arena (kernels/cpu/parallel.h) the device's arena had
// no slot left for a second thread and the chunks ran one after the other
// (PaddleOCR's det ran on one core of two).
TEST(CpuDevice, AKernelOnAWorkerSplitsItsWorkOverTheDevicesThreads) {
  absl::StatusOr<std::unique_ptr<Device>> device =
      CreateDevice({.name = "cpu:0", .num_threads = 2});
  ASSERT_TRUE(device.ok()) << device.status();
  std::atomic<int> met{0};
  absl::Notification done;
  (*device)->Schedule([&] {
    std::atomic<int> arrived{0};
    cpu::InComputeArena([&] {
      tbb::parallel_for(
          tbb::blocked_range<int>(0, 2, 1),
          [&](const tbb::blocked_range<int>&) {
            arrived.fetch_add(1);
            const absl::Time deadline = absl::Now() + absl::Seconds(5);
            while (arrived.load() < 2 && absl::Now() < deadline) {
              absl::SleepFor(absl::Milliseconds(1));
            }
            if (arrived.load() == 2) met.fetch_add(1);
          },
          tbb::simple_partitioner());
    });
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(met.load(), 2)
      << "the kernel's two chunks did not run at the same time";
}

}  // namespace
}  // namespace weft
