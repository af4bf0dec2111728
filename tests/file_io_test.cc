// Tests of the file layer (graph/file_io.h): the errno -> Status map, the
// atomic write, reads, the NDArray byte codec, and fault tests of the three
// writers built on it (SaveGraph, SaveVariables, WriteNpy): a full
// filesystem (RLIMIT_FSIZE in a forked child, and a tiny tmpfs where one can
// be mounted), a read-only directory (as root, the forked child drops
// CAP_DAC_OVERRIDE so the directory's mode applies), a file where the
// directory should be, and that a failed write leaves the previous file
// intact with no temporary file behind.
#include "graph/file_io.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "graph/graph.h"
#include "graph/graph_io.h"
#include "graph/npy.h"
#include "graph/ops.h"
#include "gtest/gtest.h"
#include "state/checkpoint.h"
#include "state/variable.h"
#include "tests/testing/files.h"

namespace weft {
namespace {

using ::testing::AllOf;
using testing::FilesIn;
using testing::FreshDir;
using ::testing::HasSubstr;
using testing::ReadFile;
using ::testing::StartsWith;
using testing::TempPath;
using ::testing::UnorderedElementsAre;

// ------------------------------------------------------------- errno map --

TEST(ErrnoToStatus, MapsEachErrnoToOneCode) {
  using internal::ErrnoToStatusCode;
  for (int err : {ENOSPC, EDQUOT, EFBIG, EMFILE, ENFILE, ENOMEM}) {
    EXPECT_EQ(ErrnoToStatusCode(err), absl::StatusCode::kResourceExhausted)
        << std::strerror(err);
  }
  for (int err : {ENOENT, ENOTDIR}) {
    EXPECT_EQ(ErrnoToStatusCode(err), absl::StatusCode::kNotFound);
  }
  for (int err : {EACCES, EPERM, EROFS}) {
    EXPECT_EQ(ErrnoToStatusCode(err), absl::StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(ErrnoToStatusCode(EEXIST), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoToStatusCode(EISDIR), absl::StatusCode::kFailedPrecondition);
  for (int err : {EINVAL, ENAMETOOLONG, ELOOP}) {
    EXPECT_EQ(ErrnoToStatusCode(err), absl::StatusCode::kInvalidArgument);
  }
  for (int err : {EIO, EAGAIN, EBUSY}) {
    EXPECT_EQ(ErrnoToStatusCode(err), absl::StatusCode::kUnavailable);
  }
}

TEST(ErrnoToStatus, MessageNamesTheOperationThePathAndTheSystemText) {
  absl::Status s =
      internal::ErrnoToStatus(ENOSPC, "cannot write the file", "/d/x.pb");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "cannot write the file '/d/x.pb': No space left on device");
  s = internal::ErrnoToStatus(EDQUOT, "cannot write the file", "q");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr(std::strerror(EDQUOT)));
}

// ---------------------------------------------------------- atomic write --

TEST(WriteFileAtomically, WritesEveryPieceAndLeavesNoTemporaryFile) {
  const std::string dir = FreshDir("pieces");
  const std::string path = dir + "/f.bin";
  ASSERT_TRUE(internal::WriteFileAtomically(path, {"ab", "", "cde"}).ok());
  EXPECT_EQ(ReadFile(path), "abcde");
  ASSERT_TRUE(
      internal::WriteFileAtomically(path, std::string(1 << 20, 'x')).ok());
  EXPECT_EQ(ReadFile(path), std::string(1 << 20, 'x'));
  ASSERT_TRUE(internal::WriteFileAtomically(path, "").ok());
  EXPECT_EQ(ReadFile(path), "");
  EXPECT_THAT(FilesIn(dir), UnorderedElementsAre("f.bin"));
}

TEST(WriteFileAtomically, RelativePathsUseTheWorkingDirectory) {
  const std::string dir = FreshDir("relative");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  absl::Status s = internal::WriteFileAtomically("rel.txt", "r");
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadFile(dir + "/rel.txt"), "r");
}

TEST(WriteFileAtomically, ReadersSeeOneWholeVersionUnderConcurrentWriters) {
  const std::string dir = FreshDir("concurrent");
  const std::string path = dir + "/v.txt";
  // Version k is k+1 copies of the letter 'a'+k: a torn file is detectable.
  auto version = [](int k) {
    return std::string(static_cast<size_t>(4096 * (k + 1)),
                       static_cast<char>('a' + k));
  };
  ASSERT_TRUE(internal::WriteFileAtomically(path, version(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      const std::string got = ReadFile(path);
      const bool whole = !got.empty() && got.size() % 4096 == 0 &&
                         got == version(got[0] - 'a');
      if (!whole) ++torn;
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        if (!internal::WriteFileAtomically(path, version((w * 25 + i) % 8))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_THAT(FilesIn(dir), UnorderedElementsAre("v.txt"));
}

// ------------------------------------------------------------------ reads --

TEST(ReadFileToString, ErrorsNameTheFileTheReasonAndHaveTheErrnoCode) {
  absl::StatusOr<std::string> r =
      internal::ReadFileToString(TempPath("absent.bin"), "graph file");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(),
              AllOf(StartsWith("cannot open graph file '"),
                    HasSubstr("absent.bin': No such file or directory")));
  r = internal::ReadFileToString(::testing::TempDir(), "npy file");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              AllOf(StartsWith("npy file '"), HasSubstr("' is a directory")));
  const std::string path = TempPath("whole.bin");
  ASSERT_TRUE(
      internal::WriteFileAtomically(path, std::string(200000, 'w')).ok());
  r = internal::ReadFileToString(path, "file");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, std::string(200000, 'w'));
}

TEST(ReadOnlyFile, ReadsAtOffsetsAndShortAtTheEnd) {
  const std::string path = TempPath("ranges.bin");
  ASSERT_TRUE(internal::WriteFileAtomically(path, "0123456789").ok());
  absl::StatusOr<internal::ReadOnlyFile> f =
      internal::ReadOnlyFile::Open(path, "the file");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->size(), 10u);
  EXPECT_TRUE(f->is_regular());
  char buf[8];
  absl::StatusOr<size_t> n = f->ReadAt(3, buf, 4);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(std::string(buf, 4), "3456");
  n = f->ReadAt(8, buf, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  internal::ReadOnlyFile moved = *std::move(f);
  EXPECT_EQ(moved.path(), path);
  n = moved.ReadAt(0, buf, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf[0], '0');

  absl::StatusOr<internal::ReadOnlyFile> dir =
      internal::ReadOnlyFile::Open(::testing::TempDir(), "the file");
  ASSERT_TRUE(dir.ok());
  EXPECT_FALSE(dir->is_regular());
  EXPECT_EQ(internal::ReadOnlyFile::Open(TempPath("nope"), "the file")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------- NDArray codec --

TEST(NDArrayCodec, RoundTripsEveryDType) {
  const std::vector<NDArray> arrays = {
      *NDArray::Create<float>({1.5f, -2, 3, 4, 5, 6}, Shape{2, 3}),
      NDArray::Vector<double>({0.25, -1e300}),
      NDArray::Scalar<int32_t>(-7),
      *NDArray::Create<int64_t>({int64_t{1} << 40, -3}, Shape{1, 2, 1}),
      NDArray::Vector<bool>({true, false, true}),
      *NDArray::Create<float>({}, Shape{0, 3}),
  };
  for (const NDArray& a : arrays) {
    SCOPED_TRACE(a.DebugString());
    const std::string_view bytes = internal::NDArrayBytes(a);
    EXPECT_EQ(bytes.size(), a.num_bytes());
    absl::StatusOr<NDArray> back =
        internal::DecodeNDArray(a.dtype(), a.shape(), bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->Equals(a));
    back = internal::DecodeNDArrayFrom(a.dtype(), a.shape(),
                                       [&](void* dst, size_t size) {
                                         EXPECT_EQ(size, bytes.size());
                                         std::memcpy(dst, bytes.data(), size);
                                         return absl::OkStatus();
                                       });
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->Equals(a));
  }
  // Little-endian on every host weft builds for.
  EXPECT_EQ(internal::NDArrayBytes(NDArray::Scalar<int32_t>(0x01020304)),
            std::string_view("\x04\x03\x02\x01", 4));
  EXPECT_TRUE(internal::NDArrayBytes(NDArray()).empty());
}

TEST(NDArrayCodec, RefusesAByteCountThatDoesNotMatchTheShape) {
  internal::NDArrayBytesError why;
  absl::StatusOr<NDArray> a =
      internal::DecodeNDArray(DType::kFloat32, Shape{2}, "abc", &why);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(),
            "float32[2] needs 2 elements of 4 byte(s) but 3 bytes were given");
  EXPECT_EQ(why.kind, internal::NDArrayBytesError::Kind::kSize);
  EXPECT_EQ(why.elements, 2);
  EXPECT_EQ(why.element_size, 4u);
  EXPECT_EQ(why.bytes, 3u);
  // A shape whose byte count overflows is compared in elements: no wrap.
  a = internal::DecodeNDArray(DType::kInt64, Shape{int64_t{1} << 61},
                              std::string(8, '\0'), &why);
  EXPECT_FALSE(a.ok());
}

TEST(NDArrayCodec, RefusesBoolBytesOtherThanZeroOrOne) {
  internal::NDArrayBytesError why;
  absl::StatusOr<NDArray> a = internal::DecodeNDArray(
      DType::kBool, Shape{3}, std::string("\x01\x00\x07", 3), &why);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(), "bool element 2 is the byte 7, not 0 or 1");
  EXPECT_EQ(why.kind, internal::NDArrayBytesError::Kind::kBool);
  EXPECT_EQ(why.index, 2u);
  EXPECT_EQ(why.value, 7);
  a = internal::DecodeNDArrayFrom(
      DType::kBool, Shape{2},
      [](void* dst, size_t) {
        static_cast<unsigned char*>(dst)[0] = 0;
        static_cast<unsigned char*>(dst)[1] = 2;
        return absl::OkStatus();
      },
      &why);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(why.kind, internal::NDArrayBytesError::Kind::kBool);
  EXPECT_EQ(why.index, 1u);
}

TEST(NDArrayCodec, RefusesAShapeThatIsNotConcrete) {
  internal::NDArrayBytesError why;
  absl::StatusOr<NDArray> a =
      internal::DecodeNDArray(DType::kFloat32, Shape{-1, 2}, "", &why);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(why.kind, internal::NDArrayBytesError::Kind::kShape);
  EXPECT_FALSE(why.detail.empty());
}

TEST(NDArrayCodec, DecodeFromReturnsTheFillError) {
  internal::NDArrayBytesError why;
  absl::StatusOr<NDArray> a = internal::DecodeNDArrayFrom(
      DType::kInt32, Shape{4},
      [](void*, size_t size) {
        return absl::DataLossError(absl::StrCat("short by ", size));
      },
      &why);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(a.status().message(), "short by 16");
  EXPECT_EQ(why.kind, internal::NDArrayBytesError::Kind::kSource);
}

// ------------------------------------------------------------ fault tests --

// One of the three writers built on WriteFileAtomically. `Write(path,
// big)` writes a small (under 1 KiB) or a big (1 MiB) array to `path`.
struct Writer {
  std::string name;
  std::string file;    // The file name, with the writer's extension.
  std::string prefix;  // How the writer's I/O errors start.
  std::function<absl::Status(const std::string& path, bool big)> write;
};

NDArray Floats(bool big) {
  const size_t n = big ? (1 << 18) : 16;
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return *NDArray::Create<float>(v, Shape{static_cast<int64_t>(n)});
}

std::vector<Writer> Writers() {
  return {
      {"SaveGraph", "g.pb", "cannot write graph file '",
       [](const std::string& path, bool big) {
         Graph g = Graph::Create("g");
         EXPECT_TRUE(ops::Const(Floats(big), {.graph = g}).ok());
         return SaveGraph(g, path);
       }},
      {"SaveVariables", "v.safetensors", "SaveVariables('",
       [](const std::string& path, bool big) {
         absl::StatusOr<Variable> v = Variable::Create("w", Floats(big));
         EXPECT_TRUE(v.ok());
         return SaveVariables(path, {*v});
       }},
      {"WriteNpy", "a.npy", "cannot write npy file '",
       [](const std::string& path, bool big) {
         return WriteNpy(Floats(big), path);
       }},
  };
}

// Runs `setup` and then `body` in a forked child and returns body's status
// (or setup's error, its message starting "setup: "). The child changes
// only itself: its limits, capabilities or mount namespace.
absl::Status InChild(const std::function<absl::Status()>& setup,
                     const std::function<absl::Status()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return absl::InternalError("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    absl::Status s = setup();
    if (!s.ok()) {
      s = absl::Status(s.code(), absl::StrCat("setup: ", s.message()));
    } else {
      s = body();
    }
    const std::string out =
        absl::StrCat(static_cast<int>(s.code()), " ", s.message());
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t w = ::write(fds[1], out.data() + done, out.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string in;
  char buf[4096];
  ssize_t r;
  while ((r = ::read(fds[0], buf, sizeof(buf))) > 0) in.append(buf, r);
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return absl::InternalError(absl::StrCat("the child died: ", wstatus));
  }
  const size_t space = in.find(' ');
  int code = 0;
  if (space == std::string::npos ||
      !absl::SimpleAtoi(in.substr(0, space), &code)) {
    return absl::InternalError(absl::StrCat("bad child report: ", in));
  }
  return absl::Status(static_cast<absl::StatusCode>(code),
                      in.substr(space + 1));
}

// A full filesystem: writes past `bytes` fail with EFBIG (SIGXFSZ is
// ignored, so write() returns the error instead of killing the process).
absl::Status LimitFileSize(rlim_t bytes) {
  std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit;
  if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) {
    return absl::InternalError("getrlimit failed");
  }
  limit.rlim_cur = bytes;
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("setrlimit: ", strerror(errno)));
  }
  return absl::OkStatus();
}

