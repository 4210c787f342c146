// Image folders (data/image_folder.h): PNG/JPEG decoding of every PNG color type, the bilinear resize rule
// on hand-computed examples, labels and order, every bad input as an Error naming the file, and the CLI on
// CIFAR-10 test images written as PNG class folders (same predictions as the CIFAR-10 directory).
#include "data/image_folder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <fstream>

#include "core/error.h"
#include "data/cifar.h"
#include "data/image_decode.h"
#include "data/image_encode.h"
#include "data/image_resize.h"
#include "data/open_source.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;
using testing::TempDir;
using testing::write_bytes;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string rgb_png(int h, int w, const std::vector<uint8_t>& rgb) {
  PngSpec s;
  s.height = h, s.width = w;
  return encode_png(s, std::vector<uint16_t>(rgb.begin(), rgb.end()));
}

std::vector<uint8_t> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng() & 0xFF);
  return v;
}

// All samples of a source in index order.
std::vector<float> read_all(const DataSource& s) {
  std::vector<int64_t> idx(size_t(s.count()));
  for (size_t k = 0; k < idx.size(); ++k) idx[k] = int64_t(k);
  std::vector<float> out(idx.size() * size_t(num_elements(s.sample_shape())));
  s.read(idx, out.data());
  return out;
}

ImageFolderOptions nhwc(int64_t h = -1, int64_t w = -1) {
  ImageFolderOptions o;
  o.layout = Layout::kNHWC, o.height = h, o.width = w;
  return o;
}

TEST(ImageDecode, PngRgbRoundTripsExactly) {
  const std::vector<uint8_t> px = random_bytes(5 * 7 * 3, 1);
  const RgbImage img = decode_image(rgb_png(5, 7, px), "x.png");
  EXPECT_EQ(img.height, 5);
  EXPECT_EQ(img.width, 7);
  EXPECT_EQ(img.rgb, px);
  PngSpec interlaced;
  interlaced.height = 5, interlaced.width = 7, interlaced.interlaced = true;
  EXPECT_EQ(decode_png(encode_png(interlaced, std::vector<uint16_t>(px.begin(), px.end())), "i.png").rgb, px);
}

