// Tests of kernels/cpu/elementwise.h: hand-computed values, every op on
// every compiled SIMD target against scalar std:: references (exact for the
// arithmetic ops, within the documented ULP bounds for transcendentals over
// a wide sweep with 0, negatives, inf, NaN, huge and tiny values), the
// agreement of the dispatched target with the portable baseline, integer
// wrap-around, reductions, Softmax/LogSoftmax and the error messages.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/elementwise.h"

namespace weft {
namespace cpu {
namespace {

using ::testing::HasSubstr;

// Restores normal dispatch when a test ends.
class TargetGuard {
 public:
  ~TargetGuard() { ResetSimdTargetForTest(); }
};

template <typename T>
bool SameValue(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  }
  return a == b;
}

// Distance in units in the last place between two finite or infinite
// values of the same sign convention (monotone integer mapping).
template <typename T>
int64_t UlpDistance(T a, T b) {
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  auto ordered = [](T v) {
    I i;
    std::memcpy(&i, &v, sizeof(v));
    return i < 0 ? static_cast<int64_t>(std::numeric_limits<I>::min()) - i
                 : static_cast<int64_t>(i);
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// Checks `got` against the reference within `ulps`; results the reference
// puts below the smallest normal may be off by that much absolutely.
template <typename T>
::testing::AssertionResult Within(T x, T got, long double ref, int64_t ulps,
                                  double abs_tolerance = 0) {
  const T want = static_cast<T>(ref);
  if (std::isnan(want)) {
    if (std::isnan(got)) return ::testing::AssertionSuccess();
  } else if (std::isinf(want)) {
    if (got == want) return ::testing::AssertionSuccess();
  } else if (std::fabs(want) < std::numeric_limits<T>::min()) {
    if (std::fabs(static_cast<long double>(got) - ref) <=
        std::numeric_limits<T>::min())
      return ::testing::AssertionSuccess();
  } else if (!std::isnan(got) && !std::isinf(got) &&
             (UlpDistance(got, want) <= ulps ||
              (abs_tolerance > 0 && std::fabs(static_cast<long double>(got) -
                                              ref) <= abs_tolerance))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "x=" << static_cast<double>(x) << " got "
         << static_cast<double>(got) << " want " << static_cast<double>(want)
         << " ("
         << (std::isfinite(got) && std::isfinite(want) ? UlpDistance(got, want)
                                                       : -1)
         << " ulp, bound " << ulps << ")";
}

// Inputs for transcendentals: specials, a dense linear sweep of [-12, 12],
// and +-2^e for e over the whole exponent range.
template <typename T>
std::vector<T> Sweep() {
  using L = std::numeric_limits<T>;
  std::vector<T> v = {T(0),          -T(0),           T(1),           T(-1),
                      L::infinity(), -L::infinity(),  L::quiet_NaN(), L::min(),
                      -L::min(),     L::denorm_min(), L::max(),       -L::max(),
                      L::epsilon(),  T(0.5),          T(-0.5),        T(88.72),
                      T(88.73),      T(-87.5),        T(-103.5),      T(-104.5),
                      T(-120),       T(709.7),        T(709.8),       T(-745.5),
                      T(2),          T(-2),           T(6),           T(4)};
  for (int i = -1200; i <= 1200; ++i) v.push_back(T(i) / T(100));
  const int min_exp = L::min_exponent - L::digits, max_exp = L::max_exponent;
  for (double e = min_exp; e < max_exp; e += 0.37) {
    v.push_back(static_cast<T>(std::exp2(e)));
    v.push_back(static_cast<T>(-std::exp2(e)));
  }
  return v;
}

struct UnaryCase {
  UnaryOp op;
  int64_t float_ulps, double_ulps;
};

long double Reference(UnaryOp op, long double x) {
  switch (op) {
    case UnaryOp::kExp:
      return std::exp(x);
    case UnaryOp::kLog:
      return std::log(x);
    case UnaryOp::kTanh:
      return std::tanh(x);
    case UnaryOp::kSigmoid:
      return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
    case UnaryOp::kErf:
      return std::erf(x);
    case UnaryOp::kSqrt:
      return std::sqrt(x);
    default:
      return 0;
  }
}

template <typename T>
void CheckTranscendentals(const std::string& target) {
  SCOPED_TRACE(target);
  const std::vector<T> x = Sweep<T>();
  std::vector<T> y(x.size());
  const bool f32 = std::is_same_v<T, float>;
  for (UnaryCase c :
       {UnaryCase{UnaryOp::kExp, 1, 2}, UnaryCase{UnaryOp::kLog, 4, 4},
        UnaryCase{UnaryOp::kTanh, 4, 4}, UnaryCase{UnaryOp::kSigmoid, 4, 4},
        UnaryCase{UnaryOp::kErf, 2, 4}}) {
    SCOPED_TRACE(std::string(UnaryOpName(c.op)));
    ASSERT_TRUE(Unary(c.op, x.data(), y.data(), x.size()).ok());
    int failures = 0;
    int64_t max_ulps = 0;
    long double max_abs = 0;
    for (size_t i = 0; i < x.size() && failures < 5; ++i) {
      const long double ref = Reference(c.op, x[i]);
      const T want = static_cast<T>(ref);
      if (std::isfinite(want) && std::isfinite(y[i])) {
        max_abs = std::max(max_abs, std::fabs(y[i] - ref));
        if (std::fabs(want) >= std::numeric_limits<T>::min()) {
          max_ulps = std::max(max_ulps, UlpDistance(y[i], want));
        }
      }
      // float Erf for |x| >= 0.5: absolute error <= 4e-7 (A&S 7.1.26).
      const double abs_tol =
          (c.op == UnaryOp::kErf && f32 && std::fabs(x[i]) >= 0.5) ? 4e-7 : 0;
      auto r = Within<T>(x[i], y[i], ref, f32 ? c.float_ulps : c.double_ulps,
                         abs_tol);
      if (!r) {
        ++failures;
        ADD_FAILURE() << r.message();
      }
    }
    // Measured errors, for docs/kernels.md.
    std::cout << target << " " << (f32 ? "float32 " : "float64 ")
              << UnaryOpName(c.op) << ": max " << max_ulps
              << " ULP (normal results), max abs error "
              << static_cast<double>(max_abs) << "\n";
  }
}

TEST(Elementwise, TargetsListTheBaselineAndCanBeForced) {
  TargetGuard guard;
  const std::vector<std::string> targets = SimdTargets();
  ASSERT_FALSE(targets.empty());
  std::cout << "SIMD targets:";
  for (const std::string& t : targets) std::cout << " " << t;
  std::cout << "\n";
  EXPECT_EQ(CurrentSimdTarget(), targets.front());
  for (const std::string& t : targets) {
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok()) << t;
    EXPECT_EQ(CurrentSimdTarget(), t);
  }
  ResetSimdTargetForTest();
  EXPECT_EQ(CurrentSimdTarget(), targets.front());
  absl::Status s = ForceSimdTargetForTest("NEON9000");
  EXPECT_THAT(s.message(),
              HasSubstr("SIMD target 'NEON9000' is not compiled in or not "
                        "supported by this CPU; pick one of SimdTargets()"));
}

TEST(Elementwise, HandComputedValues) {
  const float x[] = {1, 2, 3}, y[] = {4, 5, 6};
  float out[3];
  ASSERT_TRUE(Binary(BinaryOp::kAdd, x, y, out, 3).ok());
  EXPECT_THAT(out, ::testing::ElementsAre(5, 7, 9));
  ASSERT_TRUE(BinaryScalarLeft(BinaryOp::kSub, 10.0f, y, out, 3).ok());
  EXPECT_THAT(out, ::testing::ElementsAre(6, 5, 4));
  ASSERT_TRUE(BinaryScalarRight(BinaryOp::kDiv, y, 2.0f, out, 3).ok());
  EXPECT_THAT(out, ::testing::ElementsAre(2, 2.5, 3));
  ASSERT_TRUE(BinaryScalarRight(BinaryOp::kPow, x, 2.0f, out, 3).ok());
  EXPECT_THAT(out, ::testing::ElementsAre(1, 4, 9));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float m[] = {nan, -1, 7};
  ASSERT_TRUE(BinaryScalarRight(BinaryOp::kMaximum, m, 0.0f, out, 3).ok());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], 7);
  ASSERT_TRUE(Unary(UnaryOp::kRelu, m, out, 3).ok());
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 0);
  const double d[] = {0, 1, 4};
  double dout[3];
  ASSERT_TRUE(Unary(UnaryOp::kSqrt, d, dout, 3).ok());
  EXPECT_THAT(dout, ::testing::ElementsAre(0, 1, 2));
  ASSERT_TRUE(Unary(UnaryOp::kExp, d, dout, 3).ok());
  EXPECT_EQ(dout[0], 1.0);
  EXPECT_NEAR(dout[1], 2.718281828459045, 1e-15);
  // erf(1) = 0.8427007929497149, sigmoid(0) = 0.5, tanh(0) = 0.
  ASSERT_TRUE(Unary(UnaryOp::kErf, d + 1, dout, 1).ok());
  EXPECT_NEAR(dout[0], 0.8427007929497149, 1e-15);
  ASSERT_TRUE(Unary(UnaryOp::kSigmoid, d, dout, 1).ok());
  EXPECT_EQ(dout[0], 0.5);
}

TEST(Elementwise, IntegerArithmeticWrapsAround) {
  const int32_t imax = std::numeric_limits<int32_t>::max();
  const int32_t imin = std::numeric_limits<int32_t>::min();
  const int32_t x[] = {imax, imin, 3, -7};
  int32_t out[4];
  ASSERT_TRUE(BinaryScalarRight(BinaryOp::kAdd, x, 1, out, 4).ok());
  EXPECT_THAT(out, ::testing::ElementsAre(imin, imin + 1, 4, -6));
  ASSERT_TRUE(Unary(UnaryOp::kNeg, x, out, 4).ok());
  EXPECT_THAT(out, ::testing::ElementsAre(-imax, imin, -3, 7));
  ASSERT_TRUE(Unary(UnaryOp::kSquare, x, out, 4).ok());
  EXPECT_EQ(out[0], 1);  // (2^31 - 1)^2 = 1 mod 2^32
  EXPECT_EQ(out[3], 49);
  const int64_t lmax = std::numeric_limits<int64_t>::max();
  const int64_t l[] = {lmax, -3};
  int64_t lout[2];
  ASSERT_TRUE(BinaryScalarLeft(BinaryOp::kMul, int64_t{2}, l, lout, 2).ok());
  EXPECT_THAT(lout, ::testing::ElementsAre(-2, -6));
  ASSERT_TRUE(Unary(UnaryOp::kRelu, l, lout, 2).ok());
  EXPECT_THAT(lout, ::testing::ElementsAre(lmax, 0));
}

template <typename T>
T ReferenceBinary(BinaryOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    const U ua = static_cast<U>(a), ub = static_cast<U>(b);
    switch (op) {
      case BinaryOp::kAdd:
        return static_cast<T>(ua + ub);
      case BinaryOp::kSub:
        return static_cast<T>(ua - ub);
      case BinaryOp::kMul:
        return static_cast<T>(ua * ub);
      case BinaryOp::kMaximum:
        return std::max(a, b);
      case BinaryOp::kMinimum:
        return std::min(a, b);
      default:
        return 0;
    }
  } else {
    switch (op) {
      case BinaryOp::kAdd:
        return a + b;
      case BinaryOp::kSub:
        return a - b;
      case BinaryOp::kMul:
        return a * b;
      case BinaryOp::kDiv:
        return a / b;
      case BinaryOp::kMaximum:
        return std::isnan(a) || std::isnan(b) ? a + b : std::max(a, b);
      case BinaryOp::kMinimum:
        return std::isnan(a) || std::isnan(b) ? a + b : std::min(a, b);
      case BinaryOp::kPow:
        return static_cast<T>(
            std::pow(static_cast<double>(a), static_cast<double>(b)));
    }
    return 0;
  }
}

