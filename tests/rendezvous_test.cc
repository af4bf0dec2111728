// Tests of weft::Rendezvous as a seam: LocalRendezvous on its own, and a
// caller's Rendezvous plugged into a Session through
// SessionOptions::rendezvous_factory.
#include "runtime/rendezvous.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// Forwards to a LocalRendezvous and counts what passes through; optionally
// fails every Send with `send_error`.
class CountingRendezvous : public Rendezvous {
 public:
  struct Counts {
    std::atomic<int> sends{0};
    std::atomic<int> recvs{0};
    std::atomic<int> ended_steps{0};
    absl::Mutex mu;
    std::vector<std::string> keys ABSL_GUARDED_BY(mu);
  };

  CountingRendezvous(Counts* counts, absl::Status send_error)
      : counts_(counts), send_error_(std::move(send_error)) {}

  absl::Status Send(int64_t step, std::string_view key,
                    NDArray value) override {
    counts_->sends.fetch_add(1);
    {
      absl::MutexLock lock(&counts_->mu);
      counts_->keys.emplace_back(key);
    }
    if (!send_error_.ok()) return send_error_;
    return local_.Send(step, key, std::move(value));
  }
  void RecvAsync(int64_t step, std::string_view key,
                 RecvCallback done) override {
    counts_->recvs.fetch_add(1);
    local_.RecvAsync(step, key, std::move(done));
  }
  void AbortStep(int64_t step, absl::Status status) override {
    local_.AbortStep(step, std::move(status));
  }
  void EndStep(int64_t step) override {
    counts_->ended_steps.fetch_add(1);
    local_.EndStep(step);
  }

 private:
  Counts* const counts_;
  const absl::Status send_error_;
  LocalRendezvous local_;
};

// x (fed, cpu:0) -> Neg on cpu:1 -> Add on cpu:0: two transfers per run.
struct TwoDeviceGraph {
  Graph g = Graph::Create("two_devices");
  Tensor x, neg, sum;
  TwoDeviceGraph() {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{2}, {.name = "x"});
    neg = ops::Neg(x, {.name = "neg", .device = "cpu:1"});
    sum = ops::Add(neg, x, {.name = "sum", .device = "cpu:0"});
  }
};

TEST(Rendezvous, SessionUsesTheRendezvousFromTheFactory) {
  TwoDeviceGraph m;
  CountingRendezvous::Counts counts;
  std::atomic<int> factory_calls{0};
  SessionOptions options;
  options.devices = {"cpu:0", "cpu:1"};
  options.rendezvous_factory = [&]() -> std::unique_ptr<Rendezvous> {
    factory_calls.fetch_add(1);
    return std::make_unique<CountingRendezvous>(&counts, absl::OkStatus());
  };
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(m.g, options);
  ASSERT_TRUE(session.ok()) << session.status();
  constexpr int kRuns = 3;
  for (int run = 0; run < kRuns; ++run) {
    RunMetadata metadata;
    absl::StatusOr<std::vector<NDArray>> out = (*session)->Run(
        {{m.x, NDArray::Vector<float>({1, static_cast<float>(run)})}}, {m.sum},
        {}, &metadata);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].values<float>()[0], 0.0f);
    EXPECT_EQ(metadata.num_transfers, 2);
  }
  // One rendezvous per session; every transfer of every run went through it.
  // A step ends once all its partitions finish, which may be after Run
  // returns: destroying the session waits for that.
  session->reset();
  EXPECT_EQ(factory_calls.load(), 1);
  EXPECT_EQ(counts.sends.load(), 2 * kRuns);
  EXPECT_EQ(counts.recvs.load(), 2 * kRuns);
  EXPECT_EQ(counts.ended_steps.load(), kRuns);
  absl::MutexLock lock(&counts.mu);
  ASSERT_EQ(counts.keys.size(), 2u * kRuns);
  for (const std::string& key : counts.keys) {
    EXPECT_TRUE(absl::StrContains(key, "cpu:0") &&
                absl::StrContains(key, "cpu:1"))
        << key;
  }
}

