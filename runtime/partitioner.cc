#include "runtime/partitioner.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/function.h"
#include "graph/function_body.h"

namespace weft {
namespace {

using internal::Quoted;

absl::Status CheckRunTensor(const Graph& graph, const Tensor& t,
                            std::string_view role, size_t i,
                            std::source_location where) {
  return CheckTensorInGraph(
      t, static_cast<int>(i),
      GraphUse{.user = "PartitionGraph",
               .role = std::string(role),
               .graph = &graph,
               .site = SourceSite::From(where),
               .graph_reason = absl::StrCat(Quoted(graph.name()),
                                            " is the graph being partitioned"),
               .fix = "pass fetches, feeds and targets of the graph being "
                      "partitioned"});
}

}  // namespace

int PartitionedGraph::num_nodes() const {
  int n = 0;
  for (const Partition& p : partitions) {
    for (const PartitionItem& item : p.items) {
      n += item.kind == PartitionItem::Kind::kOp ||
           item.kind == PartitionItem::Kind::kFeed;
    }
  }
  return n;
}

namespace {

// PartitionGraph's stages, in order. Each establishes the invariant named in
// its comment; later stages rely on the earlier ones.

// Stage 1, CheckArguments: the graph is non-null, there is a device, and
// every fetch, target and feed is a built tensor of `graph` (checked in
// that order; the first error wins). Returns the fed nodes' ids.
absl::StatusOr<absl::flat_hash_set<int>> CheckArguments(
    const Graph& graph, absl::Span<const Tensor> fetches,
    absl::Span<const Tensor> feeds, absl::Span<const std::string> devices,
    absl::Span<const Tensor> targets, std::source_location where) {
  if (graph.is_null()) {
    return absl::InvalidArgumentError(internal::NullHandleMessage(
        absl::StrCat("PartitionGraph at ", SourceSite::From(where).ToString(),
                     ": the graph is"),
        "Graph"));
  }
  if (devices.empty()) {
    return absl::InvalidArgumentError("PartitionGraph: no devices");
  }
  for (size_t i = 0; i < fetches.size(); ++i) {
    if (absl::Status s = CheckRunTensor(graph, fetches[i], "fetch", i, where);
        !s.ok())
      return s;
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (absl::Status s = CheckRunTensor(graph, targets[i], "target", i, where);
        !s.ok())
      return s;
  }
  absl::flat_hash_set<int> fed;
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (absl::Status s = CheckRunTensor(graph, feeds[i], "feed", i, where);
        !s.ok())
      return s;
    fed.insert(feeds[i].node()->id());
  }
  return fed;
}

// Stage 2, Prune: needed[id] is set exactly for the nodes the fetches and
// targets reach over data and control inputs, stopping at fed nodes (a fed
// node is needed; its inputs are not, unless reached another way).
std::vector<char> Prune(const std::vector<const Node*>& nodes,
                        absl::Span<const Tensor> fetches,
                        absl::Span<const Tensor> targets,
                        const absl::flat_hash_set<int>& fed) {
  std::vector<char> needed(nodes.size(), 0);
  std::vector<int> stack;
  for (const Tensor& t : fetches) stack.push_back(t.node()->id());
  for (const Tensor& t : targets) stack.push_back(t.node()->id());
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = 1;
    if (fed.contains(id)) continue;
    for (const NodeInput& in : nodes[id]->inputs()) stack.push_back(in.node);
    for (int c : nodes[id]->control_inputs()) stack.push_back(c);
  }
  return needed;
}

