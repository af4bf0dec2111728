// queue_ops.h — defines the graph ops on weft::Queue — ops::Enqueue,
// ops::Dequeue, ops::DequeueMany — and weft::QueueRunner, the producer
// helper that runs an enqueue graph on background threads until its input
// ends. Dequeue and Enqueue are asynchronous kernels: a run blocked on an
// empty (or full) queue holds no worker thread, and a run deadline or
// cancellation wakes it with the queue unchanged.
//
//   Queue q = *Queue::Create("examples", {{DType::kFloat32, Shape{4}, "x"}},
//   64); std::vector<Tensor> x = ops::Dequeue(q);          // In
//   DefaultGraph(). Tensor loss = ...(x[0])...;
//   // A closed, empty queue ends the data: kOutOfRange naming the queue and
//   // where it was closed.
#ifndef WEFT_ASYNC_QUEUE_OPS_H_
#define WEFT_ASYNC_QUEUE_OPS_H_

#include <memory>
#include <source_location>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "async/queue.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "kernels/cancellation.h"
#include "runtime/session.h"

namespace weft {
namespace ops {

// Appends one element (one tensor per component, dtypes and shapes checked
// at build time against the queue's specs); waits while the queue is full.
// Output: the queue's size just after, an int64 scalar. A closed queue is
// kOutOfRange naming the queue and where it was closed.
Tensor Enqueue(const Queue& queue, const std::vector<Tensor>& values,
               const OpOptions& options = {},
               std::source_location where = std::source_location::current());

// Removes the oldest element: one output per component. Waits (without a
// thread) while the queue is empty; a closed and empty queue is
// kOutOfRange naming the queue and where it was closed.
std::vector<Tensor> Dequeue(
    const Queue& queue, const OpOptions& options = {},
    std::source_location where = std::source_location::current());

// Removes n elements at once: each component stacked on a new axis 0
// ([n, ...]). When the queue closes with fewer than n left, the op fails
// with kOutOfRange and those elements stay in the queue (a host Dequeue or
// a Dequeue op still gets them): nothing is lost and nothing is half-taken.
std::vector<Tensor> DequeueMany(
    const Queue& queue, int64_t n, const OpOptions& options = {},
    std::source_location where = std::source_location::current());

}  // namespace ops

// Runs `targets` (typically one ops::Enqueue) of `session` repeatedly on
// `num_threads` background threads — the TensorFlow QueueRunner pattern,
// kept small. A thread stops when a run fails; kOutOfRange (its input
// ended, e.g. a Dequeue of a closed source queue) is the normal end. When
// every thread has stopped, `queue` is closed. Join() waits and returns the
// first error other than kOutOfRange, or OK. Cancel() closes the queue so
// blocked enqueues end, cancels the runs in flight (through
// RunOptions::cancellation: a run waiting on a source queue that never
// closes wakes up, and the source keeps its elements), then joins; the
// runs it cancelled are not errors. An element a run had already taken
// from its source when Cancel() came is lost with that run, as in
// TensorFlow.
//
// Thread safety: Join and Cancel may be called from any thread; the
// session must outlive the runner.
class QueueRunner {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<QueueRunner>> Start(
      Session* session, Queue queue, std::vector<Tensor> targets,
      int num_threads = 1, Feeds feeds = {});
  ~QueueRunner();  // Cancel() unless joined.

  [[nodiscard]] absl::Status Join();
  [[nodiscard]] absl::Status Cancel();
  // Completed runs, over all threads.
  int64_t runs() const;

 private:
  QueueRunner(Session* session, Queue queue, std::vector<Tensor> targets,
              Feeds feeds);
  void Loop();

  Session* const session_;
  Queue queue_;
  const std::vector<Tensor> targets_;
  const Feeds feeds_;
  std::vector<std::thread> threads_;
  // Every run of every thread is registered here; Cancel() cancels it.
  CancellationManager cancel_;
  mutable absl::Mutex mu_;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  int live_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace weft

#endif  // WEFT_ASYNC_QUEUE_OPS_H_
