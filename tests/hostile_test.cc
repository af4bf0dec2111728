// Hostile-input tests: output sizes that overflow or are absurdly large
// (MatMul, broadcasting, reductions, Reshape, Split), integer MatMul
// overflow, shape inference that overflows, the per-allocation limit,
// non-ASCII names in messages, what `<<` prints for a Status, and that every
// ErrorKind is documented.
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/testing/files.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kHuge = int64_t{1} << 40;

// An array with no elements but enormous dims: legal to feed, 64 bytes.
NDArray Empty(DType dtype, Shape shape) {
  return *NDArray::AllocateChecked(dtype, std::move(shape));
}

void ExpectCleanRunError(const absl::StatusOr<NDArray>& r,
                         const std::string& node) {
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().code(), AnyOf(absl::StatusCode::kInvalidArgument,
                                       absl::StatusCode::kResourceExhausted))
      << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(absl::StrCat("'", node, "'")));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kAllocation) << r.status();
}

TEST(Kernels, MatMulWhoseOutputCountOverflows) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
  Tensor b = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
  Tensor c = ops::MatMul(a, b, {.name = "mm", .graph = g});
  // [2^40, 0] x [0, 2^40]: both inputs are empty, the output has 2^80.
  ExpectCleanRunError(
      testing::RunKernel(c, {Empty(DType::kFloat32, Shape{kHuge, 0}),
                             Empty(DType::kFloat32, Shape{0, kHuge})}),
      "mm");
  // [2^20, 0] x [0, 2^20]: 2^40 floats = 4 TiB, past any limit.
  absl::StatusOr<NDArray> big =
      testing::RunKernel(c, {Empty(DType::kFloat32, Shape{1 << 20, 0}),
                             Empty(DType::kFloat32, Shape{0, 1 << 20})});
  ExpectCleanRunError(big, "mm");
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(big.status().message(), HasSubstr("over the limit"));
}

TEST(Kernels, BroadcastWhoseOutputIsAbsurd) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kInt64, Shape{-1, 1}, {.graph = g});
  Tensor b = ops::Placeholder(DType::kInt64, Shape{1, -1}, {.graph = g});
  Tensor s = ops::Add(a, b, {.name = "outer", .graph = g});
  // [2^40, 1] + [1, 2^40] would be 2^80 elements; the inputs are real but
  // would be too big, so use [2^21,1] x [1,2^21]: 2^42 int64 = 32 TiB.
  std::vector<int64_t> col(1 << 21, 1);
  ExpectCleanRunError(
      testing::RunKernel(s,
                         {*NDArray::Create<int64_t>(col, Shape{1 << 21, 1}),
                          *NDArray::Create<int64_t>(col, Shape{1, 1 << 21})}),
      "outer");
}

TEST(Kernels, ReductionAndSplitOfEmptyHugeInputs) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat64, Shape{-1, -1, -1}, {.graph = g});
  Tensor r = ops::ReduceSum(x, {1}, {.name = "sum", .graph = g});
  // [2^40, 0, 2^20] reduced over axis 1: 2^60 float64 outputs, whose byte
  // count overflows.
  ExpectCleanRunError(
      testing::RunKernel(
          r, {Empty(DType::kFloat64, Shape{kHuge, 0, int64_t{1} << 20})}),
      "sum");
  Tensor parts = ops::Split(x, 2, 0, {.name = "split", .graph = g})[0];
  absl::StatusOr<NDArray> split =
      testing::RunKernel(parts, {Empty(DType::kFloat64, Shape{2, 0, kHuge})});
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->shape(), (Shape{1, 0, kHuge}));
}

