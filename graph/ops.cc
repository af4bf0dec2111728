#include "graph/ops.h"

#include <algorithm>

#include "graph/graph_impl.h"
#include "graph/scopes.h"

namespace weft {
namespace internal {

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
  NodeRequest req =
      MakeNodeRequest(op, inputs, std::move(attrs), options, where);
  req.source = source;
  req.scope = std::move(scope);
  absl::StatusOr<const Node*> node = target.impl()->AddNode(std::move(req));
  if (!node.ok()) return failed(std::move(node).status());
  return target.impl()->Outputs(*node);
}

Tensor BuildOp(std::string_view op, std::vector<Tensor> inputs, AttrMap attrs,
               const OpOptions& options, std::source_location where) {
  return BuildOpN(op, std::move(inputs), std::move(attrs), options, where,
                  /*expected_outputs=*/1)
      .front();
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

Tensor Const(const NDArray& value, const OpOptions& options,
             std::source_location where) {
  return BuildOp("Const", {}, {{"value", value}}, options, where);
}

Tensor Placeholder(DType dtype, Shape shape, const OpOptions& options,
                   std::source_location where) {
  return BuildOp("Placeholder", {},
                 {{"dtype", dtype}, {"shape", std::move(shape)}}, options,
                 where);
}

#define WEFT_UNARY(Name)                                 \
  Tensor Name(const Tensor& x, const OpOptions& options, \
              std::source_location where) {              \
    return BuildOp(#Name, {x}, {}, options, where);      \
  }
#define WEFT_BINARY(Name)                                                 \
  Tensor Name(const Tensor& x, const Tensor& y, const OpOptions& options, \
              std::source_location where) {                               \
    return BuildOp(#Name, {x, y}, {}, options, where);                    \
  }

WEFT_UNARY(Identity)
WEFT_UNARY(Neg)
WEFT_UNARY(Relu)
WEFT_UNARY(Sigmoid)
WEFT_UNARY(Tanh)
WEFT_BINARY(Add)
WEFT_BINARY(Sub)
WEFT_BINARY(Mul)
WEFT_BINARY(Div)
WEFT_BINARY(Maximum)
WEFT_BINARY(MatMul)
WEFT_BINARY(Less)
WEFT_BINARY(LessEqual)
WEFT_BINARY(Greater)
WEFT_BINARY(GreaterEqual)
WEFT_BINARY(Equal)
WEFT_BINARY(NotEqual)
WEFT_BINARY(LogicalAnd)
WEFT_BINARY(LogicalOr)
WEFT_UNARY(LogicalNot)

#undef WEFT_UNARY
#undef WEFT_BINARY

Tensor Select(const Tensor& cond, const Tensor& a, const Tensor& b,
              const OpOptions& options, std::source_location where) {
  return BuildOp("Select", {cond, a, b}, {}, options, where);
}

Tensor ReduceSum(const Tensor& x, std::vector<int64_t> axes,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("ReduceSum", {x}, {{"axes", std::move(axes)}}, options, where);
}

Tensor ReduceMean(const Tensor& x, std::vector<int64_t> axes,
                  const OpOptions& options, std::source_location where) {
  return BuildOp("ReduceMean", {x}, {{"axes", std::move(axes)}}, options,
                 where);
}

Tensor Reshape(const Tensor& x, Shape shape, const OpOptions& options,
               std::source_location where) {
  return BuildOp("Reshape", {x}, {{"shape", std::move(shape)}}, options, where);
}

Tensor Cast(const Tensor& x, DType dtype, const OpOptions& options,
            std::source_location where) {
  return BuildOp("Cast", {x}, {{"dtype", dtype}}, options, where);
}

std::vector<Tensor> Split(const Tensor& x, int num_splits, int axis,
                          const OpOptions& options,
                          std::source_location where) {
  return internal::BuildOpN(
      "Split", {x},
      {{"num_splits", int64_t{num_splits}}, {"axis", int64_t{axis}}}, options,
      where, num_splits);
}

}  // namespace ops
}  // namespace weft
