// Tests for the elementwise and logic ops added for ONNX (graph/
// elementwise_ops.cc, graph/logic_ops.cc and their kernels): Floor, Ceil,
// Round, the trigonometric and hyperbolic functions, Reciprocal, Sign, Mod
// (both modes), IsNaN, IsInf and LogicalXor, against hand-computed values,
// through the real compile/construct/compute path
// (tests/testing/kernel_harness.h), and their build-time errors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <utility>
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
using testing::Feed;
using ::testing::HasSubstr;
using testing::In;
using testing::RunBinary;
using testing::RunKernel;
using testing::RunUnary;
using testing::UnaryBuilder;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();

// Whether `v` is a zero with the sign bit set.
template <typename T>
bool IsNegativeZero(T v) {
  return v == 0 && std::signbit(v);
}

// ----------------------------------------------- HardSigmoid, HardSwish --

// The fused activations against their definitions, for both dtypes, on
// arrays long enough for the four-lane loop and its scalar tail, and on the
// specials (the clamps' edges, infinities, NaN).
template <typename T>
void CheckHardActivations() {
  std::vector<T> x = {-4,
                      -3,
                      -2.5,
                      -1,
                      -0.25,
                      0,
                      0.5,
                      1,
                      2.5,
                      3,
                      4,
                      7,
                      static_cast<T>(kInf),
                      static_cast<T>(-kInf)};
  for (int i = 0; i < 37; ++i) x.push_back(static_cast<T>(i) * T{0.3} - 5);
  const Shape shape{static_cast<int64_t>(x.size())};
  const NDArray a = Arr<T>(x, shape);
  Graph g = Graph::Create("hard");
  absl::StatusOr<Tensor> hs =
      g.AddOp("HardSigmoid", {Feed(g, a)}, {{"alpha", 0.2}, {"beta", 0.5}});
  ASSERT_TRUE(hs.ok()) << hs.status();
  Graph g2 = Graph::Create("hard");
  absl::StatusOr<Tensor> sw = g2.AddOp("HardSwish", {Feed(g2, a)});
  ASSERT_TRUE(sw.ok()) << sw.status();
  std::vector<T> want_hs, want_sw;
  for (T v : x) {
    want_hs.push_back(std::clamp(T{0.2} * v + T{0.5}, T{0}, T{1}));
    const T h = std::clamp(v / T{6} + T{0.5}, T{0}, T{1});
    // -inf * 0 is NaN in the definition; the fused op follows it.
    want_sw.push_back(
        std::isinf(v) && v < 0 ? std::numeric_limits<T>::quiet_NaN() : v * h);
  }
  ExpectNear<T>(RunKernel(*hs, {a}), shape,
                std::vector<double>(want_hs.begin(), want_hs.end()), 1e-6);
  absl::StatusOr<NDArray> got = RunKernel(*sw, {a});
  ASSERT_TRUE(got.ok()) << got.status();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(want_sw[i])) {
      EXPECT_TRUE(std::isnan(got->values<T>()[i])) << i;
    } else if (std::isinf(want_sw[i])) {
      EXPECT_EQ(got->values<T>()[i], want_sw[i]) << i;
    } else {
      EXPECT_NEAR(got->values<T>()[i], want_sw[i], 1e-5) << i << " " << x[i];
    }
  }
  // NaN stays NaN.
  const NDArray n = Arr<T>({std::numeric_limits<T>::quiet_NaN()}, Shape{1});
  Graph g3 = Graph::Create("hard");
  absl::StatusOr<Tensor> sn = g3.AddOp("HardSwish", {Feed(g3, n)});
  ASSERT_TRUE(sn.ok());
  absl::StatusOr<NDArray> nan = RunKernel(*sn, {n});
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(nan->values<T>()[0]));
}

TEST(ElementwiseExt, HardSigmoidAndHardSwishMatchTheirDefinitions) {
  CheckHardActivations<float>();
  CheckHardActivations<double>();
}

TEST(ElementwiseExt, HardSigmoidNeedsItsAttrsAndAFloatInput) {
  Graph g = Graph::Create("hard");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{3}, In(g));
  EXPECT_FALSE(g.AddOp("HardSigmoid", {x}, {{"alpha", 0.2}}).ok());
  Tensor i = ops::Placeholder(DType::kInt32, Shape{3}, In(g));
  EXPECT_FALSE(g.AddOp("HardSwish", {i}).ok());
  EXPECT_FALSE(
      g.AddOp("HardSigmoid", {i}, {{"alpha", 0.2}, {"beta", 0.5}}).ok());
}

