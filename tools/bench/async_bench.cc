// Asynchronous input benchmarks (issue 9): weft::Queue host throughput and
// wake-up latency against a plain mutex + condition variable std::deque,
// and weft::Batcher requests/s for 64 clients on two MatMul models (small:
// weights in L2; large: weights the size of the L3) against the same
// clients calling Session::Run one example each. Run with -c opt; see
// docs/async.md for the command and the figures.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "async/batcher.h"
#include "async/queue.h"
#include "async/queue_ops.h"
#include "benchmark/benchmark.h"
#include "weft.h"

namespace weft {
namespace {

constexpr int kCapacity = 1024;
constexpr int kItemsPerIteration = 20000;

// The baseline: a bounded FIFO of the same tuples, one mutex, two condvars.
class MutexDequeQueue {
 public:
  void Enqueue(std::vector<NDArray> v) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < kCapacity; });
    items_.push_back(std::move(v));
    not_empty_.notify_one();
  }
  std::vector<NDArray> Dequeue() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty(); });
    std::vector<NDArray> v = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return v;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::vector<NDArray>> items_;
};

Queue MakeQueue(int capacity) {
  return *Queue::Create("bench", {{DType::kInt64, Shape{}, "v"}}, capacity);
}

// One producer thread -> the benchmark thread, kItemsPerIteration items.
void BM_QueueThroughput_Weft(benchmark::State& state) {
  Queue q = MakeQueue(kCapacity);
  const NDArray item = NDArray::Scalar<int64_t>(1);
  for (auto _ : state) {
    std::thread producer([&] {
      for (int i = 0; i < kItemsPerIteration; ++i) {
        if (!q.Enqueue({item}).ok()) std::abort();
      }
    });
    for (int i = 0; i < kItemsPerIteration; ++i) {
      auto e = q.Dequeue();
      benchmark::DoNotOptimize(e);
    }
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * kItemsPerIteration);
}
BENCHMARK(BM_QueueThroughput_Weft)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_QueueThroughput_MutexDeque(benchmark::State& state) {
  MutexDequeQueue q;
  const NDArray item = NDArray::Scalar<int64_t>(1);
  for (auto _ : state) {
    std::thread producer([&] {
      for (int i = 0; i < kItemsPerIteration; ++i) q.Enqueue({item});
    });
    for (int i = 0; i < kItemsPerIteration; ++i) {
      auto e = q.Dequeue();
      benchmark::DoNotOptimize(e);
    }
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * kItemsPerIteration);
}
BENCHMARK(BM_QueueThroughput_MutexDeque)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Host enqueue -> graph dequeue: one producer thread enqueues on the host;
// the benchmark thread runs a graph whose ops::Dequeue (range(0) == 1) or
// ops::DequeueMany(range(0)) takes the items, one Session::Run per op.
void BM_QueueThroughput_GraphDequeue(benchmark::State& state) {
  const int64_t per_run = state.range(0);
  Queue q = MakeQueue(kCapacity);
  Graph g = Graph::Create("consumer");
  Tensor out;
  {
    GraphScope scope(g);
    out = per_run == 1 ? ops::Dequeue(q)[0] : ops::DequeueMany(q, per_run)[0];
  }
  auto session = *Session::Create(g);
  const NDArray item = NDArray::Scalar<int64_t>(1);
  const int64_t runs = kItemsPerIteration / per_run;
  for (auto _ : state) {
    std::thread producer([&] {
      for (int64_t i = 0; i < runs * per_run; ++i) {
        if (!q.Enqueue({item}).ok()) std::abort();
      }
    });
    for (int64_t i = 0; i < runs; ++i) {
      auto r = session->Run({}, {out});
      if (!r.ok()) std::abort();
      benchmark::DoNotOptimize(r);
    }
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * runs * per_run);
}
BENCHMARK(BM_QueueThroughput_GraphDequeue)
    ->Arg(1)
    ->Arg(100)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Wake-up latency: ping-pong between two threads through two capacity-1
// queues; each iteration is one round trip = two blocked-dequeue wake-ups.
void BM_WakeupRoundTrip_Weft(benchmark::State& state) {
  Queue ping = MakeQueue(1), pong = MakeQueue(1);
  const NDArray item = NDArray::Scalar<int64_t>(1);
  std::thread echo([&] {
    while (true) {
      auto e = ping.Dequeue();
      if (!e.ok()) return;  // Closed: done.
      if (!pong.Enqueue(*std::move(e)).ok()) std::abort();
    }
  });
  for (auto _ : state) {
    if (!ping.Enqueue({item}).ok()) std::abort();
    auto e = pong.Dequeue();
    benchmark::DoNotOptimize(e);
  }
  ping.Close();
  echo.join();
}
BENCHMARK(BM_WakeupRoundTrip_Weft)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_WakeupRoundTrip_MutexDeque(benchmark::State& state) {
  MutexDequeQueue ping, pong;
  const NDArray item = NDArray::Scalar<int64_t>(1);
  std::thread echo([&] {
    while (true) {
      std::vector<NDArray> e = ping.Dequeue();
      if (e.empty()) return;  // The stop signal.
      pong.Enqueue(std::move(e));
    }
  });
  for (auto _ : state) {
    ping.Enqueue({item});
    auto e = pong.Dequeue();
    benchmark::DoNotOptimize(e);
  }
  ping.Enqueue({});
  echo.join();
}
BENCHMARK(BM_WakeupRoundTrip_MutexDeque)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// --- Batcher: 64 clients, on two MatMul models ---
//
// Small: y = x[?,256] · W[256,256] (256 KiB of weights: in L2, so one
// example costs little more than the run and the thread hand-offs around
// it). Large: y = Relu(x[?,1024] · W1[1024,4096]) · W2[4096,1024] (32 MiB
// of weights, the size of the L3: one example streams them all from
// memory, a batch of 32 reads them once per batch).

