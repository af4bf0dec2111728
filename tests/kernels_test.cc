// Tests for kernels/: the kernel registry and every standard kernel, each
// run through the real compile/construct/compute path
// (tests/testing/kernel_harness.h) on nodes built with the op builders.
#include <cmath>
#include <cstdint>
#include <limits>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "kernels/kernel.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

using testing::Arr;
using testing::ExpectArray;
using testing::ExpectError;
using testing::ExpectNear;
using testing::Feed;
using ::testing::HasSubstr;
using testing::In;
using testing::RunBinary;
using testing::RunKernel;
using testing::RunUnary;

// ---------------------------------------------------------------------------
// KernelRegistry

TEST(KernelRegistry, HasEveryStandardKernelForTheDTypesInferenceAccepts) {
  const std::vector<DType> all = {DType::kFloat32, DType::kFloat64,
                                  DType::kInt32, DType::kInt64, DType::kBool};
  const std::vector<DType> numeric = {DType::kFloat32, DType::kFloat64,
                                      DType::kInt32, DType::kInt64};
  const std::vector<DType> floating = {DType::kFloat32, DType::kFloat64};
  struct Case {
    std::string op;
    std::vector<DType> dtypes;
    KernelCost cost;
  };
  const std::vector<Case> cases = {
      {"Const", all, KernelCost::kCheap},
      {"Placeholder", all, KernelCost::kCheap},
      {"Identity", all, KernelCost::kCheap},
      {"Reshape", all, KernelCost::kCheap},
      {"Cast", all, KernelCost::kCheap},
      {"Add", numeric, KernelCost::kCheap},
      {"Sub", numeric, KernelCost::kCheap},
      {"Mul", numeric, KernelCost::kCheap},
      {"Div", numeric, KernelCost::kCheap},
      {"Maximum", numeric, KernelCost::kCheap},
      {"Neg", numeric, KernelCost::kCheap},
      {"Relu", numeric, KernelCost::kCheap},
      {"Sigmoid", floating, KernelCost::kCheap},
      {"Tanh", floating, KernelCost::kCheap},
      {"MatMul", numeric, KernelCost::kExpensive},
      {"ReduceSum", numeric, KernelCost::kExpensive},
      {"ReduceMean", numeric, KernelCost::kExpensive},
  };
  for (const Case& c : cases) {
    for (DType dt : all) {
      SCOPED_TRACE(c.op + " " + std::string(DTypeName(dt)));
      const KernelDef* def = KernelRegistry::Global().Find(c.op, "cpu", dt);
      const bool supported =
          std::find(c.dtypes.begin(), c.dtypes.end(), dt) != c.dtypes.end();
      if (!supported) {
        EXPECT_EQ(def, nullptr);
        continue;
      }
      ASSERT_NE(def, nullptr);
      EXPECT_EQ(def->op, c.op);
      EXPECT_EQ(def->dtype, dt);
      EXPECT_TRUE(static_cast<bool>(def->factory));
      EXPECT_EQ(def->device_kind, "cpu");
      EXPECT_EQ(def->cost, c.cost);
    }
  }
}

TEST(KernelRegistry, FindUnknownOpReturnsNull) {
  KernelRegistry& r = KernelRegistry::Global();
  EXPECT_EQ(r.Find("NoSuchOp", "cpu", DType::kFloat32), nullptr);
  EXPECT_EQ(r.Find("Add", "cpu", DType::kBool), nullptr);
  EXPECT_EQ(r.Find("", "cpu", DType::kFloat32), nullptr);
  EXPECT_EQ(r.Find("Add", "gpu", DType::kFloat32), nullptr);
}

TEST(KernelRegistry, FindReturnsStablePointers) {
  const KernelDef* a =
      KernelRegistry::Global().Find("Add", "cpu", DType::kFloat32);
  const KernelDef* b =
      KernelRegistry::Global().Find("Add", "cpu", DType::kFloat32);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
}

absl::Status NoopKernel(OpKernelContext&) { return absl::OkStatus(); }

