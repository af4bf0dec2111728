// The logic family's kernels (ops defined in graph/logic_ops.cc): the
// comparisons Less, LessEqual, Greater, GreaterEqual,
// Equal, NotEqual (numpy broadcasting, bool output, every numeric dtype;
// Equal/NotEqual also bool), LogicalAnd, LogicalOr, LogicalXor, LogicalNot,
// IsNaN and IsInf (float32/float64 in, bool out), and Select (cond, a, b
// broadcast together; a and b of any dtype).
#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "graph/shape_util.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

constexpr int kInlineRank = 6;
using Dims = absl::InlinedVector<int64_t, kInlineRank>;

// Element strides of `in` for each dim of `out` (0 where `in` broadcasts).
Dims BroadcastStrides(const Shape& in, const Shape& out) {
  const int rank = out.rank();
  Dims strides(rank, 0);
  int64_t run = 1;
  for (int i = rank - 1; i >= 0; --i) {
    const int j = i - (rank - in.rank());
    if (j < 0) break;
    if (in.dim(j) != 1) strides[i] = run;
    run *= in.dim(j);
  }
  return strides;
}

// Walks the output [begin, end) in row-major order and calls
// f(i, offsets...) with each operand's element offset.
template <size_t N, typename F>
void ForEachBroadcast(const Shape& out, const std::array<Dims, N>& strides,
                      int64_t begin, int64_t end, const F& f) {
  const int rank = out.rank();
  Dims index(rank, 0);
  std::array<int64_t, N> off{};
  int64_t rest = begin;
  for (int d = rank - 1; d >= 0; --d) {
    index[d] = rest % out.dim(d);
    rest /= out.dim(d);
    for (size_t k = 0; k < N; ++k) off[k] += index[d] * strides[k][d];
  }
  for (int64_t i = begin; i < end; ++i) {
    f(i, off);
    for (int d = rank - 1; d >= 0; --d) {
      ++index[d];
      for (size_t k = 0; k < N; ++k) off[k] += strides[k][d];
      if (index[d] < out.dim(d)) break;
      for (size_t k = 0; k < N; ++k) off[k] -= index[d] * strides[k][d];
      index[d] = 0;
    }
  }
}

// The broadcast output shape of `arrays`, as a run-time error on mismatch.
absl::StatusOr<Shape> OutputShape(
    std::initializer_list<const NDArray*> arrays) {
  Shape out = (*arrays.begin())->shape();
  for (const NDArray* a : arrays) {
    if (a->shape() == out) continue;
    absl::StatusOr<Shape> s = BroadcastShapes(out, a->shape());
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "incompatible shapes at run time: ", s.status().message()));
    }
    out = *std::move(s);
  }
  return out;
}

struct LessOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a < b;
  }
};
struct LessEqualOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a <= b;
  }
};
struct GreaterOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a > b;
  }
};
struct GreaterEqualOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a >= b;
  }
};
struct EqualOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a == b;
  }
};
struct NotEqualOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a != b;
  }
};
struct AndOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a && b;
  }
};
struct OrOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a || b;
  }
};

struct XorOp {
  template <typename T>
  static bool Apply(T a, T b) {
    return a != b;
  }
};

absl::Status CheckDType(const NDArray& a, DType want, int i) {
  if (a.dtype() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected input ", i, " of dtype ", DTypeName(want),
                     ", got ", DTypeName(a.dtype())));
  }
  return absl::OkStatus();
}

