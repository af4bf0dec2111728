// Tests of a cluster of separate processes on 127.0.0.1: `weft serve`
// workers started by the test (ports chosen by the servers, read from
// --port_file), killed and restarted by it. A two-process run equals the
// in-process run bit for bit; SIGKILL mid-step fails the run within a
// second naming the task, and the Session works again once the task is
// back; SIGSTOP is found by keepalive; a second client process shares a
// worker with this one's 16 threads.
//
// Usage (Bazel passes it): process_test WEFT_BINARY [gtest flags]
//        process_test --client=ADDRESS   (the second client process)
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "distributed/server.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "state/variable.h"
#include "state/variable_ops.h"
#include "tests/distributed/test_models.h"

extern char** environ;

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::weft::distributed_testing::ClusterOptions;
using ::weft::distributed_testing::kTask0;
using ::weft::distributed_testing::kTask1;
using ::weft::distributed_testing::SplitMlp;

std::string g_weft;  // The `weft` binary.
std::string g_self;  // This test binary.

// A child process, SIGKILLed and reaped by the destructor.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) !=
        0) {
      pid_ = -1;
    }
  }
  ~Child() { Kill(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, sig);
    Wait();
  }
  // The exit status (-1 if it was killed by a signal).
  int Wait() {
    if (pid_ <= 0) return status_;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// A `weft serve` worker on 127.0.0.1.
class Worker {
 public:
  // Port 0: any free port.
  explicit Worker(int port = 0) {
    static std::atomic<int> n{0};
    port_file_ =
        absl::StrCat(::testing::TempDir(), "/port_", getpid(), "_", n++);
    std::filesystem::remove(port_file_);
    child_ = std::make_unique<Child>(std::vector<std::string>{
        g_weft, "serve", "--listen", absl::StrCat("127.0.0.1:", port),
        "--port_file", port_file_});
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      std::ifstream in(port_file_);
      std::string line;
      if (in && std::getline(in, line) && absl::SimpleAtoi(line, &port_)) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  Child& process() { return *child_; }

 private:
  std::string port_file_;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

// `links` dependent 512x512 MatMuls on `device`: a step that takes a while.
struct SlowChain {
  Graph g = Graph::Create("slow");
  Tensor x, y;
  SlowChain(const std::string& device, int links) {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{512, 512}, {.name = "x"});
    Tensor w = ops::Const(
        *NDArray::Create<float>(std::vector<float>(512 * 512, 1.0f / 512),
                                Shape{512, 512}),
        {.name = "w", .device = device});
    Tensor h = x;
    for (int i = 0; i < links; ++i) {
      h = ops::MatMul(h, w, {.device = device});
    }
    y = ops::ReduceSum(h, {}, false, {.name = "y", .device = device});
  }
};

NDArray Ones512() {
  return *NDArray::Create<float>(std::vector<float>(512 * 512, 1.0f),
                                 Shape{512, 512});
}

int ThreadCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

TEST(Processes, TwoWorkerProcessesEqualTheInProcessRunBitForBit) {
  Worker w0, w1;
  ASSERT_TRUE(w0.ok() && w1.ok());
  SplitMlp mlp({w0.address(), w1.address()}, kTask0, kTask1);
  ASSERT_TRUE(mlp.status.ok()) << mlp.status;
  for (int i = 0; i < 10; ++i) {
    const SplitMlp::Result r = mlp.Run(i);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.equal) << r.got << " vs " << r.want;
  }
}

// A chain on task 0 long enough that a step is surely in flight 300 ms in.
std::unique_ptr<SlowChain> ChainOfAtLeast(absl::Duration duration,
                                          const std::string& address) {
  int links = 16;
  for (;;) {
    auto chain = std::make_unique<SlowChain>(kTask0, links);
    auto session = Session::Create(chain->g, ClusterOptions({address}));
    if (!session.ok()) return nullptr;
    const absl::Time start = absl::Now();
    if (!(*session)->Run({{chain->x, Ones512()}}, {chain->y}).ok()) {
      return nullptr;
    }
    const absl::Duration took = absl::Now() - start;
    if (took >= duration || links >= 4096) return chain;
    links *= std::max(2, static_cast<int>(duration / took) + 1);
  }
}

TEST(Processes, SigkillMidStepFailsTheRunWithinASecondAndARestartHeals) {
  auto w0 = std::make_unique<Worker>();
  ASSERT_TRUE(w0->ok());
  const int port = w0->port();
  const std::string address = w0->address();
  std::unique_ptr<SlowChain> chain = ChainOfAtLeast(absl::Seconds(2), address);
  ASSERT_NE(chain, nullptr);
  auto session = Session::Create(chain->g, ClusterOptions({address}));
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({{chain->x, Ones512()}}, {chain->y}).ok());
  const int threads_before = ThreadCount();

  absl::StatusOr<std::vector<NDArray>> r;
  absl::Time killed_at;
  std::thread runner([&] {
    r = (*session)->Run({{chain->x, Ones512()}}, {chain->y});
  });
  absl::SleepFor(absl::Milliseconds(300));
  killed_at = absl::Now();
  w0->process().Kill(SIGKILL);
  runner.join();
  const absl::Duration took = absl::Now() - killed_at;
  std::printf("SIGKILL mid-step: the run failed %.1f ms after the kill: %s\n",
              absl::ToDoubleMilliseconds(took), r.status().ToString().c_str());
  EXPECT_LT(took, absl::Seconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(),
              HasSubstr("task /job:worker/task:0 at " + address + ", step "));

  // Back on the same port: the next run registers again and succeeds.
  w0 = std::make_unique<Worker>(port);
  ASSERT_TRUE(w0->ok());
  auto again = (*session)->Run({{chain->x, Ones512()}}, {chain->y});
  EXPECT_TRUE(again.ok()) << again.status();
  // No thread per failed step is left behind (the transport keeps a small
  // pool).
  EXPECT_LE(ThreadCount(), threads_before + 4);
}

