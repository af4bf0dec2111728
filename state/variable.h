// variable.h — defines weft::Variable, a named piece of mutable state that
// belongs to no graph: a cheap handle to a process-level resource whose value
// is an immutable NDArray swapped atomically, and weft::FindVariable, the
// process-wide lookup of live variables by name.
//
//   absl::StatusOr<Variable> w =
//       Variable::Create("dense/w", NDArray::Vector<float>({0, 0}));
//   if (!w.ok()) return w.status();
//   NDArray snapshot = w->value();            // A whole value, never torn.
//   absl::Status s = w->Assign(NDArray::Vector<float>({1, 2}));
//   absl::StatusOr<NDArray> now = w->AssignAdd(NDArray::Vector<float>({1, 1}));
//
// Graphs refer to a variable through its resource() in a node attribute
// (ReadVariable, Assign, AssignAdd, AssignSub); any number of graphs and
// sessions may share one variable. See docs/state.md.
#ifndef WEFT_STATE_VARIABLE_H_
#define WEFT_STATE_VARIABLE_H_

#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/resource.h"
#include "graph/shape.h"

namespace weft {

class VariableImpl;
namespace internal {
class VariableAccess;  // state/variable_impl.h, private to //state
}  // namespace internal

// A handle to a variable: a name, a fixed dtype and shape, a creation site,
// and a current value. Copying a Variable copies the handle (both copies name
// the same variable); `==` is identity. A default-constructed Variable is
// null: is_null() is true, accessors return empty values and every
// operation fails with kFailedPrecondition.
//
// The value is an immutable NDArray. value() returns a consistent snapshot
// that later updates never change; updates publish a new array. Updates
// (Assign, AssignAdd, AssignSub) are serialized per variable, so a
// read-modify-write never loses a concurrent update.
//
// Thread safety: all methods may be called concurrently from any thread on
// the same or different handles. A reader never waits for a writer's
// computation, only for the pointer swap.
class Variable {
 public:
  // A null handle.
  Variable() = default;

  // A new variable named `name` holding `initial_value`, whose dtype and
  // shape it keeps for life. `name` follows the node-name rules (letters,
  // digits, '_', '.', '-', '/' between scopes); two live variables may share
  // a name (FindVariable then reports the ambiguity). kInvalidArgument for a
  // bad name or an invalid (default-constructed) initial value.
  [[nodiscard]] static absl::StatusOr<Variable> Create(
      std::string_view name, NDArray initial_value,
      std::source_location where = std::source_location::current());

  // The Variable that `resource` is, or a null Variable when `resource` is
  // null or another kind of resource.
  static Variable FromResource(const ResourceRef& resource);

  // valid(): the one "is this handle usable" name across weft's handles
  // (Graph, Variable, Queue, Function, NDArray, Tensor). is_null() is its
  // negation, kept for existing code.
  bool valid() const { return impl_ != nullptr; }
  bool is_null() const { return impl_ == nullptr; }

  // "" for a null handle.
  const std::string& name() const;
  // kFloat32 for a null handle.
  DType dtype() const;
  // Shape{} for a null handle.
  const Shape& shape() const;
  // Where Create was called (a default location for a null handle).
  std::source_location created_at() const;

  // The current value: a whole value some update (or Create) published,
  // never a mix of two. An invalid NDArray for a null handle.
  NDArray value() const;

  // Replaces the value. kInvalidArgument when `value` is invalid or its
  // dtype or shape differs from the variable's (the message names the
  // variable and where it was created); the value is then unchanged.
  [[nodiscard]] absl::Status Assign(NDArray value) const;

  // Atomic read-modify-writes: value = value + delta (or - delta), element
  // by element, returning the new value. `delta` must have the variable's
  // dtype and shape. Numeric dtypes only (bool is kInvalidArgument);
  // integers wrap around in two's complement. On error nothing changes.
  [[nodiscard]] absl::StatusOr<NDArray> AssignAdd(const NDArray& delta) const;
  [[nodiscard]] absl::StatusOr<NDArray> AssignSub(const NDArray& delta) const;

  // The resource a graph node's attribute holds (null for a null handle).
  ResourceRef resource() const;

  // "'dense/w' (float32[2], created at model.cc:12 in Build)"; "null
  // Variable" for a null handle.
  std::string DebugString() const;

  friend bool operator==(const Variable& a, const Variable& b) {
    return a.impl_ == b.impl_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Variable& v) {
    return H::combine(std::move(h), v.impl_.get());
  }

 private:
  friend absl::StatusOr<Variable> FindVariable(std::string_view name);
  // The implementation, for //state (internal::VariableAccess).
  friend class internal::VariableAccess;
  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  explicit Variable(std::shared_ptr<VariableImpl> impl)
      : impl_(std::move(impl)) {}

  std::shared_ptr<VariableImpl> impl_;
};

// The one live variable named `name`, for binding a loaded graph file to the
// process's variables. kNotFound naming it when no live variable has that
// name; kFailedPrecondition listing every creation site when several do.
// A variable is live while any handle (or any graph node) refers to it.
//
// Thread safety: may be called concurrently with Create and with handles
// being dropped.
[[nodiscard]] absl::StatusOr<Variable> FindVariable(std::string_view name);

}  // namespace weft

#endif  // WEFT_STATE_VARIABLE_H_
