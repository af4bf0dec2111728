// Kernels of the vision family (graph/vision_ops.cc): NonMaxSuppression,
// GridSample and RoiAlign, float32 and float64, portable loops (the
// sampling ops split their output planes over oneTBB). The semantics are
// ONNX's, with ONNX Runtime's choices where ONNX leaves one open (RoiAlign's
// max mode, which boxes count as empty).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/attr.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

// kInvalidArgument unless the fed `x` has rank `rank` (and, where dims[i]
// >= 0, that dim): the plan may have been built with unknown dims.
absl::Status CheckFed(const NDArray& x, const std::vector<int64_t>& dims,
                      std::string_view op, std::string_view what,
                      std::string_view layout) {
  if (Shape(dims).IsCompatibleWith(x.shape())) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(op, ": the fed ", what, " is ", DTypeName(x.dtype()),
                   x.shape().DebugString(), "; it must be ", layout));
}

// ------------------------------------------------------ NonMaxSuppression --

template <typename T>
class NonMaxSuppressionKernel : public OpKernel {
 public:
  explicit NonMaxSuppressionKernel(OpKernelConstruction& c) : OpKernel(c) {
    const AttrMap& a = c.node().attrs();
    if (const auto* v = FindAttr<int64_t>(a, "max_output_boxes_per_class")) {
      max_out_ = *v;
    }
    if (const auto* v = FindAttr<double>(a, "iou_threshold")) iou_ = *v;
    if (const auto* v = FindAttr<double>(a, "score_threshold")) {
      has_score_threshold_ = true;
      score_threshold_ = *v;
    }
    if (const auto* v = FindAttr<bool>(a, "center_point_box")) center_ = *v;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& boxes = ctx.input(0);
    const NDArray& scores = ctx.input(1);
    constexpr std::string_view kOp = "NonMaxSuppression";
    if (absl::Status s =
            CheckFed(boxes, {-1, -1, 4}, kOp, "boxes", "[batch, boxes, 4]");
        !s.ok()) {
      return s;
    }
    const int64_t batches = boxes.shape().dim(0), n = boxes.shape().dim(1);
    if (absl::Status s =
            CheckFed(scores, {batches, -1, n}, kOp, "scores",
                     absl::StrCat("[", batches, ", classes, ", n,
                                  "] for boxes ", boxes.shape().DebugString()));
        !s.ok()) {
      return s;
    }
    const int64_t classes = scores.shape().dim(1);
    const T* bx = boxes.values<T>().data();
    const T* sc = scores.values<T>().data();
    std::vector<int64_t> rows;  // (batch, class, box) triples.
    std::vector<int64_t> order, selected;
    for (int64_t b = 0; b < batches; ++b) {
      const T* bb = bx + b * n * 4;
      for (int64_t c = 0; c < classes && max_out_ > 0; ++c) {
        const T* s = sc + (b * classes + c) * n;
        order.clear();
        for (int64_t i = 0; i < n; ++i) {
          if (!has_score_threshold_ ||
              static_cast<double>(s[i]) > score_threshold_) {
            order.push_back(i);
          }
        }
        // Descending score, NaN last; ties keep the lower index first.
        std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
          const bool ni = std::isnan(s[i]);
          const bool nj = std::isnan(s[j]);
          if (ni || nj) return !ni && nj;
          return s[i] > s[j];
        });
        selected.clear();
        for (int64_t i : order) {
          if (static_cast<int64_t>(selected.size()) >= max_out_) break;
          bool keep = true;
          for (int64_t j : selected) {
            if (Suppresses(bb + i * 4, bb + j * 4)) {
              keep = false;
              break;
            }
          }
          if (!keep) continue;
          selected.push_back(i);
          rows.insert(rows.end(), {b, c, i});
        }
      }
    }
    absl::StatusOr<NDArray> out =
        ctx.allocate_output(0, Shape{static_cast<int64_t>(rows.size() / 3), 3});
    if (!out.ok()) return out.status();
    std::copy(rows.begin(), rows.end(), out->mutable_data<int64_t>());
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  // A box as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
  struct Corners {
    double y1, x1, y2, x2;
  };
  Corners CornersOf(const T* b) const {
    const double v0 = b[0], v1 = b[1], v2 = b[2], v3 = b[3];
    if (center_) {  // [x_center, y_center, width, height].
      return {v1 - v3 / 2, v0 - v2 / 2, v1 + v3 / 2, v0 + v2 / 2};
    }
    return {std::min(v0, v2), std::min(v1, v3), std::max(v0, v2),
            std::max(v1, v3)};
  }
  // IoU(a, b) > iou_threshold; empty boxes and disjoint ones never
  // suppress (ONNX Runtime's rule).
  bool Suppresses(const T* a, const T* b) const {
    const Corners p = CornersOf(a), q = CornersOf(b);
    const double ih = std::min(p.y2, q.y2) - std::max(p.y1, q.y1);
    const double iw = std::min(p.x2, q.x2) - std::max(p.x1, q.x1);
    if (!(ih > 0 && iw > 0)) return false;
    const double inter = ih * iw;
    const double area_p = (p.y2 - p.y1) * (p.x2 - p.x1);
    const double area_q = (q.y2 - q.y1) * (q.x2 - q.x1);
    const double uni = area_p + area_q - inter;
    if (!(area_p > 0 && area_q > 0 && uni > 0)) return false;
    return inter / uni > iou_;
  }

  int64_t max_out_ = 0;
  double iou_ = 0;
  bool has_score_threshold_ = false;
  double score_threshold_ = 0;
  bool center_ = false;
};