TEST(KernelRegistry, RegisterSamePriorityIsAlreadyExists) {
  const KernelDef* before =
      KernelRegistry::Global().Find("Add", "cpu", DType::kFloat32);
  absl::Status s = KernelRegistry::Global().Register(
      {.op = "Add",
       .dtype = DType::kFloat32,
       .factory = FunctionKernelFactory(NoopKernel)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("'Add'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("float32"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("higher priority"));
  // The original kernel is untouched.
  EXPECT_EQ(KernelRegistry::Global().Find("Add", "cpu", DType::kFloat32),
            before);
}

TEST(KernelRegistry, RegisterRejectsNullFactoryEmptyOpAndUnknownDeviceKind) {
  KernelRegistry& r = KernelRegistry::Global();
  absl::Status s = r.Register({.op = "KernelsTestNullFn",
                               .dtype = DType::kFloat32,
                               .factory = nullptr});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(r.Find("KernelsTestNullFn", "cpu", DType::kFloat32), nullptr);
  s = r.Register({.op = "",
                  .dtype = DType::kFloat32,
                  .factory = FunctionKernelFactory(NoopKernel)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  s = r.Register({.op = "KernelsTestGpu",
                  .device_kind = "gpu",
                  .dtype = DType::kFloat32,
                  .factory = FunctionKernelFactory(NoopKernel)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("'gpu'"));
}

TEST(KernelRegistry, RegisterAddsAKernelForANewKey) {
  ASSERT_TRUE(KernelRegistry::Global()
                  .Register({.op = "KernelsTestCustom",
                             .dtype = DType::kInt64,
                             .factory = FunctionKernelFactory(NoopKernel),
                             .cost = KernelCost::kExpensive})
                  .ok());
  const KernelDef* def =
      KernelRegistry::Global().Find("KernelsTestCustom", "cpu", DType::kInt64);
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->cost, KernelCost::kExpensive);
  EXPECT_EQ(
      KernelRegistry::Global().Find("KernelsTestCustom", "cpu", DType::kInt32),
      nullptr);
}

// A higher-priority kernel overrides the default for its key, and a plan
// compiled afterwards uses it (here: a Neg that returns zeros).
absl::Status ZerosNegKernel(OpKernelContext& ctx) {
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, ctx.input(0).shape());
  if (!out.ok()) return out.status();
  for (int64_t i = 0; i < out->num_elements(); ++i) {
    out->mutable_data<int64_t>()[i] = 0;
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

absl::Status ForwardKernel(OpKernelContext& ctx) {
  ctx.set_output(0, ctx.release_input(0));
  return absl::OkStatus();
}

TEST(KernelRegistry, HigherPriorityOverridesTheDefault) {
  ASSERT_TRUE(OpRegistry::Global()
                  .Register({.type = "KernelsTestPrio",
                             .num_inputs = 1,
                             .infer =
                                 [](InferenceContext& c) {
                                   c.SetOutput(c.input_dtypes[0],
                                               c.input_shapes[0]);
                                   return absl::OkStatus();
                                 }})
                  .ok());
  KernelRegistry& r = KernelRegistry::Global();
  ASSERT_TRUE(r.Register({.op = "KernelsTestPrio",
                          .dtype = DType::kInt64,
                          .factory = FunctionKernelFactory(ForwardKernel)})
                  .ok());
  Graph g = Graph::Create();
  Tensor x = ops::Placeholder(DType::kInt64, Shape{2}, In(g));
  Tensor y = *g.AddOp("KernelsTestPrio", {x});
  ExpectArray<int64_t>(RunKernel(y, {Arr<int64_t>({1, 2}, Shape{2})}), Shape{2},
                       {1, 2});
  const KernelDef* fallback = r.Find("KernelsTestPrio", "cpu", DType::kInt64);
  ASSERT_TRUE(r.Register({.op = "KernelsTestPrio",
                          .dtype = DType::kInt64,
                          .factory = FunctionKernelFactory(ZerosNegKernel),
                          .priority = 10,
                          .label = "zeros"})
                  .ok());
  const KernelDef* now = r.Find("KernelsTestPrio", "cpu", DType::kInt64);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->label, "zeros");
  std::vector<const KernelDef*> all =
      r.FindAll("KernelsTestPrio", "cpu", DType::kInt64);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], now);
  EXPECT_EQ(all[1], fallback);
  // A plan compiled now (a new session) uses the override.
  ExpectArray<int64_t>(RunKernel(y, {Arr<int64_t>({1, 2}, Shape{2})}), Shape{2},
                       {0, 0});
}

TEST(KernelRegistry, KeyDTypeIsInputZeroElseOutputZero) {
  Graph g = Graph::Create();
  Tensor x = ops::Placeholder(DType::kInt32, Shape{2}, In(g));
  Tensor c = ops::Cast(x, DType::kFloat64, In(g));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(KernelKeyDType(*c.node(), {DType::kInt32}), DType::kInt32);
  EXPECT_EQ(KernelKeyDType(*x.node(), {}), DType::kInt32);
  Tensor k = ops::Const(NDArray::Scalar(true), In(g));
  EXPECT_EQ(KernelKeyDType(*k.node(), {}), DType::kBool);
}

// ---------------------------------------------------------------------------
// Const, Placeholder, Identity

TEST(Kernels, ConstReturnsItsValueWithoutCopying) {
  Graph g = Graph::Create();
  NDArray value = Arr<int64_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor c = ops::Const(value, In(g));
  absl::StatusOr<NDArray> out = RunKernel(c, {});
  ExpectArray<int64_t>(out, Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(out->SharesBufferWith(value));

  Tensor b = ops::Const(NDArray::Scalar(true), In(g));
  ExpectArray<bool>(RunKernel(b, {}), Shape{}, {true});
}

TEST(Kernels, PlaceholderWithoutAFeedIsInvalidArgument) {
  Graph g = Graph::Create();
  for (DType dt : {DType::kFloat32, DType::kInt64, DType::kBool}) {
    Tensor p = ops::Placeholder(dt, Shape{-1, 2}, In(g));
    ExpectError(RunKernel(p, {}), absl::StatusCode::kInvalidArgument,
                {"this placeholder must be fed"});
  }
}

TEST(Kernels, IdentityForwardsTheBufferForEveryDType) {
  const std::vector<NDArray> inputs = {
      Arr<float>({1.5f, -2}, Shape{2}),
      Arr<double>({3.25}, Shape{1, 1}),
      NDArray::Scalar<int32_t>(-7),
      Arr<int64_t>({1, 2, 3, 4}, Shape{2, 2}),
      Arr<bool>({true, false, true}, Shape{3}),
  };
  for (const NDArray& in : inputs) {
    SCOPED_TRACE(in.DebugString());
    absl::StatusOr<NDArray> out = RunUnary(&ops::Identity, in);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE(out->SharesBufferWith(in));
    EXPECT_TRUE(out->Equals(in));
  }
}

// ---------------------------------------------------------------------------
// Elementwise arithmetic

template <typename T>
void CheckBinarySameShape() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<T>::value)));
  const NDArray a = Arr<T>({6, -4, 9, 0, 7, -7}, Shape{2, 3});
  const NDArray b = Arr<T>({3, 2, -2, 5, -2, 2}, Shape{2, 3});
  const Shape s{2, 3};
  ExpectArray<T>(RunBinary(&ops::Add, a, b), s, {9, -2, 7, 5, 5, -5});
  ExpectArray<T>(RunBinary(&ops::Sub, a, b), s, {3, -6, 11, -5, 9, -9});
  ExpectArray<T>(RunBinary(&ops::Mul, a, b), s, {18, -8, -18, 0, -14, -14});
  ExpectArray<T>(RunBinary(&ops::Maximum, a, b), s, {6, 2, 9, 5, 7, 2});
  if constexpr (std::is_floating_point_v<T>) {
    ExpectArray<T>(RunBinary(&ops::Div, a, b), s, {2, -2, -4.5, 0, -3.5, -3.5});
  } else {
    // Integer division truncates toward zero.
    ExpectArray<T>(RunBinary(&ops::Div, a, b), s, {2, -2, -4, 0, -3, -3});
  }
  // Scalars (the executor's hot path).
  ExpectArray<T>(
      RunBinary(&ops::Add, NDArray::Scalar<T>(2), NDArray::Scalar<T>(3)),
      Shape{}, {5});
}

