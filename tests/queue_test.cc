// Tests for weft::Queue (async/queue.h) and the stack helpers
// (async/stack.h).
#include "async/queue.h"

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "async/stack.h"
#include "gmock/gmock.h"
#include "graph/provenance.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// One int64 scalar per element: the simplest queue.
Queue MakeIntQueue(int capacity, std::string_view name = "ints") {
  absl::StatusOr<Queue> q =
      Queue::Create(name, {{DType::kInt64, Shape{}, "v"}}, capacity);
  EXPECT_TRUE(q.ok()) << q.status();
  return *q;
}

std::vector<NDArray> Item(int64_t v) { return {NDArray::Scalar<int64_t>(v)}; }

int64_t ValueOf(const std::vector<NDArray>& element) {
  return element.at(0).values<int64_t>()[0];
}

// Waits (without a timing assertion) until `pred` holds.
template <typename Pred>
void WaitUntil(Pred pred) {
  while (!pred()) absl::SleepFor(absl::Microseconds(200));
}

TEST(Queue, CreateRejectsBadArguments) {
  absl::StatusOr<Queue> q =
      Queue::Create("", {{DType::kInt64, Shape{}, "v"}}, 1);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(q.status().message(), HasSubstr("the name is empty"));
  EXPECT_THAT(q.status().message(), HasSubstr("queue_test.cc"));

  q = Queue::Create("q", {}, 1);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(q.status().message(), HasSubstr("queue 'q'"));
  EXPECT_THAT(q.status().message(), HasSubstr("no components"));

  q = Queue::Create("q", {{DType::kInt64, Shape{}, "v"}}, 0);
  EXPECT_THAT(q.status().message(), HasSubstr("capacity 0 is not positive"));

  q = Queue::Create("q", {{DType::kInt64, Shape{-3}, "bad"}}, 4);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(q.status().message(), HasSubstr("component 0 'bad'"));
}

TEST(Queue, AccessorsDescribeTheQueue) {
  absl::StatusOr<Queue> q = Queue::Create(
      "pairs",
      {{DType::kFloat32, Shape{-1, 2}, "x"}, {DType::kInt32, Shape{}, "y"}}, 5);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->name(), "pairs");
  EXPECT_EQ(q->capacity(), 5);
  ASSERT_EQ(q->components().size(), 2u);
  EXPECT_EQ(q->components()[1].name, "y");
  EXPECT_THAT(q->created_at().file_name(), HasSubstr("queue_test.cc"));
  EXPECT_EQ(q->size(), 0);
  EXPECT_FALSE(q->closed());
  Queue copy = *q;
  EXPECT_TRUE(copy == *q);
  EXPECT_FALSE(MakeIntQueue(1) == *q);
  EXPECT_EQ(q->resource()->kind(), "Queue");
}

TEST(Queue, DeliversInFifoOrder) {
  Queue q = MakeIntQueue(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Enqueue(Item(i)).ok());
  EXPECT_EQ(q.size(), 10);
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<std::vector<NDArray>> e = q.Dequeue();
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(ValueOf(*e), i);
  }
  EXPECT_EQ(q.size(), 0);
}

