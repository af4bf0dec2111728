// The variable ops: their definitions (inference checks the value against
// the variable at build time), builders and kernels. Registered by a static
// registrar (the //state:variable_ops library is alwayslink), so a graph
// loaded from a file finds them too.
#include "state/variable_ops.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/errors.h"
#include "graph/graph_io.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "kernels/kernel.h"
#include "state/variable_impl.h"

namespace weft {
namespace {

constexpr char kVariableAttr[] = "variable";

// The variable a node's attr names, or a null Variable.
Variable VariableOfAttrs(const AttrMap& attrs) {
  const ResourceRef* ref = FindAttr<ResourceRef>(attrs, kVariableAttr);
  return ref == nullptr ? Variable() : Variable::FromResource(*ref);
}

absl::StatusOr<Variable> InferVariable(InferenceContext& c) {
  Variable v = VariableOfAttrs(*c.attrs);
  if (v.is_null()) {
    return c.AttrError(
        "attr 'variable' must hold a Variable (a ResourceRef of kind "
        "Variable); build these ops with ops::ReadVariable/Assign/...");
  }
  return v;
}

absl::Status InferRead(InferenceContext& c) {
  absl::StatusOr<Variable> v = InferVariable(c);
  if (!v.ok()) return v.status();
  c.SetOutput(v->dtype(), v->shape());
  return absl::OkStatus();
}

// Assign, AssignAdd, AssignSub: the value's dtype must equal the
// variable's and its shape must be compatible.
absl::Status InferUpdate(InferenceContext& c, std::string_view what,
                         bool numeric) {
  absl::StatusOr<Variable> v = InferVariable(c);
  if (!v.ok()) return v.status();
  const std::string var = v->impl()->Describe();
  if (numeric && !IsNumeric(v->dtype())) {
    return c.DTypeError(absl::StrCat(what, " needs a numeric variable; ",
                                     "variable ", var, " holds ",
                                     DTypeName(v->dtype())));
  }
  if (c.input_dtypes[0] != v->dtype()) {
    return c.DTypeError(absl::StrCat(
        what, " of ", DTypeName(c.input_dtypes[0]),
        c.input_shapes[0].DebugString(), " to variable ", var,
        ": the dtypes differ; Cast the value, or create the variable with "
        "this dtype"));
  }
  const Shape& in = c.input_shapes[0];
  bool compatible = in.rank() == v->shape().rank();
  for (int i = 0; compatible && i < in.rank(); ++i) {
    compatible = in.dim(i) < 0 || in.dim(i) == v->shape().dim(i);
  }
  if (!compatible) {
    return c.ShapeError(
        absl::StrCat(what, " of ", DTypeName(c.input_dtypes[0]),
                     in.DebugString(), " to variable ", var,
                     ": the shapes differ; a variable keeps its "
                     "shape for life"));
  }
  c.SetOutput(v->dtype(), v->shape());
  return absl::OkStatus();
}

class VariableKernel : public OpKernel {
 public:
  explicit VariableKernel(OpKernelConstruction& c)
      : OpKernel(c), variable_(VariableOfAttrs(c.node().attrs())) {
    if (variable_.is_null()) {
      c.SetStatus(absl::InvalidArgumentError("no Variable in attr 'variable'"));
    }
  }

