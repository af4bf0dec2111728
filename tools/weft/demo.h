// demo.h — defines weft::tools::RunDemo, the `weft demo` command.
#ifndef WEFT_TOOLS_WEFT_DEMO_H_
#define WEFT_TOOLS_WEFT_DEMO_H_

#include <string>

#include "absl/status/status.h"

namespace weft::tools {

struct DemoOptions {
  std::string trace_path;  // Write the Chrome trace here if not empty.
  std::string dot_path;    // Write the partition DOT here if not empty.
};

// Builds and runs a two-layer MLP over cpu:0 and cpu:1, prints results,
// partitions, transfers and times, then demonstrates the cross-graph error
// from a worker thread and its fix, then sections 6 and 7 below. Prints to
// stdout.
[[nodiscard]] absl::Status RunDemo(const DemoOptions& options);

// Section 6 (demo_state.cc): Variables shared by a training and a serving
// graph, a checkpoint saved and restored.
[[nodiscard]] absl::Status RunStateDemo();
// Section 7 (demo_async.cc): producers feeding a Queue into a graph, and the
// Batcher serving 64 clients with and without batching.
[[nodiscard]] absl::Status RunAsyncDemo();

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_DEMO_H_
