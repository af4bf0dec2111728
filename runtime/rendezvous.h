// rendezvous.h — defines weft::Rendezvous, where a partition's Send hands a
// value to the Recv of another partition, keyed by (step, transfer key),
// with an asynchronous receive; and weft::LocalRendezvous, the in-process
// implementation a Session uses. The executor is given a Rendezvous rather
// than owning one, which is the seam for partitions in other processes.
//
//   rendezvous.Send(step, "h:0@cpu:0->cpu:1", value);
//   rendezvous.RecvAsync(step, "h:0@cpu:0->cpu:1",
//                        [](absl::StatusOr<NDArray> v) { ... });
#ifndef WEFT_RUNTIME_RENDEZVOUS_H_
#define WEFT_RUNTIME_RENDEZVOUS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "graph/ndarray.h"

namespace weft {

// Thread safety: implementations allow concurrent calls from any thread.
class Rendezvous {
 public:
  using RecvCallback = absl::AnyInvocable<void(absl::StatusOr<NDArray>) &&>;

  virtual ~Rendezvous() = default;

  // Delivers `value` under (step, key). kAlreadyExists if that key was
  // already sent in the step; the step's abort status after AbortStep.
  [[nodiscard]] virtual absl::Status Send(int64_t step, std::string_view key,
                                          NDArray value) = 0;
  // Calls `done` once with the value sent under (step, key) — at once if it
  // is there, else when it arrives — or with the step's abort status. It
  // may run on the sender's or the aborter's thread.
  virtual void RecvAsync(int64_t step, std::string_view key,
                         RecvCallback done) = 0;
  // Fails every pending and future Recv and Send of `step` with `status`.
  virtual void AbortStep(int64_t step, absl::Status status) = 0;
  // Forgets everything about `step` (values never received, the abort).
  virtual void EndStep(int64_t step) = 0;
};

// The in-process rendezvous: a table per step.
//
// Thread safety: all methods may be called concurrently; callbacks run
// outside the lock.
class LocalRendezvous : public Rendezvous {
 public:
  absl::Status Send(int64_t step, std::string_view key, NDArray value) override;
  void RecvAsync(int64_t step, std::string_view key,
                 RecvCallback done) override;
  void AbortStep(int64_t step, absl::Status status) override;
  void EndStep(int64_t step) override;

  // Steps with any state left (for tests).
  int num_active_steps() const;

 private:
  struct Item {
    bool has_value = false;
    NDArray value;
    RecvCallback waiter;  // Set while a Recv waits.
  };
  struct Step {
    absl::Status aborted;
    absl::flat_hash_map<std::string, Item> items;
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Step> steps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft

#endif  // WEFT_RUNTIME_RENDEZVOUS_H_
