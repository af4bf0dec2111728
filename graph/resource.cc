#include "graph/resource.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/provenance.h"
#include "graph/resource_attrs.h"
#include "graph/tensor_spec.h"

namespace weft {

const std::vector<TensorSpec>& Resource::value_specs() const {
  static const std::vector<TensorSpec>* const kNone =
      new std::vector<TensorSpec>();
  return *kNone;
}

std::string Resource::Describe() const {
  return absl::StrCat(internal::Quoted(name_), " (created at ",
                      SourceSite::From(created_at_).ToString(), ")");
}

namespace internal {
namespace {

// The resource of kind `kind` that `attrs` names under `attr`, or null.
ResourceRef ResourceOfAttrs(const AttrMap& attrs, const char* attr,
                            std::string_view kind) {
  const ResourceRef* ref = FindAttr<ResourceRef>(attrs, attr);
  if (ref == nullptr || *ref == nullptr || (*ref)->kind() != kind) {
    return nullptr;
  }
  return *ref;
}

}  // namespace

ResourceRef VariableOfAttrs(const AttrMap& attrs) {
  return ResourceOfAttrs(attrs, kVariableAttr, "Variable");
}

absl::StatusOr<ResourceRef> QueueOfAttrs(const AttrMap& attrs) {
  ResourceRef queue = ResourceOfAttrs(attrs, kQueueAttr, "Queue");
  if (queue == nullptr) {
    return absl::InvalidArgumentError(
        "attr 'queue' must hold a Queue; build these ops with ops::Enqueue, "
        "ops::Dequeue or ops::DequeueMany");
  }
  return queue;
}

}  // namespace internal
}  // namespace weft
