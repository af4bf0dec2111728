// The ONNX converters of interop/onnx_control_flow_converters.cc (If and
// Loop onto weft's Cond and While): models with subgraphs built here,
// imported with ImportOnnxBytes and run. Covers both branches of If, a
// condition known at import, values of the enclosing graph read by the
// subgraphs (captures), Loop by trip count, by condition and by both,
// loop-carried values (one whose shape grows), scan outputs, If nested in
// a Loop, provenance inside a body, and the refusals.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/function_body.h"
#include "graph/ndarray.h"
#include "graph/node.h"
#include "gtest/gtest.h"
#include "interop/onnx_import.h"
#include "interop/onnx_tensor.h"
#include "onnx/onnx_pb.h"
#include "runtime/session.h"
#include "tests/onnx/one_node_model.h"

namespace weft {
namespace {

using onnx_internal::ToDoubles;
using testing::FillTensor;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::OnnxType;

constexpr DType kF32 = DType::kFloat32;
constexpr DType kI64 = DType::kInt64;
constexpr DType kBool = DType::kBool;

// A GraphProto being built: typed inputs and outputs (-1 = symbolic dim),
// nodes, Constant nodes.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* g) : g_(g) {}

  GraphBuilder& Input(const std::string& name, DType d,
                      std::vector<int64_t> dims) {
    Typed(g_->add_input(), name, d, dims);
    return *this;
  }
  GraphBuilder& Output(const std::string& name, DType d,
                       std::vector<int64_t> dims) {
    Typed(g_->add_output(), name, d, dims);
    return *this;
  }
  onnx::NodeProto* Node(const std::string& op, std::vector<std::string> in,
                        std::vector<std::string> out,
                        const std::string& name = "") {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    if (!name.empty()) n->set_name(name);
    for (const std::string& s : in) n->add_input(s);
    for (const std::string& s : out) n->add_output(s);
    return n;
  }
  GraphBuilder& Constant(const std::string& out, const NDArray& value) {
    onnx::AttributeProto* a = Node("Constant", {}, {out})->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    FillTensor(value, a->mutable_t());
    return *this;
  }
  GraphBuilder& Initializer(const std::string& name, const NDArray& value) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    FillTensor(value, t);
    return *this;
  }

 private:
  static void Typed(onnx::ValueInfoProto* vi, const std::string& name, DType d,
                    const std::vector<int64_t>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(OnnxType(d));
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] < 0) {
        shape->add_dim()->set_dim_param(absl::StrCat(name, "_", i));
      } else {
        shape->add_dim()->set_dim_value(dims[i]);
      }
    }
  }

  onnx::GraphProto* g_;
};

// The graph attribute `name` of `n`, to be filled.
GraphBuilder Subgraph(onnx::NodeProto* n, const std::string& name) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(name);
  return GraphBuilder(a->mutable_g());
}

class Model {
 public:
  explicit Model(int opset = 13) {
    model_.set_ir_version(8);
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model_.mutable_graph()->set_name("control_flow_test");
  }
  GraphBuilder graph() { return GraphBuilder(model_.mutable_graph()); }

  absl::StatusOr<OnnxModel> Import(const OnnxImportOptions& o = {}) const {
    return ImportOnnxBytes(model_.SerializeAsString(), "flow.onnx", o);
  }
  // Imports, feeds `feeds` to the model's inputs in order, fetches every
  // output.
  absl::StatusOr<std::vector<NDArray>> Run(const std::vector<NDArray>& feeds,
                                           const OnnxImportOptions& o = {}) {
    absl::StatusOr<OnnxModel> m = Import(o);
    if (!m.ok()) return m.status();
    if (m->inputs.size() != feeds.size()) {
      return absl::InternalError(
          absl::StrCat(m->inputs.size(), " inputs, ", feeds.size(), " feeds"));
    }
    Feeds f;
    for (size_t i = 0; i < feeds.size(); ++i)
      f.push_back({m->inputs[i], feeds[i]});
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(m->graph);
    if (!s.ok()) return s.status();
    return (*s)->Run(f, m->outputs);
  }

 private:
  onnx::ModelProto model_;
};

