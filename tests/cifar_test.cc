// CIFAR-10 loading (binary and python layouts), the safe pickle reader, and pixel preprocessing.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "data/cifar.h"
#include "data/pickle.h"
#include "data/preprocess.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using namespace std::string_literals;
using testing::TempDir;
using testing::write_bytes;

constexpr int kImg = Dataset::kImageBytes;

// Deterministic, position- and image-dependent pixel pattern.
uint8_t pattern(int image, int k) { return uint8_t((image * 131 + k * 7 + k / 1024 * 50) & 0xFF); }

std::string image_bytes(int image) {
  std::string s(kImg, '\0');
  for (int k = 0; k < kImg; ++k) s[size_t(k)] = char(pattern(image, k));
  return s;
}

// Binary records for images first..first+labels.size()-1.
std::string binary_batch(const std::vector<int>& labels, int first) {
  std::string s;
  for (size_t r = 0; r < labels.size(); ++r) s += char(labels[r]) + image_bytes(first + int(r));
  return s;
}

// Writes pickle opcodes by hand, the way CPython's pickler does.
struct PickleWriter {
  std::string b;
  PickleWriter& op(uint8_t c) { b += char(c); return *this; }
  PickleWriter& le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) b += char((v >> (8 * k)) & 0xFF);
    return *this;
  }
  PickleWriter& proto(int v) { return op(0x80).le(uint64_t(v), 1); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& global(const std::string& module, const std::string& name) {
    b += "c" + module + "\n" + name + "\n";
    return *this;
  }
  PickleWriter& stack_global(const std::string& module, const std::string& name) {
    return short_unicode(module).memoize().short_unicode(name).memoize().op(0x93).memoize();
  }
  PickleWriter& put(int i) { return op('q').le(uint64_t(i), 1); }
  PickleWriter& get(int i) { return op('h').le(uint64_t(i), 1); }
  PickleWriter& memoize() { return op(0x94); }
  PickleWriter& int1(int v) { return op('K').le(uint64_t(v), 1); }
  PickleWriter& int2(int v) { return op('M').le(uint64_t(v), 2); }
  PickleWriter& int4(int32_t v) { return op('J').le(uint32_t(v), 4); }
  PickleWriter& unicode(const std::string& s) { op('X').le(s.size(), 4); b += s; return *this; }
  PickleWriter& short_unicode(const std::string& s) { op(0x8c).le(s.size(), 1); b += s; return *this; }
  PickleWriter& short_string(const std::string& s) { op('U').le(s.size(), 1); b += s; return *this; }
  PickleWriter& string(const std::string& s) { op('T').le(s.size(), 4); b += s; return *this; }
  PickleWriter& short_bytes(const std::string& s) { op('C').le(s.size(), 1); b += s; return *this; }
  PickleWriter& bytes(const std::string& s) { op('B').le(s.size(), 4); b += s; return *this; }
  // Python 3, protocol 2: bytes are codecs.encode(latin1 text, 'latin1'); memo 1 = encode, 2 = 'latin1'.
  PickleWriter& py3_bytes(const std::string& s) {
    std::string utf8;
    for (unsigned char c : s) {
      if (c < 0x80) utf8 += char(c);
      else utf8 += char(0xC0 | (c >> 6)), utf8 += char(0x80 | (c & 0x3F));
    }
    return get(1).unicode(utf8).get(2).op(0x86).op('R');
  }
};

// Python 2 cPickle, protocol 2 (how the official cifar-10-batches-py files are written).
std::string py2_batch(const std::vector<int>& labels, int first) {
  const int n = int(labels.size());
  std::string data;
  for (int k = 0; k < n; ++k) data += image_bytes(first + k);
  PickleWriter w;
  w.proto(2).op('}').put(1).mark();
  w.short_string("data").put(2).global("numpy.core.multiarray", "_reconstruct").put(3).global("numpy", "ndarray");
  w.put(4).int1(0).op(0x85).short_string("b").op(0x87).op('R').put(5);
  w.mark().int1(1).int1(n).int2(kImg).op(0x86).global("numpy", "dtype").put(6);
  w.short_string("u1").int1(0).int1(1).op(0x87).op('R').put(7);
  w.mark().int1(3).short_string("|").op('N').op('N').op('N').int4(-1).int4(-1).int1(0).op('t').op('b');
  w.op(0x89).string(data).op('t').op('b');
  w.short_string("labels").put(8).op(']').put(9).mark();
  for (int l : labels) w.int1(l);
  w.op('e');
  w.short_string("batch_label").put(10).short_string("training batch 1 of 5").put(11);
  w.short_string("filenames").put(12).op(']').put(13).mark();
  for (int k = 0; k < n; ++k) w.short_string("img_" + std::to_string(k) + ".png");
  w.op('e').op('u').op('.');
  return w.b;
}

