// session.h — defines weft::Session, which runs a Graph: it prunes the graph
// to what the fetches and targets need, partitions it over its devices,
// compiles and caches a plan per (feeds, fetches, targets) signature, and
// executes it; plus weft::SessionOptions, weft::RunOptions, weft::Feeds and
// weft::PlanSummary (a read-only view of a compiled plan).
//
//   auto session = *Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
//   absl::StatusOr<std::vector<NDArray>> out =
//       session->Run({{x, batch}}, {probs}, RunOptions{.timeout =
//                                                      absl::Milliseconds(5)});
//   session->RunAsync({{x, batch}}, {probs}, {},
//                     [](absl::StatusOr<std::vector<NDArray>> r) { ... });
//
// No oneTBB or executor header is included here: the executor is private
// to runtime/.
#ifndef WEFT_RUNTIME_SESSION_H_
#define WEFT_RUNTIME_SESSION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"
#include "kernels/cancellation.h"
#include "runtime/cluster_spec.h"
#include "runtime/device.h"
#include "runtime/rendezvous.h"
#include "runtime/run_metadata.h"

namespace weft {

namespace internal {
class PreparedRun;  // runtime/prepared_run.h
}  // namespace internal

struct SessionOptions {
  // Threads per device; 0 = the device kind's default (for cpu, oneTBB's).
  int num_threads = 0;
  // Devices, each "<kind>:<index>" of a registered kind (see device.h).
  std::vector<std::string> devices = {"cpu:0"};
  // Per-device thread counts, overriding num_threads: {{"cpu:1", 1}}.
  std::map<std::string, int> device_threads = {};
  // The largest array one kernel may allocate, in bytes; a larger output is
  // kResourceExhausted naming the node. 0 = the machine's physical memory.
  int64_t max_allocation_bytes = 0;
  // The most compiled plans the session keeps (one per feeds/fetches/
  // targets signature). Past it, compiling a new plan first drops one not
  // used since the last time a plan was dropped (a later run of that
  // signature compiles it again; runs already holding it are unaffected).
  // Bounds a service's memory when its fetch sets vary. At least 1.
  int max_cached_plans = 1024;
  // Makes the Rendezvous through which this session's partitions hand
  // values to each other (every Send/Recv pair of every run), called once by
  // Session::Create; empty = a LocalRendezvous. The seam for partitions that
  // run elsewhere (another process, a remote task) and for instrumenting
  // transfers. Returning null fails Create with kInvalidArgument. The
  // Rendezvous is owned by the session and destroyed after its last run.
  // A std::function (not AnyInvocable) because SessionOptions is copyable.
  std::function<std::unique_ptr<Rendezvous>()> rendezvous_factory = {};
  // The tasks of a cluster (distributed/server.h): nodes placed on
  // "/job:<job>/task:<i>/<device>" run on that task's weft::Server, each
  // step driven from here; feeds and fetches stay in this process. A task
  // that dies, stalls or restarts ends the run within its deadline with
  // kUnavailable (or kDeadlineExceeded) naming the task, its address and
  // the step; a restarted task is used again by the next run. Needs
  // //distributed:server linked in; exclusive with rendezvous_factory.
  std::optional<ClusterSpec> cluster = std::nullopt;
  // TLS for the connections to the cluster's tasks (empty: insecure, for
  // servers listening on loopback).
  ClusterTls cluster_tls = {};
};

struct RunOptions {
  // Past it, the run returns kDeadlineExceeded and is cancelled, whichever
  // thread runs the work.
  absl::Duration timeout = absl::InfiniteDuration();
  // Fill RunMetadata::chrome_trace_json (also collects per-node timings).
  bool trace = false;
  // When not null, the caller's handle to cancel the run from any thread:
  // `cancellation->Cancel(status)` makes the run return at once with
  // `status`'s code (kCancelled unless given another), a message naming
  // RunOptions::cancellation and `status`'s message and payloads; waiting
  // steps (a Dequeue, an Enqueue, a Recv) wake up, and a queue loses
  // nothing. Cancelled before the run starts: no step runs. One manager may
  // serve many runs (all cancelled together). It must outlive the run (Run
  // returns, or RunAsync's `done` is called; the run deregisters itself
  // before that) and any Cancel call on it.
  CancellationManager* cancellation = nullptr;
};

using Feeds = std::vector<std::pair<Tensor, NDArray>>;

// What a compiled plan looks like (Session::GetPlan).
struct PlanSummary {
  int num_partitions = 0;
  int num_transfers = 0;
  int num_nodes = 0;  // Graph nodes in the pruned plan.
  std::vector<std::string> partition_devices;
  // "node:label" for each kernel, in plan order ("h:eigen").
  std::vector<std::string> kernels;
  std::string dump;  // The partitioner's deterministic text dump.
  std::string dot;   // Graphviz DOT of the partitions.
};

// Runs one graph. Create one per graph, share it among request threads.
//
// Thread safety: Run, RunAsync and GetPlan may be called from any number of
// threads at once; compiled plans are immutable and shared, per-run state
// is per call, and the plan cache is the only shared mutable state (a
// reader lock on a hit). Destroying the Session waits for runs still in
// flight, including work that outlived a timed-out Run.
class Session {
 public:
  // Called once with the run's result; may be move-only (like every weft
  // callback, an absl::AnyInvocable).
  using DoneCallback =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<NDArray>>) &&>;

