// queue.h — defines weft::Queue, a bounded, typed, multi-producer
// multi-consumer FIFO of tuples: the meeting point between threads that
// produce data and graphs (or threads) that consume it. A Queue is a
// process-level resource (graph/resource.h) like a Variable: it belongs to
// no graph, and any number of graphs and threads share it.
//
//   absl::StatusOr<Queue> q = Queue::Create(
//       "examples", {{DType::kFloat32, Shape{-1}, "x"},
//                    {DType::kInt64, Shape{}, "label"}}, /*capacity=*/64);
//   // producer thread
//   absl::Status s = q->Enqueue({x, NDArray::Scalar<int64_t>(7)});
//   q->Close();                                  // end of data
//   // consumer thread
//   while (true) {
//     absl::StatusOr<std::vector<NDArray>> item = q->Dequeue();
//     if (absl::IsOutOfRange(item.status())) break;  // closed and drained
//     ...
//   }
//
// Besides the blocking host calls there is a non-blocking waiter API
// (EnqueueAsync, DequeueAsync, DequeueManyAsync, CancelWaiter) for
// asynchronous kernels: a waiter holds no thread while it waits. The host
// calls are built on it, so both share one code path.
#ifndef WEFT_ASYNC_QUEUE_H_
#define WEFT_ASYNC_QUEUE_H_

#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "graph/ndarray.h"
#include "graph/resource.h"
#include "graph/tensor_spec.h"

namespace weft {

namespace internal {
class QueueImpl;
}  // namespace internal

// What DequeueMany does when the queue is closed with fewer than n elements
// left (and at least one).
enum class FewerOnClose {
  kReturnRemaining,  // Take what is left: the leading dimension is < n.
  kFail,             // kOutOfRange; the remaining elements stay in the queue.
};

// A handle to a queue. Copies share the queue; `==` is identity; a
// default-constructed Queue is null (every operation on it returns
// kFailedPrecondition, accessors return empty values).
//
// Semantics:
// - Every element is a tuple of components()`.size()` NDArrays; each enqueue
//   checks the count, and each component's dtype and shape against its
//   TensorSpec (-1 dims match anything).
// - At most capacity() elements are stored; enqueuers wait while it is full.
// - Waiters (blocked host calls and asynchronous waiters alike) are served
//   strictly FIFO per direction: a DequeueMany(n) at the head of the line is
//   served before a later Dequeue, even if the later one could be served now.
// - Close() ends the data: later enqueues, and enqueuers still waiting, fail
//   with kOutOfRange naming the queue and where it was closed. Dequeuers
//   drain what is left; a dequeue from a closed, empty queue fails with
//   kOutOfRange the same way.
// - Exactly once: an element is either delivered to exactly one dequeuer or
//   still in the queue. A timed-out or cancelled waiter has taken nothing.
//
// Thread safety: every method may be called from any number of threads at
// once. Callbacks (`done`) never run under the queue's lock.
class Queue {
 public:
  // Identifies a waiting asynchronous call, for CancelWaiter.
  using WaiterId = uint64_t;
  // Returned when `done` already ran (inline) before the call returned.
  static constexpr WaiterId kNoWaiter = 0;
  // A dequeue's result: the tuple's components (Dequeue), or each component
  // stacked on a new axis 0 (DequeueMany).
  using DequeueDone =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<NDArray>>)>;
  // An enqueue's result: the number of elements in the queue just after
  // this element went in.
  using EnqueueDone = absl::AnyInvocable<void(absl::StatusOr<int64_t>)>;

  Queue() = default;

  // kInvalidArgument for an empty name, no components, an invalid dtype or
  // shape in a component, or capacity < 1.
  [[nodiscard]] static absl::StatusOr<Queue> Create(
      std::string_view name, std::vector<TensorSpec> components, int capacity,
      std::source_location where = std::source_location::current());

  // The queue a node attribute refers to. kInvalidArgument when `resource`
  // is null or is not a queue (naming its kind).
  [[nodiscard]] static absl::StatusOr<Queue> FromResource(
      const ResourceRef& resource);
  // The reference a node attribute holds (null for a null handle).
  ResourceRef resource() const;

