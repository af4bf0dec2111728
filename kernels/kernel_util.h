// kernel_util.h — internal helpers shared by the kernel families in
// kernels/*_kernels.cc: the parallel-split threshold, a chunked parallel
// loop over oneTBB, axis attrs, MatMul/BatchMatMul's attrs and batch plan,
// and the family registration functions that internal::RegisterStandardKernels
// calls, in one list. Not part of weft's public API.
#ifndef WEFT_KERNELS_KERNEL_UTIL_H_
#define WEFT_KERNELS_KERNEL_UTIL_H_

#include <atomic>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"

namespace weft {
namespace kernels_internal {

// HardSigmoid, max(0, min(1, alpha * v + beta)), and HardSwish,
// v * HardSigmoid(v), in float64 for the elementwise ops and FusedConv's
// epilogue (float32 runs kernels/cpu/conv_simd.h's vector loop). NaN
// compares false, so it stays NaN.
template <bool kSwish, typename T>
inline T HardSigmoidOf(T v, T alpha, T beta) {
  T h = alpha * v + beta;
  h = h < 0 ? 0 : h;
  h = h > 1 ? 1 : h;
  if constexpr (kSwish) {
    return v * h;
  } else {
    return h;
  }
}

// Elementwise work on more elements than this is split across TBB workers;
// anything smaller runs as a straight loop on the calling thread.
inline constexpr int64_t kParallelThreshold = kParallelElementThreshold;
// Elements per TBB chunk once the work is split.
inline constexpr int64_t kParallelGrain = 16384;

// Runs `body(begin, end)` over [0, n): inline when n is at most
// kParallelThreshold, else split into chunks with tbb::parallel_for. `body`
// returns an int error code (0 = OK); the first non-zero code a chunk reports
// is returned, and chunks that start after an error are skipped. Lower codes
// win when several chunks fail, so the result does not depend on scheduling
// order among distinct error kinds.
template <typename Body>
int ForRange(int64_t n, const Body& body) {
  if (n <= kParallelThreshold) return n > 0 ? body(int64_t{0}, n) : 0;
  std::atomic<int> error{0};
  cpu::InComputeArena([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, kParallelGrain),
                      [&](const tbb::blocked_range<int64_t>& r) {
                        if (error.load(std::memory_order_relaxed) != 0) return;
                        const int e = body(r.begin(), r.end());
                        if (e == 0) return;
                        int seen = error.load(std::memory_order_relaxed);
                        while ((seen == 0 || e < seen) &&
                               !error.compare_exchange_weak(
                                   seen, e, std::memory_order_relaxed)) {
                        }
                      });
  });
  return error.load(std::memory_order_relaxed);
}

// Runs body(begin, end) over [0, items), split across TBB workers when the
// total work (items * cost_per_item elements) is large.
template <typename Body>
inline void ParallelItems(int64_t items, int64_t cost_per_item,
                          const Body& body) {
  const int64_t cost = std::max<int64_t>(cost_per_item, 1);
  if (items <= 1 || items * cost <= kParallelThreshold) {
    body(int64_t{0}, items);
    return;
  }
  const int64_t grain = std::max<int64_t>(kParallelGrain / cost, 1);
  cpu::InComputeArena([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, items, grain),
                      [&body](const tbb::blocked_range<int64_t>& r) {
                        body(r.begin(), r.end());
                      });
  });
}

// Calls `f.template operator()<T>()` for the C++ type T of each numeric
// dtype (float32, float64, int32, int64), in that order.
template <typename F>
void ForEachNumericType(F&& f) {
  f.template operator()<float>();
  f.template operator()<double>();
  f.template operator()<int32_t>();
  f.template operator()<int64_t>();
}

// Registers `def`; the standard kernels have distinct keys, so a failure is
// a programming error in kernels/ and aborts with the message.
void MustRegister(KernelRegistry& registry, KernelDef def);

