// Converters of ONNX's control flow, If and Loop, onto weft's own: each
// subgraph (If's branches, Loop's body) is imported into the body of a
// traced weft Function (graph/function.h) whose captures are the values of
// the enclosing graph the subgraph reads by name; If becomes ops::Cond,
// Loop ops::While over an iteration counter, the condition, the
// loop-carried values and one accumulator per scan output.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/function.h"
#include "graph/ndarray.h"
#include "graph/ops.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "graph/tensor_spec.h"
#include "interop/onnx_context.h"
#include "interop/onnx_converter_util.h"

namespace weft {
namespace onnx_internal {
namespace {

std::string SpecText(const TensorSpec& s) {
  return absl::StrCat(DTypeName(s.dtype), s.shape.DebugString());
}

// The first error among `tensors`, else ok.
absl::Status FirstError(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) {
    if (!t.ok()) return t.status();
  }
  return absl::OkStatus();
}

// `x` as a scalar: ONNX's conditions and trip counts are tensors of one
// element, of shape [] or [1].
absl::StatusOr<Tensor> ToScalar(const Tensor& x, std::string_view what,
                                const OpOptions& options) {
  if (x.shape().rank() == 0) return x;
  if (x.shape().num_elements() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must hold one element, but its shape is ",
                     x.shape().DebugString()));
  }
  Tensor t = ops::Reshape(x, Shape{}, options);
  if (!t.ok()) return t.status();
  return t;
}

// Traces a Function named `name` taking `args` whose body imports `sub`
// with the arguments bound to its graph inputs (listing sub's captures).
// An error of the subgraph's import is returned as is.
absl::StatusOr<Function> TraceSubgraph(NodeContext& c, const Subgraph& sub,
                                       const std::string& name,
                                       std::vector<TensorSpec> args) {
  absl::Status inner = absl::OkStatus();
  absl::StatusOr<Function> fn = Function::Trace(
      name, std::move(args),
      [&](const std::vector<Tensor>& in) -> std::vector<Tensor> {
        std::vector<Value> values;
        for (const Tensor& t : in) values.push_back(Value{t, std::nullopt});
        absl::StatusOr<std::vector<Value>> out =
            c.ImportSubgraph(sub, values, /*traced=*/true);
        if (!out.ok()) {
          inner = out.status();
          return {Tensor::FromError(inner)};
        }
        std::vector<Tensor> tensors;
        for (Value& v : *out) tensors.push_back(v.tensor);
        return tensors;
      },
      FunctionOptions{.captures = sub.captures});
  if (!inner.ok()) return inner;
  if (!fn.ok()) return fn.status();
  return fn;
}

