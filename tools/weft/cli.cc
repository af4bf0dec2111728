#include "tools/weft/cli.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/stubs/logging.h"
#include "graph/error_util.h"
#include "graph/function_body.h"
#include "graph/graph_io.h"
#include "graph/npy.h"
#include "nlohmann/json.hpp"
#include "tools/weft/command_line.h"
#include "weft.h"

ABSL_DECLARE_FLAG(std::string, trace);  // tools/weft/main.cc

// The flags of the graph commands, set by ParseCommandLine
// (tools/weft/command_line.cc, which also has their help; --feed and
// --fetch repeat and are passed to RunGraphCommand).
ABSL_FLAG(std::vector<std::string>, devices, {},
          "run, dot, partition, bench: comma-separated devices "
          "(cpu:0,cpu:1); default: the devices the graph names, else cpu:0");
ABSL_FLAG(std::string, out_dir, "",
          "run: write each fetch to DIR/<fetch>.npy ('/' and ':' become '_') "
          "instead of printing it");
ABSL_FLAG(int, runs, 100, "bench: timed runs (after one warm-up run)");
ABSL_FLAG(int, threads, 0,
          "run, bench: threads per device arena (0 = oneTBB's default)");
ABSL_FLAG(int, clients, 1, "bench: threads calling Session::Run at once");
ABSL_FLAG(std::string, function, "",
          "dot, partition: show the body of the graph's function NAME (its "
          "arguments and captures fed; --fetch defaults to its outputs)");

namespace weft::tools {

namespace {

using internal::Quoted;

// Protobuf's own log lines (e.g. about invalid UTF-8 in a corrupt file)
// would duplicate the status weft prints; fatal ones still print.
void ProtobufLogHandler(google::protobuf::LogLevel level, const char* file,
                        int line, const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL) {
    std::fprintf(stderr, "protobuf fatal at %s:%d: %s\n", file, line,
                 message.c_str());
  }
}

// Under `bazel run` the tool runs in its runfiles directory; a relative
// path means one relative to where the user typed the command.
std::string UserPath(std::string_view path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr || *cwd == '\0') {
    return std::string(path);
  }
  return absl::StrCat(cwd, "/", path);
}

// ------------------------------------------------------------- feeds ----

constexpr int kMaxJsonDepth = 32;

// Walks a nested JSON array: the shape from the first element at each level
// (every sibling must match) and the leaves in row-major order.
absl::Status Flatten(const nlohmann::json& j, int depth,
                     std::vector<int64_t>& shape, bool& shape_done,
                     std::vector<const nlohmann::json*>& leaves) {
  if (depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("arrays nest deeper than ", kMaxJsonDepth, " levels"));
  }
  if (!j.is_array()) {
    if (!shape_done) shape_done = true;
    if (static_cast<int>(shape.size()) != depth) {
      return absl::InvalidArgumentError(
          "ragged array: elements at one level differ in nesting");
    }
    leaves.push_back(&j);
    return absl::OkStatus();
  }
  if (!shape_done) {
    shape.push_back(static_cast<int64_t>(j.size()));
    if (j.empty()) shape_done = true;
  } else if (depth >= static_cast<int>(shape.size()) ||
             shape[depth] != static_cast<int64_t>(j.size())) {
    return absl::InvalidArgumentError(
        "ragged array: rows of one level differ in length");
  }
  for (const nlohmann::json& e : j) {
    if (absl::Status s = Flatten(e, depth + 1, shape, shape_done, leaves);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status FillLeaves(const std::vector<const nlohmann::json*>& leaves,
                        NDArray& out) {
  T* data = out.mutable_data<T>();
  for (size_t i = 0; i < leaves.size(); ++i) {
    const nlohmann::json& v = *leaves[i];
    const std::string where = absl::StrCat("element ", i);
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " is not true or false (the tensor is bool)"));
      }
      data[i] = v.get<bool>();
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " is not a number"));
      }
      data[i] = static_cast<T>(v.get<double>());
    } else {
      if (!v.is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, " is not an integer (the tensor is an integer type)"));
      }
      if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, " is out of range"));
        }
        data[i] = static_cast<T>(u);
      } else {
        const int64_t s = v.get<int64_t>();
        if (s < std::numeric_limits<T>::min() ||
            s > std::numeric_limits<T>::max()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, " is out of range"));
        }
        data[i] = static_cast<T>(s);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NDArray> ParseJsonValue(std::string_view text, DType dtype) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(
        "not valid JSON (write a number or a nested array like "
        "[[1,2],[3,4]])");
  }
  std::vector<int64_t> shape;
  bool shape_done = false;
  std::vector<const nlohmann::json*> leaves;
  if (absl::Status s = Flatten(j, 0, shape, shape_done, leaves); !s.ok()) {
    return s;
  }
  absl::StatusOr<NDArray> out =
      NDArray::AllocateChecked(dtype, Shape(std::move(shape)));
  if (!out.ok()) return out.status();
  absl::Status s;
  switch (dtype) {
    case DType::kFloat32:
      s = FillLeaves<float>(leaves, *out);
      break;
    case DType::kFloat64:
      s = FillLeaves<double>(leaves, *out);
      break;
    case DType::kInt32:
      s = FillLeaves<int32_t>(leaves, *out);
      break;
    case DType::kInt64:
      s = FillLeaves<int64_t>(leaves, *out);
      break;
    case DType::kBool:
      s = FillLeaves<bool>(leaves, *out);
      break;
  }
  if (!s.ok()) return s;
  return out;
}

