// error_catalogue — provokes every error shown in docs/errors.md with real
// weft calls and keeps the doc's sample messages equal to what weft prints.
//
// Each sample block of docs/errors.md is preceded by a marker naming it,
// `<!-- error:ID -->`, and is produced here by Catalogue::Add(ID, text).
//
//   error_catalogue                 prints every sample, keyed by ID
//   error_catalogue --check FILE    exits 1, with a diff, if a marked block
//                                   of FILE differs from the sample now
//   error_catalogue --update [FILE] rewrites the marked blocks of FILE
//                                   (default: docs/errors.md of the
//                                   workspace `bazel run` was started in)
//
// Regenerate the doc after changing an error message (or this file):
//   bazel run //tests/docs:error_catalogue -- --update
//
// The messages are deterministic: graphs are created in a fixed order in a
// fresh process (so their ids are stable), threads are named with
// SetCurrentThreadName, sizes and limits are set explicitly, files are
// written under a fresh directory with relative paths, and the one
// process-dependent number (the pid in a temporary file name) is replaced
// by `<pid>`. Sites read `tests/docs/error_catalogue.cc:LINE in FUNCTION`.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "weft.h"

namespace weft {
namespace {

// The samples, in the order they were added.
class Catalogue {
 public:
  void Add(const std::string& id, const std::string& text) {
    if (samples_.count(id) != 0) {
      std::cerr << "error_catalogue: sample '" << id << "' added twice\n";
      std::exit(2);
    }
    order_.push_back(id);
    samples_[id] = text;
  }
  // Several messages, one after another.
  void Add(const std::string& id, const std::vector<std::string>& texts,
           const std::string& separator = "\n") {
    Add(id, absl::StrJoin(texts, separator));
  }
  const std::vector<std::string>& order() const { return order_; }
  const std::map<std::string, std::string>& samples() const { return samples_; }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::string> samples_;
};

// The message of `s`, which must be an error.
std::string Msg(const absl::Status& s) {
  if (s.ok()) {
    std::cerr << "error_catalogue: expected an error, got OK\n";
    std::exit(2);
  }
  return std::string(s.message());
}
std::string Msg(const Tensor& t) { return Msg(t.status()); }
template <typename T>
std::string Msg(const absl::StatusOr<T>& s) {
  return Msg(s.status());
}

// "CODE: message", as absl prints a Status, without the payloads.
std::string CodeMsg(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", Msg(s));
}
template <typename T>
std::string CodeMsg(const absl::StatusOr<T>& s) {
  return CodeMsg(s.status());
}

// The first line of an error message.
std::string Primary(const std::string& message) {
  return message.substr(0, message.find('\n'));
}

// Replaces the pid in temporary file names ("x.tmp.31701.0").
std::string ScrubPid(const std::string& text) {
  return std::regex_replace(text, std::regex("(\\.tmp[.-])[0-9]+"), "$1<pid>");
}

NDArray F32(std::vector<float> values, Shape shape) {
  return *NDArray::Create<float>(std::move(values), std::move(shape));
}

// Runs `body` on a thread named `name` and waits for it.
void OnThread(const std::string& name, const std::function<void()>& body) {
  std::thread t([&] {
    SetCurrentThreadName(name);
    body();
  });
  t.join();
}

// Runs `body` in a child process and returns what it wrote to stderr (the
// scope misuse checks abort the process).
std::string StderrOfChild(const std::function<void()>& body) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    body();
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// --- Scope misuse (first, in child processes: they abort) ---

void AbortGraphScope() {
  Graph a = Graph::Create("a");
  Graph b = Graph::Create("b");
  std::unique_ptr<GraphScope> outer(new GraphScope(a));
  GraphScope inner(b);
  outer.reset();  // Destroyed before `inner`.
}

void AbortContextScope() {
  Graph a = Graph::Create("a");
  GraphContext ctx = GraphContext::Capture();
  std::unique_ptr<ContextScope> cs(new ContextScope(ctx));
  GraphScope inner(a);
  cs.reset();  // Destroyed while `inner` lives.
}

void AbortOtherThread() {
  Graph a = Graph::Create("a");
  std::unique_ptr<GraphScope> scope(new GraphScope(a));
  OnThread("worker-1", [&] { scope.reset(); });
}

void ScopeAborts(Catalogue& c) {
  c.Add("abort_graph_scope", StderrOfChild(AbortGraphScope));
  c.Add("abort_context_scope", StderrOfChild(AbortContextScope));
  c.Add("abort_other_thread", StderrOfChild(AbortOtherThread));
}

// --- Build time ---

Tensor BuildFeatures(Graph training) {
  GraphScope scope(training);
  NameScope ns("features");
  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, 3}, {.name = "x"});
  Tensor w = ops::Const(F32({1, 2, 3, 4, 5, 6}, Shape{3, 2}), {.name = "w"});
  return ops::MatMul(x, w);
}

