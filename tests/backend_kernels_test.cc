// The backend kernels (OpenBLAS MatMul, Highway elementwise) registered
// above the defaults: plans pick them, and their results agree with the
// default kernels they fall back to, through the real run path.
#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "kernels/kernel.h"
#include "runtime/session.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

NDArray Random(int rows, int cols, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(rows * cols);
  for (float& x : v) x = d(rng);
  return *NDArray::Create<float>(v, Shape{rows, cols});
}

TEST(BackendKernels, PlansPickTheHigherPriorityKernels) {
  EXPECT_EQ(
      KernelRegistry::Global().Find("MatMul", "cpu", DType::kFloat32)->label,
      "openblas");
  EXPECT_EQ(KernelRegistry::Global().Find("Add", "cpu", DType::kFloat64)->label,
            "highway");
  EXPECT_EQ(
      KernelRegistry::Global().Find("MatMul", "cpu", DType::kInt32)->label,
      "eigen");
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{4, 4}, {.graph = g});
  Tensor y = ops::MatMul(a, a, {.name = "mm", .graph = g});
  auto session = *Session::Create(g);
  absl::StatusOr<PlanSummary> plan = session->GetPlan({a}, {y});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->kernels, ::testing::Contains("mm:openblas"));
}

TEST(BackendKernels, GemmMatMulAgreesWithAnExactSum) {
  std::mt19937 rng(1);
  for (auto [m, k, n] :
       {std::tuple{1, 1, 1}, {3, 5, 7}, {64, 33, 17}, {130, 129, 131}}) {
    Graph g = Graph::Create("g");
    Tensor a = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
    Tensor b = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
    Tensor c = ops::MatMul(a, b, {.graph = g});
    NDArray av = Random(m, k, rng), bv = Random(k, n, rng);
    absl::StatusOr<NDArray> out = testing::RunKernel(c, {av, bv});
    ASSERT_TRUE(out.ok()) << out.status();
    auto pa = av.values<float>(), pb = bv.values<float>();
    auto pc = out->values<float>();
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        double sum = 0;
        for (int p = 0; p < k; ++p)
          sum += double(pa[i * k + p]) * pb[p * n + j];
        ASSERT_NEAR(pc[i * n + j], sum, 1e-4) << m << "x" << k << "x" << n;
      }
    }
  }
}

TEST(BackendKernels, FallBackForBroadcastingAndErrors) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
  Tensor b = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
  Tensor s = ops::Add(a, b, {.graph = g});
  std::mt19937 rng(2);
  NDArray x = Random(100, 70, rng), row = Random(1, 70, rng);
  // Same shape, scalar-like and a repeated row: all on the SIMD kernel.
  for (const NDArray& y : {Random(100, 70, rng), Random(1, 1, rng), row}) {
    absl::StatusOr<NDArray> out = testing::RunKernel(s, {x, y});
    ASSERT_TRUE(out.ok()) << out.status();
    auto px = x.values<float>(), py = y.values<float>(),
         po = out->values<float>();
    for (int i = 0; i < 100; ++i) {
      for (int j = 0; j < 70; ++j) {
        const float yv = y.num_elements() == 1   ? py[0]
                         : y.shape().dim(0) == 1 ? py[j]
                                                 : py[i * 70 + j];
        ASSERT_EQ(po[i * 70 + j], px[i * 70 + j] + yv);
      }
    }
  }
  // A run-time shape error still comes from the fallback's checks.
  absl::StatusOr<NDArray> bad = testing::RunKernel(s, {x, Random(3, 4, rng)});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              ::testing::HasSubstr("cannot be broadcast"));
  Tensor mm = ops::MatMul(a, b, {.graph = g});
  absl::StatusOr<NDArray> inner = testing::RunKernel(mm, {x, x});
  ASSERT_FALSE(inner.ok());
  EXPECT_THAT(inner.status().message(),
              ::testing::HasSubstr("inner dimensions"));
}

NDArray RandomOfShape(std::vector<int64_t> dims, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1, 1);
  Shape shape(dims);
  std::vector<float> v(static_cast<size_t>(shape.num_elements()));
  for (float& x : v) x = d(rng);
  return *NDArray::Create<float>(v, shape);
}

