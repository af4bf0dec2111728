// ops.h — defines the op builders of weft::ops: Const, Placeholder,
// Identity, the elementwise arithmetic (numpy broadcasting), MatMul, the
// activations, reductions, Reshape, Cast, Split (several outputs), the
// comparisons and logical ops, and Select.
//
// Every builder takes trailing `const OpOptions& options = {}` and a
// defaulted `std::source_location`. The op lands in `options.graph` if set,
// else in DefaultGraph(). A builder never throws and never crashes: on
// failure it returns a non-ok Tensor carrying the error and adds nothing to
// any graph; an op built from a non-ok input returns that same error (the
// first error wins).
#ifndef WEFT_GRAPH_OPS_H_
#define WEFT_GRAPH_OPS_H_

#include <cstdint>
#include <source_location>
#include <string_view>
#include <vector>

#include "graph/attr.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"

namespace weft {
namespace ops {

#define WEFT_OP_TAIL             \
  const OpOptions &options = {}, \
                  std::source_location where = std::source_location::current()

// A constant holding `value`.
Tensor Const(const NDArray& value, WEFT_OP_TAIL);
// A value fed at run time; `shape` may have -1 (unknown) dims.
Tensor Placeholder(DType dtype, Shape shape, WEFT_OP_TAIL);
Tensor Identity(const Tensor& x, WEFT_OP_TAIL);

// Elementwise, numpy broadcasting, both inputs of one numeric dtype.
Tensor Add(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor Sub(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor Mul(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
// Integer division truncates toward zero; dividing by zero is a run-time
// error for integers (IEEE for floats).
Tensor Div(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor Maximum(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);

Tensor Neg(const Tensor& x, WEFT_OP_TAIL);
Tensor Relu(const Tensor& x, WEFT_OP_TAIL);
Tensor Sigmoid(const Tensor& x, WEFT_OP_TAIL);  // float32/float64
Tensor Tanh(const Tensor& x, WEFT_OP_TAIL);     // float32/float64

// [m,k] x [k,n] -> [m,n].
Tensor MatMul(const Tensor& a, const Tensor& b, WEFT_OP_TAIL);

// Reductions over `axes` (negative axes count from the end; empty reduces
// every axis). The reduced axes are removed. ReduceMean of integers
// truncates.
Tensor ReduceSum(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceMean(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);

// `shape` may contain one -1, inferred from the element count.
Tensor Reshape(const Tensor& x, Shape shape, WEFT_OP_TAIL);
Tensor Cast(const Tensor& x, DType dtype, WEFT_OP_TAIL);

// Comparisons (numpy broadcasting, both inputs of one dtype): a bool tensor.
// Less/LessEqual/Greater/GreaterEqual take the numeric dtypes; Equal and
// NotEqual also take bool. NaN compares unequal to everything (IEEE).
Tensor Less(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor LessEqual(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor Greater(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor GreaterEqual(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor Equal(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor NotEqual(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
// Logical ops on bool tensors (And/Or broadcast).
Tensor LogicalAnd(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor LogicalOr(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor LogicalNot(const Tensor& x, WEFT_OP_TAIL);
// Elementwise choice: `a` where `cond` is true, else `b`. `cond` is bool;
// `a` and `b` share any dtype; the three shapes broadcast together (numpy
// `where`), so a scalar `cond` picks a whole tensor.
Tensor Select(const Tensor& cond, const Tensor& a, const Tensor& b,
              WEFT_OP_TAIL);

// Splits `x` into `num_splits` equal parts along `axis` (negative counts from
// the end): one output per part. Build-time errors: an axis out of range,
// num_splits < 1, or a known dimension not divisible by num_splits. On
// failure every returned Tensor (num_splits of them, at least one) carries
// the error.
std::vector<Tensor> Split(const Tensor& x, int num_splits, int axis,
                          WEFT_OP_TAIL);

#undef WEFT_OP_TAIL

}  // namespace ops

namespace internal {
// Builds `op` where an op builder would put it (options.graph, else the
// thread's default graph) and returns its output 0 or the error Tensor.
Tensor BuildOp(std::string_view op, std::vector<Tensor> inputs, AttrMap attrs,
               const OpOptions& options, std::source_location where);
// Like BuildOp, for any number of outputs: every output, or on failure
// max(1, expected_outputs) Tensors carrying the error (never empty).
std::vector<Tensor> BuildOpN(std::string_view op, std::vector<Tensor> inputs,
                             AttrMap attrs, const OpOptions& options,
                             std::source_location where, int expected_outputs);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_GRAPH_OPS_H_