TEST(ImageDecode, EveryPngColorTypeBecomes8BitRgb) {
  const int h = 3, w = 4, n = h * w;
  const std::vector<uint8_t> v = random_bytes(size_t(n) * 4, 2);
  auto expect_rgb = [&](const PngSpec& s, const std::vector<uint16_t>& samples, const std::vector<uint8_t>& want,
                        const char* what) {
    const RgbImage img = decode_png(encode_png(s, samples), what);
    ASSERT_EQ(img.height, h) << what;
    ASSERT_EQ(img.width, w) << what;
    EXPECT_EQ(img.rgb, want) << what;
  };
  PngSpec s;
  s.height = h, s.width = w;
  std::vector<uint16_t> samples;
  std::vector<uint8_t> want;
  // Gray 8-bit, and gray + alpha (alpha dropped): R = G = B = gray.
  for (int k = 0; k < n; ++k) samples.push_back(v[size_t(k)]), want.insert(want.end(), 3, v[size_t(k)]);
  s.color = PngColor::kGray;
  expect_rgb(s, samples, want, "gray8");
  std::vector<uint16_t> ga;
  for (int k = 0; k < n; ++k) ga.push_back(v[size_t(k)]), ga.push_back(v[size_t(n + k)]);
  s.color = PngColor::kGrayAlpha;
  expect_rgb(s, ga, want, "gray+alpha");
  // 16-bit gray: v * 257 scales back to v exactly.
  std::vector<uint16_t> g16;
  for (int k = 0; k < n; ++k) g16.push_back(uint16_t(v[size_t(k)] * 257));
  s.color = PngColor::kGray, s.bit_depth = 16;
  expect_rgb(s, g16, want, "gray16");
  // 1-bit gray: 0 -> 0, 1 -> 255.
  std::vector<uint16_t> bits;
  std::vector<uint8_t> want_bits;
  for (int k = 0; k < n; ++k) {
    bits.push_back(v[size_t(k)] & 1);
    want_bits.insert(want_bits.end(), 3, (v[size_t(k)] & 1) ? 255 : 0);
  }
  s.bit_depth = 1;
  expect_rgb(s, bits, want_bits, "gray1");
  // RGBA 8 and RGB 16: alpha dropped, 16-bit scaled.
  std::vector<uint16_t> rgba, rgb16;
  std::vector<uint8_t> want_rgb;
  for (int k = 0; k < n; ++k) {
    for (int c = 0; c < 3; ++c) {
      const uint8_t p = v[size_t(k * 3 + c)];
      rgba.push_back(p), rgb16.push_back(uint16_t(p * 257)), want_rgb.push_back(p);
    }
    rgba.push_back(v[size_t(3 * n + k)]);
  }
  s.color = PngColor::kRgba, s.bit_depth = 8;
  expect_rgb(s, rgba, want_rgb, "rgba8");
  s.color = PngColor::kRgb, s.bit_depth = 16;
  expect_rgb(s, rgb16, want_rgb, "rgb16");
  // Palette (4-bit indices) with a tRNS chunk: colours looked up, transparency dropped.
  s.color = PngColor::kPalette, s.bit_depth = 4;
  for (int k = 0; k < 16; ++k) s.palette.push_back({uint8_t(k * 16), uint8_t(255 - k), uint8_t(k * 7)});
  s.palette_alpha = {0, 128, 255};
  std::vector<uint16_t> idx;
  std::vector<uint8_t> want_pal;
  for (int k = 0; k < n; ++k) {
    const int i = v[size_t(k)] % 16;
    idx.push_back(uint16_t(i));
    want_pal.insert(want_pal.end(), {s.palette[size_t(i)][0], s.palette[size_t(i)][1], s.palette[size_t(i)][2]});
  }
  expect_rgb(s, idx, want_pal, "palette4+tRNS");
}

TEST(ImageDecode, JpegRgbAndGrayscale) {
  // A smooth image survives quality-100 JPEG within a few levels; grayscale decodes to R = G = B.
  const int h = 16, w = 24;
  std::vector<uint8_t> rgb(size_t(h * w * 3)), gray(size_t(h * w));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t p = size_t(y * w + x);
      rgb[p * 3] = uint8_t(x * 10), rgb[p * 3 + 1] = uint8_t(y * 15), rgb[p * 3 + 2] = uint8_t(128);
      gray[p] = uint8_t(x * 5 + y * 3);
    }
  const RgbImage a = decode_image(encode_jpeg(rgb.data(), h, w, 3, 100), "a.jpg");
  ASSERT_EQ(a.rgb.size(), rgb.size());
  int worst = 0;
  for (size_t k = 0; k < rgb.size(); ++k) worst = std::max(worst, std::abs(int(a.rgb[k]) - int(rgb[k])));
  EXPECT_LE(worst, 8);
  const RgbImage g = decode_jpeg(encode_jpeg(gray.data(), h, w, 1, 100), "g.jpg");
  ASSERT_EQ(g.rgb.size(), rgb.size());
  worst = 0;
  for (size_t p = 0; p < gray.size(); ++p) {
    EXPECT_EQ(g.rgb[p * 3], g.rgb[p * 3 + 1]);
    EXPECT_EQ(g.rgb[p * 3], g.rgb[p * 3 + 2]);
    worst = std::max(worst, std::abs(int(g.rgb[p * 3]) - int(gray[p])));
  }
  EXPECT_LE(worst, 2);
}

