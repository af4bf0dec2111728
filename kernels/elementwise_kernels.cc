// The elementwise family's kernels (ops defined in graph/elementwise_ops.cc):
// the binary ops Add, Sub, Mul, Div, Maximum, Minimum, Pow and Mod (numpy
// broadcasting) and the unary ops Neg, Relu, Abs, Square, Sign, Sigmoid,
// Tanh, Exp, Log, Sqrt, Rsqrt, Erf, Softplus, Floor, Ceil, Round, Sin, Cos,
// Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh and Reciprocal,
// and the fused activations HardSigmoid and HardSwish (one pass each; NaN
// stays NaN). These are the portable defaults; backend_kernels.cc overrides
// some float32/float64 ones on contiguous arrays with Highway.
//
// Integer Add/Sub/Mul/Neg wrap around on overflow (two's complement, like
// numpy) rather than invoking undefined behavior. Integer Div truncates
// toward zero and reports division by zero and INT_MIN / -1 as errors.
// Maximum and Minimum propagate NaN. Integer Abs of the minimum value and
// Square wrap around like Neg and Mul. Integer Pow is exact (repeated
// squaring), wraps like Mul, and reports a negative exponent as an error.
// Mod (fmod=false) takes the sign of the divisor like Python's `%`, for
// floats too; Mod with fmod=true is C's fmod (the sign of the dividend).
// Integer Mod by zero is an error; x mod -1 is 0 (no INT_MIN / -1 overflow).
// Round is std::nearbyint in the default rounding mode: halves to even.
// Sign is -1, 0 or 1; a zero (either sign) and NaN come back unchanged.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/shape_util.h"
#include "kernels/cpu/conv_simd.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

// Error codes returned by the loops (0 = OK). Lower codes win when several
// parallel chunks fail.
constexpr int kDivisionByZero = 1;
constexpr int kDivisionOverflow = 2;
constexpr int kNegativeIntegerExponent = 3;
constexpr int kModuloByZero = 4;

template <typename T>
using Unsigned = std::make_unsigned_t<T>;

template <typename T>
struct AddOp {
  static constexpr bool kCanFail = false;
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<Unsigned<T>>(a) +
                            static_cast<Unsigned<T>>(b));
    } else {
      return a + b;
    }
  }
};

template <typename T>
struct SubOp {
  static constexpr bool kCanFail = false;
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<Unsigned<T>>(a) -
                            static_cast<Unsigned<T>>(b));
    } else {
      return a - b;
    }
  }
};

template <typename T>
struct MulOp {
  static constexpr bool kCanFail = false;
  static T Apply(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<Unsigned<T>>(a) *
                            static_cast<Unsigned<T>>(b));
    } else {
      return a * b;
    }
  }
};

template <typename T>
struct DivOp {
  static constexpr bool kCanFail = std::is_integral_v<T>;
  // Only called for integers, before Apply.
  static int Check(T a, T b) {
    if (b == 0) return kDivisionByZero;
    if (b == -1 && a == std::numeric_limits<T>::min()) {
      return kDivisionOverflow;
    }
    return 0;
  }
  static T Apply(T a, T b) { return a / b; }  // Truncates toward zero.
};

template <typename T>
struct MaximumOp {
  static constexpr bool kCanFail = false;
  // NaN in either operand gives NaN (a != a only for NaN).
  static T Apply(T a, T b) { return (a > b || a != a) ? a : b; }
};

template <typename T>
struct MinimumOp {
  static constexpr bool kCanFail = false;
  // NaN in either operand gives NaN (a != a only for NaN).
  static T Apply(T a, T b) { return (a < b || a != a) ? a : b; }
};

