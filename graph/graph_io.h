// graph_io.h — defines weft::SaveGraph and weft::LoadGraph, which write a
// Graph to a file and read it back as a weft.GraphDef (graph/graph_def.proto;
// binary `.pb` or text `.pbtxt`, chosen by the extension), their in-memory
// forms SerializeGraph / ParseGraph, and weft::RegisterResourceResolver,
// through which loading binds a node's resource references (Variables,
// Queues) to the loading process's objects.
//
//   weft::Graph g = ...;  // built by a training job or a build step
//   absl::Status s = weft::SaveGraph(g, "/models/mlp.pbtxt");
//   ...
//   // In the serving process: every node goes through Graph::AddOp's
//   // checks again; errors name the node, the field and the file.
//   absl::StatusOr<weft::Graph> served =
//       weft::LoadGraph("/models/mlp.pbtxt", /*name=*/"serving");
//
// Each loaded node keeps its saved provenance, so any later error about it
// (a build error, a feed error, a kernel error) names the C++ line of the
// process that built it. The format, versioning and compatibility rules are
// in docs/graph_format.md.
#ifndef WEFT_GRAPH_GRAPH_IO_H_
#define WEFT_GRAPH_GRAPH_IO_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/resource.h"
#include "graph/tensor.h"

namespace weft {

// The format version this build writes (1.2: 1.0 plus the function
// library in 1.1 and the resources' value specs in 1.2). It reads any file of
// major version kGraphDefVersionMajor, whatever its minor version, and refuses
// any other major version. Fields it does not know are skipped in a file of a
// newer minor version (binary or text); in a text file of this or an older
// version an unknown field is a load error naming it and its line (a
// misspelling such as `devcie:`).
inline constexpr int kGraphDefVersionMajor = 1;
inline constexpr int kGraphDefVersionMinor = 2;

enum class GraphFileFormat {
  kBinary,  // ".pb": the protobuf wire format.
  kText,    // ".pbtxt": the protobuf text format.
};

// The format for `path` by its extension; kInvalidArgument for any other.
[[nodiscard]] absl::StatusOr<GraphFileFormat> GraphFileFormatForPath(
    std::string_view path);

// Writes `graph` to `path` (format by extension), atomically with
// internal::WriteFileAtomically (graph/file_io.h): a temporary file in the
// same directory is written, fsynced and renamed over `path`, then the
// directory is fsynced; a failed save leaves the previous file unchanged.
// Every function the graph calls (transitively) is saved once in the
// file's library. Errors: a null graph, a bad extension, an attr that
// cannot be saved (a null resource reference), two different functions of
// one name (files refer to functions by name), an I/O error ("cannot write
// graph file '<path>': ..." with the step, the system's reason and the
// errno's code: kResourceExhausted for a full disk, kPermissionDenied,
// kNotFound for a missing directory).
// The graph may be growing concurrently; the nodes present when the call
// starts are saved.
[[nodiscard]] absl::Status SaveGraph(const Graph& graph, std::string_view path);

// Reads the graph saved at `path` into a new Graph named `name` (the saved
// name if `name` is empty). Every node is rebuilt through Graph::AddOp's
// checks (registered op, arity, attrs, dtype and shape inference, node and
// device names); node names are kept exactly. Errors (kInvalidArgument
// unless noted) name the file, the node and the field: an unreadable file
// (kNotFound / kPermissionDenied / kUnavailable), a file that is not a
// GraphDef (in text: with the line and column; an unknown field, see
// kGraphDefVersionMinor), a major version other than kGraphDefVersionMajor
// (kFailedPrecondition), a duplicate node name, an input naming no earlier
// node or a missing output slot, a bad attr, anything the builders refuse,
// an unbound resource reference (kNotFound naming it), and in the function
// library: a duplicate or unknown function name, recursion (the cycle
// named: "'f' -> 'g' -> 'f'"), a body node the builders refuse, or an
// interface that does not match its body (each naming the function).
// Functions are loaded before the nodes, callees first, each body through
// the same checks as the graph's nodes.
[[nodiscard]] absl::StatusOr<Graph> LoadGraph(std::string_view path,
                                              std::string_view name = "");

// The file contents SaveGraph writes, in memory. Binary output is
// deterministic (attrs sorted by key).
[[nodiscard]] absl::StatusOr<std::string> SerializeGraph(
    const Graph& graph, GraphFileFormat format);

// SaveGraph / SerializeGraph of only the nodes the tensors `keep` depend
// on (through data and control inputs), the stateful nodes (Assign,
// Enqueue: they run unread) and the nodes of `keep` themselves, in their
// order; the function library and resources as SaveGraph writes them. For
// saving an imported model without the nodes its rewrites left unused
// (`weft import`); `*kept` (when given) is the number of nodes written.
[[nodiscard]] absl::Status SaveGraphPruned(const Graph& graph,
                                           const std::vector<Tensor>& keep,
                                           std::string_view path,
                                           int* kept = nullptr);
[[nodiscard]] absl::StatusOr<std::string> SerializeGraphPruned(
    const Graph& graph, const std::vector<Tensor>& keep, GraphFileFormat format,
    int* kept = nullptr);

// LoadGraph on `contents`; `source` names it in errors (a path, "<stdin>").
[[nodiscard]] absl::StatusOr<Graph> ParseGraph(std::string_view contents,
                                               GraphFileFormat format,
                                               std::string_view source,
                                               std::string_view name = "");

// Binds a saved resource reference of `kind` ("Variable", "Queue") by name
// when a graph is loaded. The resolver returns the process's resource named
// `name` (whose kind() must be `kind`), or an error, which loading reports
// naming the node and the file. Registering a kind again replaces its
// resolver. Without a resolver for its kind, a reference is unbound and
// loading fails with kNotFound naming it.
//
// Thread safety: may be called concurrently with itself and with LoadGraph;
// a resolver may be called from any thread that loads a graph.
using ResourceResolver =
    std::function<absl::StatusOr<ResourceRef>(std::string_view name)>;
void RegisterResourceResolver(std::string kind, ResourceResolver resolver);

}  // namespace weft

#endif  // WEFT_GRAPH_GRAPH_IO_H_