TEST(ImageResize, TwoByTwoToFourByFourByHand) {
  // One channel [[0, 100], [200, 40]]. Half-pixel centres: output x -> source (x + 0.5) / 2 - 0.5 =
  // -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]: weights of the second pixel 0, 0.25, 0.75, 1.
  RgbImage img;
  img.height = 2, img.width = 2;
  img.rgb = {0, 255, 7, 100, 155, 7, 200, 55, 7, 40, 215, 7};  // G = 255 - R, B constant
  const std::vector<float> want = {0,  25,     75,    100,  //
                                   50, 58.75f, 76.25f, 85,  //
                                   150, 126.25f, 78.75f, 55,  //
                                   200, 160,    80,    40};
  const std::vector<float> out = resize_bilinear(img, 4, 4);
  ASSERT_EQ(out.size(), 48u);
  for (size_t p = 0; p < 16; ++p) {
    EXPECT_FLOAT_EQ(out[p * 3], want[p]) << "pixel " << p;
    EXPECT_FLOAT_EQ(out[p * 3 + 1], 255 - want[p]) << "pixel " << p;
    EXPECT_FLOAT_EQ(out[p * 3 + 2], 7) << "pixel " << p;
  }
  // Equal size is the identity; an integer 2x downscale averages 2 x 2 blocks.
  const RgbImage same = decode_image(rgb_png(2, 2, img.rgb), "same.png");
  const std::vector<float> id = resize_bilinear(same, 2, 2);
  for (size_t k = 0; k < id.size(); ++k) EXPECT_EQ(id[k], float(img.rgb[k]));
  RgbImage big;
  big.height = 4, big.width = 4;
  for (int k = 0; k < 16; ++k) big.rgb.insert(big.rgb.end(), {uint8_t(k * 10), uint8_t(k), uint8_t(255 - k)});
  const std::vector<float> down = resize_bilinear(big, 2, 2);
  // Output (0, 0) averages pixels 0, 1, 4, 5 of the 4 x 4.
  EXPECT_FLOAT_EQ(down[0], (0 + 10 + 40 + 50) / 4.0f);
  EXPECT_FLOAT_EQ(down[3 * 3 + 1], (10 + 11 + 14 + 15) / 4.0f);
}

// (1 − f)·255 + f·255 rounds above 255 for some f (a fuzz finding: 5x15 → 5x7): the resize stays in 0..255.
TEST(ImageResize, StaysWithinTheEightBitRange) {
  int checked = 0;
  for (int h = 1; h <= 24; ++h)
    for (int w = 1; w <= 24; ++w) {
      RgbImage img;
      img.height = h;
      img.width = w;
      img.rgb.assign(size_t(h) * size_t(w) * 3, 255);
      for (int oh : {5, 7, 13, 32})
        for (int ow : {5, 7, 13, 32})
          for (float v : resize_bilinear(img, oh, ow)) {
            ASSERT_LE(v, 255.0f) << h << "x" << w << " -> " << oh << "x" << ow;
            ASSERT_GE(v, 254.99f);
            ++checked;
          }
    }
  EXPECT_GT(checked, 0);
}

TEST(ImageFolder, ResizesAndPreprocessesLikeTheFormula) {
  TempDir dir;
  const std::vector<uint8_t> px = {0, 255, 7, 100, 155, 7, 200, 55, 7, 40, 215, 7};
  write_bytes(dir.file("a.png"), rgb_png(2, 2, px));
  ImageFolderOptions o;
  o.layout = Layout::kNCHW, o.height = 4, o.width = 4;
  o.preprocess = parse_preprocess("scale=1/255,mean=0.5,0.25,0,std=0.5,2,1");
  const ImageFolderSource s(dir.path(), o);
  EXPECT_EQ(s.sample_shape(), (Shape{3, 4, 4}));
  EXPECT_TRUE(s.labels().empty());
  const std::vector<float> got = read_all(s);
  RgbImage img;
  img.height = 2, img.width = 2, img.rgb = px;
  const std::vector<float> hwc = resize_bilinear(img, 4, 4);
  for (size_t c = 0; c < 3; ++c)
    for (size_t p = 0; p < 16; ++p)
      EXPECT_EQ(got[c * 16 + p], (hwc[p * 3 + c] * o.preprocess.scale - o.preprocess.mean[c]) / o.preprocess.std[c]);
}

