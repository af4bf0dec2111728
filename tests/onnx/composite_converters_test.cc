// The ONNX converters of interop/onnx_composite_converters.cc (the losses,
// Hardmax, OneHot, Einsum): one-node models built here, imported with
// ImportOnnxBytes, run, and compared with references computed in the test.
// ONNX's backend cases (//tests/onnx:onnx_backend_test) cover the ops too;
// these add what they lack: out-of-range ignored targets, ties, old opsets,
// depth known at import and not, and more Einsum forms (implicit output,
// ellipsis broadcasting, three operands, integers, traces).
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "gtest/gtest.h"
#include "interop/onnx_import.h"
#include "interop/onnx_tensor.h"
#include "onnx/onnx_pb.h"
#include "runtime/session.h"
#include "tests/onnx/one_node_model.h"

namespace weft {
namespace {

NDArray F32(std::vector<float> v, Shape s) {
  return *NDArray::Create<float>(v, std::move(s));
}
NDArray F64(std::vector<double> v, Shape s) {
  return *NDArray::Create<double>(v, std::move(s));
}
NDArray I64(std::vector<int64_t> v, Shape s) {
  return *NDArray::Create<int64_t>(v, std::move(s));
}

// Deterministic values in [-2, 2) (no ties unless asked for).
std::vector<double> Ramp(int64_t n, int seed = 0) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) {
    v.push_back(((i * 37 + seed * 11 + 5) % 97) / 24.25 - 2.0);
  }
  return v;
}

NDArray Typed(DType d, const std::vector<double>& v, const Shape& s) {
  switch (d) {
    case DType::kFloat32:
      return F32(std::vector<float>(v.begin(), v.end()), s);
    case DType::kFloat64:
      return F64(v, s);
    case DType::kInt64: {
      std::vector<int64_t> i;
      for (double x : v) i.push_back(int64_t(std::llround(x)));
      return I64(i, s);
    }
    case DType::kInt32: {
      std::vector<int32_t> i;
      for (double x : v) i.push_back(int32_t(std::lround(x)));
      return *NDArray::Create<int32_t>(i, s);
    }
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8:
    case DType::kFloat16:
      break;
  }
  ADD_FAILURE() << "no Typed for " << DTypeName(d);
  return F32({}, Shape{0});
}

using onnx_internal::ToDoubles;
using testing::FillTensor;
using testing::OneNode;
using testing::OnnxType;

void ExpectNear(const NDArray& got, DType dtype, const Shape& shape,
                const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), dtype) << what;
  ASSERT_EQ(got.shape(), shape) << what << ": " << got.shape().DebugString();
  std::vector<double> g = ToDoubles(got);
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << what << " [" << i << "]";
      continue;
    }
    EXPECT_NEAR(g[i], want[i], 1e-5 + 1e-4 * std::abs(want[i]))
        << what << " [" << i << "]";
  }
}

// ----------------------------------------------------------------- losses --

struct LossCase {
  std::string reduction;
  bool weighted;
  bool has_ii;
  int64_t ii;
};

// NLL of x [N, C, D] (row-major doubles) against t [N, D], as ONNX's
// reference computes it.
std::vector<double> RefNll(const std::vector<double>& x, int64_t n, int64_t c,
                           int64_t d, const std::vector<int64_t>& t,
                           const std::vector<double>& w, const LossCase& lc) {
  std::vector<double> loss(n * d), wt(n * d);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const int64_t k = t[i * d + j];
      const bool ignored = lc.has_ii && k == lc.ii;
      wt[i * d + j] = ignored ? 0 : (lc.weighted ? w[k] : 1);
      loss[i * d + j] = ignored ? 0 : -x[(i * c + k) * d + j] * wt[i * d + j];
    }
  }
  if (lc.reduction == "none") return loss;
  double s = 0, ws = 0;
  for (size_t i = 0; i < loss.size(); ++i) {
    s += loss[i];
    ws += wt[i];
  }
  if (lc.reduction == "sum") return {s};
  return {s / ws};
}

