// The converters of ONNX's recurrent ops (RNN, GRU, LSTM), unrolled over
// the sequence into weft's MatMul and elementwise ops.
//
// The sequence length must be known at import (X's shape; pin it with
// OnnxImportOptions::input_shapes). Per direction, X*W^T (plus the biases
// that do not depend on the state) is one MatMul over the whole sequence;
// each step then adds H*R^T and applies the gate equations of ONNX's spec
// (LSTM gates iofc, peepholes iof; GRU gates zrh). sequence_lens, when it is
// not known to be seq_length everywhere, masks the steps past each batch
// entry's length: the state is carried through unchanged and Y is 0 there,
// which gives ONNX's results for both directions (a reverse pass starts at
// each entry's own last step).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"

namespace weft {
namespace onnx_internal {
namespace {

enum class Cell { kRnn, kGru, kLstm };

int NumGates(Cell cell) {
  switch (cell) {
    case Cell::kRnn:
      return 1;
    case Cell::kGru:
      return 3;
    case Cell::kLstm:
      return 4;
  }
  return 1;
}

// The activation functions a cell applies per direction (f; f, g; f, g, h).
int NumActivations(Cell cell) {
  switch (cell) {
    case Cell::kRnn:
      return 1;
    case Cell::kGru:
      return 2;
    case Cell::kLstm:
      return 3;
  }
  return 1;
}

std::vector<std::string> DefaultActivations(Cell cell) {
  switch (cell) {
    case Cell::kRnn:
      return {"Tanh"};
    case Cell::kGru:
      return {"Sigmoid", "Tanh"};
    case Cell::kLstm:
      return {"Sigmoid", "Tanh", "Tanh"};
  }
  return {};
}

// The weft op of an ONNX activation name weft supports without parameters
// (ONNX Runtime compares the names case-insensitively; so does this), or
// "" if there is none.
std::string_view ActivationOp(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "sigmoid") return "Sigmoid";
  if (lower == "tanh") return "Tanh";
  if (lower == "relu") return "Relu";
  if (lower == "softplus") return "Softplus";
  return "";
}

// Builds the unrolled ops of one RNN/GRU/LSTM node.
class Unroller {
 public:
  Unroller(NodeContext& c, Cell cell) : c_(c), cell_(cell) {}

  absl::Status Run();

 private:
  // x restricted to [begin, begin + size) along every axis.
  absl::StatusOr<Tensor> Slice(const Tensor& x, std::vector<int64_t> begin,
                               std::vector<int64_t> size) {
    return c_.Op("Slice", {x},
                 {{"begin", std::move(begin)}, {"size", std::move(size)}});
  }
  // Columns [k * hidden, (k + 1) * hidden) of a [batch, n] tensor.
  absl::StatusOr<Tensor> Cols(const Tensor& x, int64_t k) {
    return Slice(x, {0, k * hidden_}, {-1, hidden_});
  }
  // Elements [k * hidden, (k + 1) * hidden) of a vector.
  absl::StatusOr<Tensor> Part(const Tensor& v, int64_t k, int64_t n = 1) {
    return Slice(v, {k * hidden_}, {n * hidden_});
  }
  // Direction d of a [dirs, ...] input, without the dirs axis, as `shape`.
  absl::StatusOr<Tensor> Direction(const Tensor& t, int64_t d,
                                   const Shape& shape) {
    const int rank = t.shape().rank();
    if (rank < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("a per-direction input of shape ",
                       t.shape().DebugString(), ", not [directions, ...]"));
    }
    std::vector<int64_t> begin(rank, 0), size(rank, -1);
    begin[0] = d;
    size[0] = 1;
    ASSIGN_OR_RETURN_ONNX(Tensor s, Slice(t, begin, size));
    return ReshapeLike(c_, s, shape);
  }
  absl::StatusOr<Tensor> Add(const Tensor& a, const Tensor& b) {
    return c_.Op("Add", {a, b});
  }
  absl::StatusOr<Tensor> Mul(const Tensor& a, const Tensor& b) {
    return c_.Op("Mul", {a, b});
  }
  // a + b where an absent operand counts as 0.
  absl::StatusOr<Tensor> AddOpt(const Tensor& a,
                                const std::optional<Tensor>& b) {
    if (!b.has_value()) return a;
    return Add(a, *b);
  }
  // a * b^T.
  absl::StatusOr<Tensor> MatMulT(const Tensor& a, const Tensor& b) {
    return c_.Op("MatMul", {a, b},
                 {{"transpose_a", false}, {"transpose_b", true}});
  }
  // The activation `k` of direction `d` applied to x (clipped first when
  // the node has a clip).
  absl::StatusOr<Tensor> Activate(int64_t d, int k, Tensor x) {
    if (clip_.has_value()) {
      ASSIGN_OR_RETURN_ONNX(Tensor lo, c_.Scalar(dtype_, -*clip_));
      ASSIGN_OR_RETURN_ONNX(Tensor hi, c_.Scalar(dtype_, *clip_));
      ASSIGN_OR_RETURN_ONNX(x, c_.Op("Maximum", {x, lo}));
      ASSIGN_OR_RETURN_ONNX(x, c_.Op("Minimum", {x, hi}));
    }
    return c_.Op(acts_[d * NumActivations(cell_) + k], {x});
  }
  // Where `mask` ([batch, 1]) holds, `now`; elsewhere `before` (0 if
  // absent).
  absl::StatusOr<Tensor> Keep(const Tensor& mask, const Tensor& now,
                              const std::optional<Tensor>& before) {
    if (before.has_value()) return c_.Op("Select", {mask, now, *before});
    ASSIGN_OR_RETURN_ONNX(Tensor zero, c_.Scalar(dtype_, 0));
    return c_.Op("Select", {mask, now, zero});
  }

