#include "runtime/rendezvous.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/error_util.h"
#include "graph/errors.h"

namespace weft {

absl::Status LocalRendezvous::Send(int64_t step, std::string_view key,
                                   NDArray value) {
  RecvCallback waiter;
  {
    absl::MutexLock lock(&mu_);
    Step& s = steps_[step];
    if (!s.aborted.ok()) return s.aborted;
    Item& item = s.items[key];
    if (item.has_value) {
      return absl::AlreadyExistsError(
          absl::StrCat("rendezvous key ", internal::Quoted(key),
                       " was already sent in step ", step));
    }
    if (item.waiter) {
      waiter = std::move(item.waiter);
      s.items.erase(std::string(key));
    } else {
      item.has_value = true;
      item.value = std::move(value);
      return absl::OkStatus();
    }
  }
  std::move(waiter)(std::move(value));
  return absl::OkStatus();
}

void LocalRendezvous::RecvAsync(int64_t step, std::string_view key,
                                RecvCallback done) {
  absl::StatusOr<NDArray> result;
  {
    absl::MutexLock lock(&mu_);
    Step& s = steps_[step];
    if (!s.aborted.ok()) {
      result = s.aborted;
    } else {
      auto it = s.items.find(key);
      if (it != s.items.end() && it->second.has_value) {
        result = std::move(it->second.value);
        s.items.erase(it);
      } else if (it != s.items.end() && it->second.waiter) {
        result = absl::AlreadyExistsError(
            absl::StrCat("rendezvous key ", internal::Quoted(key),
                         " already has a receiver in step ", step));
      } else {
        s.items[key].waiter = std::move(done);
        return;
      }
    }
  }
  std::move(done)(std::move(result));
}

void LocalRendezvous::AbortStep(int64_t step, absl::Status status) {
  std::vector<RecvCallback> waiters;
  {
    absl::MutexLock lock(&mu_);
    Step& s = steps_[step];
    if (!s.aborted.ok()) return;
    s.aborted = status;
    for (auto& [key, item] : s.items) {
      if (item.waiter) waiters.push_back(std::move(item.waiter));
    }
    s.items.clear();
  }
  for (RecvCallback& w : waiters) std::move(w)(status);
}

void LocalRendezvous::EndStep(int64_t step) {
  absl::MutexLock lock(&mu_);
  steps_.erase(step);
}

int LocalRendezvous::num_active_steps() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(steps_.size());
}

}  // namespace weft
