// The run's trace writer: RunMetadata's node and partition timings and the
// Chrome trace-event JSON.
#include <algorithm>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "runtime/executor.h"

namespace weft {
namespace internal {
namespace {

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A step's name and op in RunMetadata: a node's own, or "send <key>" /
// "recv <key>" for a transfer; a fed node's op is "Feed".
void NameStep(const CompiledPlan& plan, const PlanNode& n, NodeExecStats& s) {
  switch (n.kind) {
    case PartitionItem::Kind::kOp:
      s.name = n.node->name();
      s.op = n.node->op();
      break;
    case PartitionItem::Kind::kFeed:
      s.name = n.node->name();
      s.op = "Feed";
      break;
    case PartitionItem::Kind::kSend:
      s.name =
          absl::StrCat("send ", plan.partitioned.transfers[n.transfer].key);
      s.op = "Send";
      break;
    case PartitionItem::Kind::kRecv:
      s.name =
          absl::StrCat("recv ", plan.partitioned.transfers[n.transfer].key);
      s.op = "Recv";
      break;
  }
}

// The Chrome trace-event document: one track per partition, one complete
// event per step in `stats`.
std::string ChromeTraceJson(const std::vector<Partition>& parts,
                            const std::vector<NodeExecStats>& stats) {
  std::string json = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  absl::StrAppend(&json,
                  "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":"
                  "{\"name\":\"weft Session::Run\"}}");
  for (size_t p = 0; p < parts.size(); ++p) {
    absl::StrAppend(&json,
                    ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                    "\"tid\":",
                    p, ",\"args\":{\"name\":\"partition ", p, " (",
                    JsonEscape(parts[p].device), ")\"}}");
  }
  for (const NodeExecStats& s : stats) {
    absl::StrAppend(&json, ",\n{\"name\":\"", JsonEscape(s.name),
                    "\",\"cat\":\"", JsonEscape(s.op),
                    "\",\"ph\":\"X\",\"pid\":1,\"tid\":", s.partition,
                    ",\"ts\":", static_cast<double>(s.start_ns) / 1000.0,
                    ",\"dur\":", static_cast<double>(s.duration_ns) / 1000.0,
                    ",\"args\":{\"op\":\"", JsonEscape(s.op),
                    "\",\"device\":\"", JsonEscape(s.device), "\"}}");
  }
  json.append("\n]}\n");
  return json;
}

}  // namespace

void FillRunMetadata(const CompiledPlan& plan,
                     const std::vector<StepTiming>& timings, int64_t start_ns,
                     int64_t end_ns, bool trace, RunMetadata& md) {
  const auto& parts = plan.partitioned.partitions;
  md.partition_devices.clear();
  for (const Partition& p : parts) md.partition_devices.push_back(p.device);
  md.partition_wall_ns.assign(parts.size(), 0);
  md.run_wall_ns = end_ns - start_ns;
  md.node_stats.clear();
  std::vector<int64_t> first(parts.size(), -1), last(parts.size(), -1);
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const StepTiming& t = timings[i];
    if (t.start < 0) continue;
    const PlanNode& n = plan.nodes[i];
    NodeExecStats s;
    NameStep(plan, n, s);
    s.partition = n.partition;
    s.device = parts[n.partition].device;
    s.start_ns = t.start - start_ns;
    s.duration_ns = t.end - t.start;
    if (first[n.partition] < 0 || t.start < first[n.partition])
      first[n.partition] = t.start;
    last[n.partition] = std::max(last[n.partition], t.end);
    md.node_stats.push_back(std::move(s));
  }
  std::sort(md.node_stats.begin(), md.node_stats.end(),
            [](const NodeExecStats& a, const NodeExecStats& b) {
              return a.start_ns < b.start_ns;
            });
  for (size_t p = 0; p < parts.size(); ++p) {
    if (first[p] >= 0) md.partition_wall_ns[p] = last[p] - first[p];
  }
  if (trace) md.chrome_trace_json = ChromeTraceJson(parts, md.node_stats);
}

}  // namespace internal
}  // namespace weft
