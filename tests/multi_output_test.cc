// Tests of multi-output nodes end to end: Split's build-time checks, every
// output slot through GetTensor, Session runs and fetches, transfers of any
// slot across partitions, partial feeds, and custom multi-output ops.
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "kernels/kernel.h"
#include "runtime/session.h"
#include "tests/testing/kernel_harness.h"
#include "tests/testing/run_helpers.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ToVector;

NDArray Iota(int n, Shape shape) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return *NDArray::Create<float>(v, std::move(shape));
}

TEST(Split, InfersEveryOutputAndRuns) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 6}, {.graph = g});
  std::vector<Tensor> parts = ops::Split(x, 3, 1, {.graph = g});
  ASSERT_EQ(parts.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(parts[i].ok()) << parts[i].status();
    EXPECT_EQ(parts[i].index(), i);
    EXPECT_EQ(parts[i].shape(), (Shape{2, 2}));
    EXPECT_EQ(parts[i].name(), absl::StrCat("Split:", i));
  }
  EXPECT_EQ(parts[0].node()->num_outputs(), 3);
  absl::StatusOr<std::vector<NDArray>> out =
      testing::RunKernelOutputs(parts, {Iota(12, Shape{2, 6})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(ToVector<float>((*out)[0]), ElementsAre(0, 1, 6, 7));
  EXPECT_THAT(ToVector<float>((*out)[1]), ElementsAre(2, 3, 8, 9));
  EXPECT_THAT(ToVector<float>((*out)[2]), ElementsAre(4, 5, 10, 11));
}

TEST(Split, AlongAxisZeroAndNegativeAxis) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{4, 2}, {.graph = g});
  std::vector<Tensor> rows = ops::Split(x, 2, -2, {.graph = g});
  absl::StatusOr<std::vector<NDArray>> out =
      testing::RunKernelOutputs(rows, {Iota(8, Shape{4, 2})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(ToVector<float>((*out)[0]), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(ToVector<float>((*out)[1]), ElementsAre(4, 5, 6, 7));
}

TEST(Split, UnknownDimIsCheckedAtRunTime) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
  std::vector<Tensor> parts = ops::Split(x, 2, 0, {.graph = g});
  ASSERT_TRUE(parts[0].ok());
  EXPECT_EQ(parts[0].shape(), (Shape{-1}));
  absl::StatusOr<std::vector<NDArray>> bad =
      testing::RunKernelOutputs(parts, {Iota(3, Shape{3})});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("Split cannot divide [3] into 2 equal parts"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(bad.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kKernel);
  EXPECT_EQ(info->node_name, "Split");
}

TEST(Split, BuildErrorsReturnOneErrorTensorPerExpectedOutput) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 5}, {.graph = g});
  std::vector<Tensor> indivisible = ops::Split(x, 2, 1, {.graph = g});
  ASSERT_EQ(indivisible.size(), 2u);
  for (const Tensor& t : indivisible) {
    ASSERT_FALSE(t.ok());
    EXPECT_THAT(t.status().message(),
                HasSubstr("Split cannot divide dimension 1 of [2,5] (size 5) "
                          "into 2 equal parts"));
    EXPECT_EQ(GetOpErrorInfo(t.status())->kind, ErrorKind::kShape);
  }
  std::vector<Tensor> bad_axis = ops::Split(x, 2, 2, {.graph = g});
  ASSERT_EQ(bad_axis.size(), 2u);
  EXPECT_THAT(bad_axis[1].status().message(),
              HasSubstr("Split axis 2 is out of range for rank 2 (valid: -2 "
                        "to 1)"));
  EXPECT_EQ(GetOpErrorInfo(bad_axis[0].status())->kind, ErrorKind::kAttr);
  // Never an empty vector, even for num_splits <= 0.
  std::vector<Tensor> zero = ops::Split(x, 0, 0, {.graph = g});
  ASSERT_EQ(zero.size(), 1u);
  EXPECT_THAT(zero[0].status().message(),
              HasSubstr("num_splits is 0; it must be from 1"));
  Tensor scalar = ops::Const(NDArray::Scalar(1.0f), {.graph = g});
  std::vector<Tensor> on_scalar = ops::Split(scalar, 1, 0, {.graph = g});
  EXPECT_THAT(on_scalar[0].status().message(),
              HasSubstr("given for a scalar input"));
  // A non-ok input's error is passed to every output.
  std::vector<Tensor> from_error = ops::Split(indivisible[0], 3, 0);
  ASSERT_EQ(from_error.size(), 3u);
  EXPECT_EQ(from_error[2].status(), indivisible[0].status());
  EXPECT_EQ(g.num_nodes(), 2);  // x and scalar only.
}

TEST(Graph, GetTensorReachesEverySlot) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kInt32, Shape{6}, {.graph = g});
  std::vector<Tensor> parts =
      ops::Split(x, 3, 0, {.name = "parts", .graph = g});
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Tensor> t = g.GetTensor(absl::StrCat("parts:", i));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->index(), i);
    EXPECT_EQ(t->node(), parts[0].node());
  }
  absl::StatusOr<Tensor> missing = g.GetTensor("parts:3");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(g.DebugString(),
              HasSubstr("parts = Split(Placeholder:0) : (int32[2], int32[2], "
                        "int32[2])"));
}

TEST(Session, FetchesAndConsumesAnyOutputSlot) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Const(Iota(6, Shape{6}));
  std::vector<Tensor> p = ops::Split(x, 3, 0);
  Tensor sum = ops::Add(p[2], p[0]);
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> out = session->Run({}, {sum, p[1]});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(ToVector<float>((*out)[0]), ElementsAre(4, 6));
  EXPECT_THAT(ToVector<float>((*out)[1]), ElementsAre(2, 3));
}

