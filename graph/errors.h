// errors.h — defines the structured payloads weft attaches to its errors:
// weft::CrossGraphEdge (the cross-graph error) and weft::OpErrorInfo (any
// other error about one op, at build or run time), with their readers, and
// the helpers that format them.
#ifndef WEFT_GRAPH_ERRORS_H_
#define WEFT_GRAPH_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "graph/provenance.h"

namespace weft {

class Graph;
class Node;
class Tensor;

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
};

// The CrossGraphEdge attached to `status`, or nullopt.
std::optional<CrossGraphEdge> GetCrossGraphEdge(const absl::Status& status);

// Facts about an error concerning one op (a node being built, or a node
// that failed at run time).
struct OpErrorInfo {
  // "unknown_op", "arity", "dtype", "shape", "attr", "name", "device",
  // "finalized", "null_graph", "graph_mismatch", "cross_graph", or at run
  // time "kernel", "feed", "missing_kernel", "device".
  std::string kind;
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
                                             std::string_view kind,
                                             const Node& node,
                                             const Graph& graph);

// Builds the cross-graph error: the message of DESIGN.md plus both payloads.
absl::Status MakeCrossGraphError(const CrossGraphEdge& edge);

// Fills the input-side fields of `edge` from `input`.
void DescribeCrossGraphInput(const Tensor& input, CrossGraphEdge& edge);

namespace internal {
// "'name'": how weft's messages quote names.
std::string Quoted(std::string_view name);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_GRAPH_ERRORS_H_
