// Tests of kernels/cpu/caching_allocator.h: size classes, reuse, the byte
// bound and the workload bound, Trim, blocks outliving the allocator,
// alignment, statistics under concurrent use, and (under AddressSanitizer)
// poisoning of cached blocks.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/caching_allocator.h"

namespace weft {
namespace cpu {
namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * 1024;

}  // namespace
}  // namespace cpu
}  // namespace weft

// AFailedRequestDoesNotRaiseTheWorkloadBound asks for 128 TiB: under the
// sanitizers the allocator must return null for it, as glibc does, rather
// than report it.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1";
}
extern "C" const char* __tsan_default_options() {
  return "allocator_may_return_null=1";
}

namespace weft {
namespace cpu {
namespace {

std::shared_ptr<void> MustAllocate(CachingAllocator& alloc, size_t bytes) {
  absl::StatusOr<std::shared_ptr<void>> p = alloc.Allocate(bytes);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : nullptr;
}

TEST(CachingAllocator, SizeClassesAreQuarterPowersOfTwoAboveTheThreshold) {
  CachingAllocator alloc;
  EXPECT_EQ(alloc.SizeClass(0), 64u);
  EXPECT_EQ(alloc.SizeClass(100), 128u);
  EXPECT_EQ(alloc.SizeClass(256 * kKiB - 1), 256 * kKiB);  // rounded to 64
  EXPECT_EQ(alloc.SizeClass(256 * kKiB), 256 * kKiB);
  EXPECT_EQ(alloc.SizeClass(1 * kMiB), 1 * kMiB);
  EXPECT_EQ(alloc.SizeClass(1 * kMiB + 1), 1 * kMiB + 256 * kKiB);
  EXPECT_EQ(alloc.SizeClass(1 * kMiB + 300 * kKiB), 1 * kMiB + 512 * kKiB);
  EXPECT_EQ(alloc.SizeClass(64 * kMiB - 1), 64 * kMiB);
}

TEST(CachingAllocator, ReusesReleasedBlocksOfTheSameClass) {
  CachingAllocator alloc;
  void* first;
  {
    std::shared_ptr<void> a = MustAllocate(alloc, 3 * kMiB);
    first = a.get();
    std::memset(a.get(), 1, 3 * kMiB);
    EXPECT_EQ(alloc.stats().live_bytes, 3 * kMiB);
  }
  EXPECT_EQ(alloc.stats().cached_bytes, 3 * kMiB);
  // A slightly smaller request of the same class gets the same block.
  std::shared_ptr<void> b = MustAllocate(alloc, 3 * kMiB - 1000);
  EXPECT_EQ(b.get(), first);
  const CachingAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.live_bytes, 3 * kMiB);
}

TEST(CachingAllocator, SmallRequestsBypassTheCache) {
  CachingAllocator alloc;
  { std::shared_ptr<void> a = MustAllocate(alloc, 1000); }
  const CachingAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.uncached, 1u);
  EXPECT_EQ(s.hits + s.misses, 0u);
  EXPECT_EQ(s.cached_bytes, 0u);
}

TEST(CachingAllocator, BoundsTheCachedBytes) {
  CachingAllocator alloc(
      {.min_cached_bytes = 256 * kKiB, .max_cached_bytes = 2 * kMiB});
  {
    std::vector<std::shared_ptr<void>> blocks;
    for (int i = 0; i < 3; ++i) blocks.push_back(MustAllocate(alloc, kMiB));
  }
  // Two fit under the bound; the third was freed.
  EXPECT_EQ(alloc.stats().cached_bytes, 2 * kMiB);
  alloc.Trim();
  EXPECT_EQ(alloc.stats().cached_bytes, 0u);
  { std::shared_ptr<void> a = MustAllocate(alloc, kMiB); }
  EXPECT_EQ(alloc.stats().misses, 4u);
}

TEST(CachingAllocator, BlocksMayOutliveTheAllocator) {
  constexpr size_t kBytes = 2 * kMiB;
  std::shared_ptr<void> survivor;
  {
    CachingAllocator alloc;
    survivor = MustAllocate(alloc, kBytes);
    ASSERT_NE(survivor, nullptr);
    std::memset(survivor.get(), 0x5a, kBytes);
    {
      std::shared_ptr<void> cached = MustAllocate(alloc, kBytes);
      ASSERT_NE(cached, nullptr);
      EXPECT_NE(cached.get(), survivor.get());
    }
    // The released block is idle in the free list, the survivor in use;
    // destroying the allocator frees the first and leaves the second alone.
    const CachingAllocatorStats s = alloc.stats();
    EXPECT_EQ(s.misses, 2u);
    EXPECT_EQ(s.cached_bytes, kBytes);
    EXPECT_EQ(s.live_bytes, kBytes);
  }
  // The survivor still holds what was written while the allocator lived,
  // and writing it afterwards is fine (ASan checks every access).
  const unsigned char* bytes =
      static_cast<const unsigned char*>(survivor.get());
  size_t wrong = 0;
  for (size_t i = 0; i < kBytes; ++i) wrong += bytes[i] != 0x5a ? 1 : 0;
  EXPECT_EQ(wrong, 0u);
  std::memset(survivor.get(), 7, kBytes);
  EXPECT_EQ(bytes[0], 7);
  EXPECT_EQ(bytes[kBytes - 1], 7);
  // The test holds the only reference, and dropping it runs the block's
  // deleter, which frees it without the allocator (LeakSanitizer reports
  // the block at exit if it is not freed; ASan any use of the gone
  // allocator).
  EXPECT_EQ(survivor.use_count(), 1);
  std::weak_ptr<void> watch = survivor;
  survivor.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(CachingAllocator, BlocksAre64ByteAligned) {
  CachingAllocator alloc;
  for (size_t bytes :
       {size_t{1}, size_t{63}, size_t{4097}, 300 * kKiB, 5 * kMiB + 3}) {
    std::shared_ptr<void> p = MustAllocate(alloc, bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % 64, 0u) << bytes;
  }
}

TEST(CachingAllocator, DefaultIsOneInstance) {
  EXPECT_EQ(&CachingAllocator::Default(), &CachingAllocator::Default());
}

// One "run" of a workload: blocks of two classes, at most three live at
// once (8 MiB), but two of each class live at some point (10 MiB).
void RunWorkload(CachingAllocator& alloc) {
  std::shared_ptr<void> a = MustAllocate(alloc, 2 * kMiB);
  std::shared_ptr<void> b = MustAllocate(alloc, 2 * kMiB);
  a.reset();
  std::shared_ptr<void> c = MustAllocate(alloc, 3 * kMiB);
  std::shared_ptr<void> d = MustAllocate(alloc, 3 * kMiB);
}

TEST(CachingAllocator, BoundByWorkloadKeepsEveryBlockARepeatedRunNeeds) {
  CachingAllocator alloc({.min_cached_bytes = 256 * kKiB,
                          .max_cached_bytes = kMiB,
                          .bound_by_workload = true});
  RunWorkload(alloc);
  CachingAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.misses, 4u);
  EXPECT_EQ(s.peak_live_bytes, 8 * kMiB);
  EXPECT_EQ(s.class_peak_bytes, 10 * kMiB);
  // Every block stays cached: more than the peak of live bytes.
  EXPECT_EQ(s.cached_bytes, 10 * kMiB);
  for (int run = 0; run < 3; ++run) RunWorkload(alloc);
  s = alloc.stats();
  EXPECT_EQ(s.misses, 4u);  // The later runs only hit.
  EXPECT_EQ(s.hits, 12u);
  EXPECT_EQ(s.cached_bytes, 10 * kMiB);

  // The same workload under a fixed bound of its peak (8 MiB) misses a
  // block in every run.
  CachingAllocator fixed(
      {.min_cached_bytes = 256 * kKiB, .max_cached_bytes = 8 * kMiB});
  for (int run = 0; run < 4; ++run) RunWorkload(fixed);
  EXPECT_GT(fixed.stats().misses, 4u);
}

// Allocates and releases, one at a time, a block of each of the classes
// of 1, 1.25, ... `max_quarters` / 4 MiB; returns the largest class.
size_t OneBlockAtATime(CachingAllocator& alloc, size_t max_quarters) {
  size_t largest = 0;
  for (size_t quarters = 4; quarters <= max_quarters; ++quarters) {
    const size_t bytes = quarters * kMiB / 4;
    largest = std::max(largest, alloc.SizeClass(bytes));
    MustAllocate(alloc, bytes);  // Released at once.
  }
  return largest;
}

TEST(CachingAllocator, BoundByWorkloadStaysWithinTwiceThePeakOfLiveBytes) {
  CachingAllocator alloc({.min_cached_bytes = 256 * kKiB,
                          .max_cached_bytes = kMiB,
                          .bound_by_workload = true});
  const size_t largest = OneBlockAtATime(alloc, 16);  // up to 4 MiB
  const CachingAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.peak_live_bytes, largest);
  EXPECT_GT(s.class_peak_bytes, 2 * largest);
  EXPECT_LE(s.cached_bytes, 2 * largest);
  EXPECT_GT(s.cached_bytes, largest);
}

