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
#include <memory>
#include <optional>
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
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/function_body.h"
#include "graph/graph_io.h"
#include "graph/npy.h"
#include "interop/onnx_import.h"
#include "interop/onnx_tensor.h"
#include "nlohmann/json.hpp"
#include "onnx/onnx_pb.h"
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

absl::Status IoError(int err, std::string_view what, std::string_view path,
                     std::string_view note = "");

// The contents of the file at `path`; an error is "<what> '<path>': <the
// system's reason>" (IoError).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return IoError(errno, what, path);
  std::string out;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    out.append(buffer, n);
  }
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0) return IoError(err, what, path);
  return out;
}

// A graph to run: a weft graph file loaded, or an ONNX model imported.
struct LoadedGraph {
  Graph graph;
  bool onnx = false;
  // An ONNX model's inputs and outputs: their ONNX names and tensors.
  std::vector<std::string> input_names, output_names;
  std::vector<Tensor> inputs, outputs;
  int64_t opset = 0;
  // The --feed values read before the import (those of the model's inputs,
  // whose shapes they may pin), by the feed's index; the others are read
  // after it.
  std::vector<std::optional<NDArray>> prefed;
};

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
    } else if constexpr (std::is_floating_point_v<T> ||
                         std::is_same_v<T, Float16>) {
      if (!v.is_number()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " is not a number"));
      }
      if constexpr (std::is_same_v<T, Float16>) {
        data[i] = DoubleToFloat16(v.get<double>());
      } else {
        data[i] = static_cast<T>(v.get<double>());
      }
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
    case DType::kUInt8:
      s = FillLeaves<uint8_t>(leaves, *out);
      break;
    case DType::kInt8:
      s = FillLeaves<int8_t>(leaves, *out);
      break;
    case DType::kFloat16:
      s = FillLeaves<Float16>(leaves, *out);
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
absl::Status TensorNameError(const LoadedGraph& lg, std::string_view flag,
                             std::string_view name, const absl::Status& error) {
  const Graph& g = lg.graph;
  const bool feed = flag == "--feed";
  std::string hint;
  if (error.code() == absl::StatusCode::kNotFound) {
    // An ONNX model's names first: the ones its user knows.
    std::vector<std::string> candidates = lg.input_names;
    if (!feed) {
      candidates.insert(candidates.begin(), lg.output_names.begin(),
                        lg.output_names.end());
    }
    for (std::string& n : TensorNames(g, name)) {
      candidates.push_back(std::move(n));
    }
    hint = DidYouMean(name, candidates);
    if (hint.empty()) {
      std::vector<std::string> names;
      if (lg.onnx) {
        for (const std::string& n : feed ? lg.input_names : lg.output_names) {
          names.push_back(Quoted(n));
        }
      } else if (feed) {
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
        hint = absl::StrCat(lg.onnx ? (feed ? "; the ONNX model's inputs: "
                                            : "; the ONNX model's outputs: ")
                            : feed  ? "; its placeholders: "
                                    : "; its outputs no node consumes: ",
                            absl::StrJoin(names, ", "));
      }
    }
  }
  return absl::Status(error.code(), absl::StrCat(flag, " ", Quoted(name), ": ",
                                                 error.message(), hint));
}

// The tensor --feed or --fetch (`flag`) names: an ONNX model's input (or,
// for --fetch, output) by its ONNX name, else a tensor of the graph.
absl::StatusOr<Tensor> FindTensor(const LoadedGraph& lg, std::string_view flag,
                                  const std::string& name) {
  if (flag == "--fetch") {
    for (size_t i = 0; i < lg.output_names.size(); ++i) {
      if (lg.output_names[i] == name) return lg.outputs[i];
    }
  }
  for (size_t i = 0; i < lg.input_names.size(); ++i) {
    if (lg.input_names[i] == name) return lg.inputs[i];
  }
  absl::StatusOr<Tensor> t = lg.graph.GetTensor(name);
  if (!t.ok()) return TensorNameError(lg, flag, name, t.status());
  return *t;
}

// --feed's NAME=VALUE, split.
absl::StatusOr<std::pair<std::string, std::string>> SplitFeed(
    const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--feed ", Quoted(spec),
        ": expected NAME=VALUE (VALUE a JSON array, @file.npy or @file.pb)"));
  }
  return std::make_pair(spec.substr(0, eq), spec.substr(eq + 1));
}