TEST(Queue, EnqueueChecksCountDtypeAndShape) {
  absl::StatusOr<Queue> q =
      Queue::Create("examples",
                    {{DType::kFloat32, Shape{-1, 3}, "image"},
                     {DType::kInt64, Shape{}, "label"}},
                    4);
  ASSERT_TRUE(q.ok());
  NDArray image = *NDArray::Create<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  NDArray label = NDArray::Scalar<int64_t>(1);

  absl::Status s = q->Enqueue({image});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("Enqueue to queue 'examples' (created at"));
  EXPECT_THAT(s.message(), HasSubstr("queue_test.cc"));
  EXPECT_THAT(s.message(), HasSubstr("got 1 value but the queue has 2"));

  s = q->Enqueue({image, NDArray::Scalar<float>(1.0f)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("component 1 'label' must be int64[] but got "
                        "float32[]"));
  EXPECT_THAT(s.message(), HasSubstr("Cast it first"));

  NDArray wide = *NDArray::Create<float>({1, 2, 3, 4}, Shape{1, 4});
  s = q->Enqueue({wide, label});
  EXPECT_THAT(s.message(),
              HasSubstr("component 0 'image' must be float32[?,3] but got "
                        "float32[1,4]"));

  s = q->Enqueue({NDArray(), label});
  EXPECT_THAT(s.message(),
              HasSubstr("component 0 'image' is an empty NDArray"));

  // -1 dims accept any size.
  NDArray tall =
      *NDArray::Create<float>(std::vector<float>(15, 1), Shape{5, 3});
  EXPECT_TRUE(q->Enqueue({tall, label}).ok());
  EXPECT_TRUE(q->Enqueue({image, label}).ok());
  EXPECT_EQ(q->size(), 2);
}

TEST(Queue, FullQueueBlocksProducerUntilAConsumerTakes) {
  Queue q = MakeIntQueue(2);
  ASSERT_TRUE(q.Enqueue(Item(0)).ok());
  ASSERT_TRUE(q.Enqueue(Item(1)).ok());
  std::atomic<bool> enqueued{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Enqueue(Item(2)).ok());
    enqueued = true;
  });
  WaitUntil([&] { return q.num_waiting_enqueuers() == 1; });
  EXPECT_FALSE(enqueued.load());
  EXPECT_EQ(q.size(), 2);
  EXPECT_EQ(ValueOf(*q.Dequeue()), 0);
  producer.join();
  EXPECT_TRUE(enqueued.load());
  EXPECT_EQ(ValueOf(*q.Dequeue()), 1);
  EXPECT_EQ(ValueOf(*q.Dequeue()), 2);
}

TEST(Queue, EnqueueTimesOutWhenFullAndAddsNothing) {
  Queue q = MakeIntQueue(1, "tiny");
  ASSERT_TRUE(q.Enqueue(Item(0)).ok());
  absl::Status s = q.Enqueue(Item(1), absl::Milliseconds(5));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(s.message(), HasSubstr("Enqueue to queue 'tiny'"));
  EXPECT_THAT(s.message(), HasSubstr("stayed full (capacity 1) for 5ms"));
  EXPECT_EQ(q.size(), 1);
  EXPECT_EQ(q.num_waiting_enqueuers(), 0);
  EXPECT_EQ(ValueOf(*q.Dequeue()), 0);
  EXPECT_EQ(q.size(), 0);
}

TEST(Queue, DequeueTimesOutWhenEmpty) {
  Queue q = MakeIntQueue(1, "empty");
  absl::StatusOr<std::vector<NDArray>> e = q.Dequeue(absl::Milliseconds(3));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(e.status().message(),
              HasSubstr("Dequeue from queue 'empty' (created at"));
  EXPECT_THAT(e.status().message(), HasSubstr("nothing arrived in 3ms"));
  EXPECT_EQ(q.num_waiting_dequeuers(), 0);
  // A later element is not swallowed by the timed-out call.
  ASSERT_TRUE(q.Enqueue(Item(7)).ok());
  EXPECT_EQ(q.size(), 1);
  EXPECT_EQ(ValueOf(*q.Dequeue(absl::ZeroDuration())), 7);
}

TEST(Queue, CloseWakesWaitingConsumersWithOutOfRange) {
  Queue q = MakeIntQueue(4, "feed");
  std::vector<absl::Status> results(3);
  std::vector<std::thread> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.emplace_back([&, i] { results[i] = q.Dequeue().status(); });
  }
  WaitUntil([&] { return q.num_waiting_dequeuers() == 3; });
  SetCurrentThreadName("closer");
  q.Close();
  for (std::thread& t : consumers) t.join();
  for (const absl::Status& s : results) {
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
    EXPECT_THAT(s.message(), HasSubstr("Dequeue from queue 'feed'"));
    EXPECT_THAT(s.message(), HasSubstr("is closed and empty (closed at"));
    EXPECT_THAT(s.message(), HasSubstr("queue_test.cc"));
    EXPECT_THAT(s.message(), HasSubstr("thread 'closer'"));
  }
  EXPECT_TRUE(q.closed());
}

