// checkpoint.h — defines weft::SaveVariables and weft::RestoreVariables,
// which write and read the values of variables as a safetensors file.
//
//   std::vector<Variable> vars = {w, b};
//   absl::Status s = SaveVariables("/tmp/model.safetensors", vars);
//   ...
//   s = RestoreVariables("/tmp/model.safetensors", vars);  // All or nothing.
//
// The file layout (https://github.com/huggingface/safetensors):
//   8 bytes    N, the header length, unsigned little-endian
//   N bytes    a JSON object: one entry per tensor,
//                "name": {"dtype": "F32", "shape": [2, 3],
//                         "data_offsets": [begin, end]}
//              and optionally "__metadata__": {"key": "value", ...}
//   the rest   the tensors' raw little-endian bytes; offsets are relative to
//              the start of this section, and the entries cover it exactly,
//              without gaps or overlaps.
// weft's dtype tags: F32, F64, I32, I64, BOOL (one byte, 0 or 1). Entries of
// other standard tags (F16, BF16, U8, ...) may be present in a file and are
// checked for consistency, but no variable can be restored from them.
#ifndef WEFT_STATE_CHECKPOINT_H_
#define WEFT_STATE_CHECKPOINT_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "state/variable.h"

namespace weft {

// Writes a snapshot of each variable's value to `path`, one entry per
// variable keyed by its name. The file is written under a temporary name in
// the same directory, fsynced, renamed over `path` and the directory
// fsynced, so `path` holds either the old file or the whole new one, never a
// half-written one (graph/file_io.h's WriteFileAtomically). kInvalidArgument
// for a null variable, two variables of one name in `variables`, or a
// variable named "__metadata__" (reserved by the format); an I/O error names
// the path, the step and the system error, with the errno's code
// (kResourceExhausted for a full disk, kPermissionDenied, kNotFound).
// Each value is a consistent snapshot; the variables are not snapshotted
// together (an update running meanwhile may land in some entries only).
//
// Thread safety: may run concurrently with updates of the variables.
[[nodiscard]] absl::Status SaveVariables(
    std::string_view path, const std::vector<Variable>& variables);

// Reads `path` and assigns each variable the entry of its name. Everything
// is validated before any variable changes (all or nothing): the header
// length against the file size, the JSON, every entry's dtype tag, shape and
// offsets, the data section's size, and for each variable that its entry
// exists with the variable's dtype and shape. Entries no variable asks for
// are checked for consistency and otherwise ignored. Errors name the path,
// the entry and the problem:
//   kNotFound         the file does not exist, or entries are missing;
//   kInvalidArgument  a null or duplicate variable in `variables`, or an
//                     entry whose dtype or shape differs from its variable;
//   kDataLoss         a corrupt or truncated file;
//   other codes       I/O errors, with the system's message.
//
// Thread safety: may run concurrently with other uses of the variables;
// each variable changes atomically, but not all of them at one instant.
[[nodiscard]] absl::Status RestoreVariables(
    std::string_view path, const std::vector<Variable>& variables);

}  // namespace weft

#endif  // WEFT_STATE_CHECKPOINT_H_
