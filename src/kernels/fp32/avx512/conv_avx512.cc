// Implicit-GEMM Conv micro-kernel, AVX-512F: a tile of MR output channels × NV·16 pixels held in MR·NV
// zmm accumulators; per (tap, channel) NV masked loads of the shifted source and MR broadcast weights.
#include <immintrin.h>

#include <cstdint>

#include "kernels/fp32/avx512/kernels_avx512.h"
#include "kernels/fp32/portable/conv_plan.h"

namespace tinyptq::fp32::avx512 {

namespace {

// Address arithmetic in integers: masked-off lanes may point outside the source (they are never read).
inline const float* shifted(const float* base, int64_t floats) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(base) + uintptr_t(floats * 4));
}


template <int MR, int NV>
void tile(const ConvPlan& p, const ConvTile& t) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const __m512 b = _mm512_set1_ps(t.bias[i]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = b;
  }
  const int64_t cg = p.shape.in_per_group, cs = p.channel_stride, words = p.tiles * p.nv;
  const float* a = t.a;
  for (int64_t tap = 0; tap < p.taps; ++tap) {
    __mmask16 m[NV];
    const float* base[NV];
    int any = 0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      m[v] = p.masks[tap * words + t.word0 + v];
      any |= m[v];
      base[v] = shifted(t.src, p.tap_offset[tap] + (t.word0 + v) * kPixelBlock);
    }
    if (!any) {  // the whole tile reads padding: contributes nothing
      a += cg * MR;
      continue;
    }
    for (int64_t c = 0; c < cg; ++c, a += MR) {
      __m512 b[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) b[v] = _mm512_maskz_loadu_ps(m[v], shifted(base[v], c * cs));
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const __m512 w = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(w, b[v], acc[i][v]);
      }
    }
  }
  const int64_t ycs = p.out.channel_stride, rcs = p.res.channel_stride;
  const __m512 lo = _mm512_set1_ps(p.lo), hi = _mm512_set1_ps(p.hi);
  const ConvPlan::PlanesOut& po = p.planes_out;
  // Even output columns to lanes 0–7, odd ones to lanes 8–15 (for planes_out).
  const __m512i split = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __mmask16 sm = p.store_masks[t.word0 + v];
    const int64_t px = (t.word0 + v) * kPixelBlock;
    // planes_out: the word is 16 columns ow0.. of row oh; columns ow0 + 2l (+1) go to column ow0/2 + l of
    // phase (oh mod 2, 0 (1)), row oh div 2 − row0; all 8 fit (width ≥ OW/2). Null when dropped.
    float *even = nullptr, *odd = nullptr;
    if (po.on && sm) {  // (a word past the plane writes nothing)
      const int64_t oh = px / p.shape.out_w, ow0 = px % p.shape.out_w, ah = oh & 1, j0 = ow0 >> 1;
      const int64_t row = (oh >> 1) - po.row0;
      if (row >= 0 && row < po.plane_rows) {
        if (po.phase[ah][0] >= 0) even = t.y + (po.phase[ah][0] * po.plane_rows + row) * po.width + j0;
        if (po.phase[ah][1] >= 0) odd = t.y + (po.phase[ah][1] * po.plane_rows + row) * po.width + j0;
      }
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      if (i >= t.rows) break;
      __m512 r = acc[i][v];
      if (t.res) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(sm, t.res + i * rcs + px));
      // NaN-propagating: max(lo, NaN) = NaN. (maskz forms: GCC 12 warns on the plain ones' undefined source.)
      r = _mm512_maskz_min_ps(0xFFFF, hi, _mm512_maskz_max_ps(0xFFFF, lo, r));
      // Plain stores where every lane is kept (masked stores are slower on some cores).
      if (!po.on) {
        if (sm == 0xFFFF) _mm512_storeu_ps(t.y + i * ycs + px, r);
        else _mm512_mask_storeu_ps(t.y + i * ycs + px, sm, r);
        continue;
      }
      const __m512 halves = _mm512_permutexvar_ps(split, r);
      if (even) _mm256_storeu_ps(even + i * ycs, _mm512_castps512_ps256(halves));
      if (odd) _mm256_storeu_ps(odd + i * ycs, _mm512_extractf32x8_ps(halves, 1));
    }
  }
}

}  // namespace

void conv_run(const ConvPlan& p, const float* x, const float* residual, float* y, int64_t /*images*/,
              int64_t item_begin, int64_t item_end, const float* planes, float* scratch) {
  int64_t scratch_image = -1;
  ConvItem it = conv_item(p, item_begin);
  for (int64_t item = item_begin; item < item_end; ++item, next_item(p, it))
    tile<kConvMr, kConvNv>(p, conv_tile(p, x, residual, y, planes, scratch, it, scratch_image));
}

}  // namespace tinyptq::fp32::avx512
