#include "data/degrade.h"

#include <jpeglib.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace tinyptq {

namespace {

uint8_t to_pixel(double v) { return uint8_t(std::clamp(std::round(v), 0.0, 255.0)); }

// libjpeg reports errors through error_exit, which must not return: jump back to the caller's setjmp.
// No C++ object with a destructor lives between the setjmp and the libjpeg calls.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_jpeg_error(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

// Encodes interleaved RGB rows; *out is malloc'ed by libjpeg (freed by the caller). False on error.
bool encode(const uint8_t* rgb, int h, int w, int quality, unsigned char** out, unsigned long* size,
            JpegError& err) {
  jpeg_compress_struct c{};
  c.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_jpeg_error;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&c);
    return false;
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, out, size);
  c.image_width = JDIMENSION(w);
  c.image_height = JDIMENSION(h);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);  // YCbCr, 4:2:0 chroma subsampling
  c.dct_method = JDCT_ISLOW;
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rgb + size_t(c.next_scanline) * size_t(w) * 3);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return true;
}

bool decode(const unsigned char* data, unsigned long size, int h, int w, uint8_t* rgb, JpegError& err) {
  jpeg_decompress_struct d{};
  d.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_jpeg_error;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&d);
    return false;
  }
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, data, size);
  jpeg_read_header(&d, TRUE);
  d.out_color_space = JCS_RGB;
  d.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&d);
  if (int(d.output_width) != w || int(d.output_height) != h || d.output_components != 3) {
    std::snprintf(err.message, sizeof err.message, "decoded size %ux%ux%d differs from %dx%dx3", d.output_width,
                  d.output_height, d.output_components, w, h);
    jpeg_destroy_decompress(&d);
    return false;
  }
  while (d.output_scanline < d.output_height) {
    JSAMPROW row = rgb + size_t(d.output_scanline) * size_t(w) * 3;
    jpeg_read_scanlines(&d, &row, 1);
  }
  jpeg_finish_decompress(&d);
  jpeg_destroy_decompress(&d);
  return true;
}

}  // namespace

std::string DegradeSpec::name() const {
  char buf[64];
  switch (kind) {
    case Degradation::kJpeg: std::snprintf(buf, sizeof buf, "jpeg q%d", int(amount)); break;
    case Degradation::kBrightness: std::snprintf(buf, sizeof buf, "brightness %+.2f", amount); break;
    case Degradation::kContrast: std::snprintf(buf, sizeof buf, "contrast x%.2f", amount); break;
  }
  return buf;
}

std::vector<uint8_t> jpeg_roundtrip(const uint8_t* chw, int h, int w, int quality) {
  check(quality >= 1 && quality <= 100, "JPEG quality must be 1..100 (got " + std::to_string(quality) + ")");
  check(h > 0 && w > 0, "JPEG round trip of an empty image");
  const size_t plane = size_t(h) * size_t(w);
  std::vector<uint8_t> rgb(plane * 3);
  for (size_t p = 0; p < plane; ++p)
    for (size_t c = 0; c < 3; ++c) rgb[p * 3 + c] = chw[c * plane + p];
  JpegError err{};
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;
  const bool encoded = encode(rgb.data(), h, w, quality, &jpeg, &size, err);
  const bool decoded = encoded && decode(jpeg, size, h, w, rgb.data(), err);
  std::free(jpeg);
  check(decoded, std::string("JPEG round trip failed: ") + err.message);
  std::vector<uint8_t> out(plane * 3);
  for (size_t p = 0; p < plane; ++p)
    for (size_t c = 0; c < 3; ++c) out[c * plane + p] = rgb[p * 3 + c];
  return out;
}

Dataset degrade(const Dataset& d, const DegradeSpec& spec) {
  check(std::isfinite(spec.amount), "degradation amount must be finite");
  switch (spec.kind) {
    case Degradation::kJpeg:
      check(spec.amount >= 1 && spec.amount <= 100 && spec.amount == std::floor(spec.amount),
            "JPEG quality must be an integer 1..100");
      break;
    case Degradation::kBrightness:
      check(spec.amount >= -1 && spec.amount <= 1, "brightness shift must be in [-1, 1] (of 255)");
      break;
    case Degradation::kContrast: check(spec.amount >= 0, "contrast factor must be >= 0"); break;
  }
  Dataset out = d;
  constexpr int kBytes = Dataset::kImageBytes;
  for (int64_t k = 0; k < d.count; ++k) {
    const uint8_t* src = d.image(k);
    uint8_t* dst = out.pixels.data() + k * kBytes;
    switch (spec.kind) {
      case Degradation::kJpeg: {
        const std::vector<uint8_t> img = jpeg_roundtrip(src, Dataset::kHeight, Dataset::kWidth, int(spec.amount));
        std::copy(img.begin(), img.end(), dst);
        break;
      }
      case Degradation::kBrightness:
        for (int p = 0; p < kBytes; ++p) dst[p] = to_pixel(src[p] + spec.amount * 255.0);
        break;
      case Degradation::kContrast: {
        double mean = 0;
        for (int p = 0; p < kBytes; ++p) mean += src[p];
        mean /= kBytes;
        for (int p = 0; p < kBytes; ++p) dst[p] = to_pixel(mean + spec.amount * (src[p] - mean));
        break;
      }
    }
  }
  return out;
}

}  // namespace tinyptq
