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
// from a worker thread and its fix. Prints to stdout.
[[nodiscard]] absl::Status RunDemo(const DemoOptions& options);

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_DEMO_H_
