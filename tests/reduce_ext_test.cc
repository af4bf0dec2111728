// Tests for the reduction ops added for ONNX (graph/reduce_ops.cc,
// kernels/reduce_kernels.cc): ReduceMin, ReduceProd, keep_dims on every
// reduction, ArgMin, ArgMax/ArgMin's keep_dims and select_last_index, and
// CumSum, against hand-computed values through the real
// compile/construct/compute path (tests/testing/kernel_harness.h), and their
// build-time and run-time errors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "kernels/kernel.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

using testing::Arr;
using testing::ExpectArray;
using testing::ExpectBuildError;
using testing::ExpectError;
using testing::ExpectNear;
using testing::ExpectShape;
using testing::Feed;
using ::testing::HasSubstr;
using testing::In;
using testing::RunKernel;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A placeholder of `a`'s dtype with every dim unknown, so the kernel (not
// inference) decides the output shape.
Tensor FeedUnknown(const Graph& g, const NDArray& a) {
  return ops::Placeholder(
      a.dtype(), Shape(std::vector<int64_t>(a.shape().rank(), -1)), In(g));
}

using ReduceBuilder = Tensor (*)(const Tensor&, std::vector<int64_t>, bool,
                                 const OpOptions&, std::source_location);

// Runs reduce(x, axes, keep_dims) with x fed through an unknown-shape
// placeholder.
absl::StatusOr<NDArray> RunReduce(ReduceBuilder reduce, const NDArray& x,
                                  std::vector<int64_t> axes, bool keep_dims) {
  Graph g = Graph::Create("reduce");
  return RunKernel(reduce(FeedUnknown(g, x), std::move(axes), keep_dims, In(g),
                          std::source_location::current()),
                   {x});
}

// x[a][b][c] = 12a + 4b + c + 1 for shape [2,3,4].
NDArray Iota234() {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i + 1;
  return Arr<double>(v, Shape{2, 3, 4});
}

// ------------------------------------------------------------- keep_dims --

TEST(ReduceExt, KeepDimsShapesAtBuildTime) {
  Graph g = Graph::Create("reduce");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 3, 4}, In(g));
  const std::vector<ReduceBuilder> reducers = {
      &ops::ReduceSum, &ops::ReduceMean, &ops::ReduceMax, &ops::ReduceMin,
      &ops::ReduceProd};
  for (ReduceBuilder r : reducers) {
    const std::source_location here = std::source_location::current();
    ExpectShape(r(x, {1}, true, In(g), here), DType::kFloat32, Shape{2, 1, 4});
    ExpectShape(r(x, {-1, 0}, true, In(g), here), DType::kFloat32,
                Shape{1, 3, 1});
    ExpectShape(r(x, {}, true, In(g), here), DType::kFloat32, Shape{1, 1, 1});
    ExpectShape(r(x, {1}, false, In(g), here), DType::kFloat32, Shape{2, 4});
    ExpectShape(r(x, {}, false, In(g), here), DType::kFloat32, Shape{});
  }
  // The builders without keep_dims keep their old shapes.
  ExpectShape(ops::ReduceSum(x, {0, 2}, In(g)), DType::kFloat32, Shape{3});
  ExpectShape(ops::ReduceMin(x, {0}, In(g)), DType::kFloat32, Shape{3, 4});
  ExpectShape(ops::ReduceProd(x, {}, In(g)), DType::kFloat32, Shape{});
}

TEST(ReduceExt, KeepDimsShapesAndValuesAtRunTime) {
  const NDArray x = Iota234();
  // Sum over axis 1: [[15,18,21,24],[51,54,57,60]].
  ExpectArray<double>(RunReduce(&ops::ReduceSum, x, {1}, true), Shape{2, 1, 4},
                      {15, 18, 21, 24, 51, 54, 57, 60});
  ExpectArray<double>(RunReduce(&ops::ReduceMean, x, {1}, true), Shape{2, 1, 4},
                      {5, 6, 7, 8, 17, 18, 19, 20});
  ExpectArray<double>(RunReduce(&ops::ReduceMean, x, {}, true), Shape{1, 1, 1},
                      {12.5});
  ExpectArray<double>(RunReduce(&ops::ReduceMax, x, {0, 2}, true),
                      Shape{1, 3, 1}, {16, 20, 24});
  ExpectArray<double>(RunReduce(&ops::ReduceMin, x, {0, 2}, true),
                      Shape{1, 3, 1}, {1, 5, 9});
  ExpectArray<double>(RunReduce(&ops::ReduceSum, x, {2}, false), Shape{2, 3},
                      {10, 26, 42, 58, 74, 90});
}

