#include "distributed/wire.h"

#include <atomic>
#include <limits>
#include <random>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "graph/device_kind.h"
#include "graph/dtype.h"

namespace weft::distributed_internal {

transport::RpcStatus ToRpc(const absl::Status& status) {
  transport::RpcStatus out;
  out.code = static_cast<int>(status.code());
  out.message = std::string(status.message());
  status.ForEachPayload([&](std::string_view url, const absl::Cord& payload) {
    out.payloads.emplace_back(std::string(url), std::string(payload));
  });
  return out;
}

absl::Status FromRpc(const transport::RpcStatus& status) {
  if (status.ok()) return absl::OkStatus();
  const int code = status.code > 0 && status.code <= 16 ? status.code : 2;
  absl::Status out(static_cast<absl::StatusCode>(code), status.message);
  for (const auto& [url, payload] : status.payloads) {
    out.SetPayload(url, absl::Cord(payload));
  }
  return out;
}

absl::StatusOr<transport::TlsFiles> ToTlsFiles(const ClusterTls& tls,
                                               std::string_view what) {
  if (!tls.cert_file.empty() && tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has a cert_file but no key_file"));
  }
  transport::TlsFiles out;
  out.cert_file = tls.cert_file;
  out.key_file = tls.key_file;
  out.ca_file = tls.ca_file;
  out.server_name_override = tls.server_name_override;
  return out;
}

transport::OutTensor ToOutTensor(std::string key, NDArray value) {
  transport::OutTensor t;
  t.key = std::move(key);
  t.meta.dtype = static_cast<int32_t>(value.dtype());
  t.meta.shape = value.shape().dims();
  t.meta.num_bytes = static_cast<int64_t>(value.num_bytes());
  t.data = static_cast<const char*>(value.raw_data());
  t.owner = std::make_shared<NDArray>(std::move(value));
  return t;
}

namespace {

class NDArraySink final : public transport::TensorSink {
 public:
  NDArraySink(int64_t max_bytes, const AllocatorsByDevice* allocators,
              std::function<absl::Status(const std::string&, NDArray)> commit)
      : max_bytes_(max_bytes),
        allocators_(allocators),
        commit_(std::move(commit)) {}

  transport::RpcStatus Begin(const std::string& key,
                             const transport::TensorMeta& meta,
                             char** data) override {
    const DType dtype = static_cast<DType>(meta.dtype);
    if (!IsValidDType(dtype)) {
      return ToRpc(absl::InvalidArgumentError(absl::StrCat(
          "tensor '", key, "' arrived with invalid dtype ", meta.dtype)));
    }
    absl::StatusOr<NDArray> a = NDArray::AllocateChecked(
        dtype, Shape(meta.shape), max_bytes_, DestinationAllocator(key));
    if (!a.ok()) {
      return ToRpc(absl::Status(
          a.status().code(),
          absl::StrCat("tensor '", key,
                       "' cannot be received: ", a.status().message())));
    }
    if (static_cast<int64_t>(a->num_bytes()) != meta.num_bytes) {
      return ToRpc(absl::InvalidArgumentError(
          absl::StrCat("tensor '", key, "' announces ", meta.num_bytes,
                       " bytes but its ", DTypeName(dtype),
                       a->shape().DebugString(), " holds ", a->num_bytes())));
    }
    key_ = key;
    value_ = *std::move(a);
    *data = static_cast<char*>(value_.mutable_raw_data());
    return {};
  }

  transport::RpcStatus Commit() override {
    if (value_.dtype() == DType::kBool) {
      // Any byte but 0 is true; a bool object must hold exactly 0 or 1.
      auto* bytes = static_cast<unsigned char*>(value_.mutable_raw_data());
      for (int64_t i = 0; i < value_.num_elements(); ++i) {
        bytes[i] = bytes[i] != 0;
      }
    }
    return ToRpc(commit_(key_, std::move(value_)));
  }

 private:
  // The allocator of `key`'s destination device (null: the heap).
  BufferAllocator* DestinationAllocator(const std::string& key) const {
    if (allocators_ == nullptr) return nullptr;
    const std::optional<TransferRoute> route = ParseTransferKey(key);
    if (!route.has_value()) return nullptr;
    auto it = allocators_->find(LocalDeviceOf(route->dst));
    return it == allocators_->end() ? nullptr : it->second;
  }

  const int64_t max_bytes_;
  const AllocatorsByDevice* const allocators_;
  std::function<absl::Status(const std::string&, NDArray)> commit_;
  std::string key_;
  NDArray value_;
};

}  // namespace

std::unique_ptr<transport::TensorSink> MakeNDArraySink(
    int64_t max_bytes, const AllocatorsByDevice* allocators,
    std::function<absl::Status(const std::string& key, NDArray value)> commit) {
  return std::make_unique<NDArraySink>(max_bytes, allocators,
                                       std::move(commit));
}

std::optional<TransferRoute> ParseTransferKey(std::string_view key) {
  const size_t at = key.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view route = key.substr(at + 1);
  const size_t arrow = route.find("->");
  if (arrow == std::string_view::npos) return std::nullopt;
  return TransferRoute{route.substr(0, arrow), route.substr(arrow + 2)};
}

int64_t ToUnixNanosOrMax(absl::Time t) {
  if (t == absl::InfiniteFuture()) return std::numeric_limits<int64_t>::max();
  return absl::ToUnixNanos(t);
}

absl::Time FromUnixNanosOrInfinite(int64_t ns) {
  if (ns == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(ns);
}

int64_t NewClusterStepId() {
  static const uint64_t base = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> counter{0};
  // Positive and never 0 (0 asks the executor for a local id).
  const uint64_t id = (base + counter.fetch_add(1, std::memory_order_relaxed)) &
                      uint64_t{0x7fffffffffffffff};
  return static_cast<int64_t>(id == 0 ? 1 : id);
}

}  // namespace weft::distributed_internal
