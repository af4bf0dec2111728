// Tests for the model ops (graph/nn_ops.cc, the elementwise additions in
// op_registry.cc, kernels/nn_ops.cc, matmul.cc, fast_kernels.cc): build-time
// inference and its errors, and every kernel against hand-computed values,
// run through the real compile/construct/compute path
// (tests/testing/kernel_harness.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/op_registry.h"
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
using testing::ExpectShape;
using testing::Feed;
using ::testing::HasSubstr;
using testing::In;
using testing::RunUnary;
using testing::UnaryBuilder;

// A placeholder of `a`'s dtype with every dim unknown (checks reach the
// kernel).
Tensor FeedUnknown(const Graph& g, const NDArray& a) {
  return ops::Placeholder(
      a.dtype(), Shape(std::vector<int64_t>(a.shape().rank(), -1)), In(g));
}

// These expectations are relative: within rel * max(1, |expected|).
template <typename T>
void ExpectClose(const absl::StatusOr<NDArray>& result, const Shape& shape,
                 const std::vector<double>& expected, double rel) {
  testing::ExpectNear<T>(result, shape, expected, rel, rel);
}

// ------------------------------------------------------------ inference --

class NnInference : public ::testing::Test {
 protected:
  Tensor P(DType dtype, Shape shape) {
    return ops::Placeholder(dtype, std::move(shape), In(g_));
  }
  Tensor F(Shape shape) { return P(DType::kFloat32, std::move(shape)); }
  Graph g_ = Graph::Create("nn");
};

TEST_F(NnInference, ElementwiseShapesAndDTypes) {
  for (auto op : {ops::Exp, ops::Log, ops::Sqrt, ops::Rsqrt, ops::Erf, ops::Abs,
                  ops::Square}) {
    ExpectShape(op(F({2, -1}), In(g_), std::source_location::current()),
                DType::kFloat32, {2, -1});
  }
  ExpectShape(ops::Abs(P(DType::kInt32, {3}), In(g_)), DType::kInt32, {3});
  ExpectShape(ops::Square(P(DType::kInt64, {3}), In(g_)), DType::kInt64, {3});
  ExpectShape(ops::Minimum(F({2, 1}), F({3}), In(g_)), DType::kFloat32, {2, 3});
  ExpectShape(ops::Pow(P(DType::kFloat64, {4}), P(DType::kFloat64, {}), In(g_)),
              DType::kFloat64, {4});
  ExpectShape(ops::Pow(P(DType::kInt64, {2, 1}), P(DType::kInt64, {3}), In(g_)),
              DType::kInt64, {2, 3});
}

TEST_F(NnInference, FloatOnlyOpsRejectIntegers) {
  Tensor i = P(DType::kInt32, {3});
  int line = __LINE__ + 1;
  Tensor e = ops::Exp(i, In(g_));
  ExpectBuildError(e, line, ErrorKind::kDType,
                   "input 0 is int32[3]; this op takes float32 or float64");
  line = __LINE__ + 1;
  Tensor p = ops::Pow(P(DType::kBool, {3}), P(DType::kBool, {3}), In(g_));
  ExpectBuildError(p, line, ErrorKind::kDType,
                   "this op takes float32, float64, int32 or int64");
  line = __LINE__ + 1;
  Tensor s = ops::Softmax(i, In(g_));
  ExpectBuildError(s, line, ErrorKind::kDType,
                   "Softmax takes float32 or float64 (Cast the input first)");
  line = __LINE__ + 1;
  Tensor m = ops::Minimum(F({2}), F({3}), In(g_));
  ExpectBuildError(m, line, ErrorKind::kShape, "cannot be broadcast");
}

TEST_F(NnInference, SoftmaxAxis) {
  ExpectShape(ops::Softmax(F({2, 3}), In(g_)), DType::kFloat32, {2, 3});
  ExpectShape(ops::LogSoftmax(F({2, 3}), 0, In(g_)), DType::kFloat32, {2, 3});
  int line = __LINE__ + 1;
  Tensor t = ops::Softmax(F({2, 3}), 2, In(g_));
  ExpectBuildError(
      t, line, ErrorKind::kAttr,
      "Softmax axis 2 is out of range for rank 2 (valid: -2 to 1)");
  line = __LINE__ + 1;
  Tensor s = ops::LogSoftmax(F({}), In(g_));
  ExpectBuildError(s, line, ErrorKind::kAttr,
                   "LogSoftmax axis -1 given for a scalar input");
}

TEST_F(NnInference, ReduceMaxAndArgMax) {
  ExpectShape(ops::ReduceMax(F({2, 3, 4}), {1}, In(g_)), DType::kFloat32,
              {2, 4});
  ExpectShape(ops::ReduceMax(F({2, 3, 4}), {-1, 0}, true, In(g_)),
              DType::kFloat32, {1, 3, 1});
  ExpectShape(ops::ReduceMax(P(DType::kInt32, {2, 3}), {}, In(g_)),
              DType::kInt32, {});
  ExpectShape(ops::ArgMax(F({2, -1, 4}), 1, In(g_)), DType::kInt64, {2, 4});
  ExpectShape(ops::ArgMax(P(DType::kInt32, {5}), -1, In(g_)), DType::kInt64,
              {});
  int line = __LINE__ + 1;
  Tensor r = ops::ReduceMax(F({2}), {3}, In(g_));
  ExpectBuildError(r, line, ErrorKind::kAttr,
                   "reduction axis 3 is out of range");
  line = __LINE__ + 1;
  Tensor b = ops::ReduceMax(P(DType::kBool, {2}), {0}, In(g_));
  ExpectBuildError(b, line, ErrorKind::kDType,
                   "ReduceMax takes float32, float64, int32 or int64");
  line = __LINE__ + 1;
  Tensor a = ops::ArgMax(F({2, 3}), 2, In(g_));
  ExpectBuildError(a, line, ErrorKind::kAttr, "ArgMax axis 2 is out of range");
}

TEST_F(NnInference, Transpose) {
  ExpectShape(ops::Transpose(F({2, 3, 4}), {2, 0, 1}, In(g_)), DType::kFloat32,
              {4, 2, 3});
  ExpectShape(ops::Transpose(P(DType::kBool, {-1, 3}), {1, 0}, In(g_)),
              DType::kBool, {3, -1});
  ExpectShape(ops::Transpose(F({}), {}, In(g_)), DType::kFloat32, {});
  for (std::vector<int64_t> perm :
       {std::vector<int64_t>{0, 0, 1}, {0, 1}, {0, 1, 3}, {-1, 0, 1}}) {
    int line = __LINE__ + 1;
    Tensor t = ops::Transpose(F({2, 3, 4}), perm, In(g_));
    ExpectBuildError(t, line, ErrorKind::kAttr,
                     "is not a permutation of the 3 axes of input 0 is "
                     "float32[2,3,4]; list each axis from 0 to 2 exactly "
                     "once ([2,1,0] reverses them)");
  }
}