// -------------------------------------------------------------- ReduceMin --

TEST(ReduceExt, ReduceMinOverAxesForEveryLayout) {
  const NDArray x = Iota234();
  ExpectArray<double>(RunReduce(&ops::ReduceMin, x, {2}, false), Shape{2, 3},
                      {1, 5, 9, 13, 17, 21});  // Trailing rows.
  ExpectArray<double>(RunReduce(&ops::ReduceMin, x, {0}, false), Shape{3, 4},
                      {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});  // Leading.
  ExpectArray<double>(RunReduce(&ops::ReduceMin, x, {1}, false), Shape{2, 4},
                      {1, 2, 3, 4, 13, 14, 15, 16});  // Middle.
  ExpectArray<double>(RunReduce(&ops::ReduceMin, x, {}, false), Shape{}, {1});
  const NDArray i = Arr<int32_t>(
      {5, -7, 3, std::numeric_limits<int32_t>::min(), 9, 0}, Shape{2, 3});
  ExpectArray<int32_t>(RunReduce(&ops::ReduceMin, i, {1}, false), Shape{2},
                       {-7, std::numeric_limits<int32_t>::min()});
  ExpectArray<int32_t>(RunReduce(&ops::ReduceMin, i, {0}, true), Shape{1, 3},
                       {std::numeric_limits<int32_t>::min(), -7, 0});
  const NDArray big =
      Arr<int64_t>({std::numeric_limits<int64_t>::max()}, Shape{1});
  ExpectArray<int64_t>(RunReduce(&ops::ReduceMin, big, {0}, false), Shape{},
                       {std::numeric_limits<int64_t>::max()});
}

TEST(ReduceExt, ReduceMinAndMaxPropagateNaNAndSeeInfinities) {
  const NDArray f =
      Arr<float>({1, kNaNF, -3, 4, -std::numeric_limits<float>::infinity(), 2},
                 Shape{2, 3});
  ExpectArray<float>(RunReduce(&ops::ReduceMin, f, {1}, false), Shape{2},
                     {kNaNF, -std::numeric_limits<float>::infinity()});
  ExpectArray<float>(RunReduce(&ops::ReduceMin, f, {0}, false), Shape{3},
                     {1, kNaNF, -3});
  ExpectArray<float>(RunReduce(&ops::ReduceMax, f, {1}, true), Shape{2, 1},
                     {kNaNF, 4});
  // A long row (not the short-row loop) with a NaN in the middle.
  std::vector<double> v(200);
  for (int j = 0; j < 200; ++j) v[j] = 1000 - j;
  ExpectArray<double>(
      RunReduce(&ops::ReduceMin, Arr<double>(v, Shape{200}), {0}, false),
      Shape{}, {801});
  v[50] = kNaN;
  ExpectArray<double>(
      RunReduce(&ops::ReduceMin, Arr<double>(v, Shape{200}), {0}, false),
      Shape{}, {kNaN});
}

TEST(ReduceExt, ReduceMinAndMaxOverZeroElementsAreRunTimeErrors) {
  const NDArray e = Arr<float>({}, Shape{2, 0});
  ExpectError(RunReduce(&ops::ReduceMin, e, {1}, false),
              absl::StatusCode::kInvalidArgument,
              {"ReduceMin over zero elements: float32[2,0] has an empty "
               "reduced axis, so there is no minimum"});
  ExpectError(RunReduce(&ops::ReduceMax, e, {1}, true),
              absl::StatusCode::kInvalidArgument,
              {"ReduceMax over zero elements: float32[2,0]"});
  // Reducing the non-empty axis leaves zero outputs: no error.
  ExpectArray<float>(RunReduce(&ops::ReduceMin, e, {0}, false), Shape{0}, {});
  ExpectArray<float>(RunReduce(&ops::ReduceMin, e, {0}, true), Shape{1, 0}, {});
}

// ------------------------------------------------------------- ReduceProd --