TEST(Kernels, BinaryOpsOnEqualShapesForEveryNumericDType) {
  CheckBinarySameShape<float>();
  CheckBinarySameShape<double>();
  CheckBinarySameShape<int32_t>();
  CheckBinarySameShape<int64_t>();
}

template <typename T>
void CheckBroadcasting() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<T>::value)));
  const NDArray m = Arr<T>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const NDArray row = Arr<T>({10, 20, 30}, Shape{3});
  // [2,3] + [3] and [3] + [2,3].
  ExpectArray<T>(RunBinary(&ops::Add, m, row), Shape{2, 3},
                 {11, 22, 33, 14, 25, 36});
  ExpectArray<T>(RunBinary(&ops::Sub, row, m), Shape{2, 3},
                 {9, 18, 27, 6, 15, 24});
  // [2,1] + [1,3] -> [2,3].
  const NDArray col = Arr<T>({1, 2}, Shape{2, 1});
  const NDArray row13 = Arr<T>({10, 20, 30}, Shape{1, 3});
  ExpectArray<T>(RunBinary(&ops::Mul, col, row13), Shape{2, 3},
                 {10, 20, 30, 20, 40, 60});
  ExpectArray<T>(RunBinary(&ops::Maximum, col, Arr<T>({0, 1, 2}, Shape{1, 3})),
                 Shape{2, 3}, {1, 1, 2, 2, 2, 2});
  // Scalar + matrix in both orders.
  ExpectArray<T>(RunBinary(&ops::Add, NDArray::Scalar<T>(100), m), Shape{2, 3},
                 {101, 102, 103, 104, 105, 106});
  ExpectArray<T>(RunBinary(&ops::Sub, m, NDArray::Scalar<T>(1)), Shape{2, 3},
                 {0, 1, 2, 3, 4, 5});
  ExpectArray<T>(RunBinary(&ops::Div, NDArray::Scalar<T>(12), m), Shape{2, 3},
                 std::is_floating_point_v<T>
                     ? std::vector<T>{12, 6, 4, 3, T(2.4), 2}
                     : std::vector<T>{12, 6, 4, 3, 2, 2});
  // A one-element operand of higher rank widens the result: [1,1] + [3].
  ExpectArray<T>(RunBinary(&ops::Add, Arr<T>({5}, Shape{1, 1}), row),
                 Shape{1, 3}, {15, 25, 35});
  // Rank 3 against rank 2: [2,1,3] * [2,1] -> [2,2,3].
  const NDArray a3 = Arr<T>({1, 2, 3, 4, 5, 6}, Shape{2, 1, 3});
  const NDArray b2 = Arr<T>({1, -1}, Shape{2, 1});
  ExpectArray<T>(RunBinary(&ops::Mul, a3, b2), Shape{2, 2, 3},
                 {1, 2, 3, -1, -2, -3, 4, 5, 6, -4, -5, -6});
  // Empty arrays broadcast to empty results.
  ExpectArray<T>(RunBinary(&ops::Add, Arr<T>({}, Shape{0, 3}), row),
                 Shape{0, 3}, {});
}

TEST(Kernels, BinaryOpsBroadcastLikeNumpy) {
  CheckBroadcasting<float>();
  CheckBroadcasting<double>();
  CheckBroadcasting<int32_t>();
  CheckBroadcasting<int64_t>();
}

TEST(Kernels, IntegerDivisionByZeroIsInvalidArgument) {
  ExpectError(RunBinary(&ops::Div, Arr<int32_t>({1, 2, 3}, Shape{3}),
                        Arr<int32_t>({1, 0, 1}, Shape{3})),
              absl::StatusCode::kInvalidArgument,
              {"integer division by zero", "int32"});
  ExpectError(RunBinary(&ops::Div, Arr<int64_t>({1, 2, 3}, Shape{3}),
                        NDArray::Scalar<int64_t>(0)),
              absl::StatusCode::kInvalidArgument,
              {"integer division by zero", "int64"});
  // Zero divided by zero too, and through the general broadcast walk.
  ExpectError(RunBinary(&ops::Div, Arr<int32_t>({0, 0}, Shape{2, 1}),
                        Arr<int32_t>({1, 0}, Shape{1, 2})),
              absl::StatusCode::kInvalidArgument, {"integer division by zero"});
}

TEST(Kernels, IntegerDivisionOverflowIsInvalidArgument) {
  constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
  ExpectError(RunBinary(&ops::Div, Arr<int32_t>({4, kMin32}, Shape{2}),
                        Arr<int32_t>({-1, -1}, Shape{2})),
              absl::StatusCode::kInvalidArgument,
              {"integer overflow in division", "int32"});
  ExpectError(RunBinary(&ops::Div, NDArray::Scalar<int64_t>(kMin64),
                        NDArray::Scalar<int64_t>(-1)),
              absl::StatusCode::kInvalidArgument,
              {"integer overflow in division", "int64"});
  // The minimum divided by other values is fine.
  ExpectArray<int32_t>(RunBinary(&ops::Div, NDArray::Scalar<int32_t>(kMin32),
                                 Arr<int32_t>({1, 2, -2}, Shape{3})),
                       Shape{3}, {kMin32, kMin32 / 2, -(kMin32 / 2)});
}

TEST(Kernels, FloatDivisionByZeroFollowsIeee) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ExpectArray<double>(RunBinary(&ops::Div, Arr<double>({1, -1, 0}, Shape{3}),
                                NDArray::Scalar<double>(0)),
                      Shape{3}, {inf, -inf, nan});
  ExpectArray<float>(RunBinary(&ops::Div, NDArray::Scalar<float>(1),
                               NDArray::Scalar<float>(0)),
                     Shape{}, {std::numeric_limits<float>::infinity()});
}

