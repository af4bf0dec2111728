// Tests of the asynchronous runtime core: AsyncOpKernel (completion on
// another thread, inline completion, cancellation by deadline and by an
// error elsewhere, many waiting runs holding no worker), RunAsync, targets,
// deadlines whichever thread runs the work, the LocalRendezvous, custom
// devices and per-device thread counts, PlanSummary, and the reuse of
// per-run frames (RunFramePool).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <new>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "kernels/kernel.h"
#include "runtime/device.h"
#include "runtime/plan.h"
#include "runtime/rendezvous.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// --- A gate: async kernels park here until released or cancelled.
struct Gate {
  absl::Mutex mu;
  std::deque<std::function<void()>> parked ABSL_GUARDED_BY(mu);
  std::atomic<int> waiting{0};
  std::atomic<int> cancelled{0};

  void ReleaseAll() {
    std::deque<std::function<void()>> all;
    {
      absl::MutexLock lock(&mu);
      all.swap(parked);
    }
    for (auto& f : all) f();
  }
};

Gate& TheGate() {
  static Gate* gate = new Gate();
  return *gate;
}

// TestWaitAsync(x): forwards x once the gate releases it; ends with the
// step's error when the step is cancelled first. Holds no thread while it
// waits.
class WaitAsyncKernel : public AsyncOpKernel {
 public:
  using AsyncOpKernel::AsyncOpKernel;
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    struct Waiter {
      OpKernelContext* ctx;
      DoneCallback done;
      std::atomic<bool> finished{false};
      CancellationManager::Token token = 0;
      std::atomic<bool> registered{false};
    };
    auto w = std::make_shared<Waiter>();
    w->ctx = &ctx;
    w->done = std::move(done);
    // Whichever of "released" and "cancelled" comes first finishes the
    // waiter; the other must not touch `ctx`, which dies with `done`.
    Gate& gate = TheGate();
    {
      absl::MutexLock lock(&gate.mu);
      gate.parked.push_back([w] {
        if (w->finished.exchange(true)) return;
        if (w->registered) w->ctx->cancellation()->Deregister(w->token);
        w->ctx->set_output(0, w->ctx->release_input(0));
        std::move(w->done)(absl::OkStatus());
      });
    }
    CancellationManager::Token token = 0;
    const bool registered = ctx.cancellation()->Register(
        [w] {
          if (w->finished.exchange(true)) return;
          TheGate().cancelled.fetch_add(1);
          std::move(w->done)(w->ctx->cancellation()->status());
        },
        &token);
    w->token = token;
    w->registered = registered;
    if (!registered && !w->finished.exchange(true)) {
      std::move(w->done)(ctx.cancellation()->status());
    }
    gate.waiting.fetch_add(1);
  }
};

// TestNowAsync(x): an async kernel that completes inline (inside
// ComputeAsync) with x + 1.
class NowAsyncKernel : public AsyncOpKernel {
 public:
  using AsyncOpKernel::AsyncOpKernel;
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    NDArray out = NDArray::Scalar(ctx.input(0).values<int64_t>()[0] + 1);
    ctx.set_output(0, std::move(out));
    std::move(done)(absl::OkStatus());
  }
};

// TestLaterAsync(x): completes with x + 1 from a new thread after 1 ms.
class LaterAsyncKernel : public AsyncOpKernel {
 public:
  using AsyncOpKernel::AsyncOpKernel;
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    std::thread([&ctx, done = std::move(done)]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ctx.set_output(0, NDArray::Scalar(ctx.input(0).values<int64_t>()[0] + 1));
      std::move(done)(absl::OkStatus());
    }).detach();
  }
};

std::atomic<int> g_counter{0};

// TestBump(x): increments g_counter by one per run (a side effect).
absl::Status BumpKernel(OpKernelContext& ctx) {
  g_counter.fetch_add(1);
  ctx.set_output(0, ctx.input(0));
  return absl::OkStatus();
}

// TestSpin(x): busy for "ms" milliseconds on whatever thread runs it.
// The thread the last TestSpin ran on.
std::atomic<std::thread::id> g_spin_thread;

