#include "runtime/executor.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "oneapi/tbb/global_control.h"
#include "oneapi/tbb/info.h"

namespace weft {
namespace {

using internal::Quoted;

// "node 'x' (MatMul) defined at model.cc:42: <message>", with OpErrorInfo.
absl::Status NodeError(const Node& node, const Graph& graph,
                       absl::StatusCode code, std::string_view kind,
                       std::string_view message) {
  return WithNodeErrorInfo(
      absl::Status(code, absl::StrCat("node ", Quoted(node.name()), " (",
                                      node.op(), ") defined at ",
                                      node.provenance().Site().ToString(), ": ",
                                      message)),
      kind, node, graph);
}

}  // namespace

// ----------------------------------------------------------- CompilePlan --

absl::StatusOr<std::shared_ptr<const CompiledPlan>> CompilePlan(
    const Graph& graph, absl::Span<const Tensor> feeds,
    absl::Span<const Tensor> fetches, const std::vector<std::string>& devices) {
  absl::StatusOr<PartitionedGraph> pg =
      PartitionGraph(graph, fetches, feeds, devices);
  if (!pg.ok()) return pg.status();

  auto plan = std::make_shared<CompiledPlan>();
  plan->partitioned = *std::move(pg);
  const PartitionedGraph& part = plan->partitioned;
  plan->dump = part.DebugString();
  for (const Partition& p : part.partitions) {
    plan->partition_device.push_back(static_cast<int>(
        std::find(devices.begin(), devices.end(), p.device) - devices.begin()));
  }

  // Plan node per item; value slots for node outputs and data recvs.
  const int num_graph_nodes = static_cast<int>(part.partition_of.size());
  std::vector<int32_t> op_plan(num_graph_nodes, -1);
  std::vector<int32_t> send_plan(part.transfers.size(), -1);
  std::vector<int32_t> recv_plan(part.transfers.size(), -1);
  std::map<std::tuple<int, int, int>, int> transfer_of;
  for (size_t t = 0; t < part.transfers.size(); ++t) {
    const Transfer& tr = part.transfers[t];
    transfer_of[{tr.src->id(), tr.slot, tr.dst_partition}] =
        static_cast<int>(t);
  }
  for (size_t p = 0; p < part.partitions.size(); ++p) {
    for (const PartitionItem& item : part.partitions[p].items) {
      PlanNode n;
      n.partition = static_cast<int32_t>(p);
      n.node = item.node;
      n.transfer = item.transfer;
      const int32_t index = static_cast<int32_t>(plan->nodes.size());
      switch (item.kind) {
        case PartitionItem::Kind::kOp:
        case PartitionItem::Kind::kFeed:
          n.kind = item.kind == PartitionItem::Kind::kOp
                       ? PlanNode::Kind::kKernel
                       : PlanNode::Kind::kFeed;
          n.output_slot = plan->num_value_slots;
          plan->num_value_slots += item.node->num_outputs();
          op_plan[item.node->id()] = index;
          break;
        case PartitionItem::Kind::kSend:
          n.kind = PlanNode::Kind::kSend;
          send_plan[item.transfer] = index;
          break;
        case PartitionItem::Kind::kRecv:
          n.kind = PlanNode::Kind::kRecv;
          if (part.transfers[item.transfer].slot >= 0) {
            n.output_slot = plan->num_value_slots++;
          }
          recv_plan[item.transfer] = index;
          break;
      }
      plan->nodes.push_back(n);
    }
  }

  // Edges and input slots.
  std::vector<std::vector<int32_t>> succ(plan->nodes.size());
  std::vector<std::vector<int32_t>> inputs(plan->nodes.size());
  auto producer = [&](int src, int slot, int partition) -> int32_t {
    if (part.partition_of[src] == partition) return op_plan[src];
    return recv_plan[transfer_of.at({src, slot, partition})];
  };
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    PlanNode& n = plan->nodes[i];
    const int32_t self = static_cast<int32_t>(i);
    switch (n.kind) {
      case PlanNode::Kind::kKernel: {
        std::vector<DType> input_dtypes;
        for (const NodeInput& in : n.node->inputs()) {
          const int32_t pred = producer(in.node, in.slot, n.partition);
          succ[pred].push_back(self);
          const PlanNode& pn = plan->nodes[pred];
          inputs[i].push_back(pn.kind == PlanNode::Kind::kRecv
                                  ? pn.output_slot
                                  : pn.output_slot + in.slot);
          input_dtypes.push_back(graph.node(in.node)->output_dtypes()[in.slot]);
        }
        for (int c : n.node->control_inputs()) {
          succ[producer(c, -1, n.partition)].push_back(self);
        }
        if (n.node->op() == "Placeholder") {
          return NodeError(*n.node, graph, absl::StatusCode::kInvalidArgument,
                           "feed",
                           "this placeholder must be fed: the fetches depend "
                           "on it, but no feed gives it a value");
        }
        const DType key = KernelKeyDType(*n.node, input_dtypes);
        const KernelDef* def = KernelRegistry::Global().Find(n.node->op(), key);
        if (def == nullptr) {
          return NodeError(*n.node, graph, absl::StatusCode::kUnimplemented,
                           "missing_kernel",
                           absl::StrCat("no kernel for op ", n.node->op(),
                                        " with dtype ", DTypeName(key)));
        }
        n.fn = def->fn;
        n.out_dtype = n.node->output_dtypes()[0];
        n.out_shape = &n.node->output_shapes()[0];
        n.out_rank = n.out_shape->rank();
        const int64_t elements = n.node->output_shapes()[0].num_elements();
        n.expensive = def->cost == KernelCost::kExpensive || elements < 0 ||
                      elements > kParallelElementThreshold;
        break;
      }
      case PlanNode::Kind::kFeed:
        break;
      case PlanNode::Kind::kSend: {
        const Transfer& tr = part.transfers[n.transfer];
        const int32_t src = op_plan[tr.src->id()];
        succ[src].push_back(self);
        if (tr.slot >= 0) {
          inputs[i].push_back(plan->nodes[src].output_slot + tr.slot);
        }
        succ[self].push_back(recv_plan[n.transfer]);
        break;
      }
      case PlanNode::Kind::kRecv:
        break;  // Its only predecessor is the Send, wired above.
    }
  }
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    PlanNode& n = plan->nodes[i];
    n.inputs_begin = static_cast<int32_t>(plan->input_slots.size());
    n.num_inputs = static_cast<int32_t>(inputs[i].size());
    plan->input_slots.insert(plan->input_slots.end(), inputs[i].begin(),
                             inputs[i].end());
    n.succ_begin = static_cast<int32_t>(plan->successors.size());
    n.num_succ = static_cast<int32_t>(succ[i].size());
    plan->successors.insert(plan->successors.end(), succ[i].begin(),
                            succ[i].end());
    for (int32_t s : succ[i]) ++plan->nodes[s].pending;
  }
  // A slot read once (and not fetched) is moved out by its reader.
  std::vector<int32_t> uses(plan->num_value_slots, 0);
  for (int32_t slot : plan->input_slots) ++uses[slot];
  plan->roots.resize(part.partitions.size());
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    if (plan->nodes[i].pending == 0) {
      plan->roots[plan->nodes[i].partition].push_back(static_cast<int32_t>(i));
    }
  }
  for (const Tensor& f : feeds) {
    const int32_t p = op_plan[f.node()->id()];
    plan->feed_slots.push_back(p < 0 ? -1
                                     : plan->nodes[p].output_slot + f.index());
  }
  for (const Tensor& f : fetches) {
    plan->fetch_slots.push_back(
        plan->nodes[op_plan[f.node()->id()]].output_slot + f.index());
    ++uses[plan->fetch_slots.back()];
  }
  plan->input_is_last_use.reserve(plan->input_slots.size());
  for (int32_t slot : plan->input_slots) {
    plan->input_is_last_use.push_back(uses[slot] == 1 ? 1 : 0);
  }
  return std::shared_ptr<const CompiledPlan>(std::move(plan));
}

