// TFLite's fixed-point requantization (quant/requant.h) on 8 int32 lanes, for multipliers with shift ≤ 0
// (M < 1): the ymm form of avx512/fixed_point_avx512.h. Include only from *_avx2.cc / *_avxvnni.cc files
// (internal linkage, compiled with their ISA flags).
#pragma once
#include <immintrin.h>

namespace tinyptq::int8::ymm_fixed {
namespace {

// MBQM(v, m) per lane with e = −shift ∈ [0, 31]:
//   SRDHM: h = floor((v·m + 2^30) / 2^31) in int64 per even/odd lane pair; h fits int32 (m ∈ {0} ∪
//          [2^30, 2^31)), so its low 32 bits are those of the logical shift (AVX2 has no srai_epi64);
//   RDBPOT: r = (h >> e) + ((h & (2^e − 1)) > (2^e − 1) >> 1 + [h < 0]).
inline __m256i mbqm(__m256i v, __m256i m, __m256i e) {
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(v, m), nudge), 31);
  const __m256i odd = _mm256_srli_epi64(
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(m, 32)), nudge), 31);
  const __m256i h = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, e), one);
  const __m256i remainder = _mm256_and_si256(h, mask);
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_srai_epi32(h, 31));
  return _mm256_sub_epi32(_mm256_srav_epi32(h, e), _mm256_cmpgt_epi32(remainder, threshold));
}

// clamp(MBQM(v, m) + zy, min, max) as requantize_fixed, with lo = min − zy and hi = max − zy.
inline __m256i fixed_requant(__m256i v, __m256i m, __m256i e, __m256i lo, __m256i hi, __m256i zy) {
  return _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(mbqm(v, m, e), lo), hi), zy);
}

}  // namespace
}  // namespace tinyptq::int8::ymm_fixed