absl::Status SpinKernel(OpKernelContext& ctx) {
  g_spin_thread.store(std::this_thread::get_id());
  const int64_t ms = *FindAttr<int64_t>(ctx.node().attrs(), "ms");
  const absl::Time until = absl::Now() + absl::Milliseconds(ms);
  while (absl::Now() < until) {
  }
  ctx.set_output(0, ctx.input(0));
  return absl::OkStatus();
}

// Counts the buffers it has handed out that are still alive.
class CountingAllocator : public BufferAllocator {
 public:
  std::shared_ptr<void> AllocateBuffer(size_t bytes) override {
    void* p = ::operator new (bytes, std::align_val_t{NDArray::kAlignment});
    live_.fetch_add(1);
    return std::shared_ptr<void>(p, [this](void* q) {
      ::operator delete (q, std::align_val_t{NDArray::kAlignment});
      live_.fetch_sub(1);
    });
  }
  int live() const { return live_.load(); }

 private:
  std::atomic<int> live_{0};
};

CountingAllocator& Tracked() {
  static CountingAllocator* a = new CountingAllocator();
  return *a;
}

// TestTracked(x): a copy of x in a buffer from Tracked().
absl::Status TrackedKernel(OpKernelContext& ctx) {
  absl::StatusOr<NDArray> out = NDArray::AllocateChecked(
      DType::kInt64, ctx.input(0).shape(), 0, &Tracked());
  if (!out.ok()) return out.status();
  const absl::Span<const int64_t> in = ctx.input(0).values<int64_t>();
  std::copy(in.begin(), in.end(), out->mutable_data<int64_t>());
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

void RegisterTestOps() {
  static bool once = [] {
    for (const char* op : {"TestWaitAsync", "TestNowAsync", "TestLaterAsync",
                           "TestBump", "TestTracked"}) {
      EXPECT_TRUE(OpRegistry::Global()
                      .Register({.type = op,
                                 .num_inputs = 1,
                                 .infer = InferSameAsInput,
                                 .stateful = true})
                      .ok());
    }
    EXPECT_TRUE(OpRegistry::Global()
                    .Register({.type = "TestSpin",
                               .num_inputs = 1,
                               .attrs = {"ms"},
                               .infer = InferSameAsInput})
                    .ok());
    KernelRegistry& r = KernelRegistry::Global();
    EXPECT_TRUE(r.Register({.op = "TestWaitAsync",
                            .dtype = DType::kInt64,
                            .factory = MakeKernelFactory<WaitAsyncKernel>()})
                    .ok());
    EXPECT_TRUE(r.Register({.op = "TestNowAsync",
                            .dtype = DType::kInt64,
                            .factory = MakeKernelFactory<NowAsyncKernel>()})
                    .ok());
    EXPECT_TRUE(r.Register({.op = "TestLaterAsync",
                            .dtype = DType::kInt64,
                            .factory = MakeKernelFactory<LaterAsyncKernel>()})
                    .ok());
    EXPECT_TRUE(r.Register({.op = "TestBump",
                            .dtype = DType::kInt64,
                            .factory = FunctionKernelFactory(BumpKernel)})
                    .ok());
    EXPECT_TRUE(r.Register({.op = "TestTracked",
                            .dtype = DType::kInt64,
                            .factory = FunctionKernelFactory(TrackedKernel)})
                    .ok());
    EXPECT_TRUE(r.Register({.op = "TestSpin",
                            .dtype = DType::kInt64,
                            .factory = FunctionKernelFactory(SpinKernel),
                            .cost = KernelCost::kExpensive})
                    .ok());
    return true;
  }();
  (void)once;
}

Tensor Op(const std::string& op, const Tensor& x, AttrMap attrs = {}) {
  absl::StatusOr<Tensor> t = x.graph().AddOp(op, {x}, std::move(attrs));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor::FromError(t.status());
}

int64_t Scalar(const absl::StatusOr<std::vector<NDArray>>& r, int i = 0) {
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? (*r)[i].values<int64_t>()[0] : -1;
}

TEST(AsyncOpKernel, InlineAndLaterCompletionsChain) {
  RegisterTestOps();
  Graph g = Graph::Create("g");
  Tensor t = ops::Const(NDArray::Scalar<int64_t>(0), {.graph = g});
  for (int i = 0; i < 50; ++i)
    t = Op(i % 2 ? "TestNowAsync" : "TestLaterAsync", t);
  auto session = *Session::Create(g, {.devices = {"cpu:0"}});
  EXPECT_EQ(Scalar(session->Run({}, {t})), 50);
  // Many runs at once.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int k = 0; k < 8; ++k) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {t});
        if (!r.ok() || (*r)[0].values<int64_t>()[0] != 50) wrong.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(AsyncOpKernel, WaitingRunsHoldNoWorkerThread) {
  RegisterTestOps();
  Gate& gate = TheGate();
  Graph waiting = Graph::Create("waiting");
  Tensor w = Op("TestWaitAsync",
                ops::Const(NDArray::Scalar<int64_t>(7), {.graph = waiting}));
  auto blocked = *Session::Create(waiting);
  constexpr int kRuns = 64;
  std::atomic<int> done{0};
  std::atomic<int> right{0};
  const int before = gate.waiting.load();
  for (int i = 0; i < kRuns; ++i) {
    blocked->RunAsync({}, {w}, {}, [&](absl::StatusOr<std::vector<NDArray>> r) {
      if (r.ok() && (*r)[0].values<int64_t>()[0] == 7) {
        right.fetch_add(1);
      }
      done.fetch_add(1);
    });
  }
  while (gate.waiting.load() - before < kRuns)
    absl::SleepFor(absl::Milliseconds(1));
  // 64 runs are parked on a 2-core machine; another session still runs.
  Graph other = Graph::Create("other");
  Tensor y = ops::Neg(ops::Const(NDArray::Scalar<int64_t>(3), {.graph = other}),
                      {.graph = other});
  auto free_session = *Session::Create(other);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(Scalar(free_session->Run({}, {y})), -3);
  EXPECT_EQ(done.load(), 0);
  gate.ReleaseAll();
  while (done.load() < kRuns) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(right.load(), kRuns);
}

TEST(AsyncOpKernel, DeadlineCancelsAWaitingKernelOnTime) {
  RegisterTestOps();
  Gate& gate = TheGate();
  Graph g = Graph::Create("g");
  Tensor w = Op("TestWaitAsync",
                ops::Const(NDArray::Scalar<int64_t>(1), {.graph = g}));
  auto session = *Session::Create(g);
  const int cancelled_before = gate.cancelled.load();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<NDArray>> r =
      session->Run({}, {w}, RunOptions{.timeout = absl::Milliseconds(50)});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_LT(took, absl::Seconds(2));  // Generous: a hang would never return.
  EXPECT_EQ(gate.cancelled.load(), cancelled_before + 1);
  gate.ReleaseAll();  // Its parked entry finds the waiter already finished.
  // The session is reusable.
  Tensor n = ops::Neg(ops::Const(NDArray::Scalar<int64_t>(2), {.graph = g}),
                      {.graph = g});
  EXPECT_EQ(Scalar(session->Run({}, {n})), -2);
}

TEST(AsyncOpKernel, ErrorElsewhereCancelsAWaitingKernel) {
  RegisterTestOps();
  Gate& gate = TheGate();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor w;
  {
    DeviceScope d("cpu:1");
    w = Op("TestWaitAsync", ops::Const(NDArray::Scalar<int64_t>(1)));
  }
  // On the other device, integer division by zero fails after 100 ms, while
  // w waits.
  Tensor late = Op("TestSpin", ops::Const(NDArray::Scalar<int64_t>(0)),
                   {{"ms", int64_t{100}}});
  Tensor bad = ops::Div(ops::Const(NDArray::Scalar<int64_t>(1)), late);
  auto session = *Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
  const int cancelled_before = gate.cancelled.load();
  absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {w, bad});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("integer division by zero"));
  EXPECT_EQ(gate.cancelled.load(), cancelled_before + 1);
  gate.ReleaseAll();
}

