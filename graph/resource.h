// resource.h — defines weft::Resource, the base of the process-level objects
// that belong to no graph (variables, queues), and weft::ResourceRef, the
// shared reference a node's attribute holds to one.
//
//   // A node refers to a resource through an attribute:
//   AttrMap attrs = {{"resource", ResourceRef(variable_impl)}};
//
// A graph never owns a resource's state; it only keeps the resource alive
// while a node refers to it. Any number of graphs and sessions may refer to
// one resource at once.
#ifndef WEFT_GRAPH_RESOURCE_H_
#define WEFT_GRAPH_RESOURCE_H_

#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "graph/tensor_spec.h"

namespace weft {

// A process-level object with a name and a creation site.
//
// Thread safety: the accessors here are immutable after construction;
// subclasses state their own contract for their mutable state.
class Resource {
 public:
  Resource(std::string name, std::source_location created_at)
      : name_(std::move(name)), created_at_(created_at) {}
  virtual ~Resource() = default;
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  // "Variable", "Queue": used in messages and dumps.
  virtual std::string_view kind() const = 0;
  // The dtype and shape of each value the resource holds, for the build-time
  // inference of the ops that use it (graph/state_ops.cc, queue_ops.cc): a
  // Variable holds one, a Queue one per tuple component. Empty by default.
  virtual const std::vector<TensorSpec>& value_specs() const;
  // How messages name it: "'w' (created at model.cc:3 in Build)" by default.
  virtual std::string Describe() const;
  const std::string& name() const { return name_; }
  const std::source_location& created_at() const { return created_at_; }

 private:
  const std::string name_;
  const std::source_location created_at_;
};

using ResourceRef = std::shared_ptr<Resource>;

}  // namespace weft

#endif  // WEFT_GRAPH_RESOURCE_H_
