// Tests for the op builders of weft::ops: dtype and shape inference of every
// op, numpy broadcasting, and every build-time error with its provenance and
// OpErrorInfo payload.

#include "graph/ops.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/op_registry.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// A builder's result with the line of the builder call. Always written on
// one line, `Built b{ops::Foo(...), __LINE__};`, so `line` is the line the
// builder's std::source_location records.
struct Built {
  Tensor t;
  int line = 0;
};

// Checks a build-time error: kInvalidArgument, the message fragment, the
// provenance note naming this file and `line`, and the OpErrorInfo payload.
void ExpectOpError(const absl::Status& s, int line, ErrorKind kind,
                   std::string_view fragment) {
  SCOPED_TRACE(absl::StrCat("error built at line ", line, ": ", s.message()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(fragment));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("op built at ", __FILE__, ":",
                                                  line, " in ")));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, kind);
  EXPECT_EQ(info->site.file, __FILE__);
  EXPECT_EQ(info->site.line, line);
  EXPECT_EQ(info->thread, "main");
  EXPECT_FALSE(GetCrossGraphEdge(s).has_value());
}

void ExpectOpError(const Built& b, ErrorKind kind, std::string_view fragment) {
  EXPECT_FALSE(b.t.ok());
  ExpectOpError(b.t.status(), b.line, kind, fragment);
}

class Ops : public ::testing::Test {
 protected:
  Ops() : g_(Graph::Create("ops")), scope_(g_) {}

  Tensor P(DType dtype, Shape shape) {
    Tensor t = ops::Placeholder(dtype, std::move(shape));
    EXPECT_TRUE(t.ok()) << t.status();
    return t;
  }
  Tensor F(Shape shape) { return P(DType::kFloat32, std::move(shape)); }

  Graph g_;
  GraphScope scope_;
};

void ExpectTensor(const Tensor& t, DType dtype, const Shape& shape) {
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t.dtype(), dtype) << DTypeName(t.dtype());
  EXPECT_EQ(t.shape(), shape) << t.shape().DebugString();
}

// ------------------------------------------------------ sources, Identity --

TEST_F(Ops, ConstTakesDTypeAndShapeOfItsValue) {
  ExpectTensor(ops::Const(NDArray::Scalar<int64_t>(3)), DType::kInt64, {});
  absl::StatusOr<NDArray> m = NDArray::Create<double>({1, 2, 3, 4}, {2, 2});
  ASSERT_TRUE(m.ok());
  Tensor c = ops::Const(*m);
  ExpectTensor(c, DType::kFloat64, {2, 2});
  const NDArray* value = FindAttr<NDArray>(c.node()->attrs(), "value");
  ASSERT_NE(value, nullptr);
  EXPECT_TRUE(value->SharesBufferWith(*m));
}

TEST_F(Ops, ConstOfEmptyNDArrayIsAnError) {
  Built b{ops::Const(NDArray()), __LINE__};
  ExpectOpError(b, ErrorKind::kAttr, "Const of an empty NDArray");
}

TEST_F(Ops, Placeholder) {
  ExpectTensor(ops::Placeholder(DType::kBool, {}), DType::kBool, {});
  ExpectTensor(ops::Placeholder(DType::kInt32, {-1, 3}), DType::kInt32,
               {-1, 3});
}

TEST_F(Ops, PlaceholderWithBadShapeIsAnError) {
  Built b{ops::Placeholder(DType::kFloat32, Shape{-2}), __LINE__};
  ExpectOpError(b, ErrorKind::kShape, "dimension 0 is -2");
  EXPECT_EQ(g_.num_nodes(), 0);
}

TEST_F(Ops, PlaceholderWithInvalidDTypeIsAnError) {
  Built b{ops::Placeholder(static_cast<DType>(77), {1}), __LINE__};
  ExpectOpError(b, ErrorKind::kDType, "invalid dtype");
}

TEST_F(Ops, Identity) {
  ExpectTensor(ops::Identity(P(DType::kBool, {4})), DType::kBool, {4});
  ExpectTensor(ops::Identity(F({-1, 2})), DType::kFloat32, {-1, 2});
}

// ------------------------------------------------------- binary, broadcast --

TEST_F(Ops, BinaryOpsSameShape) {
  Tensor a = F({2, 3});
  Tensor b = F({2, 3});
  ExpectTensor(ops::Add(a, b), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Sub(a, b), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Mul(a, b), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Div(a, b), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Maximum(a, b), DType::kFloat32, {2, 3});
  Tensor i = P(DType::kInt64, {5});
  ExpectTensor(ops::Div(i, i), DType::kInt64, {5});
  EXPECT_EQ(ops::Maximum(a, b).node()->op(), "Maximum");
}