// A tensor file: .npy, or .pb, a serialized ONNX TensorProto (as in ONNX's
// test_data_set_*/input_0.pb).
absl::StatusOr<NDArray> ReadTensorFile(const std::string& path) {
  if (!absl::EndsWithIgnoreCase(path, ".pb")) return ReadNpy(path);
  absl::StatusOr<std::string> bytes =
      ReadWholeFile(path, "cannot read tensor file");
  if (!bytes.ok()) return bytes.status();
  onnx::TensorProto proto;
  if (bytes->size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor file ", Quoted(path),
                     " is not a valid ONNX TensorProto (truncated, corrupt or "
                     "not a tensor; .pb feeds are ONNX tensors)"));
  }
  absl::StatusOr<NDArray> a = onnx_internal::NDArrayFromOnnx(proto);
  if (!a.ok()) {
    return absl::Status(
        a.status().code(),
        absl::StrCat("tensor file ", Quoted(path), ": ", a.status().message()));
  }
  return a;
}

// --feed's VALUE: @FILE (.npy or .pb) or JSON of `dtype`; errors name the
// feed.
absl::StatusOr<NDArray> ParseFeedValue(const std::string& name,
                                       const std::string& value, DType dtype) {
  absl::StatusOr<NDArray> array =
      absl::StartsWith(value, "@") ? ReadTensorFile(UserPath(value.substr(1)))
                                   : ParseJsonValue(value, dtype);
  if (!array.ok()) {
    return absl::Status(
        array.status().code(),
        absl::StrCat("--feed ", Quoted(name), ": ", array.status().message()));
  }
  return array;
}

absl::StatusOr<Feeds> ParseFeeds(const LoadedGraph& lg,
                                 const std::vector<std::string>& specs) {
  Feeds feeds;
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StatusOr<std::pair<std::string, std::string>> spec =
        SplitFeed(specs[i]);
    if (!spec.ok()) return spec.status();
    const auto& [name, value] = *spec;
    absl::StatusOr<Tensor> t = FindTensor(lg, "--feed", name);
    if (!t.ok()) return t.status();
    if (i < lg.prefed.size() && lg.prefed[i].has_value()) {
      feeds.emplace_back(*t, *lg.prefed[i]);
      continue;
    }
    absl::StatusOr<NDArray> array = ParseFeedValue(name, value, t->dtype());
    if (!array.ok()) return array.status();
    feeds.emplace_back(*t, *std::move(array));
  }
  return feeds;
}

// ------------------------------------------------------------ helpers ---

