// attr.h — defines weft::AttrValue and weft::AttrMap, the typed attributes of
// a node (a Const's value, a Reshape's shape, a Cast's dtype, ...).
#ifndef WEFT_GRAPH_ATTR_H_
#define WEFT_GRAPH_ATTR_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/resource.h"
#include "graph/shape.h"

namespace weft {

using AttrValue = std::variant<int64_t, double, bool, std::string, DType, Shape,
                               std::vector<int64_t>, NDArray, ResourceRef>;
using AttrMap = absl::flat_hash_map<std::string, AttrValue>;

// The attribute `name` as T, or nullptr if absent or of another type.
template <typename T>
const T* FindAttr(const AttrMap& attrs, const std::string& name) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return nullptr;
  return std::get_if<T>(&it->second);
}

}  // namespace weft

#endif  // WEFT_GRAPH_ATTR_H_
