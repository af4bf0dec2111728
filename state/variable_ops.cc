// The builders of the state family's ops (ReadVariable, Assign, AssignAdd,
// AssignSub) and VariablesOf. The ops are defined in graph/state_ops.cc and
// their kernels are in kernels/state_kernels.cc, both registered from the
// registries' family lists.
#include "state/variable_ops.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/ops.h"
#include "graph/resource_attrs.h"

namespace weft {
namespace {

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
                           {{internal::kVariableAttr, variable.resource()}},
                           options, where);
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
    Variable v = Variable::FromResource(internal::VariableOfAttrs(n->attrs()));
    if (!v.is_null() && seen.insert(v.resource().get()).second)
      out.push_back(v);
  }
  return out;
}

}  // namespace weft
