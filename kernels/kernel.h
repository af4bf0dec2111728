// kernel.h — defines weft's kernel interface: weft::OpKernel (a kernel
// object built once per node per compiled plan, then Compute() per run),
// weft::AsyncOpKernel (a kernel that finishes later without holding a
// worker thread), weft::OpKernelConstruction (what a kernel sees when it is
// built: the node, its attributes, input and output types), weft::
// OpKernelContext (what it sees when it runs: inputs, the checked output
// allocator, cancellation), weft::KernelDef and weft::KernelRegistry, the
// process-wide table keyed by (op, device kind, dtype) with priorities.
//
//   // A kernel that parses its attribute once, when the plan is compiled:
//   class ScaleKernel : public OpKernel {
//    public:
//     explicit ScaleKernel(OpKernelConstruction& c) : OpKernel(c) {
//       c.SetStatus(c.GetAttr("factor", &factor_));
//     }
//     absl::Status Compute(OpKernelContext& ctx) const override {
//       absl::StatusOr<NDArray> out =
//           ctx.allocate_output(0, ctx.input(0).shape());
//       if (!out.ok()) return out.status();
//       ...fill out->mutable_data<float>() from ctx.input(0)...
//       ctx.set_output(0, *std::move(out));
//       return absl::OkStatus();
//     }
//    private:
//     double factor_ = 1;
//   };
//   absl::Status s = KernelRegistry::Global().Register(
//       {.op = "Scale", .dtype = DType::kFloat32,
//        .factory = MakeKernelFactory<ScaleKernel>()});
#ifndef WEFT_KERNELS_KERNEL_H_
#define WEFT_KERNELS_KERNEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "graph/attr.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/node.h"
#include "kernels/cancellation.h"

namespace weft {

class Rendezvous;       // runtime/rendezvous.h
class FunctionRuntime;  // kernels/function_runtime.h
struct StepEnv;         // kernels/step_env.h, internal to the executor

// What a kernel sees while it is being constructed for one node of a plan.
// Attribute and type errors are reported with SetStatus (the first error
// wins); plan compilation then fails with that error, naming the node.
//
// Thread safety: used by one thread, during construction only.
class OpKernelConstruction {
 public:
  OpKernelConstruction(const Node& node, std::vector<DType> input_dtypes,
                       std::vector<Shape> input_shapes, std::string_view device,
                       FunctionRuntime* functions = nullptr);

  const Node& node() const { return node_; }
  // The device the node runs on ("cpu:0").
  const std::string& device() const { return device_; }
  // The runtime's service for running function bodies (the control-flow
  // kernels use it); null outside a Session's plan compilation.
  FunctionRuntime* functions() const { return functions_; }
  int num_inputs() const { return static_cast<int>(input_dtypes_.size()); }
  DType input_dtype(int i) const { return input_dtypes_[i]; }
  const Shape& input_shape(int i) const { return input_shapes_[i]; }
  int num_outputs() const { return node_.num_outputs(); }
  DType output_dtype(int i) const { return node_.output_dtypes()[i]; }
  const Shape& output_shape(int i) const { return node_.output_shapes()[i]; }

  // Copies attribute `name` into `*value`; kInvalidArgument naming the
  // attribute and the node when it is absent or of another type.
  template <typename T>
  [[nodiscard]] absl::Status GetAttr(std::string_view name, T* value) const {
    auto it = node_.attrs().find(name);
    if (it == node_.attrs().end() || !std::holds_alternative<T>(it->second)) {
      return MissingAttr(name);
    }
    *value = std::get<T>(it->second);
    return absl::OkStatus();
  }

  void SetStatus(absl::Status status) {
    if (status_.ok()) status_ = std::move(status);
  }
  const absl::Status& status() const { return status_; }

 private:
  absl::Status MissingAttr(std::string_view name) const;

