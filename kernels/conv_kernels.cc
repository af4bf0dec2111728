// The conv family's kernels (ops defined in graph/conv_ops.cc): Conv,
// ConvTranspose, their Fused forms, MaxPool and AveragePool over NC + 1-3
// spatial dims. FusedConv and FusedConvTranspose add an epilogue
// (activation, scale, shift) applied where the output is written: as
// oneDNN post-ops, in the bias pass of the 1x1 path, per output row of the
// depthwise path and of the stride-tiled transpose's interleave, per plane
// after the portable loop.
//
// float32 runs on oneDNN 2.6 primitives (convolution_forward, Winograd
// for 3x3 stride-1 convolutions where oneDNN has it, deconvolution_forward,
// pooling_v2_forward); float64, and the few float32
// cases oneDNN does not cover (empty arrays; an AveragePool whose ceil_mode
// windows run past the end padding with count_include_pad), run on portable
// loops over oneTBB. Three shapes common in mobile vision models take fast
// paths on the plain NCHW arrays instead, with no layout reorders (which
// cost as much as the convolutions themselves in such models): 1x1
// convolutions as weft's GEMM (both dtypes), ConvTransposes whose kernel
// equals their stride as a GEMM and an interleave (both dtypes), and
// float32 depthwise convolutions with a width stride of 1 or 2 as a direct
// vectorized loop. All paths compute the same ONNX semantics and are
// checked against one reference in //tests:conv_ops_test.
//
// A kernel object lives in a compiled plan and may run for several runs at
// once, so what it builds is cached inside it, under a mutex, and shared
// read-only (shared_ptr<const>) with the runs that use it:
//  - a Plan per set of input shapes (the last kMaxPlans): the inference
//    checks re-run on the concrete shapes (so errors read as at build time),
//    the oneDNN primitive, and the layouts it chose (format_tag::any for
//    src, weights and dst; oneDNN picks blocked layouts on AVX2/AVX-512);
//  - the weights reordered into the primitive's layout, keyed on the
//    weight buffer: the cache holds a reference to the NDArray it packed,
//    so the buffer cannot be freed and its address reused while cached, and
//    NDArrays are immutable once published, so the same buffer means the
//    same values. A Const's weights are therefore reordered once per plan;
//    weights fed per run (a Placeholder, a Variable read) are reordered when
//    their buffer changes, never served stale.
// Per-run data (reordered src/dst, oneDNN's scratchpad) is allocated per
// execution: the primitives use scratchpad_mode::user, so concurrent runs
// share nothing mutable.
//
// Threading: Debian's libdnnl is built on OpenMP (DNNL_CPU_RUNTIME OMP).
// Like the GEMM (kernels/cpu/gemm.cc), every oneDNN call here - creating a
// primitive as well as executing it, since a primitive fixes its thread
// count when it is created - runs with the calling thread's OpenMP team set
// to one (restored after), so oneDNN runs serially on the oneTBB worker
// that calls it and libgomp starts no thread. Parallelism comes from oneTBB:
// a batch of several images large enough to pay for it runs one primitive
// execution per image, split over oneTBB workers; a convolution of fewer
// images than threads, large enough (kBandWorkPerImage), splits each image
// into bands of output rows, one primitive per band (each reading the input
// rows its windows reach, padded only at the image's edges), so a single
// image uses every core.
//
// oneDNN's C++ API reports errors with exceptions; they are caught here (a
// failure to build a primitive falls back to the portable loop, a failure
// to run one is an error status) and never leave this file.
#include <omp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "graph/ndarray.h"
#include "graph/op_registry.h"
#include "graph/shape.h"
#include "kernels/cpu/conv_simd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "oneapi/tbb/task_arena.h"

