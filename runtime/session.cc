#include "runtime/session.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/errors.h"
#include "graph/graph_impl.h"

namespace weft {
namespace {

using internal::Quoted;

}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::Create(
    Graph graph, SessionOptions options, std::source_location where) {
  if (graph.is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Session::Create at ", SourceSite::From(where).ToString(),
                     ": null Graph handle; create graphs with Graph::Create"));
  }
  if (options.devices.empty()) {
    return absl::InvalidArgumentError(
        "Session::Create: SessionOptions.devices is empty; name at least one "
        "device, like 'cpu:0'");
  }
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Session::Create: num_threads is ", options.num_threads,
                     "; use 0 for oneTBB's default or a positive count"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& d : options.devices) {
    if (d.empty()) {
      return absl::InvalidArgumentError(
          "Session::Create: empty device name in SessionOptions.devices");
    }
    if (absl::Status s = ValidateDeviceName(d); !s.ok()) return s;
    if (!seen.insert(d).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Session::Create: device ", Quoted(d), " is listed twice"));
    }
  }
  return std::unique_ptr<Session>(
      new Session(std::move(graph), std::move(options), where));
}

Session::Session(Graph graph, SessionOptions options,
                 std::source_location where)
    : graph_(std::move(graph)),
      options_(std::move(options)),
      created_at_(where),
      devices_(std::make_unique<DeviceSet>(options_.devices,
                                           options_.num_threads)) {}

Session::~Session() = default;  // ~DeviceSet waits for runs in flight.

int Session::num_cached_plans() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(plans_.size());
}

absl::Status Session::CheckTensor(const Tensor& t, std::string_view role,
                                  int index, std::source_location where) const {
  if (!t.ok()) return t.status();
  if (t.graph_impl() == graph_.impl()) return absl::OkStatus();
  CrossGraphEdge e;
  e.op_name = absl::StrCat(role, " ", index);
  e.op_type = "Session::Run";
  e.graph_name = graph_.name();
  e.graph_id = graph_.id();
  e.op_site = SourceSite::From(where);
  e.op_thread = CurrentThreadName();
  e.graph_source = GraphSource::kExplicitHandle;
  e.graph_reason = absl::StrCat(Quoted(graph_.name()),
                                " is the graph of the Session created at ",
                                SourceSite::From(created_at_).ToString());
  e.input_index = index;
  DescribeCrossGraphInput(t, e);
  return MakeCrossGraphError(e);
}

absl::StatusOr<std::shared_ptr<const CompiledPlan>> Session::GetPlan(
    const std::vector<Tensor>& feeds, const std::vector<Tensor>& fetches,
    std::source_location where) {
  std::vector<int32_t> key;
  key.reserve(2 * (feeds.size() + fetches.size()) + 1);
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (absl::Status s = CheckTensor(feeds[i], "feed", i, where); !s.ok()) {
      return s;
    }
    key.push_back(feeds[i].node()->id());
    key.push_back(feeds[i].index());
  }
  key.push_back(-1);
  for (size_t i = 0; i < fetches.size(); ++i) {
    if (absl::Status s = CheckTensor(fetches[i], "fetch", i, where); !s.ok()) {
      return s;
    }
    key.push_back(fetches[i].node()->id());
    key.push_back(fetches[i].index());
  }
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
  }
  // Graphs are append-only and nodes immutable, so a plan depends only on
  // the fetches' ancestors, which never change: a cached plan stays valid as
  // the graph grows, and new fetches simply compile a new plan.
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      CompilePlan(graph_, feeds, fetches, options_.devices);
  if (!plan.ok()) return plan.status();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = plans_.emplace(std::move(key), *plan);
  return it->second;
}

absl::StatusOr<std::vector<NDArray>> Session::Run(
    const Feeds& feeds, const std::vector<Tensor>& fetches,
    const RunOptions& options, RunMetadata* metadata,
    std::source_location where) {
  // The deadline covers the whole call, plan compilation included.
  ExecuteOptions exec;
  if (options.timeout != absl::InfiniteDuration()) {
    exec.deadline = absl::Now() + options.timeout;
  }
  std::vector<Tensor> fed;
  std::vector<NDArray> values;
  fed.reserve(feeds.size());
  values.reserve(feeds.size());
  for (size_t i = 0; i < feeds.size(); ++i) {
    const auto& [t, v] = feeds[i];
    if (absl::Status s = CheckTensor(t, "feed", i, where); !s.ok()) return s;
    const Node& n = *t.node();
    auto feed_error = [&](std::string_view why) {
      return WithNodeErrorInfo(
          absl::InvalidArgumentError(
              absl::StrCat("feed ", i, " for ", Quoted(t.name()), " (", n.op(),
                           " defined at ", n.provenance().Site().ToString(),
                           ") in the Run at ",
                           SourceSite::From(where).ToString(), ": ", why)),
          "feed", n, graph_);
    };
    if (!v.valid()) return feed_error("the fed NDArray is empty");
    if (v.dtype() != t.dtype() || !t.shape().IsCompatibleWith(v.shape())) {
      return feed_error(
          absl::StrCat("fed ", DTypeName(v.dtype()), v.shape().DebugString(),
                       " but ", Quoted(t.name()), " is ", DTypeName(t.dtype()),
                       t.shape().DebugString()));
    }
    for (size_t j = 0; j < i; ++j) {
      if (fed[j].node() == t.node() && fed[j].index() == t.index()) {
        return feed_error(absl::StrCat("the same tensor is also feed ", j));
      }
    }
    fed.push_back(t);
    values.push_back(v);
  }
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      GetPlan(fed, fetches, where);
  if (!plan.ok()) return plan.status();
  exec.collect_stats = metadata != nullptr;
  exec.trace = options.trace;
  return ExecutePlan(*std::move(plan), *devices_, std::move(values), exec,
                     metadata);
}

}  // namespace weft
