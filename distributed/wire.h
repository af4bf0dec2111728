// wire.h — the conversions between weft's types and the gRPC island's
// standard ones (distributed/transport.h): absl::Status <-> RpcStatus,
// NDArray -> OutTensor, an NDArray TensorSink; the parse of a transfer key
// into its two devices; a cluster-unique step id. Internal to distributed/.
#ifndef WEFT_DISTRIBUTED_WIRE_H_
#define WEFT_DISTRIBUTED_WIRE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "distributed/transport.h"
#include "graph/ndarray.h"
#include "runtime/cluster_spec.h"

namespace weft::distributed_internal {

transport::RpcStatus ToRpc(const absl::Status& status);
absl::Status FromRpc(const transport::RpcStatus& status);

// `tls` as the transport's TLS files (a server's own files, or a client's);
// kInvalidArgument "<what> has a cert_file but no key_file" for a
// certificate without its key.
absl::StatusOr<transport::TlsFiles> ToTlsFiles(const ClusterTls& tls,
                                               std::string_view what);

// `value` under `key`, sharing its buffer (no copy).
transport::OutTensor ToOutTensor(std::string key, NDArray value);

// The buffer allocators of a process's devices, by local device name
// ("cpu:0").
using AllocatorsByDevice = absl::flat_hash_map<std::string, BufferAllocator*>;

// A sink that allocates an NDArray (at most `max_bytes`) and hands it to
// `commit` with its key. The array comes from the allocator in
// `allocators` (may be null; must outlive the sink) of the key's
// destination device, else from the heap: a process receives into its
// destination device's caching allocator, so a steady stream of steps
// reuses the blocks of the previous ones instead of faulting in fresh
// pages for every tensor.
std::unique_ptr<transport::TensorSink> MakeNDArraySink(
    int64_t max_bytes, const AllocatorsByDevice* allocators,
    std::function<absl::Status(const std::string& key, NDArray value)> commit);

// A transfer key's devices: "h:0@cpu:0->/job:w/task:0/cpu:0" ->
// {"cpu:0", "/job:w/task:0/cpu:0"} (runtime/partitioner.h's keys).
struct TransferRoute {
  std::string_view src;
  std::string_view dst;
};
std::optional<TransferRoute> ParseTransferKey(std::string_view key);

// Unix nanoseconds of `t` (INT64_MAX for the infinite future).
int64_t ToUnixNanosOrMax(absl::Time t);
absl::Time FromUnixNanosOrInfinite(int64_t ns);

// A step id no other process of the cluster uses: a random 63-bit base per
// process plus a counter.
int64_t NewClusterStepId();

}  // namespace weft::distributed_internal

#endif  // WEFT_DISTRIBUTED_WIRE_H_
