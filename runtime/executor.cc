// The executor: per-run state, scheduling on devices, asynchronous steps,
// completion. Plan compilation is plan_compiler.cc; devices are device.cc;
// RunMetadata and the Chrome trace are trace_writer.cc.
#include "runtime/executor.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "kernels/step_env.h"
#include "runtime/timer.h"

namespace weft {

void RunTracker::Begin() { in_flight_.fetch_add(1, std::memory_order_relaxed); }

void RunTracker::End() {
  // Not the last run: a plain decrement (a waiter cannot see zero).
  int n = in_flight_.load(std::memory_order_relaxed);
  while (n > 1) {
    if (in_flight_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
      return;
    }
  }
  // Maybe the last: decrement under the mutex. A waiter evaluates its
  // condition holding the mutex, so it sees zero (and may destroy the
  // tracker) only after this thread has released it and is done with the
  // tracker. (Decrementing first and locking after let the waiter return
  // and the Session free the mutex while this thread was still locking it.)
  absl::MutexLock lock(&mu_);
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
}

void RunTracker::WaitForNone() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::atomic<int>* n) {
        return n->load(std::memory_order_acquire) == 0;
      },
      &in_flight_));
}

namespace {

// Cheap steps between two deadline checks on one thread (expensive steps
// always check).
constexpr int kDeadlineCheckInterval = 64;
// Inline capacity of a task's ready stack; more spills to the heap.
constexpr int kInlineReady = 8;

using ReadyList = absl::InlinedVector<int32_t, kInlineReady>;

std::atomic<int64_t> g_next_step_id{1};

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

absl::Status DeadlineError() {
  return absl::DeadlineExceededError(
      "Session::Run passed its deadline; the run was cancelled");
}

}  // namespace

absl::Status CallerCancelledError(const absl::Status& reason) {
  constexpr std::string_view kCancelled =
      "Session::Run was cancelled by the caller through "
      "RunOptions::cancellation";
  if (reason.ok()) return absl::CancelledError(kCancelled);
  // The reason's code and payloads are kept.
  return internal::WithPrefix(reason, reason.message().empty()
                                          ? std::string(kCancelled)
                                          : absl::StrCat(kCancelled, ": "));
}

namespace {

// Frames a plan keeps pooled: up to kMaxPooledFrames, and no more than
// kPooledFrameBytes of them (but always one, however large the plan).
constexpr size_t kMaxPooledFrames = 8;
constexpr size_t kPooledFrameBytes = size_t{8} << 20;

size_t MaxPooledFrames(const CompiledPlan& plan) {
  const size_t bytes =
      static_cast<size_t>(plan.num_value_slots) * sizeof(NDArray) +
      plan.nodes.size() * sizeof(std::atomic<int32_t>);
  return std::clamp<size_t>(kPooledFrameBytes / std::max<size_t>(bytes, 1), 1,
                            kMaxPooledFrames);
}

// A frame for a new run of `plan`: pooled or new, with the joins' pending
// counts set.
std::unique_ptr<RunFrame> TakeFrame(const CompiledPlan& plan) {
  std::unique_ptr<RunFrame> f = plan.frames.Take();
  if (f == nullptr) {
    f = std::make_unique<RunFrame>();
    f->values.resize(plan.num_value_slots);
    f->pending.reset(new std::atomic<int32_t>[plan.nodes.size()]);
  }
  for (const int32_t j : plan.joins) {
    f->pending[j].store(plan.nodes[j].pending, std::memory_order_relaxed);
  }
  return f;
}

}  // namespace

std::unique_ptr<RunFrame> RunFramePool::Take() {
  absl::MutexLock lock(&mu_);
  if (free_.empty()) return nullptr;
  std::unique_ptr<RunFrame> f = std::move(free_.back());
  free_.pop_back();
  return f;
}

void RunFramePool::Give(std::unique_ptr<RunFrame> frame, size_t max_frames) {
  {
    absl::MutexLock lock(&mu_);
    if (free_.size() < max_frames) {
      free_.push_back(std::move(frame));
      return;
    }
  }
  // Freed here, outside the lock.
}