// ------------------------------------------------------ Floor, Ceil, Round --

TEST(ElementwiseExt, FloorCeilRoundOnHalvesZerosAndSpecials) {
  const NDArray x = Arr<double>(
      {-2.5, -1.5, -0.5, -0.0, 0.5, 1.5, 2.5, 2.7, -2.7, kInf, -kInf, kNaN},
      Shape{12});
  ExpectArray<double>(RunUnary(&ops::Floor, x), Shape{12},
                      {-3, -2, -1, -0.0, 0, 1, 2, 2, -3, kInf, -kInf, kNaN});
  ExpectArray<double>(RunUnary(&ops::Ceil, x), Shape{12},
                      {-2, -1, -0.0, -0.0, 1, 2, 3, 3, -2, kInf, -kInf, kNaN});
  // Halves to even: -2.5 -> -2, -1.5 -> -2, -0.5 -> -0, 0.5 -> 0, 1.5 -> 2,
  // 2.5 -> 2.
  ExpectArray<double>(RunUnary(&ops::Round, x), Shape{12},
                      {-2, -2, -0.0, -0.0, 0, 2, 2, 3, -3, kInf, -kInf, kNaN});
  // The zeros keep their sign: Ceil(-0.5), Round(-0.5), Floor(-0.0).
  absl::StatusOr<NDArray> ceil = RunUnary(&ops::Ceil, x);
  ASSERT_TRUE(ceil.ok());
  EXPECT_TRUE(IsNegativeZero(ceil->values<double>()[2]));
  absl::StatusOr<NDArray> round = RunUnary(&ops::Round, x);
  ASSERT_TRUE(round.ok());
  EXPECT_TRUE(IsNegativeZero(round->values<double>()[2]));
  EXPECT_FALSE(std::signbit(round->values<double>()[4]));
  absl::StatusOr<NDArray> floor = RunUnary(&ops::Floor, x);
  ASSERT_TRUE(floor.ok());
  EXPECT_TRUE(IsNegativeZero(floor->values<double>()[3]));
}

TEST(ElementwiseExt, RoundFloat32HalvesToEven) {
  const NDArray x =
      Arr<float>({0.5f, 1.5f, 2.5f, 3.5f, -3.5f, 4.4999995f}, Shape{2, 3});
  ExpectArray<float>(RunUnary(&ops::Round, x), Shape{2, 3},
                     {0, 2, 2, 4, -4, 4});
}

// ------------------------------------------- trigonometric and hyperbolic --

struct MathCase {
  const char* name;
  UnaryBuilder op;
  std::vector<double> in;
  std::vector<double> expected;
};

TEST(ElementwiseExt, TrigonometricAndHyperbolicFunctionsForBothDTypes) {
  const double pi = std::numbers::pi;
  const std::vector<MathCase> cases = {
      {"Sin",
       &ops::Sin,
       {0, pi / 6, pi / 2, -pi / 2, kInf},
       {0, 0.5, 1, -1, kNaN}},
      {"Cos", &ops::Cos, {0, pi / 3, pi, -pi, kNaN}, {1, 0.5, -1, -1, kNaN}},
      {"Tan", &ops::Tan, {0, pi / 4, -pi / 4, kInf}, {0, 1, -1, kNaN}},
      {"Asin",
       &ops::Asin,
       {0, 0.5, 1, -1, 2},
       {0, pi / 6, pi / 2, -pi / 2, kNaN}},
      {"Acos",
       &ops::Acos,
       {1, 0.5, 0, -1, -1.5},
       {0, pi / 3, pi / 2, pi, kNaN}},
      {"Atan",
       &ops::Atan,
       {0, 1, -1, kInf, -kInf},
       {0, pi / 4, -pi / 4, pi / 2, -pi / 2}},
      {"Sinh",
       &ops::Sinh,
       {0, 1, -1, 1000},
       {0, 1.1752011936438014, -1.1752011936438014, kInf}},
      {"Cosh",
       &ops::Cosh,
       {0, 1, -1, -1000},
       {1, 1.5430806348152437, 1.5430806348152437, kInf}},
      {"Asinh",
       &ops::Asinh,
       {0, 1, -1, -kInf},
       {0, 0.881373587019543, -0.881373587019543, -kInf}},
      {"Acosh",
       &ops::Acosh,
       {1, 2, 0.5, kInf},
       {0, 1.3169578969248166, kNaN, kInf}},
      {"Atanh",
       &ops::Atanh,
       {0, 0.5, -0.5, 1, -1, 2},
       {0, 0.5493061443340549, -0.5493061443340549, kInf, -kInf, kNaN}},
      {"Reciprocal",
       &ops::Reciprocal,
       {2, -4, 0, -0.0, kInf, kNaN},
       {0.5, -0.25, kInf, -kInf, 0, kNaN}},
  };
  for (const MathCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Shape shape{static_cast<int64_t>(c.in.size())};
    ExpectNear<double>(RunUnary(c.op, Arr<double>(c.in, shape)), shape,
                       c.expected, 1e-15, 1e-15);
    std::vector<float> in32(c.in.begin(), c.in.end());
    ExpectNear<float>(RunUnary(c.op, Arr<float>(in32, shape)), shape,
                      c.expected, 1e-6, 1e-6);
  }
}

