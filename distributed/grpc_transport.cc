// The gRPC island: weft.Worker's server and client on Debian's gRPC 1.51
// (synchronous API, blocking client calls on a pool of transport threads).
// The only weft source that includes gRPC; it sees Debian's system Abseil
// (through gRPC's headers) and never weft's, and talks to the rest of weft
// through distributed/transport.h's standard types (docs/building.md).
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <string_view>
#include <thread>

#include "distributed/grpc_settings.h"
#include "distributed/transport.h"
#include "distributed/worker.grpc.pb.h"

namespace weft::transport {
namespace {

using Clock = std::chrono::system_clock;

Clock::time_point DeadlineOf(int64_t deadline_ns) {
  if (deadline_ns == std::numeric_limits<int64_t>::max()) {
    return Clock::time_point::max();
  }
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(deadline_ns)));
}

RpcStatus FromGrpc(const grpc::Status& s) {
  RpcStatus out;
  out.code = static_cast<int>(s.error_code());
  out.message = s.error_message();
  return out;
}

RpcStatus FromWire(const rpc::WireStatus& w) {
  RpcStatus out;
  out.code = w.code();
  out.message = w.message();
  for (const rpc::Payload& p : w.payloads()) {
    out.payloads.emplace_back(p.type_url(), p.value());
  }
  return out;
}

void ToWire(const RpcStatus& s, rpc::WireStatus* w) {
  w->set_code(s.code);
  w->set_message(s.message);
  for (const auto& [url, value] : s.payloads) {
    rpc::Payload* p = w->add_payloads();
    p->set_type_url(url);
    p->set_value(value);
  }
}

RpcStatus Error(int code, std::string message) {
  RpcStatus s;
  s.code = code;
  s.message = std::move(message);
  return s;
}

// Reads a whole file; false (and `error`) if it cannot.
bool ReadFile(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read TLS file '" + path + "'";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// The chunks of `t`, each handed to `write(chunk, last)` (false: stop, the
// peer left). The first carries the key and meta; an empty tensor is one
// chunk; `last` is set on the final one.
// A tensor's first chunk carries its key, meta and step.
void SetFirstChunkFields(const OutTensor& t, int64_t step,
                         rpc::TensorChunk* chunk) {
  chunk->set_first(true);
  chunk->set_key(t.key);
  chunk->set_dtype(t.meta.dtype);
  for (int64_t d : t.meta.shape) chunk->add_shape(d);
  chunk->set_num_bytes(t.meta.num_bytes);
  chunk->set_step_id(step);
}

template <typename WriteFn>
bool WriteChunks(const OutTensor& t, int64_t step, WriteFn write) {
  int64_t offset = 0;
  bool first = true;
  do {
    rpc::TensorChunk chunk;
    if (first) SetFirstChunkFields(t, step, &chunk);
    const int64_t n = std::min(kChunkBytes, t.meta.num_bytes - offset);
    chunk.set_data(t.data + offset, static_cast<size_t>(n));
    offset += n;
    first = false;
    if (!write(std::move(chunk), offset == t.meta.num_bytes)) return false;
  } while (offset < t.meta.num_bytes);
  return true;
}

// A chunk's fields but its data.
struct ChunkHeader {
  bool first = false;
  std::string key;
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  int64_t num_bytes = 0;
  int64_t step_id = 0;
  int64_t data_size = 0;
};

// PushTensor's messages travel as raw bytes (grpc::ByteBuffer) in
// TensorChunk's wire format, bypassing the generated (de)serialization: the
// sender's data is a slice that references the tensor (no copy into a
// protobuf string and none into the message), and the receiver copies it
// once, from the received slices straight into the destination array (no
// parse into a string first). Other senders' TensorChunks (any field order,
// unknown fields) read the same.
constexpr char kPushTensorMethod[] = "/weft.rpc.Worker/PushTensor";
// Smaller data is copied into the message (a referencing slice costs more
// than the copy it saves).
constexpr int64_t kZeroCopyMinBytes = int64_t{16} << 10;
constexpr int kDataField = rpc::TensorChunk::kDataFieldNumber;

grpc::Slice DataSlice(const OutTensor& t, int64_t offset, int64_t n) {
  if (t.owner == nullptr || n < kZeroCopyMinBytes) {
    return grpc::Slice(t.data + offset, static_cast<size_t>(n));
  }
  // The slice keeps the tensor alive until the transport lets go of it.
  auto* keep = new std::shared_ptr<const void>(t.owner);
  return grpc::Slice(
      const_cast<char*>(t.data + offset), static_cast<size_t>(n),
      [](void* p) { delete static_cast<std::shared_ptr<const void>*>(p); },
      keep);
}

// One chunk of `t` (bytes [offset, offset + n)) as a TensorChunk message.
grpc::ByteBuffer RawChunk(const OutTensor& t, int64_t step, int64_t offset,
                          int64_t n) {
  rpc::TensorChunk header;
  if (offset == 0) SetFirstChunkFields(t, step, &header);
  std::string head = header.SerializeAsString();
  if (n == 0) {
    grpc::Slice only(head);
    return grpc::ByteBuffer(&only, 1);
  }
  // The data field's tag and length; its bytes are the second slice.
  uint8_t prefix[16];
  uint8_t* end = google::protobuf::io::CodedOutputStream::WriteTagToArray(
      google::protobuf::internal::WireFormatLite::MakeTag(
          kDataField, google::protobuf::internal::WireFormatLite::
                          WIRETYPE_LENGTH_DELIMITED),
      prefix);
  end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(n), end);
  head.append(reinterpret_cast<const char*>(prefix), end - prefix);
  grpc::Slice slices[2] = {grpc::Slice(head), DataSlice(t, offset, n)};
  return grpc::ByteBuffer(slices, 2);
}

