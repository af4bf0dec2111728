#include "runtime/cluster_spec.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/device_kind.h"
#include "graph/error_util.h"

namespace weft {

using internal::Quoted;

absl::StatusOr<ClusterSpec> ClusterSpec::Create(
    std::map<std::string, std::vector<std::string>> jobs) {
  if (jobs.empty()) {
    return absl::InvalidArgumentError(
        "ClusterSpec::Create: no jobs; name at least one, like "
        "{{\"worker\", {\"127.0.0.1:5000\"}}}");
  }
  for (const auto& [job, tasks] : jobs) {
    if (!ParseTaskName(absl::StrCat("/job:", job, "/task:0")).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ClusterSpec::Create: invalid job name ", Quoted(job),
          "; job names are lowercase letters, digits, '_' and '-', starting "
          "with a letter"));
    }
    if (tasks.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ClusterSpec::Create: job ", Quoted(job), " has no tasks"));
    }
    for (size_t i = 0; i < tasks.size(); ++i) {
      const std::string& a = tasks[i];
      const size_t colon = a.rfind(':');
      int port = 0;
      if (colon == std::string::npos || colon == 0 ||
          !absl::SimpleAtoi(a.substr(colon + 1), &port) || port < 1 ||
          port > 65535) {
        return absl::InvalidArgumentError(absl::StrCat(
            "ClusterSpec::Create: task ", i, " of job ", Quoted(job),
            " has address ", Quoted(a),
            "; addresses are 'host:port' with a port in 1..65535"));
      }
    }
  }
  return ClusterSpec(std::move(jobs));
}

absl::StatusOr<std::string> ClusterSpec::TaskAddress(std::string_view job,
                                                     int task) const {
  auto it = jobs_.find(std::string(job));
  if (it == jobs_.end() || task < 0 ||
      task >= static_cast<int>(it->second.size())) {
    return absl::NotFoundError(absl::StrCat("the cluster has no task ", task,
                                            " of job ", Quoted(job),
                                            " (cluster: ", DebugString(), ")"));
  }
  return it->second[task];
}

std::string ClusterSpec::DebugString() const {
  std::vector<std::string> parts;
  for (const auto& [job, tasks] : jobs_) {
    parts.push_back(absl::StrCat(job, ": [", absl::StrJoin(tasks, ", "), "]"));
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace weft
