// Tests for graph/function.h: tracing (a body is its own graph), explicit
// captures, ops::Call (build-time checks, run-time errors naming the node,
// the function and the call site), nested functions, recursion and
// pass-through outputs.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "graph/function_body.h"
#include "gtest/gtest.h"
#include "tests/testing/run_helpers.h"
#include "weft.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RunGraph;

using Body = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

TensorSpec F32(Shape shape, std::string name = "") {
  return TensorSpec{DType::kFloat32, std::move(shape), std::move(name)};
}

// The seed problem: a value of the enclosing graph used inside a body.
TEST(Function, OuterTensorInBodyIsTheCrossGraphErrorWithAFunctionNote) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  Tensor w = ops::Const(NDArray::Scalar<float>(3.f), {.name = "w"});
  absl::StatusOr<Function> f =
      Function::Trace("scale", {F32(Shape{2}, "x")},
                      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Mul(a[0], w)};
                      });
  ASSERT_FALSE(f.ok());
  const std::string msg(f.status().message());
  EXPECT_THAT(msg, HasSubstr("cross-graph edge rejected"));
  EXPECT_THAT(msg, HasSubstr("'w:0' belongs to graph 'model'"));
  EXPECT_THAT(msg, HasSubstr("the use is inside function 'scale' traced at "
                             "tests/function_test.cc:"));
  EXPECT_THAT(msg, HasSubstr("pass the value as an argument, or list it in "
                             "FunctionOptions::captures"));
  EXPECT_THAT(msg, HasSubstr("returned as output 0 of function 'scale'"));
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(f.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->op_type, "Mul");
  EXPECT_EQ(e->input_graph_name, "model");
}

TEST(Function, ArgumentAndCaptureVersionsRunAndAgree) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  Tensor w = ops::Const(NDArray::Vector<float>({2.f, 3.f}), {.name = "w"});
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2}, {.name = "x"});
  absl::StatusOr<Function> by_arg =
      Function::Trace("by_arg", {F32(Shape{2}, "x"), F32(Shape{2}, "w")},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Mul(a[0], a[1])};
                      });
  ASSERT_TRUE(by_arg.ok()) << by_arg.status();
  absl::StatusOr<Function> by_capture = Function::Trace(
      "by_capture", {F32(Shape{2}, "x")},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Mul(a[0], w)};
      },
      FunctionOptions{.captures = {w}});
  ASSERT_TRUE(by_capture.ok()) << by_capture.status();
  EXPECT_EQ(by_capture->captures().size(), 1u);
  EXPECT_EQ(by_capture->arg_specs().size(), 1u);
  ASSERT_EQ(by_capture->output_specs().size(), 1u);
  EXPECT_EQ(by_capture->output_specs()[0].dtype, DType::kFloat32);
  EXPECT_EQ(by_capture->output_specs()[0].shape, Shape{2});
  std::vector<Tensor> y1 = ops::Call(*by_arg, {x, w});
  std::vector<Tensor> y2 = ops::Call(*by_capture, {x});
  ASSERT_TRUE(y1[0].ok()) << y1[0].status();
  ASSERT_TRUE(y2[0].ok()) << y2[0].status();
  EXPECT_EQ(y2[0].node_name(), "by_capture");
  absl::StatusOr<std::vector<NDArray>> out =
      RunGraph(g, {y1[0], y2[0]}, {{x, NDArray::Vector<float>({5.f, 7.f})}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT((*out)[0].values<float>(), ElementsAre(10.f, 21.f));
  EXPECT_TRUE((*out)[0].Equals((*out)[1]));
}

TEST(Function, CapturesAreBoundPerCallSiteAndOnlyInTheirGraph) {
  Graph g1 = Graph::Create("one");
  Graph g2 = Graph::Create("two");
  Tensor w = ops::Const(NDArray::Scalar<int32_t>(10), {.graph = g1});
  absl::StatusOr<Function> add_w = Function::Trace(
      "add_w", {{DType::kInt32, Shape{}, "x"}},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Add(a[0], w)};
      },
      FunctionOptions{.captures = {w}});
  ASSERT_TRUE(add_w.ok()) << add_w.status();
  // Two call sites in g1 bind the same capture.
  Tensor a = ops::Const(NDArray::Scalar<int32_t>(1), {.graph = g1});
  Tensor b = ops::Const(NDArray::Scalar<int32_t>(2), {.graph = g1});
  Tensor ya = ops::Call(*add_w, {a}, {.graph = g1})[0];
  Tensor yb = ops::Call(*add_w, {b}, {.graph = g1})[0];
  absl::StatusOr<std::vector<NDArray>> out = RunGraph(g1, {ya, yb});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<int32_t>()[0], 11);
  EXPECT_EQ((*out)[1].values<int32_t>()[0], 12);
  // A call from g2: the capture belongs to g1.
  Tensor c = ops::Const(NDArray::Scalar<int32_t>(3), {.graph = g2});
  std::vector<Tensor> bad = ops::Call(*add_w, {c}, {.graph = g2});
  ASSERT_FALSE(bad[0].ok());
  EXPECT_THAT(bad[0].status().message(),
              HasSubstr("input 1 is capture 0 of function 'add_w'"));
  EXPECT_THAT(bad[0].status().message(), HasSubstr("belongs to graph 'one'"));
  EXPECT_TRUE(GetCrossGraphEdge(bad[0].status()).has_value());
  EXPECT_EQ(g2.num_nodes(), 1);
}