// Floats: std::pow (C's special cases). Integers: exact by repeated
// squaring, wrapping on overflow like Mul (two's complement); a negative
// exponent is an error (the result is not an integer), as in NumPy.
template <typename T>
struct PowOp {
  static constexpr bool kCanFail = std::is_integral_v<T>;
  // Only called for integers, before Apply.
  static int Check(T /*a*/, T b) {
    if constexpr (std::is_signed_v<T>) {
      if (b < 0) return kNegativeIntegerExponent;
    }
    return 0;
  }
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::pow(a, b);
    } else {
      using U = Unsigned<T>;
      U base = static_cast<U>(a), result = 1;
      for (U e = static_cast<U>(b); e != 0; e >>= 1) {
        if (e & 1) result = static_cast<U>(result * base);
        base = static_cast<U>(base * base);
      }
      return static_cast<T>(result);
    }
  }
};

// The remainder with the sign of the divisor (Python's `%`): floats from
// fmod, corrected by one divisor when the signs differ; a zero result takes
// the divisor's sign (0.0 % -5 is -0.0). x % 0 is NaN for floats.
template <typename T>
struct ModOp {
  static constexpr bool kCanFail = std::is_integral_v<T>;
  // Only called for integers, before Apply.
  static int Check(T /*a*/, T b) { return b == 0 ? kModuloByZero : 0; }
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      T r = std::fmod(a, b);
      if (r != T{0}) {
        if ((r < T{0}) != (b < T{0})) r += b;
      } else {
        r = std::copysign(T{0}, b);
      }
      return r;
    } else {
      if (b == -1) return 0;  // INT_MIN % -1 would overflow.
      T r = static_cast<T>(a % b);
      if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    }
  }
};

// The remainder with the sign of the dividend (C's fmod, truncated
// division).
template <typename T>
struct FModOp {
  static constexpr bool kCanFail = std::is_integral_v<T>;
  // Only called for integers, before Apply.
  static int Check(T /*a*/, T b) { return b == 0 ? kModuloByZero : 0; }
  static T Apply(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::fmod(a, b);
    } else {
      if (b == -1) return 0;  // INT_MIN % -1 would overflow.
      return static_cast<T>(a % b);
    }
  }
};

template <typename T>
struct AbsOp {
  static T Apply(T x) {
    if constexpr (std::is_integral_v<T>) {
      // The minimum value wraps to itself (two's complement), like Neg.
      return x < 0
                 ? static_cast<T>(Unsigned<T>{0} - static_cast<Unsigned<T>>(x))
                 : x;
    } else {
      return std::fabs(x);
    }
  }
};

template <typename T>
struct SquareOp {
  static T Apply(T x) { return MulOp<T>::Apply(x, x); }
};

template <typename T>
struct ExpOp {
  static T Apply(T x) { return std::exp(x); }
};

template <typename T>
struct LogOp {
  static T Apply(T x) { return std::log(x); }
};

template <typename T>
struct SqrtOp {
  static T Apply(T x) { return std::sqrt(x); }
};

template <typename T>
struct RsqrtOp {
  static T Apply(T x) { return T{1} / std::sqrt(x); }
};

template <typename T>
struct ErfOp {
  static T Apply(T x) { return std::erf(x); }
};

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exp never overflows.
template <typename T>
struct SoftplusOp {
  static T Apply(T x) {
    return std::max(x, T{0}) + std::log1p(std::exp(-std::abs(x)));
  }
};

template <typename T>
struct NegOp {
  static T Apply(T x) {
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(Unsigned<T>{0} - static_cast<Unsigned<T>>(x));
    } else {
      return -x;
    }
  }
};

template <typename T>
struct ReluOp {
  // NaN stays NaN.
  static T Apply(T x) { return x < T{0} ? T{0} : x; }
};

template <typename T>
struct SigmoidOp {
  static T Apply(T x) {
    // Never exponentiates a large positive number, so no overflow to inf/inf.
    if (x >= T{0}) return T{1} / (T{1} + std::exp(-x));
    const T e = std::exp(x);
    return e / (T{1} + e);
  }
};

template <typename T>
struct TanhOp {
  static T Apply(T x) { return std::tanh(x); }
};

