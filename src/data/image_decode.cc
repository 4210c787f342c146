#include "data/image_decode.h"

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include "core/error.h"

namespace tinyptq {
namespace {

// Progressive JPEGs with thousands of tiny scans take unbounded time to decode; real files have < 20.
constexpr int kMaxJpegScans = 500;
constexpr png_uint_32 kMaxPngSide = 1 << 16;

// ---- PNG -------------------------------------------------------------------------------------------
// libpng reports errors through png_on_error, which must not return: it longjmps to the setjmp in
// png_decode. Only libpng's C frames and these callbacks lie between the two; everything the decoder
// writes lives in the caller's objects (state, image, rows), so nothing is left indeterminate.
struct PngState {
  std::string_view bytes;
  size_t pos = 0;
  bool truncated = false;
  char message[256] = {};
};

void png_read_bytes(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > s->bytes.size() - s->pos) {
    s->truncated = true;
    png_error(png, "unexpected end of data");
  }
  std::memcpy(out, s->bytes.data() + s->pos, n);
  s->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

// False with s.message set on any error. Throws only std::bad_alloc (after releasing libpng).
bool png_decode(PngState& s, RgbImage& img, std::vector<png_bytep>& rows) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
  if (!png) throw std::bad_alloc();
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw std::bad_alloc();
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &s, png_read_bytes);
  png_set_user_limits(png, kMaxPngSide, kMaxPngSide);
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (uint64_t(w) * h > uint64_t(kMaxImagePixels)) {
    std::snprintf(s.message, sizeof s.message, "%ux%u pixels exceeds the limit of %lld", unsigned(w), unsigned(h),
                  static_cast<long long>(kMaxImagePixels));
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_expand(png);  // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
  png_set_scale_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
      png_get_rowbytes(png, info) != size_t(w) * 3) {
    std::snprintf(s.message, sizeof s.message, "does not convert to 8-bit RGB");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  try {
    img.rgb.resize(size_t(w) * h * 3);
    rows.resize(h);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  img.height = int(h), img.width = int(w);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = img.rgb.data() + size_t(y) * w * 3;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

// ---- JPEG ------------------------------------------------------------------------------------------
// Same contract as PNG: error_exit (and the EOF warning, and the scan limit) longjmp to jpeg_decode's
// setjmp; the decompressor lives in JpegState, in the caller's frame.
struct JpegState {
  jpeg_decompress_struct d{};
  jpeg_error_mgr mgr{};
  jpeg_progress_mgr progress{};
  std::jmp_buf jump;
  bool truncated = false, cmyk = false;
  char message[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void jpeg_on_error(j_common_ptr c) {
  auto* s = static_cast<JpegState*>(c->client_data);
  (*c->err->format_message)(c, s->message);
  std::longjmp(s->jump, 1);
}

// jpeg_mem_src pads a truncated stream with a fake EOI and only warns: treat that warning as an error.
void jpeg_on_message(j_common_ptr c, int level) {
  auto* s = static_cast<JpegState*>(c->client_data);
  if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) {
    s->truncated = true;
    std::snprintf(s->message, sizeof s->message, "premature end of data");
    std::longjmp(s->jump, 1);
  }
}

void jpeg_on_progress(j_common_ptr c) {
  auto* s = static_cast<JpegState*>(c->client_data);
  if (s->d.input_scan_number > kMaxJpegScans) {
    std::snprintf(s->message, sizeof s->message, "more than %d scans", kMaxJpegScans);
    std::longjmp(s->jump, 1);
  }
}

bool jpeg_decode(JpegState& s, std::string_view bytes, RgbImage& img) {
  s.d.err = jpeg_std_error(&s.mgr);
  s.mgr.error_exit = jpeg_on_error;
  s.mgr.emit_message = jpeg_on_message;
  s.d.client_data = &s;
  if (setjmp(s.jump)) {
    jpeg_destroy_decompress(&s.d);
    return false;
  }
  jpeg_create_decompress(&s.d);  // keeps err and client_data
  s.progress.progress_monitor = jpeg_on_progress;
  s.d.progress = &s.progress;
  jpeg_mem_src(&s.d, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&s.d, TRUE);
  if (s.d.jpeg_color_space == JCS_CMYK || s.d.jpeg_color_space == JCS_YCCK) {
    s.cmyk = true;
    jpeg_destroy_decompress(&s.d);
    return false;
  }
  if (uint64_t(s.d.image_width) * s.d.image_height > uint64_t(kMaxImagePixels)) {
    std::snprintf(s.message, sizeof s.message, "%ux%u pixels exceeds the limit of %lld", unsigned(s.d.image_width),
                  unsigned(s.d.image_height), static_cast<long long>(kMaxImagePixels));
    jpeg_destroy_decompress(&s.d);
    return false;
  }
  s.d.out_color_space = JCS_RGB;
  s.d.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&s.d);
  const size_t w = s.d.output_width, h = s.d.output_height;
  if (s.d.output_components != 3) {
    std::snprintf(s.message, sizeof s.message, "decodes to %d components, not RGB", s.d.output_components);
    jpeg_destroy_decompress(&s.d);
    return false;
  }
  try {
    img.rgb.resize(w * h * 3);
  } catch (...) {
    jpeg_destroy_decompress(&s.d);
    throw;
  }
  img.height = int(h), img.width = int(w);
  while (s.d.output_scanline < s.d.output_height) {
    JSAMPROW row = img.rgb.data() + size_t(s.d.output_scanline) * w * 3;
    jpeg_read_scanlines(&s.d, &row, 1);
  }
  jpeg_finish_decompress(&s.d);
  jpeg_destroy_decompress(&s.d);
  return true;
}

}  // namespace

ImageType sniff_image(std::string_view bytes) {
  if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return ImageType::kPng;
  if (bytes.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3)) return ImageType::kJpeg;
  return ImageType::kUnknown;
}

RgbImage decode_png(std::string_view bytes, const std::string& what) {
  PngState s;
  s.bytes = bytes;
  RgbImage img;
  std::vector<png_bytep> rows;
  if (!png_decode(s, img, rows)) {
    if (s.truncated) throw Error(what + ": truncated PNG (unexpected end of data)");
    throw Error(what + ": bad PNG: " + s.message);
  }
  return img;
}

RgbImage decode_jpeg(std::string_view bytes, const std::string& what) {
  JpegState s;
  RgbImage img;
  if (!jpeg_decode(s, bytes, img)) {
    if (s.truncated) throw Error(what + ": truncated JPEG (premature end of data)");
    if (s.cmyk) throw Error(what + ": CMYK JPEG is not supported (convert it to RGB)");
    throw Error(what + ": bad JPEG: " + s.message);
  }
  return img;
}

RgbImage decode_image(std::string_view bytes, const std::string& what) {
  switch (sniff_image(bytes)) {
    case ImageType::kPng: return decode_png(bytes, what);
    case ImageType::kJpeg: return decode_jpeg(bytes, what);
    case ImageType::kUnknown: break;
  }
  throw Error(what + ": not a PNG or JPEG image");
}

}  // namespace tinyptq
