// The queue ops (definitions, builders, asynchronous kernels) and
// QueueRunner. Registered by a static registrar (the //async:queue_ops
// library is alwayslink), so graphs loaded from files find them.
#include "async/queue_ops.h"

#include <atomic>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "async/stack.h"
#include "graph/errors.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "kernels/kernel.h"

namespace weft {
namespace {

constexpr char kQueueAttr[] = "queue";

absl::StatusOr<Queue> QueueOfAttrs(const AttrMap& attrs) {
  const ResourceRef* ref = FindAttr<ResourceRef>(attrs, kQueueAttr);
  if (ref == nullptr) {
    return absl::InvalidArgumentError(
        "attr 'queue' must hold a Queue; build these ops with ops::Enqueue, "
        "ops::Dequeue or ops::DequeueMany");
  }
  return Queue::FromResource(*ref);
}

std::string DescribeQueue(const Queue& q) {
  return absl::StrCat(internal::Quoted(q.name()), " (created at ",
                      SourceSite::From(q.created_at()).ToString(), ")");
}

absl::Status InferEnqueue(InferenceContext& c) {
  absl::StatusOr<Queue> q = QueueOfAttrs(*c.attrs);
  if (!q.ok()) return c.AttrError(std::string(q.status().message()));
  const std::vector<TensorSpec>& specs = q->components();
  if (c.input_dtypes.size() != specs.size()) {
    return c.ShapeError(absl::StrCat(
        "Enqueue of ", c.input_dtypes.size(), " value(s) to queue ",
        DescribeQueue(*q), ", which holds ", specs.size(), " component(s)"));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const Shape& in = c.input_shapes[i];
    if (c.input_dtypes[i] != spec.dtype) {
      return c.DTypeError(absl::StrCat(
          "Enqueue to queue ", DescribeQueue(*q), ": component ", i,
          spec.name.empty() ? "" : absl::StrCat(" '", spec.name, "'"), " is ",
          DTypeName(spec.dtype), spec.shape.DebugString(), " but the value is ",
          DTypeName(c.input_dtypes[i]), in.DebugString()));
    }
    bool compatible = in.rank() == spec.shape.rank();
    for (int d = 0; compatible && d < in.rank(); ++d) {
      compatible = in.dim(d) < 0 || spec.shape.dim(d) < 0 ||
                   in.dim(d) == spec.shape.dim(d);
    }
    if (!compatible) {
      return c.ShapeError(absl::StrCat(
          "Enqueue to queue ", DescribeQueue(*q), ": component ", i,
          spec.name.empty() ? "" : absl::StrCat(" '", spec.name, "'"), " is ",
          DTypeName(spec.dtype), spec.shape.DebugString(), " but the value is ",
          DTypeName(c.input_dtypes[i]), in.DebugString()));
    }
  }
  c.SetOutput(DType::kInt64, Shape{});
  return absl::OkStatus();
}

absl::Status InferDequeue(InferenceContext& c, int64_t many) {
  absl::StatusOr<Queue> q = QueueOfAttrs(*c.attrs);
  if (!q.ok()) return c.AttrError(std::string(q.status().message()));
  std::vector<DType> dtypes;
  std::vector<Shape> shapes;
  for (const TensorSpec& spec : q->components()) {
    dtypes.push_back(spec.dtype);
    if (many > 0) {
      std::vector<int64_t> dims = {many};
      dims.insert(dims.end(), spec.shape.dims().begin(),
                  spec.shape.dims().end());
      shapes.emplace_back(std::move(dims));
    } else {
      shapes.push_back(spec.shape);
    }
  }
  c.SetOutputs(std::move(dtypes), std::move(shapes));
  return absl::OkStatus();
}

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
    absl::StatusOr<Queue> q = QueueOfAttrs(c.node().attrs());
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

bool RegisterQueueOps() {
  OpRegistry& ops = OpRegistry::Global();
  absl::Status s = ops.Register({.type = "Enqueue",
                                 .num_inputs = OpDef::kVariadicInputs,
                                 .attrs = {kQueueAttr},
                                 .infer = InferEnqueue,
                                 .stateful = true});
  s.Update(ops.Register(
      {.type = "Dequeue",
       .num_inputs = 0,
       .attrs = {kQueueAttr},
       .infer = [](InferenceContext& c) { return InferDequeue(c, 0); },
       .num_outputs = OpDef::kOutputsFromInference,
       .stateful = true}));
  s.Update(
      ops.Register({.type = "DequeueMany",
                    .num_inputs = 0,
                    .attrs = {kQueueAttr, "n"},
                    .infer = [](InferenceContext& c) -> absl::Status {
                      absl::StatusOr<const int64_t*> n = c.Attr<int64_t>("n");
                      if (!n.ok()) return n.status();
                      if (**n < 1) {
                        return c.AttrError(absl::StrCat(
                            "DequeueMany n is ", **n, "; it must be >= 1"));
                      }
                      return InferDequeue(c, **n);
                    },
                    .num_outputs = OpDef::kOutputsFromInference,
                    .stateful = true}));
  KernelRegistry& kernels = KernelRegistry::Global();
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kInt32,
                  DType::kInt64, DType::kBool}) {
    s.Update(kernels.Register({.op = "Enqueue",
                               .dtype = d,
                               .factory = MakeKernelFactory<EnqueueKernel>()}));
    s.Update(kernels.Register({.op = "Dequeue",
                               .dtype = d,
                               .factory = MakeKernelFactory<DequeueKernel>()}));
    s.Update(kernels.Register({.op = "DequeueMany",
                               .dtype = d,
                               .factory = MakeKernelFactory<DequeueKernel>()}));
  }
  return s.ok();
}

const bool kRegistered = RegisterQueueOps();

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
  return internal::BuildOp("Enqueue", values, {{kQueueAttr, queue.resource()}},
                           options, where);
}

std::vector<Tensor> Dequeue(const Queue& queue, const OpOptions& options,
                            std::source_location where) {
  if (queue.is_null()) {
    return {Tensor::FromError(NullQueueError("Dequeue", where))};
  }
  return internal::BuildOpN("Dequeue", {}, {{kQueueAttr, queue.resource()}},
                            options, where,
                            static_cast<int>(queue.components().size()));
}

std::vector<Tensor> DequeueMany(const Queue& queue, int64_t n,
                                const OpOptions& options,
                                std::source_location where) {
  if (queue.is_null()) {
    return {Tensor::FromError(NullQueueError("DequeueMany", where))};
  }
  return internal::BuildOpN("DequeueMany", {},
                            {{kQueueAttr, queue.resource()}, {"n", n}}, options,
                            where, static_cast<int>(queue.components().size()));
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