NDArray F32(std::vector<float> v, Shape s) {
  return *NDArray::Create<float>(v, std::move(s));
}
NDArray I64(std::vector<int64_t> v, Shape s) {
  return *NDArray::Create<int64_t>(v, std::move(s));
}
NDArray Bool(bool b) { return NDArray::Scalar<bool>(b); }

// ------------------------------------------------------------------ If --

// y = If(c) then x + x else -x, both branches reading the outer x.
Model IfOverOuterX() {
  Model m;
  GraphBuilder g = m.graph();
  g.Input("c", kBool, {}).Input("x", kF32, {3}).Output("y", kF32, {3});
  onnx::NodeProto* n = g.Node("If", {"c"}, {"y"}, "if");
  Subgraph(n, "then_branch")
      .Output("t", kF32, {3})
      .Node("Add", {"x", "x"}, {"t"}, "double");
  Subgraph(n, "else_branch")
      .Output("e", kF32, {3})
      .Node("Neg", {"x"}, {"e"}, "negate");
  return m;
}

TEST(OnnxIf, RunsTheBranchTheConditionSelects) {
  Model m = IfOverOuterX();
  const NDArray x = F32({1, -2, 3}, Shape{3});
  absl::StatusOr<std::vector<NDArray>> t = m.Run({Bool(true), x});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(ToDoubles((*t)[0]), (std::vector<double>{2, -4, 6}));
  absl::StatusOr<std::vector<NDArray>> e = m.Run({Bool(false), x});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(ToDoubles((*e)[0]), (std::vector<double>{-1, 2, -3}));
}

TEST(OnnxIf, BecomesACondWhoseBranchesCaptureTheOuterValue) {
  absl::StatusOr<OnnxModel> m = IfOverOuterX().Import();
  ASSERT_TRUE(m.ok()) << m.status();
  const Node* cond = m->graph.FindNode("if");
  ASSERT_NE(cond, nullptr);
  EXPECT_EQ(cond->op(), "Cond");
  // The predicate, then x once per branch (each branch's capture).
  EXPECT_EQ(cond->inputs().size(), 3u);
}

// An INT attribute `name` = `value`.
onnx::AttributeProto IntAttr(const std::string& name, int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

// Importing `m` is refused as unsupported (kUnimplemented), the message
// holding `text`.
void ExpectUnsupported(const Model& m, std::string_view text) {
  absl::StatusOr<OnnxModel> r = m.Import();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(r.status().message(), HasSubstr(std::string(text)));
}

// If over a bool input 'c' whose branches return constants of different
// shapes: float32[2] {1, 2} (then) and float32[3] {3, 4, 5} (else).
Model IfWithBranchesOfDifferentShapes() {
  Model m;
  GraphBuilder g = m.graph();
  g.Input("c", kBool, {}).Output("y", kF32, {-1});
  onnx::NodeProto* n = g.Node("If", {"c"}, {"y"}, "if");
  Subgraph(n, "then_branch")
      .Output("t", kF32, {2})
      .Constant("t", F32({1, 2}, Shape{2}));
  Subgraph(n, "else_branch")
      .Output("e", kF32, {3})
      .Constant("e", F32({3, 4, 5}, Shape{3}));
  return m;
}

TEST(OnnxIf, ConditionKnownAtImportInlinesTheBranch) {
  // Shapes differ: fine when only one branch is imported.
  Model m = IfWithBranchesOfDifferentShapes();
  OnnxImportOptions o;
  o.constant_inputs = {{"c", Bool(false)}};
  absl::StatusOr<std::vector<NDArray>> y = m.Run({}, o);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{3, 4, 5}));
}

TEST(OnnxIf, BranchesOfDifferentShapesAreRefused) {
  Model m = IfWithBranchesOfDifferentShapes();
  ExpectUnsupported(m,
                    "node #0 (If 'if'): output 0 is float32[2] in "
                    "then_branch but float32[3] in else_branch; weft's "
                    "Cond needs both branches to return the same shape");
}