namespace {

// Everything one run owns. Shared by the caller and every task of the run.
struct RunState {
  RunState(std::shared_ptr<const CompiledPlan> p, const ExecutorEnv& e,
           const ExecuteOptions& o, RunMetadata* md, ExecuteDone d)
      : plan(std::move(p)),
        env(e),
        step_id(o.step_id != 0
                    ? o.step_id
                    : g_next_step_id.fetch_add(1, std::memory_order_relaxed)),
        deadline(o.deadline),
        collect_stats(o.collect_stats || o.trace),
        trace(o.trace),
        metadata(md),
        caller_cancellation(o.cancellation),
        done(std::move(d)),
        frame(TakeFrame(*plan)),
        pending(frame->pending.get()),
        values(frame->values.data()) {
    env.tracker->Begin();
    step_envs.resize(plan->partition_device.size());
    for (size_t p = 0; p < step_envs.size(); ++p) {
      StepEnv& s = step_envs[p];
      s.step_id = step_id;
      s.deadline = deadline;
      s.cancellation = &cancellation;
      s.rendezvous = env.rendezvous;
      // A partition of another task has no device here (and may be past
      // the end of env.devices, whose remote devices are per plan).
      const size_t index = plan->partition_device[p];
      Device* d = plan->runs_here[p] && index < env.devices.size()
                      ? env.devices[index]
                      : nullptr;
      s.allocator = d != nullptr ? d->allocator() : nullptr;
      s.limits.max_bytes = env.max_allocation_bytes;
    }
    if (collect_stats) timings.resize(plan->nodes.size());
  }
  ~RunState() {
    // Every task and async step is gone. Empty the slots (before the
    // tracker lets the session, and its devices' allocators, go) and pool
    // the frame for the plan's next run.
    if (clean) {
      for (const int32_t slot : plan->kept_slots) values[slot] = NDArray();
    } else {
      for (NDArray& v : frame->values) {
        if (v.valid()) v = NDArray();
      }
    }
    plan->frames.Give(std::move(frame), MaxPooledFrames(*plan));
    env.rendezvous->EndStep(step_id);
    env.tracker->End();
  }

  Device& device(int partition) const {
    return *env.devices[plan->partition_device[partition]];
  }
  // For work of no partition (completing a run that ran nothing).
  Device& first_device() const {
    for (Device* d : env.devices) {
      if (d != nullptr) return *d;
    }
    return *env.devices[0];  // Unreachable: a run has a device here.
  }

  // Records the first error and cancels the step: async kernels waiting on
  // the CancellationManager and Recvs waiting on the rendezvous wake up.
  void Fail(absl::Status s) {
    {
      absl::MutexLock lock(&mu);
      // After completion the outcome is final: a late error (a timer that
      // raced a successful finish) must not cancel what was delivered.
      if (!status.ok() || sealed) return;
      status = s;
    }
    cancellation.Cancel(s);
    env.rendezvous->AbortStep(step_id, std::move(s));
  }
  absl::Status GetStatus() {
    absl::MutexLock lock(&mu);
    return status;
  }

  const std::shared_ptr<const CompiledPlan> plan;
  const ExecutorEnv env;
  const int64_t step_id;
  const absl::Time deadline;
  const bool collect_stats;
  const bool trace;
  RunMetadata* const metadata;
  // RunOptions::cancellation, and this run's registration with it (made
  // before any step runs, removed by Complete).
  CancellationManager* const caller_cancellation;
  CancellationManager::Token caller_token = 0;
  bool caller_registered = false;
  ExecuteDone done;                           // Called once, by Complete.
  absl::InlinedVector<StepEnv, 2> step_envs;  // Per partition.
  CancellationManager cancellation;
  std::unique_ptr<RunFrame> frame;      // Pooled again by ~RunState.
  std::atomic<int32_t>* const pending;  // frame->pending (joins only).
  NDArray* const values;                // frame->values.data().
  // Set by Complete: the run succeeded and every task finished, so every
  // step ran and only plan->kept_slots can still hold values.
  bool clean = false;
  std::atomic<int64_t> outstanding{0};  // Live tasks and async steps.
  std::atomic<bool> completed{false};
  std::atomic<internal::Timer::Id> timer{0};
  int64_t start_ns = 0;
  bool started = false;  // Steps were scheduled (set before any task runs).
  std::vector<internal::StepTiming> timings;

