// VNNI Conv2D run: tiles of up to 4 output pixels × 16 output channels, one vpdpbusd per (pixel, tap, quad
// of input channels). acc = Σ x̃·w in int32 (exact by the accumulator contract; wrapping sums are
// order-independent, so acc + bias − zw·Σ x̃ equals the reference bit for bit), then the float
// requantization of requantize_float: v = float(acc)·M, clamp to [min − zy, max − zy] (NaN → lower
// bound, as max_ps returns its second operand), round half to even (cvtps2dq, default MXCSR), + zy.
#include <immintrin.h>

#include <cstring>

#include "kernels/int8/reference/conv2d.h"
#include "kernels/int8/avx512/conv2d_vnni.h"

// GCC 12 flags the self-initialised _mm512_undefined_*() pass-through operands inside the intrinsics
// (cvtepi32_ps, max_ps, ...) as maybe-uninitialized: a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace tinyptq::int8::avx512vnni {

namespace {

inline int32_t load_quad(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The last in_c % 4 bytes of a pixel, zero-extended (never reads past the pixel).
inline int32_t load_tail(const uint8_t* p, int64_t bytes) {
  uint8_t b[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < bytes; ++i) b[i] = p[i];
  return load_quad(b);
}

struct Run {
  const ConvShape* s;
  const uint8_t* image;  // this image's NHWC input
  int32_t pad_quad, pad_tail;  // padded taps: 4 bytes zx; the in_c % 4 tail bytes zx, the rest 0
  const int8_t* weights;
  const int32_t* bias;
  const int32_t* zero_points;  // null when every zw is 0
  const float* multipliers;
  int32_t input_zero_point;
  float lo, hi;  // min − zy, max − zy
  int32_t out_zero_point;

  const uint8_t* pixel(int64_t iy, int64_t ix) const {
    return iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w ? image + (iy * s->in_w + ix) * s->in_c
                                                                : nullptr;
  }

  // Σ_taps Σ_ic x̃ of output pixel (oy, ox); padded taps hold zx.
  int32_t input_sum(int64_t oy, int64_t ox) const {
    const Window2d& w = s->window;
    int32_t sum = 0;
    for (int64_t ky = 0; ky < w.kernel_h; ++ky)
      for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
        const uint8_t* px = pixel(oy * w.stride_h - w.pad_top + ky * w.dilation_h,
                                  ox * w.stride_w - w.pad_left + kx * w.dilation_w);
        for (int64_t ic = 0; px && ic < s->in_c; ++ic) sum += px[ic];
        if (!px) sum += input_zero_point * int32_t(s->in_c);
      }
    return sum;
  }

  // Output pixels (oy, ox0 .. ox0 + NP − 1), channels [16b, 16b + 16) ∩ [0, out_c), into out (this row).
  template <int NP>
  void tile(int64_t oy, int64_t ox0, int64_t b, uint8_t* out_row) const {
    const Window2d& w = s->window;
    const int64_t in_c = s->in_c, full = in_c / kQuad, tail = in_c % kQuad;
    const int64_t quads = (in_c + kQuad - 1) / kQuad, taps = w.kernel_h * w.kernel_w;
    __m512i acc[NP];
    for (int i = 0; i < NP; ++i) acc[i] = _mm512_setzero_si512();
    const int8_t* wt = weights + b * taps * quads * kBlock * kQuad;
    const int64_t y0 = oy * w.stride_h - w.pad_top;
    for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
      const int64_t iy = y0 + ky * w.dilation_h;
      for (int64_t kx = 0; kx < w.kernel_w; ++kx, wt += quads * kBlock * kQuad) {
        const uint8_t* px[NP];
        for (int i = 0; i < NP; ++i)
          px[i] = pixel(iy, (ox0 + i) * w.stride_w - w.pad_left + kx * w.dilation_w);
        for (int64_t q = 0; q < full; ++q) {
          const __m512i wv = _mm512_loadu_si512(wt + q * kBlock * kQuad);
          for (int i = 0; i < NP; ++i) {
            const int32_t xq = px[i] ? load_quad(px[i] + q * kQuad) : pad_quad;
            acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_set1_epi32(xq), wv);
          }
        }
        if (tail) {
          const __m512i wv = _mm512_loadu_si512(wt + full * kBlock * kQuad);
          for (int i = 0; i < NP; ++i) {
            const int32_t xq = px[i] ? load_tail(px[i] + full * kQuad, tail) : pad_tail;
            acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_set1_epi32(xq), wv);
          }
        }
      }
    }
    const int64_t c0 = b * kBlock, n = s->out_c - c0 < kBlock ? s->out_c - c0 : kBlock;
    const __mmask16 mask = __mmask16((1u << n) - 1);
    const __m512i bias_v = _mm512_maskz_loadu_epi32(mask, bias + c0);
    const __m512 mult_v = _mm512_maskz_loadu_ps(mask, multipliers + c0);
    const __m512i zw_v =
        zero_points ? _mm512_maskz_loadu_epi32(mask, zero_points + c0) : _mm512_setzero_si512();
    const __m512 lo_v = _mm512_set1_ps(lo), hi_v = _mm512_set1_ps(hi);
    const __m512i zy_v = _mm512_set1_epi32(out_zero_point);
    for (int i = 0; i < NP; ++i) {
      __m512i a = _mm512_add_epi32(acc[i], bias_v);
      if (zero_points)
        a = _mm512_sub_epi32(a, _mm512_mullo_epi32(zw_v, _mm512_set1_epi32(input_sum(oy, ox0 + i))));
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(a), mult_v);
      v = _mm512_min_ps(_mm512_max_ps(v, lo_v), hi_v);
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zy_v);
      _mm_mask_storeu_epi8(out_row + (ox0 + i) * s->out_c + c0, mask, _mm512_cvtepi32_epi8(q));
    }
  }
};

}  // namespace

void conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows, void* scratch) {
  const ConvShape& s = p.shape;
  if (s.groups != 1) return ref::conv2d(p, x, y, images, rows, scratch);  // packed by ref::conv2d_pack
  const PackedWeights& pw = *p.weights;

  Run r{};
  r.s = &s;
  uint8_t zx[4] = {};
  for (int64_t i = 0; i < 4; ++i) zx[i] = i < s.in_c % kQuad ? uint8_t(p.input_zero_point) : 0;
  r.pad_tail = load_quad(zx);
  r.pad_quad = int32_t(uint32_t(uint8_t(p.input_zero_point)) * 0x01010101u);
  r.weights = pw.data.data();
  r.bias = pw.bias.data();
  r.zero_points = pw.zero_points.empty() ? nullptr : pw.zero_points.data();
  r.multipliers = pw.multipliers.data();
  r.input_zero_point = p.input_zero_point;
  r.lo = float(int64_t{p.output.min} - p.output.zero_point);
  r.hi = float(int64_t{p.output.max} - p.output.zero_point);
  r.out_zero_point = p.output.zero_point;
  const int64_t blocks = (s.out_c + kBlock - 1) / kBlock;

  for (int64_t n = 0; n < images; ++n) {
    r.image = x + n * s.in_h * s.in_w * s.in_c;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      uint8_t* out_row = y + (n * s.out_h + oy) * s.out_w * s.out_c;
      int64_t ox = 0;
      for (; ox + 4 <= s.out_w; ox += 4)
        for (int64_t b = 0; b < blocks; ++b) r.tile<4>(oy, ox, b, out_row);
      const int64_t left = s.out_w - ox;
      for (int64_t b = 0; b < blocks; ++b) {
        if (left == 3) r.tile<3>(oy, ox, b, out_row);
        if (left == 2) r.tile<2>(oy, ox, b, out_row);
        if (left == 1) r.tile<1>(oy, ox, b, out_row);
      }
    }
  }
}

}  // namespace tinyptq::int8::avx512vnni
