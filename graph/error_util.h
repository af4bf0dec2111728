// error_util.h — internal to weft (the //graph:internal target, visible to
// weft's own packages only, not reachable from weft.h): the helpers weft's
// packages use to word and build their errors: the null-handle message and
// NullResourceError, the one cross-graph check for uses outside op builders
// (GraphUse, CheckTensorInGraph), status rewriting (WithPrefix, WithNote)
// and name quoting (Quoted). The payloads and their public helpers are in
// graph/errors.h.
#ifndef WEFT_GRAPH_ERROR_UTIL_H_
#define WEFT_GRAPH_ERROR_UTIL_H_

#include <cstddef>
#include <source_location>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "graph/errors.h"
#include "graph/provenance.h"

namespace weft {

class Graph;
class Tensor;

// The error of an op builder given a null resource handle (a
// default-constructed Variable or Queue): "<op> built at <site> was given a
// null <kind> handle (default-constructed); fix: ..." (NullHandleMessage),
// kInvalidArgument, with an OpErrorInfo of kind kAttr.
[[nodiscard]] absl::Status NullResourceError(std::string_view op,
                                             std::string_view kind,
                                             std::source_location where);

// A use of tensors that must all belong to one graph outside an op
// builder: a Session feed, fetch or target, a Batcher input or output, a
// function's output, a PartitionGraph fetch. Op builders check their
// inputs in Graph::AddOp.
struct GraphUse {
  std::string user;              // What uses the tensors: "Session::Run".
  std::string role;              // What the tensor is to it: "feed", "input".
  const Graph* graph = nullptr;  // The graph the tensors must belong to.
  SourceSite site;               // Where the use was made (the caller's line).
  std::string graph_reason;      // Why `graph` is the one: a sentence.
  std::string fix;               // The fix note ("" = the op builders' advice).
};

// The one cross-graph check for such uses: OK if `t` belongs to
// `use.graph`; `t`'s own error if it is not ok; else the cross-graph error
// (MakeCrossGraphError) for "<role> <index>" of `use.user`, with its
// CrossGraphEdge payload.
[[nodiscard]] absl::Status CheckTensorInGraph(const Tensor& t, int index,
                                              const GraphUse& use);

namespace internal {
// The one message for a null (default-constructed) handle of kind `kind`
// ("Graph", "Variable", "Queue" or "Function"): "<subject> a null <kind>
// handle (default-constructed); fix: create it with <the kind's factory>
// ...". `subject` says who met it: "Variable::Assign on", "op 'Neg' built
// at model.cc:3 targets", "SaveVariables('c.st'): variables[1] is". Each
// caller keeps its status code and payload.
std::string NullHandleMessage(std::string_view subject, std::string_view kind);
// `status` with `prefix` before its message; code and payloads kept.
[[nodiscard]] absl::Status WithPrefix(const absl::Status& status,
                                      std::string_view prefix);
// `status` with `note` appended as a further line ("\n  note"); code and
// payloads kept.
[[nodiscard]] absl::Status WithNote(const absl::Status& status,
                                    std::string_view note);
// "'name'": how weft's messages quote names. Bytes that are not valid UTF-8
// are shown as \xNN escapes; valid multi-byte characters stay whole.
std::string Quoted(std::string_view name);
// The UTF-8 character starting at `text[pos]` (1 to 4 bytes), or the single
// byte there if it does not start a valid UTF-8 sequence.
std::string_view Utf8CharAt(std::string_view text, size_t pos);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_GRAPH_ERROR_UTIL_H_
