// Tests for the conv family (graph/conv_ops.cc, kernels/conv_kernels.cc):
// Conv, ConvTranspose, MaxPool and AveragePool against a naive reference
// written here from ONNX's definitions (N-D, in double), over grids of 1-D,
// 2-D and 3-D cases for float32 (oneDNN) and float64 (the portable loops);
// build-time inference and its errors; and the kernels' caches (weights
// reordered once per buffer, never served stale, several shapes per kernel,
// concurrent runs) run through a real Session.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/graph_io.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "runtime/session.h"
#include "tests/testing/files.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

using testing::ExpectBuildError;
using ::testing::HasSubstr;
using testing::In;
using testing::RunKernel;

// ----------------------------------------------------------- reference --

// An N-D array of doubles, row-major.
struct Ref {
  std::vector<int64_t> dims;
  std::vector<double> v;
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

// Flat offset of spatial index `idx` in a [.., .., S...] array's (n, c)
// slice.
int64_t SpatialOffset(const std::vector<int64_t>& dims,
                      const std::vector<int64_t>& idx) {
  int64_t off = 0;
  for (size_t i = 0; i < idx.size(); ++i) off = off * dims[2 + i] + idx[i];
  return off;
}

// Advances the odometer `idx` over `extent`; false once it wraps.
bool Next(std::vector<int64_t>& idx, const std::vector<int64_t>& extent) {
  for (int i = static_cast<int>(idx.size()) - 1; i >= 0; --i) {
    if (++idx[i] < extent[i]) return true;
    idx[i] = 0;
  }
  return false;
}

int64_t SpatialCount(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (size_t i = 2; i < dims.size(); ++i) n *= dims[i];
  return n;
}

// In ConvOptions' and PoolOptions' order, for designated initializers.
struct Attrs {
  std::vector<int64_t> kernel = {}, strides = {}, pads = {}, dilations = {};
  int64_t group = 1;
  std::vector<int64_t> output_padding = {};
  bool ceil_mode = false, count_include_pad = false;
};

// Fills defaults for k spatial dims.
Attrs Defaults(Attrs a, int k) {
  if (a.strides.empty()) a.strides.assign(k, 1);
  if (a.pads.empty()) a.pads.assign(2 * k, 0);
  if (a.dilations.empty()) a.dilations.assign(k, 1);
  if (a.output_padding.empty()) a.output_padding.assign(k, 0);
  return a;
}

// ONNX's output size of a window op (with ceil_mode's last-window rule).
int64_t OutSize(int64_t in, int64_t kernel, int64_t s, int64_t pb, int64_t pe,
                int64_t dil, bool ceil_mode) {
  const double span =
      static_cast<double>(in + pb + pe - ((kernel - 1) * dil + 1));
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(span / s)
                                               : std::floor(span / s)) +
                1;
  if (ceil_mode && (out - 1) * s >= in + pb) --out;
  return out;
}

Ref RefConv(const Ref& x, const Ref& w, const Ref& b, Attrs a) {
  const int k = static_cast<int>(x.dims.size()) - 2;
  a = Defaults(a, k);
  const int64_t n = x.dims[0], c = x.dims[1], m = w.dims[0];
  const int64_t cg = c / a.group, mg = m / a.group;
  Ref y;
  y.dims = {n, m};
  std::vector<int64_t> kext(w.dims.begin() + 2, w.dims.end());
  for (int i = 0; i < k; ++i) {
    y.dims.push_back(OutSize(x.dims[2 + i], kext[i], a.strides[i], a.pads[i],
                             a.pads[k + i], a.dilations[i], false));
  }
  std::vector<int64_t> oext(y.dims.begin() + 2, y.dims.end());
  y.v.assign(y.size(), 0);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om) {
      std::vector<int64_t> o(k, 0);
      do {
        double acc = b.v[om];
        for (int64_t ic = 0; ic < cg; ++ic) {
          const int64_t cx = (om / mg) * cg + ic;
          std::vector<int64_t> t(k, 0);
          do {
            std::vector<int64_t> pos(k);
            bool inside = true;
            for (int i = 0; i < k; ++i) {
              pos[i] = o[i] * a.strides[i] - a.pads[i] + t[i] * a.dilations[i];
              inside &= pos[i] >= 0 && pos[i] < x.dims[2 + i];
            }
            if (!inside) continue;
            const double xv = x.v[(in * c + cx) * SpatialCount(x.dims) +
                                  SpatialOffset(x.dims, pos)];
            const double wv = w.v[(om * cg + ic) * SpatialCount(w.dims) +
                                  SpatialOffset(w.dims, t)];
            acc += xv * wv;
          } while (Next(t, kext));
        }
        y.v[(in * m + om) * SpatialCount(y.dims) + SpatialOffset(y.dims, o)] =
            acc;
      } while (Next(o, oext));
    }
  return y;
}

// Scattered: every input element adds x * w to the outputs it reaches.
Ref RefConvTranspose(const Ref& x, const Ref& w, const Ref& b, Attrs a) {
  const int k = static_cast<int>(x.dims.size()) - 2;
  a = Defaults(a, k);
  const int64_t n = x.dims[0], c = x.dims[1], mg = w.dims[1];
  const int64_t m = mg * a.group, cg = c / a.group;
  Ref y;
  y.dims = {n, m};
  std::vector<int64_t> kext(w.dims.begin() + 2, w.dims.end());
  for (int i = 0; i < k; ++i) {
    y.dims.push_back((x.dims[2 + i] - 1) * a.strides[i] +
                     (kext[i] - 1) * a.dilations[i] + 1 - a.pads[i] -
                     a.pads[k + i] + a.output_padding[i]);
  }
  y.v.assign(y.size(), 0);
  const int64_t osize = SpatialCount(y.dims);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t p = 0; p < osize; ++p)
        y.v[(in * m + om) * osize + p] = b.v[om];
  std::vector<int64_t> iext(x.dims.begin() + 2, x.dims.end());
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ci = 0; ci < c; ++ci) {
      const int64_t grp = ci / cg;
      std::vector<int64_t> i(k, 0);
      do {
        const double xv = x.v[(in * c + ci) * SpatialCount(x.dims) +
                              SpatialOffset(x.dims, i)];
        for (int64_t mo = 0; mo < mg; ++mo) {
          std::vector<int64_t> t(k, 0);
          do {
            std::vector<int64_t> o(k);
            bool inside = true;
            for (int d = 0; d < k; ++d) {
              o[d] = i[d] * a.strides[d] - a.pads[d] + t[d] * a.dilations[d];
              inside &= o[d] >= 0 && o[d] < y.dims[2 + d];
            }
            if (!inside) continue;
            const double wv = w.v[(ci * mg + mo) * SpatialCount(w.dims) +
                                  SpatialOffset(w.dims, t)];
            y.v[(in * m + grp * mg + mo) * osize + SpatialOffset(y.dims, o)] +=
                xv * wv;
          } while (Next(t, kext));
        }
      } while (Next(i, iext));
    }
  return y;
}

