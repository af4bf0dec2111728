// The vision family (graph/vision_ops.cc, kernels/vision_kernels.cc):
// NonMaxSuppression, GridSample and RoiAlign against hand-computed values,
// their build-time errors (message and OpErrorInfo kind) and run-time
// errors on fed arrays, and hostile inputs (NaN and infinite coordinates,
// huge rois) that must give values or errors, never a crash. ONNX's own
// cases run in //tests/onnx:onnx_backend_test.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "graph/errors.h"
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
using testing::In;
using testing::RunKernel;

constexpr double kInf = std::numeric_limits<double>::infinity();

// ------------------------------------------------------ NonMaxSuppression --

absl::StatusOr<NDArray> RunNms(const NDArray& boxes, const NDArray& scores,
                               const ops::NonMaxSuppressionAttrs& a) {
  Graph g = Graph::Create("nms");
  return RunKernel(
      ops::NonMaxSuppression(Feed(g, boxes), Feed(g, scores), a, In(g)),
      {boxes, scores});
}

TEST(NonMaxSuppression, SelectsGreedilyPerBatchAndClass) {
  // Box 1 overlaps box 0 (IoU 0.81), box 2 is apart; box 3 is box 2's twin.
  const NDArray boxes = Arr<float>({0, 0, 1, 1,        //
                                    0, 0.1f, 1, 1.1f,  //
                                    0, 10, 1, 11,      //
                                    0, 10, 1, 11},
                                   Shape{1, 4, 4});
  // Class 0 prefers box 1, class 1 box 2; box 3 scores below the threshold
  // in class 0.
  const NDArray scores = Arr<float>({0.8f, 0.9f, 0.7f, 0.1f,  //
                                     0.5f, 0.4f, 0.95f, 0.95f},
                                    Shape{1, 2, 4});
  ExpectArray<int64_t>(RunNms(boxes, scores,
                              {.max_output_boxes_per_class = 3,
                               .iou_threshold = 0.5,
                               .score_threshold = 0.2}),
                       Shape{4, 3},
                       {0, 0, 1, 0, 0, 2,    // Box 0 suppressed by box 1.
                        0, 1, 2, 0, 1, 0});  // Box 3 (a tie, later) by 2.
  // A limit of one box per class; without a score threshold.
  ExpectArray<int64_t>(
      RunNms(boxes, scores,
             {.max_output_boxes_per_class = 1, .iou_threshold = 0.5}),
      Shape{2, 3}, {0, 0, 1, 0, 1, 2});
  // Zero boxes per class (ONNX's default): nothing.
  ExpectArray<int64_t>(RunNms(boxes, scores, {}), Shape{0, 3}, {});
}

TEST(NonMaxSuppression, CenterPointBoxesAndFlippedCorners) {
  // The same two overlapping boxes as centers and sizes, and as corners
  // given bottom-right first.
  const NDArray centers =
      Arr<double>({0.5, 0.5, 1, 1, 0.6, 0.5, 1, 1}, Shape{1, 2, 4});
  const NDArray flipped =
      Arr<double>({1, 1, 0, 0, 1, 1.1, 0, 0.1}, Shape{1, 2, 4});
  const NDArray scores = Arr<double>({0.9, 0.8}, Shape{1, 1, 2});
  ExpectArray<int64_t>(RunNms(centers, scores,
                              {.max_output_boxes_per_class = 5,
                               .iou_threshold = 0.5,
                               .center_point_box = true}),
                       Shape{1, 3}, {0, 0, 0});
  ExpectArray<int64_t>(
      RunNms(flipped, scores,
             {.max_output_boxes_per_class = 5, .iou_threshold = 0.5}),
      Shape{1, 3}, {0, 0, 0});
  // With a threshold above their IoU (0.9 / 1.1) both stay.
  ExpectArray<int64_t>(RunNms(centers, scores,
                              {.max_output_boxes_per_class = 5,
                               .iou_threshold = 0.85,
                               .center_point_box = true}),
                       Shape{2, 3}, {0, 0, 0, 0, 0, 1});
}

TEST(NonMaxSuppression, EmptyAndNaNBoxesNeverSuppress) {
  const double nan = std::nan("");
  const NDArray boxes =
      Arr<double>({0, 0, 0, 0, 0, 0, 0, 0, nan, 0, 1, 1}, Shape{1, 3, 4});
  const NDArray scores = Arr<double>({0.9, 0.8, 0.7}, Shape{1, 1, 3});
  ExpectArray<int64_t>(
      RunNms(boxes, scores,
             {.max_output_boxes_per_class = 5, .iou_threshold = 0}),
      Shape{3, 3}, {0, 0, 0, 0, 0, 1, 0, 0, 2});
}

