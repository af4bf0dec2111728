// step_env.h — internal to weft's kernels/ and runtime/ (the
// //kernels:step_env target, not reachable from weft.h): weft::StepEnv, the
// per-run facts every step of a run shares, which the executor owns and
// hands to each OpKernelContext it builds (kernels see them through the
// context's accessors), and weft::AllocationLimits.
#ifndef WEFT_KERNELS_STEP_ENV_H_
#define WEFT_KERNELS_STEP_ENV_H_

#include <cstdint>

#include "absl/time/time.h"

namespace weft {

class BufferAllocator;      // graph/ndarray.h
class CancellationManager;  // kernels/cancellation.h
class Rendezvous;           // runtime/rendezvous.h

// Checked allocation of output buffers. `max_bytes` bounds one allocation.
struct AllocationLimits {
  int64_t max_bytes = 0;
};

// Per-run facts every step of a run shares (owned by the executor, one per
// partition of a run).
//
// Thread safety: written before the run starts, then only read.
struct StepEnv {
  int64_t step_id = 0;
  absl::Time deadline = absl::InfiniteFuture();
  CancellationManager* cancellation = nullptr;
  Rendezvous* rendezvous = nullptr;
  BufferAllocator* allocator = nullptr;  // nullptr: the default heap.
  AllocationLimits limits;
};

}  // namespace weft

#endif  // WEFT_KERNELS_STEP_ENV_H_
