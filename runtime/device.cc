#include "runtime/device.h"

#include <algorithm>
#include <atomic>

#include "absl/base/const_init.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "kernels/cpu/caching_allocator.h"
#include "kernels/cpu/parallel.h"
#include "oneapi/tbb/global_control.h"
#include "oneapi/tbb/info.h"
#include "oneapi/tbb/task_arena.h"

namespace weft {
namespace {

using internal::Quoted;

// oneTBB starts hardware_concurrency - 1 workers, shared by every arena; on
// a small machine that is too few for all partitions of a step to run at
// once. weft keeps one process-wide tbb::global_control raised to what the
// devices alive need. A user's own global_control with a smaller value
// still wins (oneTBB takes the minimum).
void EnsureParallelism(size_t needed) {
  static absl::Mutex mu(absl::kConstInit);
  static size_t current ABSL_GUARDED_BY(mu) = 0;
  static tbb::global_control* control ABSL_GUARDED_BY(mu) = nullptr;
  absl::MutexLock lock(&mu);
  if (needed <= current ||
      needed <= static_cast<size_t>(tbb::info::default_concurrency())) {
    return;
  }
  delete control;
  control = new tbb::global_control(
      tbb::global_control::max_allowed_parallelism, needed);
  current = needed;
}

// Kernel outputs of a cpu device come from its own caching allocator: a
// steady-state run of the same graph reuses the blocks of the previous one
// instead of mapping fresh pages, and the cache goes with the device (the
// Session). Blocks still referenced then are freed when released. The idle
// blocks it keeps are bounded by 256 MiB or, when more, by what the runs
// need (CachingAllocatorOptions::bound_by_workload): PaddleOCR det at batch
// 8 needs 0.94 GB of blocks, and under a fixed 256 MiB each run mapped and
// faulted in most of them again (a run 270 -> 167 ms; docs/perf.md).
class CachingBufferAllocator : public BufferAllocator {
 public:
  std::shared_ptr<void> AllocateBuffer(size_t bytes) override {
    absl::StatusOr<std::shared_ptr<void>> b = cache_.Allocate(bytes);
    return b.ok() ? *std::move(b) : nullptr;
  }
  cpu::CachingAllocator& cache() { return cache_; }
  const cpu::CachingAllocator& cache() const { return cache_; }

 private:
  cpu::CachingAllocator cache_{cpu::CachingAllocatorOptions{
      .max_cached_bytes = kMinCachedBytesBound, .bound_by_workload = true}};
  static constexpr size_t kMinCachedBytesBound = size_t{256} << 20;
};

// The built-in CPU device: a oneTBB task_arena with one slot reserved for
// the thread that calls Execute, and a compute arena of the same size in
// which the kernels of its workers' tasks split their work (kernels/cpu/
// parallel.h): a kernel running on a worker, while the caller waits
// outside, still gets the device's num_threads (in the task arena the
// caller's reserved slot would stay empty).
class CpuDevice : public Device {
 public:
  explicit CpuDevice(DeviceOptions options) : Device(std::move(options)) {
    const int threads = options_.num_threads > 0
                            ? options_.num_threads
                            : tbb::info::default_concurrency();
    options_.num_threads = threads;
    // Every cpu device alive gets its threads (the limit only rises).
    EnsureParallelism(alive_threads_.fetch_add(threads) + threads + 1);
    arena_ = std::make_unique<tbb::task_arena>(threads, kReservedSlots);
    // Its reserved slot takes the thread that brings a kernel's loop in;
    // workers fill the others.
    compute_arena_ = std::make_unique<tbb::task_arena>(threads, kReservedSlots);
  }
  ~CpuDevice() override { alive_threads_.fetch_sub(options_.num_threads); }