absl::StatusOr<std::vector<Tensor>> ParseFetches(
    const LoadedGraph& lg, const std::vector<std::string>& names) {
  std::vector<Tensor> out;
  for (const std::string& name : names) {
    absl::StatusOr<Tensor> t = FindTensor(lg, "--fetch", name);
    if (!t.ok()) return t.status();
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

// --devices, else the devices the graph's nodes name: this process's first
// (sorted; cpu:0 if there are none), then other tasks' (a cluster graph's
// plan needs its first device to be this process's).
std::vector<std::string> Devices(const Graph& g) {
  std::vector<std::string> flag = absl::GetFlag(FLAGS_devices);
  if (!flag.empty()) return flag;
  std::set<std::string> local, remote;
  for (const Node* n : g.nodes()) {
    if (n->device().empty()) continue;
    (DeviceTaskOf(n->device()).empty() ? local : remote).insert(n->device());
  }
  if (local.empty()) local.insert("cpu:0");
  std::vector<std::string> out(local.begin(), local.end());
  out.insert(out.end(), remote.begin(), remote.end());
  return out;
}

template <typename T>
void AppendNested(const NDArray& a, int dim, int64_t& index, std::string& out) {
  if (dim == a.shape().rank()) {
    const T v = a.values<T>()[index++];
    if constexpr (std::is_same_v<T, bool>) {
      out.append(v ? "true" : "false");
    } else if constexpr (std::is_same_v<T, Float16>) {
      absl::StrAppend(&out, Float16ToFloat(v));
    } else if constexpr (sizeof(T) == 1) {
      absl::StrAppend(&out, static_cast<int>(v));
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
    case DType::kUInt8:
      AppendNested<uint8_t>(a, 0, index, out);
      break;
    case DType::kInt8:
      AppendNested<int8_t>(a, 0, index, out);
      break;
    case DType::kFloat16:
      AppendNested<Float16>(a, 0, index, out);
      break;
  }
  return out;
}

// "<what> '<path>': <the system's reason>", with a code for the errno:
// kNotFound, kPermissionDenied, else kUnavailable.
absl::Status IoError(int err, std::string_view what, std::string_view path,
                     std::string_view note) {
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

// -------------------------------------------------------------- ONNX ---

// An ONNX model file: its bytes and the ModelProto parsed from them. The
// importer parses the bytes again; this copy gives what the imported graph
// no longer has: the producer, the op types, symbolic dim names.
struct OnnxFile {
  std::string path;
  std::string bytes;
  onnx::ModelProto model;
};

// Reads and parses the model at `path`. A file that is not a ModelProto
// with a graph gets the importer's error (naming the file).
absl::StatusOr<std::unique_ptr<OnnxFile>> ReadOnnxFile(
    const std::string& path) {
  auto file = std::make_unique<OnnxFile>();
  file->path = path;
  absl::StatusOr<std::string> bytes =
      ReadWholeFile(path, "cannot read ONNX model");
  if (!bytes.ok()) return bytes.status();
  file->bytes = *std::move(bytes);
  if (file->bytes.size() >
          static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !file->model.ParseFromArray(file->bytes.data(),
                                  static_cast<int>(file->bytes.size())) ||
      !file->model.has_graph()) {
    absl::StatusOr<OnnxModel> m = ImportOnnxBytes(file->bytes, path);
    if (!m.ok()) return m.status();
    return absl::InvalidArgumentError(
        absl::StrCat("ONNX model ", path, " is not a valid ModelProto"));
  }
  return file;
}

// The graph's inputs that are not initializers (older exporters list the
// initializers among the inputs): the ones to feed.
std::vector<const onnx::ValueInfoProto*> ModelInputs(
    const onnx::GraphProto& g) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : g.initializer()) {
    initializers.insert(t.name());
  }
  std::vector<const onnx::ValueInfoProto*> out;
  for (const onnx::ValueInfoProto& vi : g.input()) {
    if (!initializers.contains(vi.name())) out.push_back(&vi);
  }
  return out;
}

// "[N,3,640,640]": each dim its value, its symbolic name or '?'.
std::string OnnxDims(const onnx::TensorShapeProto& shape) {
  std::vector<std::string> dims;
  for (const onnx::TensorShapeProto::Dimension& d : shape.dim()) {
    if (d.has_dim_value()) {
      dims.push_back(absl::StrCat(d.dim_value()));
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      dims.push_back(d.dim_param());
    } else {
      dims.push_back("?");
    }
  }
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

// "float32[N,3,H,W]" (weft's dtype name where weft has the type, else
// ONNX's), or what the value is if not a tensor.
std::string OnnxTypeString(const onnx::TypeProto& type) {
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType: {
      const onnx::TypeProto::Tensor& tt = type.tensor_type();
      absl::StatusOr<DType> d = onnx_internal::DTypeFromOnnx(tt.elem_type());
      const std::string name =
          d.ok() ? std::string(DTypeName(*d))
                 : std::string(onnx_internal::OnnxTypeName(tt.elem_type()));
      return tt.has_shape() ? absl::StrCat(name, OnnxDims(tt.shape()))
                            : absl::StrCat(name, " (rank unknown)");
    }
    case onnx::TypeProto::kSequenceType:
      return "a sequence (not a tensor)";
    case onnx::TypeProto::kMapType:
      return "a map (not a tensor)";
    case onnx::TypeProto::kOptionalType:
      return "an optional (not a tensor)";
    case onnx::TypeProto::kSparseTensorType:
      return "a sparse tensor";
    default:
      return "no tensor type";
  }
}

// Whether `shape` fits the input: the same rank and every known dim equal
// (any shape fits an input of unknown rank).
bool ShapeFits(const onnx::ValueInfoProto& input, const Shape& shape) {
  const onnx::TypeProto::Tensor& tt = input.type().tensor_type();
  if (!tt.has_shape()) return true;
  if (tt.shape().dim_size() != shape.rank()) return false;
  for (int i = 0; i < shape.rank(); ++i) {
    const onnx::TensorShapeProto::Dimension& d = tt.shape().dim(i);
    if (d.has_dim_value() && d.dim_value() != shape.dim(i)) return false;
  }
  return true;
}

// Whether the input has a dim (or rank) the model leaves open.
bool HasOpenDims(const onnx::ValueInfoProto& input) {
  const onnx::TypeProto::Tensor& tt = input.type().tensor_type();
  if (!tt.has_shape()) return true;
  for (const onnx::TensorShapeProto::Dimension& d : tt.shape().dim()) {
    if (!d.has_dim_value()) return true;
  }
  return false;
}

// The model's graph inputs by name, and their names in order (plain and
// quoted).
struct OnnxInputIndex {
  std::map<std::string, const onnx::ValueInfoProto*> by_name;
  std::vector<std::string> names, quoted;
};

OnnxInputIndex IndexOnnxInputs(const onnx::GraphProto& g) {
  OnnxInputIndex index;
  for (const onnx::ValueInfoProto* vi : ModelInputs(g)) {
    index.by_name[vi->name()] = vi;
    index.names.push_back(vi->name());
    index.quoted.push_back(Quoted(vi->name()));
  }
  return index;
}

// Sets options.input_shapes from --input_shape, each checked against the
// model's input it names.
absl::Status ApplyInputShapeFlags(const OnnxFile& file, const Invocation& inv,
                                  const OnnxInputIndex& inputs,
                                  OnnxImportOptions& options) {
  for (const auto& [name, dims] : inv.input_shapes) {
    const auto it = inputs.by_name.find(name);
    if (it == inputs.by_name.end()) {
      std::string hint = DidYouMean(name, inputs.names);
      if (hint.empty()) {
        hint = absl::StrCat("; its inputs: ",
                            inputs.quoted.empty()
                                ? "none"
                                : absl::StrJoin(inputs.quoted, ", "));
      }
      return absl::NotFoundError(
          absl::StrCat("--input_shape ", Quoted(name), ": ONNX model ",
                       file.path, " has no input ", Quoted(name), hint));
    }
    const Shape shape(dims);
    if (!it->second->type().has_tensor_type() ||
        !ShapeFits(*it->second, shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--input_shape ", Quoted(name), ": ", shape.DebugString(),
          " does not fit the model's input ", Quoted(name), ", which is ",
          OnnxTypeString(it->second->type())));
    }
    options.input_shapes[name] = shape;
  }
  return absl::OkStatus();
}

// Reads the --feed values of the model's inputs into `prefed` (by the
// feed's index) and pins each fed input with open dims that
// options.input_shapes leaves open to its value's shape, if it fits; a
// feed that names no input adds a line to `notes`.
absl::Status PrefeedInputs(const Invocation& inv, const OnnxInputIndex& inputs,
                           OnnxImportOptions& options,
                           std::vector<std::optional<NDArray>>& prefed,
                           std::vector<std::string>* notes) {
  prefed.assign(inv.feeds.size(), std::nullopt);
  for (size_t i = 0; i < inv.feeds.size(); ++i) {
    absl::StatusOr<std::pair<std::string, std::string>> spec =
        SplitFeed(inv.feeds[i]);
    if (!spec.ok()) return spec.status();
    const auto& [name, value] = *spec;
    const auto it = inputs.by_name.find(name);
    if (it == inputs.by_name.end()) {
      if (notes != nullptr) {
        notes->push_back(
            absl::StrCat("--feed ", Quoted(name),
                         " names no input of the model, so it pins no shape",
                         DidYouMean(name, inputs.names)));
      }
      continue;
    }
    if (!it->second->type().has_tensor_type()) continue;
    absl::StatusOr<DType> dtype = onnx_internal::DTypeFromOnnx(
        it->second->type().tensor_type().elem_type());
    if (!dtype.ok()) continue;  // The import refuses the input.
    absl::StatusOr<NDArray> array = ParseFeedValue(name, value, *dtype);
    if (!array.ok()) return array.status();
    if (!options.input_shapes.contains(name) && HasOpenDims(*it->second) &&
        ShapeFits(*it->second, array->shape())) {
      options.input_shapes[name] = array->shape();
    }
    prefed[i] = *std::move(array);
  }
  return absl::OkStatus();
}

// The import options for `file`: --input_shape's shapes, checked against
// the model here so that an error names the flag. With `prefed`, the
// --feed values of the model's inputs are read now (into `prefed`, by the
// feed's index), and each fed input with open dims that --input_shape does
// not pin is pinned to its value's shape (if it fits; a value that does not
// fit is left for the run to refuse, naming the input); a feed that names
// no input of the model (a weft tensor, or a typo) adds a line to `notes`,
// for an import error.
absl::StatusOr<OnnxImportOptions> ImportOptionsFor(
    const OnnxFile& file, const Invocation& inv,
    std::vector<std::optional<NDArray>>* prefed,
    std::vector<std::string>* notes = nullptr) {
  OnnxImportOptions options;
  const OnnxInputIndex inputs = IndexOnnxInputs(file.model.graph());
  if (absl::Status s = ApplyInputShapeFlags(file, inv, inputs, options);
      !s.ok()) {
    return s;
  }
  if (prefed == nullptr) return options;
  if (absl::Status s = PrefeedInputs(inv, inputs, options, *prefed, notes);
      !s.ok()) {
    return s;
  }
  return options;
}

// The importer's error with what to do about it on weft's command line.
absl::Status ImportError(absl::Status error,
                         const std::vector<std::string>& notes) {
  if (absl::StrContains(error.message(), "OnnxImportOptions::input_shapes")) {
    error = internal::WithNote(
        error,
        "on weft's command line: --input_shape NAME=D,D,... pins an input's "
        "shape; run and bench pin each fed input to its --feed value's shape");
  }
  for (const std::string& note : notes) {
    error = internal::WithNote(error, note);
  }
  return error;
}

// Imports the ONNX model at `path` (with --input_shape and, if
// `read_feeds`, the shapes of the fed inputs; see ImportOptionsFor).
absl::StatusOr<LoadedGraph> LoadOnnx(const std::string& path,
                                     const Invocation& inv, bool read_feeds) {
  absl::StatusOr<std::unique_ptr<OnnxFile>> file = ReadOnnxFile(path);
  if (!file.ok()) return file.status();
  LoadedGraph lg;
  lg.onnx = true;
  std::vector<std::string> notes;
  absl::StatusOr<OnnxImportOptions> options =
      ImportOptionsFor(**file, inv, read_feeds ? &lg.prefed : nullptr, &notes);
  if (!options.ok()) return options.status();
  absl::StatusOr<OnnxModel> m = ImportOnnxBytes((*file)->bytes, path, *options);
  if (!m.ok()) return ImportError(m.status(), notes);
  lg.graph = m->graph;
  lg.input_names = std::move(m->input_names);
  lg.output_names = std::move(m->output_names);
  lg.inputs = std::move(m->inputs);
  lg.outputs = std::move(m->outputs);
  lg.opset = m->opset;
  return lg;
}

// The one way the graph commands load their file: an ONNX model (.onnx) is
// imported, anything else loaded with LoadGraph.
absl::StatusOr<LoadedGraph> LoadAnyGraph(const std::string& path,
                                         const Invocation& inv) {
  if (IsOnnxPath(path)) return LoadOnnx(path, inv, /*read_feeds=*/true);
  if (!GraphFileFormatForPath(path).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "graph file ", Quoted(path),
        " has an unknown extension: use '.pb' (binary), '.pbtxt' (text) or "
        "'.onnx' (an ONNX model)"));
  }
  absl::StatusOr<Graph> g = LoadGraph(path);
  if (!g.ok()) return g.status();
  LoadedGraph lg;
  lg.graph = *std::move(g);
  return lg;
}

