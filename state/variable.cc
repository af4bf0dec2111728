#include "state/variable.h"

#include <cstdint>
#include <type_traits>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/graph_io.h"
#include "graph/provenance.h"
#include "state/variable_impl.h"

namespace weft {
namespace {

using internal::Quoted;

std::string SiteString(const std::source_location& where) {
  return SourceSite::From(where).ToString();
}

std::string TypeString(DType dtype, const Shape& shape) {
  return absl::StrCat(DTypeName(dtype), shape.DebugString());
}

// The rules of node names (graph/graph.cc ValidateNodeName), so that a
// variable's name can name the nodes that use it and a checkpoint entry.
absl::Status ValidateVariableName(std::string_view name,
                                  const std::source_location& where) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Variable::Create: invalid variable name ", Quoted(name), ": ", why,
        "\n  variable created at ", SiteString(where), ", thread ",
        Quoted(CurrentThreadName()),
        "\n  fix: use letters, digits, '_', '.', '-', and '/' between "
        "scopes, as in 'dense/kernel'"));
  };
  if (name.empty()) return bad("names cannot be empty");
  if (name.front() == '/' || name.back() == '/') {
    return bad("a name cannot start or end with '/'");
  }
  char prev = 0;
  for (char ch : name) {
    if (ch == '/' && prev == '/') return bad("empty scope segment ('//')");
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_' ||
          ch == '.' || ch == '-' || ch == '/')) {
      return bad(absl::StrCat("character ",
                              Quoted(absl::CEscape(std::string(1, ch))),
                              " is not allowed"));
    }
    prev = ch;
  }
  return absl::OkStatus();
}

// Live variables by name. A VariableImpl registers itself once it is owned
// by a shared_ptr and unregisters in its destructor.
//
// Thread safety: all methods lock mu_.
class Registry {
 public:
  static Registry& Global() {
    static Registry* const registry = new Registry;  // Never destroyed.
    return *registry;
  }

  void Add(const std::shared_ptr<VariableImpl>& impl) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    by_name_[impl->name()].push_back(Entry{impl.get(), impl});
  }

  void Remove(const VariableImpl* impl) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = by_name_.find(impl->name());
    if (it == by_name_.end()) return;
    std::vector<Entry>& entries = it->second;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].raw == impl) {
        entries.erase(entries.begin() + i);
        break;
      }
    }
    if (entries.empty()) by_name_.erase(it);
  }

  std::vector<std::shared_ptr<VariableImpl>> Live(std::string_view name)
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::shared_ptr<VariableImpl>> live;
    absl::MutexLock lock(&mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return live;
    for (const Entry& e : it->second) {
      // Null while the last handle is being dropped, before ~VariableImpl
      // removes the entry.
      if (std::shared_ptr<VariableImpl> p = e.weak.lock()) {
        live.push_back(std::move(p));
      }
    }
    return live;
  }

 private:
  struct Entry {
    const VariableImpl* raw;
    std::weak_ptr<VariableImpl> weak;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Entry>> by_name_
      ABSL_GUARDED_BY(mu_);
};

const std::string& EmptyString() {
  static const std::string* const empty = new std::string;
  return *empty;
}

const Shape& ScalarShape() {
  static const Shape* const scalar = new Shape;
  return *scalar;
}

absl::Status NullVariableError(std::string_view what) {
  return absl::FailedPreconditionError(
      internal::NullHandleMessage(absl::StrCat(what, " on"), "Variable"));
}

// a (+|-) b for one element type. Integers are computed in the unsigned type
// of the same width, so overflow wraps around instead of being undefined.
template <typename T, bool kSubtract>
NDArray Combine(const NDArray& a, const NDArray& b) {
  NDArray out = NDArray::Uninitialized(a.dtype(), a.shape());
  absl::Span<const T> x = a.values<T>();
  absl::Span<const T> y = b.values<T>();
  T* z = out.mutable_data<T>();
  for (size_t i = 0; i < x.size(); ++i) {
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      const U ux = static_cast<U>(x[i]);
      const U uy = static_cast<U>(y[i]);
      z[i] = static_cast<T>(kSubtract ? static_cast<U>(ux - uy)
                                      : static_cast<U>(ux + uy));
    } else {
      z[i] = kSubtract ? x[i] - y[i] : x[i] + y[i];
    }
  }
  return out;
}

