#include "graph/errors.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "graph/graph.h"

namespace weft {
namespace {

constexpr std::string_view kCrossGraphUrl = "weft.dev/CrossGraphEdge";
constexpr std::string_view kOpErrorUrl = "weft.dev/OpErrorInfo";

constexpr std::pair<ErrorKind, std::string_view> kKindNames[] = {
    {ErrorKind::kUnknownOp, "unknown_op"},
    {ErrorKind::kArity, "arity"},
    {ErrorKind::kDType, "dtype"},
    {ErrorKind::kShape, "shape"},
    {ErrorKind::kAttr, "attr"},
    {ErrorKind::kName, "name"},
    {ErrorKind::kDevice, "device"},
    {ErrorKind::kFinalized, "finalized"},
    {ErrorKind::kNullGraph, "null_graph"},
    {ErrorKind::kGraphMismatch, "graph_mismatch"},
    {ErrorKind::kCrossGraph, "cross_graph"},
    {ErrorKind::kInference, "inference"},
    {ErrorKind::kFeed, "feed"},
    {ErrorKind::kMissingKernel, "missing_kernel"},
    {ErrorKind::kKernel, "kernel"},
    {ErrorKind::kAllocation, "allocation"},
};

using Json = nlohmann::json;

Json SiteJson(const SourceSite& s) {
  return Json{{"file", s.file}, {"line", s.line}, {"function", s.function}};
}

// Readers that never throw: a payload under weft's URL written by someone
// else must give nullopt, not an exception.
bool GetString(const Json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}
template <typename Int>
bool GetInt(const Json& j, const char* key, Int& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  out = static_cast<Int>(it->get<int64_t>());
  return true;
}
bool GetSite(const Json& j, const char* key, SourceSite& out) {
  auto it = j.find(key);
  return it != j.end() && it->is_object() && GetString(*it, "file", out.file) &&
         GetInt(*it, "line", out.line) &&
         GetString(*it, "function", out.function);
}
std::optional<Json> ParsePayload(const absl::Status& status,
                                 std::string_view url) {
  std::optional<absl::Cord> payload = status.GetPayload(url);
  if (!payload.has_value()) return std::nullopt;
  Json j = Json::parse(std::string(*payload), /*cb=*/nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}
absl::Cord Dump(const Json& j) {
  // Invalid UTF-8 in a name is replaced rather than throwing.
  return absl::Cord(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

namespace internal {
std::string_view Utf8CharAt(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char b = byte(pos);
  size_t len = b < 0x80                 ? 1
               : b >= 0xC2 && b <= 0xDF ? 2
               : b >= 0xE0 && b <= 0xEF ? 3
               : b >= 0xF0 && b <= 0xF4 ? 4
                                        : 0;
  if (len == 0 || pos + len > text.size()) return text.substr(pos, 1);
  for (size_t i = 1; i < len; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return text.substr(pos, 1);
  }
  // Overlong 3- and 4-byte forms, surrogates and code points past U+10FFFF.
  const unsigned char b1 = byte(pos + 1);
  if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 >= 0xA0) ||
      (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 >= 0x90)) {
    return text.substr(pos, 1);
  }
  return text.substr(pos, len);
}

std::string Quoted(std::string_view name) {
  std::string out = "'";
  for (size_t i = 0; i < name.size();) {
    std::string_view ch = Utf8CharAt(name, i);
    const unsigned char b = static_cast<unsigned char>(ch[0]);
    if (ch.size() == 1 && (b >= 0x80 || b < 0x20 || b == 0x7F)) {
      absl::StrAppend(&out, "\\x", absl::Hex(b, absl::kZeroPad2));
    } else {
      out.append(ch);
    }
    i += ch.size();
  }
  out.push_back('\'');
  return out;
}
}  // namespace internal

using internal::Quoted;

std::string_view ErrorKindName(ErrorKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "invalid";
}

std::optional<ErrorKind> ErrorKindFromName(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

const std::vector<ErrorKind>& AllErrorKinds() {
  static const std::vector<ErrorKind>* all = [] {
    auto* v = new std::vector<ErrorKind>();
    for (const auto& [k, name] : kKindNames) v->push_back(k);
    return v;
  }();
  return *all;
}

std::optional<CrossGraphEdge> GetCrossGraphEdge(const absl::Status& status) {
  std::optional<Json> j = ParsePayload(status, kCrossGraphUrl);
  if (!j.has_value()) return std::nullopt;
  CrossGraphEdge e;
  int graph_source = 0, input_graph_source = 0;
  auto control = j->find("control_input");
  if (GetString(*j, "op", e.op_name) && GetString(*j, "op_type", e.op_type) &&
      GetString(*j, "graph", e.graph_name) &&
      GetInt(*j, "graph_id", e.graph_id) && GetSite(*j, "op_site", e.op_site) &&
      GetString(*j, "op_thread", e.op_thread) &&
      GetInt(*j, "graph_source", graph_source) &&
      GetString(*j, "graph_reason", e.graph_reason) &&
      GetInt(*j, "input_index", e.input_index) && control != j->end() &&
      control->is_boolean() && GetString(*j, "input", e.input_name) &&
      GetString(*j, "input_graph", e.input_graph_name) &&
      GetInt(*j, "input_graph_id", e.input_graph_id) &&
      GetSite(*j, "input_site", e.input_site) &&
      GetString(*j, "input_thread", e.input_thread) &&
      GetInt(*j, "input_graph_source", input_graph_source) &&
      GetString(*j, "input_origin", e.input_origin)) {
    e.control_input = control->get<bool>();
    e.graph_source = static_cast<GraphSource>(graph_source);
    e.input_graph_source = static_cast<GraphSource>(input_graph_source);
    return e;
  }
  return std::nullopt;
}

std::optional<OpErrorInfo> GetOpErrorInfo(const absl::Status& status) {
  std::optional<Json> j = ParsePayload(status, kOpErrorUrl);
  if (!j.has_value()) return std::nullopt;
  OpErrorInfo info;
  std::string kind;
  if (!GetString(*j, "kind", kind) || !GetString(*j, "node", info.node_name) ||
      !GetString(*j, "op", info.op_type) ||
      !GetString(*j, "graph", info.graph_name) ||
      !GetInt(*j, "graph_id", info.graph_id) ||
      !GetSite(*j, "site", info.site) ||
      !GetString(*j, "thread", info.thread)) {
    return std::nullopt;
  }
  std::optional<ErrorKind> k = ErrorKindFromName(kind);
  if (!k.has_value()) return std::nullopt;
  info.kind = *k;
  return info;
}

void AttachOpErrorInfo(const OpErrorInfo& info, absl::Status& status) {
  status.SetPayload(kOpErrorUrl, Dump(Json{{"kind", ErrorKindName(info.kind)},
                                           {"node", info.node_name},
                                           {"op", info.op_type},
                                           {"graph", info.graph_name},
                                           {"graph_id", info.graph_id},
                                           {"site", SiteJson(info.site)},
                                           {"thread", info.thread}}));
}

absl::Status WithNodeErrorInfo(absl::Status status, ErrorKind kind,
                               const Node& node, const Graph& graph) {
  const Provenance& p = node.provenance();
  AttachOpErrorInfo(OpErrorInfo{.kind = kind,
                                .node_name = node.name(),
                                .op_type = node.op(),
                                .graph_name = graph.name(),
                                .graph_id = graph.id(),
                                .site = SourceSite::From(p.where),
                                .thread = p.thread},
                    status);
  return status;
}

absl::Status MakeCrossGraphError(const CrossGraphEdge& e) {
  const std::string target = Quoted(e.graph_name);
  const std::string source = Quoted(e.input_graph_name);
  std::string msg = absl::StrCat(
      "cross-graph edge rejected: op ", Quoted(e.op_name), " (", e.op_type,
      ") is being built in graph ", target, " (id ", e.graph_id, "),\nbut its ",
      e.control_input ? "control input " : "input ", e.input_index, " ",
      Quoted(e.input_name), " belongs to graph ", source, " (id ",
      e.input_graph_id, ")\n");
  absl::StrAppend(&msg, "  op built at ", e.op_site.ToString(), ", thread '",
                  e.op_thread, "'\n");
  absl::StrAppend(&msg, "  ", e.graph_reason, "\n");
  absl::StrAppend(&msg, "  ", Quoted(e.input_name), " was created at ",
                  e.input_site.ToString(), ", thread '", e.input_thread,
                  "',\n    ", e.input_origin, "\n");
  absl::StrAppend(&msg, "  fix: build the op under a GraphScope for ", source,
                  ", or bring the value into\n    ", target,
                  " through a Placeholder (feed) or a Const of its computed "
                  "value");
  if (e.graph_source == GraphSource::kRootGraph) {
    absl::StrAppend(&msg,
                    "; on a worker thread, carry the builder's context in with "
                    "GraphContext::Capture() and ContextScope");
  }
  absl::Status status = absl::InvalidArgumentError(msg);
  status.SetPayload(
      kCrossGraphUrl,
      Dump(Json{{"op", e.op_name},
                {"op_type", e.op_type},
                {"graph", e.graph_name},
                {"graph_id", e.graph_id},
                {"op_site", SiteJson(e.op_site)},
                {"op_thread", e.op_thread},
                {"graph_source", static_cast<int>(e.graph_source)},
                {"graph_reason", e.graph_reason},
                {"input_index", e.input_index},
                {"control_input", e.control_input},
                {"input", e.input_name},
                {"input_graph", e.input_graph_name},
                {"input_graph_id", e.input_graph_id},
                {"input_site", SiteJson(e.input_site)},
                {"input_thread", e.input_thread},
                {"input_graph_source", static_cast<int>(e.input_graph_source)},
                {"input_origin", e.input_origin}}));
  AttachOpErrorInfo(OpErrorInfo{.kind = ErrorKind::kCrossGraph,
                                .node_name = e.op_name,
                                .op_type = e.op_type,
                                .graph_name = e.graph_name,
                                .graph_id = e.graph_id,
                                .site = e.op_site,
                                .thread = e.op_thread},
                    status);
  return status;
}

void DescribeCrossGraphInput(const Tensor& input, CrossGraphEdge& e) {
  const Graph g = input.graph();
  const Provenance& p = input.provenance();
  e.input_name = input.name();
  e.input_graph_name = g.name();
  e.input_graph_id = g.id();
  e.input_site = SourceSite::From(p.where);
  e.input_thread = p.thread;
  e.input_graph_source = p.graph_source;
  e.input_origin = p.OriginClause();
}

}  // namespace weft