TEST(ReduceExt, ReduceProdOverAxes) {
  const NDArray x = Arr<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<double>(RunReduce(&ops::ReduceProd, x, {1}, false), Shape{2},
                      {6, 120});
  ExpectArray<double>(RunReduce(&ops::ReduceProd, x, {0}, false), Shape{3},
                      {4, 10, 18});
  ExpectArray<double>(RunReduce(&ops::ReduceProd, x, {}, false), Shape{},
                      {720});
  ExpectArray<double>(RunReduce(&ops::ReduceProd, x, {0, 1}, true), Shape{1, 1},
                      {720});
  ExpectArray<double>(RunReduce(&ops::ReduceProd, Iota234(), {1}, true),
                      Shape{2, 1, 4},
                      {1 * 5 * 9, 2 * 6 * 10, 3 * 7 * 11, 4 * 8 * 12,
                       13 * 17 * 21, 14 * 18 * 22, 15 * 19 * 23, 16 * 20 * 24});
  // NaN and signed zeros.
  ExpectArray<float>(
      RunReduce(&ops::ReduceProd, Arr<float>({2, kNaNF, -0.0f, 3}, Shape{2, 2}),
                {1}, false),
      Shape{2}, {kNaNF, -0.0f});
}

TEST(ReduceExt, ReduceProdOfIntegersWrapsAndOfNothingIsOne) {
  // 65536 * 65536 wraps to 0 in int32; -3 * 5 * 7 = -105.
  const NDArray i = Arr<int32_t>({65536, 65536, -3, 5, 7, 1}, Shape{3, 2});
  ExpectArray<int32_t>(RunReduce(&ops::ReduceProd, i, {1}, false), Shape{3},
                       {0, -15, 7});
  ExpectArray<int32_t>(RunReduce(&ops::ReduceProd, i, {0}, false), Shape{2},
                       {65536 * -3 * 7, 65536 * 5});
  ExpectArray<int64_t>(
      RunReduce(&ops::ReduceProd, Arr<int64_t>({}, Shape{2, 0}), {1}, false),
      Shape{2}, {1, 1});
  ExpectArray<double>(
      RunReduce(&ops::ReduceProd, Arr<double>({}, Shape{0, 3}), {0}, true),
      Shape{1, 3}, {1, 1, 1});
  // ReduceSum of nothing is 0.
  ExpectArray<double>(
      RunReduce(&ops::ReduceSum, Arr<double>({}, Shape{0, 3}), {0}, true),
      Shape{1, 3}, {0, 0, 0});
}

TEST(ReduceExt, ReduceProdOfALargeArrayMatchesALoop) {
  // Enough rows to split over threads; values near 1 so the product stays
  // finite.
  const int64_t rows = 5000, cols = 13;
  std::vector<double> v(rows * cols), row_prod(rows, 1.0), col_prod(cols, 1.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double x = 1.0 + ((r * cols + c) % 7 - 3) * 1e-4;
      v[r * cols + c] = x;
      row_prod[r] *= x;
      col_prod[c] *= x;
    }
  }
  const NDArray x = Arr<double>(v, Shape{rows, cols});
  ExpectNear<double>(RunReduce(&ops::ReduceProd, x, {1}, false), Shape{rows},
                     row_prod, 0, 1e-12);
  ExpectNear<double>(RunReduce(&ops::ReduceProd, x, {0}, false), Shape{cols},
                     col_prod, 0, 1e-12);
}

TEST(ReduceExt, ReduceBuildErrors) {
  Graph g = Graph::Create("reduce");
  Tensor b = ops::Placeholder(DType::kBool, Shape{2}, In(g));
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  int line = __LINE__ + 1;
  Tensor min = ops::ReduceMin(b, {0}, In(g));
  ExpectBuildError(min, line, ErrorKind::kDType,
                   "input 0 is bool[2]; ReduceMin takes float32, float64, "
                   "int32 or int64 (Cast the input first)");
  line = __LINE__ + 1;
  Tensor prod = ops::ReduceProd(b, {0}, true, In(g));
  ExpectBuildError(prod, line, ErrorKind::kDType,
                   "input 0 is bool[2]; ReduceProd takes float32, float64, "
                   "int32 or int64");
  line = __LINE__ + 1;
  Tensor sum = ops::ReduceSum(b, {0}, true, In(g));
  ExpectBuildError(
      sum, line, ErrorKind::kDType,
      "input 0 is bool[2]; this op takes float32, float64, int32 or int64");
  line = __LINE__ + 1;
  Tensor axes = ops::ReduceMin(f, {2}, true, In(g));
  ExpectBuildError(axes, line, ErrorKind::kAttr,
                   "reduction axis 2 is out of range for rank 2");
  absl::StatusOr<Tensor> keep =
      g.AddOp("ReduceSum", {f},
              {{"axes", std::vector<int64_t>{0}}, {"keep_dims", int64_t{1}}},
              {.name = "bad_keep"});
  ASSERT_FALSE(keep.ok());
  EXPECT_THAT(keep.status().message(),
              HasSubstr("attr 'keep_dims' must be a bool (true or false)"));
}