TEST(Session, TransfersAnySlotAcrossPartitionsOncePerDestination) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Const(Iota(4, Shape{4}), {.device = "cpu:0"});
  std::vector<Tensor> p = ops::Split(x, 2, 0, {.device = "cpu:0"});
  // Slot 1 is read twice on cpu:1 and once on cpu:0.
  Tensor a = ops::Neg(p[1], {.device = "cpu:1"});
  Tensor b = ops::Add(p[1], a, {.device = "cpu:1"});
  Tensor c = ops::Add(p[1], p[0], {.device = "cpu:0"});
  auto session = *Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
  RunMetadata md;
  absl::StatusOr<std::vector<NDArray>> out = session->Run({}, {b, c}, {}, &md);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(ToVector<float>((*out)[0]), ElementsAre(0, 0));
  EXPECT_THAT(ToVector<float>((*out)[1]), ElementsAre(2, 4));
  EXPECT_EQ(md.num_transfers, 1);
  EXPECT_THAT(md.partition_dump, HasSubstr("send Split:1@cpu:0->cpu:1"));
}

TEST(Session, PartialFeedOfAMultiOutputNodeIsAnError) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor x = ops::Const(Iota(4, Shape{4}));
  std::vector<Tensor> p = ops::Split(x, 2, 0);
  Tensor y = ops::Add(p[0], p[1]);
  auto session = *Session::Create(g);
  absl::StatusOr<std::vector<NDArray>> bad =
      session->Run({{p[0], Iota(2, Shape{2})}}, {y});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("output 1 is used but not fed while another output "
                        "of the node is fed"));
  EXPECT_EQ(GetOpErrorInfo(bad.status())->kind, ErrorKind::kFeed);
  // Feeding both works, and so does feeding one that alone is used.
  absl::StatusOr<std::vector<NDArray>> both =
      session->Run({{p[0], Iota(2, Shape{2})}, {p[1], Iota(2, Shape{2})}}, {y});
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_THAT(ToVector<float>((*both)[0]), ElementsAre(0, 2));
  absl::StatusOr<std::vector<NDArray>> one =
      session->Run({{p[0], Iota(2, Shape{2})}}, {ops::Neg(p[0])});
  ASSERT_TRUE(one.ok()) << one.status();
}

// A custom op with two outputs: MinMax(x) = (min, max) of a float vector.
class MinMaxKernel : public OpKernel {
 public:
  using OpKernel::OpKernel;
  absl::Status Compute(OpKernelContext& ctx) const override {
    auto v = ctx.input(0).values<float>();
    if (v.empty()) return absl::InvalidArgumentError("MinMax of nothing");
    float lo = v[0], hi = v[0];
    for (float f : v) {
      lo = std::min(lo, f);
      hi = std::max(hi, f);
    }
    ctx.set_output(0, NDArray::Scalar(lo));
    ctx.set_output(1, NDArray::Scalar(hi));
    return absl::OkStatus();
  }
};

TEST(CustomOp, TwoOutputsRegisteredByTheUser) {
  ASSERT_TRUE(OpRegistry::Global()
                  .Register({.type = "TestMinMax",
                             .num_inputs = 1,
                             .infer =
                                 [](InferenceContext& c) {
                                   c.SetOutputs(
                                       {DType::kFloat32, DType::kFloat32},
                                       {Shape{}, Shape{}});
                                   return absl::OkStatus();
                                 },
                             .num_outputs = 2})
                  .ok());
  ASSERT_TRUE(KernelRegistry::Global()
                  .Register({.op = "TestMinMax",
                             .dtype = DType::kFloat32,
                             .factory = MakeKernelFactory<MinMaxKernel>()})
                  .ok());
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
  absl::StatusOr<std::vector<Tensor>> mm =
      g.AddOpN("TestMinMax", {x}, {}, OpOptions{});
  ASSERT_TRUE(mm.ok()) << mm.status();
  ASSERT_EQ(mm->size(), 2u);
  absl::StatusOr<std::vector<NDArray>> out = testing::RunKernelOutputs(
      *mm, {*NDArray::Create<float>({3, -1, 7}, Shape{3})});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<float>()[0], -1);
  EXPECT_EQ((*out)[1].values<float>()[0], 7);
}

TEST(CustomOp, InferenceSettingTheWrongOutputCountIsInternal) {
  ASSERT_TRUE(OpRegistry::Global()
                  .Register({.type = "TestTwoButSetsOne",
                             .num_inputs = 0,
                             .infer =
                                 [](InferenceContext& c) {
                                   c.SetOutput(DType::kFloat32, Shape{});
                                   return absl::OkStatus();
                                 },
                             .num_outputs = 2})
                  .ok());
  Graph g = Graph::Create("g");
  absl::StatusOr<Tensor> t = g.AddOp("TestTwoButSetsOne", {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(t.status().message(),
              HasSubstr("set 1 output dtype(s) and 1 output shape(s); the op "
                        "declares 2"));
  EXPECT_EQ(GetOpErrorInfo(t.status())->kind, ErrorKind::kInference);
  EXPECT_EQ(
      OpRegistry::Global()
          .Register(
              {.type = "TestZeroOutputs",
               .infer = [](InferenceContext&) { return absl::OkStatus(); },
               .num_outputs = 0})
          .code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace weft