namespace weft {
namespace kernels_internal {
namespace {

using dnnl::memory;

enum class ConvOp { kConv, kConvTranspose, kMaxPool, kAveragePool };

bool IsPool(ConvOp op) {
  return op == ConvOp::kMaxPool || op == ConvOp::kAveragePool;
}

// Plans kept per kernel: a kernel sees few distinct input shapes (a
// dynamic batch, a few image sizes); past this the oldest is dropped.
constexpr size_t kMaxPlans = 8;
// A batch is split into one execution per image, over oneTBB, when each
// image costs at least this many multiply-adds (or window elements).
constexpr int64_t kSplitWorkPerImage = int64_t{1} << 16;
// A single image's convolution is split into bands of output rows, one per
// thread, when it costs at least this many multiply-adds (~0.1 ms on one
// core): below, the second band's reorders and hand-off cost more than
// they save.
constexpr int64_t kBandWorkPerImage = int64_t{1} << 22;

// ---------------------------------------------------------- attributes --

// A node's attributes with their defaults, for k spatial dims (checked by
// inference when the node was built).
struct Attrs {
  int k = 0;
  std::vector<int64_t> kernel_shape;  // Pools only.
  std::vector<int64_t> strides, pads, dilations, output_padding;
  int64_t group = 1;
  bool ceil_mode = false;
  bool count_include_pad = false;
};

std::vector<int64_t> ListOr(const Node& node, const std::string& name,
                            size_t size, int64_t fallback) {
  const auto* v = FindAttr<std::vector<int64_t>>(node.attrs(), name);
  if (v != nullptr && v->size() == size) return *v;
  return std::vector<int64_t>(size, fallback);
}

Attrs ReadAttrs(const Node& node, ConvOp op, int k) {
  Attrs a;
  a.k = k;
  if (IsPool(op)) a.kernel_shape = ListOr(node, "kernel_shape", k, 1);
  a.strides = ListOr(node, "strides", k, 1);
  a.pads = ListOr(node, "pads", 2 * k, 0);
  a.dilations = ListOr(node, "dilations", k, 1);
  a.output_padding = ListOr(node, "output_padding", k, 0);
  if (const auto* g = FindAttr<int64_t>(node.attrs(), "group")) a.group = *g;
  if (const auto* b = FindAttr<bool>(node.attrs(), "ceil_mode")) {
    a.ceil_mode = *b;
  }
  if (const auto* b = FindAttr<bool>(node.attrs(), "count_include_pad")) {
    a.count_include_pad = *b;
  }
  return a;
}

// ------------------------------------------------------------ epilogue --

// FusedConv's and FusedConvTranspose's epilogue (graph/ops.h,
// ConvEpilogue), checked by inference: y = act(v) * scale + shift for each
// output element v (bias included). The other ops have none (identity()).
struct Epilogue {
  using Act = cpu::ConvActivation;  // One list for every path.
  Act act = Act::kNone;
  double alpha = 0, beta = 0, scale = 1, shift = 0;
  bool affine() const { return scale != 1 || shift != 0; }
  bool identity() const { return act == Act::kNone && !affine(); }
  // The same in float32, for kernels/cpu/conv_simd.h's loops.
  cpu::ConvRowEpilogue ForFloat() const {
    return {.act = act,
            .alpha = static_cast<float>(alpha),
            .beta = static_cast<float>(beta),
            .scale = static_cast<float>(scale),
            .shift = static_cast<float>(shift)};
  }
};

Epilogue ReadEpilogue(const Node& node) {
  Epilogue e;
  if (node.op() != "FusedConv" && node.op() != "FusedConvTranspose") return e;
  using Act = Epilogue::Act;
  if (const auto* a = FindAttr<std::string>(node.attrs(), "activation")) {
    if (*a == "Relu") e.act = Act::kRelu;
    if (*a == "LeakyRelu") e.act = Act::kLeakyRelu;
    if (*a == "HardSigmoid") e.act = Act::kHardSigmoid;
    if (*a == "HardSwish") e.act = Act::kHardSwish;
    if (*a == "Clip") e.act = Act::kClip;
  }
  auto read = [&](const char* name, double& out) {
    if (const auto* v = FindAttr<double>(node.attrs(), name)) out = *v;
  };
  read("alpha", e.alpha);
  read("beta", e.beta);
  read("post_scale", e.scale);
  read("post_shift", e.shift);
  if (e.act == Act::kHardSwish) {
    e.alpha = 1.0 / 6.0;
    e.beta = 0.5;
  }
  return e;
}

// y[i] = epilogue(y[i] (+ bias when kBias)) for i in [0, n), in float64
// (float32 runs kernels/cpu/conv_simd.h's vector loops). NaN compares
// false, so it stays NaN through Relu, LeakyRelu, HardSigmoid, HardSwish
// and Clip, as in the separate ops' kernels.
template <typename T, Epilogue::Act kAct, bool kAffine, bool kBias>
void EpilogueLoop(const Epilogue& e, T bias, T* y, int64_t n) {
  using Act = Epilogue::Act;
  const T alpha = static_cast<T>(e.alpha), beta = static_cast<T>(e.beta);
  const T scale = static_cast<T>(e.scale), shift = static_cast<T>(e.shift);
  for (int64_t i = 0; i < n; ++i) {
    T v = y[i];
    if constexpr (kBias) v = v + bias;
    if constexpr (kAct == Act::kRelu) v = v < 0 ? 0 : v;
    if constexpr (kAct == Act::kLeakyRelu) v = v < 0 ? v * alpha : v;
    if constexpr (kAct == Act::kHardSigmoid || kAct == Act::kHardSwish) {
      v = HardSigmoidOf<kAct == Act::kHardSwish>(v, alpha, beta);
    }
    if constexpr (kAct == Act::kClip) {
      v = v < alpha ? alpha : v;
      v = v > beta ? beta : v;
    }
    if constexpr (kAffine) v = v * scale + shift;
    y[i] = v;
  }
}

// Adds `bias` (when add_bias) and applies `e` to y[0, n).
template <typename T>
void ApplyEpilogue(const Epilogue& e, bool add_bias, T bias, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    return add_bias ? cpu::BiasEpilogueF32(e.ForFloat(), bias, y, n)
                    : cpu::EpilogueF32(e.ForFloat(), y, y, n);
  }
  using Act = Epilogue::Act;
  auto with = [&]<Act kAct>() {
    if (e.affine()) {
      add_bias ? EpilogueLoop<T, kAct, true, true>(e, bias, y, n)
               : EpilogueLoop<T, kAct, true, false>(e, bias, y, n);
    } else {
      add_bias ? EpilogueLoop<T, kAct, false, true>(e, bias, y, n)
               : EpilogueLoop<T, kAct, false, false>(e, bias, y, n);
    }
  };
  switch (e.act) {
    case Act::kNone:
      return with.template operator()<Act::kNone>();
    case Act::kRelu:
      return with.template operator()<Act::kRelu>();
    case Act::kLeakyRelu:
      return with.template operator()<Act::kLeakyRelu>();
    case Act::kHardSigmoid:
      return with.template operator()<Act::kHardSigmoid>();
    case Act::kHardSwish:
      return with.template operator()<Act::kHardSwish>();
    case Act::kClip:
      return with.template operator()<Act::kClip>();
  }
}

// ------------------------------------------------------------ geometry --

// One set of concrete shapes, with every spatial quantity padded to three
// dims (a 1-D or 2-D op is a 3-D one with leading spatial dims of 1, no
// pad, stride 1): what the portable loops read.
struct Geometry {
  Shape out;
  int64_t n = 0, c = 0, m = 0, group = 1;  // m: output channels.
  std::array<int64_t, 3> in{1, 1, 1}, kernel{1, 1, 1}, o{1, 1, 1},
      stride{1, 1, 1}, dil{1, 1, 1}, pad_l{0, 0, 0}, pad_r{0, 0, 0};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return o[0] * o[1] * o[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// Runs the op's inference on the concrete shapes: the output shape, or the
// error the op would have given at build time.
absl::StatusOr<Shape> InferConcrete(const Node& node,
                                    const std::vector<const NDArray*>& in) {
  const OpDef* def = OpRegistry::Global().Find(node.op());
  if (def == nullptr) {
    return absl::InternalError(absl::StrCat("op ", node.op(), " is gone"));
  }
  InferenceContext ic;
  ic.attrs = &node.attrs();
  for (const NDArray* a : in) {
    ic.input_dtypes.push_back(a->dtype());
    ic.input_shapes.push_back(a->shape());
  }
  if (absl::Status s = def->infer(ic); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  if (ic.output_shapes.size() != 1 || !ic.output_shapes[0].IsFullyDefined()) {
    return absl::InternalError(absl::StrCat(
        node.op(), " inference gave no concrete output for concrete inputs"));
  }
  return ic.output_shapes[0];
}

absl::StatusOr<Geometry> MakeGeometry(const Node& node, ConvOp op,
                                      const Attrs& a,
                                      const std::vector<const NDArray*>& in) {
  absl::StatusOr<Shape> out = InferConcrete(node, in);
  if (!out.ok()) return out.status();
  Geometry g;
  g.out = *std::move(out);
  const Shape& x = in[0]->shape();
  g.n = x.dim(0);
  g.c = x.dim(1);
  g.m = g.out.dim(1);
  g.group = IsPool(op) ? 1 : a.group;
  const int k = a.k, skip = 3 - k;
  for (int i = 0; i < k; ++i) {
    const int j = skip + i;
    g.in[j] = x.dim(2 + i);
    g.kernel[j] = IsPool(op) ? a.kernel_shape[i] : in[1]->shape().dim(2 + i);
    g.o[j] = g.out.dim(2 + i);
    g.stride[j] = a.strides[i];
    g.dil[j] = a.dilations[i];
    g.pad_l[j] = a.pads[i];
    g.pad_r[j] = a.pads[k + i];
  }
  return g;
}

// ------------------------------------------------------ portable loops --

// Conv: y[n, m, o] = b[m] + sum over the group's channels and the window.
template <typename T>
void PortableConv(const Geometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t ksize = g.kernel_size(), osize = g.out_size();
  ParallelItems(g.n * g.m, osize * cg * ksize, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.m, m = p % g.m, c0 = (m / mg) * cg;
      T* yo = y + p * osize;
      for (int64_t od = 0; od < g.o[0]; ++od)
        for (int64_t oh = 0; oh < g.o[1]; ++oh)
          for (int64_t ow = 0; ow < g.o[2]; ++ow) {
            T acc = b[m];
            for (int64_t c = 0; c < cg; ++c) {
              const T* xc = x + (n * g.c + c0 + c) * g.in_size();
              const T* wc = w + (m * cg + c) * ksize;
              for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id =
                    od * g.stride[0] - g.pad_l[0] + kd * g.dil[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                  const int64_t ih =
                      oh * g.stride[1] - g.pad_l[1] + kh * g.dil[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  const T* xr = xc + (id * g.in[1] + ih) * g.in[2];
                  const T* wr = wc + (kd * g.kernel[1] + kh) * g.kernel[2];
                  for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                    const int64_t iw =
                        ow * g.stride[2] - g.pad_l[2] + kw * g.dil[2];
                    if (iw < 0 || iw >= g.in[2]) continue;
                    acc += xr[iw] * wr[kw];
                  }
                }
              }
            }
            *yo++ = acc;
          }
    }
  });
}

// Input index i of output o through kernel tap t of a transposed
// convolution (o = i * stride - pad + t * dil), or -1.
inline int64_t TransposedSource(int64_t o, int64_t t, int64_t stride,
                                int64_t pad, int64_t dil, int64_t in) {
  const int64_t v = o + pad - t * dil;
  if (v < 0 || v % stride != 0) return -1;
  const int64_t i = v / stride;
  return i < in ? i : -1;
}

// ConvTranspose, gathered per output element: w is [C, M/group, K...].
template <typename T>
void PortableConvTranspose(const Geometry& g, const T* x, const T* w,
                           const T* b, T* y) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t ksize = g.kernel_size(), osize = g.out_size();
  ParallelItems(g.n * g.m, osize * cg * ksize, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.m, m = p % g.m, grp = m / mg, mo = m % mg;
      T* yo = y + p * osize;
      for (int64_t od = 0; od < g.o[0]; ++od)
        for (int64_t oh = 0; oh < g.o[1]; ++oh)
          for (int64_t ow = 0; ow < g.o[2]; ++ow) {
            T acc = b[m];
            for (int64_t c = 0; c < cg; ++c) {
              const int64_t ci = grp * cg + c;
              const T* xc = x + (n * g.c + ci) * g.in_size();
              const T* wc = w + (ci * mg + mo) * ksize;
              for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id = TransposedSource(
                    od, kd, g.stride[0], g.pad_l[0], g.dil[0], g.in[0]);
                if (id < 0) continue;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                  const int64_t ih = TransposedSource(
                      oh, kh, g.stride[1], g.pad_l[1], g.dil[1], g.in[1]);
                  if (ih < 0) continue;
                  for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                    const int64_t iw = TransposedSource(
                        ow, kw, g.stride[2], g.pad_l[2], g.dil[2], g.in[2]);
                    if (iw < 0) continue;
                    acc += xc[(id * g.in[1] + ih) * g.in[2] + iw] *
                           wc[(kd * g.kernel[1] + kh) * g.kernel[2] + kw];
                  }
                }
              }
            }
            *yo++ = acc;
          }
    }
  });
}