TEST(Function, NestedFunctionsCaptureTheEnclosingBody) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  absl::StatusOr<Function> outer = Function::Trace(
      "outer", {{DType::kInt64, Shape{}, "x"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        Tensor two = ops::Const(NDArray::Scalar<int64_t>(2));
        Tensor x2 = ops::Mul(a[0], two);
        // An inner function defined inside outer's body captures x2.
        absl::StatusOr<Function> inner = Function::Trace(
            "inner", {{DType::kInt64, Shape{}, "y"}},
            [&](const std::vector<Tensor>& b) -> std::vector<Tensor> {
              return {ops::Add(b[0], x2)};
            },
            FunctionOptions{.captures = {x2}});
        if (!inner.ok()) return {Tensor::FromError(inner.status())};
        // Using outer's tensor inside inner without the capture fails and
        // names inner.
        absl::StatusOr<Function> wrong = Function::Trace(
            "wrong", {{DType::kInt64, Shape{}, "y"}},
            [&](const std::vector<Tensor>& b) -> std::vector<Tensor> {
              return {ops::Add(b[0], two)};
            });
        EXPECT_FALSE(wrong.ok());
        EXPECT_THAT(wrong.status().message(),
                    HasSubstr("inside function 'wrong'"));
        return ops::Call(*inner, {a[0]});
      });
  ASSERT_TRUE(outer.ok()) << outer.status();
  Tensor x = ops::Const(NDArray::Scalar<int64_t>(5));
  Tensor y = ops::Call(*outer, {x})[0];
  absl::StatusOr<std::vector<NDArray>> out = RunGraph(g, {y});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<int64_t>()[0], 15);  // 5 + 5*2
}

TEST(Function, RecursionIsRejectedNamingTheCycle) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  Function f;  // The body refers to the function being traced.
  absl::StatusOr<Function> traced = Function::Trace(
      "fact", {{DType::kInt32, Shape{}, "n"}},
      [&f](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return ops::Call(f, {a[0]});
      });
  ASSERT_FALSE(traced.ok());
  EXPECT_THAT(traced.status().message(),
              HasSubstr("the call is inside 'fact' (traced at "
                        "tests/function_test.cc:"));
  EXPECT_THAT(traced.status().message(), HasSubstr("recursion"));
  EXPECT_THAT(traced.status().message(), HasSubstr("ops::While"));
}

TEST(Function, PassThroughOutputsWork) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  Tensor w = ops::Const(NDArray::Scalar<float>(4.f));
  absl::StatusOr<Function> f = Function::Trace(
      "through", {F32(Shape{}, "x")},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {a[0], w, a[0]};
      },
      FunctionOptions{.captures = {w}});
  ASSERT_TRUE(f.ok()) << f.status();
  Tensor x = ops::Const(NDArray::Scalar<float>(1.5f));
  std::vector<Tensor> y = ops::Call(*f, {x});
  ASSERT_EQ(y.size(), 3u);
  absl::StatusOr<std::vector<NDArray>> out = RunGraph(g, y);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<float>()[0], 1.5f);
  EXPECT_EQ((*out)[1].values<float>()[0], 4.f);
  EXPECT_EQ((*out)[2].values<float>()[0], 1.5f);
}