std::vector<Tensor> Sinks(const Graph& g);

// The names a tensor of `g` goes by: "node" (output 0) and "node:k" for
// each further output; "node:k" for every output if `name` has a ':'.
std::vector<std::string> TensorNames(const Graph& g, std::string_view name) {
  const bool slot = name.find(':') != std::string_view::npos;
  std::vector<std::string> out;
  for (const Node* n : g.nodes()) {
    for (int k = 0; k < n->num_outputs(); ++k) {
      out.push_back(k == 0 && !slot ? n->name()
                                    : absl::StrCat(n->name(), ":", k));
    }
  }
  return out;
}

// `error` (GetTensor's, for --feed or --fetch `name`) with a hint: the
// nearest tensor names ("did you mean 'layer2/probs'?"), else the graph's
// placeholders (--feed) or the outputs no node consumes (--fetch).
absl::Status TensorNameError(const Graph& g, std::string_view flag,
                             std::string_view name, const absl::Status& error) {
  std::string hint;
  if (error.code() == absl::StatusCode::kNotFound) {
    hint = DidYouMean(name, TensorNames(g, name));
    if (hint.empty()) {
      std::vector<std::string> names;
      if (flag == "--feed") {
        for (const Node* n : g.nodes()) {
          if (n->op() == "Placeholder") names.push_back(Quoted(n->name()));
        }
      } else {
        for (const Tensor& t : Sinks(g)) names.push_back(Quoted(t.node_name()));
      }
      constexpr size_t kMaxListed = 8;
      if (names.size() > kMaxListed) {
        names.resize(kMaxListed);
        names.push_back("...");
      }
      if (!names.empty()) {
        hint =
            absl::StrCat(flag == "--feed" ? "; its placeholders: "
                                          : "; its outputs no node consumes: ",
                         absl::StrJoin(names, ", "));
      }
    }
  }
  return absl::Status(error.code(), absl::StrCat(flag, " ", Quoted(name), ": ",
                                                 error.message(), hint));
}

absl::StatusOr<Feeds> ParseFeeds(const Graph& g,
                                 const std::vector<std::string>& specs) {
  Feeds feeds;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--feed ", Quoted(spec),
          ": expected NAME=VALUE (VALUE a JSON array or @file.npy)"));
    }
    const std::string name = spec.substr(0, eq);
    const std::string value = spec.substr(eq + 1);
    absl::StatusOr<Tensor> t = g.GetTensor(name);
    if (!t.ok()) return TensorNameError(g, "--feed", name, t.status());
    absl::StatusOr<NDArray> array = absl::StartsWith(value, "@")
                                        ? ReadNpy(UserPath(value.substr(1)))
                                        : ParseJsonValue(value, t->dtype());
    if (!array.ok()) {
      return absl::Status(array.status().code(),
                          absl::StrCat("--feed ", Quoted(name), ": ",
                                       array.status().message()));
    }
    feeds.emplace_back(*t, *std::move(array));
  }
  return feeds;
}

