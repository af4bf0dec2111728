// The ONNX converters of interop/onnx_rnn_converters.cc (RNN, GRU, LSTM):
// one-node models built here, imported with ImportOnnxBytes, run, and
// compared with a reference recurrence written from ONNX's spec (gates
// LSTM iofc with peepholes iof, GRU zrh). ONNX's backend cases cover the
// forward defaults; these add what they lack: reverse and bidirectional
// passes, initial states and peepholes together, linear_before_reset,
// clip, other activations, sequence_lens shorter than the sequence (known
// at import and not), layout 1, float64, and the refusals.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
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

NDArray Typed(DType d, const std::vector<double>& v, const Shape& s) {
  if (d == DType::kFloat64) return *NDArray::Create<double>(v, s);
  return *NDArray::Create<float>(std::vector<float>(v.begin(), v.end()), s);
}

NDArray I32(const std::vector<int32_t>& v) {
  return *NDArray::Create<int32_t>(v, Shape{static_cast<int64_t>(v.size())});
}

// Deterministic values in [-scale, scale).
std::vector<double> Ramp(int64_t n, int seed, double scale = 1.0) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) {
    v.push_back(scale * (((i * 37 + seed * 11 + 5) % 97) / 48.5 - 1.0));
  }
  return v;
}

using onnx_internal::ToDoubles;
using testing::FillTensor;
using testing::OneNode;
using testing::OnnxType;

void ExpectNear(const NDArray& got, const Shape& shape,
                const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.shape(), shape) << what << ": " << got.shape().DebugString();
  std::vector<double> g = ToDoubles(got);
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_NEAR(g[i], want[i], 1e-5 + 1e-4 * std::abs(want[i]))
        << what << " [" << i << "]";
  }
}

// ---------------------------------------------------------- reference --

enum class Cell { kRnn, kGru, kLstm };

int Gates(Cell c) { return c == Cell::kRnn ? 1 : c == Cell::kGru ? 3 : 4; }

// One RNN/GRU/LSTM node's parameters (layout 0, row-major doubles).
struct Spec {
  Cell cell = Cell::kLstm;
  std::string direction = "forward";
  int64_t seq = 3, batch = 2, input = 3, hidden = 4;
  std::vector<double> x, w, r, b, h0, c0, p;  // Empty = omitted.
  std::vector<int32_t> lens;                  // Empty = omitted.
  std::vector<std::string> acts;              // Per direction; empty = ONNX's.
  std::optional<double> clip;
  bool linear_before_reset = false;

  int64_t dirs() const { return direction == "bidirectional" ? 2 : 1; }
  int64_t gh() const { return Gates(cell) * hidden; }
};

