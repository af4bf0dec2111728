#include "graph/scopes.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "graph/thread_stacks.h"

namespace weft {
namespace internal {
ThreadStacks& CurrentStacks() {
  thread_local ThreadStacks stacks;
  return stacks;
}
std::vector<TracingFrame>& TracingStack() {
  thread_local std::vector<TracingFrame> frames;
  return frames;
}
}  // namespace internal

namespace {

[[noreturn]] void ScopeAbort(const std::string& message) {
  std::fprintf(stderr, "weft: fatal: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string Site(const std::source_location& loc) {
  return SourceSite::From(loc).ToString();
}

// Pops the entry owned by `owner` from `stack`, aborting if it is not the
// innermost one.
template <typename Entry, typename SiteOf>
void PopOwned(std::vector<Entry>& stack, const void* owner,
              const std::source_location& where, std::string_view kind,
              SiteOf site_of) {
  if (!stack.empty() && stack.back().owner == owner) {
    stack.pop_back();
    return;
  }
  std::string innermost =
      stack.empty()
          ? std::string("none (this thread's stack is empty)")
          : absl::StrCat("the one pushed at ", Site(site_of(stack.back())));
  ScopeAbort(absl::StrCat(
      kind, " pushed at ", Site(where),
      " was destroyed out of order on thread '", CurrentThreadName(),
      "': the innermost ", kind, " on this thread is ", innermost,
      ". Scopes must be destroyed in reverse order of creation, on the "
      "thread that created them."));
}

}  // namespace

GraphScope::GraphScope(Graph graph, std::source_location where)
    : where_(where) {
  internal::CurrentStacks().graphs.push_back(internal::GraphStackEntry{
      std::move(graph), ScopeOrigin{where, CurrentThreadName(), std::nullopt},
      this});
}

GraphScope::~GraphScope() {
  PopOwned(internal::CurrentStacks().graphs, this, where_, "GraphScope",
           [](const internal::GraphStackEntry& e) { return e.origin.site; });
}

NameScope::NameScope(std::string_view name, std::source_location where)
    : where_(where) {
  auto& names = internal::CurrentStacks().names;
  std::string prefix = names.empty() ? std::string() : names.back().value;
  if (!name.empty()) {
    prefix =
        prefix.empty() ? std::string(name) : absl::StrCat(prefix, "/", name);
  }
  names.push_back(internal::StringStackEntry{std::move(prefix), where, this});
}

NameScope::~NameScope() {
  PopOwned(internal::CurrentStacks().names, this, where_, "NameScope",
           [](const internal::StringStackEntry& e) { return e.site; });
}

DeviceScope::DeviceScope(std::string_view device, std::source_location where)
    : where_(where) {
  auto& devices = internal::CurrentStacks().devices;
  // "" inherits nothing: it clears placement inside the scope.
  devices.push_back(
      internal::StringStackEntry{std::string(device), where, this});
}

DeviceScope::~DeviceScope() {
  PopOwned(internal::CurrentStacks().devices, this, where_, "DeviceScope",
           [](const internal::StringStackEntry& e) { return e.site; });
}

GraphContext GraphContext::Capture(std::source_location where) {
  auto stacks =
      std::make_shared<internal::ThreadStacks>(internal::CurrentStacks());
  for (auto& e : stacks->graphs) e.owner = nullptr;
  for (auto& e : stacks->names) e.owner = nullptr;
  for (auto& e : stacks->devices) e.owner = nullptr;
  GraphContext ctx;
  ctx.stacks_ = std::move(stacks);
  ctx.where_ = where;
  ctx.thread_ = CurrentThreadName();
  return ctx;
}

Graph GraphContext::graph() const {
  if (stacks_ == nullptr || stacks_->graphs.empty()) return RootGraph();
  return stacks_->graphs.back().graph;
}

ContextScope::ContextScope(const GraphContext& context,
                           std::source_location where)
    : where_(where) {
  internal::ThreadStacks& current = internal::CurrentStacks();
  saved_ = std::make_unique<internal::ThreadStacks>(std::move(current));
  current =
      context.stacks_ != nullptr ? *context.stacks_ : internal::ThreadStacks{};
  for (auto& e : current.graphs) {
    if (!e.origin.carried_by.has_value()) e.origin.carried_by = where;
  }
  installed_graphs_ = current.graphs.size();
  installed_names_ = current.names.size();
  installed_devices_ = current.devices.size();
}

ContextScope::~ContextScope() {
  internal::ThreadStacks& current = internal::CurrentStacks();
  auto check = [&](size_t now, size_t installed, std::string_view kind,
                   const std::source_location& inner) {
    if (now != installed) {
      ScopeAbort(absl::StrCat(
          "ContextScope installed at ", Site(where_), " on thread '",
          CurrentThreadName(), "' was destroyed while a ", kind,
          " pushed inside it at ", Site(inner),
          " is still alive. Scopes must be destroyed in reverse order of "
          "creation."));
    }
  };
  if (current.graphs.size() != installed_graphs_) {
    check(current.graphs.size(), installed_graphs_, "GraphScope",
          current.graphs.empty() ? where_ : current.graphs.back().origin.site);
  }
  if (current.names.size() != installed_names_) {
    check(current.names.size(), installed_names_, "NameScope",
          current.names.empty() ? where_ : current.names.back().site);
  }
  if (current.devices.size() != installed_devices_) {
    check(current.devices.size(), installed_devices_, "DeviceScope",
          current.devices.empty() ? where_ : current.devices.back().site);
  }
  current = std::move(*saved_);
}

}  // namespace weft
