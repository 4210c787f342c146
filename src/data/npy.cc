#include "data/npy.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.h"

namespace tinyptq {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr int64_t kMaxNpzMember = int64_t(1) << 32;  // 4 GiB expanded per member

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return std::move(ss).str();
}

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } (keys in any order, each exactly once; trailing spaces and
// one '\n' pad it). A strict mini-parser.
struct Header {
  std::string descr;
  bool fortran = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& label) : s_(s), label_(label) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        fail_if(have_descr, "'descr' appears twice");
        h.descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        fail_if(have_fortran, "'fortran_order' appears twice");
        h.fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        fail_if(have_shape, "'shape' appears twice");
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unknown header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}' in the header");
    }
    expect('}');
    skip_space();
    fail_if(pos_ != s_.size(), "trailing characters after the header dict");
    fail_if(!have_descr || !have_fortran || !have_shape, "header lacks 'descr', 'fortran_order' or 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(label_ + ": not a valid .npy: " + what); }
  void fail_if(bool cond, const std::string& what) const {
    if (cond) fail(what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    fail_if(peek() != c, std::string("expected '") + c + "' in the header");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    const char q = peek();
    fail_if(q != '\'' && q != '"', "expected a quoted string in the header");
    const size_t end = s_.find(q, pos_ + 1);
    fail_if(end == std::string_view::npos, "unterminated string in the header");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s_.substr(pos_, 4) == "True") return pos_ += 4, true;
    if (s_.substr(pos_, 5) == "False") return pos_ += 5, false;
    fail("'fortran_order' must be True or False");
  }
  // (d0, d1, ...) with an optional trailing comma; () is a scalar.
  Shape tuple() {
    Shape shape;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      int64_t v = 0;
      int digits = 0;
      while (peek() >= '0' && peek() <= '9') {
        fail_if(++digits > 12, "shape dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      fail_if(digits == 0, "shape must be a tuple of non-negative integers");
      shape.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    expect(')');
    fail_if(shape.size() > 8, "more than 8 dimensions");
    return shape;
  }

  std::string_view s_;
  const std::string& label_;
  size_t pos_ = 0;
};

// libarchive may report a failure without a message (NULL).
std::string archive_message(struct archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "corrupt archive";
}

uint32_t read_le(std::string_view b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | uint8_t(b[at + size_t(k)]);
  return v;
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& label) {
  auto fail = [&](const std::string& what) -> Error { return Error(label + ": not a valid .npy: " + what); };
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic) throw fail("missing the \\x93NUMPY magic");
  const int major = uint8_t(bytes[6]);
  if (major < 1 || major > 3) throw fail("unsupported format version " + std::to_string(major));
  const int len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < size_t(8 + len_bytes)) throw fail("truncated header");
  const uint64_t header_len = read_le(bytes, 8, len_bytes);
  const uint64_t data_at = 8 + uint64_t(len_bytes) + header_len;
  if (data_at > bytes.size()) throw fail("truncated header");
  const Header h = HeaderParser(bytes.substr(8 + size_t(len_bytes), header_len), label).parse();
  if (h.fortran)
    throw fail(
        "Fortran-order arrays are not supported (save with "
        "np.ascontiguousarray)");

  DType dtype;
  size_t item = 0;
  if (h.descr == "<f4") {
    dtype = DType::kFloat32, item = 4;
  } else if (h.descr == "|u1" || h.descr == "<u1") {
    dtype = DType::kUint8, item = 1;
  } else if (h.descr == "<i8") {
    dtype = DType::kInt64, item = 8;
  } else if (!h.descr.empty() && h.descr.find('O') != std::string::npos) {
    throw fail("object arrays are not supported");
  } else {
    throw fail("dtype '" + h.descr + "' is not supported (float32 '<f4', uint8 '|u1' or int64 '<i8')");
  }
  int64_t n = 0;
  try {
    n = num_elements(h.shape);
  } catch (const Error&) {
    throw fail("shape " + shape_str(h.shape) + " is too large");
  }
  const uint64_t need = uint64_t(n) * item, have = bytes.size() - data_at;
  if (have < need)
    throw fail("truncated data: shape " + shape_str(h.shape) + " needs " + std::to_string(need) +
               " bytes, the file has " + std::to_string(have));
  if (have > need) throw fail(std::to_string(have - need) + " bytes past the end of the array");

  const char* p = bytes.data() + data_at;
  if (dtype == DType::kFloat32) {
    std::vector<float> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), p,
                       need);  // x86-64 and aarch64 Linux are little-endian
    return Tensor::from_floats(h.shape, std::move(v));
  }
  std::vector<int64_t> v(static_cast<size_t>(n));
  if (dtype == DType::kUint8) {
    for (int64_t k = 0; k < n; ++k) v[size_t(k)] = uint8_t(p[k]);
  } else if (n) {
    std::memcpy(v.data(), p, need);
  }
  return Tensor::from_ints(dtype, h.shape, std::move(v));
}