// The pools. A window's positions outside the input are padding: they never
// win a max; an average counts them only with count_include_pad, and then
// only up to the end padding (PyTorch's rule for ceil_mode windows).
template <typename T, bool kMax>
void PortablePool(const Geometry& g, bool count_include_pad, const T* x, T* y) {
  const int64_t osize = g.out_size(), isize = g.in_size();
  ParallelItems(
      g.n * g.c, osize * g.kernel_size(), [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const T* xc = x + p * isize;
          T* yo = y + p * osize;
          for (int64_t od = 0; od < g.o[0]; ++od)
            for (int64_t oh = 0; oh < g.o[1]; ++oh)
              for (int64_t ow = 0; ow < g.o[2]; ++ow) {
                const int64_t start[3] = {od * g.stride[0] - g.pad_l[0],
                                          oh * g.stride[1] - g.pad_l[1],
                                          ow * g.stride[2] - g.pad_l[2]};
                T best = -std::numeric_limits<T>::infinity();
                T sum = 0;
                int64_t real = 0, padded = 0;
                for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                  const int64_t id = start[0] + kd * g.dil[0];
                  if (id >= g.in[0] + g.pad_r[0]) break;
                  for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const int64_t ih = start[1] + kh * g.dil[1];
                    if (ih >= g.in[1] + g.pad_r[1]) break;
                    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                      const int64_t iw = start[2] + kw * g.dil[2];
                      if (iw >= g.in[2] + g.pad_r[2]) break;
                      ++padded;
                      if (id < 0 || ih < 0 || iw < 0 || id >= g.in[0] ||
                          ih >= g.in[1] || iw >= g.in[2]) {
                        continue;
                      }
                      const T v = xc[(id * g.in[1] + ih) * g.in[2] + iw];
                      ++real;
                      if constexpr (kMax) {
                        if (v > best || std::isnan(v)) best = v;
                      } else {
                        sum += v;
                      }
                    }
                  }
                }
                if constexpr (kMax) {
                  *yo++ = best;
                } else {
                  const int64_t count = count_include_pad ? padded : real;
                  *yo++ = count > 0 ? sum / static_cast<T>(count) : T{0};
                }
              }
        }
      });
}

// ---------------------------------------------------------- fast paths --

// A 1x1 convolution with unit strides and no padding is, per image and
// group, one matrix product on the plain NCHW arrays:
// y[m, hw] = w[m, c] . x[c, hw] + b[m]. It runs as weft's GEMM with no
// layout reorders, per block of output columns over oneTBB (so a single
// image uses every core), each block's bias and epilogue added while it is
// in cache.
bool IsPointwise(ConvOp op, const Geometry& g) {
  if (op != ConvOp::kConv || g.out_size() == 0 || g.n == 0) return false;
  for (int j = 0; j < 3; ++j) {
    if (g.kernel[j] != 1 || g.stride[j] != 1 || g.pad_l[j] != 0 ||
        g.pad_r[j] != 0 || g.o[j] != g.in[j]) {
      return false;
    }
  }
  return true;
}

// The first error of the items of a parallel loop; once there is one, the
// items not yet started skip their work.
//
// Thread safety: Note and failed may be called from any thread.
class FirstError {
 public:
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Keeps `s` if it is the first error; false if `s` is not ok.
  bool Note(absl::Status s) {
    if (s.ok()) return true;
    absl::MutexLock lock(&mu_);
    if (status_.ok()) status_ = std::move(s);
    failed_.store(true, std::memory_order_relaxed);
    return false;
  }
  absl::Status status() const {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  std::atomic<bool> failed_{false};
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

// Output columns per item of RunPointwise (in elements of one output row
// block: about 256 KiB of float32 output with the widest of C and M):
// the GEMM writes a block and the bias and epilogue pass reads it while
// it is still in the core's cache.
constexpr int64_t kPointwiseTileElems = int64_t{1} << 16;

template <typename T>
absl::Status RunPointwise(const Geometry& g, const Epilogue& e, const T* x,
                          const T* w, const T* b, T* y) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group, hw = g.out_size();
  if (mg * hw <= 2 * kPointwiseTileElems) {
    // A small output (in cache anyway): one GEMM per image and group, split
    // over oneTBB by the GEMM itself, then the bias and epilogue one output
    // row per item.
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t grp = 0; grp < g.group; ++grp) {
        const T* xg = x + (n * g.c + grp * cg) * hw;
        T* yg = y + (n * g.m + grp * mg) * hw;
        if (cg == 0) {
          std::fill(yg, yg + mg * hw, T{0});
        } else if (absl::Status s =
                       cpu::Gemm(false, false, mg, hw, cg, w + grp * mg * cg,
                                 cg, xg, hw, yg, hw);
                   !s.ok()) {
          return s;
        }
      }
    }
    // The bias and the epilogue, one output row (image, channel) per item.
    ParallelItems(g.n * g.m, hw, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        ApplyEpilogue(e, /*add_bias=*/true, b[p % g.m], y + p * hw, hw);
      }
    });
    return absl::OkStatus();
  }
  // Items: (image, group, block of output columns), each a GEMM of the
  // block, y[m, cols] = w[m, :] . x[:, cols], then its bias and epilogue.
  const int64_t cols = std::clamp<int64_t>(
      kPointwiseTileElems / std::max<int64_t>({1, mg, cg}) / 16 * 16, 16,
      std::max<int64_t>(16, hw));
  const int64_t blocks = (hw + cols - 1) / cols;
  FirstError error;
  ParallelItems(
      g.n * g.group * blocks, mg * cols * std::max<int64_t>(1, cg),
      [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          if (error.failed()) return;
          const int64_t n = p / (g.group * blocks);
          const int64_t grp = p / blocks % g.group;
          const int64_t c0 = p % blocks * cols, c1 = std::min(hw, c0 + cols);
          T* yg = y + (n * g.m + grp * mg) * hw + c0;
          if (cg == 0) {
            for (int64_t mo = 0; mo < mg; ++mo) {
              std::fill(yg + mo * hw, yg + mo * hw + (c1 - c0), T{0});
            }
          } else if (!error.Note(cpu::Gemm(
                         false, false, mg, c1 - c0, cg, w + grp * mg * cg, cg,
                         x + (n * g.c + grp * cg) * hw + c0, hw, yg, hw))) {
            return;
          }
          for (int64_t mo = 0; mo < mg; ++mo) {
            ApplyEpilogue(e, /*add_bias=*/true, b[grp * mg + mo], yg + mo * hw,
                          c1 - c0);
          }
        }
      });
  return error.status();
}