  const Node& node_;
  std::vector<DType> input_dtypes_;
  std::vector<Shape> input_shapes_;
  std::string device_;
  FunctionRuntime* functions_ = nullptr;
  absl::Status status_;
};

// What a kernel sees while it runs one node in one step. Inputs are the
// step's own references: a kernel may release_input() one to forward its
// buffer to an output without copying (buffers themselves are immutable).
// Outputs are allocated with allocate_output(), which checks the size for
// overflow and against the session's limit, and published with
// set_output(). The executor prefixes a kernel's error with the node's name,
// op and definition site. Contexts are built by the executor, from the
// run's per-partition facts (StepEnv, kernels/step_env.h).
//
// Thread safety: used by the one thread running the kernel (for an
// AsyncOpKernel, by whichever thread calls `done`, after the kernel's own
// thread is finished with it).
class OpKernelContext {
 public:
  OpKernelContext(const Node& node, absl::Span<NDArray> inputs,
                  absl::Span<NDArray> outputs, const StepEnv& env)
      : node_(node), inputs_(inputs), outputs_(outputs), env_(env) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const NDArray& input(int i) const { return inputs_[i]; }
  // Moves input `i` out (this step's own reference); input(i) is then empty.
  NDArray release_input(int i) { return std::move(inputs_[i]); }
  // Moves input `in` into output `out` (one move, for forwarding kernels
  // such as Identity); input(in) is then empty.
  void forward_input(int in, int out) {
    outputs_[out] = std::move(inputs_[in]);
  }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }

  // A fresh, uninitialized array of output `i`'s inferred dtype and
  // `shape`. kInvalidArgument when the shape is not concrete or its element
  // or byte count overflows; kResourceExhausted past the session's limit or
  // when memory runs out. Never aborts.
  [[nodiscard]] absl::StatusOr<NDArray> allocate_output(int i, Shape shape);
  // The same checks for a scratch array of any dtype.
  [[nodiscard]] absl::StatusOr<NDArray> allocate_temp(DType dtype, Shape shape);
  void set_output(int i, NDArray value) { outputs_[i] = std::move(value); }
  NDArray& output(int i) { return outputs_[i]; }

  bool allocation_failed() const { return allocation_failed_; }
  int64_t step_id() const;
  absl::Time deadline() const;
  // True once the step is cancelled (an error elsewhere, the deadline, or
  // the caller). Long kernels may poll it.
  bool cancelled() const;
  // For asynchronous kernels that wait: register a callback to stop waiting
  // when the step is cancelled. Null only in tests that build no run.
  CancellationManager* cancellation() const;
  Rendezvous* rendezvous() const;

 private:
  const Node& node_;
  absl::Span<NDArray> inputs_;
  absl::Span<NDArray> outputs_;
  const StepEnv& env_;
  bool allocation_failed_ = false;
};

// The function of a stateless kernel (see FunctionKernelFactory).
using KernelFn = absl::Status (*)(OpKernelContext& ctx);

// A kernel: built once per node when a plan is compiled, then run any
// number of times. Compute() may be called concurrently by several runs of
// the same plan, so a kernel keeps no per-run state in its members.
//
// Thread safety: Compute is const and must be safe to call concurrently.
class OpKernel {
 public:
  explicit OpKernel(OpKernelConstruction& c) : node_(c.node()) {}
  virtual ~OpKernel() = default;
  OpKernel(const OpKernel&) = delete;
  OpKernel& operator=(const OpKernel&) = delete;

  // Fills every output or returns an error (a plain message such as
  // "integer division by zero"; the executor adds the node and its site).
  virtual absl::Status Compute(OpKernelContext& ctx) const = 0;
  virtual bool is_async() const { return false; }
  const Node& node() const { return node_; }
  // For a kernel made by FunctionKernelFactory, its function: the executor
  // calls it directly, skipping the virtual call. Null otherwise.
  KernelFn function() const { return function_; }

 protected:
  // Only FunctionKernelFactory's kernel sets it; Compute must then call it.
  void set_function(KernelFn fn) { function_ = fn; }

 private:
  const Node& node_;
  KernelFn function_ = nullptr;
};