TEST_F(Ops, BroadcastMatrixAndVector) {
  ExpectTensor(ops::Add(F({2, 3}), F({3})), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Add(F({3}), F({2, 3})), DType::kFloat32, {2, 3});
}

TEST_F(Ops, BroadcastOnesBothWays) {
  ExpectTensor(ops::Mul(F({2, 1}), F({1, 3})), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Sub(F({4, 1, 5}), F({3, 1})), DType::kFloat32, {4, 3, 5});
}

TEST_F(Ops, BroadcastUnknownDims) {
  ExpectTensor(ops::Add(F({-1, 3}), F({3})), DType::kFloat32, {-1, 3});
  ExpectTensor(ops::Add(F({-1, 3}), F({2, 1})), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Add(F({-1}), F({1})), DType::kFloat32, {-1});
  ExpectTensor(ops::Add(F({-1}), F({-1})), DType::kFloat32, {-1});
}

TEST_F(Ops, BroadcastScalar) {
  ExpectTensor(ops::Add(F({}), F({2, 3})), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Maximum(F({2, 3}), F({})), DType::kFloat32, {2, 3});
  ExpectTensor(ops::Div(F({}), F({})), DType::kFloat32, {});
}

TEST_F(Ops, IncompatibleBroadcastIsAnError) {
  Tensor a = F({2, 3});
  Tensor b = F({4});
  const int before = g_.num_nodes();
  Built add{ops::Add(a, b), __LINE__};
  ExpectOpError(add, ErrorKind::kShape,
                "shapes [2,3] and [4] cannot be broadcast");
  EXPECT_THAT(add.t.status().message(),
              HasSubstr("op 'Add' (Add) in graph 'ops' (id "));
  // The notes say where each input came from.
  EXPECT_THAT(
      add.t.status().message(),
      HasSubstr(absl::StrCat("input 1 '", b.name(),
                             "' (float32[4]) was created at ", __FILE__, ":")));
  EXPECT_EQ(g_.num_nodes(), before);
}

