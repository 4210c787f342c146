// AVX2 Conv2D run: tiles of up to 2 output pixels × 16 output channels. Per quad of input channels, the 4
// bytes x̃[4q..4q+3] widened to int16 and repeated meet 4 channels' int16 weights in one vpmaddwd, giving
// per channel two int32 pair sums; the pairs are added (hadd) only at the end. All partial sums are exact
// int32 (accumulator contract), so acc equals the reference's; requantization as requantize_float
// (max_ps returns its second operand on NaN → lower bound; cvtps2dq rounds half to even).
#include <immintrin.h>

#include <cstring>

#include "kernels/int8/reference/conv2d.h"
#include "kernels/int8/avx2/conv2d_avx2.h"
#include "kernels/int8/avx512/conv2d_vnni.h"

namespace tinyptq::int8::avx2 {

namespace {

using avx512vnni::kBlock;
using avx512vnni::kQuad;

inline int32_t load_quad(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline int32_t load_tail(const uint8_t* p, int64_t bytes) {
  uint8_t b[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < bytes; ++i) b[i] = p[i];
  return load_quad(b);
}

// Quad [x0 x1 x2 x3] as 16 int16: x0 x1 x2 x3 repeated 4 times.
inline __m256i widen_quad(int32_t q) { return _mm256_cvtepu8_epi16(_mm_set1_epi32(q)); }

struct Run {
  const ConvShape* s;
  const uint8_t* image;
  int32_t input_zero_point;
  int32_t pad_quad, pad_tail;
  const int8_t* weights;
  const int32_t* bias;
  const int32_t* zero_points;
  const float* multipliers;
  float lo, hi;
  int32_t out_zero_point;

  const uint8_t* pixel(int64_t iy, int64_t ix) const {
    return iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w ? image + (iy * s->in_w + ix) * s->in_c
                                                                : nullptr;
  }

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

  template <int NP>
  void tile(int64_t oy, int64_t ox0, int64_t b, uint8_t* out_row) const {
    const Window2d& w = s->window;
    const int64_t in_c = s->in_c, full = in_c / kQuad, tail = in_c % kQuad;
    const int64_t quads = (in_c + kQuad - 1) / kQuad, taps = w.kernel_h * w.kernel_w;
    __m256i acc[NP][4];  // [pixel][channels 4j..4j+3], two pair sums per channel
    for (int i = 0; i < NP; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_si256();
    const int8_t* wt = weights + b * taps * quads * kBlock * kQuad;
    const int64_t y0 = oy * w.stride_h - w.pad_top;
    for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
      const int64_t iy = y0 + ky * w.dilation_h;
      for (int64_t kx = 0; kx < w.kernel_w; ++kx, wt += quads * kBlock * kQuad) {
        const uint8_t* px[NP];
        for (int i = 0; i < NP; ++i)
          px[i] = pixel(iy, (ox0 + i) * w.stride_w - w.pad_left + kx * w.dilation_w);
        for (int64_t q = 0; q < quads; ++q) {
          __m256i xv[NP];
          for (int i = 0; i < NP; ++i)
            xv[i] = widen_quad(!px[i]     ? (q < full ? pad_quad : pad_tail)
                               : q < full ? load_quad(px[i] + q * kQuad)
                                          : load_tail(px[i] + q * kQuad, tail));
          const int8_t* wq = wt + q * kBlock * kQuad;
          for (int j = 0; j < 4; ++j) {
            const __m256i wv =
                _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wq + 16 * j)));
            for (int i = 0; i < NP; ++i)
              acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(xv[i], wv));
          }
        }
      }
    }
    const int64_t c0 = b * kBlock, n = s->out_c - c0 < kBlock ? s->out_c - c0 : kBlock;
    int32_t bias_b[kBlock] = {}, zw_b[kBlock] = {};
    float mult_b[kBlock] = {};
    for (int64_t c = 0; c < n; ++c) {
      bias_b[c] = bias[c0 + c];
      zw_b[c] = zero_points ? zero_points[c0 + c] : 0;
      mult_b[c] = multipliers[c0 + c];
    }
    const __m256 lo_v = _mm256_set1_ps(lo), hi_v = _mm256_set1_ps(hi);
    const __m256i zy_v = _mm256_set1_epi32(out_zero_point);
    for (int i = 0; i < NP; ++i) {
      const int32_t sum = zero_points ? input_sum(oy, ox0 + i) : 0;
      __m256i q[2];
      for (int h = 0; h < 2; ++h) {  // channels 8h..8h+7
        __m256i a = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][2 * h], acc[i][2 * h + 1]), 0xD8);
        a = _mm256_add_epi32(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias_b + 8 * h)));
        const __m256i zw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(zw_b + 8 * h));
        a = _mm256_sub_epi32(a, _mm256_mullo_epi32(zw, _mm256_set1_epi32(sum)));
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_loadu_ps(mult_b + 8 * h));
        v = _mm256_min_ps(_mm256_max_ps(v, lo_v), hi_v);
        q[h] = _mm256_add_epi32(_mm256_cvtps_epi32(v), zy_v);
      }
      // Values are in [0, 255]: the saturating packs are exact; packs interleave 128-bit lanes.
      const __m256i words = _mm256_permute4x64_epi64(_mm256_packus_epi32(q[0], q[1]), 0xD8);
      const __m128i bytes =
          _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
      alignas(16) uint8_t out[kBlock];
      _mm_store_si128(reinterpret_cast<__m128i*>(out), bytes);
      std::memcpy(out_row + (ox0 + i) * s->out_c + c0, out, size_t(n));
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
  r.input_zero_point = p.input_zero_point;
  r.pad_quad = int32_t(uint32_t(uint8_t(p.input_zero_point)) * 0x01010101u);
  r.weights = pw.data.data();
  r.bias = pw.bias.data();
  r.zero_points = pw.zero_points.empty() ? nullptr : pw.zero_points.data();
  r.multipliers = pw.multipliers.data();
  r.lo = float(int64_t{p.output.min} - p.output.zero_point);
  r.hi = float(int64_t{p.output.max} - p.output.zero_point);
  r.out_zero_point = p.output.zero_point;
  const int64_t blocks = (s.out_c + kBlock - 1) / kBlock;

  for (int64_t n = 0; n < images; ++n) {
    r.image = x + n * s.in_h * s.in_w * s.in_c;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      uint8_t* out_row = y + (n * s.out_h + oy) * s.out_w * s.out_c;
      int64_t ox = 0;
      for (; ox + 2 <= s.out_w; ox += 2)
        for (int64_t b = 0; b < blocks; ++b) r.tile<2>(oy, ox, b, out_row);
      if (ox < s.out_w)
        for (int64_t b = 0; b < blocks; ++b) r.tile<1>(oy, ox, b, out_row);
    }
  }
}

}  // namespace tinyptq::int8::avx2
