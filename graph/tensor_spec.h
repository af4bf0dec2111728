// tensor_spec.h — defines weft::TensorSpec, the dtype, shape and name of a
// value crossing an API boundary (a function's arguments and outputs, a
// queue's components).
#ifndef WEFT_GRAPH_TENSOR_SPEC_H_
#define WEFT_GRAPH_TENSOR_SPEC_H_

#include <string>

#include "graph/dtype.h"
#include "graph/shape.h"

namespace weft {

struct TensorSpec {
  DType dtype;
  Shape shape;
  std::string name;
};

}  // namespace weft

#endif  // WEFT_GRAPH_TENSOR_SPEC_H_