Tensor load_npy(const std::string& path) { return parse_npy(read_whole(path), path); }

NamedArrays parse_npz(std::string_view bytes, const std::string& label) {
  using Archive = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
  Archive a(archive_read_new(), &archive_read_free);
  if (!a) throw Error(label + ": libarchive could not create a reader");
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    throw Error(label + ": not a valid .npz (zip): " + archive_message(a.get()));
  NamedArrays out;
  for (;;) {
    struct archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) throw Error(label + ": not a valid .npz (zip): " + archive_message(a.get()));
    const char* raw = archive_entry_pathname(e);
    std::string name = raw ? raw : "";
    const std::string what = label + ": member '" + name + "'";
    if (name.size() < 5 || name.substr(name.size() - 4) != ".npy") throw Error(what + " is not a .npy");
    name.resize(name.size() - 4);
    for (const auto& [n, t] : out)
      if (n == name) throw Error(what + " appears twice");
    std::string data;
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      const int rr = archive_read_data_block(a.get(), &buf, &size, &offset);
      if (rr == ARCHIVE_EOF) break;
      if (rr != ARCHIVE_OK) throw Error(what + ": " + archive_message(a.get()));
      if (offset < 0 || uint64_t(offset) + size > uint64_t(kMaxNpzMember)) throw Error(what + " expands beyond 4 GiB");
      if (size_t(offset) > data.size()) data.resize(size_t(offset), '\0');  // sparse hole
      data.replace(size_t(offset), std::min(size, data.size() - size_t(offset)), static_cast<const char*>(buf), size);
    }
    out.emplace_back(name, parse_npy(data, what));
  }
  if (out.empty()) throw Error(label + ": the .npz holds no arrays");
  return out;
}

NamedArrays load_npz(const std::string& path) { return parse_npz(read_whole(path), path); }

std::string npy_bytes(const Tensor& t) {
  const bool is_f = t.dtype == DType::kFloat32, is_u8 = t.dtype == DType::kUint8;
  std::string shape = "(";
  for (size_t k = 0; k < t.shape.size(); ++k)
    shape += std::to_string(t.shape[k]) + (t.shape.size() == 1 ? "," : k + 1 < t.shape.size() ? ", " : "");
  shape += ")";
  std::string header = std::string("{'descr': '") +
                       (is_f    ? "<f4"
                        : is_u8 ? "|u1"
                                : "<i8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic);
  out += '\x01';
  out += '\x00';
  out += char(header.size() & 0xFF);
  out += char(header.size() >> 8);
  out += header;
  const int64_t n = t.size();
  if (is_f) {
    out.append(reinterpret_cast<const char*>(t.f.data()), size_t(n) * 4);
  } else if (is_u8) {
    for (int64_t k = 0; k < n; ++k) out += char(uint8_t(t.i[size_t(k)]));
  } else {
    out.append(reinterpret_cast<const char*>(t.i.data()), size_t(n) * 8);
  }
  return out;
}

}  // namespace tinyptq
