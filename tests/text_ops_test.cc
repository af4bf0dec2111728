// The text family (graph/text_ops.cc, kernels/text_kernels.cc):
// TfIdfVectorizer's counting (unigrams once, skip-grams per distance), its
// three modes, batches, and its build-time errors (message and kind).
// ONNX's own cases run in //tests/onnx:onnx_backend_test.
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "graph/errors.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "tests/testing/kernel_harness.h"

namespace weft {
namespace {

using testing::Arr;
using testing::ExpectArray;
using testing::ExpectBuildError;
using testing::Feed;
using testing::In;
using testing::RunKernel;

// Unigrams {1}, {2} and bigrams {1,2}, {2,1} at coordinates 0..3.
ops::TfIdfVectorizerAttrs Pool() {
  return {.min_gram_length = 1,
          .max_gram_length = 2,
          .max_skip_count = 1,
          .ngram_counts = {0, 2},
          .ngram_indexes = {0, 1, 2, 3},
          .pool_int64s = {1, 2, 1, 2, 2, 1}};
}

absl::StatusOr<NDArray> Vectorize(const NDArray& x,
                                  ops::TfIdfVectorizerAttrs a) {
  Graph g = Graph::Create("tfidf");
  return RunKernel(ops::TfIdfVectorizer(Feed(g, x), a, In(g)), {x});
}

TEST(TfIdfVectorizer, CountsUnigramsOnceAndSkipGramsPerDistance) {
  // [1, 2, 1, 3]: unigrams 1 x2, 2 x1; distance 1: (1,2), (2,1), (1,3);
  // distance 2: (1,1), (2,3).
  const NDArray x = Arr<int64_t>({1, 2, 1, 3}, Shape{4});
  ExpectArray<float>(Vectorize(x, Pool()), Shape{4}, {2, 1, 1, 1});
  ops::TfIdfVectorizerAttrs bigrams = Pool();
  bigrams.min_gram_length = 2;
  bigrams.max_skip_count = 0;
  ExpectArray<float>(Vectorize(x, bigrams), Shape{4}, {0, 0, 1, 1});
  // A batch: each row on its own.
  const NDArray b = Arr<int32_t>({1, 1, 2, 2}, Shape{2, 2});
  ExpectArray<float>(Vectorize(b, Pool()), Shape{2, 4},
                     {2, 0, 0, 0, 0, 2, 0, 0});
}

TEST(TfIdfVectorizer, IdfAndTfIdfWeighTheCounts) {
  const NDArray x = Arr<int64_t>({1, 2, 1, 3}, Shape{4});
  ops::TfIdfVectorizerAttrs a = Pool();
  a.weights = {0.5, 2, 3, 4};
  a.mode = "IDF";
  ExpectArray<float>(Vectorize(x, a), Shape{4}, {0.5f, 2, 3, 4});
  a.mode = "TFIDF";
  ExpectArray<float>(Vectorize(x, a), Shape{4}, {1, 2, 3, 4});
}

TEST(TfIdfVectorizer, BuildErrors) {
  Graph g = Graph::Create("tfidf");
  Tensor x = ops::Placeholder(DType::kInt64, Shape{4}, In(g));
  ops::TfIdfVectorizerAttrs a = Pool();
  a.pool_int64s = {1, 2, 1, 2, 2};  // Half a bigram.
  ExpectBuildError(ops::TfIdfVectorizer(x, a, In(g)), ErrorKind::kAttr,
                   "does not split the 5 pool_int64s into whole n-grams");
  a = Pool();
  a.max_gram_length = 3;
  ExpectBuildError(ops::TfIdfVectorizer(x, a, In(g)), ErrorKind::kAttr,
                   "do not fit ngram_counts of 2 sizes");
  a = Pool();
  a.ngram_indexes = {0, 1, 2};
  ExpectBuildError(ops::TfIdfVectorizer(x, a, In(g)), ErrorKind::kAttr,
                   "ngram_indexes has 3 entries for 4 n-grams");
  a = Pool();
  a.weights = {1};
  ExpectBuildError(ops::TfIdfVectorizer(x, a, In(g)), ErrorKind::kAttr,
                   "one weight per n-gram (4)");
  ExpectBuildError(
      ops::TfIdfVectorizer(ops::Placeholder(DType::kFloat32, Shape{4}, In(g)),
                           Pool(), In(g)),
      ErrorKind::kDType, "TfIdfVectorizer takes int32 or int64 token ids");
}

}  // namespace
}  // namespace weft