  absl::Mutex mu;
  absl::Status status ABSL_GUARDED_BY(mu);
  bool sealed ABSL_GUARDED_BY(mu) = false;  // The outcome was decided.
};

using RunPtr = std::shared_ptr<RunState>;

void RunTask(const RunPtr& st, int partition, ReadyList stack);

// Completes the run once: cancels the deadline timer, fills metadata (step
// timings only when every task has finished) and calls `done`.
void Complete(const RunPtr& st, bool drained) {
  if (st->completed.exchange(true, std::memory_order_acq_rel)) return;
  if (const internal::Timer::Id t = st->timer.load(); t != 0) {
    internal::Timer::Global().Cancel(t);
  }
  // Without waiting: a caller's Cancel running our callback right now
  // finds the run completed (the callback holds only a weak reference).
  if (st->caller_registered) {
    st->caller_cancellation->TryDeregister(st->caller_token);
  }
  absl::Status status;
  {
    absl::MutexLock lock(&st->mu);
    status = st->status;
    st->sealed = true;
  }
  st->clean = drained && status.ok() && !st->cancellation.cancelled();
  const CompiledPlan& plan = *st->plan;
  if (st->metadata != nullptr && drained && st->started && st->collect_stats) {
    internal::FillRunMetadata(plan, st->timings, st->start_ns, NowNs(),
                              st->trace, *st->metadata);
  }
  if (!status.ok()) {
    std::move(st->done)(std::move(status));
    return;
  }
  std::vector<NDArray> out;
  out.reserve(plan.fetch_slots.size());
  for (int32_t slot : plan.fetch_slots) out.push_back(st->values[slot]);
  std::move(st->done)(std::move(out));
}

// Schedules a task for `nodes` on `partition`'s device; the caller has
// counted it in `outstanding` (ScheduleCounted) or counts it here.
void ScheduleCounted(const RunPtr& st, int partition, ReadyList nodes) {
  st->device(partition).Schedule([st, partition, nodes = std::move(nodes)] {
    RunTask(st, partition, nodes);
  });
}

void Schedule(const RunPtr& st, int partition, ReadyList nodes) {
  st->outstanding.fetch_add(1, std::memory_order_relaxed);
  st->device(partition).Schedule([st, partition, nodes = std::move(nodes)] {
    RunTask(st, partition, nodes);
  });
}

void FinishTask(const RunPtr& st) {
  if (st->outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    Complete(st, /*drained=*/true);
  }
}

// The value read by input entry `k` of the plan: moved out of its slot when
// this is the slot's last use, else a new reference to the same array.
inline NDArray TakeInput(RunState& st, int32_t k) {
  NDArray& v = st.values[st.plan->input_slots[k]];
  return st.plan->input_is_last_use[k] ? std::move(v) : v;
}

// NDArray::Matches for the hot path: `rank` comes from the PlanNode, so a
// scalar output is checked without reading the inferred Shape. The three
// scalar checks are combined without short-circuiting (one branch on the
// hot path instead of three).
inline bool OutputMatches(const NDArray& v, DType dtype, int rank,
                          const Shape& shape) {
  const bool plain =
      v.valid() & (v.dtype() == dtype) & (v.shape().rank() == rank);
  return plain && (rank == 0 || shape.IsCompatibleWith(v.shape()));
}

// The out-of-line part of CheckOutputs: outputs 1.. and the error.
ABSL_ATTRIBUTE_NOINLINE bool CheckOutputsSlow(RunState& st, const PlanNode& n,
                                              absl::Span<const NDArray> out) {
  const Node& node = *n.node;
  for (int i = 0; i < n.num_outputs; ++i) {
    const NDArray& v = out[i];
    const DType dtype = i == 0 ? n.out_dtype : node.output_dtypes()[i];
    const Shape& shape = i == 0 ? *n.out_shape : node.output_shapes()[i];
    if (v.Matches(dtype, shape)) continue;
    st.Fail(
        NodeError(node, st.plan->partitioned.graph, absl::StatusCode::kInternal,
                  ErrorKind::kKernel,
                  absl::StrCat("the kernel produced ",
                               v.valid() ? absl::StrCat(DTypeName(v.dtype()),
                                                        v.shape().DebugString())
                                         : "no value",
                               " for output ", i, " but the graph inferred ",
                               DTypeName(dtype), shape.DebugString())));
    return false;
  }
  return true;
}

// Checks a kernel's outputs against what the graph inferred. False (the run
// failed) on a mismatch. The common case, one output, reads only the plan
// node (output 0's dtype and rank are copied there) and, for a scalar, not
// even the inferred shape: on large graphs each Node is a cache miss.
inline bool CheckOutputs(RunState& st, const PlanNode& n,
                         absl::Span<const NDArray> out) {
  if (ABSL_PREDICT_TRUE(
          n.num_outputs == 1 &&
          OutputMatches(out[0], n.out_dtype, n.out_rank, *n.out_shape))) {
    return true;
  }
  return CheckOutputsSlow(st, n, out);
}

// Checks outputs computed elsewhere (an async step's) and stores them in
// the run's value slots.
bool StoreOutputs(RunState& st, const PlanNode& n, absl::Span<NDArray> out) {
  if (!CheckOutputs(st, n, out)) return false;
  for (int i = 0; i < n.num_outputs; ++i) {
    st.values[n.output_slot + i] = std::move(out[i]);
  }
  return true;
}

void FailKernel(RunState& st, const PlanNode& n, const absl::Status& s,
                bool allocation_failed) {
  st.Fail(
      NodeError(*n.node, st.plan->partitioned.graph, s.code(),
                allocation_failed ? ErrorKind::kAllocation : ErrorKind::kKernel,
                s.message()));
}

enum class StepResult { kDone, kFailed, kPending };

// An asynchronous step in flight: an AsyncOpKernel or a Recv. Its inputs,
// outputs and context live here until its completion is processed.
struct AsyncStep {
  AsyncStep(RunPtr s, int32_t i, int num_inputs, int num_outputs)
      : st(std::move(s)),
        id(i),
        in(num_inputs),
        out(num_outputs),
        ctx(*st->plan->nodes[i].node, absl::MakeSpan(in), absl::MakeSpan(out),
            st->step_envs[st->plan->nodes[i].partition]) {}

