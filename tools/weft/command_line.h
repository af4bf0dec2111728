// command_line.h — the `weft` tool's command line: its commands and flags
// (one table, from which the parser, `weft --help` and `weft <command>
// --help` are all made), the parser, and "did you mean" suggestions by edit
// distance (also used for tensor and function names). docs/cli.md
// describes the commands.
//
//   Invocation inv = ParseCommandLine(argc, argv);  // sets the absl flags
//   if (inv.help) return PrintHelp(inv.command);      // stdout, exit 0
//   if (!inv.error.empty()) return PrintUsageError(inv);  // stderr, exit 2
//   ... run inv.command with inv.args, inv.feeds, inv.fetches ...
#ifndef WEFT_TOOLS_WEFT_COMMAND_LINE_H_
#define WEFT_TOOLS_WEFT_COMMAND_LINE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::tools {

// A flag of the tool. --feed, --fetch and --input_shape repeat and, with
// --out (alias -o), are collected into Invocation; every other flag is an
// absl flag of the same name, set by ParseCommandLine.
struct FlagSpec {
  std::string_view name;   // "out_dir"
  std::string_view value;  // what it takes: "DIR"
  std::string_view help;   // one sentence or two
};

// A command of the tool. Every member has a default member initializer, so
// designated initializers compile cleanly under -Wextra.
struct CommandSpec {
  std::string_view name = {};         // "run"
  std::string_view synopsis = {};     // the arguments after the name
  std::string_view summary = {};      // one line, for the list of commands
  std::string_view description = {};  // a paragraph, for its --help
  std::vector<std::string_view> flags = {};     // the flags it takes
  std::vector<std::string_view> required = {};  // flags it cannot do without
  int min_args = 0;  // positional arguments after the name
  int max_args = 0;
  // What the positional argument is, for "expected exactly one graph file".
  std::string_view operand = "graph file";
  std::string_view example = {};  // a command line, may be empty
};

// Every flag, and every command (demo, check, run, dot, partition, bench,
// import, help), in the order help lists them.
const std::vector<FlagSpec>& Flags();
const std::vector<CommandSpec>& Commands();
// The command or flag named `name`, or nullptr.
const CommandSpec* FindCommand(std::string_view name);
const FlagSpec* FindFlag(std::string_view name);

// A parsed command line.
struct Invocation {
  // The command ("run"), or "" if none was given (then help or an error).
  // `weft help run` is parsed as `weft run --help`.
  std::string command;
  std::vector<std::string> args;     // positional arguments after the command
  std::vector<std::string> feeds;    // --feed values, in order
  std::vector<std::string> fetches;  // --fetch values, split at commas
  // --input_shape NAME=D,D,... values, parsed, in order (names distinct).
  std::vector<std::pair<std::string, std::vector<int64_t>>> input_shapes;
  std::string out;    // --out / -o (import)
  bool help = false;  // -h, --help or `weft help`
  // A usage error (exit 2): "unknown flag --fetc; did you mean --fetch?".
  // Empty if none. `error_lists_commands`: print the commands after it.
  std::string error;
  bool error_lists_commands = false;
};

// Parses argv: the command (the first positional argument), its positional
// arguments and the flags, anywhere on the line, as `--flag value`,
// `--flag=value` or with one dash; a bare `--` ends the flags. Sets the
// absl flags it names. Checks (each a usage error): the command exists; each
// flag exists, has a value that parses, and applies to the command; the
// number of positional arguments; the flags the command requires;
// --input_shape only with an ONNX model (.onnx, or import's MODEL); --out's
// extension (.pb or .pbtxt). With -h,
// --help or `weft help [COMMAND]`, `help` is set and flag errors are
// ignored (an unknown command is still an error).
Invocation ParseCommandLine(int argc, char** argv);

// `weft --help` (command "") or `weft <command> --help` to stdout; returns
// 0 (the exit status).
int PrintHelp(std::string_view command);
// The usage error in `inv` to stderr (with the commands, or the command's
// usage line) or, with no error and no command, the tool's usage; returns
// 2.
int PrintUsageError(const Invocation& inv);

// True if `path` names an ONNX model: it ends in ".onnx" (any case).
bool IsOnnxPath(std::string_view path);

// The help texts PrintHelp prints.
std::string GlobalHelp();
std::string CommandHelp(const CommandSpec& command);

// The optimal-string-alignment edit distance (insertions, deletions,
// substitutions and transpositions of adjacent characters each cost 1).
int EditDistance(std::string_view a, std::string_view b);

// Up to `max` of `candidates` closest to `word` (a likely typo), all at the
// smallest distance: the edit distance ignoring case, if at most a third of
// the word's length (at least 1 for 2+ characters); a candidate whose last
// '/' component is the word counts as distance 1, and one the word (3+
// characters) is a prefix of as close too ("part" for "partition").
std::vector<std::string> NearestNames(
    std::string_view word, const std::vector<std::string>& candidates,
    int max = 3);

// "; did you mean 'layer2/probs'?" or "; did you mean 'a' or 'b'?" (each
// name between `prefix` and `suffix`: "--" and "" give "--fetch"), or "" if
// no candidate is close (NearestNames).
std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates,
                       std::string_view prefix = "'",
                       std::string_view suffix = "'");

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_COMMAND_LINE_H_