void CrossGraphErrors(Catalogue& c, Graph training, Graph serving) {
  const Tensor features = BuildFeatures(training);
  {
    GraphScope scope(serving);
    NameScope ns("head");
    Tensor bias = ops::Const(NDArray::Scalar(1.0f), {.name = "bias"});
    Tensor head = ops::Add(features, bias);
    std::ostringstream printed;
    printed << head.status();
    c.Add("cross_graph_scope", Msg(head));
    c.Add("cross_graph_payload", printed.str());
  }
  c.Add("cross_graph_explicit",
        Msg(ops::Relu(features, {.name = "relu", .graph = serving})));
  c.Add("cross_graph_control",
        Msg(ops::Const(NDArray::Scalar(1.0f), {.name = "after",
                                               .graph = serving,
                                               .control_inputs = {features}})));
  OnThread("worker-3", [&] {
    c.Add("cross_graph_root",
          Msg(ops::Relu(features, {.name = "handler_relu"})));
  });
  GraphContext ctx;
  {
    GraphScope scope(serving);
    ctx = GraphContext::Capture();
  }
  OnThread("worker-4", [&] {
    ContextScope cs(ctx);
    c.Add("cross_graph_context",
          Msg(ops::Relu(features, {.name = "carried_relu"})));
  });
}

