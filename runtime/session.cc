#include "runtime/session.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "runtime/cluster_driver.h"
#include "runtime/device.h"
#include "runtime/executor.h"
#include "runtime/plan.h"
#include "runtime/prepared_run.h"
#include "runtime/rendezvous.h"

namespace weft {
namespace {

using internal::Quoted;

// The factory //distributed:server installs.
struct DriverFactorySlot {
  absl::Mutex mu;
  internal::ClusterDriverFactory factory ABSL_GUARDED_BY(mu);
};

DriverFactorySlot& DriverFactory() {
  static DriverFactorySlot* slot = new DriverFactorySlot();
  return *slot;
}

// `devices` and then the devices of other tasks that nodes of `graph` are
// placed on (sorted): the device list of a cluster session's plans.
std::vector<std::string> WithTaskDevices(const Graph& graph,
                                         std::vector<std::string> devices) {
  std::set<std::string> remote;
  for (const Node* n : graph.nodes()) {
    if (!DeviceTaskOf(n->device()).empty()) remote.insert(n->device());
  }
  devices.insert(devices.end(), remote.begin(), remote.end());
  return devices;
}

absl::Status ValidateOptions(const SessionOptions& options) {
  if (options.devices.empty()) {
    return absl::InvalidArgumentError(
        "Session::Create: SessionOptions.devices is empty; name at least one "
        "device, like 'cpu:0'");
  }
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Session::Create: num_threads is ", options.num_threads,
                     "; use 0 for the default or a positive count"));
  }
  if (options.max_cached_plans < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Session::Create: max_cached_plans is ",
                     options.max_cached_plans, "; it must be at least 1"));
  }
  if (options.max_allocation_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Session::Create: max_allocation_bytes is ",
        options.max_allocation_bytes, "; use 0 for the machine's memory"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& d : options.devices) {
    if (d.empty()) {
      return absl::InvalidArgumentError(
          "Session::Create: empty device name in SessionOptions.devices");
    }
    if (absl::Status s = CheckDeviceName(d); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Session::Create: ", s.message()));
    }
    if (!DeviceTaskOf(d).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Session::Create: SessionOptions.devices lists ", Quoted(d),
          ", a device of another task; list only this process's devices "
          "(a node placed on a task's device runs there when "
          "SessionOptions.cluster names the task)"));
    }
    if (!seen.insert(d).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Session::Create: device ", Quoted(d), " is listed twice"));
    }
  }
  for (const auto& [name, threads] : options.device_threads) {
    if (!seen.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Session::Create: device_threads names ", Quoted(name),
                       ", which is not in SessionOptions.devices"));
    }
    if (threads < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Session::Create: device_threads[", Quoted(name),
                       "] is ", threads, "; use 0 for the default"));
    }
  }
  if (options.cluster.has_value() && options.rendezvous_factory) {
    return absl::InvalidArgumentError(
        "Session::Create: SessionOptions.cluster and rendezvous_factory are "
        "both set; a cluster session's rendezvous is the cluster's");
  }
  return absl::OkStatus();
}

// A fed tensor with its value, or a fetch/target, checked and keyed.
struct RunRequest {
  std::vector<Tensor> fed;
  std::vector<NDArray> values;
  std::vector<Tensor> fetches;
  std::vector<Tensor> targets;
};

}  // namespace

class Session::Impl {
 public:
  Impl(Graph graph, SessionOptions options, std::source_location where)
      : graph_(std::move(graph)),
        options_(std::move(options)),
        created_at_(where) {}

  ~Impl() {
    // Work that outlived a timed-out Run, and RunAsync calls in flight,
    // finish before the devices go away.
    tracker_.WaitForNone();
  }

