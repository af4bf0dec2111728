// ImportOnnx: parses and checks the model, then walks its graph in order,
// mapping each node through the converter table (onnx_context.h) and
// folding nodes whose inputs are all known at import into constants.
#include "interop/onnx_import.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/errors.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "interop/onnx_context.h"
#include "interop/onnx_functions.h"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"
#include "runtime/session.h"

namespace weft {
namespace onnx_internal {
namespace {

std::string QuotedName(std::string_view s) { return absl::StrCat("'", s, "'"); }

}  // namespace

// -------------------------------------------------------- NodeContext --

absl::StatusOr<Tensor> NodeContext::input(int i) {
  if (!has_input(i)) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", i, " is required but not given"));
  }
  Value& v = *inputs_[i];
  if (v.sequence != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", i, " is a sequence, not a tensor"));
  }
  if (!v.tensor.ok()) {
    if (!v.constant.has_value()) {
      return absl::InternalError(absl::StrCat("input ", i, " has no value"));
    }
    // The Const is named after the value, not after this node.
    OpOptions o = base_;
    o.name = "const";
    v.tensor = ops::Const(*v.constant, o);
    if (!v.tensor.ok()) return v.tensor.status();
  }
  return v.tensor;
}

const NDArray* NodeContext::constant(int i) const {
  if (!has_input(i) || !inputs_[i]->constant.has_value()) return nullptr;
  return &*inputs_[i]->constant;
}

DType NodeContext::dtype(int i) const {
  if (!has_input(i)) return DType::kFloat32;
  const Value& v = *inputs_[i];
  return v.constant.has_value() ? v.constant->dtype() : v.tensor.dtype();
}

int NodeContext::OnnxUses(const Tensor& t) const {
  if (uses_ == nullptr || !t.ok() || t.node() == nullptr) return -1;
  auto it = uses_->find({t.node(), t.index()});
  return it == uses_->end() ? -1 : it->second;
}

Shape NodeContext::shape(int i) const {
  if (!has_input(i)) return Shape{};
  const Value& v = *inputs_[i];
  return v.constant.has_value() ? v.constant->shape() : v.tensor.shape();
}

absl::StatusOr<const NDArray*> NodeContext::ConstInput(
    int i, std::string_view what) const {
  const NDArray* c = constant(i);
  if (c != nullptr) return c;
  return Unsupported(absl::StrCat(
      what, " (input ", i, " '", i < node_.input_size() ? node_.input(i) : "",
      "') is computed at run time; weft needs it known at import (pin the "
      "model's input shapes with OnnxImportOptions::input_shapes, or give "
      "the input's value with OnnxImportOptions::constant_inputs)"));
}

absl::StatusOr<std::vector<int64_t>> NodeContext::ConstInts(
    int i, std::string_view what) {
  absl::StatusOr<const NDArray*> cs = ConstInput(i, what);
  if (!cs.ok()) return cs.status();
  const NDArray* c = *cs;
  std::vector<int64_t> out;
  out.reserve(c->num_elements());
  switch (c->dtype()) {
    case DType::kInt64:
      for (int64_t v : c->values<int64_t>()) out.push_back(v);
      break;
    case DType::kInt32:
      for (int32_t v : c->values<int32_t>()) out.push_back(v);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(what, " (input ", i, ") must be int32 or int64, not ",
                       DTypeName(c->dtype())));
  }
  return out;
}

const onnx::AttributeProto* NodeContext::FindAttr(std::string_view name) {
  for (const onnx::AttributeProto& a : node_.attribute()) {
    if (a.name() == name) {
      read_.insert(std::string(name));
      return &a;
    }
  }
  return nullptr;
}

bool NodeContext::has_attr(std::string_view name) const {
  for (const onnx::AttributeProto& a : node_.attribute()) {
    if (a.name() == name) return true;
  }
  return false;
}

int64_t NodeContext::Int(std::string_view name, int64_t dflt) {
  const onnx::AttributeProto* a = FindAttr(name);
  return a == nullptr ? dflt : a->i();
}

float NodeContext::Float(std::string_view name, float dflt) {
  const onnx::AttributeProto* a = FindAttr(name);
  return a == nullptr ? dflt : a->f();
}

std::string NodeContext::String(std::string_view name, std::string_view dflt) {
  const onnx::AttributeProto* a = FindAttr(name);
  return a == nullptr ? std::string(dflt) : a->s();
}

std::vector<int64_t> NodeContext::Ints(std::string_view name,
                                       std::vector<int64_t> dflt) {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr) return dflt;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

std::vector<float> NodeContext::Floats(std::string_view name,
                                       std::vector<float> dflt) {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr) return dflt;
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

absl::StatusOr<NDArray> NodeContext::TensorAttr(std::string_view name) {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr || !a->has_t()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attribute ", QuotedName(name), " is missing"));
  }
  absl::StatusOr<NDArray> t = NDArrayFromOnnx(a->t());
  if (!t.ok() && absl::IsUnimplemented(t.status())) {
    return Unsupported(absl::StrCat("attribute ", QuotedName(name), ": ",
                                    t.status().message()));
  }
  return t;
}

absl::StatusOr<Subgraph> NodeContext::GraphAttr(std::string_view name) {
  const onnx::AttributeProto* a = FindAttr(name);
  if (a == nullptr || !a->has_g()) {
    return absl::InvalidArgumentError(
        absl::StrCat("graph attribute ", QuotedName(name), " is missing"));
  }
  if (subgraphs_ == nullptr) {
    return absl::InternalError("subgraphs cannot be imported here");
  }
  return subgraphs_->Prepare(*a);
}

absl::StatusOr<std::vector<Value>> NodeContext::ImportSubgraph(
    const Subgraph& sub, const std::vector<Value>& inputs, bool traced) {
  if (subgraphs_ == nullptr) {
    return absl::InternalError("subgraphs cannot be imported here");
  }
  return subgraphs_->Import(sub, inputs, traced ? DefaultGraph() : graph_,
                            traced);
}

