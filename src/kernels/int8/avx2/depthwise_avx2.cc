#include "kernels/int8/avx2/depthwise_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/int8/reference/conv2d.h"

namespace tinyptq::int8::avx2 {

namespace {

constexpr int64_t kBlock = 16;  // channels per step: one xmm of bytes, two ymm of int32

int64_t padded_channels(int64_t c) { return (c + kBlock - 1) / kBlock * kBlock; }

// 16 bytes from p, of which only n are valid (n < 16 only at the last block): no read past p + n.
__m128i load_bytes(const uint8_t* p, int64_t n) {
  if (n == kBlock) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (n == 8) return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));  // 8-channel layers: one load
  alignas(16) uint8_t tmp[kBlock] = {};
  std::memcpy(tmp, p, size_t(n));
  return _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
}

}  // namespace

bool depthwise_supports(const ConvShape& s) { return s.groups == s.in_c && s.in_c == s.out_c && s.groups > 1; }

void depthwise_pack(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out) {
  ref::conv2d_pack(p, w, out);  // data = [c][kh][kw] (one input channel per group), bias folded
  const ConvShape& s = p.shape;
  if (!depthwise_supports(s)) return;  // keeps the reference layout; run defers to ref::conv2d
  const int64_t taps = s.window.kernel_h * s.window.kernel_w, cp = padded_channels(s.out_c);
  std::vector<int8_t> data(size_t(taps * cp), 0);
  for (int64_t c = 0; c < s.out_c; ++c)
    for (int64_t t = 0; t < taps; ++t) data[size_t(t * cp + c)] = out->data[size_t(c * taps + t)];
  out->data = std::move(data);
  out->bias.resize(size_t(cp), 0);
  out->multipliers.resize(size_t(cp), 0.0f);
  if (!out->zero_points.empty()) out->zero_points.resize(size_t(cp), 0);
}

size_t depthwise_scratch_bytes(const ConvParams&) { return 0; }

void depthwise_conv2d(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                      void* scratch) {
  const ConvShape& s = p.shape;
  if (!depthwise_supports(s)) return ref::conv2d(p, x, y, images, rows, scratch);
  const Window2d& win = s.window;
  const PackedWeights& pw = *p.weights;
  const int64_t c_all = s.out_c, cp = padded_channels(c_all);
  const bool has_zw = !pw.zero_points.empty();
  const __m256i zx16 = _mm256_set1_epi16(int16_t(p.input_zero_point));
  const __m256 lo = _mm256_set1_ps(float(int64_t{p.output.min} - p.output.zero_point));
  const __m256 hi = _mm256_set1_ps(float(int64_t{p.output.max} - p.output.zero_point));
  const __m256i zy = _mm256_set1_epi32(p.output.zero_point);

  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * c_all;
    uint8_t* out_image = y + n * s.out_h * s.out_w * c_all;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy)
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
        for (int64_t c = 0; c < c_all; c += kBlock) {
          const int64_t nc = c_all - c < kBlock ? c_all - c : kBlock;
          __m256i acc0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pw.bias.data() + c));
          __m256i acc1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pw.bias.data() + c + 8));
          __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
          for (int64_t ky = 0; ky < win.kernel_h; ++ky) {
            const int64_t iy = y0 + ky * win.dilation_h;
            for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
              const int64_t ix = x0 + kx * win.dilation_w;
              const int64_t tap = ky * win.kernel_w + kx;
              const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
              const __m256i xv =
                  inside ? _mm256_cvtepu8_epi16(load_bytes(image + (iy * s.in_w + ix) * c_all + c, nc)) : zx16;
              const __m256i wv = _mm256_cvtepi8_epi16(
                  _mm_loadu_si128(reinterpret_cast<const __m128i*>(pw.data.data() + tap * cp + c)));
              const __m256i prod = _mm256_mullo_epi16(xv, wv);  // exact: |x̃·w| ≤ 32640
              acc0 = _mm256_add_epi32(acc0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(prod)));
              acc1 = _mm256_add_epi32(acc1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(prod, 1)));
              if (has_zw) {
                sum0 = _mm256_add_epi32(sum0, _mm256_cvtepu16_epi32(_mm256_castsi256_si128(xv)));
                sum1 = _mm256_add_epi32(sum1, _mm256_cvtepu16_epi32(_mm256_extracti128_si256(xv, 1)));
              }
            }
          }
          if (has_zw) {
            const __m256i* zw = reinterpret_cast<const __m256i*>(pw.zero_points.data() + c);
            acc0 = _mm256_sub_epi32(acc0, _mm256_mullo_epi32(_mm256_loadu_si256(zw), sum0));
            acc1 = _mm256_sub_epi32(acc1, _mm256_mullo_epi32(_mm256_loadu_si256(zw + 1), sum1));
          }
          const __m256 m0 = _mm256_loadu_ps(pw.multipliers.data() + c);
          const __m256 m1 = _mm256_loadu_ps(pw.multipliers.data() + c + 8);
          // max(v, lo) returns lo for a NaN v, as requantize_float's v >= lo ? v : lo.
          const __m256 f0 = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc0), m0), lo), hi);
          const __m256 f1 = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc1), m1), lo), hi);
          const __m256i q0 = _mm256_add_epi32(_mm256_cvtps_epi32(f0), zy);  // half to even (MXCSR default)
          const __m256i q1 = _mm256_add_epi32(_mm256_cvtps_epi32(f1), zy);
          // packus works per 128-bit lane: words [q0 0..3, q1 0..3 | q0 4..7, q1 4..7]; 0xD8 restores order.
          const __m256i words = _mm256_permute4x64_epi64(_mm256_packus_epi32(q0, q1), 0xD8);
          const __m128i bytes =
              _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
          uint8_t* o = out_image + (oy * s.out_w + ox) * c_all + c;
          if (nc == kBlock) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o), bytes);
          } else {
            alignas(16) uint8_t tmp[kBlock];
            _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
            std::memcpy(o, tmp, size_t(nc));
          }
        }
      }
  }
}

}  // namespace tinyptq::int8::avx2
