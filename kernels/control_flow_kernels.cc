// The control-flow family's kernels (ops defined in
// graph/control_flow_ops.cc): Call, Cond and While, asynchronous kernels
// that run a function's body graph through the runtime's FunctionRuntime
// (kernels/function_runtime.h: a nested Session per body, so its compiled
// plan is cached across calls, iterations and runs). None holds a worker
// thread while a nested run is in flight. A run-time error inside a
// function is reported as
//   node 'f/Div' in function 'f' (traced at model.cc:10), called at
//   model.cc:40: <message>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/function.h"
#include "graph/function_body.h"
#include "graph/node.h"
#include "graph/provenance.h"
#include "kernels/function_runtime.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

using internal::FunctionBody;
using internal::Quoted;
using Values = std::vector<NDArray>;
using RunDone = absl::AnyInvocable<void(absl::StatusOr<Values>) &&>;

// One function of one call node: its body graph instantiated by the
// runtime's FunctionRuntime.
//
// Thread safety: Run may be called concurrently (instances allow it).
class FunctionRunner {
 public:
  FunctionRunner(std::shared_ptr<FunctionBody> fn, const Node& call_node)
      : fn_(std::move(fn)),
        call_site_(call_node.provenance().Site().FileLine()) {
    for (const Tensor& t : fn_->args) feeds_.push_back(t);
    for (const Tensor& t : fn_->capture_placeholders) feeds_.push_back(t);
    for (const Tensor& t : feeds_) {
      feed_dtypes_.push_back(t.dtype());
      feed_shapes_.push_back(t.shape());
    }
  }

  // The body runs on the call node's device (the first), plus any device
  // its own nodes name.
  absl::Status Init(FunctionRuntime* library, const std::string& device) {
    if (library == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "function ", fn_->Describe(),
          " needs the runtime's FunctionRuntime to run; control-flow "
          "kernels are built by a Session's plan compiler"));
    }
    std::vector<std::string> devices = {device.empty() ? std::string("cpu:0")
                                                       : device};
    for (const std::string& d : fn_->devices) {
      if (d != devices.front()) devices.push_back(d);
    }
    absl::StatusOr<std::unique_ptr<FunctionRuntime::Instance>> instance =
        library->Instantiate(fn_->graph, std::move(devices), feeds_,
                             fn_->outputs);
    if (!instance.ok()) return Rewrite(instance.status());
    instance_ = *std::move(instance);
    return absl::OkStatus();
  }

  const FunctionBody& function() const { return *fn_; }

  // Runs the body with `inputs` (arguments, then captures) and calls
  // `done` once with its outputs or the rewritten error.
  // The calling thread runs the body's first partition before Run returns
  // (no thread hop, no plan lookup), so `done` is often called before Run
  // returns; the arguments need no validation: the call node's inference
  // checked them against the function's specs.
  void Run(Values inputs, absl::Time deadline, RunDone done) const {
    if (absl::Status s = CheckInputs(inputs); !s.ok()) {
      std::move(done)(std::move(s));
      return;
    }
    if (deadline != absl::InfiniteFuture() && absl::Now() >= deadline) {
      std::move(done)(absl::DeadlineExceededError(
          absl::StrCat("the run's deadline passed before function ",
                       fn_->Describe(), " could start")));
      return;
    }
    instance_->Run(
        std::move(inputs), deadline,
        [this, done = std::move(done)](absl::StatusOr<Values> r) mutable {
          if (!r.ok()) r = Rewrite(r.status());
          std::move(done)(std::move(r));
        });
  }

 private:
  // Build time checked the caller's inferred shapes against the body's
  // specs, but an unknown dim there takes any size at run time: a value
  // the body's inference did not allow is an error naming the function
  // and the argument (or capture), never a kernel fed a shape it was not
  // built for. A dtype and rank compare for the usual scalar arguments.
  absl::Status CheckInputs(const Values& inputs) const {
    for (size_t i = 0; i < inputs.size() && i < feed_shapes_.size(); ++i) {
      const NDArray& v = inputs[i];
      const Shape& want = feed_shapes_[i];
      if (v.Matches(feed_dtypes_[i], want)) continue;
      const size_t num_args = fn_->args.size();
      return absl::InvalidArgumentError(absl::StrCat(
          "function ", fn_->Describe(), ", called at ", call_site_, ": ",
          i < num_args ? absl::StrCat("argument ", i)
                       : absl::StrCat("capture ", i - num_args),
          " is ", DTypeName(feed_dtypes_[i]), want.DebugString(),
          " but the call passed ",
          v.valid()
              ? absl::StrCat(DTypeName(v.dtype()), v.shape().DebugString())
              : std::string("no value"),
          " at run time (the caller's shape left that dim unknown); fix: ",
          "give the caller's tensor the function's shape, or trace the ",
          "function with an unknown dim there"));
    }
    return absl::OkStatus();
  }

  // "node 'f/Div' in function 'f' (traced at ...), called at ...: <msg>".
  absl::Status Rewrite(const absl::Status& s) const {
    std::string head = absl::StrCat(
        "in function ", Quoted(fn_->name()), " (traced at ",
        fn_->traced_site().FileLine(), "), called at ", call_site_, ": ");
    std::string_view message = s.message();
    if (std::optional<OpErrorInfo> info = GetOpErrorInfo(s);
        info.has_value() && info->graph_id == fn_->graph.id()) {
      if (const Node* n = fn_->graph.FindNode(info->node_name)) {
        const std::string prefix =
            absl::StrCat("node ", Quoted(n->name()), " (", n->op(),
                         ") defined at ", n->provenance().BuiltAt(), ": ");
        if (absl::StartsWith(message, prefix)) {
          message.remove_prefix(prefix.size());
        }
      }
      head = absl::StrCat(
          "node ", Quoted(absl::StrCat(fn_->name(), "/", info->node_name)), " ",
          head);
    }
    return absl::Status(s.code(), absl::StrCat(head, message));
  }

  const std::shared_ptr<FunctionBody> fn_;
  const std::string call_site_;
  std::vector<Tensor> feeds_;
  std::vector<DType> feed_dtypes_;  // Per feed: the placeholder's spec.
  std::vector<Shape> feed_shapes_;
  std::unique_ptr<FunctionRuntime::Instance> instance_;
};

