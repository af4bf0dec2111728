#include "interop/onnx_functions.h"

#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace weft {
namespace onnx_internal {
namespace {

using FunctionTable = absl::flat_hash_map<std::pair<std::string, std::string>,
                                          const onnx::FunctionProto*>;

// The local function a node calls, or nullptr.
const onnx::FunctionProto* Callee(const FunctionTable& table,
                                  const onnx::NodeProto& n) {
  auto it = table.find({n.domain(), n.op_type()});
  return it == table.end() ? nullptr : it->second;
}

// Renames the values of `g` (a subgraph inside a function body) that are
// names of the function's scope; names local to `g` are not in `rename`
// (ONNX names are unique across scopes).
void RenameInGraph(onnx::GraphProto& g,
                   const absl::flat_hash_map<std::string, std::string>& rename);

void RenameNode(onnx::NodeProto& n,
                const absl::flat_hash_map<std::string, std::string>& rename) {
  for (std::string& s : *n.mutable_input()) {
    if (auto it = rename.find(s); it != rename.end()) s = it->second;
  }
  for (std::string& s : *n.mutable_output()) {
    if (auto it = rename.find(s); it != rename.end()) s = it->second;
  }
  for (onnx::AttributeProto& a : *n.mutable_attribute()) {
    if (a.has_g()) RenameInGraph(*a.mutable_g(), rename);
    for (onnx::GraphProto& g : *a.mutable_graphs()) RenameInGraph(g, rename);
  }
}

void RenameInGraph(
    onnx::GraphProto& g,
    const absl::flat_hash_map<std::string, std::string>& rename) {
  for (onnx::NodeProto& n : *g.mutable_node()) RenameNode(n, rename);
  for (onnx::ValueInfoProto& v : *g.mutable_output()) {
    if (auto it = rename.find(v.name()); it != rename.end()) {
      v.set_name(it->second);
    }
  }
}

// Replaces the attributes of `n` that refer to the calling node's
// (ref_attr_name) by the call's attribute of that name, or drops them.
void BindAttributes(onnx::NodeProto& n, const onnx::NodeProto& call) {
  google::protobuf::RepeatedPtrField<onnx::AttributeProto> bound;
  for (const onnx::AttributeProto& a : n.attribute()) {
    if (a.ref_attr_name().empty()) {
      *bound.Add() = a;
      continue;
    }
    for (const onnx::AttributeProto& given : call.attribute()) {
      if (given.name() == a.ref_attr_name()) {
        onnx::AttributeProto* b = bound.Add();
        *b = given;
        b->set_name(a.name());
        break;
      }
    }
  }
  n.mutable_attribute()->Swap(&bound);
}

// The nodes that replace `call`, a call of `f`; `prefix` makes its values
// unique.
google::protobuf::RepeatedPtrField<onnx::NodeProto> Expand(
    const onnx::FunctionProto& f, const onnx::NodeProto& call,
    const std::string& prefix) {
  absl::flat_hash_map<std::string, std::string> rename;
  for (int i = 0; i < f.input_size(); ++i) {
    rename[f.input(i)] = i < call.input_size() ? call.input(i) : "";
  }
  for (int i = 0; i < f.output_size(); ++i) {
    rename[f.output(i)] = i < call.output_size() && !call.output(i).empty()
                              ? call.output(i)
                              : absl::StrCat(prefix, f.output(i));
  }
  for (const onnx::NodeProto& n : f.node()) {
    for (const std::string& o : n.output()) {
      if (!o.empty() && !rename.contains(o)) {
        rename[o] = absl::StrCat(prefix, o);
      }
    }
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> out;
  for (const onnx::NodeProto& body : f.node()) {
    onnx::NodeProto* n = out.Add();
    *n = body;
    if (!n->name().empty()) n->set_name(absl::StrCat(prefix, n->name()));
    RenameNode(*n, rename);
    BindAttributes(*n, call);
  }
  return out;
}

// One pass over `g` and its subgraphs; true if any call was expanded.
bool ExpandCalls(onnx::GraphProto& g, const FunctionTable& table,
                 int& counter) {
  bool expanded = false;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (onnx::NodeProto& n : *g.mutable_node()) {
    for (onnx::AttributeProto& a : *n.mutable_attribute()) {
      if (a.has_g()) expanded |= ExpandCalls(*a.mutable_g(), table, counter);
      for (onnx::GraphProto& sub : *a.mutable_graphs()) {
        expanded |= ExpandCalls(sub, table, counter);
      }
    }
    const onnx::FunctionProto* f = Callee(table, n);
    if (f == nullptr || counter >= kMaxFunctionCalls) {
      *nodes.Add() = std::move(n);
      continue;
    }
    const std::string prefix = absl::StrCat(
        n.name().empty() ? n.op_type() : n.name(), "#", counter++, "/");
    for (onnx::NodeProto& body : Expand(*f, n, prefix)) {
      *nodes.Add() = std::move(body);
    }
    expanded = true;
  }
  g.mutable_node()->Swap(&nodes);
  return expanded;
}

}  // namespace

absl::Status InlineLocalFunctions(onnx::ModelProto& model,
                                  std::string_view source) {
  if (model.functions_size() == 0) return absl::OkStatus();
  FunctionTable table;
  for (const onnx::FunctionProto& f : model.functions()) {
    table[{f.domain(), f.name()}] = &f;
  }
  int counter = 0;
  for (int depth = 0; depth <= kMaxFunctionDepth; ++depth) {
    if (!ExpandCalls(*model.mutable_graph(), table, counter)) {
      return absl::OkStatus();
    }
    if (counter >= kMaxFunctionCalls) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ONNX model ", source, ": its local functions expand to more than ",
          kMaxFunctionCalls, " calls"));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("ONNX model ", source,
                   ": its local functions call each other more "
                   "than ",
                   kMaxFunctionDepth, " deep (a recursive function?)"));
}

}  // namespace onnx_internal
}  // namespace weft
