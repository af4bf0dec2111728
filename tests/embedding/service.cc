// A small service: builds one graph, shares one Session between four
// request threads, and prints what they computed.
#include <array>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "weft.h"

int main() {
  weft::Graph g = weft::Graph::Create("model");
  weft::Tensor x, y;
  {
    weft::GraphScope scope(g);  // new ops land in g
    x = weft::ops::Placeholder(weft::DType::kFloat32, weft::Shape{-1, 4},
                               {.name = "x"});
    auto w = weft::NDArray::Create<float>({1, 0, 0, 1, 1, 0, 0, 1},
                                          weft::Shape{4, 2});
    y = weft::ops::Relu(weft::ops::MatMul(x, weft::ops::Const(*w)),
                        {.name = "y"});
  }
  if (!y.ok()) {  // any build error, naming where each op was created
    std::cerr << y.status() << "\n";
    return 1;
  }
  auto session = weft::Session::Create(g);  // one per graph, shared
  if (!session.ok()) {
    std::cerr << session.status() << "\n";
    return 1;
  }

  // Thread t feeds [[t, 1, 1, 1]] 25 times; each run yields [[t + 1, 2]].
  constexpr int kThreads = 4, kRuns = 25;
  std::array<std::array<float, 2>, kThreads> sums{};
  std::array<absl::Status, kThreads> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto in = weft::NDArray::Create<float>({float(t), 1, 1, 1}, {1, 4});
      for (int i = 0; i < kRuns; ++i) {
        auto out = (*session)->Run({{x, *in}}, {y});
        if (!out.ok()) {
          errors[t] = out.status();
          return;
        }
        auto v = (*out)[0].values<float>();
        sums[t][0] += v[0];
        sums[t][1] += v[1];
      }
    });
  }
  for (std::thread& th : threads) th.join();

  float total[2] = {0, 0};
  for (int t = 0; t < kThreads; ++t) {
    if (!errors[t].ok()) {
      std::cerr << errors[t] << "\n";
      return 1;
    }
    total[0] += sums[t][0];
    total[1] += sums[t][1];
  }
  std::cout << "service: " << kThreads * kRuns << " runs on " << kThreads
            << " threads, sum of y = [" << total[0] << ", " << total[1]
            << "]\n";
  return 0;
}
