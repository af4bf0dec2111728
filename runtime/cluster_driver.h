// cluster_driver.h — defines internal::ClusterDriver, the seam through
// which a Session with SessionOptions::cluster runs the partitions its
// plans place on other tasks, and internal::RemotePlan, the driver's state
// for one compiled plan. runtime/ has no network code: //distributed:server
// installs the driver factory (SetClusterDriverFactory) when it is linked
// in. Internal to weft (runtime/ and distributed/).
#ifndef WEFT_RUNTIME_CLUSTER_DRIVER_H_
#define WEFT_RUNTIME_CLUSTER_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "graph/tensor.h"
#include "runtime/cluster_spec.h"
#include "runtime/executor.h"
#include "runtime/plan.h"
#include "runtime/rendezvous.h"

namespace weft {

class Device;
struct SessionOptions;

namespace internal {

// What a driver keeps per compiled plan (its tasks' registrations).
class RemotePlan {
 public:
  virtual ~RemotePlan() = default;
};

// Runs the remote side of a Session's steps. One per Session.
//
// Thread safety: Prepare and Run may be called concurrently from any
// number of threads. The destructor waits for the driver's work in flight.
class ClusterDriver {
 public:
  virtual ~ClusterDriver() = default;

  // The Rendezvous of the session's runs, which carries transfers to and
  // from tasks. Called once, by Session::Create.
  virtual std::unique_ptr<Rendezvous> MakeRendezvous() = 0;

  // The remote state of a newly compiled plan with remote partitions,
  // compiled over `devices` for (feeds, fetches, targets). Errors: a
  // partition on a task the cluster lacks; a graph that cannot be saved.
  [[nodiscard]] virtual absl::StatusOr<std::shared_ptr<RemotePlan>> Prepare(
      const CompiledPlan& plan, absl::Span<const Tensor> feeds,
      absl::Span<const Tensor> fetches, absl::Span<const Tensor> targets,
      const std::vector<std::string>& devices) = 0;

  // Starts the local partitions of the step with this id, calling
  // `local_done` once when they finish.
  using StartLocal =
      absl::AnyInvocable<void(int64_t step_id, ExecuteDone local_done) &&>;
  // Runs one step of `plan` with the fed values `feeds` (in the plan's
  // feed order): starts its partitions on their tasks (each call carrying
  // `deadline`; small fed values a task needs may travel with its call),
  // then `start_local`; `done` is called once, with local_done's values
  // when every task succeeded, else with the step's first error, as soon
  // as it is known.
  // `caller_waits`: the calling thread would only wait for `done` (a
  // synchronous Session::Run): the driver may use it to read a task's
  // results before returning.
  virtual void Run(std::shared_ptr<const CompiledPlan> plan,
                   const std::vector<NDArray>& feeds, absl::Time deadline,
                   bool caller_waits, StartLocal start_local,
                   ExecuteDone done) = 0;
};

// Makes the driver of a Session with `options.cluster`, whose own devices
// (in this process; they outlive the driver) are `devices`.
using ClusterDriverFactory =
    std::function<absl::StatusOr<std::unique_ptr<ClusterDriver>>(
        const SessionOptions& options, const std::vector<Device*>& devices)>;

// Installs the factory Session::Create uses for SessionOptions::cluster
// (//distributed:server does, when linked in).
void SetClusterDriverFactory(ClusterDriverFactory factory);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_CLUSTER_DRIVER_H_