Ref RefPool(const Ref& x, Attrs a, bool max) {
  const int k = static_cast<int>(x.dims.size()) - 2;
  a = Defaults(a, k);
  Ref y;
  y.dims = {x.dims[0], x.dims[1]};
  for (int i = 0; i < k; ++i) {
    y.dims.push_back(OutSize(x.dims[2 + i], a.kernel[i], a.strides[i],
                             a.pads[i], a.pads[k + i], a.dilations[i],
                             a.ceil_mode));
  }
  std::vector<int64_t> oext(y.dims.begin() + 2, y.dims.end());
  y.v.assign(y.size(), 0);
  for (int64_t nc = 0; nc < x.dims[0] * x.dims[1]; ++nc) {
    std::vector<int64_t> o(k, 0);
    do {
      double best = -INFINITY, sum = 0;
      int64_t real = 0, padded = 0;
      std::vector<int64_t> t(k, 0);
      do {
        std::vector<int64_t> pos(k);
        bool inside = true, in_padded = true;
        for (int i = 0; i < k; ++i) {
          pos[i] = o[i] * a.strides[i] - a.pads[i] + t[i] * a.dilations[i];
          inside &= pos[i] >= 0 && pos[i] < x.dims[2 + i];
          in_padded &= pos[i] < x.dims[2 + i] + a.pads[k + i];
        }
        padded += in_padded;
        if (!inside) continue;
        const double v =
            x.v[nc * SpatialCount(x.dims) + SpatialOffset(x.dims, pos)];
        ++real;
        best = std::max(best, v);
        sum += v;
      } while (Next(t, a.kernel));
      y.v[nc * SpatialCount(y.dims) + SpatialOffset(y.dims, o)] =
          max ? best : sum / (a.count_include_pad ? padded : real);
    } while (Next(o, oext));
  }
  return y;
}

// ------------------------------------------------------------- helpers --

Ref Random(std::vector<int64_t> dims, std::mt19937& rng) {
  Ref r;
  r.dims = std::move(dims);
  std::uniform_real_distribution<double> dist(-1, 1);
  r.v.resize(r.size());
  for (double& v : r.v) v = dist(rng);
  return r;
}

template <typename T>
NDArray ToArray(const Ref& r) {
  std::vector<T> v(r.v.begin(), r.v.end());
  return testing::Arr<T>(v, Shape(r.dims));
}

// Float32 inputs are rounded to float before the reference sees them.
template <typename T>
Ref Rounded(Ref r) {
  for (double& v : r.v) v = static_cast<T>(v);
  return r;
}

ConvOptions ToConv(const Attrs& a) {
  return ConvOptions{.strides = a.strides,
                     .pads = a.pads,
                     .dilations = a.dilations,
                     .group = a.group,
                     .output_padding = a.output_padding};
}

PoolOptions ToPool(const Attrs& a) {
  return PoolOptions{.kernel_shape = a.kernel,
                     .strides = a.strides,
                     .pads = a.pads,
                     .dilations = a.dilations,
                     .ceil_mode = a.ceil_mode,
                     .count_include_pad = a.count_include_pad};
}

std::string Describe(const std::string& op, const std::vector<int64_t>& x,
                     const std::vector<int64_t>& w, const Attrs& a) {
  auto l = [](const std::vector<int64_t>& v) {
    return absl::StrCat("[", absl::StrJoin(v, ","), "]");
  };
  return absl::StrCat(op, " x", l(x), " w", l(w), " kernel", l(a.kernel),
                      " strides", l(a.strides), " pads", l(a.pads),
                      " dilations", l(a.dilations), " group ", a.group,
                      " output_padding", l(a.output_padding), " ceil ",
                      a.ceil_mode, " include_pad ", a.count_include_pad);
}

// Checks `got` against `want` within `tol` per term of each output's sum.
template <typename T>
void ExpectMatches(const absl::StatusOr<NDArray>& got, const Ref& want,
                   double tol) {
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->shape(), Shape(want.dims)) << got->shape().DebugString();
  absl::Span<const T> v = got->values<T>();
  ASSERT_EQ(static_cast<int64_t>(v.size()), want.size());
  int bad = 0;
  for (int64_t i = 0; i < want.size() && bad < 5; ++i) {
    if (std::abs(v[i] - want.v[i]) > tol) {
      ++bad;
      ADD_FAILURE() << "element " << i << ": got " << v[i] << ", want "
                    << want.v[i];
    }
  }
}

template <typename T>
double Tolerance(int64_t terms) {
  return std::is_same_v<T, float> ? 1e-5 * static_cast<double>(terms) + 1e-5
                                  : 1e-12 * static_cast<double>(terms);
}

// FusedConv's epilogue on one output element, from graph/ops.h's words.
double RefEpilogue(const ConvEpilogue& e, double v) {
  auto clamp = [](double v, double lo, double hi) {
    return std::min(hi, std::max(lo, v));
  };
  if (e.activation == "Relu") v = std::max(0.0, v);
  if (e.activation == "LeakyRelu") v = v < 0 ? v * e.alpha : v;
  if (e.activation == "HardSigmoid") v = clamp(e.alpha * v + e.beta, 0, 1);
  if (e.activation == "HardSwish") v = v * clamp(v / 6 + 0.5, 0, 1);
  if (e.activation == "Clip") v = clamp(v, e.alpha, e.beta);
  return v * e.post_scale + e.post_shift;
}

