// The `weft` command-line tool: `weft demo [--trace FILE] [--dot FILE]`, the
// commands on graph files and ONNX models (tools/weft/cli.h), `weft serve`
// (tools/weft/serve.h) and help; the
// command line is parsed by tools/weft/command_line.h.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "tools/weft/cli.h"
#include "tools/weft/command_line.h"
#include "tools/weft/demo.h"
#include "tools/weft/serve.h"

ABSL_FLAG(std::string, trace, "",
          "demo, run: write the run's Chrome trace-event JSON to this file");
ABSL_FLAG(std::string, dot, "",
          "demo: write the partitioned plan as Graphviz DOT to this file");

int main(int argc, char** argv) {
  using weft::tools::Invocation;
  const Invocation inv = weft::tools::ParseCommandLine(argc, argv);
  if (inv.help && inv.error.empty())
    return weft::tools::PrintHelp(inv.command);  // 0
  if (!inv.error.empty() || inv.command.empty()) {
    return weft::tools::PrintUsageError(inv);  // 2
  }
  if (weft::tools::IsGraphCommand(inv.command)) {
    return weft::tools::RunGraphCommand(inv);
  }
  if (inv.command == "serve") return weft::tools::RunServe(inv);
  weft::tools::DemoOptions options;  // inv.command == "demo"
  options.trace_path = absl::GetFlag(FLAGS_trace);
  options.dot_path = absl::GetFlag(FLAGS_dot);
  absl::Status s = weft::tools::RunDemo(options);
  if (!s.ok()) {
    std::fprintf(stderr, "weft demo: %s: %s\n",
                 absl::StatusCodeToString(s.code()).c_str(),
                 std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