TEST_F(NnInference, Concat) {
  ExpectShape(ops::Concat({F({2, 3}), F({2, 5}), F({2, 1})}, 1, In(g_)),
              DType::kFloat32, {2, 9});
  ExpectShape(ops::Concat({F({-1, 3}), F({2, 3})}, 0, In(g_)), DType::kFloat32,
              {-1, 3});
  ExpectShape(ops::Concat({F({-1, 3}), F({2, -1})}, -1, In(g_)),
              DType::kFloat32, {2, -1});
  ExpectShape(ops::Concat({P(DType::kInt64, {4})}, 0, In(g_)), DType::kInt64,
              {4});
  int line = __LINE__ + 1;
  Tensor s = ops::Concat({F({2, 3}), F({3, 3})}, 1, In(g_));
  ExpectBuildError(s, line, ErrorKind::kShape,
                   "Concat input 1 is float32[3,3] but input 0 is "
                   "float32[2,3]; every dimension except the concat axis 1 "
                   "must match");
  line = __LINE__ + 1;
  Tensor d = ops::Concat({F({2}), P(DType::kInt32, {2})}, 0, In(g_));
  ExpectBuildError(d, line, ErrorKind::kDType,
                   "dtype mismatch: input 1 is int32[2] but input 0 is "
                   "float32[2]");
  line = __LINE__ + 1;
  Tensor n = ops::Concat({}, 0, In(g_));
  ExpectBuildError(n, line, ErrorKind::kShape, "Concat of no inputs");
  line = __LINE__ + 1;
  Tensor r = ops::Concat({F({2}), F({2, 1})}, 0, In(g_));
  ExpectBuildError(r, line, ErrorKind::kShape, "must match");
}

TEST_F(NnInference, Slice) {
  ExpectShape(ops::Slice(F({4, 5}), {1, 2}, {2, -1}, In(g_)), DType::kFloat32,
              {2, 3});
  ExpectShape(ops::Slice(F({-1, 5}), {1, 0}, {-1, 5}, In(g_)), DType::kFloat32,
              {-1, 5});
  ExpectShape(ops::Slice(F({4}), {4}, {-1}, In(g_)), DType::kFloat32, {0});
  int line = __LINE__ + 1;
  Tensor o = ops::Slice(F({4, 5}), {1, 2}, {2, 4}, In(g_));
  ExpectBuildError(o, line, ErrorKind::kShape,
                   "Slice begin [1,2] size [2,4] is out of bounds for input 0 "
                   "is float32[4,5] at axis 1");
  line = __LINE__ + 1;
  Tensor n = ops::Slice(F({4}), {-1}, {1}, In(g_));
  ExpectBuildError(n, line, ErrorKind::kShape, "out of bounds");
  line = __LINE__ + 1;
  Tensor l = ops::Slice(F({4, 5}), {1}, {2}, In(g_));
  ExpectBuildError(l, line, ErrorKind::kAttr,
                   "must have one entry per axis of input 0 is float32[4,5]");
}

TEST_F(NnInference, Gather) {
  ExpectShape(ops::Gather(F({5, 3}), P(DType::kInt32, {2, 4}), 0, In(g_)),
              DType::kFloat32, {2, 4, 3});
  ExpectShape(ops::Gather(F({5, 3, 2}), P(DType::kInt64, {7}), 1, In(g_)),
              DType::kFloat32, {5, 7, 2});
  ExpectShape(
      ops::Gather(P(DType::kBool, {5}), P(DType::kInt64, {}), 0, In(g_)),
      DType::kBool, {});
  int line = __LINE__ + 1;
  Tensor f = ops::Gather(F({5}), F({2}), 0, In(g_));
  ExpectBuildError(f, line, ErrorKind::kDType,
                   "input 1 is float32[2]; Gather's indices (input 1) are "
                   "int32 or int64");
  line = __LINE__ + 1;
  Tensor a = ops::Gather(F({5}), P(DType::kInt32, {2}), 1, In(g_));
  ExpectBuildError(a, line, ErrorKind::kAttr, "Gather axis 1 is out of range");
}

TEST_F(NnInference, MatMulAndBatchMatMulTransposes) {
  ExpectShape(ops::MatMul(F({3, 2}), F({3, 4}), true, false, In(g_)),
              DType::kFloat32, {2, 4});
  ExpectShape(ops::MatMul(F({2, 3}), F({4, 3}), false, true, In(g_)),
              DType::kFloat32, {2, 4});
  ExpectShape(ops::MatMul(F({3, 2}), F({4, 3}), true, true, In(g_)),
              DType::kFloat32, {2, 4});
  int line = __LINE__ + 1;
  Tensor m = ops::MatMul(F({2, 3}), F({2, 3}), false, false, In(g_));
  ExpectBuildError(m, line, ErrorKind::kShape,
                   "MatMul inner dimensions differ: [2,3] x [2,3] (3 vs 2); "
                   "check the operand order or the transpose_a/transpose_b "
                   "flags");
  absl::StatusOr<Tensor> bad = g_.AddOp("MatMul", {F({2, 2}), F({2, 2})},
                                        {{"transpose_a", int64_t{1}}}, In(g_));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("attr 'transpose_a' must be a bool (true or false)"));

  ExpectShape(ops::BatchMatMul(F({8, 4, 128, 64}), F({8, 4, 128, 64}), false,
                               true, In(g_)),
              DType::kFloat32, {8, 4, 128, 128});
  ExpectShape(ops::BatchMatMul(F({2, 1, 3, 5}), F({4, 5, 6}), In(g_)),
              DType::kFloat32, {2, 4, 3, 6});
  ExpectShape(ops::BatchMatMul(F({7, 5, 3}), F({5, 6}), true, false, In(g_)),
              DType::kFloat32, {7, 3, 6});
  ExpectShape(ops::BatchMatMul(P(DType::kInt32, {-1, 2, 3}),
                               P(DType::kInt32, {-1, 3, 4}), In(g_)),
              DType::kInt32, {-1, 2, 4});
  line = __LINE__ + 1;
  Tensor bi = ops::BatchMatMul(F({2, 3, 4}), F({2, 5, 6}), In(g_));
  ExpectBuildError(bi, line, ErrorKind::kShape,
                   "BatchMatMul inner dimensions differ: [2,3,4] x [2,5,6] "
                   "(4 vs 5)");
  line = __LINE__ + 1;
  Tensor bb = ops::BatchMatMul(F({2, 3, 4}), F({3, 4, 5}), In(g_));
  ExpectBuildError(bb, line, ErrorKind::kShape,
                   "BatchMatMul batch dimensions of [2,3,4] and [3,4,5] do "
                   "not broadcast");
  line = __LINE__ + 1;
  Tensor br = ops::BatchMatMul(F({4}), F({4, 5}), In(g_));
  ExpectBuildError(br, line, ErrorKind::kShape,
                   "BatchMatMul takes batches of matrices (rank >= 2)");
  line = __LINE__ + 1;
  Tensor bd = ops::BatchMatMul(F({2, 2}), P(DType::kFloat64, {2, 2}), In(g_));
  ExpectBuildError(bd, line, ErrorKind::kDType, "dtype mismatch");
}

