// stack.h — defines weft::StackArrays and weft::UnstackArray, which join
// arrays of one shape on a new leading axis and split an array along its
// leading axis. Queue::DequeueMany and the Batcher build their batches with
// them.
//
//   absl::StatusOr<NDArray> batch = StackArrays({a, b, c});  // [3, ...a]
//   absl::StatusOr<std::vector<NDArray>> rows = UnstackArray(*batch);
#ifndef WEFT_ASYNC_STACK_H_
#define WEFT_ASYNC_STACK_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/ndarray.h"

namespace weft {

// One array of shape [arrays.size(), ...shape] holding the arrays in order
// (copies). kInvalidArgument when `arrays` is empty, an array is not valid,
// or the dtypes or shapes differ (naming the first array that differs).
[[nodiscard]] absl::StatusOr<NDArray> StackArrays(
    absl::Span<const NDArray> arrays);

// The slices of `array` along axis 0, each of shape dims[1:] (copies).
// kInvalidArgument for an invalid array or a scalar.
[[nodiscard]] absl::StatusOr<std::vector<NDArray>> UnstackArray(
    const NDArray& array);

}  // namespace weft

#endif  // WEFT_ASYNC_STACK_H_
