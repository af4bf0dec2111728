// function_runtime.h — defines weft::FunctionRuntime, the service through
// which the control-flow kernels (Call, Cond, While) run a function's body
// graph. The runtime implements it (runtime/function_runtime.cc: a nested
// Session and a prepared run per instance) and hands it to every kernel
// when a plan is compiled (OpKernelConstruction::functions()), the way the
// executor hands steps their Rendezvous: so the control-flow kernels live
// in kernels/ with their family, and running a graph stays in runtime/.
//
//   absl::StatusOr<std::unique_ptr<FunctionRuntime::Instance>> body =
//       c.functions()->Instantiate(fn->graph, {"cpu:0"}, feeds, fetches);
//   (*body)->Run(std::move(inputs), ctx.deadline(), std::move(done));
#ifndef WEFT_KERNELS_FUNCTION_RUNTIME_H_
#define WEFT_KERNELS_FUNCTION_RUNTIME_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/tensor.h"

namespace weft {

// Thread safety: Instantiate and Instance::Run may be called concurrently.
class FunctionRuntime {
 public:
  using Done =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<NDArray>>) &&>;

  // A graph prepared to run: fed `feeds`, fetching `fetches`.
  class Instance {
   public:
    virtual ~Instance() = default;
    // Runs with one value per feed; `done` is called once with one value
    // per fetch, or the error (kDeadlineExceeded past `deadline`). May call
    // `done` before returning.
    virtual void Run(std::vector<NDArray> inputs, absl::Time deadline,
                     Done done) const = 0;
  };

  virtual ~FunctionRuntime() = default;

  // Prepares `graph` to run on `devices` (the first is the caller's), fed
  // `feeds` and fetching `fetches`; errors are those of Session::Create and
  // of compiling the plan.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<Instance>> Instantiate(
      const Graph& graph, std::vector<std::string> devices,
      const std::vector<Tensor>& feeds, const std::vector<Tensor>& fetches) = 0;
};

}  // namespace weft

#endif  // WEFT_KERNELS_FUNCTION_RUNTIME_H_
