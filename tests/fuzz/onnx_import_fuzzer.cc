// A libFuzzer target for the ONNX importer (interop/onnx_import.h): every
// input is imported with ImportOnnxBytes and, if that succeeds, given a
// Session and (when every input is small and fully known) run on zeros.
// Errors are the expected outcome; a crash, a leak, a sanitizer report, or
// an import error that does not name the model is a bug. Build and run it
// with clang (see .bazelrc's fuzz config):
//
//   bazel --output_base=/tmp/weft-fuzz build --config=fuzz
//       --symlink_prefix=/tmp/weft-fuzz- //tests/fuzz:onnx_import_fuzzer
//   mkdir -p /tmp/onnx_corpus && cp tests/fuzz/onnx_corpus/* /tmp/onnx_corpus
//   /tmp/weft-fuzz-bin/tests/fuzz/onnx_import_fuzzer /tmp/onnx_corpus
//       -max_total_time=120
//
// (--symlink_prefix keeps the workspace's bazel-bin pointing at the GCC
// build.)
//
// Built with WEFT_ONNX_FUZZ_REPLAY (//tests/fuzz:onnx_import_fuzz_test, run
// by plain `bazel test`), the file has its own main instead: it replays
// tests/fuzz/onnx_corpus/ and deterministic mutations of each seed (50
// truncations, 200 single-byte changes from a fixed-seed RNG) through the
// same function, and fails when any input breaks the contract above, when
// the corpus is missing, or when no seed imports.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "google/protobuf/stubs/logging.h"
#include "graph/ndarray.h"
#include "interop/onnx_import.h"
#include "runtime/session.h"

#ifdef WEFT_ONNX_FUZZ_REPLAY
#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#endif

namespace {

constexpr char kSource[] = "fuzz_input.onnx";
// Inputs larger than this are not run (the fuzzer looks for importer and
// planner bugs, not for the time a big convolution takes).
constexpr int64_t kMaxRunElements = 1'000'000;

void Quiet(google::protobuf::LogLevel, const char*, int, const std::string&) {}

// What one input did.
enum class Outcome { kImportError, kImported, kRan };

// Imports `bytes` and, when that works, creates a Session and runs it on
// zero inputs if they are small. Returns the outcome, or sets `violation`
// to a description of a broken contract (an import error not naming the
// model).
Outcome FuzzOne(std::string_view bytes, std::string& violation) {
  absl::StatusOr<weft::OnnxModel> model = weft::ImportOnnxBytes(bytes, kSource);
  if (!model.ok()) {
    if (!absl::StrContains(model.status().message(), kSource)) {
      violation =
          "import error does not name the model: " + model.status().ToString();
    }
    return Outcome::kImportError;
  }
  absl::StatusOr<std::unique_ptr<weft::Session>> session =
      weft::Session::Create(
          model->graph,
          {.num_threads = 1, .max_allocation_bytes = int64_t{64} << 20});
  if (!session.ok()) return Outcome::kImported;
  weft::Feeds feeds;
  for (const weft::Tensor& in : model->inputs) {
    const weft::Shape& shape = in.shape();
    if (!shape.IsFullyDefined() || shape.num_elements() > kMaxRunElements) {
      return Outcome::kImported;
    }
    weft::NDArray zeros = weft::NDArray::Uninitialized(in.dtype(), shape);
    if (zeros.num_bytes() > 0) {
      std::memset(zeros.mutable_raw_data(), 0, zeros.num_bytes());
    }
    feeds.emplace_back(in, std::move(zeros));
  }
  (void)(*session)->Run(feeds, model->outputs);
  return Outcome::kRan;
}

void QuietOnce() {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(&Quiet);
    return true;
  }();
  (void)quiet;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  QuietOnce();
  std::string violation;
  FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size),
          violation);
  if (!violation.empty()) {
    std::fprintf(stderr, "%s\n", violation.c_str());
    std::abort();
  }
  return 0;
}

#ifdef WEFT_ONNX_FUZZ_REPLAY

namespace {

constexpr char kCorpusDir[] = "tests/fuzz/onnx_corpus";
constexpr int kTruncations = 50;
constexpr int kByteChanges = 200;

std::vector<std::string> CorpusFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out.push_back(dir + "/" + e->d_name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

int main(int argc, char** argv) {
  QuietOnce();
  const std::string dir = argc > 1 ? argv[1] : kCorpusDir;
  const std::vector<std::string> files = CorpusFiles(dir);
  if (files.empty()) {
    std::fprintf(stderr, "FAIL: no seed files in %s\n", dir.c_str());
    return 1;
  }
  int failures = 0;
  int seeds_imported = 0;
  int64_t inputs = 0, imported = 0, ran = 0;
  auto check = [&](const std::string& what, std::string_view bytes) {
    std::string violation;
    const Outcome o = FuzzOne(bytes, violation);
    ++inputs;
    if (o != Outcome::kImportError) ++imported;
    if (o == Outcome::kRan) ++ran;
    if (!violation.empty()) {
      ++failures;
      std::fprintf(stderr, "FAIL: %s: %s\n", what.c_str(), violation.c_str());
    }
    return o;
  };
  // A fixed seed: every run replays the same mutations.
  std::mt19937 rng(20261206);
  for (const std::string& path : files) {
    const std::string seed = ReadFile(path);
    if (check(path, seed) != Outcome::kImportError) ++seeds_imported;
    if (seed.empty()) continue;
    for (int i = 0; i < kTruncations; ++i) {
      const size_t len = seed.size() * i / kTruncations;
      check(path + " truncated to " + std::to_string(len),
            std::string_view(seed).substr(0, len));
    }
    for (int i = 0; i < kByteChanges; ++i) {
      std::string mutated = seed;
      const size_t pos = rng() % mutated.size();
      const uint32_t r = rng();
      // Half flip one bit; half write a byte likely to matter in a
      // protobuf (a varint continuation, a tag, 0 or 0xff).
      static constexpr char kBytes[] = {'\x00', '\x01', '\x7f', '\x80',
                                        '\xff', '\x08', '\x12', '\x3a'};
      if (r & 1) {
        mutated[pos] = static_cast<char>(mutated[pos] ^ (1 << ((r >> 1) % 8)));
      } else {
        mutated[pos] = kBytes[(r >> 1) % sizeof(kBytes)];
      }
      check(path + " byte " + std::to_string(pos) + " changed (mutation " +
                std::to_string(i) + ")",
            mutated);
    }
  }
  std::fprintf(stderr,
               "%zu seeds (%d import), %lld inputs: %lld imported, %lld ran, "
               "%d contract failures\n",
               files.size(), seeds_imported, static_cast<long long>(inputs),
               static_cast<long long>(imported), static_cast<long long>(ran),
               failures);
  if (seeds_imported == 0) {
    std::fprintf(stderr, "FAIL: no seed imports; the corpus is stale\n");
    return 1;
  }
  return failures == 0 ? 0 : 1;
}

#endif  // WEFT_ONNX_FUZZ_REPLAY
