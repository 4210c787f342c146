// Weight packing of the VNNI Conv2Ds (AVX-512 and AVX-VNNI) and the zero-point-padded source every SIMD
// Conv2D reads; plain C++ (no ISA flags), so any CPU may run it.
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

namespace {

// Header of the scratch: the geometry and zero point whose border (padded pixels, channels added up to
// c4) the buffer holds. Written after a full border fill; a call with the same key refreshes only the
// interior rows it needs.
struct SourceKey {
  int64_t in_h, in_w, in_c, pad_top, pad_left, pad_bottom, pad_right;
  int32_t zero_point;
  uint32_t magic;
};
constexpr uint32_t kMagic = 0x7AD5C0DEu;
constexpr int64_t kHeader = 64;
static_assert(sizeof(SourceKey) <= kHeader);

}  // namespace

size_t conv2d_scratch_bytes(const ConvParams& p) {
  const PaddedSource g = padded_source(p.shape);
  return g.direct ? 0 : size_t(kHeader + g.rows * g.cols * g.c4);
}

const uint8_t* padded_rows(const ConvShape& s, int32_t input_zero_point, const uint8_t* image, void* scratch,
                           int64_t row_begin, int64_t row_end) {
  const PaddedSource g = padded_source(s);
  const Window2d& w = s.window;
  const int64_t c4 = g.c4, in_c = s.in_c;
  auto* header = static_cast<uint8_t*>(scratch);
  uint8_t* buf = header + kHeader;
  SourceKey key{};
  key = {s.in_h, s.in_w, in_c, w.pad_top, w.pad_left, w.pad_bottom, w.pad_right, input_zero_point, kMagic};
  if (std::memcmp(header, &key, sizeof key) != 0) {
    // Every pixel as a padded one: zx in the real channels (real 0), 0 in the channels added up to c4.
    const int64_t pixels = g.rows * g.cols;
    if (c4 == in_c) {
      std::memset(buf, int(input_zero_point), size_t(pixels * c4));
    } else {
      for (int64_t i = 0; i < pixels; ++i) {
        std::memset(buf + i * c4, int(input_zero_point), size_t(in_c));
        std::memset(buf + i * c4 + in_c, 0, size_t(c4 - in_c));
      }
    }
    std::memcpy(header, &key, sizeof key);
  }
  // The interior: input rows of padded rows [row_begin, row_end), real channels only.
  const int64_t r0 = std::max(row_begin, w.pad_top), r1 = std::min(row_end, w.pad_top + s.in_h);
  for (int64_t r = r0; r < r1; ++r) {
    uint8_t* dst = buf + (r * g.cols + w.pad_left) * c4;
    const uint8_t* src = image + (r - w.pad_top) * s.in_w * in_c;
    if (c4 == in_c) {
      std::memcpy(dst, src, size_t(s.in_w * in_c));
    } else {
      for (int64_t x = 0; x < s.in_w; ++x)
        for (int64_t c = 0; c < in_c; ++c) dst[x * c4 + c] = src[x * in_c + c];
    }
  }
  return buf;
}

}  // namespace tinyptq::int8::avx512vnni
