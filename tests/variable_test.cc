// Tests of weft::Variable (state/variable.h): handle semantics, checked
// assignment, atomic read-modify-writes, the registry, and concurrency.
#include "state/variable.h"

#include <atomic>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "graph/resource.h"
#include "gtest/gtest.h"
#include "state/variable_impl.h"
#include "tests/testing/run_helpers.h"

namespace weft {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MustCreateVariable;

TEST(Variable, CreateHoldsNameDtypeShapeSiteAndValue) {
  NDArray init = *NDArray::Create<float>({1, 2, 3, 4}, {2, 2});
  const int line = __LINE__ + 1;
  absl::StatusOr<Variable> v = Variable::Create("dense/w", init);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->is_null());
  EXPECT_EQ(v->name(), "dense/w");
  EXPECT_EQ(v->dtype(), DType::kFloat32);
  EXPECT_EQ(v->shape(), (Shape{2, 2}));
  EXPECT_EQ(v->created_at().line(), static_cast<uint32_t>(line));
  EXPECT_THAT(v->created_at().file_name(), HasSubstr("variable_test.cc"));
  EXPECT_THAT(v->value().values<float>(), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(v->DebugString(),
              AllOf(HasSubstr("'dense/w'"), HasSubstr("float32[2,2]"),
                    HasSubstr("variable_test.cc:")));
}

TEST(Variable, HandlesAreCheapCopiesAndEqualityIsIdentity) {
  Variable a = MustCreateVariable("v", NDArray::Scalar<int32_t>(1));
  Variable b = a;
  Variable c = MustCreateVariable("v", NDArray::Scalar<int32_t>(1));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);  // Same name and value, another variable.
  ASSERT_TRUE(b.Assign(NDArray::Scalar<int32_t>(7)).ok());
  EXPECT_EQ(a.value().values<int32_t>()[0], 7);  // Both name one variable.
  EXPECT_EQ(c.value().values<int32_t>()[0], 1);
  absl::flat_hash_set<Variable> set = {a, b, c};
  EXPECT_EQ(set.size(), 2u);
}

TEST(Variable, DefaultConstructedIsNullAndEveryOperationSaysSo) {
  Variable v;
  EXPECT_TRUE(v.is_null());
  EXPECT_TRUE(v == Variable());
  EXPECT_EQ(v.name(), "");
  EXPECT_FALSE(v.value().valid());
  EXPECT_EQ(v.resource(), nullptr);
  EXPECT_EQ(v.DebugString(), "null Variable");
  absl::Status s = v.Assign(NDArray::Scalar<float>(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("Variable::Assign on a null "
                                           "Variable"),
                                 HasSubstr("fix: create it")));
  EXPECT_THAT(v.AssignAdd(NDArray::Scalar<float>(1)).status().message(),
              HasSubstr("Variable::AssignAdd on a null Variable"));
  EXPECT_THAT(v.AssignSub(NDArray::Scalar<float>(1)).status().message(),
              HasSubstr("Variable::AssignSub on a null Variable"));
}

TEST(Variable, CreateRejectsBadNamesAndInvalidValues) {
  absl::Status s = Variable::Create("", NDArray::Scalar<float>(0)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("invalid variable name ''"),
                                 HasSubstr("names cannot be empty"),
                                 HasSubstr("variable_test.cc:")));
  s = Variable::Create("a b", NDArray::Scalar<float>(0)).status();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("invalid variable name 'a b'"),
                                 HasSubstr("character ' ' is not allowed")));
  s = Variable::Create("a//b", NDArray::Scalar<float>(0)).status();
  EXPECT_THAT(s.message(), HasSubstr("empty scope segment"));
  s = Variable::Create("/a", NDArray::Scalar<float>(0)).status();
  EXPECT_THAT(s.message(), HasSubstr("cannot start or end with '/'"));
  s = Variable::Create("w", NDArray()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("initial value of variable 'w' is an invalid"),
                    HasSubstr("fix:")));
}

