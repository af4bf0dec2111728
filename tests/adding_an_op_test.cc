// docs/adding_an_op.md's worked example, Softplus: each excerpt the doc
// shows (its ```cc blocks) is found verbatim in one of the three files it
// names, each of the three files has at least one excerpt, and the op
// builds, checks its dtype and runs.
#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "weft.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;

// The bodies of the ```cc blocks of `markdown`.
std::vector<std::string> CcBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  size_t pos = 0;
  while ((pos = markdown.find("\n```cc\n", pos)) != std::string::npos) {
    const size_t begin = pos + 7;
    const size_t end = markdown.find("\n```", begin);
    if (end == std::string::npos) break;
    blocks.push_back(markdown.substr(begin, end - begin + 1));
    pos = end + 4;
  }
  return blocks;
}

TEST(AddingAnOp, TheDocsExcerptsAreTheSourcesLines) {
  const std::string doc = ReadFile("docs/adding_an_op.md");
  ASSERT_FALSE(doc.empty());
  const std::vector<std::string> files = {"graph/ops.h",
                                          "graph/elementwise_ops.cc",
                                          "kernels/elementwise_kernels.cc"};
  std::vector<std::string> sources;
  for (const std::string& f : files) {
    sources.push_back(ReadFile(f));
    ASSERT_FALSE(sources.back().empty()) << f;
  }
  const std::vector<std::string> blocks = CcBlocks(doc);
  ASSERT_GE(blocks.size(), 3u);
  std::vector<int> excerpts_per_file(files.size(), 0);
  for (const std::string& block : blocks) {
    bool found = false;
    for (size_t i = 0; i < files.size(); ++i) {
      if (sources[i].find(block) != std::string::npos) {
        ++excerpts_per_file[i];
        found = true;
      }
    }
    EXPECT_TRUE(found) << "this excerpt of docs/adding_an_op.md is in none "
                          "of the three files:\n"
                       << block;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_GT(excerpts_per_file[i], 0) << files[i] << " has no excerpt";
  }
}

TEST(AddingAnOp, SoftplusRunsAndChecksItsDType) {
  Graph g = Graph::Create("softplus");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kFloat64, Shape{5});
  Tensor y = ops::Softplus(x);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.dtype(), DType::kFloat64);
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(g);
  ASSERT_TRUE(session.ok()) << session.status();
  const std::vector<double> in = {-800, -1, 0, 1, 800};
  absl::StatusOr<std::vector<NDArray>> out =
      (*session)->Run({{x, NDArray::Vector<double>(in)}}, {y});
  ASSERT_TRUE(out.ok()) << out.status();
  absl::Span<const double> v = (*out)[0].values<double>();
  EXPECT_EQ(v[0], 0.0);  // exp(-800) underflows; no NaN or inf.
  EXPECT_NEAR(v[1], std::log1p(std::exp(-1.0)), 1e-15);
  EXPECT_NEAR(v[2], std::log(2.0), 1e-15);
  EXPECT_NEAR(v[3], 1 + std::log1p(std::exp(-1.0)), 1e-15);
  EXPECT_EQ(v[4], 800.0);  // No overflow for large x.

  Tensor i = ops::Softplus(ops::Const(NDArray::Vector<int32_t>({1})));
  ASSERT_FALSE(i.ok());
  EXPECT_THAT(i.status().message(), HasSubstr("takes float32 or float64"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(i.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kind, ErrorKind::kDType);
  EXPECT_EQ(info->op_type, "Softplus");
}

}  // namespace
}  // namespace weft