TEST(OnnxIf, BranchesOfDifferentDtypesAreAnError) {
  Model m;
  GraphBuilder g = m.graph();
  g.Input("c", kBool, {}).Output("y", kF32, {2});
  onnx::NodeProto* n = g.Node("If", {"c"}, {"y"}, "if");
  Subgraph(n, "then_branch")
      .Output("t", kF32, {2})
      .Constant("t", F32({1, 2}, Shape{2}));
  Subgraph(n, "else_branch")
      .Output("e", kI64, {2})
      .Constant("e", I64({3, 4}, Shape{2}));
  absl::StatusOr<OnnxModel> r = m.Import();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("node #0 (If 'if'): output 0 is float32[2] in "
                        "then_branch but int64[2] in else_branch"));
}

// ---------------------------------------------------------------- Loop --

// Loop(M, cond, v) whose body computes v_out from (i, v_in) with `ops`
// (their last output is "v_out") and cond_out from `cond_ops` (last output
// "cond_out"; empty = Identity of cond_in).
struct LoopSpec {
  bool trip_count = true;
  bool condition = false;
  DType v_dtype = kF32;
  std::vector<int64_t> v_dims = {1};
  std::vector<int64_t> v_out_dims = {1};
};

onnx::NodeProto* AddLoop(GraphBuilder& g, const LoopSpec& s) {
  if (s.trip_count) g.Input("M", kI64, {});
  if (s.condition) g.Input("cond", kBool, {});
  g.Input("v", s.v_dtype, s.v_dims).Output("v_final", s.v_dtype, s.v_out_dims);
  return g.Node("Loop",
                {s.trip_count ? "M" : "", s.condition ? "cond" : "", "v"},
                {"v_final"}, "loop");
}

GraphBuilder Body(onnx::NodeProto* loop, const LoopSpec& s) {
  GraphBuilder b = Subgraph(loop, "body");
  b.Input("i", kI64, {}).Input("cond_in", kBool, {});
  b.Input("v_in", s.v_dtype, s.v_dims).Output("cond_out", kBool, {});
  b.Output("v_out", s.v_dtype, s.v_out_dims);
  return b;
}

TEST(OnnxLoop, TripCountOnlySumsTheIterationNumbers) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s{.v_dtype = kI64};
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Node("Add", {"v_in", "i"}, {"v_out"}, "add");
  absl::StatusOr<std::vector<NDArray>> y =
      m.Run({NDArray::Scalar<int64_t>(5), I64({100}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{110}));  // 100+0+..+4
  absl::StatusOr<std::vector<NDArray>> none =
      m.Run({NDArray::Scalar<int64_t>(0), I64({100}, Shape{1})});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(ToDoubles((*none)[0]), (std::vector<double>{100}));
}

// v doubles while the body's condition (v_out < 100) holds.
void DoublingBody(GraphBuilder& b) {
  b.Constant("two", F32({2}, Shape{1}));
  b.Constant("hundred", F32({100}, Shape{1}));
  b.Node("Mul", {"v_in", "two"}, {"v_out"}, "double");
  b.Node("Less", {"v_out", "hundred"}, {"less"});
  b.Node("Squeeze", {"less"}, {"cond_out"});
}

TEST(OnnxLoop, ConditionOnlyRunsUntilTheBodySaysStop) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s{.trip_count = false, .condition = true};
  GraphBuilder b = Body(AddLoop(g, s), s);
  DoublingBody(b);
  absl::StatusOr<std::vector<NDArray>> y =
      m.Run({Bool(true), F32({3}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{192}));
  // A false condition runs the body not at all.
  absl::StatusOr<std::vector<NDArray>> z =
      m.Run({Bool(false), F32({3}, Shape{1})});
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(ToDoubles((*z)[0]), (std::vector<double>{3}));
}

TEST(OnnxLoop, TripCountAndConditionStopAtWhicheverEndsFirst) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s{.trip_count = true, .condition = true};
  GraphBuilder b = Body(AddLoop(g, s), s);
  DoublingBody(b);
  absl::StatusOr<std::vector<NDArray>> by_count =
      m.Run({NDArray::Scalar<int64_t>(2), Bool(true), F32({3}, Shape{1})});
  ASSERT_TRUE(by_count.ok()) << by_count.status();
  EXPECT_EQ(ToDoubles((*by_count)[0]), (std::vector<double>{12}));
  absl::StatusOr<std::vector<NDArray>> by_cond =
      m.Run({NDArray::Scalar<int64_t>(50), Bool(true), F32({3}, Shape{1})});
  ASSERT_TRUE(by_cond.ok()) << by_cond.status();
  EXPECT_EQ(ToDoubles((*by_cond)[0]), (std::vector<double>{192}));
}