class LossTest : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossTest, NegativeLogLikelihoodLossMatchesReference) {
  const LossCase lc = GetParam();
  const int64_t n = 3, c = 4, d = 2;
  const std::vector<double> x = Ramp(n * c * d);
  // The ignored target sits outside [0, C) when ii is, so a converter that
  // indexed with it would fail at run time.
  std::vector<int64_t> t = {0, 3, 2, 1, 1, 2};
  if (lc.has_ii) t[1] = t[4] = lc.ii;
  const std::vector<double> w = {0.5, 1.5, 2.0, 0.25};
  for (int opset : {12, 13}) {
    OneNode m("NegativeLogLikelihoodLoss", opset);
    m.Input("x", F32(std::vector<float>(x.begin(), x.end()), Shape{n, c, d}))
        .Input("t", I64(t, Shape{n, d}));
    if (lc.weighted) {
      m.Input("w", F32(std::vector<float>(w.begin(), w.end()), Shape{c}));
    }
    m.Output("loss", DType::kFloat32, lc.reduction == "none" ? 2 : 0)
        .String("reduction", lc.reduction);
    if (lc.has_ii) m.Int("ignore_index", lc.ii);
    absl::StatusOr<std::vector<NDArray>> out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status();
    const Shape shape = lc.reduction == "none" ? Shape{n, d} : Shape{};
    ExpectNear((*out)[0], DType::kFloat32, shape, RefNll(x, n, c, d, t, w, lc),
               absl::StrCat("opset ", opset));
  }
}

