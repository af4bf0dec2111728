// server.h — defines weft::Server, a worker process's end of a cluster: it
// serves the weft.Worker gRPC service, on which client Sessions register
// the partitions their graphs place on this task and run them step by step;
// weft::ServerOptions; and (from runtime/cluster_spec.h) weft::ClusterSpec
// and weft::ClusterTls. Linking //distributed:server also gives every
// Session of the binary its SessionOptions::cluster support.
//
//   // Worker process (or `weft serve --listen 127.0.0.1:5000`):
//   auto server = *weft::Server::Create({.listen = "127.0.0.1:5000"});
//   server->Wait();
//
//   // Client process:
//   weft::Graph g("model");
//   ... nodes with OpOptions{.device = "/job:worker/task:0/cpu:0"} ...
//   auto session = *weft::Session::Create(g, {.cluster =
//       *weft::ClusterSpec::Create({{"worker", {"127.0.0.1:5000"}}})});
//
// The model, the failure semantics and deployment notes are in
// docs/distributed.md.
#ifndef WEFT_DISTRIBUTED_SERVER_H_
#define WEFT_DISTRIBUTED_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/cluster_spec.h"

namespace weft {

struct ServerOptions {
  // "host:port" to listen on; port 0 = any free port (see Server::port).
  // Without TLS only a loopback host is accepted (127.0.0.1, ::1,
  // localhost).
  std::string listen = "127.0.0.1:0";
  // This task's devices ("cpu:0", "cpu:1"); a client places a node on
  // "/job:<job>/task:<i>/cpu:1" to run it on the second.
  std::vector<std::string> devices = {"cpu:0"};
  // Threads per device (0 = the device kind's default).
  int num_threads = 0;
  // The largest array one kernel, or one received tensor, may allocate, in
  // bytes; 0 = the machine's physical memory.
  int64_t max_allocation_bytes = 0;
  // TLS: cert_file and key_file are this server's; with ca_file set,
  // clients must present a certificate chaining to it (mutual TLS).
  ClusterTls tls = {};
  // Keepalive: pings this often, and a peer that does not answer within
  // twice this is gone (a frozen client is noticed within about 3x this).
  absl::Duration keepalive = absl::Seconds(1);
  // Values pushed for a step whose RunStep has not come this long after the
  // first of them (its client died mid-step) are dropped and the step is
  // ended here; later pushes to it are refused.
  absl::Duration unstarted_step_timeout = absl::Seconds(60);
};

// One task of a cluster. Create starts serving at once.
//
// Thread safety: all methods may be called from any thread; Shutdown is
// idempotent and may race with Wait and with the destructor.
class Server {
 public:
  // Errors: a malformed listen address; an insecure non-loopback listen
  // (kInvalidArgument); a port in use (kUnavailable); a bad device list;
  // an unreadable TLS file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Create(
      ServerOptions options = {});

  ~Server();  // Shutdown(), then frees everything.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // "127.0.0.1:PORT": the listen host with the bound port.
  std::string address() const;
  // Random and different in every Server: a client that finds another
  // incarnation at a task's address registers its partitions again.
  uint64_t incarnation() const;
  // Stops accepting calls, lets steps in flight finish for up to `grace`,
  // then aborts the rest (their clients see kUnavailable or kCancelled)
  // and frees the port. Returns when no step runs any more.
  void Shutdown(absl::Duration grace = absl::Seconds(5));
  // Blocks until Shutdown has completed.
  void Wait();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sets this process's malloc (glibc) for moving large tensors: blocks up to
// 32 MiB come from the heap and up to 64 MiB of freed heap is kept rather
// than returned to the kernel. With glibc's defaults a process whose own
// large frees happen not to raise its thresholds (a Server receives into
// its devices' caching allocators) trims the heap under gRPC's receive
// buffers after nearly every message and faults their pages in again, ~3k
// page faults per 16 MiB received. Process-wide, so the library never
// calls it: `weft serve` does, and so may a service embedding a Server (or
// it links tcmalloc or jemalloc, which keep such memory anyway).
// docs/distributed.md, "Memory".
void ConfigureMallocForServing();

}  // namespace weft

#endif  // WEFT_DISTRIBUTED_SERVER_H_
