#include "tools/weft/command_line.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/graph_io.h"

namespace weft::tools {
namespace {

constexpr int kWidth = 78;  // help text is wrapped at this column
constexpr int kIndent = 6;  // under a command or flag line
constexpr char kMore[] =
    "Commands and examples: docs/cli.md; graph files: "
    "docs/graph_format.md;\nONNX models: docs/onnx.md.\n";

// `text` wrapped at kWidth, each line indented by `indent` spaces.
std::string Wrap(std::string_view text, int indent) {
  std::string out, line;
  const std::string pad(indent, ' ');
  for (std::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() &&
        static_cast<int>(pad.size() + line.size() + 1 + word.size()) > kWidth) {
      absl::StrAppend(&out, pad, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, pad, line, "\n");
  return out;
}

std::string Dashed(std::string_view flag) { return absl::StrCat("--", flag); }

std::string Quote(std::string_view s) { return absl::StrCat("'", s, "'"); }

bool IsHelpFlag(std::string_view name) {
  return name == "h" || name == "help" || name == "helpfull" ||
         name == "helpshort" || name == "?";
}

// "weft run: " or "weft: ".
std::string ErrorPrefix(std::string_view command) {
  return command.empty() ? "weft: " : absl::StrCat("weft ", command, ": ");
}

// `head` and then `synopsis`, wrapped at kWidth with continuation lines
// indented by `indent`; a bracketed group ("[--devices D,...]") is never
// split.
std::string WrapSynopsis(std::string_view head, std::string_view synopsis,
                         int indent) {
  std::vector<std::string> words;
  std::string word;
  int depth = 0;
  for (char ch : synopsis) {
    if (ch == '[') ++depth;
    if (ch == ']') --depth;
    if (ch == ' ' && depth == 0) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(ch);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  std::string out(head);
  size_t column = head.size();
  bool line_empty = false;  // a continuation line with no word yet
  for (const std::string& w : words) {
    if (!line_empty && column + 1 + w.size() > kWidth) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
      line_empty = true;
    }
    absl::StrAppend(&out, line_empty ? "" : " ", w);
    column += (line_empty ? 0 : 1) + w.size();
    line_empty = false;
  }
  return absl::StrCat(out, "\n");
}

// "Usage: weft run GRAPH ...", continued under "GRAPH".
std::string UsageLine(const CommandSpec& c) {
  const std::string head = absl::StrCat("Usage: weft ", c.name);
  return WrapSynopsis(head, c.synopsis, static_cast<int>(head.size()) + 1);
}

std::string CommandList() {
  std::string out = "Commands:\n";
  for (const CommandSpec& c : Commands()) {
    absl::StrAppendFormat(&out, "  %-10s %s\n", c.name, c.summary);
  }
  return out;
}

std::vector<std::string> AllFlagNames() {
  std::vector<std::string> out;
  for (const FlagSpec& f : Flags()) out.emplace_back(f.name);
  out.emplace_back("help");
  return out;
}

// "--out" and its alias "-o"; "--input_shape".
std::string FlagLabel(std::string_view name) {
  return name == "out" ? "-o, --out" : Dashed(name);
}

// --input_shape's value: NAME=D[,D...], each D a non-negative integer (the
// name may itself contain '='; the dims follow the last one). An error
// message, or "" with `name` and `dims` set.
std::string ParseInputShape(std::string_view value, std::string& name,
                            std::vector<int64_t>& dims) {
  const std::string expected = absl::StrCat(
      "invalid value ", Quote(value),
      " for --input_shape: expected NAME=D[,D...] (the ONNX input's name and "
      "non-negative integer dims, like images=1,3,640,640)");
  const size_t eq = value.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == value.size()) {
    return expected;
  }
  name = std::string(value.substr(0, eq));
  dims.clear();
  for (std::string_view d : absl::StrSplit(value.substr(eq + 1), ',')) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(d, &v) || v < 0) return expected;
    dims.push_back(v);
  }
  return "";
}

std::vector<std::string> AllCommandNames() {
  std::vector<std::string> out;
  for (const CommandSpec& c : Commands()) out.emplace_back(c.name);
  return out;
}

