// elementwise.cc — Highway implementation of elementwise.h.
//
// This file is compiled once per SIMD target: hwy/foreach_target.h
// re-includes it (HWY_TARGET_INCLUDE) with HWY_NAMESPACE set to N_AVX3,
// N_AVX2, N_SSE4, N_SSSE3 and N_SCALAR (the portable baseline: no -march, so
// SSE2), each region under a
// `#pragma GCC target` for its ISA. The per-target code below uses only
// Highway ops and plain arithmetic: no Abseil, oneTBB or std:: templates, so
// no inline function shared with baseline code is ever instantiated under
// an AVX-512 target (the linker could keep that copy for every caller).
// Validation, chunking over oneTBB and the dispatch live in the HWY_ONCE
// section at the end, compiled once for the baseline.

#include <cstddef>
#include <cstdint>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/elementwise.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must follow foreach_target.h.
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

// Coefficients shared by every target (data only, defined once).
#ifndef WEFT_KERNELS_CPU_ELEMENTWISE_COEFFS_
#define WEFT_KERNELS_CPU_ELEMENTWISE_COEFFS_
namespace weft {
namespace cpu {
namespace detail {

// erf(x) = x * sum_k kErfTaylor[k] * x^(2k), with kErfTaylor[k] =
// 2/sqrt(pi) * (-1)^k / (k! (2k + 1)).
inline constexpr int kErfTaylorTerms = 34;
struct ErfTaylor {
  double c[kErfTaylorTerms];
};
constexpr ErfTaylor MakeErfTaylor() {
  ErfTaylor t{};
  double factorial = 1.0;
  for (int k = 0; k < kErfTaylorTerms; ++k) {
    if (k > 0) factorial *= k;
    const double sign = (k % 2 == 0) ? 1.0 : -1.0;
    t.c[k] = 1.1283791670955126 * sign / (factorial * (2 * k + 1));
  }
  return t;
}
inline constexpr ErfTaylor kErfTaylor = MakeErfTaylor();

// SumToDouble's last step: the 16 partial sums added in a fixed tree.
inline double AddPartials(const double* p) {
  double q[8];
  for (int j = 0; j < 8; ++j) q[j] = p[j] + p[j + 8];
  for (int j = 0; j < 4; ++j) q[j] += q[j + 4];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

}  // namespace detail
}  // namespace cpu
}  // namespace weft
#endif  // WEFT_KERNELS_CPU_ELEMENTWISE_COEFFS_

HWY_BEFORE_NAMESPACE();
namespace weft {
namespace cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Op codes shared with the HWY_ONCE section (the enums' values).
enum : int {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMaximum,
  kMinimum,
  kPow,
};
enum : int {
  kNeg,
  kAbs,
  kRelu,
  kSquare,
  kSqrt,
  kRsqrt,
  kExp,
  kLog,
  kTanh,
  kSigmoid,
  kErf,
};
// Operand layout of a binary op.
enum : int { kBoth, kScalarLeft, kScalarRight };

template <class D>
constexpr bool IsF32() {
  return sizeof(hn::TFromD<D>) == 4;
}

// exp(x) over the whole float range: Highway's Exp is valid up to 104 (f32)
// / 706 (f64); above ln(max) the result is inf, NaN stays NaN, and f64
// arguments above 700 are computed as exp(x - 8) * e^8 (exact subtraction).
template <class D, class V>
HWY_INLINE V SafeExp(D d, V x) {
  using T = hn::TFromD<D>;
  const V max_arg =
      hn::Set(d, IsF32<D>() ? T(88.72283935546875) : T(709.782712893384));
  const V min_arg = hn::Set(d, IsF32<D>() ? T(-104.0) : T(-746.0));
  V xc = hn::Min(hn::Max(x, min_arg), max_arg);
  V y;
  if constexpr (IsF32<D>()) {
    y = hn::Exp(d, xc);
  } else {
    const auto big = hn::Gt(xc, hn::Set(d, T(700.0)));
    xc = hn::IfThenElse(big, hn::Sub(xc, hn::Set(d, T(8.0))), xc);
    y = hn::Exp(d, xc);
    y = hn::IfThenElse(big, hn::Mul(y, hn::Set(d, T(2980.9579870417283))), y);
  }
  y = hn::IfThenElse(hn::Gt(x, max_arg), hn::Inf(d), y);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

// log(x) with IEEE edge cases: log(0) = -inf, log(<0) = NaN, log(inf) = inf,
// NaN stays NaN. Highway's Log is valid on (0, max].
template <class D, class V>
HWY_INLINE V SafeLog(D d, V x) {
  const V zero = hn::Zero(d);
  const V inf = hn::Inf(d);
  const auto valid = hn::And(hn::Gt(x, zero), hn::Lt(x, inf));
  V y = hn::Log(d, hn::IfThenElse(valid, x, hn::Set(d, 1)));
  y = hn::IfThenElse(hn::Eq(x, zero), hn::Neg(inf), y);
  y = hn::IfThenElse(hn::Lt(x, zero), hn::NaN(d), y);
  y = hn::IfThenElse(hn::Eq(x, inf), inf, y);
  return hn::IfThenElse(hn::IsNaN(x), x, y);
}

template <class D, class V>
HWY_INLINE V ErfOf(D d, V x) {
  using T = hn::TFromD<D>;
  const V ax = hn::Abs(x);
  const V x2 = hn::Mul(x, x);
  V result;
  if constexpr (IsF32<D>()) {
    // |x| < 0.5: Taylor series, 8 terms (truncation < 1e-9 relative).
    V p = hn::Set(d, T(detail::kErfTaylor.c[7]));
    for (int k = 6; k >= 0; --k) {
      p = hn::MulAdd(p, x2, hn::Set(d, T(detail::kErfTaylor.c[k])));
    }
    const V small = hn::Mul(x, p);
    // |x| >= 0.5: Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7; clamped at
    // 4, where erf rounds to 1 in float.
    const V a = hn::Min(ax, hn::Set(d, T(4)));
    const V t = hn::Div(hn::Set(d, T(1)),
                        hn::MulAdd(hn::Set(d, T(0.3275911)), a, hn::Set(d, 1)));
    V q = hn::Set(d, T(1.061405429));
    q = hn::MulAdd(q, t, hn::Set(d, T(-1.453152027)));
    q = hn::MulAdd(q, t, hn::Set(d, T(1.421413741)));
    q = hn::MulAdd(q, t, hn::Set(d, T(-0.284496736)));
    q = hn::MulAdd(q, t, hn::Set(d, T(0.254829592)));
    q = hn::Mul(q, t);
    const V e = SafeExp(d, hn::Neg(hn::Mul(a, a)));
    const V large = hn::CopySign(hn::NegMulAdd(q, e, hn::Set(d, T(1))), x);
    result = hn::IfThenElse(hn::Lt(ax, hn::Set(d, T(0.5))), small, large);
  } else {
    // |x| < 2: Taylor series, 34 terms (cancellation costs a few ULP).
    V p = hn::Set(d, T(detail::kErfTaylor.c[detail::kErfTaylorTerms - 1]));
    for (int k = detail::kErfTaylorTerms - 2; k >= 0; --k) {
      p = hn::MulAdd(p, x2, hn::Set(d, T(detail::kErfTaylor.c[k])));
    }
    const V small = hn::Mul(x, p);
    // |x| >= 2: erfc(a) = exp(-a^2) / sqrt(pi) / F(a), with the continued
    // fraction F(a) = a + (1/2) / (a + 1 / (a + (3/2) / (a + ...))) cut
    // after 60 terms; clamped at 6, where erf rounds to 1 in double.
    const V a = hn::Min(hn::Max(ax, hn::Set(d, T(2))), hn::Set(d, T(6)));
    V f = a;
    for (int k = 60; k >= 1; --k) {
      f = hn::Add(a, hn::Div(hn::Set(d, T(0.5 * k)), f));
    }
    const V erfc = hn::Div(hn::Mul(SafeExp(d, hn::Neg(hn::Mul(a, a))),
                                   hn::Set(d, T(0.56418958354775628))),
                           f);
    const V large = hn::CopySign(hn::Sub(hn::Set(d, T(1)), erfc), x);
    result = hn::IfThenElse(hn::Lt(ax, hn::Set(d, T(2))), small, large);
  }
  return hn::IfThenElse(hn::IsNaN(x), x, result);
}

// 1 / (1 + exp(-x)) from one exp(-|x|): for x < 0 the result is e / (1 + e),
// which keeps tiny results accurate instead of rounding 1 + e^-x.
template <class D, class V>
HWY_INLINE V SigmoidOf(D d, V x) {
  const V e = SafeExp(d, hn::Neg(hn::Abs(x)));
  const V s = hn::Div(hn::Set(d, 1), hn::Add(hn::Set(d, 1), e));
  const V r = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(e, s), s);
  return hn::IfThenElse(hn::IsNaN(x), x, r);
}

template <class D, class V>
HWY_INLINE V TanhOf(D d, V x) {
  using T = hn::TFromD<D>;
  // tanh rounds to +-1 well before |x| = 40; the clamp maps +-inf there.
  const V xc = hn::Min(hn::Max(x, hn::Set(d, T(-40))), hn::Set(d, T(40)));
  return hn::IfThenElse(hn::IsNaN(x), x, hn::Tanh(d, xc));
}

// pow(x, y) for double lanes with C's special cases.
template <class D, class V>
HWY_INLINE V PowF64(D d, V x, V y) {
  using T = hn::TFromD<D>;
  const V one = hn::Set(d, T(1));
  const V ax = hn::Abs(x);
  V r = SafeExp(d, hn::Mul(y, SafeLog(d, ax)));
  const auto y_int = hn::Eq(hn::Round(y), y);
  const V half_y = hn::Mul(y, hn::Set(d, T(0.5)));
  const auto y_odd = hn::AndNot(hn::Eq(hn::Round(half_y), half_y), y_int);
  r = hn::IfThenElse(y_odd, hn::CopySign(r, x), r);
  r = hn::IfThenElse(hn::AndNot(y_int, hn::And(hn::And(hn::Lt(x, hn::Zero(d)),
                                                       hn::IsFinite(x)),
                                               hn::IsFinite(y))),
                     hn::NaN(d), r);
  const auto is_one = hn::Or(hn::Or(hn::Eq(y, hn::Zero(d)), hn::Eq(x, one)),
                             hn::And(hn::Eq(ax, one), hn::IsInf(y)));
  return hn::IfThenElse(is_one, one, r);
}

// Binary op functors: operator()(d, a, b) on full and one-lane vectors.
struct AddOp {
  template <class D, class V>
  HWY_INLINE V operator()(D, V a, V b) const {
    return hn::Add(a, b);
  }
};
struct SubOp {
  template <class D, class V>
  HWY_INLINE V operator()(D, V a, V b) const {
    return hn::Sub(a, b);
  }
};
struct MulOp {
  template <class D, class V>
  HWY_INLINE V operator()(D, V a, V b) const {
    return hn::Mul(a, b);
  }
};
struct DivOp {
  template <class D, class V>
  HWY_INLINE V operator()(D, V a, V b) const {
    return hn::Div(a, b);
  }
};
struct MaxOp {
  template <class D, class V>
  HWY_INLINE V operator()(D, V a, V b) const {
    if constexpr (hwy::IsFloat<hn::TFromD<D>>()) {
      return hn::IfThenElse(hn::Or(hn::IsNaN(a), hn::IsNaN(b)), hn::Add(a, b),
                            hn::Max(a, b));
    } else {
      return hn::Max(a, b);
    }
  }
};
struct MinOp {
  template <class D, class V>
  HWY_INLINE V operator()(D, V a, V b) const {
    if constexpr (hwy::IsFloat<hn::TFromD<D>>()) {
      return hn::IfThenElse(hn::Or(hn::IsNaN(a), hn::IsNaN(b)), hn::Add(a, b),
                            hn::Min(a, b));
    } else {
      return hn::Min(a, b);
    }
  }
};

// Applies op over [0, n): full vectors, then one lane at a time.
template <typename T, class Op>
HWY_INLINE void BinaryLoopImpl(const T* x, const T* y, T* out, size_t n,
                               int layout, Op op) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  if (layout == kBoth) {
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(op(d, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, out + i);
    }
  } else if (layout == kScalarLeft) {
    const auto vx = hn::Set(d, x[0]);
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(op(d, vx, hn::LoadU(d, y + i)), d, out + i);
    }
  } else {
    const auto vy = hn::Set(d, y[0]);
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(op(d, hn::LoadU(d, x + i), vy), d, out + i);
    }
  }
  const hn::CappedTag<T, 1> d1;
  for (; i < n; ++i) {
    const auto a =
        layout == kScalarLeft ? hn::Set(d1, x[0]) : hn::LoadU(d1, x + i);
    const auto b =
        layout == kScalarRight ? hn::Set(d1, y[0]) : hn::LoadU(d1, y + i);
    hn::StoreU(op(d1, a, b), d1, out + i);
  }
}

