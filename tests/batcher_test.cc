// Tests for weft::Batcher (async/batcher.h).
#include "async/batcher.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "graph/graph.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// y = x · W (x: float32[?,4], W: 4x3 of small integers, so every result is
// exact whatever the summation order), and q = a / b (int32[?]), which fails
// for b = 0.
struct Model {
  Graph graph = Graph::Create("model");
  Tensor x, y, a, b, q;
  std::unique_ptr<Session> session;

  Model() {
    GraphScope scope(graph);
    x = ops::Placeholder(DType::kFloat32, Shape{-1, 4});
    Tensor w = ops::Const(*NDArray::Create<float>(
        {1, 2, 0, -1, 0, 3, 2, 1, 1, 0, -2, 4}, Shape{4, 3}));
    y = ops::MatMul(x, w);
    a = ops::Placeholder(DType::kInt32, Shape{-1});
    b = ops::Placeholder(DType::kInt32, Shape{-1});
    q = ops::Div(a, b);
    session = *Session::Create(graph);
  }

  // The unbatched reference: one Session::Run of a batch of one.
  std::vector<NDArray> Reference(const std::vector<NDArray>& example) {
    NDArray row = *example[0].Reshaped(Shape{1, 4});
    NDArray ai = *example[1].Reshaped(Shape{1});
    NDArray bi = *example[2].Reshaped(Shape{1});
    absl::StatusOr<std::vector<NDArray>> out =
        session->Run({{x, row}, {a, ai}, {b, bi}}, {y, q});
    EXPECT_TRUE(out.ok()) << out.status();
    return {*(*out)[0].Reshaped(Shape{3}), *(*out)[1].Reshaped(Shape{})};
  }
};

std::vector<NDArray> Example(int i, int divisor = 1) {
  return {NDArray::Vector<float>(
              {1.0f * (i % 7), -1.0f * (i % 5), 2, 1.0f * (i % 3)}),
          NDArray::Scalar<int32_t>(100 + i), NDArray::Scalar<int32_t>(divisor)};
}

std::unique_ptr<Batcher> MakeBatcher(Model& m, BatcherOptions options) {
  absl::StatusOr<std::unique_ptr<Batcher>> b =
      Batcher::Create(m.session.get(), {m.x, m.a, m.b}, {m.y, m.q}, options);
  EXPECT_TRUE(b.ok()) << b.status();
  return *std::move(b);
}

void ExpectSameArrays(const std::vector<NDArray>& got,
                      const std::vector<NDArray>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i].Equals(want[i]))
        << got[i].DebugString() << " vs " << want[i].DebugString();
  }
}

TEST(Batcher, CreateRejectsBadArguments) {
  Model m;
  auto message = [](absl::StatusOr<std::unique_ptr<Batcher>> b) {
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(b.status().message());
  };
  EXPECT_THAT(message(Batcher::Create(nullptr, {m.x}, {m.y})),
              HasSubstr("the session is null"));
  EXPECT_THAT(message(Batcher::Create(m.session.get(), {}, {m.y})),
              HasSubstr("no inputs"));
  EXPECT_THAT(Batcher::Create(m.session.get(), {m.x}, {m.y, m.x, {}})
                  .status()
                  .message(),
              HasSubstr("output 2 was not built"));
  Graph other = Graph::Create("other");
  Tensor foreign =
      ops::Placeholder(DType::kFloat32, Shape{-1, 4}, {.graph = other});
  std::string msg = message(Batcher::Create(m.session.get(), {foreign}, {m.y}));
  EXPECT_THAT(msg, HasSubstr("input 0 'Placeholder:0' belongs to graph "
                             "'other'"));
  EXPECT_THAT(msg, HasSubstr("the session runs graph 'model'"));
  EXPECT_THAT(msg, HasSubstr("batcher_test.cc"));

  Tensor fixed = ops::Placeholder(DType::kFloat32, Shape{2, 4},
                                  {.name = "fixed", .graph = m.graph});
  msg = message(Batcher::Create(m.session.get(), {fixed}, {m.y}));
  EXPECT_THAT(msg, HasSubstr("input 0 'fixed:0' float32[2,4] has no unknown "
                             "leading dimension"));
  EXPECT_THAT(msg, HasSubstr("Shape{-1, ...}"));
  EXPECT_THAT(message(Batcher::Create(m.session.get(), {m.x, m.x}, {m.y})),
              HasSubstr("inputs 0 and 1 are both"));
  EXPECT_THAT(message(Batcher::Create(m.session.get(), {m.x}, {m.y},
                                      {.max_batch_size = 0})),
              HasSubstr("max_batch_size 0 is out of range"));
  EXPECT_THAT(
      message(Batcher::Create(m.session.get(), {m.x}, {m.y},
                              {.batch_timeout = absl::Milliseconds(-1)})),
      HasSubstr("batch_timeout -1ms is negative"));
  EXPECT_THAT(message(Batcher::Create(m.session.get(), {m.x}, {m.y},
                                      {.num_batch_threads = 0})),
              HasSubstr("num_batch_threads 0 is out of range"));
}

