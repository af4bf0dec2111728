// Tests of SaveGraph / LoadGraph (graph/graph_io.h): a round-trip property
// test over random graphs (identical DebugString, attrs, provenance and run
// results), provenance in later errors, every error class, forward
// compatibility, resource binding, and concurrent loads.

#include "graph/graph_io.h"

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/stubs/logging.h"
#include "graph/errors.h"
#include "graph/function_body.h"
#include "graph/graph_def.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/run_helpers.h"
#include "weft.h"

namespace weft {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::I64Const;
using testing::I64Spec;
using testing::MustTrace;
using testing::TempPath;
using testing::WriteFile;

// DebugString without its first line ("graph 'g' (id N)"): ids differ.
std::string Body(const Graph& g) {
  std::string s = g.DebugString();
  return s.substr(s.find('\n') + 1);
}

// A function's dump without its body graph's id.
std::string Body(const internal::FunctionBody& fb) {
  const std::string s = fb.DebugString();
  return absl::StrCat(s.substr(0, s.find('\n')), "\n", Body(fb.graph));
}

// A resource kind for the tests.
class TestVariable : public Resource {
 public:
  explicit TestVariable(std::string name, std::source_location at =
                                              std::source_location::current())
      : Resource(std::move(name), at) {}
  std::string_view kind() const override { return "TestVariable"; }
};

ResourceRef Var(std::string_view name) {
  static absl::Mutex mu;
  static auto* vars = new std::map<std::string, ResourceRef, std::less<>>();
  absl::MutexLock lock(&mu);
  auto it = vars->find(name);
  if (it == vars->end()) {
    it = vars->emplace(std::string(name),
                       std::make_shared<TestVariable>(std::string(name)))
             .first;
  }
  return it->second;
}

void RegisterTestVariables() {
  RegisterResourceResolver(
      "TestVariable", [](std::string_view name) -> absl::StatusOr<ResourceRef> {
        if (name == "missing") {
          return absl::NotFoundError("no TestVariable is named 'missing'");
        }
        return Var(name);
      });
}

// ------------------------------------------------ random graph builder --

NDArray RandomArray(std::mt19937& rng, DType dtype, Shape shape) {
  NDArray a = NDArray::Uninitialized(dtype, shape);
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    const int v = static_cast<int>(rng() % 9) - 4;
    switch (dtype) {
      case DType::kFloat32:
        a.mutable_data<float>()[i] = v * 0.25f;
        break;
      case DType::kFloat64:
        a.mutable_data<double>()[i] = v * 0.125;
        break;
      case DType::kInt32:
        a.mutable_data<int32_t>()[i] = v;
        break;
      case DType::kInt64:
        a.mutable_data<int64_t>()[i] = int64_t{v} << 33;
        break;
      case DType::kBool:
        a.mutable_data<bool>()[i] = v > 0;
        break;
      case DType::kUInt8:
        a.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(v + 4);
        break;
      case DType::kInt8:
        a.mutable_data<int8_t>()[i] = static_cast<int8_t>(v);
        break;
      case DType::kFloat16:
        a.mutable_data<Float16>()[i] = FloatToFloat16(v * 0.5f);
        break;
    }
  }
  return a;
}

// Builds a random DAG of `steps` attempted ops over every op type, dtype,
// attr type, name scopes, devices and control inputs. Ops the builders
// refuse (a dtype clash, a bad shape) simply do not land, as for a user.
// Placeholders get values in `feeds`.
Graph RandomGraph(uint32_t seed, int steps, Feeds& feeds) {
  std::mt19937 rng(seed);
  Graph g = Graph::Create(absl::StrCat("random-", seed));
  std::vector<Tensor> pool;
  const DType dtypes[] = {DType::kFloat32, DType::kFloat64, DType::kInt32,
                          DType::kInt64,   DType::kBool,    DType::kUInt8,
                          DType::kInt8,    DType::kFloat16};
  const Shape shapes[] = {Shape{}, Shape{4}, Shape{2, 2}};
  auto pick = [&]() { return pool[rng() % pool.size()]; };
  GraphScope scope(g);
  for (int step = 0; step < steps; ++step) {
    std::optional<NameScope> ns;
    std::optional<DeviceScope> ds;
    if (rng() % 3 == 0) ns.emplace(absl::StrCat("s", rng() % 3));
    if (rng() % 2 == 0) ds.emplace(rng() % 2 ? "cpu:0" : "cpu:1");
    OpOptions options;
    if (rng() % 4 == 0) options.name = absl::StrCat("n", rng() % 5);
    if (!pool.empty() && rng() % 8 == 0) {
      options.control_inputs.push_back(pick());
    }
    Tensor t;
    const int kind = pool.empty() ? 0 : static_cast<int>(rng() % 13);
    switch (kind) {
      case 0:
      case 1: {
        const DType d = dtypes[rng() % std::size(dtypes)];
        const Shape s = shapes[rng() % 3];
        if (rng() % 3 == 0) {
          t = ops::Placeholder(d, s, options);
          if (t.ok()) feeds.emplace_back(t, RandomArray(rng, d, s));
        } else {
          t = ops::Const(RandomArray(rng, d, s), options);
        }
        break;
      }
      case 2:
        t = ops::Cast(pick(), rng() % 2 ? DType::kFloat32 : DType::kInt32,
                      options);
        break;
      case 3: {
        Tensor x = pick();
        switch (rng() % 5) {
          case 0:
            t = ops::Neg(x, options);
            break;
          case 1:
            t = ops::Relu(x, options);
            break;
          case 2:
            t = ops::Tanh(x, options);
            break;
          case 3:
            t = ops::Sigmoid(x, options);
            break;
          default:
            t = ops::Identity(x, options);
        }
        break;
      }
      case 4:
      case 5: {
        Tensor x = pick(), y = pick();
        switch (rng() % 4) {
          case 0:
            t = ops::Add(x, y, options);
            break;
          case 1:
            t = ops::Sub(x, y, options);
            break;
          case 2:
            t = ops::Mul(x, y, options);
            break;
          default:
            t = ops::Maximum(x, y, options);
        }
        break;
      }
      case 6:
        t = ops::MatMul(pick(), pick(), options);
        break;
      case 7:
        t = rng() % 2 ? ops::ReduceSum(pick(), {}, options)
                      : ops::ReduceMean(pick(), {-1}, options);
        break;
      case 8:
        t = ops::Reshape(pick(), rng() % 2 ? Shape{-1} : Shape{2, 2}, options);
        break;
      case 9: {
        // Extra attrs of every type on an Identity (AddOp keeps them).
        AttrMap attrs = {{"i", int64_t{-7}},
                         {"f", 2.5},
                         {"b", true},
                         {"s", std::string("text \"quoted\"\n")},
                         {"d", DType::kInt64},
                         {"shape", Shape{-1, 3}},
                         {"list", std::vector<int64_t>{1, -2, 3}},
                         {"v", Var(absl::StrCat("v", rng() % 2))}};
        absl::StatusOr<Tensor> r =
            g.AddOp("Identity", {pick()}, std::move(attrs), options);
        if (r.ok()) t = *r;
        break;
      }
      case 10: {
        // A call of a small function over any dtype (Add on bools fails
        // the trace, as for a user).
        Tensor x = pick();
        absl::StatusOr<Function> fn = Function::Trace(
            absl::StrCat("fn", step), {{x.dtype(), x.shape(), "a"}},
            [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
              return {ops::Add(a[0], a[0]), a[0]};
            });
        if (!fn.ok()) break;
        std::vector<Tensor> outs = ops::Call(*fn, {x}, options);
        if (outs[0].ok()) pool.push_back(outs[0]);
        t = outs.back();
        break;
      }
      default:
        t = ops::Identity(pick(), options);
    }
    if (t.ok()) pool.push_back(t);
  }
  return g;
}