TEST(Variable, AssignChecksDtypeAndShapeAndNamesTheVariable) {
  const int line = __LINE__ + 1;
  Variable v = MustCreateVariable("layer/b", NDArray::Vector<float>({1, 2}));
  absl::Status s = v.Assign(NDArray::Vector<int32_t>({1, 2}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("Assign of variable 'layer/b': dtype mismatch: "
                              "the variable holds float32, the value is "
                              "int32[2]"),
                    HasSubstr(absl::StrCat("variable created at "
                                           "tests/variable_test.cc:",
                                           line)),
                    HasSubstr("fix: convert the value to float32")));
  s = v.Assign(NDArray::Vector<float>({1, 2, 3}));
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("shape mismatch: the variable holds "
                              "float32[2], the value is float32[3]"),
                    HasSubstr("fix: pass a value of the variable's shape")));
  s = v.Assign(NDArray());
  EXPECT_THAT(s.message(), HasSubstr("invalid (default-constructed"));
  EXPECT_THAT(v.value().values<float>(), ElementsAre(1, 2));  // Unchanged.
  ASSERT_TRUE(v.Assign(NDArray::Vector<float>({5, 6})).ok());
  EXPECT_THAT(v.value().values<float>(), ElementsAre(5, 6));
}

TEST(Variable, ValueIsASnapshotThatLaterUpdatesDoNotChange) {
  Variable v = MustCreateVariable("v", NDArray::Vector<int64_t>({1, 2}));
  NDArray before = v.value();
  ASSERT_TRUE(v.Assign(NDArray::Vector<int64_t>({3, 4})).ok());
  ASSERT_TRUE(v.AssignAdd(NDArray::Vector<int64_t>({1, 1})).ok());
  EXPECT_THAT(before.values<int64_t>(), ElementsAre(1, 2));
  EXPECT_THAT(v.value().values<int64_t>(), ElementsAre(4, 5));
}

