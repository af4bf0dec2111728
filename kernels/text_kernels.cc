// Kernels of the text family (graph/text_ops.cc): TfIdfVectorizer over
// int32/int64 token ids, with ONNX Runtime's counting: unigrams once, and
// for every skip distance 1 .. max_skip_count + 1 the n-grams of each
// length from max(min_gram_length, 2) whose items are that far apart; a
// weight belongs to an output coordinate.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "graph/attr.h"
#include "graph/ndarray.h"
#include "kernels/kernel.h"
#include "kernels/kernel_util.h"

namespace weft {
namespace kernels_internal {
namespace {

class TfIdfVectorizerKernel : public OpKernel {
 public:
  explicit TfIdfVectorizerKernel(OpKernelConstruction& c) : OpKernel(c) {
    const AttrMap& a = c.node().attrs();
    auto ints = [&](const char* name) {
      const auto* v = FindAttr<std::vector<int64_t>>(a, name);
      return v != nullptr ? *v : std::vector<int64_t>{};
    };
    if (const auto* m = FindAttr<std::string>(a, "mode")) {
      mode_ = *m == "IDF"     ? Mode::kIdf
              : *m == "TFIDF" ? Mode::kTfIdf
                              : Mode::kTf;
    }
    if (const auto* v = FindAttr<int64_t>(a, "min_gram_length")) lo_ = *v;
    if (const auto* v = FindAttr<int64_t>(a, "max_gram_length")) hi_ = *v;
    if (const auto* v = FindAttr<int64_t>(a, "max_skip_count")) skip_ = *v;
    const std::vector<int64_t> counts = ints("ngram_counts");
    const std::vector<int64_t> pool = ints("pool_int64s");
    index_ = ints("ngram_indexes");
    // Inference checked the layout: pool n-gram `id` (in pool order, every
    // size counted) maps to output coordinate index_[id]; only the sizes
    // in [lo_, hi_] are looked up.
    int64_t id = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      const int64_t n = static_cast<int64_t>(i) + 1;
      const int64_t end = i + 1 < counts.size()
                              ? counts[i + 1]
                              : static_cast<int64_t>(pool.size());
      for (int64_t at = counts[i]; at + n <= end; at += n, ++id) {
        if (n >= lo_ && n <= hi_) {
          pool_.emplace(
              std::vector<int64_t>(pool.begin() + at, pool.begin() + at + n),
              id);
        }
      }
    }
    out_size_ = index_.empty()
                    ? 0
                    : *std::max_element(index_.begin(), index_.end()) + 1;
    if (const auto* w = FindAttr<NDArray>(a, "weights")) {
      for (double v : w->values<double>()) weights_.push_back(v);
    }
  }

  absl::Status Compute(OpKernelContext& ctx) const override {
    const NDArray& x = ctx.input(0);
    const Shape& s = x.shape();
    if (s.rank() != 1 && s.rank() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("TfIdfVectorizer takes [C] or [N, C]; the fed input is ",
                       DTypeName(x.dtype()), s.DebugString()));
    }
    const int64_t rows = s.rank() == 1 ? 1 : s.dim(0);
    const int64_t cols = s.dim(s.rank() - 1);
    std::vector<int64_t> ids(x.num_elements());
    if (x.dtype() == DType::kInt32) {
      std::copy(x.values<int32_t>().begin(), x.values<int32_t>().end(),
                ids.begin());
    } else {
      std::copy(x.values<int64_t>().begin(), x.values<int64_t>().end(),
                ids.begin());
    }
    std::vector<int64_t> freq(rows * out_size_, 0);
    std::vector<int64_t> gram;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t* row = ids.data() + r * cols;
      int64_t* f = freq.data() + r * out_size_;
      auto count = [&]() {
        if (auto it = pool_.find(gram); it != pool_.end())
          ++f[index_[it->second]];
      };
      int64_t first_size = lo_;
      if (lo_ == 1) {  // Unigrams once, whatever the skips.
        for (int64_t i = 0; i < cols; ++i) {
          gram.assign(1, row[i]);
          count();
        }
        first_size = 2;
      }
      if (first_size > hi_) continue;
      for (int64_t d = 1; d <= skip_ + 1; ++d) {
        for (int64_t start = 0; start + d * (first_size - 1) < cols; ++start) {
          gram.clear();
          for (int64_t n = 1, at = start; n <= hi_ && at < cols; ++n, at += d) {
            gram.push_back(row[at]);
            if (n >= first_size) count();
          }
        }
      }
    }
    absl::StatusOr<NDArray> out = ctx.allocate_output(
        0, s.rank() == 1 ? Shape{out_size_} : Shape{rows, out_size_});
    if (!out.ok()) return out.status();
    float* y = out->mutable_data<float>();
    for (int64_t i = 0; i < rows * out_size_; ++i) {
      const int64_t k = i % out_size_;
      const double w =
          k < static_cast<int64_t>(weights_.size()) ? weights_[k] : 1.0;
      switch (mode_) {
        case Mode::kTf:
          y[i] = static_cast<float>(freq[i]);
          break;
        case Mode::kIdf:
          y[i] = freq[i] > 0 ? static_cast<float>(w) : 0.0f;
          break;
        case Mode::kTfIdf:
          y[i] = static_cast<float>(static_cast<double>(freq[i]) * w);
          break;
      }
    }
    ctx.set_output(0, *std::move(out));
    return absl::OkStatus();
  }

 private:
  enum class Mode { kTf, kIdf, kTfIdf };
  Mode mode_ = Mode::kTf;
  int64_t lo_ = 1, hi_ = 1, skip_ = 0, out_size_ = 0;
  std::vector<int64_t> index_;
  std::vector<double> weights_;
  absl::flat_hash_map<std::vector<int64_t>, int64_t> pool_;
};

}  // namespace

void RegisterTextKernels(KernelRegistry& registry) {
  for (DType d : {DType::kInt32, DType::kInt64}) {
    MustRegister(registry,
                 {.op = "TfIdfVectorizer",
                  .dtype = d,
                  .factory = MakeKernelFactory<TfIdfVectorizerKernel>(),
                  .cost = KernelCost::kExpensive});
  }
}

}  // namespace kernels_internal
}  // namespace weft
