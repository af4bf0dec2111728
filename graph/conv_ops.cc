// The conv family: convolution, transposed convolution and pooling over
// NC + 1-3 spatial dims. Definitions, inference and builders; kernels (on
// oneDNN) in kernels/conv_kernels.cc.
//
// The attributes and output sizes are ONNX's (Conv, ConvTranspose, MaxPool,
// AveragePool; graph/ops.h documents them). Every attr is optional except a
// pool's kernel_shape; a missing one takes its default. The kernels run this
// inference again, with the concrete shapes, whenever they see new input
// shapes, so a dim unknown at build time gets the same checks and messages
// at run time.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/inference_util.h"
#include "graph/op_families.h"
#include "graph/ops.h"

namespace weft {
namespace internal {
namespace {

constexpr int64_t kUnknown = Shape::kUnknown;

// Attribute values past this are refused, so the size arithmetic below
// cannot overflow (a window of 2^40 elements is no model's).
constexpr int64_t kMaxAttrValue = int64_t{1} << 40;

// The attributes of one node, with defaults filled in, for k spatial dims.
struct Window {
  int k = 0;
  std::vector<int64_t> kernel;  // Pools: kernel_shape; convs: from w.
  std::vector<int64_t> strides, pads, dilations, output_padding;
  int64_t group = 1;
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t pad_begin(int i) const { return pads[i]; }
  int64_t pad_end(int i) const { return pads[k + i]; }
};

// "2-D Conv (input 0 is float32[1,3,8,8])".
std::string OpDesc(const InferenceContext& c, std::string_view op, int k) {
  return absl::StrCat(k, "-D ", op, " (", InputDesc(c, 0), ")");
}

// The int list attr `name`: `size` entries each in [min, kMaxAttrValue], or
// `size` copies of `fallback` when absent.
absl::StatusOr<std::vector<int64_t>> ListAttr(InferenceContext& c,
                                              std::string_view op, int k,
                                              const std::string& name, int size,
                                              int64_t fallback, int64_t min) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return std::vector<int64_t>(size, fallback);
  const auto* v = std::get_if<std::vector<int64_t>>(&it->second);
  if (v == nullptr) {
    return c.AttrError(
        absl::StrCat(op, " attr '", name, "' must be a list of ints (int64)"));
  }
  if (static_cast<int>(v->size()) != size) {
    return c.AttrError(absl::StrCat(
        op, " attr '", name, "' is ", ListString(*v), " (", v->size(),
        " entries); a ", OpDesc(c, op, k), " takes ", size,
        name == "pads" ? ": the begin of each spatial dim, then the end of each"
                       : ", one per spatial dim"));
  }
  for (int64_t x : *v) {
    if (x < min || x > kMaxAttrValue) {
      return c.AttrError(absl::StrCat(
          op, " attr '", name, "' is ", ListString(*v), "; each entry must be ",
          min == 0 ? "non-negative" : "positive", " (and at most 2^40)"));
    }
  }
  return *v;
}

// The int attr `name`, at least 1 (1 when absent).
absl::StatusOr<int64_t> PositiveIntAttr(InferenceContext& c,
                                        std::string_view op,
                                        const std::string& name) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return 1;
  const auto* v = std::get_if<int64_t>(&it->second);
  if (v == nullptr || *v < 1 || *v > kMaxAttrValue) {
    return c.AttrError(
        absl::StrCat(op, " attr '", name, "' must be a positive int (int64)",
                     v == nullptr ? "" : absl::StrCat(", not ", *v)));
  }
  return *v;
}

// Reads strides, pads and dilations (and for convs group / output_padding,
// for pools kernel_shape, ceil_mode and count_include_pad) for k spatial
// dims.
absl::StatusOr<Window> ReadWindow(InferenceContext& c, std::string_view op,
                                  int k, bool is_pool, bool transposed) {
  Window w;
  w.k = k;
  auto list = [&](const std::string& name, int size, int64_t fallback,
                  int64_t min, std::vector<int64_t>* out) -> absl::Status {
    absl::StatusOr<std::vector<int64_t>> v =
        ListAttr(c, op, k, name, size, fallback, min);
    if (!v.ok()) return v.status();
    *out = *std::move(v);
    return absl::OkStatus();
  };
  if (is_pool) {
    if (absl::Status s = list("kernel_shape", k, 1, 1, &w.kernel); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = list("strides", k, 1, 1, &w.strides); !s.ok()) return s;
  if (absl::Status s = list("pads", 2 * k, 0, 0, &w.pads); !s.ok()) return s;
  if (absl::Status s = list("dilations", k, 1, 1, &w.dilations); !s.ok()) {
    return s;
  }
  if (is_pool) {
    absl::StatusOr<bool> ceil = OptionalBoolAttr(c, "ceil_mode");
    if (!ceil.ok()) return ceil.status();
    absl::StatusOr<bool> include = OptionalBoolAttr(c, "count_include_pad");
    if (!include.ok()) return include.status();
    w.ceil_mode = *ceil;
    w.count_include_pad = *include;
    return w;
  }
  absl::StatusOr<int64_t> group = PositiveIntAttr(c, op, "group");
  if (!group.ok()) return group.status();
  w.group = *group;
  if (!transposed) {
    if (c.attrs->contains("output_padding")) {
      return c.AttrError(absl::StrCat(
          op, " takes no attr 'output_padding' (ConvTranspose does)"));
    }
    return w;
  }
  // Any non-negative output_padding: positions past the reach of the last
  // input hold the bias (ONNX's output_shape can ask for them).
  if (absl::Status s = list("output_padding", k, 0, 0, &w.output_padding);
      !s.ok()) {
    return s;
  }
  return w;
}

// The shared input checks: one floating dtype for every input, x of rank 3
// to 5 (N, C, 1-3 spatial dims). Returns k, the number of spatial dims.
absl::StatusOr<int> CheckInputs(InferenceContext& c, std::string_view op) {
  if (absl::Status s = RequireFloating(c, 0, op); !s.ok()) return s;
  for (size_t i = 1; i < c.input_dtypes.size(); ++i) {
    if (c.input_dtypes[i] != c.input_dtypes[0]) {
      return c.DTypeError(
          absl::StrCat(op, ": ", InputDesc(c, static_cast<int>(i)), " but ",
                       InputDesc(c, 0), "; x, w and b must have one dtype"));
    }
  }
  const int rank = c.input_shapes[0].rank();
  if (rank < 3 || rank > 5) {
    return c.ShapeError(absl::StrCat(
        op, " takes x of rank 3 to 5 (N, C, then 1 to 3 spatial dims); ",
        InputDesc(c, 0)));
  }
  return rank - 2;
}

// Floor (or, for pools, ceil_mode's) output size of one spatial dim of a
// convolution or pool; kUnknown when `in` or `kernel` is.
absl::StatusOr<int64_t> WindowOutput(InferenceContext& c, std::string_view op,
                                     const Window& w, int i, int64_t in,
                                     int64_t kernel, int k) {
  if (in == kUnknown || kernel == kUnknown) return kUnknown;
  const int64_t extent = (kernel - 1) * w.dilations[i] + 1;
  const int64_t span = in + w.pad_begin(i) + w.pad_end(i) - extent;
  if (span < 0) {
    return c.ShapeError(absl::StrCat(
        op, ": spatial dim ", i, " of x is ", in, ", padded to ",
        in + w.pad_begin(i) + w.pad_end(i), ", smaller than the ",
        w.dilations[i] > 1 ? "dilated " : "", "window's extent ", extent,
        ", so the output would be empty; ", OpDesc(c, op, k)));
  }
  const int64_t s = w.strides[i];
  int64_t out = (w.ceil_mode ? (span + s - 1) / s : span / s) + 1;
  // ONNX and PyTorch: the last window must start inside the input or its
  // begin padding.
  if (w.ceil_mode && (out - 1) * s >= in + w.pad_begin(i)) --out;
  return out;
}

// Conv's and ConvTranspose's checks of the ranks of w (x's) and b (1).
absl::Status CheckConvWeightRanks(InferenceContext& c, std::string_view op,
                                  bool transposed) {
  const Shape& x = c.input_shapes[0];
  const Shape& w = c.input_shapes[1];
  const Shape& b = c.input_shapes[2];
  if (w.rank() != x.rank()) {
    return c.ShapeError(absl::StrCat(
        op, ": w must have x's rank ", x.rank(),
        transposed ? " ([C, M/group, K...])" : " ([M, C/group, K...])", "; ",
        InputDesc(c, 1), " and ", InputDesc(c, 0)));
  }
  if (b.rank() != 1) {
    return c.ShapeError(
        absl::StrCat(op, ": b must be a vector of the M output channels; ",
                     InputDesc(c, 2)));
  }
  return absl::OkStatus();
}

// M, the output channels: w.dim(0) for Conv, w.dim(1) * group for
// ConvTranspose; else b's size. Checks them against x's channels, `group`
// and b.
absl::StatusOr<int64_t> ConvOutputChannels(InferenceContext& c,
                                           std::string_view op, bool transposed,
                                           int64_t group) {
  const Shape& x = c.input_shapes[0];
  const Shape& w = c.input_shapes[1];
  const Shape& b = c.input_shapes[2];
  const int64_t channels = x.dim(1);
  int64_t m = kUnknown;
  if (!transposed) {
    const int64_t per_group = w.dim(1);
    if (channels != kUnknown && per_group != kUnknown &&
        channels != per_group * group) {
      return c.ShapeError(absl::StrCat(
          op, ": x has ", channels, " channels but w's dim 1 (C/group) is ",
          per_group, " with group ", group, ", which takes ", per_group * group,
          " (w.dim(1) * group); ", InputDesc(c, 0), ", ", InputDesc(c, 1)));
    }
    m = w.dim(0);
    if (m != kUnknown && m % group != 0) {
      return c.ShapeError(absl::StrCat(
          op, ": w's dim 0 (M, the output channels) is ", m,
          ", not a multiple of group ", group, "; ", InputDesc(c, 1)));
    }
  } else {
    if (channels != kUnknown && w.dim(0) != kUnknown && channels != w.dim(0)) {
      return c.ShapeError(absl::StrCat(
          op, ": x has ", channels, " channels but w's dim 0 (C) is ", w.dim(0),
          "; ", InputDesc(c, 0), ", ", InputDesc(c, 1)));
    }
    const int64_t in_channels = channels != kUnknown ? channels : w.dim(0);
    if (in_channels != kUnknown && in_channels % group != 0) {
      return c.ShapeError(absl::StrCat(
          op, ": the ", in_channels, " input channels are not a multiple of ",
          "group ", group, "; ", InputDesc(c, 0), ", ", InputDesc(c, 1)));
    }
    if (w.dim(1) != kUnknown) m = w.dim(1) * group;
  }
  if (m != kUnknown && b.dim(0) != kUnknown && b.dim(0) != m) {
    return c.ShapeError(
        absl::StrCat(op, ": b has ", b.dim(0), " elements but the output has ",
                     m, " channels; ", InputDesc(c, 2), ", ", InputDesc(c, 1)));
  }
  if (m == kUnknown) m = b.dim(0);
  return m;
}

// The size of spatial dim `i` of a ConvTranspose's output ((in - 1) *
// stride + the dilated kernel's extent - pads + output_padding); kUnknown
// when `in` or `kernel` is.
absl::StatusOr<int64_t> TransposedConvOutput(InferenceContext& c,
                                             std::string_view op,
                                             const Window& win, int i,
                                             int64_t in, int64_t kernel,
                                             int k) {
  if (in == kUnknown || kernel == kUnknown) return kUnknown;
  const int64_t o = (in - 1) * win.strides[i] +
                    (kernel - 1) * win.dilations[i] + 1 - win.pad_begin(i) -
                    win.pad_end(i) + win.output_padding[i];
  if (o <= 0) {
    return c.ShapeError(
        absl::StrCat(op, ": output spatial dim ", i, " would be ", o,
                     " (the pads remove the whole output); ", OpDesc(c, op, k),
                     ", pads ", ListString(win.pads)));
  }
  return o;
}

// Conv and ConvTranspose: x [N, C, D...], w, b [M].
// FusedConv's and FusedConvTranspose's epilogue attrs (graph/ops.h,
// ConvEpilogue): a known activation, finite numbers, Clip's bounds in
// order. Every attr is optional (alpha and beta 0, post_scale 1,
// post_shift 0).
absl::Status CheckEpilogue(InferenceContext& c, std::string_view op) {
  std::string activation;
  if (auto it = c.attrs->find("activation"); it != c.attrs->end()) {
    const auto* v = std::get_if<std::string>(&it->second);
    if (v == nullptr) {
      return c.AttrError(
          absl::StrCat(op, " attr 'activation' must be a string"));
    }
    activation = *v;
  }
  if (activation != "" && activation != "Relu" && activation != "LeakyRelu" &&
      activation != "HardSigmoid" && activation != "HardSwish" &&
      activation != "Clip") {
    return c.AttrError(absl::StrCat(
        op, " attr 'activation' is '", activation,
        "'; it must be one of \"\" (none), Relu, LeakyRelu, HardSigmoid, "
        "HardSwish, Clip"));
  }
  double value[4] = {0, 0, 1, 0};
  const char* names[4] = {"alpha", "beta", "post_scale", "post_shift"};
  for (int i = 0; i < 4; ++i) {
    auto it = c.attrs->find(names[i]);
    if (it == c.attrs->end()) continue;
    const auto* v = std::get_if<double>(&it->second);
    if (v == nullptr || !std::isfinite(*v)) {
      return c.AttrError(absl::StrCat(op, " attr '", names[i],
                                      "' must be a finite float (double)"));
    }
    value[i] = *v;
  }
  if (activation == "Clip" && value[0] > value[1]) {
    return c.AttrError(absl::StrCat(op, " Clip's bounds are alpha ", value[0],
                                    " > beta ", value[1],
                                    "; alpha is the lower one"));
  }
  return absl::OkStatus();
}

// Conv, FusedConv, ConvTranspose and FusedConvTranspose: x [N, C, D...] ->
// [N, M, O...].
absl::Status InferConv(InferenceContext& c, std::string_view op,
                       bool transposed) {
  if (op == "FusedConv" || op == "FusedConvTranspose") {
    if (absl::Status s = CheckEpilogue(c, op); !s.ok()) return s;
  }
  absl::StatusOr<int> k = CheckInputs(c, op);
  if (!k.ok()) return k.status();
  if (absl::Status s = CheckConvWeightRanks(c, op, transposed); !s.ok()) {
    return s;
  }
  const Shape& x = c.input_shapes[0];
  const Shape& w = c.input_shapes[1];
  absl::StatusOr<Window> win = ReadWindow(c, op, *k, false, transposed);
  if (!win.ok()) return win.status();
  absl::StatusOr<int64_t> m = ConvOutputChannels(c, op, transposed, win->group);
  if (!m.ok()) return m.status();
  std::vector<int64_t> out = {x.dim(0), *m};
  for (int i = 0; i < *k; ++i) {
    const int64_t kernel = w.dim(2 + i);
    if (kernel == 0) {
      return c.ShapeError(absl::StrCat(op, ": w's kernel dims must be at ",
                                       "least 1; ", InputDesc(c, 1)));
    }
    absl::StatusOr<int64_t> o =
        transposed
            ? TransposedConvOutput(c, op, *win, i, x.dim(2 + i), kernel, *k)
            : WindowOutput(c, op, *win, i, x.dim(2 + i), kernel, *k);
    if (!o.ok()) return o.status();
    out.push_back(*o);
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(out)));
  return absl::OkStatus();
}

// MaxPool and AveragePool: x [N, C, D...] -> [N, C, O...].
absl::Status InferPool(InferenceContext& c, std::string_view op) {
  absl::StatusOr<int> k = CheckInputs(c, op);
  if (!k.ok()) return k.status();
  absl::StatusOr<Window> win = ReadWindow(c, op, *k, true, false);
  if (!win.ok()) return win.status();
  for (int i = 0; i < *k; ++i) {
    const int64_t extent = (win->kernel[i] - 1) * win->dilations[i] + 1;
    if (win->pad_begin(i) >= extent || win->pad_end(i) >= extent) {
      return c.AttrError(absl::StrCat(
          op, " attr 'pads' is ", ListString(win->pads),
          "; each pad must be smaller than its window's extent (", extent,
          " in spatial dim ", i, "), or a window could cover only padding"));
    }
  }
  const Shape& x = c.input_shapes[0];
  std::vector<int64_t> out = {x.dim(0), x.dim(1)};
  for (int i = 0; i < *k; ++i) {
    absl::StatusOr<int64_t> o =
        WindowOutput(c, op, *win, i, x.dim(2 + i), win->kernel[i], *k);
    if (!o.ok()) return o.status();
    out.push_back(*o);
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(out)));
  return absl::OkStatus();
}

}  // namespace