// If: the branch the condition selects. A condition known at import
// inlines that branch; otherwise both become Functions of ops::Cond, which
// needs their outputs to agree in dtype and shape.
absl::Status If(NodeContext& c) {
  // The Cond takes the node's name; its helpers are named after it.
  const OpOptions cond_options = c.NextOpOptions("Cond");
  ASSIGN_OR_RETURN_ONNX(Subgraph then_sub, c.GraphAttr("then_branch"));
  ASSIGN_OR_RETURN_ONNX(Subgraph else_sub, c.GraphAttr("else_branch"));
  if (!c.has_input(0)) {
    return absl::InvalidArgumentError("the condition (input 0) is missing");
  }
  if (c.dtype(0) != DType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the condition (input 0) must be bool, not ", DTypeName(c.dtype(0))));
  }
  const int n = c.num_outputs();
  for (const Subgraph* sub : {&then_sub, &else_sub}) {
    if (sub->graph->output_size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat(sub->attr, " returns ", sub->graph->output_size(),
                       " values for the node's ", n, " outputs"));
    }
  }
  if (const NDArray* k = c.constant(0)) {
    if (k->num_elements() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the condition must hold one element, but its shape is ",
                       k->shape().DebugString()));
    }
    const bool taken = k->values<bool>()[0];
    ASSIGN_OR_RETURN_ONNX(
        std::vector<Value> out,
        c.ImportSubgraph(taken ? then_sub : else_sub, {}, /*traced=*/false));
    for (int i = 0; i < n; ++i) {
      if (!c.has_output(i)) continue;
      if (out[i].sequence != nullptr) {
        c.SetSequenceOutput(i, *out[i].sequence);
      } else if (!out[i].tensor.ok()) {
        c.SetConstantOutput(i, *out[i].constant);
      } else {
        c.SetOutput(i, out[i].tensor);
      }
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN_ONNX(
      Function then_fn,
      TraceSubgraph(c, then_sub, c.FunctionName("then_branch"), {}));
  ASSIGN_OR_RETURN_ONNX(
      Function else_fn,
      TraceSubgraph(c, else_sub, c.FunctionName("else_branch"), {}));
  for (int i = 0; i < n; ++i) {
    const TensorSpec& a = then_fn.output_specs()[i];
    const TensorSpec& b = else_fn.output_specs()[i];
    if (a.dtype != b.dtype) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", i, " is ", SpecText(a),
                       " in then_branch but ", SpecText(b),
                       " in else_branch; both branches must produce the "
                       "same dtype"));
    }
    if (a.shape != b.shape) {
      return c.Unsupported(absl::StrCat(
          "output ", i, " is ", SpecText(a), " in then_branch but ",
          SpecText(b),
          " in else_branch; weft's Cond needs both branches to return the "
          "same shape (declare it in the branches' outputs, or give the "
          "condition at import with OnnxImportOptions::constant_inputs)"));
    }
  }
  ASSIGN_OR_RETURN_ONNX(Tensor x, c.input(0));
  ASSIGN_OR_RETURN_ONNX(
      Tensor pred, ToScalar(x, "the condition", c.NextOpOptions("Reshape")));
  std::vector<Tensor> out = ops::Cond(pred, then_fn, else_fn, {}, cond_options);
  if (absl::Status s = FirstError(out); !s.ok()) return s;
  for (int i = 0; i < n; ++i) {
    if (c.has_output(i)) c.SetOutput(i, out[i]);
  }
  return absl::OkStatus();
}