TEST(Queue, CloseFailsWaitingProducersAndDrainsTheRest) {
  Queue q = MakeIntQueue(2, "full");
  ASSERT_TRUE(q.Enqueue(Item(0)).ok());
  ASSERT_TRUE(q.Enqueue(Item(1)).ok());
  std::vector<absl::Status> results(2);
  std::vector<std::thread> producers;
  for (int i = 0; i < 2; ++i) {
    producers.emplace_back([&, i] { results[i] = q.Enqueue(Item(10 + i)); });
  }
  WaitUntil([&] { return q.num_waiting_enqueuers() == 2; });
  q.Close();
  for (std::thread& t : producers) t.join();
  for (const absl::Status& s : results) {
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
    EXPECT_THAT(s.message(), HasSubstr("Enqueue to queue 'full'"));
    EXPECT_THAT(s.message(), HasSubstr("is closed (closed at"));
    EXPECT_THAT(s.message(), HasSubstr("nothing was enqueued"));
  }
  // What was in before the close is still delivered, then end of data.
  EXPECT_EQ(ValueOf(*q.Dequeue()), 0);
  EXPECT_EQ(ValueOf(*q.Dequeue()), 1);
  EXPECT_EQ(q.Dequeue().status().code(), absl::StatusCode::kOutOfRange);
  absl::Status late = q.Enqueue(Item(3));
  EXPECT_EQ(late.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(late.message(), HasSubstr("queue_test.cc"));
}

TEST(Queue, CloseKeepsTheFirstSite) {
  Queue q = MakeIntQueue(1, "twice");
  q.Close();
  const int first_line = __LINE__ - 1;
  q.Close();
  absl::Status s = q.Dequeue().status();
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("queue_test.cc:", first_line)));
}

TEST(Queue, DequeueManyStacksOnANewAxis) {
  absl::StatusOr<Queue> q = Queue::Create(
      "rows",
      {{DType::kFloat32, Shape{2}, "x"}, {DType::kInt64, Shape{}, "id"}}, 8);
  ASSERT_TRUE(q.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q->Enqueue({NDArray::Vector<float>({1.0f * i, 10.0f * i}),
                            NDArray::Scalar<int64_t>(i)})
                    .ok());
  }
  absl::StatusOr<std::vector<NDArray>> batch = q->DequeueMany(3);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_TRUE((*batch)[0].Equals(
      *NDArray::Create<float>({0, 0, 1, 10, 2, 20}, Shape{3, 2})));
  EXPECT_TRUE((*batch)[1].Equals(NDArray::Vector<int64_t>({0, 1, 2})));
  EXPECT_EQ(q->size(), 0);
}

TEST(Queue, DequeueManyOnCloseReturnsTheRemainingElements) {
  Queue q = MakeIntQueue(8);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.Enqueue(Item(i)).ok());
  absl::StatusOr<std::vector<NDArray>> batch;
  std::thread consumer([&] { batch = q.DequeueMany(5); });
  WaitUntil([&] { return q.num_waiting_dequeuers() == 1; });
  q.Close();
  consumer.join();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE((*batch)[0].Equals(NDArray::Vector<int64_t>({0, 1, 2})));
  absl::Status s = q.DequeueMany(5).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("DequeueMany(5) from queue 'ints'"));
  EXPECT_THAT(s.message(), HasSubstr("closed and empty"));
}

