#include "data/image_encode.h"

#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace tinyptq {
namespace {

// Errors longjmp back to the setjmp in the encoder; the output lives in the caller's string.
struct PngOut {
  std::string bytes;
  char message[256] = {};
};

void png_write_bytes(png_structp png, png_bytep data, size_t n) {
  static_cast<PngOut*>(png_get_io_ptr(png))->bytes.append(reinterpret_cast<const char*>(data), n);
}
void png_flush_nothing(png_structp) {}
void png_write_error(png_structp png, png_const_charp msg) {
  std::snprintf(static_cast<PngOut*>(png_get_error_ptr(png))->message, 256, "%s", msg);
  png_longjmp(png, 1);
}

int channels_of(PngColor c) {
  switch (c) {
    case PngColor::kGray: return 1;
    case PngColor::kGrayAlpha: return 2;
    case PngColor::kRgb: return 3;
    case PngColor::kRgba: return 4;
    case PngColor::kPalette: return 1;
  }
  return 0;
}

int png_color_type(PngColor c) {
  switch (c) {
    case PngColor::kGray: return PNG_COLOR_TYPE_GRAY;
    case PngColor::kGrayAlpha: return PNG_COLOR_TYPE_GRAY_ALPHA;
    case PngColor::kRgb: return PNG_COLOR_TYPE_RGB;
    case PngColor::kRgba: return PNG_COLOR_TYPE_RGBA;
    case PngColor::kPalette: return PNG_COLOR_TYPE_PALETTE;
  }
  return 0;
}

// Rows packed as libpng expects them (big-endian 16-bit, sub-byte samples MSB first).
std::vector<uint8_t> pack_rows(const PngSpec& s, const std::vector<uint16_t>& samples, size_t& row_bytes) {
  const size_t per_row = size_t(s.width) * size_t(channels_of(s.color));
  row_bytes = (per_row * size_t(s.bit_depth) + 7) / 8;
  std::vector<uint8_t> out(row_bytes * size_t(s.height), 0);
  for (size_t y = 0; y < size_t(s.height); ++y)
    for (size_t k = 0; k < per_row; ++k) {
      const uint16_t v = samples[y * per_row + k];
      uint8_t* row = out.data() + y * row_bytes;
      if (s.bit_depth == 16) {
        row[2 * k] = uint8_t(v >> 8), row[2 * k + 1] = uint8_t(v);
      } else if (s.bit_depth == 8) {
        row[k] = uint8_t(v);
      } else {
        const size_t bit = k * size_t(s.bit_depth);
        row[bit / 8] |= uint8_t(v << (8 - s.bit_depth - bit % 8));
      }
    }
  return out;
}

bool png_encode(const PngSpec& s, std::vector<uint8_t>& packed, size_t row_bytes, PngOut& out,
                std::vector<png_bytep>& rows, std::vector<png_color>& palette) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &out, png_write_error, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &out, png_write_bytes, png_flush_nothing);
  png_set_IHDR(png, info, png_uint_32(s.width), png_uint_32(s.height), s.bit_depth, png_color_type(s.color),
               s.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (s.color == PngColor::kPalette) {
    for (const auto& c : s.palette) palette.push_back({c[0], c[1], c[2]});
    png_set_PLTE(png, info, palette.data(), int(palette.size()));
    if (!s.palette_alpha.empty())
      png_set_tRNS(png, info, s.palette_alpha.data(), int(s.palette_alpha.size()), nullptr);
  }
  png_write_info(png, info);
  for (int y = 0; y < s.height; ++y) rows.push_back(packed.data() + size_t(y) * row_bytes);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

struct JpegOut {
  jpeg_compress_struct c{};
  jpeg_error_mgr mgr{};
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void jpeg_write_error(j_common_ptr c) {
  auto* s = static_cast<JpegOut*>(c->client_data);
  (*c->err->format_message)(c, s->message);
  std::longjmp(s->jump, 1);
}

bool jpeg_encode(JpegOut& s, const uint8_t* pixels, int h, int w, int components, int quality,
                 unsigned char** buf, unsigned long* size) {
  s.c.err = jpeg_std_error(&s.mgr);
  s.mgr.error_exit = jpeg_write_error;
  s.c.client_data = &s;
  if (setjmp(s.jump)) {
    jpeg_destroy_compress(&s.c);
    return false;
  }
  jpeg_create_compress(&s.c);
  jpeg_mem_dest(&s.c, buf, size);
  s.c.image_width = JDIMENSION(w), s.c.image_height = JDIMENSION(h);
  s.c.input_components = components;
  s.c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&s.c);
  jpeg_set_quality(&s.c, quality, TRUE);
  jpeg_start_compress(&s.c, TRUE);
  while (s.c.next_scanline < s.c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + size_t(s.c.next_scanline) * size_t(w) * size_t(components));
    jpeg_write_scanlines(&s.c, &row, 1);
  }
  jpeg_finish_compress(&s.c);
  jpeg_destroy_compress(&s.c);
  return true;
}

}  // namespace

std::string encode_png(const PngSpec& spec, const std::vector<uint16_t>& samples) {
  check(spec.height > 0 && spec.width > 0 &&
            samples.size() == size_t(spec.height) * size_t(spec.width) * size_t(channels_of(spec.color)),
        "encode_png: sample count does not match the size");
  size_t row_bytes = 0;
  std::vector<uint8_t> packed = pack_rows(spec, samples, row_bytes);
  PngOut out;
  std::vector<png_bytep> rows;
  std::vector<png_color> palette;
  check(png_encode(spec, packed, row_bytes, out, rows, palette), std::string("encode_png: ") + out.message);
  return out.bytes;
}

std::string encode_jpeg(const uint8_t* pixels, int height, int width, int components, int quality) {
  JpegOut s;
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  const bool ok = jpeg_encode(s, pixels, height, width, components, quality, &buf, &size);
  std::string bytes = ok ? std::string(reinterpret_cast<char*>(buf), size) : std::string();
  std::free(buf);
  check(ok, std::string("encode_jpeg: ") + s.message);
  return bytes;
}

}  // namespace tinyptq