template <typename T>
T ReferenceUnary(UnaryOp op, T a) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    const U ua = static_cast<U>(a);
    switch (op) {
      case UnaryOp::kNeg:
        return static_cast<T>(U{0} - ua);
      case UnaryOp::kAbs:
        return a < 0 ? static_cast<T>(U{0} - ua) : a;
      case UnaryOp::kRelu:
        return a < 0 ? 0 : a;
      case UnaryOp::kSquare:
        return static_cast<T>(ua * ua);
      default:
        return 0;
    }
  } else {
    switch (op) {
      case UnaryOp::kNeg:
        return -a;
      case UnaryOp::kAbs:
        return std::fabs(a);
      case UnaryOp::kRelu:
        return a < 0 ? T(0) : a;
      case UnaryOp::kSquare:
        return a * a;
      case UnaryOp::kSqrt:
        return std::sqrt(a);
      case UnaryOp::kRsqrt:
        return T(1) / std::sqrt(a);
      default:
        return 0;
    }
  }
}

template <typename T>
std::vector<T> RandomArray(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(n);
  if constexpr (std::is_integral_v<T>) {
    for (T& x : v) x = static_cast<T>(rng());
    // Small values too, so Maximum/Minimum/Relu see both signs near 0.
    for (size_t i = 0; i < n; i += 3) v[i] = static_cast<T>(rng() % 21) - 10;
  } else {
    std::uniform_real_distribution<T> dist(-10, 10);
    for (T& x : v) x = dist(rng);
    const T specials[] = {T(0),
                          -T(0),
                          std::numeric_limits<T>::infinity(),
                          -std::numeric_limits<T>::infinity(),
                          std::numeric_limits<T>::quiet_NaN(),
                          T(1),
                          T(-1),
                          T(2),
                          T(0.5)};
    for (size_t i = 0; i < n; i += 7) v[i] = specials[(i / 7) % 9];
  }
  return v;
}

