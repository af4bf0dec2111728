// test_models.h — the small models and helpers the distributed tests
// share: a cluster's SessionOptions, the two-layer MLP split over two
// devices, and its input.
#ifndef WEFT_TESTS_DISTRIBUTED_TEST_MODELS_H_
#define WEFT_TESTS_DISTRIBUTED_TEST_MODELS_H_

#include <string>
#include <vector>

#include "distributed/server.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "runtime/session.h"

namespace weft::distributed_testing {

inline constexpr char kTask0[] = "/job:worker/task:0/cpu:0";
inline constexpr char kTask1[] = "/job:worker/task:1/cpu:0";

// A Session's options for job "worker" at `addresses`.
inline SessionOptions ClusterOptions(
    const std::vector<std::string>& addresses) {
  SessionOptions o;
  o.cluster = *ClusterSpec::Create({{"worker", addresses}});
  return o;
}

// x (fed) -> h = relu(x @ w1) on d0 -> y = h @ w2 on d1 -> fetched.
struct Mlp {
  Graph g = Graph::Create("mlp");
  Tensor x, y;
  Mlp(const std::string& d0, const std::string& d1) {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{2, 3}, {.name = "x"});
    Tensor w1 =
        ops::Const(*NDArray::Create<float>({1, -2, 3, 4, 5, -6}, Shape{3, 2}),
                   {.name = "w1", .device = d0});
    Tensor h = ops::Relu(ops::MatMul(x, w1, {.name = "mm1", .device = d0}),
                         {.name = "h", .device = d0});
    Tensor w2 = ops::Const(*NDArray::Create<float>({0.5f, -1}, Shape{2, 1}),
                           {.name = "w2", .device = d1});
    y = ops::MatMul(h, w2, {.name = "y", .device = d1});
  }
};

// A distinct input per `offset`.
inline NDArray MlpInput(float offset) {
  return *NDArray::Create<float>({1 + offset, 2, 3, -1, 0.5f * offset, 2},
                                 Shape{2, 3});
}

}  // namespace weft::distributed_testing

#endif  // WEFT_TESTS_DISTRIBUTED_TEST_MODELS_H_