TEST(Queue, DequeueManyOnCloseCanFailAndLeaveTheElements) {
  Queue q = MakeIntQueue(8, "short");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.Enqueue(Item(i)).ok());
  q.Close();
  absl::Status s = q.DequeueMany(5, FewerOnClose::kFail).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("with 3 elements left, fewer than 5"));
  EXPECT_THAT(s.message(), HasSubstr("they stay in the queue"));
  EXPECT_EQ(q.size(), 3);
  EXPECT_EQ(ValueOf(*q.Dequeue()), 0);
}

TEST(Queue, DequeueManyRejectsImpossibleCounts) {
  Queue q = MakeIntQueue(4, "small");
  absl::Status s = q.DequeueMany(5).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("between 1 and the queue's capacity 4"));
  EXPECT_THAT(s.message(), HasSubstr("raise the capacity"));
  EXPECT_EQ(q.DequeueMany(0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Queue, DequeueManyOfUnequalShapesTakesNothing) {
  absl::StatusOr<Queue> q =
      Queue::Create("ragged", {{DType::kInt32, Shape{-1}, "row"}}, 4);
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(q->Enqueue({NDArray::Vector<int32_t>({1, 2})}).ok());
  ASSERT_TRUE(q->Enqueue({NDArray::Vector<int32_t>({1, 2, 3})}).ok());
  absl::Status s = q->DequeueMany(2).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("component 0 'row' of element 1 is [3] but element "
                        "0's is [2]"));
  EXPECT_EQ(q->size(), 2);
}

TEST(Queue, WaitersAreServedFifo) {
  Queue q = MakeIntQueue(8);
  std::vector<int64_t> order;
  absl::Mutex mu;
  Queue::WaiterId many = q.DequeueManyAsync(
      3, FewerOnClose::kFail, [&](absl::StatusOr<std::vector<NDArray>> r) {
        ASSERT_TRUE(r.ok()) << r.status();
        absl::MutexLock lock(&mu);
        order.push_back(100 + r->at(0).values<int64_t>()[0]);
      });
  Queue::WaiterId one =
      q.DequeueAsync([&](absl::StatusOr<std::vector<NDArray>> r) {
        ASSERT_TRUE(r.ok()) << r.status();
        absl::MutexLock lock(&mu);
        order.push_back(ValueOf(*r));
      });
  EXPECT_NE(many, Queue::kNoWaiter);
  EXPECT_NE(one, Queue::kNoWaiter);
  // One element would satisfy the single Dequeue, but it waits its turn.
  ASSERT_TRUE(q.Enqueue(Item(0)).ok());
  EXPECT_EQ(q.size(), 1);
  ASSERT_TRUE(q.Enqueue(Item(1)).ok());
  ASSERT_TRUE(q.Enqueue(Item(2)).ok());
  ASSERT_TRUE(q.Enqueue(Item(3)).ok());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int64_t>{100, 3}));
}

// The host calls' fast path (no waiter registered when nothing waits
// ahead) must keep the line: a host Enqueue hands its element to a waiting
// dequeuer, and never passes a producer already waiting for room.
TEST(Queue, HostCallsNeverOvertakeWaitersInLine) {
  Queue q = MakeIntQueue(1);
  std::vector<int64_t> many_got;
  absl::Notification many_done;
  q.DequeueManyAsync(1, FewerOnClose::kFail,
                     [&](absl::StatusOr<std::vector<NDArray>> r) {
                       ASSERT_TRUE(r.ok()) << r.status();
                       many_got.push_back(r->at(0).values<int64_t>()[0]);
                       many_done.Notify();
                     });
  ASSERT_TRUE(q.Enqueue(Item(7)).ok());  // Served to the waiter at once.
  ASSERT_TRUE(many_done.HasBeenNotified());
  EXPECT_EQ(many_got, (std::vector<int64_t>{7}));
  EXPECT_EQ(q.size(), 0);

  // Full queue with a producer waiting: a host Enqueue queues behind it.
  ASSERT_TRUE(q.Enqueue(Item(1)).ok());
  absl::Notification second_done;
  q.EnqueueAsync(Item(2), [&](absl::StatusOr<int64_t> r) {
    ASSERT_TRUE(r.ok()) << r.status();
    second_done.Notify();
  });
  absl::Status third = q.Enqueue(Item(3), absl::Milliseconds(20));
  EXPECT_EQ(third.code(), absl::StatusCode::kDeadlineExceeded) << third;
  absl::StatusOr<std::vector<NDArray>> a = q.Dequeue();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(ValueOf(*a), 1);
  ASSERT_TRUE(second_done.HasBeenNotified());
  absl::StatusOr<std::vector<NDArray>> b = q.Dequeue();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(ValueOf(*b), 2);  // Not 3: the timed-out Enqueue added nothing.
  EXPECT_EQ(q.size(), 0);
}

