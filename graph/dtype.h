// dtype.h — defines weft::DType, the element types of NDArrays and Tensors,
// weft::Float16 (IEEE binary16 storage) with its conversions, and
// compile-time helpers mapping C++ types to DTypes.
#ifndef WEFT_GRAPH_DTYPE_H_
#define WEFT_GRAPH_DTYPE_H_

#include <cstddef>
#include <cstdint>
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

}  // namespace weft

#endif  // WEFT_GRAPH_DTYPE_H_
