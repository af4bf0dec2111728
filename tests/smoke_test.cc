#include <Eigen/Dense>
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "oneapi/tbb/task_group.h"

TEST(Smoke, Works) {
  absl::Mutex mu;
  int n = 0;
  tbb::task_group tg;
  for (int i = 0; i < 100; ++i) tg.run([&] { absl::MutexLock l(&mu); ++n; });
  tg.wait();
  EXPECT_EQ(n, 100);
  Eigen::MatrixXf m = Eigen::MatrixXf::Identity(2, 2);
  EXPECT_EQ(m.sum(), 2.0f);
}