TEST(Queue, CancelWaiterTakesNothingAndCallsDoneWithTheReason) {
  Queue q = MakeIntQueue(2);
  absl::Status got;
  int calls = 0;
  Queue::WaiterId id =
      q.DequeueAsync([&](absl::StatusOr<std::vector<NDArray>> r) {
        ++calls;
        got = r.status();
      });
  ASSERT_NE(id, Queue::kNoWaiter);
  EXPECT_TRUE(q.CancelWaiter(id, absl::DeadlineExceededError("run deadline")));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(got.message(), "run deadline");
  EXPECT_FALSE(q.CancelWaiter(id, absl::CancelledError("again")));
  ASSERT_TRUE(q.Enqueue(Item(5)).ok());
  EXPECT_EQ(q.size(), 1);
  EXPECT_EQ(calls, 1);
}

TEST(Queue, AnImmediateResultRunsDoneInline) {
  Queue q = MakeIntQueue(2);
  int64_t size_after = -1;
  EXPECT_EQ(q.EnqueueAsync(Item(4),
                           [&](absl::StatusOr<int64_t> r) {
                             size_after = r.value_or(-2);
                           }),
            Queue::kNoWaiter);
  EXPECT_EQ(size_after, 1);
  int64_t value = -1;
  EXPECT_EQ(q.DequeueAsync([&](absl::StatusOr<std::vector<NDArray>> r) {
    value = ValueOf(*r);
  }),
            Queue::kNoWaiter);
  EXPECT_EQ(value, 4);
  // A bad enqueue also completes inline, with the error.
  absl::Status bad;
  EXPECT_EQ(
      q.EnqueueAsync({}, [&](absl::StatusOr<int64_t> r) { bad = r.status(); }),
      Queue::kNoWaiter);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
}

TEST(Queue, CancellingAWaitingEnqueueAddsNothing) {
  Queue q = MakeIntQueue(1);
  ASSERT_TRUE(q.Enqueue(Item(0)).ok());
  absl::Status got;
  Queue::WaiterId id = q.EnqueueAsync(
      Item(1), [&](absl::StatusOr<int64_t> r) { got = r.status(); });
  ASSERT_NE(id, Queue::kNoWaiter);
  EXPECT_TRUE(q.CancelWaiter(id, absl::OkStatus()));
  EXPECT_EQ(got.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(ValueOf(*q.Dequeue()), 0);
  EXPECT_EQ(q.size(), 0);
}

TEST(Queue, CancellingTheFrontDequeueManyLetsOthersThrough) {
  Queue q = MakeIntQueue(4);
  Queue::WaiterId many = q.DequeueManyAsync(
      3, FewerOnClose::kFail, [](absl::StatusOr<std::vector<NDArray>> r) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
      });
  int64_t value = -1;
  q.DequeueAsync(
      [&](absl::StatusOr<std::vector<NDArray>> r) { value = ValueOf(*r); });
  ASSERT_TRUE(q.Enqueue(Item(9)).ok());
  EXPECT_EQ(value, -1);
  EXPECT_TRUE(q.CancelWaiter(many, absl::CancelledError("stop")));
  EXPECT_EQ(value, 9);
}