// Python 3 pickle.dump(dict, protocol=2) of a numpy array: bytes go through codecs.encode.
std::string py3_proto2_batch(const std::vector<int>& labels, int first) {
  const int n = int(labels.size());
  std::string data;
  for (int k = 0; k < n; ++k) data += image_bytes(first + k);
  PickleWriter w;
  w.proto(2).op('}').put(0).mark();
  w.global("_codecs", "encode").put(1).unicode("data").unicode("latin1").put(2).op(0x86).op('R').put(3);  // b'data'
  w.global("numpy.core.multiarray", "_reconstruct").put(4).global("numpy", "ndarray").put(5);
  w.int1(0).op(0x85).py3_bytes("b").op(0x87).op('R').put(6);
  w.mark().int1(1).int1(n).int2(kImg).op(0x86).global("numpy", "dtype").put(7);
  w.unicode("u1").op(0x89).op(0x88).op(0x87).op('R').put(8);
  w.mark().int1(3).unicode("|").op('N').op('N').op('N').int4(-1).int4(-1).int1(0).op('t').op('b');
  w.op(0x89).py3_bytes(data).op('t').op('b');
  w.unicode("labels").op(']').put(9).mark();  // a str key: 'labels'
  for (int l : labels) w.int1(l);
  w.op('e');
  w.py3_bytes("batch_label").py3_bytes("testing batch 1 of 1");
  w.unicode("empty").global("__builtin__", "bytes").op(')').op('R');
  w.op('u').op('.');
  return w.b;
}

// Python 3 protocol 4: FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINBYTES / BINBYTES, numpy 2 module names.
std::string py3_proto4_batch(const std::vector<int>& labels, int first) {
  const int n = int(labels.size());
  std::string data;
  for (int k = 0; k < n; ++k) data += image_bytes(first + k);
  PickleWriter w;
  w.op('}').memoize().mark();
  w.short_bytes("data").memoize().stack_global("numpy._core.multiarray", "_reconstruct");
  w.stack_global("numpy", "ndarray").int1(0).op(0x85).memoize().short_bytes("b").memoize().op(0x87).memoize();
  w.op('R').memoize().mark().int1(1).int1(n).int2(kImg).op(0x86).memoize().stack_global("numpy", "dtype");
  w.short_unicode("u1").memoize().op(0x89).op(0x88).op(0x87).memoize().op('R').memoize();
  w.mark().int1(3).short_unicode("|").memoize().op('N').op('N').op('N').int4(-1).int4(-1).int1(0).op('t');
  w.memoize().op('b').op(0x89).bytes(data).memoize().op('t').memoize().op('b');
  w.short_bytes("labels").memoize().op(']').memoize().mark();
  for (int l : labels) w.int1(l);
  w.op('e').op('u').op('.');
  PickleWriter out;
  out.proto(4).op(0x95).le(w.b.size(), 8);
  return out.b + w.b;
}

std::string py2_meta(const std::vector<std::string>& names) {
  PickleWriter w;
  w.proto(2).op('}').put(1).mark().short_string("num_cases_per_batch").int2(10000).short_string("label_names");
  w.op(']').put(2).mark();
  for (const std::string& s : names) w.short_string(s);
  w.op('e').short_string("num_vis").int2(kImg).op('u').op('.');
  return w.b;
}

