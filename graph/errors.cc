#include "graph/errors.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "graph/error_util.h"
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
    {ErrorKind::kFunction, "function"},
    {ErrorKind::kFeed, "feed"},
    {ErrorKind::kMissingKernel, "missing_kernel"},
    {ErrorKind::kKernel, "kernel"},
    {ErrorKind::kAllocation, "allocation"},
};

// Payloads are "key=value&key=value" with '%', '&', '=', quotes, '\\' and
// bytes outside printable ASCII percent-encoded: readable where absl
// prints a Status with `<<` (which escapes quotes and backslashes), and
// parsed back without any way to fail loudly.
bool NeedsEscape(unsigned char c) {
  return c < 0x20 || c >= 0x7F || c == '%' || c == '&' || c == '=' ||
         c == '\'' || c == '"' || c == '\\';
}

class PayloadWriter {
 public:
  PayloadWriter& Add(std::string_view key, std::string_view value) {
    if (!out_.empty()) out_.push_back('&');
    absl::StrAppend(&out_, key, "=");
    for (char ch : value) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (NeedsEscape(c)) {
        absl::StrAppend(&out_, "%", absl::Hex(c, absl::kZeroPad2));
      } else {
        out_.push_back(ch);
      }
    }
    return *this;
  }
  PayloadWriter& Add(std::string_view key, int64_t value) {
    return Add(key, absl::StrCat(value));
  }
  PayloadWriter& AddSite(std::string_view prefix, const SourceSite& s) {
    return Add(absl::StrCat(prefix, "file"), s.file)
        .Add(absl::StrCat(prefix, "line"), s.line)
        .Add(absl::StrCat(prefix, "function"), s.function);
  }
  absl::Cord Done() { return absl::Cord(std::move(out_)); }

 private:
  std::string out_;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class PayloadReader {
 public:
  // False for anything not written by PayloadWriter.
  bool Parse(std::string_view text) {
    for (std::string_view field : absl::StrSplit(text, '&')) {
      const size_t eq = field.find('=');
      if (eq == std::string_view::npos) return false;
      std::string value;
      for (size_t i = eq + 1; i < field.size(); ++i) {
        if (field[i] != '%') {
          value.push_back(field[i]);
          continue;
        }
        if (i + 2 >= field.size()) return false;
        const int hi = HexDigit(field[i + 1]), lo = HexDigit(field[i + 2]);
        if (hi < 0 || lo < 0) return false;
        value.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      }
      fields_[std::string(field.substr(0, eq))] = std::move(value);
    }
    return true;
  }
  bool Get(std::string_view key, std::string& out) const {
    auto it = fields_.find(key);
    if (it == fields_.end()) return false;
    out = it->second;
    return true;
  }
  template <typename Int>
  bool GetInt(std::string_view key, Int& out) const {
    std::string s;
    int64_t v;
    if (!Get(key, s) || !absl::SimpleAtoi(s, &v)) return false;
    out = static_cast<Int>(v);
    return true;
  }
  bool GetSite(std::string_view prefix, SourceSite& s) const {
    return Get(absl::StrCat(prefix, "file"), s.file) &&
           GetInt(absl::StrCat(prefix, "line"), s.line) &&
           Get(absl::StrCat(prefix, "function"), s.function);
  }

 private:
  absl::flat_hash_map<std::string, std::string> fields_;
};