// Every arithmetic op, all three operand layouts, sizes with tails and
// one size split over oneTBB: exact agreement with the scalar reference
// (Pow: 1 ULP), on one target.
template <typename T>
void CheckExactOps(const std::string& target, bool large) {
  SCOPED_TRACE(target);
  std::vector<size_t> sizes = {1, 3, 15, 17, 33, 1001};
  // Over kElementwiseGrain: split over oneTBB (on the best target only, to
  // keep the test fast under the sanitizers).
  if (large) sizes.push_back(kElementwiseGrain * 2 + 5);
  for (size_t n : sizes) {
    SCOPED_TRACE(::testing::Message() << "n=" << n);
    const std::vector<T> x = RandomArray<T>(n, static_cast<uint32_t>(n));
    std::vector<T> y = RandomArray<T>(n, static_cast<uint32_t>(n) + 1);
    if constexpr (std::is_same_v<T, float>) {
      // Pow's interesting cases: integral exponents, both signs of base.
      for (size_t i = 1; i < n; i += 2) y[i] = std::round(y[i]);
    }
    std::vector<T> out(n);
    for (BinaryOp op :
         {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv,
          BinaryOp::kMaximum, BinaryOp::kMinimum, BinaryOp::kPow}) {
      if (!Supports<T>(op)) continue;
      SCOPED_TRACE(std::string(BinaryOpName(op)));
      const int64_t ulps = op == BinaryOp::kPow ? 1 : 0;
      auto check = [&](int layout) {
        for (size_t i = 0; i < n; ++i) {
          const T a = layout == 1 ? x[0] : x[i];
          const T b = layout == 2 ? y[0] : y[i];
          const T want = ReferenceBinary(op, a, b);
          bool ok = SameValue(out[i], want);
          if constexpr (std::is_floating_point_v<T>) {
            if (!ok && ulps > 0 && std::isfinite(want) &&
                std::isfinite(out[i])) {
              ok = UlpDistance(out[i], want) <= ulps;
            }
          }
          if (!ok) {
            ADD_FAILURE() << "layout " << layout << " at " << i << ": " << +a
                          << " op " << +b << " = " << +out[i] << ", want "
                          << +want;
            return;
          }
        }
      };
      ASSERT_TRUE(Binary(op, x.data(), y.data(), out.data(), n).ok());
      check(0);
      ASSERT_TRUE(BinaryScalarLeft(op, x[0], y.data(), out.data(), n).ok());
      check(1);
      ASSERT_TRUE(BinaryScalarRight(op, x.data(), y[0], out.data(), n).ok());
      check(2);
    }
    for (UnaryOp op : {UnaryOp::kNeg, UnaryOp::kAbs, UnaryOp::kRelu,
                       UnaryOp::kSquare, UnaryOp::kSqrt, UnaryOp::kRsqrt}) {
      if (!Supports<T>(op)) continue;
      SCOPED_TRACE(std::string(UnaryOpName(op)));
      ASSERT_TRUE(Unary(op, x.data(), out.data(), n).ok());
      for (size_t i = 0; i < n; ++i) {
        const T want = ReferenceUnary(op, x[i]);
        ASSERT_TRUE(SameValue(out[i], want))
            << "at " << i << ": op(" << +x[i] << ") = " << +out[i] << ", want "
            << +want;
      }
    }
    // In place.
    std::vector<T> z = x;
    ASSERT_TRUE(Binary(BinaryOp::kAdd, z.data(), y.data(), z.data(), n).ok());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(SameValue(z[i], ReferenceBinary(BinaryOp::kAdd, x[i], y[i])));
    }
  }
}