// Loop(M, cond, v...) with body(i, cond_in, v...) -> (cond_out, v...,
// scan...):
//
//   i = 0; c = cond (true if omitted)
//   while ((M omitted or i < M) and c): c, v..., s... = body(i, c, v...);
//                                        append s...; i += 1
//
// becomes ops::While over (i, c, v..., acc...) whose body Calls the ONNX
// body's Function, concatenating each scan output onto its accumulator (of
// shape [0, dims...] at first: the per-iteration dims must be known).
// Loop-carried values whose shape the body changes get unknown dims.
absl::Status Loop(NodeContext& c) {
  // The While takes the node's name; its helpers are named after it.
  const OpOptions while_options = c.NextOpOptions("While");
  ASSIGN_OR_RETURN_ONNX(Subgraph body, c.GraphAttr("body"));
  const onnx::GraphProto& g = *body.graph;
  const int n_carried = c.num_inputs() - 2;
  if (n_carried < 0) {
    return absl::InvalidArgumentError(
        "Loop takes the trip count M and the condition (either may be \"\") "
        "before its loop-carried values");
  }
  if (g.input_size() != 2 + n_carried) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the body takes ", g.input_size(), " inputs; with ", n_carried,
        " loop-carried value(s) it must take ", 2 + n_carried,
        " (iteration number, condition, loop-carried values)"));
  }
  const int n_scan = g.output_size() - 1 - n_carried;
  if (n_scan < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the body returns ", g.output_size(), " values; with ", n_carried,
        " loop-carried value(s) it must return at least ", 1 + n_carried,
        " (condition, loop-carried values, scan outputs)"));
  }
  if (c.num_outputs() > n_carried + n_scan) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the node has ", c.num_outputs(), " outputs but the loop produces ",
        n_carried + n_scan, " (loop-carried values, then scan outputs)"));
  }
  const bool has_m = c.has_input(0), has_cond = c.has_input(1);
  if (!has_m && !has_cond) {
    return c.Unsupported(
        "neither the trip count M nor the condition is given: the loop "
        "never ends");
  }
  if (has_m && c.dtype(0) != DType::kInt64) {
    return absl::InvalidArgumentError(
        absl::StrCat("the trip count M (input 0) must be int64, not ",
                     DTypeName(c.dtype(0))));
  }
  if (has_cond && c.dtype(1) != DType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the condition (input 1) must be bool, not ", DTypeName(c.dtype(1))));
  }

  // The initial values: i, c, v...
  std::vector<Tensor> init;
  ASSIGN_OR_RETURN_ONNX(Tensor zero, c.Const(NDArray::Scalar<int64_t>(0)));
  init.push_back(zero);
  if (has_cond) {
    ASSIGN_OR_RETURN_ONNX(Tensor cond, c.input(1));
    ASSIGN_OR_RETURN_ONNX(cond, ToScalar(cond, "the condition (input 1)",
                                         c.NextOpOptions("Reshape")));
    init.push_back(cond);
  } else {
    ASSIGN_OR_RETURN_ONNX(Tensor yes, c.Const(NDArray::Scalar<bool>(true)));
    init.push_back(yes);
  }
  std::vector<TensorSpec> specs = {{DType::kInt64, Shape{}, "iteration_num"},
                                   {DType::kBool, Shape{}, "cond"}};
  for (int k = 0; k < n_carried; ++k) {
    if (!c.has_input(2 + k)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "loop-carried value ", k, " (input ", 2 + k, ") is missing"));
    }
    if (c.SequenceInput(2 + k).ok()) {
      return c.Unsupported(
          absl::StrCat("loop-carried value ", k, " ('", c.node().input(2 + k),
                       "') is a sequence; weft's loops carry tensors"));
    }
    ASSIGN_OR_RETURN_ONNX(Tensor v, c.input(2 + k));
    init.push_back(v);
    specs.push_back({v.dtype(), v.shape(), ""});
  }

  // The ONNX body as a Function; traced again with unknown dims where the
  // body changes a loop-carried value's shape, until its outputs fit.
  const std::string body_name = c.FunctionName("body");
  Function core;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN_ONNX(core, TraceSubgraph(c, body, body_name, specs));
    const std::vector<TensorSpec>& out = core.output_specs();
    if (out[0].dtype != DType::kBool || out[0].shape.num_elements() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the body's condition (output 0) must be one bool, "
                       "but it is ",
                       SpecText(out[0])));
    }
    bool changed = false;
    for (int k = 0; k < n_carried; ++k) {
      TensorSpec& in = specs[2 + k];
      const TensorSpec& o = out[1 + k];
      if (o.dtype != in.dtype) {
        return absl::InvalidArgumentError(
            absl::StrCat("loop-carried value ", k, " enters the body as ",
                         SpecText(in), " but the body returns ", SpecText(o)));
      }
      if (o.shape.rank() != in.shape.rank()) {
        return c.Unsupported(
            absl::StrCat("loop-carried value ", k, " enters the body as ",
                         SpecText(in), " but the body returns ", SpecText(o),
                         "; weft's While keeps a loop variable's rank"));
      }
      std::vector<int64_t> dims;
      for (int d = 0; d < in.shape.rank(); ++d) {
        const bool same = in.shape.dim(d) == o.shape.dim(d);
        dims.push_back(same ? in.shape.dim(d) : Shape::kUnknown);
        changed = changed || !same;
      }
      in.shape = Shape(dims);
    }
    if (!changed) break;
    if (attempt == 2) {
      return absl::InternalError(
          "the loop-carried values' shapes do not settle");
    }
  }

  // One accumulator per scan output, [0, dims...] at first.
  std::vector<Shape> scan_shapes;
  for (int j = 0; j < n_scan; ++j) {
    const TensorSpec& s = core.output_specs()[1 + n_carried + j];
    std::vector<int64_t> dims = {0};
    for (int64_t d : s.shape.dims()) {
      if (d < 0) {
        return c.Unsupported(absl::StrCat(
            "scan output ", j, " ('", g.output(1 + n_carried + j).name(),
            "') is ", SpecText(s),
            " per iteration; weft concatenates scan outputs in a loop "
            "variable, which needs every dim but the first known at "
            "import (declare them in the body's outputs)"));
      }
      dims.push_back(d);
    }
    scan_shapes.push_back(s.shape);
    ASSIGN_OR_RETURN_ONNX(
        Tensor empty, c.Const(NDArray::Uninitialized(s.dtype, Shape(dims))));
    init.push_back(empty);
    dims[0] = Shape::kUnknown;
    specs.push_back({s.dtype, Shape(dims), absl::StrCat("scan", j)});
  }

  // The condition: (M omitted or i < M) and c.
  std::vector<Tensor> m_capture;
  std::optional<NDArray> m_constant;
  if (has_m) {
    if (c.constant(0) != nullptr) {
      m_constant = *c.constant(0);
    } else {
      ASSIGN_OR_RETURN_ONNX(Tensor m, c.input(0));
      ASSIGN_OR_RETURN_ONNX(m, ToScalar(m, "the trip count M (input 0)",
                                        c.NextOpOptions("Reshape")));
      m_capture.push_back(m);
    }
  }
  if (m_constant.has_value() && m_constant->num_elements() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the trip count M must hold one element, but its shape is ",
        m_constant->shape().DebugString()));
  }
  ASSIGN_OR_RETURN_ONNX(
      Function cond_fn,
      Function::Trace(
          c.FunctionName("cond"), specs,
          [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
            if (!has_m) return {v[1]};
            Tensor m = m_constant.has_value()
                           ? ops::Const(NDArray::Scalar<int64_t>(
                                            m_constant->values<int64_t>()[0]),
                                        c.BodyOptions("M"))
                           : m_capture[0];
            Tensor more = ops::Less(v[0], m, c.BodyOptions("Less"));
            return {ops::LogicalAnd(more, v[1], c.BodyOptions("LogicalAnd"))};
          },
          FunctionOptions{.captures = m_capture}));

  // The body: Call the ONNX body, count, append the scan outputs.
  ASSIGN_OR_RETURN_ONNX(
      Function loop_fn,
      Function::Trace(
          c.FunctionName("loop"), specs,
          [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
            std::vector<Tensor> args(v.begin(), v.begin() + 2 + n_carried);
            std::vector<Tensor> out =
                ops::Call(core, args, c.BodyOptions("body"));
            if (absl::Status s = FirstError(out); !s.ok()) {
              return {Tensor::FromError(s)};
            }
            std::vector<Tensor> next;
            next.push_back(ops::Add(
                v[0],
                ops::Const(NDArray::Scalar<int64_t>(1), c.BodyOptions("one")),
                c.BodyOptions("next_iteration")));
            // Without a condition input the body's condition is ignored.
            if (has_cond) {
              absl::StatusOr<Tensor> cond =
                  ToScalar(out[0], "the body's condition (output 0)",
                           c.BodyOptions("cond"));
              next.push_back(cond.ok() ? *cond
                                       : Tensor::FromError(cond.status()));
            } else {
              next.push_back(v[1]);
            }
            for (int k = 0; k < n_carried; ++k) next.push_back(out[1 + k]);
            for (int j = 0; j < n_scan; ++j) {
              std::vector<int64_t> dims = {1};
              for (int64_t d : scan_shapes[j].dims()) dims.push_back(d);
              Tensor item = ops::Reshape(out[1 + n_carried + j], Shape(dims),
                                         c.BodyOptions("scan_item"));
              next.push_back(ops::Concat({v[2 + n_carried + j], item}, 0,
                                         c.BodyOptions("scan")));
            }
            return next;
          },
          FunctionOptions{.captures = core.captures()}));

  std::vector<Tensor> out =
      ops::While(cond_fn, loop_fn, init, {}, while_options);
  if (absl::Status s = FirstError(out); !s.ok()) return s;
  for (int i = 0; i < c.num_outputs(); ++i) {
    if (c.has_output(i)) c.SetOutput(i, out[2 + i]);
  }
  return absl::OkStatus();
}

