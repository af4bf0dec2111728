// npy.h — reads and writes NumPy's `.npy` array files as weft::NDArray:
// ParseNpy / ReadNpy and SerializeNpy / WriteNpy.
//
//   absl::StatusOr<weft::NDArray> x = weft::ReadNpy("batch.npy");
//   absl::Status s = weft::WriteNpy(*x, "copy.npy");
//
// Supported: format versions 1.0, 2.0 and 3.0 (read; 1.0 written unless the
// header needs 2.0), C order, and every weft dtype: '<f4' float32, '<f8'
// float64, '<i4' int32, '<i8' int64, '|b1' bool (the descr strings NumPy
// writes on a little-endian machine; '=' and '|' byte orders are accepted
// where unambiguous). Fortran order, big-endian data and other dtypes are
// refused with a clear error; a malformed file is an error, never a crash.
#ifndef WEFT_GRAPH_NPY_H_
#define WEFT_GRAPH_NPY_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/ndarray.h"

namespace weft {

// The array in `contents` (a whole .npy file); `source` names it in errors.
// kInvalidArgument for anything malformed or unsupported.
[[nodiscard]] absl::StatusOr<NDArray> ParseNpy(std::string_view contents,
                                               std::string_view source);
// ParseNpy on the file at `path`. An unreadable file is "cannot open npy
// file '<path>': <reason>" with the errno's code (kNotFound, ...).
[[nodiscard]] absl::StatusOr<NDArray> ReadNpy(std::string_view path);

// The .npy bytes of `array` (which must be valid()).
[[nodiscard]] absl::StatusOr<std::string> SerializeNpy(const NDArray& array);
// Writes SerializeNpy(array) to `path` atomically (graph/file_io.h's
// WriteFileAtomically: a temporary file, fsync, rename, directory fsync),
// so a failed write leaves the previous file unchanged. I/O errors read
// "cannot write npy file '<path>': ..." with the errno's code
// (kResourceExhausted for a full disk, kPermissionDenied, kNotFound).
[[nodiscard]] absl::Status WriteNpy(const NDArray& array,
                                    std::string_view path);

}  // namespace weft

#endif  // WEFT_GRAPH_NPY_H_