// ------------------------------------------------------ kernel coverage --

TEST(NnKernels, EveryOpHasKernelsForTheDTypesInferenceAccepts) {
  const std::vector<DType> all(std::begin(kAllDTypes), std::end(kAllDTypes));
  const std::vector<DType> numeric = {DType::kFloat32, DType::kFloat64,
                                      DType::kInt32, DType::kInt64};
  const std::vector<DType> floating(numeric.begin(), numeric.begin() + 2);
  const std::vector<std::pair<std::string, std::vector<DType>>> cases = {
      {"Exp", floating},     {"Log", floating},        {"Sqrt", floating},
      {"Rsqrt", floating},   {"Erf", floating},        {"Pow", numeric},
      {"Softmax", floating}, {"LogSoftmax", floating}, {"Abs", numeric},
      {"Square", numeric},   {"Minimum", numeric},     {"ReduceMax", numeric},
      {"ArgMax", numeric},   {"BatchMatMul", numeric}, {"Transpose", all},
      {"Concat", all},       {"Slice", all},           {"Gather", all},
      {"Cast", all},         {"Identity", all},        {"While", all},
      {"Call", all},         {"Enqueue", all},         {"Dequeue", all},
      {"ReadVariable", all}, {"Assign", all},          {"AssignAdd", numeric},
      {"Add", numeric}};
  for (const auto& [op, dtypes] : cases) {
    for (DType dt : all) {
      SCOPED_TRACE(op + " " + std::string(DTypeName(dt)));
      const bool supported =
          std::find(dtypes.begin(), dtypes.end(), dt) != dtypes.end();
      EXPECT_EQ(KernelRegistry::Global().Find(op, "cpu", dt) != nullptr,
                supported);
    }
  }
  EXPECT_EQ(KernelRegistry::Global()
                .Find("BatchMatMul", "cpu", DType::kFloat32)
                ->label,
            "openblas");
  EXPECT_EQ(
      KernelRegistry::Global().Find("Softmax", "cpu", DType::kFloat64)->label,
      "highway");
  EXPECT_EQ(KernelRegistry::Global().Find("Exp", "cpu", DType::kFloat32)->label,
            "highway");
}

// --------------------------------------------------- elementwise kernels --

// `n` copies of `values` (n * values.size() elements), so the same values
// reach the Highway kernels (>= 64 elements) and the portable loop.
template <typename T>
std::vector<T> Repeat(const std::vector<T>& values, int n) {
  std::vector<T> out;
  for (int i = 0; i < n; ++i)
    out.insert(out.end(), values.begin(), values.end());
  return out;
}

template <typename T>
void CheckUnary(UnaryBuilder op, const std::vector<T>& x,
                const std::vector<double>& expected, double rel) {
  for (int copies : {1, 40}) {
    SCOPED_TRACE(
        absl::StrCat(copies, " copies, ", DTypeName(DTypeOf<T>::value)));
    const std::vector<T> xs = Repeat(x, copies);
    const Shape shape{static_cast<int64_t>(xs.size())};
    ExpectClose<T>(RunUnary(op, Arr<T>(xs, shape)), shape,
                   Repeat(expected, copies), rel);
  }
}

template <typename T>
void CheckFloatUnaries(double rel) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CheckUnary<T>(ops::Exp, {0, 1, -1, 2.5, -80, 80},
                {1, 2.718281828459045, 0.36787944117144233, 12.182493960703473,
                 1.8048513878454153e-35, 5.540622384393510e34},
                rel);
  CheckUnary<T>(ops::Log, {1, 2.718281828459045, 0.5, 0, -1, 1e10},
                {0, 1, -0.6931471805599453, -inf, nan, 23.025850929940457},
                rel);
  CheckUnary<T>(ops::Sqrt, {0, 1, 4, 2, 0.25, -1},
                {0, 1, 2, 1.4142135623730951, 0.5, nan}, rel);
  CheckUnary<T>(ops::Rsqrt, {1, 4, 0.25, 2, 100, 0},
                {1, 0.5, 2, 0.7071067811865476, 0.1, inf}, rel);
  CheckUnary<T>(ops::Erf, {0, 0.5, -0.5, 1, 2, -3},
                {0, 0.5204998778130465, -0.5204998778130465, 0.8427007929497149,
                 0.9953222650189527, -0.9999779095030014},
                rel);
  CheckUnary<T>(ops::Abs, {-1.5, 0, 2, -0.0, -1024, 3}, {1.5, 0, 2, 0, 1024, 3},
                0);
  CheckUnary<T>(ops::Square, {-1.5, 0, 2, 3, -4, 0.5},
                {2.25, 0, 4, 9, 16, 0.25}, 0);
}

TEST(NnKernels, FloatUnaryOpsMatchHandComputedValues) {
  CheckFloatUnaries<float>(1e-6);
  CheckFloatUnaries<double>(1e-12);
}

TEST(NnKernels, IntegerAbsAndSquareWrapLikeNegAndMul) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  const NDArray a = Arr<int32_t>({-3, 0, 7, kMin, 46341}, Shape{5});
  ExpectArray<int32_t>(RunUnary(ops::Abs, a), Shape{5}, {3, 0, 7, kMin, 46341});
  // 46341^2 = 2147488281 wraps to -2147479015.
  ExpectArray<int32_t>(RunUnary(ops::Square, a), Shape{5},
                       {9, 0, 49, 0, -2147479015});
  ExpectArray<int64_t>(RunUnary(ops::Square, Arr<int64_t>({-5, 3}, Shape{2})),
                       Shape{2}, {25, 9});
}