bool AttrEqual(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return false;
  // A loaded function is a new object: the same name, interface and body.
  if (const auto* r = std::get_if<ResourceRef>(&a)) {
    const auto* x = dynamic_cast<const internal::FunctionBody*>(r->get());
    const auto* y = dynamic_cast<const internal::FunctionBody*>(
        std::get<ResourceRef>(b).get());
    if (x != nullptr || y != nullptr) {
      return x != nullptr && y != nullptr && Body(*x) == Body(*y);
    }
  }
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, NDArray>) {
          return x.Equals(std::get<NDArray>(b));
        } else {
          return x == std::get<T>(b);  // ResourceRef: the same object.
        }
      },
      a);
}

void ExpectSameNodes(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  for (int i = 0; i < a.num_nodes(); ++i) {
    const Node* x = a.node(i);
    const Node* y = b.node(i);
    SCOPED_TRACE(x->name());
    EXPECT_EQ(x->name(), y->name());
    EXPECT_EQ(x->device(), y->device());
    ASSERT_EQ(x->attrs().size(), y->attrs().size());
    for (const auto& [key, value] : x->attrs()) {
      ASSERT_TRUE(y->attrs().contains(key)) << key;
      EXPECT_TRUE(AttrEqual(value, y->attrs().at(key))) << key;
    }
    const Provenance& p = x->provenance();
    const Provenance& q = y->provenance();
    EXPECT_EQ(p.Site().ToString(), q.Site().ToString());
    EXPECT_EQ(p.thread, q.thread);
    EXPECT_EQ(p.name_scope, q.name_scope);
    EXPECT_EQ(p.graph_source, q.graph_source);
    EXPECT_EQ(p.GraphReason("'g'"), q.GraphReason("'g'"));
  }
}

// Feeds of `fed` rebound to the same-named tensors of `g`.
Feeds Rebind(const Feeds& fed, const Graph& g) {
  Feeds out;
  for (const auto& [t, v] : fed) out.emplace_back(*g.GetTensor(t.name()), v);
  return out;
}

std::vector<Tensor> AllOutputs(const Graph& g) {
  std::vector<Tensor> out;
  for (const Node* n : g.nodes()) out.push_back(g.output(*n, 0));
  return out;
}

class GraphIo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { RegisterTestVariables(); }
};

TEST_F(GraphIo, RandomGraphsRoundTripInBothFormats) {
  int total_nodes = 0, runs_ok = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Feeds feeds;
    Graph g = RandomGraph(seed, 60, feeds);
    total_nodes += g.num_nodes();
    for (const char* ext : {".pb", ".pbtxt"}) {
      const std::string path = TempPath(absl::StrCat("random", seed, ext));
      ASSERT_TRUE(SaveGraph(g, path).ok());
      absl::StatusOr<Graph> loaded = LoadGraph(path);
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      EXPECT_EQ(loaded->name(), g.name());
      EXPECT_EQ(Body(*loaded), Body(g));
      ExpectSameNodes(g, *loaded);

      // Saving the loaded graph reproduces the file byte for byte.
      absl::StatusOr<std::string> again =
          SerializeGraph(*loaded, *GraphFileFormatForPath(path));
      absl::StatusOr<std::string> first =
          SerializeGraph(g, *GraphFileFormatForPath(path));
      ASSERT_TRUE(again.ok() && first.ok());
      EXPECT_EQ(*again, *first);

      // Identical results for every node.
      auto s1 = Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
      auto s2 = Session::Create(*loaded, {.devices = {"cpu:0", "cpu:1"}});
      ASSERT_TRUE(s1.ok() && s2.ok());
      auto r1 = (*s1)->Run(feeds, AllOutputs(g));
      auto r2 = (*s2)->Run(Rebind(feeds, *loaded), AllOutputs(*loaded));
      ASSERT_EQ(r1.ok(), r2.ok()) << r1.status() << " / " << r2.status();
      if (!r1.ok()) {
        // A run-time error (integer overflow is not one; this is, e.g., a
        // Reshape that only fails at run time): the same message.
        EXPECT_EQ(r1.status().message(), r2.status().message());
        continue;
      }
      ++runs_ok;
      ASSERT_EQ(r1->size(), r2->size());
      for (size_t i = 0; i < r1->size(); ++i) {
        EXPECT_TRUE((*r1)[i].Equals((*r2)[i]))
            << g.node(static_cast<int>(i))->name() << ": "
            << (*r1)[i].DebugString() << " vs " << (*r2)[i].DebugString();
      }
    }
  }
  EXPECT_GT(total_nodes, 40 * 20);  // The generator builds real graphs.
  EXPECT_GT(runs_ok, 60);           // And most of them run.
}

TEST_F(GraphIo, NameArgumentRenamesTheLoadedGraph) {
  Graph g = Graph::Create("training");
  ASSERT_TRUE(ops::Const(NDArray::Scalar<float>(1), {.graph = g}).ok());
  const std::string path = TempPath("named.pb");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  EXPECT_EQ(LoadGraph(path)->name(), "training");
  EXPECT_EQ(LoadGraph(path, "serving")->name(), "serving");
}

