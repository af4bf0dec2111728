#include "async/queue.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "async/queue_impl.h"
#include "async/stack.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/provenance.h"

namespace weft {
namespace internal {

using internal::Quoted;

std::string DescribeComponent(const std::vector<TensorSpec>& specs, int i) {
  std::string out = absl::StrCat("component ", i);
  if (i >= 0 && i < static_cast<int>(specs.size()) && !specs[i].name.empty()) {
    absl::StrAppend(&out, " ", Quoted(specs[i].name));
  }
  return out;
}

namespace {

std::string SpecString(const TensorSpec& spec) {
  return absl::StrCat(DTypeName(spec.dtype), spec.shape.DebugString());
}

}  // namespace

QueueImpl::QueueImpl(std::string name, std::vector<TensorSpec> components,
                     int capacity, std::source_location where)
    : Resource(std::move(name), where),
      components_(std::move(components)),
      capacity_(capacity) {}

QueueImpl::~QueueImpl() {
  // No handle is left, so nobody can complete these waiters any more.
  const absl::Status why = absl::CancelledError(
      absl::StrCat(Describe(), " was destroyed (its last handle went away) ",
                   "while this call waited; keep a Queue handle for as long ",
                   "as calls on it may wait"));
  std::list<EnqueueWaiter> enqueuers;
  std::list<DequeueWaiter> dequeuers;
  {
    absl::MutexLock lock(&mu_);
    enqueuers.swap(enqueuers_);
    dequeuers.swap(dequeuers_);
  }
  for (EnqueueWaiter& w : enqueuers) std::move(w.done)(why);
  for (DequeueWaiter& w : dequeuers) std::move(w.done)(why);
}

std::string QueueImpl::Describe() const {
  return absl::StrCat("queue ", Quoted(name()), " (created at ",
                      SourceSite::From(created_at()).ToString(), ")");
}

absl::Status QueueImpl::CheckValues(const std::vector<NDArray>& values) const {
  if (values.size() != components_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Enqueue to ", Describe(), ": got ", values.size(),
        values.size() == 1 ? " value" : " values", " but the queue has ",
        components_.size(), " components (",
        absl::StrJoin(components_, ", ",
                      [](std::string* out, const TensorSpec& s) {
                        absl::StrAppend(out, s.name.empty() ? "unnamed" : "",
                                        s.name.empty() ? "" : Quoted(s.name),
                                        " ", SpecString(s));
                      }),
        "); fix: pass one NDArray per component, in order"));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const NDArray& v = values[i];
    const TensorSpec& spec = components_[i];
    if (!v.valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Enqueue to ", Describe(), ": ",
          DescribeComponent(components_, static_cast<int>(i)),
          " is an empty NDArray (default-constructed or moved from); fix: ",
          "pass a ", SpecString(spec), " value"));
    }
    if (!v.Matches(spec.dtype, spec.shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Enqueue to ", Describe(), ": ",
          DescribeComponent(components_, static_cast<int>(i)), " must be ",
          SpecString(spec), " but got ", DTypeName(v.dtype()),
          v.shape().DebugString(), "; fix: pass a value matching the ",
          "component's TensorSpec (? dims match any size)",
          v.dtype() != spec.dtype ? ", or Cast it first" : ""));
    }
  }
  return absl::OkStatus();
}

std::string QueueImpl::ClosedAt() const {
  return absl::StrCat("(closed at ", SourceSite::From(closed_at_).ToString(),
                      ", thread ", Quoted(closed_thread_), ")");
}

absl::Status QueueImpl::EnqueueClosedError() const {
  return absl::OutOfRangeError(absl::StrCat(
      "Enqueue to ", Describe(), ": the queue is closed ", ClosedAt(),
      "; nothing was enqueued. Fix: stop producing once the queue is ",
      "closed, or close it only after the last enqueue"));
}

void QueueImpl::RunAll(Completions& completions) {
  for (auto& c : completions) std::move(c)();
  completions.clear();
}

absl::Status QueueImpl::CheckStackable(int64_t k) const {
  for (size_t c = 0; c < components_.size(); ++c) {
    if (components_[c].shape.IsFullyDefined()) continue;
    const Shape& first = items_[0][c].shape();
    for (int64_t i = 1; i < k; ++i) {
      const Shape& s = items_[i][c].shape();
      if (!(s == first)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "DequeueMany(", k, ") from ", Describe(), ": ",
            DescribeComponent(components_, static_cast<int>(c)), " of element ",
            i, " is ", s.DebugString(), " but element 0's is ",
            first.DebugString(), ", so they cannot be stacked; nothing was ",
            "taken. Fix: give the component a fully defined shape, or ",
            "dequeue such elements one at a time with Dequeue"));
      }
    }
  }
  return absl::OkStatus();
}