template <typename T>
void ExpectAddSub() {
  Variable v =
      MustCreateVariable("v", NDArray::Vector<T>({T(10), T(20), T(30)}));
  absl::StatusOr<NDArray> r =
      v.AssignAdd(NDArray::Vector<T>({T(1), T(2), T(3)}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->values<T>(), ElementsAre(T(11), T(22), T(33)));
  r = v.AssignSub(NDArray::Vector<T>({T(5), T(5), T(40)}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->values<T>(), ElementsAre(T(6), T(17), T(-7)));
  EXPECT_TRUE(v.value().Equals(*r));
}

TEST(Variable, AssignAddAndAssignSubForEveryNumericDtype) {
  ExpectAddSub<float>();
  ExpectAddSub<double>();
  ExpectAddSub<int32_t>();
  ExpectAddSub<int64_t>();
}

TEST(Variable, IntegerUpdatesWrapAround) {
  Variable i32 = MustCreateVariable(
      "i32", NDArray::Scalar<int32_t>(std::numeric_limits<int32_t>::max()));
  absl::StatusOr<NDArray> r = i32.AssignAdd(NDArray::Scalar<int32_t>(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values<int32_t>()[0], std::numeric_limits<int32_t>::min());
  Variable i64 = MustCreateVariable(
      "i64", NDArray::Scalar<int64_t>(std::numeric_limits<int64_t>::min()));
  r = i64.AssignSub(NDArray::Scalar<int64_t>(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->values<int64_t>()[0], std::numeric_limits<int64_t>::max());
}

TEST(Variable, AssignAddRejectsBoolAndMismatchedDeltas) {
  Variable flag = MustCreateVariable("flag", NDArray::Scalar<bool>(true));
  absl::Status s = flag.AssignAdd(NDArray::Scalar<bool>(true)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("AssignAdd on variable 'flag' (bool[]"),
                    HasSubstr("bool is not a numeric dtype"),
                    HasSubstr("fix: use Assign for bool variables")));
  EXPECT_THAT(flag.AssignSub(NDArray::Scalar<bool>(true)).status().message(),
              HasSubstr("AssignSub on variable 'flag'"));
  EXPECT_TRUE(flag.Assign(NDArray::Scalar<bool>(false)).ok());

  Variable v = MustCreateVariable("v", NDArray::Vector<double>({1, 2}));
  s = v.AssignAdd(NDArray::Vector<float>({1, 2})).status();
  EXPECT_THAT(s.message(), HasSubstr("AssignAdd delta of variable 'v': dtype "
                                     "mismatch"));
  s = v.AssignSub(NDArray::Scalar<double>(1)).status();
  EXPECT_THAT(s.message(), HasSubstr("AssignSub delta of variable 'v': shape "
                                     "mismatch"));
  EXPECT_THAT(v.value().values<double>(), ElementsAre(1, 2));
}

TEST(Variable, UpdateIsAtomicAndLeavesTheValueOnError) {
  Variable v = MustCreateVariable("v", NDArray::Vector<int32_t>({1, 2}));
  VariableImpl& impl = *internal::VariableAccess::Impl(v);
  absl::StatusOr<NDArray> r = impl.Update([](const NDArray& old) {
    absl::Span<const int32_t> x = old.values<int32_t>();
    return NDArray::Vector<int32_t>({x[0] * 10, x[1] * 10});
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(v.value().values<int32_t>(), ElementsAre(10, 20));

  r = impl.Update([](const NDArray&) -> absl::StatusOr<NDArray> {
    return absl::AbortedError("kernel failed");
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  r = impl.Update([](const NDArray&) -> absl::StatusOr<NDArray> {
    return NDArray::Vector<int32_t>({1, 2, 3});
  });
  EXPECT_THAT(r.status().message(),
              HasSubstr("update of variable 'v': shape mismatch"));
  EXPECT_THAT(v.value().values<int32_t>(), ElementsAre(10, 20));
}

class OtherResource : public Resource {
 public:
  OtherResource() : Resource("q", std::source_location::current()) {}
  std::string_view kind() const override { return "Queue"; }
};

TEST(Variable, ResourceRoundTripsThroughFromResource) {
  Variable v = MustCreateVariable("v", NDArray::Scalar<float>(1));
  ResourceRef ref = v.resource();
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(ref->kind(), "Variable");
  EXPECT_EQ(ref->name(), "v");
  EXPECT_TRUE(Variable::FromResource(ref) == v);
  EXPECT_TRUE(Variable::FromResource(nullptr).is_null());
  EXPECT_TRUE(
      Variable::FromResource(std::make_shared<OtherResource>()).is_null());
  // A resource keeps its variable alive after every handle is gone.
  v = Variable();
  EXPECT_EQ(Variable::FromResource(ref).value().values<float>()[0], 1);
}

TEST(FindVariable, FindsTheOneLiveVariableOfAName) {
  absl::StatusOr<Variable> missing = FindVariable("find/none");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              AllOf(HasSubstr("no live variable is named 'find/none'"),
                    HasSubstr("fix:")));

  Variable a = MustCreateVariable("find/w", NDArray::Scalar<float>(1));
  absl::StatusOr<Variable> found = FindVariable("find/w");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(*found == a);

  const int line_b = __LINE__ + 1;
  Variable b = MustCreateVariable("find/w", NDArray::Scalar<int32_t>(2));
  absl::StatusOr<Variable> ambiguous = FindVariable("find/w");
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ambiguous.status().message(),
              AllOf(HasSubstr("2 live variables are named 'find/w'"),
                    HasSubstr("(float32[])"), HasSubstr("(int32[])"),
                    HasSubstr(absl::StrCat("variable_test.cc:", line_b)),
                    HasSubstr("fix: give each variable a unique name")));

  a = Variable();
  *found = Variable();  // Drop the found copy of `a` too.
  absl::StatusOr<Variable> again = FindVariable("find/w");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == b);
  b = Variable();
  *again = Variable();
  EXPECT_EQ(FindVariable("find/w").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Variable, EightThreadsOfAssignAddLoseNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kIters = 10000;
  Variable i = MustCreateVariable("count", NDArray::Scalar<int64_t>(0));
  Variable f = MustCreateVariable("countf", NDArray::Vector<float>({0, 0}));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      const NDArray one = NDArray::Scalar<int64_t>(1);
      const NDArray ones = NDArray::Vector<float>({1, -1});
      for (int k = 0; k < kIters; ++k) {
        if (!i.AssignAdd(one).ok()) failures.fetch_add(1);
        if (!f.AssignAdd(ones).ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(i.value().values<int64_t>()[0], kThreads * kIters);
  EXPECT_THAT(f.value().values<float>(),
              ElementsAre(kThreads * kIters, -kThreads * kIters));
}

TEST(Variable, ReadersSeeOnlyWholeAssignedValues) {
  constexpr int kElements = 4096;
  constexpr int kWriters = 3;
  constexpr int kReaders = 3;
  constexpr int kWrites = 300;
  Variable v = MustCreateVariable(
      "v", NDArray::Uninitialized(DType::kInt32, Shape{kElements}));
  ASSERT_TRUE(v.Assign(*NDArray::Create<int32_t>(
                           std::vector<int32_t>(kElements, 0), {kElements}))
                  .ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> unknown{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> threads;
  // Writers assign arrays whose elements all equal k (k in [1, kWrites]),
  // or add an all-ones array (keeping the elements equal).
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int k = 1; k <= kWrites; ++k) {
        if (w == 0) {
          absl::StatusOr<NDArray> r = v.AssignAdd(*NDArray::Create<int32_t>(
              std::vector<int32_t>(kElements, 1), {kElements}));
          if (!r.ok()) unknown.fetch_add(1);
        } else {
          if (!v.Assign(*NDArray::Create<int32_t>(
                            std::vector<int32_t>(kElements, k), {kElements}))
                   .ok()) {
            unknown.fetch_add(1);
          }
        }
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      while (!done.load()) {
        NDArray a = v.value();
        absl::Span<const int32_t> x = a.values<int32_t>();
        if (x.size() != kElements) {
          torn.fetch_add(1);
          continue;
        }
        for (int32_t e : x) {
          if (e != x[0]) {
            torn.fetch_add(1);
            break;
          }
        }
        // Assigned values are <= kWrites; the adder adds at most kWrites.
        if (x[0] < 0 || x[0] > 2 * kWrites) unknown.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < kWriters; ++i) threads[i].join();
  done.store(true);
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(unknown.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

TEST(Variable, UpdateFunctionsAreExactUnderContention) {
  // x -> 2x - (x - 1) = x + 1 through two reads of `old`: exact only if no
  // other update interleaves.
  Variable v = MustCreateVariable("u", NDArray::Scalar<int64_t>(0));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 2000; ++k) {
        absl::StatusOr<NDArray> r =
            internal::VariableAccess::Impl(v)->Update([](const NDArray& old) {
              const int64_t x = old.values<int64_t>()[0];
              return NDArray::Scalar<int64_t>(2 * x - (x - 1));
            });
        ASSERT_TRUE(r.ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(v.value().values<int64_t>()[0], 8000);
}

TEST(Variable, CreateFindAndDropRaceCleanly) {
  // Thread t creates and drops variables named race/t while thread t-1
  // looks them up. A lookup holds a found variable alive for a moment, so
  // the owner may briefly see its new variable and the previous one both
  // live (kFailedPrecondition); it must never get another variable.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  std::atomic<int> own_found{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 500; ++k) {
        Variable v = MustCreateVariable(absl::StrCat("race/", t),
                                        NDArray::Scalar<int32_t>(k));
        absl::StatusOr<Variable> found = FindVariable(absl::StrCat("race/", t));
        if (found.ok()) {
          if (*found == v) {
            own_found.fetch_add(1);
          } else {
            wrong.fetch_add(1);
          }
        } else if (found.status().code() !=
                   absl::StatusCode::kFailedPrecondition) {
          wrong.fetch_add(1);
        }
        absl::StatusOr<Variable> other =
            FindVariable(absl::StrCat("race/", (t + 1) % 4));
        if (other.ok() && other->name() != absl::StrCat("race/", (t + 1) % 4)) {
          wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(own_found.load(), 0);
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(FindVariable(absl::StrCat("race/", t)).status().code(),
              absl::StatusCode::kNotFound);
  }
}

}  // namespace
}  // namespace weft