TEST(Queue, DestroyingTheLastHandleFailsWaiters) {
  absl::Status got;
  {
    Queue q = MakeIntQueue(1, "dropped");
    q.DequeueAsync(
        [&](absl::StatusOr<std::vector<NDArray>> r) { got = r.status(); });
  }
  EXPECT_EQ(got.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(got.message(), HasSubstr("queue 'dropped'"));
  EXPECT_THAT(got.message(), HasSubstr("was destroyed"));
}

class NotAQueue : public Resource {
 public:
  NotAQueue() : Resource("v", std::source_location::current()) {}
  std::string_view kind() const override { return "Variable"; }
};

TEST(Queue, FromResourceRoundTripsAndRejectsOtherKinds) {
  Queue q = MakeIntQueue(1);
  absl::StatusOr<Queue> back = Queue::FromResource(q.resource());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == q);
  absl::Status s = Queue::FromResource(std::make_shared<NotAQueue>()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("resource 'v'"));
  EXPECT_THAT(s.message(), HasSubstr("is a Variable, not a Queue"));
  EXPECT_FALSE(Queue::FromResource(nullptr).ok());
}

TEST(Queue, NullHandleFailsCleanly) {
  Queue q;
  EXPECT_TRUE(q.is_null());
  EXPECT_EQ(q.Enqueue(Item(1)).code(), absl::StatusCode::kFailedPrecondition);
  absl::Status s = q.Dequeue().status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("null Queue handle"));
  EXPECT_EQ(q.name(), "");
  EXPECT_EQ(q.size(), 0);
  EXPECT_FALSE(q.CancelWaiter(1, absl::CancelledError("x")));
  q.Close();
  EXPECT_FALSE(q.closed());
}

TEST(StackArrays, StacksAndUnstacks) {
  NDArray a = NDArray::Vector<int32_t>({1, 2});
  NDArray b = NDArray::Vector<int32_t>({3, 4});
  absl::StatusOr<NDArray> s = StackArrays({a, b});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Equals(*NDArray::Create<int32_t>({1, 2, 3, 4}, Shape{2, 2})));
  absl::StatusOr<std::vector<NDArray>> rows = UnstackArray(*s);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_TRUE((*rows)[1].Equals(b));
  absl::StatusOr<std::vector<NDArray>> scalars =
      UnstackArray(NDArray::Vector<bool>({true, false}));
  ASSERT_TRUE(scalars.ok());
  EXPECT_TRUE((*scalars)[0].Equals(NDArray::Scalar<bool>(true)));
}

TEST(StackArrays, RejectsMismatchesAndScalars) {
  absl::Status s = StackArrays({NDArray::Vector<int32_t>({1}),
                                NDArray::Vector<int32_t>({1, 2})})
                       .status();
  EXPECT_THAT(s.message(),
              HasSubstr("array 1 is int32[2] but array 0 is int32[1]"));
  EXPECT_THAT(StackArrays({}).status().message(), HasSubstr("no arrays"));
  EXPECT_THAT(UnstackArray(NDArray::Scalar<float>(1)).status().message(),
              HasSubstr("scalar has no axis 0"));
}

// --- Exactly-once delivery under load, timeouts and cancellation ---

constexpr int kProducers = 4;
constexpr int kItemsPerProducer = 25000;
constexpr int kConsumers = 3;
constexpr int kTotal = kProducers * kItemsPerProducer;

struct Ledger {
  std::vector<std::atomic<int>> delivered =
      std::vector<std::atomic<int>>(kTotal);
  std::vector<std::atomic<int>> enqueued =
      std::vector<std::atomic<int>>(kTotal);
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> sum{0};
  std::atomic<int64_t> timeouts{0};
  std::atomic<int64_t> cancellations{0};

