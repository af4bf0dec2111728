// Mutation test of LoadGraph's parsing (graph/graph_io.h): thousands of
// truncated, bit-flipped and field-shuffled copies of a saved graph, binary
// and text, each must load as a clean error (naming the file) or as a valid
// graph; never a crash, a hang or a sanitizer report (run under
// --config=asan too).

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/wire_format_lite.h"
#include "graph/graph_io.h"
#include "gtest/gtest.h"
#include "weft.h"

namespace weft {
namespace {

void QuietProtobuf(google::protobuf::LogLevel, const char*, int,
                   const std::string&) {}

// A graph exercising every attr kind the standard ops use.
Graph SampleGraph() {
  Graph g = Graph::Create("sample");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, 3}, {.name = "x"});
  Tensor w = ops::Const(*NDArray::Create<float>({1, 2, 3, 4, 5, 6}, {3, 2}));
  Tensor h;
  {
    NameScope ns("layer");
    DeviceScope ds("cpu:1");
    h = ops::Relu(ops::MatMul(x, w));
  }
  Tensor s = ops::ReduceSum(h, {0}, {.control_inputs = {w}});
  Tensor r = ops::Reshape(ops::Cast(s, DType::kInt64), Shape{-1, 1});
  Tensor b = ops::Const(NDArray::Vector<bool>({true, false}));
  Tensor i = ops::Const(NDArray::Scalar<int32_t>(7));
  Tensor d = ops::Const(NDArray::Scalar<double>(0.5));
  (void)b;
  (void)i;
  (void)d;
  EXPECT_TRUE(r.ok()) << r.status();
  return g;
}

// Splits a binary message into its top-level fields (tag + payload).
std::vector<std::string> TopLevelFields(const std::string& bytes) {
  std::vector<std::string> out;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  while (true) {
    const int start = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) break;
    out.push_back(bytes.substr(start, in.CurrentPosition() - start));
  }
  return out;
}

// Loads `contents`; returns "ok" or "error", failing the test on an error
// that does not name the source.
std::string Check(const std::string& contents, GraphFileFormat format,
                  const std::string& source) {
  absl::StatusOr<Graph> g = ParseGraph(contents, format, source);
  if (g.ok()) {
    // A surviving mutant is a valid graph: every node passed the builders.
    EXPECT_FALSE(g->DebugString().empty());
    return "ok";
  }
  EXPECT_TRUE(absl::StrContains(g.status().message(), source)) << g.status();
  return "error";
}

// Runs `rounds` rounds of mutants of `g`'s binary and text files.
void RunMutants(const Graph& g, int rounds) {
  google::protobuf::SetLogHandler(&QuietProtobuf);
  const std::string binary = *SerializeGraph(g, GraphFileFormat::kBinary);
  const std::string text = *SerializeGraph(g, GraphFileFormat::kText);
  ASSERT_TRUE(ParseGraph(binary, GraphFileFormat::kBinary, "b").ok());
  ASSERT_TRUE(ParseGraph(text, GraphFileFormat::kText, "t").ok());

  std::mt19937 rng(12345);
  int errors = 0, loaded = 0, total = 0;
  auto tally = [&](const std::string& r) {
    ++total;
    (r == "ok" ? loaded : errors)++;
  };
  const std::vector<std::string> fields = TopLevelFields(binary);
  ASSERT_GT(fields.size(), 10u);
  for (int round = 0; round < rounds; ++round) {
    for (const auto* original : {&binary, &text}) {
      const GraphFileFormat format = original == &binary
                                         ? GraphFileFormat::kBinary
                                         : GraphFileFormat::kText;
      const std::string source = absl::StrCat("mutant-", round, ".file");
      // Truncation.
      tally(
          Check(original->substr(0, rng() % original->size()), format, source));
      // 1-8 bit flips.
      std::string flipped = *original;
      for (int k = 1 + rng() % 8; k > 0; --k) {
        flipped[rng() % flipped.size()] ^= static_cast<char>(1 << (rng() % 8));
      }
      tally(Check(flipped, format, source));
    }
    // Field shuffles: binary top-level fields (nodes out of order, version
    // after nodes, ...), and text lines.
    std::vector<std::string> shuffled = fields;
    if (round % 2 == 0) {
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
    } else {  // Swap two fields, or drop or repeat one.
      const size_t a = rng() % shuffled.size(), b = rng() % shuffled.size();
      switch (rng() % 3) {
        case 0:
          std::swap(shuffled[a], shuffled[b]);
          break;
        case 1:
          shuffled.erase(shuffled.begin() + a);
          break;
        default:
          shuffled.insert(shuffled.begin() + a, shuffled[b]);
      }
    }
    tally(Check(absl::StrJoin(shuffled, ""), GraphFileFormat::kBinary,
                absl::StrCat("shuffled-", round, ".pb")));
    std::vector<std::string> lines = absl::StrSplit(text, '\n');
    const size_t a = rng() % lines.size(), b = rng() % lines.size();
    std::swap(lines[a], lines[b]);
    tally(Check(absl::StrJoin(lines, "\n"), GraphFileFormat::kText,
                absl::StrCat("shuffled-", round, ".pbtxt")));
  }
  std::printf("%d mutants: %d refused, %d loaded\n", total, errors, loaded);
  EXPECT_EQ(total, rounds * 6);
  // Most mutants are refused; some (a flipped bit inside a weight) load.
  EXPECT_GT(errors, total / 2);
  EXPECT_GT(loaded, 0);
  google::protobuf::SetLogHandler(nullptr);
}

TEST(GraphIo, MutantsLoadAsCleanErrors) { RunMutants(SampleGraph(), 1500); }

// A graph whose file has a function library: a Call with a capture, a
// function calling another, Cond and While (mutants may reorder, rename or
// cut functions, or make them call each other).
Graph FunctionSampleGraph() {
  Graph g = Graph::Create("functions");
  GraphScope scope(g);
  const TensorSpec i32{DType::kInt32, Shape{}, "x"};
  Tensor w = ops::Const(NDArray::Scalar<int32_t>(3), {.name = "w"});
  absl::StatusOr<Function> scale = Function::Trace(
      "scale", {i32},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Mul(a[0], w)};
      },
      FunctionOptions{.captures = {w}});
  absl::StatusOr<Function> twice = Function::Trace(
      "twice", {i32},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return ops::Call(*scale, ops::Call(*scale, {a[0]}));
      },
      FunctionOptions{.captures = {w}});
  absl::StatusOr<Function> small = Function::Trace(
      "small", {i32}, [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        return {ops::Less(a[0], ops::Const(NDArray::Scalar<int32_t>(100)))};
      });
  EXPECT_TRUE(scale.ok() && twice.ok() && small.ok());
  Tensor x = ops::Placeholder(DType::kInt32, Shape{}, {.name = "x"});
  Tensor y = ops::Call(*twice, {x})[0];
  Tensor loop = ops::While(*small, *scale, {y})[0];
  Tensor c = ops::Cond(ops::Less(x, loop), *twice, *scale, {loop})[0];
  EXPECT_TRUE(c.ok()) << c.status();
  return g;
}

TEST(GraphIo, FunctionLibraryMutantsLoadAsCleanErrors) {
  RunMutants(FunctionSampleGraph(), 500);
}

}  // namespace
}  // namespace weft
