// PaddleOCR's detection model (ch_PP-OCRv4_det_infer.onnx) through weft:
// the cost of importing it and compiling its plan (and of the first run,
// which builds the oneDNN primitives), and the latency of one run on a
// 1x3x640x640 page (docs/perf.md, "ONNX models vs ONNX Runtime";
// tools/onnx/compare_ort.sh compares the same with ONNX Runtime).
//
//   bazel run -c opt //tools/bench:onnx_bench -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true     (one command line)
//
// The models are the bench's runfiles (@ocr_models), or, run from the
// repository root, third_party/deps/npm/ocr-models/assets; the environment
// variable WEFT_MODELS names another directory holding them.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "graph/ndarray.h"
#include "interop/onnx_import.h"
#include "runtime/session.h"

namespace weft {
namespace {

constexpr char kDet[] = "ch_PP-OCRv4_det_infer.onnx";

// $WEFT_MODELS, else the runfiles (under `bazel run`), else the checkout's
// copy (the binary run from the repository root).
std::string ModelPath(const char* model) {
  if (const char* dir = std::getenv("WEFT_MODELS")) {
    return absl::StrCat(dir, "/", model);
  }
  const std::string runfiles =
      absl::StrCat("external/ocr_models/assets/", model);
  if (std::filesystem::exists(runfiles)) return runfiles;
  return absl::StrCat("third_party/deps/npm/ocr-models/assets/", model);
}

// tests/onnx/paddleocr_test.cc's synthetic page, ImageNet-normalized.
NDArray Page(int64_t h, int64_t w) {
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  const float std[3] = {0.229f, 0.224f, 0.225f};
  NDArray a = NDArray::Uninitialized(DType::kFloat32, Shape{1, 3, h, w});
  float* p = a.mutable_data<float>();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int64_t line = y / 24, in_line = y % 24;
      const bool ink = in_line >= 6 && in_line < 18 && (x / 8) % 5 != 4 &&
                       ((x * 7 + line * 13) / 3) % 4 != 0 && x > 10 &&
                       x < w - 10 - (line % 3) * 40;
      const float v = ink ? 30.0f : 235.0f + static_cast<float>((x + y) % 7);
      for (int c = 0; c < 3; ++c) {
        p[(c * h + y) * w + x] = (v / 255.0f - mean[c]) / std[c];
      }
    }
  }
  return a;
}

// ImportOnnx of det pinned to 1x3x640x640, Session::Create, and compiling
// the plan (Session::GetPlan): everything before the first run.
void BM_DetImportCompile(benchmark::State& state) {
  const std::string path = ModelPath(kDet);
  for (auto _ : state) {
    absl::StatusOr<OnnxModel> m =
        ImportOnnx(path, {.input_shapes = {{"x", Shape{1, 3, 640, 640}}}});
    if (!m.ok()) {
      state.SkipWithError(m.status().ToString().c_str());
      return;
    }
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::Create(m->graph, {.num_threads = 2});
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      return;
    }
    absl::StatusOr<PlanSummary> plan = (*s)->GetPlan(m->inputs, m->outputs);
    if (!plan.ok()) {
      state.SkipWithError(plan.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(plan->num_nodes);
  }
}
BENCHMARK(BM_DetImportCompile)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same, then the first run on a 1x3x640x640 page (which builds the
// kernels' oneDNN primitives): everything until the first result.
void BM_DetImportCompileFirstRun(benchmark::State& state) {
  const std::string path = ModelPath(kDet);
  const NDArray page = Page(640, 640);
  for (auto _ : state) {
    absl::StatusOr<OnnxModel> m =
        ImportOnnx(path, {.input_shapes = {{"x", page.shape()}}});
    if (!m.ok()) {
      state.SkipWithError(m.status().ToString().c_str());
      return;
    }
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::Create(m->graph, {.num_threads = 2});
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      return;
    }
    auto out = (*s)->Run({{m->inputs[0], page}}, m->outputs);
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out->data());
  }
}
BENCHMARK(BM_DetImportCompileFirstRun)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One Session::Run of det on a 1x3x640x640 page, 2 threads, after a
// warm-up run (which builds the kernels' oneDNN primitives).
void BM_DetLatency(benchmark::State& state) {
  absl::StatusOr<OnnxModel> m = ImportOnnx(
      ModelPath(kDet), {.input_shapes = {{"x", Shape{1, 3, 640, 640}}}});
  if (!m.ok()) {
    state.SkipWithError(m.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(m->graph, {.num_threads = 2});
  if (!s.ok()) {
    state.SkipWithError(s.status().ToString().c_str());
    return;
  }
  const Feeds feeds = {{m->inputs[0], Page(640, 640)}};
  if (auto warm = (*s)->Run(feeds, m->outputs); !warm.ok()) {
    state.SkipWithError(warm.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto out = (*s)->Run(feeds, m->outputs);
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out->data());
  }
}
BENCHMARK(BM_DetLatency)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace weft