// Long (~68 lines): one decision (how many elements, or which error) and its
// two completions (one element, or stacked columns) read best in one place.
bool QueueImpl::ServeFrontDequeuer(Completions& out) {
  DequeueWaiter& w = dequeuers_.front();
  const int64_t available = static_cast<int64_t>(items_.size());
  int64_t take = 0;
  absl::Status error;
  if (available >= w.n) {
    take = w.n;
  } else if (!closed_) {
    return false;  // Keeps waiting; FIFO: later dequeuers wait behind it.
  } else if (available == 0) {
    error = absl::OutOfRangeError(absl::StrCat(
        w.many ? absl::StrCat("DequeueMany(", w.n, ")") : "Dequeue", " from ",
        Describe(), ": the queue is closed and empty ", ClosedAt(),
        "; this is the end of its data. Fix: treat kOutOfRange as end of ",
        "input and stop dequeuing"));
  } else if (w.on_close == FewerOnClose::kReturnRemaining) {
    take = available;
  } else {
    error = absl::OutOfRangeError(absl::StrCat(
        "DequeueMany(", w.n, ") from ", Describe(), ": the queue is closed ",
        ClosedAt(), " with ", available, " elements left, fewer than ", w.n,
        "; they stay in the queue. Fix: dequeue them with Dequeue, or use ",
        "FewerOnClose::kReturnRemaining"));
  }
  if (take > 0 && w.many) error = CheckStackable(take);
  if (!error.ok()) {
    out.push_back([done = std::move(w.done), error]() mutable {
      std::move(done)(std::move(error));
    });
    dequeuers_.pop_front();
    return true;
  }
  std::vector<Element> taken;
  taken.reserve(take);
  for (int64_t i = 0; i < take; ++i) {
    taken.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  if (!w.many) {
    out.push_back(
        [done = std::move(w.done), element = std::move(taken[0])]() mutable {
          std::move(done)(std::move(element));
        });
  } else {
    // Stacking copies data, so it runs after the lock is released. The
    // shapes were checked above, so it cannot fail on them.
    out.push_back([done = std::move(w.done), taken = std::move(taken),
                   num_components = components_.size()]() mutable {
      std::vector<NDArray> stacked;
      stacked.reserve(num_components);
      std::vector<NDArray> column(taken.size());
      for (size_t c = 0; c < num_components; ++c) {
        for (size_t i = 0; i < taken.size(); ++i) {
          column[i] = std::move(taken[i][c]);
        }
        absl::StatusOr<NDArray> s = StackArrays(column);
        if (!s.ok()) {
          std::move(done)(s.status());
          return;
        }
        stacked.push_back(*std::move(s));
      }
      std::move(done)(std::move(stacked));
    });
  }
  dequeuers_.pop_front();
  return true;
}

void QueueImpl::Pump(Completions& out) {
  bool progress = true;
  while (progress) {
    progress = false;
    while (!enqueuers_.empty() &&
           static_cast<int64_t>(items_.size()) < capacity_) {
      EnqueueWaiter& w = enqueuers_.front();
      items_.push_back(std::move(w.values));
      const int64_t size = static_cast<int64_t>(items_.size());
      out.push_back([done = std::move(w.done), size]() mutable {
        std::move(done)(size);
      });
      enqueuers_.pop_front();
      progress = true;
    }
    while (!dequeuers_.empty() && ServeFrontDequeuer(out)) progress = true;
  }
}

Queue::WaiterId QueueImpl::EnqueueAsync(std::vector<NDArray> values,
                                        Queue::EnqueueDone done) {
  if (absl::Status s = CheckValues(values); !s.ok()) {
    std::move(done)(std::move(s));
    return Queue::kNoWaiter;
  }
  Completions completions;
  WaiterId id = Queue::kNoWaiter;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      completions.push_back(
          [done = std::move(done), error = EnqueueClosedError()]() mutable {
            std::move(done)(std::move(error));
          });
    } else {
      const WaiterId mine = next_id_++;
      enqueuers_.push_back({mine, std::move(values), std::move(done)});
      Pump(completions);
      // New waiters join at the back, so ours is still waiting exactly
      // when it is still the last one.
      if (!enqueuers_.empty() && enqueuers_.back().id == mine) id = mine;
    }
  }
  RunAll(completions);
  return id;
}

