// The control-flow family: Call, Cond and While, which run traced
// Functions (graph/function.h) — their definitions and build-time
// inference (argument and output specs checked against the functions) and
// their builders (declared in graph/function.h); kernels in
// runtime/control_flow_kernels.cc.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/function.h"
#include "graph/function_body.h"
#include "graph/graph_impl.h"
#include "graph/node.h"
#include "graph/op_families.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "graph/scopes.h"
#include "graph/thread_stacks.h"

namespace weft {
namespace internal {
namespace {

std::string SpecString(DType dtype, const Shape& shape) {
  return absl::StrCat(DTypeName(dtype), shape.DebugString());
}

bool Compatible(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dim(i) != b.dim(i) && a.dim(i) != Shape::kUnknown &&
        b.dim(i) != Shape::kUnknown) {
      return false;
    }
  }
  return true;
}

// The most specific shape both `a` and `b` (compatible) satisfy.
Shape Merge(const Shape& a, const Shape& b) {
  std::vector<int64_t> dims;
  for (int i = 0; i < a.rank(); ++i) {
    dims.push_back(a.dim(i) == b.dim(i) ? a.dim(i) : Shape::kUnknown);
  }
  return Shape(dims);
}

absl::Status FunctionError(InferenceContext& c, std::string message) {
  c.error_kind = ErrorKind::kFunction;
  return absl::InvalidArgumentError(std::move(message));
}

absl::StatusOr<const FunctionBody*> FunctionAttr(InferenceContext& c,
                                                 const std::string& attr) {
  absl::StatusOr<const ResourceRef*> ref = c.Attr<ResourceRef>(attr);
  if (!ref.ok()) return ref.status();
  const auto* fb = dynamic_cast<const FunctionBody*>((*ref)->get());
  if (fb == nullptr) {
    return c.AttrError(
        absl::StrCat("attr '", attr, "' does not refer to a Function"));
  }
  return fb;
}

// Inputs [first, first + n) against `fb`'s argument specs.
absl::Status CheckArgs(InferenceContext& c, const FunctionBody& fb,
                       std::string_view role, int first, int n,
                       std::string_view passed_as) {
  if (n != static_cast<int>(fb.arg_specs.size())) {
    c.error_kind = ErrorKind::kArity;
    return absl::InvalidArgumentError(
        absl::StrCat(role, fb.Describe(), " takes ", fb.arg_specs.size(),
                     " argument(s) but ", n, " ", passed_as, " given"));
  }
  for (int i = 0; i < n; ++i) {
    const TensorSpec& s = fb.arg_specs[i];
    const DType d = c.input_dtypes[first + i];
    const Shape& sh = c.input_shapes[first + i];
    const std::string msg =
        absl::StrCat("argument ", i, " of ", role, fb.Describe(), " is ",
                     SpecString(s.dtype, s.shape), " (", Quoted(s.name),
                     "), but ", passed_as, " ", i, " is ", SpecString(d, sh));
    if (d != s.dtype) return c.DTypeError(msg);
    if (!Compatible(s.shape, sh)) return c.ShapeError(msg);
  }
  return absl::OkStatus();
}

// Total inputs expected: `fixed` + every function's captures.
absl::Status CheckInputCount(InferenceContext& c, int fixed,
                             std::initializer_list<const FunctionBody*> fns) {
  size_t want = fixed;
  for (const FunctionBody* f : fns) want += f->capture_specs.size();
  if (c.input_dtypes.size() != want) {
    c.error_kind = ErrorKind::kArity;
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", want, " inputs (arguments, then captures) but got ",
        c.input_dtypes.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> NumArgs(InferenceContext& c) {
  absl::StatusOr<const int64_t*> n = c.Attr<int64_t>("num_args");
  if (!n.ok()) return n.status();
  if (**n < 0 || **n > static_cast<int64_t>(c.input_dtypes.size())) {
    return c.AttrError(absl::StrCat("num_args ", **n, " is out of range"));
  }
  return static_cast<int>(**n);
}

absl::Status InferCall(InferenceContext& c) {
  absl::StatusOr<const FunctionBody*> fb = FunctionAttr(c, "function");
  if (!fb.ok()) return fb.status();
  absl::StatusOr<int> n = NumArgs(c);
  if (!n.ok()) return n.status();
  if (absl::Status s = CheckInputCount(c, *n, {*fb}); !s.ok()) return s;
  if (absl::Status s = CheckArgs(c, **fb, "function ", 0, *n, "argument");
      !s.ok()) {
    return s;
  }
  std::vector<DType> dtypes;
  std::vector<Shape> shapes;
  for (const TensorSpec& s : (*fb)->output_specs) {
    dtypes.push_back(s.dtype);
    shapes.push_back(s.shape);
  }
  c.SetOutputs(std::move(dtypes), std::move(shapes));
  return absl::OkStatus();
}

absl::Status InferCond(InferenceContext& c) {
  absl::StatusOr<const FunctionBody*> then_fn =
      FunctionAttr(c, "then_function");
  if (!then_fn.ok()) return then_fn.status();
  absl::StatusOr<const FunctionBody*> else_fn =
      FunctionAttr(c, "else_function");
  if (!else_fn.ok()) return else_fn.status();
  absl::StatusOr<int> n = NumArgs(c);
  if (!n.ok()) return n.status();
  if (absl::Status s = CheckInputCount(c, 1 + *n, {*then_fn, *else_fn});
      !s.ok()) {
    return s;
  }
  if (c.input_dtypes[0] != DType::kBool || c.input_shapes[0].rank() != 0) {
    return c.DTypeError(
        absl::StrCat("Cond's predicate (input 0) must be a scalar bool, got ",
                     SpecString(c.input_dtypes[0], c.input_shapes[0])));
  }
  for (const FunctionBody* fb : {*then_fn, *else_fn}) {
    const char* role = fb == *then_fn ? "then branch " : "else branch ";
    if (absl::Status s = CheckArgs(c, *fb, role, 1, *n, "argument"); !s.ok()) {
      return s;
    }
  }
  const auto& a = (*then_fn)->output_specs;
  const auto& b = (*else_fn)->output_specs;
  const std::string both = absl::StrCat(
      "; both branches must return the same dtypes and shapes (then branch ",
      (*then_fn)->Describe(), ", else branch ", (*else_fn)->Describe(), ")");
  if (a.size() != b.size()) {
    return FunctionError(
        c, absl::StrCat("the branches of Cond return different numbers of "
                        "outputs: ",
                        a.size(), " and ", b.size(), both));
  }
  std::vector<DType> dtypes;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dtype != b[i].dtype || a[i].shape != b[i].shape) {
      return FunctionError(
          c, absl::StrCat("the branches of Cond differ in output ", i, ": ",
                          SpecString(a[i].dtype, a[i].shape), " and ",
                          SpecString(b[i].dtype, b[i].shape), both));
    }
    dtypes.push_back(a[i].dtype);
    shapes.push_back(a[i].shape);
  }
  c.SetOutputs(std::move(dtypes), std::move(shapes));
  return absl::OkStatus();
}

// While's condition returns one scalar bool.
absl::Status CheckWhileCondition(InferenceContext& c, const FunctionBody& cond,
                                 std::string_view both) {
  const auto& co = cond.output_specs;
  if (co.size() == 1 && co[0].dtype == DType::kBool &&
      co[0].shape.rank() == 0) {
    return absl::OkStatus();
  }
  std::string got;
  for (const TensorSpec& s : co) {
    absl::StrAppend(&got, got.empty() ? "" : ", ",
                    SpecString(s.dtype, s.shape));
  }
  return FunctionError(
      c, absl::StrCat("the condition must return one scalar bool, but it "
                      "returns (",
                      got, ")", both));
}

// While's body returns one value per loop variable, matching it in dtype
// and (compatible) shape; sets While's outputs: the loop variables' dtypes
// and the merged shapes.
absl::Status InferWhileOutputs(InferenceContext& c, const FunctionBody& body,
                               int n, std::string_view both) {
  const auto& bo = body.output_specs;
  if (bo.size() != static_cast<size_t>(n)) {
    return FunctionError(
        c, absl::StrCat("the body returns ", bo.size(), " value(s) for ", n,
                        " loop variable(s)", both));
  }
  std::vector<DType> dtypes;
  std::vector<Shape> shapes;
  for (int i = 0; i < n; ++i) {
    const DType d = c.input_dtypes[i];
    const Shape& sh = c.input_shapes[i];
    if (bo[i].dtype != d || !Compatible(bo[i].shape, sh)) {
      return FunctionError(
          c,
          absl::StrCat("the body returns ",
                       SpecString(bo[i].dtype, bo[i].shape), " as output ", i,
                       " but loop variable ", i, " is ", SpecString(d, sh),
                       "; the body must return values matching the loop "
                       "variables in dtype and shape",
                       both));
    }
    dtypes.push_back(d);
    shapes.push_back(Merge(sh, bo[i].shape));
  }
  c.SetOutputs(std::move(dtypes), std::move(shapes));
  return absl::OkStatus();
}

// While in named steps: its attrs and inputs, both functions' arguments,
// the condition's output, then the body's outputs (While's own).
absl::Status InferWhile(InferenceContext& c) {
  absl::StatusOr<const FunctionBody*> cond = FunctionAttr(c, "cond_function");
  if (!cond.ok()) return cond.status();
  absl::StatusOr<const FunctionBody*> body = FunctionAttr(c, "body_function");
  if (!body.ok()) return body.status();
  absl::StatusOr<int> n = NumArgs(c);
  if (!n.ok()) return n.status();
  absl::StatusOr<const int64_t*> max = c.Attr<int64_t>("max_iterations");
  if (!max.ok()) return max.status();
  if (**max < -1) {
    return c.AttrError(absl::StrCat("WhileOptions::max_iterations is ", **max,
                                    "; use -1 (no limit) or a count >= 0"));
  }
  if (absl::Status s = CheckInputCount(c, *n, {*cond, *body}); !s.ok()) {
    return s;
  }
  if (*n == 0) {
    return FunctionError(c, "While needs at least one loop variable");
  }
  const std::string both =
      absl::StrCat(" (While with condition ", (*cond)->Describe(), " and body ",
                   (*body)->Describe(), ")");
  if (absl::Status s =
          CheckArgs(c, **cond, "the condition ", 0, *n, "loop variable");
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          CheckArgs(c, **body, "the body ", 0, *n, "loop variable");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckWhileCondition(c, **cond, both); !s.ok()) {
    return s;
  }
  return InferWhileOutputs(c, **body, *n, both);
}

// The error a builder returns for a null Function.
absl::Status NullFunctionError(std::string_view builder, std::string_view role,
                               std::source_location where) {
  std::string msg = NullHandleMessage(
      absl::StrCat(builder, " at ", SourceSite::From(where).ToString(), ": ",
                   role, " is"),
      "Function");
  const std::vector<TracingFrame>& frames = TracingStack();
  if (!frames.empty()) {
    std::string chain;
    for (const TracingFrame& f : frames) {
      absl::StrAppend(&chain, Quoted(f.function_name), " (traced at ",
                      SourceSite::From(f.traced_at).ToString(), ") -> ");
    }
    absl::StrAppend(
        &msg, "\n  the call is inside ", chain,
        "?; if it was meant to call a function being traced, that is "
        "recursion, which weft rejects: a body is traced once, before its "
        "Function exists, so a function can call only functions traced "
        "before it; use ops::While for iteration");
  }
  absl::Status s = absl::InvalidArgumentError(msg);
  return s;
}

// Adds a note to a cross-graph error about input `index` when it is a
// hidden capture input (inputs [first, first + n) are `fn`'s captures).
absl::Status NoteCapture(const absl::Status& status, const Function& fn,
                         size_t first) {
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(status);
  if (!e.has_value() || e->control_input) return status;
  const size_t i = static_cast<size_t>(e->input_index);
  if (i < first || i >= first + fn.captures().size()) return status;
  return WithNote(
      status,
      absl::StrCat("input ", i, " is capture ", i - first, " of function ",
                   internal::FunctionAccess::Body(fn)->Describe(),
                   ", listed in its FunctionOptions::captures; a capture is "
                   "bound to its own graph: call the function from that "
                   "graph, or trace another function for this one"));
}

std::vector<Tensor> Fail(absl::Status s, size_t n) {
  return std::vector<Tensor>(std::max<size_t>(1, n),
                             Tensor::FromError(std::move(s)));
}

// `options` with the node named after `fn` unless the caller named it.
OpOptions NamedAfter(const OpOptions& options, const Function& fn) {
  OpOptions o = options;
  if (o.name.empty() && ValidateNodeName(fn.name()).ok()) o.name = fn.name();
  return o;
}

}  // namespace