// -1, 0 or 1; zeros (keeping their sign) and NaN pass through.
template <typename T>
struct SignOp {
  static T Apply(T x) { return x > T{0} ? T{1} : (x < T{0} ? T{-1} : x); }
};

template <typename T>
struct FloorOp {
  static T Apply(T x) { return std::floor(x); }
};

template <typename T>
struct CeilOp {
  static T Apply(T x) { return std::ceil(x); }
};

// Halves to even (the default rounding mode), without raising FE_INEXACT.
template <typename T>
struct RoundOp {
  static T Apply(T x) { return std::nearbyint(x); }
};

template <typename T>
struct SinOp {
  static T Apply(T x) { return std::sin(x); }
};

template <typename T>
struct CosOp {
  static T Apply(T x) { return std::cos(x); }
};

template <typename T>
struct TanOp {
  static T Apply(T x) { return std::tan(x); }
};

template <typename T>
struct AsinOp {
  static T Apply(T x) { return std::asin(x); }
};

template <typename T>
struct AcosOp {
  static T Apply(T x) { return std::acos(x); }
};

template <typename T>
struct AtanOp {
  static T Apply(T x) { return std::atan(x); }
};

template <typename T>
struct SinhOp {
  static T Apply(T x) { return std::sinh(x); }
};

template <typename T>
struct CoshOp {
  static T Apply(T x) { return std::cosh(x); }
};

template <typename T>
struct AsinhOp {
  static T Apply(T x) { return std::asinh(x); }
};

template <typename T>
struct AcoshOp {
  static T Apply(T x) { return std::acosh(x); }
};

template <typename T>
struct AtanhOp {
  static T Apply(T x) { return std::atanh(x); }
};

template <typename T>
struct ReciprocalOp {
  static T Apply(T x) { return T{1} / x; }
};

// Applies Op to elements [begin, end) where a(i) and b(i) read the operands.
template <template <typename> class Op, typename T, typename A, typename B>
int BinaryRun(int64_t begin, int64_t end, T* out, const A& a, const B& b) {
  using O = Op<T>;
  if constexpr (O::kCanFail) {
    for (int64_t i = begin; i < end; ++i) {
      const T x = a(i);
      const T y = b(i);
      if (const int e = O::Check(x, y); e != 0) return e;
      out[i] = O::Apply(x, y);
    }
  } else {
    for (int64_t i = begin; i < end; ++i) out[i] = O::Apply(a(i), b(i));
  }
  return 0;
}

// Up to this rank the broadcast plan lives on the stack.
constexpr int kInlineRank = 6;
using Dims = absl::InlinedVector<int64_t, kInlineRank>;

// The general broadcast case as a walk over the output in row-major order.
// Adjacent output dims whose broadcast pattern matches are merged and size-1
// dims dropped, so [2,3]+[3] becomes 2 dims and [4,5,6]+[4,5,6]-like
// patterns collapse to 1.
struct BroadcastPlan {
  Dims dims;       // Collapsed output dims, outermost first.
  Dims a_strides;  // Element strides into a per collapsed dim (0 = repeat).
  Dims b_strides;

  BroadcastPlan(const Shape& a, const Shape& b, const Shape& out) {
    const int rank = out.rank();
    bool prev_a_bcast = false, prev_b_bcast = false;
    for (int i = 0; i < rank; ++i) {
      const int64_t d = out.dim(i);
      if (d == 1) continue;
      const int ia = i - (rank - a.rank());
      const int ib = i - (rank - b.rank());
      const bool a_bcast = ia < 0 || a.dim(ia) == 1;
      const bool b_bcast = ib < 0 || b.dim(ib) == 1;
      if (!dims.empty() && a_bcast == prev_a_bcast && b_bcast == prev_b_bcast) {
        dims.back() *= d;
      } else {
        dims.push_back(d);
        // Temporarily store the broadcast flags; strides are filled below.
        a_strides.push_back(a_bcast ? 0 : 1);
        b_strides.push_back(b_bcast ? 0 : 1);
      }
      prev_a_bcast = a_bcast;
      prev_b_bcast = b_bcast;
    }
    int64_t a_run = 1, b_run = 1;
    for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
      if (a_strides[i] != 0) {
        a_strides[i] = a_run;
        a_run *= dims[i];
      }
      if (b_strides[i] != 0) {
        b_strides[i] = b_run;
        b_run *= dims[i];
      }
    }
  }
};

