// The umbrella header exports only the public API: including it brings in
// no oneTBB header and no executor internals (checked by their include
// guards), and a user program compiles against it alone.
#include "gtest/gtest.h"
#include "weft.h"

#if defined(__TBB_detail__config_H) || defined(__TBB_task_arena_H)
#error "weft.h must not include oneTBB"
#endif
#if defined(WEFT_RUNTIME_EXECUTOR_H_) || defined(WEFT_RUNTIME_PLAN_H_) || \
    defined(WEFT_GRAPH_GRAPH_IMPL_H_)
#error "weft.h must not include executor or graph internals"
#endif

namespace weft {
namespace {

TEST(PublicApi, UmbrellaHeaderIsEnoughToBuildAndRun) {
  Graph g = Graph::Create("api");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, 2}, {.graph = g});
  std::vector<Tensor> halves = ops::Split(x, 2, 1, {.graph = g});
  Tensor y = ops::Add(halves[0], halves[1], {.graph = g});
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(g);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out =
      (*s)->Run({{x, *NDArray::Create<float>({1, 2, 3, 4}, Shape{2, 2})}}, {y});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].values<float>()[0], 3);
  EXPECT_EQ((*out)[0].values<float>()[1], 7);
}

}  // namespace
}  // namespace weft
