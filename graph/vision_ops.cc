// The vision family: NonMaxSuppression, GridSample and RoiAlign (the
// detection and sampling ops of ONNX's default domain). Definitions,
// inference and builders; kernels in kernels/vision_kernels.cc.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/inference_util.h"
#include "graph/op_families.h"
#include "graph/ops.h"

namespace weft {
namespace internal {
namespace {

// kShape unless input `i` has rank `rank`.
absl::Status RequireRank(InferenceContext& c, int i, int rank,
                         std::string_view op, std::string_view what) {
  if (c.input_shapes[i].rank() == rank) return absl::OkStatus();
  return c.ShapeError(absl::StrCat(InputDesc(c, i), "; ", op, "'s ", what,
                                   " (input ", i, ") must have rank ", rank));
}

// kShape unless dims a and b agree where both are known.
absl::Status RequireSameDim(InferenceContext& c, int64_t a, int64_t b,
                            std::string_view op, std::string_view what) {
  if (a < 0 || b < 0 || a == b) return absl::OkStatus();
  return c.ShapeError(absl::StrCat(op, ": ", what, " differ (", a, " vs ", b,
                                   "): input 0 is ", InputDesc(c, 0),
                                   ", input 1 is ", InputDesc(c, 1)));
}

// Inputs 0 and 1 floating and of one dtype.
absl::Status RequireFloatingPair(InferenceContext& c, std::string_view op) {
  if (absl::Status s = RequireFloating(c, 0, op); !s.ok()) return s;
  if (absl::Status s = RequireFloating(c, 1, op); !s.ok()) return s;
  return RequireSameDType(c);
}

// NonMaxSuppression: boxes [B, N, 4], scores [B, C, N], one floating
// dtype; int64 [-1, 3].
absl::Status InferNonMaxSuppression(InferenceContext& c) {
  constexpr std::string_view kOp = "NonMaxSuppression";
  if (absl::Status s = RequireFloatingPair(c, kOp); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 0, 3, kOp, "boxes"); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 1, 3, kOp, "scores"); !s.ok()) return s;
  const Shape& boxes = c.input_shapes[0];
  const Shape& scores = c.input_shapes[1];
  if (boxes.dim(2) >= 0 && boxes.dim(2) != 4) {
    return c.ShapeError(absl::StrCat(InputDesc(c, 0), "; ", kOp,
                                     "'s boxes are [batch, boxes, 4]"));
  }
  if (absl::Status s =
          RequireSameDim(c, boxes.dim(0), scores.dim(0), kOp, "batch sizes");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RequireSameDim(c, boxes.dim(1), scores.dim(2), kOp,
                                      "box counts (boxes dim 1, scores dim 2)");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<int64_t> max_out =
      IntAttrOr(c, "max_output_boxes_per_class", 0);
  if (!max_out.ok()) return max_out.status();
  if (*max_out < 0) {
    return c.AttrError(absl::StrCat(kOp, " max_output_boxes_per_class ",
                                    *max_out, " is negative"));
  }
  for (const char* name : {"iou_threshold", "score_threshold"}) {
    absl::StatusOr<double> v = DoubleAttrOr(c, name, 0);
    if (!v.ok()) return v.status();
  }
  absl::StatusOr<bool> center = BoolAttrOr(c, "center_point_box", false);
  if (!center.ok()) return center.status();
  c.SetOutput(DType::kInt64, Shape{-1, 3});
  return absl::OkStatus();
}

// GridSample: x [N, C, H, W], grid [N, Ho, Wo, 2]; [N, C, Ho, Wo].
absl::Status InferGridSample(InferenceContext& c) {
  constexpr std::string_view kOp = "GridSample";
  if (absl::Status s = RequireFloatingPair(c, kOp); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 0, 4, kOp, "input"); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 1, 4, kOp, "grid"); !s.ok()) return s;
  const Shape& x = c.input_shapes[0];
  const Shape& grid = c.input_shapes[1];
  if (grid.dim(3) >= 0 && grid.dim(3) != 2) {
    return c.ShapeError(absl::StrCat(InputDesc(c, 1), "; ", kOp,
                                     "'s grid is [N, H_out, W_out, 2]"));
  }
  if (absl::Status s =
          RequireSameDim(c, x.dim(0), grid.dim(0), kOp, "batch sizes");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> mode = ChoiceAttr(
      c, "mode", "bilinear", {"bilinear", "nearest", "bicubic"}, kOp);
  if (!mode.ok()) return mode.status();
  absl::StatusOr<std::string> padding = ChoiceAttr(
      c, "padding_mode", "zeros", {"zeros", "border", "reflection"}, kOp);
  if (!padding.ok()) return padding.status();
  absl::StatusOr<bool> align = BoolAttrOr(c, "align_corners", false);
  if (!align.ok()) return align.status();
  c.SetOutput(c.input_dtypes[0],
              Shape{x.dim(0), x.dim(1), grid.dim(1), grid.dim(2)});
  return absl::OkStatus();
}

// RoiAlign: x [N, C, H, W], rois [R, 4] of x's dtype, batch_indices [R]
// int32/int64; [R, C, output_height, output_width].
absl::Status InferRoiAlign(InferenceContext& c) {
  constexpr std::string_view kOp = "RoiAlign";
  if (absl::Status s = RequireFloatingPair(c, kOp); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 0, 4, kOp, "input"); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 1, 2, kOp, "rois"); !s.ok()) return s;
  if (absl::Status s = RequireRank(c, 2, 1, kOp, "batch_indices"); !s.ok()) {
    return s;
  }
  if (c.input_dtypes[2] != DType::kInt32 &&
      c.input_dtypes[2] != DType::kInt64) {
    return c.DTypeError(absl::StrCat(InputDesc(c, 2), "; ", kOp,
                                     "'s batch_indices (input 2) are int32 or "
                                     "int64 (Cast them)"));
  }
  const Shape& rois = c.input_shapes[1];
  if (rois.dim(1) >= 0 && rois.dim(1) != 4) {
    return c.ShapeError(
        absl::StrCat(InputDesc(c, 1), "; ", kOp, "'s rois are [num_rois, 4]"));
  }
  const int64_t r = rois.dim(0), ri = c.input_shapes[2].dim(0);
  if (r >= 0 && ri >= 0 && r != ri) {
    return c.ShapeError(absl::StrCat(kOp, ": ", r, " rois but ", ri,
                                     " batch_indices (", InputDesc(c, 2), ")"));
  }
  absl::StatusOr<std::string> mode =
      ChoiceAttr(c, "mode", "avg", {"avg", "max"}, kOp);
  if (!mode.ok()) return mode.status();
  absl::StatusOr<int64_t> oh = IntAttrOr(c, "output_height", 1);
  if (!oh.ok()) return oh.status();
  absl::StatusOr<int64_t> ow = IntAttrOr(c, "output_width", 1);
  if (!ow.ok()) return ow.status();
  absl::StatusOr<int64_t> sampling = IntAttrOr(c, "sampling_ratio", 0);
  if (!sampling.ok()) return sampling.status();
  if (*oh < 1 || *ow < 1 || *sampling < 0) {
    return c.AttrError(absl::StrCat(
        kOp, " output_height ", *oh, ", output_width ", *ow,
        " and sampling_ratio ", *sampling,
        ": the output sizes must be >= 1 and the sampling ratio >= 0"));
  }
  absl::StatusOr<double> scale = DoubleAttrOr(c, "spatial_scale", 1);
  if (!scale.ok()) return scale.status();
  absl::StatusOr<bool> half = BoolAttrOr(c, "half_pixel", true);
  if (!half.ok()) return half.status();
  c.SetOutput(c.input_dtypes[0],
              Shape{r >= 0 ? r : ri, c.input_shapes[0].dim(1), *oh, *ow});
  return absl::OkStatus();
}

}  // namespace