TEST(Session, RunAsyncCallsDoneExactlyOnceOnARuntimeThread) {
  Graph g = Graph::Create("g");
  Tensor y = ops::Neg(ops::Const(NDArray::Scalar<int64_t>(5), {.graph = g}),
                      {.graph = g});
  auto session = *Session::Create(g);
  constexpr int kRuns = 200;
  std::atomic<int> calls{0};
  std::atomic<int> on_caller{0};
  std::atomic<int> right{0};
  const std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < kRuns; ++i) {
    session->RunAsync({}, {y}, {}, [&](absl::StatusOr<std::vector<NDArray>> r) {
      if (std::this_thread::get_id() == caller) {
        on_caller.fetch_add(1);
      }
      if (r.ok() && (*r)[0].values<int64_t>()[0] == -5) {
        right.fetch_add(1);
      }
      calls.fetch_add(1);
    });
  }
  while (calls.load() < kRuns) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(20));  // A second call would show here.
  EXPECT_EQ(calls.load(), kRuns);
  EXPECT_EQ(right.load(), kRuns);
  EXPECT_EQ(on_caller.load(), 0);
}

TEST(Session, RunAsyncValidationErrorsArriveThroughDone) {
  Graph g = Graph::Create("g");
  Graph other = Graph::Create("other");
  Tensor foreign = ops::Const(NDArray::Scalar(1.0f), {.graph = other});
  auto session = *Session::Create(g);
  absl::Notification n;
  absl::Status seen;
  std::thread::id where;
  session->RunAsync({}, {foreign}, {},
                    [&](absl::StatusOr<std::vector<NDArray>> r) {
                      seen = r.status();
                      where = std::this_thread::get_id();
                      n.Notify();
                    });
  n.WaitForNotification();
  EXPECT_THAT(seen.message(), HasSubstr("cross-graph edge rejected"));
  EXPECT_TRUE(GetCrossGraphEdge(seen).has_value());
  EXPECT_NE(where, std::this_thread::get_id());
}

