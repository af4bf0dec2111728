// transport.h — defines the bridge between weft and its gRPC "island"
// (distributed/grpc_transport.cc): transport::WorkerHandler, which a
// weft::Server implements to serve weft.Worker calls; transport::GrpcServer,
// which listens; transport::WorkerClient, one task's client stub; and the
// plain structs they exchange.
//
// This header uses standard types only, never Abseil: gRPC's headers bring
// Debian's system Abseil (inline namespace debian3), weft is built against
// its own Abseil built from source (lts_20220623), and no translation unit
// may see both (docs/building.md, "gRPC"). Only grpc_transport.cc includes
// gRPC; everything else in distributed/ includes this header.
//
// Status codes are absl::StatusCode's numbers, which are gRPC's.
#ifndef WEFT_DISTRIBUTED_TRANSPORT_H_
#define WEFT_DISTRIBUTED_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace weft::transport {

// An absl::Status in standard types: code, message and payloads.
struct RpcStatus {
  int code = 0;  // absl::StatusCode / grpc::StatusCode.
  std::string message;
  std::vector<std::pair<std::string, std::string>> payloads;
  bool ok() const { return code == 0; }
};

struct TensorMeta {
  int32_t dtype = 0;  // weft::DType's value.
  std::vector<int64_t> shape;
  int64_t num_bytes = 0;
};

// A tensor to send: `data` (meta.num_bytes bytes) stays valid while `owner`
// lives.
struct OutTensor {
  std::string key;
  TensorMeta meta;
  const char* data = nullptr;
  std::shared_ptr<const void> owner;
};

// Where an arriving tensor goes: Begin gives the destination of `meta`'s
// bytes (allocated once, at its full size), the transport copies each chunk
// into it, and Commit hands it over. Destroyed without Commit: abandoned.
class TensorSink {
 public:
  virtual ~TensorSink() = default;
  virtual RpcStatus Begin(const std::string& key, const TensorMeta& meta,
                          char** data) = 0;
  virtual RpcStatus Commit() = 0;
};

struct RegisterRequest {
  std::string graph_def;
  std::vector<std::string> feeds, fetches, targets, devices;
  std::string task;
  std::map<std::string, std::vector<std::string>> cluster;
  uint64_t incarnation = 0;
};

struct RegisterResponse {
  uint64_t handle = 0;
  uint64_t incarnation = 0;
};

struct RunStepRequest {
  uint64_t handle = 0;
  uint64_t incarnation = 0;
  int64_t step_id = 0;
  // Unix time in ns; INT64_MAX = none.
  int64_t deadline_ns = INT64_MAX;
  // Client: whole tensors delivered to the step before it starts (small
  // fed values; kInlineTensorBytes each at most).
  std::vector<OutTensor> tensors;
  // Server: delivers those tensors (through OpenSink); the handler calls it
  // once, after checking the handle, before the step starts.
  std::function<RpcStatus()> deliver_tensors;
};

// The largest tensor RunStepRequest::tensors carries, and the most they
// carry in all; larger values are pushed in chunks.
inline constexpr int64_t kInlineTensorBytes = int64_t{256} << 10;
inline constexpr int64_t kInlineTotalBytes = int64_t{2} << 20;

// How a RunStep ended, as the client sees it.
struct RunStepResult {
  RpcStatus status;
  // The task does not know the handle: it restarted (a new incarnation).
  bool unknown_handle = false;
  uint64_t incarnation = 0;
};

// TLS material, PEM files. Empty `cert_file`: insecure (loopback only).
struct TlsFiles {
  std::string cert_file;  // This side's certificate chain.
  std::string key_file;   // Its private key.
  std::string ca_file;    // Roots that the peer's certificate must chain to.
  // Server: require and verify a client certificate (mutual TLS).
  bool require_client_cert = false;
  // Client: the name the server's certificate must carry ("" = the host).
  std::string server_name_override;
};

// The settings of every channel a client opens and every server accepts;
// the same for weft and the plain gRPC baseline of tools/bench.
struct ChannelConfig {
  // Keepalive pings on idle and busy connections: a frozen peer is found
  // within about keepalive_time_ms + keepalive_timeout_ms.
  int keepalive_time_ms = 1000;
  // Two pings' worth: a busy (not frozen) peer on a loaded machine still
  // answers in time.
  int keepalive_timeout_ms = 2000;
  // A failed connection is retried after this long (then doubling, up to
  // 1 s): a restarted task is reachable again quickly.
  int reconnect_backoff_ms = 100;
  TlsFiles tls;
};

