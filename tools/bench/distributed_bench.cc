// Partitions on another process vs plain gRPC, on loopback (issue 23's
// goals; docs/perf.md, "Partitions across processes"):
//   - BM_WeftTransfer/N vs BM_GrpcTransfer/N: N bytes from this process to
//     a task, weft (a step whose only work is a remote Identity of a fed
//     tensor: the tensor's push plus the step's RunStep call) against one
//     client-streaming call of the same bytes in the same chunks on the
//     same library and channel settings. Goal: weft >= 0.9x from 1 MiB up.
//   - BM_TransferAlternating/N: the same two alternated within each
//     iteration, so both see the same load; its `ratio` counter (weft's
//     throughput / plain's, from the medians) is the goal's figure.
//   - BM_RemoteStep (x -> Neg on the task -> fetched), BM_InProcessStep
//     (the same over cpu:0 and cpu:1 of this process) and BM_GrpcRoundTrip
//     (one unary call): p50/p99 latency counters. Goal: remote step
//     overhead <= 1.5x one plain round trip. BM_StepVsRoundTrip alternates
//     the remote step and the round trip within each iteration; its `ratio`
//     counter (p50 / p50) is the goal's figure.
// By default the servers run in this process (their own threads). With
// --pin, both servers run in child processes pinned to CPU 1 and the
// benchmark to CPU 0 (on a 2-core machine client and server then do not
// compete for a core, the same for weft and the baseline). Either way the
// numbers are the software's cost on loopback, not a network's.
//   bazel run -c opt //tools/bench:distributed_bench [-- --pin]
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "distributed/server.h"
#include "tools/bench/grpc_baseline.h"
#include "weft.h"

