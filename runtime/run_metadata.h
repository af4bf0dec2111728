// run_metadata.h — defines weft::RunMetadata, what Session::Run reports about
// one step (partitions, transfers, per-node and per-partition wall times, and
// optionally a Chrome trace-event JSON), and weft::NodeExecStats.
#ifndef WEFT_RUNTIME_RUN_METADATA_H_
#define WEFT_RUNTIME_RUN_METADATA_H_

#include <cstdint>
#include <string>
#include <vector>

namespace weft {

// One executed step of a partition (a node's kernel, a Send or a Recv).
struct NodeExecStats {
  std::string name;  // Node name, or "send <key>" / "recv <key>".
  std::string op;    // Op type, or "Send" / "Recv" / "Feed".
  int partition = 0;
  std::string device;
  int64_t start_ns = 0;  // Since the start of the run.
  int64_t duration_ns = 0;
};

// Filled by Session::Run when a non-null pointer is passed.
//
// Thread safety: a plain value; not shared by weft after Run returns.
struct RunMetadata {
  int num_partitions = 0;
  int num_transfers = 0;
  std::vector<NodeExecStats> node_stats;  // In order of completion.
  // Per partition: from its first step's start to its last step's end.
  std::vector<std::string> partition_devices;
  std::vector<int64_t> partition_wall_ns;
  int64_t run_wall_ns = 0;
  // The partitioner's text dump of the plan that ran.
  std::string partition_dump;
  // With RunOptions.trace: Chrome trace-event JSON, one track per device
  // (opens in Perfetto / chrome://tracing).
  std::string chrome_trace_json;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_RUN_METADATA_H_
