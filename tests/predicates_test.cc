// Tests for the predicates control flow needs: the comparisons, the logical
// ops and Select — build-time dtype and shape checks, and their kernels for
// every numeric dtype (and bool where allowed), run through the real
// compile/construct/compute path (tests/testing/kernel_harness.h).
#include <cmath>
#include <cstdint>
#include <limits>
#include <source_location>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "tests/testing/kernel_harness.h"
#include "tests/testing/run_helpers.h"

namespace weft {
namespace {

using testing::Arr;
using testing::BinaryBuilder;
using ::testing::ElementsAre;
using testing::Feed;
using ::testing::HasSubstr;
using testing::In;
using testing::RunBinary;
using testing::ToVector;

template <typename T>
void CheckComparisons() {
  const NDArray a = Arr<T>({1, 2, 3}, Shape{3});
  const NDArray b = Arr<T>({2, 2, 2}, Shape{3});
  struct Case {
    BinaryBuilder op;
    std::vector<bool> want;
  };
  const Case cases[] = {
      {ops::Less, {true, false, false}},
      {ops::LessEqual, {true, true, false}},
      {ops::Greater, {false, false, true}},
      {ops::GreaterEqual, {false, true, true}},
      {ops::Equal, {false, true, false}},
      {ops::NotEqual, {true, false, true}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<NDArray> out = RunBinary(c.op, a, b);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->dtype(), DType::kBool);
    EXPECT_EQ(out->shape(), Shape{3});
    EXPECT_EQ(ToVector<bool>(*out), c.want) << DTypeName(DTypeOf<T>::value);
  }
}

TEST(Predicates, ComparisonsForEveryNumericDType) {
  CheckComparisons<float>();
  CheckComparisons<double>();
  CheckComparisons<int32_t>();
  CheckComparisons<int64_t>();
}

TEST(Predicates, ComparisonsBroadcast) {
  // [2,1] vs [3] -> [2,3]; and a scalar on either side.
  const NDArray a = Arr<int32_t>({1, 3}, Shape{2, 1});
  const NDArray b = Arr<int32_t>({1, 2, 3}, Shape{3});
  absl::StatusOr<NDArray> out = RunBinary(ops::Less, a, b);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), (Shape{2, 3}));
  EXPECT_EQ(ToVector<bool>(*out),
            (std::vector<bool>{false, true, true, false, false, false}));
  out = RunBinary(ops::Greater, NDArray::Scalar<double>(2.0),
                  Arr<double>({1, 2, 3}, Shape{3}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ToVector<bool>(*out), (std::vector<bool>{true, false, false}));
  // [2,1,2] vs [3,1]: a general broadcast with both operands strided.
  const NDArray c = Arr<int64_t>({0, 1, 2, 3}, Shape{2, 1, 2});
  const NDArray d = Arr<int64_t>({0, 1, 2}, Shape{3, 1});
  out = RunBinary(ops::Equal, c, d);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), (Shape{2, 3, 2}));
  // out[i][j][k] = c[i][0][k] == d[j][0]
  std::vector<bool> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) want.push_back(2 * i + k == j);
  EXPECT_EQ(ToVector<bool>(*out), want);
}

TEST(Predicates, NaNComparesUnequal) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const NDArray a = Arr<float>({nan, 1}, Shape{2});
  const NDArray b = Arr<float>({nan, nan}, Shape{2});
  absl::StatusOr<NDArray> eq = RunBinary(ops::Equal, a, b);
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_EQ(ToVector<bool>(*eq), (std::vector<bool>{false, false}));
  absl::StatusOr<NDArray> ne = RunBinary(ops::NotEqual, a, b);
  ASSERT_TRUE(ne.ok()) << ne.status();
  EXPECT_EQ(ToVector<bool>(*ne), (std::vector<bool>{true, true}));
}

