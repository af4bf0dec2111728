// Runs every case of ONNX's backend test suites (node, pytorch-converted,
// pytorch-operator, simple; Debian's libonnx-testdata) through ImportOnnx
// and Session::Run, comparing with the expected outputs at ONNX's backend
// tolerances (|out - ref| <= 1e-7 + 1e-3 |ref|). Each case's result must be
// the one onnx_backend_expectations.txt records, so the file is always
// true: a listed pass that fails and a listed failure that passes both
// fail the test. Prints "onnx backend: node P/932, ...".
//
// WEFT_ONNX_TESTDATA overrides the data directory. `--update` (under
// `bazel run`) rewrites the expectations file in the source tree.
#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/ndarray.h"
#include "gtest/gtest.h"
#include "interop/onnx_import.h"
#include "interop/onnx_tensor.h"
#include "onnx/onnx_pb.h"
#include "runtime/session.h"

namespace weft {
namespace {

constexpr char kExpectations[] = "tests/onnx/onnx_backend_expectations.txt";
const char* const kSuites[] = {"node", "pytorch-converted", "pytorch-operator",
                               "simple"};
bool g_update = false;
// A pass that needed some model inputs given at import
// (OnnxImportOptions::constant_inputs): a shape, axes, pads, scales or
// mask the model takes as a graph input and weft needs at import. The
// result names them: "pass (given at import: shape)".
constexpr char kPassFrozen[] = "pass (given at import: ";

bool IsPass(std::string_view r) { return r.rfind("pass", 0) == 0; }

std::string DataDir() {
  const char* env = std::getenv("WEFT_ONNX_TESTDATA");
  return env != nullptr ? env : "/usr/share/libonnx-testdata/data";
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool ReadAll(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

absl::StatusOr<NDArray> ReadTensor(const std::string& path) {
  std::string bytes;
  onnx::TensorProto proto;
  if (!ReadAll(path, bytes) || !proto.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  return onnx_internal::NDArrayFromOnnx(proto);
}

std::string FirstLine(std::string_view s) {
  std::string line(s.substr(0, s.find('\n')));
  if (line.size() > 160) line = line.substr(0, 157) + "...";
  return line;
}

// "" if `out` matches `ref` at ONNX's tolerances, else why not.
std::string Compare(const NDArray& out, const NDArray& ref, int index) {
  if (out.dtype() != ref.dtype()) {
    return absl::StrCat("output ", index, " is ", DTypeName(out.dtype()),
                        ", expected ", DTypeName(ref.dtype()));
  }
  if (out.shape() != ref.shape()) {
    return absl::StrCat("output ", index, " has shape ",
                        out.shape().DebugString(), ", expected ",
                        ref.shape().DebugString());
  }
  auto check = [&](auto tag) -> std::string {
    using T = decltype(tag);
    auto a = out.values<T>();
    auto b = ref.values<T>();
    auto as_double = [](T v) {
      if constexpr (std::is_same_v<T, Float16>) {
        return static_cast<double>(Float16ToFloat(v));
      } else {
        return static_cast<double>(v);
      }
    };
    for (size_t i = 0; i < a.size(); ++i) {
      const double x = as_double(a[i]), y = as_double(b[i]);
      if (std::isnan(x) && std::isnan(y)) continue;
      if (std::isinf(y) || std::isinf(x)) {
        if (x == y) continue;
      } else if (std::abs(x - y) <= 1e-7 + 1e-3 * std::abs(y)) {
        continue;
      }
      return absl::StrCat("output ", index, " differs at element ", i, ": ", x,
                          " vs expected ", y);
    }
    return "";
  };
  switch (out.dtype()) {
    case DType::kFloat32:
      return check(float{});
    case DType::kFloat64:
      return check(double{});
    case DType::kInt32:
      return check(int32_t{});
    case DType::kInt64:
      return check(int64_t{});
    case DType::kBool:
      return check(bool{});
    case DType::kUInt8:
      return check(uint8_t{});
    case DType::kInt8:
      return check(int8_t{});
    case DType::kFloat16:
      return check(Float16{});
  }
  return "unknown dtype";
}

// The model's inputs that are not initializers, in order.
std::vector<std::string> ModelInputs(const std::string& model_path) {
  std::string bytes;
  onnx::ModelProto model;
  std::vector<std::string> out;
  if (!ReadAll(model_path, bytes) || !model.ParseFromString(bytes)) return out;
  std::vector<std::string> inits;
  for (const auto& t : model.graph().initializer()) inits.push_back(t.name());
  for (const auto& vi : model.graph().input()) {
    if (std::find(inits.begin(), inits.end(), vi.name()) == inits.end()) {
      out.push_back(vi.name());
    }
  }
  return out;
}

// Reads <sd>/<kind>_0.pb, <kind>_1.pb, ... into `out` up to the first
// missing one; "" or "fail: <kind>: <reason>".
std::string ReadNumberedTensors(const std::string& sd, std::string_view kind,
                                std::vector<NDArray>& out) {
  for (int i = 0;; ++i) {
    std::string p = absl::StrCat(sd, "/", kind, "_", i, ".pb");
    if (!std::ifstream(p)) break;
    absl::StatusOr<NDArray> t = ReadTensor(p);
    if (!t.ok()) {
      return absl::StrCat("fail: ", kind, ": ",
                          FirstLine(t.status().message()));
    }
    out.push_back(*std::move(t));
  }
  return "";
}

// Imports the model with its inputs (named `names`) pinned to the shapes
// of `inputs`. The model may take a shape, axes, pads or scales as a graph
// input, which weft needs at import: exactly the inputs the error names
// are given as constants (OnnxImportOptions::constant_inputs), and the
// import retried; their names are appended to `frozen_names`.
absl::StatusOr<OnnxModel> ImportGivingInputsAsNeeded(
    const std::string& model_path, const std::vector<std::string>& names,
    const std::vector<NDArray>& inputs, OnnxImportOptions& options,
    std::string& frozen_names) {
  for (size_t i = 0; i < inputs.size() && i < names.size(); ++i) {
    options.input_shapes[names[i]] = inputs[i].shape();
  }
  absl::StatusOr<OnnxModel> model = ImportOnnx(model_path, options);
  for (int attempt = 0; attempt < 4 && !model.ok(); ++attempt) {
    bool any = false;
    for (size_t i = 0; i < inputs.size() && i < names.size(); ++i) {
      if (options.constant_inputs.contains(names[i])) continue;
      if (!absl::StrContains(
              model.status().message(),
              absl::StrCat("'", names[i], "') is computed at run time"))) {
        continue;
      }
      options.constant_inputs[names[i]] = inputs[i];
      options.input_shapes.erase(names[i]);
      absl::StrAppend(&frozen_names, frozen_names.empty() ? "" : ", ",
                      names[i]);
      any = true;
    }
    if (!any) break;
    model = ImportOnnx(model_path, options);
  }
  return model;
}

// "fail: import: <the first line of the error>", without the model's path.
std::string ImportFailure(const absl::Status& status,
                          const std::string& model_path) {
  std::string msg(status.message());
  // The unsupported list's first entry says more than its header.
  size_t nl = msg.find("\n  ");
  if (nl != std::string::npos &&
      absl::StrContains(msg.substr(0, nl), "unsupported node")) {
    msg = msg.substr(nl + 3);
  }
  size_t colon = msg.find(model_path);
  if (colon != std::string::npos) msg.erase(colon, model_path.size());
  return absl::StrCat("fail: import: ", FirstLine(msg));
}

// Pairs the model's inputs with the data set's `inputs` that were not given
// at import; "" or a failure when their numbers differ.
std::string MakeFeeds(const OnnxModel& model,
                      const std::vector<std::string>& names,
                      const std::vector<NDArray>& inputs,
                      const OnnxImportOptions& options, Feeds& feeds) {
  for (size_t i = 0, k = 0; i < inputs.size(); ++i) {
    if (i < names.size() && options.constant_inputs.contains(names[i])) {
      continue;
    }
    if (k >= model.inputs.size()) {
      return absl::StrCat("fail: model has ", model.inputs.size(),
                          " inputs, data set ", inputs.size());
    }
    feeds.push_back({model.inputs[k++], inputs[i]});
  }
  if (feeds.size() != model.inputs.size()) {
    return absl::StrCat("fail: model has ", model.inputs.size(),
                        " inputs, data set ", inputs.size());
  }
  return "";
}

// Runs `model` on `feeds` and compares its outputs with `expected`; "" or
// a failure.
std::string RunAndCompare(const OnnxModel& model, const Feeds& feeds,
                          const std::vector<NDArray>& expected) {
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(model.graph);
  if (!session.ok()) {
    return absl::StrCat("fail: session: ",
                        FirstLine(session.status().message()));
  }
  absl::StatusOr<std::vector<NDArray>> out =
      (*session)->Run(feeds, model.outputs);
  if (!out.ok())
    return absl::StrCat("fail: run: ", FirstLine(out.status().message()));
  if (out->size() != expected.size()) {
    return absl::StrCat("fail: ", out->size(), " outputs, expected ",
                        expected.size());
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    std::string why = Compare((*out)[i], expected[i], static_cast<int>(i));
    if (!why.empty()) return absl::StrCat("fail: ", FirstLine(why));
  }
  return "";
}

// One data set (directory `sd`) of the model at `model_path` (inputs
// `names`): "" or a failure. Inputs given at import are appended to
// `frozen_names`.
std::string RunDataSet(const std::string& model_path,
                       const std::vector<std::string>& names,
                       const std::string& sd, std::string& frozen_names) {
  std::vector<NDArray> inputs, expected;
  if (std::string r = ReadNumberedTensors(sd, "input", inputs); !r.empty()) {
    return r;
  }
  if (std::string r = ReadNumberedTensors(sd, "output", expected); !r.empty()) {
    return r;
  }
  OnnxImportOptions options;
  absl::StatusOr<OnnxModel> model = ImportGivingInputsAsNeeded(
      model_path, names, inputs, options, frozen_names);
  if (!model.ok()) return ImportFailure(model.status(), model_path);
  Feeds feeds;
  if (std::string r = MakeFeeds(*model, names, inputs, options, feeds);
      !r.empty()) {
    return r;
  }
  return RunAndCompare(*model, feeds, expected);
}

// "pass", or "fail: <reason>".
std::string RunCase(const std::string& dir) {
  const std::string model_path = dir + "/model.onnx";
  const std::vector<std::string> names = ModelInputs(model_path);
  int sets = 0;
  std::string frozen_names;  // Inputs given at import, if any.
  for (const std::string& set : ListDir(dir)) {
    if (set.rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    std::string r =
        RunDataSet(model_path, names, dir + "/" + set, frozen_names);
    if (!r.empty()) return r;
  }
  if (sets == 0) return "fail: no test data sets";
  if (frozen_names.empty()) return "pass";
  return absl::StrCat(kPassFrozen, frozen_names, ")");
}

std::map<std::string, std::string> ReadExpectations(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sep = line.find(": ");
    if (sep == std::string::npos) continue;
    out[line.substr(0, sep)] = line.substr(sep + 2);
  }
  return out;
}

// Runs every case of kSuites (those whose "suite/case" contains `only`,
// printing their results, when it is not empty) into `results`; returns the
// summary line.
std::string RunSuites(const std::string& data, const std::string& only,
                      std::map<std::string, std::string>& results) {
  std::string summary = "onnx backend:";
  int frozen = 0;
  for (const char* suite : kSuites) {
    int pass = 0, total = 0;
    for (const std::string& c : ListDir(absl::StrCat(data, "/", suite))) {
      if (!only.empty() &&
          !absl::StrContains(absl::StrCat(suite, "/", c), only)) {
        continue;
      }
      std::string r = RunCase(absl::StrCat(data, "/", suite, "/", c));
      if (!only.empty()) std::cout << suite << "/" << c << ": " << r << "\n";
      pass += IsPass(r);
      frozen += absl::StartsWith(r, kPassFrozen);
      ++total;
      results[absl::StrCat(suite, "/", c)] = r;
    }
    absl::StrAppend(&summary,
                    std::string_view(suite) == kSuites[0] ? " " : ", ", suite,
                    " ", pass, "/", total);
  }
  absl::StrAppend(&summary, " (", frozen,
                  " of the passes with some inputs given at import)");
  return summary;
}

// --update: rewrites the expectations file in the source tree.
void WriteExpectations(const std::string& summary,
                       const std::map<std::string, std::string>& results) {
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  ASSERT_NE(ws, nullptr) << "--update runs under `bazel run`";
  std::ofstream out(absl::StrCat(ws, "/", kExpectations));
  out << "# ONNX backend test cases (libonnx-testdata 1.12) and weft's "
         "result on each.\n# Generated: bazel run "
         "//tests/onnx:onnx_backend_test -- --update\n# "
      << summary << "\n";
  for (const auto& [name, r] : results) out << name << ": " << r << "\n";
  ASSERT_TRUE(out.good());
}

// Fails for each case whose pass or failure the expectations file does not
// record, and for each case it lists that the test data lacks.
void CheckExpectations(const std::map<std::string, std::string>& results) {
  const std::map<std::string, std::string> expected =
      ReadExpectations(kExpectations);
  ASSERT_FALSE(expected.empty()) << "cannot read " << kExpectations;
  int mismatches = 0;
  for (const auto& [name, r] : results) {
    auto it = expected.find(name);
    const bool want_pass = it != expected.end() && IsPass(it->second);
    const bool passed = IsPass(r);
    if (it == expected.end()) {
      ADD_FAILURE() << name << " is not in " << kExpectations << " (got: " << r
                    << ")";
      ++mismatches;
    } else if (want_pass != passed) {
      ADD_FAILURE() << name << ": expected " << it->second << ", got " << r;
      ++mismatches;
    }
  }
  for (const auto& [name, r] : expected) {
    if (!results.contains(name)) {
      ADD_FAILURE() << name << " is listed but is not in the test data";
    }
  }
  if (mismatches > 0) {
    std::cout << mismatches
              << " case(s) disagree with the expectations; after an "
                 "improvement run: bazel run //tests/onnx:onnx_backend_test "
                 "-- --update\n";
  }
}

TEST(OnnxBackend, EveryCaseMatchesTheExpectationFile) {
  const std::string data = DataDir();
  ASSERT_FALSE(ListDir(data + "/node").empty())
      << "ONNX backend test data not found in " << data
      << " (tools/bootstrap.sh installs libonnx-testdata; WEFT_ONNX_TESTDATA "
         "overrides the directory)";
  // WEFT_ONNX_ONLY=<substring>: run and print only the matching cases (for
  // debugging a converter; the expectations are not checked).
  const char* only_env = std::getenv("WEFT_ONNX_ONLY");
  const std::string only = only_env != nullptr ? only_env : "";
  std::map<std::string, std::string> results;
  const std::string summary = RunSuites(data, only, results);
  std::cout << summary << "\n";

  if (!only.empty()) return;
  if (g_update) {
    WriteExpectations(summary, results);
    return;
  }
  CheckExpectations(results);
}

}  // namespace
}  // namespace weft

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--update") weft::g_update = true;
  }
  return RUN_ALL_TESTS();
}
