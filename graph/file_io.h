// file_io.h — weft's one file layer, shared by graph files (graph_io.cc),
// NPY files (npy.cc) and checkpoints (state/checkpoint.cc). It defines, in
// weft::internal:
//
//   ErrnoToStatusCode / ErrnoToStatus  the one map from an errno to an
//       absl::Status; messages name the operation, the path and the
//       system's text ("cannot open graph file 'g.pb': No such file or
//       directory").
//   WriteFileAtomically  the one way weft writes a file: a temporary file
//       in the same directory, every byte written, fsync, close, rename over
//       the path, fsync of the directory. Readers see the old file or the
//       whole new one, never a part; a failure before the rename leaves the
//       previous file untouched and removes the temporary file.
//   ReadFileToString, ReadOnlyFile  whole-file and positioned reads.
//   NDArrayBytes / DecodeNDArray / DecodeNDArrayFrom  the one NDArray byte
//       codec: an array's raw little-endian bytes, and bytes back into an
//       array of a dtype and shape with the size and bool checks. The codec
//       reports what is wrong as an NDArrayBytesError as well as a Status,
//       so each format words the error in its own terms ("content", "data
//       bytes", "BOOL entry").
//
//   std::string bytes = ...;
//   absl::StatusOr<NDArray> a = DecodeNDArray(DType::kFloat32, Shape{2, 3},
//                                             bytes);
//   absl::Status s = WriteFileAtomically(path, {header, NDArrayBytes(*a)});
//
// Thread safety: every function may be called concurrently (the only shared
// state is an atomic counter naming temporary files). Concurrent
// WriteFileAtomically calls for one path each write their own temporary
// file; the last rename wins and the file is always one whole version. A
// ReadOnlyFile's const methods may be called concurrently (pread).
#ifndef WEFT_GRAPH_FILE_IO_H_
#define WEFT_GRAPH_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/shape.h"

namespace weft::internal {

// ------------------------------------------------------------- errors --

// The status code for a system error:
//   ENOENT, ENOTDIR                                kNotFound
//   EACCES, EPERM, EROFS                           kPermissionDenied
//   ENOSPC, EDQUOT, EFBIG, EMFILE, ENFILE, ENOMEM  kResourceExhausted
//   EEXIST                                         kAlreadyExists
//   EISDIR                                         kFailedPrecondition
//   EINVAL, ENAMETOOLONG, ELOOP                    kInvalidArgument
//   anything else (EIO, EAGAIN, ...)               kUnavailable
[[nodiscard]] absl::StatusCode ErrnoToStatusCode(int err);

// A status of ErrnoToStatusCode(err) whose message is
// "<what> '<path>': <strerror(err)>", e.g. ErrnoToStatus(ENOENT, "cannot
// open graph file", "g.pb").
[[nodiscard]] absl::Status ErrnoToStatus(int err, std::string_view what,
                                         std::string_view path);

// -------------------------------------------------------------- write --

// Replaces the file at `path` with the concatenation of `pieces`:
// "<path>.tmp.<pid>.<n>" is created (O_EXCL, mode 0644 before the umask),
// every piece written, fsynced, closed and renamed over `path`; then the
// directory is fsynced so the rename survives a crash (EINVAL from a
// filesystem that cannot sync directories is ignored). Errors come from
// ErrnoToStatus and name the step and the file ("cannot create the
// temporary file '<tmp>': ...", "cannot write ...", "cannot fsync ...",
// "cannot close ...", "cannot rename the temporary file '<tmp>' to
// '<path>': ..."); after any of them the previous file at `path` (if any)
// is unchanged and the temporary file is removed. Only the directory fsync
// fails after the rename, and its message says so. A symbolic link at
// `path` is replaced by the file, not followed.
[[nodiscard]] absl::Status WriteFileAtomically(
    std::string_view path, absl::Span<const std::string_view> pieces);
[[nodiscard]] absl::Status WriteFileAtomically(std::string_view path,
                                               std::string_view contents);
[[nodiscard]] absl::Status WriteFileAtomically(
    std::string_view path, std::initializer_list<std::string_view> pieces);

// --------------------------------------------------------------- read --

// The whole file at `path` (read to its end, so pipes work too). `noun`
// names the file in errors: "cannot open <noun> '<path>': ...", "cannot
// read <noun> '<path>': ..." (ErrnoToStatus codes) and kInvalidArgument
// "<noun> '<path>' is a directory".
[[nodiscard]] absl::StatusOr<std::string> ReadFileToString(
    std::string_view path, std::string_view noun);

// An open file for positioned reads of a large file (a checkpoint) without
// reading it whole. Closed by the destructor; movable, not copyable.
class ReadOnlyFile {
 public:
  // Opens `path` for reading; errors as ReadFileToString's ("cannot open
  // <noun> '<path>': ..."). Any kind of file opens: check is_regular().
  [[nodiscard]] static absl::StatusOr<ReadOnlyFile> Open(std::string_view path,
                                                         std::string_view noun);

