#include "data/pickle.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace tinyptq::pickle {
namespace {

// Each object costs ~120 bytes; 2^21 objects bounds a hostile pickle to ~250 MB. A CIFAR batch needs ~50k.
constexpr size_t kMaxObjects = size_t(1) << 21;
constexpr int64_t kMaxElements = int64_t(1) << 40;
constexpr ObjId kNoneId = 0, kFalseId = 1, kTrueId = 2;

// The only callables a pickle may name. They are emulated here, never looked up or executed.
enum class Callable { kReconstruct, kNdarray, kDtype, kCodecsEncode, kBytes, kFromBuffer };

struct AllowedGlobal {
  std::string_view name;
  Callable fn;
};
constexpr AllowedGlobal kAllowedGlobals[] = {
    {"numpy.core.multiarray._reconstruct", Callable::kReconstruct},
    {"numpy._core.multiarray._reconstruct", Callable::kReconstruct},
    {"numpy.ndarray", Callable::kNdarray},
    {"numpy.dtype", Callable::kDtype},
    {"_codecs.encode", Callable::kCodecsEncode},
    {"codecs.encode", Callable::kCodecsEncode},
    {"__builtin__.bytes", Callable::kBytes},
    {"builtins.bytes", Callable::kBytes},
    {"numpy.core.numeric._frombuffer", Callable::kFromBuffer},
    {"numpy._core.numeric._frombuffer", Callable::kFromBuffer},
};

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kStr: return "str";
    case Kind::kBytes: return "bytes";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kDict: return "dict";
    case Kind::kGlobal: return "global";
    case Kind::kArray: return "ndarray";
    case Kind::kDtype: return "dtype";
  }
  return "?";
}

const Object* Document::dict_get(const Object& dict, std::string_view key) const {
  if (dict.kind != Kind::kDict) return nullptr;
  const Object* found = nullptr;  // the last assignment wins, as in Python
  for (size_t k = 0; k + 1 < dict.items.size(); k += 2) {
    const Object& key_obj = objects_[dict.items[k]];
    if ((key_obj.kind == Kind::kStr || key_obj.kind == Kind::kBytes) && key_obj.text == key)
      found = &objects_[dict.items[k + 1]];
  }
  return found;
}

class Parser {
 public:
  Parser(std::string bytes, const std::string& label) : label_(label) {
    doc_.input_ = std::make_unique<const std::string>(std::move(bytes));
    in_ = *doc_.input_;
    owned_budget_ = in_.size();
    for (Kind k : {Kind::kNone, Kind::kBool, Kind::kBool}) make(k);
    doc_.objects_[kTrueId].i = 1;
  }

