#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {

DType KernelKeyDType(const Node& node, const std::vector<DType>& input_dtypes) {
  if (!input_dtypes.empty()) return input_dtypes[0];
  if (!node.output_dtypes().empty()) return node.output_dtypes()[0];
  return DType::kFloat32;
}

KernelRegistry& KernelRegistry::Global() {
  static KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();
    internal::RegisterStandardKernels(*r);
    return r;
  }();
  return *registry;
}

absl::Status KernelRegistry::Register(KernelDef def) {
  if (def.op.empty() || def.fn == nullptr) {
    return absl::InvalidArgumentError(
        "KernelRegistry::Register: a kernel needs an op type and a non-null "
        "function");
  }
  if (!IsValidDType(def.dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat("KernelRegistry::Register: kernel for '", def.op,
                     "' has an invalid dtype"));
  }
  absl::MutexLock lock(&mu_);
  std::pair<std::string, DType> key(def.op, def.dtype);
  if (kernels_.contains(key)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a kernel for op '", def.op, "' and dtype ",
                     DTypeName(def.dtype), " is already registered"));
  }
  kernels_.emplace(std::move(key),
                   std::make_unique<const KernelDef>(std::move(def)));
  return absl::OkStatus();
}

const KernelDef* KernelRegistry::Find(std::string_view op, DType dtype) const {
  // Op names are short, so this key fits std::string's inline buffer.
  const std::pair<std::string, DType> key(std::string(op), dtype);
  absl::ReaderMutexLock lock(&mu_);
  auto it = kernels_.find(key);
  return it == kernels_.end() ? nullptr : it->second.get();
}

namespace kernels_internal {

void MustRegister(KernelRegistry& registry, KernelDef def) {
  if (absl::Status s = registry.Register(std::move(def)); !s.ok()) {
    std::fprintf(stderr, "weft: registering a standard kernel failed: %s\n",
                 std::string(s.message()).c_str());
    std::abort();
  }
}

}  // namespace kernels_internal

namespace internal {

void RegisterStandardKernels(KernelRegistry& registry) {
  kernels_internal::RegisterArrayKernels(registry);
  kernels_internal::RegisterElementwiseKernels(registry);
  kernels_internal::RegisterMatMulKernels(registry);
  kernels_internal::RegisterReduceKernels(registry);
}

}  // namespace internal
}  // namespace weft