// ------------------------------------------------------------ helpers ---

absl::StatusOr<std::vector<Tensor>> ParseFetches(
    const Graph& g, const std::vector<std::string>& names) {
  std::vector<Tensor> out;
  for (const std::string& name : names) {
    absl::StatusOr<Tensor> t = g.GetTensor(name);
    if (!t.ok()) return TensorNameError(g, "--fetch", name, t.status());
    out.push_back(*t);
  }
  return out;
}

// The graph's sinks (outputs no node consumes): dot's default fetches.
std::vector<Tensor> Sinks(const Graph& g) {
  const std::vector<const Node*> nodes = g.nodes();
  std::vector<bool> used(nodes.size());
  for (const Node* n : nodes) {
    for (const NodeInput& in : n->inputs()) used[in.node] = true;
    for (int c : n->control_inputs()) used[c] = true;
  }
  std::vector<Tensor> out;
  for (const Node* n : nodes) {
    if (!used[n->id()]) out.push_back(g.output(*n, 0));
  }
  return out;
}

std::vector<std::string> Devices(const Graph& g) {
  std::vector<std::string> flag = absl::GetFlag(FLAGS_devices);
  if (!flag.empty()) return flag;
  std::set<std::string> used;
  for (const Node* n : g.nodes()) {
    if (!n->device().empty()) used.insert(n->device());
  }
  if (used.empty()) return {"cpu:0"};
  return std::vector<std::string>(used.begin(), used.end());
}

template <typename T>
void AppendNested(const NDArray& a, int dim, int64_t& index, std::string& out) {
  if (dim == a.shape().rank()) {
    const T v = a.values<T>()[index++];
    if constexpr (std::is_same_v<T, bool>) {
      out.append(v ? "true" : "false");
    } else {
      absl::StrAppend(&out, v);
    }
    return;
  }
  out.push_back('[');
  for (int64_t i = 0; i < a.shape().dim(dim); ++i) {
    if (i > 0) out.append(", ");
    AppendNested<T>(a, dim + 1, index, out);
  }
  out.push_back(']');
}

// The array as a JSON value (what --feed takes).
std::string ToJson(const NDArray& a) {
  std::string out;
  int64_t index = 0;
  switch (a.dtype()) {
    case DType::kFloat32:
      AppendNested<float>(a, 0, index, out);
      break;
    case DType::kFloat64:
      AppendNested<double>(a, 0, index, out);
      break;
    case DType::kInt32:
      AppendNested<int32_t>(a, 0, index, out);
      break;
    case DType::kInt64:
      AppendNested<int64_t>(a, 0, index, out);
      break;
    case DType::kBool:
      AppendNested<bool>(a, 0, index, out);
      break;
  }
  return out;
}

