#include "tools/weft/demo.h"

#include <cstdio>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/weft/cli.h"
#include "weft.h"

namespace weft::tools {
namespace {

NDArray RandomMatrix(int rows, int cols, float scale, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(rows * cols);
  for (float& x : v) x = dist(rng);
  return *NDArray::Create<float>(v, Shape{rows, cols});
}

void Section(std::string_view title) {
  std::printf("\n== %.*s\n", static_cast<int>(title.size()), title.data());
}

}  // namespace

// Long (~160 lines) on purpose: a script whose numbered sections build, run
// and print in the order of its output, each a few lines; it reads top to
// bottom like what it prints.
absl::Status RunDemo(const DemoOptions& options) {
  SetCurrentThreadName("main");
  std::mt19937 rng(42);
  constexpr int kBatch = 8, kIn = 16, kHidden = 32, kOut = 4;

  Section(
      "1. Build a two-layer MLP in graph 'training' (layer1 on cpu:0, layer2 "
      "on cpu:1)");
  Graph training = Graph::Create("training");
  Tensor x, hidden, probs, loss;
  {
    GraphScope scope(training);
    x = ops::Placeholder(DType::kFloat32, Shape{-1, kIn}, {.name = "x"});
    {
      NameScope ns("layer1");
      DeviceScope ds("cpu:0");
      Tensor w =
          ops::Const(RandomMatrix(kIn, kHidden, 0.3f, rng), {.name = "w"});
      Tensor b = ops::Const(RandomMatrix(1, kHidden, 0.1f, rng), {.name = "b"});
      hidden = ops::Relu(ops::Add(ops::MatMul(x, w), b));
    }
    {
      NameScope ns("layer2");
      DeviceScope ds("cpu:1");
      Tensor w =
          ops::Const(RandomMatrix(kHidden, kOut, 0.3f, rng), {.name = "w"});
      Tensor b = ops::Const(RandomMatrix(1, kOut, 0.1f, rng), {.name = "b"});
      probs =
          ops::Sigmoid(ops::Add(ops::MatMul(hidden, w), b), {.name = "probs"});
      Tensor target = ops::Const(
          *NDArray::Create<float>(std::vector<float>(kBatch * kOut, 0.5f),
                                  Shape{kBatch, kOut}),
          {.name = "target"});
      Tensor err = ops::Sub(probs, target);
      loss = ops::ReduceMean(ops::Mul(err, err), {}, {.name = "loss"});
    }
    if (!loss.ok()) return loss.status();
  }
  std::printf("graph %s: %d nodes; probs is %s %s\n",
              training.DisplayName().c_str(), training.num_nodes(),
              std::string(DTypeName(probs.dtype())).c_str(),
              probs.shape().DebugString().c_str());

  Section("2. Run it on a Session with devices cpu:0 and cpu:1");
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(
      training, {.num_threads = 0, .devices = {"cpu:0", "cpu:1"}});
  if (!session.ok()) return session.status();
  NDArray batch = RandomMatrix(kBatch, kIn, 1.0f, rng);
  // A warm-up run compiles and caches the plan and wakes oneTBB's workers;
  // the second run is the one measured.
  if (absl::Status s = (*session)->Run({{x, batch}}, {probs, loss}).status();
      !s.ok()) {
    return s;
  }
  RunMetadata md;
  RunOptions run_options;
  run_options.trace = !options.trace_path.empty();
  absl::StatusOr<std::vector<NDArray>> out =
      (*session)->Run({{x, batch}}, {probs, loss}, run_options, &md);
  if (!out.ok()) return out.status();
  std::printf("probs (first 2 rows): ");
  absl::Span<const float> p = (*out)[0].values<float>();
  for (int r = 0; r < 2; ++r) {
    std::printf("[");
    for (int c = 0; c < kOut; ++c)
      std::printf(c ? ", %.4f" : "%.4f", p[r * kOut + c]);
    std::printf("] ");
  }
  std::printf("\nloss = %.6f\n", (*out)[1].values<float>()[0]);

  Section("3. Partitions and transfers");
  std::printf("%s", md.partition_dump.c_str());
  std::printf("partitions: %d, transfers: %d\n", md.num_partitions,
              md.num_transfers);
  for (size_t i = 0; i < md.partition_wall_ns.size(); ++i) {
    std::printf("partition %zu (%s): %.1f us\n", i,
                md.partition_devices[i].c_str(),
                md.partition_wall_ns[i] / 1000.0);
  }
  std::printf("whole step: %.1f us, %zu steps timed\n", md.run_wall_ns / 1000.0,
              md.node_stats.size());
  if (!options.trace_path.empty()) {
    if (absl::Status s =
            WriteWholeFile(options.trace_path, md.chrome_trace_json);
        !s.ok()) {
      return s;
    }
    std::printf("wrote Chrome trace to %s (open in ui.perfetto.dev)\n",
                options.trace_path.c_str());
  }
  if (!options.dot_path.empty()) {
    absl::StatusOr<PlanSummary> plan = (*session)->GetPlan({x}, {probs, loss});
    if (!plan.ok()) return plan.status();
    if (absl::Status s = WriteWholeFile(options.dot_path, plan->dot); !s.ok()) {
      return s;
    }
    std::printf("wrote Graphviz DOT to %s (dot -Tpng %s -o plan.png)\n",
                options.dot_path.c_str(), options.dot_path.c_str());
  }

  Section(
      "4. The classic mistake: a request thread builds on 'serving' with a "
      "'training' tensor");
  Graph serving = Graph::Create("serving");
  Tensor mistake;
  std::thread worker([&] {
    SetCurrentThreadName("worker-1");
    GraphScope scope(serving);  // The request handler's graph.
    Tensor bias = ops::Const(NDArray::Scalar<float>(1.0f), {.name = "bias"});
    mistake =
        ops::Add(hidden, bias, {.name = "head"});  // hidden is training's.
  });
  worker.join();
  std::printf(
      "ops::Add returned a Tensor that is not ok; its status:\n\n%s\n\n",
      std::string(mistake.status().message()).c_str());
  if (std::optional<CrossGraphEdge> e = GetCrossGraphEdge(mistake.status())) {
    std::printf(
        "The structured payload (GetCrossGraphEdge) a service can log:\n"
        "  op=%s graph=%s(id %lld) input=%s from graph=%s(id %lld), built at "
        "%s on thread '%s'\n",
        e->op_name.c_str(), e->graph_name.c_str(),
        static_cast<long long>(e->graph_id), e->input_name.c_str(),
        e->input_graph_name.c_str(), static_cast<long long>(e->input_graph_id),
        e->op_site.FileLine().c_str(), e->op_thread.c_str());
  }
  std::printf(
      "\nWhy: 'hidden' was built in 'training' on thread 'main'; the worker "
      "made\n"
      "'serving' its default graph, so the Add was to land there. TensorFlow "
      "would\n"
      "say \"Tensor ... is not an element of this graph\"; weft refuses the "
      "edge when\n"
      "the op is built and says where both sides came from. The Add was added\n"
      "to neither graph: 'serving' holds only the bias (%d node).\n",
      serving.num_nodes());

  Section("5. The fix: carry the model's context into the worker");
  GraphContext ctx;
  {
    GraphScope scope(training);
    ctx = GraphContext::Capture();
  }
  Tensor fixed;
  std::thread fixed_worker([&] {
    SetCurrentThreadName("worker-2");
    ContextScope cs(ctx);
    fixed = ops::Add(hidden, ops::Const(NDArray::Scalar<float>(1.0f)),
                     {.name = "head"});
  });
  fixed_worker.join();
  if (!fixed.ok()) return fixed.status();
  absl::StatusOr<std::vector<NDArray>> head =
      (*session)->Run({{x, batch}}, {fixed});
  if (!head.ok()) return head.status();
  std::printf("built '%s' in %s from thread 'worker-2'; ran it: %s\n",
              fixed.name().c_str(), fixed.graph().DisplayName().c_str(),
              (*head)[0].DebugString(6).c_str());
  if (absl::Status s = RunStateDemo(); !s.ok()) return s;
  return RunAsyncDemo();
}

}  // namespace weft::tools
