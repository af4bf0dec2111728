// conv_simd.cc — Highway implementation of conv_simd.h.
//
// Compiled once per SIMD target, as elementwise.cc is: hwy/foreach_target.h
// re-includes this file (HWY_TARGET_INCLUDE) with HWY_NAMESPACE set to each
// target's namespace, under a `#pragma GCC target` for its ISA. The
// per-target code uses only Highway ops, plain arithmetic and the plain
// structs of conv_simd.h (defined before the first target region, so their
// inline members are baseline code); the dispatch is in the HWY_ONCE
// section at the end.

#include "kernels/cpu/conv_simd.h"

#include <cstddef>
#include <cstdint>

// Shared by every target and the dispatch section (defined once, before
// the first target region, so it is baseline code).
#ifndef WEFT_KERNELS_CPU_CONV_SIMD_SHARED_
#define WEFT_KERNELS_CPU_CONV_SIMD_SHARED_
namespace weft {
namespace cpu {
namespace detail {

// Width of a padded input row for `lanes`-wide vectors: the image row with
// its left pad, and every column the last (partial) vector of outputs
// reads.
inline int64_t PaddedWidth(const DepthwiseGeometry& g, int64_t lanes) {
  const int64_t vectors = (g.ow + lanes - 1) / lanes;
  const int64_t reach = g.sw * vectors * lanes + (g.kw - 1) * g.dw;
  return g.pw + g.iw > reach ? g.pw + g.iw : reach;
}

}  // namespace detail
}  // namespace cpu
}  // namespace weft
#endif  // WEFT_KERNELS_CPU_CONV_SIMD_SHARED_

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/conv_simd.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must follow foreach_target.h.
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace weft {
namespace cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ------------------------------------------------------------ epilogue --

// e(v (+ bias when kBias)) for the vector v of tag d.
template <ConvActivation kAct, bool kAffine, bool kBias, class D, class V>
HWY_INLINE V EpilogueOf(D d, const ConvRowEpilogue& e, float bias, V v) {
  const V zero = hn::Zero(d);
  if constexpr (kBias) v = hn::Add(v, hn::Set(d, bias));
  if constexpr (kAct == ConvActivation::kRelu) {
    v = hn::IfThenElse(hn::Lt(v, zero), zero, v);
  } else if constexpr (kAct == ConvActivation::kLeakyRelu) {
    v = hn::IfThenElse(hn::Lt(v, zero), hn::Mul(v, hn::Set(d, e.alpha)), v);
  } else if constexpr (kAct == ConvActivation::kHardSigmoid ||
                       kAct == ConvActivation::kHardSwish) {
    const V one = hn::Set(d, 1.0f);
    V h = hn::MulAdd(hn::Set(d, e.alpha), v, hn::Set(d, e.beta));
    h = hn::IfThenElse(hn::Lt(h, zero), zero, h);
    h = hn::IfThenElse(hn::Gt(h, one), one, h);
    v = kAct == ConvActivation::kHardSwish ? hn::Mul(v, h) : h;
  } else if constexpr (kAct == ConvActivation::kClip) {
    const V lo = hn::Set(d, e.alpha), hi = hn::Set(d, e.beta);
    v = hn::IfThenElse(hn::Lt(v, lo), lo, v);
    v = hn::IfThenElse(hn::Gt(v, hi), hi, v);
  }
  if constexpr (kAffine) {
    v = hn::MulAdd(v, hn::Set(d, e.scale), hn::Set(d, e.shift));
  }
  return v;
}

// y[i] = e(x[i] (+ bias)) for i in [0, n); x may be y.
template <ConvActivation kAct, bool kAffine, bool kBias>
HWY_INLINE void EpilogueLoop(const ConvRowEpilogue& e, float bias,
                             const float* x, float* y, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(
        EpilogueOf<kAct, kAffine, kBias>(d, e, bias, hn::LoadU(d, x + i)), d,
        y + i);
  }
  const hn::CappedTag<float, 1> d1;
  for (; i < n; ++i) {
    hn::StoreU(
        EpilogueOf<kAct, kAffine, kBias>(d1, e, bias, hn::LoadU(d1, x + i)), d1,
        y + i);
  }
}

template <ConvActivation kAct>
HWY_INLINE void EpilogueWith(const ConvRowEpilogue& e, bool add_bias,
                             float bias, const float* x, float* y, size_t n) {
  const bool affine = e.scale != 1 || e.shift != 0;
  if (affine) {
    add_bias ? EpilogueLoop<kAct, true, true>(e, bias, x, y, n)
             : EpilogueLoop<kAct, true, false>(e, bias, x, y, n);
  } else {
    add_bias ? EpilogueLoop<kAct, false, true>(e, bias, x, y, n)
             : EpilogueLoop<kAct, false, false>(e, bias, x, y, n);
  }
}