  RunPtr st;
  const int32_t id;
  absl::InlinedVector<NDArray, 4> in;
  absl::InlinedVector<NDArray, 2> out;
  OpKernelContext ctx;
  absl::Status status;
  // 0: the start call is running; 1: it returned first; 2: done came first
  // (inside the start call), so its caller continues inline.
  std::atomic<int> phase{0};
};

// Stores an async step's results; false if the run failed.
bool FinishAsync(AsyncStep& a) {
  RunState& st = *a.st;
  const PlanNode& n = st.plan->nodes[a.id];
  if (!a.status.ok()) {
    if (n.kind == PartitionItem::Kind::kRecv) {
      st.Fail(a.status);  // Already the step's abort status, or a transfer
                          // error naming its key.
    } else {
      FailKernel(st, n, a.status, a.ctx.allocation_failed());
    }
    return false;
  }
  if (n.kind == PartitionItem::Kind::kRecv) {
    // The value was checked when its producer ran.
    if (n.output_slot >= 0) st.values[n.output_slot] = std::move(a.out[0]);
    return true;
  }
  return StoreOutputs(st, n, absl::MakeSpan(a.out));
}

// Decrements the pending count of each successor of step `n` and calls
// `ready(successor)` for those that became ready.
template <typename Ready>
inline void ReleaseSuccessors(RunState& st, const PlanNode& n, Ready&& ready) {
  const CompiledPlan& plan = *st.plan;
  for (int32_t k = 0; k < n.num_succ; ++k) {
    const int32_t s = plan.successors[n.succ_begin + k];
    // A successor with one predecessor is ready now: no atomic needed.
    if (plan.nodes[s].pending != 1 &&
        st.pending[s].fetch_sub(1, std::memory_order_acq_rel) != 1) {
      continue;
    }
    ready(s);
  }
}

// Called when an async step finishes after its start call returned (on the
// thread that called `done`): ready successors are scheduled on their
// partitions' devices, never run on this thread, which may be a producer's
// or the timer's.
void AsyncCompleted(AsyncStep* a) {
  RunPtr st = a->st;  // `a` (and its reference) is deleted below.
  const PlanNode& n = st->plan->nodes[a->id];
  if (st->collect_stats) st->timings[a->id].end = NowNs();
  const bool ok = FinishAsync(*a);
  delete a;
  if (ok && !st->cancellation.cancelled()) {
    absl::InlinedVector<ReadyList, 2> by_partition(
        st->plan->partition_device.size());
    ReleaseSuccessors(*st, n, [&](int32_t s) {
      by_partition[st->plan->nodes[s].partition].push_back(s);
    });
    for (size_t p = 0; p < by_partition.size(); ++p) {
      if (!by_partition[p].empty()) {
        Schedule(st, static_cast<int>(p), std::move(by_partition[p]));
      }
    }
  }
  FinishTask(st);  // The async step's own token.
}

// Starts async step `id`; `start(a, done)` begins the work. kDone when it
// completed inside `start` (the caller continues inline), kPending when
// its completion will come later, kFailed on an inline failure.
template <typename Start>
StepResult StartAsync(const RunPtr& st, int32_t id, int num_inputs,
                      int num_outputs, Start&& start) {
  auto* a = new AsyncStep(st, id, num_inputs, num_outputs);
  const PlanNode& n = st->plan->nodes[id];
  for (int32_t i = 0; i < n.num_inputs; ++i) {
    a->in[i] = TakeInput(*st, n.inputs_begin + i);
  }
  st->outstanding.fetch_add(1, std::memory_order_relaxed);
  start(a, [a](absl::Status s) {
    a->status = std::move(s);
    if (a->phase.exchange(2, std::memory_order_acq_rel) == 0) return;
    AsyncCompleted(a);
  });
  if (a->phase.exchange(1, std::memory_order_acq_rel) != 2) {
    return StepResult::kPending;
  }
  // Completed inline: this thread finishes the step. The running task
  // holds its own token, so this cannot complete the run.
  const bool ok = FinishAsync(*a);
  delete a;
  st->outstanding.fetch_sub(1, std::memory_order_relaxed);
  return ok ? StepResult::kDone : StepResult::kFailed;
}

// What a task reads on every step, loaded once per task: the plan's nodes,
// the run's value slots and the task partition's StepEnv (a step's kernel
// call could otherwise make the compiler reload each of them through
// RunState on every step, lengthening the chain of dependent loads).
struct TaskView {
  RunState& st;
  const CompiledPlan& plan;
  const PlanNode* const nodes;
  NDArray* const values;
  const StepEnv& env;
};

// Calls step `n`'s kernel (its function, else its Compute); false when it
// failed, after failing the run with an error naming the node.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool CallKernel(RunState& st,
                                                    const PlanNode& n,
                                                    OpKernelContext& ctx) {
  if (absl::Status s =
          n.kernel_fn != nullptr ? n.kernel_fn(ctx) : n.kernel->Compute(ctx);
      ABSL_PREDICT_FALSE(!s.ok())) {
    FailKernel(st, n, s, ctx.allocation_failed());
    return false;
  }
  return true;
}