TEST(Kernels, IntegerArithmeticWrapsAroundOnOverflow) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  ExpectArray<int32_t>(RunBinary(&ops::Add, NDArray::Scalar<int32_t>(kMax),
                                 NDArray::Scalar<int32_t>(1)),
                       Shape{}, {kMin});
  ExpectArray<int32_t>(RunBinary(&ops::Sub, NDArray::Scalar<int32_t>(kMin),
                                 NDArray::Scalar<int32_t>(1)),
                       Shape{}, {kMax});
  ExpectArray<int32_t>(RunBinary(&ops::Mul, NDArray::Scalar<int32_t>(kMax),
                                 NDArray::Scalar<int32_t>(2)),
                       Shape{}, {-2});
  ExpectArray<int32_t>(RunUnary(&ops::Neg, NDArray::Scalar<int32_t>(kMin)),
                       Shape{}, {kMin});
}

TEST(Kernels, MaximumPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  ExpectArray<float>(RunBinary(&ops::Maximum, Arr<float>({nan, 1, 2}, Shape{3}),
                               Arr<float>({1, nan, 1}, Shape{3})),
                     Shape{3}, {nan, nan, 2});
}

TEST(Kernels, RunTimeBroadcastMismatchIsInvalidArgumentNamingBothShapes) {
  Graph g = Graph::Create();
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, In(g));
  Tensor y = ops::Placeholder(DType::kFloat32, Shape{3}, In(g));
  Tensor sum = ops::Add(x, y, In(g));
  ASSERT_TRUE(sum.ok()) << sum.status();
  ExpectError(RunKernel(sum, {Arr<float>({1, 2, 3, 4}, Shape{4}),
                              Arr<float>({1, 2, 3}, Shape{3})}),
              absl::StatusCode::kInvalidArgument, {"[4]", "[3]", "broadcast"});

  Tensor m = ops::Placeholder(DType::kInt64, Shape{-1, -1}, In(g));
  Tensor n = ops::Placeholder(DType::kInt64, Shape{2, -1}, In(g));
  Tensor prod = ops::Mul(m, n, In(g));
  ASSERT_TRUE(prod.ok()) << prod.status();
  ExpectError(RunKernel(prod, {Arr<int64_t>({1, 2, 3, 4, 5, 6}, Shape{3, 2}),
                               Arr<int64_t>({1, 2, 3, 4}, Shape{2, 2})}),
              absl::StatusCode::kInvalidArgument, {"[3,2]", "[2,2]"});
  // The same node runs fine on compatible shapes.
  ExpectArray<int64_t>(
      RunKernel(prod, {Arr<int64_t>({1, 2}, Shape{1, 2}),
                       Arr<int64_t>({1, 2, 3, 4}, Shape{2, 2})}),
      Shape{2, 2}, {1, 4, 3, 8});
}

// ---------------------------------------------------------------------------
// Unary ops

template <typename T>
void CheckNegAndRelu() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<T>::value)));
  const NDArray x = Arr<T>({1, -2, 0, 3}, Shape{2, 2});
  ExpectArray<T>(RunUnary(&ops::Neg, x), Shape{2, 2}, {-1, 2, 0, -3});
  ExpectArray<T>(RunUnary(&ops::Relu, x), Shape{2, 2}, {1, 0, 0, 3});
  ExpectArray<T>(RunUnary(&ops::Relu, NDArray::Scalar<T>(-5)), Shape{}, {0});
}

TEST(Kernels, NegAndReluForEveryNumericDType) {
  CheckNegAndRelu<float>();
  CheckNegAndRelu<double>();
  CheckNegAndRelu<int32_t>();
  CheckNegAndRelu<int64_t>();
}

template <typename T>
void CheckSigmoidAndTanh() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<T>::value)));
  const NDArray x = Arr<T>({0, 1, -1, 2, -1000, 1000}, Shape{6});
  // sigmoid(1) = 1 / (1 + e^-1); tanh(1) = (e^2 - 1) / (e^2 + 1).
  ExpectNear<T>(RunUnary(&ops::Sigmoid, x), Shape{6},
                {0.5, 0.7310585786300049, 0.2689414213699951,
                 0.8807970779778823, 0.0, 1.0},
                1e-6);
  ExpectNear<T>(RunUnary(&ops::Tanh, x), Shape{6},
                {0.0, 0.7615941559557649, -0.7615941559557649,
                 0.9640275800758169, -1.0, 1.0},
                1e-6);
}

TEST(Kernels, SigmoidAndTanhForFloatTypes) {
  CheckSigmoidAndTanh<float>();
  CheckSigmoidAndTanh<double>();
}

TEST(Kernels, UnaryOpsKeepShapeOfEmptyArrays) {
  ExpectArray<float>(RunUnary(&ops::Tanh, Arr<float>({}, Shape{0, 4})),
                     Shape{0, 4}, {});
}

// ---------------------------------------------------------------------------
// Large arrays: the parallel paths must match a plain loop.

