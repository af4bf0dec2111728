// CompilePlan, in named stages: AddSteps (one plan step per partition item,
// value slots), WireEdges (successors and input slots), ConstructKernels
// (one OpKernel per node), FinishCounts (pending counts, roots, feed/fetch
// slots, last uses, joins, chains, the slots a run leaves filled).
#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "runtime/function_runtime.h"
#include "runtime/plan.h"

namespace weft {

absl::Status NodeError(const Node& node, const Graph& graph,
                       absl::StatusCode code, ErrorKind kind,
                       std::string_view message) {
  return WithNodeErrorInfo(
      absl::Status(code,
                   absl::StrCat("node ", internal::Quoted(node.name()), " (",
                                node.op(), ") defined at ",
                                node.provenance().BuiltAt(), ": ", message)),
      kind, node, graph);
}

namespace {

// Scratch state of one compilation.
struct PlanBuilder {
  const Graph& graph;
  CompiledPlan& plan;
  std::vector<int32_t> op_step;    // Graph node id -> its step.
  std::vector<int32_t> recv_step;  // Transfer -> its Recv step.
  std::map<std::tuple<int, int, int>, int> transfer_of;
  std::vector<std::vector<int32_t>> succ;
  std::vector<std::vector<int32_t>> inputs;

  void AddSteps();
  void WireEdges();
  absl::Status ConstructKernels();
  void FinishCounts(absl::Span<const Tensor> feeds,
                    absl::Span<const Tensor> fetches);
  absl::Status CheckPartialFeeds() const;

