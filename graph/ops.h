// ops.h — defines the op builders of weft::ops: Const, Placeholder,
// Identity, the elementwise arithmetic (numpy broadcasting) and math
// functions, MatMul and BatchMatMul, the activations, Softmax/LogSoftmax,
// reductions, ArgMax, Reshape, Transpose, Concat, Slice, Gather, Cast,
// Split (several outputs), the comparisons and logical ops, Select, the
// conv family (Conv, ConvTranspose, MaxPool, AveragePool), the vision
// family (NonMaxSuppression, GridSample, RoiAlign) and the text family
// (TfIdfVectorizer).
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
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "graph/attr.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"

namespace weft {

// The conv family's options (builders in weft::ops below).

// Attributes of Conv and ConvTranspose (node attrs `strides`, `pads`,
// `dilations`, `group`, `output_padding`).
struct ConvOptions {
  std::vector<int64_t> strides = {};
  std::vector<int64_t> pads = {};
  std::vector<int64_t> dilations = {};
  // Channels are split into `group` groups convolved separately;
  // group == C with one filter per channel is a depthwise convolution.
  int64_t group = 1;
  // ConvTranspose only: extra output size added at the end of each spatial
  // dim (usually below the stride; larger values add positions that hold
  // only the bias).
  std::vector<int64_t> output_padding = {};
};

// What FusedConv applies to each output element after the bias, in the
// same pass over the output (so the array is written once, not once per
// op): y = act(conv(x, w) + b) * post_scale + post_shift. `activation` is
// "" (none), "Relu", "LeakyRelu" (alpha: the slope below 0),
// "HardSigmoid" (max(0, min(1, alpha * v + beta))), "HardSwish"
// (v * HardSigmoid(v) with alpha 1/6, beta 0.5) or "Clip" (alpha, beta:
// the bounds); the same functions as the separate ops. Node attrs
// `activation`, `alpha`, `beta`, `post_scale`, `post_shift`.
struct ConvEpilogue {
  std::string activation = {};
  double alpha = 0;
  double beta = 0;
  double post_scale = 1;
  double post_shift = 0;
};

// Attributes of MaxPool and AveragePool (node attrs `kernel_shape`,
// `strides`, `pads`, `dilations`, `ceil_mode`, `count_include_pad`).
struct PoolOptions {
  // Required: the window's extent per spatial dim.
  std::vector<int64_t> kernel_shape = {};
  std::vector<int64_t> strides = {};
  // Each pad must be smaller than its dim's (dilated) window.
  std::vector<int64_t> pads = {};
  std::vector<int64_t> dilations = {};
  // Output size ceil(...) instead of floor(...); a window that would start
  // past the input and its begin padding is dropped (ONNX, PyTorch).
  bool ceil_mode = false;
  // AveragePool only: divide by the window's size including the pads
  // (positions past the end padding, which only ceil_mode reaches, are
  // never counted, as in PyTorch), else by the number of input elements it
  // covers.
  bool count_include_pad = false;
};

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
// float32/float64, C's functions and IEEE edge cases (Floor(-0.5) = -0,
// Asin(2) = NaN, Atanh(1) = inf). Round rounds halves to even (2.5 -> 2,
// like std::nearbyint); Reciprocal is 1 / x.
Tensor Floor(const Tensor& x, WEFT_OP_TAIL);
Tensor Ceil(const Tensor& x, WEFT_OP_TAIL);
Tensor Round(const Tensor& x, WEFT_OP_TAIL);
Tensor Sin(const Tensor& x, WEFT_OP_TAIL);
Tensor Cos(const Tensor& x, WEFT_OP_TAIL);
Tensor Tan(const Tensor& x, WEFT_OP_TAIL);
Tensor Asin(const Tensor& x, WEFT_OP_TAIL);
Tensor Acos(const Tensor& x, WEFT_OP_TAIL);
Tensor Atan(const Tensor& x, WEFT_OP_TAIL);
Tensor Sinh(const Tensor& x, WEFT_OP_TAIL);
Tensor Cosh(const Tensor& x, WEFT_OP_TAIL);
Tensor Asinh(const Tensor& x, WEFT_OP_TAIL);
Tensor Acosh(const Tensor& x, WEFT_OP_TAIL);
Tensor Atanh(const Tensor& x, WEFT_OP_TAIL);
Tensor Reciprocal(const Tensor& x, WEFT_OP_TAIL);
// Numeric: -1, 0 or 1 in x's dtype; a zero (either sign) and NaN are
// returned unchanged.
Tensor Sign(const Tensor& x, WEFT_OP_TAIL);
// The remainder of x / y, numeric, numpy broadcasting. fmod = false (the
// default): the sign of the divisor, like Python's `%` (floats too);
// fmod = true: C's fmod, the sign of the dividend. Integer modulo by zero is
// a run-time error; float modulo by zero is NaN.
Tensor Mod(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor Mod(const Tensor& x, const Tensor& y, bool fmod, WEFT_OP_TAIL);

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
// float32/float64 [..., n, n]: the determinant of each square matrix (LU
// with partial pivoting, in float64), shaped [...] (ONNX Det).
Tensor Det(const Tensor& x, WEFT_OP_TAIL);

// Reductions over `axes` (negative axes count from the end; empty reduces
// every axis). The reduced axes are removed, or kept with size 1 with
// keep_dims. ReduceMean of integers truncates.
Tensor ReduceSum(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceSum(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                 WEFT_OP_TAIL);
Tensor ReduceMean(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceMean(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                  WEFT_OP_TAIL);
// The product over `axes` (numeric; 1 over zero elements; integers wrap).
Tensor ReduceProd(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceProd(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                  WEFT_OP_TAIL);
// The maximum over `axes` (numeric; NaN propagates). With keep_dims each
// reduced axis stays with size 1. Reducing zero elements into an output
// element is a run-time error.
Tensor ReduceMax(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceMax(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                 WEFT_OP_TAIL);
// The minimum, as ReduceMax.
Tensor ReduceMin(const Tensor& x, std::vector<int64_t> axes, WEFT_OP_TAIL);
Tensor ReduceMin(const Tensor& x, std::vector<int64_t> axes, bool keep_dims,
                 WEFT_OP_TAIL);
// The int64 index of the maximum along `axis` (removed from the shape); the
// first one on ties; a NaN counts as the maximum. An empty axis is a
// run-time error.
Tensor ArgMax(const Tensor& x, int axis, WEFT_OP_TAIL);
// With keep_dims the axis stays with size 1; with select_last_index the last
// maximum (the last NaN, if any) is taken instead of the first.
Tensor ArgMax(const Tensor& x, int axis, bool keep_dims, bool select_last_index,
              WEFT_OP_TAIL);
// The same for the minimum (a NaN counts as the minimum).
Tensor ArgMin(const Tensor& x, int axis, WEFT_OP_TAIL);
Tensor ArgMin(const Tensor& x, int axis, bool keep_dims, bool select_last_index,
              WEFT_OP_TAIL);
// Running sums along `axis` (numeric; negative counts from the end; the
// input's shape). exclusive: each output leaves out its own element (the
// first is 0); reverse: sums run from the end of the axis. Integers wrap.
Tensor CumSum(const Tensor& x, int axis, WEFT_OP_TAIL);
Tensor CumSum(const Tensor& x, int axis, bool exclusive, bool reverse,
              WEFT_OP_TAIL);

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
// A negative index counts from the end (ONNX); an index outside
// [-params.dim(axis), params.dim(axis)) is a run-time error.
Tensor Gather(const Tensor& params, const Tensor& indices, int axis,
              WEFT_OP_TAIL);
// Any dtype: `x` repeated multiples[i] times along axis i (one entry >= 0
// per axis).
Tensor Tile(const Tensor& x, std::vector<int64_t> multiples, WEFT_OP_TAIL);
// Any dtype (ONNX Expand): out.shape is the numpy broadcast of x.shape and
// `shape` (which may have fewer dims, or 1s).
Tensor BroadcastTo(const Tensor& x, std::vector<int64_t> shape, WEFT_OP_TAIL);
// Any dtype. `pads` has 2 * rank entries: every axis' begin, then every
// axis' end (ONNX order); negative entries crop. `mode` is "constant"
// (filled with `value`, cast to x's dtype; the default, 0), "reflect"
// (pad < the cropped dim) or "edge".
Tensor Pad(const Tensor& x, std::vector<int64_t> pads, WEFT_OP_TAIL);
Tensor Pad(const Tensor& x, std::vector<int64_t> pads, std::string mode,
           double value, WEFT_OP_TAIL);
// Resize's optional attrs (ONNX Resize; the node attrs of the same names).
// An empty `scales` (attr absent) means scale_i = sizes_i / in_i.
struct ResizeAttrs {
  std::vector<double> scales = {};
  std::string mode = "nearest";  // "nearest", "linear", "cubic"
  // "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
  // "tf_half_pixel_for_nn".
  std::string coordinate_transformation_mode = "half_pixel";
  // "round_prefer_floor", "round_prefer_ceil", "floor", "ceil".
  std::string nearest_mode = "round_prefer_floor";
  double cubic_coeff_a = -0.75;
  bool exclude_outside = false;
};
// float32/float64: resizes to `sizes` (one per axis), interpolating along
// every axis (N-linear / N-cubic) as ONNX's reference does.
Tensor Resize(const Tensor& x, std::vector<int64_t> sizes,
              const ResizeAttrs& attrs = {}, WEFT_OP_TAIL);
// Any dtype; indices int32/int64 of data's rank (negative wrap): out has
// indices' shape, out[i][j]... = data[... indices[i][j]... at `axis` ...].
// An index out of range is a run-time error.
Tensor GatherElements(const Tensor& data, const Tensor& indices, int axis,
                      WEFT_OP_TAIL);
// A copy of `data` with `updates` written at `indices` along `axis`;
// `reduction` "none" (replace; the last duplicate wins), "add" or "mul".
Tensor ScatterElements(const Tensor& data, const Tensor& indices,
                       const Tensor& updates, int axis,
                       std::string reduction = "none", WEFT_OP_TAIL);
// Any dtype, rank >= 2: keeps the upper (j - i >= k) or lower (j - i <= k)
// triangle of the last two axes, zeroing the rest.
Tensor Trilu(const Tensor& x, bool upper = true, int64_t k = 0, WEFT_OP_TAIL);
// Numeric: the k largest (or smallest) values along `axis` and their int64
// indices (two outputs); ties go to the smaller index.
std::vector<Tensor> TopK(const Tensor& x, int64_t k, int axis = -1,
                         bool largest = true, bool sorted = true, WEFT_OP_TAIL);
// Any dtype (ONNX GatherND); indices int32/int64 (negative wrap).
Tensor GatherND(const Tensor& data, const Tensor& indices, int batch_dims = 0,
                WEFT_OP_TAIL);
// A copy of `data` with each slice updates[i...] written at the first k
// axes' position indices[i..., :] (ONNX ScatterND; k = indices' last dim,
// negative indices wrap); `reduction` "none" (the last duplicate wins),
// "add" or "mul" (numeric dtypes). An index out of range is a run-time
// error.
Tensor ScatterND(const Tensor& data, const Tensor& indices,
                 const Tensor& updates, std::string reduction = "none",
                 WEFT_OP_TAIL);
// Numeric or bool, rank >= 1: the int64 [rank, count] indices of the
// nonzero elements (NaN counts), in row-major order (ONNX NonZero).
Tensor NonZero(const Tensor& x, WEFT_OP_TAIL);
// Numeric (ONNX Unique): the distinct elements of x (flattened), or with
// `axis` its distinct slices along that axis; four outputs: the distinct
// values (ascending when `sorted`, else in order of first occurrence), the
// int64 index of each one's first occurrence, the int64 index into the
// first output of every element (slice) of x, and the int64 count of each.
// The distinct count is known at run time; NaNs are equal to each other and
// sort last.
std::vector<Tensor> Unique(const Tensor& x, std::optional<int> axis = {},
                           bool sorted = true, WEFT_OP_TAIL);
// Three scalars of one numeric dtype: [start, start + delta, ...) up to
// `limit`, max(ceil((limit - start) / delta), 0) elements (a 1-D output of
// unknown length at build time). delta 0 is a run-time error.
Tensor Range(const Tensor& start, const Tensor& limit, const Tensor& delta,
             WEFT_OP_TAIL);

// ---- The vision family (graph/vision_ops.cc): detection and sampling.

// NonMaxSuppression's attrs (ONNX NonMaxSuppression's inputs 2-4 and its
// attribute).
struct NonMaxSuppressionAttrs {
  int64_t max_output_boxes_per_class = 0;  // 0: nothing is selected.
  double iou_threshold = 0;                // A box is suppressed by IoU > this.
  // Only boxes scoring above it are candidates; all when absent.
  std::optional<double> score_threshold = std::nullopt;
  // Boxes are [x_center, y_center, width, height] (else [y1, x1, y2, x2],
  // either diagonal).
  bool center_point_box = false;
};
// float32/float64 boxes [B, N, 4] and scores [B, C, N]: greedy
// non-maximum suppression per batch and class, by descending score (ties:
// the lower box index first). An int64 [K, 3] of (batch, class, box) rows,
// batch by batch, class by class, in selection order (K known at run
// time).
Tensor NonMaxSuppression(const Tensor& boxes, const Tensor& scores,
                         const NonMaxSuppressionAttrs& attrs = {},
                         WEFT_OP_TAIL);
// GridSample's attrs (ONNX GridSample, opset 16).
struct GridSampleAttrs {
  std::string mode = "bilinear";       // "bilinear", "nearest", "bicubic".
  std::string padding_mode = "zeros";  // "zeros", "border", "reflection".
  // -1 and 1 name the corner pixels' centers (else their outer edges).
  bool align_corners = false;
};
// float32/float64 x [N, C, H, W] sampled at grid [N, Ho, Wo, 2] (x, y in
// [-1, 1]): [N, C, Ho, Wo].
Tensor GridSample(const Tensor& x, const Tensor& grid,
                  const GridSampleAttrs& attrs = {}, WEFT_OP_TAIL);
// RoiAlign's attrs (ONNX RoiAlign).
struct RoiAlignAttrs {
  std::string mode = "avg";  // "avg" or "max" (ONNX Runtime's max).
  int64_t output_height = 1, output_width = 1;
  int64_t sampling_ratio = 0;  // Samples per bin side; 0: ceil(bin size).
  double spatial_scale = 1;
  // coordinate_transformation_mode "half_pixel" (opset 16's default;
  // false: "output_half_pixel", opset 10's behaviour).
  bool half_pixel = true;
};
// float32/float64 x [N, C, H, W], rois [R, 4] (x1, y1, x2, y2) of x's
// dtype, batch_indices [R] int32/int64: [R, C, output_height,
// output_width], each bin the average (or max) of bilinear samples. A
// batch index out of range is a run-time error.
Tensor RoiAlign(const Tensor& x, const Tensor& rois,
                const Tensor& batch_indices, const RoiAlignAttrs& attrs = {},
                WEFT_OP_TAIL);

// ---- The text family (graph/text_ops.cc).

// TfIdfVectorizer's attrs (ONNX TfIdfVectorizer with pool_int64s).
struct TfIdfVectorizerAttrs {
  std::string mode = "TF";  // "TF", "IDF", "TFIDF".
  int64_t min_gram_length = 1, max_gram_length = 1, max_skip_count = 0;
  // ngram_counts[i]: where the (i+1)-grams start in pool_int64s.
  std::vector<int64_t> ngram_counts, ngram_indexes, pool_int64s;
  std::vector<double> weights = {};  // One per n-gram; IDF/TFIDF.
};
// int32/int64 token ids [C] or [N, C]: float32 [K] or [N, K] (K =
// max(ngram_indexes) + 1), each pool n-gram's count (TF), weight if seen
// (IDF) or count times weight (TFIDF) at its ngram_indexes entry; n-grams
// of min to max length whose items are 1 to max_skip_count + 1 apart.
Tensor TfIdfVectorizer(const Tensor& x, const TfIdfVectorizerAttrs& attrs,
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
Tensor LogicalXor(const Tensor& x, const Tensor& y, WEFT_OP_TAIL);
Tensor LogicalNot(const Tensor& x, WEFT_OP_TAIL);
// float32/float64 -> bool of the same shape: whether each element is NaN;
// whether it is +inf (detect_positive) or -inf (detect_negative), both
// detected by default.
Tensor IsNaN(const Tensor& x, WEFT_OP_TAIL);
Tensor IsInf(const Tensor& x, WEFT_OP_TAIL);
Tensor IsInf(const Tensor& x, bool detect_positive, bool detect_negative,
             WEFT_OP_TAIL);
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

// ------------------------------------------------------------------ conv --
// The conv family (graph/conv_ops.cc; kernels on oneDNN in
// kernels/conv_kernels.cc): convolution, transposed convolution and pooling
// over the layout N, C, then 1 to 3 spatial dims (NCW, NCHW, NCDHW), with
// ONNX's attributes and semantics. float32 runs on oneDNN; float64 on a
// portable loop.
//
// Every list below has one entry per spatial dim, except `pads`: two per
// spatial dim, all the begins then all the ends ([h_begin, w_begin, h_end,
// w_end] in 2-D, ONNX's order). An empty list takes the default (strides 1,
// pads 0, dilations 1, output_padding 0). A dilation of 1 is a dense kernel.
//
//   Tensor y = ops::Conv(x, w, b, {.strides = {2, 2}, .pads = {1, 1, 1, 1}});
//   Tensor p = ops::MaxPool(y, {.kernel_shape = {3, 3}, .strides = {2, 2},
//                               .ceil_mode = true});

// y[N, M, O1..Ok] = x[N, C, D1..Dk] convolved with w[M, C/group, K1..Kk],
// plus b[M] (pass zeros for no bias); Oi = floor((Di + pad_begin_i +
// pad_end_i - ((Ki-1)*dilation_i + 1)) / stride_i) + 1, which must be > 0.
// Build-time errors: ranks, C != w.dim(1) * group, M % group != 0, b not of
// size M, bad attrs, an output dim <= 0 (checked again at run time for dims
// unknown when built).
Tensor Conv(const Tensor& x, const Tensor& w, const Tensor& b,
            const ConvOptions& conv = {}, WEFT_OP_TAIL);
// The transpose (gradient) of Conv: y[N, M, O...] from x[N, C, D...],
// w[C, M/group, K...] and b[M]; Oi = (Di-1)*stride_i + (Ki-1)*dilation_i +
// 1 - pad_begin_i - pad_end_i + output_padding_i.
Tensor ConvTranspose(const Tensor& x, const Tensor& w, const Tensor& b,
                     const ConvOptions& conv = {}, WEFT_OP_TAIL);
// Conv followed by `epilogue` in one kernel: what an importer emits for
// Conv then an activation and scalar scale/shift (ONNX Runtime's and
// TensorFlow's fused convolutions do the same). A separate op type, not a
// Conv attr, so a weft that predates it refuses a graph file holding it
// ("unknown op type") instead of running the Conv without its epilogue.
Tensor FusedConv(const Tensor& x, const Tensor& w, const Tensor& b,
                 const ConvOptions& conv, const ConvEpilogue& epilogue,
                 WEFT_OP_TAIL);
// ConvTranspose followed by `epilogue` in one kernel (as FusedConv).
Tensor FusedConvTranspose(const Tensor& x, const Tensor& w, const Tensor& b,
                          const ConvOptions& conv, const ConvEpilogue& epilogue,
                          WEFT_OP_TAIL);
// The maximum of each (dilated) window; padding never wins. Output dims as
// Conv's (with ceil_mode, rounded up); [N, C, O...].
Tensor MaxPool(const Tensor& x, const PoolOptions& pool, WEFT_OP_TAIL);
// The mean of each window (see count_include_pad); [N, C, O...].
Tensor AveragePool(const Tensor& x, const PoolOptions& pool, WEFT_OP_TAIL);

#undef WEFT_OP_TAIL

}  // namespace ops

}  // namespace weft

#endif  // WEFT_GRAPH_OPS_H_