TEST(Kernels, LargeElementwiseWorkMatchesASequentialLoop) {
  constexpr int kRows = 300, kCols = 250;  // 75000 elements > 32768.
  std::vector<int64_t> av(kRows * kCols), rowv(kCols), colv(kRows);
  for (int i = 0; i < kRows * kCols; ++i) av[i] = i % 1000 - 500;
  for (int j = 0; j < kCols; ++j) rowv[j] = j * 3 - 7;
  for (int i = 0; i < kRows; ++i) colv[i] = i + 1;
  const NDArray a = Arr<int64_t>(av, Shape{kRows, kCols});
  const NDArray row = Arr<int64_t>(rowv, Shape{kCols});
  const NDArray col = Arr<int64_t>(colv, Shape{kRows, 1});

  std::vector<int64_t> same(kRows * kCols), by_row(kRows * kCols),
      by_col(kRows * kCols), outer(kRows * kCols), scalar(kRows * kCols),
      neg(kRows * kCols);
  for (int i = 0; i < kRows; ++i) {
    for (int j = 0; j < kCols; ++j) {
      const int k = i * kCols + j;
      same[k] = av[k] * av[k];
      by_row[k] = av[k] - rowv[j];
      by_col[k] = av[k] / colv[i];
      outer[k] = colv[i] + rowv[j];
      scalar[k] = std::max<int64_t>(av[k], 7);
      neg[k] = -av[k];
    }
  }
  const Shape s{kRows, kCols};
  ExpectArray<int64_t>(RunBinary(&ops::Mul, a, a), s, same);
  ExpectArray<int64_t>(RunBinary(&ops::Sub, a, row), s, by_row);
  ExpectArray<int64_t>(RunBinary(&ops::Div, a, col), s, by_col);
  ExpectArray<int64_t>(
      RunBinary(&ops::Add, col, Arr<int64_t>(rowv, Shape{1, kCols})), s, outer);
  ExpectArray<int64_t>(RunBinary(&ops::Maximum, a, NDArray::Scalar<int64_t>(7)),
                       s, scalar);
  ExpectArray<int64_t>(RunUnary(&ops::Neg, a), s, neg);

  // A zero divisor deep inside a large array is still found.
  std::vector<int64_t> divisor(kRows * kCols, 3);
  divisor[kRows * kCols - 5] = 0;
  ExpectError(RunBinary(&ops::Div, a, Arr<int64_t>(divisor, s)),
              absl::StatusCode::kInvalidArgument, {"integer division by zero"});
}

TEST(Kernels, LargeFloatUnaryAndCastMatchASequentialLoop) {
  constexpr int kN = 100000;
  std::vector<float> xv(kN);
  for (int i = 0; i < kN; ++i) xv[i] = static_cast<float>(i % 200 - 100) / 10;
  const NDArray x = Arr<float>(xv, Shape{kN});
  absl::StatusOr<NDArray> t = RunUnary(&ops::Tanh, x);
  ASSERT_TRUE(t.ok()) << t.status();
  for (int i = 0; i < kN; i += 997) {
    EXPECT_FLOAT_EQ(t->values<float>()[i], std::tanh(xv[i]));
  }
  Graph g = Graph::Create();
  absl::StatusOr<NDArray> c =
      RunKernel(ops::Cast(Feed(g, x), DType::kInt32, In(g)), {x});
  ASSERT_TRUE(c.ok()) << c.status();
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(c->values<int32_t>()[i], static_cast<int32_t>(xv[i])) << i;
  }
}

// ---------------------------------------------------------------------------
// MatMul

template <typename T>
void CheckMatMul() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<T>::value)));
  const NDArray a = Arr<T>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const NDArray b = Arr<T>({7, 8, 9, 10, 11, 12}, Shape{3, 2});
  // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]].
  ExpectArray<T>(RunBinary(&ops::MatMul, a, b), Shape{2, 2},
                 {58, 64, 139, 154});
  // [3,2] x [2,3].
  ExpectArray<T>(RunBinary(&ops::MatMul, b, a), Shape{3, 3},
                 {39, 54, 69, 49, 68, 87, 59, 82, 105});
  // Row vector x column vector, with negatives.
  ExpectArray<T>(RunBinary(&ops::MatMul, Arr<T>({1, -2, 3}, Shape{1, 3}),
                           Arr<T>({4, 5, -6}, Shape{3, 1})),
                 Shape{1, 1}, {-24});
  // Empty inner dimension: a sum of nothing.
  ExpectArray<T>(
      RunBinary(&ops::MatMul, Arr<T>({}, Shape{2, 0}), Arr<T>({}, Shape{0, 3})),
      Shape{2, 3}, {0, 0, 0, 0, 0, 0});
  ExpectArray<T>(RunBinary(&ops::MatMul, Arr<T>({}, Shape{0, 3}), b),
                 Shape{0, 2}, {});
}

TEST(Kernels, MatMulForEveryNumericDType) {
  CheckMatMul<float>();
  CheckMatMul<double>();
  CheckMatMul<int32_t>();
  CheckMatMul<int64_t>();
}

TEST(Kernels, LargeMatMulMatchesANaiveProduct) {
  constexpr int kM = 37, kK = 65, kN = 29;
  std::vector<int64_t> av(kM * kK), bv(kK * kN), cv(kM * kN, 0);
  for (int i = 0; i < kM * kK; ++i) av[i] = i % 13 - 6;
  for (int i = 0; i < kK * kN; ++i) bv[i] = i % 7 - 3;
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      for (int k = 0; k < kK; ++k)
        cv[i * kN + j] += av[i * kK + k] * bv[k * kN + j];
    }
  }
  ExpectArray<int64_t>(RunBinary(&ops::MatMul, Arr<int64_t>(av, Shape{kM, kK}),
                                 Arr<int64_t>(bv, Shape{kK, kN})),
                       Shape{kM, kN}, cv);
}

TEST(Kernels, MatMulInnerMismatchAtRunTimeIsInvalidArgument) {
  Graph g = Graph::Create();
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{2, -1}, In(g));
  Tensor b = ops::Placeholder(DType::kFloat32, Shape{-1, 5}, In(g));
  Tensor c = ops::MatMul(a, b, In(g));
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectError(
      RunKernel(c, {Arr<float>(std::vector<float>(6, 1), Shape{2, 3}),
                    Arr<float>(std::vector<float>(20, 1), Shape{4, 5})}),
      absl::StatusCode::kInvalidArgument,
      {"MatMul inner dimensions differ at run time: [2,3] x [4,5]"});
}

TEST(Kernels, MatMulOfNonMatricesIsInvalidArgument) {
  Graph g = Graph::Create();
  Tensor a = ops::Placeholder(DType::kFloat64, Shape{-1, -1}, In(g));
  Tensor b = ops::Placeholder(DType::kFloat64, Shape{-1, -1}, In(g));
  Tensor c = ops::MatMul(a, b, In(g));
  ASSERT_TRUE(c.ok()) << c.status();
  // A vector never reaches the kernel: the feed is checked against the
  // placeholder's rank first.
  ExpectError(RunKernel(c, {Arr<double>({1, 2, 3}, Shape{3}),
                            Arr<double>({1, 2, 3}, Shape{3, 1})}),
              absl::StatusCode::kInvalidArgument,
              {"fed float64[3]", "is float64[?,?]"});
}

