// Tests of the array ops added for ONNX: Tile, BroadcastTo, Pad, Resize,
// GatherElements, ScatterElements, Trilu, TopK, GatherND, Range, and
// Gather's negative indices. Expected values are computed by hand or, for
// Resize, taken from ONNX's reference implementation
// (onnx/backend/test/case/node/resize.py).
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

using testing::Arr;
using testing::ExpectArray;
using testing::ExpectBuildError;
using testing::ExpectError;
using testing::ExpectNear;
using testing::Feed;
using ::testing::HasSubstr;
using testing::In;
using testing::RunKernel;
using testing::RunKernelOutputs;

// ----------------------------------------------------------------- Tile --

TEST(Tile, RepeatsAlongEveryAxis) {
  Graph g = Graph::Create("t");
  NDArray x = Arr<int32_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<int32_t>(RunKernel(ops::Tile(Feed(g, x), {2, 1}, In(g)), {x}),
                       Shape{4, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  ExpectArray<int32_t>(RunKernel(ops::Tile(Feed(g, x), {1, 2}, In(g)), {x}),
                       Shape{2, 6}, {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  ExpectArray<int32_t>(RunKernel(ops::Tile(Feed(g, x), {0, 2}, In(g)), {x}),
                       Shape{0, 6}, {});
  NDArray b = Arr<bool>({true, false}, Shape{2});
  ExpectArray<bool>(RunKernel(ops::Tile(Feed(g, b), {3}, In(g)), {b}), Shape{6},
                    {true, false, true, false, true, false});
}

TEST(Tile, RejectsBadMultiples) {
  Graph g = Graph::Create("t");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  ExpectBuildError(ops::Tile(x, {2}, In(g)), ErrorKind::kAttr,
                   "Tile multiples [2] must have one entry >= 0 per axis of "
                   "input 0 is float32[2,3] (2 entries)");
  ExpectBuildError(ops::Tile(x, {1, -1}, In(g)), ErrorKind::kAttr,
                   "Tile multiples [1,-1]");
}

// ---------------------------------------------------------- BroadcastTo --

TEST(BroadcastTo, FollowsNumpyBroadcasting) {
  Graph g = Graph::Create("t");
  NDArray x = Arr<float>({1, 2, 3}, Shape{3, 1});
  ExpectArray<float>(
      RunKernel(ops::BroadcastTo(Feed(g, x), {2, 1, 2}, In(g)), {x}),
      Shape{2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  // `shape` with fewer dims or 1s keeps x's larger dims (ONNX Expand).
  NDArray y = Arr<int64_t>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<int64_t>(
      RunKernel(ops::BroadcastTo(Feed(g, y), {1, 1}, In(g)), {y}), Shape{2, 3},
      {1, 2, 3, 4, 5, 6});
  ExpectArray<int64_t>(
      RunKernel(ops::BroadcastTo(Feed(g, y), {2, 1, 3}, In(g)), {y}),
      Shape{2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  NDArray s = Arr<int32_t>({7}, Shape{});
  ExpectArray<int32_t>(
      RunKernel(ops::BroadcastTo(Feed(g, s), {2, 2}, In(g)), {s}), Shape{2, 2},
      {7, 7, 7, 7});
}

TEST(BroadcastTo, RejectsIncompatibleShapes) {
  Graph g = Graph::Create("t");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  ExpectBuildError(ops::BroadcastTo(x, {4}, In(g)), ErrorKind::kShape,
                   "BroadcastTo cannot broadcast input 0 is float32[2,3] to "
                   "shape [4]");
  ExpectBuildError(ops::BroadcastTo(x, {-1, 3}, In(g)), ErrorKind::kAttr,
                   "BroadcastTo shape [-1,3] has a negative dimension");
  // Unknown at build time, wrong at run time.
  Tensor u = ops::Placeholder(DType::kFloat32, Shape{-1}, In(g));
  NDArray v = Arr<float>({1, 2}, Shape{2});
  ExpectError(RunKernel(ops::BroadcastTo(u, {3}, In(g)), {v}),
              absl::StatusCode::kInvalidArgument,
              {"BroadcastTo cannot broadcast the fed float32[2] to shape [3]"});
}

// ------------------------------------------------------------------ Pad --

TEST(Pad, ConstantWithValueAndNegativeCrops) {
  Graph g = Graph::Create("t");
  NDArray x = Arr<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  // pads = [begin0, begin1, end0, end1].
  ExpectArray<float>(
      RunKernel(ops::Pad(Feed(g, x), {1, 0, 0, 2}, "constant", 9, In(g)), {x}),
      Shape{3, 5}, {9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9});
  // Default mode and value: zeros.
  ExpectArray<float>(RunKernel(ops::Pad(Feed(g, x), {0, 1, 0, 0}, In(g)), {x}),
                     Shape{2, 4}, {0, 1, 2, 3, 0, 4, 5, 6});
  // Negative pads crop: drop row 0 and the last column, pad one column left.
  ExpectArray<float>(
      RunKernel(ops::Pad(Feed(g, x), {-1, 1, 0, -1}, In(g)), {x}), Shape{1, 3},
      {0, 4, 5});
  // The value is cast to x's dtype (truncated for integers).
  NDArray i = Arr<int32_t>({1, 2}, Shape{2});
  ExpectArray<int32_t>(
      RunKernel(ops::Pad(Feed(g, i), {1, 1}, "constant", 2.7, In(g)), {i}),
      Shape{4}, {2, 1, 2, 2});
}

TEST(Pad, ReflectAndEdge) {
  Graph g = Graph::Create("t");
  NDArray x = Arr<int64_t>({1, 2, 3, 4}, Shape{4});
  ExpectArray<int64_t>(
      RunKernel(ops::Pad(Feed(g, x), {3, 2}, "reflect", 0, In(g)), {x}),
      Shape{9}, {4, 3, 2, 1, 2, 3, 4, 3, 2});
  ExpectArray<int64_t>(
      RunKernel(ops::Pad(Feed(g, x), {2, 1}, "edge", 0, In(g)), {x}), Shape{7},
      {1, 1, 1, 2, 3, 4, 4});
  // Crop first, then pad the cropped region: [2, 3] -> edge.
  ExpectArray<int64_t>(
      RunKernel(ops::Pad(Feed(g, x), {-1, -1}, "edge", 0, In(g)), {x}),
      Shape{2}, {2, 3});
  ExpectArray<int64_t>(
      RunKernel(ops::Pad(Feed(g, x), {-1, 2}, "edge", 0, In(g)), {x}), Shape{5},
      {2, 3, 4, 4, 4});
  ExpectArray<int64_t>(
      RunKernel(ops::Pad(Feed(g, x), {-1, 2}, "reflect", 0, In(g)), {x}),
      Shape{5}, {2, 3, 4, 3, 2});
  NDArray m = Arr<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ExpectArray<float>(
      RunKernel(ops::Pad(Feed(g, m), {1, 2, 0, 1}, "reflect", 0, In(g)), {m}),
      Shape{3, 6}, {6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5});
  ExpectArray<float>(
      RunKernel(ops::Pad(Feed(g, m), {1, 1, 1, 1}, "edge", 0, In(g)), {m}),
      Shape{4, 5},
      {1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6});
}

TEST(Pad, RejectsBadPads) {
  Graph g = Graph::Create("t");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  ExpectBuildError(ops::Pad(x, {1, 1}, In(g)), ErrorKind::kAttr,
                   "Pad pads [1,1] must have 2 * rank = 4 entries for input 0 "
                   "is float32[2,3] (all begins, then all ends)");
  ExpectBuildError(ops::Pad(x, {0, 3, 0, 0}, "reflect", 0, In(g)),
                   ErrorKind::kShape,
                   "Pad reflect pads [0,3,0,0] at axis 1 of input 0 is "
                   "float32[2,3] must be smaller than the (cropped) dimension "
                   "3");
  ExpectBuildError(ops::Pad(x, {-3, 0, 0, 0}, In(g)), ErrorKind::kShape,
                   "Pad pads [-3,0,0,0] crop more than dimension 0 of input 0 "
                   "is float32[2,3] holds");
  ExpectBuildError(ops::Pad(x, {0, 0, 0, 0}, "wrap", 0, In(g)),
                   ErrorKind::kAttr,
                   "Pad mode 'wrap' is not supported; use one of \"constant\", "
                   "\"reflect\", \"edge\"");
  // Reflect on a dimension only known at run time.
  Tensor u = ops::Placeholder(DType::kFloat32, Shape{-1}, In(g));
  NDArray v = Arr<float>({1, 2}, Shape{2});
  ExpectError(RunKernel(ops::Pad(u, {2, 0}, "reflect", 0, In(g)), {v}),
              absl::StatusCode::kInvalidArgument,
              {"Pad pads [2,0] (mode reflect) do not fit the fed float32[2]: "
               "reflect pads at axis 0 must be smaller than its cropped size "
               "2"});
}

// --------------------------------------------------------------- Resize --

std::vector<float> Iota16() {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i + 1);
  return v;
}

absl::StatusOr<NDArray> RunResize(const NDArray& x, std::vector<int64_t> sizes,
                                  const ops::ResizeAttrs& attrs) {
  Graph g = Graph::Create("resize");
  return RunKernel(ops::Resize(Feed(g, x), std::move(sizes), attrs, In(g)),
                   {x});
}

TEST(Resize, NearestMatchesOnnxReference) {
  NDArray x = Arr<float>({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  // test_resize_upsample_scales_nearest (scales 1, 1, 2, 3).
  ExpectArray<float>(
      RunResize(x, {1, 1, 4, 6}, {.scales = {1, 1, 2, 3}}), Shape{1, 1, 4, 6},
      {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
  // test_resize_upsample_sizes_nearest.
  ExpectArray<float>(RunResize(x, {1, 1, 7, 8}, {}), Shape{1, 1, 7, 8},
                     {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1,
                      1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4,
                      4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4});
  NDArray y = Arr<float>({1, 2, 3, 4, 5, 6, 7, 8}, Shape{1, 1, 2, 4});
  // test_resize_downsample_scales_nearest (0.6): x_ori = 2.0 exactly picks 3.
  ExpectArray<float>(RunResize(y, {1, 1, 1, 2}, {.scales = {1, 1, 0.6f, 0.6f}}),
                     Shape{1, 1, 1, 2}, {1, 3});
  // test_resize_downsample_sizes_nearest: x_ori = 0.17, 1.5, 2.83.
  ExpectArray<float>(RunResize(y, {1, 1, 1, 3}, {}), Shape{1, 1, 1, 3},
                     {1, 2, 4});
  NDArray z = Arr<float>(Iota16(), Shape{1, 1, 4, 4});
  // test_resize_upsample_sizes_nearest_floor_align_corners.
  ExpectArray<float>(
      RunResize(z, {1, 1, 8, 8},
                {.coordinate_transformation_mode = "align_corners",
                 .nearest_mode = "floor"}),
      Shape{1, 1, 8, 8},
      {1, 1, 1, 2,  2,  3,  3,  4,  1,  1,  1,  2,  2,  3,  3,  4,
       1, 1, 1, 2,  2,  3,  3,  4,  5,  5,  5,  6,  6,  7,  7,  8,
       5, 5, 5, 6,  6,  7,  7,  8,  9,  9,  9,  10, 10, 11, 11, 12,
       9, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13, 14, 14, 15, 15, 16});
  // test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric and
  // ..._ceil_half_pixel give the same array.
  const std::vector<float> ceil = {
      1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,  8,  8,  8,
      5,  6,  6,  7,  7,  8,  8,  8,  9,  10, 10, 11, 11, 12, 12, 12,
      9,  10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15, 15, 16, 16, 16,
      13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16};
  ExpectArray<float>(RunResize(z, {1, 1, 8, 8},
                               {.coordinate_transformation_mode = "asymmetric",
                                .nearest_mode = "round_prefer_ceil"}),
                     Shape{1, 1, 8, 8}, ceil);
  ExpectArray<float>(RunResize(z, {1, 1, 8, 8}, {.nearest_mode = "ceil"}),
                     Shape{1, 1, 8, 8}, ceil);
  // tf_half_pixel_for_nn (Resize-11): x_ori = (x + 0.5) / 2 = 0.25, 0.75,
  // 1.25, 1.75 -> round_prefer_floor 0, 1, 1, 2.
  NDArray w = Arr<double>({10, 20, 30}, Shape{3});
  ExpectArray<double>(
      RunResize(w, {6},
                {.coordinate_transformation_mode = "tf_half_pixel_for_nn"}),
      Shape{6}, {10, 20, 20, 30, 30, 30});
}

TEST(Resize, NearestIntegerUpsamplingOfNchw) {
  // The fast path: 2x on the last two axes of a [2, 3, 5, 7] float32 array.
  std::vector<float> v(2 * 3 * 5 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f;
  NDArray x = Arr<float>(v, Shape{2, 3, 5, 7});
  std::vector<float> expected;
  for (int n = 0; n < 6; ++n) {
    for (int h = 0; h < 10; ++h) {
      for (int w = 0; w < 14; ++w) {
        expected.push_back(v[(n * 5 + h / 2) * 7 + w / 2]);
      }
    }
  }
  for (const char* ctm : {"half_pixel", "asymmetric", "pytorch_half_pixel"}) {
    SCOPED_TRACE(ctm);
    ExpectArray<float>(
        RunResize(x, {2, 3, 10, 14}, {.coordinate_transformation_mode = ctm}),
        Shape{2, 3, 10, 14}, expected);
  }
  // 3x in height, 1x in width.
  expected.clear();
  for (int n = 0; n < 6; ++n) {
    for (int h = 0; h < 15; ++h) {
      for (int w = 0; w < 7; ++w)
        expected.push_back(v[(n * 5 + h / 3) * 7 + w]);
    }
  }
  ExpectArray<float>(RunResize(x, {2, 3, 15, 7}, {}), Shape{2, 3, 15, 7},
                     expected);
}

TEST(Resize, LinearMatchesOnnxReference) {
  NDArray x = Arr<float>({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  // test_resize_upsample_scales_linear.
  ExpectNear<float>(
      RunResize(x, {1, 1, 4, 4}, {.scales = {1, 1, 2, 2}, .mode = "linear"}),
      Shape{1, 1, 4, 4},
      {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25,
       3.75, 4},
      1e-6);
  // test_resize_upsample_scales_linear_align_corners.
  ExpectNear<float>(
      RunResize(x, {1, 1, 4, 4},
                {.scales = {1, 1, 2, 2},
                 .mode = "linear",
                 .coordinate_transformation_mode = "align_corners"}),
      Shape{1, 1, 4, 4},
      {1, 1.33333333, 1.66666667, 2, 1.66666667, 2, 2.33333333, 2.66666667,
       2.33333333, 2.66666667, 3, 3.33333333, 3, 3.33333333, 3.66666667, 4},
      1e-6);
  NDArray y = Arr<float>({1, 2, 3, 4, 5, 6, 7, 8}, Shape{1, 1, 2, 4});
  // test_resize_downsample_scales_linear.
  ExpectNear<float>(RunResize(y, {1, 1, 1, 2},
                              {.scales = {1, 1, 0.6f, 0.6f}, .mode = "linear"}),
                    Shape{1, 1, 1, 2}, {2.6666665, 4.3333331}, 1e-6);
  // test_resize_downsample_scales_linear_align_corners: the output width in
  // the transform is scale * 4 = 2.4, not 2.
  ExpectNear<float>(
      RunResize(y, {1, 1, 1, 2},
                {.scales = {1, 1, 0.6f, 0.6f},
                 .mode = "linear",
                 .coordinate_transformation_mode = "align_corners"}),
      Shape{1, 1, 1, 2}, {1, 3.142857}, 1e-6);
  // test_resize_downsample_sizes_linear_pytorch_half_pixel: width 1 maps to
  // x_ori = -0.5 (clamped to the edge).
  NDArray z = Arr<float>(Iota16(), Shape{1, 1, 4, 4});
  ExpectNear<float>(
      RunResize(z, {1, 1, 3, 1},
                {.mode = "linear",
                 .coordinate_transformation_mode = "pytorch_half_pixel"}),
      Shape{1, 1, 3, 1}, {1.6666666, 7, 12.333333}, 1e-5);
  // 1-D by hand, half_pixel 3 -> 5 (scale 5/3): x_ori = 0.3x - 0.2 =
  // -0.2, 0.4, 1.0, 1.6, 2.2; the first and last clamp to the edges.
  NDArray w = Arr<double>({0, 10, 40}, Shape{3});
  ExpectNear<double>(RunResize(w, {5}, {.mode = "linear"}), Shape{5},
                     {0, 4, 10, 28, 40}, 1e-12);
}

TEST(Resize, CubicMatchesOnnxReference) {
  NDArray z = Arr<float>(Iota16(), Shape{1, 1, 4, 4});
  // test_resize_upsample_scales_cubic.
  ExpectNear<float>(
      RunResize(z, {1, 1, 8, 8}, {.scales = {1, 1, 2, 2}, .mode = "cubic"}),
      Shape{1, 1, 8, 8},
      {0.47265625,  0.76953125,  1.24609375,  1.875,       2.28125,
       2.91015625,  3.38671875,  3.68359375,  1.66015625,  1.95703125,
       2.43359375,  3.0625,      3.46875,     4.09765625,  4.57421875,
       4.87109375,  3.56640625,  3.86328125,  4.33984375,  4.96875,
       5.375,       6.00390625,  6.48046875,  6.77734375,  6.08203125,
       6.37890625,  6.85546875,  7.484375,    7.890625,    8.51953125,
       8.99609375,  9.29296875,  7.70703125,  8.00390625,  8.48046875,
       9.109375,    9.515625,    10.14453125, 10.62109375, 10.91796875,
       10.22265625, 10.51953125, 10.99609375, 11.625,      12.03125,
       12.66015625, 13.13671875, 13.43359375, 12.12890625, 12.42578125,
       12.90234375, 13.53125,    13.9375,     14.56640625, 15.04296875,
       15.33984375, 13.31640625, 13.61328125, 14.08984375, 14.71875,
       15.125,      15.75390625, 16.23046875, 16.52734375},
      1e-5);
  // test_resize_downsample_scales_cubic.
  ExpectNear<float>(RunResize(z, {1, 1, 3, 3},
                              {.scales = {1, 1, 0.8f, 0.8f}, .mode = "cubic"}),
                    Shape{1, 1, 3, 3},
                    {1.47119141, 2.78125, 4.08251953, 6.71142578, 8.02148438,
                     9.32275391, 11.91650391, 13.2265625, 14.52783203},
                    1e-5);
  // test_resize_downsample_scales_cubic_align_corners.
  ExpectNear<float>(
      RunResize(z, {1, 1, 3, 3},
                {.scales = {1, 1, 0.8f, 0.8f},
                 .mode = "cubic",
                 .coordinate_transformation_mode = "align_corners"}),
      Shape{1, 1, 3, 3},
      {1, 2.39519159, 3.79038317, 6.58076634, 7.97595793, 9.37114951,
       12.16153268, 13.55672427, 14.95191585},
      1e-5);
  // test_resize_downsample_sizes_cubic.
  ExpectNear<float>(RunResize(z, {1, 1, 3, 3}, {.mode = "cubic"}),
                    Shape{1, 1, 3, 3},
                    {1.63078704, 3.00462963, 4.37847222, 7.12615741, 8.5,
                     9.87384259, 12.62152778, 13.99537037, 15.36921296},
                    1e-5);
  // test_resize_downsample_scales_cubic_A_n0p5_exclude_outside.
  ExpectNear<float>(RunResize(z, {1, 1, 3, 3},
                              {.scales = {1, 1, 0.8f, 0.8f},
                               .mode = "cubic",
                               .cubic_coeff_a = -0.5,
                               .exclude_outside = true}),
                    Shape{1, 1, 3, 3},
                    {1.36812675, 2.6695014, 4.0133367, 6.57362535, 7.875,
                     9.2188353, 11.94896657, 13.25034122, 14.59417652},
                    1e-5);
  // test_resize_upsample_scales_cubic_asymmetric, first two rows.
  absl::StatusOr<NDArray> a =
      RunResize(z, {1, 1, 8, 8},
                {.scales = {1, 1, 2, 2},
                 .mode = "cubic",
                 .coordinate_transformation_mode = "asymmetric"});
  ASSERT_TRUE(a.ok()) << a.status();
  const std::vector<double> rows = {
      1,     1.40625, 2,     2.5,   3,     3.59375, 4,     4.09375,
      2.625, 3.03125, 3.625, 4.125, 4.625, 5.21875, 5.625, 5.71875};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_NEAR(a->values<float>()[i], rows[i], 1e-5) << "element " << i;
  }
}

TEST(Resize, RejectsBadAttrs) {
  Graph g = Graph::Create("t");
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{1, 4}, In(g));
  Tensor i = ops::Placeholder(DType::kInt32, Shape{1, 4}, In(g));
  ExpectBuildError(ops::Resize(i, {1, 8}, {}, In(g)), ErrorKind::kDType,
                   "Resize takes float32 or float64");
  ExpectBuildError(ops::Resize(f, {8}, {}, In(g)), ErrorKind::kAttr,
                   "Resize sizes [8] must have one entry >= 0 per axis of "
                   "input 0 is float32[1,4] (2 entries)");
  ExpectBuildError(ops::Resize(f, {1, 8}, {.scales = {2}}, In(g)),
                   ErrorKind::kAttr,
                   "Resize scales must be a float64 1-D NDArray of 2 finite "
                   "values > 0");
  ExpectBuildError(ops::Resize(f, {1, 8}, {.mode = "area"}, In(g)),
                   ErrorKind::kAttr,
                   "Resize mode 'area' is not supported; use one of "
                   "\"nearest\", \"linear\", \"cubic\"");
  ExpectBuildError(
      ops::Resize(f, {1, 8},
                  {.coordinate_transformation_mode = "tf_crop_and_resize"},
                  In(g)),
      ErrorKind::kAttr,
      "Resize coordinate_transformation_mode 'tf_crop_and_resize' is not "
      "supported");
  Tensor e = ops::Placeholder(DType::kFloat32, Shape{0, 4}, In(g));
  ExpectBuildError(ops::Resize(e, {2, 4}, {}, In(g)), ErrorKind::kShape,
                   "Resize cannot resize axis 0 of input 0 is float32[0,4] "
                   "from 0 to 2 elements");
}

// ------------------------------------ GatherElements / ScatterElements --

TEST(GatherElements, PicksAlongAxisWithNegativeIndices) {
  Graph g = Graph::Create("t");
  NDArray d = Arr<float>({1, 2, 3, 4}, Shape{2, 2});
  NDArray i = Arr<int64_t>({0, 0, 1, 0}, Shape{2, 2});
  ExpectArray<float>(
      RunKernel(ops::GatherElements(Feed(g, d), Feed(g, i), 1, In(g)), {d, i}),
      Shape{2, 2}, {1, 1, 4, 3});
  NDArray d3 = Arr<int32_t>({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{3, 3});
  NDArray i3 = Arr<int32_t>({1, 2, 0, 2, 0, 0}, Shape{2, 3});
  ExpectArray<int32_t>(
      RunKernel(ops::GatherElements(Feed(g, d3), Feed(g, i3), 0, In(g)),
                {d3, i3}),
      Shape{2, 3}, {4, 8, 3, 7, 2, 3});
  NDArray neg = Arr<int32_t>({-1, -2, 0, -1, 0, -3}, Shape{2, 3});
  ExpectArray<int32_t>(
      RunKernel(ops::GatherElements(Feed(g, d3), Feed(g, neg), -2, In(g)),
                {d3, neg}),
      Shape{2, 3}, {7, 5, 3, 7, 2, 3});
  NDArray bad = Arr<int64_t>({0, 0, 2, 0}, Shape{2, 2});
  ExpectError(
      RunKernel(ops::GatherElements(Feed(g, d), Feed(g, bad), 1, In(g)),
                {d, bad}),
      absl::StatusCode::kInvalidArgument,
      {"GatherElements index 2 (element 2 of indices int64[2,2]) is out of "
       "range for axis 1 of data float32[2,2] (valid: -2 to 1)"});
}

TEST(GatherElements, RejectsBadInputsAtBuildTime) {
  Graph g = Graph::Create("t");
  Tensor d = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  ExpectBuildError(
      ops::GatherElements(
          d, ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g)), 0, In(g)),
      ErrorKind::kDType,
      "input 1 is float32[2,3]; GatherElements's indices (input 1) are int32 "
      "or int64 (Cast them)");
  ExpectBuildError(
      ops::GatherElements(
          d, ops::Placeholder(DType::kInt64, Shape{2, 4}, In(g)), 0, In(g)),
      ErrorKind::kShape,
      "GatherElements input 1 is int64[2,4] but input 0 is float32[2,3]; "
      "indices need data's rank and, along every axis but 0, at most data's "
      "size");
  ExpectBuildError(
      ops::GatherElements(
          d, ops::Placeholder(DType::kInt64, Shape{2, 3}, In(g)), 2, In(g)),
      ErrorKind::kAttr, "GatherElements axis 2 is out of range");
}

TEST(ScatterElements, ReplacesAddsAndMultiplies) {
  Graph g = Graph::Create("t");
  NDArray d = Arr<float>(std::vector<float>(9, 0), Shape{3, 3});
  NDArray i = Arr<int64_t>({1, 0, 2, 0, 2, 1}, Shape{2, 3});
  NDArray u = Arr<float>({1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f}, Shape{2, 3});
  ExpectArray<float>(
      RunKernel(ops::ScatterElements(Feed(g, d), Feed(g, i), Feed(g, u), 0,
                                     "none", In(g)),
                {d, i, u}),
      Shape{3, 3}, {2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f});
  NDArray d1 = Arr<float>({1, 2, 3, 4, 5}, Shape{1, 5});
  NDArray dup = Arr<int32_t>({1, 1}, Shape{1, 2});
  NDArray u1 = Arr<float>({1.5f, 2.5f}, Shape{1, 2});
  ExpectArray<float>(
      RunKernel(ops::ScatterElements(Feed(g, d1), Feed(g, dup), Feed(g, u1), 1,
                                     "add", In(g)),
                {d1, dup, u1}),
      Shape{1, 5}, {1, 6, 3, 4, 5});
  ExpectArray<float>(
      RunKernel(ops::ScatterElements(Feed(g, d1), Feed(g, dup), Feed(g, u1), 1,
                                     "mul", In(g)),
                {d1, dup, u1}),
      Shape{1, 5}, {1, 7.5f, 3, 4, 5});
  // "none" with a duplicate: the last update wins; -3 wraps to 2.
  NDArray mixed = Arr<int64_t>({1, -3, 1}, Shape{1, 3});
  NDArray u3 = Arr<float>({7, 8, 9}, Shape{1, 3});
  ExpectArray<float>(
      RunKernel(ops::ScatterElements(Feed(g, d1), Feed(g, mixed), Feed(g, u3),
                                     1, "none", In(g)),
                {d1, mixed, u3}),
      Shape{1, 5}, {1, 9, 8, 4, 5});
  NDArray bad = Arr<int64_t>({5, 0}, Shape{1, 2});
  ExpectError(RunKernel(ops::ScatterElements(Feed(g, d1), Feed(g, bad),
                                             Feed(g, u1), 1, "none", In(g)),
                        {d1, bad, u1}),
              absl::StatusCode::kInvalidArgument,
              {"ScatterElements index 5 (element 0 of indices int64[1,2]) is "
               "out of range for axis 1 of data float32[1,5] (valid: -5 to "
               "4)"});
}

TEST(ScatterElements, RejectsBadInputsAtBuildTime) {
  Graph g = Graph::Create("t");
  Tensor d = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  Tensor i = ops::Placeholder(DType::kInt64, Shape{2, 2}, In(g));
  ExpectBuildError(
      ops::ScatterElements(
          d, i, ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g)), 0,
          "none", In(g)),
      ErrorKind::kShape,
      "ScatterElements input 2 is float32[2,3] but input 1 is int64[2,2]; "
      "updates and indices share one shape");
  ExpectBuildError(
      ops::ScatterElements(d, i,
                           ops::Placeholder(DType::kInt32, Shape{2, 2}, In(g)),
                           0, "none", In(g)),
      ErrorKind::kDType,
      "dtype mismatch: input 2 is int32[2,2] but input 0 is float32[2,3]");
  ExpectBuildError(
      ops::ScatterElements(
          d, i, ops::Placeholder(DType::kFloat32, Shape{2, 2}, In(g)), 0, "max",
          In(g)),
      ErrorKind::kAttr,
      "ScatterElements reduction 'max' is not supported; use one of "
      "\"none\", \"add\", \"mul\"");
}

// ---------------------------------------------------------------- Trilu --

TEST(Trilu, KeepsTrianglesWithOffsets) {
  Graph g = Graph::Create("t");
  // A non-square 3x4 matrix.
  NDArray x =
      Arr<int32_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Shape{3, 4});
  auto run = [&](bool upper, int64_t k) {
    return RunKernel(ops::Trilu(Feed(g, x), upper, k, In(g)), {x});
  };
  ExpectArray<int32_t>(run(true, 0), Shape{3, 4},
                       {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
  ExpectArray<int32_t>(run(true, 1), Shape{3, 4},
                       {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
  ExpectArray<int32_t>(run(true, -1), Shape{3, 4},
                       {1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12});
  ExpectArray<int32_t>(run(false, 0), Shape{3, 4},
                       {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
  ExpectArray<int32_t>(run(false, -1), Shape{3, 4},
                       {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  ExpectArray<int32_t>(run(false, 2), Shape{3, 4},
                       {1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12});
  ExpectArray<int32_t>(run(true, 10), Shape{3, 4}, std::vector<int32_t>(12, 0));
  ExpectArray<int32_t>(run(false, -10), Shape{3, 4},
                       std::vector<int32_t>(12, 0));
  // A batch of two 2x2 matrices (tall 4x2 would be the same rule).
  NDArray b = Arr<float>({1, 2, 3, 4, 5, 6, 7, 8}, Shape{2, 2, 2});
  ExpectArray<float>(RunKernel(ops::Trilu(Feed(g, b), false, 0, In(g)), {b}),
                     Shape{2, 2, 2}, {1, 0, 3, 4, 5, 0, 7, 8});
  NDArray tall = Arr<float>({1, 2, 3, 4, 5, 6}, Shape{3, 2});
  ExpectArray<float>(
      RunKernel(ops::Trilu(Feed(g, tall), true, -1, In(g)), {tall}),
      Shape{3, 2}, {1, 2, 3, 4, 0, 6});
}

TEST(Trilu, RejectsRankBelowTwo) {
  Graph g = Graph::Create("t");
  ExpectBuildError(
      ops::Trilu(ops::Placeholder(DType::kFloat32, Shape{3}, In(g)), true, 0,
                 In(g)),
      ErrorKind::kShape,
      "Trilu takes a tensor of rank >= 2 (matrices in its last two axes), got "
      "input 0 is float32[3]");
}

// ----------------------------------------------------------------- TopK --

TEST(TopK, LargestAndSmallestWithTiesToTheSmallerIndex) {
  Graph g = Graph::Create("t");
  NDArray x = Arr<float>({1, 3, 2, 3, 2}, Shape{5});
  std::vector<Tensor> top = ops::TopK(Feed(g, x), 3, -1, true, true, In(g));
  absl::StatusOr<std::vector<NDArray>> out = RunKernelOutputs(top, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectArray<float>((*out)[0], Shape{3}, {3, 3, 2});
  ExpectArray<int64_t>((*out)[1], Shape{3}, {1, 3, 2});
  std::vector<Tensor> low = ops::TopK(Feed(g, x), 3, 0, false, true, In(g));
  out = RunKernelOutputs(low, {x});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectArray<float>((*out)[0], Shape{3}, {1, 2, 2});
  ExpectArray<int64_t>((*out)[1], Shape{3}, {0, 2, 4});
  // Along axis 0 of a matrix.
  NDArray m = Arr<int32_t>({5, 1, 5, 7, 0, 7}, Shape{3, 2});
  std::vector<Tensor> col = ops::TopK(Feed(g, m), 2, 0, true, true, In(g));
  out = RunKernelOutputs(col, {m});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectArray<int32_t>((*out)[0], Shape{2, 2}, {5, 7, 5, 7});
  ExpectArray<int64_t>((*out)[1], Shape{2, 2}, {0, 1, 1, 2});
  std::vector<Tensor> none = ops::TopK(Feed(g, m), 0, 1, true, true, In(g));
  out = RunKernelOutputs(none, {m});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectArray<int32_t>((*out)[0], Shape{3, 0}, {});
}

TEST(TopK, RejectsKBeyondTheAxis) {
  Graph g = Graph::Create("t");
  std::vector<Tensor> t =
      ops::TopK(ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g)), 4, -1,
                true, true, In(g));
  ASSERT_EQ(t.size(), 2u);
  ExpectBuildError(t[0], ErrorKind::kAttr,
                   "TopK k 4 is out of range for axis 1 of input 0 is "
                   "float32[2,3]; need 0 <= k <= the axis size");
  ExpectBuildError(ops::TopK(ops::Placeholder(DType::kBool, Shape{3}, In(g)), 1,
                             -1, true, true, In(g))[0],
                   ErrorKind::kDType, "TopK");
  Tensor u = ops::Placeholder(DType::kFloat32, Shape{-1}, In(g));
  NDArray v = Arr<float>({1, 2}, Shape{2});
  absl::StatusOr<std::vector<NDArray>> out =
      RunKernelOutputs(ops::TopK(u, 3, -1, true, true, In(g)), {v});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()),
              HasSubstr("TopK k 3 is out of range for axis 0 of the fed "
                        "float32[2]"));
}

// ------------------------------------------------------------- GatherND --

TEST(GatherND, GathersTuplesSlicesAndBatches) {
  Graph g = Graph::Create("t");
  NDArray d = Arr<int32_t>({0, 1, 2, 3}, Shape{2, 2});
  NDArray i = Arr<int64_t>({0, 0, 1, 1}, Shape{2, 2});
  ExpectArray<int32_t>(
      RunKernel(ops::GatherND(Feed(g, d), Feed(g, i), 0, In(g)), {d, i}),
      Shape{2}, {0, 3});
  NDArray rows = Arr<int64_t>({1, 0}, Shape{2, 1});
  ExpectArray<int32_t>(
      RunKernel(ops::GatherND(Feed(g, d), Feed(g, rows), 0, In(g)), {d, rows}),
      Shape{2, 2}, {2, 3, 0, 1});
  NDArray neg = Arr<int64_t>({-1, -2}, Shape{1, 2});
  ExpectArray<int32_t>(
      RunKernel(ops::GatherND(Feed(g, d), Feed(g, neg), 0, In(g)), {d, neg}),
      Shape{1}, {2});
  NDArray d3 = Arr<float>({0, 1, 2, 3, 4, 5, 6, 7}, Shape{2, 2, 2});
  ExpectArray<float>(
      RunKernel(ops::GatherND(Feed(g, d3), Feed(g, rows), 1, In(g)),
                {d3, rows}),
      Shape{2, 2}, {2, 3, 4, 5});
  NDArray bad = Arr<int64_t>({0, 2}, Shape{1, 2});
  ExpectError(
      RunKernel(ops::GatherND(Feed(g, d), Feed(g, bad), 0, In(g)), {d, bad}),
      absl::StatusCode::kInvalidArgument,
      {"GatherND index 2 (element 1 of indices int64[1,2]) is out of range for "
       "axis 1 of data int32[2,2] (valid: -2 to 1)"});
}

TEST(GatherND, RejectsBadShapesAtBuildTime) {
  Graph g = Graph::Create("t");
  Tensor d = ops::Placeholder(DType::kFloat32, Shape{2, 3}, In(g));
  ExpectBuildError(
      ops::GatherND(d, ops::Placeholder(DType::kInt64, Shape{4, 3}, In(g)), 0,
                    In(g)),
      ErrorKind::kShape,
      "GatherND input 1 is int64[4,3] but input 0 is float32[2,3]; the last "
      "dimension of indices must be known and from 1 to rank(data) - "
      "batch_dims = 2");
  ExpectBuildError(
      ops::GatherND(d, ops::Placeholder(DType::kInt64, Shape{2, 1}, In(g)), 2,
                    In(g)),
      ErrorKind::kAttr, "GatherND batch_dims 2 is out of range");
  ExpectBuildError(
      ops::GatherND(d, ops::Placeholder(DType::kInt64, Shape{3, 1}, In(g)), 1,
                    In(g)),
      ErrorKind::kShape, "the first batch_dims = 1 dimensions must match");
}

// ------------------------------------------------------ ScatterND, NonZero --

TEST(ScatterND, WritesAddsAndMultipliesSlices) {
  Graph g = Graph::Create("t");
  NDArray d = Arr<int32_t>({1, 2, 3, 4, 5, 6}, Shape{3, 2});
  auto run = [&](const NDArray& i, const NDArray& u, std::string reduction) {
    return RunKernel(ops::ScatterND(Feed(g, d), Feed(g, i), Feed(g, u),
                                    std::move(reduction), In(g)),
                     {d, i, u});
  };
  // Whole rows (k = 1), a negative index, the last duplicate winning.
  NDArray rows = Arr<int64_t>({2, -3, 2}, Shape{3, 1});
  NDArray u = Arr<int32_t>({10, 11, 20, 21, 30, 31}, Shape{3, 2});
  ExpectArray<int32_t>(run(rows, u, "none"), Shape{3, 2},
                       {20, 21, 3, 4, 30, 31});
  ExpectArray<int32_t>(run(rows, u, "add"), Shape{3, 2},
                       {21, 23, 3, 4, 45, 48});
  ExpectArray<int32_t>(run(rows, u, "mul"), Shape{3, 2},
                       {20, 42, 3, 4, 1500, 2046});
  // Single elements (k = 2).
  NDArray at = Arr<int64_t>({0, 1, 2, 0}, Shape{2, 2});
  NDArray v = Arr<int32_t>({-1, -2}, Shape{2});
  ExpectArray<int32_t>(run(at, v, "none"), Shape{3, 2}, {1, -1, 3, 4, -2, 6});
  // Integer sums wrap like Add (no overflow).
  NDArray big = Arr<int32_t>({2147483647, 1}, Shape{1, 2});
  ExpectArray<int32_t>(run(Arr<int64_t>({0}, Shape{1, 1}), big, "add"),
                       Shape{3, 2}, {-2147483648, 3, 3, 4, 5, 6});
  // No reductions on bool.
  NDArray flags = Arr<bool>({true, false}, Shape{2});
  NDArray one = Arr<int64_t>({1}, Shape{1, 1});
  NDArray t = Arr<bool>({true}, Shape{1});
  ExpectError(RunKernel(ops::ScatterND(Feed(g, flags), Feed(g, one), Feed(g, t),
                                       "add", In(g)),
                        {flags, one, t}),
              absl::StatusCode::kInvalidArgument,
              {"ScatterND reduction 'add' on bool is not supported"});
  NDArray bad = Arr<int64_t>({3}, Shape{1, 1});
  ExpectError(run(bad, Arr<int32_t>({0, 0}, Shape{1, 2}), "none"),
              absl::StatusCode::kInvalidArgument,
              {"ScatterND index 3 (element 0 of indices int64[1,1]) is out of "
               "range for axis 0 of data int32[3,2] (valid: -3 to 2)"});
}

TEST(ScatterND, RejectsBadInputsAtBuildTime) {
  Graph g = Graph::Create("t");
  Tensor d = ops::Placeholder(DType::kFloat32, Shape{3, 2}, In(g));
  Tensor i = ops::Placeholder(DType::kInt64, Shape{4, 1}, In(g));
  ExpectBuildError(
      ops::ScatterND(d, i,
                     ops::Placeholder(DType::kFloat32, Shape{4, 3}, In(g)),
                     "none", In(g)),
      ErrorKind::kShape,
      "ScatterND updates (input 2 is float32[4,3]) do not fit: indices [4,1] "
      "into data [3,2] need updates of shape [4,2]");
  ExpectBuildError(
      ops::ScatterND(d, i, ops::Placeholder(DType::kInt32, Shape{4, 2}, In(g)),
                     "none", In(g)),
      ErrorKind::kDType,
      "ScatterND updates (input 2 is int32[4,2]) must have "
      "data's dtype");
  ExpectBuildError(
      ops::ScatterND(d, i,
                     ops::Placeholder(DType::kFloat32, Shape{4, 2}, In(g)),
                     "max", In(g)),
      ErrorKind::kAttr, "ScatterND reduction 'max' is not supported");
  ExpectBuildError(
      ops::ScatterND(d, ops::Placeholder(DType::kInt64, Shape{4, 3}, In(g)),
                     ops::Placeholder(DType::kFloat32, Shape{4}, In(g)), "none",
                     In(g)),
      ErrorKind::kShape, "the last dimension of indices must be known");
}

TEST(NonZero, ListsPositionsInRowMajorOrder) {
  Graph g = Graph::Create("t");
  NDArray x = Arr<float>({0, 2, 0, -1, std::nanf(""), 0}, Shape{2, 3});
  Tensor t = ops::NonZero(Feed(g, x), In(g));
  EXPECT_EQ(t.shape(), (Shape{2, -1}));
  ExpectArray<int64_t>(RunKernel(t, {x}), Shape{2, 3}, {0, 1, 1, 1, 0, 1});
  NDArray none = Arr<bool>({false, false}, Shape{2});
  ExpectArray<int64_t>(RunKernel(ops::NonZero(Feed(g, none), In(g)), {none}),
                       Shape{1, 0}, {});
  ExpectBuildError(
      ops::NonZero(ops::Placeholder(DType::kFloat32, Shape{}, In(g)), In(g)),
      ErrorKind::kShape, "NonZero takes rank 1 or more");
}

TEST(Unique, ValuesIndicesInverseAndCountsSortedOrNot) {
  Graph g = Graph::Create("t");
  NDArray x =
      Arr<float>({2, 1, 1, 3, 4, 3, std::nanf(""), std::nanf("")}, Shape{8});
  auto run = [&](std::optional<int> axis, bool sorted, const NDArray& in) {
    return testing::RunKernelOutputs(
        ops::Unique(Feed(g, in), axis, sorted, In(g)), {in});
  };
  absl::StatusOr<std::vector<NDArray>> s = run(std::nullopt, true, x);
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectArray<float>((*s)[0], Shape{5}, {1, 2, 3, 4, std::nanf("")});
  ExpectArray<int64_t>((*s)[1], Shape{5}, {1, 0, 3, 4, 6});
  ExpectArray<int64_t>((*s)[2], Shape{8}, {1, 0, 0, 2, 3, 2, 4, 4});
  ExpectArray<int64_t>((*s)[3], Shape{5}, {2, 1, 2, 1, 2});
  absl::StatusOr<std::vector<NDArray>> f = run(std::nullopt, false, x);
  ASSERT_TRUE(f.ok()) << f.status();
  ExpectArray<float>((*f)[0], Shape{5}, {2, 1, 3, 4, std::nanf("")});
  ExpectArray<int64_t>((*f)[2], Shape{8}, {0, 1, 1, 2, 3, 2, 4, 4});
  // Slices along axis 1 of a [2, 3] matrix: columns 0 and 2 are equal.
  NDArray m = Arr<int32_t>({1, 5, 1, 2, 0, 2}, Shape{2, 3});
  absl::StatusOr<std::vector<NDArray>> a = run(1, true, m);
  ASSERT_TRUE(a.ok()) << a.status();
  ExpectArray<int32_t>((*a)[0], Shape{2, 2}, {1, 5, 2, 0});
  ExpectArray<int64_t>((*a)[1], Shape{2}, {0, 1});
  ExpectArray<int64_t>((*a)[2], Shape{3}, {0, 1, 0});
  ExpectArray<int64_t>((*a)[3], Shape{2}, {2, 1});
  ExpectBuildError(ops::Unique(Feed(g, m), 2, true, In(g))[0], ErrorKind::kAttr,
                   "Unique axis");
  ExpectBuildError(ops::Unique(ops::Placeholder(DType::kBool, Shape{2}, In(g)),
                               std::nullopt, true, In(g))[0],
                   ErrorKind::kDType, "Unique");
}

// ---------------------------------------------------------------- Range --

TEST(Range, LengthIsKnownOnlyAtRunTime) {
  Graph g = Graph::Create("t");
  auto run = [&g](auto start, auto limit, auto delta) {
    NDArray s = NDArray::Scalar(start), l = NDArray::Scalar(limit),
            d = NDArray::Scalar(delta);
    Tensor r = ops::Range(Feed(g, s), Feed(g, l), Feed(g, d), In(g));
    EXPECT_EQ(r.shape(), Shape{-1});
    return RunKernel(r, {s, l, d});
  };
  ExpectArray<int32_t>(run(1, 10, 3), Shape{3}, {1, 4, 7});
  ExpectArray<int64_t>(run(int64_t{10}, int64_t{4}, int64_t{-2}), Shape{3},
                       {10, 8, 6});
  ExpectArray<int32_t>(run(5, 1, 1), Shape{0}, {});
  ExpectArray<float>(run(0.0f, 1.0f, 0.25f), Shape{4}, {0, 0.25f, 0.5f, 0.75f});
  ExpectArray<double>(run(1.0, 2.05, 0.5), Shape{3}, {1, 1.5, 2});
  ExpectError(run(1, 5, 0), absl::StatusCode::kInvalidArgument,
              {"Range delta is 0 (start 1, limit 5); it must be non-zero"});
}

TEST(Range, RejectsMixedDTypesAndNonScalars) {
  Graph g = Graph::Create("t");
  Tensor i = ops::Placeholder(DType::kInt32, Shape{}, In(g));
  Tensor f = ops::Placeholder(DType::kFloat32, Shape{}, In(g));
  ExpectBuildError(ops::Range(i, f, i, In(g)), ErrorKind::kDType,
                   "dtype mismatch: input 1 is float32[] but input 0 is "
                   "int32[]; Range's start, limit and delta share one dtype");
  Tensor v = ops::Placeholder(DType::kInt32, Shape{2}, In(g));
  ExpectBuildError(ops::Range(i, v, i, In(g)), ErrorKind::kShape,
                   "Range limit (input 1 is int32[2]) must be a scalar");
  Tensor b = ops::Placeholder(DType::kBool, Shape{}, In(g));
  ExpectBuildError(ops::Range(b, b, b, In(g)), ErrorKind::kDType, "Range");
}

// --------------------------------------------------------------- Gather --

TEST(Gather, NegativeIndicesCountFromTheEnd) {
  Graph g = Graph::Create("t");
  NDArray p = Arr<float>({0, 1, 10, 11, 20, 21}, Shape{3, 2});
  NDArray i = Arr<int64_t>({-1, 0, -3}, Shape{3});
  ExpectArray<float>(
      RunKernel(ops::Gather(Feed(g, p), Feed(g, i), 0, In(g)), {p, i}),
      Shape{3, 2}, {20, 21, 0, 1, 0, 1});
  NDArray j = Arr<int32_t>({-2}, Shape{1});
  ExpectArray<float>(
      RunKernel(ops::Gather(Feed(g, p), Feed(g, j), 1, In(g)), {p, j}),
      Shape{3, 1}, {0, 10, 20});
  NDArray bad = Arr<int64_t>({-4}, Shape{1});
  ExpectError(
      RunKernel(ops::Gather(Feed(g, p), Feed(g, bad), 0, In(g)), {p, bad}),
      absl::StatusCode::kInvalidArgument,
      {"Gather index -4 (element 0 of indices int64[1]) is out of range for "
       "axis 0 of params float32[3,2] (valid: -3 to 2)"});
}

}  // namespace
}  // namespace weft
