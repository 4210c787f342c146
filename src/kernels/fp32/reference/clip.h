// Reference Clip, float.
#pragma once
#include <cstdint>

namespace tinyptq::fp32_ref {

struct ClipParams {
  int64_t count = 0;
  float min = 0, max = 0;  // bounds; ±infinity when absent
};

// y[i] = min(max(x[i], lo), hi) for i < count (NaN stays NaN). x and y may alias.
void clip(const ClipParams& p, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