TEST(NnKernels, MinimumBroadcastsAndPropagatesNaN) {
  Graph g = Graph::Create("nn");
  NDArray a = Arr<int32_t>({1, 5, 3, 4}, Shape{2, 2});
  NDArray b = Arr<int32_t>({2, 2}, Shape{2});
  ExpectArray<int32_t>(
      testing::RunKernel(ops::Minimum(Feed(g, a), Feed(g, b), In(g)), {a, b}),
      Shape{2, 2}, {1, 2, 2, 2});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int copies : {1, 40}) {
    NDArray x =
        Arr<float>(Repeat<float>({1, nan, 3, -2}, copies), Shape{4 * copies});
    NDArray y =
        Arr<float>(Repeat<float>({2, 0, nan, -3}, copies), Shape{4 * copies});
    ExpectArray<float>(
        testing::RunKernel(ops::Minimum(Feed(g, x), Feed(g, y), In(g)), {x, y}),
        Shape{4 * copies}, Repeat<float>({1, nan, nan, -3}, copies));
  }
}

TEST(NnKernels, PowForFloatTypes) {
  Graph g = Graph::Create("nn");
  for (int copies : {1, 40}) {
    NDArray x =
        Arr<float>(Repeat<float>({2, 9, 4, -8}, copies), Shape{4 * copies});
    NDArray y = Arr<float>({0.5f}, Shape{});
    ExpectClose<float>(
        testing::RunKernel(ops::Pow(Feed(g, x), Feed(g, y), In(g)), {x, y}),
        Shape{4 * copies},
        Repeat<double>({1.4142135623730951, 3, 2,
                        std::numeric_limits<double>::quiet_NaN()},
                       copies),
        1e-6);
  }
  NDArray x = Arr<double>({2, 3, 10}, Shape{3});
  NDArray y = Arr<double>({10, -1, 0}, Shape{3});
  ExpectClose<double>(
      testing::RunKernel(ops::Pow(Feed(g, x), Feed(g, y), In(g)), {x, y}),
      Shape{3}, {1024, 1.0 / 3, 1}, 1e-15);
}

TEST(NnKernels, PowForIntegerTypesIsExactAndWraps) {
  Graph g = Graph::Create("nn");
  for (int copies : {1, 40}) {
    NDArray x = Arr<int32_t>(Repeat<int32_t>({2, 3, -2, 0, 7, 2, -1}, copies),
                             Shape{7 * copies});
    NDArray y = Arr<int32_t>(Repeat<int32_t>({10, 3, 3, 0, 1, 31, 5}, copies),
                             Shape{7 * copies});
    // 2^31 wraps to the minimum int32, as 2^30 * 2 does with Mul.
    ExpectArray<int32_t>(
        testing::RunKernel(ops::Pow(Feed(g, x), Feed(g, y), In(g)), {x, y}),
        Shape{7 * copies},
        Repeat<int32_t>({1024, 27, -8, 1, 7, -2147483647 - 1, -1}, copies));
  }
  NDArray x = Arr<int64_t>({2, 3}, Shape{2});
  NDArray y = Arr<int64_t>({62}, Shape{1});
  NDArray y40 = Arr<int64_t>({62, 40}, Shape{2});
  ExpectArray<int64_t>(
      testing::RunKernel(ops::Pow(Feed(g, x), Feed(g, y40), In(g)), {x, y40}),
      Shape{2}, {int64_t{4611686018427387904}, int64_t{-6289078614652622815}});
  ExpectArray<int64_t>(
      testing::RunKernel(ops::Pow(Feed(g, x), Feed(g, y), In(g)), {x, y}),
      Shape{2}, {int64_t{4611686018427387904}, int64_t{5069619362125685561}});
}

TEST(NnKernels, IntegerPowRejectsANegativeExponent) {
  Graph g = Graph::Create("nn");
  NDArray x = Arr<int32_t>({2, 2}, Shape{2});
  NDArray y = Arr<int32_t>({1, -1}, Shape{2});
  absl::StatusOr<NDArray> r = testing::RunKernel(
      ops::Pow(Feed(g, x), Feed(g, y), {.name = "p", .graph = g}), {x, y});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("'p'"));
  EXPECT_THAT(r.status().message(),
              HasSubstr("integer Pow with a negative exponent (int32): the "
                        "result is not an integer; Cast both inputs to a "
                        "float dtype first"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kKernel);
}

// ------------------------------------------------------------- Softmax --

// Softmax / LogSoftmax of rows of `cols`, computed here in long double.
std::vector<double> ReferenceSoftmax(const std::vector<double>& x, int cols,
                                     bool log) {
  std::vector<double> out(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    long double max = -INFINITY, sum = 0;
    for (int j = 0; j < cols; ++j)
      max = std::max<long double>(max, x[r * cols + j]);
    for (int j = 0; j < cols; ++j) sum += std::exp(x[r * cols + j] - max);
    for (int j = 0; j < cols; ++j) {
      out[r * cols + j] =
          static_cast<double>(log ? x[r * cols + j] - max - std::log(sum)
                                  : std::exp(x[r * cols + j] - max) / sum);
    }
  }
  return out;
}

template <typename T>
void CheckSoftmaxRows(bool log, int rows, int cols, double rel) {
  SCOPED_TRACE(absl::StrCat(log ? "LogSoftmax " : "Softmax ", rows, "x", cols,
                            " ", DTypeName(DTypeOf<T>::value)));
  std::mt19937 rng(rows * 31 + cols);
  std::uniform_real_distribution<double> d(-5, 5);
  std::vector<double> x(rows * cols);
  for (int i = 0; i < rows * cols; ++i) {
    // Every other row sits near 1000: exp(1000) overflows without the shift.
    x[i] = d(rng) + ((i / cols) % 2 == 0 ? 0 : 1000);
  }
  std::vector<T> xt(x.begin(), x.end());
  std::vector<double> xr(xt.begin(), xt.end());  // The values as fed.
  Graph g = Graph::Create("nn");
  NDArray in = Arr<T>(xt, Shape{rows, cols});
  Tensor s = log ? ops::LogSoftmax(Feed(g, in), In(g))
                 : ops::Softmax(Feed(g, in), -1, In(g));
  ExpectClose<T>(testing::RunKernel(s, {in}), Shape{rows, cols},
                 ReferenceSoftmax(xr, cols, log), rel);
}