namespace weft {
namespace {

constexpr char kTask0[] = "/job:worker/task:0/cpu:0";

// The servers' addresses: set by main() from child processes (--pin),
// else servers started in this process on first use.
std::string g_weft_address;
std::string g_baseline_address;

const std::string& WeftAddress() {
  if (g_weft_address.empty()) {
    static Server* server = Server::Create().value().release();
    g_weft_address = server->address();
  }
  return g_weft_address;
}

SessionOptions Cluster() {
  SessionOptions o;
  o.cluster = *ClusterSpec::Create({{"worker", {WeftAddress()}}});
  return o;
}

bench::BaselineClient& Baseline() {
  if (g_baseline_address.empty()) {
    static bench::BaselineServer* server =
        bench::BaselineServer::Start().release();
    g_baseline_address = "127.0.0.1:" + std::to_string(server->port());
  }
  static bench::BaselineClient* client =
      bench::BaselineClient::Create(g_baseline_address).release();
  return *client;
}

// A step whose only work is a remote Identity of a fed `bytes`-byte tensor
// (a target, nothing fetched).
struct TransferStep {
  Graph g = Graph::Create("transfer");
  Tensor x, y;
  std::unique_ptr<Session> session;
  NDArray in;
  explicit TransferStep(int64_t bytes) {
    {
      GraphScope scope(g);
      x = ops::Placeholder(DType::kFloat32, Shape{bytes / 4}, {.name = "x"});
      y = ops::Identity(x, {.name = "y", .device = kTask0});
    }
    session = *Session::Create(g, Cluster());
    in = NDArray::Uninitialized(DType::kFloat32, Shape{bytes / 4});
    std::fill_n(in.mutable_data<float>(), bytes / 4, 1.0f);
  }
  absl::Status Run() { return session->Run({{x, in}}, {}, {y}).status(); }
};

void BM_WeftTransfer(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  TransferStep step(bytes);
  for (auto _ : state) {
    absl::Status s = step.Run();
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
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

// Runs `weft` and `plain` (each returns false on failure) once per
// iteration, alternating which goes first, so both see the same machine
// load; their times in microseconds, sorted, and manual time for the pair.
// Empty on a failure (reported with SkipWithError).
template <typename WeftFn, typename PlainFn>
std::pair<std::vector<double>, std::vector<double>> Alternate(
    benchmark::State& state, WeftFn weft, PlainFn plain) {
  auto timed = [](auto& fn) {
    const absl::Time start = absl::Now();
    if (!fn()) return -1.0;
    return absl::ToDoubleMicroseconds(absl::Now() - start);
  };
  std::vector<double> weft_us, plain_us;
  if (!weft() || !plain()) {  // Warm-up: registration, connections.
    state.SkipWithError("warm-up failed");
    return {};
  }
  bool weft_first = true;
  for (auto _ : state) {
    double w, p;
    if (weft_first) {
      w = timed(weft);
      p = timed(plain);
    } else {
      p = timed(plain);
      w = timed(weft);
    }
    weft_first = !weft_first;
    if (w < 0 || p < 0) {
      state.SkipWithError("a call failed");
      return {};
    }
    weft_us.push_back(w);
    plain_us.push_back(p);
    state.SetIterationTime((w + p) * 1e-6);
  }
  std::sort(weft_us.begin(), weft_us.end());
  std::sort(plain_us.begin(), plain_us.end());
  return {weft_us, plain_us};
}

// A sorted sample's p-th percentile.
double Percentile(const std::vector<double>& sorted, int p) {
  return sorted[std::min(sorted.size() - 1, sorted.size() * p / 100)];
}

// weft and the plain call alternated (Alternate): counters weft_ms and
// grpc_ms (medians) and ratio = weft's throughput / plain's (grpc_ms /
// weft_ms). The figure docs/perf.md records for the goal.
void BM_TransferAlternating(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  TransferStep step(bytes);
  std::vector<char> data(bytes, 1);
  bench::BaselineClient& client = Baseline();
  const auto [weft_us, grpc_us] = Alternate(
      state, [&] { return step.Run().ok(); },
      [&] { return client.Push(data.data(), bytes); });
  if (weft_us.empty()) return;
  const double w = Percentile(weft_us, 50), p = Percentile(grpc_us, 50);
  state.counters["weft_ms"] = w * 1e-3;
  state.counters["grpc_ms"] = p * 1e-3;
  state.counters["ratio"] = p / w;
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
  state.counters["p50_us"] = Percentile(us, 50);
  state.counters["p99_us"] = Percentile(us, 99);
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

// BM_RemoteStep's step and BM_GrpcRoundTrip's call alternated within each
// iteration (the order flips every iteration), so both see the same load:
// counters step_p50_us, rtt_p50_us and ratio = step p50 / round-trip p50,
// the goal's figure (<= 1.5).
void BM_StepVsRoundTrip(benchmark::State& state) {
  Step s(kTask0);
  auto session = *Session::Create(s.g, Cluster());
  const NDArray in = NDArray::Vector<float>({1});
  bench::BaselineClient& client = Baseline();
  const std::string payload(4, 'x');
  const auto [step_us, rtt_us] = Alternate(
      state,
      [&] {
        return session->Run({{s.x, in}}, {s.y}).ok();
      },
      [&] { return client.Echo(payload); });
  if (step_us.empty()) return;
  state.counters["step_p50_us"] = Percentile(step_us, 50);
  state.counters["step_p99_us"] = Percentile(step_us, 99);
  state.counters["rtt_p50_us"] = Percentile(rtt_us, 50);
  state.counters["rtt_p99_us"] = Percentile(rtt_us, 99);
  state.counters["ratio"] = Percentile(step_us, 50) / Percentile(rtt_us, 50);
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
BENCHMARK(BM_TransferAlternating)
    ->RangeMultiplier(8)
    ->Range(256 << 10, 256 << 20)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2)  // At least 4 pairs at 256 MiB.
    ->UseManualTime();
BENCHMARK(BM_RemoteStep)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InProcessStep)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GrpcRoundTrip)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StepVsRoundTrip)
    ->MinTime(2)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace weft

extern char** environ;

namespace {

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

// The child side of --pin: serves until killed, after writing its port.
int Serve(const std::string& kind, const std::string& port_file) {
  PinToCpu(1);
  int port = 0;
  std::unique_ptr<weft::Server> weft_server;
  std::unique_ptr<weft::bench::BaselineServer> baseline;
  if (kind == "weft") {
    weft_server = weft::Server::Create({.num_threads = 1}).value();
    port = weft_server->port();
  } else {
    baseline = weft::bench::BaselineServer::Start();
    if (baseline == nullptr) return 1;
    port = baseline->port();
  }
  {
    std::ofstream out(port_file + ".tmp");
    out << port << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  for (;;) pause();
}

// Starts `argv0 --serve=KIND --port_file=F` and returns its address.
std::string StartChild(const char* argv0, const std::string& kind,
                       std::vector<pid_t>& children) {
  const std::string port_file =
      "/tmp/distributed_bench_" + std::to_string(getpid()) + "_" + kind;
  std::remove(port_file.c_str());
  std::string a1 = "--serve=" + kind, a2 = "--port_file=" + port_file;
  char* args[] = {const_cast<char*>(argv0), a1.data(), a2.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, argv0, nullptr, nullptr, args, environ) != 0) {
    return "";
  }
  children.push_back(pid);
  for (int i = 0; i < 2000; ++i) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      std::remove(port_file.c_str());
      return "127.0.0.1:" + std::to_string(port);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  std::string serve, port_file;
  bool pin = false;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--serve=", 0) == 0) {
      serve = a.substr(8);
    } else if (a.rfind("--port_file=", 0) == 0) {
      port_file = a.substr(12);
    } else if (a == "--pin") {
      pin = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  // The servers' process setting (as `weft serve`'s), for the weft and the
  // plain server alike: in this process (unpinned) or the children (--pin,
  // which run this main again).
  weft::ConfigureMallocForServing();
  if (!serve.empty()) return Serve(serve, port_file);
  std::vector<pid_t> children;
  if (pin) {
    weft::g_weft_address = StartChild(argv[0], "weft", children);
    weft::g_baseline_address = StartChild(argv[0], "baseline", children);
    if (weft::g_weft_address.empty() || weft::g_baseline_address.empty()) {
      std::fprintf(stderr, "distributed_bench: a server did not start\n");
      for (pid_t c : children) kill(c, SIGKILL);
      return 1;
    }
    PinToCpu(0);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (pid_t c : children) {
    kill(c, SIGKILL);
    waitpid(c, nullptr, 0);
  }
  return 0;
}