TEST(CachingAllocator, BoundByWorkloadKeepsItsFloor) {
  CachingAllocator alloc({.min_cached_bytes = 256 * kKiB,
                          .max_cached_bytes = 4 * kMiB,
                          .bound_by_workload = true});
  // 1, 1.25 and 1.5 MiB: 3.75 MiB, past twice the peak (3 MiB) but within
  // the floor, so all three stay.
  OneBlockAtATime(alloc, 6);
  EXPECT_EQ(alloc.stats().cached_bytes, 15 * kMiB / 4);
  // A 1.75 MiB block no longer fits under either.
  MustAllocate(alloc, 7 * kMiB / 4);
  EXPECT_EQ(alloc.stats().cached_bytes, 15 * kMiB / 4);
}

TEST(CachingAllocator, AFailedRequestDoesNotRaiseTheWorkloadBound) {
  CachingAllocator alloc({.min_cached_bytes = 256 * kKiB,
                          .max_cached_bytes = 0,
                          .bound_by_workload = true});
  // 128 TiB: within the size check, past any machine's memory.
  absl::StatusOr<std::shared_ptr<void>> huge = alloc.Allocate(size_t{1} << 47);
  ASSERT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(huge.status().message(), ::testing::HasSubstr("out of memory"));
  CachingAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.peak_live_bytes, 0u);
  EXPECT_EQ(s.class_peak_bytes, 0u);
  EXPECT_EQ(s.live_bytes, 0u);
  // The bound still follows the blocks that existed.
  const size_t largest = OneBlockAtATime(alloc, 16);
  EXPECT_LE(alloc.stats().cached_bytes, 2 * largest);
}

