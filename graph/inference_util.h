// inference_util.h — internal to graph/: the checks the op families'
// inference functions share (an input's dtype, a bool or axis attr), each
// reporting through InferenceContext so the error gets its ErrorKind. Not
// part of weft's public API.
//
//   if (absl::Status s = RequireNumeric(c, 0, "ArgMax"); !s.ok()) return s;
#ifndef WEFT_GRAPH_INFERENCE_UTIL_H_
#define WEFT_GRAPH_INFERENCE_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/op_registry.h"

namespace weft {
namespace internal {

// "input 1 is float32[2,3]".
std::string InputDesc(const InferenceContext& c, int i);
// kDType errors unless input `i` is numeric / floating ("...; this op takes
// float32, float64, int32 or int64").
[[nodiscard]] absl::Status RequireNumeric(InferenceContext& c, int i);
[[nodiscard]] absl::Status RequireFloating(InferenceContext& c, int i);
// The same, naming the op and suggesting a Cast.
[[nodiscard]] absl::Status RequireNumeric(InferenceContext& c, int i,
                                          std::string_view op);
[[nodiscard]] absl::Status RequireFloating(InferenceContext& c, int i,
                                           std::string_view op);
// kDType unless inputs 0 and 1 share a dtype.
[[nodiscard]] absl::Status RequireSameDType(InferenceContext& c);
// kDType unless input `i` is bool ("...; `what` takes bool").
[[nodiscard]] absl::Status RequireBool(InferenceContext& c, int i,
                                       std::string_view what);
// The bool attr `name` of the node being inferred: false when absent, an
// AttrError when present with another type.
[[nodiscard]] absl::StatusOr<bool> OptionalBoolAttr(InferenceContext& c,
                                                    const std::string& name);
// The int64 attr "axis", normalized as an axis of `rank` (an AttrError if
// it is out of range).
[[nodiscard]] absl::StatusOr<int> AxisAttr(InferenceContext& c, int rank,
                                           std::string_view what);
// Optional attrs: the value of attr `name`, `dflt` when absent, an
// AttrError when present with another type.
[[nodiscard]] absl::StatusOr<int64_t> IntAttrOr(InferenceContext& c,
                                                const std::string& name,
                                                int64_t dflt);
[[nodiscard]] absl::StatusOr<bool> BoolAttrOr(InferenceContext& c,
                                              const std::string& name,
                                              bool dflt);
[[nodiscard]] absl::StatusOr<double> DoubleAttrOr(InferenceContext& c,
                                                  const std::string& name,
                                                  double dflt);
// The string attr `name` (`dflt` when absent), which must be one of
// `allowed` (an AttrError naming `op` and the choices otherwise).
[[nodiscard]] absl::StatusOr<std::string> ChoiceAttr(
    InferenceContext& c, const std::string& name, const std::string& dflt,
    const std::vector<std::string>& allowed, std::string_view op);
// "[1,2,3]".
std::string ListString(const std::vector<int64_t>& v);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_INFERENCE_UTIL_H_
