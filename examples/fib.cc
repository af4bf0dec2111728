// fib.cc — builds a graph with functions (Fibonacci by ops::While, a helper
// called with ops::Call, and an ops::Cond) and saves it with its function
// library to the graph file named on the command line (.pbtxt or .pb):
//
//   bazel run //examples:fib -- /tmp/fib.pbtxt
//   bazel run //examples:fib -- examples/fib.pbtxt  # the checked-in file
//
//   weft check examples/fib.pbtxt             # lists the functions
//   weft run examples/fib.pbtxt --feed n=10 --fetch fib   # 55
//   weft dot examples/fib.pbtxt --function fib_body        # a body as DOT
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph_io.h"
#include "weft.h"

namespace {

// fib = F(n), n >= 0 (While over (i, a, b), body calls `step`); squared =
// Call(square, fib); sign = Cond(n < 0, ...). ~64 lines: one linear script.
absl::StatusOr<weft::Graph> BuildFib() {
  using namespace weft;
  Graph g = Graph::Create("fib");
  GraphScope scope(g);
  Tensor n = ops::Placeholder(DType::kInt64, Shape{}, {.name = "n"});
  const TensorSpec i64{DType::kInt64, Shape{}, ""};
  auto one = [] { return ops::Const(NDArray::Scalar<int64_t>(1)); };
  absl::StatusOr<Function> cond = Function::Trace(
      "fib_cond",
      {{DType::kInt64, Shape{}, "i"},
       {DType::kInt64, Shape{}, "a"},
       {DType::kInt64, Shape{}, "b"}},
      [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        return {ops::Less(v[0], n)};
      },
      FunctionOptions{.captures = {n}});
  if (!cond.ok()) return cond.status();
  // One step of the recurrence, called by the loop body (a function
  // calling another).
  absl::StatusOr<Function> step = Function::Trace(
      "step", {{DType::kInt64, Shape{}, "a"}, {DType::kInt64, Shape{}, "b"}},
      [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        return {v[1], ops::Add(v[0], v[1])};
      });
  if (!step.ok()) return step.status();
  absl::StatusOr<Function> body = Function::Trace(
      "fib_body",
      {{DType::kInt64, Shape{}, "i"},
       {DType::kInt64, Shape{}, "a"},
       {DType::kInt64, Shape{}, "b"}},
      [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
        std::vector<Tensor> next = ops::Call(*step, {v[1], v[2]});
        return {ops::Add(v[0], one()), next[0], next[1]};
      });
  if (!body.ok()) return body.status();
  absl::StatusOr<Function> square =
      Function::Trace("square", {{DType::kInt64, Shape{}, "x"}},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Mul(a[0], a[0])};
                      });
  if (!square.ok()) return square.status();
  auto constant = [&](std::string name, int64_t v) {
    return Function::Trace(
        name, {i64}, [v](const std::vector<Tensor>&) -> std::vector<Tensor> {
          return {ops::Const(NDArray::Scalar<int64_t>(v))};
        });
  };
  absl::StatusOr<Function> minus_one = constant("minus_one", -1);
  absl::StatusOr<Function> plus_one = constant("plus_one", 1);
  if (!minus_one.ok()) return minus_one.status();
  if (!plus_one.ok()) return plus_one.status();

  Tensor zero = ops::Const(NDArray::Scalar<int64_t>(0), {.name = "zero"});
  std::vector<Tensor> loop =
      ops::While(*cond, *body, {zero, zero, one()}, {}, {.name = "loop"});
  Tensor fib = ops::Identity(loop[1], {.name = "fib"});
  Tensor squared =
      ops::Identity(ops::Call(*square, {fib})[0], {.name = "squared"});
  Tensor sign = ops::Cond(ops::Less(n, zero), *minus_one, *plus_one, {n},
                          {.name = "sign"})[0];
  if (!squared.ok()) return squared.status();
  if (!sign.ok()) return sign.status();
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc == 2 ? argv[1] : "";
  if (arg.empty() || arg[0] == '-') {
    // Never a default path: the checked-in examples/fib.pbtxt is only
    // rewritten when named.
    const bool help = arg == "-h" || arg == "--help";
    std::fprintf(help ? stdout : stderr,
                 "usage: fib OUTPUT  (the graph file to write: .pbtxt text, "
                 ".pb binary)\n"
                 "  bazel run //examples:fib -- /tmp/fib.pbtxt\n"
                 "  bazel run //examples:fib -- examples/fib.pbtxt  # "
                 "rewrites the checked-in file\n");
    return help ? 0 : 2;
  }
  std::string path = arg;
  // Under `bazel run`, a relative path is from where Bazel was run.
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
      cwd != nullptr && *cwd != '\0' && path[0] != '/') {
    path = absl::StrCat(cwd, "/", path);
  }
  absl::StatusOr<weft::Graph> g = BuildFib();
  if (!g.ok()) {
    std::fprintf(stderr, "building the graph failed: %s\n",
                 std::string(g.status().message()).c_str());
    return 1;
  }
  if (absl::Status s = weft::SaveGraph(*g, path); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("saved graph %s (%d nodes) to %s\n", g->DisplayName().c_str(),
              g->num_nodes(), path.c_str());
  return 0;
}