TEST(OnnxLoop, BodyReadsOuterValuesAsCaptures) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  g.Input("step", kF32, {1});
  g.Initializer("scale", F32({10}, Shape{1}));
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Node("Mul", {"step", "scale"}, {"inc"});  // Both from outside.
  b.Node("Add", {"v_in", "inc"}, {"v_out"});
  absl::StatusOr<OnnxModel> im = m.Import();
  ASSERT_TRUE(im.ok()) << im.status();
  const Node* loop = im->graph.FindNode("loop");
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->op(), "While");
  absl::StatusOr<std::vector<NDArray>> y = m.Run(
      {F32({0.5f}, Shape{1}), NDArray::Scalar<int64_t>(3), F32({1}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{16}));  // 1 + 3*5
}

TEST(OnnxLoop, ScanOutputsStackEveryIteration) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  onnx::NodeProto* loop = AddLoop(g, s);
  loop->add_output("trace");
  g.Output("trace", kF32, {-1, 2});
  GraphBuilder b = Body(loop, s);
  b.Output("pair", kF32, {2});
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Node("Cast", {"i"}, {"fi"})
      ->add_attribute()
      ->CopyFrom(IntAttr("to", onnx::TensorProto::FLOAT));
  b.Node("Add", {"v_in", "fi"}, {"v_out"});
  b.Node("Concat", {"v_in", "v_out"}, {"pair"})
      ->add_attribute()
      ->CopyFrom(IntAttr("axis", 0));
  absl::StatusOr<std::vector<NDArray>> y =
      m.Run({NDArray::Scalar<int64_t>(3), F32({1}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{4}));  // 1+0+1+2
  EXPECT_EQ((*y)[1].shape(), (Shape{3, 2}));
  EXPECT_EQ(ToDoubles((*y)[1]), (std::vector<double>{1, 1, 1, 2, 2, 4}));
  // No iteration: an empty scan.
  absl::StatusOr<std::vector<NDArray>> e =
      m.Run({NDArray::Scalar<int64_t>(0), F32({1}, Shape{1})});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)[1].shape(), (Shape{0, 2}));
}

TEST(OnnxLoop, CarriedValueMayGrow) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s{.v_dims = {1}, .v_out_dims = {-1}};
  onnx::NodeProto* loop = AddLoop(g, s);
  GraphBuilder b = Subgraph(loop, "body");
  b.Input("i", kI64, {}).Input("cond_in", kBool, {});
  b.Input("v_in", kF32, {-1}).Output("cond_out", kBool, {});
  b.Output("v_out", kF32, {-1});
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Constant("seven", F32({7}, Shape{1}));
  b.Node("Concat", {"v_in", "seven"}, {"v_out"})
      ->add_attribute()
      ->CopyFrom(IntAttr("axis", 0));
  absl::StatusOr<std::vector<NDArray>> y =
      m.Run({NDArray::Scalar<int64_t>(3), F32({1}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{1, 7, 7, 7}));
}

TEST(OnnxLoop, IfNestedInTheBodyCapturesBodyAndOuterValues) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  g.Input("delta", kF32, {1});
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Constant("two", NDArray::Scalar<int64_t>(2));
  b.Node("Less", {"i", "two"}, {"early"});
  onnx::NodeProto* n = b.Node("If", {"early"}, {"v_out"}, "choose");
  Subgraph(n, "then_branch")
      .Output("up", kF32, {1})
      .Node("Add", {"v_in", "delta"}, {"up"});
  Subgraph(n, "else_branch")
      .Output("down", kF32, {1})
      .Node("Sub", {"v_in", "delta"}, {"down"});
  absl::StatusOr<std::vector<NDArray>> y = m.Run(
      {F32({10}, Shape{1}), NDArray::Scalar<int64_t>(5), F32({0}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{-10}));  // +2 -3 steps
}

