#include "state/checkpoint.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/file_io.h"
#include "nlohmann/json.hpp"
#include "state/variable_impl.h"

namespace weft {
namespace {

using internal::Quoted;
using Json = nlohmann::json;

// The safetensors reference implementation's limit on the header length.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;
// The JSON header is padded with spaces to a multiple of this.
constexpr size_t kHeaderAlignment = 8;

struct TagInfo {
  std::string_view tag;
  size_t size;
  std::optional<DType> dtype;  // The weft dtype, if any.
};

// The standard safetensors dtype tags.
constexpr TagInfo kTags[] = {
    {"F32", 4, DType::kFloat32},  {"F64", 8, DType::kFloat64},
    {"I32", 4, DType::kInt32},    {"I64", 8, DType::kInt64},
    {"BOOL", 1, DType::kBool},    {"F16", 2, DType::kFloat16},
    {"BF16", 2, std::nullopt},    {"F8_E4M3", 1, std::nullopt},
    {"F8_E5M2", 1, std::nullopt}, {"I8", 1, DType::kInt8},
    {"I16", 2, std::nullopt},     {"U8", 1, DType::kUInt8},
    {"U16", 2, std::nullopt},     {"U32", 4, std::nullopt},
    {"U64", 8, std::nullopt},
};

const TagInfo* FindTag(std::string_view tag) {
  for (const TagInfo& t : kTags) {
    if (t.tag == tag) return &t;
  }
  return nullptr;
}

std::string_view TagOf(DType dtype) {
  for (const TagInfo& t : kTags) {
    if (t.dtype == dtype) return t.tag;
  }
  return "?";
}

std::string ShapeString(const std::vector<uint64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

// Checks the list of variables given to Save/Restore.
absl::Status CheckVariableList(std::string_view fn, std::string_view path,
                               const std::vector<Variable>& variables) {
  absl::flat_hash_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < variables.size(); ++i) {
    const Variable& v = variables[i];
    if (v.is_null()) {
      return absl::InvalidArgumentError(internal::NullHandleMessage(
          absl::StrCat(fn, "(", Quoted(path), "): variables[", i, "] is"),
          "Variable"));
    }
    if (v.name() == "__metadata__") {
      return absl::InvalidArgumentError(absl::StrCat(
          fn, "(", Quoted(path), "): variables[", i, "] ", v.DebugString(),
          " is named '__metadata__', which the safetensors format reserves "
          "for the file's metadata\n  fix: rename the variable"));
    }
    auto [it, inserted] = seen.emplace(v.name(), i);
    if (!inserted) {
      const Variable& first = variables[it->second];
      return absl::InvalidArgumentError(absl::StrCat(
          fn, "(", Quoted(path), "): variables[", it->second,
          "] and variables[", i, "] are both named ", Quoted(v.name()),
          (first == v ? " (the same variable twice)" : ""),
          "; a checkpoint has one entry per name\n  variables[", it->second,
          "]: ", first.DebugString(), "\n  variables[", i,
          "]: ", v.DebugString(),
          "\n  fix: list each variable once and give distinct variables "
          "distinct names"));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Save

absl::StatusOr<std::string> BuildHeader(const std::vector<NDArray>& values,
                                        const std::vector<Variable>& variables,
                                        std::string_view path) {
  Json header = Json::object();
  header["__metadata__"] = Json::object({{"producer", "weft"}});
  uint64_t offset = 0;
  for (size_t i = 0; i < variables.size(); ++i) {
    const NDArray& v = values[i];
    Json shape = Json::array();
    for (int64_t d : v.shape().dims())
      shape.push_back(static_cast<uint64_t>(d));
    const uint64_t end = offset + v.num_bytes();
    Json entry = Json::object();
    entry["dtype"] = std::string(TagOf(v.dtype()));
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = Json::array({offset, end});
    header[variables[i].name()] = std::move(entry);
    offset = end;
  }
  std::string text =
      header.dump(-1, ' ', false, Json::error_handler_t::replace);
  text.resize((text.size() + kHeaderAlignment - 1) / kHeaderAlignment *
                  kHeaderAlignment,
              ' ');
  if (text.size() > kMaxHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SaveVariables(", Quoted(path), "): the header of ", variables.size(),
        " variables is ", text.size(), " bytes, over the format's limit of ",
        kMaxHeaderBytes, "\n  fix: save the variables in several files"));
  }
  return text;
}

// The 8-byte little-endian header length that starts the file.
std::string LengthPrefix(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out;
}

// ---------------------------------------------------------------------------
// Restore: the parsed, validated header.

struct Entry {
  std::string name;
  const TagInfo* tag = nullptr;
  std::vector<uint64_t> dims;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Reads a non-negative integer (a JSON number without sign or fraction).
std::optional<uint64_t> AsUnsigned(const Json& j) {
  if (const auto* u = j.get_ptr<const Json::number_unsigned_t*>()) return *u;
  if (const auto* i = j.get_ptr<const Json::number_integer_t*>()) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
  }
  return std::nullopt;
}

// Parses one tensor entry of the header; an error message (without the
// path) on failure.
// Long (~78 lines): the entry's three fields (dtype, shape, data_offsets)
// are checked in file order and then against each other, each check with its
// own error.
absl::StatusOr<Entry> ParseEntry(const std::string& name, const Json& value) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(
        absl::StrCat("bad header: entry ", Quoted(name), ": ", why));
  };
  const Json::object_t* obj = value.get_ptr<const Json::object_t*>();
  if (obj == nullptr) return bad("is not a JSON object");
  Entry e;
  e.name = name;

