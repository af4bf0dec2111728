// cluster_mlp.cc — the README's two-layer MLP split over two worker
// processes: layer1 on task 0 and layer2 on task 1 of job "worker", the
// input fed and the probabilities fetched here. Start the workers, then
// run it against them:
//
//   bazel run //tools/weft -- serve --listen 127.0.0.1:5000 &
//   bazel run //tools/weft -- serve --listen 127.0.0.1:5001 &
//   bazel run //examples:cluster_mlp -- 127.0.0.1:5000 127.0.0.1:5001
//
// It runs the model 5 times with the run's deadline, prints the fetched
// probabilities and checks them against the same model run in this
// process. Kill a worker and run it again to see the error a dead task
// gives. With `--save FILE` it only writes the graph (examples/
// cluster_mlp.pbtxt, the input of //examples:cluster_mlp_partition_test).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "distributed/server.h"
#include "graph/graph_io.h"
#include "weft.h"

namespace {

weft::NDArray Weights(int rows, int cols, int seed) {
  std::vector<float> v(rows * cols);
  for (int i = 0; i < rows * cols; ++i) {
    v[i] = static_cast<float>((i * 7 + seed * 13) % 17) / 17.0f - 0.5f;
  }
  return *weft::NDArray::Create<float>(v, weft::Shape{rows, cols});
}

// x[?,4] -> layer1 (8 units, Relu, on `d0`) -> layer2 (3 units, Sigmoid,
// on `d1`) -> probs.
struct Model {
  weft::Graph graph;
  weft::Tensor x, probs;
};

Model BuildMlp(const std::string& d0, const std::string& d1) {
  using namespace weft;
  Model m{Graph::Create("mlp"), {}, {}};
  GraphScope scope(m.graph);
  m.x = ops::Placeholder(DType::kFloat32, Shape{-1, 4}, {.name = "x"});
  Tensor hidden;
  {
    NameScope ns("layer1");
    DeviceScope ds(d0);
    Tensor w = ops::Const(Weights(4, 8, 1), {.name = "w"});
    Tensor b = ops::Const(Weights(1, 8, 2), {.name = "b"});
    hidden = ops::Relu(ops::Add(ops::MatMul(m.x, w), b));
  }
  {
    NameScope ns("layer2");
    DeviceScope ds(d1);
    Tensor w = ops::Const(Weights(8, 3, 3), {.name = "w"});
    Tensor b = ops::Const(Weights(1, 3, 4), {.name = "b"});
    m.probs =
        ops::Sigmoid(ops::Add(ops::MatMul(hidden, w), b), {.name = "probs"});
  }
  return m;
}

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "%s: %s: %s\n", what.c_str(),
               absl::StatusCodeToString(s.code()).c_str(),
               std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr char kTask0[] = "/job:worker/task:0/cpu:0";
  constexpr char kTask1[] = "/job:worker/task:1/cpu:0";
  if (argc == 3 && std::string(argv[1]) == "--save") {
    std::string path = argv[2];
    if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
        cwd != nullptr && *cwd != '\0' && path[0] != '/') {
      path = absl::StrCat(cwd, "/", path);
    }
    Model m = BuildMlp(kTask0, kTask1);
    if (absl::Status s = weft::SaveGraph(m.graph, path); !s.ok()) {
      return Fail("saving the graph", s);
    }
    std::printf("saved the cluster MLP to %s\n", path.c_str());
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: cluster_mlp WORKER0_ADDRESS WORKER1_ADDRESS\n"
                 "       cluster_mlp --save GRAPH_FILE\n"
                 "  (start the workers with `weft serve --listen ADDRESS`)\n");
    return 2;
  }
  absl::StatusOr<weft::ClusterSpec> cluster =
      weft::ClusterSpec::Create({{"worker", {argv[1], argv[2]}}});
  if (!cluster.ok()) return Fail("the cluster", cluster.status());
  Model remote = BuildMlp(kTask0, kTask1);
  absl::StatusOr<std::unique_ptr<weft::Session>> session =
      weft::Session::Create(remote.graph, {.cluster = *cluster});
  if (!session.ok()) return Fail("Session::Create", session.status());
  Model local = BuildMlp("cpu:0", "cpu:0");
  auto reference = weft::Session::Create(local.graph);
  if (!reference.ok()) return Fail("Session::Create", reference.status());

  for (int step = 0; step < 5; ++step) {
    std::vector<float> batch(2 * 4);
    for (int i = 0; i < 8; ++i) batch[i] = 0.25f * ((i + step) % 5) - 0.5f;
    weft::NDArray x = *weft::NDArray::Create<float>(batch, weft::Shape{2, 4});
    absl::StatusOr<std::vector<weft::NDArray>> got = (*session)->Run(
        {{remote.x, x}}, {remote.probs}, {.timeout = absl::Seconds(5)});
    if (!got.ok()) return Fail(absl::StrCat("step ", step), got.status());
    absl::StatusOr<std::vector<weft::NDArray>> want =
        (*reference)->Run({{local.x, x}}, {local.probs});
    if (!want.ok()) return Fail("the local run", want.status());
    const bool same = (*got)[0].Equals((*want)[0]);
    std::printf("step %d: probs = %s (%s the in-process run)\n", step,
                (*got)[0].DebugString().c_str(),
                same ? "equal to" : "DIFFERENT from");
    if (!same) return 1;
  }
  std::printf("layer1 ran on %s (%s), layer2 on %s (%s)\n", kTask0, argv[1],
              kTask1, argv[2]);
  return 0;
}