TEST(ImageFolder, ClassFoldersGiveSortedLabelsAndOrder) {
  TempDir dir;
  fs::create_directories(dir.file("dog"));
  fs::create_directories(dir.file("cat"));
  fs::create_directories(dir.file(".hidden"));
  const std::vector<uint8_t> px = random_bytes(2 * 3 * 3, 3);
  for (const char* f : {"dog/2.png", "dog/10.PNG", "dog/1.jpeg", "cat/b.png", "cat/a.jpg"})
    write_bytes(dir.file(f), rgb_png(2, 3, px));
  write_bytes(dir.file("dog/notes.txt"), "not an image, skipped");
  write_bytes(dir.file("cat/.x.png"), "hidden, skipped");
  const ImageFolderSource s(dir.path(), nhwc());
  EXPECT_EQ(s.class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(s.num_classes(), 2);
  std::vector<std::string> names;
  for (const std::string& f : s.files()) names.push_back(fs::path(f).parent_path().filename().string() + "/" +
                                                         fs::path(f).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"cat/a.jpg", "cat/b.png", "dog/1.jpeg", "dog/10.PNG", "dog/2.png"}));
  EXPECT_EQ(s.labels(), (std::vector<int>{0, 0, 1, 1, 1}));
  EXPECT_EQ(s.sample_shape(), (Shape{2, 3, 3}));
  // The PNG pixels come back exactly (raw preprocess, no resize: the first image's size).
  std::vector<float> one(18);
  const int64_t k = 1;
  s.read({&k, 1}, one.data());
  for (size_t e = 0; e < px.size(); ++e) EXPECT_EQ(one[e], float(px[e]));
  // --limit keeps the first samples in this order.
  ImageFolderOptions lim = nhwc();
  lim.limit = 3;
  const ImageFolderSource l(dir.path(), lim);
  EXPECT_EQ(l.labels(), (std::vector<int>{0, 0, 1}));
}

TEST(ImageFolder, AutoDetectionKeepsCifarDirectories) {
  TempDir dir;
  fs::create_directories(dir.file("imgs/cls"));
  write_bytes(dir.file("imgs/cls/a.png"), rgb_png(1, 1, {1, 2, 3}));
  EXPECT_EQ(detect_data_format(dir.file("imgs")), DataFormat::kImageFolder);
  EXPECT_EQ(detect_data_format(testing::cifar_dir()), DataFormat::kCifar10);
  EXPECT_EQ(detect_data_format(fs::path(testing::cifar_dir()).parent_path().string()), DataFormat::kCifar10);
  fs::create_directories(dir.file("damaged/test_batch.bin"));  // still CIFAR-10, so its loader names the problem
  EXPECT_EQ(detect_data_format(dir.file("damaged")), DataFormat::kCifar10);
  EXPECT_EQ(parse_data_format("images"), DataFormat::kImageFolder);
  DataSpec spec{dir.file("imgs")};
  spec.height = 2, spec.width = 2;
  const auto src = open_data_source(spec, Layout::kNHWC, Preprocess{});
  EXPECT_EQ(src->sample_shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(src->labels(), (std::vector<int>{0}));
  EXPECT_EQ(read_all(*src), (std::vector<float>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}));
}