TEST(NnKernels, SoftmaxOfHandComputedValues) {
  Graph g = Graph::Create("nn");
  // softmax([1,2,3]) = e^[1,2,3] / (e + e^2 + e^3).
  const std::vector<double> expected = {0.09003057317038046, 0.2447284710547976,
                                        0.6652409557748219};
  for (float shift : {0.0f, 1000.0f, -1000.0f}) {
    SCOPED_TRACE(shift);
    NDArray x = Arr<float>({1 + shift, 2 + shift, 3 + shift}, Shape{1, 3});
    ExpectClose<float>(testing::RunKernel(ops::Softmax(Feed(g, x), In(g)), {x}),
                       Shape{1, 3}, expected, 1e-6);
    ExpectClose<float>(
        testing::RunKernel(ops::LogSoftmax(Feed(g, x), In(g)), {x}),
        Shape{1, 3},
        {std::log(expected[0]), std::log(expected[1]), std::log(expected[2])},
        1e-6);
  }
  // Along axis 0 of [[1,1000],[2,1000],[3,1001]] (the strided kernel):
  NDArray m = Arr<double>({1, 1000, 2, 1000, 3, 1001}, Shape{3, 2});
  const double e2 = 1 / (2 + std::exp(1.0));
  ExpectClose<double>(
      testing::RunKernel(ops::Softmax(Feed(g, m), 0, In(g)), {m}), Shape{3, 2},
      {expected[0], e2, expected[1], e2, expected[2], std::exp(1.0) * e2},
      1e-14);
  ExpectClose<double>(
      testing::RunKernel(ops::LogSoftmax(Feed(g, m), -2, In(g)), {m}),
      Shape{3, 2},
      {std::log(expected[0]), std::log(e2), std::log(expected[1]), std::log(e2),
       std::log(expected[2]), 1 + std::log(e2)},
      1e-14);
}

TEST(NnKernels, SoftmaxOfLargeArraysMatchesAReference) {
  for (bool log : {false, true}) {
    CheckSoftmaxRows<float>(log, 64, 300, 2e-6);
    CheckSoftmaxRows<double>(log, 3, 1025, 1e-13);
  }
}

TEST(NnKernels, SoftmaxOverAMiddleAxisOfRank3) {
  Graph g = Graph::Create("nn");
  // x[o, j, i] = j * (i + 1): softmax over j for each (o, i).
  std::vector<float> v;
  for (int o = 0; o < 2; ++o)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) v.push_back(j * (i + 1) + o * 500);
  NDArray x = Arr<float>(v, Shape{2, 3, 2});
  std::vector<double> expected(12);
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 2; ++i) {
      double sum = 0;
      for (int j = 0; j < 3; ++j) sum += std::exp(j * (i + 1.0));
      for (int j = 0; j < 3; ++j)
        expected[o * 6 + j * 2 + i] = std::exp(j * (i + 1.0)) / sum;
    }
  ExpectClose<float>(
      testing::RunKernel(ops::Softmax(Feed(g, x), 1, In(g)), {x}),
      Shape{2, 3, 2}, expected, 1e-6);
}

// ------------------------------------------------- ReduceMax and ArgMax --

TEST(NnKernels, ReduceMaxOverAxes) {
  Graph g = Graph::Create("nn");
  // [[[1,8],[3,4]],[[5,2],[7,-6]]]
  NDArray x = Arr<int32_t>({1, 8, 3, 4, 5, 2, 7, -6}, Shape{2, 2, 2});
  auto run = [&](std::vector<int64_t> axes, bool keep) {
    return testing::RunKernel(
        ops::ReduceMax(FeedUnknown(g, x), std::move(axes), keep, In(g)), {x});
  };
  ExpectArray<int32_t>(run({2}, false), Shape{2, 2}, {8, 4, 5, 7});
  ExpectArray<int32_t>(run({0}, false), Shape{2, 2}, {5, 8, 7, 4});
  ExpectArray<int32_t>(run({1}, true), Shape{2, 1, 2}, {3, 8, 7, 2});
  ExpectArray<int32_t>(run({0, 2}, true), Shape{1, 2, 1}, {8, 7});
  ExpectArray<int32_t>(run({}, false), Shape{}, {8});
  ExpectArray<int32_t>(run({1, 2}, false), Shape{2}, {8, 7});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  NDArray f = Arr<double>({1, nan, 3, -1e300, -2, -3}, Shape{3, 2});
  ExpectArray<double>(
      testing::RunKernel(ops::ReduceMax(Feed(g, f), {1}, In(g)), {f}), Shape{3},
      {nan, 3, -2});
  ExpectArray<double>(
      testing::RunKernel(ops::ReduceMax(Feed(g, f), {0}, In(g)), {f}), Shape{2},
      {3, nan});
}

// Long rows take the vectorized path: NaN anywhere in a row, the maximum
// in the vector body or in the scalar tail, negative-only rows.
TEST(NnKernels, ReduceMaxOfLongRowsMatchesALoop) {
  Graph g = Graph::Create("nn");
  constexpr int kRows = 37, kCols = 1003;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-100, 100);
  std::vector<float> v(kRows * kCols);
  for (float& e : v) e = dist(rng);
  v[5 * kCols + 517] = std::numeric_limits<float>::quiet_NaN();
  v[6 * kCols + kCols - 1] = 1000;  // In the tail.
  v[7 * kCols + 3] = 1000;          // In the first vector.
  for (int j = 0; j < kCols; ++j) v[8 * kCols + j] = -1 - j % 7;
  std::vector<float> want(kRows);
  for (int r = 0; r < kRows; ++r) {
    float m = -std::numeric_limits<float>::infinity();
    for (int j = 0; j < kCols; ++j) {
      const float e = v[r * kCols + j];
      m = (e != e || m != m) ? std::numeric_limits<float>::quiet_NaN()
                             : std::max(m, e);
    }
    want[r] = m;
  }
  NDArray x = Arr<float>(v, Shape{kRows, kCols});
  ExpectArray<float>(
      testing::RunKernel(ops::ReduceMax(Feed(g, x), {1}, In(g)), {x}),
      Shape{kRows}, want);
}

TEST(NnKernels, ReduceMaxOverZeroElementsIsAnError) {
  Graph g = Graph::Create("nn");
  NDArray x = Arr<float>({}, Shape{2, 0});
  ExpectError(
      testing::RunKernel(ops::ReduceMax(Feed(g, x), {1}, In(g)), {x}),
      absl::StatusCode::kInvalidArgument,
      {"ReduceMax over zero elements: float32[2,0] has an empty reduced axis"});
  // Nothing to reduce into: an empty result.
  ExpectArray<float>(
      testing::RunKernel(ops::ReduceMax(Feed(g, x), {0}, In(g)), {x}), Shape{0},
      {});
}

