// The client side of a cluster: internal::ClusterDriver over the gRPC
// island. Per plan it registers each task's partitions (once per task
// incarnation); per step it starts RunStep on every task with the step's
// deadline, pushes the values the local partitions send to tasks, lands
// the values tasks send back in the local rendezvous, and ends the step on
// every task. Installed as the Session's driver factory at static
// initialization (this library is alwayslink).
#include "runtime/cluster_driver.h"

#include <map>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "distributed/transport.h"
#include "distributed/wire.h"
#include "graph/device_kind.h"
#include "graph/graph_io.h"
#include "runtime/device.h"
#include "runtime/executor.h"
#include "runtime/session.h"

namespace weft {
namespace {

using distributed_internal::FromRpc;
using distributed_internal::ToRpc;

// How long a registration may take when the run has no deadline.
constexpr absl::Duration kRegisterTimeout = absl::Seconds(30);

// The status `s` from task `task` at `address` in `step`, with the task
// named first; transport failures say so.
absl::Status TaskError(const absl::Status& s, const std::string& task,
                       const std::string& address, int64_t step,
                       bool transport) {
  absl::Status out(s.code(),
                   absl::StrCat("task ", task, " at ", address, ", step ", step,
                                ": ", transport ? "the call failed (" : "",
                                s.message(), transport ? ")" : ""));
  s.ForEachPayload([&](std::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

// One task of a plan and its registration.
struct PlanTask {
  std::string task;     // "/job:worker/task:0"
  std::string address;  // "127.0.0.1:5000"
  transport::WorkerClient* client = nullptr;
  absl::Mutex mu;
  bool registered ABSL_GUARDED_BY(mu) = false;
  uint64_t handle ABSL_GUARDED_BY(mu) = 0;
  uint64_t incarnation ABSL_GUARDED_BY(mu) = 0;
};

// The driver's clients, one per task address. A plan's registrations are
// dropped through it when the plan is, unless the driver is closing (then
// the tasks drop them with their server, or keep them until restart).
struct ClientTable {
  absl::Mutex mu;
  bool closed ABSL_GUARDED_BY(mu) = false;
  std::map<std::string, std::unique_ptr<transport::WorkerClient>> clients
      ABSL_GUARDED_BY(mu);
};

class GrpcRemotePlan : public internal::RemotePlan {
 public:
  explicit GrpcRemotePlan(std::shared_ptr<ClientTable> clients)
      : clients_(std::move(clients)) {}
  ~GrpcRemotePlan() override {
    absl::MutexLock table_lock(&clients_->mu);
    if (clients_->closed) return;
    for (auto& t : tasks) {
      absl::MutexLock lock(&t->mu);
      if (t->registered) t->client->Deregister(t->handle, t->incarnation);
    }
  }
  transport::RegisterRequest request;  // Without `task`.
  std::vector<std::unique_ptr<PlanTask>> tasks;
  // Fed values a task's partition receives straight from the client's:
  // they may travel with the task's RunStep call instead of a push.
  struct FedTransfer {
    int feed = 0;  // Index into the step's feed values.
    std::string key;
    int task = 0;  // Index into `tasks`.
  };
  std::vector<FedTransfer> fed_transfers;

 private:
  const std::shared_ptr<ClientTable> clients_;
};

struct DriverState;

// One step in flight.
class StepRun {
 public:
  StepRun(std::shared_ptr<DriverState> state, int64_t step, absl::Time deadline,
          ExecuteDone done, int parts)
      : state_(std::move(state)),
        step_(step),
        deadline_(deadline),
        done_(std::move(done)),
        pending_(parts) {}

  int64_t step() const { return step_; }
  absl::Time deadline() const { return deadline_; }

  // Records the step's first error and reports it at once; later errors
  // are consequences. Returns true for the first.
  bool Fail(const absl::Status& status) {
    ExecuteDone done;
    std::vector<std::shared_ptr<transport::WorkerClient::Call>> calls;
    {
      absl::MutexLock lock(&mu_);
      if (!first_error_.ok()) return false;
      first_error_ = status;
      done = std::move(done_);
      calls = calls_;
    }
    for (auto& c : calls) c->Cancel();
    AbortLocal(status);  // Wakes the local run's Recvs.
    if (done) std::move(done)(status);
    return true;
  }
  // One part (the local run, a task) finished well. True when it was the
  // last: the caller ends the step.
  bool PartDone(std::optional<std::vector<NDArray>> values) {
    ExecuteDone done;
    std::vector<NDArray> out;
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      if (values.has_value()) values_ = std::move(*values);
      last = --pending_ == 0;
      if (last && first_error_.ok()) {
        done = std::move(done_);
        out = std::move(values_);
      }
    }
    if (done) std::move(done)(std::move(out));
    return last;
  }
  // A part failed: Fail, then count it.
  bool PartFailed(const absl::Status& status) {
    Fail(status);
    absl::MutexLock lock(&mu_);
    return --pending_ == 0;
  }
  void AddCall(std::shared_ptr<transport::WorkerClient::Call> call) {
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      cancel = !first_error_.ok();
      calls_.push_back(call);
    }
    if (cancel) call->Cancel();
  }
  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

  // Set while the local run may still read the rendezvous for this step.
  std::atomic<bool> ended{false};
  std::shared_ptr<GrpcRemotePlan> plan;
  // Per task of the plan: the fed values its RunStep call carries; and the
  // keys of all of them (their local Sends are then no-ops). Written before
  // the step starts, read-only after.
  std::vector<std::vector<transport::OutTensor>> inline_tensors;
  absl::flat_hash_set<std::string> inlined;

 private:
  void AbortLocal(const absl::Status& status);

  const std::shared_ptr<DriverState> state_;
  const int64_t step_;
  const absl::Time deadline_;
  absl::Mutex mu_;
  ExecuteDone done_ ABSL_GUARDED_BY(mu_);
  int pending_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  std::vector<NDArray> values_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<transport::WorkerClient::Call>> calls_
      ABSL_GUARDED_BY(mu_);
};

// The steps in flight and the local rendezvous they share.
struct DriverState {
  LocalRendezvous local;
  absl::Mutex mu;
  absl::flat_hash_map<int64_t, std::shared_ptr<StepRun>> steps
      ABSL_GUARDED_BY(mu);
  int64_t max_bytes = 0;
  // The caching allocators of the session's own devices, by name (fixed
  // once the driver is made): values from tasks arrive in their
  // destination device's, like kernel outputs (docs/distributed.md,
  // "Memory").
  distributed_internal::AllocatorsByDevice allocators;

  std::shared_ptr<StepRun> Find(int64_t step) {
    absl::MutexLock lock(&mu);
    auto it = steps.find(step);
    return it == steps.end() ? nullptr : it->second;
  }
};

void StepRun::AbortLocal(const absl::Status& status) {
  state_->local.AbortStep(step_, status);
}

// The session's rendezvous: a value for a task's partition is pushed to
// the task; everything else is local (values from tasks arrive on their
// RunStep streams and are delivered into `local`).
class ClientRendezvous : public Rendezvous {
 public:
  explicit ClientRendezvous(std::shared_ptr<DriverState> state)
      : state_(std::move(state)) {}

  absl::Status Send(int64_t step, std::string_view key,
                    NDArray value) override {
    const auto route = distributed_internal::ParseTransferKey(key);
    const std::string_view dst =
        route.has_value() ? DeviceTaskOf(route->dst) : std::string_view();
    if (dst.empty()) return state_->local.Send(step, key, std::move(value));
    std::shared_ptr<StepRun> run = state_->Find(step);
    if (run == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("step ", step, " is not running"));
    }
    if (run->inlined.contains(key)) return absl::OkStatus();  // Sent already.
    PlanTask* task = nullptr;
    for (auto& t : run->plan->tasks) {
      if (t->task == dst) task = t.get();
    }
    if (task == nullptr) {
      return absl::InternalError(absl::StrCat(
          "transfer '", key, "' names task ", dst, ", which the plan lacks"));
    }
    task->client->PushTensor(
        step,
        distributed_internal::ToOutTensor(std::string(key), std::move(value)),
        distributed_internal::ToUnixNanosOrMax(run->deadline()),
        [run, task, key = std::string(key)](transport::RpcStatus s) {
          if (s.ok()) return;
          const absl::Status status = FromRpc(s);
          run->Fail(TaskError(status, task->task, task->address, run->step(),
                              /*transport=*/true));
        });
    return absl::OkStatus();
  }
  void RecvAsync(int64_t step, std::string_view key,
                 RecvCallback done) override {
    state_->local.RecvAsync(step, key, std::move(done));
  }
  void AbortStep(int64_t step, absl::Status status) override {
    // The local run failed (a kernel, its deadline, its caller's Cancel):
    // the tasks' work is cancelled too.
    if (std::shared_ptr<StepRun> run = state_->Find(step)) run->Fail(status);
    state_->local.AbortStep(step, std::move(status));
  }
  void EndStep(int64_t step) override {
    if (std::shared_ptr<StepRun> run = state_->Find(step)) {
      run->ended.store(true);
    }
    state_->local.EndStep(step);
  }

 private:
  std::shared_ptr<DriverState> state_;
};

class GrpcClusterDriver : public internal::ClusterDriver {
 public:
  GrpcClusterDriver(const SessionOptions& options,
                    const std::vector<Device*>& devices,
                    transport::TlsFiles tls)
      : cluster_(*options.cluster), state_(std::make_shared<DriverState>()) {
    config_.tls = std::move(tls);
    for (Device* d : devices) {
      if (BufferAllocator* a = d->allocator())
        state_->allocators[d->name()] = a;
    }
    // As the Session's own limit: 0 is the machine's memory.
    state_->max_bytes = options.max_allocation_bytes > 0
                            ? options.max_allocation_bytes
                            : PhysicalMemoryBytes();
  }

