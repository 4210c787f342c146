// PNG and JPEG encoding of small fixtures (tests, fuzz seeds): every PNG color type and bit depth the
// decoder converts, and JPEGs in RGB, grayscale or CMYK. Not a general image writer.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tinyptq {

enum class PngColor { kGray, kGrayAlpha, kRgb, kRgba, kPalette };

struct PngSpec {
  int height = 0, width = 0;
  PngColor color = PngColor::kRgb;
  int bit_depth = 8;  // 8 or 16 (palette/gray: also 1, 2, 4)
  bool interlaced = false;
  std::vector<std::array<uint8_t, 3>> palette;  // kPalette only
  std::vector<uint8_t> palette_alpha;           // kPalette only: a tRNS chunk when non-empty
};

// samples: height × width × channels values (1, 2, 3, 4 or 1 palette index per pixel by color), each below
// 2^bit_depth. Error on a libpng failure.
std::string encode_png(const PngSpec& spec, const std::vector<uint16_t>& samples);
// height × width × components bytes: 3 = RGB, 1 = grayscale, 4 = CMYK. Error on a libjpeg failure.
std::string encode_jpeg(const uint8_t* pixels, int height, int width, int components, int quality);

}  // namespace tinyptq
