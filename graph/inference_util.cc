#include "graph/inference_util.h"

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/shape_util.h"

namespace weft {
namespace internal {

std::string InputDesc(const InferenceContext& c, int i) {
  return absl::StrCat("input ", i, " is ", DTypeName(c.input_dtypes[i]),
                      c.input_shapes[i].DebugString());
}

absl::Status RequireNumeric(InferenceContext& c, int i) {
  if (!IsNumeric(c.input_dtypes[i])) {
    return c.DTypeError(absl::StrCat(
        InputDesc(c, i), "; this op takes float32, float64, int32 or int64"));
  }
  return absl::OkStatus();
}

absl::Status RequireFloating(InferenceContext& c, int i) {
  if (!IsFloating(c.input_dtypes[i])) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, i), "; this op takes float32 or float64"));
  }
  return absl::OkStatus();
}

absl::Status RequireNumeric(InferenceContext& c, int i, std::string_view op) {
  if (!IsNumeric(c.input_dtypes[i])) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, i), "; ", op,
                     " takes float32, float64, int32 or int64 (Cast the "
                     "input first)"));
  }
  return absl::OkStatus();
}

absl::Status RequireFloating(InferenceContext& c, int i, std::string_view op) {
  if (!IsFloating(c.input_dtypes[i])) {
    return c.DTypeError(absl::StrCat(InputDesc(c, i), "; ", op,
                                     " takes float32 or float64 (Cast the "
                                     "input first)"));
  }
  return absl::OkStatus();
}

absl::Status RequireSameDType(InferenceContext& c) {
  if (c.input_dtypes[0] != c.input_dtypes[1]) {
    return c.DTypeError(absl::StrCat("dtype mismatch: ", InputDesc(c, 0),
                                     " but ", InputDesc(c, 1)));
  }
  return absl::OkStatus();
}

absl::Status RequireBool(InferenceContext& c, int i, std::string_view what) {
  if (c.input_dtypes[i] != DType::kBool) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, i), "; ", what, " takes bool"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> OptionalBoolAttr(InferenceContext& c,
                                      const std::string& name) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return false;
  if (const bool* v = std::get_if<bool>(&it->second)) return *v;
  return c.AttrError(
      absl::StrCat("attr '", name, "' must be a bool (true or false)"));
}

// The int64 attr `name`, normalized as an axis of `rank`.
absl::StatusOr<int> AxisAttr(InferenceContext& c, int rank,
                             std::string_view what) {
  absl::StatusOr<const int64_t*> axis = c.Attr<int64_t>("axis");
  if (!axis.ok()) return axis.status();
  absl::StatusOr<int> a = NormalizeAxis(**axis, rank, what);
  if (!a.ok()) return c.AttrError(std::string(a.status().message()));
  return *a;
}

std::string ListString(const std::vector<int64_t>& v) {
  return absl::StrCat("[", absl::StrJoin(v, ","), "]");
}

absl::StatusOr<int64_t> IntAttrOr(InferenceContext& c, const std::string& name,
                                  int64_t dflt) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return dflt;
  if (const int64_t* v = std::get_if<int64_t>(&it->second)) return *v;
  return c.AttrError(absl::StrCat("attr '", name, "' must be an int64"));
}

absl::StatusOr<bool> BoolAttrOr(InferenceContext& c, const std::string& name,
                                bool dflt) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return dflt;
  if (const bool* v = std::get_if<bool>(&it->second)) return *v;
  return c.AttrError(
      absl::StrCat("attr '", name, "' must be a bool (true or false)"));
}

absl::StatusOr<double> DoubleAttrOr(InferenceContext& c,
                                    const std::string& name, double dflt) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return dflt;
  if (const double* v = std::get_if<double>(&it->second)) return *v;
  return c.AttrError(absl::StrCat("attr '", name, "' must be a double"));
}

// The string attr `name` (`dflt` when absent), which must be one of
// `allowed`.
absl::StatusOr<std::string> ChoiceAttr(InferenceContext& c,
                                       const std::string& name,
                                       const std::string& dflt,
                                       const std::vector<std::string>& allowed,
                                       std::string_view op) {
  auto it = c.attrs->find(name);
  std::string value = dflt;
  if (it != c.attrs->end()) {
    const std::string* v = std::get_if<std::string>(&it->second);
    if (v == nullptr) {
      return c.AttrError(absl::StrCat("attr '", name, "' must be a string"));
    }
    value = *v;
  }
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    return c.AttrError(absl::StrCat(op, " ", name, " '", value,
                                    "' is not supported; use one of \"",
                                    absl::StrJoin(allowed, "\", \""), "\""));
  }
  return value;
}

}  // namespace internal
}  // namespace weft
