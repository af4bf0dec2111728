// errors.h — defines the structured payloads weft attaches to its errors:
// weft::CrossGraphEdge (the cross-graph error) and weft::OpErrorInfo (any
// other error about one op, at build or run time) classified by
// weft::ErrorKind, with their readers, and the helpers that format them.
//
//   absl::StatusOr<std::vector<NDArray>> out = session->Run({}, {y});
//   if (std::optional<OpErrorInfo> info = GetOpErrorInfo(out.status())) {
//     if (info->kind == ErrorKind::kShape) ++shape_errors;  // For a metric.
//   }
//
// Payloads are "key=value&..." text (percent-encoding only what absl would
// escape), so a Status printed with `<<` stays readable:
//   ... [weft.dev/OpErrorInfo='kind=shape&node=head/Add&op=Add&...']
// A cross-graph error carries the CrossGraphEdge payload only; its
// OpErrorInfo (kind kCrossGraph) is derived from it.
#ifndef WEFT_GRAPH_ERRORS_H_
#define WEFT_GRAPH_ERRORS_H_

#include <cstdint>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "graph/provenance.h"

namespace weft {

class Graph;
class Node;
class Tensor;

// What an error about one op is about. Every kind is documented, with real
// messages, in docs/errors.md (a test checks that none is missing).
enum class ErrorKind {
  // Build time (Graph::AddOp, the op builders).
  kUnknownOp,      // No op of that type is registered.
  kArity,          // Wrong number of inputs.
  kDType,          // An input's dtype is not what the op takes.
  kShape,          // Shapes that cannot work together.
  kAttr,           // A missing, mistyped or invalid attribute.
  kName,           // A malformed node or name-scope name.
  kDevice,         // A malformed device name, an unregistered device kind,
                   // or (at run time) a device the session lacks.
  kFinalized,      // The graph was finalized.
  kNullGraph,      // A null Graph handle.
  kGraphMismatch,  // Graph::AddOp given another graph in OpOptions.graph.
  kCrossGraph,     // An input from another graph (see CrossGraphEdge).
  kInference,      // A custom op's inference function misbehaved.
  kFunction,       // A function call (Call, Cond, While) that cannot work:
                   // a null Function, mismatched specs, recursion.
  // Run time (Session::Run, plan compilation, kernels).
  kFeed,           // A bad, repeated or missing feed.
  kMissingKernel,  // No kernel for (op, device kind, dtype).
  kKernel,         // A kernel failed, or produced a value unlike inferred.
  kAllocation,     // An output too large, or whose size overflows.
};

// "unknown_op", "arity", "dtype", ... (the names used in payloads and docs).
std::string_view ErrorKindName(ErrorKind kind);
// The kind named `name`, or nullopt.
std::optional<ErrorKind> ErrorKindFromName(std::string_view name);
// Every ErrorKind, in declaration order.
const std::vector<ErrorKind>& AllErrorKinds();

// The facts of a rejected edge between two graphs. Also used for a
// Session::Run feed or fetch from another graph (op_type "Session::Run",
// op_name "fetch 0" / "feed 0").
struct CrossGraphEdge {
  // The op being built and the graph it was to land in.
  std::string op_name;
  std::string op_type;
  std::string graph_name;
  int64_t graph_id = -1;
  SourceSite op_site;
  std::string op_thread;
  GraphSource graph_source = GraphSource::kExplicitHandle;
  std::string graph_reason;  // The note's sentence.
  // The offending input.
  int input_index = 0;
  bool control_input = false;
  std::string input_name;  // "features/MatMul:0"
  std::string input_graph_name;
  int64_t input_graph_id = -1;
  SourceSite input_site;
  std::string input_thread;
  GraphSource input_graph_source = GraphSource::kExplicitHandle;
  std::string input_origin;  // "under the GraphScope pushed at main.cc:30"
  // The "fix:" note; "" = the advice for an op builder (build under a
  // GraphScope for the input's graph, or bring the value in as a feed or a
  // Const). Uses that are not op builders (a Session feed, a Batcher input,
  // a function body) name their own fix.
  std::string fix;
};

// The CrossGraphEdge attached to `status`, or nullopt.
std::optional<CrossGraphEdge> GetCrossGraphEdge(const absl::Status& status);

// Facts about an error concerning one op (a node being built, or a node
// that failed at run time).
struct OpErrorInfo {
  ErrorKind kind = ErrorKind::kKernel;
  std::string node_name;
  std::string op_type;
  std::string graph_name;
  int64_t graph_id = -1;
  SourceSite site;  // Where the op was built.
  std::string thread;
};

std::optional<OpErrorInfo> GetOpErrorInfo(const absl::Status& status);

// Attaches `info` to `status` (which must not be OK).
void AttachOpErrorInfo(const OpErrorInfo& info, absl::Status& status);

// `status` (not OK) with the OpErrorInfo of an existing `node` of `graph`:
// its name, op type, definition site and building thread, under `kind`. For
// errors found after the node was built (feeds, plan compilation, kernels).
[[nodiscard]] absl::Status WithNodeErrorInfo(absl::Status status,
                                             ErrorKind kind, const Node& node,
                                             const Graph& graph);

// Builds the cross-graph error, the one message every refusal of a tensor of
// another graph uses ("cross-graph edge rejected: op ... but its input N
// ... belongs to graph ...", a note per site, a fix), with the
// CrossGraphEdge payload (and the OpErrorInfo derived from it).
[[nodiscard]] absl::Status MakeCrossGraphError(const CrossGraphEdge& edge);

// Fills the input-side fields of `edge` from `input`.
void DescribeCrossGraphInput(const Tensor& input, CrossGraphEdge& edge);

}  // namespace weft

#endif  // WEFT_GRAPH_ERRORS_H_