TEST(Function, TraceErrors) {
  Graph g = Graph::Create("model");
  Graph other = Graph::Create("other");
  absl::StatusOr<Function> none = Function::Trace(
      "none", {},
      [](const std::vector<Tensor>&) -> std::vector<Tensor> { return {}; });
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(),
              HasSubstr("function 'none' traced at tests/function_test.cc:"));
  EXPECT_THAT(none.status().message(), HasSubstr("returned no tensors"));
  absl::StatusOr<Function> foreign = Function::Trace(
      "foreign", {}, [&](const std::vector<Tensor>&) -> std::vector<Tensor> {
        return {ops::Const(NDArray::Scalar<float>(1.f), {.graph = other})};
      });
  ASSERT_FALSE(foreign.ok());
  EXPECT_THAT(foreign.status().message(),
              HasSubstr("belongs to graph 'other' (id"));
  absl::StatusOr<Function> failed = Function::Trace(
      "failed", {}, [](const std::vector<Tensor>&) -> std::vector<Tensor> {
        return {Tensor()};
      });
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(),
              HasSubstr("returned as output 0 of function 'failed'"));
  absl::StatusOr<Function> bad_capture = Function::Trace(
      "bad_capture", {},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> { return a; },
      FunctionOptions{.captures = {Tensor()}});
  ASSERT_FALSE(bad_capture.ok());
  EXPECT_THAT(bad_capture.status().message(), HasSubstr("capture 0 of"));
}

TEST(Function, BodyGetsFreshScopesAndTheCallersAreRestored) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  NameScope ns("layer");
  absl::StatusOr<Function> f =
      Function::Trace("f", {F32(Shape{})},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        EXPECT_EQ(a[0].node_name(), "arg0");
                        EXPECT_EQ(DefaultGraph().name(), "f");
                        return {ops::Neg(a[0])};
                      });
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->body().FindNode("Neg") != nullptr);
  EXPECT_TRUE(f->body().finalized());
  EXPECT_THAT(f->body().DebugString(), HasSubstr("arg0"));
  Tensor after = ops::Const(NDArray::Scalar<float>(1.f));
  EXPECT_EQ(after.node_name(), "layer/Const");
  EXPECT_EQ(DefaultGraph(), g);
}

TEST(Function, CallChecksArgumentsAtBuildTime) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  absl::StatusOr<Function> f =
      Function::Trace("f", {F32(Shape{-1, 3}, "x")},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Relu(a[0])};
                      });
  ASSERT_TRUE(f.ok()) << f.status();
  Tensor i = ops::Const(NDArray::Scalar<int32_t>(1));
  Tensor m = ops::Placeholder(DType::kFloat32, Shape{2, 4});
  Tensor ok = ops::Placeholder(DType::kFloat32, Shape{5, 3});
  std::vector<Tensor> r = ops::Call(*f, {});
  ASSERT_FALSE(r[0].ok());
  EXPECT_THAT(r[0].status().message(),
              HasSubstr("function 'f' (traced at tests/function_test.cc:"));
  EXPECT_THAT(r[0].status().message(),
              HasSubstr("takes 1 argument(s) but 0 argument given"));
  EXPECT_EQ(GetOpErrorInfo(r[0].status())->kind, ErrorKind::kArity);
  r = ops::Call(*f, {i});
  ASSERT_FALSE(r[0].ok());
  EXPECT_THAT(r[0].status().message(), HasSubstr("argument 0 of function 'f'"));
  EXPECT_THAT(r[0].status().message(),
              HasSubstr("is float32[?,3] ('x'), but argument 0 is int32[]"));
  EXPECT_EQ(GetOpErrorInfo(r[0].status())->kind, ErrorKind::kDType);
  r = ops::Call(*f, {m});
  ASSERT_FALSE(r[0].ok());
  EXPECT_EQ(GetOpErrorInfo(r[0].status())->kind, ErrorKind::kShape);
  r = ops::Call(*f, {ok});
  ASSERT_TRUE(r[0].ok()) << r[0].status();
  EXPECT_EQ(r[0].shape(), (Shape{-1, 3}));
  r = ops::Call(Function(), {ok});
  ASSERT_FALSE(r[0].ok());
  EXPECT_THAT(r[0].status().message(), HasSubstr("null"));
}

