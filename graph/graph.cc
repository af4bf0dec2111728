#include "graph/graph.h"

#include <algorithm>
#include <atomic>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/errors.h"
#include "graph/graph_impl.h"
#include "graph/op_registry.h"
#include "graph/scopes.h"

namespace weft {
namespace {

std::atomic<int64_t> g_next_graph_id{1};

const std::string& EmptyString() {
  static const std::string* s = new std::string();
  return *s;
}

using internal::Quoted;

}  // namespace

// ---------------------------------------------------------------- names --

absl::Status ValidateNodeName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid node name ", Quoted(name), ": ", why));
  };
  if (name.empty()) return bad("names cannot be empty");
  if (name.front() == '/' || name.back() == '/') {
    return bad("a name cannot start or end with '/'");
  }
  char prev = 0;
  for (char ch : name) {
    if (ch == '/' && prev == '/') return bad("empty scope segment ('//')");
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_' ||
          ch == '.' || ch == '-' || ch == '/')) {
      return bad(absl::StrCat("character '", std::string(1, ch),
                              "' is not allowed (use letters, digits, '_', "
                              "'.', '-', and '/' between scopes)"));
    }
    prev = ch;
  }
  return absl::OkStatus();
}

absl::Status ValidateDeviceName(std::string_view device) {
  if (device.empty()) return absl::OkStatus();
  size_t colon = device.find(':');
  int index;
  bool ok = colon != std::string_view::npos && colon > 0 &&
            absl::SimpleAtoi(device.substr(colon + 1), &index) && index >= 0;
  // SimpleAtoi alone would also accept "cpu: 1", "cpu:1 " and "cpu:+1".
  for (size_t i = colon + 1; ok && i < device.size(); ++i) {
    ok = absl::ascii_isdigit(static_cast<unsigned char>(device[i]));
  }
  for (size_t i = 0; ok && i < colon; ++i) {
    ok = absl::ascii_islower(static_cast<unsigned char>(device[i]));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid device ", Quoted(device),
                     ": devices are named '<kind>:<index>', like 'cpu:0'"));
  }
  return absl::OkStatus();
}

// --------------------------------------------------------------- Tensor --

Tensor::Tensor()
    : error_(std::make_shared<const absl::Status>(absl::FailedPreconditionError(
          "this Tensor was never built (default-constructed); build it with "
          "an op from weft::ops"))) {}

Tensor::Tensor(std::shared_ptr<GraphImpl> graph, const Node* node, int index)
    : graph_(std::move(graph)), node_(node), index_(index) {}

Tensor Tensor::FromError(absl::Status status) {
  Tensor t;
  if (status.ok()) {
    status = absl::InternalError("Tensor::FromError called with an OK status");
  }
  t.error_ = std::make_shared<const absl::Status>(std::move(status));
  return t;
}

const absl::Status& Tensor::status() const {
  static const absl::Status* ok = new absl::Status();
  return node_ != nullptr ? *ok : *error_;
}

Graph Tensor::graph() const { return Graph(graph_); }

std::string Tensor::name() const {
  return node_ == nullptr ? std::string()
                          : absl::StrCat(node_->name(), ":", index_);
}

const std::string& Tensor::node_name() const {
  return node_ == nullptr ? EmptyString() : node_->name();
}

DType Tensor::dtype() const {
  return node_ == nullptr ? DType::kFloat32 : node_->output_dtypes()[index_];
}

const Shape& Tensor::shape() const {
  static const Shape* scalar = new Shape();
  return node_ == nullptr ? *scalar : node_->output_shapes()[index_];
}

const Provenance& Tensor::provenance() const {
  static const Provenance* none = new Provenance();
  return node_ == nullptr ? *none : node_->provenance();
}

// ------------------------------------------------------------ GraphImpl --

namespace {

std::string GraphDisplay(const GraphImpl& g) {
  return absl::StrCat(Quoted(g.name()), " (id ", g.id(), ")");
}

// The notes every build error carries: where the op was built, why its graph
// was current, and where each relevant input came from.
std::string ProvenanceNotes(const GraphImpl& g, const Provenance& p,
                            absl::Span<const Tensor> inputs) {
  std::string notes = absl::StrCat("\n  op built at ", p.BuiltAt(), "\n  ",
                                   p.GraphReason(Quoted(g.name())));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    if (!in.ok()) continue;
    absl::StrAppend(&notes, "\n  input ", i, " ", Quoted(in.name()), " (",
                    DTypeName(in.dtype()), in.shape().DebugString(),
                    ") was created at ", in.provenance().BuiltAt());
  }
  std::string stack = p.SymbolizedStack("    ");
  if (!stack.empty()) absl::StrAppend(&notes, "\n  stack:\n", stack);
  return notes;
}