  ReadOnlyFile(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  const std::string& path() const { return path_; }
  // The size and kind when the file was opened.
  uint64_t size() const { return size_; }
  bool is_regular() const { return regular_; }

  // Reads `size` bytes at `offset` into `dst`: the number read, which is
  // less only at the end of the file, or "cannot read <noun> '<path>': ...".
  [[nodiscard]] absl::StatusOr<size_t> ReadAt(uint64_t offset, void* dst,
                                              size_t size) const;

 private:
  ReadOnlyFile(int fd, std::string path, std::string noun, uint64_t size,
               bool regular);

  int fd_ = -1;
  std::string path_;
  std::string noun_;
  uint64_t size_ = 0;
  bool regular_ = false;
};

// ------------------------------------------------------- NDArray codec --

// The bytes graph files, NPY files and checkpoints store for `array`: its
// elements in C order, little-endian (the host's order on every platform
// weft builds for; bool is one byte, 0 or 1). Empty for an invalid array.
// The view lives as long as the array's buffer.
[[nodiscard]] std::string_view NDArrayBytes(const NDArray& array);

// Why bytes do not decode as an NDArray, for messages in a format's terms.
struct NDArrayBytesError {
  enum class Kind {
    kShape,       // The shape is invalid or not concrete (`detail`).
    kSize,        // `bytes` is not `elements` x `element_size`.
    kAllocation,  // The array cannot be allocated (`detail`).
    kBool,        // Bool element `index` is the byte `value`, not 0 or 1.
    kSource,      // DecodeNDArrayFrom's fill failed (its status returned).
  };
  Kind kind = Kind::kShape;
  int64_t elements = 0;     // The shape's element count (kSize).
  size_t element_size = 0;  // DTypeSize(dtype) (kSize).
  uint64_t bytes = 0;       // The byte count given (kSize).
  uint64_t index = 0;       // kBool.
  int value = 0;            // kBool.
  std::string detail;       // kShape, kAllocation: the underlying message.
};

// The NDArray of `dtype` and `shape` whose bytes (as NDArrayBytes gives
// them) are `bytes`. Checked in this order: the shape is valid and concrete
// (kInvalidArgument), the byte count equals elements x DTypeSize (compared
// in elements first, so a huge shape cannot overflow; kInvalidArgument),
// every bool byte is 0 or 1 (kInvalidArgument), the allocation
// (NDArray::AllocateChecked's status). On failure `*error`, if given,
// receives the facts; the status message is a plain description
// ("float32[2] needs 2 elements of 4 byte(s) but 3 bytes were given").
[[nodiscard]] absl::StatusOr<NDArray> DecodeNDArray(
    DType dtype, const Shape& shape, std::string_view bytes,
    NDArrayBytesError* error = nullptr);

// Like DecodeNDArray for bytes that are not in memory yet: allocates the
// array, calls `fill(dst, size)` to write exactly its `size` bytes (read
// from a file), then checks bool bytes. A non-ok status from `fill` is
// returned unchanged (kind kSource).
[[nodiscard]] absl::StatusOr<NDArray> DecodeNDArrayFrom(
    DType dtype, const Shape& shape,
    absl::FunctionRef<absl::Status(void* dst, size_t size)> fill,
    NDArrayBytesError* error = nullptr);

}  // namespace weft::internal

#endif  // WEFT_GRAPH_FILE_IO_H_
