// The text family: TfIdfVectorizer (ONNX's n-gram counter over integer
// token ids). Definition, inference and builder; kernel in
// kernels/text_kernels.cc.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/inference_util.h"
#include "graph/op_families.h"
#include "graph/ops.h"

namespace weft {
namespace internal {
namespace {

// The int64 list attr `name` ({} when absent), or an AttrError.
absl::StatusOr<std::vector<int64_t>> IntsAttrOr(InferenceContext& c,
                                                const std::string& name) {
  auto it = c.attrs->find(name);
  if (it == c.attrs->end()) return std::vector<int64_t>{};
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second)) {
    return *v;
  }
  return c.AttrError(absl::StrCat("attr '", name, "' must be an int64 list"));
}

// TfIdfVectorizer: int32/int64 [C] or [N, C] -> float32 [K] or [N, K],
// K = max(ngram_indexes) + 1; the pool's layout checked here.
absl::Status InferTfIdfVectorizer(InferenceContext& c) {
  constexpr std::string_view kOp = "TfIdfVectorizer";
  const DType d = c.input_dtypes[0];
  if (d != DType::kInt32 && d != DType::kInt64) {
    return c.DTypeError(absl::StrCat(InputDesc(c, 0), "; ", kOp,
                                     " takes int32 or int64 token ids"));
  }
  const Shape& x = c.input_shapes[0];
  if (x.rank() != 1 && x.rank() != 2) {
    return c.ShapeError(
        absl::StrCat(InputDesc(c, 0), "; ", kOp, " takes [C] or [N, C]"));
  }
  absl::StatusOr<std::string> mode =
      ChoiceAttr(c, "mode", "TF", {"TF", "IDF", "TFIDF"}, kOp);
  if (!mode.ok()) return mode.status();
  absl::StatusOr<int64_t> lo = IntAttrOr(c, "min_gram_length", 1);
  if (!lo.ok()) return lo.status();
  absl::StatusOr<int64_t> hi = IntAttrOr(c, "max_gram_length", 1);
  if (!hi.ok()) return hi.status();
  absl::StatusOr<int64_t> skip = IntAttrOr(c, "max_skip_count", 0);
  if (!skip.ok()) return skip.status();
  absl::StatusOr<std::vector<int64_t>> counts = IntsAttrOr(c, "ngram_counts");
  if (!counts.ok()) return counts.status();
  absl::StatusOr<std::vector<int64_t>> indexes = IntsAttrOr(c, "ngram_indexes");
  if (!indexes.ok()) return indexes.status();
  absl::StatusOr<std::vector<int64_t>> pool = IntsAttrOr(c, "pool_int64s");
  if (!pool.ok()) return pool.status();
  const int64_t n_sizes = static_cast<int64_t>(counts->size());
  if (*lo < 1 || *hi < *lo || *hi > n_sizes || *skip < 0 || *skip > 1024) {
    return c.AttrError(absl::StrCat(
        kOp, " gram lengths ", *lo, " to ", *hi, " and max_skip_count ", *skip,
        " do not fit ngram_counts of ", n_sizes,
        " sizes (need 1 <= min <= max <= sizes, 0 <= skip <= 1024)"));
  }
  // ngram_counts[i]: where the (i+1)-grams start in the pool.
  int64_t ngrams = 0;
  for (int64_t i = 0; i < n_sizes; ++i) {
    const int64_t begin = (*counts)[i];
    const int64_t end =
        i + 1 < n_sizes ? (*counts)[i + 1] : static_cast<int64_t>(pool->size());
    if (begin < 0 || end < begin || end > static_cast<int64_t>(pool->size()) ||
        (end - begin) % (i + 1) != 0) {
      return c.AttrError(absl::StrCat(
          kOp, " ngram_counts ", ListString(*counts), " does not split the ",
          pool->size(), " pool_int64s into whole n-grams"));
    }
    ngrams += (end - begin) / (i + 1);
  }
  if (static_cast<int64_t>(indexes->size()) != ngrams || ngrams == 0 ||
      std::any_of(indexes->begin(), indexes->end(),
                  [](int64_t i) { return i < 0 || i > (1 << 24); })) {
    return c.AttrError(absl::StrCat(
        kOp, " ngram_indexes has ", indexes->size(), " entries for ", ngrams,
        " n-grams in the pool (each in [0, 2^24])"));
  }
  const int64_t k = *std::max_element(indexes->begin(), indexes->end()) + 1;
  auto w = c.attrs->find("weights");
  if (w != c.attrs->end()) {
    const NDArray* a = std::get_if<NDArray>(&w->second);
    if (a == nullptr || a->dtype() != DType::kFloat64 ||
        a->shape().rank() != 1 || a->num_elements() != ngrams) {
      return c.AttrError(absl::StrCat(
          kOp, " weights must be a float64 vector of one weight per n-gram (",
          ngrams, ")"));
    }
  }
  c.SetOutput(DType::kFloat32, x.rank() == 1 ? Shape{k} : Shape{x.dim(0), k});
  return absl::OkStatus();
}

}  // namespace

void RegisterTextOps(OpRegistry& r) {
  RegisterBuiltin(r, {"TfIdfVectorizer", 1, {}, InferTfIdfVectorizer});
}

}  // namespace internal

namespace ops {

Tensor TfIdfVectorizer(const Tensor& x, const TfIdfVectorizerAttrs& attrs,
                       const OpOptions& options, std::source_location where) {
  AttrMap map = {{"mode", attrs.mode},
                 {"min_gram_length", attrs.min_gram_length},
                 {"max_gram_length", attrs.max_gram_length},
                 {"max_skip_count", attrs.max_skip_count},
                 {"ngram_counts", attrs.ngram_counts},
                 {"ngram_indexes", attrs.ngram_indexes},
                 {"pool_int64s", attrs.pool_int64s}};
  if (!attrs.weights.empty()) {
    map.emplace("weights", NDArray::Vector(attrs.weights));
  }
  return internal::BuildOp("TfIdfVectorizer", {x}, std::move(map), options,
                           where);
}

}  // namespace ops
}  // namespace weft