double Act(const std::string& name, double x, std::optional<double> clip) {
  if (clip.has_value()) x = std::clamp(x, -*clip, *clip);
  if (name == "Sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (name == "Tanh") return std::tanh(x);
  if (name == "Relu") return std::max(x, 0.0);
  if (name == "Softplus") return std::log1p(std::exp(x));
  ADD_FAILURE() << "no activation " << name;
  return 0;
}

std::vector<std::string> Activations(const Spec& s) {
  if (!s.acts.empty()) return s.acts;
  std::vector<std::string> one;
  switch (s.cell) {
    case Cell::kRnn:
      one = {"Tanh"};
      break;
    case Cell::kGru:
      one = {"Sigmoid", "Tanh"};
      break;
    case Cell::kLstm:
      one = {"Sigmoid", "Tanh", "Tanh"};
      break;
  }
  std::vector<std::string> all;
  for (int64_t d = 0; d < s.dirs(); ++d) {
    all.insert(all.end(), one.begin(), one.end());
  }
  return all;
}

struct Result {
  std::vector<double> y, y_h, y_c;  // [seq, dirs, batch, H], [dirs, batch, H]
};

// Direction `d` of `s`: its weights, biases and peepholes by row (0 where
// omitted) and its activations.
class DirectionRef {
 public:
  DirectionRef(const Spec& s, int64_t d, const std::vector<std::string>& acts)
      : s_(s),
        d_(d),
        acts_(acts),
        na_(s.cell == Cell::kRnn   ? 1
            : s.cell == Cell::kGru ? 2
                                   : 3) {}

  const Spec& spec() const { return s_; }
  int64_t direction() const { return d_; }
  double W(int64_t row, int64_t k) const {
    return s_.w[(d_ * s_.gh() + row) * s_.input + k];
  }
  double R(int64_t row, int64_t k) const {
    return s_.r[(d_ * s_.gh() + row) * s_.hidden + k];
  }
  double Wb(int64_t row) const {
    return s_.b.empty() ? 0.0 : s_.b[d_ * 2 * s_.gh() + row];
  }
  double Rb(int64_t row) const {
    return s_.b.empty() ? 0.0 : s_.b[d_ * 2 * s_.gh() + s_.gh() + row];
  }
  double P(int64_t k, int64_t j) const {
    return s_.p.empty() ? 0.0 : s_.p[d_ * 3 * s_.hidden + k * s_.hidden + j];
  }
  // Activation k of this direction.
  double F(int k, double v) const {
    return Act(acts_[d_ * na_ + k], v, s_.clip);
  }

 private:
  const Spec& s_;
  const int64_t d_;
  const std::vector<std::string>& acts_;
  const int na_;  // Activations per direction.
};

// xw[row] = x . W[row] + Wb[row]; hr[row] = h . R[row] + Rb[row].
void GatePreActivations(const DirectionRef& p, const double* x,
                        const std::vector<double>& h, std::vector<double>& xw,
                        std::vector<double>& hr) {
  const int64_t H = p.spec().hidden, I = p.spec().input,
                G = Gates(p.spec().cell);
  xw.assign(G * H, 0.0);
  hr.assign(G * H, 0.0);
  for (int64_t row = 0; row < G * H; ++row) {
    double a = p.Wb(row), e = p.Rb(row);
    for (int64_t k = 0; k < I; ++k) a += x[k] * p.W(row, k);
    for (int64_t k = 0; k < H; ++k) e += h[k] * p.R(row, k);
    xw[row] = a;
    hr[row] = e;
  }
}

// GRU's new hidden state `hn` from the state `h`.
void GruStep(const DirectionRef& p, const std::vector<double>& xw,
             const std::vector<double>& hr, const std::vector<double>& h,
             std::vector<double>& hn) {
  const int64_t H = p.spec().hidden;
  std::vector<double> z(H), rg(H);
  for (int64_t j = 0; j < H; ++j) {
    z[j] = p.F(0, xw[j] + hr[j]);
    rg[j] = p.F(0, xw[H + j] + hr[H + j]);
  }
  for (int64_t j = 0; j < H; ++j) {
    double rec;
    if (p.spec().linear_before_reset) {
      rec = rg[j] * hr[2 * H + j];  // r (.) (h Rh^T + Rbh)
    } else {
      rec = p.Rb(2 * H + j);  // (r (.) h) Rh^T + Rbh
      for (int64_t k = 0; k < H; ++k) {
        rec += rg[k] * h[k] * p.R(2 * H + j, k);
      }
    }
    const double ht = p.F(1, xw[2 * H + j] + rec);
    hn[j] = (1 - z[j]) * ht + z[j] * h[j];
  }
}

// LSTM's new hidden and cell states `hn` and `cn` from the cell state `c`.
void LstmStep(const DirectionRef& p, const std::vector<double>& xw,
              const std::vector<double>& hr, const std::vector<double>& c,
              std::vector<double>& hn, std::vector<double>& cn) {
  const int64_t H = p.spec().hidden;
  for (int64_t j = 0; j < H; ++j) {
    const double ig = p.F(0, xw[j] + hr[j] + p.P(0, j) * c[j]);
    const double fg = p.F(0, xw[2 * H + j] + hr[2 * H + j] + p.P(2, j) * c[j]);
    const double cg = p.F(1, xw[3 * H + j] + hr[3 * H + j]);
    cn[j] = fg * c[j] + ig * cg;
    const double og = p.F(0, xw[H + j] + hr[H + j] + p.P(1, j) * cn[j]);
    hn[j] = og * p.F(2, cn[j]);
  }
}

// Runs batch entry `bi` through p's direction: Y for each of its steps, and
// its final Y_h and Y_c, into `out`.
void RunEntry(const DirectionRef& p, int64_t bi, Result& out) {
  const Spec& s = p.spec();
  const int64_t dirs = s.dirs(), H = s.hidden, I = s.input, d = p.direction();
  const bool reverse = s.direction == "reverse" || d == 1;
  std::vector<double> h(H, 0.0), c(H, 0.0);
  if (!s.h0.empty()) {
    for (int64_t j = 0; j < H; ++j) h[j] = s.h0[(d * s.batch + bi) * H + j];
  }
  if (!s.c0.empty()) {
    for (int64_t j = 0; j < H; ++j) c[j] = s.c0[(d * s.batch + bi) * H + j];
  }
  const int64_t len = s.lens.empty() ? s.seq : s.lens[bi];
  for (int64_t i = 0; i < len; ++i) {
    const int64_t t = reverse ? len - 1 - i : i;
    std::vector<double> xw, hr;
    GatePreActivations(p, &s.x[(t * s.batch + bi) * I], h, xw, hr);
    std::vector<double> hn(H), cn(H);
    switch (s.cell) {
      case Cell::kRnn:
        for (int64_t j = 0; j < H; ++j) hn[j] = p.F(0, xw[j] + hr[j]);
        break;
      case Cell::kGru:
        GruStep(p, xw, hr, h, hn);
        break;
      case Cell::kLstm:
        LstmStep(p, xw, hr, c, hn, cn);
        break;
    }
    h = hn;
    if (s.cell == Cell::kLstm) c = cn;
    for (int64_t j = 0; j < H; ++j) {
      out.y[((t * dirs + d) * s.batch + bi) * H + j] = h[j];
    }
  }
  for (int64_t j = 0; j < H; ++j) {
    out.y_h[(d * s.batch + bi) * H + j] = h[j];
    out.y_c[(d * s.batch + bi) * H + j] = c[j];
  }
}

// ONNX's equations, one batch entry and direction at a time; steps past an
// entry's length leave the state alone and give Y = 0.
Result Reference(const Spec& s) {
  const int64_t dirs = s.dirs(), H = s.hidden;
  const std::vector<std::string> acts = Activations(s);
  Result out;
  out.y.assign(s.seq * dirs * s.batch * H, 0.0);
  out.y_h.assign(dirs * s.batch * H, 0.0);
  out.y_c.assign(dirs * s.batch * H, 0.0);
  for (int64_t d = 0; d < dirs; ++d) {
    const DirectionRef p(s, d, acts);
    for (int64_t bi = 0; bi < s.batch; ++bi) RunEntry(p, bi, out);
  }
  return out;
}

const char* OpName(Cell c) {
  return c == Cell::kRnn ? "RNN" : c == Cell::kGru ? "GRU" : "LSTM";
}

// The model of `s` (opset 14): X is fed; the weights are initializers, or
// fed too when `fed_weights`; sequence_lens is fed when `fed_lens`.
OneNode Model(const Spec& s, DType dt, bool fed_weights, bool fed_lens) {
  OneNode m(OpName(s.cell), 14);
  const int64_t dirs = s.dirs(), gh = s.gh();
  m.Input("X", Typed(dt, s.x, Shape{s.seq, s.batch, s.input}));
  auto add = [&](const std::string& name, const std::vector<double>& v,
                 Shape shape) {
    if (v.empty()) {
      m.Omitted();
    } else if (fed_weights) {
      m.Input(name, Typed(dt, v, std::move(shape)));
    } else {
      m.Initializer(name, Typed(dt, v, std::move(shape)));
    }
  };
  add("W", s.w, Shape{dirs, gh, s.input});
  add("R", s.r, Shape{dirs, gh, s.hidden});
  const bool has_p = s.cell == Cell::kLstm && !s.p.empty();
  const bool has_c0 = s.cell == Cell::kLstm && !s.c0.empty();
  const bool more = !s.lens.empty() || !s.h0.empty() || has_c0 || has_p;
  if (!s.b.empty() || more) add("B", s.b, Shape{dirs, 2 * gh});
  if (more) {
    if (s.lens.empty()) {
      m.Omitted();
    } else if (fed_lens) {
      m.Input("sequence_lens", I32(s.lens));
    } else {
      m.Initializer("sequence_lens", I32(s.lens));
    }
  }
  if (!s.h0.empty() || has_c0 || has_p) {
    add("initial_h", s.h0, Shape{dirs, s.batch, s.hidden});
  }
  if (has_c0 || has_p) add("initial_c", s.c0, Shape{dirs, s.batch, s.hidden});
  if (has_p) add("P", s.p, Shape{dirs, 3 * s.hidden});
  m.Output("Y", dt, 4).Output("Y_h", dt, 3);
  if (s.cell == Cell::kLstm) m.Output("Y_c", dt, 3);
  m.Int("hidden_size", s.hidden);
  if (s.direction != "forward") m.String("direction", s.direction);
  if (!s.acts.empty()) m.Strings("activations", s.acts);
  if (s.clip.has_value()) m.Float("clip", static_cast<float>(*s.clip));
  if (s.cell == Cell::kGru && s.linear_before_reset) {
    m.Int("linear_before_reset", 1);
  }
  return m;
}

// A spec of `cell` and `direction` with the default sizes.
Spec Of(Cell cell, std::string direction = "forward") {
  Spec s;
  s.cell = cell;
  s.direction = std::move(direction);
  return s;
}

// Random-ish parameters for every input of `s`'s shape.
Spec Filled(Spec s, bool bias, bool initial, bool peepholes) {
  const int64_t dirs = s.dirs(), gh = s.gh();
  s.x = Ramp(s.seq * s.batch * s.input, 1, 2.0);
  s.w = Ramp(dirs * gh * s.input, 2, 0.6);
  s.r = Ramp(dirs * gh * s.hidden, 3, 0.6);
  if (bias) s.b = Ramp(dirs * 2 * gh, 4, 0.5);
  if (initial) {
    s.h0 = Ramp(dirs * s.batch * s.hidden, 5, 0.8);
    if (s.cell == Cell::kLstm) s.c0 = Ramp(dirs * s.batch * s.hidden, 6);
  }
  if (peepholes) s.p = Ramp(dirs * 3 * s.hidden, 7, 0.5);
  return s;
}

void Check(const Spec& s, DType dt = DType::kFloat32, bool fed_weights = false,
           bool fed_lens = false) {
  absl::StatusOr<std::vector<NDArray>> out =
      Model(s, dt, fed_weights, fed_lens).Run();
  ASSERT_TRUE(out.ok()) << out.status();
  const Result want = Reference(s);
  const int64_t dirs = s.dirs();
  ASSERT_EQ(out->size(), s.cell == Cell::kLstm ? 3u : 2u);
  for (const NDArray& a : *out) EXPECT_EQ(a.dtype(), dt);
  ExpectNear((*out)[0], Shape{s.seq, dirs, s.batch, s.hidden}, want.y, "Y");
  ExpectNear((*out)[1], Shape{dirs, s.batch, s.hidden}, want.y_h, "Y_h");
  if (s.cell == Cell::kLstm) {
    ExpectNear((*out)[2], Shape{dirs, s.batch, s.hidden}, want.y_c, "Y_c");
  }
}

// ------------------------------------------------------------- values --

TEST(RnnConvertersTest, LstmEveryDirectionWithEverything) {
  for (const char* dir : {"forward", "reverse", "bidirectional"}) {
    SCOPED_TRACE(dir);
    Spec s;
    s.cell = Cell::kLstm;
    s.direction = dir;
    Check(Filled(s, true, true, true));
    Check(Filled(s, true, true, true), DType::kFloat32, /*fed_weights=*/true);
  }
}

TEST(RnnConvertersTest, LstmDefaultsAndFloat64) {
  Spec s;
  s.cell = Cell::kLstm;
  s.seq = 4;
  s.batch = 1;
  Check(Filled(s, false, false, false));
  s.direction = "bidirectional";
  Check(Filled(s, true, false, true), DType::kFloat64);
}

TEST(RnnConvertersTest, GruBothResetFormsAndDirections) {
  for (bool lbr : {false, true}) {
    for (const char* dir : {"forward", "reverse", "bidirectional"}) {
      SCOPED_TRACE(absl::StrCat(dir, " linear_before_reset=", lbr));
      Spec s;
      s.cell = Cell::kGru;
      s.direction = dir;
      s.linear_before_reset = lbr;
      Check(Filled(s, true, true, false));
      Check(Filled(s, true, false, false));
      Check(Filled(s, false, false, false), DType::kFloat32, true);
    }
  }
}

TEST(RnnConvertersTest, RnnActivationsAndClip) {
  Spec s;
  s.cell = Cell::kRnn;
  s.direction = "bidirectional";
  Check(Filled(s, true, true, false));
  s.acts = {"Relu", "Sigmoid"};
  Check(Filled(s, true, true, false));
  s.clip = 0.5;
  Check(Filled(s, true, false, false));
  Spec l;
  l.cell = Cell::kLstm;
  l.acts = {"Tanh", "Relu", "Softplus"};
  l.clip = 1.0;
  Check(Filled(l, true, true, true));
}

TEST(RnnConvertersTest, ShorterSequenceLensMaskTheSteps) {
  for (Cell cell : {Cell::kRnn, Cell::kGru, Cell::kLstm}) {
    for (bool fed : {false, true}) {
      SCOPED_TRACE(absl::StrCat(OpName(cell), fed ? " fed" : " constant"));
      Spec s;
      s.cell = cell;
      s.seq = 4;
      s.batch = 3;
      s.direction = "bidirectional";
      s.lens = {4, 2, 0};
      Check(Filled(s, true, true, cell == Cell::kLstm), DType::kFloat32, false,
            fed);
      s.direction = "reverse";
      s.lens = {1, 3, 4};
      Check(Filled(s, true, false, false), DType::kFloat32, false, fed);
    }
  }
  // All lengths full: the same as none.
  Spec s;
  s.cell = Cell::kLstm;
  s.lens = {3, 3};
  Check(Filled(s, true, true, true));
}

TEST(RnnConvertersTest, BatchwiseLayout) {
  // Layout 1: X [batch, seq, input], initial_h [batch, dirs, hidden];
  // Y [batch, seq, dirs, hidden], Y_h [batch, dirs, hidden].
  Spec s = Filled(Of(Cell::kGru, "bidirectional"), true, true, false);
  const int64_t S = s.seq, B = s.batch, I = s.input, H = s.hidden, D = 2;
  std::vector<double> xb(S * B * I), hb(D * B * H);
  for (int64_t t = 0; t < S; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t k = 0; k < I; ++k) {
        xb[(b * S + t) * I + k] = s.x[(t * B + b) * I + k];
      }
    }
  }
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        hb[(b * D + d) * H + j] = s.h0[(d * B + b) * H + j];
      }
    }
  }
  OneNode m("GRU", 14);
  m.Input("X", Typed(DType::kFloat32, xb, Shape{B, S, I}))
      .Initializer("W", Typed(DType::kFloat32, s.w, Shape{D, 3 * H, I}))
      .Initializer("R", Typed(DType::kFloat32, s.r, Shape{D, 3 * H, H}))
      .Initializer("B", Typed(DType::kFloat32, s.b, Shape{D, 6 * H}))
      .Omitted()
      .Input("initial_h", Typed(DType::kFloat32, hb, Shape{B, D, H}))
      .Output("Y", DType::kFloat32, 4)
      .Output("Y_h", DType::kFloat32, 3)
      .Int("hidden_size", H)
      .Int("layout", 1)
      .String("direction", "bidirectional");
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  const Result want = Reference(s);
  std::vector<double> y(S * D * B * H), y_h(D * B * H);
  for (int64_t t = 0; t < S; ++t) {
    for (int64_t d = 0; d < D; ++d) {
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < H; ++j) {
          y[((b * S + t) * D + d) * H + j] =
              want.y[((t * D + d) * B + b) * H + j];
        }
      }
    }
  }
  for (int64_t d = 0; d < D; ++d) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        y_h[(b * D + d) * H + j] = want.y_h[(d * B + b) * H + j];
      }
    }
  }
  ExpectNear((*out)[0], Shape{B, S, D, H}, y, "Y");
  ExpectNear((*out)[1], Shape{B, D, H}, y_h, "Y_h");
}