const std::vector<std::string> kNames = {"plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                         "truck"};

void expect_images(const Dataset& d, const std::vector<int>& labels, int first_pattern) {
  ASSERT_EQ(d.count, int64_t(labels.size()));
  ASSERT_EQ(d.pixels.size(), labels.size() * kImg);
  for (size_t k = 0; k < labels.size(); ++k) {
    EXPECT_EQ(d.labels[k], labels[k]) << "image " << k;
    EXPECT_EQ(std::memcmp(d.image(int64_t(k)), image_bytes(first_pattern + int(k)).data(), kImg), 0) << "image " << k;
  }
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// ---------------------------------------------------------------- binary layout

TEST(CifarBinary, LoadsTrainBatchesInOrderAndTestBatch) {
  TempDir dir;
  write_bytes(dir.file("data_batch_1.bin"), binary_batch({1, 2, 3}, 0));
  write_bytes(dir.file("data_batch_3.bin"), binary_batch({9, 0}, 3));  // batch 2 absent: allowed
  write_bytes(dir.file("test_batch.bin"), binary_batch({7, 5}, 100));
  std::string meta;
  for (const auto& s : kNames) meta += s + " \r\n";
  write_bytes(dir.file("batches.meta.txt"), meta + "\n\n");

  Dataset train = load_cifar10(dir.path(), Split::kTrain);
  expect_images(train, {1, 2, 3, 9, 0}, 0);
  EXPECT_EQ(train.class_names, kNames);
  EXPECT_EQ(train.source, dir.path());
  EXPECT_EQ(train.split, Split::kTrain);

  Dataset test = load_cifar10(dir.path(), Split::kTest);
  expect_images(test, {7, 5}, 100);

  Dataset limited = load_cifar10(dir.path(), Split::kTrain, 4);  // crosses into the second file
  expect_images(limited, {1, 2, 3, 9}, 0);
  EXPECT_EQ(load_cifar10(dir.path(), Split::kTrain, 0).count, 0);
  EXPECT_EQ(load_cifar10(dir.path(), Split::kTrain, 100).count, 5);
  EXPECT_THROW(train.image(5), Error);
  EXPECT_THROW(train.image(-1), Error);
}

TEST(CifarBinary, ParentDirectoryAndDefaultNames) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("cifar-10-batches-bin"));
  write_bytes(dir.file("cifar-10-batches-bin/test_batch.bin"), binary_batch({4}, 0));
  Dataset d = load_cifar10(dir.path(), Split::kTest);
  expect_images(d, {4}, 0);
  EXPECT_EQ(d.source, dir.file("cifar-10-batches-bin"));
  ASSERT_EQ(d.class_names.size(), 10u);
  EXPECT_EQ(d.class_names[0], "airplane");
  EXPECT_EQ(d.class_names[9], "truck");
}

TEST(CifarBinary, Errors) {
  TempDir dir;
  EXPECT_NE(error_of([&] { load_cifar10(dir.file("nope"), Split::kTest); }).find("does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_cifar10(dir.path(), Split::kTest); }).find("no batch files"), std::string::npos);

  write_bytes(dir.file("test_batch.bin"), binary_batch({1}, 0));
  std::string msg = error_of([&] { load_cifar10(dir.path(), Split::kTrain); });
  EXPECT_NE(msg.find("data_batch_N.bin"), std::string::npos) << msg;

  write_bytes(dir.file("data_batch_1.bin"), binary_batch({1, 2}, 0) + "xyz");
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTrain); });
  EXPECT_NE(msg.find("data_batch_1.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("multiple of 3073"), std::string::npos) << msg;

  write_bytes(dir.file("data_batch_1.bin"), binary_batch({1, 10}, 0));
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTrain); });
  EXPECT_NE(msg.find("image 1 has label 10"), std::string::npos) << msg;
  EXPECT_EQ(load_cifar10(dir.path(), Split::kTrain, 1).count, 1);  // the bad record is never read

  write_bytes(dir.file("test_batch.bin"), "");
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTest); });
  EXPECT_NE(msg.find("no images"), std::string::npos) << msg;

  write_bytes(dir.file("test_batch.bin"), binary_batch({1}, 0));
  write_bytes(dir.file("batches.meta.txt"), "a\nb\n");
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTest); });
  EXPECT_NE(msg.find("expected 10 class names, found 2"), std::string::npos) << msg;
}

// ---------------------------------------------------------------- python layout

