// caching_allocator.cc — size-class free lists behind an absl::Mutex.
#include "kernels/cpu/caching_allocator.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_HAS_ASAN 1
#endif
#endif

#ifdef WEFT_HAS_ASAN
#include <sanitizer/asan_interface.h>
#define WEFT_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define WEFT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define WEFT_POISON(p, n) ((void)(p), (void)(n))
#define WEFT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace weft {
namespace cpu {
namespace {

constexpr std::align_val_t kAlign{CachingAllocator::kAlignment};

size_t RoundUp(size_t x, size_t to) { return (x + to - 1) / to * to; }

// Small blocks share one plain allocation with their reference count
// (make_shared): a scalar or short vector costs one malloc, not two, and
// no aligned allocation (glibc's memalign splits and frees a chunk on
// every call). The block is over-allocated and its data aligned inside.
template <size_t N>
struct SmallBlock {
  std::byte bytes[N + CachingAllocator::kAlignment];
};

constexpr size_t kMaxSmallBlock = 4 * CachingAllocator::kAlignment;

template <size_t N>
std::shared_ptr<void> AllocateSmallOf() {
  auto block = std::make_shared_for_overwrite<SmallBlock<N>>();
  void* p = block->bytes;
  size_t space = sizeof(block->bytes);
  std::align(CachingAllocator::kAlignment, N, p, space);
  return std::shared_ptr<void>(std::move(block), p);  // Aliasing.
}

std::shared_ptr<void> AllocateSmall(size_t size) {
  switch (size / CachingAllocator::kAlignment) {
    case 1:
      return AllocateSmallOf<64>();
    case 2:
      return AllocateSmallOf<128>();
    case 3:
      return AllocateSmallOf<192>();
    default:
      return AllocateSmallOf<256>();
  }
}

void* SystemAllocate(size_t bytes) {
  return ::operator new(bytes, kAlign, std::nothrow);
}

void SystemFree(void* p) { ::operator delete(p, kAlign); }

}  // namespace

// The shared state: outlives the allocator while any block is alive.
struct CachingAllocator::Pool {
  // One size class of the cached path: its free list, and its blocks in
  // use now and the most at once so far.
  struct SizeClassState {
    std::vector<void*> idle;
    int64_t live = 0;
    int64_t peak = 0;
  };

  explicit Pool(const CachingAllocatorOptions& options)
      : max_cached_bytes(options.max_cached_bytes),
        bound_by_workload(options.bound_by_workload) {}

  // Counts a block of class `size` (its entry `c`) as live, and the peaks
  // it raises.
  void AddLive(SizeClassState& c, size_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    live_bytes += size;
    stats.peak_live_bytes = std::max(stats.peak_live_bytes, live_bytes);
    if (++c.live > c.peak) {
      c.peak = c.live;
      stats.class_peak_bytes += size;
    }
  }

  // The most idle bytes the free lists may hold now.
  size_t IdleBound() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!bound_by_workload) return max_cached_bytes;
    return std::max(max_cached_bytes,
                    std::min(stats.class_peak_bytes,
                             kPeakLiveFactor * stats.peak_live_bytes));
  }

  // Returns a block of size class `size` (requested `bytes`) to the cache,
  // or frees it when the cache is closed or full.
  void Release(void* p, size_t size) {
    {
      absl::MutexLock lock(&mu);
      live_bytes -= size;
      SizeClassState& c = classes[size];
      --c.live;
      if (open && cached_bytes + size <= IdleBound()) {
        WEFT_POISON(p, size);
        c.idle.push_back(p);
        cached_bytes += size;
        return;
      }
    }
    SystemFree(p);
  }

  // Takes every cached block out (to free them outside the lock).
  std::vector<std::pair<void*, size_t>> TakeAll()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<std::pair<void*, size_t>> blocks;
    for (auto& [size, c] : classes) {
      for (void* p : c.idle) blocks.emplace_back(p, size);
      c.idle.clear();  // The class's counts stay.
    }
    cached_bytes = 0;
    return blocks;
  }

  // bound_by_workload: the idle bound is at most this many times the peak
  // of live bytes.
  static constexpr size_t kPeakLiveFactor = 2;

  const size_t max_cached_bytes;
  const bool bound_by_workload;
  mutable absl::Mutex mu;
  bool open ABSL_GUARDED_BY(mu) = true;
  absl::flat_hash_map<size_t, SizeClassState> classes ABSL_GUARDED_BY(mu);
  CachingAllocatorStats stats ABSL_GUARDED_BY(mu);  // But `uncached`:
  std::atomic<uint64_t> uncached{0};                // Counted without the lock.
  size_t cached_bytes ABSL_GUARDED_BY(mu) = 0;
  size_t live_bytes ABSL_GUARDED_BY(mu) = 0;
};