TEST(NnKernels, ArgMaxTakesTheFirstMaximumAndCountsNaNAsMaximum) {
  Graph g = Graph::Create("nn");
  NDArray x = Arr<int64_t>({1, 9, 9, 4, 7, 2}, Shape{2, 3});
  ExpectArray<int64_t>(
      testing::RunKernel(ops::ArgMax(Feed(g, x), 1, In(g)), {x}), Shape{2},
      {1, 1});
  ExpectArray<int64_t>(
      testing::RunKernel(ops::ArgMax(Feed(g, x), 0, In(g)), {x}), Shape{3},
      {1, 0, 0});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  NDArray f = Arr<float>({1, nan, 5, -1, -2, -3}, Shape{2, 3});
  ExpectArray<int64_t>(
      testing::RunKernel(ops::ArgMax(Feed(g, f), -1, In(g)), {f}), Shape{2},
      {1, 0});
  NDArray e = Arr<float>({}, Shape{3, 0});
  ExpectError(testing::RunKernel(ops::ArgMax(Feed(g, e), 1, In(g)), {e}),
              absl::StatusCode::kInvalidArgument,
              {"ArgMax along axis 1 of float32[3,0], which is empty"});
}

// ------------------------------------- Transpose, Concat, Slice, Gather --

TEST(NnKernels, TransposeMovesAxes) {
  Graph g = Graph::Create("nn");
  NDArray m = Arr<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<int32_t>(
      testing::RunKernel(ops::Transpose(FeedUnknown(g, m), {1, 0}, In(g)), {m}),
      Shape{3, 2}, {1, 4, 2, 5, 3, 6});
  std::vector<float> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;  // x[a][b][c] = 12a + 4b + c.
  NDArray x = Arr<float>(v, Shape{2, 3, 4});
  for (std::vector<int64_t> perm :
       {std::vector<int64_t>{1, 0, 2}, {2, 0, 1}, {0, 2, 1}, {0, 1, 2}}) {
    SCOPED_TRACE(perm[0] * 100 + perm[1] * 10 + perm[2]);
    const int64_t in_dims[3] = {2, 3, 4}, in_stride[3] = {12, 4, 1};
    Shape out_shape{in_dims[perm[0]], in_dims[perm[1]], in_dims[perm[2]]};
    std::vector<float> expected;
    for (int i = 0; i < out_shape.dim(0); ++i)
      for (int j = 0; j < out_shape.dim(1); ++j)
        for (int k = 0; k < out_shape.dim(2); ++k)
          expected.push_back(i * in_stride[perm[0]] + j * in_stride[perm[1]] +
                             k * in_stride[perm[2]]);
    ExpectArray<float>(
        testing::RunKernel(ops::Transpose(Feed(g, x), perm, In(g)), {x}),
        out_shape, expected);
  }
  NDArray b = Arr<bool>({true, false, false, true, true, false}, Shape{3, 2});
  ExpectArray<bool>(
      testing::RunKernel(ops::Transpose(Feed(g, b), {1, 0}, In(g)), {b}),
      Shape{2, 3}, {true, false, true, false, true, false});
  // Larger than the parallel threshold: [8,128,4,64] -> [8,4,128,64].
  std::vector<int32_t> big(8 * 128 * 4 * 64);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<int32_t>(i);
  NDArray h = Arr<int32_t>(big, Shape{8, 128, 4, 64});
  absl::StatusOr<NDArray> t =
      testing::RunKernel(ops::Transpose(Feed(g, h), {0, 2, 1, 3}, In(g)), {h});
  ASSERT_TRUE(t.ok()) << t.status();
  auto tv = t->values<int32_t>();
  for (int bb = 0; bb < 8; bb += 7)
    for (int hh = 0; hh < 4; ++hh)
      for (int s = 0; s < 128; s += 31)
        for (int d = 0; d < 64; d += 21)
          ASSERT_EQ(tv[((bb * 4 + hh) * 128 + s) * 64 + d],
                    ((bb * 128 + s) * 4 + hh) * 64 + d);
}

TEST(NnKernels, ConcatJoinsAlongAnAxis) {
  Graph g = Graph::Create("nn");
  NDArray a = Arr<int64_t>({1, 2, 3, 4}, Shape{2, 2});
  NDArray b = Arr<int64_t>({5, 6}, Shape{2, 1});
  NDArray c = Arr<int64_t>({7, 8, 9, 10, 11, 12}, Shape{2, 3});
  Tensor t1 = ops::Concat({Feed(g, a), Feed(g, b), Feed(g, c)}, 1, In(g));
  ExpectArray<int64_t>(testing::RunKernel(t1, {a, b, c}), Shape{2, 6},
                       {1, 2, 5, 7, 8, 9, 3, 4, 6, 10, 11, 12});
  NDArray r = Arr<int64_t>({13, 14}, Shape{1, 2});
  Tensor t0 = ops::Concat({Feed(g, a), Feed(g, r)}, 0, In(g));
  ExpectArray<int64_t>(testing::RunKernel(t0, {a, r}), Shape{3, 2},
                       {1, 2, 3, 4, 13, 14});
  // Unknown shapes: the mismatch is caught at run time.
  Tensor tu = ops::Concat({FeedUnknown(g, a), FeedUnknown(g, c)}, 0, In(g));
  ExpectError(testing::RunKernel(tu, {a, c}),
              absl::StatusCode::kInvalidArgument,
              {"Concat input 1 is [2,3] but input 0 is [2,2]; every dimension "
               "except the concat axis 0 must match"});
}

TEST(NnKernels, SliceCopiesABlock) {
  Graph g = Graph::Create("nn");
  std::vector<double> v(20);
  for (int i = 0; i < 20; ++i) v[i] = i;  // [4,5]
  NDArray x = Arr<double>(v, Shape{4, 5});
  ExpectArray<double>(
      testing::RunKernel(ops::Slice(Feed(g, x), {1, 2}, {2, -1}, In(g)), {x}),
      Shape{2, 3}, {7, 8, 9, 12, 13, 14});
  ExpectArray<double>(
      testing::RunKernel(ops::Slice(Feed(g, x), {3, 0}, {1, 2}, In(g)), {x}),
      Shape{1, 2}, {15, 16});
  ExpectArray<double>(
      testing::RunKernel(ops::Slice(Feed(g, x), {4, 0}, {-1, -1}, In(g)), {x}),
      Shape{0, 5}, {});
  Tensor u = ops::Slice(FeedUnknown(g, x), {3, 0}, {2, -1}, In(g));
  ExpectError(testing::RunKernel(u, {x}), absl::StatusCode::kInvalidArgument,
              {"Slice begin [3,0] size [2,-1] is out of bounds for the fed "
               "float64[4,5]"});
}

