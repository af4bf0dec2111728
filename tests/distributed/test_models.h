// test_models.h — the small models and helpers the distributed tests
// share: a cluster's SessionOptions, the two-layer MLP split over two
// devices, its input, and the MLP on a cluster beside its in-process
// reference.
#ifndef WEFT_TESTS_DISTRIBUTED_TEST_MODELS_H_
#define WEFT_TESTS_DISTRIBUTED_TEST_MODELS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// The MLP with its layers on `d0` and `d1` of the cluster at `addresses`,
// beside the same MLP on this process's cpu:0: the reference a cluster run
// must equal bit for bit.
struct SplitMlp {
  SplitMlp(const std::vector<std::string>& addresses, const std::string& d0,
           const std::string& d1)
      : remote(d0, d1), local("cpu:0", "cpu:0") {
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::Create(remote.g, ClusterOptions(addresses));
    absl::StatusOr<std::unique_ptr<Session>> r = Session::Create(local.g);
    if (!s.ok()) {
      status = s.status();
    } else if (!r.ok()) {
      status = r.status();
    } else {
      session = *std::move(s);
      reference = *std::move(r);
    }
  }

  struct Result {
    absl::Status status;    // The first of the two runs' errors.
    bool equal = false;     // Both ran and their results are equal.
    std::string got, want;  // Both results, when they differ.
  };
  // Runs the cluster's MLP and the reference on MlpInput(offset).
  Result Run(float offset) const {
    Result out;
    absl::StatusOr<std::vector<NDArray>> got =
        session->Run({{remote.x, MlpInput(offset)}}, {remote.y});
    absl::StatusOr<std::vector<NDArray>> want =
        reference->Run({{local.x, MlpInput(offset)}}, {local.y});
    out.status = !got.ok() ? got.status() : want.status();
    if (!out.status.ok()) return out;
    out.equal = (*got)[0].Equals((*want)[0]);
    if (!out.equal) {
      out.got = (*got)[0].DebugString();
      out.want = (*want)[0].DebugString();
    }
    return out;
  }

  Mlp remote, local;
  absl::Status status;  // Of creating the two sessions.
  std::unique_ptr<Session> session, reference;
};

}  // namespace weft::distributed_testing

#endif  // WEFT_TESTS_DISTRIBUTED_TEST_MODELS_H_
