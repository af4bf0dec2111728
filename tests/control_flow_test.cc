// Tests for ops::Cond and ops::While: build-time checks naming both
// functions, only the taken branch running, exact loop results, long loops
// without stack growth, max_iterations, deadlines stopping an infinite loop
// (the session reusable after), nested control flow, and many threads
// running one loop concurrently.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_helpers.h"
#include "weft.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using testing::I64Const;
using testing::I64Spec;

// cond(i, a, b) = i < n; body(i, a, b) = (i + 1, b, a + b).
struct Fibonacci {
  Function cond, body;
  Tensor n;  // A placeholder of the caller's graph, captured by cond.
};

Fibonacci MakeFibonacci() {
  Fibonacci f;
  f.n = ops::Placeholder(DType::kInt64, Shape{}, {.name = "n"});
  absl::StatusOr<Function> cond = Function::Trace(
      "fib_cond", {I64Spec("i"), I64Spec("a"), I64Spec("b")},
      [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        return {ops::Less(v[0], f.n)};
      },
      FunctionOptions{.captures = {f.n}});
  EXPECT_TRUE(cond.ok()) << cond.status();
  absl::StatusOr<Function> body = Function::Trace(
      "fib_body", {I64Spec("i"), I64Spec("a"), I64Spec("b")},
      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        return {ops::Add(v[0], I64Const(1)), v[2], ops::Add(v[1], v[2])};
      });
  EXPECT_TRUE(body.ok()) << body.status();
  if (cond.ok()) f.cond = *cond;
  if (body.ok()) f.body = *body;
  return f;
}

int64_t Fib(int64_t n) {
  int64_t a = 0, b = 1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = a + b;
    a = b;
    b = c;
  }
  return a;
}

TEST(While, FibonacciIsExact) {
  Graph g = Graph::Create("fib");
  GraphScope scope(g);
  Fibonacci fib = MakeFibonacci();
  std::vector<Tensor> out =
      ops::While(fib.cond, fib.body, {I64Const(0), I64Const(0), I64Const(1)});
  ASSERT_EQ(out.size(), 3u);
  ASSERT_TRUE(out[1].ok()) << out[1].status();
  auto session = *Session::Create(g);
  for (int64_t n : {0, 1, 2, 10, 90}) {
    absl::StatusOr<std::vector<NDArray>> r =
        session->Run({{fib.n, NDArray::Scalar<int64_t>(n)}}, {out[0], out[1]});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)[0].values<int64_t>()[0], n);
    EXPECT_EQ((*r)[1].values<int64_t>()[0], Fib(n)) << n;
  }
  EXPECT_EQ(Fib(90), 2880067194370816120);
}

// cond(i) = i < limit; body(i) = i + 1.
std::pair<Function, Function> Counter(int64_t limit) {
  absl::StatusOr<Function> cond = Function::Trace(
      "below", {I64Spec("i")},
      [limit](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        return {ops::Less(v[0], I64Const(limit))};
      });
  absl::StatusOr<Function> body =
      Function::Trace("inc", {I64Spec("i")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Add(v[0], I64Const(1))};
                      });
  EXPECT_TRUE(cond.ok() && body.ok());
  return {*cond, *body};
}

TEST(While, HundredThousandIterationsWithoutStackGrowth) {
  Graph g = Graph::Create("long");
  GraphScope scope(g);
  auto [cond, body] = Counter(100000);
  Tensor y = ops::While(cond, body, {I64Const(0)})[0];
  absl::StatusOr<std::vector<NDArray>> r = (*Session::Create(g))->Run({}, {y});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int64_t>()[0], 100000);
}

TEST(While, MaxIterationsIsAnError) {
  Graph g = Graph::Create("limited");
  GraphScope scope(g);
  auto [cond, body] = Counter(1000);
  Tensor ok = ops::While(cond, body, {I64Const(0)}, {.max_iterations = 1000},
                         {.name = "ok"})[0];
  Tensor bad = ops::While(cond, body, {I64Const(0)}, {.max_iterations = 10},
                          {.name = "bad"})[0];
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {ok});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int64_t>()[0], 1000);
  r = session->Run({}, {bad});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(r.status().message(),
              HasSubstr("While 'bad' reached its max_iterations (10) with the "
                        "condition 'below' (traced at"));
  Tensor negative =
      ops::While(cond, body, {I64Const(0)}, {.max_iterations = -5})[0];
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.status().message(), HasSubstr("max_iterations is -5"));
}

