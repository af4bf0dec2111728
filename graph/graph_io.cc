#include "graph/graph_io.h"

#include <algorithm>
#include <climits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/file_io.h"
#include "graph/function.h"
#include "graph/function_body.h"
#include "graph/graph_def.pb.h"
#include "graph/graph_impl.h"
#include "graph/graph_io_internal.h"
#include "graph/ndarray.h"
#include "graph/op_registry.h"
#include "graph/provenance.h"

namespace weft {
namespace {

using internal::Quoted;

// ------------------------------------------------------------- resolvers --

struct ResolverTable {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::shared_ptr<const ResourceResolver>>
      by_kind ABSL_GUARDED_BY(mu);
};

ResolverTable& Resolvers() {
  static ResolverTable* table = new ResolverTable();
  return *table;
}

std::shared_ptr<const ResourceResolver> FindResolver(std::string_view kind) {
  ResolverTable& t = Resolvers();
  absl::MutexLock lock(&t.mu);
  auto it = t.by_kind.find(kind);
  return it == t.by_kind.end() ? nullptr : it->second;
}

// ---------------------------------------------------------------- dtypes --

DataType ToProto(DType d) {
  switch (d) {
    case DType::kFloat32:
      return DT_FLOAT32;
    case DType::kFloat64:
      return DT_FLOAT64;
    case DType::kInt32:
      return DT_INT32;
    case DType::kInt64:
      return DT_INT64;
    case DType::kBool:
      return DT_BOOL;
    case DType::kUInt8:
      return DT_UINT8;
    case DType::kInt8:
      return DT_INT8;
    case DType::kFloat16:
      return DT_FLOAT16;
  }
  return DT_INVALID;
}

std::optional<DType> FromProto(int d) {
  switch (d) {
    case DT_FLOAT32:
      return DType::kFloat32;
    case DT_FLOAT64:
      return DType::kFloat64;
    case DT_INT32:
      return DType::kInt32;
    case DT_INT64:
      return DType::kInt64;
    case DT_BOOL:
      return DType::kBool;
    case DT_UINT8:
      return DType::kUInt8;
    case DT_INT8:
      return DType::kInt8;
    case DT_FLOAT16:
      return DType::kFloat16;
    default:
      return std::nullopt;
  }
}

GraphSourceDef ToProto(GraphSource s) {
  switch (s) {
    case GraphSource::kExplicitHandle:
      return GRAPH_SOURCE_EXPLICIT_HANDLE;
    case GraphSource::kGraphScope:
      return GRAPH_SOURCE_GRAPH_SCOPE;
    case GraphSource::kRootGraph:
      return GRAPH_SOURCE_ROOT_GRAPH;
  }
  return GRAPH_SOURCE_EXPLICIT_HANDLE;
}

void ToProto(const SourceSite& site, SourceSiteDef* out) {
  out->set_file(site.file);
  out->set_line(site.line);
  out->set_function(site.function);
}

SourceSite FromProto(const SourceSiteDef& d) {
  return SourceSite{d.file(), d.line(), d.function()};
}

void ToProto(const Shape& shape, ShapeDef* out) {
  for (int64_t d : shape.dims()) out->add_dim(d);
}

// ------------------------------------------------------------------ save --

absl::Status SaveAttr(const std::string& node, const std::string& key,
                      const AttrValue& value, AttrValueDef* out,
                      std::vector<ResourceRef>& resources) {
  if (const auto* v = std::get_if<int64_t>(&value)) {
    out->set_i(*v);
  } else if (const auto* v = std::get_if<double>(&value)) {
    out->set_f(*v);
  } else if (const auto* v = std::get_if<bool>(&value)) {
    out->set_b(*v);
  } else if (const auto* v = std::get_if<std::string>(&value)) {
    out->set_s(*v);
  } else if (const auto* v = std::get_if<DType>(&value)) {
    out->set_dtype(ToProto(*v));
  } else if (const auto* v = std::get_if<Shape>(&value)) {
    ToProto(*v, out->mutable_shape());
  } else if (const auto* v = std::get_if<std::vector<int64_t>>(&value)) {
    IntList* list = out->mutable_int_list();  // Set even when empty.
    for (int64_t x : *v) list->add_value(x);
  } else if (const auto* v = std::get_if<NDArray>(&value)) {
    NDArrayDef* a = out->mutable_ndarray();
    a->set_dtype(ToProto(v->dtype()));
    ToProto(v->shape(), a->mutable_shape());
    if (v->valid()) {
      const std::string_view bytes = internal::NDArrayBytes(*v);
      a->set_content(bytes.data(), bytes.size());
    }
  } else if (const auto* v = std::get_if<ResourceRef>(&value)) {
    if (*v == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot save node ", Quoted(node), ": attr ", Quoted(key),
          " holds a null resource reference; give it the "
          "Variable or Queue it refers to"));
    }
    out->mutable_resource()->set_kind(std::string((*v)->kind()));
    out->mutable_resource()->set_name((*v)->name());
    // A function is saved in the library (see ToGraphDef), not bound.
    if (dynamic_cast<const internal::FunctionBody*>(v->get()) != nullptr) {
      return absl::OkStatus();
    }
    bool seen = false;
    for (const ResourceRef& r : resources) {
      seen = seen || (r->kind() == (*v)->kind() && r->name() == (*v)->name());
    }
    if (!seen) resources.push_back(*v);
  }
  return absl::OkStatus();
}

void SaveProvenance(const Provenance& p, ProvenanceDef* out) {
  ToProto(p.Site(), out->mutable_site());
  out->set_thread(p.thread);
  out->set_name_scope(p.name_scope);
  out->set_graph_source(ToProto(p.graph_source));
  if (p.graph_source == GraphSource::kGraphScope) {
    if (p.loaded != nullptr) {
      ToProto(p.loaded->scope_site, out->mutable_scope_site());
      if (p.loaded->scope_carried_by.has_value()) {
        ToProto(*p.loaded->scope_carried_by, out->mutable_scope_carried_by());
      }
    } else {
      ToProto(SourceSite::From(p.scope.site), out->mutable_scope_site());
      if (p.scope.carried_by.has_value()) {
        ToProto(SourceSite::From(*p.scope.carried_by),
                out->mutable_scope_carried_by());
      }
    }
    out->set_scope_thread(p.scope.thread);
  }
  if (p.stack != nullptr) {
    for (std::string_view frame :
         absl::StrSplit(p.SymbolizedStack(""), '\n', absl::SkipEmpty())) {
      out->add_stack(std::string(frame));
    }
  }
}