Queue::WaiterId QueueImpl::DequeueAsync(int64_t n, bool many,
                                        FewerOnClose on_close,
                                        Queue::DequeueDone done) {
  if (many && (n < 1 || n > capacity_)) {
    std::move(done)(absl::InvalidArgumentError(absl::StrCat(
        "DequeueMany(", n, ") from ", Describe(), ": n must be between 1 ",
        "and the queue's capacity ", capacity_, " (n elements are taken at ",
        "once, so more could never be there). Fix: ",
        n < 1 ? "ask for at least one element"
              : "raise the capacity, or dequeue in smaller batches")));
    return Queue::kNoWaiter;
  }
  Completions completions;
  WaiterId id = Queue::kNoWaiter;
  {
    absl::MutexLock lock(&mu_);
    const WaiterId mine = next_id_++;
    dequeuers_.push_back({mine, many ? n : 1, many, on_close, std::move(done)});
    Pump(completions);
    if (!dequeuers_.empty() && dequeuers_.back().id == mine) id = mine;
  }
  RunAll(completions);
  return id;
}

bool QueueImpl::TryEnqueueNow(std::vector<NDArray>& values) {
  Completions completions;
  {
    absl::MutexLock lock(&mu_);
    if (closed_ || !enqueuers_.empty() ||
        static_cast<int64_t>(items_.size()) >= capacity_) {
      return false;
    }
    items_.push_back(std::move(values));
    Pump(completions);  // Serves waiting dequeuers (graph Dequeue ops).
  }
  RunAll(completions);
  return true;
}

bool QueueImpl::TryDequeueNow(std::vector<NDArray>& out) {
  Completions completions;
  {
    absl::MutexLock lock(&mu_);
    if (!dequeuers_.empty() || items_.empty()) return false;
    out = std::move(items_.front());
    items_.pop_front();
    Pump(completions);  // Admits waiting enqueuers to the freed room.
  }
  RunAll(completions);
  return true;
}

bool QueueImpl::CancelWaiter(WaiterId id, absl::Status why) {
  if (id == Queue::kNoWaiter) return false;
  if (why.ok()) {
    why = absl::CancelledError(
        absl::StrCat("a call on ", Describe(), " was cancelled"));
  }
  Completions completions;
  bool found = false;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = enqueuers_.begin(); it != enqueuers_.end(); ++it) {
      if (it->id != id) continue;
      completions.push_back([done = std::move(it->done), why]() mutable {
        std::move(done)(std::move(why));
      });
      enqueuers_.erase(it);
      found = true;
      break;
    }
    if (!found) {
      for (auto it = dequeuers_.begin(); it != dequeuers_.end(); ++it) {
        if (it->id != id) continue;
        completions.push_back([done = std::move(it->done), why]() mutable {
          std::move(done)(std::move(why));
        });
        dequeuers_.erase(it);
        found = true;
        break;
      }
    }
    // A withdrawn DequeueMany at the front may have held up others.
    if (found) Pump(completions);
  }
  RunAll(completions);
  return found;
}

void QueueImpl::PutBack(std::vector<std::vector<NDArray>> elements) {
  Completions completions;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = elements.rbegin(); it != elements.rend(); ++it) {
      items_.push_front(std::move(*it));
    }
    Pump(completions);
  }
  RunAll(completions);
}

void QueueImpl::Close(std::source_location where) {
  Completions completions;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    closed_at_ = where;
    closed_thread_ = CurrentThreadName();
    const absl::Status error = EnqueueClosedError();
    for (EnqueueWaiter& w : enqueuers_) {
      completions.push_back([done = std::move(w.done), error]() mutable {
        std::move(done)(error);
      });
    }
    enqueuers_.clear();
    Pump(completions);
  }
  RunAll(completions);
}

int QueueImpl::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(items_.size());
}

bool QueueImpl::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

int QueueImpl::num_waiting_enqueuers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(enqueuers_.size());
}

int QueueImpl::num_waiting_dequeuers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(dequeuers_.size());
}

}  // namespace internal

namespace {

using internal::Quoted;

absl::Status NullQueueError(std::string_view op) {
  return absl::FailedPreconditionError(
      internal::NullHandleMessage(absl::StrCat("Queue::", op, " on"), "Queue"));
}

// The result slot of a blocking host call, shared with its waiter's `done`.
template <typename T>
struct SyncResult {
  absl::Mutex mu;
  bool ready ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<T> result ABSL_GUARDED_BY(mu);

