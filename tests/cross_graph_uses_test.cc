// Tests that every API refusing a tensor of another graph says so with the
// one cross-graph error (graph/errors.h: MakeCrossGraphError) and attaches
// the CrossGraphEdge payload: op builders, Session feeds, fetches and
// targets, Function captures and outputs, the Batcher, PartitionGraph. Also
// that a traced body's error leads with the function's own fix and names
// Function::Trace, and that a body that throws leaves the tracing state
// intact.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "weft.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Two graphs: `model` (x -> y = Neg(x)) and `other` (a foreign Placeholder).
struct TwoGraphs {
  Graph model = Graph::Create("model");
  Graph other = Graph::Create("other");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, 2},
                              {.name = "x", .graph = model});
  Tensor y = ops::Neg(x, {.name = "y", .graph = model});
  Tensor foreign = ops::Placeholder(DType::kFloat32, Shape{-1, 2},
                                    {.name = "foreign", .graph = other});
};

// Asserts that `s` is the one cross-graph error about input `index`
// 'foreign:0' of graph 'other', used by `user` in graph 'model', and
// returns its payload.
CrossGraphEdge ExpectCrossGraph(const absl::Status& s, std::string_view user,
                                int index) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith("cross-graph edge rejected: op "));
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("'foreign:0' belongs to graph 'other'")));
  EXPECT_THAT(s.message(), HasSubstr("\n  fix: "));
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(s);
  EXPECT_TRUE(e.has_value()) << s;
  if (!e.has_value()) return {};
  EXPECT_EQ(e->op_type, user);
  EXPECT_EQ(e->graph_name, "model");
  EXPECT_EQ(e->input_name, "foreign:0");
  EXPECT_EQ(e->input_graph_name, "other");
  EXPECT_EQ(e->input_index, index);
  std::optional<OpErrorInfo> info = GetOpErrorInfo(s);
  EXPECT_TRUE(info.has_value());
  if (info.has_value()) {
    EXPECT_EQ(info->kind, ErrorKind::kCrossGraph);
  }
  return *e;
}

TEST(CrossGraph, OpBuilderInput) {
  TwoGraphs t;
  Tensor bad = ops::Add(t.x, t.foreign, {.graph = t.model});
  ASSERT_FALSE(bad.ok());
  CrossGraphEdge e = ExpectCrossGraph(bad.status(), "Add", 1);
  EXPECT_TRUE(e.fix.empty());  // The op builders' own advice.
  EXPECT_THAT(bad.status().message(),
              HasSubstr("fix: build the op under a GraphScope for 'other'"));
}

TEST(CrossGraph, SessionFeedFetchAndTarget) {
  TwoGraphs t;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(t.model);
  ASSERT_TRUE(session.ok()) << session.status();
  NDArray v = *NDArray::Create<float>({1, 2}, Shape{1, 2});
  CrossGraphEdge feed = ExpectCrossGraph(
      (*session)->Run({{t.foreign, v}}, {t.y}).status(), "Session::Run", 0);
  EXPECT_EQ(feed.op_name, "feed 0");
  CrossGraphEdge fetch =
      ExpectCrossGraph((*session)->Run({{t.x, v}}, {t.y, t.foreign}).status(),
                       "Session::Run", 1);
  EXPECT_EQ(fetch.op_name, "fetch 1");
  EXPECT_THAT(fetch.graph_reason,
              HasSubstr("'model' is the graph of the Session created at"));
  CrossGraphEdge target =
      ExpectCrossGraph((*session)->Run({{t.x, v}}, {t.y}, {t.foreign}).status(),
                       "Session::Run", 0);
  EXPECT_EQ(target.op_name, "target 0");
}

TEST(CrossGraph, BatcherInputAndOutput) {
  TwoGraphs t;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(t.model);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<std::unique_ptr<Batcher>> in =
      Batcher::Create(session->get(), {t.foreign}, {t.y});
  ASSERT_FALSE(in.ok());
  CrossGraphEdge e = ExpectCrossGraph(in.status(), "Batcher::Create", 0);
  EXPECT_EQ(e.op_name, "input 0");
  EXPECT_THAT(e.graph_reason, HasSubstr("the session runs graph 'model'"));
  EXPECT_THAT(e.fix, HasSubstr("tensors of the session's graph"));
  EXPECT_THAT(in.status().message(), Not(HasSubstr("GraphScope for")));
  absl::StatusOr<std::unique_ptr<Batcher>> out =
      Batcher::Create(session->get(), {t.x}, {t.y, t.foreign});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(ExpectCrossGraph(out.status(), "Batcher::Create", 1).op_name,
            "output 1");
}

