#include "graph/graph.h"

#include <algorithm>
#include <atomic>
#include <optional>

#include "absl/base/attributes.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/function.h"
#include "graph/function_body.h"
#include "graph/graph_impl.h"
#include "graph/op_registry.h"
#include "graph/scopes.h"
#include "graph/thread_stacks.h"

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
  for (size_t i = 0; i < name.size(); ++i) {
    const char ch = name[i];
    if (ch == '/' && prev == '/') return bad("empty scope segment ('//')");
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_' ||
          ch == '.' || ch == '-' || ch == '/')) {
      return bad(absl::StrCat("character ",
                              Quoted(internal::Utf8CharAt(name, i)),
                              " is not allowed (use letters, digits, '_', "
                              "'.', '-', and '/' between scopes)"));
    }
    prev = ch;
  }
  return absl::OkStatus();
}

absl::Status ValidateDeviceName(std::string_view device) {
  if (device.empty()) return absl::OkStatus();
  // An optional task prefix, "/job:<name>/task:<index>/" (a device of
  // another process of a cluster: distributed/server.h).
  std::string_view local = device;
  bool ok = true;
  if (!device.empty() && device[0] == '/') {
    const size_t slash = device.rfind('/');
    local = device.substr(slash + 1);
    ok = ParseTaskName(device.substr(0, slash)).has_value();
  }
  size_t colon = local.find(':');
  int index;
  ok = ok && colon != std::string_view::npos && colon > 0 &&
       absl::SimpleAtoi(local.substr(colon + 1), &index) && index >= 0;
  // SimpleAtoi alone would also accept "cpu: 1", "cpu:1 " and "cpu:+1".
  for (size_t i = colon + 1; ok && i < local.size(); ++i) {
    ok = absl::ascii_isdigit(static_cast<unsigned char>(local[i]));
  }
  for (size_t i = 0; ok && i < colon; ++i) {
    ok = absl::ascii_islower(static_cast<unsigned char>(local[i]));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid device ", Quoted(device),
        ": devices are named '<kind>:<index>', like 'cpu:0', or "
        "'/job:<name>/task:<index>/<kind>:<index>' for a task of a cluster"));
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

Graph Tensor::graph() const { return internal::GraphAccess::Wrap(graph_); }

bool Tensor::belongs_to(const Graph& graph) const {
  return node_ != nullptr && graph_ == internal::GraphAccess::Impl(graph);
}

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

absl::Status BuildError(ErrorKind kind, absl::StatusCode code,
                        std::string_view detail, const std::string& node_name,
                        std::string_view op, const GraphImpl& g,
                        const Provenance& p, absl::Span<const Tensor> inputs) {
  absl::Status status(
      code, absl::StrCat("op ", Quoted(node_name), " (", op, ") in graph ",
                         GraphDisplay(g), ": ", detail,
                         ProvenanceNotes(g, p, inputs)));
  AttachOpErrorInfo(OpErrorInfo{.kind = kind,
                                .node_name = node_name,
                                .op_type = std::string(op),
                                .graph_name = g.name(),
                                .graph_id = g.id(),
                                .site = p.Site(),
                                .thread = p.thread},
                    status);
  return status;
}

}  // namespace

// AddNode's stages. Each returns the error for the node being built, with
// its provenance notes, or OK.

Provenance GraphImpl::MakeProvenance(NodeRequest& req,
                                     const internal::ThreadStacks& stacks) {
  // A node loaded from a file keeps the provenance it was saved with.
  if (req.loaded != nullptr) return *req.loaded;
  Provenance p;
  p.where = req.where;
  p.thread = CurrentThreadName();
  if (!stacks.names.empty()) p.name_scope = stacks.names.back().value;
  p.graph_source = req.source;
  p.scope = std::move(req.scope);
  if (req.site != nullptr) {
    auto sites = std::make_shared<LoadedSites>();
    sites->where = *req.site;
    sites->scope_site = SourceSite::From(p.scope.site);
    if (p.scope.carried_by.has_value()) {
      sites->scope_carried_by = SourceSite::From(*p.scope.carried_by);
    }
    p.loaded = std::move(sites);
  }
  if (GetProvenanceMode() == ProvenanceMode::kStackTraces) {
    p.stack = internal::CaptureStack(/*skip=*/3);
  }
  return p;
}