TEST(OnnxLoop, SliceByTheIterationNumber) {
  // node/test_loop11's body: x[i:i+1] with bounds computed at run time.
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Constant("x", F32({1, 2, 3, 4, 5}, Shape{5}));
  b.Constant("one", NDArray::Scalar<int64_t>(1));
  b.Constant("axes", I64({0}, Shape{1}));
  b.Node("Add", {"i", "one"}, {"end"});
  b.Node("Unsqueeze", {"i", "axes"}, {"starts"});
  b.Node("Unsqueeze", {"end", "axes"}, {"ends"});
  b.Node("Slice", {"x", "starts", "ends"}, {"slice"});
  b.Node("Add", {"v_in", "slice"}, {"v_out"});
  absl::StatusOr<std::vector<NDArray>> y =
      m.Run({NDArray::Scalar<int64_t>(4), F32({0}, Shape{1})});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(ToDoubles((*y)[0]), (std::vector<double>{10}));  // 1+2+3+4
}

TEST(OnnxLoop, RunTimeErrorInTheBodyNamesTheOnnxNode) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Constant("table", F32({1, 2}, Shape{2}));
  b.Node("Gather", {"table", "i"}, {"picked"}, "pick");
  b.Node("Add", {"v_in", "picked"}, {"v_out"});
  absl::StatusOr<std::vector<NDArray>> y =
      m.Run({NDArray::Scalar<int64_t>(3), F32({0}, Shape{1})});
  ASSERT_FALSE(y.ok());
  EXPECT_THAT(y.status().message(),
              HasSubstr("node 'loop/body/pick' in function 'loop/body'"));
  EXPECT_THAT(y.status().message(), HasSubstr("Gather index 2"));
  // The Gather inside the body keeps the ONNX node as its provenance: the
  // While's body Calls the ONNX body's function, which holds it.
  absl::StatusOr<OnnxModel> im = m.Import();
  ASSERT_TRUE(im.ok()) << im.status();
  const Node* loop = im->graph.FindNode("loop");
  ASSERT_NE(loop, nullptr);
  std::vector<std::shared_ptr<internal::FunctionBody>> fns =
      internal::CalledFunctions(*loop);
  ASSERT_EQ(fns.size(), 2u);  // cond, body
  const Node* call = fns[1]->graph.FindNode("body");
  ASSERT_NE(call, nullptr);
  std::vector<std::shared_ptr<internal::FunctionBody>> core =
      internal::CalledFunctions(*call);
  ASSERT_EQ(core.size(), 1u);
  const Node* pick = core[0]->graph.FindNode("pick");
  ASSERT_NE(pick, nullptr);
  EXPECT_EQ(pick->provenance().Site().file, "flow.onnx");
  EXPECT_EQ(pick->provenance().Site().line, 2);
  EXPECT_EQ(pick->provenance().Site().function,
            "ONNX Gather 'pick' in Loop 'loop' body");
}

TEST(OnnxLoop, NeitherTripCountNorConditionIsRefused) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s{.trip_count = false, .condition = false};
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Node("Identity", {"v_in"}, {"v_out"});
  ExpectUnsupported(m,
                    "node #0 (Loop 'loop'): neither the trip count M nor "
                    "the condition is given: the loop never ends");
}

TEST(OnnxLoop, ScanOutputOfUnknownDimsIsRefused) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  g.Input("n", kF32, {});
  onnx::NodeProto* loop = AddLoop(g, s);
  loop->add_output("trace");
  g.Output("trace", kF32, {-1, -1});
  GraphBuilder b = Body(loop, s);
  b.Output("ramp", kF32, {-1});
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Node("Identity", {"v_in"}, {"v_out"});
  b.Constant("zero", NDArray::Scalar<float>(0));
  b.Constant("one", NDArray::Scalar<float>(1));
  b.Node("Range", {"zero", "n", "one"}, {"ramp"});
  ExpectUnsupported(m,
                    "node #0 (Loop 'loop'): scan output 0 ('ramp') is "
                    "float32[?] per iteration");
}

TEST(OnnxLoop, UnsupportedNodeInTheBodyIsListedOnce) {
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Node("RandomUniformLike", {"v_in"}, {"v_out"}, "rand");
  absl::StatusOr<OnnxModel> r = m.Import();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(r.status().message(), HasSubstr("1 unsupported node "));
  EXPECT_THAT(r.status().message(),
              HasSubstr("node #0 (Loop 'loop') attribute body: node #1 "
                        "(RandomUniformLike 'rand'): op "
                        "RandomUniformLike"));
}

