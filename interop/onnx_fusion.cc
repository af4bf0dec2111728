// The Conv fusions of the ONNX importer (onnx_fusion.h).
#include "interop/onnx_fusion.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/attr.h"
#include "graph/dtype.h"
#include "graph/graph.h"
#include "graph/node.h"
#include "interop/onnx_converter_util.h"
#include "interop/onnx_tensor.h"

namespace weft {
namespace onnx_internal {
namespace {

// The Conv, FusedConv or ConvTranspose node whose output is `x`, if it is
// in the graph the converter builds in, of a float dtype, and `x` has
// `uses` ONNX uses.
const Node* ConvProducer(const NodeContext& c, const Tensor& x, int uses) {
  if (!x.ok() || !x.belongs_to(c.graph()) || !IsFloating(x.dtype())) {
    return nullptr;
  }
  const Node* n = x.node();
  if (n == nullptr || x.index() != 0 ||
      (n->op() != "Conv" && n->op() != "FusedConv" &&
       n->op() != "ConvTranspose" && n->op() != "FusedConvTranspose") ||
      c.OnnxUses(x) != uses) {
    return nullptr;
  }
  return n;
}

Tensor InputOf(const Graph& g, const Node& n, int i) {
  const NodeInput& in = n.inputs()[i];
  return g.output(*g.node(in.node), in.slot);
}

// The value of input `i` of `n` if a Const node gives it, else nullptr.
const NDArray* ConstInput(const Graph& g, const Node& n, int i) {
  const Node* in = g.node(n.inputs()[i].node);
  if (in == nullptr || in->op() != "Const") return nullptr;
  return FindAttr<NDArray>(in->attrs(), "value");
}

// `k`'s values if it broadcasts against `x` per channel (dim 1) or as one
// value, without changing x's shape: one value, or x.dim(1) values.
std::optional<std::vector<double>> PerChannel(const NDArray& k,
                                              const Shape& x) {
  const int r = x.rank(), kr = k.shape().rank();
  if (kr > r || !IsFloating(k.dtype())) return std::nullopt;
  if (k.num_elements() == 1) return ToDoubles(k);
  if (r < 2 || x.dim(1) < 0) return std::nullopt;
  for (int j = 0; j < kr; ++j) {
    const int axis = r - kr + j;
    const int64_t want = axis == 1 ? x.dim(1) : 1;
    if (k.shape().dim(j) != want) return std::nullopt;
  }
  if (r - kr > 1) return std::nullopt;  // k does not reach dim 1.
  return ToDoubles(k);
}

}  // namespace

absl::StatusOr<std::optional<Tensor>> FoldAffineIntoConv(
    NodeContext& c, const Tensor& x, const std::vector<double>& scale,
    const std::vector<double>& shift, int uses) {
  const Node* n = ConvProducer(c, x, uses);
  if (n == nullptr) return std::nullopt;
  // A non-finite scale or shift stays a separate op: folded into the
  // weights it would turn into NaN what the op leaves infinite.
  for (const std::vector<double>* v : {&scale, &shift}) {
    for (double d : *v) {
      if (!std::isfinite(d)) return std::nullopt;
    }
  }
  const Graph& g = c.graph();
  if (n->op() == "FusedConv" || n->op() == "FusedConvTranspose") {
    // After the activation: only a single scale and shift compose with
    // post_scale and post_shift.
    if (scale.size() != 1 || shift.size() != 1) return std::nullopt;
    AttrMap attrs = n->attrs();
    const auto* ps = FindAttr<double>(attrs, "post_scale");
    const auto* sh = FindAttr<double>(attrs, "post_shift");
    const double post_scale = ps != nullptr ? *ps : 1;
    const double post_shift = sh != nullptr ? *sh : 0;
    attrs["post_scale"] = post_scale * scale[0];
    attrs["post_shift"] = post_shift * scale[0] + shift[0];
    ASSIGN_OR_RETURN_ONNX(
        Tensor y,
        c.Op(n->op(), {InputOf(g, *n, 0), InputOf(g, *n, 1), InputOf(g, *n, 2)},
             std::move(attrs)));
    return y;
  }
  const NDArray* w = ConstInput(g, *n, 1);
  const NDArray* b = ConstInput(g, *n, 2);
  if (w == nullptr || b == nullptr || w->shape().rank() < 2) {
    return std::nullopt;
  }
  // Output channel m's weights: w[m, ...] of a Conv's [M, C/group, K...];
  // w[c, m % (M/group), ...] for every c of m's group of a ConvTranspose's
  // [C, M/group, K...].
  const bool transposed = n->op() == "ConvTranspose";
  const int64_t m = b->num_elements();
  const int64_t rows = w->shape().dim(0), cols = w->shape().dim(1);
  auto fits = [m](const std::vector<double>& v) {
    return v.size() == 1 || static_cast<int64_t>(v.size()) == m;
  };
  if (m < 1 || rows < 1 || cols < 1 || !fits(scale) || !fits(shift) ||
      (!transposed && rows != m) ||
      (transposed && (m % cols != 0 || rows % (m / cols) != 0))) {
    return std::nullopt;
  }
  const int64_t per = w->num_elements() / rows / cols;
  auto at = [](const std::vector<double>& v, int64_t o) {
    return v.size() == 1 ? v[0] : v[o];
  };
  std::vector<double> bv = ToDoubles(*b);
  for (int64_t o = 0; o < m; ++o) bv[o] = bv[o] * at(scale, o) + at(shift, o);
  ASSIGN_OR_RETURN_ONNX(Tensor bt,
                        c.Const(FromDoubles(bv, b->dtype(), b->shape())));
  // A shift alone keeps the weights' Const (no copy).
  Tensor wt = InputOf(g, *n, 1);
  if (std::any_of(scale.begin(), scale.end(),
                  [](double a) { return a != 1; })) {
    std::vector<double> wv = ToDoubles(*w);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < cols; ++k) {
        // ConvTranspose: row r is input channel r, of group r / (C/group).
        const int64_t o = transposed ? r / (rows / (m / cols)) * cols + k : r;
        const double a = at(scale, o);
        double* ws = wv.data() + (r * cols + k) * per;
        for (int64_t j = 0; j < per; ++j) ws[j] *= a;
      }
    }
    ASSIGN_OR_RETURN_ONNX(wt, c.Const(FromDoubles(wv, w->dtype(), w->shape())));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op(n->op(), {InputOf(g, *n, 0), wt, bt}, n->attrs()));
  return y;
}

