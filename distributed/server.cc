// weft::Server: the weft.Worker service's handler (registered partitions,
// steps, the task's rendezvous) behind the gRPC island's GrpcServer.
#include "distributed/server.h"

#include <malloc.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <random>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "distributed/transport.h"
#include "distributed/wire.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/graph_io.h"
#include "graph/graph_io_internal.h"
#include "kernels/cancellation.h"
#include "runtime/device.h"
#include "runtime/executor.h"
#include "runtime/plan.h"
#include "runtime/rendezvous.h"

namespace weft {
namespace {

using distributed_internal::FromRpc;
using distributed_internal::ToRpc;
using internal::Quoted;

// How many ended steps a server remembers, so that a tensor pushed after
// its step ended is refused instead of starting a step nobody ends.
constexpr size_t kEndedStepsRemembered = 1 << 16;

// A partition set registered by a client: its graph, the plan compiled for
// this task, and the plan's devices as this server's Device objects.
struct RegisteredGraph {
  Graph graph;
  std::shared_ptr<const CompiledPlan> plan;
  std::vector<Device*> devices;  // Per plan device; null: another task's.
  std::string task;              // "/job:worker/task:0"
  std::map<std::string, std::vector<std::string>> cluster;
};

// A step running here.
struct ActiveStep {
  std::shared_ptr<const RegisteredGraph> graph;
  std::function<void(transport::OutTensor)> to_client;
  absl::Time deadline;
  CancellationManager cancellation;
};

}  // namespace

class Server::Impl : public transport::WorkerHandler {
 public:
  explicit Impl(ServerOptions options) : options_(std::move(options)) {
    std::random_device rd;
    incarnation_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    if (incarnation_ == 0) incarnation_ = 1;
  }

  ~Impl() override { Shutdown(absl::ZeroDuration()); }

  absl::Status Init();
  void Shutdown(absl::Duration grace);

  // transport::WorkerHandler.
  transport::RpcStatus Register(const transport::RegisterRequest& request,
                                transport::RegisterResponse* response) override;
  void Deregister(uint64_t handle, uint64_t incarnation) override;
  void RunStep(const transport::RunStepRequest& request,
               std::function<void(transport::OutTensor)> to_client,
               std::function<void(transport::RunStepResult)> done) override;
  std::unique_ptr<transport::TensorSink> OpenSink(int64_t step) override;
  void CleanupStep(int64_t step, const transport::RpcStatus& abort) override;

  // The task's rendezvous: values for this task's partitions stay here,
  // values for the client go to the step's RunStep stream, values for
  // another task are pushed to it.
  class Routing : public Rendezvous {
   public:
    explicit Routing(Impl* impl) : impl_(impl) {}
    absl::Status Send(int64_t step, std::string_view key,
                      NDArray value) override {
      return impl_->Route(step, key, std::move(value));
    }
    void RecvAsync(int64_t step, std::string_view key,
                   RecvCallback done) override {
      local.RecvAsync(step, key, std::move(done));
    }
    void AbortStep(int64_t step, absl::Status status) override {
      local.AbortStep(step, std::move(status));
    }
    void EndStep(int64_t step) override { local.EndStep(step); }
    LocalRendezvous local;

   private:
    Impl* const impl_;
  };

