// Per-tensor fake quantization with AVX2 (this file alone is compiled with -mavx2 -mfma).
#include <immintrin.h>

#include <cmath>
#include <cstdint>

namespace tinyptq::adaround {

// x ← (clamp(rne(x / s), lo, hi))·s with lo = qmin − zp, hi = qmax − zp; NaN ↦ 0. Clamping the quotient to
// the integer bounds before rounding equals rounding then clamping.
void fake_quantize_avx2(float* x, int64_t n, float scale, float lo, float hi) {
  const __m256 s = _mm256_set1_ps(scale), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    const __m256 c = _mm256_min_ps(_mm256_max_ps(v, vlo), vhi);
    const __m256 r = _mm256_round_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_ps(x + i, _mm256_andnot_ps(nan, _mm256_mul_ps(r, s)));
  }
  for (; i < n; ++i) {
    const __m128 v = _mm_div_ss(_mm_set_ss(x[i]), _mm_set_ss(scale));
    const float q = _mm_cvtss_f32(v);
    if (std::isnan(q)) {
      x[i] = 0.0f;
      continue;
    }
    const __m128 c = _mm_set_ss(q < lo ? lo : q > hi ? hi : q);
    x[i] = _mm_cvtss_f32(_mm_round_ss(c, c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)) * scale;
  }
}

}  // namespace tinyptq::adaround