// Makes `dir` unwritable for this process. chmod alone does not stop root
// (CAP_DAC_OVERRIDE), so as root the capability is dropped from the
// effective set; either way the result is checked by trying to create a
// file in `dir`.
absl::Status MakeUnwritable(const std::string& dir) {
  if (::geteuid() == 0) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) {
      return absl::InternalError(absl::StrCat("capget: ", strerror(errno)));
    }
    for (int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
      data[cap / 32].effective &= ~(1u << (cap % 32));
    }
    if (::syscall(SYS_capset, &header, data) != 0) {
      return absl::InternalError(absl::StrCat("capset: ", strerror(errno)));
    }
  }
  const std::string probe = dir + "/probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
    return absl::InternalError(absl::StrCat(dir, " is still writable"));
  }
  if (errno != EACCES) {
    return absl::InternalError(absl::StrCat("probe: ", strerror(errno)));
  }
  return absl::OkStatus();
}

TEST(WriteFileAtomically,
     FullFilesystemFailsWithResourceExhaustedAndKeepsThePrevious) {
  for (const Writer& w : Writers()) {
    SCOPED_TRACE(w.name);
    const std::string dir = FreshDir(absl::StrCat("full_", w.name));
    const std::string path = absl::StrCat(dir, "/", w.file);
    ASSERT_TRUE(w.write(path, /*big=*/false).ok());
    const std::string before = ReadFile(path);
    ASSERT_LT(before.size(), 64u << 10);

    absl::Status s = InChild([] { return LimitFileSize(64 << 10); },
                             [&] { return w.write(path, /*big=*/true); });
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_THAT(s.message(),
                AllOf(StartsWith(absl::StrCat(w.prefix, path, "'")),
                      HasSubstr(absl::StrCat("cannot write the temporary "
                                             "file '",
                                             path, ".tmp.")),
                      HasSubstr(std::strerror(EFBIG))));
    EXPECT_EQ(ReadFile(path), before);
    EXPECT_THAT(FilesIn(dir), UnorderedElementsAre(w.file));
    // The same writer succeeds without the limit.
    ASSERT_TRUE(w.write(path, /*big=*/true).ok());
    EXPECT_GT(ReadFile(path).size(), 1u << 20);
  }
}