  // The step producing (src, slot) as seen from `partition`.
  int32_t Producer(int src, int slot, int partition) const {
    if (plan.partitioned.partition_of[src] == partition) return op_step[src];
    return recv_step[transfer_of.at({src, slot, partition})];
  }
};

void PlanBuilder::AddSteps() {
  const PartitionedGraph& part = plan.partitioned;
  op_step.assign(part.partition_of.size(), -1);
  recv_step.assign(part.transfers.size(), -1);
  for (size_t t = 0; t < part.transfers.size(); ++t) {
    const Transfer& tr = part.transfers[t];
    transfer_of[{tr.src->id(), tr.slot, tr.dst_partition}] =
        static_cast<int>(t);
  }
  for (size_t p = 0; p < part.partitions.size(); ++p) {
    for (const PartitionItem& item : part.partitions[p].items) {
      PlanNode n;
      n.kind = item.kind;
      n.partition = static_cast<int32_t>(p);
      n.node = item.node;
      n.transfer = item.transfer;
      const int32_t index = static_cast<int32_t>(plan.nodes.size());
      switch (item.kind) {
        case PartitionItem::Kind::kOp:
        case PartitionItem::Kind::kFeed:
          n.output_slot = plan.num_value_slots;
          n.num_outputs = item.node->num_outputs();
          plan.num_value_slots += n.num_outputs;
          op_step[item.node->id()] = index;
          break;
        case PartitionItem::Kind::kSend:
          break;
        case PartitionItem::Kind::kRecv:
          n.async = true;
          if (part.transfers[item.transfer].slot >= 0) {
            n.output_slot = plan.num_value_slots++;
            n.num_outputs = 1;
          }
          recv_step[item.transfer] = index;
          break;
      }
      plan.nodes.push_back(n);
    }
  }
}

void PlanBuilder::WireEdges() {
  const PartitionedGraph& part = plan.partitioned;
  succ.resize(plan.nodes.size());
  inputs.resize(plan.nodes.size());
  auto slot_of = [&](int32_t producer, int slot) {
    const PlanNode& pn = plan.nodes[producer];
    return pn.kind == PartitionItem::Kind::kRecv ? pn.output_slot
                                                 : pn.output_slot + slot;
  };
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    PlanNode& n = plan.nodes[i];
    const int32_t self = static_cast<int32_t>(i);
    if (n.kind == PartitionItem::Kind::kOp) {
      for (const NodeInput& in : n.node->inputs()) {
        const int32_t pred = Producer(in.node, in.slot, n.partition);
        succ[pred].push_back(self);
        inputs[i].push_back(slot_of(pred, in.slot));
      }
      for (int c : n.node->control_inputs()) {
        succ[Producer(c, -1, n.partition)].push_back(self);
      }
    } else if (n.kind == PartitionItem::Kind::kSend) {
      // A Send runs after its source; its Recv waits on the rendezvous.
      const Transfer& tr = part.transfers[n.transfer];
      const int32_t src = op_step[tr.src->id()];
      succ[src].push_back(self);
      if (tr.slot >= 0) inputs[i].push_back(slot_of(src, tr.slot));
    }
  }
}

absl::Status PlanBuilder::ConstructKernels() {
  const PartitionedGraph& part = plan.partitioned;
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    PlanNode& n = plan.nodes[i];
    if (n.kind != PartitionItem::Kind::kOp || !plan.runs_here[n.partition]) {
      continue;
    }
    const Node& node = *n.node;
    if (node.op() == "Placeholder") {
      return NodeError(node, graph, absl::StatusCode::kInvalidArgument,
                       ErrorKind::kFeed,
                       "this placeholder must be fed: the fetches depend on "
                       "it, but no feed gives it a value");
    }
    std::vector<DType> input_dtypes;
    std::vector<Shape> input_shapes;
    for (const NodeInput& in : node.inputs()) {
      const Node* src = graph.node(in.node);
      input_dtypes.push_back(src->output_dtypes()[in.slot]);
      input_shapes.push_back(src->output_shapes()[in.slot]);
    }
    const std::string& device = part.partitions[n.partition].device;
    const DType key = KernelKeyDType(node, input_dtypes);
    const KernelDef* def =
        KernelRegistry::Global().Find(node.op(), DeviceKindOf(device), key);
    if (def == nullptr) {
      return NodeError(
          node, graph, absl::StatusCode::kUnimplemented,
          ErrorKind::kMissingKernel,
          absl::StrCat("no kernel for op ", node.op(), " on device kind '",
                       DeviceKindOf(device), "' with dtype ", DTypeName(key)));
    }
    OpKernelConstruction construction(node, std::move(input_dtypes),
                                      std::move(input_shapes), device,
                                      &internal::SessionFunctionRuntime());
    absl::StatusOr<std::unique_ptr<OpKernel>> kernel =
        def->factory(construction);
    if (!kernel.ok() || *kernel == nullptr) {
      return NodeError(
          node, graph, absl::StatusCode::kInvalidArgument, ErrorKind::kAttr,
          absl::StrCat("its kernel could not be built: ",
                       kernel.ok() ? "the factory returned no kernel"
                                   : kernel.status().message()));
    }
    n.kernel = kernel->get();
    n.kernel_fn = (*kernel)->function();
    n.async = (*kernel)->is_async();
    plan.kernels.push_back(*std::move(kernel));
    plan.kernel_labels.push_back(absl::StrCat(
        node.name(), ":", def->label.empty() ? "default" : def->label));
    n.out_dtype = node.output_dtypes()[0];
    n.out_shape = &node.output_shapes()[0];
    n.out_rank = n.out_shape->rank();
    const int64_t elements = n.out_shape->num_elements();
    n.expensive = def->cost == KernelCost::kExpensive || elements < 0 ||
                  elements > kParallelElementThreshold;
  }
  return absl::OkStatus();
}

