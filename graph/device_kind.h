// device_kind.h — defines the process-wide list of registered device kinds
// ("cpu" is built in) and the device-name checks op builders and sessions
// share. A device is named "<kind>:<index>" ("cpu:1"), or, on another
// process of a cluster (distributed/server.h), "/job:<name>/task:<i>/" and
// then that ("/job:worker/task:1/cpu:0"); naming a kind nobody registered is
// an error when the op is built or the session is created.
// The run-time side of a device (its threads and allocator) is
// weft::Device in runtime/device.h, created by the factory registered for
// its kind.
//
//   absl::Status s = CheckDeviceName("gpu:0");
//   // kInvalidArgument: "device 'gpu:0' has kind 'gpu', which is not
//   // registered (registered kinds: cpu)"
#ifndef WEFT_GRAPH_DEVICE_KIND_H_
#define WEFT_GRAPH_DEVICE_KIND_H_

#include <optional>
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

// The kind of a well-formed device name ("cpu" for "cpu:1" and for
// "/job:worker/task:0/cpu:1").
std::string_view DeviceKindOf(std::string_view device);

// A task of a cluster: "/job:<job>/task:<task>".
struct TaskName {
  std::string job;  // Lowercase letters, digits, '_' and '-', from a letter.
  int task = 0;
  std::string ToString() const;  // "/job:worker/task:1"
  friend bool operator==(const TaskName&, const TaskName&) = default;
};
// `name` as a TaskName; nullopt unless it is exactly "/job:<job>/task:<i>".
std::optional<TaskName> ParseTaskName(std::string_view name);
// The task part of a well-formed device name ("/job:worker/task:0" for
// "/job:worker/task:0/cpu:1"), "" for a device of this process ("cpu:1").
std::string_view DeviceTaskOf(std::string_view device);
// The device within its task ("cpu:1" for "/job:worker/task:0/cpu:1").
std::string_view LocalDeviceOf(std::string_view device);

}  // namespace weft

#endif  // WEFT_GRAPH_DEVICE_KIND_H_
