// Tests for Graph, Node and Tensor: creation, naming, finalize, node contents,
// lifetime, null handles and concurrent building.

#include "graph/graph.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <source_location>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/device_kind.h"
#include "graph/errors.h"
#include "graph/ndarray.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/resource.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Tensor ScalarConst(float v, const OpOptions& options = {}) {
  return ops::Const(NDArray::Scalar(v), options);
}

TEST(Graph, Create) {
  Graph g = Graph::Create("training");
  EXPECT_FALSE(g.is_null());
  EXPECT_EQ(g.name(), "training");
  EXPECT_EQ(g.num_nodes(), 0);
  EXPECT_FALSE(g.finalized());
  EXPECT_THAT(g.nodes(), IsEmpty());
  EXPECT_EQ(g.DisplayName(), absl::StrCat("'training' (id ", g.id(), ")"));
  EXPECT_EQ(Graph::Create().name(), "");
}

TEST(Graph, IdsAreUniqueAndNamesNeedNotBe) {
  Graph a = Graph::Create("same");
  Graph b = Graph::Create("same");
  EXPECT_EQ(a.name(), b.name());
  EXPECT_NE(a.id(), b.id());
  EXPECT_FALSE(a == b);
  Graph a2 = a;
  EXPECT_TRUE(a2 == a);
  EXPECT_EQ(a2.id(), a.id());
}

TEST(Graph, AutoNamesGetSuffixes) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ScalarConst(1);
  Tensor a0 = ops::Add(x, x);
  Tensor a1 = ops::Add(x, x);
  Tensor a2 = ops::Add(x, x);
  EXPECT_EQ(x.node_name(), "Const");
  EXPECT_EQ(a0.node_name(), "Add");
  EXPECT_EQ(a1.node_name(), "Add_1");
  EXPECT_EQ(a2.node_name(), "Add_2");
  EXPECT_EQ(a2.name(), "Add_2:0");
  EXPECT_EQ(g.num_nodes(), 4);
}

TEST(Graph, ExplicitNamesAndCollisions) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ScalarConst(1, {.name = "x"});
  Tensor y = ScalarConst(2, {.name = "x"});
  Tensor z = ScalarConst(3, {.name = "x"});
  EXPECT_EQ(x.node_name(), "x");
  EXPECT_EQ(y.node_name(), "x_1");
  EXPECT_EQ(z.node_name(), "x_2");
  // A user name that looks like a generated one is respected, and the
  // generator skips it.
  Tensor a = ScalarConst(4, {.name = "Const_1"});
  Tensor b = ScalarConst(5);
  Tensor c = ScalarConst(6);
  EXPECT_EQ(a.node_name(), "Const_1");
  EXPECT_EQ(b.node_name(), "Const");
  EXPECT_EQ(c.node_name(), "Const_2");
}

TEST(Graph, NameScopePrefixesAndNests) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor outer, inner, named, back;
  {
    NameScope l1("layer1");
    outer = ScalarConst(1);
    {
      NameScope dense("dense");
      inner = ScalarConst(2);
      named = ScalarConst(3, {.name = "bias"});
    }
    back = ScalarConst(4);
  }
  Tensor top = ScalarConst(5);
  EXPECT_EQ(outer.node_name(), "layer1/Const");
  EXPECT_EQ(inner.node_name(), "layer1/dense/Const");
  EXPECT_EQ(named.node_name(), "layer1/dense/bias");
  EXPECT_EQ(back.node_name(), "layer1/Const_1");
  EXPECT_EQ(top.node_name(), "Const");
  EXPECT_EQ(inner.provenance().name_scope, "layer1/dense");
  EXPECT_EQ(top.provenance().name_scope, "");
}

TEST(Graph, EmptyNameScopeAddsNoPrefix) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  NameScope a("a");
  NameScope empty("");
  EXPECT_EQ(ScalarConst(1).node_name(), "a/Const");
}