// Skips the field whose tag was just read; false if malformed (a group
// too: TensorChunk has none).
bool SkipField(google::protobuf::io::CodedInputStream* in, uint32_t tag) {
  using WFL = google::protobuf::internal::WireFormatLite;
  uint64_t v = 0;
  uint32_t len = 0;
  switch (WFL::GetTagWireType(tag)) {
    case WFL::WIRETYPE_VARINT:
      return in->ReadVarint64(&v);
    case WFL::WIRETYPE_FIXED64:
      return in->Skip(8);
    case WFL::WIRETYPE_FIXED32:
      return in->Skip(4);
    case WFL::WIRETYPE_LENGTH_DELIMITED:
      return in->ReadVarint32(&len) && in->Skip(static_cast<int>(len));
    default:
      return false;
  }
}

// Reads a raw TensorChunk's fields but its data (whose size it notes).
// False: malformed.
bool ParseChunkHeader(grpc::ByteBuffer* buffer, ChunkHeader* h) {
  using WFL = google::protobuf::internal::WireFormatLite;
  grpc::ProtoBufferReader reader(buffer);
  if (!reader.status().ok()) return false;
  google::protobuf::io::CodedInputStream in(&reader);
  bool has_data = false;
  for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
    const int field = WFL::GetTagFieldNumber(tag);
    const auto type = WFL::GetTagWireType(tag);
    uint64_t v = 0;
    uint32_t len = 0;
    bool ok = true;
    if (field == rpc::TensorChunk::kKeyFieldNumber &&
        type == WFL::WIRETYPE_LENGTH_DELIMITED) {
      ok = in.ReadVarint32(&len) && in.ReadString(&h->key, len);
    } else if (field == rpc::TensorChunk::kDtypeFieldNumber &&
               type == WFL::WIRETYPE_VARINT) {
      ok = in.ReadVarint64(&v);
      h->dtype = static_cast<int32_t>(v);
    } else if (field == rpc::TensorChunk::kShapeFieldNumber &&
               type == WFL::WIRETYPE_LENGTH_DELIMITED) {  // Packed.
      ok = in.ReadVarint32(&len);
      const auto limit = in.PushLimit(static_cast<int>(len));
      while (ok && in.BytesUntilLimit() > 0) {
        ok = in.ReadVarint64(&v);
        h->shape.push_back(static_cast<int64_t>(v));
      }
      in.PopLimit(limit);
    } else if (field == rpc::TensorChunk::kShapeFieldNumber &&
               type == WFL::WIRETYPE_VARINT) {  // Unpacked.
      ok = in.ReadVarint64(&v);
      h->shape.push_back(static_cast<int64_t>(v));
    } else if (field == rpc::TensorChunk::kNumBytesFieldNumber &&
               type == WFL::WIRETYPE_VARINT) {
      ok = in.ReadVarint64(&v);
      h->num_bytes = static_cast<int64_t>(v);
    } else if (field == kDataField && type == WFL::WIRETYPE_LENGTH_DELIMITED) {
      ok = !has_data && in.ReadVarint32(&len) && in.Skip(static_cast<int>(len));
      has_data = true;
      h->data_size = len;
    } else if (field == rpc::TensorChunk::kFirstFieldNumber &&
               type == WFL::WIRETYPE_VARINT) {
      ok = in.ReadVarint64(&v);
      h->first = v != 0;
    } else if (field == rpc::TensorChunk::kStepIdFieldNumber &&
               type == WFL::WIRETYPE_VARINT) {
      ok = in.ReadVarint64(&v);
      h->step_id = static_cast<int64_t>(v);
    } else {
      ok = SkipField(&in, tag);
    }
    if (!ok) return false;
  }
  return in.ConsumedEntireMessage();
}