// Builds `op` over placeholders and runs it through a Session; with
// `epilogue`, a FusedConv checked against the reference Conv followed by
// RefEpilogue.
template <typename T>
void CheckConv(bool transposed, const std::vector<int64_t>& xd,
               const std::vector<int64_t>& wd, const Attrs& a, uint32_t seed,
               const std::optional<ConvEpilogue>& epilogue = std::nullopt) {
  SCOPED_TRACE((Describe(transposed ? "ConvTranspose" : "Conv", xd, wd, a)));
  SCOPED_TRACE(epilogue
                   ? absl::StrCat("FusedConv ", epilogue->activation, " alpha ",
                                  epilogue->alpha, " beta ", epilogue->beta,
                                  " post_scale ", epilogue->post_scale,
                                  " post_shift ", epilogue->post_shift)
                   : "");
  SCOPED_TRACE((std::is_same_v<T, float> ? "float32" : "float64"));
  std::mt19937 rng(seed);
  const int64_t m = transposed ? wd[1] * a.group : wd[0];
  const Ref x = Rounded<T>(Random(xd, rng)), w = Rounded<T>(Random(wd, rng)),
            b = Rounded<T>(Random({m}, rng));
  Ref want = transposed ? RefConvTranspose(x, w, b, a) : RefConv(x, w, b, a);
  if (epilogue) {
    for (double& v : want.v) v = RefEpilogue(*epilogue, v);
  }
  Graph g = Graph::Create("conv");
  const NDArray xa = ToArray<T>(x), wa = ToArray<T>(w), ba = ToArray<T>(b);
  Tensor xt = testing::Feed(g, xa), wt = testing::Feed(g, wa),
         bt = testing::Feed(g, ba);
  Tensor y;
  if (epilogue) {
    y = transposed
            ? ops::FusedConvTranspose(xt, wt, bt, ToConv(a), *epilogue, In(g))
            : ops::FusedConv(xt, wt, bt, ToConv(a), *epilogue, In(g));
  } else {
    y = transposed ? ops::ConvTranspose(xt, wt, bt, ToConv(a), In(g))
                   : ops::Conv(xt, wt, bt, ToConv(a), In(g));
  }
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), Shape(want.dims));
  int64_t terms = 1;
  for (size_t i = 1; i < wd.size(); ++i) terms *= wd[i];
  if (transposed) terms = terms / wd[1] * (xd[1] / a.group);
  // The activations' slopes are at most 1.5 (HardSwish); post_scale
  // scales the error too.
  const double gain = epilogue ? 1.5 * std::max(1.0, epilogue->post_scale) : 1;
  ExpectMatches<T>(RunKernel(y, {xa, wa, ba}), want,
                   gain * Tolerance<T>(terms + 1));
}

template <typename T>
void CheckPool(bool max, const std::vector<int64_t>& xd, const Attrs& a,
               uint32_t seed) {
  SCOPED_TRACE((Describe(max ? "MaxPool" : "AveragePool", xd, {}, a)));
  SCOPED_TRACE((std::is_same_v<T, float> ? "float32" : "float64"));
  std::mt19937 rng(seed);
  const Ref x = Rounded<T>(Random(xd, rng));
  const Ref want = RefPool(x, a, max);
  Graph g = Graph::Create("pool");
  const NDArray xa = ToArray<T>(x);
  Tensor xt = testing::Feed(g, xa);
  Tensor y = max ? ops::MaxPool(xt, ToPool(a), In(g))
                 : ops::AveragePool(xt, ToPool(a), In(g));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), Shape(want.dims));
  int64_t terms = 1;
  for (int64_t kd : a.kernel) terms *= kd;
  ExpectMatches<T>(RunKernel(y, {xa}), want, Tolerance<T>(terms));
}

// ----------------------------------------------------- kernels vs. ref --

template <typename T>
class ConvKernels : public ::testing::Test {};
using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ConvKernels, FloatTypes);

TYPED_TEST(ConvKernels, Conv2DGrid) {
  uint32_t seed = 1;
  const std::vector<std::vector<int64_t>> pads = {
      {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 0, 2, 1}};
  for (int64_t stride : {1, 2}) {
    for (const auto& p : pads) {
      for (int64_t dil : {1, 2}) {
        // group 1, group 2, depthwise (group == C), depthwise x2 filters.
        for (auto [group, m] :
             {std::pair<int64_t, int64_t>{1, 6}, {2, 6}, {4, 4}, {4, 8}}) {
          Attrs a{.strides = {stride, stride == 1 ? 1 : 3},
                  .pads = p,
                  .dilations = {dil, 1},
                  .group = group};
          CheckConv<TypeParam>(false, {2, 4, 9, 8}, {m, 4 / group, 3, 2}, a,
                               ++seed);
        }
      }
    }
  }
}

TYPED_TEST(ConvKernels, Conv1DAnd3D) {
  uint32_t seed = 100;
  CheckConv<TypeParam>(false, {2, 3, 11}, {4, 3, 3}, {}, ++seed);
  CheckConv<TypeParam>(false, {2, 3, 11}, {4, 3, 3},
                       {.strides = {2}, .pads = {1, 2}, .dilations = {2}},
                       ++seed);
  CheckConv<TypeParam>(false, {1, 4, 16}, {4, 1, 5},
                       {.pads = {2, 2}, .group = 4}, ++seed);
  CheckConv<TypeParam>(false, {2, 2, 5, 6, 7}, {3, 2, 2, 3, 3}, {}, ++seed);
  CheckConv<TypeParam>(false, {2, 4, 5, 6, 7}, {6, 2, 2, 3, 3},
                       {.strides = {1, 2, 1},
                        .pads = {0, 1, 2, 1, 0, 1},
                        .dilations = {1, 1, 2},
                        .group = 2},
                       ++seed);
  CheckConv<TypeParam>(false, {1, 3, 4, 4, 4}, {3, 1, 3, 3, 3},
                       {.pads = {1, 1, 1, 1, 1, 1}, .group = 3}, ++seed);
}

TYPED_TEST(ConvKernels, ConvLargerCases) {
  // 1x1, a strided 7x7 stem, and a batch large enough that the float32
  // kernel runs one oneDNN execution per image over oneTBB.
  CheckConv<TypeParam>(false, {1, 16, 7, 7}, {8, 16, 1, 1}, {}, 200);
  CheckConv<TypeParam>(false, {1, 3, 32, 30}, {8, 3, 7, 7},
                       {.strides = {2, 2}, .pads = {3, 3, 3, 3}}, 201);
  CheckConv<TypeParam>(false, {3, 16, 20, 20}, {16, 16, 3, 3},
                       {.pads = {1, 1, 1, 1}}, 202);
  CheckConv<TypeParam>(false, {3, 32, 12, 12}, {32, 1, 3, 3},
                       {.strides = {2, 2}, .pads = {1, 1, 1, 1}, .group = 32},
                       203);
  // Depthwise with a width stride of 2 (float32's direct loop: four outputs
  // from two loads, edges one at a time): odd pads, a dilation, widths that
  // leave a tail; and a 5x5 one wide enough for several steps.
  CheckConv<TypeParam>(false, {1, 8, 9, 41}, {8, 1, 3, 5},
                       {.strides = {1, 2},
                        .pads = {1, 3, 0, 1},
                        .dilations = {1, 2},
                        .group = 8},
                       206);
  CheckConv<TypeParam>(false, {2, 4, 11, 64}, {4, 1, 5, 5},
                       {.strides = {2, 2}, .pads = {2, 2, 2, 2}, .group = 4},
                       207);
  // 3x3, stride 1, an output of at least 32x32: oneDNN's Winograd where
  // the machine has it (AVX-512; it takes 32 input channels, not 16),
  // else direct; a single image, in two bands.
  CheckConv<TypeParam>(false, {1, 32, 32, 32}, {16, 32, 3, 3},
                       {.pads = {1, 1, 1, 1}}, 204);
}