void PlanBuilder::FinishCounts(absl::Span<const Tensor> feeds,
                               absl::Span<const Tensor> fetches) {
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    PlanNode& n = plan.nodes[i];
    n.inputs_begin = static_cast<int32_t>(plan.input_slots.size());
    n.num_inputs = static_cast<int32_t>(inputs[i].size());
    plan.input_slots.insert(plan.input_slots.end(), inputs[i].begin(),
                            inputs[i].end());
    n.succ_begin = static_cast<int32_t>(plan.successors.size());
    n.num_succ = static_cast<int32_t>(succ[i].size());
    plan.successors.insert(plan.successors.end(), succ[i].begin(),
                           succ[i].end());
    for (int32_t s : succ[i]) ++plan.nodes[s].pending;
  }
  plan.roots.resize(plan.partitioned.partitions.size());
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    if (plan.nodes[i].pending == 0) {
      plan.roots[plan.nodes[i].partition].push_back(static_cast<int32_t>(i));
    }
  }
  // A slot read once (and not fetched) is moved out by its reader.
  std::vector<int32_t> uses(plan.num_value_slots, 0);
  for (int32_t slot : plan.input_slots) ++uses[slot];
  for (const Tensor& f : feeds) {
    const int32_t p = op_step[f.node()->id()];
    plan.feed_slots.push_back(p < 0 ? -1
                                    : plan.nodes[p].output_slot + f.index());
  }
  const int io = plan.partitioned.io_partition;
  for (const Tensor& f : fetches) {
    // A cluster plan fetches from the io partition (a Recv when the value
    // was computed on another).
    if (io >= 0 && plan.partitioned.partition_of[f.node()->id()] != io) {
      plan.fetch_slots.push_back(
          plan.nodes[Producer(f.node()->id(), f.index(), io)].output_slot);
    } else {
      plan.fetch_slots.push_back(
          plan.nodes[op_step[f.node()->id()]].output_slot + f.index());
    }
    ++uses[plan.fetch_slots.back()];
  }
  plan.input_is_last_use.reserve(plan.input_slots.size());
  std::vector<char> emptied(plan.num_value_slots, 0);
  for (int32_t slot : plan.input_slots) {
    plan.input_is_last_use.push_back(uses[slot] == 1 ? 1 : 0);
    if (uses[slot] == 1) emptied[slot] = 1;
  }
  for (int32_t slot = 0; slot < plan.num_value_slots; ++slot) {
    if (!emptied[slot]) plan.kept_slots.push_back(slot);
  }
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    PlanNode& n = plan.nodes[i];
    if (n.pending > 1) plan.joins.push_back(static_cast<int32_t>(i));
    if (n.num_succ == 1) {
      const int32_t next = plan.successors[n.succ_begin];
      const PlanNode& s = plan.nodes[next];
      if (s.pending == 1 && s.partition == n.partition && !s.expensive) {
        n.chain_next = next;
      }
    }
    if (n.kind == PartitionItem::Kind::kOp && n.num_inputs == 1) {
      n.input0_slot = plan.input_slots[n.inputs_begin];
      n.input0_last_use = plan.input_is_last_use[n.inputs_begin] != 0;
      n.simple = !n.async && n.input0_last_use && n.num_outputs == 1;
    }
  }
}

// A fed node runs no kernel, so an output of it that is read must be fed
// too (a node with several outputs may not be fed in part).
absl::Status PlanBuilder::CheckPartialFeeds() const {
  std::vector<char> fed(plan.num_value_slots, 0);
  for (int32_t slot : plan.feed_slots) {
    if (slot >= 0) fed[slot] = 1;
  }
  std::vector<int32_t> read = plan.input_slots;
  read.insert(read.end(), plan.fetch_slots.begin(), plan.fetch_slots.end());
  for (const PlanNode& n : plan.nodes) {
    if (n.kind != PartitionItem::Kind::kFeed) continue;
    for (int32_t slot : read) {
      if (slot >= n.output_slot && slot < n.output_slot + n.num_outputs &&
          !fed[slot]) {
        return NodeError(
            *n.node, graph, absl::StatusCode::kInvalidArgument,
            ErrorKind::kFeed,
            absl::StrCat("output ", slot - n.output_slot,
                         " is used but not fed while another output of the "
                         "node is fed; feed every output that is used, or "
                         "none"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledPlan>> CompilePlan(
    const Graph& graph, absl::Span<const Tensor> feeds,
    absl::Span<const Tensor> fetches, absl::Span<const Tensor> targets,
    const std::vector<std::string>& devices, std::string_view task) {
  absl::StatusOr<PartitionedGraph> pg =
      PartitionGraph(graph, fetches, feeds, devices, targets);
  if (!pg.ok()) return pg.status();

  auto plan = std::make_shared<CompiledPlan>();
  plan->partitioned = *std::move(pg);
  plan->dump = plan->partitioned.DebugString();
  for (const Partition& p : plan->partitioned.partitions) {
    plan->partition_device.push_back(static_cast<int>(
        std::find(devices.begin(), devices.end(), p.device) - devices.begin()));
    plan->runs_here.push_back(DeviceTaskOf(p.device) == task ? 1 : 0);
    plan->has_remote_partitions |= !plan->runs_here.back();
  }
  PlanBuilder builder{graph, *plan, {}, {}, {}, {}, {}};
  builder.AddSteps();
  builder.WireEdges();
  if (absl::Status s = builder.ConstructKernels(); !s.ok()) return s;
  builder.FinishCounts(feeds, fetches);
  if (absl::Status s = builder.CheckPartialFeeds(); !s.ok()) return s;
  return std::shared_ptr<const CompiledPlan>(std::move(plan));
}

}  // namespace weft