// Demotes double lanes to float; Highway's DemoteTo saturates at FLT_MAX,
// so values that round to infinity (>= FLT_MAX + half an ULP) are fixed up.
template <class DF, class DD, class VD>
HWY_INLINE hn::Vec<DF> DemoteRounded(DF df, DD dd, VD r) {
  const auto overflow = hn::Ge(hn::Abs(r), hn::Set(dd, 3.4028235677973366e38));
  // The mask crosses lane sizes as a demoted 0/1 flag.
  const auto flag =
      hn::DemoteTo(df, hn::IfThenElseZero(overflow, hn::Set(dd, 1.0)));
  const auto f = hn::DemoteTo(df, r);
  return hn::IfThenElse(hn::Eq(flag, hn::Set(df, 1.0f)),
                        hn::CopySign(hn::Inf(df), f), f);
}

// Pow on float arrays, computed in double lanes (half as many per vector).
HWY_INLINE void PowF32Loop(const float* x, const float* y, float* out, size_t n,
                           int layout) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const size_t lanes = hn::Lanes(dd);
  size_t i = 0;
  const auto load = [&](auto dtag, const float* p, bool scalar, size_t at) {
    return scalar ? hn::Set(dtag, p[0]) : hn::LoadU(dtag, p + at);
  };
  for (; i + lanes <= n; i += lanes) {
    const auto a = hn::PromoteTo(dd, load(df, x, layout == kScalarLeft, i));
    const auto b = hn::PromoteTo(dd, load(df, y, layout == kScalarRight, i));
    hn::StoreU(DemoteRounded(df, dd, PowF64(dd, a, b)), df, out + i);
  }
  const hn::CappedTag<double, 1> dd1;
  const hn::Rebind<float, decltype(dd1)> df1;
  for (; i < n; ++i) {
    const auto a = hn::PromoteTo(dd1, load(df1, x, layout == kScalarLeft, i));
    const auto b = hn::PromoteTo(dd1, load(df1, y, layout == kScalarRight, i));
    hn::StoreU(DemoteRounded(df1, dd1, PowF64(dd1, a, b)), df1, out + i);
  }
}