void OtherBuildErrors(Catalogue& c, Graph training, Graph serving) {
  GraphScope scope(training);
  Tensor m23 =
      ops::Const(F32({1, 2, 3, 4, 5, 6}, Shape{2, 3}), {.name = "m23"});
  Tensor i = ops::Const(NDArray::Scalar<int32_t>(1), {.name = "i"});
  c.Add("dtype_mismatch", Msg(ops::Add(m23, i)));
  {
    SetProvenanceMode(ProvenanceMode::kStackTraces);
    std::string message = Msg(ops::Add(m23, i));
    SetProvenanceMode(ProvenanceMode::kSourceLocation);
    // Only the frames' names: addresses differ from run to run.
    std::string stack = message.substr(message.find("  stack:"));
    stack = std::regex_replace(stack, std::regex("\n    [0-9a-f]+ "), "\n    ");
    while (!stack.empty() && stack.back() == '\n') stack.pop_back();
    c.Add("stack_trace", stack);
  }

  // A custom op whose inference function misbehaves.
  if (!OpRegistry::Global()
           .Register(OpDef{.type = "DocsTwoOutputs",
                           .num_inputs = 1,
                           .infer = [](InferenceContext& ctx) -> absl::Status {
                             return InferSameAsInput(ctx);
                           },
                           .num_outputs = 2})
           .ok() ||
      !OpRegistry::Global()
           .Register(OpDef{.type = "DocsBadShape",
                           .num_inputs = 1,
                           .infer = [](InferenceContext& ctx) -> absl::Status {
                             ctx.output_dtypes = {DType::kFloat32};
                             ctx.output_shapes = {Shape{-3}};
                             return absl::OkStatus();
                           }})
           .ok()) {
    std::abort();
  }
  Graph frozen = Graph::Create("frozen");
  Tensor one =
      ops::Const(NDArray::Scalar(1.0f), {.name = "one", .graph = frozen});
  frozen.Finalize();

  // One primary line per cause, in the order of the table in errors.md.
  Tensor b = ops::Const(NDArray::Scalar(true), {.name = "b"});
  Tensor v4 = ops::Const(F32({1, 2, 3, 4}, Shape{4}), {.name = "v4"});
  Tensor m03 =
      ops::Const(*NDArray::Create<float>(std::vector<float>{}, Shape{0, 3}),
                 {.name = "m03"});
  const std::vector<std::string> table = {
      Msg(ops::Sigmoid(i)),
      Msg(ops::Relu(b)),
      Msg(ops::Mul(m23, v4)),
      Msg(ops::MatMul(m23, m23)),
      Msg(ops::MatMul(v4, m23)),
      Msg(ops::ReduceSum(m23, {2})),
      Msg(ops::ReduceSum(m23, {1, -1})),
      Msg(ops::Reshape(m23, Shape{4, 2})),
      Msg(ops::Reshape(m23, Shape{-1, 4})),
      Msg(ops::Reshape(m03, Shape{-1, 0})),
      Msg(ops::Reshape(m23, Shape{-1, -1})),
      Msg(ops::Reshape(m23, Shape{-2, 3})),
      Msg(ops::Placeholder(DType::kFloat32, Shape{-2, 3})),
      Msg(ops::Const(NDArray())),
      Msg(training.AddOp("Reshape", {m23})),
      Msg(training.AddOp("Reshape", {m23}, {{"shape", int64_t{3}}})),
      Msg(training.AddOp("DocsTwoOutputs", {m23})),
      Msg(training.AddOp("DocsBadShape", {m23})),
      Msg(training.AddOp("Conv2D", {m23})),
      Msg(training.AddOp("Add", {m23})),
      Msg(ops::Relu(m23, {.name = "my relu"})),
      [&] {
        NameScope ns("layer//1");
        return Msg(ops::Relu(m23));
      }(),
      Msg(ops::Relu(m23, {.device = "gpu0"})),
      [&] {
        DeviceScope ds("CPU:1");
        return Msg(ops::Relu(m23));
      }(),
      Msg(ops::Const(NDArray::Scalar(1.0f), {.device = "gpu:0"})),
      Msg(ops::Split(
          ops::Const(F32({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Shape{2, 5}),
                     {.name = "m25"}),
          2, 1)[0]),
      Msg(ops::Split(m23, 2, 2)[0]),
      Msg(ops::Split(m23, 0, 1)[0]),
      Msg(ops::ReduceSum(i, {0})),
      Msg(ops::MatMul(
          ops::Placeholder(DType::kFloat32, Shape{int64_t{1} << 40, -1}),
          ops::Placeholder(DType::kFloat32, Shape{-1, int64_t{1} << 40}))),
      Msg(ops::Neg(one, {.graph = frozen})),
  };
  std::vector<std::string> primaries;
  for (const std::string& m : table) primaries.push_back(Primary(m));
  c.Add("build_primary_lines", primaries);

  {
    GraphScope serving_scope(serving);
    std::ostringstream printed;
    printed << ops::MatMul(ops::Const(NDArray::Scalar(1.0f)),
                           ops::Const(NDArray::Scalar(1.0f)), {.name = "mm"})
                   .status();
    c.Add("op_error_info_payload", printed.str());
  }
  c.Add("graph_mismatch",
        Msg(training.AddOp("Relu", {m23}, {}, OpOptions{.graph = serving})));
  c.Add("null_graph",
        Msg(ops::Const(NDArray::Scalar(1.0f), {.graph = Graph()})));
  c.Add("default_tensor", Msg(ops::Relu(Tensor())));
}

// --- Functions and control flow ---

void FunctionErrors(Catalogue& c) {
  Graph model = Graph::Create("model");
  GraphScope scope(model);
  Tensor w = ops::Const(NDArray::Scalar(2.0f), {.name = "w"});
  absl::StatusOr<Function> scale = Function::Trace(
      "scale", {{DType::kFloat32, Shape{-1}, "x"}},
      [&](const std::vector<Tensor>& args) -> std::vector<Tensor> {
        return {ops::Mul(args[0], w)};
      });
  c.Add("function_cross_graph", Msg(scale));

  absl::StatusOr<Function> f = Function::Trace(
      "f", {{DType::kFloat32, Shape{-1, 3}, "x"}},
      [](const std::vector<Tensor>& args) -> std::vector<Tensor> {
        return {ops::Neg(args[0])};
      });
  Tensor n = ops::Const(NDArray::Scalar<int32_t>(1), {.name = "n"});
  c.Add("call_arg_mismatch",
        Primary(Msg(ops::Call(*f, {n}, {.name = "f"})[0])));

  absl::StatusOr<Function> plus_one = Function::Trace(
      "plus_one", {{DType::kInt64, Shape{}, "i"}},
      [](const std::vector<Tensor>& args) -> std::vector<Tensor> {
        return {ops::Add(args[0], ops::Const(NDArray::Scalar<int64_t>(1)))};
      });
  absl::StatusOr<Function> to_float = Function::Trace(
      "to_float", {{DType::kInt64, Shape{}, "i"}},
      [](const std::vector<Tensor>& args) -> std::vector<Tensor> {
        return {ops::Cast(args[0], DType::kFloat32)};
      });
  absl::StatusOr<Function> below = Function::Trace(
      "below", {{DType::kInt64, Shape{}, "i"}},
      [](const std::vector<Tensor>& args) -> std::vector<Tensor> {
        return {ops::Less(args[0], ops::Const(NDArray::Scalar<int64_t>(10)))};
      });
  Tensor pred = ops::Const(NDArray::Scalar(true), {.name = "pred"});
  Tensor i0 = ops::Const(NDArray::Scalar<int64_t>(0), {.name = "i0"});
  c.Add("function_kind",
        {Primary(Msg(ops::Cond(pred, *plus_one, *to_float, {i0})[0])),
         Primary(Msg(ops::While(*below, *to_float, {i0})[0])),
         Primary(Msg(ops::While(*plus_one, *plus_one, {i0})[0]))});

  absl::StatusOr<Function> div = Function::Trace(
      "div", {{DType::kInt32, Shape{}, "a"}},
      [](const std::vector<Tensor>& args) -> std::vector<Tensor> {
        return {ops::Div(args[0], ops::Const(NDArray::Scalar<int32_t>(0)))};
      });
  Tensor call = ops::Call(*div, {n}, {.name = "call"})[0];
  std::unique_ptr<Session> session = *Session::Create(model);
  c.Add("function_run_error", Msg(session->Run({}, {call})));

  Tensor loop = ops::While(*below, *plus_one, {i0}, {.max_iterations = 3},
                           {.name = "loop"})[0];
  c.Add("while_max_iterations", Msg(session->Run({}, {loop})));
}

// --- Run time ---

void RunTimeErrors(Catalogue& c) {
  Graph model = Graph::Create("model");
  Graph other = Graph::Create("other");
  Tensor foreign;
  {
    GraphScope scope(other);
    foreign = ops::Const(NDArray::Scalar(1.0f), {.name = "foreign"});
  }
  std::unique_ptr<Session> session =
      *Session::Create(model, {.max_allocation_bytes = int64_t{1} << 30});
  GraphScope scope(model);
  c.Add("cross_graph_fetch", Msg(session->Run({}, {foreign})));

  Tensor x = ops::Placeholder(DType::kFloat32, Shape{-1, 3}, {.name = "x"});
  Tensor shifted =
      ops::Add(x, ops::Const(NDArray::Scalar<int32_t>(1)), {.name = "shifted"});
  c.Add("non_ok_fetch", Msg(session->Run({}, {shifted})));

  Tensor y = ops::Neg(x, {.name = "y"});
  const NDArray row = F32({1, 2, 3}, Shape{1, 3});
  c.Add("bad_feeds",
        {Msg(session->Run(
             {{x, *NDArray::Create<int32_t>({1, 2, 3}, Shape{1, 3})}}, {y})),
         Msg(session->Run({{x, NDArray::Vector<float>({1, 2, 3})}}, {y})),
         Msg(session->Run({{x, row}, {x, row}}, {y})),
         Msg(session->Run({{x, NDArray()}}, {y}))});

  Tensor never_fed =
      ops::Placeholder(DType::kFloat32, Shape{3}, {.name = "never_fed"});
  c.Add("unfed_placeholder",
        Msg(session->Run({}, {ops::Neg(never_fed, {.name = "uses_it"})})));

  Tensor on_gpu = ops::Neg(x, {.name = "on_cpu1", .device = "cpu:1"});
  c.Add("unknown_device", Msg(session->Run({{x, row}}, {on_gpu})));

  std::vector<Tensor> halves =
      ops::Split(ops::Placeholder(DType::kFloat32, Shape{4}, {.name = "four"}),
                 2, 0, {.name = "split"});
  c.Add("partly_fed",
        Msg(session->Run({{halves[0], NDArray::Vector<float>({1, 2})}},
                         {ops::Add(halves[0], halves[1])})));

  // The real ReduceSum kernel, for an op that does not require its attr.
  const KernelDef* reduce_sum =
      KernelRegistry::Global().Find("ReduceSum", "cpu", DType::kFloat32);
  if (reduce_sum == nullptr ||
      !OpRegistry::Global()
           .Register(OpDef{.type = "DocsReduce",
                           .num_inputs = 1,
                           .infer = [](InferenceContext& ctx) -> absl::Status {
                             ctx.SetOutput(ctx.input_dtypes[0], Shape{});
                             return absl::OkStatus();
                           }})
           .ok() ||
      !KernelRegistry::Global()
           .Register({.op = "DocsReduce",
                      .dtype = DType::kFloat32,
                      .factory = reduce_sum->factory})
           .ok() ||
      !OpRegistry::Global()
           .Register(OpDef{.type = "DocsNoKernel",
                           .num_inputs = 1,
                           .infer = [](InferenceContext& ctx) -> absl::Status {
                             return InferSameAsInput(ctx);
                           }})
           .ok()) {
    std::abort();
  }
  absl::StatusOr<Tensor> r = model.AddOp("DocsReduce", {x}, {}, {.name = "r"});
  c.Add("kernel_rejects_node", Msg(session->Run({{x, row}}, {*r})));
  absl::StatusOr<Tensor> custom =
      model.AddOp("DocsNoKernel", {x}, {}, {.name = "custom"});
  c.Add("missing_kernel", Msg(session->Run({{x, row}}, {*custom})));

  // Kernel errors: placeholders with unknown dims meet at run time.
  Tensor a = ops::Placeholder(DType::kInt32, Shape{-1}, {.name = "a"});
  Tensor d = ops::Placeholder(DType::kInt32, Shape{-1}, {.name = "d"});
  Tensor p = ops::Placeholder(DType::kFloat32, Shape{-1}, {.name = "p"});
  Tensor q = ops::Placeholder(DType::kFloat32, Shape{-1}, {.name = "q"});
  Tensor m = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.name = "m"});
  Tensor k = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.name = "k"});
  const auto ints = [](std::vector<int32_t> v) { return NDArray::Vector(v); };
  c.Add("kernel_errors",
        {Msg(session->Run({{a, ints({1, 2})}, {d, ints({1, 0})}},
                          {ops::Div(a, d, {.name = "quotient"})})),
         Msg(session->Run({{a, ints({INT32_MIN})}, {d, ints({-1})}},
                          {ops::Div(a, d, {.name = "negate_div"})})),
         Msg(session->Run({{p, NDArray::Vector<float>({1, 2, 3})},
                           {q, NDArray::Vector<float>({1, 2})}},
                          {ops::Add(p, q, {.name = "sum"})})),
         Msg(session->Run({{m, F32({1, 2, 3, 4, 5, 6}, Shape{2, 3})},
                           {k, F32({1, 2, 3, 4}, Shape{2, 2})}},
                          {ops::MatMul(m, k, {.name = "bad_matmul"})})),
         Msg(session->Run({{p, NDArray::Vector<float>({1, 2, 3})}},
                          {ops::Reshape(p, Shape{2, 2}, {.name = "to2x2"})})),
         Msg(session->Run({{a, ints({})}},
                          {ops::ReduceMean(a, {0}, {.name = "mean"})}))});

  // A custom kernel whose output contradicts the inferred shape.
  class WrongShapeKernel : public OpKernel {
   public:
    using OpKernel::OpKernel;
    absl::Status Compute(OpKernelContext& ctx) const override {
      absl::StatusOr<NDArray> out = ctx.allocate_output(0, Shape{3});
      if (!out.ok()) return out.status();
      ctx.set_output(0, *std::move(out));
      return absl::OkStatus();
    }
  };
  if (!OpRegistry::Global()
           .Register(OpDef{.type = "DocsWrongShape",
                           .num_inputs = 1,
                           .infer = [](InferenceContext& ctx) -> absl::Status {
                             return InferSameAsInput(ctx);
                           }})
           .ok() ||
      !KernelRegistry::Global()
           .Register({.op = "DocsWrongShape",
                      .dtype = DType::kFloat32,
                      .factory = MakeKernelFactory<WrongShapeKernel>()})
           .ok()) {
    std::abort();
  }
  absl::StatusOr<Tensor> liar =
      model.AddOp("DocsWrongShape", {x}, {}, {.name = "liar"});
  c.Add("kernel_wrong_shape", Msg(session->Run({{x, row}}, {*liar})));

  // Allocation: sizes from hostile inputs.
  Tensor h = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.name = "h"});
  Tensor t = ops::Placeholder(DType::kFloat32, Shape{-1, -1}, {.name = "t"});
  Tensor col = ops::Placeholder(DType::kInt64, Shape{-1, 1}, {.name = "col"});
  Tensor lin = ops::Placeholder(DType::kInt64, Shape{1, -1}, {.name = "lin"});
  const int64_t big = int64_t{1} << 40, wide = int64_t{1} << 21;
  c.Add("allocation",
        {Msg(session->Run(
             {{h, NDArray::Uninitialized(DType::kFloat32, Shape{big, 0})},
              {t, NDArray::Uninitialized(DType::kFloat32, Shape{0, big})}},
             {ops::MatMul(h, t, {.name = "mm"})})),
         Msg(session->Run(
             {{col, NDArray::Uninitialized(DType::kInt64, Shape{wide, 1})},
              {lin, NDArray::Uninitialized(DType::kInt64, Shape{1, wide})}},
             {ops::Add(col, lin, {.name = "outer"})}))});

  CancellationManager cancel;
  cancel.Cancel(absl::CancelledError("client went away"));
  c.Add("cancelled", Msg(session->Run({{x, row}}, {y},
                                      RunOptions{.cancellation = &cancel})));

  // A step that waits: a Dequeue from a queue nobody fills.
  Queue empty = *Queue::Create("empty", {{DType::kFloat32, Shape{}, "v"}}, 1);
  Tensor waits = ops::Dequeue(empty, {.name = "waits"})[0];
  (void)session->Run({}, {waits}, RunOptions{.timeout = absl::Seconds(10)})
      .status();  // Compiles and caches the plan; times out below.
  c.Add("deadline",
        {Msg(session->Run({}, {waits},
                          RunOptions{.timeout = absl::Milliseconds(10)})),
         Msg(session->Run({{x, row}}, {ops::Identity(y, {.name = "fresh"})},
                          RunOptions{.timeout = absl::ZeroDuration()}))});

  c.Add("session_create",
        {Msg(Session::Create(Graph())),
         Msg(Session::Create(model, {.devices = {}})),
         Msg(Session::Create(model, {.num_threads = -1})),
         Msg(Session::Create(model, {.devices = {"GPU1"}})),
         Msg(Session::Create(model, {.devices = {"gpu:0"}})),
         Msg(Session::Create(model, {.devices = {""}})),
         Msg(Session::Create(model, {.devices = {"cpu:0", "cpu:0"}})),
         Msg(Session::Create(model, {.device_threads = {{"cpu:1", 1}}})),
         Msg(Session::Create(model, {.max_allocation_bytes = -1})),
         Msg(Session::Create(model, {.max_cached_plans = 0}))});
}