TEST_F(GraphIo, ProvenanceSurvivesIntoLaterErrors) {
  Graph g = Graph::Create("model");
  Tensor x =
      ops::Placeholder(DType::kFloat32, Shape{2}, {.name = "x", .graph = g});
  const int line = x.provenance().Site().line;
  EXPECT_GE(line, __LINE__ - 3);
  ASSERT_TRUE(x.ok());
  const std::string path = TempPath("prov.pbtxt");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  absl::StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Node* n = loaded->FindNode("x");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->provenance().Site().line, line);
  EXPECT_EQ(n->provenance().Site().file, __FILE__);
  EXPECT_EQ(n->provenance().Site().function,
            "weft::GraphIo_ProvenanceSurvivesIntoLaterErrors_Test::"
            "TestBody");
  const std::string site = absl::StrCat(__FILE__, ":", line);

  // A run-time (feed) error names the saved site.
  auto session = Session::Create(*loaded);
  ASSERT_TRUE(session.ok());
  auto run = (*session)->Run(
      {{*loaded->GetTensor("x"), NDArray::Vector<float>({1, 2, 3})}},
      {*loaded->GetTensor("x")});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr(absl::StrCat("Placeholder defined at ", site)));
  std::optional<OpErrorInfo> info = GetOpErrorInfo(run.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->site.line, line);

  // A build error on a loaded input notes where the input was built.
  Tensor bad = ops::MatMul(*loaded->GetTensor("x"), *loaded->GetTensor("x"),
                           {.graph = *loaded});
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr(absl::StrCat(
                  "input 0 'x:0' (float32[2]) was created at ", site)));
}

TEST_F(GraphIo, LoadIgnoresTheLoadingThreadsScopes) {
  Graph g = Graph::Create("g");
  ASSERT_TRUE(
      ops::Const(NDArray::Scalar<float>(1), {.name = "c", .graph = g}).ok());
  const std::string path = TempPath("scopes.pb");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  NameScope ns("outer");
  DeviceScope ds("cpu:7");
  absl::StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(Body(*loaded), Body(g));
  EXPECT_EQ(loaded->node(0)->name(), "c");
  EXPECT_EQ(loaded->node(0)->device(), "");
}

// ------------------------------------------------------------ errors ----

// A valid text graph with `nodes` after a correct header.
std::string TextGraph(std::string_view nodes, int major = 1) {
  return absl::StrCat("version_major: ", major, "\nname: \"t\"\n", nodes);
}

constexpr char kConstF[] = R"pb(
  node {
    name: "a"
    op: "Const"
    attr {
      key: "value"
      value {
        ndarray {
          dtype: DT_FLOAT32
          shape { dim: 1 }
          content: "\000\000\200?"
        }
      }
    }
    provenance {
      site { file: "model.cc" line: 12 function: "Build" }
      thread: "main"
    }
  }
)pb";
constexpr char kConstI[] = R"pb(
  node {
    name: "b"
    op: "Const"
    attr {
      key: "value"
      value {
        ndarray {
          dtype: DT_INT32
          shape { dim: 1 }
          content: "\001\000\000\000"
        }
      }
    }
  }
)pb";

absl::Status LoadText(std::string_view text,
                      std::string_view file = "t.pbtxt") {
  const std::string path = TempPath(file);
  WriteFile(path, std::string(text));
  return LoadGraph(path).status();
}

TEST_F(GraphIo, ValidTextLoads) {
  absl::Status s = LoadText(TextGraph(absl::StrCat(kConstF, kConstI)));
  EXPECT_TRUE(s.ok()) << s;
  // The loaded graph holds the file's name, nodes, dtypes, shapes, values
  // and saved provenance.
  const std::string path = TempPath("valid.pbtxt");
  WriteFile(path, TextGraph(absl::StrCat(kConstF, kConstI)));
  absl::StatusOr<Graph> g = LoadGraph(path);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->name(), "t");
  ASSERT_EQ(g->num_nodes(), 2);
  const Node* a = g->FindNode("a");
  const Node* b = g->FindNode("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->id(), 0);
  EXPECT_EQ(b->id(), 1);
  for (const Node* n : {a, b}) {
    EXPECT_EQ(n->op(), "Const");
    EXPECT_TRUE(n->inputs().empty());
    ASSERT_EQ(n->num_outputs(), 1);
    EXPECT_EQ(n->output_shapes()[0], Shape{1});
  }
  EXPECT_EQ(a->output_dtypes()[0], DType::kFloat32);
  EXPECT_EQ(b->output_dtypes()[0], DType::kInt32);
  EXPECT_EQ(a->provenance().Site().file, "model.cc");
  EXPECT_EQ(a->provenance().Site().line, 12);
  EXPECT_EQ(a->provenance().Site().function, "Build");
  EXPECT_EQ(a->provenance().thread, "main");
  absl::StatusOr<std::vector<NDArray>> out =
      testing::RunGraph(*g, {*g->GetTensor("a"), *g->GetTensor("b")});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_THAT(testing::ToVector<float>((*out)[0]), ElementsAre(1.0f));
  EXPECT_THAT(testing::ToVector<int32_t>((*out)[1]), ElementsAre(1));
}

TEST_F(GraphIo, NewerMajorVersionIsRefused) {
  absl::Status s = LoadText(TextGraph(kConstF, 2));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("t.pbtxt' has format version 2.0; this build of weft "
                        "reads format 1.x only (the file was written by a "
                        "newer weft: upgrade weft to load it)"));
}

TEST_F(GraphIo, MissingVersionIsRefused) {
  absl::Status s = LoadText("name: \"t\"\n");
  EXPECT_THAT(std::string(s.message()), HasSubstr("has no format version"));
}

