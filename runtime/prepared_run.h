// internal::PreparedRun: a plan of a Session compiled once for fixed
// (feeds, fetches) and run many times with no per-call validation, plan
// cache lookup or thread hop. The engine of the function kernels (Call,
// Cond, While), which check their argument values against the body's
// placeholders themselves (a cheaper check than Session's, for the values
// build time could not check: dims the caller left unknown).
//
//   auto prepared = *internal::PreparedRun::Create(session, args, outputs);
//   prepared->Run(values, deadline, [](absl::StatusOr<std::vector<NDArray>> r)
//   {...});
//
// Not part of the public API: user code calls Session::Run or
// RunAsync, which validate every feed.
#ifndef WEFT_RUNTIME_PREPARED_RUN_H_
#define WEFT_RUNTIME_PREPARED_RUN_H_

#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"
#include "runtime/session.h"

namespace weft {

struct CompiledPlan;

namespace internal {

// Thread safety: Run may be called concurrently from any number of
// threads; the Session must outlive the PreparedRun and its runs (the
// Session's destructor waits for runs in flight).
class PreparedRun {
 public:
  using Done =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<NDArray>>) &&>;

  // Compiles the plan of `session` for `feeds` (placeholders) and `fetches`;
  // the errors of Session::GetPlan.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PreparedRun>> Create(
      Session& session, std::vector<Tensor> feeds, std::vector<Tensor> fetches);

  // Runs the plan with `values` (one per feed, in order; the caller
  // guarantees their dtypes and shapes). The calling thread runs the first
  // partition before Run returns, so `done` is often called on it before
  // Run returns; past `deadline` the run fails with kDeadlineExceeded.
  void Run(std::vector<NDArray> values, absl::Time deadline, Done done) const;

 private:
  PreparedRun(Session& session, std::shared_ptr<const CompiledPlan> plan)
      : session_(session), plan_(std::move(plan)) {}

  Session& session_;
  const std::shared_ptr<const CompiledPlan> plan_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_PREPARED_RUN_H_