  ~GrpcClusterDriver() override {
    // Cancel the steps in flight and wait until each has ended (its calls
    // return quickly once cancelled); then close the client table and
    // destroy the clients, which joins their threads.
    {
      std::vector<std::shared_ptr<StepRun>> runs;
      {
        absl::MutexLock lock(&state_->mu);
        for (auto& [step, run] : state_->steps) runs.push_back(run);
      }
      for (auto& run : runs) {
        run->Fail(absl::CancelledError("the Session is being destroyed"));
      }
    }
    {
      absl::MutexLock lock(&state_->mu);
      state_->mu.Await(absl::Condition(
          +[](DriverState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
            return s->steps.empty();
          },
          state_.get()));
    }
    std::map<std::string, std::unique_ptr<transport::WorkerClient>> clients;
    {
      absl::MutexLock lock(&clients_->mu);
      clients_->closed = true;
      clients.swap(clients_->clients);
    }
    clients.clear();
  }

  std::unique_ptr<Rendezvous> MakeRendezvous() override {
    return std::make_unique<ClientRendezvous>(state_);
  }

  absl::StatusOr<std::shared_ptr<internal::RemotePlan>> Prepare(
      const CompiledPlan& plan, absl::Span<const Tensor> feeds,
      absl::Span<const Tensor> fetches, absl::Span<const Tensor> targets,
      const std::vector<std::string>& devices) override;

