#include "graph/op_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_families.h"

namespace weft {

absl::Status InferenceContext::DTypeError(std::string message) {
  error_kind = ErrorKind::kDType;
  return absl::InvalidArgumentError(std::move(message));
}
absl::Status InferenceContext::ShapeError(std::string message) {
  error_kind = ErrorKind::kShape;
  return absl::InvalidArgumentError(std::move(message));
}
absl::Status InferenceContext::AttrError(std::string message) {
  error_kind = ErrorKind::kAttr;
  return absl::InvalidArgumentError(std::move(message));
}

absl::Status InferSameAsInput(InferenceContext& c) {
  c.SetOutput(c.input_dtypes[0], c.input_shapes[0]);
  return absl::OkStatus();
}

namespace internal {

void RegisterBuiltin(OpRegistry& registry, OpDef def) {
  absl::Status s = registry.Register(std::move(def));
  (void)s;  // Distinct, well-formed built-ins (op_families.h).
}

}  // namespace internal

namespace {

// The one list of op families (op_families.h).
void RegisterStandardOps(OpRegistry& r) {
  internal::RegisterArrayOps(r);
  internal::RegisterElementwiseOps(r);
  internal::RegisterLogicOps(r);
  internal::RegisterReduceOps(r);
  internal::RegisterLinalgOps(r);
  internal::RegisterNnOps(r);
  internal::RegisterConvOps(r);
  internal::RegisterControlFlowOps(r);
  internal::RegisterStateOps(r);
  internal::RegisterQueueOps(r);
  internal::RegisterVisionOps(r);
  internal::RegisterTextOps(r);
}

}  // namespace

OpRegistry::OpRegistry() = default;

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    RegisterStandardOps(*r);
    return r;
  }();
  return *registry;
}

absl::Status OpRegistry::Register(OpDef def) {
  if (def.type.empty() || !def.infer) {
    return absl::InvalidArgumentError(
        "OpRegistry::Register: an op needs a type name and an inference "
        "function");
  }
  if ((def.num_inputs < 0 && def.num_inputs != OpDef::kVariadicInputs) ||
      (def.num_outputs < 1 &&
       def.num_outputs != OpDef::kOutputsFromInference)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "OpRegistry::Register: op '", def.type, "' declares ", def.num_inputs,
        " input(s) and ", def.num_outputs,
        " output(s); ops take >= 0 inputs and have >= 1 outputs (or "
        "OpDef::kOutputsFromInference)"));
  }
  absl::MutexLock lock(&mu_);
  if (ops_.contains(def.type)) {
    return absl::AlreadyExistsError(
        absl::StrCat("op '", def.type, "' is already registered"));
  }
  std::string type = def.type;
  ops_.emplace(std::move(type), std::make_unique<const OpDef>(std::move(def)));
  return absl::OkStatus();
}

const OpDef* OpRegistry::Find(std::string_view type) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = ops_.find(type);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::ListOps() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, def] : ops_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace weft
