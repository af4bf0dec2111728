// plan.h — defines weft::CompiledPlan, the immutable flat form of a pruned,
// partitioned graph (steps, successor lists, initial pending counts, value
// slots, and one kernel object per node), weft::CompilePlan, which builds
// it, and weft::RunFramePool, the per-run arrays a plan keeps for reuse.
// Internal to runtime/: users see a plan through Session::GetPlan's
// PlanSummary.
//
// Invariants: steps of a partition are listed in topological order; every
// step's `pending` counts its predecessors in the same partition (a Recv
// has none: it waits on the rendezvous instead); a value slot is written by
// exactly one step per run.
#ifndef WEFT_RUNTIME_PLAN_H_
#define WEFT_RUNTIME_PLAN_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/node.h"
#include "kernels/kernel.h"
#include "runtime/partitioner.h"

namespace weft {

namespace internal {
class RemotePlan;  // runtime/cluster_driver.h
}  // namespace internal

// One schedulable step. Kept small: the executor reads one per step.
struct PlanNode {
  PartitionItem::Kind kind = PartitionItem::Kind::kOp;
  bool expensive = false;
  bool async = false;  // An AsyncOpKernel, or a Recv.
  // A kOp step with one input: whether this read is the slot's last use
  // (input_is_last_use, copied here with input0_slot below: the common
  // one-input step reads nothing but its PlanNode before its kernel).
  bool input0_last_use = false;
  // A synchronous kOp step with one input read for the last time
  // (input0_last_use) and one output: the executor's shortest path.
  bool simple = false;
  int32_t partition = 0;
  const Node* node = nullptr;        // kOp/kFeed; Send/Recv: the source node.
  const OpKernel* kernel = nullptr;  // kOp.
  // kernel->function(), called directly when set (no virtual call).
  KernelFn kernel_fn = nullptr;
  int32_t inputs_begin = 0;  // Into CompiledPlan::input_slots.
  int32_t num_inputs = 0;
  int32_t succ_begin = 0;  // Into CompiledPlan::successors.
  int32_t num_succ = 0;
  int32_t pending = 0;       // Initial count of unfinished predecessors.
  int32_t output_slot = -1;  // Value slot of output 0 (Recv: the received).
  int32_t num_outputs = 0;   // Consecutive slots from output_slot.
  int32_t transfer = -1;     // Send/Recv: index into transfers.
  int32_t input0_slot = -1;  // A kOp step with one input: the input's slot.
  // When this step's only successor has no other predecessor, is on the
  // same partition and is cheap, that successor (else -1): when this step
  // completes the executor runs it next, without scanning the successor
  // list (a straight chain).
  int32_t chain_next = -1;
  // Output 0 as inferred, copied here so the hot path checks a kernel's
  // result without touching the Node (a cache miss on large graphs).
  DType out_dtype = DType::kFloat32;
  int32_t out_rank = 0;
  const Shape* out_shape = nullptr;
};

// A std::allocator that aligns its arrays to a cache line.
template <typename T>
struct CacheLineAllocator {
  static constexpr std::align_val_t kAlign{64};
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}  // NOLINT: rebind
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), kAlign));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  friend bool operator==(const CacheLineAllocator&,
                         const CacheLineAllocator&) = default;
};

// The per-run arrays of one plan: a value slot per output and a pending
// count per step. Between runs every slot is empty; only the entries of
// CompiledPlan::joins in `pending` are meaningful (reset by each run).
struct RunFrame {
  // Cache-line aligned: an NDArray is 64 bytes, so each slot is one line
  // (with malloc's 16-byte alignment, every slot straddled two unless the
  // block happened to start on a line).
  std::vector<NDArray, CacheLineAllocator<NDArray>> values;
  std::unique_ptr<std::atomic<int32_t>[]> pending;
};

// The frames of finished runs of one plan, reused by its next runs: a run
// then neither allocates its arrays nor constructs and destroys an NDArray
// per value slot (on a 10,000-step chain that was ~40 of the ~260
// instructions per step). A frame holds no array buffers while pooled.
//
// Thread safety: Take and Give may be called concurrently.
class RunFramePool {
 public:
  // A pooled frame, or null when there is none.
  std::unique_ptr<RunFrame> Take();
  // Pools `frame` (its slots already emptied) unless `max_frames` are
  // pooled already, in which case it is freed.
  void Give(std::unique_ptr<RunFrame> frame, size_t max_frames);

 private:
  absl::Mutex mu_;
  std::vector<std::unique_ptr<RunFrame>> free_ ABSL_GUARDED_BY(mu_);
};

// Thread safety: immutable after CompilePlan (but for `frames`, which is
// synchronized); share freely. Kernels are const and safe to run
// concurrently.
struct CompiledPlan {
  PartitionedGraph partitioned;
  std::vector<PlanNode> nodes;
  std::vector<std::unique_ptr<OpKernel>> kernels;
  std::vector<int32_t> input_slots;
  // Parallel to input_slots: 1 when this read is the slot's only use in the
  // run (one consumer, not fetched), so the step moves the value out of the
  // slot instead of copying it, and its buffer dies as early as possible.
  std::vector<uint8_t> input_is_last_use;
  std::vector<int32_t> successors;
  // Steps with more than one predecessor: the only ones whose pending count
  // the executor keeps as an atomic (a step with one predecessor is ready as
  // soon as that one completes).
  std::vector<int32_t> joins;
  int32_t num_value_slots = 0;
  // The value slots a successful run leaves filled: fetched, read by more
  // than one step, or never read. Every other slot is emptied by its only
  // reader, so only these are cleared before the run's frame is reused.
  std::vector<int32_t> kept_slots;
  mutable RunFramePool frames;
  std::vector<int32_t> feed_slots;          // Per feed, its value slot.
  std::vector<int32_t> fetch_slots;         // Per fetch, its value slot.
  std::vector<std::vector<int32_t>> roots;  // Per partition.
  std::vector<int> partition_device;        // Partition -> session device.
  // Per partition: whether this process runs it (a cluster plan's other
  // partitions run on their tasks; their kernels are not built here).
  std::vector<uint8_t> runs_here;
  bool has_remote_partitions = false;  // Some runs_here entry is 0.
  // The cluster's per-plan state (registrations on the tasks), set by the
  // Session before the plan is shared; null without remote partitions.
  std::shared_ptr<internal::RemotePlan> remote;
  std::vector<std::string> kernel_labels;  // Per kernel node: "Op:label".
  std::string dump;                        // partitioned.DebugString().
};

// Compiles the pruned, partitioned graph for (feeds, fetches, targets) and
// constructs each node's kernel. Errors name the node and where it was
// defined: an unfed Placeholder (kFeed), a missing kernel (kMissingKernel),
// a kernel that rejects its node's attributes (kAttr); plus the
// partitioner's errors. Only the partitions of `task` run here: its
// devices' ("/job:worker/task:0/cpu:0" for task "/job:worker/task:0"), or
// with "" this process's ("cpu:0").
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledPlan>> CompilePlan(
    const Graph& graph, absl::Span<const Tensor> feeds,
    absl::Span<const Tensor> fetches, absl::Span<const Tensor> targets,
    const std::vector<std::string>& devices, std::string_view task = "");

// "node 'x' (MatMul) defined at model.cc:42: <message>", with OpErrorInfo.
[[nodiscard]] absl::Status NodeError(const Node& node, const Graph& graph,
                                     absl::StatusCode code, ErrorKind kind,
                                     std::string_view message);

}  // namespace weft

#endif  // WEFT_RUNTIME_PLAN_H_
