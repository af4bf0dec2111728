// grpc_baseline.h — the plain gRPC baseline of tools/bench/
// distributed_bench.cc: a server and a client of a minimal streaming and
// unary service on Debian's gRPC with weft's channel settings (distributed/
// grpc_settings.h). Part of the gRPC island: standard types only here.
#ifndef WEFT_TOOLS_BENCH_GRPC_BASELINE_H_
#define WEFT_TOOLS_BENCH_GRPC_BASELINE_H_

#include <cstdint>
#include <memory>
#include <string>

namespace weft::bench {

// Thread safety: Start/port/destructor from one thread.
class BaselineServer {
 public:
  // Listens on 127.0.0.1 (any port); null on failure.
  static std::unique_ptr<BaselineServer> Start();
  virtual ~BaselineServer() = default;
  virtual int port() const = 0;
};

// Thread safety: calls may be concurrent.
class BaselineClient {
 public:
  static std::unique_ptr<BaselineClient> Create(const std::string& address);
  virtual ~BaselineClient() = default;
  // Streams `bytes` bytes of `data` in weft's chunk size; true when the
  // server acknowledged them all.
  virtual bool Push(const char* data, int64_t bytes) = 0;
  // One unary call carrying `payload` there and back.
  virtual bool Echo(const std::string& payload) = 0;
};

}  // namespace weft::bench

#endif  // WEFT_TOOLS_BENCH_GRPC_BASELINE_H_