// A kernel that may finish after ComputeAsync returns (a Recv, a Dequeue, a
// nested function run). It must call `done` exactly once, from any thread,
// after filling its outputs; until then `ctx` stays valid. A waiting kernel
// holds no worker thread; it should register with ctx.cancellation() so a
// deadline or an error elsewhere ends the wait.
//
// Thread safety: ComputeAsync may be called concurrently by several runs.
class AsyncOpKernel : public OpKernel {
 public:
  using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;
  using OpKernel::OpKernel;

  virtual void ComputeAsync(OpKernelContext& ctx, DoneCallback done) const = 0;
  // Runs ComputeAsync and waits (for tests and nested synchronous use).
  absl::Status Compute(OpKernelContext& ctx) const final;
  bool is_async() const final { return true; }
};

// Whether the executor may run the kernel inline on the thread that made the
// node ready (kCheap: elementwise on small arrays, Identity, Reshape, ...),
// or should spawn it as its own task (kExpensive: MatMul, reductions).
enum class KernelCost { kCheap, kExpensive };

// Above this many elements, the standard kernels split their loops across
// oneTBB workers, and the executor treats any node whose output is this large
// as expensive (it gets a task of its own) whatever its KernelCost.
inline constexpr int64_t kParallelElementThreshold = 32768;

using KernelFactory = std::function<absl::StatusOr<std::unique_ptr<OpKernel>>(
    OpKernelConstruction&)>;

// A factory for kernel class K (constructible from OpKernelConstruction&):
// the construction's status decides whether the kernel is usable.
template <typename K>
KernelFactory MakeKernelFactory() {
  return
      [](OpKernelConstruction& c) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
        auto kernel = std::make_unique<K>(c);
        if (!c.status().ok()) return c.status();
        return std::unique_ptr<OpKernel>(std::move(kernel));
      };
}

// A stateless kernel from a plain function (no attributes to parse).
KernelFactory FunctionKernelFactory(KernelFn fn);

struct KernelDef {
  std::string op = {};
  std::string device_kind = "cpu";
  // The dtype the kernel is looked up by (KernelKeyDType).
  DType dtype = DType::kFloat32;
  KernelFactory factory = {};
  KernelCost cost = KernelCost::kCheap;
  // Among kernels of one (op, device kind, dtype), the highest priority is
  // used: a faster backend overrides the default (priority 0) by
  // registering with a higher one.
  int priority = 0;
  // Names the implementation in plan dumps and errors ("eigen").
  std::string label = {};
};

// The dtype a node's kernel is looked up by: its input 0's dtype if it has
// inputs (so Cast is keyed by its source type), else its output 0's dtype.
DType KernelKeyDType(const Node& node, const std::vector<DType>& input_dtypes);

// Kernels keyed by (op, device kind, dtype), several per key by priority.
// The standard kernels are registered on first use of Global().
//
// Thread safety: all methods may be called concurrently; KernelDef pointers
// stay valid for the life of the process.
class KernelRegistry {
 public:
  static KernelRegistry& Global();

  // kAlreadyExists when the key already has a kernel of this priority;
  // kInvalidArgument for no op, no factory, an invalid dtype, or an
  // unregistered device kind.
  [[nodiscard]] absl::Status Register(KernelDef def);
  // The highest-priority kernel for the key, or nullptr.
  const KernelDef* Find(std::string_view op, std::string_view device_kind,
                        DType dtype) const;
  // Every kernel for the key, highest priority first.
  std::vector<const KernelDef*> FindAll(std::string_view op,
                                        std::string_view device_kind,
                                        DType dtype) const;

 private:
  KernelRegistry() = default;
  using Key = std::tuple<std::string, std::string, DType>;
  mutable absl::Mutex mu_;
  // Sorted by descending priority.
  absl::flat_hash_map<Key, std::vector<std::unique_ptr<const KernelDef>>>
      kernels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft

#endif  // WEFT_KERNELS_KERNEL_H_
