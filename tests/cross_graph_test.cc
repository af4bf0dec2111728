// Tests for the cross-graph error: its exact message (docs/design.md, "The
// cross-graph error"), its CrossGraphEdge payload, and how it propagates.

#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A builder's result with the line of the builder call; always written on
// one line, `Built b{ops::Foo(...), __LINE__};`.
struct Built {
  Tensor t;
  int line = 0;
};

std::string At(int line) { return absl::StrCat(__FILE__, ":", line); }

std::vector<std::string> Lines(const absl::Status& s) {
  return absl::StrSplit(s.message(), '\n');
}

CrossGraphEdge EdgeOf(const absl::Status& s) {
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(s);
  EXPECT_TRUE(e.has_value()) << s;
  return e.value_or(CrossGraphEdge{});
}

// Restores the provenance mode when it goes out of scope.
class ProvenanceModeGuard {
 public:
  explicit ProvenanceModeGuard(ProvenanceMode mode)
      : saved_(GetProvenanceMode()) {
    SetProvenanceMode(mode);
  }
  ~ProvenanceModeGuard() { SetProvenanceMode(saved_); }

 private:
  ProvenanceMode saved_;
};

TEST(CrossGraph, ValueFromAnotherGraphUnderGraphScope) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  int training_scope_line, serving_scope_line;
  Built x;
  {
    // clang-format off
    training_scope_line = __LINE__; GraphScope scope(training);
    // clang-format on
    const OpOptions named_x{.name = "x"};
    x = Built{ops::Placeholder(DType::kFloat32, {2}, named_x), __LINE__};
    ASSERT_TRUE(x.t.ok()) << x.t.status();
  }
  // clang-format off
  serving_scope_line = __LINE__; GraphScope scope(serving);
  // clang-format on
  NameScope ns("head");
  Tensor local = ops::Placeholder(DType::kFloat32, {2});
  ASSERT_TRUE(local.ok());

  Built y{ops::Add(x.t, local), __LINE__};
  ASSERT_FALSE(y.t.ok());
  const absl::Status& s = y.t.status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  const CrossGraphEdge e = EdgeOf(s);
  const std::vector<std::string> lines = Lines(s);
  ASSERT_EQ(lines.size(), 8u) << s.message();
  // The primary line, exactly.
  EXPECT_EQ(lines[0],
            absl::StrCat("cross-graph edge rejected: op 'head/Add' (Add) is "
                         "being built in graph 'serving' (id ",
                         serving.id(), "),"));
  EXPECT_EQ(lines[1], absl::StrCat("but its input 0 'x:0' belongs to graph "
                                   "'training' (id ",
                                   training.id(), ")"));
  // The notes, each a place in this file.
  EXPECT_THAT(lines[2],
              StartsWith(absl::StrCat("  op built at ", At(y.line), " in ")));
  EXPECT_EQ(lines[2], absl::StrCat("  op built at ", At(y.line), " in ",
                                   e.op_site.function, ", thread 'main'"));
  EXPECT_THAT(e.op_site.function, EndsWith("TestBody"));
  EXPECT_EQ(lines[3],
            absl::StrCat("  'serving' is the default graph because of the "
                         "GraphScope pushed at ",
                         At(serving_scope_line), " in ", e.op_site.function));
  EXPECT_EQ(lines[4],
            absl::StrCat("  'x:0' was created at ", At(x.line), " in ",
                         e.input_site.function, ", thread 'main',"));
  EXPECT_EQ(lines[5], absl::StrCat("    under the GraphScope pushed at ",
                                   At(training_scope_line), " in ",
                                   e.input_site.function));
  EXPECT_EQ(lines[6],
            "  fix: build the op under a GraphScope for 'training', or bring "
            "the value into");
  EXPECT_EQ(lines[7],
            "    'serving' through a Placeholder (feed) or a Const of its "
            "computed value");

  // The payload carries the same facts.
  EXPECT_EQ(e.op_name, "head/Add");
  EXPECT_EQ(e.op_type, "Add");
  EXPECT_EQ(e.graph_name, "serving");
  EXPECT_EQ(e.graph_id, serving.id());
  EXPECT_EQ(e.op_site.file, __FILE__);
  EXPECT_EQ(e.op_site.line, y.line);
  EXPECT_EQ(e.op_thread, "main");
  EXPECT_EQ(e.graph_source, GraphSource::kGraphScope);
  EXPECT_THAT(e.graph_reason, HasSubstr(At(serving_scope_line)));
  EXPECT_EQ(e.input_index, 0);
  EXPECT_FALSE(e.control_input);
  EXPECT_EQ(e.input_name, "x:0");
  EXPECT_EQ(e.input_graph_name, "training");
  EXPECT_EQ(e.input_graph_id, training.id());
  EXPECT_EQ(e.input_site.file, __FILE__);
  EXPECT_EQ(e.input_site.line, x.line);
  EXPECT_EQ(e.input_thread, "main");
  EXPECT_EQ(e.input_graph_source, GraphSource::kGraphScope);
  EXPECT_EQ(e.input_origin, absl::StrCat("under the GraphScope pushed at ",
                                         At(training_scope_line), " in ",
                                         e.input_site.function));

  std::optional<OpErrorInfo> info = GetOpErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kCrossGraph);
  EXPECT_EQ(info->node_name, "head/Add");
  EXPECT_EQ(info->graph_id, serving.id());
  EXPECT_EQ(info->site.line, y.line);

  // Nothing was added to either graph.
  EXPECT_EQ(training.num_nodes(), 1);
  EXPECT_EQ(serving.num_nodes(), 1);
}

