#include "kernels/cancellation.h"

#include <thread>
#include <utility>
#include <vector>

namespace weft {

bool CancellationManager::Register(absl::AnyInvocable<void()> callback,
                                   Token* token) {
  absl::MutexLock lock(&mu_);
  if (cancelled_.load(std::memory_order_relaxed)) return false;
  *token = next_++;
  callbacks_.emplace(*token, std::move(callback));
  return true;
}

bool CancellationManager::Deregister(Token token) {
  absl::MutexLock lock(&mu_);
  if (callbacks_.erase(token) > 0) return true;
  // Cancel() took it. From inside a callback (on the cancelling thread) the
  // callback is running now; elsewhere, wait until every callback has run.
  if (std::this_thread::get_id() == cancelling_thread_) return false;
  mu_.Await(absl::Condition(&callbacks_done_));
  return false;
}

bool CancellationManager::TryDeregister(Token token) {
  absl::MutexLock lock(&mu_);
  return callbacks_.erase(token) > 0;
}

void CancellationManager::Cancel(absl::Status status) {
  absl::flat_hash_map<Token, absl::AnyInvocable<void()>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    status_ = std::move(status);
    cancelled_.store(true, std::memory_order_release);
    cancelling_thread_ = std::this_thread::get_id();
    callbacks.swap(callbacks_);
  }
  for (auto& [token, callback] : callbacks) callback();
  absl::MutexLock lock(&mu_);
  callbacks_done_ = true;
  cancelling_thread_ = std::thread::id();
}

absl::Status CancellationManager::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

}  // namespace weft