// Stage 3, Place: every needed node's device (its own, else devices[0]) is
// one of `devices` — else the error names the first such node by id — and
// `out` has one partition per device that received a needed node, in the
// order of `devices`; out.partition_of[id] is a needed node's partition
// (-1 for the others).
absl::Status Place(const Graph& graph, const std::vector<const Node*>& nodes,
                   const std::vector<char>& needed,
                   const absl::flat_hash_set<int>& fed,
                   absl::Span<const std::string> devices, bool cluster,
                   PartitionedGraph& out) {
  absl::flat_hash_map<std::string, int> device_index;
  for (size_t i = 0; i < devices.size(); ++i) device_index[devices[i]] = i;
  std::vector<int> device_of(nodes.size(), -1);
  std::vector<char> device_used(devices.size(), 0);
  for (size_t id = 0; id < nodes.size(); ++id) {
    if (!needed[id]) continue;
    const Node* n = nodes[id];
    // In a cluster plan a fed node's value is this process's (its device
    // would only matter if it ran).
    const std::string& dev =
        n->device().empty() || (cluster && fed.contains(static_cast<int>(id)))
            ? devices[0]
            : n->device();
    auto it = device_index.find(dev);
    if (it == device_index.end()) {
      return WithNodeErrorInfo(
          absl::InvalidArgumentError(absl::StrCat(
              "node ", Quoted(n->name()), " (", n->op(), ") defined at ",
              n->provenance().Site().ToString(), " is placed on device ",
              Quoted(dev), ", which this session does not have (devices: ",
              absl::StrJoin(devices, ", "), ")")),
          ErrorKind::kDevice, *n, graph);
    }
    device_of[id] = it->second;
    device_used[it->second] = 1;
  }
  if (cluster) device_used[0] = 1;  // The io partition, even if empty.
  std::vector<int> partition_of_device(devices.size(), -1);
  for (size_t d = 0; d < devices.size(); ++d) {
    if (!device_used[d]) continue;
    partition_of_device[d] = static_cast<int>(out.partitions.size());
    out.partitions.push_back(Partition{devices[d], {}});
  }
  for (size_t id = 0; id < nodes.size(); ++id) {
    if (needed[id]) out.partition_of[id] = partition_of_device[device_of[id]];
  }
  return absl::OkStatus();
}

// The transfers of one PartitionGraph call: one per (source node, slot or
// -1 for control, destination partition), numbered in order of creation.
class TransferTable {
 public:
  TransferTable(const std::vector<const Node*>& nodes, PartitionedGraph& out)
      : nodes_(nodes), out_(out) {}

  // Adds the transfer of `src`'s output `slot` (-1: its control edge) to
  // `dst_partition` unless it exists.
  void Add(int src, int slot, int dst_partition) {
    auto [it, inserted] =
        index_.emplace(std::make_tuple(src, slot, dst_partition),
                       static_cast<int>(out_.transfers.size()));
    if (!inserted) return;
    Transfer t;
    t.src = nodes_[src];
    t.slot = slot;
    t.src_partition = out_.partition_of[src];
    t.dst_partition = dst_partition;
    const std::string route =
        absl::StrCat("@", out_.partitions[t.src_partition].device, "->",
                     out_.partitions[dst_partition].device);
    t.key = slot < 0 ? absl::StrCat("^", t.src->name(), route)
                     : absl::StrCat(t.src->name(), ":", slot, route);
    out_.transfers.push_back(std::move(t));
  }

 private:
  const std::vector<const Node*>& nodes_;
  PartitionedGraph& out_;
  std::map<std::tuple<int, int, int>, int> index_;
};

// Stage 4, AddTransfers: every data or control edge into a needed, unfed
// node from another partition has its transfer in out.transfers — one per
// (source tensor or control source, destination partition), in the order
// of the consumers' ids and their inputs, then control inputs.
void AddTransfers(const std::vector<const Node*>& nodes,
                  const std::vector<char>& needed,
                  const absl::flat_hash_set<int>& fed,
                  absl::Span<const Tensor> fetches, PartitionedGraph& out) {
  TransferTable transfers(nodes, out);
  // A cluster plan's fetched values come back to the io partition.
  if (out.io_partition >= 0) {
    for (const Tensor& f : fetches) {
      if (out.partition_of[f.node()->id()] != out.io_partition) {
        transfers.Add(f.node()->id(), f.index(), out.io_partition);
      }
    }
  }
  for (size_t id = 0; id < nodes.size(); ++id) {
    if (!needed[id] || fed.contains(static_cast<int>(id))) continue;
    const int p = out.partition_of[id];
    for (const NodeInput& in : nodes[id]->inputs()) {
      if (out.partition_of[in.node] != p) transfers.Add(in.node, in.slot, p);
    }
    for (int c : nodes[id]->control_inputs()) {
      if (out.partition_of[c] != p) transfers.Add(c, -1, p);
    }
  }
}