// --- Variables and checkpoints ---

void VariableErrors(Catalogue& c) {
  const NDArray two = NDArray::Vector<float>({1, 2});
  Variable w = *Variable::Create("dense/w", two);
  Variable flag = *Variable::Create("flag", NDArray::Scalar(true));
  c.Add("variable",
        {Msg(Variable::Create("dense w", two)),
         Msg(Variable::Create("w", NDArray())),
         Msg(w.Assign(NDArray::Vector<int32_t>({1, 2}))),
         Msg(w.Assign(NDArray::Vector<float>({1, 2, 3}))),
         Msg(w.AssignAdd(NDArray::Scalar(1.0f))),
         Msg(flag.AssignAdd(NDArray::Scalar(true)))},
        "\n\n");
  c.Add("variable_null", Msg(Variable().Assign(two)));
  Variable w2 = *Variable::Create("dense/w", NDArray::Scalar(1.0));
  c.Add("find_variable",
        {Msg(FindVariable("dense/b")), Msg(FindVariable("dense/w"))}, "\n\n");
}

void CheckpointErrors(Catalogue& c) {
  Variable w = *Variable::Create("dense/w", NDArray::Vector<float>({1, 2}));
  Variable b = *Variable::Create("dense/b", NDArray::Scalar(0.0f));
  Variable w_int = *Variable::Create("dense/w", NDArray::Scalar<int32_t>(1));
  c.Add("save_variables",
        {ScrubPid(Msg(SaveVariables("no/such/dir/model.safetensors", {w}))),
         Msg(SaveVariables("model.safetensors", {w, Variable()})),
         Msg(SaveVariables("model.safetensors", {w, w_int}))},
        "\n\n");

  const auto write = [](const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  };
  // A safetensors file: 8-byte little-endian header length, JSON, data.
  const auto file = [](const std::string& json, const std::string& data) {
    std::string out;
    for (int i = 0; i < 8; ++i) {
      out.push_back(static_cast<char>((json.size() >> (8 * i)) & 0xff));
    }
    return out + json + data;
  };
  const auto entry = [](const std::string& name, const std::string& dtype,
                        const std::string& shape, int begin, int end) {
    return absl::StrCat("\"", name, "\":{\"dtype\":\"", dtype,
                        "\",\"shape\":", shape, ",\"data_offsets\":[", begin,
                        ",", end, "]}");
  };
  const std::string w_entry = entry("dense/w", "F32", "[2]", 0, 8);
  const std::string eight(8, '\0');
  if (!SaveVariables("m.safetensors", {w}).ok()) std::abort();
  write("d.safetensors",
        file("{" + entry("dense/w", "F64", "[1]", 0, 8) + "}", eight));
  write("s.safetensors",
        file("{" + entry("dense/w", "F32", "[1,2]", 0, 8) + "}", eight));
  c.Add("restore_absent", Msg(RestoreVariables("absent.safetensors", {w})));
  c.Add("restore_mismatch",
        {Msg(RestoreVariables("m.safetensors", {w, b})),
         Msg(RestoreVariables("d.safetensors", {w})),
         Msg(RestoreVariables("s.safetensors", {w}))},
        "\n\n");

  write("short.safetensors", "abc");
  write("len.safetensors",
        std::string("\xe8\x03\0\0\0\0\0\0", 8) + std::string(68, ' '));
  write("json.safetensors", file("{\"dense/w\":", ""));
  write("t.safetensors", file("{" + w_entry + "}", std::string(5, '\0')));
  write("o.safetensors",
        file("{" + entry("dense/w", "F32", "[2]", 0, 6) + "}", eight));
  write("g.safetensors",
        file("{" + w_entry + "," + entry("x", "U8", "[1]", 9, 10) + "}",
             std::string(10, '\0')));
  write("tag.safetensors",
        file("{" + entry("dense/w", "F31", "[2]", 0, 8) + "}", eight));
  write("bool.safetensors",
        file("{" + entry("mask", "BOOL", "[2]", 0, 2) + "}", "\x01\x02"));
  Variable mask =
      *Variable::Create("mask", NDArray::Vector<bool>({false, false}));
  std::vector<std::string> corrupt;
  for (const char* name : {"short", "len", "json", "t", "o", "g", "tag"}) {
    corrupt.push_back(Primary(
        Msg(RestoreVariables(absl::StrCat(name, ".safetensors"), {w}))));
  }
  corrupt.push_back(Primary(Msg(RestoreVariables("bool.safetensors", {mask}))));
  c.Add("restore_corrupt", corrupt);
}