template <typename T>
HWY_INLINE void BinaryT(int op, const T* x, const T* y, T* out, size_t n,
                        int layout) {
  switch (op) {
    case kAdd:
      return BinaryLoopImpl(x, y, out, n, layout, AddOp());
    case kSub:
      return BinaryLoopImpl(x, y, out, n, layout, SubOp());
    case kMul:
      if constexpr (sizeof(T) == 8 && !hwy::IsFloat<T>()) {
        return;  // int64 multiply: done in the baseline section.
      } else {
        return BinaryLoopImpl(x, y, out, n, layout, MulOp());
      }
    case kMaximum:
      return BinaryLoopImpl(x, y, out, n, layout, MaxOp());
    case kMinimum:
      return BinaryLoopImpl(x, y, out, n, layout, MinOp());
    case kDiv:
      if constexpr (hwy::IsFloat<T>()) {
        return BinaryLoopImpl(x, y, out, n, layout, DivOp());
      }
      return;
    case kPow:
      if constexpr (hwy::IsFloat<T>() && sizeof(T) == 4) {
        return PowF32Loop(x, y, out, n, layout);
      }
      return;
  }
}

HWY_NOINLINE void BinaryF32(int op, const float* x, const float* y, float* out,
                            size_t n, int layout) {
  BinaryT(op, x, y, out, n, layout);
}
HWY_NOINLINE void BinaryF64(int op, const double* x, const double* y,
                            double* out, size_t n, int layout) {
  BinaryT(op, x, y, out, n, layout);
}
HWY_NOINLINE void BinaryI32(int op, const int32_t* x, const int32_t* y,
                            int32_t* out, size_t n, int layout) {
  BinaryT(op, x, y, out, n, layout);
}
HWY_NOINLINE void BinaryI64(int op, const int64_t* x, const int64_t* y,
                            int64_t* out, size_t n, int layout) {
  BinaryT(op, x, y, out, n, layout);
}