TEST(Elementwise, ArithmeticIsExactOnEveryTarget) {
  TargetGuard guard;
  const std::vector<std::string> targets = SimdTargets();
  for (const std::string& t : targets) {
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    const bool large = t == targets.front();
    CheckExactOps<float>(t, large);
    CheckExactOps<double>(t, large);
    CheckExactOps<int32_t>(t, large);
    CheckExactOps<int64_t>(t, large);
  }
}

TEST(Elementwise, PowSpecialCasesFollowC) {
  TargetGuard guard;
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> v = {0,    -0.0f, 1,      -1,    0.5f,  -0.5f,
                                2,    -2,    3,      -3,    2.5f,  inf,
                                -inf, nan,   1e-30f, 1e30f, -1e30f};
  std::vector<float> x, y;
  for (float a : v) {
    for (float b : v) {
      x.push_back(a);
      y.push_back(b);
    }
  }
  std::vector<float> out(x.size());
  for (const std::string& t : SimdTargets()) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    ASSERT_TRUE(
        Binary(BinaryOp::kPow, x.data(), y.data(), out.data(), x.size()).ok());
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = std::pow(x[i], y[i]);
      EXPECT_TRUE(SameValue(out[i], want) ||
                  (std::isfinite(want) && UlpDistance(out[i], want) <= 1))
          << "pow(" << x[i] << ", " << y[i] << ") = " << out[i] << ", want "
          << want;
      if (want == 0 && out[i] == 0) {
        EXPECT_EQ(std::signbit(out[i]), std::signbit(want))
            << "pow(" << x[i] << ", " << y[i] << ")";
      }
    }
  }
}

