#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/shape_util.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"
#include "kernels/step_env.h"

namespace weft {

using internal::Quoted;

// ------------------------------------------------ OpKernelConstruction --

OpKernelConstruction::OpKernelConstruction(const Node& node,
                                           std::vector<DType> input_dtypes,
                                           std::vector<Shape> input_shapes,
                                           std::string_view device,
                                           FunctionRuntime* functions)
    : node_(node),
      input_dtypes_(std::move(input_dtypes)),
      input_shapes_(std::move(input_shapes)),
      device_(device),
      functions_(functions) {}

absl::Status OpKernelConstruction::MissingAttr(std::string_view name) const {
  return absl::InvalidArgumentError(
      absl::StrCat("the kernel for ", node_.op(), " needs attr ", Quoted(name),
                   ", which the node lacks or holds with another type"));
}

// ----------------------------------------------------- OpKernelContext --

int64_t OpKernelContext::step_id() const { return env_.step_id; }
absl::Time OpKernelContext::deadline() const { return env_.deadline; }
bool OpKernelContext::cancelled() const {
  return env_.cancellation != nullptr && env_.cancellation->cancelled();
}
CancellationManager* OpKernelContext::cancellation() const {
  return env_.cancellation;
}
Rendezvous* OpKernelContext::rendezvous() const { return env_.rendezvous; }

absl::StatusOr<NDArray> OpKernelContext::allocate_temp(DType dtype,
                                                       Shape shape) {
  absl::StatusOr<NDArray> a = NDArray::AllocateChecked(
      dtype, std::move(shape), env_.limits.max_bytes, env_.allocator);
  if (!a.ok()) allocation_failed_ = true;
  return a;
}

absl::StatusOr<NDArray> OpKernelContext::allocate_output(int i, Shape shape) {
  return allocate_temp(node_.output_dtypes()[i], std::move(shape));
}

// ------------------------------------------------------- AsyncOpKernel --

absl::Status AsyncOpKernel::Compute(OpKernelContext& ctx) const {
  absl::Notification done;
  absl::Status result;
  ComputeAsync(ctx, [&](absl::Status s) {
    result = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

// ------------------------------------------------------------ factories --

KernelFactory FunctionKernelFactory(KernelFn fn) {
  class FunctionKernel : public OpKernel {
   public:
    FunctionKernel(OpKernelConstruction& c, KernelFn fn)
        : OpKernel(c), fn_(fn) {
      set_function(fn);
    }
    absl::Status Compute(OpKernelContext& ctx) const override {
      return fn_(ctx);
    }

   private:
    const KernelFn fn_;
  };
  return [fn](OpKernelConstruction& c)
             -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    return std::unique_ptr<OpKernel>(new FunctionKernel(c, fn));
  };
}

DType KernelKeyDType(const Node& node, const std::vector<DType>& input_dtypes) {
  if (!input_dtypes.empty()) return input_dtypes[0];
  if (!node.output_dtypes().empty()) return node.output_dtypes()[0];
  return DType::kFloat32;
}

// -------------------------------------------------------- KernelRegistry --

KernelRegistry& KernelRegistry::Global() {
  static KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    internal::RegisterStandardKernels(*r);
    return r;
  }();
  return *registry;
}

absl::Status KernelRegistry::Register(KernelDef def) {
  if (def.op.empty() || !def.factory) {
    return absl::InvalidArgumentError(
        "KernelRegistry::Register: a kernel needs an op type and a factory");
  }
  if (!IsValidDType(def.dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("KernelRegistry::Register: kernel for ", Quoted(def.op),
                     " has an invalid dtype"));
  }
  if (!IsDeviceKindRegistered(def.device_kind)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KernelRegistry::Register: kernel for ", Quoted(def.op),
        " names device kind ", Quoted(def.device_kind),
        ", which is not registered (register it with RegisterDeviceKind)"));
  }
  absl::MutexLock lock(&mu_);
  auto& list = kernels_[Key(def.op, def.device_kind, def.dtype)];
  for (const auto& existing : list) {
    if (existing->priority == def.priority) {
      return absl::AlreadyExistsError(absl::StrCat(
          "a kernel for op ", Quoted(def.op), ", device kind ",
          Quoted(def.device_kind), " and dtype ", DTypeName(def.dtype),
          " is already registered with priority ", def.priority,
          "; register an override with a higher priority"));
    }
  }
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& k) {
    return k->priority < def.priority;
  });
  list.insert(it, std::make_unique<const KernelDef>(std::move(def)));
  return absl::OkStatus();
}