// ---------------------------------------------------------------------------
// Reductions

absl::StatusOr<NDArray> RunReduce(bool mean, const NDArray& x,
                                  std::vector<int64_t> axes) {
  Graph g = Graph::Create();
  Tensor t = mean ? ops::ReduceMean(Feed(g, x), std::move(axes), In(g))
                  : ops::ReduceSum(Feed(g, x), std::move(axes), In(g));
  return RunKernel(t, {x});
}

template <typename T>
void CheckReductions() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<T>::value)));
  const NDArray m = Arr<T>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<T>(RunReduce(false, m, {}), Shape{}, {21});
  ExpectArray<T>(RunReduce(false, m, {0, 1}), Shape{}, {21});
  ExpectArray<T>(RunReduce(false, m, {0}), Shape{3}, {5, 7, 9});
  ExpectArray<T>(RunReduce(false, m, {1}), Shape{2}, {6, 15});
  ExpectArray<T>(RunReduce(false, m, {-1}), Shape{2}, {6, 15});
  ExpectArray<T>(RunReduce(false, m, {-2}), Shape{3}, {5, 7, 9});
  // Mean: 21/6 = 3.5; columns 2.5, 3.5, 4.5; rows 2, 5.
  if constexpr (std::is_floating_point_v<T>) {
    ExpectArray<T>(RunReduce(true, m, {}), Shape{}, {3.5});
    ExpectArray<T>(RunReduce(true, m, {0}), Shape{3}, {2.5, 3.5, 4.5});
  } else {  // Truncates toward zero.
    ExpectArray<T>(RunReduce(true, m, {}), Shape{}, {3});
    ExpectArray<T>(RunReduce(true, m, {0}), Shape{3}, {2, 3, 4});
    ExpectArray<T>(RunReduce(true, Arr<T>({-1, -2, -4}, Shape{3}), {}), Shape{},
                   {-2});  // -7 / 3 = -2.33 -> -2.
  }
  ExpectArray<T>(RunReduce(true, m, {1}), Shape{2}, {2, 5});

  // Rank 3, values 0..23 in shape [2,3,4].
  std::vector<T> v(24);
  for (int i = 0; i < 24; ++i) v[i] = static_cast<T>(i);
  const NDArray c = Arr<T>(v, Shape{2, 3, 4});
  // Middle axis (kept, reduced, kept): [[12,15,18,21],[48,51,54,57]].
  ExpectArray<T>(RunReduce(false, c, {1}), Shape{2, 4},
                 {12, 15, 18, 21, 48, 51, 54, 57});
  // Outer and inner axes (reduced, kept, reduced): per middle index j,
  // sum over i,k of 12i + 4j + k = 8*4j + (0+1+2+3)*2 + 12*4 = 16j*2 + 60.
  ExpectArray<T>(RunReduce(false, c, {0, 2}), Shape{3}, {60, 92, 124});
  ExpectArray<T>(RunReduce(false, c, {-3, -1}), Shape{3}, {60, 92, 124});
  // Leading two axes: column sums of a [6,4] view.
  ExpectArray<T>(RunReduce(false, c, {0, 1}), Shape{4}, {60, 66, 72, 78});
  // Trailing two axes: row sums of a [2,12] view.
  ExpectArray<T>(RunReduce(false, c, {1, 2}), Shape{2}, {66, 210});
  ExpectArray<T>(RunReduce(true, c, {1, 2}), Shape{2},
                 {static_cast<T>(5.5), static_cast<T>(17.5)});  // ints: 5, 17.
  // Size-1 axes, and a scalar input.
  ExpectArray<T>(RunReduce(false, Arr<T>({1, 2, 3}, Shape{1, 3, 1}), {0, 2}),
                 Shape{3}, {1, 2, 3});
  ExpectArray<T>(RunReduce(false, NDArray::Scalar<T>(4), {}), Shape{}, {4});
  ExpectArray<T>(RunReduce(true, NDArray::Scalar<T>(4), {}), Shape{}, {4});
  // Sum over zero elements is 0.
  ExpectArray<T>(RunReduce(false, Arr<T>({}, Shape{0, 2}), {0}), Shape{2},
                 {0, 0});
  ExpectArray<T>(RunReduce(false, Arr<T>({}, Shape{2, 0}), {0}), Shape{0}, {});
}

TEST(Kernels, ReductionsOverVariousAxesForEveryNumericDType) {
  CheckReductions<float>();
  CheckReductions<double>();
  CheckReductions<int32_t>();
  CheckReductions<int64_t>();
}

TEST(Kernels, ReduceMeanOverZeroElementsIsNaNForFloats) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ExpectArray<double>(RunReduce(true, Arr<double>({}, Shape{0}), {}), Shape{},
                      {nan});
  ExpectArray<float>(RunReduce(true, Arr<float>({}, Shape{0, 2}), {0}),
                     Shape{2},
                     {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::quiet_NaN()});
}

TEST(Kernels, ReduceMeanOverZeroElementsIsInvalidArgumentForIntegers) {
  ExpectError(RunReduce(true, Arr<int32_t>({}, Shape{0}), {}),
              absl::StatusCode::kInvalidArgument,
              {"ReduceMean", "int32", "zero elements", "[0]"});
  ExpectError(RunReduce(true, Arr<int64_t>({}, Shape{0, 3}), {0}),
              absl::StatusCode::kInvalidArgument, {"zero elements", "[0,3]"});
  // No output element, so nothing to average: fine.
  ExpectArray<int64_t>(RunReduce(true, Arr<int64_t>({}, Shape{3, 0}), {0}),
                       Shape{0}, {});
}