TEST_P(LossTest, SoftmaxCrossEntropyLossMatchesReference) {
  const LossCase lc = GetParam();
  const int64_t n = 2, c = 3, d = 3;
  const std::vector<double> x = Ramp(n * c * d, 3);
  std::vector<double> lp(x.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      double m = -1e30, s = 0;
      for (int64_t k = 0; k < c; ++k) m = std::max(m, x[(i * c + k) * d + j]);
      for (int64_t k = 0; k < c; ++k) s += std::exp(x[(i * c + k) * d + j] - m);
      for (int64_t k = 0; k < c; ++k) {
        lp[(i * c + k) * d + j] = x[(i * c + k) * d + j] - m - std::log(s);
      }
    }
  }
  std::vector<int64_t> t = {2, 0, 1, 1, 2, 0};
  if (lc.has_ii) t[0] = t[5] = lc.ii;
  const std::vector<double> w = {0.75, 2.0, 1.25};
  for (int opset : {12, 13}) {
    for (bool with_log_prob : {false, true}) {
      OneNode m("SoftmaxCrossEntropyLoss", opset);
      m.Input("x", F64(x, Shape{n, c, d})).Input("t", I64(t, Shape{n, d}));
      if (lc.weighted) m.Input("w", F64(w, Shape{c}));
      m.Output("loss", DType::kFloat64, lc.reduction == "none" ? 2 : 0)
          .String("reduction", lc.reduction);
      if (with_log_prob) m.Output("log_prob", DType::kFloat64, 3);
      if (lc.has_ii) m.Int("ignore_index", lc.ii);
      absl::StatusOr<std::vector<NDArray>> out = m.Run();
      ASSERT_TRUE(out.ok()) << out.status();
      const Shape shape = lc.reduction == "none" ? Shape{n, d} : Shape{};
      ExpectNear((*out)[0], DType::kFloat64, shape,
                 RefNll(lp, n, c, d, t, w, lc), "loss");
      if (with_log_prob) {
        ASSERT_EQ(out->size(), 2u);
        ExpectNear((*out)[1], DType::kFloat64, Shape{n, c, d}, lp, "log_prob");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Reductions, LossTest,
                         ::testing::Values(LossCase{"none", false, false, 0},
                                           LossCase{"sum", false, false, 0},
                                           LossCase{"mean", false, false, 0},
                                           LossCase{"mean", true, false, 0},
                                           LossCase{"none", true, true, -1},
                                           LossCase{"mean", false, true, 1},
                                           LossCase{"mean", true, true, 10},
                                           LossCase{"sum", true, true, -7}),
                         [](const ::testing::TestParamInfo<LossCase>& info) {
                           const LossCase& p = info.param;
                           return absl::StrCat(
                               p.reduction, p.weighted ? "_weighted" : "",
                               p.has_ii ? "_ii" : "",
                               p.has_ii && p.ii < 0 ? "neg" : "",
                               p.has_ii ? std::to_string(std::abs(p.ii)) : "");
                         });

TEST(LossTest, TwoDimensionalInputAndDefaultMean) {
  // [N, C] input, no attributes: the mean over N.
  OneNode m("NegativeLogLikelihoodLoss", 13);
  m.Input("x", F32({-1, -2, -3, -4, -5, -6}, Shape{2, 3}))
      .Input("t", I64({2, 0}, Shape{2}))
      .Output("loss", DType::kFloat32, 0);
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNear((*out)[0], DType::kFloat32, Shape{}, {(3.0 + 4.0) / 2}, "loss");
}

TEST(LossTest, UnknownReductionIsAnError) {
  OneNode m("NegativeLogLikelihoodLoss", 13);
  m.Input("x", F32({-1, -2}, Shape{1, 2}))
      .Input("t", I64({1}, Shape{1}))
      .Output("loss", DType::kFloat32, 0)
      .String("reduction", "max");
  absl::StatusOr<OnnxModel> model = m.Import();
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(absl::StrContains(model.status().message(), "reduction"))
      << model.status();
}

// ---------------------------------------------------------------- Hardmax --

TEST(HardmaxTest, FirstMaximumAlongTheAxisOpset13) {
  // [2, 3, 2] with ties along axis 1: the first maximum wins.
  const std::vector<float> x = {1, 5, 3, 5, 3, 0,  //
                                2, 2, 2, 2, 1, 9};
  struct Want {
    int64_t axis;
    std::vector<double> y;
  };
  for (const Want& w : {
           Want{1, {0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1}},
           Want{-1, {0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1}},
           Want{0, {0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1}},
       }) {
    OneNode m("Hardmax", 13);
    m.Input("x", F32(x, Shape{2, 3, 2}))
        .Output("y", DType::kFloat32, 3)
        .Int("axis", w.axis);
    absl::StatusOr<std::vector<NDArray>> out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectNear((*out)[0], DType::kFloat32, Shape{2, 3, 2}, w.y,
               absl::StrCat("axis ", w.axis));
  }
}

TEST(HardmaxTest, OldOpsetsFlattenFromTheAxis) {
  // Opset 11, default axis 1: one hardmax over the 6 trailing values of
  // each batch row (ties: first).
  const std::vector<double> x = {1, 7, 3, 7, 3, 0,  //
                                 4, 2, 2, 2, 1, 4};
  OneNode m("Hardmax", 11);
  m.Input("x", F64(x, Shape{2, 3, 2})).Output("y", DType::kFloat64, 3);
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNear((*out)[0], DType::kFloat64, Shape{2, 3, 2},
             {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, "opset 11");
  // axis 0 flattens everything into one row.
  OneNode m0("Hardmax", 11);
  m0.Input("x", F64(x, Shape{2, 3, 2}))
      .Output("y", DType::kFloat64, 3)
      .Int("axis", 0);
  out = m0.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNear((*out)[0], DType::kFloat64, Shape{2, 3, 2},
             {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "opset 11 axis 0");
}

// ----------------------------------------------------------------- OneHot --

// ONNX's reference for in-range indices: out[..., k at axis, ...] = on iff
// index (negatives + depth) == k.
std::vector<double> RefOneHot(const std::vector<int64_t>& idx,
                              const std::vector<int64_t>& dims, int64_t depth,
                              int64_t axis, double off, double on) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < int64_t(dims.size()); ++i) {
    (i < axis ? outer : inner) *= dims[i];
  }
  std::vector<double> y(outer * depth * inner, off);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t v = idx[o * inner + i];
      if (v < 0) v += depth;
      if (v >= 0 && v < depth) y[(o * depth + v) * inner + i] = on;
    }
  }
  return y;
}

