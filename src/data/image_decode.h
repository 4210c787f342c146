// PNG (libpng) and JPEG (libjpeg-turbo) decoding from memory into 8-bit interleaved RGB. The format is
// chosen by the bytes (PNG signature / JPEG SOI marker), never by a file extension.
// PNG: grayscale, palette, 1/2/4/16-bit and interlaced images become 8-bit RGB; alpha (and tRNS) is
// dropped, not composited; 16-bit samples are scaled to 8 bits (libpng png_set_scale_16); no gamma or
// color-profile correction. JPEG: RGB or grayscale (replicated to RGB), islow DCT; CMYK/YCCK rejected.
// Errors (tinyptq::Error, prefixed with `what`): not a PNG/JPEG, truncated data, any libpng/libjpeg
// error, more than kMaxImagePixels pixels. libpng/libjpeg errors longjmp back to the decoder, so bad
// input never aborts the process.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tinyptq {

// Larger images are rejected before any pixel buffer is allocated (32 Mpixel, 96 MiB of RGB).
constexpr int64_t kMaxImagePixels = int64_t(1) << 25;

// height × width pixels, row-major, 3 bytes (R, G, B) each.
struct RgbImage {
  int height = 0, width = 0;
  std::vector<uint8_t> rgb;
};

enum class ImageType { kUnknown, kPng, kJpeg };
ImageType sniff_image(std::string_view bytes);  // by the first bytes

RgbImage decode_png(std::string_view bytes, const std::string& what);
RgbImage decode_jpeg(std::string_view bytes, const std::string& what);
// decode_png or decode_jpeg by sniff_image; Error "<what>: not a PNG or JPEG image" otherwise.
RgbImage decode_image(std::string_view bytes, const std::string& what);

}  // namespace tinyptq
