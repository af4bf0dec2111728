// Tests of the NPY reader and writer (graph/npy.h): round trips of every
// dtype, files as NumPy writes them (versions 1.0 and 2.0), and clean errors
// for malformed, Fortran-order, big-endian and unsupported files, plus a
// mutation fuzz.

#include "graph/npy.h"

#include <filesystem>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace weft {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A .npy file with `header` (a dict literal) as NumPy would write it.
std::string NpyFile(std::string header, const std::string& data,
                    int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  const size_t n = header.size();
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  if (major != 1) out.append(2, '\0');
  return out + header + data;
}

std::string Bytes(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

TEST(Npy, RoundTripsEveryDType) {
  std::vector<NDArray> arrays = {
      *NDArray::Create<float>({1.5f, -2, 3, 4, 5, 6}, Shape{2, 3}),
      NDArray::Vector<double>({0.25, -1e300}),
      NDArray::Scalar<int32_t>(-7),
      *NDArray::Create<int64_t>({int64_t{1} << 40, -3}, Shape{1, 2, 1}),
      NDArray::Vector<bool>({true, false, true}),
      *NDArray::Create<float>({}, Shape{0, 3}),
      NDArray::Vector<uint8_t>({0, 7, 255}),
      NDArray::Vector<int8_t>({-128, 0, 127}),
      NDArray::Vector<Float16>({Float16{0x3c00}, Float16{0xfbff}}),
  };
  for (const NDArray& a : arrays) {
    SCOPED_TRACE(a.DebugString());
    absl::StatusOr<std::string> bytes = SerializeNpy(a);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(bytes->find('\n') % 64, 63u);  // Data 64-byte aligned.
    absl::StatusOr<NDArray> back = ParseNpy(*bytes, "a.npy");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->Equals(a));
  }
  const std::string path = testing::TempPath("x.npy");
  ASSERT_TRUE(WriteNpy(arrays[0], path).ok());
  absl::StatusOr<NDArray> read = ReadNpy(path);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->Equals(arrays[0]));
}

TEST(Npy, ReadsFilesAsNumpyWritesThem) {
  const float f[] = {1, 2, 3, 4, 5, 6};
  absl::StatusOr<NDArray> a = ParseNpy(
      NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              Bytes(f, sizeof(f))),
      "f.npy");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->shape(), (Shape{2, 3}));
  EXPECT_EQ(a->values<float>()[5], 6);
  // Version 2.0, a scalar, a 1-tuple, and keys in another order.
  const int64_t i = -9;
  a = ParseNpy(NpyFile("{'shape': (), 'fortran_order': False, 'descr': '<i8'}",
                       Bytes(&i, 8), 2),
               "i.npy");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->values<int64_t>()[0], -9);
  const bool b[] = {true, false};
  a = ParseNpy(
      NpyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
              Bytes(b, 2)),
      "b.npy");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->dtype(), DType::kBool);
  const double d[] = {1};
  a = ParseNpy(
      NpyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1L,), }",
              Bytes(d, 8)),
      "d.npy");
  EXPECT_TRUE(a.ok()) << a.status();
}