// ------------------------------------------------------- ArgMax, ArgMin --

using ArgBuilder = Tensor (*)(const Tensor&, int, bool, bool, const OpOptions&,
                              std::source_location);

absl::StatusOr<NDArray> RunArg(ArgBuilder arg, const NDArray& x, int axis,
                               bool keep_dims, bool last) {
  Graph g = Graph::Create("arg");
  return RunKernel(arg(FeedUnknown(g, x), axis, keep_dims, last, In(g),
                       std::source_location::current()),
                   {x});
}

TEST(ReduceExt, ArgMinTakesTheFirstMinimum) {
  Graph g = Graph::Create("arg");
  const NDArray x = Arr<int64_t>({4, 1, 1, 2, 7, 2}, Shape{2, 3});
  ExpectArray<int64_t>(RunKernel(ops::ArgMin(Feed(g, x), 1, In(g)), {x}),
                       Shape{2}, {1, 0});
  ExpectArray<int64_t>(RunKernel(ops::ArgMin(Feed(g, x), 0, In(g)), {x}),
                       Shape{3}, {1, 0, 0});
  ExpectArray<int64_t>(RunKernel(ops::ArgMin(Feed(g, x), -1, In(g)), {x}),
                       Shape{2}, {1, 0});
}

TEST(ReduceExt, SelectLastIndexTakesTheLastOfTies) {
  // Rows: [3,1,3,1], [2,2,2,2], [5,9,9,0].
  const NDArray x =
      Arr<float>({3, 1, 3, 1, 2, 2, 2, 2, 5, 9, 9, 0}, Shape{3, 4});
  ExpectArray<int64_t>(RunArg(&ops::ArgMax, x, 1, false, false), Shape{3},
                       {0, 0, 1});
  ExpectArray<int64_t>(RunArg(&ops::ArgMax, x, 1, false, true), Shape{3},
                       {2, 3, 2});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, x, 1, false, false), Shape{3},
                       {1, 0, 3});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, x, 1, false, true), Shape{3},
                       {3, 3, 3});
  // Along axis 0 (strided): columns [3,2,5], [1,2,9], [3,2,9], [1,2,0].
  ExpectArray<int64_t>(RunArg(&ops::ArgMax, x, 0, true, true), Shape{1, 4},
                       {2, 2, 2, 1});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, x, 0, true, false), Shape{1, 4},
                       {1, 0, 1, 2});
  // -0.0 and 0.0 tie.
  const NDArray z = Arr<double>({0.0, -0.0, 1}, Shape{3});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, z, 0, false, false), Shape{}, {0});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, z, 0, false, true), Shape{}, {1});
}

TEST(ReduceExt, ArgKeepDimsShapes) {
  Graph g = Graph::Create("arg");
  Tensor x = ops::Placeholder(DType::kInt32, Shape{2, 3, 4}, In(g));
  ExpectShape(ops::ArgMax(x, 1, true, false, In(g)), DType::kInt64,
              Shape{2, 1, 4});
  ExpectShape(ops::ArgMin(x, -1, true, true, In(g)), DType::kInt64,
              Shape{2, 3, 1});
  ExpectShape(ops::ArgMin(x, 0, false, true, In(g)), DType::kInt64,
              Shape{3, 4});
  ExpectShape(ops::ArgMin(x, 0, In(g)), DType::kInt64, Shape{3, 4});
  const NDArray v = Arr<int32_t>({5, 1, 9}, Shape{3});
  ExpectArray<int64_t>(RunArg(&ops::ArgMax, v, 0, true, false), Shape{1}, {2});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, v, 0, true, false), Shape{1}, {1});
}

