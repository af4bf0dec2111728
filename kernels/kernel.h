// kernel.h — defines weft::KernelContext (what a kernel sees when it runs),
// weft::KernelDef, and weft::KernelRegistry, the process-wide table of
// kernels keyed by (op type, dtype).
#ifndef WEFT_KERNELS_KERNEL_H_
#define WEFT_KERNELS_KERNEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/node.h"

namespace weft {

// The inputs and outputs of one kernel invocation. `inputs` are the
// invocation's own references to its input arrays: a kernel reads them, and
// may move one into an output to forward its buffer without copying (the
// buffers themselves are immutable). `outputs` has one slot (every weft op
// has exactly one output; AddOp enforces it), which the kernel fills with a
// fresh (or forwarded) NDArray. A kernel returns a plain Status describing
// what went wrong ("integer division by zero"); the executor prefixes the
// node's name, op type and definition site.
struct KernelContext {
  const Node& node;
  absl::Span<NDArray> inputs;
  absl::Span<NDArray> outputs;
};

using KernelFn = absl::Status (*)(KernelContext& ctx);

// Whether the executor may run the kernel inline on the thread that made the
// node ready (kCheap: elementwise on small arrays, Identity, Reshape, ...),
// or should spawn it as its own task (kExpensive: MatMul, reductions).
enum class KernelCost { kCheap, kExpensive };

// Above this many elements, the standard kernels split their loops across
// oneTBB workers, and the executor treats any node whose output is this large
// as expensive (it gets a task of its own) whatever its KernelCost.
inline constexpr int64_t kParallelElementThreshold = 32768;

struct KernelDef {
  std::string op;
  DType dtype;
  KernelFn fn;
  KernelCost cost = KernelCost::kCheap;
};

// The dtype a node's kernel is looked up by: its input 0's dtype if it has
// inputs (so Cast is keyed by its source type), else its output 0's dtype.
DType KernelKeyDType(const Node& node, const std::vector<DType>& input_dtypes);

// Kernels keyed by (op type, dtype). The standard kernels are registered on
// first use of Global().
//
// Thread safety: all methods may be called concurrently; KernelDef pointers
// stay valid for the life of the process.
class KernelRegistry {
 public:
  static KernelRegistry& Global();

  // kAlreadyExists for a taken key; kInvalidArgument for a null fn.
  [[nodiscard]] absl::Status Register(KernelDef def);
  // nullptr if there is no kernel for (op, dtype).
  const KernelDef* Find(std::string_view op, DType dtype) const;

 private:
  KernelRegistry() = default;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, DType>,
                      std::unique_ptr<const KernelDef>>
      kernels_ ABSL_GUARDED_BY(mu_);
};

namespace internal {
// Registers every standard kernel (kernels/*.cc); called once by Global().
void RegisterStandardKernels(KernelRegistry& registry);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_KERNELS_KERNEL_H_
