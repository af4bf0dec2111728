// The converters of ONNX's convolution, pooling and normalization ops. Conv,
// ConvTranspose and the pools map onto the conv family (oneDNN kernels);
// BatchNormalization becomes a per-channel scale and shift, folded into the
// weights of a Conv it follows; Instance/Layer/MeanVariance normalization are
// composed from reductions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/node.h"
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"
#include "interop/onnx_fusion.h"

namespace weft {
namespace onnx_internal {
namespace {

// --------------------------------------------------------- host math --

// [C, 1, ..., 1]: a per-channel vector that broadcasts over NC + spatial.
Shape ChannelShape(int64_t channels, int rank) {
  std::vector<int64_t> dims(std::max(rank - 1, 1), 1);
  dims[0] = channels;
  return Shape(dims);
}

// ------------------------------------------------------ conv attrs --

struct Window {
  std::vector<int64_t> kernel, strides, pads, dilations;
};

// Reads kernel_shape (or takes `kernel`), strides, pads, dilations and
// auto_pad, resolving auto_pad against the input's spatial dims.
absl::StatusOr<Window> ReadWindow(NodeContext& c, const Shape& x,
                                  std::vector<int64_t> kernel,
                                  bool transposed) {
  const int n = x.rank() - 2;
  if (n < 1 || n > 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input rank ", x.rank(), " is not NC + 1 to 3 spatial dims"));
  }
  Window w;
  w.kernel = c.Ints("kernel_shape", kernel);
  if (static_cast<int>(w.kernel.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("kernel_shape has ", w.kernel.size(), " dims for ", n,
                     " spatial dims"));
  }
  w.strides = c.Ints("strides", std::vector<int64_t>(n, 1));
  w.dilations = c.Ints("dilations", std::vector<int64_t>(n, 1));
  w.pads = c.Ints("pads", std::vector<int64_t>(2 * n, 0));
  if (static_cast<int>(w.strides.size()) != n ||
      static_cast<int>(w.dilations.size()) != n ||
      static_cast<int>(w.pads.size()) != 2 * n) {
    return absl::InvalidArgumentError(
        "strides, dilations and pads must match the spatial rank");
  }
  const std::string auto_pad = c.String("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") return w;
  if (auto_pad == "VALID") {
    std::fill(w.pads.begin(), w.pads.end(), 0);
    return w;
  }
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown auto_pad '", auto_pad, "'"));
  }
  // ConvTranspose resolves SAME_* itself, from its output shape.
  if (transposed) return w;
  for (int i = 0; i < n; ++i) {
    const int64_t in = x.dim(i + 2);
    if (in < 0) {
      return c.Unsupported(
          "auto_pad SAME_* with a spatial dim unknown at import (pin the "
          "input shapes with OnnxImportOptions::input_shapes)");
    }
    const int64_t out = (in + w.strides[i] - 1) / w.strides[i];
    const int64_t eff = (w.kernel[i] - 1) * w.dilations[i] + 1;
    const int64_t total =
        std::max<int64_t>((out - 1) * w.strides[i] + eff - in, 0);
    const int64_t small = total / 2, big = total - small;
    w.pads[i] = auto_pad == "SAME_UPPER" ? small : big;
    w.pads[i + n] = auto_pad == "SAME_UPPER" ? big : small;
  }
  return w;
}

// ---------------------------------------------------------------- Conv --

absl::StatusOr<Tensor> ZeroBias(NodeContext& c, DType dtype, int64_t m) {
  if (m < 0) return c.Unsupported("a weight whose output channels are unknown");
  return c.Const(FromDoubles(std::vector<double>(m, 0.0), dtype, Shape{m}));
}

// A Conv of x and w with the node's window attributes (kernel_shape,
// strides, pads, dilations, auto_pad, group) and `bias`, or a zero bias
// when `bias` is not given (!ok()).
absl::StatusOr<Tensor> ConvOfNode(NodeContext& c, const Tensor& x,
                                  const Tensor& w, Tensor bias) {
  const Shape& ws = w.shape();
  std::vector<int64_t> k(ws.dims().begin() + std::min(2, ws.rank()),
                         ws.dims().end());
  ASSIGN_OR_RETURN_ONNX(Window win, ReadWindow(c, x.shape(), k, false));
  if (!bias.ok()) {
    ASSIGN_OR_RETURN_ONNX(bias,
                          ZeroBias(c, w.dtype(), ws.rank() ? ws.dim(0) : -1));
  }
  return c.Op("Conv", {x, w, bias},
              {{"strides", win.strides},
               {"pads", win.pads},
               {"dilations", win.dilations},
               {"group", c.Int("group", 1)}});
}

absl::Status Conv(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor w, c.input(1));
  Tensor b;
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(b, c.input(2));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, ConvOfNode(c, x, w, b));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ------------------------------------------- integer convolutions --
// Both run as float64 convolutions of the centred operands: their sums of
// 8-bit products are exact up to 2^53.

// conv(x - x_zero_point, w - w_zero_point) in int32.
absl::Status ConvInteger(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x,
                        CenteredInput(c, 0, 2, DType::kFloat64, std::nullopt));
  ASSIGN_OR_RETURN_ONNX(Tensor w, CenteredInput(c, 1, 3, DType::kFloat64, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, ConvOfNode(c, x, w, Tensor()));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Cast", {y}, {{"dtype", DType::kInt32}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// The integer convolution (+ the int32 bias B), requantized as ONNX
// Runtime does: saturate(round_half_even(acc * x_scale * w_scale /
// y_scale) + y_zero_point), w_scale per tensor or per output channel.
absl::Status QLinearConv(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x,
                        CenteredInput(c, 0, 2, DType::kFloat64, std::nullopt));
  ASSIGN_OR_RETURN_ONNX(Tensor w, CenteredInput(c, 3, 5, DType::kFloat64, 0));
  Tensor bias;
  if (c.has_input(8)) {
    ASSIGN_OR_RETURN_ONNX(bias, c.input(8));
    ASSIGN_OR_RETURN_ONNX(bias,
                          c.Op("Cast", {bias}, {{"dtype", DType::kFloat64}}));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor acc, ConvOfNode(c, x, w, bias));
  ASSIGN_OR_RETURN_ONNX(Tensor xs, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor ws, c.input(4));
  ASSIGN_OR_RETURN_ONNX(Tensor ys, c.input(6));
  if (xs.dtype() != DType::kFloat32 || ws.dtype() != DType::kFloat32 ||
      ys.dtype() != DType::kFloat32 || xs.shape().num_elements() != 1 ||
      ys.shape().num_elements() != 1) {
    return c.Unsupported("scales other than float32 (x and y per tensor)");
  }
  ASSIGN_OR_RETURN_ONNX(Tensor m, c.Op("Mul", {xs, ws}));
  ASSIGN_OR_RETURN_ONNX(m, c.Op("Div", {m, ys}));
  if (m.shape().num_elements() != 1) {  // Per output channel.
    ASSIGN_OR_RETURN_ONNX(
        m, c.Op("Reshape", {m},
                {{"shape", ChannelShape(m.shape().dim(m.shape().rank() - 1),
                                        acc.shape().rank())}}));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, Requantize(c, acc, m, 7));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// MaxUnpool: X's values written at the flat positions I (MaxPool's
// indices, over the whole N x C x spatial output of the default shape,
// (in - 1) * stride - pads + kernel per spatial dim) of zeros — a
// ScatterElements, reshaped — then padded with zeros at the end of each
// spatial dim to output_shape when that is given (ONNX Runtime's layout:
// the indices keep the default shape's coordinates).
absl::Status MaxUnpool(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor idx, c.input(1));
  if (!IsFloating(x.dtype())) {
    return c.Unsupported(absl::StrCat("input dtype ", DTypeName(x.dtype())));
  }
  const Shape& xs = x.shape();
  ASSIGN_OR_RETURN_ONNX(Window win, ReadWindow(c, xs, {}, false));
  const int n = xs.rank() - 2;
  std::vector<int64_t> dflt = {xs.dim(0), xs.dim(1)};
  for (int i = 0; i < n; ++i) {
    dflt.push_back((xs.dim(i + 2) - 1) * win.strides[i] - win.pads[i] -
                   win.pads[i + n] + win.kernel[i]);
  }
  const Shape dflt_shape(dflt);
  const int64_t total = dflt_shape.num_elements();
  const int64_t count = xs.num_elements();
  if (total < 0 || count < 0) {
    return c.Unsupported(
        "an input shape not known at import (pin the input shapes with "
        "OnnxImportOptions::input_shapes)");
  }
  std::vector<int64_t> pads(2 * xs.rank(), 0);
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> out,
                          c.ConstInts(2, "output_shape"));
    if (static_cast<int>(out.size()) != xs.rank() || out[0] != dflt[0] ||
        out[1] != dflt[1]) {
      return absl::InvalidArgumentError(absl::StrCat("output_shape has ",
                                                     out.size(),
                                                     " dims or other N, C "
                                                     "than the input ",
                                                     xs.DebugString()));
    }
    for (int i = 2; i < xs.rank(); ++i) {
      if (out[i] < dflt[i]) {
        return c.Unsupported("an output_shape smaller than the default");
      }
      pads[xs.rank() + i] = out[i] - dflt[i];
    }
  }
  // The zeros come from a broadcast scalar at run time (an allocation the
  // session checks), not an array built at import.
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(x.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(
      Tensor zeros,
      c.Op("BroadcastTo", {zero}, {{"shape", std::vector<int64_t>{total}}}));
  ASSIGN_OR_RETURN_ONNX(Tensor flat_x, ReshapeLike(c, x, Shape{count}));
  ASSIGN_OR_RETURN_ONNX(Tensor flat_i, ReshapeLike(c, idx, Shape{count}));
  ASSIGN_OR_RETURN_ONNX(
      Tensor y,
      c.Op("ScatterElements", {zeros, flat_i, flat_x},
           {{"axis", int64_t{0}}, {"reduction", std::string("none")}}));
  ASSIGN_OR_RETURN_ONNX(y, ReshapeLike(c, y, dflt_shape));
  if (std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p > 0; })) {
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Pad", {y},
                                  {{"pads", pads},
                                   {"mode", std::string("constant")},
                                   {"value", 0.0}}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status ConvTranspose(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor w, c.input(1));
  const Shape& ws = w.shape();
  const int64_t group = c.Int("group", 1);
  std::vector<int64_t> k(ws.dims().begin() + std::min(2, ws.rank()),
                         ws.dims().end());
  bool has_output_shape = c.has_attr("output_shape");
  std::vector<int64_t> output_shape = c.Ints("output_shape");
  ASSIGN_OR_RETURN_ONNX(Window win, ReadWindow(c, x.shape(), k, true));
  const std::string auto_pad = c.String("auto_pad", "NOTSET");
  if (!has_output_shape &&
      (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")) {
    // SAME_*: the output is the input times the stride.
    for (int i = 2; i < x.shape().rank(); ++i) {
      const int64_t in = x.shape().dim(i);
      if (in < 0) return c.Unsupported("auto_pad SAME_* with unknown dims");
      output_shape.push_back(in * win.strides[i - 2]);
    }
    has_output_shape = true;
  }
  const int n = x.shape().rank() - 2;
  std::vector<int64_t> out_pad =
      c.Ints("output_padding", std::vector<int64_t>(n, 0));
  if (static_cast<int>(out_pad.size()) != n) {
    return absl::InvalidArgumentError(
        "output_padding must match the spatial rank");
  }
  if (has_output_shape) {
    // total padding = stride * (in - 1) + output_padding + eff_k - out,
    // split as SAME_UPPER (begin gets the smaller half) unless auto_pad
    // says SAME_LOWER.
    if (output_shape.size() == static_cast<size_t>(n + 2)) {
      output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    }
    if (static_cast<int>(output_shape.size()) != n) {
      return absl::InvalidArgumentError(
          "output_shape must list the spatial dims");
    }
    for (int i = 0; i < n; ++i) {
      const int64_t in = x.shape().dim(i + 2);
      if (in < 0) return c.Unsupported("output_shape with unknown input dims");
      const int64_t eff = (win.kernel[i] - 1) * win.dilations[i] + 1;
      const int64_t total =
          win.strides[i] * (in - 1) + out_pad[i] + eff - output_shape[i];
      if (total < 0) {
        out_pad[i] -= total;
        win.pads[i] = win.pads[i + n] = 0;
        continue;
      }
      const int64_t small = total / 2, big = total - small;
      win.pads[i] = auto_pad == "SAME_LOWER" ? big : small;
      win.pads[i + n] = auto_pad == "SAME_LOWER" ? small : big;
    }
  }
  Tensor b;
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(b, c.input(2));
  } else {
    const int64_t m = ws.rank() >= 2 && ws.dim(1) >= 0 ? ws.dim(1) * group : -1;
    ASSIGN_OR_RETURN_ONNX(b, ZeroBias(c, w.dtype(), m));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("ConvTranspose", {x, w, b},
                                       {{"strides", win.strides},
                                        {"pads", win.pads},
                                        {"dilations", win.dilations},
                                        {"group", group},
                                        {"output_padding", out_pad}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Pool(NodeContext& c, bool max) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Window win, ReadWindow(c, x.shape(), {}, false));
  AttrMap attrs = {{"kernel_shape", win.kernel},
                   {"strides", win.strides},
                   {"pads", win.pads},
                   {"ceil_mode", c.Int("ceil_mode", 0) != 0}};
  if (max) {
    attrs["dilations"] = win.dilations;
    if (c.Int("storage_order", 0) != 0 && c.has_output(1)) {
      return c.Unsupported("storage_order 1 (column-major indices)");
    }
    if (c.has_output(1)) {
      return c.Unsupported("MaxPool's indices output");
    }
  } else {
    for (int64_t d : win.dilations) {
      if (d != 1) return c.Unsupported("AveragePool with dilations");
    }
    attrs["count_include_pad"] = c.Int("count_include_pad", 0) != 0;
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op(max ? "MaxPool" : "AveragePool", {x}, attrs));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status GlobalPool(NodeContext& c, std::string_view reduce) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  std::vector<int64_t> axes;
  for (int i = 2; i < x.shape().rank(); ++i) axes.push_back(i);
  ASSIGN_OR_RETURN_ONNX(
      Tensor y, c.Op(reduce, {x}, {{"axes", axes}, {"keep_dims", true}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ------------------------------------------------------ normalization --

// BatchNormalization whose parameters are tensors computed at run time:
// (x - mean) * scale / sqrt(var + eps) + bias, per channel.
absl::Status BatchNormOfTensors(NodeContext& c, const Tensor& x, double eps) {
  std::vector<Tensor> p;
  for (int i = 1; i <= 4; ++i) {
    ASSIGN_OR_RETURN_ONNX(Tensor t, c.input(i));
    const Shape cs = ChannelShape(t.shape().rank() ? t.shape().dim(0) : -1,
                                  x.shape().rank());
    ASSIGN_OR_RETURN_ONNX(t, ReshapeLike(c, t, cs));
    p.push_back(t);
  }
  ASSIGN_OR_RETURN_ONNX(Tensor e, c.Scalar(x.dtype(), eps));
  ASSIGN_OR_RETURN_ONNX(Tensor ve, c.Op("Add", {p[3], e}));
  ASSIGN_OR_RETURN_ONNX(Tensor inv, c.Op("Rsqrt", {ve}));
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.Op("Mul", {p[0], inv}));
  ASSIGN_OR_RETURN_ONNX(Tensor d, c.Op("Sub", {x, p[2]}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Mul", {d, a}));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Add", {y, p[1]}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status BatchNormalization(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  if (c.Int("training_mode", 0) != 0 || c.num_outputs() > 1) {
    return c.Unsupported("training mode (weft runs inference only)");
  }
  if (c.opset() < 9 && c.Int("spatial", 1) != 1) {
    return c.Unsupported("spatial = 0");
  }
  if (c.opset() < 7) c.Ignore("is_test");
  c.Ignore("momentum");
  const double eps = c.Float("epsilon", 1e-5f);
  for (int i = 1; i <= 4; ++i) {
    if (c.constant(i) == nullptr) return BatchNormOfTensors(c, x, eps);
  }
  const std::vector<double> scale = ToDoubles(*c.constant(1)),
                            bias = ToDoubles(*c.constant(2)),
                            mean = ToDoubles(*c.constant(3)),
                            var = ToDoubles(*c.constant(4));
  const size_t ch = scale.size();
  if (bias.size() != ch || mean.size() != ch || var.size() != ch) {
    return absl::InvalidArgumentError(
        "scale, bias, mean and variance differ in length");
  }
  std::vector<double> a(ch), b(ch);
  for (size_t i = 0; i < ch; ++i) {
    a[i] = scale[i] / std::sqrt(var[i] + eps);
    b[i] = bias[i] - mean[i] * a[i];
  }
  const DType dt = x.dtype();
  // Conv then BatchNormalization: folded into the Conv's weights and bias.
  ASSIGN_OR_RETURN_ONNX(std::optional<Tensor> folded,
                        FoldAffineIntoConv(c, x, a, b));
  if (folded) {
    c.SetOutput(0, *folded);
    return absl::OkStatus();
  }
  const Shape cs = ChannelShape(static_cast<int64_t>(ch), x.shape().rank());
  ASSIGN_OR_RETURN_ONNX(Tensor at, c.Const(FromDoubles(a, dt, cs)));
  ASSIGN_OR_RETURN_ONNX(Tensor bt, c.Const(FromDoubles(b, dt, cs)));
  ASSIGN_OR_RETURN_ONNX(Tensor ax, c.Op("Mul", {x, at}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Add", {ax, bt}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// (x - mean(x)) / sqrt(var(x) + eps) over `axes` (kept as size-1 dims).
// `mean` and `inv_std`, if given, receive mean(x) and 1/sqrt(var + eps).
absl::StatusOr<Tensor> Normalize(NodeContext& c, const Tensor& x,
                                 const std::vector<int64_t>& axes, double eps,
                                 Tensor* mean_out = nullptr,
                                 Tensor* inv_std_out = nullptr) {
  AttrMap r = {{"axes", axes}, {"keep_dims", true}};
  ASSIGN_OR_RETURN_ONNX(Tensor mean, c.Op("ReduceMean", {x}, r));
  ASSIGN_OR_RETURN_ONNX(Tensor d, c.Op("Sub", {x, mean}));
  ASSIGN_OR_RETURN_ONNX(Tensor d2, c.Op("Mul", {d, d}));
  ASSIGN_OR_RETURN_ONNX(Tensor var, c.Op("ReduceMean", {d2}, r));
  ASSIGN_OR_RETURN_ONNX(Tensor e, c.Scalar(x.dtype(), eps));
  ASSIGN_OR_RETURN_ONNX(Tensor ve, c.Op("Add", {var, e}));
  ASSIGN_OR_RETURN_ONNX(Tensor inv, c.Op("Rsqrt", {ve}));
  if (mean_out != nullptr) *mean_out = mean;
  if (inv_std_out != nullptr) *inv_std_out = inv;
  return c.Op("Mul", {d, inv});
}

absl::Status InstanceNormalization(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor scale, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor bias, c.input(2));
  const int rank = x.shape().rank();
  std::vector<int64_t> axes;
  for (int i = 2; i < rank; ++i) axes.push_back(i);
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        Normalize(c, x, axes, c.Float("epsilon", 1e-5f)));
  const Shape cs =
      ChannelShape(scale.shape().rank() ? scale.shape().dim(0) : -1, rank);
  ASSIGN_OR_RETURN_ONNX(Tensor s, ReshapeLike(c, scale, cs));
  ASSIGN_OR_RETURN_ONNX(Tensor b, ReshapeLike(c, bias, cs));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {y, s}));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Add", {y, b}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// LayerNormalization (opset 17): normalizes over the axes from `axis`;
// only the first output (Mean and InvStdDev are for training).
absl::Status LayerNormalization(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const int rank = x.shape().rank();
  ASSIGN_OR_RETURN_ONNX(int64_t axis, NormalizeAxis(c.Int("axis", -1), rank));
  if (c.Int("stash_type", 1) != 1) {
    return c.Unsupported("stash_type other than float32");
  }
  std::vector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i) axes.push_back(i);
  Tensor mean, inv_std;
  ASSIGN_OR_RETURN_ONNX(
      Tensor y,
      Normalize(c, x, axes, c.Float("epsilon", 1e-5f), &mean, &inv_std));
  if (c.has_output(1)) c.SetOutput(1, mean);
  if (c.has_output(2)) c.SetOutput(2, inv_std);
  ASSIGN_OR_RETURN_ONNX(Tensor scale, c.input(1));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {y, scale}));
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN_ONNX(Tensor bias, c.input(2));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Add", {y, bias}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status MeanVarianceNormalization(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  std::vector<int64_t> axes = c.Ints("axes", {0, 2, 3});
  for (int64_t& a : axes) {
    ASSIGN_OR_RETURN_ONNX(a, NormalizeAxis(a, x.shape().rank()));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, Normalize(c, x, axes, 1e-9));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// LRN: x / (bias + alpha / size * sum of x^2 over `size` neighbouring
// channels)^beta. The channel sum is an AveragePool (counting the padding)
// over x^2 viewed as [N, 1, C, rest], times size.
absl::Status Lrn(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const Shape& s = x.shape();
  if (s.rank() < 3 || s.dim(0) < 0 || s.dim(1) < 0) {
    return c.Unsupported("LRN of an input whose N and C are not known");
  }
  int64_t rest = 1;
  for (int i = 2; i < s.rank(); ++i) {
    if (s.dim(i) < 0) return c.Unsupported("LRN with unknown spatial dims");
    rest *= s.dim(i);
  }
  const int64_t size = c.Int("size", 0);
  if (size <= 0) return absl::InvalidArgumentError("size must be positive");
  const double alpha = c.Float("alpha", 1e-4f), beta = c.Float("beta", 0.75f),
               bias = c.Float("bias", 1.0f);
  ASSIGN_OR_RETURN_ONNX(Tensor sq, c.Op("Mul", {x, x}));
  ASSIGN_OR_RETURN_ONNX(
      Tensor sq4,
      c.Op("Reshape", {sq}, {{"shape", Shape{s.dim(0), 1, s.dim(1), rest}}}));
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  ASSIGN_OR_RETURN_ONNX(
      Tensor avg, c.Op("AveragePool", {sq4},
                       {{"kernel_shape", std::vector<int64_t>{size, 1}},
                        {"pads", std::vector<int64_t>{before, 0, after, 0}},
                        {"count_include_pad", true}}));
  ASSIGN_OR_RETURN_ONNX(Tensor sum, ReshapeLike(c, avg, s));
  ASSIGN_OR_RETURN_ONNX(Tensor k, c.Scalar(x.dtype(), alpha));
  ASSIGN_OR_RETURN_ONNX(Tensor b, c.Scalar(x.dtype(), bias));
  ASSIGN_OR_RETURN_ONNX(Tensor nb, c.Scalar(x.dtype(), -beta));
  ASSIGN_OR_RETURN_ONNX(Tensor scaled, c.Op("Mul", {sum, k}));
  ASSIGN_OR_RETURN_ONNX(Tensor base, c.Op("Add", {scaled, b}));
  ASSIGN_OR_RETURN_ONNX(Tensor p, c.Op("Pow", {base, nb}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Mul", {x, p}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

}  // namespace

void RegisterNnConverters(absl::flat_hash_map<std::string, Converter>& t) {
  t["Conv"] = Conv;
  t["ConvTranspose"] = ConvTranspose;
  t["ConvInteger"] = ConvInteger;
  t["MaxUnpool"] = MaxUnpool;
  t["QLinearConv"] = QLinearConv;
  t["MaxPool"] = [](NodeContext& c) { return Pool(c, true); };
  t["AveragePool"] = [](NodeContext& c) { return Pool(c, false); };
  t["GlobalAveragePool"] = [](NodeContext& c) {
    return GlobalPool(c, "ReduceMean");
  };
  t["GlobalMaxPool"] = [](NodeContext& c) {
    return GlobalPool(c, "ReduceMax");
  };
  t["BatchNormalization"] = BatchNormalization;
  t["InstanceNormalization"] = InstanceNormalization;
  t["LayerNormalization"] = LayerNormalization;
  t["MeanVarianceNormalization"] = MeanVarianceNormalization;
  t["LRN"] = Lrn;
}

}  // namespace onnx_internal
}  // namespace weft