// Reads MatMul/BatchMatMul's optional bool attrs transpose_a/transpose_b
// (false when absent).
[[nodiscard]] absl::Status ReadTransposeAttrs(const OpKernelConstruction& c,
                                              bool* transpose_a,
                                              bool* transpose_b);

// The product of dims [begin, end) of `s`.
int64_t DimProduct(const Shape& s, int begin, int end);

// Reads the int64 attr "axis" and normalizes it against input 0's rank; on
// error sets `c`'s status and returns 0.
int ReadAxis(OpKernelConstruction& c, std::string_view what);
// The same for an optional attr: `default_axis` when the node has no int64
// "axis".
int ReadAxis(OpKernelConstruction& c, std::string_view what,
             int64_t default_axis);

// kInvalidArgument unless `x`'s rank is above `axis` (the rank the plan was
// compiled for may differ from a fed array's).
[[nodiscard]] absl::Status CheckRank(const NDArray& x, int axis,
                                     std::string_view op);

// Reads a reduction's "axes" attr and normalizes it against input 0's rank
// (negative axes counted from the end; sorted, without repeats).
[[nodiscard]] absl::StatusOr<std::vector<int>> ReadAxes(
    const OpKernelConstruction& c);

// How a BatchMatMul of stored shapes a and b runs: the output shape, the
// product sizes, and per output batch which stored matrix of a and of b it
// reads (batch dims broadcast numpy-style). The shape checks inference does,
// repeated at run time against the actual inputs.
struct BatchMatMulPlan {
  Shape out_shape;
  int64_t batch = 0, m = 0, n = 0, k = 0;
  bool dense = false;  // Equal batch dims: output batch i reads a_i and b_i.
  std::vector<int64_t> a_index, b_index;  // Filled unless dense.
  int64_t a_batch(int64_t i) const { return dense ? i : a_index[i]; }
  int64_t b_batch(int64_t i) const { return dense ? i : b_index[i]; }
};
[[nodiscard]] absl::StatusOr<BatchMatMulPlan> PlanBatchMatMul(const Shape& a,
                                                              const Shape& b,
                                                              bool transpose_a,
                                                              bool transpose_b);

// One registration function per kernel family, called once, in this order,
// by internal::RegisterStandardKernels (kernel_registry.cc). A family's ops
// are defined in graph/<family>_ops.cc.
void RegisterArrayKernels(KernelRegistry& registry);  // array_kernels.cc
void RegisterElementwiseKernels(
    KernelRegistry& registry);                         // elementwise_kernels.cc
void RegisterLogicKernels(KernelRegistry& registry);   // logic_kernels.cc
void RegisterReduceKernels(KernelRegistry& registry);  // reduce_kernels.cc
void RegisterLinalgKernels(KernelRegistry& registry);  // linalg_kernels.cc
void RegisterNnKernels(KernelRegistry& registry);      // nn_kernels.cc
void RegisterConvKernels(KernelRegistry& registry);    // conv_kernels.cc
void RegisterStateKernels(KernelRegistry& registry);   // state_kernels.cc
void RegisterQueueKernels(KernelRegistry& registry);   // queue_kernels.cc
void RegisterVisionKernels(KernelRegistry& registry);  // vision_kernels.cc
void RegisterTextKernels(KernelRegistry& registry);    // text_kernels.cc
void RegisterControlFlowKernels(
    KernelRegistry& registry);  // control_flow_kernels.cc
// Last: the backend kernels (oneDNN/OpenBLAS GEMM, Highway SIMD) that
// override the portable defaults above by priority (backend_kernels.cc).
void RegisterBackendKernels(KernelRegistry& registry);

}  // namespace kernels_internal

namespace internal {
// Registers every standard kernel (the family lists above, then the backend
// kernels); called once by KernelRegistry::Global() (kernel_registry.cc).
void RegisterStandardKernels(KernelRegistry& registry);
}  // namespace internal

}  // namespace weft

#endif  // WEFT_KERNELS_KERNEL_UTIL_H_