TEST(Function, RunTimeErrorNamesNodeFunctionAndCallSite) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  absl::StatusOr<Function> f = Function::Trace(
      "f", {{DType::kInt32, Shape{}, "x"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Div(a[0], ops::Const(NDArray::Scalar<int32_t>(0)))};
      });
  ASSERT_TRUE(f.ok()) << f.status();
  const int call_line = __LINE__ + 1;
  Tensor y = ops::Call(*f, {ops::Const(NDArray::Scalar<int32_t>(7))})[0];
  absl::StatusOr<std::vector<NDArray>> out = RunGraph(g, {y});
  ASSERT_FALSE(out.ok());
  const std::string msg(out.status().message());
  EXPECT_THAT(msg,
              HasSubstr(absl::StrCat("node 'f/Div' in function 'f' (traced at "
                                     "tests/function_test.cc:")));
  EXPECT_THAT(msg, HasSubstr(absl::StrCat(
                       "called at tests/function_test.cc:", call_line,
                       ": integer division by zero")));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Function, CallsRunOnTheirNodesDeviceAndTheBodysDevices) {
  Graph g = Graph::Create("placed");
  GraphScope scope(g);
  absl::StatusOr<Function> f = Function::Trace(
      "f", {{DType::kInt32, Shape{}, "x"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        Tensor y = ops::Neg(a[0]);
        DeviceScope ds("cpu:1");  // A body node placed explicitly.
        return {ops::Add(y, ops::Const(NDArray::Scalar<int32_t>(100)))};
      });
  ASSERT_TRUE(f.ok()) << f.status();
  Tensor x = ops::Const(NDArray::Scalar<int32_t>(5));
  Tensor on0 = ops::Call(*f, {x}, {.name = "on0", .device = "cpu:0"})[0];
  Tensor on1 = ops::Call(*f, {x}, {.name = "on1", .device = "cpu:1"})[0];
  auto session = *Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
  absl::StatusOr<std::vector<NDArray>> r = session->Run({}, {on0, on1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].values<int32_t>()[0], 95);
  EXPECT_EQ((*r)[1].values<int32_t>()[0], 95);
  absl::StatusOr<PlanSummary> plan = session->GetPlan({}, {on0, on1});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->num_partitions, 2);
  EXPECT_THAT(plan->dump, HasSubstr("Call"));
}

// Random small bodies: calling the function gives exactly what the same ops
// built directly give.
TEST(Function, RandomBodiesAgreeWithTheSameOpsBuiltDirectly) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int> program;
    for (int k = 0; k < 6; ++k) program.push_back(rng() % 4);
    auto build = [&](Tensor x, Tensor y) {
      for (int op : program) {
        switch (op) {
          case 0:
            x = ops::Add(x, y);
            break;
          case 1:
            x = ops::Mul(x, y);
            break;
          case 2:
            y = ops::Sub(y, x);
            break;
          default:
            x = ops::Maximum(x, ops::Neg(y));
            break;
        }
      }
      return std::vector<Tensor>{x, y};
    };
    Graph g = Graph::Create("r");
    GraphScope scope(g);
    absl::StatusOr<Function> f = Function::Trace(
        "f", {{DType::kInt64, Shape{3}, ""}, {DType::kInt64, Shape{3}, ""}},
        [&](const std::vector<Tensor>& a) { return build(a[0], a[1]); });
    ASSERT_TRUE(f.ok()) << f.status();
    Tensor x = ops::Const(NDArray::Vector<int64_t>({1, -2, 3}));
    Tensor y = ops::Const(NDArray::Vector<int64_t>({4, 5, -6}));
    std::vector<Tensor> called = ops::Call(*f, {x, y});
    std::vector<Tensor> direct = build(x, y);
    absl::StatusOr<std::vector<NDArray>> out =
        RunGraph(g, {called[0], called[1], direct[0], direct[1]});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE((*out)[0].Equals((*out)[2])) << trial;
    EXPECT_TRUE((*out)[1].Equals((*out)[3])) << trial;
  }
}

