#include "graph/resource.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/provenance.h"
#include "graph/tensor_spec.h"

namespace weft {

const std::vector<TensorSpec>& Resource::value_specs() const {
  static const std::vector<TensorSpec>* const kNone =
      new std::vector<TensorSpec>();
  return *kNone;
}

std::string Resource::Describe() const {
  return absl::StrCat(internal::Quoted(name_), " (created at ",
                      SourceSite::From(created_at_).ToString(), ")");
}

}  // namespace weft
