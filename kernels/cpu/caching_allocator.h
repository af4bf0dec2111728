// caching_allocator.h — a caching allocator for large, 64-byte-aligned
// buffers (kernel outputs), so that a steady-state run of the same graph
// reuses blocks instead of mapping fresh pages (glibc serves every block
// above its mmap threshold with a new mapping, ~16k page faults per 64 MiB).
//
// Requests of at least `min_cached_bytes` are rounded up to a size class
// (four classes per power of two: at most 25% slack) and served from a free
// list of that class when one is cached (a hit) or from the system (a
// miss). A released block goes back to its free list unless that would make
// the idle cached bytes exceed the bound, in which case it is freed. The
// bound is `max_cached_bytes`; with `bound_by_workload`, it follows what
// the workload needs, when that is more: the blocks of each size class
// that were ever in use at once (so a repeated run of the same graph finds
// every block it needs cached: det at batch 8 needs 0.94 GB of blocks for a
// peak of 0.54 GB live), but at most twice the peak of live bytes (so a
// workload whose shapes keep changing does not hoard every class it saw).
// Smaller requests go straight to aligned operator new / delete. Trim() and
// the destructor free every cached block; blocks still alive then are freed
// when their last owner lets go (the deleter keeps the pool alive).
//
// Under AddressSanitizer, cached blocks are poisoned (a use after release
// is reported like a use after free) and the slack between the requested
// size and the size class stays poisoned while the block is in use.
//
//   weft::cpu::CachingAllocator& alloc =
//   weft::cpu::CachingAllocator::Default();
//   absl::StatusOr<std::shared_ptr<void>> buf = alloc.Allocate(64 << 20);
//   if (!buf.ok()) return buf.status();
//   float* data = static_cast<float*>(buf->get());
//
// Thread safety: all member functions are thread safe; blocks may be
// released on any thread, also after the allocator is destroyed.
#ifndef WEFT_KERNELS_CPU_CACHING_ALLOCATOR_H_
#define WEFT_KERNELS_CPU_CACHING_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace weft {
namespace cpu {

struct CachingAllocatorOptions {
  // Requests below this go straight to the system allocator.
  size_t min_cached_bytes = size_t{256} << 10;
  // Bound on the idle bytes held in the free lists (with
  // bound_by_workload: its floor).
  size_t max_cached_bytes = size_t{1} << 30;
  // Bound the idle bytes by max(max_cached_bytes, min(class_peak_bytes,
  // 2 * peak_live_bytes)) instead (see above).
  bool bound_by_workload = false;
};

struct CachingAllocatorStats {
  uint64_t hits = 0;        // cached requests served from a free list
  uint64_t misses = 0;      // cached requests that allocated a new block
  uint64_t uncached = 0;    // requests below min_cached_bytes
  size_t cached_bytes = 0;  // idle bytes in the free lists
  size_t live_bytes = 0;    // size-class bytes of blocks in use (cached path)
  size_t peak_live_bytes = 0;  // the most live_bytes so far
  // The sum over size classes of the most blocks of the class in use at
  // once, times its size: what a repeated workload needs cached.
  size_t class_peak_bytes = 0;
};

class CachingAllocator {
 public:
  // Every block's alignment.
  static constexpr size_t kAlignment = 64;

  explicit CachingAllocator(CachingAllocatorOptions options = {});
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // The process-wide instance (default options; never destroyed).
  static CachingAllocator& Default();

  // The size a request of `bytes` is served with: `bytes` rounded up to 64
  // below `min_cached_bytes`, else to a quarter-power-of-two class.
  size_t SizeClass(size_t bytes) const;

  // A block of at least `bytes` (non-null even for 0), 64-byte aligned,
  // uninitialized. Released to the cache when the last copy is destroyed.
  // ResourceExhausted when the system cannot provide it.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<void>> Allocate(size_t bytes);

  // Frees every cached (idle) block.
  void Trim();

  CachingAllocatorStats stats() const;

 private:
  struct Pool;
  const CachingAllocatorOptions options_;
  const std::shared_ptr<Pool> pool_;
};

}  // namespace cpu
}  // namespace weft

#endif  // WEFT_KERNELS_CPU_CACHING_ALLOCATOR_H_
