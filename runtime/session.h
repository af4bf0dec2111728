// session.h — defines weft::Session, which runs a Graph: it prunes the graph
// to what the fetches need, partitions it over its devices, compiles and
// caches a plan per (feeds, fetches) signature, and executes it on oneTBB;
// plus weft::SessionOptions, weft::RunOptions and weft::Feeds.
#ifndef WEFT_RUNTIME_SESSION_H_
#define WEFT_RUNTIME_SESSION_H_

#include <memory>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"
#include "runtime/executor.h"
#include "runtime/run_metadata.h"

namespace weft {

struct SessionOptions {
  // Threads per device arena; 0 = oneTBB's default.
  int num_threads = 0;
  // Each device is a oneTBB task_arena. Names are "<kind>:<index>".
  std::vector<std::string> devices = {"cpu:0"};
};

struct RunOptions {
  // Past it, Run returns kDeadlineExceeded and cancels the step.
  absl::Duration timeout = absl::InfiniteDuration();
  // Fill RunMetadata::chrome_trace_json (also collects per-node timings).
  bool trace = false;
};

using Feeds = std::vector<std::pair<Tensor, NDArray>>;

// Runs one graph. Create one per graph, share it among request threads.
//
// Thread safety: Run (and DescribePlan) may be called from any number of
// threads at once; compiled plans are immutable and shared, per-run state is
// per call, and the plan cache is the only shared mutable state (a reader
// lock on a hit). Destroying the Session waits for runs still in flight.
class Session {
 public:
  // kInvalidArgument for a null graph, no devices, a malformed or repeated
  // device name, or a negative num_threads.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Session>> Create(
      Graph graph, SessionOptions options = {},
      std::source_location where = std::source_location::current());

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the subgraph `fetches` need, with `feeds` substituted, and returns
  // one NDArray per fetch. Errors: a non-ok fetch or feed (its own error); a
  // feed or fetch of another graph (the cross-graph error); a fed value
  // whose dtype or shape contradicts the tensor ("feed"); a repeated feed;
  // an unfed placeholder; a node on a device this session lacks; a missing
  // kernel; a kernel error (naming the node and where it was defined);
  // kDeadlineExceeded past options.timeout. `metadata`, if not null, gets
  // partition/transfer counts, and per-node and per-partition times.
  [[nodiscard]] absl::StatusOr<std::vector<NDArray>> Run(
      const Feeds& feeds, const std::vector<Tensor>& fetches,
      const RunOptions& options = {}, RunMetadata* metadata = nullptr,
      std::source_location where = std::source_location::current());

  // The partition dump of the plan for (feeds, fetches), compiling it if
  // needed (feeds here are just the fed tensors).
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const CompiledPlan>> GetPlan(
      const std::vector<Tensor>& feeds, const std::vector<Tensor>& fetches,
      std::source_location where = std::source_location::current());

  const Graph& graph() const { return graph_; }
  const SessionOptions& options() const { return options_; }
  int num_cached_plans() const;

 private:
  Session(Graph graph, SessionOptions options, std::source_location where);

  [[nodiscard]] absl::Status CheckTensor(const Tensor& t, std::string_view role,
                                         int index,
                                         std::source_location where) const;

  const Graph graph_;
  const SessionOptions options_;
  const std::source_location created_at_;
  std::unique_ptr<DeviceSet> devices_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::vector<int32_t>, std::shared_ptr<const CompiledPlan>>
      plans_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft

#endif  // WEFT_RUNTIME_SESSION_H_
