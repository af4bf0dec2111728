// weft::ImportOnnx / ImportOnnxBytes (interop/onnx_import.h) as a whole:
// the OnnxModel it returns, options (graph_name, device, input_shapes,
// constant_inputs), node names and provenance, run-time errors pointing at
// the model, the one error listing every unsupported node, import-time
// folding of shape subgraphs, the fusions around convolutions
// (onnx_fusion.h, checked against the unfused import), and malformed, truncated
// or hostile files (clean errors naming the source, never a crash). Models are
// built here as onnx::ModelProtos; one comes from Debian's libonnx-testdata
// (tools/bootstrap.sh installs it).
#include "interop/onnx_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "graph/attr.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/node.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "runtime/session.h"
#include "tests/testing/files.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kInt64 = onnx::TensorProto::INT64;
constexpr int32_t kInt32 = onnx::TensorProto::INT32;
constexpr int64_t kSymbolic = -1;  // A dim_param dim in AddInput's dims.

// ------------------------------------------------------ model building --

onnx::ModelProto NewModel(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("onnx_import_test");
  onnx::OperatorSetIdProto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name("test_graph");
  return m;
}

void SetTensorType(onnx::ValueInfoProto* vi, int32_t elem_type,
                   const std::vector<int64_t>& dims) {
  onnx::TypeProto::Tensor* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == kSymbolic) {
      shape->add_dim()->set_dim_param(absl::StrCat(vi->name(), "_d", i));
    } else {
      shape->add_dim()->set_dim_value(dims[i]);
    }
  }
}

void AddInput(onnx::ModelProto& m, const std::string& name, int32_t elem_type,
              const std::vector<int64_t>& dims) {
  onnx::ValueInfoProto* vi = m.mutable_graph()->add_input();
  vi->set_name(name);
  SetTensorType(vi, elem_type, dims);
}

// An output of `rank` symbolic dims.
void AddOutput(onnx::ModelProto& m, const std::string& name, int32_t elem_type,
               int rank) {
  onnx::ValueInfoProto* vi = m.mutable_graph()->add_output();
  vi->set_name(name);
  SetTensorType(vi, elem_type, std::vector<int64_t>(rank, kSymbolic));
}

onnx::NodeProto* AddNode(onnx::ModelProto& m, const std::string& op,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs,
                         const std::string& name) {
  onnx::NodeProto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string& i : inputs) n->add_input(i);
  for (const std::string& o : outputs) n->add_output(o);
  return n;
}

void SetIntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void SetStringAttr(onnx::NodeProto* n, const std::string& name,
                   const std::string& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

onnx::TensorProto* AddFloatInit(onnx::ModelProto& m, const std::string& name,
                                const std::vector<int64_t>& dims,
                                const std::vector<float>& values) {
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(kFloat);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
  return t;
}

onnx::TensorProto* AddInt64Init(onnx::ModelProto& m, const std::string& name,
                                const std::vector<int64_t>& dims,
                                const std::vector<int64_t>& values) {
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(kInt64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
  return t;
}

absl::StatusOr<OnnxModel> Import(const onnx::ModelProto& m,
                                 const std::string& source,
                                 const OnnxImportOptions& options = {}) {
  return ImportOnnxBytes(m.SerializeAsString(), source, options);
}

NDArray F32(const std::vector<float>& v, const Shape& s) {
  return *NDArray::Create<float>(v, s);
}

std::vector<float> Floats(const NDArray& a) {
  auto v = a.values<float>();
  return std::vector<float>(v.begin(), v.end());
}

std::multiset<std::string> OpTypes(const Graph& g) {
  std::multiset<std::string> out;
  for (const Node* n : g.nodes()) out.insert(n->op());
  return out;
}

// y = Relu(MatMul(x, w) + b), z = Neg(y); w (also listed as a graph
// input, as IR < 4 exporters did) and b are initializers.
onnx::ModelProto DenseModel() {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {kSymbolic, 3});
  AddInput(m, "w", kFloat, {3, 2});
  AddFloatInit(m, "w", {3, 2}, {1, 2, 3, 4, 5, 6});
  AddFloatInit(m, "b", {2}, {-10, 0.5f});
  AddNode(m, "MatMul", {"x", "w"}, {"xw"}, "dense/matmul");
  AddNode(m, "Add", {"xw", "b"}, {"pre"}, "dense/add");
  AddNode(m, "Relu", {"pre"}, {"y"}, "dense/relu");
  AddNode(m, "Neg", {"y"}, {"z"}, "neg");
  AddOutput(m, "y", kFloat, 2);
  AddOutput(m, "z", kFloat, 2);
  return m;
}

// --------------------------------------------------------- basic import --

TEST(OnnxImport, SmallModelImportsAndRuns) {
  absl::StatusOr<OnnxModel> m = Import(DenseModel(), "dense.onnx");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->opset, 13);
  EXPECT_EQ(m->graph.name(), "test_graph");
  // w is an initializer listed among the graph inputs: not a Placeholder.
  EXPECT_EQ(m->input_names, std::vector<std::string>({"x"}));
  EXPECT_EQ(m->output_names, std::vector<std::string>({"y", "z"}));
  ASSERT_EQ(m->inputs.size(), 1u);
  ASSERT_EQ(m->outputs.size(), 2u);
  EXPECT_EQ(m->inputs[0].node()->op(), "Placeholder");
  EXPECT_EQ(m->inputs[0].dtype(), DType::kFloat32);
  EXPECT_EQ(m->inputs[0].shape(), Shape({-1, 3}));

  auto session = Session::Create(m->graph);
  ASSERT_TRUE(session.ok()) << session.status();
  // x = [[1, 0, 1], [0, 1, -1]]; xw = [[6, 8], [-2, -2]].
  absl::StatusOr<std::vector<NDArray>> out = (*session)->Run(
      {{m->inputs[0], F32({1, 0, 1, 0, 1, -1}, Shape{2, 3})}}, m->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].shape(), Shape({2, 2}));
  EXPECT_EQ(Floats((*out)[0]), std::vector<float>({0, 8.5f, 0, 0}));
  EXPECT_EQ(Floats((*out)[1]), std::vector<float>({0, -8.5f, 0, 0}));
}

TEST(OnnxImport, InitializersBecomeConstNodes) {
  absl::StatusOr<OnnxModel> m = Import(DenseModel(), "dense.onnx");
  ASSERT_TRUE(m.ok()) << m.status();
  std::vector<std::vector<float>> const_values;
  int placeholders = 0;
  for (const Node* n : m->graph.nodes()) {
    if (n->op() == "Placeholder") ++placeholders;
    if (n->op() != "Const") continue;
    const NDArray* v = FindAttr<NDArray>(n->attrs(), "value");
    ASSERT_NE(v, nullptr) << n->name();
    if (v->dtype() == DType::kFloat32) const_values.push_back(Floats(*v));
  }
  EXPECT_EQ(placeholders, 1);
  std::set<std::vector<float>> got(const_values.begin(), const_values.end());
  EXPECT_TRUE(got.contains(std::vector<float>({1, 2, 3, 4, 5, 6})))
      << m->graph.DebugString();
  EXPECT_TRUE(got.contains(std::vector<float>({-10, 0.5f})))
      << m->graph.DebugString();
}

TEST(OnnxImport, GraphNameOption) {
  absl::StatusOr<OnnxModel> m =
      Import(DenseModel(), "dense.onnx", {.graph_name = "renamed"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->graph.name(), "renamed");
}

TEST(OnnxImport, DeviceOptionPlacesEveryNode) {
  absl::StatusOr<OnnxModel> m =
      Import(DenseModel(), "dense.onnx", {.device = "cpu:0"});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_GT(m->graph.num_nodes(), 5);
  for (const Node* n : m->graph.nodes()) {
    EXPECT_EQ(n->device(), "cpu:0") << n->name() << " (" << n->op() << ")";
  }
  absl::StatusOr<OnnxModel> unplaced = Import(DenseModel(), "dense.onnx");
  ASSERT_TRUE(unplaced.ok()) << unplaced.status();
  for (const Node* n : unplaced->graph.nodes()) {
    EXPECT_EQ(n->device(), "") << n->name();
  }
  auto session = Session::Create(m->graph);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run({{m->inputs[0], F32({1, 1, 1}, Shape{1, 3})}},
                             {m->outputs[0]});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Floats((*out)[0]), std::vector<float>({0, 12.5f}));
}

// A real model from ONNX's own test data, read from its path.
TEST(OnnxImport, ImportsLibOnnxTestdataModel) {
  const std::string path =
      "/usr/share/libonnx-testdata/data/node/test_gemm_default_matrix_bias/"
      "model.onnx";
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0)
      << path << " is missing: tools/bootstrap.sh installs Debian's "
      << "libonnx-testdata";
  absl::StatusOr<OnnxModel> m = ImportOnnx(path);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->input_names, std::vector<std::string>({"a", "b", "c"}));
  EXPECT_EQ(m->output_names, std::vector<std::string>({"y"}));
  EXPECT_EQ(m->inputs[0].shape(), Shape({3, 6}));
  EXPECT_EQ(m->outputs[0].provenance().Site().file, "model.onnx");
  EXPECT_TRUE(Session::Create(m->graph).ok());
}

TEST(OnnxImport, MissingFileIsNotFound) {
  absl::StatusOr<OnnxModel> m = ImportOnnx("/nonexistent/dir/model.onnx");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("/nonexistent/dir/model.onnx"));
}

// ---------------------------------------------------------------- names --