void RegisterConvOps(OpRegistry& r) {
  RegisterBuiltin(r, {"Conv", 3, {}, [](InferenceContext& c) {
                        return InferConv(c, "Conv", false);
                      }});
  RegisterBuiltin(r, {"FusedConv", 3, {}, [](InferenceContext& c) {
                        return InferConv(c, "FusedConv", false);
                      }});
  RegisterBuiltin(r, {"ConvTranspose", 3, {}, [](InferenceContext& c) {
                        return InferConv(c, "ConvTranspose", true);
                      }});
  RegisterBuiltin(r, {"FusedConvTranspose", 3, {}, [](InferenceContext& c) {
                        return InferConv(c, "FusedConvTranspose", true);
                      }});
  RegisterBuiltin(r, {"MaxPool", 1, {"kernel_shape"}, [](InferenceContext& c) {
                        return InferPool(c, "MaxPool");
                      }});
  RegisterBuiltin(r,
                  {"AveragePool", 1, {"kernel_shape"}, [](InferenceContext& c) {
                     return InferPool(c, "AveragePool");
                   }});
}

}  // namespace internal

namespace ops {
namespace {

// The node attrs of `conv`; empty lists are left out (their defaults).
AttrMap ConvAttrs(const ConvOptions& conv) {
  AttrMap attrs;
  if (!conv.strides.empty()) attrs["strides"] = conv.strides;
  if (!conv.pads.empty()) attrs["pads"] = conv.pads;
  if (!conv.dilations.empty()) attrs["dilations"] = conv.dilations;
  attrs["group"] = conv.group;
  // Passed to Conv too when set, so that inference reports the mistake.
  if (!conv.output_padding.empty()) {
    attrs["output_padding"] = conv.output_padding;
  }
  return attrs;
}

AttrMap FusedConvAttrs(const ConvOptions& conv, const ConvEpilogue& e) {
  AttrMap attrs = ConvAttrs(conv);
  attrs["activation"] = e.activation;
  attrs["alpha"] = e.alpha;
  attrs["beta"] = e.beta;
  attrs["post_scale"] = e.post_scale;
  attrs["post_shift"] = e.post_shift;
  return attrs;
}

AttrMap PoolAttrs(const PoolOptions& pool, bool average) {
  AttrMap attrs;
  attrs["kernel_shape"] = pool.kernel_shape;
  if (!pool.strides.empty()) attrs["strides"] = pool.strides;
  if (!pool.pads.empty()) attrs["pads"] = pool.pads;
  if (!pool.dilations.empty()) attrs["dilations"] = pool.dilations;
  attrs["ceil_mode"] = pool.ceil_mode;
  if (average) attrs["count_include_pad"] = pool.count_include_pad;
  return attrs;
}

}  // namespace

using internal::BuildOp;

Tensor Conv(const Tensor& x, const Tensor& w, const Tensor& b,
            const ConvOptions& conv, const OpOptions& options,
            std::source_location where) {
  return BuildOp("Conv", {x, w, b}, ConvAttrs(conv), options, where);
}

Tensor ConvTranspose(const Tensor& x, const Tensor& w, const Tensor& b,
                     const ConvOptions& conv, const OpOptions& options,
                     std::source_location where) {
  return BuildOp("ConvTranspose", {x, w, b}, ConvAttrs(conv), options, where);
}

Tensor FusedConv(const Tensor& x, const Tensor& w, const Tensor& b,
                 const ConvOptions& conv, const ConvEpilogue& epilogue,
                 const OpOptions& options, std::source_location where) {
  return BuildOp("FusedConv", {x, w, b}, FusedConvAttrs(conv, epilogue),
                 options, where);
}

Tensor FusedConvTranspose(const Tensor& x, const Tensor& w, const Tensor& b,
                          const ConvOptions& conv, const ConvEpilogue& epilogue,
                          const OpOptions& options,
                          std::source_location where) {
  return BuildOp("FusedConvTranspose", {x, w, b},
                 FusedConvAttrs(conv, epilogue), options, where);
}

Tensor MaxPool(const Tensor& x, const PoolOptions& pool,
               const OpOptions& options, std::source_location where) {
  return BuildOp("MaxPool", {x}, PoolAttrs(pool, false), options, where);
}

Tensor AveragePool(const Tensor& x, const PoolOptions& pool,
                   const OpOptions& options, std::source_location where) {
  return BuildOp("AveragePool", {x}, PoolAttrs(pool, true), options, where);
}

}  // namespace ops
}  // namespace weft