TEST(Kernels, IntegerReduceSumAccumulatesWithoutOverflowingMidway) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  // The mean of [max, max] is max even though the int32 sum overflows.
  ExpectArray<int32_t>(
      RunReduce(true, Arr<int32_t>({kMax, kMax}, Shape{2}), {}), Shape{},
      {kMax});
  // max + 1 - 1 is max.
  ExpectArray<int32_t>(
      RunReduce(false, Arr<int32_t>({kMax, 1, -1}, Shape{3}), {}), Shape{},
      {kMax});
}

TEST(Kernels, LargeReductionsMatchASequentialLoop) {
  constexpr int kA = 40, kB = 50, kC = 30;  // 60000 elements.
  std::vector<int64_t> v(kA * kB * kC);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<int64_t>(i % 101) - 50;
  const NDArray x = Arr<int64_t>(v, Shape{kA, kB, kC});
  auto at = [&](int a, int b, int c) { return v[(a * kB + b) * kC + c]; };

  int64_t total = 0;
  std::vector<int64_t> s0(kB * kC, 0), s2(kA * kB, 0), s02(kB, 0),
      s1(kA * kC, 0);
  for (int a = 0; a < kA; ++a) {
    for (int b = 0; b < kB; ++b) {
      for (int c = 0; c < kC; ++c) {
        total += at(a, b, c);
        s0[b * kC + c] += at(a, b, c);
        s2[a * kB + b] += at(a, b, c);
        s02[b] += at(a, b, c);
        s1[a * kC + c] += at(a, b, c);
      }
    }
  }
  ExpectArray<int64_t>(RunReduce(false, x, {}), Shape{}, {total});
  ExpectArray<int64_t>(RunReduce(false, x, {0}), Shape{kB, kC}, s0);
  ExpectArray<int64_t>(RunReduce(false, x, {2}), Shape{kA, kB}, s2);
  ExpectArray<int64_t>(RunReduce(false, x, {0, 2}), Shape{kB}, s02);
  ExpectArray<int64_t>(RunReduce(false, x, {1}), Shape{kA, kC}, s1);

  // Floating sums are deterministic run to run.
  std::vector<float> f(200000);
  for (size_t i = 0; i < f.size(); ++i) f[i] = 0.1f * static_cast<float>(i % 7);
  const NDArray fx = Arr<float>(f, Shape{200000});
  absl::StatusOr<NDArray> first = RunReduce(false, fx, {});
  ASSERT_TRUE(first.ok()) << first.status();
  double expected = 0;
  for (float e : f) expected += e;
  EXPECT_NEAR(first->values<float>()[0], expected, 1e-3 * expected);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(RunReduce(false, fx, {})->Equals(*first));
  }
}

// ---------------------------------------------------------------------------
// Reshape