absl::StatusOr<std::optional<Tensor>> FoldBinaryIntoConv(NodeContext& c,
                                                         std::string_view op,
                                                         const Tensor& x,
                                                         const NDArray& k,
                                                         bool k_first) {
  if ((op != "Mul" && op != "Add" && op != "Sub" && op != "Div") || !x.ok() ||
      k.dtype() != x.dtype()) {
    return std::nullopt;
  }
  std::optional<std::vector<double>> v = PerChannel(k, x.shape());
  if (!v) return std::nullopt;
  std::vector<double> one(1, 1.0), zero(1, 0.0);
  if (op == "Mul") return FoldAffineIntoConv(c, x, *v, zero);
  if (op == "Add") return FoldAffineIntoConv(c, x, one, *v);
  if (op == "Sub") {
    if (k_first) return FoldAffineIntoConv(c, x, {-1.0}, *v);  // k - x
    for (double& d : *v) d = -d;
    return FoldAffineIntoConv(c, x, one, *v);
  }
  if (op == "Div" && !k_first) {
    for (double& d : *v) {
      if (d == 0) return std::nullopt;  // x / 0 keeps its infinities.
      d = 1 / d;
    }
    return FoldAffineIntoConv(c, x, *v, zero);
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<Tensor>> FuseActivationIntoConv(
    NodeContext& c, const Tensor& x, const ConvEpilogue& epilogue, int uses) {
  const Node* n = ConvProducer(c, x, uses);
  if (n == nullptr || (n->op() != "Conv" && n->op() != "ConvTranspose")) {
    return std::nullopt;
  }
  const Graph& g = c.graph();
  AttrMap attrs = n->attrs();
  attrs["activation"] = epilogue.activation;
  attrs["alpha"] = epilogue.alpha;
  attrs["beta"] = epilogue.beta;
  ASSIGN_OR_RETURN_ONNX(
      Tensor y, c.Op(n->op() == "Conv" ? "FusedConv" : "FusedConvTranspose",
                     {InputOf(g, *n, 0), InputOf(g, *n, 1), InputOf(g, *n, 2)},
                     std::move(attrs)));
  return y;
}

}  // namespace onnx_internal
}  // namespace weft
