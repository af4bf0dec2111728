// The queues family: Enqueue, Dequeue and DequeueMany on a Queue
// (async/queue.h) named by the node's "queue" attr. Their definitions and
// build-time inference (values checked against the queue's components)
// work on the attr's Resource (value_specs()), so they live here with the
// other families; the builders, which take a Queue, are in
// async/queue_ops.cc, the asynchronous kernels in kernels/queue_kernels.cc.
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/errors.h"
#include "graph/op_families.h"
#include "graph/provenance.h"
#include "graph/resource.h"
#include "graph/resource_attrs.h"

namespace weft {
namespace internal {
namespace {

// The Queue resource a node's attr names.
absl::StatusOr<const Resource*> QueueResource(const AttrMap& attrs) {
  absl::StatusOr<ResourceRef> queue = QueueOfAttrs(attrs);
  if (!queue.ok()) return queue.status();
  return queue->get();
}

// "'name' (created at site)": Resource's own Describe(), without the
// "queue " that QueueImpl's override puts first.
std::string DescribeQueue(const Resource* q) { return q->Resource::Describe(); }

absl::Status InferEnqueue(InferenceContext& c) {
  absl::StatusOr<const Resource*> q = QueueResource(*c.attrs);
  if (!q.ok()) return c.AttrError(std::string(q.status().message()));
  const std::vector<TensorSpec>& specs = (*q)->value_specs();
  if (c.input_dtypes.size() != specs.size()) {
    return c.ShapeError(absl::StrCat(
        "Enqueue of ", c.input_dtypes.size(), " value(s) to queue ",
        DescribeQueue(*q), ", which holds ", specs.size(), " component(s)"));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const Shape& in = c.input_shapes[i];
    if (c.input_dtypes[i] != spec.dtype) {
      return c.DTypeError(absl::StrCat(
          "Enqueue to queue ", DescribeQueue(*q), ": component ", i,
          spec.name.empty() ? "" : absl::StrCat(" '", spec.name, "'"), " is ",
          DTypeName(spec.dtype), spec.shape.DebugString(), " but the value is ",
          DTypeName(c.input_dtypes[i]), in.DebugString()));
    }
    bool compatible = in.rank() == spec.shape.rank();
    for (int d = 0; compatible && d < in.rank(); ++d) {
      compatible = in.dim(d) < 0 || spec.shape.dim(d) < 0 ||
                   in.dim(d) == spec.shape.dim(d);
    }
    if (!compatible) {
      return c.ShapeError(absl::StrCat(
          "Enqueue to queue ", DescribeQueue(*q), ": component ", i,
          spec.name.empty() ? "" : absl::StrCat(" '", spec.name, "'"), " is ",
          DTypeName(spec.dtype), spec.shape.DebugString(), " but the value is ",
          DTypeName(c.input_dtypes[i]), in.DebugString()));
    }
  }
  c.SetOutput(DType::kInt64, Shape{});
  return absl::OkStatus();
}

absl::Status InferDequeue(InferenceContext& c, int64_t many) {
  absl::StatusOr<const Resource*> q = QueueResource(*c.attrs);
  if (!q.ok()) return c.AttrError(std::string(q.status().message()));
  std::vector<DType> dtypes;
  std::vector<Shape> shapes;
  for (const TensorSpec& spec : (*q)->value_specs()) {
    dtypes.push_back(spec.dtype);
    if (many > 0) {
      std::vector<int64_t> dims = {many};
      dims.insert(dims.end(), spec.shape.dims().begin(),
                  spec.shape.dims().end());
      shapes.emplace_back(std::move(dims));
    } else {
      shapes.push_back(spec.shape);
    }
  }
  c.SetOutputs(std::move(dtypes), std::move(shapes));
  return absl::OkStatus();
}

}  // namespace

void RegisterQueueOps(OpRegistry& ops) {
  RegisterBuiltin(ops, {.type = "Enqueue",
                        .num_inputs = OpDef::kVariadicInputs,
                        .attrs = {kQueueAttr},
                        .infer = InferEnqueue,
                        .stateful = true});
  RegisterBuiltin(
      ops, {.type = "Dequeue",
            .num_inputs = 0,
            .attrs = {kQueueAttr},
            .infer = [](InferenceContext& c) { return InferDequeue(c, 0); },
            .num_outputs = OpDef::kOutputsFromInference,
            .stateful = true});
  RegisterBuiltin(ops, {.type = "DequeueMany",
                        .num_inputs = 0,
                        .attrs = {kQueueAttr, "n"},
                        .infer = [](InferenceContext& c) -> absl::Status {
                          absl::StatusOr<const int64_t*> n =
                              c.Attr<int64_t>("n");
                          if (!n.ok()) return n.status();
                          if (**n < 1) {
                            return c.AttrError(absl::StrCat(
                                "DequeueMany n is ", **n, "; it must be >= 1"));
                          }
                          return InferDequeue(c, **n);
                        },
                        .num_outputs = OpDef::kOutputsFromInference,
                        .stateful = true});
}

}  // namespace internal
}  // namespace weft