// --- Queue and Batcher ---

void QueueErrors(Catalogue& c) {
  c.Add("queue_create_name",
        CodeMsg(Queue::Create("", {{DType::kFloat32, Shape{}, "v"}}, 1)));
  c.Add("queue_create_capacity",
        CodeMsg(Queue::Create("q", {{DType::kFloat32, Shape{}, "v"}}, 0)));
  Queue q = *Queue::Create("examples",
                           {{DType::kFloat32, Shape{-1, 3}, "image"},
                            {DType::kInt64, Shape{}, "label"}},
                           2);
  const NDArray image = F32({1, 2, 3}, Shape{1, 3});
  const NDArray label = NDArray::Scalar<int64_t>(7);
  c.Add("enqueue_count", CodeMsg(q.Enqueue({image})));
  c.Add("enqueue_dtype", CodeMsg(q.Enqueue({image, NDArray::Scalar(7.0f)})));
  c.Add("enqueue_shape", CodeMsg(q.Enqueue({F32({1, 2}, Shape{1, 2}), label})));
  c.Add("dequeue_timeout", CodeMsg(q.Dequeue(absl::Milliseconds(10))));
  if (!q.Enqueue({image, label}).ok() || !q.Enqueue({image, label}).ok()) {
    std::abort();
  }
  c.Add("enqueue_timeout",
        CodeMsg(q.Enqueue({image, label}, absl::Milliseconds(10))));
  c.Add("dequeue_many_n", CodeMsg(q.DequeueMany(3)));
  OnThread("producer", [&] { q.Close(); });
  c.Add("enqueue_closed", CodeMsg(q.Enqueue({image, label})));
  if (!q.DequeueMany(2).ok()) std::abort();
  c.Add("dequeue_closed", CodeMsg(q.Dequeue()));
  c.Add("queue_null", CodeMsg(Queue().Dequeue()));
}