// ------------------------------------------------------------ GridSample --

enum class GridMode { kBilinear, kNearest, kBicubic };
enum class GridPadding { kZeros, kBorder, kReflection };

// Reflects x into [lo, hi] (ONNX Runtime's GsReflect).
double Reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double d = lo - x;
    const int64_t k = static_cast<int64_t>(d / range);
    const double r = d - static_cast<double>(k) * range;
    return k % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double d = x - hi;
    const int64_t k = static_cast<int64_t>(d / range);
    const double r = d - static_cast<double>(k) * range;
    return k % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// The cubic convolution weights (A = -0.75) of the four taps around a
// point at fraction t past the second one.
void CubicWeights(double t, double w[4]) {
  constexpr double kA = -0.75;
  auto near = [](double x) { return ((kA + 2) * x - (kA + 3)) * x * x + 1; };
  auto far = [](double x) {
    return ((kA * x - 5 * kA) * x + 8 * kA) * x - 4 * kA;
  };
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

template <typename T>
class GridSampleKernel : public OpKernel {
 public:
  explicit GridSampleKernel(OpKernelConstruction& c) : OpKernel(c) {
    const AttrMap& a = c.node().attrs();
    if (const auto* m = FindAttr<std::string>(a, "mode")) {
      if (*m == "nearest") mode_ = GridMode::kNearest;
      if (*m == "bicubic") mode_ = GridMode::kBicubic;
    }
    if (const auto* p = FindAttr<std::string>(a, "padding_mode")) {
      if (*p == "border") padding_ = GridPadding::kBorder;
      if (*p == "reflection") padding_ = GridPadding::kReflection;
    }
    if (const auto* v = FindAttr<bool>(a, "align_corners")) align_ = *v;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const NDArray& grid = ctx.input(1);
    if (absl::Status s = CheckFed(x, {-1, -1, -1, -1}, "GridSample", "input",
                                  "[N, C, H, W]");
        !s.ok()) {
      return s;
    }
    const int64_t n = x.shape().dim(0), ch = x.shape().dim(1);
    const int64_t h = x.shape().dim(2), w = x.shape().dim(3);
    if (absl::Status s =
            CheckFed(grid, {n, -1, -1, 2}, "GridSample", "grid",
                     absl::StrCat("[", n, ", H_out, W_out, 2] for the input ",
                                  x.shape().DebugString()));
        !s.ok()) {
      return s;
    }
    const int64_t oh = grid.shape().dim(1), ow = grid.shape().dim(2);
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{n, ch, oh, ow});
    if (!out.ok()) return out.status();
    const T* xs = x.values<T>().data();
    const T* gs = grid.values<T>().data();
    T* ys = out->mutable_data<T>();
    if (h > 0 && w > 0) {
      ParallelItems(n * ch, oh * ow * 16, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          Plane(xs + p * h * w, gs + (p / ch) * oh * ow * 2, h, w, oh * ow,
                ys + p * oh * ow);
        }
      });
    } else {
      std::fill(ys, ys + out->num_elements(), T{0});
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  // One output plane of `count` points from one input plane (h x w).
  void Plane(const T* img, const T* grid, int64_t h, int64_t w, int64_t count,
             T* y) const {
    // The sampling area: pixel centers (align_corners) or outer edges.
    const double x_lo = align_ ? 0 : -0.5, y_lo = align_ ? 0 : -0.5;
    const double x_hi = align_ ? w - 1.0 : w - 0.5;
    const double y_hi = align_ ? h - 1.0 : h - 0.5;
    auto pixel = [&](int64_t r, int64_t c) -> double {
      if (padding_ == GridPadding::kZeros) {
        return r >= 0 && r < h && c >= 0 && c < w ? double{img[r * w + c]}
                                                  : 0.0;
      }
      if (padding_ == GridPadding::kReflection) {
        c = static_cast<int64_t>(Reflect(static_cast<double>(c), x_lo, x_hi));
        r = static_cast<int64_t>(Reflect(static_cast<double>(r), y_lo, y_hi));
      }
      // Border, and a clamp after reflection (never outside the image).
      r = std::clamp<int64_t>(r, 0, h - 1);
      c = std::clamp<int64_t>(c, 0, w - 1);
      return img[r * w + c];
    };
    for (int64_t i = 0; i < count; ++i) {
      const double gx = grid[2 * i], gy = grid[2 * i + 1];
      if (std::isnan(gx) || std::isnan(gy)) {
        y[i] = static_cast<T>(NAN);
        continue;
      }
      // Denormalize, clamped far outside the image so that the integer
      // conversions below stay defined for any finite or infinite grid.
      auto denorm = [&](double v, int64_t len) {
        const double p =
            align_ ? (v + 1) / 2 * (len - 1) : ((v + 1) * len - 1) / 2;
        return std::clamp(p, -4.0 * len - 8, 4.0 * len + 8);
      };
      double px = denorm(gx, w), py = denorm(gy, h);
      if (mode_ == GridMode::kNearest) {
        px = std::nearbyint(px);
        py = std::nearbyint(py);
      }
      if (px < x_lo || px > x_hi || py < y_lo || py > y_hi) {
        if (padding_ == GridPadding::kBorder) {
          px = std::clamp(px, 0.0, w - 1.0);
          py = std::clamp(py, 0.0, h - 1.0);
        } else if (padding_ == GridPadding::kReflection) {
          px = Reflect(px, x_lo, x_hi);
          py = Reflect(py, y_lo, y_hi);
        }
      }
      double v = 0;
      if (mode_ == GridMode::kNearest) {
        v = pixel(static_cast<int64_t>(py), static_cast<int64_t>(px));
      } else if (mode_ == GridMode::kBilinear) {
        const double fx = std::floor(px), fy = std::floor(py);
        const int64_t x1 = static_cast<int64_t>(fx);
        const int64_t y1 = static_cast<int64_t>(fy);
        const double dx = px - fx, dy = py - fy;
        v = (1 - dy) * ((1 - dx) * pixel(y1, x1) + dx * pixel(y1, x1 + 1)) +
            dy * ((1 - dx) * pixel(y1 + 1, x1) + dx * pixel(y1 + 1, x1 + 1));
      } else {
        const double fx = std::floor(px), fy = std::floor(py);
        const int64_t x0 = static_cast<int64_t>(fx) - 1;
        const int64_t y0 = static_cast<int64_t>(fy) - 1;
        double wx[4], wy[4];
        CubicWeights(px - fx, wx);
        CubicWeights(py - fy, wy);
        for (int r = 0; r < 4; ++r) {
          double row = 0;
          for (int c = 0; c < 4; ++c) row += wx[c] * pixel(y0 + r, x0 + c);
          v += wy[r] * row;
        }
      }
      y[i] = static_cast<T>(v);
    }
  }

  GridMode mode_ = GridMode::kBilinear;
  GridPadding padding_ = GridPadding::kZeros;
  bool align_ = false;
};

