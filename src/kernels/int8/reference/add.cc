#include "kernels/int8/reference/add.h"

#include <cmath>

namespace tinyptq::int8::ref {

void add(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count) {
  const float lo = float(p.output.min - p.output.zero_point), hi = float(p.output.max - p.output.zero_point);
  for (int64_t i = 0; i < count; ++i) {
    float v = p.a_multiplier * float(int32_t(a[i]) - p.a_zero_point) +
              p.b_multiplier * float(int32_t(b[i]) - p.b_zero_point);
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    y[i] = uint8_t(int32_t(std::nearbyint(v)) + p.output.zero_point);
  }
}

}  // namespace tinyptq::int8::ref
