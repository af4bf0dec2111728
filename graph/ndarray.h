// ndarray.h — defines weft::NDArray, a concrete, immutable, reference-counted
// n-dimensional array with a 64-byte aligned buffer.
#ifndef WEFT_GRAPH_NDARRAY_H_
#define WEFT_GRAPH_NDARRAY_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "graph/dtype.h"
#include "graph/shape.h"

namespace weft {

// A source of 64-byte aligned byte buffers for arrays (a caching allocator,
// a device's memory). Returns nullptr when it cannot allocate.
//
// Thread safety: implementations must allow concurrent calls.
class BufferAllocator {
 public:
  virtual ~BufferAllocator() = default;
  virtual std::shared_ptr<void> AllocateBuffer(size_t bytes) = 0;
};

// A concrete array: dtype, fully known shape, and a shared buffer. Copying an
// NDArray shares the buffer; the contents never change once the array has
// been handed out (kernels fill a fresh array through mutable_data() before
// publishing it). A default-constructed NDArray is an empty float32 scalar
// placeholder with no buffer (valid() is false).
//
// Thread safety: immutable once published; any number of threads may read
// and copy the same NDArray concurrently.
class NDArray {
 public:
  static constexpr size_t kAlignment = 64;

  NDArray() = default;
  NDArray(const NDArray&) = default;
  NDArray& operator=(const NDArray&) = default;
  // A moved-from NDArray is exactly a default-constructed one (not valid, no
  // elements, no data pointer), never a view of a buffer it no longer owns.
  // (A moved-from std::vector, and so Shape, is empty.) On the executor's
  // hot path: keep it to plain stores.
  NDArray(NDArray&& other) noexcept
      : dtype_(other.dtype_),
        shape_(std::move(other.shape_)),
        num_elements_(other.num_elements_),
        buffer_(std::move(other.buffer_)),
        data_(other.data_) {
    other.Clear();
  }
  // Moving into an empty array (a kernel's output slot, always) runs no
  // deallocation code: what a non-empty array owns is released out of line
  // first, and the owning members are then move-constructed in place (an
  // emptied vector and shared_ptr own nothing, so skipping their
  // destructors releases nothing twice and leaks nothing).
  NDArray& operator=(NDArray&& other) noexcept {
    if (this != &other) {
      if (ABSL_PREDICT_FALSE(buffer_ != nullptr || shape_.HoldsStorage())) {
        ReleaseOwned();
      }
      dtype_ = other.dtype_;
      std::construct_at(&shape_, std::move(other.shape_));
      num_elements_ = other.num_elements_;
      std::construct_at(&buffer_, std::move(other.buffer_));
      data_ = other.data_;
      other.Clear();
    }
    return *this;
  }

  template <Element T>
  static NDArray Scalar(T value) {
    NDArray a = Uninitialized(DTypeOf<T>::value, Shape{});
    *a.mutable_data<T>() = value;
    return a;
  }

  template <Element T>
  static NDArray Vector(const std::vector<T>& values) {
    NDArray a = Uninitialized(DTypeOf<T>::value,
                              Shape{static_cast<int64_t>(values.size())});
    T* out = a.mutable_data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return a;
  }

  // An array of `shape` holding `values` in row-major order. Fails with
  // kInvalidArgument if the shape is invalid, has an unknown dim, or its
  // element count differs from values.size().
  template <Element T>
  [[nodiscard]] static absl::StatusOr<NDArray> Create(
      const std::vector<T>& values, Shape shape) {
    if (absl::Status s = shape.ValidateConcrete(); !s.ok()) return s;
    if (shape.num_elements() != static_cast<int64_t>(values.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("NDArray::Create: shape ", shape.DebugString(),
                       " holds ", shape.num_elements(), " elements but ",
                       values.size(), " values were given"));
    }
    NDArray a = Uninitialized(DTypeOf<T>::value, std::move(shape));
    T* out = a.mutable_data<T>();
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return a;
  }

  // For kernels: a fresh array whose elements are uninitialized (zeroed for
  // bool). The caller fills it through mutable_data() before sharing it.
  // `shape` must be concrete; AllocateChecked reports a bad shape instead.
  static NDArray Uninitialized(DType dtype, Shape shape);
  // The checked form: kInvalidArgument for an invalid dtype, a shape that
  // is not concrete, or an element/byte count that overflows;
  // kResourceExhausted over `max_bytes` (0: no limit beyond 1 TiB) or when
  // the allocation fails. Never aborts. `allocator` null: the heap.
  [[nodiscard]] static absl::StatusOr<NDArray> AllocateChecked(
      DType dtype, Shape shape, int64_t max_bytes = 0,
      BufferAllocator* allocator = nullptr);

  // The same buffer viewed with another shape of equal element count (no
  // copy). kInvalidArgument when the counts differ.
  [[nodiscard]] absl::StatusOr<NDArray> Reshaped(Shape shape) const;

  // The one "is this handle usable" name across weft's handles (Graph,
  // Variable, Queue, Function, NDArray, Tensor): false when
  // default-constructed or moved from.
  bool valid() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t num_elements() const { return num_elements_; }
  size_t num_bytes() const { return num_elements_ * DTypeSize(dtype_); }

  // The elements as T. T must match dtype(); on a mismatch this returns an
  // empty span (use CheckedValues for a Status saying why).
  template <Element T>
  absl::Span<const T> values() const {
    if (DTypeOf<T>::value != dtype_ || buffer_ == nullptr) return {};
    return absl::Span<const T>(static_cast<const T*>(data_), num_elements_);
  }
  template <Element T>
  [[nodiscard]] absl::StatusOr<absl::Span<const T>> CheckedValues() const {
    if (DTypeOf<T>::value != dtype_) {
      return absl::InvalidArgumentError(
          absl::StrCat("NDArray holds ", DTypeName(dtype_), ", not ",
                       DTypeName(DTypeOf<T>::value)));
    }
    return values<T>();
  }

  const void* raw_data() const { return data_; }
  // Only for the producer of a fresh array (see Uninitialized).
  template <Element T>
  T* mutable_data() {
    return static_cast<T*>(data_);
  }
  void* mutable_raw_data() { return data_; }

  // True when this array is valid, of `dtype`, and of a shape `shape`
  // allows (same rank; an unknown dim of `shape` matches any size): the
  // check of a value against an inferred or declared spec that fed values,
  // function arguments, queue components and batcher examples go through.
  bool Matches(DType dtype, const Shape& shape) const {
    return valid() && dtype_ == dtype && shape.IsCompatibleWith(shape_);
  }

  // True when both arrays view the same buffer.
  bool SharesBufferWith(const NDArray& other) const {
    return buffer_ != nullptr && buffer_ == other.buffer_;
  }

  // Element-wise equality of dtype, shape and values.
  bool Equals(const NDArray& other) const;

  // "float32[2,2]{1, 2, 3, 4}" (at most `max_elements` values shown).
  std::string DebugString(int max_elements = 16) const;

 private:
  // Frees the shape's storage and drops the buffer reference: afterwards
  // neither owns anything.
  ABSL_ATTRIBUTE_NOINLINE void ReleaseOwned() noexcept;
  // The fields a default-constructed NDArray has, after a move.
  void Clear() {
    dtype_ = DType::kFloat32;
    num_elements_ = 0;
    data_ = nullptr;
  }

  DType dtype_ = DType::kFloat32;
  Shape shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<void> buffer_;
  void* data_ = nullptr;
};

}  // namespace weft

#endif  // WEFT_GRAPH_NDARRAY_H_
