// cancellation.h — defines weft::CancellationManager, the per-step object
// through which an error, a deadline or the caller cancels a run, and which
// asynchronous kernels (a Recv, a Dequeue, a nested run) use to stop
// waiting. A caller cancels its runs with one of its own, passed as
// RunOptions::cancellation.
//
//   CancellationManager::Token token;
//   if (!ctx.cancellation()->Register([&] { StopWaiting(); }, &token)) {
//     return done(absl::CancelledError(...));  // Already cancelled.
//   }
//   ...  // Later, when the wait ends normally:
//   ctx.cancellation()->Deregister(token);
#ifndef WEFT_KERNELS_CANCELLATION_H_
#define WEFT_KERNELS_CANCELLATION_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace weft {

// Cancels once; runs every registered callback exactly once, outside its
// lock, on the thread that cancels. The status given to Cancel is the
// step's error (kDeadlineExceeded, kCancelled, or a kernel's error).
//
// Thread safety: all methods may be called concurrently from any thread.
class CancellationManager {
 public:
  using Token = int64_t;

  CancellationManager() = default;
  CancellationManager(const CancellationManager&) = delete;
  CancellationManager& operator=(const CancellationManager&) = delete;

  // Registers `callback`; false (and nothing registered) if already
  // cancelled.
  [[nodiscard]] bool Register(absl::AnyInvocable<void()> callback,
                              Token* token);
  // Removes a callback. True if it was removed before it ran; false if
  // cancellation already took it, in which case Deregister waits until the
  // callback has returned (so the caller may free what it uses) — unless
  // called from inside a callback, on the cancelling thread.
  bool Deregister(Token token);
  // Deregister without the wait: true if removed before it ran; false if
  // Cancel took it (it may be running now, on the cancelling thread). For a
  // callback that stays safe to run after the caller has moved on (it holds
  // only weak or owning references).
  bool TryDeregister(Token token);
  // Cancels with `status` (the first call wins); later calls do nothing.
  void Cancel(absl::Status status);
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  // The status Cancel was called with; OK before.
  absl::Status status() const;

 private:
  mutable absl::Mutex mu_;
  std::atomic<bool> cancelled_{false};
  bool callbacks_done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread::id cancelling_thread_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  Token next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<Token, absl::AnyInvocable<void()>> callbacks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace weft

#endif  // WEFT_KERNELS_CANCELLATION_H_