TEST(CifarPython, Python2Protocol2) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("cifar-10-batches-py"));
  write_bytes(dir.file("cifar-10-batches-py/data_batch_2.bin.txt"), "ignored");
  write_bytes(dir.file("cifar-10-batches-py/data_batch_1"), py2_batch({3, 1, 4}, 0));
  write_bytes(dir.file("cifar-10-batches-py/data_batch_2"), py2_batch({1, 5}, 3));
  write_bytes(dir.file("cifar-10-batches-py/test_batch"), py2_batch({9, 2}, 50));
  write_bytes(dir.file("cifar-10-batches-py/batches.meta"), py2_meta(kNames));

  Dataset train = load_cifar10(dir.path(), Split::kTrain);
  expect_images(train, {3, 1, 4, 1, 5}, 0);
  EXPECT_EQ(train.class_names, kNames);
  EXPECT_EQ(train.source, dir.file("cifar-10-batches-py"));
  expect_images(load_cifar10(dir.path(), Split::kTest), {9, 2}, 50);
  expect_images(load_cifar10(dir.path(), Split::kTrain, 2), {3, 1}, 0);
  expect_images(load_cifar10(dir.path(), Split::kTrain, 4), {3, 1, 4, 1}, 0);
}

TEST(CifarPython, Python3Protocol2And4) {
  TempDir dir;
  write_bytes(dir.file("data_batch_1"), py3_proto2_batch({0, 8, 6}, 10));
  write_bytes(dir.file("test_batch"), py3_proto4_batch({2, 7}, 20));
  Dataset train = load_cifar10(dir.path(), Split::kTrain);
  expect_images(train, {0, 8, 6}, 10);
  EXPECT_EQ(train.class_names[3], "cat");  // no meta file: standard names
  expect_images(load_cifar10(dir.path(), Split::kTest), {2, 7}, 20);
}

TEST(CifarPython, Errors) {
  TempDir dir;
  write_bytes(dir.file("test_batch"), py2_batch({3, 10}, 0));
  std::string msg = error_of([&] { load_cifar10(dir.path(), Split::kTest); });
  EXPECT_NE(msg.find("test_batch': image 1 has label 10"), std::string::npos) << msg;

  write_bytes(dir.file("test_batch"), py2_batch({}, 0));
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTest); });
  EXPECT_NE(msg.find("no images"), std::string::npos) << msg;

  write_bytes(dir.file("test_batch"), "\x80\x02}.");
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTest); });
  EXPECT_NE(msg.find("missing 'data'"), std::string::npos) << msg;

  write_bytes(dir.file("data_batch_1"), py2_batch({1, 2}, 0));
  write_bytes(dir.file("data_batch_2"), py2_batch({1, 2}, 0).substr(0, 100));
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTrain); });
  EXPECT_NE(msg.find("data_batch_2: truncated pickle"), std::string::npos) << msg;
  EXPECT_EQ(load_cifar10(dir.path(), Split::kTrain, 2).count, 2);  // data_batch_2 is never read

  write_bytes(dir.file("test_batch"), py2_batch({1}, 0));
  write_bytes(dir.file("batches.meta"), py2_meta({"a", "b"}));
  msg = error_of([&] { load_cifar10(dir.path(), Split::kTest); });
  EXPECT_NE(msg.find("batches.meta': expected 10 class names"), std::string::npos) << msg;
}

// ---------------------------------------------------------------- pickle reader