TYPED_TEST(ConvKernels, SingleImageSplitIntoBands) {
  // One image large enough that the float32 kernel splits its output rows
  // into bands, one oneDNN execution per thread: each band reads its own
  // input rows and pads only at the image's edges (uneven pads, a stride,
  // a dilation, an odd number of rows; a depthwise one).
  CheckConv<TypeParam>(
      false, {1, 32, 61, 40}, {32, 32, 3, 3},
      {.strides = {2, 1}, .pads = {1, 0, 2, 1}, .dilations = {2, 1}}, 210);
  CheckConv<TypeParam>(false, {1, 128, 63, 64}, {128, 1, 3, 3},
                       {.pads = {1, 1, 1, 1}, .group = 128}, 211);
}

TYPED_TEST(ConvKernels, PointwiseAndStrideTiledFastPaths) {
  // 1x1 convolutions run as GEMMs (grouped, batched); ConvTransposes whose
  // kernel equals their stride as a GEMM and an interleave.
  CheckConv<TypeParam>(false, {2, 24, 9, 11}, {12, 24, 1, 1}, {}, 220);
  CheckConv<TypeParam>(false, {2, 24, 9, 11}, {12, 8, 1, 1}, {.group = 3}, 221);
  // Outputs past 2 * kPointwiseTileElems per image: several blocks of
  // output columns (the last one shorter).
  CheckConv<TypeParam>(false, {1, 8, 40, 45}, {80, 8, 1, 1}, {}, 227);
  CheckConv<TypeParam>(false, {1, 4, 50, 41}, {128, 2, 1, 1}, {.group = 2},
                       228);
  CheckConv<TypeParam>(true, {2, 6, 5, 7}, {6, 3, 2, 2}, {.strides = {2, 2}},
                       222);
  CheckConv<TypeParam>(true, {1, 4, 5, 7}, {4, 1, 3, 2},
                       {.strides = {3, 2}, .group = 2}, 223);
  CheckConv<TypeParam>(true, {1, 24, 40, 40}, {24, 1, 2, 2},
                       {.strides = {2, 2}}, 224);
  // Several chunks of input rows (the last one shorter), 2-D and 3-D.
  CheckConv<TypeParam>(true, {2, 8, 37, 30}, {8, 24, 2, 2}, {.strides = {2, 2}},
                       225);
  CheckConv<TypeParam>(true, {1, 4, 6, 70, 9}, {4, 16, 2, 2, 2},
                       {.strides = {2, 2, 2}, .group = 2}, 226);
}

// Every activation, with and without the scale and shift after it, on each
// of the kernel's paths: 1x1 (the GEMM's bias pass), depthwise (per output
// row), oneDNN (post-ops; per image over oneTBB, and a single image split
// into bands) and, for float64, the portable loop; FusedConvTranspose on
// the stride-tiled path (its interleave) and on oneDNN's deconvolution.
TYPED_TEST(ConvKernels, FusedConvEpiloguesOnEveryPath) {
  const std::vector<ConvEpilogue> epilogues = {
      {.activation = "Relu"},
      {.activation = "LeakyRelu", .alpha = 0.1},
      {.activation = "HardSigmoid", .alpha = 0.2, .beta = 0.5},
      {.activation = "HardSwish", .post_scale = 1.25, .post_shift = -0.5},
      {.activation = "Clip", .alpha = -0.3, .beta = 0.4},
      {.activation = "Relu", .post_scale = -2, .post_shift = 0.25},
      {.post_scale = 0.5, .post_shift = 3},
  };
  uint32_t seed = 300;
  for (const ConvEpilogue& e : epilogues) {
    CheckConv<TypeParam>(false, {2, 24, 9, 11}, {12, 24, 1, 1}, {}, ++seed, e);
    CheckConv<TypeParam>(false, {1, 16, 12, 13}, {16, 1, 3, 3},
                         {.pads = {1, 1, 1, 1}, .group = 16}, ++seed, e);
    CheckConv<TypeParam>(false, {2, 4, 9, 8}, {6, 4, 3, 2},
                         {.strides = {2, 1}, .pads = {1, 0, 1, 1}}, ++seed, e);
    CheckConv<TypeParam>(false, {2, 8, 12, 12}, {8, 8, 3, 3},
                         {.pads = {1, 1, 1, 1}}, ++seed, e);
    CheckConv<TypeParam>(true, {2, 6, 5, 7}, {6, 3, 2, 2}, {.strides = {2, 2}},
                         ++seed, e);
    CheckConv<TypeParam>(true, {1, 4, 5, 7}, {4, 1, 3, 2},
                         {.strides = {3, 2}, .group = 2}, ++seed, e);
  }
  // Just past kBandWorkPerImage (2^22 multiply-adds): split into bands (the
  // same post-ops as above, in each band's primitive).
  CheckConv<TypeParam>(false, {1, 16, 48, 40}, {16, 16, 3, 3},
                       {.pads = {1, 1, 1, 1}}, ++seed, epilogues[3]);
}

TYPED_TEST(ConvKernels, ConvTransposeGrid) {
  uint32_t seed = 300;
  // 1-D with output_padding.
  CheckConv<TypeParam>(true, {2, 4, 5}, {4, 3, 3},
                       {.strides = {2}, .pads = {1, 0}, .output_padding = {1}},
                       ++seed);
  CheckConv<TypeParam>(true, {2, 4, 5}, {4, 3, 3}, {}, ++seed);
  for (int64_t stride : {1, 2, 3}) {
    for (int64_t dil : {1, 2}) {
      for (auto [group, mg] : {std::pair<int64_t, int64_t>{1, 3},
                               {2, 2},
                               {4, 1}}) {  // {4, 1}: depthwise.
        const int64_t op = stride > 1 ? 1 : 0;
        CheckConv<TypeParam>(true, {2, 4, 4, 5}, {4, mg, 3, 2},
                             {.strides = {stride, stride},
                              .pads = {1, 0, 0, 1},
                              .dilations = {dil, 1},
                              .group = group,
                              .output_padding = {op, 0}},
                             ++seed);
      }
    }
  }
  // 3-D, strided, grouped.
  CheckConv<TypeParam>(true, {1, 2, 3, 3, 3}, {2, 3, 2, 2, 2},
                       {.strides = {2, 2, 2}}, ++seed);
  CheckConv<TypeParam>(true, {2, 4, 3, 2, 3}, {4, 2, 3, 2, 2},
                       {.strides = {2, 1, 2},
                        .pads = {1, 0, 0, 0, 1, 1},
                        .group = 2,
                        .output_padding = {1, 0, 1}},
                       ++seed);
  // output_padding past the stride: the tail holds only the bias.
  CheckConv<TypeParam>(true, {1, 2, 4, 4}, {2, 2, 3, 3},
                       {.strides = {2, 2}, .output_padding = {3, 0}}, ++seed);
  // Pads larger than the kernel.
  CheckConv<TypeParam>(true, {1, 2, 6, 6}, {2, 2, 2, 2},
                       {.strides = {3, 3}, .pads = {2, 3, 3, 2}}, ++seed);
}