// The nodes of `graph` into `def` (resources they refer to are appended to
// `resources`, once each).
absl::Status SaveNodes(const Graph& graph, GraphDef* def,
                       std::vector<ResourceRef>& resources) {
  const std::vector<const Node*> nodes = graph.nodes();
  for (const Node* n : nodes) {
    NodeDef* nd = def->add_node();
    nd->set_name(n->name());
    nd->set_op(n->op());
    for (const NodeInput& in : n->inputs()) {
      nd->add_input(absl::StrCat(nodes[in.node]->name(), ":", in.slot));
    }
    for (int c : n->control_inputs()) {
      nd->add_input(absl::StrCat("^", nodes[c]->name()));
    }
    // Sorted by key: the output is deterministic.
    std::vector<std::pair<std::string, const AttrValue*>> attrs;
    for (const auto& [key, value] : n->attrs()) attrs.emplace_back(key, &value);
    std::sort(attrs.begin(), attrs.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [key, value] : attrs) {
      AttrEntry* entry = nd->add_attr();
      entry->set_key(key);
      if (absl::Status s = SaveAttr(n->name(), key, *value,
                                    entry->mutable_value(), resources);
          !s.ok()) {
        return s;
      }
    }
    nd->set_device(n->device());
    SaveProvenance(n->provenance(), nd->mutable_provenance());
  }
  return absl::OkStatus();
}

void SaveArg(const TensorSpec& spec, std::string_view name,
             std::string_view tensor, ArgDef* out) {
  out->set_name(std::string(name));
  out->set_dtype(ToProto(spec.dtype));
  ToProto(spec.shape, out->mutable_shape());
  out->set_tensor(std::string(tensor));
}

// One function of the library: its interface, its body's nodes and where
// it was traced.
absl::Status SaveFunction(const internal::FunctionBody& fb, FunctionDef* fd,
                          std::vector<ResourceRef>& resources) {
  fd->set_name(fb.name());
  for (size_t i = 0; i < fb.arg_specs.size(); ++i) {
    SaveArg(fb.arg_specs[i], fb.args[i].node_name(), "", fd->add_arg());
  }
  for (size_t i = 0; i < fb.output_specs.size(); ++i) {
    SaveArg(fb.output_specs[i], fb.output_specs[i].name, fb.outputs[i].name(),
            fd->add_output());
  }
  for (size_t i = 0; i < fb.capture_specs.size(); ++i) {
    SaveArg(fb.capture_specs[i], fb.capture_placeholders[i].node_name(),
            fb.capture_specs[i].name, fd->add_capture());
  }
  GraphDef* body = fd->mutable_body();
  body->set_name(fb.graph.name());
  if (absl::Status s = SaveNodes(fb.graph, body, resources); !s.ok()) {
    return internal::WithPrefix(
        s, absl::StrCat("in function ", fb.Describe(), ": "));
  }
  ToProto(fb.traced_site(), fd->mutable_provenance()->mutable_site());
  return absl::OkStatus();
}

absl::StatusOr<GraphDef> ToGraphDef(const Graph& graph) {
  if (graph.is_null()) {
    return absl::InvalidArgumentError(
        internal::NullHandleMessage("SaveGraph: cannot save", "Graph"));
  }
  GraphDef def;
  def.set_version_major(kGraphDefVersionMajor);
  def.set_version_minor(kGraphDefVersionMinor);
  def.set_name(graph.name());
  def.set_producer(absl::StrCat("weft graph format ", kGraphDefVersionMajor,
                                ".", kGraphDefVersionMinor));
  std::vector<ResourceRef> resources;
  if (absl::Status s = SaveNodes(graph, &def, resources); !s.ok()) return s;
  // The library: every function reachable from the nodes, callees first,
  // each once. Attrs refer to functions by name, so names must be unique.
  absl::flat_hash_map<std::string, const internal::FunctionBody*> by_name;
  for (const std::shared_ptr<internal::FunctionBody>& fb :
       internal::ReachableFunctions(graph)) {
    auto [it, inserted] = by_name.emplace(fb->name(), fb.get());
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot save graph ", graph.DisplayName(),
          ": it calls two different functions named ", Quoted(fb->name()),
          "\n  one is ", it->second->Describe(), "\n  the other is ",
          fb->Describe(),
          "\n  fix: a graph file refers to functions by name; give each "
          "Function::Trace its own name"));
    }
    if (absl::Status s =
            SaveFunction(*fb, def.mutable_library()->add_function(), resources);
        !s.ok()) {
      return s;
    }
  }
  for (const ResourceRef& r : resources) {
    ResourceRefDef* rd = def.add_resource();
    rd->set_kind(std::string(r->kind()));
    rd->set_name(r->name());
    for (const TensorSpec& spec : r->value_specs()) {
      ValueSpecDef* vs = rd->add_value_spec();
      vs->set_dtype(ToProto(spec.dtype));
      ToProto(spec.shape, vs->mutable_shape());
      vs->set_name(spec.name);
    }
  }
  return def;
}

// ----------------------------------------------------------------- parse --

// Collects the text parser's first error and the unknown fields it skipped
// (reported as warnings), each with its position.
class TextErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextErrors(std::string_view contents) : contents_(contents) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                            message);
    }
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    unknown_.push_back(UnknownField(line, column, message));
  }
  const std::string& first() const { return first_; }
  const std::vector<std::string>& unknown() const { return unknown_; }

 private:
  // "line 5, column 3: unknown field 'devcie' in weft.NodeDef" from the
  // parser's 'Message type "weft.NodeDef" has no field named "devcie".'
  // (reported at the token after the name; the column is the name's).
  std::string UnknownField(int line, int column,
                           const std::string& message) const {
    constexpr std::string_view kType = "Message type \"";
    constexpr std::string_view kField = "\" has no field named \"";
    const size_t type_at = message.find(kType);
    const size_t field_at = message.find(kField);
    if (type_at == std::string::npos || field_at == std::string::npos ||
        field_at < type_at) {
      return absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                          message);
    }
    const std::string type = message.substr(type_at + kType.size(),
                                            field_at - type_at - kType.size());
    std::string name = message.substr(field_at + kField.size());
    name = name.substr(0, name.find('"'));
    std::vector<std::string_view> lines = absl::StrSplit(contents_, '\n');
    if (line >= 0 && static_cast<size_t>(line) < lines.size()) {
      const size_t at = lines[line].rfind(name, static_cast<size_t>(column));
      if (at != std::string_view::npos) column = static_cast<int>(at);
    }
    return absl::StrCat("line ", line + 1, ", column ", column + 1,
                        ": unknown field ", Quoted(name), " in ", type);
  }

  std::string_view contents_;
  std::string first_;
  std::vector<std::string> unknown_;
};