TEST(OnnxImport, NamesAreSanitisedAndUnique) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "input:0", kFloat, {2});
  AddNode(m, "Relu", {"input:0"}, {"a"}, "/model/layer.0/Relu");
  AddNode(m, "Neg", {"a"}, {"b"}, "has space:colon");
  AddNode(m, "Abs", {"b"}, {"c"}, "dup");
  AddNode(m, "Neg", {"c"}, {"d"}, "dup");
  AddNode(m, "Relu", {"d"}, {"out:0"}, "");  // Named after its output.
  AddNode(m, "Neg", {"out:0"}, {"e"}, "///");
  AddOutput(m, "e", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "names.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  const Graph& g = im->graph;

  std::set<std::string> names;
  for (const Node* n : g.nodes()) {
    EXPECT_TRUE(names.insert(n->name()).second) << "duplicate " << n->name();
    EXPECT_FALSE(n->name().empty());
    EXPECT_EQ(n->name().find_first_of(": "), std::string::npos) << n->name();
    EXPECT_NE(n->name().front(), '/') << n->name();
    EXPECT_NE(n->name().back(), '/') << n->name();
  }
  ASSERT_NE(g.FindNode("model/layer.0/Relu"), nullptr) << g.DebugString();
  EXPECT_EQ(g.FindNode("model/layer.0/Relu")->op(), "Relu");
  ASSERT_NE(g.FindNode("has_space_colon"), nullptr) << g.DebugString();
  EXPECT_EQ(g.FindNode("has_space_colon")->op(), "Neg");
  ASSERT_NE(g.FindNode("out_0"), nullptr) << g.DebugString();
  EXPECT_EQ(g.FindNode("out_0")->op(), "Relu");
  EXPECT_EQ(im->inputs[0].node()->name(), "input_0");
  // The two "dup"s: both kept, under distinct names starting with "dup".
  int dups = 0;
  for (const Node* n : g.nodes()) {
    if (absl::StartsWith(n->name(), "dup")) ++dups;
  }
  EXPECT_EQ(dups, 2) << g.DebugString();
  // The original ONNX names are kept for feeding and fetching.
  EXPECT_EQ(im->input_names, std::vector<std::string>({"input:0"}));

  auto session = Session::Create(g);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out =
      (*session)->Run({{im->inputs[0], F32({-1, 2}, Shape{2})}}, im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  // relu -> [0, 2], neg -> [0, -2], abs -> [0, 2], neg -> [0, -2],
  // relu -> [0, 0], neg -> [0, 0].
  EXPECT_EQ(Floats((*out)[0]), std::vector<float>({0, 0}));
}

// ----------------------------------------------------------- provenance --

TEST(OnnxImport, ProvenanceNamesModelFileAndNode) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {2});
  AddNode(m, "Abs", {"x"}, {"a"}, "first");
  AddNode(m, "Relu", {"a"}, {"r"}, "act");
  AddNode(m, "Neg", {"r"}, {"y"}, "");
  AddOutput(m, "y", kFloat, 1);
  const std::string path = testing::TempPath("prov_model.onnx");
  {
    std::ofstream f(path, std::ios::binary);
    ASSERT_TRUE(m.SerializeToOstream(&f));
  }
  absl::StatusOr<OnnxModel> im = ImportOnnx(path);
  ASSERT_TRUE(im.ok()) << im.status();

  SourceSite neg = im->outputs[0].provenance().Site();
  EXPECT_EQ(neg.file, "prov_model.onnx");  // The file name, not the path.
  EXPECT_EQ(neg.line, 2);
  EXPECT_THAT(neg.function, HasSubstr("ONNX Neg"));

  const Node* relu = im->graph.FindNode("act");
  ASSERT_NE(relu, nullptr) << im->graph.DebugString();
  SourceSite site = relu->provenance().Site();
  EXPECT_EQ(site.file, "prov_model.onnx");
  EXPECT_EQ(site.line, 1);
  EXPECT_THAT(site.function, HasSubstr("ONNX Relu 'act'"));

  const Node* abs = im->graph.FindNode("first");
  ASSERT_NE(abs, nullptr);
  EXPECT_EQ(abs->provenance().Site().line, 0);
  EXPECT_THAT(abs->provenance().Site().function, HasSubstr("ONNX Abs 'first'"));

  // ImportOnnxBytes: the source name's last path component.
  absl::StatusOr<OnnxModel> b = Import(m, "some/dir/bytes_model.onnx");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->outputs[0].provenance().Site().file, "bytes_model.onnx");
}

TEST(OnnxImport, RuntimeGatherErrorNamesModelAndNode) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "idx", kInt64, {1});
  AddFloatInit(m, "table", {3}, {10, 20, 30});
  AddNode(m, "Identity", {"idx"}, {"idx2"}, "pass");
  AddNode(m, "Gather", {"table", "idx2"}, {"y"}, "pick");
  AddOutput(m, "y", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "models/gather_model.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  auto session = Session::Create(im->graph);
  ASSERT_TRUE(session.ok()) << session.status();

  auto good = (*session)->Run({{im->inputs[0], NDArray::Vector<int64_t>({2})}},
                              im->outputs);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(Floats((*good)[0]), std::vector<float>({30}));

  auto bad = (*session)->Run({{im->inputs[0], NDArray::Vector<int64_t>({7})}},
                             im->outputs);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("gather_model.onnx"));
  EXPECT_THAT(bad.status().message(), HasSubstr("ONNX Gather 'pick'"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(bad.status());
  ASSERT_TRUE(info.has_value()) << bad.status();
  EXPECT_EQ(info->kind, ErrorKind::kKernel);
  EXPECT_EQ(info->op_type, "Gather");
  EXPECT_EQ(info->node_name, "pick");
  EXPECT_EQ(info->site.file, "gather_model.onnx");
  EXPECT_EQ(info->site.line, 1);
  EXPECT_THAT(info->site.function, HasSubstr("ONNX Gather 'pick'"));
}

TEST(OnnxImport, RuntimeIntegerDivByZeroNamesModelAndNode) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "a", kInt64, {2});
  AddInput(m, "b", kInt64, {2});
  AddNode(m, "Div", {"a", "b"}, {"q"}, "divide");
  AddOutput(m, "q", kInt64, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "div.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  auto session = Session::Create(im->graph);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out =
      (*session)->Run({{im->inputs[0], NDArray::Vector<int64_t>({6, 7})},
                       {im->inputs[1], NDArray::Vector<int64_t>({3, 0})}},
                      im->outputs);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("div.onnx"));
  EXPECT_THAT(out.status().message(), HasSubstr("ONNX Div 'divide'"));
  EXPECT_THAT(out.status().message(), HasSubstr("division by zero"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(out.status());
  ASSERT_TRUE(info.has_value()) << out.status();
  EXPECT_EQ(info->kind, ErrorKind::kKernel);
  EXPECT_EQ(info->site.file, "div.onnx");
  EXPECT_EQ(info->site.line, 0);
}

// ---------------------------------------------------------- unsupported --

// Two unsupported ops (one of ONNX's, one of a custom domain), an
// unsupported attribute value, and a uint16 input: one kUnimplemented error
// lists them all.
TEST(OnnxImport, OneErrorListsEveryUnsupportedNode) {
  onnx::ModelProto m = NewModel();
  onnx::OperatorSetIdProto* custom = m.add_opset_import();
  custom->set_domain("com.example");
  custom->set_version(1);
  AddInput(m, "x", kFloat, {2, 2});
  AddInput(m, "bytes", onnx::TensorProto::UINT16, {4});
  AddInt64Init(m, "pads", {4}, {1, 1, 1, 1});
  AddNode(m, "RandomUniformLike", {"x"}, {"coin"}, "coin_node");
  AddNode(m, "FancyOp", {"x"}, {"fancy_out"}, "custom_node")
      ->set_domain("com.example");
  SetStringAttr(AddNode(m, "Pad", {"x", "pads"}, {"padded"}, "wrap_pad"),
                "mode", "wrap");
  AddNode(m, "Relu", {"x"}, {"fine"}, "fine");
  AddOutput(m, "coin", kFloat, 2);
  AddOutput(m, "fancy_out", kFloat, 2);
  AddOutput(m, "padded", kFloat, 2);
  AddOutput(m, "fine", kFloat, 2);
  AddOutput(m, "bytes", onnx::TensorProto::UINT16, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "unsupported.onnx");
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), absl::StatusCode::kUnimplemented)
      << im.status();
  const std::string msg(im.status().message());
  EXPECT_THAT(msg, HasSubstr("unsupported.onnx"));
  EXPECT_THAT(msg, HasSubstr("RandomUniformLike 'coin_node'"));
  EXPECT_THAT(msg, HasSubstr("'custom_node'"));
  EXPECT_THAT(msg, HasSubstr("com.example"));
  EXPECT_THAT(msg, HasSubstr("Pad 'wrap_pad'"));
  EXPECT_THAT(msg, HasSubstr("wrap"));
  EXPECT_THAT(msg, HasSubstr("'bytes'"));
  EXPECT_THAT(msg, HasSubstr("uint16"));
  EXPECT_THAT(msg, HasSubstr("4 unsupported nodes"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("'fine'")));
}