HWY_INLINE void EpilogueRow(const ConvRowEpilogue& e, bool add_bias, float bias,
                            const float* x, float* y, size_t n) {
  switch (e.act) {
    case ConvActivation::kNone:
      return EpilogueWith<ConvActivation::kNone>(e, add_bias, bias, x, y, n);
    case ConvActivation::kRelu:
      return EpilogueWith<ConvActivation::kRelu>(e, add_bias, bias, x, y, n);
    case ConvActivation::kLeakyRelu:
      return EpilogueWith<ConvActivation::kLeakyRelu>(e, add_bias, bias, x, y,
                                                      n);
    case ConvActivation::kHardSigmoid:
      return EpilogueWith<ConvActivation::kHardSigmoid>(e, add_bias, bias, x, y,
                                                        n);
    case ConvActivation::kHardSwish:
      return EpilogueWith<ConvActivation::kHardSwish>(e, add_bias, bias, x, y,
                                                      n);
    case ConvActivation::kClip:
      return EpilogueWith<ConvActivation::kClip>(e, add_bias, bias, x, y, n);
  }
}

HWY_NOINLINE void BiasEpilogue(const ConvRowEpilogue& e, float bias, float* y,
                               int64_t n) {
  EpilogueRow(e, /*add_bias=*/true, bias, y, y, static_cast<size_t>(n));
}

HWY_NOINLINE void Epilogue(const ConvRowEpilogue& e, const float* x, float* y,
                           int64_t n) {
  EpilogueRow(e, /*add_bias=*/false, 0.0f, x, y, static_cast<size_t>(n));
}

// ----------------------------------------------------------- depthwise --

// The kernel rows of one output row that fall inside the image: `rows[r]`
// is the padded input row (indexed by output column * sw + tap * dw),
// `taps[r]` that kernel row's kw weights.
struct RowTaps {
  const float* rows[kMaxDepthwiseTaps];
  const float* taps[kMaxDepthwiseTaps];
  int64_t n = 0;
};

// The input columns of Lanes(d) outputs' tap k from `s` (the row at the
// first output's column * kStride): consecutive columns for a width stride
// of 1, the even lanes of two vectors for a stride of 2.
template <int kStride, class D>
HWY_INLINE hn::Vec<D> Columns(D d, const float* s) {
#if HWY_TARGET == HWY_SCALAR
  return hn::LoadU(d, s);  // One lane: the first column.
#else
  if constexpr (kStride == 1) {
    return hn::LoadU(d, s);
  } else {
    return hn::ConcatEven(d, hn::LoadU(d, s + hn::Lanes(d)), hn::LoadU(d, s));
  }
#endif
}

// kVecs (1 or 2) vectors of outputs from column ow; even and odd kernel
// rows in separate accumulators (2 * kVecs dependency chains). kKw > 0
// fixes the kernel width (and a unit width dilation) so the taps unroll.
template <int kStride, int kKw, int kVecs, class D>
HWY_INLINE void OutputVectors(D d, const RowTaps& rt, int64_t kw_n, int64_t dw,
                              float bias, int64_t ow, float* out) {
  if constexpr (kKw > 0) {
    kw_n = kKw;
    dw = 1;
  }
  const int64_t step = kStride * static_cast<int64_t>(hn::Lanes(d));
  auto a0 = hn::Set(d, bias), a1 = a0, b0 = hn::Zero(d), b1 = b0;
  int64_t r = 0;
  for (; r + 2 <= rt.n; r += 2) {
    const float *s0 = rt.rows[r] + ow * kStride,
                *s1 = rt.rows[r + 1] + ow * kStride;
    const float *t0 = rt.taps[r], *t1 = rt.taps[r + 1];
    for (int64_t k = 0; k < kw_n; ++k) {
      const auto u = hn::Set(d, t0[k]), v = hn::Set(d, t1[k]);
      a0 = hn::MulAdd(u, Columns<kStride>(d, s0 + k * dw), a0);
      b0 = hn::MulAdd(v, Columns<kStride>(d, s1 + k * dw), b0);
      if constexpr (kVecs == 2) {
        a1 = hn::MulAdd(u, Columns<kStride>(d, s0 + k * dw + step), a1);
        b1 = hn::MulAdd(v, Columns<kStride>(d, s1 + k * dw + step), b1);
      }
    }
  }
  if (r < rt.n) {
    const float* s0 = rt.rows[r] + ow * kStride;
    const float* t0 = rt.taps[r];
    for (int64_t k = 0; k < kw_n; ++k) {
      const auto u = hn::Set(d, t0[k]);
      a0 = hn::MulAdd(u, Columns<kStride>(d, s0 + k * dw), a0);
      if constexpr (kVecs == 2) {
        a1 = hn::MulAdd(u, Columns<kStride>(d, s0 + k * dw + step), a1);
      }
    }
  }
  hn::StoreU(hn::Add(a0, b0), d, out);
  if constexpr (kVecs == 2) {
    hn::StoreU(hn::Add(a1, b1), d, out + hn::Lanes(d));
  }
}