// A text file's unknown fields are skipped when it has a newer minor
// version (fields this build does not know yet, as the binary parser skips
// them) or another major version (CheckVersion refuses it); in a file of
// this build's version or an older one they are mistakes ("devcie:").
absl::Status CheckUnknownTextFields(const GraphDef& def,
                                    const TextErrors& errors,
                                    std::string_view source) {
  const int major = def.version_major();
  if (errors.unknown().empty() ||
      (major == kGraphDefVersionMajor &&
       def.version_minor() > kGraphDefVersionMinor) ||
      (major != 0 && major != kGraphDefVersionMajor)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "graph file ", Quoted(source), " is not a valid text weft.GraphDef: ",
      absl::StrJoin(errors.unknown(), "; "), "\n  format ",
      kGraphDefVersionMajor, ".", kGraphDefVersionMinor,
      " has no such field (is it misspelled?); only a file of a newer minor "
      "version may hold fields this build does not know"));
}

absl::StatusOr<GraphDef> ParseGraphDef(std::string_view contents,
                                       GraphFileFormat format,
                                       std::string_view source) {
  GraphDef def;
  if (format == GraphFileFormat::kBinary) {
    if (contents.size() > static_cast<size_t>(INT_MAX) ||
        !def.ParseFromArray(contents.data(),
                            static_cast<int>(contents.size()))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "graph file ", Quoted(source),
          " is not a valid binary weft.GraphDef (truncated or corrupt); a "
          "'.pb' file must hold the protobuf wire format, a '.pbtxt' file "
          "the text format"));
    }
    return def;
  }
  google::protobuf::TextFormat::Parser parser;
  TextErrors errors(contents);
  parser.RecordErrorsTo(&errors);
  // Unknown fields are collected (as warnings) and judged by the file's
  // version once it is known: CheckUnknownTextFields.
  parser.AllowUnknownField(true);
  google::protobuf::io::ArrayInputStream in(
      contents.data(),
      static_cast<int>(std::min<size_t>(contents.size(), INT_MAX)));
  if (contents.size() > static_cast<size_t>(INT_MAX) ||
      !parser.Parse(&in, &def)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "graph file ", Quoted(source), " is not a valid text weft.GraphDef: ",
        errors.first().empty() ? "parse error" : errors.first()));
  }
  if (absl::Status s = CheckUnknownTextFields(def, errors, source); !s.ok()) {
    return s;
  }
  return def;
}

// ------------------------------------------------------------------ load --

// A resource this process does not have, in a graph loaded by
// internal::ParseGraphWithStandIns: its kind, name and value specs only.
class StandInResource final : public Resource {
 public:
  StandInResource(std::string kind, std::string name,
                  std::vector<TensorSpec> specs)
      : Resource(std::move(name), std::source_location::current()),
        kind_(std::move(kind)),
        specs_(std::move(specs)) {}
  std::string_view kind() const override { return kind_; }
  const std::vector<TensorSpec>& value_specs() const override { return specs_; }
  std::string Describe() const override {
    return absl::StrCat(Quoted(name()), " (not in this process: a ", kind_,
                        " lives in the process that created it)");
  }

 private:
  const std::string kind_;
  const std::vector<TensorSpec> specs_;
};

// What the loaders of one file share: the file's name, its bound
// resources and the functions of its library loaded so far.
struct LoadState {
  std::string_view source;
  // internal::ParseGraphWithStandIns: unbound resources get stand-ins.
  bool stand_ins = false;
  absl::flat_hash_map<std::pair<std::string, std::string>, ResourceRef>
      resources = {};
  absl::flat_hash_map<std::string, std::shared_ptr<internal::FunctionBody>>
      functions = {};
};

// Splits "node:slot" (or "node", slot 0) into `node` and `slot`; false if
// the slot is not a small non-negative integer.
bool SplitTensorRef(std::string_view ref, std::string_view& node, int& slot) {
  node = ref;
  slot = 0;
  const size_t colon = ref.rfind(':');
  if (colon == std::string_view::npos) return true;
  std::string_view digits = ref.substr(colon + 1);
  node = ref.substr(0, colon);
  bool ok = !digits.empty() && digits.size() <= 9;
  for (char c : digits) ok = ok && absl::ascii_isdigit(c);
  return ok && absl::SimpleAtoi(digits, &slot);
}

// Loads one GraphDef's nodes into a graph: the file's top-level graph
// (Run), or a function body (LoadNodes, with `function` naming it).
class Loader {
 public:
  Loader(const GraphDef& def, LoadState& state, Graph graph,
         std::string function = "")
      : def_(def),
        state_(state),
        source_(state.source),
        graph_(std::move(graph)),
        function_(std::move(function)) {}

  absl::Status Run() {
    if (absl::Status s = CheckVersion(); !s.ok()) return s;
    if (absl::Status s = BindResources(); !s.ok()) return s;
    if (absl::Status s = LoadLibrary(); !s.ok()) return s;
    return LoadNodes();
  }