// A ConvTranspose whose kernel equals its stride, with no padding, output
// padding or dilation: every output element takes exactly one kernel tap,
// y[n, m, i*s + t] = b[m] + sum over the group's c of x[n, c, i] w[c, m, t].
// Per image and group that is one matrix product,
// t[(m, tap), i] = w[c, (m, tap)]^T . x[c, i] (weft's GEMM), then a pass
// that interleaves the taps into the output rows and adds the bias; both
// run per chunk of input rows, over oneTBB, so the taps stay in cache.
// (oneDNN's deconvolution is slow for this shape, and pads a single output
// channel to a block of 16.)
bool IsStrideTiledTranspose(ConvOp op, const Attrs& a, const Geometry& g) {
  if (op != ConvOp::kConvTranspose || g.out_size() == 0 || g.n == 0) {
    return false;
  }
  for (int j = 0; j < 3; ++j) {
    if (g.kernel[j] != g.stride[j] || g.dil[j] != 1 || g.pad_l[j] != 0 ||
        g.pad_r[j] != 0 || g.o[j] != g.in[j] * g.stride[j]) {
      return false;
    }
  }
  for (int64_t p : a.output_padding) {
    if (p != 0) return false;
  }
  return true;
}

// Elements of RunStrideTiledTranspose's tap buffer per chunk of input rows
// (256 KiB of float32): written by the GEMM and read by the interleave
// while still in the core's cache.
constexpr int64_t kTransposeTileElems = int64_t{1} << 16;

template <typename T>
absl::Status RunStrideTiledTranspose(const Geometry& g, const Epilogue& e,
                                     const T* x, const T* w, const T* b, T* y) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t ksize = g.kernel_size(), isize = g.in_size();
  const int64_t iw = g.in[2], s2 = g.stride[2], ow = g.o[2];
  const int64_t k1 = g.kernel[1], tap_rows = g.kernel[0] * g.kernel[1];
  const int64_t in_rows = g.in[0] * g.in[1];
  const int64_t out_plane = g.o[0] * g.o[1] * ow;
  // Items: (image, group, chunk of input rows), each a GEMM of the chunk's
  // taps, t[(m, tap), i] for m in the group, into a buffer that the same
  // item then interleaves into the output rows those input rows reach.
  const int64_t chunk = std::clamp<int64_t>(
      kTransposeTileElems / std::max<int64_t>(1, mg * ksize * iw), 1,
      std::max<int64_t>(1, in_rows));
  const int64_t chunks = (in_rows + chunk - 1) / chunk;
  FirstError error;
  ParallelItems(
      g.n * g.group * chunks,
      mg * ksize * chunk * iw * std::max<int64_t>(1, cg),
      [&](int64_t p0, int64_t p1) {
        std::vector<T> t(mg * ksize * chunk * iw);
        for (int64_t p = p0; p < p1; ++p) {
          if (error.failed()) return;
          const int64_t n = p / (g.group * chunks);
          const int64_t grp = p / chunks % g.group;
          const int64_t r0 = p % chunks * chunk;
          const int64_t r1 = std::min(in_rows, r0 + chunk);
          const int64_t cols = (r1 - r0) * iw;
          if (cg == 0) {
            std::fill(t.begin(), t.end(), T{0});
          } else if (!error.Note(cpu::Gemm(
                         /*transpose_a=*/true, /*transpose_b=*/false,
                         mg * ksize, cols, cg, w + grp * cg * mg * ksize,
                         mg * ksize, x + (n * g.c + grp * cg) * isize + r0 * iw,
                         isize, t.data(), cols))) {
            return;
          }
          // Output row (od, oh) of channel m: tap row (kd, kh) of input row
          // (id, ih), its kernel_w taps interleaved.
          for (int64_t mo = 0; mo < mg; ++mo) {
            const int64_t m = grp * mg + mo;
            const T bias = b[m];
            T* ym = y + (n * g.m + m) * out_plane;
            for (int64_t r = r0; r < r1; ++r) {
              const int64_t id = r / g.in[1], ih = r % g.in[1];
              for (int64_t tr = 0; tr < tap_rows; ++tr) {
                const int64_t od = id * g.stride[0] + tr / k1;
                const int64_t oh = ih * g.stride[1] + tr % k1;
                const T* src =
                    t.data() + (mo * ksize + tr * s2) * cols + (r - r0) * iw;
                T* yr = ym + (od * g.o[1] + oh) * ow;
                if (s2 == 2) {
                  const T* q0 = src;
                  const T* q1 = src + cols;
                  for (int64_t i = 0; i < iw; ++i) {
                    yr[2 * i] = bias + q0[i];
                    yr[2 * i + 1] = bias + q1[i];
                  }
                } else {
                  for (int64_t kw = 0; kw < s2; ++kw) {
                    const T* sk = src + kw * cols;
                    for (int64_t i = 0; i < iw; ++i) {
                      yr[i * s2 + kw] = bias + sk[i];
                    }
                  }
                }
                if (!e.identity()) ApplyEpilogue(e, false, T{0}, yr, ow);
              }
            }
          }
        }
      });
  return error.status();
}

// A depthwise 1-D or 2-D float32 convolution (group == C == M) with a
// width stride of 1 or 2 and at most cpu::kMaxDepthwiseTaps taps, on the
// plain NCHW arrays: one plane per item over oneTBB, each plane by
// cpu::DepthwisePlaneF32 (Highway vectors of the best SIMD target, epilogue
// included). No layout reorders, unlike oneDNN's depthwise kernels, which
// want NHWC or blocked arrays.
cpu::DepthwiseGeometry DepthwiseGeometryOf(const Geometry& g) {
  return {.ih = g.in[1],
          .iw = g.in[2],
          .oh = g.o[1],
          .ow = g.o[2],
          .kh = g.kernel[1],
          .kw = g.kernel[2],
          .sh = g.stride[1],
          .sw = g.stride[2],
          .dh = g.dil[1],
          .dw = g.dil[2],
          .ph = g.pad_l[1],
          .pw = g.pad_l[2]};
}

bool IsDepthwise(ConvOp op, const Attrs& a, const Geometry& g) {
  return op == ConvOp::kConv && a.k <= 2 && g.n > 0 && g.out_size() > 0 &&
         g.group == g.c && g.m == g.c &&
         cpu::DepthwisePlaneSupports(DepthwiseGeometryOf(g));
}

