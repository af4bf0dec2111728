#include "graph/dtype.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace weft {

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt8:
      return "int8";
    case DType::kFloat16:
      return "float16";
  }
  return "invalid";
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8:
      return 1;
    case DType::kFloat16:
      return 2;
  }
  return 0;
}

bool IsValidDType(DType dtype) { return DTypeSize(dtype) != 0; }

bool IsFloating(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat64;
}

float Float16ToFloat(Float16 h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1f;
  const uint32_t mant = h.bits & 0x3ff;
  if (exp == 0) {  // Zero or subnormal: mant * 2^-24, exact in float.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign != 0 ? -v : v;
  }
  uint32_t bits;
  if (exp == 31) {  // Infinity or NaN (the payload kept).
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

Float16 DoubleToFloat16(double d) {
  const uint64_t x = std::bit_cast<uint64_t>(d);
  const uint16_t sign = static_cast<uint16_t>((x >> 48) & 0x8000);
  const uint64_t ax = x & 0x7fffffffffffffffull;
  constexpr uint64_t kInfBits = 0x7ff0000000000000ull;
  if (ax > kInfBits) {  // NaN: quiet, the payload's top bits kept.
    return {static_cast<uint16_t>(sign | 0x7e00 | ((ax >> 42) & 0x3ff))};
  }
  // 65520 and up (infinity too) round to infinity.
  if (ax >= std::bit_cast<uint64_t>(65520.0)) {
    return {static_cast<uint16_t>(sign | 0x7c00)};
  }
  // Rounds v >> shift to nearest, ties to even.
  auto round_shift = [](uint64_t v, int shift) {
    const uint64_t r = v >> shift, rem = v & ((uint64_t{1} << shift) - 1);
    const uint64_t half = uint64_t{1} << (shift - 1);
    return r + ((rem > half || (rem == half && (r & 1))) ? 1 : 0);
  };
  const int e = static_cast<int>(ax >> 52);  // Biased double exponent.
  const uint64_t mant = ax & ((uint64_t{1} << 52) - 1);
  if (e >= 1023 - 14) {  // Normal half: 2^-14 and up.
    // The half's exponent and top 10 mantissa bits, rounded on the other
    // 42 (a carry moves into the exponent, which stays below 31 here).
    const uint64_t h = static_cast<uint64_t>(e - 1023 + 15) << 52 | mant;
    return {static_cast<uint16_t>(sign | round_shift(h, 42))};
  }
  // Below 2^-14: a subnormal half (units of 2^-24), or zero at 2^-25 and
  // below (2^-25 itself is a tie, rounded to the even 0).
  if (ax <= std::bit_cast<uint64_t>(0x1p-25)) return {sign};
  const uint64_t m = mant | (uint64_t{1} << 52);  // e >= 998 here.
  return {static_cast<uint16_t>(sign | round_shift(m, 1051 - e))};
}

}  // namespace weft