// Unary op kOp: f(d, v) -> v (one op per instantiation).
template <int kOp>
struct UnaryFn {
  template <class D, class V>
  HWY_INLINE V operator()(D d, V v) const {
    using T = hn::TFromD<D>;
    if constexpr (kOp == kNeg) {
      return hn::Neg(v);
    } else if constexpr (kOp == kAbs) {
      return hn::Abs(v);
    } else if constexpr (kOp == kRelu) {
      return hn::IfThenElse(hn::Lt(v, hn::Zero(d)), hn::Zero(d), v);
    } else if constexpr (kOp == kSquare) {
      if constexpr (sizeof(T) == 8 && !hwy::IsFloat<T>()) {
        return v;  // int64 multiply: done in the baseline section.
      } else {
        return hn::Mul(v, v);
      }
    } else if constexpr (!hwy::IsFloat<T>()) {
      return v;  // float-only ops; rejected before dispatch.
    } else if constexpr (kOp == kSqrt) {
      return hn::Sqrt(v);
    } else if constexpr (kOp == kRsqrt) {
      return hn::Div(hn::Set(d, T(1)), hn::Sqrt(v));
    } else if constexpr (kOp == kExp) {
      return SafeExp(d, v);
    } else if constexpr (kOp == kLog) {
      return SafeLog(d, v);
    } else if constexpr (kOp == kTanh) {
      return TanhOf(d, v);
    } else if constexpr (kOp == kSigmoid) {
      return SigmoidOf(d, v);
    } else {
      return ErfOf(d, v);
    }
  }
};

// Dispatches once on the op, then runs a loop specialized for it.
template <typename T, int kOp>
HWY_INLINE void UnaryLoop(const T* x, T* out, size_t n) {
  const UnaryFn<kOp> fn;
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(fn(d, hn::LoadU(d, x + i)), d, out + i);
  }
  const hn::CappedTag<T, 1> d1;
  for (; i < n; ++i) hn::StoreU(fn(d1, hn::LoadU(d1, x + i)), d1, out + i);
}

template <typename T>
HWY_INLINE void UnaryT(int op, const T* x, T* out, size_t n) {
  switch (op) {
    case kNeg:
      return UnaryLoop<T, kNeg>(x, out, n);
    case kAbs:
      return UnaryLoop<T, kAbs>(x, out, n);
    case kRelu:
      return UnaryLoop<T, kRelu>(x, out, n);
    case kSquare:
      return UnaryLoop<T, kSquare>(x, out, n);
    case kSqrt:
      return UnaryLoop<T, kSqrt>(x, out, n);
    case kRsqrt:
      return UnaryLoop<T, kRsqrt>(x, out, n);
    case kExp:
      return UnaryLoop<T, kExp>(x, out, n);
    case kLog:
      return UnaryLoop<T, kLog>(x, out, n);
    case kTanh:
      return UnaryLoop<T, kTanh>(x, out, n);
    case kSigmoid:
      return UnaryLoop<T, kSigmoid>(x, out, n);
    case kErf:
      return UnaryLoop<T, kErf>(x, out, n);
  }
}

HWY_NOINLINE void UnaryF32(int op, const float* x, float* out, size_t n) {
  UnaryT(op, x, out, n);
}
HWY_NOINLINE void UnaryF64(int op, const double* x, double* out, size_t n) {
  UnaryT(op, x, out, n);
}
HWY_NOINLINE void UnaryI32(int op, const int32_t* x, int32_t* out, size_t n) {
  UnaryT(op, x, out, n);
}
HWY_NOINLINE void UnaryI64(int op, const int64_t* x, int64_t* out, size_t n) {
  UnaryT(op, x, out, n);
}

// The sum of v's lanes. Integers are added lane by lane in the unsigned
// type, so the sum wraps like the vector adds: Highway's AVX-512
// SumOfLanes uses GCC's _mm512_reduce_add_epi32/epi64, whose last step is
// a signed scalar add (undefined on overflow; UBSan reports it).
template <class D, class V>
HWY_INLINE hn::TFromD<D> LaneSum(D d, V v) {
  using T = hn::TFromD<D>;
  if constexpr (hwy::IsFloat<T>()) {
    return hn::GetLane(hn::SumOfLanes(d, v));
  } else {
    using U = hwy::MakeUnsigned<T>;
    HWY_ALIGN T lanes[hn::MaxLanes(d)];
    hn::Store(v, d, lanes);
    U sum = 0;
    for (size_t i = 0; i < hn::Lanes(d); ++i) sum += static_cast<U>(lanes[i]);
    return static_cast<T>(sum);
  }
}

// Sum of x[0, n): four vector accumulators (wrapping for integers).
template <typename T>
HWY_INLINE T SumT(const T* x, size_t n) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    s0 = hn::Add(s0, hn::LoadU(d, x + i));
    s1 = hn::Add(s1, hn::LoadU(d, x + i + lanes));
    s2 = hn::Add(s2, hn::LoadU(d, x + i + 2 * lanes));
    s3 = hn::Add(s3, hn::LoadU(d, x + i + 3 * lanes));
  }
  for (; i + lanes <= n; i += lanes) s0 = hn::Add(s0, hn::LoadU(d, x + i));
  s0 = hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
  const hn::CappedTag<T, 1> d1;
  auto total = hn::Set(d1, LaneSum(d, s0));
  for (; i < n; ++i) total = hn::Add(total, hn::LoadU(d1, x + i));
  return hn::GetLane(total);
}

// The lanes of v that are NaN (none for integers). Not Ne(v, v): Highway's
// Ne is an ordered compare on AVX2/AVX-512 (_CMP_NEQ_OQ), false for NaN.
template <class V>
HWY_INLINE auto NaNLanes(V v) {
  if constexpr (hwy::IsFloat<hn::TFromV<V>>()) {
    return hn::IsNaN(v);
  } else {
    return hn::Ne(v, v);
  }
}