 protected:
  const Variable variable_;
};

class ReadVariableKernel : public VariableKernel {
 public:
  using VariableKernel::VariableKernel;
  absl::Status Compute(OpKernelContext& ctx) const override {
    ctx.set_output(0, variable_.value());
    return absl::OkStatus();
  }
};

enum class UpdateKind { kAssign, kAdd, kSub };

template <UpdateKind kKind>
class UpdateKernel : public VariableKernel {
 public:
  using VariableKernel::VariableKernel;
  absl::Status Compute(OpKernelContext& ctx) const override {
    absl::StatusOr<NDArray> now;
    if constexpr (kKind == UpdateKind::kAssign) {
      NDArray value = ctx.release_input(0);
      absl::Status s = variable_.Assign(value);
      if (!s.ok()) return s;
      now = std::move(value);
    } else if constexpr (kKind == UpdateKind::kAdd) {
      now = variable_.AssignAdd(ctx.input(0));
    } else {
      now = variable_.AssignSub(ctx.input(0));
    }
    if (!now.ok()) return now.status();
    ctx.set_output(0, *std::move(now));
    return absl::OkStatus();
  }
};

bool RegisterVariableOps() {
  OpRegistry& ops = OpRegistry::Global();
  absl::Status s = ops.Register({.type = "ReadVariable",
                                 .num_inputs = 0,
                                 .attrs = {kVariableAttr},
                                 .infer = InferRead,
                                 .stateful = true});
  s.Update(ops.Register(
      {.type = "Assign",
       .num_inputs = 1,
       .attrs = {kVariableAttr},
       .infer =
           [](InferenceContext& c) { return InferUpdate(c, "Assign", false); },
       .stateful = true}));
  s.Update(ops.Register({.type = "AssignAdd",
                         .num_inputs = 1,
                         .attrs = {kVariableAttr},
                         .infer =
                             [](InferenceContext& c) {
                               return InferUpdate(c, "AssignAdd", true);
                             },
                         .stateful = true}));
  s.Update(ops.Register({.type = "AssignSub",
                         .num_inputs = 1,
                         .attrs = {kVariableAttr},
                         .infer =
                             [](InferenceContext& c) {
                               return InferUpdate(c, "AssignSub", true);
                             },
                         .stateful = true}));
  KernelRegistry& kernels = KernelRegistry::Global();
  for (DType d : {DType::kFloat32, DType::kFloat64, DType::kInt32,
                  DType::kInt64, DType::kBool}) {
    // ReadVariable has no input: it is keyed by its output dtype.
    s.Update(
        kernels.Register({.op = "ReadVariable",
                          .dtype = d,
                          .factory = MakeKernelFactory<ReadVariableKernel>()}));
    s.Update(kernels.Register(
        {.op = "Assign",
         .dtype = d,
         .factory = MakeKernelFactory<UpdateKernel<UpdateKind::kAssign>>()}));
    if (d == DType::kBool) continue;
    s.Update(kernels.Register(
        {.op = "AssignAdd",
         .dtype = d,
         .factory = MakeKernelFactory<UpdateKernel<UpdateKind::kAdd>>()}));
    s.Update(kernels.Register(
        {.op = "AssignSub",
         .dtype = d,
         .factory = MakeKernelFactory<UpdateKernel<UpdateKind::kSub>>()}));
  }
  return s.ok();
}

const bool kRegistered = RegisterVariableOps();

// A graph file names its variables; LoadGraph binds them by name to the
// live Variable of that name (FindVariable: none, or two, is an error
// naming it).
const bool kResolverRegistered = [] {
  RegisterResourceResolver(
      "Variable", [](std::string_view name) -> absl::StatusOr<ResourceRef> {
        absl::StatusOr<Variable> v = FindVariable(name);
        if (!v.ok()) return v.status();
        return v->resource();
      });
  return true;
}();

Tensor BuildVariableOp(std::string_view op, const Variable& variable,
                       std::vector<Tensor> inputs, const OpOptions& options,
                       std::source_location where) {
  if (variable.is_null()) {
    // First error wins: a non-ok input's error comes first.
    for (const Tensor& t : inputs) {
      if (!t.ok()) return t;
    }
    return Tensor::FromError(NullResourceError(op, "Variable", where));
  }
  return internal::BuildOp(op, std::move(inputs),
                           {{kVariableAttr, variable.resource()}}, options,
                           where);
}

}  // namespace

namespace ops {

Tensor ReadVariable(const Variable& variable, const OpOptions& options,
                    std::source_location where) {
  return BuildVariableOp("ReadVariable", variable, {}, options, where);
}
Tensor Assign(const Variable& variable, const Tensor& value,
              const OpOptions& options, std::source_location where) {
  return BuildVariableOp("Assign", variable, {value}, options, where);
}
Tensor AssignAdd(const Variable& variable, const Tensor& delta,
                 const OpOptions& options, std::source_location where) {
  return BuildVariableOp("AssignAdd", variable, {delta}, options, where);
}
Tensor AssignSub(const Variable& variable, const Tensor& delta,
                 const OpOptions& options, std::source_location where) {
  return BuildVariableOp("AssignSub", variable, {delta}, options, where);
}

}  // namespace ops

std::vector<Variable> VariablesOf(const Graph& graph) {
  std::vector<Variable> out;
  absl::flat_hash_set<const void*> seen;
  for (const Node* n : graph.nodes()) {
    Variable v = VariableOfAttrs(n->attrs());
    if (!v.is_null() && seen.insert(v.impl().get()).second) out.push_back(v);
  }
  return out;
}

}  // namespace weft