template <bool kSubtract>
absl::StatusOr<NDArray> CombineArrays(const NDArray& a, const NDArray& b) {
  const char* op = kSubtract ? "SubtractArrays" : "AddArrays";
  if (!a.valid() || !b.valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": an operand is an invalid (empty) NDArray"));
  }
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": operands differ: ", TypeString(a.dtype(), a.shape()), " and ",
        TypeString(b.dtype(), b.shape())));
  }
  switch (a.dtype()) {
    case DType::kFloat32:
      return Combine<float, kSubtract>(a, b);
    case DType::kFloat64:
      return Combine<double, kSubtract>(a, b);
    case DType::kInt32:
      return Combine<int32_t, kSubtract>(a, b);
    case DType::kInt64:
      return Combine<int64_t, kSubtract>(a, b);
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8:
    case DType::kFloat16:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(op, ": ", DTypeName(a.dtype()), " is not a numeric dtype"));
}

}  // namespace

// ---------------------------------------------------------------------------
// VariableImpl

VariableImpl::VariableImpl(std::string name, NDArray initial,
                           std::source_location where)
    : Resource(std::move(name), where),
      dtype_(initial.dtype()),
      shape_(initial.shape()),
      specs_({TensorSpec{dtype_, shape_, this->name()}}),
      created_thread_(CurrentThreadName()),
      value_(std::make_shared<const NDArray>(std::move(initial))) {}

VariableImpl::~VariableImpl() { Registry::Global().Remove(this); }

NDArray VariableImpl::value() const {
  std::shared_ptr<const NDArray> snapshot;
  {
    absl::MutexLock lock(&value_mu_);
    snapshot = value_;
  }
  return *snapshot;  // The NDArray copy (its Shape) happens outside the lock.
}

std::string VariableImpl::Describe() const {
  return absl::StrCat(Quoted(name()), " (", TypeString(dtype_, shape_),
                      ", created at ", SiteString(created_at()), ", thread ",
                      Quoted(created_thread_), ")");
}

absl::Status VariableImpl::CheckValue(const NDArray& value,
                                      std::string_view what) const {
  std::string problem;
  std::string fix;
  if (!value.valid()) {
    problem =
        "the value is an invalid (default-constructed or moved-from) "
        "NDArray";
    fix = "pass an NDArray made by NDArray::Scalar/Vector/Create";
  } else if (value.dtype() != dtype_) {
    problem = absl::StrCat("dtype mismatch: the variable holds ",
                           DTypeName(dtype_), ", the value is ",
                           TypeString(value.dtype(), value.shape()));
    fix = absl::StrCat("convert the value to ", DTypeName(dtype_),
                       "; a variable's dtype is fixed when it is created");
  } else if (value.shape() != shape_) {
    problem = absl::StrCat("shape mismatch: the variable holds ",
                           TypeString(dtype_, shape_), ", the value is ",
                           TypeString(value.dtype(), value.shape()));
    fix =
        "pass a value of the variable's shape; a variable's shape is fixed "
        "when it is created (create a new variable for another shape)";
  } else {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " of variable ", Quoted(name()), ": ", problem,
                   "\n  variable created at ", SiteString(created_at()),
                   ", thread ", Quoted(created_thread_), "\n  fix: ", fix));
}

void VariableImpl::Publish(NDArray value) {
  auto next = std::make_shared<const NDArray>(std::move(value));
  std::shared_ptr<const NDArray> old;
  {
    absl::MutexLock lock(&value_mu_);
    old = std::exchange(value_, std::move(next));
  }
  // `old` (possibly the last reference to a large buffer) is released here,
  // outside the value lock.
}

absl::Status VariableImpl::Assign(NDArray value) {
  if (absl::Status s = CheckValue(value, "Assign"); !s.ok()) return s;
  absl::MutexLock lock(&update_mu_);
  Publish(std::move(value));
  return absl::OkStatus();
}

absl::StatusOr<NDArray> VariableImpl::Update(
    absl::FunctionRef<absl::StatusOr<NDArray>(const NDArray&)> fn) {
  absl::MutexLock lock(&update_mu_);
  std::shared_ptr<const NDArray> current;
  {
    absl::MutexLock value_lock(&value_mu_);
    current = value_;
  }
  absl::StatusOr<NDArray> next = fn(*current);
  if (!next.ok()) return next.status();
  if (absl::Status s = CheckValue(*next, "update"); !s.ok()) return s;
  NDArray result = *next;
  Publish(*std::move(next));
  return result;
}

absl::StatusOr<NDArray> VariableImpl::AssignAdd(const NDArray& delta) {
  if (dtype_ == DType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AssignAdd on variable ", Describe(),
        ": bool is not a numeric dtype\n  fix: use Assign for bool variables"));
  }
  if (absl::Status s = CheckValue(delta, "AssignAdd delta"); !s.ok()) return s;
  return Update([&](const NDArray& old) { return AddArrays(old, delta); });
}