  void Run(std::shared_ptr<const CompiledPlan> plan,
           const std::vector<NDArray>& feeds, absl::Time deadline,
           bool caller_waits, StartLocal start_local,
           ExecuteDone done) override;

 private:
  absl::StatusOr<transport::WorkerClient*> Client(const std::string& address);
  // Registers `task`'s partitions unless they are; false on failure.
  absl::Status EnsureRegistered(const GrpcRemotePlan& plan, PlanTask& task,
                                absl::Time deadline, int64_t step, bool again);
  // Starts the task's RunStep; with `read_here`, the returned call's
  // stream is read by whoever calls its ReadHere.
  std::shared_ptr<transport::WorkerClient::Call> StartTask(
      const std::shared_ptr<StepRun>& run, size_t task_index, bool retried,
      bool read_here);
  // Ends the step on every task and here, once all its parts are done.
  void EndStep(const std::shared_ptr<StepRun>& run);

  const ClusterSpec cluster_;
  transport::ChannelConfig config_;
  std::shared_ptr<DriverState> state_;
  const std::shared_ptr<ClientTable> clients_ = std::make_shared<ClientTable>();
};

absl::StatusOr<transport::WorkerClient*> GrpcClusterDriver::Client(
    const std::string& address) {
  absl::MutexLock lock(&clients_->mu);
  std::unique_ptr<transport::WorkerClient>& c = clients_->clients[address];
  if (c == nullptr) {
    transport::RpcStatus s =
        transport::WorkerClient::Create(address, config_, &c);
    if (!s.ok()) return FromRpc(s);
  }
  return c.get();
}

absl::StatusOr<std::shared_ptr<internal::RemotePlan>>
GrpcClusterDriver::Prepare(const CompiledPlan& plan,
                           absl::Span<const Tensor> feeds,
                           absl::Span<const Tensor> fetches,
                           absl::Span<const Tensor> targets,
                           const std::vector<std::string>& devices) {
  auto remote = std::make_shared<GrpcRemotePlan>(clients_);
  std::set<std::string> tasks;
  for (size_t p = 0; p < plan.partitioned.partitions.size(); ++p) {
    if (!plan.runs_here[p]) {
      tasks.insert(
          std::string(DeviceTaskOf(plan.partitioned.partitions[p].device)));
    }
  }
  for (const std::string& name : tasks) {
    const std::optional<TaskName> parsed = ParseTaskName(name);
    absl::StatusOr<std::string> address =
        parsed.has_value() ? cluster_.TaskAddress(parsed->job, parsed->task)
                           : absl::InvalidArgumentError("malformed task");
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the plan places nodes on task ", name, ", but ",
                       address.status().message(),
                       "; add the task to "
                       "SessionOptions.cluster or place the nodes elsewhere"));
    }
    absl::StatusOr<transport::WorkerClient*> client = Client(*address);
    if (!client.ok()) return client.status();
    auto t = std::make_unique<PlanTask>();
    t->task = name;
    t->address = *address;
    t->client = *client;
    remote->tasks.push_back(std::move(t));
  }
  absl::StatusOr<std::string> graph_def =
      SerializeGraph(plan.partitioned.graph, GraphFileFormat::kBinary);
  if (!graph_def.ok()) return graph_def.status();
  transport::RegisterRequest& r = remote->request;
  r.graph_def = *std::move(graph_def);
  for (const Tensor& t : feeds) r.feeds.push_back(t.name());
  for (const Tensor& t : fetches) r.fetches.push_back(t.name());
  for (const Tensor& t : targets) r.targets.push_back(t.name());
  r.devices = devices;
  r.cluster = cluster_.jobs();
  // Transfers of fed values from the client's partition to a task's.
  const int io = plan.partitioned.io_partition;
  for (const Transfer& t : plan.partitioned.transfers) {
    if (t.src_partition != io || t.slot < 0) continue;
    int feed = -1;
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (feeds[i].node() == t.src && feeds[i].index() == t.slot) {
        feed = static_cast<int>(i);
      }
    }
    const std::string_view dst_task =
        DeviceTaskOf(plan.partitioned.partitions[t.dst_partition].device);
    for (size_t k = 0; feed >= 0 && k < remote->tasks.size(); ++k) {
      if (remote->tasks[k]->task == dst_task) {
        remote->fed_transfers.push_back({feed, t.key, static_cast<int>(k)});
      }
    }
  }
  return std::shared_ptr<internal::RemotePlan>(std::move(remote));
}