void RunDepthwise(const Geometry& g, const Epilogue& e, const float* x,
                  const float* w, const float* b, float* y) {
  const cpu::DepthwiseGeometry dg = DepthwiseGeometryOf(g);
  const cpu::ConvRowEpilogue fe = e.ForFloat();
  const int64_t in_plane = dg.ih * dg.iw, out_plane = dg.oh * dg.ow;
  ParallelItems(g.n * g.c, out_plane * dg.kh * dg.kw,
                [&](int64_t p0, int64_t p1) {
                  std::vector<float> scratch(cpu::DepthwiseScratchFloats(dg));
                  for (int64_t p = p0; p < p1; ++p) {
                    const int64_t ch = p % g.c;
                    cpu::DepthwisePlaneF32(dg, fe, x + p * in_plane,
                                           w + ch * dg.kh * dg.kw, b[ch],
                                           y + p * out_plane, scratch.data());
                  }
                });
}

template <typename T>
void RunPortable(ConvOp op, const Geometry& g, const Attrs& a,
                 const std::vector<const NDArray*>& in, T* y) {
  const T* x = in[0]->values<T>().data();
  switch (op) {
    case ConvOp::kConv:
      PortableConv<T>(g, x, in[1]->values<T>().data(),
                      in[2]->values<T>().data(), y);
      return;
    case ConvOp::kConvTranspose:
      PortableConvTranspose<T>(g, x, in[1]->values<T>().data(),
                               in[2]->values<T>().data(), y);
      return;
    case ConvOp::kMaxPool:
      PortablePool<T, true>(g, false, x, y);
      return;
    case ConvOp::kAveragePool:
      PortablePool<T, false>(g, a.count_include_pad, x, y);
      return;
  }
}

// -------------------------------------------------------------- oneDNN --

// Sets the calling thread's OpenMP team to one for its lifetime (restoring
// the caller's setting after), so oneDNN runs serially on this thread and
// libgomp starts no thread.
class OmpTeamOfOne {
 public:
  OmpTeamOfOne() : outer_(omp_get_max_threads()) {
    if (outer_ != 1) omp_set_num_threads(1);
  }
  ~OmpTeamOfOne() {
    if (outer_ != 1) omp_set_num_threads(outer_);
  }
  OmpTeamOfOne(const OmpTeamOfOne&) = delete;
  OmpTeamOfOne& operator=(const OmpTeamOfOne&) = delete;

 private:
  const int outer_;
};

// The process's one CPU engine (thread-safe to share).
const dnnl::engine& Engine() {
  static const dnnl::engine* engine = [] {
    OmpTeamOfOne team;
    return new dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return *engine;
}

// A stream per thread (a stream is not meant to be shared between threads;
// on the CPU it is a cheap handle).
dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(Engine());
  return stream;
}

memory::dims RowMajorStrides(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) {
    strides[i] = strides[i + 1] * dims[i + 1];
  }
  return strides;
}

memory::desc Plain(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, RowMajorStrides(dims));
}

memory::desc Any(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

// The user's weights as oneDNN sees them: [G, O/G, I/G, K...] when grouped,
// else [O, I, K...] (O = output channels). Conv's w [M, C/G, K...] is that
// layout already; ConvTranspose's w [C, M/G, K...] is [G, I/G, O/G, K...],
// described here by strides.
memory::desc UserWeights(ConvOp op, const Geometry& g, int k,
                         memory::dims* dims) {
  const int skip = 3 - k;
  memory::dims kdims(g.kernel.begin() + skip, g.kernel.end());
  int64_t ksize = 1;
  for (int64_t d : kdims) ksize *= d;
  const int64_t og = g.m / g.group, ig = g.c / g.group;
  memory::dims d, s;
  if (g.group > 1) d.push_back(g.group);
  d.push_back(og);
  d.push_back(ig);
  d.insert(d.end(), kdims.begin(), kdims.end());
  *dims = d;
  if (op == ConvOp::kConv) return Plain(d);
  // ConvTranspose: strides of (group, o, i) in the [C, M/G, K...] buffer.
  if (g.group > 1) s.push_back(ig * og * ksize);
  s.push_back(ksize);       // o
  s.push_back(og * ksize);  // i
  memory::dims ks = RowMajorStrides(kdims);
  s.insert(s.end(), ks.begin(), ks.end());
  return memory::desc(d, memory::data_type::f32, s);
}

// One oneDNN primitive and its layouts: for one execution of `batch`
// images, over a band of output rows [o0, o1) of the outermost spatial dim
// (all of them unless the plan splits one image into bands). The user
// arrays are views of the plain NCHW arrays: the band's rows, with the full
// arrays' strides, starting `src_offset` / `dst_offset` elements into the
// execution's first image.
struct Part {
  dnnl::primitive primitive;
  memory::desc src_user, dst_user;
  memory::desc src, dst, weights, weights_user, bias, scratchpad;
  std::optional<dnnl::reorder> src_reorder, dst_reorder, weights_reorder;
  int64_t src_offset = 0, dst_offset = 0;
};

// Everything built for one set of input shapes: the checked geometry and,
// unless the portable loop or a fast path runs, the oneDNN parts: an
// execution runs every part on `batch` images.
struct Plan {
  std::vector<std::vector<int64_t>> dims;  // The key: every input's dims.
  Geometry geometry;
  bool use_onednn = false;
  // A fast path on the plain arrays instead of oneDNN or the portable loop.
  enum class Path {
    kDefault,
    kPointwise,
    kStrideTiledTranspose,
    kDepthwise,  // float32 only.
  };
  Path path = Path::kDefault;
  int64_t batch = 0;  // Images per execution: N, or 1 when split.
  int64_t bands = 1;  // Bands of output rows one image is split into.
  std::vector<Part> parts;
  int64_t src_image_elems = 0, dst_image_elems = 0;  // Per image.
};

// The weights of one buffer in a primitive's layout.
struct PackedWeights {
  NDArray source;  // Held: keeps the buffer (and so its address) alive.
  memory::desc layout;
  NDArray packed;  // Of layout.get_size() bytes.
};

// The f32 scratch array of at least `bytes` bytes (64-byte aligned).
absl::StatusOr<NDArray> Scratch(size_t bytes) {
  const int64_t elems =
      std::max<int64_t>(1, static_cast<int64_t>((bytes + 3) / 4));
  return NDArray::AllocateChecked(DType::kFloat32, Shape{elems});
}

std::string DnnlError(const dnnl::error& e) {
  return absl::StrCat("oneDNN: ", e.what(), " (status ",
                      static_cast<int>(e.status), ")");
}

// Whether a convolution may try oneDNN's Winograd algorithm: 2-D 3x3,
// unit strides and dilations, no groups, and an output of at least
// kWinogradMinOutput positions per channel (below, measured no faster).
constexpr int64_t kWinogradMinOutput = 32 * 32;

bool UseWinograd(const Geometry& g, int k) {
  return k == 2 && g.group == 1 && g.kernel[1] == 3 && g.kernel[2] == 3 &&
         g.stride[1] == 1 && g.stride[2] == 1 && g.dil[1] == 1 &&
         g.dil[2] == 1 && g.out_size() >= kWinogradMinOutput;
}

// `e` as oneDNN post-ops, applied in the primitive to each output element
// (the bias included) before it is stored. oneDNN 2.6 has no HardSigmoid:
// it is linear(alpha, beta) then clip(0, 1).
dnnl::post_ops PostOps(const Epilogue& e) {
  using Act = Epilogue::Act;
  using dnnl::algorithm;
  dnnl::post_ops po;
  const float alpha = static_cast<float>(e.alpha);
  const float beta = static_cast<float>(e.beta);
  switch (e.act) {
    case Act::kNone:
      break;
    case Act::kRelu:
      po.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      break;
    case Act::kLeakyRelu:
      po.append_eltwise(1.0f, algorithm::eltwise_relu, alpha, 0.0f);
      break;
    case Act::kHardSigmoid:
      po.append_eltwise(1.0f, algorithm::eltwise_linear, alpha, beta);
      po.append_eltwise(1.0f, algorithm::eltwise_clip_v2, 0.0f, 1.0f);
      break;
    case Act::kHardSwish:
      po.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f);
      break;
    case Act::kClip:
      po.append_eltwise(1.0f, algorithm::eltwise_clip_v2, alpha, beta);
      break;
  }
  if (e.affine()) {
    po.append_eltwise(1.0f, algorithm::eltwise_linear,
                      static_cast<float>(e.scale), static_cast<float>(e.shift));
  }
  return po;
}