// Copies a raw TensorChunk's data (ParseChunkHeader accepted it) to `dest`.
bool CopyChunkData(grpc::ByteBuffer* buffer, char* dest) {
  using WFL = google::protobuf::internal::WireFormatLite;
  grpc::ProtoBufferReader reader(buffer);
  if (!reader.status().ok()) return false;
  google::protobuf::io::CodedInputStream in(&reader);
  for (uint32_t tag; (tag = in.ReadTag()) != 0;) {
    if (WFL::GetTagFieldNumber(tag) == kDataField &&
        WFL::GetTagWireType(tag) == WFL::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len = 0;
      return in.ReadVarint32(&len) && in.ReadRaw(dest, static_cast<int>(len));
    }
    if (!SkipField(&in, tag)) return false;
  }
  return true;  // No data field: an empty chunk.
}

// Assembles chunked tensors into sinks.
class ChunkReader {
 public:
  // Consumes a chunk: `h` its fields, `copy_data` copies its h.data_size
  // bytes of data to a destination (false: it could not).
  // `make_sink` gives the sink of a new tensor. Sets `complete` when a
  // tensor was committed.
  RpcStatus Add(const ChunkHeader& h,
                const std::function<bool(char*)>& copy_data,
                const std::function<std::unique_ptr<TensorSink>()>& make_sink,
                bool* complete) {
    *complete = false;
    if (h.first) {
      if (sink_ != nullptr) {
        return Error(13, "tensor stream: tensor '" + key_ +
                             "' was cut off by the next one");
      }
      if (h.num_bytes < 0) {
        return Error(3, "tensor stream: negative size for '" + h.key + "'");
      }
      sink_ = make_sink();
      if (sink_ == nullptr) return Error(1, "tensor stream: no receiver");
      TensorMeta meta;
      meta.dtype = h.dtype;
      meta.shape = h.shape;
      meta.num_bytes = h.num_bytes;
      key_ = h.key;
      total_ = meta.num_bytes;
      offset_ = 0;
      if (RpcStatus s = sink_->Begin(key_, meta, &data_); !s.ok()) {
        sink_.reset();
        return s;
      }
    } else if (sink_ == nullptr) {
      return Error(3, "tensor stream: data before a tensor's first chunk");
    }
    if (h.data_size > total_ - offset_) {
      sink_.reset();
      return Error(3, "tensor stream: more data than the " +
                          std::to_string(total_) + " bytes of '" + key_ + "'");
    }
    if (h.data_size > 0 && !copy_data(data_ + offset_)) {
      sink_.reset();
      return Error(3, "tensor stream: a malformed chunk of '" + key_ + "'");
    }
    offset_ += h.data_size;
    if (offset_ == total_) {
      RpcStatus s = sink_->Commit();
      sink_.reset();
      *complete = true;
      return s;
    }
    return RpcStatus();
  }
  // The same for a parsed TensorChunk.
  RpcStatus Add(const rpc::TensorChunk& chunk,
                const std::function<std::unique_ptr<TensorSink>()>& make_sink,
                bool* complete) {
    ChunkHeader h;
    h.first = chunk.first();
    if (h.first) {
      h.key = chunk.key();
      h.dtype = chunk.dtype();
      h.shape.assign(chunk.shape().begin(), chunk.shape().end());
      h.num_bytes = chunk.num_bytes();
    }
    const std::string& d = chunk.data();
    h.data_size = static_cast<int64_t>(d.size());
    return Add(
        h,
        [&d](char* dest) {
          std::memcpy(dest, d.data(), d.size());
          return true;
        },
        make_sink, complete);
  }
  // A tensor was started and not finished.
  bool partial() const { return sink_ != nullptr; }
  const std::string& key() const { return key_; }

 private:
  std::unique_ptr<TensorSink> sink_;
  std::string key_;
  char* data_ = nullptr;
  int64_t total_ = 0;
  int64_t offset_ = 0;
};