TEST(Batcher, RunChecksTheExample) {
  Model m;
  std::unique_ptr<Batcher> batcher = MakeBatcher(m, {});
  absl::Status s =
      batcher->Run({NDArray::Vector<float>({1, 2, 3, 4})}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("got 1 value but the batcher has 3 "
                                     "inputs"));
  EXPECT_THAT(s.message(), HasSubstr("Batcher (created at"));

  std::vector<NDArray> with_batch_axis = Example(0);
  with_batch_axis[0] = *with_batch_axis[0].Reshaped(Shape{1, 4});
  s = batcher->Run(with_batch_axis).status();
  EXPECT_THAT(s.message(),
              HasSubstr("input 0 'Placeholder:0' takes float32[4] per example "
                        "(the tensor is float32[?,4], batch axis removed) but "
                        "got float32[1,4]"));
  std::vector<NDArray> wrong_dtype = Example(0);
  wrong_dtype[1] = NDArray::Scalar<float>(1);
  EXPECT_THAT(batcher->Run(wrong_dtype).status().message(),
              HasSubstr("takes int32[] per example"));
  EXPECT_EQ(batcher->stats().num_batches, 0);
}

TEST(Batcher, FormsABatchBySize) {
  Model m;
  // An infinite timeout: batches form only when full (or at shutdown).
  std::unique_ptr<Batcher> batcher = MakeBatcher(
      m, {.max_batch_size = 8, .batch_timeout = absl::InfiniteDuration()});
  absl::Mutex mu;
  std::vector<absl::StatusOr<std::vector<NDArray>>> results(8);
  int done = 0;
  for (int i = 0; i < 8; ++i) {
    batcher->RunAsync(Example(i),
                      [&, i](absl::StatusOr<std::vector<NDArray>> r) {
                        absl::MutexLock lock(&mu);
                        results[i] = std::move(r);
                        ++done;
                      });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* d) { return *d == 8; }, &done));
  }
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    ExpectSameArrays(*results[i], m.Reference(Example(i)));
  }
  BatcherStats stats = batcher->stats();
  EXPECT_EQ(stats.num_batches, 1);
  EXPECT_EQ(stats.batch_size_counts[8], 1);
}

TEST(Batcher, FormsABatchByTimeout) {
  Model m;
  std::unique_ptr<Batcher> batcher = MakeBatcher(
      m, {.max_batch_size = 1000, .batch_timeout = absl::Milliseconds(2)});
  // Three requests can never fill a batch of 1000: only the timeout
  // releases them.
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      absl::StatusOr<std::vector<NDArray>> r = batcher->Run(Example(i));
      ASSERT_TRUE(r.ok()) << r.status();
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(batcher->stats().num_requests, 3);
}

TEST(Batcher, ManyClientsGetTheUnbatchedResults) {
  Model m;
  constexpr int kClients = 64;
  constexpr int kPerClient = 20;
  constexpr int kMax = 8;
  std::unique_ptr<Batcher> batcher =
      MakeBatcher(m, {.max_batch_size = kMax,
                      .batch_timeout = absl::Milliseconds(1),
                      .num_batch_threads = 2});
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < kPerClient; ++k) {
        const int i = c * kPerClient + k;
        absl::StatusOr<std::vector<NDArray>> r = batcher->Run(Example(i));
        ASSERT_TRUE(r.ok()) << r.status();
        ExpectSameArrays(*r, m.Reference(Example(i)));
      }
    });
  }
  for (std::thread& t : clients) t.join();
  BatcherStats stats = batcher->stats();
  EXPECT_EQ(stats.num_requests, kClients * kPerClient);
  EXPECT_EQ(stats.num_failed_batches, 0);
  ASSERT_EQ(stats.batch_size_counts.size(), size_t{kMax + 1});
  EXPECT_EQ(stats.batch_size_counts[0], 0);
  int64_t requests = 0, batches = 0;
  for (int k = 1; k <= kMax; ++k) {
    requests += k * stats.batch_size_counts[k];
    batches += stats.batch_size_counts[k];
  }
  EXPECT_EQ(requests, stats.num_requests);
  EXPECT_EQ(batches, stats.num_batches);
}