std::optional<PayloadReader> ReadPayload(const absl::Status& status,
                                         std::string_view url) {
  std::optional<absl::Cord> payload = status.GetPayload(url);
  if (!payload.has_value()) return std::nullopt;
  PayloadReader r;
  if (!r.Parse(std::string(*payload))) return std::nullopt;
  return r;
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
  std::optional<PayloadReader> r = ReadPayload(status, kCrossGraphUrl);
  if (!r.has_value()) return std::nullopt;
  CrossGraphEdge e;
  int graph_source = 0, input_graph_source = 0, control = 0;
  if (r->Get("op", e.op_name) && r->Get("op_type", e.op_type) &&
      r->Get("graph", e.graph_name) && r->GetInt("graph_id", e.graph_id) &&
      r->GetSite("op_", e.op_site) && r->Get("op_thread", e.op_thread) &&
      r->GetInt("graph_source", graph_source) &&
      r->Get("graph_reason", e.graph_reason) &&
      r->GetInt("input_index", e.input_index) &&
      r->GetInt("control_input", control) && r->Get("input", e.input_name) &&
      r->Get("input_graph", e.input_graph_name) &&
      r->GetInt("input_graph_id", e.input_graph_id) &&
      r->GetSite("input_", e.input_site) &&
      r->Get("input_thread", e.input_thread) &&
      r->GetInt("input_graph_source", input_graph_source) &&
      r->Get("input_origin", e.input_origin)) {
    r->Get("fix", e.fix);  // Optional: "" = the op builders' advice.
    e.control_input = control != 0;
    e.graph_source = static_cast<GraphSource>(graph_source);
    e.input_graph_source = static_cast<GraphSource>(input_graph_source);
    return e;
  }
  return std::nullopt;
}

std::optional<OpErrorInfo> GetOpErrorInfo(const absl::Status& status) {
  std::optional<PayloadReader> r = ReadPayload(status, kOpErrorUrl);
  if (!r.has_value()) {
    // A cross-graph error carries one payload; its OpErrorInfo is derived.
    std::optional<CrossGraphEdge> e = GetCrossGraphEdge(status);
    if (!e.has_value()) return std::nullopt;
    return OpErrorInfo{.kind = ErrorKind::kCrossGraph,
                       .node_name = e->op_name,
                       .op_type = e->op_type,
                       .graph_name = e->graph_name,
                       .graph_id = e->graph_id,
                       .site = e->op_site,
                       .thread = e->op_thread};
  }
  OpErrorInfo info;
  std::string kind;
  if (!r->Get("kind", kind) || !r->Get("node", info.node_name) ||
      !r->Get("op", info.op_type) || !r->Get("graph", info.graph_name) ||
      !r->GetInt("graph_id", info.graph_id) || !r->GetSite("", info.site) ||
      !r->Get("thread", info.thread)) {
    return std::nullopt;
  }
  std::optional<ErrorKind> k = ErrorKindFromName(kind);
  if (!k.has_value()) return std::nullopt;
  info.kind = *k;
  return info;
}

void AttachOpErrorInfo(const OpErrorInfo& info, absl::Status& status) {
  status.SetPayload(kOpErrorUrl, PayloadWriter()
                                     .Add("kind", ErrorKindName(info.kind))
                                     .Add("node", info.node_name)
                                     .Add("op", info.op_type)
                                     .Add("graph", info.graph_name)
                                     .Add("graph_id", info.graph_id)
                                     .AddSite("", info.site)
                                     .Add("thread", info.thread)
                                     .Done());
}

absl::Status WithNodeErrorInfo(absl::Status status, ErrorKind kind,
                               const Node& node, const Graph& graph) {
  const Provenance& p = node.provenance();
  AttachOpErrorInfo(OpErrorInfo{.kind = kind,
                                .node_name = node.name(),
                                .op_type = node.op(),
                                .graph_name = graph.name(),
                                .graph_id = graph.id(),
                                .site = p.Site(),
                                .thread = p.thread},
                    status);
  return status;
}