TEST(Kernels, ReshapeSharesTheBufferAndResolvesMinusOne) {
  const NDArray x = Arr<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Graph g = Graph::Create();
  Tensor in = Feed(g, x);
  absl::StatusOr<NDArray> r =
      RunKernel(ops::Reshape(in, Shape{3, 2}, In(g)), {x});
  ExpectArray<int32_t>(r, Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(r->SharesBufferWith(x));

  r = RunKernel(ops::Reshape(in, Shape{-1}, In(g)), {x});
  ExpectArray<int32_t>(r, Shape{6}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(r->SharesBufferWith(x));

  r = RunKernel(ops::Reshape(in, Shape{1, -1, 2}, In(g)), {x});
  ExpectArray<int32_t>(r, Shape{1, 3, 2}, {1, 2, 3, 4, 5, 6});

  const NDArray b = Arr<bool>({true, false}, Shape{2});
  r = RunKernel(ops::Reshape(Feed(g, b), Shape{2, 1}, In(g)), {b});
  ExpectArray<bool>(r, Shape{2, 1}, {true, false});
  EXPECT_TRUE(r->SharesBufferWith(b));

  // A scalar to [1,1] and back.
  const NDArray s = NDArray::Scalar<double>(2.5);
  ExpectArray<double>(
      RunKernel(ops::Reshape(Feed(g, s), Shape{1, 1}, In(g)), {s}), Shape{1, 1},
      {2.5});
}

TEST(Kernels, ReshapeResolvesMinusOneAgainstTheRunTimeCount) {
  Graph g = Graph::Create();
  Tensor in = ops::Placeholder(DType::kFloat32, Shape{-1}, In(g));
  Tensor r = ops::Reshape(in, Shape{2, -1}, In(g));
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectArray<float>(RunKernel(r, {Arr<float>({1, 2, 3, 4, 5, 6}, Shape{6})}),
                     Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  ExpectArray<float>(RunKernel(r, {Arr<float>({1, 2}, Shape{2})}), Shape{2, 1},
                     {1, 2});
}

TEST(Kernels, ReshapeWithWrongElementCountAtRunTimeIsInvalidArgument) {
  Graph g = Graph::Create();
  Tensor in = ops::Placeholder(DType::kInt64, Shape{-1}, In(g));
  Tensor fixed = ops::Reshape(in, Shape{2, 2}, In(g));
  Tensor open = ops::Reshape(in, Shape{2, -1}, In(g));
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  ASSERT_TRUE(open.ok()) << open.status();
  const NDArray five = Arr<int64_t>({1, 2, 3, 4, 5}, Shape{5});
  ExpectError(RunKernel(fixed, {five}), absl::StatusCode::kInvalidArgument,
              {"cannot reshape [5] (5 elements) to [2,2] (4 elements)"});
  ExpectError(RunKernel(open, {five}), absl::StatusCode::kInvalidArgument,
              {"cannot reshape [5]", "[2,?]", "not a multiple of 2"});
}

// ---------------------------------------------------------------------------
// Cast

absl::StatusOr<NDArray> RunCast(const NDArray& x, DType to) {
  Graph g = Graph::Create();
  return RunKernel(ops::Cast(Feed(g, x), to, In(g)), {x});
}

// `v` as a T (float16 rounded, bool v != 0).
template <typename T>
T Val(double v) {
  if constexpr (std::is_same_v<T, Float16>) {
    return DoubleToFloat16(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    return static_cast<T>(v);
  }
}

// Casts {0, 1, 3} of type From to every dtype.
template <typename From>
void CheckCastFrom() {
  SCOPED_TRACE(std::string(DTypeName(DTypeOf<From>::value)));
  constexpr bool from_bool = std::is_same_v<From, bool>;
  const NDArray x =
      Arr<From>({Val<From>(0), Val<From>(1), Val<From>(3)}, Shape{3});
  const double three = from_bool ? 1 : 3;
  auto expect = [&]<typename To>() {
    SCOPED_TRACE(std::string(DTypeName(DTypeOf<To>::value)));
    ExpectArray<To>(RunCast(x, DTypeOf<To>::value), Shape{3},
                    {Val<To>(0), Val<To>(1), Val<To>(three)});
  };
  expect.template operator()<float>();
  expect.template operator()<double>();
  expect.template operator()<int32_t>();
  expect.template operator()<int64_t>();
  expect.template operator()<bool>();
  expect.template operator()<uint8_t>();
  expect.template operator()<int8_t>();
  expect.template operator()<Float16>();
  // Casting to the same dtype forwards the buffer.
  absl::StatusOr<NDArray> same = RunCast(x, DTypeOf<From>::value);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->SharesBufferWith(x));
}

TEST(Kernels, CastBetweenEveryPairOfDTypes) {
  CheckCastFrom<float>();
  CheckCastFrom<double>();
  CheckCastFrom<int32_t>();
  CheckCastFrom<int64_t>();
  CheckCastFrom<bool>();
  CheckCastFrom<uint8_t>();
  CheckCastFrom<int8_t>();
  CheckCastFrom<Float16>();
}

// The storage dtypes: float to uint8/int8 saturates (NaN to 0), integers
// wrap into them, float16 rounds to nearest even and overflows to inf.
TEST(Kernels, CastToAndFromStorageDTypes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const NDArray f = Arr<float>({300, -5, nan, 2.7f, 255.9f, -0.5f}, Shape{6});
  ExpectArray<uint8_t>(RunCast(f, DType::kUInt8), Shape{6},
                       {255, 0, 0, 2, 255, 0});
  ExpectArray<int8_t>(RunCast(f, DType::kInt8), Shape{6},
                      {127, -5, 0, 2, 127, 0});
  const NDArray i = Arr<int32_t>({200, -129, 256, -1}, Shape{4});
  ExpectArray<int8_t>(RunCast(i, DType::kInt8), Shape{4}, {-56, 127, 0, -1});
  ExpectArray<uint8_t>(RunCast(i, DType::kUInt8), Shape{4}, {200, 127, 0, 255});
  const NDArray h = Arr<float>({65520, 65504, 1e-8f, 0.1f, -inf}, Shape{5});
  ExpectArray<Float16>(RunCast(h, DType::kFloat16), Shape{5},
                       {Float16{0x7c00}, Float16{0x7bff}, Float16{0x0000},
                        Float16{0x2e66}, Float16{0xfc00}});
  const NDArray h2 = Arr<Float16>({FloatToFloat16(2.5f), FloatToFloat16(inf),
                                   FloatToFloat16(nan), Float16{0x8000}},
                                  Shape{4});
  ExpectArray<int32_t>(RunCast(h2, DType::kInt32), Shape{4},
                       {2, std::numeric_limits<int32_t>::max(), 0, 0});
  ExpectArray<bool>(RunCast(h2, DType::kBool), Shape{4},
                    {true, true, true, false});
}

// Data-movement ops take the storage dtypes; arithmetic refuses them at
// build time, naming the dtype.
TEST(Kernels, StorageDTypesMoveButAreNotComputedOn) {
  Graph g = Graph::Create();
  const NDArray a = Arr<uint8_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor x = Feed(g, a);
  ExpectArray<uint8_t>(RunKernel(ops::Transpose(x, {1, 0}, In(g)), {a}),
                       Shape{3, 2}, {1, 4, 2, 5, 3, 6});
  const NDArray h = Arr<Float16>({Float16{1}, Float16{2}}, Shape{2});
  Tensor hx = Feed(g, h), hy = Feed(g, h);
  ExpectArray<Float16>(RunKernel(ops::Concat({hx, hy}, 0, In(g)), {h, h}),
                       Shape{4},
                       {Float16{1}, Float16{2}, Float16{1}, Float16{2}});
  testing::ExpectBuildError(ops::Add(x, x, In(g)), ErrorKind::kDType,
                            "input 0 is uint8[2,3]; this op takes float32, "
                            "float64, int32 or int64");
}

TEST(Kernels, CastFloatToIntTruncatesSaturatesAndMapsNaNToZero) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const NDArray x =
      Arr<float>({2.7f, -2.7f, 0.5f, 1e10f, -1e10f, nan}, Shape{2, 3});
  ExpectArray<int32_t>(RunCast(x, DType::kInt32), Shape{2, 3},
                       {2, -2, 0, std::numeric_limits<int32_t>::max(),
                        std::numeric_limits<int32_t>::min(), 0});
  ExpectArray<int64_t>(RunCast(x, DType::kInt64), Shape{2, 3},
                       {2, -2, 0, 10000000000, -10000000000, 0});
  // To bool is x != 0 (NaN != 0).
  ExpectArray<bool>(RunCast(x, DType::kBool), Shape{2, 3},
                    {true, true, true, true, true, true});
  ExpectArray<bool>(RunCast(Arr<int32_t>({0, -1, 2}, Shape{3}), DType::kBool),
                    Shape{3}, {false, true, true});
  // Wide integers lose precision in float32 but not in float64.
  ExpectArray<double>(
      RunCast(NDArray::Scalar<int64_t>(int64_t{1} << 53), DType::kFloat64),
      Shape{}, {9007199254740992.0});
  ExpectArray<int32_t>(
      RunCast(NDArray::Scalar<int64_t>(int64_t{1} << 32 | 5), DType::kInt32),
      Shape{}, {5});
}

}  // namespace
}  // namespace weft