TEST(Graph, InvalidNamesAreRejectedAndAddNothing) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  for (std::string bad : {"a:b", "a//b", "/a", "a/", "sp ace"}) {
    Tensor t = ScalarConst(1, {.name = bad});
    EXPECT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(t.status().message(), HasSubstr("invalid node name")) << bad;
    std::optional<OpErrorInfo> info = GetOpErrorInfo(t.status());
    ASSERT_TRUE(info.has_value()) << bad;
    EXPECT_EQ(info->kind, ErrorKind::kName);
  }
  {
    NameScope bad_scope("bad:scope");
    Tensor t = ScalarConst(1);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("'bad:scope/Const'"));
  }
  {
    absl::StatusOr<Tensor> t = g.AddOp(
        "Const", {}, {{"value", NDArray::Scalar(1.0f)}}, {.name = "x//y"});
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("empty scope segment"));
  }
  EXPECT_EQ(g.num_nodes(), 0);
}

TEST(Graph, FinalizeRejectsFurtherOps) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ScalarConst(1);
  ASSERT_TRUE(x.ok());
  // clang-format off
  const int finalize_line = __LINE__; g.Finalize();
  // clang-format on
  EXPECT_TRUE(g.finalized());
  Tensor y = ops::Neg(x);
  ASSERT_FALSE(y.ok());
  EXPECT_EQ(y.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      y.status().message(),
      HasSubstr(absl::StrCat("finalized at ", __FILE__, ":", finalize_line)));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(y.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kFinalized);
  absl::StatusOr<Tensor> z = g.AddOp("Neg", {x});
  EXPECT_EQ(z.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(g.num_nodes(), 1);
  // Finalizing twice keeps the first site.
  g.Finalize();
  EXPECT_THAT(ops::Neg(x).status().message(),
              HasSubstr(absl::StrCat(__FILE__, ":", finalize_line)));
}

TEST(Graph, NodeContents) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{2, 3}, {.name = "a"});
  Tensor b = ScalarConst(1, {.name = "b"});
  Tensor c = ops::Add(a, b, {.name = "sum", .control_inputs = {b}});
  ASSERT_TRUE(c.ok()) << c.status();
  const Node* n = c.node();
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->id(), 2);
  EXPECT_EQ(n->name(), "sum");
  EXPECT_EQ(n->op(), "Add");
  EXPECT_THAT(n->inputs(), ElementsAre(NodeInput{0, 0}, NodeInput{1, 0}));
  EXPECT_THAT(n->control_inputs(), ElementsAre(1));
  EXPECT_EQ(n->num_outputs(), 1);
  EXPECT_THAT(n->output_dtypes(), ElementsAre(DType::kFloat32));
  EXPECT_THAT(n->output_shapes(), ElementsAre(Shape{2, 3}));
  EXPECT_EQ(n->device(), "");
  EXPECT_EQ(c.dtype(), DType::kFloat32);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.index(), 0);
  EXPECT_TRUE(c.graph() == g);

  const Node* pa = a.node();
  ASSERT_NE(FindAttr<DType>(pa->attrs(), "dtype"), nullptr);
  EXPECT_EQ(*FindAttr<DType>(pa->attrs(), "dtype"), DType::kFloat32);
  EXPECT_EQ(*FindAttr<Shape>(pa->attrs(), "shape"), (Shape{2, 3}));
  EXPECT_EQ(FindAttr<int64_t>(pa->attrs(), "shape"), nullptr);

  EXPECT_EQ(g.node(0), a.node());
  EXPECT_EQ(g.node(3), nullptr);
  EXPECT_EQ(g.node(-1), nullptr);
  EXPECT_THAT(g.nodes(), ElementsAre(a.node(), b.node(), c.node()));
  EXPECT_THAT(g.DebugString(), HasSubstr("2 sum = Add(a:0, b:0, ^b)"));
}

