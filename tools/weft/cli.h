// cli.h — defines the `weft` tool's commands on graph files (check, run,
// dot, partition, bench): weft::tools::IsGraphCommand, RunGraphCommand and
// the argv pre-pass for the repeatable --feed/--fetch flags. docs/cli.md
// describes each command.
//
//   std::vector<std::string> feeds, fetches;
//   ExtractRepeatedFlags(argc, argv, feeds, fetches);  // before absl parsing
//   std::vector<char*> args = absl::ParseCommandLine(argc, argv);
//   if (IsGraphCommand(args[1])) return RunGraphCommand(args, feeds, fetches);
#ifndef WEFT_TOOLS_WEFT_CLI_H_
#define WEFT_TOOLS_WEFT_CLI_H_

#include <string>
#include <string_view>
#include <vector>

namespace weft::tools {

// The usage text of the graph commands (for the tool's --help).
extern const char kGraphCommandsUsage[];

// True for "check", "run", "dot", "partition", "bench".
bool IsGraphCommand(std::string_view command);

// Removes every `--feed X`, `--feed=X`, `--fetch X`, `--fetch=X` from argv
// (updating argc) and appends their values in order: absl flags do not
// repeat and a JSON feed value contains commas. --fetch values are also
// split at commas. Stops at a bare "--".
void ExtractRepeatedFlags(int& argc, char** argv,
                          std::vector<std::string>& feeds,
                          std::vector<std::string>& fetches);

// Runs `args[1]` (a graph command) with positional `args[2...]` and the
// parsed flags; prints results to stdout and errors to stderr. Returns the
// exit status: 0 success, 1 an error (the status message is printed), 2 a
// usage error.
int RunGraphCommand(const std::vector<char*>& args,
                    const std::vector<std::string>& feeds,
                    const std::vector<std::string>& fetches);

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_CLI_H_
