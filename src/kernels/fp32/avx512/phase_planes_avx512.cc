// Phase planes with AVX-512: a stride-2 row is de-interleaved 16 outputs at a time by one vpermt2ps of
// two (masked) 16-float loads, a stride-1 row copied with (masked) 16-float moves; other strides copy as the
// portable builder.
#include <immintrin.h>

#include "kernels/fp32/avx512/kernels_avx512.h"
#include "kernels/fp32/portable/phase_planes_impl.h"

namespace tinyptq::fp32::avx512 {

namespace {

// dst[j] = src[2j] for j < count; reads only src[0 .. 2·count − 2].
void copy_even(float* dst, const float* src, int64_t count) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t j = 0; j < count; j += 16) {
    const int64_t n = count - j < 16 ? count - j : 16, used = 2 * n - 1;  // source floats this chunk reads
    const __mmask16 lo = used >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << used) - 1);
    const __mmask16 hi = used > 16 ? __mmask16((1u << (used - 16)) - 1) : __mmask16(0);
    const __m512 a = _mm512_maskz_loadu_ps(lo, src + 2 * j);
    const __m512 b = _mm512_maskz_loadu_ps(hi, src + 2 * j + 16);
    _mm512_mask_storeu_ps(dst + j, __mmask16((1u << n) - 1), _mm512_permutex2var_ps(a, even, b));
  }
}

// dst[j] = src[j] for j < count, inline (rows are short: a library call per row costs more than the copy).
void copy_contiguous(float* dst, const float* src, int64_t count) {
  int64_t j = 0;
  for (; j + 16 <= count; j += 16) _mm512_storeu_ps(dst + j, _mm512_loadu_ps(src + j));
  if (j < count) {
    const __mmask16 m = __mmask16((1u << (count - j)) - 1);
    _mm512_mask_storeu_ps(dst + j, m, _mm512_maskz_loadu_ps(m, src + j));
  }
}

}  // namespace

void phase_planes(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end) {
  phase_planes_by_stride(p, x, planes, c_begin, c_end, copy_contiguous, copy_even);
}

}  // namespace tinyptq::fp32::avx512