TEST(CrossGraph, SecondInputIsNamed) {
  Graph a = Graph::Create("a");
  Graph b = Graph::Create("b");
  Tensor in_a = ops::Const(NDArray::Scalar(1.0f), {.graph = a});
  GraphScope scope(b);
  Tensor in_b = ops::Const(NDArray::Scalar(1.0f));
  Built y{ops::Mul(in_b, in_a), __LINE__};
  const CrossGraphEdge e = EdgeOf(y.t.status());
  EXPECT_EQ(e.input_index, 1);
  EXPECT_EQ(e.input_name, "Const:0");
  EXPECT_THAT(y.t.status().message(),
              HasSubstr("but its input 1 'Const:0' belongs to graph 'a'"));
}

TEST(CrossGraph, ExplicitGraphHandleMismatch) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  const NDArray two = NDArray::Scalar(2.0f);
  Built x{ops::Const(two, {.graph = training}), __LINE__};
  ASSERT_TRUE(x.t.ok());
  Built y{ops::Neg(x.t, {.name = "neg", .graph = serving}), __LINE__};
  ASSERT_FALSE(y.t.ok());
  const absl::Status& s = y.t.status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              StartsWith(absl::StrCat(
                  "cross-graph edge rejected: op 'neg' (Neg) is being built "
                  "in graph 'serving' (id ",
                  serving.id(),
                  "),\nbut its input 0 'Const:0' belongs to "
                  "graph 'training' (id ",
                  training.id(), ")\n")));
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("\n  op built at ", At(y.line), " in ")));
  EXPECT_THAT(s.message(),
              HasSubstr("\n  'serving' was named explicitly by a graph handle "
                        "(OpOptions.graph or Graph::AddOp)\n"));
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("\n  'Const:0' was created at ",
                                     At(x.line), " in ")));
  EXPECT_THAT(s.message(),
              HasSubstr("\n    through an explicit graph handle\n"));
  const CrossGraphEdge e = EdgeOf(s);
  EXPECT_EQ(e.graph_source, GraphSource::kExplicitHandle);
  EXPECT_EQ(e.input_graph_source, GraphSource::kExplicitHandle);
  EXPECT_EQ(e.op_name, "neg");
  EXPECT_EQ(e.op_site.line, y.line);
  EXPECT_EQ(e.input_site.line, x.line);
  EXPECT_EQ(serving.num_nodes(), 0);
  EXPECT_EQ(training.num_nodes(), 1);
}

TEST(CrossGraph, ExplicitHandleThroughAddOp) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  Tensor x = ops::Const(NDArray::Scalar(2.0f), {.graph = training});
  const int line = __LINE__ + 1;
  absl::StatusOr<Tensor> y = serving.AddOp("Neg", {x});
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(),
              HasSubstr("'serving' was named explicitly by a graph handle"));
  const CrossGraphEdge e = EdgeOf(y.status());
  EXPECT_EQ(e.graph_source, GraphSource::kExplicitHandle);
  EXPECT_EQ(e.op_site.line, line);
  EXPECT_EQ(serving.num_nodes(), 0);
}

