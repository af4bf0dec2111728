#include "async/stack.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace weft {

absl::StatusOr<NDArray> StackArrays(absl::Span<const NDArray> arrays) {
  if (arrays.empty()) {
    return absl::InvalidArgumentError(
        "StackArrays: no arrays to stack; pass at least one");
  }
  const NDArray& first = arrays[0];
  for (size_t i = 0; i < arrays.size(); ++i) {
    const NDArray& a = arrays[i];
    if (!a.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("StackArrays: array ", i, " is empty (not valid)"));
    }
    if (a.dtype() != first.dtype() || !(a.shape() == first.shape())) {
      return absl::InvalidArgumentError(
          absl::StrCat("StackArrays: array ", i, " is ", DTypeName(a.dtype()),
                       a.shape().DebugString(), " but array 0 is ",
                       DTypeName(first.dtype()), first.shape().DebugString(),
                       "; stacked arrays need one dtype and ", "one shape"));
    }
  }
  std::vector<int64_t> dims;
  dims.reserve(first.shape().rank() + 1);
  dims.push_back(static_cast<int64_t>(arrays.size()));
  for (int64_t d : first.shape().dims()) dims.push_back(d);
  absl::StatusOr<NDArray> out =
      NDArray::AllocateChecked(first.dtype(), Shape(std::move(dims)));
  if (!out.ok()) return out.status();
  const size_t slice_bytes = first.num_bytes();
  char* dst = static_cast<char*>(out->mutable_raw_data());
  for (const NDArray& a : arrays) {
    if (slice_bytes > 0) std::memcpy(dst, a.raw_data(), slice_bytes);
    dst += slice_bytes;
  }
  return out;
}

absl::StatusOr<std::vector<NDArray>> UnstackArray(const NDArray& array) {
  if (!array.valid()) {
    return absl::InvalidArgumentError(
        "UnstackArray: the array is empty (not valid)");
  }
  if (array.shape().rank() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("UnstackArray: ", DTypeName(array.dtype()),
                     " scalar has no axis 0 to split"));
  }
  const std::vector<int64_t>& dims = array.shape().dims();
  Shape slice_shape(std::vector<int64_t>(dims.begin() + 1, dims.end()));
  const int64_t n = dims[0];
  std::vector<NDArray> out;
  out.reserve(n);
  const size_t slice_bytes =
      n == 0 ? 0 : static_cast<size_t>(array.num_bytes() / n);
  const char* src = static_cast<const char*>(array.raw_data());
  for (int64_t i = 0; i < n; ++i) {
    NDArray slice = NDArray::Uninitialized(array.dtype(), slice_shape);
    if (slice_bytes > 0) {
      std::memcpy(slice.mutable_raw_data(), src + i * slice_bytes, slice_bytes);
    }
    out.push_back(std::move(slice));
  }
  return out;
}

}  // namespace weft