TEST(Predicates, EqualityOfBools) {
  const NDArray a = Arr<bool>({true, false, true}, Shape{3});
  const NDArray b = NDArray::Scalar<bool>(true);
  absl::StatusOr<NDArray> eq = RunBinary(ops::Equal, a, b);
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_EQ(ToVector<bool>(*eq), (std::vector<bool>{true, false, true}));
  absl::StatusOr<NDArray> ne = RunBinary(ops::NotEqual, a, b);
  ASSERT_TRUE(ne.ok()) << ne.status();
  EXPECT_EQ(ToVector<bool>(*ne), (std::vector<bool>{false, true, false}));
}

TEST(Predicates, OrderingOfBoolsIsABuildError) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kBool, Shape{2}, In(g));
  Tensor y = ops::Less(x, x, In(g));
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(), HasSubstr("input 0 is bool[2]"));
  EXPECT_THAT(y.status().message(),
              HasSubstr("float32, float64, int32 or int64"));
  ASSERT_TRUE(GetOpErrorInfo(y.status()).has_value());
  EXPECT_EQ(GetOpErrorInfo(y.status())->kind, ErrorKind::kDType);
  EXPECT_EQ(g.num_nodes(), 1);
}

TEST(Predicates, MixedDTypesAndShapesAreBuildErrors) {
  Graph g = Graph::Create("g");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{3}, In(g));
  Tensor i = ops::Placeholder(DType::kInt32, Shape{3}, In(g));
  Tensor y = ops::Equal(f, i, In(g));
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(), HasSubstr("dtype mismatch"));
  Tensor f4 = ops::Placeholder(DType::kFloat32, Shape{4}, In(g));
  Tensor z = ops::GreaterEqual(f, f4, In(g));
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(GetOpErrorInfo(z.status())->kind, ErrorKind::kShape);
  // The output is bool with the broadcast shape.
  Tensor u = ops::Less(f, ops::Placeholder(DType::kFloat32, Shape{2, 1}, In(g)),
                       In(g));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u.dtype(), DType::kBool);
  EXPECT_EQ(u.shape(), (Shape{2, 3}));
}

TEST(Predicates, LogicalOps) {
  const NDArray a = Arr<bool>({true, true, false, false}, Shape{2, 2});
  const NDArray b = Arr<bool>({true, false}, Shape{2});
  absl::StatusOr<NDArray> land = RunBinary(ops::LogicalAnd, a, b);
  ASSERT_TRUE(land.ok()) << land.status();
  EXPECT_EQ(ToVector<bool>(*land),
            (std::vector<bool>{true, false, false, false}));
  absl::StatusOr<NDArray> lor = RunBinary(ops::LogicalOr, a, b);
  ASSERT_TRUE(lor.ok()) << lor.status();
  EXPECT_EQ(ToVector<bool>(*lor), (std::vector<bool>{true, true, true, false}));
  Graph g = Graph::Create("g");
  Tensor x = Feed(g, a);
  absl::StatusOr<NDArray> lnot =
      testing::RunKernel(ops::LogicalNot(x, In(g)), {a});
  ASSERT_TRUE(lnot.ok()) << lnot.status();
  EXPECT_EQ(ToVector<bool>(*lnot),
            (std::vector<bool>{false, false, true, true}));
}

TEST(Predicates, LogicalOpsTakeBoolOnly) {
  Graph g = Graph::Create("g");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{}, In(g));
  Tensor b = ops::Placeholder(DType::kBool, Shape{}, In(g));
  Tensor y = ops::LogicalAnd(b, f, In(g));
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(),
              HasSubstr("input 1 is float32[]; this logical op takes bool"));
  Tensor n = ops::LogicalNot(f, In(g));
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(n.status().message(), HasSubstr("LogicalNot takes bool"));
}