// Stage 5, LayOutItems: each partition's items are its Recvs (by transfer
// index), then its needed nodes in id order (a topological order), each an
// op or a feed and followed by its Sends.
void LayOutItems(const std::vector<const Node*>& nodes,
                 const std::vector<char>& needed,
                 const absl::flat_hash_set<int>& fed, PartitionedGraph& out) {
  std::vector<std::vector<int>> sends_of(nodes.size());
  for (size_t t = 0; t < out.transfers.size(); ++t) {
    const Transfer& tr = out.transfers[t];
    out.partitions[tr.dst_partition].items.push_back(
        {PartitionItem::Kind::kRecv, tr.src, static_cast<int>(t)});
    sends_of[tr.src->id()].push_back(static_cast<int>(t));
  }
  for (size_t id = 0; id < nodes.size(); ++id) {
    if (!needed[id]) continue;
    Partition& part = out.partitions[out.partition_of[id]];
    part.items.push_back({fed.contains(static_cast<int>(id))
                              ? PartitionItem::Kind::kFeed
                              : PartitionItem::Kind::kOp,
                          nodes[id], -1});
    for (int t : sends_of[id]) {
      part.items.push_back({PartitionItem::Kind::kSend, nodes[id], t});
    }
  }
}

}  // namespace

absl::StatusOr<PartitionedGraph> PartitionGraph(
    const Graph& graph, absl::Span<const Tensor> fetches,
    absl::Span<const Tensor> feeds, absl::Span<const std::string> devices,
    absl::Span<const Tensor> targets, std::source_location where) {
  absl::StatusOr<absl::flat_hash_set<int>> fed =
      CheckArguments(graph, fetches, feeds, devices, targets, where);
  if (!fed.ok()) return fed.status();

  PartitionedGraph out;
  out.graph = graph;
  const std::vector<const Node*> nodes = graph.nodes();
  out.partition_of.assign(nodes.size(), -1);

  const std::vector<char> needed = Prune(nodes, fetches, targets, *fed);
  const bool cluster = std::any_of(
      devices.begin(), devices.end(),
      [](const std::string& d) { return !DeviceTaskOf(d).empty(); });
  if (absl::Status s = Place(graph, nodes, needed, *fed, devices, cluster, out);
      !s.ok()) {
    return s;
  }
  if (cluster && !DeviceTaskOf(devices[0]).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PartitionGraph: the first device, ", internal::Quoted(devices[0]),
        ", is a task's; with devices of a cluster the first device must be "
        "this process's (like 'cpu:0'): it holds the feeds and fetches"));
  }
  if (cluster) out.io_partition = 0;  // devices[0]'s, the first.
  AddTransfers(nodes, needed, *fed, fetches, out);
  LayOutItems(nodes, needed, *fed, out);
  return out;
}

namespace {

// "partition P on DEVICE: N nodes, S sends, R recvs" (feeds count as nodes).
std::string PartitionHeadline(size_t p, const Partition& part) {
  int ops = 0, sends = 0, recvs = 0;
  for (const PartitionItem& item : part.items) {
    switch (item.kind) {
      case PartitionItem::Kind::kOp:
      case PartitionItem::Kind::kFeed:
        ++ops;
        break;
      case PartitionItem::Kind::kSend:
        ++sends;
        break;
      case PartitionItem::Kind::kRecv:
        ++recvs;
        break;
    }
  }
  return absl::StrCat("partition ", p, " on ", part.device, ": ", ops,
                      " nodes, ", sends, " sends, ", recvs, " recvs\n");
}

// One item of partition `p` of `pg`, as a dump line: "  name = feed",
// "  name = Op(in:0, ^ctl (recv))", "  send KEY to partition Q",
// "  recv KEY from partition Q".
std::string ItemLine(const PartitionedGraph& pg, size_t p,
                     const PartitionItem& item) {
  const Node* n = item.node;
  switch (item.kind) {
    case PartitionItem::Kind::kFeed:
      return absl::StrCat("  ", n->name(), " = feed\n");
    case PartitionItem::Kind::kOp: {
      std::vector<std::string> args;
      for (const NodeInput& in : n->inputs()) {
        const Node* src = pg.graph.node(in.node);
        args.push_back(absl::StrCat(
            src->name(), ":", in.slot,
            pg.partition_of[in.node] != static_cast<int>(p) ? " (recv)" : ""));
      }
      for (int c : n->control_inputs()) {
        args.push_back(absl::StrCat(
            "^", pg.graph.node(c)->name(),
            pg.partition_of[c] != static_cast<int>(p) ? " (recv)" : ""));
      }
      return absl::StrCat("  ", n->name(), " = ", internal::OpLabel(*n), "(",
                          absl::StrJoin(args, ", "), ")\n");
    }
    case PartitionItem::Kind::kSend: {
      const Transfer& t = pg.transfers[item.transfer];
      return absl::StrCat("  send ", t.key, " to partition ", t.dst_partition,
                          "\n");
    }
    case PartitionItem::Kind::kRecv: {
      const Transfer& t = pg.transfers[item.transfer];
      return absl::StrCat("  recv ", t.key, " from partition ", t.src_partition,
                          "\n");
    }
  }
  return "";
}

}  // namespace

