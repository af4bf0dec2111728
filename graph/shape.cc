#include "graph/shape.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft {

bool Shape::IsFullyDefined() const {
  for (int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

int64_t Shape::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return std::numeric_limits<int64_t>::max();
    }
    n *= d;
  }
  return n;
}

absl::Status Shape::Validate() const {
  int64_t n = 1;
  for (int i = 0; i < rank(); ++i) {
    const int64_t d = dims_[i];
    if (d < kUnknown) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid shape ", DebugString(), ": dimension ", i,
                       " is ", d, "; dimensions are >= 0, or -1 for unknown"));
    }
    if (d > 0) {
      if (n > std::numeric_limits<int64_t>::max() / d) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid shape ", DebugString(),
                         ": element count overflows int64"));
      }
      n *= d;
    }
  }
  return absl::OkStatus();
}

absl::Status Shape::ValidateConcrete() const {
  if (absl::Status s = Validate(); !s.ok()) return s;
  if (!IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape ", DebugString(),
                     " has an unknown dimension; arrays need "
                     "every dimension known"));
  }
  return absl::OkStatus();
}

bool Shape::IsCompatibleWith(const Shape& concrete) const {
  if (rank() != concrete.rank()) return false;
  for (int i = 0; i < rank(); ++i) {
    if (dims_[i] >= 0 && dims_[i] != concrete.dims_[i]) return false;
  }
  return true;
}

std::string Shape::DebugString() const {
  return absl::StrCat("[",
                      absl::StrJoin(dims_, ",",
                                    [](std::string* out, int64_t d) {
                                      if (d == kUnknown) {
                                        out->append("?");
                                      } else {
                                        absl::StrAppend(out, d);
                                      }
                                    }),
                      "]");
}

}  // namespace weft
