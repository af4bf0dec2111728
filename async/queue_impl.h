// queue_impl.h — defines weft::internal::QueueImpl, the shared state behind
// weft::Queue handles: the elements, the FIFO lines of waiting enqueuers and
// dequeuers, and the close record. Users go through Queue (async/queue.h).
#ifndef WEFT_ASYNC_QUEUE_IMPL_H_
#define WEFT_ASYNC_QUEUE_IMPL_H_

#include <cstdint>
#include <deque>
#include <list>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "async/queue.h"
#include "graph/resource.h"

namespace weft::internal {

// The queue itself. Every state change happens under `mu_` in one place,
// Pump(), which moves waiting enqueuers' values in while there is room and
// serves waiting dequeuers from the front of their line while it can. Pump
// only collects the completions; they run after `mu_` is released.
//
// Thread safety: all public methods are thread safe. Destroying the impl
// (the last handle goes away) fails any waiter still in line with
// kCancelled.
class QueueImpl : public Resource {
 public:
  using WaiterId = Queue::WaiterId;

  QueueImpl(std::string name, std::vector<TensorSpec> components, int capacity,
            std::source_location where);
  ~QueueImpl() override;

  std::string_view kind() const override { return "Queue"; }

  // OK if `values` match the components (count, validity, dtype, shape).
  [[nodiscard]] absl::Status CheckValues(
      const std::vector<NDArray>& values) const;

  WaiterId EnqueueAsync(std::vector<NDArray> values, Queue::EnqueueDone done);
  // `many` stacks the result (DequeueMany); n must be 1 when !many.
  WaiterId DequeueAsync(int64_t n, bool many, FewerOnClose on_close,
                        Queue::DequeueDone done);
  bool CancelWaiter(WaiterId id, absl::Status why);
  // Host fast paths: complete at once, without registering a waiter, when
  // nobody waits ahead and the queue is open with room (an item). The
  // effect is exactly that of the waiter path completing at once. False
  // (nothing done): take the waiter path. `values` must be checked first.
  bool TryEnqueueNow(std::vector<NDArray>& values);
  bool TryDequeueNow(std::vector<NDArray>& out);
  // Returns elements taken by a consumer that could not deliver them to the
  // front of the queue, in order (ignoring capacity and closing).
  void PutBack(std::vector<std::vector<NDArray>> elements);
  void Close(std::source_location where);

  // "queue 'name' (created at file.cc:12 in Fn)".
  std::string Describe() const override;

  const std::vector<TensorSpec>& components() const { return components_; }
  // The components: what Enqueue takes and Dequeue gives.
  const std::vector<TensorSpec>& value_specs() const override {
    return components_;
  }
  int capacity() const { return capacity_; }
  int size() const;
  bool closed() const;
  int num_waiting_enqueuers() const;
  int num_waiting_dequeuers() const;

 private:
  using Completions = std::vector<absl::AnyInvocable<void() &&>>;
  using Element = std::vector<NDArray>;

  struct EnqueueWaiter {
    WaiterId id;
    Element values;
    Queue::EnqueueDone done;
  };
  struct DequeueWaiter {
    WaiterId id;
    int64_t n;
    bool many;
    FewerOnClose on_close;
    Queue::DequeueDone done;
  };

  // Moves values in and serves dequeuers while possible; appends what must
  // be called after unlocking to `out`.
  void Pump(Completions& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Serves (or fails) the dequeuer at the front of the line if it can be;
  // false when it must keep waiting.
  bool ServeFrontDequeuer(Completions& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first component whose shapes differ among the first k elements, as
  // an error; OK when they can be stacked.
  absl::Status CheckStackable(int64_t k) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // "(closed at file.cc:30 in Fn, thread 'main')".
  std::string ClosedAt() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnqueueClosedError() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RunAll(Completions& completions);

  const std::vector<TensorSpec> components_;
  const int capacity_;

  mutable absl::Mutex mu_;
  std::deque<Element> items_ ABSL_GUARDED_BY(mu_);
  std::list<EnqueueWaiter> enqueuers_ ABSL_GUARDED_BY(mu_);
  std::list<DequeueWaiter> dequeuers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::source_location closed_at_ ABSL_GUARDED_BY(mu_);
  std::string closed_thread_ ABSL_GUARDED_BY(mu_);
  WaiterId next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

// "component 1 'label'" or "component 1" for an unnamed one.
std::string DescribeComponent(const std::vector<TensorSpec>& specs, int i);

}  // namespace weft::internal

#endif  // WEFT_ASYNC_QUEUE_IMPL_H_