// Creates the primitive of output rows [o0, o1) of the outermost spatial
// dim for `plan` (its geometry and batch set); false when oneDNN has no
// implementation (the portable loop then runs). A band narrower than the
// image reads the input rows its windows reach, with the image's padding
// only where it reaches past the image's edge.
bool BuildPart(ConvOp op, const Attrs& a, const Epilogue& e, const Plan& plan,
               int64_t o0, int64_t o1, Part& part) {
  const Geometry& g = plan.geometry;
  const int k = a.k, skip = 3 - k;
  auto spatial = [&](const std::array<int64_t, 3>& v) {
    return memory::dims(v.begin() + skip, v.end());
  };
  memory::dims strides = spatial(g.stride), pad_l = spatial(g.pad_l);
  memory::dims dil = spatial(g.dil), pad_r = spatial(g.pad_r);
  // The band's input rows [i0, i1) and its pads on the outermost dim.
  const int64_t extent = (g.kernel[skip] - 1) * g.dil[skip] + 1;
  const int64_t first = o0 * g.stride[skip] - g.pad_l[skip];
  const int64_t last_end = (o1 - 1) * g.stride[skip] - g.pad_l[skip] + extent;
  const int64_t i0 = std::max<int64_t>(0, first);
  const int64_t i1 = std::min(g.in[skip], last_end);
  if (o0 != 0 || o1 != g.o[skip]) {
    pad_l[0] = i0 - first;
    pad_r[0] = last_end - i1;
  }
  memory::dims src_full = {plan.batch, g.c};
  memory::dims dst_full = {plan.batch, g.m};
  for (int j = skip; j < 3; ++j) {
    src_full.push_back(g.in[j]);
    dst_full.push_back(g.o[j]);
  }
  memory::dims src_dims = src_full, dst_dims = dst_full;
  src_dims[2] = i1 - i0;
  dst_dims[2] = o1 - o0;
  part.src_user =
      memory::desc(src_dims, memory::data_type::f32, RowMajorStrides(src_full));
  part.dst_user =
      memory::desc(dst_dims, memory::data_type::f32, RowMajorStrides(dst_full));
  part.src_offset = i0 * (g.in_size() / g.in[skip]);
  part.dst_offset = o0 * (g.out_size() / g.o[skip]);
  for (int64_t& d : dil) d -= 1;  // oneDNN's dilation: 0 is dense.
  try {
    OmpTeamOfOne team;
    const dnnl::engine& engine = Engine();
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (!e.identity()) attr.set_post_ops(PostOps(e));
    if (IsPool(op)) {
      // oneDNN needs (in + pad_l + pad_r - extent) / stride + 1 == out:
      // the end pad is the one that makes the last window fit, which may be
      // larger (ceil_mode) or smaller (negative: an unused tail) than the
      // attr's. Max and exclude-padding averages ignore padding anyway; an
      // include-padding average only gets here when it is not larger.
      for (int i = 0; i < k; ++i) {
        const int j = skip + i;
        pad_r[i] = (g.o[j] - 1) * g.stride[j] + (g.kernel[j] - 1) * g.dil[j] +
                   1 - g.in[j] - g.pad_l[j];
      }
      const dnnl::algorithm alg =
          op == ConvOp::kMaxPool ? dnnl::algorithm::pooling_max
          : a.count_include_pad  ? dnnl::algorithm::pooling_avg_include_padding
                                 : dnnl::algorithm::pooling_avg_exclude_padding;
      // A pool's src layout is the caller's (oneDNN takes `any` for dst
      // only).
      dnnl::pooling_v2_forward::desc desc(
          dnnl::prop_kind::forward_inference, alg, part.src_user, Any(dst_dims),
          strides, spatial(g.kernel), dil, pad_l, pad_r);
      dnnl::pooling_v2_forward::primitive_desc pd(desc, attr, engine);
      part.src = pd.src_desc();
      part.dst = pd.dst_desc();
      part.scratchpad = pd.scratchpad_desc();
      part.primitive = dnnl::pooling_v2_forward(pd);
    } else {
      memory::dims w_dims;
      part.weights_user = UserWeights(op, g, k, &w_dims);
      part.bias = Plain({g.m});
      if (op == ConvOp::kConvTranspose) {
        // out = (in-1)*s + extent - pad_l - pad_r + output_padding: the
        // output padding is a smaller (possibly negative) end pad.
        for (int i = 0; i < k; ++i) pad_r[i] -= a.output_padding[i];
        dnnl::deconvolution_forward::desc desc(
            dnnl::prop_kind::forward_inference,
            dnnl::algorithm::deconvolution_direct, Any(src_dims), Any(w_dims),
            part.bias, Any(dst_dims), strides, dil, pad_l, pad_r);
        dnnl::deconvolution_forward::primitive_desc pd(desc, attr, engine);
        part.src = pd.src_desc();
        part.dst = pd.dst_desc();
        part.weights = pd.weights_desc();
        part.scratchpad = pd.scratchpad_desc();
        part.primitive = dnnl::deconvolution_forward(pd);
      } else {
        auto make = [&](dnnl::algorithm alg) {
          dnnl::convolution_forward::desc desc(
              dnnl::prop_kind::forward_inference, alg, Any(src_dims),
              Any(w_dims), part.bias, Any(dst_dims), strides, dil, pad_l,
              pad_r);
          return dnnl::convolution_forward::primitive_desc(desc, attr, engine);
        };
        // Winograd where oneDNN has it for this machine and shape (F(4x4,
        // 3x3) on AVX-512): half the time of the direct convolution on
        // PaddleOCR det's 3x3 convolutions, its error well inside ONNX's
        // tolerances; else (or if it refuses the shape) direct.
        dnnl::convolution_forward::primitive_desc pd;
        bool made = false;
        if (UseWinograd(g, k)) {
          try {
            pd = make(dnnl::algorithm::convolution_winograd);
            made = true;
          } catch (const dnnl::error&) {
          }
        }
        if (!made) pd = make(dnnl::algorithm::convolution_direct);
        part.src = pd.src_desc();
        part.dst = pd.dst_desc();
        part.weights = pd.weights_desc();
        part.scratchpad = pd.scratchpad_desc();
        part.primitive = dnnl::convolution_forward(pd);
      }
      if (part.weights != part.weights_user) {
        part.weights_reorder.emplace(dnnl::reorder::primitive_desc(
            engine, part.weights_user, engine, part.weights));
      }
    }
    if (part.src != part.src_user) {
      part.src_reorder.emplace(dnnl::reorder::primitive_desc(
          engine, part.src_user, engine, part.src));
    }
    if (part.dst != part.dst_user) {
      part.dst_reorder.emplace(dnnl::reorder::primitive_desc(
          engine, part.dst, engine, part.dst_user));
    }
  } catch (const dnnl::error&) {
    return false;
  }
  return true;
}

