#include "kernels/fp32/reference/averagepool.h"

namespace tinyptq::fp32_ref {

void averagepool(const Pool2dParams& p, bool count_include_pad, const float* x, float* y) {
  const Window2d& w = p.window;
  for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
    const float* xp = x + nc * p.in_h * p.in_w;
    float* yp = y + nc * p.out_h * p.out_w;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        float sum = 0.0f;
        int64_t inside = 0, padded = 0;
        for (int64_t i = 0; i < w.kernel_h; ++i) {
          const int64_t ih = oh * w.stride_h - w.pad_top + i * w.dilation_h;
          const bool h_in = ih >= 0 && ih < p.in_h, h_pad = ih < p.in_h + w.pad_bottom;
          for (int64_t j = 0; j < w.kernel_w; ++j) {
            const int64_t iw = ow * w.stride_w - w.pad_left + j * w.dilation_w;
            if (h_pad && iw < p.in_w + w.pad_right) ++padded;
            if (!h_in || iw < 0 || iw >= p.in_w) continue;
            sum += xp[ih * p.in_w + iw];
            ++inside;
          }
        }
        yp[oh * p.out_w + ow] = sum / float(count_include_pad ? padded : inside);
      }
    }
  }
}

}  // namespace tinyptq::fp32_ref
