// `weft demo`, section 6: state shared across graphs through Variables — a
// linear model trained by one graph (explicit gradient, AssignSub) while a
// second graph serves from the same variables, then a checkpoint saved and
// restored.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "state/checkpoint.h"
#include "state/variable_ops.h"
#include "tools/weft/demo.h"
#include "weft.h"

namespace weft::tools {

// Long (~90 lines) on purpose: like RunDemo, a script whose steps run and
// print in the order of its output.
absl::Status RunStateDemo() {
  std::printf(
      "\n== 6. Variables: one model's weights trained by graph 'train' and "
      "served by graph 'serve'\n");
  absl::StatusOr<Variable> w =
      Variable::Create("linear/w", NDArray::Scalar(0.0f));
  if (!w.ok()) return w.status();
  absl::StatusOr<Variable> b =
      Variable::Create("linear/b", NDArray::Scalar(0.0f));
  if (!b.ok()) return b.status();

  // Training: y = w*x + b, mean squared error, gradients written out.
  Graph train = Graph::Create("train");
  Tensor x, y, loss, step_w, step_b;
  {
    GraphScope scope(train);
    x = ops::Placeholder(DType::kFloat32, Shape{-1}, {.name = "x"});
    y = ops::Placeholder(DType::kFloat32, Shape{-1}, {.name = "y"});
    Tensor err = ops::Sub(
        ops::Add(ops::Mul(x, ops::ReadVariable(*w)), ops::ReadVariable(*b)), y);
    loss = ops::ReduceMean(ops::Mul(err, err), {}, {.name = "loss"});
    Tensor lr2 = ops::Const(NDArray::Scalar(0.02f));  // 2 * learning rate.
    step_w = ops::AssignSub(
        *w, ops::Mul(lr2, ops::ReduceMean(ops::Mul(err, x), {})));
    step_b = ops::AssignSub(*b, ops::Mul(lr2, ops::ReduceMean(err, {})));
  }
  // Serving: the same variables, read through nodes of another graph.
  Graph serve = Graph::Create("serve");
  Tensor q, answer;
  {
    GraphScope scope(serve);
    q = ops::Placeholder(DType::kFloat32, Shape{}, {.name = "q"});
    answer = ops::Add(ops::Mul(q, ops::ReadVariable(*w)), ops::ReadVariable(*b),
                      {.name = "answer"});
  }
  absl::StatusOr<std::unique_ptr<Session>> trainer = Session::Create(train);
  if (!trainer.ok()) return trainer.status();
  absl::StatusOr<std::unique_ptr<Session>> server = Session::Create(serve);
  if (!server.ok()) return server.status();

  // Data on y = 3x + 1.
  const NDArray xs = NDArray::Vector<float>({-2, -1, 0, 1, 2, 3});
  const NDArray ys = NDArray::Vector<float>({-5, -2, 1, 4, 7, 10});
  std::atomic<bool> done{false};
  std::atomic<int> served{0};
  std::atomic<float> last_answer{0};
  std::thread client([&] {
    SetCurrentThreadName("client");
    while (!done.load()) {
      absl::StatusOr<std::vector<NDArray>> r =
          (*server)->Run({{q, NDArray::Scalar(10.0f)}}, {answer});
      if (!r.ok()) break;
      last_answer = (*r)[0].values<float>()[0];
      served.fetch_add(1);
    }
  });
  absl::Status status;
  for (int step = 0; step <= 300 && status.ok(); ++step) {
    absl::StatusOr<std::vector<NDArray>> r =
        (*trainer)->Run({{x, xs}, {y, ys}}, {loss}, {step_w, step_b});
    if (!r.ok()) {
      status = r.status();
      break;
    }
    if (step % 60 == 0) {
      std::printf(
          "step %3d  loss %8.4f  w %.3f  b %.3f   serving answer(10) = %.3f "
          "(%d requests so far)\n",
          step, (*r)[0].values<float>()[0], w->value().values<float>()[0],
          b->value().values<float>()[0], last_answer.load(), served.load());
    }
  }
  done = true;
  client.join();
  if (!status.ok()) return status;

  const std::string path =
      (std::filesystem::temp_directory_path() / "weft_demo.safetensors")
          .string();
  if (absl::Status s = SaveVariables(path, {*w, *b}); !s.ok()) return s;
  const float trained = w->value().values<float>()[0];
  if (absl::Status s = w->Assign(NDArray::Scalar(0.0f)); !s.ok()) return s;
  if (absl::Status s = RestoreVariables(path, {*w, *b}); !s.ok()) return s;
  std::printf(
      "saved w=%.3f b=%.3f to %s (safetensors), zeroed w, restored it: "
      "w=%.3f (%s)\n",
      trained, b->value().values<float>()[0], path.c_str(),
      w->value().values<float>()[0],
      w->value().values<float>()[0] == trained ? "identical" : "DIFFERENT");
  std::filesystem::remove(path);
  return absl::OkStatus();
}

}  // namespace weft::tools