// Each kind of refusal on its own, so one missing from the combined error
// above is told apart from a kind not reported at all.
TEST(OnnxImport, UnsupportedAttributeValueAndDtypeAreListed) {
  {
    onnx::ModelProto m = NewModel();
    AddInput(m, "x", kFloat, {2, 2});
    AddInt64Init(m, "pads", {4}, {1, 1, 1, 1});
    SetStringAttr(AddNode(m, "Pad", {"x", "pads"}, {"y"}, "wrap_pad"), "mode",
                  "wrap");
    AddNode(m, "Pad", {"x", "pads"}, {"z"}, "ok_pad");
    AddOutput(m, "y", kFloat, 2);
    AddOutput(m, "z", kFloat, 2);
    absl::StatusOr<OnnxModel> im = Import(m, "pad.onnx");
    ASSERT_FALSE(im.ok());
    EXPECT_EQ(im.status().code(), absl::StatusCode::kUnimplemented);
    EXPECT_THAT(im.status().message(), HasSubstr("Pad 'wrap_pad'"));
    EXPECT_THAT(im.status().message(), HasSubstr("mode 'wrap'"));
    EXPECT_THAT(im.status().message(), ::testing::Not(HasSubstr("ok_pad")));
  }
  {
    // A dtype weft does not have at all.
    onnx::ModelProto m = NewModel();
    AddInput(m, "pixels", onnx::TensorProto::UINT16, {4});
    AddInput(m, "x", kFloat, {4});
    AddNode(m, "Relu", {"x"}, {"y"}, "r");
    AddOutput(m, "y", kFloat, 1);
    absl::StatusOr<OnnxModel> im = Import(m, "u16.onnx");
    ASSERT_FALSE(im.ok());
    EXPECT_EQ(im.status().code(), absl::StatusCode::kUnimplemented);
    EXPECT_THAT(im.status().message(), HasSubstr("u16.onnx"));
    EXPECT_THAT(im.status().message(), HasSubstr("'pixels'"));
    EXPECT_THAT(im.status().message(), HasSubstr("uint16"));
  }
  {
    // Casting a storage dtype imports; an unsupported op after it is
    // listed alone.
    onnx::ModelProto m = NewModel();
    AddInput(m, "pixels", onnx::TensorProto::UINT8, {4});
    SetIntAttr(AddNode(m, "Cast", {"pixels"}, {"f"}, "to_float"), "to",
               onnx::TensorProto::FLOAT);
    AddNode(m, "RandomUniformLike", {"f"}, {"u"}, "coin");
    AddOutput(m, "u", kFloat, 1);
    absl::StatusOr<OnnxModel> im = Import(m, "u8.onnx");
    ASSERT_FALSE(im.ok());
    EXPECT_EQ(im.status().code(), absl::StatusCode::kUnimplemented);
    const std::string msg(im.status().message());
    EXPECT_THAT(msg, HasSubstr("1 unsupported node"));
    EXPECT_THAT(msg, HasSubstr("RandomUniformLike 'coin'"));
    EXPECT_THAT(msg, ::testing::Not(HasSubstr("to_float")));
  }
}

// Ops on uint8, int8 and float16, which weft's ops do not compute on, run
// in int32 / float32 between casts: integer results wrap, float16 results
// are rounded once per op, a float-only op (MaxPool) takes 8-bit values
// in float32.
TEST(OnnxImport, StorageDTypesAreComputedInAWiderDType) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "a", onnx::TensorProto::UINT8, {1, 1, 1, 3});
  AddInput(m, "b", onnx::TensorProto::UINT8, {1, 1, 1, 3});
  AddInput(m, "h", onnx::TensorProto::FLOAT16, {2});
  AddInput(m, "s", onnx::TensorProto::INT8, {3});
  AddNode(m, "Add", {"a", "b"}, {"sum"}, "add_u8");
  AddNode(m, "Relu", {"s"}, {"relu"}, "relu_i8");
  AddNode(m, "Mul", {"h", "h"}, {"sq"}, "mul_f16");
  onnx::NodeProto* pool = AddNode(m, "MaxPool", {"a"}, {"pooled"}, "pool_u8");
  onnx::AttributeProto* k = pool->add_attribute();
  k->set_name("kernel_shape");
  k->set_type(onnx::AttributeProto::INTS);
  k->add_ints(1);
  k->add_ints(2);
  AddOutput(m, "sum", onnx::TensorProto::UINT8, 4);
  AddOutput(m, "relu", onnx::TensorProto::INT8, 1);
  AddOutput(m, "sq", onnx::TensorProto::FLOAT16, 1);
  AddOutput(m, "pooled", onnx::TensorProto::UINT8, 4);
  absl::StatusOr<OnnxModel> im = Import(m, "compute.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(im->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out = (*s)->Run(
      {{im->inputs[0],
        *NDArray::Create<uint8_t>({200, 7, 255}, Shape{1, 1, 1, 3})},
       {im->inputs[1],
        *NDArray::Create<uint8_t>({100, 8, 1}, Shape{1, 1, 1, 3})},
       {im->inputs[2],
        *NDArray::Create<Float16>({FloatToFloat16(1.5f), FloatToFloat16(300)},
                                  Shape{2})},
       {im->inputs[3], *NDArray::Create<int8_t>({-5, 0, 7}, Shape{3})}},
      im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].dtype(), DType::kUInt8);
  EXPECT_THAT((*out)[0].values<uint8_t>(), ::testing::ElementsAre(44, 15, 0));
  EXPECT_THAT((*out)[1].values<int8_t>(), ::testing::ElementsAre(0, 0, 7));
  // 1.5^2 = 2.25; 300^2 = 90000 overflows float16: inf.
  EXPECT_EQ(Float16ToFloat((*out)[2].values<Float16>()[0]), 2.25f);
  EXPECT_TRUE(std::isinf(Float16ToFloat((*out)[2].values<Float16>()[1])));
  EXPECT_THAT((*out)[3].values<uint8_t>(), ::testing::ElementsAre(200, 255));
}

// ------------------------------------------------------ local functions --

// Adds the local function local.<name>(inputs) -> outputs with `nodes`
// (op type, inputs, outputs, and an optional attribute referring to the
// call's attribute `ref`).
struct FnNode {
  std::string op;
  std::vector<std::string> in = {}, out = {};
  std::string attr = "", ref = "";
  std::string domain = "";
};
void AddFunction(onnx::ModelProto& m, const std::string& name,
                 const std::vector<std::string>& in,
                 const std::vector<std::string>& out,
                 const std::vector<std::string>& attrs,
                 const std::vector<FnNode>& nodes) {
  onnx::FunctionProto* f = m.add_functions();
  f->set_name(name);
  f->set_domain("local");
  for (const std::string& i : in) f->add_input(i);
  for (const std::string& o : out) f->add_output(o);
  for (const std::string& a : attrs) f->add_attribute(a);
  onnx::OperatorSetIdProto* o = f->add_opset_import();
  o->set_domain("");
  o->set_version(13);
  onnx::OperatorSetIdProto* l = f->add_opset_import();
  l->set_domain("local");
  l->set_version(1);
  for (const FnNode& fn : nodes) {
    onnx::NodeProto* n = f->add_node();
    n->set_op_type(fn.op);
    n->set_domain(fn.domain);
    for (const std::string& i : fn.in) n->add_input(i);
    for (const std::string& o2 : fn.out) n->add_output(o2);
    if (!fn.attr.empty()) {
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name(fn.attr);
      a->set_ref_attr_name(fn.ref);
      a->set_type(onnx::AttributeProto::FLOAT);
    }
  }
}