  // valid(): the one "is this handle usable" name across weft's handles
  // (Graph, Variable, Queue, Function, NDArray, Tensor). is_null() is its
  // negation, kept for existing code.
  bool valid() const { return impl_ != nullptr; }
  bool is_null() const { return impl_ == nullptr; }
  friend bool operator==(const Queue& a, const Queue& b) {
    return a.impl_ == b.impl_;
  }

  // --- Host side (blocking) ---

  // Appends one element, waiting while the queue is full. Errors:
  // kInvalidArgument (wrong count, dtype or shape, naming the component),
  // kOutOfRange (closed, before or while waiting), kDeadlineExceeded (still
  // full after `timeout`; nothing was enqueued).
  [[nodiscard]] absl::Status Enqueue(
      std::vector<NDArray> values,
      absl::Duration timeout = absl::InfiniteDuration());

  // Removes the oldest element, waiting while the queue is empty. Errors:
  // kOutOfRange (closed and empty), kDeadlineExceeded (nothing arrived in
  // `timeout`; nothing was taken).
  [[nodiscard]] absl::StatusOr<std::vector<NDArray>> Dequeue(
      absl::Duration timeout = absl::InfiniteDuration());

  // Removes the n oldest elements at once and returns each component
  // stacked on a new axis 0 ([n, ...component shape]). Nothing is taken
  // until n elements are there. When the queue closes with 0 < k < n left,
  // `on_close` decides: kReturnRemaining returns those k (leading dim k);
  // kFail returns kOutOfRange and leaves them queued. kInvalidArgument for
  // n < 1 or n > capacity(), or when the n elements' shapes of a component
  // differ (specs with -1 dims; nothing is taken then).
  [[nodiscard]] absl::StatusOr<std::vector<NDArray>> DequeueMany(
      int64_t n, FewerOnClose on_close = FewerOnClose::kReturnRemaining,
      absl::Duration timeout = absl::InfiniteDuration());

  // Ends the data (idempotent; the first call's site is kept). Waiting
  // enqueuers fail; waiting dequeuers get what is left, then kOutOfRange.
  void Close(std::source_location where = std::source_location::current());

  // --- Asynchronous waiters (for asynchronous kernels) ---
  //
  // Contract: `done` is called exactly once, never under the queue's lock,
  // possibly inline on the calling thread before the call returns (then
  // the call returns kNoWaiter); otherwise later, on the thread whose
  // Enqueue/Dequeue/Close/CancelWaiter completed the wait.

  WaiterId EnqueueAsync(std::vector<NDArray> values, EnqueueDone done);
  WaiterId DequeueAsync(DequeueDone done);
  WaiterId DequeueManyAsync(int64_t n, FewerOnClose on_close, DequeueDone done);

  // Withdraws a waiting call. Returns true if it was still waiting: it took
  // (or added) nothing, and its `done` has been called with `why` (a
  // non-OK status; an OK one becomes kCancelled) before CancelWaiter
  // returns. Returns false if it had already completed (or `id` is unknown
  // or kNoWaiter): its `done` was or is being called with its real result.
  bool CancelWaiter(WaiterId id, absl::Status why);

  // Puts elements a consumer took but could not deliver (its run failed)
  // back at the front of the queue, in their order, ahead of everything
  // else; capacity and a close do not refuse them (they are data the queue
  // already held). Waiting dequeuers are served. kInvalidArgument for
  // values that do not match the components.
  [[nodiscard]] absl::Status PutBack(
      std::vector<std::vector<NDArray>> elements);

  // --- State ---
  const std::string& name() const;
  const std::vector<TensorSpec>& components() const;
  int capacity() const;
  std::source_location created_at() const;
  int size() const;
  bool closed() const;
  int num_waiting_enqueuers() const;
  int num_waiting_dequeuers() const;

 private:
  explicit Queue(std::shared_ptr<internal::QueueImpl> impl)
      : impl_(std::move(impl)) {}
  std::shared_ptr<internal::QueueImpl> impl_;
};

}  // namespace weft

#endif  // WEFT_ASYNC_QUEUE_H_
