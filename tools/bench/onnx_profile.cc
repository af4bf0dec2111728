// Where an ONNX model's run time goes in weft: imports MODEL pinned to the
// .npy input's shape, runs it once to warm up, then --runs times with
// per-node timings (RunMetadata), and prints the total time per op type and
// the slowest nodes (medians over the runs).
//
//   bazel run -c opt //tools/bench:onnx_profile -- MODEL.onnx INPUT.npy [RUNS]
//       [THREADS]     (one command line)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/ndarray.h"
#include "graph/node.h"
#include "graph/npy.h"
#include "interop/onnx_import.h"
#include "runtime/run_metadata.h"
#include "runtime/session.h"

namespace weft {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// "in [1,3,48,320] [16,3,3,3] -> [1,16,24,160]" for the node named after
// the op type and a space in `op_and_name`.
std::string ShapesOf(const Graph& g, const std::string& op_and_name) {
  const Node* n = g.FindNode(op_and_name.substr(op_and_name.find(' ') + 1));
  if (n == nullptr) return "";
  std::string out = "in";
  for (const NodeInput& in : n->inputs()) {
    out += " " + g.node(in.node)->output_shapes()[in.slot].DebugString();
  }
  out += " ->";
  for (const Shape& s : n->output_shapes()) out += " " + s.DebugString();
  return out;
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: onnx_profile MODEL.onnx INPUT.npy [RUNS] "
                 "[THREADS]\n");
    return 2;
  }
  const int runs = argc > 3 ? std::atoi(argv[3]) : 10;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  absl::StatusOr<NDArray> in = ReadNpy(argv[2]);
  if (!in.ok()) {
    std::fprintf(stderr, "%s\n", in.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<OnnxModel> m =
      ImportOnnx(argv[1], {.input_shapes = {{"x", in->shape()}}});
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(m->graph, {.num_threads = threads});
  if (!s.ok()) return 1;
  const Feeds feeds = {{m->inputs[0], *in}};
  if (!(*s)->Run(feeds, m->outputs).ok()) return 1;
  std::map<std::string, std::vector<double>> by_op, by_node;
  std::map<std::string, int> op_count;
  std::vector<double> wall;
  for (int r = 0; r < runs; ++r) {
    RunMetadata md;
    auto out = (*s)->Run(feeds, m->outputs, {}, &md);
    if (!out.ok()) return 1;
    wall.push_back(md.run_wall_ns / 1e6);
    std::map<std::string, double> ops;
    for (const NodeExecStats& n : md.node_stats) {
      ops[n.op] += n.duration_ns / 1e6;
      by_node[n.op + " " + n.name].push_back(n.duration_ns / 1e6);
      if (r == 0) ++op_count[n.op];
    }
    for (const auto& [op, ms] : ops) by_op[op].push_back(ms);
  }
  std::printf("run wall: median %.2f ms over %d runs\n", Median(wall), runs);
  std::vector<std::pair<double, std::string>> rows;
  double sum = 0;
  for (const auto& [op, v] : by_op) {
    rows.emplace_back(Median(v), op);
    sum += Median(v);
  }
  std::sort(rows.rbegin(), rows.rend());
  std::printf("per op (sum of node times, median; total %.2f ms):\n", sum);
  for (const auto& [ms, op] : rows) {
    std::printf("  %-20s %4d nodes %9.3f ms\n", op.c_str(), op_count[op], ms);
  }
  rows.clear();
  for (const auto& [n, v] : by_node) rows.emplace_back(Median(v), n);
  std::sort(rows.rbegin(), rows.rend());
  std::printf("slowest nodes:\n");
  for (size_t i = 0; i < rows.size() && i < 25; ++i) {
    std::printf("  %9.3f ms  %-36s %s\n", rows[i].first, rows[i].second.c_str(),
                ShapesOf(m->graph, rows[i].second).c_str());
  }
  return 0;
}

}  // namespace
}  // namespace weft

int main(int argc, char** argv) { return weft::Main(argc, argv); }