// Max of x[0, n), n > 0; NaN if any lane is NaN.
template <typename T>
HWY_INLINE T MaxT(const T* x, size_t n) {
  const hn::ScalableTag<T> d;
  const hn::CappedTag<T, 1> d1;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  auto m1 = hn::LoadU(d1, x);
  auto nan1 = NaNLanes(m1);
  if (n >= lanes) {
    auto m = hn::LoadU(d, x);
    auto nan = NaNLanes(m);
    for (i = lanes; i + lanes <= n; i += lanes) {
      const auto v = hn::LoadU(d, x + i);
      m = hn::Max(m, v);
      nan = hn::Or(nan, NaNLanes(v));
    }
    if (!hn::AllFalse(d, nan)) return hn::GetLane(hn::NaN(d1));
    m1 = hn::Set(d1, hn::GetLane(hn::MaxOfLanes(d, m)));
  } else {
    i = 1;
  }
  for (; i < n; ++i) {
    const auto v = hn::LoadU(d1, x + i);
    m1 = hn::Max(m1, v);
    nan1 = hn::Or(nan1, NaNLanes(v));
  }
  if (!hn::AllFalse(d1, nan1)) return hn::GetLane(hn::NaN(d1));
  return hn::GetLane(m1);
}

// The sum of x[0, n) in double, in an order every target shares: element i
// goes to partial sum i % 16 (a target of N double lanes keeps them in
// 16 / N vectors), the tail goes to partials 0.. in scalar code, and the
// partials are added in the fixed tree of detail::AddPartials. Results are
// therefore bit-identical on every target and to the portable reference.
template <typename T>
HWY_INLINE double SumToDoubleT(const T* x, size_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<T, decltype(dd)> dt;
  constexpr size_t kLanes = hn::MaxLanes(dd);
  static_assert(16 % kLanes == 0, "16 partial sums must fill whole vectors");
  constexpr size_t kVectors = 16 / kLanes;
  hn::Vec<decltype(dd)> acc[kVectors];
#pragma GCC unroll 16
  for (size_t k = 0; k < kVectors; ++k) acc[k] = hn::Zero(dd);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
#pragma GCC unroll 16
    for (size_t k = 0; k < kVectors; ++k) {
      const auto v = hn::LoadU(dt, x + i + k * kLanes);
      if constexpr (std::is_same_v<T, double>) {
        acc[k] = hn::Add(acc[k], v);
      } else {
        acc[k] = hn::Add(acc[k], hn::PromoteTo(dd, v));
      }
    }
  }
  HWY_ALIGN double partial[16];
#pragma GCC unroll 16
  for (size_t k = 0; k < kVectors; ++k) {
    hn::Store(acc[k], dd, partial + k * kLanes);
  }
  for (size_t t = 0; i < n; ++i, ++t) partial[t] += static_cast<double>(x[i]);
  return detail::AddPartials(partial);
}

HWY_NOINLINE double SumToDoubleF32(const float* x, size_t n) {
  return SumToDoubleT(x, n);
}
HWY_NOINLINE double SumToDoubleF64(const double* x, size_t n) {
  return SumToDoubleT(x, n);
}
HWY_NOINLINE float SumF32(const float* x, size_t n) { return SumT(x, n); }
HWY_NOINLINE double SumF64(const double* x, size_t n) { return SumT(x, n); }
HWY_NOINLINE int32_t SumI32(const int32_t* x, size_t n) { return SumT(x, n); }
HWY_NOINLINE int64_t SumI64(const int64_t* x, size_t n) { return SumT(x, n); }
HWY_NOINLINE float MaxF32(const float* x, size_t n) { return MaxT(x, n); }
HWY_NOINLINE double MaxF64(const double* x, size_t n) { return MaxT(x, n); }
HWY_NOINLINE int32_t MaxI32(const int32_t* x, size_t n) { return MaxT(x, n); }
HWY_NOINLINE int64_t MaxI64(const int64_t* x, size_t n) { return MaxT(x, n); }

// Softmax (log_space false) or LogSoftmax over `rows` rows of `cols` > 0.
template <typename T>
HWY_INLINE void SoftmaxT(const T* x, T* out, size_t rows, size_t cols,
                         bool log_space) {
  const hn::ScalableTag<T> d;
  const hn::CappedTag<T, 1> d1;
  const size_t lanes = hn::Lanes(d);
  for (size_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = out + r * cols;
    const T max = MaxT(xr, cols);
    const auto vmax = hn::Set(d, max);
    const auto vmax1 = hn::Set(d1, max);
    // Sum of exp(x - max); Softmax keeps the exponentials in `out`.
    auto acc = hn::Zero(d);
    auto acc1 = hn::Zero(d1);
    size_t i = 0;
    for (; i + lanes <= cols; i += lanes) {
      const auto e = SafeExp(d, hn::Sub(hn::LoadU(d, xr + i), vmax));
      if (!log_space) hn::StoreU(e, d, yr + i);
      acc = hn::Add(acc, e);
    }
    for (; i < cols; ++i) {
      const auto e = SafeExp(d1, hn::Sub(hn::LoadU(d1, xr + i), vmax1));
      if (!log_space) hn::StoreU(e, d1, yr + i);
      acc1 = hn::Add(acc1, e);
    }
    const auto sum =
        hn::Add(hn::Set(d1, hn::GetLane(hn::SumOfLanes(d, acc))), acc1);
    if (log_space) {
      // out = (x - max) - log(sum): x - max is exact for nearby values.
      const T log_sum = hn::GetLane(SafeLog(d1, sum));
      const auto vl = hn::Set(d, log_sum);
      const auto vl1 = hn::Set(d1, log_sum);
      for (i = 0; i + lanes <= cols; i += lanes) {
        hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d, xr + i), vmax), vl), d, yr + i);
      }
      for (; i < cols; ++i) {
        hn::StoreU(hn::Sub(hn::Sub(hn::LoadU(d1, xr + i), vmax1), vl1), d1,
                   yr + i);
      }
    } else {
      const T inv = hn::GetLane(hn::Div(hn::Set(d1, T(1)), sum));
      const auto vinv = hn::Set(d, inv);
      const auto vinv1 = hn::Set(d1, inv);
      for (i = 0; i + lanes <= cols; i += lanes) {
        hn::StoreU(hn::Mul(hn::LoadU(d, yr + i), vinv), d, yr + i);
      }
      for (; i < cols; ++i) {
        hn::StoreU(hn::Mul(hn::LoadU(d1, yr + i), vinv1), d1, yr + i);
      }
    }
  }
}