void BatcherErrors(Catalogue& c) {
  Graph serving = Graph::Create("serving");
  GraphScope scope(serving);
  Tensor fixed =
      ops::Placeholder(DType::kFloat32, Shape{2, 4}, {.name = "fixed"});
  Tensor a = ops::Placeholder(DType::kInt32, Shape{-1}, {.name = "a"});
  Tensor b = ops::Placeholder(DType::kInt32, Shape{-1}, {.name = "b"});
  Tensor ratio = ops::Div(a, b, {.name = "ratio"});
  Tensor rows =
      ops::Placeholder(DType::kFloat32, Shape{-1, 4}, {.name = "rows"});
  Tensor flat = ops::Reshape(rows, Shape{-1}, {.name = "flat"});
  std::unique_ptr<Session> session = *Session::Create(serving);
  c.Add("batcher_create",
        {CodeMsg(Batcher::Create(session.get(), {fixed}, {fixed})),
         CodeMsg(
             Batcher::Create(session.get(), {a}, {a}, {.max_batch_size = 0}))});
  std::unique_ptr<Batcher> batcher =
      *Batcher::Create(session.get(), {a, b}, {ratio});
  c.Add("batcher_example",
        {CodeMsg(batcher->Run({NDArray::Scalar<int32_t>(1)})),
         CodeMsg(batcher->Run(
             {NDArray::Vector<int32_t>({1}), NDArray::Scalar<int32_t>(1)}))});
  c.Add("batcher_failed_batch",
        CodeMsg(batcher->Run(
            {NDArray::Scalar<int32_t>(1), NDArray::Scalar<int32_t>(0)})));
  std::unique_ptr<Batcher> flattening =
      *Batcher::Create(session.get(), {rows}, {flat});
  c.Add("batcher_output",
        CodeMsg(flattening->Run({NDArray::Vector<float>({1, 2, 3, 4})})));
  batcher->Shutdown();
  c.Add("batcher_shut_down",
        CodeMsg(batcher->Run(
            {NDArray::Scalar<int32_t>(1), NDArray::Scalar<int32_t>(1)})));
}

}  // namespace
}  // namespace weft