TYPED_TEST(ConvKernels, PoolGrid) {
  uint32_t seed = 400;
  const std::vector<std::vector<int64_t>> pads = {
      {0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 1, 0}};
  for (bool max : {true, false}) {
    for (int64_t stride : {1, 2, 3}) {
      for (const auto& p : pads) {
        for (bool ceil_mode : {false, true}) {
          for (bool include : {false, true}) {
            if (max && include) continue;
            Attrs a{.kernel = {3, 2},
                    .strides = {stride, 2},
                    .pads = p,
                    .ceil_mode = ceil_mode,
                    .count_include_pad = include};
            CheckPool<TypeParam>(max, {2, 3, 8, 7}, a, ++seed);
          }
        }
      }
    }
  }
}

TYPED_TEST(ConvKernels, Pool1DAnd3DAndDilations) {
  uint32_t seed = 500;
  for (bool max : {true, false}) {
    for (bool ceil_mode : {false, true}) {
      for (bool include : {false, true}) {
        if (max && include) continue;
        CheckPool<TypeParam>(max, {2, 3, 10},
                             {.kernel = {3},
                              .strides = {2},
                              .pads = {1, 1},
                              .ceil_mode = ceil_mode,
                              .count_include_pad = include},
                             ++seed);
        CheckPool<TypeParam>(max, {1, 2, 5, 6, 7},
                             {.kernel = {2, 3, 2},
                              .strides = {2, 2, 3},
                              .pads = {1, 0, 1, 0, 1, 1},
                              .ceil_mode = ceil_mode,
                              .count_include_pad = include},
                             ++seed);
        // Dilated windows.
        CheckPool<TypeParam>(max, {1, 2, 9, 9},
                             {.kernel = {3, 2},
                              .strides = {1, 2},
                              .pads = {2, 1, 1, 0},
                              .dilations = {2, 3},
                              .ceil_mode = ceil_mode,
                              .count_include_pad = include},
                             ++seed);
      }
    }
  }
  // A batch big enough to be split per image (float32), and AlexNet's
  // overlapping 3x3/2 max pool.
  CheckPool<TypeParam>(true, {4, 16, 33, 33},
                       {.kernel = {3, 3}, .strides = {2, 2}, .ceil_mode = true},
                       ++seed);
  CheckPool<TypeParam>(false, {4, 16, 32, 32},
                       {.kernel = {2, 2}, .strides = {2, 2}}, ++seed);
}

// PyTorch's ceil_mode examples: the last window must start inside the input
// or its begin padding; with count_include_pad it divides by the part of
// the window inside the padded input.
TYPED_TEST(ConvKernels, CeilModeLastWindowRule) {
  using T = TypeParam;
  Graph g = Graph::Create("ceil");
  // D=5, K=2, s=2, pads 1/1: ceil((5+2-2)/2)+1 = 4, but window 3 would
  // start at 6-1 = 5, past the input: 3 windows.
  const NDArray x = testing::Arr<T>({1, 2, 3, 4, 5}, Shape{1, 1, 5});
  PoolOptions p{
      .kernel_shape = {2}, .strides = {2}, .pads = {1, 1}, .ceil_mode = true};
  Tensor mx = ops::MaxPool(testing::Feed(g, x), p, In(g));
  ASSERT_TRUE(mx.ok()) << mx.status();
  EXPECT_EQ(mx.shape(), (Shape{1, 1, 3}));
  testing::ExpectArray<T>(RunKernel(mx, {x}), Shape{1, 1, 3}, {1, 3, 5});
  // D=6, K=3, s=2, no pads, ceil: windows at 0, 2, 4 (the last covers 4..6,
  // one past the input): include_pad divides it by 2, like exclude.
  const NDArray x6 = testing::Arr<T>({1, 2, 3, 4, 5, 6}, Shape{1, 1, 6});
  p = {.kernel_shape = {3},
       .strides = {2},
       .ceil_mode = true,
       .count_include_pad = true};
  Tensor avg = ops::AveragePool(testing::Feed(g, x6), p, In(g));
  testing::ExpectNear<T>(RunKernel(avg, {x6}), Shape{1, 1, 3}, {2, 4, 5.5},
                         1e-6);
  // Pads 1/1 with include_pad: windows at -1, 1, 3 and 5 give (0+1+2)/3,
  // (2+3+4)/3, (4+5+6)/3; the last covers position 5 (the input's last
  // element, 6), 6 (the end pad) and 7 (past the pad): (6+0)/2.
  p = {.kernel_shape = {3},
       .strides = {2},
       .pads = {1, 1},
       .ceil_mode = true,
       .count_include_pad = true};
  Tensor avg2 = ops::AveragePool(testing::Feed(g, x6), p, In(g));
  testing::ExpectNear<T>(RunKernel(avg2, {x6}), Shape{1, 1, 4}, {1, 3, 5, 3},
                         1e-6);
}

// ----------------------------------------------------------- inference --

class ConvInference : public ::testing::Test {
 protected:
  Tensor F(Shape shape, DType dtype = DType::kFloat32) {
    return ops::Placeholder(dtype, std::move(shape), In(g_));
  }
  Graph g_ = Graph::Create("inference");
};

TEST_F(ConvInference, OutputShapes) {
  Tensor y = ops::Conv(F({2, 3, 32, 32}), F({8, 3, 3, 3}), F({8}),
                       {.strides = {2, 2}, .pads = {1, 1, 1, 1}}, In(g_));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{2, 8, 16, 16}));
  // Unknown dims propagate; known ones are still computed.
  y = ops::Conv(F({-1, 3, -1, 10}), F({4, 3, 3, 3}), F({-1}), {}, In(g_));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{-1, 4, -1, 8}));
  y = ops::Conv(F({1, 8, 5}), F({-1, 2, 3}), F({12}), {.group = 4}, In(g_));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{1, 12, 3}));
  y = ops::ConvTranspose(F({1, 4, 5, 5}), F({4, 3, 3, 3}), F({6}),
                         {.strides = {2, 2},
                          .pads = {1, 1, 1, 1},
                          .group = 2,
                          .output_padding = {1, 1}},
                         In(g_));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{1, 6, 10, 10}));
  y = ops::MaxPool(
      F({1, 2, 7, 7, 7}),
      {.kernel_shape = {3, 3, 3}, .strides = {2, 2, 2}, .ceil_mode = true},
      In(g_));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{1, 2, 3, 3, 3}));
  y = ops::AveragePool(F({1, 2, 6}, DType::kFloat64),
                       {.kernel_shape = {3}, .strides = {2}, .ceil_mode = true},
                       In(g_));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.dtype(), DType::kFloat64);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 3}));
}

