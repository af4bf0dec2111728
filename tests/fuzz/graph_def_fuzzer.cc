// A libFuzzer target for graph loading (graph/graph_io.h): every input is
// parsed as a binary and as a text weft.GraphDef and, if it parses, rebuilt
// through Graph::AddOp's checks. Any crash, leak or sanitizer report is a
// bug; errors are the expected outcome. Build and run it with clang (see
// docs/graph_format.md):
//
//   bazel --output_base=/tmp/weft-fuzz build --config=fuzz \
//       //tests/fuzz:graph_def_fuzzer
//   mkdir -p /tmp/corpus && cp examples/mlp.pbtxt /tmp/corpus/
//   bazel-bin/tests/fuzz/graph_def_fuzzer /tmp/corpus -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/stubs/logging.h"
#include "graph/graph_io.h"

namespace {
void Quiet(google::protobuf::LogLevel, const char*, int, const std::string&) {}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(&Quiet);
    return true;
  }();
  (void)quiet;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (weft::GraphFileFormat format :
       {weft::GraphFileFormat::kBinary, weft::GraphFileFormat::kText}) {
    absl::StatusOr<weft::Graph> g = weft::ParseGraph(input, format, "fuzz");
    if (g.ok()) (void)g->DebugString();
  }
  return 0;
}