TEST(RnnConvertersTest, UnknownBatchIsFine) {
  Spec s = Filled(Of(Cell::kLstm), true, false, true);
  OneNode m("LSTM", 7);
  m.Input("X", Typed(DType::kFloat32, s.x, Shape{s.seq, s.batch, s.input}),
          /*unknown_dim=*/1)
      .Initializer("W", Typed(DType::kFloat32, s.w, Shape{1, 16, s.input}))
      .Initializer("R", Typed(DType::kFloat32, s.r, Shape{1, 16, 4}))
      .Initializer("B", Typed(DType::kFloat32, s.b, Shape{1, 32}))
      .Omitted()
      .Omitted()
      .Omitted()
      .Initializer("P", Typed(DType::kFloat32, s.p, Shape{1, 12}))
      .Output("", DType::kFloat32, 3)
      .Output("Y_h", DType::kFloat32, 3)
      .Int("hidden_size", 4);
  absl::StatusOr<std::vector<NDArray>> out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectNear((*out)[0], Shape{1, s.batch, 4}, Reference(s).y_h, "Y_h");
}

// ----------------------------------------------------------- refusals --

void ExpectRefused(const OneNode& m, const std::string& why) {
  absl::StatusOr<OnnxModel> got = m.Import();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnimplemented)
      << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(), why)) << got.status();
}