// The absl flag `name` set from `value`; a usage error if it does not parse
// or is out of range.
std::string SetFlag(const FlagSpec& spec, const std::string& value) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(spec.name);
  if (flag == nullptr) {
    return absl::StrCat("internal error: flag ", Dashed(spec.name),
                        " is not defined");
  }
  std::string error;
  if (!flag->ParseFrom(value, &error)) {
    return absl::StrCat("invalid value ", Quote(value), " for ",
                        Dashed(spec.name), ": expected ", spec.value,
                        flag->IsOfType<int>() ? " (an integer)" : "");
  }
  if (flag->IsOfType<int>()) {
    int v = 0;
    if (absl::SimpleAtoi(flag->CurrentValue(), &v)) {
      const int min = spec.name == "threads" ? 0 : 1;
      if (v < min) {
        return absl::StrCat("invalid value ", Quote(value), " for ",
                            Dashed(spec.name), ": must be >= ", min);
      }
    }
  }
  return "";
}

}  // namespace

const std::vector<FlagSpec>& Flags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"feed", "NAME=VALUE",
       "feed tensor NAME ('x' or 'x:0'; usually a placeholder) with VALUE: "
       "inline JSON, a number or a nested array ('x=[[1,2],[3,4]]', the "
       "dtype taken from the tensor), or @FILE.npy. Repeatable."},
      {"fetch", "NAME[,NAME...]",
       "tensors to fetch ('probs' or 'probs:0'). Repeatable, or "
       "comma-separated."},
      {"devices", "D[,D...]",
       "the session's devices, comma-separated (cpu:0,cpu:1). Default: the "
       "devices the graph's nodes name, else cpu:0; nodes without a device "
       "go to the first."},
      {"threads", "T", "threads per device arena (default 0: oneTBB's)."},
      {"trace", "FILE",
       "write the run's Chrome trace-event JSON to FILE (one track per "
       "device; open it in ui.perfetto.dev)."},
      {"dot", "FILE", "write the partitioned plan as Graphviz DOT to FILE."},
      {"out_dir", "DIR",
       "write each fetch to DIR/<fetch>.npy ('/' and ':' in the name become "
       "'_') instead of printing it. DIR must exist."},
      {"runs", "N", "timed runs, after one warm-up run (default 100)."},
      {"clients", "C", "threads calling Session::Run at once (default 1)."},
      {"function", "F",
       "show the body of the graph's function F instead (its arguments and "
       "captures fed; --fetch defaults to its outputs)."},
      {"input_shape", "NAME=D,D,...",
       "ONNX models only: the shape of the model's input NAME (its ONNX "
       "name), pinning its symbolic dims (images=1,3,640,640); every known "
       "dim must agree with the model's. Repeatable. Without it, run and "
       "bench pin each fed input to its --feed value's shape."},
      {"out", "FILE",
       "the weft graph file to write: .pb (binary) or .pbtxt (text), by "
       "the extension."},
      {"listen", "HOST:PORT",
       "serve: the address to listen on (port 0: any free port). Without "
       "TLS only a loopback host (127.0.0.1, ::1, localhost)."},
      {"port_file", "PATH",
       "serve: once listening, write the bound port to PATH (atomically: "
       "a script can wait for the file)."},
      {"tls_cert", "FILE", "serve: this server's certificate chain (PEM)."},
      {"tls_key", "FILE", "serve: the private key of --tls_cert (PEM)."},
      {"tls_ca", "FILE",
       "serve: require client certificates chaining to this CA (PEM): "
       "mutual TLS."},
  };
  return *flags;
}