  void Deliver(const std::vector<NDArray>& element) {
    const int64_t v = ValueOf(element);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, kTotal);
    EXPECT_EQ(delivered[v].fetch_add(1), 0) << "item " << v << " twice";
    count.fetch_add(1);
    sum.fetch_add(v);
  }
};

// Producers enqueue with random short timeouts (retrying on timeout);
// consumers alternate between blocking Dequeue with random short timeouts
// and DequeueAsync withdrawn at random with CancelWaiter. If
// `close_early`, the queue is closed while producers are still running.
void RunExactlyOnce(bool close_early) {
  Queue q = MakeIntQueue(16, "exactly-once");
  Ledger ledger;
  std::atomic<int> producers_done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937 rng(p);
      for (int i = 0; i < kItemsPerProducer; ++i) {
        const int64_t v = int64_t{p} * kItemsPerProducer + i;
        while (true) {
          absl::Status s = q.Enqueue(Item(v), absl::Microseconds(rng() % 300));
          if (s.ok()) {
            ledger.enqueued[v] = 1;
            break;
          }
          if (absl::IsDeadlineExceeded(s)) {
            ledger.timeouts.fetch_add(1);
            continue;
          }
          EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
          producers_done.fetch_add(1);
          return;
        }
      }
      producers_done.fetch_add(1);
    });
  }
  std::vector<std::thread> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&, c] {
      std::mt19937 rng(100 + c);
      while (true) {
        if (rng() % 2 == 0) {
          absl::StatusOr<std::vector<NDArray>> e =
              q.Dequeue(absl::Microseconds(rng() % 300));
          if (e.ok()) {
            ledger.Deliver(*e);
          } else if (absl::IsDeadlineExceeded(e.status())) {
            ledger.timeouts.fetch_add(1);
          } else {
            EXPECT_EQ(e.status().code(), absl::StatusCode::kOutOfRange);
            return;
          }
          continue;
        }
        auto finished = std::make_shared<absl::Notification>();
        auto end = std::make_shared<std::atomic<bool>>(false);
        Queue::WaiterId id = q.DequeueAsync(
            [&ledger, finished, end](absl::StatusOr<std::vector<NDArray>> r) {
              if (r.ok()) {
                ledger.Deliver(*r);
              } else if (absl::IsCancelled(r.status())) {
                ledger.cancellations.fetch_add(1);
              } else {
                EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
                *end = true;
              }
              finished->Notify();
            });
        if (rng() % 3 == 0) {
          std::this_thread::yield();
          q.CancelWaiter(id, absl::CancelledError("test cancel"));
        }
        finished->WaitForNotification();
        if (*end) return;
      }
    });
  }
  if (close_early) {
    WaitUntil([&] { return ledger.count.load() >= kTotal / 2; });
    q.Close();
  }
  for (std::thread& t : producers) t.join();
  q.Close();
  for (std::thread& t : consumers) t.join();

  int64_t enqueued = 0, expected_sum = 0;
  for (int v = 0; v < kTotal; ++v) {
    EXPECT_EQ(ledger.delivered[v].load(), ledger.enqueued[v].load())
        << "item " << v;
    if (ledger.enqueued[v].load()) {
      ++enqueued;
      expected_sum += v;
    }
  }
  EXPECT_EQ(ledger.count.load(), enqueued);
  EXPECT_EQ(ledger.sum.load(), expected_sum);
  EXPECT_EQ(q.size(), 0);
  EXPECT_EQ(producers_done.load(), kProducers);
  if (!close_early) {
    EXPECT_EQ(enqueued, kTotal);
  }
  // The injected failures really happened.
  EXPECT_GT(ledger.timeouts.load() + ledger.cancellations.load(), 0);
}

TEST(Queue, EveryItemIsDeliveredExactlyOnce) { RunExactlyOnce(false); }

TEST(Queue, NothingIsLostWhenClosedMidStream) { RunExactlyOnce(true); }

}  // namespace
}  // namespace weft
