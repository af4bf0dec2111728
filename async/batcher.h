// batcher.h — defines weft::Batcher, dynamic batching for serving: many
// request threads each submit one example; the batcher groups them into one
// Session::Run with the inputs stacked on axis 0 and hands every caller its
// own slice of the outputs. Also weft::BatcherOptions and
// weft::BatcherStats.
//
//   // x: Placeholder float32[?,256]; y = MatMul(x, w): float32[?,256]
//   absl::StatusOr<std::unique_ptr<Batcher>> batcher =
//       Batcher::Create(session.get(), {x}, {y}, {.max_batch_size = 32});
//   // on any request thread:
//   absl::StatusOr<std::vector<NDArray>> out = (*batcher)->Run({example});
//   // example: float32[256]; out->at(0): float32[256]
#ifndef WEFT_ASYNC_BATCHER_H_
#define WEFT_ASYNC_BATCHER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <source_location>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"
#include "runtime/session.h"

namespace weft {

struct BatcherOptions {
  // A batch closes when it holds this many requests (1 .. 65536) ...
  int max_batch_size = 32;
  // ... or when its oldest request has waited this long, whichever comes
  // first (>= 0; InfiniteDuration() batches by size only).
  absl::Duration batch_timeout = absl::Milliseconds(1);
  // Threads that form batches and run them (1 .. 256); more than one lets
  // a batch form while another runs.
  int num_batch_threads = 1;
};

// What the batcher has done so far.
struct BatcherStats {
  int64_t num_requests = 0;  // Requests that went into a batch.
  int64_t num_batches = 0;
  int64_t num_failed_batches = 0;
  // batch_size_counts[k]: batches of exactly k requests (size
  // max_batch_size + 1; index 0 stays 0).
  std::vector<int64_t> batch_size_counts;
};

// Groups single-example requests into batched runs of one Session.
//
// Each input and output tensor has the batch on axis 0 (its inferred
// leading dimension is unknown, -1). A request passes one NDArray per input
// without the batch axis; it gets one NDArray per output, without it. A
// batch stacks its requests' inputs, runs Session::Run once and splits the
// outputs on axis 0. Requests whose inputs differ in shape (inputs with
// unknown inner dimensions) go to different batches. An error of a batch's
// run reaches every request of that batch and no other.
//
// Shutdown (Shutdown() or the destructor) finishes every request already
// accepted: the batch threads run what is pending at once, without waiting
// for batch_timeout; requests submitted after Shutdown fail with
// kFailedPrecondition. The destructor waits for all of them.
//
// Thread safety: Run, RunAsync, Shutdown and stats may be called from any
// number of threads at once. The Session must outlive the Batcher. `done`
// callbacks run on a batch thread (or inline for a request refused at
// once); they must not destroy the Batcher. Calling Run while the Batcher
// is being destroyed is a use after free, as for any object: stop the
// callers (Shutdown makes them return) before destroying it.
class Batcher {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<std::vector<NDArray>>)>;

  // A non-ok tensor gives its own error (prefixed with the role and
  // index). kInvalidArgument for a null session, no inputs or outputs, a
  // tensor of another graph than the session's, a repeated input,
  // a tensor whose leading dimension is not unknown (-1) or that has rank 0,
  // or options out of range.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Batcher>> Create(
      Session* session, std::vector<Tensor> inputs, std::vector<Tensor> outputs,
      BatcherOptions options = {},
      std::source_location where = std::source_location::current());

  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Runs one example and blocks until its batch is done. kInvalidArgument
  // for a malformed example (count, dtype, shape; nothing is run);
  // kFailedPrecondition after Shutdown; else the batch's Session::Run
  // error, or the output error below.
  [[nodiscard]] absl::StatusOr<std::vector<NDArray>> Run(
      std::vector<NDArray> example);

  // The same without blocking: `done` is called exactly once, inline if the
  // example is refused at once, else on a batch thread.
  void RunAsync(std::vector<NDArray> example, Done done);

  // Stops accepting requests and finishes the accepted ones without
  // waiting for batch_timeout. Returns at once; idempotent.
  void Shutdown(std::source_location where = std::source_location::current());

  BatcherStats stats() const;
  // Requests accepted and not yet taken into a batch.
  int num_pending() const;
  const BatcherOptions& options() const { return options_; }

 private:
  struct Request {
    std::vector<NDArray> example;
    Done done;
    absl::Time arrival;
  };

  Batcher(Session* session, std::vector<Tensor> inputs,
          std::vector<Tensor> outputs, BatcherOptions options,
          std::source_location where);

  [[nodiscard]] absl::Status CheckExample(
      const std::vector<NDArray>& example) const;
  // One batch thread: takes batches and runs them until shut down and
  // drained.
  void BatchLoop();
  // Waits for the next batch; false when shut down with nothing pending.
  bool TakeBatch(std::vector<Request>& batch);
  // Runs `batch` and completes every request of it.
  void RunBatch(std::vector<Request>& batch);
  // The per-request outputs of a successful run of `k` requests.
  [[nodiscard]] absl::StatusOr<std::vector<std::vector<NDArray>>> SplitOutputs(
      std::vector<NDArray> outputs, size_t k) const;
  // "Batcher (created at file.cc:12 in Fn)".
  std::string Describe() const;

  Session* const session_;
  const std::vector<Tensor> inputs_;
  const std::vector<Tensor> outputs_;
  const BatcherOptions options_;
  const std::source_location created_at_;

  mutable absl::Mutex mu_;
  std::deque<Request> pending_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::source_location shut_down_at_ ABSL_GUARDED_BY(mu_);
  BatcherStats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;  // Set in Create; joined in ~Batcher.
};

}  // namespace weft

#endif  // WEFT_ASYNC_BATCHER_H_