// "<what> '<path>': <the system's reason>", with a code for the errno:
// kNotFound, kPermissionDenied, else kUnavailable.
absl::Status IoError(int err, std::string_view what, std::string_view path,
                     std::string_view note = "") {
  const std::string message =
      absl::StrCat(what, " ", Quoted(path), ": ", std::strerror(err), note);
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

// --out_dir must be an existing directory: checked before the run.
absl::Status CheckOutDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return IoError(errno, "--out_dir", dir, " (create the directory first)");
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--out_dir ", Quoted(dir), ": not a directory"));
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------- commands ---

// What `weft check` counts over a loaded graph.
struct CheckSummary {
  std::map<std::string, int> by_op;
  std::map<std::string, int> by_device;
  // "Variable 'w'", "Queue 'q'": the resources the graph's nodes and its
  // functions' bodies name (functions have their own section).
  std::set<std::string> resources;
};

CheckSummary Summarize(
    const std::vector<const Node*>& nodes,
    const std::vector<std::shared_ptr<internal::FunctionBody>>& functions) {
  CheckSummary summary;
  auto note_resources = [&](const Node* n) {
    for (const auto& [key, value] : n->attrs()) {
      if (const auto* r = std::get_if<ResourceRef>(&value);
          r && *r &&
          dynamic_cast<const internal::FunctionBody*>(r->get()) == nullptr) {
        summary.resources.insert(
            absl::StrCat((*r)->kind(), " ", Quoted((*r)->name())));
      }
    }
  };
  for (const Node* n : nodes) {
    ++summary.by_op[n->op()];
    ++summary.by_device[n->device().empty()
                            ? "(default: the session's first device)"
                            : n->device()];
    note_resources(n);
  }
  for (const auto& fb : functions) {
    for (const Node* n : fb->graph.nodes()) note_resources(n);
  }
  return summary;
}

// The "placeholders:" section: each Placeholder's name, dtype and shape.
void PrintPlaceholders(const std::vector<const Node*>& nodes) {
  std::printf("placeholders:\n");
  int placeholders = 0;
  for (const Node* n : nodes) {
    if (n->op() != "Placeholder") continue;
    ++placeholders;
    std::printf("  %s: %s%s\n", n->name().c_str(),
                std::string(DTypeName(n->output_dtypes()[0])).c_str(),
                n->output_shapes()[0].DebugString().c_str());
  }
  if (placeholders == 0) std::printf("  (none)\n");
}

// The "functions:" section (when there are any): each function's
// signature, body size, captures, callees and trace site, callees first as
// the file's library lists them.
void PrintFunctions(
    const std::vector<std::shared_ptr<internal::FunctionBody>>& functions) {
  if (functions.empty()) return;
  std::printf("functions:\n");
  auto specs = [](const std::vector<TensorSpec>& v) {
    std::vector<std::string> out;
    for (const TensorSpec& s : v) {
      out.push_back(absl::StrCat(DTypeName(s.dtype), s.shape.DebugString()));
    }
    return absl::StrJoin(out, ", ");
  };
  for (const auto& fb : functions) {
    std::string calls;
    for (const Node* n : fb->graph.nodes()) {
      for (const auto& callee : internal::CalledFunctions(*n)) {
        absl::StrAppend(&calls, calls.empty() ? ", calls " : " ",
                        Quoted(callee->name()));
      }
    }
    std::printf(
        "  %s(%s) -> (%s): %d body nodes, %zu captures%s; traced "
        "at %s\n",
        fb->name().c_str(), specs(fb->arg_specs).c_str(),
        specs(fb->output_specs).c_str(), fb->graph.num_nodes(),
        fb->capture_specs.size(), calls.c_str(),
        fb->traced_site().ToString().c_str());
  }
}

absl::Status Check(const std::string& path) {
  absl::StatusOr<Graph> g = LoadGraph(path);
  if (!g.ok()) return g.status();
  const std::vector<const Node*> nodes = g->nodes();
  const std::vector<std::shared_ptr<internal::FunctionBody>> functions =
      internal::ReachableFunctions(*g);
  const CheckSummary summary = Summarize(nodes, functions);
  std::printf("graph %s from %s: %zu nodes\n", Quoted(g->name()).c_str(),
              path.c_str(), nodes.size());
  std::printf("nodes by op:\n");
  for (const auto& [op, count] : summary.by_op) {
    std::printf("  %-12s %d\n", op.c_str(), count);
  }
  PrintPlaceholders(nodes);
  std::printf("devices:\n");
  for (const auto& [device, count] : summary.by_device) {
    std::printf("  %s: %d nodes\n", device.c_str(), count);
  }
  if (!summary.resources.empty()) {
    std::printf("resources:\n");
    for (const std::string& r : summary.resources) {
      std::printf("  %s\n", r.c_str());
    }
  }
  PrintFunctions(functions);
  return absl::OkStatus();
}

absl::Status Run(const std::string& path, const std::vector<std::string>& feed,
                 const std::vector<std::string>& fetch) {
  absl::StatusOr<Graph> g = LoadGraph(path);
  if (!g.ok()) return g.status();
  if (fetch.empty()) {
    return absl::InvalidArgumentError("run needs at least one --fetch NAME");
  }
  absl::StatusOr<Feeds> feeds = ParseFeeds(*g, feed);
  if (!feeds.ok()) return feeds.status();
  absl::StatusOr<std::vector<Tensor>> fetches = ParseFetches(*g, fetch);
  if (!fetches.ok()) return fetches.status();
  const std::string out_dir = UserPath(absl::GetFlag(FLAGS_out_dir));
  if (!out_dir.empty()) {
    if (absl::Status s = CheckOutDir(out_dir); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(
      *g,
      {.num_threads = absl::GetFlag(FLAGS_threads), .devices = Devices(*g)});
  if (!session.ok()) return session.status();
  RunOptions options;
  const std::string trace = UserPath(absl::GetFlag(FLAGS_trace));
  options.trace = !trace.empty();
  RunMetadata metadata;
  absl::StatusOr<std::vector<NDArray>> out =
      (*session)->Run(*feeds, *fetches, options, &metadata);
  if (!out.ok()) return out.status();
  if (!trace.empty()) {
    if (absl::Status s = WriteWholeFile(trace, metadata.chrome_trace_json);
        !s.ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < out->size(); ++i) {
    const NDArray& a = (*out)[i];
    if (!out_dir.empty()) {
      std::string file = fetch[i];
      std::replace(file.begin(), file.end(), '/', '_');
      std::replace(file.begin(), file.end(), ':', '_');
      const std::string p = absl::StrCat(out_dir, "/", file, ".npy");
      absl::StatusOr<std::string> bytes = SerializeNpy(a);
      if (!bytes.ok()) return bytes.status();
      if (absl::Status s = WriteWholeFile(p, *bytes); !s.ok()) return s;
      std::printf("%s: %s%s -> %s\n", fetch[i].c_str(),
                  std::string(DTypeName(a.dtype())).c_str(),
                  a.shape().DebugString().c_str(), p.c_str());
    } else {
      std::printf("%s: %s%s = %s\n", fetch[i].c_str(),
                  std::string(DTypeName(a.dtype())).c_str(),
                  a.shape().DebugString().c_str(), ToJson(a).c_str());
    }
  }
  return absl::OkStatus();
}

absl::Status Partition(const std::string& path,
                       const std::vector<std::string>& fetch, bool dot) {
  absl::StatusOr<Graph> g = LoadGraph(path);
  if (!g.ok()) return g.status();
  std::vector<Tensor> fetches, feeds;
  if (const std::string name = absl::GetFlag(FLAGS_function); !name.empty()) {
    // A function's body: its arguments and captures are fed.
    std::shared_ptr<internal::FunctionBody> fn;
    std::vector<std::string> names, quoted;
    for (auto& fb : internal::ReachableFunctions(*g)) {
      names.push_back(fb->name());
      quoted.push_back(Quoted(fb->name()));
      if (fb->name() == name) fn = fb;
    }
    if (fn == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "--function ", Quoted(name), ": graph ", Quoted(g->name()),
          " calls no function of that name; it calls ",
          quoted.empty() ? "none" : absl::StrJoin(quoted, ", "),
          DidYouMean(name, names)));
    }
    *g = fn->graph;
    feeds = fn->args;
    feeds.insert(feeds.end(), fn->capture_placeholders.begin(),
                 fn->capture_placeholders.end());
    if (fetch.empty()) fetches = fn->outputs;
  }
  if (!fetches.empty()) {
    // A function's outputs (no --fetch).
  } else if (fetch.empty()) {
    if (!dot) {
      return absl::InvalidArgumentError(
          "partition needs --fetch (the tensors whose subgraph to split)");
    }
    fetches = Sinks(*g);
  } else {
    absl::StatusOr<std::vector<Tensor>> f = ParseFetches(*g, fetch);
    if (!f.ok()) return f.status();
    fetches = *std::move(f);
  }
  if (!dot && absl::GetFlag(FLAGS_devices).empty()) {
    return absl::InvalidArgumentError(
        "partition needs --devices (comma-separated, like cpu:0,cpu:1)");
  }
  const std::vector<std::string> devices = Devices(*g);
  absl::StatusOr<PartitionedGraph> p =
      PartitionGraph(*g, fetches, feeds, devices);
  if (!p.ok()) return p.status();
  std::fputs(dot ? p->ToDot().c_str() : p->DebugString().c_str(), stdout);
  return absl::OkStatus();
}

absl::Status Bench(const std::string& path,
                   const std::vector<std::string>& feed,
                   const std::vector<std::string>& fetch) {
  absl::StatusOr<Graph> g = LoadGraph(path);
  if (!g.ok()) return g.status();
  if (fetch.empty()) {
    return absl::InvalidArgumentError("bench needs at least one --fetch NAME");
  }
  const int runs = absl::GetFlag(FLAGS_runs);
  const int clients = absl::GetFlag(FLAGS_clients);
  if (runs < 1 || clients < 1) {
    return absl::InvalidArgumentError("--runs and --clients must be >= 1");
  }
  absl::StatusOr<Feeds> feeds = ParseFeeds(*g, feed);
  if (!feeds.ok()) return feeds.status();
  absl::StatusOr<std::vector<Tensor>> fetches = ParseFetches(*g, fetch);
  if (!fetches.ok()) return fetches.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(
      *g,
      {.num_threads = absl::GetFlag(FLAGS_threads), .devices = Devices(*g)});
  if (!session.ok()) return session.status();
  // Warm-up: compiles and caches the plan; also reports any run error.
  if (auto warm = (*session)->Run(*feeds, *fetches); !warm.ok()) {
    return warm.status();
  }
  using Clock = std::chrono::steady_clock;
  std::vector<std::vector<double>> latencies(clients);
  std::vector<absl::Status> errors(clients);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      SetCurrentThreadName(absl::StrCat("bench-", c));
      for (int r = c; r < runs; r += clients) {
        const auto t0 = Clock::now();
        auto out = (*session)->Run(*feeds, *fetches);
        const auto t1 = Clock::now();
        if (!out.ok()) {
          errors[c] = out.status();
          return;
        }
        latencies[c].push_back(
            std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double wall =
      std::chrono::duration<double>(Clock::now() - start).count();
  for (const absl::Status& s : errors) {
    if (!s.ok()) return s;
  }
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * all.size())) - 1;
    return all[std::min(i, all.size() - 1)];
  };
  std::printf(
      "%zu runs, %d client thread(s), devices %s\n"
      "latency us: p50 %.1f  p90 %.1f  p99 %.1f  (min %.1f, max %.1f)\n"
      "throughput: %.1f runs/s\n",
      all.size(), clients, absl::StrJoin(Devices(*g), ",").c_str(), pct(0.5),
      pct(0.9), pct(0.99), all.front(), all.back(), all.size() / wall);
  return absl::OkStatus();
}

}  // namespace

