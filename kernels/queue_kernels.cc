// The queues family's kernels (ops defined in graph/queue_ops.cc):
// asynchronous Enqueue, Dequeue and DequeueMany. None holds a worker
// thread while it waits; a step's cancellation or deadline withdraws the
// waiter, and a dequeue whose run fails after all puts what it took back at
// the front of the queue, so nothing is lost.
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "async/queue.h"
#include "async/stack.h"
#include "graph/attr.h"
#include "graph/resource_attrs.h"
#include "kernels/cancellation.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

// Waits on a queue without a thread; a step cancellation withdraws the
// waiter (CancelWaiter), so the queue keeps what the op did not take.
class QueueWait {
 public:
  // Registers with the step's cancellation; false if already cancelled.
  static std::shared_ptr<QueueWait> Make(OpKernelContext& ctx, Queue queue,
                                         AsyncOpKernel::DoneCallback done) {
    auto w = std::shared_ptr<QueueWait>(
        new QueueWait(ctx, std::move(queue), std::move(done)));
    CancellationManager* cm = ctx.cancellation();
    if (cm != nullptr) {
      std::weak_ptr<QueueWait> weak = w;
      w->registered_ = cm->Register(
          [weak] {
            if (auto self = weak.lock()) self->CancelRequested();
          },
          &w->token_);
      if (!w->registered_) {
        w->Finish(cm->status().ok() ? absl::CancelledError("cancelled")
                                    : cm->status());
        return nullptr;
      }
    }
    return w;
  }

  // Records the waiter id of the queue call (kNoWaiter if it completed
  // inline) and honours a cancellation that came first.
  void Started(Queue::WaiterId id) {
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      id_ = id;
      cancel = cancel_requested_;
    }
    if (cancel && id != Queue::kNoWaiter)
      queue_.CancelWaiter(id, CancelStatus());
  }

  // The queue call's result (or a cancellation's): called once.
  void Finish(absl::Status status) {
    if (finished_.exchange(true)) return;
    if (registered_) ctx_.cancellation()->Deregister(token_);
    std::move(done_)(std::move(status));
  }
  OpKernelContext& ctx() { return ctx_; }

 private:
  QueueWait(OpKernelContext& ctx, Queue queue, AsyncOpKernel::DoneCallback done)
      : ctx_(ctx), queue_(std::move(queue)), done_(std::move(done)) {}

  absl::Status CancelStatus() const {
    absl::Status s = ctx_.cancellation()->status();
    return s.ok() ? absl::CancelledError("the run was cancelled") : s;
  }
  void CancelRequested() {
    Queue::WaiterId id;
    {
      absl::MutexLock lock(&mu_);
      cancel_requested_ = true;
      id = id_;
    }
    if (id != Queue::kNoWaiter) queue_.CancelWaiter(id, CancelStatus());
  }

  OpKernelContext& ctx_;
  Queue queue_;
  AsyncOpKernel::DoneCallback done_;
  std::atomic<bool> finished_{false};
  bool registered_ = false;
  CancellationManager::Token token_ = 0;
  absl::Mutex mu_;
  Queue::WaiterId id_ ABSL_GUARDED_BY(mu_) = Queue::kNoWaiter;
  bool cancel_requested_ ABSL_GUARDED_BY(mu_) = false;
};

class QueueKernel : public AsyncOpKernel {
 public:
  explicit QueueKernel(OpKernelConstruction& c) : AsyncOpKernel(c) {
    absl::StatusOr<ResourceRef> ref = internal::QueueOfAttrs(c.node().attrs());
    absl::StatusOr<Queue> q = ref.ok() ? Queue::FromResource(*ref)
                                       : absl::StatusOr<Queue>(ref.status());
    if (!q.ok()) {
      c.SetStatus(q.status());
    } else {
      queue_ = *std::move(q);
    }
  }

 protected:
  Queue queue_;
};

