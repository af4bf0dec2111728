#include "graph/npy.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/error_util.h"
#include "graph/errors.h"
#include "graph/file_io.h"

namespace weft {
namespace {

using internal::Quoted;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

std::string_view Descr(DType d) {
  switch (d) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kInt32:
      return "<i4";
    case DType::kInt64:
      return "<i8";
    case DType::kBool:
      return "|b1";
    case DType::kUInt8:
      return "|u1";
    case DType::kInt8:
      return "|i1";
    case DType::kFloat16:
      return "<f2";
  }
  return "";
}

std::optional<DType> FromDescr(std::string_view d) {
  if (d.size() == 3 && (d[0] == '<' || d[0] == '=' || d[0] == '|')) {
    const std::string_view t = d.substr(1);
    if (t == "b1") return DType::kBool;
    if (t == "u1") return DType::kUInt8;
    if (t == "i1") return DType::kInt8;
    if (d[0] == '|') return std::nullopt;  // '|' only for one-byte types.
    if (t == "f2") return DType::kFloat16;
    if (t == "f4") return DType::kFloat32;
    if (t == "f8") return DType::kFloat64;
    if (t == "i4") return DType::kInt32;
    if (t == "i8") return DType::kInt64;
  }
  return std::nullopt;
}

// A tiny parser for the header: a Python dict literal with string keys and
// values that are strings, True/False, or tuples of non-negative integers.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  struct Value {
    enum class Kind { kString, kBool, kTuple } kind = Kind::kString;
    std::string str;
    bool b = false;
    std::vector<int64_t> tuple;
  };

  // On failure returns false with error() set.
  bool Parse(std::vector<std::pair<std::string, Value>>& out) {
    Skip();
    if (!Eat('{')) return Fail("the header is not a dict ('{' expected)");
    while (true) {
      Skip();
      if (Eat('}')) break;
      std::string key;
      if (!String(key)) return Fail("a quoted key expected");
      Skip();
      if (!Eat(':')) return Fail("':' expected after a key");
      Skip();
      Value v;
      if (Peek() == '\'' || Peek() == '"') {
        v.kind = Value::Kind::kString;
        if (!String(v.str)) return Fail("bad string value");
      } else if (Word("True")) {
        v.kind = Value::Kind::kBool;
        v.b = true;
      } else if (Word("False")) {
        v.kind = Value::Kind::kBool;
        v.b = false;
      } else if (Eat('(')) {
        v.kind = Value::Kind::kTuple;
        if (!Tuple(v.tuple)) return false;
      } else {
        return Fail(absl::StrCat("unsupported value for key '", key, "'"));
      }
      out.emplace_back(std::move(key), std::move(v));
      Skip();
      if (Eat(',')) continue;
      Skip();
      if (Eat('}')) break;
      return Fail("',' or '}' expected");
    }
    Skip();
    if (pos_ != s_.size()) return Fail("text after the dict");
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void Skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  bool String(std::string& out) {
    const char q = Peek();
    if (q != '\'' && q != '"') return false;
    ++pos_;
    const size_t end = s_.find(q, pos_);
    if (end == std::string_view::npos) return false;
    out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool Tuple(std::vector<int64_t>& out) {
    while (true) {
      Skip();
      if (Eat(')')) return true;
      size_t start = pos_;
      while (pos_ < s_.size() && absl::ascii_isdigit(s_[pos_])) ++pos_;
      // "3L" from Python 2 writers.
      std::string_view digits = s_.substr(start, pos_ - start);
      if (Peek() == 'L') ++pos_;
      int64_t d;
      if (digits.empty() || digits.size() > 18 ||
          !absl::SimpleAtoi(digits, &d)) {
        return Fail("shape must be a tuple of non-negative integers");
      }
      out.push_back(d);
      Skip();
      if (Eat(',')) continue;
      Skip();
      if (Eat(')')) return true;
      return Fail("',' or ')' expected in the shape tuple");
    }
  }
  bool Fail(std::string why) {
    if (error_.empty()) error_ = absl::StrCat(why, " at offset ", pos_);
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

uint32_t ReadLE(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Errors about one file: "npy file '<source>': <why>".
struct NpyErrors {
  std::string_view source;
  absl::Status operator()(std::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat("npy file ", Quoted(source), ": ", why));
  }
};

// A file split at its header: the dict text and the data after it.
struct NpySections {
  std::string_view header;
  std::string_view data;
};

// The magic, the format version and the header length.
absl::StatusOr<NpySections> SplitSections(std::string_view contents,
                                          const NpyErrors& bad) {
  const auto* u = reinterpret_cast<const unsigned char*>(contents.data());
  if (contents.size() < kMagicLen + 2 ||
      std::memcmp(contents.data(), kMagic, kMagicLen) != 0) {
    return bad("not a .npy file (no \\x93NUMPY magic)");
  }
  const int major = u[6], minor = u[7];
  int len_bytes;
  if (major == 1 && minor == 0) {
    len_bytes = 2;
  } else if ((major == 2 || major == 3) && minor == 0) {
    len_bytes = 4;
  } else {
    return bad(absl::StrCat("unsupported format version ", major, ".", minor,
                            " (weft reads 1.0, 2.0 and 3.0)"));
  }
  const size_t prefix = kMagicLen + 2 + len_bytes;
  if (contents.size() < prefix) return bad("truncated header length");
  const uint64_t header_len = ReadLE(u + kMagicLen + 2, len_bytes);
  if (contents.size() - prefix < header_len) {
    return bad(absl::StrCat("truncated header (", header_len,
                            " bytes announced, ", contents.size() - prefix,
                            " present)"));
  }
  return NpySections{contents.substr(prefix, header_len),
                     contents.substr(prefix + header_len)};
}

// The header's three keys, each given once.
struct NpyHeader {
  HeaderParser::Value descr, fortran, shape;
};

absl::StatusOr<NpyHeader> ParseHeaderKeys(std::string_view text,
                                          const NpyErrors& bad) {
  std::vector<std::pair<std::string, HeaderParser::Value>> entries;
  HeaderParser parser(text);
  if (!parser.Parse(entries)) {
    return bad(absl::StrCat("malformed header: ", parser.error()));
  }
  const HeaderParser::Value *descr = nullptr, *fortran = nullptr,
                            *shape = nullptr;
  for (const auto& [key, value] : entries) {
    const HeaderParser::Value** slot = key == "descr"           ? &descr
                                       : key == "fortran_order" ? &fortran
                                       : key == "shape"         ? &shape
                                                                : nullptr;
    if (slot == nullptr)
      return bad(absl::StrCat("unknown header key '", key, "'"));
    if (*slot != nullptr)
      return bad(absl::StrCat("repeated header key '", key, "'"));
    *slot = &value;
  }
  if (descr == nullptr || fortran == nullptr || shape == nullptr) {
    return bad("the header needs 'descr', 'fortran_order' and 'shape'");
  }
  return NpyHeader{*descr, *fortran, *shape};
}

// The dtype and shape the header describes (C order only).
absl::StatusOr<std::pair<DType, Shape>> ArraySpec(const NpyHeader& h,
                                                  const NpyErrors& bad) {
  using Kind = HeaderParser::Value::Kind;
  if (h.descr.kind != Kind::kString) return bad("'descr' must be a string");
  std::optional<DType> dtype = FromDescr(h.descr.str);
  if (!dtype.has_value()) {
    return bad(absl::StrCat(
        "unsupported dtype '", h.descr.str,
        "'; weft reads '<f4' (float32), '<f8' (float64), '<i4' (int32), "
        "'<i8' (int64), '|b1' (bool), '|u1' (uint8), '|i1' (int8) and '<f2' "
        "(float16); convert with a.astype('<f4') etc."));
  }
  if (h.fortran.kind != Kind::kBool) {
    return bad("'fortran_order' must be True or False");
  }
  if (h.fortran.b) {
    return bad(
        "fortran_order is True; weft reads C-order arrays only (save "
        "np.ascontiguousarray(a))");
  }
  if (h.shape.kind != Kind::kTuple) return bad("'shape' must be a tuple");
  Shape s(h.shape.tuple);
  if (absl::Status st = s.ValidateConcrete(); !st.ok()) {
    return bad(st.message());
  }
  return std::make_pair(*dtype, std::move(s));
}

// The data section as an array, through the shared byte codec.
absl::StatusOr<NDArray> DecodeData(DType dtype, const Shape& shape,
                                   std::string_view data,
                                   const NpyErrors& bad) {
  internal::NDArrayBytesError why;
  absl::StatusOr<NDArray> out =
      internal::DecodeNDArray(dtype, shape, data, &why);
  if (out.ok()) return out;
  switch (why.kind) {
    case internal::NDArrayBytesError::Kind::kSize:
      return bad(absl::StrCat("shape ", shape.DebugString(), " of ",
                              DTypeName(dtype), " needs ", why.elements,
                              " elements but the file holds ", why.bytes,
                              " data bytes"));
    case internal::NDArrayBytesError::Kind::kBool:
      return bad(absl::StrCat("bool element ", why.index, " is ", why.value,
                              ", not 0 or 1"));
    default:
      return bad(out.status().message());
  }
}

}  // namespace

absl::StatusOr<NDArray> ParseNpy(std::string_view contents,
                                 std::string_view source) {
  const NpyErrors bad{source};
  absl::StatusOr<NpySections> sections = SplitSections(contents, bad);
  if (!sections.ok()) return sections.status();
  absl::StatusOr<NpyHeader> header = ParseHeaderKeys(sections->header, bad);
  if (!header.ok()) return header.status();
  absl::StatusOr<std::pair<DType, Shape>> spec = ArraySpec(*header, bad);
  if (!spec.ok()) return spec.status();
  return DecodeData(spec->first, spec->second, sections->data, bad);
}

absl::StatusOr<NDArray> ReadNpy(std::string_view path) {
  absl::StatusOr<std::string> contents =
      internal::ReadFileToString(path, "npy file");
  if (!contents.ok()) return contents.status();
  return ParseNpy(*contents, path);
}

absl::StatusOr<std::string> SerializeNpy(const NDArray& array) {
  if (!array.valid()) {
    return absl::InvalidArgumentError(
        "SerializeNpy: the NDArray is empty (default-constructed)");
  }
  std::vector<std::string> dims;
  for (int64_t d : array.shape().dims()) dims.push_back(absl::StrCat(d));
  std::string dict = absl::StrCat("{'descr': '", Descr(array.dtype()),
                                  "', 'fortran_order': False, ", "'shape': (",
                                  absl::StrJoin(dims, ", "),
                                  dims.size() == 1 ? ",)" : ")", ", }");
  // Pad with spaces and a final newline so the data starts 64-byte aligned.
  const bool v2 = dict.size() + 1 + 10 > 65535;
  const size_t prefix = kMagicLen + 2 + (v2 ? 4 : 2);
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out(kMagic, kMagicLen);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  const uint32_t len = static_cast<uint32_t>(dict.size());
  for (int i = 0; i < (v2 ? 4 : 2); ++i) {
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  }
  out.append(dict);
  out.append(internal::NDArrayBytes(array));
  return out;
}

absl::Status WriteNpy(const NDArray& array, std::string_view path) {
  absl::StatusOr<std::string> bytes = SerializeNpy(array);
  if (!bytes.ok()) return bytes.status();
  if (absl::Status s = internal::WriteFileAtomically(path, *bytes); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("cannot write npy file ", Quoted(path), ": ",
                               s.message()));
  }
  return absl::OkStatus();
}

}  // namespace weft