  absl::Status CreateDevices() {
    for (const std::string& name : options_.devices) {
      auto it = options_.device_threads.find(name);
      absl::StatusOr<std::unique_ptr<Device>> d =
          CreateDevice({.name = name,
                        .num_threads = it != options_.device_threads.end()
                                           ? it->second
                                           : options_.num_threads});
      if (!d.ok()) return d.status();
      devices_.push_back(*std::move(d));
    }
    if (options_.cluster.has_value()) {
      internal::ClusterDriverFactory factory;
      {
        DriverFactorySlot& slot = DriverFactory();
        absl::MutexLock lock(&slot.mu);
        factory = slot.factory;
      }
      if (!factory) {
        return absl::FailedPreconditionError(
            "Session::Create: SessionOptions.cluster is set, but this binary "
            "has no cluster support; link //distributed:server into it");
      }
      std::vector<Device*> devices;
      for (const auto& d : devices_) devices.push_back(d.get());
      absl::StatusOr<std::unique_ptr<internal::ClusterDriver>> driver =
          factory(options_, devices);
      if (!driver.ok()) return driver.status();
      driver_ = *std::move(driver);
      rendezvous_ = driver_->MakeRendezvous();
    } else if (options_.rendezvous_factory) {
      rendezvous_ = options_.rendezvous_factory();
      if (rendezvous_ == nullptr) {
        return absl::InvalidArgumentError(
            "Session::Create: SessionOptions.rendezvous_factory returned a "
            "null Rendezvous");
      }
    } else {
      rendezvous_ = std::make_unique<LocalRendezvous>();
    }
    env_.rendezvous = rendezvous_.get();
    env_.tracker = &tracker_;
    env_.max_allocation_bytes = options_.max_allocation_bytes > 0
                                    ? options_.max_allocation_bytes
                                    : PhysicalMemoryBytes();
    for (const auto& d : devices_) env_.devices.push_back(d.get());
    return absl::OkStatus();
  }

  absl::Status CheckTensor(const Tensor& t, std::string_view role, int index,
                           std::source_location where) const;
  absl::StatusOr<RunRequest> Validate(const Feeds& feeds,
                                      const std::vector<Tensor>& fetches,
                                      const std::vector<Tensor>& targets,
                                      std::source_location where) const;
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> Plan(
      const std::vector<Tensor>& feeds, const std::vector<Tensor>& fetches,
      const std::vector<Tensor>& targets, std::source_location where);
  // Validates, compiles (or finds) the plan and starts the run; `done`
  // gets every error. `caller_runs_inline` as in ExecuteOptions.
  void Start(const Feeds& feeds, const std::vector<Tensor>& fetches,
             const std::vector<Tensor>& targets, const RunOptions& options,
             RunMetadata* metadata, bool caller_runs_inline,
             std::source_location where, ExecuteDone done);
  // Calls `done(status)` from a device thread.
  void FailAsync(absl::Status status, ExecuteDone done) {
    devices_[0]->Schedule([done = std::move(done), status]() mutable {
      std::move(done)(status);
    });
  }

  const Graph graph_;
  const SessionOptions options_;
  const std::source_location created_at_;
  std::vector<std::unique_ptr<Device>> devices_;
  // Before tracker_: destroyed after ~Impl has waited for every run.
  std::unique_ptr<Rendezvous> rendezvous_;
  RunTracker tracker_;  // ~Impl waits until no run is in flight.
  // With SessionOptions::cluster. After rendezvous_: destroyed before it,
  // waiting for its calls in flight, which may still use the rendezvous.
  std::unique_ptr<internal::ClusterDriver> driver_;
  ExecutorEnv env_;
  // A cached plan and whether a run used it since the last eviction (set
  // under the reader lock, hence atomic; new plans start unused).
  struct CachedPlan {
    explicit CachedPlan(std::shared_ptr<const CompiledPlan> p)
        : plan(std::move(p)) {}
    const std::shared_ptr<const CompiledPlan> plan;
    std::atomic<bool> used{false};
  };
  // Makes room for one more plan when the cache is full: drops a plan not
  // used since the last eviction (any plan if all were), then marks every
  // remaining plan unused. "Not recently used": a plan compiled for a
  // one-off signature goes before one that runs keep using.
  void EvictOnePlan() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::node_hash_map<std::vector<int32_t>, CachedPlan> plans_
      ABSL_GUARDED_BY(mu_);
};

void Session::Impl::EvictOnePlan() {
  auto victim = plans_.begin();
  for (auto it = plans_.begin(); it != plans_.end(); ++it) {
    if (!it->second.used.load(std::memory_order_relaxed)) {
      victim = it;
      break;
    }
  }
  plans_.erase(victim);
  for (auto& [key, cached] : plans_) {
    cached.used.store(false, std::memory_order_relaxed);
  }
}

