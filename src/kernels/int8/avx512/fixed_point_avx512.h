// TFLite's fixed-point requantization (quant/requant.h) on 16 int32 lanes, for multipliers with
// shift ≤ 0 (M < 1); callers take the scalar formula when some shift is > 0. Include only from
// *_avx512.cc files (internal linkage, compiled with their ISA flags).
#pragma once
#include <immintrin.h>

namespace tinyptq::int8::avx512vnni {
namespace {

// MBQM(v, m) per lane with e = −shift ∈ [0, 31]:
//   SRDHM: h = floor((v·m + 2^30) / 2^31), in int64 per even/odd lane pair (m ∈ {0} ∪ [2^30, 2^31), so
//          the saturating case v = m = INT32_MIN never occurs and h fits int32);
//   RDBPOT: r = (h >> e) + ((h & (2^e − 1)) > (2^e − 1) >> 1 + [h < 0]).
inline __m512i mbqm(__m512i v, __m512i m, __m512i e) {
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, m), nudge), 31);
  const __m512i odd = _mm512_srai_epi64(
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(v, 32), _mm512_srli_epi64(m, 32)), nudge), 31);
  const __m512i h = _mm512_mask_blend_epi32(__mmask16(0xAAAA), even, _mm512_slli_epi64(odd, 32));
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, e), one);
  const __m512i remainder = _mm512_and_si512(h, mask);
  const __m512i threshold = _mm512_sub_epi32(_mm512_srli_epi32(mask, 1), _mm512_srai_epi32(h, 31));
  const __m512i r = _mm512_srav_epi32(h, e);
  return _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(remainder, threshold), r, one);
}

// clamp(MBQM(v, m) + zy, min, max) as requantize_fixed: the clamp to [min − zy, max − zy] in int32, then
// + zy (equal to clamping the int64 sum).
inline __m512i fixed_requant(__m512i v, __m512i m, __m512i e, __m512i lo, __m512i hi, __m512i zy) {
  return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(mbqm(v, m, e), lo), hi), zy);
}

}  // namespace
}  // namespace tinyptq::int8::avx512vnni
