// The builders of the queues family's ops (Enqueue, Dequeue, DequeueMany)
// and QueueRunner. The ops are defined in graph/queue_ops.cc and their
// kernels are in kernels/queue_kernels.cc, both registered from the
// registries' family lists.
#include "async/queue_ops.h"

#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "async/stack.h"
#include "graph/build_op.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/resource_attrs.h"
#include "kernels/kernel.h"

namespace weft {
namespace {

absl::Status NullQueueError(std::string_view op, std::source_location where) {
  return NullResourceError(op, "Queue", where);
}

}  // namespace

namespace ops {

Tensor Enqueue(const Queue& queue, const std::vector<Tensor>& values,
               const OpOptions& options, std::source_location where) {
  for (const Tensor& t : values) {
    if (!t.ok()) return t;
  }
  if (queue.is_null())
    return Tensor::FromError(NullQueueError("Enqueue", where));
  return internal::BuildOp("Enqueue", values,
                           {{internal::kQueueAttr, queue.resource()}}, options,
                           where);
}

std::vector<Tensor> Dequeue(const Queue& queue, const OpOptions& options,
                            std::source_location where) {
  if (queue.is_null()) {
    return {Tensor::FromError(NullQueueError("Dequeue", where))};
  }
  return internal::BuildOpN("Dequeue", {},
                            {{internal::kQueueAttr, queue.resource()}}, options,
                            where, static_cast<int>(queue.components().size()));
}

std::vector<Tensor> DequeueMany(const Queue& queue, int64_t n,
                                const OpOptions& options,
                                std::source_location where) {
  if (queue.is_null()) {
    return {Tensor::FromError(NullQueueError("DequeueMany", where))};
  }
  return internal::BuildOpN(
      "DequeueMany", {}, {{internal::kQueueAttr, queue.resource()}, {"n", n}},
      options, where, static_cast<int>(queue.components().size()));
}

}  // namespace ops

// ---------------------------------------------------------- QueueRunner --

absl::StatusOr<std::unique_ptr<QueueRunner>> QueueRunner::Start(
    Session* session, Queue queue, std::vector<Tensor> targets, int num_threads,
    Feeds feeds) {
  if (session == nullptr || queue.is_null()) {
    return absl::InvalidArgumentError(
        "QueueRunner::Start needs a session and a queue");
  }
  if (targets.empty() || num_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("QueueRunner::Start needs at least one target and one "
                     "thread (got ",
                     targets.size(), " and ", num_threads, ")"));
  }
  auto runner = std::unique_ptr<QueueRunner>(new QueueRunner(
      session, std::move(queue), std::move(targets), std::move(feeds)));
  {
    absl::MutexLock lock(&runner->mu_);
    runner->live_ = num_threads;
  }
  for (int i = 0; i < num_threads; ++i) {
    runner->threads_.emplace_back([r = runner.get()] { r->Loop(); });
  }
  return runner;
}

QueueRunner::QueueRunner(Session* session, Queue queue,
                         std::vector<Tensor> targets, Feeds feeds)
    : session_(session),
      queue_(std::move(queue)),
      targets_(std::move(targets)),
      feeds_(std::move(feeds)) {}

QueueRunner::~QueueRunner() {
  bool joined;
  {
    absl::MutexLock lock(&mu_);
    joined = joined_;
  }
  if (!joined) Cancel().IgnoreError();
}

void QueueRunner::Loop() {
  RunOptions options;
  options.cancellation = &cancel_;
  while (true) {
    absl::StatusOr<std::vector<NDArray>> r =
        session_->Run(feeds_, {}, targets_, options);
    absl::MutexLock lock(&mu_);
    if (r.ok()) {
      ++runs_;
      continue;
    }
    // kOutOfRange: the input ended (or Cancel closed the queue); kCancelled
    // after Cancel(): the run was stopped on request.
    const absl::StatusCode code = r.status().code();
    const bool expected =
        code == absl::StatusCode::kOutOfRange ||
        (code == absl::StatusCode::kCancelled && cancel_.cancelled());
    if (!expected && first_error_.ok()) first_error_ = r.status();
    if (--live_ == 0) queue_.Close();
    return;
  }
}

absl::Status QueueRunner::Join() {
  {
    absl::MutexLock lock(&mu_);
    if (joined_) return first_error_;
    joined_ = true;
  }
  for (std::thread& t : threads_) t.join();
  absl::MutexLock lock(&mu_);
  return first_error_;
}

absl::Status QueueRunner::Cancel() {
  queue_.Close();
  cancel_.Cancel(
      absl::CancelledError("QueueRunner::Cancel stopped the runner"));
  return Join();
}

int64_t QueueRunner::runs() const {
  absl::MutexLock lock(&mu_);
  return runs_;
}

}  // namespace weft