// A pool of threads for blocking calls: grows to the peak number of calls
// in flight; joined by the destructor after the queue drained.
class ThreadPool {
 public:
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void Schedule(std::function<void()> fn) {
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) {
      // From a pool thread finishing its last task while the pool is being
      // destroyed: run it here (no new thread may join the pool now).
      lock.unlock();
      fn();
      return;
    }
    queue_.push_back(std::move(fn));
    if (idle_ == 0) {
      threads_.emplace_back([this] { Loop(); });
    } else {
      cv_.notify_one();
    }
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      --idle_;
      if (queue_.empty()) return;  // Stopping, nothing left.
      std::function<void()> fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn();
      // Destroyed before the lock is taken again: what the task captured
      // may schedule more work as it goes (a plan dropped by a finished
      // step deregisters itself).
      fn = nullptr;
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // Guarded by mu_.
  std::vector<std::thread> threads_;         // Guarded by mu_.
  int idle_ = 0;                             // Guarded by mu_.
  bool stop_ = false;                        // Guarded by mu_.
};

bool IsLoopbackHost(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  std::string_view host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

// ------------------------------------------------------------- server --

class WorkerServiceImpl final : public rpc::Worker::Service {
 public:
  explicit WorkerServiceImpl(WorkerHandler* handler) : handler_(handler) {
    // PushTensor reads raw chunks (kPushTensorMethod). MarkMethodStreamed
    // is grpc::Service's way to replace a synchronous method's handler (it
    // also relabels the method BIDI_STREAMING, which the server treats as
    // client streaming: no request read ahead).
    const int index = rpc::TensorChunk::descriptor()
                          ->file()
                          ->FindServiceByName("Worker")
                          ->FindMethodByName("PushTensor")
                          ->index();
    MarkMethodStreamed(
        index,
        new grpc::internal::ClientStreamingHandler<
            WorkerServiceImpl, grpc::ByteBuffer, rpc::PushTensorResponse>(
            [](WorkerServiceImpl* service, grpc::ServerContext* ctx,
               grpc::ServerReader<grpc::ByteBuffer>* reader,
               rpc::PushTensorResponse* resp) {
              return service->PushRaw(ctx, reader, resp);
            },
            this));
  }

  grpc::Status RegisterGraph(grpc::ServerContext*,
                             const rpc::RegisterGraphRequest* req,
                             rpc::RegisterGraphResponse* resp) override {
    RegisterRequest r;
    r.graph_def = req->graph_def();
    r.feeds.assign(req->feeds().begin(), req->feeds().end());
    r.fetches.assign(req->fetches().begin(), req->fetches().end());
    r.targets.assign(req->targets().begin(), req->targets().end());
    r.devices.assign(req->devices().begin(), req->devices().end());
    r.task = req->task();
    for (const rpc::Job& job : req->cluster()) {
      r.cluster[job.name()].assign(job.addresses().begin(),
                                   job.addresses().end());
    }
    r.incarnation = req->incarnation();
    RegisterResponse out;
    ToWire(handler_->Register(r, &out), resp->mutable_status());
    resp->set_handle(out.handle);
    resp->set_incarnation(out.incarnation);
    return grpc::Status::OK;
  }

  grpc::Status DeregisterGraph(grpc::ServerContext*,
                               const rpc::DeregisterGraphRequest* req,
                               rpc::DeregisterGraphResponse*) override {
    handler_->Deregister(req->handle(), req->incarnation());
    return grpc::Status::OK;
  }

  grpc::Status RunStep(
      grpc::ServerContext* ctx, const rpc::RunStepRequest* req,
      grpc::ServerWriter<rpc::RunStepResponse>* writer) override {
    struct State {
      std::mutex mu;
      std::condition_variable cv;
      std::deque<OutTensor> out;
      bool done = false;
      RunStepResult result;
    };
    auto st = std::make_shared<State>();
    RunStepRequest r;
    r.handle = req->handle();
    r.incarnation = req->incarnation();
    r.step_id = req->step_id();
    // The fed values that came with the request; the handler delivers
    // them once it knows the handle (this call outlives the handler's use).
    r.deliver_tensors = [this, req]() {
      ChunkReader assembler;
      for (const rpc::TensorChunk& chunk : req->tensors()) {
        bool complete = false;
        RpcStatus s = assembler.Add(
            chunk, [&] { return handler_->OpenSink(req->step_id()); },
            &complete);
        if (s.ok() && !complete) {
          s = Error(
              3, "RunStep: inline tensor '" + chunk.key() + "' is not whole");
        }
        if (!s.ok()) return s;
      }
      return RpcStatus();
    };
    const Clock::time_point deadline = ctx->deadline();
    r.deadline_ns = deadline == Clock::time_point::max()
                        ? std::numeric_limits<int64_t>::max()
                        : std::chrono::duration_cast<std::chrono::nanoseconds>(
                              deadline.time_since_epoch())
                              .count();
    handler_->RunStep(
        r,
        [st](OutTensor t) {
          std::lock_guard<std::mutex> lock(st->mu);
          st->out.push_back(std::move(t));
          st->cv.notify_all();
        },
        [st](RunStepResult result) {
          std::lock_guard<std::mutex> lock(st->mu);
          st->done = true;
          st->result = std::move(result);
          st->cv.notify_all();
        });
    // The step's outcome, in the message that ends the stream.
    auto set_outcome = [&st](rpc::RunStepResponse* resp) {
      resp->set_done(true);
      ToWire(st->result.status, resp->mutable_status());
      resp->set_unknown_handle(st->result.unknown_handle);
      resp->set_incarnation(st->result.incarnation);
    };
    bool peer_gone = false;
    bool outcome_sent = false;
    for (;;) {
      std::unique_lock<std::mutex> lock(st->mu);
      st->cv.wait_for(lock, std::chrono::milliseconds(20),
                      [&] { return !st->out.empty() || st->done; });
      if (!st->out.empty() && !peer_gone) {
        OutTensor t = std::move(st->out.front());
        st->out.pop_front();
        // The step's last tensor carries its outcome, written together
        // with the stream's trailers (one message and write less).
        const bool last = st->done && st->out.empty();
        lock.unlock();
        peer_gone = !WriteChunks(
            t, r.step_id, [&](rpc::TensorChunk c, bool last_chunk) {
              rpc::RunStepResponse resp;
              *resp.mutable_chunk() = std::move(c);
              if (last && last_chunk) {
                set_outcome(&resp);
                outcome_sent = true;
                writer->WriteLast(resp, grpc::WriteOptions());
                return true;
              }
              return writer->Write(resp);
            });
        if (outcome_sent) return grpc::Status::OK;
        if (peer_gone) {
          handler_->CleanupStep(r.step_id,
                                Error(1, "the client of the step went away"));
        }
        continue;
      }
      st->out.clear();
      if (st->done) break;
      if (ctx->IsCancelled() && !peer_gone) {
        peer_gone = true;
        lock.unlock();
        // The client cancelled (its run failed or timed out) or the server
        // is shutting down: abort the step, then wait for it to end.
        handler_->CleanupStep(
            r.step_id, Error(1, "the step's RunStep call was cancelled"));
      }
    }
    if (peer_gone) return grpc::Status(grpc::StatusCode::CANCELLED, "");
    rpc::RunStepResponse last;
    set_outcome(&last);
    writer->WriteLast(last, grpc::WriteOptions());
    return grpc::Status::OK;
  }

  // PushTensor, raw (kPushTensorMethod): installed in place of the
  // generated handler by the constructor.
  grpc::Status PushRaw(grpc::ServerContext*,
                       grpc::ServerReader<grpc::ByteBuffer>* reader,
                       rpc::PushTensorResponse* resp) {
    grpc::ByteBuffer buffer;
    ChunkReader assembler;
    int64_t step = 0;
    RpcStatus status;
    bool any = false;
    while (reader->Read(&buffer)) {
      ChunkHeader h;
      if (!ParseChunkHeader(&buffer, &h)) {
        status = Error(3, "tensor stream: a malformed chunk");
        break;
      }
      if (!any) step = h.step_id;
      any = true;
      bool complete = false;
      status = assembler.Add(
          h, [&buffer](char* dest) { return CopyChunkData(&buffer, dest); },
          [&] { return handler_->OpenSink(step); }, &complete);
      if (!status.ok()) break;
    }
    if (status.ok() && assembler.partial()) {
      status = Error(14, "tensor stream: the stream of '" + assembler.key() +
                             "' ended before its last byte");
    }
    ToWire(status, resp->mutable_status());
    return grpc::Status::OK;
  }

  grpc::Status CleanupStep(grpc::ServerContext*,
                           const rpc::CleanupStepRequest* req,
                           rpc::CleanupStepResponse*) override {
    handler_->CleanupStep(req->step_id(), FromWire(req->abort()));
    return grpc::Status::OK;
  }

 private:
  WorkerHandler* const handler_;
};

class GrpcServerImpl final : public GrpcServer {
 public:
  GrpcServerImpl(WorkerHandler* handler) : service_(handler) {}

  RpcStatus Start(const std::string& listen, const ChannelConfig& config) {
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (config.tls.cert_file.empty()) {
      if (!IsLoopbackHost(listen)) {
        return Error(3, "refusing to listen on '" + listen +
                            "' without TLS: insecure listening is for loopback "
                            "addresses only (127.0.0.1, ::1, localhost); give "
                            "ServerOptions::tls a certificate and key");
      }
      creds = grpc::InsecureServerCredentials();
    } else {
      grpc::SslServerCredentialsOptions opts(
          config.tls.require_client_cert
              ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
      std::string error;
      if (!ReadFile(config.tls.key_file, &pair.private_key, &error) ||
          !ReadFile(config.tls.cert_file, &pair.cert_chain, &error) ||
          (!config.tls.ca_file.empty() &&
           !ReadFile(config.tls.ca_file, &opts.pem_root_certs, &error))) {
        return Error(3, error);
      }
      if (config.tls.require_client_cert && opts.pem_root_certs.empty()) {
        return Error(3,
                     "mutual TLS needs the CA file that client certificates "
                     "must chain to");
      }
      opts.pem_key_cert_pairs.push_back(std::move(pair));
      creds = grpc::SslServerCredentials(opts);
    }
    grpc::ServerBuilder builder;
    builder.AddListeningPort(listen, creds, &port_);
    builder.RegisterService(&service_);
    SetServerArgs(config, &builder);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      server_.reset();
      return Error(14, "cannot listen on '" + listen +
                           "' (address in use, or not an address of this "
                           "machine)");
    }
    return RpcStatus();
  }

  ~GrpcServerImpl() override { Shutdown(0); }

  int port() const override { return port_; }

  void Shutdown(int64_t grace_ms) override {
    std::lock_guard<std::mutex> lock(shutdown_mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
    server_->Shutdown(Clock::now() + std::chrono::milliseconds(grace_ms));
    server_->Wait();
  }

  void Wait() override {
    if (server_ != nullptr) server_->Wait();
  }

 private:
  WorkerServiceImpl service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // Guarded by shutdown_mu_.
};

// ------------------------------------------------------------- client --

class WorkerClientImpl final : public WorkerClient {
 public:
  WorkerClientImpl(std::string address, const ChannelConfig& config)
      : address_(std::move(address)), config_(config) {}

  RpcStatus Init() {
    std::shared_ptr<grpc::ChannelCredentials> creds;
    if (config_.tls.cert_file.empty() && config_.tls.ca_file.empty()) {
      creds = grpc::InsecureChannelCredentials();
    } else {
      grpc::SslCredentialsOptions opts;
      std::string error;
      if ((!config_.tls.ca_file.empty() &&
           !ReadFile(config_.tls.ca_file, &opts.pem_root_certs, &error)) ||
          (!config_.tls.cert_file.empty() &&
           (!ReadFile(config_.tls.cert_file, &opts.pem_cert_chain, &error) ||
            !ReadFile(config_.tls.key_file, &opts.pem_private_key, &error)))) {
        return Error(3, error);
      }
      creds = grpc::SslCredentials(opts);
    }
    creds_ = creds;
    Reconnect();
    return RpcStatus();
  }

  RpcStatus Connect(int64_t deadline_ns) override {
    std::shared_ptr<grpc::Channel> channel = this->channel();
    grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) return RpcStatus();
    // Bounded: a refused connection shows as TRANSIENT_FAILURE at once.
    const Clock::time_point deadline = std::min(
        DeadlineOf(deadline_ns), Clock::now() + std::chrono::seconds(10));
    // A channel that failed before may be waiting out its reconnect backoff
    // (and report TRANSIENT_FAILURE) although the task is back: the second
    // attempt is on a fresh channel, which connects at once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt == 1 || state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
        Reconnect();
        channel = this->channel();
        state = channel->GetState(/*try_to_connect=*/true);
      }
      while (state != GRPC_CHANNEL_READY &&
             state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
             state != GRPC_CHANNEL_SHUTDOWN) {
        if (!channel->WaitForStateChange(state, deadline)) {
          return Error(4,
                       "no connection to " + address_ + " before the deadline");
        }
        state = channel->GetState(/*try_to_connect=*/true);
      }
      if (state == GRPC_CHANNEL_READY) return RpcStatus();
    }
    return Error(14, "cannot connect to " + address_ +
                         " (connection refused or the host is unreachable)");
  }

  RpcStatus Register(const RegisterRequest& r, int64_t deadline_ns,
                     RegisterResponse* response) override {
    rpc::RegisterGraphRequest req;
    req.set_graph_def(r.graph_def);
    for (const auto& f : r.feeds) req.add_feeds(f);
    for (const auto& f : r.fetches) req.add_fetches(f);
    for (const auto& t : r.targets) req.add_targets(t);
    for (const auto& d : r.devices) req.add_devices(d);
    req.set_task(r.task);
    for (const auto& [name, addrs] : r.cluster) {
      rpc::Job* job = req.add_cluster();
      job->set_name(name);
      for (const auto& a : addrs) job->add_addresses(a);
    }
    req.set_incarnation(r.incarnation);
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineOf(deadline_ns));
    rpc::RegisterGraphResponse resp;
    grpc::Status s = stub()->RegisterGraph(&ctx, req, &resp);
    if (!s.ok()) {
      OnFailure(s);
      return FromGrpc(s);
    }
    response->handle = resp.handle();
    response->incarnation = resp.incarnation();
    return FromWire(resp.status());
  }

  void Deregister(uint64_t handle, uint64_t incarnation) override {
    std::shared_ptr<rpc::Worker::Stub> stub = this->stub();
    pool_.Schedule([stub, handle, incarnation] {
      grpc::ClientContext ctx;
      ctx.set_deadline(Clock::now() + std::chrono::milliseconds(500));
      rpc::DeregisterGraphRequest req;
      req.set_handle(handle);
      req.set_incarnation(incarnation);
      rpc::DeregisterGraphResponse resp;
      (void)stub->DeregisterGraph(&ctx, req, &resp);
    });
  }

  class CallImpl final : public Call {
   public:
    void Cancel() override { ctx.TryCancel(); }
    void ReadHere() override {
      std::function<void()> read = std::move(read_later);
      if (read) read();
    }
    grpc::ClientContext ctx;
    std::function<void()> read_later;  // Set before the call is shared.
  };

  std::shared_ptr<Call> RunStep(
      const RunStepRequest& r,
      std::function<std::unique_ptr<TensorSink>()> make_sink,
      std::function<void(RunStepResult)> done, bool read_here) override {
    auto call = std::make_shared<CallImpl>();
    call->ctx.set_deadline(DeadlineOf(r.deadline_ns));
    rpc::RunStepRequest req;
    req.set_handle(r.handle);
    req.set_incarnation(r.incarnation);
    req.set_step_id(r.step_id);
    for (const OutTensor& t : r.tensors) {
      WriteChunks(t, r.step_id, [&](rpc::TensorChunk c, bool) {
        *req.add_tensors() = std::move(c);
        return true;
      });
    }
    std::shared_ptr<rpc::Worker::Stub> stub = this->stub();
    // The request leaves from this thread (no thread hop before the task
    // starts the step); a transport thread reads the task's stream.
    std::shared_ptr<grpc::ClientReader<rpc::RunStepResponse>> reader =
        stub->RunStep(&call->ctx, req);
    // The call is referenced weakly: the reading loop must not keep the
    // Call it belongs to alive through read_later (a cycle).
    std::weak_ptr<CallImpl> weak = call;
    auto read = [this, stub, weak, reader, make_sink = std::move(make_sink),
                 done = std::move(done)] {
      std::shared_ptr<CallImpl> call = weak.lock();
      if (call == nullptr) return;
      rpc::RunStepResponse resp;
      ChunkReader assembler;
      RunStepResult result;
      bool finished = false;
      RpcStatus failed;
      while (reader->Read(&resp)) {
        if (resp.has_chunk() && failed.ok()) {
          bool complete = false;
          failed = assembler.Add(resp.chunk(), make_sink, &complete);
          if (!failed.ok()) call->ctx.TryCancel();
        }
        if (resp.done()) {
          finished = true;
          result.status = FromWire(resp.status());
          result.unknown_handle = resp.unknown_handle();
          result.incarnation = resp.incarnation();
        }
      }
      grpc::Status s = reader->Finish();
      if (!failed.ok()) {
        result = RunStepResult();
        result.status = failed;
      } else if (!s.ok()) {
        OnFailure(s);
        result = RunStepResult();
        result.status = FromGrpc(s);
      } else if (!finished) {
        result.status = Error(14, "the task's stream ended without an outcome");
      }
      done(std::move(result));
    };
    if (read_here) {
      call->read_later = std::move(read);
    } else {
      pool_.Schedule(std::move(read));
    }
    return call;
  }

  void PushTensor(int64_t step, OutTensor tensor, int64_t deadline_ns,
                  std::function<void(RpcStatus)> done) override {
    std::shared_ptr<Connection> conn = connection();
    pool_.Schedule([this, conn, step, tensor = std::move(tensor), deadline_ns,
                    done = std::move(done)] {
      grpc::ClientContext ctx;
      ctx.set_deadline(DeadlineOf(deadline_ns));
      rpc::PushTensorResponse resp;
      std::unique_ptr<grpc::ClientWriter<grpc::ByteBuffer>> writer(
          grpc::internal::ClientWriterFactory<grpc::ByteBuffer>::Create(
              conn->channel.get(), conn->push_method, &ctx, &resp));
      // The last chunk goes with the half-close (one write less).
      bool closed = false;
      int64_t offset = 0;
      do {
        const int64_t n = std::min(kChunkBytes, tensor.meta.num_bytes - offset);
        grpc::ByteBuffer chunk = RawChunk(tensor, step, offset, n);
        offset += n;
        if (offset == tensor.meta.num_bytes) {
          closed = true;
          writer->WriteLast(chunk, grpc::WriteOptions());
        } else if (!writer->Write(chunk)) {
          break;  // The call ended; Finish says why.
        }
      } while (offset < tensor.meta.num_bytes);
      if (!closed) writer->WritesDone();
      grpc::Status s = writer->Finish();
      if (!s.ok()) {
        OnFailure(s);
        done(FromGrpc(s));
        return;
      }
      done(FromWire(resp.status()));
    });
  }

  void CleanupStep(int64_t step, const RpcStatus& abort) override {
    std::shared_ptr<rpc::Worker::Stub> stub = this->stub();
    pool_.Schedule([stub, step, abort] {
      grpc::ClientContext ctx;
      ctx.set_deadline(Clock::now() + std::chrono::seconds(2));
      rpc::CleanupStepRequest req;
      req.set_step_id(step);
      if (!abort.ok()) ToWire(abort, req.mutable_abort());
      rpc::CleanupStepResponse resp;
      (void)stub->CleanupStep(&ctx, req, &resp);
    });
  }

 private:
  // A channel with its stub and the raw PushTensor method.
  struct Connection {
    explicit Connection(std::shared_ptr<grpc::Channel> c)
        : channel(std::move(c)),
          stub(channel),
          push_method(kPushTensorMethod,
                      grpc::internal::RpcMethod::CLIENT_STREAMING, channel) {}
    std::shared_ptr<grpc::Channel> channel;
    rpc::Worker::Stub stub;
    grpc::internal::RpcMethod push_method;
  };
  std::shared_ptr<Connection> connection() {
    std::lock_guard<std::mutex> lock(mu_);
    return conn_;
  }
  // The stub of the current connection, kept alive with it.
  std::shared_ptr<rpc::Worker::Stub> stub() {
    std::shared_ptr<Connection> conn = connection();
    return std::shared_ptr<rpc::Worker::Stub>(conn, &conn->stub);
  }
  std::shared_ptr<grpc::Channel> channel() { return connection()->channel; }
  // A fresh channel (no reconnect backoff left from a dead peer): the next
  // call to a restarted task connects at once.
  void Reconnect() {
    grpc::ChannelArguments args;
    SetChannelArgs(config_, &args);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(address_, creds_, args);
    auto conn = std::make_shared<Connection>(std::move(channel));
    std::lock_guard<std::mutex> lock(mu_);
    conn_ = std::move(conn);
  }
  void OnFailure(const grpc::Status& s) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) Reconnect();
  }

  const std::string address_;
  const ChannelConfig config_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::mutex mu_;
  std::shared_ptr<Connection> conn_;  // Guarded by mu_.
  // Last: joined first, while everything the calls use is alive.
  ThreadPool pool_;
};

