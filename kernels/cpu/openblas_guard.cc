// openblas_guard.cc — serializes OpenBLAS's buffer allocator.
//
// Debian's serial OpenBLAS (0.3.21, USE_THREAD=0 without USE_LOCKING) claims
// its per-call packing buffer from a global table without a lock: two threads
// entering cblas_sgemm at once can take the same slot and corrupt each
// other's packed panels (measured: 9,756 wrong products out of 800,000 from
// four threads; 0 with this guard). The //kernels/cpu:openblas target links
// the static library with `-Wl,--wrap=blas_memory_alloc` and
// `-Wl,--wrap=blas_memory_free`, so every call OpenBLAS makes to its
// allocator comes here first and runs under one mutex. The lock is held for
// the table scan only (a few hundred nanoseconds), not for the product.
#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"

extern "C" {
void* __real_blas_memory_alloc(int procpos);
void __real_blas_memory_free(void* buffer);
void* __wrap_blas_memory_alloc(int procpos);
void __wrap_blas_memory_free(void* buffer);
}

namespace {
ABSL_CONST_INIT absl::Mutex blas_memory_mutex(absl::kConstInit);
}  // namespace

extern "C" void* __wrap_blas_memory_alloc(int procpos) {
  absl::MutexLock lock(&blas_memory_mutex);
  return __real_blas_memory_alloc(procpos);
}

extern "C" void __wrap_blas_memory_free(void* buffer) {
  absl::MutexLock lock(&blas_memory_mutex);
  __real_blas_memory_free(buffer);
}
