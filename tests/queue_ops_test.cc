// Tests of the queue graph ops and QueueRunner: graph dequeues see FIFO data
// and end with kOutOfRange naming the queue; a blocked Dequeue returns on its
// deadline with the session reusable and the queue intact; DequeueMany with
// fewer than n on close; exactly-once delivery from 4 producers to 3
// consumer graphs with random deadlines; RunOptions::cancellation waking a
// blocked Dequeue; build-time checks; QueueRunner (and its Cancel).
#include "async/queue_ops.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "kernels/cancellation.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

Queue MakeQueue(std::string_view name, int capacity,
                std::vector<TensorSpec> specs = {
                    {DType::kInt64, Shape{}, "id"}}) {
  absl::StatusOr<Queue> q = Queue::Create(name, std::move(specs), capacity);
  EXPECT_TRUE(q.ok()) << q.status();
  return *q;
}

TEST(QueueOps, GraphDequeueIsFifoAndEndsWithOutOfRange) {
  Queue q = MakeQueue("fifo", 8);
  Graph g = Graph::Create("g");
  std::vector<Tensor> x = ops::Dequeue(q, {.name = "take", .graph = g});
  ASSERT_EQ(x.size(), 1u);
  ASSERT_TRUE(x[0].ok()) << x[0].status();
  EXPECT_EQ(x[0].dtype(), DType::kInt64);
  auto session = *Session::Create(g);
  for (int64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(q.Enqueue({NDArray::Scalar(i)}).ok());
  }
  q.Close();
  for (int64_t i = 0; i < 5; ++i) {
    auto r = session->Run({}, {x[0]});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)[0].values<int64_t>()[0], i);
  }
  auto end = session->Run({}, {x[0]});
  EXPECT_EQ(end.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(end.status().message(), HasSubstr("queue 'fifo'"));
  EXPECT_THAT(end.status().message(), HasSubstr("closed at"));
  EXPECT_THAT(end.status().message(), HasSubstr("queue_ops_test.cc"));
  EXPECT_THAT(end.status().message(), HasSubstr("node 'take'"));
}

TEST(QueueOps, GraphEnqueueChecksTypesAndReportsTheSize) {
  Queue q = MakeQueue(
      "typed", 4,
      {{DType::kFloat32, Shape{2}, "x"}, {DType::kInt64, Shape{}, "label"}});
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor bad = ops::Enqueue(q, {ops::Const(NDArray::Vector<int32_t>({1, 2})),
                                ops::Const(NDArray::Scalar<int64_t>(1))});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("Enqueue to queue 'typed' (created at"));
  EXPECT_THAT(bad.status().message(), HasSubstr("component 0 'x'"));
  EXPECT_EQ(GetOpErrorInfo(bad.status())->kind, ErrorKind::kDType);
  Tensor few = ops::Enqueue(q, {ops::Const(NDArray::Vector<float>({1, 2}))});
  EXPECT_THAT(few.status().message(), HasSubstr("holds 2 component(s)"));
  EXPECT_THAT(ops::Dequeue(Queue())[0].status().message(),
              HasSubstr("null Queue"));
  Tensor size = ops::Enqueue(q, {ops::Const(NDArray::Vector<float>({1, 2})),
                                 ops::Const(NDArray::Scalar<int64_t>(7))});
  ASSERT_TRUE(size.ok()) << size.status();
  auto session = *Session::Create(g);
  auto r = session->Run({}, {size});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int64_t>()[0], 1);
  EXPECT_EQ(q.size(), 1);
}

TEST(QueueOps, BlockedDequeueReturnsOnItsDeadlineAndLosesNothing) {
  Queue q = MakeQueue("slow", 4);
  Graph g = Graph::Create("g");
  Tensor x = ops::Dequeue(q, {.graph = g})[0];
  auto session = *Session::Create(g);
  const absl::Time start = absl::Now();
  auto r = session->Run({}, {x}, RunOptions{.timeout = absl::Milliseconds(50)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(q.num_waiting_dequeuers(), 0);  // The waiter was withdrawn.
  ASSERT_TRUE(q.Enqueue({NDArray::Scalar<int64_t>(42)}).ok());
  auto ok = session->Run({}, {x});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].values<int64_t>()[0], 42);
}