std::string NodeContext::FunctionName(std::string_view what) {
  const std::string base = absl::StrCat(base_.name, "/", what);
  return subgraphs_ == nullptr ? base : subgraphs_->UniqueFunctionName(base);
}

OpOptions NodeContext::NextOpOptions(std::string_view op) {
  OpOptions o = base_;
  if (ops_added_++ > 0) o.name = absl::StrCat(o.name, "/", op);
  return o;
}

OpOptions NodeContext::BodyOptions(std::string_view name) const {
  OpOptions o = base_;
  o.graph = DefaultGraph();
  o.name = std::string(name);
  return o;
}

std::vector<std::string> NodeContext::UnreadAttrs() const {
  std::vector<std::string> out;
  for (const onnx::AttributeProto& a : node_.attribute()) {
    if (!read_.contains(a.name())) out.push_back(a.name());
  }
  return out;
}

absl::StatusOr<std::vector<Tensor>> NodeContext::OpN(std::string_view op,
                                                     std::vector<Tensor> inputs,
                                                     AttrMap attrs) {
  if (OpRegistry::Global().Find(op) == nullptr) {
    return Unsupported(absl::StrCat("weft has no op ", op, " yet"));
  }
  if (graph_.num_nodes() >= max_nodes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the import would build more than ", max_nodes_,
                     " weft nodes in graph '", graph_.name(),
                     "' (OnnxImportOptions::max_nodes)"));
  }
  // The first op takes the node's name; helper ops get a suffix.
  OpOptions o = NextOpOptions(op);
  return graph_.AddOpN(op, std::move(inputs), std::move(attrs), o);
}

absl::StatusOr<Tensor> NodeContext::Op(std::string_view op,
                                       std::vector<Tensor> inputs,
                                       AttrMap attrs) {
  absl::StatusOr<std::vector<Tensor>> out =
      OpN(op, std::move(inputs), std::move(attrs));
  if (!out.ok()) return out.status();
  return out->front();
}

absl::StatusOr<Tensor> NodeContext::Const(const NDArray& value) {
  return Op("Const", {}, {{"value", value}});
}

absl::StatusOr<Tensor> NodeContext::Scalar(DType dtype, double v) {
  // ConvertValue: as weft's Cast (integers saturate, NaN is 0), never a
  // plain cast, which is undefined for a value out of the type's range.
  NDArray a = NDArray::Uninitialized(dtype, Shape{});
  switch (dtype) {
    case DType::kFloat32:
      *a.mutable_data<float>() = ConvertValue<float>(v);
      break;
    case DType::kFloat64:
      *a.mutable_data<double>() = v;
      break;
    case DType::kInt32:
      *a.mutable_data<int32_t>() = ConvertValue<int32_t>(v);
      break;
    case DType::kInt64:
      *a.mutable_data<int64_t>() = ConvertValue<int64_t>(v);
      break;
    case DType::kBool:
      *a.mutable_data<bool>() = ConvertValue<bool>(v);
      break;
    case DType::kUInt8:
      *a.mutable_data<uint8_t>() = ConvertValue<uint8_t>(v);
      break;
    case DType::kInt8:
      *a.mutable_data<int8_t>() = ConvertValue<int8_t>(v);
      break;
    case DType::kFloat16:
      *a.mutable_data<Float16>() = ConvertValue<Float16>(v);
      break;
  }
  return Const(a);
}

void NodeContext::SetOutput(int i, Tensor t) {
  if (outputs_.size() <= static_cast<size_t>(i)) outputs_.resize(i + 1);
  outputs_[i] = Value{std::move(t), std::nullopt, nullptr};
}

void NodeContext::SetConstantOutput(int i, NDArray value) {
  if (outputs_.size() <= static_cast<size_t>(i)) outputs_.resize(i + 1);
  outputs_[i] = Value{Tensor(), std::move(value), nullptr};
}

void NodeContext::SetSequenceOutput(int i, std::vector<Tensor> tensors) {
  if (outputs_.size() <= static_cast<size_t>(i)) outputs_.resize(i + 1);
  outputs_[i] =
      Value{Tensor(), std::nullopt,
            std::make_shared<const std::vector<Tensor>>(std::move(tensors))};
}

absl::StatusOr<const std::vector<Tensor>*> NodeContext::SequenceInput(
    int i) const {
  if (!has_input(i) || inputs_[i]->sequence == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", i, " is not a sequence"));
  }
  return inputs_[i]->sequence.get();
}

absl::Status NodeContext::Unsupported(std::string_view why) const {
  absl::Status s = absl::UnimplementedError(why);
  s.SetPayload(kUnsupportedPayload, absl::Cord(why));
  return s;
}

const absl::flat_hash_map<std::string, Converter>& Converters() {
  static const auto* table = [] {
    auto* t = new absl::flat_hash_map<std::string, Converter>;
    RegisterCoreConverters(*t);
    RegisterNnConverters(*t);
    RegisterCompositeConverters(*t);
    RegisterRnnConverters(*t);
    RegisterControlFlowConverters(*t);
    RegisterVisionConverters(*t);
    return t;
  }();
  return *table;
}

// ----------------------------------------------------------- Importer --