TEST(Batcher, AFailingExampleFailsExactlyItsBatch) {
  Model m;
  std::unique_ptr<Batcher> batcher = MakeBatcher(
      m, {.max_batch_size = 4, .batch_timeout = absl::InfiniteDuration()});
  absl::Mutex mu;
  std::vector<absl::StatusOr<std::vector<NDArray>>> results(12);
  int done = 0;
  // Batches are requests 0-3, 4-7, 8-11; request 5 divides by zero.
  for (int i = 0; i < 12; ++i) {
    batcher->RunAsync(Example(i, i == 5 ? 0 : 1),
                      [&, i](absl::StatusOr<std::vector<NDArray>> r) {
                        absl::MutexLock lock(&mu);
                        results[i] = std::move(r);
                        ++done;
                      });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* d) { return *d == 12; }, &done));
  }
  for (int i = 0; i < 12; ++i) {
    if (i >= 4 && i < 8) {
      const absl::Status& s = results[i].status();
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << i;
      EXPECT_THAT(s.message(), HasSubstr("the batch of 4 requests failed"));
      EXPECT_THAT(s.message(), HasSubstr("integer division by zero"));
    } else {
      ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
      ExpectSameArrays(*results[i], m.Reference(Example(i)));
    }
  }
  EXPECT_EQ(batcher->stats().num_failed_batches, 1);
}

TEST(Batcher, AnOutputWithoutTheBatchAxisFailsTheBatch) {
  Model m;
  Tensor flat = ops::Reshape(m.y, Shape{-1}, {.graph = m.graph});
  ASSERT_TRUE(flat.ok()) << flat.status();
  absl::StatusOr<std::unique_ptr<Batcher>> batcher = Batcher::Create(
      m.session.get(), {m.x}, {flat},
      {.max_batch_size = 2, .batch_timeout = absl::InfiniteDuration()});
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  std::vector<absl::Status> results(2);
  for (int i = 0; i < 2; ++i) {
    (*batcher)->RunAsync({Example(i)[0]},
                         [&results, i](absl::StatusOr<std::vector<NDArray>> r) {
                           results[i] = r.status();
                         });
  }
  batcher->reset();  // Drains: both have completed after this.
  for (const absl::Status& s : results) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("output 0 'Reshape:0' came back as "
                                       "float32[6] for a batch of 2"));
  }
}

TEST(Batcher, RequestsWithDifferentShapesGoToDifferentBatches) {
  Graph g = Graph::Create("ragged");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.graph = g});
  Tensor s = ops::ReduceSum(x, {1}, {.graph = g});
  std::unique_ptr<Session> session = *Session::Create(g);
  std::unique_ptr<Batcher> batcher = *Batcher::Create(
      session.get(), {x}, {s},
      {.max_batch_size = 4, .batch_timeout = absl::InfiniteDuration()});
  std::vector<float> sums(4, -1);
  for (int i = 0; i < 4; ++i) {
    std::vector<float> row(i % 2 == 0 ? 2 : 3, 1.0f + i);
    batcher->RunAsync({NDArray::Vector<float>(row)},
                      [&sums, i](absl::StatusOr<std::vector<NDArray>> r) {
                        ASSERT_TRUE(r.ok()) << r.status();
                        sums[i] = r->at(0).values<float>()[0];
                      });
  }
  batcher.reset();
  EXPECT_EQ(sums, (std::vector<float>{2, 6, 6, 12}));
}

TEST(Batcher, RefusesRequestsAfterShutdown) {
  Model m;
  std::unique_ptr<Batcher> batcher = MakeBatcher(m, {});
  batcher->Shutdown();
  absl::Status s = batcher->Run(Example(0)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("the batcher is shut down (at "));
  EXPECT_THAT(s.message(), HasSubstr("batcher_test.cc"));
}

TEST(Batcher, DestructionFinishesEveryWaitingCaller) {
  Model m;
  constexpr int kClients = 64;
  // Neither size nor timeout would ever release these requests.
  std::unique_ptr<Batcher> batcher = MakeBatcher(
      m, {.max_batch_size = 1000, .batch_timeout = absl::InfiniteDuration()});
  std::vector<absl::StatusOr<std::vector<NDArray>>> results(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] { results[c] = batcher->Run(Example(c)); });
  }
  while (batcher->num_pending() < kClients) {
    absl::SleepFor(absl::Microseconds(200));
  }
  batcher.reset();
  for (std::thread& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    ASSERT_TRUE(results[c].ok()) << results[c].status();
    ExpectSameArrays(*results[c], m.Reference(Example(c)));
  }
}

TEST(Batcher, ShutdownUnderLoadReturnsEveryCaller) {
  Model m;
  constexpr int kClients = 64;
  std::unique_ptr<Batcher> batcher = MakeBatcher(
      m, {.max_batch_size = 16, .batch_timeout = absl::Milliseconds(1)});
  std::atomic<int64_t> served{0};
  std::vector<absl::Status> last(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0;; ++i) {
        absl::StatusOr<std::vector<NDArray>> r = batcher->Run(Example(c + i));
        if (!r.ok()) {
          last[c] = r.status();
          return;
        }
        ExpectSameArrays(*r, m.Reference(Example(c + i)));
        served.fetch_add(1);
      }
    });
  }
  while (served.load() < 2 * kClients) absl::SleepFor(absl::Microseconds(200));
  batcher->Shutdown();
  for (std::thread& t : clients) t.join();
  batcher.reset();
  for (const absl::Status& s : last) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(), HasSubstr("shut down"));
  }
}

}  // namespace
}  // namespace weft