constexpr int kClients = 64;
constexpr int kRequestsPerClient = 40;

enum class ModelSize { kSmall, kLarge };

float Weight(size_t i) { return 0.001f * static_cast<float>(i % 97); }

NDArray Weights(int64_t rows, int64_t cols) {
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = Weight(i);
  return *NDArray::Create<float>(w, Shape{rows, cols});
}

struct MatMulModel {
  Graph graph = Graph::Create("serving");
  int64_t dim;  // Width of x and y.
  Tensor x, y;
  std::unique_ptr<Session> session;
  explicit MatMulModel(ModelSize size)
      : dim(size == ModelSize::kSmall ? 256 : 1024) {
    GraphScope scope(graph);
    x = ops::Placeholder(DType::kFloat32, Shape{-1, dim});
    if (size == ModelSize::kSmall) {
      y = ops::MatMul(x, ops::Const(Weights(dim, dim)));
    } else {
      constexpr int64_t kHidden = 4096;
      y = ops::MatMul(
          ops::Relu(ops::MatMul(x, ops::Const(Weights(dim, kHidden)))),
          ops::Const(Weights(kHidden, dim)));
    }
    session = *Session::Create(graph);
  }
};

NDArray ExampleRow(int64_t dim, int i) {
  std::vector<float> v(static_cast<size_t>(dim));
  for (int64_t j = 0; j < dim; ++j) v[j] = 0.01f * ((i + j) % 13);
  return NDArray::Vector<float>(v);
}

// Runs kClients threads doing kRequestsPerClient calls of `call` each and
// records every call's latency (microseconds) into `latencies`.
template <typename Call>
void RunClients(int64_t dim, Call call, std::vector<double>& latencies) {
  std::vector<std::vector<double>> per_client(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      per_client[c].reserve(kRequestsPerClient);
      for (int r = 0; r < kRequestsPerClient; ++r) {
        const NDArray row = ExampleRow(dim, c * kRequestsPerClient + r);
        auto start = std::chrono::steady_clock::now();
        call(row);
        auto end = std::chrono::steady_clock::now();
        per_client[c].push_back(
            std::chrono::duration<double, std::micro>(end - start).count());
      }
    });
  }
  for (std::thread& t : clients) t.join();
  for (auto& v : per_client)
    latencies.insert(latencies.end(), v.begin(), v.end());
}

void ReportLatencies(benchmark::State& state, std::vector<double>& latencies) {
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies[std::min(latencies.size() - 1,
                              static_cast<size_t>(p * latencies.size()))];
  };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.SetItemsProcessed(state.iterations() * kClients * kRequestsPerClient);
}

void ServeWithSessionRun(benchmark::State& state, ModelSize size) {
  MatMulModel m(size);
  std::vector<double> latencies;
  for (auto _ : state) {
    RunClients(
        m.dim,
        [&](const NDArray& row) {
          auto out =
              m.session->Run({{m.x, *row.Reshaped(Shape{1, m.dim})}}, {m.y});
          if (!out.ok()) std::abort();
        },
        latencies);
  }
  ReportLatencies(state, latencies);
}

// Arg 0: max_batch_size; arg 1: num_batch_threads.
void ServeWithBatcher(benchmark::State& state, ModelSize size) {
  MatMulModel m(size);
  BatcherOptions options;
  options.max_batch_size = static_cast<int>(state.range(0));
  options.num_batch_threads = static_cast<int>(state.range(1));
  std::unique_ptr<Batcher> batcher =
      *Batcher::Create(m.session.get(), {m.x}, {m.y}, options);
  std::vector<double> latencies;
  for (auto _ : state) {
    RunClients(
        m.dim,
        [&](const NDArray& row) {
          if (!batcher->Run({row}).ok()) std::abort();
        },
        latencies);
  }
  ReportLatencies(state, latencies);
  BatcherStats stats = batcher->stats();
  state.counters["mean_batch"] = static_cast<double>(stats.num_requests) /
                                 std::max<int64_t>(1, stats.num_batches);
}

void BM_Serve64Clients_SessionRun(benchmark::State& state) {
  ServeWithSessionRun(state, ModelSize::kSmall);
}
BENCHMARK(BM_Serve64Clients_SessionRun)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Serve64Clients_Batcher(benchmark::State& state) {
  ServeWithBatcher(state, ModelSize::kSmall);
}
BENCHMARK(BM_Serve64Clients_Batcher)
    ->Args({32, 1})
    ->Args({32, 2})
    ->Args({8, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Serve64Clients_SessionRun_Large(benchmark::State& state) {
  ServeWithSessionRun(state, ModelSize::kLarge);
}
BENCHMARK(BM_Serve64Clients_SessionRun_Large)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Serve64Clients_Batcher_Large(benchmark::State& state) {
  ServeWithBatcher(state, ModelSize::kLarge);
}
BENCHMARK(BM_Serve64Clients_Batcher_Large)
    ->Args({32, 1})
    ->Args({32, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace weft

BENCHMARK_MAIN();