namespace {

// A weft node name from an ONNX name: characters weft does not allow
// become '_', '/' runs collapse and none starts or ends the name.
std::string SanitizeName(std::string_view name, std::string_view fallback) {
  std::string out;
  for (char ch : name) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(ch)) ||
                    ch == '_' || ch == '.' || ch == '-' || ch == '/';
    char c = ok ? ch : '_';
    if (c == '/' && (out.empty() || out.back() == '/')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (out.empty()) return std::string(fallback);
  return out;
}

// Ops whose value depends on more than their inputs: never folded.
bool IsFoldable(std::string_view op) {
  static const auto* never = new absl::flat_hash_set<std::string_view>{
      "RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike",
      "Multinomial", "Bernoulli", "Dropout",
      // Their subgraphs read values of the enclosing graph by name.
      "If", "Loop"};
  // Sequence ops build import-time lists of tensors of the model's graph.
  return !never->contains(op) && !absl::StrContains(op, "Sequence");
}

// The values one ONNX graph sees while it is imported: the model's graph,
// or a subgraph (If's branches, Loop's body) imported into a Function's
// body graph. A subgraph's scope holds its own values plus those it reads
// from the enclosing scopes (as constants, or as the Function's captures).
struct Scope {
  Graph graph;
  absl::flat_hash_map<std::string, Value> values;
  // Per value name, its uses in this graph (CountUses).
  absl::flat_hash_map<std::string, int> uses;
  absl::flat_hash_set<std::string> poisoned;  // Outputs of skipped nodes.
  // Where the graph is, for messages: "" for the model's graph, else
  // "node #3 (Loop 'l') attribute body: " (nested ones chained).
  std::string text_prefix;
  // Appended to the provenance of the graph's nodes: "" for the model's
  // graph, else " in Loop 'l' body" (nested ones chained).
  std::string site_suffix;
};

// Calls use(name) for every use of a value in `g`: each node input (not
// the empty name of an omitted one), once per subgraph attribute for each
// name that subgraph reads from outside itself, and each graph output.
template <typename F>
void ForEachUse(const onnx::GraphProto& g, const F& use);

// Every name `g` reads that it does not define (its inputs, initializers
// and node outputs), its nested subgraphs' included, in first-use order.
void OuterNames(const onnx::GraphProto& g, std::vector<std::string>& out,
                absl::flat_hash_set<std::string>& seen) {
  absl::flat_hash_set<std::string> defined;
  for (const onnx::ValueInfoProto& vi : g.input()) defined.insert(vi.name());
  for (const onnx::TensorProto& t : g.initializer()) defined.insert(t.name());
  for (const onnx::NodeProto& n : g.node()) {
    for (const std::string& o : n.output()) defined.insert(o);
  }
  ForEachUse(g, [&](const std::string& name) {
    if (!name.empty() && !defined.contains(name) && seen.insert(name).second) {
      out.push_back(name);
    }
  });
}

template <typename F>
void ForEachUse(const onnx::GraphProto& g, const F& use) {
  for (const onnx::NodeProto& n : g.node()) {
    for (const std::string& in : n.input()) {
      if (!in.empty()) use(in);
    }
    for (const onnx::AttributeProto& a : n.attribute()) {
      std::vector<const onnx::GraphProto*> graphs;
      if (a.has_g()) graphs.push_back(&a.g());
      for (const onnx::GraphProto& sg : a.graphs()) graphs.push_back(&sg);
      for (const onnx::GraphProto* sg : graphs) {
        std::vector<std::string> inner;
        absl::flat_hash_set<std::string> inner_seen;
        OuterNames(*sg, inner, inner_seen);
        for (const std::string& name : inner) use(name);
      }
    }
  }
  for (const onnx::ValueInfoProto& vi : g.output()) use(vi.name());
}

// Per value name, how many node inputs, subgraph reads (one per subgraph
// that reads it) and graph outputs of `g` name it.
absl::flat_hash_map<std::string, int> CountUses(const onnx::GraphProto& g) {
  absl::flat_hash_map<std::string, int> uses;
  ForEachUse(g, [&uses](const std::string& name) { ++uses[name]; });
  return uses;
}

// `inferred` refined by the shape an ONNX graph declares for the value (its
// ValueInfo), where it is known and compatible; nullopt when the
// declaration adds nothing.
std::optional<Shape> DeclaredRefinement(const onnx::ValueInfoProto& vi,
                                        const Shape& inferred) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) {
    return std::nullopt;
  }
  const auto& dims = vi.type().tensor_type().shape().dim();
  if (dims.size() != inferred.rank()) return std::nullopt;
  std::vector<int64_t> out;
  bool refined = false;
  int unknown = 0;
  for (int i = 0; i < inferred.rank(); ++i) {
    const int64_t d = inferred.dim(i);
    const int64_t declared = dims[i].has_dim_value() ? dims[i].dim_value() : -1;
    if (d >= 0 && declared >= 0 && d != declared) return std::nullopt;
    if (d < 0 && declared >= 0) refined = true;
    out.push_back(d >= 0 ? d : declared);
    if (out.back() < 0) ++unknown;
  }
  // A Reshape pins it; it takes at most one unknown dim.
  if (!refined || unknown > 1) return std::nullopt;
  return Shape(out);
}

class Importer {
 public:
  Importer(const onnx::ModelProto& model, std::string_view source,
           const OnnxImportOptions& options)
      : model_(model), source_(source), options_(options) {
    size_t slash = source_.find_last_of('/');
    file_ = slash == std::string::npos ? source_ : source_.substr(slash + 1);
  }

  absl::StatusOr<OnnxModel> Run() {
    if (absl::Status s = ReadOpset(); !s.ok()) return s;
    const onnx::GraphProto& g = model_.graph();
    if (absl::Status s = CheckOpTypes(g); !s.ok()) return s;
    result_.graph = Graph::Create(
        options_.graph_name.empty() ? g.name() : options_.graph_name);
    root_.graph = result_.graph;
    root_.uses = CountUses(g);
    result_.opset = opset_;
    if (absl::Status s = AddInitializers(g); !s.ok()) return s;
    if (absl::Status s = AddInputs(g); !s.ok()) return s;
    for (int i = 0; i < g.node_size(); ++i) {
      if (absl::Status s = ConvertNode(root_, g.node(i), i); !s.ok()) return s;
    }
    if (!unsupported_.empty()) return UnsupportedError();
    return AddOutputs(g);
  }

