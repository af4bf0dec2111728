// ONNX TensorProto <-> weft NDArray (onnx_tensor.h).
#include "interop/onnx_tensor.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft {
namespace onnx_internal {
namespace {

// The largest element count one initializer or constant may claim (2^34:
// 64 GiB of float32) — a hostile file's dims never reach an allocation.
constexpr int64_t kMaxElements = int64_t{1} << 34;

}  // namespace

// ------------------------------------------------------------- dtypes --

std::string_view OnnxTypeName(int32_t elem_type) {
  if (!onnx::TensorProto_DataType_IsValid(elem_type)) return "invalid";
  static const auto* names = [] {
    auto* m = new absl::flat_hash_map<int32_t, std::string>;
    for (int t = 0; t <= 20; ++t) {
      if (!onnx::TensorProto_DataType_IsValid(t)) continue;
      (*m)[t] = absl::AsciiStrToLower(onnx::TensorProto_DataType_Name(t));
    }
    return m;
  }();
  auto it = names->find(elem_type);
  return it == names->end() ? std::string_view("invalid") : it->second;
}

absl::StatusOr<DType> DTypeFromOnnx(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT:
      return DType::kFloat32;
    case onnx::TensorProto::DOUBLE:
      return DType::kFloat64;
    case onnx::TensorProto::INT32:
      return DType::kInt32;
    case onnx::TensorProto::INT64:
      return DType::kInt64;
    case onnx::TensorProto::BOOL:
      return DType::kBool;
    default:
      return absl::UnimplementedError(
          absl::StrCat("dtype ", OnnxTypeName(elem_type)));
  }
}

namespace {

template <typename T, typename Field>
absl::Status CopyTyped(const Field& field, NDArray& out, std::string_view f) {
  if (static_cast<int64_t>(field.size()) != out.num_elements()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor has ", out.num_elements(), " elements but ", f,
                     " holds ", field.size()));
  }
  T* dst = out.mutable_data<T>();
  for (int i = 0; i < field.size(); ++i) dst[i] = static_cast<T>(field[i]);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NDArray> NDArrayFromOnnx(const onnx::TensorProto& proto) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::UnimplementedError(
        "tensor data stored outside the model (external data)");
  }
  absl::StatusOr<DType> dtype = DTypeFromOnnx(proto.data_type());
  if (!dtype.ok()) return dtype.status();
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor has a negative dim ", d));
    }
    if (d != 0 && n > kMaxElements / d) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor dims [", absl::StrJoin(dims, ","), "] exceed ",
                       kMaxElements, " elements"));
    }
    n *= d;
  }
  NDArray out = NDArray::Uninitialized(*dtype, Shape(dims));
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != out.num_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor of ", n, " ", DTypeName(*dtype), " elements has ", raw.size(),
          " bytes of raw data, not ", out.num_bytes()));
    }
    if (*dtype == DType::kBool) {
      bool* dst = out.mutable_data<bool>();
      for (int64_t i = 0; i < n; ++i) dst[i] = raw[i] != 0;
    } else if (n > 0) {
      std::memcpy(out.mutable_raw_data(), raw.data(), raw.size());
    }
    return out;
  }
  absl::Status s;
  switch (*dtype) {
    case DType::kFloat32:
      s = CopyTyped<float>(proto.float_data(), out, "float_data");
      break;
    case DType::kFloat64:
      s = CopyTyped<double>(proto.double_data(), out, "double_data");
      break;
    case DType::kInt32:
      s = CopyTyped<int32_t>(proto.int32_data(), out, "int32_data");
      break;
    case DType::kInt64:
      s = CopyTyped<int64_t>(proto.int64_data(), out, "int64_data");
      break;
    case DType::kBool:
      s = CopyTyped<bool>(proto.int32_data(), out, "int32_data");
      break;
  }
  if (!s.ok()) return s;
  return out;
}

}  // namespace onnx_internal
}  // namespace weft
