// executor.h — defines weft::ExecutePlanAsync, which runs a CompiledPlan once
// with per-run state (pending counters, value slots, a CancellationManager)
// on a Session's devices, and the small types it needs. Internal to
// runtime/: Session is the public entry point.
//
// Scheduling: ready steps run on their partition's Device with dependency
// counting; cheap kernels run inline on the thread that made them ready,
// expensive ones get a task of their own; an asynchronous kernel (or a
// Recv) returns its thread and its completion schedules its successors.
// The run completes — `done` is called exactly once — when every step has
// finished, or earlier on the deadline or on an error once every task has
// stopped. Work still in flight after an early completion holds the run's
// state alive and is counted by RunTracker, so a Session can wait for it.
#ifndef WEFT_RUNTIME_EXECUTOR_H_
#define WEFT_RUNTIME_EXECUTOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "graph/ndarray.h"
#include "kernels/cancellation.h"
#include "runtime/device.h"
#include "runtime/plan.h"
#include "runtime/rendezvous.h"
#include "runtime/run_metadata.h"

namespace weft {

// Counts runs with work in flight; WaitForNone blocks until there are none.
//
// Thread safety: all methods may be called concurrently.
class RunTracker {
 public:
  void Begin();
  void End();
  void WaitForNone();

 private:
  // Begin/End are an atomic add each; End takes `mu_` to bring the count
  // from one to zero, so that WaitForNone's Await re-checks its condition
  // and cannot return before End has let go of `mu_`.
  absl::Mutex mu_;
  std::atomic<int> in_flight_{0};
};

// What a run executes on (owned by the Session; outlives the run).
struct ExecutorEnv {
  // Indexed like CompiledPlan's devices; null for a device of another task
  // (whose partitions do not run here).
  std::vector<Device*> devices;
  Rendezvous* rendezvous = nullptr;
  RunTracker* tracker = nullptr;
  int64_t max_allocation_bytes = 0;
};

struct ExecuteOptions {
  absl::Time deadline = absl::InfiniteFuture();
  bool collect_stats = false;
  bool trace = false;
  // The caller's thread runs its first partition before it waits (Run
  // without a deadline). Never with a finite deadline or a cancellation: a
  // slow step on the calling thread could not be abandoned on time.
  bool caller_runs_inline = false;
  // The calling thread runs its first partition directly, not inside the
  // device's arena, with or without a deadline (a timer still fails the
  // run on time). For nested runs started by a kernel that is already on
  // a worker thread (internal::PreparedRun).
  bool run_on_calling_thread = false;
  // The caller's cancellation (RunOptions::cancellation): its Cancel fails
  // the run with CallerCancelledError and completes it at once, like a
  // deadline. Deregistered when the run completes.
  CancellationManager* cancellation = nullptr;
  // The step's id in the rendezvous; 0 = the next of this process's
  // counter. A cluster run passes the id it gave every task of the step.
  int64_t step_id = 0;
};

// The machine's physical memory in bytes (1 TiB if unknown): the default
// of ExecutorEnv::max_allocation_bytes for a Session and a Server.
int64_t PhysicalMemoryBytes();

// The run's error when `cancellation` (RunOptions::cancellation) was
// cancelled with `reason`: reason's code (kCancelled if it was OK) and
// payloads, a message naming RunOptions::cancellation and reason's message.
absl::Status CallerCancelledError(const absl::Status& reason);

using ExecuteDone =
    absl::AnyInvocable<void(absl::StatusOr<std::vector<NDArray>>) &&>;

// Runs the partitions of `plan` that run here (CompiledPlan::runs_here)
// with `feeds` (one per plan feed slot). `done` gets the fetched
// values or the first error (kernel errors name the node and its site;
// past the deadline, kDeadlineExceeded). `metadata`, if not null, must
// outlive `done` and is filled before it is called. `done` runs on a
// device thread, the timer thread or the thread that cancels — or, with
// caller_runs_inline, possibly on the calling thread before ExecutePlanAsync
// returns.
void ExecutePlanAsync(std::shared_ptr<const CompiledPlan> plan,
                      const ExecutorEnv& env, std::vector<NDArray> feeds,
                      const ExecuteOptions& options, RunMetadata* metadata,
                      ExecuteDone done);

namespace internal {
// Per-step timing collected for RunMetadata.
struct StepTiming {
  int64_t start = -1;
  int64_t end = -1;
};
// Fills node_stats, partition times and (with `trace`) the Chrome trace
// JSON of `metadata` (trace_writer.cc).
void FillRunMetadata(const CompiledPlan& plan,
                     const std::vector<StepTiming>& timings, int64_t start_ns,
                     int64_t end_ns, bool trace, RunMetadata& metadata);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_RUNTIME_EXECUTOR_H_