TEST_F(GraphIo, NewerMinorVersionWithUnknownFieldsLoads) {
  // Text: unknown scalar and message fields at several levels.
  std::string text = absl::StrCat(
      "version_major: 1\nversion_minor: 7\nname: \"t\"\nfuture_scalar: 3\n"
      "future_message { x: 1 y: \"z\" }\n",
      absl::StrReplaceAll(kConstF, {{"op: \"Const\"",
                                     "op: \"Const\"\n future_node_field: 1"}}));
  absl::Status s = LoadText(text);
  EXPECT_TRUE(s.ok()) << s;
  absl::StatusOr<Graph> t =
      ParseGraph(text, GraphFileFormat::kText, "future.pbtxt");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->num_nodes(), 1);
  EXPECT_EQ(t->node(0)->name(), "a");
  EXPECT_EQ(t->node(0)->op(), "Const");
  EXPECT_EQ(t->node(0)->output_dtypes()[0], DType::kFloat32);

  // Binary: a GraphDef with minor 7 and an unknown field 99 appended.
  GraphDef def;
  def.set_version_major(1);
  def.set_version_minor(7);
  def.add_node()->set_name("p");
  def.mutable_node(0)->set_op("Placeholder");
  AttrEntry* dtype = def.mutable_node(0)->add_attr();
  dtype->set_key("dtype");
  dtype->mutable_value()->set_dtype(DT_INT64);
  AttrEntry* shape = def.mutable_node(0)->add_attr();
  shape->set_key("shape");
  shape->mutable_value()->mutable_shape()->add_dim(-1);
  std::string bytes = def.SerializeAsString();
  bytes += std::string("\x98\x06\x2a", 3);  // field 99, varint 42.
  absl::StatusOr<Graph> g =
      ParseGraph(bytes, GraphFileFormat::kBinary, "future.pb");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->FindNode("p")->output_dtypes()[0], DType::kInt64);
}

TEST_F(GraphIo, MisspelledTextFieldIsALoadErrorNamingTheFieldAndLine) {
  // `devcie:` used to be skipped, moving the node to the default device.
  const std::string text = TextGraph(absl::StrReplaceAll(
      kConstF, {{"op: \"Const\"", "op: \"Const\"\n    devcie: \"cpu:1\""}}));
  const int line =
      1 + static_cast<int>(std::count(
              text.begin(), text.begin() + text.find("devcie"), '\n'));
  absl::Status s = LoadText(text, "typo.pbtxt");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat(
                  "typo.pbtxt' is not a valid text weft.GraphDef: line ", line,
                  ", column 5: unknown field 'devcie' in weft.NodeDef")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("is it misspelled?"));

  // The current minor version, a top-level field: also an error.
  s = LoadText(absl::StrCat("version_major: 1\nversion_minor: 1\nnmae: \"t\"\n",
                            kConstF),
               "top.pbtxt");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("top.pbtxt' is not a valid text weft.GraphDef: line 3, "
                        "column 1: unknown field 'nmae' in weft.GraphDef"));

  // Several unknown fields are all listed.
  s = LoadText(TextGraph(absl::StrCat("colour: 1\n", kConstF, "size: 2\n")));
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("line 3, column 1: unknown field 'colour'"),
                    HasSubstr("unknown field 'size' in weft.GraphDef")));

  // The correct spelling loads, on the named device.
  absl::StatusOr<Graph> g = ParseGraph(
      TextGraph(absl::StrReplaceAll(
          kConstF, {{"op: \"Const\"", "op: \"Const\"\n device: \"cpu:1\""}})),
      GraphFileFormat::kText, "ok.pbtxt");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->FindNode("a")->device(), "cpu:1");
}