// A model-local function (with an attribute reference) called twice, and
// one calling another: inlined before import, each call's values apart.
TEST(OnnxImport, LocalFunctionsAreInlined) {
  onnx::ModelProto m = NewModel();
  onnx::OperatorSetIdProto* l = m.add_opset_import();
  l->set_domain("local");
  l->set_version(1);
  // ScaleAdd(x, y; alpha) = x * alpha + y.
  AddFunction(
      m, "ScaleAdd", {"x", "y"}, {"z"}, {"alpha"},
      {{.op = "Constant", .out = {"a"}, .attr = "value_float", .ref = "alpha"},
       {.op = "Mul", .in = {"x", "a"}, .out = {"t"}},
       {.op = "Add", .in = {"t", "y"}, .out = {"z"}}});
  // Twice(x) = ScaleAdd(x, x; alpha = 1): a call inside a function.
  AddFunction(
      m, "Twice", {"x"}, {"z"}, {},
      {{.op = "Constant", .out = {"zero"}, .attr = ""},
       {.op = "ScaleAdd", .in = {"x", "x"}, .out = {"z"}, .domain = "local"}});
  // The Constant above needs a value: give it one.
  onnx::AttributeProto* v =
      m.mutable_functions(1)->mutable_node(0)->add_attribute();
  v->set_name("value_float");
  v->set_type(onnx::AttributeProto::FLOAT);
  v->set_f(0);
  AddInput(m, "p", kFloat, {2});
  AddInput(m, "q", kFloat, {2});
  auto call = [&](const std::string& fn, std::vector<std::string> in,
                  const std::string& out, std::optional<float> alpha) {
    onnx::NodeProto* n = AddNode(m, fn, in, {out}, out + "_call");
    n->set_domain("local");
    if (alpha) {
      onnx::AttributeProto* a = n->add_attribute();
      a->set_name("alpha");
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(*alpha);
    }
  };
  call("ScaleAdd", {"p", "q"}, "r1", 3.0f);   // 3p + q
  call("ScaleAdd", {"r1", "q"}, "r2", 0.5f);  // (3p + q) / 2 + q
  call("Twice", {"q"}, "r3", std::nullopt);   // ScaleAdd(q, q) without alpha.
  AddOutput(m, "r2", kFloat, 1);
  AddOutput(m, "r3", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "functions.onnx");
  // Twice's inner call has no alpha: the Constant loses its value and the
  // import says so; give Twice an alpha of its own instead.
  ASSERT_FALSE(im.ok());
  EXPECT_THAT(im.status().message(), HasSubstr("Constant"));

  onnx::NodeProto* inner = m.mutable_functions(1)->mutable_node(1);
  onnx::AttributeProto* a = inner->add_attribute();
  a->set_name("alpha");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(1.0f);
  im = Import(m, "functions.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(im->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out =
      (*s)->Run({{im->inputs[0], F32({1, 2}, Shape{2})},
                 {im->inputs[1], F32({10, 20}, Shape{2})}},
                im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT((*out)[0].values<float>(), ::testing::ElementsAre(16.5f, 33.0f));
  EXPECT_THAT((*out)[1].values<float>(), ::testing::ElementsAre(20.0f, 40.0f));
}

TEST(OnnxImport, LocalFunctionExpansionIsBounded) {
  // Each level calls the function twice: 2^k calls at depth k.
  onnx::ModelProto m = NewModel();
  onnx::OperatorSetIdProto* l = m.add_opset_import();
  l->set_domain("local");
  l->set_version(1);
  AddFunction(m, "Split", {"x"}, {"y"}, {},
              {{.op = "Split", .in = {"x"}, .out = {"a"}, .domain = "local"},
               {.op = "Split", .in = {"a"}, .out = {"y"}, .domain = "local"}});
  AddInput(m, "p", kFloat, {2});
  AddNode(m, "Split", {"p"}, {"r"}, "grow")->set_domain("local");
  AddOutput(m, "r", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "grow.onnx");
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(),
              HasSubstr("ONNX model grow.onnx: its local functions expand to "
                        "more than 100000 calls"));
}

TEST(OnnxImport, RecursiveLocalFunctionIsAnError) {
  onnx::ModelProto m = NewModel();
  onnx::OperatorSetIdProto* l = m.add_opset_import();
  l->set_domain("local");
  l->set_version(1);
  AddFunction(
      m, "Forever", {"x"}, {"y"}, {},
      {{.op = "Forever", .in = {"x"}, .out = {"y"}, .domain = "local"}});
  AddInput(m, "p", kFloat, {2});
  AddNode(m, "Forever", {"p"}, {"r"}, "loop")->set_domain("local");
  AddOutput(m, "r", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "recursive.onnx");
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(),
              HasSubstr("ONNX model recursive.onnx: its local functions call "
                        "each other more than 16 deep"));
}

// DFT of a real signal against the definition; one whose length is only
// known at run time is listed.
TEST(OnnxImport, DftMatchesTheDefinitionAndNeedsKnownDims) {
  onnx::ModelProto m = NewModel(17);
  AddInput(m, "x", kFloat, {1, 4, 1});
  AddNode(m, "DFT", {"x"}, {"y"}, "dft");
  AddOutput(m, "y", kFloat, 3);
  absl::StatusOr<OnnxModel> im = Import(m, "dft.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(im->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out = (*s)->Run(
      {{im->inputs[0], F32({1, 2, 3, 4}, Shape{1, 4, 1})}}, im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  // X_k = sum_j x_j e^(-2 pi i jk / 4): 10, -2+2i, -2, -2-2i.
  const std::vector<float> want = {10, 0, -2, 2, -2, 0, -2, -2};
  ASSERT_EQ((*out)[0].shape(), (Shape{1, 4, 2}));
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR((*out)[0].values<float>()[i], want[i], 1e-5) << i;
  }
  onnx::ModelProto u = NewModel(17);
  AddInput(u, "x", kFloat, {1, kSymbolic, 1});
  AddNode(u, "DFT", {"x"}, {"y"}, "dft");
  AddOutput(u, "y", kFloat, 3);
  absl::StatusOr<OnnxModel> bad = Import(u, "dft_unknown.onnx");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("whose dims are not all known at import"));
  // A length whose cos/sin tables would be huge is listed, not built.
  onnx::ModelProto big = NewModel(17);
  AddInput(big, "x", kFloat, {1, 4, 1});
  AddInt64Init(big, "len", {}, {int64_t{1} << 23});
  AddNode(big, "DFT", {"x", "len"}, {"y"}, "dft");
  AddOutput(big, "y", kFloat, 3);
  absl::StatusOr<OnnxModel> huge = Import(big, "dft_huge.onnx");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(huge.status().message(),
              HasSubstr("a DFT of length 8388608 (its 8388608 x 8388608 "
                        "tables would pass 16777216 entries)"));
}

TEST(OnnxImport, MelWeightMatrixRefusesOutOfRangeInputs) {
  onnx::ModelProto m = NewModel(17);
  const std::vector<std::pair<std::string, float>> in = {
      {"bins", 0}, {"dft", 16}, {"rate", 8192}, {"lo", 0}, {"hi", 4096}};
  for (const auto& [name, v] : in) {
    onnx::TensorProto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    const bool is_float = name == "lo" || name == "hi";
    t->set_data_type(is_float ? kFloat : kInt64);
    if (is_float) {
      t->add_float_data(v);
    } else {
      t->add_int64_data(static_cast<int64_t>(v));
    }
  }
  AddNode(m, "MelWeightMatrix", {"bins", "dft", "rate", "lo", "hi"}, {"w"},
          "mel");
  AddOutput(m, "w", kFloat, 2);
  absl::StatusOr<OnnxModel> im = Import(m, "mel.onnx");
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(),
              HasSubstr("MelWeightMatrix inputs out of range: 0 mel bins"));
}

// MatMulInteger in int32, with a zero point per tensor and per row.
TEST(OnnxImport, MatMulIntegerAndItsZeroPoints) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "a", onnx::TensorProto::UINT8, {2, 2});
  AddInput(m, "b", onnx::TensorProto::INT8, {2, 1});
  AddInput(m, "azp", onnx::TensorProto::UINT8, {});
  AddNode(m, "MatMulInteger", {"a", "b", "azp"}, {"y"}, "mmi");
  AddOutput(m, "y", kInt32, 2);
  absl::StatusOr<OnnxModel> im = Import(m, "mmi.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(im->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out = (*s)->Run(
      {{im->inputs[0],
        *NDArray::Create<uint8_t>({10, 20, 255, 0}, Shape{2, 2})},
       {im->inputs[1], *NDArray::Create<int8_t>({-1, 2}, Shape{2, 1})},
       {im->inputs[2], NDArray::Scalar<uint8_t>(10)}},
      im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  // (a - 10) x b: [0, 10] . [-1, 2] = 20; [245, -10] . [-1, 2] = -265.
  EXPECT_THAT((*out)[0].values<int32_t>(), ::testing::ElementsAre(20, -265));

  // A zero point per row of A; one of the wrong length is listed.
  for (int64_t len : {2, 3}) {
    onnx::ModelProto rows = NewModel();
    AddInput(rows, "a", onnx::TensorProto::UINT8, {2, 2});
    AddInput(rows, "b", onnx::TensorProto::UINT8, {2, 1});
    AddInput(rows, "azp", onnx::TensorProto::UINT8, {len});
    AddNode(rows, "MatMulInteger", {"a", "b", "azp"}, {"y"}, "rows");
    AddOutput(rows, "y", kInt32, 2);
    absl::StatusOr<OnnxModel> r = Import(rows, "rows.onnx");
    if (len == 3) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
      EXPECT_THAT(r.status().message(),
                  HasSubstr("MatMulInteger 'rows'): zero point [3] for input "
                            "[2,2] (one value, or one per index of axis -2)"));
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status();
    absl::StatusOr<std::unique_ptr<Session>> rs = Session::Create(r->graph);
    ASSERT_TRUE(rs.ok()) << rs.status();
    absl::StatusOr<std::vector<NDArray>> ro = (*rs)->Run(
        {{r->inputs[0],
          *NDArray::Create<uint8_t>({10, 20, 255, 0}, Shape{2, 2})},
         {r->inputs[1], *NDArray::Create<uint8_t>({1, 2}, Shape{2, 1})},
         {r->inputs[2], NDArray::Vector<uint8_t>({10, 255})}},
        r->outputs);
    ASSERT_TRUE(ro.ok()) << ro.status();
    // [0, 10] . [1, 2] = 20; [0, -255] . [1, 2] = -510.
    EXPECT_THAT((*ro)[0].values<int32_t>(), ::testing::ElementsAre(20, -510));
  }
}