TEST(ReduceExt, ArgCountsNaNAsTheExtreme) {
  // [1, NaN, 5, NaN]: ArgMax and ArgMin both pick a NaN.
  const NDArray x =
      Arr<double>({1, kNaN, 5, kNaN, -1, 0, kNaN, 3}, Shape{2, 4});
  ExpectArray<int64_t>(RunArg(&ops::ArgMax, x, 1, false, false), Shape{2},
                       {1, 2});
  ExpectArray<int64_t>(RunArg(&ops::ArgMax, x, 1, false, true), Shape{2},
                       {3, 2});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, x, 1, false, false), Shape{2},
                       {1, 2});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, x, 1, false, true), Shape{2},
                       {3, 2});
  // A leading NaN.
  const NDArray lead = Arr<float>({kNaNF, -5, 7}, Shape{3});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, lead, 0, false, false), Shape{},
                       {0});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, lead, 0, false, true), Shape{},
                       {0});
}

TEST(ReduceExt, ArgErrors) {
  const NDArray e = Arr<float>({}, Shape{3, 0});
  ExpectError(RunArg(&ops::ArgMin, e, 1, false, false),
              absl::StatusCode::kInvalidArgument,
              {"ArgMin along axis 1 of float32[3,0], which is empty: there is "
               "no minimum"});
  ExpectError(RunArg(&ops::ArgMax, e, 1, true, true),
              absl::StatusCode::kInvalidArgument,
              {"ArgMax along axis 1 of float32[3,0], which is empty: there is "
               "no maximum"});
  ExpectArray<int64_t>(RunArg(&ops::ArgMin, e, 0, true, false), Shape{1, 0},
                       {});
  Graph g = Graph::Create("arg");
  Tensor b = ops::Placeholder(DType::kBool, Shape{2}, In(g));
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  int line = __LINE__ + 1;
  Tensor dtype = ops::ArgMin(b, 0, In(g));
  ExpectBuildError(dtype, line, ErrorKind::kDType,
                   "input 0 is bool[2]; ArgMin takes float32, float64, int32 "
                   "or int64");
  line = __LINE__ + 1;
  Tensor axis = ops::ArgMin(f, -3, true, false, In(g));
  ExpectBuildError(axis, line, ErrorKind::kAttr,
                   "ArgMin axis -3 is out of range for rank 2");
  absl::StatusOr<Tensor> last = g.AddOp(
      "ArgMax", {f}, {{"axis", int64_t{0}}, {"select_last_index", int64_t{1}}},
      {.name = "bad_last"});
  ASSERT_FALSE(last.ok());
  EXPECT_THAT(last.status().message(),
              HasSubstr("attr 'select_last_index' must be a bool"));
}

// ----------------------------------------------------------------- CumSum --

absl::StatusOr<NDArray> RunCumSum(const NDArray& x, int axis, bool exclusive,
                                  bool reverse) {
  Graph g = Graph::Create("cumsum");
  return RunKernel(
      ops::CumSum(FeedUnknown(g, x), axis, exclusive, reverse, In(g)), {x});
}

TEST(ReduceExt, CumSumInEveryMode) {
  const NDArray x = Arr<double>({1, 2, 3, 4, 5}, Shape{5});
  ExpectArray<double>(RunCumSum(x, 0, false, false), Shape{5},
                      {1, 3, 6, 10, 15});
  ExpectArray<double>(RunCumSum(x, 0, true, false), Shape{5}, {0, 1, 3, 6, 10});
  ExpectArray<double>(RunCumSum(x, 0, false, true), Shape{5},
                      {15, 14, 12, 9, 5});
  ExpectArray<double>(RunCumSum(x, 0, true, true), Shape{5}, {14, 12, 9, 5, 0});
  Graph g = Graph::Create("cumsum");
  ExpectArray<double>(RunKernel(ops::CumSum(Feed(g, x), -1, In(g)), {x}),
                      Shape{5}, {1, 3, 6, 10, 15});
}