void RegisterControlFlowOps(OpRegistry& r) {
  RegisterBuiltin(r, {.type = "Call",
                      .num_inputs = OpDef::kVariadicInputs,
                      .attrs = {"function", "num_args"},
                      .infer = InferCall,
                      .num_outputs = OpDef::kOutputsFromInference});
  RegisterBuiltin(r, {.type = "Cond",
                      .num_inputs = OpDef::kVariadicInputs,
                      .attrs = {"then_function", "else_function", "num_args"},
                      .infer = InferCond,
                      .num_outputs = OpDef::kOutputsFromInference});
  RegisterBuiltin(r, {.type = "While",
                      .num_inputs = OpDef::kVariadicInputs,
                      .attrs = {"cond_function", "body_function", "num_args",
                                "max_iterations"},
                      .infer = InferWhile,
                      .num_outputs = OpDef::kOutputsFromInference});
}

}  // namespace internal

namespace ops {

std::vector<Tensor> Call(const Function& fn, const std::vector<Tensor>& args,
                         const OpOptions& options, std::source_location where) {
  if (fn.is_null()) {
    return internal::Fail(
        internal::NullFunctionError("ops::Call", "the function", where), 1);
  }
  std::vector<Tensor> inputs = args;
  inputs.insert(inputs.end(), fn.captures().begin(), fn.captures().end());
  const size_t n = fn.output_specs().size();
  std::vector<Tensor> out = internal::BuildOpN(
      "Call", std::move(inputs),
      {{"function", ResourceRef(internal::FunctionAccess::Body(fn))},
       {"num_args", static_cast<int64_t>(args.size())}},
      internal::NamedAfter(options, fn), where, static_cast<int>(n));
  if (!out.front().ok()) {
    return internal::Fail(
        internal::NoteCapture(out.front().status(), fn, args.size()), n);
  }
  return out;
}

std::vector<Tensor> Cond(const Tensor& pred, const Function& then_fn,
                         const Function& else_fn,
                         const std::vector<Tensor>& args,
                         const OpOptions& options, std::source_location where) {
  if (then_fn.is_null() || else_fn.is_null()) {
    return internal::Fail(
        internal::NullFunctionError(
            "ops::Cond", then_fn.is_null() ? "then_fn" : "else_fn", where),
        1);
  }
  std::vector<Tensor> inputs = {pred};
  inputs.insert(inputs.end(), args.begin(), args.end());
  inputs.insert(inputs.end(), then_fn.captures().begin(),
                then_fn.captures().end());
  inputs.insert(inputs.end(), else_fn.captures().begin(),
                else_fn.captures().end());
  const size_t n = then_fn.output_specs().size();
  std::vector<Tensor> out = internal::BuildOpN(
      "Cond", std::move(inputs),
      {{"then_function", ResourceRef(internal::FunctionAccess::Body(then_fn))},
       {"else_function", ResourceRef(internal::FunctionAccess::Body(else_fn))},
       {"num_args", static_cast<int64_t>(args.size())}},
      options, where, static_cast<int>(n));
  if (!out.front().ok()) {
    absl::Status s =
        internal::NoteCapture(out.front().status(), then_fn, 1 + args.size());
    s = internal::NoteCapture(s, else_fn,
                              1 + args.size() + then_fn.captures().size());
    return internal::Fail(std::move(s), n);
  }
  return out;
}

std::vector<Tensor> While(const Function& cond, const Function& body,
                          const std::vector<Tensor>& loop_vars,
                          const WhileOptions& while_options,
                          const OpOptions& options,
                          std::source_location where) {
  if (cond.is_null() || body.is_null()) {
    return internal::Fail(
        internal::NullFunctionError("ops::While",
                                    cond.is_null() ? "cond" : "body", where),
        loop_vars.size());
  }
  std::vector<Tensor> inputs = loop_vars;
  inputs.insert(inputs.end(), cond.captures().begin(), cond.captures().end());
  inputs.insert(inputs.end(), body.captures().begin(), body.captures().end());
  const size_t n = loop_vars.size();
  std::vector<Tensor> out = internal::BuildOpN(
      "While", std::move(inputs),
      {{"cond_function", ResourceRef(internal::FunctionAccess::Body(cond))},
       {"body_function", ResourceRef(internal::FunctionAccess::Body(body))},
       {"num_args", static_cast<int64_t>(n)},
       {"max_iterations", while_options.max_iterations}},
      options, where, static_cast<int>(n));
  if (!out.front().ok()) {
    absl::Status s = internal::NoteCapture(out.front().status(), cond, n);
    s = internal::NoteCapture(s, body, n + cond.captures().size());
    return internal::Fail(std::move(s), n);
  }
  return out;
}

}  // namespace ops
}  // namespace weft