 private:
  // The SubgraphImporter a node's converter sees: the importer, bound to
  // the scope the node is converted in.
  class ScopeSubgraphs : public SubgraphImporter {
   public:
    ScopeSubgraphs(Importer& importer, Scope& scope, const onnx::NodeProto& n,
                   int index)
        : importer_(importer), scope_(scope), node_(n), index_(index) {}
    absl::StatusOr<Subgraph> Prepare(
        const onnx::AttributeProto& attr) override {
      return importer_.PrepareSubgraph(scope_, node_, index_, attr);
    }
    absl::StatusOr<std::vector<Value>> Import(const Subgraph& sub,
                                              const std::vector<Value>& inputs,
                                              const Graph& target,
                                              bool traced) override {
      return importer_.ImportSubgraph(scope_, node_, index_, sub, inputs,
                                      target, traced);
    }
    std::string UniqueFunctionName(std::string_view base) override {
      std::string name(base);
      for (int k = 1; !importer_.function_names_.insert(name).second; ++k) {
        name = absl::StrCat(base, "_", k);
      }
      return name;
    }

   private:
    Importer& importer_;
    Scope& scope_;
    const onnx::NodeProto& node_;
    int index_;
  };

  std::string Where() const { return absl::StrCat("ONNX model ", source_); }