HWY_NOINLINE void SoftmaxF32(const float* x, float* out, size_t rows,
                             size_t cols, bool log_space) {
  SoftmaxT(x, out, rows, cols, log_space);
}
HWY_NOINLINE void SoftmaxF64(const double* x, double* out, size_t rows,
                             size_t cols, bool log_space) {
  SoftmaxT(x, out, rows, cols, log_space);
}

// The HWY_TARGET bit this code was compiled for.
HWY_NOINLINE int64_t TargetBit() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace cpu
}  // namespace weft
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/parallel.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"

namespace weft {
namespace cpu {

HWY_EXPORT(BinaryF32);
HWY_EXPORT(BinaryF64);
HWY_EXPORT(BinaryI32);
HWY_EXPORT(BinaryI64);
HWY_EXPORT(UnaryF32);
HWY_EXPORT(UnaryF64);
HWY_EXPORT(UnaryI32);
HWY_EXPORT(UnaryI64);
HWY_EXPORT(SumToDoubleF32);
HWY_EXPORT(SumToDoubleF64);
HWY_EXPORT(SumF32);
HWY_EXPORT(SumF64);
HWY_EXPORT(SumI32);
HWY_EXPORT(SumI64);
HWY_EXPORT(MaxF32);
HWY_EXPORT(MaxF64);
HWY_EXPORT(MaxI32);
HWY_EXPORT(MaxI64);
HWY_EXPORT(SoftmaxF32);
HWY_EXPORT(SoftmaxF64);
HWY_EXPORT(TargetBit);

namespace {

constexpr int kLayoutBoth = 0, kLayoutScalarLeft = 1, kLayoutScalarRight = 2;

const char* TypeName(float) { return "float32"; }
const char* TypeName(double) { return "float64"; }
const char* TypeName(int32_t) { return "int32"; }
const char* TypeName(int64_t) { return "int64"; }

void DispatchBinary(int op, const float* x, const float* y, float* out,
                    size_t n, int layout) {
  HWY_DYNAMIC_DISPATCH(BinaryF32)(op, x, y, out, n, layout);
}
void DispatchBinary(int op, const double* x, const double* y, double* out,
                    size_t n, int layout) {
  HWY_DYNAMIC_DISPATCH(BinaryF64)(op, x, y, out, n, layout);
}
void DispatchBinary(int op, const int32_t* x, const int32_t* y, int32_t* out,
                    size_t n, int layout) {
  HWY_DYNAMIC_DISPATCH(BinaryI32)(op, x, y, out, n, layout);
}
void DispatchBinary(int op, const int64_t* x, const int64_t* y, int64_t* out,
                    size_t n, int layout) {
  if (op == static_cast<int>(BinaryOp::kMul)) {
    // Highway 1.0 has no 64-bit integer multiply on x86: a wrapping loop.
    for (size_t i = 0; i < n; ++i) {
      const uint64_t a =
          static_cast<uint64_t>(layout == kLayoutScalarLeft ? x[0] : x[i]);
      const uint64_t b =
          static_cast<uint64_t>(layout == kLayoutScalarRight ? y[0] : y[i]);
      out[i] = static_cast<int64_t>(a * b);
    }
    return;
  }
  HWY_DYNAMIC_DISPATCH(BinaryI64)(op, x, y, out, n, layout);
}

void DispatchUnary(int op, const float* x, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(UnaryF32)(op, x, out, n);
}
void DispatchUnary(int op, const double* x, double* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(UnaryF64)(op, x, out, n);
}
void DispatchUnary(int op, const int32_t* x, int32_t* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(UnaryI32)(op, x, out, n);
}
void DispatchUnary(int op, const int64_t* x, int64_t* out, size_t n) {
  if (op == static_cast<int>(UnaryOp::kSquare)) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t a = static_cast<uint64_t>(x[i]);
      out[i] = static_cast<int64_t>(a * a);
    }
    return;
  }
  HWY_DYNAMIC_DISPATCH(UnaryI64)(op, x, out, n);
}

float DispatchSum(const float* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(SumF32)(x, n);
}
double DispatchSum(const double* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(SumF64)(x, n);
}
int32_t DispatchSum(const int32_t* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(SumI32)(x, n);
}
int64_t DispatchSum(const int64_t* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(SumI64)(x, n);
}
float DispatchMax(const float* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(MaxF32)(x, n);
}
double DispatchMax(const double* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(MaxF64)(x, n);
}
int32_t DispatchMax(const int32_t* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(MaxI32)(x, n);
}
int64_t DispatchMax(const int64_t* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(MaxI64)(x, n);
}
void DispatchSoftmax(const float* x, float* out, size_t rows, size_t cols,
                     bool log_space) {
  HWY_DYNAMIC_DISPATCH(SoftmaxF32)(x, out, rows, cols, log_space);
}
void DispatchSoftmax(const double* x, double* out, size_t rows, size_t cols,
                     bool log_space) {
  HWY_DYNAMIC_DISPATCH(SoftmaxF64)(x, out, rows, cols, log_space);
}

// Runs body(begin, end) over [0, n) in chunks of kElementwiseGrain: inline
// when there is one chunk, else over oneTBB.
template <typename Body>
void ForChunks(int64_t n, const Body& body) {
  if (n <= kElementwiseGrain) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t chunks = (n + kElementwiseGrain - 1) / kElementwiseGrain;
  InComputeArena([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, chunks),
                      [&](const tbb::blocked_range<int64_t>& r) {
                        const int64_t begin = r.begin() * kElementwiseGrain;
                        const int64_t end =
                            std::min(n, r.end() * kElementwiseGrain);
                        body(begin, end);
                      });
  });
}

