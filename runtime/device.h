// device.h — defines weft::Device, the run-time side of one device of a
// Session (its threads, its allocator), weft::DeviceMemoryStats (what a
// device's allocator holds), and the registry of device
// factories by kind. The built-in kind "cpu" is a oneTBB task_arena per
// device; other kinds register a factory (and so their kind, see
// graph/device_kind.h) before sessions name them.
//
//   absl::Status s = RegisterDeviceFactory(
//       "fake", [](const DeviceOptions& o) ->
//       absl::StatusOr<std::unique_ptr<Device>> {
//         return std::make_unique<MyDevice>(o);
//       });
//   auto session = Session::Create(g, {.devices = {"cpu:0", "fake:0"}});
#ifndef WEFT_RUNTIME_DEVICE_H_
#define WEFT_RUNTIME_DEVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/ndarray.h"

namespace weft {

struct DeviceOptions {
  std::string name;  // "cpu:1"
  // Worker threads for this device; 0 = the kind's default (for cpu,
  // oneTBB's default concurrency).
  int num_threads = 0;
};

// The memory one device keeps for a session's runs (Session::memory_stats).
// For a cpu device: the blocks of its caching allocator, i.e. kernel
// outputs of at least 256 KiB (smaller ones come from the heap).
struct DeviceMemoryStats {
  std::string device;           // "cpu:0"
  int64_t live_bytes = 0;       // in use: arrays of runs, fetched ones held
  int64_t idle_bytes = 0;       // kept for the next runs
  int64_t peak_live_bytes = 0;  // the most in use at once so far
};

// One device of a session. The executor runs a partition's steps through
// Schedule (new work) and Execute (the calling thread joining in).
//
// Thread safety: all methods may be called concurrently from any thread.
class Device {
 public:
  explicit Device(DeviceOptions options) : options_(std::move(options)) {}
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& name() const { return options_.name; }
  std::string_view kind() const;
  int num_threads() const { return options_.num_threads; }

  // Runs `fn` later, once, on one of the device's threads. `fn` may be
  // move-only, like every weft callback.
  virtual void Schedule(absl::AnyInvocable<void()> fn) = 0;
  // Runs `fn` on the calling thread as one of the device's threads (work
  // that `fn` spawns stays on this device); returns when `fn` returns.
  virtual void Execute(absl::FunctionRef<void()> fn) = 0;
  // Where kernels on this device allocate outputs; nullptr = the heap.
  virtual BufferAllocator* allocator() { return nullptr; }
  // What the device's allocator holds; zeros (and the name) for a device
  // that keeps nothing.
  virtual DeviceMemoryStats memory_stats() const {
    return {.device = options_.name};
  }
  // Frees the memory the device keeps for reuse (idle blocks); memory in
  // use is untouched. Safe while runs are in flight.
  virtual void ReleaseIdleMemory() {}

 protected:
  DeviceOptions options_;
};

using DeviceFactory = std::function<absl::StatusOr<std::unique_ptr<Device>>(
    const DeviceOptions&)>;

// Registers `factory` for device `kind` and registers the kind itself
// (RegisterDeviceKind). kAlreadyExists if the kind has a factory.
[[nodiscard]] absl::Status RegisterDeviceFactory(std::string_view kind,
                                                 DeviceFactory factory);

// Creates the device `options.name` with its kind's factory. kInvalidArgument
// for a malformed name or a kind without a factory (listing the kinds).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Device>> CreateDevice(
    const DeviceOptions& options);

}  // namespace weft

#endif  // WEFT_RUNTIME_DEVICE_H_