TEST(CachingAllocator, RejectsImpossibleSizes) {
  CachingAllocator alloc;
  absl::StatusOr<std::shared_ptr<void>> p = alloc.Allocate(~size_t{0});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(p.status().message(),
              ::testing::HasSubstr("exceeds the address space; check the "
                                   "tensor's shape"));
}

TEST(CachingAllocator, ConcurrentUseKeepsCountsConsistent) {
  CachingAllocator alloc;
  constexpr int kThreads = 4, kIterations = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&alloc, t] {
      std::mt19937 rng(t);
      std::vector<std::shared_ptr<void>> held;
      for (int i = 0; i < kIterations; ++i) {
        const size_t bytes = 256 * kKiB + (rng() % 8) * 100 * kKiB;
        std::shared_ptr<void> p = MustAllocate(alloc, bytes);
        ASSERT_NE(p, nullptr);
        // Write the first and last bytes; another thread must not own them.
        static_cast<char*>(p.get())[0] = static_cast<char>(t);
        static_cast<char*>(p.get())[bytes - 1] = static_cast<char>(t);
        held.push_back(std::move(p));
        if (held.size() > 3) {
          EXPECT_EQ(static_cast<char*>(held.front().get())[0],
                    static_cast<char>(t));
          held.erase(held.begin());  // released on this thread
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const CachingAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.hits + s.misses, uint64_t{kThreads} * kIterations);
  EXPECT_GT(s.hits, 0u);
  EXPECT_EQ(s.live_bytes, 0u);
}

#if defined(__SANITIZE_ADDRESS__)
TEST(CachingAllocatorDeathTest, TouchingACachedBlockIsReported) {
  EXPECT_DEATH(
      {
        CachingAllocator alloc;
        char* raw;
        {
          std::shared_ptr<void> p = MustAllocate(alloc, kMiB);
          raw = static_cast<char*>(p.get());
        }
        raw[100] = 1;  // the block is cached and poisoned
      },
      "use-after-poison");
}

TEST(CachingAllocatorDeathTest, TheSlackOfTheSizeClassIsPoisoned) {
  EXPECT_DEATH(
      {
        CachingAllocator alloc;
        std::shared_ptr<void> p = MustAllocate(alloc, kMiB + 8);
        static_cast<char*>(p.get())[kMiB + 64] = 1;  // past the request
      },
      "use-after-poison");
}
#endif

}  // namespace
}  // namespace cpu
}  // namespace weft