// ------------------------------------------------------------- DeviceSet --

namespace {

// oneTBB starts hardware_concurrency - 1 workers, shared by every arena; on
// a small machine that is too few for all partitions of a step to run at
// once. weft keeps one process-wide tbb::global_control raised to what the
// largest DeviceSet needs (arenas x threads). A user's own global_control
// with a smaller value still wins (oneTBB takes the minimum).
void EnsureParallelism(size_t needed) {
  static absl::Mutex mu(absl::kConstInit);
  static size_t current ABSL_GUARDED_BY(mu) = 0;
  static tbb::global_control* control ABSL_GUARDED_BY(mu) = nullptr;
  absl::MutexLock lock(&mu);
  if (needed <= current ||
      needed <= static_cast<size_t>(tbb::info::default_concurrency())) {
    return;
  }
  delete control;
  control = new tbb::global_control(
      tbb::global_control::max_allowed_parallelism, needed);
  current = needed;
}

}  // namespace

DeviceSet::DeviceSet(std::vector<std::string> names, int num_threads)
    : names_(std::move(names)) {
  const int per_arena =
      num_threads > 0 ? num_threads : tbb::info::default_concurrency();
  EnsureParallelism(names_.size() * per_arena + 1);
  for (size_t i = 0; i < names_.size(); ++i) {
    arenas_.push_back(std::make_unique<tbb::task_arena>(
        num_threads > 0 ? num_threads : int{tbb::task_arena::automatic},
        /*reserved_for_masters=*/1));
  }
}

