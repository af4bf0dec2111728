// The state family: ReadVariable, Assign, AssignAdd and AssignSub, which
// read and update a Variable (state/variable.h) named by the node's
// "variable" attr. Their definitions and build-time inference (the value's
// dtype and shape checked against the variable's) work on the attr's
// Resource (its value_specs() and Describe()), so they live here with the
// other families; the builders, which take a Variable, are in
// state/variable_ops.cc, the kernels in kernels/state_kernels.cc.
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/op_families.h"
#include "graph/resource.h"
#include "graph/resource_attrs.h"

namespace weft {
namespace internal {
namespace {

// The Variable resource a node's attr names; an AttrError otherwise.
absl::StatusOr<const Resource*> InferVariable(InferenceContext& c) {
  const ResourceRef variable = VariableOfAttrs(*c.attrs);
  if (variable == nullptr || variable->value_specs().size() != 1) {
    return c.AttrError(
        "attr 'variable' must hold a Variable (a ResourceRef of kind "
        "Variable); build these ops with ops::ReadVariable/Assign/...");
  }
  return variable.get();
}

absl::Status InferRead(InferenceContext& c) {
  absl::StatusOr<const Resource*> v = InferVariable(c);
  if (!v.ok()) return v.status();
  const TensorSpec& spec = (*v)->value_specs()[0];
  c.SetOutput(spec.dtype, spec.shape);
  return absl::OkStatus();
}

// Assign, AssignAdd, AssignSub: the value's dtype must equal the
// variable's and its shape must be compatible.
absl::Status InferUpdate(InferenceContext& c, std::string_view what,
                         bool numeric) {
  absl::StatusOr<const Resource*> v = InferVariable(c);
  if (!v.ok()) return v.status();
  const TensorSpec& spec = (*v)->value_specs()[0];
  const std::string var = (*v)->Describe();
  if (numeric && !IsNumeric(spec.dtype)) {
    return c.DTypeError(absl::StrCat(what, " needs a numeric variable; ",
                                     "variable ", var, " holds ",
                                     DTypeName(spec.dtype)));
  }
  if (c.input_dtypes[0] != spec.dtype) {
    return c.DTypeError(absl::StrCat(
        what, " of ", DTypeName(c.input_dtypes[0]),
        c.input_shapes[0].DebugString(), " to variable ", var,
        ": the dtypes differ; Cast the value, or create the variable with "
        "this dtype"));
  }
  const Shape& in = c.input_shapes[0];
  bool compatible = in.rank() == spec.shape.rank();
  for (int i = 0; compatible && i < in.rank(); ++i) {
    compatible = in.dim(i) < 0 || in.dim(i) == spec.shape.dim(i);
  }
  if (!compatible) {
    return c.ShapeError(
        absl::StrCat(what, " of ", DTypeName(c.input_dtypes[0]),
                     in.DebugString(), " to variable ", var,
                     ": the shapes differ; a variable keeps its "
                     "shape for life"));
  }
  c.SetOutput(spec.dtype, spec.shape);
  return absl::OkStatus();
}

}  // namespace

void RegisterStateOps(OpRegistry& r) {
  RegisterBuiltin(r, {.type = "ReadVariable",
                      .num_inputs = 0,
                      .attrs = {kVariableAttr},
                      .infer = InferRead,
                      .stateful = true});
  for (auto [op, numeric] :
       {std::pair{"Assign", false}, {"AssignAdd", true}, {"AssignSub", true}}) {
    RegisterBuiltin(
        r, {.type = op,
            .num_inputs = 1,
            .attrs = {kVariableAttr},
            .infer =
                [op = std::string(op), numeric = numeric](InferenceContext& c) {
                  return InferUpdate(c, op, numeric);
                },
            .stateful = true});
  }
}

}  // namespace internal
}  // namespace weft