absl::Status BuildError(std::string kind, absl::StatusCode code,
                        std::string_view detail, const std::string& node_name,
                        std::string_view op, const GraphImpl& g,
                        const Provenance& p, absl::Span<const Tensor> inputs) {
  absl::Status status(
      code, absl::StrCat("op ", Quoted(node_name), " (", op, ") in graph ",
                         GraphDisplay(g), ": ", detail,
                         ProvenanceNotes(g, p, inputs)));
  AttachOpErrorInfo(OpErrorInfo{std::move(kind), node_name, std::string(op),
                                g.name(), g.id(), p.Site(), p.thread},
                    status);
  return status;
}

}  // namespace

absl::StatusOr<Tensor> GraphImpl::AddNode(NodeRequest req) {
  // First error wins: a non-ok input's error is returned unchanged.
  for (const Tensor& t : req.inputs) {
    if (!t.ok()) return t.status();
  }
  for (const Tensor& t : req.control_inputs) {
    if (!t.ok()) return t.status();
  }

  internal::ThreadStacks& stacks = internal::CurrentStacks();
  auto node = std::unique_ptr<Node>(new Node());
  Provenance& p = node->provenance_;
  if (req.loaded != nullptr) {
    p = *req.loaded;
  } else {
    p.where = req.where;
    p.thread = CurrentThreadName();
    if (!stacks.names.empty()) p.name_scope = stacks.names.back().value;
    p.graph_source = req.source;
    p.scope = std::move(req.scope);
    if (GetProvenanceMode() == ProvenanceMode::kStackTraces) {
      p.stack = internal::CaptureStack(/*skip=*/2);
    }
  }

  const std::string base_leaf =
      req.name.empty() ? std::string(req.op) : std::string(req.name);
  std::string base = p.name_scope.empty() || req.loaded != nullptr
                         ? base_leaf
                         : absl::StrCat(p.name_scope, "/", base_leaf);

  // Cross-graph edges: O(1) per input (a pointer comparison).
  for (size_t i = 0; i < req.inputs.size() + req.control_inputs.size(); ++i) {
    const bool control = i >= req.inputs.size();
    const Tensor& in =
        control ? req.control_inputs[i - req.inputs.size()] : req.inputs[i];
    if (in.graph_impl().get() == this) continue;
    CrossGraphEdge e;
    e.op_name = base;
    e.op_type = std::string(req.op);
    e.graph_name = name_;
    e.graph_id = id_;
    e.op_site = p.Site();
    e.op_thread = p.thread;
    e.graph_source = p.graph_source;
    e.graph_reason = p.GraphReason(Quoted(name_));
    e.input_index = static_cast<int>(control ? i - req.inputs.size() : i);
    e.control_input = control;
    DescribeCrossGraphInput(in, e);
    return MakeCrossGraphError(e);
  }

  auto fail = [&](std::string kind, std::string_view detail,
                  absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
    return BuildError(std::move(kind), code, detail, base, req.op, *this, p,
                      req.inputs);
  };

  // Built outside the graph's lock: formatting may symbolize a stack.
  auto finalized_error = [&](const std::source_location& at) {
    return fail("finalized",
                absl::StrCat("the graph was finalized at ",
                             SourceSite::From(at).ToString(),
                             " and accepts no more ops"),
                absl::StatusCode::kFailedPrecondition);
  };
  if (finalized_.load(std::memory_order_acquire)) {
    std::source_location at;
    {
      absl::MutexLock lock(&mu_);
      at = *finalized_at_;
    }
    return finalized_error(at);
  }
  if (absl::Status s = ValidateNodeName(base); !s.ok()) {
    return fail("name", s.message());
  }
  std::string device(req.device);
  if (device.empty() && !stacks.devices.empty() && req.loaded == nullptr) {
    device = stacks.devices.back().value;
  }
  if (absl::Status s = ValidateDeviceName(device); !s.ok()) {
    return fail("device", s.message());
  }

  const OpDef* def = OpRegistry::Global().Find(req.op);
  if (def == nullptr) {
    return fail(
        "unknown_op",
        absl::StrCat("unknown op type ", Quoted(req.op), "; registered ops: ",
                     absl::StrJoin(OpRegistry::Global().ListOps(), ", ")));
  }
  if (static_cast<int>(req.inputs.size()) != def->num_inputs) {
    return fail("arity",
                absl::StrCat(req.op, " takes ", def->num_inputs,
                             " input(s) but was given ", req.inputs.size()));
  }

  for (const std::string& attr : def->attrs) {
    if (!req.attrs.contains(attr)) {
      return fail("attr", absl::StrCat(req.op, " requires attr '", attr,
                                       "', which was not given"));
    }
  }

  InferenceContext ctx;
  ctx.attrs = &req.attrs;
  ctx.input_dtypes.reserve(req.inputs.size());
  ctx.input_shapes.reserve(req.inputs.size());
  for (const Tensor& in : req.inputs) {
    ctx.input_dtypes.push_back(in.dtype());
    ctx.input_shapes.push_back(in.shape());
  }
  if (absl::Status s = def->infer(ctx); !s.ok()) {
    return fail(ctx.error_kind.empty() ? "attr" : ctx.error_kind, s.message());
  }
  // A custom inference function is checked like user input: the executor
  // relies on exactly one valid output per node.
  if (ctx.output_dtypes.size() != 1 || ctx.output_shapes.size() != 1) {
    return fail("inference",
                absl::StrCat("the inference function of op ", req.op, " set ",
                             ctx.output_dtypes.size(), " output dtype(s) and ",
                             ctx.output_shapes.size(),
                             " output shape(s); weft ops have exactly one "
                             "output (call InferenceContext::SetOutput once)"),
                absl::StatusCode::kInternal);
  }
  if (absl::Status s = ctx.output_shapes[0].Validate(); !s.ok()) {
    return fail(
        "inference",
        absl::StrCat("the inference function of op ", req.op,
                     " produced an invalid output shape: ", s.message()),
        absl::StatusCode::kInternal);
  }

  node->op_ = std::string(req.op);
  node->attrs_ = std::move(req.attrs);
  node->device_ = std::move(device);
  node->output_dtypes_ = std::move(ctx.output_dtypes);
  node->output_shapes_ = std::move(ctx.output_shapes);
  node->inputs_.reserve(req.inputs.size());
  for (const Tensor& in : req.inputs) {
    node->inputs_.push_back(NodeInput{in.node()->id(), in.index()});
  }
  for (const Tensor& in : req.control_inputs) {
    node->control_inputs_.push_back(in.node()->id());
  }

  const Node* added = nullptr;
  std::optional<std::source_location> finalized_at;
  {
    absl::MutexLock lock(&mu_);
    finalized_at = finalized_at_;  // A Finalize() that raced the checks.
    if (!finalized_at.has_value()) {
      node->id_ = static_cast<int>(nodes_.size());
      node->name_ = UniqueNameLocked(base);
      by_name_.emplace(node->name_, node->id_);
      added = node.get();
      nodes_.push_back(std::move(node));
      num_nodes_.store(static_cast<int>(nodes_.size()),
                       std::memory_order_release);
    }
  }
  if (finalized_at.has_value()) return finalized_error(*finalized_at);
  return Tensor(shared_from_this(), added, 0);
}