// Runs a synchronous kernel on `in`. Outputs are written straight into the
// run's value slots (each written by this step only), then checked.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline StepResult ComputeSync(
    const TaskView& t, const PlanNode& n, absl::Span<NDArray> in) {
  RunState& st = t.st;
  const absl::Span<NDArray> out(t.values + n.output_slot, n.num_outputs);
  OpKernelContext ctx(*n.node, in, out, t.env);
  if (!CallKernel(st, n, ctx)) return StepResult::kFailed;
  return CheckOutputs(st, n, out) ? StepResult::kDone : StepResult::kFailed;
}

// A one-input step that reads its value for the last time: the kernel gets
// the slot itself (no move in and out), emptied afterwards so that the
// buffer dies as early as with a move. The whole of a simple step
// (PlanNode::simple).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline StepResult ComputeOnLastUse(
    const TaskView& t, const PlanNode& n) {
  NDArray& slot = t.values[n.input0_slot];
  const StepResult r = ComputeSync(t, n, absl::Span<NDArray>(&slot, 1));
  if (slot.valid()) slot = NDArray();
  return r;
}

// Runs step `id` (`n`) of the task's partition.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline StepResult Step(const RunPtr& stp,
                                                    const TaskView& t,
                                                    int32_t id,
                                                    const PlanNode& n) {
  if (ABSL_PREDICT_TRUE(n.simple)) return ComputeOnLastUse(t, n);
  RunState& st = t.st;
  const CompiledPlan& plan = t.plan;
  switch (n.kind) {
    case PartitionItem::Kind::kOp: {
      if (ABSL_PREDICT_FALSE(n.async)) {
        return StartAsync(
            stp, id, n.num_inputs, n.num_outputs,
            [&n](AsyncStep* a, AsyncOpKernel::DoneCallback done) {
              static_cast<const AsyncOpKernel*>(n.kernel)->ComputeAsync(
                  a->ctx, std::move(done));
            });
      }
      // The common one-input case skips the inline vector's bookkeeping.
      if (n.num_inputs == 1) {
        if (n.input0_last_use) return ComputeOnLastUse(t, n);
        NDArray in = t.values[n.input0_slot];
        return ComputeSync(t, n, absl::Span<NDArray>(&in, 1));
      }
      absl::InlinedVector<NDArray, 4> in(n.num_inputs);
      for (int32_t i = 0; i < n.num_inputs; ++i) {
        in[i] = TakeInput(st, n.inputs_begin + i);
      }
      return ComputeSync(t, n, absl::MakeSpan(in));
    }
    case PartitionItem::Kind::kFeed:
      return StepResult::kDone;
    case PartitionItem::Kind::kSend: {
      const Transfer& t = plan.partitioned.transfers[n.transfer];
      NDArray value =
          n.num_inputs > 0 ? TakeInput(st, n.inputs_begin) : NDArray();
      if (absl::Status s =
              st.env.rendezvous->Send(st.step_id, t.key, std::move(value));
          !s.ok()) {
        st.Fail(std::move(s));
        return StepResult::kFailed;
      }
      return StepResult::kDone;
    }
    case PartitionItem::Kind::kRecv: {
      const Transfer& t = plan.partitioned.transfers[n.transfer];
      return StartAsync(
          stp, id, 0, n.num_outputs,
          [&st, &t](AsyncStep* a, AsyncOpKernel::DoneCallback done) {
            st.env.rendezvous->RecvAsync(
                st.step_id, t.key,
                [a, done = std::move(done)](absl::StatusOr<NDArray> v) mutable {
                  if (v.ok() && !a->out.empty()) a->out[0] = *std::move(v);
                  std::move(done)(v.ok() ? absl::OkStatus() : v.status());
                });
          });
    }
  }
  return StepResult::kFailed;
}

