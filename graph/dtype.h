// dtype.h — defines weft::DType, the element types of NDArrays and Tensors,
// and compile-time helpers mapping C++ types to DTypes.
#ifndef WEFT_GRAPH_DTYPE_H_
#define WEFT_GRAPH_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace weft {

// The element type of an NDArray or a symbolic Tensor.
enum class DType { kFloat32, kFloat64, kInt32, kInt64, kBool };

// "float32", "float64", "int32", "int64", "bool"; "invalid" for a value
// outside the enum.
std::string_view DTypeName(DType dtype);

// Size in bytes of one element (bool is one byte).
size_t DTypeSize(DType dtype);

// True for the four numeric types.
bool IsNumeric(DType dtype);
bool IsFloating(DType dtype);
bool IsValidDType(DType dtype);

// DTypeOf<T>::value is the DType of C++ type T (float, double, int32_t,
// int64_t, bool).
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

template <typename T>
concept Element = requires {
  DTypeOf<T>::value;
};

}  // namespace weft

#endif  // WEFT_GRAPH_DTYPE_H_