TEST(WriteFileAtomically, NoSpaceOnATinyTmpfsKeepsThePrevious) {
  const std::string dir = FreshDir("tmpfs");
  auto mount_tmpfs = [&]() -> absl::Status {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot mount a tmpfs: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  };
  for (const Writer& w : Writers()) {
    SCOPED_TRACE(w.name);
    const std::string path = absl::StrCat(dir, "/", w.file);
    // Everything happens in the child's mount namespace: the previous file
    // is written and checked there.
    absl::Status s = InChild(mount_tmpfs, [&]() -> absl::Status {
      if (absl::Status p = w.write(path, /*big=*/false); !p.ok()) {
        return absl::InternalError(absl::StrCat("previous: ", p.ToString()));
      }
      const std::string before = ReadFile(path);
      absl::Status big = w.write(path, /*big=*/true);
      if (ReadFile(path) != before) {
        return absl::InternalError("the previous file changed");
      }
      if (FilesIn(dir) != std::vector<std::string>{w.file}) {
        return absl::InternalError("a temporary file was left behind");
      }
      return big;
    });
    if (absl::StartsWith(s.message(), "setup: ")) {
      GTEST_SKIP() << s << " (FullFilesystem... covers a full filesystem "
                   << "with RLIMIT_FSIZE)";
    }
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_THAT(s.message(),
                AllOf(StartsWith(absl::StrCat(w.prefix, path, "'")),
                      HasSubstr("cannot write the temporary file"),
                      HasSubstr(std::strerror(ENOSPC))));
  }
}

