// one_node_model.h — for the ONNX converter tests: OneNode, a one-node
// ONNX model built in C++ (inputs fed at run time or given as initializers,
// typed outputs, attributes), imported with ImportOnnxBytes and run; plus
// OnnxType and FillTensor (weft dtype / NDArray -> ONNX).
#ifndef WEFT_TESTS_ONNX_ONE_NODE_MODEL_H_
#define WEFT_TESTS_ONNX_ONE_NODE_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/ndarray.h"
#include "gtest/gtest.h"
#include "interop/onnx_import.h"
#include "onnx/onnx_pb.h"
#include "runtime/session.h"

namespace weft {
namespace testing {

inline int32_t OnnxType(DType d) {
  switch (d) {
    case DType::kFloat32:
      return onnx::TensorProto::FLOAT;
    case DType::kFloat64:
      return onnx::TensorProto::DOUBLE;
    case DType::kInt32:
      return onnx::TensorProto::INT32;
    case DType::kInt64:
      return onnx::TensorProto::INT64;
    case DType::kBool:
      return onnx::TensorProto::BOOL;
    case DType::kUInt8:
      return onnx::TensorProto::UINT8;
    case DType::kInt8:
      return onnx::TensorProto::INT8;
    case DType::kFloat16:
      return onnx::TensorProto::FLOAT16;
  }
  return 0;
}

inline void FillTensor(const NDArray& a, onnx::TensorProto* t) {
  t->set_data_type(OnnxType(a.dtype()));
  for (int64_t d : a.shape().dims()) t->add_dims(d);
  switch (a.dtype()) {
    case DType::kFloat32:
      for (float v : a.values<float>()) t->add_float_data(v);
      break;
    case DType::kFloat64:
      for (double v : a.values<double>()) t->add_double_data(v);
      break;
    case DType::kInt32:
      for (int32_t v : a.values<int32_t>()) t->add_int32_data(v);
      break;
    case DType::kInt64:
      for (int64_t v : a.values<int64_t>()) t->add_int64_data(v);
      break;
    case DType::kBool:
      for (bool v : a.values<bool>()) t->add_int32_data(v);
      break;
    case DType::kUInt8:
      for (uint8_t v : a.values<uint8_t>()) t->add_int32_data(v);
      break;
    case DType::kInt8:
      for (int8_t v : a.values<int8_t>()) t->add_int32_data(v);
      break;
    case DType::kFloat16:
      for (Float16 v : a.values<Float16>()) t->add_int32_data(v.bits);
      break;
  }
}

// A one-node ONNX model: inputs fed at run time or given as initializers,
// outputs typed; Run imports, runs and fetches every output.
class OneNode {
 public:
  OneNode(std::string op, int opset) {
    model_.set_ir_version(8);
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("one_node_test");
    node_ = graph_->add_node();
    node_->set_op_type(std::move(op));
    node_->set_name("n");
  }

  // A graph input; `unknown_dim` >= 0 makes that dim symbolic.
  OneNode& Input(const std::string& name, NDArray value, int unknown_dim = -1) {
    node_->add_input(name);
    auto* vi = graph_->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(OnnxType(value.dtype()));
    auto* shape = tt->mutable_shape();
    for (int i = 0; i < value.shape().rank(); ++i) {
      if (i == unknown_dim) {
        shape->add_dim()->set_dim_param("n");
      } else {
        shape->add_dim()->set_dim_value(value.shape().dim(i));
      }
    }
    feeds_.push_back(std::move(value));
    return *this;
  }
  OneNode& Initializer(const std::string& name, const NDArray& value) {
    node_->add_input(name);
    auto* t = graph_->add_initializer();
    t->set_name(name);
    FillTensor(value, t);
    return *this;
  }
  OneNode& Omitted() {
    node_->add_input("");
    return *this;
  }
  // An output ("" = not produced) of `rank` symbolic dims (ONNX's checker
  // wants a shape).
  OneNode& Output(const std::string& name, DType dtype, int rank) {
    node_->add_output(name);
    if (name.empty()) return *this;
    auto* vi = graph_->add_output();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(OnnxType(dtype));
    auto* shape = tt->mutable_shape();
    for (int i = 0; i < rank; ++i) {
      shape->add_dim()->set_dim_param(absl::StrCat(name, "_", i));
    }
    return *this;
  }
  OneNode& Int(const std::string& name, int64_t v) {
    auto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  OneNode& Float(const std::string& name, float v) {
    auto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  OneNode& String(const std::string& name, const std::string& v) {
    auto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  OneNode& Strings(const std::string& name, const std::vector<std::string>& v) {
    auto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const std::string& s : v) a->add_strings(s);
    return *this;
  }

  absl::StatusOr<OnnxModel> Import() const {
    return ImportOnnxBytes(model_.SerializeAsString(), "one_node_test.onnx");
  }

  absl::StatusOr<std::vector<NDArray>> Run() const {
    absl::StatusOr<OnnxModel> m = Import();
    if (!m.ok()) return m.status();
    if (m->inputs.size() != feeds_.size()) {
      return absl::InternalError(
          absl::StrCat(m->inputs.size(), " inputs, ", feeds_.size(), " feeds"));
    }
    Feeds feeds;
    for (size_t i = 0; i < feeds_.size(); ++i) {
      feeds.push_back({m->inputs[i], feeds_[i]});
    }
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(m->graph);
    if (!s.ok()) return s.status();
    return (*s)->Run(feeds, m->outputs);
  }

 private:
  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  onnx::NodeProto* node_;
  std::vector<NDArray> feeds_;
};

}  // namespace testing
}  // namespace weft

#endif  // WEFT_TESTS_ONNX_ONE_NODE_MODEL_H_