TEST(Pickle, ScalarsAndContainers) {
  PickleWriter w;
  w.proto(2).op(']').put(0).mark();
  w.op(0x8a).le(1, 1).le(0xFF, 1);                     // LONG1 -1
  w.op(0x8a).le(6, 1).le(0x010000000000ull, 6);        // LONG1 2^40
  w.int4(-5).op('N').op(0x88).op(0x89);
  w.op('G').le(0x000000000000F83Full, 8);              // BINFLOAT 1.5 (big-endian bytes 3F F8 00..)
  w.short_unicode("h\xc3\xa9").op('r').le(70000, 4).op('j').le(70000, 4);  // LONG_BINPUT / LONG_BINGET
  w.op(')').op('e').op('.');
  pickle::Document doc = pickle::unpickle(w.b, "mem");
  const pickle::Object& list = doc.root();
  ASSERT_EQ(list.kind, pickle::Kind::kList);
  ASSERT_EQ(list.items.size(), 10u);
  EXPECT_EQ(doc.at(list.items[0]).i, -1);
  EXPECT_EQ(doc.at(list.items[1]).i, int64_t(1) << 40);
  EXPECT_EQ(doc.at(list.items[2]).i, -5);
  EXPECT_EQ(doc.at(list.items[3]).kind, pickle::Kind::kNone);
  EXPECT_EQ(doc.at(list.items[4]).i, 1);
  EXPECT_EQ(doc.at(list.items[5]).i, 0);
  EXPECT_EQ(doc.at(list.items[6]).f, 1.5);
  EXPECT_EQ(doc.at(list.items[7]).text, "h\xc3\xa9");
  EXPECT_EQ(list.items[7], list.items[8]);  // memo returns the same object
  EXPECT_EQ(doc.at(list.items[9]).kind, pickle::Kind::kTuple);
}

TEST(Pickle, Protocol5FromBufferInt64Labels) {
  // numpy protocol 5 in-band: _frombuffer(bytearray, dtype('<i8'), shape, 'C').
  std::string raw;
  for (int64_t v : {3, -2, 1}) for (int k = 0; k < 8; ++k) raw += char((uint64_t(v) >> (8 * k)) & 0xFF);
  PickleWriter v;  // MARK before the buffer: the 4 arguments form one TUPLE
  v.proto(5).stack_global("numpy._core.numeric", "_frombuffer").mark().op(0x96).le(raw.size(), 8);
  v.b += raw;
  v.stack_global("numpy", "dtype").short_unicode("i8").op(0x89).op(0x88).op(0x87).op('R');
  v.mark().int1(3).short_unicode("<").op('N').op('N').op('N').int4(-1).int4(-1).int1(0).op('t').op('b');
  v.int1(3).op(0x85).short_unicode("C").op('t').op('R').op('.');
  pickle::Document doc = pickle::unpickle(v.b, "mem");
  ASSERT_EQ(doc.root().kind, pickle::Kind::kArray);
  EXPECT_EQ(doc.root().array.dtype, DType::kInt64);
  EXPECT_EQ(doc.root().array.shape, Shape({3}));
  EXPECT_EQ(pickle::array_to_ints(doc.root().array), std::vector<int64_t>({3, -2, 1}));
}

TEST(Pickle, RefusesDisallowedGlobals) {
  PickleWriter w;
  w.proto(2).global("os", "system").unicode("echo pwned").op(0x85).op('R').op('.');
  std::string msg = error_of([&] { pickle::unpickle(w.b, "evil.pkl"); });
  EXPECT_NE(msg.find("evil.pkl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'os.system'"), std::string::npos) << msg;

  PickleWriter s;
  s.proto(4).stack_global("builtins", "eval").short_unicode("1").op(0x85).op('R').op('.');
  msg = error_of([&] { pickle::unpickle(s.b, "evil.pkl"); });
  EXPECT_NE(msg.find("'builtins.eval'"), std::string::npos) << msg;

  PickleWriter n;  // numpy.ndarray itself is only an argument of _reconstruct
  n.proto(2).global("numpy", "ndarray").op(')').op('R').op('.');
  EXPECT_THROW(pickle::unpickle(n.b, "x"), Error);
}