std::shared_ptr<FunctionBody> FunctionOf(OpKernelConstruction& c,
                                         const std::string& attr) {
  ResourceRef ref;
  if (absl::Status s = c.GetAttr(attr, &ref); !s.ok()) {
    c.SetStatus(s);
    return nullptr;
  }
  auto fb = std::dynamic_pointer_cast<FunctionBody>(ref);
  if (fb == nullptr) {
    c.SetStatus(absl::InvalidArgumentError(
        absl::StrCat("attr '", attr, "' does not refer to a Function")));
  }
  return fb;
}

std::unique_ptr<FunctionRunner> MakeRunner(OpKernelConstruction& c,
                                           const std::string& attr) {
  std::shared_ptr<FunctionBody> fb = FunctionOf(c, attr);
  if (fb == nullptr) return nullptr;
  auto runner = std::make_unique<FunctionRunner>(std::move(fb), c.node());
  if (absl::Status s = runner->Init(c.functions(), c.device()); !s.ok()) {
    c.SetStatus(s);
    return nullptr;
  }
  return runner;
}

// The state of one execution of a control-flow kernel. It finishes exactly
// once: with the nested result, or earlier when the step is cancelled (a
// nested run still in flight then completes into this state and is
// ignored; the kernel's context is not touched after finishing).
//
// Thread safety: Finish may race from the nested run's callback and the
// cancellation callback; `mu_` decides the winner.
class Execution : public std::enable_shared_from_this<Execution> {
 public:
  Execution(OpKernelContext& ctx, AsyncOpKernel::DoneCallback done)
      : ctx_(&ctx), done_(std::move(done)), deadline_(ctx.deadline()) {
    for (int i = 0; i < ctx.num_inputs(); ++i) inputs_.push_back(ctx.input(i));
  }

  // Registers for cancellation; false if the step is already cancelled
  // (then the execution is finished).
  bool Start() {
    CancellationManager* cm = ctx_->cancellation();
    if (cm == nullptr) return true;
    std::weak_ptr<Execution> weak = weak_from_this();
    const bool ok = cm->Register(
        [weak] {
          if (auto self = weak.lock()) {
            self->Finish(absl::CancelledError(
                "the step was cancelled while a function ran"));
          }
        },
        &token_);
    if (!ok) {
      Finish(absl::CancelledError("the step was already cancelled"));
      return false;
    }
    {
      absl::MutexLock lock(&mu_);
      registered_ = true;
    }
    return true;
  }