  auto dtype_it = obj->find("dtype");
  if (dtype_it == obj->end()) return bad("has no \"dtype\"");
  const Json::string_t* tag = dtype_it->second.get_ptr<const Json::string_t*>();
  if (tag == nullptr) return bad("\"dtype\" is not a string");
  e.tag = FindTag(*tag);
  if (e.tag == nullptr) {
    return bad(absl::StrCat("unknown dtype tag ", Quoted(*tag)));
  }

  auto shape_it = obj->find("shape");
  if (shape_it == obj->end()) return bad("has no \"shape\"");
  const Json::array_t* shape = shape_it->second.get_ptr<const Json::array_t*>();
  if (shape == nullptr) return bad("\"shape\" is not an array");
  // Element count, checked against overflow of the byte count.
  uint64_t elements = 1;
  bool overflow = false;
  for (const Json& d : *shape) {
    std::optional<uint64_t> dim = AsUnsigned(d);
    if (!dim.has_value() ||
        *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return bad(
          "\"shape\" holds a value that is not a dimension (an integer "
          ">= 0)");
    }
    e.dims.push_back(*dim);
    if (*dim != 0 && elements > std::numeric_limits<uint64_t>::max() / *dim) {
      overflow = true;
    }
    elements *= *dim;
  }
  if (e.dims.size() > 0 &&
      std::find(e.dims.begin(), e.dims.end(), 0) != e.dims.end()) {
    elements = 0;
    overflow = false;
  }