// Output elements [begin, end) of the general broadcast case. Long (~65
// lines): one hot loop over inner rows, specialised on which operand moves
// along the row (four cases), with the index carried through the outer dims.
template <template <typename> class Op, typename T>
int BroadcastRun(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                 int64_t begin, int64_t end) {
  const int rank = static_cast<int>(plan.dims.size());
  if (rank == 0) {  // Every dim is 1: a single element.
    return BinaryRun<Op>(
        begin, end, out, [a](int64_t) { return a[0]; },
        [b](int64_t) { return b[0]; });
  }
  Dims index(rank, 0);
  int64_t a_off = 0, b_off = 0;
  int64_t rest = begin;
  for (int i = rank - 1; i >= 0; --i) {
    index[i] = rest % plan.dims[i];
    rest /= plan.dims[i];
    a_off += index[i] * plan.a_strides[i];
    b_off += index[i] * plan.b_strides[i];
  }
  const int inner = rank - 1;
  const int64_t inner_dim = plan.dims[inner];
  const int64_t sa = plan.a_strides[inner];
  const int64_t sb = plan.b_strides[inner];
  int64_t pos = begin;
  while (pos < end) {
    const int64_t n = std::min(inner_dim - index[inner], end - pos);
    // The lambdas take the output position; shift it to the operand offset.
    const int64_t da = a_off - pos;
    const int64_t db = b_off - pos;
    int e;
    if (sa != 0 && sb != 0) {
      e = BinaryRun<Op>(
          pos, pos + n, out, [a, da](int64_t i) { return a[da + i]; },
          [b, db](int64_t i) { return b[db + i]; });
    } else if (sa != 0) {
      const T y = b[b_off];
      e = BinaryRun<Op>(
          pos, pos + n, out, [a, da](int64_t i) { return a[da + i]; },
          [y](int64_t) { return y; });
    } else if (sb != 0) {
      const T x = a[a_off];
      e = BinaryRun<Op>(
          pos, pos + n, out, [x](int64_t) { return x; },
          [b, db](int64_t i) { return b[db + i]; });
    } else {
      const T x = a[a_off], y = b[b_off];
      e = BinaryRun<Op>(
          pos, pos + n, out, [x](int64_t) { return x; },
          [y](int64_t) { return y; });
    }
    if (e != 0) return e;
    pos += n;
    if (pos >= end) break;
    // Advance to the next inner row: carry through the outer dims.
    a_off += n * sa;
    b_off += n * sb;
    index[inner] += n;
    for (int i = inner; i > 0 && index[i] == plan.dims[i]; --i) {
      a_off -= plan.dims[i] * plan.a_strides[i];
      b_off -= plan.dims[i] * plan.b_strides[i];
      index[i] = 0;
      ++index[i - 1];
      a_off += plan.a_strides[i - 1];
      b_off += plan.b_strides[i - 1];
    }
  }
  return 0;
}

