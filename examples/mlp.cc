// mlp.cc — builds the two-layer MLP of the README (layer1 on cpu:0, layer2
// on cpu:1, as `weft demo` does, at a reviewable size) and saves it to the
// graph file named on the command line (.pbtxt text or .pb binary):
//
//   bazel run //examples:mlp -- /tmp/mlp.pbtxt
//   bazel run //examples:mlp -- examples/mlp.pbtxt  # the checked-in file
//
// Relative paths are from where you ran Bazel; the weights are a fixed
// function of their index, so the file is the same on every run.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph_io.h"
#include "weft.h"

namespace {

weft::NDArray Weights(int rows, int cols, int seed) {
  std::vector<float> v(rows * cols);
  for (int i = 0; i < rows * cols; ++i) {
    // Small values of both signs, spread over [-0.5, 0.5).
    v[i] = static_cast<float>((i * 7 + seed * 13) % 17) / 17.0f - 0.5f;
  }
  return *weft::NDArray::Create<float>(v, weft::Shape{rows, cols});
}

// The model: x[?,4] -> layer1 (8 units, Relu, cpu:0) -> layer2 (3 units,
// Sigmoid, cpu:1) -> probs.
absl::StatusOr<weft::Graph> BuildMlp() {
  using namespace weft;
  Graph g = Graph::Create("mlp");
  GraphScope scope(g);
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, 4}, {.name = "x"});
  Tensor hidden;
  {
    NameScope ns("layer1");
    DeviceScope ds("cpu:0");
    Tensor w = ops::Const(Weights(4, 8, 1), {.name = "w"});
    Tensor b = ops::Const(Weights(1, 8, 2), {.name = "b"});
    hidden = ops::Relu(ops::Add(ops::MatMul(x, w), b));
  }
  Tensor probs;
  {
    NameScope ns("layer2");
    DeviceScope ds("cpu:1");
    Tensor w = ops::Const(Weights(8, 3, 3), {.name = "w"});
    Tensor b = ops::Const(Weights(1, 3, 4), {.name = "b"});
    probs =
        ops::Sigmoid(ops::Add(ops::MatMul(hidden, w), b), {.name = "probs"});
  }
  if (!probs.ok()) return probs.status();
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc == 2 ? argv[1] : "";
  if (arg.empty() || arg[0] == '-') {
    // Never a default path: the checked-in examples/mlp.pbtxt is only
    // rewritten when named.
    const bool help = arg == "-h" || arg == "--help";
    std::fprintf(help ? stdout : stderr,
                 "usage: mlp OUTPUT  (the graph file to write: .pbtxt text, "
                 ".pb binary)\n"
                 "  bazel run //examples:mlp -- /tmp/mlp.pbtxt\n"
                 "  bazel run //examples:mlp -- examples/mlp.pbtxt  # "
                 "rewrites the checked-in file\n");
    return help ? 0 : 2;
  }
  std::string path = arg;
  // Under `bazel run`, a relative path is from where Bazel was run.
  if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
      cwd != nullptr && *cwd != '\0' && path[0] != '/') {
    path = absl::StrCat(cwd, "/", path);
  }
  absl::StatusOr<weft::Graph> g = BuildMlp();
  if (!g.ok()) {
    std::fprintf(stderr, "building the MLP failed: %s\n",
                 std::string(g.status().message()).c_str());
    return 1;
  }
  if (absl::Status s = weft::SaveGraph(*g, path); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("saved graph %s (%d nodes) to %s\n", g->DisplayName().c_str(),
              g->num_nodes(), path.c_str());
  return 0;
}