// "'x' -> x:0 float32[1,3,?,?]", for each of an ONNX model's inputs or
// outputs (at most `max`, then "...").
std::vector<std::string> OnnxTensorList(const std::vector<std::string>& names,
                                        const std::vector<Tensor>& tensors,
                                        size_t max) {
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size() && i < tensors.size(); ++i) {
    if (out.size() == max) {
      out.push_back("...");
      break;
    }
    out.push_back(absl::StrCat(Quoted(names[i]), " -> ", tensors[i].name(), " ",
                               DTypeName(tensors[i].dtype()),
                               tensors[i].shape().DebugString()));
  }
  return out;
}

// Counts the op types of `g`'s nodes and of its subgraphs' ("domain.Op"
// outside the default domain).
void CountOnnxOps(const onnx::GraphProto& g, std::map<std::string, int>& ops,
                  int& nodes) {
  for (const onnx::NodeProto& n : g.node()) {
    ++nodes;
    ++ops[n.domain().empty() || n.domain() == "ai.onnx"
              ? n.op_type()
              : absl::StrCat(n.domain(), ".", n.op_type())];
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.has_g()) CountOnnxOps(a.g(), ops, nodes);
      for (const onnx::GraphProto& sub : a.graphs()) {
        CountOnnxOps(sub, ops, nodes);
      }
    }
  }
}

