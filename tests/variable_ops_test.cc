// Tests of the variable graph ops: reads and updates from any graph, build
// errors naming the variable, exact AssignAdd under contention from one
// session and from several graphs, whole-value reads while writers run,
// targets, and the training/serving scenario over two graphs.
#include "state/variable_ops.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph_io.h"
#include "graph/graph_io_internal.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/testing/files.h"
#include "tests/testing/run_helpers.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using testing::MustCreateVariable;
using testing::ToVector;

TEST(VariableOps, ReadAssignAddSubInAnyGraph) {
  Variable w = MustCreateVariable("w", NDArray::Vector<float>({1, 2}));
  for (const char* name : {"a", "b"}) {
    Graph g = Graph::Create(name);
    GraphScope scope(g);
    Tensor read = ops::ReadVariable(w);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read.dtype(), DType::kFloat32);
    EXPECT_EQ(read.shape(), (Shape{2}));
    Tensor add = ops::AssignAdd(w, ops::Const(NDArray::Vector<float>({1, 1})));
    Tensor sub = ops::AssignSub(w, ops::Const(NDArray::Vector<float>({2, 2})));
    Tensor set = ops::Assign(w, ops::Const(NDArray::Vector<float>({5, 6})));
    auto session = *Session::Create(g);
    EXPECT_THAT(ToVector<float>((*session->Run({}, {read}))[0]),
                ::testing::ElementsAre(1, 2));
    EXPECT_THAT(ToVector<float>((*session->Run({}, {add}))[0]),
                ::testing::ElementsAre(2, 3));
    EXPECT_THAT(ToVector<float>((*session->Run({}, {sub}))[0]),
                ::testing::ElementsAre(0, 1));
    EXPECT_THAT(ToVector<float>((*session->Run({}, {set}))[0]),
                ::testing::ElementsAre(5, 6));
    EXPECT_THAT(ToVector<float>(w.value()), ::testing::ElementsAre(5, 6));
    ASSERT_TRUE(w.Assign(NDArray::Vector<float>({1, 2})).ok());
    std::vector<Variable> used = VariablesOf(g);
    ASSERT_EQ(used.size(), 1u);
    EXPECT_EQ(used[0], w);
  }
}

TEST(VariableOps, MismatchesAreBuildErrorsNamingTheVariable) {
  Variable w = MustCreateVariable("layer/w", NDArray::Vector<float>({1, 2}));
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor wrong_dtype =
      ops::Assign(w, ops::Const(NDArray::Vector<int32_t>({1, 2})));
  ASSERT_FALSE(wrong_dtype.ok());
  EXPECT_THAT(wrong_dtype.status().message(),
              HasSubstr("to variable 'layer/w' (float32[2], created at"));
  EXPECT_THAT(wrong_dtype.status().message(),
              HasSubstr("variable_ops_test.cc"));
  EXPECT_EQ(GetOpErrorInfo(wrong_dtype.status())->kind, ErrorKind::kDType);
  Tensor wrong_shape =
      ops::AssignAdd(w, ops::Const(NDArray::Vector<float>({1, 2, 3})));
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_THAT(wrong_shape.status().message(), HasSubstr("the shapes differ"));
  EXPECT_EQ(GetOpErrorInfo(wrong_shape.status())->kind, ErrorKind::kShape);
  Tensor null = ops::ReadVariable(Variable());
  ASSERT_FALSE(null.ok());
  EXPECT_THAT(null.status().message(), HasSubstr("null Variable"));
  Variable flag = MustCreateVariable("flag", NDArray::Scalar(true));
  Tensor bad_add = ops::AssignAdd(flag, ops::Const(NDArray::Scalar(true)));
  EXPECT_THAT(bad_add.status().message(), HasSubstr("numeric variable"));
  // An unknown dim that turns out wrong fails at run time; nothing changes.
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1});
  Tensor assign = ops::Assign(w, x);
  ASSERT_TRUE(assign.ok()) << assign.status();
  auto session = *Session::Create(g);
  auto r = session->Run({{x, NDArray::Vector<float>({1, 2, 3})}}, {assign});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("'layer/w'"));
  EXPECT_THAT(ToVector<float>(w.value()), ::testing::ElementsAre(1, 2));
}

