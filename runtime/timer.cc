#include "runtime/timer.h"

#include <thread>

namespace weft {
namespace internal {

Timer& Timer::Global() {
  // Never destroyed: its thread lives for the rest of the process.
  static Timer* timer = new Timer();
  return *timer;
}

Timer::Timer() {
  std::thread([this] { Loop(); }).detach();
}

Timer::Id Timer::Schedule(absl::Time when, absl::AnyInvocable<void()> fn) {
  absl::MutexLock lock(&mu_);
  const Id id = next_id_++;
  pending_.emplace(std::make_pair(when, id), std::move(fn));
  when_.emplace(id, when);
  return id;
}

bool Timer::Cancel(Id id) {
  absl::AnyInvocable<void()> fn;  // Destroyed outside the lock.
  absl::MutexLock lock(&mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return false;
  auto p = pending_.find({it->second, id});
  fn = std::move(p->second);
  pending_.erase(p);
  when_.erase(it);
  return true;
}

void Timer::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (pending_.empty()) {
      mu_.Await(absl::Condition(
          +[](decltype(pending_)* p) { return !p->empty(); }, &pending_));
      continue;
    }
    const absl::Time first = pending_.begin()->first.first;
    if (absl::Now() < first) {
      // Wakes early when an earlier deadline is scheduled.
      std::pair<decltype(pending_)*, absl::Time> arg(&pending_, first);
      mu_.AwaitWithDeadline(
          absl::Condition(
              +[](std::pair<decltype(pending_)*, absl::Time>* a) {
                return !a->first->empty() &&
                       a->first->begin()->first.first < a->second;
              },
              &arg),
          first);
      continue;
    }
    auto it = pending_.begin();
    absl::AnyInvocable<void()> fn = std::move(it->second);
    when_.erase(it->first.second);
    pending_.erase(it);
    mu_.Unlock();
    fn();
    fn = nullptr;  // Release what it holds before taking the lock again.
    mu_.Lock();
  }
}

}  // namespace internal
}  // namespace weft
