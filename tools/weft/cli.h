// cli.h — defines the `weft` tool's commands on graph files (check, run,
// dot, partition, bench) and ONNX models (those, and import):
// weft::tools::IsGraphCommand and RunGraphCommand. The command line is
// parsed by tools/weft/command_line.h; docs/cli.md describes each command.
//
//   Invocation inv = ParseCommandLine(argc, argv);
//   if (IsGraphCommand(inv.command)) return RunGraphCommand(inv);
#ifndef WEFT_TOOLS_WEFT_CLI_H_
#define WEFT_TOOLS_WEFT_CLI_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "tools/weft/command_line.h"

namespace weft::tools {

// True for "check", "run", "dot", "partition", "bench", "import".
bool IsGraphCommand(std::string_view command);

// Runs graph command `inv.command` on the file `inv.args[0]` (relative to
// BUILD_WORKING_DIRECTORY under `bazel run`): a weft graph file (.pb,
// .pbtxt) or an ONNX model (.onnx, imported with inv.input_shapes; import
// reads its argument as ONNX whatever the extension), with inv's --feed,
// --fetch and --out values and the absl flags ParseCommandLine set; prints
// results to stdout and errors to stderr. Returns the exit status: 0
// success, 1 an error (the status message is printed).
int RunGraphCommand(const Invocation& inv);

// Writes `contents` to `path` (replacing it); the error names the path and
// the system's reason: "cannot write '/no/such/t.json': No such file or
// directory" (kNotFound, kPermissionDenied, else kUnavailable).
absl::Status WriteWholeFile(const std::string& path, std::string_view contents);

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_CLI_H_