TEST(Elementwise, TranscendentalsWithinBoundsOnEveryTarget) {
  TargetGuard guard;
  for (const std::string& t : SimdTargets()) {
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    CheckTranscendentals<float>(t);
    CheckTranscendentals<double>(t);
  }
}

template <typename T>
void CheckDispatchedMatchesBaseline() {
  const std::vector<std::string> targets = SimdTargets();
  const std::vector<T> x = Sweep<T>();
  for (UnaryOp op : {UnaryOp::kExp, UnaryOp::kLog, UnaryOp::kTanh,
                     UnaryOp::kSigmoid, UnaryOp::kErf, UnaryOp::kRsqrt}) {
    SCOPED_TRACE(std::string(UnaryOpName(op)));
    std::vector<T> best(x.size()), base(x.size());
    ASSERT_TRUE(ForceSimdTargetForTest(targets.front()).ok());
    ASSERT_TRUE(Unary(op, x.data(), best.data(), x.size()).ok());
    ASSERT_TRUE(ForceSimdTargetForTest(targets.back()).ok());
    ASSERT_TRUE(Unary(op, x.data(), base.data(), x.size()).ok());
    for (size_t i = 0; i < x.size(); ++i) {
      // FMA on the best target, separate multiply and add on the baseline.
      ASSERT_TRUE(SameValue(best[i], base[i]) ||
                  (std::isfinite(best[i]) && std::isfinite(base[i]) &&
                   (UlpDistance(best[i], base[i]) <= 8 ||
                    std::fabs(best[i] - base[i]) <= 4e-7)))
          << "x=" << x[i] << ": " << targets.front() << " " << best[i] << " vs "
          << targets.back() << " " << base[i];
    }
  }
}

TEST(Elementwise, DispatchedTargetAgreesWithBaseline) {
  TargetGuard guard;
  CheckDispatchedMatchesBaseline<float>();
  CheckDispatchedMatchesBaseline<double>();
}

TEST(Reduce, SumAndMax) {
  const float x[] = {1, -2, 3.5f, 0.25f};
  EXPECT_EQ(*Sum(x, 4), 2.75f);
  EXPECT_EQ(*Max(x, 4), 3.5f);
  EXPECT_EQ(*Sum(x, 0), 0.0f);
  const int32_t big[] = {std::numeric_limits<int32_t>::max(), 1};
  EXPECT_EQ(*Sum(big, 2), std::numeric_limits<int32_t>::min());
  const double nan[] = {1, std::numeric_limits<double>::quiet_NaN(), 3};
  EXPECT_TRUE(std::isnan(*Max(nan, 3)));
  absl::StatusOr<int64_t> empty = Max(static_cast<const int64_t*>(nullptr), 0);
  EXPECT_THAT(empty.status().message(),
              HasSubstr("weft::cpu::Max(int64): the maximum of an empty array "
                        "is undefined"));
}