TEST(NnKernels, GatherPicksSlicesAndRejectsBadIndices) {
  Graph g = Graph::Create("nn");
  NDArray p = Arr<float>({0, 1, 10, 11, 20, 21}, Shape{3, 2});
  NDArray i32 = Arr<int32_t>({2, 0, 2, 1}, Shape{2, 2});
  ExpectArray<float>(
      testing::RunKernel(ops::Gather(Feed(g, p), Feed(g, i32), 0, In(g)),
                         {p, i32}),
      Shape{2, 2, 2}, {20, 21, 0, 1, 20, 21, 10, 11});
  NDArray i64 = Arr<int64_t>({1, 1, 0}, Shape{3});
  ExpectArray<float>(
      testing::RunKernel(ops::Gather(Feed(g, p), Feed(g, i64), 1, In(g)),
                         {p, i64}),
      Shape{3, 3}, {1, 1, 0, 11, 11, 10, 21, 21, 20});
  NDArray scalar = Arr<int64_t>({2}, Shape{});
  ExpectArray<float>(
      testing::RunKernel(ops::Gather(Feed(g, p), Feed(g, scalar), 0, In(g)),
                         {p, scalar}),
      Shape{2}, {20, 21});
  // Negative indices wrap (ONNX): -3 is row 0, -4 is out of range.
  for (int64_t bad : {int64_t{3}, int64_t{-4}, int64_t{1} << 40}) {
    NDArray idx = Arr<int64_t>({0, bad}, Shape{2});
    ExpectError(
        testing::RunKernel(ops::Gather(Feed(g, p), Feed(g, idx), 0, In(g)),
                           {p, idx}),
        absl::StatusCode::kInvalidArgument,
        {absl::StrCat("Gather index ", bad,
                      " (element 1 of indices int64[2]) is out of range for "
                      "axis 0 of params float32[3,2] (valid: -3 to 2)")});
  }
}

// ---------------------------------------------- MatMul and BatchMatMul --

// A kernel pinned to one implementation: op "NnTestPinned<base>_<label>" with
// base's inference, whose kernels build `base`'s kernel of that label. Runs the
// lower-priority (Eigen) kernels of float types through the real path.
std::string PinnedOp(const std::string& base, const std::string& label) {
  const std::string name = "NnTestPinned" + base + "_" + label;
  if (OpRegistry::Global().Find(name) != nullptr) return name;
  const OpDef* def = OpRegistry::Global().Find(base);
  EXPECT_TRUE(OpRegistry::Global()
                  .Register({.type = name,
                             .num_inputs = def->num_inputs,
                             .infer = def->infer})
                  .ok());
  for (DType dt :
       {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64}) {
    EXPECT_TRUE(
        KernelRegistry::Global()
            .Register({.op = name,
                       .dtype = dt,
                       .factory = [base, label, dt](OpKernelConstruction& c)
                           -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                         for (const KernelDef* k :
                              KernelRegistry::Global().FindAll(base, "cpu",
                                                               dt)) {
                           if (k->label == label) return k->factory(c);
                         }
                         return absl::NotFoundError("no such kernel");
                       },
                       .label = label})
            .ok());
  }
  return name;
}

// The product of a (batch_a x [ra, ca]) and b (batch_b x [rb, cb]) with the
// transposes, batches broadcast by index modulo (batch_a or batch_b is 1 or
// equal to the other), in double.
template <typename T>
std::vector<double> NaiveProduct(const std::vector<T>& a,
                                 const std::vector<T>& b, int batch, int ba,
                                 int bb, int m, int n, int k, bool ta,
                                 bool tb) {
  std::vector<double> c(batch * m * n);
  for (int q = 0; q < batch; ++q) {
    const T* pa = a.data() + (q % ba) * m * k;
    const T* pb = b.data() + (q % bb) * k * n;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int p = 0; p < k; ++p) {
          s += double(ta ? pa[p * m + i] : pa[i * k + p]) *
               double(tb ? pb[j * k + p] : pb[p * n + j]);
        }
        c[(q * m + i) * n + j] = s;
      }
  }
  return c;
}

template <typename T>
std::vector<T> RandomValues(int n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(-4, 4);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(d(rng));  // Small integers: exact sums.
  return v;
}

template <typename T>
void CheckMatMulCombos(const std::string& op_name, std::string_view kernel) {
  std::mt19937 rng(7);
  const int m = 3, k = 5, n = 4;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(absl::StrCat(op_name, " ", DTypeName(DTypeOf<T>::value),
                                " ta=", ta, " tb=", tb));
      const std::vector<T> av = RandomValues<T>(m * k, rng);
      const std::vector<T> bv = RandomValues<T>(k * n, rng);
      NDArray a = Arr<T>(av, ta ? Shape{k, m} : Shape{m, k});
      NDArray b = Arr<T>(bv, tb ? Shape{n, k} : Shape{k, n});
      Graph g = Graph::Create("nn");
      Tensor fa = FeedUnknown(g, a), fb = FeedUnknown(g, b);
      absl::StatusOr<Tensor> t = g.AddOp(
          op_name, {fa, fb}, {{"transpose_a", ta}, {"transpose_b", tb}}, In(g));
      ASSERT_TRUE(t.ok()) << t.status();
      auto session = *Session::Create(g);
      absl::StatusOr<PlanSummary> plan = session->GetPlan({fa, fb}, {*t});
      ASSERT_TRUE(plan.ok()) << plan.status();
      EXPECT_THAT(plan->kernels, ::testing::Contains(absl::StrCat(
                                     t->node_name(), ":", kernel)));
      ExpectClose<T>(testing::RunKernel(*t, {a, b}), Shape{m, n},
                     NaiveProduct(av, bv, 1, 1, 1, m, n, k, ta, tb), 0);
    }
  }
}

TEST(NnKernels, MatMulTransposesInBothKernels) {
  // OpenBLAS (float types' default) and Eigen (pinned; integers' default).
  CheckMatMulCombos<float>("MatMul", "openblas");
  CheckMatMulCombos<double>("MatMul", "openblas");
  CheckMatMulCombos<float>(PinnedOp("MatMul", "eigen"), "eigen");
  CheckMatMulCombos<double>(PinnedOp("MatMul", "eigen"), "eigen");
  CheckMatMulCombos<int32_t>("MatMul", "eigen");
  CheckMatMulCombos<int64_t>("MatMul", "eigen");
}

TEST(NnKernels, MatMulTransposeInnerMismatchAtRunTime) {
  Graph g = Graph::Create("nn");
  NDArray a = Arr<float>(std::vector<float>(6, 1), Shape{2, 3});
  NDArray b = Arr<float>(std::vector<float>(6, 1), Shape{3, 2});
  Tensor t =
      ops::MatMul(FeedUnknown(g, a), FeedUnknown(g, b), true, false, In(g));
  ExpectError(testing::RunKernel(t, {a, b}), absl::StatusCode::kInvalidArgument,
              {"MatMul inner dimensions differ at run time: [2,3] "
               "(transposed) x [3,2] (2 vs 3)"});
}

