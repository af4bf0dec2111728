// partitioner.h — defines weft::PartitionGraph, the pure function that prunes
// a graph to what the fetches need and splits it into one partition per
// device with Send/Recv pairs on every cross-device edge, and
// weft::PartitionedGraph, its result, with a deterministic text dump and a
// Graphviz rendering.
#ifndef WEFT_RUNTIME_PARTITIONER_H_
#define WEFT_RUNTIME_PARTITIONER_H_

#include <cstdint>
#include <source_location>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/node.h"
#include "graph/tensor.h"

namespace weft {

// One step of a partition. Kind is the one enum of step kinds, shared by
// the executor's compiled plan.
struct PartitionItem {
  enum class Kind : uint8_t {
    kOp,    // Runs node's kernel.
    kFeed,  // node's outputs come from feeds; its inputs are not needed.
    kSend,  // Hands `transfer`'s value to the rendezvous.
    kRecv,  // Takes `transfer`'s value from the rendezvous.
  };
  Kind kind = Kind::kOp;
  const Node* node = nullptr;  // kOp/kFeed: the node; kSend/kRecv: the source.
  int transfer = -1;           // kSend/kRecv: index into transfers.
};

// A value (or, with slot == -1, a control token) crossing partitions. There
// is one transfer per (source tensor, destination partition).
struct Transfer {
  const Node* src = nullptr;
  int slot = 0;  // -1 for a control edge.
  int src_partition = 0;
  int dst_partition = 0;
  std::string key;  // "h:0@cpu:0->cpu:1", or "^h@cpu:0->cpu:1" for control.
};

struct Partition {
  std::string device;
  // Recvs first (by transfer index), then nodes in graph-id order (a
  // topological order), each followed by its Sends.
  std::vector<PartitionItem> items;
};

// The pruned, partitioned graph.
//
// Thread safety: immutable after PartitionGraph returns; the Node pointers
// are valid while the graph is alive (keep a Graph handle).
struct PartitionedGraph {
  Graph graph;
  std::vector<Partition> partitions;  // Only devices that got nodes.
  std::vector<Transfer> transfers;
  // Partition index of each graph node in the pruned set, -1 elsewhere.
  std::vector<int> partition_of;
  // In a cluster plan (some device is a task's, "/job:J/task:T/cpu:0"): the
  // partition of devices[0], the calling process's, which holds every fed
  // node and receives every fetched value (a transfer from a task's
  // partition); it exists even when empty. -1 in a plan of one process.
  int io_partition = -1;

  int num_nodes() const;  // kOp + kFeed items.
  // Deterministic text form (see docs/runtime.md).
  std::string DebugString() const;
  // Graphviz DOT: one cluster per partition, transfers as dashed edges.
  std::string ToDot() const;
};

// Prunes `graph` back from `fetches` and `targets` (nodes run for their
// side effects only), stopping at `feeds`, places each node on
// its device (Node::device(), "" meaning devices[0]) and partitions. When a
// device is a task's of a cluster, devices[0] must be this process's: fed
// nodes are placed there, and each fetch computed on another partition gets
// a transfer to it (PartitionedGraph::io_partition). Errors:
// a non-ok, or foreign-graph fetch/feed; a node on a device not in
// `devices` (kInvalidArgument naming node, device and `devices`); an empty
// `devices`.
[[nodiscard]] absl::StatusOr<PartitionedGraph> PartitionGraph(
    const Graph& graph, absl::Span<const Tensor> fetches,
    absl::Span<const Tensor> feeds, absl::Span<const std::string> devices,
    absl::Span<const Tensor> targets = {},
    std::source_location where = std::source_location::current());

}  // namespace weft

#endif  // WEFT_RUNTIME_PARTITIONER_H_
