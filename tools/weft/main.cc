// The `weft` command-line tool: `weft demo [--trace FILE] [--dot FILE]`, and
// the commands on graph files (tools/weft/cli.h).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/weft/cli.h"
#include "tools/weft/demo.h"

ABSL_FLAG(std::string, trace, "",
          "demo: write the run's Chrome trace-event JSON to this file (also "
          "run)");
ABSL_FLAG(std::string, dot, "",
          "demo: write the partitioned plan as Graphviz DOT to this file");

namespace {
const std::string& Usage() {
  static const std::string* usage = new std::string(absl::StrCat(
      "weft — a multi-graph dataflow runtime with explicit graph handles.\n\n"
      "Usage: weft <command> [flags]\n\n"
      "Commands:\n"
      "  demo    build a two-layer MLP on cpu:0 and cpu:1, run it, print the\n"
      "          partitions, transfers and times, then show the cross-graph\n"
      "          error from a worker thread and its fix\n",
      weft::tools::kGraphCommandsUsage,
      "\nFlags: --trace=FILE and --dot=FILE (demo); --feed and --fetch may\n"
      "repeat; --help describes them all, --helpfull lists every flag.\n"
      "Graph files: docs/graph_format.md; commands: docs/cli.md."));
  return *usage;
}

// --help lists the flags defined by the tool itself (this directory).
bool IsToolFlagFile(absl::string_view file) {
  return absl::StrContains(file, "tools/weft/");
}
}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(Usage());
  absl::FlagsUsageConfig config;
  config.contains_help_flags = &IsToolFlagFile;
  config.contains_helpshort_flags = &IsToolFlagFile;
  absl::SetFlagsUsageConfig(config);
  std::vector<std::string> feeds, fetches;
  weft::tools::ExtractRepeatedFlags(argc, argv, feeds, fetches);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() >= 2 && weft::tools::IsGraphCommand(args[1])) {
    return weft::tools::RunGraphCommand(args, feeds, fetches);
  }
  if (args.size() != 2 || std::string(args[1]) != "demo") {
    std::fprintf(stderr, "%s\n", Usage().c_str());
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