// A binary predicate over T with a bool output.
template <typename Op, typename T>
absl::Status PredicateKernel(OpKernelContext& ctx) {
  const NDArray& a = ctx.input(0);
  const NDArray& b = ctx.input(1);
  constexpr DType kDType = DTypeOf<T>::value;
  if (absl::Status s = CheckDType(a, kDType, 0); !s.ok()) return s;
  if (absl::Status s = CheckDType(b, kDType, 1); !s.ok()) return s;
  absl::StatusOr<Shape> shape = OutputShape({&a, &b});
  if (!shape.ok()) return shape.status();
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, *shape);
  if (!out.ok()) return out.status();
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  bool* po = out->mutable_data<bool>();
  const int64_t n = out->num_elements();
  if (a.num_elements() == n && b.num_elements() == n) {
    ForRange(n, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = Op::Apply(pa[i], pb[i]);
      return 0;
    });
  } else if (b.num_elements() == 1) {
    const T y = pb[0];
    ForRange(n, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = Op::Apply(pa[i], y);
      return 0;
    });
  } else if (a.num_elements() == 1) {
    const T x = pa[0];
    ForRange(n, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = Op::Apply(x, pb[i]);
      return 0;
    });
  } else {
    const Shape& os = *shape;
    const std::array<Dims, 2> strides = {BroadcastStrides(a.shape(), os),
                                         BroadcastStrides(b.shape(), os)};
    ForRange(n, [&](int64_t begin, int64_t end) {
      ForEachBroadcast<2>(os, strides, begin, end,
                          [&](int64_t i, const std::array<int64_t, 2>& o) {
                            po[i] = Op::Apply(pa[o[0]], pb[o[1]]);
                          });
      return 0;
    });
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

absl::Status LogicalNotKernel(OpKernelContext& ctx) {
  const NDArray& x = ctx.input(0);
  if (absl::Status s = CheckDType(x, DType::kBool, 0); !s.ok()) return s;
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, x.shape());
  if (!out.ok()) return out.status();
  const bool* px = static_cast<const bool*>(x.raw_data());
  bool* po = out->mutable_data<bool>();
  ForRange(x.num_elements(), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) po[i] = !px[i];
    return 0;
  });
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

// out[i] = pred(x[i]) for a float input x and a bool output.
template <typename T, typename Pred>
absl::Status FloatTest(OpKernelContext& ctx, const Pred& pred) {
  const NDArray& x = ctx.input(0);
  if (absl::Status s = CheckDType(x, DTypeOf<T>::value, 0); !s.ok()) return s;
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, x.shape());
  if (!out.ok()) return out.status();
  const T* px = static_cast<const T*>(x.raw_data());
  bool* po = out->mutable_data<bool>();
  ForRange(x.num_elements(), [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) po[i] = pred(px[i]);
    return 0;
  });
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

template <typename T>
absl::Status IsNaNKernel(OpKernelContext& ctx) {
  return FloatTest<T>(ctx, [](T v) { return v != v; });
}

// IsInf reads detect_positive / detect_negative (true when absent) once.
template <typename T>
class IsInfKernel : public OpKernel {
 public:
  explicit IsInfKernel(OpKernelConstruction& c) : OpKernel(c) {
    for (auto [name, flag] : {std::pair{"detect_positive", &positive_},
                              std::pair{"detect_negative", &negative_}}) {
      if (!c.node().attrs().contains(name)) continue;
      if (absl::Status s = c.GetAttr(name, flag); !s.ok()) {
        c.SetStatus(s);
        return;
      }
    }
  }
  absl::Status Compute(OpKernelContext& ctx) const override {
    constexpr T kInf = std::numeric_limits<T>::infinity();
    const bool pos = positive_, neg = negative_;
    return FloatTest<T>(ctx, [pos, neg](T v) {
      return (pos && v == kInf) || (neg && v == -kInf);
    });
  }

 private:
  bool positive_ = true;
  bool negative_ = true;
};

// Select(cond, a, b) for the values' element type T.
template <typename T>
absl::Status SelectTyped(OpKernelContext& ctx) {
  const NDArray& c = ctx.input(0);
  const NDArray& a = ctx.input(1);
  const NDArray& b = ctx.input(2);
  constexpr DType kDType = DTypeOf<T>::value;
  if (absl::Status s = CheckDType(c, DType::kBool, 0); !s.ok()) return s;
  if (absl::Status s = CheckDType(a, kDType, 1); !s.ok()) return s;
  if (absl::Status s = CheckDType(b, kDType, 2); !s.ok()) return s;
  absl::StatusOr<Shape> shape = OutputShape({&c, &a, &b});
  if (!shape.ok()) return shape.status();
  // A scalar condition picks a whole operand of the output's shape: forward
  // its buffer without copying.
  if (c.num_elements() == 1) {
    const bool take_a = static_cast<const bool*>(c.raw_data())[0];
    const NDArray& chosen = take_a ? a : b;
    if (chosen.shape() == *shape) {
      ctx.set_output(0, chosen);
      return absl::OkStatus();
    }
  }
  absl::StatusOr<NDArray> out = ctx.allocate_output(0, *shape);
  if (!out.ok()) return out.status();
  const bool* pc = static_cast<const bool*>(c.raw_data());
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* po = out->mutable_data<T>();
  const int64_t n = out->num_elements();
  if (c.num_elements() == n && a.num_elements() == n && b.num_elements() == n) {
    ForRange(n, [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) po[i] = pc[i] ? pa[i] : pb[i];
      return 0;
    });
  } else {
    const Shape& os = *shape;
    const std::array<Dims, 3> strides = {BroadcastStrides(c.shape(), os),
                                         BroadcastStrides(a.shape(), os),
                                         BroadcastStrides(b.shape(), os)};
    ForRange(n, [&](int64_t begin, int64_t end) {
      ForEachBroadcast<3>(os, strides, begin, end,
                          [&](int64_t i, const std::array<int64_t, 3>& o) {
                            po[i] = pc[o[0]] ? pa[o[1]] : pb[o[2]];
                          });
      return 0;
    });
  }
  ctx.set_output(0, *std::move(out));
  return absl::OkStatus();
}