TEST(VariableOps, ConcurrentAssignAddIsExactOneSessionAndManyGraphs) {
  constexpr int kThreads = 8;
  constexpr int kRuns = 10000;
  Variable counter = MustCreateVariable("counter", NDArray::Scalar<int64_t>(0));
  // One shared session.
  Graph g = Graph::Create("shared");
  Tensor inc = ops::AssignAdd(
      counter, ops::Const(NDArray::Scalar<int64_t>(1), {.graph = g}),
      {.graph = g});
  auto session = *Session::Create(g);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRuns; ++i) {
        EXPECT_TRUE(session->Run({}, {}, {inc}).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter.value().values<int64_t>()[0], kThreads * kRuns);
  // One graph and session per thread, same variable.
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Graph own = Graph::Create(absl::StrCat("g", t));
      GraphScope scope(own);
      Tensor one =
          ops::AssignAdd(counter, ops::Const(NDArray::Scalar<int64_t>(1)));
      auto s = *Session::Create(own);
      for (int i = 0; i < kRuns; ++i) EXPECT_TRUE(s->Run({}, {}, {one}).ok());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter.value().values<int64_t>()[0], 2 * kThreads * kRuns);
}

TEST(VariableOps, ReadersSeeOnlyWholeAssignedValues) {
  constexpr int kN = 4096;
  Variable v = MustCreateVariable(
      "v", *NDArray::Create<int32_t>(std::vector<int32_t>(kN, 0), Shape{kN}));
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor k = ops::Placeholder(DType::kInt32, Shape{kN});
  Tensor write = ops::Assign(v, k);
  Tensor read = ops::ReadVariable(v);
  auto session = *Session::Create(g);
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto out = session->Run({}, {read});
        if (!out.ok()) {
          torn.fetch_add(1);
          continue;
        }
        auto vals = (*out)[0].values<int32_t>();
        for (int32_t x : vals) {
          if (x != vals[0]) {
            torn.fetch_add(1);
            break;
          }
        }
      }
    });
  }
  for (int i = 1; i <= 300; ++i) {
    auto value =
        *NDArray::Create<int32_t>(std::vector<int32_t>(kN, i), Shape{kN});
    ASSERT_TRUE(session->Run({{k, value}}, {}, {write}).ok());
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(v.value().values<int32_t>()[0], 300);
}

// Training graph: y = x*w + b, gradient written out, applied with
// AssignSub; serving graph reads the same variables concurrently.
TEST(VariableOps, TrainingAndServingGraphsShareVariables) {
  Variable w = MustCreateVariable("model/w", NDArray::Scalar<float>(0));
  Variable b = MustCreateVariable("model/b", NDArray::Scalar<float>(0));
  Graph train = Graph::Create("train");
  Tensor loss, step_w, step_b;
  Tensor x, y;
  {
    GraphScope scope(train);
    x = ops::Placeholder(DType::kFloat32, Shape{-1});
    y = ops::Placeholder(DType::kFloat32, Shape{-1});
    Tensor pred =
        ops::Add(ops::Mul(x, ops::ReadVariable(w)), ops::ReadVariable(b));
    Tensor err = ops::Sub(pred, y);
    loss = ops::ReduceMean(ops::Mul(err, err), {});
    Tensor lr = ops::Const(NDArray::Scalar<float>(0.1f));
    Tensor two = ops::Const(NDArray::Scalar<float>(2));
    Tensor gw = ops::Mul(two, ops::ReduceMean(ops::Mul(err, x), {}));
    Tensor gb = ops::Mul(two, ops::ReduceMean(err, {}));
    step_w = ops::AssignSub(w, ops::Mul(lr, gw));
    step_b = ops::AssignSub(b, ops::Mul(lr, gb));
  }
  Graph serve = Graph::Create("serve");
  Tensor q, answer;
  {
    GraphScope scope(serve);
    q = ops::Placeholder(DType::kFloat32, Shape{});
    answer = ops::Add(ops::Mul(q, ops::ReadVariable(w)), ops::ReadVariable(b));
  }
  auto trainer = *Session::Create(train);
  auto server = *Session::Create(serve);
  // y = 3x + 1.
  NDArray xs = NDArray::Vector<float>({-1, 0, 1, 2});
  NDArray ys = NDArray::Vector<float>({-2, 1, 4, 7});
  std::atomic<bool> done{false};
  std::atomic<int> served{0};
  std::thread client([&] {
    while (!done.load()) {
      auto out = server->Run({{q, NDArray::Scalar<float>(10)}}, {answer});
      ASSERT_TRUE(out.ok()) << out.status();
      served.fetch_add(1);
    }
  });
  // Training starts once the client is serving, so the two overlap even on
  // a loaded machine (the trainer's 300 steps could otherwise finish before
  // the client thread first runs).
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (served.load() == 0 && absl::Now() < give_up) {
    std::this_thread::yield();
  }
  float first_loss = -1, last_loss = -1;
  for (int i = 0; i < 300; ++i) {
    auto out = trainer->Run({{x, xs}, {y, ys}}, {loss}, {step_w, step_b});
    ASSERT_TRUE(out.ok()) << out.status();
    const float l = (*out)[0].values<float>()[0];
    if (i == 0) first_loss = l;
    last_loss = l;
  }
  done = true;
  client.join();
  EXPECT_GT(served.load(), 0);
  EXPECT_LT(last_loss, first_loss / 100);
  EXPECT_NEAR(w.value().values<float>()[0], 3, 0.05);
  EXPECT_NEAR(b.value().values<float>()[0], 1, 0.05);
  auto final_answer = server->Run({{q, NDArray::Scalar<float>(10)}}, {answer});
  EXPECT_NEAR((*final_answer)[0].values<float>()[0], 31, 0.5);
}

