// function.h — defines weft::Function, a traced function whose body is its
// own graph, weft::FunctionOptions (its explicit captures), and the op
// builders that call functions: ops::Call, ops::Cond and ops::While (with
// weft::WhileOptions).
//
//   Graph g = Graph::Create("model");
//   GraphScope scope(g);
//   Tensor w = ops::Const(NDArray::Scalar<float>(2.f));
//   absl::StatusOr<Function> scale = Function::Trace(
//       "scale", {{DType::kFloat32, Shape{-1}, "x"}},
//       [&](const std::vector<Tensor>& args) -> std::vector<Tensor> {
//         return {ops::Mul(args[0], w)};  // w is listed below: allowed.
//       },
//       FunctionOptions{.captures = {w}});
//   std::vector<Tensor> y = ops::Call(*scale, {x});
//
// A body is traced once, on the calling thread, with the body graph as the
// default graph and empty name and device scopes. Inside it, only the
// arguments and the listed captures may be used; any other tensor of
// another graph is the cross-graph error with a note naming the function.
#ifndef WEFT_GRAPH_FUNCTION_H_
#define WEFT_GRAPH_FUNCTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/provenance.h"
#include "graph/resource.h"
#include "graph/tensor.h"
#include "graph/tensor_spec.h"

namespace weft {

class Node;
class OpRegistry;

struct FunctionOptions {
  // The tensors of enclosing graphs the body may use. Each becomes a hidden
  // argument, bound at every call site to the listed tensor (so a call must
  // be built in the capture's graph).
  std::vector<Tensor> captures = {};
};

namespace internal {
class FunctionBody;    // graph/function_body.h, internal to weft
class FunctionAccess;  // graph/function_body.h
}  // namespace internal

// A traced function: a cheap, copyable handle (a default-constructed one is
// null). Its body graph is finalized after tracing.
//
// Thread safety: immutable; copy and use from any thread.
class Function {
 public:
  Function() = default;

  // Traces `body` once on the calling thread: `args` become placeholders of
  // a new body graph (named by the spec, else "arg0", "arg1", ...), each of
  // `options.captures` a hidden placeholder ("capture0", ...). The body
  // runs with the body graph as the default graph and empty name and device
  // scopes (restored afterwards). Errors: an invalid spec, a non-ok
  // capture, a body that returns no tensors, a non-ok tensor (its error,
  // with a note naming the function) or a tensor of another graph, and
  // recursion: tracing a function whose name is already being traced on
  // this thread (directly or through nested traces) fails at once with
  // kInvalidArgument naming the cycle ("'f' -> 'g' -> 'f'").
  [[nodiscard]] static absl::StatusOr<Function> Trace(
      std::string_view name, std::vector<TensorSpec> args,
      std::function<std::vector<Tensor>(const std::vector<Tensor>&)> body,
      FunctionOptions options = {},
      std::source_location where = std::source_location::current());

  // valid(): the one "is this handle usable" name across weft's handles
  // (Graph, Variable, Queue, Function, NDArray, Tensor). is_null() is its
  // negation, kept for existing code.
  bool valid() const { return body_ != nullptr; }
  bool is_null() const { return body_ == nullptr; }
  // The accessors below must not be called on a null Function.
  const std::string& name() const;
  const std::vector<TensorSpec>& arg_specs() const;
  const std::vector<TensorSpec>& output_specs() const;
  const std::vector<Tensor>& captures() const { return *captures_; }
  // The body graph, inspectable (and dumpable) like any graph.
  Graph body() const;
  const std::source_location& traced_at() const;
  // The signature and the body graph, as text.
  std::string DebugString() const;

 private:
  friend class internal::FunctionAccess;  // What call nodes refer to.
  std::shared_ptr<internal::FunctionBody> body_;
  std::shared_ptr<const std::vector<Tensor>> captures_;
};

struct WhileOptions {
  // Past this many iterations the run fails (kOutOfRange); -1 = no limit.
  int64_t max_iterations = -1;
};

namespace ops {

#define WEFT_OP_TAIL             \
  const OpOptions &options = {}, \
                  std::source_location where = std::source_location::current()

// Calls `fn` with `args` (dtypes equal and shapes compatible with its arg
// specs, checked at build time); its captures are appended as hidden inputs
// and must belong to the caller's graph. One output per output spec.
std::vector<Tensor> Call(const Function& fn, const std::vector<Tensor>& args,
                         WEFT_OP_TAIL);
// Runs `then_fn(args)` if the scalar bool `pred` is true, else
// `else_fn(args)`; only the taken branch runs. Both functions take `args`
// and have identical output specs (dtype and shape).
std::vector<Tensor> Cond(const Tensor& pred, const Function& then_fn,
                         const Function& else_fn,
                         const std::vector<Tensor>& args, WEFT_OP_TAIL);
// while (cond(vars)) vars = body(vars); returns the final vars. `cond`
// takes the loop variables and returns one scalar bool; `body` takes them
// and returns values of the same dtypes and compatible shapes.
std::vector<Tensor> While(const Function& cond, const Function& body,
                          const std::vector<Tensor>& loop_vars,
                          const WhileOptions& while_options = {}, WEFT_OP_TAIL);

#undef WEFT_OP_TAIL

}  // namespace ops
}  // namespace weft

#endif  // WEFT_GRAPH_FUNCTION_H_
