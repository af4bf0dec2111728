// grpc_settings.h — the gRPC island's shared settings: the channel and
// server arguments every weft.Worker connection uses (keepalive, reconnect
// backoff, message size, no SO_REUSEPORT), applied by SetChannelArgs and
// SetServerArgs, and the build-time check that the island sees only the
// system Abseil. Included only by island sources (distributed/
// grpc_transport.cc and tools/bench's plain gRPC baseline), never by a
// source that sees weft's Abseil.
#ifndef WEFT_DISTRIBUTED_GRPC_SETTINGS_H_
#define WEFT_DISTRIBUTED_GRPC_SETTINGS_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string_view>

#include "absl/base/options.h"
#include "distributed/transport.h"

// The island must see the system Abseil that gRPC was built with, never the
// one weft builds from source: mixing them in one translation unit is an
// ODR violation that compiles. If this fires, a dependency on
// @com_google_absl (or a weft target) reached an island target.
#define WEFT_ISLAND_STR2(x) #x
#define WEFT_ISLAND_STR(x) WEFT_ISLAND_STR2(x)
static_assert(std::string_view(WEFT_ISLAND_STR(
                  ABSL_OPTION_INLINE_NAMESPACE_NAME)) != "lts_20220623",
              "the gRPC island sees weft's Abseil (lts_20220623); it must "
              "see only the system Abseil gRPC was built with");

namespace weft::transport {

// A chunk of a tensor and its header fit.
inline constexpr int kMaxMessageBytes = 8 << 20;

inline void SetChannelArgs(const ChannelConfig& c,
                           grpc::ChannelArguments* args) {
  args->SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, c.keepalive_time_ms);
  args->SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, c.keepalive_timeout_ms);
  args->SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args->SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args->SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, c.reconnect_backoff_ms);
  args->SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC 1.51 also takes it as the
  // minimum time a connection attempt may take, so a small value fails
  // slow handshakes (TLS on a loaded machine, anything under TSan).
  args->SetMaxReceiveMessageSize(kMaxMessageBytes);
  args->SetMaxSendMessageSize(kMaxMessageBytes);
  // A private connection per channel (not shared with other channels to
  // the same address in this process), so one client's reset is its own.
  args->SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!c.tls.server_name_override.empty()) {
    args->SetSslTargetNameOverride(c.tls.server_name_override);
  }
}

inline void SetServerArgs(const ChannelConfig& c,
                          grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder->SetMaxSendMessageSize(kMaxMessageBytes);
  // Two servers on one port would split a task's calls between them.
  builder->AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, c.keepalive_time_ms);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              c.keepalive_timeout_ms);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Clients ping every keepalive_time_ms: allow it (the default minimum is
  // 5 minutes, past which the server answers GOAWAY "too_many_pings").
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      std::max(1, c.keepalive_time_ms / 2));
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // A RunStep call holds its thread for the step, and each step also needs
  // threads for its pushes: keep enough polling threads that a call never
  // waits for one to be created (gRPC's default keeps 1-2 and starts and
  // ends a thread per extra call).
  builder->SetSyncServerOption(grpc::ServerBuilder::MIN_POLLERS, 4);
  builder->SetSyncServerOption(grpc::ServerBuilder::MAX_POLLERS, 64);
  // How long an idle polling thread waits before it checks whether it is
  // still needed. gRPC's 10 s default showed as 10 s stalls of a shutdown
  // (Server::Shutdown waits for every polling thread).
  builder->SetSyncServerOption(grpc::ServerBuilder::CQ_TIMEOUT_MSEC, 100);
}

}  // namespace weft::transport

#endif  // WEFT_DISTRIBUTED_GRPC_SETTINGS_H_
