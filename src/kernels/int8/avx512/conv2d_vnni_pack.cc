// Weight packing and the zero-point-padded source for the VNNI (and AVX2) Conv2D; plain C++ (no ISA
// flags), so any CPU may run it.
#include "kernels/int8/avx512/conv2d_vnni.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "kernels/int8/reference/conv2d.h"

namespace tinyptq::int8::avx512vnni {

bool conv2d_supports(const ConvShape& s) { return s.groups == 1; }

void conv2d_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  ref::conv2d_pack(p, w, out);  // folds the bias; data is OHWI [out_c][kh·kw][in_c]
  const ConvShape& s = p.shape;
  if (s.groups != 1) return;  // unsupported shapes keep the reference layout; run defers to ref::conv2d
  const int64_t taps = s.window.kernel_h * s.window.kernel_w, in_c = s.in_c;
  const int64_t quads = (in_c + kQuad - 1) / kQuad, blocks = (s.out_c + kBlock - 1) / kBlock;
  std::vector<int8_t> packed(size_t(blocks * taps * quads * kBlock * kQuad), 0);
  for (int64_t oc = 0; oc < s.out_c; ++oc)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t ic = 0; ic < in_c; ++ic)
        packed[size_t((((oc / kBlock) * taps + t) * quads + ic / kQuad) * kBlock * kQuad +
                      (oc % kBlock) * kQuad + ic % kQuad)] = out->data[size_t((oc * taps + t) * in_c + ic)];
  out->data = std::move(packed);
}

PaddedSource padded_source(const ConvShape& s) {
  const Window2d& w = s.window;
  PaddedSource g;
  g.c4 = (s.in_c + kQuad - 1) / kQuad * kQuad;
  g.rows = s.in_h + w.pad_top + w.pad_bottom;
  g.cols = s.in_w + w.pad_left + w.pad_right;
  g.direct = g.c4 == s.in_c && w.pad_top == 0 && w.pad_bottom == 0 && w.pad_left == 0 && w.pad_right == 0;
  return g;
}

size_t conv2d_scratch_bytes(const ConvParams& p) {
  const PaddedSource g = padded_source(p.shape);
  return g.direct ? 0 : size_t(g.rows * g.cols * g.c4);
}

void fill_padded_rows(const ConvShape& s, int32_t input_zero_point, const uint8_t* image, uint8_t* buf,
                      int64_t row_begin, int64_t row_end) {
  const PaddedSource g = padded_source(s);
  const Window2d& w = s.window;
  const int64_t c4 = g.c4, in_c = s.in_c;
  // `pixels` padded pixels at dst: zx in the real channels (real 0), 0 in the channels added up to c4.
  auto write_pad = [&](uint8_t* dst, int64_t pixels) {
    if (c4 == in_c) {
      std::memset(dst, int(input_zero_point), size_t(pixels * c4));
      return;
    }
    for (int64_t p = 0; p < pixels; ++p) {
      std::memset(dst + p * c4, int(input_zero_point), size_t(in_c));
      std::memset(dst + p * c4 + in_c, 0, size_t(c4 - in_c));
    }
  };
  for (int64_t r = std::max<int64_t>(row_begin, 0); r < std::min(row_end, g.rows); ++r) {
    uint8_t* dst = buf + r * g.cols * c4;
    const int64_t iy = r - w.pad_top;
    if (iy < 0 || iy >= s.in_h) {
      write_pad(dst, g.cols);
      continue;
    }
    write_pad(dst, w.pad_left);
    uint8_t* mid = dst + w.pad_left * c4;
    const uint8_t* src = image + iy * s.in_w * in_c;
    if (c4 == in_c) {
      std::memcpy(mid, src, size_t(s.in_w * in_c));
    } else {
      for (int64_t x = 0; x < s.in_w; ++x) {
        std::memcpy(mid + x * c4, src + x * in_c, size_t(in_c));
        std::memset(mid + x * c4 + in_c, 0, size_t(c4 - in_c));
      }
    }
    write_pad(dst + (w.pad_left + s.in_w) * c4, g.cols - w.pad_left - s.in_w);
  }
}

}  // namespace tinyptq::int8::avx512vnni