TEST(CrossGraph, ControlInputFromAnotherGraph) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  const NDArray one = NDArray::Scalar(1.0f);
  Built x{ops::Const(one, {.graph = training}), __LINE__};
  GraphScope scope(serving);
  Tensor local = ops::Const(NDArray::Scalar(1.0f));
  const NDArray three = NDArray::Scalar(3.0f);
  const OpOptions after_x{.control_inputs = {x.t}};
  Built y{ops::Const(three, after_x), __LINE__};
  ASSERT_FALSE(y.t.ok());
  EXPECT_THAT(y.t.status().message(),
              HasSubstr(absl::StrCat("but its control input 0 'Const:0' "
                                     "belongs to graph 'training' (id ",
                                     training.id(), ")")));
  CrossGraphEdge e = EdgeOf(y.t.status());
  EXPECT_TRUE(e.control_input);
  EXPECT_EQ(e.input_index, 0);
  EXPECT_EQ(e.op_type, "Const");
  EXPECT_EQ(e.op_site.line, y.line);
  EXPECT_EQ(e.input_site.line, x.line);

  // The index counts control inputs only; data inputs are checked too.
  Built z{ops::Neg(local, {.control_inputs = {local, x.t}}), __LINE__};
  e = EdgeOf(z.t.status());
  EXPECT_TRUE(e.control_input);
  EXPECT_EQ(e.input_index, 1);
  EXPECT_THAT(z.t.status().message(), HasSubstr("but its control input 1 "));
  EXPECT_EQ(serving.num_nodes(), 1);
  EXPECT_EQ(training.num_nodes(), 1);
}

TEST(CrossGraph, WorkerThreadWithoutScopeUsesRootGraph) {
  Graph model = Graph::Create("model");
  int model_scope_line;
  Built x;
  {
    // clang-format off
    model_scope_line = __LINE__; GraphScope scope(model);
    // clang-format on
    const OpOptions named_x{.name = "x"};
    x = Built{ops::Placeholder(DType::kFloat32, {-1, 4}, named_x), __LINE__};
  }
  ASSERT_TRUE(x.t.ok());
  const int root_before = RootGraph().num_nodes();

  Built y;
  std::thread worker([&] {
    SetCurrentThreadName("worker-3");
    y = Built{ops::Relu(x.t), __LINE__};
  });
  worker.join();

  ASSERT_FALSE(y.t.ok());
  const absl::Status& s = y.t.status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  const Graph root = RootGraph();
  EXPECT_THAT(s.message(),
              StartsWith(absl::StrCat("cross-graph edge rejected: op 'Relu' "
                                      "(Relu) is being built in graph 'root' "
                                      "(id ",
                                      root.id(),
                                      "),\nbut its input 0 'x:0' "
                                      "belongs to graph 'model'")));
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("\n  op built at ", At(y.line), " in ")));
  EXPECT_THAT(s.message(), HasSubstr(", thread 'worker-3'\n"));
  EXPECT_THAT(s.message(),
              HasSubstr("\n  'root' is the root graph because thread "
                        "'worker-3' has no GraphScope"));
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("\n  'x:0' was created at ", At(x.line))));
  EXPECT_THAT(s.message(), HasSubstr("thread 'main',\n    under the GraphScope "
                                     "pushed at " +
                                     At(model_scope_line)));
  EXPECT_THAT(
      s.message(),
      HasSubstr("\n  fix: build the op under a GraphScope for 'model'"));
  EXPECT_THAT(s.message(), HasSubstr("GraphContext::Capture() and "
                                     "ContextScope"));

  const CrossGraphEdge e = EdgeOf(s);
  EXPECT_EQ(e.graph_source, GraphSource::kRootGraph);
  EXPECT_EQ(e.graph_name, "root");
  EXPECT_EQ(e.graph_id, root.id());
  EXPECT_EQ(e.op_thread, "worker-3");
  EXPECT_EQ(e.input_thread, "main");
  EXPECT_EQ(e.input_graph_name, "model");
  EXPECT_EQ(e.op_site.line, y.line);
  EXPECT_EQ(e.input_site.line, x.line);
  EXPECT_EQ(RootGraph().num_nodes(), root_before);
  EXPECT_EQ(model.num_nodes(), 1);
}