class EnqueueKernel : public QueueKernel {
 public:
  using QueueKernel::QueueKernel;
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    std::shared_ptr<QueueWait> w =
        QueueWait::Make(ctx, queue_, std::move(done));
    if (w == nullptr) return;
    std::vector<NDArray> values;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      values.push_back(ctx.release_input(i));
    }
    Queue q = queue_;  // The handle's calls are not const.
    w->Started(
        q.EnqueueAsync(std::move(values), [w](absl::StatusOr<int64_t> size) {
          if (size.ok()) w->ctx().set_output(0, NDArray::Scalar(*size));
          w->Finish(size.status());
        }));
  }
};

// The queue elements a dequeue result holds: itself (Dequeue), or one per
// row of the stacked components (DequeueMany).
absl::StatusOr<std::vector<std::vector<NDArray>>> ToElements(
    const std::vector<NDArray>& result, bool many) {
  if (!many) return std::vector<std::vector<NDArray>>{result};
  std::vector<std::vector<NDArray>> elements;
  for (size_t c = 0; c < result.size(); ++c) {
    absl::StatusOr<std::vector<NDArray>> rows = UnstackArray(result[c]);
    if (!rows.ok()) return rows.status();
    if (c == 0) elements.resize(rows->size());
    for (size_t i = 0; i < rows->size() && i < elements.size(); ++i) {
      elements[i].push_back(std::move((*rows)[i]));
    }
  }
  return elements;
}

class DequeueKernel : public QueueKernel {
 public:
  explicit DequeueKernel(OpKernelConstruction& c) : QueueKernel(c) {
    if (c.node().op() == "DequeueMany") {
      c.SetStatus(c.GetAttr("n", &many_));
    }
  }
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    std::shared_ptr<QueueWait> w =
        QueueWait::Make(ctx, queue_, std::move(done));
    if (w == nullptr) return;
    const bool many = many_ > 0;
    auto deliver = [w, q = queue_,
                    many](absl::StatusOr<std::vector<NDArray>> r) mutable {
      if (!r.ok()) return w->Finish(r.status());
      // Exactly once: what this op took goes back to the front of the
      // queue if its run fails after all (a deadline, an error elsewhere);
      // a run that completes keeps it (the callback is then never run).
      absl::StatusOr<std::vector<std::vector<NDArray>>> elements =
          ToElements(*r, many);
      if (!elements.ok()) return w->Finish(elements.status());
      CancellationManager* cm = w->ctx().cancellation();
      CancellationManager::Token token;
      if (cm != nullptr && !cm->Register(
                               [q, elements = *elements]() mutable {
                                 q.PutBack(std::move(elements)).IgnoreError();
                               },
                               &token)) {
        q.PutBack(*std::move(elements)).IgnoreError();
        return w->Finish(cm->status().ok()
                             ? absl::CancelledError("the run was cancelled")
                             : cm->status());
      }
      for (size_t i = 0; i < r->size(); ++i) {
        w->ctx().set_output(static_cast<int>(i), std::move((*r)[i]));
      }
      w->Finish(absl::OkStatus());
    };
    Queue q = queue_;  // The handle's calls are not const.
    w->Started(many_ > 0 ? q.DequeueManyAsync(many_, FewerOnClose::kFail,
                                              std::move(deliver))
                         : q.DequeueAsync(std::move(deliver)));
  }

 private:
  int64_t many_ = 0;
};

}  // namespace

void RegisterQueueKernels(KernelRegistry& kernels) {
  for (DType d : kAllDTypes) {
    MustRegister(kernels, {.op = "Enqueue",
                           .dtype = d,
                           .factory = MakeKernelFactory<EnqueueKernel>()});
    MustRegister(kernels, {.op = "Dequeue",
                           .dtype = d,
                           .factory = MakeKernelFactory<DequeueKernel>()});
    MustRegister(kernels, {.op = "DequeueMany",
                           .dtype = d,
                           .factory = MakeKernelFactory<DequeueKernel>()});
  }
}

}  // namespace kernels_internal
}  // namespace weft
