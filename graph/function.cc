#include "graph/function.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/function_body.h"
#include "graph/graph_impl.h"
#include "graph/node.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "graph/scopes.h"
#include "graph/thread_stacks.h"

namespace weft {
namespace internal {

SourceSite FunctionBody::traced_site() const {
  return loaded_site.has_value() ? *loaded_site
                                 : SourceSite::From(created_at());
}

std::string FunctionBody::Describe() const {
  return absl::StrCat(Quoted(name()), " (traced at ", traced_site().ToString(),
                      ")");
}

std::string FunctionBody::DebugString() const {
  auto specs = [](const std::vector<TensorSpec>& specs,
                  const std::vector<Tensor>* placeholders) {
    std::vector<std::string> out;
    for (size_t i = 0; i < specs.size(); ++i) {
      const TensorSpec& s = specs[i];
      out.push_back(absl::StrCat(
          placeholders != nullptr && i < placeholders->size()
              ? absl::StrCat((*placeholders)[i].node_name(), " = ")
              : "",
          s.name, ": ", DTypeName(s.dtype), s.shape.DebugString()));
    }
    return absl::StrJoin(out, ", ");
  };
  std::string out =
      absl::StrCat("function ", Quoted(name()), "(", specs(arg_specs, nullptr));
  if (!capture_specs.empty()) {
    absl::StrAppend(&out, "; captures ",
                    specs(capture_specs, &capture_placeholders));
  }
  absl::StrAppend(&out, ") -> (", specs(output_specs, nullptr), "), traced at ",
                  traced_site().ToString(), "\n", graph.DebugString());
  return out;
}

std::vector<std::shared_ptr<FunctionBody>> CalledFunctions(const Node& node) {
  std::vector<std::shared_ptr<FunctionBody>> out;
  for (const std::string& key : node.op_def().attrs) {
    auto it = node.attrs().find(key);
    if (it == node.attrs().end()) continue;
    const auto* ref = std::get_if<ResourceRef>(&it->second);
    if (ref == nullptr) continue;
    if (auto fb = std::dynamic_pointer_cast<FunctionBody>(*ref)) {
      out.push_back(std::move(fb));
    }
  }
  return out;
}

namespace {
// The functions `graph`'s nodes call, in node order.
std::vector<std::shared_ptr<FunctionBody>> CalledBy(const Graph& graph) {
  std::vector<std::shared_ptr<FunctionBody>> out;
  for (const Node* n : graph.nodes()) {
    for (std::shared_ptr<FunctionBody>& fb : CalledFunctions(*n)) {
      out.push_back(std::move(fb));
    }
  }
  return out;
}
}  // namespace

std::vector<std::shared_ptr<FunctionBody>> ReachableFunctions(
    const Graph& graph) {
  std::vector<std::shared_ptr<FunctionBody>> out;
  if (graph.is_null()) return out;
  // A depth-first post-order (callees first), iterative: a loaded file may
  // chain many functions.
  struct Frame {
    std::shared_ptr<FunctionBody> self;  // Null for `graph` itself.
    std::vector<std::shared_ptr<FunctionBody>> callees;
    size_t next = 0;
  };
  absl::flat_hash_set<const FunctionBody*> seen;
  std::vector<Frame> stack;
  stack.push_back({nullptr, CalledBy(graph)});
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next < top.callees.size()) {
      std::shared_ptr<FunctionBody> fb = top.callees[top.next++];
      if (seen.insert(fb.get()).second) {
        std::vector<std::shared_ptr<FunctionBody>> callees =
            CalledBy(fb->graph);
        stack.push_back({std::move(fb), std::move(callees)});
      }
      continue;
    }
    if (top.self != nullptr) out.push_back(std::move(top.self));
    stack.pop_back();
  }
  return out;
}

std::string OpLabel(const Node& node) {
  std::vector<std::string> parts;
  for (const std::string& key : node.op_def().attrs) {
    auto it = node.attrs().find(key);
    if (it == node.attrs().end()) continue;
    const auto* ref = std::get_if<ResourceRef>(&it->second);
    if (ref == nullptr ||
        dynamic_cast<const FunctionBody*>(ref->get()) == nullptr) {
      continue;
    }
    std::string_view role = key;
    if (absl::ConsumeSuffix(&role, "_function")) {
      parts.push_back(absl::StrCat(role, "=", (*ref)->name()));
    } else {
      parts.push_back((*ref)->name());
    }
  }
  if (parts.empty()) return node.op();
  return absl::StrCat(node.op(), "[", absl::StrJoin(parts, ", "), "]");
}

