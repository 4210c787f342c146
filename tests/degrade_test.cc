// Degraded image copies (data/degrade.h): JPEG round trip through libjpeg, brightness and contrast shifts.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "data/degrade.h"

namespace tinyptq {
namespace {

// n smooth CHW images (gradients and a soft blob) with labels k % 10.
Dataset smooth_images(int n) {
  Dataset d;
  d.count = n;
  d.class_names.assign(10, "c");
  for (int k = 0; k < n; ++k) {
    d.labels.push_back(uint8_t(k % 10));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const double blob = 80 * std::exp(-((x - 16.0) * (x - 16) + (y - 10.0) * (y - 10)) / 60.0);
          d.pixels.push_back(uint8_t(std::clamp(20.0 + 5 * x + 2 * y + 10 * c + 3 * k + blob, 0.0, 255.0)));
        }
  }
  return d;
}

double psnr(const uint8_t* a, const uint8_t* b, int n) {
  double se = 0;
  for (int i = 0; i < n; ++i) se += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return se == 0 ? INFINITY : 10 * std::log10(255.0 * 255.0 * n / se);
}

TEST(Degrade, JpegRoundTripIsLossyCloseAndDeterministic) {
  const Dataset d = smooth_images(3);
  const Dataset j = degrade(d, {Degradation::kJpeg, 75});
  ASSERT_EQ(j.pixels.size(), d.pixels.size());
  EXPECT_EQ(j.labels, d.labels);
  EXPECT_NE(j.pixels, d.pixels);  // lossy
  for (int k = 0; k < 3; ++k) EXPECT_GT(psnr(d.image(k), j.image(k), 3072), 30.0) << k;
  EXPECT_EQ(degrade(d, {Degradation::kJpeg, 75}).pixels, j.pixels);
  // Higher quality is closer to the original.
  const Dataset hi = degrade(d, {Degradation::kJpeg, 100});
  EXPECT_GT(psnr(d.image(0), hi.image(0), 3072), psnr(d.image(0), j.image(0), 3072));
}

TEST(Degrade, JpegKeepsChannelsInPlace) {
  // A pure red image stays red: the CHW <-> interleaved conversion does not mix planes.
  Dataset d;
  d.count = 1;
  d.labels = {0};
  d.pixels.assign(3072, 0);
  std::fill(d.pixels.begin(), d.pixels.begin() + 1024, 200);
  const Dataset j = degrade(d, {Degradation::kJpeg, 90});
  double r = 0, g = 0, b = 0;
  for (int p = 0; p < 1024; ++p) r += j.pixels[p], g += j.pixels[1024 + p], b += j.pixels[2048 + p];
  EXPECT_NEAR(r / 1024, 200, 4);
  EXPECT_LT(g / 1024, 8);
  EXPECT_LT(b / 1024, 8);
}

TEST(Degrade, BrightnessAndContrastRoundAndClamp) {
  Dataset d;
  d.count = 1;
  d.labels = {3};
  for (int p = 0; p < 3072; ++p) d.pixels.push_back(uint8_t(p % 256));
  const Dataset up = degrade(d, {Degradation::kBrightness, 0.1});  // + 25.5
  for (int p = 0; p < 3072; ++p)
    EXPECT_EQ(up.pixels[p], uint8_t(std::min(255.0, std::round(d.pixels[p] + 25.5)))) << p;
  const Dataset same = degrade(d, {Degradation::kContrast, 1.0});
  EXPECT_EQ(same.pixels, d.pixels);
  const Dataset flat = degrade(d, {Degradation::kContrast, 0.0});
  for (uint8_t v : flat.pixels) EXPECT_EQ(v, 128);  // the mean of 0..255 repeated: 127.5 rounds away to 128
  const Dataset strong = degrade(d, {Degradation::kContrast, 3.0});
  EXPECT_EQ(strong.pixels[0], 0);
  EXPECT_EQ(strong.pixels[255], 255);
}

TEST(Degrade, RejectsBadAmounts) {
  const Dataset d = smooth_images(1);
  EXPECT_THROW(degrade(d, {Degradation::kJpeg, 0}), Error);
  EXPECT_THROW(degrade(d, {Degradation::kJpeg, 101}), Error);
  EXPECT_THROW(degrade(d, {Degradation::kJpeg, 75.5}), Error);
  EXPECT_THROW(degrade(d, {Degradation::kBrightness, 1.5}), Error);
  EXPECT_THROW(degrade(d, {Degradation::kContrast, -0.1}), Error);
  EXPECT_THROW(degrade(d, {Degradation::kContrast, NAN}), Error);
  EXPECT_THROW(jpeg_roundtrip(d.image(0), 32, 32, 0), Error);
}

TEST(Degrade, Names) {
  EXPECT_EQ((DegradeSpec{Degradation::kJpeg, 75}).name(), "jpeg q75");
  EXPECT_EQ((DegradeSpec{Degradation::kBrightness, -0.08}).name(), "brightness -0.08");
  EXPECT_EQ((DegradeSpec{Degradation::kContrast, 1.2}).name(), "contrast x1.20");
}

}  // namespace
}  // namespace tinyptq