  absl::Status Route(int64_t step, std::string_view key, NDArray value);
  // Aborts step `step` here (its run, its pending Recvs) with `status`.
  void AbortLocal(int64_t step, const absl::Status& status);
  transport::WorkerClient* Peer(const std::string& address);
  bool Ended(int64_t step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ended_.contains(step);
  }
  // The step running here, or null.
  std::shared_ptr<ActiveStep> FindStep(int64_t step) {
    absl::MutexLock lock(&mu_);
    auto it = steps_.find(step);
    return it == steps_.end() ? nullptr : it->second;
  }
  // Refuses later pushes to `step` (up to kEndedStepsRemembered steps).
  void RememberEnded(int64_t step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The sweeper's loop: ends the unstarted steps that timed out.
  void SweepUnstarted();

  ServerOptions options_;
  uint64_t incarnation_ = 0;
  int64_t max_bytes_ = 0;
  std::string host_;
  std::vector<std::unique_ptr<Device>> devices_;
  absl::flat_hash_map<std::string, Device*> device_by_name_;
  // Their allocators, where pushed tensors arrive (fixed once created).
  distributed_internal::AllocatorsByDevice allocators_;
  Routing routing_{this};
  RunTracker tracker_;
  std::unique_ptr<transport::GrpcServer> grpc_;

  absl::Mutex mu_;
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<const RegisteredGraph>> graphs_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, std::shared_ptr<ActiveStep>> steps_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int64_t> ended_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> ended_order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<transport::WorkerClient>>
      peers_ ABSL_GUARDED_BY(mu_);

  // Steps that received values before their RunStep came, with the time
  // of the first (options_.unstarted_step_timeout; SweepUnstarted).
  absl::flat_hash_map<int64_t, absl::Time> unstarted_ ABSL_GUARDED_BY(mu_);

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Notification stopped_;
  // Ends the steps in unstarted_ that time out, until stopped_.
  std::thread sweeper_;
};

absl::Status Server::Impl::Init() {
  const size_t colon = options_.listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("Server::Create: listen address ", Quoted(options_.listen),
                     " is not 'host:port' (port 0 = any free port)"));
  }
  host_ = options_.listen.substr(0, colon);
  if (options_.devices.empty()) {
    return absl::InvalidArgumentError(
        "Server::Create: ServerOptions.devices is empty; name at least one, "
        "like 'cpu:0'");
  }
  for (const std::string& name : options_.devices) {
    if (!DeviceTaskOf(name).empty() || name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Server::Create: device ", Quoted(name),
                       " is not a local device name like 'cpu:0'"));
    }
    if (absl::Status s = CheckDeviceName(name); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Server::Create: ", s.message()));
    }
    if (device_by_name_.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Server::Create: device ", Quoted(name), " is listed twice"));
    }
    absl::StatusOr<std::unique_ptr<Device>> d =
        CreateDevice({.name = name, .num_threads = options_.num_threads});
    if (!d.ok()) return d.status();
    device_by_name_[name] = d->get();
    if (BufferAllocator* a = (*d)->allocator()) allocators_[name] = a;
    devices_.push_back(*std::move(d));
  }
  max_bytes_ = options_.max_allocation_bytes > 0 ? options_.max_allocation_bytes
                                                 : PhysicalMemoryBytes();
  transport::ChannelConfig config;
  const int64_t keepalive_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.keepalive));
  config.keepalive_time_ms = static_cast<int>(keepalive_ms);
  config.keepalive_timeout_ms = static_cast<int>(2 * keepalive_ms);
  absl::StatusOr<transport::TlsFiles> tls = distributed_internal::ToTlsFiles(
      options_.tls, "Server::Create: ServerOptions.tls");
  if (!tls.ok()) return tls.status();
  config.tls = *std::move(tls);
  config.tls.require_client_cert = !options_.tls.ca_file.empty();
  transport::RpcStatus s =
      transport::GrpcServer::Start(options_.listen, config, this, &grpc_);
  if (!s.ok()) {
    absl::Status status = FromRpc(s);
    return absl::Status(status.code(),
                        absl::StrCat("Server::Create: ", status.message()));
  }
  sweeper_ = std::thread([this] { SweepUnstarted(); });
  return absl::OkStatus();
}

void Server::Impl::SweepUnstarted() {
  const absl::Duration timeout =
      std::max(options_.unstarted_step_timeout, absl::Milliseconds(1));
  const absl::Duration period =
      std::clamp(timeout / 4, absl::Milliseconds(1), absl::Seconds(1));
  while (!stopped_.WaitForNotificationWithTimeout(period)) {
    std::vector<int64_t> expired;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time cutoff = absl::Now() - timeout;
      for (const auto& [step, first] : unstarted_) {
        if (first < cutoff) expired.push_back(step);
      }
      for (int64_t step : expired) {
        unstarted_.erase(step);
        RememberEnded(step);
      }
    }
    // Their values go; a push still on its way is refused (ended).
    for (int64_t step : expired) routing_.local.EndStep(step);
  }
}

void Server::Impl::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc_ != nullptr) {
    // Returns when every call has ended: a RunStep still running after the
    // grace period is cancelled, which aborts its step here.
    grpc_->Shutdown(std::max<int64_t>(0, absl::ToInt64Milliseconds(grace)));
  }
  {
    // Steps whose RunStep ended without them (none, normally) are aborted.
    absl::MutexLock steps_lock(&mu_);
    for (auto& [step, active] : steps_) {
      active->cancellation.Cancel(
          absl::UnavailableError("the server is shutting down"));
    }
  }
  tracker_.WaitForNone();
  {
    absl::MutexLock steps_lock(&mu_);
    peers_.clear();
  }
  stopped_.Notify();
  if (sweeper_.joinable()) sweeper_.join();
}

