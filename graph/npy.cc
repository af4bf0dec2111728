#include "graph/npy.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/errors.h"

namespace weft {
namespace {

static_assert(std::endian::native == std::endian::little,
              "npy.cc reads and writes little-endian data as is");

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
  }
  return "";
}

std::optional<DType> FromDescr(std::string_view d) {
  if (d.size() == 3 && (d[0] == '<' || d[0] == '=' || d[0] == '|')) {
    const std::string_view t = d.substr(1);
    if (t == "b1") return DType::kBool;
    if (d[0] == '|') return std::nullopt;  // '|' only for one-byte types.
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

}  // namespace

absl::StatusOr<NDArray> ParseNpy(std::string_view contents,
                                 std::string_view source) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("npy file ", Quoted(source), ": ", why));
  };
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
  const std::string_view header = contents.substr(prefix, header_len);
  std::vector<std::pair<std::string, HeaderParser::Value>> entries;
  HeaderParser parser(header);
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
  if (descr->kind != HeaderParser::Value::Kind::kString) {
    return bad("'descr' must be a string");
  }
  std::optional<DType> dtype = FromDescr(descr->str);
  if (!dtype.has_value()) {
    return bad(absl::StrCat(
        "unsupported dtype '", descr->str,
        "'; weft reads '<f4' (float32), '<f8' (float64), '<i4' (int32), "
        "'<i8' (int64) and '|b1' (bool); convert with "
        "a.astype('<f4') etc."));
  }
  if (fortran->kind != HeaderParser::Value::Kind::kBool) {
    return bad("'fortran_order' must be True or False");
  }
  if (fortran->b) {
    return bad(
        "fortran_order is True; weft reads C-order arrays only (save "
        "np.ascontiguousarray(a))");
  }
  if (shape->kind != HeaderParser::Value::Kind::kTuple) {
    return bad("'shape' must be a tuple");
  }
  Shape s(shape->tuple);
  if (absl::Status st = s.ValidateConcrete(); !st.ok()) {
    return bad(st.message());
  }
  const std::string_view data = contents.substr(prefix + header_len);
  const size_t elem = DTypeSize(*dtype);
  if (data.size() % elem != 0 ||
      static_cast<uint64_t>(s.num_elements()) != data.size() / elem) {
    return bad(absl::StrCat("shape ", s.DebugString(), " of ",
                            DTypeName(*dtype), " needs ", s.num_elements(),
                            " elements but the file holds ", data.size(),
                            " data bytes"));
  }
  if (*dtype == DType::kBool) {
    for (size_t i = 0; i < data.size(); ++i) {
      if (static_cast<unsigned char>(data[i]) > 1) {
        return bad(
            absl::StrCat("bool element ", i, " is ",
                         static_cast<int>(static_cast<unsigned char>(data[i])),
                         ", not 0 or 1"));
      }
    }
  }
  absl::StatusOr<NDArray> out = NDArray::AllocateChecked(*dtype, std::move(s));
  if (!out.ok()) return bad(out.status().message());
  if (!data.empty())
    std::memcpy(out->mutable_raw_data(), data.data(), data.size());
  return out;
}

absl::StatusOr<NDArray> ReadNpy(std::string_view path) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open npy file ", Quoted(path)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(
        absl::StrCat("cannot read npy file ", Quoted(path)));
  }
  return ParseNpy(buf.str(), path);
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
  out.append(static_cast<const char*>(array.raw_data()), array.num_bytes());
  return out;
}

absl::Status WriteNpy(const NDArray& array, std::string_view path) {
  absl::StatusOr<std::string> bytes = SerializeNpy(array);
  if (!bytes.ok()) return bytes.status();
  std::ofstream out{std::string(path), std::ios::binary | std::ios::trunc};
  out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
  out.close();
  if (!out) {
    return absl::UnavailableError(
        absl::StrCat("cannot write npy file ", Quoted(path)));
  }
  return absl::OkStatus();
}

}  // namespace weft