// uint8, int8 and float16 tensors: read from initializers and inputs, cast,
// moved by the data-movement ops, and quantized / dequantized.
TEST(OnnxImport, StorageDTypesCastAndQuantize) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "q", onnx::TensorProto::UINT8, {4});
  AddInput(m, "h", onnx::TensorProto::FLOAT16, {2});
  onnx::TensorProto* scale = m.mutable_graph()->add_initializer();
  scale->set_name("scale");
  scale->set_data_type(kFloat);
  scale->add_float_data(0.5f);
  onnx::TensorProto* zp = m.mutable_graph()->add_initializer();
  zp->set_name("zp");
  zp->set_data_type(onnx::TensorProto::UINT8);
  zp->add_int32_data(128);
  AddNode(m, "DequantizeLinear", {"q", "scale", "zp"}, {"deq"}, "deq");
  AddNode(m, "QuantizeLinear", {"deq", "scale", "zp"}, {"req"}, "req");
  SetIntAttr(AddNode(m, "Cast", {"h"}, {"hf"}, "h_to_f"), "to", kFloat);
  AddNode(m, "Identity", {"q"}, {"q_id"}, "q_id");
  AddOutput(m, "deq", kFloat, 1);
  AddOutput(m, "req", onnx::TensorProto::UINT8, 1);
  AddOutput(m, "hf", kFloat, 1);
  AddOutput(m, "q_id", onnx::TensorProto::UINT8, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "storage.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(im->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  const NDArray q = *NDArray::Create<uint8_t>({0, 127, 128, 255}, Shape{4});
  const NDArray h = *NDArray::Create<Float16>(
      {Float16{0x3c00}, Float16{0xc100}}, Shape{2});  // 1.0, -2.5.
  absl::StatusOr<std::vector<NDArray>> out =
      (*s)->Run({{im->inputs[0], q}, {im->inputs[1], h}}, im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT((*out)[0].values<float>(),
              ::testing::ElementsAre(-64.0f, -0.5f, 0.0f, 63.5f));
  EXPECT_THAT((*out)[1].values<uint8_t>(),
              ::testing::ElementsAre(0, 127, 128, 255));
  EXPECT_THAT((*out)[2].values<float>(), ::testing::ElementsAre(1.0f, -2.5f));
  EXPECT_EQ((*out)[3].dtype(), DType::kUInt8);
  EXPECT_THAT((*out)[3].values<uint8_t>(),
              ::testing::ElementsAre(0, 127, 128, 255));
}

// ------------------------------------------------------------ malformed --

void ExpectCleanError(const absl::StatusOr<OnnxModel>& m,
                      const std::string& source, const std::string& what) {
  ASSERT_FALSE(m.ok()) << what;
  EXPECT_THAT(m.status().message(), HasSubstr(source)) << what;
}

TEST(OnnxImport, EmptyAndGarbageBytes) {
  absl::StatusOr<OnnxModel> m = ImportOnnxBytes("", "empty.onnx");
  ExpectCleanError(m, "empty.onnx", "empty");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  ExpectCleanError(ImportOnnxBytes("\xff\xff\xff\xff", "garbage.onnx"),
                   "garbage.onnx", "garbage");
  ExpectCleanError(ImportOnnxBytes("not an onnx model", "text.onnx"),
                   "text.onnx", "text");
}

TEST(OnnxImport, EveryTruncationIsACleanError) {
  const std::string bytes = DenseModel().SerializeAsString();
  ASSERT_TRUE(ImportOnnxBytes(bytes, "full.onnx").ok());
  for (size_t len = 0; len < bytes.size(); ++len) {
    absl::StatusOr<OnnxModel> m =
        ImportOnnxBytes(std::string_view(bytes).substr(0, len), "cut.onnx");
    ExpectCleanError(m, "cut.onnx", absl::StrCat("prefix of ", len, " bytes"));
    if (!m.ok()) {
      EXPECT_NE(m.status().code(), absl::StatusCode::kInternal)
          << len << ": " << m.status();
    }
  }
}

TEST(OnnxImport, ModelFailingTheCheckerIsAnError) {
  onnx::ModelProto m = DenseModel();
  m.clear_ir_version();
  absl::StatusOr<OnnxModel> im = Import(m, "no_ir.onnx");
  ExpectCleanError(im, "no_ir.onnx", "no ir_version");
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(), HasSubstr("checker"));

  // An ONNX op missing a required input.
  onnx::ModelProto m2 = NewModel();
  AddInput(m2, "x", kFloat, {2});
  AddNode(m2, "MatMul", {"x"}, {"y"}, "half_matmul");
  AddOutput(m2, "y", kFloat, 1);
  ExpectCleanError(Import(m2, "arity.onnx"), "arity.onnx", "MatMul arity");
}

TEST(OnnxImport, InputNoNodeProducesIsAnError) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {2});
  AddNode(m, "Add", {"x", "ghost"}, {"y"}, "haunted");
  AddOutput(m, "y", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "ghost.onnx");
  ExpectCleanError(im, "ghost.onnx", "ghost input");
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(), HasSubstr("ghost"));
}

TEST(OnnxImport, GraphOutputNobodyProducesIsAnError) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {2});
  AddNode(m, "Relu", {"x"}, {"y"}, "r");
  AddOutput(m, "y", kFloat, 1);
  AddOutput(m, "phantom", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "phantom.onnx");
  ExpectCleanError(im, "phantom.onnx", "phantom output");
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(), HasSubstr("'phantom'"));
}

TEST(OnnxImport, NoDefaultOpsetOrNoGraphIsAnError) {
  onnx::ModelProto m = DenseModel();
  m.clear_graph();
  ExpectCleanError(Import(m, "nograph.onnx"), "nograph.onnx", "no graph");

  onnx::ModelProto future = DenseModel();
  future.mutable_opset_import(0)->set_version(99);
  ExpectCleanError(Import(future, "future.onnx"), "future.onnx", "opset 99");
}

// --------------------------------------------------------- input_shapes --

TEST(OnnxImport, InputShapesPinSymbolicDims) {
  absl::StatusOr<OnnxModel> m = Import(DenseModel(), "dense.onnx",
                                       {.input_shapes = {{"x", Shape{4, 3}}}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->inputs[0].shape(), Shape({4, 3}));
  EXPECT_EQ(m->outputs[0].shape(), Shape({4, 2}));
}

TEST(OnnxImport, InputShapesContradictionIsAnError) {
  absl::StatusOr<OnnxModel> m = Import(DenseModel(), "dense.onnx",
                                       {.input_shapes = {{"x", Shape{4, 5}}}});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("dense.onnx"));
  EXPECT_THAT(m.status().message(), HasSubstr("'x'"));
  EXPECT_THAT(m.status().message(), HasSubstr("contradicts"));

  absl::StatusOr<OnnxModel> rank = Import(
      DenseModel(), "dense.onnx", {.input_shapes = {{"x", Shape{4, 3, 1}}}});
  ASSERT_FALSE(rank.ok());
  EXPECT_THAT(rank.status().message(), HasSubstr("contradicts"));
}

TEST(OnnxImport, InputShapesUnknownNameIsAnError) {
  absl::StatusOr<OnnxModel> m = Import(DenseModel(), "dense.onnx",
                                       {.input_shapes = {{"nope", Shape{1}}}});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("'nope'"));
  EXPECT_THAT(m.status().message(), HasSubstr("not an input of the model"));
}

// ------------------------------------------------------ constant_inputs --

// y = Reshape(x, shape) with the target shape a graph input.
onnx::ModelProto ReshapeByInputModel() {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {2, 3});
  AddInput(m, "shape", kInt64, {2});
  AddNode(m, "Reshape", {"x", "shape"}, {"y"}, "reshape");
  AddOutput(m, "y", kFloat, 2);
  return m;
}

TEST(OnnxImport, ConstantInputsAreUsedAndNotInputs) {
  absl::StatusOr<OnnxModel> m = Import(
      ReshapeByInputModel(), "reshape.onnx",
      {.constant_inputs = {{"shape", NDArray::Vector<int64_t>({3, 2})}}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->input_names, std::vector<std::string>({"x"}));
  ASSERT_EQ(m->inputs.size(), 1u);
  EXPECT_EQ(m->outputs[0].shape(), Shape({3, 2}));
  auto session = Session::Create(m->graph);
  ASSERT_TRUE(session.ok()) << session.status();
  auto out = (*session)->Run(
      {{m->inputs[0], F32({1, 2, 3, 4, 5, 6}, Shape{2, 3})}}, m->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), Shape({3, 2}));
  EXPECT_EQ(Floats((*out)[0]), std::vector<float>({1, 2, 3, 4, 5, 6}));
}

TEST(OnnxImport, ShapeInputNotGivenSaysWhatToGive) {
  absl::StatusOr<OnnxModel> m = Import(ReshapeByInputModel(), "reshape.onnx");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(m.status().message(), HasSubstr("Reshape 'reshape'"));
  EXPECT_THAT(m.status().message(), HasSubstr("constant_inputs"));
}

TEST(OnnxImport, ConstantInputsUnknownNameIsAnError) {
  absl::StatusOr<OnnxModel> m =
      Import(ReshapeByInputModel(), "reshape.onnx",
             {.constant_inputs = {{"shape", NDArray::Vector<int64_t>({3, 2})},
                                  {"bogus", NDArray::Scalar<float>(1)}}});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("'bogus'"));
  EXPECT_THAT(m.status().message(), HasSubstr("constant_inputs"));
}

// -------------------------------------------------------------- folding --

// y = Reshape(x, Concat(Gather(Shape(x), [0]), [-1])): flattens all but the
// first dim of x [N, 2, 3].
onnx::ModelProto ShapeChainModel() {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {kSymbolic, 2, 3});
  AddInt64Init(m, "zero", {1}, {0});
  AddInt64Init(m, "minus_one", {1}, {-1});
  AddNode(m, "Shape", {"x"}, {"x_shape"}, "shape");
  AddNode(m, "Gather", {"x_shape", "zero"}, {"batch"}, "batch");
  SetIntAttr(AddNode(m, "Concat", {"batch", "minus_one"}, {"target"}, "cat"),
             "axis", 0);
  AddNode(m, "Reshape", {"x", "target"}, {"y"}, "flatten");
  AddOutput(m, "y", kFloat, 2);
  return m;
}