absl::Status GraphImpl::CheckCrossGraph(const NodeRequest& req,
                                        const Provenance& p,
                                        const std::string& base) const {
  // O(1) per input: a pointer comparison.
  for (size_t i = 0; i < req.inputs.size() + req.control_inputs.size(); ++i) {
    const bool control = i >= req.inputs.size();
    const Tensor& in =
        control ? req.control_inputs[i - req.inputs.size()] : req.inputs[i];
    if (internal::GraphAccess::Impl(in).get() == this) continue;
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
  return absl::OkStatus();
}

absl::Status GraphImpl::RunInference(const OpDef& def, const NodeRequest& req,
                                     const BuildErrorFn& fail,
                                     InferenceContext& ctx) const {
  for (const std::string& attr : def.attrs) {
    if (!req.attrs.contains(attr)) {
      return fail(ErrorKind::kAttr,
                  absl::StrCat(req.op, " requires attr '", attr,
                               "', which was not given"),
                  absl::StatusCode::kInvalidArgument);
    }
  }
  ctx.attrs = &req.attrs;
  ctx.input_dtypes.reserve(req.inputs.size());
  ctx.input_shapes.reserve(req.inputs.size());
  for (const Tensor& in : req.inputs) {
    ctx.input_dtypes.push_back(in.dtype());
    ctx.input_shapes.push_back(in.shape());
  }
  if (absl::Status s = def.infer(ctx); !s.ok()) {
    return fail(ctx.error_kind.value_or(ErrorKind::kAttr), s.message(),
                absl::StatusCode::kInvalidArgument);
  }
  // A custom inference function is checked like user input: the executor
  // relies on one valid dtype and shape per declared output.
  const size_t n = ctx.output_dtypes.size();
  if (n == 0 || ctx.output_shapes.size() != n ||
      (def.num_outputs != OpDef::kOutputsFromInference &&
       n != static_cast<size_t>(def.num_outputs))) {
    return fail(
        ErrorKind::kInference,
        absl::StrCat("the inference function of op ", req.op, " set ", n,
                     " output dtype(s) and ", ctx.output_shapes.size(),
                     " output shape(s); the op declares ",
                     def.num_outputs == OpDef::kOutputsFromInference
                         ? std::string("at least 1")
                         : absl::StrCat(def.num_outputs),
                     " (fix the op's inference function)"),
        absl::StatusCode::kInternal);
  }
  for (size_t i = 0; i < n; ++i) {
    const Shape& shape = ctx.output_shapes[i];
    if (!IsValidDType(ctx.output_dtypes[i]) ||
        std::any_of(shape.dims().begin(), shape.dims().end(),
                    [](int64_t d) { return d < Shape::kUnknown; })) {
      return fail(
          ErrorKind::kInference,
          absl::StrCat("the inference function of op ", req.op,
                       " produced an invalid output ", i, ": ",
                       DTypeName(ctx.output_dtypes[i]), shape.DebugString(),
                       " (fix the op's inference function)"),
          absl::StatusCode::kInternal);
    }
    // A well-formed shape whose element count overflows comes from the
    // user's input shapes: a shape error, not a bug in inference.
    if (absl::Status s = shape.Validate(); !s.ok()) {
      return fail(ErrorKind::kShape,
                  absl::StrCat("output ", i, ": ", s.message()),
                  absl::StatusCode::kInvalidArgument);
    }
  }
  return absl::OkStatus();
}

inline absl::Status GraphImpl::FirstInputError(const NodeRequest& req) {
  for (const Tensor& t : req.inputs) {
    if (!t.ok()) return t.status();
  }
  for (const Tensor& t : req.control_inputs) {
    if (!t.ok()) return t.status();
  }
  return absl::OkStatus();
}

inline std::string GraphImpl::RequestedName(const NodeRequest& req,
                                            const Provenance& p) {
  const std::string base_leaf =
      req.name.empty() ? std::string(req.op) : std::string(req.name);
  // A loaded node's name is used as saved (its scope is already in it).
  return p.name_scope.empty() || req.loaded != nullptr
             ? base_leaf
             : absl::StrCat(p.name_scope, "/", base_leaf);
}

absl::Status GraphImpl::FinalizedError(const BuildErrorFn& fail,
                                       const std::source_location& at) {
  return fail(
      ErrorKind::kFinalized,
      absl::StrCat("the graph was finalized at ",
                   SourceSite::From(at).ToString(), " and accepts no more ops"),
      absl::StatusCode::kFailedPrecondition);
}

inline absl::Status GraphImpl::CheckNotFinalized(
    const BuildErrorFn& fail) const {
  if (!finalized_.load(std::memory_order_acquire)) return absl::OkStatus();
  std::source_location at;
  {
    absl::MutexLock lock(&mu_);
    at = *finalized_at_;
  }
  // Built outside the graph's lock: formatting may symbolize a stack.
  return FinalizedError(fail, at);
}

inline absl::Status GraphImpl::ResolveNameAndDevice(
    const NodeRequest& req, const internal::ThreadStacks& stacks,
    const std::string& base, const BuildErrorFn& fail, std::string& device) {
  if (absl::Status s = ValidateNodeName(base); !s.ok()) {
    return fail(ErrorKind::kName, s.message(),
                absl::StatusCode::kInvalidArgument);
  }
  device = req.device;
  if (device.empty() && !stacks.devices.empty() && req.loaded == nullptr) {
    device = stacks.devices.back().value;
  }
  if (absl::Status s = CheckDeviceName(device); !s.ok()) {
    return fail(ErrorKind::kDevice, s.message(),
                absl::StatusCode::kInvalidArgument);
  }
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::StatusOr<const OpDef*>
GraphImpl::FindOpDef(const NodeRequest& req, const BuildErrorFn& fail) {
  const OpDef* def = OpRegistry::Global().Find(req.op);
  if (def == nullptr) {
    return fail(
        ErrorKind::kUnknownOp,
        absl::StrCat("unknown op type ", Quoted(req.op), "; registered ops: ",
                     absl::StrJoin(OpRegistry::Global().ListOps(), ", ")),
        absl::StatusCode::kInvalidArgument);
  }
  if (def->num_inputs != OpDef::kVariadicInputs &&
      static_cast<int>(req.inputs.size()) != def->num_inputs) {
    return fail(ErrorKind::kArity,
                absl::StrCat(req.op, " takes ", def->num_inputs,
                             " input(s) but was given ", req.inputs.size()),
                absl::StatusCode::kInvalidArgument);
  }
  return def;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void GraphImpl::FillNode(
    NodeRequest& req, const OpDef& def, InferenceContext& ctx, Node& node) {
  node.op_ = std::string(req.op);
  node.op_def_ = &def;
  node.attrs_ = std::move(req.attrs);
  node.output_dtypes_ = std::move(ctx.output_dtypes);
  node.output_shapes_ = std::move(ctx.output_shapes);
  node.inputs_.reserve(req.inputs.size());
  for (const Tensor& in : req.inputs) {
    node.inputs_.push_back(NodeInput{in.node()->id(), in.index()});
  }
  for (const Tensor& in : req.control_inputs) {
    node.control_inputs_.push_back(in.node()->id());
  }
}

// The checks run in this order, and the first failing one is the error:
// later stages may assume every earlier one passed. The stages above are
// `inline` (FindOpDef and FillNode forced) so that each, called only here,
// is inlined back into AddNode: as members they have external linkage, and
// out of line they cost BM_BuildNode 5% more instructions per node.
absl::StatusOr<const Node*> GraphImpl::AddNode(NodeRequest req) {
  // 1. First error wins: a non-ok input's error is returned unchanged, even
  //    over this graph being finalized.
  if (absl::Status s = FirstInputError(req); !s.ok()) return s;

  // 2. Provenance and the requested name (NameScope prefix applied), which
  //    every later error names.
  const internal::ThreadStacks& stacks = internal::CurrentStacks();
  auto node = std::unique_ptr<Node>(new Node());
  node->provenance_ = MakeProvenance(req, stacks);
  const Provenance& p = node->provenance_;
  const std::string base = RequestedName(req, p);

  // 3. Every input and control input is a node of this graph.
  if (absl::Status s = CheckCrossGraph(req, p, base); !s.ok()) return s;

  const BuildErrorFn fail = [&](ErrorKind kind, std::string_view detail,
                                absl::StatusCode code) {
    return BuildError(kind, code, detail, base, req.op, *this, p, req.inputs);
  };
  // 4. The graph was not finalized before the checks (Commit re-checks).
  if (absl::Status s = CheckNotFinalized(fail); !s.ok()) return s;
  // 5. The name is well formed; the device is resolved and valid.
  if (absl::Status s =
          ResolveNameAndDevice(req, stacks, base, fail, node->device_);
      !s.ok()) {
    return s;
  }
  // 6. The op is registered and given its number of inputs.
  absl::StatusOr<const OpDef*> def = FindOpDef(req, fail);
  if (!def.ok()) return def.status();
  // 7. Every output has a valid inferred dtype and shape.
  InferenceContext ctx;
  if (absl::Status s = RunInference(**def, req, fail, ctx); !s.ok()) return s;

  // 8. The node is complete but for its id and unique name, which Commit
  //    assigns under the lock unless a Finalize() raced the checks.
  FillNode(req, **def, ctx, *node);
  std::optional<std::source_location> finalized_at;
  const Node* added = Commit(std::move(node), base, finalized_at);
  if (added == nullptr) return FinalizedError(fail, *finalized_at);
  return added;
}

const Node* GraphImpl::Commit(std::unique_ptr<Node> node,
                              const std::string& base,
                              std::optional<std::source_location>& finalized) {
  absl::MutexLock lock(&mu_);
  finalized = finalized_at_;  // A Finalize() that raced the checks.
  if (finalized.has_value()) return nullptr;
  node->id_ = static_cast<int>(nodes_.size());
  node->name_ = UniqueNameLocked(base);
  by_name_.emplace(node->name_, node->id_);
  const Node* added = node.get();
  nodes_.push_back(std::move(node));
  num_nodes_.store(static_cast<int>(nodes_.size()), std::memory_order_release);
  return added;
}

std::vector<Tensor> GraphImpl::Outputs(const Node* node) {
  std::vector<Tensor> out;
  out.reserve(node->num_outputs());
  for (int i = 0; i < node->num_outputs(); ++i) {
    out.push_back(
        internal::GraphAccess::MakeTensor(shared_from_this(), node, i));
  }
  return out;
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
  absl::Status s = absl::FailedPreconditionError(internal::NullHandleMessage(
      absl::StrCat("op ", Quoted(op), " built at ",
                   SourceSite::From(where).ToString(), " targets"),
      "Graph"));
  AttachOpErrorInfo(OpErrorInfo{.kind = ErrorKind::kNullGraph,
                                .node_name = std::string(op),
                                .op_type = std::string(op),
                                .graph_name = "",
                                .graph_id = -1,
                                .site = SourceSite::From(where),
                                .thread = CurrentThreadName()},
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
  if (options.site.has_value()) req.site = &*options.site;
  return req;
}

absl::StatusOr<std::vector<Tensor>> Graph::AddOpN(std::string_view op,
                                                  std::vector<Tensor> inputs,
                                                  AttrMap attrs,
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
    AttachOpErrorInfo(OpErrorInfo{.kind = ErrorKind::kGraphMismatch,
                                  .node_name = std::string(op),
                                  .op_type = std::string(op),
                                  .graph_name = name(),
                                  .graph_id = id(),
                                  .site = SourceSite::From(where),
                                  .thread = CurrentThreadName()},
                      s);
    return s;
  }
  NodeRequest req =
      MakeNodeRequest(op, inputs, std::move(attrs), options, where);
  req.source = GraphSource::kExplicitHandle;
  absl::StatusOr<const Node*> node = impl_->AddNode(std::move(req));
  if (!node.ok()) return node.status();
  return impl_->Outputs(*node);
}

absl::StatusOr<Tensor> Graph::AddOp(std::string_view op,
                                    std::vector<Tensor> inputs, AttrMap attrs,
                                    const OpOptions& options,
                                    std::source_location where) {
  absl::StatusOr<std::vector<Tensor>> out =
      AddOpN(op, std::move(inputs), std::move(attrs), options, where);
  if (!out.ok()) return out.status();
  return std::move(out->front());
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
  return internal::GraphAccess::MakeTensor(impl_, n, slot);
}

Tensor Graph::output(const Node& node, int index) const {
  if (impl_ == nullptr || impl_->node(node.id()) != &node) {
    return Tensor::FromError(absl::InvalidArgumentError(absl::StrCat(
        "Graph::output: node ", Quoted(node.name()), " is not a node of graph ",
        DisplayName(), "; take nodes from this graph's node(), nodes() or ",
        "FindNode()")));
  }
  if (index < 0 || index >= node.num_outputs()) {
    return Tensor::FromError(absl::OutOfRangeError(absl::StrCat(
        "Graph::output: node ", Quoted(node.name()), " (", node.op(), ") has ",
        node.num_outputs(), " output(s); there is no output ", index)));
  }
  return internal::GraphAccess::MakeTensor(impl_, &node, index);
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
    std::vector<std::string> outs;
    for (int i = 0; i < n->num_outputs(); ++i) {
      outs.push_back(absl::StrCat(DTypeName(n->output_dtypes()[i]),
                                  n->output_shapes()[i].DebugString()));
    }
    absl::StrAppend(&out, n->id(), " ", n->name(), " = ", internal::OpLabel(*n),
                    "(", absl::StrJoin(args, ", "), ") : ",
                    outs.size() == 1
                        ? outs[0]
                        : absl::StrCat("(", absl::StrJoin(outs, ", "), ")"));
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