TEST(ReduceExt, CumSumAlongEachAxisOfAMatrix) {
  // [[1,2,3],[4,5,6]].
  const NDArray x = Arr<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<int32_t>(RunCumSum(x, 0, false, false), Shape{2, 3},
                       {1, 2, 3, 5, 7, 9});
  ExpectArray<int32_t>(RunCumSum(x, 1, false, false), Shape{2, 3},
                       {1, 3, 6, 4, 9, 15});
  ExpectArray<int32_t>(RunCumSum(x, 0, true, true), Shape{2, 3},
                       {4, 5, 6, 0, 0, 0});
  ExpectArray<int32_t>(RunCumSum(x, -1, true, true), Shape{2, 3},
                       {5, 3, 0, 11, 6, 0});
  ExpectArray<int32_t>(RunCumSum(x, 1, true, false), Shape{2, 3},
                       {0, 1, 3, 0, 4, 9});
  // A middle axis of a [2,2,2].
  const NDArray y = Arr<int64_t>({1, 2, 3, 4, 5, 6, 7, 8}, Shape{2, 2, 2});
  ExpectArray<int64_t>(RunCumSum(y, 1, false, true), Shape{2, 2, 2},
                       {4, 6, 3, 4, 12, 14, 7, 8});
}

TEST(ReduceExt, CumSumWrapsIntegersAndKeepsNaN) {
  const int32_t max = std::numeric_limits<int32_t>::max();
  ExpectArray<int32_t>(
      RunCumSum(Arr<int32_t>({max, 1, 1}, Shape{3}), 0, false, false), Shape{3},
      {max, std::numeric_limits<int32_t>::min(),
       std::numeric_limits<int32_t>::min() + 1});
  ExpectArray<float>(
      RunCumSum(Arr<float>({1, kNaNF, 2}, Shape{3}), 0, false, false), Shape{3},
      {1, kNaNF, kNaNF});
  ExpectArray<double>(
      RunCumSum(Arr<double>({kInf, -kInf, 1}, Shape{3}), 0, true, false),
      Shape{3}, {0, kInf, kNaN});
  ExpectArray<float>(RunCumSum(Arr<float>({}, Shape{0, 3}), 0, false, true),
                     Shape{0, 3}, {});
}

TEST(ReduceExt, CumSumOfALargeArrayMatchesALoop) {
  // Wide inner dim (several column blocks) and many outer items: the
  // parallel split.
  const int64_t outer = 3, len = 50, inner = 2500;
  std::vector<int64_t> v(outer * len * inner), want(v.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i % 17) - 8;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < inner; ++c) {
      int64_t acc = 0;
      for (int64_t j = len - 1; j >= 0; --j) {
        const int64_t at = (o * len + j) * inner + c;
        want[at] = acc;  // exclusive, reverse
        acc += v[at];
      }
    }
  }
  ExpectArray<int64_t>(
      RunCumSum(Arr<int64_t>(v, Shape{outer, len, inner}), 1, true, true),
      Shape{outer, len, inner}, want);
}

TEST(ReduceExt, CumSumBuildErrors) {
  Graph g = Graph::Create("cumsum");
  Tensor b = ops::Placeholder(DType::kBool, Shape{2}, In(g));
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  int line = __LINE__ + 1;
  Tensor dtype = ops::CumSum(b, 0, In(g));
  ExpectBuildError(dtype, line, ErrorKind::kDType,
                   "input 0 is bool[2]; CumSum takes float32, float64, int32 "
                   "or int64");
  line = __LINE__ + 1;
  Tensor axis = ops::CumSum(f, 2, true, false, In(g));
  ExpectBuildError(axis, line, ErrorKind::kAttr,
                   "CumSum axis 2 is out of range for rank 2");
  Tensor s = ops::Placeholder(DType::kFloat32, Shape{}, In(g));
  line = __LINE__ + 1;
  Tensor scalar = ops::CumSum(s, 0, In(g));
  ExpectBuildError(scalar, line, ErrorKind::kAttr,
                   "CumSum axis 0 given for a scalar input");
  absl::StatusOr<Tensor> rev =
      g.AddOp("CumSum", {f}, {{"axis", int64_t{0}}, {"reverse", 1.0}},
              {.name = "bad_reverse"});
  ASSERT_FALSE(rev.ok());
  EXPECT_THAT(rev.status().message(),
              HasSubstr("attr 'reverse' must be a bool"));
}

TEST(ReduceExt, EveryNewOpHasKernelsForTheNumericDTypes) {
  for (const char* op : {"ReduceMin", "ReduceProd", "ArgMin", "CumSum"}) {
    for (DType dt : kAllDTypes) {
      SCOPED_TRACE(absl::StrCat(op, " ", DTypeName(dt)));
      EXPECT_EQ(KernelRegistry::Global().Find(op, "cpu", dt) != nullptr,
                IsNumeric(dt));
    }
  }
}

}  // namespace
}  // namespace weft