  void Schedule(absl::AnyInvocable<void()> fn) override {
    // oneTBB keeps an enqueued functor const and calls it so; AnyInvocable's
    // call is not const, so the task holds it mutable (it runs once).
    struct Task {
      tbb::task_arena* compute;
      mutable absl::AnyInvocable<void()> fn;
      void operator()() const {
        cpu::ScopedComputeArena scope(compute);
        fn();
      }
    };
    arena_->enqueue(Task{compute_arena_.get(), std::move(fn)});
  }
  void Execute(absl::FunctionRef<void()> fn) override {
    arena_->execute([&] {
      // A caller in its reserved slot leaves the arena's other slots to
      // workers, which join its kernels' loops there: no arena switch per
      // loop. Anywhere else (its functor went to a worker) it is a worker.
      if (tbb::this_task_arena::current_thread_index() < kReservedSlots) {
        fn();
        return;
      }
      cpu::ScopedComputeArena scope(compute_arena_.get());
      fn();
    });
  }
  BufferAllocator* allocator() override { return &allocator_; }
  DeviceMemoryStats memory_stats() const override {
    const cpu::CachingAllocatorStats s = allocator_.cache().stats();
    return {.device = name(),
            .live_bytes = static_cast<int64_t>(s.live_bytes),
            .idle_bytes = static_cast<int64_t>(s.cached_bytes),
            .peak_live_bytes = static_cast<int64_t>(s.peak_live_bytes)};
  }
  void ReleaseIdleMemory() override { allocator_.cache().Trim(); }

 private:
  CachingBufferAllocator allocator_;
  // The caller's slot in the device's arena; the compute arena's slot for
  // the thread that enters it.
  static constexpr int kReservedSlots = 1;
  static inline std::atomic<int> alive_threads_{0};
  std::unique_ptr<tbb::task_arena> arena_;
  std::unique_ptr<tbb::task_arena> compute_arena_;
};

struct FactoryTable {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, DeviceFactory> factories ABSL_GUARDED_BY(mu);
};

FactoryTable& Factories() {
  static FactoryTable* table = [] {
    auto* t = new FactoryTable();
    absl::MutexLock lock(&t->mu);
    t->factories["cpu"] =
        [](const DeviceOptions& o) -> absl::StatusOr<std::unique_ptr<Device>> {
      return std::unique_ptr<Device>(new CpuDevice(o));
    };
    return t;
  }();
  return *table;
}

}  // namespace

std::string_view Device::kind() const { return DeviceKindOf(name()); }

absl::Status RegisterDeviceFactory(std::string_view kind,
                                   DeviceFactory factory) {
  if (!factory) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RegisterDeviceFactory: null factory for kind ", Quoted(kind)));
  }
  FactoryTable& t = Factories();
  absl::MutexLock lock(&t.mu);
  if (t.factories.contains(kind)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "a device factory for kind ", Quoted(kind), " is already registered"));
  }
  if (!IsDeviceKindRegistered(kind)) {
    if (absl::Status s = RegisterDeviceKind(kind); !s.ok()) return s;
  }
  t.factories.emplace(std::string(kind), std::move(factory));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Device>> CreateDevice(
    const DeviceOptions& options) {
  if (absl::Status s = CheckDeviceName(options.name); !s.ok()) return s;
  if (options.name.empty()) {
    return absl::InvalidArgumentError("CreateDevice: empty device name");
  }
  if (options.num_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("device ", Quoted(options.name), ": num_threads is ",
                     options.num_threads, "; use 0 for the default"));
  }
  DeviceFactory factory;
  std::vector<std::string> kinds;
  {
    FactoryTable& t = Factories();
    absl::MutexLock lock(&t.mu);
    auto it = t.factories.find(DeviceKindOf(options.name));
    if (it != t.factories.end()) factory = it->second;
    for (const auto& [k, f] : t.factories) kinds.push_back(k);
  }
  if (!factory) {
    std::sort(kinds.begin(), kinds.end());
    return absl::InvalidArgumentError(
        absl::StrCat("device ", Quoted(options.name), " has kind ",
                     Quoted(DeviceKindOf(options.name)),
                     ", which has no DeviceFactory (kinds with one: ",
                     absl::StrJoin(kinds, ", "), ")"));
  }
  absl::StatusOr<std::unique_ptr<Device>> device = factory(options);
  if (device.ok() && *device == nullptr) {
    return absl::InternalError(absl::StrCat(
        "the factory for ", Quoted(options.name), " returned no device"));
  }
  return device;
}

}  // namespace weft
