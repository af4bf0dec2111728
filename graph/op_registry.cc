#include "graph/op_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/function.h"
#include "graph/nn_ops.h"

namespace weft {

absl::Status InferenceContext::DTypeError(std::string message) {
  error_kind = ErrorKind::kDType;
  return absl::InvalidArgumentError(std::move(message));
}
absl::Status InferenceContext::ShapeError(std::string message) {
  error_kind = ErrorKind::kShape;
  return absl::InvalidArgumentError(std::move(message));
}
absl::Status InferenceContext::AttrError(std::string message) {
  error_kind = ErrorKind::kAttr;
  return absl::InvalidArgumentError(std::move(message));
}

absl::Status InferSameAsInput(InferenceContext& c) {
  c.SetOutput(c.input_dtypes[0], c.input_shapes[0]);
  return absl::OkStatus();
}

namespace {

// More outputs than any sane Split needs; keeps a typo from allocating
// millions of output slots.
constexpr int64_t kMaxSplits = 1 << 16;

std::string InputDesc(const InferenceContext& c, int i) {
  return absl::StrCat("input ", i, " is ", DTypeName(c.input_dtypes[i]),
                      c.input_shapes[i].DebugString());
}

absl::Status RequireNumeric(InferenceContext& c, int i) {
  if (!IsNumeric(c.input_dtypes[i])) {
    return c.DTypeError(absl::StrCat(
        InputDesc(c, i), "; this op takes float32, float64, int32 or int64"));
  }
  return absl::OkStatus();
}

absl::Status RequireFloating(InferenceContext& c, int i) {
  if (!IsFloating(c.input_dtypes[i])) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, i), "; this op takes float32 or float64"));
  }
  return absl::OkStatus();
}

absl::Status RequireSameDType(InferenceContext& c) {
  if (c.input_dtypes[0] != c.input_dtypes[1]) {
    return c.DTypeError(absl::StrCat("dtype mismatch: ", InputDesc(c, 0),
                                     " but ", InputDesc(c, 1)));
  }
  return absl::OkStatus();
}

absl::Status InferBinary(InferenceContext& c) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  absl::StatusOr<Shape> shape =
      BroadcastShapes(c.input_shapes[0], c.input_shapes[1]);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(c.input_dtypes[0], *std::move(shape));
  return absl::OkStatus();
}

// Less, ..., NotEqual: one numeric dtype (Equal/NotEqual also bool),
// broadcasting, bool output.
absl::Status InferCompare(InferenceContext& c, bool allow_bool) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (!(allow_bool && c.input_dtypes[0] == DType::kBool)) {
    if (!IsNumeric(c.input_dtypes[0])) {
      return c.DTypeError(absl::StrCat(
          InputDesc(c, 0), "; this comparison takes float32, float64, int32 ",
          allow_bool ? "int64 or bool" : "or int64"));
    }
  }
  absl::StatusOr<Shape> shape =
      BroadcastShapes(c.input_shapes[0], c.input_shapes[1]);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(DType::kBool, *std::move(shape));
  return absl::OkStatus();
}

absl::Status RequireBool(InferenceContext& c, int i, std::string_view what) {
  if (c.input_dtypes[i] != DType::kBool) {
    return c.DTypeError(
        absl::StrCat(InputDesc(c, i), "; ", what, " takes bool"));
  }
  return absl::OkStatus();
}

absl::Status InferLogicalBinary(InferenceContext& c) {
  if (absl::Status s = RequireBool(c, 0, "this logical op"); !s.ok()) return s;
  if (absl::Status s = RequireBool(c, 1, "this logical op"); !s.ok()) return s;
  absl::StatusOr<Shape> shape =
      BroadcastShapes(c.input_shapes[0], c.input_shapes[1]);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(DType::kBool, *std::move(shape));
  return absl::OkStatus();
}

// Select(cond, a, b): cond bool, a and b of one dtype; the three shapes
// broadcast together.
absl::Status InferSelect(InferenceContext& c) {
  if (absl::Status s = RequireBool(c, 0, "Select's condition (input 0)");
      !s.ok()) {
    return s;
  }
  if (c.input_dtypes[1] != c.input_dtypes[2]) {
    return c.DTypeError(absl::StrCat("dtype mismatch: ", InputDesc(c, 1),
                                     " but ", InputDesc(c, 2),
                                     "; Select's two values share a dtype"));
  }
  absl::StatusOr<Shape> ab =
      BroadcastShapes(c.input_shapes[1], c.input_shapes[2]);
  if (!ab.ok()) return c.ShapeError(std::string(ab.status().message()));
  absl::StatusOr<Shape> shape = BroadcastShapes(c.input_shapes[0], *ab);
  if (!shape.ok()) return c.ShapeError(std::string(shape.status().message()));
  c.SetOutput(c.input_dtypes[1], *std::move(shape));
  return absl::OkStatus();
}

