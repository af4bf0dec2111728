// Tests of SaveVariables / RestoreVariables (state/checkpoint.h): round
// trips, the published safetensors layout, atomic writes, all-or-nothing
// restores, the error list, and a fuzz-style test of corrupt files.
#include "state/checkpoint.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "state/variable.h"
#include "tests/testing/files.h"
#include "tests/testing/run_helpers.h"

namespace weft {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FilesIn;
using ::testing::HasSubstr;
using testing::MustCreateVariable;
using testing::ReadFile;
using ::testing::StartsWith;
using testing::TempPath;
using testing::WriteFile;

// The 8-byte little-endian header length, byte by byte.
std::string LengthBytes(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// Variables of every dtype, including a scalar and empty arrays.
std::vector<Variable> EveryDtype() {
  return {
      MustCreateVariable(
          "f32", *NDArray::Create<float>(
                     {1.5f, -0.0f, std::numeric_limits<float>::infinity(),
                      std::nanf(""), 3e-38f, -7},
                     {2, 3})),
      MustCreateVariable("f64", NDArray::Scalar<double>(-1234.5678)),
      MustCreateVariable("i32", NDArray::Vector<int32_t>({})),
      MustCreateVariable("i64", *NDArray::Create<int64_t>(
                                    {std::numeric_limits<int64_t>::min(), -1, 0,
                                     std::numeric_limits<int64_t>::max()},
                                    {4})),
      MustCreateVariable("dir/bool",
                         NDArray::Vector<bool>({true, false, true})),
      MustCreateVariable("empty2d",
                         NDArray::Uninitialized(DType::kFloat64, {3, 0})),
  };
}

// A value of v's dtype and shape unlike the ones above.
NDArray Sentinel(const Variable& v) {
  NDArray a = NDArray::Uninitialized(v.dtype(), v.shape());
  std::memset(a.mutable_raw_data(), v.dtype() == DType::kBool ? 0 : 0x5a,
              a.num_bytes());
  return a;
}

std::vector<NDArray> Values(const std::vector<Variable>& vars) {
  std::vector<NDArray> out;
  for (const Variable& v : vars) out.push_back(v.value());
  return out;
}

void ExpectValues(const std::vector<Variable>& vars,
                  const std::vector<NDArray>& want) {
  ASSERT_EQ(vars.size(), want.size());
  for (size_t i = 0; i < vars.size(); ++i) {
    EXPECT_TRUE(vars[i].value().Equals(want[i]))
        << vars[i].name() << ": " << vars[i].value().DebugString() << " vs "
        << want[i].DebugString();
  }
}

void AssignSentinels(const std::vector<Variable>& vars) {
  for (const Variable& v : vars) ASSERT_TRUE(v.Assign(Sentinel(v)).ok());
}

TEST(Checkpoint, RoundTripsEveryDtypeScalarsAndEmptyArrays) {
  const std::string path = TempPath("every.safetensors");
  std::vector<Variable> vars = EveryDtype();
  std::vector<NDArray> saved = Values(vars);
  ASSERT_TRUE(SaveVariables(path, vars).ok());
  AssignSentinels(vars);
  ASSERT_FALSE(vars[0].value().Equals(saved[0]));
  absl::Status s = RestoreVariables(path, vars);
  ASSERT_TRUE(s.ok()) << s;
  ExpectValues(vars, saved);
}

TEST(Checkpoint, SavedFileFollowsThePublishedLayout) {
  const std::string path = TempPath("layout.safetensors");
  Variable w = MustCreateVariable("w", NDArray::Vector<float>({1.0f, -2.5f}));
  Variable b = MustCreateVariable("b", NDArray::Scalar<int64_t>(-1));
  ASSERT_TRUE(SaveVariables(path, {w, b}).ok());
  const std::string file = ReadFile(path);
  ASSERT_GE(file.size(), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) {
    n |= uint64_t{static_cast<unsigned char>(file[i])} << (8 * i);
  }
  ASSERT_EQ(file.size(), 8 + n + 16);
  EXPECT_EQ(n % 8, 0u);  // Padded with spaces, like the reference writer.
  const std::string header = file.substr(8, n);
  EXPECT_THAT(header, StartsWith("{"));
  EXPECT_THAT(header,
              AllOf(HasSubstr(R"("w":{"data_offsets":[0,8],"dtype":"F32",)"
                              R"("shape":[2]})"),
                    HasSubstr(R"("b":{"data_offsets":[8,16],"dtype":"I64",)"
                              R"("shape":[]})"),
                    HasSubstr(R"("__metadata__":{"producer":"weft"})")));
  EXPECT_EQ(file.substr(8 + n),
            Bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,     // w
                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));  // b
}

TEST(Checkpoint, LoadsAFileFromAReferenceWriter) {
  // Built byte by byte from the safetensors layout, the way the Python
  // writer lays it out: entries in any order, metadata, a float16 entry,
  // trailing spaces in the header.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("layer.b":{"dtype":"I64","shape":[2],"data_offsets":[8,24]},)"
      R"("layer.w":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},)"
      R"("half":{"dtype":"F16","shape":[1],"data_offsets":[24,26]},)"
      R"("mask":{"dtype":"BOOL","shape":[3],"data_offsets":[26,29]},)"
      R"("step":{"dtype":"I32","shape":[],"data_offsets":[29,33]},)"
      R"("none":{"dtype":"F64","shape":[0],"data_offsets":[33,33]}}   )";
  const std::string data =
      Bytes({0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0}) +  // 1, -2.5
      Bytes({0x01, 0, 0, 0, 0, 0, 0, 0}) +                       // 1
      Bytes({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) +  // -2
      Bytes({0x00, 0x3c}) +                                      // F16 1.0
      Bytes({0x01, 0x00, 0x01}) +                                // mask
      Bytes({0x2a, 0x00, 0x00, 0x00});                           // 42
  const std::string path = TempPath("reference.safetensors");
  WriteFile(path, LengthBytes(header.size()) + header + data);

  Variable w =
      MustCreateVariable("layer.w", *NDArray::Create<float>({0, 0}, {2, 1}));
  Variable b = MustCreateVariable("layer.b", NDArray::Vector<int64_t>({0, 0}));
  Variable mask =
      MustCreateVariable("mask", NDArray::Vector<bool>({false, false, false}));
  Variable step = MustCreateVariable("step", NDArray::Scalar<int32_t>(0));
  Variable none = MustCreateVariable("none", NDArray::Vector<double>({}));
  Variable half =
      MustCreateVariable("half", NDArray::Vector<Float16>({Float16{}}));
  absl::Status s = RestoreVariables(path, {w, b, mask, step, none, half});
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(w.value().values<float>(), ElementsAre(1.0f, -2.5f));
  EXPECT_THAT(b.value().values<int64_t>(), ElementsAre(1, -2));
  EXPECT_THAT(mask.value().values<bool>(), ElementsAre(true, false, true));
  EXPECT_EQ(step.value().values<int32_t>()[0], 42);
  EXPECT_EQ(none.value().num_elements(), 0);
  EXPECT_EQ(Float16ToFloat(half.value().values<Float16>()[0]), 1.0f);
}

TEST(Checkpoint, StorageDTypesRoundTripWithTheirSafetensorsTags) {
  Variable u = MustCreateVariable("u", NDArray::Vector<uint8_t>({0, 200}));
  Variable i = MustCreateVariable("i", NDArray::Vector<int8_t>({-128, 5}));
  Variable h = MustCreateVariable(
      "h", NDArray::Vector<Float16>({FloatToFloat16(-2.5f)}));
  const std::string path = TempPath("storage.safetensors");
  ASSERT_TRUE(SaveVariables(path, {u, i, h}).ok());
  const std::string bytes = ReadFile(path);
  EXPECT_THAT(bytes, HasSubstr(R"("u":{"data_offsets":)"));
  EXPECT_THAT(bytes, HasSubstr(R"("dtype":"U8")"));
  EXPECT_THAT(bytes, HasSubstr(R"("dtype":"I8")"));
  EXPECT_THAT(bytes, HasSubstr(R"("dtype":"F16")"));
  Variable u2 = MustCreateVariable("u", NDArray::Vector<uint8_t>({0, 0}));
  Variable i2 = MustCreateVariable("i", NDArray::Vector<int8_t>({0, 0}));
  Variable h2 = MustCreateVariable("h", NDArray::Vector<Float16>({Float16{}}));
  ASSERT_TRUE(RestoreVariables(path, {u2, i2, h2}).ok());
  EXPECT_THAT(u2.value().values<uint8_t>(), ElementsAre(0, 200));
  EXPECT_THAT(i2.value().values<int8_t>(), ElementsAre(-128, 5));
  EXPECT_EQ(Float16ToFloat(h2.value().values<Float16>()[0]), -2.5f);
}

TEST(Checkpoint, EntriesNoVariableAsksForAreIgnored) {
  const std::string path = TempPath("extra.safetensors");
  std::vector<Variable> vars = EveryDtype();
  ASSERT_TRUE(SaveVariables(path, vars).ok());
  NDArray want = vars[3].value();
  ASSERT_TRUE(vars[3].Assign(Sentinel(vars[3])).ok());
  ASSERT_TRUE(RestoreVariables(path, {vars[3]}).ok());
  EXPECT_TRUE(vars[3].value().Equals(want));
}

TEST(Checkpoint, EmptyListsSaveAndRestore) {
  const std::string path = TempPath("none.safetensors");
  absl::Status s = SaveVariables(path, {});
  ASSERT_TRUE(s.ok()) << s;
  // The file is a header holding only the metadata, padded with spaces to
  // a multiple of 8 bytes, and no data section.
  const std::string file = ReadFile(path);
  ASSERT_GE(file.size(), 8u);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) {
    n |= uint64_t{static_cast<unsigned char>(file[i])} << (8 * i);
  }
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(file.size(), 8 + n);
  const std::string header = file.substr(8);
  const std::string json = R"({"__metadata__":{"producer":"weft"}})";
  ASSERT_EQ(header.size(), (json.size() + 7) / 8 * 8);
  EXPECT_EQ(header, json + std::string(header.size() - json.size(), ' '));
  s = RestoreVariables(path, {});
  EXPECT_TRUE(s.ok()) << s;
  // The file has no entries: restoring a variable from it fails and leaves
  // the variable unchanged.
  Variable w = MustCreateVariable("w", NDArray::Vector<float>({1, 2}));
  s = RestoreVariables(path, {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr("missing entry for 'w'"));
  EXPECT_THAT(w.value().values<float>(), ElementsAre(1, 2));
}

TEST(Checkpoint, SaveReplacesTheFileAtomicallyAndLeavesNoTemporaries) {
  const std::string dir = testing::FreshDir("atomic");
  ASSERT_FALSE(HasFailure());
  const std::string path = dir + "/model.safetensors";
  Variable v = MustCreateVariable("v", NDArray::Vector<int32_t>({1, 2}));
  ASSERT_TRUE(SaveVariables(path, {v}).ok());
  ASSERT_TRUE(v.Assign(NDArray::Vector<int32_t>({3, 4})).ok());
  ASSERT_TRUE(SaveVariables(path, {v}).ok());
  ASSERT_TRUE(v.Assign(NDArray::Vector<int32_t>({0, 0})).ok());
  ASSERT_TRUE(RestoreVariables(path, {v}).ok());
  EXPECT_THAT(v.value().values<int32_t>(), ElementsAre(3, 4));
  EXPECT_THAT(FilesIn(dir), ElementsAre("model.safetensors"));
}

TEST(Checkpoint, SaveErrorsNameThePathAndTheProblem) {
  Variable v = MustCreateVariable("v", NDArray::Scalar<float>(1));
  absl::Status s = SaveVariables(TempPath("no/such/dir/x.safetensors"), {v});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              AllOf(StartsWith("SaveVariables('"),
                    HasSubstr("no/such/dir/x.safetensors'): cannot create the "
                              "temporary file"),
                    HasSubstr("No such file or directory"), HasSubstr("fix:")));

  s = SaveVariables(TempPath("x.safetensors"), {v, Variable()});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("variables[1] is a null Variable"));