  absl::Status ReadAttributes();
  absl::Status ReadDirection();
  absl::StatusOr<std::vector<std::string>> ActivationNames();
  absl::Status ReadActivations();
  absl::Status ReadX();
  absl::Status ReadSizes();
  absl::Status CheckWeightShapes();
  absl::Status ReadSequenceLens();
  absl::Status ReadInitialStates();
  absl::Status UnrollAndSetOutputs();
  // Direction d's weights: X*W^T (+ the biases that do not depend on the
  // state) for every step, R, and the parts of R, the biases and the
  // peepholes the steps use apart.
  struct DirectionWeights {
    Tensor xw;                            // [seq, batch, gates * hidden]
    Tensor r;                             // [gates * hidden, hidden]
    Tensor r_zr, r_h;                     // GRU: R's rows of z and r, and of h.
    std::optional<Tensor> rbh;            // GRU: Rbh (inside the reset).
    std::optional<Tensor> p_i, p_o, p_f;  // LSTM peepholes.
  };
  absl::StatusOr<DirectionWeights> ReadDirectionWeights(int64_t d);
  // Direction d's biases: Wb + Rb (bias_x) go with X*W^T, except GRU's Rbh
  // (rbh). Both stay empty without B.
  absl::Status ReadBiases(int64_t d, std::optional<Tensor>& bias_x,
                          std::optional<Tensor>& rbh);
  // One step of each cell from xt (step t of X*W^T + bias, [batch, gates *
  // hidden]) and the state h (and cell); absent state counts as 0.
  absl::StatusOr<Tensor> RnnStep(int64_t d, const Tensor& xt,
                                 const DirectionWeights& w,
                                 const std::optional<Tensor>& h);
  absl::StatusOr<Tensor> GruStep(int64_t d, const Tensor& xt,
                                 const DirectionWeights& w,
                                 const std::optional<Tensor>& h);
  // GRU: the recurrent part of the hidden gate, given the reset gate rg.
  absl::StatusOr<std::optional<Tensor>> GruRecurrentHidden(
      const Tensor& rg, const DirectionWeights& w,
      const std::optional<Tensor>& h);
  absl::Status LstmStep(int64_t d, const Tensor& xt, const DirectionWeights& w,
                        const std::optional<Tensor>& h,
                        const std::optional<Tensor>& cell, Tensor& h_new,
                        std::optional<Tensor>& c_new);
  // Masks step t (sequence_lens): ys[t] is h_new or 0, h_new and c_new the
  // new state or the previous one (h, cell).
  absl::Status MaskStep(int64_t t, std::vector<Tensor>& ys, Tensor& h_new,
                        std::optional<Tensor>& c_new,
                        const std::optional<Tensor>& h,
                        const std::optional<Tensor>& cell);
  // Runs direction d over the sequence; fills ys (one [batch, hidden] per
  // step, in time order), h and cell.
  absl::Status RunDirection(int64_t d, std::vector<Tensor>& ys,
                            std::optional<Tensor>& h,
                            std::optional<Tensor>& cell);
  // The outputs' [dirs, batch, hidden] (or [seq, dirs, batch, hidden] for Y,
  // from one tensor per direction, each [seq * batch, hidden]).
  absl::StatusOr<Tensor> Stack(const std::vector<Tensor>& per_direction,
                               bool sequence);