TEST_F(ConvInference, FusedConvEpilogueErrors) {
  auto fused = [&](const ConvEpilogue& e) {
    return ops::FusedConv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({4}), {}, e,
                          In(g_));
  };
  ExpectBuildError(fused({.activation = "Gelu"}), ErrorKind::kAttr,
                   "FusedConv attr 'activation' is 'Gelu'; it must be one of");
  ExpectBuildError(fused({.activation = "Clip", .alpha = 1, .beta = 0}),
                   ErrorKind::kAttr,
                   "FusedConv Clip's bounds are alpha 1 > beta 0");
  ExpectBuildError(
      fused({.activation = "Relu",
             .post_scale = std::numeric_limits<double>::infinity()}),
      ErrorKind::kAttr, "FusedConv attr 'post_scale' must be a finite float");
  // The conv checks name the op.
  ExpectBuildError(ops::FusedConv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({5}), {},
                                  {.activation = "Relu"}, In(g_)),
                   ErrorKind::kShape,
                   "b has 5 elements but the output has 4 channels");
  ExpectBuildError(
      ops::FusedConvTranspose(F({1, 3, 8, 8}), F({3, 2, 2, 2}), F({2}), {},
                              {.activation = "Tanh"}, In(g_)),
      ErrorKind::kAttr, "FusedConvTranspose attr 'activation' is 'Tanh'");
  Tensor y = fused({.activation = "HardSwish"});
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{1, 4, 6, 6}));
}

TEST_F(ConvInference, Errors) {
  ExpectBuildError(ops::Conv(F({2, 3}), F({2, 3}), F({2}), {}, In(g_)),
                   ErrorKind::kShape, "Conv takes x of rank 3 to 5");
  ExpectBuildError(ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3}), F({4}), {}, In(g_)),
                   ErrorKind::kShape, "w must have x's rank 4");
  ExpectBuildError(
      ops::Conv(F({1, 3, 8, 8}), F({4, 2, 3, 3}), F({4}), {}, In(g_)),
      ErrorKind::kShape,
      "x has 3 channels but w's dim 1 (C/group) is 2 with group 1, which "
      "takes 2");
  ExpectBuildError(
      ops::Conv(F({1, 4, 8, 8}), F({5, 2, 3, 3}), F({5}), {.group = 2}, In(g_)),
      ErrorKind::kShape, "is 5, not a multiple of group 2");
  ExpectBuildError(
      ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({5}), {}, In(g_)),
      ErrorKind::kShape, "b has 5 elements but the output has 4 channels");
  ExpectBuildError(
      ops::Conv(F({1, 3, 2, 8}), F({4, 3, 3, 3}), F({4}), {}, In(g_)),
      ErrorKind::kShape,
      "spatial dim 0 of x is 2, padded to 2, smaller than the window's "
      "extent 3");
  ExpectBuildError(
      ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({4}), {.strides = {1}},
                In(g_)),
      ErrorKind::kAttr,
      "Conv attr 'strides' is [1] (1 entries); a 2-D Conv (input 0 is "
      "float32[1,3,8,8]) takes 2, one per spatial dim");
  ExpectBuildError(
      ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({4}), {.pads = {1, 1}},
                In(g_)),
      ErrorKind::kAttr,
      "takes 4: the begin of each spatial dim, then the end of each");
  ExpectBuildError(ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({4}),
                             {.dilations = {0, 1}}, In(g_)),
                   ErrorKind::kAttr, "each entry must be positive");
  ExpectBuildError(
      ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({4}), {.group = 0}, In(g_)),
      ErrorKind::kAttr, "attr 'group' must be a positive int");
  ExpectBuildError(ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}), F({4}),
                             {.output_padding = {1, 1}}, In(g_)),
                   ErrorKind::kAttr, "Conv takes no attr 'output_padding'");
  ExpectBuildError(ops::Conv(F({1, 3, 8, 8}), F({4, 3, 3, 3}, DType::kFloat64),
                             F({4}), {}, In(g_)),
                   ErrorKind::kDType, "x, w and b must have one dtype");
  ExpectBuildError(
      ops::Conv(F({1, 3, 8}, DType::kInt32), F({4, 3, 3}, DType::kInt32),
                F({4}, DType::kInt32), {}, In(g_)),
      ErrorKind::kDType, "Conv takes float32 or float64");
  ExpectBuildError(
      ops::ConvTranspose(F({1, 3, 8}), F({4, 2, 3}), F({2}), {}, In(g_)),
      ErrorKind::kShape, "x has 3 channels but w's dim 0 (C) is 4");
  ExpectBuildError(
      ops::ConvTranspose(F({1, 2, 2}), F({2, 2, 2}), F({2}), {.pads = {2, 2}},
                         In(g_)),
      ErrorKind::kShape,
      "ConvTranspose: output spatial dim 0 would be -1 (the pads remove the "
      "whole output)");
  ExpectBuildError(ops::ConvTranspose(F({1, 4, 3}), F({4, 2, 3}), F({2}),
                                      {.group = 2}, In(g_)),
                   ErrorKind::kShape,
                   "b has 2 elements but the output has 4 channels");
  ExpectBuildError(ops::MaxPool(F({1, 2, 8, 8}), {}, In(g_)), ErrorKind::kAttr,
                   "MaxPool attr 'kernel_shape' is [] (0 entries)");
  ExpectBuildError(
      ops::MaxPool(F({1, 2, 8, 8}),
                   {.kernel_shape = {2, 2}, .pads = {2, 0, 0, 0}}, In(g_)),
      ErrorKind::kAttr, "each pad must be smaller than its window's extent (2");
  ExpectBuildError(
      ops::AveragePool(F({1, 2, 3, 8}), {.kernel_shape = {4, 2}}, In(g_)),
      ErrorKind::kShape, "smaller than the window's extent 4");
  // A node without kernel_shape (an importer's AddOp).
  absl::StatusOr<Tensor> raw = g_.AddOp("MaxPool", {F({1, 2, 8, 8})}, {});
  ASSERT_FALSE(raw.ok());
  EXPECT_THAT(raw.status().message(),
              HasSubstr("MaxPool requires attr 'kernel_shape'"));
}

// Dims unknown when built are checked when the kernel sees them, with the
// build-time message.
TEST(ConvRuntime, UnknownDimsAreCheckedAtRunTime) {
  Graph g = Graph::Create("runtime");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, -1, -1, -1}, In(g));
  Tensor w = ops::Const(
      testing::Arr<float>(std::vector<float>(4 * 3 * 9, 1), Shape{4, 3, 3, 3}),
      In(g));
  Tensor b = ops::Const(testing::Arr<float>({0, 0, 0, 0}, Shape{4}), In(g));
  Tensor y = ops::Conv(x, w, b, {}, In(g));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y.shape(), (Shape{-1, 4, -1, -1}));
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  ASSERT_TRUE(s.ok()) << s.status();
  const NDArray small =
      testing::Arr<float>(std::vector<float>(3 * 2 * 5, 1), Shape{1, 3, 2, 5});
  absl::StatusOr<std::vector<NDArray>> r = (*s)->Run({{x, small}}, {y});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("spatial dim 0 of x is 2, padded to 2, smaller than "
                        "the window's extent 3"));
  const NDArray wrong_c =
      testing::Arr<float>(std::vector<float>(2 * 25, 1), Shape{1, 2, 5, 5});
  r = (*s)->Run({{x, wrong_c}}, {y});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("x has 2 channels"));
  // And a good feed after the bad ones.
  const NDArray ok =
      testing::Arr<float>(std::vector<float>(3 * 25, 1), Shape{1, 3, 5, 5});
  r = (*s)->Run({{x, ok}}, {y});
  ASSERT_TRUE(r.ok()) << r.status();
  testing::ExpectArray<float>(r->front(), Shape{1, 4, 3, 3},
                              std::vector<float>(36, 27));
}

