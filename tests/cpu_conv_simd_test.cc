// Tests of kernels/cpu/conv_simd.h on every SIMD target compiled in and
// supported here: the depthwise plane against a float64 loop over a sweep
// of geometries (pads, strides, dilations, widths around each target's
// vector length), every epilogue against its definition, NaN and -0, and
// that nothing is written outside the output plane.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/cpu/conv_simd.h"
#include "kernels/cpu/elementwise.h"

namespace weft {
namespace cpu {
namespace {

class TargetGuard {
 public:
  ~TargetGuard() { ResetSimdTargetForTest(); }
};

// The epilogue from conv_simd.h's words, in double.
double RefEpilogue(const ConvRowEpilogue& e, double v) {
  auto clamp = [](double v, double lo, double hi) {
    return v < lo ? lo : (v > hi ? hi : v);
  };
  switch (e.act) {
    case ConvActivation::kNone:
      break;
    case ConvActivation::kRelu:
      v = v < 0 ? 0 : v;
      break;
    case ConvActivation::kLeakyRelu:
      v = v < 0 ? e.alpha * v : v;
      break;
    case ConvActivation::kHardSigmoid:
      v = clamp(e.alpha * v + e.beta, 0, 1);
      break;
    case ConvActivation::kHardSwish:
      v = v * clamp(e.alpha * v + e.beta, 0, 1);
      break;
    case ConvActivation::kClip:
      v = clamp(v, e.alpha, e.beta);
      break;
  }
  return v * e.scale + e.shift;
}

std::vector<ConvRowEpilogue> Epilogues() {
  return {
      {},
      {.act = ConvActivation::kRelu},
      {.act = ConvActivation::kLeakyRelu, .alpha = 0.1f},
      {.act = ConvActivation::kHardSigmoid, .alpha = 0.2f, .beta = 0.5f},
      {.act = ConvActivation::kHardSwish,
       .alpha = 1.0f / 6,
       .beta = 0.5f,
       .scale = 1.25f,
       .shift = -0.5f},
      {.act = ConvActivation::kClip, .alpha = -0.3f, .beta = 0.4f},
      {.act = ConvActivation::kRelu, .scale = -2, .shift = 0.25f},
      {.scale = 0.5f, .shift = 3},
  };
}

// The float64 depthwise plane with bounds checks, then the epilogue.
std::vector<double> RefPlane(const DepthwiseGeometry& g,
                             const ConvRowEpilogue& e,
                             const std::vector<float>& x,
                             const std::vector<float>& w, float bias) {
  std::vector<double> y(g.oh * g.ow);
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      double acc = bias;
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          const int64_t iw = ow * g.sw - g.pw + kw * g.dw;
          if (ih < 0 || ih >= g.ih || iw < 0 || iw >= g.iw) continue;
          acc += static_cast<double>(w[kh * g.kw + kw]) * x[ih * g.iw + iw];
        }
      }
      y[oh * g.ow + ow] = RefEpilogue(e, acc);
    }
  }
  return y;
}

std::string Describe(const DepthwiseGeometry& g) {
  return absl::StrCat("in ", g.ih, "x", g.iw, " kernel ", g.kh, "x", g.kw,
                      " out ", g.oh, "x", g.ow, " strides ", g.sh, ",", g.sw,
                      " dilations ", g.dh, ",", g.dw, " pads ", g.ph, ",",
                      g.pw);
}

// Runs one plane with a canary past the output and the exact scratch size
// (ASan catches a read or write past it) and compares with RefPlane.
void CheckPlane(const DepthwiseGeometry& g, const ConvRowEpilogue& e,
                std::mt19937& rng) {
  SCOPED_TRACE(Describe(g));
  ASSERT_TRUE(DepthwisePlaneSupports(g));
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(g.ih * g.iw), w(g.kh * g.kw);
  for (float& v : x) v = u(rng);
  for (float& v : w) v = u(rng);
  const float bias = u(rng);
  constexpr float kCanary = 12345.0f;
  std::vector<float> y(g.oh * g.ow + 17, kCanary);
  std::vector<float> scratch(DepthwiseScratchFloats(g));
  DepthwisePlaneF32(g, e, x.data(), w.data(), bias, y.data(), scratch.data());
  const std::vector<double> want = RefPlane(g, e, x, w, bias);
  const double tol = 2e-6 * static_cast<double>(g.kh * g.kw + 1) *
                     std::max(1.0, std::abs(static_cast<double>(e.scale))) *
                     1.5;
  int bad = 0;
  for (size_t i = 0; i < want.size() && bad < 5; ++i) {
    if (!(std::abs(y[i] - want[i]) <= tol)) {
      ++bad;
      ADD_FAILURE() << "output " << i / g.ow << "," << i % g.ow << ": got "
                    << y[i] << ", want " << want[i];
    }
  }
  for (size_t i = want.size(); i < y.size(); ++i) {
    ASSERT_EQ(y[i], kCanary) << "written past the plane at " << i;
  }
}

DepthwiseGeometry Make(int64_t ih, int64_t iw, int64_t kh, int64_t kw,
                       int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                       int64_t ph, int64_t pw, int64_t ph_end, int64_t pw_end) {
  DepthwiseGeometry g{.ih = ih,
                      .iw = iw,
                      .kh = kh,
                      .kw = kw,
                      .sh = sh,
                      .sw = sw,
                      .dh = dh,
                      .dw = dw,
                      .ph = ph,
                      .pw = pw};
  // ONNX's output size; 0 when the padded input is shorter than a window.
  auto out = [](int64_t span, int64_t stride) {
    return span < 0 ? 0 : span / stride + 1;
  };
  g.oh = out(ih + ph + ph_end - dh * (kh - 1) - 1, sh);
  g.ow = out(iw + pw + pw_end - dw * (kw - 1) - 1, sw);
  return g;
}