  Document run();

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(label_ + ": malformed pickle at byte " + std::to_string(op_pos_) + ": " + problem);
  }

  // ---- input
  std::string_view take(uint64_t n) {
    if (n > in_.size() - pos_)
      throw Error(label_ + ": truncated pickle: needs " + std::to_string(n) + " bytes at byte " +
                  std::to_string(pos_) + ", only " + std::to_string(in_.size() - pos_) + " left");
    std::string_view s = in_.substr(pos_, size_t(n));
    pos_ += size_t(n);
    return s;
  }
  uint64_t le(int n) {  // unsigned little-endian integer of n bytes
    std::string_view s = take(uint64_t(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | uint8_t(s[size_t(k)]);
    return v;
  }
  std::string_view line() {  // GLOBAL argument: text up to '\n'
    size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) take(in_.size() - pos_ + 1);  // throws "truncated"
    std::string_view s = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  // ---- objects and stack
  ObjId make(Kind kind) {
    if (doc_.objects_.size() >= kMaxObjects) fail("more than " + std::to_string(kMaxObjects) + " objects");
    doc_.objects_.emplace_back().kind = kind;
    return ObjId(doc_.objects_.size() - 1);
  }
  ObjId make_text(Kind kind, std::string_view text) {
    ObjId id = make(kind);
    doc_.objects_[id].text = text;
    return id;
  }
  ObjId make_int(int64_t v) {
    ObjId id = make(Kind::kInt);
    doc_.objects_[id].i = v;
    return id;
  }
  Object& obj(ObjId id) { return doc_.objects_[id]; }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }  // items below the mark are hidden
  ObjId top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  ObjId pop() {
    ObjId id = top();
    stack_.pop_back();
    return id;
  }
  std::vector<ObjId> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    std::vector<ObjId> items(stack_.begin() + std::ptrdiff_t(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Object& expect(ObjId id, Kind kind, const std::string& what) {
    if (obj(id).kind != kind)
      fail(what + " must be a " + kind_name(kind) + ", got " + kind_name(obj(id).kind));
    return obj(id);
  }
  ObjId memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }

  void op_global(std::string_view module, std::string_view name);
  ObjId call(ObjId fn, ObjId args);
  ObjId call_dtype(const std::vector<ObjId>& args);
  ObjId call_codecs_encode(const std::vector<ObjId>& args);
  ObjId call_frombuffer(const std::vector<ObjId>& args);
  void build(ObjId target, ObjId state);
  Shape read_shape(ObjId id, int64_t* elements);
  std::string_view text_of(ObjId id, const char* what) {
    const Object& o = obj(id);
    if (o.kind != Kind::kStr && o.kind != Kind::kBytes) fail(std::string(what) + " must be str or bytes");
    return o.text;
  }
  bool truth_of(ObjId id, const char* what) {
    const Object& o = obj(id);
    if (o.kind != Kind::kBool && o.kind != Kind::kInt) fail(std::string(what) + " must be a bool");
    return o.i != 0;
  }

  Document doc_;
  std::string label_;
  std::string_view in_;
  size_t pos_ = 0, op_pos_ = 0;
  uint64_t owned_budget_ = 0;  // bytes codecs.encode may still produce (total ≤ input size)
  std::vector<ObjId> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ObjId> memo_;
};

Document Parser::run() {
  for (;;) {
    op_pos_ = pos_;
    if (pos_ >= in_.size()) fail("ends without STOP");
    const uint8_t op = uint8_t(in_[pos_++]);
    switch (op) {
      case 0x80: {  // PROTO
        uint64_t v = le(1);
        if (v < 2 || v > 5) fail("unsupported protocol " + std::to_string(v));
        break;
      }
      case 0x95:  // FRAME: a length hint only; the opcodes inside are read as usual
        if (le(8) > in_.size() - pos_) fail("FRAME longer than the rest of the file");
        break;
      case '.': {  // STOP
        doc_.root_ = top();
        if (pos_ != in_.size()) fail(std::to_string(in_.size() - pos_) + " trailing bytes after STOP");
        return std::move(doc_);
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case 'N': stack_.push_back(kNoneId); break;
      case 0x88: stack_.push_back(kTrueId); break;
      case 0x89: stack_.push_back(kFalseId); break;
      case '}': stack_.push_back(make(Kind::kDict)); break;
      case ']': stack_.push_back(make(Kind::kList)); break;
      case ')': stack_.push_back(make(Kind::kTuple)); break;
      case 'K': stack_.push_back(make_int(int64_t(le(1)))); break;           // BININT1
      case 'M': stack_.push_back(make_int(int64_t(le(2)))); break;           // BININT2
      case 'J': stack_.push_back(make_int(int32_t(uint32_t(le(4))))); break;  // BININT (signed)
      case 0x8a: {  // LONG1: n-byte little-endian two's complement
        const int n = int(le(1));
        if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes does not fit in 64 bits");
        uint64_t v = n == 0 ? 0 : le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t(0) << (8 * n);  // sign-extend
        stack_.push_back(make_int(int64_t(v)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        std::string_view s = take(8);
        uint64_t bits = 0;
        for (char c : s) bits = (bits << 8) | uint8_t(c);
        ObjId id = make(Kind::kFloat);
        obj(id).f = std::bit_cast<double>(bits);
        stack_.push_back(id);
        break;
      }
      case 'X': stack_.push_back(make_text(Kind::kStr, take(le(4)))); break;     // BINUNICODE
      case 0x8c: stack_.push_back(make_text(Kind::kStr, take(le(1)))); break;    // SHORT_BINUNICODE
      case 0x8d: stack_.push_back(make_text(Kind::kStr, take(le(8)))); break;    // BINUNICODE8
      case 'U': stack_.push_back(make_text(Kind::kBytes, take(le(1)))); break;   // SHORT_BINSTRING
      case 'T': {                                                                // BINSTRING (signed)
        const int32_t n = int32_t(uint32_t(le(4)));
        if (n < 0) fail("negative BINSTRING length");
        stack_.push_back(make_text(Kind::kBytes, take(uint64_t(n))));
        break;
      }
      case 'C': stack_.push_back(make_text(Kind::kBytes, take(le(1)))); break;   // SHORT_BINBYTES
      case 'B': stack_.push_back(make_text(Kind::kBytes, take(le(4)))); break;   // BINBYTES
      case 0x8e: stack_.push_back(make_text(Kind::kBytes, take(le(8)))); break;  // BINBYTES8
      case 0x96: stack_.push_back(make_text(Kind::kBytes, take(le(8)))); break;  // BYTEARRAY8
      case 'a': {  // APPEND
        ObjId v = pop();
        expect(top(), Kind::kList, "APPEND target").items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<ObjId> vs = pop_mark();
        auto& items = expect(top(), Kind::kList, "APPENDS target").items;
        items.insert(items.end(), vs.begin(), vs.end());
        break;
      }
      case 's': {  // SETITEM
        ObjId v = pop(), k = pop();
        auto& items = expect(top(), Kind::kDict, "SETITEM target").items;
        items.push_back(k);
        items.push_back(v);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<ObjId> kvs = pop_mark();
        if (kvs.size() % 2 != 0) fail("SETITEMS with an odd number of items");
        auto& items = expect(top(), Kind::kDict, "SETITEMS target").items;
        items.insert(items.end(), kvs.begin(), kvs.end());
        break;
      }
      case 't': {  // TUPLE
        std::vector<ObjId> vs = pop_mark();
        ObjId id = make(Kind::kTuple);
        obj(id).items = std::move(vs);
        stack_.push_back(id);
        break;
      }
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const size_t n = op - 0x84u;
        std::vector<ObjId> vs(n);
        for (size_t k = n; k-- > 0;) vs[k] = pop();
        ObjId id = make(Kind::kTuple);
        obj(id).items = std::move(vs);
        stack_.push_back(id);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string_view module = line();
        op_global(module, line());
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ObjId name = pop(), module = pop();
        std::string_view name_text = expect(name, Kind::kStr, "STACK_GLOBAL name").text;
        op_global(expect(module, Kind::kStr, "STACK_GLOBAL module").text, name_text);
        break;
      }
      case 'R': case 0x81: {  // REDUCE fn(*args); NEWOBJ cls.__new__(cls, *args), emulated alike
        ObjId args = pop(), fn = pop();
        stack_.push_back(call(fn, args));
        break;
      }
      case 'b': {  // BUILD
        ObjId state = pop();
        build(top(), state);
        break;
      }
      case 'q': memo_[le(1)] = top(); break;             // BINPUT
      case 'r': memo_[le(4)] = top(); break;             // LONG_BINPUT
      case 0x94: memo_[memo_.size()] = top(); break;     // MEMOIZE
      case 'h': stack_.push_back(memo_get(le(1))); break;  // BINGET
      case 'j': stack_.push_back(memo_get(le(4))); break;  // LONG_BINGET
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported opcode ") + hex);
      }
    }
  }
}

void Parser::op_global(std::string_view module, std::string_view name) {
  const std::string full = std::string(module) + "." + std::string(name);
  for (const AllowedGlobal& g : kAllowedGlobals) {
    if (g.name != full) continue;
    ObjId id = make_text(Kind::kGlobal, g.name);  // g.name has static storage
    obj(id).i = int64_t(g.fn);
    stack_.push_back(id);
    return;
  }
  std::string shown = full.size() > 80 ? full.substr(0, 80) + "..." : full;
  for (char& c : shown)
    if (uint8_t(c) < 0x20 || uint8_t(c) >= 0x7f) c = '?';
  fail("refusing global '" + shown + "' (only numpy array reconstruction is allowed)");
}

ObjId Parser::call(ObjId fn, ObjId args_id) {
  const Callable f = Callable(expect(fn, Kind::kGlobal, "callable").i);
  const std::string fn_name(obj(fn).text);
  const std::vector<ObjId> args = expect(args_id, Kind::kTuple, fn_name + " arguments").items;
  switch (f) {
    case Callable::kReconstruct: {  // _reconstruct(ndarray, shape, typecode): an empty array until BUILD
      if (args.size() != 3 || obj(args[0]).kind != Kind::kGlobal ||
          Callable(obj(args[0]).i) != Callable::kNdarray)
        fail(fn_name + " expects (numpy.ndarray, shape, typecode)");
      return make(Kind::kArray);
    }
    case Callable::kNdarray: fail("numpy.ndarray may only be passed to _reconstruct");
    case Callable::kDtype: return call_dtype(args);
    case Callable::kCodecsEncode: return call_codecs_encode(args);
    case Callable::kBytes:
      if (!args.empty()) fail("bytes() with arguments is not supported");
      return make_text(Kind::kBytes, std::string_view());
    case Callable::kFromBuffer: return call_frombuffer(args);
  }
  fail("bad callable");
}

// numpy.dtype(spec, align, copy); byte order comes later from BUILD (default: little / not applicable).
ObjId Parser::call_dtype(const std::vector<ObjId>& args) {
  if (args.empty() || args.size() > 3) fail("numpy.dtype expects (spec, align, copy)");
  std::string_view spec = text_of(args[0], "numpy.dtype spec");
  bool big_endian = false;
  if (!spec.empty() && std::strchr("<>|=", spec[0]) != nullptr) {
    big_endian = spec[0] == '>' || (spec[0] == '=' && std::endian::native == std::endian::big);
    spec.remove_prefix(1);
  }
  ArrayInfo a;
  if (spec == "u1") a.dtype = DType::kUint8, a.item_size = 1;
  else if (spec == "i1") a.dtype = DType::kInt8, a.item_size = 1;
  else if (spec == "i4") a.dtype = DType::kInt32, a.item_size = 4;
  else if (spec == "i8") a.dtype = DType::kInt64, a.item_size = 8;
  else if (spec == "f4") a.dtype = DType::kFloat32, a.item_size = 4;
  else fail("unsupported numpy dtype '" + std::string(spec.substr(0, 16)) + "' (u1, i1, i4, i8, f4 only)");
  a.big_endian = big_endian;
  ObjId id = make(Kind::kDtype);
  obj(id).array = a;
  return id;
}

// codecs.encode(text, "latin1"): how Python 3 writes bytes in protocol 2. Each code point must be ≤ U+00FF.
ObjId Parser::call_codecs_encode(const std::vector<ObjId>& args) {
  if (args.size() != 2) fail("codecs.encode expects (text, encoding)");
  const std::string_view text = expect(args[0], Kind::kStr, "codecs.encode text").text;
  const std::string_view encoding = text_of(args[1], "codecs.encode encoding");
  if (encoding != "latin1" && encoding != "latin-1" && encoding != "iso-8859-1")
    fail("codecs.encode with encoding other than latin1");
  if (text.size() > owned_budget_) fail("decoded bytes exceed the input size");
  auto out = std::make_unique<std::string>();
  out->reserve(text.size());
  for (size_t k = 0; k < text.size(); ++k) {
    const uint8_t b = uint8_t(text[k]);
    if (b < 0x80) {
      out->push_back(char(b));
    } else if ((b == 0xC2 || b == 0xC3) && k + 1 < text.size() && (uint8_t(text[k + 1]) & 0xC0) == 0x80) {
      out->push_back(char(((b & 0x1F) << 6) | (uint8_t(text[++k]) & 0x3F)));
    } else {
      fail("codecs.encode: text is not latin1 (invalid or > U+00FF UTF-8 at offset " + std::to_string(k) + ")");
    }
  }
  owned_budget_ -= out->size();
  const std::string_view view = *out;
  doc_.owned_.push_back(std::move(out));
  return make_text(Kind::kBytes, view);
}

// _frombuffer(buffer, dtype, shape, order): how numpy pickles arrays in protocol 5.
ObjId Parser::call_frombuffer(const std::vector<ObjId>& args) {
  if (args.size() != 4) fail("_frombuffer expects (buffer, dtype, shape, order)");
  const std::string_view data = expect(args[0], Kind::kBytes, "_frombuffer buffer").text;
  ArrayInfo a = expect(args[1], Kind::kDtype, "_frombuffer dtype").array;
  int64_t elements = 0;
  a.shape = read_shape(args[2], &elements);
  const std::string_view order = text_of(args[3], "_frombuffer order");
  if (order != "C" && order != "F") fail("_frombuffer order must be 'C' or 'F'");
  a.fortran = order == "F";
  if (uint64_t(elements) * uint64_t(a.item_size) != data.size()) fail("_frombuffer buffer size does not match shape");
  a.data = data;
  a.built = true;
  ObjId id = make(Kind::kArray);
  obj(id).array = std::move(a);
  return id;
}

Shape Parser::read_shape(ObjId id, int64_t* elements) {
  Shape shape;
  *elements = 1;
  for (ObjId d : expect(id, Kind::kTuple, "array shape").items) {
    const int64_t v = expect(d, Kind::kInt, "array dimension").i;
    if (v < 0 || (v > 0 && *elements > kMaxElements / v)) fail("array shape is negative or too large");
    *elements *= v;
    shape.push_back(v);
  }
  return shape;
}

void Parser::build(ObjId target, ObjId state_id) {
  const Kind kind = obj(target).kind;
  if (kind == Kind::kDtype) {  // state (version, byteorder, subarray, names, fields, elsize, alignment, flags...)
    const std::vector<ObjId>& state = expect(state_id, Kind::kTuple, "dtype state").items;
    if (state.size() < 2) fail("dtype state too short");
    const std::string_view order = text_of(state[1], "dtype byte order");
    if (order.size() != 1 || std::strchr("<>|=", order[0]) == nullptr) fail("bad dtype byte order");
    obj(target).array.big_endian = order[0] == '>' || (order[0] == '=' && std::endian::native == std::endian::big);
    return;
  }
  if (kind != Kind::kArray || obj(target).array.built) fail(std::string("BUILD on ") + kind_name(kind));
  // state (version, shape, dtype, is_fortran, rawdata), or the version-less 4-tuple.
  std::vector<ObjId> state = expect(state_id, Kind::kTuple, "ndarray state").items;
  if (state.size() == 5) state.erase(state.begin());
  if (state.size() != 4) fail("ndarray state must have 4 or 5 items");
  ArrayInfo a = expect(state[1], Kind::kDtype, "ndarray dtype").array;
  int64_t elements = 0;
  a.shape = read_shape(state[0], &elements);
  a.fortran = truth_of(state[2], "ndarray is_fortran");
  if (obj(state[3]).kind != Kind::kBytes) fail("ndarray data must be bytes (object arrays are not supported)");
  a.data = obj(state[3]).text;
  if (uint64_t(elements) * uint64_t(a.item_size) != a.data.size())
    fail("ndarray data has " + std::to_string(a.data.size()) + " bytes, shape needs " +
         std::to_string(uint64_t(elements) * uint64_t(a.item_size)));
  a.built = true;
  obj(target).array = std::move(a);
}

Document unpickle(std::string bytes, const std::string& label) {
  return Parser(std::move(bytes), label).run();
}

std::vector<int64_t> array_to_ints(const ArrayInfo& a) {
  if (a.dtype == DType::kFloat32) throw Error("array_to_ints: array holds floats");
  const bool is_signed = a.dtype != DType::kUint8;
  const size_t n = a.data.size() / size_t(a.item_size);
  std::vector<int64_t> out(n);
  for (size_t e = 0; e < n; ++e) {
    const char* p = a.data.data() + e * size_t(a.item_size);
    uint64_t v = 0;
    for (int k = 0; k < a.item_size; ++k) {
      const int byte = a.big_endian ? k : a.item_size - 1 - k;  // most significant first
      v = (v << 8) | uint8_t(p[byte]);
    }
    const int bits = 8 * a.item_size;
    if (is_signed && bits < 64 && (v >> (bits - 1)) != 0) v |= ~uint64_t(0) << bits;
    out[e] = int64_t(v);
  }
  return out;
}

}  // namespace tinyptq::pickle