TEST(Session, TargetsRunForSideEffectsOnly) {
  RegisterTestOps();
  Graph g = Graph::Create("g");
  Tensor x = ops::Const(NDArray::Scalar<int64_t>(1), {.graph = g});
  Tensor bump = Op("TestBump", x);
  Tensor y = ops::Neg(x, {.graph = g});
  auto session = *Session::Create(g);
  const int before = g_counter.load();
  absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {}, {bump});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(g_counter.load(), before + 1);
  r = session->Run({}, {y}, {bump});
  EXPECT_EQ(Scalar(r), -1);
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(g_counter.load(), before + 2);
  // Without the target the side effect does not happen.
  EXPECT_EQ(Scalar(session->Run({}, {y})), -1);
  EXPECT_EQ(g_counter.load(), before + 2);
  // RunAsync with targets.
  absl::Notification n;
  session->RunAsync({}, {}, {bump}, {},
                    [&](absl::StatusOr<std::vector<NDArray>>) { n.Notify(); });
  n.WaitForNotification();
  EXPECT_EQ(g_counter.load(), before + 3);
  // A target of another graph is the cross-graph error.
  Graph other = Graph::Create("other");
  Tensor foreign = ops::Const(NDArray::Scalar(1.0f), {.graph = other});
  absl::StatusOr<std::vector<NDArray>> bad = session->Run({}, {}, {foreign});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'target 0'"));
}

TEST(Session, DeadlineHonouredWhenTheSlowStepWouldRunOnTheCallingThread) {
  RegisterTestOps();
  Graph g = Graph::Create("g");
  Tensor slow =
      Op("TestSpin", ops::Const(NDArray::Scalar<int64_t>(1), {.graph = g}),
         {{"ms", int64_t{400}}});
  auto session = *Session::Create(g);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<NDArray>> r =
      session->Run({}, {slow}, RunOptions{.timeout = absl::Milliseconds(50)});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  // Returned before the 400 ms step could have finished.
  EXPECT_LT(took, absl::Milliseconds(350)) << took;
  // Without a deadline the same run succeeds.
  EXPECT_EQ(Scalar(session->Run({}, {slow})), 1);
}