absl::Status InferUnaryNumeric(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  return InferSameAsInput(c);
}

absl::Status InferUnaryFloating(InferenceContext& c) {
  if (absl::Status s = RequireFloating(c, 0); !s.ok()) return s;
  return InferSameAsInput(c);
}

// MatMul: [m,k] x [k,n] -> [m,n]; the optional bool attrs transpose_a /
// transpose_b read a as [k,m] / b as [n,k].
absl::Status InferMatMul(InferenceContext& c) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  absl::StatusOr<bool> ta = internal::OptionalBoolAttr(c, "transpose_a");
  if (!ta.ok()) return ta.status();
  absl::StatusOr<bool> tb = internal::OptionalBoolAttr(c, "transpose_b");
  if (!tb.ok()) return tb.status();
  const Shape& a = c.input_shapes[0];
  const Shape& b = c.input_shapes[1];
  if (a.rank() != 2 || b.rank() != 2) {
    return c.ShapeError(absl::StrCat(
        "MatMul takes two matrices, got ", a.DebugString(), " and ",
        b.DebugString(), "; for batches of matrices use BatchMatMul"));
  }
  const int64_t m = a.dim(*ta ? 1 : 0), ka = a.dim(*ta ? 0 : 1);
  const int64_t kb = b.dim(*tb ? 1 : 0), n = b.dim(*tb ? 0 : 1);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return c.ShapeError(absl::StrCat(
        "MatMul inner dimensions differ: ", a.DebugString(),
        *ta ? " (transposed)" : "", " x ", b.DebugString(),
        *tb ? " (transposed)" : "", " (", ka, " vs ", kb,
        "); check the operand order or the transpose_a/transpose_b flags"));
  }
  c.SetOutput(c.input_dtypes[0], Shape{m, n});
  return absl::OkStatus();
}

// Pow: both inputs of one numeric dtype, broadcasting (integers: exact,
// wrapping; a negative exponent fails at run time).
absl::Status InferPow(InferenceContext& c) {
  if (absl::Status s = RequireSameDType(c); !s.ok()) return s;
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  return InferBinary(c);
}

absl::Status InferReduce(InferenceContext& c) {
  if (absl::Status s = RequireNumeric(c, 0); !s.ok()) return s;
  absl::StatusOr<const std::vector<int64_t>*> axes =
      c.Attr<std::vector<int64_t>>("axes");
  if (!axes.ok()) return axes.status();
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<std::vector<int>> norm = NormalizeAxes(**axes, in.rank());
  if (!norm.ok()) return c.AttrError(std::string(norm.status().message()));
  std::vector<int64_t> out;
  for (int i = 0; i < in.rank(); ++i) {
    if (!std::binary_search(norm->begin(), norm->end(), i)) {
      out.push_back(in.dim(i));
    }
  }
  c.SetOutput(c.input_dtypes[0], Shape(std::move(out)));
  return absl::OkStatus();
}

absl::Status InferReshape(InferenceContext& c) {
  absl::StatusOr<const Shape*> target = c.Attr<Shape>("shape");
  if (!target.ok()) return target.status();
  absl::StatusOr<Shape> out = ResolveReshape(c.input_shapes[0], **target);
  if (!out.ok()) return c.ShapeError(std::string(out.status().message()));
  c.SetOutput(c.input_dtypes[0], *std::move(out));
  return absl::OkStatus();
}

absl::Status InferSplit(InferenceContext& c) {
  absl::StatusOr<const int64_t*> num = c.Attr<int64_t>("num_splits");
  if (!num.ok()) return num.status();
  absl::StatusOr<const int64_t*> axis_attr = c.Attr<int64_t>("axis");
  if (!axis_attr.ok()) return axis_attr.status();
  const int64_t n = **num;
  if (n < 1 || n > kMaxSplits) {
    return c.AttrError(absl::StrCat("Split num_splits is ", n,
                                    "; it must be from 1 to ", kMaxSplits));
  }
  const Shape& in = c.input_shapes[0];
  absl::StatusOr<int> axis =
      NormalizeAxis(**axis_attr, in.rank(), "Split axis");
  if (!axis.ok()) return c.AttrError(std::string(axis.status().message()));
  std::vector<int64_t> dims = in.dims();
  if (dims[*axis] >= 0) {
    if (dims[*axis] % n != 0) {
      return c.ShapeError(absl::StrCat(
          "Split cannot divide dimension ", *axis, " of ", in.DebugString(),
          " (size ", dims[*axis], ") into ", n, " equal parts"));
    }
    dims[*axis] /= n;
  }
  c.SetOutputs(std::vector<DType>(n, c.input_dtypes[0]),
               std::vector<Shape>(n, Shape(dims)));
  return absl::OkStatus();
}