std::string PartitionedGraph::DebugString() const {
  std::string out;
  for (size_t p = 0; p < partitions.size(); ++p) {
    absl::StrAppend(&out, PartitionHeadline(p, partitions[p]));
    for (const PartitionItem& item : partitions[p].items) {
      absl::StrAppend(&out, ItemLine(*this, p, item));
    }
  }
  absl::StrAppend(&out, "transfers: ", transfers.size(), "\n");
  return out;
}

std::string PartitionedGraph::ToDot() const {
  std::string out =
      "digraph weft {\n  rankdir=TB;\n  node [shape=box, "
      "style=rounded, fontname=\"Helvetica\"];\n";
  auto id = [](const Node* n) { return absl::StrCat("n", n->id()); };
  for (size_t p = 0; p < partitions.size(); ++p) {
    absl::StrAppend(&out, "  subgraph cluster_", p, " {\n    label=\"",
                    partitions[p].device,
                    "\";\n    style=filled; "
                    "color=\"#dddddd\"; fillcolor=\"#f6f6f6\";\n");
    for (const PartitionItem& item : partitions[p].items) {
      if (item.kind == PartitionItem::Kind::kOp ||
          item.kind == PartitionItem::Kind::kFeed) {
        // Function names are free text: escaped for DOT.
        std::string op = internal::OpLabel(*item.node);
        op = absl::StrReplaceAll(op, {{"\\", "\\\\"}, {"\"", "\\\""}});
        absl::StrAppend(&out, "    ", id(item.node), " [label=\"",
                        item.node->name(), "\\n", op,
                        item.kind == PartitionItem::Kind::kFeed ? " (fed)" : "",
                        "\"];\n");
      }
    }
    out.append("  }\n");
  }
  for (size_t p = 0; p < partitions.size(); ++p) {
    for (const PartitionItem& item : partitions[p].items) {
      if (item.kind != PartitionItem::Kind::kOp) continue;
      const Node* n = item.node;
      for (const NodeInput& in : n->inputs()) {
        if (partition_of[in.node] != static_cast<int>(p)) continue;
        absl::StrAppend(&out, "  n", in.node, " -> ", id(n), ";\n");
      }
      for (int c : n->control_inputs()) {
        if (partition_of[c] != static_cast<int>(p)) continue;
        absl::StrAppend(&out, "  n", c, " -> ", id(n), " [style=dotted];\n");
      }
    }
  }
  // Transfers: dashed edges from the source to each consumer across.
  for (const Transfer& t : transfers) {
    for (const PartitionItem& item : partitions[t.dst_partition].items) {
      if (item.kind != PartitionItem::Kind::kOp) continue;
      bool uses = false;
      if (t.slot >= 0) {
        for (const NodeInput& in : item.node->inputs()) {
          uses |= in.node == t.src->id() && in.slot == t.slot;
        }
      } else {
        for (int c : item.node->control_inputs()) uses |= c == t.src->id();
      }
      if (uses) {
        absl::StrAppend(&out, "  ", id(t.src), " -> ", id(item.node),
                        " [style=dashed, color=\"#c0392b\", label=\"",
                        t.slot < 0 ? "ctrl" : "send/recv", "\"];\n");
      }
    }
  }
  out.append("}\n");
  return out;
}

}  // namespace weft