TEST(RnnConvertersTest, RefusesInputForget) {
  Spec s = Filled(Of(Cell::kLstm), false, false, false);
  OneNode m = Model(s, DType::kFloat32, false, false);
  m.Int("input_forget", 1);
  ExpectRefused(m, "input_forget = 1");
}

TEST(RnnConvertersTest, RefusesUnknownSequenceLength) {
  Spec s = Filled(Of(Cell::kGru), false, false, false);
  OneNode m("GRU", 14);
  m.Input("X", Typed(DType::kFloat32, s.x, Shape{s.seq, s.batch, s.input}),
          /*unknown_dim=*/0)
      .Initializer("W", Typed(DType::kFloat32, s.w, Shape{1, 12, s.input}))
      .Initializer("R", Typed(DType::kFloat32, s.r, Shape{1, 12, 4}))
      .Output("Y", DType::kFloat32, 4)
      .Int("hidden_size", 4);
  ExpectRefused(m, "sequence length unknown at import");
}

// A per-direction input (here LSTM's peepholes P) must have a directions
// axis: a scalar is a clean error naming the node (found by
// //tests/fuzz:onnx_import_fuzzer as a write through an empty vector).
TEST(RnnConvertersTest, RejectsAScalarPerDirectionInput) {
  Spec s = Filled(Of(Cell::kLstm), false, false, false);
  OneNode m("LSTM", 14);
  m.Input("X", Typed(DType::kFloat32, s.x, Shape{s.seq, s.batch, s.input}))
      .Initializer("W", Typed(DType::kFloat32, s.w, Shape{1, 16, s.input}))
      .Initializer("R", Typed(DType::kFloat32, s.r, Shape{1, 16, 4}))
      .Omitted()
      .Omitted()
      .Omitted()
      .Omitted()
      .Initializer("P", NDArray::Scalar<float>(0.5f))
      .Output("Y", DType::kFloat32, 4)
      .Int("hidden_size", 4);
  absl::StatusOr<OnnxModel> got = m.Import();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
      << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(), "(LSTM 'n')"))
      << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(),
                                "a per-direction input of shape [], not "
                                "[directions, ...]"))
      << got.status();
}

TEST(RnnConvertersTest, RefusesActivationsWithParameters) {
  Spec s = Filled(Of(Cell::kRnn), false, false, false);
  s.acts = {"LeakyRelu"};
  ExpectRefused(Model(s, DType::kFloat32, false, false),
                "activation LeakyRelu");
}

TEST(RnnConvertersTest, RejectsWrongActivationCount) {
  Spec s = Filled(Of(Cell::kGru), false, false, false);
  s.acts = {"Sigmoid", "Tanh", "Tanh"};
  absl::StatusOr<OnnxModel> got =
      Model(s, DType::kFloat32, false, false).Import();
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(absl::StrContains(got.status().message(),
                                "activations lists 3 functions"))
      << got.status();
}

}  // namespace
}  // namespace weft