DeviceSet::~DeviceSet() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &in_flight_));
}

void DeviceSet::BeginRun() const {
  absl::MutexLock lock(&mu_);
  ++in_flight_;
}

void DeviceSet::EndRun() const {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

// ------------------------------------------------------------- executing --

namespace {

struct NodeTiming {
  int64_t start = -1;
  int64_t end = -1;
};

// Everything one run owns. Shared by the caller and every task of the run.
struct RunState {
  RunState(std::shared_ptr<const CompiledPlan> p, const DeviceSet& d)
      : plan(std::move(p)),
        devices(d),
        pending(new std::atomic<int32_t>[plan->nodes.size()]),
        values(plan->num_value_slots),
        rendezvous(plan->partitioned.transfers.size()) {
    devices.BeginRun();
    for (size_t i = 0; i < plan->nodes.size(); ++i) {
      pending[i].store(plan->nodes[i].pending, std::memory_order_relaxed);
    }
  }
  ~RunState() { devices.EndRun(); }

  const std::shared_ptr<const CompiledPlan> plan;
  const DeviceSet& devices;
  const std::unique_ptr<std::atomic<int32_t>[]> pending;
  std::vector<NDArray> values;
  // The in-process rendezvous: one slot per transfer key, written by its
  // Send and read by its Recv (ordered by the Send->Recv dependency).
  std::vector<NDArray> rendezvous;
  std::atomic<int64_t> outstanding{0};  // Live tasks.
  std::atomic<bool> cancelled{false};
  absl::Notification done;
  absl::Time deadline = absl::InfiniteFuture();
  bool collect_stats = false;
  int64_t start_ns = 0;
  std::vector<NodeTiming> timings;

  absl::Mutex mu;
  absl::Status status ABSL_GUARDED_BY(mu);

  void Fail(absl::Status s) {
    {
      absl::MutexLock lock(&mu);
      if (status.ok()) status = std::move(s);
    }
    cancelled.store(true, std::memory_order_release);
  }
  absl::Status GetStatus() {
    absl::MutexLock lock(&mu);
    return status;
  }
};

void RunTask(const std::shared_ptr<RunState>& st, int partition,
             absl::InlinedVector<int32_t, 8> stack);

// Schedules a task for `nodes` on `partition`'s arena.
void Enqueue(const std::shared_ptr<RunState>& st, int partition,
             absl::InlinedVector<int32_t, 8> nodes) {
  st->outstanding.fetch_add(1, std::memory_order_relaxed);
  st->devices.arena(st->plan->partition_device[partition])
      .enqueue([st, partition, nodes = std::move(nodes)] {
        RunTask(st, partition, nodes);
      });
}

void FinishTask(const std::shared_ptr<RunState>& st) {
  if (st->outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    st->done.Notify();
  }
}

// The value read by input entry `k` of the plan: moved out of its slot when
// this is the slot's last use, else a new reference to the same array.
inline NDArray TakeInput(RunState& st, int32_t k) {
  NDArray& v = st.values[st.plan->input_slots[k]];
  return st.plan->input_is_last_use[k] ? std::move(v) : v;
}

// Runs one step; false on error (the run is then cancelled).
inline bool Step(RunState& st, const PlanNode& n) {
  const CompiledPlan& plan = *st.plan;
  switch (n.kind) {
    case PlanNode::Kind::kKernel: {
      absl::InlinedVector<NDArray, 4> in(n.num_inputs);
      for (int32_t i = 0; i < n.num_inputs; ++i) {
        in[i] = TakeInput(st, n.inputs_begin + i);
      }
      NDArray out[1];
      KernelContext ctx{*n.node, absl::MakeSpan(in),
                        absl::Span<NDArray>(out, 1)};
      absl::Status s = n.fn(ctx);
      if (!s.ok()) {
        st.Fail(NodeError(*n.node, plan.partitioned.graph, s.code(), "kernel",
                          s.message()));
        return false;
      }
      if (!out[0].valid() || out[0].dtype() != n.out_dtype ||
          out[0].shape().rank() != n.out_rank ||
          (n.out_rank > 0 && !n.out_shape->IsCompatibleWith(out[0].shape()))) {
        st.Fail(NodeError(
            *n.node, plan.partitioned.graph, absl::StatusCode::kInternal,
            "kernel",
            absl::StrCat("the kernel produced ",
                         out[0].valid()
                             ? absl::StrCat(DTypeName(out[0].dtype()),
                                            out[0].shape().DebugString())
                             : "no value",
                         " but the graph inferred ",
                         DTypeName(n.node->output_dtypes()[0]),
                         n.node->output_shapes()[0].DebugString())));
        return false;
      }
      st.values[n.output_slot] = std::move(out[0]);
      return true;
    }
    case PlanNode::Kind::kFeed:
      return true;
    case PlanNode::Kind::kSend:
      if (n.num_inputs > 0) {
        st.rendezvous[n.transfer] = TakeInput(st, n.inputs_begin);
      }
      return true;
    case PlanNode::Kind::kRecv:
      if (n.output_slot >= 0) {
        st.values[n.output_slot] = std::move(st.rendezvous[n.transfer]);
      }
      return true;
  }
  return false;
}

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

void RunTask(const std::shared_ptr<RunState>& st, int partition,
             absl::InlinedVector<int32_t, 8> stack) {
  const CompiledPlan& plan = *st->plan;
  const bool check_deadline = st->deadline != absl::InfiniteFuture();
  absl::InlinedVector<int32_t, 8> expensive;
  // Ready expensive nodes get tasks of their own, except one that runs here
  // when nothing cheap is ready.
  auto spill_expensive = [&] {
    if (expensive.empty()) return;
    if (stack.empty()) {
      stack.push_back(expensive.back());
      expensive.pop_back();
    }
    for (int32_t e : expensive) Enqueue(st, partition, {e});
    expensive.clear();
  };
  int steps = 0;
  if (stack.size() > 1) {
    auto first_expensive = std::stable_partition(
        stack.begin(), stack.end(),
        [&](int32_t id) { return !plan.nodes[id].expensive; });
    expensive.assign(first_expensive, stack.end());
    stack.erase(first_expensive, stack.end());
    spill_expensive();
  }
  while (!stack.empty()) {
    if (st->cancelled.load(std::memory_order_relaxed)) break;
    const int32_t id = stack.back();
    stack.pop_back();
    const PlanNode& n = plan.nodes[id];
    // Before every expensive step, and every 64 cheap ones.
    if (check_deadline && (n.expensive || (++steps & 63) == 0) &&
        absl::Now() > st->deadline) {
      st->Fail(absl::DeadlineExceededError(
          "Session::Run passed its deadline; the run was cancelled"));
      break;
    }
    int64_t t0 = st->collect_stats ? NowNs() : 0;
    if (!Step(*st, n)) break;
    if (st->collect_stats) st->timings[id] = NodeTiming{t0, NowNs()};
    for (int32_t k = 0; k < n.num_succ; ++k) {
      const int32_t s = plan.successors[n.succ_begin + k];
      const PlanNode& sn = plan.nodes[s];
      // A successor with one predecessor is ready now: no atomic needed.
      if (sn.pending != 1 &&
          st->pending[s].fetch_sub(1, std::memory_order_acq_rel) != 1) {
        continue;
      }
      if (sn.partition != partition) {
        Enqueue(st, sn.partition, {s});
      } else if (sn.expensive) {
        expensive.push_back(s);
      } else {
        stack.push_back(s);
      }
    }
    spill_expensive();
  }
  FinishTask(st);
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void FillMetadata(const RunState& st, bool trace, int64_t end_ns,
                  RunMetadata& md) {
  const CompiledPlan& plan = *st.plan;
  const auto& parts = plan.partitioned.partitions;
  md.partition_devices.clear();
  for (const Partition& p : parts) md.partition_devices.push_back(p.device);
  md.partition_wall_ns.assign(parts.size(), 0);
  md.run_wall_ns = end_ns - st.start_ns;
  md.node_stats.clear();
  std::vector<int64_t> first(parts.size(), -1), last(parts.size(), -1);
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const NodeTiming& t = st.timings[i];
    if (t.start < 0) continue;
    const PlanNode& n = plan.nodes[i];
    NodeExecStats s;
    switch (n.kind) {
      case PlanNode::Kind::kKernel:
        s.name = n.node->name();
        s.op = n.node->op();
        break;
      case PlanNode::Kind::kFeed:
        s.name = n.node->name();
        s.op = "Feed";
        break;
      case PlanNode::Kind::kSend:
        s.name =
            absl::StrCat("send ", plan.partitioned.transfers[n.transfer].key);
        s.op = "Send";
        break;
      case PlanNode::Kind::kRecv:
        s.name =
            absl::StrCat("recv ", plan.partitioned.transfers[n.transfer].key);
        s.op = "Recv";
        break;
    }
    s.partition = n.partition;
    s.device = parts[n.partition].device;
    s.start_ns = t.start - st.start_ns;
    s.duration_ns = t.end - t.start;
    if (first[n.partition] < 0 || t.start < first[n.partition])
      first[n.partition] = t.start;
    last[n.partition] = std::max(last[n.partition], t.end);
    md.node_stats.push_back(std::move(s));
  }
  std::sort(md.node_stats.begin(), md.node_stats.end(),
            [](const NodeExecStats& a, const NodeExecStats& b) {
              return a.start_ns < b.start_ns;
            });
  for (size_t p = 0; p < parts.size(); ++p) {
    if (first[p] >= 0) md.partition_wall_ns[p] = last[p] - first[p];
  }
  if (!trace) return;
  std::string json = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  absl::StrAppend(&json,
                  "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":"
                  "{\"name\":\"weft Session::Run\"}}");
  for (size_t p = 0; p < parts.size(); ++p) {
    absl::StrAppend(&json,
                    ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                    "\"tid\":",
                    p, ",\"args\":{\"name\":\"partition ", p, " (",
                    JsonEscape(parts[p].device), ")\"}}");
  }
  for (const NodeExecStats& s : md.node_stats) {
    absl::StrAppend(&json, ",\n{\"name\":\"", JsonEscape(s.name),
                    "\",\"cat\":\"", JsonEscape(s.op),
                    "\",\"ph\":\"X\",\"pid\":1,\"tid\":", s.partition,
                    ",\"ts\":", static_cast<double>(s.start_ns) / 1000.0,
                    ",\"dur\":", static_cast<double>(s.duration_ns) / 1000.0,
                    ",\"args\":{\"op\":\"", JsonEscape(s.op),
                    "\",\"device\":\"", JsonEscape(s.device), "\"}}");
  }
  json.append("\n]}\n");
  md.chrome_trace_json = std::move(json);
}

}  // namespace

absl::StatusOr<std::vector<NDArray>> ExecutePlan(
    std::shared_ptr<const CompiledPlan> plan, const DeviceSet& devices,
    std::vector<NDArray> feeds, const ExecuteOptions& options,
    RunMetadata* metadata) {
  if (metadata != nullptr) {
    *metadata = RunMetadata();  // Nothing stale from an earlier run.
    metadata->num_partitions =
        static_cast<int>(plan->partitioned.partitions.size());
    metadata->num_transfers =
        static_cast<int>(plan->partitioned.transfers.size());
    metadata->partition_dump = plan->dump;
  }
  // A run whose deadline has already passed (say, while its plan was being
  // compiled) does no work at all.
  if (options.deadline != absl::InfiniteFuture() &&
      absl::Now() >= options.deadline) {
    return absl::DeadlineExceededError(
        "Session::Run passed its deadline before any step ran");
  }
  auto st = std::make_shared<RunState>(std::move(plan), devices);
  const CompiledPlan& p = *st->plan;
  st->deadline = options.deadline;
  st->collect_stats = options.collect_stats || options.trace;
  if (st->collect_stats) st->timings.resize(p.nodes.size());
  st->start_ns = NowNs();
  for (size_t i = 0; i < feeds.size() && i < p.feed_slots.size(); ++i) {
    if (p.feed_slots[i] >= 0) st->values[p.feed_slots[i]] = std::move(feeds[i]);
  }

  // The caller runs the first partition that has roots inside its arena;
  // the other partitions' roots are enqueued on theirs.
  int mine = -1;
  st->outstanding.store(1, std::memory_order_relaxed);  // The caller's token.
  for (size_t part = 0; part < p.roots.size(); ++part) {
    if (p.roots[part].empty()) continue;
    if (mine < 0) {
      mine = static_cast<int>(part);
      continue;
    }
    Enqueue(st, static_cast<int>(part),
            absl::InlinedVector<int32_t, 8>(p.roots[part].begin(),
                                            p.roots[part].end()));
  }
  if (mine >= 0) {
    st->devices.arena(p.partition_device[mine]).execute([&] {
      RunTask(st, mine,
              absl::InlinedVector<int32_t, 8>(p.roots[mine].begin(),
                                              p.roots[mine].end()));
    });
  } else {
    FinishTask(st);
  }
  if (!st->done.WaitForNotificationWithDeadline(options.deadline)) {
    st->Fail(absl::DeadlineExceededError(
        "Session::Run passed its deadline; the run was cancelled"));
    return st->GetStatus();
  }
  if (metadata != nullptr && st->collect_stats) {
    FillMetadata(*st, options.trace, NowNs(), *metadata);
  }
  if (absl::Status s = st->GetStatus(); !s.ok()) return s;
  std::vector<NDArray> out;
  out.reserve(p.fetch_slots.size());
  for (int32_t slot : p.fetch_slots) out.push_back(st->values[slot]);
  return out;
}

}  // namespace weft
