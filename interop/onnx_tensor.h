// onnx_tensor.h — internal to weft (//interop, its tests and tools): ONNX
// element types and TensorProtos as weft dtypes and NDArrays. Not part of
// weft's public API.
#ifndef WEFT_INTEROP_ONNX_TENSOR_H_
#define WEFT_INTEROP_ONNX_TENSOR_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "onnx/onnx_pb.h"

namespace weft {
namespace onnx_internal {

// ONNX element type -> weft dtype; kUnimplemented naming the type if weft
// has no such dtype.
[[nodiscard]] absl::StatusOr<DType> DTypeFromOnnx(int32_t elem_type);
// "float", "uint8", ...; "invalid" for a number ONNX does not define.
std::string_view OnnxTypeName(int32_t elem_type);

// TensorProto -> NDArray: kUnimplemented for a dtype weft lacks or data
// stored outside the model (external data); kInvalidArgument for negative
// dims, more than 2^34 elements, or data whose size disagrees with the
// dims.
[[nodiscard]] absl::StatusOr<NDArray> NDArrayFromOnnx(
    const onnx::TensorProto& proto);

// Every element of `a` as a double, whatever its dtype (int64 beyond 2^53
// rounds): constants the importer folds, and values tests compare.
std::vector<double> ToDoubles(const NDArray& a);

// `values` as an array of `dtype` (float32, rounded, or float64) and
// `shape` (of values.size() elements).
NDArray FromDoubles(const std::vector<double>& values, DType dtype,
                    const Shape& shape);

}  // namespace onnx_internal
}  // namespace weft

#endif  // WEFT_INTEROP_ONNX_TENSOR_H_