  absl::Status LoadNodes() {
    for (int i = 0; i < def_.node_size(); ++i) {
      if (absl::Status s = LoadNode(i); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  std::string FileText() const {
    return absl::StrCat("graph file ", Quoted(source_),
                        function_.empty()
                            ? ""
                            : absl::StrCat(", function ", Quoted(function_)));
  }
  std::string NodeText(int i) const {
    return absl::StrCat(FileText(), ", node #", i, " ",
                        Quoted(def_.node(i).name()));
  }
  absl::Status NodeError(int i, std::string_view field,
                         std::string_view detail) const {
    return absl::InvalidArgumentError(
        absl::StrCat(NodeText(i), ", field ", field, ": ", detail));
  }

  absl::Status CheckVersion() const {
    const int major = def_.version_major();
    if (major == kGraphDefVersionMajor) return absl::OkStatus();
    if (major == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          FileText(),
          " has no format version (version_major is 0 or missing); weft "
          "writes version_major: ",
          kGraphDefVersionMajor, " (is this a weft.GraphDef?)"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        FileText(), " has format version ", major, ".", def_.version_minor(),
        "; this build of weft reads format ", kGraphDefVersionMajor, ".x only",
        major > kGraphDefVersionMajor
            ? " (the file was written by a newer weft: upgrade weft to load it)"
            : ""));
  }

  absl::Status BindResources() {
    for (int i = 0; i < def_.resource_size(); ++i) {
      const ResourceRefDef& r = def_.resource(i);
      const std::string what = absl::StrCat(r.kind(), " ", Quoted(r.name()));
      const std::pair<std::string, std::string> key(r.kind(), r.name());
      if (state_.resources.contains(key)) {
        return absl::InvalidArgumentError(
            absl::StrCat(FileText(), ", field resource[", i, "]: ", what,
                         " is declared twice"));
      }
      std::shared_ptr<const ResourceResolver> resolver = FindResolver(r.kind());
      if (state_.stand_ins) {
        absl::StatusOr<ResourceRef> ref = resolver == nullptr
                                              ? absl::NotFoundError("")
                                              : (*resolver)(r.name());
        if (!ref.ok() && absl::IsNotFound(ref.status())) {
          absl::StatusOr<ResourceRef> stand_in = MakeStandIn(i, r);
          if (!stand_in.ok()) return stand_in.status();
          state_.resources.emplace(key, *std::move(stand_in));
          continue;
        }
      }
      if (resolver == nullptr) {
        return absl::NotFoundError(absl::StrCat(
            FileText(), " refers to ", what,
            ", which is unbound: no resolver is registered for resources of "
            "kind ",
            Quoted(r.kind()),
            " (weft binds a Variable by name once the process has created "
            "one: create the variables before LoadGraph; for other kinds "
            "call weft::RegisterResourceResolver before LoadGraph)"));
      }
      absl::StatusOr<ResourceRef> ref = (*resolver)(r.name());
      if (!ref.ok()) {
        return internal::WithPrefix(
            ref.status(), absl::StrCat(FileText(), " refers to ", what,
                                       ", which could not be bound: "));
      }
      if (*ref == nullptr || (*ref)->kind() != r.kind() ||
          (*ref)->name() != r.name()) {
        return absl::NotFoundError(absl::StrCat(
            FileText(), " refers to ", what,
            ", which is unbound: the resolver returned ",
            *ref == nullptr
                ? std::string("no resource")
                : absl::StrCat((*ref)->kind(), " ", Quoted((*ref)->name()))));
      }
      state_.resources.emplace(key, *std::move(ref));
    }
    return absl::OkStatus();
  }

  // A stand-in for resource[i] (ParseGraphWithStandIns).
  absl::StatusOr<ResourceRef> MakeStandIn(int i,
                                          const ResourceRefDef& r) const {
    std::vector<TensorSpec> specs;
    for (const ValueSpecDef& vs : r.value_spec()) {
      const std::optional<DType> dtype = FromProto(vs.dtype());
      Shape shape(std::vector<int64_t>(vs.shape().dim().begin(),
                                       vs.shape().dim().end()));
      absl::Status valid = shape.Validate();
      if (!dtype.has_value() || !valid.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(FileText(), ", field resource[", i, "] (", r.kind(),
                         " ", Quoted(r.name()), "): an invalid value_spec: ",
                         !dtype.has_value() ? absl::StrCat("dtype ", vs.dtype())
                                            : std::string(valid.message())));
      }
      specs.push_back(TensorSpec{*dtype, std::move(shape), vs.name()});
    }
    return ResourceRef(std::make_shared<StandInResource>(r.kind(), r.name(),
                                                         std::move(specs)));
  }

  // ----------------------------------------------------------- attrs --

  absl::Status AttrError(int i, std::string_view key,
                         std::string_view detail) const {
    return NodeError(i, absl::StrCat("attr ", Quoted(key)), detail);
  }

  // A shape of attr `key` of node #i (unknown dims allowed).
  absl::StatusOr<Shape> LoadShape(int i, std::string_view key,
                                  const ShapeDef& def) const {
    Shape shape(std::vector<int64_t>(def.dim().begin(), def.dim().end()));
    if (absl::Status st = shape.Validate(); !st.ok()) {
      return AttrError(i, key, st.message());
    }
    return shape;
  }

  // One attr of node #i; the value's kind picks the stage.
  absl::StatusOr<AttrValue> LoadAttr(int i, const std::string& key,
                                     const AttrValueDef& a) const {
    switch (a.value_case()) {
      case AttrValueDef::kI:
        return AttrValue(static_cast<int64_t>(a.i()));
      case AttrValueDef::kF:
        return AttrValue(a.f());
      case AttrValueDef::kB:
        return AttrValue(a.b());
      case AttrValueDef::kS:
        return AttrValue(a.s());
      case AttrValueDef::kDtype: {
        std::optional<DType> d = FromProto(a.dtype());
        if (!d.has_value()) {
          return AttrError(i, key,
                           absl::StrCat("unknown dtype value ", a.dtype()));
        }
        return AttrValue(*d);
      }
      case AttrValueDef::kShape: {
        absl::StatusOr<Shape> s = LoadShape(i, key, a.shape());
        if (!s.ok()) return s.status();
        return AttrValue(*std::move(s));
      }
      case AttrValueDef::kIntList:
        return AttrValue(std::vector<int64_t>(a.int_list().value().begin(),
                                              a.int_list().value().end()));
      case AttrValueDef::kNdarray:
        return LoadNDArrayAttr(i, key, a.ndarray());
      case AttrValueDef::kResource:
        return LoadResourceAttr(i, key, a.resource());
      case AttrValueDef::VALUE_NOT_SET:
        break;
    }
    return AttrError(
        i, key, "no value is set (or it is of a kind this weft does not know)");
  }

  // An ndarray attr: its dtype, its concrete shape, then its content
  // through the shared byte codec.
  absl::StatusOr<AttrValue> LoadNDArrayAttr(int i, std::string_view key,
                                            const NDArrayDef& nd) const {
    std::optional<DType> d = FromProto(nd.dtype());
    if (!d.has_value()) {
      return AttrError(
          i, key, absl::StrCat("ndarray has unknown dtype value ", nd.dtype()));
    }
    absl::StatusOr<Shape> s = LoadShape(i, key, nd.shape());
    if (!s.ok()) return s.status();
    if (absl::Status st = s->ValidateConcrete(); !st.ok()) {
      return AttrError(i, key, absl::StrCat("ndarray shape: ", st.message()));
    }
    internal::NDArrayBytesError why;
    absl::StatusOr<NDArray> arr =
        internal::DecodeNDArray(*d, *s, nd.content(), &why);
    if (!arr.ok()) {
      return AttrError(i, key, NDArrayContentError(*d, *s, why, arr.status()));
    }
    return AttrValue(*std::move(arr));
  }

  // The codec's refusal of an ndarray attr's content, in graph-file terms.
  static std::string NDArrayContentError(DType d, const Shape& s,
                                         const internal::NDArrayBytesError& why,
                                         const absl::Status& status) {
    using Kind = internal::NDArrayBytesError::Kind;
    switch (why.kind) {
      case Kind::kSize:
        return absl::StrCat("ndarray ", DTypeName(d), s.DebugString(),
                            " needs ", why.elements, " elements of ",
                            why.element_size, " byte(s) but its content holds ",
                            why.bytes, " bytes");
      case Kind::kBool:
        return absl::StrCat("bool ndarray element ", why.index, " is ",
                            why.value, "; bools are saved as 0 or 1");
      default:
        return std::string(status.message());
    }
  }

  // A resource attr: a function of the file's library, or a resource the
  // file declares (bound by BindResources).
  absl::StatusOr<AttrValue> LoadResourceAttr(int i, std::string_view key,
                                             const ResourceRefDef& r) const {
    if (r.kind() == kFunctionKind) {
      auto it = state_.functions.find(r.name());
      if (it == state_.functions.end()) {
        return AttrError(
            i, key,
            absl::StrCat("refers to function ", Quoted(r.name()),
                         ", which the file's function library does not "
                         "define"));
      }
      return AttrValue(ResourceRef(it->second));
    }
    auto it = state_.resources.find(std::make_pair(r.kind(), r.name()));
    if (it == state_.resources.end()) {
      return AttrError(
          i, key,
          absl::StrCat("refers to ", r.kind(), " ", Quoted(r.name()),
                       ", which the file's resource list does not declare"));
    }
    return AttrValue(it->second);
  }

  // ----------------------------------------------------------- nodes --

  // Node #i, in named stages: its name and op, its inputs, its attrs, its
  // provenance, then the node itself through Graph::AddOp's checks.
  absl::Status LoadNode(int i) {
    if (absl::Status s = CheckNameAndOp(i); !s.ok()) return s;
    std::vector<Tensor> inputs, control;
    if (absl::Status s = LoadInputs(i, inputs, control); !s.ok()) return s;
    absl::StatusOr<AttrMap> attrs = LoadAttrs(i);
    if (!attrs.ok()) return attrs.status();
    Provenance p;
    if (absl::Status s = LoadProvenance(i, p); !s.ok()) return s;
    return AddLoadedNode(i, inputs, control, *std::move(attrs), p);
  }

  // The node's name is valid and new, and it has an op type.
  absl::Status CheckNameAndOp(int i) const {
    const NodeDef& nd = def_.node(i);
    if (nd.name().empty()) {
      return NodeError(i, "name", "a node name cannot be empty");
    }
    if (absl::Status s = ValidateNodeName(nd.name()); !s.ok()) {
      return NodeError(i, "name", s.message());
    }
    if (graph_.FindNode(nd.name()) != nullptr) {
      return NodeError(
          i, "name",
          absl::StrCat("duplicate node name: node #",
                       graph_.FindNode(nd.name())->id(),
                       " has the same name (node names are unique)"));
    }
    if (nd.op().empty()) return NodeError(i, "op", "no op type");
    return absl::OkStatus();
  }

  // The data inputs ("node:slot", "node") and then the control inputs
  // ("^node"), each naming an earlier node's output.
  absl::Status LoadInputs(int i, std::vector<Tensor>& inputs,
                          std::vector<Tensor>& control) const {
    const NodeDef& nd = def_.node(i);
    for (int k = 0; k < nd.input_size(); ++k) {
      const std::string& ref = nd.input(k);
      const std::string field = absl::StrCat("input[", k, "] ", Quoted(ref));
      const bool is_control = !ref.empty() && ref[0] == '^';
      if (!is_control && !control.empty()) {
        return NodeError(i, field,
                         "data inputs must come before control inputs (^node)");
      }
      std::string_view node_name =
          is_control ? std::string_view(ref).substr(1) : std::string_view(ref);
      int slot = 0;
      if (!is_control && !SplitTensorRef(ref, node_name, slot)) {
        return NodeError(i, field,
                         "expected 'node:slot' (slot a non-negative integer), "
                         "'node', or '^node' for a control input");
      }
      absl::StatusOr<Tensor> t = InputTensor(i, field, node_name, slot);
      if (!t.ok()) return t.status();
      (is_control ? control : inputs).push_back(*std::move(t));
    }
    return absl::OkStatus();
  }

  // Output `slot` of the earlier node `node_name`.
  absl::StatusOr<Tensor> InputTensor(int i, std::string_view field,
                                     std::string_view node_name,
                                     int slot) const {
    const Node* src = graph_.FindNode(node_name);
    if (src == nullptr) {
      return NodeError(
          i, field,
          absl::StrCat("refers to no earlier node ", Quoted(node_name),
                       " (nodes are listed in a topological order: every "
                       "input names a node defined before it)"));
    }
    if (slot >= src->num_outputs()) {
      return NodeError(i, field,
                       absl::StrCat("node ", Quoted(node_name), " (", src->op(),
                                    ") has ", src->num_outputs(),
                                    " output(s); there is no slot ", slot));
    }
    return internal::GraphAccess::MakeTensor(
        internal::GraphAccess::Impl(graph_), src, slot);
  }

  // The node's attrs, each once.
  absl::StatusOr<AttrMap> LoadAttrs(int i) const {
    AttrMap attrs;
    for (const AttrEntry& entry : def_.node(i).attr()) {
      absl::StatusOr<AttrValue> v = LoadAttr(i, entry.key(), entry.value());
      if (!v.ok()) return v.status();
      if (!attrs.emplace(entry.key(), *std::move(v)).second) {
        return AttrError(i, entry.key(), "the attr is given twice");
      }
    }
    return attrs;
  }

  // The saved provenance; a hand-written node (none saved) points at the
  // graph file itself.
  absl::Status LoadProvenance(int i, Provenance& p) const {
    const NodeDef& nd = def_.node(i);
    const ProvenanceDef& pd = nd.provenance();
    auto sites = std::make_shared<LoadedSites>();
    sites->where = nd.has_provenance()
                       ? FromProto(pd.site())
                       : SourceSite{std::string(source_), 0, ""};
    p.thread = pd.thread();
    p.name_scope = pd.name_scope();
    switch (pd.graph_source()) {
      case GRAPH_SOURCE_EXPLICIT_HANDLE:
        p.graph_source = GraphSource::kExplicitHandle;
        break;
      case GRAPH_SOURCE_GRAPH_SCOPE:
        p.graph_source = GraphSource::kGraphScope;
        break;
      case GRAPH_SOURCE_ROOT_GRAPH:
        p.graph_source = GraphSource::kRootGraph;
        break;
      default:
        return NodeError(i, "provenance.graph_source",
                         absl::StrCat("unknown value ", pd.graph_source()));
    }
    sites->scope_site = FromProto(pd.scope_site());
    if (pd.has_scope_carried_by()) {
      sites->scope_carried_by = FromProto(pd.scope_carried_by());
    }
    p.scope.thread = pd.scope_thread();
    p.loaded = std::move(sites);
    return absl::OkStatus();
  }

  // Adds the node through GraphImpl::AddNode (every builder check), keeping
  // its saved name and provenance.
  absl::Status AddLoadedNode(int i, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& control, AttrMap attrs,
                             const Provenance& p) {
    const NodeDef& nd = def_.node(i);
    NodeRequest req;
    req.op = nd.op();
    req.inputs = inputs;
    req.control_inputs = control;
    req.attrs = std::move(attrs);
    req.name = nd.name();
    req.device = nd.device();
    req.source = p.graph_source;
    req.where = std::source_location::current();
    req.loaded = &p;
    absl::StatusOr<const Node*> t =
        internal::GraphAccess::Impl(graph_)->AddNode(std::move(req));
    if (!t.ok())
      return internal::WithPrefix(t.status(), absl::StrCat(NodeText(i), ": "));
    if ((*t)->name() != nd.name()) {  // Unreachable: names were checked.
      return absl::InternalError(
          absl::StrCat(NodeText(i), " was added as ", Quoted((*t)->name())));
    }
    return absl::OkStatus();
  }

  // ------------------------------------------------- function library --

  std::string LibraryText(int f) const {
    return absl::StrCat(FileText(), ", function ",
                        Quoted(def_.library().function(f).name()));
  }

  // Checks the library's names and references, orders it callees first
  // (rejecting recursion with the cycle named) and loads each function.
  absl::Status LoadLibrary() {
    const FunctionLibrary& lib = def_.library();
    const int n = lib.function_size();
    absl::flat_hash_map<std::string, int> index;
    for (int f = 0; f < n; ++f) {
      const FunctionDef& fd = lib.function(f);
      if (fd.name().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(FileText(), ", field library.function[", f,
                         "].name: a function needs a name"));
      }
      auto [it, inserted] = index.emplace(fd.name(), f);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(
            FileText(), ", field library.function[", f, "]: function ",
            Quoted(fd.name()), " is defined twice (also library.function[",
            it->second, "]); function names in a graph file are unique"));
      }
      if (fd.body().library().function_size() > 0 ||
          fd.body().resource_size() > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            LibraryText(f),
            ", field body: a body lists neither functions nor resources; "
            "both are declared once, at the top level of the file"));
      }
    }
    // calls[f]: (callee, calling node) for each function attr in f's body.
    std::vector<std::vector<std::pair<int, std::string>>> calls(n);
    for (int f = 0; f < n; ++f) {
      const GraphDef& body = lib.function(f).body();
      for (int i = 0; i < body.node_size(); ++i) {
        for (const AttrEntry& e : body.node(i).attr()) {
          if (!e.value().has_resource() ||
              e.value().resource().kind() != kFunctionKind) {
            continue;
          }
          const std::string& callee = e.value().resource().name();
          auto it = index.find(callee);
          if (it == index.end()) {
            return absl::InvalidArgumentError(absl::StrCat(
                LibraryText(f), ", node #", i, " ", Quoted(body.node(i).name()),
                ", field attr ", Quoted(e.key()), ": refers to function ",
                Quoted(callee),
                ", which the file's function library does not define"));
          }
          calls[f].emplace_back(it->second, body.node(i).name());
        }
      }
    }
    absl::StatusOr<std::vector<int>> order = CalleesFirst(calls);
    if (!order.ok()) return order.status();
    for (int f : *order) {
      if (absl::Status s = LoadFunction(f); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // A depth-first order of the call graph, callees first (iterative: a
  // file may chain many functions); a cycle is recursion, an error naming
  // it: "'f' -> 'g' -> 'f'".
  absl::StatusOr<std::vector<int>> CalleesFirst(
      const std::vector<std::vector<std::pair<int, std::string>>>& calls)
      const {
    const int n = static_cast<int>(calls.size());
    enum : char { kNew, kOnPath, kDone };
    std::vector<char> state(n, kNew);
    std::vector<int> order;
    std::vector<std::pair<int, size_t>> path;  // (function, next call)
    for (int root = 0; root < n; ++root) {
      if (state[root] != kNew) continue;
      path.emplace_back(root, 0);
      state[root] = kOnPath;
      while (!path.empty()) {
        auto& [f, next] = path.back();
        if (next == calls[f].size()) {
          state[f] = kDone;
          order.push_back(f);
          path.pop_back();
          continue;
        }
        const int g = calls[f][next++].first;
        if (state[g] == kDone) continue;
        if (state[g] == kNew) {
          state[g] = kOnPath;
          path.emplace_back(g, 0);
          continue;
        }
        // g is on the path: the cycle runs from g to f and back to g.
        size_t start = 0;
        while (path[start].first != g) ++start;
        std::vector<std::string> cycle, notes;
        for (size_t k = start; k < path.size(); ++k) {
          const int from = path[k].first;
          const auto& [to, node] = calls[from][path[k].second - 1];
          const std::string& name = def_.library().function(from).name();
          cycle.push_back(Quoted(name));
          notes.push_back(absl::StrCat(
              "\n  function ", Quoted(name), " calls ",
              Quoted(def_.library().function(to).name()), " in node ",
              Quoted(node), " (traced at ",
              FromProto(def_.library().function(from).provenance().site())
                  .ToString(),
              ")"));
        }
        cycle.push_back(Quoted(def_.library().function(g).name()));
        return absl::InvalidArgumentError(absl::StrCat(
            FileText(),
            ": recursion rejected: its function library has the "
            "cycle ",
            absl::StrJoin(cycle, " -> "), absl::StrJoin(notes, ""),
            "\n  a function cannot call itself, directly or through other "
            "functions; weft iterates with While"));
      }
    }
    return order;
  }

  // The body node `name` of function `f` as one of its placeholders.
  absl::StatusOr<Tensor> Placeholder(int f, const Graph& body,
                                     std::string_view field,
                                     const ArgDef& arg) const {
    auto bad = [&](std::string_view detail) {
      return absl::InvalidArgumentError(
          absl::StrCat(LibraryText(f), ", field ", field, " ",
                       Quoted(arg.name()), ": ", detail));
    };
    const Node* node = body.FindNode(arg.name());
    if (node == nullptr || node->op() != "Placeholder") {
      return bad("names no Placeholder node of the body");
    }
    std::optional<DType> d = FromProto(arg.dtype());
    const Shape shape(std::vector<int64_t>(arg.shape().dim().begin(),
                                           arg.shape().dim().end()));
    if (!d.has_value() || *d != node->output_dtypes()[0] ||
        shape != node->output_shapes()[0]) {
      return bad(
          absl::StrCat("the declared spec differs from the placeholder's ",
                       DTypeName(node->output_dtypes()[0]),
                       node->output_shapes()[0].DebugString()));
    }
    return body.output(*node, 0);
  }

  // Rebuilds function `f` (its callees are loaded): the body's nodes
  // through Graph::AddOp's checks, then its interface checked against them.
  // Loads library function `f` in named steps: its body's nodes, its
  // arguments and captures, its outputs, the devices its body names.
  absl::Status LoadFunction(int f) {
    const FunctionDef& fd = def_.library().function(f);
    Graph body = Graph::Create(fd.body().name().empty()
                                   ? std::string_view(fd.name())
                                   : std::string_view(fd.body().name()));
    Loader nodes(fd.body(), state_, body, fd.name());
    if (absl::Status s = nodes.LoadNodes(); !s.ok()) return s;

    auto fb = std::make_shared<internal::FunctionBody>(
        fd.name(), std::source_location::current());
    fb->loaded_site = fd.has_provenance()
                          ? FromProto(fd.provenance().site())
                          : SourceSite{std::string(source_), 0, ""};
    fb->graph = body;
    if (absl::Status s = LoadFunctionPlaceholders(f, *fb); !s.ok()) return s;
    if (absl::Status s = LoadFunctionOutputs(f, *fb); !s.ok()) return s;
    CollectBodyDevices(*fb);
    body.Finalize();
    state_.functions.emplace(fd.name(), std::move(fb));
    return absl::OkStatus();
  }

  // Function `f`'s arguments, then its captures: each a distinct
  // Placeholder of the body, with its spec.
  absl::Status LoadFunctionPlaceholders(int f, internal::FunctionBody& fb) {
    const FunctionDef& fd = def_.library().function(f);
    absl::flat_hash_set<const Node*> placeholders;
    for (int k = 0; k < fd.arg_size() + fd.capture_size(); ++k) {
      const bool is_arg = k < fd.arg_size();
      const ArgDef& a = is_arg ? fd.arg(k) : fd.capture(k - fd.arg_size());
      const std::string field =
          is_arg ? absl::StrCat("arg[", k, "]")
                 : absl::StrCat("capture[", k - fd.arg_size(), "]");
      absl::StatusOr<Tensor> t = Placeholder(f, fb.graph, field, a);
      if (!t.ok()) return t.status();
      if (!placeholders.insert(t->node()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            LibraryText(f), ", field ", field, " ", Quoted(a.name()),
            ": the placeholder is already an argument or capture"));
      }
      TensorSpec spec{t->dtype(), t->shape(), is_arg ? a.name() : a.tensor()};
      if (is_arg) {
        fb.args.push_back(*t);
        fb.arg_specs.push_back(std::move(spec));
      } else {
        fb.capture_placeholders.push_back(*t);
        fb.capture_specs.push_back(std::move(spec));
      }
    }
    return absl::OkStatus();
  }

  // Function `f`'s outputs (at least one), each a tensor of the body that
  // is not a placeholder, with the spec the file declares for it.
  absl::Status LoadFunctionOutputs(int f, internal::FunctionBody& fb) {
    const FunctionDef& fd = def_.library().function(f);
    if (fd.output_size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(LibraryText(f),
                       ", field output: a function returns at least one "
                       "tensor"));
    }
    for (int k = 0; k < fd.output_size(); ++k) {
      const ArgDef& o = fd.output(k);
      auto bad = [&](std::string_view detail) {
        return absl::InvalidArgumentError(
            absl::StrCat(LibraryText(f), ", field output[", k, "] ",
                         Quoted(o.tensor()), ": ", detail));
      };
      std::string_view node_name;
      int slot = 0;
      if (!SplitTensorRef(o.tensor(), node_name, slot)) {
        return bad("expected a body tensor as 'node:slot'");
      }
      const Node* node = fb.graph.FindNode(node_name);
      if (node == nullptr || slot >= node->num_outputs()) {
        return bad("names no tensor of the body");
      }
      if (node->op() == "Placeholder") {
        return bad(
            "an argument or capture is returned through an Identity, as "
            "Function::Trace writes it (fed and fetched would be one tensor)");
      }
      std::optional<DType> d = FromProto(o.dtype());
      const Shape shape(
          std::vector<int64_t>(o.shape().dim().begin(), o.shape().dim().end()));
      if (!d.has_value() || *d != node->output_dtypes()[slot] ||
          shape != node->output_shapes()[slot]) {
        return bad(absl::StrCat("the declared spec differs from the tensor's ",
                                DTypeName(node->output_dtypes()[slot]),
                                node->output_shapes()[slot].DebugString()));
      }
      fb.outputs.push_back(fb.graph.output(*node, slot));
      fb.output_specs.push_back(
          {*d, shape, o.name().empty() ? o.tensor() : o.name()});
    }
    return absl::OkStatus();
  }

  // The devices the body's nodes name, each once, in node order.
  static void CollectBodyDevices(internal::FunctionBody& fb) {
    for (const Node* n : fb.graph.nodes()) {
      if (!n->device().empty() &&
          std::find(fb.devices.begin(), fb.devices.end(), n->device()) ==
              fb.devices.end()) {
        fb.devices.push_back(n->device());
      }
    }
  }

  static constexpr std::string_view kFunctionKind = "Function";

  const GraphDef& def_;
  LoadState& state_;
  const std::string_view source_;
  Graph graph_;
  const std::string function_;  // "" for the file's top-level graph.
};

