// Fuzz target: the PNG (libpng) and JPEG (libjpeg-turbo) decoders, each fed the same bytes whatever their
// signature says. Bad input must end in tinyptq::Error (libpng/libjpeg errors longjmp back to the decoder);
// an accepted image must be non-empty, within kMaxImagePixels, hold exactly height × width × 3 bytes, and
// resize (data/image_resize.h) to finite values in 0..255.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "data/image_decode.h"
#include "data/image_resize.h"
#include "fuzz_util.h"

namespace {

void check_image(const tinyptq::RgbImage& img) {
  using namespace tinyptq;
  bool ok = img.height > 0 && img.width > 0 && int64_t(img.height) * img.width <= kMaxImagePixels &&
            img.rgb.size() == size_t(img.height) * size_t(img.width) * 3;
  if (ok)
    for (float v : resize_bilinear(img, 5, 7)) ok = ok && std::isfinite(v) && v >= 0 && v <= 255;
  if (!ok) {
    std::fprintf(stderr, "property violated: image %dx%d with %zu bytes\n", img.width, img.height, img.rgb.size());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  const std::string_view bytes = fuzz::as_view(data, size);
  try {
    check_image(decode_png(bytes, "fuzz.png"));
  } catch (const Error&) {
  }
  try {
    check_image(decode_jpeg(bytes, "fuzz.jpg"));
  } catch (const Error&) {
  }
  return 0;
}