// Select is looked up by its condition's dtype (bool); the values' dtype is
// fixed per node, so the typed loop is chosen once, at construction.
class SelectKernel : public OpKernel {
 public:
  explicit SelectKernel(OpKernelConstruction& c) : OpKernel(c) {
    switch (c.input_dtype(1)) {
      case DType::kFloat32:
        fn_ = SelectTyped<float>;
        break;
      case DType::kFloat64:
        fn_ = SelectTyped<double>;
        break;
      case DType::kInt32:
        fn_ = SelectTyped<int32_t>;
        break;
      case DType::kInt64:
        fn_ = SelectTyped<int64_t>;
        break;
      case DType::kBool:
        fn_ = SelectTyped<bool>;
        break;
      default:
        c.SetStatus(absl::InvalidArgumentError(
            absl::StrCat("Select has no kernel for values of dtype ",
                         DTypeName(c.input_dtype(1)))));
    }
  }
  absl::Status Compute(OpKernelContext& ctx) const override { return fn_(ctx); }

 private:
  absl::Status (*fn_)(OpKernelContext&) = nullptr;
};

template <typename Op, typename T>
void RegisterPredicate(KernelRegistry& r, const char* op) {
  MustRegister(r, {.op = op,
                   .dtype = DTypeOf<T>::value,
                   .factory = FunctionKernelFactory(PredicateKernel<Op, T>)});
}

}  // namespace

void RegisterLogicKernels(KernelRegistry& registry) {
  ForEachNumericType([&]<typename T>() {
    RegisterPredicate<LessOp, T>(registry, "Less");
    RegisterPredicate<LessEqualOp, T>(registry, "LessEqual");
    RegisterPredicate<GreaterOp, T>(registry, "Greater");
    RegisterPredicate<GreaterEqualOp, T>(registry, "GreaterEqual");
    RegisterPredicate<EqualOp, T>(registry, "Equal");
    RegisterPredicate<NotEqualOp, T>(registry, "NotEqual");
  });
  RegisterPredicate<EqualOp, bool>(registry, "Equal");
  RegisterPredicate<NotEqualOp, bool>(registry, "NotEqual");
  RegisterPredicate<AndOp, bool>(registry, "LogicalAnd");
  RegisterPredicate<OrOp, bool>(registry, "LogicalOr");
  RegisterPredicate<XorOp, bool>(registry, "LogicalXor");
  for (DType dt : {DType::kFloat32, DType::kFloat64}) {
    const bool f32 = dt == DType::kFloat32;
    MustRegister(registry,
                 {.op = "IsNaN",
                  .dtype = dt,
                  .factory = FunctionKernelFactory(f32 ? IsNaNKernel<float>
                                                       : IsNaNKernel<double>)});
    MustRegister(registry,
                 {.op = "IsInf",
                  .dtype = dt,
                  .factory = f32 ? MakeKernelFactory<IsInfKernel<float>>()
                                 : MakeKernelFactory<IsInfKernel<double>>()});
  }
  MustRegister(registry, {.op = "LogicalNot",
                          .dtype = DType::kBool,
                          .factory = FunctionKernelFactory(LogicalNotKernel)});
  MustRegister(registry, {.op = "Select",
                          .dtype = DType::kBool,
                          .factory = MakeKernelFactory<SelectKernel>()});
}

}  // namespace kernels_internal
}  // namespace weft