absl::StatusOr<Graph> FromGraphDef(const GraphDef& def, std::string_view source,
                                   std::string_view name,
                                   bool stand_ins = false) {
  Graph g = Graph::Create(name.empty() ? std::string_view(def.name()) : name);
  LoadState state{.source = source, .stand_ins = stand_ins};
  Loader loader(def, state, g);
  if (absl::Status s = loader.Run(); !s.ok()) return s;
  return g;
}

}  // namespace

absl::StatusOr<GraphFileFormat> GraphFileFormatForPath(std::string_view path) {
  if (absl::EndsWith(path, ".pbtxt")) return GraphFileFormat::kText;
  if (absl::EndsWith(path, ".pb")) return GraphFileFormat::kBinary;
  return absl::InvalidArgumentError(
      absl::StrCat("graph file ", Quoted(path),
                   " has an unknown extension: use '.pb' (binary) or "
                   "'.pbtxt' (text)"));
}

namespace {

// `def` in `format`.
absl::StatusOr<std::string> PrintGraphDef(const GraphDef& def,
                                          GraphFileFormat format) {
  std::string out;
  if (format == GraphFileFormat::kText) {
    google::protobuf::TextFormat::Printer printer;
    if (!printer.PrintToString(def, &out)) {
      return absl::InternalError("could not print the GraphDef as text");
    }
    return absl::StrCat(
        "# weft.GraphDef (graph/graph_def.proto), text format\n", out);
  }
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!def.SerializeToCodedStream(&coded)) {
      return absl::InternalError("could not serialize the GraphDef");
    }
  }
  return out;
}