TEST_F(GraphIo, UnknownOpIsRefused) {
  absl::Status s =
      LoadText(TextGraph(R"pb(node { name: "f" op: "Frobnicate" })pb"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("graph file '"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("t.pbtxt', node #0 'f': op 'f' (Frobnicate) in graph "
                        "'t'"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("unknown op type 'Frobnicate'; registered ops: "));
  EXPECT_EQ(GetOpErrorInfo(s)->kind, ErrorKind::kUnknownOp);
}

TEST_F(GraphIo, DuplicateNodeIsRefused) {
  absl::Status s = LoadText(TextGraph(absl::StrCat(
      kConstF, absl::StrReplaceAll(kConstI, {{"\"b\"", "\"a\""}}))));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("node #1 'a', field name: duplicate node name: node #0 "
                        "has the same name"));
}

TEST_F(GraphIo, BadInputReferencesAreRefused) {
  auto with_input = [](std::string_view input) {
    return LoadText(TextGraph(absl::StrCat(
        kConstF, "node { name: \"n\" op: \"Neg\" input: \"", input, "\" }")));
  };
  EXPECT_THAT(std::string(with_input("nosuch:0").message()),
              HasSubstr("node #1 'n', field input[0] 'nosuch:0': refers to no "
                        "earlier node 'nosuch' (nodes are listed in a "
                        "topological order"));
  EXPECT_THAT(
      std::string(with_input("a:7").message()),
      HasSubstr("node 'a' (Const) has 1 output(s); there is no slot 7"));
  EXPECT_THAT(std::string(with_input("a:x").message()),
              HasSubstr("expected 'node:slot'"));
  EXPECT_THAT(std::string(with_input("a:99999999999").message()),
              HasSubstr("expected 'node:slot'"));
  EXPECT_TRUE(with_input("a").ok());
  EXPECT_TRUE(with_input("a:0").ok());
  // A forward reference: nodes are in topological order.
  absl::Status fwd = LoadText(TextGraph(absl::StrCat(
      "node { name: \"n\" op: \"Neg\" input: \"a:0\" }", kConstF)));
  EXPECT_THAT(std::string(fwd.message()),
              HasSubstr("refers to no earlier node 'a'"));
  // Control inputs come last.
  absl::Status order = LoadText(TextGraph(absl::StrCat(
      kConstF,
      "node { name: \"n\" op: \"Neg\" input: \"^a\" input: \"a:0\" }")));
  EXPECT_THAT(std::string(order.message()),
              HasSubstr("data inputs must come before control inputs"));
  // Arity is the builders' check.
  absl::Status arity = LoadText(TextGraph(
      absl::StrCat(kConstF, "node { name: \"n\" op: \"Neg\" input: \"^a\" }")));
  EXPECT_THAT(std::string(arity.message()),
              HasSubstr("Neg takes 1 input(s) but was given 0"));
}

TEST_F(GraphIo, BadAttrsAreRefused) {
  auto const_with = [](std::string_view value) {
    return LoadText(TextGraph(absl::StrCat(
        "node { name: \"c\" op: \"Const\" attr { key: \"value\" value { ",
        value, " } } }")));
  };
  EXPECT_THAT(
      std::string(const_with("ndarray { dtype: DT_FLOAT32 shape { dim: 2 } "
                             "content: \"abc\" }")
                      .message()),
      HasSubstr("node #0 'c', field attr 'value': ndarray float32[2] needs 2 "
                "elements of 4 byte(s) but its content holds 3 bytes"));
  EXPECT_THAT(
      std::string(const_with("ndarray { dtype: DT_FLOAT32 shape { dim: -1 } }")
                      .message()),
      HasSubstr("field attr 'value': ndarray shape: "));
  EXPECT_THAT(
      std::string(
          const_with("ndarray { dtype: DT_BOOL shape { dim: 1 } content: "
                     "\"\\002\" }")
              .message()),
      HasSubstr("bool ndarray element 0 is 2; bools are saved as 0 or 1"));
  EXPECT_THAT(std::string(const_with("ndarray { shape { dim: 1 } }").message()),
              HasSubstr("ndarray has unknown dtype value 0"));
  EXPECT_THAT(
      std::string(LoadText(TextGraph(R"pb(
                    node {
                      name: "p"
                      op: "Placeholder"
                      attr {
                        key: "dtype"
                        value { dtype: DT_FLOAT32 }
                      }
                      attr {
                        key: "dtype"
                        value { dtype: DT_INT32 }
                      }
                      attr {
                        key: "shape"
                        value { shape {} }
                      }
                    })pb"))
                      .message()),
      HasSubstr("node #0 'p', field attr 'dtype': the attr is given twice"));
  EXPECT_THAT(std::string(const_with("i: 3").message()),
              HasSubstr("missing or mistyped attr 'value'"));
  EXPECT_THAT(std::string(LoadText(TextGraph(R"pb(
                            node {
                              name: "c"
                              op: "Const"
                              attr {
                                key: "value"
                                value {}
                              }
                            })pb"))
                              .message()),
              HasSubstr("field attr 'value': no value is set"));
  EXPECT_THAT(std::string(LoadText(TextGraph(R"pb(
                            node {
                              name: "p"
                              op: "Placeholder"
                              attr {
                                key: "dtype"
                                value { dtype: DT_FLOAT32 }
                              }
                            })pb"))
                              .message()),
              HasSubstr("Placeholder requires attr 'shape', which was not "
                        "given"));
  EXPECT_THAT(std::string(LoadText(TextGraph(R"pb(
                            node {
                              name: "p"
                              op: "Placeholder"
                              attr {
                                key: "dtype"
                                value { dtype: DT_FLOAT32 }
                              }
                              attr {
                                key: "shape"
                                value { shape { dim: -5 } }
                              }
                            })pb"))
                              .message()),
              HasSubstr("field attr 'shape': "));
}

TEST_F(GraphIo, WhatTheBuildersRefuseIsRefused) {
  // Add(float32, int32): the builders' dtype check, with the saved site.
  absl::Status s = LoadText(TextGraph(
      absl::StrCat(kConstF, kConstI,
                   R"pb(node {
                          name: "sum"
                          op: "Add"
                          input: "a:0"
                          input: "b:0"
                          provenance {
                            site { file: "model.cc" line: 30 function: "Build" }
                            thread: "main"
                          }
                        })pb")));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("node #2 'sum': op 'sum' (Add) in graph 't'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("dtype mismatch"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("op built at model.cc:30 in Build, thread 'main'"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("input 0 'a:0' (float32[1]) was created at model.cc:12 "
                        "in Build, thread 'main'"));
  EXPECT_EQ(GetOpErrorInfo(s)->kind, ErrorKind::kDType);
  EXPECT_EQ(GetOpErrorInfo(s)->site.line, 30);

  // A bad device and a bad name.
  EXPECT_THAT(std::string(LoadText(TextGraph(absl::StrReplaceAll(
                                       kConstF, {{"op: \"Const\"",
                                                  "op: \"Const\" device: "
                                                  "\"gpu0\""}})))
                              .message()),
              HasSubstr("invalid device 'gpu0'"));
  EXPECT_THAT(std::string(LoadText(TextGraph(absl::StrReplaceAll(
                                       kConstF, {{"\"a\"", "\"a b\""}})))
                              .message()),
              HasSubstr("field name: invalid node name 'a b'"));
  EXPECT_THAT(std::string(LoadText(TextGraph(absl::StrReplaceAll(
                                       kConstF, {{"\"a\"", "\"\""}})))
                              .message()),
              HasSubstr("field name: a node name cannot be empty"));
  // MatMul of a vector: the builders' shape inference.
  EXPECT_THAT(std::string(LoadText(TextGraph(absl::StrCat(
                                       kConstF,
                                       "node { name: \"m\" op: \"MatMul\" "
                                       "input: \"a\" input: \"a\" }")))
                              .message()),
              HasSubstr("MatMul takes two matrices"));
}

TEST_F(GraphIo, ResourcesBindByKindAndName) {
  Graph g = Graph::Create("r");
  Tensor c = ops::Const(NDArray::Scalar<float>(1), {.graph = g});
  ASSERT_TRUE(g.AddOp("Identity", {c}, {{"var", Var("weights")}}).ok());
  const std::string path = TempPath("res.pbtxt");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  absl::StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const ResourceRef* r = FindAttr<ResourceRef>(loaded->node(1)->attrs(), "var");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(*r, Var("weights"));  // Bound to this process's object.

  // Unbound: no resolver for the kind.
  std::string text = absl::StrCat(
      "version_major: 1\nresource { kind: \"Queue\" name: \"q\" }\n");
  absl::Status s = LoadText(text);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("refers to Queue 'q', which is unbound: no resolver "
                        "is registered for resources of kind 'Queue'"));
  // The resolver's own error.
  s = LoadText(
      "version_major: 1\nresource { kind: \"TestVariable\" name: \"missing\" "
      "}\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("refers to TestVariable 'missing', which could not be "
                        "bound: no TestVariable is named 'missing'"));
  // An attr naming an undeclared resource.
  s = LoadText(TextGraph(absl::StrCat(
      kConstF, R"pb(node {
                      name: "i"
                      op: "Identity"
                      input: "a"
                      attr {
                        key: "v"
                        value { resource { kind: "TestVariable" name: "w" } }
                      }
                    })pb")));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("field attr 'v': refers to TestVariable 'w', which the "
                        "file's resource list does not declare"));
}

TEST_F(GraphIo, NullResourceCannotBeSaved) {
  Graph g = Graph::Create("r");
  Tensor c = ops::Const(NDArray::Scalar<float>(1), {.graph = g});
  ASSERT_TRUE(
      g.AddOp("Identity", {c}, {{"var", ResourceRef()}}, {.name = "i"}).ok());
  absl::Status s = SaveGraph(g, TempPath("null.pb"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot save node 'i': attr 'var' holds a null "
                        "resource reference"));
}

// ---------------------------------------------------------- functions ----

// A graph with every use of functions: a Call with a capture, nested
// functions (one traced inside another's body, capturing its tensor), Cond,
// While, and a While inside a Cond branch inside a function. Fed by "n".
Graph FunctionGraph(int* call_line = nullptr) {
  Graph g = Graph::Create("functions");
  GraphScope scope(g);
  Tensor n = ops::Placeholder(DType::kInt64, Shape{}, {.name = "n"});
  Tensor w = ops::Const(NDArray::Scalar<int64_t>(3), {.name = "w"});
  Function scale =
      MustTrace("scale", {I64Spec("x")},
                [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                  return {ops::Mul(a[0], w)};
                },
                {.captures = {w}});
  Function outer = MustTrace(
      "outer", {I64Spec("x")},
      [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        Tensor x2 = ops::Add(a[0], a[0]);
        Function inner = MustTrace(
            "inner", {I64Spec("y")},
            [&](const std::vector<Tensor>& b) -> std::vector<Tensor> {
              return {ops::Sub(b[0], x2), b[0]};  // And a pass-through.
            },
            {.captures = {x2}});
        return ops::Call(inner, {ops::Neg(a[0])});
      });
  // while (i < n) { i += 1; acc = acc * 2 + i }
  Function cond =
      MustTrace("loop_cond", {I64Spec("i"), I64Spec("acc")},
                [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                  return {ops::Less(v[0], n)};
                },
                {.captures = {n}});
  Function body =
      MustTrace("loop_body", {I64Spec("i"), I64Spec("acc")},
                [](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                  Tensor i = ops::Add(v[0], I64Const(1));
                  return {i, ops::Add(ops::Mul(v[1], I64Const(2)), i)};
                });
  Function neg =
      MustTrace("negate", {I64Spec("x")},
                [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                  return {ops::Neg(a[0])};
                });
  // A function whose body has a Cond whose then branch runs a While.
  Function nested = MustTrace(
      "nested", {I64Spec("x")},
      [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
        Tensor limit = ops::Const(NDArray::Scalar<int64_t>(5));
        Function c =
            MustTrace("count_cond", {I64Spec("i"), I64Spec("acc")},
                      [&](const std::vector<Tensor>& v) -> std::vector<Tensor> {
                        return {ops::Less(v[0], limit)};
                      },
                      {.captures = {limit}});
        Function looping =
            MustTrace("looping", {I64Spec("x")},
                      [&](const std::vector<Tensor>& b) -> std::vector<Tensor> {
                        return {ops::While(c, body, {I64Const(0), b[0]})[1]};
                      },
                      {.captures = {limit}});
        return ops::Cond(ops::Greater(a[0], I64Const(0)), looping, neg, {a[0]});
      });
  Tensor s = ops::Call(scale, {n})[0];
  std::vector<Tensor> o = ops::Call(outer, {s}, {.name = "outer_call"});
  Tensor pred = ops::Greater(n, I64Const(2));
  Tensor chosen = ops::Cond(pred, scale, neg, {o[0]},
                            {.name = "chosen", .device = "cpu:1"})[0];
  std::vector<Tensor> loop =
      ops::While(cond, body, {I64Const(0), chosen}, {.max_iterations = 1000},
                 {.name = "loop"});
  if (call_line != nullptr) *call_line = __LINE__ + 1;
  Tensor deep = ops::Call(nested, {loop[1]}, {.name = "deep"})[0];
  Tensor divided =
      ops::Div(deep, ops::Sub(n, I64Const(7)), {.name = "divided"});
  EXPECT_TRUE(divided.ok()) << divided.status();
  return g;
}

std::vector<std::string> Library(const Graph& g) {
  std::vector<std::string> out;
  for (const auto& fb : internal::ReachableFunctions(g)) {
    out.push_back(Body(*fb));
  }
  return out;
}

TEST_F(GraphIo, FunctionsRoundTripInBothFormats) {
  Graph g = FunctionGraph();
  ASSERT_EQ(Library(g).size(), 9u);
  for (const char* ext : {".pb", ".pbtxt"}) {
    SCOPED_TRACE(ext);
    const std::string path = TempPath(absl::StrCat("functions", ext));
    ASSERT_TRUE(SaveGraph(g, path).ok()) << SaveGraph(g, path);
    absl::StatusOr<Graph> loaded = LoadGraph(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(Body(*loaded), Body(g));
    EXPECT_THAT(Body(*loaded),
                HasSubstr("chosen = Cond[then=scale, else=negate]("));
    EXPECT_EQ(Library(*loaded), Library(g));
    ExpectSameNodes(g, *loaded);
    // Saving the loaded graph reproduces the file byte for byte.
    EXPECT_EQ(*SerializeGraph(*loaded, *GraphFileFormatForPath(path)),
              *SerializeGraph(g, *GraphFileFormatForPath(path)));

    auto s1 = Session::Create(g, {.devices = {"cpu:0", "cpu:1"}});
    auto s2 = Session::Create(*loaded, {.devices = {"cpu:0", "cpu:1"}});
    ASSERT_TRUE(s1.ok() && s2.ok());
    for (int64_t n : {0, 1, 3, 6}) {  // n = 1 runs the While in a Cond.
      SCOPED_TRACE(n);
      std::vector<Tensor> f1, f2;
      for (const char* name :
           {"scale:0", "outer_call:0", "outer_call:1", "chosen:0", "loop:0",
            "loop:1", "deep:0", "divided:0"}) {
        f1.push_back(*g.GetTensor(name));
        f2.push_back(*loaded->GetTensor(name));
      }
      auto r1 =
          (*s1)->Run({{*g.GetTensor("n"), NDArray::Scalar<int64_t>(n)}}, f1);
      auto r2 = (*s2)->Run(
          {{*loaded->GetTensor("n"), NDArray::Scalar<int64_t>(n)}}, f2);
      ASSERT_TRUE(r1.ok()) << r1.status();
      ASSERT_TRUE(r2.ok()) << r2.status();
      for (size_t i = 0; i < r1->size(); ++i) {
        EXPECT_TRUE((*r1)[i].Equals((*r2)[i]))
            << i << ": " << (*r1)[i].DebugString() << " vs "
            << (*r2)[i].DebugString();
      }
      // A value computed by hand: n = 3 takes the then branch of "chosen".
      if (n == 3) {
        // scale: 9; outer: -9 - (18) = -27; chosen = scale(-27) = -81;
        // loop: 3 iterations: acc = -81*2+1 = -161, -322+2 = -320,
        // -640+3 = -637; deep: Cond(-637 > 0) = negate -> 637.
        EXPECT_EQ((*r2)[6].values<int64_t>()[0], 637);
      }
    }
  }
}

TEST_F(GraphIo, RunTimeErrorsInLoadedFunctionsNameTheSavedSites) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  Tensor d = ops::Placeholder(DType::kInt64, Shape{}, {.name = "d"});
  Function div =
      MustTrace("div", {I64Spec("x"), I64Spec("y")},
                [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                  return {ops::Div(a[0], a[1])};
                });
  const int trace_line = static_cast<int>(div.traced_at().line());
  const int call_line = __LINE__ + 1;
  Tensor q = ops::Call(div, {I64Const(8), d})[0];
  ASSERT_TRUE(q.ok()) << q.status();
  const std::string path = TempPath("div.pbtxt");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  absl::StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto session = Session::Create(*loaded);
  ASSERT_TRUE(session.ok());
  auto run =
      (*session)->Run({{*loaded->GetTensor("d"), NDArray::Scalar<int64_t>(0)}},
                      {*loaded->GetTensor("div:0")});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr(absl::StrCat(
                  "node 'div/Div' in function 'div' (traced at ", __FILE__, ":",
                  trace_line, "), called at ", __FILE__, ":", call_line,
                  ": integer division by zero")));
}

TEST_F(GraphIo, TwoFunctionsOfOneNameCannotBeSaved) {
  Graph g = Graph::Create("g");
  GraphScope scope(g);
  auto trace = [](int64_t k) {
    return MustTrace("f", {I64Spec("x")},
                     [k](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                       return {ops::Add(a[0], I64Const(k))};
                     });
  };
  ASSERT_TRUE(ops::Call(trace(1), {I64Const(0)})[0].ok());
  ASSERT_TRUE(ops::Call(trace(2), {I64Const(0)})[0].ok());
  absl::Status s = SaveGraph(g, TempPath("two.pb"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot save graph 'g' (id "));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("it calls two different functions named 'f'\n  one is "
                        "'f' (traced at "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("give each Function::Trace "
                                                  "its own name"));
}

// f calls g, g calls h; all int64 -> int64. Returned as a GraphDef.
GraphDef ChainDef() {
  Graph g = Graph::Create("chain");
  GraphScope scope(g);
  auto id = [](const std::vector<Tensor>& a) -> std::vector<Tensor> {
    return {ops::Neg(a[0])};
  };
  Function h = MustTrace("h", {I64Spec("x")}, id);
  Function gf =
      MustTrace("g", {I64Spec("x")},
                [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                  return ops::Call(h, {a[0]});
                });
  Function f =
      MustTrace("f", {I64Spec("x")},
                [&](const std::vector<Tensor>& a) -> std::vector<Tensor> {
                  return ops::Call(gf, {a[0]});
                });
  EXPECT_TRUE(ops::Call(f, {I64Const(1)})[0].ok());
  GraphDef def;
  EXPECT_TRUE(
      def.ParseFromString(*SerializeGraph(g, GraphFileFormat::kBinary)));
  return def;
}

FunctionDef* FindFunction(GraphDef& def, std::string_view name) {
  for (FunctionDef& f : *def.mutable_library()->mutable_function()) {
    if (f.name() == name) return &f;
  }
  ADD_FAILURE() << "no function " << name;
  return nullptr;
}

// The function attr of the first node of `f`'s body that has one.
ResourceRefDef* CallTarget(FunctionDef* f) {
  for (NodeDef& n : *f->mutable_body()->mutable_node()) {
    for (AttrEntry& e : *n.mutable_attr()) {
      if (e.value().has_resource())
        return e.mutable_value()->mutable_resource();
    }
  }
  ADD_FAILURE() << "no call in " << f->name();
  return nullptr;
}

absl::Status LoadDef(const GraphDef& def, std::string_view file) {
  std::string bytes;
  EXPECT_TRUE(def.SerializeToString(&bytes));
  return ParseGraph(bytes, GraphFileFormat::kBinary, file).status();
}

TEST_F(GraphIo, FunctionLibraryOrderDoesNotMatter) {
  GraphDef def = ChainDef();
  ASSERT_EQ(def.library().function_size(), 3);
  EXPECT_EQ(def.library().function(0).name(), "h");  // Callees first.
  EXPECT_EQ(def.library().function(2).name(), "f");
  def.mutable_library()->mutable_function()->SwapElements(0, 2);
  EXPECT_TRUE(LoadDef(def, "swapped.pb").ok()) << LoadDef(def, "swapped.pb");
}

TEST_F(GraphIo, RecursionInTheLibraryIsRejectedNamingTheCycle) {
  {
    GraphDef def = ChainDef();
    CallTarget(FindFunction(def, "f"))->set_name("f");  // f -> f.
    absl::Status s = LoadDef(def, "direct.pb");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("graph file 'direct.pb': recursion rejected: its "
                          "function library has the cycle 'f' -> 'f'\n  "
                          "function 'f' calls 'f' in node 'g' (traced at "
                          "tests/graph_io_test.cc:"));
  }
  {
    GraphDef def = ChainDef();
    CallTarget(FindFunction(def, "g"))->set_name("f");  // f -> g -> f.
    absl::Status s = LoadDef(def, "indirect.pb");
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("recursion rejected: its function library has the "
                          "cycle 'g' -> 'f' -> 'g'"));
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("function 'g' calls 'f' in node 'h'"));
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("weft iterates with While"));
  }
}