TEST(Graph, DeviceFromOptionsAndScope) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor none = ScalarConst(1);
  Tensor opt = ScalarConst(1, {.device = "cpu:2"});
  Tensor in_scope, override, cleared;
  {
    DeviceScope ds("cpu:1");
    in_scope = ScalarConst(1);
    override = ScalarConst(1, {.device = "cpu:3"});
    {
      DeviceScope inner("");
      cleared = ScalarConst(1);
    }
  }
  EXPECT_EQ(none.node()->device(), "");
  EXPECT_EQ(opt.node()->device(), "cpu:2");
  EXPECT_EQ(in_scope.node()->device(), "cpu:1");
  EXPECT_EQ(override.node()->device(), "cpu:3");
  EXPECT_EQ(cleared.node()->device(), "");
}

TEST(Graph, UnregisteredDeviceKindIsABuildError) {
  Graph g = Graph::Create("g");
  const int before = g.num_nodes();
  Tensor t = ops::Const(NDArray::Scalar(1.0f), {.graph = g, .device = "gpu:0"});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(),
              HasSubstr("device 'gpu:0' has kind 'gpu', which is not "
                        "registered (registered kinds: cpu"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(t.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kDevice);
  EXPECT_EQ(g.num_nodes(), before);
  // Through a DeviceScope too.
  DeviceScope ds("tpu:1");
  Tensor u = ops::Const(NDArray::Scalar(1.0f), {.graph = g});
  ASSERT_FALSE(u.ok());
  EXPECT_THAT(u.status().message(), HasSubstr("kind 'tpu'"));
}

TEST(Graph, RegisteredDeviceKindsAreAccepted) {
  EXPECT_TRUE(IsDeviceKindRegistered("cpu"));
  EXPECT_EQ(RegisterDeviceKind("cpu").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterDeviceKind("Bad-Kind").code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(RegisterDeviceKind("graphtestkind").ok());
  Graph g = Graph::Create("g");
  Tensor t = ops::Const(NDArray::Scalar(1.0f),
                        {.graph = g, .device = "graphtestkind:0"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t.node()->device(), "graphtestkind:0");
  std::vector<std::string> kinds = RegisteredDeviceKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "graphtestkind"),
            kinds.end());
}

TEST(Graph, InvalidDeviceIsAnError) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  for (std::string bad :
       {"cpu", "cpu:", "cpu:-1", ":0", "CPU:0", "cpu:x", "cpu: 1", "cpu:1 ",
        "cpu:+1", "cpu:1:2", "/job:w/task:0", "/job:/task:0/cpu:0",
        "/job:W/task:0/cpu:0", "/job:w/task:x/cpu:0", "/job:w/task:/cpu:0",
        "/job:w/cpu:0", "/task:0/cpu:0", "/job:w/task:0/CPU:0"}) {
    Tensor t = ScalarConst(1, {.device = bad});
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("invalid device"));
    std::optional<OpErrorInfo> info = GetOpErrorInfo(t.status());
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->kind, ErrorKind::kDevice);
  }
  {
    DeviceScope ds("nonsense");
    EXPECT_THAT(ScalarConst(1).status().message(),
                HasSubstr("invalid device 'nonsense'"));
  }
  EXPECT_EQ(g.num_nodes(), 0);
}

TEST(Graph, ATaskDeviceNamesItsJobTaskAndLocalDevice) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor t = ScalarConst(1, {.device = "/job:worker-2/task:13/cpu:1"});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(DeviceTaskOf(t.node()->device()), "/job:worker-2/task:13");
  EXPECT_EQ(LocalDeviceOf(t.node()->device()), "cpu:1");
  EXPECT_EQ(DeviceKindOf(t.node()->device()), "cpu");
  std::optional<TaskName> task = ParseTaskName("/job:worker-2/task:13");
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(task->job, "worker-2");
  EXPECT_EQ(task->task, 13);
  EXPECT_EQ(task->ToString(), "/job:worker-2/task:13");
  EXPECT_EQ(DeviceTaskOf("cpu:0"), "");
  EXPECT_EQ(LocalDeviceOf("cpu:0"), "cpu:0");
}