TEST(OneHotTest, DepthKnownAtImportAndNot) {
  const std::vector<int64_t> idx = {1, -1, 4, 0, 9, -5};  // 9, -5: all off
  const int64_t depth = 4;
  for (int64_t axis : {-1, 0, 1, 2, -3}) {
    const int64_t norm = axis < 0 ? axis + 3 : axis;
    Shape out_shape = norm == 0   ? Shape{4, 2, 3}
                      : norm == 1 ? Shape{2, 4, 3}
                                  : Shape{2, 3, 4};
    const std::vector<double> want =
        RefOneHot(idx, {2, 3}, depth, norm, -1.5, 2.5);
    for (bool constant_depth : {true, false}) {
      OneNode m("OneHot", 11);
      m.Input("i", I64(idx, Shape{2, 3}));
      if (constant_depth) {
        m.Initializer("depth", I64({depth}, Shape{1}));
      } else {
        m.Input("depth", F32({float(depth)}, Shape{}));
      }
      m.Input("values", F32({-1.5f, 2.5f}, Shape{2}))
          .Output("y", DType::kFloat32, 3)
          .Int("axis", axis);
      absl::StatusOr<std::vector<NDArray>> out = m.Run();
      ASSERT_TRUE(out.ok()) << out.status();
      ExpectNear((*out)[0], DType::kFloat32, out_shape, want,
                 absl::StrCat("axis ", axis, constant_depth ? " const" : ""));
    }
  }
}

TEST(OneHotTest, FloatIndicesAndInt64Values) {
  OneNode m("OneHot", 11);
  m.Input("i", F32({0, 2, -1}, Shape{3}))
      .Initializer("depth", F32({3}, Shape{}))
      .Input("values", I64({0, 7}, Shape{2}))
      .Output("y", DType::kInt64, 2);
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNear((*out)[0], DType::kInt64, Shape{3, 3}, {7, 0, 0, 0, 0, 7, 0, 0, 7},
             "y");
}

// ----------------------------------------------------------------- Einsum --

// The naive einsum of letter-only `terms` into `out`: every assignment of
// the labels, the product of the operands' elements summed into out.
std::vector<double> RefEinsum(const std::vector<std::string>& terms,
                              const std::string& out,
                              const std::vector<std::vector<double>>& xs,
                              const std::vector<std::vector<int64_t>>& shapes) {
  std::map<char, int64_t> size;
  for (size_t t = 0; t < terms.size(); ++t) {
    for (size_t i = 0; i < terms[t].size(); ++i) {
      size[terms[t][i]] = shapes[t][i];
    }
  }
  std::vector<char> labels;
  for (auto& [l, n] : size) labels.push_back(l);
  int64_t out_n = 1;
  for (char l : out) out_n *= size[l];
  std::vector<double> y(out_n, 0.0);
  std::map<char, int64_t> at;
  for (char l : labels) at[l] = 0;
  auto offset = [&](const std::string& term,
                    const std::vector<int64_t>& shape) {
    int64_t o = 0;
    for (size_t i = 0; i < term.size(); ++i) o = o * shape[i] + at[term[i]];
    return o;
  };
  std::vector<int64_t> out_shape;
  for (char l : out) out_shape.push_back(size[l]);
  for (;;) {
    double p = 1;
    for (size_t t = 0; t < terms.size(); ++t) {
      p *= xs[t][offset(terms[t], shapes[t])];
    }
    y[offset(out, out_shape)] += p;
    size_t k = 0;
    for (; k < labels.size(); ++k) {
      if (++at[labels[k]] < size[labels[k]]) break;
      at[labels[k]] = 0;
    }
    if (k == labels.size()) break;
  }
  return y;
}

struct EinsumCase {
  std::string equation;
  std::vector<std::vector<int64_t>> shapes;
  // The letter-only form for the reference (terms and output).
  std::vector<std::string> ref_terms;
  std::string ref_out;
};

