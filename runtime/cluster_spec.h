// cluster_spec.h — defines weft::ClusterSpec, the tasks of a cluster: each
// job's task addresses ("host:port"), task i of a job at index i. A Session
// given one (SessionOptions::cluster) runs the partitions its graph places
// on "/job:<job>/task:<i>/<device>" on those tasks' servers
// (distributed/server.h, which re-exports this header).
//
//   absl::StatusOr<ClusterSpec> cluster = ClusterSpec::Create(
//       {{"worker", {"127.0.0.1:5000", "127.0.0.1:5001"}}});
//   cluster->TaskAddress("worker", 1);  // "127.0.0.1:5001"
#ifndef WEFT_RUNTIME_CLUSTER_SPEC_H_
#define WEFT_RUNTIME_CLUSTER_SPEC_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace weft {

// TLS material for a cluster's connections, as PEM files.
struct ClusterTls {
  // The CA certificates the peer's certificate must chain to.
  std::string ca_file;
  // This side's certificate chain and private key: a server's own, or a
  // client's for mutual TLS.
  std::string cert_file;
  std::string key_file;
  // A client: the name the server certificates must carry, when it is not
  // the host of the address (e.g. "localhost" for 127.0.0.1).
  std::string server_name_override;
  bool empty() const { return ca_file.empty() && cert_file.empty(); }
};

// Thread safety: immutable; share freely.
class ClusterSpec {
 public:
  // kInvalidArgument for no jobs, a job name that is not lowercase letters,
  // digits, '_' and '-' starting with a letter, a job without tasks, or an
  // address that is not "host:port" with a port in 1..65535; each error
  // names the job and task.
  [[nodiscard]] static absl::StatusOr<ClusterSpec> Create(
      std::map<std::string, std::vector<std::string>> jobs);

  // The address of task `task` of `job`; kNotFound naming the cluster's
  // jobs and task counts.
  [[nodiscard]] absl::StatusOr<std::string> TaskAddress(std::string_view job,
                                                        int task) const;
  const std::map<std::string, std::vector<std::string>>& jobs() const {
    return jobs_;
  }
  // "worker: [127.0.0.1:5000, 127.0.0.1:5001]; ps: [...]".
  std::string DebugString() const;

 private:
  explicit ClusterSpec(std::map<std::string, std::vector<std::string>> jobs)
      : jobs_(std::move(jobs)) {}
  std::map<std::string, std::vector<std::string>> jobs_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_CLUSTER_SPEC_H_
