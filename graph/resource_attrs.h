// resource_attrs.h — internal to weft (the //graph:internal target, visible
// to weft's own packages only, not reachable from weft.h): the attrs through
// which the state ops (ReadVariable, Assign, ...) and the queue ops
// (Enqueue, Dequeue, DequeueMany) name their resource, and the one lookup of
// each, shared by the op definitions (graph/state_ops.cc,
// graph/queue_ops.cc), the builders (state/variable_ops.cc,
// async/queue_ops.cc) and the kernels (kernels/state_kernels.cc,
// kernels/queue_kernels.cc).
#ifndef WEFT_GRAPH_RESOURCE_ATTRS_H_
#define WEFT_GRAPH_RESOURCE_ATTRS_H_

#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "graph/resource.h"

namespace weft {
namespace internal {

// The attr of a state op's node: a ResourceRef to a Variable.
inline constexpr char kVariableAttr[] = "variable";
// The attr of a queue op's node: a ResourceRef to a Queue.
inline constexpr char kQueueAttr[] = "queue";

// The Variable resource `attrs` names under kVariableAttr, or null when the
// attr is absent, null, or a resource of another kind.
ResourceRef VariableOfAttrs(const AttrMap& attrs);
// The Queue resource `attrs` names under kQueueAttr; kInvalidArgument ("attr
// 'queue' must hold a Queue; build these ops with ...") when the attr is
// absent, null, or a resource of another kind.
absl::StatusOr<ResourceRef> QueueOfAttrs(const AttrMap& attrs);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_RESOURCE_ATTRS_H_
