#include "graph/device_kind.h"

#include <algorithm>

#include "absl/base/const_init.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/graph_impl.h"

namespace weft {
namespace {

using internal::Quoted;

// Registered kinds. Guarded by a function-local mutex; "cpu" is present from
// the start.
struct KindTable {
  absl::Mutex mu;
  absl::flat_hash_set<std::string> kinds ABSL_GUARDED_BY(mu) = {"cpu"};
};

KindTable& Table() {
  static KindTable* table = new KindTable();
  return *table;
}

}  // namespace

absl::Status RegisterDeviceKind(std::string_view kind) {
  bool ok = !kind.empty() && absl::ascii_islower(kind[0]);
  for (char c : kind) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RegisterDeviceKind: invalid kind ", Quoted(kind),
        "; kinds are lowercase letters, digits and '_', starting with a "
        "letter"));
  }
  KindTable& t = Table();
  absl::MutexLock lock(&t.mu);
  if (!t.kinds.insert(std::string(kind)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("device kind ", Quoted(kind), " is already registered"));
  }
  return absl::OkStatus();
}

bool IsDeviceKindRegistered(std::string_view kind) {
  KindTable& t = Table();
  absl::MutexLock lock(&t.mu);
  return t.kinds.contains(kind);
}

std::vector<std::string> RegisteredDeviceKinds() {
  KindTable& t = Table();
  absl::MutexLock lock(&t.mu);
  std::vector<std::string> out(t.kinds.begin(), t.kinds.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::string_view DeviceKindOf(std::string_view device) {
  const std::string_view local = LocalDeviceOf(device);
  return local.substr(0, local.find(':'));
}

std::string TaskName::ToString() const {
  return absl::StrCat("/job:", job, "/task:", task);
}

std::optional<TaskName> ParseTaskName(std::string_view name) {
  constexpr std::string_view kJob = "/job:";
  constexpr std::string_view kTask = "/task:";
  if (!absl::ConsumePrefix(&name, kJob)) return std::nullopt;
  const size_t end = name.find('/');
  if (end == std::string_view::npos || end == 0) return std::nullopt;
  TaskName out;
  out.job = std::string(name.substr(0, end));
  if (!absl::ascii_islower(static_cast<unsigned char>(out.job[0]))) {
    return std::nullopt;
  }
  for (char c : out.job) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return std::nullopt;
    }
  }
  name.remove_prefix(end);
  if (!absl::ConsumePrefix(&name, kTask) || name.empty()) return std::nullopt;
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (!absl::SimpleAtoi(name, &out.task)) return std::nullopt;
  return out;
}

std::string_view DeviceTaskOf(std::string_view device) {
  if (device.empty() || device[0] != '/') return {};
  return device.substr(0, device.rfind('/'));
}

std::string_view LocalDeviceOf(std::string_view device) {
  if (device.empty() || device[0] != '/') return device;
  return device.substr(device.rfind('/') + 1);
}

absl::Status CheckDeviceName(std::string_view device) {
  if (absl::Status s = ValidateDeviceName(device); !s.ok() || device.empty()) {
    return s;
  }
  const std::string_view kind = DeviceKindOf(device);
  if (!IsDeviceKindRegistered(kind)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device ", Quoted(device), " has kind ", Quoted(kind),
        ", which is not registered (registered kinds: ",
        absl::StrJoin(RegisteredDeviceKinds(), ", "),
        "); name a registered kind, or register one with RegisterDeviceKind "
        "and a DeviceFactory"));
  }
  return absl::OkStatus();
}

}  // namespace weft