  auto offsets_it = obj->find("data_offsets");
  if (offsets_it == obj->end()) return bad("has no \"data_offsets\"");
  const Json::array_t* offsets =
      offsets_it->second.get_ptr<const Json::array_t*>();
  if (offsets == nullptr || offsets->size() != 2) {
    return bad("\"data_offsets\" is not an array [begin, end]");
  }
  std::optional<uint64_t> begin = AsUnsigned((*offsets)[0]);
  std::optional<uint64_t> end = AsUnsigned((*offsets)[1]);
  if (!begin.has_value() || !end.has_value()) {
    return bad("\"data_offsets\" holds a value that is not an integer >= 0");
  }
  if (*end < *begin) {
    return bad(absl::StrCat("\"data_offsets\" [", *begin, ", ", *end,
                            "] ends before it begins"));
  }
  e.begin = *begin;
  e.end = *end;
  if (overflow ||
      elements > std::numeric_limits<uint64_t>::max() / e.tag->size) {
    return bad(absl::StrCat("shape ", ShapeString(e.dims),
                            " overflows the byte count"));
  }
  const uint64_t bytes = elements * e.tag->size;
  if (e.end - e.begin != bytes) {
    return bad(absl::StrCat("\"data_offsets\" [", e.begin, ", ", e.end,
                            "] span ", e.end - e.begin, " bytes, but ",
                            e.tag->tag, " ", ShapeString(e.dims), " needs ",
                            bytes));
  }
  return e;
}

// Parses and validates the whole header against a data section of
// `data_size` bytes.
absl::StatusOr<std::map<std::string, Entry>> ParseHeader(
    const std::string& text, uint64_t data_size) {
  Json header = Json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    return absl::DataLossError("bad header: the JSON is malformed");
  }
  const Json::object_t* obj = header.get_ptr<const Json::object_t*>();
  if (obj == nullptr) {
    return absl::DataLossError("bad header: the JSON is not an object");
  }
  std::map<std::string, Entry> entries;
  for (const auto& [name, value] : *obj) {
    if (name == "__metadata__") {
      const Json::object_t* meta = value.get_ptr<const Json::object_t*>();
      if (meta == nullptr) {
        return absl::DataLossError(
            "bad header: \"__metadata__\" is not a JSON object");
      }
      for (const auto& [key, v] : *meta) {
        if (!v.is_string()) {
          return absl::DataLossError(
              absl::StrCat("bad header: \"__metadata__\" value ", Quoted(key),
                           " is not a string"));
        }
      }
      continue;
    }
    absl::StatusOr<Entry> e = ParseEntry(name, value);
    if (!e.ok()) return e.status();
    entries.emplace(name, *std::move(e));
  }
  // The entries must tile the data section: sorted by offset, each begins
  // where the previous one ends, the first at 0 and the last at its end.
  std::vector<const Entry*> sorted;
  for (const auto& [name, e] : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  for (const Entry* e : sorted) {
    if (e->begin != at) {
      return absl::DataLossError(absl::StrCat(
          "bad header: entry ", Quoted(e->name), " begins at data offset ",
          e->begin, ", but the previous entry ends at ", at,
          e->begin > at ? " (a gap)" : " (an overlap)"));
    }
    at = e->end;
  }
  if (at != data_size) {
    return absl::DataLossError(
        absl::StrCat(at > data_size ? "truncated data: the entries need "
                                    : "bad file: the entries cover ",
                     at, " bytes of data, but the file holds ", data_size,
                     " after the header"));
  }
  return entries;
}

// The problem with `e` as the value of `v`, or "" when it fits.
std::string EntryMismatch(const Entry& e, const Variable& v) {
  if (e.tag->dtype != v.dtype()) {
    return absl::StrCat("dtype mismatch: the file holds ", e.tag->tag, " (",
                        ShapeString(e.dims), "), variable ", v.DebugString(),
                        " needs ", TagOf(v.dtype()));
  }
  const std::vector<int64_t>& dims = v.shape().dims();
  bool same = dims.size() == e.dims.size();
  for (size_t i = 0; same && i < dims.size(); ++i) {
    same = static_cast<uint64_t>(dims[i]) == e.dims[i];
  }
  if (!same) {
    return absl::StrCat("shape mismatch: the file holds ", e.tag->tag, " ",
                        ShapeString(e.dims), ", variable ", v.DebugString(),
                        " needs ", v.shape().DebugString());
  }
  return "";
}

// Reads the entry's bytes into a fresh array of the variable's type,
// through the shared byte codec.
absl::StatusOr<NDArray> ReadEntry(const internal::ReadOnlyFile& file,
                                  const Entry& e, const Variable& v,
                                  uint64_t data_start) {
  auto fill = [&](void* dst, size_t bytes) -> absl::Status {
    absl::StatusOr<size_t> n = file.ReadAt(data_start + e.begin, dst, bytes);
    if (!n.ok()) {
      return absl::Status(
          n.status().code(),
          absl::StrCat("entry ", Quoted(e.name), ": ", n.status().message()));
    }
    if (*n != bytes) {
      return absl::DataLossError(
          absl::StrCat("truncated data: entry ", Quoted(e.name), " needs ",
                       bytes, " bytes but the file ends after ", *n,
                       " (it changed while being read)"));
    }
    return absl::OkStatus();
  };
  internal::NDArrayBytesError why;
  absl::StatusOr<NDArray> array =
      internal::DecodeNDArrayFrom(v.dtype(), v.shape(), fill, &why);
  if (!array.ok() && why.kind == internal::NDArrayBytesError::Kind::kBool) {
    return absl::DataLossError(absl::StrCat(
        "bad data: entry ", Quoted(e.name), " is BOOL but element ", why.index,
        " is the byte ", why.value, " (BOOL bytes are 0 or 1)"));
  }
  return array;
}

absl::Status WithPath(std::string_view fn, std::string_view path,
                      const absl::Status& s, std::string_view fix) {
  std::string msg = absl::StrCat(fn, "(", Quoted(path), "): ", s.message());
  if (!fix.empty()) absl::StrAppend(&msg, "\n  fix: ", fix);
  return absl::Status(s.code(), msg);
}

constexpr std::string_view kSave = "SaveVariables";
constexpr std::string_view kRestore = "RestoreVariables";

constexpr std::string_view kSaveFix =
    "check that the directory exists and is writable and that its "
    "filesystem has space, then save again; a save that fails before its "
    "rename leaves the previous file at the path, if any, unchanged";

constexpr std::string_view kCorruptFix =
    "the file is not a valid safetensors checkpoint; restore from another "
    "copy, or save it again";

// ---------------------------------------------------------------------------
// Restore, stage by stage. Each stage's errors name the path.

// The checkpoint file, open; a regular file.
absl::StatusOr<internal::ReadOnlyFile> OpenCheckpoint(std::string_view path) {
  absl::StatusOr<internal::ReadOnlyFile> file =
      internal::ReadOnlyFile::Open(path, "the file");
  if (!file.ok()) {
    return WithPath(kRestore, path, file.status(),
                    "check the path; SaveVariables writes the file");
  }
  if (!file->is_regular()) {
    return WithPath(kRestore, path,
                    absl::FailedPreconditionError("not a regular file"),
                    "pass the path of a checkpoint file");
  }
  return file;
}

// The header length: at least 2 bytes, within the file and the format's
// limit.
absl::StatusOr<uint64_t> ReadHeaderLength(const internal::ReadOnlyFile& file) {
  const uint64_t file_size = file.size();
  unsigned char length[8];
  absl::StatusOr<size_t> got =
      file_size < sizeof(length) ? 0 : file.ReadAt(0, length, sizeof(length));
  if (!got.ok() || *got != sizeof(length)) {
    return WithPath(kRestore, file.path(),
                    absl::DataLossError(absl::StrCat(
                        "bad header: the file is ", file_size,
                        " bytes, too short for the 8-byte header length")),
                    kCorruptFix);
  }
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= uint64_t{length[i]} << (8 * i);
  if (header_size > file_size - 8 || header_size > kMaxHeaderBytes ||
      header_size < 2) {
    return WithPath(kRestore, file.path(),
                    absl::DataLossError(absl::StrCat(
                        "bad header: the header length is ", header_size,
                        " bytes, but the file holds ", file_size - 8,
                        " after the length (and a header is 2 to ",
                        kMaxHeaderBytes, " bytes)")),
                    kCorruptFix);
  }
  return header_size;
}

// The validated entries and where the data section starts.
struct Header {
  std::map<std::string, Entry> entries;
  uint64_t data_start = 0;
};

// The JSON header, every entry and the data section's size.
absl::StatusOr<Header> ReadHeader(const internal::ReadOnlyFile& file) {
  absl::StatusOr<uint64_t> header_size = ReadHeaderLength(file);
  if (!header_size.ok()) return header_size.status();
  std::string text(*header_size, '\0');
  absl::StatusOr<size_t> got = file.ReadAt(8, text.data(), *header_size);
  if (!got.ok()) return WithPath(kRestore, file.path(), got.status(), "");
  if (*got != *header_size) {
    return WithPath(kRestore, file.path(),
                    absl::DataLossError("truncated header: the file changed "
                                        "while being read"),
                    kCorruptFix);
  }
  Header header;
  header.data_start = 8 + *header_size;
  absl::StatusOr<std::map<std::string, Entry>> entries =
      ParseHeader(text, file.size() - header.data_start);
  if (!entries.ok()) {
    return WithPath(kRestore, file.path(), entries.status(), kCorruptFix);
  }
  header.entries = *std::move(entries);
  return header;
}

// Each variable's entry: present, of its dtype and shape (all problems
// listed in one error).
absl::StatusOr<std::vector<const Entry*>> MatchEntries(
    std::string_view path, const std::map<std::string, Entry>& entries,
    const std::vector<Variable>& variables) {
  std::vector<const Entry*> chosen;
  std::vector<std::string> missing;
  std::vector<std::string> mismatched;
  for (const Variable& v : variables) {
    auto it = entries.find(v.name());
    if (it == entries.end()) {
      missing.push_back(v.DebugString());
      chosen.push_back(nullptr);
      continue;
    }
    std::string problem = EntryMismatch(it->second, v);
    if (!problem.empty()) {
      mismatched.push_back(
          absl::StrCat("entry ", Quoted(v.name()), ": ", problem));
    }
    chosen.push_back(&it->second);
  }
  if (missing.empty() && mismatched.empty()) return chosen;
  std::string msg;
  for (const std::string& m : missing) {
    absl::StrAppend(&msg, msg.empty() ? "" : "\n  ", "missing entry for ", m);
  }
  for (const std::string& m : mismatched) {
    absl::StrAppend(&msg, msg.empty() ? "" : "\n  ", m);
  }
  std::vector<std::string> names;
  for (const auto& [name, e] : entries) names.push_back(Quoted(name));
  absl::StrAppend(&msg, "\n  the file's entries: ",
                  names.empty() ? "none" : absl::StrJoin(names, ", "),
                  "\n  no variable was changed");
  return WithPath(
      kRestore, path,
      absl::Status(mismatched.empty() ? absl::StatusCode::kNotFound
                                      : absl::StatusCode::kInvalidArgument,
                   msg),
      "restore from a checkpoint saved from variables of the "
      "same names, dtypes and shapes");
}

// The data, into fresh arrays.
absl::StatusOr<std::vector<NDArray>> ReadValues(
    const internal::ReadOnlyFile& file, const std::vector<const Entry*>& chosen,
    const std::vector<Variable>& variables, uint64_t data_start) {
  std::vector<NDArray> values;
  values.reserve(variables.size());
  for (size_t i = 0; i < variables.size(); ++i) {
    absl::StatusOr<NDArray> a =
        ReadEntry(file, *chosen[i], variables[i], data_start);
    if (!a.ok()) {
      return WithPath(kRestore, file.path(),
                      absl::Status(a.status().code(),
                                   absl::StrCat(a.status().message(),
                                                "; no variable was changed")),
                      kCorruptFix);
    }
    values.push_back(*std::move(a));
  }
  return values;
}

// Assigns every value. Nothing can fail any more: the values were checked
// against the variables' fixed dtypes and shapes.
absl::Status AssignAll(std::string_view path,
                       const std::vector<Variable>& variables,
                       std::vector<NDArray> values) {
  for (size_t i = 0; i < variables.size(); ++i) {
    if (absl::Status s = variables[i].Assign(std::move(values[i])); !s.ok()) {
      return absl::InternalError(
          absl::StrCat("RestoreVariables(", Quoted(path),
                       "): assigning a checked value "
                       "failed after ",
                       i, " of ", variables.size(),
                       " variables were restored: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SaveVariables(std::string_view path,
                           const std::vector<Variable>& variables) {
  if (absl::Status s = CheckVariableList(kSave, path, variables); !s.ok()) {
    return s;
  }
  std::vector<NDArray> values;
  values.reserve(variables.size());
  for (const Variable& v : variables) values.push_back(v.value());
  absl::StatusOr<std::string> header = BuildHeader(values, variables, path);
  if (!header.ok()) return header.status();
  const std::string length = LengthPrefix(header->size());
  std::vector<std::string_view> pieces = {length, *header};
  for (const NDArray& v : values) pieces.push_back(internal::NDArrayBytes(v));
  if (absl::Status s = internal::WriteFileAtomically(path, pieces); !s.ok()) {
    return WithPath(kSave, path, s, kSaveFix);
  }
  return absl::OkStatus();
}

absl::Status RestoreVariables(std::string_view path,
                              const std::vector<Variable>& variables) {
  if (absl::Status s = CheckVariableList(kRestore, path, variables); !s.ok()) {
    return s;
  }
  absl::StatusOr<internal::ReadOnlyFile> file = OpenCheckpoint(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<Header> header = ReadHeader(*file);
  if (!header.ok()) return header.status();
  absl::StatusOr<std::vector<const Entry*>> chosen =
      MatchEntries(path, header->entries, variables);
  if (!chosen.ok()) return chosen.status();
  absl::StatusOr<std::vector<NDArray>> values =
      ReadValues(*file, *chosen, variables, header->data_start);
  if (!values.ok()) return values.status();
  return AssignAll(path, variables, *std::move(values));
}

}  // namespace weft
