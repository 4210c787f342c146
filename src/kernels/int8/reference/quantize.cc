#include "kernels/int8/reference/quantize.h"

#include <cmath>

namespace tinyptq::int8::ref {

void quantize(const QuantizeParams& p, const float* x, uint8_t* y, int64_t count) {
  const int32_t zero_point = p.output.zero_point;
  const float lo = float(p.output.min - zero_point), hi = float(p.output.max - zero_point);
  for (int64_t i = 0; i < count; ++i) {
    float v = x[i] / p.scale;
    if (std::isnan(v)) v = 0;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    y[i] = uint8_t(int32_t(std::nearbyint(v)) + zero_point);  // default rounding mode: half to even
  }
}

}  // namespace tinyptq::int8::ref