TEST(OnnxImport, ShapeChainFoldsWithPinnedShapes) {
  absl::StatusOr<OnnxModel> m =
      Import(ShapeChainModel(), "chain.onnx",
             {.input_shapes = {{"x", Shape{2, 2, 3}}}});
  ASSERT_TRUE(m.ok()) << m.status();
  const std::multiset<std::string> ops = OpTypes(m->graph);
  for (const char* op : {"Shape", "Gather", "Concat", "Size"}) {
    EXPECT_FALSE(ops.contains(op)) << op << " left in\n"
                                   << m->graph.DebugString();
  }
  EXPECT_EQ(m->outputs[0].shape(), Shape({2, 6}));
  auto session = Session::Create(m->graph);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i);
  auto out =
      (*session)->Run({{m->inputs[0], F32(x, Shape{2, 2, 3})}}, m->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 6}));
  EXPECT_EQ(Floats((*out)[0]), x);
}

TEST(OnnxImport, ShapeChainWithoutPinnedShapesSaysWhatToPin) {
  absl::StatusOr<OnnxModel> m = Import(ShapeChainModel(), "chain.onnx");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(m.status().message(), HasSubstr("chain.onnx"));
  EXPECT_THAT(m.status().message(), HasSubstr("Shape 'shape'"));
  EXPECT_THAT(m.status().message(), HasSubstr("input_shapes"));
}

// -------------------------------------------------------------- hostile --

// DenseModel with initializer b replaced by `t` (named "b").
absl::StatusOr<OnnxModel> ImportWithB(onnx::TensorProto t,
                                      const std::string& source) {
  onnx::ModelProto m = DenseModel();
  t.set_name("b");
  *m.mutable_graph()->mutable_initializer(1) = std::move(t);
  return Import(m, source);
}

onnx::TensorProto FloatTensor(const std::vector<int64_t>& dims) {
  onnx::TensorProto t;
  t.set_data_type(kFloat);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

TEST(OnnxImport, HostileDimsAreCleanErrors) {
  const int64_t big = int64_t{1} << 32;
  // Dims whose product overflows int64, with and without data.
  for (bool raw : {false, true}) {
    onnx::TensorProto t = FloatTensor({big, big, big});
    if (raw) t.set_raw_data(std::string(8, '\0'));
    absl::StatusOr<OnnxModel> m = ImportWithB(t, "overflow.onnx");
    ExpectCleanError(m, "overflow.onnx", "overflow");
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    onnx::TensorProto t = FloatTensor({std::numeric_limits<int64_t>::max(), 2});
    t.add_float_data(1);
    ExpectCleanError(ImportWithB(t, "max.onnx"), "max.onnx", "int64 max");
  }
  // Within int64 but beyond the element limit (2^40 elements claimed by a
  // few bytes of data): refused before anything that size is allocated.
  for (bool raw : {false, true}) {
    onnx::TensorProto t = FloatTensor({int64_t{1} << 20, int64_t{1} << 20});
    if (raw) {
      t.set_raw_data(std::string(4, '\0'));
    } else {
      t.add_float_data(1);
    }
    absl::StatusOr<OnnxModel> m = ImportWithB(t, "huge.onnx");
    ExpectCleanError(m, "huge.onnx", "2^40 elements");
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  }
  // Under the element limit but far more than the data holds (2^33 float32
  // = 32 GiB): the size check must come before any allocation.
  for (bool raw : {false, true}) {
    onnx::TensorProto t = FloatTensor({int64_t{1} << 33});
    if (raw) {
      t.set_raw_data(std::string(4, '\0'));
    } else {
      t.add_float_data(1);
    }
    absl::StatusOr<OnnxModel> m = ImportWithB(t, "claims32g.onnx");
    ExpectCleanError(m, "claims32g.onnx", "32 GiB claimed");
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    onnx::TensorProto t = FloatTensor({-3, 2});
    absl::StatusOr<OnnxModel> m = ImportWithB(t, "negative.onnx");
    ExpectCleanError(m, "negative.onnx", "negative dim");
    EXPECT_THAT(m.status().message(), HasSubstr("negative"));
  }
}

TEST(OnnxImport, DataSizeMismatchIsACleanError) {
  {
    onnx::TensorProto t = FloatTensor({2});
    t.set_raw_data(std::string(7, '\0'));
    absl::StatusOr<OnnxModel> m = ImportWithB(t, "raw.onnx");
    ExpectCleanError(m, "raw.onnx", "raw_data of 7 bytes");
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr("'b'"));
    EXPECT_THAT(m.status().message(), HasSubstr("raw data"));
  }
  {
    onnx::TensorProto t = FloatTensor({2});
    t.add_float_data(1);
    t.add_float_data(2);
    t.add_float_data(3);
    absl::StatusOr<OnnxModel> m = ImportWithB(t, "typed.onnx");
    ExpectCleanError(m, "typed.onnx", "3 floats for 2");
    EXPECT_THAT(m.status().message(), HasSubstr("float_data"));
  }
}

TEST(OnnxImport, ExternalDataIsACleanError) {
  onnx::TensorProto t = FloatTensor({2});
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  onnx::StringStringEntryProto* e = t.add_external_data();
  e->set_key("location");
  e->set_value("weights.bin");
  absl::StatusOr<OnnxModel> m = ImportWithB(t, "external.onnx");
  ExpectCleanError(m, "external.onnx", "external data");
  EXPECT_TRUE(absl::StrContains(m.status().message(), "external") ||
              absl::StrContains(m.status().message(), "weights.bin"))
      << m.status();
}

// A ConstantOfShape evaluated at import with a shape far beyond any
// allocation: a clean error, not an abort.
TEST(OnnxImport, HugeConstantOfShapeIsACleanError) {
  onnx::ModelProto m = NewModel();
  AddInt64Init(m, "dims", {3}, {1 << 20, 1 << 20, 1 << 20});
  AddNode(m, "ConstantOfShape", {"dims"}, {"y"}, "fill");
  AddOutput(m, "y", kFloat, 3);
  absl::StatusOr<OnnxModel> im = Import(m, "fill.onnx");
  ExpectCleanError(im, "fill.onnx", "ConstantOfShape of 2^60");
  EXPECT_THAT(im.status().message(), HasSubstr("ConstantOfShape 'fill'"));

  // 2^36 float32 (256 GiB): within int64 and the 1 TiB limit, beyond memory.
  onnx::ModelProto m2 = NewModel();
  AddInt64Init(m2, "dims", {2}, {1 << 18, 1 << 18});
  AddNode(m2, "ConstantOfShape", {"dims"}, {"y"}, "fill");
  AddOutput(m2, "y", kFloat, 2);
  ExpectCleanError(Import(m2, "fill256g.onnx"), "fill256g.onnx",
                   "ConstantOfShape of 256 GiB");
}

// Resize's scales are turned into sizes at import: a huge, negative,
// infinite or NaN scale is a clean error (found by
// //tests/fuzz:onnx_import_fuzzer as undefined behaviour: a float beyond
// int64 converted to int64).
TEST(OnnxImport, HostileResizeScaleIsACleanError) {
  for (float scale : {1e27f, -2.0f, std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
    onnx::ModelProto m = NewModel();
    AddInput(m, "x", kFloat, {1, 1, 2, 2});
    AddFloatInit(m, "scales", {4}, {1, 1, scale, 2});
    AddNode(m, "Resize", {"x", "", "scales"}, {"y"}, "up");
    AddOutput(m, "y", kFloat, 4);
    absl::StatusOr<OnnxModel> im = Import(m, "resize.onnx");
    ExpectCleanError(im, "resize.onnx", absl::StrCat("scale ", scale));
    EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument)
        << scale << ": " << im.status();
    EXPECT_THAT(im.status().message(), HasSubstr("Resize 'up'")) << scale;
    EXPECT_THAT(im.status().message(), HasSubstr("out of range")) << scale;
  }
}

// A run-time Slice turns its step into a constant: a step beyond what a
// double holds exactly (int64 max) is kept at int64 max, not converted out
// of range (found by //tests/fuzz:onnx_import_fuzzer as undefined
// behaviour), and slices as ONNX says: the start element only.
TEST(OnnxImport, RunTimeSliceWithAHugeStep) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {5});
  AddInput(m, "starts", kInt64, {1});
  AddInt64Init(m, "ends", {1}, {5});
  AddInt64Init(m, "axes", {1}, {0});
  AddInt64Init(m, "steps", {1}, {std::numeric_limits<int64_t>::max()});
  AddNode(m, "Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"}, "slice");
  AddOutput(m, "y", kFloat, 1);
  absl::StatusOr<OnnxModel> im = Import(m, "slice.onnx");
  ASSERT_TRUE(im.ok()) << im.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(im->graph);
  ASSERT_TRUE(s.ok()) << s.status();
  NDArray starts = NDArray::Vector<int64_t>({1});
  absl::StatusOr<std::vector<NDArray>> out =
      (*s)->Run({{im->inputs[0], F32({0, 1, 2, 3, 4}, Shape{5})},
                 {im->inputs[1], starts}},
                im->outputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(Floats((*out)[0]), std::vector<float>({1}));
}

// Pad's constant_value must hold one element; an empty one is an error
// naming the node, never a read past its end.
TEST(OnnxImport, EmptyPadConstantValueIsACleanError) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {2, 2});
  AddInt64Init(m, "pads", {4}, {1, 1, 1, 1});
  AddFloatInit(m, "value", {0}, {});
  AddNode(m, "Pad", {"x", "pads", "value"}, {"y"}, "pad");
  AddOutput(m, "y", kFloat, 2);
  absl::StatusOr<OnnxModel> im = Import(m, "pad.onnx");
  ExpectCleanError(im, "pad.onnx", "empty constant_value");
  EXPECT_EQ(im.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(im.status().message(), HasSubstr("Pad 'pad'"));
  EXPECT_THAT(im.status().message(),
              HasSubstr("constant_value must hold one element, not 0"));
}

