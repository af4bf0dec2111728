// variable_ops.h — defines the graph ops on weft::Variable:
// ops::ReadVariable, ops::Assign, ops::AssignAdd, ops::AssignSub, and
// VariablesOf(graph). A Variable belongs to no graph; these ops land in the
// current graph like any op, so any number of graphs and sessions share one
// variable through explicit nodes.
//
//   Variable w = *Variable::Create("w", NDArray::Vector<float>({0, 0}));
//   Tensor read = ops::ReadVariable(w);             // In DefaultGraph().
//   Tensor step = ops::AssignSub(w, ops::Mul(lr, grad));
//   session->Run({}, {}, {step});                   // Update as a target.
//
// Ordering within one run follows data and control dependencies only (see
// docs/state.md): a read that must see an update takes the update's output
// or lists it in OpOptions::control_inputs.
#ifndef WEFT_STATE_VARIABLE_OPS_H_
#define WEFT_STATE_VARIABLE_OPS_H_

#include <source_location>
#include <vector>

#include "graph/graph.h"
#include "graph/tensor.h"
#include "state/variable.h"

namespace weft {
namespace ops {

// The variable's value at the time the node runs (a whole value, never a
// mix of two updates). A null variable is a build error.
Tensor ReadVariable(
    const Variable& variable, const OpOptions& options = {},
    std::source_location where = std::source_location::current());

// Replaces the value; returns the new value. `value` must have the
// variable's dtype and a shape compatible with its shape (a build error
// naming the variable and where it was created otherwise; an unknown dim
// that turns out wrong is a run-time error, and nothing changes).
Tensor Assign(const Variable& variable, const Tensor& value,
              const OpOptions& options = {},
              std::source_location where = std::source_location::current());

// value += delta / value -= delta as an atomic read-modify-write (no lost
// update under any contention); returns the new value. Numeric dtypes.
Tensor AssignAdd(const Variable& variable, const Tensor& delta,
                 const OpOptions& options = {},
                 std::source_location where = std::source_location::current());
Tensor AssignSub(const Variable& variable, const Tensor& delta,
                 const OpOptions& options = {},
                 std::source_location where = std::source_location::current());

}  // namespace ops

// The variables the nodes of `graph` use, in order of first use.
std::vector<Variable> VariablesOf(const Graph& graph);

}  // namespace weft

#endif  // WEFT_STATE_VARIABLE_OPS_H_