// Traces "fact", whose body traces "fact" again (a C++ helper calling
// itself): without the recursion check this would never end.
absl::StatusOr<Function> TraceFact() {
  return Function::Trace(
      "fact", {{DType::kInt32, Shape{}, "n"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        absl::StatusOr<Function> self = TraceFact();
        if (!self.ok()) return {Tensor::FromError(self.status())};
        return ops::Call(*self, {a[0]});
      });
}

TEST(Function, DirectTraceRecursionIsRejectedNamingTheCycle) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  absl::StatusOr<Function> f = TraceFact();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(f.status().message());
  EXPECT_THAT(msg, HasSubstr("recursion rejected: function 'fact' traced at "
                             "tests/function_test.cc:"));
  EXPECT_THAT(msg, HasSubstr("is already being traced on this thread: "
                             "'fact' -> 'fact'"));
  EXPECT_THAT(msg, HasSubstr("'fact' is being traced (Function::Trace at "
                             "tests/function_test.cc:"));
  EXPECT_THAT(msg, HasSubstr("iterate with ops::While"));
  // The failed traces left no state behind: the same name traces again.
  absl::StatusOr<Function> ok =
      Function::Trace("fact", {{DType::kInt32, Shape{}, "n"}},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Neg(a[0])};
                      });
  EXPECT_TRUE(ok.ok()) << ok.status();
}

