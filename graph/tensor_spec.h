// tensor_spec.h — defines weft::TensorSpec, the declared dtype, shape and
// name of one value: a queue component, a function argument or result.
//
//   std::vector<TensorSpec> components = {
//       {DType::kFloat32, Shape{-1, 28, 28}, "image"},
//       {DType::kInt64, Shape{}, "label"}};
#ifndef WEFT_GRAPH_TENSOR_SPEC_H_
#define WEFT_GRAPH_TENSOR_SPEC_H_

#include <string>

#include "graph/dtype.h"
#include "graph/shape.h"

namespace weft {

// What a value must look like. `shape` may hold unknown (-1) dimensions; a
// concrete array matches when its dtype is `dtype` and
// `shape.IsCompatibleWith(array.shape())`. `name` is for messages and may be
// empty.
//
// Thread safety: a value type.
struct TensorSpec {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::string name;
};

}  // namespace weft

#endif  // WEFT_GRAPH_TENSOR_SPEC_H_
