// Partitions on another process vs plain gRPC, on loopback (issue 23's
// goals; docs/perf.md, "Partitions across processes"):
//   - BM_WeftTransfer/N vs BM_GrpcTransfer/N: N bytes from this process to
//     a task, weft (a step whose only work is a remote Identity of a fed
//     tensor: the tensor's push plus the step's RunStep call) against one
//     client-streaming call of the same bytes in the same chunks on the
//     same library and channel settings. Goal: weft >= 0.9x from 1 MiB up.
//   - BM_RemoteStep (x -> Neg on the task -> fetched), BM_InProcessStep
//     (the same over cpu:0 and cpu:1 of this process) and BM_GrpcRoundTrip
//     (one unary call): p50/p99 latency counters. Goal: remote step
//     overhead <= 1.5x one plain round trip.
// The servers run in this process (their own threads), so the numbers are
// the software's cost on loopback, not a network's.
//   bazel run -c opt //tools/bench:distributed_bench
#include <algorithm>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "distributed/server.h"
#include "tools/bench/grpc_baseline.h"
#include "weft.h"

namespace weft {
namespace {

constexpr char kTask0[] = "/job:worker/task:0/cpu:0";

Server& TheServer() {
  static Server* server = Server::Create().value().release();
  return *server;
}

SessionOptions Cluster() {
  SessionOptions o;
  o.cluster = *ClusterSpec::Create({{"worker", {TheServer().address()}}});
  return o;
}

bench::BaselineClient& Baseline() {
  static bench::BaselineServer* server =
      bench::BaselineServer::Start().release();
  static bench::BaselineClient* client =
      bench::BaselineClient::Create("127.0.0.1:" +
                                    std::to_string(server->port()))
          .release();
  return *client;
}

void BM_WeftTransfer(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  Graph g = Graph::Create("transfer");
  Tensor x, y;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{bytes / 4}, {.name = "x"});
    y = ops::Identity(x, {.name = "y", .device = kTask0});
  }
  auto session = *Session::Create(g, Cluster());
  NDArray in = NDArray::Uninitialized(DType::kFloat32, Shape{bytes / 4});
  std::fill_n(in.mutable_data<float>(), bytes / 4, 1.0f);
  for (auto _ : state) {
    auto r = session->Run({{x, in}}, {}, {y});
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_GrpcTransfer(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  std::vector<char> data(bytes, 1);
  bench::BaselineClient& client = Baseline();
  for (auto _ : state) {
    if (!client.Push(data.data(), bytes)) state.SkipWithError("push failed");
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

// Per-iteration latencies in manual time, with p50/p99 counters (us).
template <typename Fn>
void Latencies(benchmark::State& state, Fn fn) {
  std::vector<double> us;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    if (!fn()) {
      state.SkipWithError("call failed");
      break;
    }
    const double t = absl::ToDoubleMicroseconds(absl::Now() - start);
    us.push_back(t);
    state.SetIterationTime(t * 1e-6);
  }
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

struct Step {
  Graph g = Graph::Create("step");
  Tensor x, y;
  explicit Step(const std::string& device) {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{1}, {.name = "x"});
    y = ops::Neg(x, {.name = "y", .device = device});
  }
};

void BM_RemoteStep(benchmark::State& state) {
  Step s(kTask0);
  auto session = *Session::Create(s.g, Cluster());
  const NDArray in = NDArray::Vector<float>({1});
  (void)session->Run({{s.x, in}}, {s.y});  // Registers.
  Latencies(state, [&] { return session->Run({{s.x, in}}, {s.y}).ok(); });
}

void BM_InProcessStep(benchmark::State& state) {
  Step s("cpu:1");
  auto session = *Session::Create(s.g, {.devices = {"cpu:0", "cpu:1"}});
  const NDArray in = NDArray::Vector<float>({1});
  Latencies(state, [&] { return session->Run({{s.x, in}}, {s.y}).ok(); });
}

void BM_GrpcRoundTrip(benchmark::State& state) {
  bench::BaselineClient& client = Baseline();
  const std::string payload(4, 'x');
  Latencies(state, [&] { return client.Echo(payload); });
}

BENCHMARK(BM_WeftTransfer)
    ->RangeMultiplier(8)
    ->Range(4 << 10, 256 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_GrpcTransfer)
    ->RangeMultiplier(8)
    ->Range(4 << 10, 256 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RemoteStep)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InProcessStep)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GrpcRoundTrip)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace weft