// RunTaskLoop's stages. Those on the per-step path are forced inline: they
// name the loop's steps without changing the compiled loop (a call per step
// would cost more than the 8-9 ns a chain step takes; see docs/perf.md).
// SpillExpensive runs only when an expensive step is ready and, like the
// lambda it replaced, is left to the compiler (out of line in practice).

// Hands every step in `expensive` to the device as a task of its own,
// except one that the task keeps (in `kept`, if it keeps none yet) and runs
// as soon as nothing cheap is ready. Afterwards `expensive` is empty.
// Handing every one to the device instead let a caller that runs its first
// partition inline leave with its heavy work queued for the workers: with
// 64 concurrent Session::Run callers all of it ran on the workers while the
// callers' own arena slot sat idle (one core of two busy).
inline void SpillExpensive(const RunPtr& st, int partition,
                           ReadyList& expensive, int32_t& kept) {
  if (kept < 0) {
    kept = expensive.back();
    expensive.pop_back();
  }
  for (int32_t e : expensive) Schedule(st, partition, {e});
  expensive.clear();
}

// Moves the expensive roots out of `stack` (which keeps the cheap ones in
// order) and spills them. No temporary buffer, unlike std::stable_partition.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void SplitOffExpensiveRoots(
    const RunPtr& st, int partition, ReadyList& stack, ReadyList& expensive,
    int32_t& kept) {
  if (stack.size() <= 1) return;
  const CompiledPlan& plan = *st->plan;
  size_t cheap = 0;
  for (const int32_t id : stack) {
    if (plan.nodes[id].expensive) {
      expensive.push_back(id);
    } else {
      stack[cheap++] = id;
    }
  }
  stack.resize(cheap);
  if (!expensive.empty()) SpillExpensive(st, partition, expensive, kept);
}

// The next step to run: the cheap successor the last step readied, else the
// top of the stack, else the kept expensive step; false when none is ready.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool PopReady(int32_t& next,
                                                  ReadyList& stack,
                                                  int32_t& kept, int32_t& id) {
  id = next;
  if (id >= 0) {
    next = -1;
  } else if (!stack.empty()) {
    id = stack.back();
    stack.pop_back();
  } else if (kept >= 0) {
    id = kept;
    kept = -1;
  } else {
    return false;
  }
  return true;
}

