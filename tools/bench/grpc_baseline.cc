// The plain gRPC baseline (grpc_baseline.h): island code, which sees only
// the system Abseil (checked by distributed/grpc_settings.h).
#include "tools/bench/grpc_baseline.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "distributed/grpc_settings.h"
#include "tools/bench/grpc_baseline.grpc.pb.h"

namespace weft::bench {
namespace {

class Service final : public Baseline::Service {
  grpc::Status Push(grpc::ServerContext*, grpc::ServerReader<Chunk>* reader,
                    Ack* ack) override {
    Chunk chunk;
    std::unique_ptr<char[]> buffer;
    int64_t total = 0, offset = 0;
    while (reader->Read(&chunk)) {
      if (buffer == nullptr) {
        total = chunk.num_bytes();
        buffer.reset(new char[std::max<int64_t>(total, 1)]);
      }
      const std::string& d = chunk.data();
      if (offset + static_cast<int64_t>(d.size()) > total) break;
      std::memcpy(buffer.get() + offset, d.data(), d.size());
      offset += static_cast<int64_t>(d.size());
    }
    ack->set_received(offset);
    return grpc::Status::OK;
  }
  grpc::Status Echo(grpc::ServerContext*, const Ping* in, Ping* out) override {
    *out = *in;
    return grpc::Status::OK;
  }
};

class ServerImpl final : public BaselineServer {
 public:
  bool Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    transport::SetServerArgs(transport::ChannelConfig(), &builder);
    server_ = builder.BuildAndStart();
    return server_ != nullptr && port_ != 0;
  }
  ~ServerImpl() override {
    if (server_ != nullptr) server_->Shutdown();
  }
  int port() const override { return port_; }

 private:
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

class ClientImpl final : public BaselineClient {
 public:
  explicit ClientImpl(const std::string& address) {
    grpc::ChannelArguments args;
    transport::SetChannelArgs(transport::ChannelConfig(), &args);
    stub_ = Baseline::NewStub(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args));
  }
  bool Push(const char* data, int64_t bytes) override {
    grpc::ClientContext ctx;
    Ack ack;
    auto writer = stub_->Push(&ctx, &ack);
    int64_t offset = 0;
    bool first = true;
    do {
      Chunk c;
      if (first) c.set_num_bytes(bytes);
      first = false;
      const int64_t n = std::min(transport::kChunkBytes, bytes - offset);
      c.set_data(data + offset, static_cast<size_t>(n));
      offset += n;
      if (!writer->Write(c)) break;
    } while (offset < bytes);
    writer->WritesDone();
    return writer->Finish().ok() && ack.received() == bytes;
  }
  bool Echo(const std::string& payload) override {
    grpc::ClientContext ctx;
    Ping in, out;
    in.set_payload(payload);
    return stub_->Echo(&ctx, in, &out).ok() && out.payload() == payload;
  }

 private:
  std::unique_ptr<Baseline::Stub> stub_;
};

}  // namespace

std::unique_ptr<BaselineServer> BaselineServer::Start() {
  auto s = std::make_unique<ServerImpl>();
  if (!s->Start()) return nullptr;
  return s;
}

std::unique_ptr<BaselineClient> BaselineClient::Create(
    const std::string& address) {
  return std::make_unique<ClientImpl>(address);
}

}  // namespace weft::bench