  // kInvalidArgument for a null graph, no devices, a malformed, repeated or
  // unregistered device name, or a negative thread count.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Session>> Create(
      Graph graph, SessionOptions options = {},
      std::source_location where = std::source_location::current());

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the subgraph `fetches` need, with `feeds` substituted, and returns
  // one NDArray per fetch. Errors: a non-ok fetch or feed (its own error); a
  // feed or fetch of another graph (the cross-graph error); a fed value
  // whose dtype or shape contradicts the tensor (kFeed); a repeated feed;
  // an unfed placeholder; a node on a device this session lacks; a missing
  // kernel; a kernel error (naming the node and where it was defined); an
  // output over max_allocation_bytes (kResourceExhausted); kDeadlineExceeded
  // past options.timeout. `metadata`, if not null, gets partition/transfer
  // counts, and per-node and per-partition times.
  [[nodiscard]] absl::StatusOr<std::vector<NDArray>> Run(
      const Feeds& feeds, const std::vector<Tensor>& fetches,
      const RunOptions& options = {}, RunMetadata* metadata = nullptr,
      std::source_location where = std::source_location::current());
  // The same, also running `targets` for their side effects only (an
  // Assign, an Enqueue): their outputs are not returned.
  [[nodiscard]] absl::StatusOr<std::vector<NDArray>> Run(
      const Feeds& feeds, const std::vector<Tensor>& fetches,
      const std::vector<Tensor>& targets, const RunOptions& options = {},
      RunMetadata* metadata = nullptr,
      std::source_location where = std::source_location::current());

  // Starts a run and returns at once; `done` is called exactly once, on a
  // runtime thread, with the fetched values or the error (every error Run
  // reports, including validation errors). Run is built on the same path.
  void RunAsync(Feeds feeds, std::vector<Tensor> fetches, RunOptions options,
                DoneCallback done,
                std::source_location where = std::source_location::current());
  void RunAsync(Feeds feeds, std::vector<Tensor> fetches,
                std::vector<Tensor> targets, RunOptions options,
                DoneCallback done,
                std::source_location where = std::source_location::current());

  // The plan for (fed tensors, fetches, targets), compiling it if needed.
  [[nodiscard]] absl::StatusOr<PlanSummary> GetPlan(
      const std::vector<Tensor>& feeds, const std::vector<Tensor>& fetches,
      const std::vector<Tensor>& targets = {},
      std::source_location where = std::source_location::current());

  const Graph& graph() const;
  const SessionOptions& options() const;
  int num_cached_plans() const;

  // The memory each device of this process keeps for the session's runs,
  // in SessionOptions.devices order (a cluster's tasks keep their own).
  // Between runs a cpu device keeps the blocks its runs need (docs/
  // runtime.md, "Memory"): idle_bytes.
  std::vector<DeviceMemoryStats> memory_stats() const;
  // Frees what the devices keep for reuse, e.g. after a rare large batch;
  // the next runs allocate (and fault in) what they need again. Arrays in
  // use, and those the caller holds, are untouched. Safe during runs.
  void ReleaseIdleMemory();

 private:
  friend class internal::PreparedRun;
  class Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_SESSION_H_