  void Set(absl::StatusOr<T> r) {
    absl::MutexLock lock(&mu);
    result = std::move(r);
    ready = true;
  }
  // Waits up to `timeout`; true if the result is there.
  bool WaitFor(absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
  }
  absl::StatusOr<T> Take() {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&ready));
    return std::move(result);
  }
};

// Waits for a waiter registered on `impl`; on timeout withdraws it with
// `timeout_error()`. Either way the result is what `done` received: if the
// waiter completed just as the time ran out, its real result wins (an
// element it took is returned, never dropped).
template <typename T, typename MakeError>
absl::StatusOr<T> AwaitWaiter(internal::QueueImpl& impl, Queue::WaiterId id,
                              SyncResult<T>& slot, absl::Duration timeout,
                              MakeError timeout_error) {
  if (id != Queue::kNoWaiter && !slot.WaitFor(timeout)) {
    impl.CancelWaiter(id, timeout_error());
  }
  return slot.Take();
}

}  // namespace

absl::StatusOr<Queue> Queue::Create(std::string_view name,
                                    std::vector<TensorSpec> components,
                                    int capacity, std::source_location where) {
  const std::string site = SourceSite::From(where).ToString();
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Queue::Create at ", site, ": the name is empty; fix: name the ",
        "queue (errors and graph dumps refer to it by name)"));
  }
  auto fail = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Queue::Create of queue ", Quoted(name), " at ", site, ": ", what));
  };
  if (components.empty()) {
    return fail(
        "no components; fix: give one TensorSpec per value of an "
        "element");
  }
  for (size_t i = 0; i < components.size(); ++i) {
    const TensorSpec& spec = components[i];
    const std::string which =
        internal::DescribeComponent(components, static_cast<int>(i));
    if (!IsValidDType(spec.dtype)) {
      return fail(absl::StrCat(which, " has an invalid dtype"));
    }
    if (absl::Status s = spec.shape.Validate(); !s.ok()) {
      return fail(absl::StrCat(which, ": ", s.message()));
    }
  }
  if (capacity < 1) {
    return fail(absl::StrCat("capacity ", capacity,
                             " is not positive; fix: pass the most elements "
                             "the queue may hold, at least 1"));
  }
  return Queue(std::make_shared<internal::QueueImpl>(
      std::string(name), std::move(components), capacity, where));
}

absl::StatusOr<Queue> Queue::FromResource(const ResourceRef& resource) {
  if (resource == nullptr) {
    return absl::InvalidArgumentError(
        "Queue::FromResource: the resource reference is null");
  }
  auto impl = std::dynamic_pointer_cast<internal::QueueImpl>(resource);
  if (impl == nullptr && resource->kind() == "Queue") {
    // A stand-in for another process's Queue (graph/graph_io_internal.h).
    return absl::InvalidArgumentError(absl::StrCat(
        "Queue ", resource->Describe(),
        " cannot be used here\n  fix: place the nodes that use it on a "
        "device of the process that created it, or create a Queue of that "
        "name in this process (and register its resolver) before the graph "
        "is registered"));
  }
  if (impl == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Queue::FromResource: resource ", Quoted(resource->name()),
        " (created at ", SourceSite::From(resource->created_at()).ToString(),
        ") is a ", resource->kind(), ", not a Queue"));
  }
  return Queue(std::move(impl));
}

ResourceRef Queue::resource() const { return impl_; }

absl::Status Queue::Enqueue(std::vector<NDArray> values,
                            absl::Duration timeout) {
  if (impl_ == nullptr) return NullQueueError("Enqueue");
  if (absl::Status s = impl_->CheckValues(values); !s.ok()) return s;
  if (impl_->TryEnqueueNow(values)) return absl::OkStatus();
  auto slot = std::make_shared<SyncResult<int64_t>>();
  const WaiterId id = impl_->EnqueueAsync(
      std::move(values),
      [slot](absl::StatusOr<int64_t> r) { slot->Set(std::move(r)); });
  return AwaitWaiter<int64_t>(
             *impl_, id, *slot, timeout,
             [&] {
               return absl::DeadlineExceededError(absl::StrCat(
                   "Enqueue to ", impl_->Describe(), ": the queue stayed full ",
                   "(capacity ", capacity(), ") for ",
                   absl::FormatDuration(timeout),
                   "; nothing was enqueued. Fix: raise the timeout or the ",
                   "capacity, or check that a consumer is running"));
             })
      .status();
}