TEST(ImageFolder, BadInputIsAnErrorNamingTheFile) {
  TempDir dir;
  const std::vector<uint8_t> px = random_bytes(8 * 8 * 3, 4);
  const std::string png = rgb_png(8, 8, px);
  const std::string jpeg = encode_jpeg(px.data(), 8, 8, 3, 90);
  const std::vector<uint8_t> cmyk_px = random_bytes(8 * 8 * 4, 5);
  struct Case {
    std::string what, file, bytes, expect;  // file inside <case>/cls/
  };
  const std::vector<Case> files = {
      {"text as png", "junk.png", "hello, not an image", "not a PNG or JPEG"},
      {"empty file", "empty.jpg", "", "not a PNG or JPEG"},
      {"png signature + garbage", "sig.png", png.substr(0, 8) + std::string(40, 'x'), "PNG"},
      {"png cut in half", "half.png", png.substr(0, png.size() / 2), "truncated PNG"},
      {"png without IEND", "noend.png", png.substr(0, png.size() - 6), "truncated PNG"},
      {"png bad crc", "crc.png", [&] { std::string b = png; b[30] ^= 0x55; return b; }(), "bad PNG"},
      {"jpeg cut in half", "half.jpg", jpeg.substr(0, jpeg.size() / 2), "truncated JPEG"},
      {"jpeg header only", "head.jpg", jpeg.substr(0, 20), "JPEG"},
      {"cmyk jpeg", "cmyk.jpg", encode_jpeg(cmyk_px.data(), 8, 8, 4, 90), "CMYK"},
  };
  int n = 0;
  for (const Case& c : files) {
    const std::string d = dir.file("c" + std::to_string(n++));
    fs::create_directories(d + "/cls");
    write_bytes(d + "/cls/" + c.file, c.bytes);
    std::string err;
    err = error_of([&] {
      const ImageFolderSource s(d, nhwc(8, 8));
      read_all(s);
    });
    EXPECT_NE(err.find(d + "/cls/" + c.file), std::string::npos) << c.what << ": " << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": " << err;
  }
  // Every prefix of a PNG and a JPEG fails cleanly (the libpng / libjpeg longjmp paths).
  for (const std::string* bytes : {&png, &jpeg})
    for (size_t len = 0; len < bytes->size(); ++len)
      EXPECT_THROW(decode_image(bytes->substr(0, len), "prefix"), Error) << len;

  // Folder-level problems name the folder (or the offending entry).
  auto folder_error = [&](const std::string& d, int64_t h = 8) {
    return error_of([&] {
      const ImageFolderSource s(d, nhwc(h, h));
      read_all(s);
    });
  };
  fs::create_directories(dir.file("empty"));
  EXPECT_NE(folder_error(dir.file("empty")).find(dir.file("empty") + ": no images"), std::string::npos);
  fs::create_directories(dir.file("textonly"));
  write_bytes(dir.file("textonly/readme.txt"), "x");
  EXPECT_NE(folder_error(dir.file("textonly")).find("no images"), std::string::npos);
  fs::create_directories(dir.file("mixed/cls"));
  write_bytes(dir.file("mixed/cls/a.png"), png);
  write_bytes(dir.file("mixed/flat.png"), png);
  const std::string mixed = folder_error(dir.file("mixed"));
  EXPECT_NE(mixed.find("'cls'"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("'flat.png'"), std::string::npos) << mixed;
  fs::create_directories(dir.file("emptyclass/a"));
  fs::create_directories(dir.file("emptyclass/b"));
  write_bytes(dir.file("emptyclass/a/x.png"), png);
  EXPECT_NE(folder_error(dir.file("emptyclass")).find(dir.file("emptyclass/b") + ": class folder holds no images"),
            std::string::npos);
  fs::create_directories(dir.file("nested/a/deeper"));
  EXPECT_NE(folder_error(dir.file("nested")).find(dir.file("nested/a/deeper") + ": nested folder"), std::string::npos);
  EXPECT_NE(folder_error(dir.file("missing")).find(dir.file("missing") + ": no such folder"), std::string::npos);
  EXPECT_NE(folder_error(dir.file("mixed/flat.png")).find("no such folder"), std::string::npos);
  // Without a target size every image needs the first one's size.
  fs::create_directories(dir.file("sizes/cls"));
  write_bytes(dir.file("sizes/cls/a.png"), png);
  write_bytes(dir.file("sizes/cls/b.png"), rgb_png(2, 2, random_bytes(12, 6)));
  EXPECT_NE(folder_error(dir.file("sizes"), -1).find(dir.file("sizes/cls/b.png") + ": image is 2x2"),
            std::string::npos);
  // A dangling symlink named like an image is unreadable.
  fs::create_directories(dir.file("dangling/cls"));
  fs::create_symlink(dir.file("nowhere.png"), dir.file("dangling/cls/a.png"));
  EXPECT_NE(folder_error(dir.file("dangling")).find(dir.file("dangling/cls/a.png")), std::string::npos);
}

// ---- CLI: CIFAR-10 test images as PNG class folders --------------------------------------------------

// The first n test images as DIR/<class name>/<index>.png, each pixel repeated `scale` x `scale` times.
void write_cifar_pngs(const std::string& dir, int64_t n, int scale) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) all[size_t(k)] = k;
  testing::write_cifar_png_folder(load_cifar10(testing::cifar_dir(), Split::kTest, n), all, dir, scale);
}

