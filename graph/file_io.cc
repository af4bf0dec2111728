#include "graph/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "graph/error_util.h"
#include "graph/errors.h"

namespace weft::internal {
namespace {

// NDArrays are stored as their raw bytes, which are little-endian on every
// platform weft builds for.
static_assert(std::endian::native == std::endian::little,
              "weft's files hold raw little-endian bytes; add byte swapping "
              "for a big-endian host");

// Closes a file descriptor on scope exit unless Close() was called.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // Closes now; 0, or -1 with errno set (close reports deferred write
  // errors on some filesystems).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Writes all of `data`; false with errno set on failure.
bool WriteAll(int fd, std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string TemporaryPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(path, ".tmp.", ::getpid(), ".", counter.fetch_add(1));
}

// Writes `pieces` to the new file `tmp`, fsyncs and closes it.
absl::Status WriteTemporaryFile(const std::string& tmp,
                                absl::Span<const std::string_view> pieces) {
  const int raw =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (raw < 0) {
    return ErrnoToStatus(errno, "cannot create the temporary file", tmp);
  }
  ScopedFd fd(raw);
  for (std::string_view piece : pieces) {
    if (!WriteAll(fd.get(), piece)) {
      return ErrnoToStatus(errno, "cannot write the temporary file", tmp);
    }
  }
  if (::fsync(fd.get()) != 0) {
    return ErrnoToStatus(errno, "cannot fsync the temporary file", tmp);
  }
  if (fd.Close() != 0) {
    return ErrnoToStatus(errno, "cannot close the temporary file", tmp);
  }
  return absl::OkStatus();
}

// Makes a rename in the directory of `path` durable.
absl::Status SyncDirectoryOf(const std::string& path) {
  const std::string dir = DirectoryOf(path);
  const int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) {
    return ErrnoToStatus(
        errno,
        absl::StrCat("renamed the temporary file over ", Quoted(path),
                     " but cannot open its directory for fsync"),
        dir);
  }
  ScopedFd fd(raw);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return ErrnoToStatus(
        errno,
        absl::StrCat("renamed the temporary file over ", Quoted(path),
                     " but cannot fsync its directory"),
        dir);
  }
  return absl::OkStatus();
}

// The first bool byte other than 0 or 1 in `bytes`, if any.
bool FindBadBool(const unsigned char* bytes, size_t size,
                 NDArrayBytesError& error) {
  for (size_t i = 0; i < size; ++i) {
    if (bytes[i] > 1) {
      error.kind = NDArrayBytesError::Kind::kBool;
      error.index = i;
      error.value = bytes[i];
      return true;
    }
  }
  return false;
}

absl::Status BadBoolStatus(const NDArrayBytesError& e) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bool element ", e.index, " is the byte ", e.value, ", not 0 or 1"));
}

// The array of `dtype` and `shape`, allocated (checked), or an error.
absl::StatusOr<NDArray> Allocate(DType dtype, const Shape& shape,
                                 NDArrayBytesError& error) {
  if (absl::Status s = shape.ValidateConcrete(); !s.ok()) {
    error.kind = NDArrayBytesError::Kind::kShape;
    error.detail = std::string(s.message());
    return s;
  }
  absl::StatusOr<NDArray> array = NDArray::AllocateChecked(dtype, shape);
  if (!array.ok()) {
    error.kind = NDArrayBytesError::Kind::kAllocation;
    error.detail = std::string(array.status().message());
  }
  return array;
}

}  // namespace

// ------------------------------------------------------------- errors --