TEST(NonMaxSuppression, BuildErrors) {
  Graph g = Graph::Create("nms");
  Tensor boxes = ops::Placeholder(DType::kFloat32, Shape{1, 3, 4}, In(g));
  Tensor scores = ops::Placeholder(DType::kFloat32, Shape{1, 2, 3}, In(g));
  Tensor ok = ops::NonMaxSuppression(boxes, scores, {}, In(g));
  testing::ExpectShape(ok, DType::kInt64, Shape{-1, 3});
  ExpectBuildError(ops::NonMaxSuppression(
                       ops::Placeholder(DType::kFloat32, Shape{1, 3, 5}, In(g)),
                       scores, {}, In(g)),
                   ErrorKind::kShape,
                   "NonMaxSuppression's boxes are [batch, boxes, 4]");
  ExpectBuildError(
      ops::NonMaxSuppression(
          boxes, ops::Placeholder(DType::kFloat32, Shape{1, 2, 4}, In(g)), {},
          In(g)),
      ErrorKind::kShape,
      "box counts (boxes dim 1, scores dim 2) differ (3 vs 4)");
  ExpectBuildError(
      ops::NonMaxSuppression(
          boxes, ops::Placeholder(DType::kInt32, Shape{1, 2, 3}, In(g)), {},
          In(g)),
      ErrorKind::kDType, "NonMaxSuppression");
  ExpectBuildError(
      ops::NonMaxSuppression(boxes, scores, {.max_output_boxes_per_class = -1},
                             In(g)),
      ErrorKind::kAttr, "max_output_boxes_per_class -1 is negative");
}

TEST(NonMaxSuppression, FedShapesAreCheckedAtRunTime) {
  Graph g = Graph::Create("nms");
  Tensor boxes = ops::Placeholder(DType::kFloat32, Shape{-1, -1, 4}, In(g));
  Tensor scores = ops::Placeholder(DType::kFloat32, Shape{-1, -1, -1}, In(g));
  Tensor y = ops::NonMaxSuppression(boxes, scores,
                                    {.max_output_boxes_per_class = 2}, In(g));
  ExpectError(
      RunKernel(y, {Arr<float>(std::vector<float>(8, 0), Shape{1, 2, 4}),
                    Arr<float>({1, 2, 3}, Shape{1, 1, 3})}),
      absl::StatusCode::kInvalidArgument,
      {"NonMaxSuppression: the fed scores is float32[1,1,3]",
       "it must be [1, classes, 2]"});
}

// ------------------------------------------------------------ GridSample --

absl::StatusOr<NDArray> RunGrid(const NDArray& x, const NDArray& grid,
                                const ops::GridSampleAttrs& a) {
  Graph g = Graph::Create("grid");
  return RunKernel(ops::GridSample(Feed(g, x), Feed(g, grid), a, In(g)),
                   {x, grid});
}

TEST(GridSample, SamplesEveryModeAndPadding) {
  // A 2x3 image; points at the pixel centers, between them, and outside.
  const NDArray x = Arr<float>({1, 2, 3, 4, 5, 6}, Shape{1, 1, 2, 3});
  // align_corners: x = -1, 0, 1 name columns 0, 1, 2; y = -1, 1 rows 0, 1.
  const NDArray corners =
      Arr<float>({-1, -1, 0, -1, 1, 1, 0.5f, 0}, Shape{1, 1, 4, 2});
  ExpectNear<float>(RunGrid(x, corners, {.align_corners = true}),
                    Shape{1, 1, 1, 4}, {1, 2, 6, 4}, 1e-6);
  ExpectNear<float>(
      RunGrid(x, corners, {.mode = "nearest", .align_corners = true}),
      Shape{1, 1, 1, 4}, {1, 2, 6, 3}, 1e-6);  // (1.5, 0.5): to even, (2, 0).
  // Without align_corners, -1 is the outer edge: half a pixel of zeros
  // (zeros), the edge pixel (border), or the mirrored inside (reflection).
  const NDArray edge = Arr<float>({-1, -1, 2, 0}, Shape{1, 1, 2, 2});
  ExpectNear<float>(RunGrid(x, edge, {}), Shape{1, 1, 1, 2}, {0.25, 0}, 1e-6);
  ExpectNear<float>(RunGrid(x, edge, {.padding_mode = "border"}),
                    Shape{1, 1, 1, 2}, {1, 4.5}, 1e-6);
  // Reflection: x = 4 mirrors at the edge 2.5 to 1.
  ExpectNear<float>(RunGrid(x, edge, {.padding_mode = "reflection"}),
                    Shape{1, 1, 1, 2}, {1, 3.5}, 1e-6);
  // Bicubic (A = -0.75) at a pixel center is the pixel; at (1.5, 0.5),
  // with border padding, the rows interpolate to 2.59375 and 5.59375.
  ExpectNear<float>(
      RunGrid(
          x, corners,
          {.mode = "bicubic", .padding_mode = "border", .align_corners = true}),
      Shape{1, 1, 1, 4}, {1, 2, 6, 4.09375}, 1e-5);
}

