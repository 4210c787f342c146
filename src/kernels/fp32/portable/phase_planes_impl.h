// The loop structure of building phase planes (kernel_table.h, ConvPlan), shared by the portable and the
// ISA translation units, which pass their own row copy. Internal linkage, as loops_impl.h.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/fp32/kernel_table.h"

namespace tinyptq::fp32 {
namespace {

// Plane row r of phase (ah, aw) of channel c is P[r][j] = x[c][sh·(r + row0) + ah][sw·j + aw] where that
// lies in the input, else 0. copy_row(dst, src, count, sw) writes dst[j] = src[j·sw] for j < count; with x
// null only the zeros are written.
template <typename CopyRow>
void phase_planes_loop(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end,
                       CopyRow copy_row) {
  const fp32_ref::Window2d& win = p.shape.window;
  const int64_t H = p.shape.in_h, W = p.shape.in_w, OW = p.shape.out_w;
  const int64_t sh = win.stride_h, sw = win.stride_w, phases = int64_t(p.phase_h.size());
  for (int64_t c = c_begin; c < c_end; ++c) {
    for (int64_t ph = 0; ph < phases; ++ph) {
      float* dst = planes + c * p.channel_stride + ph * p.plane_rows * OW;
      const int64_t aw = p.phase_w[ph];
      // Columns j < jend read iw = sw·j + aw < W.
      const int64_t jend = std::min(OW, W > aw ? (W - aw + sw - 1) / sw : int64_t(0));
      for (int64_t r = 0; r < p.plane_rows; ++r, dst += OW) {
        const int64_t ih = sh * (r + p.row0) + p.phase_h[ph];
        if (ih < 0 || ih >= H) {
          std::fill(dst, dst + OW, 0.0f);
          continue;
        }
        if (x) copy_row(dst, x + (c * H + ih) * W + aw, jend, sw);  // x null: zero fill only
        for (int64_t j = jend; j < OW; ++j) dst[j] = 0.0f;  // (usually none: no call for an empty fill)
      }
    }
  }
}

inline void copy_strided(float* dst, const float* src, int64_t count, int64_t stride) {
  if (stride == 1) {
    std::copy(src, src + count, dst);
  } else {
    for (int64_t j = 0; j < count; ++j) dst[j] = src[j * stride];
  }
}

// The row copy every ISA's builder shares: its own contiguous and even-column copies for strides 1 and 2.
template <typename Contiguous, typename Even>
void phase_planes_by_stride(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end,
                            Contiguous contiguous, Even even) {
  phase_planes_loop(p, x, planes, c_begin, c_end, [&](float* dst, const float* src, int64_t count, int64_t sw) {
    if (sw == 1) contiguous(dst, src, count);
    else if (sw == 2) even(dst, src, count);
    else copy_strided(dst, src, count, sw);
  });
}

}  // namespace
}  // namespace tinyptq::fp32