// Whether oneDNN computes this geometry: not for empty arrays, nor for an
// include-padding average whose ceil_mode windows run past the end padding
// (oneDNN would divide them by the full window).
bool OneDnnCovers(ConvOp op, const Attrs& a, const Geometry& g) {
  if (g.n == 0 || g.c == 0 || g.m == 0 || g.in_size() == 0 ||
      g.out_size() == 0 || g.kernel_size() == 0) {
    return false;
  }
  if (op == ConvOp::kAveragePool && a.count_include_pad) {
    for (int j = 0; j < 3; ++j) {
      const int64_t last_end = (g.o[j] - 1) * g.stride[j] - g.pad_l[j] +
                               (g.kernel[j] - 1) * g.dil[j] + 1;
      if (last_end > g.in[j] + g.pad_r[j]) return false;
    }
  }
  return true;
}

// Multiply-adds (convs) or window reads (pools) per image.
int64_t WorkPerImage(ConvOp op, const Geometry& g) {
  const int64_t per_output =
      IsPool(op) ? g.kernel_size() : g.kernel_size() * (g.c / g.group);
  return g.m * g.out_size() * per_output;
}

absl::Status Execute(const dnnl::primitive& p,
                     std::unordered_map<int, memory> args) {
  try {
    dnnl::stream& stream = ThreadStream();
    p.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return absl::InternalError(DnnlError(e));
  }
  return absl::OkStatus();
}

// Runs `part` of `plan` on images [first, first + plan.batch) of the run's
// arrays (oneDNN's errors thrown; RunImages catches them).
absl::Status RunImagesOrThrow(const Plan& plan, const Part& part,
                              const float* x, const float* w, const float* b,
                              float* y, int64_t first) {
  OmpTeamOfOne team;
  const dnnl::engine& engine = Engine();
  float* src_user =
      const_cast<float*>(x) + first * plan.src_image_elems + part.src_offset;
  float* dst_user = y + first * plan.dst_image_elems + part.dst_offset;
  NDArray src_buf, dst_buf, scratch_buf;
  memory src(part.src_user, engine, src_user);
  memory dst(part.dst_user, engine, dst_user);
  if (part.src_reorder) {
    absl::StatusOr<NDArray> a = Scratch(part.src.get_size());
    if (!a.ok()) return a.status();
    src_buf = *std::move(a);
    memory packed(part.src, engine, src_buf.mutable_raw_data());
    if (absl::Status s = Execute(*part.src_reorder,
                                 {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, packed}});
        !s.ok()) {
      return s;
    }
    src = packed;
  }
  if (part.dst_reorder) {
    absl::StatusOr<NDArray> a = Scratch(part.dst.get_size());
    if (!a.ok()) return a.status();
    dst_buf = *std::move(a);
    dst = memory(part.dst, engine, dst_buf.mutable_raw_data());
  }
  absl::StatusOr<NDArray> a = Scratch(part.scratchpad.get_size());
  if (!a.ok()) return a.status();
  scratch_buf = *std::move(a);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src},
      {DNNL_ARG_DST, dst},
      {DNNL_ARG_SCRATCHPAD,
       memory(part.scratchpad, engine, scratch_buf.mutable_raw_data())}};
  if (w != nullptr) {
    args.emplace(DNNL_ARG_WEIGHTS,
                 memory(part.weights, engine, const_cast<float*>(w)));
    args.emplace(DNNL_ARG_BIAS,
                 memory(part.bias, engine, const_cast<float*>(b)));
  }
  if (absl::Status s = Execute(part.primitive, std::move(args)); !s.ok()) {
    return s;
  }
  if (part.dst_reorder) {
    return Execute(*part.dst_reorder,
                   {{DNNL_ARG_FROM, dst},
                    {DNNL_ARG_TO, memory(part.dst_user, engine, dst_user)}});
  }
  return absl::OkStatus();
}

absl::Status RunImages(const Plan& plan, const Part& part, const float* x,
                       const float* w, const float* b, float* y,
                       int64_t first) {
  try {
    return RunImagesOrThrow(plan, part, x, w, b, y, first);
  } catch (const dnnl::error& e) {
    return absl::InternalError(DnnlError(e));
  }
}

// ------------------------------------------------------------- kernels --