TEST(CrossGraph, FixLineMentionsContextScopeOnlyForRootGraph) {
  Graph a = Graph::Create("a");
  Graph b = Graph::Create("b");
  Tensor x = ops::Const(NDArray::Scalar(1.0f), {.graph = a});
  GraphScope scope(b);
  EXPECT_THAT(ops::Neg(x).status().message(),
              Not(HasSubstr("GraphContext::Capture")));
}

TEST(CrossGraph, ContextScopeNoteSaysCarriedIntoThread) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  Tensor x = ops::Const(NDArray::Scalar(1.0f), {.graph = training});
  int serving_scope_line, cs_line = 0;
  std::optional<GraphContext> ctx;
  {
    // clang-format off
    serving_scope_line = __LINE__; GraphScope scope(serving);
    // clang-format on
    ctx = GraphContext::Capture();
  }
  Built y;
  std::thread worker([&] {
    SetCurrentThreadName("worker-7");
    // clang-format off
    cs_line = __LINE__; ContextScope cs(*ctx);
    // clang-format on
    y = Built{ops::Neg(x), __LINE__};
  });
  worker.join();
  ASSERT_FALSE(y.t.ok());
  const CrossGraphEdge e = EdgeOf(y.t.status());
  EXPECT_EQ(e.graph_source, GraphSource::kGraphScope);
  EXPECT_EQ(e.graph_name, "serving");
  EXPECT_EQ(e.op_thread, "worker-7");
  EXPECT_THAT(y.t.status().message(),
              HasSubstr(absl::StrCat(
                  "\n  'serving' is the default graph because of the "
                  "GraphScope pushed at ",
                  At(serving_scope_line), " in ", e.op_site.function,
                  " on thread 'main', carried into thread 'worker-7' by the "
                  "ContextScope at ",
                  At(cs_line))));
  EXPECT_EQ(serving.num_nodes(), 0);
}

TEST(CrossGraph, InputBuiltUnderCarriedScopeSaysSo) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  GraphContext ctx;
  {
    GraphScope scope(training);
    ctx = GraphContext::Capture();
  }
  Tensor x;
  std::thread([&] {
    SetCurrentThreadName("loader");
    ContextScope cs(ctx);
    x = ops::Const(NDArray::Scalar(1.0f));
  }).join();
  ASSERT_TRUE(x.ok());
  GraphScope scope(serving);
  Tensor y = ops::Neg(x);
  const CrossGraphEdge e = EdgeOf(y.status());
  EXPECT_EQ(e.input_thread, "loader");
  EXPECT_THAT(e.input_origin, HasSubstr("on thread 'main', carried into "
                                        "thread 'loader' by the ContextScope"));
}

TEST(CrossGraph, ErrorPropagatesUnchangedAndAddsNothing) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  Tensor x = ops::Const(NDArray::Scalar(1.0f), {.graph = training});
  Tensor rejected;
  {
    GraphScope scope(serving);
    rejected = ops::Sigmoid(x);
  }
  ASSERT_FALSE(rejected.ok());
  const CrossGraphEdge first = EdgeOf(rejected.status());

  // Downstream ops in either graph return the same status, payload and all.
  std::vector<Tensor> downstream;
  {
    GraphScope scope(training);
    downstream.push_back(ops::Add(x, rejected));
    downstream.push_back(ops::Relu(rejected));
  }
  {
    GraphScope scope(serving);
    downstream.push_back(ops::Tanh(rejected));
    downstream.push_back(ops::Identity(
        ops::Const(NDArray::Scalar(1.0f), {.control_inputs = {rejected}})));
  }
  downstream.push_back(ops::ReduceSum(rejected, {}, {.graph = training}));
  absl::StatusOr<Tensor> via_add_op = training.AddOp("Neg", {rejected});
  EXPECT_EQ(via_add_op.status(), rejected.status());
  for (const Tensor& t : downstream) {
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status(), rejected.status());
    const CrossGraphEdge e = EdgeOf(t.status());
    EXPECT_EQ(e.op_name, first.op_name);
    EXPECT_EQ(e.op_site.line, first.op_site.line);
    EXPECT_EQ(e.input_name, "Const:0");
    EXPECT_EQ(e.graph_id, serving.id());
  }
  EXPECT_EQ(training.num_nodes(), 1);
  EXPECT_EQ(serving.num_nodes(), 0);
}