  NodeContext& c_;
  Cell cell_;
  DType dtype_ = DType::kFloat32;
  int64_t layout_ = 0;
  int64_t dirs_ = 1;
  bool reverse_only_ = false;
  int64_t hidden_ = -1;
  int64_t seq_ = -1;
  int64_t batch_ = -1;
  int64_t input_size_ = -1;
  std::vector<std::string> acts_;  // weft ops, NumActivations per direction.
  std::optional<double> clip_;
  bool linear_before_reset_ = false;
  bool masked_ = false;  // sequence_lens may be shorter than seq_length.
  Tensor x_;             // [seq, batch, input] (layout 0).
  Tensor seq_lens_;      // [batch, 1] when masked_.
  std::optional<Tensor> init_h_, init_c_;  // [dirs, batch, hidden].
};

// direction: forward, reverse or bidirectional.
absl::Status Unroller::ReadDirection() {
  const std::string direction = c_.String("direction", "forward");
  if (direction == "forward") {
    dirs_ = 1;
  } else if (direction == "reverse") {
    dirs_ = 1;
    reverse_only_ = true;
  } else if (direction == "bidirectional") {
    dirs_ = 2;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown direction '", direction, "'"));
  }
  return absl::OkStatus();
}

// The ONNX names of the activations, NumActivations per direction: the
// node's own list or the cell's defaults.
absl::StatusOr<std::vector<std::string>> Unroller::ActivationNames() {
  const int n = NumActivations(cell_);
  std::vector<std::string> names;
  if (c_.has_attr("activations")) {
    const onnx::NodeProto& node = c_.node();
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() != "activations") continue;
      for (const std::string& s : a.strings()) names.push_back(s);
    }
    c_.Ignore("activations");
    if (static_cast<int64_t>(names.size()) != n * dirs_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "activations lists ", names.size(), " functions; ", c_.op_type(),
          " with ", dirs_, " direction(s) takes ", n * dirs_));
    }
  } else {
    for (int64_t d = 0; d < dirs_; ++d) {
      for (std::string& s : DefaultActivations(cell_)) names.push_back(s);
    }
  }
  return names;
}

// acts_: the weft op of each activation.
absl::Status Unroller::ReadActivations() {
  ASSIGN_OR_RETURN_ONNX(std::vector<std::string> names, ActivationNames());
  for (const std::string& name : names) {
    std::string_view op = ActivationOp(name);
    if (op.empty()) {
      return c_.Unsupported(absl::StrCat(
          "activation ", name,
          " (weft supports Sigmoid, Tanh, Relu and Softplus here)"));
    }
    acts_.emplace_back(op);
  }
  // Only activations that take alpha/beta would read them, and weft
  // supports none of those.
  c_.Ignore("activation_alpha");
  c_.Ignore("activation_beta");
  return absl::OkStatus();
}

absl::Status Unroller::ReadAttributes() {
  if (absl::Status s = ReadDirection(); !s.ok()) return s;
  layout_ = c_.Int("layout", 0);
  if (layout_ != 0 && layout_ != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("layout ", layout_, " (must be 0 or 1)"));
  }
  hidden_ = c_.Int("hidden_size", -1);
  const Shape r = c_.shape(2);
  if (hidden_ < 0 && r.rank() == 3) hidden_ = r.dim(2);
  if (hidden_ <= 0) {
    return c_.Unsupported("hidden_size neither given nor known from R");
  }
  if (cell_ == Cell::kLstm && c_.Int("input_forget", 0) != 0) {
    return c_.Unsupported("input_forget = 1 (coupled input and forget gates)");
  }
  if (cell_ == Cell::kGru) {
    linear_before_reset_ = c_.Int("linear_before_reset", 0) != 0;
  }
  if (c_.has_attr("clip")) clip_ = c_.Float("clip", 0.0f);
  return ReadActivations();
}