absl::StatusOr<Function> TraceEven();
absl::StatusOr<Function> TraceOdd() {
  return Function::Trace(
      "odd", {{DType::kInt32, Shape{}, "n"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        absl::StatusOr<Function> even = TraceEven();
        if (!even.ok()) return {Tensor::FromError(even.status())};
        return ops::Call(*even, {a[0]});
      });
}
absl::StatusOr<Function> TraceEven() {
  return Function::Trace(
      "even", {{DType::kInt32, Shape{}, "n"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        absl::StatusOr<Function> odd = TraceOdd();
        if (!odd.ok()) return {Tensor::FromError(odd.status())};
        return ops::Call(*odd, {a[0]});
      });
}

TEST(Function, IndirectTraceRecursionIsRejectedNamingTheCycle) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  absl::StatusOr<Function> f = TraceEven();
  ASSERT_FALSE(f.ok());
  const std::string msg(f.status().message());
  EXPECT_THAT(msg, HasSubstr("recursion rejected: function 'even'"));
  EXPECT_THAT(msg, HasSubstr("'even' -> 'odd' -> 'even'"));
  EXPECT_THAT(msg, HasSubstr("'odd' is being traced (Function::Trace at "));
  // Distinct nested functions (no name repeated) still trace.
  absl::StatusOr<Function> outer = Function::Trace(
      "outer", {{DType::kInt32, Shape{}, "n"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        absl::StatusOr<Function> inner = Function::Trace(
            "inner", {{DType::kInt32, Shape{}, "n"}},
            [](const std::vector<Tensor>& b) -> std::vector<Tensor> {
              return {ops::Neg(b[0])};
            });
        if (!inner.ok()) return {Tensor::FromError(inner.status())};
        return ops::Call(*inner, {a[0]});
      });
  EXPECT_TRUE(outer.ok()) << outer.status();
}

TEST(Function, DumpsNameTheCalledFunctions) {
  Graph g = Graph::Create("model");
  GraphScope scope(g);
  Tensor w = ops::Const(NDArray::Scalar<int32_t>(3), {.name = "w"});
  absl::StatusOr<Function> f = Function::Trace(
      "scale", {{DType::kInt32, Shape{}, "x"}},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Mul(a[0], w)};
      },
      FunctionOptions{.captures = {w}});
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<Function> lt = Function::Trace(
      "small", {{DType::kInt32, Shape{}, "i"}},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Less(a[0], ops::Const(NDArray::Scalar<int32_t>(100)))};
      });
  ASSERT_TRUE(lt.ok()) << lt.status();
  Tensor x = ops::Const(NDArray::Scalar<int32_t>(2), {.name = "x"});
  Tensor y = ops::Call(*f, {x})[0];
  Tensor loop = ops::While(*lt, *f, {y}, {}, {.name = "loop"})[0];
  Tensor c = ops::Cond(ops::Less(x, y), *f, *f, {loop}, {.name = "pick"})[0];

  // The graph's own dump.
  const std::string dump = g.DebugString();
  EXPECT_THAT(dump, HasSubstr("scale = Call[scale](x:0, w:0) : int32[]"));
  EXPECT_THAT(dump, HasSubstr("loop = While[cond=small, body=scale](scale:0, "
                              "w:0) : int32[]"));
  EXPECT_THAT(dump, HasSubstr("pick = Cond[then=scale, else=scale]("));

  // The partition dump and its DOT.
  absl::StatusOr<PartitionedGraph> p =
      PartitionGraph(g, {c}, {}, std::vector<std::string>{"cpu:0"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->DebugString(), HasSubstr("  scale = Call[scale](x:0, w:0)\n"));
  EXPECT_THAT(p->DebugString(),
              HasSubstr("  loop = While[cond=small, body=scale](scale:0, "
                        "w:0)\n"));
  EXPECT_THAT(p->ToDot(), HasSubstr("[label=\"loop\\nWhile[cond=small, "
                                    "body=scale]\"]"));

  // A function's body dumps like any graph: text, and partitioned as DOT.
  const std::string fd = f->DebugString();
  EXPECT_THAT(fd, HasSubstr("function 'scale'(x: int32[]; captures capture0 = "
                            "w:0: int32[]) -> (Mul:0: int32[]), traced at "
                            "tests/function_test.cc:"));
  EXPECT_THAT(fd, HasSubstr("Mul = Mul(x:0, capture0:0) : int32[]"));
  EXPECT_EQ(fd.substr(fd.find('\n') + 1), f->body().DebugString());
  std::vector<Tensor> feeds = {f->body().GetTensor("x:0").value(),
                               f->body().GetTensor("capture0:0").value()};
  absl::StatusOr<PartitionedGraph> body =
      PartitionGraph(f->body(), {f->body().GetTensor("Mul:0").value()}, feeds,
                     std::vector<std::string>{"cpu:0"});
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(body->ToDot(), HasSubstr("label=\"Mul\\nMul\""));
  EXPECT_THAT(body->DebugString(), HasSubstr("  x = feed\n"));

  // And the functions reachable from a graph, callees first, each once.
  std::vector<std::string> names;
  for (const auto& fb : internal::ReachableFunctions(g)) {
    names.push_back(fb->name());
  }
  EXPECT_THAT(names, ElementsAre("scale", "small"));
}

// The build-time check accepts a caller shape with an unknown dim; a run
// that then passes a size the body was not traced for is a clean error
// naming the function and the argument.
TEST(Function, ARunTimeShapeOutsideTheSpecIsAnErrorNamingTheArgument) {
  absl::StatusOr<Function> f =
      Function::Trace("double4", {TensorSpec{DType::kFloat32, Shape{4}, "x"}},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Add(a[0], a[0])};
                      });
  ASSERT_TRUE(f.ok()) << f.status();
  Graph g = Graph::Create("caller");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
  std::vector<Tensor> y = ops::Call(*f, {x}, {.graph = g});
  ASSERT_TRUE(y.at(0).ok()) << y.at(0).status();
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> ok =
      session->Run({{x, NDArray::Vector<float>({1, 2, 3, 4})}}, {y[0]});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->at(0).values<float>()[3], 8.0f);
  absl::StatusOr<std::vector<NDArray>> bad =
      session->Run({{x, NDArray::Vector<float>({1, 2, 3, 4, 5})}}, {y[0]});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'double4'"));
  EXPECT_THAT(bad.status().message(),
              HasSubstr("argument 0 is float32[4] but the call passed "
                        "float32[5] at run time"));
  // The session stays usable.
  EXPECT_TRUE(
      session->Run({{x, NDArray::Vector<float>({1, 1, 1, 1})}}, {y[0]}).ok());
}

}  // namespace
}  // namespace weft