TEST_F(GraphIo, FunctionLibraryErrorsNameTheFunctionAndTheFile) {
  auto message = [](const GraphDef& def) {
    return std::string(LoadDef(def, "lib.pb").message());
  };
  {  // A node of the graph calls a function the library lacks.
    GraphDef def = ChainDef();
    def.mutable_library()->mutable_function()->RemoveLast();  // f
    EXPECT_THAT(message(def),
                HasSubstr("graph file 'lib.pb', node #1 'f', field attr "
                          "'function': refers to function 'f', which the "
                          "file's function library does not define"));
  }
  {  // A body calls an unknown function.
    GraphDef def = ChainDef();
    CallTarget(FindFunction(def, "g"))->set_name("nosuch");
    EXPECT_THAT(message(def),
                HasSubstr("graph file 'lib.pb', function 'g', node #1 'h', "
                          "field attr 'function': refers to function "
                          "'nosuch', which the file's function library does "
                          "not define"));
  }
  {  // Two functions of one name.
    GraphDef def = ChainDef();
    FindFunction(def, "g")->set_name("h");
    EXPECT_THAT(message(def),
                HasSubstr("graph file 'lib.pb', field library.function[1]: "
                          "function 'h' is defined twice (also "
                          "library.function[0])"));
  }
  {  // A body node the builders refuse: re-checked through AddOp.
    GraphDef def = ChainDef();
    FunctionDef* h = FindFunction(def, "h");
    h->mutable_body()->mutable_node(1)->set_op("Frobnicate");
    EXPECT_THAT(message(def),
                HasSubstr("graph file 'lib.pb', function 'h', node #1 'Neg': "
                          "op 'Neg' (Frobnicate)"));
  }
  {  // A call whose arguments no longer match the callee's specs.
    GraphDef def = ChainDef();
    FunctionDef* h = FindFunction(def, "h");
    h->mutable_arg(0)->set_dtype(DT_FLOAT32);
    EXPECT_THAT(message(def),
                HasSubstr("graph file 'lib.pb', function 'h', field arg[0] "
                          "'x': the declared spec differs from the "
                          "placeholder's int64[]"));
  }
  {  // An output naming no tensor.
    GraphDef def = ChainDef();
    FindFunction(def, "h")->mutable_output(0)->set_tensor("Neg:4");
    EXPECT_THAT(message(def),
                HasSubstr("function 'h', field output[0] 'Neg:4': names no "
                          "tensor of the body"));
  }
  {  // No outputs.
    GraphDef def = ChainDef();
    FindFunction(def, "h")->clear_output();
    EXPECT_THAT(message(def),
                HasSubstr("function 'h', field output: a function returns at "
                          "least one tensor"));
  }
  {  // A nested library.
    GraphDef def = ChainDef();
    FindFunction(def, "h")->mutable_body()->mutable_library()->add_function();
    EXPECT_THAT(message(def),
                HasSubstr("function 'h', field body: a body lists neither "
                          "functions nor resources"));
  }
}