transport::RpcStatus Server::Impl::Register(
    const transport::RegisterRequest& request,
    transport::RegisterResponse* response) {
  response->incarnation = incarnation_;
  if (request.incarnation != 0 && request.incarnation != incarnation_) {
    return ToRpc(absl::FailedPreconditionError(
        "the registration is for another incarnation of this task"));
  }
  // The whole graph comes, so resources used only in other processes get
  // stand-ins; the kernel of a node here that uses one refuses it, which
  // fails the registration naming the node.
  absl::StatusOr<Graph> graph = internal::ParseGraphWithStandIns(
      request.graph_def, GraphFileFormat::kBinary,
      absl::StrCat("the graph registered for ", request.task));
  if (!graph.ok()) return ToRpc(graph.status());
  auto lookup = [&](const std::vector<std::string>& names,
                    std::vector<Tensor>& out) -> absl::Status {
    for (const std::string& name : names) {
      absl::StatusOr<Tensor> t = graph->GetTensor(name);
      if (!t.ok()) return t.status();
      out.push_back(*std::move(t));
    }
    return absl::OkStatus();
  };
  std::vector<Tensor> feeds, fetches, targets;
  for (auto [names, out] : {std::pair{&request.feeds, &feeds},
                            std::pair{&request.fetches, &fetches},
                            std::pair{&request.targets, &targets}}) {
    if (absl::Status s = lookup(*names, *out); !s.ok()) return ToRpc(s);
  }
  auto g = std::make_shared<RegisteredGraph>();
  g->task = request.task;
  g->cluster = request.cluster;
  for (const std::string& d : request.devices) {
    if (DeviceTaskOf(d) != request.task) {
      g->devices.push_back(nullptr);
      continue;
    }
    auto it = device_by_name_.find(LocalDeviceOf(d));
    if (it == device_by_name_.end()) {
      return ToRpc(absl::InvalidArgumentError(absl::StrCat(
          "task ", request.task, " has no device ", Quoted(LocalDeviceOf(d)),
          " (its devices: ", absl::StrJoin(options_.devices, ", "),
          "); start its server with that device in --devices")));
    }
    g->devices.push_back(it->second);
  }
  absl::StatusOr<std::shared_ptr<const CompiledPlan>> plan = CompilePlan(
      *graph, feeds, fetches, targets, request.devices, request.task);
  if (!plan.ok()) return ToRpc(plan.status());
  g->graph = *std::move(graph);
  g->plan = *std::move(plan);
  absl::MutexLock lock(&mu_);
  response->handle = next_handle_++;
  graphs_[response->handle] = std::move(g);
  return {};
}

void Server::Impl::Deregister(uint64_t handle, uint64_t incarnation) {
  if (incarnation != incarnation_) return;
  absl::MutexLock lock(&mu_);
  graphs_.erase(handle);
}

void Server::Impl::RunStep(const transport::RunStepRequest& request,
                           std::function<void(transport::OutTensor)> to_client,
                           std::function<void(transport::RunStepResult)> done) {
  auto active = std::make_shared<ActiveStep>();
  active->to_client = std::move(to_client);
  active->deadline =
      distributed_internal::FromUnixNanosOrInfinite(request.deadline_ns);
  transport::RunStepResult result;
  result.incarnation = incarnation_;
  {
    absl::MutexLock lock(&mu_);
    auto it = graphs_.find(request.handle);
    if (request.incarnation != incarnation_ || it == graphs_.end()) {
      result.unknown_handle = true;
      result.status = ToRpc(absl::NotFoundError(
          absl::StrCat("this task (incarnation ", incarnation_,
                       ") has no registered graph ", request.handle)));
      done(std::move(result));
      return;
    }
    active->graph = it->second;
    if (Ended(request.step_id) || steps_.contains(request.step_id)) {
      result.status = ToRpc(absl::FailedPreconditionError(
          absl::StrCat("step ", request.step_id, " already ran on this task")));
      done(std::move(result));
      return;
    }
    steps_[request.step_id] = active;
    unstarted_.erase(request.step_id);
  }
  if (request.deliver_tensors) {
    if (transport::RpcStatus s = request.deliver_tensors(); !s.ok()) {
      {
        absl::MutexLock lock(&mu_);
        steps_.erase(request.step_id);
      }
      result.status = s;
      done(std::move(result));
      return;
    }
  }
  ExecuteOptions exec;
  exec.deadline = active->deadline;
  exec.step_id = request.step_id;
  exec.cancellation = &active->cancellation;
  // This RunStep call's thread would only wait for the step: it runs the
  // first partition itself (a device thread's wake-up less per step).
  exec.run_on_calling_thread = true;
  ExecutorEnv env;
  env.devices = active->graph->devices;
  env.rendezvous = &routing_;
  env.tracker = &tracker_;
  env.max_allocation_bytes = max_bytes_;
  const int64_t step = request.step_id;
  ExecutePlanAsync(active->graph->plan, env, {}, exec, /*metadata=*/nullptr,
                   [this, step, active, result, done = std::move(done)](
                       absl::StatusOr<std::vector<NDArray>> r) mutable {
                     {
                       absl::MutexLock lock(&mu_);
                       steps_.erase(step);
                       // A step that succeeded here received every value sent
                       // to it, so it is over on this task: no CleanupStep
                       // comes for it.
                       if (r.ok()) RememberEnded(step);
                     }
                     result.status = ToRpc(r.status());
                     done(std::move(result));
                   });
}