// RunOptions::cancellation wakes a Dequeue waiting on an empty queue that
// nobody closes; the waiter is withdrawn and a later element reaches the
// next run (nothing lost).
TEST(QueueOps, CallerCancellationWakesABlockedDequeueAndLosesNothing) {
  Queue q = MakeQueue("idle", 4);
  Graph g = Graph::Create("g");
  Tensor x = ops::Dequeue(q, {.graph = g})[0];
  auto session = *Session::Create(g);
  CancellationManager cancel;
  std::thread canceller([&] {
    while (q.num_waiting_dequeuers() == 0) std::this_thread::yield();
    cancel.Cancel(absl::CancelledError("request abandoned"));
  });
  auto r = session->Run({}, {x}, RunOptions{.cancellation = &cancel});
  canceller.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(r.status().message(), HasSubstr("RunOptions::cancellation"));
  EXPECT_THAT(r.status().message(), HasSubstr("request abandoned"));
  EXPECT_EQ(q.num_waiting_dequeuers(), 0);
  ASSERT_TRUE(q.Enqueue({NDArray::Scalar<int64_t>(42)}).ok());
  auto ok = session->Run({}, {x});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].values<int64_t>()[0], 42);
}

TEST(QueueOps, BlockedEnqueueReturnsOnItsDeadline) {
  Queue q = MakeQueue("full", 1);
  ASSERT_TRUE(q.Enqueue({NDArray::Scalar<int64_t>(1)}).ok());
  Graph g = Graph::Create("g");
  Tensor put = ops::Enqueue(
      q, {ops::Const(NDArray::Scalar<int64_t>(2), {.graph = g})}, {.graph = g});
  auto session = *Session::Create(g);
  auto r = session->Run({}, {}, {put},
                        RunOptions{.timeout = absl::Milliseconds(50)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(q.size(), 1);
  EXPECT_EQ((*q.Dequeue())[0].values<int64_t>()[0], 1);
}

TEST(QueueOps, DequeueManyStacksAndFailsWithFewerOnClose) {
  Queue q = MakeQueue("many", 8, {{DType::kFloat32, Shape{2}, "x"}});
  Graph g = Graph::Create("g");
  std::vector<Tensor> b = ops::DequeueMany(q, 3, {.graph = g});
  ASSERT_TRUE(b[0].ok()) << b[0].status();
  EXPECT_EQ(b[0].shape(), (Shape{3, 2}));
  auto session = *Session::Create(g);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(q.Enqueue({NDArray::Vector<float>({float(i), float(i)})}).ok());
  }
  q.Close();
  auto first = session->Run({}, {b[0]});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)[0].shape(), (Shape{3, 2}));
  EXPECT_EQ((*first)[0].values<float>()[4], 2.0f);
  // Two are left: the op fails and leaves them in the queue.
  auto second = session->Run({}, {b[0]});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(q.size(), 2);
  EXPECT_EQ((*q.Dequeue())[0].values<float>()[0], 3.0f);
  std::vector<Tensor> zero = ops::DequeueMany(q, 0, {.graph = g});
  EXPECT_THAT(zero[0].status().message(), HasSubstr("n is 0"));
}

