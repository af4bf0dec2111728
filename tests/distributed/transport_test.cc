// The gRPC island's tensor stream (distributed/grpc_transport.cc), below
// weft: PushTensor's chunks written as raw bytes that reference the tensor
// and read straight into the destination, checked against a server-side
// handler that only records what arrives. Island code: it includes gRPC
// (and so the system Abseil), never weft's Abseil.
#include "distributed/transport.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "distributed/grpc_settings.h"
#include "distributed/worker.grpc.pb.h"
#include "gtest/gtest.h"

namespace weft::transport {
namespace {

struct Arrived {
  std::string key;
  TensorMeta meta;
  std::vector<char> bytes;
  int64_t step = 0;
};

// Records the tensors pushed to it; nothing else is served.
class RecordingHandler final : public WorkerHandler {
 public:
  RpcStatus Register(const RegisterRequest&, RegisterResponse*) override {
    return {12, "not served here", {}};
  }
  void Deregister(uint64_t, uint64_t) override {}
  void RunStep(const RunStepRequest&, std::function<void(OutTensor)>,
               std::function<void(RunStepResult)> done) override {
    RunStepResult r;
    r.status = {12, "not served here", {}};
    done(r);
  }
  std::unique_ptr<TensorSink> OpenSink(int64_t step) override {
    return std::make_unique<Sink>(this, step);
  }
  void CleanupStep(int64_t, const RpcStatus&) override {}

  std::vector<Arrived> arrived() {
    std::lock_guard<std::mutex> lock(mu_);
    return arrived_;
  }

 private:
  class Sink final : public TensorSink {
   public:
    Sink(RecordingHandler* h, int64_t step) : h_(h) { a_.step = step; }
    RpcStatus Begin(const std::string& key, const TensorMeta& meta,
                    char** data) override {
      a_.key = key;
      a_.meta = meta;
      a_.bytes.assign(meta.num_bytes, '\0');
      *data = a_.bytes.data();
      return {};
    }
    RpcStatus Commit() override {
      std::lock_guard<std::mutex> lock(h_->mu_);
      h_->arrived_.push_back(std::move(a_));
      return {};
    }

   private:
    RecordingHandler* const h_;
    Arrived a_;
  };

  std::mutex mu_;
  std::vector<Arrived> arrived_;
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const RpcStatus s =
        GrpcServer::Start("127.0.0.1:0", ChannelConfig(), &handler_, &server_);
    ASSERT_TRUE(s.ok()) << s.message;
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    channel_ =
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(0);
  }

  // Pushes `t` with weft's client; returns the push's outcome.
  RpcStatus Push(int64_t step, OutTensor t) {
    std::unique_ptr<WorkerClient> client;
    RpcStatus s = WorkerClient::Create(address_, ChannelConfig(), &client);
    if (!s.ok()) return s;
    std::promise<RpcStatus> done;
    client->PushTensor(step, std::move(t), std::numeric_limits<int64_t>::max(),
                       [&done](RpcStatus s) { done.set_value(s); });
    return done.get_future().get();
  }

  // Writes `chunks` (serialized by protobuf, not by weft) to PushTensor.
  rpc::PushTensorResponse PushProto(const std::vector<rpc::TensorChunk>& chunks,
                                    bool writes_done = true) {
    rpc::Worker::Stub stub(channel_);
    grpc::ClientContext ctx;
    rpc::PushTensorResponse resp;
    auto writer = stub.PushTensor(&ctx, &resp);
    for (const rpc::TensorChunk& c : chunks) EXPECT_TRUE(writer->Write(c));
    if (writes_done) writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
    return resp;
  }