const KernelDef* KernelRegistry::Find(std::string_view op,
                                      std::string_view device_kind,
                                      DType dtype) const {
  const Key key(std::string(op), std::string(device_kind), dtype);
  absl::ReaderMutexLock lock(&mu_);
  auto it = kernels_.find(key);
  return it == kernels_.end() || it->second.empty() ? nullptr
                                                    : it->second.front().get();
}

std::vector<const KernelDef*> KernelRegistry::FindAll(
    std::string_view op, std::string_view device_kind, DType dtype) const {
  const Key key(std::string(op), std::string(device_kind), dtype);
  std::vector<const KernelDef*> out;
  absl::ReaderMutexLock lock(&mu_);
  auto it = kernels_.find(key);
  if (it == kernels_.end()) return out;
  for (const auto& k : it->second) out.push_back(k.get());
  return out;
}

namespace kernels_internal {

int64_t DimProduct(const Shape& s, int begin, int end) {
  int64_t p = 1;
  for (int i = begin; i < end; ++i) p *= s.dim(i);
  return p;
}

namespace {

int NormalizeAxisOrSetStatus(OpKernelConstruction& c, int64_t axis,
                             std::string_view what) {
  absl::StatusOr<int> a = NormalizeAxis(axis, c.input_shape(0).rank(), what);
  if (!a.ok()) {
    c.SetStatus(a.status());
    return 0;
  }
  return *a;
}

}  // namespace

int ReadAxis(OpKernelConstruction& c, std::string_view what) {
  int64_t axis = 0;
  if (absl::Status s = c.GetAttr("axis", &axis); !s.ok()) {
    c.SetStatus(s);
    return 0;
  }
  return NormalizeAxisOrSetStatus(c, axis, what);
}

int ReadAxis(OpKernelConstruction& c, std::string_view what,
             int64_t default_axis) {
  const int64_t* axis = FindAttr<int64_t>(c.node().attrs(), "axis");
  return NormalizeAxisOrSetStatus(c, axis != nullptr ? *axis : default_axis,
                                  what);
}

absl::Status CheckRank(const NDArray& x, int axis, std::string_view op) {
  if (x.shape().rank() <= axis) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, " axis ", axis, " is out of range for the fed ",
                     DTypeName(x.dtype()), x.shape().DebugString()));
  }
  return absl::OkStatus();
}

void MustRegister(KernelRegistry& registry, KernelDef def) {
  if (absl::Status s = registry.Register(std::move(def)); !s.ok()) {
    std::fprintf(stderr, "weft: registering a standard kernel failed: %s\n",
                 std::string(s.message()).c_str());
    std::abort();
  }
}

}  // namespace kernels_internal

namespace internal {

// The one list of kernel families (kernel_util.h).
void RegisterStandardKernels(KernelRegistry& registry) {
  kernels_internal::RegisterArrayKernels(registry);
  kernels_internal::RegisterElementwiseKernels(registry);
  kernels_internal::RegisterLogicKernels(registry);
  kernels_internal::RegisterReduceKernels(registry);
  kernels_internal::RegisterLinalgKernels(registry);
  kernels_internal::RegisterNnKernels(registry);
  kernels_internal::RegisterConvKernels(registry);
  kernels_internal::RegisterStateKernels(registry);
  kernels_internal::RegisterQueueKernels(registry);
  kernels_internal::RegisterVisionKernels(registry);
  kernels_internal::RegisterTextKernels(registry);
  kernels_internal::RegisterControlFlowKernels(registry);
  kernels_internal::RegisterBackendKernels(registry);
}

}  // namespace internal
}  // namespace weft