absl::Status GrpcClusterDriver::EnsureRegistered(const GrpcRemotePlan& plan,
                                                 PlanTask& task,
                                                 absl::Time deadline,
                                                 int64_t step, bool again) {
  absl::MutexLock lock(&task.mu);
  if (task.registered && !again) return absl::OkStatus();
  transport::RegisterRequest r = plan.request;
  r.task = task.task;
  transport::RegisterResponse resp;
  const absl::Time register_deadline =
      std::min(deadline, absl::Now() + kRegisterTimeout);
  transport::RpcStatus s = task.client->Register(
      r, distributed_internal::ToUnixNanosOrMax(register_deadline), &resp);
  if (!s.ok()) {
    task.registered = false;
    // An RPC failure has no payloads; a refused registration keeps its own.
    return TaskError(
        FromRpc(s), task.task, task.address, step,
        s.payloads.empty() && resp.handle == 0 && resp.incarnation == 0);
  }
  task.registered = true;
  task.handle = resp.handle;
  task.incarnation = resp.incarnation;
  return absl::OkStatus();
}

std::shared_ptr<transport::WorkerClient::Call> GrpcClusterDriver::StartTask(
    const std::shared_ptr<StepRun>& run, size_t task_index, bool retried,
    bool read_here) {
  PlanTask& task = *run->plan->tasks[task_index];
  transport::RunStepRequest req;
  req.tensors = run->inline_tensors[task_index];
  {
    absl::MutexLock lock(&task.mu);
    req.handle = task.handle;
    req.incarnation = task.incarnation;
  }
  req.step_id = run->step();
  req.deadline_ns = distributed_internal::ToUnixNanosOrMax(run->deadline());
  std::shared_ptr<DriverState> state = state_;
  auto make_sink = [state, run]() {
    return distributed_internal::MakeNDArraySink(
        state->max_bytes, &state->allocators,
        [state, run](const std::string& key, NDArray value) -> absl::Status {
          if (run->ended.load()) return absl::OkStatus();  // Too late.
          return state->local.Send(run->step(), key, std::move(value));
        });
  };
  std::shared_ptr<transport::WorkerClient::Call> call = task.client->RunStep(
      req, make_sink,
      [this, run, &task, task_index, retried](transport::RunStepResult result) {
        if (result.unknown_handle && !retried && run->status().ok()) {
          // The task restarted since it was registered: register again (new
          // incarnation) and run the step there.
          if (absl::Status s = EnsureRegistered(*run->plan, task,
                                                run->deadline(), run->step(),
                                                /*again=*/true);
              !s.ok()) {
            if (run->PartFailed(s)) EndStep(run);
            return;
          }
          StartTask(run, task_index, /*retried=*/true, /*read_here=*/false);
          return;
        }
        if (result.status.ok()) {
          if (run->PartDone(std::nullopt)) EndStep(run);
          return;
        }
        // A status without payloads and a transport code is the call's own
        // failure (the task died, the connection broke, the deadline).
        const bool transport =
            result.status.payloads.empty() &&
            (result.status.code == 14 || result.status.code == 4 ||
             result.status.code == 1);
        absl::Status s = TaskError(FromRpc(result.status), task.task,
                                   task.address, run->step(), transport);
        if (run->PartFailed(s)) EndStep(run);
      },
      read_here);
  run->AddCall(call);
  return call;
}