TEST(Pickle, HostileInputsAreErrors) {
  auto expect_error = [](const std::string& bytes, const std::string& needle) {
    std::string msg = error_of([&] { pickle::unpickle(bytes, "h.pkl"); });
    EXPECT_NE(msg.find(needle), std::string::npos) << "want: " << needle << ", got: " << msg;
  };
  const std::string p2 = "\x80\x02";
  expect_error("", "ends without STOP");
  expect_error(p2 + "B\xff\xff\xff\xff", "truncated");                                       // 4 GB BINBYTES
  expect_error(p2 + "\x8e\xff\xff\xff\xff\xff\xff\xff\x7f", "truncated");                    // BINBYTES8 2^63
  expect_error(p2 + "T\xff\xff\xff\xff", "negative BINSTRING");
  expect_error(p2 + "\x8a\x20" + std::string(32, '\x01') + ".", "does not fit");             // LONG1 256-bit
  expect_error(p2 + "h\x05.", "never stored");
  expect_error(p2 + "NK\x01" "a.", "APPEND target");
  expect_error(p2 + "R.", "stack underflow");
  expect_error(p2 + "(Na.", "stack underflow");   // APPEND cannot reach below the MARK
  expect_error(p2 + "e.", "no MARK");
  expect_error(p2 + "N.x", "trailing bytes");
  expect_error(p2 + "I1\n.", "unsupported opcode 0x49");
  expect_error("\x80\x09N.", "unsupported protocol 9");
  expect_error(p2 + "c_codecs\nencode\nX\x02\x00\x00\x00\xc4\x80X\x06\x00\x00\x00latin1\x86R."s, "not latin1");
  // _reconstruct + BUILD with a shape of 2^50 elements
  PickleWriter w;
  w.proto(2).global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray").int1(0).op(0x85);
  w.short_string("b").op(0x87).op('R').mark().int1(1).int4(1 << 25).int4(1 << 25).op(0x86);
  w.global("numpy", "dtype").short_string("u1").int1(0).int1(1).op(0x87).op('R');
  w.op(0x89).short_string("").op('t').op('b').op('.');
  expect_error(w.b, "too large");
}

TEST(Pickle, EveryTruncationIsAnError) {
  const std::vector<std::string> pickles = {py2_batch({1, 2}, 0), py3_proto2_batch({3}, 0),
                                            py3_proto4_batch({4}, 0), py2_meta(kNames)};
  for (const std::string& full : pickles) {
    ASSERT_NO_THROW(pickle::unpickle(full, "full"));
    for (size_t len = 0; len < full.size(); ++len)
      EXPECT_THROW(pickle::unpickle(full.substr(0, len), "cut"), Error) << "length " << len;
  }
}

TEST(Pickle, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(7);
  const std::vector<std::string> pickles = {py2_batch({1, 2}, 0), py3_proto2_batch({3}, 0), py3_proto4_batch({4}, 0)};
  int errors = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string b = pickles[size_t(trial) % pickles.size()];
    // Corrupt the opcode-dense head (the tail is mostly pixel payload).
    for (int m = 0; m < 3; ++m) b[rng() % std::min<size_t>(b.size(), 400)] = char(rng());
    try {
      pickle::Document doc = pickle::unpickle(b, "fuzz");
      (void)doc.dict_get(doc.root(), "data");
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 100);  // most corruptions are detected; none may crash
}

// ---------------------------------------------------------------- real data

TEST(CifarReal, TrainAndTestSplits) {
  Dataset train = load_cifar10(testing::cifar_dir(), Split::kTrain);
  EXPECT_EQ(train.count, 10000);
  std::array<int, 10> train_hist{};
  for (uint8_t l : train.labels) ++train_hist[l];
  EXPECT_EQ(train_hist, (std::array<int, 10>{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981}));

  Dataset test = load_cifar10(testing::shared_dir() + "/data", Split::kTest);  // parent directory
  EXPECT_EQ(test.source, testing::shared_dir() + "/data/cifar-10-batches-bin");
  ASSERT_EQ(test.count, 1000);
  std::array<int, 10> hist{};
  for (uint8_t l : test.labels) ++hist[l];
  EXPECT_EQ(hist, (std::array<int, 10>{103, 89, 100, 103, 90, 86, 112, 102, 106, 109}));
  EXPECT_EQ(test.labels[0], 3);
  EXPECT_EQ(test.class_names[test.labels[0]], "cat");
  EXPECT_EQ(test.labels[1], 8);
  const uint8_t* img = test.image(0);
  EXPECT_EQ(std::vector<int>(img, img + 3), std::vector<int>({158, 159, 165}));  // top-left R values

  Dataset head = load_cifar10(testing::cifar_dir(), Split::kTrain, 5);
  ASSERT_EQ(head.count, 5);
  EXPECT_EQ(std::vector<uint8_t>(train.labels.begin(), train.labels.begin() + 5), head.labels);
  EXPECT_EQ(std::memcmp(head.pixels.data(), train.pixels.data(), 5 * kImg), 0);
}

