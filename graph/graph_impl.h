// graph_impl.h — defines weft::GraphImpl, the shared state behind Graph
// handles (internal to graph/: users go through Graph, Tensor and ops.h).
#ifndef WEFT_GRAPH_GRAPH_IMPL_H_
#define WEFT_GRAPH_GRAPH_IMPL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "graph/attr.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/node.h"
#include "graph/op_registry.h"
#include "graph/provenance.h"
#include "graph/tensor.h"

namespace weft {

struct OpOptions;  // graph/graph.h
namespace internal {
struct ThreadStacks;  // graph/thread_stacks.h

// Captures the current stack (kStackTraces mode), skipping `skip` frames.
// Defined in provenance.cc.
std::shared_ptr<const std::vector<void*>> CaptureStack(int skip);
}  // namespace internal

// Everything needed to add one node.
struct NodeRequest {
  std::string_view op;
  absl::Span<const Tensor> inputs;
  absl::Span<const Tensor> control_inputs;
  AttrMap attrs;
  std::string_view name;    // OpOptions.name; "" = the op type.
  std::string_view device;  // OpOptions.device; "" = the DeviceScope's.
  GraphSource source = GraphSource::kExplicitHandle;
  ScopeOrigin scope;  // For kGraphScope.
  std::source_location where;
  // Set when loading a graph from a file (graph/graph_io.h): the node's saved
  // provenance is used instead of recording one, `name` is the full node
  // name (no NameScope prefix) and `device` is taken as given (no
  // DeviceScope).
  const Provenance* loaded = nullptr;
  // OpOptions.site: replaces `where` as the recorded build site.
  const SourceSite* site = nullptr;
};

// The request for `op` with the caller's inputs, attrs, and the name,
// device and control inputs of `options` (which must outlive the request).
// `source` and `scope` are left for the caller to set.
NodeRequest MakeNodeRequest(std::string_view op,
                            absl::Span<const Tensor> inputs, AttrMap attrs,
                            const OpOptions& options,
                            std::source_location where);

// The graph itself: an append-only list of immutable nodes.
//
// Thread safety: AddNode and the readers may run concurrently from any
// number of threads; `mu_` guards the node list and the name table. Node
// objects are immutable and never move, so a Node* stays valid while the
// GraphImpl lives.
class GraphImpl : public std::enable_shared_from_this<GraphImpl> {
 public:
  GraphImpl(std::string name, int64_t id) : name_(std::move(name)), id_(id) {}

  const std::string& name() const { return name_; }
  int64_t id() const { return id_; }
  int num_nodes() const { return num_nodes_.load(std::memory_order_acquire); }

  // Validates and adds a node; returns it. Nothing is added on error.
  // Checks inputs for cross-graph edges in O(1) each.
  [[nodiscard]] absl::StatusOr<const Node*> AddNode(NodeRequest request);
  // One Tensor per output of `node` (a node of this graph).
  std::vector<Tensor> Outputs(const Node* node);

  void Finalize(std::source_location where);
  bool finalized() const;

  const Node* node(int id) const;
  std::vector<const Node*> nodes() const;
  const Node* FindNode(std::string_view name) const;

 private:
  using BuildErrorFn = std::function<absl::Status(
      ErrorKind, std::string_view detail, absl::StatusCode)>;

  // AddNode's stages, in the order AddNode runs them. A failing check
  // returns the error for the node being built, with its provenance notes
  // (FirstInputError: the input's own error, unchanged).

  // The status of the first non-ok input, then control input, if any.
  [[nodiscard]] static absl::Status FirstInputError(const NodeRequest& req);
  static Provenance MakeProvenance(NodeRequest& req,
                                   const internal::ThreadStacks& stacks);
  // The node's name before uniquing: the request's name (or the op type)
  // under the provenance's NameScope; a loaded node's name as saved.
  static std::string RequestedName(const NodeRequest& req, const Provenance& p);
  [[nodiscard]] absl::Status CheckCrossGraph(const NodeRequest& req,
                                             const Provenance& p,
                                             const std::string& base) const;
  // An error if the graph is finalized (the lock-free early check).
  [[nodiscard]] absl::Status CheckNotFinalized(const BuildErrorFn& fail) const;
  // "The graph was finalized at `at`", as a build error.
  static absl::Status FinalizedError(const BuildErrorFn& fail,
                                     const std::source_location& at);
  // Validates `base` as a node name, then sets `device` to the node's device
  // (the request's, else the innermost DeviceScope's) and checks that it is
  // well formed and of a registered kind.
  [[nodiscard]] static absl::Status ResolveNameAndDevice(
      const NodeRequest& req, const internal::ThreadStacks& stacks,
      const std::string& base, const BuildErrorFn& fail, std::string& device);
  // The registered OpDef of req.op, once its input count matches.
  static absl::StatusOr<const OpDef*> FindOpDef(const NodeRequest& req,
                                                const BuildErrorFn& fail);
  [[nodiscard]] absl::Status RunInference(const OpDef& def,
                                          const NodeRequest& req,
                                          const BuildErrorFn& fail,
                                          InferenceContext& ctx) const;
  // Moves the checked request (op, attrs, inferred outputs, inputs) into
  // `node`; its id and name are left to Commit.
  static void FillNode(NodeRequest& req, const OpDef& def,
                       InferenceContext& ctx, Node& node);
  // Names and appends `node`; nullptr (and `finalized` set) if the graph
  // was finalized meanwhile.
  const Node* Commit(std::unique_ptr<Node> node, const std::string& base,
                     std::optional<std::source_location>& finalized);

  // Picks a unique name for `base` (base, base_1, base_2, ...).
  std::string UniqueNameLocked(const std::string& base)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const int64_t id_;
  std::atomic<int> num_nodes_{0};
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> by_name_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> next_suffix_ ABSL_GUARDED_BY(mu_);
  std::optional<std::source_location> finalized_at_ ABSL_GUARDED_BY(mu_);
  // Mirrors finalized_at_.has_value() so AddNode can refuse early, before
  // inference, without the lock (the locked check stays authoritative).
  std::atomic<bool> finalized_{false};
};

// Checks that a node or name-scope name is well formed: non-empty, made of
// [A-Za-z0-9_.-] segments separated by single '/'.
[[nodiscard]] absl::Status ValidateNodeName(std::string_view name);
// Checks a device string's form: "" or "<kind>:<index>" ("cpu:0"). Whether
// the kind is registered is CheckDeviceName's job (graph/device_kind.h).
[[nodiscard]] absl::Status ValidateDeviceName(std::string_view device);

namespace internal {

// graph/'s access to the private parts of Graph and Tensor (their
// GraphImpl). This header is private to //graph, so nothing outside graph/
// can name a GraphImpl or build a Tensor from one.
class GraphAccess {
 public:
  static const std::shared_ptr<GraphImpl>& Impl(const Graph& graph) {
    return graph.impl();
  }
  static const std::shared_ptr<GraphImpl>& Impl(const Tensor& tensor) {
    return tensor.graph_impl();
  }
  static Graph Wrap(std::shared_ptr<GraphImpl> impl) {
    return Graph(std::move(impl));
  }
  static Tensor MakeTensor(std::shared_ptr<GraphImpl> graph, const Node* node,
                           int index) {
    return Tensor(std::move(graph), node, index);
  }
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_GRAPH_GRAPH_IMPL_H_
