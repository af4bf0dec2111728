// dtype.h — defines weft::DType, the element types of NDArrays and Tensors,
// weft::Float16 (IEEE binary16 storage) with its conversions,
// compile-time helpers mapping C++ types to DTypes, and weft::ConvertValue,
// the one rule for converting an element between them (Cast's).
#ifndef WEFT_GRAPH_DTYPE_H_
#define WEFT_GRAPH_DTYPE_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

namespace weft {

// The element type of an NDArray or a symbolic Tensor. The four numeric
// types and bool are computed on; uint8, int8 and float16 are storage types
// (models' quantized and half-precision tensors): arrays, graph and
// checkpoint files, Cast to and from every dtype, and the ops that only
// move data (IsStorageOnly).
enum class DType {
  kFloat32,
  kFloat64,
  kInt32,
  kInt64,
  kBool,
  kUInt8,
  kInt8,
  kFloat16
};

// Every dtype, in the enum's order (for registering dtype-agnostic
// kernels: Identity-like, control flow, queues, variables).
inline constexpr DType kAllDTypes[] = {
    DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64,
    DType::kBool,    DType::kUInt8,   DType::kInt8,  DType::kFloat16};

// "float32", "float64", "int32", "int64", "bool", "uint8", "int8",
// "float16"; "invalid" for a value outside the enum.
std::string_view DTypeName(DType dtype);

// Size in bytes of one element (bool is one byte).
size_t DTypeSize(DType dtype);

// True for the four numeric types (float32, float64, int32, int64).
// constexpr, so kernels can test a C++ type: IsNumeric(DTypeOf<T>::value).
constexpr bool IsNumeric(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat64 ||
         dtype == DType::kInt32 || dtype == DType::kInt64;
}
// float32, float64.
bool IsFloating(DType dtype);
// uint8, int8, float16.
constexpr bool IsStorageOnly(DType dtype) {
  return dtype == DType::kUInt8 || dtype == DType::kInt8 ||
         dtype == DType::kFloat16;
}
bool IsValidDType(DType dtype);

// An IEEE 754 binary16 value, held as its bits (float16's element type).
// Converted to and from float32/float64 exactly where possible, else
// rounded to nearest, ties to even (overflow gives infinity; NaN stays
// NaN, keeping its sign).
struct Float16 {
  uint16_t bits = 0;
  friend bool operator==(Float16, Float16) = default;
};
float Float16ToFloat(Float16 h);
Float16 DoubleToFloat16(double d);
inline Float16 FloatToFloat16(float f) {
  return DoubleToFloat16(static_cast<double>(f));  // float -> double: exact.
}

// DTypeOf<T>::value is the DType of C++ type T (float, double, int32_t,
// int64_t, bool, uint8_t, int8_t, Float16).
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> : std::integral_constant<DType, DType::kFloat32> {};
template <>
struct DTypeOf<double> : std::integral_constant<DType, DType::kFloat64> {};
template <>
struct DTypeOf<int32_t> : std::integral_constant<DType, DType::kInt32> {};
template <>
struct DTypeOf<int64_t> : std::integral_constant<DType, DType::kInt64> {};
template <>
struct DTypeOf<bool> : std::integral_constant<DType, DType::kBool> {};
template <>
struct DTypeOf<uint8_t> : std::integral_constant<DType, DType::kUInt8> {};
template <>
struct DTypeOf<int8_t> : std::integral_constant<DType, DType::kInt8> {};
template <>
struct DTypeOf<Float16> : std::integral_constant<DType, DType::kFloat16> {};

template <typename T>
concept Element = requires {
  DTypeOf<T>::value;
};

// Converts one value. To bool is x != 0. Floating to integer truncates toward
// zero, saturates at the integer type's range, and maps NaN to 0 (a plain
// static_cast would be undefined behavior out of range). Integer to a
// narrower integer wraps (two's complement, as NumPy's astype). float16
// goes through float32 (exact), and to float16 from float64 (exact for
// every other dtype's values up to 2^53), rounded to nearest even.
template <typename To, typename From>
To ConvertValue(From x) {
  if constexpr (std::is_same_v<From, Float16>) {
    if constexpr (std::is_same_v<To, Float16>) {
      return x;
    } else {
      return ConvertValue<To>(Float16ToFloat(x));
    }
  } else if constexpr (std::is_same_v<To, Float16>) {
    return DoubleToFloat16(static_cast<double>(x));
  } else if constexpr (std::is_same_v<To, bool>) {
    return x != From{0};
  } else if constexpr (std::is_floating_point_v<From> &&
                       std::is_integral_v<To>) {
    if (std::isnan(x)) return To{0};
    // Both bounds are 0 or powers of two, so they are exact in From.
    constexpr From kLow = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From kHighExclusive =
        static_cast<From>(uint64_t{1} << std::numeric_limits<To>::digits);
    if (x <= kLow) return std::numeric_limits<To>::min();
    if (x >= kHighExclusive) return std::numeric_limits<To>::max();
    return static_cast<To>(x);
  } else {
    return static_cast<To>(x);
  }
}

}  // namespace weft

#endif  // WEFT_GRAPH_DTYPE_H_
