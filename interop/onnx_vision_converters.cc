// Converters of ONNX's detection and sampling ops onto weft's vision family
// (graph/vision_ops.cc): NonMaxSuppression, GridSample, RoiAlign.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/attr.h"
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"
#include "interop/onnx_tensor.h"

namespace weft {
namespace onnx_internal {
namespace {

// The one value of optional scalar input `i` (known at import), or `dflt`
// when the input is absent.
absl::StatusOr<double> ScalarInput(NodeContext& c, int i, std::string_view what,
                                   double dflt) {
  if (!c.has_input(i)) return dflt;
  absl::StatusOr<const NDArray*> v = c.ConstInput(i, what);
  if (!v.ok()) return v.status();
  return OnlyValue(**v, what);
}

absl::Status NonMaxSuppression(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor boxes, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor scores, c.input(1));
  int64_t max_out = 0;
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> v,
                          c.ConstInts(2, "max_output_boxes_per_class"));
    if (v.size() != 1) {
      return absl::InvalidArgumentError(
          "max_output_boxes_per_class must hold one value");
    }
    max_out = v[0];
  }
  ASSIGN_OR_RETURN_ONNX(double iou, ScalarInput(c, 3, "iou_threshold", 0));
  AttrMap attrs = {{"max_output_boxes_per_class", max_out},
                   {"iou_threshold", iou},
                   {"center_point_box", c.Int("center_point_box", 0) != 0}};
  if (c.has_input(4)) {
    ASSIGN_OR_RETURN_ONNX(double score,
                          ScalarInput(c, 4, "score_threshold", 0));
    attrs.emplace("score_threshold", score);
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor y, c.Op("NonMaxSuppression", {boxes, scores}, std::move(attrs)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status GridSample(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor grid, c.input(1));
  ASSIGN_OR_RETURN_ONNX(
      Tensor y, c.Op("GridSample", {x, grid},
                     {{"mode", c.String("mode", "bilinear")},
                      {"padding_mode", c.String("padding_mode", "zeros")},
                      {"align_corners", c.Int("align_corners", 0) != 0}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status RoiAlign(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor rois, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor batch, c.input(2));
  // Opset 16 added coordinate_transformation_mode (default half_pixel);
  // opset 10's RoiAlign behaves as output_half_pixel.
  const std::string mode =
      c.String("coordinate_transformation_mode",
               c.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (mode != "half_pixel" && mode != "output_half_pixel") {
    return c.Unsupported(absl::StrCat(
        "attribute 'coordinate_transformation_mode' = '", mode, "'"));
  }
  ASSIGN_OR_RETURN_ONNX(
      Tensor y,
      c.Op("RoiAlign", {x, rois, batch},
           {{"mode", c.String("mode", "avg")},
            {"output_height", c.Int("output_height", 1)},
            {"output_width", c.Int("output_width", 1)},
            {"sampling_ratio", c.Int("sampling_ratio", 0)},
            {"spatial_scale", static_cast<double>(c.Float("spatial_scale", 1))},
            {"half_pixel", mode == "half_pixel"}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

}  // namespace

void RegisterVisionConverters(absl::flat_hash_map<std::string, Converter>& t) {
  t["NonMaxSuppression"] = NonMaxSuppression;
  t["GridSample"] = GridSample;
  t["RoiAlign"] = RoiAlign;
}

}  // namespace onnx_internal
}  // namespace weft
