// AVX2 int8 elementwise and pooling kernels; see ops_avx2.h.
#include "kernels/int8/avx2/ops_avx2.h"

#include <immintrin.h>

#include <cstring>

#include "kernels/int8/avx2/fixed_point_avx2.h"
#include "kernels/int8/reference/add.h"
#include "kernels/int8/reference/avgpool.h"
#include "kernels/int8/reference/dequantize.h"
#include "kernels/int8/reference/quantize.h"
#include "quant/requant.h"

namespace tinyptq::int8::avx2 {

namespace {

inline __m256i load8_u8(const uint8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}

inline __m256 clamp(__m256 v, __m256 lo, __m256 hi) { return _mm256_min_ps(_mm256_max_ps(v, lo), hi); }

// The first n ≤ 8 bytes at p as int32 lanes (lanes ≥ n: 0); reads only those n bytes.
inline __m256i load_u8_first(const uint8_t* p, int64_t n) {
  if (n >= 8) return load8_u8(p);
  uint8_t b[8] = {};
  std::memcpy(b, p, size_t(n));
  return load8_u8(b);
}

// 8 int32 lanes inside [0, 255] as 8 bytes, lane 0 first.
inline int64_t pack8(__m256i q) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  return _mm_cvtsi128_si64(_mm_packus_epi16(w, w));
}

// round half to even, + zy, 8 lanes (inside [0, 255]) as 8 bytes.
inline int64_t q8(__m256 v, __m256i zy) { return pack8(_mm256_add_epi32(_mm256_cvtps_epi32(v), zy)); }

inline void store8_q(uint8_t* y, __m256 v, __m256i zy) {
  const int64_t b = q8(v, zy);
  std::memcpy(y, &b, 8);
}

// TFLite's integer Add as avx512/ops_avx512.cc's add_integer, 8 lanes per step; the tail and any
// multiplier with shift > 0 take the reference.
void add_integer(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count) {
  if (p.a_fixed.shift > 0 || p.b_fixed.shift > 0 || p.out_fixed.shift > 0) return ref::add(p, a, b, y, count);
  using ymm_fixed::mbqm_shifted_small;
  constexpr int kSplit = 31 - kAddLeftShift;  // as avx512/ops_avx512.cc
  const __m256i za = _mm256_set1_epi32(p.a_zero_point), zb = _mm256_set1_epi32(p.b_zero_point);
  const __m256i low_bits = _mm256_set1_epi32((1 << kSplit) - 1);
  const __m256i ma = _mm256_set1_epi32(p.a_fixed.multiplier), ea = _mm256_set1_epi32(-p.a_fixed.shift);
  const __m256i mb = _mm256_set1_epi32(p.b_fixed.multiplier), eb = _mm256_set1_epi32(-p.b_fixed.shift);
  const __m256i mah = _mm256_srli_epi32(ma, kSplit), mal = _mm256_and_si256(ma, low_bits);
  const __m256i mbh = _mm256_srli_epi32(mb, kSplit), mbl = _mm256_and_si256(mb, low_bits);
  const __m256i mo = _mm256_set1_epi32(p.out_fixed.multiplier), eo = _mm256_set1_epi32(-p.out_fixed.shift);
  const __m256i lo = _mm256_set1_epi32(p.output.min - p.output.zero_point);
  const __m256i hi = _mm256_set1_epi32(p.output.max - p.output.zero_point);
  const __m256i zy = _mm256_set1_epi32(p.output.zero_point);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256i sa = mbqm_shifted_small<kSplit>(_mm256_sub_epi32(load8_u8(a + i), za), mah, mal, ea);
    const __m256i sb = mbqm_shifted_small<kSplit>(_mm256_sub_epi32(load8_u8(b + i), zb), mbh, mbl, eb);
    const __m256i q = ymm_fixed::fixed_requant(_mm256_add_epi32(sa, sb), mo, eo, lo, hi, zy);
    const int64_t bytes = pack8(q);
    std::memcpy(y + i, &bytes, 8);
  }
  ref::add(p, a + i, b + i, y + i, count - i);
}

// 8 window sums → output codes (ref::pool_output, integer branches), as avx512/ops_avx512.cc.
inline __m256i pool_codes_integer(__m256i sum, const ref::AvgPoolStage& st, const OutputStage& o) {
  const __m256i zy = _mm256_set1_epi32(o.zero_point);
  if (st.same_quant) {
    const __m256i q = _mm256_add_epi32(ymm_fixed::rounded_average(sum, st.divisor), zy);
    return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(o.min)), _mm256_set1_epi32(o.max));
  }
  if (st.fixed.shift <= 0) {
    return ymm_fixed::fixed_requant(sum, _mm256_set1_epi32(st.fixed.multiplier), _mm256_set1_epi32(-st.fixed.shift),
                                    _mm256_set1_epi32(o.min - o.zero_point), _mm256_set1_epi32(o.max - o.zero_point),
                                    zy);
  }
  alignas(32) int32_t v[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v), sum);
  for (int32_t& e : v) e = requantize_fixed(e, st.fixed, o.zero_point, o.min, o.max);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(v));
}