  absl::Status ModelError(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(Where(), ": ", what));
  }

  std::string NodeText(const onnx::NodeProto& n, int index) const {
    return absl::StrCat("node #", index, " (", n.op_type(),
                        n.name().empty() ? "" : " ",
                        n.name().empty() ? "" : QuotedName(n.name()), ")");
  }

  // An error marking the node whose subgraph is being prepared or imported
  // unsupported without listing it: the reason is listed already.
  static absl::Status Listed(std::string_view why) {
    absl::Status s = Unsupported(why);
    s.SetPayload(kListedPayload, absl::Cord(why));
    return s;
  }

  // An error marking the node whose subgraph is being prepared or imported
  // unsupported for `why` (NodeContext::Unsupported's payload).
  static absl::Status Unsupported(std::string_view why) {
    absl::Status s = absl::UnimplementedError(why);
    s.SetPayload(kUnsupportedPayload, absl::Cord(why));
    return s;
  }

  void ListUnsupported(std::string entry) {
    if (listed_.insert(entry).second) unsupported_.push_back(std::move(entry));
  }

  absl::Status ReadOpset() {
    opset_ = -1;
    for (const onnx::OperatorSetIdProto& o : model_.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
    }
    if (opset_ < 0) {
      return ModelError("imports no opset of the default ONNX domain");
    }
    if (opset_ < 1 || opset_ > 17) {
      return absl::UnimplementedError(absl::StrCat(
          Where(), ": opset ", opset_,
          " of the default domain is not supported (weft imports opsets "
          "1-17)"));
    }
    return absl::OkStatus();
  }

  // Notes every node (subgraphs included) whose op type or domain weft
  // cannot convert; the import goes on (skipping those nodes and what
  // depends on them) so that one error lists every unsupported node.
  absl::Status CheckOpTypes(const onnx::GraphProto& g) {
    CollectUnknownOps(g, "");
    return absl::OkStatus();
  }

  // Whether `n` has a converter (CollectUnknownOps listed it otherwise).
  static bool IsConvertible(const onnx::NodeProto& n) {
    return (n.domain().empty() || n.domain() == "ai.onnx") &&
           Converters().contains(n.op_type());
  }

  void CollectUnknownOps(const onnx::GraphProto& g, std::string_view prefix) {
    const auto& table = Converters();
    for (int i = 0; i < g.node_size(); ++i) {
      const onnx::NodeProto& n = g.node(i);
      std::string where = absl::StrCat(prefix, NodeText(n, i));
      if (!n.domain().empty() && n.domain() != "ai.onnx") {
        ListUnsupported(
            absl::StrCat(where, ": domain ", QuotedName(n.domain())));
      } else if (!table.contains(n.op_type())) {
        ListUnsupported(absl::StrCat(where, ": op ", n.op_type()));
      }
      for (const onnx::AttributeProto& a : n.attribute()) {
        if (a.has_g()) {
          CollectUnknownOps(a.g(),
                            absl::StrCat(where, " attribute ", a.name(), ": "));
        }
      }
    }
  }

  absl::Status UnsupportedError() const {
    return absl::UnimplementedError(
        absl::StrCat(Where(), ": ", unsupported_.size(), " unsupported node",
                     unsupported_.size() == 1 ? "" : "s",
                     " (docs/onnx.md lists what weft "
                     "imports):\n  ",
                     absl::StrJoin(unsupported_, "\n  ")));
  }

  // The initializers of `g` as constants of `scope`; `prefix` says where
  // `g` is.
  absl::Status AddInitializers(Scope& scope, const onnx::GraphProto& g) {
    for (const onnx::TensorProto& t : g.initializer()) {
      absl::StatusOr<NDArray> a = NDArrayFromOnnx(t);
      if (!a.ok()) {
        if (absl::IsUnimplemented(a.status())) {
          ListUnsupported(absl::StrCat(scope.text_prefix, "initializer ",
                                       QuotedName(t.name()), ": ",
                                       a.status().message()));
          scope.poisoned.insert(t.name());
          continue;
        }
        return ModelError(absl::StrCat(scope.text_prefix, "initializer ",
                                       QuotedName(t.name()), ": ",
                                       a.status().message()));
      }
      scope.values[t.name()] = Value{Tensor(), *std::move(a)};
    }
    return absl::OkStatus();
  }
  absl::Status AddInitializers(const onnx::GraphProto& g) {
    return AddInitializers(root_, g);
  }

  absl::StatusOr<Shape> InputShape(const onnx::ValueInfoProto& vi) {
    const onnx::TypeProto::Tensor& tt = vi.type().tensor_type();
    std::vector<int64_t> dims;
    for (const auto& d : tt.shape().dim()) {
      dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value()
                                                             : -1);
    }
    auto pinned = options_.input_shapes.find(vi.name());
    if (pinned == options_.input_shapes.end()) return Shape(dims);
    const Shape& p = pinned->second;
    bool agrees = !tt.has_shape() || p.rank() == static_cast<int>(dims.size());
    for (int i = 0; agrees && tt.has_shape() && i < p.rank(); ++i) {
      agrees = dims[i] == -1 || dims[i] == p.dim(i);
    }
    if (!agrees) {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(), ": OnnxImportOptions::input_shapes gives input ",
          QuotedName(vi.name()), " shape ", p.DebugString(),
          ", which contradicts the model's ", Shape(dims).DebugString()));
    }
    return p;
  }

  absl::Status AddInputs(const onnx::GraphProto& g) {
    absl::flat_hash_set<std::string> names;
    for (const onnx::ValueInfoProto& vi : g.input()) {
      names.insert(vi.name());
      if (root_.values.contains(vi.name())) continue;  // An initializer.
      if (auto c = options_.constant_inputs.find(vi.name());
          c != options_.constant_inputs.end()) {
        root_.values[vi.name()] = Value{Tensor(), c->second};
        continue;
      }
      if (!vi.type().has_tensor_type()) {
        ListUnsupported(
            absl::StrCat("input ", QuotedName(vi.name()), ": not a tensor"));
        root_.poisoned.insert(vi.name());
        continue;
      }
      absl::StatusOr<DType> dtype =
          DTypeFromOnnx(vi.type().tensor_type().elem_type());
      if (!dtype.ok()) {
        ListUnsupported(absl::StrCat("input ", QuotedName(vi.name()), ": ",
                                     dtype.status().message()));
        root_.poisoned.insert(vi.name());
        continue;
      }
      absl::StatusOr<Shape> shape = InputShape(vi);
      if (!shape.ok()) return shape.status();
      OpOptions o;
      o.graph = result_.graph;
      o.name = SanitizeName(vi.name(), "input");
      o.device = options_.device;
      o.site = SourceSite{file_, 0,
                          absl::StrCat("ONNX input ", QuotedName(vi.name()))};
      Tensor t = ops::Placeholder(*dtype, *shape, o);
      if (!t.ok()) return t.status();
      root_.values[vi.name()] = Value{t, std::nullopt};
      result_.inputs.push_back(t);
      result_.input_names.push_back(vi.name());
    }
    for (const auto& [name, shape] : options_.input_shapes) {
      if (!names.contains(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            Where(), ": OnnxImportOptions::input_shapes names ",
            QuotedName(name), ", which is not an input of the model"));
      }
    }
    for (const auto& [name, value] : options_.constant_inputs) {
      if (!names.contains(name)) {
        return absl::InvalidArgumentError(absl::StrCat(
            Where(), ": OnnxImportOptions::constant_inputs names ",
            QuotedName(name), ", which is not an input of the model"));
      }
    }
    return absl::OkStatus();
  }

  OpOptions NodeOptions(const Scope& scope, const Graph& graph,
                        const onnx::NodeProto& n, int index) const {
    OpOptions o;
    o.graph = graph;
    o.name = SanitizeName(n.name(), n.output_size() > 0 && !n.output(0).empty()
                                        ? SanitizeName(n.output(0), n.op_type())
                                        : n.op_type());
    o.device = options_.device;
    o.site = SourceSite{
        file_, index,
        absl::StrCat("ONNX ", n.op_type(), n.name().empty() ? "" : " ",
                     n.name().empty() ? "" : QuotedName(n.name()),
                     scope.site_suffix)};
    return o;
  }

  // The node's inputs; nullptr for an omitted optional input. An input
  // name nothing produced is a malformed model (the checker catches most).
  absl::StatusOr<std::vector<Value*>> NodeInputs(Scope& scope,
                                                 const onnx::NodeProto& n,
                                                 int index, bool& poisoned) {
    std::vector<Value*> in;
    for (const std::string& name : n.input()) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      if (scope.poisoned.contains(name)) poisoned = true;
      auto it = scope.values.find(name);
      if (it == scope.values.end()) {
        if (poisoned) {
          in.push_back(nullptr);
          continue;
        }
        return ModelError(absl::StrCat(scope.text_prefix, NodeText(n, index),
                                       " reads ", QuotedName(name),
                                       ", which no earlier node produces"));
      }
      in.push_back(&it->second);
    }
    return in;
  }

  // The first storage-only dtype (uint8, int8, float16: weft holds and
  // casts them but computes on none) among a node's inputs. When a
  // converter's weft op refuses the dtype (kDType) of such a node, the node
  // is converted again in a wider dtype (RunInComputeDType).
  static std::optional<DType> FirstStorageDType(const std::vector<Value*>& in) {
    for (const Value* v : in) {
      if (v == nullptr || v->sequence != nullptr) continue;
      const DType d =
          v->constant.has_value() ? v->constant->dtype() : v->tensor.dtype();
      if (IsStorageOnly(d)) return d;
    }
    return std::nullopt;
  }

  absl::Status ConvertNode(Scope& scope, const onnx::NodeProto& n, int index) {
    bool poisoned = false;
    absl::StatusOr<std::vector<Value*>> in =
        NodeInputs(scope, n, index, poisoned);
    if (!in.ok()) return in.status();
    if (poisoned || !IsConvertible(n)) {
      // Unsupported (already listed), or downstream of an unsupported
      // node: skip it.
      for (const std::string& out : n.output()) scope.poisoned.insert(out);
      return absl::OkStatus();
    }
    Converter convert = Converters().at(n.op_type());
    bool all_constant = IsFoldable(n.op_type());
    for (Value* v : *in) {
      if (v != nullptr &&
          (!v->constant.has_value() || v->sequence != nullptr)) {
        all_constant = false;
      }
    }
    std::vector<std::optional<Value>> outputs;
    absl::Status s = all_constant ? Fold(scope, n, index, convert, *in, outputs)
                                  : RunConverter(scope, n, index, convert,
                                                 scope.graph, *in, outputs);
    if (!s.ok()) {
      if (!s.GetPayload(kUnsupportedPayload).has_value()) return s;
      if (!s.GetPayload(kListedPayload).has_value()) {
        ListUnsupported(absl::StrCat(scope.text_prefix, NodeText(n, index),
                                     ": ", s.message()));
      }
      for (const std::string& out : n.output()) scope.poisoned.insert(out);
      return absl::OkStatus();
    }
    for (int i = 0; i < n.output_size(); ++i) {
      if (n.output(i).empty()) continue;
      if (static_cast<size_t>(i) >= outputs.size() || !outputs[i].has_value()) {
        if (i == 0) {
          return absl::InternalError(
              absl::StrCat(Where(), ": ", scope.text_prefix, NodeText(n, index),
                           ": output 0 not produced"));
        }
        // An optional output weft does not compute (e.g. MaxPool's
        // indices): using it is unsupported.
        scope.poisoned.insert(n.output(i));
        continue;
      }
      const Tensor& t = outputs[i]->tensor;
      if (t.ok() && t.node() != nullptr) {
        auto uses = scope.uses.find(n.output(i));
        tensor_uses_[{t.node(), t.index()}] +=
            uses == scope.uses.end() ? 0 : uses->second;
      }
      scope.values[n.output(i)] = *std::move(outputs[i]);
    }
    return absl::OkStatus();
  }

  // Runs the converter into `graph`; the attributes it did not read make
  // the node unsupported.
  absl::Status RunConverter(Scope& scope, const onnx::NodeProto& n, int index,
                            Converter convert, const Graph& graph,
                            std::vector<Value*> in,
                            std::vector<std::optional<Value>>& outputs) {
    ScopeSubgraphs subgraphs(*this, scope, n, index);
    const std::optional<DType> storage = FirstStorageDType(in);
    NodeContext ctx(n, opset_, graph, NodeOptions(scope, graph, n, index),
                    std::move(in), &subgraphs,
                    options_.fuse ? &tensor_uses_ : nullptr,
                    options_.max_nodes);
    // Before opset 6 many ops carried the bookkeeping attribute
    // consumed_inputs, which has no meaning for inference.
    if (opset_ < 6) ctx.Ignore("consumed_inputs");
    absl::Status s = convert(ctx);
    if (!s.ok()) {
      const std::optional<OpErrorInfo> info = GetOpErrorInfo(s);
      if (storage.has_value() && info.has_value() &&
          info->kind == ErrorKind::kDType) {
        return RunInComputeDType(scope, n, index, convert, graph, subgraphs,
                                 ctx, *storage, outputs);
      }
      if (s.GetPayload(kUnsupportedPayload).has_value()) return s;
      // An error of a node inside this node's subgraph names its node.
      if (absl::StartsWith(s.message(), Where())) return s;
      return absl::Status(s.code(),
                          absl::StrCat(Where(), ": ", scope.text_prefix,
                                       NodeText(n, index), ": ", s.message()));
    }
    return TakeOutputs(ctx, outputs);
  }

  // A converted node's outputs; its attributes the converter did not read
  // make it unsupported.
  static absl::Status TakeOutputs(NodeContext& ctx,
                                  std::vector<std::optional<Value>>& outputs) {
    std::vector<std::string> unread = ctx.UnreadAttrs();
    if (!unread.empty()) {
      return ctx.Unsupported(absl::StrCat(
          "attribute", unread.size() == 1 ? " " : "s ",
          absl::StrJoin(unread, ", ", [](std::string* o, const std::string& a) {
            absl::StrAppend(o, QuotedName(a));
          })));
    }
    outputs = ctx.outputs();
    return absl::OkStatus();
  }

  // A node whose weft ops refused its storage dtype: converted again on
  // its inputs cast to a compute dtype — int32 for uint8 and int8 (then
  // float32, exact for 8-bit values, for the float-only ops), float32 for
  // float16 — and its outputs of that dtype cast back: integer results wrap
  // and float16 results are rounded once per op, as ONNX's reference
  // computes them. `failed` is the first attempt's context (it holds the
  // inputs).
  absl::Status RunInComputeDType(Scope& scope, const onnx::NodeProto& n,
                                 int index, Converter convert,
                                 const Graph& graph, ScopeSubgraphs& subgraphs,
                                 NodeContext& failed, DType storage,
                                 std::vector<std::optional<Value>>& outputs) {
    std::vector<DType> computes = {DType::kFloat32};
    if (storage != DType::kFloat16)
      computes.insert(computes.begin(), DType::kInt32);
    absl::Status last;
    for (const DType compute : computes) {
      last = ConvertCast(scope, n, index, convert, graph, subgraphs, failed,
                         storage, compute, outputs);
      const std::optional<OpErrorInfo> info = GetOpErrorInfo(last);
      if (last.ok() || !info.has_value() || info->kind != ErrorKind::kDType) {
        break;
      }
    }
    if (last.ok() || last.GetPayload(kUnsupportedPayload).has_value()) {
      return last;
    }
    return failed.Unsupported(
        absl::StrCat("dtype ", DTypeName(storage), " (", last.message(), ")"));
  }

  // One attempt of RunInComputeDType in `compute`.
  absl::Status ConvertCast(Scope& scope, const onnx::NodeProto& n, int index,
                           Converter convert, const Graph& graph,
                           ScopeSubgraphs& subgraphs, NodeContext& failed,
                           DType storage, DType compute,
                           std::vector<std::optional<Value>>& outputs) {
    std::vector<Value> promoted(failed.num_inputs());
    std::vector<Value*> in;
    for (int i = 0; i < failed.num_inputs(); ++i) {
      if (!failed.has_input(i)) {
        in.push_back(nullptr);
        continue;
      }
      absl::StatusOr<Tensor> t = failed.input(i);
      if (!t.ok()) return t.status();
      if (IsStorageOnly(t->dtype())) {
        t = failed.Op("Cast", {*t}, {{"dtype", compute}});
        if (!t.ok()) return t.status();
      }
      promoted[i].tensor = *t;
      in.push_back(&promoted[i]);
    }
    NodeContext ctx(n, opset_, graph, NodeOptions(scope, graph, n, index),
                    std::move(in), &subgraphs,
                    options_.fuse ? &tensor_uses_ : nullptr,
                    options_.max_nodes);
    if (opset_ < 6) ctx.Ignore("consumed_inputs");
    if (absl::Status s = convert(ctx); !s.ok()) return s;
    for (size_t i = 0; i < ctx.outputs().size(); ++i) {
      const std::optional<Value>& o = ctx.outputs()[i];
      if (!o.has_value() || !o->tensor.ok() || o->tensor.dtype() != compute) {
        continue;
      }
      const Tensor computed = o->tensor;  // SetOutput replaces o.
      absl::StatusOr<Tensor> back =
          ctx.Op("Cast", {computed}, {{"dtype", storage}});
      if (!back.ok()) return back.status();
      ctx.SetOutput(static_cast<int>(i), *back);
    }
    return TakeOutputs(ctx, outputs);
  }

  // Every input is known: the node is converted into a scratch graph over
  // Consts of those inputs and evaluated now; its outputs become constants
  // of the model (given a Const node only if something uses them).
  absl::Status Fold(Scope& scope, const onnx::NodeProto& n, int index,
                    Converter convert, const std::vector<Value*>& in,
                    std::vector<std::optional<Value>>& outputs) {
    Graph scratch = Graph::Create("onnx_fold");
    std::vector<Value> local;
    local.reserve(in.size());
    std::vector<Value*> local_in;
    for (Value* v : in) {
      if (v == nullptr) {
        local_in.push_back(nullptr);
        continue;
      }
      local.push_back(Value{Tensor(), v->constant});
      local_in.push_back(&local.back());
    }
    if (absl::Status s =
            RunConverter(scope, n, index, convert, scratch, local_in, outputs);
        !s.ok()) {
      return s;
    }
    std::vector<Tensor> fetches;
    std::vector<int> slots;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].has_value() && !outputs[i]->constant.has_value()) {
        fetches.push_back(outputs[i]->tensor);
        slots.push_back(static_cast<int>(i));
      }
    }
    if (fetches.empty()) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(scratch);
    if (!session.ok()) return session.status();
    absl::StatusOr<std::vector<NDArray>> values = (*session)->Run({}, fetches);
    if (!values.ok()) {
      return absl::Status(
          values.status().code(),
          absl::StrCat(
              Where(), ": ", scope.text_prefix, NodeText(n, index),
              ": evaluating it at import: ", values.status().message()));
    }
    for (size_t k = 0; k < slots.size(); ++k) {
      outputs[slots[k]] = Value{Tensor(), std::move((*values)[k])};
    }
    return absl::OkStatus();
  }

  // What subgraph attribute `attr` of node `n` (converted in `scope`) reads
  // from the enclosing scopes: constants are copied, tensors captured.
  absl::StatusOr<Subgraph> PrepareSubgraph(Scope& scope,
                                           const onnx::NodeProto& n, int index,
                                           const onnx::AttributeProto& attr) {
    Subgraph sub;
    sub.graph = &attr.g();
    sub.attr = attr.name();
    std::vector<std::string> names;
    absl::flat_hash_set<std::string> seen;
    OuterNames(attr.g(), names, seen);
    for (const std::string& name : names) {
      if (scope.poisoned.contains(name)) {
        return Listed(absl::StrCat("attribute ", attr.name(), " reads ",
                                   QuotedName(name),
                                   ", which an unsupported node produces"));
      }
      auto it = scope.values.find(name);
      if (it == scope.values.end()) {
        return ModelError(absl::StrCat(
            scope.text_prefix, NodeText(n, index), ": attribute ", attr.name(),
            " reads ", QuotedName(name), ", which no earlier node produces"));
      }
      const Value& v = it->second;
      if (v.sequence != nullptr) {
        return Unsupported(absl::StrCat(
            "attribute ", attr.name(), " reads the sequence ", QuotedName(name),
            " of the enclosing graph; weft passes only tensors into a "
            "subgraph"));
      }
      if (v.constant.has_value()) {
        sub.constants.emplace_back(name, *v.constant);
      } else {
        sub.captured_names.push_back(name);
        sub.captures.push_back(v.tensor);
      }
    }
    return sub;
  }

  // Imports `sub` (of node `n`, converted in `parent`) into `target`; see
  // SubgraphImporter::Import.
  absl::StatusOr<std::vector<Value>> ImportSubgraph(
      Scope& parent, const onnx::NodeProto& n, int index, const Subgraph& sub,
      const std::vector<Value>& inputs, const Graph& target, bool traced) {
    const onnx::GraphProto& g = *sub.graph;
    Scope scope;
    scope.graph = target;
    scope.uses = CountUses(g);
    scope.text_prefix = absl::StrCat(parent.text_prefix, NodeText(n, index),
                                     " attribute ", sub.attr, ": ");
    scope.site_suffix =
        absl::StrCat(" in ", n.op_type(), n.name().empty() ? "" : " ",
                     n.name().empty() ? "" : QuotedName(n.name()), " ",
                     sub.attr, parent.site_suffix);
    auto fail = [&](std::string_view what) {
      return ModelError(absl::StrCat(parent.text_prefix, NodeText(n, index),
                                     ": attribute ", sub.attr, " ", what));
    };
    if (g.input_size() != static_cast<int>(inputs.size())) {
      return fail(absl::StrCat("has ", g.input_size(), " inputs; ", n.op_type(),
                               " passes it ", inputs.size()));
    }
    for (const auto& [name, value] : sub.constants) {
      scope.values[name] = Value{Tensor(), value};
    }
    for (size_t k = 0; k < sub.captured_names.size(); ++k) {
      const std::string& name = sub.captured_names[k];
      if (!traced) {
        scope.values[name] = Value{sub.captures[k], std::nullopt};
        continue;
      }
      // Built in the body of the function being traced with the capture
      // listed, the Identity reads the capture's hidden placeholder.
      OpOptions o = NodeOptions(parent, target, n, index);
      o.name = SanitizeName(name, "capture");
      Tensor t = ops::Identity(sub.captures[k], o);
      if (!t.ok()) {
        return fail(absl::StrCat("reads ", QuotedName(name), ": ",
                                 t.status().message()));
      }
      scope.values[name] = Value{t, std::nullopt};
    }
    if (absl::Status s = AddInitializers(scope, g); !s.ok()) return s;
    for (int i = 0; i < g.input_size(); ++i) {
      scope.values[g.input(i).name()] = inputs[i];
      scope.poisoned.erase(g.input(i).name());
    }
    for (int i = 0; i < g.node_size(); ++i) {
      if (absl::Status s = ConvertNode(scope, g.node(i), i); !s.ok()) return s;
    }
    std::vector<Value> out;
    for (int i = 0; i < g.output_size(); ++i) {
      const onnx::ValueInfoProto& vi = g.output(i);
      if (scope.poisoned.contains(vi.name())) {
        return Listed(absl::StrCat("attribute ", sub.attr, " output ",
                                   QuotedName(vi.name()),
                                   " is produced by an unsupported node"));
      }
      auto it = scope.values.find(vi.name());
      if (it == scope.values.end()) {
        return fail(absl::StrCat("output ", QuotedName(vi.name()),
                                 " is produced by no node"));
      }
      Value v = it->second;
      if (traced) {
        if (v.sequence != nullptr) {
          return Unsupported(absl::StrCat(
              "attribute ", sub.attr, " output ", QuotedName(vi.name()),
              " is a sequence; weft's functions return tensors"));
        }
        OpOptions o = NodeOptions(scope, target, n, index);
        o.name = SanitizeName(vi.name(), "output");
        if (!v.tensor.ok()) v.tensor = ops::Const(*v.constant, o);
        if (!v.tensor.ok()) return v.tensor.status();
        // A shape the subgraph declares pins dims inference leaves
        // unknown (a Slice by run-time bounds, a Range).
        if (std::optional<Shape> pinned =
                DeclaredRefinement(vi, v.tensor.shape())) {
          v.tensor = ops::Reshape(v.tensor, *pinned, o);
          if (!v.tensor.ok()) return v.tensor.status();
        }
        v.constant.reset();
      }
      out.push_back(std::move(v));
    }
    return out;
  }

  absl::StatusOr<OnnxModel> AddOutputs(const onnx::GraphProto& g) {
    for (const onnx::ValueInfoProto& vi : g.output()) {
      auto it = root_.values.find(vi.name());
      if (it == root_.values.end()) {
        return ModelError(absl::StrCat("graph output ", QuotedName(vi.name()),
                                       " is produced by no node"));
      }
      Value& v = it->second;
      if (v.sequence != nullptr) {
        return absl::UnimplementedError(
            absl::StrCat(Where(), ": graph output ", QuotedName(vi.name()),
                         " is a sequence; weft's outputs are tensors"));
      }
      if (!v.tensor.ok()) {
        OpOptions o;
        o.graph = result_.graph;
        o.name = SanitizeName(vi.name(), "output");
        o.device = options_.device;
        o.site = SourceSite{
            file_, 0, absl::StrCat("ONNX output ", QuotedName(vi.name()))};
        v.tensor = ops::Const(*v.constant, o);
        if (!v.tensor.ok()) return v.tensor.status();
      }
      result_.outputs.push_back(v.tensor);
      result_.output_names.push_back(vi.name());
    }
    return std::move(result_);
  }

  const onnx::ModelProto& model_;
  std::string source_;
  std::string file_;  // The source's last path component, for provenance.
  const OnnxImportOptions& options_;
  int64_t opset_ = 0;
  OnnxModel result_;
  Scope root_;              // The model's graph.
  TensorUses tensor_uses_;  // Of every scope's values.
  std::vector<std::string> unsupported_;
  absl::flat_hash_set<std::string> listed_;  // unsupported_, as a set.
  absl::flat_hash_set<std::string> function_names_;
};