// Drops from `def` every node that no node of `roots` (names) and no
// stateful node depends on.
void PruneGraphDef(GraphDef& def, const std::vector<std::string>& roots) {
  absl::flat_hash_map<std::string, int> index;
  for (int i = 0; i < def.node_size(); ++i) index[def.node(i).name()] = i;
  std::vector<std::string> stack = roots;
  for (const NodeDef& n : def.node()) {
    const OpDef* op = OpRegistry::Global().Find(n.op());
    if (op != nullptr && op->stateful) stack.push_back(n.name());
  }
  std::vector<bool> live(def.node_size(), false);
  while (!stack.empty()) {
    const std::string name = std::move(stack.back());
    stack.pop_back();
    auto it = index.find(name);
    if (it == index.end() || live[it->second]) continue;
    live[it->second] = true;
    for (std::string_view in : def.node(it->second).input()) {
      if (absl::ConsumePrefix(&in, "^")) {
        stack.emplace_back(in);
        continue;
      }
      std::string_view node;
      int slot = 0;
      SplitTensorRef(in, node, slot);  // The file is ours: always "node:k".
      stack.emplace_back(node);
    }
  }
  google::protobuf::RepeatedPtrField<NodeDef> kept;
  for (int i = 0; i < def.node_size(); ++i) {
    if (live[i]) *kept.Add() = std::move(*def.mutable_node(i));
  }
  def.mutable_node()->Swap(&kept);
}

