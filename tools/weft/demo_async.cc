// `weft demo`, section 7: asynchronous input — producer threads feeding a
// queue that a scoring graph dequeues from (no worker thread held while it
// waits), then a dynamic batcher serving 64 concurrent clients, with and
// without batching.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "async/batcher.h"
#include "async/queue.h"
#include "async/queue_ops.h"
#include "tools/weft/demo.h"
#include "weft.h"

namespace weft::tools {

// Long (~125 lines) on purpose: like RunDemo, a script whose steps run and
// print in the order of its output.
absl::Status RunAsyncDemo() {
  std::printf(
      "\n== 7. Asynchronous input: producers -> Queue -> scoring graph, then "
      "a Batcher for 64 clients\n");
  constexpr int kFeatures = 64;
  absl::StatusOr<Queue> queue = Queue::Create(
      "examples", {{DType::kFloat32, Shape{kFeatures}, "x"}}, /*capacity=*/32);
  if (!queue.ok()) return queue.status();

  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.2f);
  std::vector<float> wv(kFeatures * kFeatures);
  for (float& v : wv) v = dist(rng);
  const NDArray w = *NDArray::Create<float>(wv, Shape{kFeatures, kFeatures});

  // Scoring graph: dequeue a batch of 8 and score it.
  Graph scoring = Graph::Create("scoring");
  Tensor total;
  {
    GraphScope scope(scoring);
    std::vector<Tensor> batch = ops::DequeueMany(*queue, 8, {.name = "batch"});
    Tensor h = ops::Relu(ops::MatMul(batch[0], ops::Const(w)));
    total = ops::ReduceSum(h, {}, {.name = "score"});
  }
  absl::StatusOr<std::unique_ptr<Session>> scorer = Session::Create(scoring);
  if (!scorer.ok()) return scorer.status();

  constexpr int kProducers = 4, kPerProducer = 64;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::vector<float> v(kFeatures, 0.01f * (p + 1));
      for (int i = 0; i < kPerProducer; ++i) {
        absl::Status s =
            queue->Enqueue({*NDArray::Create<float>(v, Shape{kFeatures})});
        if (!s.ok()) return;
      }
    });
  }
  std::thread closer([&] {
    for (auto& t : producers) t.join();
    queue->Close();  // End of data: the next dequeue of an empty queue ends.
  });
  int batches = 0;
  absl::Status end;
  while (true) {
    absl::StatusOr<std::vector<NDArray>> r = (*scorer)->Run({}, {total});
    if (!r.ok()) {
      end = r.status();
      break;
    }
    ++batches;
  }
  closer.join();
  std::printf(
      "%d producer threads enqueued %d examples; the scoring graph ran %d "
      "batches of 8, then ended with:\n  %s\n",
      kProducers, kProducers * kPerProducer, batches,
      std::string(end.message()).c_str());
  if (end.code() != absl::StatusCode::kOutOfRange) return end;

  // Serving: 64 clients, one example each, against a model whose weights
  // (32 MiB: [1024,4096] and [4096,1024]) do not stay in the caches, so one
  // example streams them all from memory and a batch reads them once —
  // the case batching is for. (On a model small enough to stay in L2, one
  // Session::Run per example is as fast: docs/async.md.)
  constexpr int kModel = 1024, kHidden = 4096;
  auto weights = [&](int rows, int cols) {
    std::vector<float> w(static_cast<size_t>(rows) * cols);
    for (float& v : w) v = 0.05f * dist(rng);
    return ops::Const(*NDArray::Create<float>(w, Shape{rows, cols}));
  };
  Graph model = Graph::Create("model");
  Tensor in, out;
  {
    GraphScope scope(model);
    in = ops::Placeholder(DType::kFloat32, Shape{-1, kModel}, {.name = "in"});
    out = ops::Tanh(
        ops::MatMul(ops::Relu(ops::MatMul(in, weights(kModel, kHidden))),
                    weights(kHidden, kModel)),
        {.name = "out"});
  }
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(model);
  if (!session.ok()) return session.status();
  constexpr int kClients = 64, kRequests = 16;
  const std::vector<float> example(kModel, 0.5f);
  auto drive = [&](auto&& call) {
    std::vector<std::thread> clients;
    std::atomic<int> failures{0};
    const absl::Time start = absl::Now();
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        for (int i = 0; i < kRequests; ++i) {
          if (!call().ok()) failures.fetch_add(1);
        }
      });
    }
    for (auto& t : clients) t.join();
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    return std::make_pair(kClients * kRequests / secs, failures.load());
  };
  auto [plain_rps, plain_failures] = drive([&] {
    NDArray one = *NDArray::Create<float>(example, Shape{1, kModel});
    return (*session)->Run({{in, one}}, {out}).status();
  });
  absl::StatusOr<std::unique_ptr<Batcher>> batcher = Batcher::Create(
      session->get(), {in}, {out},
      {.max_batch_size = 32, .batch_timeout = absl::Milliseconds(1)});
  if (!batcher.ok()) return batcher.status();
  auto [batched_rps, batched_failures] = drive([&] {
    return (*batcher)
        ->Run({*NDArray::Create<float>(example, Shape{kModel})})
        .status();
  });
  const BatcherStats stats = (*batcher)->stats();
  std::printf(
      "64 clients x %d requests: Session::Run per example %.0f req/s; "
      "through the Batcher %.0f req/s (%.1fx), %lld batches, mean batch "
      "%.1f; failures %d/%d\n",
      kRequests, plain_rps, batched_rps, batched_rps / plain_rps,
      static_cast<long long>(stats.num_batches),
      stats.num_batches > 0
          ? static_cast<double>(stats.num_requests) / stats.num_batches
          : 0.0,
      plain_failures, batched_failures);
  return absl::OkStatus();
}

}  // namespace weft::tools