absl::Status Unroller::ReadSequenceLens() {
  if (!c_.has_input(4)) return absl::OkStatus();
  if (const NDArray* lens = c_.constant(4); lens != nullptr) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> v,
                          c_.ConstInts(4, "sequence_lens"));
    bool all_full = true;
    for (int64_t len : v) {
      if (len < 0 || len > seq_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "sequence_lens holds ", len, ", outside [0, ", seq_, "]"));
      }
      all_full = all_full && len == seq_;
    }
    if (all_full) return absl::OkStatus();
  }
  const DType dt = c_.dtype(4);
  if (dt != DType::kInt32 && dt != DType::kInt64) {
    return absl::InvalidArgumentError(
        absl::StrCat("sequence_lens must be int32, not ", DTypeName(dt)));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor lens, c_.input(4));
  ASSIGN_OR_RETURN_ONNX(seq_lens_, ReshapeLike(c_, lens, Shape{-1, 1}));
  masked_ = true;
  return absl::OkStatus();
}

absl::Status Unroller::ReadBiases(int64_t d, std::optional<Tensor>& bias_x,
                                  std::optional<Tensor>& rbh) {
  if (!c_.has_input(3)) return absl::OkStatus();
  const int64_t gates = NumGates(cell_);
  const int64_t gh = gates * hidden_;
  ASSIGN_OR_RETURN_ONNX(Tensor b_all, c_.input(3));
  ASSIGN_OR_RETURN_ONNX(Tensor b, Direction(b_all, d, Shape{2 * gh}));
  ASSIGN_OR_RETURN_ONNX(Tensor wb, Part(b, 0, gates));
  ASSIGN_OR_RETURN_ONNX(Tensor rb, Part(b, gates, gates));
  if (cell_ == Cell::kGru) {
    ASSIGN_OR_RETURN_ONNX(Tensor rb_zr, Part(rb, 0, 2));
    ASSIGN_OR_RETURN_ONNX(rbh, Part(rb, 2));
    ASSIGN_OR_RETURN_ONNX(Tensor wb_zr, Part(wb, 0, 2));
    ASSIGN_OR_RETURN_ONNX(Tensor wbh, Part(wb, 2));
    ASSIGN_OR_RETURN_ONNX(Tensor zr, Add(wb_zr, rb_zr));
    ASSIGN_OR_RETURN_ONNX(bias_x, c_.Op("Concat", {zr, wbh}, {{"axis", 0}}));
  } else {
    ASSIGN_OR_RETURN_ONNX(bias_x, Add(wb, rb));
  }
  return absl::OkStatus();
}

absl::StatusOr<Unroller::DirectionWeights> Unroller::ReadDirectionWeights(
    int64_t d) {
  const int64_t gh = NumGates(cell_) * hidden_;
  DirectionWeights dw;
  ASSIGN_OR_RETURN_ONNX(Tensor w_all, c_.input(1));
  ASSIGN_OR_RETURN_ONNX(Tensor r_all, c_.input(2));
  ASSIGN_OR_RETURN_ONNX(Tensor w, Direction(w_all, d, Shape{gh, input_size_}));
  ASSIGN_OR_RETURN_ONNX(dw.r, Direction(r_all, d, Shape{gh, hidden_}));
  std::optional<Tensor> bias_x;
  if (absl::Status s = ReadBiases(d, bias_x, dw.rbh); !s.ok()) return s;
  // X*W^T (+ bias) for every step: [seq, batch, gates * hidden].
  ASSIGN_OR_RETURN_ONNX(Tensor x2, ReshapeLike(c_, x_, Shape{-1, input_size_}));
  ASSIGN_OR_RETURN_ONNX(dw.xw, MatMulT(x2, w));
  ASSIGN_OR_RETURN_ONNX(dw.xw, AddOpt(dw.xw, bias_x));
  ASSIGN_OR_RETURN_ONNX(dw.xw, ReshapeLike(c_, dw.xw, Shape{seq_, batch_, gh}));
  // GRU: the recurrence weights of z and r, and of h, apart.
  if (cell_ == Cell::kGru) {
    ASSIGN_OR_RETURN_ONNX(dw.r_zr, Slice(dw.r, {0, 0}, {2 * hidden_, -1}));
    ASSIGN_OR_RETURN_ONNX(dw.r_h, Slice(dw.r, {2 * hidden_, 0}, {hidden_, -1}));
  }
  // LSTM peepholes.
  if (cell_ == Cell::kLstm && c_.has_input(7)) {
    ASSIGN_OR_RETURN_ONNX(Tensor p_all, c_.input(7));
    ASSIGN_OR_RETURN_ONNX(Tensor p, Direction(p_all, d, Shape{3 * hidden_}));
    ASSIGN_OR_RETURN_ONNX(dw.p_i, Part(p, 0));
    ASSIGN_OR_RETURN_ONNX(dw.p_o, Part(p, 1));
    ASSIGN_OR_RETURN_ONNX(dw.p_f, Part(p, 2));
  }
  return dw;
}