TEST(While, DeadlineStopsAnInfiniteLoopAndTheSessionIsReusable) {
  Graph g = Graph::Create("forever");
  GraphScope scope(g);
  absl::StatusOr<Function> always =
      Function::Trace("always", {I64Spec("i")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Equal(v[0], v[0])};
                      });
  ASSERT_TRUE(always.ok()) << always.status();
  auto [cond, body] = Counter(5);
  Tensor forever = ops::While(*always, body, {I64Const(0)})[0];
  Tensor finite = ops::While(cond, body, {I64Const(0)})[0];
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> r = session->Run(
      {}, {forever}, RunOptions{.timeout = absl::Milliseconds(50)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  r = session->Run({}, {finite});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int64_t>()[0], 5);
  r = session->Run({}, {forever},
                   RunOptions{.timeout = absl::Milliseconds(20)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(While, AnErrorElsewhereCancelsAnInfiniteLoop) {
  Graph g = Graph::Create("forever");
  GraphScope scope(g);
  absl::StatusOr<Function> always =
      Function::Trace("always", {I64Spec("i")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Equal(v[0], v[0])};
                      });
  ASSERT_TRUE(always.ok()) << always.status();
  auto [cond, body] = Counter(5);
  Tensor forever = ops::While(*always, body, {I64Const(0)})[0];
  Tensor boom = ops::Div(I64Const(1), I64Const(0), {.name = "boom"});
  auto session = *Session::Create(g);
  // No deadline: only the failing node can stop the loop.
  absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {forever, boom});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("node 'boom' (Div)"));
  EXPECT_THAT(r.status().message(), HasSubstr("integer division by zero"));
}

TEST(While, BuildErrorsNameBothFunctions) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  auto [cond, body] = Counter(3);
  absl::StatusOr<Function> to_float =
      Function::Trace("to_float", {I64Spec("i")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Cast(v[0], DType::kFloat32)};
                      });
  ASSERT_TRUE(to_float.ok());
  std::vector<Tensor> r = ops::While(cond, *to_float, {I64Const(0)});
  ASSERT_FALSE(r[0].ok());
  const std::string msg(r[0].status().message());
  EXPECT_THAT(msg, HasSubstr("the body returns float32[] as output 0 but loop "
                             "variable 0 is int64[]"));
  EXPECT_THAT(msg, HasSubstr("condition 'below' (traced at "
                             "tests/control_flow_test.cc:"));
  EXPECT_THAT(msg, HasSubstr("body 'to_float' (traced at "
                             "tests/control_flow_test.cc:"));
  EXPECT_EQ(GetOpErrorInfo(r[0].status())->kind, ErrorKind::kFunction);
  // A condition that returns no bool.
  r = ops::While(body, body, {I64Const(0)});
  ASSERT_FALSE(r[0].ok());
  EXPECT_THAT(r[0].status().message(),
              HasSubstr("the condition must return one scalar bool, but it "
                        "returns (int64[])"));
  // Loop variables that do not match the functions' arguments.
  r = ops::While(cond, body, {ops::Const(NDArray::Scalar<int32_t>(0))});
  ASSERT_FALSE(r[0].ok());
  EXPECT_EQ(GetOpErrorInfo(r[0].status())->kind, ErrorKind::kDType);
}

// then: x + 1; else: x / 0 (an integer division by zero, if it ever ran).
std::pair<Function, Function> Branches() {
  absl::StatusOr<Function> then_fn =
      Function::Trace("plus_one", {I64Spec("x")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Add(v[0], I64Const(1))};
                      });
  absl::StatusOr<Function> else_fn =
      Function::Trace("div_zero", {I64Spec("x")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Div(v[0], I64Const(0))};
                      });
  EXPECT_TRUE(then_fn.ok() && else_fn.ok());
  return {*then_fn, *else_fn};
}

