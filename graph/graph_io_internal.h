// graph_io_internal.h — internal to weft (distributed/ uses it; not
// reachable from weft.h): loading a graph file whose resources this process
// may not have.
#ifndef WEFT_GRAPH_GRAPH_IO_INTERNAL_H_
#define WEFT_GRAPH_GRAPH_IO_INTERNAL_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/graph_io.h"

namespace weft {
namespace internal {

// Like ParseGraph, but a declared resource that no registered resolver
// binds (no resolver for its kind, or the resolver finds none of that
// name) is bound to a stand-in: a Resource of the same kind and name
// holding the value specs the file records (format 1.2), enough to build
// and infer the nodes that use it and never to run them (their kernels
// refuse it: it is not a Variable or a Queue, and their message says where
// the resource lives). A resource the process has is bound as by
// ParseGraph. A file without value specs for an unbound resource fails
// where its nodes are inferred.
[[nodiscard]] absl::StatusOr<Graph> ParseGraphWithStandIns(
    std::string_view contents, GraphFileFormat format, std::string_view source);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_GRAPH_IO_INTERNAL_H_