// Keeps gRPC initialized from the first server or client on, for the rest
// of the process. Otherwise the last gRPC object to go (a Server, in a
// worker process) runs grpc_shutdown, which in gRPC 1.51 joins its
// executor thread while that thread sits in a poll of up to 10 s: a server
// that had streamed values back took ~10 s to destroy (grpc/grpc#41050;
// Cluster.SteadyStateValuesFromATaskMapNoNewPages).
void KeepGrpcInitialized() {
  static const bool initialized = [] {
    grpc_init();
    return true;
  }();
  (void)initialized;
}

}  // namespace

RpcStatus GrpcServer::Start(const std::string& listen,
                            const ChannelConfig& config, WorkerHandler* handler,
                            std::unique_ptr<GrpcServer>* server) {
  KeepGrpcInitialized();
  auto impl = std::make_unique<GrpcServerImpl>(handler);
  if (RpcStatus s = impl->Start(listen, config); !s.ok()) return s;
  *server = std::move(impl);
  return RpcStatus();
}

RpcStatus WorkerClient::Create(const std::string& address,
                               const ChannelConfig& config,
                               std::unique_ptr<WorkerClient>* client) {
  KeepGrpcInitialized();
  auto impl = std::make_unique<WorkerClientImpl>(address, config);
  if (RpcStatus s = impl->Init(); !s.ok()) return s;
  *client = std::move(impl);
  return RpcStatus();
}

}  // namespace weft::transport