TEST(Npy, RefusesWhatWeftCannotRead) {
  const float f[] = {1, 2};
  auto parse = [&](std::string header, std::string data = std::string(8, 0)) {
    return std::string(
        ParseNpy(NpyFile(header, data), "x.npy").status().message());
  };
  EXPECT_THAT(parse("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }"),
              HasSubstr("npy file 'x.npy': fortran_order is True; weft reads "
                        "C-order arrays only"));
  EXPECT_THAT(
      parse("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"),
      HasSubstr("unsupported dtype '>f4'"));
  EXPECT_THAT(
      parse("{'descr': '<u2', 'fortran_order': False, 'shape': (4,), }"),
      HasSubstr("unsupported dtype '<u2'"));
  EXPECT_THAT(
      parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"),
      HasSubstr("shape [3] of float32 needs 3 elements but the file "
                "holds 8 data bytes"));
  EXPECT_THAT(
      parse("{'descr': '<f4', 'fortran_order': False}"),
      HasSubstr("the header needs 'descr', 'fortran_order' and 'shape'"));
  EXPECT_THAT(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                    "'extra': 1}"),
              HasSubstr("unsupported value for key 'extra'"));
  EXPECT_THAT(parse("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                    "'descr': '<f4'}"),
              HasSubstr("repeated header key 'descr'"));
  EXPECT_THAT(parse("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }",
                    "\x05"),
              HasSubstr("bool element 0 is 5, not 0 or 1"));
  EXPECT_THAT(parse("[1, 2]"), HasSubstr("malformed header"));
  EXPECT_THAT(std::string(ParseNpy("hello", "h.npy").status().message()),
              HasSubstr("not a .npy file"));
  std::string v9 = NpyFile("{}", "");
  v9[6] = 9;
  EXPECT_THAT(std::string(ParseNpy(v9, "v.npy").status().message()),
              HasSubstr("unsupported format version 9.0"));
  std::string good = NpyFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Bytes(f, 8));
  EXPECT_THAT(
      std::string(ParseNpy(good.substr(0, 9), "t.npy").status().message()),
      HasSubstr("truncated header length"));
  EXPECT_THAT(
      std::string(ParseNpy(good.substr(0, 40), "t.npy").status().message()),
      HasSubstr("truncated header"));
  EXPECT_EQ(ReadNpy("/nonexistent/a.npy").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(SerializeNpy(NDArray()).ok());
}

TEST(Npy, FileErrorsNameThePathTheReasonAndHaveTheErrnoCode) {
  const std::string missing_dir = testing::TempPath("no/x.npy");
  absl::Status s = WriteNpy(NDArray::Scalar<float>(1), missing_dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(
      std::string(s.message()),
      AllOf(StartsWith(absl::StrCat("cannot write npy file '", missing_dir,
                                    "': cannot create "
                                    "the temporary file '",
                                    missing_dir, ".tmp.")),
            HasSubstr("No such file or directory")));
  absl::Status r = ReadNpy(missing_dir).status();
  EXPECT_EQ(r.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.message(), absl::StrCat("cannot open npy file '", missing_dir,
                                      "': No such file or directory"));
  r = ReadNpy(::testing::TempDir()).status();
  EXPECT_EQ(r.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.message()), HasSubstr("' is a directory"));
}

TEST(Npy, WriteReplacesTheFileAtomically) {
  const std::string path = testing::TempPath("replace.npy");
  ASSERT_TRUE(
      WriteNpy(NDArray::Vector<double>(std::vector<double>(1000, 2.5)), path)
          .ok());
  const NDArray small = NDArray::Vector<int32_t>({1, 2, 3});
  ASSERT_TRUE(WriteNpy(small, path).ok());
  absl::StatusOr<NDArray> back = ReadNpy(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(small));  // No tail of the longer file remains.
  EXPECT_EQ(std::filesystem::file_size(path), SerializeNpy(small)->size());
}

TEST(Npy, MutatedFilesNeverCrash) {
  const float f[] = {1, 2, 3, 4, 5, 6};
  const std::string good =
      NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
              Bytes(f, sizeof(f)));
  std::mt19937 rng(7);
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = good;
    switch (i % 3) {
      case 0:
        m.resize(rng() % m.size());
        break;
      case 1:
        for (int k = 1 + rng() % 4; k > 0; --k) {
          m[rng() % m.size()] ^= static_cast<char>(1 << (rng() % 8));
        }
        break;
      default:  // Random bytes in the header.
        m[rng() % 80] = static_cast<char>(rng());
    }
    absl::StatusOr<NDArray> a = ParseNpy(m, "m.npy");
    if (a.ok()) {
      ++ok;
      EXPECT_EQ(a->num_bytes() % 4, 0u);
    } else {
      EXPECT_THAT(std::string(a.status().message()), HasSubstr("'m.npy'"));
    }
  }
  EXPECT_LT(ok, 20000);
}

}  // namespace
}  // namespace weft