absl::StatusCode ErrnoToStatusCode(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kResourceExhausted;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EISDIR:
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

absl::Status ErrnoToStatus(int err, std::string_view what,
                           std::string_view path) {
  return absl::Status(
      ErrnoToStatusCode(err),
      absl::StrCat(what, " ", Quoted(path), ": ", std::strerror(err)));
}

// -------------------------------------------------------------- write --

absl::Status WriteFileAtomically(std::string_view path,
                                 absl::Span<const std::string_view> pieces) {
  const std::string target(path);
  const std::string tmp = TemporaryPathFor(target);
  if (absl::Status s = WriteTemporaryFile(tmp, pieces); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoToStatus(
        err,
        absl::StrCat("cannot rename the temporary file ", Quoted(tmp), " to"),
        target);
  }
  return SyncDirectoryOf(target);
}

absl::Status WriteFileAtomically(std::string_view path,
                                 std::string_view contents) {
  return WriteFileAtomically(path, absl::MakeConstSpan(&contents, 1));
}

absl::Status WriteFileAtomically(
    std::string_view path, std::initializer_list<std::string_view> pieces) {
  return WriteFileAtomically(
      path, absl::Span<const std::string_view>(pieces.begin(), pieces.size()));
}

// --------------------------------------------------------------- read --

ReadOnlyFile::ReadOnlyFile(int fd, std::string path, std::string noun,
                           uint64_t size, bool regular)
    : fd_(fd),
      path_(std::move(path)),
      noun_(std::move(noun)),
      size_(size),
      regular_(regular) {}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      noun_(std::move(other.noun_)),
      size_(other.size_),
      regular_(other.regular_) {}

ReadOnlyFile& ReadOnlyFile::operator=(ReadOnlyFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    noun_ = std::move(other.noun_);
    size_ = other.size_;
    regular_ = other.regular_;
  }
  return *this;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<ReadOnlyFile> ReadOnlyFile::Open(std::string_view path,
                                                std::string_view noun) {
  const std::string p(path);
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoToStatus(errno, absl::StrCat("cannot open ", noun), path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, absl::StrCat("cannot stat ", noun), path);
  }
  return ReadOnlyFile(fd, p, std::string(noun),
                      static_cast<uint64_t>(st.st_size), S_ISREG(st.st_mode));
}

absl::StatusOr<size_t> ReadOnlyFile::ReadAt(uint64_t offset, void* dst,
                                            size_t size) const {
  char* p = static_cast<char*>(dst);
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd_, p + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, absl::StrCat("cannot read ", noun_), path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::StatusOr<std::string> ReadFileToString(std::string_view path,
                                             std::string_view noun) {
  const std::string p(path);
  const int raw = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    return ErrnoToStatus(errno, absl::StrCat("cannot open ", noun), path);
  }
  ScopedFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(noun, " ", Quoted(path), " is a directory"));
  }
  // Sequential reads to the end: pipes and character devices work too.
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t r = ::read(fd.get(), buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      return ErrnoToStatus(errno, absl::StrCat("cannot read ", noun), path);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// ------------------------------------------------------- NDArray codec --

std::string_view NDArrayBytes(const NDArray& array) {
  if (!array.valid()) return {};
  return std::string_view(static_cast<const char*>(array.raw_data()),
                          array.num_bytes());
}

absl::StatusOr<NDArray> DecodeNDArray(DType dtype, const Shape& shape,
                                      std::string_view bytes,
                                      NDArrayBytesError* error) {
  NDArrayBytesError local;
  NDArrayBytesError& e = error != nullptr ? *error : local;
  if (absl::Status s = shape.ValidateConcrete(); !s.ok()) {
    e.kind = NDArrayBytesError::Kind::kShape;
    e.detail = std::string(s.message());
    return s;
  }
  // Compared in elements first: a huge shape cannot overflow the byte
  // count.
  const size_t elem = DTypeSize(dtype);
  const uint64_t have = bytes.size();
  if (have % elem != 0 ||
      static_cast<uint64_t>(shape.num_elements()) != have / elem) {
    e.kind = NDArrayBytesError::Kind::kSize;
    e.elements = shape.num_elements();
    e.element_size = elem;
    e.bytes = have;
    return absl::InvalidArgumentError(absl::StrCat(
        DTypeName(dtype), shape.DebugString(), " needs ", e.elements,
        " elements of ", elem, " byte(s) but ", have, " bytes were given"));
  }
  if (dtype == DType::kBool &&
      FindBadBool(reinterpret_cast<const unsigned char*>(bytes.data()), have,
                  e)) {
    return BadBoolStatus(e);
  }
  absl::StatusOr<NDArray> array = Allocate(dtype, shape, e);
  if (!array.ok()) return array.status();
  if (have > 0) std::memcpy(array->mutable_raw_data(), bytes.data(), have);
  return array;
}

absl::StatusOr<NDArray> DecodeNDArrayFrom(
    DType dtype, const Shape& shape,
    absl::FunctionRef<absl::Status(void* dst, size_t size)> fill,
    NDArrayBytesError* error) {
  NDArrayBytesError local;
  NDArrayBytesError& e = error != nullptr ? *error : local;
  absl::StatusOr<NDArray> array = Allocate(dtype, shape, e);
  if (!array.ok()) return array.status();
  const size_t size = array->num_bytes();
  if (size == 0) return array;
  if (absl::Status s = fill(array->mutable_raw_data(), size); !s.ok()) {
    e.kind = NDArrayBytesError::Kind::kSource;
    return s;
  }
  if (dtype == DType::kBool &&
      FindBadBool(static_cast<const unsigned char*>(array->raw_data()), size,
                  e)) {
    return BadBoolStatus(e);
  }
  return array;
}

}  // namespace weft::internal