TEST(Rendezvous, SendThenRecvRecvThenSendAbortAndDuplicates) {
  LocalRendezvous rv;
  ASSERT_TRUE(rv.Send(1, "a", NDArray::Scalar(1.0f)).ok());
  absl::StatusOr<NDArray> got;
  rv.RecvAsync(1, "a", [&](absl::StatusOr<NDArray> v) { got = std::move(v); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->values<float>()[0], 1.0f);
  bool called = false;
  rv.RecvAsync(1, "b", [&](absl::StatusOr<NDArray> v) {
    called = true;
    got = std::move(v);
  });
  EXPECT_FALSE(called);
  ASSERT_TRUE(rv.Send(1, "b", NDArray::Scalar(2.0f)).ok());
  EXPECT_TRUE(called);
  EXPECT_EQ(got->values<float>()[0], 2.0f);
  // Steps are independent.
  ASSERT_TRUE(rv.Send(2, "a", NDArray::Scalar(3.0f)).ok());
  EXPECT_EQ(rv.Send(2, "a", NDArray::Scalar(3.0f)).code(),
            absl::StatusCode::kAlreadyExists);
  // Abort wakes a waiting receiver and fails later sends.
  called = false;
  rv.RecvAsync(3, "x", [&](absl::StatusOr<NDArray> v) {
    called = true;
    got = std::move(v);
  });
  rv.AbortStep(3, absl::CancelledError("stop"));
  EXPECT_TRUE(called);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(rv.Send(3, "y", NDArray()).code(), absl::StatusCode::kCancelled);
  rv.EndStep(1);
  rv.EndStep(2);
  rv.EndStep(3);
  EXPECT_EQ(rv.num_active_steps(), 0);
}

// A device kind registered by the user: every Schedule runs on a new
// thread; Execute runs inline.
class ThreadPerTaskDevice : public Device {
 public:
  using Device::Device;
  void Schedule(absl::AnyInvocable<void()> fn) override {
    scheduled.fetch_add(1);
    std::thread(std::move(fn)).detach();
  }
  void Execute(absl::FunctionRef<void()> fn) override { fn(); }
  static inline std::atomic<int> scheduled{0};
};

TEST(Device, UnregisteredKindIsACreateErrorListingKinds) {
  Graph g = Graph::Create("g");
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(g, {.devices = {"cpu:0", "gpu:0"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(),
              HasSubstr("device 'gpu:0' has kind 'gpu', which is not "
                        "registered (registered kinds: cpu"));
  s = Session::Create(g,
                      {.devices = {"cpu:0"}, .device_threads = {{"cpu:1", 1}}});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("'cpu:1', which is not in"));
}

TEST(Device, CustomDeviceKindRunsItsPartition) {
  static bool registered = [] {
    EXPECT_TRUE(
        RegisterDeviceFactory("threads",
                              [](const DeviceOptions& o)
                                  -> absl::StatusOr<std::unique_ptr<Device>> {
                                return std::make_unique<ThreadPerTaskDevice>(o);
                              })
            .ok());
    // Kernels for the new kind: Neg of int64 reusing the cpu factory.
    const KernelDef* cpu_neg =
        KernelRegistry::Global().Find("Neg", "cpu", DType::kInt64);
    EXPECT_TRUE(KernelRegistry::Global()
                    .Register({.op = "Neg",
                               .device_kind = "threads",
                               .dtype = DType::kInt64,
                               .factory = cpu_neg->factory})
                    .ok());
    return true;
  }();
  (void)registered;
  EXPECT_EQ(RegisterDeviceFactory("threads", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Const(NDArray::Scalar<int64_t>(4), {.device = "cpu:0"});
  Tensor y = ops::Neg(x, {.device = "threads:0"});
  Tensor z = ops::Neg(ops::Cast(y, DType::kInt64, {.device = "threads:0"}));
  auto session = *Session::Create(
      g, {.devices = {"cpu:0", "threads:0"}, .device_threads = {{"cpu:0", 1}}});
  const int before = ThreadPerTaskDevice::scheduled.load();
  absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {y});
  EXPECT_EQ(Scalar(r), -4);
  EXPECT_GT(ThreadPerTaskDevice::scheduled.load(), before);
  // Cast has no kernel for the new kind: a compile error naming it.
  absl::StatusOr<std::vector<NDArray>> missing = session->Run({}, {z});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("no kernel for op Cast on device kind 'threads'"));
  EXPECT_EQ(GetOpErrorInfo(missing.status())->kind, ErrorKind::kMissingKernel);
}

TEST(Session, GetPlanSummarizesThePlan) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{2, 2});
  Tensor h = ops::MatMul(a, a, {.name = "h", .device = "cpu:1"});
  Tensor y = ops::Relu(h, {.device = "cpu:0"});
  auto session = *Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
  absl::StatusOr<PlanSummary> plan = session->GetPlan({a}, {y});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->num_partitions, 2);
  EXPECT_EQ(plan->num_transfers, 2);  // a to cpu:1, h back to cpu:0.
  EXPECT_EQ(plan->num_nodes, 3);
  EXPECT_THAT(plan->partition_devices,
              ::testing::ElementsAre("cpu:0", "cpu:1"));
  EXPECT_THAT(plan->kernels, ::testing::Contains("h:openblas"));
  EXPECT_THAT(plan->dump, HasSubstr("recv h:0@cpu:1->cpu:0"));
  EXPECT_THAT(plan->dot, HasSubstr("digraph weft"));
  EXPECT_EQ(session->num_cached_plans(), 1);
}

