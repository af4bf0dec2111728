// cli.h — defines the `weft` tool's commands on graph files (check, run,
// dot, partition, bench): weft::tools::IsGraphCommand and RunGraphCommand.
// The command line is parsed by tools/weft/command_line.h; docs/cli.md
// describes each command.
//
//   Invocation inv = ParseCommandLine(argc, argv);
//   if (IsGraphCommand(inv.command)) {
//     return RunGraphCommand(inv.command, inv.args[0], inv.feeds, inv.fetches);
//   }
#ifndef WEFT_TOOLS_WEFT_CLI_H_
#define WEFT_TOOLS_WEFT_CLI_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace weft::tools {

// True for "check", "run", "dot", "partition", "bench".
bool IsGraphCommand(std::string_view command);

// Runs graph command `command` on the graph file `graph` (relative to
// BUILD_WORKING_DIRECTORY under `bazel run`) with the --feed and --fetch
// values and the absl flags ParseCommandLine set; prints results to stdout
// and errors to stderr. Returns the exit status: 0 success, 1 an error (the
// status message is printed).
int RunGraphCommand(const std::string& command, const std::string& graph,
                    const std::vector<std::string>& feeds,
                    const std::vector<std::string>& fetches);

// Writes `contents` to `path` (replacing it); the error names the path and
// the system's reason: "cannot write '/no/such/t.json': No such file or
// directory" (kNotFound, kPermissionDenied, else kUnavailable).
absl::Status WriteWholeFile(const std::string& path, std::string_view contents);

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_CLI_H_