TEST(Session, AllocationLimitIsConfigurable) {
  Graph g = Graph::Create("g");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
  Tensor y = ops::Neg(x, {.name = "neg", .graph = g});
  NDArray big =
      *NDArray::Create<float>(std::vector<float>(1024, 1), Shape{1024});
  absl::StatusOr<NDArray> r =
      testing::RunKernel(y, {big}, {.max_allocation_bytes = 1000});
  ExpectCleanRunError(r, "neg");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(),
              HasSubstr("needs 4096 bytes, over the limit of 1000 bytes"));
  EXPECT_TRUE(
      testing::RunKernel(y, {big}, {.max_allocation_bytes = 4096}).ok());
  EXPECT_EQ(Session::Create(g, {.max_allocation_bytes = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ops, InferenceOverflowIsTheUsersShapeError) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kFloat32, Shape{kHuge, -1}, {.graph = g});
  Tensor b = ops::Placeholder(DType::kFloat32, Shape{-1, kHuge}, {.graph = g});
  Tensor c = ops::MatMul(a, b, {.graph = g});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("element count overflows int64"));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("inference function")));
  EXPECT_EQ(GetOpErrorInfo(c.status())->kind, ErrorKind::kShape);
  // Reshape to an overflowing target is refused at build time too.
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.graph = g});
  Tensor r = ops::Reshape(x, Shape{kHuge, kHuge, -1}, {.graph = g});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetOpErrorInfo(r.status())->kind, ErrorKind::kShape);
}

TEST(Kernels, IntegerMatMulWrapsLikeAddAndMul) {
  Graph g = Graph::Create("g");
  Tensor a = ops::Placeholder(DType::kInt32, Shape{1, 2}, {.graph = g});
  Tensor b = ops::Placeholder(DType::kInt32, Shape{2, 1}, {.graph = g});
  Tensor c = ops::MatMul(a, b, {.graph = g});
  const int32_t max = std::numeric_limits<int32_t>::max();
  absl::StatusOr<NDArray> r =
      testing::RunKernel(c, {*NDArray::Create<int32_t>({max, max}, Shape{1, 2}),
                             *NDArray::Create<int32_t>({max, 3}, Shape{2, 1})});
  ASSERT_TRUE(r.ok()) << r.status();
  const uint32_t expected =
      static_cast<uint32_t>(max) * static_cast<uint32_t>(max) +
      static_cast<uint32_t>(max) * 3u;
  EXPECT_EQ(r->values<int32_t>()[0], static_cast<int32_t>(expected));
}

TEST(Errors, NonAsciiNamesStayWholeInMessages) {
  Graph g = Graph::Create("g");
  Tensor t =
      ops::Const(NDArray::Scalar(1.0f), {.name = "caf\xC3\xA9", .graph = g});
  ASSERT_FALSE(t.ok());
  const std::string msg(t.status().message());
  EXPECT_THAT(msg, HasSubstr("character '\xC3\xA9' is not allowed"));
  EXPECT_THAT(msg, Not(HasSubstr("'\xC3'")));
  // Bytes that are not UTF-8 are escaped, never emitted raw.
  EXPECT_EQ(internal::Quoted("a\xFF"
                             "b"),
            "'a\\xffb'");
  EXPECT_EQ(internal::Quoted("\xE2\x82\xAC"),
            "'\xE2\x82\xAC'");                              // A euro sign.
  EXPECT_EQ(internal::Quoted("\xE2\x82"), "'\\xe2\\x82'");  // Truncated.
  Tensor u = ops::Const(NDArray::Scalar(1.0f), {.name = "a\xFFz", .graph = g});
  EXPECT_THAT(u.status().message(), HasSubstr("character '\\xff'"));
}

