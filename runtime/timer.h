// timer.h — defines weft::internal::Timer, the process-wide thread that
// fires run deadlines (so a RunAsync, which nobody waits on, still times
// out, and a Run returns on time whichever thread runs the work).
// Internal to runtime/.
#ifndef WEFT_RUNTIME_TIMER_H_
#define WEFT_RUNTIME_TIMER_H_

#include <cstdint>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace weft {
namespace internal {

// Callbacks run on the timer's own thread, one at a time, outside its lock;
// keep them short (the executor's only cancels a run).
//
// Thread safety: Schedule and Cancel may be called from any thread.
class Timer {
 public:
  using Id = int64_t;

  static Timer& Global();

  // Runs `fn` at `when` (soon, if `when` has passed).
  Id Schedule(absl::Time when, absl::AnyInvocable<void()> fn);
  // True if the callback was removed before it started; false if it has
  // run, is running, or was never scheduled.
  bool Cancel(Id id);

 private:
  Timer();
  void Loop();

  absl::Mutex mu_;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::pair<absl::Time, Id>, absl::AnyInvocable<void()>> pending_
      ABSL_GUARDED_BY(mu_);
  std::map<Id, absl::Time> when_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_TIMER_H_