// The per-class and overall rows of the eval table (the header line names the data path).
std::string table_rows(const std::string& out) {
  const size_t from = out.find("\nclass"), to = out.find('\n', out.find("overall"));
  return from == std::string::npos || to == std::string::npos ? "" : out.substr(from, to - from);
}

std::vector<std::string> file_lines(const std::string& path) {
  std::vector<std::string> v;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(ImageFolder, CifarImagesAsPngsGiveTheCifarSourceFloats) {
  // Bit-identical model input: the same pixels through the same formula, with and without the resize
  // (a 2x nearest-upscaled copy resized back to 32 x 32).
  TempDir dir;
  write_cifar_pngs(dir.file("png32"), 40, 1);
  write_cifar_pngs(dir.file("png64"), 40, 2);
  const Preprocess p = parse_preprocess("imagenet");
  for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    const CifarSource cifar(load_cifar10(testing::cifar_dir(), Split::kTest, 40), layout, p);
    for (const char* sub : {"png32", "png64"}) {
      ImageFolderOptions o;
      o.layout = layout, o.preprocess = p, o.height = 32, o.width = 32;
      const ImageFolderSource s(dir.file(sub), o);
      ASSERT_EQ(s.sample_shape(), cifar.sample_shape());
      const std::vector<float> got = read_all(s);
      for (size_t j = 0; j < s.files().size(); ++j) {
        const int64_t k = std::stoi(fs::path(s.files()[j]).stem().string());
        EXPECT_EQ(s.labels()[j], cifar.labels()[size_t(k)]);
        std::vector<float> want(3072);
        cifar.read({&k, 1}, want.data());
        EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin() + int64_t(j) * 3072)) << sub << " image " << k;
      }
    }
  }
}