TEST(Errors, StreamedStatusShowsReadablePayloads) {
  Graph training = Graph::Create("training");
  Graph serving = Graph::Create("serving");
  Tensor x =
      ops::Const(NDArray::Scalar(1.0f), {.name = "x", .graph = training});
  GraphScope scope(serving);
  Tensor y = ops::Add(x, x, {.name = "head"});
  ASSERT_FALSE(y.ok());
  std::ostringstream printed;
  printed << y.status();
  const std::string s = printed.str();
  EXPECT_THAT(s, HasSubstr("cross-graph edge rejected"));
  EXPECT_THAT(s, HasSubstr("[weft.dev/CrossGraphEdge='op=head&op_type=Add&"
                           "graph=serving&"));
  EXPECT_THAT(s, HasSubstr("&input=x:0&input_graph=training&"));
  EXPECT_THAT(s, HasSubstr("&op_file=tests/hostile_test.cc&"));
  // One payload: the OpErrorInfo of a cross-graph error is derived from it.
  EXPECT_THAT(s, Not(HasSubstr("weft.dev/OpErrorInfo")));
  // Nothing absl would escape (no \" or \' noise), and not the old
  // length-prefixed positional encoding ("4:head3:Add...").
  EXPECT_THAT(s, Not(HasSubstr("\\")));
  EXPECT_THAT(s, Not(HasSubstr("4:head")));
  // The payloads still read back, sentences with quotes included.
  std::optional<CrossGraphEdge> e = GetCrossGraphEdge(y.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->input_name, "x:0");
  EXPECT_THAT(e->graph_reason, HasSubstr("'serving' is the default graph"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(y.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kCrossGraph);
  EXPECT_EQ(info->node_name, "head");
  // An OpErrorInfo prints as one readable line too.
  Tensor z = ops::MatMul(ops::Const(NDArray::Scalar(1.0f)),
                         ops::Const(NDArray::Scalar(1.0f)), {.name = "mm"});
  std::ostringstream shape_error;
  shape_error << z.status();
  EXPECT_THAT(shape_error.str(),
              HasSubstr("[weft.dev/OpErrorInfo='kind=shape&node=mm&op=MatMul&"
                        "graph=serving&"));
}

TEST(Errors, ForeignPayloadsUnderWeftUrlsReadAsAbsent) {
  absl::Status s = absl::InvalidArgumentError("x");
  s.SetPayload("weft.dev/OpErrorInfo", absl::Cord("no equals sign"));
  s.SetPayload("weft.dev/CrossGraphEdge", absl::Cord("op=x&bad=%zz"));
  EXPECT_FALSE(GetOpErrorInfo(s).has_value());
  EXPECT_FALSE(GetCrossGraphEdge(s).has_value());
  s.SetPayload("weft.dev/OpErrorInfo",
               absl::Cord("kind=no_such_kind&node=n&op=o&graph=g&graph_id=1&"
                          "file=f&line=1&function=fn&thread=t"));
  EXPECT_FALSE(GetOpErrorInfo(s).has_value());
  s.SetPayload("weft.dev/OpErrorInfo",
               absl::Cord("kind=shape&node=n&op=o&graph=g&graph_id=1&"
                          "file=f&line=x1&function=fn&thread=t"));
  EXPECT_FALSE(GetOpErrorInfo(s).has_value());
  s.SetPayload("weft.dev/OpErrorInfo",
               absl::Cord("kind=shape&node=n%26m&op=o&graph=g&graph_id=1&"
                          "file=f&line=1&function=fn&thread=t%"));
  EXPECT_FALSE(GetOpErrorInfo(s).has_value());  // A cut escape.
}

TEST(ErrorKind, NamesRoundTripAndEveryKindIsDocumented) {
  const std::string doc = testing::ReadFile("docs/errors.md");
  ASSERT_FALSE(doc.empty())
      << "docs/errors.md is a data dependency of this test";
  for (ErrorKind k : AllErrorKinds()) {
    const std::string name(ErrorKindName(k));
    EXPECT_EQ(ErrorKindFromName(name), k);
    EXPECT_TRUE(absl::StrContains(doc, absl::StrCat("`", name, "`")))
        << "ErrorKind '" << name << "' is missing from docs/errors.md";
  }
  EXPECT_FALSE(ErrorKindFromName("nonsense").has_value());
}

}  // namespace
}  // namespace weft