// x - y with NumPy broadcasting, for ranks up to 3, the slow way.
std::vector<float> ReferenceSub(const NDArray& x, const NDArray& y,
                                std::vector<int64_t>* out_dims) {
  auto padded = [](const Shape& s) {
    std::vector<int64_t> d(3 - s.rank(), 1);
    for (int i = 0; i < s.rank(); ++i) d.push_back(s.dim(i));
    return d;
  };
  const std::vector<int64_t> dx = padded(x.shape()), dy = padded(y.shape());
  std::vector<int64_t> d(3);
  for (int i = 0; i < 3; ++i) d[i] = std::max(dx[i], dy[i]);
  const int rank = std::max(x.shape().rank(), y.shape().rank());
  out_dims->assign(d.end() - rank, d.end());
  auto px = x.values<float>(), py = y.values<float>();
  std::vector<float> out;
  for (int64_t i = 0; i < d[0]; ++i) {
    for (int64_t j = 0; j < d[1]; ++j) {
      for (int64_t k = 0; k < d[2]; ++k) {
        auto at = [&](const std::vector<int64_t>& s) {
          return ((i % s[0]) * s[1] + j % s[1]) * s[2] + k % s[2];
        };
        out.push_back(px[at(dx)] - py[at(dy)]);
      }
    }
  }
  return out;
}

// The Highway kernel's repeated-row and repeated-column broadcasts (either
// operand repeating; Sub, so the operand order shows) against the
// definition, and the patterns that still fall back to the general loop.
TEST(BackendKernels, RepeatedRowAndColumnBroadcastsMatchTheDefinition) {
  using Dims = std::vector<int64_t>;
  // The last four: per-channel operands over a batch (a leading 1, or a
  // lower rank), as [1,C,1,1] over [N,C,H,W] flattened to rank 3.
  const std::vector<std::pair<Dims, Dims>> cases = {
      {{100, 70}, {70}},         {{100, 70}, {1, 70}},
      {{70}, {100, 70}},         {{1, 70}, {100, 70}},
      {{100, 70}, {100, 1}},     {{100, 1}, {100, 70}},
      {{4, 25, 70}, {25, 70}},   {{4, 25, 70}, {1, 1, 70}},
      {{4, 25, 70}, {4, 25, 1}}, {{4, 25, 1}, {4, 25, 70}},
      {{100, 1}, {1, 70}},       {{4, 1, 70}, {4, 25, 70}},
      {{100, 8}, {8}},           {{300, 1000}, {1000}},
      {{1000, 300}, {1000, 1}},  {{3, 5, 42}, {1, 5, 1}},
      {{1, 5, 1}, {3, 5, 42}},   {{3, 5, 42}, {5, 1}},
      {{5, 1}, {3, 5, 42}}};
  std::mt19937 rng(7);
  for (const auto& [da, db] : cases) {
    SCOPED_TRACE(Shape(da).DebugString() + " - " + Shape(db).DebugString());
    Graph g = Graph::Create("g");
    Tensor a = ops::Placeholder(DType::kFloat32, Shape(da), {.graph = g});
    Tensor b = ops::Placeholder(DType::kFloat32, Shape(db), {.graph = g});
    NDArray x = RandomOfShape(da, rng), y = RandomOfShape(db, rng);
    absl::StatusOr<NDArray> out =
        testing::RunKernel(ops::Sub(a, b, {.graph = g}), {x, y});
    ASSERT_TRUE(out.ok()) << out.status();
    Dims want_dims;
    const std::vector<float> want = ReferenceSub(x, y, &want_dims);
    EXPECT_EQ(out->shape(), Shape(want_dims));
    auto got = out->values<float>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
  }
  // Equal counts, the second of higher rank: the output takes its shape.
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{2, 3, 70}, {.graph = g});
  Tensor b =
      ops::Placeholder(DType::kFloat32, Shape{1, 2, 3, 70}, {.graph = g});
  NDArray x = RandomOfShape({2, 3, 70}, rng),
          y = RandomOfShape({1, 2, 3, 70}, rng);
  absl::StatusOr<NDArray> out =
      testing::RunKernel(ops::Sub(a, b, {.graph = g}), {x, y});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), (Shape{1, 2, 3, 70}));
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    ASSERT_EQ(out->values<float>()[i],
              x.values<float>()[i] - y.values<float>()[i]);
  }
}

TEST(BackendKernels, UnaryTranscendentalsWithinBounds) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kFloat64, Shape{-1}, {.graph = g});
  Tensor t = ops::Tanh(a, {.graph = g});
  Tensor s = ops::Sigmoid(a, {.graph = g});
  std::vector<double> v;
  for (int i = -500; i <= 500; ++i) v.push_back(i * 0.05);
  NDArray x = NDArray::Vector<double>(v);
  absl::StatusOr<NDArray> th = testing::RunKernel(t, {x});
  absl::StatusOr<NDArray> sg = testing::RunKernel(s, {x});
  ASSERT_TRUE(th.ok() && sg.ok());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_NEAR(th->values<double>()[i], std::tanh(v[i]), 1e-14);
    EXPECT_NEAR(sg->values<double>()[i], 1 / (1 + std::exp(-v[i])), 1e-14);
  }
}

}  // namespace
}  // namespace weft