std::string GraphImpl::UniqueNameLocked(const std::string& base) {
  if (!by_name_.contains(base)) return base;
  int& next = next_suffix_[base];
  if (next == 0) next = 1;
  std::string candidate;
  do {
    candidate = absl::StrCat(base, "_", next++);
  } while (by_name_.contains(candidate));
  return candidate;
}

void GraphImpl::Finalize(std::source_location where) {
  absl::MutexLock lock(&mu_);
  if (!finalized_at_.has_value()) finalized_at_ = where;
  finalized_.store(true, std::memory_order_release);
}

bool GraphImpl::finalized() const {
  absl::MutexLock lock(&mu_);
  return finalized_at_.has_value();
}

const Node* GraphImpl::node(int id) const {
  absl::MutexLock lock(&mu_);
  if (id < 0 || id >= static_cast<int>(nodes_.size())) return nullptr;
  return nodes_[id].get();
}

std::vector<const Node*> GraphImpl::nodes() const {
  absl::MutexLock lock(&mu_);
  std::vector<const Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

const Node* GraphImpl::FindNode(std::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : nodes_[it->second].get();
}

// ---------------------------------------------------------------- Graph --

Graph Graph::Create(std::string_view name) {
  const int64_t id = g_next_graph_id.fetch_add(1);
  return Graph(std::make_shared<GraphImpl>(std::string(name), id));
}

const std::string& Graph::name() const {
  return impl_ ? impl_->name() : EmptyString();
}
int64_t Graph::id() const { return impl_ ? impl_->id() : -1; }
int Graph::num_nodes() const { return impl_ ? impl_->num_nodes() : 0; }

void Graph::Finalize(std::source_location where) {
  if (impl_) impl_->Finalize(where);
}
bool Graph::finalized() const { return impl_ && impl_->finalized(); }

namespace {
absl::Status NullGraphError(std::string_view op, std::source_location where) {
  absl::Status s = absl::FailedPreconditionError(absl::StrCat(
      "op ", Quoted(op), " built at ", SourceSite::From(where).ToString(),
      " targets a null Graph handle (default-constructed); create graphs "
      "with Graph::Create"));
  AttachOpErrorInfo(
      OpErrorInfo{"null_graph", std::string(op), std::string(op), "", -1,
                  SourceSite::From(where), CurrentThreadName()},
      s);
  return s;
}
}  // namespace

NodeRequest MakeNodeRequest(std::string_view op,
                            absl::Span<const Tensor> inputs, AttrMap attrs,
                            const OpOptions& options,
                            std::source_location where) {
  NodeRequest req;
  req.op = op;
  req.inputs = inputs;
  req.control_inputs = options.control_inputs;
  req.attrs = std::move(attrs);
  req.name = options.name;
  req.device = options.device;
  req.where = where;
  return req;
}

absl::StatusOr<Tensor> Graph::AddOp(std::string_view op,
                                    std::vector<Tensor> inputs, AttrMap attrs,
                                    const OpOptions& options,
                                    std::source_location where) {
  // First error wins, even over a null handle.
  for (const Tensor& t : inputs) {
    if (!t.ok()) return t.status();
  }
  for (const Tensor& t : options.control_inputs) {
    if (!t.ok()) return t.status();
  }
  if (impl_ == nullptr) return NullGraphError(op, where);
  if (options.graph.has_value() && !(*options.graph == *this)) {
    absl::Status s = absl::InvalidArgumentError(absl::StrCat(
        "Graph::AddOp on graph ", DisplayName(), " at ",
        SourceSite::From(where).ToString(), " was given OpOptions.graph ",
        options.graph->DisplayName(), "; name one graph"));
    AttachOpErrorInfo(
        OpErrorInfo{"graph_mismatch", std::string(op), std::string(op), name(),
                    id(), SourceSite::From(where), CurrentThreadName()},
        s);
    return s;
  }
  NodeRequest req =
      MakeNodeRequest(op, inputs, std::move(attrs), options, where);
  req.source = GraphSource::kExplicitHandle;
  return impl_->AddNode(std::move(req));
}

absl::StatusOr<Tensor> Graph::AddOp(std::string_view op,
                                    std::vector<Tensor> inputs, AttrMap attrs,
                                    std::source_location where) {
  return AddOp(op, std::move(inputs), std::move(attrs), OpOptions{}, where);
}

const Node* Graph::node(int id) const {
  return impl_ ? impl_->node(id) : nullptr;
}
std::vector<const Node*> Graph::nodes() const {
  return impl_ ? impl_->nodes() : std::vector<const Node*>{};
}
const Node* Graph::FindNode(std::string_view name) const {
  return impl_ ? impl_->FindNode(name) : nullptr;
}

absl::StatusOr<Tensor> Graph::GetTensor(std::string_view name) const {
  std::string_view node_name = name;
  int slot = 0;
  if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    node_name = name.substr(0, colon);
    const std::string_view digits = name.substr(colon + 1);
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) ||
        !absl::SimpleAtoi(digits, &slot)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad tensor name ", Quoted(name),
                       ": expected 'node' or 'node:<output index>'"));
    }
  }
  const Node* n = FindNode(node_name);
  if (n == nullptr || slot >= n->num_outputs()) {
    return absl::NotFoundError(
        absl::StrCat("graph ", DisplayName(), " has no tensor ", Quoted(name)));
  }
  return Tensor(impl_, n, slot);
}

