// op_registry.h — defines weft::OpRegistry, the process-wide table of op
// definitions (inputs, outputs, attrs and the build-time shape/dtype
// inference function), weft::OpDef and weft::InferenceContext. The shape
// arithmetic inference shares with kernels is in graph/shape_util.h.
//
//   // A custom op with two outputs (see docs/api.md for its kernel):
//   OpDef def{.type = "MinMax", .num_inputs = 1,
//             .infer = [](InferenceContext& c) {
//               c.SetOutputs({c.input_dtypes[0], c.input_dtypes[0]},
//                            {Shape{}, Shape{}});
//               return absl::OkStatus();
//             },
//             .num_outputs = 2};
//   absl::Status s = OpRegistry::Global().Register(std::move(def));
#ifndef WEFT_GRAPH_OP_REGISTRY_H_
#define WEFT_GRAPH_OP_REGISTRY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "graph/attr.h"
#include "graph/dtype.h"
#include "graph/errors.h"
#include "graph/shape.h"
#include "graph/shape_util.h"

namespace weft {

// What an inference function sees and fills in: one dtype and one shape per
// output. Errors are returned through DTypeError / ShapeError / AttrError so
// the caller can classify them.
struct InferenceContext {
  std::vector<DType> input_dtypes;
  std::vector<Shape> input_shapes;
  const AttrMap* attrs = nullptr;
  std::vector<DType> output_dtypes;
  std::vector<Shape> output_shapes;
  std::optional<ErrorKind> error_kind;  // Set by the *Error helpers.

  [[nodiscard]] absl::Status DTypeError(std::string message);
  [[nodiscard]] absl::Status ShapeError(std::string message);
  [[nodiscard]] absl::Status AttrError(std::string message);

  // The attribute `name` of type T, or an AttrError.
  template <typename T>
  [[nodiscard]] absl::StatusOr<const T*> Attr(const std::string& name) {
    const T* v = FindAttr<T>(*attrs, name);
    if (v == nullptr) {
      return AttrError("missing or mistyped attr '" + name + "'");
    }
    return v;
  }
  // Sets the only output.
  void SetOutput(DType dtype, Shape shape) {
    output_dtypes.assign(1, dtype);
    output_shapes.assign(1, std::move(shape));
  }
  // Sets every output (the two lists must be of equal length).
  void SetOutputs(std::vector<DType> dtypes, std::vector<Shape> shapes) {
    output_dtypes = std::move(dtypes);
    output_shapes = std::move(shapes);
  }
};

using InferFn = std::function<absl::Status(InferenceContext&)>;

// An inference function for ops whose one output is input 0's dtype and
// shape (Identity, most custom unary ops; TensorFlow's UnchangedShape).
absl::Status InferSameAsInput(InferenceContext& c);

// The definition of one op type. Every node has at least one output.
struct OpDef {
  std::string type = {};
  int num_inputs = 0;                   // Or kVariadicInputs.
  std::vector<std::string> attrs = {};  // Required attribute names.
  InferFn infer = {};
  // Outputs per node; kOutputsFromInference when the inference function
  // decides (Split's num_splits). AddOp checks what inference set.
  int num_outputs = 1;
  // True for ops whose nodes must run even when nothing reads their output
  // in a step, and must never be pruned as duplicates (Assign, Enqueue).
  bool stateful = false;

  static constexpr int kOutputsFromInference = -1;
  // As num_inputs: any number of inputs, checked by the inference function
  // (Enqueue's components; Call, Cond and While take their functions'
  // arguments and captures).
  static constexpr int kVariadicInputs = -1;
};

// The process-wide op table. The built-in op families are registered on
// first use; users may register more.
//
// Thread safety: all methods may be called concurrently. OpDef pointers stay
// valid for the life of the process.
class OpRegistry {
 public:
  static OpRegistry& Global();

  // kAlreadyExists for a taken type, kInvalidArgument for a def without a
  // type or inference function.
  [[nodiscard]] absl::Status Register(OpDef def);
  // nullptr if not registered.
  const OpDef* Find(std::string_view type) const;
  std::vector<std::string> ListOps() const;

 private:
  OpRegistry();
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<const OpDef>> ops_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace weft

#endif  // WEFT_GRAPH_OP_REGISTRY_H_