TEST_F(GraphIo, FileErrors) {
  EXPECT_THAT(std::string(LoadGraph("model.json").status().message()),
              HasSubstr("unknown extension: use '.pb' (binary) or '.pbtxt'"));
  absl::Status missing = LoadGraph(TempPath("absent.pb")).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("cannot open graph file"));
  absl::Status text = LoadText("version_major: 1\nnode { name: ", "bad.pbtxt");
  EXPECT_THAT(
      std::string(text.message()),
      HasSubstr("bad.pbtxt' is not a valid text weft.GraphDef: line 2"));
  WriteFile(TempPath("bad.pb"), "\xff\xff\xff");
  EXPECT_THAT(std::string(LoadGraph(TempPath("bad.pb")).status().message()),
              HasSubstr("is not a valid binary weft.GraphDef"));
  EXPECT_THAT(std::string(SaveGraph(Graph(), TempPath("x.pb")).message()),
              HasSubstr("cannot save a null Graph handle"));
  Graph g = Graph::Create("g");
  absl::Status nodir = SaveGraph(g, TempPath("no/such/dir/g.pb"));
  EXPECT_EQ(nodir.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(nodir.message()), HasSubstr("cannot create"));
}

TEST_F(GraphIo, SaveIsAtomicAndLeavesNoTemporaryFiles) {
  const std::string dir = testing::FreshDir("atomic");
  ASSERT_FALSE(HasFailure());
  Graph g = Graph::Create("g");
  ASSERT_TRUE(ops::Const(NDArray::Scalar<float>(1), {.graph = g}).ok());
  const std::string path = dir + "/g.pbtxt";
  WriteFile(path, "old contents");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  ASSERT_TRUE(LoadGraph(path).ok());
  EXPECT_THAT(testing::FilesIn(dir), ElementsAre("g.pbtxt"));
}