absl::StatusOr<Tensor> Unroller::RnnStep(int64_t d, const Tensor& xt,
                                         const DirectionWeights& w,
                                         const std::optional<Tensor>& h) {
  std::optional<Tensor> hr;
  if (h.has_value()) {
    ASSIGN_OR_RETURN_ONNX(hr, MatMulT(*h, w.r));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor pre, AddOpt(xt, hr));
  return Activate(d, 0, pre);
}

absl::StatusOr<std::optional<Tensor>> Unroller::GruRecurrentHidden(
    const Tensor& rg, const DirectionWeights& w,
    const std::optional<Tensor>& h) {
  std::optional<Tensor> hh;
  if (linear_before_reset_) {
    // r (.) (H*Rh^T + Rbh)
    std::optional<Tensor> lin;
    if (h.has_value()) {
      ASSIGN_OR_RETURN_ONNX(lin, MatMulT(*h, w.r_h));
      if (w.rbh.has_value()) {
        ASSIGN_OR_RETURN_ONNX(lin, Add(*lin, *w.rbh));
      }
    } else {
      lin = w.rbh;
    }
    if (lin.has_value()) {
      ASSIGN_OR_RETURN_ONNX(hh, Mul(rg, *lin));
    }
    return hh;
  }
  // (r (.) H)*Rh^T + Rbh
  if (h.has_value()) {
    ASSIGN_OR_RETURN_ONNX(Tensor rh, Mul(rg, *h));
    ASSIGN_OR_RETURN_ONNX(hh, MatMulT(rh, w.r_h));
  }
  if (w.rbh.has_value()) {
    if (hh.has_value()) {
      ASSIGN_OR_RETURN_ONNX(hh, Add(*hh, *w.rbh));
    } else {
      hh = w.rbh;
    }
  }
  return hh;
}