TEST_F(Ops, BroadcastShapesDirectly) {
  EXPECT_EQ(*BroadcastShapes({2, 1}, {1, 3}), (Shape{2, 3}));
  EXPECT_EQ(*BroadcastShapes({}, {}), Shape{});
  EXPECT_EQ(BroadcastShapes({3}, {2}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(Ops, DTypeMismatchIsAnError) {
  Tensor f = F({2});
  Tensor i = P(DType::kInt32, {2});
  Built b{ops::Add(f, i), __LINE__};
  ExpectOpError(b, ErrorKind::kDType,
                "dtype mismatch: input 0 is float32[2] but input 1 is "
                "int32[2]");
}

TEST_F(Ops, BinaryOnBoolIsAnError) {
  Tensor t = P(DType::kBool, {2});
  Built b{ops::Maximum(t, t), __LINE__};
  ExpectOpError(b, ErrorKind::kDType,
                "this op takes float32, float64, int32 or int64");
}

// ----------------------------------------------------------------- unary --

TEST_F(Ops, UnaryOps) {
  Tensor f = F({2, -1});
  ExpectTensor(ops::Neg(f), DType::kFloat32, {2, -1});
  ExpectTensor(ops::Relu(f), DType::kFloat32, {2, -1});
  ExpectTensor(ops::Sigmoid(f), DType::kFloat32, {2, -1});
  ExpectTensor(ops::Tanh(f), DType::kFloat32, {2, -1});
  Tensor d = P(DType::kFloat64, {});
  ExpectTensor(ops::Sigmoid(d), DType::kFloat64, {});
  Tensor i = P(DType::kInt32, {3});
  ExpectTensor(ops::Neg(i), DType::kInt32, {3});
  ExpectTensor(ops::Relu(i), DType::kInt32, {3});
}

TEST_F(Ops, SigmoidOnIntIsAnError) {
  Tensor i = P(DType::kInt32, {3});
  Built b{ops::Sigmoid(i), __LINE__};
  ExpectOpError(b, ErrorKind::kDType,
                "input 0 is int32[3]; this op takes float32 or "
                "float64");
  Built t{ops::Tanh(i), __LINE__};
  ExpectOpError(t, ErrorKind::kDType, "this op takes float32 or float64");
}

TEST_F(Ops, NegOnBoolIsAnError) {
  Built b{ops::Neg(P(DType::kBool, {})), __LINE__};
  ExpectOpError(b, ErrorKind::kDType, "input 0 is bool[]");
}

// ---------------------------------------------------------------- MatMul --

TEST_F(Ops, MatMulShapes) {
  ExpectTensor(ops::MatMul(F({2, 3}), F({3, 4})), DType::kFloat32, {2, 4});
  ExpectTensor(ops::MatMul(F({-1, 3}), F({3, -1})), DType::kFloat32, {-1, -1});
  ExpectTensor(ops::MatMul(F({2, -1}), F({5, 4})), DType::kFloat32, {2, 4});
  Tensor i = P(DType::kInt64, {1, 1});
  ExpectTensor(ops::MatMul(i, i), DType::kInt64, {1, 1});
}

TEST_F(Ops, MatMulInnerDimensionMismatchIsAnError) {
  Tensor a = F({2, 3});
  Tensor b = F({4, 5});
  Built m{ops::MatMul(a, b), __LINE__};
  ExpectOpError(m, ErrorKind::kShape,
                "MatMul inner dimensions differ: [2,3] x [4,5] (3 vs 4)");
}

TEST_F(Ops, MatMulOfNonMatricesIsAnError) {
  Tensor v = F({3});
  Tensor m = F({3, 4});
  Built b{ops::MatMul(v, m), __LINE__};
  ExpectOpError(b, ErrorKind::kShape,
                "MatMul takes two matrices, got [3] and [3,4]");
  Built s{ops::MatMul(F({}), F({})), __LINE__};
  ExpectOpError(s, ErrorKind::kShape, "MatMul takes two matrices");
}

TEST_F(Ops, MatMulDTypeMismatchIsAnError) {
  Tensor a = F({2, 3});
  Tensor b = P(DType::kFloat64, {3, 4});
  Built m{ops::MatMul(a, b), __LINE__};
  ExpectOpError(m, ErrorKind::kDType, "dtype mismatch");
}

// ------------------------------------------------------------ reductions --

TEST_F(Ops, ReduceAxes) {
  Tensor x = F({2, 3, 4});
  ExpectTensor(ops::ReduceSum(x, {1}), DType::kFloat32, {2, 4});
  ExpectTensor(ops::ReduceSum(x, {-1}), DType::kFloat32, {2, 3});
  ExpectTensor(ops::ReduceSum(x, {0, 2}), DType::kFloat32, {3});
  ExpectTensor(ops::ReduceSum(x, {2, -3}), DType::kFloat32, {3});
  ExpectTensor(ops::ReduceSum(x, {}), DType::kFloat32, {});
  ExpectTensor(ops::ReduceMean(x, {0}), DType::kFloat32, {3, 4});
  ExpectTensor(ops::ReduceMean(x, {}), DType::kFloat32, {});
  ExpectTensor(ops::ReduceMean(P(DType::kInt32, {-1, 2}), {1}), DType::kInt32,
               {-1});
  ExpectTensor(ops::ReduceSum(F({}), {}), DType::kFloat32, {});
  const std::vector<int64_t>* axes = FindAttr<std::vector<int64_t>>(
      ops::ReduceSum(x, {-1}).node()->attrs(), "axes");
  ASSERT_NE(axes, nullptr);
  EXPECT_EQ(*axes, std::vector<int64_t>{-1});
}

TEST_F(Ops, ReduceAxisOutOfRangeIsAnError) {
  Tensor x = F({2, 3});
  Built hi{ops::ReduceSum(x, {2}), __LINE__};
  ExpectOpError(hi, ErrorKind::kAttr,
                "reduction axis 2 is out of range for rank 2");
  Built lo{ops::ReduceMean(x, {-3}), __LINE__};
  ExpectOpError(lo, ErrorKind::kAttr, "reduction axis -3 is out of range");
  Built scalar{ops::ReduceSum(F({}), {0}), __LINE__};
  ExpectOpError(scalar, ErrorKind::kAttr,
                "reduction axis 0 given for a scalar input, which has no "
                "axes");
  EXPECT_THAT(std::string(scalar.t.status().message()),
              ::testing::Not(HasSubstr("0 to -1")));
}

TEST_F(Ops, ReduceDuplicateAxisIsAnError) {
  Tensor x = F({2, 3});
  Built b{ops::ReduceSum(x, {1, -1}), __LINE__};
  ExpectOpError(b, ErrorKind::kAttr, "reduction axes [1,-1] repeat an axis");
}

TEST_F(Ops, ReduceOnBoolIsAnError) {
  Built b{ops::ReduceSum(P(DType::kBool, {2}), {}), __LINE__};
  ExpectOpError(b, ErrorKind::kDType, "input 0 is bool[2]");
}

// --------------------------------------------------------- Reshape, Cast --

TEST_F(Ops, Reshape) {
  Tensor x = F({2, 3});
  ExpectTensor(ops::Reshape(x, {3, 2}), DType::kFloat32, {3, 2});
  ExpectTensor(ops::Reshape(x, {6}), DType::kFloat32, {6});
  ExpectTensor(ops::Reshape(x, {-1}), DType::kFloat32, {6});
  ExpectTensor(ops::Reshape(x, {-1, 2}), DType::kFloat32, {3, 2});
  ExpectTensor(ops::Reshape(x, {1, -1, 1}), DType::kFloat32, {1, 6, 1});
  ExpectTensor(ops::Reshape(F({}), {1, 1}), DType::kFloat32, {1, 1});
  // With an unknown input dim the -1 stays unknown.
  ExpectTensor(ops::Reshape(F({-1, 3}), {-1, 3}), DType::kFloat32, {-1, 3});
  ExpectTensor(ops::Reshape(F({-1, 3}), {3, 4}), DType::kFloat32, {3, 4});
}

TEST_F(Ops, ReshapeWrongElementCountIsAnError) {
  Tensor x = F({2, 3});
  Built b{ops::Reshape(x, {4, 2}), __LINE__};
  ExpectOpError(b, ErrorKind::kShape,
                "cannot reshape [2,3] (6 elements) to [4,2] (8 elements)");
  Built m{ops::Reshape(x, {-1, 4}), __LINE__};
  ExpectOpError(m, ErrorKind::kShape, "6 is not a multiple of 4");
}

TEST_F(Ops, ReshapeWithTwoUnknownsIsAnError) {
  Tensor x = F({2, 3});
  Built b{ops::Reshape(x, {-1, -1}), __LINE__};
  ExpectOpError(b, ErrorKind::kShape,
                "Reshape target [?,?] has more than one -1");
}

TEST_F(Ops, ReshapeWithNegativeDimIsAnError) {
  Tensor x = F({2, 3});
  Built b{ops::Reshape(x, {-3, 2}), __LINE__};
  ExpectOpError(b, ErrorKind::kShape, "dimension 0 is -3");
}

TEST_F(Ops, Cast) {
  Tensor i = P(DType::kInt32, {2, -1});
  ExpectTensor(ops::Cast(i, DType::kFloat64), DType::kFloat64, {2, -1});
  ExpectTensor(ops::Cast(i, DType::kBool), DType::kBool, {2, -1});
  ExpectTensor(ops::Cast(P(DType::kBool, {}), DType::kInt64), DType::kInt64,
               {});
  Tensor c = ops::Cast(i, DType::kFloat32);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*FindAttr<DType>(c.node()->attrs(), "dtype"), DType::kFloat32);
}

TEST_F(Ops, CastToInvalidDTypeIsAnError) {
  Tensor i = P(DType::kInt32, {2});
  Built b{ops::Cast(i, static_cast<DType>(99)), __LINE__};
  ExpectOpError(b, ErrorKind::kDType, "Cast to an invalid dtype");
}

// ----------------------------------------------- registry-level failures --

TEST_F(Ops, UnknownOpIsAnError) {
  const int line = __LINE__ + 1;
  absl::StatusOr<Tensor> t = g_.AddOp("Nope", {});
  ExpectOpError(t.status(), line, ErrorKind::kUnknownOp,
                "unknown op type 'Nope'");
  // Sorted; other ops (Call, ...) may sit between these.
  EXPECT_THAT(t.status().message(), HasSubstr("registered ops: Abs, "));
  EXPECT_THAT(t.status().message(), HasSubstr(", Cast, "));
  EXPECT_EQ(g_.num_nodes(), 0);
}

TEST_F(Ops, WrongArityIsAnError) {
  Tensor x = F({2});
  const int line = __LINE__ + 1;
  absl::StatusOr<Tensor> t = g_.AddOp("Add", {x});
  ExpectOpError(t.status(), line, ErrorKind::kArity,
                "Add takes 2 input(s) but was given 1");
  const int line2 = __LINE__ + 1;
  absl::StatusOr<Tensor> c = g_.AddOp("Const", {x}, {{"value", NDArray()}});
  ExpectOpError(c.status(), line2, ErrorKind::kArity, "Const takes 0 input(s)");
  EXPECT_EQ(g_.num_nodes(), 1);
}

TEST_F(Ops, MissingAttrIsAnError) {
  Tensor x = F({2});
  const int line = __LINE__ + 1;
  absl::StatusOr<Tensor> t = g_.AddOp("ReduceSum", {x}, {{"axes", true}});
  ExpectOpError(t.status(), line, ErrorKind::kAttr,
                "missing or mistyped attr 'axes'");
}

TEST_F(Ops, AddOpBuildsRegisteredOps) {
  Tensor x = F({2, 3});
  absl::StatusOr<Tensor> t =
      g_.AddOp("ReduceSum", {x}, {{"axes", std::vector<int64_t>{0}}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->shape(), Shape{3});
  EXPECT_EQ(t->provenance().graph_source, GraphSource::kExplicitHandle);
}

TEST(OpRegistry, RegisterRejectsDuplicatesAndIncompleteDefs) {
  OpRegistry& r = OpRegistry::Global();
  EXPECT_NE(r.Find("MatMul"), nullptr);
  EXPECT_EQ(r.Find("MatMul")->num_inputs, 2);
  EXPECT_EQ(r.Find("Nope"), nullptr);
  EXPECT_EQ(
      r
          .Register(OpDef{
              "Add", 2, {}, [](InferenceContext&) { return absl::OkStatus(); }})
          .code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.Register(OpDef{"NoInfer", 1, {}, nullptr}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      r.Register(
           OpDef{"", 1, {}, [](InferenceContext&) { return absl::OkStatus(); }})
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(OpRegistry, InferenceMustSetOneValidOutput) {
  OpRegistry& r = OpRegistry::Global();
  ASSERT_TRUE(
      r.Register(OpDef{"OpsTestNoOutput",
                       1,
                       {},
                       [](InferenceContext&) { return absl::OkStatus(); }})
          .ok());
  ASSERT_TRUE(r.Register(OpDef{"OpsTestBadShape",
                               1,
                               {},
                               [](InferenceContext& c) {
                                 c.SetOutput(DType::kFloat32, Shape{-3});
                                 return absl::OkStatus();
                               }})
                  .ok());
  Graph g = Graph::Create("g");
  Tensor x = ops::Const(NDArray::Scalar<float>(1), {.graph = g});
  const int before = g.num_nodes();

  absl::StatusOr<Tensor> none = g.AddOp("OpsTestNoOutput", {x});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("the inference function of op OpsTestNoOutput set 0 "
                        "output dtype(s) and 0 output shape(s)"));
  ASSERT_TRUE(GetOpErrorInfo(none.status()).has_value());
  EXPECT_EQ(GetOpErrorInfo(none.status())->kind, ErrorKind::kInference);

  absl::StatusOr<Tensor> bad = g.AddOp("OpsTestBadShape", {x});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("produced an invalid output 0"));
  EXPECT_EQ(GetOpErrorInfo(bad.status())->kind, ErrorKind::kInference);
  EXPECT_EQ(g.num_nodes(), before);
}

// ------------------------------------------------------ first error wins --

TEST_F(Ops, FirstErrorWinsThroughAChain) {
  Tensor a = F({2, 3});
  Tensor b = F({4, 5});
  const int before = g_.num_nodes();
  Built bad{ops::MatMul(a, b), __LINE__};
  ExpectOpError(bad, ErrorKind::kShape, "inner dimensions differ");

  Tensor c = ops::Relu(bad.t);
  Tensor d = ops::Add(c, a);  // Would also be a shape error on its own.
  Tensor e = ops::Sigmoid(ops::Cast(d, DType::kInt32));  // And a dtype error.
  Tensor f = ops::ReduceSum(e, {7});
  Tensor h = ops::Identity(a, {.control_inputs = {f}});
  for (const Tensor& t : {c, d, e, f, h}) {
    EXPECT_FALSE(t.ok());
    EXPECT_EQ(t.status(), bad.t.status());
  }
  ExpectOpError(f.status(), bad.line, ErrorKind::kShape,
                "inner dimensions differ");
  absl::StatusOr<Tensor> via_add_op = g_.AddOp("Neg", {e});
  EXPECT_EQ(via_add_op.status(), bad.t.status());
  EXPECT_EQ(g_.num_nodes(), before);
}

TEST_F(Ops, ErrorsAreReturnedBeforeTheGraphIsConsulted) {
  // An error input wins even over a null target graph.
  Built bad{ops::Sigmoid(P(DType::kInt32, {})), __LINE__};
  Tensor t = ops::Neg(bad.t, {.graph = Graph()});
  EXPECT_EQ(t.status(), bad.t.status());
}

}  // namespace
}  // namespace weft