template <typename T>
absl::Status CheckArray(std::string_view routine, std::string_view op,
                        bool supported, int64_t n,
                        std::initializer_list<const void*> pointers) {
  if (!supported) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::", routine, ": op ", op, " is not defined for ",
        TypeName(T{}),
        "; cast the operands to float32 or float64 first (integer ops: Add, "
        "Sub, Mul, Maximum, Minimum, Neg, Abs, Relu, Square)"));
  }
  if (n < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::", routine, "(", op, ", ", TypeName(T{}),
        "): negative element count ", n, "; pass the number of elements"));
  }
  if (n > 0) {
    for (const void* p : pointers) {
      if (p == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "weft::cpu::", routine, "(", op, ", ", TypeName(T{}),
            "): null array for ", n, " elements; pass the buffers"));
      }
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status RunBinary(BinaryOp op, const T* x, const T* y, T* out, int64_t n,
                       int layout, std::string_view routine) {
  if (absl::Status s =
          CheckArray<T>(routine, BinaryOpName(op), Supports<T>(op), n,
                        {layout == kLayoutScalarLeft ? out : x,
                         layout == kLayoutScalarRight ? out : y, out});
      !s.ok()) {
    return s;
  }
  ForChunks(n, [&](int64_t begin, int64_t end) {
    DispatchBinary(static_cast<int>(op),
                   layout == kLayoutScalarLeft ? x : x + begin,
                   layout == kLayoutScalarRight ? y : y + begin, out + begin,
                   static_cast<size_t>(end - begin), layout);
  });
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckSoftmax(std::string_view routine, const T* x, T* out,
                          int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::", routine, "<", TypeName(T{}), ">: negative shape [", rows,
        ", ", cols, "]; pass the row count and the last axis' size"));
  }
  if (rows > 0 && cols > 0 && (x == nullptr || out == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::", routine, "<", TypeName(T{}), ">: null array for shape [",
        rows, ", ", cols, "]; pass the buffers"));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status RunSoftmax(const T* x, T* out, int64_t rows, int64_t cols,
                        bool log_space) {
  if (absl::Status s = CheckSoftmax(log_space ? "LogSoftmax" : "Softmax", x,
                                    out, rows, cols);
      !s.ok()) {
    return s;
  }
  if (rows == 0 || cols == 0) return absl::OkStatus();
  const int64_t rows_per_chunk = std::max<int64_t>(1, kElementwiseGrain / cols);
  if (rows <= rows_per_chunk) {
    DispatchSoftmax(x, out, rows, cols, log_space);
    return absl::OkStatus();
  }
  InComputeArena([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, rows_per_chunk),
                      [&](const tbb::blocked_range<int64_t>& r) {
                        DispatchSoftmax(x + r.begin() * cols,
                                        out + r.begin() * cols, r.size(), cols,
                                        log_space);
                      });
  });
  return absl::OkStatus();
}

}  // namespace

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "Add";
    case BinaryOp::kSub:
      return "Sub";
    case BinaryOp::kMul:
      return "Mul";
    case BinaryOp::kDiv:
      return "Div";
    case BinaryOp::kMaximum:
      return "Maximum";
    case BinaryOp::kMinimum:
      return "Minimum";
    case BinaryOp::kPow:
      return "Pow";
  }
  return "?";
}

std::string_view UnaryOpName(UnaryOp op) {
  switch (op) {
    case UnaryOp::kNeg:
      return "Neg";
    case UnaryOp::kAbs:
      return "Abs";
    case UnaryOp::kRelu:
      return "Relu";
    case UnaryOp::kSquare:
      return "Square";
    case UnaryOp::kSqrt:
      return "Sqrt";
    case UnaryOp::kRsqrt:
      return "Rsqrt";
    case UnaryOp::kExp:
      return "Exp";
    case UnaryOp::kLog:
      return "Log";
    case UnaryOp::kTanh:
      return "Tanh";
    case UnaryOp::kSigmoid:
      return "Sigmoid";
    case UnaryOp::kErf:
      return "Erf";
  }
  return "?";
}

template <typename T>
bool Supports(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kMaximum:
    case BinaryOp::kMinimum:
      return true;
    case BinaryOp::kDiv:
      return std::is_floating_point_v<T>;
    case BinaryOp::kPow:
      return std::is_same_v<T, float>;
  }
  return false;
}

template <typename T>
bool Supports(UnaryOp op) {
  switch (op) {
    case UnaryOp::kNeg:
    case UnaryOp::kAbs:
    case UnaryOp::kRelu:
    case UnaryOp::kSquare:
      return true;
    default:
      return std::is_floating_point_v<T>;
  }
}

template <typename T>
absl::Status Binary(BinaryOp op, const T* x, const T* y, T* out, int64_t n) {
  return RunBinary(op, x, y, out, n, kLayoutBoth, "Binary");
}

template <typename T>
absl::Status BinaryScalarLeft(BinaryOp op, T x, const T* y, T* out, int64_t n) {
  return RunBinary(op, &x, y, out, n, kLayoutScalarLeft, "BinaryScalarLeft");
}

template <typename T>
absl::Status BinaryScalarRight(BinaryOp op, const T* x, T y, T* out,
                               int64_t n) {
  return RunBinary(op, x, &y, out, n, kLayoutScalarRight, "BinaryScalarRight");
}