template <typename T>
void CheckSelect() {
  const NDArray c = Arr<bool>({true, false, true}, Shape{3});
  const NDArray a = Arr<T>({1, 2, 3}, Shape{3});
  const NDArray b = Arr<T>({7, 8, 9}, Shape{3});
  Graph g = Graph::Create("g");
  Tensor y = ops::Select(Feed(g, c), Feed(g, a), Feed(g, b), In(g));
  absl::StatusOr<NDArray> out = testing::RunKernel(y, {c, a, b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->values<T>(), ElementsAre(T(1), T(8), T(3)));
}

TEST(Predicates, SelectForEveryDType) {
  CheckSelect<float>();
  CheckSelect<double>();
  CheckSelect<int32_t>();
  CheckSelect<int64_t>();
  const NDArray c = Arr<bool>({true, false}, Shape{2});
  const NDArray a = Arr<bool>({false, false}, Shape{2});
  const NDArray b = Arr<bool>({true, true}, Shape{2});
  Graph g = Graph::Create("g");
  Tensor y = ops::Select(Feed(g, c), Feed(g, a), Feed(g, b), In(g));
  absl::StatusOr<NDArray> out = testing::RunKernel(y, {c, a, b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ToVector<bool>(*out), (std::vector<bool>{false, true}));
}

TEST(Predicates, SelectBroadcasts) {
  // A scalar condition picks a whole operand; a [2,1] condition picks rows.
  Graph g = Graph::Create("g");
  const NDArray a = Arr<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const NDArray b = NDArray::Scalar<int32_t>(0);
  const NDArray scalar = NDArray::Scalar<bool>(false);
  Tensor y = ops::Select(Feed(g, scalar), Feed(g, a), Feed(g, b), In(g));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  absl::StatusOr<NDArray> out = testing::RunKernel(y, {scalar, a, b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->values<int32_t>(), ElementsAre(0, 0, 0, 0, 0, 0));
  const NDArray rows = Arr<bool>({true, false}, Shape{2, 1});
  Tensor z = ops::Select(Feed(g, rows), Feed(g, a), Feed(g, b), In(g));
  out = testing::RunKernel(z, {rows, a, b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->values<int32_t>(), ElementsAre(1, 2, 3, 0, 0, 0));
  // A true scalar condition with a full-shape operand forwards its buffer.
  const NDArray yes = NDArray::Scalar<bool>(true);
  Tensor w = ops::Select(Feed(g, yes), Feed(g, a), Feed(g, b), In(g));
  out = testing::RunKernel(w, {yes, a, b});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->SharesBufferWith(a));
}

TEST(Predicates, SelectBuildErrors) {
  Graph g = Graph::Create("g");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{3}, In(g));
  Tensor i = ops::Placeholder(DType::kInt32, Shape{3}, In(g));
  Tensor c = ops::Placeholder(DType::kBool, Shape{3}, In(g));
  Tensor y = ops::Select(f, f, f, In(g));
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(),
              HasSubstr("Select's condition (input 0) takes bool"));
  y = ops::Select(c, f, i, In(g));
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(), HasSubstr("dtype mismatch"));
  Tensor c4 = ops::Placeholder(DType::kBool, Shape{4}, In(g));
  y = ops::Select(c4, f, f, In(g));
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(GetOpErrorInfo(y.status())->kind, ErrorKind::kShape);
}

TEST(Predicates, LargeInputsRunInParallelChunks) {
  const int64_t n = 100000;
  std::vector<int32_t> av(n), bv(n);
  for (int64_t i = 0; i < n; ++i) {
    av[i] = static_cast<int32_t>(i % 7);
    bv[i] = 3;
  }
  absl::StatusOr<NDArray> out = RunBinary(ops::Less, Arr<int32_t>(av, Shape{n}),
                                          Arr<int32_t>(bv, Shape{n}));
  ASSERT_TRUE(out.ok()) << out.status();
  int64_t count = 0;
  for (bool b : out->values<bool>()) count += b;
  int64_t want = 0;
  for (int64_t i = 0; i < n; ++i) want += (i % 7) < 3;
  EXPECT_EQ(count, want);
}

}  // namespace
}  // namespace weft
