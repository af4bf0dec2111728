// device_kind.h — defines the process-wide list of registered device kinds
// ("cpu" is built in) and the device-name checks op builders and sessions
// share. A device is named "<kind>:<index>" ("cpu:1"); naming a kind nobody
// registered is an error when the op is built or the session is created.
// The run-time side of a device (its threads and allocator) is
// weft::Device in runtime/device.h, created by the factory registered for
// its kind.
//
//   absl::Status s = CheckDeviceName("gpu:0");
//   // kInvalidArgument: "device 'gpu:0' has kind 'gpu', which is not
//   // registered (registered kinds: cpu)"
#ifndef WEFT_GRAPH_DEVICE_KIND_H_
#define WEFT_GRAPH_DEVICE_KIND_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace weft {

// Adds `kind` (lowercase letters, digits and '_', starting with a letter).
// kAlreadyExists if registered, kInvalidArgument if malformed.
[[nodiscard]] absl::Status RegisterDeviceKind(std::string_view kind);
bool IsDeviceKindRegistered(std::string_view kind);
// Sorted.
std::vector<std::string> RegisteredDeviceKinds();

// OK for "" (no request) and for a well-formed "<kind>:<index>" whose kind is
// registered; kInvalidArgument saying which rule failed otherwise.
[[nodiscard]] absl::Status CheckDeviceName(std::string_view device);

// The kind of a well-formed device name ("cpu" for "cpu:1").
std::string_view DeviceKindOf(std::string_view device);

}  // namespace weft

#endif  // WEFT_GRAPH_DEVICE_KIND_H_