TEST(GridSample, NaNAndInfiniteGridsGiveValuesNotCrashes) {
  const NDArray x = Arr<double>({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  const NDArray grid =
      Arr<double>({std::nan(""), 0, kInf, 0, -kInf, kInf, 1e300, -1e300},
                  Shape{1, 1, 4, 2});
  for (const char* pad : {"zeros", "border", "reflection"}) {
    for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
      SCOPED_TRACE(std::string(mode) + " " + pad);
      absl::StatusOr<NDArray> y =
          RunGrid(x, grid, {.mode = mode, .padding_mode = pad});
      ASSERT_TRUE(y.ok()) << y.status();
      EXPECT_TRUE(std::isnan(y->values<double>()[0]));
      for (int i = 1; i < 4; ++i) {
        EXPECT_TRUE(std::isfinite(y->values<double>()[i])) << i;
      }
    }
  }
}

TEST(GridSample, BuildAndRunTimeErrors) {
  Graph g = Graph::Create("grid");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 3, 4, 5}, In(g));
  testing::ExpectShape(
      ops::GridSample(
          x, ops::Placeholder(DType::kFloat32, Shape{2, 6, 7, 2}, In(g)), {},
          In(g)),
      DType::kFloat32, Shape{2, 3, 6, 7});
  ExpectBuildError(
      ops::GridSample(
          x, ops::Placeholder(DType::kFloat32, Shape{2, 6, 7, 3}, In(g)), {},
          In(g)),
      ErrorKind::kShape, "GridSample's grid is [N, H_out, W_out, 2]");
  ExpectBuildError(
      ops::GridSample(
          x, ops::Placeholder(DType::kFloat32, Shape{3, 6, 7, 2}, In(g)), {},
          In(g)),
      ErrorKind::kShape, "GridSample: batch sizes differ (2 vs 3)");
  ExpectBuildError(
      ops::GridSample(
          x, ops::Placeholder(DType::kFloat32, Shape{2, 6, 7, 2}, In(g)),
          {.mode = "area"}, In(g)),
      ErrorKind::kAttr, "GridSample mode 'area' is not supported");
  Tensor any = ops::Placeholder(DType::kFloat32, Shape{-1, -1, -1, -1}, In(g));
  Tensor grid = ops::Placeholder(DType::kFloat32, Shape{-1, -1, -1, 2}, In(g));
  ExpectError(RunKernel(ops::GridSample(any, grid, {}, In(g)),
                        {Arr<float>({1, 2}, Shape{1, 1, 1, 2}),
                         Arr<float>({0, 0, 0, 0}, Shape{2, 1, 1, 2})}),
              absl::StatusCode::kInvalidArgument,
              {"GridSample: the fed grid is float32[2,1,1,2]",
               "it must be [1, H_out, W_out, 2]"});
}

// -------------------------------------------------------------- RoiAlign --

absl::StatusOr<NDArray> RunRoi(const NDArray& x, const NDArray& rois,
                               const NDArray& idx,
                               const ops::RoiAlignAttrs& a) {
  Graph g = Graph::Create("roi");
  return RunKernel(
      ops::RoiAlign(Feed(g, x), Feed(g, rois), Feed(g, idx), a, In(g)),
      {x, rois, idx});
}