bool IsGraphCommand(std::string_view command) {
  return command == "check" || command == "run" || command == "dot" ||
         command == "partition" || command == "bench";
}

absl::Status WriteWholeFile(const std::string& path,
                            std::string_view contents) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return IoError(errno, "cannot write", path);
  int err = 0;
  if (std::fwrite(contents.data(), 1, contents.size(), f) != contents.size()) {
    err = errno;
  }
  if (std::fclose(f) != 0 && err == 0) err = errno;
  if (err != 0) return IoError(err, "cannot write", path);
  return absl::OkStatus();
}

int RunGraphCommand(const std::string& command, const std::string& graph,
                    const std::vector<std::string>& feeds,
                    const std::vector<std::string>& fetches) {
  google::protobuf::SetLogHandler(&ProtobufLogHandler);
  const std::string path = UserPath(graph);
  absl::Status s;
  if (command == "check") {
    s = Check(path);
  } else if (command == "run") {
    s = Run(path, feeds, fetches);
  } else if (command == "dot") {
    s = Partition(path, fetches, /*dot=*/true);
  } else if (command == "partition") {
    s = Partition(path, fetches, /*dot=*/false);
  } else {
    s = Bench(path, feeds, fetches);
  }
  if (!s.ok()) {
    // The message only: payloads are for programs (GetOpErrorInfo).
    std::fprintf(stderr, "weft %s: %s: %s\n", command.c_str(),
                 absl::StatusCodeToString(s.code()).c_str(),
                 std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace weft::tools
