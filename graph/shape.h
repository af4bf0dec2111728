// shape.h — defines weft::Shape, the dimensions of an NDArray or the
// (possibly partially known) inferred shape of a symbolic Tensor.
#ifndef WEFT_GRAPH_SHAPE_H_
#define WEFT_GRAPH_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace weft {

// A list of dimensions; -1 marks an unknown dimension. `Shape{}` is a scalar,
// `Shape{2, 3}` a 2x3 matrix. Any other negative dimension is invalid:
// Validate() reports it, and every API that takes a Shape calls it.
//
// Thread safety: a value type; const methods may be called concurrently.
class Shape {
 public:
  static constexpr int64_t kUnknown = -1;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_[i]; }
  const std::vector<int64_t>& dims() const { return dims_; }
  bool IsScalar() const { return dims_.empty(); }
  // True when no dimension is unknown.
  bool IsFullyDefined() const;
  // Product of the dims; -1 when any dim is unknown. Saturates at INT64_MAX.
  int64_t num_elements() const;

  // OK, or kInvalidArgument naming the first dimension that is negative and
  // not -1, or a known element count that overflows int64.
  [[nodiscard]] absl::Status Validate() const;
  // Like Validate(), and also rejects unknown dims (for concrete arrays).
  [[nodiscard]] absl::Status ValidateConcrete() const;

  // True when an array of shape `concrete` may stand where this shape is
  // expected (same rank; every known dim equal).
  bool IsCompatibleWith(const Shape& concrete) const;

  // "[2,3]", "[?,3]", "[]".
  std::string DebugString() const;

  friend bool operator==(const Shape& a, const Shape& b) = default;
  // Whether the dims own heap storage (a moved-from or scalar Shape owns
  // none).
  bool HoldsStorage() const { return dims_.capacity() != 0; }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace weft

#endif  // WEFT_GRAPH_SHAPE_H_
