// executor.h — defines weft::CompiledPlan, the immutable flat form of a
// partitioned graph (nodes, successor lists, initial pending counts, value
// slots), weft::CompilePlan, weft::DeviceSet (one oneTBB task_arena per
// device), and weft::ExecutePlan, which runs a plan with per-run state.
#ifndef WEFT_RUNTIME_EXECUTOR_H_
#define WEFT_RUNTIME_EXECUTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "graph/ndarray.h"
#include "graph/node.h"
#include "kernels/kernel.h"
#include "oneapi/tbb/task_arena.h"
#include "runtime/partitioner.h"
#include "runtime/run_metadata.h"

namespace weft {

// One schedulable step.
struct PlanNode {
  enum class Kind : uint8_t { kKernel, kFeed, kSend, kRecv };
  Kind kind = Kind::kKernel;
  bool expensive = false;
  int32_t partition = 0;
  const Node* node = nullptr;  // kKernel/kFeed; Send/Recv: the source node.
  KernelFn fn = nullptr;
  int32_t inputs_begin = 0;  // Into CompiledPlan::input_slots.
  int32_t num_inputs = 0;
  int32_t succ_begin = 0;  // Into CompiledPlan::successors.
  int32_t num_succ = 0;
  int32_t pending = 0;       // Initial count of unfinished predecessors.
  int32_t output_slot = -1;  // Value slot of output 0 (Recv: the received).
  int32_t transfer = -1;     // Send/Recv: rendezvous slot.
  // The inferred output 0, copied here so the hot path checks a kernel's
  // result without touching the Node (a cache miss on large graphs).
  DType out_dtype = DType::kFloat32;
  int32_t out_rank = 0;
  const Shape* out_shape = nullptr;
};

// An immutable, compiled plan; runs any number of times concurrently.
//
// Thread safety: immutable after CompilePlan; share freely.
struct CompiledPlan {
  PartitionedGraph partitioned;
  std::vector<PlanNode> nodes;
  std::vector<int32_t> input_slots;
  // Parallel to input_slots: 1 when this read is the slot's only use in the
  // run (one consumer, not fetched), so the step moves the value out of the
  // slot instead of copying it, and its buffer dies as early as possible.
  std::vector<uint8_t> input_is_last_use;
  std::vector<int32_t> successors;
  int32_t num_value_slots = 0;
  std::vector<int32_t> feed_slots;          // Per feed, its value slot.
  std::vector<int32_t> fetch_slots;         // Per fetch, its value slot.
  std::vector<std::vector<int32_t>> roots;  // Per partition.
  std::vector<int> partition_device;        // Partition -> DeviceSet index.
  std::string dump;                         // partitioned.DebugString().
};

// Compiles the pruned, partitioned graph for (feeds, fetches). Errors name
// the node and where it was defined: an unfed Placeholder ("feed"), a missing
// kernel ("missing_kernel"); plus the partitioner's errors.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledPlan>> CompilePlan(
    const Graph& graph, absl::Span<const Tensor> feeds,
    absl::Span<const Tensor> fetches, const std::vector<std::string>& devices);

// One oneTBB task_arena per device.
//
// Thread safety: arenas are thread-safe; the set is immutable after
// construction.
class DeviceSet {
 public:
  DeviceSet(std::vector<std::string> names, int num_threads);
  ~DeviceSet();
  DeviceSet(const DeviceSet&) = delete;
  DeviceSet& operator=(const DeviceSet&) = delete;

  const std::vector<std::string>& names() const { return names_; }
  tbb::task_arena& arena(int i) const { return *arenas_[i]; }

  // Runs (including work outliving a timed-out call) register here; the
  // destructor waits until none is left.
  void BeginRun() const;
  void EndRun() const;

 private:
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<tbb::task_arena>> arenas_;
  mutable absl::Mutex mu_;
  mutable int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

struct ExecuteOptions {
  absl::Time deadline = absl::InfiniteFuture();
  bool collect_stats = false;
  bool trace = false;
};

// Runs `plan` on `devices` with `feeds` (one per plan feed slot) and returns
// the fetched values. Per-run state lives in a fresh object, never in the
// plan. The first error of any partition cancels the others and is returned
// (kernel errors name the node and its definition site); passing the
// deadline returns kDeadlineExceeded (a deadline already passed on entry runs
// nothing). Work in flight may outlast a timed-out
// call; it holds the per-run state alive and is counted by
// devices.BeginRun/EndRun, so destroying the DeviceSet waits for it.
[[nodiscard]] absl::StatusOr<std::vector<NDArray>> ExecutePlan(
    std::shared_ptr<const CompiledPlan> plan, const DeviceSet& devices,
    std::vector<NDArray> feeds, const ExecuteOptions& options,
    RunMetadata* metadata);

}  // namespace weft

#endif  // WEFT_RUNTIME_EXECUTOR_H_
