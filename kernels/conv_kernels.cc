// The conv family's kernels (ops defined in graph/conv_ops.cc), on oneDNN
// primitives.
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {

void RegisterConvKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace kernels_internal
}  // namespace weft