// Long (~120 lines): a table, one entry per command with its synopsis, flags
// and help text; data rather than control flow.
const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {.name = "demo",
       .synopsis = "[--trace FILE] [--dot FILE]",
       .summary = "the built-in demo: an MLP on two devices, the "
                  "cross-graph error",
       .description =
           "Builds a two-layer MLP on cpu:0 and cpu:1, runs it and prints "
           "the partitions, transfers and times; then shows the "
           "cross-graph error from a worker thread and its fix, trains a "
           "model whose Variables a second graph serves from, and serves "
           "clients through a Queue and the dynamic Batcher.",
       .flags = {"trace", "dot"},
       .example = "weft demo --trace=/tmp/t.json --dot=/tmp/plan.dot"},
      {.name = "check",
       .synopsis = "GRAPH [--input_shape NAME=D,...]",
       .summary = "load a graph file and print a summary, or the error",
       .description =
           "Loads the graph file GRAPH (.pb or .pbtxt, written by "
           "weft::SaveGraph), which re-runs every build-time check, and "
           "prints its nodes by op, placeholders, devices, resources and "
           "function library; or the error (exit status 1). For an ONNX "
           "model (.onnx) it prints the model (opset, producer), its ops "
           "with counts, its inputs and outputs with their dtypes and dims "
           "(symbolic dims by name: x: float32[N,3,H,W]), and then 'imports: "
           "N weft nodes' or the importer's error listing every unsupported "
           "node (exit status 1).",
       .flags = {"input_shape"},
       .min_args = 1,
       .max_args = 1,
       .example = "weft check examples/mlp.pbtxt"},
      {.name = "run",
       .synopsis = "GRAPH --feed NAME=VALUE ... --fetch NAME ... "
                   "[--devices D,...] [--threads T] [--trace FILE] "
                   "[--out_dir DIR] [--input_shape NAME=D,...]",
       .summary = "run a graph file; print or save each fetch",
       .description =
           "Runs GRAPH once with the fed values and prints each fetch as "
           "'name: dtype[shape] = <JSON>', or with --out_dir writes it to "
           "DIR/<name>.npy. GRAPH may be an ONNX model (.onnx): --feed and "
           "--fetch then also take the model's input and output names.",
       .flags = {"feed", "fetch", "devices", "threads", "trace", "out_dir",
                 "input_shape"},
       .required = {"fetch"},
       .min_args = 1,
       .max_args = 1,
       .example = "weft run examples/mlp.pbtxt --feed 'x=[[1,2,3,4]]' "
                  "--fetch layer2/probs"},
      {.name = "dot",
       .synopsis = "GRAPH [--fetch NAME ...] [--devices D,...] [--function F] "
                   "[--input_shape NAME=D,...]",
       .summary = "the partitioned graph as Graphviz DOT",
       .description =
           "Prints the partitioned plan of GRAPH (or of function F's body) as "
           "Graphviz DOT: one cluster per device, transfers dashed. Without "
           "--fetch it fetches every output no node consumes (of an ONNX "
           "model: the model's outputs).",
       .flags = {"fetch", "devices", "function", "input_shape"},
       .min_args = 1,
       .max_args = 1,
       .example = "weft dot examples/mlp.pbtxt | dot -Tpng > mlp.png"},
      {.name = "partition",
       .synopsis = "GRAPH --fetch NAME ... --devices D,... [--function F] "
                   "[--input_shape NAME=D,...]",
       .summary = "the deterministic partition dump (golden tests)",
       .description =
           "Prints the deterministic partition dump of GRAPH (or of function "
           "F's body), PartitionedGraph::DebugString(), which "
           "weft_partition_test compares with a golden file. Needs "
           "--devices, and --fetch unless --function is given.",
       .flags = {"fetch", "devices", "function", "input_shape"},
       .required = {"devices"},
       .min_args = 1,
       .max_args = 1,
       .example = "weft partition examples/mlp.pbtxt --fetch layer2/probs "
                  "--devices cpu:0,cpu:1"},
      {.name = "bench",
       .synopsis = "GRAPH --feed NAME=VALUE ... --fetch NAME ... [--runs N] "
                   "[--threads T] [--clients C] [--devices D,...] "
                   "[--input_shape NAME=D,...]",
       .summary = "latency percentiles and throughput of a graph file",
       .description =
           "One warm-up run (compiles and caches the plan), then --runs timed "
           "Session::Run calls spread over --clients threads; prints the "
           "latency percentiles and the throughput. Build with -c opt for "
           "meaningful numbers.",
       .flags = {"feed", "fetch", "runs", "threads", "clients", "devices",
                 "input_shape"},
       .required = {"fetch"},
       .min_args = 1,
       .max_args = 1,
       .example = "weft bench examples/mlp.pbtxt --feed 'x=[[1,2,3,4]]' "
                  "--fetch layer2/probs --runs 1000"},
      {.name = "import",
       .synopsis = "MODEL.onnx -o GRAPH [--input_shape NAME=D,...]",
       .summary = "import an ONNX model and save it as a weft graph file",
       .description =
           "Imports the ONNX model MODEL (weft::ImportOnnx; docs/onnx.md "
           "lists the ops) and writes the graph to GRAPH with "
           "weft::SaveGraph: .pb (binary) or .pbtxt (text), by the "
           "extension. Prints one line: the nodes, the model's inputs and "
           "outputs with the weft tensors they became (the names to --feed "
           "and --fetch in the saved graph), and the opset. A model with "
           "unsupported ops is refused with every unsupported node listed "
           "(exit status 1).",
       .flags = {"out", "input_shape"},
       .required = {"out"},
       .min_args = 1,
       .max_args = 1,
       .operand = "ONNX model file",
       .example = "weft import det.onnx -o det.pbtxt "
                  "--input_shape images=1,3,640,640"},
      {.name = "serve",
       .synopsis = "--listen HOST:PORT [--devices D,...] [--port_file PATH] "
                   "[--threads T] [--tls_cert F --tls_key F [--tls_ca F]]",
       .summary = "run a worker task of a cluster until SIGTERM",
       .description =
           "Starts a weft::Server (distributed/server.h) on HOST:PORT with "
           "the devices D (default cpu:0) and serves client Sessions whose "
           "SessionOptions::cluster lists this address, until SIGTERM or "
           "SIGINT: then it stops accepting calls, lets steps in flight "
           "finish for up to 5 s and exits 0. Prints one line when "
           "listening: the address, the incarnation and the devices. "
           "docs/distributed.md has the model.",
       .flags = {"listen", "devices", "port_file", "threads", "tls_cert",
                 "tls_key", "tls_ca"},
       .required = {"listen"},
       .min_args = 0,
       .max_args = 0,
       .example = "weft serve --listen 127.0.0.1:5000 --devices cpu:0,cpu:1"},
      {.name = "help",
       .synopsis = "[COMMAND]",
       .summary = "this help, or a command's usage and flags",
       .description = "Prints the tool's help, or COMMAND's usage and flags "
                      "(the same as 'weft COMMAND --help').",
       .min_args = 0,
       .max_args = 1,
       .example = "weft help run"},
  };
  return *commands;
}