TEST(Rendezvous, ASingleDeviceRunMakesNoTransfer) {
  Graph g = Graph::Create("one_device");
  GraphScope scope(g);
  Tensor y = ops::Neg(ops::Const(NDArray::Vector<float>({1, 2})));
  CountingRendezvous::Counts counts;
  SessionOptions options;
  options.rendezvous_factory = [&] {
    return std::make_unique<CountingRendezvous>(&counts, absl::OkStatus());
  };
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(g, options);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<std::vector<NDArray>> out = (*session)->Run({}, {y});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<float>()[1], -2.0f);
  EXPECT_EQ(counts.sends.load(), 0);
  EXPECT_EQ(counts.recvs.load(), 0);
}

TEST(Rendezvous, ASendErrorFailsTheRunWithItsCode) {
  TwoDeviceGraph m;
  CountingRendezvous::Counts counts;
  SessionOptions options;
  options.devices = {"cpu:0", "cpu:1"};
  options.rendezvous_factory = [&] {
    return std::make_unique<CountingRendezvous>(
        &counts, absl::UnavailableError("link to cpu:1 is down"));
  };
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(m.g, options);
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<std::vector<NDArray>> out =
      (*session)->Run({{m.x, NDArray::Vector<float>({1, 2})}}, {m.sum},
                      RunOptions{.timeout = absl::Seconds(30)});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(out.status().message(), HasSubstr("link to cpu:1 is down"));
  // The step is cleaned up once its partitions finish (the run may return
  // first): destroying the session waits for them.
  session->reset();
  EXPECT_EQ(counts.ended_steps.load(), 1);
}

TEST(Rendezvous, AFactoryReturningNullFailsCreate) {
  Graph g = Graph::Create("g");
  SessionOptions options;
  options.rendezvous_factory = [] { return std::unique_ptr<Rendezvous>(); };
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(g, options);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(session.status().message(),
              HasSubstr("rendezvous_factory returned a null Rendezvous"));
}

TEST(LocalRendezvous, DeliversBeforeAndAfterTheReceiverWaits) {
  LocalRendezvous r;
  ASSERT_TRUE(r.Send(1, "a", NDArray::Scalar<float>(1)).ok());
  float got_a = 0, got_b = 0;
  r.RecvAsync(1, "a", [&](absl::StatusOr<NDArray> v) {
    ASSERT_TRUE(v.ok());
    got_a = v->values<float>()[0];
  });
  r.RecvAsync(1, "b", [&](absl::StatusOr<NDArray> v) {
    ASSERT_TRUE(v.ok());
    got_b = v->values<float>()[0];
  });
  EXPECT_EQ(got_b, 0.0f);
  ASSERT_TRUE(r.Send(1, "b", NDArray::Scalar<float>(2)).ok());
  EXPECT_EQ(got_a, 1.0f);
  EXPECT_EQ(got_b, 2.0f);
  // A key sent twice before it is received.
  ASSERT_TRUE(r.Send(1, "c", NDArray::Scalar<float>(3)).ok());
  EXPECT_EQ(r.Send(1, "c", NDArray::Scalar<float>(4)).code(),
            absl::StatusCode::kAlreadyExists);
  r.EndStep(1);
  EXPECT_EQ(r.num_active_steps(), 0);
}

TEST(LocalRendezvous, AbortFailsWaitingAndLaterReceives) {
  LocalRendezvous r;
  absl::Status waiting;
  r.RecvAsync(7, "k", [&](absl::StatusOr<NDArray> v) { waiting = v.status(); });
  r.AbortStep(7, absl::CancelledError("stop"));
  EXPECT_EQ(waiting.code(), absl::StatusCode::kCancelled);
  absl::Status later;
  r.RecvAsync(7, "k2", [&](absl::StatusOr<NDArray> v) { later = v.status(); });
  EXPECT_EQ(later.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(r.Send(7, "k3", NDArray::Scalar<float>(1)).code(),
            absl::StatusCode::kCancelled);
  r.EndStep(7);
  EXPECT_EQ(r.num_active_steps(), 0);
}

}  // namespace
}  // namespace weft