// A run's per-step arrays are reused by the plan's next runs (RunFramePool).
// Whatever a run leaves in them -- fetched values, values read twice,
// outputs nobody reads, everything after a failure -- must be released when
// the run ends, not when the frame is next used or the session dies. The
// last reference may drop on a runtime thread just after Run returns, hence
// the wait.
bool TrackedBuffersReleased() {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (Tracked().live() != 0 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return Tracked().live() == 0;
}

TEST(RunFramePool, PooledFramesHoldNoArraysBetweenRuns) {
  RegisterTestOps();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{3});
  Tensor once = Op("TestTracked", x);      // Read once: moved out.
  Tensor twice = Op("TestTracked", once);  // Read by two steps.
  Tensor a = ops::Add(twice, twice);
  Tensor fetched = Op("TestTracked", a);       // Fetched.
  Tensor unread = Op("TestTracked", fetched);  // A target's output.
  auto session = *Session::Create(g);
  for (int run = 0; run < 4; ++run) {
    {
      absl::StatusOr<std::vector<NDArray>> r = session->Run(
          {{x, NDArray::Vector<int64_t>({run, 1, 2})}}, {fetched}, {unread});
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_THAT((*r)[0].values<int64_t>(),
                  ::testing::ElementsAre(2 * run, 2, 4));
    }
    EXPECT_TRUE(TrackedBuffersReleased()) << "run " << run;
  }
}

TEST(RunFramePool, AFailedRunLeavesNothingForTheNextRun) {
  RegisterTestOps();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{});
  Tensor d = ops::Placeholder(DType::kInt64, Shape{});
  Tensor t = Op("TestTracked", x);
  Tensor q = ops::Div(t, d);  // Fails on d = 0, after t was computed.
  Tensor y = Op("TestTracked", ops::Add(q, t));
  auto session = *Session::Create(g);
  for (int run = 0; run < 3; ++run) {
    absl::StatusOr<std::vector<NDArray>> bad = session->Run(
        {{x, NDArray::Scalar<int64_t>(8)}, {d, NDArray::Scalar<int64_t>(0)}},
        {y});
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.status().message(), HasSubstr("division by zero"));
    EXPECT_TRUE(TrackedBuffersReleased());
    EXPECT_EQ(Scalar(session->Run({{x, NDArray::Scalar<int64_t>(8)},
                                   {d, NDArray::Scalar<int64_t>(2)}},
                                  {y})),
              12);
    EXPECT_TRUE(TrackedBuffersReleased());
  }
}

// Each value slot (one 64-byte NDArray) is one cache line.
TEST(RunFramePool, ValueSlotsAreCacheLineAligned) {
  static_assert(sizeof(NDArray) == 64);
  for (int n : {1, 3, 1000}) {
    RunFrame frame;
    frame.values.resize(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(frame.values.data()) % 64, 0u) << n;
  }
}