  Variable other = MustCreateVariable("v", NDArray::Scalar<int32_t>(2));
  s = SaveVariables(TempPath("x.safetensors"), {v, other});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("variables[0] and variables[1] are both named "
                              "'v'"),
                    HasSubstr("float32[]"), HasSubstr("int32[]"),
                    HasSubstr("checkpoint_test.cc:")));
  s = SaveVariables(TempPath("x.safetensors"), {v, v});
  EXPECT_THAT(s.message(), HasSubstr("(the same variable twice)"));

  Variable meta = MustCreateVariable("__metadata__", NDArray::Scalar<float>(0));
  s = SaveVariables(TempPath("x.safetensors"), {meta});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("is named '__metadata__', which the safetensors "
                        "format reserves"));
}

// Writes `header` (and `data`) as a checkpoint and restores `vars` from it.
absl::Status RestoreFrom(std::string_view name, const std::string& header,
                         const std::string& data,
                         const std::vector<Variable>& vars) {
  const std::string path = TempPath(name);
  WriteFile(path, LengthBytes(header.size()) + header + data);
  return RestoreVariables(path, vars);
}

TEST(Checkpoint, RestoreErrorsNameTheEntryAndTheProblem) {
  Variable w = MustCreateVariable("w", NDArray::Vector<float>({1, 2}));
  const std::string good_header =
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string good_data(8, '\0');
  ASSERT_TRUE(RestoreFrom("ok.st", good_header, good_data, {w}).ok());

  absl::Status s = RestoreVariables(TempPath("missing.safetensors"), {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("missing.safetensors'): cannot open the file"),
                    HasSubstr("No such file")));

  WriteFile(TempPath("short.st"), "abc");
  s = RestoreVariables(TempPath("short.st"), {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("short.st'): bad header: the file is 3 bytes"),
                    HasSubstr("fix:")));

  WriteFile(TempPath("long.st"), LengthBytes(1000) + good_header + good_data);
  s = RestoreVariables(TempPath("long.st"), {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("bad header: the header length is 1000 "
                                     "bytes, but the file holds 62"));

  s = RestoreFrom("json.st", R"({"w":{"dtype":"F32",)", good_data, {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("bad header: the JSON is malformed"));

  s = RestoreFrom("array.st", "[1,2]", "", {w});
  EXPECT_THAT(s.message(), HasSubstr("bad header: the JSON is not an object"));

  s = RestoreFrom("missing_entry.st",
                  R"({"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                  good_data, {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("missing entry for 'w' (float32[2], created at "
                              "tests/checkpoint_test.cc:"),
                    HasSubstr("the file's entries: 'v'"),
                    HasSubstr("no variable was changed")));

  s = RestoreFrom("dtype.st",
                  R"({"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                  good_data, {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("entry 'w': dtype mismatch: the file holds I32 ([2]), "
                        "variable 'w' (float32[2]"));

  s = RestoreFrom("shape.st",
                  R"({"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})",
                  good_data, {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("entry 'w': shape mismatch: the file "
                                     "holds F32 [1,2], variable 'w'"));

  s = RestoreFrom("truncated.st", good_header, good_data.substr(0, 5), {w});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("truncated data: the entries need 8 "
                                     "bytes of data, but the file holds 5"));

  s = RestoreFrom("size.st",
                  R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,6]}})",
                  good_data.substr(0, 6), {w});
  EXPECT_THAT(s.message(),
              HasSubstr("bad header: entry 'w': \"data_offsets\" [0, 6] span 6 "
                        "bytes, but F32 [2] needs 8"));

  s = RestoreFrom("gap.st",
                  R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("x":{"dtype":"U8","shape":[1],"data_offsets":[9,10]}})",
                  std::string(10, '\0'), {w});
  EXPECT_THAT(s.message(), HasSubstr("entry 'x' begins at data offset 9, but "
                                     "the previous entry ends at 8 (a gap)"));

  s = RestoreFrom("tag.st",
                  R"({"w":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})",
                  good_data, {w});
  EXPECT_THAT(s.message(),
              HasSubstr("bad header: entry 'w': unknown dtype tag 'F31'"));

  s = RestoreFrom("dims.st",
                  R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                  good_data, {w});
  EXPECT_THAT(s.message(), HasSubstr("\"shape\" holds a value that is not a "
                                     "dimension"));

  Variable flags =
      MustCreateVariable("flags", NDArray::Vector<bool>({false, false}));
  s = RestoreFrom("bool.st",
                  R"({"flags":{"dtype":"BOOL","shape":[2],)"
                  R"("data_offsets":[0,2]}})",
                  Bytes({1, 2}), {flags});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("bad data: entry 'flags' is BOOL but "
                                     "element 1 is the byte 2"));

  s = RestoreVariables(TempPath("ok.st"), {w, Variable()});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("variables[1] is a null Variable"));
}