TEST(Graph, GetTensorAndFindNode) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  NameScope ns("s");
  Tensor x = ScalarConst(1, {.name = "x"});
  EXPECT_EQ(g.FindNode("s/x"), x.node());
  EXPECT_EQ(g.FindNode("x"), nullptr);

  absl::StatusOr<Tensor> by_node = g.GetTensor("s/x");
  ASSERT_TRUE(by_node.ok()) << by_node.status();
  EXPECT_EQ(by_node->node(), x.node());
  EXPECT_EQ(by_node->name(), "s/x:0");
  absl::StatusOr<Tensor> by_slot = g.GetTensor("s/x:0");
  ASSERT_TRUE(by_slot.ok());
  EXPECT_EQ(by_slot->node(), x.node());

  EXPECT_EQ(g.GetTensor("s/x:1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(g.GetTensor("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(g.GetTensor("nope").status().message(), HasSubstr("'nope'"));
  EXPECT_EQ(g.GetTensor("s/x:abc").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g.GetTensor("s/x:-1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A resource no one else refers to: alive exactly as long as the graph
// whose node holds it in an attribute (GraphImpl is private to graph/, so
// the graph's lifetime is observed through what it owns).
class LifetimeProbe : public Resource {
 public:
  LifetimeProbe() : Resource("probe", std::source_location::current()) {}
  std::string_view kind() const override { return "LifetimeProbe"; }
};

// An op holding a LifetimeProbe in attr "probe".
void RegisterProbeOp() {
  static const bool registered = [] {
    absl::Status s = OpRegistry::Global().Register(
        {"GraphTestProbe", 0, {"probe"}, [](InferenceContext& c) {
           c.SetOutput(DType::kFloat32, Shape{});
           return absl::OkStatus();
         }});
    return s.ok();
  }();
  ASSERT_TRUE(registered);
}

TEST(Graph, TensorKeepsGraphAlive) {
  RegisterProbeOp();
  Tensor x;
  std::weak_ptr<Resource> weak;
  {
    Graph g = Graph::Create("ephemeral");
    auto probe = std::make_shared<LifetimeProbe>();
    weak = probe;
    ASSERT_TRUE(
        g.AddOp("GraphTestProbe", {}, {{"probe", ResourceRef(probe)}}).ok());
    x = ScalarConst(2, {.graph = g});
  }
  ASSERT_FALSE(weak.expired());
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x.graph().name(), "ephemeral");
  // Build more ops from the tensor alone.
  Tensor y = ops::Mul(x, x, {.graph = x.graph()});
  ASSERT_TRUE(y.ok()) << y.status();
  {
    GraphScope scope(x.graph());
    Tensor z = ops::Add(y, x);
    ASSERT_TRUE(z.ok()) << z.status();
    EXPECT_EQ(z.node()->inputs()[0].node, y.node()->id());
  }
  EXPECT_EQ(x.graph().num_nodes(), 4);  // The probe, x, y and z.
  x = Tensor();
  y = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(Graph, NullHandleAddOpIsFailedPrecondition) {
  Graph null;
  EXPECT_TRUE(null.is_null());
  EXPECT_EQ(null.name(), "");
  EXPECT_EQ(null.id(), -1);
  EXPECT_EQ(null.num_nodes(), 0);
  EXPECT_FALSE(null.finalized());
  null.Finalize();  // No-op, no crash.
  EXPECT_EQ(null.node(0), nullptr);
  EXPECT_EQ(null.FindNode("x"), nullptr);
  EXPECT_THAT(null.nodes(), IsEmpty());
  EXPECT_EQ(null.DisplayName(), "<null graph>");
  EXPECT_EQ(null.GetTensor("x").status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<Tensor> t =
      null.AddOp("Const", {}, {{"value", NDArray::Scalar(1.0f)}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(t.status().message(), HasSubstr("null Graph handle"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(t.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kNullGraph);
}

TEST(Graph, OpsUnderNullGraphScopeFail) {
  GraphScope scope{Graph()};
  Tensor t = ScalarConst(1);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(t.status().message(), HasSubstr("null Graph handle"));
  Tensor u = ScalarConst(1, {.graph = Graph()});
  EXPECT_EQ(u.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Graph, NonOkInputWinsOverNullHandle) {
  Tensor never_built;
  Graph null;
  absl::StatusOr<Tensor> t = null.AddOp("Neg", {never_built});
  EXPECT_EQ(t.status(), never_built.status());
  absl::StatusOr<Tensor> c =
      null.AddOp("Const", {}, {{"value", NDArray::Scalar(1.0f)}},
                 {.control_inputs = {never_built}});
  EXPECT_EQ(c.status(), never_built.status());
  GraphScope scope(null);
  EXPECT_EQ(ScalarConst(1, {.control_inputs = {never_built}}).status(),
            never_built.status());
  EXPECT_EQ(ops::Neg(never_built).status(), never_built.status());
}

TEST(Graph, DefaultTensorIsNotOk) {
  Tensor t;
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(t.status().message(), HasSubstr("never built"));
  // Accessors don't crash.
  EXPECT_EQ(t.name(), "");
  EXPECT_EQ(t.node_name(), "");
  EXPECT_EQ(t.dtype(), DType::kFloat32);
  EXPECT_TRUE(t.shape().IsScalar());
  EXPECT_EQ(t.node(), nullptr);
  EXPECT_TRUE(t.graph().is_null());
  EXPECT_EQ(t.provenance().thread, "");

  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor u = ops::Neg(t);
  EXPECT_EQ(u.status(), t.status());
  Tensor v = ops::Add(ScalarConst(1), t);
  EXPECT_EQ(v.status(), t.status());
  absl::StatusOr<Tensor> w = g.AddOp("Neg", {t});
  EXPECT_EQ(w.status(), t.status());
  Tensor c = ScalarConst(1, {.control_inputs = {t}});
  EXPECT_EQ(c.status(), t.status());
  EXPECT_EQ(g.num_nodes(), 1);  // The one good Const only.
}

TEST(Graph, AddOpWithMismatchedOptionsGraphIsAnError) {
  Graph g = Graph::Create("g");
  Graph h = Graph::Create("h");
  absl::StatusOr<Tensor> t =
      g.AddOp("Const", {}, {{"value", NDArray::Scalar(1.0f)}}, {.graph = h});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("name one graph"));
  EXPECT_EQ(g.num_nodes(), 0);
  EXPECT_EQ(h.num_nodes(), 0);
}

TEST(Graph, AddOpUsesExplicitHandleProvenance) {
  Graph g = Graph::Create("g");
  // clang-format off
  const int line = __LINE__; absl::StatusOr<Tensor> t = g.AddOp("Const", {}, {{"value", NDArray::Scalar(1.0f)}});
  // clang-format on
  ASSERT_TRUE(t.ok()) << t.status();
  const Provenance& p = t->provenance();
  EXPECT_EQ(p.graph_source, GraphSource::kExplicitHandle);
  EXPECT_EQ(static_cast<int>(p.where.line()), line);
  EXPECT_STREQ(p.where.file_name(), __FILE__);
  EXPECT_EQ(p.thread, "main");
}

TEST(Graph, ConcurrentBuildersLoseNothing) {
  constexpr int kThreads = 8;
  constexpr int kOpsPerThread = 500;
  Graph g = Graph::Create("shared");
  Tensor seed = ScalarConst(1, {.graph = g});
  ASSERT_TRUE(seed.ok());
  std::vector<std::vector<Tensor>> built(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      GraphScope scope(g);
      NameScope ns(t % 2 == 0 ? "even" : "");
      Tensor prev = seed;
      for (int i = 0; i < kOpsPerThread; ++i) {
        prev = (i % 3 == 0) ? ops::Add(prev, seed) : ops::Neg(prev);
        built[t].push_back(prev);
      }
    });
  }
  for (std::thread& th : threads) th.join();

  EXPECT_EQ(g.num_nodes(), 1 + kThreads * kOpsPerThread);
  std::set<std::string> names;
  std::set<int> ids;
  for (const std::vector<Tensor>& ts : built) {
    for (const Tensor& t : ts) {
      ASSERT_TRUE(t.ok()) << t.status();
      EXPECT_TRUE(names.insert(t.node_name()).second) << t.node_name();
      EXPECT_TRUE(ids.insert(t.node()->id()).second);
      EXPECT_EQ(g.FindNode(t.node_name()), t.node());
    }
  }
  // Ids are dense.
  std::vector<const Node*> nodes = g.nodes();
  ASSERT_EQ(nodes.size(), 1u + kThreads * kOpsPerThread);
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i]->id(), static_cast<int>(i));
  }
}

TEST(Graph, MissingRequiredAttrIsAnErrorBeforeInference) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Const(NDArray::Scalar<float>(1), {.graph = g});
  const int before = g.num_nodes();
  absl::StatusOr<Tensor> r = g.AddOp("Reshape", {x});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("Reshape requires attr 'shape'"));
  ASSERT_TRUE(GetOpErrorInfo(r.status()).has_value());
  EXPECT_EQ(GetOpErrorInfo(r.status())->kind, ErrorKind::kAttr);
  EXPECT_EQ(g.num_nodes(), before);
}

TEST(Graph, FinalizedWinsOverOtherBuildErrors) {
  Graph g = Graph::Create("g");
  Tensor f = ops::Const(NDArray::Scalar<float>(1), {.graph = g});
  Tensor i = ops::Const(NDArray::Scalar<int32_t>(1), {.graph = g});
  g.Finalize();
  // A dtype mismatch too, but the graph's state is the first thing to say.
  Tensor bad = ops::Add(f, i, {.graph = g});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetOpErrorInfo(bad.status())->kind, ErrorKind::kFinalized);
}

TEST(Graph, AddOpWithAnotherGraphInOptionsHasAPayload) {
  Graph a = Graph::Create("a"), b = Graph::Create("b");
  const int line = __LINE__ + 2;  // The line of the AddOp call.
  absl::StatusOr<Tensor> r =
      a.AddOp("Const", {}, {{"value", NDArray::Scalar<float>(1)}},
              OpOptions{.graph = b});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("was given OpOptions.graph 'b'"));
  auto info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kGraphMismatch);
  EXPECT_EQ(info->graph_id, a.id());
  EXPECT_EQ(info->site.line, line);
}

TEST(Graph, GetTensorRejectsMalformedSlots) {
  Graph g = Graph::Create("g");
  ops::Const(NDArray::Scalar<float>(1), {.name = "x", .graph = g});
  EXPECT_TRUE(g.GetTensor("x:0").ok());
  EXPECT_TRUE(g.GetTensor("x").ok());
  for (const char* bad : {"x: 0", "x:+0", "x:", "x:0 ", "x:-1"}) {
    EXPECT_EQ(g.GetTensor(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(g.GetTensor("x:1").status().code(), absl::StatusCode::kNotFound);
}

TEST(Graph, ReshapeMinusOneNextToZeroIsAmbiguous) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{0, 4}, {.graph = g});
  Tensor r = ops::Reshape(x, Shape{0, -1}, {.graph = g});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("a -1 is ambiguous next to a 0 dimension"));
  EXPECT_EQ(GetOpErrorInfo(r.status())->kind, ErrorKind::kShape);
}

}  // namespace
}  // namespace weft