std::unique_ptr<transport::TensorSink> Server::Impl::OpenSink(int64_t step) {
  return distributed_internal::MakeNDArraySink(
      max_bytes_, &allocators_,
      [this, step](const std::string& key, NDArray value) {
        {
          absl::MutexLock lock(&mu_);
          if (Ended(step)) {
            return absl::FailedPreconditionError(absl::StrCat(
                "tensor '", key, "' arrived after step ", step, " ended"));
          }
          // Before its RunStep: dropped if that never comes.
          if (!steps_.contains(step)) unstarted_.try_emplace(step, absl::Now());
        }
        return routing_.local.Send(step, key, std::move(value));
      });
}

void Server::Impl::AbortLocal(int64_t step, const absl::Status& status) {
  const std::shared_ptr<ActiveStep> active = FindStep(step);
  if (active != nullptr) active->cancellation.Cancel(status);
  routing_.local.AbortStep(step, status);
}

void Server::Impl::RememberEnded(int64_t step) {
  if (ended_.insert(step).second) {
    ended_order_.push_back(step);
    if (ended_order_.size() > kEndedStepsRemembered) {
      ended_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
  }
}

void Server::Impl::CleanupStep(int64_t step,
                               const transport::RpcStatus& abort) {
  if (!abort.ok()) AbortLocal(step, FromRpc(abort));
  {
    absl::MutexLock lock(&mu_);
    RememberEnded(step);
    unstarted_.erase(step);
  }
  // The values nobody received; a run still in flight ends the step again
  // when it finishes.
  routing_.local.EndStep(step);
}

transport::WorkerClient* Server::Impl::Peer(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<transport::WorkerClient>& client = peers_[address];
  if (client == nullptr) {
    // A task pushing to another uses its own TLS files as a client's
    // (checked by Init).
    transport::ChannelConfig config;
    config.tls = *distributed_internal::ToTlsFiles(options_.tls, "");
    if (!transport::WorkerClient::Create(address, config, &client).ok()) {
      return nullptr;
    }
  }
  return client.get();
}

absl::Status Server::Impl::Route(int64_t step, std::string_view key,
                                 NDArray value) {
  const std::optional<distributed_internal::TransferRoute> route =
      distributed_internal::ParseTransferKey(key);
  const std::shared_ptr<ActiveStep> active = FindStep(step);
  const std::string_view dst_task =
      route.has_value() ? DeviceTaskOf(route->dst) : std::string_view();
  if (active == nullptr || !route.has_value() ||
      dst_task == active->graph->task) {
    return routing_.local.Send(step, key, std::move(value));
  }
  if (dst_task.empty()) {  // The client's.
    active->to_client(
        distributed_internal::ToOutTensor(std::string(key), std::move(value)));
    return absl::OkStatus();
  }
  const std::optional<TaskName> task = ParseTaskName(dst_task);
  const auto job = task.has_value() ? active->graph->cluster.find(task->job)
                                    : active->graph->cluster.end();
  if (job == active->graph->cluster.end() ||
      task->task >= static_cast<int>(job->second.size())) {
    return absl::NotFoundError(
        absl::StrCat("transfer '", key, "' goes to task ", dst_task,
                     ", which the step's cluster does not list"));
  }
  const std::string& address = job->second[task->task];
  transport::WorkerClient* peer = Peer(address);
  if (peer == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open a channel to task ", dst_task, " at ",
                     address, " (its TLS files could not be read)"));
  }
  peer->PushTensor(
      step,
      distributed_internal::ToOutTensor(std::string(key), std::move(value)),
      distributed_internal::ToUnixNanosOrMax(active->deadline),
      [this, step, task = std::string(dst_task),
       address](transport::RpcStatus s) {
        if (s.ok()) return;
        const absl::Status status = FromRpc(s);
        AbortLocal(
            step,
            absl::Status(status.code(),
                         absl::StrCat("sending to task ", task, " at ", address,
                                      " failed: ", status.message())));
      });
  return absl::OkStatus();
}

// ------------------------------------------------------------ Server --

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

int Server::port() const {
  return impl_->grpc_ != nullptr ? impl_->grpc_->port() : 0;
}

std::string Server::address() const {
  return absl::StrCat(impl_->host_, ":", port());
}

uint64_t Server::incarnation() const { return impl_->incarnation_; }

void Server::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

void Server::Wait() { impl_->stopped_.WaitForNotification(); }

void ConfigureMallocForServing() {
  // mallopt's thresholds are glibc's; other C libraries keep their own.
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

}  // namespace weft