// 4 producers x kItems, 3 consumer graphs with random deadlines: every item
// is delivered exactly once.
TEST(QueueOps, ExactlyOnceWithConsumerGraphsAndRandomDeadlines) {
  constexpr int kProducers = 4;
  constexpr int kItems = 2500;
  constexpr int kTotal = kProducers * kItems;
  Queue q = MakeQueue("once", 16);
  std::vector<std::atomic<int>> seen(kTotal);
  for (auto& s : seen) s.store(0);
  std::atomic<int> delivered{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kItems; ++i) {
        ASSERT_TRUE(q.Enqueue({NDArray::Scalar<int64_t>(p * kItems + i)}).ok());
      }
    });
  }
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&, c] {
      Graph g = Graph::Create(absl::StrCat("consumer", c));
      Tensor x = ops::Dequeue(q, {.graph = g})[0];
      auto session = *Session::Create(g);
      std::mt19937 rng(c);
      while (true) {
        RunOptions o;
        if (rng() % 4 == 0) o.timeout = absl::Microseconds(rng() % 300);
        auto r = session->Run({}, {x}, o);
        if (r.ok()) {
          seen[(*r)[0].values<int64_t>()[0]].fetch_add(1);
          delivered.fetch_add(1);
        } else if (r.status().code() == absl::StatusCode::kOutOfRange) {
          return;
        } else {
          ASSERT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
              << r.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  q.Close();
  for (auto& t : consumers) t.join();
  // An element whose run failed after it was taken went back to the queue;
  // if that happened after the other consumers saw the end, it is still
  // there: delivered exactly once or still in the queue, never lost.
  while (true) {
    auto r = q.Dequeue(absl::ZeroDuration());
    if (!r.ok()) break;
    seen[(*r)[0].values<int64_t>()[0]].fetch_add(1);
    delivered.fetch_add(1);
  }
  EXPECT_EQ(delivered.load(), kTotal);
  int wrong = 0;
  for (auto& s : seen) wrong += s.load() != 1;
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(q.size(), 0);
}

TEST(QueueRunner, FeedsAQueueUntilItsSourceEndsThenClosesIt) {
  Queue source = MakeQueue("source", 4);
  Queue sink = MakeQueue("sink", 4);
  Graph g = Graph::Create("pipe");
  GraphScope scope(g);
  Tensor x = ops::Dequeue(source)[0];
  Tensor put = ops::Enqueue(
      sink, {ops::Mul(x, ops::Const(NDArray::Scalar<int64_t>(10)))});
  auto session = *Session::Create(g);
  absl::StatusOr<std::unique_ptr<QueueRunner>> runner =
      QueueRunner::Start(session.get(), sink, {put}, 2);
  ASSERT_TRUE(runner.ok()) << runner.status();
  std::thread feeder([&] {
    for (int64_t i = 1; i <= 20; ++i) {
      ASSERT_TRUE(source.Enqueue({NDArray::Scalar(i)}).ok());
    }
    source.Close();
  });
  int64_t sum = 0;
  int count = 0;
  while (true) {
    auto r = sink.Dequeue();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
      break;
    }
    sum += (*r)[0].values<int64_t>()[0];
    ++count;
  }
  feeder.join();
  EXPECT_TRUE((*runner)->Join().ok());
  EXPECT_EQ(count, 20);
  EXPECT_EQ(sum, 2100);
  EXPECT_TRUE(sink.closed());
  EXPECT_EQ((*runner)->runs(), 20);
  EXPECT_EQ(QueueRunner::Start(nullptr, sink, {put}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A runner whose source queue stays open and empty: Cancel() wakes its
// blocked runs (not an error), closes the sink, and the source keeps every
// element enqueued afterwards.
TEST(QueueRunner, CancelStopsRunsWaitingOnASourceThatNeverCloses) {
  Queue source = MakeQueue("open_source", 8);
  Queue sink = MakeQueue("open_sink", 8);
  Graph g = Graph::Create("pipe");
  GraphScope scope(g);
  Tensor put = ops::Enqueue(sink, {ops::Dequeue(source)[0]});
  auto session = *Session::Create(g);
  for (int64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(source.Enqueue({NDArray::Scalar(i)}).ok());
  }
  absl::StatusOr<std::unique_ptr<QueueRunner>> runner =
      QueueRunner::Start(session.get(), sink, {put}, 2);
  ASSERT_TRUE(runner.ok()) << runner.status();
  int64_t sum = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = sink.Dequeue();
    ASSERT_TRUE(r.ok()) << r.status();
    sum += (*r)[0].values<int64_t>()[0];
  }
  EXPECT_EQ(sum, 6);
  while (source.num_waiting_dequeuers() < 2) std::this_thread::yield();
  EXPECT_TRUE((*runner)->Cancel().ok());
  EXPECT_TRUE(sink.closed());
  EXPECT_EQ((*runner)->runs(), 3);
  EXPECT_EQ(source.num_waiting_dequeuers(), 0);
  ASSERT_TRUE(source.Enqueue({NDArray::Scalar<int64_t>(4)}).ok());
  EXPECT_EQ(source.size(), 1);
  // A second Cancel, and the destructor after it, return at once.
  EXPECT_TRUE((*runner)->Cancel().ok());
}

}  // namespace
}  // namespace weft