absl::StatusOr<std::vector<NDArray>> Queue::Dequeue(absl::Duration timeout) {
  if (impl_ == nullptr) return NullQueueError("Dequeue");
  if (std::vector<NDArray> element; impl_->TryDequeueNow(element)) {
    return element;
  }
  auto slot = std::make_shared<SyncResult<std::vector<NDArray>>>();
  const WaiterId id =
      impl_->DequeueAsync(1, /*many=*/false, FewerOnClose::kFail,
                          [slot](absl::StatusOr<std::vector<NDArray>> r) {
                            slot->Set(std::move(r));
                          });
  return AwaitWaiter<std::vector<NDArray>>(*impl_, id, *slot, timeout, [&] {
    return absl::DeadlineExceededError(absl::StrCat(
        "Dequeue from ", impl_->Describe(), ": nothing arrived in ",
        absl::FormatDuration(timeout), "; nothing was taken. Fix: raise the ",
        "timeout, or check that a producer is running"));
  });
}

absl::StatusOr<std::vector<NDArray>> Queue::DequeueMany(
    int64_t n, FewerOnClose on_close, absl::Duration timeout) {
  if (impl_ == nullptr) return NullQueueError("DequeueMany");
  auto slot = std::make_shared<SyncResult<std::vector<NDArray>>>();
  const WaiterId id =
      impl_->DequeueAsync(n, /*many=*/true, on_close,
                          [slot](absl::StatusOr<std::vector<NDArray>> r) {
                            slot->Set(std::move(r));
                          });
  return AwaitWaiter<std::vector<NDArray>>(*impl_, id, *slot, timeout, [&] {
    return absl::DeadlineExceededError(absl::StrCat(
        "DequeueMany(", n, ") from ", impl_->Describe(), ": ", n,
        " elements were not there within ", absl::FormatDuration(timeout),
        "; nothing was taken. Fix: raise the timeout, ask for fewer, or ",
        "check that a producer is running"));
  });
}

void Queue::Close(std::source_location where) {
  if (impl_ != nullptr) impl_->Close(where);
}

Queue::WaiterId Queue::EnqueueAsync(std::vector<NDArray> values,
                                    EnqueueDone done) {
  if (impl_ == nullptr) {
    std::move(done)(NullQueueError("EnqueueAsync"));
    return kNoWaiter;
  }
  return impl_->EnqueueAsync(std::move(values), std::move(done));
}

Queue::WaiterId Queue::DequeueAsync(DequeueDone done) {
  if (impl_ == nullptr) {
    std::move(done)(NullQueueError("DequeueAsync"));
    return kNoWaiter;
  }
  return impl_->DequeueAsync(1, /*many=*/false, FewerOnClose::kFail,
                             std::move(done));
}

Queue::WaiterId Queue::DequeueManyAsync(int64_t n, FewerOnClose on_close,
                                        DequeueDone done) {
  if (impl_ == nullptr) {
    std::move(done)(NullQueueError("DequeueManyAsync"));
    return kNoWaiter;
  }
  return impl_->DequeueAsync(n, /*many=*/true, on_close, std::move(done));
}

absl::Status Queue::PutBack(std::vector<std::vector<NDArray>> elements) {
  if (impl_ == nullptr) {
    return NullQueueError("PutBack");
  }
  for (const std::vector<NDArray>& e : elements) {
    if (absl::Status s = impl_->CheckValues(e); !s.ok()) return s;
  }
  impl_->PutBack(std::move(elements));
  return absl::OkStatus();
}

bool Queue::CancelWaiter(WaiterId id, absl::Status why) {
  return impl_ != nullptr && impl_->CancelWaiter(id, std::move(why));
}

const std::string& Queue::name() const {
  static const std::string* const kEmpty = new std::string();
  return impl_ == nullptr ? *kEmpty : impl_->name();
}

const std::vector<TensorSpec>& Queue::components() const {
  static const std::vector<TensorSpec>* const kEmpty =
      new std::vector<TensorSpec>();
  return impl_ == nullptr ? *kEmpty : impl_->components();
}

int Queue::capacity() const { return impl_ == nullptr ? 0 : impl_->capacity(); }

std::source_location Queue::created_at() const {
  return impl_ == nullptr ? std::source_location() : impl_->created_at();
}

int Queue::size() const { return impl_ == nullptr ? 0 : impl_->size(); }

bool Queue::closed() const { return impl_ != nullptr && impl_->closed(); }

int Queue::num_waiting_enqueuers() const {
  return impl_ == nullptr ? 0 : impl_->num_waiting_enqueuers();
}

int Queue::num_waiting_dequeuers() const {
  return impl_ == nullptr ? 0 : impl_->num_waiting_dequeuers();
}

}  // namespace weft
