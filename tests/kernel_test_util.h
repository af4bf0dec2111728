// kernel_test_util.h — defines weft::testing::RunKernel, the one harness
// every kernel test uses: it runs one node of a graph through the real path
// (a Session compiles the plan, constructs the node's kernel object, feeds
// the node's inputs and runs Compute), so a test exercises exactly what a
// user's run does rather than re-implementing how the executor calls a
// kernel.
//
//   Graph g = Graph::Create("t");
//   Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
//   absl::StatusOr<std::vector<NDArray>> out =
//       testing::RunKernelOutputs(ops::Split(x, 2, 0, {.graph = g}), {a});
#ifndef WEFT_TESTS_KERNEL_TEST_UTIL_H_
#define WEFT_TESTS_KERNEL_TEST_UTIL_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/graph_impl.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"
#include "runtime/session.h"

namespace weft {
namespace testing {

// Runs the node of `outputs` (tensors of one node; empty is an error) with
// `inputs` fed to the node's data inputs in order (each input is fed at the
// tensor the node reads) and returns every requested output. Build errors
// of `outputs` come back unchanged.
inline absl::StatusOr<std::vector<NDArray>> RunKernelOutputs(
    const std::vector<Tensor>& outputs, std::vector<NDArray> inputs,
    SessionOptions options = {}) {
  if (outputs.empty()) {
    return absl::InvalidArgumentError("RunKernelOutputs: no outputs");
  }
  for (const Tensor& t : outputs) {
    if (!t.ok()) return t.status();
  }
  const Node& node = *outputs[0].node();
  if (inputs.size() != node.inputs().size()) {
    return absl::InvalidArgumentError("RunKernelOutputs: wrong input count");
  }
  Graph g = outputs[0].graph();
  Feeds feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const NodeInput& in = node.inputs()[i];
    feeds.emplace_back(Tensor(g.impl(), g.node(in.node), in.slot),
                       std::move(inputs[i]));
  }
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(g, std::move(options));
  if (!session.ok()) return session.status();
  return (*session)->Run(feeds, outputs);
}

// The same for a node's one output.
inline absl::StatusOr<NDArray> RunKernel(const Tensor& output,
                                         std::vector<NDArray> inputs,
                                         SessionOptions options = {}) {
  absl::StatusOr<std::vector<NDArray>> out =
      RunKernelOutputs({output}, std::move(inputs), std::move(options));
  if (!out.ok()) return out.status();
  return std::move(out->front());
}

}  // namespace testing
}  // namespace weft

#endif  // WEFT_TESTS_KERNEL_TEST_UTIL_H_