TEST(ElementwiseExt, FloatingOpsRejectIntegersAtBuildTime) {
  const std::vector<std::pair<const char*, UnaryBuilder>> builders = {
      {"Floor", &ops::Floor},
      {"Ceil", &ops::Ceil},
      {"Round", &ops::Round},
      {"Sin", &ops::Sin},
      {"Cos", &ops::Cos},
      {"Tan", &ops::Tan},
      {"Asin", &ops::Asin},
      {"Acos", &ops::Acos},
      {"Atan", &ops::Atan},
      {"Sinh", &ops::Sinh},
      {"Cosh", &ops::Cosh},
      {"Asinh", &ops::Asinh},
      {"Acosh", &ops::Acosh},
      {"Atanh", &ops::Atanh},
      {"Reciprocal", &ops::Reciprocal}};
  for (const auto& [name, op] : builders) {
    SCOPED_TRACE(name);
    Graph g = Graph::Create("ext");
    Tensor x = ops::Placeholder(DType::kInt32, Shape{3}, In(g));
    const int line = __LINE__ + 1;
    Tensor y = op(x, In(g), std::source_location::current());
    ExpectBuildError(y, line, ErrorKind::kDType,
                     "input 0 is int32[3]; this op takes float32 or float64");
  }
}

// ------------------------------------------------------------------- Sign --

TEST(ElementwiseExt, SignForEveryNumericDType) {
  absl::StatusOr<NDArray> f = RunUnary(
      &ops::Sign,
      Arr<float>({-3.5f, -0.0f, 0.0f, 2e-40f, kInfF, -kInfF, kNaNF}, Shape{7}));
  ExpectArray<float>(f, Shape{7}, {-1, 0, 0, 1, 1, -1, kNaNF});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(IsNegativeZero(f->values<float>()[1]));  // -0 stays -0.
  ExpectArray<double>(
      RunUnary(&ops::Sign, Arr<double>({-1e-300, 7, kNaN}, Shape{3})), Shape{3},
      {-1, 1, kNaN});
  ExpectArray<int32_t>(
      RunUnary(&ops::Sign,
               Arr<int32_t>({std::numeric_limits<int32_t>::min(), -5, 0, 9},
                            Shape{2, 2})),
      Shape{2, 2}, {-1, -1, 0, 1});
  ExpectArray<int64_t>(
      RunUnary(
          &ops::Sign,
          Arr<int64_t>({std::numeric_limits<int64_t>::max(), 0, -1}, Shape{3})),
      Shape{3}, {1, 0, -1});
  Graph g = Graph::Create("ext");
  const int line = __LINE__ + 1;
  Tensor b = ops::Sign(ops::Placeholder(DType::kBool, Shape{2}, In(g)), In(g));
  ExpectBuildError(
      b, line, ErrorKind::kDType,
      "input 0 is bool[2]; this op takes float32, float64, int32 or int64");
}

// -------------------------------------------------------------------- Mod --

// Builds Mod(a, b, fmod) on placeholders and runs it.
absl::StatusOr<NDArray> RunMod(const NDArray& a, const NDArray& b,
                               std::optional<bool> fmod) {
  Graph g = Graph::Create("mod");
  Tensor y = fmod.has_value() ? ops::Mod(Feed(g, a), Feed(g, b), *fmod, In(g))
                              : ops::Mod(Feed(g, a), Feed(g, b), In(g));
  return RunKernel(y, {a, b});
}