TEST(CrossGraph, PartitionGraphFetch) {
  TwoGraphs t;
  absl::StatusOr<PartitionedGraph> pg = PartitionGraph(
      t.model, {t.foreign}, {}, std::vector<std::string>{"cpu:0"});
  ASSERT_FALSE(pg.ok());
  CrossGraphEdge e = ExpectCrossGraph(pg.status(), "PartitionGraph", 0);
  EXPECT_EQ(e.op_name, "fetch 0");
  EXPECT_THAT(pg.status().message(), HasSubstr("cross_graph_uses_test.cc"));
}

TEST(CrossGraph, FunctionCaptureCalledFromAnotherGraph) {
  TwoGraphs t;
  // A capture of `other`, then a call from `model`: the hidden capture input
  // belongs to `other`.
  absl::StatusOr<Function> f = Function::Trace(
      "add_foreign", {{DType::kFloat32, Shape{-1, 2}, "a"}},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Add(a[0], t.foreign)};
      },
      FunctionOptions{.captures = {t.foreign}});
  ASSERT_TRUE(f.ok()) << f.status();
  std::vector<Tensor> out = ops::Call(*f, {t.x}, {.graph = t.model});
  ASSERT_FALSE(out[0].ok());
  ExpectCrossGraph(out[0].status(), "Call", 1);
  EXPECT_THAT(out[0].status().message(), HasSubstr("is capture 0 of function"));
}

TEST(CrossGraph, FunctionOutputOfAnotherGraph) {
  TwoGraphs t;
  absl::StatusOr<Function> f =
      Function::Trace("returns_foreign", {},
                      [&](const std::vector<Tensor>&) -> std::vector<Tensor> {
                        return {t.foreign};
                      });
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("'foreign:0' belongs to graph "
                                              "'other'"));
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(f.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->op_type, "Function::Trace");
  EXPECT_EQ(e->op_name, "output 0");
  EXPECT_EQ(e->graph_name, "returns_foreign");
  EXPECT_THAT(e->fix, HasSubstr("FunctionOptions::captures"));
}

// Inside a body, the error leads with the function's fix, not a GraphScope,
// and says Function::Trace made the body graph current.
TEST(CrossGraph, TracedBodyErrorNamesFunctionTraceAndItsFix) {
  TwoGraphs t;
  absl::StatusOr<Function> f =
      Function::Trace("scale", {{DType::kFloat32, Shape{-1, 2}, "a"}},
                      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Mul(a[0], t.foreign)};
                      });
  ASSERT_FALSE(f.ok());
  const std::string msg(f.status().message());
  EXPECT_THAT(msg, HasSubstr(absl::StrCat(
                       "'scale' is the body graph of function 'scale', made "
                       "the default graph by Function::Trace at ",
                       __FILE__, ":")));
  // The same site as the note naming the function.
  const size_t made = msg.find("by Function::Trace at ");
  const size_t traced = msg.find("inside function 'scale' traced at ");
  ASSERT_NE(made, std::string::npos);
  ASSERT_NE(traced, std::string::npos);
  const std::string site_a =
      msg.substr(made + 22, msg.find(' ', made + 22) - made - 22);
  const std::string site_b =
      msg.substr(traced + 34, msg.find(' ', traced + 34) - traced - 34);
  EXPECT_EQ(site_a, site_b);
  EXPECT_THAT(msg, HasSubstr("fix: a function body is its own graph: pass the "
                             "value as an argument, or list it in "
                             "FunctionOptions::captures of 'scale'"));
  EXPECT_THAT(msg, Not(HasSubstr("GraphScope")));
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(f.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->op_type, "Mul");
  EXPECT_THAT(e->fix, HasSubstr("FunctionOptions::captures"));
}

// The tracing stack and the body's GraphScope are popped however the body
// leaves: after a throwing body, the same name traces again (a frame left
// behind would read as recursion) and ops land in the caller's graph.
TEST(Function, TraceOfABodyThatThrowsLeavesTheTracingStateIntact) {
  Graph caller = Graph::Create("caller");
  GraphScope scope(caller);
  auto body = [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
    Tensor n = ops::Neg(a[0]);
    if (n.ok()) throw std::runtime_error("user code failed");
    return {n};
  };
  EXPECT_THROW((void)Function::Trace("thrower",
                                     {{DType::kFloat32, Shape{2}, "a"}}, body),
               std::runtime_error);
  EXPECT_EQ(DefaultGraph(), caller);
  Tensor c = ops::Const(NDArray::Scalar<float>(1));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c.graph(), caller);
  absl::StatusOr<Function> again =
      Function::Trace("thrower", {{DType::kFloat32, Shape{2}, "a"}},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Neg(a[0])};
                      });
  EXPECT_TRUE(again.ok()) << again.status();
}

}  // namespace
}  // namespace weft