absl::StatusOr<NDArray> VariableImpl::AssignSub(const NDArray& delta) {
  if (dtype_ == DType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AssignSub on variable ", Describe(),
        ": bool is not a numeric dtype\n  fix: use Assign for bool variables"));
  }
  if (absl::Status s = CheckValue(delta, "AssignSub delta"); !s.ok()) return s;
  return Update([&](const NDArray& old) { return SubtractArrays(old, delta); });
}

absl::StatusOr<NDArray> AddArrays(const NDArray& a, const NDArray& b) {
  return CombineArrays<false>(a, b);
}

absl::StatusOr<NDArray> SubtractArrays(const NDArray& a, const NDArray& b) {
  return CombineArrays<true>(a, b);
}

// ---------------------------------------------------------------------------
// Variable

namespace {

// A graph file names its variables; LoadGraph binds them by name to the
// live Variable of that name (FindVariable: none, or two, is an error
// naming it). Registered when the first Variable is created (no static
// initializer): before that, no variable could be bound anyway.
void RegisterVariableResolverOnce() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    RegisterResourceResolver(
        "Variable", [](std::string_view name) -> absl::StatusOr<ResourceRef> {
          absl::StatusOr<Variable> v = FindVariable(name);
          if (!v.ok()) return v.status();
          return v->resource();
        });
  });
}

}  // namespace

absl::StatusOr<Variable> Variable::Create(std::string_view name,
                                          NDArray initial_value,
                                          std::source_location where) {
  if (absl::Status s = ValidateVariableName(name, where); !s.ok()) return s;
  if (!initial_value.valid() || !IsValidDType(initial_value.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Variable::Create: the initial value of variable ", Quoted(name),
        " is an invalid (default-constructed or moved-from) NDArray",
        "\n  variable created at ", SiteString(where), ", thread ",
        Quoted(CurrentThreadName()),
        "\n  fix: pass an NDArray made by NDArray::Scalar/Vector/Create; it "
        "fixes the variable's dtype and shape"));
  }
  auto impl = std::make_shared<VariableImpl>(std::string(name),
                                             std::move(initial_value), where);
  Registry::Global().Add(impl);
  RegisterVariableResolverOnce();
  return Variable(std::move(impl));
}

Variable Variable::FromResource(const ResourceRef& resource) {
  return Variable(std::dynamic_pointer_cast<VariableImpl>(resource));
}

const std::string& Variable::name() const {
  return impl_ == nullptr ? EmptyString() : impl_->name();
}

DType Variable::dtype() const {
  return impl_ == nullptr ? DType::kFloat32 : impl_->dtype();
}

const Shape& Variable::shape() const {
  return impl_ == nullptr ? ScalarShape() : impl_->shape();
}

std::source_location Variable::created_at() const {
  return impl_ == nullptr ? std::source_location() : impl_->created_at();
}

NDArray Variable::value() const {
  return impl_ == nullptr ? NDArray() : impl_->value();
}

absl::Status Variable::Assign(NDArray value) const {
  if (impl_ == nullptr) return NullVariableError("Variable::Assign");
  return impl_->Assign(std::move(value));
}

absl::StatusOr<NDArray> Variable::AssignAdd(const NDArray& delta) const {
  if (impl_ == nullptr) return NullVariableError("Variable::AssignAdd");
  return impl_->AssignAdd(delta);
}

absl::StatusOr<NDArray> Variable::AssignSub(const NDArray& delta) const {
  if (impl_ == nullptr) return NullVariableError("Variable::AssignSub");
  return impl_->AssignSub(delta);
}

ResourceRef Variable::resource() const { return impl_; }

std::string Variable::DebugString() const {
  return impl_ == nullptr ? "null Variable" : impl_->Describe();
}

absl::StatusOr<Variable> FindVariable(std::string_view name) {
  std::vector<std::shared_ptr<VariableImpl>> live =
      Registry::Global().Live(name);
  if (live.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "FindVariable: no live variable is named ", Quoted(name),
        "\n  fix: create it with Variable::Create(", Quoted(name),
        ", ...) and keep a handle to it while it is needed (a variable lives "
        "while a handle or a graph node refers to it)"));
  }
  if (live.size() > 1) {
    std::string msg = absl::StrCat("FindVariable: ", live.size(),
                                   " live variables are named ", Quoted(name));
    for (const std::shared_ptr<VariableImpl>& v : live) {
      absl::StrAppend(&msg, "\n  one created at ", SiteString(v->created_at()),
                      ", thread ", Quoted(v->created_thread()), " (",
                      TypeString(v->dtype(), v->shape()), ")");
    }
    absl::StrAppend(&msg,
                    "\n  fix: give each variable a unique name, or pass the "
                    "Variable handle itself instead of looking it up");
    return absl::FailedPreconditionError(msg);
  }
  return Variable(std::move(live.front()));
}

}  // namespace weft