template <typename T>
absl::Status Unary(UnaryOp op, const T* x, T* out, int64_t n) {
  if (absl::Status s =
          CheckArray<T>("Unary", UnaryOpName(op), Supports<T>(op), n, {x, out});
      !s.ok()) {
    return s;
  }
  ForChunks(n, [&](int64_t begin, int64_t end) {
    DispatchUnary(static_cast<int>(op), x + begin, out + begin,
                  static_cast<size_t>(end - begin));
  });
  return absl::OkStatus();
}

template <typename T>
absl::StatusOr<T> Sum(const T* x, int64_t n) {
  if (absl::Status s = CheckArray<T>("Sum", "Sum", true, n, {x}); !s.ok()) {
    return s;
  }
  if (n == 0) return T{0};
  const int64_t chunks = (n + kElementwiseGrain - 1) / kElementwiseGrain;
  std::vector<T> partial(static_cast<size_t>(chunks));
  ForChunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b += kElementwiseGrain) {
      const int64_t e = std::min(end, b + kElementwiseGrain);
      partial[b / kElementwiseGrain] =
          DispatchSum(x + b, static_cast<size_t>(e - b));
    }
  });
  if constexpr (std::is_floating_point_v<T>) {
    T total = 0;
    for (T p : partial) total += p;
    return total;
  } else {
    using U = std::make_unsigned_t<T>;
    U total = 0;
    for (T p : partial) total += static_cast<U>(p);
    return static_cast<T>(total);
  }
}

double SumToDouble(const float* x, int64_t n) {
  return n <= 0
             ? 0.0
             : HWY_DYNAMIC_DISPATCH(SumToDoubleF32)(x, static_cast<size_t>(n));
}
double SumToDouble(const double* x, int64_t n) {
  return n <= 0
             ? 0.0
             : HWY_DYNAMIC_DISPATCH(SumToDoubleF64)(x, static_cast<size_t>(n));
}

double SumToDoubleReference(const float* x, int64_t n) {
  double partial[16] = {};
  for (int64_t i = 0; i < n; ++i) partial[i % 16] += static_cast<double>(x[i]);
  return detail::AddPartials(partial);
}
double SumToDoubleReference(const double* x, int64_t n) {
  double partial[16] = {};
  for (int64_t i = 0; i < n; ++i) partial[i % 16] += x[i];
  return detail::AddPartials(partial);
}

template <typename T>
absl::StatusOr<T> Max(const T* x, int64_t n) {
  if (n == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft::cpu::Max(", TypeName(T{}),
        "): the maximum of an empty array is undefined; check n > 0 first"));
  }
  if (absl::Status s = CheckArray<T>("Max", "Max", true, n, {x}); !s.ok()) {
    return s;
  }
  const int64_t chunks = (n + kElementwiseGrain - 1) / kElementwiseGrain;
  std::vector<T> partial(static_cast<size_t>(chunks));
  ForChunks(n, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b += kElementwiseGrain) {
      const int64_t e = std::min(end, b + kElementwiseGrain);
      partial[b / kElementwiseGrain] =
          DispatchMax(x + b, static_cast<size_t>(e - b));
    }
  });
  return DispatchMax(partial.data(), partial.size());
}

template <typename T>
absl::Status Softmax(const T* x, T* out, int64_t rows, int64_t cols) {
  return RunSoftmax(x, out, rows, cols, /*log_space=*/false);
}

template <typename T>
absl::Status LogSoftmax(const T* x, T* out, int64_t rows, int64_t cols) {
  return RunSoftmax(x, out, rows, cols, /*log_space=*/true);
}

#define WEFT_CPU_INSTANTIATE(T)                                               \
  template bool Supports<T>(BinaryOp);                                        \
  template bool Supports<T>(UnaryOp);                                         \
  template absl::Status Binary<T>(BinaryOp, const T*, const T*, T*, int64_t); \
  template absl::Status BinaryScalarLeft<T>(BinaryOp, T, const T*, T*,        \
                                            int64_t);                         \
  template absl::Status BinaryScalarRight<T>(BinaryOp, const T*, T, T*,       \
                                             int64_t);                        \
  template absl::Status Unary<T>(UnaryOp, const T*, T*, int64_t);             \
  template absl::StatusOr<T> Sum<T>(const T*, int64_t);                       \
  template absl::StatusOr<T> Max<T>(const T*, int64_t);
WEFT_CPU_INSTANTIATE(float)
WEFT_CPU_INSTANTIATE(double)
WEFT_CPU_INSTANTIATE(int32_t)
WEFT_CPU_INSTANTIATE(int64_t)
#undef WEFT_CPU_INSTANTIATE
template absl::Status Softmax<float>(const float*, float*, int64_t, int64_t);
template absl::Status Softmax<double>(const double*, double*, int64_t, int64_t);
template absl::Status LogSoftmax<float>(const float*, float*, int64_t, int64_t);
template absl::Status LogSoftmax<double>(const double*, double*, int64_t,
                                         int64_t);

std::vector<std::string> SimdTargets() {
  std::vector<std::string> names;
  for (int64_t bit : hwy::SupportedAndGeneratedTargets()) {
    names.emplace_back(hwy::TargetName(bit));
  }
  return names;
}

std::string CurrentSimdTarget() {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetBit)());
}

absl::Status ForceSimdTargetForTest(std::string_view target) {
  ResetSimdTargetForTest();
  for (int64_t bit : hwy::SupportedAndGeneratedTargets()) {
    if (target == hwy::TargetName(bit)) {
      hwy::SetSupportedTargetsForTest(bit);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "weft::cpu::ForceSimdTargetForTest: SIMD target '", target,
      "' is not compiled in or not supported by this CPU; pick one of "
      "SimdTargets()"));
}

void ResetSimdTargetForTest() { hwy::SetSupportedTargetsForTest(0); }

}  // namespace cpu
}  // namespace weft
#endif  // HWY_ONCE