TEST(ImageFolderCli, EvalOnPngFoldersEqualsEvalOnTheCifarDirectory) {
  const Dataset d = load_cifar10(testing::cifar_dir(), Split::kTest, 100);
  ASSERT_TRUE(std::is_sorted(d.class_names.begin(), d.class_names.end()));  // folder order = CIFAR-10 label order
  TempDir dir;
  write_cifar_pngs(dir.file("png32"), 100, 1);
  write_cifar_pngs(dir.file("png64"), 100, 2);  // resized 64 -> 32: 2 x 2 blocks of one value, exact
  const std::string model = shell_quote(testing::resnet8_onnx());
  const auto ref = testing::run_tinyptq("eval --model " + model + " --data " + shell_quote(testing::cifar_dir()) +
                                        " --limit 100 --predictions " + shell_quote(dir.file("ref.csv")));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  ASSERT_FALSE(table_rows(ref.output).empty()) << ref.output;
  const std::vector<std::string> ref_pred = file_lines(dir.file("ref.csv"));
  for (const char* sub : {"png32", "png64"}) {
    const auto r = testing::run_tinyptq("eval --model " + model + " --data " + shell_quote(dir.file(sub)) +
                                        " --predictions " + shell_quote(dir.file(std::string(sub) + ".csv")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(table_rows(r.output), table_rows(ref.output)) << sub << "\n" << r.output;
    // Same prediction per image: row j of the folder run is the j-th image in class-then-index order.
    const ImageFolderSource s(dir.file(sub), nhwc(32, 32));
    const std::vector<std::string> got = file_lines(dir.file(std::string(sub) + ".csv"));
    ASSERT_EQ(got.size(), 101u);
    ASSERT_EQ(ref_pred.size(), 101u);
    for (size_t j = 0; j < s.files().size(); ++j) {
      const size_t k = size_t(std::stoi(fs::path(s.files()[j]).stem().string()));
      const std::string want = ref_pred[k + 1].substr(ref_pred[k + 1].find(','));
      EXPECT_EQ(got[j + 1].substr(got[j + 1].find(',')), want) << sub << " image " << k;
    }
  }
  std::printf("%s\n", table_rows(ref.output).c_str());
}

TEST(ImageFolderCli, QuantizeCalibratesOnAnImageFolderAndBadImagesAreOneError) {
  TempDir dir;
  write_cifar_pngs(dir.file("png"), 100, 1);
  const std::string model = shell_quote(testing::resnet8_onnx());
  const auto q = testing::run_tinyptq("quantize --model " + model + " --data " + shell_quote(dir.file("png")) +
                                      " --preset ort-int8 --calib-per-class 3 -o " + shell_quote(dir.file("q.onnx")));
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find("calibration: 30 images"), std::string::npos) << q.output;
  EXPECT_TRUE(fs::exists(dir.file("q.onnx")));
  // A damaged image: one error line naming it, no output written.
  // Class folders for eval; a flat folder (no labels: a seeded draw, here of both files) for quantize.
  const std::string bad = dir.file("png/cat/zz_bad.png"), flat_bad = dir.file("flat/zz_bad.png");
  write_bytes(bad, "\x89PNG\r\n\x1a\n broken");
  fs::create_directories(dir.file("flat"));
  fs::copy_file(dir.file("png/cat/00000.png"), dir.file("flat/a.png"));
  fs::copy_file(bad, flat_bad);
  for (const auto& [cmd, named] : std::vector<std::pair<std::string, std::string>>{
           {"eval --data " + shell_quote(dir.file("png")) + " --json " + shell_quote(dir.file("e.json")), bad},
           {"quantize --calib-per-class 2 --data " + shell_quote(dir.file("flat")) + " -o " +
                shell_quote(dir.file("e.onnx")),
            flat_bad}}) {
    const auto r = testing::run_tinyptq(cmd + " --model " + model);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output.rfind("tinyptq: error: ", 0), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir.file("e.json")));
  EXPECT_FALSE(fs::exists(dir.file("e.onnx")));
}

TEST(ImageFolderCli, UnreadableClassFolderIsOneErrorNamingIt) {
  // Permissions do not bind root: as root, run the CLI as user nobody (setpriv), else as ourselves.
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  fs::create_directories(dir.file("locked/a"));
  fs::create_directories(dir.file("locked/b"));
  write_bytes(dir.file("locked/a/x.png"), rgb_png(32, 32, random_bytes(32 * 32 * 3, 7)));
  fs::permissions(dir.file("locked/b"), fs::perms::none);
  std::string prefix;
  if (geteuid() == 0) {
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (testing::run_command(prefix + "true").exit_code != 0) GTEST_SKIP() << "running as root without setpriv";
  }
  const auto r = testing::run_command(prefix + shell_quote(testing::tinyptq_binary()) + " eval --model " +
                                      shell_quote(testing::resnet8_onnx()) + " --data " +
                                      shell_quote(dir.file("locked")) + " </dev/null");
  fs::permissions(dir.file("locked/b"), fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("tinyptq: error: " + dir.file("locked/b") + ": cannot read the folder", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

}  // namespace
}  // namespace tinyptq