std::string Graph::DisplayName() const {
  if (impl_ == nullptr) return "<null graph>";
  return GraphDisplay(*impl_);
}

std::string Graph::DebugString() const {
  std::string out = absl::StrCat("graph ", DisplayName(), "\n");
  for (const Node* n : nodes()) {
    std::vector<std::string> args;
    for (const NodeInput& in : n->inputs()) {
      args.push_back(absl::StrCat(node(in.node)->name(), ":", in.slot));
    }
    for (int c : n->control_inputs()) {
      args.push_back(absl::StrCat("^", node(c)->name()));
    }
    absl::StrAppend(&out, n->id(), " ", n->name(), " = ", n->op(), "(",
                    absl::StrJoin(args, ", "),
                    ") : ", DTypeName(n->output_dtypes()[0]),
                    n->output_shapes()[0].DebugString());
    if (!n->device().empty()) absl::StrAppend(&out, " @", n->device());
    out.append("\n");
  }
  return out;
}

Graph RootGraph() {
  static const Graph* root = new Graph(Graph::Create("root"));
  return *root;
}

Graph DefaultGraph() {
  const internal::ThreadStacks& s = internal::CurrentStacks();
  return s.graphs.empty() ? RootGraph() : s.graphs.back().graph;
}

}  // namespace weft