void RegisterVisionOps(OpRegistry& r) {
  RegisterBuiltin(r, {"NonMaxSuppression", 2, {}, InferNonMaxSuppression});
  RegisterBuiltin(r, {"GridSample", 2, {}, InferGridSample});
  RegisterBuiltin(r, {"RoiAlign", 3, {}, InferRoiAlign});
}

}  // namespace internal

namespace ops {

using internal::BuildOp;

Tensor NonMaxSuppression(const Tensor& boxes, const Tensor& scores,
                         const NonMaxSuppressionAttrs& attrs,
                         const OpOptions& options, std::source_location where) {
  AttrMap map = {
      {"max_output_boxes_per_class", attrs.max_output_boxes_per_class},
      {"iou_threshold", attrs.iou_threshold},
      {"center_point_box", attrs.center_point_box}};
  if (attrs.score_threshold) {
    map.emplace("score_threshold", *attrs.score_threshold);
  }
  return BuildOp("NonMaxSuppression", {boxes, scores}, std::move(map), options,
                 where);
}

Tensor GridSample(const Tensor& x, const Tensor& grid,
                  const GridSampleAttrs& attrs, const OpOptions& options,
                  std::source_location where) {
  return BuildOp("GridSample", {x, grid},
                 {{"mode", attrs.mode},
                  {"padding_mode", attrs.padding_mode},
                  {"align_corners", attrs.align_corners}},
                 options, where);
}

Tensor RoiAlign(const Tensor& x, const Tensor& rois,
                const Tensor& batch_indices, const RoiAlignAttrs& attrs,
                const OpOptions& options, std::source_location where) {
  return BuildOp("RoiAlign", {x, rois, batch_indices},
                 {{"mode", attrs.mode},
                  {"output_height", attrs.output_height},
                  {"output_width", attrs.output_width},
                  {"sampling_ratio", attrs.sampling_ratio},
                  {"spatial_scale", attrs.spatial_scale},
                  {"half_pixel", attrs.half_pixel}},
                 options, where);
}

}  // namespace ops
}  // namespace weft
