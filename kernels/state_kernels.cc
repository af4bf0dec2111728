// The state family's kernels (ops defined in graph/state_ops.cc):
// ReadVariable (a consistent snapshot), Assign, and the atomic
// read-modify-writes AssignAdd and AssignSub, for the dtypes a Variable can
// hold. Each kernel binds its Variable once, when the plan is compiled.
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/attr.h"
#include "graph/resource_attrs.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"
#include "state/variable.h"

namespace weft {
namespace kernels_internal {
namespace {

class VariableKernel : public OpKernel {
 public:
  explicit VariableKernel(OpKernelConstruction& c)
      : OpKernel(c), variable_(VariableOfNode(c)) {
    if (variable_.is_null()) {
      // A Variable-kind resource that is not one: a stand-in for another
      // process's Variable (graph/graph_io_internal.h).
      const ResourceRef r = internal::VariableOfAttrs(c.node().attrs());
      c.SetStatus(absl::InvalidArgumentError(
          r == nullptr
              ? std::string("no Variable in attr 'variable'")
              : absl::StrCat(
                    "Variable ", r->Describe(),
                    " cannot be used here\n  fix: place the nodes that use "
                    "it on a device of the process that created it (a read "
                    "there sends the value on), or create a Variable of "
                    "that name in this process before the graph is "
                    "registered")));
    }
  }

 protected:
  const Variable variable_;

 private:
  static Variable VariableOfNode(OpKernelConstruction& c) {
    return Variable::FromResource(internal::VariableOfAttrs(c.node().attrs()));
  }
};

class ReadVariableKernel : public VariableKernel {
 public:
  using VariableKernel::VariableKernel;
  absl::Status Compute(OpKernelContext& ctx) const override {
    ctx.set_output(0, variable_.value());
    return absl::OkStatus();
  }
};

enum class UpdateKind { kAssign, kAdd, kSub };

template <UpdateKind kKind>
class UpdateKernel : public VariableKernel {
 public:
  using VariableKernel::VariableKernel;
  absl::Status Compute(OpKernelContext& ctx) const override {
    absl::StatusOr<NDArray> now;
    if constexpr (kKind == UpdateKind::kAssign) {
      NDArray value = ctx.release_input(0);
      absl::Status s = variable_.Assign(value);
      if (!s.ok()) return s;
      now = std::move(value);
    } else if constexpr (kKind == UpdateKind::kAdd) {
      now = variable_.AssignAdd(ctx.input(0));
    } else {
      now = variable_.AssignSub(ctx.input(0));
    }
    if (!now.ok()) return now.status();
    ctx.set_output(0, *std::move(now));
    return absl::OkStatus();
  }
};

}  // namespace

void RegisterStateKernels(KernelRegistry& r) {
  for (DType d : kAllDTypes) {
    // ReadVariable has no input: it is keyed by its output dtype.
    MustRegister(r, {.op = "ReadVariable",
                     .dtype = d,
                     .factory = MakeKernelFactory<ReadVariableKernel>()});
    MustRegister(
        r, {.op = "Assign",
            .dtype = d,
            .factory = MakeKernelFactory<UpdateKernel<UpdateKind::kAssign>>()});
    if (!IsNumeric(d)) continue;  // No arithmetic on bool and storage types.
    MustRegister(
        r, {.op = "AssignAdd",
            .dtype = d,
            .factory = MakeKernelFactory<UpdateKernel<UpdateKind::kAdd>>()});
    MustRegister(
        r, {.op = "AssignSub",
            .dtype = d,
            .factory = MakeKernelFactory<UpdateKernel<UpdateKind::kSub>>()});
  }
}

}  // namespace kernels_internal
}  // namespace weft
