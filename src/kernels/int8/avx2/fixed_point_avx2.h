// TFLite's fixed-point requantization (quant/requant.h) on 8 int32 lanes, for multipliers with shift ≤ 0
// (M < 1): the ymm form of avx512/fixed_point_avx512.h. Include only from *_avx2.cc / *_avxvnni.cc files
// (internal linkage, compiled with their ISA flags).
#pragma once
#include <immintrin.h>

namespace tinyptq::int8::ymm_fixed {
namespace {

// RDBPOT(h, e) per lane, e ∈ [0, 31]: r = (h >> e) + ((h & (2^e − 1)) > (2^e − 1) >> 1 + [h < 0]).
inline __m256i rounding_divide_by_pot(__m256i h, __m256i e) {
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, e), one);
  const __m256i remainder = _mm256_and_si256(h, mask);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_srai_epi32(h, 31));
  return _mm256_sub_epi32(_mm256_srav_epi32(h, e), _mm256_cmpgt_epi32(remainder, threshold));
}

// MBQM(v, m) per lane with e = −shift ∈ [0, 31]: RDBPOT(SRDHM(v, m), e), where
//   SRDHM: h = floor((v·m + 2^30) / 2^31) in int64 per even/odd lane pair; h fits int32 (m ∈ {0} ∪
//          [2^30, 2^31)), so its low 32 bits are those of the logical shift (AVX2 has no srai_epi64).
inline __m256i mbqm(__m256i v, __m256i m, __m256i e) {
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(v, m), nudge), 31);
  const __m256i odd = _mm256_srli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(m, 32)), nudge), 31);
  return rounding_divide_by_pot(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA), e);
}

// MBQM(d·2^L, m) for |d| ≤ 255 and L = 31 − k ≥ 20 in 32-bit lanes, as avx512/fixed_point_avx512.h.
template <int k>
inline __m256i mbqm_shifted_small(__m256i d, __m256i mh, __m256i ml, __m256i e) {
  static_assert(k >= 1 && k <= 11, "L = 31 - k must be at least 20");
  const __m256i low = _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(d, ml), _mm256_set1_epi32(1 << (k - 1))), k);
  return rounding_divide_by_pot(_mm256_add_epi32(_mm256_mullo_epi32(d, mh), low), e);
}

// clamp(MBQM(v, m) + zy, min, max) as requantize_fixed, with lo = min − zy and hi = max − zy.
inline __m256i fixed_requant(__m256i v, __m256i m, __m256i e, __m256i lo, __m256i hi, __m256i zy) {
  return _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(mbqm(v, m, e), lo), hi), zy);
}

// rounded_average(s, d) per lane, as avx512/fixed_point_avx512.h: t = s ± d/2, then t/d truncated in
// double (exact for |t| < 2^31).
inline __m256i rounded_average(__m256i s, int32_t d) {
  const __m256i half = _mm256_set1_epi32(d / 2);
  const __m256i positive = _mm256_cmpgt_epi32(s, _mm256_setzero_si256());
  const __m256i t = _mm256_add_epi32(s, _mm256_blendv_epi8(_mm256_sub_epi32(_mm256_setzero_si256(), half), half, positive));
  const __m256d dd = _mm256_set1_pd(double(d));
  const __m128i lo = _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(t)), dd));
  const __m128i hi = _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(t, 1)), dd));
  return _mm256_set_m128i(hi, lo);
}

}  // namespace
}  // namespace tinyptq::int8::ymm_fixed
