// plan.h — defines weft::CompiledPlan, the immutable flat form of a pruned,
// partitioned graph (steps, successor lists, initial pending counts, value
// slots, and one kernel object per node), and weft::CompilePlan, which
// builds it. Internal to runtime/: users see a plan through
// Session::GetPlan's PlanSummary.
//
// Invariants: steps of a partition are listed in topological order; every
// step's `pending` counts its predecessors in the same partition (a Recv
// has none: it waits on the rendezvous instead); a value slot is written by
// exactly one step per run.
#ifndef WEFT_RUNTIME_PLAN_H_
#define WEFT_RUNTIME_PLAN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/node.h"
#include "kernels/kernel.h"
#include "runtime/partitioner.h"

namespace weft {

// One schedulable step. Kept small: the executor reads one per step.
struct PlanNode {
  PartitionItem::Kind kind = PartitionItem::Kind::kOp;
  bool expensive = false;
  bool async = false;  // An AsyncOpKernel, or a Recv.
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
  // Output 0 as inferred, copied here so the hot path checks a kernel's
  // result without touching the Node (a cache miss on large graphs).
  DType out_dtype = DType::kFloat32;
  int32_t out_rank = 0;
  const Shape* out_shape = nullptr;
};

// Thread safety: immutable after CompilePlan; share freely. Kernels are
// const and safe to run concurrently.
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
  int32_t num_value_slots = 0;
  std::vector<int32_t> feed_slots;          // Per feed, its value slot.
  std::vector<int32_t> fetch_slots;         // Per fetch, its value slot.
  std::vector<std::vector<int32_t>> roots;  // Per partition.
  std::vector<int> partition_device;        // Partition -> session device.
  std::vector<std::string> kernel_labels;   // Per kernel node: "Op:label".
  std::string dump;                         // partitioned.DebugString().
};

// Compiles the pruned, partitioned graph for (feeds, fetches, targets) and
// constructs each node's kernel. Errors name the node and where it was
// defined: an unfed Placeholder (kFeed), a missing kernel (kMissingKernel),
// a kernel that rejects its node's attributes (kAttr); plus the
// partitioner's errors.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledPlan>> CompilePlan(
    const Graph& graph, absl::Span<const Tensor> feeds,
    absl::Span<const Tensor> fetches, absl::Span<const Tensor> targets,
    const std::vector<std::string>& devices);

// "node 'x' (MatMul) defined at model.cc:42: <message>", with OpErrorInfo.
[[nodiscard]] absl::Status NodeError(const Node& node, const Graph& graph,
                                     absl::StatusCode code, ErrorKind kind,
                                     std::string_view message);

}  // namespace weft

#endif  // WEFT_RUNTIME_PLAN_H_
