// Checks that docs/ops.md, the reference of every op, lists exactly the ops
// the registry has (with //:weft linked, so the state and queue ops are
// registered too): a new op without a row, or a row for an op that is
// gone, fails here.
#include <regex>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "weft.h"

namespace weft {
namespace {

using testing::ReadFile;
TEST(OpsReference, ListsEveryRegisteredOpAndNothingElse) {
  const std::string doc = ReadFile("docs/ops.md");
  ASSERT_FALSE(doc.empty()) << "docs/ops.md not found in the runfiles";
  // A row per op: "| `Name` | family | ...".
  std::set<std::string> documented;
  const std::regex row(R"(\n\| `([A-Za-z0-9_]+)` \|)");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row);
       it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1].str());
  }
  std::set<std::string> registered;
  for (const std::string& op : OpRegistry::Global().ListOps()) {
    registered.insert(op);
  }
  ASSERT_GT(registered.size(), 50u);
  for (const std::string& op : registered) {
    EXPECT_TRUE(documented.count(op)) << "op '" << op
                                      << "' is registered but has no row in "
                                         "docs/ops.md";
  }
  for (const std::string& op : documented) {
    EXPECT_TRUE(registered.count(op))
        << "docs/ops.md has a row for '" << op << "', which is not registered";
  }
}

}  // namespace
}  // namespace weft
