// ONNX TensorProto <-> weft NDArray (onnx_tensor.h).
#include "interop/onnx_tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
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
    case onnx::TensorProto::UINT8:
      return DType::kUInt8;
    case onnx::TensorProto::INT8:
      return DType::kInt8;
    case onnx::TensorProto::FLOAT16:
      return DType::kFloat16;
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

// The element count of a tensor of `dims`, which must be non-negative and
// hold at most kMaxElements.
absl::StatusOr<int64_t> CheckedElementCount(const std::vector<int64_t>& dims) {
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
  return n;
}

// Checks that `proto` holds the data of `n` elements of `dtype` (raw or in
// the typed field of that dtype). Done before allocating: a few bytes of
// file must not claim (and get) gigabytes.
absl::Status CheckDataSize(const onnx::TensorProto& proto, DType dtype,
                           int64_t n) {
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const uint64_t want = static_cast<uint64_t>(n) * DTypeSize(dtype);
    if (raw.size() != want) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor of ", n, " ", DTypeName(dtype), " elements has ",
                       raw.size(), " bytes of raw data, not ", want));
    }
    return absl::OkStatus();
  }
  int64_t held = 0;
  std::string_view field;
  switch (dtype) {
    case DType::kFloat32:
      held = proto.float_data_size();
      field = "float_data";
      break;
    case DType::kFloat64:
      held = proto.double_data_size();
      field = "double_data";
      break;
    case DType::kInt32:
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8:
    case DType::kFloat16:  // Its bits, one value per int32.
      held = proto.int32_data_size();
      field = "int32_data";
      break;
    case DType::kInt64:
      held = proto.int64_data_size();
      field = "int64_data";
      break;
  }
  if (held != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor has ", n, " elements but ", field, " holds ", held));
  }
  return absl::OkStatus();
}

// Copies `raw` (of the size `out` needs) into `out`; bools one byte each.
void CopyRawData(const std::string& raw, NDArray& out) {
  const int64_t n = out.num_elements();
  if (out.dtype() == DType::kBool) {
    bool* dst = out.mutable_data<bool>();
    for (int64_t i = 0; i < n; ++i) dst[i] = raw[i] != 0;
  } else if (n > 0) {
    std::memcpy(out.mutable_raw_data(), raw.data(), raw.size());
  }
}

// Copies the typed field of out's dtype in `proto` into `out`.
absl::Status CopyTypedData(const onnx::TensorProto& proto, NDArray& out) {
  switch (out.dtype()) {
    case DType::kFloat32:
      return CopyTyped<float>(proto.float_data(), out, "float_data");
    case DType::kFloat64:
      return CopyTyped<double>(proto.double_data(), out, "double_data");
    case DType::kInt32:
      return CopyTyped<int32_t>(proto.int32_data(), out, "int32_data");
    case DType::kInt64:
      return CopyTyped<int64_t>(proto.int64_data(), out, "int64_data");
    case DType::kBool:
      return CopyTyped<bool>(proto.int32_data(), out, "int32_data");
    case DType::kUInt8:
      return CopyTyped<uint8_t>(proto.int32_data(), out, "int32_data");
    case DType::kInt8:
      return CopyTyped<int8_t>(proto.int32_data(), out, "int32_data");
    case DType::kFloat16: {
      Float16* dst = out.mutable_data<Float16>();
      for (int i = 0; i < proto.int32_data_size(); ++i) {
        dst[i] = Float16{static_cast<uint16_t>(proto.int32_data(i))};
      }
      return absl::OkStatus();
    }
  }
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
  absl::StatusOr<int64_t> n = CheckedElementCount(dims);
  if (!n.ok()) return n.status();
  if (absl::Status s = CheckDataSize(proto, *dtype, *n); !s.ok()) return s;
  NDArray out = NDArray::Uninitialized(*dtype, Shape(dims));
  if (proto.has_raw_data()) {
    CopyRawData(proto.raw_data(), out);
    return out;
  }
  if (absl::Status s = CopyTypedData(proto, out); !s.ok()) return s;
  return out;
}

NDArray FromDoubles(const std::vector<double>& values, DType dtype,
                    const Shape& shape) {
  NDArray out = NDArray::Uninitialized(dtype, shape);
  if (dtype == DType::kFloat64) {
    std::copy(values.begin(), values.end(), out.mutable_data<double>());
  } else {
    float* dst = out.mutable_data<float>();
    for (size_t i = 0; i < values.size(); ++i) {
      dst[i] = static_cast<float>(values[i]);
    }
  }
  return out;
}

std::vector<double> ToDoubles(const NDArray& a) {
  std::vector<double> out;
  out.reserve(a.num_elements());
  switch (a.dtype()) {
    case DType::kFloat32:
      for (float v : a.values<float>()) out.push_back(v);
      break;
    case DType::kFloat64:
      for (double v : a.values<double>()) out.push_back(v);
      break;
    case DType::kInt32:
      for (int32_t v : a.values<int32_t>()) out.push_back(v);
      break;
    case DType::kInt64:
      for (int64_t v : a.values<int64_t>()) {
        out.push_back(static_cast<double>(v));
      }
      break;
    case DType::kBool:
      for (bool v : a.values<bool>()) out.push_back(v);
      break;
    case DType::kUInt8:
      for (uint8_t v : a.values<uint8_t>()) out.push_back(v);
      break;
    case DType::kInt8:
      for (int8_t v : a.values<int8_t>()) out.push_back(v);
      break;
    case DType::kFloat16:
      for (Float16 v : a.values<Float16>()) out.push_back(Float16ToFloat(v));
      break;
  }
  return out;
}

}  // namespace onnx_internal
}  // namespace weft