void CheckEinsum(const EinsumCase& e, DType dtype) {
  OneNode m("Einsum", 12);
  std::vector<std::vector<double>> xs;
  for (size_t i = 0; i < e.shapes.size(); ++i) {
    int64_t n = 1;
    for (int64_t d : e.shapes[i]) n *= d;
    std::vector<double> v = Ramp(n, int(i) + 1);
    if (dtype == DType::kInt64 || dtype == DType::kInt32) {
      for (double& x : v) x = std::round(x * 2);
    }
    xs.push_back(v);
    m.Input(absl::StrCat("x", i), Typed(dtype, v, Shape(e.shapes[i])));
  }
  m.Output("y", dtype, int(e.ref_out.size())).String("equation", e.equation);
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << e.equation << ": " << out.status();
  std::map<char, int64_t> size;
  for (size_t t = 0; t < e.ref_terms.size(); ++t) {
    for (size_t i = 0; i < e.ref_terms[t].size(); ++i) {
      size[e.ref_terms[t][i]] = e.shapes[t][i];
    }
  }
  std::vector<int64_t> out_dims;
  for (char l : e.ref_out) out_dims.push_back(size[l]);
  ExpectNear((*out)[0], dtype, Shape(out_dims),
             RefEinsum(e.ref_terms, e.ref_out, xs, e.shapes),
             absl::StrCat(e.equation, " ", DTypeName(dtype)));
}

TEST(EinsumTest, CommonForms) {
  const std::vector<EinsumCase> cases = {
      {"ij,jk->ik", {{2, 3}, {3, 4}}, {"ij", "jk"}, "ik"},
      {"ij,jk", {{2, 3}, {3, 4}}, {"ij", "jk"}, "ik"},
      {"ij,kj->ik", {{2, 3}, {4, 3}}, {"ij", "kj"}, "ik"},
      {"ji,jk->ki", {{3, 2}, {3, 4}}, {"ji", "jk"}, "ki"},
      {"bij, bjk -> bik", {{2, 2, 3}, {2, 3, 4}}, {"bij", "bjk"}, "bik"},
      {"bij,bkj->bki", {{2, 2, 3}, {2, 4, 3}}, {"bij", "bkj"}, "bki"},
      {"ij->ji", {{2, 3}}, {"ij"}, "ji"},
      {"ij->ij", {{2, 3}}, {"ij"}, "ij"},
      {"ba", {{2, 3}}, {"ba"}, "ab"},
      {"ijk->kij", {{2, 3, 4}}, {"ijk"}, "kij"},
      {"ij->i", {{2, 3}}, {"ij"}, "i"},
      {"ij->", {{2, 3}}, {"ij"}, ""},
      {"i,i", {{5}, {5}}, {"i", "i"}, ""},
      {"i,i->", {{5}, {5}}, {"i", "i"}, ""},
      {"i,j->ij", {{3}, {4}}, {"i", "j"}, "ij"},
      {"i,j", {{3}, {4}}, {"i", "j"}, "ij"},
      {"ij,j->i", {{2, 3}, {3}}, {"ij", "j"}, "i"},
      {"ijk,ikl->jl", {{2, 3, 4}, {2, 4, 2}}, {"ijk", "ikl"}, "jl"},
      {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}, {"ij", "jk", "kl"}, "il"},
      {"ij,ij->ij", {{2, 3}, {2, 3}}, {"ij", "ij"}, "ij"},
      {"ii->i", {{3, 3}}, {"ii"}, "i"},
      {"ii", {{3, 3}}, {"ii"}, ""},
      {"bii->bi", {{2, 3, 3}}, {"bii"}, "bi"},
      {"ij,jk->ki", {{2, 3}, {3, 4}}, {"ij", "jk"}, "ki"},
      {"Ab,bA->A", {{2, 3}, {3, 2}}, {"Ab", "bA"}, "A"},
  };
  for (const EinsumCase& e : cases) CheckEinsum(e, DType::kFloat32);
}