TEST(ElementwiseExt, IntegerModTakesTheDivisorsSignByDefault) {
  const NDArray a = Arr<int32_t>({7, -7, 7, -7, 0, 6, -6}, Shape{7});
  const NDArray b = Arr<int32_t>({3, 3, -3, -3, -3, 3, -3}, Shape{7});
  const std::vector<int32_t> python = {1, 2, -2, -1, 0, 0, 0};
  ExpectArray<int32_t>(RunMod(a, b, std::nullopt), Shape{7}, python);
  ExpectArray<int32_t>(RunMod(a, b, false), Shape{7}, python);
  // fmod: the dividend's sign (C's %).
  ExpectArray<int32_t>(RunMod(a, b, true), Shape{7}, {1, -1, 1, -1, 0, 0, 0});
}

TEST(ElementwiseExt, IntegerModOfTheMinimumByMinusOneIsZero) {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const NDArray a = Arr<int64_t>({lo, lo, lo}, Shape{3});
  const NDArray b = Arr<int64_t>({-1, 3, -3}, Shape{3});
  // lo = -9223372036854775808 = 3 * -3074457345618258602 - 2.
  ExpectArray<int64_t>(RunMod(a, b, false), Shape{3}, {0, 1, -2});
  ExpectArray<int64_t>(RunMod(a, b, true), Shape{3}, {0, -2, -2});
}

TEST(ElementwiseExt, IntegerModByZeroIsARunTimeError) {
  for (bool fmod : {false, true}) {
    SCOPED_TRACE(fmod);
    ExpectError(RunMod(Arr<int32_t>({1, 2}, Shape{2}),
                       Arr<int32_t>({1, 0}, Shape{2}), fmod),
                absl::StatusCode::kInvalidArgument,
                {"integer modulo by zero (int32)"});
    ExpectError(RunMod(Arr<int64_t>({1, 2}, Shape{2}),
                       Arr<int64_t>({0}, Shape{1}), fmod),
                absl::StatusCode::kInvalidArgument,
                {"integer modulo by zero (int64)"});
  }
}

TEST(ElementwiseExt, FloatModTakesTheDivisorsSignLikePython) {
  // Python: 5.5 % 2 = 1.5, -5.5 % 2 = 0.5, 5.5 % -2 = -0.5, -5.5 % -2 = -1.5,
  // 4.0 % -2 = -0.0, -4.0 % 2 = 0.0, 3 % inf = 3, -3 % inf = inf,
  // x % 0 = NaN (numpy), NaN % 2 = NaN, inf % 2 = NaN.
  const NDArray a = Arr<double>(
      {5.5, -5.5, 5.5, -5.5, 4.0, -4.0, 3, -3, 1, kNaN, kInf}, Shape{11});
  const NDArray b =
      Arr<double>({2, 2, -2, -2, -2, 2, kInf, kInf, 0, 2, 2}, Shape{11});
  absl::StatusOr<NDArray> r = RunMod(a, b, false);
  ExpectArray<double>(
      r, Shape{11}, {1.5, 0.5, -0.5, -1.5, -0.0, 0, 3, kInf, kNaN, kNaN, kNaN});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(IsNegativeZero(r->values<double>()[4]));  // 4.0 % -2 = -0.0.
  EXPECT_FALSE(std::signbit(r->values<double>()[5]));   // -4.0 % 2 = 0.0.
}

TEST(ElementwiseExt, FloatFModTakesTheDividendsSign) {
  const NDArray a =
      Arr<float>({5.5f, -5.5f, 5.5f, -5.5f, -4.0f, 3, 1, kInfF}, Shape{8});
  const NDArray b = Arr<float>({2, 2, -2, -2, 2, kInfF, 0, 2}, Shape{8});
  absl::StatusOr<NDArray> r = RunMod(a, b, true);
  ExpectArray<float>(r, Shape{8},
                     {1.5f, -1.5f, 1.5f, -1.5f, -0.0f, 3, kNaNF, kNaNF});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(IsNegativeZero(r->values<float>()[4]));  // fmod(-4, 2) = -0.
}

