// files.h — temporary paths and whole-file reads and writes for tests that
// save, load or corrupt files (checkpoints, graph files, the file layer) or
// read a doc from their runfiles.
//
//   const std::string path = testing::TempPath("model.safetensors");
//   ASSERT_TRUE(SaveVariables(path, {w}).ok());
//   EXPECT_EQ(testing::ReadFile(path).substr(0, 8), ...);
#ifndef WEFT_TESTS_TESTING_FILES_H_
#define WEFT_TESTS_TESTING_FILES_H_

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace weft {
namespace testing {

// `name` under the test's temporary directory (gtest's TempDir, which Bazel
// points at the test's own TEST_TMPDIR), joined with exactly one '/'. The
// directory outlives the test, so use a name per test.
inline std::string TempPath(std::string_view name) {
  std::string dir = ::testing::TempDir();
  if (dir.empty() || dir.back() != '/') dir.push_back('/');
  return absl::StrCat(dir, name);
}

// Creates the directory TempPath(name) (a failed test if it cannot, e.g.
// because it exists) and returns its path.
inline std::string FreshDir(std::string_view name) {
  const std::string dir = TempPath(name);
  EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0)
      << dir << ": " << std::strerror(errno);
  return dir;
}

// The bytes of the file at `path`; empty when it cannot be opened (tests of
// data dependencies assert it is not empty).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file at `path` with `bytes` (a failed test if it cannot).
inline void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  EXPECT_FALSE(out.fail()) << "cannot write " << path;
}

// The names of the entries of directory `dir` other than "." and "..",
// sorted; empty when it cannot be opened. For checking that a writer left
// no temporary file behind.
inline std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace testing
}  // namespace weft

#endif  // WEFT_TESTS_TESTING_FILES_H_