absl::StatusOr<Tensor> Unroller::GruStep(int64_t d, const Tensor& xt,
                                         const DirectionWeights& w,
                                         const std::optional<Tensor>& h) {
  ASSIGN_OR_RETURN_ONNX(Tensor x_zr, Slice(xt, {0, 0}, {-1, 2 * hidden_}));
  ASSIGN_OR_RETURN_ONNX(Tensor x_h, Cols(xt, 2));
  std::optional<Tensor> h_zr;
  if (h.has_value()) {
    ASSIGN_OR_RETURN_ONNX(h_zr, MatMulT(*h, w.r_zr));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor zr, AddOpt(x_zr, h_zr));
  ASSIGN_OR_RETURN_ONNX(Tensor z, Cols(zr, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor rg, Cols(zr, 1));
  ASSIGN_OR_RETURN_ONNX(z, Activate(d, 0, z));
  ASSIGN_OR_RETURN_ONNX(rg, Activate(d, 0, rg));
  ASSIGN_OR_RETURN_ONNX(std::optional<Tensor> hh, GruRecurrentHidden(rg, w, h));
  ASSIGN_OR_RETURN_ONNX(Tensor pre, AddOpt(x_h, hh));
  ASSIGN_OR_RETURN_ONNX(Tensor ht, Activate(d, 1, pre));
  // H = (1 - z) (.) h + z (.) H_prev = h + z (.) (H_prev - h)
  if (h.has_value()) {
    ASSIGN_OR_RETURN_ONNX(Tensor diff, c_.Op("Sub", {*h, ht}));
    ASSIGN_OR_RETURN_ONNX(Tensor zd, Mul(z, diff));
    return Add(ht, zd);
  }
  ASSIGN_OR_RETURN_ONNX(Tensor one, c_.Scalar(dtype_, 1));
  ASSIGN_OR_RETURN_ONNX(Tensor omz, c_.Op("Sub", {one, z}));
  return Mul(omz, ht);
}

absl::Status Unroller::LstmStep(int64_t d, const Tensor& xt,
                                const DirectionWeights& w,
                                const std::optional<Tensor>& h,
                                const std::optional<Tensor>& cell,
                                Tensor& h_new, std::optional<Tensor>& c_new) {
  std::optional<Tensor> hr;
  if (h.has_value()) {
    ASSIGN_OR_RETURN_ONNX(hr, MatMulT(*h, w.r));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor g4, AddOpt(xt, hr));
  ASSIGN_OR_RETURN_ONNX(Tensor i_pre, Cols(g4, 0));
  ASSIGN_OR_RETURN_ONNX(Tensor o_pre, Cols(g4, 1));
  ASSIGN_OR_RETURN_ONNX(Tensor f_pre, Cols(g4, 2));
  ASSIGN_OR_RETURN_ONNX(Tensor c_pre, Cols(g4, 3));
  if (cell.has_value() && w.p_i.has_value()) {
    ASSIGN_OR_RETURN_ONNX(Tensor pi, Mul(*w.p_i, *cell));
    ASSIGN_OR_RETURN_ONNX(i_pre, Add(i_pre, pi));
    ASSIGN_OR_RETURN_ONNX(Tensor pf, Mul(*w.p_f, *cell));
    ASSIGN_OR_RETURN_ONNX(f_pre, Add(f_pre, pf));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor ig, Activate(d, 0, i_pre));
  ASSIGN_OR_RETURN_ONNX(Tensor cg, Activate(d, 1, c_pre));
  ASSIGN_OR_RETURN_ONNX(Tensor ct, Mul(ig, cg));
  if (cell.has_value()) {
    ASSIGN_OR_RETURN_ONNX(Tensor fg, Activate(d, 0, f_pre));
    ASSIGN_OR_RETURN_ONNX(Tensor fc, Mul(fg, *cell));
    ASSIGN_OR_RETURN_ONNX(ct, Add(fc, ct));
  }
  if (w.p_o.has_value()) {
    ASSIGN_OR_RETURN_ONNX(Tensor po, Mul(*w.p_o, ct));
    ASSIGN_OR_RETURN_ONNX(o_pre, Add(o_pre, po));
  }
  ASSIGN_OR_RETURN_ONNX(Tensor og, Activate(d, 0, o_pre));
  ASSIGN_OR_RETURN_ONNX(Tensor hc, Activate(d, 2, ct));
  ASSIGN_OR_RETURN_ONNX(h_new, Mul(og, hc));
  c_new = ct;
  return absl::OkStatus();
}

absl::Status Unroller::MaskStep(int64_t t, std::vector<Tensor>& ys,
                                Tensor& h_new, std::optional<Tensor>& c_new,
                                const std::optional<Tensor>& h,
                                const std::optional<Tensor>& cell) {
  ASSIGN_OR_RETURN_ONNX(Tensor step, c_.Scalar(c_.dtype(4), t));
  ASSIGN_OR_RETURN_ONNX(Tensor mask, c_.Op("Less", {step, seq_lens_}));
  ASSIGN_OR_RETURN_ONNX(ys[t], Keep(mask, h_new, std::nullopt));
  ASSIGN_OR_RETURN_ONNX(h_new, Keep(mask, h_new, h));
  if (c_new.has_value()) {
    ASSIGN_OR_RETURN_ONNX(c_new, Keep(mask, *c_new, cell));
  }
  return absl::OkStatus();
}

absl::Status Unroller::RunDirection(int64_t d, std::vector<Tensor>& ys,
                                    std::optional<Tensor>& h,
                                    std::optional<Tensor>& cell) {
  const int64_t gh = NumGates(cell_) * hidden_;
  ASSIGN_OR_RETURN_ONNX(const DirectionWeights w, ReadDirectionWeights(d));
  // Initial state (absent = 0, which the equations then skip).
  const Shape state{batch_, hidden_};
  if (init_h_.has_value()) {
    ASSIGN_OR_RETURN_ONNX(h, Direction(*init_h_, d, state));
  }
  if (init_c_.has_value()) {
    ASSIGN_OR_RETURN_ONNX(cell, Direction(*init_c_, d, state));
  }

  const bool reverse = reverse_only_ || d == 1;
  ys.assign(seq_, Tensor());
  for (int64_t i = 0; i < seq_; ++i) {
    const int64_t t = reverse ? seq_ - 1 - i : i;
    ASSIGN_OR_RETURN_ONNX(Tensor xt, Slice(w.xw, {t, 0, 0}, {1, -1, -1}));
    ASSIGN_OR_RETURN_ONNX(xt, ReshapeLike(c_, xt, Shape{batch_, gh}));
    Tensor h_new;
    std::optional<Tensor> c_new;
    switch (cell_) {
      case Cell::kRnn: {
        ASSIGN_OR_RETURN_ONNX(h_new, RnnStep(d, xt, w, h));
        break;
      }
      case Cell::kGru: {
        ASSIGN_OR_RETURN_ONNX(h_new, GruStep(d, xt, w, h));
        break;
      }
      case Cell::kLstm: {
        if (absl::Status s = LstmStep(d, xt, w, h, cell, h_new, c_new);
            !s.ok()) {
          return s;
        }
        break;
      }
    }
    if (masked_) {
      if (absl::Status s = MaskStep(t, ys, h_new, c_new, h, cell); !s.ok()) {
        return s;
      }
    } else {
      ys[t] = h_new;
    }
    h = h_new;
    cell = c_new;
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> Unroller::Stack(const std::vector<Tensor>& per_direction,
                                       bool sequence) {
  std::vector<Tensor> parts;
  const Shape one =
      sequence ? Shape{seq_, 1, batch_, hidden_} : Shape{1, batch_, hidden_};
  for (const Tensor& t : per_direction) {
    ASSIGN_OR_RETURN_ONNX(Tensor p, ReshapeLike(c_, t, one));
    parts.push_back(p);
  }
  Tensor y = parts[0];
  if (parts.size() > 1) {
    ASSIGN_OR_RETURN_ONNX(
        y, c_.Op("Concat", parts, {{"axis", int64_t{sequence ? 1 : 0}}}));
  }
  if (layout_ == 1) {
    std::vector<int64_t> perm = sequence ? std::vector<int64_t>{2, 0, 1, 3}
                                         : std::vector<int64_t>{1, 0, 2};
    ASSIGN_OR_RETURN_ONNX(y, c_.Op("Transpose", {y}, {{"perm", perm}}));
  }
  return y;
}

// x_ (input 0) and its dtype, which must be a float one.
absl::Status Unroller::ReadX() {
  ASSIGN_OR_RETURN_ONNX(x_, c_.input(0));
  dtype_ = x_.dtype();
  if (dtype_ != DType::kFloat32 && dtype_ != DType::kFloat64) {
    return c_.Unsupported(absl::StrCat("dtype ", DTypeName(dtype_)));
  }
  return absl::OkStatus();
}

// x_ as [seq, batch, input] (transposed from layout 1), and seq_, batch_
// and input_size_ (from W when X does not tell), which must be known.
absl::Status Unroller::ReadSizes() {
  const Shape xs = x_.shape();
  if (xs.rank() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("X has shape ", xs.DebugString(), ", not rank 3"));
  }
  if (layout_ == 1) {
    // [batch, seq, input] -> [seq, batch, input]; the outputs go back.
    ASSIGN_OR_RETURN_ONNX(x_, c_.Op("Transpose", {x_},
                                    {{"perm", std::vector<int64_t>{1, 0, 2}}}));
  }
  seq_ = x_.shape().dim(0);
  batch_ = x_.shape().dim(1);
  input_size_ = x_.shape().dim(2);
  if (seq_ < 0) {
    return c_.Unsupported(
        "a sequence length unknown at import (weft unrolls the sequence; pin "
        "X's shape with OnnxImportOptions::input_shapes)");
  }
  if (seq_ == 0) return c_.Unsupported("an empty sequence");
  if (seq_ > kMaxUnrolledSteps) {
    return c_.Unsupported(absl::StrCat("a sequence of ", seq_,
                                       " steps (weft unrolls at most ",
                                       kMaxUnrolledSteps, ")"));
  }
  const Shape ws = c_.shape(1);
  if (input_size_ < 0 && ws.rank() == 3) input_size_ = ws.dim(2);
  if (input_size_ < 0) {
    return c_.Unsupported("an input size unknown at import");
  }
  return absl::OkStatus();
}

// W and R must be [dirs, gates * hidden, input] and [dirs, gates * hidden,
// hidden] where their dims are known.
absl::Status Unroller::CheckWeightShapes() {
  const Shape ws = c_.shape(1);
  const int64_t gh = NumGates(cell_) * hidden_;
  const Shape rs = c_.shape(2);
  if (ws.rank() != 3 || rs.rank() != 3 ||
      (ws.dim(0) >= 0 && ws.dim(0) != dirs_) ||
      (ws.dim(1) >= 0 && ws.dim(1) != gh) ||
      (ws.dim(2) >= 0 && ws.dim(2) != input_size_) ||
      (rs.dim(0) >= 0 && rs.dim(0) != dirs_) ||
      (rs.dim(1) >= 0 && rs.dim(1) != gh) ||
      (rs.dim(2) >= 0 && rs.dim(2) != hidden_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "W ", ws.DebugString(), " and R ", rs.DebugString(), " do not fit ",
        dirs_, " direction(s) of ", NumGates(cell_), " gate(s), hidden size ",
        hidden_, " and input size ", input_size_));
  }
  return absl::OkStatus();
}

// initial_h and initial_c as [dirs, batch, hidden].
absl::Status Unroller::ReadInitialStates() {
  for (int i : {5, 6}) {
    if (!c_.has_input(i) || (i == 6 && cell_ != Cell::kLstm)) continue;
    ASSIGN_OR_RETURN_ONNX(Tensor s, c_.input(i));
    if (layout_ == 1) {
      ASSIGN_OR_RETURN_ONNX(
          s,
          c_.Op("Transpose", {s}, {{"perm", std::vector<int64_t>{1, 0, 2}}}));
    }
    (i == 5 ? init_h_ : init_c_) = s;
  }
  return absl::OkStatus();
}

// Runs every direction and sets the outputs the node uses: Y, Y_h and (for
// LSTM) Y_c.
absl::Status Unroller::UnrollAndSetOutputs() {
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < dirs_; ++d) {
    std::vector<Tensor> steps;
    std::optional<Tensor> h, cell;
    if (absl::Status s = RunDirection(d, steps, h, cell); !s.ok()) return s;
    if (c_.has_output(0)) {
      Tensor y = steps[0];
      if (steps.size() > 1) {
        ASSIGN_OR_RETURN_ONNX(y,
                              c_.Op("Concat", steps, {{"axis", int64_t{0}}}));
      }
      ys.push_back(y);
    }
    hs.push_back(*h);
    if (cell.has_value()) cs.push_back(*cell);
  }
  if (c_.has_output(0)) {
    ASSIGN_OR_RETURN_ONNX(Tensor y, Stack(ys, true));
    c_.SetOutput(0, y);
  }
  if (c_.has_output(1)) {
    ASSIGN_OR_RETURN_ONNX(Tensor y_h, Stack(hs, false));
    c_.SetOutput(1, y_h);
  }
  if (cell_ == Cell::kLstm && c_.has_output(2)) {
    ASSIGN_OR_RETURN_ONNX(Tensor y_c, Stack(cs, false));
    c_.SetOutput(2, y_c);
  }
  return absl::OkStatus();
}

absl::Status Unroller::Run() {
  if (absl::Status s = ReadX(); !s.ok()) return s;
  if (absl::Status s = ReadAttributes(); !s.ok()) return s;
  if (absl::Status s = ReadSizes(); !s.ok()) return s;
  if (absl::Status s = CheckWeightShapes(); !s.ok()) return s;
  if (absl::Status s = ReadSequenceLens(); !s.ok()) return s;
  if (absl::Status s = ReadInitialStates(); !s.ok()) return s;
  return UnrollAndSetOutputs();
}

}  // namespace

void RegisterRnnConverters(absl::flat_hash_map<std::string, Converter>& t) {
  t["RNN"] = [](NodeContext& c) { return Unroller(c, Cell::kRnn).Run(); };
  t["GRU"] = [](NodeContext& c) { return Unroller(c, Cell::kGru).Run(); };
  t["LSTM"] = [](NodeContext& c) { return Unroller(c, Cell::kLstm).Run(); };
}

}  // namespace onnx_internal
}  // namespace weft