TEST(Processes, SigstopIsFoundByKeepaliveWithoutADeadline) {
  Worker w0;
  ASSERT_TRUE(w0.ok());
  std::unique_ptr<SlowChain> chain =
      ChainOfAtLeast(absl::Seconds(2), w0.address());
  ASSERT_NE(chain, nullptr);
  auto session = Session::Create(chain->g, ClusterOptions({w0.address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<std::vector<NDArray>> r;
  std::thread runner([&] {
    r = (*session)->Run({{chain->x, Ones512()}}, {chain->y});
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time stopped_at = absl::Now();
  w0.process().Signal(SIGSTOP);
  runner.join();
  const absl::Duration took = absl::Now() - stopped_at;
  std::printf("SIGSTOP mid-step: the run failed %.1f ms after the stop: %s\n",
              absl::ToDoubleMilliseconds(took), r.status().ToString().c_str());
  w0.process().Signal(SIGCONT);
  EXPECT_LT(took, absl::Seconds(6));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("task /job:worker/task:0"));
}

// The second client: 4 threads x 50 runs against `address`; exit 0 when
// every result equals the in-process one.
int RunSecondClient(const std::string& address) {
  SplitMlp mlp({address}, kTask0, kTask0);
  if (!mlp.status.ok()) return 1;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!mlp.Run(1000 + t * 100 + i).equal) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  return bad.load() == 0 ? 0 : 1;
}

TEST(Processes, SixteenThreadsAndASecondClientProcessShareAWorker) {
  Worker w0;
  ASSERT_TRUE(w0.ok());
  Child second({g_self, absl::StrCat("--client=", w0.address())});
  ASSERT_GT(second.pid(), 0);
  SplitMlp mlp({w0.address()}, kTask0, kTask0);
  ASSERT_TRUE(mlp.status.ok()) << mlp.status;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!mlp.Run(t * 100 + i).equal) ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(second.Wait(), 0) << "the second client process saw errors";
}

NDArray Mat(int64_t rows, int64_t cols, std::vector<float> values) {
  return *NDArray::Create<float>(std::move(values), Shape{rows, cols});
}

// A Variable lives in the process that created it (here, the client's):
// read on the client's device, its value travels to the task each step; a
// node on the task that uses it is refused when the graph is registered
// there (the task has a stand-in, not the Variable), naming the node, the
// task and the fix.
TEST(Processes, AVariableIsReadWhereItLivesAndRefusedOnATask) {
  Worker w0;
  ASSERT_TRUE(w0.ok());
  auto v = Variable::Create("process_test_w", Mat(2, 2, {1, 2, 3, 4}));
  ASSERT_TRUE(v.ok()) << v.status();
  Graph g = Graph::Create("variable_read_here");
  Tensor x, y;
  {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{1, 2}, {.name = "x"});
    Tensor w = ops::ReadVariable(*v, {.name = "read_w", .device = "cpu:0"});
    y = ops::MatMul(x, w, {.name = "y", .device = kTask0});
  }
  auto session = Session::Create(g, ClusterOptions({w0.address()}));
  ASSERT_TRUE(session.ok()) << session.status();
  const NDArray in = Mat(1, 2, {1, 1});
  auto r = (*session)->Run({{x, in}}, {y});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)[0].Equals(Mat(1, 2, {4, 6})));
  // The next step reads the Variable's new value.
  ASSERT_TRUE(v->Assign(Mat(2, 2, {10, 20, 30, 40})).ok());
  r = (*session)->Run({{x, in}}, {y});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)[0].Equals(Mat(1, 2, {40, 60})));

  Graph bad = Graph::Create("variable_read_there");
  Tensor bx, by;
  {
    GraphScope scope(bad);
    bx = ops::Placeholder(DType::kFloat32, Shape{1, 2}, {.name = "x"});
    Tensor w = ops::ReadVariable(*v, {.name = "read_w", .device = kTask0});
    by = ops::MatMul(bx, w, {.name = "y", .device = kTask0});
  }
  auto bad_session = Session::Create(bad, ClusterOptions({w0.address()}));
  ASSERT_TRUE(bad_session.ok()) << bad_session.status();
  r = (*bad_session)->Run({{bx, in}}, {by});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              ::testing::HasSubstr("task /job:worker/task:0 at "));
  EXPECT_THAT(r.status().message(),
              ::testing::HasSubstr("node 'read_w' (ReadVariable) defined at "
                                   "tests/distributed/process_test.cc:"));
  EXPECT_THAT(r.status().message(),
              ::testing::HasSubstr(
                  "its kernel could not be built: Variable 'process_test_w' "
                  "(not in this process: a Variable lives in the process "
                  "that created it) cannot be used here\n  fix: place the "
                  "nodes that use it on a device of the process that "
                  "created it"));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(r.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->node_name, "read_w");
  EXPECT_EQ(info->op_type, "ReadVariable");
  // The first session is unharmed.
  r = (*session)->Run({{x, in}}, {y});
  EXPECT_TRUE(r.ok()) << r.status();
}

TEST(Processes, WeftServeStopsCleanlyOnSigterm) {
  Worker w0;
  ASSERT_TRUE(w0.ok());
  w0.process().Signal(SIGTERM);
  EXPECT_EQ(w0.process().Wait(), 0);
}

TEST(Processes, WeftServeRefusesAnInsecureNonLoopbackListen) {
  Child c({g_weft, "serve", "--listen", "0.0.0.0:0"});
  EXPECT_EQ(c.Wait(), 1);
}

}  // namespace
}  // namespace weft

int main(int argc, char** argv) {
  weft::g_self = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--client=")) {
      return weft::RunSecondClient(std::string(arg));
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: process_test WEFT_BINARY [gtest flags]\n");
    return 2;
  }
  weft::g_weft = argv[1];
  return RUN_ALL_TESTS();
}