// Scan, unrolled at import (as the RNN converters unroll their sequence):
// the scan length must be known at import. Each step slices the scan
// inputs (Gather at the step's index along each input's scan axis, from
// the end for a reverse direction), imports the body inline on the states
// and slices, and carries its states on; the scan outputs are stacked
// along their axes (in reverse for a reverse direction). Scan-8's batch
// axis is unrolled too (each batch element scans on its own), its
// sequence_lens only where every length is the full one.
absl::Status Scan(NodeContext& c) {
  ASSIGN_OR_RETURN_ONNX(Subgraph body, c.GraphAttr("body"));
  const bool v8 = c.opset() < 9;
  const int first = v8 ? 1 : 0;  // Scan-8's sequence_lens comes first.
  const int64_t m = c.Int("num_scan_inputs", 0);
  const int n = c.num_inputs() - first - static_cast<int>(m);
  const int k = body.graph->output_size() - n;
  if (m < 1 || n < 0 || k < 0 || body.graph->input_size() != n + m ||
      c.num_outputs() > n + k) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Scan with ", m, " scan inputs of ", c.num_inputs(),
        " inputs does not match its body (", body.graph->input_size(),
        " inputs, ", body.graph->output_size(), " outputs)"));
  }
  std::vector<int64_t> in_axes(m, v8 ? 1 : 0), in_dirs(m, 0),
      out_axes(k, v8 ? 1 : 0), out_dirs(k, 0);
  if (v8) {
    in_dirs = c.Ints("directions", in_dirs);
  } else {
    in_axes = c.Ints("scan_input_axes", in_axes);
    in_dirs = c.Ints("scan_input_directions", in_dirs);
    out_axes = c.Ints("scan_output_axes", out_axes);
    out_dirs = c.Ints("scan_output_directions", out_dirs);
  }
  if (static_cast<int64_t>(in_axes.size()) != m ||
      static_cast<int64_t>(in_dirs.size()) != m ||
      static_cast<int>(out_axes.size()) != k ||
      static_cast<int>(out_dirs.size()) != k) {
    return absl::InvalidArgumentError(
        "Scan's axes and directions must have one entry per scan input / "
        "output");
  }
  auto tensor_of = [&](const Value& v) -> absl::StatusOr<Tensor> {
    if (v.tensor.ok()) return v.tensor;
    if (v.constant.has_value()) return c.Const(*v.constant);
    return absl::InvalidArgumentError("the body returned a sequence");
  };
  auto index = [&](int64_t i) { return c.Const(NDArray::Scalar<int64_t>(i)); };
  // Gathers x[..., i, ...] along `axis` (the axis removed).
  auto take = [&](const Tensor& x, int64_t i,
                  int64_t axis) -> absl::StatusOr<Tensor> {
    ASSIGN_OR_RETURN_ONNX(Tensor at, index(i));
    return c.Op("Gather", {x, at}, {{"axis", axis}});
  };
  std::vector<Tensor> states(n), xs(m);
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN_ONNX(states[i], c.input(first + i));
  }
  int64_t len = -1, batch = 1;
  for (int64_t j = 0; j < m; ++j) {
    ASSIGN_OR_RETURN_ONNX(xs[j], c.input(first + n + static_cast<int>(j)));
    const Shape& s = xs[j].shape();
    ASSIGN_OR_RETURN_ONNX(in_axes[j], NormalizeAxis(in_axes[j], s.rank()));
    const int64_t d = s.dim(static_cast<int>(in_axes[j]));
    if (d < 0 || (v8 && s.dim(0) < 0)) {
      return c.Unsupported(
          "a scan length or batch size unknown at import (pin the input "
          "shapes with OnnxImportOptions::input_shapes)");
    }
    if (len >= 0 && d != len) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scan inputs of different lengths (", len, " and ", d, ")"));
    }
    len = d;
    if (v8) batch = s.dim(0);
  }
  if (len == 0) return c.Unsupported("a scan of length 0");
  if (batch > 0 && len > kMaxUnrolledSteps / batch) {
    return c.Unsupported(absl::StrCat(
        "a scan of ", len, " steps", v8 ? absl::StrCat(" x batch ", batch) : "",
        " (weft unrolls at most ", kMaxUnrolledSteps, " steps)"));
  }
  if (v8 && c.has_input(0)) {
    ASSIGN_OR_RETURN_ONNX(std::vector<int64_t> lens,
                          c.ConstInts(0, "sequence_lens"));
    for (int64_t l : lens) {
      if (l != len) return c.Unsupported("sequence_lens shorter than the scan");
    }
  }
  // Per batch element (one for Scan-9+): final states, stacked outputs.
  std::vector<std::vector<Tensor>> final_states(n), stacked(k);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> st(n), seq(m);
    for (int i = 0; i < n; ++i) {
      if (v8) {
        ASSIGN_OR_RETURN_ONNX(st[i], take(states[i], b, 0));
      } else {
        st[i] = states[i];
      }
    }
    for (int64_t j = 0; j < m; ++j) {
      if (v8) {
        ASSIGN_OR_RETURN_ONNX(seq[j], take(xs[j], b, 0));
      } else {
        seq[j] = xs[j];
      }
    }
    std::vector<std::vector<Tensor>> steps(k, std::vector<Tensor>(len));
    for (int64_t t = 0; t < len; ++t) {
      std::vector<Value> args;
      for (const Tensor& s : st) args.push_back(Value{.tensor = s});
      for (int64_t j = 0; j < m; ++j) {
        const int64_t at = in_dirs[j] != 0 ? len - 1 - t : t;
        ASSIGN_OR_RETURN_ONNX(
            Tensor slice, take(seq[j], at, v8 ? in_axes[j] - 1 : in_axes[j]));
        args.push_back(Value{.tensor = slice});
      }
      ASSIGN_OR_RETURN_ONNX(std::vector<Value> r,
                            c.ImportSubgraph(body, args, /*traced=*/false));
      for (int i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN_ONNX(st[i], tensor_of(r[i]));
      }
      for (int q = 0; q < k; ++q) {
        ASSIGN_OR_RETURN_ONNX(Tensor out, tensor_of(r[n + q]));
        steps[q][out_dirs[q] != 0 ? len - 1 - t : t] = out;
      }
    }
    for (int i = 0; i < n; ++i) final_states[i].push_back(st[i]);
    for (int q = 0; q < k; ++q) {
      ASSIGN_OR_RETURN_ONNX(
          Tensor y,
          StackAlong(c, steps[q], v8 ? out_axes[q] - 1 : out_axes[q]));
      stacked[q].push_back(y);
    }
  }
  for (int i = 0; i < n && i < c.num_outputs(); ++i) {
    Tensor y = final_states[i].front();
    if (v8) {
      ASSIGN_OR_RETURN_ONNX(y, StackAlong(c, final_states[i], 0));
    }
    if (c.has_output(i)) c.SetOutput(i, y);
  }
  for (int q = 0; q < k && n + q < c.num_outputs(); ++q) {
    Tensor y = stacked[q].front();
    if (v8) {
      ASSIGN_OR_RETURN_ONNX(y, StackAlong(c, stacked[q], 0));
    }
    if (c.has_output(n + q)) c.SetOutput(n + q, y);
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterControlFlowConverters(
    absl::flat_hash_map<std::string, Converter>& t) {
  t["If"] = If;
  t["Loop"] = Loop;
  t["Scan"] = Scan;
}

}  // namespace onnx_internal
}  // namespace weft