  RecordingHandler handler_;
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(TransportTest, PushArrivesIntactAndLetsGoOfTheTensor) {
  // Three chunks and a bit: the last chunk is short.
  const int64_t bytes = 3 * kChunkBytes + 5;
  auto data = std::make_shared<std::vector<char>>(bytes);
  for (int64_t i = 0; i < bytes; ++i) (*data)[i] = static_cast<char>(i * 7);
  OutTensor t;
  t.key = "x;0";
  t.meta.dtype = 1;
  t.meta.shape = {bytes};
  t.meta.num_bytes = bytes;
  t.data = data->data();
  t.owner = data;
  const RpcStatus s = Push(42, std::move(t));
  ASSERT_TRUE(s.ok()) << s.message;
  const std::vector<Arrived> arrived = handler_.arrived();
  ASSERT_EQ(arrived.size(), 1u);
  EXPECT_EQ(arrived[0].key, "x;0");
  EXPECT_EQ(arrived[0].step, 42);
  EXPECT_EQ(arrived[0].meta.dtype, 1);
  EXPECT_EQ(arrived[0].meta.shape, std::vector<int64_t>({bytes}));
  EXPECT_TRUE(arrived[0].bytes == *data);
  // The chunks referenced the tensor without copying it; the transport
  // lets go of it once they are sent (the client is gone by now).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (data.use_count() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(data.use_count(), 1);
}

TEST_F(TransportTest, PushOfAnEmptyTensorArrives) {
  auto data = std::make_shared<std::vector<char>>();
  OutTensor t;
  t.key = "empty";
  t.meta.dtype = 1;
  t.meta.shape = {0, 3};
  t.owner = data;
  const RpcStatus s = Push(1, std::move(t));
  ASSERT_TRUE(s.ok()) << s.message;
  const std::vector<Arrived> arrived = handler_.arrived();
  ASSERT_EQ(arrived.size(), 1u);
  EXPECT_EQ(arrived[0].meta.shape, std::vector<int64_t>({0, 3}));
  EXPECT_TRUE(arrived[0].bytes.empty());
}

TEST_F(TransportTest, ReadsChunksThatProtobufSerialized) {
  // Protobuf writes fields in number order: data (5) before first (6) and
  // step_id (7); an unknown field is skipped.
  rpc::TensorChunk a;
  a.set_first(true);
  a.set_key("y");
  a.set_dtype(3);
  a.add_shape(2);
  a.add_shape(3);
  a.set_num_bytes(6);
  a.set_step_id(9);
  a.set_data("abcd");
  a.GetReflection()->MutableUnknownFields(&a)->AddVarint(99, 5);
  rpc::TensorChunk b;
  b.set_data("ef");
  const rpc::PushTensorResponse resp = PushProto({a, b});
  EXPECT_EQ(resp.status().code(), 0) << resp.status().message();
  const std::vector<Arrived> arrived = handler_.arrived();
  ASSERT_EQ(arrived.size(), 1u);
  EXPECT_EQ(arrived[0].key, "y");
  EXPECT_EQ(arrived[0].step, 9);
  EXPECT_EQ(arrived[0].meta.dtype, 3);
  EXPECT_EQ(arrived[0].meta.shape, std::vector<int64_t>({2, 3}));
  EXPECT_EQ(std::string(arrived[0].bytes.begin(), arrived[0].bytes.end()),
            "abcdef");
}

TEST_F(TransportTest, RefusesMoreDataThanAnnounced) {
  rpc::TensorChunk a;
  a.set_first(true);
  a.set_key("z");
  a.set_num_bytes(4);
  a.set_data("too many bytes");
  const rpc::PushTensorResponse resp = PushProto({a});
  EXPECT_EQ(resp.status().code(), 3);
  EXPECT_EQ(resp.status().message(),
            "tensor stream: more data than the 4 bytes of 'z'");
  EXPECT_TRUE(handler_.arrived().empty());
}

TEST_F(TransportTest, ReportsAStreamThatEndsEarly) {
  rpc::TensorChunk a;
  a.set_first(true);
  a.set_key("w");
  a.set_num_bytes(10);
  a.set_data("1234");
  const rpc::PushTensorResponse resp = PushProto({a});
  EXPECT_EQ(resp.status().code(), 14);
  EXPECT_EQ(resp.status().message(),
            "tensor stream: the stream of 'w' ended before its last byte");
  EXPECT_TRUE(handler_.arrived().empty());
}

TEST_F(TransportTest, RefusesMalformedBytes) {
  // Not a TensorChunk: a length-delimited field longer than the message.
  const std::string garbage =
      "\x0a\x7f"
      "abc";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer buffer(&slice, 1);
  grpc::internal::RpcMethod method("/weft.rpc.Worker/PushTensor",
                                   grpc::internal::RpcMethod::CLIENT_STREAMING,
                                   channel_);
  grpc::ClientContext ctx;
  rpc::PushTensorResponse resp;
  std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
      grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
          channel_.get(), method, &ctx, &resp));
  EXPECT_TRUE(writer->Write(buffer));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.status().code(), 3);
  EXPECT_EQ(resp.status().message(), "tensor stream: a malformed chunk");
  EXPECT_TRUE(handler_.arrived().empty());
}

}  // namespace
}  // namespace weft::transport
