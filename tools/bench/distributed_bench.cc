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

// weft and the plain call alternated within each iteration (the order
// flips every iteration), so both see the same machine load: counters
// weft_ms and grpc_ms (medians) and ratio = weft's throughput / plain's
// (grpc_ms / weft_ms). The figure docs/perf.md records for the goal.
void BM_TransferAlternating(benchmark::State& state) {
  const int64_t bytes = state.range(0);
  TransferStep step(bytes);
  std::vector<char> data(bytes, 1);
  bench::BaselineClient& client = Baseline();
  auto weft_step = [&] {
    const absl::Time start = absl::Now();
    if (!step.Run().ok()) return -1.0;
    return absl::ToDoubleMilliseconds(absl::Now() - start);
  };
  auto plain_push = [&] {
    const absl::Time start = absl::Now();
    if (!client.Push(data.data(), bytes)) return -1.0;
    return absl::ToDoubleMilliseconds(absl::Now() - start);
  };
  if (weft_step() < 0 || plain_push() < 0) {  // Warm-up, registration.
    state.SkipWithError("warm-up failed");
    return;
  }
  std::vector<double> weft_ms, grpc_ms;
  bool weft_first = true;
  for (auto _ : state) {
    double w, p;
    if (weft_first) {
      w = weft_step();
      p = plain_push();
    } else {
      p = plain_push();
      w = weft_step();
    }
    weft_first = !weft_first;
    if (w < 0 || p < 0) {
      state.SkipWithError("a transfer failed");
      break;
    }
    weft_ms.push_back(w);
    grpc_ms.push_back(p);
    state.SetIterationTime((w + p) * 1e-3);
  }
  if (weft_ms.empty()) return;
  auto median = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double w = median(weft_ms), p = median(grpc_ms);
  state.counters["weft_ms"] = w;
  state.counters["grpc_ms"] = p;
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
  auto timed = [](auto fn) {
    const absl::Time start = absl::Now();
    if (!fn()) return -1.0;
    return absl::ToDoubleMicroseconds(absl::Now() - start);
  };
  auto step = [&] { return session->Run({{s.x, in}}, {s.y}).ok(); };
  auto echo = [&] { return client.Echo(payload); };
  if (!step() || !echo()) {  // Registration, connections.
    state.SkipWithError("warm-up failed");
    return;
  }
  std::vector<double> step_us, rtt_us;
  bool step_first = true;
  for (auto _ : state) {
    double a, b;
    if (step_first) {
      a = timed(step);
      b = timed(echo);
    } else {
      b = timed(echo);
      a = timed(step);
    }
    step_first = !step_first;
    if (a < 0 || b < 0) {
      state.SkipWithError("a call failed");
      break;
    }
    step_us.push_back(a);
    rtt_us.push_back(b);
    state.SetIterationTime((a + b) * 1e-6);
  }
  if (step_us.empty()) return;
  std::sort(step_us.begin(), step_us.end());
  std::sort(rtt_us.begin(), rtt_us.end());
  const double step_p50 = step_us[step_us.size() / 2];
  const double rtt_p50 = rtt_us[rtt_us.size() / 2];
  state.counters["step_p50_us"] = step_p50;
  state.counters["step_p99_us"] = step_us[step_us.size() * 99 / 100];
  state.counters["rtt_p50_us"] = rtt_p50;
  state.counters["rtt_p99_us"] = rtt_us[rtt_us.size() * 99 / 100];
  state.counters["ratio"] = step_p50 / rtt_p50;
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