// ----------------------------------------------------------- commands ---

// The model's default-domain opset version, then the other domains'.
std::string OnnxOpsetSummary(const onnx::ModelProto& m) {
  std::string opset = "none of the default domain";
  std::vector<std::string> other_opsets;
  for (const onnx::OperatorSetIdProto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      opset = absl::StrCat(o.version());
    } else {
      other_opsets.push_back(absl::StrCat(o.domain(), " ", o.version()));
    }
  }
  if (!other_opsets.empty()) {
    absl::StrAppend(&opset, " (and ", absl::StrJoin(other_opsets, ", "), ")");
  }
  return opset;
}

// The model's producer name (quoted) and version.
std::string OnnxProducer(const onnx::ModelProto& m) {
  std::string producer = m.producer_name().empty() ? std::string("(none)")
                                                   : Quoted(m.producer_name());
  if (!m.producer_version().empty()) {
    absl::StrAppend(&producer, " ", m.producer_version());
  }
  return producer;
}

// Prints the count of each op (as CountOnnxOps counted them).
void PrintOnnxOpCounts(const std::map<std::string, int>& ops) {
  std::printf("ONNX ops:\n");
  size_t width = 12;
  for (const auto& [op, count] : ops) width = std::max(width, op.size());
  for (const auto& [op, count] : ops) {
    std::printf("  %-*s %d\n", static_cast<int>(width), op.c_str(), count);
  }
  if (ops.empty()) std::printf("  (none)\n");
}