TEST(DepthwisePlane, MatchesReferenceOnEveryTarget) {
  TargetGuard guard;
  for (const std::string& target : SimdTargets()) {
    SCOPED_TRACE(target);
    ASSERT_TRUE(ForceSimdTargetForTest(target).ok());
    std::mt19937 rng(7);
    int cases = 0;
    for (int64_t kw : {1, 3, 5, 7}) {
      for (int64_t sw : {1, 2}) {
        for (int64_t dw : {1, 2}) {
          for (int64_t pw : {int64_t{0}, kw / 2, kw - 1}) {
            // Widths around 4, 8, 16 and 32 outputs, and a wide one.
            for (int64_t iw : {1, 3, 4, 9, 16, 17, 31, 33, 40, 65, 100}) {
              const DepthwiseGeometry g =
                  Make(5, iw, 3, kw, 1 + (iw % 2), sw, 1 + (kw % 3 == 0), dw, 1,
                       pw, iw % 3, pw + (iw % 2));
              if (g.oh <= 0 || g.ow <= 0) continue;
              CheckPlane(g, {}, rng);
              ++cases;
            }
          }
        }
      }
    }
    EXPECT_EQ(cases, 480);
    // PaddleOCR's shapes: 5x5 and 3x3, stride 1 and 2, "same" pads.
    CheckPlane(Make(12, 80, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2), {}, rng);
    CheckPlane(Make(12, 80, 5, 5, 2, 1, 1, 1, 2, 2, 2, 2), {}, rng);
    CheckPlane(Make(24, 160, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), {}, rng);
    CheckPlane(Make(64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1), {}, rng);
    // A kernel of kMaxDepthwiseTaps taps, a row narrower than the kernel.
    CheckPlane(Make(9, 11, 8, 8, 1, 1, 1, 1, 7, 7, 0, 0), {}, rng);
    CheckPlane(Make(3, 2, 3, 5, 1, 2, 1, 1, 1, 4, 1, 4), {}, rng);
  }
}

TEST(DepthwisePlane, EveryEpilogueOnEveryTarget) {
  TargetGuard guard;
  for (const std::string& target : SimdTargets()) {
    SCOPED_TRACE(target);
    ASSERT_TRUE(ForceSimdTargetForTest(target).ok());
    std::mt19937 rng(11);
    for (const ConvRowEpilogue& e : Epilogues()) {
      SCOPED_TRACE(static_cast<int>(e.act));
      CheckPlane(Make(6, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), e, rng);
      CheckPlane(Make(6, 37, 5, 5, 1, 2, 1, 1, 2, 2, 2, 2), e, rng);
    }
  }
}

TEST(DepthwisePlane, SupportsOnlyItsGeometries) {
  const DepthwiseGeometry ok = Make(4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
  EXPECT_TRUE(DepthwisePlaneSupports(ok));
  DepthwiseGeometry g = ok;
  g.sw = 3;
  EXPECT_FALSE(DepthwisePlaneSupports(g));
  g = ok;
  g.kh = 9;
  g.kw = 8;  // 72 taps.
  EXPECT_FALSE(DepthwisePlaneSupports(g));
  g = ok;
  g.ow = 0;
  EXPECT_FALSE(DepthwisePlaneSupports(g));
  g = ok;
  g.pw = -1;
  EXPECT_FALSE(DepthwisePlaneSupports(g));
}

TEST(ConvEpilogue, RowsMatchTheDefinitionOnEveryTarget) {
  TargetGuard guard;
  for (const std::string& target : SimdTargets()) {
    SCOPED_TRACE(target);
    ASSERT_TRUE(ForceSimdTargetForTest(target).ok());
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-4, 4);
    for (const ConvRowEpilogue& e : Epilogues()) {
      SCOPED_TRACE(static_cast<int>(e.act));
      for (int64_t n : {0, 1, 5, 16, 37, 100}) {
        std::vector<float> x(n);
        for (float& v : x) v = u(rng);
        std::vector<float> with_bias = x, in_place = x, out(n);
        BiasEpilogueF32(e, 0.75f, with_bias.data(), n);
        EpilogueF32(e, in_place.data(), in_place.data(), n);
        EpilogueF32(e, x.data(), out.data(), n);
        for (int64_t i = 0; i < n; ++i) {
          EXPECT_NEAR(with_bias[i], RefEpilogue(e, double{x[i]} + 0.75), 1e-5)
              << i;
          EXPECT_NEAR(in_place[i], RefEpilogue(e, x[i]), 1e-5) << i;
          EXPECT_EQ(out[i], in_place[i]) << i;
        }
      }
    }
  }
}

TEST(ConvEpilogue, NaNStaysNaNAndNegativeZeroStays) {
  TargetGuard guard;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::string& target : SimdTargets()) {
    SCOPED_TRACE(target);
    ASSERT_TRUE(ForceSimdTargetForTest(target).ok());
    for (const ConvRowEpilogue& e : Epilogues()) {
      SCOPED_TRACE(static_cast<int>(e.act));
      std::vector<float> y(19, nan);
      BiasEpilogueF32(e, 1.0f, y.data(), 19);
      for (float v : y) EXPECT_TRUE(std::isnan(v)) << v;
    }
    // No bias and no activation that maps it: -0 is kept.
    std::vector<float> z(19, -0.0f);
    EpilogueF32({.act = ConvActivation::kLeakyRelu, .alpha = 0.5f}, z.data(),
                z.data(), 19);
    for (float v : z) EXPECT_TRUE(v == 0 && std::signbit(v)) << v;
  }
}

}  // namespace
}  // namespace cpu
}  // namespace weft
