// shape_util.h — defines the shape arithmetic shared by build-time inference
// and the kernels, so both sides agree by construction: numpy broadcasting
// (BroadcastShapes), reduction-axis normalization (NormalizeAxes), Reshape's
// -1 resolution (ResolveReshape), a single-axis check (NormalizeAxis), and
// overflow-checked element and byte counts (CheckedNumElements,
// CheckedNumBytes).
//
//   absl::StatusOr<Shape> out = BroadcastShapes(Shape{2, 1}, Shape{3});
//   // out == Shape{2, 3}
#ifndef WEFT_GRAPH_SHAPE_UTIL_H_
#define WEFT_GRAPH_SHAPE_UTIL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/dtype.h"
#include "graph/shape.h"

namespace weft {

// Numpy broadcasting of two shapes (unknown dims allowed); kInvalidArgument
// naming both shapes when they are incompatible.
[[nodiscard]] absl::StatusOr<Shape> BroadcastShapes(const Shape& a,
                                                    const Shape& b);

// Normalizes reduction `axes` for an input of `rank` (negative axes count
// from the end; empty means every axis). Sorted, unique; kInvalidArgument for
// an axis out of range or repeated (a scalar input has no axis to name).
[[nodiscard]] absl::StatusOr<std::vector<int>> NormalizeAxes(
    const std::vector<int64_t>& axes, int rank);

// One axis in [-rank, rank) made non-negative; kInvalidArgument otherwise.
// `what` names the axis in the message ("Split axis").
[[nodiscard]] absl::StatusOr<int> NormalizeAxis(int64_t axis, int rank,
                                                std::string_view what);

// The shape Reshape gives an input of shape `in` for `target`, which may hold
// one -1. With a fully known `in` the result is fully known; with unknown
// input dims the -1 stays unknown. kInvalidArgument for an invalid target,
// two -1s, an element count mismatch, or a -1 next to a 0 dimension.
[[nodiscard]] absl::StatusOr<Shape> ResolveReshape(const Shape& in,
                                                   const Shape& target);

// The element count of a concrete shape; kInvalidArgument for an unknown or
// negative dim or a count that overflows int64.
[[nodiscard]] absl::StatusOr<int64_t> CheckedNumElements(const Shape& shape);

// The byte size of a concrete array of `dtype` and `shape`;
// kInvalidArgument when it is not concrete or the size overflows.
[[nodiscard]] absl::StatusOr<int64_t> CheckedNumBytes(DType dtype,
                                                      const Shape& shape);

}  // namespace weft

#endif  // WEFT_GRAPH_SHAPE_UTIL_H_