CachingAllocator::CachingAllocator(CachingAllocatorOptions options)
    : options_(options), pool_(std::make_shared<Pool>(options)) {}

CachingAllocator::~CachingAllocator() {
  std::vector<std::pair<void*, size_t>> blocks;
  {
    absl::MutexLock lock(&pool_->mu);
    pool_->open = false;
    blocks = pool_->TakeAll();
  }
  for (auto [p, size] : blocks) {
    WEFT_UNPOISON(p, size);
    SystemFree(p);
  }
}

CachingAllocator& CachingAllocator::Default() {
  static CachingAllocator* const instance = new CachingAllocator();
  return *instance;
}

size_t CachingAllocator::SizeClass(size_t bytes) const {
  if (bytes < options_.min_cached_bytes) {
    return RoundUp(bytes == 0 ? 1 : bytes, kAlignment);
  }
  // Four classes per power of two: step = 2^floor(log2(bytes)) / 4.
  const int log2 = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes));
  const size_t step = std::max<size_t>(kAlignment, (size_t{1} << log2) / 4);
  return RoundUp(bytes, step);
}

absl::StatusOr<std::shared_ptr<void>> CachingAllocator::Allocate(size_t bytes) {
  if (bytes > (size_t{1} << 48)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "weft::cpu::CachingAllocator: a block of ", bytes,
        " bytes exceeds the address space; check the tensor's shape"));
  }
  const size_t size = SizeClass(bytes);
  if (bytes < options_.min_cached_bytes) {
    pool_->uncached.fetch_add(1, std::memory_order_relaxed);
    if (size <= kMaxSmallBlock) return AllocateSmall(size);
    void* p = SystemAllocate(size);
    if (p == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "weft::cpu::CachingAllocator: out of memory for ", bytes, " bytes"));
    }
    return std::shared_ptr<void>(p, [](void* q) { SystemFree(q); });
  }
  void* p = nullptr;
  {
    absl::MutexLock lock(&pool_->mu);
    Pool::SizeClassState& c = pool_->classes[size];
    if (!c.idle.empty()) {
      p = c.idle.back();
      c.idle.pop_back();
      pool_->cached_bytes -= size;
      ++pool_->stats.hits;
      pool_->AddLive(c, size);
    } else {
      ++pool_->stats.misses;
    }
  }
  if (p == nullptr) {
    p = SystemAllocate(size);
    if (p == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("weft::cpu::CachingAllocator: out of memory for ", bytes,
                       " bytes (size class ", size,
                       "); Trim() other allocators or lower the batch size"));
    }
    // Counted once it exists: a failed huge request must not raise the
    // peak (and with it the idle bound).
    absl::MutexLock lock(&pool_->mu);
    pool_->AddLive(pool_->classes[size], size);
  }
  // The requested bytes are usable; the slack up to the class stays
  // poisoned under ASan.
  WEFT_POISON(p, size);
  WEFT_UNPOISON(p, bytes);
  std::shared_ptr<Pool> pool = pool_;
  return std::shared_ptr<void>(p, [pool = std::move(pool), size](void* q) {
    WEFT_UNPOISON(q, size);
    pool->Release(q, size);
  });
}

void CachingAllocator::Trim() {
  std::vector<std::pair<void*, size_t>> blocks;
  {
    absl::MutexLock lock(&pool_->mu);
    blocks = pool_->TakeAll();
  }
  for (auto [p, size] : blocks) {
    WEFT_UNPOISON(p, size);
    SystemFree(p);
  }
}

CachingAllocatorStats CachingAllocator::stats() const {
  absl::MutexLock lock(&pool_->mu);
  CachingAllocatorStats s = pool_->stats;
  s.uncached = pool_->uncached.load(std::memory_order_relaxed);
  s.cached_bytes = pool_->cached_bytes;
  s.live_bytes = pool_->live_bytes;
  return s;
}

}  // namespace cpu
}  // namespace weft
