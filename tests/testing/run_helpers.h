// run_helpers.h — "must" constructors and small run helpers for tests that
// build graphs, sessions, variables and functions: each records a test
// failure (rather than crashing) when the call it wraps fails, so one
// broken precondition reads as a failed assertion at its cause.
//
//   Variable w = testing::MustCreateVariable("w", NDArray::Scalar(1.0f));
//   std::unique_ptr<Session> s = testing::MustCreateSession(g);
//   absl::StatusOr<std::vector<NDArray>> out = testing::RunGraph(g, {y});
//   EXPECT_THAT(testing::ToVector<float>((*out)[0]), ElementsAre(2));
#ifndef WEFT_TESTS_TESTING_RUN_HELPERS_H_
#define WEFT_TESTS_TESTING_RUN_HELPERS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/function.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/tensor.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "state/variable.h"

namespace weft {
namespace testing {

// The elements of `a` as a vector of T (empty when `a` is not of T's dtype),
// for gmock's container matchers: ToVector<float>(out) -> [1, 2].
template <typename T>
std::vector<T> ToVector(const NDArray& a) {
  const auto v = a.values<T>();
  return std::vector<T>(v.begin(), v.end());
}

// Session::Create(g, options); a failed test and nullptr on an error.
inline std::unique_ptr<Session> MustCreateSession(Graph g,
                                                  SessionOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(std::move(g), std::move(options));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// One run of `fetches` with `feeds` in a new Session of `g`: Create's error
// or Run's result.
inline absl::StatusOr<std::vector<NDArray>> RunGraph(
    const Graph& g, const std::vector<Tensor>& fetches,
    const Feeds& feeds = {}) {
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  if (!s.ok()) return s.status();
  return (*s)->Run(feeds, fetches);
}

// Variable::Create(name, value) as if called at `where` (the caller's line
// by default, so provenance checks see the test's line); a failed test and
// a null Variable on an error.
inline Variable MustCreateVariable(
    std::string_view name, NDArray value,
    std::source_location where = std::source_location::current()) {
  absl::StatusOr<Variable> v = Variable::Create(name, std::move(value), where);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : Variable();
}

// Function::Trace(name, args, body, options) as if called at `where`; a
// failed test and a null Function on an error.
inline Function MustTrace(
    std::string_view name, std::vector<TensorSpec> args,
    std::function<std::vector<Tensor>(const std::vector<Tensor>&)> body,
    FunctionOptions options = {},
    std::source_location where = std::source_location::current()) {
  absl::StatusOr<Function> f = Function::Trace(
      name, std::move(args), std::move(body), std::move(options), where);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : Function();
}

// The spec of an int64 scalar argument named `name` (for Function::Trace).
inline TensorSpec I64Spec(std::string name = "") {
  return TensorSpec{DType::kInt64, Shape{}, std::move(name)};
}

// An int64 scalar Const in the current default graph.
inline Tensor I64Const(int64_t v) {
  return ops::Const(NDArray::Scalar<int64_t>(v));
}

}  // namespace testing
}  // namespace weft

#endif  // WEFT_TESTS_TESTING_RUN_HELPERS_H_