TEST(Reduce, LargeSumsAreDeterministicAndAccurate) {
  TargetGuard guard;
  const size_t n = 1000003;
  std::vector<float> x(n);
  std::vector<int64_t> xi(n);
  std::vector<int32_t> xs(n);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(0, 1);
  double want = 0;
  float want_max = -1;
  uint64_t want_i = 0;
  uint32_t want_s = 0;
  for (size_t i = 0; i < n; ++i) {
    x[i] = dist(rng);
    want += x[i];
    want_max = std::max(want_max, x[i]);
    xi[i] = static_cast<int64_t>(rng()) << 32;
    want_i += static_cast<uint64_t>(xi[i]);
    xs[i] = static_cast<int32_t>(rng());
    want_s += static_cast<uint32_t>(xs[i]);
  }
  for (const std::string& t : SimdTargets()) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    const float s1 = *Sum(x.data(), n);
    EXPECT_NEAR(s1, want, want * 1e-5);
    EXPECT_EQ(*Sum(x.data(), n), s1);
    EXPECT_EQ(*Max(x.data(), n), want_max);
    // Integer sums wrap around (two's complement), also in the last
    // reduction of the lanes (UBSan checks it on AVX-512).
    EXPECT_EQ(*Sum(xi.data(), n), static_cast<int64_t>(want_i));
    EXPECT_EQ(*Sum(xs.data(), n), static_cast<int32_t>(want_s));
  }
}

// A NaN anywhere (first lane, vector body, scalar tail) makes Max NaN on
// every target; Highway's Ne(v, v) is false for NaN on AVX2, so this needs
// IsNaN (a regression test: the vector body once ignored NaN).
TEST(Reduce, MaxIsNaNWhereverTheNaNIs) {
  TargetGuard guard;
  for (const std::string& t : SimdTargets()) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    for (size_t n : {1, 7, 8, 17, 100, 1003}) {
      for (size_t at : {size_t{0}, n / 2, n - 1}) {
        SCOPED_TRACE(absl::StrCat("n=", n, " NaN at ", at));
        std::vector<float> xf(n, 1.0f);
        std::vector<double> xd(n, 1.0);
        xf[at] = std::numeric_limits<float>::quiet_NaN();
        xd[at] = std::numeric_limits<double>::quiet_NaN();
        EXPECT_TRUE(std::isnan(*Max(xf.data(), static_cast<int64_t>(n))));
        EXPECT_TRUE(std::isnan(*Max(xd.data(), static_cast<int64_t>(n))));
      }
    }
  }
}

// SumToDouble adds in one fixed order on every target: the same bits as the
// portable reference, for every length around the 16-lane stripes, for
// values whose sum depends on the order (large, small, cancelling).
TEST(Reduce, SumToDoubleIsBitIdenticalOnEveryTarget) {
  TargetGuard guard;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-30, 30);
  std::vector<float> xf(5000);
  for (float& v : xf) v = std::ldexp(mantissa(rng), exponent(rng));
  std::vector<double> xd(xf.begin(), xf.end());
  for (double& v : xd) v *= 1 + 1e-9 * mantissa(rng);
  const float hand[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,
                        10, 11, 12, 13, 14, 15, 16, 17, 0.5f};
  for (const std::string& t : SimdTargets()) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    EXPECT_EQ(SumToDouble(hand, 18), 153.5);
    EXPECT_EQ(SumToDouble(hand, 0), 0.0);
    for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 100, 4999, 5000}) {
      SCOPED_TRACE(n);
      const double f = SumToDouble(xf.data(), n);
      const double d = SumToDouble(xd.data(), n);
      EXPECT_EQ(std::bit_cast<uint64_t>(f),
                std::bit_cast<uint64_t>(SumToDoubleReference(xf.data(), n)));
      EXPECT_EQ(std::bit_cast<uint64_t>(d),
                std::bit_cast<uint64_t>(SumToDoubleReference(xd.data(), n)));
      long double exact = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        exact += xf[i];
        magnitude += std::fabs(xf[i]);
      }
      // The classic bound of recursive summation, n eps sum |x|.
      EXPECT_NEAR(f, static_cast<double>(exact),
                  static_cast<double>(n * 1.2e-16 * magnitude));
    }
  }
}