namespace {

// The marked blocks of a markdown text: marker line index -> (first and one
// past the last line of the block's body).
struct Block {
  std::string id;
  size_t begin = 0;  // First body line.
  size_t end = 0;    // The closing fence.
};

constexpr std::string_view kMarker = "<!-- error:";

bool ParseBlocks(const std::vector<std::string>& lines,
                 std::vector<Block>& blocks, std::string& error) {
  bool in_fence = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind(kMarker, 0) == 0) {
      const size_t close = line.find(" -->");
      if (close == std::string::npos || i + 1 >= lines.size() ||
          lines[i + 1] != "```") {
        error = absl::StrCat("line ", i + 1,
                             ": a marker must read <!-- error:ID --> and be "
                             "followed by a ``` line");
        return false;
      }
      Block b{.id = line.substr(kMarker.size(), close - kMarker.size()),
              .begin = i + 2};
      size_t j = i + 2;
      while (j < lines.size() && lines[j] != "```") ++j;
      if (j == lines.size()) {
        error =
            absl::StrCat("line ", i + 1, ": block '", b.id, "' is not closed");
        return false;
      }
      b.end = j;
      blocks.push_back(b);
      i = j;
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      // A sample is a plain ``` block; blocks with a language (```sh) are
      // commands, not samples.
      if (!in_fence && line == "```") {
        error = absl::StrCat(
            "line ", i + 1,
            ": a fenced block without a <!-- error:ID --> marker; every "
            "sample in errors.md is generated by "
            "tests/docs/error_catalogue.cc");
        return false;
      }
      in_fence = !in_fence;
    }
  }
  return true;
}

