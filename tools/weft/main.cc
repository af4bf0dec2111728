// The `weft` command-line tool: `weft demo [--trace FILE] [--dot FILE]`.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/weft/demo.h"

ABSL_FLAG(std::string, trace, "",
          "demo: write the run's Chrome trace-event JSON to this file");
ABSL_FLAG(std::string, dot, "",
          "demo: write the partitioned plan as Graphviz DOT to this file");

namespace {
constexpr char kUsage[] =
    "weft — a multi-graph dataflow runtime with explicit graph handles.\n\n"
    "Usage: weft <command> [flags]\n\n"
    "Commands:\n"
    "  demo    build a two-layer MLP on cpu:0 and cpu:1, run it, print the\n"
    "          partitions, transfers and times, then show the cross-graph\n"
    "          error from a worker thread and its fix\n\n"
    "Flags:\n"
    "  --trace=FILE   (demo) write the Chrome trace JSON (Perfetto)\n"
    "  --dot=FILE     (demo) write Graphviz DOT, one cluster per partition\n"
    "  --help         this text; --helpfull lists every flag";
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2 || std::string(args[1]) != "demo") {
    std::fprintf(stderr, "%s\n", kUsage);
    return args.size() == 1 ? 0 : 2;
  }
  weft::tools::DemoOptions options;
  options.trace_path = absl::GetFlag(FLAGS_trace);
  options.dot_path = absl::GetFlag(FLAGS_dot);
  absl::Status s = weft::tools::RunDemo(options);
  if (!s.ok()) {
    std::fprintf(stderr, "weft demo failed: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
