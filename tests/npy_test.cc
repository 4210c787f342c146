// NumPy .npy/.npz reading (every accepted dtype, every rejected header), and
// the DataSource interface over CIFAR-10 and arrays.
#include "data/npy.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "data/data_source.h"
#include "data/open_source.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using testing::TempDir;
using testing::write_bytes;

// A version-1.0 .npy with the given header dict and payload.
std::string npy_with(const std::string& dict, const std::string& payload) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string s = "\x93NUMPY\x01";
  s += '\0';
  s += char(h.size() & 0xFF);
  s += char(h.size() >> 8);
  return s + h + payload;
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

// A zip (stored) holding the given members, written with libarchive.
std::string zip_of(const std::vector<std::pair<std::string, std::string>>& members) {
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  struct archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& [name, data] : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, la_int64_t(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

TEST(Npy, ReadsFloat32Uint8Int64) {
  const Tensor f = parse_npy(
      npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", floats({1.5f, -2, 0, 3})), "f.npy");
  EXPECT_EQ(f.dtype, DType::kFloat32);
  EXPECT_EQ(f.shape, (Shape{2, 2}));
  EXPECT_EQ(f.f, (std::vector<float>{1.5f, -2, 0, 3}));

  const Tensor u = parse_npy(npy_with("{'shape': (3,), 'descr': '|u1', 'fortran_order': False}", "\x01\x02\xff"), "u");
  EXPECT_EQ(u.dtype, DType::kUint8);
  EXPECT_EQ(u.i, (std::vector<int64_t>{1, 2, 255}));

  int64_t raw[2] = {-7, 1LL << 40};
  const Tensor l = parse_npy(npy_with("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                      std::string(reinterpret_cast<char*>(raw), 16)),
                             "l");
  EXPECT_EQ(l.dtype, DType::kInt64);
  EXPECT_EQ(l.i, (std::vector<int64_t>{-7, 1LL << 40}));
}

TEST(Npy, WriterRoundTrips) {
  for (const Tensor& t :
       {Tensor::from_floats({2, 3}, {1, 2, 3, 4, 5, 6}), Tensor::from_floats({4}, {1, 2, 3, 4}),
        Tensor::from_ints(DType::kUint8, {2}, {0, 200}), Tensor::from_ints(DType::kInt64, {1, 1}, {-5})}) {
    const std::string b = npy_bytes(t);
    EXPECT_EQ((b.size() - t.byte_size()) % 64, 0u);
    const Tensor back = parse_npy(b, "rt");
    EXPECT_EQ(back.shape, t.shape);
    EXPECT_EQ(back.f, t.f);
    EXPECT_EQ(back.i, t.i);
  }
}

TEST(Npy, RejectsEveryBadInputWithTheFileName) {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string two = floats({1, 2});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"NUMPY\x01", "magic"},
      {npy_with(ok, two).substr(0, 9), "magic"},
      {npy_with(ok, two.substr(0, 5)), "truncated data"},
      {npy_with(ok, two + "x"), "past the end"},
      {npy_with(ok, two).substr(0, 40), "truncated header"},
      {npy_with("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", two), "Fortran"},
      {npy_with("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", two), "object"},
      {npy_with("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", two), "dtype '>f4'"},
      {npy_with("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", two), "dtype '<f8'"},
      {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", two), "non-negative"},
      {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': "
                "(999999999999, 999999), }",
                two),
       "too large"},
      {npy_with("{'descr': '<f4', 'shape': (2,), }", two), "lacks"},
      {npy_with("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                "'shape': (2,)}",
                two),
       "twice"},
      {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", two), "unknown header key"},
      {npy_with("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", two), "True or False"},
      {npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", two), "trailing"},
  };
  for (const auto& [bytes, what] : cases) {
    try {
      parse_npy(bytes, "bad.npy");
      ADD_FAILURE() << "accepted, expected: " << what;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("bad.npy: ", 0), 0u) << m;
      EXPECT_NE(m.find(what), std::string::npos) << m << " (expected: " << what << ")";
    }
  }
}

TEST(Npz, ReadsNamedMembersAndRejectsBadArchives) {
  const std::string x = npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", floats({4, 5}));
  const std::string y =
      npy_with("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", std::string("\x01\x00", 2));
  const NamedArrays arrays = parse_npz(zip_of({{"x.npy", x}, {"y.npy", y}}), "d.npz");
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].first, "x");
  EXPECT_EQ(arrays[0].second.f, (std::vector<float>{4, 5}));
  EXPECT_EQ(arrays[1].first, "y");
  EXPECT_EQ(arrays[1].second.i, (std::vector<int64_t>{1, 0}));

  EXPECT_THROW(parse_npz("garbage that is not a zip", "g.npz"), Error);
  EXPECT_THROW(parse_npz(zip_of({{"x.txt", x}}), "t.npz"), Error);
  EXPECT_THROW(parse_npz(zip_of({{"x.npy", x}, {"x.npy", x}}), "twice.npz"), Error);
  EXPECT_THROW(parse_npz(zip_of({{"x.npy", x.substr(0, x.size() - 1)}}), "trunc.npz"), Error);
  const std::string whole = zip_of({{"x.npy", x}});
  EXPECT_THROW(parse_npz(whole.substr(0, whole.size() / 2), "half.npz"), Error);
}