// -------------------------------------------------------------- RoiAlign --

template <typename T>
class RoiAlignKernel : public OpKernel {
 public:
  explicit RoiAlignKernel(OpKernelConstruction& c) : OpKernel(c) {
    const AttrMap& a = c.node().attrs();
    if (const auto* m = FindAttr<std::string>(a, "mode")) max_ = *m == "max";
    if (const auto* v = FindAttr<int64_t>(a, "output_height")) oh_ = *v;
    if (const auto* v = FindAttr<int64_t>(a, "output_width")) ow_ = *v;
    if (const auto* v = FindAttr<int64_t>(a, "sampling_ratio")) sampling_ = *v;
    if (const auto* v = FindAttr<double>(a, "spatial_scale")) scale_ = *v;
    if (const auto* v = FindAttr<bool>(a, "half_pixel")) half_pixel_ = *v;
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    constexpr std::string_view kOp = "RoiAlign";
    const NDArray& x = ctx.input(0);
    const NDArray& rois = ctx.input(1);
    const NDArray& idx = ctx.input(2);
    if (absl::Status s =
            CheckFed(x, {-1, -1, -1, -1}, kOp, "input", "[N, C, H, W]");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckFed(rois, {-1, 4}, kOp, "rois", "[num_rois, 4]");
        !s.ok()) {
      return s;
    }
    const int64_t r = rois.shape().dim(0);
    if (absl::Status s = CheckFed(idx, {r}, kOp, "batch_indices",
                                  absl::StrCat("[", r, "], one per roi of ",
                                               rois.shape().DebugString()));
        !s.ok()) {
      return s;
    }
    const int64_t n = x.shape().dim(0), ch = x.shape().dim(1);
    const int64_t h = x.shape().dim(2), w = x.shape().dim(3);
    std::vector<int64_t> batch(r);
    for (int64_t i = 0; i < r; ++i) {
      batch[i] = idx.dtype() == DType::kInt32 ? idx.values<int32_t>()[i]
                                              : idx.values<int64_t>()[i];
      if (batch[i] < 0 || batch[i] >= n) {
        return absl::InvalidArgumentError(
            absl::StrCat(kOp, ": batch_indices[", i, "] = ", batch[i],
                         " is out of range for the input's batch of ", n));
      }
    }
    absl::StatusOr<NDArray> out =
        ctx.allocate_output(0, Shape{r, ch, oh_, ow_});
    if (!out.ok()) return out.status();
    const T* xs = x.values<T>().data();
    const T* rs = rois.values<T>().data();
    T* ys = out->mutable_data<T>();
    if (h == 0 || w == 0) {  // Nothing to sample.
      std::fill(ys, ys + out->num_elements(), T{0});
      ctx.set_output(0, *std::move(out));
      return absl::OkStatus();
    }
    ParallelItems(r * ch, oh_ * ow_ * 16, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t roi = p / ch, c = p % ch;
        Bins(xs + (batch[roi] * ch + c) * h * w, h, w, rs + roi * 4,
             ys + p * oh_ * ow_);
      }
    });
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  // The oh x ow bins of one roi over one channel plane (h x w).
  void Bins(const T* img, int64_t h, int64_t w, const T* roi, T* y) const {
    const double offset = half_pixel_ ? 0.5 : 0.0;
    const double x0 = roi[0] * scale_ - offset, y0 = roi[1] * scale_ - offset;
    double rw = roi[2] * scale_ - offset - x0;
    double rh = roi[3] * scale_ - offset - y0;
    if (!half_pixel_) {  // Rois of at least one pixel.
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    const double bh = rh / static_cast<double>(oh_);
    const double bw = rw / static_cast<double>(ow_);
    // Samples per bin side: sampling_ratio, else ceil(bin size), bounded so
    // that a hostile roi cannot ask for billions.
    auto samples = [&](double bin) {
      if (sampling_ > 0) return sampling_;
      const double s = std::ceil(bin);
      return static_cast<int64_t>(std::clamp(s, 1.0, 1024.0));
    };
    const int64_t gh = samples(bh), gw = samples(bw);
    const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    for (int64_t ph = 0; ph < oh_; ++ph) {
      for (int64_t pw = 0; pw < ow_; ++pw) {
        double acc = 0;
        bool first = true;
        for (int64_t iy = 0; iy < gh; ++iy) {
          const double sy = y0 + ph * bh + (iy + 0.5) * bh / gh;
          for (int64_t ix = 0; ix < gw; ++ix) {
            const double sx = x0 + pw * bw + (ix + 0.5) * bw / gw;
            double v = 0;
            // Bilinear at (sy, sx); a sample more than one pixel outside
            // the image (or NaN, from an infinite roi) is 0.
            if (sy >= -1.0 && sy <= h && sx >= -1.0 && sx <= w) {
              double yy = std::max(sy, 0.0), xx = std::max(sx, 0.0);
              int64_t yl = static_cast<int64_t>(yy);
              int64_t xl = static_cast<int64_t>(xx);
              int64_t yh, xh;
              if (yl >= h - 1) {
                yh = yl = h - 1;
                yy = static_cast<double>(yl);
              } else {
                yh = yl + 1;
              }
              if (xl >= w - 1) {
                xh = xl = w - 1;
                xx = static_cast<double>(xl);
              } else {
                xh = xl + 1;
              }
              const double ly = yy - yl, lx = xx - xl;
              const double hy = 1 - ly, hx = 1 - lx;
              const double t[4] = {
                  hy * hx * img[yl * w + xl], hy * lx * img[yl * w + xh],
                  ly * hx * img[yh * w + xl], ly * lx * img[yh * w + xh]};
              if (max_) {
                v = std::max(std::max(t[0], t[1]), std::max(t[2], t[3]));
              } else {
                v = t[0] + t[1] + t[2] + t[3];
              }
            }
            if (max_) {
              acc = first ? v : std::max(acc, v);
              first = false;
            } else {
              acc += v;
            }
          }
        }
        y[ph * ow_ + pw] = static_cast<T>(max_ ? acc : acc / count);
      }
    }
  }

  bool max_ = false;
  int64_t oh_ = 1, ow_ = 1, sampling_ = 0;
  double scale_ = 1;
  bool half_pixel_ = true;
};

template <typename T>
void RegisterForType(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  MustRegister(r, {.op = "NonMaxSuppression",
                   .dtype = dt,
                   .factory = MakeKernelFactory<NonMaxSuppressionKernel<T>>(),
                   .cost = KernelCost::kExpensive});
  MustRegister(r, {.op = "GridSample",
                   .dtype = dt,
                   .factory = MakeKernelFactory<GridSampleKernel<T>>(),
                   .cost = KernelCost::kExpensive});
  MustRegister(r, {.op = "RoiAlign",
                   .dtype = dt,
                   .factory = MakeKernelFactory<RoiAlignKernel<T>>(),
                   .cost = KernelCost::kExpensive});
}

}  // namespace

void RegisterVisionKernels(KernelRegistry& registry) {
  RegisterForType<float>(registry);
  RegisterForType<double>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