std::vector<std::string> SplitLines(const std::string& text) {
  return absl::StrSplit(text, '\n');
}

// A line diff (longest common subsequence; the blocks are short).
std::string Diff(const std::vector<std::string>& a,
                 const std::vector<std::string>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1
                               : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      absl::StrAppend(&out, "   ", a[i], "\n");
      ++i, ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      absl::StrAppend(&out, " + ", b[j++], "\n");
    } else {
      absl::StrAppend(&out, " - ", a[i++], "\n");
    }
  }
  return out;
}

int Main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  std::string path = argc > 2 ? argv[2] : "";
  if (mode == "--update" && path.empty()) {
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    if (workspace == nullptr) {
      std::cerr << "error_catalogue --update: give the path of errors.md\n";
      return 2;
    }
    path = absl::StrCat(workspace, "/docs/errors.md");
  }
  if (!mode.empty() && mode != "--check" && mode != "--update") {
    std::cerr << "usage: error_catalogue [--check FILE | --update [FILE]]\n";
    return 2;
  }
  // Messages name the file as given; it is read after a change of directory.
  const std::string shown = path;
  if (!path.empty()) path = std::filesystem::absolute(path).string();

  // Files are written under a fresh directory, named relatively.
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp",
                                 "/weft_error_catalogue_XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) return 2;
  std::filesystem::current_path(dir);

  weft::Catalogue c;
  weft::ScopeAborts(c);
  weft::Graph training = weft::Graph::Create("training");
  weft::Graph serving = weft::Graph::Create("serving");
  weft::CrossGraphErrors(c, training, serving);
  weft::OtherBuildErrors(c, training, serving);
  weft::FunctionErrors(c);
  weft::RunTimeErrors(c);
  weft::VariableErrors(c);
  weft::CheckpointErrors(c);
  weft::QueueErrors(c);
  weft::BatcherErrors(c);
  std::filesystem::current_path("/");
  std::filesystem::remove_all(dir);

  if (mode.empty()) {
    for (const std::string& id : c.order()) {
      std::cout << "<!-- error:" << id << " -->\n```\n"
                << c.samples().at(id) << "\n```\n\n";
    }
    return 0;
  }

  std::ifstream in(path);
  if (!in.good()) {
    std::cerr << "error_catalogue: cannot read " << path << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines = SplitLines(text.str());
  std::vector<Block> blocks;
  std::string error;
  if (!ParseBlocks(lines, blocks, error)) {
    std::cerr << shown << ":" << error << "\n";
    return 1;
  }
  std::map<std::string, int> seen;
  int problems = 0;
  for (const Block& b : blocks) {
    if (seen[b.id]++ > 0) {
      std::cerr << shown << ": sample '" << b.id << "' is shown twice\n";
      ++problems;
    }
    if (c.samples().count(b.id) == 0) {
      std::cerr << shown << ": sample '" << b.id
                << "' is not produced by tests/docs/error_catalogue.cc\n";
      ++problems;
    }
  }
  for (const std::string& id : c.order()) {
    if (seen.count(id) == 0) {
      std::cerr << shown << ": sample '" << id
                << "' (tests/docs/error_catalogue.cc) has no "
                   "<!-- error:"
                << id << " --> block\n";
      ++problems;
    }
  }
  if (problems > 0) return 1;

  std::vector<std::string> out;
  size_t next = 0;
  int changed = 0;
  for (const Block& b : blocks) {
    out.insert(out.end(), lines.begin() + next, lines.begin() + b.begin);
    const std::vector<std::string> old_body(lines.begin() + b.begin,
                                            lines.begin() + b.end);
    const std::vector<std::string> new_body = SplitLines(c.samples().at(b.id));
    if (old_body != new_body) {
      ++changed;
      if (mode == "--check") {
        std::cerr << shown << ":" << b.begin << ": sample '" << b.id
                  << "' differs from what weft prints now (- doc, + now):\n"
                  << Diff(old_body, new_body) << "\n";
      }
    }
    out.insert(out.end(), new_body.begin(), new_body.end());
    next = b.end;
  }
  out.insert(out.end(), lines.begin() + next, lines.end());

  if (mode == "--check") {
    if (changed == 0) {
      std::cout << "all " << blocks.size() << " samples of " << shown
                << " match\n";
      return 0;
    }
    std::cerr << changed << " sample(s) differ; regenerate the doc with\n"
              << "  bazel run //tests/docs:error_catalogue -- --update\n";
    return 1;
  }
  std::ofstream w(path, std::ios::trunc);
  w << absl::StrJoin(out, "\n");
  if (!w.good()) {
    std::cerr << "error_catalogue: cannot write " << path << "\n";
    return 2;
  }
  std::cout << "updated " << changed << " of " << blocks.size()
            << " samples in " << path << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
