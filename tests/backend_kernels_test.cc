// The backend kernels (OpenBLAS MatMul, Highway elementwise) registered
// above the defaults: plans pick them, and their results agree with the
// default kernels they fall back to, through the real run path.
#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "kernels/kernel.h"
#include "runtime/session.h"
#include "tests/kernel_test_util.h"

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
  // Same shape (SIMD), scalar-like (SIMD), row broadcast (fallback).
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