void RegisterStandardOps(OpRegistry& r) {
  auto reg = [&r](OpDef def) {
    absl::Status s = r.Register(std::move(def));
    (void)s;  // Built-in names are distinct; Register cannot fail here.
  };
  reg({"Const", 0, {"value"}, [](InferenceContext& c) -> absl::Status {
         absl::StatusOr<const NDArray*> v = c.Attr<NDArray>("value");
         if (!v.ok()) return v.status();
         if (!(*v)->valid()) return c.AttrError("Const of an empty NDArray");
         c.SetOutput((*v)->dtype(), (*v)->shape());
         return absl::OkStatus();
       }});
  reg({"Placeholder",
       0,
       {"dtype", "shape"},
       [](InferenceContext& c) -> absl::Status {
         absl::StatusOr<const DType*> d = c.Attr<DType>("dtype");
         if (!d.ok()) return d.status();
         absl::StatusOr<const Shape*> s = c.Attr<Shape>("shape");
         if (!s.ok()) return s.status();
         if (!IsValidDType(**d)) return c.DTypeError("invalid dtype");
         if (absl::Status v = (*s)->Validate(); !v.ok()) {
           return c.ShapeError(std::string(v.message()));
         }
         c.SetOutput(**d, **s);
         return absl::OkStatus();
       }});
  reg({"Identity", 1, {}, InferSameAsInput});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Maximum", "Minimum"}) {
    reg({op, 2, {}, InferBinary});
  }
  reg({"Pow", 2, {}, InferPow});
  for (const char* op : {"Less", "LessEqual", "Greater", "GreaterEqual"}) {
    reg({op, 2, {}, [](InferenceContext& c) {
           return InferCompare(c, false);
         }});
  }
  for (const char* op : {"Equal", "NotEqual"}) {
    reg({op, 2, {}, [](InferenceContext& c) { return InferCompare(c, true); }});
  }
  for (const char* op : {"LogicalAnd", "LogicalOr"}) {
    reg({op, 2, {}, InferLogicalBinary});
  }
  reg({"LogicalNot", 1, {}, [](InferenceContext& c) -> absl::Status {
         if (absl::Status s = RequireBool(c, 0, "LogicalNot"); !s.ok()) {
           return s;
         }
         c.SetOutput(DType::kBool, c.input_shapes[0]);
         return absl::OkStatus();
       }});
  reg({"Select", 3, {}, InferSelect});
  for (const char* op : {"Neg", "Relu", "Abs", "Square"}) {
    reg({op, 1, {}, InferUnaryNumeric});
  }
  for (const char* op :
       {"Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Rsqrt", "Erf"}) {
    reg({op, 1, {}, InferUnaryFloating});
  }
  reg({"MatMul", 2, {}, InferMatMul});
  reg({"ReduceSum", 1, {"axes"}, InferReduce});
  reg({"ReduceMean", 1, {"axes"}, InferReduce});
  reg({"Reshape", 1, {"shape"}, InferReshape});
  reg({.type = "Split",
       .num_inputs = 1,
       .attrs = {"num_splits", "axis"},
       .infer = InferSplit,
       .num_outputs = OpDef::kOutputsFromInference});
  internal::RegisterFunctionOps(r);
  internal::RegisterNnOps(r);
  reg({"Cast", 1, {"dtype"}, [](InferenceContext& c) -> absl::Status {
         absl::StatusOr<const DType*> d = c.Attr<DType>("dtype");
         if (!d.ok()) return d.status();
         if (!IsValidDType(**d))
           return c.DTypeError("Cast to an invalid dtype");
         c.SetOutput(**d, c.input_shapes[0]);
         return absl::OkStatus();
       }});
}

}  // namespace

OpRegistry::OpRegistry() = default;

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    RegisterStandardOps(*r);
    return r;
  }();
  return *registry;
}

absl::Status OpRegistry::Register(OpDef def) {
  if (def.type.empty() || !def.infer) {
    return absl::InvalidArgumentError(
        "OpRegistry::Register: an op needs a type name and an inference "
        "function");
  }
  if ((def.num_inputs < 0 && def.num_inputs != OpDef::kVariadicInputs) ||
      (def.num_outputs < 1 &&
       def.num_outputs != OpDef::kOutputsFromInference)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "OpRegistry::Register: op '", def.type, "' declares ", def.num_inputs,
        " input(s) and ", def.num_outputs,
        " output(s); ops take >= 0 inputs and have >= 1 outputs (or "
        "OpDef::kOutputsFromInference)"));
  }
  absl::MutexLock lock(&mu_);
  if (ops_.contains(def.type)) {
    return absl::AlreadyExistsError(
        absl::StrCat("op '", def.type, "' is already registered"));
  }
  std::string type = def.type;
  ops_.emplace(std::move(type), std::make_unique<const OpDef>(std::move(def)));
  return absl::OkStatus();
}

const OpDef* OpRegistry::Find(std::string_view type) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = ops_.find(type);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::ListOps() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, def] : ops_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace weft
