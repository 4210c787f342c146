// AVX-512 int8 elementwise and pooling kernels; see ops_avx512.h for the exactness argument. Each loop
// handles 16 elements per vector and the tail with masked loads/stores (never touching bytes past count).
#include "kernels/int8/avx512/ops_avx512.h"

#include <immintrin.h>

#include <cmath>

#include "kernels/int8/avx512/fixed_point_avx512.h"
#include "kernels/int8/reference/add.h"
#include "kernels/int8/reference/avgpool.h"
#include "quant/requant.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace tinyptq::int8::avx512 {

namespace {

// s = 2^k with 2^−k a normal float too (then x / s and x · 2^−k round the same exact value).
inline bool power_of_two(float s) {
  int e = 0;
  return std::isnormal(s) && std::frexp(s, &e) == 0.5f && std::isnormal(1.0f / s);
}

inline __mmask16 tail_mask(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

// 16 uint8 → int32 lanes.
inline __m512i load_u8(const uint8_t* p, __mmask16 m) {
  return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p));
}

// clamp(v, lo, hi) as the reference writes it (v > lo ? v : lo, then v < hi ? v : hi): NaN → lo.
inline __m512 clamp(__m512 v, __m512 lo, __m512 hi) { return _mm512_min_ps(_mm512_max_ps(v, lo), hi); }

// round half to even, + zy, narrowed to uint8 (the value is inside [min, max] ⊆ [0, 255]).
inline void store_q(uint8_t* y, __mmask16 m, __m512 v, __m512i zy) {
  _mm_mask_storeu_epi8(y, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), zy)));
}

// TFLite's integer Add (kernel_table.h), every step in int32 lanes: (q − z)·2^L, MBQM per input, the sum,
// then the output's MBQM, clamp and + zy. A multiplier with shift > 0 (M ≥ 1) takes the reference.
void add_integer(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count) {
  if (p.a_fixed.shift > 0 || p.b_fixed.shift > 0 || p.out_fixed.shift > 0) return ref::add(p, a, b, y, count);
  using avx512vnni::mbqm_shifted_small;
  constexpr int kSplit = 31 - kAddLeftShift;  // the inputs' (q − z)·2^L as mbqm_shifted_small<31 − L>(q − z)
  const __m512i za = _mm512_set1_epi32(p.a_zero_point), zb = _mm512_set1_epi32(p.b_zero_point);
  const __m512i low_bits = _mm512_set1_epi32((1 << kSplit) - 1);
  const __m512i ma = _mm512_set1_epi32(p.a_fixed.multiplier), ea = _mm512_set1_epi32(-p.a_fixed.shift);
  const __m512i mb = _mm512_set1_epi32(p.b_fixed.multiplier), eb = _mm512_set1_epi32(-p.b_fixed.shift);
  const __m512i mah = _mm512_srli_epi32(ma, kSplit), mal = _mm512_and_si512(ma, low_bits);
  const __m512i mbh = _mm512_srli_epi32(mb, kSplit), mbl = _mm512_and_si512(mb, low_bits);
  const __m512i mo = _mm512_set1_epi32(p.out_fixed.multiplier), eo = _mm512_set1_epi32(-p.out_fixed.shift);
  const __m512i lo = _mm512_set1_epi32(p.output.min - p.output.zero_point);
  const __m512i hi = _mm512_set1_epi32(p.output.max - p.output.zero_point);
  const __m512i zy = _mm512_set1_epi32(p.output.zero_point);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = tail_mask(count - i);
    const __m512i sa = mbqm_shifted_small<kSplit>(_mm512_sub_epi32(load_u8(a + i, m), za), mah, mal, ea);
    const __m512i sb = mbqm_shifted_small<kSplit>(_mm512_sub_epi32(load_u8(b + i, m), zb), mbh, mbl, eb);
    const __m512i q = avx512vnni::fixed_requant(_mm512_add_epi32(sa, sb), mo, eo, lo, hi, zy);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(q));
  }
}

// 16 window sums → output codes (ref::pool_output, integer branches): rounded_average for equal
// quantizations, else the fixed-point requantization; a multiplier with shift > 0 takes the scalar formula.
inline __m512i pool_codes_integer(__m512i sum, const ref::AvgPoolStage& st, const OutputStage& o) {
  const __m512i zy = _mm512_set1_epi32(o.zero_point);
  if (st.same_quant) {
    const __m512i q = _mm512_add_epi32(avx512vnni::rounded_average(sum, st.divisor), zy);
    return _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(o.min)), _mm512_set1_epi32(o.max));
  }
  if (st.fixed.shift <= 0) {
    return avx512vnni::fixed_requant(sum, _mm512_set1_epi32(st.fixed.multiplier), _mm512_set1_epi32(-st.fixed.shift),
                                     _mm512_set1_epi32(o.min - o.zero_point), _mm512_set1_epi32(o.max - o.zero_point),
                                     zy);
  }
  alignas(64) int32_t v[16];
  _mm512_store_si512(v, sum);
  for (int32_t& e : v) e = requantize_fixed(e, st.fixed, o.zero_point, o.min, o.max);
  return _mm512_load_si512(v);
}

