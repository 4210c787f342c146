// Phase planes with AVX2: a stride-2 row is de-interleaved 8 outputs at a time (vshufps picks the even
// floats of two 8-float loads per 128-bit lane, vpermpd puts the lanes in order); the tail and other
// strides copy as the portable builder; stride-1 rows are copied inline.
#include <immintrin.h>

#include "kernels/fp32/avx2/kernels_avx2.h"
#include "kernels/fp32/portable/phase_planes_impl.h"

namespace tinyptq::fp32::avx2 {

namespace {

// dst[j] = src[2j] for j < count; reads only src[0 .. 2·count − 2].
void copy_even(float* dst, const float* src, int64_t count) {
  int64_t j = 0;
  for (; j + 8 < count; j += 8) {  // reads src[2j .. 2j + 15] ≤ 2·count − 2 because j + 8 < count
    const __m256 a = _mm256_loadu_ps(src + 2 * j), b = _mm256_loadu_ps(src + 2 * j + 8);
    const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));  // a0 a2 b0 b2 | a4 a6 b4 b6
    _mm256_storeu_ps(dst + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
  }
  for (; j < count; ++j) dst[j] = src[2 * j];
}

// dst[j] = src[j] for j < count, inline (rows are short: a library call per row costs more than the copy).
void copy_contiguous(float* dst, const float* src, int64_t count) {
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
  for (; j < count; ++j) dst[j] = src[j];
}

}  // namespace

void phase_planes(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end) {
  phase_planes_by_stride(p, x, planes, c_begin, c_end, copy_contiguous, copy_even);
}

}  // namespace tinyptq::fp32::avx2