absl::Status WriteGraphFile(std::string_view path,
                            const absl::StatusOr<std::string>& contents) {
  if (!contents.ok()) return contents.status();
  if (absl::Status s = internal::WriteFileAtomically(path, *contents);
      !s.ok()) {
    return internal::WithPrefix(
        s, absl::StrCat("cannot write graph file ", Quoted(path), ": "));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SerializeGraph(const Graph& graph,
                                           GraphFileFormat format) {
  absl::StatusOr<GraphDef> def = ToGraphDef(graph);
  if (!def.ok()) return def.status();
  return PrintGraphDef(*def, format);
}

absl::StatusOr<std::string> SerializeGraphPruned(
    const Graph& graph, const std::vector<Tensor>& keep, GraphFileFormat format,
    int* kept) {
  std::vector<std::string> roots;
  for (const Tensor& t : keep) {
    if (!t.ok() || !(t.graph() == graph)) {
      return absl::InvalidArgumentError(
          absl::StrCat("SerializeGraphPruned: a tensor to keep is ",
                       t.ok() ? "not of the graph being saved" : "an error"));
    }
    roots.push_back(t.node()->name());
  }
  absl::StatusOr<GraphDef> def = ToGraphDef(graph);
  if (!def.ok()) return def.status();
  PruneGraphDef(*def, roots);
  if (kept != nullptr) *kept = def->node_size();
  return PrintGraphDef(*def, format);
}

absl::Status SaveGraph(const Graph& graph, std::string_view path) {
  absl::StatusOr<GraphFileFormat> format = GraphFileFormatForPath(path);
  if (!format.ok()) return format.status();
  return WriteGraphFile(path, SerializeGraph(graph, *format));
}

absl::Status SaveGraphPruned(const Graph& graph,
                             const std::vector<Tensor>& keep,
                             std::string_view path, int* kept) {
  absl::StatusOr<GraphFileFormat> format = GraphFileFormatForPath(path);
  if (!format.ok()) return format.status();
  return WriteGraphFile(path, SerializeGraphPruned(graph, keep, *format, kept));
}

absl::StatusOr<Graph> ParseGraph(std::string_view contents,
                                 GraphFileFormat format,
                                 std::string_view source,
                                 std::string_view name) {
  absl::StatusOr<GraphDef> def = ParseGraphDef(contents, format, source);
  if (!def.ok()) return def.status();
  return FromGraphDef(*def, source, name);
}

namespace internal {

absl::StatusOr<Graph> ParseGraphWithStandIns(std::string_view contents,
                                             GraphFileFormat format,
                                             std::string_view source) {
  absl::StatusOr<GraphDef> def = ParseGraphDef(contents, format, source);
  if (!def.ok()) return def.status();
  return FromGraphDef(*def, source, "", /*stand_ins=*/true);
}

}  // namespace internal

absl::StatusOr<Graph> LoadGraph(std::string_view path, std::string_view name) {
  absl::StatusOr<GraphFileFormat> format = GraphFileFormatForPath(path);
  if (!format.ok()) return format.status();
  absl::StatusOr<std::string> contents =
      internal::ReadFileToString(path, "graph file");
  if (!contents.ok()) return contents.status();
  return ParseGraph(*contents, *format, path, name);
}

void RegisterResourceResolver(std::string kind, ResourceResolver resolver) {
  ResolverTable& t = Resolvers();
  absl::MutexLock lock(&t.mu);
  t.by_kind[std::move(kind)] =
      std::make_shared<const ResourceResolver>(std::move(resolver));
}

}  // namespace weft
