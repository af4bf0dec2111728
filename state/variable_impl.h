// variable_impl.h — defines weft::VariableImpl, the resource behind a
// weft::Variable handle. Graph kernels (ReadVariable, Assign, AssignAdd,
// AssignSub) work on it directly; users work through Variable.
//
//   std::shared_ptr<VariableImpl> impl = internal::VariableAccess::Impl(v);
//   absl::StatusOr<NDArray> now = impl->Update(
//       [&](const NDArray& old) -> absl::StatusOr<NDArray> {
//         return AddArrays(old, delta);  // Any pure function of the old value.
//       });
#ifndef WEFT_STATE_VARIABLE_IMPL_H_
#define WEFT_STATE_VARIABLE_IMPL_H_

#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/resource.h"
#include "graph/shape.h"
#include "graph/tensor_spec.h"
#include "state/variable.h"

namespace weft {

// The state of one variable: fixed name, dtype, shape and creation site, and
// the current value held as a shared pointer to an immutable NDArray.
//
// Two locks: `update_mu_` serializes writers for the whole of an update
// (including computing the new value), `value_mu_` guards only the pointer
// and is held for a pointer copy or swap. Lock order: update_mu_, then
// value_mu_.
//
// Thread safety: every method may be called concurrently. Update's `fn` runs
// with the update lock held: it must not update the same variable (that
// would deadlock) and should be short.
class VariableImpl final : public Resource {
 public:
  // Use Variable::Create; `initial` must already match dtype and shape.
  VariableImpl(std::string name, NDArray initial, std::source_location where);
  ~VariableImpl() override;

  std::string_view kind() const override { return "Variable"; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  // The thread that created the variable ('main', 'worker-3').
  const std::string& created_thread() const { return created_thread_; }

  // A consistent snapshot of the value.
  NDArray value() const ABSL_LOCKS_EXCLUDED(value_mu_);

  // Replaces the value after CheckValue.
  [[nodiscard]] absl::Status Assign(NDArray value)
      ABSL_LOCKS_EXCLUDED(update_mu_, value_mu_);

  // The atomic read-modify-write every update uses: with the update lock
  // held, calls fn(old value), checks its result with CheckValue and
  // publishes it. Returns the new value, or fn's error / the check's error
  // (the value is then unchanged).
  [[nodiscard]] absl::StatusOr<NDArray> Update(
      absl::FunctionRef<absl::StatusOr<NDArray>(const NDArray&)> fn)
      ABSL_LOCKS_EXCLUDED(update_mu_, value_mu_);

  // value + delta / value - delta as an atomic update (numeric dtypes).
  [[nodiscard]] absl::StatusOr<NDArray> AssignAdd(const NDArray& delta);
  [[nodiscard]] absl::StatusOr<NDArray> AssignSub(const NDArray& delta);

  // OK when `value` may be this variable's value (valid, same dtype and
  // shape); otherwise kInvalidArgument naming the variable, its creation
  // site and `what` ("Assign", "AssignAdd delta", ...), with a fix.
  [[nodiscard]] absl::Status CheckValue(const NDArray& value,
                                        std::string_view what) const;

  // "'dense/w' (float32[2], created at model.cc:12 in Build, thread 'main')".
  std::string Describe() const override;
  // One spec: the variable's dtype and shape (and name).
  const std::vector<TensorSpec>& value_specs() const override { return specs_; }

 private:
  // Publishes `value` (already checked). Requires update_mu_.
  void Publish(NDArray value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(update_mu_)
      ABSL_LOCKS_EXCLUDED(value_mu_);

  const DType dtype_;
  const Shape shape_;
  const std::vector<TensorSpec> specs_;
  const std::string created_thread_;

  absl::Mutex update_mu_ ABSL_ACQUIRED_BEFORE(value_mu_);
  mutable absl::Mutex value_mu_;
  std::shared_ptr<const NDArray> value_ ABSL_GUARDED_BY(value_mu_);
};

// `a + b` / `a - b` element by element for two arrays of one numeric dtype
// and shape (integers wrap around). kInvalidArgument for bool or a
// dtype/shape mismatch. Exposed for the graph kernels.
[[nodiscard]] absl::StatusOr<NDArray> AddArrays(const NDArray& a,
                                                const NDArray& b);
[[nodiscard]] absl::StatusOr<NDArray> SubtractArrays(const NDArray& a,
                                                     const NDArray& b);

namespace internal {

// //state's access to the VariableImpl behind a Variable handle (this
// header is visible only to //state, its tests and its benchmark).
class VariableAccess {
 public:
  static const std::shared_ptr<VariableImpl>& Impl(const Variable& v) {
    return v.impl();
  }
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_STATE_VARIABLE_IMPL_H_