// Prints the graph's inputs and outputs with their types.
void PrintOnnxInputsAndOutputs(const onnx::GraphProto& g) {
  std::printf("inputs:\n");
  const std::vector<const onnx::ValueInfoProto*> inputs = ModelInputs(g);
  for (const onnx::ValueInfoProto* vi : inputs) {
    std::printf("  %s: %s\n", vi->name().c_str(),
                OnnxTypeString(vi->type()).c_str());
  }
  if (inputs.empty()) std::printf("  (none)\n");
  std::printf("outputs:\n");
  for (const onnx::ValueInfoProto& vi : g.output()) {
    std::printf("  %s: %s\n", vi.name().c_str(),
                OnnxTypeString(vi.type()).c_str());
  }
  if (g.output_size() == 0) std::printf("  (none)\n");
}

// Imports `file` and prints the weft graph's size, inputs and outputs, or
// returns the import error.
absl::Status CheckOnnxImports(const OnnxFile& file, const std::string& path,
                              const Invocation& inv) {
  absl::StatusOr<OnnxImportOptions> options =
      ImportOptionsFor(file, inv, /*prefed=*/nullptr);
  if (!options.ok()) return options.status();
  absl::StatusOr<OnnxModel> model = ImportOnnxBytes(file.bytes, path, *options);
  if (!model.ok()) {
    std::printf("imports: no (the error follows)\n");
    return ImportError(model.status(), {});
  }
  std::printf("imports: %d weft nodes\n", model->graph.num_nodes());
  for (const std::string& line :
       OnnxTensorList(model->input_names, model->inputs, 1000)) {
    std::printf("  input %s\n", line.c_str());
  }
  for (const std::string& line :
       OnnxTensorList(model->output_names, model->outputs, 1000)) {
    std::printf("  output %s\n", line.c_str());
  }
  return absl::OkStatus();
}

// `weft check` on an ONNX model: what the model says, then whether it
// imports.
absl::Status CheckOnnx(const std::string& path, const Invocation& inv) {
  absl::StatusOr<std::unique_ptr<OnnxFile>> file = ReadOnnxFile(path);
  if (!file.ok()) return file.status();
  const onnx::ModelProto& m = (*file)->model;
  const onnx::GraphProto& g = m.graph();
  const std::string opset = OnnxOpsetSummary(m);
  const std::string producer = OnnxProducer(m);
  std::map<std::string, int> ops;
  int nodes = 0;
  CountOnnxOps(g, ops, nodes);
  std::printf("ONNX model %s: opset %s, IR version %lld, producer %s\n",
              path.c_str(), opset.c_str(),
              static_cast<long long>(m.ir_version()), producer.c_str());
  std::printf("graph %s: %d nodes, %d initializers\n", Quoted(g.name()).c_str(),
              nodes, g.initializer_size());
  PrintOnnxOpCounts(ops);
  PrintOnnxInputsAndOutputs(g);
  return CheckOnnxImports(**file, path, inv);
}

// Adds the resources `n`'s attributes refer to (functions aside) to
// `resources`, as "kind 'name'".
void NoteResources(const Node* n, std::set<std::string>& resources) {
  for (const auto& [key, value] : n->attrs()) {
    if (const auto* r = std::get_if<ResourceRef>(&value);
        r && *r &&
        dynamic_cast<const internal::FunctionBody*>(r->get()) == nullptr) {
      resources.insert(absl::StrCat((*r)->kind(), " ", Quoted((*r)->name())));
    }
  }
}