TEST(Checkpoint, AFailedRestoreLeavesEveryVariableUnchanged) {
  const std::string path = TempPath("all_or_nothing.safetensors");
  std::vector<Variable> vars = EveryDtype();
  ASSERT_TRUE(SaveVariables(path, vars).ok());
  AssignSentinels(vars);
  const std::vector<NDArray> before = Values(vars);

  // One variable more than the file holds: the others are not restored.
  std::vector<Variable> more = vars;
  more.push_back(MustCreateVariable("absent", NDArray::Scalar<float>(0)));
  absl::Status s = RestoreVariables(path, more);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("missing entry for 'absent'"));
  ExpectValues(vars, before);

  // A bad byte in the last entry's data, found after the other entries were
  // read.
  std::string file = ReadFile(path);
  // "dir/bool" is the last entry with data (empty2d has none); its bytes end
  // the file.
  file[file.size() - 1] = 7;
  WriteFile(path, file);
  s = RestoreVariables(path, vars);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("entry 'dir/bool' is BOOL but element 2 "
                                     "is the byte 7"));
  ExpectValues(vars, before);
}

// Mutations of a valid checkpoint, chosen by `rng`.
std::string Mutate(const std::string& file, uint64_t header_size,
                   std::mt19937_64& rng) {
  std::string out = file;
  auto pick = [&](uint64_t lo, uint64_t hi) {  // In [lo, hi).
    return lo + rng() % (hi - lo);
  };
  const uint64_t header_end = 8 + header_size;
  static const char* const kTokens[] = {"0",
                                        "1",
                                        "-1",
                                        "18446744073709551615",
                                        "9223372036854775807",
                                        "1e300",
                                        "2.5",
                                        "\"F32\"",
                                        "\"I64\"",
                                        "\"BOOL\"",
                                        "\"F16\"",
                                        "null",
                                        "[]",
                                        "{}",
                                        "[0,0]",
                                        "true",
                                        "\"",
                                        ",",
                                        ":",
                                        "\"shape\"",
                                        "\"data_offsets\"",
                                        "\"dtype\"",
                                        "\"__metadata__\"",
                                        "\\u0000",
                                        "\xff"};
  switch (rng() % 7) {
    case 0: {  // Bit flips anywhere.
      const int flips = 1 + rng() % 3;
      for (int i = 0; i < flips; ++i) {
        out[pick(0, out.size())] ^= static_cast<char>(1 << (rng() % 8));
      }
      break;
    }
    case 1: {  // Bit flips in the length or the JSON.
      const int flips = 1 + rng() % 3;
      for (int i = 0; i < flips; ++i) {
        out[pick(0, header_end)] ^= static_cast<char>(1 << (rng() % 8));
      }
      break;
    }
    case 2:  // Truncation.
      out.resize(pick(0, out.size()));
      break;
    case 3: {  // Another header length.
      uint64_t n;
      switch (rng() % 4) {
        case 0:
          n = rng();
          break;
        case 1:
          n = header_size + pick(0, 17) - 8;
          break;
        case 2:
          n = out.size() - 8 + pick(0, 3);
          break;
        default:
          n = pick(0, 4);
      }
      out.replace(0, 8, LengthBytes(n));
      break;
    }
    case 4: {  // Replace a run of the JSON by a token.
      const uint64_t at = pick(8, header_end);
      const uint64_t len = pick(0, std::min<uint64_t>(8, header_end - at) + 1);
      out.replace(at, len, kTokens[rng() % std::size(kTokens)]);
      // Keep the length field consistent with the new header half the time.
      if (rng() % 2 == 0) {
        out.replace(0, 8, LengthBytes(header_size + out.size() - file.size()));
      }
      break;
    }
    case 5: {  // Change a digit of a number in the JSON.
      for (int tries = 0; tries < 64; ++tries) {
        const uint64_t at = pick(8, header_end);
        if (out[at] >= '0' && out[at] <= '9') {
          out[at] = static_cast<char>('0' + rng() % 10);
          break;
        }
      }
      break;
    }
    default:  // Append or drop data bytes.
      if (rng() % 2 == 0) {
        out.append(pick(1, 9), static_cast<char>(rng()));
      } else if (out.size() > header_end) {
        out.resize(pick(header_end, out.size()));
      }
  }
  return out;
}

