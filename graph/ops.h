// ops.h — defines the op builders of weft::ops: Const, Placeholder,
// Identity, the elementwise arithmetic (numpy broadcasting) and math
// functions, MatMul and BatchMatMul, the activations, Softmax/LogSoftmax,
// reductions, ArgMax, Reshape, Transpose, Concat, Slice, Gather, Cast,
// Split (several outputs), the comparisons and logical ops, and Select.
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
Tensor Minimum(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
// x ** y, float32/float64 only (C's pow special cases).
Tensor Pow(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);

Tensor Neg(const Tensor& x, WEFT_OP_TAIL);
Tensor Relu(const Tensor& x, WEFT_OP_TAIL);
Tensor Sigmoid(const Tensor& x, WEFT_OP_TAIL);  // float32/float64
Tensor Tanh(const Tensor& x, WEFT_OP_TAIL);     // float32/float64
// Numeric (integers wrap like Neg / Mul): |x| and x * x.
Tensor Abs(const Tensor& x, WEFT_OP_TAIL);
Tensor Square(const Tensor& x, WEFT_OP_TAIL);
// float32/float64, IEEE edge cases (Log(0) = -inf, Sqrt(-1) = NaN);
// Rsqrt is 1 / sqrt(x).
Tensor Exp(const Tensor& x, WEFT_OP_TAIL);
Tensor Log(const Tensor& x, WEFT_OP_TAIL);
Tensor Sqrt(const Tensor& x, WEFT_OP_TAIL);
Tensor Rsqrt(const Tensor& x, WEFT_OP_TAIL);
Tensor Erf(const Tensor& x, WEFT_OP_TAIL);
// float32/float64: log(1 + exp(x)), without overflow for large x.
Tensor Softplus(const Tensor& x, WEFT_OP_TAIL);

// Softmax / LogSoftmax along `axis` (default -1, the last; negative counts
// from the end), float32/float64, computed from x - max(x) so large inputs
// do not overflow.
Tensor Softmax(const Tensor& x, WEFT_OP_TAIL);
Tensor Softmax(const Tensor& x, int axis, WEFT_OP_TAIL);
Tensor LogSoftmax(const Tensor& x, WEFT_OP_TAIL);
Tensor LogSoftmax(const Tensor& x, int axis, WEFT_OP_TAIL);

// [m,k] x [k,n] -> [m,n]. With transpose_a, `a` is read as [k,m] (used
// transposed); with transpose_b, `b` as [n,k].
Tensor MatMul(const Tensor& a, const Tensor& b, WEFT_OP_TAIL);
Tensor MatMul(const Tensor& a, const Tensor& b, bool transpose_a,
              bool transpose_b, WEFT_OP_TAIL);
// Batched MatMul: inputs of rank >= 2 whose last two dims multiply as MatMul
// (with the transpose flags) and whose leading batch dims broadcast like
// numpy ([8,4,128,64] x [8,4,64,128] -> [8,4,128,128]; [2,1,m,k] x [3,k,n]
// -> [2,3,m,n]).
Tensor BatchMatMul(const Tensor& a, const Tensor& b, WEFT_OP_TAIL);
Tensor BatchMatMul(const Tensor& a, const Tensor& b, bool transpose_a,
                   bool transpose_b, WEFT_OP_TAIL);

// Reductions over `axes` (negative axes count from the end; empty reduces
// every axis). The reduced axes are removed. ReduceMean of integers
// truncates.
Tensor ReduceSum(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceMean(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
// The maximum over `axes` (numeric; NaN propagates). With keep_dims each
// reduced axis stays with size 1. Reducing zero elements into an output
// element is a run-time error.
Tensor ReduceMax(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceMax(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                 WEFT_OP_TAIL);
// The int64 index of the maximum along `axis` (removed from the shape); the
// first one on ties; a NaN counts as the maximum. An empty axis is a
// run-time error.
Tensor ArgMax(const Tensor& x, int axis, WEFT_OP_TAIL);

// `shape` may contain one -1, inferred from the element count.
Tensor Reshape(const Tensor& x, Shape shape, WEFT_OP_TAIL);
Tensor Cast(const Tensor& x, DType dtype, WEFT_OP_TAIL);
// Output axis i is input axis perm[i]; `perm` lists every axis once.
Tensor Transpose(const Tensor& x, std::vector<int64_t> perm, WEFT_OP_TAIL);
// Joins one or more tensors of one dtype and rank along `axis`; the other
// dims must match.
Tensor Concat(const std::vector<Tensor>& values, int axis, WEFT_OP_TAIL);
// The block starting at `begin` of extent `size` (one entry per axis;
// size -1 means to the end of that axis). Out of bounds is an error (at
// build time for known dims, else at run time).
Tensor Slice(const Tensor& x, std::vector<int64_t> begin,
             std::vector<int64_t> size, WEFT_OP_TAIL);
// Picks slices of `params` along `axis` by `indices` (int32 or int64):
// out.shape = params.shape[:axis] + indices.shape + params.shape[axis+1:].
// An index outside [0, params.dim(axis)) is a run-time error.
Tensor Gather(const Tensor& params, const Tensor& indices, int axis,
              WEFT_OP_TAIL);

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

}  // namespace weft

#endif  // WEFT_GRAPH_OPS_H_