// Prints the graph's placeholders with their dtypes and shapes.
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

// Prints each function's signature, size, callees and where it was traced
// (callees first, as the file's library lists them).
void PrintFunctions(
    const std::vector<std::shared_ptr<internal::FunctionBody>>& functions) {
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

absl::Status Check(const std::string& path, const Invocation& inv) {
  if (IsOnnxPath(path)) return CheckOnnx(path, inv);
  absl::StatusOr<LoadedGraph> loaded = LoadAnyGraph(path, inv);
  if (!loaded.ok()) return loaded.status();
  const Graph* g = &loaded->graph;
  const std::vector<const Node*> nodes = g->nodes();
  std::map<std::string, int> by_op;
  std::map<std::string, int> by_device;
  std::set<std::string> resources;
  // Resources are listed from the graph's nodes and its functions' bodies;
  // functions have their own section.
  const std::vector<std::shared_ptr<internal::FunctionBody>> functions =
      internal::ReachableFunctions(*g);
  for (const Node* n : nodes) {
    ++by_op[n->op()];
    ++by_device[n->device().empty() ? "(default: the session's first device)"
                                    : n->device()];
    NoteResources(n, resources);
  }
  for (const auto& fb : functions) {
    for (const Node* n : fb->graph.nodes()) NoteResources(n, resources);
  }
  std::printf("graph %s from %s: %zu nodes\n", Quoted(g->name()).c_str(),
              path.c_str(), nodes.size());
  std::printf("nodes by op:\n");
  for (const auto& [op, count] : by_op) {
    std::printf("  %-12s %d\n", op.c_str(), count);
  }
  PrintPlaceholders(nodes);
  std::printf("devices:\n");
  for (const auto& [device, count] : by_device) {
    std::printf("  %s: %d nodes\n", device.c_str(), count);
  }
  if (!resources.empty()) {
    std::printf("resources:\n");
    for (const std::string& r : resources) std::printf("  %s\n", r.c_str());
  }
  if (!functions.empty()) PrintFunctions(functions);
  return absl::OkStatus();
}

absl::Status Run(const std::string& path, const Invocation& inv) {
  const std::vector<std::string>& fetch = inv.fetches;
  if (fetch.empty()) {
    return absl::InvalidArgumentError("run needs at least one --fetch NAME");
  }
  absl::StatusOr<LoadedGraph> loaded = LoadAnyGraph(path, inv);
  if (!loaded.ok()) return loaded.status();
  const Graph* g = &loaded->graph;
  absl::StatusOr<Feeds> feeds = ParseFeeds(*loaded, inv.feeds);
  if (!feeds.ok()) return feeds.status();
  absl::StatusOr<std::vector<Tensor>> fetches = ParseFetches(*loaded, fetch);
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

absl::Status Partition(const std::string& path, const Invocation& inv,
                       bool dot) {
  const std::vector<std::string>& fetch = inv.fetches;
  absl::StatusOr<LoadedGraph> loaded = LoadAnyGraph(path, inv);
  if (!loaded.ok()) return loaded.status();
  Graph* g = &loaded->graph;
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
    fetches = loaded->onnx ? loaded->outputs : Sinks(*g);
  } else {
    absl::StatusOr<std::vector<Tensor>> f = ParseFetches(*loaded, fetch);
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

// The latencies (in microseconds, sorted) of `runs` runs spread over
// `clients` threads, and the wall time (in seconds) they all took.
struct BenchTimes {
  std::vector<double> latencies;
  double wall = 0;
};

absl::StatusOr<BenchTimes> TimeRuns(Session& session, const Feeds& feeds,
                                    const std::vector<Tensor>& fetches,
                                    int runs, int clients) {
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
        auto out = session.Run(feeds, fetches);
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
  BenchTimes times;
  times.wall = std::chrono::duration<double>(Clock::now() - start).count();
  for (const absl::Status& s : errors) {
    if (!s.ok()) return s;
  }
  std::vector<double>& all = times.latencies;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  return times;
}

// Prints the latency percentiles and the throughput of `times`.
void PrintBenchReport(const BenchTimes& times, int clients,
                      const std::vector<std::string>& devices) {
  const std::vector<double>& all = times.latencies;
  auto pct = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * all.size())) - 1;
    return all[std::min(i, all.size() - 1)];
  };
  std::printf(
      "%zu runs, %d client thread(s), devices %s\n"
      "latency us: p50 %.1f  p90 %.1f  p99 %.1f  (min %.1f, max %.1f)\n"
      "throughput: %.1f runs/s\n",
      all.size(), clients, absl::StrJoin(devices, ",").c_str(), pct(0.5),
      pct(0.9), pct(0.99), all.front(), all.back(), all.size() / times.wall);
}

