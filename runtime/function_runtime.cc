#include "runtime/function_runtime.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/prepared_run.h"
#include "runtime/session.h"

namespace weft::internal {
namespace {

// One nested Session over a body graph and its one prepared run.
//
// Thread safety: Run may be called concurrently (Session is thread-safe).
class SessionInstance : public FunctionRuntime::Instance {
 public:
  SessionInstance(std::unique_ptr<Session> session,
                  std::unique_ptr<PreparedRun> prepared)
      : session_(std::move(session)), prepared_(std::move(prepared)) {}

  void Run(std::vector<NDArray> inputs, absl::Time deadline,
           FunctionRuntime::Done done) const override {
    prepared_->Run(std::move(inputs), deadline, std::move(done));
  }

 private:
  std::unique_ptr<Session> session_;
  std::unique_ptr<PreparedRun> prepared_;  // Last: destroyed first.
};

class SessionRuntime : public FunctionRuntime {
 public:
  absl::StatusOr<std::unique_ptr<Instance>> Instantiate(
      const Graph& graph, std::vector<std::string> devices,
      const std::vector<Tensor>& feeds,
      const std::vector<Tensor>& fetches) override {
    SessionOptions options;
    options.devices = std::move(devices);
    absl::StatusOr<std::unique_ptr<Session>> session =
        Session::Create(graph, std::move(options));
    if (!session.ok()) return session.status();
    absl::StatusOr<std::unique_ptr<PreparedRun>> prepared =
        PreparedRun::Create(**session, feeds, fetches);
    if (!prepared.ok()) return prepared.status();
    return std::unique_ptr<Instance>(
        new SessionInstance(*std::move(session), *std::move(prepared)));
  }
};

}  // namespace

FunctionRuntime& SessionFunctionRuntime() {
  static SessionRuntime* const library = new SessionRuntime();
  return *library;
}

}  // namespace weft::internal