const CommandSpec* FindCommand(std::string_view name) {
  for (const CommandSpec& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& f : Flags()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

namespace {

// What one pass over argv found besides what it set in the Invocation.
struct ScannedArgs {
  std::vector<std::string> positional;
  // The values of the flags that set absl flags, set once the command is
  // known to take them.
  std::vector<std::pair<const FlagSpec*, std::string>> values;
  std::vector<std::string_view> given;  // flag names, in order
  std::string flag_error;               // the first one
};

// Records `value` of the flag `spec`: the flags the Invocation holds go
// there (a bad --input_shape or a second --out is a flag error), the
// others into scanned.values.
void ApplyFlagValue(const FlagSpec& spec, std::string value, Invocation& inv,
                    ScannedArgs& scanned) {
  if (spec.name == "feed") {
    inv.feeds.push_back(std::move(value));
  } else if (spec.name == "fetch") {
    for (std::string_view f : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      inv.fetches.emplace_back(f);
    }
  } else if (spec.name == "input_shape") {
    std::string shape_name;
    std::vector<int64_t> dims;
    std::string error = ParseInputShape(value, shape_name, dims);
    for (const auto& [n, d] : inv.input_shapes) {
      if (error.empty() && n == shape_name) {
        error = absl::StrCat("--input_shape gives input ", Quote(n), " twice");
      }
    }
    if (!error.empty()) {
      if (scanned.flag_error.empty()) scanned.flag_error = std::move(error);
      return;
    }
    inv.input_shapes.emplace_back(std::move(shape_name), std::move(dims));
  } else if (spec.name == "out") {
    if (!inv.out.empty() && scanned.flag_error.empty()) {
      scanned.flag_error = "--out (-o) given twice";
    }
    inv.out = std::move(value);
  } else {
    scanned.values.emplace_back(&spec, std::move(value));
  }
}

// Splits argv into positional arguments and flags (setting inv.help and
// the flags the Invocation holds); the first unknown flag or flag without
// a value is scanned.flag_error.
ScannedArgs ScanArguments(int argc, char** argv, Invocation& inv) {
  ScannedArgs scanned;
  bool rest = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (rest || arg == "-" || !absl::StartsWith(arg, "-")) {
      scanned.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      rest = true;
      continue;
    }
    std::string_view body = arg.substr(absl::StartsWith(arg, "--") ? 2 : 1);
    std::string_view name = body;
    std::string value;
    bool has_value = false;
    if (const size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = std::string(body.substr(eq + 1));
      has_value = true;
    }
    if (IsHelpFlag(name)) {
      inv.help = true;
      continue;
    }
    const FlagSpec* spec = FindFlag(name == "o" ? "out" : name);
    if (spec == nullptr) {
      if (scanned.flag_error.empty()) {
        scanned.flag_error = absl::StrCat(
            "unknown flag ", arg.substr(0, arg.size() - body.size()), name,
            DidYouMean(name, AllFlagNames(), "--", ""));
      }
      continue;
    }
    if (!has_value) {
      if (i + 1 < argc && !absl::StartsWith(argv[i + 1], "--")) {
        value = argv[++i];
      } else {
        if (scanned.flag_error.empty()) {
          scanned.flag_error =
              absl::StrCat("flag ", Dashed(spec->name), " needs a value (",
                           Dashed(spec->name), " ", spec->value, ")");
        }
        continue;
      }
    }
    scanned.given.push_back(spec->name);
    ApplyFlagValue(*spec, std::move(value), inv, scanned);
  }
  return scanned;
}

// Sets inv.command and inv.args from the positional arguments (`weft help
// run` becoming `weft run --help`) and returns the command's spec; nullptr
// when there is none to check the line against: an error (set in inv) or
// plain `weft help`.
const CommandSpec* ResolveCommand(const std::vector<std::string>& positional,
                                  Invocation& inv) {
  inv.command = positional[0];
  inv.args.assign(positional.begin() + 1, positional.end());
  if (inv.command == "help") {
    inv.help = true;
    if (inv.args.size() > 1) {
      inv.error = absl::StrCat("help takes at most one command (got ",
                               inv.args.size(), ")");
      return nullptr;
    }
    inv.command = inv.args.empty() ? "" : inv.args[0];
    inv.args.clear();
    if (inv.command.empty()) return nullptr;
  }
  const CommandSpec* command = FindCommand(inv.command);
  if (command == nullptr) {
    inv.error = absl::StrCat("unknown command ", Quote(inv.command),
                             DidYouMean(inv.command, AllCommandNames()));
    inv.error_lists_commands = true;
    inv.command.clear();
  }
  return command;
}

// The error for the first of `given` that `command` does not take, or "".
std::string FlagNotApplyingError(const CommandSpec& command,
                                 const std::vector<std::string_view>& given) {
  for (std::string_view name : given) {
    if (std::find(command.flags.begin(), command.flags.end(), name) ==
        command.flags.end()) {
      return absl::StrCat(
          Dashed(name), " does not apply to ", command.name, "; ",
          command.flags.empty()
              ? absl::StrCat(command.name, " takes no flags")
              : absl::StrCat(
                    "its flags are ",
                    absl::StrJoin(command.flags, ", ",
                                  [](std::string* out, std::string_view f) {
                                    out->append(Dashed(f));
                                  })));
    }
  }
  return "";
}

// The error for a number of positional arguments `command` does not take,
// or "".
std::string ArgumentCountError(const CommandSpec& command,
                               const std::vector<std::string>& args) {
  const int n = static_cast<int>(args.size());
  if (n >= command.min_args && n <= command.max_args) return "";
  if (command.min_args == 1 && command.max_args == 1) {
    return absl::StrCat("expected exactly one ", command.operand, " (got ", n,
                        " arguments)");
  }
  return absl::StrCat("unexpected argument ", Quote(args[command.max_args]));
}

// The error for the first flag `command` needs that is not among `given`,
// or for a flag given where it cannot work (an empty --fetch, --input_shape
// without an ONNX model, --out's extension); "" if none.
std::string FlagUseError(const CommandSpec& command,
                         const std::vector<std::string_view>& given,
                         const Invocation& inv) {
  auto has = [&](std::string_view name) {
    return std::find(given.begin(), given.end(), name) != given.end();
  };
  for (std::string_view name : command.required) {
    if (!has(name)) {
      return name == "out"
                 ? absl::StrCat(command.name,
                                " needs -o FILE (or --out FILE): the weft "
                                "graph file to write, .pb or .pbtxt")
                 : absl::StrCat(command.name, " needs ", Dashed(name), " ",
                                FindFlag(name)->value);
    }
  }
  if (command.name == "partition" && !has("fetch") && !has("function")) {
    return "partition needs --fetch NAME (the tensors whose subgraph to "
           "split) or --function F";
  }
  if (has("fetch") && inv.fetches.empty()) {
    return "--fetch needs a tensor name";
  }
  if (has("input_shape") && command.name != "import" &&
      !IsOnnxPath(inv.args[0])) {
    return absl::StrCat(
        "--input_shape applies to ONNX models (.onnx) only, and ",
        Quote(inv.args[0]), " is not one");
  }
  if (has("out") && !GraphFileFormatForPath(inv.out).ok()) {
    return absl::StrCat("invalid value ", Quote(inv.out),
                        " for --out: the graph file's extension must be "
                        "'.pb' (binary) or '.pbtxt' (text)");
  }
  return "";
}

}  // namespace

Invocation ParseCommandLine(int argc, char** argv) {
  Invocation inv;
  ScannedArgs scanned = ScanArguments(argc, argv, inv);
  if (scanned.positional.empty()) {
    // `weft --help` is the tool's help; `weft` alone a usage error.
    if (!inv.help) inv.error = scanned.flag_error;
    return inv;
  }
  const CommandSpec* command = ResolveCommand(scanned.positional, inv);
  if (command == nullptr || inv.help) return inv;
  if (!scanned.flag_error.empty()) {
    inv.error = scanned.flag_error;
    return inv;
  }
  inv.error = FlagNotApplyingError(*command, scanned.given);
  if (!inv.error.empty()) return inv;
  inv.error = ArgumentCountError(*command, inv.args);
  if (!inv.error.empty()) return inv;
  for (const auto& [spec, value] : scanned.values) {
    if (std::string error = SetFlag(*spec, value); !error.empty()) {
      inv.error = std::move(error);
      return inv;
    }
  }
  inv.error = FlagUseError(*command, scanned.given, inv);
  return inv;
}

bool IsOnnxPath(std::string_view path) {
  return absl::EndsWithIgnoreCase(path, ".onnx");
}

std::string GlobalHelp() {
  std::string out =
      "weft — a multi-graph dataflow runtime with explicit graph handles.\n\n"
      "Usage: weft <command> [flags]\n"
      "       weft <command> --help    (a command's usage, flags and an "
      "example)\n\n"
      "Commands:\n";
  for (const CommandSpec& c : Commands()) {
    absl::StrAppend(&out,
                    WrapSynopsis(absl::StrCat("  ", c.name), c.synopsis, 8),
                    Wrap(c.summary, kIndent));
  }
  absl::StrAppend(&out,
                  "\nFlags (--flag VALUE or --flag=VALUE; each command takes "
                  "some):\n");
  for (const FlagSpec& f : Flags()) {
    std::vector<std::string_view> users;
    for (const CommandSpec& c : Commands()) {
      if (std::find(c.flags.begin(), c.flags.end(), f.name) != c.flags.end()) {
        users.push_back(c.name);
      }
    }
    absl::StrAppend(
        &out, "  ", FlagLabel(f.name), " ", f.value, "\n",
        Wrap(absl::StrCat(absl::StrJoin(users, ", "), ": ", f.help), kIndent));
  }
  absl::StrAppend(
      &out, "  -h, --help\n",
      Wrap("this help; after a command, that command's help.", kIndent), "\n",
      Wrap("GRAPH is a .pb or .pbtxt file written by weft::SaveGraph, or an "
           "ONNX model (.onnx, imported on load). Exit status: 0 success, 1 "
           "an error, 2 a usage error.",
           0),
      kMore);
  return out;
}

std::string CommandHelp(const CommandSpec& c) {
  std::string out = absl::StrCat(UsageLine(c), "\n", Wrap(c.description, 0));
  absl::StrAppend(&out, "\nFlags:\n");
  for (std::string_view name : c.flags) {
    const FlagSpec& f = *FindFlag(name);
    absl::StrAppend(&out, "  ", FlagLabel(f.name), " ", f.value, "\n",
                    Wrap(f.help, kIndent));
  }
  absl::StrAppend(&out, "  -h, --help\n", Wrap("this help.", kIndent));
  if (!c.example.empty()) {
    absl::StrAppend(&out, "\nExample:\n  ", c.example, "\n");
  }
  absl::StrAppend(&out, "\n", kMore);
  return out;
}

int PrintHelp(std::string_view command) {
  const CommandSpec* c = FindCommand(command);
  const std::string text =
      c == nullptr || c->name == "help" ? GlobalHelp() : CommandHelp(*c);
  std::fputs(text.c_str(), stdout);
  return 0;
}

int PrintUsageError(const Invocation& inv) {
  if (inv.error.empty()) {
    std::fputs(GlobalHelp().c_str(), stderr);
    return 2;
  }
  std::string out = absl::StrCat(ErrorPrefix(inv.command), inv.error, "\n");
  if (const CommandSpec* c = FindCommand(inv.command);
      c != nullptr && c->name != "help") {
    absl::StrAppend(&out, UsageLine(*c), "Run 'weft ", c->name,
                    " --help' for its flags and an example.\n");
  } else {
    if (inv.error_lists_commands) absl::StrAppend(&out, CommandList());
    absl::StrAppend(&out,
                    "Run 'weft --help' for usage, 'weft <command> --help' "
                    "for a command's flags.\n");
  }
  std::fputs(out.c_str(), stderr);
  return 2;
}

int EditDistance(std::string_view a, std::string_view b) {
  // d[i][j]: the distance between a[0, i) and b[0, j).
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::vector<std::string> NearestNames(
    std::string_view word, const std::vector<std::string>& candidates,
    int max) {
  const std::string lower = absl::AsciiStrToLower(word);
  // A third of the word, so "rnu" finds "run" but "x" does not find "w".
  const int limit = word.size() < 2 ? 0 : std::max<int>(1, word.size() / 3);
  std::vector<std::pair<int, std::string>> close;
  std::set<std::string> seen;
  for (const std::string& c : candidates) {
    if (c == word || !seen.insert(c).second) continue;
    const std::string lc = absl::AsciiStrToLower(c);
    const int d = EditDistance(lower, lc);
    if (d <= limit) {
      close.emplace_back(d, c);
    } else if (const size_t slash = lc.rfind('/');
               slash != std::string::npos && lc.substr(slash + 1) == lower) {
      close.emplace_back(1, c);  // "probs" for "layer2/probs"
    } else if (word.size() >= 3 && absl::StartsWith(lc, lower)) {
      close.emplace_back(std::max(limit, 1), c);  // "part" for "partition"
    }
  }
  std::stable_sort(
      close.begin(), close.end(),
      [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& [d, c] : close) {
    // Only the nearest: "did you mean 'a'?", not "'a' or 'aaa'?".
    if (static_cast<int>(out.size()) >= max || d > close.front().first) break;
    out.push_back(c);
  }
  return out;
}

std::string DidYouMean(std::string_view word,
                       const std::vector<std::string>& candidates,
                       std::string_view prefix, std::string_view suffix) {
  const std::vector<std::string> near = NearestNames(word, candidates);
  if (near.empty()) return "";
  std::string out = "; did you mean ";
  for (size_t i = 0; i < near.size(); ++i) {
    if (i > 0) out.append(i + 1 == near.size() ? " or " : ", ");
    absl::StrAppend(&out, prefix, near[i], suffix);
  }
  return absl::StrCat(out, "?");
}

}  // namespace weft::tools
