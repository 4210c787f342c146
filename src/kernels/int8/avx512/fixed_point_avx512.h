// TFLite's fixed-point requantization (quant/requant.h) on 16 int32 lanes, for multipliers with
// shift ≤ 0 (M < 1); callers take the scalar formula when some shift is > 0. Include only from
// *_avx512.cc files (internal linkage, compiled with their ISA flags).
#pragma once
#include <immintrin.h>

namespace tinyptq::int8::avx512vnni {
namespace {

// RDBPOT(h, e) per lane, e ∈ [0, 31]: r = (h >> e) + ((h & (2^e − 1)) > (2^e − 1) >> 1 + [h < 0]).
inline __m512i rounding_divide_by_pot(__m512i h, __m512i e) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);
  const __m512i remainder = _mm512_and_si512(h, mask);
  const __m512i threshold = _mm512_sub_epi32(_mm512_srli_epi32(mask, 1), _mm512_srai_epi32(h, 31));
  const __m512i r = _mm512_srav_epi32(h, e);
  return _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(remainder, threshold), r, one);
}

// MBQM(v, m) per lane with e = −shift ∈ [0, 31]: RDBPOT(SRDHM(v, m), e), where
//   SRDHM: h = floor((v·m + 2^30) / 2^31), in int64 per even/odd lane pair (m ∈ {0} ∪ [2^30, 2^31), so
//          the saturating case v = m = INT32_MIN never occurs and h fits int32).
inline __m512i mbqm(__m512i v, __m512i m, __m512i e) {
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, m), nudge), 31);
  const __m512i odd = _mm512_srai_epi64(
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(v, 32), _mm512_srli_epi64(m, 32)), nudge), 31);
  const __m512i h = _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, _mm512_slli_epi64(odd, 32));
  return rounding_divide_by_pot(h, e);
}

// MBQM(d·2^L, m) for |d| ≤ 255 and L = 31 − k ≥ 20, in 32-bit lanes only: with m = mh·2^k + ml
// (0 ≤ ml < 2^k), SRDHM(d·2^L, m) = floor((d·m + 2^(k−1)) / 2^k) = d·mh + floor((d·ml + 2^(k−1)) / 2^k),
// because d·mh·2^k is a multiple of 2^k; |d·mh| < 2^8·2^L ≤ 2^28 and |d·ml| < 2^19, so nothing overflows.
// mh = m >> k, ml = m & (2^k − 1).
template <int k>
inline __m512i mbqm_shifted_small(__m512i d, __m512i mh, __m512i ml, __m512i e) {
  static_assert(k >= 1 && k <= 11, "L = 31 - k must be at least 20");
  const __m512i low = _mm512_srai_epi32(_mm512_add_epi32(_mm512_mullo_epi32(d, ml), _mm512_set1_epi32(1 << (k - 1))), k);
  return rounding_divide_by_pot(_mm512_add_epi32(_mm512_mullo_epi32(d, mh), low), e);
}

// clamp(MBQM(v, m) + zy, min, max) as requantize_fixed: the clamp to [min − zy, max − zy] in int32, then
// + zy (equal to clamping the int64 sum).
inline __m512i fixed_requant(__m512i v, __m512i m, __m512i e, __m512i lo, __m512i hi, __m512i zy) {
  return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(mbqm(v, m, e), lo), hi), zy);
}

// rounded_average(s, d) per lane (quant/requant.h): t = s + (s > 0 ? d/2 : −(d/2)), then t/d truncated,
// computed in double: t and d are exact there (|t| < 2^31) and t/d is at least 1/d away from the next
// integer, far more than half an ulp, so the correctly rounded quotient truncates to the integer one.
inline __m512i rounded_average(__m512i s, int32_t d) {
  const __m512i half = _mm512_set1_epi32(d / 2);
  const __mmask16 positive = _mm512_cmpgt_epi32_mask(s, _mm512_setzero_si512());
  const __m512i t = _mm512_mask_add_epi32(_mm512_sub_epi32(s, half), positive, s, half);
  const __m512d dd = _mm512_set1_pd(double(d));
  const __m256i lo = _mm512_cvttpd_epi32(_mm512_div_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(t)), dd));
  const __m256i hi = _mm512_cvttpd_epi32(_mm512_div_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(t, 1)), dd));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

}  // namespace
}  // namespace tinyptq::int8::avx512vnni