// ---------------------------------------------------------------- preprocessing

TEST(Preprocess, Specs) {
  Preprocess raw = parse_preprocess("raw");
  EXPECT_EQ(raw.scale, 1.0f);
  EXPECT_EQ(raw.mean, (std::array<float, 3>{0, 0, 0}));
  EXPECT_EQ(parse_preprocess("").scale, 1.0f);
  EXPECT_EQ(parse_preprocess("unit").scale, 1.0f / 255.0f);
  Preprocess in = parse_preprocess("imagenet");
  EXPECT_EQ(in.scale, 1.0f / 255.0f);
  EXPECT_EQ(in.mean[1], 0.456f);
  EXPECT_EQ(in.std[2], 0.225f);

  Preprocess c = parse_preprocess("scale=1/255,mean=0.5,std=0.25,0.5,1");
  EXPECT_EQ(c.scale, 1.0f / 255.0f);
  EXPECT_EQ(c.mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(c.std, (std::array<float, 3>{0.25f, 0.5f, 1.0f}));
  Preprocess d = parse_preprocess("std=2,mean=1,2,3");
  EXPECT_EQ(d.scale, 1.0f);
  EXPECT_EQ(d.mean, (std::array<float, 3>{1, 2, 3}));

  Preprocess back = parse_preprocess(preprocess_str(in));
  EXPECT_EQ(back.scale, in.scale);
  EXPECT_EQ(back.mean, in.mean);
  EXPECT_EQ(back.std, in.std);

  for (const char* bad : {"bogus", "scale=abc", "mean=1,2", "std=0", "std=1,-1,1", "scale=1,scale=2", "foo=1",
                          "1,scale=2", "scale=", "scale=1,2", "mean=1,,2", "scale=1/0", "scale=nan"})
    EXPECT_THROW(parse_preprocess(bad), Error) << bad;
  EXPECT_EQ(parse_layout("NHWC"), Layout::kNHWC);
  EXPECT_EQ(parse_layout("nchw"), Layout::kNCHW);
  EXPECT_THROW(parse_layout("chw"), Error);
}

TEST(Preprocess, LayoutsMapIndices) {
  Dataset d;
  d.count = 3;
  for (int i = 0; i < 3; ++i) {
    std::string s = image_bytes(i);
    d.pixels.insert(d.pixels.end(), s.begin(), s.end());
    d.labels.push_back(uint8_t(i));
  }
  const Preprocess p = parse_preprocess("scale=0.5,mean=1,2,3,std=2,4,8");
  auto expected = [&](int i, int c, int y, int x) {
    const float pixel = float(pattern(i, c * 1024 + y * 32 + x));
    return (pixel * p.scale - p.mean[size_t(c)]) / p.std[size_t(c)];
  };
  std::vector<float> nchw(2 * kImg), nhwc(2 * kImg), picked(2 * kImg);
  images_to_floats(d, 1, 2, Layout::kNCHW, p, nchw.data());
  images_to_floats(d, 1, 2, Layout::kNHWC, p, nhwc.data());
  images_to_floats(d, std::vector<int64_t>{2, 1}, Layout::kNHWC, p, picked.data());
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          ASSERT_EQ(nchw[size_t(((i * 3 + c) * 32 + y) * 32 + x)], expected(1 + i, c, y, x));
          ASSERT_EQ(nhwc[size_t(((i * 32 + y) * 32 + x) * 3 + c)], expected(1 + i, c, y, x));
          ASSERT_EQ(picked[size_t(((i * 32 + y) * 32 + x) * 3 + c)], expected(2 - i, c, y, x));
        }
  float dummy[kImg];
  EXPECT_THROW(images_to_floats(d, 2, 2, Layout::kNCHW, p, dummy), Error);
  EXPECT_THROW(images_to_floats(d, -1, 1, Layout::kNCHW, p, dummy), Error);
  EXPECT_THROW(images_to_floats(d, std::vector<int64_t>{3}, Layout::kNCHW, p, dummy), Error);
  EXPECT_NO_THROW(images_to_floats(d, 3, 0, Layout::kNCHW, p, dummy));
}

}  // namespace
}  // namespace tinyptq