absl::Status LoopError(int code, DType dtype) {
  if (code == kDivisionByZero) {
    return absl::InvalidArgumentError(
        absl::StrCat("integer division by zero (", DTypeName(dtype), ")"));
  }
  if (code == kModuloByZero) {
    return absl::InvalidArgumentError(
        absl::StrCat("integer modulo by zero (", DTypeName(dtype), ")"));
  }
  if (code == kNegativeIntegerExponent) {
    return absl::InvalidArgumentError(absl::StrCat(
        "integer Pow with a negative exponent (", DTypeName(dtype),
        "): the result is not an integer; Cast both inputs to a float "
        "dtype first"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("integer overflow in division: the minimum ",
                   DTypeName(dtype), " divided by -1 does not fit"));
}

// Long (~68 lines) on purpose: the hot binary kernel keeps its shape cases
// (equal, scalar operand, general broadcast) side by side, each one loop over
// the same local pointers.
template <template <typename> class Op, typename T>
absl::Status BinaryKernel(OpKernelContext& ctx) {
  const NDArray& a = ctx.input(0);
  const NDArray& b = ctx.input(1);
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  constexpr DType kDType = DTypeOf<T>::value;
  if (a.dtype() != kDType || b.dtype() != kDType) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected two ", DTypeName(kDType), " inputs, got ",
                     DTypeName(a.dtype()), " and ", DTypeName(b.dtype())));
  }

  // Output shape. The common cases (equal shapes, a scalar-like operand of
  // no larger rank) skip BroadcastShapes.
  const Shape* out_shape;
  Shape broadcast;
  if (a.shape() == b.shape()) {
    out_shape = &a.shape();
  } else if (a.num_elements() == 1 && a.shape().rank() <= b.shape().rank()) {
    out_shape = &b.shape();
  } else if (b.num_elements() == 1 && b.shape().rank() <= a.shape().rank()) {
    out_shape = &a.shape();
  } else {
    absl::StatusOr<Shape> s = BroadcastShapes(a.shape(), b.shape());
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "incompatible shapes at run time: ", s.status().message()));
    }
    broadcast = *std::move(s);
    out_shape = &broadcast;
  }

  absl::StatusOr<NDArray> allocated = ctx.allocate_output(0, *out_shape);
  if (!allocated.ok()) return allocated.status();
  NDArray out = *std::move(allocated);
  T* po = out.mutable_data<T>();
  const int64_t n = out.num_elements();
  int err;
  if (a.num_elements() == n && b.num_elements() == n) {
    err = ForRange(n, [=](int64_t begin, int64_t end) {
      return BinaryRun<Op>(
          begin, end, po, [pa](int64_t i) { return pa[i]; },
          [pb](int64_t i) { return pb[i]; });
    });
  } else if (a.num_elements() == 1) {
    const T x = pa[0];
    err = ForRange(n, [=](int64_t begin, int64_t end) {
      return BinaryRun<Op>(
          begin, end, po, [x](int64_t) { return x; },
          [pb](int64_t i) { return pb[i]; });
    });
  } else if (b.num_elements() == 1) {
    const T y = pb[0];
    err = ForRange(n, [=](int64_t begin, int64_t end) {
      return BinaryRun<Op>(
          begin, end, po, [pa](int64_t i) { return pa[i]; },
          [y](int64_t) { return y; });
    });
  } else {
    const BroadcastPlan plan(a.shape(), b.shape(), *out_shape);
    err = ForRange(n, [&plan, pa, pb, po](int64_t begin, int64_t end) {
      return BroadcastRun<Op, T>(plan, pa, pb, po, begin, end);
    });
  }
  if (err != 0) return LoopError(err, kDType);
  ctx.set_output(0, std::move(out));
  return absl::OkStatus();
}

template <template <typename> class Op, typename T>
absl::Status UnaryKernel(OpKernelContext& ctx) {
  const NDArray& x = ctx.input(0);
  constexpr DType kDType = DTypeOf<T>::value;
  if (x.dtype() != kDType) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a ", DTypeName(kDType), " input, got ",
                     DTypeName(x.dtype())));
  }
  const T* px = static_cast<const T*>(x.raw_data());
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, x.shape());
  if (!out.ok()) return out.status();
  T* po = out->mutable_data<T>();
  ForRange(x.num_elements(), [px, po](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) po[i] = Op<T>::Apply(px[i]);
    return 0;
  });
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