template <typename T>
void CheckBatchMatMul(const std::string& op_name) {
  std::mt19937 rng(11);
  const int m = 3, k = 4, n = 2;
  struct Batches {
    Shape a, b, out;
    int batch, ba, bb;
  };
  for (const Batches& c :
       {Batches{{4}, {4}, {4}, 4, 4, 4},
        Batches{{2, 3}, {2, 3}, {2, 3}, 6, 6, 6},
        Batches{{1}, {5}, {5}, 5, 1, 5}, Batches{{5}, {}, {5}, 5, 5, 1}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        SCOPED_TRACE(absl::StrCat(op_name, " ", DTypeName(DTypeOf<T>::value),
                                  " ", c.a.DebugString(), "x",
                                  c.b.DebugString(), " ta=", ta, " tb=", tb));
        std::vector<int64_t> ad = c.a.dims(), bd = c.b.dims(),
                             od = c.out.dims();
        ad.push_back(ta ? k : m);
        ad.push_back(ta ? m : k);
        bd.push_back(tb ? n : k);
        bd.push_back(tb ? k : n);
        od.push_back(m);
        od.push_back(n);
        const std::vector<T> av = RandomValues<T>(c.ba * m * k, rng);
        const std::vector<T> bv = RandomValues<T>(c.bb * k * n, rng);
        NDArray a = Arr<T>(av, Shape(ad)), b = Arr<T>(bv, Shape(bd));
        Graph g = Graph::Create("nn");
        absl::StatusOr<Tensor> t =
            g.AddOp(op_name, {Feed(g, a), Feed(g, b)},
                    {{"transpose_a", ta}, {"transpose_b", tb}}, In(g));
        ASSERT_TRUE(t.ok()) << t.status();
        ExpectClose<T>(
            testing::RunKernel(*t, {a, b}), Shape(od),
            NaiveProduct(av, bv, c.batch, c.ba, c.bb, m, n, k, ta, tb), 0);
      }
    }
  }
}

TEST(NnKernels, BatchMatMulBroadcastsBatchesInBothKernels) {
  CheckBatchMatMul<float>("BatchMatMul");  // OpenBLAS.
  CheckBatchMatMul<double>("BatchMatMul");
  CheckBatchMatMul<float>(PinnedOp("BatchMatMul", "eigen"));
  CheckBatchMatMul<int32_t>("BatchMatMul");  // Eigen.
  CheckBatchMatMul<int64_t>("BatchMatMul");
}

TEST(NnKernels, BatchMatMulOfALargeBatchMatchesANaiveProduct) {
  std::mt19937 rng(3);
  const int batch = 32, m = 64, k = 48, n = 40;
  const std::vector<float> av = RandomValues<float>(batch * m * k, rng);
  const std::vector<float> bv = RandomValues<float>(batch * k * n, rng);
  NDArray a = Arr<float>(av, Shape{4, 8, m, k});
  NDArray b = Arr<float>(bv, Shape{4, 8, n, k});
  for (const std::string& op :
       {std::string("BatchMatMul"), PinnedOp("BatchMatMul", "eigen")}) {
    SCOPED_TRACE(op);
    Graph g = Graph::Create("nn");
    absl::StatusOr<Tensor> t =
        g.AddOp(op, {Feed(g, a), Feed(g, b)}, {{"transpose_b", true}}, In(g));
    ASSERT_TRUE(t.ok()) << t.status();
    ExpectClose<float>(
        testing::RunKernel(*t, {a, b}), Shape{4, 8, m, n},
        NaiveProduct(av, bv, batch, batch, batch, m, n, k, false, true), 0);
  }
}

TEST(NnKernels, BatchMatMulEmptyAndRunTimeErrors) {
  Graph g = Graph::Create("nn");
  NDArray a = Arr<float>({}, Shape{2, 3, 0});
  NDArray b = Arr<float>({}, Shape{2, 0, 2});
  ExpectArray<float>(
      testing::RunKernel(ops::BatchMatMul(Feed(g, a), Feed(g, b), In(g)),
                         {a, b}),
      Shape{2, 3, 2}, std::vector<float>(12, 0));
  NDArray x = Arr<float>(std::vector<float>(12, 1), Shape{2, 2, 3});
  NDArray y = Arr<float>(std::vector<float>(12, 1), Shape{3, 2, 2});
  ExpectError(
      testing::RunKernel(
          ops::BatchMatMul(FeedUnknown(g, x), FeedUnknown(g, y), In(g)),
          {x, y}),
      absl::StatusCode::kInvalidArgument,
      {"BatchMatMul inner dimensions differ at run time: [2,2,3] x [3,2,2] "
       "(3 vs 2)"});
  NDArray z = Arr<float>(std::vector<float>(18, 1), Shape{3, 3, 2});
  ExpectError(testing::RunKernel(
                  ops::BatchMatMul(FeedUnknown(g, x), FeedUnknown(g, z), In(g)),
                  {x, z}),
              absl::StatusCode::kInvalidArgument,
              {"BatchMatMul batch dimensions do not broadcast at run time"});
}

// Det: LU with partial pivoting; batches, a singular matrix, a row swap's
// sign, NaN.
TEST(NnKernels, DetOfBatchesSingularAndPivotedMatrices) {
  Graph g = Graph::Create("det");
  const NDArray x = Arr<double>({2, 1, 1, 3,   // 5
                                 1, 2, 2, 4,   // 0 (singular)
                                 0, 1, 1, 0},  // -1 (needs a row swap)
                                Shape{3, 2, 2});
  testing::ExpectNear<double>(
      testing::RunKernel(ops::Det(Feed(g, x), In(g)), {x}), Shape{3},
      {5, 0, -1}, 1e-12);
  const NDArray m3 = Arr<float>({1, 2, 3, 0, 1, 4, 5, 6, 0}, Shape{3, 3});
  testing::ExpectNear<float>(
      testing::RunKernel(ops::Det(Feed(g, m3), In(g)), {m3}), Shape{}, {1},
      1e-5);
  const NDArray nan = Arr<float>({std::nanf(""), 1, 1, 1}, Shape{2, 2});
  testing::ExpectNear<float>(
      testing::RunKernel(ops::Det(Feed(g, nan), In(g)), {nan}), Shape{},
      {std::nan("")}, 0);
  ExpectBuildError(
      ops::Det(ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g)), In(g)),
      ErrorKind::kShape, "Det takes square matrices [..., n, n]");
  ExpectBuildError(
      ops::Det(ops::Placeholder(DType::kInt32, Shape{2, 2}, In(g)), In(g)),
      ErrorKind::kDType, "Det");
}

}  // namespace
}  // namespace weft
