#include "graph/ops.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/graph_impl.h"
#include "graph/scopes.h"
#include "graph/thread_stacks.h"

namespace weft {
namespace internal {
namespace {

// The function being traced into `target` on this thread, or nullptr.
const TracingFrame* FrameFor(const Graph& target) {
  std::vector<TracingFrame>& frames = TracingStack();
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    if (it->body == target) return &*it;
  }
  return nullptr;
}

// Inside a traced body, a listed capture used as a data input reads its
// hidden placeholder instead.
void SubstituteCaptures(const TracingFrame& frame, const Graph& target,
                        std::vector<Tensor>& inputs) {
  for (Tensor& in : inputs) {
    if (!in.ok() || in.belongs_to(target)) continue;
    for (size_t i = 0; i < frame.captures.size(); ++i) {
      const Tensor& c = frame.captures[i];
      if (c.node() == in.node() && c.index() == in.index()) {
        in = frame.capture_placeholders[i];
        break;
      }
    }
  }
}

// The cross-graph error `status` of an op built in the body of the function
// `frame` traces, rebuilt to say what happened there: Function::Trace (not
// a user's GraphScope) made the body graph current, and the fix is the
// function's own (an argument or a listed capture), followed by a note
// naming the function.
absl::Status WithFunctionNote(const absl::Status& status,
                              const TracingFrame& frame) {
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(status);
  if (!e.has_value()) return status;
  const std::string traced_at = SourceSite::From(frame.traced_at).ToString();
  if (e->graph_source == GraphSource::kGraphScope) {
    e->graph_reason =
        absl::StrCat(Quoted(e->graph_name), " is the body graph of function ",
                     Quoted(frame.function_name),
                     ", made the default graph by Function::Trace at ",
                     traced_at, " while the body runs");
  }
  e->fix = absl::StrCat(
      "a function body is its own graph: pass the value as an argument, or "
      "list it in FunctionOptions::captures of ",
      Quoted(frame.function_name));
  return WithNote(
      MakeCrossGraphError(*e),
      absl::StrCat("the use is inside function ", Quoted(frame.function_name),
                   " traced at ", traced_at));
}

}  // namespace

std::vector<Tensor> BuildOpN(std::string_view op, std::vector<Tensor> inputs,
                             AttrMap attrs, const OpOptions& options,
                             std::source_location where, int expected_outputs) {
  auto failed = [&](absl::Status status) {
    return std::vector<Tensor>(std::max(1, expected_outputs),
                               Tensor::FromError(std::move(status)));
  };
  Graph target;
  GraphSource source = GraphSource::kExplicitHandle;
  ScopeOrigin scope;
  if (options.graph.has_value()) {
    target = *options.graph;
  } else {
    const ThreadStacks& stacks = CurrentStacks();
    if (!stacks.graphs.empty()) {
      target = stacks.graphs.back().graph;
      source = GraphSource::kGraphScope;
      scope = stacks.graphs.back().origin;
    } else {
      target = RootGraph();
      source = GraphSource::kRootGraph;
    }
  }
  if (target.is_null()) {
    // Graph::AddOp reports a null handle (after first-error-wins).
    absl::StatusOr<std::vector<Tensor>> r =
        target.AddOpN(op, std::move(inputs), std::move(attrs), options, where);
    return r.ok() ? *std::move(r) : failed(r.status());
  }
  const TracingFrame* frame = FrameFor(target);
  if (frame != nullptr) SubstituteCaptures(*frame, target, inputs);
  NodeRequest req =
      MakeNodeRequest(op, inputs, std::move(attrs), options, where);
  req.source = source;
  req.scope = std::move(scope);
  const std::shared_ptr<GraphImpl>& impl = GraphAccess::Impl(target);
  absl::StatusOr<const Node*> node = impl->AddNode(std::move(req));
  if (!node.ok()) {
    if (frame != nullptr && GetCrossGraphEdge(node.status()).has_value()) {
      return failed(WithFunctionNote(node.status(), *frame));
    }
    return failed(std::move(node).status());
  }
  return impl->Outputs(*node);
}

Tensor BuildOp(std::string_view op, std::vector<Tensor> inputs, AttrMap attrs,
               const OpOptions& options, std::source_location where) {
  return BuildOpN(op, std::move(inputs), std::move(attrs), options, where,
                  /*expected_outputs=*/1)
      .front();
}

}  // namespace internal

}  // namespace weft
