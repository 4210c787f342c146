// MseErrorKernel "avx512": eight edges per step, the avx2 kernel's formulas with mask registers (this file
// alone is compiled with the AVX-512 flags and, like every observer kernel, -ffp-contract=off).
#include <immintrin.h>

#include "quant/observers/mse_error.h"

namespace tinyptq {

double mse_sum_avx512(const MseHistogram& h, double s, double L, double U) {
  const MseCodeConstants c = mse_code_constants(L, U);
  const __m512d vs = _mm512_set1_pd(s), vL = _mm512_set1_pd(L), vU = _mm512_set1_pd(U);
  const __m512d vA = _mm512_set1_pd(c.A), vB = _mm512_set1_pd(c.B), ria = _mm512_set1_pd(c.ria);
  const __m512d base = _mm512_set1_pd(c.rib_minus_ria), half = _mm512_set1_pd(0.5);
  const __m512d eighth = _mm512_set1_pd(0.125), neg_eighth = _mm512_set1_pd(-0.125);
  const __m512d three = _mm512_set1_pd(3.0), twelve = _mm512_set1_pd(12.0), zero = _mm512_setzero_pd();
  const __m512i shift = _mm512_set_epi64(14, 13, 12, 11, 10, 9, 8, 7);  // lane i ← [prev, cur][7 + i]
  __m512d prev_v = zero, prev_e = zero;  // edge 0 has count 0, so the initial zeros are never used
  alignas(64) double t[8], a_lane[8];
  double total = 0.0;
  const double* edge = h.edge.data();
  const double* count = h.count.data();
  for (size_t j = 0; j < h.edge.size(); j += 8) {
    const __m512d v = _mm512_div_pd(_mm512_loadu_pd(edge + j), vs);
    const __mmask8 below = _mm512_cmp_pd_mask(v, vA, _CMP_LT_OQ), above = _mm512_cmp_pd_mask(v, vB, _CMP_GT_OQ);
    const __m512d k = _mm512_roundscale_pd(_mm512_add_pd(v, half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512d d = _mm512_mask_blend_pd(below, _mm512_sub_pd(v, k), _mm512_sub_pd(v, vL));
    d = _mm512_mask_blend_pd(above, d, _mm512_sub_pd(v, vU));
    const __m512d off = _mm512_mask_blend_pd(above, eighth, neg_eighth);
    const __m512d p = _mm512_div_pd(_mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(d, d), d), off), three);
    __m512d e = _mm512_sub_pd(_mm512_add_pd(_mm512_div_pd(k, twelve), p), ria);
    e = _mm512_mask_blend_pd(below, e, p);
    e = _mm512_mask_blend_pd(above, e, _mm512_add_pd(base, p));

    // The segment's start: lane i gets edge j + i − 1.
    const __m512d a = _mm512_permutex2var_pd(prev_v, shift, v), ea = _mm512_permutex2var_pd(prev_e, shift, e);
    prev_v = v;
    prev_e = e;

    const __m512d cnt = _mm512_loadu_pd(count + j);
    const __m512d term = _mm512_div_pd(_mm512_mul_pd(cnt, _mm512_sub_pd(e, ea)), _mm512_sub_pd(v, a));
    const __mmask8 has = _mm512_cmp_pd_mask(cnt, zero, _CMP_GT_OQ), wide = _mm512_cmp_pd_mask(v, a, _CMP_GT_OQ);
    _mm512_store_pd(t, _mm512_maskz_mov_pd(has & wide, term));  // +0.0 where no wide segment
    if (const unsigned points = has & ~wide & 0xffu) {          // b ≤ a: a point mass
      _mm512_store_pd(a_lane, a);
      for (int i = 0; i < 8; ++i) {
        if (points >> i & 1) t[i] = mse_point_term(count[j + i], a_lane[i], L, U);
      }
    }
    for (int i = 0; i < 8; ++i) total += t[i];
  }
  return total;
}

}  // namespace tinyptq
