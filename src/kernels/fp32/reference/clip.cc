#include "kernels/fp32/reference/clip.h"

namespace tinyptq::fp32_ref {

void clip(const ClipParams& p, const float* x, float* y) {
  for (int64_t i = 0; i < p.count; ++i) {
    float v = x[i];
    if (v < p.min) v = p.min;
    if (v > p.max) v = p.max;
    y[i] = v;
  }
}

}  // namespace tinyptq::fp32_ref
