#include "graph/ndarray.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_join.h"
#include "graph/shape_util.h"

namespace weft {

void NDArray::ReleaseOwned() noexcept {
  shape_ = Shape();
  buffer_.reset();
}

NDArray NDArray::Uninitialized(DType dtype, Shape shape) {
  NDArray a;
  a.dtype_ = dtype;
  a.num_elements_ = shape.num_elements() < 0 ? 0 : shape.num_elements();
  a.shape_ = std::move(shape);
  size_t bytes = a.num_elements_ * DTypeSize(dtype);
  // aligned_alloc needs a multiple of the alignment; allocate at least one
  // line so even empty arrays have a distinct, valid buffer.
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) {  // Out of memory: weft does not use exceptions.
    std::fprintf(stderr, "weft: out of memory allocating %zu bytes\n", rounded);
    std::abort();
  }
  if (dtype == DType::kBool) std::memset(p, 0, rounded);
  a.buffer_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  a.data_ = p;
  return a;
}

absl::StatusOr<NDArray> NDArray::AllocateChecked(DType dtype, Shape shape,
                                                 int64_t max_bytes,
                                                 BufferAllocator* allocator) {
  if (!IsValidDType(dtype)) {
    return absl::InvalidArgumentError("NDArray: invalid dtype");
  }
  // A scalar needs no shape checks (the common case of small kernels).
  absl::StatusOr<int64_t> bytes = static_cast<int64_t>(DTypeSize(dtype));
  if (shape.rank() > 0) {
    if (absl::Status s = shape.ValidateConcrete(); !s.ok()) return s;
    bytes = CheckedNumBytes(dtype, shape);
    if (!bytes.ok()) return bytes.status();
  }
  constexpr int64_t kHardLimit = int64_t{1} << 40;  // 1 TiB.
  const int64_t limit = max_bytes > 0 ? max_bytes : kHardLimit;
  if (*bytes > limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "an array of ", DTypeName(dtype), shape.DebugString(), " needs ",
        *bytes, " bytes, over the limit of ", limit,
        " bytes per allocation (SessionOptions.max_allocation_bytes)"));
  }
  NDArray a;
  a.dtype_ = dtype;
  a.num_elements_ = shape.num_elements();
  a.shape_ = std::move(shape);
  size_t rounded =
      (static_cast<size_t>(*bytes) + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  if (allocator != nullptr) {
    a.buffer_ = allocator->AllocateBuffer(rounded);
  } else {
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p != nullptr) {
      a.buffer_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    }
  }
  if (a.buffer_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory allocating ", rounded, " bytes for ",
                     DTypeName(dtype), a.shape_.DebugString()));
  }
  a.data_ = a.buffer_.get();
  if (dtype == DType::kBool) std::memset(a.data_, 0, rounded);
  return a;
}

absl::StatusOr<NDArray> NDArray::Reshaped(Shape shape) const {
  if (absl::Status s = shape.ValidateConcrete(); !s.ok()) return s;
  if (shape.num_elements() != num_elements_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot reshape ", shape_.DebugString(), " (",
                     num_elements_, " elements) to ", shape.DebugString(), " (",
                     shape.num_elements(), " elements)"));
  }
  NDArray a = *this;
  a.shape_ = std::move(shape);
  return a;
}

bool NDArray::Equals(const NDArray& other) const {
  if (valid() != other.valid()) return false;
  if (!valid()) return true;  // Two empty arrays.
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         (num_bytes() == 0 ||
          std::memcmp(data_, other.data_, num_bytes()) == 0);
}

namespace {
template <typename T>
void AppendValues(const NDArray& a, int max_elements, std::string* out) {
  absl::Span<const T> v = a.values<T>();
  size_t n = std::min<size_t>(v.size(), static_cast<size_t>(max_elements));
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out->append(", ");
    if constexpr (std::is_same_v<T, bool>) {
      out->append(v[i] ? "true" : "false");
    } else if constexpr (std::is_same_v<T, Float16>) {
      absl::StrAppend(out, Float16ToFloat(v[i]));
    } else if constexpr (sizeof(T) == 1) {
      absl::StrAppend(out, static_cast<int>(v[i]));
    } else {
      absl::StrAppend(out, v[i]);
    }
  }
  if (v.size() > n) absl::StrAppend(out, ", ... (", v.size(), " in all)");
}
}  // namespace

std::string NDArray::DebugString(int max_elements) const {
  std::string out = absl::StrCat(DTypeName(dtype_), shape_.DebugString(), "{");
  if (buffer_ != nullptr) {
    switch (dtype_) {
      case DType::kFloat32:
        AppendValues<float>(*this, max_elements, &out);
        break;
      case DType::kFloat64:
        AppendValues<double>(*this, max_elements, &out);
        break;
      case DType::kInt32:
        AppendValues<int32_t>(*this, max_elements, &out);
        break;
      case DType::kInt64:
        AppendValues<int64_t>(*this, max_elements, &out);
        break;
      case DType::kBool:
        AppendValues<bool>(*this, max_elements, &out);
        break;
      case DType::kUInt8:
        AppendValues<uint8_t>(*this, max_elements, &out);
        break;
      case DType::kInt8:
        AppendValues<int8_t>(*this, max_elements, &out);
        break;
      case DType::kFloat16:
        AppendValues<Float16>(*this, max_elements, &out);
        break;
    }
  }
  out.append("}");
  return out;
}

}  // namespace weft