  void Finish(absl::StatusOr<Values> result) {
    OpKernelContext* ctx;
    bool deregister;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
      ctx = ctx_;
      deregister = registered_;
    }
    finished_flag_.store(true, std::memory_order_release);
    if (deregister) ctx->cancellation()->Deregister(token_);
    absl::Status status = result.status();
    if (result.ok()) {
      for (size_t i = 0; i < result->size(); ++i) {
        ctx->set_output(static_cast<int>(i), std::move((*result)[i]));
      }
    }
    AsyncOpKernel::DoneCallback done = std::move(done_);
    std::move(done)(std::move(status));
  }

  bool finished() const {
    return finished_flag_.load(std::memory_order_acquire);
  }
  const Values& inputs() const { return inputs_; }
  absl::Time deadline() const { return deadline_; }

 private:
  absl::Mutex mu_;
  OpKernelContext* ctx_;
  AsyncOpKernel::DoneCallback done_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> finished_flag_{false};
  CancellationManager::Token token_ = 0;
  Values inputs_;
  const absl::Time deadline_;
};

Values Slice(const Values& v, size_t begin, size_t n) {
  return Values(v.begin() + begin, v.begin() + begin + n);
}

Values Concat(Values a, const Values& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class CallKernel : public AsyncOpKernel {
 public:
  explicit CallKernel(OpKernelConstruction& c) : AsyncOpKernel(c) {
    runner_ = MakeRunner(c, "function");
  }
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    auto exec = std::make_shared<Execution>(ctx, std::move(done));
    if (!exec->Start()) return;
    runner_->Run(
        exec->inputs(), exec->deadline(),
        [exec](absl::StatusOr<Values> r) { exec->Finish(std::move(r)); });
  }

 private:
  std::unique_ptr<FunctionRunner> runner_;
};

class CondKernel : public AsyncOpKernel {
 public:
  explicit CondKernel(OpKernelConstruction& c) : AsyncOpKernel(c) {
    c.SetStatus(c.GetAttr("num_args", &num_args_));
    then_ = MakeRunner(c, "then_function");
    else_ = MakeRunner(c, "else_function");
  }
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    auto exec = std::make_shared<Execution>(ctx, std::move(done));
    if (!exec->Start()) return;
    const Values& in = exec->inputs();
    const bool pred = in[0].values<bool>()[0];
    const size_t nt = then_->function().capture_specs.size();
    const size_t ne = else_->function().capture_specs.size();
    const size_t n = static_cast<size_t>(num_args_);
    Values args = Slice(in, 1, n);
    Values inputs = pred ? Concat(std::move(args), Slice(in, 1 + n, nt))
                         : Concat(std::move(args), Slice(in, 1 + n + nt, ne));
    (pred ? then_ : else_)
        ->Run(std::move(inputs), exec->deadline(),
              [exec](absl::StatusOr<Values> r) { exec->Finish(std::move(r)); });
  }

 private:
  int64_t num_args_ = 0;
  std::unique_ptr<FunctionRunner> then_, else_;
};

// One execution of a While loop: cond, body, cond, ... each a nested run.
// Iterations are driven by a trampoline: a nested run that completes on
// the launching thread returns to the launcher's loop instead of recursing,
// and one that completes later continues on its own thread, so the stack
// never grows with the iteration count.
class Loop : public std::enable_shared_from_this<Loop> {
 public:
  Loop(std::shared_ptr<Execution> exec, const FunctionRunner& cond,
       const FunctionRunner& body, size_t num_vars, int64_t max_iterations,
       std::string node_name)
      : exec_(std::move(exec)),
        cond_(cond),
        body_(body),
        max_iterations_(max_iterations),
        node_name_(std::move(node_name)) {
    const Values& in = exec_->inputs();
    const size_t nc = cond.function().capture_specs.size();
    const size_t nb = body.function().capture_specs.size();
    vars_ = Slice(in, 0, num_vars);
    cond_captures_ = Slice(in, num_vars, nc);
    body_captures_ = Slice(in, num_vars + nc, nb);
  }