// Dropout's mask is made at import from the input's declared shape: a
// model declaring a huge input gets a clean error, not an abort.
TEST(OnnxImport, HugeDeclaredInputIsACleanError) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {1 << 20, 1 << 20, 1 << 20});
  AddNode(m, "Dropout", {"x"}, {"y", "mask"}, "drop");
  AddOutput(m, "y", kFloat, 3);
  AddOutput(m, "mask", onnx::TensorProto::BOOL, 3);
  absl::StatusOr<OnnxModel> im = Import(m, "drop.onnx");
  ExpectCleanError(im, "drop.onnx", "Dropout mask of 2^60");
}

// A Scan (opset 11) summing the rows of x ([length, 1]) onto init ([1]).
onnx::ModelProto RunningSumScan(int64_t length) {
  onnx::ModelProto m = NewModel(11);
  AddInput(m, "init", kFloat, {1});
  AddInput(m, "x", kFloat, {length, 1});
  onnx::NodeProto* n = AddNode(m, "Scan", {"init", "x"}, {"final"}, "scan");
  SetIntAttr(n, "num_scan_inputs", 1);
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name("body");
  a->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto* body = a->mutable_g();
  body->set_name("body");
  for (const char* in : {"s_in", "x_t"}) {
    onnx::ValueInfoProto* vi = body->add_input();
    vi->set_name(in);
    SetTensorType(vi, kFloat, {1});
  }
  onnx::ValueInfoProto* out = body->add_output();
  out->set_name("s_out");
  SetTensorType(out, kFloat, {1});
  onnx::NodeProto* add = body->add_node();
  add->set_op_type("Add");
  add->add_input("s_in");
  add->add_input("x_t");
  add->add_output("s_out");
  AddOutput(m, "final", kFloat, 1);
  return m;
}

// Recurrences are unrolled and some tables computed at import from sizes
// the model declares: a model claiming a sequence, window or diagonal far
// beyond what import builds is refused, naming the node and the limit,
// before anything that size is built.
TEST(OnnxImport, HostileUnrollAndTableSizesAreCleanErrors) {
  const int64_t huge = int64_t{1} << 40;
  auto expect_refused = [](const onnx::ModelProto& m, const std::string& file,
                           const std::string& node, const std::string& why) {
    absl::StatusOr<OnnxModel> im = Import(m, file);
    ExpectCleanError(im, file, why);
    EXPECT_EQ(im.status().code(), absl::StatusCode::kUnimplemented)
        << im.status();
    EXPECT_THAT(im.status().message(), HasSubstr(node));
    EXPECT_THAT(im.status().message(), HasSubstr(why));
  };
  for (int64_t seq : {huge, int64_t{65537}}) {
    onnx::ModelProto m = NewModel();
    AddInput(m, "x", kFloat, {seq, 1, 2});
    AddFloatInit(m, "w", {1, 4, 2}, std::vector<float>(8, 0.5f));
    AddFloatInit(m, "r", {1, 4, 1}, std::vector<float>(4, 0.5f));
    SetIntAttr(AddNode(m, "LSTM", {"x", "w", "r"}, {"y"}, "lstm"),
               "hidden_size", 1);
    AddOutput(m, "y", kFloat, 4);
    expect_refused(m, "lstm.onnx", "LSTM 'lstm'",
                   absl::StrCat("a sequence of ", seq,
                                " steps (weft unrolls at most 65536)"));
  }
  {
    const onnx::ModelProto m = RunningSumScan(huge);
    expect_refused(m, "scan.onnx", "Scan 'scan'",
                   absl::StrCat("a scan of ", huge,
                                " steps (weft unrolls at most 65536 steps)"));
  }
  {
    onnx::ModelProto m = NewModel(17);
    AddInt64Init(m, "size", {}, {huge});
    AddNode(m, "HannWindow", {"size"}, {"w"}, "window");
    AddOutput(m, "w", kFloat, 1);
    expect_refused(m, "window.onnx", "HannWindow 'window'",
                   absl::StrCat("a window of ", huge,
                                " values (weft builds at most 16777216"));
  }
  {
    const int64_t n = int64_t{1} << 25;
    onnx::ModelProto m = NewModel();
    AddInput(m, "x", kFloat, {n, n});
    SetStringAttr(AddNode(m, "Einsum", {"x"}, {"d"}, "diag"), "equation",
                  "ii->i");
    AddOutput(m, "d", kFloat, 1);
    expect_refused(m, "einsum.onnx", "Einsum 'diag'",
                   absl::StrCat("a repeated Einsum label over a dim of ", n));
  }
}

// OnnxImportOptions::max_nodes bounds what import builds in one graph: an
// unrolled Scan past it is kResourceExhausted naming the option; under it
// the same model imports.
TEST(OnnxImport, MaxNodesBoundsTheImport) {
  const onnx::ModelProto m = RunningSumScan(64);

  absl::StatusOr<OnnxModel> small = Import(m, "scan.onnx", {.max_nodes = 100});
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), absl::StatusCode::kResourceExhausted)
      << small.status();
  EXPECT_THAT(small.status().message(), HasSubstr("scan.onnx"));
  EXPECT_THAT(small.status().message(), HasSubstr("Scan 'scan'"));
  EXPECT_THAT(small.status().message(),
              HasSubstr("more than 100 weft nodes in graph 'test_graph' "
                        "(OnnxImportOptions::max_nodes)"));

  absl::StatusOr<OnnxModel> fits = Import(m, "scan.onnx", {.max_nodes = 1000});
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_LE(fits->graph.num_nodes(), 1000);
  EXPECT_GT(fits->graph.num_nodes(), 100);
}

// ------------------------------------------------------------- fusion --

// Deterministic values in [-1, 1) (a linear congruential sequence).
std::vector<float> Values(int64_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return v;
}

void AddConv(onnx::ModelProto& m, const std::string& in, const std::string& out,
             int64_t c, int64_t mch, int64_t k, uint32_t seed,
             bool transposed = false) {
  const std::vector<int64_t> wd = transposed
                                      ? std::vector<int64_t>{c, mch, k, k}
                                      : std::vector<int64_t>{mch, c, k, k};
  AddFloatInit(m, out + "_w", wd, Values(c * mch * k * k, seed));
  AddFloatInit(m, out + "_b", {mch}, Values(mch, seed + 1));
  onnx::NodeProto* n = AddNode(m, transposed ? "ConvTranspose" : "Conv",
                               {in, out + "_w", out + "_b"}, {out}, out);
  if (transposed) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("strides");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(2);
    a->add_ints(2);
  } else if (k == 3) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("pads");
    a->set_type(onnx::AttributeProto::INTS);
    for (int i = 0; i < 4; ++i) a->add_ints(1);
  }
}

// Imports `m` with and without fusion, runs both on the same input x
// ([1, 3, 8, 8]) and checks they agree within rounding; the fused model.
OnnxModel ImportFusedAndCompare(const onnx::ModelProto& m) {
  absl::StatusOr<OnnxModel> fused = Import(m, "fusion.onnx");
  absl::StatusOr<OnnxModel> plain = Import(m, "fusion.onnx", {.fuse = false});
  EXPECT_TRUE(fused.ok()) << fused.status();
  EXPECT_TRUE(plain.ok()) << plain.status();
  if (!fused.ok() || !plain.ok()) return OnnxModel();
  for (const Node* n : plain->graph.nodes()) {
    EXPECT_NE(n->op(), "FusedConv") << n->name() << " with fuse = false";
  }
  const NDArray x = F32(Values(3 * 8 * 8, 7), Shape{1, 3, 8, 8});
  auto run = [&x](const OnnxModel& model) {
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(model.graph);
    EXPECT_TRUE(s.ok()) << s.status();
    absl::StatusOr<std::vector<NDArray>> out =
        (*s)->Run({{model.inputs[0], x}}, model.outputs);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : std::vector<NDArray>();
  };
  const std::vector<NDArray> a = run(*fused), b = run(*plain);
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    EXPECT_EQ(a[i].shape(), b[i].shape());
    if (a[i].shape() != b[i].shape()) continue;
    const std::vector<float> av = Floats(a[i]), bv = Floats(b[i]);
    for (size_t j = 0; j < av.size(); ++j) {
      EXPECT_NEAR(av[j], bv[j], 1e-5 * std::max(1.0f, std::abs(bv[j])))
          << "output " << i << " element " << j;
    }
  }
  return *std::move(fused);
}

// The node producing input `i` of `n` in `g`.
const Node* InputNode(const Graph& g, const Node& n, int i) {
  return g.node(n.inputs()[i].node);
}