void GrpcClusterDriver::EndStep(const std::shared_ptr<StepRun>& run) {
  const absl::Status status = run->status();
  // A task ends a step that succeeded by itself (it received every value
  // sent to it); a failed step is ended everywhere, with its error, so
  // what still runs or waits there is aborted and its values freed.
  if (!status.ok()) {
    for (auto& t : run->plan->tasks) {
      t->client->CleanupStep(run->step(), ToRpc(status));
    }
  }
  run->ended.store(true);
  {
    absl::MutexLock lock(&state_->mu);
    state_->steps.erase(run->step());
  }
  state_->local.EndStep(run->step());
}

void GrpcClusterDriver::Run(std::shared_ptr<const CompiledPlan> plan,
                            const std::vector<NDArray>& feeds,
                            absl::Time deadline, bool caller_waits,
                            StartLocal start_local, ExecuteDone done) {
  auto remote = std::static_pointer_cast<GrpcRemotePlan>(plan->remote);
  const int64_t step = distributed_internal::NewClusterStepId();
  auto run =
      std::make_shared<StepRun>(state_, step, deadline, std::move(done),
                                static_cast<int>(remote->tasks.size()) + 1);
  run->plan = remote;
  run->inline_tensors.resize(remote->tasks.size());
  int64_t inline_bytes = 0;
  for (const GrpcRemotePlan::FedTransfer& t : remote->fed_transfers) {
    const NDArray& value = feeds[t.feed];
    const int64_t bytes = static_cast<int64_t>(value.num_bytes());
    if (bytes > transport::kInlineTensorBytes ||
        inline_bytes + bytes > transport::kInlineTotalBytes) {
      continue;  // Pushed in chunks by the local Send.
    }
    inline_bytes += bytes;
    run->inline_tensors[t.task].push_back(
        distributed_internal::ToOutTensor(t.key, value));
    run->inlined.insert(t.key);
  }
  {
    absl::MutexLock lock(&state_->mu);
    state_->steps[step] = run;
  }
  for (auto& task : remote->tasks) {
    absl::Status s = FromRpc(task->client->Connect(
        distributed_internal::ToUnixNanosOrMax(deadline)));
    if (!s.ok()) {
      s = TaskError(s, task->task, task->address, step, /*transport=*/false);
    } else {
      s = EnsureRegistered(*remote, *task, deadline, step, /*again=*/false);
    }
    if (!s.ok()) {
      run->Fail(s);
      // The parts never started count as done.
      for (size_t i = 0; i < remote->tasks.size() + 1; ++i) {
        if (run->PartFailed(s)) EndStep(run);
      }
      return;
    }
  }
  // A caller that would only wait reads the first task's stream itself,
  // after starting the local partitions (no thread hand-off for the
  // step's last message, no wake-up of the caller).
  std::shared_ptr<transport::WorkerClient::Call> read_here;
  for (size_t i = 0; i < remote->tasks.size(); ++i) {
    auto call = StartTask(run, i, /*retried=*/false, caller_waits && i == 0);
    if (caller_waits && i == 0) read_here = std::move(call);
  }
  std::move(start_local)(
      step, [this, run](absl::StatusOr<std::vector<NDArray>> r) {
        const bool last =
            r.ok() ? run->PartDone(*std::move(r)) : run->PartFailed(r.status());
        if (last) EndStep(run);
      });
  if (read_here != nullptr) read_here->ReadHere();
}

const bool kRegistered = [] {
  internal::SetClusterDriverFactory(
      [](const SessionOptions& options, const std::vector<Device*>& devices)
          -> absl::StatusOr<std::unique_ptr<internal::ClusterDriver>> {
        absl::StatusOr<transport::TlsFiles> tls =
            distributed_internal::ToTlsFiles(options.cluster_tls,
                                             "SessionOptions.cluster_tls");
        if (!tls.ok()) return tls.status();
        return std::unique_ptr<internal::ClusterDriver>(
            new GrpcClusterDriver(options, devices, *std::move(tls)));
      });
  return true;
}();

}  // namespace
}  // namespace weft