TEST(CrossGraph, StatusWithoutPayloadHasNoEdge) {
  EXPECT_FALSE(GetCrossGraphEdge(absl::OkStatus()).has_value());
  EXPECT_FALSE(
      GetCrossGraphEdge(absl::InvalidArgumentError("plain")).has_value());
  absl::Status garbage = absl::InvalidArgumentError("x");
  garbage.SetPayload("weft.dev/CrossGraphEdge", absl::Cord("3:ab"));
  EXPECT_FALSE(GetCrossGraphEdge(garbage).has_value());
  EXPECT_FALSE(GetOpErrorInfo(absl::InternalError("y")).has_value());
}

TEST(CrossGraph, StackTraceModeAddsStackToErrors) {
  ProvenanceModeGuard guard(ProvenanceMode::kStackTraces);
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor f = ops::Placeholder(DType::kFloat32, {2});
  Tensor i = ops::Placeholder(DType::kInt32, {2});
  ASSERT_NE(f.provenance().stack, nullptr);
  EXPECT_FALSE(f.provenance().stack->empty());
  Built bad{ops::Add(f, i), __LINE__};
  ASSERT_FALSE(bad.t.ok());
  const std::string msg(bad.t.status().message());
  EXPECT_THAT(msg, HasSubstr("dtype mismatch"));
  EXPECT_THAT(msg, HasSubstr(absl::StrCat("op built at ", At(bad.line))));
  const size_t stack = msg.find("\n  stack:\n");
  ASSERT_NE(stack, std::string::npos) << msg;
  EXPECT_THAT(msg.substr(stack + 10), StartsWith("    "));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(bad.t.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kDType);
}

TEST(CrossGraph, DefaultModeHasNoStack) {
  ASSERT_EQ(GetProvenanceMode(), ProvenanceMode::kSourceLocation);
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor f = ops::Placeholder(DType::kFloat32, {2});
  Tensor i = ops::Placeholder(DType::kInt32, {2});
  EXPECT_EQ(f.provenance().stack, nullptr);
  EXPECT_THAT(ops::Add(f, i).status().message(), Not(HasSubstr("stack:")));
}

}  // namespace
}  // namespace weft

// ------------------------------------------------- provenance site names --

namespace weft {
namespace {

std::source_location HereInFreeFunction() {
  return std::source_location::current();
}

template <typename T>
struct Box {
  static std::source_location Get(std::pair<int, int>) {
    return std::source_location::current();
  }
};

struct Functor {
  std::source_location operator()(int) const {
    return std::source_location::current();
  }
  bool operator<(const Functor&) const {
    last = std::source_location::current();
    return false;
  }
  mutable std::source_location last;
};

std::source_location InLambda() {
  return [] { return std::source_location::current(); }();
}

std::string Fn(const std::source_location& loc) {
  return SourceSite::From(loc).function;
}

TEST(Provenance, SiteFunctionNamesAreShort) {
  // No return type, no parameters, no anonymous namespaces.
  EXPECT_EQ(Fn(HereInFreeFunction()), "weft::HereInFreeFunction");
  const std::string box = Fn(Box<std::pair<int, int>>::Get({}));
  EXPECT_THAT(box, ::testing::StartsWith("weft::Box<"));
  EXPECT_THAT(box, EndsWith(">::Get"));
  EXPECT_EQ(Fn(Functor()(1)), "weft::Functor::operator()");
  Functor f;
  (void)(f < f);
  EXPECT_EQ(Fn(f.last), "weft::Functor::operator<");
  EXPECT_EQ(Fn(InLambda()), "weft::InLambda");
  // The site line reads like docs/design.md's "model.cc:42 in BuildHead".
  EXPECT_THAT(
      SourceSite::From(HereInFreeFunction()).ToString(),
      ::testing::MatchesRegex(
          ".*cross_graph_test\\.cc:[0-9]+ in weft::HereInFreeFunction"));
}

}  // namespace
}  // namespace weft