// 8 window sums → codes in either arithmetic; writes the first n ≤ 8 bytes only.
inline void store_pool_first(uint8_t* y, int64_t n, __m256i sum, bool integer, const ref::AvgPoolStage& st,
                             const OutputStage& o) {
  int64_t bytes = 0;
  if (integer) {
    bytes = pack8(pool_codes_integer(sum, st, o));
  } else {
    const __m256 lo = _mm256_set1_ps(float(int64_t{o.min} - o.zero_point));
    const __m256 hi = _mm256_set1_ps(float(int64_t{o.max} - o.zero_point));
    bytes = q8(clamp(_mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(st.multiplier)), lo, hi),
               _mm256_set1_epi32(o.zero_point));
  }
  std::memcpy(y, &bytes, size_t(n < 8 ? n : 8));
}

}  // namespace

void add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count) {
  if (p.integer) return add_integer(p, a, b, y, count);
  const __m256 ma = _mm256_set1_ps(p.a_multiplier), mb = _mm256_set1_ps(p.b_multiplier);
  const __m256i za = _mm256_set1_epi32(p.a_zero_point), zb = _mm256_set1_epi32(p.b_zero_point);
  const __m256 lo = _mm256_set1_ps(float(p.output.min - p.output.zero_point));
  const __m256 hi = _mm256_set1_ps(float(p.output.max - p.output.zero_point));
  const __m256i zy = _mm256_set1_epi32(p.output.zero_point);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 fa = _mm256_cvtepi32_ps(_mm256_sub_epi32(load8_u8(a + i), za));
    const __m256 fb = _mm256_cvtepi32_ps(_mm256_sub_epi32(load8_u8(b + i), zb));
    store8_q(y + i, clamp(_mm256_add_ps(_mm256_mul_ps(ma, fa), _mm256_mul_ps(mb, fb)), lo, hi), zy);
  }
  ref::add(p, a + i, b + i, y + i, count - i);
}

void quantize(const QuantizeParams& p, const float* x, uint8_t* y, int64_t count) {
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256 lo = _mm256_set1_ps(float(p.output.min - p.output.zero_point));
  const __m256 hi = _mm256_set1_ps(float(p.output.max - p.output.zero_point));
  const __m256i zy = _mm256_set1_epi32(p.output.zero_point);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), scale);
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));  // NaN → 0 (real 0)
    store8_q(y + i, clamp(v, lo, hi), zy);
  }
  ref::quantize(p, x + i, y + i, count - i);
}

void dequantize(const DequantizeParams& p, const uint8_t* x, float* y, int64_t count) {
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256i z = _mm256_set1_epi32(p.zero_point);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8_u8(x + i), z)), scale));
  ref::dequantize(p, x + i, y + i, count - i);
}

void global_avgpool(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images) {
  const int64_t size = p.image_size, channels = p.channels;
  const __m256i bias = _mm256_set1_epi32(-p.input_zero_point * int32_t(size));
  const ref::AvgPoolStage st = ref::global_avgpool_stage(p);
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * size * channels;
    for (int64_t c = 0; c < channels; c += 8) {
      const int64_t lanes = channels - c;
      __m256i acc = bias;
      for (int64_t i = 0; i < size; ++i) acc = _mm256_add_epi32(acc, load_u8_first(image + i * channels + c, lanes));
      store_pool_first(y + n * channels + c, lanes, acc, p.integer, st, p.output);
    }
  }
}

// Per output pixel: the stage as the reference computes it, then 8 channels at a time Σ (x − zx) over the
// taps inside the input in int32, requantized as ref::pool_output.
void avgpool(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows) {
  const PoolShape& s = p.shape;
  const Window2d& win = s.window;
  const int64_t channels = s.channels;
  const __m256i zx = _mm256_set1_epi32(p.input_zero_point);
  for (int64_t n = 0; n < images; ++n) {
    const uint8_t* image = x + n * s.in_h * s.in_w * channels;
    uint8_t* out_image = y + n * s.out_h * s.out_w * channels;
    for (int64_t oy = rows.begin; oy < rows.end; ++oy) {
      for (int64_t ox = 0; ox < s.out_w; ++ox) {
        const int64_t y0 = oy * win.stride_h - win.pad_top, x0 = ox * win.stride_w - win.pad_left;
        const ref::AvgPoolStage st = ref::avgpool_stage(p, oy, ox);
        uint8_t* out = out_image + (oy * s.out_w + ox) * channels;
        for (int64_t c = 0; c < channels; c += 8) {
          const int64_t lanes = channels - c;
          __m256i acc = _mm256_setzero_si256();
          for (int64_t ky = 0; ky < win.kernel_h; ++ky) {
            const int64_t iy = y0 + ky * win.dilation_h;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int64_t kx = 0; kx < win.kernel_w; ++kx) {
              const int64_t ix = x0 + kx * win.dilation_w;
              if (ix < 0 || ix >= s.in_w) continue;
              const __m256i v = load_u8_first(image + (iy * s.in_w + ix) * channels + c, lanes);
              acc = _mm256_add_epi32(acc, _mm256_sub_epi32(v, zx));
            }
          }
          store_pool_first(out + c, lanes, acc, p.integer, st, p.output);
        }
      }
    }
  }
}

}  // namespace tinyptq::int8::avx2