absl::Status NullResourceError(std::string_view op, std::string_view kind,
                               std::source_location where) {
  absl::Status s = absl::InvalidArgumentError(internal::NullHandleMessage(
      absl::StrCat(op, " built at ", SourceSite::From(where).ToString(),
                   " was given"),
      kind));
  AttachOpErrorInfo(OpErrorInfo{.kind = ErrorKind::kAttr,
                                .node_name = std::string(op),
                                .op_type = std::string(op),
                                .graph_name = "",
                                .graph_id = -1,
                                .site = SourceSite::From(where),
                                .thread = CurrentThreadName()},
                    s);
  return s;
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
  if (!e.fix.empty()) {
    absl::StrAppend(&msg, "  fix: ", e.fix);
  } else {
    absl::StrAppend(&msg, "  fix: build the op under a GraphScope for ", source,
                    ", or bring the value into\n    ", target,
                    " through a Placeholder (feed) or a Const of its "
                    "computed value");
  }
  if (e.fix.empty() && e.graph_source == GraphSource::kRootGraph) {
    absl::StrAppend(&msg,
                    "; on a worker thread, carry the builder's context in with "
                    "GraphContext::Capture() and ContextScope");
  }
  absl::Status status = absl::InvalidArgumentError(msg);
  status.SetPayload(
      kCrossGraphUrl,
      PayloadWriter()
          .Add("op", e.op_name)
          .Add("op_type", e.op_type)
          .Add("graph", e.graph_name)
          .Add("graph_id", e.graph_id)
          .AddSite("op_", e.op_site)
          .Add("op_thread", e.op_thread)
          .Add("graph_source", static_cast<int>(e.graph_source))
          .Add("graph_reason", e.graph_reason)
          .Add("input_index", e.input_index)
          .Add("control_input", e.control_input ? 1 : 0)
          .Add("input", e.input_name)
          .Add("input_graph", e.input_graph_name)
          .Add("input_graph_id", e.input_graph_id)
          .AddSite("input_", e.input_site)
          .Add("input_thread", e.input_thread)
          .Add("input_graph_source", static_cast<int>(e.input_graph_source))
          .Add("input_origin", e.input_origin)
          .Add("fix", e.fix)
          .Done());
  return status;
}

absl::Status CheckTensorInGraph(const Tensor& t, int index,
                                const GraphUse& use) {
  if (!t.ok()) return t.status();
  if (t.graph() == *use.graph) return absl::OkStatus();
  CrossGraphEdge e;
  e.op_name = absl::StrCat(use.role, " ", index);
  e.op_type = use.user;
  e.graph_name = use.graph->name();
  e.graph_id = use.graph->id();
  e.op_site = use.site;
  e.op_thread = CurrentThreadName();
  e.graph_source = GraphSource::kExplicitHandle;
  e.graph_reason = use.graph_reason;
  e.input_index = index;
  e.fix = use.fix;
  DescribeCrossGraphInput(t, e);
  return MakeCrossGraphError(e);
}

void DescribeCrossGraphInput(const Tensor& input, CrossGraphEdge& e) {
  const Graph g = input.graph();
  const Provenance& p = input.provenance();
  e.input_name = input.name();
  e.input_graph_name = g.name();
  e.input_graph_id = g.id();
  e.input_site = p.Site();
  e.input_thread = p.thread;
  e.input_graph_source = p.graph_source;
  e.input_origin = p.OriginClause();
}

namespace internal {

std::string NullHandleMessage(std::string_view subject, std::string_view kind) {
  std::string_view factory = "its factory";
  if (kind == "Graph") factory = "Graph::Create(name)";
  if (kind == "Variable") factory = "Variable::Create(name, initial_value)";
  if (kind == "Queue") factory = "Queue::Create(name, components, capacity)";
  if (kind == "Function") factory = "Function::Trace(name, args, body)";
  return absl::StrCat(subject, " a null ", kind,
                      " handle (default-constructed); fix: create it with ",
                      factory, " and check the returned status");
}

namespace {

// `message` with `status`'s code and payloads.
absl::Status Rewritten(const absl::Status& status, std::string message) {
  absl::Status out(status.code(), std::move(message));
  status.ForEachPayload([&](std::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace

absl::Status WithPrefix(const absl::Status& status, std::string_view prefix) {
  return Rewritten(status, absl::StrCat(prefix, status.message()));
}

absl::Status WithNote(const absl::Status& status, std::string_view note) {
  return Rewritten(status, absl::StrCat(status.message(), "\n  ", note));
}

}  // namespace internal
}  // namespace weft