TEST(WriteFileAtomically,
     ReadOnlyDirectoryFailsWithPermissionDeniedAndKeepsThePrevious) {
  for (const Writer& w : Writers()) {
    SCOPED_TRACE(w.name);
    const std::string dir = FreshDir(absl::StrCat("readonly_", w.name));
    const std::string path = absl::StrCat(dir, "/", w.file);
    ASSERT_TRUE(w.write(path, /*big=*/false).ok());
    const std::string before = ReadFile(path);
    ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);

    absl::Status s = InChild([&] { return MakeUnwritable(dir); },
                             [&] { return w.write(path, /*big=*/true); });
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
    EXPECT_THAT(s.message(),
                AllOf(StartsWith(absl::StrCat(w.prefix, path, "'")),
                      HasSubstr(absl::StrCat(
                          "cannot create the temporary file '", path, ".tmp.")),
                      HasSubstr("Permission denied")));
    EXPECT_EQ(ReadFile(path), before);
    EXPECT_THAT(FilesIn(dir), UnorderedElementsAre(w.file));
  }
}

TEST(WriteFileAtomically, AFileInPlaceOfTheDirectoryFailsWithNotFound) {
  const std::string dir = FreshDir("notadir");
  const std::string blocker = dir + "/plain";
  ASSERT_TRUE(internal::WriteFileAtomically(blocker, "not a directory").ok());
  for (const Writer& w : Writers()) {
    SCOPED_TRACE(w.name);
    const std::string path = absl::StrCat(blocker, "/", w.file);
    absl::Status s = w.write(path, /*big=*/false);
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_THAT(s.message(),
                AllOf(StartsWith(absl::StrCat(w.prefix, path, "'")),
                      HasSubstr("cannot create the temporary file"),
                      HasSubstr("Not a directory")));
  }
  EXPECT_EQ(ReadFile(blocker), "not a directory");
  EXPECT_THAT(FilesIn(dir), UnorderedElementsAre("plain"));
}

TEST(WriteFileAtomically, AReplacedFileIsWholeAndTheOnlyFileLeft) {
  for (const Writer& w : Writers()) {
    SCOPED_TRACE(w.name);
    const std::string dir = FreshDir(absl::StrCat("replace_", w.name));
    const std::string path = absl::StrCat(dir, "/", w.file);
    ASSERT_TRUE(w.write(path, /*big=*/true).ok());
    const std::string big = ReadFile(path);
    ASSERT_TRUE(w.write(path, /*big=*/false).ok());
    const std::string small = ReadFile(path);
    EXPECT_LT(small.size(), big.size());  // Replaced, not overwritten.
    EXPECT_THAT(FilesIn(dir), UnorderedElementsAre(w.file));
  }
}

}  // namespace
}  // namespace weft