TEST(Cond, OnlyTheTakenBranchRuns) {
  Graph g = Graph::Create("cond");
  GraphScope scope(g);
  auto [then_fn, else_fn] = Branches();
  Tensor p = ops::Placeholder(DType::kBool, Shape{});
  Tensor y = ops::Cond(p, then_fn, else_fn, {I64Const(41)})[0];
  ASSERT_TRUE(y.ok()) << y.status();
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> r =
      session->Run({{p, NDArray::Scalar<bool>(true)}}, {y});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int64_t>()[0], 42);
  r = session->Run({{p, NDArray::Scalar<bool>(false)}}, {y});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("node 'div_zero/Div' in function 'div_zero'"));
  EXPECT_THAT(r.status().message(), HasSubstr("integer division by zero"));
}

TEST(Cond, BuildChecks) {
  Graph g = Graph::Create("cond");
  GraphScope scope(g);
  auto [then_fn, else_fn] = Branches();
  absl::StatusOr<Function> to_float =
      Function::Trace("to_float", {I64Spec("x")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Cast(v[0], DType::kFloat32)};
                      });
  ASSERT_TRUE(to_float.ok());
  Tensor p = ops::Const(NDArray::Scalar<bool>(true));
  std::vector<Tensor> r = ops::Cond(p, then_fn, *to_float, {I64Const(1)});
  ASSERT_FALSE(r[0].ok());
  EXPECT_THAT(r[0].status().message(),
              HasSubstr("the branches of Cond differ in output 0: int64[] and "
                        "float32[]"));
  EXPECT_THAT(r[0].status().message(), HasSubstr("then branch 'plus_one'"));
  EXPECT_THAT(r[0].status().message(), HasSubstr("else branch 'to_float'"));
  Tensor vec = ops::Const(NDArray::Vector<bool>({true, false}));
  r = ops::Cond(vec, then_fn, else_fn, {I64Const(1)});
  ASSERT_FALSE(r[0].ok());
  EXPECT_THAT(r[0].status().message(),
              HasSubstr("Cond's predicate (input 0) must be a scalar bool"));
}

TEST(Cond, NestedInWhile) {
  // i from 0 to 10; s += (i even ? 1 : 10).
  Graph g = Graph::Create("nested");
  GraphScope scope(g);
  auto [add1, add10] = std::pair<Function, Function>(
      *Function::Trace("add1", {I64Spec("s")},
                       [](const std::vector<Tensor>& v) {
                         return std::vector<Tensor>{
                             ops::Add(v[0], I64Const(1))};
                       }),
      *Function::Trace(
          "add10", {I64Spec("s")}, [](const std::vector<Tensor>& v) {
            return std::vector<Tensor>{ops::Add(v[0], I64Const(10))};
          }));
  absl::StatusOr<Function> cond =
      Function::Trace("cond", {I64Spec("i"), I64Spec("s")},
                      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Less(v[0], I64Const(10))};
                      });
  absl::StatusOr<Function> body = Function::Trace(
      "body", {I64Spec("i"), I64Spec("s")},
      [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        Tensor half = ops::Div(v[0], I64Const(2));
        Tensor even = ops::Equal(ops::Mul(half, I64Const(2)), v[0]);
        Tensor s = ops::Cond(even, add1, add10, {v[1]})[0];
        return {ops::Add(v[0], I64Const(1)), s};
      });
  ASSERT_TRUE(cond.ok()) << cond.status();
  ASSERT_TRUE(body.ok()) << body.status();
  std::vector<Tensor> out =
      ops::While(*cond, *body, {I64Const(0), I64Const(0)});
  absl::StatusOr<std::vector<NDArray>> r =
      (*Session::Create(g))->Run({}, {out[1]});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int64_t>()[0], 5 * 1 + 5 * 10);
}

TEST(While, SixteenThreadsRunOneLoopConcurrently) {
  Graph g = Graph::Create("fib");
  GraphScope scope(g);
  Fibonacci fib = MakeFibonacci();
  std::vector<Tensor> out =
      ops::While(fib.cond, fib.body, {I64Const(0), I64Const(0), I64Const(1)});
  auto session = *Session::Create(g);
  std::vector<std::thread> threads;
  std::vector<int64_t> got(16, -1);
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 5; ++k) {
        absl::StatusOr<std::vector<NDArray>> r =
            session->Run({{fib.n, NDArray::Scalar<int64_t>(20 + t)}}, {out[1]});
        got[t] = r.ok() ? (*r)[0].values<int64_t>()[0] : -2;
        if (got[t] != Fib(20 + t)) return;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 16; ++t) EXPECT_EQ(got[t], Fib(20 + t)) << t;
}

}  // namespace
}  // namespace weft
