// The converters of ONNX's elementwise, logic, reduction, array and linear
// algebra ops (the conv family's are in onnx_nn_converters.cc). Each maps
// one ONNX node onto one weft op, or onto a few when weft composes the ONNX
// op from smaller ones (Gemm = MatMul, scale and Add; LeakyRelu = Select).
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
#include "absl/strings/str_join.h"
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"
#include "interop/onnx_fusion.h"

namespace weft {
namespace onnx_internal {
namespace {

// ------------------------------------------------------- elementwise --

// Sets output 0 to the Conv producing `x` with the activation of
// `epilogue` fused (onnx_fusion.h) when it can be; true if it did.
absl::StatusOr<bool> SetFusedActivation(NodeContext& c, const Tensor& x,
                                        const ConvEpilogue& epilogue,
                                        int uses = 1) {
  ASSIGN_OR_RETURN_ONNX(std::optional<Tensor> fused,
                        FuseActivationIntoConv(c, x, epilogue, uses));
  if (fused) c.SetOutput(0, *fused);
  return fused.has_value();
}

absl::Status Unary(NodeContext& c, std::string_view op) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  if (op == "Relu") {
    ASSIGN_OR_RETURN_ONNX(bool fused,
                          SetFusedActivation(c, x, {.activation = "Relu"}));
    if (fused) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op(op, {x}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Before opset 7, binary ops broadcast only with broadcast=1, aligning
// the second operand's dims at `axis` (default: the trailing dims, as
// numpy would): it is reshaped to numpy's alignment.
absl::StatusOr<Tensor> LegacyBroadcast(NodeContext& c, const Tensor& x,
                                       const Tensor& y) {
  if (c.opset() >= 7) return y;
  const bool broadcast = c.Int("broadcast", 0) != 0;
  const int rx = x.shape().rank(), ry = y.shape().rank();
  const int64_t axis = c.Int("axis", rx - ry);
  if (!broadcast || axis == rx - ry) return y;
  if (axis < 0 || axis + ry > rx) {
    return absl::InvalidArgumentError(absl::StrCat("legacy broadcast axis ",
                                                   axis, " does not fit ranks ",
                                                   rx, " and ", ry));
  }
  std::vector<int64_t> dims = y.shape().dims();
  dims.resize(rx - axis, 1);
  return ReshapeLike(c, y, Shape(dims));
}

// ------------------------------------------------ activation fusion --
//
// Exporters write HardSwish as Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6) or
// Mul(x, Div(Clip(Add(x, 3), 0, 6), 6)) (and Clip becomes Maximum then
// Minimum here): five passes over the array. The Div and Mul converters
// recognize these chains among the weft nodes already built and emit one
// fused op instead: Div(Mul(...), 6) becomes HardSwish(x); Div(Clip(...),
// 6) becomes HardSigmoid(x) with alpha 1/6 and beta 0.5, and then
// Mul(x, HardSigmoid(x; 1/6, 0.5)) becomes HardSwish(x). The unfused nodes stay
// in the graph unused, and are pruned from every plan. When x is a Conv's
// output and the chain's values are used by nothing else, the activation
// goes into the Conv instead (a FusedConv, onnx_fusion.h).

// The weft node producing `t` (null for a non-ok tensor).
const Node* Producer(const Tensor& t) { return t.ok() ? t.node() : nullptr; }

bool SameTensor(const Tensor& a, const Tensor& b) {
  return a.ok() && b.ok() && a.node() == b.node() && a.index() == b.index();
}

// Input `i` of weft node `n`, as a tensor of `g`.
Tensor InputOf(const Graph& g, const Node& n, int i) {
  const NodeInput& in = n.inputs()[i];
  return g.output(*g.node(in.node), in.slot);
}

// Whether `t` is a one-element float constant equal to `v`, of rank at
// most `rank` (so broadcasting it changes no shape).
bool IsConstScalar(const Tensor& t, double v, int rank) {
  const Node* n = Producer(t);
  if (n == nullptr || n->op() != "Const") return false;
  const auto* a = FindAttr<NDArray>(n->attrs(), "value");
  if (a == nullptr || a->num_elements() != 1 || a->shape().rank() > rank) {
    return false;
  }
  if (a->dtype() == DType::kFloat32) return a->values<float>()[0] == v;
  if (a->dtype() == DType::kFloat64) return a->values<double>()[0] == v;
  return false;
}

// If `t` is binary op `op` of a tensor and the constant `v` (either order),
// that tensor.
std::optional<Tensor> MatchWithConst(const Graph& g, const Tensor& t,
                                     std::string_view op, double v) {
  const Node* n = Producer(t);
  if (n == nullptr || n->op() != op || n->inputs().size() != 2) {
    return std::nullopt;
  }
  const int rank = t.shape().rank();
  for (int i = 0; i < 2; ++i) {
    if (IsConstScalar(InputOf(g, *n, 1 - i), v, rank)) {
      Tensor x = InputOf(g, *n, i);
      if (x.shape() == t.shape()) return x;
    }
  }
  return std::nullopt;
}

// If `t` is Minimum(Maximum(Add(x, 3), 0), 6) (Clip(x + 3, 0, 6)), x;
// `chain` gets t and the values between it and x.
std::optional<Tensor> MatchClippedPlus3(const Graph& g, const Tensor& t,
                                        std::vector<Tensor>& chain) {
  std::optional<Tensor> max = MatchWithConst(g, t, "Minimum", 6);
  if (!max) return std::nullopt;
  std::optional<Tensor> add = MatchWithConst(g, *max, "Maximum", 0);
  if (!add) return std::nullopt;
  chain.insert(chain.end(), {t, *max, *add});
  return MatchWithConst(g, *add, "Add", 3);
}

// Whether every value of a matched chain is used by its next link only
// (or is no ONNX value at all: an op a converter added on the way), so
// fusing the chain into a Conv leaves none of it needed.
bool UsedOnlyInChain(const NodeContext& c, const std::vector<Tensor>& chain) {
  for (const Tensor& t : chain) {
    if (c.OnnxUses(t) > 1) return false;
  }
  return true;
}

// The activation `epilogue` of x, fused into the Conv producing x when x
// has `uses` uses and the chain between them no other (onnx_fusion.h),
// else as the weft op `op`.
absl::StatusOr<Tensor> ActivationOf(NodeContext& c, const Tensor& x,
                                    const std::vector<Tensor>& chain, int uses,
                                    std::string_view op,
                                    const ConvEpilogue& epilogue,
                                    AttrMap attrs = {}) {
  if (UsedOnlyInChain(c, chain)) {
    ASSIGN_OR_RETURN_ONNX(std::optional<Tensor> fused,
                          FuseActivationIntoConv(c, x, epilogue, uses));
    if (fused) return *fused;
  }
  return c.Op(op, {x}, std::move(attrs));
}

// Div(Clip(x + 3, 0, 6), 6) -> HardSigmoid(x; 1/6, 0.5);
// Div(Mul(x, Clip(x + 3, 0, 6)), 6) (either order of the Mul) ->
// HardSwish(x).
absl::StatusOr<std::optional<Tensor>> FuseDiv(NodeContext& c, const Tensor& num,
                                              const Tensor& den) {
  if (!IsFloating(num.dtype()) || !IsConstScalar(den, 6, num.shape().rank())) {
    return std::nullopt;
  }
  const Graph& g = c.graph();
  std::vector<Tensor> chain;
  if (std::optional<Tensor> x = MatchClippedPlus3(g, num, chain)) {
    ASSIGN_OR_RETURN_ONNX(
        Tensor h,
        ActivationOf(
            c, *x, chain, 1, "HardSigmoid",
            {.activation = "HardSigmoid", .alpha = 1.0 / 6.0, .beta = 0.5},
            {{"alpha", 1.0 / 6.0}, {"beta", 0.5}}));
    return h;
  }
  const Node* mul = Producer(num);
  if (mul == nullptr || mul->op() != "Mul" || mul->inputs().size() != 2) {
    return std::nullopt;
  }
  for (int i = 0; i < 2; ++i) {
    const Tensor x = InputOf(g, *mul, i);
    chain.assign(1, num);
    std::optional<Tensor> inner =
        MatchClippedPlus3(g, InputOf(g, *mul, 1 - i), chain);
    if (inner && SameTensor(*inner, x) && x.shape() == num.shape()) {
      // x has two uses: the Add and the Mul.
      ASSIGN_OR_RETURN_ONNX(Tensor y,
                            ActivationOf(c, x, chain, 2, "HardSwish",
                                         {.activation = "HardSwish"}));
      return y;
    }
  }
  return std::nullopt;
}

// Mul(x, HardSigmoid(x; 1/6, 0.5)) (either order) -> HardSwish(x).
absl::StatusOr<std::optional<Tensor>> FuseHardSwish(NodeContext& c,
                                                    const Tensor& a,
                                                    const Tensor& b) {
  const Graph& g = c.graph();
  for (const auto& [x, h] : {std::pair(a, b), std::pair(b, a)}) {
    const Node* n = Producer(h);
    if (n == nullptr || n->op() != "HardSigmoid") continue;
    const auto* alpha = FindAttr<double>(n->attrs(), "alpha");
    const auto* beta = FindAttr<double>(n->attrs(), "beta");
    if (alpha == nullptr || beta == nullptr || *alpha != 1.0 / 6.0 ||
        *beta != 0.5 || !SameTensor(InputOf(g, *n, 0), x)) {
      continue;
    }
    // x has two uses: the HardSigmoid's and this Mul's.
    ASSIGN_OR_RETURN_ONNX(Tensor y, ActivationOf(c, x, {h}, 2, "HardSwish",
                                                 {.activation = "HardSwish"}));
    return y;
  }
  return std::nullopt;
}

// Add(x, Mul(x, s)) (either order of either op), s smaller than x and
// broadcast over it (a squeeze-and-excitation block's residual), ->
// Mul(x, Add(s, 1)): one pass over x instead of two.
absl::StatusOr<std::optional<Tensor>> FuseResidualScale(NodeContext& c,
                                                        const Tensor& a,
                                                        const Tensor& b) {
  const Graph& g = c.graph();
  for (const auto& [x, m] : {std::pair(a, b), std::pair(b, a)}) {
    const Node* n = Producer(m);
    if (n == nullptr || n->op() != "Mul" || n->inputs().size() != 2 ||
        c.OnnxUses(m) > 1 || !IsFloating(x.dtype()) ||
        !x.shape().IsFullyDefined() || m.shape() != x.shape()) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      const Tensor s = InputOf(g, *n, 1 - i);
      if (!SameTensor(InputOf(g, *n, i), x) || !s.shape().IsFullyDefined() ||
          s.shape().num_elements() >= x.shape().num_elements()) {
        continue;
      }
      ASSIGN_OR_RETURN_ONNX(Tensor one, c.Scalar(x.dtype(), 1));
      ASSIGN_OR_RETURN_ONNX(Tensor s1, c.Op("Add", {s, one}));
      ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Mul", {x, s1}));
      return y;
    }
  }
  return std::nullopt;
}

absl::Status Binary(NodeContext& c, std::string_view op) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.input(1));
  ASSIGN_OR_RETURN_ONNX(y, LegacyBroadcast(c, x, y));
  if (op == "Div" || op == "Mul" || op == "Add") {
    absl::StatusOr<std::optional<Tensor>> fused =
        op == "Div"   ? FuseDiv(c, x, y)
        : op == "Mul" ? FuseHardSwish(c, x, y)
                      : FuseResidualScale(c, x, y);
    if (!fused.ok()) return fused.status();
    if (fused->has_value()) {
      c.SetOutput(0, **fused);
      return absl::OkStatus();
    }
  }
  // A Conv's output times, plus, minus or over a constant that is one
  // value or one per channel: folded into the Conv (onnx_fusion.h).
  for (int i = 0; i < 2 && c.opset() >= 7; ++i) {
    const NDArray* k = c.constant(1 - i);
    if (k == nullptr) continue;
    ASSIGN_OR_RETURN_ONNX(
        std::optional<Tensor> folded,
        FoldBinaryIntoConv(c, op, i == 0 ? x : y, *k, /*k_first=*/i == 1));
    if (folded) {
      c.SetOutput(0, *folded);
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN_ONNX(Tensor z, c.Op(op, {x, y}));
  c.SetOutput(0, z);
  return absl::OkStatus();
}

// Max, Min, Sum, Mean: a left fold of the binary op over every input.
absl::Status Variadic(NodeContext& c, std::string_view op, bool mean) {
  ASSIGN_OR_RETURN_ONNX(Tensor acc, c.input(0));
  for (int i = 1; i < c.num_inputs(); ++i) {
    ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(i));
    ASSIGN_OR_RETURN_ONNX(acc, c.Op(op, {acc, x}));
  }
  if (mean && c.num_inputs() > 1) {
    ASSIGN_OR_RETURN_ONNX(Tensor n, c.Scalar(c.dtype(0), c.num_inputs()));
    ASSIGN_OR_RETURN_ONNX(acc, c.Op("Div", {acc, n}));
  } else if (c.num_inputs() == 1) {
    ASSIGN_OR_RETURN_ONNX(acc, c.Op("Identity", {acc}));
  }
  c.SetOutput(0, acc);
  return absl::OkStatus();
}

absl::Status Pow(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.input(1));
  ASSIGN_OR_RETURN_ONNX(y, LegacyBroadcast(c, x, y));
  if (y.dtype() != x.dtype()) {
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Cast", {y}, {{"dtype", x.dtype()}}));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor z, c.Op("Pow", {x, y}));
  c.SetOutput(0, z);
  return absl::OkStatus();
}

absl::Status Mod(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor z,
                        c.Op("Mod", {x, y}, {{"fmod", c.Int("fmod", 0) != 0}}));
  c.SetOutput(0, z);
  return absl::OkStatus();
}

// Select(x < 0, neg(x), x) — LeakyRelu, PRelu, Elu and Selu's shape.
absl::StatusOr<Tensor> WhereNegative(NodeContext& c, const Tensor& x,
                                     const Tensor& negative, bool or_zero) {
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(x.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(Tensor cond,
                        c.Op(or_zero ? "LessEqual" : "Less", {x, zero}));
  return c.Op("Select", {cond, negative, x});
}

absl::Status LeakyRelu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const double slope = c.Float("alpha", 0.01f);
  ASSIGN_OR_RETURN_ONNX(
      bool fused,
      SetFusedActivation(c, x, {.activation = "LeakyRelu", .alpha = slope}));
  if (fused) return absl::OkStatus();
  ASSIGN_OR_RETURN_ONNX(Tensor alpha, c.Scalar(x.dtype(), slope));
  ASSIGN_OR_RETURN_ONNX(Tensor neg, c.Op("Mul", {x, alpha}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, WhereNegative(c, x, neg, false));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status PRelu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor slope, c.input(1));
  // Before opset 7 a 1-D slope of length C is per channel (axis 1).
  const Shape& xs = x.shape();
  if (c.opset() < 7 && slope.shape().rank() == 1 && xs.rank() > 2 &&
      slope.shape().dim(0) == xs.dim(1) && slope.shape().dim(0) > 1) {
    std::vector<int64_t> dims(xs.rank() - 1, 1);
    dims[0] = xs.dim(1);
    ASSIGN_OR_RETURN_ONNX(slope, ReshapeLike(c, slope, Shape(dims)));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor neg, c.Op("Mul", {x, slope}));
  // Select broadcasts, but its output takes the broadcast shape: ONNX's
  // slope broadcasts to x ("unidirectional"), so x's shape wins anyway.
  ASSIGN_OR_RETURN_ONNX(Tensor y, WhereNegative(c, x, neg, false));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// alpha * (exp(x) - 1)
absl::StatusOr<Tensor> ExpM1Scaled(NodeContext& c, const Tensor& x,
                                   double alpha) {
  ASSIGN_OR_RETURN_ONNX(Tensor e, c.Op("Exp", {x}));
  ASSIGN_OR_RETURN_ONNX(Tensor one, c.Scalar(x.dtype(), 1));
  ASSIGN_OR_RETURN_ONNX(Tensor em1, c.Op("Sub", {e, one}));
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.Scalar(x.dtype(), alpha));
  return c.Op("Mul", {em1, a});
}

absl::Status Elu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor neg, ExpM1Scaled(c, x, c.Float("alpha", 1.0f)));
  ASSIGN_OR_RETURN_ONNX(Tensor y, WhereNegative(c, x, neg, false));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Selu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const double alpha = c.Float("alpha", 1.67326319217681884765625f);
  const double gamma = c.Float("gamma", 1.05070102214813232421875f);
  ASSIGN_OR_RETURN_ONNX(Tensor neg, ExpM1Scaled(c, x, alpha));
  ASSIGN_OR_RETURN_ONNX(Tensor y, WhereNegative(c, x, neg, true));
  ASSIGN_OR_RETURN_ONNX(Tensor g, c.Scalar(x.dtype(), gamma));
  ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {y, g}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
absl::Status Celu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const double alpha = c.Float("alpha", 1.0f);
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.Scalar(x.dtype(), alpha));
  ASSIGN_OR_RETURN_ONNX(Tensor xa, c.Op("Div", {x, a}));
  ASSIGN_OR_RETURN_ONNX(Tensor neg, ExpM1Scaled(c, xa, alpha));
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(x.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(Tensor pos, c.Op("Maximum", {x, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor negm, c.Op("Minimum", {neg, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Add", {pos, negm}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status ThresholdedRelu(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor alpha,
                        c.Scalar(x.dtype(), c.Float("alpha", 1.0f)));
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(x.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(Tensor cond, c.Op("Greater", {x, alpha}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Select", {cond, x, zero}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// clamp(alpha * x + beta, 0, 1)
absl::StatusOr<Tensor> HardSigmoidOf(NodeContext& c, const Tensor& x,
                                     double alpha, double beta) {
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.Scalar(x.dtype(), alpha));
  ASSIGN_OR_RETURN_ONNX(Tensor b, c.Scalar(x.dtype(), beta));
  ASSIGN_OR_RETURN_ONNX(Tensor ax, c.Op("Mul", {x, a}));
  ASSIGN_OR_RETURN_ONNX(Tensor axb, c.Op("Add", {ax, b}));
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(x.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(Tensor one, c.Scalar(x.dtype(), 1));
  ASSIGN_OR_RETURN_ONNX(Tensor lo, c.Op("Maximum", {axb, zero}));
  return c.Op("Minimum", {lo, one});
}

// HardSigmoid and HardSwish are weft ops (one pass) for float32/float64,
// composed from Mul, Add, Maximum and Minimum for other dtypes.
absl::Status HardSigmoid(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const double alpha = c.Float("alpha", 0.2f), beta = c.Float("beta", 0.5f);
  Tensor y;
  if (IsFloating(x.dtype())) {
    ASSIGN_OR_RETURN_ONNX(
        y, ActivationOf(
               c, x, {}, 1, "HardSigmoid",
               {.activation = "HardSigmoid", .alpha = alpha, .beta = beta},
               {{"alpha", alpha}, {"beta", beta}}));
  } else {
    ASSIGN_OR_RETURN_ONNX(y, HardSigmoidOf(c, x, alpha, beta));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status HardSwish(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  Tensor y;
  if (IsFloating(x.dtype())) {
    ASSIGN_OR_RETURN_ONNX(
        y, ActivationOf(c, x, {}, 1, "HardSwish", {.activation = "HardSwish"}));
  } else {
    ASSIGN_OR_RETURN_ONNX(Tensor h, HardSigmoidOf(c, x, 1.0 / 6.0, 0.5));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {x, h}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Softsign(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.Op("Abs", {x}));
  ASSIGN_OR_RETURN_ONNX(Tensor one, c.Scalar(x.dtype(), 1));
  ASSIGN_OR_RETURN_ONNX(Tensor d, c.Op("Add", {a, one}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Div", {x, d}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status Shrink(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const double lambd = c.Float("lambd", 0.5f), bias = c.Float("bias", 0.0f);
  ASSIGN_OR_RETURN_ONNX(Tensor l, c.Scalar(x.dtype(), lambd));
  ASSIGN_OR_RETURN_ONNX(Tensor nl, c.Scalar(x.dtype(), -lambd));
  ASSIGN_OR_RETURN_ONNX(Tensor b, c.Scalar(x.dtype(), bias));
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Scalar(x.dtype(), 0));
  ASSIGN_OR_RETURN_ONNX(Tensor lo, c.Op("Less", {x, nl}));
  ASSIGN_OR_RETURN_ONNX(Tensor hi, c.Op("Greater", {x, l}));
  ASSIGN_OR_RETURN_ONNX(Tensor xpb, c.Op("Add", {x, b}));
  ASSIGN_OR_RETURN_ONNX(Tensor xmb, c.Op("Sub", {x, b}));
  ASSIGN_OR_RETURN_ONNX(Tensor upper, c.Op("Select", {hi, xmb, zero}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Select", {lo, xpb, upper}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// Clip: bounds are attributes before opset 11, optional inputs from 11.
absl::Status Clip(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.input(0));
  const DType dt = y.dtype();
  // Both bounds known at import (Relu6 and the like) fuse into a Conv.
  std::optional<double> lo, hi;
  if (c.opset() < 11) {
    if (c.has_attr("min")) lo = c.Float("min", 0);
    if (c.has_attr("max")) hi = c.Float("max", 0);
  } else {
    for (int i : {1, 2}) {
      const NDArray* b = c.has_input(i) ? c.constant(i) : nullptr;
      if (b != nullptr && b->num_elements() == 1 && IsFloating(b->dtype())) {
        (i == 1 ? lo : hi) = ToDoubles(*b)[0];
      }
    }
  }
  if (lo && hi && std::isfinite(*lo) && std::isfinite(*hi) && *lo <= *hi) {
    ASSIGN_OR_RETURN_ONNX(
        bool fused,
        SetFusedActivation(c, y,
                           {.activation = "Clip", .alpha = *lo, .beta = *hi}));
    if (fused) return absl::OkStatus();
  }
  bool clipped = false;
  auto bound = [&](std::string_view op, std::string_view attr,
                   int input) -> absl::Status {
    Tensor b;
    if (c.opset() < 11 && c.has_attr(attr)) {
      ASSIGN_OR_RETURN_ONNX(b, c.Scalar(dt, c.Float(attr, 0)));
    } else if (c.opset() >= 11 && c.has_input(input)) {
      ASSIGN_OR_RETURN_ONNX(b, c.input(input));
    } else {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN_ONNX(y, c.Op(op, {y, b}));
    clipped = true;
    return absl::OkStatus();
  };
  if (absl::Status s = bound("Maximum", "min", 1); !s.ok()) return s;
  if (absl::Status s = bound("Minimum", "max", 2); !s.ok()) return s;
  if (!clipped) {
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Identity", {y}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ------------------------------------------------------------ softmax --

// Softmax, LogSoftmax: from opset 13 over one axis; before, over the
// flattened trailing dims from `axis` (default 1).
absl::Status SoftmaxLike(NodeContext& c, std::string_view op) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const int rank = x.shape().rank();
  int64_t axis = c.Int("axis", c.opset() >= 13 ? -1 : 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= std::max(rank, 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "axis ", c.Int("axis", 0), " is out of range for rank ", rank));
  }
  if (c.opset() >= 13 || axis == rank - 1) {
    ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op(op, {x}, {{"axis", axis}}));
    c.SetOutput(0, y);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN_ONNX(Shape flat, Flatten2D(c, x.shape(), axis));
  ASSIGN_OR_RETURN_ONNX(Tensor x2, c.Op("Reshape", {x}, {{"shape", flat}}));
  ASSIGN_OR_RETURN_ONNX(Tensor y2, c.Op(op, {x2}, {{"axis", int64_t{-1}}}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, ReshapeLike(c, y2, x.shape()));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ---------------------------------------------------------- reduction --

// The reduced axes: the `axes` attribute (opsets before 18, and before 13
// for ReduceSum) or input 1; empty = every axis unless
// noop_with_empty_axes.
absl::StatusOr<std::vector<int64_t>> ReduceAxes(NodeContext& c, int rank,
                                                bool axes_input) {
  std::vector<int64_t> axes;
  if (axes_input) {
    if (c.has_input(1)) {
      ASSIGN_OR_RETURN_ONNX(axes, c.ConstInts(1, "axes"));
    }
  } else {
    axes = c.Ints("axes");
  }
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("axis ", a, " is out of range for rank ", rank));
    }
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

enum class ReduceKind { kPlain, kSumSquare, kL1, kL2, kLogSum, kLogSumExp };

absl::Status Reduce(NodeContext& c, std::string_view op, ReduceKind kind) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  const int rank = x.shape().rank();
  const bool axes_input =
      c.op_type() == "ReduceSum" ? c.opset() >= 13 : c.opset() >= 18;
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> axes,
                        ReduceAxes(c, rank, axes_input));
  const bool keep = c.Int("keepdims", 1) != 0;
  const bool noop_empty = c.Int("noop_with_empty_axes", 0) != 0;
  if (axes.empty() && noop_empty) {
    ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Identity", {x}));
    c.SetOutput(0, y);
    return absl::OkStatus();
  }
  if (axes.empty()) {
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (kind == ReduceKind::kSumSquare || kind == ReduceKind::kL2) {
    ASSIGN_OR_RETURN_ONNX(x, c.Op("Mul", {x, x}));
  } else if (kind == ReduceKind::kL1) {
    ASSIGN_OR_RETURN_ONNX(x, c.Op("Abs", {x}));
  } else if (kind == ReduceKind::kLogSumExp) {
    ASSIGN_OR_RETURN_ONNX(x, c.Op("Exp", {x}));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op(op, {x}, {{"axes", axes}, {"keep_dims", keep}}));
  if (kind == ReduceKind::kL2) {
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Sqrt", {y}));
  } else if (kind == ReduceKind::kLogSum || kind == ReduceKind::kLogSumExp) {
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Log", {y}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status ArgReduce(NodeContext& c, std::string_view op) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  AttrMap attrs = {{"axis", c.Int("axis", 0)},
                   {"keep_dims", c.Int("keepdims", 1) != 0}};
  if (c.Int("select_last_index", 0) != 0) attrs["select_last_index"] = true;
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op(op, {x}, std::move(attrs)));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

absl::Status CumSum(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> axis, c.ConstInts(1, "axis"));
  if (axis.size() != 1) {
    return absl::InvalidArgumentError("axis must hold one value");
  }
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("CumSum", {x},
                             {{"axis", axis[0]},
                              {"exclusive", c.Int("exclusive", 0) != 0},
                              {"reverse", c.Int("reverse", 0) != 0}}));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// ------------------------------------------------------------ linalg --

// ONNX MatMul: numpy semantics (1-D operands gain and lose a dim; batch
// dims broadcast).
// x << y as x * 2^y, x >> y as x / 2^y (the unsigned operands are never
// negative, so the division floors); on uint8 the importer runs it in
// int32 and casts back, so a left shift wraps.
absl::Status BitShift(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor y, c.input(1));
  const std::string direction = c.String("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return c.Unsupported(
        absl::StrCat("attribute 'direction' = '", direction, "'"));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor two, c.Scalar(x.dtype(), 2));
  ASSIGN_OR_RETURN_ONNX(Tensor scale, c.Op("Pow", {two, y}));
  ASSIGN_OR_RETURN_ONNX(Tensor z,
                        c.Op(direction == "LEFT" ? "Mul" : "Div", {x, scale}));
  c.SetOutput(0, z);
  return absl::OkStatus();
}

// ONNX MatMul's semantics (numpy matmul: 1-D operands promoted and their
// axis dropped again, batch dims broadcast) on weft's MatMul/BatchMatMul.
absl::StatusOr<Tensor> OnnxMatMul(NodeContext& c, Tensor a, Tensor b) {
  const int ra = a.shape().rank(), rb = b.shape().rank();
  if (ra == 0 || rb == 0) {
    return absl::InvalidArgumentError("MatMul operands must have rank >= 1");
  }
  if (ra == 1) {
    ASSIGN_OR_RETURN_ONNX(
        a, c.Op("Reshape", {a}, {{"shape", Shape{1, a.shape().dim(0)}}}));
  }
  if (rb == 1) {
    ASSIGN_OR_RETURN_ONNX(
        b, c.Op("Reshape", {b}, {{"shape", Shape{b.shape().dim(0), 1}}}));
  }
  const bool plain = a.shape().rank() == 2 && b.shape().rank() == 2;
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op(plain ? "MatMul" : "BatchMatMul", {a, b},
                             {{"transpose_a", false}, {"transpose_b", false}}));
  if (ra == 1 || rb == 1) {
    std::vector<int64_t> dims = y.shape().dims();
    if (ra == 1) dims.erase(dims.end() - 2);
    if (rb == 1) dims.pop_back();
    ASSIGN_OR_RETURN_ONNX(y, ReshapeLike(c, y, Shape(dims)));
  }
  return y;
}

absl::Status MatMul(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor b, c.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor y, OnnxMatMul(c, a, b));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// (A - a_zero_point) x (B - b_zero_point) in int32, from the node's inputs
// `a`, `a_zp`, `b`, `b_zp` (zero points per row of A, column of B).
absl::StatusOr<Tensor> IntegerMatMul(NodeContext& c, int a, int a_zp, int b,
                                     int b_zp) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, CenteredInput(c, a, a_zp, DType::kInt32, -2));
  ASSIGN_OR_RETURN_ONNX(Tensor y, CenteredInput(c, b, b_zp, DType::kInt32, -1));
  return OnnxMatMul(c, x, y);
}

absl::Status MatMulInteger(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor y, IntegerMatMul(c, 0, 2, 1, 3));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// The int32 product of the centred operands, requantized as ONNX Runtime
// does: y = saturate(round_half_even(acc * (a_scale * b_scale / y_scale)) +
// y_zero_point), the multiplier in float32.
absl::Status QLinearMatMul(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor acc, IntegerMatMul(c, 0, 2, 3, 5));
  std::vector<Tensor> scales;
  for (int i : {1, 4, 6}) {
    ASSIGN_OR_RETURN_ONNX(Tensor sc, c.input(i));
    if (sc.dtype() != DType::kFloat32 || sc.shape().num_elements() != 1) {
      return c.Unsupported("scales other than one float32 value");
    }
    scales.push_back(sc);
  }
  ASSIGN_OR_RETURN_ONNX(Tensor ab, c.Op("Mul", {scales[0], scales[1]}));
  ASSIGN_OR_RETURN_ONNX(Tensor m, c.Op("Div", {ab, scales[2]}));
  ASSIGN_OR_RETURN_ONNX(Tensor y, Requantize(c, acc, m, 7));
  c.SetOutput(0, y);
  return absl::OkStatus();
}

// alpha * op(A) op(B) + beta * C
absl::Status Gemm(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Tensor a, c.input(0));
  ASSIGN_OR_RETURN_ONNX(Tensor b, c.input(1));
  const double alpha = c.Float("alpha", 1.0f), beta = c.Float("beta", 1.0f);
  if (c.opset() < 7) c.Ignore("broadcast");
  ASSIGN_OR_RETURN_ONNX(Tensor y,
                        c.Op("MatMul", {a, b},
                             {{"transpose_a", c.Int("transA", 0) != 0},
                              {"transpose_b", c.Int("transB", 0) != 0}}));
  if (alpha != 1.0) {
    ASSIGN_OR_RETURN_ONNX(Tensor s, c.Scalar(y.dtype(), alpha));
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Mul", {y, s}));
  }
  if (c.has_input(2) && beta != 0.0) {
    ASSIGN_OR_RETURN_ONNX(Tensor bias, c.input(2));
    if (beta != 1.0) {
      ASSIGN_OR_RETURN_ONNX(Tensor s, c.Scalar(y.dtype(), beta));
      ASSIGN_OR_RETURN_ONNX(bias, c.Op("Mul", {bias, s}));
    }
    ASSIGN_OR_RETURN_ONNX(y, c.Op("Add", {y, bias}));
  }
  c.SetOutput(0, y);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tensor> CenteredInput(NodeContext& c, int i, int zp, DType dtype,
                                     std::optional<int> axis) {
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(i));
  if (x.dtype() != DType::kUInt8 && x.dtype() != DType::kInt8) {
    return c.Unsupported(absl::StrCat("input dtype ", DTypeName(x.dtype())));
  }
  ASSIGN_OR_RETURN_ONNX(x, c.Op("Cast", {x}, {{"dtype", dtype}}));
  if (!c.has_input(zp)) return x;
  ASSIGN_OR_RETURN_ONNX(Tensor z, c.input(zp));
  ASSIGN_OR_RETURN_ONNX(z, c.Op("Cast", {z}, {{"dtype", dtype}}));
  if (z.shape().num_elements() == 1) return c.Op("Sub", {x, z});
  const int rank = x.shape().rank();
  const int a = !axis.has_value() ? -1 : *axis < 0 ? rank + *axis : *axis;
  if (a < 0 || a >= rank || z.shape().rank() != 1 ||
      z.shape().dim(0) != x.shape().dim(a)) {
    return c.Unsupported(absl::StrCat(
        "zero point ", z.shape().DebugString(), " for input ",
        x.shape().DebugString(),
        axis.has_value()
            ? absl::StrCat(" (one value, or one per index of axis ", *axis, ")")
            : " (one value)"));
  }
  std::vector<int64_t> dims(rank - a, 1);  // Broadcasts from axis a on.
  dims[0] = z.shape().dim(0);
  ASSIGN_OR_RETURN_ONNX(z, c.Op("Reshape", {z}, {{"shape", Shape(dims)}}));
  return c.Op("Sub", {x, z});
}

void RegisterCoreConverters(absl::flat_hash_map<std::string, Converter>& t) {
  // One weft op of the same meaning.
#define WEFT_ONNX_UNARY(Onnx, Weft) \
  t[#Onnx] = [](NodeContext& c) { return Unary(c, #Weft); };
  WEFT_ONNX_UNARY(Abs, Abs)
  WEFT_ONNX_UNARY(Neg, Neg)
  WEFT_ONNX_UNARY(Exp, Exp)
  WEFT_ONNX_UNARY(Log, Log)
  WEFT_ONNX_UNARY(Sqrt, Sqrt)
  WEFT_ONNX_UNARY(Relu, Relu)
  WEFT_ONNX_UNARY(Sigmoid, Sigmoid)
  WEFT_ONNX_UNARY(Tanh, Tanh)
  WEFT_ONNX_UNARY(Erf, Erf)
  WEFT_ONNX_UNARY(Softplus, Softplus)
  WEFT_ONNX_UNARY(Floor, Floor)
  WEFT_ONNX_UNARY(Ceil, Ceil)
  WEFT_ONNX_UNARY(Round, Round)
  WEFT_ONNX_UNARY(Sin, Sin)
  WEFT_ONNX_UNARY(Cos, Cos)
  WEFT_ONNX_UNARY(Tan, Tan)
  WEFT_ONNX_UNARY(Asin, Asin)
  WEFT_ONNX_UNARY(Acos, Acos)
  WEFT_ONNX_UNARY(Atan, Atan)
  WEFT_ONNX_UNARY(Sinh, Sinh)
  WEFT_ONNX_UNARY(Cosh, Cosh)
  WEFT_ONNX_UNARY(Asinh, Asinh)
  WEFT_ONNX_UNARY(Acosh, Acosh)
  WEFT_ONNX_UNARY(Atanh, Atanh)
  WEFT_ONNX_UNARY(Reciprocal, Reciprocal)
  WEFT_ONNX_UNARY(Sign, Sign)
  WEFT_ONNX_UNARY(IsNaN, IsNaN)
  WEFT_ONNX_UNARY(Not, LogicalNot)
  WEFT_ONNX_UNARY(Identity, Identity)
#undef WEFT_ONNX_UNARY
#define WEFT_ONNX_BINARY(Onnx, Weft) \
  t[#Onnx] = [](NodeContext& c) { return Binary(c, #Weft); };
  WEFT_ONNX_BINARY(Add, Add)
  WEFT_ONNX_BINARY(Sub, Sub)
  WEFT_ONNX_BINARY(Mul, Mul)
  WEFT_ONNX_BINARY(Div, Div)
  WEFT_ONNX_BINARY(Equal, Equal)
  WEFT_ONNX_BINARY(Greater, Greater)
  WEFT_ONNX_BINARY(GreaterOrEqual, GreaterEqual)
  WEFT_ONNX_BINARY(Less, Less)
  WEFT_ONNX_BINARY(LessOrEqual, LessEqual)
  WEFT_ONNX_BINARY(And, LogicalAnd)
  WEFT_ONNX_BINARY(Or, LogicalOr)
  WEFT_ONNX_BINARY(Xor, LogicalXor)
#undef WEFT_ONNX_BINARY
  t["Max"] = [](NodeContext& c) { return Variadic(c, "Maximum", false); };
  t["Min"] = [](NodeContext& c) { return Variadic(c, "Minimum", false); };
  t["Sum"] = [](NodeContext& c) { return Variadic(c, "Add", false); };
  t["Mean"] = [](NodeContext& c) { return Variadic(c, "Add", true); };
  t["Pow"] = Pow;
  t["BitShift"] = BitShift;
  t["Mod"] = Mod;
  t["IsInf"] = [](NodeContext& c) {
    ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
    ASSIGN_OR_RETURN_ONNX(
        Tensor y,
        c.Op("IsInf", {x},
             {{"detect_positive", c.Int("detect_positive", 1) != 0},
              {"detect_negative", c.Int("detect_negative", 1) != 0}}));
    c.SetOutput(0, y);
    return absl::OkStatus();
  };
  t["LeakyRelu"] = LeakyRelu;
  t["PRelu"] = PRelu;
  t["Elu"] = Elu;
  t["Selu"] = Selu;
  t["Celu"] = Celu;
  t["ThresholdedRelu"] = ThresholdedRelu;
  t["HardSigmoid"] = HardSigmoid;
  t["HardSwish"] = HardSwish;
  t["Softsign"] = Softsign;
  t["Shrink"] = Shrink;
  t["Clip"] = Clip;
  t["Softmax"] = [](NodeContext& c) { return SoftmaxLike(c, "Softmax"); };
  t["LogSoftmax"] = [](NodeContext& c) { return SoftmaxLike(c, "LogSoftmax"); };
#define WEFT_ONNX_REDUCE(Onnx, Weft, Kind) \
  t[#Onnx] = [](NodeContext& c) { return Reduce(c, #Weft, ReduceKind::Kind); };
  WEFT_ONNX_REDUCE(ReduceSum, ReduceSum, kPlain)
  WEFT_ONNX_REDUCE(ReduceMean, ReduceMean, kPlain)
  WEFT_ONNX_REDUCE(ReduceMax, ReduceMax, kPlain)
  WEFT_ONNX_REDUCE(ReduceMin, ReduceMin, kPlain)
  WEFT_ONNX_REDUCE(ReduceProd, ReduceProd, kPlain)
  WEFT_ONNX_REDUCE(ReduceSumSquare, ReduceSum, kSumSquare)
  WEFT_ONNX_REDUCE(ReduceL1, ReduceSum, kL1)
  WEFT_ONNX_REDUCE(ReduceL2, ReduceSum, kL2)
  WEFT_ONNX_REDUCE(ReduceLogSum, ReduceSum, kLogSum)
  WEFT_ONNX_REDUCE(ReduceLogSumExp, ReduceSum, kLogSumExp)
#undef WEFT_ONNX_REDUCE
  t["ArgMax"] = [](NodeContext& c) { return ArgReduce(c, "ArgMax"); };
  t["ArgMin"] = [](NodeContext& c) { return ArgReduce(c, "ArgMin"); };
  t["CumSum"] = CumSum;
  t["MatMul"] = MatMul;
  t["Gemm"] = Gemm;
  t["MatMulInteger"] = MatMulInteger;
  t["QLinearMatMul"] = QLinearMatMul;
  t["Det"] = [](NodeContext& c) -> absl::Status {
    ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
    ASSIGN_OR_RETURN_ONNX(Tensor y, c.Op("Det", {x}));
    c.SetOutput(0, y);
    return absl::OkStatus();
  };
  RegisterArrayConverters(t);
}

}  // namespace onnx_internal
}  // namespace weft
