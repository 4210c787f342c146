// MseErrorKernel "avx2": four edges per step (this file alone is compiled with -mavx2 -mfma and, like every
// observer kernel, -ffp-contract=off, so no mul+add below becomes an FMA).
#include <immintrin.h>

#include "quant/observers/mse_error.h"

namespace tinyptq {

// Per edge v = edge/s: I(v) by the reference's three branches evaluated in every lane then selected,
//   v < A:      (cube(v − L) + ⅛)/3
//   A ≤ v ≤ B:  (k/12 + (cube(v − k) + ⅛)/3) − R(A),  k = floor(v + ½) (vroundpd = the int64 floor)
//   v > B:      (R(B) − R(A)) + (cube(v − U) − ⅛)/3.
// Then per edge j with count > 0 the term of segment [v[j−1], v[j]]; sums lanes in edge order.
double mse_sum_avx2(const MseHistogram& h, double s, double L, double U) {
  const MseCodeConstants c = mse_code_constants(L, U);
  const __m256d vs = _mm256_set1_pd(s), vL = _mm256_set1_pd(L), vU = _mm256_set1_pd(U);
  const __m256d vA = _mm256_set1_pd(c.A), vB = _mm256_set1_pd(c.B), ria = _mm256_set1_pd(c.ria);
  const __m256d base = _mm256_set1_pd(c.rib_minus_ria), half = _mm256_set1_pd(0.5);
  const __m256d eighth = _mm256_set1_pd(0.125), neg_eighth = _mm256_set1_pd(-0.125);
  const __m256d three = _mm256_set1_pd(3.0), twelve = _mm256_set1_pd(12.0), zero = _mm256_setzero_pd();
  // Rotated v and I of the previous step: lane 0 holds its last edge (edge 0 has count 0, so the initial
  // zeros are never used).
  __m256d prev_rv = zero, prev_re = zero;
  alignas(32) double t[4], a_lane[4];
  double total = 0.0;
  const double* edge = h.edge.data();
  const double* count = h.count.data();
  for (size_t j = 0; j < h.edge.size(); j += 4) {
    const __m256d v = _mm256_div_pd(_mm256_loadu_pd(edge + j), vs);
    const __m256d below = _mm256_cmp_pd(v, vA, _CMP_LT_OQ), above = _mm256_cmp_pd(v, vB, _CMP_GT_OQ);
    const __m256d k = _mm256_round_pd(_mm256_add_pd(v, half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m256d d = _mm256_blendv_pd(_mm256_sub_pd(v, k), _mm256_sub_pd(v, vL), below);
    d = _mm256_blendv_pd(d, _mm256_sub_pd(v, vU), above);
    const __m256d off = _mm256_blendv_pd(eighth, neg_eighth, above);
    const __m256d p = _mm256_div_pd(_mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(d, d), d), off), three);
    __m256d e = _mm256_sub_pd(_mm256_add_pd(_mm256_div_pd(k, twelve), p), ria);
    e = _mm256_blendv_pd(e, p, below);
    e = _mm256_blendv_pd(e, _mm256_add_pd(base, p), above);

    // The segment's start: lane i gets edge j + i − 1.
    const __m256d rv = _mm256_permute4x64_pd(v, _MM_SHUFFLE(2, 1, 0, 3));
    const __m256d re = _mm256_permute4x64_pd(e, _MM_SHUFFLE(2, 1, 0, 3));
    const __m256d a = _mm256_blend_pd(rv, prev_rv, 1), ea = _mm256_blend_pd(re, prev_re, 1);
    prev_rv = rv;
    prev_re = re;

    const __m256d cnt = _mm256_loadu_pd(count + j);
    const __m256d term = _mm256_div_pd(_mm256_mul_pd(cnt, _mm256_sub_pd(e, ea)), _mm256_sub_pd(v, a));
    const __m256d has = _mm256_cmp_pd(cnt, zero, _CMP_GT_OQ), wide = _mm256_cmp_pd(v, a, _CMP_GT_OQ);
    _mm256_store_pd(t, _mm256_and_pd(term, _mm256_and_pd(has, wide)));  // +0.0 where no wide segment
    if (const int points = _mm256_movemask_pd(_mm256_andnot_pd(wide, has))) {  // b ≤ a: a point mass
      _mm256_store_pd(a_lane, a);
      for (int i = 0; i < 4; ++i) {
        if (points >> i & 1) t[i] = mse_point_term(count[j + i], a_lane[i], L, U);
      }
    }
    total += t[0];
    total += t[1];
    total += t[2];
    total += t[3];
  }
  return total;
}

}  // namespace tinyptq
