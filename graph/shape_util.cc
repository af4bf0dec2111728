#include "graph/shape_util.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft {

absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  std::vector<int64_t> out(rank);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i;
    const int ib = b.rank() - rank + i;
    const int64_t da = ia >= 0 ? a.dim(ia) : 1;
    const int64_t db = ib >= 0 ? b.dim(ib) : 1;
    int64_t d;
    if (da == db) {
      d = da;
    } else if (da == 1) {
      d = db;
    } else if (db == 1) {
      d = da;
    } else if (da == Shape::kUnknown) {
      d = db;  // da must be db (or 1, which yields db too).
    } else if (db == Shape::kUnknown) {
      d = da;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "shapes ", a.DebugString(), " and ", b.DebugString(),
          " cannot be broadcast: dimension ", i, " is ", da, " vs ", db));
    }
    out[i] = d;
  }
  return Shape(std::move(out));
}

absl::StatusOr<std::vector<int>> NormalizeAxes(const std::vector<int64_t>& axes,
                                               int rank) {
  std::vector<int> out;
  if (axes.empty()) {
    for (int i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) {
    if (rank == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reduction axis ", a,
          " given for a scalar input, which has no axes; pass no axes to "
          "reduce a scalar (it is returned unchanged)"));
    }
    if (a < -rank || a >= rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("reduction axis ", a, " is out of range for rank ", rank,
                       " (valid: ", -rank, " to ", rank - 1, ")"));
    }
    out.push_back(static_cast<int>(a < 0 ? a + rank : a));
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reduction axes [", absl::StrJoin(axes, ","), "] repeat an axis"));
  }
  return out;
}

absl::StatusOr<int> NormalizeAxis(int64_t axis, int rank,
                                  std::string_view what) {
  if (rank == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", axis, " given for a scalar input, which has no axes"));
  }
  if (axis < -rank || axis >= rank) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", axis, " is out of range for rank ", rank,
                     " (valid: ", -rank, " to ", rank - 1, ")"));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

absl::StatusOr<Shape> ResolveReshape(const Shape& in, const Shape& target) {
  if (absl::Status s = target.Validate(); !s.ok()) return s;
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < target.rank(); ++i) {
    if (target.dim(i) == Shape::kUnknown) {
      if (unknown >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Reshape target ", target.DebugString(), " has more than one -1"));
      }
      unknown = i;
    } else {
      known *= target.dim(i);  // Validate() ruled out overflow.
    }
  }
  const int64_t in_count = in.num_elements();  // -1 if unknown.
  std::vector<int64_t> out = target.dims();
  if (unknown < 0) {
    if (in_count >= 0 && in_count != known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot reshape ", in.DebugString(), " (", in_count, " elements) to ",
          target.DebugString(), " (", known, " elements)"));
    }
    return Shape(std::move(out));
  }
  if (known == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot reshape ", in.DebugString(), " to ", target.DebugString(),
        ": a -1 is ambiguous next to a 0 dimension"));
  }
  if (in_count >= 0) {
    if (in_count % known != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot reshape ", in.DebugString(), " (", in_count,
                       " elements) to ", target.DebugString(), ": ", in_count,
                       " is not a multiple of ", known));
    }
    out[unknown] = in_count / known;
  }
  return Shape(std::move(out));
}

absl::StatusOr<int64_t> CheckedNumElements(const Shape& shape) {
  int64_t n = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    const int64_t d = shape.dim(i);
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", shape.DebugString(), " is not concrete"));
    }
    if (__builtin_mul_overflow(n, d, &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", shape.DebugString(),
                       " has more elements than int64 can count"));
    }
  }
  return n;
}

absl::StatusOr<int64_t> CheckedNumBytes(DType dtype, const Shape& shape) {
  absl::StatusOr<int64_t> n = CheckedNumElements(shape);
  if (!n.ok()) return n.status();
  int64_t bytes;
  if (__builtin_mul_overflow(*n, static_cast<int64_t>(DTypeSize(dtype)),
                             &bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(DTypeName(dtype), shape.DebugString(),
                     " has a byte size that overflows int64"));
  }
  return bytes;
}

}  // namespace weft