TEST_F(GraphIo, ConcurrentLoadsAndRegistrations) {
  Feeds feeds;
  Graph g = RandomGraph(7, 60, feeds);
  const std::string path = TempPath("concurrent.pb");
  ASSERT_TRUE(SaveGraph(g, path).ok());
  std::vector<std::thread> threads;
  std::vector<std::string> bodies(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      if (i == 0) {
        for (int k = 0; k < 20; ++k) RegisterTestVariables();
        return;
      }
      for (int k = 0; k < 5; ++k) {
        absl::StatusOr<Graph> l = LoadGraph(path);
        if (l.ok()) bodies[i] = Body(*l);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 1; i < 6; ++i) EXPECT_EQ(bodies[i], Body(g));
}

// SaveGraphPruned keeps what the kept tensors need (data and control
// inputs) and nothing else; the pruned file loads and computes the same.
TEST_F(GraphIo, PrunedSaveKeepsOnlyWhatTheKeptTensorsNeed) {
  Graph g = Graph::Create("prune");
  Tensor x =
      ops::Placeholder(DType::kFloat32, Shape{2}, {.name = "x", .graph = g});
  Tensor unused_in =
      ops::Placeholder(DType::kFloat32, Shape{2}, {.name = "u", .graph = g});
  Tensor gate = ops::Neg(x, {.name = "gate", .graph = g});
  Tensor y =
      ops::Add(x, x, {.name = "y", .graph = g, .control_inputs = {gate}});
  Tensor dead = ops::Mul(x, x, {.name = "dead", .graph = g});
  ASSERT_TRUE(dead.ok());
  int kept = 0;
  absl::StatusOr<std::string> text =
      SerializeGraphPruned(g, {x, unused_in, y}, GraphFileFormat::kText, &kept);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(kept, 4);
  absl::StatusOr<Graph> back =
      ParseGraph(*text, GraphFileFormat::kText, "pruned.pbtxt");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->num_nodes(), 4);
  for (const char* name : {"x", "u", "gate", "y"}) {
    EXPECT_NE(back->FindNode(name), nullptr) << name;
  }
  EXPECT_EQ(back->FindNode("dead"), nullptr);
  const std::string path = TempPath("pruned.pb");
  ASSERT_TRUE(SaveGraphPruned(g, {y}, path, &kept).ok());
  EXPECT_EQ(kept, 3);  // x, gate, y.
  absl::StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(*loaded);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::vector<NDArray>> out =
      (*s)->Run({{loaded->output(*loaded->FindNode("x")),
                  NDArray::Vector<float>({1, 2})}},
                {loaded->output(*loaded->FindNode("y"))});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT((*out)[0].values<float>(), ElementsAre(2.0f, 4.0f));
  // A tensor of another graph is refused.
  Graph other = Graph::Create("other");
  Tensor z = ops::Placeholder(DType::kFloat32, Shape{1}, {.graph = other});
  absl::StatusOr<std::string> bad =
      SerializeGraphPruned(g, {z}, GraphFileFormat::kBinary);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("a tensor to keep is not of the graph being saved"));
}

}  // namespace
}  // namespace weft