TEST(ElementwiseExt, ModBroadcastsLikeNumpy) {
  // [2,3] % [3] and [2,1] % [1,3] (the general broadcast walk).
  ExpectArray<int32_t>(
      RunMod(Arr<int32_t>({10, 11, 12, -10, -11, -12}, Shape{2, 3}),
             Arr<int32_t>({3, -4, 5}, Shape{3}), false),
      Shape{2, 3}, {1, -1, 2, 2, -3, 3});
  ExpectArray<double>(RunMod(Arr<double>({7, -7}, Shape{2, 1}),
                             Arr<double>({2, -3, 4}, Shape{1, 3}), false),
                      Shape{2, 3}, {1, -2, 3, 1, -1, 1});
  // A scalar divisor.
  ExpectArray<int64_t>(RunMod(Arr<int64_t>({-1, 0, 1, 2}, Shape{4}),
                              Arr<int64_t>({2}, Shape{}), false),
                       Shape{4}, {1, 0, 1, 0});
}

TEST(ElementwiseExt, ModBuildErrors) {
  Graph g = Graph::Create("mod");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2}, In(g));
  Tensor i = ops::Placeholder(DType::kInt32, Shape{2}, In(g));
  Tensor b = ops::Placeholder(DType::kBool, Shape{2}, In(g));
  int line = __LINE__ + 1;
  Tensor mixed = ops::Mod(f, i, In(g));
  ExpectBuildError(mixed, line, ErrorKind::kDType,
                   "dtype mismatch: input 0 is float32[2] but input 1 is "
                   "int32[2]");
  line = __LINE__ + 1;
  Tensor boolean = ops::Mod(b, b, true, In(g));
  ExpectBuildError(
      boolean, line, ErrorKind::kDType,
      "input 0 is bool[2]; this op takes float32, float64, int32 or int64");
  Tensor f3 = ops::Placeholder(DType::kFloat32, Shape{3}, In(g));
  line = __LINE__ + 1;
  Tensor shapes = ops::Mod(f, f3, In(g));
  ExpectBuildError(shapes, line, ErrorKind::kShape,
                   "shapes [2] and [3] cannot be broadcast");
}

TEST(ElementwiseExt, ModFModAttrMustBeABool) {
  Graph g = Graph::Create("mod");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2}, In(g));
  absl::StatusOr<Tensor> t =
      g.AddOp("Mod", {f, f}, {{"fmod", int64_t{1}}}, {.name = "m"});
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(),
              HasSubstr("attr 'fmod' must be a bool (true or false)"));
}

// ----------------------------------------------------------- IsNaN, IsInf --

TEST(LogicExt, IsNaNAndIsInfForBothDTypes) {
  const NDArray d =
      Arr<double>({1, kNaN, kInf, -kInf, -0.0, -kNaN}, Shape{2, 3});
  ExpectArray<bool>(RunUnary(&ops::IsNaN, d), Shape{2, 3},
                    {false, true, false, false, false, true});
  ExpectArray<bool>(RunUnary(&ops::IsInf, d), Shape{2, 3},
                    {false, false, true, true, false, false});
  const NDArray f = Arr<float>({kInfF, -kInfF, kNaNF, 3e38f}, Shape{4});
  ExpectArray<bool>(RunUnary(&ops::IsNaN, f), Shape{4},
                    {false, false, true, false});
  ExpectArray<bool>(RunUnary(&ops::IsInf, f), Shape{4},
                    {true, true, false, false});
}

TEST(LogicExt, IsInfDetectsOnlyTheRequestedSigns) {
  const NDArray x = Arr<float>({kInfF, -kInfF, kNaNF, 1}, Shape{4});
  auto run = [&x](bool pos, bool neg) {
    Graph g = Graph::Create("isinf");
    return RunKernel(ops::IsInf(Feed(g, x), pos, neg, In(g)), {x});
  };
  ExpectArray<bool>(run(true, true), Shape{4}, {true, true, false, false});
  ExpectArray<bool>(run(true, false), Shape{4}, {true, false, false, false});
  ExpectArray<bool>(run(false, true), Shape{4}, {false, true, false, false});
  ExpectArray<bool>(run(false, false), Shape{4}, {false, false, false, false});
}

TEST(LogicExt, IsNaNAndIsInfRejectNonFloatsAndBadAttrs) {
  Graph g = Graph::Create("isnan");
  Tensor i = ops::Placeholder(DType::kInt64, Shape{2}, In(g));
  int line = __LINE__ + 1;
  Tensor n = ops::IsNaN(i, In(g));
  ExpectBuildError(n, line, ErrorKind::kDType,
                   "input 0 is int64[2]; IsNaN takes float32 or float64 (Cast "
                   "the input first)");
  line = __LINE__ + 1;
  Tensor inf = ops::IsInf(i, true, false, In(g));
  ExpectBuildError(inf, line, ErrorKind::kDType,
                   "input 0 is int64[2]; IsInf takes float32 or float64");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2}, In(g));
  absl::StatusOr<Tensor> bad =
      g.AddOp("IsInf", {f}, {{"detect_negative", int64_t{0}}}, {.name = "bad"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("attr 'detect_negative' must be a bool"));
}

