// onnx_import.h — defines weft::ImportOnnx and weft::ImportOnnxBytes, which
// turn an ONNX model (opsets 7-17 of the default domain) into an ordinary
// weft Graph, plus weft::OnnxImportOptions and weft::OnnxModel.
//
//   absl::StatusOr<weft::OnnxModel> model = weft::ImportOnnx("det.onnx",
//       {.input_shapes = {{"x", weft::Shape{1, 3, 640, 640}}}});
//   auto session = *weft::Session::Create(model->graph);
//   auto out = session->Run({{model->inputs[0], page}}, model->outputs);
//
// Initializers become Const nodes; each ONNX node becomes one or a few weft
// nodes named after it (sanitised, unique) whose provenance names the model
// file and the ONNX node (its index, op type and name), so a run-time error
// points at the model. Subgraphs computing shapes (Shape -> Gather -> Concat
// -> Reshape, ConstantOfShape, Range, ...) are evaluated at import when
// their inputs are known. If and Loop become ops::Cond and ops::While over
// Functions traced from their subgraphs, whose values of the enclosing
// graph become the Functions' explicit captures. A model with unsupported
// ops, attributes or dtypes is refused with one kUnimplemented error listing
// every unsupported node; a malformed, truncated or hostile file is a
// kInvalidArgument error naming the file. docs/onnx.md lists the supported
// ops.
#ifndef WEFT_INTEROP_ONNX_IMPORT_H_
#define WEFT_INTEROP_ONNX_IMPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/tensor.h"

namespace weft {

struct OnnxImportOptions {
  // The weft graph's name; "" = the model's graph name.
  std::string graph_name = {};
  // Concrete shapes for model inputs, by ONNX input name: pins symbolic
  // dims (which are -1 otherwise). Every known dim must agree with the
  // model's; naming an input the model lacks is an error.
  std::map<std::string, Shape> input_shapes = {};
  // Places every node ("" = the default device when the graph runs).
  std::string device = {};
  // Model inputs given values at import, by ONNX input name: each becomes a
  // constant (as if it were an initializer) and is not among
  // OnnxModel::inputs. For inputs weft needs known at import: a shape, axes,
  // pads or scales that the model takes as a graph input.
  std::map<std::string, NDArray> constant_inputs = {};
  // Folds what follows a Conv into it where the Conv's output has no other
  // use: a per-channel or scalar scale and shift (BatchNormalization; Mul,
  // Add, Sub, Div by a constant) into its weights and bias, and an
  // activation (Relu, LeakyRelu, HardSigmoid, HardSwish, Clip) and a
  // scalar scale and shift after it into a FusedConv (docs/onnx.md, "What
  // import does"). false: one weft op per ONNX op, to compare or debug.
  bool fuse = true;
  // The most weft nodes the import may build in one graph (the model's, or
  // a subgraph's body). Real models stay far below (PaddleOCR det: ~800);
  // one that unrolls or expands beyond it (a Scan over a declared length
  // of 60,000 steps with a large body, say) is refused with
  // kResourceExhausted instead of exhausting memory at import.
  int64_t max_nodes = int64_t{1} << 21;
};

// An imported model: its graph, and the tensors of its inputs (the graph
// inputs that are not initializers, in model order: Placeholders to feed)
// and outputs (in model order: the tensors to fetch).
//
// Thread safety: a plain value; the Graph handle inside follows Graph's
// contract (safe from any thread).
struct OnnxModel {
  Graph graph;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  std::vector<std::string> input_names;
  std::vector<std::string> output_names;
  int64_t opset = 0;  // The default domain's opset version.
};

// Reads and imports the model at `path`. Errors name the file.
[[nodiscard]] absl::StatusOr<OnnxModel> ImportOnnx(
    std::string_view path, const OnnxImportOptions& options = {});

// Imports a serialized ModelProto; `source_name` names it in errors and in
// the nodes' provenance (e.g. the file it came from).
[[nodiscard]] absl::StatusOr<OnnxModel> ImportOnnxBytes(
    std::string_view bytes, std::string_view source_name,
    const OnnxImportOptions& options = {});

}  // namespace weft

#endif  // WEFT_INTEROP_ONNX_IMPORT_H_
