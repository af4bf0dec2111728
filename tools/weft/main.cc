// The `weft` command-line tool: `weft demo [--trace FILE] [--dot FILE]`.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
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
    "Flags: --trace=FILE and --dot=FILE (demo); --help describes them,\n"
    "--helpfull lists every flag.";

// --help lists the flags defined by the tool itself (this directory).
bool IsToolFlagFile(absl::string_view file) {
  return absl::StrContains(file, "tools/weft/");
}
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = &IsToolFlagFile;
  config.contains_helpshort_flags = &IsToolFlagFile;
  absl::SetFlagsUsageConfig(config);
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