TEST(DataSource, NumpySourceAppliesThePreprocessSpecPerChannel) {
  TempDir dir;
  // 2 samples of 3 channels × 2 pixels (NCHW), uint8.
  std::vector<int64_t> px = {10, 20, 30, 40, 50, 60, 1, 2, 3, 4, 5, 6};
  write_bytes(dir.path() + "/x.npy", npy_bytes(Tensor::from_ints(DType::kUint8, {2, 3, 2}, px)));
  write_bytes(dir.path() + "/y.npy", npy_bytes(Tensor::from_ints(DType::kInt64, {2}, {4, 1})));
  const Preprocess p = parse_preprocess("scale=1/10,mean=1,2,3,std=1,2,4");
  const auto src =
      open_data_source(DataSpec{dir.path() + "/x.npy", DataFormat::kAuto, dir.path() + "/y.npy"}, Layout::kNCHW, p);
  EXPECT_EQ(src->count(), 2);
  EXPECT_EQ(src->sample_shape(), (Shape{3, 2}));
  EXPECT_EQ(src->labels(), (std::vector<int>{4, 1}));
  EXPECT_EQ(src->num_classes(), 5);
  std::vector<float> out(6);
  const int64_t second[] = {1};
  src->read(second, out.data());
  // (v / 10 - mean[c]) / std[c], channel = axis 0 of the sample.
  const std::vector<float> want = {(0.1f - 1) / 1, (0.2f - 1) / 1, (0.3f - 2) / 2,
                                   (0.4f - 2) / 2, (0.5f - 3) / 4, (0.6f - 3) / 4};
  for (int k = 0; k < 6; ++k) EXPECT_FLOAT_EQ(out[size_t(k)], want[size_t(k)]) << k;
  const int64_t outside[] = {2};
  EXPECT_THROW(src->read(outside, out.data()), Error);

  // Labels of the wrong length name the labels file.
  write_bytes(dir.path() + "/y3.npy", npy_bytes(Tensor::from_ints(DType::kInt64, {3}, {0, 1, 2})));
  try {
    open_data_source(DataSpec{dir.path() + "/x.npy", DataFormat::kAuto, dir.path() + "/y3.npy"}, Layout::kNCHW, p);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.path() + "/y3.npy: ", 0), 0u) << e.what();
  }
  // A per-channel spec on NHWC samples whose last axis is 2, not 3.
  EXPECT_THROW(open_data_source(DataSpec{dir.path() + "/x.npy", DataFormat::kAuto, ""}, Layout::kNHWC, p), Error);
  // An empty sample axis.
  write_bytes(dir.path() + "/e.npy", npy_bytes(Tensor::from_floats({0, 3}, {})));
  EXPECT_THROW(open_data_source(DataSpec{dir.path() + "/e.npy", DataFormat::kAuto, ""}, Layout::kNCHW, Preprocess{}),
               Error);
}

TEST(DataSource, NpzTakesXAndY) {
  TempDir dir;
  const std::string x = npy_bytes(Tensor::from_floats({3, 1}, {7, 8, 9}));
  const std::string y = npy_bytes(Tensor::from_ints(DType::kUint8, {3}, {0, 2, 1}));
  write_bytes(dir.path() + "/d.npz", zip_of({{"y.npy", y}, {"x.npy", x}}));
  const auto src =
      open_data_source(DataSpec{dir.path() + "/d.npz", DataFormat::kAuto, ""}, Layout::kNCHW, Preprocess{});
  EXPECT_EQ(src->labels(), (std::vector<int>{0, 2, 1}));
  std::vector<float> out(2);
  const int64_t idx[] = {2, 0};
  src->read(idx, out.data());
  EXPECT_EQ(out, (std::vector<float>{9, 7}));
  write_bytes(dir.path() + "/noname.npz", zip_of({{"a.npy", x}, {"b.npy", y}}));
  EXPECT_THROW(
      open_data_source(DataSpec{dir.path() + "/noname.npz", DataFormat::kAuto, ""}, Layout::kNCHW, Preprocess{}),
      Error);
}

TEST(DataSource, CifarSourceEqualsImagesToFloats) {
  const Dataset d = load_cifar10(testing::cifar_dir(), Split::kTest, 20);
  const Preprocess p = parse_preprocess("unit");
  std::vector<float> want(2 * 3072), got(2 * 3072);
  images_to_floats(d, std::vector<int64_t>{5, 17}, Layout::kNHWC, p, want.data());
  const CifarSource src(d, Layout::kNHWC, p);
  EXPECT_EQ(src.sample_shape(), (Shape{32, 32, 3}));
  EXPECT_EQ(src.count(), 20);
  EXPECT_EQ(src.labels()[5], int(d.labels[5]));
  const int64_t idx[] = {5, 17};
  src.read(idx, got.data());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace tinyptq
