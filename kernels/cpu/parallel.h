// parallel.h — internal to weft (kernels and the cpu device): the arena a
// kernel splits its work in. weft::cpu::ScopedComputeArena (set by the cpu
// device around each of its tasks) and weft::cpu::InComputeArena (used by
// every kernel that splits work with oneTBB).
//
// Why: a device's task_arena keeps one slot for the thread that calls
// Session::Run, so at most num_threads - 1 workers run its tasks. When a
// step's work continues on a worker (the caller waits outside the arena), a
// kernel's parallel_for inside that arena found no free slot: on two cores
// every kernel ran on one thread. A worker's kernels split their loops in
// the device's compute arena instead, of the same size, whose reserved slot
// takes the worker itself and whose other slots other workers fill. (The
// caller running steps in its reserved slot has no compute arena: the
// task arena's other slots are free for its loops.)
#ifndef WEFT_KERNELS_CPU_PARALLEL_H_
#define WEFT_KERNELS_CPU_PARALLEL_H_

#include <utility>

#include "oneapi/tbb/task_arena.h"

namespace weft::cpu {
namespace parallel_internal {
// The calling thread's compute arena (null: none), and whether the thread
// is running inside it already.
extern thread_local tbb::task_arena* current_arena;
extern thread_local bool inside_arena;
}  // namespace parallel_internal

// Makes `arena` the compute arena of the calling thread until destroyed
// (the previous one is restored).
//
// Thread safety: affects the calling thread only.
class ScopedComputeArena {
 public:
  explicit ScopedComputeArena(tbb::task_arena* arena)
      : previous_(parallel_internal::current_arena) {
    parallel_internal::current_arena = arena;
  }
  ~ScopedComputeArena() { parallel_internal::current_arena = previous_; }
  ScopedComputeArena(const ScopedComputeArena&) = delete;
  ScopedComputeArena& operator=(const ScopedComputeArena&) = delete;

 private:
  tbb::task_arena* const previous_;
};

// Runs `fn`, which splits its work with oneTBB (parallel_for,
// max_concurrency), in the calling thread's compute arena; directly when
// the thread has none or is inside it already.
template <typename Fn>
void InComputeArena(Fn&& fn) {
  tbb::task_arena* arena = parallel_internal::current_arena;
  if (arena == nullptr || parallel_internal::inside_arena) {
    std::forward<Fn>(fn)();
    return;
  }
  arena->execute([&] {
    const bool was_inside = parallel_internal::inside_arena;
    parallel_internal::inside_arena = true;
    std::forward<Fn>(fn)();
    parallel_internal::inside_arena = was_inside;
  });
}

}  // namespace weft::cpu

#endif  // WEFT_KERNELS_CPU_PARALLEL_H_
