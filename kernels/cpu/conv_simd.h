// conv_simd.h — the inner loops of weft's own float32 convolution paths,
// compiled once per SIMD target with Google Highway and dispatched at run
// time (AVX-512 where the CPU has it, SSE2 code elsewhere; elementwise.h's
// ForceSimdTargetForTest pins these too):
//
//   ConvActivation, ConvRowEpilogue — a fused convolution's epilogue,
//       y = act(v + bias) * scale + shift;
//   BiasEpilogueF32, EpilogueF32 — that epilogue over a row of outputs
//       (the 1x1 and stride-tiled paths apply it after their GEMM; the
//       HardSigmoid and HardSwish ops are EpilogueF32 too);
//   DepthwiseGeometry, DepthwisePlaneF32 — one channel of a depthwise 2-D
//       convolution (group == C == M), epilogue included.
//
//   weft::cpu::ConvRowEpilogue e{.act = weft::cpu::ConvActivation::kRelu};
//   weft::cpu::BiasEpilogueF32(e, /*bias=*/0.5f, row.data(), row.size());
//
// NaN stays NaN through every activation (comparisons select lane by
// lane), as in the separate ops' kernels. Results may differ from a scalar
// loop's in the last bits: the vector targets use fused multiply-adds.
//
// Thread safety: every routine is reentrant (no state but the dispatch
// table, set once).
#ifndef WEFT_KERNELS_CPU_CONV_SIMD_H_
#define WEFT_KERNELS_CPU_CONV_SIMD_H_

#include <cstdint>

namespace weft {
namespace cpu {

enum class ConvActivation : int {
  kNone,
  kRelu,
  kLeakyRelu,    // v < 0 ? alpha * v : v.
  kHardSigmoid,  // clamp(alpha * v + beta, 0, 1).
  kHardSwish,    // v * clamp(alpha * v + beta, 0, 1): alpha 1/6, beta 1/2.
  kClip,         // clamp(v, alpha, beta).
};

// y = act(v + bias) * scale + shift, with the activation's alpha and beta.
struct ConvRowEpilogue {
  ConvActivation act = ConvActivation::kNone;
  float alpha = 0, beta = 0, scale = 1, shift = 0;
  bool affine() const { return scale != 1 || shift != 0; }
  bool identity() const { return act == ConvActivation::kNone && !affine(); }
};

// y[i] = e(y[i] + bias) for i in [0, n).
void BiasEpilogueF32(const ConvRowEpilogue& e, float bias, float* y, int64_t n);
// y[i] = e(x[i]) for i in [0, n) (no bias: -0 stays -0 where e keeps
// it). x may be y (in place), not partly overlap it.
void EpilogueF32(const ConvRowEpilogue& e, const float* x, float* y, int64_t n);

// One channel of a depthwise 2-D convolution: an ih x iw input plane, a
// kh x kw kernel (at most kMaxDepthwiseTaps taps), an oh x ow output plane;
// strides (the width stride 1 or 2), dilations and the leading pads of
// each axis. The caller checks that oh and ow follow from the rest.
inline constexpr int64_t kMaxDepthwiseTaps = 64;
struct DepthwiseGeometry {
  int64_t ih = 0, iw = 0, oh = 0, ow = 0, kh = 0, kw = 0;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
};
// Whether DepthwisePlaneF32 takes `g` (width stride 1 or 2, at most
// kMaxDepthwiseTaps taps, positive sizes).
bool DepthwisePlaneSupports(const DepthwiseGeometry& g);

// The floats of scratch DepthwisePlaneF32 needs for `g`.
inline constexpr int64_t kDepthwiseMaxLanes = 16;  // AVX-512's floats.
int64_t DepthwiseScratchFloats(const DepthwiseGeometry& g);

// y (oh x ow) = e(conv(x (ih x iw), w (kh x kw)) + bias). The input plane
// is first copied into `scratch` (DepthwiseScratchFloats(g) floats) with
// zero columns on both sides, so every output row is summed a whole vector
// of columns at a time (the last vector partly, through a small buffer);
// kernel rows outside the image are skipped.
void DepthwisePlaneF32(const DepthwiseGeometry& g, const ConvRowEpilogue& e,
                       const float* x, const float* w, float bias, float* y,
                       float* scratch);

}  // namespace cpu
}  // namespace weft

#endif  // WEFT_KERNELS_CPU_CONV_SIMD_H_