namespace {

// Recursion is rejected before `name`'s body runs again: a body is traced
// once, before its Function exists, so tracing a name already being traced
// on this thread can only be a function (directly or through others)
// tracing itself, which would never end.
absl::Status CheckNotRecursive(const std::string& name,
                               std::source_location where) {
  const std::vector<TracingFrame>& frames = TracingStack();
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].function_name != name) continue;
    std::vector<std::string> cycle;
    std::string notes;
    for (size_t k = i; k < frames.size(); ++k) {
      cycle.push_back(Quoted(frames[k].function_name));
      absl::StrAppend(&notes, "\n  ", Quoted(frames[k].function_name),
                      " is being traced (Function::Trace at ",
                      SourceSite::From(frames[k].traced_at).ToString(), ")");
    }
    cycle.push_back(Quoted(name));
    absl::Status s = absl::InvalidArgumentError(absl::StrCat(
        "recursion rejected: function ", Quoted(name), " traced at ",
        SourceSite::From(where).ToString(),
        " is already being traced on this thread: ",
        absl::StrJoin(cycle, " -> "), notes,
        "\n  fix: a function cannot call itself, directly or through other "
        "functions (its body is traced once, before the Function exists); "
        "iterate with ops::While, or give a different nested function its "
        "own name"));
    return s;
  }
  return absl::OkStatus();
}

// Sets the calling thread's name and device scopes aside for its lifetime,
// so a body's nodes are named and placed independently of the caller.
class FreshScopes {
 public:
  FreshScopes() {
    ThreadStacks& stacks = CurrentStacks();
    names_ = std::move(stacks.names);
    devices_ = std::move(stacks.devices);
    stacks.names.clear();
    stacks.devices.clear();
  }
  ~FreshScopes() {
    ThreadStacks& stacks = CurrentStacks();
    stacks.names = std::move(names_);
    stacks.devices = std::move(devices_);
  }
  FreshScopes(const FreshScopes&) = delete;
  FreshScopes& operator=(const FreshScopes&) = delete;

 private:
  std::vector<StringStackEntry> names_, devices_;
};

}  // namespace

}  // namespace internal

using internal::Quoted;

namespace {

// The stages of Function::Trace, in order. `what` is "function 'f' traced
// at file:line", the subject of their messages.

// Refuses a request that cannot be traced: no name, no body, recursion, an
// argument spec that is not a valid dtype and shape, a capture not built.
absl::Status ValidateTraceRequest(
    const std::string& fname,
    const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& body,
    const std::vector<TensorSpec>& args, const FunctionOptions& options,
    const std::string& what, std::source_location where) {
  if (fname.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Function::Trace at ", SourceSite::From(where).ToString(),
                     ": a function needs a name"));
  }
  if (!body) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the body is an empty std::function"));
  }
  if (absl::Status s = internal::CheckNotRecursive(fname, where); !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (!IsValidDType(args[i].dtype)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": argument ", i, " has an invalid dtype"));
    }
    if (absl::Status s = args[i].shape.Validate(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": argument ", i, ": ", s.message()));
    }
  }
  for (size_t i = 0; i < options.captures.size(); ++i) {
    if (!options.captures[i].ok()) {
      return internal::WithNote(
          options.captures[i].status(),
          absl::StrCat("capture ", i, " of ", what, " is not a valid tensor"));
    }
  }
  return absl::OkStatus();
}

// One Placeholder in the body per argument ("arg<i>" unless named), then
// one hidden Placeholder per capture ("capture<i>"), recorded in `fb` and
// in the tracing `frame` (which maps each capture to its placeholder).
absl::Status AddArgumentPlaceholders(const std::vector<TensorSpec>& args,
                                     const std::vector<Tensor>& captures,
                                     const std::string& what,
                                     std::source_location where,
                                     internal::FunctionBody& fb,
                                     internal::TracingFrame& frame) {
  const Graph& g = fb.graph;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string arg_name =
        args[i].name.empty() ? absl::StrCat("arg", i) : args[i].name;
    Tensor t = ops::Placeholder(args[i].dtype, args[i].shape,
                                {.name = arg_name, .graph = g}, where);
    if (!t.ok()) {
      return internal::WithNote(t.status(),
                                absl::StrCat("argument ", i, " of ", what));
    }
    fb.args.push_back(t);
    fb.arg_specs.push_back({args[i].dtype, args[i].shape, t.node_name()});
  }
  for (size_t i = 0; i < captures.size(); ++i) {
    const Tensor& c = captures[i];
    Tensor t = ops::Placeholder(
        c.dtype(), c.shape(), {.name = absl::StrCat("capture", i), .graph = g},
        where);
    if (!t.ok()) return t.status();
    fb.capture_placeholders.push_back(t);
    fb.capture_specs.push_back({c.dtype(), c.shape(), c.name()});
    frame.capture_placeholders.push_back(t);
  }
  return absl::OkStatus();
}