TEST(Softmax, HandComputedAndStable) {
  const float x[] = {1, 2, 3, 1000, 1001, 1002};
  float out[6];
  ASSERT_TRUE(Softmax(x, out, 2, 3).ok());
  const float want[] = {0.09003057f, 0.24472847f, 0.66524096f};
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(out[r * 3 + j], want[j], 1e-7);
  }
  ASSERT_TRUE(LogSoftmax(x, out, 2, 3).ok());
  const float log_want[] = {-2.40760596f, -1.40760596f, -0.40760596f};
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(out[r * 3 + j], log_want[j], 2e-6);
    }
  }
}

template <typename T>
void CheckSoftmaxRows(int64_t rows, int64_t cols, double tol) {
  SCOPED_TRACE(::testing::Message() << rows << "x" << cols);
  std::vector<T> x = RandomArray<T>(rows * cols, 9);
  for (T& v : x) {
    if (!std::isfinite(v)) v = T(3);
  }
  std::vector<T> sm(x.size()), lsm(x.size());
  ASSERT_TRUE(Softmax(x.data(), sm.data(), rows, cols).ok());
  ASSERT_TRUE(LogSoftmax(x.data(), lsm.data(), rows, cols).ok());
  for (int64_t r = 0; r < rows; ++r) {
    long double max = x[r * cols], sum = 0;
    for (int64_t j = 0; j < cols; ++j)
      max = std::max<long double>(max, x[r * cols + j]);
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(x[r * cols + j] - max);
    for (int64_t j = 0; j < cols; ++j) {
      const long double e = std::exp(x[r * cols + j] - max);
      ASSERT_NEAR(sm[r * cols + j], e / sum, tol * (e / sum) + 1e-30);
      ASSERT_NEAR(lsm[r * cols + j], x[r * cols + j] - max - std::log(sum),
                  tol * (1 + std::fabs(x[r * cols + j] - max)));
    }
  }
}

TEST(Softmax, MatchesReferenceOnEveryTarget) {
  TargetGuard guard;
  for (const std::string& t : SimdTargets()) {
    SCOPED_TRACE(t);
    ASSERT_TRUE(ForceSimdTargetForTest(t).ok());
    CheckSoftmaxRows<float>(3, 1, 1e-6);
    CheckSoftmaxRows<float>(5, 37, 1e-5);
    CheckSoftmaxRows<double>(7, 19, 1e-13);
  }
  // Over the parallel threshold.
  CheckSoftmaxRows<float>(300, 1001, 1e-5);
}

TEST(Elementwise, RejectsUnsupportedOpsAndBadArguments) {
  const int32_t x[] = {1};
  int32_t out[1];
  absl::Status s = Binary(BinaryOp::kDiv, x, x, out, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("weft::cpu::Binary: op Div is not defined for int32; "
                        "cast the operands to float32 or float64 first"));
  s = Unary(UnaryOp::kExp, x, out, 1);
  EXPECT_THAT(s.message(), HasSubstr("op Exp is not defined for int32"));
  const double d[] = {1};
  double dout[1];
  s = Binary(BinaryOp::kPow, d, d, dout, 1);
  EXPECT_THAT(s.message(), HasSubstr("op Pow is not defined for float64"));
  s = Unary(UnaryOp::kLog, d, dout, -1);
  EXPECT_THAT(s.message(),
              HasSubstr("weft::cpu::Unary(Log, float64): negative element "
                        "count -1"));
  s = Unary(UnaryOp::kLog, static_cast<const double*>(nullptr), dout, 1);
  EXPECT_THAT(s.message(), HasSubstr("null array for 1 elements"));
  s = Softmax(d, dout, 1, -3);
  EXPECT_THAT(s.message(),
              HasSubstr("weft::cpu::Softmax<float64>: negative shape [1, -3]"));
  EXPECT_TRUE(Unary(UnaryOp::kLog, static_cast<const double*>(nullptr),
                    static_cast<double*>(nullptr), 0)
                  .ok());
}

}  // namespace
}  // namespace cpu
}  // namespace weft