TEST(EinsumTest, Dtypes) {
  const EinsumCase matmul = {"ij,jk->ik", {{2, 3}, {3, 4}}, {"ij", "jk"}, "ik"};
  const EinsumCase sum = {"ij->j", {{2, 3}}, {"ij"}, "j"};
  for (DType d : {DType::kFloat64, DType::kInt32, DType::kInt64}) {
    CheckEinsum(matmul, d);
    CheckEinsum(sum, d);
  }
}

TEST(EinsumTest, Ellipsis) {
  // Same ranks: "...ij,...jk->...ik" is a batch matmul.
  CheckEinsum(
      {"...ij,...jk->...ik", {{2, 2, 3}, {2, 3, 4}}, {"bij", "bjk"}, "bik"},
      DType::kFloat64);
  CheckEinsum({"...ii->...i", {{2, 3, 3}}, {"bii"}, "bi"}, DType::kFloat64);
  CheckEinsum({"i...->...", {{2, 3, 4}}, {"iab"}, "ab"}, DType::kFloat32);
  CheckEinsum({"...j,j", {{2, 3}, {3}}, {"aj", "j"}, "a"}, DType::kFloat32);

  // Broadcast ellipsis: a [2, 1, 2, 3] (ellipsis [2, 1]) times b [3, 3, 4]
  // (ellipsis [3]) -> [2, 3, 2, 4].
  std::vector<double> a = Ramp(2 * 1 * 2 * 3, 1), b = Ramp(3 * 3 * 4, 2);
  OneNode m("Einsum", 12);
  m.Input("a", F32(std::vector<float>(a.begin(), a.end()), Shape{2, 1, 2, 3}))
      .Input("b", F32(std::vector<float>(b.begin(), b.end()), Shape{3, 3, 4}))
      .Output("y", DType::kFloat32, 4)
      .String("equation", "...ij,...jk->...ik");
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> want(2 * 3 * 2 * 4, 0.0);
  for (int p = 0; p < 2; ++p) {
    for (int q = 0; q < 3; ++q) {
      for (int i = 0; i < 2; ++i) {
        for (int k = 0; k < 4; ++k) {
          double s = 0;
          for (int j = 0; j < 3; ++j) {
            s += a[(p * 2 + i) * 3 + j] * b[(q * 3 + j) * 4 + k];
          }
          want[((p * 3 + q) * 2 + i) * 4 + k] = s;
        }
      }
    }
  }
  ExpectNear((*out)[0], DType::kFloat32, Shape{2, 3, 2, 4}, want,
             "broadcast ellipsis");
}

TEST(EinsumTest, BroadcastingSizeOneDims) {
  // b's batch dim is 1 against a's 3 (through "..."): not one BatchMatMul,
  // the broadcast product path.
  std::vector<double> a = Ramp(3 * 2 * 2, 4), b = Ramp(1 * 2 * 2, 5);
  OneNode m("Einsum", 12);
  m.Input("a", F64(a, Shape{3, 2, 2}))
      .Input("b", F64(b, Shape{1, 2, 2}))
      .Output("y", DType::kFloat64, 3)
      .String("equation", "...ij,...jk->...ik");
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> want(3 * 2 * 2, 0.0);
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < 2; ++i) {
      for (int k = 0; k < 2; ++k) {
        for (int j = 0; j < 2; ++j) {
          want[(p * 2 + i) * 2 + k] += a[(p * 2 + i) * 2 + j] * b[j * 2 + k];
        }
      }
    }
  }
  ExpectNear((*out)[0], DType::kFloat64, Shape{3, 2, 2}, want, "broadcast");
}

TEST(EinsumTest, MalformedEquationsAreErrors) {
  for (const char* eq : {"ij,jk->ik", "ij->k", "i.j->i", "ijk->i", "ij->ii"}) {
    OneNode m("Einsum", 12);
    m.Input("x", F32({1, 2, 3, 4, 5, 6}, Shape{2, 3}))
        .Output("y", DType::kFloat32, 1)
        .String("equation", eq);
    absl::StatusOr<OnnxModel> model = m.Import();
    EXPECT_FALSE(model.ok()) << eq;
  }
}

}  // namespace
}  // namespace weft