// Concurrent runs of one plan each get a frame of their own.
TEST(RunFramePool, ConcurrentRunsOfOnePlanKeepTheirOwnValues) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{});
  Tensor y = x;
  for (int i = 0; i < 50; ++i) y = ops::Add(y, ops::Identity(x));
  auto session = *Session::Create(g);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int64_t v = t * 1000 + i;
        absl::StatusOr<std::vector<NDArray>> r =
            session->Run({{x, NDArray::Scalar<int64_t>(v)}}, {y});
        if (!r.ok() || (*r)[0].values<int64_t>()[0] != 51 * v) ++wrong;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --- The executor's step paths: "simple" steps (one input
// read for the last time, one output) and straight chains.

// TestLiar(x): int64[3] whatever x is. TestMute(x): no output at all.
// TestFailOn(x): fails when the scalar x is 3, else forwards x.
absl::Status LiarKernel(OpKernelContext& ctx) {
  ctx.set_output(0, NDArray::Vector<int64_t>({1, 2, 3}));
  return absl::OkStatus();
}
absl::Status MuteKernel(OpKernelContext&) { return absl::OkStatus(); }
absl::Status FailOnKernel(OpKernelContext& ctx) {
  if (ctx.input(0).values<int64_t>()[0] == 3) {
    return absl::InvalidArgumentError("refusing 3");
  }
  ctx.forward_input(0, 0);
  return absl::OkStatus();
}

void RegisterStepPathOps() {
  static bool once = [] {
    RegisterTestOps();
    const std::pair<const char*, KernelFn> ops[] = {
        {"TestLiar", LiarKernel},
        {"TestMute", MuteKernel},
        {"TestFailOn", FailOnKernel}};
    for (const auto& [op, fn] : ops) {
      EXPECT_TRUE(
          OpRegistry::Global()
              .Register(
                  {.type = op, .num_inputs = 1, .infer = InferSameAsInput})
              .ok());
      EXPECT_TRUE(KernelRegistry::Global()
                      .Register({.op = op,
                                 .dtype = DType::kInt64,
                                 .factory = FunctionKernelFactory(fn)})
                      .ok());
    }
    return true;
  }();
  (void)once;
}

const PlanNode& StepOf(const CompiledPlan& plan, const Tensor& t) {
  for (const PlanNode& n : plan.nodes) {
    if (n.kind == PartitionItem::Kind::kOp && n.node == t.node()) return n;
  }
  ADD_FAILURE() << "no step for " << t.name();
  return plan.nodes.front();
}

int32_t StepIndex(const CompiledPlan& plan, const Tensor& t) {
  return static_cast<int32_t>(&StepOf(plan, t) - plan.nodes.data());
}

TEST(Executor, PlanMarksSimpleStepsAndStraightChains) {
  RegisterStepPathOps();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{2});
  Tensor a = ops::Neg(x);             // Reads x once: simple.
  Tensor b = ops::Neg(a);             // Simple; read by c and d.
  Tensor c = ops::Neg(b);             // b is read again by d: not simple.
  Tensor d = ops::Add(b, c);          // Two inputs.
  Tensor e = Op("TestNowAsync", d);   // Asynchronous.
  Tensor f = ops::Split(e, 2, 0)[0];  // Two outputs.
  Tensor h = ops::Cast(f, DType::kFloat32);
  Tensor k = ops::Neg(h);  // A kernel object (Highway), not a function.
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      CompilePlan(g, {x}, {k}, {}, {"cpu"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const CompiledPlan& p = **plan;
  EXPECT_TRUE(StepOf(p, a).simple);
  EXPECT_TRUE(StepOf(p, b).simple);
  EXPECT_FALSE(StepOf(p, c).simple);
  EXPECT_FALSE(StepOf(p, c).input0_last_use);
  EXPECT_EQ(StepOf(p, c).input0_slot, StepOf(p, b).output_slot);
  EXPECT_FALSE(StepOf(p, d).simple);
  EXPECT_FALSE(StepOf(p, e).simple);
  EXPECT_FALSE(StepOf(p, f).simple);
  EXPECT_EQ(StepOf(p, k).kernel_fn, nullptr);
  EXPECT_TRUE(StepOf(p, k).simple);
  // a -> b is a straight chain; b has two successors; c's only successor,
  // d, waits for b too.
  EXPECT_EQ(StepOf(p, a).chain_next, StepIndex(p, b));
  EXPECT_EQ(StepOf(p, b).chain_next, -1);
  EXPECT_EQ(StepOf(p, c).chain_next, -1);
  EXPECT_EQ(StepOf(p, d).chain_next, StepIndex(p, e));
}

TEST(Executor, ASimpleStepWithAWrongOutputShapeFailsNamingTheNode) {
  RegisterStepPathOps();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{2});
  Tensor y = Op("TestLiar", ops::Neg(x));
  Tensor z = ops::Neg(y);
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> r =
      session->Run({{x, NDArray::Vector<int64_t>({1, 2})}}, {z});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(r.status().message(),
              HasSubstr("the kernel produced int64[3] for output 0 but the "
                        "graph inferred int64[2]"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kKernel);
  EXPECT_EQ(info->node_name, y.node()->name());
  EXPECT_EQ(info->op_type, "TestLiar");
}

TEST(Executor, ASimpleStepThatSetsNoOutputFails) {
  RegisterStepPathOps();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{});
  Tensor y = Op("TestMute", x);
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> r =
      session->Run({{x, NDArray::Scalar<int64_t>(1)}}, {ops::Neg(y)});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("the kernel produced no value for output 0"));
  EXPECT_EQ(GetOpErrorInfo(r.status())->node_name, y.node()->name());
}