// ------------------------------------------------------------- LogicalXor --

TEST(LogicExt, LogicalXorBroadcasts) {
  const NDArray a = Arr<bool>({true, true, false, false}, Shape{4});
  const NDArray b = Arr<bool>({true, false, true, false}, Shape{4});
  ExpectArray<bool>(RunBinary(&ops::LogicalXor, a, b), Shape{4},
                    {false, true, true, false});
  const NDArray col = Arr<bool>({true, false}, Shape{2, 1});
  const NDArray row = Arr<bool>({true, false, true}, Shape{1, 3});
  ExpectArray<bool>(RunBinary(&ops::LogicalXor, col, row), Shape{2, 3},
                    {false, true, false, true, false, true});
  ExpectArray<bool>(RunBinary(&ops::LogicalXor, a, Arr<bool>({true}, Shape{})),
                    Shape{4}, {false, false, true, true});
  Graph g = Graph::Create("xor");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{2}, In(g));
  const int line = __LINE__ + 1;
  Tensor x = ops::LogicalXor(f, f, In(g));
  ExpectBuildError(x, line, ErrorKind::kDType,
                   "input 0 is float32[2]; this logical op takes bool");
}

// ------------------------------------------------- kernels for every dtype --

TEST(ElementwiseExt, EveryNewOpHasKernelsForTheDTypesInferenceAccepts) {
  const std::vector<DType> all = {DType::kFloat32, DType::kFloat64,
                                  DType::kInt32, DType::kInt64, DType::kBool};
  const std::vector<DType> numeric(all.begin(), all.end() - 1);
  const std::vector<DType> floating(all.begin(), all.begin() + 2);
  const std::vector<DType> boolean = {DType::kBool};
  const std::vector<std::pair<std::string, std::vector<DType>>> cases = {
      {"Floor", floating}, {"Ceil", floating},     {"Round", floating},
      {"Sin", floating},   {"Cos", floating},      {"Tan", floating},
      {"Asin", floating},  {"Acos", floating},     {"Atan", floating},
      {"Sinh", floating},  {"Cosh", floating},     {"Asinh", floating},
      {"Acosh", floating}, {"Atanh", floating},    {"Reciprocal", floating},
      {"Sign", numeric},   {"Mod", numeric},       {"IsNaN", floating},
      {"IsInf", floating}, {"LogicalXor", boolean}};
  for (const auto& [op, dtypes] : cases) {
    for (DType dt : all) {
      SCOPED_TRACE(op + " " + std::string(DTypeName(dt)));
      const bool supported =
          std::find(dtypes.begin(), dtypes.end(), dt) != dtypes.end();
      EXPECT_EQ(KernelRegistry::Global().Find(op, "cpu", dt) != nullptr,
                supported);
    }
  }
}

TEST(ElementwiseExt, LargeArraysSplitOverThreadsGiveTheSameValues) {
  // Above kParallelElementThreshold, ForRange splits the loop.
  const int64_t n = 3 * kParallelElementThreshold + 7;
  std::vector<double> in(n), floor(n), sign(n);
  std::vector<int32_t> a(n), b(n), mod(n);
  for (int64_t i = 0; i < n; ++i) {
    in[i] = (i % 11) - 5.5;
    floor[i] = std::floor(in[i]);
    sign[i] = in[i] > 0 ? 1 : -1;
    a[i] = static_cast<int32_t>(i % 23) - 11;
    b[i] = (i % 2 == 0) ? 4 : -4;
    const int32_t r = a[i] % b[i];
    mod[i] = (r != 0 && ((r < 0) != (b[i] < 0))) ? r + b[i] : r;
  }
  ExpectArray<double>(RunUnary(&ops::Floor, Arr<double>(in, Shape{n})),
                      Shape{n}, floor);
  ExpectArray<double>(RunUnary(&ops::Sign, Arr<double>(in, Shape{n})), Shape{n},
                      sign);
  ExpectArray<int32_t>(
      RunMod(Arr<int32_t>(a, Shape{n}), Arr<int32_t>(b, Shape{n}), false),
      Shape{n}, mod);
}

}  // namespace
}  // namespace weft