// x -> Conv 3x3 -> Mul(s1) -> Add(b1) -> HardSwish written out
// (x * Clip(x + 3, 0, 6) / 6) -> Mul(s2) -> Add(b2) -> Conv 1x1 ->
// BatchNormalization -> Relu -> y: two FusedConvs, nothing else.
TEST(OnnxFusion, ConvChainsBecomeFusedConvs) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {1, 3, 8, 8});
  AddConv(m, "x", "c1", 3, 4, 3, 10);
  AddFloatInit(m, "s1", {1}, {0.75f});
  AddFloatInit(m, "b1", {1}, {-0.25f});
  AddFloatInit(m, "three", {}, {3});
  AddFloatInit(m, "zero", {}, {0});
  AddFloatInit(m, "six", {}, {6});
  AddFloatInit(m, "s2", {1}, {1.5f});
  AddFloatInit(m, "b2", {1}, {0.125f});
  AddNode(m, "Mul", {"c1", "s1"}, {"a1"}, "lab1_mul");
  AddNode(m, "Add", {"a1", "b1"}, {"h"}, "lab1_add");
  AddNode(m, "Add", {"h", "three"}, {"h3"}, "hs_add");
  AddNode(m, "Clip", {"h3", "zero", "six"}, {"hc"}, "hs_clip");
  AddNode(m, "Mul", {"h", "hc"}, {"hm"}, "hs_mul");
  AddNode(m, "Div", {"hm", "six"}, {"hs"}, "hs_div");
  AddNode(m, "Mul", {"hs", "s2"}, {"a2"}, "lab2_mul");
  AddNode(m, "Add", {"a2", "b2"}, {"l2"}, "lab2_add");
  AddConv(m, "l2", "c2", 4, 5, 1, 20);
  AddFloatInit(m, "bn_scale", {5}, Values(5, 30));
  AddFloatInit(m, "bn_bias", {5}, Values(5, 31));
  AddFloatInit(m, "bn_mean", {5}, Values(5, 32));
  AddFloatInit(m, "bn_var", {5}, {0.5f, 1, 2, 0.25f, 1.5f});
  AddNode(m, "BatchNormalization",
          {"c2", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"bn"}, "bn");
  AddNode(m, "Relu", {"bn"}, {"y"}, "relu");
  AddOutput(m, "y", kFloat, 4);
  const OnnxModel fused = ImportFusedAndCompare(m);
  ASSERT_EQ(fused.outputs.size(), 1u);
  const Graph& g = fused.graph;
  const Node* top = fused.outputs[0].node();
  ASSERT_EQ(top->op(), "FusedConv");
  EXPECT_EQ(top->name(), "relu");
  EXPECT_EQ(*FindAttr<std::string>(top->attrs(), "activation"), "Relu");
  const Node* first = InputNode(g, *top, 0);
  ASSERT_EQ(first->op(), "FusedConv");
  EXPECT_EQ(*FindAttr<std::string>(first->attrs(), "activation"), "HardSwish");
  EXPECT_DOUBLE_EQ(*FindAttr<double>(first->attrs(), "post_scale"), 1.5);
  EXPECT_DOUBLE_EQ(*FindAttr<double>(first->attrs(), "post_shift"), 0.125);
  EXPECT_EQ(InputNode(g, *first, 0)->op(), "Placeholder");
  // The scale and shift before the activation went into the weights.
  const NDArray* w =
      FindAttr<NDArray>(InputNode(g, *first, 1)->attrs(), "value");
  ASSERT_NE(w, nullptr);
  EXPECT_FLOAT_EQ(w->values<float>()[0], Values(3 * 4 * 9, 10)[0] * 0.75f);
}

// Fusion never computes a Conv twice: a Conv whose output something else
// also reads keeps its own node, and the Relu and Mul after it stay ops.
TEST(OnnxFusion, AConvOutputUsedTwiceIsNotFused) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {1, 3, 8, 8});
  AddConv(m, "x", "c", 3, 4, 3, 40);
  AddFloatInit(m, "k", {1}, {2});
  AddNode(m, "Relu", {"c"}, {"r"}, "relu");
  AddNode(m, "Mul", {"c", "k"}, {"s"}, "mul");
  AddOutput(m, "r", kFloat, 4);
  AddOutput(m, "s", kFloat, 4);
  AddOutput(m, "c", kFloat, 4);
  const OnnxModel fused = ImportFusedAndCompare(m);
  ASSERT_EQ(fused.outputs.size(), 3u);
  EXPECT_EQ(fused.outputs[0].node()->op(), "Relu");
  EXPECT_EQ(fused.outputs[1].node()->op(), "Mul");
  EXPECT_EQ(fused.outputs[2].node()->op(), "Conv");
}

// Per-channel and scalar constants fold (Sub, Div, a [1, M, 1, 1] Mul, a
// BatchNormalization after a ConvTranspose, and its Relu fuses); a
// constant that is not per channel stays a Mul; Clip with constant bounds and
// LeakyRelu fuse; and x + x * s becomes x * (s + 1).
TEST(OnnxFusion, ConstantsActivationsAndResidualScales) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {1, 3, 8, 8});
  // a: Conv - 0.5, / 4, * per channel, Clip(-0.5, 0.5).
  AddConv(m, "x", "ca", 3, 4, 3, 50);
  AddFloatInit(m, "half", {}, {0.5f});
  AddFloatInit(m, "four", {1}, {4});
  AddFloatInit(m, "per_channel", {1, 4, 1, 1}, {1, -2, 0.5f, 3});
  AddFloatInit(m, "neg_half", {}, {-0.5f});
  AddNode(m, "Sub", {"ca", "half"}, {"a1"}, "sub");
  AddNode(m, "Div", {"a1", "four"}, {"a2"}, "div");
  AddNode(m, "Mul", {"per_channel", "a2"}, {"a3"}, "mul_channel");
  AddNode(m, "Clip", {"a3", "neg_half", "half"}, {"ya"}, "clip");
  // b: Conv * a [1, 1, 8, 8] constant (per position: not folded), then
  // LeakyRelu of another Conv.
  AddConv(m, "x", "cb", 3, 2, 1, 60);
  AddFloatInit(m, "per_position", {1, 1, 8, 8}, Values(64, 61));
  AddNode(m, "Mul", {"cb", "per_position"}, {"yb"}, "mul_position");
  AddConv(m, "x", "cc", 3, 2, 3, 70);
  onnx::NodeProto* leaky = AddNode(m, "LeakyRelu", {"cc"}, {"yc"}, "leaky");
  onnx::AttributeProto* alpha = leaky->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(0.2f);
  // d: ConvTranspose then BatchNormalization and Relu.
  AddConv(m, "x", "ct", 3, 2, 2, 80, /*transposed=*/true);
  AddFloatInit(m, "t_scale", {2}, {0.5f, -1.5f});
  AddFloatInit(m, "t_bias", {2}, {0.25f, 1});
  AddFloatInit(m, "t_mean", {2}, {0.1f, -0.2f});
  AddFloatInit(m, "t_var", {2}, {1, 4});
  AddNode(m, "BatchNormalization",
          {"ct", "t_scale", "t_bias", "t_mean", "t_var"}, {"bn_t"}, "bn_t");
  AddNode(m, "Relu", {"bn_t"}, {"yd"}, "relu_t");
  // e: x + x * s, s [1, 3, 1, 1] from a global pool.
  AddNode(m, "GlobalAveragePool", {"x"}, {"pool"}, "pool");
  AddNode(m, "Sigmoid", {"pool"}, {"gate"}, "gate");
  AddNode(m, "Mul", {"x", "gate"}, {"xs"}, "scale");
  AddNode(m, "Add", {"xs", "x"}, {"ye"}, "residual");
  for (const char* y : {"ya", "yb", "yc", "yd", "ye"}) {
    AddOutput(m, y, kFloat, 4);
  }
  const OnnxModel fused = ImportFusedAndCompare(m);
  ASSERT_EQ(fused.outputs.size(), 5u);
  const Graph& g = fused.graph;
  const Node* a = fused.outputs[0].node();
  ASSERT_EQ(a->op(), "FusedConv");
  EXPECT_EQ(*FindAttr<std::string>(a->attrs(), "activation"), "Clip");
  EXPECT_DOUBLE_EQ(*FindAttr<double>(a->attrs(), "alpha"), -0.5);
  EXPECT_DOUBLE_EQ(*FindAttr<double>(a->attrs(), "beta"), 0.5);
  EXPECT_EQ(InputNode(g, *a, 0)->op(), "Placeholder");
  EXPECT_EQ(fused.outputs[1].node()->op(), "Mul");
  const Node* c = fused.outputs[2].node();
  ASSERT_EQ(c->op(), "FusedConv");
  EXPECT_EQ(*FindAttr<std::string>(c->attrs(), "activation"), "LeakyRelu");
  const Node* d = fused.outputs[3].node();
  ASSERT_EQ(d->op(), "FusedConvTranspose");
  EXPECT_EQ(*FindAttr<std::string>(d->attrs(), "activation"), "Relu");
  EXPECT_EQ(InputNode(g, *d, 0)->op(), "Placeholder");
  const Node* e = fused.outputs[4].node();
  ASSERT_EQ(e->op(), "Mul");
  EXPECT_EQ(InputNode(g, *e, 1)->op(), "Add");
}

// An infinite scale stays a Mul: folded into the weights it would make NaN
// of what the Mul leaves infinite (0 * inf in the weights).
TEST(OnnxFusion, NonFiniteConstantsAreNotFolded) {
  onnx::ModelProto m = NewModel();
  AddInput(m, "x", kFloat, {1, 3, 8, 8});
  AddConv(m, "x", "c", 3, 4, 3, 90);
  AddFloatInit(m, "inf", {1}, {std::numeric_limits<float>::infinity()});
  AddNode(m, "Mul", {"c", "inf"}, {"y"}, "mul_inf");
  AddOutput(m, "y", kFloat, 4);
  absl::StatusOr<OnnxModel> fused = Import(m, "fusion.onnx");
  ASSERT_TRUE(fused.ok()) << fused.status();
  EXPECT_EQ(fused->outputs[0].node()->op(), "Mul");
}

}  // namespace
}  // namespace weft