// A kernel error inside a straight chain ends the run there: the steps
// after it never run, the error names the failing node, and the session
// runs the same chain again afterwards.
TEST(Executor, AFailureInAStraightChainStopsTheChain) {
  RegisterStepPathOps();
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kInt64, Shape{});
  Tensor y = x;
  for (int i = 0; i < 5; ++i) y = Op("TestBump", ops::Neg(y));
  Tensor fail = Op("TestFailOn", y);
  Tensor after = Op("TestBump", ops::Neg(fail));
  auto session = *Session::Create(g);
  g_counter.store(0);
  absl::StatusOr<std::vector<NDArray>> r =
      session->Run({{x, NDArray::Scalar<int64_t>(-3)}}, {after});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("refusing 3"));
  EXPECT_EQ(GetOpErrorInfo(r.status())->node_name, fail.node()->name());
  EXPECT_EQ(g_counter.load(), 5);  // The Bumps before it, none after.
  EXPECT_EQ(Scalar(session->Run({{x, NDArray::Scalar<int64_t>(4)}}, {after})),
            4);
  EXPECT_EQ(g_counter.load(), 11);
}

// A task keeps one ready expensive step for itself and runs it once its
// cheap work is done, so a caller running its partition inline runs its own
// heavy step even when cheap work was still ready at that moment. (It used
// to hand such a step to a worker and leave: with 64 concurrent callers all
// heavy steps ran on the worker while the callers' arena slot sat idle.)
// Both creation orders, so that one of them readies the heavy step first.
TEST(Executor, ACallerRunsItsOwnExpensiveStepAfterItsCheapWork) {
  RegisterTestOps();
  for (const bool heavy_first : {false, true}) {
    SCOPED_TRACE(heavy_first ? "heavy created first" : "cheap created first");
    Graph g = Graph::Create("g");
    GraphScope scope(g);
    Tensor heavy, cheap;
    auto make_heavy = [&] {
      heavy = Op("TestSpin", ops::Const(NDArray::Scalar<int64_t>(1)),
                 {{"ms", int64_t{0}}});
    };
    auto make_cheap = [&] {
      cheap = ops::Neg(ops::Neg(ops::Const(NDArray::Scalar<int64_t>(2))));
    };
    if (heavy_first) {
      make_heavy();
      make_cheap();
    } else {
      make_cheap();
      make_heavy();
    }
    auto session = *Session::Create(g, {.devices = {"cpu:0"}});
    g_spin_thread.store(std::thread::id());
    absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {heavy, cheap});
    EXPECT_EQ(Scalar(r, 0), 1);
    EXPECT_EQ(Scalar(r, 1), 2);
    EXPECT_EQ(g_spin_thread.load(), std::this_thread::get_id());
  }
}

}  // namespace
}  // namespace weft