// The kernel's plans are keyed on every input's shape: a fed bias of the
// wrong size is refused even after a good run with the same x and w.
TEST(ConvRuntime, EveryInputShapeIsCheckedAfterACachedRun) {
  Graph g = Graph::Create("bias");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{1, 3, 5, 5}, In(g));
  Tensor w = ops::Placeholder(DType::kFloat32, Shape{4, 3, 3, 3}, In(g));
  Tensor b = ops::Placeholder(DType::kFloat32, Shape{-1}, In(g));
  Tensor y = ops::Conv(x, w, b, {}, In(g));
  ASSERT_TRUE(y.ok()) << y.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  ASSERT_TRUE(s.ok()) << s.status();
  const NDArray xa =
      testing::Arr<float>(std::vector<float>(75, 1), Shape{1, 3, 5, 5});
  const NDArray wa =
      testing::Arr<float>(std::vector<float>(108, 1), Shape{4, 3, 3, 3});
  absl::StatusOr<std::vector<NDArray>> r = (*s)->Run(
      {{x, xa}, {w, wa}, {b, testing::Arr<float>({1, 2, 3, 4}, Shape{4})}},
      {y});
  ASSERT_TRUE(r.ok()) << r.status();
  r = (*s)->Run(
      {{x, xa}, {w, wa}, {b, testing::Arr<float>({1, 2, 3}, Shape{3})}}, {y});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("b has 3 elements but the output has 4 channels"));
}

// The attrs (int lists, bools, group) survive SaveGraph / LoadGraph, which
// re-runs inference; the loaded graph computes the same values.
TEST(ConvGraphFile, SavedAndLoadedGraphRunsTheSame) {
  std::mt19937 rng(11);
  const Ref x = Rounded<float>(Random({1, 4, 9, 9}, rng));
  Graph g = Graph::Create("saved");
  Tensor xt = ops::Placeholder(DType::kFloat32, Shape{-1, 4, 9, 9},
                               {.name = "x", .graph = g});
  Tensor c = ops::FusedConv(
      xt,
      ops::Const(ToArray<float>(Rounded<float>(Random({4, 2, 3, 3}, rng))),
                 In(g)),
      ops::Const(ToArray<float>(Rounded<float>(Random({4}, rng))), In(g)),
      {.strides = {2, 1},
       .pads = {1, 0, 1, 2},
       .dilations = {1, 2},
       .group = 2},
      {.activation = "HardSigmoid",
       .alpha = 0.3,
       .beta = 0.4,
       .post_scale = 2,
       .post_shift = -1},
      In(g));
  Tensor t = ops::ConvTranspose(
      c,
      ops::Const(ToArray<float>(Rounded<float>(Random({4, 1, 2, 2}, rng))),
                 In(g)),
      ops::Const(ToArray<float>(Rounded<float>(Random({4}, rng))), In(g)),
      {.strides = {2, 2}, .group = 4, .output_padding = {1, 0}}, In(g));
  Tensor y = ops::AveragePool(
      ops::MaxPool(t, {.kernel_shape = {2, 2}, .ceil_mode = true}, In(g)),
      {.kernel_shape = {3, 3}, .pads = {1, 1, 1, 1}, .count_include_pad = true},
      {.name = "y", .graph = g});
  ASSERT_TRUE(y.ok()) << y.status();
  const std::string path = testing::TempPath("conv_graph.pbtxt");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  absl::StatusOr<Graph> loaded = LoadGraph(path, "loaded");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Tensor> lx = loaded->GetTensor("x:0");
  absl::StatusOr<Tensor> ly = loaded->GetTensor("y:0");
  ASSERT_TRUE(lx.ok()) << lx.status();
  ASSERT_TRUE(ly.ok()) << ly.status();
  EXPECT_EQ(ly->shape(), y.shape());
  auto run = [&](const Graph& graph, const Tensor& in, const Tensor& out) {
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(graph);
    EXPECT_TRUE(s.ok()) << s.status();
    absl::StatusOr<std::vector<NDArray>> r =
        (*s)->Run({{in, ToArray<float>(x)}}, {out});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->front() : NDArray();
  };
  EXPECT_TRUE(run(g, xt, y).Equals(run(*loaded, *lx, *ly)));
}

// ------------------------------------------------------------- caching --

// The Const-weights path: the weights are reordered on the first run and
// reused; every run gives bit-identical results, equal to the reference.
TEST(ConvCache, ConstWeightsGiveIdenticalResultsAcrossRuns) {
  std::mt19937 rng(7);
  const Ref x = Rounded<float>(Random({2, 16, 12, 12}, rng));
  const Ref w = Rounded<float>(Random({32, 16, 3, 3}, rng));
  const Ref b = Rounded<float>(Random({32}, rng));
  const Attrs a{.strides = {1, 1}, .pads = {1, 1, 1, 1}};
  Graph g = Graph::Create("cache");
  Tensor xt = ops::Placeholder(DType::kFloat32, Shape{-1, 16, -1, -1}, In(g));
  Tensor y = ops::Conv(xt, ops::Const(ToArray<float>(w), In(g)),
                       ops::Const(ToArray<float>(b), In(g)), ToConv(a), In(g));
  ASSERT_TRUE(y.ok()) << y.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> first =
      (*s)->Run({{xt, ToArray<float>(x)}}, {y});
  absl::StatusOr<std::vector<NDArray>> second =
      (*s)->Run({{xt, ToArray<float>(x)}}, {y});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(first->front().Equals(second->front()));
  ExpectMatches<float>(first->front(), RefConv(x, w, b, a),
                       Tolerance<float>(16 * 9 + 1));
  // Another input shape through the same kernel (a second plan), then the
  // first again (its plan and weights still cached).
  const Ref x2 = Rounded<float>(Random({1, 16, 7, 9}, rng));
  absl::StatusOr<std::vector<NDArray>> other =
      (*s)->Run({{xt, ToArray<float>(x2)}}, {y});
  ASSERT_TRUE(other.ok()) << other.status();
  ExpectMatches<float>(other->front(), RefConv(x2, w, b, a),
                       Tolerance<float>(16 * 9 + 1));
  absl::StatusOr<std::vector<NDArray>> third =
      (*s)->Run({{xt, ToArray<float>(x)}}, {y});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(first->front().Equals(third->front()));
}