absl::Status Session::Impl::CheckTensor(const Tensor& t, std::string_view role,
                                        int index,
                                        std::source_location where) const {
  if (t.belongs_to(graph_)) return absl::OkStatus();
  return CheckTensorInGraph(
      t, index,
      GraphUse{.user = "Session::Run",
               .role = std::string(role),
               .graph = &graph_,
               .site = SourceSite::From(where),
               .graph_reason =
                   absl::StrCat(Quoted(graph_.name()),
                                " is the graph of the Session created at ",
                                SourceSite::From(created_at_).ToString()),
               .fix = ""});
}

absl::StatusOr<RunRequest> Session::Impl::Validate(
    const Feeds& feeds, const std::vector<Tensor>& fetches,
    const std::vector<Tensor>& targets, std::source_location where) const {
  RunRequest req;
  req.fed.reserve(feeds.size());
  req.values.reserve(feeds.size());
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
          ErrorKind::kFeed, n, graph_);
    };
    if (!v.valid()) return feed_error("the fed NDArray is empty");
    if (!v.Matches(t.dtype(), t.shape())) {
      return feed_error(
          absl::StrCat("fed ", DTypeName(v.dtype()), v.shape().DebugString(),
                       " but ", Quoted(t.name()), " is ", DTypeName(t.dtype()),
                       t.shape().DebugString()));
    }
    for (size_t j = 0; j < i; ++j) {
      if (req.fed[j].node() == t.node() && req.fed[j].index() == t.index()) {
        return feed_error(absl::StrCat("the same tensor is also feed ", j));
      }
    }
    req.fed.push_back(t);
    req.values.push_back(v);
  }
  for (size_t i = 0; i < fetches.size(); ++i) {
    if (absl::Status s = CheckTensor(fetches[i], "fetch", i, where); !s.ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (absl::Status s = CheckTensor(targets[i], "target", i, where); !s.ok()) {
      return s;
    }
  }
  req.fetches = fetches;
  req.targets = targets;
  return req;
}

absl::StatusOr<std::shared_ptr<const CompiledPlan>> Session::Impl::Plan(
    const std::vector<Tensor>& feeds, const std::vector<Tensor>& fetches,
    const std::vector<Tensor>& targets, std::source_location where) {
  std::vector<int32_t> key;
  key.reserve(2 * (feeds.size() + fetches.size() + targets.size()) + 2);
  auto add = [&](const std::vector<Tensor>& list,
                 std::string_view role) -> absl::Status {
    for (size_t i = 0; i < list.size(); ++i) {
      if (absl::Status s = CheckTensor(list[i], role, i, where); !s.ok()) {
        return s;
      }
      key.push_back(list[i].node()->id());
      key.push_back(list[i].index());
    }
    key.push_back(-1);
    return absl::OkStatus();
  };
  if (absl::Status s = add(feeds, "feed"); !s.ok()) return s;
  if (absl::Status s = add(fetches, "fetch"); !s.ok()) return s;
  if (absl::Status s = add(targets, "target"); !s.ok()) return s;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = plans_.find(key);
    if (it != plans_.end()) {
      std::atomic<bool>& used = it->second.used;
      // Read first: a plan in use stays a read-shared cache line.
      if (!used.load(std::memory_order_relaxed)) {
        used.store(true, std::memory_order_relaxed);
      }
      return it->second.plan;
    }
  }
  // Graphs are append-only and nodes immutable, so a plan depends only on
  // the fetches' ancestors, which never change: a cached plan stays valid as
  // the graph grows, and new fetches simply compile a new plan.
  const std::vector<std::string> devices =
      driver_ != nullptr ? WithTaskDevices(graph_, options_.devices)
                         : options_.devices;
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      CompilePlan(graph_, feeds, fetches, targets, devices);
  if (!plan.ok()) return plan.status();
  if ((*plan)->has_remote_partitions) {
    if (driver_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the plan places nodes on another task's device (",
                       (*plan)->partitioned.partitions.back().device,
                       ") but SessionOptions.cluster is not set"));
    }
    absl::StatusOr<std::shared_ptr<internal::RemotePlan>> remote =
        driver_->Prepare(**plan, feeds, fetches, targets, devices);
    if (!remote.ok()) return remote.status();
    // Not shared yet: this thread compiled it.
    std::const_pointer_cast<CompiledPlan>(*plan)->remote = *std::move(remote);
  }
  absl::MutexLock lock(&mu_);
  if (auto it = plans_.find(key); it != plans_.end()) {
    return it->second.plan;  // Another run compiled it meanwhile.
  }
  while (plans_.size() >= static_cast<size_t>(options_.max_cached_plans)) {
    EvictOnePlan();
  }
  return plans_.try_emplace(std::move(key), *std::move(plan))
      .first->second.plan;
}