TEST(Checkpoint, CorruptFilesGiveCleanErrorsAndChangeNothing) {
  const std::string base_path = TempPath("fuzz_base.safetensors");
  std::vector<Variable> vars = EveryDtype();
  ASSERT_TRUE(SaveVariables(base_path, vars).ok());
  const std::string base = ReadFile(base_path);
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) {
    header_size |= uint64_t{static_cast<unsigned char>(base[i])} << (8 * i);
  }

  const std::string path = TempPath("fuzz.safetensors");
  std::mt19937_64 rng(20261125);
  constexpr int kTrials = 4000;
  int errors = 0;
  int unexpected = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    WriteFile(path, Mutate(base, header_size, rng));
    AssignSentinels(vars);
    const std::vector<NDArray> before = Values(vars);
    absl::Status s = RestoreVariables(path, vars);
    if (s.ok()) {
      // A flip in the data section (or a harmless JSON edit) still loads;
      // every value keeps its variable's dtype and shape.
      for (const Variable& v : vars) {
        ASSERT_EQ(v.value().dtype(), v.dtype());
        ASSERT_EQ(v.value().shape(), v.shape());
      }
      // BOOL bytes are 0 or 1 (reading them is UB otherwise; UBSan checks).
      int trues = 0;
      for (bool b : vars[4].value().values<bool>()) trues += b ? 1 : 0;
      EXPECT_LE(trues, 3);
      continue;
    }
    ++errors;
    const bool clean =
        (s.code() == absl::StatusCode::kDataLoss ||
         s.code() == absl::StatusCode::kNotFound ||
         s.code() == absl::StatusCode::kInvalidArgument) &&
        absl::StartsWith(s.message(),
                         absl::StrCat("RestoreVariables('", path, "'): "));
    if (!clean) {
      ++unexpected;
      ADD_FAILURE() << "trial " << trial << ": " << s;
    }
    for (size_t i = 0; i < vars.size(); ++i) {
      ASSERT_TRUE(vars[i].value().Equals(before[i]))
          << "trial " << trial << " changed " << vars[i].name()
          << " although it failed: " << s;
    }
  }
  EXPECT_EQ(unexpected, 0);
  std::cout << errors << " of " << kTrials << " mutated files rejected\n";
  // Most mutations must be caught (the rest hit the data bytes).
  EXPECT_GT(errors, kTrials / 2) << errors << " errors in " << kTrials;
}

}  // namespace
}  // namespace weft