// 16 window sums → codes in either arithmetic, stored to the lanes of m.
inline void store_pool(uint8_t* y, __mmask16 m, __m512i sum, bool integer, const ref::AvgPoolStage& st,
                       const OutputStage& o) {
  if (integer) return _mm_mask_storeu_epi8(y, m, _mm512_cvtepi32_epi8(pool_codes_integer(sum, st, o)));
  const __m512 lo = _mm512_set1_ps(float(int64_t{o.min} - o.zero_point));
  const __m512 hi = _mm512_set1_ps(float(int64_t{o.max} - o.zero_point));
  store_q(y, m, clamp(_mm512_mul_ps(_mm512_cvtepi32_ps(sum), _mm512_set1_ps(st.multiplier)), lo, hi),
          _mm512_set1_epi32(o.zero_point));
}

}  // namespace

void add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count) {
  if (p.integer) return add_integer(p, a, b, y, count);
  const __m512 ma = _mm512_set1_ps(p.a_multiplier), mb = _mm512_set1_ps(p.b_multiplier);
  const __m512i za = _mm512_set1_epi32(p.a_zero_point), zb = _mm512_set1_epi32(p.b_zero_point);
  const __m512 lo = _mm512_set1_ps(float(p.output.min - p.output.zero_point));
  const __m512 hi = _mm512_set1_ps(float(p.output.max - p.output.zero_point));
  const __m512i zy = _mm512_set1_epi32(p.output.zero_point);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = tail_mask(count - i);
    const __m512 fa = _mm512_cvtepi32_ps(_mm512_sub_epi32(load_u8(a + i, m), za));
    const __m512 fb = _mm512_cvtepi32_ps(_mm512_sub_epi32(load_u8(b + i, m), zb));
    const __m512 v = _mm512_add_ps(_mm512_mul_ps(ma, fa), _mm512_mul_ps(mb, fb));
    store_q(y + i, m, clamp(v, lo, hi), zy);
  }
}

void quantize(const QuantizeParams& p, const float* x, uint8_t* y, int64_t count) {
  // x / s equals x · (1/s) for every x when s is a power of two (both are the correctly rounded x·2^−k).
  const bool pow2 = power_of_two(p.scale);
  const __m512 scale = _mm512_set1_ps(p.scale), inverse = _mm512_set1_ps(1.0f / p.scale);
  const __m512 lo = _mm512_set1_ps(float(p.output.min - p.output.zero_point));
  const __m512 hi = _mm512_set1_ps(float(p.output.max - p.output.zero_point));
  const __m512i zy = _mm512_set1_epi32(p.output.zero_point);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = tail_mask(count - i);
    const __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
    __m512 v = pow2 ? _mm512_mul_ps(xv, inverse) : _mm512_div_ps(xv, scale);
    v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);  // NaN → 0 (real 0)
    store_q(y + i, m, clamp(v, lo, hi), zy);
  }
}

void dequantize(const DequantizeParams& p, const uint8_t* x, float* y, int64_t count) {
  const __m512 scale = _mm512_set1_ps(p.scale);
  const __m512i z = _mm512_set1_epi32(p.zero_point);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = tail_mask(count - i);
    const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(load_u8(x + i, m), z));
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, scale));
  }
}

void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images) {
  const int64_t size = p.image_size, channels = p.channels;
  const __m512i bias = _mm512_set1_epi32(-p.input_zero_point * int32_t(size));
  const ref::AvgPoolStage st = ref::global_avgpool_stage(p);
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * size * channels;
    for (int64_t c = 0; c < channels; c += 16) {
      const __mmask16 m = tail_mask(channels - c);
      __m512i acc = bias;
      for (int64_t i = 0; i < size; ++i) acc = _mm512_add_epi32(acc, load_u8(image + i * channels + c, m));
      store_pool(y + n * channels + c, m, acc, p.integer, st, p.output);
    }
  }
}

void avgpool(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows) {
  const PoolShape& s = p.shape;
  const Window2d& win = s.window;
  const int64_t channels = s.channels;
  const __m512i zx = _mm512_set1_epi32(p.input_zero_point);
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * channels;
    uint8_t* out_image = y + n * s.out_h * s.out_w * channels;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
        const ref::AvgPoolStage st = ref::avgpool_stage(p, oy, ox);
        for (int64_t c = 0; c < channels; c += 16) {
          const __mmask16 m = tail_mask(channels - c);
          __m512i acc = _mm512_setzero_si512();
          for (int64_t ky = 0; ky < win.kernel_h; ++ky) {
            const int64_t iy = y0 + ky * win.dilation_h;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
              const int64_t ix = x0 + kx * win.dilation_w;
              if (ix < 0 || ix >= s.in_w) continue;
              acc = _mm512_add_epi32(acc, _mm512_sub_epi32(load_u8(image + (iy * s.in_w + ix) * channels + c, m), zx));
            }
          }
          store_pool(out_image + (oy * s.out_w + ox) * channels + c, m, acc, p.integer, st, p.output);
        }
      }
    }
  }
}

}  // namespace tinyptq::int8::avx512