void Session::Impl::Start(const Feeds& feeds,
                          const std::vector<Tensor>& fetches,
                          const std::vector<Tensor>& targets,
                          const RunOptions& options, RunMetadata* metadata,
                          bool caller_runs_inline, std::source_location where,
                          ExecuteDone done) {
  // The deadline covers the whole call, plan compilation included.
  ExecuteOptions exec;
  if (options.timeout != absl::InfiniteDuration()) {
    exec.deadline = absl::Now() + options.timeout;
  }
  absl::StatusOr<RunRequest> req = Validate(feeds, fetches, targets, where);
  if (!req.ok()) return FailAsync(req.status(), std::move(done));
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      Plan(req->fed, req->fetches, req->targets, where);
  if (!plan.ok()) return FailAsync(plan.status(), std::move(done));
  exec.collect_stats = metadata != nullptr;
  exec.trace = options.trace;
  exec.cancellation = options.cancellation;
  // Not with a deadline or a cancellation: a slow step on the calling
  // thread could not be abandoned on time.
  exec.caller_runs_inline = caller_runs_inline &&
                            exec.deadline == absl::InfiniteFuture() &&
                            options.cancellation == nullptr;
  if ((*plan)->has_remote_partitions) {
    std::shared_ptr<const CompiledPlan> local_plan = *plan;
    const std::vector<NDArray> feed_values = req->values;  // Shared buffers.
    // A task's error may end the run while the local partitions still
    // run, after the caller's RunMetadata is gone: they fill a copy, which
    // a successful run (every part finished) hands to the caller.
    std::shared_ptr<RunMetadata> local_metadata =
        metadata != nullptr ? std::make_shared<RunMetadata>() : nullptr;
    if (metadata != nullptr) {
      done = [metadata, local_metadata, done = std::move(done)](
                 absl::StatusOr<std::vector<NDArray>> r) mutable {
        if (r.ok()) *metadata = *local_metadata;
        std::move(done)(std::move(r));
      };
    }
    driver_->Run(
        *std::move(plan), feed_values, exec.deadline, exec.caller_runs_inline,
        [this, local_plan = std::move(local_plan), exec,
         values = std::move(req->values),
         local_metadata](int64_t step_id, ExecuteDone local_done) mutable {
          exec.step_id = step_id;
          RunMetadata* md = local_metadata.get();
          ExecutePlanAsync(std::move(local_plan), env_, std::move(values), exec,
                           md,
                           [local_metadata = std::move(local_metadata),
                            local_done = std::move(local_done)](
                               absl::StatusOr<std::vector<NDArray>> r) mutable {
                             std::move(local_done)(std::move(r));
                           });
        },
        std::move(done));
    return;
  }
  ExecutePlanAsync(*std::move(plan), env_, std::move(req->values), exec,
                   metadata, std::move(done));
}

void internal::SetClusterDriverFactory(ClusterDriverFactory factory) {
  DriverFactorySlot& slot = DriverFactory();
  absl::MutexLock lock(&slot.mu);
  slot.factory = std::move(factory);
}

// ------------------------------------------------------ PreparedRun --

absl::StatusOr<std::unique_ptr<internal::PreparedRun>>
internal::PreparedRun::Create(Session& session, std::vector<Tensor> feeds,
                              std::vector<Tensor> fetches) {
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      session.impl_->Plan(feeds, fetches, {}, std::source_location::current());
  if (!plan.ok()) return plan.status();
  return std::unique_ptr<PreparedRun>(
      new PreparedRun(session, *std::move(plan)));
}

