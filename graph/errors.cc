#include "graph/errors.h"

#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graph/graph.h"

namespace weft {
namespace {

constexpr std::string_view kCrossGraphUrl = "weft.dev/CrossGraphEdge";
constexpr std::string_view kOpErrorUrl = "weft.dev/OpErrorInfo";

// Length-prefixed field encoding: "<len>:<bytes>" per field.
class Encoder {
 public:
  Encoder& Add(std::string_view s) {
    absl::StrAppend(&out_, s.size(), ":", s);
    return *this;
  }
  Encoder& Add(int64_t v) { return Add(absl::StrCat(v)); }
  Encoder& Add(const SourceSite& s) {
    return Add(s.file).Add(s.line).Add(s.function);
  }
  std::string Done() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(std::string data) : data_(std::move(data)) {}
  bool Next(std::string& out) {
    size_t colon = data_.find(':', pos_);
    if (colon == std::string::npos) return false;
    size_t len;
    if (!absl::SimpleAtoi(std::string_view(data_).substr(pos_, colon - pos_),
                          &len) ||
        colon + 1 + len > data_.size()) {
      return false;
    }
    out = data_.substr(colon + 1, len);
    pos_ = colon + 1 + len;
    return true;
  }
  template <typename Int>
  bool NextInt(Int& out) {
    std::string s;
    int64_t v;
    if (!Next(s) || !absl::SimpleAtoi(s, &v)) return false;
    out = static_cast<Int>(v);
    return true;
  }
  bool NextSite(SourceSite& s) {
    return Next(s.file) && NextInt(s.line) && Next(s.function);
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace

namespace internal {
std::string Quoted(std::string_view name) {
  return absl::StrCat("'", name, "'");
}
}  // namespace internal

using internal::Quoted;

std::optional<CrossGraphEdge> GetCrossGraphEdge(const absl::Status& status) {
  std::optional<absl::Cord> payload = status.GetPayload(kCrossGraphUrl);
  if (!payload.has_value()) return std::nullopt;
  Decoder d{std::string(*payload)};
  CrossGraphEdge e;
  int control = 0;
  if (d.Next(e.op_name) && d.Next(e.op_type) && d.Next(e.graph_name) &&
      d.NextInt(e.graph_id) && d.NextSite(e.op_site) && d.Next(e.op_thread) &&
      d.NextInt(e.graph_source) && d.Next(e.graph_reason) &&
      d.NextInt(e.input_index) && d.NextInt(control) && d.Next(e.input_name) &&
      d.Next(e.input_graph_name) && d.NextInt(e.input_graph_id) &&
      d.NextSite(e.input_site) && d.Next(e.input_thread) &&
      d.NextInt(e.input_graph_source) && d.Next(e.input_origin)) {
    e.control_input = control != 0;
    return e;
  }
  return std::nullopt;
}

std::optional<OpErrorInfo> GetOpErrorInfo(const absl::Status& status) {
  std::optional<absl::Cord> payload = status.GetPayload(kOpErrorUrl);
  if (!payload.has_value()) return std::nullopt;
  Decoder d{std::string(*payload)};
  OpErrorInfo info;
  if (d.Next(info.kind) && d.Next(info.node_name) && d.Next(info.op_type) &&
      d.Next(info.graph_name) && d.NextInt(info.graph_id) &&
      d.NextSite(info.site) && d.Next(info.thread)) {
    return info;
  }
  return std::nullopt;
}

void AttachOpErrorInfo(const OpErrorInfo& info, absl::Status& status) {
  status.SetPayload(kOpErrorUrl, absl::Cord(Encoder()
                                                .Add(info.kind)
                                                .Add(info.node_name)
                                                .Add(info.op_type)
                                                .Add(info.graph_name)
                                                .Add(info.graph_id)
                                                .Add(info.site)
                                                .Add(info.thread)
                                                .Done()));
}

absl::Status WithNodeErrorInfo(absl::Status status, std::string_view kind,
                               const Node& node, const Graph& graph) {
  const Provenance& p = node.provenance();
  AttachOpErrorInfo(OpErrorInfo{std::string(kind), node.name(), node.op(),
                                graph.name(), graph.id(), p.Site(), p.thread},
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
      absl::Cord(Encoder()
                     .Add(e.op_name)
                     .Add(e.op_type)
                     .Add(e.graph_name)
                     .Add(e.graph_id)
                     .Add(e.op_site)
                     .Add(e.op_thread)
                     .Add(static_cast<int64_t>(e.graph_source))
                     .Add(e.graph_reason)
                     .Add(e.input_index)
                     .Add(e.control_input ? 1 : 0)
                     .Add(e.input_name)
                     .Add(e.input_graph_name)
                     .Add(e.input_graph_id)
                     .Add(e.input_site)
                     .Add(e.input_thread)
                     .Add(static_cast<int64_t>(e.input_graph_source))
                     .Add(e.input_origin)
                     .Done()));
  AttachOpErrorInfo(
      OpErrorInfo{"cross_graph", e.op_name, e.op_type, e.graph_name, e.graph_id,
                  e.op_site, e.op_thread},
      status);
  return status;
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

}  // namespace weft