absl::Status Bench(const std::string& path, const Invocation& inv) {
  if (inv.fetches.empty()) {
    return absl::InvalidArgumentError("bench needs at least one --fetch NAME");
  }
  const int runs = absl::GetFlag(FLAGS_runs);
  const int clients = absl::GetFlag(FLAGS_clients);
  if (runs < 1 || clients < 1) {
    return absl::InvalidArgumentError("--runs and --clients must be >= 1");
  }
  absl::StatusOr<LoadedGraph> loaded = LoadAnyGraph(path, inv);
  if (!loaded.ok()) return loaded.status();
  const Graph* g = &loaded->graph;
  absl::StatusOr<Feeds> feeds = ParseFeeds(*loaded, inv.feeds);
  if (!feeds.ok()) return feeds.status();
  absl::StatusOr<std::vector<Tensor>> fetches =
      ParseFetches(*loaded, inv.fetches);
  if (!fetches.ok()) return fetches.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(
      *g,
      {.num_threads = absl::GetFlag(FLAGS_threads), .devices = Devices(*g)});
  if (!session.ok()) return session.status();
  // Warm-up: compiles and caches the plan; also reports any run error.
  if (auto warm = (*session)->Run(*feeds, *fetches); !warm.ok()) {
    return warm.status();
  }
  absl::StatusOr<BenchTimes> times =
      TimeRuns(**session, *feeds, *fetches, runs, clients);
  if (!times.ok()) return times.status();
  PrintBenchReport(*times, clients, Devices(*g));
  return absl::OkStatus();
}

// `weft import MODEL -o GRAPH`: MODEL is read as ONNX whatever its name.
absl::Status Import(const std::string& path, const Invocation& inv) {
  const std::string out = UserPath(inv.out);
  absl::StatusOr<LoadedGraph> lg = LoadOnnx(path, inv, /*read_feeds=*/false);
  if (!lg.ok()) return lg.status();
  // Only what the model's inputs and outputs need: the importer's
  // rewrites (folded BatchNormalizations, fused activations) leave the
  // nodes they replaced behind, unused.
  std::vector<Tensor> keep = lg->inputs;
  keep.insert(keep.end(), lg->outputs.begin(), lg->outputs.end());
  int kept = 0;
  if (absl::Status s = SaveGraphPruned(lg->graph, keep, out, &kept); !s.ok()) {
    return s;
  }
  constexpr size_t kMaxListed = 8;
  const std::vector<std::string> inputs =
      OnnxTensorList(lg->input_names, lg->inputs, kMaxListed);
  const std::vector<std::string> outputs =
      OnnxTensorList(lg->output_names, lg->outputs, kMaxListed);
  std::printf(
      "wrote %s: %d weft nodes (%d unused left out) from ONNX model %s "
      "(opset %lld); %zu input%s: %s; %zu output%s: %s\n",
      out.c_str(), kept, lg->graph.num_nodes() - kept, path.c_str(),
      static_cast<long long>(lg->opset), lg->inputs.size(),
      lg->inputs.size() == 1 ? "" : "s",
      inputs.empty() ? "none" : absl::StrJoin(inputs, ", ").c_str(),
      lg->outputs.size(), lg->outputs.size() == 1 ? "" : "s",
      outputs.empty() ? "none" : absl::StrJoin(outputs, ", ").c_str());
  return absl::OkStatus();
}

}  // namespace

bool IsGraphCommand(std::string_view command) {
  return command == "check" || command == "run" || command == "dot" ||
         command == "partition" || command == "bench" || command == "import";
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

int RunGraphCommand(const Invocation& inv) {
  google::protobuf::SetLogHandler(&ProtobufLogHandler);
  const std::string& command = inv.command;
  const std::string path = UserPath(inv.args[0]);
  absl::Status s;
  if (command == "check") {
    s = Check(path, inv);
  } else if (command == "run") {
    s = Run(path, inv);
  } else if (command == "dot") {
    s = Partition(path, inv, /*dot=*/true);
  } else if (command == "partition") {
    s = Partition(path, inv, /*dot=*/false);
  } else if (command == "import") {
    s = Import(path, inv);
  } else {
    s = Bench(path, inv);
  }
  std::fflush(stdout);  // What was printed comes before the error.
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
