#include "kernels/fp32/reference/maxpool.h"

#include <limits>

namespace tinyptq::fp32_ref {

void maxpool(const Pool2dParams& p, const float* x, float* y) {
  const Window2d& w = p.window;
  for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
    const float* xp = x + nc * p.in_h * p.in_w;
    float* yp = y + nc * p.out_h * p.out_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < w.kernel_h; ++i) {
          const int64_t ih = oh * w.stride_h - w.pad_top + i * w.dilation_h;
          if (ih < 0 || ih >= p.in_h) continue;
          for (int64_t j = 0; j < w.kernel_w; ++j) {
            const int64_t iw = ow * w.stride_w - w.pad_left + j * w.dilation_w;
            if (iw < 0 || iw >= p.in_w) continue;
            const float v = xp[ih * p.in_w + iw];
            if (v > best || v != v) best = v;  // NaN propagates
          }
        }
        yp[oh * p.out_w + ow] = best;
      }
    }
  }
}

}  // namespace tinyptq::fp32_ref
