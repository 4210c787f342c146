// Implicit-GEMM Conv micro-kernel, AVX2 + FMA: the AVX-512 scheme (avx512/conv_avx512.cc) with 8-lane
// vectors: MR output channels × one 16-pixel word (two ymm) in 2·MR accumulators.
#include <immintrin.h>

#include <cstdint>

#include "kernels/fp32/avx2/kernels_avx2.h"
#include "kernels/fp32/portable/conv_plan.h"

namespace tinyptq::fp32::avx2 {

namespace {

inline const float* shifted(const float* base, int64_t floats) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(base) + uintptr_t(floats * 4));
}

// Lane j of the result is all ones when bit j of `bits` is set.
inline __m256i lane_mask(unsigned bits) {
  const __m256i select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(int(bits)), select), select);
}

template <int MR>
void tile(const ConvPlan& p, const float* a, const float* bias, const float* src, const float* res, float* y,
          int64_t rows, int64_t word) {
  __m256 acc[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_set1_ps(bias[i]);
  const int64_t cg = p.shape.in_per_group, cs = p.channel_stride, words = p.tiles * p.nv;
  for (int64_t tap = 0; tap < p.taps; ++tap) {
    const unsigned bits = p.masks[tap * words + word];
    if (!bits) {
      a += cg * MR;
      continue;
    }
    const __m256i m0 = lane_mask(bits & 0xFF), m1 = lane_mask(bits >> 8);
    const float* base = shifted(src, p.tap_offset[tap] + word * kPixelBlock);
    for (int64_t c = 0; c < cg; ++c, a += MR) {
      const float* pc = shifted(base, c * cs);
      const __m256 b0 = _mm256_maskload_ps(pc, m0), b1 = _mm256_maskload_ps(pc + 8, m1);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m256 w = _mm256_broadcast_ss(a + i);
        acc[i][0] = _mm256_fmadd_ps(w, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(w, b1, acc[i][1]);
      }
    }
  }
  const int64_t ycs = p.out.channel_stride, rcs = p.res.channel_stride;
  const unsigned store_bits = p.store_masks[word];
  const __m256i s[2] = {lane_mask(store_bits & 0xFF), lane_mask(store_bits >> 8)};
  const __m256 lo = _mm256_set1_ps(p.lo), hi = _mm256_set1_ps(p.hi);
  // planes_out: the word is 16 columns ow0.. of row oh; columns ow0 + 2l (+1) go to column ow0/2 + l of
  // phase (oh mod 2, 0 (1)), row oh div 2 − row0 (as the AVX-512 kernel; all 8 fit: width ≥ OW/2).
  const ConvPlan::PlanesOut& po = p.planes_out;
  float *even = nullptr, *odd = nullptr;
  if (po.on && store_bits) {  // (a word past the plane writes nothing)
    const int64_t px = word * kPixelBlock, oh = px / p.shape.out_w, ow0 = px % p.shape.out_w, ah = oh & 1;
    const int64_t j0 = ow0 >> 1, row = (oh >> 1) - po.row0;
    if (row >= 0 && row < po.plane_rows) {
      if (po.phase[ah][0] >= 0) even = y + (po.phase[ah][0] * po.plane_rows + row) * po.width + j0;
      if (po.phase[ah][1] >= 0) odd = y + (po.phase[ah][1] * po.plane_rows + row) * po.width + j0;
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= rows) break;
    __m256 r[2];
    for (int h = 0; h < 2; ++h) {
      const int64_t px = word * kPixelBlock + h * 8;
      r[h] = acc[i][h];
      if (res) r[h] = _mm256_add_ps(r[h], _mm256_maskload_ps(res + i * rcs + px, s[h]));
      r[h] = _mm256_min_ps(hi, _mm256_max_ps(lo, r[h]));
      if (!po.on) _mm256_maskstore_ps(y + i * ycs + px, s[h], r[h]);
    }
    if (!po.on) continue;
    // Even (odd) lanes of both halves, in order: vshufps per 128-bit lane, then vpermpd.
    const __m256 e = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r[0], r[1], _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
    const __m256 o = _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r[0], r[1], _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));
    if (even) _mm256_storeu_ps(even + i * ycs, e);
    if (odd) _mm256_storeu_ps(odd + i * ycs, o);
  }
}

}  // namespace

void conv_run(const ConvPlan& p, const float* x, const float* residual, float* y, int64_t /*images*/,
              int64_t item_begin, int64_t item_end, const float* planes, float* scratch) {
  int64_t scratch_image = -1;
  ConvItem it = conv_item(p, item_begin);
  for (int64_t item = item_begin; item < item_end; ++item, next_item(p, it)) {
    const ConvTile t = conv_tile(p, x, residual, y, planes, scratch, it, scratch_image);
    tile<kConvMr>(p, t.a, t.bias, t.src, t.res, t.y, t.rows, t.word0);
  }
}

}  // namespace tinyptq::fp32::avx2