TEST(RoiAlign, AveragesAndMaxesBilinearSamples) {
  // A 4x4 ramp v = x + 4 * y (bilinear reproduces it exactly inside).
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i)
    ramp[i] = static_cast<float>(i % 4 + 4 * (i / 4));
  const NDArray x = Arr<float>(ramp, Shape{1, 1, 4, 4});
  // One roi over pixels' centers 1..3 (half_pixel: corners 1.5 .. 3.5 in
  // input coordinates): 2x2 bins of one sample each at their centers.
  const NDArray rois = Arr<float>({1.5f, 1.5f, 3.5f, 3.5f}, Shape{1, 4});
  const NDArray idx = Arr<int64_t>({0}, Shape{1});
  // Sample (x, y) = (1.5, 1.5), (2.5, 1.5), (1.5, 2.5), (2.5, 2.5).
  ExpectNear<float>(
      RunRoi(x, rois, idx,
             {.output_height = 2, .output_width = 2, .sampling_ratio = 1}),
      Shape{1, 1, 2, 2}, {7.5, 8.5, 11.5, 12.5}, 1e-5);
  // Two samples per side: the average is still the bin center's value.
  ExpectNear<float>(
      RunRoi(x, rois, idx,
             {.output_height = 2, .output_width = 2, .sampling_ratio = 2}),
      Shape{1, 1, 2, 2}, {7.5, 8.5, 11.5, 12.5}, 1e-5);
  // output_half_pixel (opset 10): no half-pixel shift.
  ExpectNear<float>(RunRoi(x, rois, idx,
                           {.output_height = 1,
                            .output_width = 1,
                            .sampling_ratio = 1,
                            .half_pixel = false}),
                    Shape{1, 1, 1, 1}, {12.5}, 1e-5);
  // Max: the largest weighted corner of the sample at (1.5, 1.5): 0.25 * 10.
  ExpectNear<float>(
      RunRoi(x, Arr<float>({1.5f, 1.5f, 2.5f, 2.5f}, Shape{1, 4}), idx,
             {.mode = "max",
              .output_height = 1,
              .output_width = 1,
              .sampling_ratio = 1}),
      Shape{1, 1, 1, 1}, {0.25 * 10}, 1e-5);
}

TEST(RoiAlign, HostileRoisAndBatchIndices) {
  const NDArray x = Arr<double>({1, 2, 3, 4}, Shape{1, 1, 2, 2});
  // A huge roi is capped at 1024 samples per bin side (no hang), an
  // infinite or NaN one gives a value.
  const NDArray rois =
      Arr<double>({0, 0, 1e12, 1e12, -kInf, 0, kInf, 1, std::nan(""), 0, 1, 1},
                  Shape{3, 4});
  const NDArray idx = Arr<int32_t>({0, 0, 0}, Shape{3});
  absl::StatusOr<NDArray> y = RunRoi(x, rois, idx, {});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), (Shape{3, 1, 1, 1}));
  ExpectError(RunRoi(x, Arr<double>({0, 0, 1, 1}, Shape{1, 4}),
                     Arr<int64_t>({1}, Shape{1}), {}),
              absl::StatusCode::kInvalidArgument,
              {"RoiAlign: batch_indices[0] = 1 is out of range for the "
               "input's batch of 1"});
}

TEST(RoiAlign, BuildErrors) {
  Graph g = Graph::Create("roi");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{2, 3, 8, 8}, In(g));
  Tensor rois = ops::Placeholder(DType::kFloat32, Shape{5, 4}, In(g));
  Tensor idx = ops::Placeholder(DType::kInt64, Shape{5}, In(g));
  testing::ExpectShape(
      ops::RoiAlign(x, rois, idx, {.output_height = 2, .output_width = 3},
                    In(g)),
      DType::kFloat32, Shape{5, 3, 2, 3});
  ExpectBuildError(
      ops::RoiAlign(x, rois, ops::Placeholder(DType::kFloat32, Shape{5}, In(g)),
                    {}, In(g)),
      ErrorKind::kDType,
      "RoiAlign's batch_indices (input 2) are int32 or int64");
  ExpectBuildError(
      ops::RoiAlign(x, rois, ops::Placeholder(DType::kInt64, Shape{4}, In(g)),
                    {}, In(g)),
      ErrorKind::kShape, "RoiAlign: 5 rois but 4 batch_indices");
  ExpectBuildError(ops::RoiAlign(x, rois, idx, {.output_height = 0}, In(g)),
                   ErrorKind::kAttr, "the output sizes must be >= 1");
  ExpectBuildError(ops::RoiAlign(x, rois, idx, {.mode = "sum"}, In(g)),
                   ErrorKind::kAttr, "RoiAlign mode 'sum' is not supported");
}

}  // namespace
}  // namespace weft