// ONNX's checker reports through C++ exceptions; this is the one place
// weft catches any, turning them into a Status naming the model.
absl::Status CheckModel(const onnx::ModelProto& model,
                        std::string_view source) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ONNX model ", source, " fails ONNX's model checker: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace onnx_internal

absl::StatusOr<OnnxModel> ImportOnnxBytes(std::string_view bytes,
                                          std::string_view source_name,
                                          const OnnxImportOptions& options) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ONNX model ", source_name, " is not a valid ModelProto (",
        bytes.size(), " bytes: truncated, corrupt or not an ONNX file)"));
  }
  if (!model.has_graph()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ONNX model ", source_name, " has no graph"));
  }
  if (absl::Status s = onnx_internal::CheckModel(model, source_name); !s.ok()) {
    return s;
  }
  if (absl::Status s = onnx_internal::InlineLocalFunctions(model, source_name);
      !s.ok()) {
    return s;
  }
  return onnx_internal::Importer(model, source_name, options).Run();
}

absl::StatusOr<OnnxModel> ImportOnnx(std::string_view path,
                                     const OnnxImportOptions& options) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ONNX model ", path,
                                            ": ", std::strerror(errno)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read ONNX model ", path));
  }
  return ImportOnnxBytes(buf.str(), path, options);
}

}  // namespace weft
