// Function and control-flow benchmarks: the cost of ops::Call against the
// same ops built directly (BM_Call_Inline, BM_Direct), one While iteration
// of a trivial body (BM_While_Iteration, counter ns_per_iteration), and a
// Cond (BM_Cond). Run with -c opt:
//   bazel run -c opt //tools/bench:function_bench
#include <cstdint>
#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "weft.h"

namespace weft {
namespace {

TensorSpec F32(std::string name) {
  return TensorSpec{DType::kFloat32, Shape{4}, std::move(name)};
}

std::vector<Tensor> Body(const std::vector<Tensor>& a) {
  return {ops::Relu(ops::Add(ops::Mul(a[0], a[0]), a[0]))};
}

void BM_Direct(benchmark::State& state) {
  Graph g = Graph::Create("direct");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{4});
  Tensor y = Body({x})[0];
  auto session = *Session::Create(g);
  const NDArray v = NDArray::Vector<float>({1, 2, 3, 4});
  for (auto _ : state) {
    benchmark::DoNotOptimize(session->Run({{x, v}}, {y}));
  }
}
BENCHMARK(BM_Direct)->UseRealTime();

void BM_Call_Inline(benchmark::State& state) {
  Graph g = Graph::Create("call");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{4});
  Function f = *Function::Trace("f", {F32("x")}, Body);
  Tensor y = ops::Call(f, {x})[0];
  auto session = *Session::Create(g);
  const NDArray v = NDArray::Vector<float>({1, 2, 3, 4});
  for (auto _ : state) {
    benchmark::DoNotOptimize(session->Run({{x, v}}, {y}));
  }
}
BENCHMARK(BM_Call_Inline)->UseRealTime();

void BM_While_Iteration(benchmark::State& state) {
  const int64_t n = state.range(0);
  Graph g = Graph::Create("loop");
  GraphScope scope(g);
  Tensor limit = ops::Placeholder(DType::kInt64, Shape{});
  TensorSpec i{DType::kInt64, Shape{}, "i"};
  Function cond = *Function::Trace(
      "cond", {i},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Less(a[0], limit)};
      },
      FunctionOptions{.captures = {limit}});
  Function body = *Function::Trace(
      "body", {i}, [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Add(a[0], ops::Const(NDArray::Scalar<int64_t>(1)))};
      });
  Tensor y =
      ops::While(cond, body, {ops::Const(NDArray::Scalar<int64_t>(0))})[0];
  auto session = *Session::Create(g);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        session->Run({{limit, NDArray::Scalar<int64_t>(n)}}, {y}));
  }
  state.counters["ns_per_iteration"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(n),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_While_Iteration)->Arg(1000)->UseRealTime();

void BM_Cond(benchmark::State& state) {
  Graph g = Graph::Create("cond");
  GraphScope scope(g);
  Tensor p = ops::Placeholder(DType::kBool, Shape{});
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{4});
  Function a = *Function::Trace("a", {F32("x")}, Body);
  Function b = *Function::Trace(
      "b", {F32("x")}, [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        return {ops::Neg(v[0])};
      });
  Tensor y = ops::Cond(p, a, b, {x})[0];
  auto session = *Session::Create(g);
  const NDArray v = NDArray::Vector<float>({1, 2, 3, 4});
  bool flip = false;
  for (auto _ : state) {
    flip = !flip;
    benchmark::DoNotOptimize(
        session->Run({{p, NDArray::Scalar<bool>(flip)}, {x, v}}, {y}));
  }
}
BENCHMARK(BM_Cond)->UseRealTime();

}  // namespace
}  // namespace weft