// Runs step `id` and, while the step just run is a link of a straight chain
// (chain_next), its successor: a chain stays in this loop. Stops before a
// step when the run is cancelled or (kInstrumented, with a deadline) past
// its deadline. Returns the last step's result; `n` is the last step run.
template <bool kInstrumented>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline StepResult RunChain(
    const RunPtr& st, const TaskView& view, bool check_deadline,
    bool collect_stats, int& steps, int32_t id, const PlanNode*& n) {
  StepResult r;
  for (;;) {
    if (ABSL_PREDICT_FALSE(st->cancellation.cancelled())) {
      return StepResult::kFailed;
    }
    n = &view.nodes[id];
    if (check_deadline &&
        (n->expensive || (++steps % kDeadlineCheckInterval) == 0) &&
        absl::Now() > st->deadline) {
      st->Fail(DeadlineError());
      Complete(st, /*drained=*/false);
      return StepResult::kFailed;
    }
    const int64_t t0 = collect_stats ? NowNs() : 0;
    r = Step(st, view, id, *n);
    if (collect_stats && r != StepResult::kFailed) {
      st->timings[id].start = t0;
      if (r == StepResult::kDone) st->timings[id].end = NowNs();
    }
    if (r != StepResult::kDone || n->chain_next < 0) return r;
    id = n->chain_next;
  }
}

// Routes each successor of `n` that became ready: another partition's to a
// task on its device, an expensive one to `expensive`, the first cheap one
// to `next` (run next without touching the stack), later cheap ones to the
// stack.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void RouteReadySuccessors(
    const RunPtr& st, int partition, const PlanNode& n, int32_t& next,
    ReadyList& stack, ReadyList& expensive) {
  const CompiledPlan& plan = *st->plan;
  ReleaseSuccessors(*st, n, [&](int32_t s) {
    const PlanNode& sn = plan.nodes[s];
    if (sn.partition != partition) {
      Schedule(st, sn.partition, {s});
    } else if (sn.expensive) {
      expensive.push_back(s);
    } else if (next < 0) {
      next = s;
    } else {
      stack.push_back(s);
    }
  });
}

// RunTask's loop. kInstrumented: the run has a deadline or collects step
// timings; the common run has neither and checks for them once per task,
// not once per step.
template <bool kInstrumented>
void RunTaskLoop(const RunPtr& st, int partition, ReadyList stack) {
  const CompiledPlan& plan = *st->plan;
  const TaskView view{*st, plan, plan.nodes.data(), st->values,
                      st->step_envs[partition]};
  const bool check_deadline =
      kInstrumented && st->deadline != absl::InfiniteFuture();
  const bool collect_stats = kInstrumented && st->collect_stats;
  ReadyList expensive;
  int32_t next = -1;  // A cheap successor readied by the last step.
  int32_t kept = -1;  // The expensive step this task runs itself.
  int steps = 0;      // Cheap steps since the task started (deadline checks).
  SplitOffExpensiveRoots(st, partition, stack, expensive, kept);
  int32_t id;
  while (PopReady(next, stack, kept, id)) {
    const PlanNode* n;
    const StepResult r = RunChain<kInstrumented>(st, view, check_deadline,
                                                 collect_stats, steps, id, n);
    if (ABSL_PREDICT_FALSE(r == StepResult::kFailed)) break;
    if (ABSL_PREDICT_FALSE(r == StepResult::kPending)) continue;
    RouteReadySuccessors(st, partition, *n, next, stack, expensive);
    if (!expensive.empty()) SpillExpensive(st, partition, expensive, kept);
  }
  FinishTask(st);
}

void RunTask(const RunPtr& st, int partition, ReadyList stack) {
  if (st->deadline != absl::InfiniteFuture() || st->collect_stats) {
    RunTaskLoop<true>(st, partition, std::move(stack));
  } else {
    RunTaskLoop<false>(st, partition, std::move(stack));
  }
}

}  // namespace

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return int64_t{1} << 40;
  return static_cast<int64_t>(pages) * page_size;
}