// Mod reads its optional bool attr "fmod" once, when the plan is compiled,
// and runs the broadcasting binary loop of the matching remainder.
template <typename T>
class ModKernel : public OpKernel {
 public:
  explicit ModKernel(OpKernelConstruction& c) : OpKernel(c) {
    bool fmod = false;
    if (c.node().attrs().contains("fmod")) {
      if (absl::Status s = c.GetAttr("fmod", &fmod); !s.ok()) {
        c.SetStatus(s);
        return;
      }
    }
    fn_ = fmod ? BinaryKernel<FModOp, T> : BinaryKernel<ModOp, T>;
  }
  absl::Status Compute(OpKernelContext& ctx) const override { return fn_(ctx); }

 private:
  KernelFn fn_ = nullptr;
};

// HardSigmoid y = max(0, min(1, alpha * x + beta)) (attrs read once, when
// the plan is compiled) and HardSwish y = x * HardSigmoid(x) with alpha
// 1/6 and beta 0.5, in one pass; float32 by FusedConv's epilogue loop
// (kernels/cpu/conv_simd.h: Highway vectors of the best SIMD target).
template <typename T, bool kSwish>
class HardSigmoidKernel : public OpKernel {
 public:
  explicit HardSigmoidKernel(OpKernelConstruction& c) : OpKernel(c) {
    if constexpr (!kSwish) {
      double alpha = 0, beta = 0;
      if (absl::Status s = c.GetAttr("alpha", &alpha); !s.ok()) {
        c.SetStatus(s);
        return;
      }
      if (absl::Status s = c.GetAttr("beta", &beta); !s.ok()) {
        c.SetStatus(s);
        return;
      }
      alpha_ = static_cast<T>(alpha);
      beta_ = static_cast<T>(beta);
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const T* px = x.values<T>().data();
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, x.shape());
    if (!out.ok()) return out.status();
    T* po = out->template mutable_data<T>();
    const T alpha = alpha_, beta = beta_;
    ForRange(x.num_elements(), [=](int64_t begin, int64_t end) {
      if constexpr (std::is_same_v<T, float>) {
        const cpu::ConvRowEpilogue e{
            .act = kSwish ? cpu::ConvActivation::kHardSwish
                          : cpu::ConvActivation::kHardSigmoid,
            .alpha = alpha,
            .beta = beta};
        cpu::EpilogueF32(e, px + begin, po + begin, end - begin);
      } else {
        for (int64_t i = begin; i < end; ++i) {
          po[i] = HardSigmoidOf<kSwish>(px[i], alpha, beta);
        }
      }
      return 0;
    });
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  T alpha_ = T{1} / T{6};
  T beta_ = T{0.5};
};

// The unary ops for floats only, beyond the ones with Highway overrides.
template <typename T>
void RegisterFloatingMath(KernelRegistry& r) {
  MustRegister(r,
               {.op = "HardSigmoid",
                .dtype = DTypeOf<T>::value,
                .factory = MakeKernelFactory<HardSigmoidKernel<T, false>>()});
  MustRegister(r, {.op = "HardSwish",
                   .dtype = DTypeOf<T>::value,
                   .factory = MakeKernelFactory<HardSigmoidKernel<T, true>>()});
  const DType dt = DTypeOf<T>::value;
  const std::pair<const char*, KernelFn> unary[] = {
      {"Floor", UnaryKernel<FloorOp, T>},
      {"Ceil", UnaryKernel<CeilOp, T>},
      {"Round", UnaryKernel<RoundOp, T>},
      {"Sin", UnaryKernel<SinOp, T>},
      {"Cos", UnaryKernel<CosOp, T>},
      {"Tan", UnaryKernel<TanOp, T>},
      {"Asin", UnaryKernel<AsinOp, T>},
      {"Acos", UnaryKernel<AcosOp, T>},
      {"Atan", UnaryKernel<AtanOp, T>},
      {"Sinh", UnaryKernel<SinhOp, T>},
      {"Cosh", UnaryKernel<CoshOp, T>},
      {"Asinh", UnaryKernel<AsinhOp, T>},
      {"Acosh", UnaryKernel<AcoshOp, T>},
      {"Atanh", UnaryKernel<AtanhOp, T>},
      {"Reciprocal", UnaryKernel<ReciprocalOp, T>}};
  for (const auto& [name, fn] : unary) {
    MustRegister(
        r, {.op = name, .dtype = dt, .factory = FunctionKernelFactory(fn)});
  }
}

// The binary kernels of numeric type T (broadcasting).
template <typename T>
void RegisterBinaryKernels(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  MustRegister(r, {.op = "Add",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(BinaryKernel<AddOp, T>)});
  MustRegister(r, {.op = "Sub",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(BinaryKernel<SubOp, T>)});
  MustRegister(r, {.op = "Mul",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(BinaryKernel<MulOp, T>)});
  MustRegister(r, {.op = "Div",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(BinaryKernel<DivOp, T>)});
  MustRegister(r, {.op = "Pow",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(BinaryKernel<PowOp, T>)});
  MustRegister(r,
               {.op = "Maximum",
                .dtype = dt,
                .factory = FunctionKernelFactory(BinaryKernel<MaximumOp, T>)});
  MustRegister(r,
               {.op = "Minimum",
                .dtype = dt,
                .factory = FunctionKernelFactory(BinaryKernel<MinimumOp, T>)});
  MustRegister(
      r,
      {.op = "Mod", .dtype = dt, .factory = MakeKernelFactory<ModKernel<T>>()});
}

// The unary kernels every numeric type T has.
template <typename T>
void RegisterNumericUnaryKernels(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  MustRegister(r, {.op = "Neg",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(UnaryKernel<NegOp, T>)});
  MustRegister(r, {.op = "Abs",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(UnaryKernel<AbsOp, T>)});
  MustRegister(r, {.op = "Square",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(UnaryKernel<SquareOp, T>)});
  MustRegister(r, {.op = "Relu",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(UnaryKernel<ReluOp, T>)});
  MustRegister(r, {.op = "Sign",
                   .dtype = dt,
                   .factory = FunctionKernelFactory(UnaryKernel<SignOp, T>)});
}

// The unary kernels of floating-point types only (none for integer T).
template <typename T>
void RegisterFloatingPointKernels(KernelRegistry& r) {
  if constexpr (std::is_floating_point_v<T>) {
    const DType dt = DTypeOf<T>::value;
    MustRegister(r,
                 {.op = "Sigmoid",
                  .dtype = dt,
                  .factory = FunctionKernelFactory(UnaryKernel<SigmoidOp, T>)});
    MustRegister(r, {.op = "Tanh",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(UnaryKernel<TanhOp, T>)});
    MustRegister(r, {.op = "Exp",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(UnaryKernel<ExpOp, T>)});
    MustRegister(r, {.op = "Log",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(UnaryKernel<LogOp, T>)});
    MustRegister(r, {.op = "Sqrt",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(UnaryKernel<SqrtOp, T>)});
    MustRegister(r,
                 {.op = "Rsqrt",
                  .dtype = dt,
                  .factory = FunctionKernelFactory(UnaryKernel<RsqrtOp, T>)});
    MustRegister(r, {.op = "Erf",
                     .dtype = dt,
                     .factory = FunctionKernelFactory(UnaryKernel<ErfOp, T>)});
    MustRegister(
        r, {.op = "Softplus",
            .dtype = dt,
            .factory = FunctionKernelFactory(UnaryKernel<SoftplusOp, T>)});
    RegisterFloatingMath<T>(r);
  }
}

// Every elementwise kernel of numeric type T.
template <typename T>
void RegisterNumeric(KernelRegistry& r) {
  RegisterBinaryKernels<T>(r);
  RegisterNumericUnaryKernels<T>(r);
  RegisterFloatingPointKernels<T>(r);
}

}  // namespace

void RegisterElementwiseKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() { RegisterNumeric<T>(registry); });
}

}  // namespace kernels_internal
}  // namespace weft