// This thread's tracing frame for the body's run: pushed on construction,
// popped on destruction, so the stack is intact however the body leaves
// (a return, or an exception thrown by user code).
class TracingFrameGuard {
 public:
  explicit TracingFrameGuard(internal::TracingFrame frame) {
    internal::TracingStack().push_back(std::move(frame));
  }
  ~TracingFrameGuard() { internal::TracingStack().pop_back(); }
  TracingFrameGuard(const TracingFrameGuard&) = delete;
  TracingFrameGuard& operator=(const TracingFrameGuard&) = delete;
};

// Runs `body` once with the body graph as the default graph (the caller's
// name and device scopes are set aside by the caller's FreshScopes).
std::vector<Tensor> RunBody(
    const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& body,
    internal::TracingFrame frame, const internal::FunctionBody& fb,
    std::source_location where) {
  TracingFrameGuard tracing(std::move(frame));
  GraphScope scope(fb.graph, where);
  return body(fb.args);
}

// Checks what the body returned and records it as the function's outputs:
// at least one, each built, each of the body graph (a listed capture
// returned as is becomes its placeholder); an argument or capture passed
// straight through is fetched through an Identity.
absl::Status SetOutputs(std::vector<Tensor> outs,
                        const FunctionOptions& options, const std::string& what,
                        std::source_location where,
                        internal::FunctionBody& fb) {
  const Graph& g = fb.graph;
  if (outs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " returned no tensors; a function returns at least one"));
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    Tensor& t = outs[i];
    if (!t.ok()) {
      return internal::WithNote(
          t.status(), absl::StrCat("returned as output ", i, " of ", what));
    }
    for (size_t k = 0; k < options.captures.size(); ++k) {
      const Tensor& c = options.captures[k];
      if (c.node() == t.node() && c.index() == t.index()) {
        t = fb.capture_placeholders[k];
      }
    }
    if (absl::Status s = CheckTensorInGraph(
            t, static_cast<int>(i),
            GraphUse{.user = "Function::Trace",
                     .role = "output",
                     .graph = &g,
                     .site = SourceSite::From(where),
                     .graph_reason = absl::StrCat(
                         Quoted(g.name()), " is the body graph of ", what),
                     .fix = "a function returns tensors computed in its body "
                            "(from its arguments and captures): pass the "
                            "value as an argument, or list it in "
                            "FunctionOptions::captures"});
        !s.ok()) {
      return s;
    }
    if (t.node()->op() == "Placeholder") {
      t = ops::Identity(t, {.name = absl::StrCat("output", i), .graph = g},
                        where);
      if (!t.ok()) return t.status();
    }
  }
  for (const Tensor& t : outs) {
    fb.outputs.push_back(t);
    fb.output_specs.push_back({t.dtype(), t.shape(), t.name()});
  }
  return absl::OkStatus();
}

// The devices the body's nodes name, in first-use order.
void CollectDevices(internal::FunctionBody& fb) {
  for (const Node* n : fb.graph.nodes()) {
    if (!n->device().empty() && std::find(fb.devices.begin(), fb.devices.end(),
                                          n->device()) == fb.devices.end()) {
      fb.devices.push_back(n->device());
    }
  }
}

}  // namespace

absl::StatusOr<Function> Function::Trace(
    std::string_view name, std::vector<TensorSpec> args,
    std::function<std::vector<Tensor>(const std::vector<Tensor>&)> body,
    FunctionOptions options, std::source_location where) {
  const std::string fname(name);
  const std::string what =
      absl::StrCat("function ", Quoted(fname), " traced at ",
                   SourceSite::From(where).ToString());
  if (absl::Status s =
          ValidateTraceRequest(fname, body, args, options, what, where);
      !s.ok()) {
    return s;
  }
  internal::FreshScopes fresh;
  auto fb = std::make_shared<internal::FunctionBody>(fname, where);
  fb->graph = Graph::Create(fname);
  internal::TracingFrame frame{.body = fb->graph,
                               .function_name = fname,
                               .traced_at = where,
                               .captures = options.captures};
  if (absl::Status s = AddArgumentPlaceholders(args, options.captures, what,
                                               where, *fb, frame);
      !s.ok()) {
    return s;
  }
  std::vector<Tensor> outs = RunBody(body, std::move(frame), *fb, where);
  if (absl::Status s = SetOutputs(std::move(outs), options, what, where, *fb);
      !s.ok()) {
    return s;
  }
  CollectDevices(*fb);
  fb->graph.Finalize(where);
  Function f;
  f.body_ = std::move(fb);
  f.captures_ =
      std::make_shared<const std::vector<Tensor>>(std::move(options.captures));
  return f;
}

const std::string& Function::name() const { return body_->name(); }
const std::vector<TensorSpec>& Function::arg_specs() const {
  return body_->arg_specs;
}
const std::vector<TensorSpec>& Function::output_specs() const {
  return body_->output_specs;
}
Graph Function::body() const { return body_->graph; }
const std::source_location& Function::traced_at() const {
  return body_->created_at();
}
std::string Function::DebugString() const { return body_->DebugString(); }

}  // namespace weft