TEST(VariableOps, GraphFilesBindVariablesByName) {
  Variable w = MustCreateVariable("saved/w", NDArray::Scalar<float>(2));
  Graph g = Graph::Create("g");
  Tensor y = ops::Mul(ops::ReadVariable(w, {.graph = g}),
                      ops::Const(NDArray::Scalar<float>(3), {.graph = g}),
                      {.name = "y", .graph = g});
  ASSERT_TRUE(y.ok()) << y.status();
  const std::string path = testing::TempPath("vars.pbtxt");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  absl::StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<Variable> used = VariablesOf(*loaded);
  ASSERT_EQ(used.size(), 1u);
  EXPECT_EQ(used[0], w);  // The same live variable, bound by name.
  auto session = *Session::Create(*loaded);
  auto out = session->Run({}, {*loaded->GetTensor("y")});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<float>()[0], 6);
  // With no live variable of that name, loading fails naming it.
  {
    Graph g2 = Graph::Create("g2");
    Variable tmp = MustCreateVariable("gone/v", NDArray::Scalar<float>(1));
    ASSERT_TRUE(ops::ReadVariable(tmp, {.graph = g2}).ok());
    ASSERT_TRUE(SaveGraph(g2, path).ok());
  }
  absl::StatusOr<Graph> unbound = LoadGraph(path);
  ASSERT_FALSE(unbound.ok());
  EXPECT_THAT(unbound.status().message(), HasSubstr("gone/v"));
}

// A cluster task loads the whole graph but owns none of the client's
// Variables: internal::ParseGraphWithStandIns builds the nodes that use
// them from the value specs the file records (format 1.2), and their
// kernels refuse to run with the stand-in.
TEST(VariableOps, StandInsBuildWhatUsesAVariableThisProcessLacks) {
  std::string contents;
  {
    Graph g = Graph::Create("g");
    Variable tmp = MustCreateVariable(
        "elsewhere/v",
        *NDArray::Create<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3}));
    Tensor y = ops::Neg(ops::ReadVariable(tmp, {.name = "read", .graph = g}),
                        {.name = "y", .graph = g});
    ASSERT_TRUE(y.ok()) << y.status();
    absl::StatusOr<std::string> text =
        SerializeGraph(g, GraphFileFormat::kText);
    ASSERT_TRUE(text.ok()) << text.status();
    contents = *text;
  }
  EXPECT_THAT(contents, HasSubstr("value_spec {\n    dtype: DT_FLOAT32\n"
                                  "    shape {\n      dim: 2\n      dim: 3"));
  EXPECT_EQ(ParseGraph(contents, GraphFileFormat::kText, "elsewhere.pbtxt")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<Graph> g = internal::ParseGraphWithStandIns(
      contents, GraphFileFormat::kText, "elsewhere.pbtxt");
  ASSERT_TRUE(g.ok()) << g.status();
  absl::StatusOr<Tensor> y = g->GetTensor("y");
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->dtype(), DType::kFloat32);
  EXPECT_EQ(y->shape(), Shape({2, 3}));
  {
    auto session = Session::Create(*g);
    const absl::Status s =
        session.ok() ? (*session)->Run({}, {*y}).status() : session.status();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(),
                HasSubstr("Variable 'elsewhere/v' (not in this process: a "
                          "Variable lives in the process that created it) "
                          "cannot be used here\n  fix: place the nodes that "
                          "use it on a device of the process that created "
                          "it"));
    std::optional<OpErrorInfo> info = GetOpErrorInfo(s);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->node_name, "read");
  }
  // A live Variable of that name is bound, as ParseGraph binds it.
  Variable v = MustCreateVariable(
      "elsewhere/v", *NDArray::Create<float>({1, 1, 1, 1, 1, 1}, Shape{2, 3}));
  g = internal::ParseGraphWithStandIns(contents, GraphFileFormat::kText,
                                       "elsewhere.pbtxt");
  ASSERT_TRUE(g.ok()) << g.status();
  auto session = Session::Create(*g);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run({}, {*g->GetTensor("y")});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(ToVector<float>((*out)[0]),
              ::testing::ElementsAre(-1, -1, -1, -1, -1, -1));
}

}  // namespace
}  // namespace weft