// The calls a weft.Worker server makes; implemented by weft::Server.
//
// Thread safety: called concurrently from gRPC's threads.
class WorkerHandler {
 public:
  virtual ~WorkerHandler() = default;
  virtual RpcStatus Register(const RegisterRequest& request,
                             RegisterResponse* response) = 0;
  virtual void Deregister(uint64_t handle, uint64_t incarnation) = 0;
  // Starts the partitions of `request.handle` for the step. `to_client`
  // queues a tensor for the client's stream (any thread, until `done`);
  // `done` is called once. A handle the server does not know (or of
  // another incarnation) is reported with `unknown_handle`.
  virtual void RunStep(const RunStepRequest& request,
                       std::function<void(OutTensor)> to_client,
                       std::function<void(RunStepResult)> done) = 0;
  // The destination of a pushed tensor of `step`.
  virtual std::unique_ptr<TensorSink> OpenSink(int64_t step) = 0;
  // Aborts the step's pending work with `abort` (if not ok) and forgets it.
  virtual void CleanupStep(int64_t step, const RpcStatus& abort) = 0;
};

// A listening weft.Worker server.
//
// Thread safety: Shutdown and Wait may be called from any thread.
class GrpcServer {
 public:
  // Listens on `listen` ("host:port", port 0 = any) and serves `handler`
  // (which must outlive the server). Insecure listening is refused unless
  // `listen`'s host is a loopback address.
  static RpcStatus Start(const std::string& listen, const ChannelConfig& config,
                         WorkerHandler* handler,
                         std::unique_ptr<GrpcServer>* server);
  virtual ~GrpcServer() = default;
  virtual int port() const = 0;
  // Stops accepting calls; calls still running after `grace_ms` are
  // cancelled. Returns when every call has ended. Idempotent.
  virtual void Shutdown(int64_t grace_ms) = 0;
  virtual void Wait() = 0;
};

// The client of one task.
//
// Thread safety: every method may be called concurrently.
class WorkerClient {
 public:
  // Errors: an unreadable TLS file (kInvalidArgument).
  static RpcStatus Create(const std::string& address,
                          const ChannelConfig& config,
                          std::unique_ptr<WorkerClient>* client);
  virtual ~WorkerClient() = default;

  // Returns once the channel is connected (at once when it is), or with
  // kUnavailable when the task refuses the connection, or at the deadline.
  // A channel that failed before is replaced first, so a task restarted
  // since is reached without waiting out a reconnect backoff.
  virtual RpcStatus Connect(int64_t deadline_ns) = 0;
  virtual RpcStatus Register(const RegisterRequest& request,
                             int64_t deadline_ns,
                             RegisterResponse* response) = 0;
  // Fire and forget.
  virtual void Deregister(uint64_t handle, uint64_t incarnation) = 0;

  // A RunStep call in flight; Cancel ends it (its `done` then reports
  // kCancelled unless it had already ended).
  class Call {
   public:
    virtual ~Call() = default;
    virtual void Cancel() = 0;
    // A call started with `read_here`: reads the task's stream on this
    // thread until it ends (`done` is called here). Once; a no-op for
    // other calls.
    virtual void ReadHere() = 0;
  };
  // Starts RunStep (the request is sent from this thread); each tensor of
  // the task's stream is written into a sink from `make_sink` (null: drop
  // the call with an error); `done` is called once, on a transport thread
  // — or, with `read_here`, on the thread that calls the Call's ReadHere
  // (a caller that would only wait for the step reads it itself: no thread
  // hand-offs).
  virtual std::shared_ptr<Call> RunStep(
      const RunStepRequest& request,
      std::function<std::unique_ptr<TensorSink>()> make_sink,
      std::function<void(RunStepResult)> done, bool read_here) = 0;
  // Streams `tensor` to the task for `step`; `done` once, on a transport
  // thread.
  virtual void PushTensor(int64_t step, OutTensor tensor, int64_t deadline_ns,
                          std::function<void(RpcStatus)> done) = 0;
  // Fire and forget; bounded by a short deadline.
  virtual void CleanupStep(int64_t step, const RpcStatus& abort) = 0;
};

// Bytes per chunk of a tensor stream.
inline constexpr int64_t kChunkBytes = int64_t{1} << 20;

}  // namespace weft::transport

#endif  // WEFT_DISTRIBUTED_TRANSPORT_H_