// One kernel class for the four ops and both dtypes: T = double always runs
// the portable loop; float32 runs oneDNN where it covers the case.
//
// Thread safety: Compute may run concurrently; the caches are guarded by
// mu_ and hold only immutable entries (shared_ptr<const>), used outside the
// lock.
template <typename T>
class ConvFamilyKernel : public OpKernel {
 public:
  ConvFamilyKernel(OpKernelConstruction& c, ConvOp op)
      : OpKernel(c),
        op_(op),
        attrs_(ReadAttrs(c.node(), op, c.input_shape(0).rank() - 2)),
        epilogue_(ReadEpilogue(c.node())) {
    if (attrs_.k < 1 || attrs_.k > 3) {
      c.SetStatus(absl::InvalidArgumentError(
          absl::StrCat(c.node().op(), " takes x of rank 3 to 5")));
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    std::vector<const NDArray*> in;
    for (int i = 0; i < ctx.num_inputs(); ++i) in.push_back(&ctx.input(i));
    if (in[0]->shape().rank() != attrs_.k + 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(node().op(), ": x has rank ", in[0]->shape().rank(),
                       "; the plan was compiled for rank ", attrs_.k + 2));
    }
    absl::StatusOr<std::shared_ptr<const Plan>> plan = GetPlan(in);
    if (!plan.ok()) return plan.status();
    const Plan& p = **plan;
    absl::StatusOr<NDArray> out = ctx.allocate_output(0, p.geometry.out);
    if (!out.ok()) return out.status();
    T* y = out->template mutable_data<T>();
    if (p.path == Plan::Path::kPointwise) {
      if (absl::Status s = RunPointwise<T>(
              p.geometry, epilogue_, in[0]->values<T>().data(),
              in[1]->values<T>().data(), in[2]->values<T>().data(), y);
          !s.ok()) {
        return s;
      }
      ctx.set_output(0, *std::move(out));
      return absl::OkStatus();
    }
    if constexpr (std::is_same_v<T, float>) {
      if (p.path == Plan::Path::kDepthwise) {
        RunDepthwise(p.geometry, epilogue_, in[0]->values<float>().data(),
                     in[1]->values<float>().data(),
                     in[2]->values<float>().data(), y);
        ctx.set_output(0, *std::move(out));
        return absl::OkStatus();
      }
    }
    if (p.path == Plan::Path::kStrideTiledTranspose) {
      if (absl::Status s = RunStrideTiledTranspose<T>(
              p.geometry, epilogue_, in[0]->values<T>().data(),
              in[1]->values<T>().data(), in[2]->values<T>().data(), y);
          !s.ok()) {
        return s;
      }
      ctx.set_output(0, *std::move(out));
      return absl::OkStatus();
    }
    if constexpr (std::is_same_v<T, float>) {
      if (p.use_onednn) {
        if (absl::Status s = RunOneDnn(p, in, y); !s.ok()) return s;
        ctx.set_output(0, *std::move(out));
        return absl::OkStatus();
      }
    }
    if (out->num_elements() > 0) {
      RunPortable<T>(op_, p.geometry, attrs_, in, y);
      if (!epilogue_.identity()) {
        const int64_t plane = p.geometry.out_size();
        ParallelItems(
            out->num_elements() / plane, plane, [&](int64_t p0, int64_t p1) {
              for (int64_t i = p0; i < p1; ++i) {
                ApplyEpilogue(epilogue_, false, T{0}, y + i * plane, plane);
              }
            });
      }
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  // The plan for these inputs' shapes: cached, else checked and built (the
  // build runs outside the lock; two runs racing to build the same plan
  // both build it, and the first one stored is kept).
  absl::StatusOr<std::shared_ptr<const Plan>> GetPlan(
      const std::vector<const NDArray*>& in) const {
    auto same_shapes = [&in](const Plan& p) {
      for (size_t i = 0; i < in.size(); ++i) {
        if (p.dims[i] != in[i]->shape().dims()) return false;
      }
      return true;
    };
    {
      absl::MutexLock lock(&mu_);
      for (const auto& p : plans_) {
        if (same_shapes(*p)) return p;
      }
    }
    absl::StatusOr<Geometry> g = MakeGeometry(node(), op_, attrs_, in);
    if (!g.ok()) return g.status();
    auto plan = std::make_shared<Plan>();
    for (const NDArray* a : in) plan->dims.push_back(a->shape().dims());
    plan->geometry = *std::move(g);
    if (IsPointwise(op_, plan->geometry)) {
      plan->path = Plan::Path::kPointwise;
    } else if (IsStrideTiledTranspose(op_, attrs_, plan->geometry)) {
      plan->path = Plan::Path::kStrideTiledTranspose;
    } else if (std::is_same_v<T, float> &&
               IsDepthwise(op_, attrs_, plan->geometry)) {
      plan->path = Plan::Path::kDepthwise;
    } else if (std::is_same_v<T, float> &&
               OneDnnCovers(op_, attrs_, plan->geometry)) {
      const Geometry& geo = plan->geometry;
      const int threads = tbb::this_task_arena::max_concurrency();
      const int64_t work = WorkPerImage(op_, geo);
      const bool split = geo.n > 1 && threads > 1 && work >= kSplitWorkPerImage;
      plan->batch = split ? 1 : geo.n;
      // Fewer images than threads: a convolution's image is split into
      // bands of output rows, one execution each.
      const int64_t rows = geo.o[3 - attrs_.k];
      if (op_ == ConvOp::kConv && geo.n < threads &&
          work >= kBandWorkPerImage && rows >= 2 * threads) {
        plan->batch = 1;
        plan->bands = threads;
      }
      plan->src_image_elems = geo.c * geo.in_size();
      plan->dst_image_elems = geo.m * geo.out_size();
      plan->use_onednn = true;
      for (int64_t i = 0; i < plan->bands && plan->use_onednn; ++i) {
        Part& part = plan->parts.emplace_back();
        plan->use_onednn =
            BuildPart(op_, attrs_, epilogue_, *plan, rows * i / plan->bands,
                      rows * (i + 1) / plan->bands, part);
      }
      if (!plan->use_onednn) plan->parts.clear();
    }
    absl::MutexLock lock(&mu_);
    for (const auto& p : plans_) {
      if (same_shapes(*p)) return p;
    }
    plans_.insert(plans_.begin(), plan);
    if (plans_.size() > kMaxPlans) plans_.pop_back();
    return std::shared_ptr<const Plan>(plan);
  }

  // The weights `w` in `part`'s layout: cached, else reordered (outside the
  // lock) and cached.
  absl::StatusOr<std::shared_ptr<const PackedWeights>> GetWeights(
      const Part& part, const NDArray& w) const {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& p : weights_) {
        if (p->source.SharesBufferWith(w) && p->layout == part.weights) {
          return p;
        }
      }
    }
    auto packed = std::make_shared<PackedWeights>();
    packed->source = w;
    packed->layout = part.weights;
    absl::StatusOr<NDArray> buf = Scratch(part.weights.get_size());
    if (!buf.ok()) return buf.status();
    packed->packed = *std::move(buf);
    try {
      OmpTeamOfOne team;
      const dnnl::engine& engine = Engine();
      absl::Status s = Execute(
          *part.weights_reorder,
          {{DNNL_ARG_FROM,
            memory(part.weights_user, engine, const_cast<void*>(w.raw_data()))},
           {DNNL_ARG_TO,
            memory(part.weights, engine, packed->packed.mutable_raw_data())}});
      if (!s.ok()) return s;
    } catch (const dnnl::error& e) {
      return absl::InternalError(DnnlError(e));
    }
    absl::MutexLock lock(&mu_);
    weights_.insert(weights_.begin(), packed);
    if (weights_.size() > kMaxPlans) weights_.pop_back();
    return std::shared_ptr<const PackedWeights>(packed);
  }

  absl::Status RunOneDnn(const Plan& plan,
                         const std::vector<const NDArray*>& in,
                         float* y) const {
    const float* x = in[0]->values<float>().data();
    const int64_t num_parts = static_cast<int64_t>(plan.parts.size());
    // Per part: its weights (packed in its layout) and the bias.
    std::vector<const float*> w(num_parts, nullptr);
    const float* b = nullptr;
    // Alive for the run.
    std::vector<std::shared_ptr<const PackedWeights>> packed(num_parts);
    if (!IsPool(op_)) {
      b = in[2]->values<float>().data();
      for (int64_t i = 0; i < num_parts; ++i) {
        w[i] = in[1]->values<float>().data();
        if (!plan.parts[i].weights_reorder) continue;
        absl::StatusOr<std::shared_ptr<const PackedWeights>> p =
            GetWeights(plan.parts[i], *in[1]);
        if (!p.ok()) return p.status();
        packed[i] = *std::move(p);
        w[i] = static_cast<const float*>(packed[i]->packed.raw_data());
      }
    }
    // Execution i: part i % num_parts of image block i / num_parts.
    const int64_t executions = plan.geometry.n / plan.batch * num_parts;
    auto run = [&](int64_t i) {
      const int64_t part = i % num_parts;
      return RunImages(plan, plan.parts[part], x, w[part], b, y,
                       i / num_parts * plan.batch);
    };
    if (executions == 1) return run(0);
    FirstError error;
    cpu::InComputeArena([&] {
      tbb::parallel_for(int64_t{0}, executions, [&](int64_t i) {
        if (!error.failed()) error.Note(run(i));
      });
    });
    return error.status();
  }

  const ConvOp op_;
  const Attrs attrs_;
  const Epilogue epilogue_;  // Identity but for the Fused ops.
  mutable absl::Mutex mu_;
  // Most recently built first.
  mutable std::vector<std::shared_ptr<const Plan>> plans_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<std::shared_ptr<const PackedWeights>> weights_
      ABSL_GUARDED_BY(mu_);
};

template <typename T, ConvOp kOp>
class OpKernelOf : public ConvFamilyKernel<T> {
 public:
  explicit OpKernelOf(OpKernelConstruction& c) : ConvFamilyKernel<T>(c, kOp) {}
};

template <typename T>
void RegisterForType(KernelRegistry& r) {
  const DType dt = DTypeOf<T>::value;
  const std::string label = std::is_same_v<T, float> ? "onednn" : "portable";
  auto reg = [&]<ConvOp kOp>(const char* op) {
    MustRegister(r, {.op = op,
                     .dtype = dt,
                     .factory = MakeKernelFactory<OpKernelOf<T, kOp>>(),
                     .cost = KernelCost::kExpensive,
                     .label = label});
  };
  reg.template operator()<ConvOp::kConv>("Conv");
  reg.template operator()<ConvOp::kConv>("FusedConv");
  reg.template operator()<ConvOp::kConvTranspose>("ConvTranspose");
  reg.template operator()<ConvOp::kConvTranspose>("FusedConvTranspose");
  reg.template operator()<ConvOp::kMaxPool>("MaxPool");
  reg.template operator()<ConvOp::kAveragePool>("AveragePool");
}

}  // namespace

void RegisterConvKernels(KernelRegistry& registry) {
  RegisterForType<float>(registry);
  RegisterForType<double>(registry);
}

}  // namespace kernels_internal
}  // namespace weft