namespace {

// ExecutePlanAsync's stages, in order.

// Resets `metadata` (nothing stale from an earlier run) and fills the
// plan's fields, which a run that times out keeps.
void ResetMetadata(const CompiledPlan& plan, RunMetadata* metadata) {
  if (metadata == nullptr) return;
  *metadata = RunMetadata();
  metadata->num_partitions =
      static_cast<int>(plan.partitioned.partitions.size());
  metadata->num_transfers = static_cast<int>(plan.partitioned.transfers.size());
  metadata->partition_dump = plan.dump;
}

// Completes a run that runs no step (failed before starting, or nothing to
// run) from a device thread, like any other run: one token, one task.
void FinishWithoutSteps(const RunPtr& st) {
  st->outstanding.store(1, std::memory_order_relaxed);
  st->first_device().Schedule([st] { FinishTask(st); });
}

// Registers the run with the caller's CancellationManager, if any, before
// any step can run. False (and the run failed and finishing) when it was
// already cancelled. caller_registered is set first: a Cancel on another
// thread may complete the run (and read it) before Register returns.
bool RegisterCallerCancellation(const RunPtr& st) {
  CancellationManager* cm = st->caller_cancellation;
  if (cm == nullptr) return true;
  st->caller_registered = true;
  std::weak_ptr<RunState> weak = st;
  if (cm->Register(
          [weak, cm] {
            if (RunPtr run = weak.lock()) {
              run->Fail(CallerCancelledError(cm->status()));
              Complete(run, /*drained=*/false);
            }
          },
          &st->caller_token)) {
    return true;
  }
  st->caller_registered = false;
  st->Fail(CallerCancelledError(cm->status()));
  FinishWithoutSteps(st);
  return false;
}

// Arms the deadline timer for a finite `deadline`. False (and the run
// failed and finishing) when the deadline already passed, say while the
// plan was being compiled: such a run does no work at all.
bool ArmDeadline(const RunPtr& st, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return true;
  if (absl::Now() >= deadline) {
    st->Fail(absl::DeadlineExceededError(
        "Session::Run passed its deadline before any step ran"));
    FinishWithoutSteps(st);
    return false;
  }
  std::weak_ptr<RunState> weak = st;
  st->timer = internal::Timer::Global().Schedule(deadline, [weak] {
    if (RunPtr run = weak.lock()) {
      run->Fail(DeadlineError());
      Complete(run, /*drained=*/false);
    }
  });
  return true;
}

// Schedules one task per partition with roots, except that with
// caller_runs_inline (or run_on_calling_thread) the caller runs the first
// such partition: on its device, or (run_on_calling_thread) directly on
// this thread. The tasks were counted in `outstanding` already.
void StartPartitions(const RunPtr& st, const ExecuteOptions& options) {
  const CompiledPlan& p = *st->plan;
  st->started = true;
  int mine = -1;
  for (size_t part = 0; part < p.roots.size(); ++part) {
    if (p.roots[part].empty() || !p.runs_here[part]) continue;
    if ((options.caller_runs_inline || options.run_on_calling_thread) &&
        mine < 0) {
      mine = static_cast<int>(part);
      continue;
    }
    ScheduleCounted(st, static_cast<int>(part),
                    ReadyList(p.roots[part].begin(), p.roots[part].end()));
  }
  if (mine >= 0 && options.run_on_calling_thread) {
    RunTask(st, mine, ReadyList(p.roots[mine].begin(), p.roots[mine].end()));
  } else if (mine >= 0) {
    st->device(mine).Execute([&] {
      RunTask(st, mine, ReadyList(p.roots[mine].begin(), p.roots[mine].end()));
    });
  }
}

}  // namespace

void ExecutePlanAsync(std::shared_ptr<const CompiledPlan> plan,
                      const ExecutorEnv& env, std::vector<NDArray> feeds,
                      const ExecuteOptions& options, RunMetadata* metadata,
                      ExecuteDone done) {
  ResetMetadata(*plan, metadata);
  auto st = std::make_shared<RunState>(std::move(plan), env, options, metadata,
                                       std::move(done));
  const CompiledPlan& p = *st->plan;
  if (st->collect_stats) st->start_ns = NowNs();
  for (size_t i = 0; i < feeds.size() && i < p.feed_slots.size(); ++i) {
    if (p.feed_slots[i] >= 0) st->values[p.feed_slots[i]] = std::move(feeds[i]);
  }
  if (!RegisterCallerCancellation(st)) return;
  // Each partition with roots is one task, counted up front so that no
  // task can finish the run before the others are scheduled.
  int num_root_tasks = 0;
  for (size_t part = 0; part < p.roots.size(); ++part) {
    num_root_tasks += !p.roots[part].empty() && p.runs_here[part];
  }
  st->outstanding.store(std::max(num_root_tasks, 1), std::memory_order_relaxed);
  if (num_root_tasks == 0) {
    FinishWithoutSteps(st);  // Nothing to run.
    return;
  }
  if (!ArmDeadline(st, options.deadline)) return;
  StartPartitions(st, options);
}

}  // namespace weft