// One output row (ow columns) from padded input rows: two vectors at a
// time, then one, then a last partial vector through `tail`.
template <int kStride, int kKw>
HWY_INLINE void OutputRow(const RowTaps& rt, int64_t kw_n, int64_t dw,
                          int64_t ow_n, float bias, float* yr) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t ow = 0;
  for (; ow + 2 * lanes <= ow_n; ow += 2 * lanes) {
    OutputVectors<kStride, kKw, 2>(d, rt, kw_n, dw, bias, ow, yr + ow);
  }
  for (; ow + lanes <= ow_n; ow += lanes) {
    OutputVectors<kStride, kKw, 1>(d, rt, kw_n, dw, bias, ow, yr + ow);
  }
  if (ow < ow_n) {
    HWY_ALIGN float tail[hn::MaxLanes(d)];
    OutputVectors<kStride, kKw, 1>(d, rt, kw_n, dw, bias, ow, tail);
    for (int64_t i = 0; ow + i < ow_n; ++i) yr[ow + i] = tail[i];
  }
}

HWY_NOINLINE void DepthwisePlane(const DepthwiseGeometry& g,
                                 const ConvRowEpilogue& e, const float* x,
                                 const float* w, float bias, float* y,
                                 float* scratch) {
  const hn::ScalableTag<float> d;
  static_assert(hn::MaxLanes(d) <= kDepthwiseMaxLanes,
                "DepthwiseScratchFloats sizes for kDepthwiseMaxLanes");
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  // The input plane with zero columns on both sides (pads and the reach
  // of the last vector), so no output column needs bounds checks.
  const int64_t wp = detail::PaddedWidth(g, lanes);
  for (int64_t ih = 0; ih < g.ih; ++ih) {
    float* row = scratch + ih * wp;
    for (int64_t i = 0; i < g.pw; ++i) row[i] = 0;
    __builtin_memcpy(row + g.pw, x + ih * g.iw, g.iw * sizeof(float));
    for (int64_t i = g.pw + g.iw; i < wp; ++i) row[i] = 0;
  }
  const bool identity =
      e.act == ConvActivation::kNone && e.scale == 1 && e.shift == 0;
  RowTaps rt;
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    rt.n = 0;
    for (int64_t kh = 0; kh < g.kh; ++kh) {
      const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
      if (ih < 0 || ih >= g.ih) continue;
      rt.rows[rt.n] = scratch + ih * wp;
      rt.taps[rt.n++] = w + kh * g.kw;
    }
    float* yr = y + oh * g.ow;
    if (g.sw == 2) {
      OutputRow<2, 0>(rt, g.kw, g.dw, g.ow, bias, yr);
    } else if (g.kw == 3 && g.dw == 1) {
      OutputRow<1, 3>(rt, g.kw, g.dw, g.ow, bias, yr);
    } else if (g.kw == 5 && g.dw == 1) {
      OutputRow<1, 5>(rt, g.kw, g.dw, g.ow, bias, yr);
    } else {
      OutputRow<1, 0>(rt, g.kw, g.dw, g.ow, bias, yr);
    }
    if (!identity) {
      EpilogueRow(e, /*add_bias=*/false, 0.0f, yr, yr,
                  static_cast<size_t>(g.ow));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace cpu
}  // namespace weft
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace weft {
namespace cpu {

HWY_EXPORT(BiasEpilogue);
HWY_EXPORT(Epilogue);
HWY_EXPORT(DepthwisePlane);

void BiasEpilogueF32(const ConvRowEpilogue& e, float bias, float* y,
                     int64_t n) {
  if (n <= 0) return;
  HWY_DYNAMIC_DISPATCH(BiasEpilogue)(e, bias, y, n);
}

void EpilogueF32(const ConvRowEpilogue& e, const float* x, float* y,
                 int64_t n) {
  if (n <= 0) return;
  HWY_DYNAMIC_DISPATCH(Epilogue)(e, x, y, n);
}

bool DepthwisePlaneSupports(const DepthwiseGeometry& g) {
  return g.ih > 0 && g.iw > 0 && g.oh > 0 && g.ow > 0 && g.kh > 0 && g.kw > 0 &&
         g.kh * g.kw <= kMaxDepthwiseTaps && g.sh > 0 &&
         (g.sw == 1 || g.sw == 2) && g.dh > 0 && g.dw > 0 && g.ph >= 0 &&
         g.pw >= 0;
}

int64_t DepthwiseScratchFloats(const DepthwiseGeometry& g) {
  // For the widest target (PaddedWidth grows with the lanes, which are
  // powers of two), whichever one DepthwisePlaneF32 dispatches to.
  return g.ih * detail::PaddedWidth(g, kDepthwiseMaxLanes);
}

void DepthwisePlaneF32(const DepthwiseGeometry& g, const ConvRowEpilogue& e,
                       const float* x, const float* w, float bias, float* y,
                       float* scratch) {
  HWY_DYNAMIC_DISPATCH(DepthwisePlane)(g, e, x, w, bias, y, scratch);
}

}  // namespace cpu
}  // namespace weft
#endif  // HWY_ONCE