void internal::PreparedRun::Run(std::vector<NDArray> values,
                                absl::Time deadline, Done done) const {
  ExecuteOptions exec;
  exec.deadline = deadline;
  exec.run_on_calling_thread = true;
  ExecutePlanAsync(plan_, session_.impl_->env_, std::move(values), exec,
                   /*metadata=*/nullptr, std::move(done));
}

// ------------------------------------------------------------ Session --

absl::StatusOr<std::unique_ptr<Session>> Session::Create(
    Graph graph, SessionOptions options, std::source_location where) {
  if (graph.is_null()) {
    return absl::InvalidArgumentError(internal::NullHandleMessage(
        absl::StrCat("Session::Create at ", SourceSite::From(where).ToString(),
                     ": the graph is"),
        "Graph"));
  }
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  auto impl =
      std::make_unique<Impl>(std::move(graph), std::move(options), where);
  if (absl::Status s = impl->CreateDevices(); !s.ok()) return s;
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

const Graph& Session::graph() const { return impl_->graph_; }
const SessionOptions& Session::options() const { return impl_->options_; }

int Session::num_cached_plans() const {
  absl::MutexLock lock(&impl_->mu_);
  return static_cast<int>(impl_->plans_.size());
}

std::vector<DeviceMemoryStats> Session::memory_stats() const {
  std::vector<DeviceMemoryStats> stats;
  stats.reserve(impl_->devices_.size());
  for (const auto& d : impl_->devices_) stats.push_back(d->memory_stats());
  return stats;
}

void Session::ReleaseIdleMemory() {
  for (const auto& d : impl_->devices_) d->ReleaseIdleMemory();
}

absl::StatusOr<std::vector<NDArray>> Session::Run(
    const Feeds& feeds, const std::vector<Tensor>& fetches,
    const RunOptions& options, RunMetadata* metadata,
    std::source_location where) {
  return Run(feeds, fetches, {}, options, metadata, where);
}

absl::StatusOr<std::vector<NDArray>> Session::Run(
    const Feeds& feeds, const std::vector<Tensor>& fetches,
    const std::vector<Tensor>& targets, const RunOptions& options,
    RunMetadata* metadata, std::source_location where) {
  absl::StatusOr<std::vector<NDArray>> result;
  absl::Notification finished;
  impl_->Start(feeds, fetches, targets, options, metadata,
               /*caller_runs_inline=*/true, where,
               [&](absl::StatusOr<std::vector<NDArray>> r) {
                 result = std::move(r);
                 finished.Notify();
               });
  finished.WaitForNotification();
  return result;
}

void Session::RunAsync(Feeds feeds, std::vector<Tensor> fetches,
                       RunOptions options, DoneCallback done,
                       std::source_location where) {
  RunAsync(std::move(feeds), std::move(fetches), {}, std::move(options),
           std::move(done), where);
}

void Session::RunAsync(Feeds feeds, std::vector<Tensor> fetches,
                       std::vector<Tensor> targets, RunOptions options,
                       DoneCallback done, std::source_location where) {
  impl_->Start(
      feeds, fetches, targets, options, /*metadata=*/nullptr,
      /*caller_runs_inline=*/false, where,
      [done = std::move(done)](absl::StatusOr<std::vector<NDArray>> r) mutable {
        if (done) std::move(done)(std::move(r));
      });
}

absl::StatusOr<PlanSummary> Session::GetPlan(const std::vector<Tensor>& feeds,
                                             const std::vector<Tensor>& fetches,
                                             const std::vector<Tensor>& targets,
                                             std::source_location where) {
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan =
      impl_->Plan(feeds, fetches, targets, where);
  if (!plan.ok()) return plan.status();
  const CompiledPlan& p = **plan;
  PlanSummary s;
  s.num_partitions = static_cast<int>(p.partitioned.partitions.size());
  s.num_transfers = static_cast<int>(p.partitioned.transfers.size());
  s.num_nodes = p.partitioned.num_nodes();
  for (const Partition& part : p.partitioned.partitions) {
    s.partition_devices.push_back(part.device);
  }
  s.kernels = p.kernel_labels;
  s.dump = p.dump;
  s.dot = p.partitioned.ToDot();
  return s;
}

}  // namespace weft