TEST(OnnxLoop, RunTimeSliceInTheBodyListedWithItsPath) {
  // A Slice by run-time bounds of an axis whose length is unknown.
  Model m;
  GraphBuilder g = m.graph();
  LoopSpec s;
  g.Input("x", kF32, {-1});
  GraphBuilder b = Body(AddLoop(g, s), s);
  b.Node("Identity", {"cond_in"}, {"cond_out"});
  b.Constant("one", NDArray::Scalar<int64_t>(1));
  b.Constant("axes", I64({0}, Shape{1}));
  b.Node("Add", {"i", "one"}, {"end"});
  b.Node("Unsqueeze", {"i", "axes"}, {"starts"});
  b.Node("Unsqueeze", {"end", "axes"}, {"ends"});
  b.Node("Slice", {"x", "starts", "ends"}, {"slice"}, "cut");
  b.Node("Add", {"v_in", "slice"}, {"v_out"});
  absl::StatusOr<OnnxModel> r = m.Import();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("1 unsupported node "));
  EXPECT_THAT(r.status().message(),
              HasSubstr("node #0 (Loop 'loop') attribute body: node #6 "
                        "(Slice 'cut'): Slice of axis 0 whose length is not "
                        "known"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("node #0 (Loop 'loop'):")));
}

// ------------------------------------------------------------------ Scan --

// A running sum over x's rows, scanned from the end, its per-step sums
// stacked along axis 1; the scan length comes from x's shape.
TEST(OnnxScan, ReverseRunningSumStackedAlongAnAxis) {
  Model m(11);
  GraphBuilder g = m.graph();
  g.Input("init", kF32, {2}).Input("x", kF32, {3, 2});
  g.Output("final", kF32, {2}).Output("sums", kF32, {2, 3});
  onnx::NodeProto* n = g.Node("Scan", {"init", "x"}, {"final", "sums"}, "scan");
  auto ints = [&](const char* name, std::vector<int64_t> v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    if (v.size() == 1 && std::string(name) == "num_scan_inputs") {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(v[0]);
      return;
    }
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  };
  ints("num_scan_inputs", {1});
  ints("scan_input_directions", {1});
  ints("scan_output_axes", {1});
  GraphBuilder b = Subgraph(n, "body");
  b.Input("s_in", kF32, {2}).Input("x_t", kF32, {2});
  b.Output("s_out", kF32, {2}).Output("y_t", kF32, {2});
  b.Node("Add", {"s_in", "x_t"}, {"s_out"}, "acc");
  b.Node("Identity", {"s_out"}, {"y_t"});
  absl::StatusOr<std::vector<NDArray>> out =
      m.Run({F32({0, 100}, Shape{2}), F32({1, 2, 3, 4, 5, 6}, Shape{3, 2})});
  ASSERT_TRUE(out.ok()) << out.status();
  // From the last row: [5,6] -> [5,106], +[3,4] -> [8,110], +[1,2] ->
  // [9,112]; step t's sum in column t.
  EXPECT_THAT((*out)[0].values<float>(), ::testing::ElementsAre(9, 112));
  EXPECT_EQ((*out)[1].shape(), (Shape{2, 3}));
  EXPECT_THAT((*out)[1].values<float>(),
              ::testing::ElementsAre(5, 8, 9, 106, 110, 112));
}

TEST(OnnxScan, UnknownScanLengthIsListed) {
  Model m(11);
  GraphBuilder g = m.graph();
  g.Input("init", kF32, {2}).Input("x", kF32, {-1, 2});
  g.Output("final", kF32, {2});
  onnx::NodeProto* n = g.Node("Scan", {"init", "x"}, {"final"}, "scan");
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name("num_scan_inputs");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  GraphBuilder b = Subgraph(n, "body");
  b.Input("s_in", kF32, {2}).Input("x_t", kF32, {2});
  b.Output("s_out", kF32, {2});
  b.Node("Add", {"s_in", "x_t"}, {"s_out"});
  absl::StatusOr<OnnxModel> r = m.Import();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(r.status().message(),
              HasSubstr("(Scan 'scan'): a scan length or batch size unknown "
                        "at import"));
}

}  // namespace
}  // namespace weft
