// The umbrella header exports only the public API: including it brings in
// no oneTBB header, no executor internals and none of weft's internal
// headers (checked by their include guards), and a user program compiles
// against it alone.
#include "gtest/gtest.h"
#include "weft.h"

#if defined(__TBB_detail__config_H) || defined(__TBB_task_arena_H)
#error "weft.h must not include oneTBB"
#endif
#if defined(WEFT_RUNTIME_EXECUTOR_H_) || defined(WEFT_RUNTIME_PLAN_H_) || \
    defined(WEFT_GRAPH_GRAPH_IMPL_H_)
#error "weft.h must not include executor or graph internals"
#endif
// The internal headers (tests/sealed_headers_test.cc checks the rule itself
// on every header weft.h reaches).
#if defined(WEFT_GRAPH_FUNCTION_BODY_H_) ||                                 \
    defined(WEFT_GRAPH_ERROR_UTIL_H_) || defined(WEFT_GRAPH_BUILD_OP_H_) || \
    defined(WEFT_GRAPH_THREAD_STACKS_H_) ||                                 \
    defined(WEFT_GRAPH_RESOURCE_ATTRS_H_) ||                                \
    defined(WEFT_KERNELS_STEP_ENV_H_) ||                                    \
    defined(WEFT_KERNELS_KERNEL_UTIL_H_) ||                                 \
    defined(WEFT_STATE_VARIABLE_IMPL_H_) || defined(WEFT_ASYNC_QUEUE_IMPL_H_)
#error "weft.h must not include weft's internal headers"
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

// Every handle answers "usable?" with valid(): false when
// default-constructed, true once made by its factory.
TEST(PublicApi, EveryHandleSaysValid) {
  EXPECT_FALSE(Graph().valid());
  EXPECT_FALSE(Variable().valid());
  EXPECT_FALSE(Queue().valid());
  EXPECT_FALSE(Function().valid());
  EXPECT_FALSE(NDArray().valid());
  EXPECT_FALSE(Tensor().valid());
  Graph g = Graph::Create("handles");
  EXPECT_TRUE(g.valid());
  EXPECT_EQ(g.valid(), !g.is_null());
  absl::StatusOr<Variable> v =
      Variable::Create("handles/v", NDArray::Scalar<float>(1));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->valid());
  absl::StatusOr<Queue> q =
      Queue::Create("handles/q", {{DType::kFloat32, Shape{}, "x"}}, 1);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE(q->valid());
  absl::StatusOr<Function> f =
      Function::Trace("handles_f", {{DType::kFloat32, Shape{}, "x"}},
                      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                        return {ops::Neg(a[0])};
                      });
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->valid());
  Tensor t = ops::Const(NDArray::Scalar<float>(2), {.graph = g});
  EXPECT_TRUE(t.valid());
  EXPECT_TRUE(NDArray::Scalar<float>(2).valid());
  Tensor bad = ops::Neg(Tensor());
  EXPECT_FALSE(bad.valid());
  EXPECT_EQ(bad.valid(), bad.ok());
}

}  // namespace
}  // namespace weft