// Weights fed per run: each run's result is for its own weights, never a
// previous run's reordered copy (the cache keys on the weight buffer).
TEST(ConvCache, FedWeightsAreNeverStale) {
  std::mt19937 rng(8);
  const Ref x = Rounded<float>(Random({1, 8, 10, 10}, rng));
  const Ref b = Rounded<float>(Random({16}, rng));
  const Ref w1 = Rounded<float>(Random({16, 8, 3, 3}, rng));
  const Ref w2 = Rounded<float>(Random({16, 8, 3, 3}, rng));
  const Attrs a{.pads = {1, 1, 1, 1}};
  Graph g = Graph::Create("fed");
  Tensor xt = ops::Placeholder(DType::kFloat32, Shape{1, 8, 10, 10}, In(g));
  Tensor wt = ops::Placeholder(DType::kFloat32, Shape{16, 8, 3, 3}, In(g));
  Tensor bt = ops::Placeholder(DType::kFloat32, Shape{16}, In(g));
  Tensor y = ops::Conv(xt, wt, bt, ToConv(a), In(g));
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  ASSERT_TRUE(s.ok()) << s.status();
  const NDArray xa = ToArray<float>(x), ba = ToArray<float>(b);
  const double tol = Tolerance<float>(8 * 9 + 1);
  for (const Ref* w : {&w1, &w2, &w1, &w2}) {
    // A fresh buffer each run, and the same values in a new buffer.
    absl::StatusOr<std::vector<NDArray>> r =
        (*s)->Run({{xt, xa}, {wt, ToArray<float>(*w)}, {bt, ba}}, {y});
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectMatches<float>(r->front(), RefConv(x, *w, b, a), tol);
  }
  // One buffer fed twice, then another buffer: the second buffer's values.
  const NDArray w1a = ToArray<float>(w1), w2a = ToArray<float>(w2);
  for (const NDArray* wa : {&w1a, &w1a, &w2a, &w1a}) {
    absl::StatusOr<std::vector<NDArray>> r =
        (*s)->Run({{xt, xa}, {wt, *wa}, {bt, ba}}, {y});
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectMatches<float>(r->front(), RefConv(x, wa == &w1a ? w1 : w2, b, a),
                         tol);
  }
}

// Concurrent runs of one plan with different weights and shapes: each gets
// its own answer (under TSan, the caches' locking is checked too).
TEST(ConvCache, ConcurrentRunsWithDifferentWeights) {
  std::mt19937 rng(9);
  const Attrs a{.strides = {2, 1}, .pads = {1, 1, 1, 1}};
  Graph g = Graph::Create("concurrent");
  Tensor xt = ops::Placeholder(DType::kFloat32, Shape{-1, 4, -1, -1}, In(g));
  Tensor wt = ops::Placeholder(DType::kFloat32, Shape{8, 4, 3, 3}, In(g));
  Tensor bt = ops::Placeholder(DType::kFloat32, Shape{8}, In(g));
  Tensor y = ops::Conv(xt, wt, bt, ToConv(a), In(g));
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  ASSERT_TRUE(s.ok()) << s.status();
  struct Case {
    Ref x, w, b, want;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 4; ++i) {
    Case c;
    c.x = Rounded<float>(Random({1 + i % 2, 4, 6 + i, 7}, rng));
    c.w = Rounded<float>(Random({8, 4, 3, 3}, rng));
    c.b = Rounded<float>(Random({8}, rng));
    c.want = RefConv(c.x, c.w, c.b, a);
    cases.push_back(std::move(c));
  }
  std::vector<std::thread> threads;
  std::vector<std::vector<absl::StatusOr<NDArray>>> results(cases.size());
  for (size_t t = 0; t < cases.size(); ++t) {
    threads.emplace_back([&, t] {
      const Case& c = cases[t];
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<std::vector<NDArray>> r =
            (*s)->Run({{xt, ToArray<float>(c.x)},
                       {wt, ToArray<float>(c.w)},
                       {bt, ToArray<float>(c.b)}},
                      {y});
        if (!r.ok()) {
          results[t].push_back(r.status());
        } else {
          results[t].push_back(r->front());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t t = 0; t < cases.size(); ++t) {
    for (const absl::StatusOr<NDArray>& r : results[t]) {
      ExpectMatches<float>(r, cases[t].want, Tolerance<float>(4 * 9 + 1));
    }
  }
}

int ThreadsInProcess() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<int>(std::distance(begin(tasks), end(tasks)));
}

// The thread count once it has stopped changing (unchanged for 300 ms, at
// most 5 s): oneTBB starts its workers asynchronously, so a count taken
// right after a run can miss workers that are still starting.
int SettledThreadsInProcess() {
  int last = ThreadsInProcess();
  absl::Time stable_since = absl::Now();
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (absl::Now() - stable_since < absl::Milliseconds(300) &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
    const int now = ThreadsInProcess();
    if (now != last) {
      last = now;
      stable_since = absl::Now();
    }
  }
  return last;
}

// oneDNN is built on OpenMP: the kernels create and run its primitives with
// a team of one, so libgomp starts no thread (oneTBB's workers are the
// only ones, started by the first run), and the caller's OpenMP setting is
// untouched.
TEST(ConvThreads, OneDnnStartsNoThread) {
  omp_set_num_threads(3);
  std::mt19937 rng(10);
  auto run = [&](std::vector<int64_t> xd, int64_t m) {
    const Ref x = Rounded<float>(Random(xd, rng));
    const Ref w = Rounded<float>(Random({m, xd[1], 3, 3}, rng));
    const Ref b = Rounded<float>(Random({m}, rng));
    Graph g = Graph::Create("threads");
    Tensor xt = testing::Feed(g, ToArray<float>(x));
    Tensor y =
        ops::MaxPool(ops::Conv(xt, ops::Const(ToArray<float>(w), In(g)),
                               ops::Const(ToArray<float>(b), In(g)), {}, In(g)),
                     {.kernel_shape = {2, 2}}, In(g));
    absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
    ASSERT_TRUE(s.ok()) << s.status();
    absl::StatusOr<std::vector<NDArray>> r =
        (*s)->Run({{xt, ToArray<float>(x)}}, {y});
    ASSERT_TRUE(r.ok()) << r.status();
  };
  run({4, 16, 24, 24}, 16);  // Starts oneTBB's workers.
  const int before = SettledThreadsInProcess();
  run({4, 32, 20, 20}, 32);  // New primitives, split per image.
  run({1, 8, 30, 30}, 8);
  EXPECT_EQ(SettledThreadsInProcess(), before);
  EXPECT_EQ(omp_get_max_threads(), 3);
}

}  // namespace
}  // namespace weft
