// kernel_harness.h — the one harness every kernel test uses. RunKernel
// runs one node of a graph through the real path (a Session compiles the
// plan, constructs the node's kernel object, feeds the node's inputs and
// runs Compute), so a test exercises exactly what a user's run does rather
// than re-implementing how the executor calls a kernel. RunUnary and
// RunBinary build the node too (an op builder over placeholders of the
// inputs); Arr, Feed and In build inputs; ExpectArray, ExpectNear and
// ExpectError check the result; ExpectBuildError and ExpectShape check what
// an op builder returned.
//
//   Graph g = Graph::Create("t");
//   Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
//   absl::StatusOr<std::vector<NDArray>> out =
//       testing::RunKernelOutputs(ops::Split(x, 2, 0, {.graph = g}), {a});
//   testing::ExpectArray<int32_t>(
//       testing::RunBinary(&ops::Add, a, b), Shape{2}, {4, 6});
#ifndef WEFT_TESTS_TESTING_KERNEL_HARNESS_H_
#define WEFT_TESTS_TESTING_KERNEL_HARNESS_H_

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
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
    feeds.emplace_back(g.output(*g.node(in.node), in.slot),
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

// Small helpers shared by the kernel tests.

// Options placing an op in `g`.
inline OpOptions In(const Graph& g) { return OpOptions{.graph = g}; }

// An array of `values` with `shape` (a failed test on a bad shape).
template <typename T>
NDArray Arr(const std::vector<T>& values, Shape shape) {
  absl::StatusOr<NDArray> a = NDArray::Create<T>(values, std::move(shape));
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *a : NDArray();
}

// A placeholder in `g` of `a`'s dtype and shape.
inline Tensor Feed(const Graph& g, const NDArray& a) {
  return ops::Placeholder(a.dtype(), a.shape(), In(g));
}

// The checks ExpectNear and ExpectArray share: `result` is OK, of T's
// dtype and `shape`, with `size` elements. Its values, or an empty span
// (after recording the failure) when it is not OK or has another size.
template <typename T>
absl::Span<const T> CheckedResultValues(const absl::StatusOr<NDArray>& result,
                                        const Shape& shape, size_t size) {
  if (!result.ok()) {
    ADD_FAILURE() << result.status();
    return {};
  }
  EXPECT_EQ(result->dtype(), DTypeOf<T>::value);
  EXPECT_EQ(result->shape(), shape) << result->shape().DebugString();
  absl::Span<const T> v = result->values<T>();
  if (v.size() != size) {
    ADD_FAILURE() << "got " << v.size() << " elements, expected " << size;
    return {};
  }
  return v;
}

// Checks dtype, shape, and each value within max(abs_tolerance,
// rel_tolerance * |expected|); an expected NaN must be NaN and an
// expected infinity must be met exactly.
template <typename T>
void ExpectNear(const absl::StatusOr<NDArray>& result, const Shape& shape,
                const std::vector<double>& expected, double abs_tolerance,
                double rel_tolerance = 0) {
  const absl::Span<const T> v =
      CheckedResultValues<T>(result, shape, expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isinf(expected[i]) || std::isnan(expected[i])) {
      EXPECT_EQ(std::isnan(v[i]), std::isnan(expected[i])) << "element " << i;
      if (std::isinf(expected[i])) {
        EXPECT_EQ(v[i], expected[i]);
      }
      continue;
    }
    EXPECT_NEAR(v[i], expected[i],
                std::max(abs_tolerance, rel_tolerance * std::abs(expected[i])))
        << "element " << i;
  }
}

// Checks dtype, shape and exact values (NaN matches NaN).
template <typename T>
void ExpectArray(const absl::StatusOr<NDArray>& result, const Shape& shape,
                 const std::vector<T>& expected) {
  const absl::Span<const T> v =
      CheckedResultValues<T>(result, shape, expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(v[i])) << "element " << i << " is " << v[i];
        continue;
      }
    }
    EXPECT_EQ(v[i], expected[i]) << "element " << i;
  }
}

// The signatures of the one- and two-input op builders (ops::Neg, ops::Add,
// ...), for the helpers below and tests that loop over builders.
using UnaryBuilder = Tensor (*)(const Tensor&, const OpOptions&,
                                std::source_location);
using BinaryBuilder = Tensor (*)(const Tensor&, const Tensor&, const OpOptions&,
                                 std::source_location);

// Builds `op` on a placeholder of `a`'s dtype and shape in a fresh graph and
// runs it with `a` fed (RunKernel).
inline absl::StatusOr<NDArray> RunUnary(UnaryBuilder op, const NDArray& a) {
  Graph g = Graph::Create("kernel_harness");
  return RunKernel(op(Feed(g, a), In(g), std::source_location::current()), {a});
}

// Builds `op` on placeholders of `a`'s and `b`'s dtypes and shapes in a
// fresh graph and runs it with `a` and `b` fed (RunKernel).
inline absl::StatusOr<NDArray> RunBinary(BinaryBuilder op, const NDArray& a,
                                         const NDArray& b) {
  Graph g = Graph::Create("kernel_harness");
  return RunKernel(
      op(Feed(g, a), Feed(g, b), In(g), std::source_location::current()),
      {a, b});
}

// Checks that `result` is an error with `code` whose message contains each
// of `fragments`.
inline void ExpectError(const absl::StatusOr<NDArray>& result,
                        absl::StatusCode code,
                        const std::vector<std::string>& fragments) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  for (const std::string& f : fragments) {
    EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr(f))
        << result.status();
  }
}

// Checks that building `t` failed with kInvalidArgument, `fragment` in the
// message and an OpErrorInfo of `kind`.
inline void ExpectBuildError(const Tensor& t, ErrorKind kind,
                             const std::string& fragment) {
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), ::testing::HasSubstr(fragment))
      << t.status();
  std::optional<OpErrorInfo> info = GetOpErrorInfo(t.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, kind) << t.status();
}

// The same, and the message names the op's build site: line `line` of the
// calling test's file ("op built at tests/x_test.cc:42").
inline void ExpectBuildError(
    const Tensor& t, int line, ErrorKind kind, const std::string& fragment,
    std::source_location where = std::source_location::current()) {
  SCOPED_TRACE(absl::StrCat("built at line ", line));
  ExpectBuildError(t, kind, fragment);
  EXPECT_THAT(std::string(t.status().message()),
              ::testing::HasSubstr(
                  absl::StrCat("op built at ", where.file_name(), ":", line)));
}

// Checks that `t` was built, with `dtype` and `shape`.
inline void ExpectShape(const Tensor& t, DType dtype, const Shape& shape) {
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t.dtype(), dtype);
  EXPECT_EQ(t.shape(), shape) << t.shape().DebugString();
}

}  // namespace testing
}  // namespace weft

#endif  // WEFT_TESTS_TESTING_KERNEL_HARNESS_H_
