// function_body.h — internal to weft (the //graph:internal target, visible
// to weft's own packages only, not reachable from weft.h): defines
// weft::internal::FunctionBody, what a call node's function attribute refers
// to, weft::internal::FunctionAccess, the one way from a Function handle to
// its body, and the helpers that list the functions a node or graph calls.
#ifndef WEFT_GRAPH_FUNCTION_BODY_H_
#define WEFT_GRAPH_FUNCTION_BODY_H_

#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/function.h"
#include "graph/graph.h"
#include "graph/provenance.h"
#include "graph/resource.h"
#include "graph/tensor.h"
#include "graph/tensor_spec.h"

namespace weft {

class Node;

namespace internal {

// What a call node refers to (its "function" attribute): the body graph and
// its interface, without the captured tensors (so a caller graph never
// keeps itself alive through a function it calls). Its fields are filled
// by Function::Trace or by LoadGraph, then never changed.
//
// Thread safety: immutable after Trace (or load); the body graph is
// finalized.
class FunctionBody : public Resource {
 public:
  FunctionBody(std::string name, std::source_location traced_at)
      : Resource(std::move(name), traced_at) {}
  std::string_view kind() const override { return "Function"; }

  Graph graph;
  std::vector<TensorSpec> arg_specs;
  std::vector<TensorSpec> capture_specs;
  std::vector<TensorSpec> output_specs;
  std::vector<Tensor> args;                  // Placeholders of `graph`.
  std::vector<Tensor> capture_placeholders;  // Placeholders of `graph`.
  std::vector<Tensor> outputs;               // Tensors of `graph`.
  std::vector<std::string> devices;          // Devices named in the body.
  // Set for a function loaded from a graph file (graph/graph_io.h): its
  // saved trace site, which stands in for created_at().
  std::optional<SourceSite> loaded_site;

  // Where the function was traced: loaded_site, else created_at().
  SourceSite traced_site() const;
  // "'f' (traced at model.cc:10 in Build)".
  std::string Describe() const;
  // The signature line, then the body graph's DebugString:
  //   function 'f'(x: float32[-1]; captures w:0: float32[]) -> (Mul:0:
  //   float32[-1]), traced at model.cc:10 in Build
  std::string DebugString() const;
};

// The one way to reach a Function's body (what call nodes refer to).
//
// Thread safety: stateless.
class FunctionAccess {
 public:
  static const std::shared_ptr<FunctionBody>& Body(const Function& fn) {
    return fn.body_;
  }
};

// The functions `node`'s attrs refer to (Call: one; Cond, While: two), in
// the order of its op's attrs.
std::vector<std::shared_ptr<FunctionBody>> CalledFunctions(const Node& node);
// Every function reachable from `graph`'s nodes, transitively through the
// bodies, each once, callees before their callers (the order a graph file's
// library lists them in).
std::vector<std::shared_ptr<FunctionBody>> ReachableFunctions(
    const Graph& graph);
// The op of `node` with the functions it calls, for dumps: "Call[f]",
// "Cond[then=t, else=e]", "While[cond=c, body=b]"; other ops: node.op().
std::string OpLabel(const Node& node);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_FUNCTION_BODY_H_
