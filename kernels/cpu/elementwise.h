// elementwise.h — vectorized elementwise ops and reductions over contiguous
// arrays, compiled once per SIMD target with Google Highway and dispatched
// at run time to the best target the CPU supports (one portable binary uses
// AVX-512 where available, SSE2-only code elsewhere).
//
// Defines the op enums (BinaryOp, UnaryOp), the array routines Binary /
// BinaryScalarLeft / BinaryScalarRight / Unary, the reductions Sum,
// SumToDouble and Max,
// the row-wise Softmax and LogSoftmax over the last axis, and test hooks
// that pin dispatch to one target.
//
//   std::vector<float> x(n), y(n), out(n);
//   absl::Status s = weft::cpu::Binary(weft::cpu::BinaryOp::kAdd, x.data(),
//                                      y.data(), out.data(), n);
//
// Element types: float, double, int32_t, int64_t. Arithmetic on integers
// wraps around (two's complement). Ops that are not defined for a type
// (Div, Pow, Sqrt, Exp, ... on integers; Pow on double) return
// InvalidArgument. `out` may alias an input exactly (in place), not partly.
// Arrays above kElementwiseGrain elements are split into chunks of that size
// over oneTBB; smaller ones run on the calling thread.
//
// Error bounds of the transcendentals (float / double, against the
// correctly rounded result; tested against std:: over a sweep):
//   Exp     <= 1 ULP (double: <= 2 ULP for x > 700); results below the
//           smallest normal may be flushed: absolute error < FLT_MIN/DBL_MIN.
//   Log     <= 4 ULP.            Tanh    <= 4 ULP.
//   Sigmoid <= 4 ULP for results >= the smallest normal.
//   Erf     float: absolute error <= 4e-7 (A&S 7.1.26 for |x| >= 0.5) and
//           <= 2 ULP for |x| < 0.5 (Taylor); double: <= 4 ULP.
//   Pow (float only) <= 1 ULP (computed in double).
//   Sqrt, Rsqrt, Div: correctly rounded / <= 1 ULP (Rsqrt = 1 / sqrt).
// See docs/kernels.md for the constructions.
//
// Thread safety: every routine is reentrant. ForceSimdTargetForTest and
// ResetSimdTargetForTest change process-wide state and must not run
// concurrently with any routine here.
#ifndef WEFT_KERNELS_CPU_ELEMENTWISE_H_
#define WEFT_KERNELS_CPU_ELEMENTWISE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft {
namespace cpu {

// Arrays with more elements than this are split into chunks of this size
// across oneTBB workers.
inline constexpr int64_t kElementwiseGrain = 65536;

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMaximum, kMinimum, kPow };
enum class UnaryOp {
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
  kErf
};

std::string_view BinaryOpName(BinaryOp op);
std::string_view UnaryOpName(UnaryOp op);

// Whether `op` is defined for element type T (one of the four above).
// Integers: Add, Sub, Mul, Maximum, Minimum; Neg, Abs, Relu, Square.
// Maximum/Minimum propagate NaN.
template <typename T>
bool Supports(BinaryOp op);
template <typename T>
bool Supports(UnaryOp op);

// out[i] = x[i] op y[i], for i in [0, n).
template <typename T>
[[nodiscard]] absl::Status Binary(BinaryOp op, const T* x, const T* y, T* out,
                                  int64_t n);
// out[i] = x op y[i].
template <typename T>
[[nodiscard]] absl::Status BinaryScalarLeft(BinaryOp op, T x, const T* y,
                                            T* out, int64_t n);
// out[i] = x[i] op y.
template <typename T>
[[nodiscard]] absl::Status BinaryScalarRight(BinaryOp op, const T* x, T y,
                                             T* out, int64_t n);
// out[i] = op(x[i]).
template <typename T>
[[nodiscard]] absl::Status Unary(UnaryOp op, const T* x, T* out, int64_t n);

// The sum of x[0, n) (0 when n == 0). Floating point sums in fixed chunks,
// so the result does not depend on the thread count; integers wrap.
template <typename T>
[[nodiscard]] absl::StatusOr<T> Sum(const T* x, int64_t n);
// The sum of x[0, n) accumulated in double (0 when n <= 0), on the calling
// thread, for reductions that want more than float accuracy. The order is
// fixed (element i into partial sum i % 16, the partials added in a fixed
// tree), so every SIMD target returns the same bits as
// SumToDoubleReference, the portable loop in that order. Unchecked: `x`
// must hold n elements.
double SumToDouble(const float* x, int64_t n);
double SumToDouble(const double* x, int64_t n);
double SumToDoubleReference(const float* x, int64_t n);
double SumToDoubleReference(const double* x, int64_t n);
// The maximum of x[0, n), NaN if any element is NaN. n must be positive.
template <typename T>
[[nodiscard]] absl::StatusOr<T> Max(const T* x, int64_t n);

// For each of `rows` rows of `cols` elements: out = exp(x - max) /
// sum(exp(x - max)) (Softmax) or x - max - log(sum(exp(x - max)))
// (LogSoftmax). float and double only.
template <typename T>
[[nodiscard]] absl::Status Softmax(const T* x, T* out, int64_t rows,
                                   int64_t cols);
template <typename T>
[[nodiscard]] absl::Status LogSoftmax(const T* x, T* out, int64_t rows,
                                      int64_t cols);

// The SIMD targets compiled into this binary that this CPU supports, best
// first (for example {"AVX3", "AVX2", "SSE4", "SSSE3", "SCALAR"}). The last
// one is the portable baseline.
std::vector<std::string> SimdTargets();
// The target the routines dispatch to now.
std::string CurrentSimdTarget();
// For tests: dispatches every routine to `target` (one of SimdTargets())
// until ResetSimdTargetForTest. Not thread safe (see above).
[[nodiscard]] absl::Status ForceSimdTargetForTest(std::string_view target);
void ResetSimdTargetForTest();

}  // namespace cpu
}  // namespace weft

#endif  // WEFT_KERNELS_CPU_ELEMENTWISE_H_