  // Launches steps until one is left in flight or the loop finishes.
  void Drive() {
    for (;;) {
      if (exec_->finished()) return;
      if (exec_->deadline() != absl::InfiniteFuture() &&
          absl::Now() >= exec_->deadline()) {
        exec_->Finish(absl::DeadlineExceededError(
            absl::StrCat("the run's deadline passed after ", iterations_,
                         " iteration(s) of the loop")));
        return;
      }
      sync_.store(kLaunching, std::memory_order_release);
      const bool in_cond = in_cond_;
      const FunctionRunner& runner = in_cond ? cond_ : body_;
      Values inputs = Concat(vars_, in_cond ? cond_captures_ : body_captures_);
      std::shared_ptr<Loop> self = shared_from_this();
      runner.Run(
          std::move(inputs), exec_->deadline(),
          [self](absl::StatusOr<Values> r) {
            const bool more = self->Advance(std::move(r));
            self->more_ = more;
            if (self->sync_.exchange(kCompleted, std::memory_order_acq_rel) ==
                kLaunching) {
              return;  // The launcher's loop continues.
            }
            if (more) self->Drive();
          });
      if (sync_.exchange(kIdle, std::memory_order_acq_rel) != kCompleted) {
        return;  // In flight; its callback continues the loop.
      }
      if (!more_) return;
    }
  }

 private:
  static constexpr int kIdle = 0, kLaunching = 1, kCompleted = 2;

  // Takes one step's result; true if another step should run.
  bool Advance(absl::StatusOr<Values> r) {
    if (!r.ok()) {
      exec_->Finish(r.status());
      return false;
    }
    if (in_cond_) {
      if (!(*r)[0].values<bool>()[0]) {
        exec_->Finish(vars_);
        return false;
      }
      if (max_iterations_ >= 0 && iterations_ >= max_iterations_) {
        exec_->Finish(absl::OutOfRangeError(absl::StrCat(
            "While ", Quoted(node_name_), " reached its max_iterations (",
            max_iterations_, ") with the condition ",
            cond_.function().Describe(),
            " still true; raise WhileOptions::max_iterations or fix the "
            "condition")));
        return false;
      }
      in_cond_ = false;
    } else {
      vars_ = *std::move(r);
      ++iterations_;
      in_cond_ = true;
    }
    return true;
  }

  const std::shared_ptr<Execution> exec_;
  const FunctionRunner& cond_;
  const FunctionRunner& body_;
  const int64_t max_iterations_;
  const std::string node_name_;
  // Touched by one step at a time: each step's callback happens after its
  // launch (RunAsync's ordering) and the sync_ exchange orders the
  // launcher's next reads after the callback's writes.
  Values vars_, cond_captures_, body_captures_;
  bool in_cond_ = true;
  int64_t iterations_ = 0;
  bool more_ = false;
  std::atomic<int> sync_{kIdle};
};

class WhileKernel : public AsyncOpKernel {
 public:
  explicit WhileKernel(OpKernelConstruction& c) : AsyncOpKernel(c) {
    c.SetStatus(c.GetAttr("num_args", &num_vars_));
    c.SetStatus(c.GetAttr("max_iterations", &max_iterations_));
    cond_ = MakeRunner(c, "cond_function");
    body_ = MakeRunner(c, "body_function");
  }
  void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const override {
    auto exec = std::make_shared<Execution>(ctx, std::move(done));
    if (!exec->Start()) return;
    auto loop = std::make_shared<Loop>(exec, *cond_, *body_,
                                       static_cast<size_t>(num_vars_),
                                       max_iterations_, node().name());
    loop->Drive();
  }

 private:
  int64_t num_vars_ = 0;
  int64_t max_iterations_ = -1;
  std::unique_ptr<FunctionRunner> cond_, body_;
};

}  // namespace

void RegisterControlFlowKernels(KernelRegistry& r) {
  for (DType dt : kAllDTypes) {
    for (auto [op, factory] : {std::pair<const char*, KernelFactory>{
                                   "Call", MakeKernelFactory<CallKernel>()},
                               {"Cond", MakeKernelFactory<CondKernel>()},
                               {"While", MakeKernelFactory<WhileKernel>()}}) {
      MustRegister(r, {.op = op,
                       .dtype = dt,
                       .factory = factory,
                       .cost = KernelCost::kExpensive,
                       .label = "function"});
    }
  }
}

}  // namespace kernels_internal
}  // namespace weft
